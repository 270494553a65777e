// SPDX-License-Identifier: GPL-2.0
/*
 * The state that outlives syrup-steer: one pin directory per port and
 * network namespace (/sys/fs/bpf/syrup/PROTO-PORT-nsINODE/, layout in
 * bpf/syrup-steer.h), written by attach and read back by every other
 * command.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.h"

/*
 * Named by the netns inode too, as the XDP dispatchers are: the same port
 * can carry a different policy in each network namespace.
 */
void port_dir(char *buf, size_t len, __u8 proto, __u16 port,
	      unsigned long netns_ino)
{
	snprintf(buf, len, "%s/%s-%u-ns%lu", SYRUP_PIN_ROOT, proto_name(proto),
		 port, netns_ino);
}

/* --netns NAME's inode without entering it (stats, set need no setns). */
static unsigned long sel_netns_inode(const struct port_sel *sel)
{
	char path[256];
	struct stat st;

	if (!sel->netns)
		return fp_netns_inode();
	snprintf(path, sizeof(path), "/run/netns/%s", sel->netns);
	return strchr(sel->netns, '/') || stat(path, &st) ? 0 : st.st_ino;
}

/* PROTO-PORT-nsINODE, or PROTO-PORT as attach named it before netns. */
static bool is_port_dir(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncmp(name, prefix, n) &&
	       (!name[n] || !strncmp(name + n, "-ns", 3));
}

/*
 * The port's dir in some other network namespace, for a command given no
 * --netns: 0 when exactly one netns has it, -ENOENT, or -EEXIST.
 */
static int port_dir_elsewhere(__u8 proto, __u16 port, char *dir, size_t len)
{
	char prefix[32];
	struct dirent *d;
	int found = 0;
	DIR *root;

	snprintf(prefix, sizeof(prefix), "%s-%u", proto_name(proto), port);
	root = opendir(SYRUP_PIN_ROOT);
	if (!root)
		return -ENOENT;
	while ((d = readdir(root)))
		if (is_port_dir(d->d_name, prefix) && found++ == 0)
			snprintf(dir, len, "%s/%.64s", SYRUP_PIN_ROOT,
				 d->d_name);
	closedir(root);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

int pinned_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void pinned_close(struct pinned *p)
{
	int *fds[] = {&p->conf_fd, &p->params_fd, &p->load_fd, &p->stats_fd,
		      &p->socks_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int pinned_read(const char *dir, struct pinned *p)
{
	__u32 zero = 0;
	int fd, err;

	memset(p, 0, sizeof(*p));
	p->conf_fd = p->params_fd = p->load_fd = p->stats_fd = p->socks_fd = -1;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	err = fp_pin_lookup(dir, "info", &zero, &p->info);
	if (err)
		return err;
	fd = fp_pin_open(dir, "execs");
	if (fd >= 0) {
		for (__u32 i = 0;
		     i < p->info.nr_executors && i < SYRUP_MAX_EXECUTORS; i++)
			bpf_map_lookup_elem(fd, &i, &p->execs[i]);
		close(fd);
	}
	p->conf_fd = fp_pin_open(dir, "conf");
	p->params_fd = fp_pin_open(dir, "params");
	p->load_fd = fp_pin_open(dir, "load");
	p->stats_fd = fp_pin_open(dir, "stats");
	if (p->info.layer == SYRUP_LAYER_SOCKET)
		p->socks_fd = fp_pin_open(dir, "socks");
	return 0;
}

/*
 * The pin dir of the port in this netns; without --netns, failing that,
 * in the one other netns that has it.
 */
static int find_proto_dir(const struct port_sel *sel, __u8 proto, char *dir,
			  size_t len)
{
	port_dir(dir, len, proto, sel->port, sel_netns_inode(sel));
	if (fp_pin_dir_exists(dir))
		return 0;
	return sel->netns ? -ENOENT
			  : port_dir_elsewhere(proto, sel->port, dir, len);
}

/*
 * ... and of --proto, or of whichever protocol has one: -EEXIST when both
 * do, -EMLINK when one is in several other netns.
 */
static int find_port_dir(const struct port_sel *sel, char *dir, size_t len)
{
	char udp[128], tcp[128];
	int u, t;

	if (sel->have_proto)
		return find_proto_dir(sel, sel->proto, dir, len);
	u = find_proto_dir(sel, PROTO_UDP, udp, sizeof(udp));
	t = find_proto_dir(sel, PROTO_TCP, tcp, sizeof(tcp));
	if (u == -EEXIST || t == -EEXIST)
		return -EMLINK;
	if (!u && !t)
		return -EEXIST;
	if (u && t)
		return -ENOENT;
	snprintf(dir, len, "%s", u ? tcp : udp);
	return 0;
}

int pinned_open_port(const struct port_sel *sel, struct pinned *p)
{
	char dir[128];
	int err;

	if (!sel_netns_inode(sel))
		return fp_error("no network namespace named %s (see 'ip netns "
				"list')",
				sel->netns);
	err = find_port_dir(sel, dir, sizeof(dir));

	if (err == -EEXIST && !sel->have_proto)
		return fp_error("both udp/%u and tcp/%u are under a policy: "
				"give --proto",
				sel->port, sel->port);
	if (err == -EEXIST || err == -EMLINK)
		return fp_error("port %u is under a policy in more than one "
				"network namespace: give --netns",
				sel->port);
	if (err)
		return fp_error(
			"no policy on %s%u (see 'syrup-steer status')",
			sel->have_proto
				? (sel->proto == PROTO_TCP ? "tcp/" : "udp/")
				: "port ",
			sel->port);
	err = pinned_read(dir, p);
	if (err)
		return fp_error("cannot read %s: %s (a broken attach? "
				"'syrup-steer detach' removes it)",
				dir, fp_strerror(err));
	return 0;
}

bool pinned_executor_open(const struct pinned *p, __u32 i)
{
	__u64 cookie;

	/* the kernel takes a closed AF_XDP socket out of the map itself */
	if (p->info.layer == SYRUP_LAYER_XDP && p->info.xsk)
		return fp_fd_is_socket((pid_t)p->execs[i].pid,
				       (int)p->execs[i].fd, p->execs[i].inode);
	if (p->info.layer != SYRUP_LAYER_SOCKET)
		return true;
	if (p->socks_fd < 0)
		return false;
	return bpf_map_lookup_elem(p->socks_fd, &i, &cookie) == 0;
}

/* The executor maps of the other layer (and kind) stay unpinned. */
static bool unused_executor_map(const char *name, enum syrup_layer layer,
				bool xsk)
{
	const char *used = layer != SYRUP_LAYER_XDP ? "syrup_socks"
			   : xsk		    ? "syrup_xsks"
						    : "syrup_cpumap";

	return strcmp(name, used) &&
	       (!strcmp(name, "syrup_socks") || !strcmp(name, "syrup_cpumap") ||
		!strcmp(name, "syrup_xsks"));
}

int pinned_write_policy(const char *dir, const struct policy *pol,
			enum syrup_layer layer, bool xsk)
{
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, pol->obj)
	{
		const char *name = bpf_map__name(m);

		if (bpf_map__is_internal(m) || !strcmp(name, "syrup_meta") ||
		    unused_executor_map(name, layer, xsk))
			continue;
		if (!strncmp(name, "syrup_", 6))
			name += 6;
		err = fp_pin_fd(bpf_map__fd(m), dir, name);
		if (err)
			return err;
	}
	return fp_pin_fd(bpf_program__fd(pol->prog), dir, "prog");
}

/* An ARRAY map of `n` values of `size` bytes, filled and pinned. */
static int pin_array(const char *dir, const char *name, const char *map_name,
		     __u32 size, __u32 max, const void *values, __u32 n)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, map_name, 4, size, max,
				NULL);
	int err = 0;

	if (fd < 0)
		return -errno;
	for (__u32 i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &i, (const char *)values + i * size,
					BPF_ANY))
			err = -errno;
	if (!err)
		err = fp_pin_fd(fd, dir, name);
	close(fd);
	return err;
}

int pinned_write_info(const char *dir, const struct syrup_info *info,
		      const struct executors *ex)
{
	struct syrup_exec execs[SYRUP_MAX_EXECUTORS];
	int err;

	err = pin_array(dir, "info", "syrup_info", sizeof(*info), 1, info, 1);
	if (err)
		return err;
	for (int i = 0; i < ex->n; i++)
		execs[i] = ex->e[i].info;
	return pin_array(dir, "execs", "syrup_execs", sizeof(execs[0]),
			 SYRUP_MAX_EXECUTORS, execs, (__u32)ex->n);
}
