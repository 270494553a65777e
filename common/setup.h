/* SPDX-License-Identifier: GPL-2.0 */
/* Preparing the machine: rlimits and the filesystems BPF tools need. */
#ifndef FASTPATH_SETUP_H
#define FASTPATH_SETUP_H

/* RLIMIT_MEMLOCK to infinity (needed on kernels before memcg accounting). */
int fp_bump_memlock(void);
/* Mount bpffs at /sys/fs/bpf if it is not there. 0 or -errno. */
int fp_mount_bpffs(void);
/* Mount tracefs at /sys/kernel/tracing if it is not there. 0 or -errno. */
int fp_mount_tracefs(void);

#endif
