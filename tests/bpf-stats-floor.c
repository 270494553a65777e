// SPDX-License-Identifier: GPL-2.0
/*
 * bpf-stats-floor: what kernel.bpf_stats_enabled charges a program that
 * does nothing. The kernel times each run with two clock reads and counts
 * the time between them, so an empty program shows a run time of its own;
 * bench/kstack-latency subtracts it per run to report what the tracer's
 * programs themselves cost (statistics are off in normal use).
 *
 *   bpf-stats-floor TRACEPOINT...   # e.g. sys_enter block_rq_complete
 *
 * Attaches an empty BTF-typed (tp_btf) program to each, prints
 * "TRACEPOINT PROG_ID" per line, then "ready", and holds them until stdin
 * closes or a signal arrives.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static int attach_empty(struct btf *vmlinux, const char *tp, __u32 *id)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_TRACE_RAW_TP);
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	char name[128];
	int type_id, prog, link;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	type_id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF);
	if (type_id < 0)
		return -ENOENT;
	opts.attach_btf_id = (__u32)type_id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "stats_floor", "GPL", insns,
			     2, &opts);
	if (prog < 0)
		return -errno;
	link = bpf_raw_tracepoint_open(NULL, prog);
	if (link < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(prog, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

int main(int argc, char **argv)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	char buf[64];

	if (!vmlinux) {
		fprintf(stderr, "bpf-stats-floor: no kernel BTF\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		__u32 id = 0;
		int err = attach_empty(vmlinux, argv[i], &id);

		if (err) {
			fprintf(stderr, "bpf-stats-floor: %s: %s\n", argv[i],
				strerror(-err));
			return 1;
		}
		printf("%s %u\n", argv[i], id);
	}
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}
