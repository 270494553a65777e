// SPDX-License-Identifier: GPL-2.0
/*
 * Where cgroup v2 is mounted, read from mountinfo lines as the kernel
 * writes them: the root of the hierarchy, not a bind mount of a subtree,
 * and not the v1 controllers beside it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "setup.h"
#include "unit.h"

static int find(const char *text, char *buf, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	if (!f)
		return -errno;
	r = fp_cgroup2_find(f, buf, len);
	fclose(f);
	return r;
}

int main(void)
{
	char mnt[64];
	int r;

	r = find("22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
		 "30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		 mnt, sizeof(mnt));
	UNIT_CHECK(r == 0 && !strcmp(mnt, "/sys/fs/cgroup"),
		   "cgroup2: the unified layout's /sys/fs/cgroup");
	r = find("31 25 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
		 "33 25 0:28 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 "
		 "cgroup2 rw,nsdelegate\n",
		 mnt, sizeof(mnt));
	UNIT_CHECK(r == 0 && !strcmp(mnt, "/sys/fs/cgroup/unified"),
		   "cgroup2: the hybrid layout's unified/, optional fields "
		   "skipped, v1 ignored");
	r = find("40 30 0:26 /system.slice /run/x rw - cgroup2 cgroup2 rw\n"
		 "41 30 0:26 / /mnt/cg rw - cgroup2 cgroup2 rw\n",
		 mnt, sizeof(mnt));
	UNIT_CHECK(r == 0 && !strcmp(mnt, "/mnt/cg"),
		   "cgroup2: a bind mount of a subtree is not the root");
	r = find("22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n", mnt,
		 sizeof(mnt));
	UNIT_CHECK(r == -ENOENT, "cgroup2: none mounted is -ENOENT");
	r = find("30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", mnt,
		 8);
	UNIT_CHECK(r == -ENOENT, "cgroup2: a mount point too long for the "
				 "buffer is not cut short");
	return unit_done();
}
