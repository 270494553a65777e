// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer daemon: keeps every socket-layer policy in force while its
 * application changes (Syrup's syrupd, its first part). Sockets that join a
 * port's SO_REUSEPORT group become executors, closed ones leave, and a new
 * group (the server restarted) gets the policy again.
 *
 * Event-driven: bpf/syrup-watch.bpf.c reports binds, listens and closes on
 * the followed ports through a ring buffer, inotify on the pin root says
 * when a port is attached or detached; each report makes the daemon find
 * the port's executors again (executors_find_sockets, as attach does) and
 * bring the pins up to date (executors_sync). A slow re-scan (--rescan)
 * catches anything missed. The daemon adds nothing to a packet's path.
 *
 * Its programs hang on bpf_links it holds, never pinned: when it ends
 * (SIGTERM, SIGINT, or killed) they go, and the policies stay as they are.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.h"
#include "syrup-watch.skel.h"

#define EVENT_DELAY_NS	  (5 * 1000000ULL)   /* a burst of binds: one look */
#define FOLLOWUP_DELAY_NS (200 * 1000000ULL) /* and one more, later */
#define NR_FOLLOWUPS	  2

struct daemon_opts {
	unsigned int rescan; /* seconds between safety re-scans */
};

/* One port under a socket-layer policy. */
struct followed {
	char dir[128];
	char netns[48];
	__u8 proto;
	__u16 port;
	__u32 nr;     /* executors at the last look */
	__u64 due_ns; /* next look, 0: none */
	int followups;
	bool seen; /* still pinned at the last reload */
};

struct daemon {
	const struct daemon_opts *o;
	struct syrup_watch_bpf *skel;
	struct bpf_link *links[4];
	struct ring_buffer *rb;
	int home_ns, ino_fd, sig_fd, lock_fd;
	int root_wd; /* inotify on the pin root; -1 while it does not exist */
	bool reload; /* the pin root changed */
	int reload_tries; /* a port dir without its info: an attach pinning */
	struct followed f[SYRUP_WATCH_PORTS];
	int n;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* ---- the lock that says a daemon runs ------------------------------ */

int daemon_running(void)
{
	int fd = open(SYRUP_DAEMON_LOCK, O_RDONLY | O_CLOEXEC), pid = 0;
	char buf[32] = "";

	if (fd < 0)
		return 0;
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		close(fd); /* nobody holds it: no daemon */
		return 0;
	}
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		pid = atoi(buf);
	close(fd);
	return pid > 0 ? pid : 1;
}

static int take_lock(struct daemon *d)
{
	char buf[32];
	int pid, len;

	mkdir(SYRUP_RUN_DIR, 0755);
	d->lock_fd =
		open(SYRUP_DAEMON_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lock_fd < 0)
		return fp_error("cannot open %s: %s", SYRUP_DAEMON_LOCK,
				strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		pid = daemon_running();
		return fp_error("another syrup-steer daemon runs (pid %d)",
				pid);
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) || write(d->lock_fd, buf, len) != len)
		return fp_error("cannot write %s: %s", SYRUP_DAEMON_LOCK,
				strerror(errno));
	return 0;
}

/* ---- one port: find its executors again ----------------------------- */

static int enter_netns(const struct followed *f)
{
	return f->netns[0] ? fp_netns_enter(f->netns) : 0;
}

static bool pins_there(const char *dir)
{
	int fd = fp_pin_open(dir, "info");

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void look(struct daemon *d, struct followed *f)
{
	struct port_sel sel = {.port = f->port, .proto = f->proto};
	struct executors ex = {0};
	__u32 cookie_key = SYRUP_DISPATCH_KEY(f->proto, f->port);
	bool changed = false;
	int err, lock = pinned_lock(f->dir);

	/* detached meanwhile: inotify says so next */
	if (lock < 0 || !pins_there(f->dir)) {
		if (lock >= 0)
			close(lock);
		return;
	}
	err = enter_netns(f) ||
	      executors_find_sockets(&ex, &sel, NULL, 0, true) ||
	      executors_sync(f->dir, &ex, &changed);
	if (f->netns[0] && setns(d->home_ns, CLONE_NEWNET))
		fp_warn("cannot return to the daemon's network namespace: %s",
			strerror(errno));
	/* executors bound before we started: their close must be seen too */
	for (int i = 0; i < ex.n; i++)
		bpf_map_update_elem(bpf_map__fd(d->skel->maps.watch_socks),
				    &ex.e[i].info.cookie, &cookie_key, BPF_ANY);
	if (!err && (changed || (__u32)ex.n != f->nr))
		printf("%s/%u: %d executor%s (was %u)\n", proto_name(f->proto),
		       f->port, ex.n, ex.n == 1 ? "" : "s", f->nr);
	if (!err)
		f->nr = (__u32)ex.n;
	executors_close(&ex);
	close(lock);
}

/* ---- the followed ports: what the pin root holds -------------------- */

/* By pin dir: the same port may be followed in several netns. */
static struct followed *find(struct daemon *d, const char *dir)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->f[i].dir, dir))
			return &d->f[i];
	return NULL;
}

static void follow(struct daemon *d, const struct pinned *p)
{
	struct followed *f = find(d, p->dir);
	__u32 key = SYRUP_DISPATCH_KEY(p->info.proto, p->info.port);
	__u8 one = 1;

	if (f) {
		f->seen = true;
		return;
	}
	if (d->n >= SYRUP_WATCH_PORTS) {
		fp_warn("%s: more than %d ports, not followed", p->dir,
			SYRUP_WATCH_PORTS);
		return;
	}
	f = &d->f[d->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s", p->dir);
	snprintf(f->netns, sizeof(f->netns), "%s", p->info.netns);
	f->proto = p->info.proto;
	f->port = p->info.port;
	f->nr = p->info.nr_executors;
	f->seen = true;
	f->due_ns = now_ns();
	bpf_map_update_elem(bpf_map__fd(d->skel->maps.watch_ports), &key, &one,
			    BPF_ANY);
	printf("%s/%u: following (policy %s%s%s)\n", proto_name(f->proto),
	       f->port, p->info.policy, f->netns[0] ? ", netns " : "",
	       f->netns);
}

static void unfollow(struct daemon *d, int i)
{
	struct followed *f = &d->f[i];
	__u32 key = SYRUP_DISPATCH_KEY(f->proto, f->port);
	bool shared = false;

	/* the port may still be followed in another netns */
	for (int k = 0; k < d->n; k++)
		shared |= k != i && SYRUP_DISPATCH_KEY(d->f[k].proto,
						       d->f[k].port) == key;
	if (!shared)
		bpf_map_delete_elem(bpf_map__fd(d->skel->maps.watch_ports),
				    &key);
	printf("%s/%u: detached, no longer followed\n", proto_name(f->proto),
	       f->port);
	d->f[i] = d->f[--d->n];
}

/* Re-reads the pin root: new ports are followed, detached ones dropped. */
static void reload(struct daemon *d)
{
	struct dirent **names = NULL;
	int n;

	d->reload = false;
	for (int i = 0; i < d->n; i++)
		d->f[i].seen = false;
	n = scandir(SYRUP_PIN_ROOT, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char dir[512];
		struct pinned p;

		if (!strncmp(name, "udp-", 4) || !strncmp(name, "tcp-", 4)) {
			snprintf(dir, sizeof(dir), "%s/%s", SYRUP_PIN_ROOT,
				 name);
			/* an attach still pinning: its info comes next (for
			 * a second; a broken dir waits for the re-scan) */
			if (pinned_read(dir, &p))
				d->reload = ++d->reload_tries < 50;
			else if (p.info.layer == SYRUP_LAYER_SOCKET)
				follow(d, &p);
			pinned_close(&p);
		}
		free(names[i]);
	}
	free(names);
	for (int i = d->n - 1; i >= 0; i--)
		if (!d->f[i].seen)
			unfollow(d, i);
}

/* ---- events ----------------------------------------------------------- */

static void due_soon(struct followed *f)
{
	__u64 t = now_ns() + EVENT_DELAY_NS;

	if (!f->due_ns || f->due_ns > t)
		f->due_ns = t;
	f->followups = NR_FOLLOWUPS;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct syrup_watch_event *e = data;
	struct daemon *d = ctx;

	if (len < sizeof(*e))
		return 0;
	/* events carry no netns: every netns's copy of the port looks */
	for (int i = 0; i < d->n; i++) {
		struct followed *f = &d->f[i];

		if (SYRUP_DISPATCH_KEY(f->proto, f->port) != e->key)
			continue;
		fp_debug("%s: %s", f->dir,
			 e->what == SYRUP_WATCH_BIND	 ? "bind"
			 : e->what == SYRUP_WATCH_LISTEN ? "listen"
							 : "close");
		due_soon(f);
	}
	return 0;
}

/*
 * The pin root comes and goes (the last detach removes it): watch bpffs
 * for its creation and the root itself for ports attached and detached.
 */
static void watch_root(struct daemon *d)
{
	if (d->root_wd < 0)
		d->root_wd = inotify_add_watch(
			d->ino_fd, SYRUP_PIN_ROOT,
			IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
				IN_ONLYDIR);
}

static void drain_inotify(struct daemon *d)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(d->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->wd == d->root_wd && (ev->mask & IN_IGNORED))
				d->root_wd = -1;
			p += sizeof(*ev) + ev->len;
		}
	}
	watch_root(d);
	d->reload = true;
	d->reload_tries = 0;
}

/* The ports whose look is due; the time to the next one (ms), -1: none. */
static int run_due(struct daemon *d)
{
	__u64 now = now_ns(), next = 0;

	for (int i = 0; i < d->n; i++) {
		struct followed *f = &d->f[i];

		if (f->due_ns && f->due_ns <= now) {
			look(d, f);
			f->due_ns = f->followups-- > 0
					    ? now_ns() + FOLLOWUP_DELAY_NS
					    : 0;
		}
		if (f->due_ns && (!next || f->due_ns < next))
			next = f->due_ns;
	}
	if (!next)
		return -1;
	now = now_ns();
	return next <= now ? 0 : (int)((next - now) / 1000000 + 1);
}

/* ---- setting up and tearing down ------------------------------------- */

static int attach_programs(struct daemon *d)
{
	struct bpf_program *cg_progs[] = {
		d->skel->progs.syrup_bind4,
		d->skel->progs.syrup_bind6,
		d->skel->progs.syrup_release,
	};
	int cg_fd = fp_cgroup2_open();

	if (cg_fd < 0)
		return fp_error("cannot open the cgroup v2 root: %s",
				fp_strerror(cg_fd));
	for (int i = 0; i < 3; i++) {
		d->links[i] = bpf_program__attach_cgroup(cg_progs[i], cg_fd);
		if (!d->links[i]) {
			close(cg_fd);
			return fp_error("cannot attach %s to the cgroup v2 "
					"root: %s",
					bpf_program__name(cg_progs[i]),
					fp_strerror(-errno));
		}
	}
	close(cg_fd);
	d->links[3] = bpf_program__attach(d->skel->progs.syrup_listen);
	if (!d->links[3])
		return fp_error("cannot attach the tracepoint "
				"sock/inet_sock_set_state: %s",
				fp_strerror(-errno));
	return 0;
}

static int setup(struct daemon *d)
{
	sigset_t sigs;

	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_NET_ADMIN |
				FP_CAP_SYS_PTRACE | FP_CAP_SYS_ADMIN))
		return 1;
	fp_bump_memlock();
	if (fp_mount_bpffs())
		return fp_error("cannot mount bpffs at %s", FP_BPFFS);
	if (take_lock(d))
		return 1;
	d->home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->home_ns < 0)
		return fp_error("cannot open /proc/self/ns/net: %s",
				strerror(errno));
	d->skel = syrup_watch_bpf__open_and_load();
	if (!d->skel)
		return fp_error("cannot load the daemon's programs: %s "
				"(-v says more)",
				fp_strerror(-errno));
	if (attach_programs(d))
		return 1;
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.watch_events),
				 on_event, d, NULL);
	if (!d->rb)
		return fp_error("cannot read the ring buffer: %s",
				fp_strerror(-errno));
	d->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino_fd < 0 ||
	    inotify_add_watch(d->ino_fd, FP_BPFFS, IN_CREATE | IN_ONLYDIR) < 0)
		return fp_error("cannot watch %s: %s", FP_BPFFS,
				strerror(errno));
	watch_root(d);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	d->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sig_fd < 0)
		return fp_error("cannot open a signalfd: %s", strerror(errno));
	return 0;
}

static void teardown(struct daemon *d)
{
	for (int i = 0; i < 4; i++)
		bpf_link__destroy(d->links[i]); /* NULL is fine */
	ring_buffer__free(d->rb);
	syrup_watch_bpf__destroy(d->skel);
	if (d->home_ns >= 0)
		close(d->home_ns);
	if (d->ino_fd >= 0)
		close(d->ino_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	/* the lock file stays: an unheld lock says no daemon runs */
}

/* SIGTERM, SIGINT: the end (true). SIGHUP: everything looked at again. */
static bool on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	bool end = false;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			d->reload = true;
			for (int i = 0; i < d->n; i++)
				due_soon(&d->f[i]);
		} else {
			end = true;
		}
	}
	return end;
}

static int do_daemon(const void *opts)
{
	struct daemon d = {
		.o = opts,
		.home_ns = -1,
		.ino_fd = -1,
		.sig_fd = -1,
		.lock_fd = -1,
		.root_wd = -1,
	};
	__u64 rescan = 0;
	int err = 1;

	setlinebuf(stdout);
	if (setup(&d))
		goto cleanup;
	printf("syrup-steer daemon: following the ports under %s (pid %d)\n",
	       SYRUP_PIN_ROOT, (int)getpid());
	for (;;) {
		struct pollfd pfd[] = {
			{.fd = ring_buffer__epoll_fd(d.rb), .events = POLLIN},
			{.fd = d.ino_fd, .events = POLLIN},
			{.fd = d.sig_fd, .events = POLLIN},
		};
		int timeout;

		if (now_ns() >= rescan) {
			d.reload = true;
			d.reload_tries = 0;
			for (int i = 0; i < d.n; i++)
				if (!d.f[i].due_ns)
					d.f[i].due_ns = now_ns();
			rescan = now_ns() + d.o->rescan * 1000000000ULL;
		}
		if (d.reload)
			reload(&d);
		timeout = run_due(&d);
		/* an attach half-way through its pins: look again soon */
		if (d.reload && (timeout < 0 || timeout > 20))
			timeout = 20;
		/* idle: sleep until the re-scan */
		if (timeout < 0) {
			__u64 now = now_ns();

			timeout = rescan > now
					  ? (int)((rescan - now) / 1000000 + 1)
					  : 0;
		}
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR) {
			fp_error("poll: %s", strerror(errno));
			goto cleanup;
		}
		if (pfd[0].revents)
			ring_buffer__consume(d.rb);
		if (pfd[1].revents)
			drain_inotify(&d);
		if (pfd[2].revents && on_signal(&d))
			break;
	}
	printf("syrup-steer daemon: exiting; the policies stay attached\n");
	err = 0;
cleanup:
	teardown(&d);
	return err;
}

static const char doc[] =
	"Keep every socket-layer policy on its port's sockets while the "
	"application changes: sockets that join the SO_REUSEPORT group become "
	"executors, closed ones leave, and a restarted server's new group is "
	"steered again, within a second and with no command. Runs in the "
	"foreground (syrup-steer.service); SIGTERM ends it and leaves the "
	"policies attached."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer daemon               # follow every attached port\n"
	"    syrup-steer daemon -v            # and say why it looks\n"
	"    systemctl enable --now syrup-steer  # the same, as a service\n";

static const struct argp_option options[] = {
	{"rescan", OPT_RESCAN, "SECS", 0,
	 "Look at every port also every SECS seconds (default 30)", 0},
	{},
};

static error_t parse_daemon(int key, char *arg, struct argp_state *state)
{
	struct daemon_opts *o = state->input;
	uint64_t v;

	switch (key) {
	case OPT_RESCAN:
		if (fp_parse_u64(arg, 1, 86400, &v))
			argp_error(state,
				   "invalid --rescan '%s': want 1..86400 "
				   "seconds",
				   arg);
		o->rescan = (unsigned int)v;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	options, parse_daemon, NULL, doc, json_children, NULL, NULL,
};

static const struct daemon_opts defaults = {.rescan = 30};

const struct fp_command daemon_cmd = {
	.name = "daemon",
	.summary = "keep the policies on their ports' sockets as they change",
	.argp = &argp,
	.opts_size = sizeof(struct daemon_opts),
	.defaults = &defaults,
	.run = do_daemon,
};
