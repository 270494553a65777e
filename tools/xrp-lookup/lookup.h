/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xrp-lookup's files and what they give each other. Each command is one
 * file (create.c, get.c, range.c, bench.c, verify.c) with its own options
 * struct; the others hold one concern each. Nothing here is mutable state
 * shared between commands: what a function needs, it is given.
 */
#ifndef XRP_LOOKUP_PRIVATE_H
#define XRP_LOOKUP_PRIVATE_H

#include <argp.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "fastpath.h"
#include "xrp.h"

#define MAX_LAYERS    6	    /* 31^6 keys is already a 57 GB database */
#define DEFAULT_DEPTH 64    /* reads per lookup (a range batch needs ~40) */
#define CTX_STRIDE    12288 /* sizeof(struct bpf_xrp) rounded to 4 KiB */

enum engine { ENG_AUTO, ENG_PREAD, ENG_URING, ENG_XRP, ENG_KERNEL };
/* Indexed by enum engine: what --engine takes and bench prints. */
extern const char *const engine_names[];

/* Long options without a letter. */
enum {
	OPT_SQPOLL = 0x100,
	OPT_SEED,
	OPT_MAX_DEPTH,
	OPT_CACHE_LAYERS,
	OPT_SUM,
};

/* ---- options.c: what the commands' command lines share -------------- */

/* The options of the commands that look keys up (get, range, bench). */
struct lookup_opts {
	enum engine engine;
	bool engine_given;
	const char *function;
	uint64_t max_depth;
	uint64_t cache_layers;
	uint64_t inflight;
	bool sqpoll;
};

/* Their defaults, in a command's options struct that names them `lk`. */
#define LOOKUP_DEFAULTS .lk.max_depth = DEFAULT_DEPTH, .lk.inflight = 32

/*
 * The children of get's, range's and bench's argp: --engine, --function,
 * --max-depth, --cache-layers, --inflight, --sqpoll (struct lookup_opts,
 * which the command hands over as child_inputs[0] at ARGP_KEY_INIT), then
 * -j and -v.
 */
extern const struct argp_child lookup_children[];
/* -j and -v: the children of create's and verify's argp, and the tool's. */
extern const struct argp_child json_children[];
/* An integer option from min to max, or argp_error() saying so. */
void parse_u64_opt(struct argp_state *state, const char *what, const char *arg,
		   uint64_t min, uint64_t max, uint64_t *out);
/*
 * The one argument of create, bench (FILE) and verify (FUNC), at
 * ARGP_KEY_ARG: stored in *out; a second argument is a usage error.
 */
void parse_only_arg(struct argp_state *state, char *arg, const char **out);
/* The warning of a hidden short option of old (-c, -d, -s). */
void warn_old_short(char opt, const char *long_name);

extern const struct fp_command create_cmd, get_cmd, range_cmd, bench_cmd,
	verify_cmd;

/* ---- db.c: the BPF-KV database format --------------------------------- */

struct db {
	int fd;
	const char *path;
	uint64_t dev_size; /* file or device */
	uint64_t size;	   /* bytes the database occupies */
	uint64_t nodes;
	uint64_t keys;
	unsigned int layers;
	bool blockdev;
	unsigned char *cache; /* the top --cache-layers layers */
	uint64_t cache_bytes;
};

/* Keys, index nodes and bytes of an L-layer database. */
uint64_t db_keys(unsigned int layers);
uint64_t db_nodes(unsigned int layers);
uint64_t db_bytes(unsigned int layers);
/* The value stored for key k: "%63lu" and a NUL. */
void db_format_value(char *v, uint64_t k);
/* A value as printed: without the padding. */
const char *db_value_text(const char *v);
/* The size of a file or a block device; prints why not, 1. */
int db_dev_size(int fd, const char *path, uint64_t *size, bool *blk);
/*
 * Writes an L-layer database onto fd, index then value log, as BPF-KV
 * lays it out; prints why not, 1.
 */
int db_write(int fd, const char *path, unsigned int layers);
/*
 * Opens with O_DIRECT, checks the index's left edge and the size, and
 * reads the top `cache_layers` layers into memory; prints why not, 1.
 */
int db_open(struct db *db, const char *path, unsigned int cache_layers);
void db_close(struct db *db);

/* ---- function.c: storage functions, built in or a user's C ----------- */

typedef unsigned int (*xrp_fn)(struct bpf_xrp *ctx);

struct function {
	const char *name;
	xrp_fn fn;
	bool range; /* speaks struct xrp_range rather than xrp_lookup */
	void *dl;
};

/*
 * `spec` (NULL for the built-in of the kind, bpfkv-get, bpfkv-range or a
 * FILE.c, compiled with cc and loaded): prints why not, 1.
 */
int function_load(struct function *f, const char *spec, bool range);
/* Does it name a C file? (NULL does not) */
bool function_is_source(const char *spec);
/*
 * Compiles a user's FILE.c into the socket-filter stand-in that carries it
 * through the verifier (clang -target bpf); the object's path goes to obj.
 * Prints why not, 1.
 */
int function_compile_standin(const char *file, char *obj, size_t len);
/*
 * A user's FILE.c compiled for BPF (clang -target bpf) by a carrier source
 * that includes "xrp.h", then FILE (by its absolute path), then `tail`:
 * NAME.c in cc's scratch directory, which holds whatever the carrier
 * includes; the object is cc->obj. `cflags` go to clang; `purpose` ends
 * the error ("for BPF"). Prints why not, 1.
 */
int function_compile_bpf(struct fp_bpfcc *cc, const char *file,
			 const char *name, const char *tail, const char *cflags,
			 const char *purpose);
/* The first line of a compiler's output that says "error". */
const char *function_error_line(char *out);

/* ---- step.c: the rules every engine applies to a function ------------ */

enum step { STEP_READ, STEP_DONE, STEP_ERROR };

/* Start a lookup: scratch zeroed, query in, first read = the root block. */
void lookup_start(struct bpf_xrp *ctx, uint64_t key);
/*
 * After a read completed into ctx->data: runs the function and checks what
 * it asks for next, in err when it is wrong. Nothing outside the database
 * is read.
 */
enum step xrp_step(const struct db *db, xrp_fn fn, struct bpf_xrp *ctx,
		   unsigned int max_depth, char *err, size_t errlen);
/*
 * Reads inside the cached top of the tree are served from memory, and the
 * function runs again at once; `cached` counts them.
 */
enum step serve_cached(const struct db *db, xrp_fn fn, struct bpf_xrp *ctx,
		       unsigned int max_depth, enum step st, char *err,
		       size_t errlen, uint64_t *cached);

/* ---- run.c: many lookups through an engine, in threads --------------- */

struct xrpk;
struct xrpk_ring;
struct xrp_lookup_bpf;

struct result {
	uint64_t key;
	int status; /* 0 found, 1 not found, 2 error */
	char value[BPFKV_VALUE_SIZE];
	char err[256];
};

struct run {
	const struct db *db;
	xrp_fn fn;
	unsigned int max_depth;
	enum engine engine;
	const uint64_t *keys;
	size_t nkeys;
	struct result *results; /* get: one per key; bench: NULL */
	unsigned int threads;
	unsigned int inflight;
	bool sqpoll;
	struct xrpk *kernel; /* the loaded program, for ENG_KERNEL */
	pthread_barrier_t ready, start;
	/* totals, from the threads */
	struct fp_hist hist;
	uint64_t found, missing, errors, wrong, reads, own_syscalls, cached;
	uint64_t loop_steps; /* kernel: calls of the BPF loop */
	char first_error[320];
};

/* One thread's share of a run: keys[first..end). */
struct worker {
	struct run *run;
	size_t first, end;
	size_t next;
	struct fp_hist hist;
	uint64_t found, missing, errors, wrong, reads, own_syscalls, cached;
	uint64_t loop_steps;
	char first_error[320];
	pthread_t tid;
	int setup_err;
	/* uring */
	struct io_uring ring;
	bool ring_ready;
	struct bpf_xrp *ctxs;
	struct slot {
		size_t idx;
		uint64_t start_ns;
		bool busy;
	} * slots;
	/* kernel */
	struct xrpk_ring *kring;
};

/* What a measurement window saw: time, CPU, system calls. */
struct meter {
	struct xrp_lookup_bpf *skel; /* sys_enter counter, when loaded */
	uint64_t t0, t1;
	struct rusage r0, r1;
	uint64_t sys0, sys1;
};

/* Context i of an array of them, CTX_STRIDE apart. */
struct bpf_xrp *ctx_at(struct bpf_xrp *base, unsigned int i);
/* Counts a finished lookup (and fills its result, for get). */
void lookup_finish(struct worker *w, size_t idx, struct bpf_xrp *ctx,
		   enum step st, const char *err, uint64_t lat_ns);
/*
 * Runs every key through the engine; totals land in run. Thread and ring
 * set-up happen before the window `m` (may be NULL) measures, tear-down
 * after it.
 */
int run_lookups(struct run *run, struct meter *m);

/* The worker threads of the engines, one file each. */
void *pread_worker(void *arg);
void *uring_worker(void *arg);
void *kernel_worker(void *arg);

/* ---- engine.c: which engine, and the kernel engine's glue ------------ */

/* Can this process set up an io_uring? */
bool uring_works(void);
/*
 * The engine to run, from --engine and what the kernel has; `announce`
 * says on stderr what auto picked. Prints why not, 1.
 */
int choose_engine(const struct lookup_opts *o, enum engine *out, bool announce);
/*
 * Loads the kernel engine's program for this database and function. With
 * --engine auto, a function its verifier refuses falls back to uring
 * (*eng says so).
 */
int kernel_open(struct xrpk **k, const struct db *db, bool range,
		const struct lookup_opts *o, enum engine *eng);
/* range: one chain through the kernel engine, from slot 0's context. */
enum step kernel_chain(struct xrpk_ring *kring, char *err, size_t len);

#endif
