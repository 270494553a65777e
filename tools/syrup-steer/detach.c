// SPDX-License-Identifier: GPL-2.0
/* syrup-steer detach: the kernel's default choice (or scheduler) is back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steer.h"

struct detach_opts {
	struct port_sel sel;
	bool thread; /* --layer thread */
};

/* Takes the policy off the socket's group; true if it did. */
static bool release(pid_t pid, int fd)
{
	int sfd = fp_take_fd(pid, fd);
	bool done;

	if (sfd < 0)
		return false;
	done = !reuseport_detach(sfd);
	close(sfd);
	return done;
}

/*
 * First the very sockets attach took, if they are still there; else any
 * socket of the port (in the netns it was put in). Returns how many groups
 * were released.
 */
static int release_sockets(const struct pinned *p, const char *netns)
{
	struct fp_socket_query q = {.proto = p->info.proto,
				    .port = p->info.port};
	struct fp_port_socket *s;
	int done = 0, n;

	for (__u32 i = 0; i < p->info.nr_executors; i++) {
		const struct syrup_exec *e = &p->execs[i];

		if (fp_fd_is_socket((pid_t)e->pid, (int)e->fd, e->inode))
			done += release((pid_t)e->pid, (int)e->fd);
	}
	if (done)
		return done;
	if (!netns && p->info.netns[0] && fp_netns_enter(p->info.netns))
		fp_warn("cannot enter netns %s: looking in this one",
			p->info.netns);
	n = fp_port_sockets(&q, &s);
	for (int i = 0; i < n; i++)
		done += release(s[i].pid, s[i].fd);
	free(s); /* NULL when none were found */
	return done;
}

static void print_detached(const struct pinned *p, int released)
{
	const struct syrup_info *in = &p->info;

	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "proto", proto_name(in->proto));
		fp_json_kv_u64(&j, "port", in->port);
		fp_json_kv_string(&j, "layer", layer_name(in->layer));
		fp_json_kv_bool(&j, "detached", true);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else if (in->layer == SYRUP_LAYER_XDP) {
		printf("%s/%u: policy %s detached from %s\n",
		       proto_name(in->proto), in->port, in->policy, in->iface);
	} else if (released) {
		printf("%s/%u: policy %s detached; the kernel's default "
		       "reuseport choice is back\n",
		       proto_name(in->proto), in->port, in->policy);
	} else {
		printf("%s/%u: no socket is left on the port; removed the "
		       "policy's pins\n",
		       proto_name(in->proto), in->port);
	}
}

static int do_detach(const void *opts)
{
	const struct detach_opts *o = opts;
	const struct port_sel *sel = &o->sel;
	struct pinned p;
	int released = 0, err, lock;

	if (o->thread)
		return thread_detach();
	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_NET_ADMIN |
				FP_CAP_SYS_PTRACE))
		return 1;
	fp_mount_bpffs();
	if (sel->netns && fp_netns_enter(sel->netns))
		return 1;
	if (pinned_open_port(sel, &p))
		return 1;
	/* a running daemon must not put the policy back meanwhile */
	lock = pinned_lock(p.dir);
	if (p.info.layer == SYRUP_LAYER_SOCKET)
		released = release_sockets(&p, sel->netns);
	pinned_close(&p);
	if (p.info.layer == SYRUP_LAYER_XDP) {
		char xdir[128];

		dispatcher_dir(xdir, sizeof(xdir), p.info.ifindex,
			       p.info.netns_ino);
		dispatcher_remove(xdir, p.info.proto, p.info.port);
	}
	err = fp_pin_dir_remove(p.dir, FP_BPFFS);
	if (lock >= 0)
		close(lock);
	if (err && err != -ENOENT)
		return fp_error("cannot remove %s: %s", p.dir,
				fp_strerror(err));
	print_detached(&p, released);
	return 0;
}

static const char doc[] =
	"Remove a port's policy: the kernel's default choice comes back."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer detach -P 9000\n"
	"    syrup-steer detach -P 8080 --proto tcp\n"
	"    syrup-steer detach --layer thread   # the default scheduler is "
	"back\n";

static const struct argp_option options[] = {
	{"port", 'P', "PORT", 0, "The port (required, but for --layer thread)",
	 0},
	{"proto", OPT_PROTO, "PROTO", 0,
	 "udp or tcp (needed only when both are attached)", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{"layer", OPT_LAYER, "thread", 0,
	 "The thread layer's cgroup goes back to the default scheduler", 0},
	{},
};

static error_t parse_detach(int key, char *arg, struct argp_state *state)
{
	struct detach_opts *o = state->input;

	switch (key) {
	case OPT_LAYER:
		if (strcmp(arg, "thread"))
			argp_error(state,
				   "invalid layer '%s': detach takes --layer "
				   "thread (a port's layer comes with --port)",
				   arg);
		o->thread = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		if (o->thread && (o->sel.have_port || o->sel.have_proto))
			argp_error(state, "--layer thread takes no --port");
		if (!o->thread)
			port_sel_check(state, &o->sel);
		return 0;
	default:
		return port_sel_parse(key, arg, state, &o->sel);
	}
}

static const struct argp argp = {
	options, parse_detach, NULL, doc, json_children, NULL, NULL,
};

static const struct detach_opts defaults = {.sel.proto = PROTO_UDP};

const struct fp_command detach_cmd = {
	.name = "detach",
	.summary = "give the port back to the kernel's default choice",
	.argp = &argp,
	.opts_size = sizeof(struct detach_opts),
	.defaults = &defaults,
	.run = do_detach,
};
