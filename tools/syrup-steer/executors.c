// SPDX-License-Identifier: GPL-2.0
/*
 * The executors of a port: the sockets of its SO_REUSEPORT group, taken
 * from the application (socket layer), or CPUs (XDP layer); and putting
 * the policy on the sockets' group.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>

#include "steer.h"
#include "syrup-xsk.skel.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

static int no_sockets(const struct port_sel *sel, int nr_pids)
{
	if (nr_pids)
		return fp_error("no socket bound to %s/%u in the given "
				"process(es) (is the application running%s?)",
				proto_name(sel->proto), sel->port,
				sel->netns ? " in that netns" : "");
	return fp_error("no socket is bound to %s/%u%s%s (start the "
			"application first)",
			proto_name(sel->proto), sel->port,
			sel->netns ? " in netns " : "",
			sel->netns ? sel->netns : "");
}

/* Our copy of the socket, or a message saying what stopped us. */
static int take_socket(const struct fp_port_socket *s)
{
	int pidfd = fp_pidfd_open(s->pid), sfd;

	if (pidfd < 0) {
		fp_error("cannot open process %d: %s", s->pid,
			 fp_strerror(pidfd));
		return -1;
	}
	sfd = fp_pidfd_getfd(pidfd, s->fd);
	close(pidfd);
	if (sfd < 0)
		fp_error("cannot take socket fd %d of process %d: %s%s", s->fd,
			 s->pid, fp_strerror(sfd),
			 sfd == -EPERM
				 ? " (need root or CAP_SYS_PTRACE over it)"
				 : "");
	return sfd;
}

/* Takes socket s as the next executor; prints why not, 1. */
static int add_socket(struct executors *ex, const struct fp_port_socket *s,
		      const struct port_sel *sel)
{
	struct executor *e = &ex->e[ex->n];
	socklen_t len;
	int on = 0, sfd;

	sfd = take_socket(s);
	if (sfd < 0)
		return 1;
	e->fd = sfd;
	ex->n++;
	len = sizeof(on);
	if (getsockopt(sfd, SOL_SOCKET, SO_REUSEPORT, &on, &len) || !on)
		return fp_error("the socket of process %d (fd %d) on %s/%u has "
				"no SO_REUSEPORT: the application must set it "
				"to share the port",
				s->pid, s->fd, proto_name(sel->proto),
				sel->port);
	e->info.pid = (__u32)s->pid;
	e->info.fd = (__u32)s->fd;
	e->info.inode = s->inode;
	e->info.cookie = fp_socket_cookie(sfd);
	len = sizeof(on);
	if (!getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &on, &len))
		e->info.family = (__u32)on;
	fp_proc_comm(s->pid, e->info.comm, sizeof(e->info.comm));
	return 0;
}

int executors_find_sockets(struct executors *ex, const struct port_sel *sel,
			   const pid_t *pids, int nr_pids, bool none_ok)
{
	struct fp_socket_query q = {
		.proto = sel->proto,
		.port = sel->port,
		.pids = nr_pids ? pids : NULL,
		.nr_pids = nr_pids,
	};
	struct fp_port_socket *s;
	int n, err = 0;

	n = fp_port_sockets(&q, &s);
	if (n < 0)
		return fp_error("cannot list the sockets of %s/%u: %s",
				proto_name(sel->proto), sel->port,
				fp_strerror(n));
	if (n == 0 && !none_ok)
		err = no_sockets(sel, nr_pids);
	else if (n > SYRUP_MAX_EXECUTORS)
		err = fp_error("%d sockets on %s/%u: at most %d executors "
			       "(use --pid to choose)",
			       n, proto_name(sel->proto), sel->port,
			       SYRUP_MAX_EXECUTORS);
	for (int i = 0; i < n && !err; i++)
		err = add_socket(ex, &s[i], sel);
	free(s);
	return err;
}

static int cmp_fd_name(const struct dirent **a, const struct dirent **b)
{
	return atoi((*a)->d_name) - atoi((*b)->d_name);
}

/* Takes fd `fd` of `pid` as the next executor if it is an AF_XDP socket. */
static int add_xsk(struct executors *ex, pid_t pid, int fd, uint64_t inode)
{
	struct executor *e = &ex->e[ex->n];
	socklen_t len = sizeof(int);
	int domain = 0, sfd = fp_take_fd(pid, fd);

	if (sfd < 0)
		return fp_error("cannot take socket fd %d of process %d: %s",
				fd, pid, fp_strerror(sfd));
	if (getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    domain != AF_XDP) {
		close(sfd);
		return 0;
	}
	if (ex->n == SYRUP_MAX_EXECUTORS) {
		close(sfd);
		return fp_error("more than %d AF_XDP sockets in the given "
				"process(es)",
				SYRUP_MAX_EXECUTORS);
	}
	memset(&e->info, 0, sizeof(e->info));
	e->fd = sfd;
	e->info.pid = (__u32)pid;
	e->info.fd = (__u32)fd;
	e->info.inode = inode;
	e->info.cookie = fp_socket_cookie(sfd);
	e->info.family = AF_XDP;
	fp_proc_comm(pid, e->info.comm, sizeof(e->info.comm));
	ex->n++;
	return 0;
}

/* Every AF_XDP socket process `pid` holds, in fd order. */
static int scan_xsks(struct executors *ex, pid_t pid)
{
	char dir[64], path[320], link[64];
	struct dirent **names;
	int n, err = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	n = scandir(dir, &names, NULL, cmp_fd_name);
	if (n < 0)
		return fp_error("cannot read %s: %s (is process %d running?)",
				dir, fp_strerror(-errno), pid);
	for (int i = 0; i < n; i++) {
		unsigned long long inode;
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		len = isdigit((unsigned char)names[i]->d_name[0])
			      ? readlink(path, link, sizeof(link) - 1)
			      : -1;
		if (!err && len > 0) {
			link[len] = '\0';
			if (sscanf(link, "socket:[%llu]", &inode) == 1)
				err = add_xsk(ex, pid, atoi(names[i]->d_name),
					      inode);
		}
		free(names[i]);
	}
	free(names);
	return err;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The interface each AF_XDP socket of `pid` is bound to, from the
 * task_file iterator (bpf/syrup-xsk.bpf.c), checked against `ifindex`:
 * one that is not bound there would never see the port's frames. Its
 * queue goes to info.cpu (conf.cpus), for the program to check. Prints
 * why not, 1; a kernel without BPF iterators is warned about, 0.
 */
static int check_bindings(struct executors *ex, pid_t pid, unsigned int ifindex,
			  const char *iface)
{
	struct syrup_xsk_bpf *skel = syrup_xsk_bpf__open();
	struct bpf_link *link = NULL;
	unsigned int fd, bound, queue;
	unsigned long long ino;
	char line[128], name[IF_NAMESIZE] = "";
	FILE *f = NULL;
	int it, err = 0;

	if (skel)
		skel->rodata->target_tgid = pid;
	if (!skel || syrup_xsk_bpf__load(skel) ||
	    !(link = bpf_program__attach_iter(skel->progs.syrup_xsk_bindings,
					      NULL)) ||
	    (it = bpf_iter_create(bpf_link__fd(link))) < 0 ||
	    !(f = fdopen(it, "r"))) {
		fp_warn("cannot see which interface the AF_XDP sockets of "
			"process %d are bound to (needs BPF task_file "
			"iterators, Linux 5.11+): not checked",
			pid);
		goto out;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %llu %u %u", &fd, &ino, &bound, &queue) !=
		    4)
			continue;
		for (int i = 0; i < ex->n && !err; i++) {
			if (ex->e[i].info.pid != (__u32)pid ||
			    ex->e[i].info.fd != fd)
				continue;
			if (!bound)
				err = fp_error("the AF_XDP socket of process "
					       "%d (fd %u) is not bound (bind "
					       "it to a queue of %s first)",
					       pid, fd, iface);
			else if (bound == ifindex)
				ex->e[i].info.cpu = queue;
			else
				err = fp_error(
					"the AF_XDP socket of process "
					"%d (fd %u) is bound to %s, not "
					"%s (its frames come from there)",
					pid, fd,
					if_indextoname(bound, name)
						? name
						: "another interface",
					iface);
		}
	}
out:
	if (f)
		fclose(f);
	bpf_link__destroy(link);
	syrup_xsk_bpf__destroy(skel);
	return err;
}

int executors_find_xsks(struct executors *ex, const pid_t *pids, int nr_pids,
			unsigned int ifindex, const char *iface)
{
	pid_t sorted[SYRUP_MAX_ARGS];

	memcpy(sorted, pids, (size_t)nr_pids * sizeof(*pids));
	qsort(sorted, (size_t)nr_pids, sizeof(*sorted), cmp_pid);
	for (int i = 0; i < nr_pids; i++)
		if ((!i || sorted[i] != sorted[i - 1]) &&
		    (scan_xsks(ex, sorted[i]) ||
		     check_bindings(ex, sorted[i], ifindex, iface)))
			return 1;
	if (!ex->n)
		return fp_error("no AF_XDP socket in the given process(es) "
				"(is the application running, and bound its "
				"sockets?)");
	return 0;
}

/* The machine's online CPUs, as the kernel lists them. */
static int online_cpus(int *cpus, int max)
{
	char buf[256];
	int n, err;

	err = fp_read_line("/sys/devices/system/cpu/online", buf, sizeof(buf));
	if (err) {
		fp_error("cannot read the online CPUs: %s", fp_strerror(err));
		return -1;
	}
	n = fp_parse_cpu_list(buf, SYRUP_MAX_EXECUTORS - 1, cpus, max);
	if (n < 0)
		fp_error("cannot parse the online CPUs '%s' (give --cpus)",
			 buf);
	return n;
}

int executors_find_cpus(struct executors *ex, const char *list)
{
	int cpus[SYRUP_MAX_EXECUTORS], n, online;

	online = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (list) {
		n = fp_parse_cpu_list(list, SYRUP_MAX_EXECUTORS - 1, cpus,
				      SYRUP_MAX_EXECUTORS);
		if (n < 0)
			return fp_error("invalid --cpus '%s': want a list like "
					"0-3 or 0,2 of CPUs below %d",
					list, SYRUP_MAX_EXECUTORS);
	} else {
		n = online_cpus(cpus, SYRUP_MAX_EXECUTORS);
		if (n < 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		if (cpus[i] >= online)
			return fp_error("CPU %d does not exist (this machine "
					"has %d)",
					cpus[i], online);
		ex->e[i].fd = -1;
		ex->e[i].info.cpu = (__u32)cpus[i];
	}
	ex->n = n;
	return 0;
}

/*
 * Socket sfd as executor i. EBUSY: another reuseport map holds the socket.
 * After a detach that is the old map until the kernel frees it, which it
 * does later, from a workqueue: give it 2 s. 0 or -errno.
 */
static int sockarray_put(int socks_fd, __u32 i, int sfd)
{
	__u64 fd = (__u64)sfd;
	int err = 0;

	for (int try = 0; try < 40; try++) {
		if (!bpf_map_update_elem(socks_fd, &i, &fd, BPF_ANY))
			return 0;
		err = -errno;
		if (err != -EBUSY)
			break;
		usleep(50 * 1000);
	}
	return err;
}

/* The AF_XDP sockets into the XSKMAP: the kernel wants bound ones. */
static int fill_xsks(const struct executors *ex, const struct policy *p)
{
	int xsks_fd = policy_map_fd(p, "syrup_xsks");

	if (xsks_fd < 0)
		return fp_error("policy %s has no syrup_xsks map (build it "
				"again against this syrup.h)",
				p->name);
	for (__u32 i = 0; i < (__u32)ex->n; i++) {
		const struct executor *e = &ex->e[i];
		__u32 fd = (__u32)e->fd;

		if (bpf_map_update_elem(xsks_fd, &i, &fd, BPF_ANY))
			return fp_error("cannot add the AF_XDP socket of "
					"process %u (fd %u) as executor %u: "
					"%s",
					e->info.pid, e->info.fd, i,
					fp_strerror(-errno));
	}
	return 0;
}

int executors_fill_map(const struct executors *ex, const struct policy *p,
		       enum syrup_layer layer, bool xsk)
{
	int socks_fd = policy_map_fd(p, "syrup_socks");
	int cpumap_fd = policy_map_fd(p, "syrup_cpumap");

	if (xsk)
		return fill_xsks(ex, p);

	for (__u32 i = 0; i < (__u32)ex->n; i++) {
		const struct executor *e = &ex->e[i];
		struct bpf_cpumap_val v = {.qsize = 2048};
		int err;

		if (layer == SYRUP_LAYER_XDP) {
			if (bpf_map_update_elem(cpumap_fd, &e->info.cpu, &v,
						BPF_ANY))
				return fp_error("cannot set up the queue to "
						"CPU %u: %s",
						e->info.cpu,
						fp_strerror(-errno));
			continue;
		}
		err = sockarray_put(socks_fd, i, e->fd);
		if (!err)
			continue;
		return fp_error("cannot add the socket of process %u (fd %u) "
				"as executor %u: %s%s",
				e->info.pid, e->info.fd, i, fp_strerror(err),
				err == -EBUSY ? " (another reuseport map "
						"holds it)"
					      : "");
	}
	return 0;
}

int executors_attach(const struct executors *ex, int prog_fd, int *done)
{
	/*
	 * The program goes to the group of each socket: sockets bound to
	 * different addresses (v4, v6) form different groups.
	 */
	for (*done = 0; *done < ex->n; (*done)++) {
		const struct executor *e = &ex->e[*done];

		if (setsockopt(e->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
			       &prog_fd, sizeof(prog_fd)))
			return fp_error("cannot attach the policy to the "
					"socket of process %u (fd %u): %s",
					e->info.pid, e->info.fd,
					fp_strerror(-errno));
	}
	return 0;
}

int reuseport_detach(int sfd)
{
	int zero = 0; /* the kernel wants an int even here */

	if (setsockopt(sfd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero,
		       sizeof(zero)) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

void executors_detach(const struct executors *ex)
{
	for (int i = 0; i < ex->n; i++)
		if (ex->e[i].fd >= 0)
			reuseport_detach(ex->e[i].fd);
}

void executors_close(struct executors *ex)
{
	for (int i = 0; i < ex->n; i++) {
		if (ex->e[i].fd >= 0)
			close(ex->e[i].fd);
		ex->e[i].fd = -1;
	}
}

/* Each executor's record (pid, fd, comm) in execs, their number in info. */
static int write_records(int info_fd, int execs_fd, const struct executors *ex)
{
	struct syrup_info info;
	__u32 zero = 0;

	for (__u32 i = 0; i < (__u32)ex->n; i++)
		if (bpf_map_update_elem(execs_fd, &i, &ex->e[i].info, BPF_ANY))
			return -errno;
	if (bpf_map_lookup_elem(info_fd, &zero, &info))
		return -errno;
	info.nr_executors = (__u32)ex->n;
	if (bpf_map_update_elem(info_fd, &zero, &info, BPF_ANY))
		return -errno;
	return 0;
}

/* Empties the slots that hold another socket than ex says (or any, past n). */
static bool clear_other_slots(int socks_fd, const struct executors *ex)
{
	bool changed = false;

	for (__u32 i = 0; i < SYRUP_MAX_EXECUTORS; i++) {
		__u64 cur, want = i < (__u32)ex->n ? ex->e[i].info.cookie : 0;

		if (bpf_map_lookup_elem(socks_fd, &i, &cur) || cur == want)
			continue;
		bpf_map_delete_elem(socks_fd, &i);
		changed = true;
	}
	return changed;
}

static int put_executors(int socks_fd, const struct executors *ex,
			 bool *changed)
{
	for (__u32 i = 0; i < (__u32)ex->n; i++) {
		const struct executor *e = &ex->e[i];
		__u64 cur;
		int err;

		if (!bpf_map_lookup_elem(socks_fd, &i, &cur) &&
		    cur == e->info.cookie)
			continue;
		err = sockarray_put(socks_fd, i, e->fd);
		if (err)
			return fp_error("cannot add the socket of process %u "
					"(fd %u) as executor %u: %s",
					e->info.pid, e->info.fd, i,
					fp_strerror(err));
		*changed = true;
	}
	return 0;
}

static int set_nr_executors(int conf_fd, __u32 n)
{
	struct syrup_conf conf;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(conf_fd, &zero, &conf))
		return -errno;
	conf.nr_executors = n;
	if (bpf_map_update_elem(conf_fd, &zero, &conf, BPF_ANY))
		return -errno;
	return 0;
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int executors_sync(const char *dir, const struct executors *ex, bool *changed)
{
	int socks_fd = fp_pin_open(dir, "socks"),
	    conf_fd = fp_pin_open(dir, "conf"),
	    info_fd = fp_pin_open(dir, "info"),
	    execs_fd = fp_pin_open(dir, "execs"),
	    prog_fd = fp_pin_open(dir, "prog");
	struct syrup_conf conf;
	__u32 zero = 0, n = (__u32)ex->n;
	int err = 1, done;

	*changed = false;
	if (socks_fd < 0 || conf_fd < 0 || info_fd < 0 || execs_fd < 0 ||
	    prog_fd < 0 || bpf_map_lookup_elem(conf_fd, &zero, &conf)) {
		fp_error("cannot open the pins under %s (detached meanwhile?)",
			 dir);
		goto out;
	}
	/* fewer executors: the policy stops picking the last ones first */
	if (n < conf.nr_executors && set_nr_executors(conf_fd, n))
		goto fail;
	*changed = clear_other_slots(socks_fd, ex);
	if (put_executors(socks_fd, ex, changed))
		goto out;
	/* more: only now that their sockets are in place */
	if (n != conf.nr_executors) {
		if (set_nr_executors(conf_fd, n))
			goto fail;
		*changed = true;
	}
	/* a new group (the application restarted) has no program yet */
	if (executors_attach(ex, prog_fd, &done))
		goto out;
	if (write_records(info_fd, execs_fd, ex))
		goto fail;
	err = 0;
	goto out;
fail:
	fp_error("cannot update the policy's maps under %s: %s", dir,
		 fp_strerror(-errno));
out:
	close_fds((int[]){socks_fd, conf_fd, info_fd, execs_fd, prog_fd}, 5);
	return err;
}
