#!/usr/bin/env bats
# syrup-steer attach --xsk: AF_XDP sockets as the XDP layer's executors.
# syrup-xsk-server binds N AF_XDP sockets to queue 0 of the server-side
# veth ($IFS_ in $NSS; one UMEM, XDP_SHARED_UMEM, copy mode) and prints on
# SIGUSR1 how many frames each socket got; datagrams come from the other
# end ($IFC in $NSC) through bash's /dev/udp.

load helpers
bats_require_minimum_version 1.5.0

steer() { syrup-steer "$@"; }

# send PORT COUNT: COUNT datagrams of one flow (one socket) to the server;
# where the stack gets them, ICMP refusals make some sends fail: ignored
send() {
	ip netns exec "$NSC" bash -c "exec 3>/dev/udp/10.80.0.1/$1; for i in \$(seq $2); do echo x >&3; done" 2>/dev/null || true
}

# reported N: the server has printed N socket lines or more
reported() { [ "$(grep -c '^xsk ' "$T/srv")" -ge "$1" ]; }

# counts: each socket's frames, from a fresh report of the server
counts() {
	local before
	before=$(grep -c '^xsk ' "$T/srv")
	kill -USR1 "$SRV"
	fp_wait_for reported $((before + NSOCK))
	grep '^xsk ' "$T/srv" | tail -n "$NSOCK" | sed 's/.*frames=\([0-9]*\).*/\1/' | tr '\n' ' ' | sed 's/ $//'
}

# sum A B C D
sum() { echo $(($1 + $2 + $3 + $4)); }

# total_at_least N: every socket's frames add up to N or more
total_at_least() {
	local c
	c=($(counts))
	[ "$(sum "${c[@]}")" -ge "$1" ]
}

setup_file() {
	fp_mounts
	export NSS=$(fp_name xks) NSC=$(fp_name xkc)
	export IFS_=$(fp_name xks) IFC=$(fp_name xkc) IFO=$(fp_name xko)
	local base=$((20000 + (RANDOM * 7 + $$) % 30000))
	export P1=$base P2=$((base + 1)) P3=$((base + 2)) NSOCK=4
	export T=$BATS_FILE_TMPDIR
	fp_veth_pair "$NSS" "$NSC" "$IFS_" "$IFC" 10.80.0.1 10.80.0.2
	# a frame reaches a veth's XDP program in native mode only when the
	# sending end runs one too
	ip netns exec "$NSC" xdp-pass "$IFC"
	ip netns exec "$NSS" "$FP_BUILD/syrup-xsk-server" --interface "$IFS_" \
		--sockets "$NSOCK" >"$T/srv" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$T/srv" || fail "server: $(cat "$T/srv")"
	export SRV=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$T/srv")
	# another interface in the server's namespace, with a server of its own
	ip -n "$NSS" link add "$IFO" type veth peer name "${IFO}p"
	ip -n "$NSS" link set "$IFO" up
	ip -n "$NSS" link set "${IFO}p" up
	ip netns exec "$NSS" "$FP_BUILD/syrup-xsk-server" --interface "$IFO" \
		--sockets 2 >"$T/other" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$T/other" || fail "server: $(cat "$T/other")"
	export OTHER=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$T/other")
	cat >"$T/zero.c" <<-'EOF'
		#include <fastpath/syrup.h>
		/* every datagram to executor 0 */
		__u32 schedule(void *pkt_start, void *pkt_end)
		{
			return 0;
		}
	EOF
}

teardown_file() {
	local p ifx
	for p in "$P1" "$P2" "$P3"; do
		syrup-steer detach --port "$p" >/dev/null 2>&1 || true
		fp_syrup_rm "$p"
	done
	ifx=$(ip -n "$NSS" -o link show "$IFS_" 2>/dev/null | cut -d: -f1)
	[ -n "$ifx" ] && rm -rf "/sys/fs/bpf/syrup/xdp-$ifx-$(stat -L -c %i "/run/netns/$NSS")"
	rmdir /sys/fs/bpf/syrup 2>/dev/null || true
	[ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null
	[ -n "${OTHER:-}" ] && kill "$OTHER" 2>/dev/null
	fp_netns_del "$NSS" "$NSC"
}

teardown() {
	local p
	for p in "$P1" "$P2" "$P3"; do
		syrup-steer detach --port "$p" >/dev/null 2>&1 || true
	done
}

@test "--xsk: usage errors exit 64 in one line" {
	run steer attach -P 9 --policy rr --xsk -p 1
	assert_failure 64
	assert_output --partial "--xsk goes with --layer xdp"
	run steer attach -P 9 --policy rr --layer xdp -I lo --xsk
	assert_failure 64
	assert_output --partial "--xsk needs --pid PID"
	run steer attach -P 9 --policy rr --layer xdp -I lo --xsk -p 1 --cpus 0
	assert_failure 64
	assert_output --partial "--xsk and --cpus do not mix"
	run steer attach -P 9 --policy rr --layer xdp -I lo -p 1
	assert_failure 64
	assert_output --partial "--pid goes with --layer socket (or --xsk)"
}

@test "--xsk: a process without AF_XDP sockets is refused in one line" {
	sleep 30 &
	local pid=$!
	run steer attach --netns "$NSS" -P "$P1" --policy rr --layer xdp \
		-I "$IFS_" --xsk -p "$pid"
	kill "$pid"
	assert_failure 1
	assert_output "syrup-steer: no AF_XDP socket in the given process(es) (is the application running, and bound its sockets?)"
	[ ! -e "$(fp_syrup_dir "$NSS" udp "$P1")" ]
}

@test "--xsk: sockets bound to another interface are refused in one line" {
	run steer attach --netns "$NSS" -P "$P1" --policy rr --layer xdp \
		-I "$IFS_" --xsk -p "$OTHER"
	assert_failure 1
	assert_output "syrup-steer: the AF_XDP socket of process $OTHER (fd 3) is bound to $IFO, not $IFS_ (its frames come from there)"
	[ ! -e "$(fp_syrup_dir "$NSS" udp "$P1")" ]
	run ip -n "$NSS" link show "$IFS_"
	refute_output --partial "xdp"
}

# rr_spread MODE: rr over the 4 sockets, one flow, in that XDP mode
rr_spread() {
	local before after
	run steer attach --netns "$NSS" -P "$P1" --policy rr --layer xdp \
		-I "$IFS_" --xsk -p "$SRV" --mode "$1"
	assert_success
	assert_line --index 0 "udp/$P1: policy rr, xdp layer on $IFS_ ($1), AF_XDP sockets, netns $NSS, 4 executors"
	before=($(counts))
	send "$P1" 40
	# copy mode delivers asynchronously to the rings: wait for all 40
	fp_wait_for total_at_least $(($(sum "${before[@]}") + 40))
	after=($(counts))
	for i in 0 1 2 3; do
		[ $((${after[$i]} - ${before[$i]})) -eq 10 ] || fail "socket $i got $((${after[$i]} - ${before[$i]})) of 40: ${after[*]} (before ${before[*]})"
	done
	run bash -c "syrup-steer stats --port $P1 -j | jq -c '[.executors[].steered], .total.fallback'"
	assert_output $'[10,10,10,10]\n0'
}

@test "--xsk: rr spreads one flow evenly over the AF_XDP sockets (native XDP)" {
	rr_spread native
	run steer status -j
	run jq -c "select(.port == $P1) | [.executor, ([.executors[].pid] | unique), [.executors[].open], [.executors[].queue]]" <<<"$output"
	assert_output "[\"xsk\",[$SRV],[true,true,true,true],[0,0,0,0]]"
	# the XSKMAP is pinned, no CPU map
	[ -e "$(fp_syrup_dir "$NSS" udp "$P1")/xsks" ]
	[ ! -e "$(fp_syrup_dir "$NSS" udp "$P1")/cpumap" ]
	steer detach -P "$P1"
}

@test "--xsk: rr spreads one flow evenly over the AF_XDP sockets (generic XDP)" {
	rr_spread generic
	steer detach -P "$P1"
}

@test "--xsk: the dispatcher keeps ports apart; other ports reach the stack" {
	local before after
	run steer attach --netns "$NSS" -P "$P1" --policy rr --layer xdp \
		-I "$IFS_" --xsk -p "$SRV"
	assert_success
	run steer attach --netns "$NSS" -P "$P2" --policy "$T/zero.c" \
		--layer xdp -I "$IFS_" --xsk -p "$SRV"
	assert_success
	before=($(counts))
	send "$P2" 8
	send "$P3" 8 # no policy: the stack gets them (and refuses them)
	send "$P1" 4
	fp_wait_for total_at_least $(($(sum "${before[@]}") + 12))
	after=($(counts))
	assert_equal "$((${after[0]} - ${before[0]})) $((${after[1]} - ${before[1]})) $((${after[2]} - ${before[2]})) $((${after[3]} - ${before[3]}))" "9 1 1 1"
	run bash -c "syrup-steer stats --port $P2 -j | jq -c '[.executors[].steered]'"
	assert_output "[8,0,0,0]"
	run bash -c "syrup-steer stats --port $P1 -j | jq -c '[.executors[].steered]'"
	assert_output "[1,1,1,1]"
	# one port detached, the other still steers
	steer detach -P "$P2"
	send "$P1" 4
	fp_wait_for total_at_least $(($(sum "${after[@]}") + 4))
	run bash -c "syrup-steer stats --port $P1 -j | jq -c '[.executors[].steered]'"
	assert_output "[2,2,2,2]"
	steer detach -P "$P1"
}

@test "--xsk: detach leaves nothing, and the sockets keep running" {
	local before
	run steer attach --netns "$NSS" -P "$P1" --policy rr --layer xdp \
		-I "$IFS_" --xsk -p "$SRV"
	assert_success
	run steer detach -P "$P1"
	assert_success
	assert_output "udp/$P1: policy rr detached from $IFS_"
	[ ! -e "$(fp_syrup_dir "$NSS" udp "$P1")" ]
	run ip -n "$NSS" link show "$IFS_"
	refute_output --partial "xdp"
	before=$(counts)
	send "$P1" 4
	sleep 0.3
	assert_equal "$(counts)" "$before"
	kill -0 "$SRV"
}
