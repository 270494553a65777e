#!/usr/bin/env bats
# kstack-latency on loop devices with direct I/O: known numbers of O_DIRECT
# reads must be counted exactly, split into layers that add up, and the
# -p / -c / -d filters must include and exclude what they say.
#
# The core tests run twice: on the path this kernel gets, and with
# FP_KSTACK_FORCE_LEGACY=1 on the path of kernels before 6.9 (issue times
# from the requests themselves, no block_rq_issue program), so that a 6.18
# machine tests what 6.1 runs too.

load helpers
bats_require_minimum_version 1.5.0

# loop_create FILE SIZE_MB: fp_loop_create, or without direct I/O where
# the file system of FILE has no O_DIRECT (tmpfs before 6.6, as in the
# qemu guests): the loop device still turns O_DIRECT reads into requests.
loop_create() {
	fp_loop_create "$1" "$2" 2>/dev/null || losetup --find --show "$1"
}

setup_file() {
	LOOP_A=$(loop_create "$BATS_FILE_TMPDIR/a.img" 16)
	LOOP_B=$(loop_create "$BATS_FILE_TMPDIR/b.img" 16)
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

# legacy: the rest of the test runs on the pre-6.9 path.
legacy() {
	export FP_KSTACK_FORCE_LEGACY=1
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
	if [ -n "${MNT:-}" ]; then
		umount "$MNT" 2>/dev/null
		fp_loop_destroy "${LOOP_FS:-}"
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
	# a machine busy with other jobs and under qemu's emulation: allow 60.
	for _ in $(seq 600); do
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

# The core checks, each run by two tests below: on this kernel's path and
# on the pre-6.9 one.

check_counts() {
	start_tracer -d "$DISK_A" -j
	direct_reads "$LOOP_A" 200
	stop_tracer
	run jq -r '[.ios, .layers.syscall.count, .layers.block.count,
		.layers.device.count, .layers.completion.count,
		.layers.total.count] | map(tostring) | join(" ")' "$OUT"
	assert_success
	assert_output "200 200 200 200 200 200"
}

check_syscalls() {
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

check_layers() {
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

check_disk_filter() {
	start_tracer -d "$DISK_B" -j
	direct_reads "$LOOP_A" 40
	direct_reads "$LOOP_B" 7
	stop_tracer
	run jq -r '"\(.ios) \(.unattributed)"' "$OUT"
	assert_output "7 0"
}

check_pid_filter() {
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

check_comm_filter() {
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

check_unattributed() {
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

check_large_reads() {
	start_tracer -d "$DISK_A" -j
	# 4 MiB each: several bios, each split into requests of at most
	# max_sectors_kb (1280 KiB for a loop device).
	dd if="$LOOP_A" of=/dev/null bs=4M count=4 iflag=direct status=none
	stop_tracer
	run jq -r '[.ios, .layers.block.count, .layers.device.count,
		.layers.total.count, .unattributed] | map(tostring) | join(" ")' "$OUT"
	assert_output "4 4 4 4 0"
}

# O_DIRECT reads of a file go through iomap, which submits from a plug:
# the requests are issued when the plug is flushed.
check_file_reads() {
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"
	LOOP_FS=$(loop_create "$BATS_TEST_TMPDIR/fs.img" 32)
	mkfs.ext4 -q -F "$LOOP_FS"
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	mount "$LOOP_FS" "$MNT"
	dd if=/dev/urandom of="$MNT/f" bs=4k count=64 oflag=direct status=none
	start_tracer -d "${LOOP_FS#/dev/}" -c dd -j
	dd if="$MNT/f" of=/dev/null bs=4k count=40 iflag=direct status=none
	stop_tracer
	run jq -r '[.ios, .layers.block.count, .layers.device.count,
		.layers.completion.count] | map(tostring) | join(" ")' "$OUT"
	assert_output "40 40 40 40"
}

# Buffered reads that miss the page cache: readahead bios, some of which
# the read does not wait for. Which reads do I/O depends on the readahead
# window, so only the bounds and the sums are checked.
check_buffered_reads() {
	blockdev --flushbufs "$LOOP_A"
	start_tracer -d "$DISK_A" -c dd -j
	dd if="$LOOP_A" of=/dev/null bs=4k count=256 status=none
	stop_tracer
	run jq -e '.ios >= 1 and .ios <= 256
		and ([.layers[] | .count] | unique | length) == 1
		and (.layers as $l | ($l.syscall.avg_us + $l.block.avg_us
		     + $l.device.avg_us + $l.completion.avg_us
		     - $l.total.avg_us) | fabs) < 0.01' "$OUT"
	assert_success
}

# prog_names PID: the names of the BPF programs process PID holds.
prog_names() {
	local id
	for id in $(grep -h '^prog_id:' /proc/"$1"/fdinfo/* | cut -f2 | sort -u); do
		bpftool prog show id "$id" -j | jq -r .name
	done | sort
}

# check_path SOURCE: -v names SOURCE as where issue times come from, and
# only the programs that path needs are attached.
check_path() {
	start_tracer -v -d "$DISK_A" -j
	run grep -c "issue times from $1" "$ERR"
	assert_output 1
	run prog_names "$TRACER"
	assert_line kstack_bio_queue
	assert_line kstack_rq_complete
	assert_line kstack_sys_enter
	assert_line kstack_sys_exit
	refute_line kstack_io_start
	if [ "$1" = block_rq_issue ]; then
		assert_line kstack_rq_issue
	else
		refute_line kstack_rq_issue
	fi
	direct_reads "$LOOP_A" 20
	stop_tracer
	run jq -r .ios "$OUT"
	assert_output 20
}

@test "kstack-latency: the issue-time source fits the kernel, and only its programs run" {
	# Since 6.9 request times come from the plug's cache (struct
	# blk_plug has cur_ktime): issue times need block_rq_issue there.
	if bpftool btf dump file /sys/kernel/btf/vmlinux format raw |
		grep -q "'cur_ktime' type_id"; then
		check_path block_rq_issue
	else
		check_path "rq->io_start_time_ns"
	fi
}

@test "kstack-latency, pre-6.9 path: issue times come from the requests" {
	legacy
	check_path "rq->io_start_time_ns"
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

@test "kstack-latency: -H with -j gives each layer its histogram rows, summing to its count" {
	start_tracer -d "$DISK_A" -j -H
	direct_reads "$LOOP_A" 25
	stop_tracer
	run jq -e '
		([.layers[] | (.hist_us | map(.count) | add) == .count] | all) and
		([.layers[].hist_us[] | .low_us <= .high_us] | all) and
		(.unattributed_hist_us | type) == "array"' "$OUT"
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

@test "kstack-latency: --prometheus gives each layer as a histogram that promtool accepts" {
	start_tracer -d "$DISK_A" --prometheus
	direct_reads "$LOOP_A" 40
	stop_tracer
	"$FP_ROOT/tests/promtool" check metrics <"$OUT"
	run grep -c '^# TYPE kstack_read_latency_seconds histogram$' "$OUT"
	assert_output 1
	local layer
	for layer in syscall block device completion total; do
		assert_equal "$(grep "^kstack_read_latency_seconds_count{layer=\"$layer\",disk=\"$DISK_A\"} " "$OUT" | cut -d' ' -f2)" 40
		assert_equal "$(grep "^kstack_read_latency_seconds_bucket{layer=\"$layer\",disk=\"$DISK_A\",le=\"+Inf\"} " "$OUT" | cut -d' ' -f2)" 40
		# cumulative: never decreasing towards +Inf
		grep "^kstack_read_latency_seconds_bucket{layer=\"$layer\"," "$OUT" |
			awk '$2 < last { exit 1 } { last = $2 }'
	done
	grep -q "^kstack_unattributed_io_seconds_count{disk=\"$DISK_A\"} 0$" "$OUT"
	grep -q "^kstack_incomplete_reads_total{disk=\"$DISK_A\"} 0$" "$OUT"
}

@test "kstack-latency: --prometheus with -i counts since the start, and refuses -j, -H, -T" {
	run --separate-stderr timeout 20 kstack-latency -d "$DISK_A" --prometheus -i 0.3 -n 2
	assert_success
	[ "$(grep -c '^# TYPE kstack_read_latency_seconds histogram$' <<<"$output")" -eq 2 ]
	local opt
	for opt in -j -H -T; do
		run --separate-stderr kstack-latency --prometheus "$opt"
		[ "$status" -eq 64 ]
		# shellcheck disable=SC2154 # stderr: from run --separate-stderr
		[[ "$stderr" == *"--prometheus and $opt do not mix"* ]]
	done
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

@test "kstack-latency: counts exactly the O_DIRECT reads made, every layer" {
	check_counts
}

@test "kstack-latency, pre-6.9 path: counts exactly the O_DIRECT reads made, every layer" {
	legacy
	check_counts
}

@test "kstack-latency: read, pread64, readv, preadv and preadv2 all count" {
	check_syscalls
}

@test "kstack-latency, pre-6.9 path: read, pread64, readv, preadv and preadv2 all count" {
	legacy
	check_syscalls
}

@test "kstack-latency: layers are non-negative and add up to the total" {
	check_layers
}

@test "kstack-latency, pre-6.9 path: layers are non-negative and add up to the total" {
	legacy
	check_layers
}

@test "kstack-latency: -d includes its disk and excludes others" {
	check_disk_filter
}

@test "kstack-latency, pre-6.9 path: -d includes its disk and excludes others" {
	legacy
	check_disk_filter
}

@test "kstack-latency: -p includes that process and excludes others" {
	check_pid_filter
}

@test "kstack-latency, pre-6.9 path: -p includes that process and excludes others" {
	legacy
	check_pid_filter
}

@test "kstack-latency: -c includes that command name and excludes others" {
	check_comm_filter
}

@test "kstack-latency, pre-6.9 path: -c includes that command name and excludes others" {
	legacy
	check_comm_filter
}

@test "kstack-latency: I/O not from a read syscall is counted as unattributed" {
	check_unattributed
}

@test "kstack-latency, pre-6.9 path: I/O not from a read syscall is counted as unattributed" {
	legacy
	check_unattributed
}

@test "kstack-latency: reads larger than a request count once, every layer" {
	check_large_reads
}

@test "kstack-latency, pre-6.9 path: reads larger than a request count once, every layer" {
	legacy
	check_large_reads
}

@test "kstack-latency: O_DIRECT reads of a file (issued from a plug) count exactly" {
	check_file_reads
}

@test "kstack-latency, pre-6.9 path: O_DIRECT reads of a file (issued from a plug) count exactly" {
	legacy
	check_file_reads
}

@test "kstack-latency: buffered reads with readahead are timed, layers add up" {
	check_buffered_reads
}

@test "kstack-latency, pre-6.9 path: buffered reads with readahead are timed, layers add up" {
	legacy
	check_buffered_reads
}
