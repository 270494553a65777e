// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pin.h"

int fp_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int fp_pin_open(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	if (fp_pin_path(path, sizeof(path), dir, name)) {
		errno = ENAMETOOLONG;
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int fp_pin_fd(int fd, const char *dir, const char *name)
{
	char path[4096];

	if (fp_pin_path(path, sizeof(path), dir, name)) {
		errno = ENAMETOOLONG;
		return -ENAMETOOLONG;
	}
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

int fp_pin_lookup(const char *dir, const char *name, const void *key,
		  void *value)
{
	int fd = fp_pin_open(dir, name), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, key, value))
		err = -errno;
	close(fd);
	if (err)
		errno = -err; /* close() must not hide why */
	return err;
}

bool fp_pin_exists(const char *dir, const char *name)
{
	char path[4096];

	if (fp_pin_path(path, sizeof(path), dir, name))
		return false;
	return access(path, F_OK) == 0;
}

int fp_pin_dir_create(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	/* mkdir -p, each component 0700: pins give control over the kernel. */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	if (chmod(path, 0700))
		return -errno;
	return 0;
}

bool fp_pin_dir_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int remove_tree(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fp_pin_path(path, sizeof(path), dir, de->d_name))
			continue;
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			int e = remove_tree(path);
			if (e && !err)
				err = e;
		} else if (unlink(path) && !err) {
			err = -errno;
		}
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

int fp_pin_dir_remove(const char *dir, const char *stop_at)
{
	char path[4096];
	size_t stop_len = stop_at ? strlen(stop_at) : 0;
	int err;

	if (!fp_pin_dir_exists(dir))
		return -ENOENT;
	err = remove_tree(dir);
	if (err)
		return err;
	if (!stop_at || strncmp(dir, stop_at, stop_len))
		return 0;
	snprintf(path, sizeof(path), "%s", dir);
	for (;;) {
		char *slash = strrchr(path, '/');

		if (!slash || (size_t)(slash - path) <= stop_len)
			break;
		*slash = '\0';
		if (rmdir(path))
			break; /* not empty: something else lives there */
	}
	return 0;
}
