#!/usr/bin/env bats
# BMC against a real memcached: memcached (-U) in one network namespace
# behind a veth pair, clients in another, BMC attached to memcached's veth.
# The rule every test checks: whatever BMC answers from the kernel is what
# memcached alone would answer. memcached's TCP port is the oracle (BMC never
# answers TCP), UDP GETs go through BMC.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	fp_bmc_bed bmc
	start_memcached
	bmc-attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S"
}

teardown_file() {
	bmc-attach --detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	stop_memcached
	fp_netns_del "$NS_S" "$NS_C"
	[ -n "${IF_S:-}" ] && rm -rf "/sys/fs/bpf/bmc/$IF_S"
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
	rm -f "${PIDFILE:-}"
}

start_memcached() { fp_memcached_start "$NS_S" "$S4" "$PORT" "$PIDFILE"; }
stop_memcached() { fp_memcached_stop "$PIDFILE"; }

# udp/tcp LINE...: one request from the client namespace, reply on stdout
# with the \r of each line removed (so outputs compare as text).
udp() { ip netns exec "$NS_C" mc-req "$S4" "$PORT" "$@" | tr -d '\r'; }
tcp() { ip netns exec "$NS_C" mc-req -t "$S4" "$PORT" "$@" | tr -d '\r'; }
udp6() { ip netns exec "$NS_C" mc-req "$S6" "$PORT" "$@" | tr -d '\r'; }
udp_raw() { ip netns exec "$NS_C" mc-req "$S4" "$PORT" "$@"; }
tcp_raw() { ip netns exec "$NS_C" mc-req -t "$S4" "$PORT" "$@"; }

bstat() { bmc-stat -I "$IF_S" -j | jq ".$1"; }
mc_stat() { tcp stats | awk -v k="$1" '$2 == k { print $3 }'; }

# cached KEY...: GET each KEY over UDP until BMC answers it from the kernel
# (bmc-stat's hits rise); fails when it never does within about 5 s (BMC
# may refuse fills for a moment, e.g. right after a flush_all).
# CACHED_VIA=udp6 uses IPv6.
cached() {
	local k h0 i
	for k in "$@"; do
		for i in $(seq 25); do
			h0=$(bstat hits)
			"${CACHED_VIA:-udp}" "get $k" >/dev/null
			[ "$(bstat hits)" -gt "$h0" ] && continue 2
			sleep 0.2
		done
		echo "BMC never answered 'get $k' from the kernel" >&2
		return 1
	done
}

# same GET-ARGS: the UDP reply (BMC or memcached) equals memcached's own
# reply over TCP; twice, so a refill right after the first is checked too.
same() {
	local want got i
	want=$(tcp "get $*")
	for i in 1 2; do
		got=$(udp "get $*")
		if [ "$got" != "$want" ]; then
			printf 'get %s over UDP (BMC):\n%s\nover TCP (memcached):\n%s\n' \
				"$*" "$got" "$want" >&2
			return 1
		fi
	done
	printf '%s\n' "$want"
}

# write_variants CMD OLD WANT LINE...: for TCP and UDP, with and without
# noreply, store OLD, get it cached in BMC, send the write LINEs (K stands
# for the key, NR for " noreply" or ""; "--" separates requests, which UDP
# sends as separate datagrams and TCP packs into one segment), then check
# that UDP GETs return what memcached returns and that this is WANT ("-" for
# no value, "*" for whatever memcached says).
write_variants() {
	local cmd=$1 old=$2 want=$3 tr nr k out l
	shift 3
	for tr in tcp udp; do
		for nr in "" " noreply"; do
			[ -n "$nr" ] && [ "${NOREPLY:-yes}" = no ] && continue
			k="$cmd-$tr${nr:+-nr}-$RANDOM"
			[ "$(tcp "set $k 7 0 ${#old}" "$old")" = STORED ]
			cached "$k"
			local lines=() req=()
			for l in "$@"; do
				[ "$l" = -- ] && continue
				l=${l//K/$k}
				lines+=("${l//NR/$nr}")
			done
			if [ $tr = tcp ]; then
				tcp "${lines[@]}" >/dev/null
			else
				for l in "$@" --; do
					if [ "$l" != -- ]; then
						l=${l//K/$k}
						req+=("${l//NR/$nr}")
						continue
					fi
					if [ -n "$nr" ]; then
						ip netns exec "$NS_C" mc-req -n "$S4" "$PORT" "${req[@]}"
					else
						udp "${req[@]}" >/dev/null
					fi
					req=()
				done
			fi
			out=$(same "$k")
			if [ "$want" = - ]; then
				[ "$out" = END ] || { echo "$cmd via $tr$nr: got $out" >&2; return 1; }
			elif [ "$want" != "*" ]; then
				[ "$out" = "$(printf 'VALUE %s 7 %s\n%s\nEND' "$k" "${#want}" "$want")" ] ||
					{ echo "$cmd via $tr$nr: got $out, want $want" >&2; return 1; }
			fi
		done
	done
}

@test "a GET hit is answered by the kernel, byte for byte as memcached would" {
	run tcp "set hit1 42 0 11" "hello world"
	assert_output STORED
	# memcached's own reply, before BMC has the key.
	first=$(udp_raw "get hit1" | od -An -tx1)
	cached hit1
	h0=$(bstat hits)
	g0=$(mc_stat get_hits)
	for _ in 1 2 3 4 5; do
		again=$(udp_raw "get hit1" | od -An -tx1)
		assert_equal "$again" "$first"
	done
	assert_equal "$(bstat hits)" "$((h0 + 5))"
	# memcached never saw those five.
	assert_equal "$(mc_stat get_hits)" "$g0"
	assert_equal "$(udp "get hit1")" "$(printf 'VALUE hit1 42 11\nhello world\nEND')"
}

@test "the reply echoes the request id, sequence 0 of 1 datagram" {
	tcp "set hdr1 0 0 1" "x" >/dev/null
	cached hdr1
	# mc-req checks the id it sent, the sequence and the count.
	for id in 0 1 258 65535; do
		run ip netns exec "$NS_C" mc-req -r "$id" "$S4" "$PORT" "get hdr1"
		assert_success
	done
}

@test "bmc-stat shows the traffic: gets, hits, misses, fills, hit rate" {
	tcp "set st1 0 0 2" "ab" >/dev/null
	before=$(bmc-stat -I "$IF_S" -j)
	udp "get st1" >/dev/null
	udp "get st1" >/dev/null
	udp "get nosuchkey-$RANDOM" >/dev/null
	after=$(bmc-stat -I "$IF_S" -j)
	run jq -n -e --argjson a "$before" --argjson b "$after" '
		$b.gets - $a.gets == 3 and $b.hits - $a.hits >= 1 and
		$b.misses - $a.misses >= 1 and $b.fills - $a.fills >= 1 and
		($b.hit_rate | type) == "number"'
	assert_success
	run bmc-stat -I "$IF_S"
	assert_success
	assert_line --index 1 --regexp "^$IF_S +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ "
	run bmc-stat --prometheus -I "$IF_S"
	assert_success
	assert_line --regexp "^bmc_hits_total\{iface=\"$IF_S\"\} [1-9][0-9]*\$"
}

@test "misses and multi-gets with partial hits pass to memcached whole" {
	tcp "set mg-a 1 0 1" "A" >/dev/null
	tcp "set mg-b 2 0 2" "BB" >/dev/null
	tcp "set mg-c 3 0 3" "CCC" >/dev/null
	cached mg-a
	run same "mg-a mg-b"
	assert_success
	assert_output "$(printf 'VALUE mg-a 1 1\nA\nVALUE mg-b 2 2\nBB\nEND')"
	run same "mg-a nosuch-$RANDOM mg-c"
	assert_success
	assert_output "$(printf 'VALUE mg-a 1 1\nA\nVALUE mg-c 3 3\nCCC\nEND')"
	run same "nosuch-$RANDOM"
	assert_output END
	# Keys that are all cached: still the whole, right answer.
	cached mg-b mg-c
	run same "mg-c mg-a mg-b"
	assert_output "$(printf 'VALUE mg-c 3 3\nCCC\nVALUE mg-a 1 1\nA\nVALUE mg-b 2 2\nBB\nEND')"
}

@test "a value with \\r\\nEND\\r\\n inside comes back intact from the kernel" {
	run tcp "set crlf1 0 0 11" $'ab\r\nEND\r\ncd'
	assert_output STORED
	want=$(tcp_raw "get crlf1" | od -An -tx1)
	cached crlf1
	assert_equal "$(udp_raw "get crlf1" | od -An -tx1)" "$want"
}

@test "larger values: right from XDP, from TC ingress, or from memcached" {
	mid=$(head -c 200 /dev/zero | tr '\0' m)
	tcp "set mid1 3 0 200" "$mid" >/dev/null
	cached mid1
	assert_equal "$(udp "get mid1")" "$(printf 'VALUE mid1 3 200\n%s\nEND' "$mid")"
	# On veth, XDP frames have little tailroom: BMC can grow a request only
	# by about 256 bytes, so TC ingress answers these (bmc-large.bats), and
	# memcached those over 1000 bytes. Right either way.
	big=$(head -c 1000 /dev/zero | tr '\0' v)
	tcp "set big1 0 0 1000" "$big" >/dev/null
	run same big1
	assert_success
	assert_output "$(printf 'VALUE big1 0 1000\n%s\nEND' "$big")"
	huge=$(head -c 1200 /dev/zero | tr '\0' h)
	tcp "set huge1 0 0 1200" "$huge" >/dev/null
	run same huge1
	assert_success
	assert_output "$(printf 'VALUE huge1 0 1200\n%s\nEND' "$huge")"
}

@test "set invalidates (TCP, UDP, noreply)" {
	write_variants set old new "set K 7 0 3NR" "new"
}

@test "add: stored only when absent, BMC agrees" {
	write_variants add old old "add K 7 0 3NR" "new"
	write_variants add-del old new "delete KNR" -- "add K 7 0 3NR" "new"
}

@test "replace invalidates" {
	write_variants replace old new "replace K 7 0 3NR" "new"
}

@test "append invalidates" {
	write_variants append old oldnew "append K 0 0 3NR" "new"
}

@test "prepend invalidates" {
	write_variants prepend old newold "prepend K 0 0 3NR" "new"
}

@test "cas invalidates" {
	local tr nr k cas
	for tr in tcp udp; do
		for nr in "" " noreply"; do
			k="cas-$tr${nr:+-nr}-$RANDOM"
			tcp "set $k 7 0 3" old >/dev/null
			cached "$k"
			cas=$(tcp "gets $k" | awk 'NR == 1 { print $5 }')
			if [ $tr = tcp ]; then
				tcp "cas $k 7 0 3 $cas$nr" new >/dev/null
			elif [ -n "$nr" ]; then
				ip netns exec "$NS_C" mc-req -n "$S4" "$PORT" "cas $k 7 0 3 $cas$nr" new
			else
				run udp "cas $k 7 0 3 $cas" new
				assert_output STORED
			fi
			run same "$k"
			assert_success
			assert_output "$(printf 'VALUE %s 7 3\nnew\nEND' "$k")"
		done
	done
	# A cas that fails (stale unique) changes nothing.
	run tcp "cas $k 7 0 3 1" bad
	assert_output EXISTS
	run same "$k"
	assert_output "$(printf 'VALUE %s 7 3\nnew\nEND' "$k")"
}

@test "incr invalidates (the value grows a digit)" {
	write_variants incr 99 100 "incr K 1NR"
}

@test "decr invalidates" {
	# memcached may pad a shrunk number with spaces: compare with it only.
	write_variants decr 100 "*" "decr K 1NR"
	k=decr-x-$RANDOM
	tcp "set $k 0 0 2" 10 >/dev/null
	cached "$k"
	tcp "decr $k 3" >/dev/null
	run same "$k"
	assert_output "$(printf 'VALUE %s 0 2\n7 \nEND' "$k")"
}

@test "delete invalidates" {
	write_variants delete old - "delete KNR"
}

@test "touch keeps the value, and BMC agrees" {
	write_variants touch old old "touch K 100NR"
}

@test "gat and gats keep the value, and BMC agrees" {
	NOREPLY=no write_variants gat old old "gat 100 K"
	NOREPLY=no write_variants gats old old "gats 100 K"
}

@test "several commands packed in one TCP segment" {
	local k
	for k in p1 p2 p3 p4 p5 p6 p7 p8; do
		tcp "set pk-$k 0 0 2" 11 >/dev/null
	done
	cached pk-p1 pk-p2 pk-p3 pk-p4 pk-p5 pk-p6 pk-p7 pk-p8
	# One write with TCP_NODELAY: one segment on the veth.
	run tcp "set pk-p1 0 0 1 noreply" "a" "delete pk-p2" "incr pk-p3 5" \
		"append pk-p4 0 0 1 noreply" "x" "get pk-p5" "prepend pk-p6 0 0 1" "y" \
		"replace pk-p7 0 0 3 noreply" "new" "decr pk-p8 1 noreply" "version"
	assert_success
	assert_line --index 0 DELETED
	assert_line --index 1 16
	assert_line --partial VERSION
	assert_equal "$(same pk-p1)" "$(printf 'VALUE pk-p1 0 1\na\nEND')"
	assert_equal "$(same pk-p2)" END
	assert_equal "$(same pk-p3)" "$(printf 'VALUE pk-p3 0 2\n16\nEND')"
	assert_equal "$(same pk-p4)" "$(printf 'VALUE pk-p4 0 3\n11x\nEND')"
	assert_equal "$(same pk-p5)" "$(printf 'VALUE pk-p5 0 2\n11\nEND')"
	assert_equal "$(same pk-p6)" "$(printf 'VALUE pk-p6 0 3\ny11\nEND')"
	assert_equal "$(same pk-p7)" "$(printf 'VALUE pk-p7 0 3\nnew\nEND')"
	assert_equal "$(same pk-p8)" "$(printf 'VALUE pk-p8 0 2\n10\nEND')"
}

@test "a write split across TCP segments, even byte by byte" {
	local chunk k
	for chunk in 1 3 7 11; do
		k=split-$chunk-$RANDOM
		tcp "set $k 0 0 3" old >/dev/null
		cached "$k"
		ip netns exec "$NS_C" mc-req -t -b "$chunk" "$S4" "$PORT" \
			"set $k 0 0 3 noreply" new "version" >/dev/null
		run same "$k"
		assert_output "$(printf 'VALUE %s 0 3\nnew\nEND' "$k")"
	done
}

@test "a long pipeline of sets crossing segment boundaries" {
	local i lines=() keys=() old new
	# 20 x 170 bytes: several segments, commands cut at their edges.
	old=$(head -c 150 /dev/zero | tr '\0' o)
	new=$(head -c 150 /dev/zero | tr '\0' n)
	for i in $(seq 20); do
		keys+=("pipe$i-$RANDOM")
	done
	for k in "${keys[@]}"; do
		tcp "set $k 0 0 150" "$old" >/dev/null
		lines+=("set $k 0 0 150 noreply" "$new")
	done
	cached "${keys[@]}"
	tcp "${lines[@]}" "version" >/dev/null
	for k in "${keys[@]}"; do
		assert_equal "$(same "$k")" "$(printf 'VALUE %s 0 150\n%s\nEND' "$k" "$new")"
	done
}

@test "a binary-protocol set invalidates" {
	k=binset1
	tcp "set $k 0 0 3" old >/dev/null
	cached "$k"
	# SET: magic 80, opcode 01, key length 7, extras 8, body 8+7+4 bytes,
	# flags 0, exptime 0, key "binset1", value "newv".
	keyhex=$(printf %s "$k" | od -An -tx1 | tr -d ' \n')
	run ip netns exec "$NS_C" mc-req -t -X "$S4" "$PORT" \
		"80 01 0007 08 00 0000 00000013 00000000 0000000000000000" \
		"00000000 00000000 $keyhex 6e657776"
	assert_success
	run same "$k"
	assert_output "$(printf 'VALUE %s 0 4\nnewv\nEND' "$k")"
}

@test "consistency: after a write's reply, no GET returns the old value" {
	# A background stream of GETs for the key races every fill against the
	# writes; after each STORED, a GET must see the new value.
	k=key:00000000
	tcp "set $k 0 0 4" v000 >/dev/null
	ip netns exec "$NS_C" mc-load -m get -d 4 -k 1 -w 32 -b 8 "$S4" "$PORT" >/dev/null &
	load=$!
	for i in $(seq 1 60); do
		v=$(printf 'v%03d' "$i")
		[ "$(tcp "set $k 0 0 4" "$v")" = STORED ]
		got=$(udp "get $k")
		if [ "$got" != "$(printf 'VALUE %s 0 4\n%s\nEND' "$k" "$v")" ]; then
			kill "$load" 2>/dev/null
			echo "after set #$i got: $got" >&2
			false
		fi
	done
	wait "$load"
}

@test "expiry: exptime, touch, gat and gats are honoured" {
	# BMC may stop serving early (memcached's clock is coarse), never late.
	# exptime 8: BMC serves until 2 s before it, leaving room to fill.
	tcp "set exp-set 0 8 1" a >/dev/null
	tcp "set exp-touch 0 0 1" b >/dev/null
	tcp "set exp-gat 0 0 1" c >/dev/null
	tcp "set exp-gats 0 0 1" d >/dev/null
	tcp "set exp-keep 0 100 1" e >/dev/null
	cached exp-set exp-touch exp-gat exp-gats exp-keep
	tcp "touch exp-touch 4" >/dev/null
	tcp "gat 4 exp-gat" >/dev/null
	udp "gats 4 exp-gats" >/dev/null
	for k in exp-touch exp-gat exp-gats; do
		run same "$k"
		assert_success
	done
	sleep 10
	for k in exp-set exp-touch exp-gat exp-gats; do
		run same "$k"
		assert_success
		assert_output END
	done
	run same exp-keep
	assert_output "$(printf 'VALUE exp-keep 0 1\ne\nEND')"
}

@test "flush_all empties the cache (TCP, and UDP noreply)" {
	tcp "set fl-a 0 0 1" a >/dev/null
	tcp "set fl-b 0 0 1" b >/dev/null
	cached fl-a fl-b
	run tcp flush_all
	assert_output OK
	assert_equal "$(same fl-a)" END
	assert_equal "$(same fl-b)" END
	tcp "set fl-c 0 0 1" c >/dev/null
	cached fl-c
	ip netns exec "$NS_C" mc-req -n "$S4" "$PORT" "flush_all noreply"
	assert_equal "$(same fl-c)" END
}

@test "IPv6: hits from the kernel, writes invalidate" {
	run ip netns exec "$NS_C" mc-req -t "$S6" "$PORT" "set v6a 5 0 4" "six6"
	assert_output --partial STORED
	CACHED_VIA=udp6 cached v6a
	h0=$(bstat hits)
	run udp6 "get v6a"
	assert_output "$(printf 'VALUE v6a 5 4\nsix6\nEND')"
	assert_equal "$(bstat hits)" "$((h0 + 1))"
	ip netns exec "$NS_C" mc-req -n "$S6" "$PORT" "set v6a 5 0 4 noreply" "new6"
	run udp6 "get v6a"
	assert_output "$(printf 'VALUE v6a 5 4\nnew6\nEND')"
	run same v6a
	assert_output "$(printf 'VALUE v6a 5 4\nnew6\nEND')"
}

@test "a memcached restart takes its cached values with it" {
	tcp "set rs1 0 0 3" old >/dev/null
	cached rs1
	stop_memcached
	start_memcached
	run same rs1
	assert_success
	assert_output END
	tcp "set rs1 0 0 3" new >/dev/null
	run same rs1
	assert_output "$(printf 'VALUE rs1 0 3\nnew\nEND')"
}

@test "a UDP-only memcached restart takes its cached values with it" {
	stop_memcached
	# No TCP listener (-p 0): only its UDP sockets on the port say it runs.
	ip netns exec "$NS_S" memcached -u nobody -U "$PORT" -p 0 -t 1 \
		-m 64 -d -P "$PIDFILE"
	FP_WAIT_SECS=20 fp_wait_for udp version
	# Attached after memcached bound its sockets: found and remembered.
	run bmc-attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S" \
		--replace -v
	assert_success
	refute_output --partial "could be found"
	refute_output --partial "no UDP socket"
	# BMC caches only values whose write it saw: set over UDP.
	[ "$(udp "set ru1 0 0 3" old)" = STORED ]
	cached ru1
	run udp "get ru1"
	assert_output "$(printf 'VALUE ru1 0 3\nold\nEND')"
	stop_memcached
	# memcached is gone: nothing may answer from its old values.
	run udp "get ru1"
	refute_output --partial old
	ip netns exec "$NS_S" memcached -u nobody -U "$PORT" -p 0 -t 1 \
		-m 64 -d -P "$PIDFILE"
	FP_WAIT_SECS=20 fp_wait_for udp version
	run udp "get ru1"
	assert_output END
	# This memcached bound after attach: its end flushes as well.
	[ "$(udp "set ru1 0 0 3" new)" = STORED ]
	cached ru1
	stop_memcached
	run udp "get ru1"
	refute_output --partial new
	start_memcached
	run udp "get ru1"
	assert_output END
}

@test "detach leaves no program, qdisc filter or pin behind" {
	run bmc-attach --detach "$IF_S" --netns "$NS_S"
	assert_success
	run ip -n "$NS_S" -d link show dev "$IF_S"
	refute_output --partial xdp # "xdp", "xdpgeneric", "prog/xdp"
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	refute_output --partial bpf
	run tc -n "$NS_S" filter show dev "$IF_S" ingress
	refute_output --partial bpf
	[ ! -e "/sys/fs/bpf/bmc/$IF_S" ]
	run bmc-stat -I "$IF_S"
	assert_failure 1
	assert_output --partial "BMC is not attached to $IF_S"
	# memcached still answers, by itself.
	tcp "set after 0 0 2" ok >/dev/null
	run udp "get after"
	assert_output "$(printf 'VALUE after 0 2\nok\nEND')"
}
