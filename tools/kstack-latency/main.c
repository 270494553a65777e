// SPDX-License-Identifier: GPL-2.0
/*
 * kstack-latency: how the time of each read splits between the syscall and
 * file system, the block layer, the device and the completion path.
 *
 * This file holds the lifecycle (open, set the filters, load, attach,
 * report until the end); kstack.h says what the other files hold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kstack.h"

/* The filters of -p, -c and -d, and what is loaded, set before the load. */
static int configure(struct kstack_latency_bpf *skel,
		     const struct kstack_opts *opts,
		     const struct kernel_caps *kernel, pid_t tgid, __u32 dev,
		     bool is_part)
{
	int err;

	skel->rodata->filter_tgid = (__u32)tgid;
	if (opts->comm) {
		skel->rodata->filter_comm_on = true;
		strncpy((char *)skel->rodata->filter_comm, opts->comm,
			sizeof(skel->rodata->filter_comm) - 1);
	}
	skel->rodata->filter_dev = dev;
	skel->rodata->filter_dev_part = is_part;
	err = choose_syscall_probes(skel, opts->syscall_tp);
	if (err)
		return err;
	err = choose_issue_source(skel, kernel, opts->disk, is_part);
	if (err)
		return err;
	return size_maps(skel);
}

int main(int argc, char **argv)
{
	struct report_ctx ctx = {};
	struct kstack_latency_bpf *skel = NULL;
	struct kstack_opts opts = {};
	struct kernel_caps kernel = {};
	bool is_part = false;
	pid_t tgid = 0;
	__u32 dev = 0;
	int err;

	fp_init("kstack-latency");
	err = kstack_parse_args(argc, argv, &opts);
	if (err)
		return FP_EXIT_USAGE;

	if (opts.disk && resolve_disk(opts.disk, &dev, &is_part))
		return FP_EXIT_FAIL;
	if (opts.pid && resolve_pid(opts.pid, &tgid))
		return FP_EXIT_FAIL;
	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_PERFMON))
		return FP_EXIT_FAIL;
	if (probe_kernel(&kernel))
		return FP_EXIT_FAIL;
	fp_bump_memlock();

	skel = kstack_latency_bpf__open();
	if (!skel) {
		err = fp_error("cannot open the BPF object: %s",
			       fp_strerror(-errno));
		goto cleanup;
	}
	err = configure(skel, &opts, &kernel, tgid, dev, is_part);
	if (err)
		goto cleanup;

	err = kstack_latency_bpf__load(skel);
	if (err) {
		err = fp_error("cannot load the BPF programs: %s (run with -v "
			       "for the verifier log)",
			       fp_strerror(err));
		goto cleanup;
	}
	err = kstack_latency_bpf__attach(skel);
	if (err) {
		err = fp_error("cannot attach to the syscall and block "
			       "tracepoints: %s (a kernel with BTF and "
			       "tp_btf is required)",
			       fp_strerror(err));
		goto cleanup;
	}
	err = report_ctx_init(&ctx, skel, &opts);
	if (err)
		goto cleanup;

	fprintf(stderr,
		"Tracing read syscalls and block I/O%s%s%s... "
		"Hit Ctrl-C to end.\n",
		opts.disk ? " on " : "", opts.disk ? opts.disk : "",
		tgid ? " (one process)" : "");
	err = fp_report_loop(FP_LOOP_ONCE_AT_EXIT, report, &ctx);
	if (skel->bss->no_issue_time)
		fp_warn("%llu request(s) of traced reads carried no issue time "
			"(a queue without I/O statistics): their block time "
			"is counted as device time",
			(unsigned long long)skel->bss->no_issue_time);

cleanup:
	report_ctx_free(&ctx);
	kstack_latency_bpf__destroy(skel);
	return err ? FP_EXIT_FAIL : FP_EXIT_OK;
}
