/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel requirements, checked before loading: a kernel that lacks one gets
 * one line naming the feature and the first Linux version that has it, not
 * the verifier's or libbpf's errno.
 */
#ifndef FASTPATH_REQUIRE_H
#define FASTPATH_REQUIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct fp_requirement {
	const char *feature; /* "bpf_loop", "BPF atomic fetch-and-add" */
	const char *since;   /* first mainline version: "5.17" */
	bool (*present)(void);
};

/*
 * Checks each requirement in order. The first missing one is reported as
 * "TOOL: WHAT needs Linux SINCE or newer (FEATURE)" and 1 is returned;
 * 0 when all are present. WHAT names the thing that needs it ("BMC"), or
 * is NULL for the tool itself ("TOOL: needs Linux ...").
 */
int fp_require(const char *what, const struct fp_requirement *reqs, size_t n);
/*
 * For tools that word the refusal themselves: probes every requirement,
 * printing each as "  FEATURE (SINCE) ...... yes/no" on `report` when it
 * is not NULL (for -v), and returns the first missing one, or NULL.
 */
const struct fp_requirement *fp_require_probe(const struct fp_requirement *reqs,
					      size_t n, FILE *report);

/* BPF_ATOMIC with BPF_FETCH (fetch-and-add whose result is used): 5.12. */
bool fp_probe_atomic_fetch(void);

#endif
