#!/usr/bin/env bats
# syrup-steer's thread layer (attach --layer thread: the sched_ext scheduler
# of bpf/syrup-thread.bpf.c, pinned under /sys/fs/bpf/syrup/thread/) on a
# kernel with sched_ext (7.2 in the matrix): placement, another cgroup left
# alone, hints, the watchdog, detach. tests/vm/suites runs this file only
# where the kernel has sched_ext; refusals.bats checks the refusal elsewhere.
# The workload is build/syrup-thread-run.

load ../helpers
load support
bats_require_minimum_version 1.5.0

setup_file() {
	fp_mounts
	export CG=/sys/fs/cgroup/fp-thread-$$
	export OTHER=/sys/fs/cgroup/fp-other-$$
	export T=$BATS_FILE_TMPDIR
	export SERIES
	SERIES=$(uname -r | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
}

teardown() {
	syrup-steer detach --layer thread >/dev/null 2>&1 || true
}

teardown_file() {
	rmdir "$CG" "$OTHER" 2>/dev/null || true
}

need_scx() {
	[ -d /sys/kernel/sched_ext ] || skip "no sched_ext on this kernel"
	[ "$(cat /sys/kernel/sched_ext/state)" = disabled ] ||
		skip "another sched_ext scheduler is loaded"
}

# A workload in $CG, waiting to be switched; its pid in $WORK.
start_work() {
	mkdir -p "$CG"
	(echo "$BASHPID" >"$CG/cgroup.procs" && exec syrup-thread-run "$@") >"$T/work.out" 2>&1 &
	WORK=$!
}

@test "syrup-thread: rr puts the cgroup's threads on CPU 1, not the other's; detach restores" {
	need_scx
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	local hog pol
	start_work work 3 2000
	mkdir -p "$OTHER"
	(echo "$BASHPID" >"$OTHER/cgroup.procs" && exec taskset -c 0 timeout 6 sh -c 'while :; do :; done') &
	hog=$!
	run syrup-steer attach --layer thread --cgroup "$CG" --policy rr --cpus 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "thread: policy rr, thread layer on cgroup $CG, 1 executor" ]]
	[ "$(cat /sys/kernel/sched_ext/state)" = enabled ]
	[ "$(cat /sys/kernel/sched_ext/root/ops)" = syrup_thread ]
	[ -e /sys/fs/bpf/syrup/thread/link ]
	pol=$(ps -o policy= -p "$hog" | tr -d ' ')
	wait "$WORK"
	cat "$T/work.out"
	[ "$pol" = TS ]
	[ "$(grep -c 'thread long cpu 1' "$T/work.out")" -eq 3 ]
	run syrup-steer status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"sched_ext: enabled"* ]]
	grep -Eq '^ +0 +1 +[1-9][0-9]* +[1-9][0-9]*$' <<<"$output"
	# the other cgroup's busy loop never met the policy
	[[ "$output" == *", 0 outside the cgroup"* ]]
	run syrup-steer status -j
	[ "$(jq -r 'select(.layer == "thread") | [.policy, .running, .executors[0].cpu] | map(tostring) | join(" ")' <<<"$output")" = "rr true 1" ]
	wait "$hog" || true
	run syrup-steer detach --layer thread
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "thread: policy rr detached from $CG;"*"(sched_ext disabled)" ]]
	[ "$(cat /sys/kernel/sched_ext/state)" = disabled ]
	[ ! -e /sys/fs/bpf/syrup/thread ]
	run syrup-steer detach --layer thread
	[ "$status" -eq 1 ]
	[[ "$output" == *"the thread layer is not attached"* ]]
}

@test "syrup-thread: a second attach is refused while one runs" {
	need_scx
	mkdir -p "$CG"
	syrup-steer attach --layer thread --cgroup "$CG" --policy rr --cpus 0 >/dev/null
	run syrup-steer attach --layer thread --cgroup "$CG" --policy rr
	[ "$status" -eq 1 ]
	[[ "$output" == *"already attached"* ]]
}

@test "syrup-thread: sita, --pid: the thread hinted short runs on the reserved CPU" {
	need_scx
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	start_work hint 3 2000
	run syrup-steer attach --layer thread -p "$WORK" --policy sita --cpus 0,1 --param reserved=1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"on cgroup $CG, 2 executors (1 reserved for short requests)"* ]]
	wait "$WORK"
	cat "$T/work.out"
	grep -qx 'thread short cpu 0' "$T/work.out"
	[ "$(grep -c 'thread long cpu 1' "$T/work.out")" -eq 2 ]
	# syrup-steer set writes the same pinned map
	run syrup-steer set --layer thread hint.12345=short
	[ "$status" -eq 0 ]
	bpftool map lookup pinned /sys/fs/bpf/syrup/thread/hints key 0x39 0x30 0 0
	run syrup-steer set --layer thread hint.12345=none
	[ "$status" -eq 0 ]
	run bpftool map lookup pinned /sys/fs/bpf/syrup/thread/hints key 0x39 0x30 0 0
	[ "$status" -ne 0 ]
	run syrup-steer set --layer thread hint.12345=fast
	[ "$status" -eq 1 ]
	[[ "$output" == *"want short, long or none"* ]]
}

@test "syrup-thread: a user policy in C against syrup-sched.h (examples/syrup/threads.c) places the threads" {
	need_scx
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	start_work hint 3 2000
	run syrup-steer attach --layer thread --cgroup "$CG" --cpus 0,1 --policy "$FP_ROOT/examples/syrup/threads.c"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "thread: policy threads.c, thread layer on cgroup $CG, 2 executors" ]]
	wait "$WORK"
	cat "$T/work.out"
	grep -qx 'thread short cpu 0' "$T/work.out"
	[ "$(grep -c 'thread long cpu 1' "$T/work.out")" -eq 2 ]
	run syrup-steer status -j
	[ "$(jq -r 'select(.layer == "thread") | [.policy, .builtin, .running] | map(tostring) | join(" ")' <<<"$output")" = "threads.c false true" ]
}

@test "syrup-thread: the watchdog unloads a policy that stalls its threads; status says so" {
	need_scx
	start_work work 1 1000
	run syrup-steer attach --layer thread --cgroup "$CG" --policy stall --cpus 0
	[ "$status" -eq 0 ]
	# the stalled threads run anyway, on the fair class, after the unload
	wait "$WORK"
	cat "$T/work.out"
	grep -q 'thread long cpu' "$T/work.out"
	[ "$(cat /sys/kernel/sched_ext/state)" = disabled ]
	run syrup-steer status
	echo "$output"
	[[ "$output" == *"sched_ext: unloaded by the kernel (runnable task stall)"* ]]
	run syrup-steer status -j
	[ "$(jq -r 'select(.layer == "thread") | .running' <<<"$output")" = false ]
	# fastpath-status sees it stale, and --detach-all removes it
	run fastpath-status -j
	echo "$output"
	[ "$(jq -r 'select(.layer == "thread") | [.kind, .state, .policy] | join(" ")' <<<"$output")" = "syrup stale stall" ]
	run fastpath-status --detach-all
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"syrup-steer detach --layer thread"* ]]
	[ ! -e /sys/fs/bpf/syrup/thread ]
}

@test "syrup-thread: fastpath-status lists the running thread layer" {
	need_scx
	mkdir -p "$CG"
	syrup-steer attach --layer thread --cgroup "$CG" --policy rr --cpus 0 >/dev/null
	run fastpath-status
	echo "$output"
	[ "$status" -eq 0 ]
	grep -Eq '^syrup +thread .*attached' <<<"$output"
	[[ "$output" == *"policy rr on cgroup $CG"* ]]
}
