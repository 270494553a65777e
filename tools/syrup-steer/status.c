// SPDX-License-Identifier: GPL-2.0
/* syrup-steer status: every port under a policy, its layer and executors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steer.h"

/*
 * Sockets of the port's group (in its namespace) that are not executors:
 * they joined after attach, or the server restarted. -1 when unknown.
 */
static int not_executors(const struct pinned *p)
{
	struct fp_socket_query q = {.proto = p->info.proto,
				    .port = p->info.port};
	uint64_t ino[SYRUP_MAX_EXECUTORS * 4];
	int home = -1, n, extra = 0;

	if (p->info.netns[0]) {
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home < 0 || fp_netns_enter(p->info.netns)) {
			if (home >= 0)
				close(home);
			return -1;
		}
	}
	n = fp_port_inodes(&q, ino, (int)(sizeof(ino) / sizeof(ino[0])));
	if (home >= 0) {
		if (setns(home, CLONE_NEWNET))
			n = -1;
		close(home);
	}
	for (int i = 0; i < n; i++) {
		bool known = false;

		for (__u32 k = 0; k < p->info.nr_executors && !known; k++)
			known = p->execs[k].inode == ino[i] &&
				pinned_executor_open(p, k);
		extra += !known;
	}
	return n < 0 ? -1 : extra;
}

void status_follow(const struct pinned *p, int daemon_pid, struct follow *f)
{
	memset(f, 0, sizeof(*f));
	f->daemon_pid = daemon_pid;
	if (p->info.layer != SYRUP_LAYER_SOCKET || daemon_pid)
		return;
	for (__u32 i = 0; i < p->info.nr_executors; i++)
		f->closed += !pinned_executor_open(p, i);
	f->joined = not_executors(p);
	f->stale = f->closed || f->joined > 0;
}

static void status_json(const struct pinned *p, __u32 closed,
			const struct follow *f, struct fp_json *j)
{
	const struct syrup_info *in = &p->info;
	bool xdp = in->layer == SYRUP_LAYER_XDP;
	/* CPUs have no pid, fd or socket; sockets (AF_XDP too) have */
	bool cpu = xdp && !in->xsk;

	fp_json_object_begin(j);
	fp_json_kv_ts(j, fp_wall_time());
	fp_json_kv_string(j, "proto", proto_name(in->proto));
	fp_json_kv_u64(j, "port", in->port);
	fp_json_kv_string(j, "layer", layer_name(in->layer));
	fp_json_kv_string(j, "policy", in->policy);
	fp_json_kv_string(j, "executor",
			  !xdp	    ? "socket"
			  : in->xsk ? "xsk"
				    : "cpu");
	fp_json_kv_bool(j, "builtin", in->builtin != SYRUP_USER);
	/* every key on every line: null where the layer has no such thing */
	fp_json_kv_string_or_null(j, "iface", xdp ? in->iface : NULL);
	fp_json_kv_string_or_null(j, "xdp_mode",
				  xdp ? fp_xdp_mode_name(in->xdp_mode) : NULL);
	fp_json_kv_string_or_null(j, "netns", in->netns);
	fp_json_kv_string(j, "pins", p->dir);
	fp_json_kv_u64(j, "attached_at_s", in->attached_at);
	fp_json_kv_u64(j, "closed", closed);
	fp_json_kv_bool(j, "followed", f && f->daemon_pid);
	fp_json_kv_bool(j, "stale", f && f->stale);
	fp_json_key(j, "executors");
	fp_json_array_begin(j);
	for (__u32 i = 0; i < in->nr_executors; i++) {
		const struct syrup_exec *e = &p->execs[i];

		fp_json_object_begin(j);
		fp_json_kv_u64(j, "index", i);
		fp_json_kv_u64_or_null(j, "cpu", cpu, e->cpu);
		fp_json_kv_u64_or_null(j, "pid", !cpu, e->pid);
		fp_json_kv_u64_or_null(j, "fd", !cpu, e->fd);
		fp_json_kv_string_or_null(j, "comm", cpu ? NULL : e->comm);
		fp_json_kv_u64_or_null(j, "inode", !cpu, e->inode);
		fp_json_kv_u64_or_null(j, "queue", xdp && in->xsk, e->cpu);
		fp_json_key(j, "open");
		if (cpu)
			fp_json_null(j);
		else
			fp_json_bool(j, pinned_executor_open(p, i));
		fp_json_object_end(j);
	}
	fp_json_array_end(j);
	fp_json_object_end(j);
	fp_json_newline(j);
}

/* The daemon follows the port, or what it would have changed. */
static void print_follow(const struct pinned *p, const struct follow *f)
{
	if (!f || p->info.layer != SYRUP_LAYER_SOCKET)
		return;
	if (f->daemon_pid) {
		printf("  followed by syrup-steer daemon (pid %d)\n",
		       f->daemon_pid);
		return;
	}
	if (!f->stale)
		return;
	printf("  stale executors:");
	if (f->joined > 0)
		printf(" %d socket%s on the port %s not executors%s", f->joined,
		       f->joined == 1 ? "" : "s", f->joined == 1 ? "is" : "are",
		       f->closed ? "," : "");
	if (f->closed)
		printf(" %u executor%s closed", f->closed,
		       f->closed == 1 ? "" : "s");
	printf(" (run 'syrup-steer daemon' to follow the application, or "
	       "detach and attach again)\n");
}

void status_print(const struct pinned *p, const struct follow *f,
		  struct fp_json *j)
{
	const struct syrup_info *in = &p->info;
	__u32 closed = 0;

	for (__u32 i = 0; i < in->nr_executors; i++)
		closed += !pinned_executor_open(p, i);
	if (j) {
		status_json(p, closed, f, j);
		return;
	}
	printf("%s/%u: policy %s, %s layer", proto_name(in->proto), in->port,
	       in->policy, layer_name(in->layer));
	if (in->layer == SYRUP_LAYER_XDP)
		printf(" on %s (%s)%s", in->iface,
		       fp_xdp_mode_name(in->xdp_mode),
		       in->xsk ? ", AF_XDP sockets" : "");
	if (in->netns[0])
		printf(", netns %s", in->netns);
	printf(", %u executor%s", in->nr_executors,
	       in->nr_executors == 1 ? "" : "s");
	if (closed)
		printf(" (%u closed)", closed);
	printf("\n");
	if (in->layer == SYRUP_LAYER_XDP && !in->xsk) {
		printf("  %4s %4s\n", "EXEC", "CPU");
		for (__u32 i = 0; i < in->nr_executors; i++)
			printf("  %4u %4u\n", i, p->execs[i].cpu);
		return;
	}
	if (in->xsk) {
		printf("  %4s %8s %5s %5s %-16s %s\n", "EXEC", "PID", "FD",
		       "QUEUE", "COMM", "SOCKET");
		for (__u32 i = 0; i < in->nr_executors; i++) {
			const struct syrup_exec *e = &p->execs[i];

			printf("  %4u %8u %5u %5u %-16s %s\n", i, e->pid, e->fd,
			       e->cpu, e->comm,
			       pinned_executor_open(p, i) ? "open" : "closed");
		}
		return;
	}
	printf("  %4s %8s %5s %-16s %s\n", "EXEC", "PID", "FD", "COMM",
	       "SOCKET");
	for (__u32 i = 0; i < in->nr_executors; i++) {
		const struct syrup_exec *e = &p->execs[i];

		printf("  %4u %8u %5u %-16s %s\n", i, e->pid, e->fd, e->comm,
		       pinned_executor_open(p, i) ? "open"
						  : "closed (slot kept)");
	}
	print_follow(p, f);
}

/* Shows the port pinned under `name` (in the pin root); false if none. */
static bool show_one(const char *name, bool first, int daemon_pid,
		     struct fp_json *j)
{
	struct follow f;
	char dir[512];
	struct pinned p;

	/* dispatchers (xdp-*) are no port of their own; thread: below */
	if (name[0] == '.' || !strncmp(name, "xdp-", 4) ||
	    !strcmp(name, "thread"))
		return false;
	snprintf(dir, sizeof(dir), "%s/%s", SYRUP_PIN_ROOT, name);
	if (pinned_read(dir, &p)) {
		fp_warn("%s is incomplete (remove it with 'syrup-steer "
			"detach')",
			dir);
		return false;
	}
	if (!first && !j)
		printf("\n");
	status_follow(&p, daemon_pid, &f);
	status_print(&p, &f, j);
	pinned_close(&p);
	return true;
}

static int do_status(const void *opts)
{
	struct dirent **names = NULL;
	struct fp_json j;
	int n, shown = 0, daemon_pid = daemon_running();

	(void)opts;
	fp_json_init(&j, stdout);
	n = scandir(SYRUP_PIN_ROOT, &names, NULL, alphasort);
	/* Missing means nothing attached; unreadable must not look empty. */
	if (n < 0 && errno != ENOENT)
		return fp_error("cannot read %s: %s%s", SYRUP_PIN_ROOT,
				strerror(errno),
				errno == EACCES ? " (run as root)" : "");
	for (int i = 0; i < n; i++) {
		shown += show_one(names[i]->d_name, !shown, daemon_pid,
				  fp_opts.json ? &j : NULL);
		free(names[i]);
	}
	free(names);
	shown += thread_status(fp_opts.json, !shown);
	if (!shown && !fp_opts.json)
		printf("no port (and no cgroup's threads) is under a syrup "
		       "policy\n");
	return 0;
}

static const char doc[] =
	"Show every port under a policy: layer, policy, executors, and "
	"whether syrup-steer daemon follows them (without it, stale executors "
	"are pointed out); and the thread layer: its cgroup, CPUs, counters, "
	"and whether sched_ext "
	"still runs it."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer status\n"
	"    syrup-steer status -j | jq .executors\n";

static const struct argp_option options[] = {
	{},
};

static error_t parse_status(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	options, parse_status, NULL, doc, json_children, NULL, NULL,
};

const struct fp_command status_cmd = {
	.name = "status",
	.summary = "every port under a policy, its layer and executors",
	.argp = &argp,
	.run = do_status,
};
