// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "sockets.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The `st` column of /proc/net/{tcp,udp}: kernel TCP states. */
#define PROC_NET_LISTEN 0x0A /* a TCP listener */
#define PROC_NET_CLOSE	0x07 /* an unconnected UDP socket */

int fp_port_inodes(const struct fp_socket_query *q, uint64_t *ino, int max)
{
	bool tcp = q->proto == IPPROTO_TCP;
	const char *files[] = {
		tcp ? "/proc/self/net/tcp" : "/proc/self/net/udp",
		tcp ? "/proc/self/net/tcp6" : "/proc/self/net/udp6"};
	char line[512];
	int n = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		FILE *fp = fopen(files[f], "re");

		if (!fp)
			continue; /* no IPv6 in this kernel */
		while (n < max && fgets(line, sizeof(line), fp)) {
			unsigned int lport, rport, state;
			unsigned long long inode;
			char laddr[64], raddr[64];

			/* sl local rem st tx:rx tr:when retrnsmt uid timeout
			 * inode */
			if (sscanf(line,
				   " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x "
				   "%x %*s %*s %*s %*u %*u %llu",
				   laddr, &lport, raddr, &rport, &state,
				   &inode) != 6)
				continue;
			if (lport != q->port || !inode)
				continue;
			if (!q->any_state &&
			    state != (tcp ? PROC_NET_LISTEN : PROC_NET_CLOSE))
				continue;
			ino[n++] = inode;
		}
		fclose(fp);
	}
	return n;
}

struct found {
	struct fp_port_socket *s;
	int n, cap;
};

static bool pid_wanted(const struct fp_socket_query *q, pid_t pid)
{
	if (!q->pids)
		return true;
	for (int i = 0; i < q->nr_pids; i++)
		if (q->pids[i] == pid)
			return true;
	return false;
}

static bool inode_in(const uint64_t *ino, int n, uint64_t v)
{
	for (int i = 0; i < n; i++)
		if (ino[i] == v)
			return true;
	return false;
}

/* Appends every fd of `pid` that is one of the `n` inodes. */
static int scan_pid(pid_t pid, const uint64_t *ino, int n, struct found *out)
{
	char dir[64], path[320], link[64];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0; /* gone, or not ours to see */
	while ((de = readdir(d))) {
		unsigned long long inode;
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%llu]", &inode) != 1 ||
		    !inode_in(ino, n, inode))
			continue;
		if (out->n == out->cap) {
			int cap = out->cap ? out->cap * 2 : 16;
			void *p =
				realloc(out->s, (size_t)cap * sizeof(*out->s));

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			out->s = p;
			out->cap = cap;
		}
		out->s[out->n++] = (struct fp_port_socket){
			.pid = pid, .fd = atoi(de->d_name), .inode = inode};
	}
	closedir(d);
	return 0;
}

static int cmp_socket(const void *a, const void *b)
{
	const struct fp_port_socket *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* The port's inodes, in an array grown until /proc's list fits. */
static int all_inodes(const struct fp_socket_query *q, uint64_t **ino)
{
	for (int cap = 256;; cap *= 2) {
		uint64_t *p = realloc(*ino, (size_t)cap * sizeof(**ino));
		int n;

		if (!p)
			return -ENOMEM;
		*ino = p;
		n = fp_port_inodes(q, p, cap);
		if (n < cap)
			return n;
	}
}

int fp_port_sockets(const struct fp_socket_query *q,
		    struct fp_port_socket **out)
{
	struct found f = {};
	uint64_t *ino = NULL;
	struct dirent *de;
	int n, kept = 0, err = 0;
	DIR *d;

	*out = NULL;
	n = all_inodes(q, &ino);
	d = n > 0 ? opendir("/proc") : NULL;
	while (d && !err && (de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid != getpid() && pid_wanted(q, pid))
			err = scan_pid(pid, ino, n, &f);
	}
	if (d)
		closedir(d);
	free(ino);
	if (n < 0 || err) {
		free(f.s);
		return n < 0 ? n : err;
	}
	qsort(f.s, (size_t)f.n, sizeof(*f.s), cmp_socket);
	for (int i = 0; i < f.n; i++) {
		bool seen = false;

		for (int j = 0; j < kept && !seen; j++)
			seen = f.s[j].inode == f.s[i].inode;
		if (!seen)
			f.s[kept++] = f.s[i];
	}
	*out = f.s;
	return kept;
}

int fp_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

int fp_pidfd_getfd(int pidfd, int fd)
{
	int sfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	return sfd < 0 ? -errno : sfd;
}

int fp_take_fd(pid_t pid, int fd)
{
	int pidfd = fp_pidfd_open(pid), sfd;

	if (pidfd < 0)
		return pidfd;
	sfd = fp_pidfd_getfd(pidfd, fd);
	close(pidfd);
	return sfd;
}

bool fp_fd_is_socket(pid_t pid, int fd, uint64_t inode)
{
	char path[64], link[64], want[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	snprintf(want, sizeof(want), "socket:[%llu]",
		 (unsigned long long)inode);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return false;
	link[len] = '\0';
	return !strcmp(link, want);
}

uint64_t fp_socket_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

void fp_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fp_read_line(path, buf, len);
}
