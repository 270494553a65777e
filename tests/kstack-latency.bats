#!/usr/bin/env bats
# kstack-latency on loop devices with direct I/O: known numbers of O_DIRECT
# reads must be counted exactly, split into layers that add up, and the
# -p / -c / -d filters must include and exclude what they say.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	LOOP_A=$(fp_loop_create "$BATS_FILE_TMPDIR/a.img" 16)
	LOOP_B=$(fp_loop_create "$BATS_FILE_TMPDIR/b.img" 16)
	export LOOP_A LOOP_B
	DISK_A=${LOOP_A#/dev/}
	DISK_B=${LOOP_B#/dev/}
	export DISK_A DISK_B
	# Where udev runs, it reads a new loop device to probe it: let that
	# finish before counting reads.
	if command -v udevadm >/dev/null; then
		udevadm settle --timeout=10 || true
	fi
}

teardown_file() {
	fp_loop_destroy "${LOOP_A:-}"
	fp_loop_destroy "${LOOP_B:-}"
}

teardown() {
	# A test that failed half-way must not leave a tracer or reader behind.
	# Wait for those two only: a bare `wait` would also wait for the
	# watchdog bats starts under BATS_TEST_TIMEOUT.
	if [ -n "${TRACER:-}" ]; then
		kill -INT "$TRACER" 2>/dev/null
		wait "$TRACER" 2>/dev/null
	fi
	if [ -n "${READER:-}" ]; then
		kill "$READER" 2>/dev/null
		wait "$READER" 2>/dev/null
	fi
	return 0
}

# start_tracer ARGS...: runs kstack-latency in the background and returns
# once it says it is attached (output in $OUT, messages in $ERR).
start_tracer() {
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	kstack-latency "$@" >"$OUT" 2>"$ERR" 3>&- &
	TRACER=$!
	# Loading and attaching takes a fraction of a second, but seconds on
	# a machine busy with other jobs: allow 20.
	local i
	for i in $(seq 200); do
		grep -q 'Hit Ctrl-C' "$ERR" && return 0
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	cat "$ERR" >&2
	return 1
}

# stop_tracer: Ctrl-C, then the exit status must be 0.
stop_tracer() {
	kill -INT "$TRACER"
	wait "$TRACER"
	local rc=$?
	TRACER=
	return $rc
}

# direct_reads DEV COUNT: exactly COUNT 4 KiB O_DIRECT read syscalls.
direct_reads() {
	dd if="$1" of=/dev/null bs=4k count="$2" iflag=direct status=none
}

# start_reader DEV COUNT: a reader whose PID is known before it reads;
# it starts reading when $BATS_TEST_TMPDIR/go-PID appears.
start_reader() {
	local dev=$1 count=$2
	bash -c 'while [ ! -e "$0/go-$$" ]; do sleep 0.05; done
		exec dd if="$1" of=/dev/null bs=4k count="$2" iflag=direct status=none' \
		"$BATS_TEST_TMPDIR" "$dev" "$count" 3>&- &
	READER=$!
}

release_reader() {
	touch "$BATS_TEST_TMPDIR/go-$1"
	wait "$1"
}

@test "kstack-latency: --help exits 0 and lists every option" {
	run kstack-latency --help
	assert_success
	for opt in --pid --comm --disk --histogram --syscall-tracepoints \
		--interval --count --json --timestamp --verbose; do
		assert_output --partial -- "$opt"
	done
}

@test "kstack-latency: an unknown option is a usage error (exit 64)" {
	run kstack-latency --no-such-option
	[ "$status" -eq 64 ]
	assert_output --partial "Try \`kstack-latency --help'"
	run kstack-latency -p notanumber
	[ "$status" -eq 64 ]
}

@test "kstack-latency: an unknown disk is one clear line, exit 1" {
	run kstack-latency -d nosuchdisk0
	assert_failure 1
	assert_output "kstack-latency: unknown disk 'nosuchdisk0': no /sys/class/block/nosuchdisk0/dev (see lsblk)"
}

@test "kstack-latency: a PID that does not exist is one clear line, exit 1" {
	run kstack-latency -p 4194303
	assert_failure 1
	assert_output "kstack-latency: no process with PID 4194303"
}

@test "kstack-latency: without privileges it says what is missing, exit 1" {
	command -v setpriv >/dev/null || skip "setpriv not installed"
	run setpriv --inh-caps=-all --bounding-set=-all \
		"$FP_BUILD/kstack-latency"
	assert_failure 1
	assert_output --partial "need root or CAP_BPF"
}

@test "kstack-latency: counts exactly the O_DIRECT reads made, every layer" {
	start_tracer -d "$DISK_A" -j
	direct_reads "$LOOP_A" 200
	stop_tracer
	run jq -r '[.ios, .layers.syscall.count, .layers.block.count,
		.layers.device.count, .layers.completion.count,
		.layers.total.count] | map(tostring) | join(" ")' "$OUT"
	assert_success
	assert_output "200 200 200 200 200 200"
}

@test "kstack-latency: read, pread64, readv, preadv and preadv2 all count" {
	start_tracer -d "$DISK_A" -j
	# fio's engines, one per syscall: 10 random 4 KiB O_DIRECT reads each.
	for engine in sync psync vsync pvsync pvsync2; do
		fio --name=kstack-test --filename="$LOOP_A" --rw=randread \
			--bs=4k --size=40k --direct=1 --iodepth=1 \
			--ioengine=$engine --output-format=terse >/dev/null
	done
	stop_tracer
	run jq -r .ios "$OUT"
	assert_output 50
}

@test "kstack-latency: -s (per-syscall tracepoints) counts the same reads" {
	start_tracer -s -d "$DISK_A" -j
	for engine in sync psync vsync pvsync pvsync2; do
		fio --name=kstack-test --filename="$LOOP_A" --rw=randread \
			--bs=4k --size=40k --direct=1 --iodepth=1 \
			--ioengine=$engine --output-format=terse >/dev/null
	done
	direct_reads "$LOOP_A" 30
	stop_tracer
	run jq -r '"\(.ios) \(.layers.syscall.count) \(.layers.completion.count)"' "$OUT"
	assert_output "80 80 80"
}

@test "kstack-latency: layers are non-negative and add up to the total" {
	start_tracer -d "$DISK_A" -j
	direct_reads "$LOOP_A" 100
	stop_tracer
	# avg_us has 3 decimals: four rounded layers are within 0.002 each.
	run jq -e '.layers as $l
		| ([$l[] | .avg_us, .p50_us, .p99_us, .max_us] | min) >= 0
		and ($l.total.avg_us > 0)
		and (($l.syscall.avg_us + $l.block.avg_us + $l.device.avg_us
		      + $l.completion.avg_us - $l.total.avg_us) | fabs) < 0.01
		and ($l.device.max_us <= $l.total.max_us)
		and ([$l[] | .p50_us <= .p99_us and .p99_us <= .max_us] | all)
		and .kernel_share >= 0 and .kernel_share <= 1' "$OUT"
	assert_success
}

@test "kstack-latency: JSON parses and has every key" {
	start_tracer -d "$DISK_A" -j
	direct_reads "$LOOP_A" 20
	stop_tracer
	[ "$(wc -l <"$OUT")" -eq 1 ]
	run jq -e '
		(keys == (["ios", "kernel_share", "layers", "ts", "unattributed"]))
		and (.layers | keys == (["block", "completion", "device",
					 "syscall", "total"]))
		and ([.layers[] | keys == (["avg_us", "count", "max_us",
					    "p50_us", "p99_us"])] | all)
		and (.ts | type == "number") and (.ios | type == "number")
		and (.unattributed | type == "number")' "$OUT"
	assert_success
}

@test "kstack-latency: the table has a row per layer and the shares" {
	start_tracer -d "$DISK_A" -T
	direct_reads "$LOOP_A" 50
	stop_tracer
	run cat "$OUT"
	assert_line --regexp '^[0-9]{2}:[0-9]{2}:[0-9]{2} $'
	assert_line --regexp '^LAYER +COUNT +AVG\(us\) +P50\(us\) +P99\(us\) +MAX\(us\) +SHARE$'
	for layer in syscall block device completion; do
		assert_line --regexp "^$layer +50 .*%$"
	done
	assert_line --regexp '^total +50 .* 100\.0%$'
	assert_line --regexp '^unattributed +0 '
	assert_line --partial 'kernel share'
}

@test "kstack-latency: -H adds a log2 histogram per layer" {
	start_tracer -d "$DISK_A" -H
	direct_reads "$LOOP_A" 30
	stop_tracer
	run cat "$OUT"
	for layer in syscall block device completion total unattributed; do
		assert_line "$layer:"
	done
	assert_line --regexp '^ +usecs +: count +distribution$'
}

@test "kstack-latency: -d includes its disk and excludes others" {
	start_tracer -d "$DISK_B" -j
	direct_reads "$LOOP_A" 40
	direct_reads "$LOOP_B" 7
	stop_tracer
	run jq -r '"\(.ios) \(.unattributed)"' "$OUT"
	assert_output "7 0"
}

@test "kstack-latency: -p includes that process and excludes others" {
	start_reader "$LOOP_A" 30
	local a=$READER
	start_reader "$LOOP_A" 45
	local b=$READER
	start_tracer -p "$a" -d "$DISK_A" -j
	release_reader "$b"
	release_reader "$a"
	READER=
	stop_tracer
	run jq -r .ios "$OUT"
	assert_output 30
}

@test "kstack-latency: -c includes that command name and excludes others" {
	start_tracer -c dd -d "$DISK_A" -j
	direct_reads "$LOOP_A" 25
	stop_tracer
	run jq -r .ios "$OUT"
	assert_output 25

	start_tracer -c nosuchcomm -d "$DISK_A" -j
	direct_reads "$LOOP_A" 25
	stop_tracer
	run jq -r '"\(.ios) \(.unattributed)"' "$OUT"
	assert_output "0 0"
}

@test "kstack-latency: I/O not from a read syscall is counted as unattributed" {
	# -c dd: closing a device written to makes udev (where it runs) read
	# it again, and those reads are not this test's.
	start_tracer -c dd -d "$DISK_A" -j
	# O_DIRECT writes: block I/O no traced read asked for.
	dd if=/dev/zero of="$LOOP_A" bs=4k count=12 oflag=direct status=none
	direct_reads "$LOOP_A" 5
	stop_tracer
	run jq -r '"\(.ios) \(.unattributed)"' "$OUT"
	assert_output "5 12"
}

@test "kstack-latency: -i/-n print COUNT reports and exit by themselves" {
	run --separate-stderr timeout 10 kstack-latency -d "$DISK_A" -j -i 0.2 -n 3
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		jq -e '.ios >= 0 and (.layers | length) == 5' <<<"$l"
	done
}

@test "kstack-latency: SIGTERM ends it with one final report, nothing left attached" {
	start_tracer -c dd -d "$DISK_A" -j
	# Its own links and programs (other tracers may run meanwhile).
	local ids
	ids=$(grep -h -E '^(prog_id|link_id):' /proc/"$TRACER"/fdinfo/* |
		sort -u | tr -d '\t')
	[ -n "$ids" ]
	direct_reads "$LOOP_A" 10
	kill -TERM "$TRACER"
	wait "$TRACER"
	TRACER=
	run jq -r .ios "$OUT"
	assert_output 10
	local id
	for id in $ids; do
		case $id in
		link_id:*) run bpftool link show id "${id#link_id:}" ;;
		prog_id:*)
			# The kernel frees syscall-tracepoint programs after an
			# RCU grace period: allow it a moment.
			fp_wait_for bash -c "! bpftool prog show id ${id#prog_id:}"
			continue
			;;
		esac
		assert_failure
	done
}
