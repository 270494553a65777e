/* SPDX-License-Identifier: GPL-2.0 */
/* Preparing the machine: rlimits and the filesystems BPF tools need. */
#ifndef FASTPATH_SETUP_H
#define FASTPATH_SETUP_H

#include <stddef.h>
#include <stdio.h>

/* Where cgroup v2 is mounted when no one has (Debian's hybrid layout). */
#define FP_CGROUP2_FALLBACK "/sys/fs/cgroup/unified"

/* RLIMIT_MEMLOCK to infinity (needed on kernels before memcg accounting). */
int fp_bump_memlock(void);
/* Mount bpffs at /sys/fs/bpf if it is not there. 0 or -errno. */
int fp_mount_bpffs(void);
/* Mount tracefs at /sys/kernel/tracing if it is not there. 0 or -errno. */
int fp_mount_tracefs(void);
/*
 * The mount point of the cgroup v2 hierarchy's root, read from a
 * /proc/PID/mountinfo stream: 0 with it in buf, -ENOENT when none is
 * mounted (or the name does not fit).
 */
int fp_cgroup2_find(FILE *mountinfo, char *buf, size_t len);
/*
 * An open fd of the root cgroup v2 (for BPF_CGROUP_* attachment), mounted
 * at FP_CGROUP2_FALLBACK if it is mounted nowhere. The fd, or -errno.
 */
int fp_cgroup2_open(void);

#endif
