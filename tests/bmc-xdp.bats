#!/usr/bin/env bats
# BMC's XDP and TC programs through BPF_PROG_TEST_RUN: crafted frames and a
# fuzz loop (tests/bmc-xdp-test.c). No interface, no memcached needed.

load helpers

setup_file() {
	fp_mounts
}

@test "bmc-xdp-test: crafted frames, invalidation, races and fuzzing" {
	[ -x "$FP_BUILD/bmc-xdp-test" ] || skip "bmc-xdp-test not built (make $FP_BUILD/bmc-xdp-test)"
	run "$FP_BUILD/bmc-xdp-test" -n 20000
	echo "$output" | grep -v '^ok' >&2 || true
	assert_success
	refute_output --partial "not ok"
	assert_output --partial "fuzz: every XDP_TX well-formed"
}

@test "bmc-xdp-test: a second seed" {
	[ -x "$FP_BUILD/bmc-xdp-test" ] || skip "bmc-xdp-test not built"
	run "$FP_BUILD/bmc-xdp-test" -n 20000 -s 12345
	assert_success
	refute_output --partial "not ok"
}

@test "bmc-xdp-test -d: packets read and written directly (before Linux 5.18)" {
	[ -x "$FP_BUILD/bmc-xdp-test" ] || skip "bmc-xdp-test not built"
	run "$FP_BUILD/bmc-xdp-test" -d -n 20000
	echo "$output" | grep -v '^ok' >&2 || true
	assert_success
	refute_output --partial "not ok"
	assert_output --partial "fuzz: every XDP_TX well-formed"
}
