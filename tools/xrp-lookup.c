// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup: XRP storage functions on a stock kernel.
 *
 * A storage function (include/xrp.h) walks an on-disk index one block at a
 * time. xrp-lookup runs it over BPF-KV databases with three engines:
 *   pread  one O_DIRECT pread per block, the baseline XRP measured against;
 *   uring  io_uring with many lookups in flight, the function runs on each
 *          completion and the next read is queued at once;
 *   kernel the function runs inside io_uring_enter, as an io_uring BPF ops
 *          program (Linux 7.1+): XRP's resubmission on a mainline kernel
 *          (tools/xrp-lookup/engine-kernel.c);
 *   xrp    XRP's in-kernel resubmission, where the kernel has it.
 * `verify` puts the same function through the kernel's verifier.
 */
#include <argp.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "xrp.h"
#include "xrp-lookup.h"
#include "xrp-lookup.skel.h"
#include "xrp-lookup/engine-kernel.h"
#include "xrp-lookup/lookup.h"

#define NENGINES 5
enum cmd { CMD_NONE, CMD_CREATE, CMD_GET, CMD_RANGE, CMD_BENCH, CMD_VERIFY };

static struct {
	enum cmd cmd;
	const char *file;
	uint64_t *keys;
	size_t nkeys;
	uint64_t lo, hi;
	uint64_t layers;
	uint64_t requests;
	uint64_t threads;
	uint64_t seed;
	struct lookup_opts lk;
	bool requests_given, threads_given, seed_given, depth_given;
	bool inflight_given, cache_given;
	bool sum;
} env = {
	.requests = 100000,
	.threads = 1,
	.lk.inflight = 32,
	.lk.max_depth = DEFAULT_DEPTH,
	.seed = 1,
};

const char argp_program_doc[] =
	"Run XRP storage functions over BPF-KV B+-tree databases.\n"
	"\n"
	"COMMANDS:\n"
	"  create --layers L FILE     write a BPF-KV database (keys "
	"0..31^L-1)\n"
	"  get FILE KEY...            look keys up, print their values\n"
	"  range FILE LO HI [--sum]   print (or sum) the values of keys "
	"LO..HI\n"
	"  bench FILE                 lookups/s, latency, CPU and syscalls\n"
	"  verify FUNC                load a storage function into the "
	"verifier\n"
	"FUNC is a built-in (bpfkv-get, bpfkv-range) or a .c file written "
	"against <fastpath/xrp.h>.\n"
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup create --layers 4 /dev/loop0   # 923,521 keys, 71 MiB\n"
	"    xrp-lookup get /dev/loop0 0 923520 42     # three lookups\n"
	"    xrp-lookup range db.bin 100 120 --sum     # count and sum a "
	"range\n"
	"    xrp-lookup bench -e uring -q 32 db.bin    # 32 lookups in flight\n"
	"    xrp-lookup bench -e pread -t 32 -j db.bin # 32 threads, JSON\n"
	"    xrp-lookup bench -e kernel db.bin         # function in the "
	"kernel (7.1+)\n"
	"    xrp-lookup verify bpfkv-get               # kernel verifier "
	"says?\n"
	"    xrp-lookup get -f my_get.c db.bin 7       # your own function\n";

static const char args_doc[] = "COMMAND [ARG...]";

enum {
	OPT_SQPOLL = 0x100,
	OPT_SEED,
	OPT_MAX_DEPTH,
	OPT_CACHE_LAYERS,
	OPT_SUM,
};

static const struct argp_option options[] = {
	{"layers", 'l', "L", 0, "create: layers of the tree, 1-6", 1},
	{"engine", 'e', "NAME", 0,
	 "pread, uring, kernel, xrp or auto (best present; default)", 2},
	{"function", 'f', "FUNC", 0,
	 "Storage function: bpfkv-get, bpfkv-range or FILE.c", 2},
	{"max-depth", OPT_MAX_DEPTH, "N", 0,
	 "Fail a lookup after N reads (default 64)", 2},
	{"cache-layers", OPT_CACHE_LAYERS, "N", 0,
	 "Serve the top N layers from memory, as BPF-KV's cache does "
	 "(default 0)",
	 2},
	{"sum", OPT_SUM, NULL, 0, "range: print only the count and the sum", 3},
	/*
	 * The short forms of old, kept for scripts: -c and -d are the command
	 * name and the disk in the other tools, -s is kstack-latency's.
	 */
	{NULL, 'd', "N", OPTION_HIDDEN, NULL, 2},
	{NULL, 'c', "N", OPTION_HIDDEN, NULL, 2},
	{NULL, 's', NULL, OPTION_HIDDEN, NULL, 3},
	{"requests", 'r', "N", 0, "bench: lookups to run (default 100000)", 4},
	{"threads", 't', "T", 0,
	 "bench: threads, each with its own file "
	 "handle or ring (default 1)",
	 4},
	{"inflight", 'q', "Q", 0,
	 "uring, kernel: lookups in flight per thread (default 32)", 4},
	{"sqpoll", OPT_SQPOLL, NULL, 0,
	 "uring: a kernel thread polls the submission queue", 4},
	{"seed", OPT_SEED, "N", 0, "bench: seed of the random keys", 4},
	{},
};

static enum cmd parse_cmd(const char *s)
{
	static const char *const names[] = {"",	     "create", "get",
					    "range", "bench",  "verify"};

	for (unsigned int i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (enum cmd)i;
	return CMD_NONE;
}

static void parse_u64_opt(struct argp_state *state, const char *what,
			  const char *arg, uint64_t min, uint64_t max,
			  uint64_t *out)
{
	if (fp_parse_u64(arg, min, max, out))
		argp_error(state,
			   "invalid %s '%s': want an integer from %llu "
			   "to %llu",
			   what, arg, (unsigned long long)min,
			   (unsigned long long)max);
}

static void warn_old_short(char opt, const char *long_name)
{
	fp_warn("-%c is deprecated: use %s (-%c means something else in "
		"fastpath's other tools)",
		opt, long_name, opt);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static unsigned int npos;
	uint64_t v;

	switch (key) {
	case 'l':
		parse_u64_opt(state, "layer count", arg, 1, MAX_LAYERS,
			      &env.layers);
		break;
	case 'e':
		for (v = 0; v < NENGINES; v++)
			if (!strcmp(arg, engine_names[v]))
				break;
		if (v == NENGINES)
			argp_error(state,
				   "unknown engine '%s': want pread, "
				   "uring, kernel, xrp or auto",
				   arg);
		env.lk.engine = (enum engine)v;
		env.lk.engine_given = true;
		break;
	case 'f':
		env.lk.function = arg;
		break;
	case 'd':
		warn_old_short('d', "--max-depth");
		/* fall through */
	case OPT_MAX_DEPTH:
		parse_u64_opt(state, "max depth", arg, 1, 4096,
			      &env.lk.max_depth);
		env.depth_given = true;
		break;
	case 'c':
		warn_old_short('c', "--cache-layers");
		/* fall through */
	case OPT_CACHE_LAYERS:
		parse_u64_opt(state, "layer count", arg, 0, MAX_LAYERS,
			      &env.lk.cache_layers);
		env.cache_given = true;
		break;
	case 's':
		warn_old_short('s', "--sum");
		/* fall through */
	case OPT_SUM:
		env.sum = true;
		break;
	case 'r':
		parse_u64_opt(state, "request count", arg, 1, 1000000000,
			      &env.requests);
		env.requests_given = true;
		break;
	case 't':
		parse_u64_opt(state, "thread count", arg, 1, 256, &env.threads);
		env.threads_given = true;
		break;
	case 'q':
		parse_u64_opt(state, "in-flight count", arg, 1, 4096,
			      &env.lk.inflight);
		env.inflight_given = true;
		break;
	case OPT_SQPOLL:
		env.lk.sqpoll = true;
		break;
	case OPT_SEED:
		parse_u64_opt(state, "seed", arg, 0, UINT64_MAX, &env.seed);
		env.seed_given = true;
		break;
	case ARGP_KEY_ARG:
		if (npos == 0) {
			env.cmd = parse_cmd(arg);
			if (env.cmd == CMD_NONE)
				argp_error(state,
					   "unknown command '%s': want "
					   "create, get, range, bench or "
					   "verify",
					   arg);
		} else if (npos == 1) {
			env.file = arg;
		} else if (env.cmd == CMD_GET) {
			if (fp_parse_u64(arg, 0, UINT64_MAX, &v))
				argp_error(state,
					   "invalid key '%s': want an "
					   "unsigned integer",
					   arg);
			env.keys[env.nkeys++] = v;
		} else if (env.cmd == CMD_RANGE && npos == 2) {
			if (fp_parse_u64(arg, 0, UINT64_MAX, &env.lo))
				argp_error(state, "invalid LO '%s'", arg);
		} else if (env.cmd == CMD_RANGE && npos == 3) {
			if (fp_parse_u64(arg, 0, UINT64_MAX, &env.hi))
				argp_error(state, "invalid HI '%s'", arg);
		} else {
			argp_error(state, "unexpected argument '%s'", arg);
		}
		npos++;
		break;
	case ARGP_KEY_END:
		if (env.cmd == CMD_NONE)
			argp_error(state, "no command given: want create, get, "
					  "range, bench or verify");
		if (!env.file)
			argp_error(state, env.cmd == CMD_VERIFY
						  ? "verify needs a FUNC"
						  : "no FILE given");
		if (env.cmd == CMD_CREATE && !env.layers)
			argp_error(state, "create needs --layers L");
		if (env.cmd != CMD_CREATE && env.layers)
			argp_error(state, "--layers only goes with create");
		if (env.cmd == CMD_GET && !env.nkeys)
			argp_error(state, "get needs at least one KEY");
		if (env.cmd == CMD_RANGE && npos != 4)
			argp_error(state, "range needs FILE LO HI");
		if (env.cmd == CMD_RANGE && env.lo > env.hi)
			argp_error(state, "range: LO is above HI");
		if (env.sum && env.cmd != CMD_RANGE)
			argp_error(state, "--sum only goes with range");
		if (env.lk.sqpoll && env.lk.engine != ENG_URING &&
		    env.lk.engine != ENG_AUTO)
			argp_error(state, "--sqpoll needs the uring engine");
		if ((env.cmd != CMD_BENCH) &&
		    (env.requests_given || env.threads_given || env.seed_given))
			argp_error(state,
				   "--requests, --threads and --seed only "
				   "go with bench");
		if ((env.cmd == CMD_CREATE || env.cmd == CMD_VERIFY) &&
		    (env.lk.engine_given || env.lk.function ||
		     env.depth_given || env.inflight_given || env.lk.sqpoll ||
		     env.cache_given))
			argp_error(state,
				   "--engine, --function, --max-depth, "
				   "--inflight, --sqpoll and --cache-layers "
				   "do not go with %s",
				   env.cmd == CMD_CREATE ? "create" : "verify");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmd_create(void)
{
	unsigned int layers = env.layers;
	uint64_t nodes = db_nodes(layers), keys = db_keys(layers);
	uint64_t size = db_bytes(layers), have;
	char hb[32];
	bool blk;
	int fd, ret = 1;

	fd = open(env.file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fp_error("cannot create %s: %s", env.file,
				strerror(errno));
	if (db_dev_size(fd, env.file, &have, &blk))
		goto out;
	if (blk && have < size) {
		fp_error("%s is too small: %llu bytes, a %u-layer database "
			 "needs %llu",
			 env.file, (unsigned long long)have, layers,
			 (unsigned long long)size);
		goto out;
	}
	if (layers >= 5)
		fp_warn("a %u-layer database holds %llu keys in %s; writing "
			"it takes a while",
			layers, (unsigned long long)keys,
			fp_human_bytes(hb, sizeof(hb), size));
	if (db_write(fd, env.file, layers))
		goto out;
	if (!blk && ftruncate(fd, size)) {
		fp_error("cannot truncate %s: %s", env.file, strerror(errno));
		goto out;
	}
	if (fsync(fd)) {
		fp_error("cannot sync %s: %s", env.file, strerror(errno));
		goto out;
	}
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "file", env.file);
		fp_json_kv_u64(&j, "layers", layers);
		fp_json_kv_u64(&j, "keys", keys);
		fp_json_kv_u64(&j, "nodes", nodes);
		fp_json_kv_u64(&j, "size_bytes", size);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else {
		printf("created %s: %u layers, keys 0..%llu, %llu nodes, %s\n",
		       env.file, layers, (unsigned long long)(keys - 1),
		       (unsigned long long)nodes,
		       fp_human_bytes(hb, sizeof(hb), size));
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static double tv_us(const struct timeval *a, const struct timeval *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_usec - a->tv_usec);
}

/* ---- get -------------------------------------------------------------- */

static int cmd_get(void)
{
	struct run run = {};
	struct function f;
	struct result *res = NULL;
	struct db db;
	enum engine eng;
	int ret = 1;

	if (choose_engine(&env.lk, &eng, env.lk.engine_given))
		return 1;
	if (db_open(&db, env.file, env.lk.cache_layers))
		return 1;
	if (function_load(&f, env.lk.function, false))
		goto out;
	if (eng == ENG_KERNEL &&
	    kernel_open(&run.kernel, &db, false, &env.lk, &eng))
		goto out;
	res = calloc(env.nkeys, sizeof(*res));
	if (!res) {
		fp_error("out of memory");
		goto out;
	}
	run.db = &db;
	run.fn = f.fn;
	run.max_depth = env.lk.max_depth;
	run.engine = eng;
	run.keys = env.keys;
	run.nkeys = env.nkeys;
	for (size_t i = 0; i < env.nkeys; i++) {
		res[i].key = env.keys[i];
		res[i].status = 2;
		snprintf(res[i].err, sizeof(res[i].err), "not run");
	}
	run.results = res;
	run.threads = 1;
	run.inflight = env.lk.inflight;
	run.sqpoll = env.lk.sqpoll;
	if (run_lookups(&run, NULL))
		goto out;
	if (run.first_error[0] && !run.errors)
		fp_warn("%s", run.first_error);
	for (size_t i = 0; i < env.nkeys; i++) {
		struct result *r = &res[i];

		if (fp_opts.json) {
			struct fp_json j;

			fp_json_init(&j, stdout);
			fp_json_object_begin(&j);
			fp_json_kv_ts(&j, fp_wall_time());
			fp_json_kv_u64(&j, "key", r->key);
			fp_json_kv_bool(&j, "found", r->status == 0);
			fp_json_kv_string_or_null(
				&j, "value",
				r->status == 0 ? db_value_text(r->value)
					       : NULL);
			fp_json_kv_string_or_null(
				&j, "error", r->status == 2 ? r->err : NULL);
			fp_json_object_end(&j);
			fp_json_newline(&j);
		} else if (r->status == 0) {
			printf("%llu %s\n", (unsigned long long)r->key,
			       db_value_text(r->value));
		} else if (r->status == 1) {
			printf("%llu not found\n", (unsigned long long)r->key);
		}
		if (r->status == 2)
			fprintf(stderr, "%s: lookup of key %llu failed: %s\n",
				fp_tool_name, (unsigned long long)r->key,
				r->err);
	}
	ret = run.missing || run.errors ? 1 : 0;
out:
	xrpk_close(run.kernel);
	free(res);
	db_close(&db);
	return ret;
}

/* ---- range ------------------------------------------------------------ */

/* One chain of reads for one context, through pread or a one-slot ring. */
static int chain_read(enum engine eng, struct io_uring *ring, int fd,
		      struct bpf_xrp *ctx, char *err, size_t len)
{
	ssize_t n;

	if (eng == ENG_URING) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		struct io_uring_cqe *cqe;
		int ret;

		io_uring_prep_read(sqe, fd, ctx->data, ctx->size[0],
				   ctx->next_addr[0]);
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret >= 0)
			ret = io_uring_peek_cqe(ring, &cqe);
		if (ret < 0) {
			snprintf(err, len, "io_uring: %s", strerror(-ret));
			return -1;
		}
		n = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (n < 0) {
			errno = -n;
			n = -1;
		}
	} else {
		n = pread(fd, ctx->data, ctx->size[0], ctx->next_addr[0]);
	}
	if (n != (ssize_t)ctx->size[0]) {
		snprintf(err, len, "read of %llu bytes at %llu: %s",
			 (unsigned long long)ctx->size[0],
			 (unsigned long long)ctx->next_addr[0],
			 n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	return 0;
}

/* range: one chain through the kernel engine, from slot 0's context. */
static int cmd_range(void)
{
	struct bpf_xrp *ctx = NULL;
	struct xrpk *kern = NULL;
	struct xrpk_ring *kring = NULL;
	struct xrp_range *r;
	struct io_uring ring;
	bool ring_ready = false;
	struct function f;
	struct fp_json j;
	struct db db;
	enum engine eng;
	char err[200];
	int ret = 1;

	if (choose_engine(&env.lk, &eng, env.lk.engine_given))
		return 1;
	if (db_open(&db, env.file, env.lk.cache_layers))
		return 1;
	if (function_load(&f, env.lk.function, true))
		goto out;
	if (eng == ENG_KERNEL && kernel_open(&kern, &db, true, &env.lk, &eng))
		goto out;
	if (eng == ENG_KERNEL && xrpk_ring_open(kern, &kring))
		goto out;
	if (eng == ENG_URING) {
		int e = io_uring_queue_init(2, &ring, 0);

		if (e) {
			fp_error("cannot set up io_uring: %s", strerror(-e));
			goto out;
		}
		ring_ready = true;
	}
	/* The kernel engine's context lives in memory the program reaches. */
	if (kring) {
		ctx = xrpk_ring_ctx(kring);
	} else if (posix_memalign((void **)&ctx, 4096, CTX_STRIDE)) {
		ctx = NULL;
		fp_error("out of memory");
		goto out;
	}
	memset(ctx, 0, sizeof(*ctx));
	r = (struct xrp_range *)ctx->scratch;
	r->lo = env.lo;
	r->hi = env.hi;
	r->flags = env.sum ? XRP_RANGE_SUM_ONLY : 0;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	fp_json_init(&j, stdout);
	for (;;) {
		uint64_t cached = 0;
		enum step st;

		if (kring)
			st = kernel_chain(kring, err, sizeof(err));
		else
			st = serve_cached(&db, f.fn, ctx, env.lk.max_depth,
					  STEP_READ, err, sizeof(err), &cached);
		while (st == STEP_READ) {
			if (chain_read(eng, &ring, db.fd, ctx, err,
				       sizeof(err))) {
				st = STEP_ERROR;
				break;
			}
			st = xrp_step(&db, f.fn, ctx, env.lk.max_depth, err,
				      sizeof(err));
			st = serve_cached(&db, f.fn, ctx, env.lk.max_depth, st,
					  err, sizeof(err), &cached);
		}
		if (st == STEP_DONE && r->error) {
			snprintf(err, sizeof(err),
				 "the storage function found "
				 "corrupt data (last read at offset %llu)",
				 (unsigned long long)ctx->next_addr[0]);
			st = STEP_ERROR;
		}
		for (uint64_t i = 0;
		     !env.sum && i < r->n && i < XRP_RANGE_BATCH; i++) {
			r->out[i].value[BPFKV_VALUE_SIZE - 1] = '\0';
			if (fp_opts.json) {
				fp_json_object_begin(&j);
				fp_json_kv_ts(&j, fp_wall_time());
				fp_json_kv_u64(&j, "key", r->out[i].key);
				fp_json_kv_string(
					&j, "value",
					db_value_text(r->out[i].value));
				fp_json_object_end(&j);
				fp_json_newline(&j);
			} else {
				printf("%llu %s\n",
				       (unsigned long long)r->out[i].key,
				       db_value_text(r->out[i].value));
			}
		}
		/* What came before an error is still printed. */
		if (st == STEP_ERROR) {
			fp_error("range %llu..%llu failed: %s",
				 (unsigned long long)env.lo,
				 (unsigned long long)env.hi, err);
			goto out;
		}
		if (!r->more)
			break;
		/* Resume where the function left off (see xrp.h). */
		r->n = 0;
		r->more = 0;
		ctx->done = 0;
		ctx->hops = 0;
	}
	if (env.sum) {
		if (fp_opts.json) {
			fp_json_object_begin(&j);
			fp_json_kv_ts(&j, fp_wall_time());
			fp_json_kv_u64(&j, "lo", env.lo);
			fp_json_kv_u64(&j, "hi", env.hi);
			fp_json_kv_u64(&j, "count", r->count);
			fp_json_kv_u64(&j, "sum", r->sum);
			fp_json_object_end(&j);
			fp_json_newline(&j);
		} else {
			printf("count %llu sum %llu\n",
			       (unsigned long long)r->count,
			       (unsigned long long)r->sum);
		}
	}
	ret = 0;
out:
	if (ring_ready)
		io_uring_queue_exit(&ring);
	if (!kring)
		free(ctx);
	xrpk_ring_close(kring);
	xrpk_close(kern);
	db_close(&db);
	return ret;
}

/* ---- bench ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The kernel counts this process's system calls (raw_tp/sys_enter). */
static struct xrp_lookup_bpf *syscall_counter(void)
{
	struct xrp_lookup_bpf *skel;
	int err;

	/* Best effort: without the privileges the load fails quietly. */
	fp_bump_memlock();
	skel = xrp_lookup_bpf__open();
	if (!skel)
		return NULL;
	bpf_program__set_autoload(skel->progs.standin_bpfkv_get, false);
	bpf_program__set_autoload(skel->progs.standin_bpfkv_range, false);
	skel->rodata->target_tgid = getpid();
	err = xrp_lookup_bpf__load(skel);
	if (!err)
		err = xrp_lookup_bpf__attach(skel);
	if (err) {
		fp_debug("cannot load the system call counter: %s",
			 fp_strerror(err));
		xrp_lookup_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int cmd_bench(void)
{
	struct run run = {};
	struct meter m = {};
	struct function f;
	uint64_t *keys = NULL, seed = env.seed, n = env.requests;
	double secs, cpu_us, user_us, sys_us, sysc;
	struct db db;
	enum engine eng;
	int ret = 1;

	if (choose_engine(&env.lk, &eng, true))
		return 1;
	if (db_open(&db, env.file, env.lk.cache_layers))
		return 1;
	if (function_load(&f, env.lk.function, false))
		goto out;
	if (eng == ENG_KERNEL &&
	    kernel_open(&run.kernel, &db, false, &env.lk, &eng))
		goto out;
	keys = malloc(n * sizeof(*keys));
	if (!keys) {
		fp_error("out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		keys[i] = splitmix64(&seed) % db.keys;
	m.skel = syscall_counter();
	if (!m.skel)
		fp_warn("cannot count system calls in the kernel (needs root); "
			"counting the ones xrp-lookup makes itself");
	run.db = &db;
	run.fn = f.fn;
	run.max_depth = env.lk.max_depth;
	run.engine = eng;
	run.keys = keys;
	run.nkeys = n;
	run.threads = env.threads;
	run.inflight = env.lk.inflight;
	run.sqpoll = env.lk.sqpoll;
	if (run_lookups(&run, &m))
		goto out;
	if (run.errors) {
		fp_error("%llu of %llu lookups failed; the first: %s",
			 (unsigned long long)run.errors, (unsigned long long)n,
			 run.first_error);
		goto out;
	}
	if (run.wrong || run.missing) {
		fp_error("%llu lookups returned a wrong value and %llu found "
			 "nothing: %s is not a BPF-KV database as created, or "
			 "the function is wrong",
			 (unsigned long long)run.wrong,
			 (unsigned long long)run.missing, env.file);
		goto out;
	}
	secs = (m.t1 - m.t0) / 1e9;
	user_us = tv_us(&m.r0.ru_utime, &m.r1.ru_utime);
	sys_us = tv_us(&m.r0.ru_stime, &m.r1.ru_stime);
	cpu_us = (user_us + sys_us) / n;
	sysc = (double)(m.skel ? m.sys1 - m.sys0 : run.own_syscalls) / n;
	run.reads -= run.cached; /* reads from the device only */
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "engine", engine_names[eng]);
		fp_json_kv_string(&j, "function", f.name);
		fp_json_kv_u64(&j, "layers", db.layers);
		fp_json_kv_u64(&j, "requests", n);
		fp_json_kv_u64(&j, "threads", run.threads);
		fp_json_kv_u64(&j, "inflight",
			       eng == ENG_URING || eng == ENG_KERNEL
				       ? env.lk.inflight
				       : 1);
		fp_json_kv_bool(&j, "sqpoll",
				eng == ENG_URING && env.lk.sqpoll);
		fp_json_kv_double(&j, "elapsed_s", secs, 6);
		fp_json_kv_double(&j, "lookups_per_sec", n / secs, 1);
		fp_json_kv_double(&j, "p50_us",
				  fp_hist_percentile(&run.hist, 50) / 1e3, 2);
		fp_json_kv_double(&j, "p99_us",
				  fp_hist_percentile(&run.hist, 99) / 1e3, 2);
		fp_json_kv_double(&j, "p999_us",
				  fp_hist_percentile(&run.hist, 99.9) / 1e3, 2);
		fp_json_kv_double(&j, "cpu_us_per_lookup", cpu_us, 3);
		fp_json_kv_double(&j, "user_us_per_lookup", user_us / n, 3);
		fp_json_kv_double(&j, "sys_us_per_lookup", sys_us / n, 3);
		fp_json_kv_double(&j, "syscalls_per_lookup", sysc, 4);
		fp_json_kv_string(&j, "syscalls_counted_by",
				  m.skel ? "kernel" : "tool");
		fp_json_kv_double(&j, "reads_per_lookup", (double)run.reads / n,
				  3);
		fp_json_kv_u64(&j, "cache_layers", env.lk.cache_layers);
		fp_json_kv_double(&j, "cached_reads_per_lookup",
				  (double)run.cached / n, 3);
		fp_json_kv_double_or_null(&j, "loop_steps_per_lookup",
					  eng == ENG_KERNEL,
					  (double)run.loop_steps / n, 4);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else {
		char hb[16];

		printf("engine %s", engine_names[eng]);
		if (eng == ENG_URING || eng == ENG_KERNEL)
			printf(" (%llu in flight per thread%s)",
			       (unsigned long long)env.lk.inflight,
			       eng == ENG_KERNEL
				       ? ", function in io_uring_enter"
			       : env.lk.sqpoll ? ", SQPOLL"
					       : "");
		printf(", %u thread%s, function %s\n", run.threads,
		       run.threads == 1 ? "" : "s", f.name);
		printf("database %s: %u layers, %s keys, %.2f reads per "
		       "lookup",
		       env.file, db.layers,
		       fp_human_count(hb, sizeof(hb), db.keys),
		       (double)run.reads / n);
		if (env.lk.cache_layers)
			printf(" (+%.2f from the top %llu cached layers)",
			       (double)run.cached / n,
			       (unsigned long long)env.lk.cache_layers);
		printf("\n");
		printf("lookups        %llu in %.3f s\n", (unsigned long long)n,
		       secs);
		printf("lookups/s      %.0f\n", n / secs);
		printf("latency (us)   p50 %.1f  p99 %.1f  p99.9 %.1f\n",
		       fp_hist_percentile(&run.hist, 50) / 1e3,
		       fp_hist_percentile(&run.hist, 99) / 1e3,
		       fp_hist_percentile(&run.hist, 99.9) / 1e3);
		printf("cpu us/lookup  %.2f (user %.2f, system %.2f%s)\n",
		       cpu_us, user_us / n, sys_us / n,
		       eng == ENG_URING && env.lk.sqpoll
			       ? ", with the SQPOLL thread"
			       : "");
		printf("syscalls/lookup %.3f (counted by the %s)\n", sysc,
		       m.skel ? "kernel" : "tool");
		if (eng == ENG_KERNEL)
			printf("loop steps     %.3f per lookup (calls of the "
			       "BPF loop in io_uring_enter)\n",
			       (double)run.loop_steps / n);
	}
	ret = 0;
out:
	xrpk_close(run.kernel);
	if (m.skel)
		xrp_lookup_bpf__destroy(m.skel);
	free(keys);
	db_close(&db);
	return ret;
}

/* ---- verify ----------------------------------------------------------- */

#define VLOG_SIZE (1 << 20)

/* One verifier's answer on a function: pass with a count, or the reason. */
struct verify_verdict {
	bool pass;
	unsigned long long insns;
	const struct fp_verifier_report *report; /* the reason when refused */
};

static void verify_verdict_json(struct fp_json *j,
				const struct verify_verdict *v)
{
	bool refused = !v->pass && v->report;

	fp_json_kv_string(j, "verdict", v->pass ? "pass" : "refused");
	fp_json_kv_u64_or_null(j, "insns_processed", v->pass, v->insns);
	fp_json_kv_string_or_null(j, "reason",
				  refused ? v->report->reason : NULL);
	fp_json_kv_string_or_null(j, "log_tail",
				  refused ? v->report->tail : NULL);
}

/*
 * verify -j: the socket-filter stand-in's verdict at the top level, the
 * kernel engine's under "kernel_engine" (null where the kernel lacks it).
 */
static void verify_print_json(const char *name,
			      const struct verify_verdict *stand_in,
			      const struct verify_verdict *kernel)
{
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "function", name);
	verify_verdict_json(&j, stand_in);
	fp_json_key(&j, "kernel_engine");
	if (kernel) {
		fp_json_object_begin(&j);
		verify_verdict_json(&j, kernel);
		fp_json_object_end(&j);
	} else {
		fp_json_null(&j);
	}
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

/*
 * Opens the object (skeleton or user .o), loads only `prog_name` with the
 * given log level. Returns 0 when the verifier accepted it.
 */
static int verify_load(const char *obj_path, const char *prog_name, int level,
		       char *log, int *err_out)
{
	struct xrp_lookup_bpf *skel = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog, *target = NULL;
	int err;

	log[0] = '\0';
	if (obj_path) {
		obj = bpf_object__open_file(obj_path, NULL);
		err = libbpf_get_error(obj);
		if (err) {
			*err_out = err;
			return fp_error("cannot open the compiled function: %s",
					fp_strerror(err));
		}
	} else {
		skel = xrp_lookup_bpf__open();
		if (!skel) {
			*err_out = -errno;
			return fp_error("cannot open the BPF object: %s",
					fp_strerror(-errno));
		}
		obj = skel->obj;
	}
	bpf_object__for_each_program(prog, obj)
	{
		bool me = !strcmp(bpf_program__name(prog), prog_name);

		bpf_program__set_autoload(prog, me);
		if (me)
			target = prog;
	}
	if (!target) {
		err = -ENOENT;
		fp_error("no program %s in the object", prog_name);
		goto out;
	}
	bpf_program__set_log_buf(target, log, VLOG_SIZE);
	bpf_program__set_log_level(target, level);
	err = bpf_object__load(obj);
out:
	*err_out = err;
	if (skel)
		xrp_lookup_bpf__destroy(skel);
	else
		bpf_object__close(obj);
	return err ? 1 : 0;
}

/*
 * Where the kernel has io_uring BPF ops, the function also goes through
 * the verifier as the kernel engine's loop_step program carries it; the
 * stand-in passed it with `standin` instructions processed.
 */
static int verify_kernel(const char *name, uint64_t standin, char *log)
{
	struct fp_verifier_report report;
	bool range = !strcmp(name, "bpfkv-range");
	int err;
	bool pass;

	pass = xrpk_verify(name, range, 4, log, VLOG_SIZE, &err) == 0;
	if (!pass && err != -EACCES && err != -EINVAL && err != -E2BIG) {
		if (err) /* else the reason is printed already */
			fp_error("cannot load %s into the kernel engine: %s",
				 name, fp_strerror(err));
		return 1;
	}
	if (!pass) {
		xrpk_verify(name, range, 1, log, VLOG_SIZE, &err);
		fp_debug("verifier log (kernel engine):\n%s", log);
	}
	fp_verifier_explain(log, 5, &report);
	if (fp_opts.json) {
		struct verify_verdict stand_in = {.pass = true,
						  .insns = standin};
		struct verify_verdict kernel = {.pass = pass,
						.insns = report.insns_processed,
						.report = &report};

		verify_print_json(name, &stand_in, &kernel);
	} else {
		printf("%s: pass (kernel verifier, socket-filter stand-in, "
		       "%llu instructions processed)\n",
		       name, (unsigned long long)standin);
		if (pass) {
			printf("%s: pass (kernel verifier, the kernel engine's "
			       "io_uring loop_step, %llu instructions "
			       "processed)\n",
			       name,
			       (unsigned long long)report.insns_processed);
		} else {
			printf("%s: refused by the verifier for the kernel "
			       "engine\n",
			       name);
			printf("verifier log, last lines:\n");
			for (const char *p = report.tail; *p;) {
				size_t n = strcspn(p, "\n");

				printf("  %.*s\n", (int)n, p);
				p += n + (p[n] == '\n');
			}
		}
	}
	if (!pass)
		fprintf(stderr,
			"%s: %s refused by the verifier (kernel engine): %s\n",
			fp_tool_name, name, report.reason);
	return pass ? 0 : 1;
}

static int cmd_verify(void)
{
	const char *name = env.file, *prog, *obj = NULL;
	struct fp_verifier_report report;
	char path[160], *log = NULL;
	int err = 0, ret = 1;
	uint64_t insns;

	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_bump_memlock();
	if (!strcmp(name, "bpfkv-get")) {
		prog = XRP_STANDIN_GET;
	} else if (!strcmp(name, "bpfkv-range")) {
		prog = XRP_STANDIN_RANGE;
	} else if (function_is_source(name)) {
		if (function_compile_standin(name, path, sizeof(path)))
			return 1;
		obj = path;
		prog = "standin_user";
	} else {
		return fp_error("unknown function '%s': want bpfkv-get, "
				"bpfkv-range or a FILE.c",
				name);
	}
	log = malloc(VLOG_SIZE);
	if (!log)
		return fp_error("out of memory");
	/*
	 * Statistics only first, for the verdict: a full log of a big program
	 * overflows, and then the kernel answers ENOSPC whatever the verdict.
	 */
	if (verify_load(obj, prog, 4, log, &err) == 0) {
		fp_verifier_explain(log, 5, &report);
		insns = report.insns_processed;
		if (xrpk_supported(NULL, 0)) {
			ret = verify_kernel(name, insns, log);
			goto out;
		}
		if (fp_opts.json) {
			struct verify_verdict stand_in = {.pass = true,
							  .insns = insns};

			verify_print_json(name, &stand_in, NULL);
		} else {
			printf("%s: pass (kernel verifier, socket-filter "
			       "stand-in, %llu instructions processed)\n",
			       name, (unsigned long long)insns);
		}
		ret = 0;
		goto out;
	}
	if (err != -EACCES && err != -EINVAL && err != -E2BIG) {
		fp_error("cannot load %s: %s", name, fp_strerror(err));
		goto out;
	}
	/* Refused: again with the full log; its tail holds the reason. */
	verify_load(obj, prog, 1, log, &err);
	fp_debug("verifier log:\n%s", log);
	fp_verifier_explain(log, 5, &report);
	if (fp_opts.json) {
		struct verify_verdict stand_in = {.report = &report};

		verify_print_json(name, &stand_in, NULL);
		fprintf(stderr, "%s: %s refused by the verifier: %s\n",
			fp_tool_name, name, report.reason);
	} else {
		printf("%s: refused by the verifier\n", name);
		printf("verifier log, last lines:\n");
		for (const char *p = report.tail; *p;) {
			size_t n = strcspn(p, "\n");

			printf("  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		fprintf(stderr, "%s: %s refused by the verifier: %s\n",
			fp_tool_name, name, report.reason);
	}
out:
	free(log);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{&fp_json_argp, 0, NULL, 0},
		{},
	};
	static const struct argp argp = {
		options,  parse_arg, args_doc, argp_program_doc,
		children, NULL,	     NULL,
	};
	int err;

	fp_init("xrp-lookup");
	env.keys = calloc(argc + 1, sizeof(*env.keys));
	if (!env.keys)
		return fp_error("out of memory");
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;
	switch (env.cmd) {
	case CMD_CREATE:
		return cmd_create();
	case CMD_GET:
		return cmd_get();
	case CMD_RANGE:
		return cmd_range();
	case CMD_BENCH:
		return cmd_bench();
	case CMD_VERIFY:
		return cmd_verify();
	default:
		return FP_EXIT_USAGE;
	}
}
