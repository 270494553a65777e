// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "log.h"
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

int fp_cgroup2_find(FILE *mountinfo, char *buf, size_t len)
{
	char line[4096];

	while (fgets(line, sizeof(line), mountinfo)) {
		char *sep = strstr(line, " - ");
		char m[1024], root[1024];
		int n;

		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		/* id parent maj:min root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, m) != 2 ||
		    strcmp(root, "/"))
			continue;
		n = snprintf(buf, len, "%s", m);
		return n < 0 || (size_t)n >= len ? -ENOENT : 0;
	}
	return -ENOENT;
}

int fp_cgroup2_open(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char mnt[1024];
	int fd, err = -ENOENT;

	if (f) {
		err = fp_cgroup2_find(f, mnt, sizeof(mnt));
		fclose(f);
	}
	if (err) {
		mkdir(FP_CGROUP2_FALLBACK, 0755);
		if (mount("cgroup2", FP_CGROUP2_FALLBACK, "cgroup2", 0, NULL))
			return -errno;
		fp_debug("mounted cgroup2 at %s", FP_CGROUP2_FALLBACK);
		snprintf(mnt, sizeof(mnt), "%s", FP_CGROUP2_FALLBACK);
	}
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fp_debug("cgroup v2 root: %s", mnt);
	return fd;
}
