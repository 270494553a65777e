#!/usr/bin/env bats
# xrp-lookup's kernel engine (io_uring BPF ops, Linux 7.1+) in every kernel
# of the matrix. Where the kernel has the hook: get, range and sum through
# it agree with pread and uring on 1- to 4-layer databases on loop devices;
# absent keys, corrupt and truncated databases, out-of-range pointers and
# misbehaving functions fail as they do on the other engines; the verifier
# refuses a function that loops or reads out of bounds. tests/vm/suites
# runs this file only where the kernel has the hook; refusals.bats checks
# the one-line refusal elsewhere.
#
# Kept short: under TCG every load of the program costs seconds (the range
# function's verification about 15), so each case runs once.

load ../helpers
load support
bats_require_minimum_version 1.5.0

FN_DIR="$BATS_TEST_DIRNAME/../xrp-lookup.d"
MY_DIR="$BATS_TEST_DIRNAME/xrp-kernel.d"

setup_file() {
	export XK_DIR XK_HOOK=0 SERIES
	SERIES=$(uname -r | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	XK_DIR=$(mktemp -d /var/tmp/xrp-kernel.XXXXXX)
	# The engine is chosen before the database is opened: /dev/null tells.
	xrp-lookup get -v --engine auto /dev/null 1 2>&1 |
		grep -Eq 'io_uring_bpf_ops in kernel BTF \.+ yes' && XK_HOOK=1
	[ "$XK_HOOK" = 1 ] || return 0
	local l dev
	for l in 1 2 3 4; do
		dev=$(fp_loop_create "$XK_DIR/loop$l.img" $((l == 4 ? 80 : 4)))
		echo "$dev" >"$XK_DIR/loop$l"
		xrp-lookup create --layers "$l" "$dev" >/dev/null
	done
	xrp-lookup create --layers 2 "$XK_DIR/db2" >/dev/null
}

teardown_file() {
	local l
	for l in 1 2 3 4; do
		[ -f "$XK_DIR/loop$l" ] && fp_loop_destroy "$(cat "$XK_DIR/loop$l")"
	done
	[ -n "${XK_DIR:-}" ] && rm -rf "$XK_DIR"
}

needs_hook() {
	[ "$XK_HOOK" = 1 ] || skip "no io_uring BPF ops in $(uname -r)"
}

loop() {
	cat "$XK_DIR/loop$1"
}

# First, last, a few inside, and absent keys of an L-layer tree.
keys_for() {
	local n=$((31 ** $1))
	echo 0 1 $((n - 1)) $((n / 2)) $((n / 3 + 7)) $((n * 5 / 7)) \
		$n $((n + 12345)) 18446744073709551615
}

@test "get through the kernel engine agrees with pread and uring, 1 to 4 layers, absent keys too" {
	needs_hook
	local l e want
	for l in 1 2 3 4; do
		run xrp-lookup get --engine pread "$(loop "$l")" $(keys_for "$l")
		want=$output
		for e in uring kernel; do
			run xrp-lookup get --engine "$e" "$(loop "$l")" $(keys_for "$l")
			[ "$status" -eq 1 ] || fail "$e, $l layers: exit $status (absent keys give 1)"
			[ "$output" = "$want" ] || fail "$e, $l layers: $output
want: $want"
		done
	done
	[[ "$want" == *"923521 not found"* && "$want" == *"461760 461760"* ]]
}

@test "range and sum through the kernel engine agree with pread and uring" {
	needs_hook
	local want
	want=$(xrp-lookup range --engine uring "$(loop 1)" 0 30)
	run xrp-lookup range --engine kernel "$(loop 1)" 0 30
	[ "$status" -eq 0 ] && [ "$output" = "$want" ] && [ "${#lines[@]}" -eq 31 ]
	# across leaves, in chains of 32 values
	want=$(xrp-lookup range --engine pread "$(loop 2)" 25 100)
	run xrp-lookup range --engine kernel "$(loop 2)" 25 100
	[ "$status" -eq 0 ] && [ "$output" = "$want" ] && [ "${#lines[@]}" -eq 76 ]
	run xrp-lookup range --engine kernel --sum "$(loop 3)" 0 29790
	[ "$output" = "count 29791 sum $((29790 * 29791 / 2))" ]
	run xrp-lookup range --engine kernel --sum -j "$(loop 4)" 900000 923600
	[ "$(echo "$output" | jq -c '[.count, .sum]')" = "[23521,$(((900000 + 923520) * 23521 / 2))]" ]
}

@test "bench through the kernel engine: one io_uring_enter per round, not per read" {
	needs_hook
	local out
	for q in 32 1; do
		out=$(xrp-lookup bench --engine kernel --inflight "$q" --requests 600 -j "$(loop 4)" 2>/dev/null)
		echo "$out" | jq -e '.engine == "kernel" and .reads_per_lookup == 5 and .syscalls_counted_by == "kernel" and .syscalls_per_lookup < 0.05' ||
			fail "inflight $q: $out"
	done
	# one loop step per round of reads in flight: at one in flight, per read
	echo "$out" | jq -e '.loop_steps_per_lookup >= 5'
	out=$(xrp-lookup bench --engine kernel --cache-layers 2 --requests 300 -j "$(loop 4)" 2>/dev/null)
	echo "$out" | jq -e '.reads_per_lookup == 3 and .cached_reads_per_lookup == 2'
}

@test "truncated and corrupt databases and out-of-range pointers fail as on the other engines" {
	needs_hook
	head -c $((1 << 20)) "$(loop 3)" >"$XK_DIR/trunc"
	run xrp-lookup get --engine kernel "$XK_DIR/trunc" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: $XK_DIR/trunc is truncated: 1048576 bytes, but a 3-layer BPF-KV database needs 2415104" ]
	cp "$XK_DIR/db2" "$XK_DIR/corrupt"
	# leaf 3 (keys 62..92): type 7; leaf 5, slot 0: a pointer far outside
	printf '\x07' | dd of="$XK_DIR/corrupt" bs=1 seek=$((3 * 512 + 8)) conv=notrunc status=none
	printf '\x00\x00\x00\x00\x00\x00\x10\x80' | dd of="$XK_DIR/corrupt" bs=1 seek=$((5 * 512 + 264)) conv=notrunc status=none
	run xrp-lookup get --engine kernel "$XK_DIR/corrupt" 61 70 124 125
	[ "$status" -eq 1 ]
	assert_output --partial "61 61"
	assert_output --partial "lookup of key 70 failed: the storage function found corrupt data (last read at offset 1536)"
	assert_output --partial "lookup of key 124 failed: the storage function asked for offset 4503599627370496, outside the database (78336 bytes)"
	assert_output --partial "125 125"
	run xrp-lookup range --engine kernel "$XK_DIR/corrupt" 50 100
	[ "$status" -eq 1 ]
	assert_output --partial $'60 60\n61 61\nxrp-lookup: range 50..100 failed: the storage function found corrupt data (last read at offset 1536)'
}

@test "a function that misbehaves fails that lookup with the reason the other engines give" {
	needs_hook
	local want
	run xrp-lookup get --engine uring --function "$FN_DIR/bad_reads.c" "$XK_DIR/db2" 1 2 3 4 5 6
	want=$output
	run xrp-lookup get --engine kernel --function "$FN_DIR/bad_reads.c" "$XK_DIR/db2" 1 2 3 4 5 6
	[ "$status" -eq 1 ]
	[ "$output" = "$want" ]
	assert_output --partial "lookup of key 4 failed: more than 64 reads (--max-depth 64)"
}

@test "the verifier refuses, for the kernel engine, a function that loops or reads out of bounds" {
	needs_hook
	run xrp-lookup get --engine kernel --function "$MY_DIR/spin.c" "$XK_DIR/db2" 1
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	assert_output --regexp "^xrp-lookup: engine kernel: $MY_DIR/spin.c refused by the verifier: infinite loop detected"
	run xrp-lookup get --engine kernel --function "$FN_DIR/oob.c" "$XK_DIR/db2" 1
	[ "$status" -eq 1 ]
	assert_output "xrp-lookup: engine kernel: $FN_DIR/oob.c refused by the verifier: math between mem pointer and register with unbounded min value is not allowed"
	# auto says so and takes uring
	run xrp-lookup get --engine auto --function "$FN_DIR/oob.c" "$XK_DIR/db2" 1
	assert_output --partial "engine auto: using uring (the verifier refused $FN_DIR/oob.c for the kernel engine: math between mem pointer"
	run xrp-lookup verify bpfkv-get
	[ "$status" -eq 0 ]
	assert_output --regexp "bpfkv-get: pass \(kernel verifier, the kernel engine's io_uring loop_step, [0-9]+ instructions processed\)"
}
