// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer attach: find the executors, load the policy, configure it,
 * pin it, and only then put it in the packets' path (the reuseport groups,
 * or the interface's XDP dispatcher), so a failure leaves the port as it
 * was.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.h"

struct attach_opts {
	struct port_sel sel;
	const char *policy;
	const char *params[SYRUP_MAX_ARGS];
	int nr_params;
	pid_t pids[SYRUP_MAX_ARGS];
	int nr_pids;
	enum syrup_layer layer;
	const char *iface;
	const char *cpus;
	const char *cgroup; /* --layer thread */
	enum fp_xdp_mode xdp_mode;
	bool have_mode;
	bool xsk; /* --xsk: the XDP layer's executors are AF_XDP sockets */
};

/* What attach holds; the one cleanup path undoes what `stage` says. */
struct attach {
	const struct attach_opts *o;
	char dir[128];
	unsigned int ifindex;
	enum fp_xdp_mode used;
	struct executors ex;
	struct policy pol;
	struct dispatcher disp;
	enum {
		NOTHING_MADE,
		PINNED,	     /* dir exists: remove it */
		DISPATCHING, /* the dispatcher is open: take the port out */
		LIVE,	     /* on the sockets' groups: take the policy off */
	} stage;
};

/* Privileges, filesystems, namespace; and the port is not taken yet. */
static int prepare(struct attach *a)
{
	const struct attach_opts *o = a->o;
	unsigned int caps = FP_CAP_BPF | FP_CAP_NET_ADMIN;

	if (o->layer == SYRUP_LAYER_SOCKET || o->xsk)
		caps |= FP_CAP_SYS_PTRACE;
	if (o->sel.netns)
		caps |= FP_CAP_SYS_ADMIN;
	if (fp_check_privileges(caps))
		return 1;
	fp_bump_memlock();
	if (fp_mount_bpffs())
		return fp_error("cannot mount bpffs at %s", FP_BPFFS);
	if (o->sel.netns && fp_netns_enter(o->sel.netns))
		return 1;
	port_dir(a->dir, sizeof(a->dir), o->sel.proto, o->sel.port,
		 fp_netns_inode());
	if (fp_pin_dir_exists(a->dir))
		return fp_error("%s/%u is already under a policy (see "
				"'syrup-steer status'; 'syrup-steer detach "
				"--port %u' first)",
				proto_name(o->sel.proto), o->sel.port,
				o->sel.port);
	return 0;
}

static int find_executors(struct attach *a)
{
	const struct attach_opts *o = a->o;
	char xdir[128];

	if (o->layer == SYRUP_LAYER_SOCKET)
		return executors_find_sockets(&a->ex, &o->sel, o->pids,
					      o->nr_pids, false);
	a->ifindex = fp_ifindex(o->iface);
	if (!a->ifindex)
		return 1;
	dispatcher_dir(xdir, sizeof(xdir), a->ifindex, (__u64)fp_netns_inode());
	if (!fp_pin_dir_exists(xdir) && fp_xdp_attached(a->ifindex, NULL))
		return fp_error("another XDP program is already attached to %s "
				"(see 'ip link show %s')",
				o->iface, o->iface);
	if (o->xsk)
		return executors_find_xsks(&a->ex, o->pids, o->nr_pids,
					   a->ifindex, o->iface);
	return executors_find_cpus(&a->ex, o->cpus);
}

/* conf, parameters (defaults, then --param), the executors' map. */
static int configure(struct attach *a)
{
	const struct attach_opts *o = a->o;
	int params_fd = policy_map_fd(&a->pol, "syrup_params");
	int load_fd = policy_map_fd(&a->pol, "syrup_load");
	struct syrup_conf conf = {
		.nr_executors = (__u32)a->ex.n,
		.layer = o->layer,
		.port = o->sel.port,
		.proto = o->sel.proto,
		.builtin = (__u8)a->pol.builtin,
		.xsk = o->xsk,
	};
	struct syrup_setting s;
	char why[256];
	__u32 zero = 0;

	for (int i = 0; i < a->ex.n; i++)
		conf.cpus[i] = a->ex.e[i].info.cpu;
	if (bpf_map_update_elem(policy_map_fd(&a->pol, "syrup_conf"), &zero,
				&conf, BPF_ANY))
		return fp_error("cannot write the policy's configuration: %s",
				fp_strerror(-errno));
	syrup_settings_defaults(a->pol.builtin, params_fd);
	for (int i = 0; i < o->nr_params; i++) {
		if (syrup_setting_parse(o->params[i], a->pol.builtin, &s, why,
					sizeof(why)))
			return fp_error("%s", why);
		if (syrup_setting_write(&s, params_fd, load_fd))
			return 1;
	}
	return executors_fill_map(&a->ex, &a->pol, o->layer, o->xsk);
}

/* What attach recorded, for status and detach. */
static void fill_info(const struct attach *a, struct syrup_info *info)
{
	const struct attach_opts *o = a->o;

	memset(info, 0, sizeof(*info));
	snprintf(info->policy, sizeof(info->policy), "%s", a->pol.name);
	if (o->iface)
		snprintf(info->iface, sizeof(info->iface), "%s", o->iface);
	if (o->sel.netns)
		snprintf(info->netns, sizeof(info->netns), "%s", o->sel.netns);
	info->ifindex = a->ifindex;
	info->layer = o->layer;
	info->port = o->sel.port;
	info->proto = o->sel.proto;
	info->builtin = (__u8)a->pol.builtin;
	info->nr_executors = (__u32)a->ex.n;
	info->xdp_mode = a->used;
	info->xsk = o->xsk;
	info->netns_ino = fp_netns_inode();
	info->attached_at = (__u64)time(NULL);
}

/* The port's pin dir: maps, program, (the dispatcher,) info, execs. */
static int pin(struct attach *a)
{
	struct syrup_info info;
	int err;

	err = fp_pin_dir_create(a->dir);
	if (err)
		return fp_error("cannot create %s: %s", a->dir,
				fp_strerror(err));
	a->stage = PINNED;
	err = pinned_write_policy(a->dir, &a->pol, a->o->layer, a->o->xsk);
	if (!err && a->o->layer == SYRUP_LAYER_XDP) {
		if (dispatcher_open(&a->disp, a->ifindex, a->o->iface,
				    a->o->xdp_mode, &a->used))
			return 1;
		a->stage = DISPATCHING;
	}
	if (!err) {
		fill_info(a, &info);
		err = pinned_write_info(a->dir, &info, &a->ex);
	}
	if (err)
		return fp_error("cannot pin the policy under %s: %s", a->dir,
				fp_strerror(err));
	return 0;
}

/* From here on the policy decides: sockets' groups or the dispatcher. */
static int go_live(struct attach *a)
{
	const struct attach_opts *o = a->o;
	int prog_fd = bpf_program__fd(a->pol.prog), done, err;

	if (o->layer == SYRUP_LAYER_XDP)
		return dispatcher_insert(&a->disp, prog_fd, o->sel.proto,
					 o->sel.port, o->iface);
	err = executors_attach(&a->ex, prog_fd, &done);
	/* a group's own program, if it had one, stays when none took ours */
	if (done)
		a->stage = LIVE;
	return err;
}

static void print_attached(const struct attach *a)
{
	struct pinned p;
	struct fp_json j;

	fp_json_init(&j, stdout);
	if (pinned_read(a->dir, &p))
		return;
	status_print(&p, NULL, fp_opts.json ? &j : NULL);
	pinned_close(&p);
}

static void undo(struct attach *a)
{
	const struct attach_opts *o = a->o;

	bool xdp = o->layer == SYRUP_LAYER_XDP;

	if (a->stage >= LIVE && !xdp)
		executors_detach(&a->ex);
	if (a->stage >= DISPATCHING && xdp)
		dispatcher_remove(a->disp.dir, o->sel.proto, o->sel.port);
	if (a->stage >= PINNED)
		fp_pin_dir_remove(a->dir, FP_BPFFS);
}

/* --layer thread: thread.c does the rest. */
static int attach_thread(const struct attach_opts *o)
{
	struct thread_req r = {
		.policy = o->policy,
		.cgroup = o->cgroup,
		.pid = o->nr_pids ? o->pids[0] : 0,
		.cpus = o->cpus,
		.params = o->params,
		.nr_params = o->nr_params,
	};

	return thread_attach(&r);
}

static int do_attach(const void *opts)
{
	struct attach a = {
		.o = opts,
		.used = FP_XDP_NATIVE,
		.disp = {.progs_fd = -1, .ports_fd = -1},
	};
	int err;

	/* a closed stdout (| head) must not kill us before the cleanup */
	signal(SIGPIPE, SIG_IGN);
	if (a.o->layer == SYRUP_LAYER_THREAD)
		return attach_thread(a.o);
	if (prepare(&a))
		return 1;
	err = find_executors(&a) ||
	      policy_load(&a.pol, a.o->policy, a.o->layer) || configure(&a) ||
	      pin(&a) || go_live(&a);
	if (!err)
		print_attached(&a);
	dispatcher_close(&a.disp);
	if (err)
		undo(&a);
	executors_close(&a.ex);
	policy_unload(&a.pol);
	return err ? 1 : 0;
}

static const char doc[] =
	"Put a port's SO_REUSEPORT group (or its packets on an interface) "
	"under a policy.\n"
	"\n"
	"POLICY is a built-in (rr, hash, random, least-loaded, sita), a .c "
	"file "
	"with a schedule() written against <fastpath/syrup.h> (compiled with "
	"clang; $CLANG and $SYRUP_CFLAGS are honoured), or a .bpf.o built from "
	"one. The sockets bound to the port are found in their processes and "
	"numbered by ascending pid, then fd.\n"
	"\n"
	"--layer thread (Linux 6.13+ with sched_ext) puts one cgroup's "
	"threads under a sched_ext scheduler instead: POLICY is rr, sita, or "
	"a .c (or .bpf.o) with a schedule_thread() written against "
	"<fastpath/syrup-sched.h>; executors are --cpus, and no port is "
	"involved."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer attach -P 9000 --policy rr         # UDP, socket "
	"layer\n"
	"    syrup-steer attach -P 8080 --proto tcp --policy least-loaded\n"
	"    syrup-steer attach -P 9000 --policy sita --param "
	"threshold=1000\n"
	"    syrup-steer attach -P 9000 --policy ./policy.c -p 4242\n"
	"    syrup-steer attach -P 9000 --policy hash --layer xdp -I eth0 "
	"--cpus 0-3\n"
	"    syrup-steer attach -P 9000 --policy rr --layer xdp -I eth0 --xsk "
	"-p 4242\n"
	"                                  # over the AF_XDP sockets of 4242\n"
	"    syrup-steer attach --layer thread --cgroup app.slice --policy rr "
	"--cpus 2,3\n"
	"                                  # the cgroup's threads on CPUs 2, "
	"3\n"
	"    syrup-steer attach --layer thread -p 4242 --policy sita --cpus "
	"0-3\n";

static const struct argp_option options[] = {
	{"port", 'P', "PORT", 0, "The port (required)", 0},
	{"proto", OPT_PROTO, "PROTO", 0, "udp (default) or tcp", 0},
	{"policy", OPT_POLICY, "NAME|FILE", 0,
	 "Built-in policy, or a .c / .bpf.o policy file (required)", 0},
	{"param", OPT_PARAM, "KEY=VALUE", 0,
	 "Set a policy parameter (repeatable)", 0},
	{"pid", 'p', "PID", 0,
	 "Take sockets only from this process (repeatable); thread layer: "
	 "its cgroup",
	 0},
	{"layer", OPT_LAYER, "LAYER", 0,
	 "socket (default: pick a socket), xdp (pick a CPU) or thread "
	 "(place a cgroup's threads)",
	 0},
	{"cgroup", OPT_CGROUP, "PATH", 0,
	 "Thread layer: the cgroup (v2) whose threads the policy places", 0},
	{"interface", 'I', "IFACE", 0, "Interface for --layer xdp", 0},
	{"iface", 'I', NULL, OPTION_ALIAS | OPTION_HIDDEN, NULL, 0},
	{"cpus", OPT_CPUS, "LIST", 0,
	 "XDP and thread layers: the executor CPUs, e.g. 0-3 or 1,3 "
	 "(default: all online)",
	 0},
	{"mode", OPT_MODE, "MODE", 0,
	 "XDP mode: auto (default), native or generic", 0},
	{"xsk", OPT_XSK, NULL, 0,
	 "XDP layer: the executors are AF_XDP sockets (those of the -p "
	 "processes), not CPUs",
	 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{},
};

/* The combinations argp cannot express, checked once all is parsed. */
static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n > m && !strcmp(s + n - m, tail);
}

static void check_thread(struct argp_state *state, const struct attach_opts *o)
{
	if (o->sel.have_port || o->sel.have_proto || o->sel.netns || o->iface ||
	    o->have_mode || o->xsk)
		argp_error(state, "--layer thread takes no --port, --proto, "
				  "--netns, --interface, --mode or --xsk");
	if (!o->policy)
		argp_error(state, "--policy is required");
	if (!o->cgroup == !o->nr_pids)
		argp_error(state, "--layer thread needs --cgroup PATH or "
				  "--pid PID (one of them)");
	if (o->nr_pids > 1)
		argp_error(state, "--layer thread takes one --pid");
	if (thread_builtin_id(o->policy) < 0 && !ends_with(o->policy, ".c") &&
	    !ends_with(o->policy, ".o"))
		argp_error(state,
			   "unknown thread policy '%s': want rr, sita, or a "
			   ".c or .bpf.o file against syrup-sched.h",
			   o->policy);
}

static void check_attach(struct argp_state *state, const struct attach_opts *o)
{
	if (o->layer == SYRUP_LAYER_THREAD) {
		check_thread(state, o);
		return;
	}
	if (o->cgroup)
		argp_error(state, "--cgroup goes with --layer thread");
	port_sel_check(state, &o->sel);
	if (!o->policy)
		argp_error(state, "--policy is required");
	if (o->layer == SYRUP_LAYER_XDP && !o->iface)
		argp_error(state, "--layer xdp needs --interface");
	if (o->layer != SYRUP_LAYER_XDP &&
	    (o->iface || o->cpus || o->have_mode))
		argp_error(state, "--interface, --cpus and --mode go with "
				  "--layer xdp (--cpus also with --layer "
				  "thread)");
	if (o->xsk && o->layer != SYRUP_LAYER_XDP)
		argp_error(state, "--xsk goes with --layer xdp");
	if (o->xsk && o->cpus)
		argp_error(state, "--xsk and --cpus do not mix (the executors "
				  "are AF_XDP sockets)");
	if (o->xsk && !o->nr_pids)
		argp_error(state, "--xsk needs --pid PID (the process holding "
				  "the AF_XDP sockets)");
	if (o->layer == SYRUP_LAYER_XDP && o->nr_pids && !o->xsk)
		argp_error(state, "--pid goes with --layer socket (or --xsk)");
	if (!syrup_policy_spec_valid(o->policy))
		argp_error(state,
			   "unknown policy '%s': want rr, hash, random, "
			   "least-loaded, sita, or a .c or .bpf.o file",
			   o->policy);
}

static error_t parse_attach(int key, char *arg, struct argp_state *state)
{
	struct attach_opts *o = state->input;
	uint64_t pid;

	switch (key) {
	case OPT_POLICY:
		o->policy = arg;
		return 0;
	case OPT_PARAM:
		if (o->nr_params >= SYRUP_MAX_ARGS)
			argp_error(state, "too many --param");
		if (!syrup_setting_shape_ok(arg))
			argp_error(state,
				   "invalid --param '%s': want KEY=VALUE", arg);
		o->params[o->nr_params++] = arg;
		return 0;
	case 'p':
		if (o->nr_pids >= SYRUP_MAX_ARGS)
			argp_error(state, "too many --pid");
		if (fp_parse_u64(arg, 1, INT_MAX, &pid))
			argp_error(state, "invalid pid '%s'", arg);
		o->pids[o->nr_pids++] = (pid_t)pid;
		return 0;
	case OPT_LAYER:
		if (!strcmp(arg, "socket"))
			o->layer = SYRUP_LAYER_SOCKET;
		else if (!strcmp(arg, "xdp"))
			o->layer = SYRUP_LAYER_XDP;
		else if (!strcmp(arg, "thread"))
			o->layer = SYRUP_LAYER_THREAD;
		else
			argp_error(state,
				   "invalid layer '%s': want socket, xdp or "
				   "thread",
				   arg);
		return 0;
	case OPT_CGROUP:
		o->cgroup = arg;
		return 0;
	case 'I':
		if (!fp_ifname_valid(arg))
			argp_error(state, "invalid interface name '%s'", arg);
		o->iface = arg;
		return 0;
	case OPT_CPUS:
		o->cpus = arg;
		return 0;
	case OPT_XSK:
		o->xsk = true;
		return 0;
	case OPT_MODE:
		if (fp_xdp_mode_parse(arg, &o->xdp_mode))
			argp_error(state,
				   "invalid mode '%s': want auto, native or "
				   "generic",
				   arg);
		o->have_mode = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		check_attach(state, o);
		return 0;
	default:
		return port_sel_parse(key, arg, state, &o->sel);
	}
}

static const struct argp argp = {
	options, parse_attach, NULL, doc, json_children, NULL, NULL,
};

static const struct attach_opts defaults = {
	.sel.proto = PROTO_UDP,
	.layer = SYRUP_LAYER_SOCKET,
	.xdp_mode = FP_XDP_AUTO,
};

const struct fp_command attach_cmd = {
	.name = "attach",
	.summary = "put a port (or a cgroup's threads) under a policy",
	.argp = &argp,
	.opts_size = sizeof(struct attach_opts),
	.defaults = &defaults,
	.run = do_attach,
};
