#!/usr/bin/env bats
# Warm attach: BMC attached to a memcached that already holds its keys
# learns their expiry from memcached (lru_crawler metadump) and serves them
# from the kernel, never after memcached would have expired them. Each test
# starts its own memcached, stores keys, then attaches. FP_TTL_SCALE (1)
# multiplies the TTLs and waits, for kernels under emulation, where an
# attach takes longer than a 5 s TTL (tests/vm/run 6.1 with FP_TTL_SCALE=8).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	fp_bmc_bed bwm
	export S=${FP_TTL_SCALE:-1}
}

teardown_file() {
	fp_netns_del "$NS_S" "$NS_C"
	[ -n "${IF_S:-}" ] && rm -rf "/sys/fs/bpf/bmc/$IF_S"
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
}

teardown() {
	bmc-attach detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	stop_memcached
}

# start_memcached [ARG...]: a fresh memcached, extra arguments appended.
start_memcached() { fp_memcached_start "$NS_S" "$S4" "$PORT" "$PIDFILE" "$@"; }
stop_memcached() { fp_memcached_stop "$PIDFILE"; }

udp() { ip netns exec "$NS_C" mc-req "$S4" "$PORT" "$@" | tr -d '\r'; }
tcp() { ip netns exec "$NS_C" mc-req -t "$S4" "$PORT" "$@" | tr -d '\r'; }
bstat() { bmc-stat -I "$IF_S" -j | jq ".$1"; }

attach() { bmc-attach attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S" "$@"; }

# store PREFIX N EXPTIME: keys PREFIX0..PREFIX(N-1), each its own value.
store() {
	local i k lines=()
	for ((i = 0; i < $2; i++)); do
		k=$1$i
		lines+=("set $k 0 $3 ${#k}" "$k")
	done
	tcp "${lines[@]}" >/dev/null
}

# cached KEY: GET it over UDP until BMC answers from the kernel (~5 s).
cached() {
	local h0
	for _ in $(seq 25); do
		h0=$(bstat hits)
		udp "get $1" >/dev/null
		[ "$(bstat hits)" -gt "$h0" ] && return 0
		sleep 0.2
	done
	echo "BMC never answered 'get $1' from the kernel" >&2
	return 1
}

@test "keys stored before the attach are served from the kernel; attach says how many it learned" {
	start_memcached
	store old 40 0
	store ttl 20 3600
	run attach
	assert_success
	assert_line --regexp '^bmc-attach: learned the expiry of 60 keys from memcached in [0-9.]+ s \(60 in its dump; 0 expired, 0 written since the attach, 0 beyond what the cache holds\)$'
	cached old7
	cached ttl3
	# byte for byte what memcached says
	[ "$(udp "get old7")" = "$(tcp "get old7")" ]
	[ "$(udp "get old7")" = "$(printf 'VALUE old7 0 4\nold7\nEND')" ]
	local h0
	h0=$(bstat hits)
	for _ in 1 2 3; do udp "get ttl3" >/dev/null; done
	[ "$(bstat hits)" -eq $((h0 + 3)) ]
}

@test "a key whose TTL was set before the attach is never answered after memcached expires it" {
	start_memcached
	local set_at now out
	set_at=$(date +%s)
	store exp 5 $((5 * S))
	tcp "set keep 0 0 1" k >/dev/null
	run attach
	assert_success
	assert_line --partial "learned the expiry of 6 keys"
	cached keep
	# Until well after the expiry, no answer from the kernel once the TTL
	# is over (BMC stops early, never late). memcached's own clock is
	# coarse: it may answer a little later itself, which is its business.
	local h0 h1 kernel=0
	while now=$(date +%s) && [ "$now" -lt $((set_at + 8 * S)) ]; do
		h0=$(bstat hits)
		out=$(udp "get exp1")
		h1=$(bstat hits)
		[ "$h1" -gt "$h0" ] && kernel=$((kernel + 1))
		if [ "$h1" -gt "$h0" ] && [ "$now" -ge $((set_at + 5 * S)) ]; then
			fail "the kernel answered get exp1 at +$((now - set_at)) s, after its $((5 * S)) s TTL: $out"
		fi
		sleep 0.2
	done
	# it was served from the kernel while it lived
	[ "$kernel" -gt 0 ]
	[ "$(udp "get exp1")" = END ]
	[ "$(udp "get keep")" = "$(printf 'VALUE keep 0 1\nk\nEND')" ]
}

@test "touch and gat before and after the attach: the newer expiry wins" {
	start_memcached
	tcp "set tb 0 0 2" tb "set ta 0 0 2" ta "set ga 0 0 2" ga >/dev/null
	tcp "touch tb $((6 * S))" >/dev/null # before: the dump carries it
	run attach
	assert_success
	tcp "touch ta $((6 * S))" >/dev/null # after: BMC sees it
	tcp "gat $((6 * S)) ga" >/dev/null
	cached tb
	sleep $((8 * S))
	for k in tb ta ga; do
		[ "$(udp "get $k")" = END ] || fail "$k answered after its touch/gat TTL"
		[ "$(tcp "get $k")" = END ]
	done
}

@test "a key written after the attach: the write wins over memcached's dump" {
	start_memcached
	store w 10 0
	run attach
	assert_success
	# a TTL now, then a delete: neither may be undone by what was learned
	tcp "set w1 0 $((5 * S)) 2" w1 "delete w2" >/dev/null
	cached w1
	run udp "get w2"
	assert_output END
	sleep $((6 * S))
	[ "$(udp "get w1")" = END ]
	cached w3
}

@test "--cold learns nothing: keys stored before are left to memcached" {
	start_memcached
	store cold 5 0
	run attach --cold
	assert_success
	refute_output --partial learned
	for _ in 1 2 3; do udp "get cold1" >/dev/null; done
	[ "$(bstat hits)" -eq 0 ]
	[ "$(udp "get cold1")" = "$(printf 'VALUE cold1 0 5\ncold1\nEND')" ]
}

@test "a memcached without the LRU crawler: attach warns in one line and works cold" {
	start_memcached -o no_lru_crawler
	store nc 3 0
	run --separate-stderr attach
	assert_success
	# shellcheck disable=SC2154 # stderr: from run --separate-stderr
	[[ "$stderr" == *"keys memcached held before the attach are not served until written again: memcached answered"* ]]
	[ "$(echo "$stderr" | grep -c .)" -eq 1 ]
	tcp "set fresh 0 0 1" f >/dev/null
	cached fresh
}

@test "-j: the attach object says how many keys it learned and in how long" {
	start_memcached
	store j 7 0
	run attach -j
	assert_success
	echo "$output" | jq -e '.learned_keys == 7 and (.learn_s | type == "number") and (.ts | type == "number")'
	run bmc-attach detach "$IF_S" --netns "$NS_S"
	assert_success
	run attach -j --cold
	echo "$output" | jq -e '.learned_keys == null and .learn_s == null'
}
