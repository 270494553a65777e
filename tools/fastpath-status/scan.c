// SPDX-License-Identifier: GPL-2.0
/*
 * What the pins say. Every fastpath tool keeps its state under one
 * directory per attachment (bmc-attach under /sys/fs/bpf/bmc/IFACE/,
 * syrup-steer under /sys/fs/bpf/syrup/PROTO-PORT-nsINODE/ and its XDP
 * dispatchers under /sys/fs/bpf/syrup/xdp-IFINDEX-NETNS/), so the pins
 * alone describe everything attached on the host, in every network
 * namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "file.h"
#include "log.h"
#include "bmc.h"
#include "syrup.h"
#include "syrup-steer.h"
#include "syrup-sched.h"
#include "status.h"

#define PROTO_UDP 17
#define PROTO_TCP 6

const char *kind_name(enum kind k)
{
	switch (k) {
	case KIND_BMC:
		return "bmc";
	case KIND_SYRUP:
		return "syrup";
	default:
		return "dispatcher";
	}
}

const char *state_name(enum state s)
{
	switch (s) {
	case STATE_ATTACHED:
		return "attached";
	case STATE_STALE:
		return "stale";
	default:
		return "broken";
	}
}

/* Copies a string that may be cut (names are checked, not trusted). */
static void set_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *proto_name(__u8 proto)
{
	return proto == PROTO_TCP ? "tcp" : "udp";
}

static void set_state(struct entry *e, enum state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first reason found stands: later checks only add what it lacks. */
static void set_state(struct entry *e, enum state s, const char *fmt, ...)
{
	va_list ap;

	if (e->state != STATE_ATTACHED)
		return;
	e->state = s;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

static void add_prog(struct entry *e, __u32 id)
{
	if (!id)
		return;
	for (int i = 0; i < e->nr_progs; i++)
		if (e->prog_ids[i] == id)
			return;
	if (e->nr_progs < MAX_PROGS)
		e->prog_ids[e->nr_progs++] = id;
}

/* bpf-prog, bpf-map or bpf_link: what /proc says an fd is. */
static const char *fd_type(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return "unknown";
	target[n] = '\0';
	if (strstr(target, "bpf-prog"))
		return "prog";
	if (strstr(target, "bpf-map"))
		return "map";
	if (strstr(target, "bpf_link") || strstr(target, "bpf-link"))
		return "link";
	return "unknown";
}

static void describe_pin(const char *path, struct pin *p)
{
	struct stat st;
	int fd;

	p->type = "unknown";
	if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
		p->type = "dir";
		return;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(p->what, sizeof(p->what), "%s", fp_strerror(-errno));
		return;
	}
	p->type = fd_type(fd);
	if (!strcmp(p->type, "prog")) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			const char *t = libbpf_bpf_prog_type_str(info.type);

			p->id = p->prog_id = info.id;
			snprintf(p->what, sizeof(p->what), "%s %s", info.name,
				 t ? t : "?");
		}
	} else if (!strcmp(p->type, "map")) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			const char *t = libbpf_bpf_map_type_str(info.type);

			p->id = info.id;
			snprintf(p->what, sizeof(p->what), "%s %s", info.name,
				 t ? t : "?");
		}
	} else if (!strcmp(p->type, "link")) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			const char *t = libbpf_bpf_link_type_str(info.type);

			p->id = info.id;
			p->prog_id = info.prog_id;
			if (info.type == BPF_LINK_TYPE_XDP)
				p->ifindex = info.xdp.ifindex;
			snprintf(p->what, sizeof(p->what), "%s", t ? t : "?");
		}
	}
	close(fd);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Every pin in e->dir, sorted by name; their programs into prog_ids. */
static void read_pins(struct entry *e)
{
	struct dirent **names = NULL;
	int n = scandir(e->dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char path[512];
		struct pin *p;

		if (names[i]->d_name[0] == '.' || e->nr_pins == MAX_PINS ||
		    fp_pin_path(path, sizeof(path), e->dir, names[i]->d_name))
			goto next;
		p = &e->pins[e->nr_pins++];
		memset(p, 0, sizeof(*p));
		set_str(p->name, sizeof(p->name), names[i]->d_name);
		describe_pin(path, p);
		add_prog(e, p->prog_id);
	next:
		free(names[i]);
	}
	free(names);
	qsort(e->prog_ids, e->nr_progs, sizeof(e->prog_ids[0]), cmp_u32);
}

static const struct pin *find_pin(const struct entry *e, const char *name)
{
	for (int i = 0; i < e->nr_pins; i++)
		if (!strcmp(e->pins[i].name, name))
			return &e->pins[i];
	return NULL;
}

/*
 * Looks key 0 of the map pinned at dir/name up into buf of len bytes; a
 * larger value (a newer tool appended fields) is read and cut. 0 or -errno.
 */
static int read_pinned_struct(const char *dir, const char *name, void *buf,
			      size_t len)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), zero = 0;
	char path[512];
	void *val;
	int fd, err = 0;

	if (fp_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		err = -errno;
	else if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size < len)
		err = -EPROTO;
	val = err ? NULL : calloc(1, info.value_size);
	if (!err && !val)
		err = -ENOMEM;
	if (!err && bpf_map_lookup_elem(fd, &zero, val))
		err = -errno;
	if (!err)
		memcpy(buf, val, len);
	free(val);
	close(fd);
	return err;
}

static struct entry *new_entry(struct entries *es, enum kind kind,
			       const char *root, const char *name)
{
	struct entry *e;
	struct stat st;

	if (es->n == es->cap) {
		int cap = es->cap ? 2 * es->cap : 16;
		struct entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->dir, sizeof(e->dir), "%s/%s", root, name);
	e->is_dir = !lstat(e->dir, &st) && S_ISDIR(st.st_mode);
	return e;
}

/*
 * The namespace and, when there is one, the interface: gone means stale.
 * want_name is the name the pins expect ("" if they do not say).
 */
static void check_place(const struct netns_table *t, struct entry *e,
			const char *want_name)
{
	char now[IF_NAMESIZE];
	int err;

	if (!e->have_netns)
		return;
	if (!netns_find(t, e->netns_ino)) {
		set_state(e, STATE_STALE, "network namespace %llu is gone",
			  (unsigned long long)e->netns_ino);
		return;
	}
	if (!e->ifindex)
		return;
	err = netns_ifname(t, e->netns_ino, e->ifindex, now);
	if (err == -ENODEV) {
		set_state(e, STATE_STALE, "interface %s (ifindex %u) is gone",
			  e->iface[0] ? e->iface : "?", e->ifindex);
	} else if (err) {
		fp_debug("cannot look up ifindex %u of %s: %s", e->ifindex,
			 e->dir, fp_strerror(err));
	} else if (want_name[0] && strcmp(now, want_name)) {
		snprintf(e->reason, sizeof(e->reason),
			 "interface %u is now named %s", e->ifindex, now);
	} else if (!e->iface[0]) {
		snprintf(e->iface, sizeof(e->iface), "%s", now);
	}
}

static void finish(struct entry *e)
{
	prog_metadata(e->prog_id, e->tool, sizeof(e->tool), e->version,
		      sizeof(e->version));
}

/* ---- BMC: /sys/fs/bpf/bmc/IFACE/ ---- */

static void scan_bmc(const struct netns_table *t, struct entry *e)
{
	const struct pin *xdp, *tc;
	struct bmc_config cfg;
	int err;

	set_str(e->iface, sizeof(e->iface), e->name);
	e->proto = 0;
	if (!e->is_dir) {
		set_state(e, STATE_BROKEN, "not a directory");
		return;
	}
	read_pins(e);
	xdp = find_pin(e, "xdp_link");
	tc = find_pin(e, "tc_prog");
	e->prog_id = xdp && xdp->prog_id ? xdp->prog_id : tc ? tc->prog_id : 0;
	finish(e);
	err = read_pinned_struct(e->dir, "config", &cfg, sizeof(cfg));
	if (err) {
		set_state(e, STATE_BROKEN, "cannot read its config map: %s",
			  fp_strerror(err));
		return;
	}
	e->readable = true;
	e->have_netns = true;
	e->netns_ino = cfg.netns_ino;
	e->ifindex = cfg.ifindex;
	e->port = cfg.port;
	e->attached_at = cfg.attached_at;
	e->xdp_mode = fp_xdp_mode_name((enum fp_xdp_mode)cfg.xdp_mode);
	snprintf(e->ports[0], sizeof(e->ports[0]), "udp/%u", cfg.port);
	snprintf(e->ports[1], sizeof(e->ports[1]), "tcp/%u", cfg.port);
	e->nr_ports = 2;
	check_place(t, e, e->name);
	if (!xdp)
		set_state(e, STATE_BROKEN,
			  "no xdp_link pin: XDP is not "
			  "attached (a half-done attach?)");
	else if (!xdp->ifindex && !strcmp(xdp->type, "link"))
		set_state(e, STATE_STALE,
			  "its XDP link is defunct: the "
			  "interface is gone");
}

/* ---- syrup-steer: /sys/fs/bpf/syrup/PROTO-PORT-nsINODE/ ---- */

/* Is executor e's socket still open in its process (pid and fd match)? */
static bool exec_alive(const struct syrup_exec *x)
{
	char path[64], link[64], want[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/fd/%u", x->pid, x->fd);
	snprintf(want, sizeof(want), "socket:[%llu]",
		 (unsigned long long)x->inode);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, want);
}

static void check_executors(struct entry *e, const struct syrup_info *in)
{
	char path[512], gone[64] = "";
	int execs_fd, socks_fd, open = 0, alive = 0;
	__u32 n = in->nr_executors < SYRUP_MAX_EXECUTORS ? in->nr_executors
							 : SYRUP_MAX_EXECUTORS;

	if (fp_pin_path(path, sizeof(path), e->dir, "execs"))
		return;
	execs_fd = bpf_obj_get(path);
	if (fp_pin_path(path, sizeof(path), e->dir, "socks"))
		path[0] = '\0';
	socks_fd = path[0] ? bpf_obj_get(path) : -1;
	for (__u32 i = 0; i < n; i++) {
		struct syrup_exec x = {};
		__u64 cookie;

		/* the sockarray forgets a socket as soon as it closes */
		if (socks_fd >= 0 &&
		    !bpf_map_lookup_elem(socks_fd, &i, &cookie))
			open++;
		if (execs_fd < 0 || bpf_map_lookup_elem(execs_fd, &i, &x))
			continue;
		if (exec_alive(&x))
			alive++;
		else if (!gone[0] && x.pid && kill((pid_t)x.pid, 0) &&
			 errno == ESRCH)
			snprintf(gone, sizeof(gone), " (process %u is gone)",
				 x.pid);
	}
	if (execs_fd >= 0)
		close(execs_fd);
	if (socks_fd >= 0)
		close(socks_fd);
	if (n && !open && !alive)
		set_state(e, STATE_STALE, "all %u sockets are closed%s", n,
			  gone);
	else if (open < (int)n && e->state == STATE_ATTACHED)
		snprintf(e->reason, sizeof(e->reason),
			 "%d of %u sockets closed%s", (int)n - open, n, gone);
}

static void scan_syrup(const struct netns_table *t, struct entry *e)
{
	struct syrup_info in;
	const struct pin *prog;
	char xdir[256];
	unsigned int port;
	char proto[8];
	int err;

	if (sscanf(e->name, "%3[a-z]-%u", proto, &port) == 2 && port < 65536) {
		e->proto = strcmp(proto, "tcp") ? PROTO_UDP : PROTO_TCP;
		e->port = (__u16)port;
		snprintf(e->name, sizeof(e->name), "%s/%u", proto, port);
		snprintf(e->ports[0], sizeof(e->ports[0]), "%s/%u", proto,
			 port);
		e->nr_ports = 1;
	}
	if (!e->is_dir) {
		set_state(e, STATE_BROKEN, "not a directory");
		return;
	}
	read_pins(e);
	prog = find_pin(e, "prog");
	e->prog_id = prog ? prog->prog_id : 0;
	finish(e);
	err = read_pinned_struct(e->dir, "info", &in, sizeof(in));
	if (err) {
		set_state(e, STATE_BROKEN, "cannot read its info map: %s",
			  fp_strerror(err));
		return;
	}
	e->readable = true;
	in.policy[sizeof(in.policy) - 1] = '\0';
	in.iface[sizeof(in.iface) - 1] = '\0';
	snprintf(e->policy, sizeof(e->policy), "%s", in.policy);
	e->layer = in.layer == SYRUP_LAYER_XDP ? "xdp" : "socket";
	e->have_netns = in.netns_ino != 0;
	e->netns_ino = in.netns_ino;
	e->attached_at = in.attached_at;
	if (in.layer == SYRUP_LAYER_XDP) {
		snprintf(e->iface, sizeof(e->iface), "%s", in.iface);
		e->ifindex = in.ifindex;
		e->xdp_mode = fp_xdp_mode_name((enum fp_xdp_mode)in.xdp_mode);
	}
	if (!prog)
		set_state(e, STATE_BROKEN, "no prog pin (a half-done attach?)");
	check_place(t, e, e->iface);
	if (in.layer == SYRUP_LAYER_XDP) {
		snprintf(xdir, sizeof(xdir), "%s/xdp-%u-%llu", SYRUP_ROOT,
			 in.ifindex, (unsigned long long)in.netns_ino);
		if (!fp_pin_dir_exists(xdir))
			set_state(e, STATE_BROKEN,
				  "its XDP dispatcher %s is gone", xdir);
	} else {
		check_executors(e, &in);
	}
}

/* ---- syrup-steer's thread layer: /sys/fs/bpf/syrup/thread/ ---- */

/*
 * Attached while sched_ext runs the scheduler attach enabled (its name,
 * and the enable_seq recorded then); stale once the kernel unloaded it.
 */
static void scan_thread(struct entry *e)
{
	struct syrup_thread_info in;
	char state[32], ops[64], seq[32];
	int err;

	e->layer = "thread";
	if (!e->is_dir) {
		set_state(e, STATE_BROKEN, "not a directory");
		return;
	}
	read_pins(e);
	err = read_pinned_struct(e->dir, "info", &in, sizeof(in));
	if (err) {
		set_state(e, STATE_BROKEN, "cannot read its info map: %s",
			  fp_strerror(err));
		return;
	}
	e->readable = true;
	in.policy[sizeof(in.policy) - 1] = '\0';
	in.cgroup[sizeof(in.cgroup) - 1] = '\0';
	snprintf(e->policy, sizeof(e->policy), "%s", in.policy);
	e->attached_at = in.attached_at;
	/* its programs have no link of their own: name the tool from info */
	snprintf(e->tool, sizeof(e->tool), "syrup-steer");
	fp_read_line("/sys/kernel/sched_ext/state", state, sizeof(state));
	fp_read_line("/sys/kernel/sched_ext/root/ops", ops, sizeof(ops));
	fp_read_line("/sys/kernel/sched_ext/enable_seq", seq, sizeof(seq));
	if (!strcmp(state, "enabled") && !strcmp(ops, SYRUP_THREAD_OPS_NAME) &&
	    strtoull(seq, NULL, 10) == in.enable_seq) {
		set_state(e, STATE_ATTACHED, "policy %s on cgroup %s",
			  in.policy, in.cgroup);
		return;
	}
	set_state(e, STATE_STALE,
		  "policy %s on cgroup %s: sched_ext unloaded it (see "
		  "'syrup-steer status')",
		  in.policy, in.cgroup);
}

/* ---- syrup-steer's XDP dispatchers: /sys/fs/bpf/syrup/xdp-I-N/ ---- */

static void scan_dispatcher(const struct netns_table *t, struct entry *e,
			    unsigned int ifindex, unsigned long long ino)
{
	const struct pin *link;
	char path[512];
	__u32 key, next, *prev = NULL;
	int fd, orphans = 0;

	e->ifindex = ifindex;
	e->have_netns = true;
	e->netns_ino = ino;
	if (!e->is_dir) {
		set_state(e, STATE_BROKEN, "not a directory");
		return;
	}
	read_pins(e);
	link = find_pin(e, "link");
	e->prog_id = link ? link->prog_id : 0;
	finish(e);
	/* the ports it hands to policies, and whether those still exist */
	fd = fp_pin_path(path, sizeof(path), e->dir, "ports")
		     ? -1
		     : bpf_obj_get(path);
	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		__u8 proto = (__u8)(next >> 16);
		char pdir[256];

		key = next;
		prev = &key;
		if (e->nr_ports < MAX_PORTS)
			snprintf(e->ports[e->nr_ports++], sizeof(e->ports[0]),
				 "%s/%u", proto_name(proto), next & 0xffff);
		/* the policy pins of the port in the dispatcher's netns */
		snprintf(pdir, sizeof(pdir), "%s/%s-%u-ns%llu", SYRUP_ROOT,
			 proto_name(proto), next & 0xffff, ino);
		orphans += !fp_pin_dir_exists(pdir);
	}
	if (fd >= 0)
		close(fd);
	e->readable = fd >= 0;
	if (!link)
		set_state(e, STATE_BROKEN, "no link pin: XDP is not attached");
	check_place(t, e, "");
	if (e->iface[0])
		snprintf(e->name, sizeof(e->name), "%s", e->iface);
	if (link && !link->ifindex && !strcmp(link->type, "link"))
		set_state(e, STATE_STALE,
			  "its XDP link is defunct: the "
			  "interface is gone");
	if (!e->nr_ports)
		set_state(e, STATE_STALE, "it serves no port");
	else if (orphans)
		set_state(e, STATE_BROKEN,
			  "%d of its ports have no policy pins", orphans);
}

static int scan_root(const struct netns_table *t, struct entries *es,
		     const char *root, bool syrup)
{
	struct dirent **names = NULL;
	int n = scandir(root, &names, NULL, alphasort), err = 0;

	/* Missing means nothing attached; unreadable must not look empty. */
	if (n < 0)
		return errno == ENOENT ? 0
				       : fp_error("cannot read %s: %s", root,
						  strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		unsigned long long ino;
		unsigned int ifindex;
		struct entry *e;
		char rest;

		if (name[0] == '.' || err)
			goto next;
		if (syrup && !strcmp(name, "thread")) {
			e = new_entry(es, KIND_SYRUP, root, name);
			if (e)
				scan_thread(e);
		} else if (syrup && sscanf(name, "xdp-%u-%llu%c", &ifindex,
					   &ino, &rest) == 2) {
			e = new_entry(es, KIND_DISPATCHER, root, name);
			if (e)
				scan_dispatcher(t, e, ifindex, ino);
		} else {
			e = new_entry(es, syrup ? KIND_SYRUP : KIND_BMC, root,
				      name);
			if (e && syrup)
				scan_syrup(t, e);
			else if (e)
				scan_bmc(t, e);
		}
		if (!e)
			err = fp_error("out of memory");
	next:
		free(names[i]);
	}
	free(names);
	return err;
}

static int cmp_entries(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int d = (int)x->kind - (int)y->kind;

	return d ? d : strcmp(x->dir, y->dir);
}

int scan_all(const struct netns_table *t, struct entries *es)
{
	memset(es, 0, sizeof(*es));
	if (scan_root(t, es, SYRUP_ROOT, true) ||
	    scan_root(t, es, BMC_ROOT, false))
		return 1;
	if (es->n)
		qsort(es->v, es->n, sizeof(es->v[0]), cmp_entries);
	return 0;
}

void entries_free(struct entries *es)
{
	free(es->v);
	memset(es, 0, sizeof(*es));
}
