/* SPDX-License-Identifier: GPL-2.0 */
/* syrup-steer: types shared by syrup-steer.bpf.c and the tool. */
#ifndef FASTPATH_SYRUP_STEER_H
#define FASTPATH_SYRUP_STEER_H

/*
 * Pinned under /sys/fs/bpf/syrup/PROTO-PORT-nsNETNSINODE/ (e.g.
 * udp-9000-ns4026531840: one per port and network namespace), mode 0700:
 *   prog     the policy program (the reuseport group or the XDP
 *            dispatcher's progs map holds it too)
 *   conf     ARRAY[1] struct syrup_conf (include/syrup.h)
 *   params   HASH name -> u64, the policy's parameters (`set` writes here)
 *   load     ARRAY[64] u64, per-executor load the application writes
 *   stats    PERCPU_ARRAY[65] struct syrup_stat, per executor + "other"
 *   socks    REUSEPORT_SOCKARRAY[64] (socket layer): executor -> socket
 *   cpumap   CPUMAP[64] (XDP layer): CPU -> queue
 *   xsks     XSKMAP[64] (XDP layer, --xsk): executor -> AF_XDP socket
 *   state    ARRAY[16] u64, counters policies keep (rr position, ...)
 *   info     ARRAY[1] struct syrup_info (written once by attach)
 *   execs    ARRAY[64] struct syrup_exec (how executors were numbered)
 * plus any map a user policy declares, under its own name.
 */

/*
 * XDP layer: one dispatcher per interface (bpf/syrup-dispatch.bpf.c), pinned
 * under /sys/fs/bpf/syrup/xdp-IFINDEX-NETNSINODE/:
 *   link     the XDP link of the dispatcher (removed with the last port)
 *   progs    PROG_ARRAY[64]: slot -> a port's policy program
 *   ports    HASH (proto << 16 | port) -> slot
 */
#define SYRUP_DISPATCH_SLOTS		64
#define SYRUP_DISPATCH_KEY(proto, port) ((__u32)(proto) << 16 | (port))

/* Built-in policies: conf.builtin. 0 is a user policy. */
enum syrup_builtin {
	SYRUP_USER = 0,
	SYRUP_RR = 1,
	SYRUP_HASH = 2,
	SYRUP_RANDOM = 3,
	SYRUP_LEAST_LOADED = 4,
	SYRUP_SITA = 5,
};

/* state map slots the built-ins use */
#define SYRUP_STATE_RR	   0
#define SYRUP_STATE_RR_BIG 1

struct syrup_info {
	char policy[64]; /* built-in name or the policy file's base name */
	char iface[16];	 /* XDP layer */
	char netns[48];	 /* --netns NAME, "" for the tool's own */
	__u32 ifindex;
	__u32 layer; /* enum syrup_layer */
	__u16 port;
	__u8 proto;   /* 17 udp, 6 tcp */
	__u8 builtin; /* enum syrup_builtin */
	__u32 nr_executors;
	__u32 xdp_mode; /* enum fp_xdp_mode in use */
	__u32 xsk;	/* XDP layer: the executors are AF_XDP sockets */
	__u64 netns_ino;
	__u64 attached_at; /* wall clock seconds */
};

struct syrup_exec {
	__u32 pid;    /* process the socket was taken from */
	__u32 fd;     /* its fd there */
	__u64 inode;  /* socket inode (socket:[N]) */
	__u64 cookie; /* SO_COOKIE */
	__u32 cpu;    /* XDP layer: the CPU, or (xsk) the socket's queue */
	__u32 family; /* AF_INET / AF_INET6 */
	char comm[16];
};

/*
 * The daemon (syrup-steer daemon, bpf/syrup-watch.bpf.c): cgroup programs
 * on the cgroup v2 root and a TCP state tracepoint report, through a ring
 * buffer, each bind, listen and close of a socket on a port the daemon
 * follows; the daemon then finds the port's executors again. Nothing is
 * pinned: the programs end with the daemon.
 */
#define SYRUP_WATCH_PORTS 256
#define SYRUP_WATCH_SOCKS 4096

enum syrup_watch_what {
	SYRUP_WATCH_BIND = 1,	 /* post_bind4/6 */
	SYRUP_WATCH_LISTEN = 2,	 /* a TCP socket entered LISTEN */
	SYRUP_WATCH_RELEASE = 3, /* a socket the daemon knows was closed */
};

struct syrup_watch_event {
	__u32 key;  /* SYRUP_DISPATCH_KEY(proto, port) */
	__u32 what; /* enum syrup_watch_what */
};

#endif
