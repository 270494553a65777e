#!/usr/bin/env bats
# The one-line refusals of the features only some kernels of the matrix
# have (tests/vm/support.tsv says which): where a kernel has them, their own
# suites (syrup-thread.bats, xrp-kernel.bats) run instead, and these checks
# skip. Kept apart so that tests/vm/suites can leave those suites out:
# under emulation every test costs seconds, skipped or not.

load ../helpers
load support
bats_require_minimum_version 1.5.0

setup_file() {
	fp_mounts
	export SERIES
	SERIES=$(uname -r | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
}

@test "syrup-thread: attach --layer thread refuses in one line where tests/vm/support.tsv says so" {
	[ "$(expect 'syrup-steer --layer thread')" != works ] || skip "this kernel has sched_ext"
	refuses 'syrup-steer --layer thread' syrup-steer attach --layer thread --cgroup /sys/fs/cgroup --policy rr
}

@test "the kernel engine is there with io_uring BPF ops, and refuses in one line elsewhere" {
	if has_uring_bpf_ops; then
		run xrp-lookup get -v --engine auto /dev/null 1
		assert_output --regexp "io_uring_bpf_ops in kernel BTF \.+ yes"
		assert_output --partial "xrp-lookup: engine auto: using kernel (io_uring BPF ops"
		return
	fi
	refuses "xrp-lookup --engine kernel" xrp-lookup get --engine kernel /dev/null 1
	[ "$output" = "xrp-lookup: engine kernel: needs Linux 7.1 or newer with CONFIG_IO_URING_BPF_OPS (this kernel, $(uname -r), has no io_uring_bpf_ops in its BTF); use --engine uring or --engine auto" ]
}
