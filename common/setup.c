// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "setup.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

int fp_bump_memlock(void)
{
	struct rlimit rlim = {RLIM_INFINITY, RLIM_INFINITY};

	return setrlimit(RLIMIT_MEMLOCK, &rlim) ? -errno : 0;
}

static int mount_if_missing(const char *dir, const char *type, long magic)
{
	struct statfs st;

	if (statfs(dir, &st) == 0 && st.f_type == magic)
		return 0;
	mkdir(dir, 0700);
	if (mount(type, dir, type, 0, "mode=0700"))
		return -errno;
	return 0;
}

int fp_mount_bpffs(void)
{
	return mount_if_missing("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
}

int fp_mount_tracefs(void)
{
	return mount_if_missing("/sys/kernel/tracing", "tracefs",
				TRACEFS_MAGIC);
}
