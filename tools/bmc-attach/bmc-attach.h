/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bmc-attach's files share this: each command's options struct, and the
 * helpers more than one command uses. Nothing here is mutable state.
 */
#ifndef BMC_ATTACH_H
#define BMC_ATTACH_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/bpf.h>
#include <linux/types.h>

#include "fastpath.h"
#include "bmc.h"

#define BMC_DEFAULT_PORT  11211
#define BMC_DEFAULT_CACHE (64ULL << 20)
#define BMC_MIN_CACHE	  (64ULL << 10)
#define BMC_MAX_CACHE	  (64ULL << 30)
#define BMC_MAX_AGE_MAX	  (30 * 86400) /* --max-age: at most 30 days */

struct bmc_attach_bpf; /* the skeleton, for attach.c and watch.c */

/* attach IFACE: what to load, where, and how. */
struct attach_opts {
	const char *iface;
	const char *netns;
	uint64_t cache_size;
	uint32_t max_age;
	uint32_t max_value; /* largest value cached, bytes */
	uint16_t port;
	enum fp_xdp_mode mode;
	bool replace;
	bool cold; /* --cold: learn no expiries from memcached */
};

/* detach IFACE */
struct detach_opts {
	const char *iface;
	const char *netns;
};

/* status [IFACE] */
struct status_opts {
	const char *iface; /* only this one; NULL: every one */
};

extern const struct fp_command attach_cmd, detach_cmd, status_cmd;
extern const struct attach_opts attach_defaults;
/*
 * attach's value options (--port, --cache-size, --mode, --max-age, --netns,
 * --replace) alone, into the struct attach_opts in state->input: the
 * attach command and the old command line (alias.c) both take them.
 */
extern const struct argp attach_values_argp;

int attach_run(const void *opts);
int detach_run(const void *opts);
int status_run(const void *opts);

/*
 * The IFACE argument of every form (state.c): one, and a valid name, or a
 * usage error (exit 64) like any other bad argument.
 */
void iface_arg(struct argp_state *state, const char **slot, const char *arg);

/* alias.c: `bmc-attach IFACE`, `--detach IFACE`, `--status` as before. */
int alias_main(const struct fp_tool *tool, int argc, char **argv);

/*
 * Pure helpers (params.c), unit-tested in tests/unit/bmc-attach_params.c.
 */
/* The cache's shape for --cache-size bytes: a power-of-two number of sets
 * of BMC_WAYS entries, and the tables sized from it. */
struct bmc_geometry;

/* What bmc-attach learned from memcached at attach (warm.c). */
struct bmc_warm_result {
	uint64_t keys;	   /* in memcached's dump */
	uint64_t learned;  /* expiries now in BMC's exps map */
	uint64_t written;  /* written since attach: BMC's own entry stays */
	uint64_t expired;  /* expired or within BMC's margin of it */
	uint64_t beyond;   /* less recently used than the cache can hold */
	uint64_t unparsed; /* lines that were not key=... exp=... */
	double secs;
	char why[160]; /* when it failed */
};
/*
 * Warm attach: every key memcached holds, with its expiry, from
 * `lru_crawler metadump all` on its TCP port in this namespace, into
 * BMC's exps map without overriding what writes since the attach left.
 * 0, or an error with r->why set; BMC stays attached either way.
 */
int bmc_learn_expiries(int exps_fd, int buckets_fd,
		       const struct bmc_geometry *g, uint16_t port,
		       struct bmc_warm_result *r);
/*
 * One metadump line -> key hash, CLOCK_MONOTONIC deadline (0: expired) and
 * a rank: its last access, with BMC_WARM_FETCHED when it was ever read.
 */
#define BMC_WARM_FETCHED (1ULL << 63)
int bmc_warm_parse_line(const char *line, int64_t wall_s, uint64_t mono_ns,
			uint64_t *hash, uint64_t *deadline,
			uint64_t *last_access);
/* BMC's key hash, as its BPF side computes it. */
uint64_t bmc_key_hash(const char *key, size_t len);

struct bmc_geometry {
	uint64_t entries; /* sets * BMC_WAYS: the cache map's size */
	uint64_t sets;	  /* a power of two, >= 8 */
	uint64_t gens;	  /* write-generation buckets: a power of two */
	uint64_t exps;	  /* expiry table entries */
};
void bmc_cache_geometry(uint64_t cache_size, struct bmc_geometry *g);
/* --cache-size: -EINVAL unparsable, -ERANGE outside 64K..64G. */
int bmc_parse_cache_size(const char *s, uint64_t *out);
/* --max-age: seconds, 1..BMC_MAX_AGE_MAX; -EINVAL otherwise. */
int bmc_parse_max_age(const char *s, uint32_t *out);
/* --max-value: 1..BMC_MAX_VALUE bytes, else -EINVAL. */
int bmc_parse_max_value(const char *s, uint32_t *out);
/*
 * Is argv the command form (`bmc-attach [-v] [-j] COMMAND ...`, COMMAND
 * one of the tool's or help)? Otherwise it is one of the old forms.
 */
bool bmc_command_form(const struct fp_tool *tool, int argc, char **argv);

/*
 * Pinned state (state.c): /sys/fs/bpf/bmc/IFACE/ and what is in it.
 */
int bmc_pin_dir(char *buf, size_t len, const char *iface);
/* The pinned config of one attachment, 0 or -errno. */
int bmc_read_config(const char *dir, struct bmc_config *cfg);
/* Is a network namespace with this inode still around (ours or named)? */
bool bmc_netns_alive(unsigned long ino);
/* The id of the program pinned at DIR/NAME, 0 if none. */
unsigned int bmc_pinned_prog_id(const char *dir, const char *name);
/*
 * Removes our TC filter (only if it still runs our pinned program, and
 * only when `same_ns`) and every pin; 0, or prints and returns 1.
 */
int bmc_remove(const char *dir, const struct bmc_config *cfg, bool same_ns);
/*
 * Privileges, memlock, bpffs; then enters `netns` if not NULL. 0, or
 * prints and returns 1.
 */
int bmc_prepare(const char *netns);

/* kernel.c: refuses a kernel BMC cannot load on; 0 or 1. */
int bmc_check_kernel(bool *xdp_bytes);

/*
 * watch.c: the programs that flush the cache when memcached restarts (the
 * tracepoint, the cgroup socket programs) attached and pinned in `dir`,
 * and the UDP sockets already on the port remembered. 0 or 1.
 */
int bmc_watch_restarts(struct bmc_attach_bpf *skel, const char *dir,
		       uint16_t port);

#endif
