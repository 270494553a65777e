#!/usr/bin/env bats
# syrup-steer with real sockets: syrup-server opens one SO_REUSEPORT socket
# per worker (UDP first, then TCP; executor i is worker i) and replies
# "w=WORKER cpu=CPU|..."; syrup-client sends requests and prints the worker
# of each reply in order ("order 0 1 2 3 ...") and a tally.
#
# Socket-layer tests run in one private network namespace ($NS), XDP-layer
# tests across a veth pair ($NSC client side, $NSS server side).

load helpers
bats_require_minimum_version 1.5.0

srv_start() { # NS OUTFILE ARGS...: start a syrup-server, wait until ready
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$FP_BUILD/syrup-server" "$@" >"$out" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$out"
}

srv_pid() { sed -n 's/^ready .*pid=\([0-9]*\).*/\1/p' "$1"; }

cli() { ip netns exec "$NS" "$FP_BUILD/syrup-client" "$@"; }

order() { cli "$@" | sed -n 's/^order //p'; }

steer() { syrup-steer "$@"; }

setup_file() {
	fp_mounts
	export NS=$(fp_name syn) NSS=$(fp_name sys) NSC=$(fp_name syc)
	export NS2=$(fp_name sy2)
	export IFS_=$(fp_name sys) IFC=$(fp_name syc)
	local base=$((20000 + (RANDOM * 7 + $$) % 30000))
	export P1=$base P2=$((base + 1)) P3=$((base + 2)) PX=$((base + 3))
	export PX2=$((base + 4)) PNONE=$((base + 5)) P4=$((base + 6))
	export P6=$((base + 7))
	export T=$BATS_FILE_TMPDIR
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	srv_start "$NS" "$T/s1" --port "$P1" --workers 4 --proto both
	srv_start "$NS" "$T/s2" --port "$P2" --workers 4
	srv_start "$NS" "$T/s3" --port "$P3" --workers 4 --close-worker 2
	# two processes sharing one port, two sockets each
	srv_start "$NS" "$T/s4a" --port "$P4" --workers 2
	srv_start "$NS" "$T/s4b" --port "$P4" --workers 2
	srv_start "$NS" "$T/s6" --port "$P6" --workers 3 --proto both --v6
	fp_veth_pair "$NSS" "$NSC" "$IFS_" "$IFC" 10.79.0.1 10.79.0.2
	# veth leaves TCP checksums to "hardware"; a frame that went through a
	# cpumap arrives without that promise, so compute them on the sender.
	ip netns exec "$NSC" ethtool -K "$IFC" tx off >/dev/null
	srv_start "$NSS" "$T/sx" --port "$PX" --workers 2 --proto tcp
	srv_start "$NSS" "$T/sx2" --port "$PX2" --workers 2 --proto tcp

	cat >"$T/bad.c" <<-'EOF'
		#include <fastpath/syrup.h>
		__u32 schedule(void *pkt_start, void *pkt_end)
		{
			__u8 *p = pkt_start;

			return p[100] & 3; /* no bounds check */
		}
	EOF
	cat >"$T/cpu.c" <<-'EOF'
		#include <fastpath/syrup.h>
		/* every packet of the port to the CPU named by the "cpu" param */
		__u32 schedule(void *pkt_start, void *pkt_end)
		{
			return (__u32)syrup_param("cpu", 0);
		}
	EOF
}

teardown_file() {
	local p ifx
	# the XDP dispatcher of $IFS_, if a failed test left it
	ifx=$(ip -n "$NSS" -o link show "$IFS_" 2>/dev/null | cut -d: -f1)
	[ -n "$ifx" ] && rm -rf "/sys/fs/bpf/syrup/xdp-$ifx-$(stat -L -c %i "/run/netns/$NSS")"
	for p in "$P1" "$P2" "$P3" "$P4" "$P6" "$PX" "$PX2" "$PNONE"; do
		syrup-steer detach --port "$p" --proto udp >/dev/null 2>&1 || true
		syrup-steer detach --port "$p" --proto tcp >/dev/null 2>&1 || true
		fp_syrup_rm "$p"
	done
	rmdir /sys/fs/bpf/syrup 2>/dev/null || true
	fp_netns_del "$NS" "$NSS" "$NSC" "$NS2"
}

teardown() {
	# each test detaches what it attached; this is for failed ones
	local p
	for p in "$P1" "$P2" "$P3" "$P4" "$P6"; do
		syrup-steer detach --port "$p" --proto udp >/dev/null 2>&1 || true
		syrup-steer detach --port "$p" --proto tcp >/dev/null 2>&1 || true
	done
	if [ -e "/run/netns/$NS2" ]; then
		syrup-steer detach --netns "$NS2" --port "$P1" >/dev/null 2>&1 || true
		fp_netns_del "$NS2"
	fi
}

@test "usage errors exit 64" {
	run syrup-steer
	assert_failure 64
	assert_output --partial "missing COMMAND"
	run syrup-steer frobnicate
	assert_failure 64
	assert_output --partial "unknown command 'frobnicate'"
	run syrup-steer attach --policy rr
	assert_failure 64
	assert_output --partial "--port is required"
	run syrup-steer attach --port 9 --policy nosuch
	assert_failure 64
	assert_output --partial "unknown policy 'nosuch'"
	run syrup-steer attach --port 9 --policy rr --layer xdp
	assert_failure 64
	assert_output --partial "--layer xdp needs --interface"
	run syrup-steer attach --port 9 --policy rr --cpus 0,1
	assert_failure 64
	assert_output --partial "go with --layer xdp"
	run syrup-steer attach --port 70000 --policy rr
	assert_failure 64
	run syrup-steer attach --port 9 --policy rr --proto sctp
	assert_failure 64
	run syrup-steer set --port 9
	assert_failure 64
	assert_output --partial "nothing to set"
	run syrup-steer stats
	assert_failure 64
}

@test "runtime errors exit 1 with one clear line" {
	run steer attach --netns "$NS" --port "$PNONE" --policy rr
	assert_failure 1
	assert_output "syrup-steer: no socket is bound to udp/$PNONE in netns $NS (start the application first)"
	run steer stats --port "$PNONE"
	assert_failure 1
	assert_output --partial "no policy on port $PNONE"
	run steer detach --port "$PNONE"
	assert_failure 1
	run steer attach --netns "$NS" --port "$P1" --policy ./nosuch.c
	assert_failure 1
	assert_output --partial "cannot read policy ./nosuch.c"
	run steer stats --port "$PNONE" -j
	assert_failure 1
	assert_line --regexp '^\{"ts":[0-9.]+,"error":'
}

@test "thread layer: usage errors exit 64" {
	run syrup-steer attach --layer thread --policy rr
	assert_failure 64
	assert_output --partial "needs --cgroup PATH or --pid PID"
	run syrup-steer attach --layer thread --cgroup app --policy hash
	assert_failure 64
	assert_output --partial "unknown thread policy 'hash': want rr, sita, or a .c or .bpf.o file"
	run syrup-steer attach --layer thread --cgroup app --policy rr --port 9
	assert_failure 64
	assert_output --partial "--layer thread takes no --port"
	run syrup-steer attach --port 9 --policy rr --cgroup app
	assert_failure 64
	assert_output --partial "--cgroup goes with --layer thread"
	run syrup-steer detach --layer xdp
	assert_failure 64
	run syrup-steer set --layer thread
	assert_failure 64
	assert_output --partial "nothing to set"
}

@test "thread layer: without sched_ext, attach refuses in one line naming the kernel that has it" {
	[ ! -d /sys/kernel/sched_ext ] || skip "this kernel has sched_ext (tests/vm/syrup-thread.bats)"
	run syrup-steer attach --layer thread --cgroup app --policy rr
	assert_failure 1
	assert_output "syrup-steer: the thread layer needs sched_ext: Linux 6.13 or newer built with CONFIG_SCHED_CLASS_EXT (this kernel, $(uname -r), has none)"
	run syrup-steer attach --layer thread --cgroup app --policy rr -j
	assert_failure 1
	assert_line --regexp '^\{"ts":[0-9.]+,"error":"the thread layer needs sched_ext'
	run syrup-steer detach --layer thread
	assert_failure 1
	assert_output "syrup-steer: the thread layer is not attached (see 'syrup-steer status')"
}

@test "status without privileges says so instead of showing nothing" {
	local made=0
	[ -d /sys/fs/bpf/syrup ] || { mkdir -m 0700 /sys/fs/bpf/syrup && made=1; }
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$FP_BUILD/syrup-steer" status
	[ $made -eq 0 ] || rmdir /sys/fs/bpf/syrup
	assert_failure 1
	assert_output --partial "syrup-steer: cannot read /sys/fs/bpf/syrup"
}

@test "rr: exact round robin over the sockets, numbered by fd" {
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	assert_line --index 0 "udp/$P1: policy rr, socket layer, netns $NS, 4 executors"
	run order --port "$P1" -c 8
	assert_output "0 1 2 3 0 1 2 3"
	# also across flows: the policy, not the flow hash, decides
	run order --port "$P1" -c 8 --flows 3
	assert_output "0 1 2 3 0 1 2 3"
	run steer status -j
	assert_success
	local pid
	pid=$(srv_pid "$T/s1")
	# one process: executors in ascending fd order, all open
	run jq -c "select(.port == $P1) | [[.executors[].index], ([.executors[].pid] | unique), ([.executors[].fd] | . == sort and length == 4), ([.executors[].open] | all)]" <<<"$output"
	assert_output "[[0,1,2,3],[$pid],true,true]"
	run steer stats --port "$P1" -j
	assert_success
	run jq -c '[.executors[].steered], .total.fallback' <<<"$output"
	assert_output $'[4,4,4,4]\n0'
	run steer detach --port "$P1" --proto udp
	assert_success
}

@test "sockets of several processes: numbered by pid, then fd; --pid picks" {
	local a b lo hi
	a=$(srv_pid "$T/s4a")
	b=$(srv_pid "$T/s4b")
	lo=$((a < b ? a : b))
	hi=$((a < b ? b : a))
	run steer attach --netns "$NS" --port "$P4" --policy rr -j
	assert_success
	run jq -c '[.executors[].pid]' <<<"$output"
	assert_output "[$lo,$lo,$hi,$hi]"
	run steer detach --port "$P4"
	assert_success
	run steer attach --netns "$NS" --port "$P4" --policy rr --pid "$b"
	assert_success
	assert_line --index 0 --partial "2 executors"
	run steer status -j
	run jq -c "select(.port == $P4) | [.executors[].pid]" <<<"$output"
	assert_output "[$b,$b]"
	# only b's sockets are executors: rr alternates between them
	run cli --port "$P4" -c 4
	assert_line "lost 0"
	run bash -c "syrup-steer stats --port $P4 -j | jq -c '[.executors[].steered]'"
	assert_output "[2,2]"
	steer detach --port "$P4"
	run steer attach --netns "$NS" --port "$P4" --policy rr --pid 999999
	assert_failure 1
	assert_output --partial "no socket bound to udp/$P4 in the given process(es)"
}

@test "rr on TCP: each connection goes to the next socket" {
	run steer attach --netns "$NS" --port "$P1" --proto tcp --policy rr
	assert_success
	run order --port "$P1" --proto tcp -c 6
	assert_output "0 1 2 3 0 1"
	run steer detach --port "$P1" --proto tcp
	assert_success
}

@test "IPv6 sockets: UDP payload and TCP connections over ::1" {
	run steer attach --netns "$NS" --port "$P6" --policy "$FP_ROOT/examples/syrup/first-digit.c"
	assert_success
	run order --host ::1 --port "$P6" -c 4 --payload 2 --payload 0
	assert_output "2 0 2 0"
	# IPv4 to the dual-stack sockets goes through the same group
	run order --port "$P6" -c 2 --payload 1
	assert_output "1 1"
	steer detach --port "$P6"
	run steer attach --netns "$NS" --port "$P6" --proto tcp --policy rr
	assert_success
	run order --host ::1 --port "$P6" --proto tcp -c 4
	assert_output "0 1 2 0"
	steer detach --port "$P6" --proto tcp
}

@test "a TCP policy sees the SYN: no payload, so a payload policy falls back" {
	run steer attach --netns "$NS" --port "$P1" --proto tcp \
		--policy "$FP_ROOT/examples/syrup/first-digit.c"
	assert_success
	run cli --port "$P1" --proto tcp -c 3 --payload 2
	assert_line "lost 0"
	run bash -c "syrup-steer stats --port $P1 --proto tcp -j | jq -c '[.total.steered, .other.fallback]'"
	assert_output "[0,3]"
	steer detach --port "$P1" --proto tcp
}

@test "hash: every flow stays on one socket" {
	run steer attach --netns "$NS" --port "$P1" --policy hash
	assert_success
	local o
	o=($(order --port "$P1" -c 24 --flows 6))
	[ "${#o[@]}" -eq 24 ]
	for i in $(seq 0 17); do
		[ "${o[$i]}" = "${o[$((i + 6))]}" ] || fail "flow $((i % 6)) moved: ${o[*]}"
	done
	run steer stats --port "$P1" -j
	run jq '.total.steered' <<<"$output"
	assert_output 24
	steer detach --port "$P1" --proto udp
}

@test "random: requests reach every socket" {
	run steer attach --netns "$NS" --port "$P1" --policy random
	assert_success
	run cli --port "$P1" -c 200
	assert_line "lost 0"
	assert_line --regexp '^w0 [0-9]+$'
	assert_line --regexp '^w1 [0-9]+$'
	assert_line --regexp '^w2 [0-9]+$'
	assert_line --regexp '^w3 [0-9]+$'
	steer detach --port "$P1" --proto udp
}

@test "least-loaded follows the load the application writes" {
	run steer attach --netns "$NS" --port "$P1" --policy least-loaded
	assert_success
	run steer set --port "$P1" load.0=5 load.1=3 load.2=9 load.3=7
	assert_success
	assert_line "udp/$P1: load.1 = 3"
	run order --port "$P1" -c 6
	assert_output "1 1 1 1 1 1"
	# the application itself writes the pinned map (key 3, value 0)
	bpftool map update pinned "$(fp_syrup_dir "$NS" udp "$P1")/load" \
		key 3 0 0 0 value 0 0 0 0 0 0 0 0
	run order --port "$P1" -c 4
	assert_output "3 3 3 3"
	steer detach --port "$P1" --proto udp
}

@test "sita: big and class requests get their own set, set changes it live" {
	local big
	big=$(printf 'x%.0s' $(seq 300))
	run steer attach --netns "$NS" --port "$P1" --policy sita \
		--param threshold=200 --param class=SCAN
	assert_success
	# short requests round-robin over 0-2, SCAN and >200 bytes go to 3
	run order --port "$P1" -c 8 --payload GET --payload SCAN --payload "$big" --payload GET
	assert_output "0 3 3 1 2 3 3 0"
	run steer set --port "$P1" big=2 threshold=0
	assert_success
	run order --port "$P1" -c 6 --payload GET --payload SCAN --payload "$big"
	assert_output "0 2 1 0 3 1"
	run steer set --port "$P1" colour=blue
	assert_failure 1
	assert_output "syrup-steer: policy sita has no parameter 'colour' (it has: threshold, class, big)"
	run steer set --port "$P1" class=ABCDEFGHIJ
	assert_failure 1
	assert_output --partial "at most 8 bytes"
	steer detach --port "$P1" --proto udp
}

@test "a user policy in C routes by payload; out-of-range falls back, counted" {
	run steer attach --netns "$NS" --port "$P1" --policy "$FP_ROOT/examples/syrup/first-digit.c"
	assert_success
	assert_line --index 0 --partial "policy first-digit.c"
	run order --port "$P1" -c 6 --payload 3 --payload 1 --payload 2
	assert_output "3 1 2 3 1 2"
	# digit 7: no executor 7, the kernel's hash picks; nothing is lost
	run cli --port "$P1" -c 5 --payload 7
	assert_line "lost 0"
	run steer stats --port "$P1" -j
	run jq -c '[.executors[].steered], .other.fallback' <<<"$output"
	assert_output $'[0,2,2,2]\n5'
	run steer stats --port "$P1"
	assert_line --regexp '^  other +0 +5 +0 +0$'
	steer detach --port "$P1" --proto udp
}

@test "a prebuilt .bpf.o built with the documented command works" {
	# the command the man page gives, with the source tree as PREFIX
	mkdir -p "$T/inc"
	ln -sfn "$FP_ROOT/include" "$T/inc/fastpath"
	run clang -g -O2 -target bpf -mcpu=v3 -I"$T/inc" \
		-I/usr/include/$(gcc -print-multiarch) \
		-c "$FP_ROOT/examples/syrup/kv-scan.c" -o "$T/kv-scan.bpf.o"
	assert_success
	run steer attach --netns "$NS" --port "$P1" --policy "$T/kv-scan.bpf.o" --param scan_workers=2
	assert_success
	run order --port "$P1" -c 6 --payload GET --payload SCAN
	assert_output "0 2 1 3 0 2"
	run steer set --port "$P1" scan_workers=1
	assert_success
	run order --port "$P1" -c 4 --payload SCAN
	assert_output "3 3 3 3"
	steer detach --port "$P1" --proto udp
}

@test "thread layer: a thread policy against syrup-sched.h builds with the documented command, with no vmlinux.h" {
	mkdir -p "$T/inc"
	ln -sfn "$FP_ROOT/include" "$T/inc/fastpath"
	run clang -g -O2 -target bpf -mcpu=v3 -I"$T/inc" \
		-I/usr/include/$(gcc -print-multiarch) \
		-c "$FP_ROOT/examples/syrup/threads.c" -o "$T/threads.bpf.o"
	assert_success
	# a sched_ext scheduler: the struct_ops map and the maps syrup-steer pins
	run bpftool btf dump file "$T/threads.bpf.o"
	assert_output --partial "STRUCT 'sched_ext_ops'"
	assert_output --partial "'syrup_thread_ops'"
	if [ -d /sys/kernel/sched_ext ]; then skip "loading it: tests/vm/syrup-thread.bats"; fi
	run steer attach --layer thread --cgroup app --policy "$T/threads.bpf.o"
	assert_failure 1
	assert_output --partial "needs sched_ext"
}

@test "a policy reading past pkt_end is refused with the verifier's reason" {
	run steer attach --netns "$NS" --port "$P1" --policy "$T/bad.c"
	assert_failure 1
	assert_line --index 0 --regexp "^syrup-steer: the verifier refused policy .*bad.c: invalid access to packet.*\(at bad.c:6: return p\[100\] & 3;"
	assert_line "verifier log (last lines; the '; ' lines are your source):"
	[ ! -e "$(fp_syrup_dir "$NS" udp "$P1")" ]
	# and the port works as before
	run cli --port "$P1" -c 2
	assert_line "lost 0"
}

@test "two ports under two policies stay isolated" {
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run steer attach --netns "$NS" --port "$P2" --policy "$FP_ROOT/examples/syrup/first-digit.c"
	assert_success
	run order --port "$P2" -c 4 --payload 2
	assert_output "2 2 2 2"
	run order --port "$P1" -c 4 --payload 2
	assert_output "0 1 2 3"
	# each policy counted only its own port's packets
	run bash -c "syrup-steer stats --port $P1 -j | jq .total.steered"
	assert_output 4
	run bash -c "syrup-steer stats --port $P2 -j | jq .total.steered"
	assert_output 4
	run steer status
	assert_line --partial "udp/$P1: policy rr"
	assert_line --partial "udp/$P2: policy first-digit.c"
	# detaching one leaves the other
	run steer detach --port "$P1"
	assert_success
	run order --port "$P2" -c 2 --payload 3
	assert_output "3 3"
	run steer detach --port "$P2"
	assert_success
}

@test "one port, two network namespaces: two policies, each in its own" {
	ip netns add "$NS2"
	ip -n "$NS2" link set lo up
	srv_start "$NS2" "$T/n2" --port "$P1" --workers 4
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run steer attach --netns "$NS2" --port "$P1" --policy "$FP_ROOT/examples/syrup/first-digit.c"
	assert_success
	assert_line --index 0 "udp/$P1: policy first-digit.c, socket layer, netns $NS2, 4 executors"
	[ -d "$(fp_syrup_dir "$NS" udp "$P1")" ] && [ -d "$(fp_syrup_dir "$NS2" udp "$P1")" ]
	run order --port "$P1" -c 4 --payload 2
	assert_output "0 1 2 3"
	run ip netns exec "$NS2" "$FP_BUILD/syrup-client" --port "$P1" -c 4 --payload 2
	assert_line "order 2 2 2 2"
	# without --netns the port is ambiguous; with it, each its own
	run steer stats --port "$P1"
	assert_failure 1
	assert_output "syrup-steer: port $P1 is under a policy in more than one network namespace: give --netns"
	run bash -c "syrup-steer stats --netns $NS2 --port $P1 -j | jq .total.steered"
	assert_output 4
	run steer status -j
	run jq -r "select(.port == $P1) | \"\(.netns) \(.policy)\"" <<<"$output"
	assert_line "$NS rr"
	assert_line "$NS2 first-digit.c"
	# detaching one leaves the other steering
	run steer detach --netns "$NS" --port "$P1"
	assert_success
	run ip netns exec "$NS2" "$FP_BUILD/syrup-client" --port "$P1" -c 2 --payload 3
	assert_line "order 3 3"
	# the one left is found without --netns
	run steer detach --port "$P1"
	assert_success
	assert_output --partial "udp/$P1: policy first-digit.c detached"
	fp_netns_del "$NS2"
}

@test "a worker closing its socket leaves an empty slot, counted, never reused" {
	run steer attach --netns "$NS" --port "$P3" --policy rr
	assert_success
	kill -USR1 "$(srv_pid "$T/s3")"
	fp_wait_for grep -q '^closed worker 2' "$T/s3"
	run cli --port "$P3" -c 8
	assert_line "lost 0"
	refute_line --regexp '^w2 '
	# rr still counts 0 1 2 3; slot 2 falls back to the kernel's choice
	run steer status
	assert_line --partial "4 executors (1 closed)"
	assert_line --regexp '^ +2 +[0-9]+ +[0-9]+ syrup-server +closed \(slot kept\)$'
	run steer stats --port "$P3" -j
	run jq -c '[.executors[] | [.open, .fallback > 0]]' <<<"$output"
	assert_output '[[true,false],[true,false],[false,true],[true,false]]'
	steer detach --port "$P3"
}

@test "detach restores the kernel's default choice" {
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run order --port "$P1" -c 4
	assert_output "0 1 2 3"
	run steer detach --port "$P1"
	assert_success
	assert_output "udp/$P1: policy rr detached; the kernel's default reuseport choice is back"
	[ ! -e "$(fp_syrup_dir "$NS" udp "$P1")" ]
	# the kernel hashes the flow: one flow, one socket
	local o
	o=$(order --port "$P1" -c 8)
	[ "$(tr ' ' '\n' <<<"$o" | sort -u | wc -l)" -eq 1 ] || fail "one flow spread: $o"
	run steer detach --port "$P1"
	assert_failure 1
	assert_output --partial "no policy on port $P1"
	# and it can be attached again
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_failure 1
	assert_output --partial "already under a policy"
	steer detach --port "$P1"
}

@test "stats --prometheus: per-executor counters promtool accepts, syrup_up 0 once detached" {
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run order --port "$P1" -c 8
	run --separate-stderr steer stats --port "$P1" --prometheus
	assert_success
	"$FP_ROOT/tests/promtool" check metrics <<<"$output"
	assert_line "syrup_up 1"
	local e
	for e in 0 1 2 3; do
		assert_line "syrup_steered_total{proto=\"udp\",port=\"$P1\",layer=\"socket\",policy=\"rr\",executor=\"$e\"} 2"
	done
	assert_line "syrup_fallback_total{proto=\"udp\",port=\"$P1\",layer=\"socket\",policy=\"rr\",executor=\"other\"} 0"
	steer detach --port "$P1" --proto udp
	# nothing attached: an answer for a textfile, not a failure
	run --separate-stderr steer stats --port "$P1" --prometheus
	assert_success
	assert_equal "$(grep -v '^#' <<<"$output")" "syrup_up 0"
	run --separate-stderr steer stats --port "$P1" --prometheus -j
	[ "$status" -eq 64 ]
	# shellcheck disable=SC2154 # stderr: from run --separate-stderr
	[[ "$stderr" == *"--prometheus and -j do not mix"* ]]
}

@test "stats -i -n prints one report per interval" {
	run steer attach --netns "$NS" --port "$P1" --policy rr
	assert_success
	run steer stats --port "$P1" -i 0.2 -n 2 -j
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run jq -e '.interval_s == 0.2 and (.executors | length) == 4' <<<"${lines[0]}"
	assert_success
	steer detach --port "$P1"
}

@test "xdp layer: packets go to the CPU the policy names, other ports untouched" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	run steer attach --netns "$NSS" --port "$PX" --proto tcp --layer xdp \
		--interface "$IFS_" --cpus 0,1 --policy "$T/cpu.c" --param cpu=1
	assert_success
	assert_line --index 0 --regexp "^tcp/$PX: policy cpu.c, xdp layer on $IFS_ \((native|generic)\), netns $NSS, 2 executors$"
	local c="ip netns exec $NSC taskset -c 0 $FP_BUILD/syrup-client --host 10.79.0.1 --proto tcp"
	run $c --port "$PX" -c 4
	assert_line "cpus 1 1 1 1"
	run steer set --port "$PX" cpu=0
	run ip netns exec "$NSC" taskset -c 1 "$FP_BUILD/syrup-client" --host 10.79.0.1 --proto tcp --port "$PX" -c 4
	assert_line "cpus 0 0 0 0"
	# another port on the same interface: the policy never sees it
	# (where its packets land is up to the kernel, so no CPU is asserted)
	run steer set --port "$PX" cpu=1
	local before
	before=$(syrup-steer stats --port "$PX" -j | jq -c '[.total.steered, .total.fallback]')
	run $c --port "$PX2" -c 4
	assert_line "lost 0"
	run bash -c "syrup-steer stats --port $PX -j | jq -c '[.total.steered, .total.fallback]'"
	assert_output "$before"
	# a CPU that is no executor falls back and is counted
	run steer set --port "$PX" cpu=9
	run $c --port "$PX" -c 2
	assert_line "lost 0"
	run bash -c "syrup-steer stats --port $PX -j | jq '.other.fallback > 0'"
	assert_output true
	# a second port on the same interface gets its own policy (the
	# interface's dispatcher hands each port to its program)
	run steer set --port "$PX" cpu=1
	run steer attach --netns "$NSS" --port "$PX2" --proto tcp --layer xdp \
		--interface "$IFS_" --cpus 0,1 --policy "$T/cpu.c" --param cpu=0
	assert_success
	run ip netns exec "$NSC" taskset -c 1 "$FP_BUILD/syrup-client" --host 10.79.0.1 --proto tcp --port "$PX2" -c 3
	assert_line "cpus 0 0 0"
	run $c --port "$PX" -c 3
	assert_line "cpus 1 1 1"
	run steer status
	assert_line --partial "tcp/$PX: policy cpu.c, xdp layer on $IFS_"
	assert_line --partial "tcp/$PX2: policy cpu.c, xdp layer on $IFS_"
	# detaching one leaves the other steering
	run steer detach --port "$PX2"
	assert_success
	run $c --port "$PX" -c 3
	assert_line "cpus 1 1 1"
	run ip -n "$NSS" link show "$IFS_"
	assert_output --partial "xdp"
	run steer detach --port "$PX"
	assert_success
	assert_output "tcp/$PX: policy cpu.c detached from $IFS_"
	run ip -n "$NSS" link show "$IFS_"
	refute_output --partial "xdp"
}

@test "xdp programs on crafted frames (BPF_PROG_TEST_RUN): other traffic passes unseen" {
	run "$FP_BUILD/syrup-xdp-test"
	assert_success
	refute_output --partial "not ok"
	assert_line "ok 4 - another port: passed, the policy never ran"
	assert_line "ok 13 - dispatcher: another port passes unseen"
}
