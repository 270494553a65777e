/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syrup-steer's files and what they give each other. Each command is one
 * file (attach.c, detach.c, status.c, stats.c, set.c) with its own options
 * struct; the others hold one concern each. Nothing here is mutable state
 * shared between commands: what a function needs, it is given.
 */
#ifndef SYRUP_STEER_PRIVATE_H
#define SYRUP_STEER_PRIVATE_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/types.h>

#include "fastpath.h"
#include "syrup.h"
#include "syrup-steer.h"

#define SYRUP_PIN_ROOT	  FP_BPFFS "/syrup"
#define PROTO_UDP	  17
#define PROTO_TCP	  6
#define SYRUP_MAX_ARGS	  64 /* --param, --pid, KEY=VALUE */
#define SYRUP_RUN_DIR	  "/run/syrup"
#define SYRUP_DAEMON_LOCK SYRUP_RUN_DIR "/daemon.pid" /* flock'd by it */

/* Long options without a letter. */
enum {
	OPT_PROTO = 1000,
	OPT_PARAM,
	OPT_LAYER,
	OPT_NETNS,
	OPT_CPUS,
	OPT_MODE,
	OPT_POLICY,
	OPT_CGROUP,
	OPT_RESCAN,
	OPT_XSK,
};

/* ---- main.c: the command line every command shares ----------------- */

/* The port a command acts on: --port, --proto, --netns. */
struct port_sel {
	__u16 port;
	bool have_port;
	__u8 proto; /* PROTO_UDP unless --proto */
	bool have_proto;
	const char *netns;
};

/* --port, --proto, --netns for commands that act on an attached port. */
extern const struct argp_option port_options[];
/* -j, -T, -v: the children of every command's argp. */
extern const struct argp_child json_children[];
/* Parses -p, --proto and --netns; ARGP_ERR_UNKNOWN for other keys. */
error_t port_sel_parse(int key, char *arg, struct argp_state *state,
		       struct port_sel *sel);
/* At ARGP_KEY_END: "--port is required". */
void port_sel_check(struct argp_state *state, const struct port_sel *sel);
/*
 * The whole parser of a command whose options only name the port (detach,
 * stats): its options struct is a struct port_sel, these its defaults.
 */
error_t port_cmd_parse(int key, char *arg, struct argp_state *state);
extern const struct port_sel port_sel_defaults;

const char *proto_name(__u8 proto);
const char *layer_name(__u32 layer);

extern const struct fp_command attach_cmd, detach_cmd, status_cmd, stats_cmd,
	set_cmd, daemon_cmd;

/* ---- settings.c: built-in policies, parameters, KEY=VALUE ----------- */

/* A built-in's id (SYRUP_RR...) by name, or -1. */
int syrup_builtin_id(const char *name);
/* Its name; "user" for SYRUP_USER and unknown ids. */
const char *syrup_builtin_name(int id);
/* A built-in, a .c or a .o: what attach --policy accepts. */
bool syrup_policy_spec_valid(const char *spec);
/* "KEY=VALUE" with a non-empty KEY: what the command line accepts. */
bool syrup_setting_shape_ok(const char *arg);

/* One KEY=VALUE, parsed for a policy: `load.N=V` or a parameter. */
struct syrup_setting {
	bool load;  /* load.N: executor N's load */
	__u32 exec; /* N */
	char name[SYRUP_PARAM_NAME_LEN];
	const char *text; /* VALUE as given */
	__u64 value;	  /* the number, or <= 8 bytes, first in the lowest */
	bool bytes;	  /* a byte-string parameter: NAME_len is written too */
};

/*
 * Parses `s` for a policy (a built-in id, or SYRUP_USER: any name, numeric
 * values). 0, or -EINVAL with the reason, for a person, in `why`.
 */
int syrup_setting_parse(const char *s, int builtin, struct syrup_setting *out,
			char *why, size_t why_len);
/* Writes it into the policy's params or load map; prints why not, 1. */
int syrup_setting_write(const struct syrup_setting *s, int params_fd,
			int load_fd);
/* Writes the defaults of a built-in's numeric parameters. */
void syrup_settings_defaults(int builtin, int params_fd);

/* ---- policy.c: a built-in, or users' C, loaded ---------------------- */

struct syrup_steer_bpf;

struct policy {
	struct syrup_steer_bpf *skel; /* the built-ins */
	struct bpf_object *obj;
	struct bpf_program *prog; /* the entry point of the layer */
	struct fp_bpfcc cc;	  /* where a .c was compiled */
	char name[64];		  /* built-in name or file base name */
	int builtin;		  /* SYRUP_RR..., SYRUP_USER */
};

/* clang SRC against syrup.h's directory into cc (cc->obj); prints, 1. */
int policy_compile(struct fp_bpfcc *cc, const char *src);
/* Opens, compiles if need be, and loads `spec` for `layer`; prints, 1. */
int policy_load(struct policy *p, const char *spec, enum syrup_layer layer);
void policy_unload(struct policy *p);
/* The fd of one of the policy's maps ("syrup_conf"), or -1. */
int policy_map_fd(const struct policy *p, const char *name);

/* ---- executors.c: sockets taken from applications, or CPUs --------- */

struct executor {
	struct syrup_exec info;
	int fd; /* our copy of the socket, -1 for CPUs */
};

struct executors {
	struct executor e[SYRUP_MAX_EXECUTORS];
	int n;
};

/*
 * The sockets bound to the port (in the given processes, or all), by pid
 * then fd, each taken with pidfd_getfd. Prints why not and returns 1;
 * with none_ok (the daemon, between two servers) no socket is no error.
 */
int executors_find_sockets(struct executors *ex, const struct port_sel *sel,
			   const pid_t *pids, int nr_pids, bool none_ok);
/*
 * The AF_XDP sockets the given processes hold, by pid then fd, each taken
 * with pidfd_getfd; one not bound to ifindex is refused. Prints why not
 * and returns 1.
 */
int executors_find_xsks(struct executors *ex, const pid_t *pids, int nr_pids,
			unsigned int ifindex, const char *iface);
/* --cpus LIST, or every online CPU. Prints why not and returns 1. */
int executors_find_cpus(struct executors *ex, const char *list);
/* Executor i's socket (or CPU queue) into the policy's map; prints, 1. */
int executors_fill_map(const struct executors *ex, const struct policy *p,
		       enum syrup_layer layer, bool xsk);
/*
 * SO_ATTACH_REUSEPORT_EBPF on each socket's group; prints why not, 1.
 * *done counts the sockets it went onto, for the undo.
 */
int executors_attach(const struct executors *ex, int prog_fd, int *done);
/* Takes the program off each socket's group again (best effort). */
void executors_detach(const struct executors *ex);
void executors_close(struct executors *ex);
/*
 * Makes the port pinned in dir steer to ex, as found again (the daemon):
 * its socks map holds exactly ex's sockets in order, conf, info and execs
 * say how many and which, and the policy is on each socket's group (a new
 * group, after a restart, has none). *changed says if the socks map or
 * the count moved. Prints why not, 1.
 */
int executors_sync(const char *dir, const struct executors *ex, bool *changed);
/* SO_DETACH_REUSEPORT_BPF: 0 (also when nothing was attached) or -errno. */
int reuseport_detach(int sfd);

/* ---- state.c: what attach pins, read back by the other commands ---- */

struct pinned {
	char dir[128];
	struct syrup_info info;
	struct syrup_exec execs[SYRUP_MAX_EXECUTORS];
	int conf_fd, params_fd, load_fd, stats_fd, socks_fd;
};

/* /sys/fs/bpf/syrup/PROTO-PORT-nsINODE */
void port_dir(char *buf, size_t len, __u8 proto, __u16 port,
	      unsigned long netns_ino);
/*
 * Waits for and takes the port's lock (flock on its pin dir): detach holds
 * it from taking the policy off to removing the pins, the daemon while it
 * updates them, so it never puts back a policy being detached. The fd
 * (close it to unlock), or -errno.
 */
int pinned_lock(const char *dir);
/* Reads a port's pins into p (fds -1 when missing). 0 or -errno. */
int pinned_read(const char *dir, struct pinned *p);
void pinned_close(struct pinned *p);
/* The port `sel` names (either protocol if --proto is not given). */
int pinned_open_port(const struct port_sel *sel, struct pinned *p);
/* Is executor i still there? (a socket can be closed; CPUs stay) */
bool pinned_executor_open(const struct pinned *p, __u32 i);
/*
 * Pins the policy's maps (of the executor maps, only the one in use: socks,
 * cpumap, or xsks with --xsk) and its program.
 */
int pinned_write_policy(const char *dir, const struct policy *p,
			enum syrup_layer layer, bool xsk);
/* Pins `info` and the executors' numbering. 0 or -errno. */
int pinned_write_info(const char *dir, const struct syrup_info *info,
		      const struct executors *ex);

/* ---- dispatch.c: the XDP dispatcher, one per interface ------------- */

struct dispatcher {
	char dir[128];
	int progs_fd, ports_fd;
};

/* /sys/fs/bpf/syrup/xdp-IFINDEX-NETNS */
void dispatcher_dir(char *buf, size_t len, unsigned int ifindex, __u64 ns);
/*
 * Opens the interface's dispatcher, attaching one first if there is none
 * (in `mode`; *used says the mode it runs in). Prints why not, 1.
 */
int dispatcher_open(struct dispatcher *d, unsigned int ifindex,
		    const char *iface, enum fp_xdp_mode mode,
		    enum fp_xdp_mode *used);
void dispatcher_close(struct dispatcher *d);
/* Gives the port a free slot: its packets go to prog_fd from now on. */
int dispatcher_insert(struct dispatcher *d, int prog_fd, __u8 proto, __u16 port,
		      const char *iface);
/* Takes the port out; the last port out removes the dispatcher. */
void dispatcher_remove(const char *dir, __u8 proto, __u16 port);

/* ---- thread.c: the thread layer (sched_ext), one cgroup's threads -- */

/* What attach --layer thread was given. */
struct thread_req {
	const char *policy; /* rr, sita (stall: tests only) */
	const char *cgroup; /* --cgroup PATH, or NULL with pid */
	pid_t pid;	    /* --pid: that process's cgroup */
	const char *cpus;   /* --cpus LIST, NULL: every online CPU */
	const char *const *params;
	int nr_params;
};

/* A thread-layer built-in (SYRUP_THREAD_RR...) by name, or -1. */
int thread_builtin_id(const char *name);
/* Loads, pins and enables the scheduler, switches the cgroup; prints, 1. */
int thread_attach(const struct thread_req *r);
/* Restores the cgroup's threads and unpins (the scheduler unloads). */
int thread_detach(void);
/* hint.TID=short|long|none, reserved=N, live. */
int thread_set(const char *const *settings, int n);
/* Prints the thread layer if attached; false if it is not. */
bool thread_status(bool json, bool first);

/* ---- daemon.c: syrup-steer daemon ----------------------------------- */

/* The pid of the running daemon (1 if unknown), or 0 if none runs. */
int daemon_running(void);

/* ---- status.c ------------------------------------------------------- */

/* Whether a port's executors are still its group (socket layer). */
struct follow {
	int daemon_pid; /* syrup-steer daemon follows it; 0: none runs */
	bool stale;	/* no daemon, and one of these: */
	int joined;	/* sockets on the port that are not executors */
	__u32 closed;	/* executors closed */
};

/* Fills f for p: followed, or (no daemon) how stale. */
void status_follow(const struct pinned *p, int daemon_pid, struct follow *f);
/* One port as `status` shows it: a table, or a JSON object when j. */
void status_print(const struct pinned *p, const struct follow *f,
		  struct fp_json *j);

#endif
