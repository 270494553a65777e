// SPDX-License-Identifier: GPL-2.0
/* What -d and -p name: a block device's dev_t, a thread's process. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kstack.h"

/*
 * DISK (a name under /sys/class/block, optionally with /dev/ in front) to
 * the kernel's internal dev_t encoding (major << 20 | minor).
 */
int resolve_disk(const char *name, __u32 *dev, bool *is_part)
{
	char path[PATH_MAX];
	unsigned int maj, min;
	FILE *f;
	int n;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	if (!*name || strchr(name, '/'))
		return fp_error("unknown disk '%s': want a block device name "
				"such as loop0 or sda (see lsblk)",
				name);
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	f = fopen(path, "r");
	if (!f)
		return fp_error("unknown disk '%s': no %s (see lsblk)", name,
				path);
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return fp_error("cannot read %s: unexpected contents", path);
	*dev = (maj << 20) | min;
	snprintf(path, sizeof(path), "/sys/class/block/%s/partition", name);
	*is_part = access(path, F_OK) == 0;
	return 0;
}

/* The process (thread group) PID belongs to; a thread ID maps to its
 * process, since the filter compares processes. */
int resolve_pid(pid_t pid, pid_t *tgid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return fp_error("no process with PID %d", pid);
	*tgid = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Tgid: %d", tgid) == 1)
			break;
	}
	fclose(f);
	if (*tgid <= 0)
		return fp_error("cannot read the process of PID %d from %s",
				pid, path);
	if (*tgid != pid)
		fp_debug("PID %d is a thread of process %d: filtering on %d",
			 pid, *tgid, *tgid);
	return 0;
}
