// SPDX-License-Identifier: GPL-2.0
/*
 * --detach-all: removes everything the scan found, one line per object.
 *
 * An attachment is removed by its own tool whenever that tool can do it
 * (bmc-attach --detach, syrup-steer detach, from the directory this binary
 * lives in), so that what a detach undoes (TC filters, reuseport programs
 * on sockets, dispatcher slots) is written down in one place. Only pins
 * that no tool would remove are unpinned here: broken directories, stray
 * files, orphaned dispatchers, and socket-layer policies whose namespace is
 * gone (syrup-steer would look for their sockets in ours).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "json.h"
#include "log.h"
#include "options.h"
#include "output.h"
#include "status.h"

#define MAX_ARGV 10

struct outcome {
	bool removed;
	char how[320];	 /* what was done, for the report */
	char error[512]; /* why not, "" on success */
};

/* Where a tool must run for e: --netns NAME, entered by us, or here. */
static void plan_netns(const struct netns_table *t, const struct entry *e,
		       const char **name, const struct netns **enter)
{
	const struct netns *ns;

	*name = NULL;
	*enter = NULL;
	if (!e->have_netns || e->netns_ino == t->self_ino)
		return;
	ns = netns_find(t, e->netns_ino);
	if (!ns)
		return; /* gone: the tool's own stale path handles it */
	if (ns->name[0])
		*name = ns->name;
	else
		*enter = ns; /* alive but nameless, e.g. a container's */
}

/* Last non-empty line of a tool's output: its one-line reason. */
static void last_line(const char *out, char *buf, size_t len)
{
	const char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (start = end; start > out && start[-1] != '\n'; start--)
		;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/*
 * Runs exe_dir/argv[0] with argv, inside `enter` when given; its output
 * (stdout and stderr) into out. Returns its exit status, or -errno.
 */
static int run_tool(const char *exe_dir, const struct netns *enter,
		    char *const argv[], char *out, size_t len)
{
	char path[4096];
	size_t used = 0;
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", exe_dir, argv[0]);
	if (access(path, X_OK))
		return -errno;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		int fd;

		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		if (enter) {
			fd = open(enter->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET)) {
				fprintf(stderr, "cannot enter %s: %s\n",
					enter->path, strerror(errno));
				_exit(126);
			}
		}
		execv(path, argv);
		fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (used + 1 < len &&
	       (n = read(pipefd[0], out + used, len - used - 1)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	/* drain the rest so the tool never blocks on a full pipe */
	while (read(pipefd[0], path, sizeof(path)) > 0)
		;
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

static void join_argv(char *buf, size_t len, char *const argv[],
		      const struct netns *enter)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? " " : "", argv[i]);
	if (enter && off < len)
		snprintf(buf + off, len - off, " (inside netns %llu)",
			 (unsigned long long)enter->ino);
}

/* Runs a tool's own detach for e and checks that the pins went with it. */
static void by_tool(const struct detach_opts *o, const struct netns_table *t,
		    const struct entry *e, struct outcome *r)
{
	char *argv[MAX_ARGV] = {NULL}, port[8], out[4096], msg[400];
	const struct netns *enter;
	const char *ns_name;
	int argc = 0, rc;

	plan_netns(t, e, &ns_name, &enter);
	if (e->layer && !strcmp(e->layer, "thread")) {
		/* its threads back on SCHED_OTHER, not only the pins gone */
		argv[argc++] = "syrup-steer";
		argv[argc++] = "detach";
		argv[argc++] = "--layer";
		argv[argc++] = "thread";
	} else if (e->kind == KIND_BMC) {
		argv[argc++] = "bmc-attach";
		argv[argc++] = "--detach";
		argv[argc++] = (char *)e->name;
	} else {
		snprintf(port, sizeof(port), "%u", e->port);
		argv[argc++] = "syrup-steer";
		argv[argc++] = "detach";
		argv[argc++] = "--port";
		argv[argc++] = port;
		argv[argc++] = "--proto";
		argv[argc++] = e->proto == 6 ? "tcp" : "udp";
	}
	if (ns_name) {
		argv[argc++] = "--netns";
		argv[argc++] = (char *)ns_name;
	}
	join_argv(r->how, sizeof(r->how), argv, enter);
	fp_debug("running %s", r->how);
	rc = run_tool(o->exe_dir, enter, argv, out, sizeof(out));
	if (out[0])
		fp_debug("%s said: %s", argv[0], out);
	if (rc < 0) {
		snprintf(r->error, sizeof(r->error), "cannot run %s/%s: %s",
			 o->exe_dir, argv[0], fp_strerror(rc));
		return;
	}
	if (rc) {
		last_line(out, msg, sizeof(msg));
		snprintf(r->error, sizeof(r->error), "%s exited %d: %s",
			 argv[0], rc, msg[0] ? msg : "(no message)");
		return;
	}
	if (fp_pin_dir_exists(e->dir)) {
		snprintf(r->error, sizeof(r->error),
			 "%s succeeded but %s is still there", argv[0], e->dir);
		return;
	}
	r->removed = true;
}

/* Unpins everything of e, detaching its links first. */
static void by_pins(const struct entry *e, struct outcome *r)
{
	int err;

	snprintf(r->how, sizeof(r->how), "unpinned %s", e->dir);
	if (!e->is_dir) {
		if (unlink(e->dir) && errno != ENOENT) {
			snprintf(r->error, sizeof(r->error),
				 "cannot remove %s: %s", e->dir,
				 strerror(errno));
			return;
		}
		r->removed = true;
		return;
	}
	for (int i = 0; i < e->nr_pins; i++) {
		char path[512];
		int fd;

		if (strcmp(e->pins[i].type, "link") ||
		    fp_pin_path(path, sizeof(path), e->dir, e->pins[i].name))
			continue;
		/*
		 * Detach now: the kernel frees an unpinned link only later,
		 * and a new attach right after must find the hook free.
		 */
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	err = fp_pin_dir_remove(e->dir, FP_BPFFS);
	if (err && err != -ENOENT) {
		snprintf(r->error, sizeof(r->error), "cannot remove %s: %s",
			 e->dir, fp_strerror(err));
		return;
	}
	r->removed = true;
}

/* A dispatcher still in use by a policy that could not be removed. */
static const char *dispatcher_busy(const struct entry *e)
{
	for (int i = 0; i < e->nr_ports; i++) {
		char dir[256], proto[8];
		unsigned int port;

		if (sscanf(e->ports[i], "%3[a-z]/%u", proto, &port) != 2)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s-%u", SYRUP_ROOT, proto, port);
		if (fp_pin_dir_exists(dir))
			return e->ports[i];
	}
	return NULL;
}

static void remove_entry(const struct detach_opts *o,
			 const struct netns_table *t, const struct entry *e,
			 struct outcome *r)
{
	const char *busy;

	memset(r, 0, sizeof(*r));
	if (e->kind == KIND_DISPATCHER) {
		if (!fp_pin_dir_exists(e->dir)) {
			/* syrup-steer removes it with its last port */
			snprintf(r->how, sizeof(r->how),
				 "with its last port (syrup-steer detach)");
			r->removed = true;
			return;
		}
		busy = dispatcher_busy(e);
		if (busy) {
			snprintf(r->error, sizeof(r->error),
				 "it still serves %s, whose policy is still "
				 "attached",
				 busy);
			return;
		}
		by_pins(e, r);
		return;
	}
	if (e->readable && e->layer && !strcmp(e->layer, "thread")) {
		by_tool(o, t, e, r);
		return;
	}
	/* nothing a tool would recognise as its own */
	if (!e->is_dir || !e->readable || (e->kind == KIND_SYRUP && !e->port)) {
		by_pins(e, r);
		return;
	}
	/* its sockets died with their namespace: nothing is left to undo */
	if (e->kind == KIND_SYRUP && !strcmp(e->layer, "socket") &&
	    e->have_netns && !netns_find(t, e->netns_ino)) {
		by_pins(e, r);
		return;
	}
	by_tool(o, t, e, r);
}

static void report(const struct entry *e, const struct netns_table *t,
		   const struct outcome *r)
{
	char ns[32] = "-";
	struct fp_json j;

	if (e->have_netns)
		netns_label(t, e->netns_ino, ns, sizeof(ns));
	if (fp_opts.json) {
		const struct netns *n =
			e->have_netns ? netns_find(t, e->netns_ino) : NULL;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "kind", kind_name(e->kind));
		fp_json_kv_string(&j, "name", e->name);
		fp_json_key(&j, "netns");
		if (n && n->name[0])
			fp_json_string(&j, n->name);
		else
			fp_json_null(&j);
		fp_json_key(&j, "netns_ino");
		if (e->have_netns)
			fp_json_u64(&j, e->netns_ino);
		else
			fp_json_null(&j);
		fp_json_kv_string(&j, "state", state_name(e->state));
		fp_json_kv_string(&j, "pins", e->dir);
		fp_json_kv_bool(&j, "removed", r->removed);
		fp_json_key(&j, "how");
		if (r->how[0])
			fp_json_string(&j, r->how);
		else
			fp_json_null(&j);
		fp_json_key(&j, "error");
		if (r->error[0])
			fp_json_string(&j, r->error);
		else
			fp_json_null(&j);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else if (r->removed) {
		printf("removed %s %s (netns %s, %s): %s\n", kind_name(e->kind),
		       e->name, ns, state_name(e->state), r->how);
	}
	/* not through fp_error: in JSON the object above carries it */
	if (!r->removed)
		fprintf(stderr, "%s: cannot remove %s %s (netns %s): %s\n",
			fp_tool_name, kind_name(e->kind), e->name, ns,
			r->error);
}

int cmd_detach_all(const struct detach_opts *o, const struct netns_table *t)
{
	static const enum kind order[] = {KIND_SYRUP, KIND_DISPATCHER,
					  KIND_BMC};
	struct entries es;
	struct outcome r;
	int failed = 0;

	if (scan_all(t, &es))
		return 1;
	if (!es.n && !fp_opts.json)
		printf("nothing to remove: fastpath has nothing attached on "
		       "this host\n");
	/* policies first: the last one out takes its dispatcher with it */
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (int i = 0; i < es.n; i++) {
			if (es.v[i].kind != order[k])
				continue;
			remove_entry(o, t, &es.v[i], &r);
			report(&es.v[i], t, &r);
			failed += !r.removed;
		}
	}
	entries_free(&es);
	return failed ? 1 : 0;
}
