#!/usr/bin/env bats
# The thread layer's prototype (bpf/syrup-thread.bpf.c, a sched_ext
# scheduler, through build/syrup-thread-run): placement, another cgroup left
# alone, the watchdog, detach. Kernels without sched_ext: a one-line refusal.

load ../helpers
bats_require_minimum_version 1.5.0

setup_file() {
	fp_mounts
	export RUNNER=${FP_BUILD:-$BATS_TEST_DIRNAME/../../build}/syrup-thread-run
	export CG=/sys/fs/cgroup/fp-thread-$$
	export OTHER=/sys/fs/cgroup/fp-other-$$
}

teardown_file() {
	rmdir "$CG" "$OTHER" 2>/dev/null || true
}

@test "syrup-thread: refuses in one line without sched_ext" {
	[ ! -d /sys/kernel/sched_ext ] || skip "this kernel has sched_ext"
	run "$RUNNER" rr 0 /sys/fs/cgroup 1
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ needs\ Linux\ 6\.13\ or\ newer\ with\ sched_ext ]]
}

@test "syrup-thread: rr puts the cgroup's threads on CPU 1, not the other's" {
	[ -d /sys/kernel/sched_ext ] || skip "no sched_ext on this kernel"
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	mkdir -p "$CG" "$OTHER"
	"$RUNNER" rr 1 "$CG" 5 >"$BATS_FILE_TMPDIR/run.out" &
	local loader=$!
	sleep 1
	(echo "$BASHPID" >"$OTHER/cgroup.procs" && exec taskset -c 0 timeout 3 sh -c 'while :; do :; done') &
	local hog=$!
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$RUNNER" work 3 2000) >"$BATS_FILE_TMPDIR/work.out"
	local pol
	pol=$(ps -o policy= -p "$hog" | tr -d ' ')
	wait "$loader"
	wait "$hog" || true
	cat "$BATS_FILE_TMPDIR/run.out" "$BATS_FILE_TMPDIR/work.out"
	[ "$pol" = TS ]
	[ "$(grep -c 'thread cpu 1' "$BATS_FILE_TMPDIR/work.out")" -eq 3 ]
	grep -Eq '^exec 0 cpu 1 enqueued [1-9][0-9]* ran [1-9]' "$BATS_FILE_TMPDIR/run.out"
	grep -q '^after detach disabled' "$BATS_FILE_TMPDIR/run.out"
	[ "$(cat /sys/kernel/sched_ext/state)" = disabled ]
}

@test "syrup-thread: the watchdog unloads a policy that stalls its threads" {
	[ -d /sys/kernel/sched_ext ] || skip "no sched_ext on this kernel"
	mkdir -p "$CG"
	"$RUNNER" stall 1 "$CG" 8 >"$BATS_FILE_TMPDIR/stall.out" &
	local loader=$!
	sleep 1
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$RUNNER" work 1 1000) >"$BATS_FILE_TMPDIR/w.out"
	wait "$loader"
	cat "$BATS_FILE_TMPDIR/stall.out"
	# the stalled thread ran anyway, on the fair class, after the unload
	grep -q 'thread cpu' "$BATS_FILE_TMPDIR/w.out"
	grep -q '^state disabled' "$BATS_FILE_TMPDIR/stall.out"
	dmesg | grep -q 'syrup_thread" disabled (runnable task stall)'
}
