// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces by inode: pins record the inode of the namespace they
 * were made in, so naming one, telling whether it is still alive and
 * entering it all start from the inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "status.h"

static struct netns *find(const struct netns_table *t, __u64 ino)
{
	for (int i = 0; i < t->n; i++)
		if (t->ns[i].ino == ino)
			return &t->ns[i];
	return NULL;
}

/* Adds path's namespace unless known; a name upgrades a nameless entry. */
static int add(struct netns_table *t, const char *path, const char *name)
{
	struct netns *ns;
	struct stat st;

	if (stat(path, &st))
		return 0; /* gone meanwhile, or not ours to see */
	ns = find(t, (__u64)st.st_ino);
	if (!ns) {
		if (t->n == t->cap) {
			int cap = t->cap ? 2 * t->cap : 64;
			struct netns *v = realloc(t->ns, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			t->ns = v;
			t->cap = cap;
		}
		ns = &t->ns[t->n++];
		memset(ns, 0, sizeof(*ns));
		ns->ino = (__u64)st.st_ino;
		snprintf(ns->path, sizeof(ns->path), "%s", path);
	}
	if (name && !ns->name[0]) {
		snprintf(ns->name, sizeof(ns->name), "%s", name);
		snprintf(ns->path, sizeof(ns->path), "%s", path);
	}
	return 0;
}

/* Namespaces kept alive by a bind mount (ip netns, container runtimes). */
static int add_mounts(struct netns_table *t)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = 0;

	if (!f)
		return 0;
	while (!err && fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], *sep = strstr(line, " - ");

		/* id parent maj:min root mountpoint ... - fstype ... */
		if (!sep || strncmp(sep, " - nsfs ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    strncmp(root, "net:[", 5))
			continue;
		/* mountinfo escapes blanks as \040; such paths are skipped */
		if (strchr(mnt, '\\'))
			continue;
		err = add(t, mnt, NULL);
	}
	fclose(f);
	return err;
}

static int add_named(struct netns_table *t)
{
	struct dirent *de;
	DIR *d = opendir("/run/netns");
	int err = 0;

	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		err = add(t, path, de->d_name);
	}
	closedir(d);
	return err;
}

static int add_processes(struct netns_table *t)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		char path[300];

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		err = add(t, path, NULL);
	}
	closedir(d);
	return err;
}

int netns_table_load(struct netns_table *t)
{
	struct stat st;
	int err;

	memset(t, 0, sizeof(*t));
	t->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->self_fd < 0 || fstat(t->self_fd, &st))
		return -errno;
	t->self_ino = (__u64)st.st_ino;
	/* Names first: a named namespace is entered through its name. */
	err = add_named(t);
	if (!err)
		err = add_mounts(t);
	if (!err)
		err = add(t, "/proc/self/ns/net", NULL);
	if (!err)
		err = add_processes(t);
	return err;
}

void netns_table_free(struct netns_table *t)
{
	if (t->self_fd >= 0)
		close(t->self_fd);
	free(t->ns);
	memset(t, 0, sizeof(*t));
	t->self_fd = -1;
}

const struct netns *netns_find(const struct netns_table *t, __u64 ino)
{
	return find(t, ino);
}

const char *netns_label(const struct netns_table *t, __u64 ino, char *buf,
			size_t len)
{
	const struct netns *ns = find(t, ino);

	if (ns && ns->name[0])
		snprintf(buf, len, "%s", ns->name);
	else
		snprintf(buf, len, "%llu", (unsigned long long)ino);
	return buf;
}

int netns_ifname(const struct netns_table *t, __u64 ino, __u32 ifindex,
		 char name[IF_NAMESIZE])
{
	const struct netns *ns = find(t, ino);
	int fd, err = 0;

	name[0] = '\0';
	if (!ns)
		return -ESRCH;
	if (ino == t->self_ino)
		return if_indextoname(ifindex, name) ? 0 : -ENODEV;
	fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(fd);
		return err;
	}
	close(fd);
	/* if_indextoname's socket is made here, so it asks this namespace */
	if (!if_indextoname(ifindex, name))
		err = -ENODEV;
	if (setns(t->self_fd, CLONE_NEWNET)) {
		/* Everything after would look at the wrong namespace. */
		fp_error("cannot return to our network namespace: %s",
			 strerror(errno));
		exit(1);
	}
	return err;
}
