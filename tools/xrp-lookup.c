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

#ifndef XRP_MULTIARCH
#define XRP_MULTIARCH "x86_64-linux-gnu"
#endif
#define MAX_LAYERS    6	    /* 31^6 keys is already a 57 GB database */
#define DEFAULT_DEPTH 64    /* reads per lookup (a range batch needs ~40) */
#define CTX_STRIDE    12288 /* sizeof(struct bpf_xrp) rounded to 4 KiB */

/* The header users compile against, embedded so --function works anywhere. */
__asm__(".section .rodata\n"
	".global xrp_header_text\n"
	"xrp_header_text:\n"
	".incbin \"include/xrp.h\"\n"
	".byte 0\n"
	".previous\n");
extern const char xrp_header_text[];

/* Built-in storage functions, compiled natively from bpf/xrp/. */
unsigned int xrp_entry_bpfkv_get(struct bpf_xrp *ctx);
unsigned int xrp_entry_bpfkv_range(struct bpf_xrp *ctx);

typedef unsigned int (*xrp_fn)(struct bpf_xrp *ctx);

enum engine { ENG_AUTO, ENG_PREAD, ENG_URING, ENG_XRP, ENG_KERNEL };
static const char *const engine_names[] = {"auto", "pread", "uring", "xrp",
					   "kernel"};
#define NENGINES (sizeof(engine_names) / sizeof(engine_names[0]))

enum cmd { CMD_NONE, CMD_CREATE, CMD_GET, CMD_RANGE, CMD_BENCH, CMD_VERIFY };

static struct {
	enum cmd cmd;
	const char *file;
	const char *function;
	uint64_t *keys;
	size_t nkeys;
	uint64_t lo, hi;
	uint64_t layers;
	uint64_t requests;
	uint64_t threads;
	uint64_t inflight;
	uint64_t max_depth;
	uint64_t seed;
	uint64_t cache_layers;
	enum engine engine;
	bool engine_given;
	bool requests_given, threads_given, seed_given, depth_given;
	bool inflight_given, cache_given;
	bool sum;
	bool sqpoll;
} env = {
	.requests = 100000,
	.threads = 1,
	.inflight = 32,
	.max_depth = DEFAULT_DEPTH,
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
		env.engine = (enum engine)v;
		env.engine_given = true;
		break;
	case 'f':
		env.function = arg;
		break;
	case 'd':
		warn_old_short('d', "--max-depth");
		/* fall through */
	case OPT_MAX_DEPTH:
		parse_u64_opt(state, "max depth", arg, 1, 4096, &env.max_depth);
		env.depth_given = true;
		break;
	case 'c':
		warn_old_short('c', "--cache-layers");
		/* fall through */
	case OPT_CACHE_LAYERS:
		parse_u64_opt(state, "layer count", arg, 0, MAX_LAYERS,
			      &env.cache_layers);
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
			      &env.inflight);
		env.inflight_given = true;
		break;
	case OPT_SQPOLL:
		env.sqpoll = true;
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
		if (env.sqpoll && env.engine != ENG_URING &&
		    env.engine != ENG_AUTO)
			argp_error(state, "--sqpoll needs the uring engine");
		if ((env.cmd != CMD_BENCH) &&
		    (env.requests_given || env.threads_given || env.seed_given))
			argp_error(state,
				   "--requests, --threads and --seed only "
				   "go with bench");
		if ((env.cmd == CMD_CREATE || env.cmd == CMD_VERIFY) &&
		    (env.engine_given || env.function || env.depth_given ||
		     env.inflight_given || env.sqpoll || env.cache_given))
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

/* ---- the database ----------------------------------------------------- */

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

static uint64_t ipow31(unsigned int n)
{
	uint64_t v = 1;

	while (n--)
		v *= BPFKV_FANOUT;
	return v;
}

static uint64_t nodes_for(unsigned int layers)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < layers; i++)
		total += ipow31(i);
	return total;
}

/*
 * Bytes of an L-layer database. BPF-KV writes the value log in whole
 * blocks, so the last block also holds the values of the keys after the
 * last one, up to a multiple of eight.
 */
static uint64_t db_bytes(unsigned int layers)
{
	uint64_t keys = ipow31(layers);

	return nodes_for(layers) * BPFKV_BLOCK_SIZE +
	       (keys + 7) / 8 * BPFKV_BLOCK_SIZE;
}

static int dev_size(int fd, const char *path, uint64_t *size, bool *blk)
{
	struct stat st;

	if (fstat(fd, &st))
		return fp_error("cannot stat %s: %s", path, strerror(errno));
	*blk = S_ISBLK(st.st_mode);
	if (*blk) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return fp_error("cannot get the size of %s: %s", path,
					strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else {
		return fp_error("%s is neither a file nor a block device",
				path);
	}
	return 0;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Opens with O_DIRECT and checks the index's left edge and the size. */
static int db_open(struct db *db, const char *path)
{
	struct bpfkv_node *node = NULL;
	uint64_t level_start = 0, level_nodes = 1;
	struct stat st;
	unsigned int d;
	int err;

	memset(db, 0, sizeof(*db));
	db->path = path;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode)) {
		db->fd = -1;
		return fp_error("%s is neither a file nor a block device",
				path);
	}
	db->fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (db->fd < 0) {
		if (errno == EINVAL)
			return fp_error("cannot open %s with O_DIRECT: the "
					"filesystem does not support direct "
					"I/O (use a block device or ext4/xfs)",
					path);
		return fp_error("cannot open %s: %s", path, strerror(errno));
	}
	if (dev_size(db->fd, path, &db->dev_size, &db->blockdev))
		goto fail;
	if (db->dev_size < db_bytes(1)) {
		fp_error("%s is not a BPF-KV database: too short (%llu bytes, "
			 "a database is at least %llu)",
			 path, (unsigned long long)db->dev_size,
			 (unsigned long long)db_bytes(1));
		goto fail;
	}
	if (posix_memalign((void **)&node, 4096, 4096)) {
		fp_error("out of memory");
		goto fail;
	}
	for (d = 1;; d++) {
		uint64_t off = level_start * BPFKV_BLOCK_SIZE;

		if (d > MAX_LAYERS + 1) {
			fp_error("%s is not a BPF-KV database: the index is "
				 "deeper than %d layers",
				 path, MAX_LAYERS + 1);
			goto fail;
		}
		if (off + BPFKV_BLOCK_SIZE > db->dev_size) {
			fp_error("%s is not a BPF-KV database: truncated "
				 "index (node at offset %llu is past the end)",
				 path, (unsigned long long)off);
			goto fail;
		}
		err = read_exact(db->fd, node, BPFKV_BLOCK_SIZE, off);
		if (err) {
			fp_error("cannot read %s at offset %llu: %s", path,
				 (unsigned long long)off, strerror(-err));
			goto fail;
		}
		if (node->type != BPFKV_INTERNAL && node->type != BPFKV_LEAF) {
			fp_error("%s is not a BPF-KV database: node at offset "
				 "%llu has type %llu (want 0 or 1)",
				 path, (unsigned long long)off,
				 (unsigned long long)node->type);
			goto fail;
		}
		if (node->key[0] != 0) {
			fp_error("%s is not a BPF-KV database: first key of "
				 "the node at offset %llu is %llu, not 0",
				 path, (unsigned long long)off,
				 (unsigned long long)node->key[0]);
			goto fail;
		}
		for (int i = 0; i < BPFKV_FANOUT; i++) {
			if ((i && node->key[i] <= node->key[i - 1]) ||
			    !(node->ptr[i] & BPFKV_PTR_FLAG)) {
				fp_error("%s is not a BPF-KV database: node at "
					 "offset %llu does not parse (slot %d: "
					 "key %llu, pointer 0x%llx)",
					 path, (unsigned long long)off, i,
					 (unsigned long long)node->key[i],
					 (unsigned long long)node->ptr[i]);
				goto fail;
			}
		}
		if (node->type == BPFKV_LEAF)
			break;
		level_start += level_nodes;
		level_nodes *= BPFKV_FANOUT;
		if (bpfkv_decode(node->ptr[0]) !=
		    level_start * BPFKV_BLOCK_SIZE) {
			fp_error("%s is not a BPF-KV database: pointer out of "
				 "range in the node at offset %llu (0x%llx, "
				 "want the node at %llu)",
				 path, (unsigned long long)off,
				 (unsigned long long)node->ptr[0],
				 (unsigned long long)(level_start *
						      BPFKV_BLOCK_SIZE));
			goto fail;
		}
	}
	db->layers = d;
	db->nodes = nodes_for(d);
	db->keys = ipow31(d);
	db->size = db_bytes(d);
	if (bpfkv_decode(node->ptr[0]) != db->nodes * BPFKV_BLOCK_SIZE) {
		fp_error("%s is not a BPF-KV database: pointer out of range in "
			 "the leaf at offset %llu (value 0x%llx, the value log "
			 "starts at %llu)",
			 path,
			 (unsigned long long)(level_start * BPFKV_BLOCK_SIZE),
			 (unsigned long long)node->ptr[0],
			 (unsigned long long)(db->nodes * BPFKV_BLOCK_SIZE));
		goto fail;
	}
	if (db->dev_size < db->size) {
		fp_error("%s is truncated: %llu bytes, but a %u-layer BPF-KV "
			 "database needs %llu",
			 path, (unsigned long long)db->dev_size, d,
			 (unsigned long long)db->size);
		goto fail;
	}
	if (env.cache_layers) {
		if (env.cache_layers >= d) {
			fp_error("--cache-layers %llu: %s has only %u layers "
				 "(the leaves are never cached)",
				 (unsigned long long)env.cache_layers, path, d);
			goto fail;
		}
		db->cache_bytes =
			nodes_for(env.cache_layers) * BPFKV_BLOCK_SIZE;
		if (posix_memalign((void **)&db->cache, 4096,
				   db->cache_bytes)) {
			db->cache = NULL;
			fp_error("out of memory");
			goto fail;
		}
		err = read_exact(db->fd, db->cache, db->cache_bytes, 0);
		if (err) {
			fp_error("cannot read the top of %s: %s", path,
				 strerror(-err));
			goto fail;
		}
	}
	free(node);
	return 0;
fail:
	free(node);
	free(db->cache);
	db->cache = NULL;
	close(db->fd);
	db->fd = -1;
	return 1;
}

/* ---- create ----------------------------------------------------------- */

static void format_value(char *v, uint64_t k)
{
	int i = BPFKV_VALUE_SIZE - 2;

	memset(v, ' ', BPFKV_VALUE_SIZE - 1);
	v[BPFKV_VALUE_SIZE - 1] = '\0';
	do {
		v[i--] = '0' + k % 10;
		k /= 10;
	} while (k && i >= 0);
}

static int write_all(int fd, const void *buf, size_t len, const char *path)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fp_error("cannot write %s: %s", path,
					strerror(errno));
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int cmd_create(void)
{
	const size_t bufsz = 4 << 20;
	unsigned int layers = env.layers;
	uint64_t nodes = nodes_for(layers), keys = ipow31(layers);
	uint64_t size = db_bytes(layers);
	uint64_t have, g = 0, next_pos = 1;
	char *buf = NULL, hb[32];
	size_t used = 0;
	bool blk;
	int fd, ret = 1;

	fd = open(env.file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fp_error("cannot create %s: %s", env.file,
				strerror(errno));
	if (dev_size(fd, env.file, &have, &blk))
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
	buf = malloc(bufsz);
	if (!buf) {
		fp_error("out of memory");
		goto out;
	}

	/* The index, level by level, root first (BPF-KV's load order). */
	for (unsigned int i = 0; i < layers; i++) {
		uint64_t cap = ipow31(i), extent = keys / cap;
		uint64_t sub = extent / BPFKV_FANOUT;

		for (uint64_t j = 0; j < cap; j++, g++) {
			struct bpfkv_node *n = (void *)(buf + used);
			uint64_t start = j * extent;

			n->type = i == layers - 1 ? BPFKV_LEAF : BPFKV_INTERNAL;
			n->next = j == cap - 1 ? 0 : (g + 1) * BPFKV_BLOCK_SIZE;
			for (int k = 0; k < BPFKV_FANOUT; k++, next_pos++) {
				n->key[k] = start + k * sub;
				n->ptr[k] = bpfkv_encode(
					n->type == BPFKV_INTERNAL
						? next_pos * BPFKV_BLOCK_SIZE
						: nodes * BPFKV_BLOCK_SIZE +
							  (next_pos - nodes) *
								  BPFKV_VALUE_SIZE);
			}
			used += BPFKV_BLOCK_SIZE;
			if (used == bufsz) {
				if (write_all(fd, buf, used, env.file))
					goto out;
				used = 0;
			}
		}
	}
	/* The value log: "%63lu" of each key, eight values per block. */
	for (uint64_t k = 0; k < (keys + 7) / 8 * 8; k++) {
		format_value(buf + used, k);
		used += BPFKV_VALUE_SIZE;
		if (used == bufsz) {
			if (write_all(fd, buf, used, env.file))
				goto out;
			used = 0;
		}
	}
	if (used && write_all(fd, buf, used, env.file))
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
	free(buf);
	close(fd);
	return ret;
}

/* ---- storage functions: built-in or compiled from a user's file ------- */

struct function {
	const char *name;
	xrp_fn fn;
	bool range; /* speaks struct xrp_range rather than xrp_lookup */
	void *dl;
};

static int run_cmd(char *const argv[], char *out, size_t outlen)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, outlen - 1 - used);

		if (n <= 0)
			break;
		used += n;
		if (used == outlen - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* First line of a compiler's output that says "error", for a short reason. */
static const char *first_error_line(char *out)
{
	char *line = strstr(out, "error");

	if (!line)
		line = out;
	else
		while (line > out && line[-1] != '\n')
			line--;
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static char tmpdir[64];

static void tmpdir_remove(void)
{
	static const char *const files[] = {"xrp.h", "fastpath/xrp.h", "fn.so",
					    "standin.c", "standin.o"};
	char path[128];

	if (!tmpdir[0])
		return;
	for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/fastpath", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return fp_error("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f))
		return fp_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

/* A scratch directory with the header as <xrp.h> and <fastpath/xrp.h>. */
static int tmpdir_create(void)
{
	char path[128];

	if (tmpdir[0])
		return 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xrp-lookup.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		return fp_error("cannot create a temporary directory: %s",
				strerror(errno));
	}
	atexit(tmpdir_remove);
	snprintf(path, sizeof(path), "%s/fastpath", tmpdir);
	if (mkdir(path, 0700))
		return fp_error("cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/xrp.h", tmpdir);
	if (write_file(path, xrp_header_text))
		return 1;
	snprintf(path, sizeof(path), "%s/fastpath/xrp.h", tmpdir);
	return write_file(path, xrp_header_text);
}

static bool is_source(const char *s)
{
	size_t n = strlen(s);

	return n > 2 && !strcmp(s + n - 2, ".c");
}

static int function_load(struct function *f, const char *spec, bool range)
{
	char so[128], inc[80], out[4096];
	int rc;

	memset(f, 0, sizeof(*f));
	if (!spec)
		spec = range ? "bpfkv-range" : "bpfkv-get";
	f->name = spec;
	if (!strcmp(spec, "bpfkv-get") || !strcmp(spec, "bpfkv-range")) {
		f->range = !strcmp(spec, "bpfkv-range");
		f->fn = f->range ? xrp_entry_bpfkv_range : xrp_entry_bpfkv_get;
		if (f->range != range)
			return fp_error("%s is a %s function; %s needs a %s "
					"function",
					spec,
					f->range ? "range" : "point lookup",
					range ? "range" : "this command",
					range ? "range" : "point lookup");
		return 0;
	}
	if (!is_source(spec))
		return fp_error("unknown function '%s': want bpfkv-get, "
				"bpfkv-range or a FILE.c",
				spec);
	if (access(spec, R_OK))
		return fp_error("cannot read %s: %s", spec, strerror(errno));
	if (tmpdir_create())
		return 1;
	snprintf(so, sizeof(so), "%s/fn.so", tmpdir);
	snprintf(inc, sizeof(inc), "-I%s", tmpdir);
	{
		char *argv[] = {"cc",	   "-O2",	 "-g",	       "-fPIC",
				"-shared", "-std=gnu11", "-Wall",      inc,
				"-o",	   so,		 (char *)spec, NULL};

		rc = run_cmd(argv, out, sizeof(out));
	}
	if (rc) {
		fp_debug("%s", out);
		return fp_error("cannot compile %s: %s (-v shows the compiler "
				"output)",
				spec,
				rc == 127 ? "cc is not installed"
					  : first_error_line(out));
	}
	f->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	unlink(so);
	if (!f->dl)
		return fp_error("cannot load the compiled %s: %s", spec,
				dlerror());
	f->fn = (xrp_fn)dlsym(f->dl, "xrp_entry");
	if (!f->fn)
		return fp_error("%s defines no storage function (declare it "
				"with XRP_FUNCTION(name), see xrp.h)",
				spec);
	f->range = range;
	return 0;
}

/* ---- running a storage function: the rules every engine applies ------- */

/* Start a lookup: scratch zeroed, query in, first read = the root block. */
static void lookup_start(struct bpf_xrp *ctx, uint64_t key)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	memset(ctx->scratch, 0, sizeof(ctx->scratch));
	memset(ctx->next_addr, 0, sizeof(ctx->next_addr));
	memset(ctx->size, 0, sizeof(ctx->size));
	q->key = key;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	ctx->done = 0;
	ctx->hops = 0;
}

enum step { STEP_READ, STEP_DONE, STEP_ERROR };

/*
 * Called after a read completed into ctx->data: runs the function and
 * checks what it asks for next. Nothing outside the database is read.
 */
static enum step xrp_step(const struct db *db, xrp_fn fn, struct bpf_xrp *ctx,
			  unsigned int max_depth, char *err, size_t errlen)
{
	uint64_t addr, size;
	unsigned int ret;

	/* next_addr[0] keeps the last read's offset, for error messages;
	 * size[0] = 0 shows whether the function asked for anything. */
	ctx->hops++;
	ctx->size[0] = 0;
	ret = fn(ctx);
	if (ret) {
		snprintf(err, errlen, "the storage function returned %u", ret);
		return STEP_ERROR;
	}
	if (ctx->done)
		return STEP_DONE;
	addr = ctx->next_addr[0];
	size = ctx->size[0];
	for (int i = 1; i < XRP_MAX_READS; i++) {
		if (ctx->size[i]) {
			snprintf(err, errlen,
				 "the storage function asked for "
				 "a second read (size[%d]); one read per step "
				 "is supported",
				 i);
			return STEP_ERROR;
		}
	}
	if (ctx->hops >= max_depth) {
		snprintf(err, errlen, "more than %u reads (--max-depth %u)",
			 max_depth, max_depth);
		return STEP_ERROR;
	}
	if (size == 0) {
		snprintf(err, errlen,
			 "the storage function asked for "
			 "nothing (size 0) and did not set done");
		return STEP_ERROR;
	}
	if (size > XRP_DATA_SIZE) {
		snprintf(err, errlen,
			 "the storage function asked for an "
			 "oversized read (%llu bytes at %llu, at most %d)",
			 (unsigned long long)size, (unsigned long long)addr,
			 XRP_DATA_SIZE);
		return STEP_ERROR;
	}
	if ((addr | size) & (BPFKV_BLOCK_SIZE - 1)) {
		snprintf(err, errlen,
			 "the storage function asked for a "
			 "misaligned read (%llu bytes at %llu; both must be "
			 "multiples of %d)",
			 (unsigned long long)size, (unsigned long long)addr,
			 BPFKV_BLOCK_SIZE);
		return STEP_ERROR;
	}
	if (addr >= db->size || size > db->size - addr) {
		snprintf(err, errlen,
			 "the storage function asked for offset "
			 "%llu, outside the database (%llu bytes)",
			 (unsigned long long)addr,
			 (unsigned long long)db->size);
		return STEP_ERROR;
	}
	return STEP_READ;
}

/*
 * Reads inside the cached top of the tree are served from memory, and the
 * function runs again at once; `cached` counts them.
 */
static enum step serve_cached(const struct db *db, xrp_fn fn,
			      struct bpf_xrp *ctx, unsigned int max_depth,
			      enum step st, char *err, size_t errlen,
			      uint64_t *cached)
{
	while (st == STEP_READ && db->cache_bytes &&
	       ctx->next_addr[0] + ctx->size[0] <= db->cache_bytes) {
		memcpy(ctx->data, db->cache + ctx->next_addr[0], ctx->size[0]);
		(*cached)++;
		st = xrp_step(db, fn, ctx, max_depth, err, errlen);
	}
	return st;
}

/* ---- engines ---------------------------------------------------------- */

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

struct worker {
	struct run *run;
	size_t first, end; /* keys[first..end) */
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

static struct bpf_xrp *ctx_at(struct bpf_xrp *base, unsigned int i)
{
	return (struct bpf_xrp *)((char *)base + (size_t)i * CTX_STRIDE);
}

static void lookup_finish(struct worker *w, size_t idx, struct bpf_xrp *ctx,
			  enum step st, const char *err, uint64_t lat_ns)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	struct result *res = w->run->results ? &w->run->results[idx] : NULL;
	int status;
	char why[160];

	if (st == STEP_DONE && q->error) {
		snprintf(why, sizeof(why),
			 "the storage function found "
			 "corrupt data (last read at offset %llu)",
			 (unsigned long long)ctx->next_addr[0]);
		err = why;
		st = STEP_ERROR;
	}
	status = st == STEP_ERROR ? 2 : q->found ? 0 : 1;
	w->reads += ctx->hops;
	if (status == 2) {
		w->errors++;
		if (!w->first_error[0])
			snprintf(w->first_error, sizeof(w->first_error),
				 "lookup of key %llu failed: %s",
				 (unsigned long long)w->run->keys[idx], err);
	} else if (status == 0) {
		w->found++;
		if (!res) { /* bench: every value names its key */
			char want[BPFKV_VALUE_SIZE];

			format_value(want, w->run->keys[idx]);
			if (memcmp(want, q->value, BPFKV_VALUE_SIZE))
				w->wrong++;
		}
	} else {
		w->missing++;
	}
	fp_hist_add(&w->hist, lat_ns);
	if (res) {
		res->key = w->run->keys[idx];
		res->status = status;
		memcpy(res->value, q->value, BPFKV_VALUE_SIZE);
		res->value[BPFKV_VALUE_SIZE - 1] = '\0';
		if (status == 2)
			snprintf(res->err, sizeof(res->err), "%s", err);
	}
}

static void *pread_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct bpf_xrp *ctx = w->ctxs;
	char err[256];

	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	for (size_t i = w->first; i < w->end; i++) {
		uint64_t t0 = fp_mono_ns();
		enum step st;

		lookup_start(ctx, run->keys[i]);
		st = serve_cached(run->db, run->fn, ctx, run->max_depth,
				  STEP_READ, err, sizeof(err), &w->cached);
		while (st == STEP_READ) {
			ssize_t n = pread(run->db->fd, ctx->data, ctx->size[0],
					  ctx->next_addr[0]);

			w->own_syscalls++;
			if (n != (ssize_t)ctx->size[0]) {
				snprintf(err, sizeof(err),
					 "read of %llu bytes "
					 "at %llu: %s",
					 (unsigned long long)ctx->size[0],
					 (unsigned long long)ctx->next_addr[0],
					 n < 0 ? strerror(errno)
					       : "short read");
				st = STEP_ERROR;
				break;
			}
			st = xrp_step(run->db, run->fn, ctx, run->max_depth,
				      err, sizeof(err));
			st = serve_cached(run->db, run->fn, ctx, run->max_depth,
					  st, err, sizeof(err), &w->cached);
		}
		lookup_finish(w, i, ctx, st, err, fp_mono_ns() - t0);
	}
	return NULL;
}

static int uring_setup(struct worker *w)
{
	struct run *run = w->run;
	struct io_uring_params p;
	unsigned int n = w->end - w->first < run->inflight
				 ? (unsigned int)(w->end - w->first)
				 : run->inflight;
	struct iovec *iov;
	int err;

	if (n == 0)
		n = 1;
	memset(&p, 0, sizeof(p));
	if (run->sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 50; /* ms */
		err = io_uring_queue_init_params(n, &w->ring, &p);
	} else {
		/* Completions are processed only when we ask: no IPIs. */
		p.flags =
			IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
		err = io_uring_queue_init_params(n, &w->ring, &p);
		if (err == -EINVAL) {
			memset(&p, 0, sizeof(p));
			err = io_uring_queue_init_params(n, &w->ring, &p);
		}
	}
	if (err)
		return fp_error("cannot set up io_uring: %s%s", strerror(-err),
				err == -EPERM
					? " (is io_uring disabled by "
					  "sysctl kernel.io_uring_disabled?)"
					: "");
	w->ring_ready = true;
	err = io_uring_register_files(&w->ring, &run->db->fd, 1);
	if (err)
		return fp_error("cannot register the file with io_uring: %s",
				strerror(-err));
	iov = calloc(n, sizeof(*iov));
	w->slots = calloc(n, sizeof(*w->slots));
	if (!iov || !w->slots) {
		free(iov);
		return fp_error("out of memory");
	}
	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_base = ctx_at(w->ctxs, i)->data;
		iov[i].iov_len = XRP_DATA_SIZE;
	}
	err = io_uring_register_buffers(&w->ring, iov, n);
	free(iov);
	if (err)
		return fp_error("cannot register buffers with io_uring: %s",
				strerror(-err));
	w->next = n; /* number of slots, stashed until the run starts */
	return 0;
}

static void uring_queue(struct worker *w, unsigned int slot)
{
	struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	/* The ring has an entry per slot and a slot has one read out, so
	 * the queue is never full; but if SQPOLL is slow to take them... */
	while (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	io_uring_prep_read_fixed(sqe, 0, ctx->data, ctx->size[0],
				 ctx->next_addr[0], slot);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, slot);
}

static bool uring_start_next(struct worker *w, unsigned int slot)
{
	struct slot *s = &w->slots[slot];
	struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
	struct run *run = w->run;
	char err[256];
	enum step st;

	/* A lookup may end without I/O (the top of the tree is cached). */
	while (w->next < w->end) {
		s->idx = w->next++;
		s->busy = true;
		s->start_ns = fp_mono_ns();
		lookup_start(ctx, run->keys[s->idx]);
		st = serve_cached(run->db, run->fn, ctx, run->max_depth,
				  STEP_READ, err, sizeof(err), &w->cached);
		if (st == STEP_READ) {
			uring_queue(w, slot);
			return true;
		}
		lookup_finish(w, s->idx, ctx, st, err,
			      fp_mono_ns() - s->start_ns);
	}
	s->busy = false;
	return false;
}

/*
 * SQPOLL: the kernel thread submits; we look for completions in the CQ
 * ring without a system call, for up to this many pauses (about a
 * millisecond) before sleeping in io_uring_enter.
 */
#define SQPOLL_SPIN 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void *uring_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	unsigned int nslots, active = 0;
	char err[256];

	/* The ring belongs to the thread that uses it (SINGLE_ISSUER). */
	w->setup_err = uring_setup(w);
	nslots = w->next;
	w->next = w->first;
	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	if (w->setup_err)
		return NULL;
	for (unsigned int i = 0; i < nslots; i++)
		active += uring_start_next(w, i);
	while (active) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret;

		if (!run->sqpoll) {
			/* One system call submits the batch and waits for
			 * every read in flight: the fewest enters per read. */
			ret = io_uring_submit_and_wait(&w->ring, active);
			w->own_syscalls++;
		} else {
			ret = io_uring_submit(&w->ring);
			for (unsigned int spin = 0;
			     !io_uring_cq_ready(&w->ring); spin++) {
				if (spin > SQPOLL_SPIN) {
					ret = io_uring_wait_cqe(&w->ring, &cqe);
					w->own_syscalls++;
					break;
				}
				cpu_relax();
			}
		}
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			snprintf(w->first_error, sizeof(w->first_error),
				 "io_uring_enter: %s", strerror(-ret));
			for (unsigned int i = 0; i < nslots; i++)
				if (w->slots[i].busy && w->run->results)
					snprintf(
						w->run->results[w->slots[i].idx]
							.err,
						sizeof(w->run->results[0].err),
						"io_uring_enter: %s",
						strerror(-ret));
			w->errors += active + (w->end - w->next);
			break;
		}
		io_uring_for_each_cqe(&w->ring, head, cqe)
		{
			unsigned int slot = (unsigned int)cqe->user_data;
			struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
			struct slot *s = &w->slots[slot];
			enum step st;

			seen++;
			if (cqe->res != (int)ctx->size[0]) {
				snprintf(err, sizeof(err),
					 "read of %llu bytes "
					 "at %llu: %s",
					 (unsigned long long)ctx->size[0],
					 (unsigned long long)ctx->next_addr[0],
					 cqe->res < 0 ? strerror(-cqe->res)
						      : "short read");
				st = STEP_ERROR;
			} else {
				st = xrp_step(run->db, run->fn, ctx,
					      run->max_depth, err, sizeof(err));
				st = serve_cached(run->db, run->fn, ctx,
						  run->max_depth, st, err,
						  sizeof(err), &w->cached);
			}
			if (st == STEP_READ) {
				uring_queue(w, slot);
				continue;
			}
			lookup_finish(w, s->idx, ctx, st, err,
				      fp_mono_ns() - s->start_ns);
			if (!uring_start_next(w, slot))
				active--;
		}
		io_uring_cq_advance(&w->ring, seen);
	}
	return NULL;
}

/*
 * kernel: the storage function runs in the kernel (engine-kernel.h); each
 * round of up to XRPK_ENGINE_BATCH lookups is one io_uring_enter, and only
 * finished lookups come back.
 */
static void *kernel_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct bpf_xrp *ctx = w->ctxs;
	struct xrpk_answer *ans = NULL;
	uint64_t sqes, cqes;

	/* The ring belongs to the thread that uses it (SINGLE_ISSUER). */
	w->setup_err = xrpk_ring_open(run->kernel, &w->kring);
	if (!w->setup_err) {
		ans = calloc(XRPK_ENGINE_BATCH, sizeof(*ans));
		if (!ans)
			w->setup_err = fp_error("out of memory");
	}
	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	for (size_t i = w->first; !w->setup_err && i < w->end;) {
		size_t n = w->end - i < XRPK_ENGINE_BATCH ? w->end - i
							  : XRPK_ENGINE_BATCH;

		if (xrpk_lookup(w->kring, run->keys + i, n, ans,
				&w->own_syscalls)) {
			snprintf(w->first_error, sizeof(w->first_error),
				 "the kernel engine failed");
			w->errors += w->end - i;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			/* What lookup_finish reads from a finished context. */
			memcpy(ctx->scratch, ans[j].head, sizeof(ans[j].head));
			ctx->hops = ans[j].hops;
			ctx->next_addr[0] = ans[j].last_addr;
			w->cached += ans[j].cached;
			lookup_finish(w, i + j, ctx,
				      ans[j].failed ? STEP_ERROR : STEP_DONE,
				      ans[j].err, ans[j].lat_ns);
		}
		i += n;
	}
	if (w->kring)
		xrpk_ring_stats(w->kring, &w->loop_steps, &sqes, &cqes);
	free(ans);
	return NULL;
}

/* What a measurement window saw: time, CPU, system calls. */
struct meter {
	struct xrp_lookup_bpf *skel; /* sys_enter counter, when loaded */
	uint64_t t0, t1;
	struct rusage r0, r1;
	uint64_t sys0, sys1;
};

static void meter_snap(struct meter *m, bool end)
{
	uint64_t sys = m->skel ? m->skel->bss->syscalls : 0;

	if (!end) {
		m->sys0 = sys;
		getrusage(RUSAGE_SELF, &m->r0);
		m->t0 = fp_mono_ns();
	} else {
		m->t1 = fp_mono_ns();
		getrusage(RUSAGE_SELF, &m->r1);
		m->sys1 = m->skel ? m->skel->bss->syscalls : 0;
	}
}

static double tv_us(const struct timeval *a, const struct timeval *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_usec - a->tv_usec);
}

/*
 * Runs every key through the engine; totals land in run. Thread and ring
 * set-up happen before the window `m` measures, tear-down after it.
 */
static int run_lookups(struct run *run, struct meter *m)
{
	unsigned int nt = run->threads;
	struct worker *ws;
	int ret = 0;

	if (nt > run->nkeys)
		nt = run->nkeys ? run->nkeys : 1;
	run->threads = nt;
	ws = calloc(nt, sizeof(*ws));
	if (!ws)
		return fp_error("out of memory");
	for (unsigned int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];
		unsigned int nctx = 1;

		w->run = run;
		w->first = run->nkeys * t / nt;
		w->end = run->nkeys * (t + 1) / nt;
		/* uring: one context per slot, no more slots than keys */
		if (run->engine == ENG_URING)
			nctx = w->end - w->first < run->inflight
				       ? (unsigned int)(w->end - w->first)
				       : run->inflight;
		if (nctx == 0)
			nctx = 1;
		if (posix_memalign((void **)&w->ctxs, 4096,
				   (size_t)nctx * CTX_STRIDE)) {
			w->ctxs = NULL;
			ret = fp_error("out of memory");
			break;
		}
	}
	if (!ret) {
		pthread_barrier_init(&run->ready, NULL, nt + 1);
		pthread_barrier_init(&run->start, NULL, nt + 1);
		for (unsigned int t = 0; t < nt; t++)
			pthread_create(&ws[t].tid, NULL,
				       run->engine == ENG_URING ? uring_worker
				       : run->engine == ENG_KERNEL
					       ? kernel_worker
					       : pread_worker,
				       &ws[t]);
		pthread_barrier_wait(&run->ready);
		if (m)
			meter_snap(m, false);
		pthread_barrier_wait(&run->start);
		for (unsigned int t = 0; t < nt; t++)
			pthread_join(ws[t].tid, NULL);
		if (m)
			meter_snap(m, true);
		pthread_barrier_destroy(&run->ready);
		pthread_barrier_destroy(&run->start);
		for (unsigned int t = 0; t < nt; t++)
			ret |= ws[t].setup_err;
		for (unsigned int t = 0; !ret && t < nt; t++) {
			struct worker *w = &ws[t];

			fp_hist_merge(&run->hist, &w->hist);
			run->found += w->found;
			run->missing += w->missing;
			run->errors += w->errors;
			run->wrong += w->wrong;
			run->reads += w->reads;
			run->own_syscalls += w->own_syscalls;
			run->cached += w->cached;
			run->loop_steps += w->loop_steps;
			if (!run->first_error[0] && w->first_error[0])
				snprintf(run->first_error,
					 sizeof(run->first_error), "%s",
					 w->first_error);
		}
	}
	for (unsigned int t = 0; t < nt; t++) {
		if (ws[t].ring_ready)
			io_uring_queue_exit(&ws[t].ring);
		xrpk_ring_close(ws[t].kring);
		free(ws[t].ctxs);
		free(ws[t].slots);
	}
	free(ws);
	return ret;
}

/* ---- engine choice ---------------------------------------------------- */

static bool xrp_kernel(void)
{
	return fp_probe_btf_enum_value("BPF_PROG_TYPE_XRP") &&
	       fp_probe_btf_type("bpf_xrp");
}

static bool xrp_syscall(void)
{
	return fp_probe_btf_type("__x64_sys_read_xrp") ||
	       fp_probe_btf_type("__arm64_sys_read_xrp") ||
	       fp_probe_btf_type("__do_sys_read_xrp") ||
	       fp_probe_btf_type("ksys_read_xrp");
}

static bool uring_works(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/* With -v: what the engine choice rests on, one probe a line. */
static void print_engine_probes(void)
{
	if (!fp_opts.verbose)
		return;
	fprintf(stderr, "%s: engine probes:\n", fp_tool_name);
	fp_probe_print(stderr, "BPF_PROG_TYPE_XRP in kernel BTF",
		       fp_probe_btf_enum_value("BPF_PROG_TYPE_XRP"));
	fp_probe_print(stderr, "struct bpf_xrp in kernel BTF",
		       fp_probe_btf_type("bpf_xrp"));
	fp_probe_print(stderr, "read_xrp system call", xrp_syscall());
	fp_probe_print(stderr, "io_uring", uring_works());
	fp_probe_print(stderr, "io_uring_bpf_ops in kernel BTF",
		       fp_probe_btf_type("io_uring_bpf_ops"));
	fp_probe_print(stderr, "bpf_io_uring_submit_sqes kfunc",
		       fp_probe_btf_type("bpf_io_uring_submit_sqes"));
}

static int choose_engine(enum engine *out, bool announce)
{
	char why[128];
	struct utsname u;
	bool type, sys;

	print_engine_probes();

	switch (env.engine) {
	case ENG_KERNEL:
		if (!xrpk_supported(why, sizeof(why)))
			return fp_error("engine kernel: %s (this kernel, %s, "
					"has %s); use --engine uring or "
					"--engine auto",
					XRPK_NEEDS, uname(&u) ? "?" : u.release,
					why);
		if (env.inflight > XRPK_ENGINE_MAX_INFLIGHT)
			return fp_error("engine kernel: --inflight %llu: at "
					"most %d lookups in flight per thread",
					(unsigned long long)env.inflight,
					XRPK_ENGINE_MAX_INFLIGHT);
		*out = ENG_KERNEL;
		return 0;
	case ENG_PREAD:
	case ENG_URING:
		*out = env.engine;
		if (env.engine == ENG_URING && !uring_works())
			return fp_error("engine uring: io_uring is not "
					"available here (kernel.io_uring_"
					"disabled?); use --engine pread");
		return 0;
	case ENG_XRP:
		type = xrp_kernel();
		sys = xrp_syscall();
		if (!type || !sys)
			return fp_error("engine xrp: this kernel has no XRP "
					"(%s%s%s in its BTF); use --engine "
					"uring or --engine auto",
					type ? ""
					     : "no BPF_PROG_TYPE_XRP or "
					       "struct bpf_xrp",
					!type && !sys ? ", " : "",
					sys ? "" : "no read_xrp system call");
		return fp_error("engine xrp: this kernel carries XRP, but "
				"this build of xrp-lookup cannot drive it yet; "
				"use --engine uring");
	case ENG_AUTO:
	default:
		/* --sqpoll and deep queues are the uring engine's. */
		if (!env.sqpoll && env.inflight <= XRPK_ENGINE_MAX_INFLIGHT &&
		    xrpk_supported(NULL, 0) && xrpk_may_load()) {
			*out = ENG_KERNEL;
			if (announce)
				fprintf(stderr,
					"%s: engine auto: using kernel "
					"(io_uring "
					"BPF ops: the storage function runs in "
					"the kernel)\n",
					fp_tool_name);
			return 0;
		}
		if (uring_works()) {
			*out = ENG_URING;
			if (announce)
				fprintf(stderr,
					"%s: engine auto: using uring (%s)\n",
					fp_tool_name,
					!xrpk_supported(NULL, 0)
						? xrp_kernel()
							  ? "this build cannot "
							    "drive XRP"
							  : "no io_uring BPF "
							    "ops, "
							    "which need Linux "
							    "7.1+, and no XRP "
							    "in "
							    "this kernel"
					: !xrpk_may_load()
						? "the kernel engine needs "
						  "CAP_BPF"
						: "--sqpoll or --inflight "
						  "above "
						  "128 asks for it");
		} else {
			*out = ENG_PREAD;
			if (announce)
				fprintf(stderr,
					"%s: engine auto: using pread (no XRP, "
					"no io_uring)\n",
					fp_tool_name);
		}
		return 0;
	}
}

/*
 * Loads the kernel engine's program for this database and function. With
 * --engine auto, a function its verifier refuses falls back to uring.
 */
static int kernel_open(struct xrpk **k, const struct db *db, bool range,
		       enum engine *eng)
{
	struct xrpk_params p = {
		.function = env.function,
		.range = range,
		.db_fd = db->fd,
		.db_size = db->size,
		.cache = db->cache,
		.cache_bytes = db->cache_bytes,
		.max_depth = env.max_depth,
		.inflight = env.inflight,
	};
	char refusal[512];

	*k = NULL;
	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	if (xrpk_open(k, &p, env.engine == ENG_AUTO ? refusal : NULL,
		      sizeof(refusal)) == 0)
		return 0;
	if (env.engine != ENG_AUTO || !refusal[0] || !uring_works())
		return 1;
	fprintf(stderr,
		"%s: engine auto: using uring (the verifier refused %s for "
		"the kernel engine: %s)\n",
		fp_tool_name, env.function ? env.function : "the function",
		refusal);
	*eng = ENG_URING;
	return 0;
}

/* ---- get -------------------------------------------------------------- */

static const char *trim(const char *v)
{
	while (*v == ' ')
		v++;
	return v;
}

static int cmd_get(void)
{
	struct run run = {};
	struct function f;
	struct result *res = NULL;
	struct db db;
	enum engine eng;
	int ret = 1;

	if (choose_engine(&eng, env.engine_given))
		return 1;
	if (db_open(&db, env.file))
		return 1;
	if (function_load(&f, env.function, false))
		goto out;
	if (eng == ENG_KERNEL && kernel_open(&run.kernel, &db, false, &eng))
		goto out;
	res = calloc(env.nkeys, sizeof(*res));
	if (!res) {
		fp_error("out of memory");
		goto out;
	}
	run.db = &db;
	run.fn = f.fn;
	run.max_depth = env.max_depth;
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
	run.inflight = env.inflight;
	run.sqpoll = env.sqpoll;
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
				r->status == 0 ? trim(r->value) : NULL);
			fp_json_kv_string_or_null(
				&j, "error", r->status == 2 ? r->err : NULL);
			fp_json_object_end(&j);
			fp_json_newline(&j);
		} else if (r->status == 0) {
			printf("%llu %s\n", (unsigned long long)r->key,
			       trim(r->value));
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
	close(db.fd);
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
static enum step kernel_chain(struct xrpk_ring *kring, char *err, size_t len)
{
	struct xrpk_answer a;

	if (xrpk_chain(kring, &a)) {
		snprintf(err, len, "the kernel engine failed");
		return STEP_ERROR;
	}
	snprintf(err, len, "%s", a.err);
	return a.failed ? STEP_ERROR : STEP_DONE;
}

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

	if (choose_engine(&eng, env.engine_given))
		return 1;
	if (db_open(&db, env.file))
		return 1;
	if (function_load(&f, env.function, true))
		goto out;
	if (eng == ENG_KERNEL && kernel_open(&kern, &db, true, &eng))
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
			st = serve_cached(&db, f.fn, ctx, env.max_depth,
					  STEP_READ, err, sizeof(err), &cached);
		while (st == STEP_READ) {
			if (chain_read(eng, &ring, db.fd, ctx, err,
				       sizeof(err))) {
				st = STEP_ERROR;
				break;
			}
			st = xrp_step(&db, f.fn, ctx, env.max_depth, err,
				      sizeof(err));
			st = serve_cached(&db, f.fn, ctx, env.max_depth, st,
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
				fp_json_kv_string(&j, "value",
						  trim(r->out[i].value));
				fp_json_object_end(&j);
				fp_json_newline(&j);
			} else {
				printf("%llu %s\n",
				       (unsigned long long)r->out[i].key,
				       trim(r->out[i].value));
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
	close(db.fd);
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

	if (choose_engine(&eng, true))
		return 1;
	if (db_open(&db, env.file))
		return 1;
	if (function_load(&f, env.function, false))
		goto out;
	if (eng == ENG_KERNEL && kernel_open(&run.kernel, &db, false, &eng))
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
	run.max_depth = env.max_depth;
	run.engine = eng;
	run.keys = keys;
	run.nkeys = n;
	run.threads = env.threads;
	run.inflight = env.inflight;
	run.sqpoll = env.sqpoll;
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
				       ? env.inflight
				       : 1);
		fp_json_kv_bool(&j, "sqpoll", eng == ENG_URING && env.sqpoll);
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
		fp_json_kv_u64(&j, "cache_layers", env.cache_layers);
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
			       (unsigned long long)env.inflight,
			       eng == ENG_KERNEL
				       ? ", function in io_uring_enter"
			       : env.sqpoll ? ", SQPOLL"
					    : "");
		printf(", %u thread%s, function %s\n", run.threads,
		       run.threads == 1 ? "" : "s", f.name);
		printf("database %s: %u layers, %s keys, %.2f reads per "
		       "lookup",
		       env.file, db.layers,
		       fp_human_count(hb, sizeof(hb), db.keys),
		       (double)run.reads / n);
		if (env.cache_layers)
			printf(" (+%.2f from the top %llu cached layers)",
			       (double)run.cached / n,
			       (unsigned long long)env.cache_layers);
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
		       eng == ENG_URING && env.sqpoll
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
	close(db.fd);
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
	char path[160], inc[80], multi[96], out[4096], *log = NULL;
	int err = 0, ret = 1;
	uint64_t insns;

	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_bump_memlock();
	if (!strcmp(name, "bpfkv-get")) {
		prog = XRP_STANDIN_GET;
	} else if (!strcmp(name, "bpfkv-range")) {
		prog = XRP_STANDIN_RANGE;
	} else if (is_source(name)) {
		char abs[PATH_MAX], obj_path[160];
		char *argv[] = {"clang",    "-O2",    "-g",  "-target", "bpf",
				"-mcpu=v3", inc,      multi, "-c",	path,
				"-o",	    obj_path, NULL};
		char *text;

		if (!realpath(name, abs))
			return fp_error("cannot read %s: %s", name,
					strerror(errno));
		if (tmpdir_create())
			return 1;
		snprintf(path, sizeof(path), "%s/standin.c", tmpdir);
		snprintf(obj_path, sizeof(obj_path), "%s/standin.o", tmpdir);
		snprintf(inc, sizeof(inc), "-I%s", tmpdir);
		snprintf(multi, sizeof(multi), "-I/usr/include/%s",
			 XRP_MULTIARCH);
		if (asprintf(&text, "#include \"xrp.h\"\n#include \"%s\"\n%s",
			     abs, XRP_STANDIN_SOURCE) < 0)
			return fp_error("out of memory");
		err = write_file(path, text);
		free(text);
		if (err)
			return 1;
		err = run_cmd(argv, out, sizeof(out));
		if (err) {
			fp_debug("%s", out);
			return fp_error(
				"cannot compile %s for BPF: %s (-v shows "
				"the compiler output)",
				name,
				err == 127 ? "clang is not installed"
					   : first_error_line(out));
		}
		snprintf(path, sizeof(path), "%s", obj_path);
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
