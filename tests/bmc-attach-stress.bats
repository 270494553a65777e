#!/usr/bin/env bats
# BMC under concurrent writes and reads against a real memcached (2
# threads): after every acknowledged write, a GET (answered by BMC or by
# memcached) never returns an older value of the writer's own. Writers use
# TCP, TCP noreply and UDP; readers keep fills racing the writes.

load helpers

setup_file() {
	fp_mounts
	command -v memcached >/dev/null || skip "memcached not installed"
	command -v python3 >/dev/null || skip "python3 not installed"
	[ -x "$FP_BUILD/xdp-pass" ] || skip "xdp-pass not built"
	export NS_S=$(fp_name bss) NS_C=$(fp_name bsc)
	export IF_S=$(fp_name ss) IF_C=$(fp_name sc)
	export PIDF="$BATS_FILE_TMPDIR/memcached.pid"
	fp_veth_pair "$NS_S" "$NS_C" "$IF_S" "$IF_C" 10.79.0.1 10.79.0.2
	ip netns exec "$NS_C" "$FP_BUILD/xdp-pass" "$IF_C"
	bmc-attach "$IF_S" --netns "$NS_S" >/dev/null
	ip netns exec "$NS_S" memcached -u nobody -U 11211 -p 11211 \
		-l 10.79.0.1 -t 2 -d -P "$PIDF"
	fp_wait_for ip netns exec "$NS_C" bash -c "exec 3<>/dev/tcp/10.79.0.1/11211"
}

teardown_file() {
	bmc-attach --detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	[ -f "$PIDF" ] && kill "$(cat "$PIDF")" 2>/dev/null || true
	fp_netns_del "$NS_S" "$NS_C"
	rm -rf "/sys/fs/bpf/bmc/$IF_S"
}

@test "no stale read-back under racing writes (TCP, TCP noreply, UDP)" {
	run ip netns exec "$NS_C" python3 "$FP_ROOT/tests/bmc-attach-stress.py" 10.79.0.1 11211 8
	echo "$output" >&2
	assert_success
	assert_output --partial "stale 0"
	# BMC was really in the way: it answered and it refused racing fills
	run bmc-stat -I "$IF_S" -j
	[ "$(echo "$output" | jq .hits)" -gt 1000 ]
	[ "$(echo "$output" | jq .stale_fills)" -gt 0 ]
}
