// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "require.h"

int fp_require(const char *what, const struct fp_requirement *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].present())
			continue;
		return fp_error("%s%sneeds Linux %s or newer (%s)",
				what ? what : "", what ? " " : "",
				reqs[i].since, reqs[i].feature);
	}
	return 0;
}

const struct fp_requirement *fp_require_probe(const struct fp_requirement *reqs,
					      size_t n, FILE *report)
{
	const struct fp_requirement *miss = NULL;

	for (size_t i = 0; i < n; i++) {
		bool ok = reqs[i].present();

		if (report) {
			char what[160];

			snprintf(what, sizeof(what), "%s (%s)", reqs[i].feature,
				 reqs[i].since);
			fp_probe_print(report, what, ok);
		}
		if (!ok && !miss)
			miss = &reqs[i];
	}
	return miss;
}

bool fp_probe_atomic_fetch(void)
{
	/* *(u64 *)(fp - 8) = 0; r1 = 1; r1 = atomic_fetch_add(fp - 8, r1) */
	const struct bpf_insn insns[] = {
		{.code = BPF_ST | BPF_MEM | BPF_DW,
		 .dst_reg = BPF_REG_10,
		 .off = -8,
		 .imm = 0},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K,
		 .dst_reg = BPF_REG_1,
		 .imm = 1},
		{.code = BPF_STX | BPF_ATOMIC | BPF_DW,
		 .dst_reg = BPF_REG_10,
		 .src_reg = BPF_REG_1,
		 .off = -8,
		 .imm = BPF_ADD | BPF_FETCH},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K,
		 .dst_reg = BPF_REG_0,
		 .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
