#!/usr/bin/env bats
# The kernel matrix's smoke suite: each tool's core job, for real, on
# whatever kernel runs it (tests/run runs it here and on Debian's kernels
# through tests/vm/run). Where tests/vm/support.tsv says a tool cannot work
# on this kernel, the test checks that it refuses in one line instead.

load ../helpers
load support
bats_require_minimum_version 1.5.0

setup_file() {
	fp_mounts
	export T=$BATS_FILE_TMPDIR
	export SERIES
	SERIES=$(uname -r | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
}

# The O_DIRECT-capable place for loop backing files (tmpfs on 6.1 has no
# O_DIRECT: a loop device over it cannot do direct I/O).
backing_dir() {
	local d
	for d in /var/tmp /tmp /dev/shm; do
		if dd if=/dev/zero of="$d/.fp-odirect-$$" bs=4k count=1 oflag=direct status=none 2>/dev/null; then
			rm -f "$d/.fp-odirect-$$"
			echo "$d"
			return
		fi
		rm -f "$d/.fp-odirect-$$"
	done
	echo /var/tmp
}

@test "kstack-latency counts a known number of O_DIRECT reads, every layer" {
	local dir loop
	dir=$(mktemp -d "$(backing_dir)/fp-smoke.XXXXXX")
	loop=$(fp_loop_create "$dir/k.img" 8)
	if [ "$(expect kstack-latency)" != works ]; then
		refuses kstack-latency kstack-latency -d "${loop#/dev/}" -n 1 -i 1
		fp_loop_destroy "$loop"
		rm -rf "$dir"
		return
	fi
	kstack-latency -d "${loop#/dev/}" -j >"$T/k.out" 2>"$T/k.err" 3>&- &
	local pid=$!
	# Loading takes seconds under emulation: up to 60, while it runs.
	for _ in $(seq 600); do
		grep -q 'Hit Ctrl-C' "$T/k.err" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	dd if="$loop" of=/dev/null bs=4k count=100 iflag=direct status=none
	kill -INT "$pid"
	wait "$pid" || { cat "$T/k.err"; fp_loop_destroy "$loop"; rm -rf "$dir"; fail "kstack-latency failed"; }
	fp_loop_destroy "$loop"
	rm -rf "$dir"
	run jq -r '[.ios, .layers.syscall.count, .layers.block.count,
		.layers.device.count, .layers.completion.count] | map(tostring) | join(" ")' "$T/k.out"
	assert_output "100 100 100 100 100"
}

bmc_teardown() {
	bmc-attach --detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	fp_netns_del "$NS_S" "$NS_C"
	rm -rf "/sys/fs/bpf/bmc/$IF_S"
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
}

# kernel_get KEY WANT: GET KEY over UDP until BMC answers it from the kernel
# (bmc-stat's hits rise), then the answer must be WANT.
kernel_get() {
	local h0 got
	for _ in $(seq 20); do
		h0=$(bmc-stat -I "$IF_S" -j | jq .hits)
		got=$(ip netns exec "$NS_C" mc-req 10.81.0.1 11211 "get $1" | tr -d '\r')
		[ "$(bmc-stat -I "$IF_S" -j | jq .hits)" -gt "$h0" ] && break
		sleep 0.2
	done
	[ "$(bmc-stat -I "$IF_S" -j | jq .hits)" -gt "$h0" ] || { echo "BMC never answered 'get $1' from the kernel"; return 1; }
	[ "$got" = "$2" ] || { echo "kernel hit for $1: $got"; return 1; }
}

@test "BMC answers a UDP GET from XDP and a TCP set invalidates it" {
	NS_S=$(fp_name sms) NS_C=$(fp_name smc) IF_S=$(fp_name sms) IF_C=$(fp_name smc)
	fp_veth_pair "$NS_S" "$NS_C" "$IF_S" "$IF_C" 10.81.0.1 10.81.0.2
	if [ "$(expect bmc-attach)" != works ]; then
		refuses bmc-attach bmc-attach "$IF_S" --netns "$NS_S"
		bmc_teardown
		return
	fi
	ip netns exec "$NS_C" xdp-pass "$IF_C"
	ip netns exec "$NS_S" memcached -u nobody -U 11211 -p 11211 -t 1 -m 16 -d -P "$T/mc.pid"
	fp_wait_for ip netns exec "$NS_C" mc-req -t 10.81.0.1 11211 version
	local c="ip netns exec $NS_C mc-req"
	# Stored before the attach: BMC learns it from memcached (warm attach).
	$c -t 10.81.0.1 11211 "set warm 0 0 4" "wwww" >/dev/null
	run bmc-attach "$IF_S" --netns "$NS_S" --cache-size 4M
	[ "$status" -eq 0 ] || { bmc_teardown; fail "bmc-attach: $output"; }
	[[ "$output" == *"learned the expiry of 1 keys"* ]] || { bmc_teardown; fail "warm attach: $output"; }
	$c -t 10.81.0.1 11211 "set smoke 0 0 5" "hello" >/dev/null
	kernel_get smoke $'VALUE smoke 0 5\nhello\nEND' || { bmc_teardown; fail "XDP hit"; }
	$c -t 10.81.0.1 11211 "set smoke 0 0 5" "world" >/dev/null
	got=$($c 10.81.0.1 11211 "get smoke" | tr -d '\r')
	[ "$got" = $'VALUE smoke 0 5\nworld\nEND' ] || { bmc_teardown; fail "stale after a TCP set: $got"; }
	kernel_get warm $'VALUE warm 0 4\nwwww\nEND' || { bmc_teardown; fail "warm key"; }
	# 1000 bytes: from XDP where the frame has room, else from TC ingress.
	local big
	big=$(head -c 1000 /dev/zero | tr '\0' b)
	$c -t 10.81.0.1 11211 "set big 0 0 1000" "$big" >/dev/null
	kernel_get big "$(printf 'VALUE big 0 1000\n%s\nEND' "$big")" || { bmc_teardown; fail "1000-byte value"; }
	bmc_teardown
}

syrup_teardown() {
	syrup-steer detach --port "$PORT" --proto udp >/dev/null 2>&1 || true
	syrup-steer detach --port "$PORT" --proto tcp >/dev/null 2>&1 || true
	fp_syrup_rm "$PORT"
	fp_netns_del "$NS" "${NS_C:-}"
}

srv_start() { # NS OUTFILE ARGS...
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" syrup-server "$@" >"$out" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$out"
}

@test "syrup-steer rr spreads one flow over a reuseport group (socket layer)" {
	NS=$(fp_name sss) PORT=$((20000 + RANDOM % 20000))
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	srv_start "$NS" "$T/s1" --port "$PORT" --workers 4
	if [ "$(expect syrup-steer)" != works ]; then
		refuses syrup-steer syrup-steer attach --netns "$NS" --port "$PORT" --policy rr
		syrup_teardown
		return
	fi
	run syrup-steer attach --netns "$NS" --port "$PORT" --policy rr
	[ "$status" -eq 0 ] || { syrup_teardown; fail "attach: $output"; }
	run ip netns exec "$NS" syrup-client --port "$PORT" -c 8
	syrup_teardown
	assert_line "order 0 1 2 3 0 1 2 3"
}

@test "syrup-steer rr spreads one flow over CPUs (XDP layer)" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	NS=$(fp_name sxs) NS_C=$(fp_name sxc) PORT=$((20000 + RANDOM % 20000))
	local ifs ifc
	ifs=$(fp_name sxs) ifc=$(fp_name sxc)
	fp_veth_pair "$NS" "$NS_C" "$ifs" "$ifc" 10.82.0.1 10.82.0.2
	ip netns exec "$NS_C" ethtool -K "$ifc" tx off >/dev/null
	srv_start "$NS" "$T/sx" --port "$PORT" --workers 2 --proto tcp
	if [ "$(expect syrup-steer)" != works ]; then
		refuses syrup-steer syrup-steer attach --netns "$NS" --port "$PORT" --proto tcp \
			--layer xdp --interface "$ifs" --cpus 0,1 --policy rr
		syrup_teardown
		return
	fi
	run syrup-steer attach --netns "$NS" --port "$PORT" --proto tcp --layer xdp \
		--interface "$ifs" --cpus 0,1 --policy rr
	[ "$status" -eq 0 ] || { syrup_teardown; fail "attach: $output"; }
	ip netns exec "$NS_C" syrup-client --host 10.82.0.1 --proto tcp --port "$PORT" -c 8 >"$T/sx.out"
	run bash -c "syrup-steer stats --port $PORT -j | jq -c '[.executors[].steered | . > 0]'"
	syrup_teardown
	grep -q "lost 0" "$T/sx.out" || fail "requests lost: $(cat "$T/sx.out")"
	assert_output "[true,true]"
}

@test "xrp-lookup finds keys through every engine, on a file and a loop device" {
	local dir loop e n=$((31 ** 3))
	dir=$(mktemp -d "$(backing_dir)/fp-smoke.XXXXXX")
	xrp-lookup create --layers 3 "$dir/db" >/dev/null
	loop=$(fp_loop_create "$dir/x.img" 4)
	xrp-lookup create --layers 3 "$loop" >/dev/null
	local want
	want=$(printf '0 0\n%s %s\n%s not found' $((n - 1)) $((n - 1)) "$n")
	for e in pread uring; do
		for db in "$dir/db" "$loop"; do
			run xrp-lookup get --engine "$e" "$db" 0 $((n - 1)) "$n"
			[ "$output" = "$want" ] || { fp_loop_destroy "$loop"; rm -rf "$dir"; fail "$e on $db: $output"; }
		done
	done
	run xrp-lookup verify bpfkv-get
	fp_loop_destroy "$loop"
	rm -rf "$dir"
	assert_success
}
