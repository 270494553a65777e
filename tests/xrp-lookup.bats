#!/usr/bin/env bats
# xrp-lookup: BPF-KV databases of 1 to 4 layers on plain files and on loop
# devices with direct I/O, looked up through every engine this kernel has;
# ranges; users' storage functions; broken databases and functions; the
# kernel's verifier on good and bad functions.

load helpers
bats_require_minimum_version 1.5.0

FN_DIR="$BATS_TEST_DIRNAME/xrp-lookup.d"

setup_file() {
	export XRP_DIR XRP_LOOPS=""
	XRP_DIR=$(mktemp -d /var/tmp/xrp-lookup-test.XXXXXX)
	local l dev
	for l in 1 2 3 4; do
		xrp-lookup create --layers "$l" "$XRP_DIR/db$l" >/dev/null
		dev=$(fp_loop_create "$XRP_DIR/loop$l.img" $((l == 4 ? 80 : 4)))
		XRP_LOOPS="$XRP_LOOPS $dev"
		echo "$dev" >"$XRP_DIR/loop$l"
		xrp-lookup create --layers "$l" "$dev" >/dev/null
	done
}

teardown_file() {
	local dev
	for dev in $XRP_LOOPS; do
		fp_loop_destroy "$dev"
	done
	[ -n "${XRP_DIR:-}" ] && rm -rf "$XRP_DIR"
}

# keys for an L-layer tree: first, last, a few pseudo-random, and absent ones.
keys_for() {
	local n=$((31 ** $1))
	echo 0 1 $((n - 1)) $((n / 2)) $((n / 3 + 7)) $((n * 5 / 7)) \
		$((n * 9 / 10 + 3)) $n $((n + 12345)) 18446744073709551615
}

# What get must print for those keys.
expected_for() {
	local n=$((31 ** $1)) k
	for k in $(keys_for "$1"); do
		if [ "$k" = 18446744073709551615 ] || [ "$k" -ge "$n" ]; then
			echo "$k not found"
		else
			echo "$k $k"
		fi
	done
}

# Does this kernel have io_uring BPF ops (the kernel engine)? The engine
# choice comes before the database is opened, so /dev/null tells.
kernel_engine() {
	! xrp-lookup get --engine kernel /dev/null 1 2>&1 | grep -q "needs Linux 7.1"
}

engines() {
	echo pread uring
	kernel_engine && echo kernel
	return 0
}

check_all_engines() {
	local db=$1 l=$2 e want
	want=$(expected_for "$l")
	for e in $(engines); do
		run xrp-lookup get --engine "$e" "$db" $(keys_for "$l")
		[ "$status" -eq 1 ] || fail "$e on $db: exit $status (absent keys must give 1)"
		[ "$output" = "$want" ] || fail "$e on $db ($l layers) printed:
$output
want:
$want"
	done
}

@test "create writes BPF-KV's layout: sizes, nodes, pointers and values" {
	local l n nodes
	for l in 1 2 3 4; do
		n=$((31 ** l))
		nodes=$(((31 ** l - 1) / 30))
		[ "$(stat -c %s "$XRP_DIR/db$l")" -eq $((nodes * 512 + (n + 7) / 8 * 512)) ] ||
			fail "db$l has the wrong size"
	done
	# 2 layers: root {next 0, type 0, key[1] 31, ptr[0] = 512 | 1<<63}
	run od -An -tx8 -j0 -N32 "$XRP_DIR/db2"
	[ "$(echo $output)" = "0000000000000000 0000000000000000 0000000000000000 000000000000001f" ]
	run od -An -tx8 -j264 -N8 "$XRP_DIR/db2"
	[ "$(echo $output)" = "8000000000000200" ]
	# first leaf: next = 1024, type 1, keys 0.., ptr[0] = value log start
	run od -An -tx8 -j512 -N16 "$XRP_DIR/db2"
	[ "$(echo $output)" = "0000000000000400 0000000000000001" ]
	run od -An -tx8 -j$((512 + 264)) -N8 "$XRP_DIR/db2"
	[ "$(echo $output)" = "$(printf '%016x' $(((1 << 63) | (32 * 512))))" ]
	# last leaf: next = 0
	run od -An -tx8 -j$((31 * 512)) -N8 "$XRP_DIR/db2"
	[ "$(echo $output)" = "0000000000000000" ]
	# value of key 5: "%63lu" and a NUL, at 32 * 512 + 5 * 64
	run dd if="$XRP_DIR/db2" bs=1 skip=$((32 * 512 + 5 * 64)) count=64 status=none
	[ "$output" = "$(printf '%63u' 5)" ]
}

@test "create matches an independent BPF-KV writer byte for byte" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	local l
	for l in 1 2 3; do
		python3 - "$l" "$XRP_DIR/ref$l" <<'EOF'
import struct, sys
L, path = int(sys.argv[1]), sys.argv[2]
cap = [31 ** i for i in range(L)]
total, max_key, F = sum(cap), 31 ** L, 1 << 63
out, pos, idx = bytearray(), 1, 0
for i in range(L):
    extent, sub = max_key // cap[i], max_key // cap[i] // 31
    for j in range(cap[i]):
        idx += 1
        leaf = i == L - 1
        keys = [j * extent + k * sub for k in range(31)]
        ptrs = []
        for k in range(31):
            ptrs.append(F | (total * 512 + (pos - total) * 64 if leaf else pos * 512))
            pos += 1
        nxt = 0 if j == cap[i] - 1 else idx * 512
        out += struct.pack('<33Q31Q', nxt, 1 if leaf else 0, *keys, *ptrs)
for b in range(0, max_key, 8):
    for v in range(b, b + 8):
        out += (b'%63d' % v) + b'\0'
open(path, 'wb').write(out)
EOF
		cmp "$XRP_DIR/db$l" "$XRP_DIR/ref$l" || fail "db$l differs from the reference"
	done
}

@test "get on plain files, 1 to 4 layers: every engine agrees" {
	local l
	for l in 1 2 3 4; do
		check_all_engines "$XRP_DIR/db$l" "$l"
	done
}

@test "get on loop devices with direct I/O, 1 to 4 layers: every engine agrees" {
	local l
	for l in 1 2 3 4; do
		check_all_engines "$(cat "$XRP_DIR/loop$l")" "$l"
	done
}

@test "--cache-layers serves the top of the tree from memory, same answers" {
	local l c e
	for l in 2 3 4; do
		for c in 1 $((l - 1)); do
			for e in $(engines); do
				run xrp-lookup get --cache-layers "$c" --engine "$e" "$(cat "$XRP_DIR/loop$l")" $(keys_for "$l")
				[ "$output" = "$(expected_for "$l")" ] || fail "-c $c -e $e on $l layers: $output"
			done
		done
	done
	run xrp-lookup range --cache-layers 2 --sum "$XRP_DIR/db3" 0 29790
	[ "$output" = "count 29791 sum $((29790 * 29791 / 2))" ]
	run xrp-lookup bench --cache-layers 2 --engine uring --requests 500 -j "$(cat "$XRP_DIR/loop4")"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.reads_per_lookup == 3 and .cached_reads_per_lookup == 2 and .cache_layers == 2'
	run xrp-lookup get --cache-layers 2 "$XRP_DIR/db2" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: --cache-layers 2: $XRP_DIR/db2 has only 2 layers (the leaves are never cached)" ]
}

@test "get exits 0 when every key is found, and speaks JSON" {
	run xrp-lookup get "$XRP_DIR/db3" 29790 7
	[ "$status" -eq 0 ]
	[ "$output" = $'29790 29790\n7 7' ]
	run xrp-lookup get -j "$XRP_DIR/db3" 7 29791
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r 'select(.key == 7) | .value')" = 7 ]
	[ "$(echo "$output" | jq -r 'select(.key == 29791) | .found')" = false ]
}

@test "uring with many lookups in flight returns each key's own value" {
	local keys k want=""
	keys=$(seq 0 997 923520)
	for k in $keys; do want+="$k $k"$'\n'; done
	run xrp-lookup get --engine uring --inflight 32 "$(cat "$XRP_DIR/loop4")" $keys
	[ "$status" -eq 0 ]
	[ "$output" = "${want%$'\n'}" ]
}

@test "range prints keys and values in order, across leaves" {
	local e
	for e in $(engines); do
		run xrp-lookup range --engine "$e" "$XRP_DIR/db2" 25 40
		[ "$status" -eq 0 ]
		[ "$output" = "$(for k in $(seq 25 40); do echo "$k $k"; done)" ]
	done
	run xrp-lookup range "$XRP_DIR/db1" 28 1000
	[ "$output" = $'28 28\n29 29\n30 30' ]
	run xrp-lookup range "$XRP_DIR/db2" 5000 6000
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "range --sum counts and sums, on files and devices, every engine" {
	local e db
	for e in $(engines); do
		for db in "$XRP_DIR/db4" "$(cat "$XRP_DIR/loop4")"; do
			run xrp-lookup range --engine "$e" --sum "$db" 100 100000
			[ "$status" -eq 0 ]
			[ "$output" = "count 99901 sum $(((100 + 100000) * 99901 / 2))" ]
		done
	done
	run xrp-lookup range --sum -j "$XRP_DIR/db3" 0 29790
	[ "$(echo "$output" | jq -c '[.count, .sum]')" = "[29791,$((29790 * 29791 / 2))]" ]
}

@test "a user's storage function (the worked example in xrp.h) agrees" {
	local e want
	want=$(expected_for 3)
	for e in $(engines); do
		run xrp-lookup get --engine "$e" --function "$FN_DIR/my_get.c" "$XRP_DIR/db3" $(keys_for 3)
		[ "$status" -eq 1 ]
		[ "$output" = "$want" ]
	done
	run xrp-lookup bench --engine uring --requests 2000 -f "$FN_DIR/my_get.c" -j "$(cat "$XRP_DIR/loop4")"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .function)" = "$FN_DIR/my_get.c" ]
	[ "$(echo "$output" | jq -r .reads_per_lookup)" = 5.000 ] || [ "$(echo "$output" | jq -r .reads_per_lookup)" = 5 ]
}

@test "the header's worked example is the file the tests use" {
	sed -n '/^ \*\t#include <fastpath\/xrp.h>/,/^ \*\t}$/p' "$FP_ROOT/include/xrp.h" |
		sed 's/^ \*\t\{0,1\}//' >"$XRP_DIR/example.c"
	tail -n +3 "$FN_DIR/my_get.c" | diff - "$XRP_DIR/example.c"
}

@test "a function that misbehaves fails that lookup, with the reason" {
	run xrp-lookup get --function "$FN_DIR/bad_reads.c" "$XRP_DIR/db2" 1 2 3 4 5 6
	[ "$status" -eq 1 ]
	assert_output --partial "lookup of key 1 failed: the storage function asked for offset 1099511627776, outside the database (78336 bytes)"
	assert_output --partial "lookup of key 2 failed: the storage function asked for a misaligned read"
	assert_output --partial "lookup of key 3 failed: the storage function asked for an oversized read (8192 bytes"
	assert_output --partial "lookup of key 4 failed: more than 64 reads (--max-depth 64)"
	assert_output --partial "lookup of key 5 failed: the storage function asked for nothing"
	assert_output --partial "6 not found"
	run xrp-lookup get --engine uring --max-depth 3 --function "$FN_DIR/bad_reads.c" "$XRP_DIR/db2" 4
	[ "$status" -eq 1 ]
	assert_output --partial "more than 3 reads (--max-depth 3)"
	# a 4-layer lookup needs 5 reads
	run xrp-lookup get --max-depth 4 "$XRP_DIR/db4" 7
	[ "$status" -eq 1 ]
	assert_output --partial "more than 4 reads"
}

@test "a function that does not compile or defines no entry is refused clearly" {
	printf 'this is not C\n' >"$XRP_DIR/broken.c"
	run xrp-lookup get -f "$XRP_DIR/broken.c" "$XRP_DIR/db1" 1
	[ "$status" -eq 1 ]
	assert_output --partial "xrp-lookup: cannot compile $XRP_DIR/broken.c: "
	printf '#include <xrp.h>\nint unrelated(void) { return 0; }\n' >"$XRP_DIR/noentry.c"
	run xrp-lookup get -f "$XRP_DIR/noentry.c" "$XRP_DIR/db1" 1
	[ "$status" -eq 1 ]
	assert_output --partial "defines no storage function (declare it with XRP_FUNCTION(name)"
	run xrp-lookup get -f bpfkv-range "$XRP_DIR/db1" 1
	[ "$status" -eq 1 ]
	assert_output --partial "bpfkv-range is a range function"
}

@test "databases that are too short, truncated or garbage give one clear error" {
	head -c 100 /dev/zero >"$XRP_DIR/short"
	run xrp-lookup get "$XRP_DIR/short" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: $XRP_DIR/short is not a BPF-KV database: too short (100 bytes, a database is at least 2560)" ]

	head -c $((1 << 20)) "$XRP_DIR/db3" >"$XRP_DIR/trunc"
	run xrp-lookup get --engine uring "$XRP_DIR/trunc" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: $XRP_DIR/trunc is truncated: 1048576 bytes, but a 3-layer BPF-KV database needs 2415104" ]

	head -c 100000 /dev/urandom >"$XRP_DIR/garbage"
	run xrp-lookup range "$XRP_DIR/garbage" 1 2
	[ "$status" -eq 1 ]
	assert_output --partial "is not a BPF-KV database: node at offset 0"
	[ "${#lines[@]}" -eq 1 ]

	run xrp-lookup bench "$XRP_DIR/garbage"
	[ "$status" -eq 1 ]
	assert_output --partial "is not a BPF-KV database"

	# A character device of the test's own (not /dev/null, which other
	# software on a host may have replaced) and a directory.
	mknod "$XRP_DIR/chr" c 1 3
	run xrp-lookup get "$XRP_DIR/chr" 1
	[ "$status" -eq 1 ]
	assert_output --partial "$XRP_DIR/chr is neither a file nor a block device"
	run xrp-lookup get "$XRP_DIR" 1
	[ "$status" -eq 1 ]
	assert_output --partial "$XRP_DIR is neither a file nor a block device"

	run xrp-lookup get "$XRP_DIR/no-such-db" 1
	[ "$status" -eq 1 ]
	assert_output --partial "cannot open $XRP_DIR/no-such-db: No such file or directory"
}

@test "create refuses a block device too small and leaves it alone" {
	local dev
	dev=$(cat "$XRP_DIR/loop1")
	run xrp-lookup create --layers 4 "$dev"
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: $dev is too small: 4194304 bytes, a 4-layer database needs 74867200" ]
	run xrp-lookup get "$dev" 30
	[ "$output" = "30 30" ]
}

@test "corrupt nodes inside a database fail only the lookups that meet them" {
	cp "$XRP_DIR/db2" "$XRP_DIR/corrupt"
	# leaf 3 (keys 62..92): type 7
	printf '\x07' | dd of="$XRP_DIR/corrupt" bs=1 seek=$((3 * 512 + 8)) conv=notrunc status=none
	# leaf 5 (keys 124..154), slot 0: a pointer far outside the file
	printf '\x00\x00\x00\x00\x00\x00\x10\x80' | dd of="$XRP_DIR/corrupt" bs=1 seek=$((5 * 512 + 264)) conv=notrunc status=none
	local e
	for e in $(engines); do
		run xrp-lookup get --engine "$e" "$XRP_DIR/corrupt" 61 70 124 125
		[ "$status" -eq 1 ]
		assert_output --partial "61 61"
		assert_output --partial "lookup of key 70 failed: the storage function found corrupt data"
		assert_output --partial "lookup of key 124 failed: the storage function asked for offset 4503599627370496, outside the database"
		assert_output --partial "125 125"
	done
	run xrp-lookup range --sum "$XRP_DIR/corrupt" 0 100
	[ "$status" -eq 1 ]
	assert_output --partial "range 0..100 failed: the storage function found corrupt data (last read at offset 1536)"
	# the keys before the corrupt leaf are still printed
	run xrp-lookup range "$XRP_DIR/corrupt" 50 100
	[ "$status" -eq 1 ]
	assert_output --partial $'60 60\n61 61\nxrp-lookup: range 50..100 failed'

}

@test "verify passes the built-in functions and a user's function" {
	run xrp-lookup verify bpfkv-get
	[ "$status" -eq 0 ]
	assert_output --partial "bpfkv-get: pass"
	run xrp-lookup verify -j bpfkv-range
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .verdict)" = pass ]
	run xrp-lookup verify "$FN_DIR/my_get.c"
	[ "$status" -eq 0 ]
	assert_output --partial "my_get.c: pass"
}

@test "verify refuses an out-of-bounds access, with the verifier's reason" {
	run xrp-lookup verify "$FN_DIR/oob.c"
	[ "$status" -eq 1 ]
	assert_output --partial "oob.c: refused by the verifier"
	assert_output --partial "xrp-lookup: $FN_DIR/oob.c refused by the verifier: math between map_value pointer and register with unbounded min value is not allowed"
}

@test "verify refuses an unbounded loop" {
	run xrp-lookup verify -j "$FN_DIR/chase.c"
	[ "$status" -eq 1 ]
	local reason
	reason=$(echo "$output" | grep '^{' | jq -r .reason)
	[[ "$reason" == *"BPF program is too large"* || "$reason" == *"infinite loop"* ]] ||
		fail "reason: $reason"
}

@test "--engine xrp says XRP is absent; auto says what it picked" {
	run xrp-lookup get --engine xrp "$XRP_DIR/db1" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: engine xrp: this kernel has no XRP (no BPF_PROG_TYPE_XRP or struct bpf_xrp, no read_xrp system call in its BTF); use --engine uring or --engine auto" ]
	run xrp-lookup get --engine auto "$XRP_DIR/db1" 1
	[ "$status" -eq 0 ]
	if kernel_engine; then
		assert_output --partial "xrp-lookup: engine auto: using kernel (io_uring BPF ops"
	else
		assert_output --partial "xrp-lookup: engine auto: using uring (no io_uring BPF ops, which need Linux 7.1+, and no XRP in this kernel)"
	fi
	assert_output --partial "1 1"
	run xrp-lookup get -v --engine auto "$XRP_DIR/db1" 1
	assert_success
	assert_output --regexp "BPF_PROG_TYPE_XRP in kernel BTF \.+ no"
	assert_output --regexp "io_uring \.+ yes"
	assert_output --regexp "io_uring_bpf_ops in kernel BTF \.+ (yes|no)"
	# the uring engine's own options keep auto on uring
	run xrp-lookup get --engine auto --sqpoll "$XRP_DIR/db1" 1
	assert_success
	assert_output --partial "engine auto: using uring"
}

@test "--engine kernel refuses in one line where the kernel lacks io_uring BPF ops" {
	kernel_engine && skip "this kernel has io_uring BPF ops (tests/vm/xrp-kernel.bats covers it)"
	run xrp-lookup get --engine kernel "$XRP_DIR/db1" 1
	[ "$status" -eq 1 ]
	[ "$output" = "xrp-lookup: engine kernel: needs Linux 7.1 or newer with CONFIG_IO_URING_BPF_OPS (this kernel, $(uname -r), has no io_uring_bpf_ops in its BTF); use --engine uring or --engine auto" ]
	run xrp-lookup range --engine kernel --sum "$XRP_DIR/db1" 1 2
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	assert_output --partial "needs Linux 7.1 or newer with CONFIG_IO_URING_BPF_OPS"
	run xrp-lookup bench --engine kernel -j --requests 10 "$XRP_DIR/db1"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | grep "^{" | jq -r .error)" = "engine kernel: needs Linux 7.1 or newer with CONFIG_IO_URING_BPF_OPS (this kernel, $(uname -r), has no io_uring_bpf_ops in its BTF); use --engine uring or --engine auto" ]
}

@test "bench reports rates, latency, CPU and system calls for each engine" {
	local e dev
	dev=$(cat "$XRP_DIR/loop4")
	for e in pread uring; do
		run xrp-lookup bench --engine "$e" --requests 500 --threads 2 -j "$dev"
		[ "$status" -eq 0 ]
		echo "$output" | jq -e '.lookups_per_sec > 0 and .p99_us > 0 and .cpu_us_per_lookup > 0 and .syscalls_per_lookup >= 0 and .reads_per_lookup == 5 and .layers == 4'
		[ "$(echo "$output" | jq -r .engine)" = "$e" ]
		[ "$(echo "$output" | jq -r .syscalls_counted_by)" = kernel ]
	done
	run xrp-lookup bench --engine pread --requests 300 "$dev"
	[ "$status" -eq 0 ]
	assert_output --partial "syscalls/lookup 5.0"
	run xrp-lookup bench --engine uring --sqpoll --inflight 4 --requests 300 "$XRP_DIR/db3"
	[ "$status" -eq 0 ]
	assert_output --partial "SQPOLL"
}

@test "the old short forms -d, -c and -s still work, with a warning" {
	run --separate-stderr xrp-lookup range -s -c 1 -d 16 "$XRP_DIR/db3" 0 29790
	assert_success
	[ "$output" = "count 29791 sum $((29790 * 29791 / 2))" ]
	# shellcheck disable=SC2154 # stderr: from run --separate-stderr
	[[ "$stderr" == *"-s is deprecated: use --sum"* ]]
	[[ "$stderr" == *"-c is deprecated: use --cache-layers"* ]]
	[[ "$stderr" == *"-d is deprecated: use --max-depth"* ]]
}

@test "bad command lines exit 64" {
	local args
	for args in "" "nope" "create x" "create --layers 0 x" "create --layers 7 x" \
		"get" "get $XRP_DIR/db1" "get $XRP_DIR/db1 abc" "get $XRP_DIR/db1 -1" \
		"range $XRP_DIR/db1 5" "range $XRP_DIR/db1 5 4" "get --sum $XRP_DIR/db1 1" \
		"get --engine foo $XRP_DIR/db1 1" "bench --requests 0 $XRP_DIR/db1" \
		"bench --threads x $XRP_DIR/db1" "get --layers 2 $XRP_DIR/db1 1" \
		"bench --sqpoll --engine pread $XRP_DIR/db1" "verify" \
		"range $XRP_DIR/db1 1 2 3" "get --threads 2 $XRP_DIR/db1 1" \
		"verify --engine uring bpfkv-get" "create --layers 2 --function x.c y" \
		"get --cache-layers 9 $XRP_DIR/db1 1" "create --layers 2 --cache-layers 1 y" \
		"get --engine kernel --sqpoll $XRP_DIR/db1 1" "get --engine kern $XRP_DIR/db1 1"; do
		run xrp-lookup $args
		[ "$status" -eq 64 ] || fail "'xrp-lookup $args' exited $status: $output"
	done
}
