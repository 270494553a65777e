// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer: user-defined packet and connection scheduling (Syrup,
 * Kaffes et al., SOSP'21) on an unmodified kernel and application.
 *
 * A policy (a schedule() function, include/syrup.h) picks, for each
 * datagram or connection of one port, the executor that gets it: a socket
 * of the port's SO_REUSEPORT group (socket layer, an sk_reuseport program
 * attached to the group) or a CPU (XDP layer, XDP + cpumap). The sockets are
 * taken from the application with pidfd_getfd(); everything that must
 * outlive the tool is pinned under /sys/fs/bpf/syrup/PROTO-PORT/ (the layout
 * is in bpf/syrup-steer.h).
 */
#include <argp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/types.h>

#include "fastpath.h"
#include "syrup.h"
#include "syrup-steer.h"
#include "syrup-steer.skel.h"
#include "syrup-dispatch.skel.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYRUP_PREFIX_INCLUDE
#define SYRUP_PREFIX_INCLUDE "/usr/local/include/fastpath"
#endif

#define PIN_ROOT     FP_BPFFS "/syrup"
#define PROTO_UDP    17
#define PROTO_TCP    6
#define MAX_ARGS     64
#define LOG_BUF_SIZE (4 << 20)

extern char **environ;

enum command { CMD_ATTACH, CMD_DETACH, CMD_STATUS, CMD_STATS, CMD_SET };

static const char *const command_names[] = {
	[CMD_ATTACH] = "attach", [CMD_DETACH] = "detach",
	[CMD_STATUS] = "status", [CMD_STATS] = "stats",
	[CMD_SET] = "set",
};

static const char *const builtin_names[] = {
	[SYRUP_RR] = "rr",	   [SYRUP_HASH] = "hash",
	[SYRUP_RANDOM] = "random", [SYRUP_LEAST_LOADED] = "least-loaded",
	[SYRUP_SITA] = "sita",
};
#define NR_BUILTINS (sizeof(builtin_names) / sizeof(builtin_names[0]))

/* Parameters the built-ins read; `bytes` ones take a string of <= 8 bytes. */
static const struct param_def {
	int builtin;
	const char *name;
	bool bytes;
	__u64 def;
} param_defs[] = {
	{SYRUP_SITA, "threshold", false, 0},
	{SYRUP_SITA, "class", true, 0},
	{SYRUP_SITA, "big", false, 1},
};
#define NR_PARAM_DEFS (sizeof(param_defs) / sizeof(param_defs[0]))

static struct env {
	enum command cmd;
	__u16 port;
	bool have_port;
	__u8 proto;
	bool have_proto;
	const char *policy;
	const char *params[MAX_ARGS];
	int nr_params;
	pid_t pids[MAX_ARGS];
	int nr_pids;
	enum syrup_layer layer;
	bool have_layer;
	const char *iface;
	const char *netns;
	const char *cpus;
	enum fp_xdp_mode xdp_mode;
	bool have_mode;
} env;

/* One executor: a socket taken from an application, or a CPU. */
struct executor {
	struct syrup_exec info;
	int fd; /* our copy of the socket, -1 for CPUs */
};

static struct executor execs[SYRUP_MAX_EXECUTORS];
static int nr_execs;
static char log_buf[LOG_BUF_SIZE];

static const char *proto_name(__u8 proto)
{
	return proto == PROTO_TCP ? "tcp" : "udp";
}

static const char *layer_name(__u32 layer)
{
	return layer == SYRUP_LAYER_XDP ? "xdp" : "socket";
}

static int builtin_id(const char *name)
{
	for (size_t i = 1; i < NR_BUILTINS; i++)
		if (builtin_names[i] && !strcmp(builtin_names[i], name))
			return (int)i;
	return -1;
}

static const char *builtin_name(int id)
{
	return id > 0 && (size_t)id < NR_BUILTINS ? builtin_names[id] : "user";
}

static const struct param_def *param_def(int builtin, const char *name)
{
	for (size_t i = 0; i < NR_PARAM_DEFS; i++)
		if (param_defs[i].builtin == builtin &&
		    !strcmp(param_defs[i].name, name))
			return &param_defs[i];
	return NULL;
}

static void param_names(int builtin, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_PARAM_DEFS && off < len; i++) {
		if (param_defs[i].builtin != builtin)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? ", " : "", param_defs[i].name);
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void pin_dir_of(char *buf, size_t len, __u8 proto, __u16 port)
{
	snprintf(buf, len, "%s/%s-%u", PIN_ROOT, proto_name(proto), port);
}

/* ---------------------------------------------------------------------- */
/* Command line                                                            */

enum {
	OPT_PROTO = 1000,
	OPT_PARAM,
	OPT_PID,
	OPT_LAYER,
	OPT_NETNS,
	OPT_CPUS,
	OPT_MODE,
};

const char *argp_program_version = "syrup-steer " FASTPATH_VERSION;

static const char top_doc[] =
	"Steer a port's datagrams and connections with a Syrup policy.\n"
	"\n"
	"COMMANDS:\n"
	"  attach   put a port under a policy (socket or XDP layer)\n"
	"  detach   give the port back to the kernel's default choice\n"
	"  status   every port under a policy, its layer and executors\n"
	"  stats    per-executor counts: steered, fallbacks, errors\n"
	"  set      change a policy parameter (or an executor's load) live\n"
	"\n"
	"'syrup-steer COMMAND --help' lists each command's options."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer attach --port 9000 --policy rr  # round robin, "
	"sockets\n"
	"    syrup-steer attach -p 9000 -P sita --param class=SCAN\n"
	"                                  # SCAN requests get their own "
	"socket\n"
	"    syrup-steer attach -p 9000 -P ./policy.c    # your schedule()\n"
	"    syrup-steer status                # ports, policies, executors\n"
	"    syrup-steer stats -p 9000 -i 1    # per-executor counts each "
	"second\n"
	"    syrup-steer set -p 9000 threshold=512       # a parameter, live\n"
	"    syrup-steer detach -p 9000        # the kernel's hashing is "
	"back\n";

static const char attach_doc[] =
	"Put a port's SO_REUSEPORT group (or its packets on an interface) "
	"under a policy.\n"
	"\n"
	"POLICY is a built-in (rr, hash, random, least-loaded, sita), a .c "
	"file "
	"with a schedule() written against <fastpath/syrup.h> (compiled with "
	"clang; $CLANG and $SYRUP_CFLAGS are honoured), or a .bpf.o built from "
	"one. The sockets bound to the port are found in their processes and "
	"numbered by ascending pid, then fd."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer attach -p 9000 -P rr               # UDP, socket "
	"layer\n"
	"    syrup-steer attach -p 8080 --proto tcp -P least-loaded\n"
	"    syrup-steer attach -p 9000 -P sita --param threshold=1000\n"
	"    syrup-steer attach -p 9000 -P ./policy.c --pid 4242\n"
	"    syrup-steer attach -p 9000 -P hash --layer xdp -I eth0 --cpus "
	"0-3\n";

static const struct argp_option attach_options[] = {
	{"port", 'p', "PORT", 0, "The port (required)", 0},
	{"proto", OPT_PROTO, "PROTO", 0, "udp (default) or tcp", 0},
	{"policy", 'P', "NAME|FILE", 0,
	 "Built-in policy, or a .c / .bpf.o policy file (required)", 0},
	{"param", OPT_PARAM, "KEY=VALUE", 0,
	 "Set a policy parameter (repeatable)", 0},
	{"pid", OPT_PID, "PID", 0,
	 "Take sockets only from this process (repeatable)", 0},
	{"layer", OPT_LAYER, "LAYER", 0,
	 "socket (default: pick a socket) or xdp (pick a CPU)", 0},
	{"iface", 'I', "IFACE", 0, "Interface for --layer xdp", 0},
	{"cpus", OPT_CPUS, "LIST", 0,
	 "XDP layer: the executor CPUs, e.g. 0-3 or 1,3 (default: all "
	 "online)",
	 0},
	{"mode", OPT_MODE, "MODE", 0,
	 "XDP mode: auto (default), native or generic", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{},
};

static const char detach_doc[] =
	"Remove a port's policy: the kernel's default choice comes back."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer detach -p 9000\n"
	"    syrup-steer detach -p 8080 --proto tcp\n";

static const struct argp_option port_options[] = {
	{"port", 'p', "PORT", 0, "The port (required)", 0},
	{"proto", OPT_PROTO, "PROTO", 0,
	 "udp or tcp (needed only when both are attached)", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{},
};

static const char status_doc[] =
	"Show every port under a policy: layer, policy, executors."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer status\n"
	"    syrup-steer status -j | jq .executors\n";

static const struct argp_option status_options[] = {
	{},
};

static const char stats_doc[] =
	"Per-executor counts of a port: steered, fallbacks, errors."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer stats -p 9000          # totals since attach\n"
	"    syrup-steer stats -p 9000 -i 1 -n 5   # five 1-second "
	"intervals\n"
	"    syrup-steer stats -p 9000 -j       # JSON Lines\n";

static const char set_doc[] =
	"Change a policy parameter live, or an executor's load (load.N=VALUE)."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer set -p 9000 threshold=512\n"
	"    syrup-steer set -p 9000 class=SCAN big=2\n"
	"    syrup-steer set -p 9000 load.0=10 load.1=3   # for "
	"least-loaded\n";

static int parse_pid(const char *s, pid_t *out)
{
	uint64_t v;

	if (fp_parse_u64(s, 1, INT_MAX, &v))
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

static error_t parse_cmd(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'p':
		if (fp_parse_port(arg, &env.port))
			argp_error(state, "invalid port '%s': want 1..65535",
				   arg);
		env.have_port = true;
		break;
	case OPT_PROTO:
		if (!strcmp(arg, "udp"))
			env.proto = PROTO_UDP;
		else if (!strcmp(arg, "tcp"))
			env.proto = PROTO_TCP;
		else
			argp_error(state,
				   "invalid protocol '%s': want udp or "
				   "tcp",
				   arg);
		env.have_proto = true;
		break;
	case 'P':
		env.policy = arg;
		break;
	case OPT_PARAM:
		if (env.nr_params >= MAX_ARGS)
			argp_error(state, "too many --param");
		if (!strchr(arg, '=') || arg[0] == '=')
			argp_error(state,
				   "invalid --param '%s': want KEY=VALUE", arg);
		env.params[env.nr_params++] = arg;
		break;
	case OPT_PID:
		if (env.nr_pids >= MAX_ARGS)
			argp_error(state, "too many --pid");
		if (parse_pid(arg, &env.pids[env.nr_pids]))
			argp_error(state, "invalid pid '%s'", arg);
		env.nr_pids++;
		break;
	case OPT_LAYER:
		if (!strcmp(arg, "socket"))
			env.layer = SYRUP_LAYER_SOCKET;
		else if (!strcmp(arg, "xdp"))
			env.layer = SYRUP_LAYER_XDP;
		else
			argp_error(state,
				   "invalid layer '%s': want socket or xdp",
				   arg);
		env.have_layer = true;
		break;
	case 'I':
		env.iface = arg;
		break;
	case OPT_CPUS:
		env.cpus = arg;
		break;
	case OPT_MODE:
		if (fp_xdp_mode_parse(arg, &env.xdp_mode))
			argp_error(state,
				   "invalid mode '%s': want auto, native "
				   "or generic",
				   arg);
		env.have_mode = true;
		break;
	case OPT_NETNS:
		env.netns = arg;
		break;
	case ARGP_KEY_ARG:
		if (env.cmd != CMD_SET)
			argp_error(state, "unexpected argument '%s'", arg);
		if (!strchr(arg, '=') || arg[0] == '=')
			argp_error(state,
				   "invalid setting '%s': want KEY=VALUE", arg);
		if (env.nr_params >= MAX_ARGS)
			argp_error(state, "too many settings");
		env.params[env.nr_params++] = arg;
		break;
	case ARGP_KEY_END:
		if (env.cmd != CMD_STATUS && !env.have_port)
			argp_error(state, "--port is required");
		if (env.cmd == CMD_ATTACH) {
			if (!env.policy)
				argp_error(state, "--policy is required");
			if (env.layer == SYRUP_LAYER_XDP && !env.iface)
				argp_error(state, "--layer xdp needs --iface");
			if (env.layer != SYRUP_LAYER_XDP &&
			    (env.iface || env.cpus || env.have_mode))
				argp_error(state,
					   "--iface, --cpus and --mode go "
					   "with --layer xdp");
			if (env.layer == SYRUP_LAYER_XDP && env.nr_pids)
				argp_error(state, "--pid goes with --layer "
						  "socket");
			if (builtin_id(env.policy) < 0 &&
			    !ends_with(env.policy, ".c") &&
			    !ends_with(env.policy, ".o"))
				argp_error(
					state,
					"unknown policy '%s': want rr, hash, "
					"random, least-loaded, sita, or a "
					".c or .bpf.o file",
					env.policy);
		}
		if (env.cmd == CMD_SET && !env.nr_params)
			argp_error(state, "nothing to set: give KEY=VALUE");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child output_children[] = {
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const struct argp_child stats_children[] = {
	{&fp_interval_argp, 0, NULL, 0},
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const struct argp cmd_argps[] = {
	[CMD_ATTACH] = {attach_options, parse_cmd, NULL, attach_doc,
			output_children, NULL, NULL},
	[CMD_DETACH] = {port_options, parse_cmd, NULL, detach_doc,
			output_children, NULL, NULL},
	[CMD_STATUS] = {status_options, parse_cmd, NULL, status_doc,
			output_children, NULL, NULL},
	[CMD_STATS] = {port_options, parse_cmd, NULL, stats_doc, stats_children,
		       NULL, NULL},
	[CMD_SET] = {port_options, parse_cmd, "KEY=VALUE...", set_doc,
		     output_children, NULL, NULL},
};

static int cmd_index = -1;

static error_t parse_top(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		for (size_t i = 0;
		     i < sizeof(command_names) / sizeof(*command_names); i++) {
			if (!strcmp(arg, command_names[i])) {
				env.cmd = (enum command)i;
				cmd_index = state->next - 1;
				state->next = state->argc; /* the rest is the
							      command's */
				return 0;
			}
		}
		argp_error(state,
			   "unknown command '%s': want attach, detach, status, "
			   "stats or set",
			   arg);
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "missing COMMAND: attach, detach, status, "
				  "stats or set");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp top_argp = {
	NULL, parse_top, "COMMAND [OPTION...]", top_doc, output_children,
	NULL, NULL};

/* ---------------------------------------------------------------------- */
/* Finding the executors                                                   */

struct inode_set {
	__u64 ino[1024];
	int n;
};

static bool inode_in(const struct inode_set *s, __u64 ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->ino[i] == ino)
			return true;
	return false;
}

/*
 * Inodes of the sockets bound to the port in our network namespace: UDP
 * sockets that are not connected, TCP sockets that listen.
 */
static void port_inodes(__u8 proto, __u16 port, struct inode_set *set)
{
	const char *files[2];
	char line[512];

	files[0] = proto == PROTO_TCP ? "/proc/self/net/tcp"
				      : "/proc/self/net/udp";
	files[1] = proto == PROTO_TCP ? "/proc/self/net/tcp6"
				      : "/proc/self/net/udp6";
	set->n = 0;
	for (int f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");

		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			unsigned int lport, state;
			unsigned long long ino;
			char laddr[64], raddr[64];
			unsigned int rport;

			if (sscanf(line,
				   " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x "
				   "%x %*s %*s %*s %*u %*u %llu",
				   laddr, &lport, raddr, &rport, &state,
				   &ino) != 6)
				continue;
			if (lport != port || !ino)
				continue;
			/* TCP_LISTEN for tcp, TCP_CLOSE (unconnected) for udp
			 */
			if (state != (proto == PROTO_TCP ? 0x0A : 0x07))
				continue;
			if (set->n <
			    (int)(sizeof(set->ino) / sizeof(set->ino[0])))
				set->ino[set->n++] = ino;
		}
		fclose(fp);
	}
}

struct candidate {
	pid_t pid;
	int fd;
	__u64 ino;
};

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static bool pid_wanted(pid_t pid)
{
	if (!env.nr_pids)
		return true;
	for (int i = 0; i < env.nr_pids; i++)
		if (env.pids[i] == pid)
			return true;
	return false;
}

/* Appends every fd of `pid` that is one of the sockets in `set`. */
static int scan_pid(pid_t pid, const struct inode_set *set, struct candidate *c,
		    int n, int max)
{
	char path[64], link[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d)) && n < max) {
		unsigned long long ino;
		char fdpath[384];
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		len = readlink(fdpath, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1 ||
		    !inode_in(set, ino))
			continue;
		c[n].pid = pid;
		c[n].fd = atoi(de->d_name);
		c[n].ino = ino;
		n++;
	}
	closedir(d);
	return n;
}

static int take_fd(pid_t pid, int fd, bool quiet)
{
	int pidfd, sfd, err;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		err = -errno;
		if (!quiet)
			fp_error("cannot open process %d: %s", pid,
				 fp_strerror(err));
		return err;
	}
	sfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	err = -errno;
	close(pidfd);
	if (sfd < 0) {
		if (!quiet)
			fp_error("cannot take socket fd %d of process %d: %s%s",
				 fd, pid, fp_strerror(err),
				 err == -EPERM ? " (need root or "
						 "CAP_SYS_PTRACE over it)"
					       : "");
		return err;
	}
	return sfd;
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int cand_cap = 4096;

/* Sockets of the port, by pid then fd, each socket once. */
static int find_candidates(__u8 proto, __u16 port, struct candidate *c)
{
	struct inode_set *set = calloc(1, sizeof(*set));
	int n = 0, out = 0;
	struct dirent *de;
	DIR *d;

	if (!set)
		return -ENOMEM;
	port_inodes(proto, port, set);
	if (set->n) {
		d = opendir("/proc");
		while (d && (de = readdir(d)) && n < cand_cap) {
			pid_t pid;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = atoi(de->d_name);
			if (pid == getpid() || !pid_wanted(pid))
				continue;
			n = scan_pid(pid, set, c, n, cand_cap);
		}
		if (d)
			closedir(d);
	}
	free(set);
	qsort(c, (size_t)n, sizeof(*c), cmp_candidate);
	/* A socket shared by fork or dup counts once, at its first place. */
	for (int i = 0; i < n; i++) {
		bool seen = false;

		for (int j = 0; j < out && !seen; j++)
			seen = c[j].ino == c[i].ino;
		if (!seen)
			c[out++] = c[i];
	}
	return out;
}

static int find_sockets(void)
{
	struct candidate *c = calloc((size_t)cand_cap, sizeof(*c));
	int n, err = 0;

	if (!c)
		return fp_error("out of memory");
	n = find_candidates(env.proto, env.port, c);
	if (n <= 0) {
		free(c);
		if (env.nr_pids)
			return fp_error("no socket bound to %s/%u in the given "
					"process(es) (is the application "
					"running%s?)",
					proto_name(env.proto), env.port,
					env.netns ? " in that netns" : "");
		return fp_error("no socket is bound to %s/%u%s%s (start the "
				"application first)",
				proto_name(env.proto), env.port,
				env.netns ? " in netns " : "",
				env.netns ? env.netns : "");
	}
	if (n > SYRUP_MAX_EXECUTORS) {
		free(c);
		return fp_error("%d sockets on %s/%u: at most %d executors "
				"(use --pid to choose)",
				n, proto_name(env.proto), env.port,
				SYRUP_MAX_EXECUTORS);
	}
	for (int i = 0; i < n; i++) {
		struct executor *e = &execs[nr_execs];
		socklen_t len;
		int on = 0, sfd;

		sfd = take_fd(c[i].pid, c[i].fd, false);
		if (sfd < 0) {
			err = 1;
			break;
		}
		e->fd = sfd;
		nr_execs++;
		len = sizeof(on);
		if (getsockopt(sfd, SOL_SOCKET, SO_REUSEPORT, &on, &len) ||
		    !on) {
			err = fp_error("the socket of process %d (fd %d) on "
				       "%s/%u has no SO_REUSEPORT: the "
				       "application must set it to share the "
				       "port",
				       c[i].pid, c[i].fd, proto_name(env.proto),
				       env.port);
			break;
		}
		e->info.pid = (__u32)c[i].pid;
		e->info.fd = (__u32)c[i].fd;
		e->info.inode = c[i].ino;
		len = sizeof(e->info.cookie);
		getsockopt(sfd, SOL_SOCKET, SO_COOKIE, &e->info.cookie, &len);
		len = sizeof(on);
		if (!getsockopt(sfd, SOL_SOCKET, SO_DOMAIN, &on, &len))
			e->info.family = (__u32)on;
		read_comm(c[i].pid, e->info.comm, sizeof(e->info.comm));
	}
	free(c);
	return err;
}

static int parse_cpu_list(const char *s, int *cpus, int max)
{
	int n = 0;
	char *copy = strdup(s), *tok, *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t a, b;
		char *dash = strchr(tok, '-');

		if (dash)
			*dash = '\0';
		if (fp_parse_u64(tok, 0, SYRUP_MAX_EXECUTORS - 1, &a) ||
		    fp_parse_u64(dash ? dash + 1 : tok, 0,
				 SYRUP_MAX_EXECUTORS - 1, &b) ||
		    b < a) {
			free(copy);
			return -EINVAL;
		}
		for (uint64_t c = a; c <= b; c++) {
			if (n >= max) {
				free(copy);
				return -E2BIG;
			}
			cpus[n++] = (int)c;
		}
	}
	free(copy);
	return n ? n : -EINVAL;
}

static int find_cpus(void)
{
	int cpus[SYRUP_MAX_EXECUTORS], n, online;
	char buf[256] = "";
	FILE *f;

	online = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (env.cpus) {
		n = parse_cpu_list(env.cpus, cpus, SYRUP_MAX_EXECUTORS);
		if (n < 0)
			return fp_error("invalid --cpus '%s': want a list like "
					"0-3 or 0,2 of CPUs below %d",
					env.cpus, SYRUP_MAX_EXECUTORS);
	} else {
		f = fopen("/sys/devices/system/cpu/online", "r");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			if (f)
				fclose(f);
			return fp_error("cannot read the online CPUs: %s",
					fp_strerror(-errno));
		}
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
		n = parse_cpu_list(buf, cpus, SYRUP_MAX_EXECUTORS);
		if (n < 0)
			return fp_error("cannot parse the online CPUs '%s' "
					"(give --cpus)",
					buf);
	}
	for (int i = 0; i < n; i++) {
		if (cpus[i] >= online)
			return fp_error("CPU %d does not exist (this machine "
					"has %d)",
					cpus[i], online);
		execs[i].fd = -1;
		execs[i].info.cpu = (__u32)cpus[i];
	}
	nr_execs = n;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Compiling and loading a policy                                          */

static bool file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The directory holding syrup.h: $SYRUP_INCLUDE, next to us, or PREFIX. */
static int find_header_dir(char *buf, size_t len)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *envdir = getenv("SYRUP_INCLUDE");
	ssize_t n;

	if (envdir) {
		snprintf(cand, sizeof(cand), "%s/syrup.h", envdir);
		if (file_exists(cand)) {
			snprintf(buf, len, "%s", envdir);
			return 0;
		}
		return fp_error("SYRUP_INCLUDE=%s holds no syrup.h", envdir);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		const char *rel[] = {"../include", "../include/fastpath"};

		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		for (size_t i = 0; i < 2; i++) {
			snprintf(cand, sizeof(cand), "%s/%s/syrup.h", exe,
				 rel[i]);
			if (file_exists(cand) && strlen(cand) < len) {
				cand[strlen(cand) - strlen("/syrup.h")] = '\0';
				memcpy(buf, cand, strlen(cand) + 1);
				return 0;
			}
		}
	}
	if (file_exists(SYRUP_PREFIX_INCLUDE "/syrup.h")) {
		snprintf(buf, len, "%s", SYRUP_PREFIX_INCLUDE);
		return 0;
	}
	return fp_error("cannot find syrup.h (install fastpath, or set "
			"SYRUP_INCLUDE to its directory)");
}

static char tmp_dir[64];

static void remove_tmp_dir(void)
{
	char path[128];

	if (!tmp_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/fastpath", tmp_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policy.bpf.o", tmp_dir);
	unlink(path);
	rmdir(tmp_dir);
	tmp_dir[0] = '\0';
}

/* clang -g -O2 -target bpf -mcpu=v3 ... FILE -> a temporary .bpf.o */
static int compile_policy(const char *src, char *obj, size_t obj_len)
{
	char hdr[PATH_MAX], inc1[PATH_MAX + 8], inc2[128], inc3[128];
	char link[128], *argv[MAX_ARGS + 24], *extra = NULL;
	const char *clang = getenv("CLANG") ?: "clang";
	const char *cflags = getenv("SYRUP_CFLAGS");
	struct utsname un;
	int argc = 0, status, err;
	pid_t pid;

	if (!file_exists(src))
		return fp_error("cannot read policy %s: %s", src,
				fp_strerror(-errno));
	if (find_header_dir(hdr, sizeof(hdr)))
		return 1;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/syrup-steer.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = '\0';
		return fp_error("cannot create a temporary directory: %s",
				fp_strerror(-errno));
	}
	/* so that #include <fastpath/syrup.h> works from the source tree */
	snprintf(link, sizeof(link), "%s/fastpath", tmp_dir);
	if (symlink(hdr, link))
		return fp_error("cannot link %s: %s", link,
				fp_strerror(-errno));
	snprintf(obj, obj_len, "%s/policy.bpf.o", tmp_dir);
	snprintf(inc1, sizeof(inc1), "-I%s", hdr);
	snprintf(inc2, sizeof(inc2), "-I%s", tmp_dir);
	uname(&un);
	snprintf(inc3, sizeof(inc3), "-I/usr/include/%s-linux-gnu",
		 !strcmp(un.machine, "arm64") ? "aarch64" : un.machine);

	argv[argc++] = (char *)clang;
	argv[argc++] = "-g";
	argv[argc++] = "-O2";
	argv[argc++] = "-target";
	argv[argc++] = "bpf";
	argv[argc++] = "-mcpu=v3";
	argv[argc++] = inc1;
	argv[argc++] = inc2;
	argv[argc++] = inc3;
	if (cflags) {
		char *save = NULL, *tok;

		extra = strdup(cflags);
		for (tok = extra ? strtok_r(extra, " \t", &save) : NULL;
		     tok && argc < MAX_ARGS; tok = strtok_r(NULL, " \t", &save))
			argv[argc++] = tok;
	}
	argv[argc++] = "-c";
	argv[argc++] = (char *)src;
	argv[argc++] = "-o";
	argv[argc++] = obj;
	argv[argc] = NULL;

	if (fp_opts.verbose) {
		fprintf(stderr, "syrup-steer: compiling:");
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	err = posix_spawnp(&pid, clang, NULL, NULL, argv, environ);
	free(extra);
	if (err)
		return fp_error("cannot run %s: %s (install clang, or set "
				"CLANG)",
				clang, fp_strerror(-err));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return fp_error("cannot compile policy %s: %s failed (see its "
				"messages above)",
				src, clang);
	return 0;
}

/* The verifier's verdict, readably: the error and the lines leading to it. */
static void show_verifier_log(const char *policy)
{
	struct fp_verifier_report r;

	fp_verifier_explain(log_buf, 12, &r);
	if (r.where[0])
		fp_error("the verifier refused policy %s: %s (at %s)", policy,
			 r.reason, r.where);
	else
		fp_error("the verifier refused policy %s: %s", policy,
			 r.reason);
	fprintf(stderr, "verifier log (last lines; the '; ' lines are your "
			"source):\n");
	for (const char *p = r.tail; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "  | %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

struct loaded {
	struct syrup_steer_bpf *skel;
	struct bpf_object *obj;
	struct bpf_program *prog;
	char name[64];
	int builtin;
};

/* What every policy needs of the kernel, whatever its layer. */
static const struct fp_requirement policy_needs[] = {
	{"BPF atomic fetch-and-add", "5.12", fp_probe_atomic_fetch},
};

static int load_policy(struct loaded *l)
{
	const char *entry = env.layer == SYRUP_LAYER_XDP ? "syrup_xdp"
							 : "syrup_sk_reuseport";
	struct bpf_program *p;
	char objpath[256];
	const char *path = env.policy, *base;
	int err;

	if (fp_require(NULL, policy_needs,
		       sizeof(policy_needs) / sizeof(policy_needs[0])))
		return 1;
	l->builtin = builtin_id(env.policy);
	if (l->builtin > 0) {
		l->skel = syrup_steer_bpf__open();
		if (!l->skel)
			return fp_error("cannot open the built-in policies: %s",
					fp_strerror(-errno));
		l->obj = l->skel->obj;
		snprintf(l->name, sizeof(l->name), "%s", env.policy);
	} else {
		if (ends_with(env.policy, ".c")) {
			if (compile_policy(env.policy, objpath,
					   sizeof(objpath)))
				return 1;
			path = objpath;
		} else if (!file_exists(env.policy)) {
			return fp_error("cannot read policy %s: %s", env.policy,
					fp_strerror(-errno));
		}
		l->obj = bpf_object__open_file(path, NULL);
		if (!l->obj)
			return fp_error("cannot open policy %s: %s (is it a "
					"BPF object built against syrup.h?)",
					env.policy, fp_strerror(-errno));
		base = strrchr(env.policy, '/');
		snprintf(l->name, sizeof(l->name), "%s",
			 base ? base + 1 : env.policy);
	}
	bpf_object__for_each_program(p, l->obj)
	{
		bool mine = !strcmp(bpf_program__name(p), entry);

		bpf_program__set_autoload(p, mine);
		if (mine)
			l->prog = p;
	}
	if (!l->prog)
		return fp_error("policy %s has no %s entry point (include "
				"<fastpath/syrup.h> and define schedule())",
				env.policy, entry);
	log_buf[0] = '\0';
	bpf_program__set_log_buf(l->prog, log_buf, sizeof(log_buf));
	err = bpf_object__load(l->obj);
	if (err) {
		if (log_buf[0])
			show_verifier_log(env.policy);
		else
			fp_error("cannot load policy %s: %s", env.policy,
				 fp_strerror(err));
		return 1;
	}
	return 0;
}

static void unload_policy(struct loaded *l)
{
	if (l->skel)
		syrup_steer_bpf__destroy(l->skel);
	else if (l->obj)
		bpf_object__close(l->obj);
	remove_tmp_dir();
}

/* "threshold=512", "class=SCAN" -> params; "load.N=V" -> load map. */
static int apply_setting(const char *setting, int builtin, bool user_policy,
			 int params_fd, int load_fd, bool quiet)
{
	char key[64], *eq;
	const char *val;
	struct syrup_param_key pk = {};
	const struct param_def *def = NULL;
	uint64_t v = 0, idx;

	snprintf(key, sizeof(key), "%s", setting);
	eq = strchr(key, '=');
	if (!eq)
		return fp_error("invalid setting '%s': want KEY=VALUE",
				setting);
	*eq = '\0';
	val = strchr(setting, '=') + 1;

	if (!strncmp(key, "load.", 5)) {
		if (fp_parse_u64(key + 5, 0, SYRUP_MAX_EXECUTORS - 1, &idx))
			return fp_error("invalid executor in '%s': want "
					"load.N with N below %d",
					setting, SYRUP_MAX_EXECUTORS);
		if (fp_parse_u64(val, 0, UINT64_MAX, &v))
			return fp_error("invalid load '%s': want a number",
					val);
		__u32 k = (__u32)idx;
		if (bpf_map_update_elem(load_fd, &k, &v, BPF_ANY))
			return fp_error("cannot write load.%u: %s", k,
					fp_strerror(-errno));
		if (!quiet)
			printf("%s/%u: load.%u = %llu\n", proto_name(env.proto),
			       env.port, k, (unsigned long long)v);
		return 0;
	}
	if (strlen(key) >= SYRUP_PARAM_NAME_LEN || !key[0])
		return fp_error("invalid parameter name '%s': 1 to %d bytes",
				key, SYRUP_PARAM_NAME_LEN - 1);
	if (!user_policy) {
		char names[128];

		def = param_def(builtin, key);
		if (!def) {
			param_names(builtin, names, sizeof(names));
			if (!names[0])
				return fp_error("policy %s takes no parameter "
						"('%s' given)",
						builtin_name(builtin), key);
			return fp_error("policy %s has no parameter '%s' "
					"(it has: %s)",
					builtin_name(builtin), key, names);
		}
	}
	if (def && def->bytes) {
		size_t len = strlen(val);
		struct syrup_param_key lk = {};
		__u64 l = len;

		if (len > 8)
			return fp_error("invalid %s '%s': at most 8 bytes", key,
					val);
		/* first payload byte in the lowest byte of the value */
		for (size_t i = 0; i < len; i++)
			v |= (__u64)(unsigned char)val[i] << (8 * i);
		size_t kl = strlen(key);

		if (kl + 4 >= sizeof(lk.name))
			return fp_error("parameter name '%s' is too long", key);
		memcpy(lk.name, key, kl);
		memcpy(lk.name + kl, "_len", 4);
		if (bpf_map_update_elem(params_fd, &lk, &l, BPF_ANY))
			return fp_error("cannot write %s: %s", lk.name,
					fp_strerror(-errno));
	} else if (fp_parse_u64(val, 0, UINT64_MAX, &v)) {
		return fp_error("invalid value '%s' for %s: want a number", val,
				key);
	}
	snprintf(pk.name, sizeof(pk.name), "%s", key);
	if (bpf_map_update_elem(params_fd, &pk, &v, BPF_ANY))
		return fp_error("cannot write parameter %s: %s", key,
				fp_strerror(-errno));
	if (!quiet)
		printf("%s/%u: %s = %s\n", proto_name(env.proto), env.port, key,
		       val);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Pinned state                                                            */

struct pinned {
	char dir[128];
	struct syrup_info info;
	struct syrup_exec execs[SYRUP_MAX_EXECUTORS];
	int conf_fd, params_fd, load_fd, stats_fd, socks_fd;
};

static int open_pin(const char *dir, const char *name)
{
	char path[256];

	if (fp_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

static void close_pinned(struct pinned *p)
{
	int *fds[] = {&p->conf_fd, &p->params_fd, &p->load_fd, &p->stats_fd,
		      &p->socks_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int read_pinned(const char *dir, struct pinned *p)
{
	__u32 zero = 0;
	int fd;

	memset(p, 0, sizeof(*p));
	p->conf_fd = p->params_fd = p->load_fd = p->stats_fd = p->socks_fd = -1;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	fd = open_pin(dir, "info");
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, &p->info)) {
		close(fd);
		return -errno;
	}
	close(fd);
	fd = open_pin(dir, "execs");
	if (fd >= 0) {
		for (__u32 i = 0;
		     i < p->info.nr_executors && i < SYRUP_MAX_EXECUTORS; i++)
			bpf_map_lookup_elem(fd, &i, &p->execs[i]);
		close(fd);
	}
	p->conf_fd = open_pin(dir, "conf");
	p->params_fd = open_pin(dir, "params");
	p->load_fd = open_pin(dir, "load");
	p->stats_fd = open_pin(dir, "stats");
	if (p->info.layer == SYRUP_LAYER_SOCKET)
		p->socks_fd = open_pin(dir, "socks");
	return 0;
}

/* The pin dir of --port (and --proto, or whichever exists). */
static int find_port_dir(char *dir, size_t len)
{
	char udp[128], tcp[128];
	bool u, t;

	if (env.have_proto) {
		pin_dir_of(dir, len, env.proto, env.port);
		if (!fp_pin_dir_exists(dir))
			return -ENOENT;
		return 0;
	}
	pin_dir_of(udp, sizeof(udp), PROTO_UDP, env.port);
	pin_dir_of(tcp, sizeof(tcp), PROTO_TCP, env.port);
	u = fp_pin_dir_exists(udp);
	t = fp_pin_dir_exists(tcp);
	if (u && t)
		return -EEXIST;
	if (!u && !t)
		return -ENOENT;
	env.proto = u ? PROTO_UDP : PROTO_TCP;
	snprintf(dir, len, "%s", u ? udp : tcp);
	return 0;
}

static int open_port(struct pinned *p)
{
	char dir[128];
	int err = find_port_dir(dir, sizeof(dir));

	if (err == -EEXIST)
		return fp_error("both udp/%u and tcp/%u are under a policy: "
				"give --proto",
				env.port, env.port);
	if (err)
		return fp_error(
			"no policy on %s%u (see 'syrup-steer status')",
			env.have_proto
				? (env.proto == PROTO_TCP ? "tcp/" : "udp/")
				: "port ",
			env.port);
	err = read_pinned(dir, p);
	if (err)
		return fp_error("cannot read %s: %s (a broken attach? "
				"'syrup-steer detach' removes it)",
				dir, fp_strerror(err));
	return 0;
}

static bool executor_open(const struct pinned *p, __u32 i)
{
	__u64 cookie;

	if (p->info.layer != SYRUP_LAYER_SOCKET)
		return true;
	if (p->socks_fd < 0)
		return false;
	return bpf_map_lookup_elem(p->socks_fd, &i, &cookie) == 0;
}

/* ---------------------------------------------------------------------- */
/* status                                                                  */

static void print_status_one(const struct pinned *p, struct fp_json *j)
{
	const struct syrup_info *in = &p->info;
	__u32 closed = 0;

	for (__u32 i = 0; i < in->nr_executors; i++)
		closed += !executor_open(p, i);
	if (j) {
		fp_json_object_begin(j);
		fp_json_kv_string(j, "proto", proto_name(in->proto));
		fp_json_kv_u64(j, "port", in->port);
		fp_json_kv_string(j, "layer", layer_name(in->layer));
		fp_json_kv_string(j, "policy", in->policy);
		fp_json_kv_bool(j, "builtin", in->builtin != SYRUP_USER);
		if (in->layer == SYRUP_LAYER_XDP) {
			fp_json_kv_string(j, "iface", in->iface);
			fp_json_kv_string(j, "xdp_mode",
					  fp_xdp_mode_name(in->xdp_mode));
		}
		if (in->netns[0])
			fp_json_kv_string(j, "netns", in->netns);
		fp_json_kv_string(j, "pins", p->dir);
		fp_json_kv_u64(j, "attached_at", in->attached_at);
		fp_json_kv_u64(j, "closed", closed);
		fp_json_key(j, "executors");
		fp_json_array_begin(j);
		for (__u32 i = 0; i < in->nr_executors; i++) {
			const struct syrup_exec *e = &p->execs[i];

			fp_json_object_begin(j);
			fp_json_kv_u64(j, "index", i);
			if (in->layer == SYRUP_LAYER_XDP) {
				fp_json_kv_u64(j, "cpu", e->cpu);
			} else {
				fp_json_kv_u64(j, "pid", e->pid);
				fp_json_kv_u64(j, "fd", e->fd);
				fp_json_kv_string(j, "comm", e->comm);
				fp_json_kv_u64(j, "inode", e->inode);
				fp_json_kv_bool(j, "open", executor_open(p, i));
			}
			fp_json_object_end(j);
		}
		fp_json_array_end(j);
		fp_json_object_end(j);
		fp_json_newline(j);
		return;
	}
	printf("%s/%u: policy %s, %s layer", proto_name(in->proto), in->port,
	       in->policy, layer_name(in->layer));
	if (in->layer == SYRUP_LAYER_XDP)
		printf(" on %s (%s)", in->iface,
		       fp_xdp_mode_name(in->xdp_mode));
	if (in->netns[0])
		printf(", netns %s", in->netns);
	printf(", %u executor%s", in->nr_executors,
	       in->nr_executors == 1 ? "" : "s");
	if (closed)
		printf(" (%u closed)", closed);
	printf("\n");
	if (in->layer == SYRUP_LAYER_XDP) {
		printf("  %4s %4s\n", "EXEC", "CPU");
		for (__u32 i = 0; i < in->nr_executors; i++)
			printf("  %4u %4u\n", i, p->execs[i].cpu);
		return;
	}
	printf("  %4s %8s %5s %-16s %s\n", "EXEC", "PID", "FD", "COMM",
	       "SOCKET");
	for (__u32 i = 0; i < in->nr_executors; i++) {
		const struct syrup_exec *e = &p->execs[i];

		printf("  %4u %8u %5u %-16s %s\n", i, e->pid, e->fd, e->comm,
		       executor_open(p, i) ? "open" : "closed (slot kept)");
	}
}

static int cmd_status(void)
{
	struct dirent **names = NULL;
	struct fp_json j;
	int n, shown = 0;

	fp_json_init(&j, stdout);
	n = scandir(PIN_ROOT, &names, NULL, alphasort);
	/* Missing means nothing attached; unreadable must not look empty. */
	if (n < 0 && errno != ENOENT)
		return fp_error("cannot read %s: %s%s", PIN_ROOT,
				strerror(errno),
				errno == EACCES ? " (run as root)" : "");
	for (int i = 0; i < n; i++) {
		char dir[512];
		struct pinned p;

		/* dispatchers (xdp-*) are no port of their own */
		if (names[i]->d_name[0] == '.' ||
		    !strncmp(names[i]->d_name, "xdp-", 4))
			goto next;
		snprintf(dir, sizeof(dir), "%s/%s", PIN_ROOT, names[i]->d_name);
		if (read_pinned(dir, &p)) {
			fp_warn("%s is incomplete (remove it with "
				"'syrup-steer detach')",
				dir);
			goto next;
		}
		if (shown && !fp_opts.json)
			printf("\n");
		print_status_one(&p, fp_opts.json ? &j : NULL);
		close_pinned(&p);
		shown++;
	next:
		free(names[i]);
	}
	free(names);
	if (!shown && !fp_opts.json)
		printf("no port is under a syrup policy\n");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* attach                                                                  */

static int detach_fd(int sfd)
{
	int zero = 0; /* the kernel wants an int even here */

	if (setsockopt(sfd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero,
		       sizeof(zero)) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

static void detach_sockets(void)
{
	for (int i = 0; i < nr_execs; i++)
		if (execs[i].fd >= 0)
			detach_fd(execs[i].fd);
}

static int create_info_maps(const char *dir, const struct loaded *l,
			    enum fp_xdp_mode used, unsigned int ifindex)
{
	struct syrup_info info = {};
	char path[256];
	__u32 zero = 0;
	struct stat st;
	int fd, err;

	snprintf(info.policy, sizeof(info.policy), "%s", l->name);
	if (env.iface)
		snprintf(info.iface, sizeof(info.iface), "%s", env.iface);
	if (env.netns)
		snprintf(info.netns, sizeof(info.netns), "%s", env.netns);
	info.ifindex = ifindex;
	info.layer = env.layer;
	info.port = env.port;
	info.proto = env.proto;
	info.builtin = (__u8)(l->builtin > 0 ? l->builtin : 0);
	info.nr_executors = (__u32)nr_execs;
	info.xdp_mode = used;
	if (!stat("/proc/self/ns/net", &st))
		info.netns_ino = st.st_ino;
	info.attached_at = (__u64)time(NULL);

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "syrup_info", 4, sizeof(info),
			    1, NULL);
	if (fd < 0)
		return -errno;
	err = bpf_map_update_elem(fd, &zero, &info, BPF_ANY);
	if (!err && !fp_pin_path(path, sizeof(path), dir, "info"))
		err = bpf_obj_pin(fd, path);
	close(fd);
	if (err)
		return -errno;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "syrup_execs", 4,
			    sizeof(struct syrup_exec), SYRUP_MAX_EXECUTORS,
			    NULL);
	if (fd < 0)
		return -errno;
	for (__u32 i = 0; i < (__u32)nr_execs && !err; i++)
		err = bpf_map_update_elem(fd, &i, &execs[i].info, BPF_ANY);
	if (!err && !fp_pin_path(path, sizeof(path), dir, "execs"))
		err = bpf_obj_pin(fd, path);
	close(fd);
	return err ? -errno : 0;
}

static int pin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *m;
	char path[256];

	bpf_object__for_each_map(m, obj)
	{
		const char *name = bpf_map__name(m);

		if (bpf_map__is_internal(m) || !strcmp(name, "syrup_meta"))
			continue;
		/* the other layer's executor map stays unpinned */
		if (!strcmp(name, env.layer == SYRUP_LAYER_XDP
					  ? "syrup_socks"
					  : "syrup_cpumap"))
			continue;
		if (!strncmp(name, "syrup_", 6))
			name += 6;
		if (fp_pin_path(path, sizeof(path), dir, name))
			return -ENAMETOOLONG;
		if (bpf_obj_pin(bpf_map__fd(m), path))
			return -errno;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The XDP dispatcher: one per interface, a slot per port                  */

static void xdp_dir_of(char *buf, size_t len, unsigned int ifindex, __u64 ns)
{
	snprintf(buf, len, "%s/xdp-%u-%llu", PIN_ROOT, ifindex,
		 (unsigned long long)ns);
}

static enum fp_xdp_mode xdp_mode_of(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);

	if (bpf_xdp_query((int)ifindex, 0, &opts))
		return FP_XDP_AUTO;
	return opts.attach_mode == XDP_ATTACHED_SKB ? FP_XDP_GENERIC
						    : FP_XDP_NATIVE;
}

struct dispatcher {
	char dir[128];
	int progs_fd, ports_fd;
};

static int pin_fd(int fd, const char *dir, const char *name)
{
	char path[256];

	if (fp_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

/* Opens the interface's dispatcher, attaching one first if there is none. */
static int dispatcher_open(struct dispatcher *d, unsigned int ifindex,
			   enum fp_xdp_mode *used)
{
	d->progs_fd = d->ports_fd = -1;
	xdp_dir_of(d->dir, sizeof(d->dir), ifindex, (__u64)fp_netns_inode());
	if (!fp_pin_dir_exists(d->dir)) {
		struct syrup_dispatch_bpf *skel;
		int link_fd, err;

		if (fp_xdp_attached(ifindex, NULL))
			return fp_error("another XDP program is already "
					"attached to %s (see 'ip link show "
					"%s')",
					env.iface, env.iface);
		skel = syrup_dispatch_bpf__open_and_load();
		if (!skel)
			return fp_error("cannot load the XDP dispatcher: %s",
					fp_strerror(-errno));
		link_fd = fp_xdp_attach(
			bpf_program__fd(skel->progs.syrup_dispatch), ifindex,
			env.iface, env.xdp_mode, used);
		if (link_fd < 0) {
			syrup_dispatch_bpf__destroy(skel);
			return 1;
		}
		err = fp_pin_dir_create(d->dir);
		if (!err)
			err = pin_fd(link_fd, d->dir, "link");
		if (!err)
			err = pin_fd(bpf_map__fd(skel->maps.syrup_progs),
				     d->dir, "progs");
		if (!err)
			err = pin_fd(bpf_map__fd(skel->maps.syrup_ports),
				     d->dir, "ports");
		close(link_fd);
		syrup_dispatch_bpf__destroy(skel);
		if (err) {
			fp_pin_dir_remove(d->dir, FP_BPFFS);
			return fp_error("cannot pin the XDP dispatcher under "
					"%s: %s",
					d->dir, fp_strerror(err));
		}
	} else {
		*used = xdp_mode_of(ifindex);
		if (env.xdp_mode != FP_XDP_AUTO && env.xdp_mode != *used)
			fp_warn("%s already runs syrup's XDP dispatcher in %s "
				"mode: --mode %s ignored",
				env.iface, fp_xdp_mode_name(*used),
				fp_xdp_mode_name(env.xdp_mode));
	}
	d->progs_fd = open_pin(d->dir, "progs");
	d->ports_fd = open_pin(d->dir, "ports");
	if (d->progs_fd < 0 || d->ports_fd < 0)
		return fp_error("cannot open the XDP dispatcher under %s: %s",
				d->dir, fp_strerror(-errno));
	return 0;
}

static void dispatcher_close(struct dispatcher *d)
{
	if (d->progs_fd >= 0)
		close(d->progs_fd);
	if (d->ports_fd >= 0)
		close(d->ports_fd);
	d->progs_fd = d->ports_fd = -1;
}

/* Gives the port a free slot: its packets go to prog_fd from now on. */
static int dispatcher_insert(struct dispatcher *d, int prog_fd)
{
	bool used[SYRUP_DISPATCH_SLOTS] = {false};
	__u32 key, next, slot, *prev = NULL;

	while (!bpf_map_get_next_key(d->ports_fd, prev, &next)) {
		if (!bpf_map_lookup_elem(d->ports_fd, &next, &slot) &&
		    slot < SYRUP_DISPATCH_SLOTS)
			used[slot] = true;
		key = next;
		prev = &key;
	}
	for (slot = 0; slot < SYRUP_DISPATCH_SLOTS && used[slot]; slot++)
		;
	if (slot == SYRUP_DISPATCH_SLOTS)
		return fp_error("%s already has %d XDP-layer ports", env.iface,
				SYRUP_DISPATCH_SLOTS);
	if (bpf_map_update_elem(d->progs_fd, &slot, &prog_fd, BPF_ANY))
		return fp_error("cannot add the policy to the XDP dispatcher "
				"of %s: %s",
				env.iface, fp_strerror(-errno));
	key = SYRUP_DISPATCH_KEY(env.proto, env.port);
	if (bpf_map_update_elem(d->ports_fd, &key, &slot, BPF_NOEXIST))
		return fp_error("cannot add %s/%u to the XDP dispatcher of %s: "
				"%s",
				proto_name(env.proto), env.port, env.iface,
				fp_strerror(-errno));
	return 0;
}

/* Takes the port out; the last port out removes the dispatcher. */
static void dispatcher_remove(const char *dir, __u8 proto, __u16 port)
{
	int progs_fd = open_pin(dir, "progs"),
	    ports_fd = open_pin(dir, "ports");
	__u32 key = SYRUP_DISPATCH_KEY(proto, port), slot, next;
	bool empty = true;

	if (ports_fd >= 0 && !bpf_map_lookup_elem(ports_fd, &key, &slot)) {
		bpf_map_delete_elem(ports_fd, &key);
		if (progs_fd >= 0)
			bpf_map_delete_elem(progs_fd, &slot);
	}
	if (ports_fd >= 0)
		empty = bpf_map_get_next_key(ports_fd, NULL, &next) != 0;
	if (progs_fd >= 0)
		close(progs_fd);
	if (ports_fd >= 0)
		close(ports_fd);
	/* unpinning the link detaches the dispatcher */
	if (empty)
		fp_pin_dir_remove(dir, FP_BPFFS);
}

static int cmd_attach(void)
{
	struct loaded l = {};
	struct syrup_conf conf = {};
	enum fp_xdp_mode used = FP_XDP_NATIVE;
	unsigned int ifindex = 0;
	char dir[128], path[256], xdir[128];
	bool pinned = false, attached = false, disp_opened = false;
	int err = 1, prog_fd, params_fd, load_fd;
	struct dispatcher disp = {.progs_fd = -1, .ports_fd = -1};
	__u32 zero = 0;
	unsigned int caps = FP_CAP_BPF | FP_CAP_NET_ADMIN;

	/* a closed stdout (| head) must not kill us before the cleanup */
	signal(SIGPIPE, SIG_IGN);
	if (env.layer == SYRUP_LAYER_SOCKET)
		caps |= FP_CAP_SYS_PTRACE;
	if (env.netns)
		caps |= FP_CAP_SYS_ADMIN;
	if (fp_check_privileges(caps))
		return 1;
	fp_bump_memlock();
	if (fp_mount_bpffs())
		return fp_error("cannot mount bpffs at %s", FP_BPFFS);
	if (env.netns && fp_netns_enter(env.netns))
		return 1;

	pin_dir_of(dir, sizeof(dir), env.proto, env.port);
	if (fp_pin_dir_exists(dir))
		return fp_error("%s/%u is already under a policy (see "
				"'syrup-steer status'; 'syrup-steer detach "
				"--port %u' first)",
				proto_name(env.proto), env.port, env.port);

	if (env.layer == SYRUP_LAYER_XDP) {
		ifindex = fp_ifindex(env.iface);
		if (!ifindex)
			return 1;
		xdp_dir_of(xdir, sizeof(xdir), ifindex,
			   (__u64)fp_netns_inode());
		if (!fp_pin_dir_exists(xdir) && fp_xdp_attached(ifindex, NULL))
			return fp_error("another XDP program is already "
					"attached to %s (see 'ip link show "
					"%s')",
					env.iface, env.iface);
		if (find_cpus())
			return 1;
	} else if (find_sockets()) {
		goto cleanup;
	}

	if (load_policy(&l))
		goto cleanup;
	prog_fd = bpf_program__fd(l.prog);

	conf.nr_executors = (__u32)nr_execs;
	conf.layer = env.layer;
	conf.port = env.port;
	conf.proto = env.proto;
	conf.builtin = (__u8)(l.builtin > 0 ? l.builtin : 0);
	for (int i = 0; i < nr_execs; i++)
		conf.cpus[i] = execs[i].info.cpu;
	if (bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(
					l.obj, "syrup_conf")),
				&zero, &conf, BPF_ANY)) {
		fp_error("cannot write the policy's configuration: %s",
			 fp_strerror(-errno));
		goto cleanup;
	}
	params_fd = bpf_map__fd(
		bpf_object__find_map_by_name(l.obj, "syrup_params"));
	load_fd =
		bpf_map__fd(bpf_object__find_map_by_name(l.obj, "syrup_load"));
	for (size_t i = 0; i < NR_PARAM_DEFS; i++) {
		struct syrup_param_key k = {};

		if (param_defs[i].builtin != l.builtin || param_defs[i].bytes)
			continue;
		snprintf(k.name, sizeof(k.name), "%s", param_defs[i].name);
		bpf_map_update_elem(params_fd, &k, &param_defs[i].def, BPF_ANY);
	}
	for (int i = 0; i < env.nr_params; i++)
		if (apply_setting(env.params[i], l.builtin, l.builtin <= 0,
				  params_fd, load_fd, true))
			goto cleanup;

	if (env.layer == SYRUP_LAYER_SOCKET) {
		int socks_fd = bpf_map__fd(
			bpf_object__find_map_by_name(l.obj, "syrup_socks"));

		for (__u32 i = 0; i < (__u32)nr_execs; i++) {
			__u64 fd = (__u64)execs[i].fd;

			if (bpf_map_update_elem(socks_fd, &i, &fd, BPF_ANY)) {
				err = -errno;
				fp_error("cannot add the socket of process %u "
					 "(fd %u) as executor %u: %s%s",
					 execs[i].info.pid, execs[i].info.fd, i,
					 fp_strerror(err),
					 err == -EBUSY
						 ? " (another reuseport map "
						   "holds it)"
						 : "");
				err = 1;
				goto cleanup;
			}
		}
	} else {
		int cpumap_fd = bpf_map__fd(
			bpf_object__find_map_by_name(l.obj, "syrup_cpumap"));

		for (int i = 0; i < nr_execs; i++) {
			struct bpf_cpumap_val v = {.qsize = 2048};
			__u32 cpu = execs[i].info.cpu;

			if (bpf_map_update_elem(cpumap_fd, &cpu, &v, BPF_ANY)) {
				fp_error(
					"cannot set up the queue to CPU %u: %s",
					cpu, fp_strerror(-errno));
				goto cleanup;
			}
		}
	}

	err = fp_pin_dir_create(dir);
	if (err) {
		fp_error("cannot create %s: %s", dir, fp_strerror(err));
		err = 1;
		goto cleanup;
	}
	pinned = true;
	err = pin_maps(l.obj, dir);
	if (!err && !fp_pin_path(path, sizeof(path), dir, "prog"))
		err = bpf_obj_pin(prog_fd, path) ? -errno : 0;
	if (!err && env.layer == SYRUP_LAYER_XDP) {
		if (dispatcher_open(&disp, ifindex, &used)) {
			err = 1;
			goto cleanup;
		}
		disp_opened = true;
	}
	if (!err)
		err = create_info_maps(dir, &l, used, ifindex);
	if (err) {
		fp_error("cannot pin the policy under %s: %s", dir,
			 fp_strerror(err));
		err = 1;
		goto cleanup;
	}

	if (env.layer == SYRUP_LAYER_SOCKET) {
		/*
		 * The program goes to the group of each socket: sockets bound
		 * to different addresses (v4, v6) form different groups.
		 */
		for (int i = 0; i < nr_execs; i++) {
			if (setsockopt(execs[i].fd, SOL_SOCKET,
				       SO_ATTACH_REUSEPORT_EBPF, &prog_fd,
				       sizeof(prog_fd))) {
				err = -errno;
				fp_error("cannot attach the policy to the "
					 "socket of process %u (fd %u): %s",
					 execs[i].info.pid, execs[i].info.fd,
					 fp_strerror(err));
				err = 1;
				goto cleanup;
			}
			attached = true;
		}
	} else {
		if (dispatcher_insert(&disp, prog_fd)) {
			err = 1;
			goto cleanup;
		}
		attached = true;
	}
	err = 0;

	if (fp_opts.json) {
		struct pinned p;
		struct fp_json j;

		fp_json_init(&j, stdout);
		if (!read_pinned(dir, &p)) {
			print_status_one(&p, &j);
			close_pinned(&p);
		}
	} else {
		struct pinned p;

		if (!read_pinned(dir, &p)) {
			print_status_one(&p, NULL);
			close_pinned(&p);
		}
	}

cleanup:
	if (err && attached) {
		if (env.layer == SYRUP_LAYER_SOCKET)
			detach_sockets();
	}
	dispatcher_close(&disp);
	if (err && disp_opened)
		dispatcher_remove(disp.dir, env.proto, env.port);
	if (err && pinned)
		fp_pin_dir_remove(dir, FP_BPFFS);
	for (int i = 0; i < nr_execs; i++)
		if (execs[i].fd >= 0)
			close(execs[i].fd);
	unload_policy(&l);
	return err ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* detach                                                                  */

static int cmd_detach(void)
{
	struct pinned p;
	char dir[128];
	int done = 0, err;

	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_NET_ADMIN |
				FP_CAP_SYS_PTRACE))
		return 1;
	fp_mount_bpffs();
	if (env.netns && fp_netns_enter(env.netns))
		return 1;
	if (open_port(&p))
		return 1;
	snprintf(dir, sizeof(dir), "%s", p.dir);

	if (p.info.layer == SYRUP_LAYER_SOCKET) {
		/* First the very sockets attach took, if they are still there.
		 */
		for (__u32 i = 0; i < p.info.nr_executors; i++) {
			const struct syrup_exec *e = &p.execs[i];
			char fdpath[64], link[64], want[64];
			ssize_t len;
			int sfd;

			snprintf(fdpath, sizeof(fdpath), "/proc/%u/fd/%u",
				 e->pid, e->fd);
			snprintf(want, sizeof(want), "socket:[%llu]",
				 (unsigned long long)e->inode);
			len = readlink(fdpath, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (strcmp(link, want))
				continue;
			sfd = take_fd((pid_t)e->pid, (int)e->fd, true);
			if (sfd < 0)
				continue;
			if (!detach_fd(sfd))
				done++;
			close(sfd);
		}
		/* Else any socket of the port (in the netns it was put in). */
		if (!done) {
			struct candidate *c =
				calloc((size_t)cand_cap, sizeof(*c));
			int n;

			if (!env.netns && p.info.netns[0] &&
			    fp_netns_enter(p.info.netns))
				fp_warn("cannot enter netns %s: looking in "
					"this one",
					p.info.netns);
			n = c ? find_candidates(p.info.proto, p.info.port, c)
			      : 0;
			for (int i = 0; i < n; i++) {
				int sfd = take_fd(c[i].pid, c[i].fd, true);

				if (sfd < 0)
					continue;
				if (!detach_fd(sfd))
					done++;
				close(sfd);
			}
			free(c);
		}
	}
	close_pinned(&p);
	if (p.info.layer == SYRUP_LAYER_XDP) {
		char xdir[128];

		xdp_dir_of(xdir, sizeof(xdir), p.info.ifindex,
			   p.info.netns_ino);
		dispatcher_remove(xdir, p.info.proto, p.info.port);
	}
	err = fp_pin_dir_remove(dir, FP_BPFFS);
	if (err && err != -ENOENT)
		return fp_error("cannot remove %s: %s", dir, fp_strerror(err));
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_string(&j, "proto", proto_name(p.info.proto));
		fp_json_kv_u64(&j, "port", p.info.port);
		fp_json_kv_string(&j, "layer", layer_name(p.info.layer));
		fp_json_kv_bool(&j, "detached", true);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else if (p.info.layer == SYRUP_LAYER_XDP) {
		printf("%s/%u: policy %s detached from %s\n",
		       proto_name(p.info.proto), p.info.port, p.info.policy,
		       p.info.iface);
	} else if (done) {
		printf("%s/%u: policy %s detached; the kernel's default "
		       "reuseport choice is back\n",
		       proto_name(p.info.proto), p.info.port, p.info.policy);
	} else {
		printf("%s/%u: no socket is left on the port; removed the "
		       "policy's pins\n",
		       proto_name(p.info.proto), p.info.port);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* stats                                                                   */

struct stats_ctx {
	struct pinned p;
	int nr_cpus;
	struct syrup_stat *percpu;
	struct syrup_stat cur[SYRUP_MAX_EXECUTORS + 1];
	struct syrup_stat prev[SYRUP_MAX_EXECUTORS + 1];
};

static int read_stats(struct stats_ctx *c)
{
	for (__u32 i = 0; i <= SYRUP_MAX_EXECUTORS; i++) {
		struct syrup_stat *s = &c->cur[i];

		memset(s, 0, sizeof(*s));
		if (bpf_map_lookup_elem(c->p.stats_fd, &i, c->percpu))
			return -errno;
		for (int cpu = 0; cpu < c->nr_cpus; cpu++) {
			s->steered += c->percpu[cpu].steered;
			s->fallback += c->percpu[cpu].fallback;
			s->errors += c->percpu[cpu].errors;
			s->dropped += c->percpu[cpu].dropped;
		}
	}
	return 0;
}

static void stat_sub(struct syrup_stat *d, const struct syrup_stat *a,
		     const struct syrup_stat *b)
{
	d->steered = a->steered - b->steered;
	d->fallback = a->fallback - b->fallback;
	d->errors = a->errors - b->errors;
	d->dropped = a->dropped - b->dropped;
}

static void stat_add(struct syrup_stat *d, const struct syrup_stat *a)
{
	d->steered += a->steered;
	d->fallback += a->fallback;
	d->errors += a->errors;
	d->dropped += a->dropped;
}

static void json_stat(struct fp_json *j, const struct syrup_stat *s)
{
	fp_json_kv_u64(j, "steered", s->steered);
	fp_json_kv_u64(j, "fallback", s->fallback);
	fp_json_kv_u64(j, "errors", s->errors);
	fp_json_kv_u64(j, "dropped", s->dropped);
}

static int stats_report(void *ctx, bool final)
{
	struct stats_ctx *c = ctx;
	const struct syrup_info *in = &c->p.info;
	struct syrup_stat d[SYRUP_MAX_EXECUTORS + 1], other = {}, total = {};
	__u32 n = in->nr_executors;
	int err;

	(void) final;
	if (!fp_pin_dir_exists(c->p.dir))
		return fp_error("%s/%u was detached", proto_name(in->proto),
				in->port);
	err = read_stats(c);
	if (err)
		return fp_error("cannot read %s/stats: %s", c->p.dir,
				fp_strerror(err));
	for (__u32 i = 0; i <= SYRUP_MAX_EXECUTORS; i++) {
		stat_sub(&d[i], &c->cur[i], &c->prev[i]);
		if (i >= n)
			stat_add(&other, &d[i]);
		stat_add(&total, &d[i]);
	}
	if (fp_opts.interval)
		memcpy(c->prev, c->cur, sizeof(c->prev));

	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		if (fp_opts.timestamp || fp_opts.interval)
			fp_json_kv_double(&j, "ts", fp_wall_time(), 6);
		fp_json_kv_string(&j, "proto", proto_name(in->proto));
		fp_json_kv_u64(&j, "port", in->port);
		fp_json_kv_string(&j, "layer", layer_name(in->layer));
		fp_json_kv_string(&j, "policy", in->policy);
		if (fp_opts.interval)
			fp_json_kv_double(&j, "interval", fp_opts.interval, 3);
		fp_json_key(&j, "executors");
		fp_json_array_begin(&j);
		for (__u32 i = 0; i < n; i++) {
			fp_json_object_begin(&j);
			fp_json_kv_u64(&j, "index", i);
			if (in->layer == SYRUP_LAYER_XDP)
				fp_json_kv_u64(&j, "cpu", c->p.execs[i].cpu);
			else
				fp_json_kv_bool(&j, "open",
						executor_open(&c->p, i));
			json_stat(&j, &d[i]);
			fp_json_object_end(&j);
		}
		fp_json_array_end(&j);
		fp_json_key(&j, "other");
		fp_json_object_begin(&j);
		json_stat(&j, &other);
		fp_json_object_end(&j);
		fp_json_key(&j, "total");
		fp_json_object_begin(&j);
		json_stat(&j, &total);
		fp_json_object_end(&j);
		fp_json_object_end(&j);
		fp_json_newline(&j);
		return 0;
	}
	if (fp_opts.timestamp)
		fp_print_time(stdout);
	printf("%s/%u: policy %s, %s layer, %s\n", proto_name(in->proto),
	       in->port, in->policy, layer_name(in->layer),
	       fp_opts.interval ? "this interval" : "since attach");
	printf("  %-8s %12s %10s %8s %8s\n",
	       in->layer == SYRUP_LAYER_XDP ? "EXEC/CPU" : "EXEC", "STEERED",
	       "FALLBACK", "ERRORS", "DROPPED");
	for (__u32 i = 0; i < n; i++) {
		char name[32];

		if (in->layer == SYRUP_LAYER_XDP)
			snprintf(name, sizeof(name), "%u/%u", i,
				 c->p.execs[i].cpu);
		else
			snprintf(name, sizeof(name), "%u%s", i,
				 executor_open(&c->p, i) ? "" : " closed");
		printf("  %-8s %12llu %10llu %8llu %8llu\n", name,
		       (unsigned long long)d[i].steered,
		       (unsigned long long)d[i].fallback,
		       (unsigned long long)d[i].errors,
		       (unsigned long long)d[i].dropped);
	}
	printf("  %-8s %12llu %10llu %8llu %8llu\n", "other",
	       (unsigned long long)other.steered,
	       (unsigned long long)other.fallback,
	       (unsigned long long)other.errors,
	       (unsigned long long)other.dropped);
	printf("  %-8s %12llu %10llu %8llu %8llu\n", "total",
	       (unsigned long long)total.steered,
	       (unsigned long long)total.fallback,
	       (unsigned long long)total.errors,
	       (unsigned long long)total.dropped);
	return 0;
}

static int cmd_stats(void)
{
	struct stats_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return fp_error("out of memory");
	if (fp_check_privileges(FP_CAP_BPF)) {
		free(c);
		return 1;
	}
	fp_mount_bpffs();
	if (open_port(&c->p)) {
		free(c);
		return 1;
	}
	c->nr_cpus = libbpf_num_possible_cpus();
	c->percpu = calloc((size_t)(c->nr_cpus > 0 ? c->nr_cpus : 1),
			   sizeof(*c->percpu));
	if (c->nr_cpus <= 0 || !c->percpu || c->p.stats_fd < 0) {
		err = fp_error("cannot read %s/stats", c->p.dir);
		goto out;
	}
	if (fp_opts.interval && read_stats(c) == 0)
		memcpy(c->prev, c->cur, sizeof(c->prev));
	err = fp_report_loop(FP_LOOP_ONCE_NOW, stats_report, c);
out:
	close_pinned(&c->p);
	free(c->percpu);
	free(c);
	return err;
}

/* ---------------------------------------------------------------------- */
/* set                                                                     */

static int cmd_set(void)
{
	struct pinned p;
	int err = 0;

	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_mount_bpffs();
	if (open_port(&p))
		return 1;
	if (p.params_fd < 0 || p.load_fd < 0) {
		close_pinned(&p);
		return fp_error("cannot open the parameters under %s", p.dir);
	}
	env.proto = p.info.proto;
	for (int i = 0; i < env.nr_params && !err; i++)
		err = apply_setting(env.params[i], p.info.builtin,
				    p.info.builtin == SYRUP_USER, p.params_fd,
				    p.load_fd, fp_opts.json);
	if (!err && fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_string(&j, "proto", proto_name(p.info.proto));
		fp_json_kv_u64(&j, "port", p.info.port);
		fp_json_key(&j, "set");
		fp_json_array_begin(&j);
		for (int i = 0; i < env.nr_params; i++)
			fp_json_string(&j, env.params[i]);
		fp_json_array_end(&j);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	}
	close_pinned(&p);
	return err;
}

/* ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	char name[64];

	fp_init("syrup-steer");
	env.proto = PROTO_UDP;
	env.layer = SYRUP_LAYER_SOCKET;
	env.xdp_mode = FP_XDP_AUTO;

	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, NULL);
	if (cmd_index < 0)
		return FP_EXIT_USAGE;
	snprintf(name, sizeof(name), "syrup-steer %s", command_names[env.cmd]);
	argv[cmd_index] = name;
	argp_parse(&cmd_argps[env.cmd], argc - cmd_index, argv + cmd_index, 0,
		   NULL, NULL);

	switch (env.cmd) {
	case CMD_ATTACH:
		return cmd_attach();
	case CMD_DETACH:
		return cmd_detach();
	case CMD_STATUS:
		return cmd_status();
	case CMD_STATS:
		return cmd_stats();
	case CMD_SET:
		return cmd_set();
	}
	return FP_EXIT_USAGE;
}
