/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastpath-status: what its files share. scan.c reads the pins of every
 * fastpath tool into entries, netns.c names and enters network namespaces,
 * meta.c reads a program's bpf_metadata, list.c prints entries, detach.c
 * removes them.
 */
#ifndef FASTPATH_STATUS_H
#define FASTPATH_STATUS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pin.h"

#define BMC_ROOT   FP_BPFFS "/bmc"
#define SYRUP_ROOT FP_BPFFS "/syrup"

/* ---- network namespaces (netns.c) ---- */

struct netns {
	__u64 ino;
	char name[256]; /* under /run/netns; "" when it has none */
	char path[300]; /* what to open for setns() */
};

struct netns_table {
	struct netns *ns;
	int n, cap;
	__u64 self_ino;
	int self_fd; /* our own namespace, to come back after a setns() */
};

/*
 * Every namespace that is alive: ours, the named ones, nsfs mounts and
 * those of running processes. 0 or -errno.
 */
int netns_table_load(struct netns_table *t);
void netns_table_free(struct netns_table *t);
/* NULL when no name, mount or process holds that namespace any more. */
const struct netns *netns_find(const struct netns_table *t, __u64 ino);
/* Its /run/netns name, else the inode in decimal. */
const char *netns_label(const struct netns_table *t, __u64 ino, char *buf,
			size_t len);
/*
 * The name of ifindex inside namespace ino: 0, -ENODEV when there is no
 * such interface, -ESRCH when the namespace is gone, other -errno.
 */
int netns_ifname(const struct netns_table *t, __u64 ino, __u32 ifindex,
		 char name[IF_NAMESIZE]);

/* ---- what the pins say (scan.c) ---- */

enum kind { KIND_BMC, KIND_SYRUP, KIND_DISPATCHER };
enum state { STATE_ATTACHED, STATE_STALE, STATE_BROKEN };

/* One pinned file of an attachment. */
struct pin {
	char name[64];
	const char *type; /* "prog", "map", "link", "dir" or "unknown" */
	__u32 id;	  /* of the program, map or link */
	__u32 prog_id;	  /* a link's program; a program's own id */
	__u32 ifindex;	  /* an XDP link's device, 0 once it is gone */
	char what[48];	  /* program or map name and type, link type */
};

#define MAX_PINS  48
#define MAX_PROGS 16
#define MAX_PORTS 8

struct entry {
	enum kind kind;
	char name[64]; /* IFACE, udp/PORT, or the dispatcher's IFACE */
	char dir[256]; /* the pin directory (or stray file) */
	bool is_dir;   /* false: a stray file where a directory belongs */
	bool readable; /* its config / info map could be read */
	bool have_netns;
	__u64 netns_ino;
	char iface[IF_NAMESIZE]; /* "" when none */
	__u32 ifindex;
	__u8 proto; /* 17 udp, 6 tcp, 0 both (BMC) or none */
	__u16 port;
	char ports[MAX_PORTS][16]; /* "udp/9000": what it takes packets of */
	int nr_ports;
	const char *layer;    /* syrup: "socket" or "xdp" */
	const char *xdp_mode; /* "native", "generic" or NULL */
	char policy[64];
	__u32 prog_id; /* the main program: XDP, policy, dispatcher */
	__u32 prog_ids[MAX_PROGS];
	int nr_progs;
	char tool[64], version[64]; /* from bpf_metadata, "" unknown */
	__u64 attached_at;
	enum state state;
	char reason[256]; /* why stale or broken, or a note */
	struct pin pins[MAX_PINS];
	int nr_pins;
};

struct entries {
	struct entry *v;
	int n, cap;
};

/*
 * Reads /sys/fs/bpf/bmc/ and /sys/fs/bpf/syrup/ into e, sorted by kind
 * (enum kind's order), then path. 0, or 1 after printing why.
 */
int scan_all(const struct netns_table *t, struct entries *e);
void entries_free(struct entries *e);
const char *kind_name(enum kind k);
const char *state_name(enum state s);

/* ---- bpf_metadata (meta.c) ---- */

/*
 * The bpf_metadata_tool and bpf_metadata_version strings of program
 * prog_id, read from the .rodata map bound to it; "" when it has none.
 */
void prog_metadata(__u32 prog_id, char *tool, size_t tool_len, char *version,
		   size_t version_len);

/* ---- the two commands ---- */

struct list_opts {
	bool pins; /* --pins: every pinned object under its entry */
};
int cmd_list(const struct list_opts *o, const struct netns_table *t);

struct detach_opts {
	const char *exe_dir; /* where bmc-attach and syrup-steer are */
};
int cmd_detach_all(const struct detach_opts *o, const struct netns_table *t);

#endif
