// SPDX-License-Identifier: GPL-2.0
/*
 * What the thread layer reads and changes on the host: sched_ext's sysfs
 * (is there one, what runs, why it last unloaded) and cgroup v2 (which
 * cgroup a --cgroup or --pid names, and moving its tasks to SCHED_EXT and
 * back).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "steer.h"
#include "syrup-thread.h"
#include "thread-host.h"

#ifndef SCHED_EXT
#define SCHED_EXT 7
#endif

/* ---- sched_ext's sysfs ---------------------------------------------- */

void scx_read(struct scx_sysfs *s)
{
	char seq[32];

	fp_read_line(SCX_SYSFS "/state", s->state, sizeof(s->state));
	fp_read_line(SCX_SYSFS "/root/ops", s->ops, sizeof(s->ops));
	fp_read_line(SCX_SYSFS "/enable_seq", seq, sizeof(seq));
	s->enable_seq = strtoull(seq, NULL, 10);
}

int need_sched_ext(void)
{
	struct utsname u;

	if (!access(SCX_SYSFS "/state", R_OK))
		return 0;
	uname(&u);
	return fp_error("the thread layer needs sched_ext: Linux 6.13 or newer "
			"built with CONFIG_SCHED_CLASS_EXT (this kernel, %s, "
			"has none)",
			u.release);
}

/*
 * Why sched_ext last disabled our scheduler, from the kernel log:
 * 'sched_ext: BPF scheduler "syrup_thread" disabled (REASON)'.
 */
void unload_reason(char *buf, size_t len)
{
	static const char key[] =
		"BPF scheduler \"" SYRUP_THREAD_OPS_NAME "\" disabled (";
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *log, *at, *hit = NULL, *end;
	int n;

	snprintf(buf, len, "see dmesg");
	if (size <= 0)
		return;
	log = malloc((size_t)size + 1);
	if (!log)
		return;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, size);
	if (n > 0) {
		log[n] = '\0';
		for (at = strstr(log, key); at; at = strstr(at + 1, key))
			hit = at + strlen(key);
		end = hit ? strchr(hit, ')') : NULL;
		if (end)
			snprintf(buf, len, "%.*s", (int)(end - hit), hit);
	}
	free(log);
}

/* ---- the cgroup ------------------------------------------------------ */

static int cgroup2_root(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int err;

	if (!f)
		return fp_error("cannot read /proc/self/mountinfo: %s",
				strerror(errno));
	err = fp_cgroup2_find(f, buf, len);
	fclose(f);
	if (err)
		return fp_error("cgroup v2 is not mounted (mount -t cgroup2 "
				"none /sys/fs/cgroup)");
	return 0;
}

/* PID's cgroup, relative to the v2 root: the "0::/PATH" line. */
static int pid_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return fp_error("no process %d", (int)pid);
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + 3);
		found = 1;
	}
	fclose(f);
	if (!found)
		return fp_error("process %d is in no cgroup v2", (int)pid);
	return 0;
}

/* The cgroup's 64-bit id, the one the kernel's BPF helpers report. */
static int cgroup_id(const char *dir, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = {.fh.handle_bytes = sizeof(__u64)};
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, dir, &h.fh, &mount_id, 0))
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/*
 * --cgroup PATH (a directory of the v2 hierarchy, or a path below its
 * root as /proc/PID/cgroup writes it) or --pid PID: the dir, id, level.
 */
int cgroup_resolve(const char *arg, pid_t pid, struct cgroup_sel *cg)
{
	char root[256], rel[512], cand[800], real[PATH_MAX];
	size_t rlen;
	struct stat st;
	const char *p;
	int err;

	if (cgroup2_root(root, sizeof(root)))
		return 1;
	if (pid) {
		if (pid_cgroup(pid, rel, sizeof(rel)))
			return 1;
		snprintf(cand, sizeof(cand), "%s%s", root, rel);
	} else if (arg[0] == '/' && !strncmp(arg, root, strlen(root))) {
		snprintf(cand, sizeof(cand), "%s", arg);
	} else {
		snprintf(cand, sizeof(cand), "%s/%s", root,
			 arg[0] == '/' ? arg + 1 : arg);
	}
	if (!realpath(cand, real) || stat(real, &st) || !S_ISDIR(st.st_mode))
		return fp_error("no cgroup %s (under the cgroup v2 root %s)",
				pid ? cand : arg, root);
	rlen = strlen(root);
	if (strncmp(real, root, rlen) || (real[rlen] && real[rlen] != '/'))
		return fp_error("%s is not in the cgroup v2 hierarchy (%s)",
				real, root);
	if (!real[rlen] || !strcmp(real + rlen, "/"))
		return fp_error("%s is the root cgroup: the thread layer takes "
				"one application's cgroup, not every task",
				real);
	if (strlen(real) >= sizeof(cg->dir))
		return fp_error("cgroup path too long: %s", real);
	snprintf(cg->dir, sizeof(cg->dir), "%s", real);
	cg->level = 0;
	for (p = real + rlen; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			cg->level++;
	err = cgroup_id(real, &cg->id);
	if (err)
		return fp_error("cannot read the id of cgroup %s: %s", real,
				fp_strerror(err));
	return 0;
}

/*
 * Every SCHED_OTHER thread of the cgroup and its descendants to SCHED_EXT
 * (to_ext), or every SCHED_EXT one back to SCHED_OTHER. The count moved.
 */
static int cgroup_switch(const char *dir, bool to_ext)
{
	struct sched_param sp = {0};
	char path[PATH_MAX];
	struct dirent *d;
	int tid, n = 0;
	DIR *dd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.threads", dir);
	f = fopen(path, "r");
	if (f) {
		while (fscanf(f, "%d", &tid) == 1) {
			int cur = sched_getscheduler(tid);

			if (to_ext && cur == SCHED_OTHER)
				n += !sched_setscheduler(tid, SCHED_EXT, &sp);
			else if (!to_ext && cur == SCHED_EXT)
				n += !sched_setscheduler(tid, SCHED_OTHER, &sp);
		}
		fclose(f);
	}
	dd = opendir(dir);
	if (!dd)
		return n;
	while ((d = readdir(dd))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) <
		    (int)sizeof(path))
			n += cgroup_switch(path, to_ext);
	}
	closedir(dd);
	return n;
}

/* Threads that fork while we scan: scan again until a pass moves none. */
int cgroup_switch_all(const char *dir, bool to_ext)
{
	int total = 0, n;

	for (int pass = 0; pass < 8; pass++) {
		n = cgroup_switch(dir, to_ext);
		total += n;
		if (!n)
			break;
	}
	return total;
}
