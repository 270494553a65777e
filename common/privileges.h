/* SPDX-License-Identifier: GPL-2.0 */
/* A privilege check whose message says exactly what is missing. */
#ifndef FASTPATH_PRIVILEGES_H
#define FASTPATH_PRIVILEGES_H

enum fp_cap {
	FP_CAP_BPF = 1 << 0,
	FP_CAP_PERFMON = 1 << 1,
	FP_CAP_NET_ADMIN = 1 << 2,
	FP_CAP_SYS_ADMIN = 1 << 3,
	FP_CAP_SYS_PTRACE = 1 << 4,
};

/*
 * Returns 0 when the effective set holds every capability in `need`
 * (a bitmask of enum fp_cap); otherwise prints
 * "tool: need root or CAP_BPF, CAP_PERFMON (missing: CAP_PERFMON)"
 * and returns 1.
 */
int fp_check_privileges(unsigned int need);

#endif
