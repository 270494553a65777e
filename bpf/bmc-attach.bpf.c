// SPDX-License-Identifier: GPL-2.0
/*
 * BMC: an in-kernel cache in front of memcached.
 *
 *   bmc_rx       XDP ingress: answers UDP "get" hits with XDP_TX, records
 *                misses, parses every write (UDP and TCP) and invalidates.
 *   bmc_tx       TC egress: fills the cache from memcached's single-datagram
 *                GET replies; a reply on a connection ends its pending writes.
 *   bmc_restart  tp_btf/inet_sock_set_state: memcached's TCP listener
 *                closed or opened -> flush.
 *   bmc_bind4/6  cgroup/post_bind4/6: a UDP socket bound to memcached's
 *                port (a new memcached) -> remember it, flush.
 *   bmc_release  cgroup/sock_release: such a UDP socket closed (memcached
 *                went away, even a UDP-only one) -> flush.
 *
 * Consistency (why a GET reply never re-installs a value older than a write)
 * -------------------------------------------------------------------------
 * A global write sequence `seq` grows by one at every invalidation. Each key
 * hash falls in a bucket holding `gen` (the sequence of its last
 * invalidation, kept monotonic) and `pending` (writes seen at ingress whose
 * application by memcached is not yet known to be over).
 *
 *  1. A write to key K at ingress: pending[b]++ (remembered on its client
 *     connection), then gen[b] = ++seq. Entries stamped < gen[b] are dead.
 *  2. A GET that misses at ingress records S = seq under (client, request id);
 *     two outstanding GETs with the same id keep the older S.
 *  3. memcached's reply at egress fills K only if pending[b] == 0,
 *     gen[b] <= S and the last flush <= S; the entry is stamped S and is
 *     served only while gen[b] <= S and flushed <= S (checked at every hit).
 *  4. memcached's answer proves the write was applied: over UDP the reply
 *     echoing the write's request id, over TCP the first reply (or FIN) on
 *     the writer's connection. Then gen[b] = ++seq again, pending[b]--;
 *     over TCP gen[b] is bumped once more at the next reply, in case the
 *     first one answered an earlier pipelined command.
 *     A write never answered (noreply) stops counting as pending after
 *     BMC_PEND_TTL_NS (1 s).
 *
 * GET miss -> write -> old reply: the write's step 1 sets gen[b] > S, so the
 * fill is refused (stale_fills) and any fill that slipped in before step 1
 * is dead at once. A GET that reaches ingress after the write but is
 * processed by memcached before it (another socket, another thread) sees
 * pending[b] > 0 until step 4, and step 4 moves gen[b] past its S. Entries
 * installed between a check and the install are stamped S < the new gen.
 * Several outstanding GETs of one key each carry their own S (keyed by
 * client and request id), so a late old reply is judged by its own GET's
 * S, never by a newer GET's. A write pending past the 1 s TTL no longer
 * blocks fills, but its answer (step 4) still bumps gen[b]: whatever was
 * filled meanwhile dies no later than memcached's reply to the write.
 * Anything we cannot parse with certainty (TCP stream out of sync, binary
 * protocol writes, unknown commands) flushes everything the same way, with
 * a global pending count. Residual: with pipelined TCP, if memcached sends
 * two replies on the connection before it applies the write (the write's
 * own reply being the third or later), a GET processed in between could
 * fill the old value until the write's next invalidation; see
 * docs/readme/20-bmc-attach.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bmc.h"
#include "metadata.h"

FASTPATH_METADATA("bmc-attach");

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TC_ACT_NEXT \
	(-1) /* TC_ACT_UNSPEC: an observer, later filters still run */

#define REQ_BUF	     2048
#define REQ_MASK     (REQ_BUF - 1)
#define LINE_MAX_    320 /* longest command line we parse */
#define MAX_CMDS     48	 /* commands per segment or datagram */
#define MAX_GAT_KEYS 24
#define NS	     1000000000ULL
#define EXP_MARGIN   (2 * NS) /* memcached's clock lags up to ~2 s */
#define NEVER	     (~0ULL)

/* Set by bmc-attach before load. */
const volatile __u16 port_be = 0;	  /* memcached port, network order */
const volatile __u64 set_mask = 0;	  /* sets - 1 (power of two) */
const volatile __u64 gen_mask = 0;	  /* buckets - 1 (power of two) */
const volatile __u64 max_age_ns = 0;	  /* 0: unknown expiry not cached */
const volatile __s64 realtime_off_ns = 0; /* CLOCK_REALTIME - MONOTONIC */
const volatile __u64 netns_cookie = 0;	  /* memcached's netns, 0: any */
/* bpf_xdp_load_bytes and bpf_xdp_store_bytes exist (Linux 5.18) */
const volatile __u8 xdp_bytes = 1;

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_config);
} bmc_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* sets * BMC_WAYS, set by bmc-attach */
	__type(key, __u32);
	__type(value, struct bmc_entry);
} cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* gen_mask + 1 */
	__type(key, __u32);
	__type(value, struct bmc_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_state);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bmc_req_key);
	__type(value, __u64);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bmc_conn_key);
	__type(value, struct bmc_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192); /* set by bmc-attach */
	__type(key, __u64);
	__type(value, struct bmc_exp);
} exps SEC(".maps");

struct slot {
	__u32 len;
	__u32 csum;
	__u64 fence; /* per-CPU target of the seqlock's barriers */
	__u64 hash;  /* of the request's key, from bmc_key */
	__u8 blob[BMC_BLOB_MAX + 8]; /* + "END\r\n" after the last value */
};

/* Text to parse; global functions take it so the verifier checks them once. */
struct textbuf {
	__u8 b[REQ_BUF];
	__u8 pad[8]; /* 8-byte loads at any masked index stay inside */
};

struct xdp_scratch {
	__u8 hb[64]; /* the request's headers while the reply grows */
	struct textbuf req;
	__u8 fresh[sizeof(struct bmc_conn)]; /* zeroes for new connections */
	__u32 pos, len; /* parse_stream's cursor, opaque to the verifier */
	__u32 op;
	struct slot slots[BMC_MAX_KEYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_scratch);
} xdp_scratch SEC(".maps");

struct tc_scratch {
	struct textbuf buf;
	__u32 op;
	__u8 blob[BMC_BLOB_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_scratch);
} tc_scratch SEC(".maps");

/*
 * Fails unless 1 <= len <= max, in a form every verifier reads as bounds
 * on the register a helper then gets its length in (len: a __u64, so
 * that no 32-bit move between the tests and the call drops what was
 * learnt). clang would fold `len == 0 || len > max` into one test of
 * len - 1, whose range older verifiers do not carry back to len, and
 * older ones (6.1) learn no minimum from len != 0 (hence the signed
 * test). The barriers keep clang from merging the tests or reusing
 * earlier ones.
 */
#define CHECK_LEN(len, max, fail)     \
	do {                          \
		barrier_var(len);     \
		if ((__s64)(len) < 1) \
			fail;         \
		barrier_var(len);     \
		if ((len) > (max))    \
			fail;         \
	} while (0)

/*
 * Passes a value through memory so the verifier stops tracking it as a
 * constant: loops over packet text then converge instead of being explored
 * once per possible position.
 */
#define OPAQUE(sc, x)                         \
	({                                    \
		(sc)->op = (x);               \
		*(volatile __u32 *)&(sc)->op; \
	})

enum stat_field {
	S_GETS,
	S_HITS,
	S_MISSES,
	S_FILLS,
	S_INVAL,
	S_EVICT,
	S_PASSES,
	S_FLUSHES,
	S_STALE,
	S_EXPIRED,
};

static __always_inline void stat_inc(enum stat_field f)
{
	__u32 zero = 0;
	__u64 *s = bpf_map_lookup_elem(&stats, &zero);

	if (s)
		s[f] += 1; /* per-CPU: no atomics needed */
}

static __always_inline struct bmc_state *get_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&state, &zero);
}

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* *p = max(*p, v), atomically. */
static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	for (int i = 0; i < 8; i++) {
		__u64 old = *(volatile __u64 *)p;

		if (old >= v)
			return;
		if (__sync_val_compare_and_swap(p, old, v) == old)
			return;
	}
}

static __always_inline __u64 next_seq(struct bmc_state *st)
{
	return __sync_add_and_fetch(&st->seq, 1);
}

/* Whole-cache flush: every entry and every outstanding GET gets older. */
__noinline int bmc_flush(void)
{
	struct bmc_state *st = get_state();

	if (!st)
		return 0;
	atomic_max(&st->flushed, next_seq(st));
	stat_inc(S_FLUSHES);
	return 0;
}

static __always_inline void flush_all(void)
{
	bmc_flush();
}

static __always_inline __u64 fnv1a_init(void)
{
	return 0xcbf29ce484222325ULL;
}

#define FNV_PRIME 0x100000001b3ULL

/*
 * Global (non-static) functions are verified once, on their own, instead of
 * at every call site: the scanning loops below stay cheap to verify.
 */

/* Hash of tb[off, off+len) (len <= BMC_MAX_KEY). Never 0. */
__noinline __u64 bmc_hash(struct textbuf *tb, __u32 off, __u32 len)
{
	__u64 h = fnv1a_init();

	if (!tb)
		return 1;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < BMC_MAX_KEY; i++) {
		if (i >= len)
			break;
		h ^= tb->b[(off + i) & REQ_MASK];
		h *= FNV_PRIME;
	}
	return h ? h : 1;
}

static __always_inline __u64 key_hash(struct textbuf *tb, __u32 off, __u32 len)
{
	return bmc_hash(tb, off, len);
}

/* Next space-separated token in [pos, end): start << 32 | length. */
__noinline __u64 bmc_tok(struct textbuf *tb, __u32 pos, __u32 end)
{
	__u32 p = pos, s;

	if (!tb)
		return 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < LINE_MAX_; i++) {
		if (p >= end || tb->b[p & REQ_MASK] != ' ')
			break;
		p++;
	}
	s = p;
#pragma clang loop unroll(disable)
	for (int i = 0; i < LINE_MAX_; i++) {
		if (p >= end || tb->b[p & REQ_MASK] == ' ')
			break;
		p++;
	}
	return (__u64)s << 32 | (p - s);
}

/*
 * A key in a get line: like bmc_tok but also ends at CR or LF. Its hash
 * (as bmc_hash computes it) goes to sl->hash on the way.
 */
__noinline __u64 bmc_key(struct textbuf *tb, __u32 pos, __u32 end,
			 struct slot *sl)
{
	__u64 h = fnv1a_init();
	__u32 p = pos, s;

	if (!tb || !sl)
		return 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < 8; i++) {
		if (p >= end || tb->b[p & REQ_MASK] != ' ')
			break;
		p++;
	}
	s = p;
#pragma clang loop unroll(disable)
	for (int i = 0; i < BMC_MAX_KEY + 1; i++) {
		__u8 c;

		if (p >= end)
			break;
		c = tb->b[p & REQ_MASK];
		if (c == ' ' || c == '\r' || c == '\n')
			break;
		h ^= c;
		h *= FNV_PRIME;
		p++;
	}
	sl->hash = h ? h : 1;
	return (__u64)s << 32 | (p - s);
}

#define EOL_PARTIAL 0xffffffffU /* no LF before len */
#define EOL_LONG    0xfffffffeU /* no LF within LINE_MAX_ */

/* Offset of the next LF at or after pos. */
__noinline __u32 bmc_eol(struct textbuf *tb, __u32 pos, __u32 len)
{
	__u32 p = pos;

	if (!tb)
		return EOL_LONG;
#pragma clang loop unroll(disable)
	for (int i = 0; i < LINE_MAX_; i++) {
		if (p >= len)
			return EOL_PARTIAL;
		if (tb->b[p & REQ_MASK] == '\n')
			return p;
		p++;
	}
	return EOL_LONG;
}

#define NUM_BAD (-0x7fffffffffffffffLL)

/* Decimal number as memcached's strtol would take it, or NUM_BAD. */
__noinline __s64 bmc_num(struct textbuf *tb, __u32 off, __u32 len)
{
	__s64 v = 0;
	int neg = 0;
	__u32 i = 0;

	if (!tb || len == 0 || len > 20)
		return NUM_BAD;
	if (tb->b[off & REQ_MASK] == '-') {
		neg = 1;
		i = 1;
		if (len == 1)
			return NUM_BAD;
	}
#pragma clang loop unroll(disable)
	for (; i < 20; i++) {
		__u8 c;

		if (i >= len)
			break;
		c = tb->b[(off + i) & REQ_MASK];
		if (c < '0' || c > '9')
			return NUM_BAD;
		if (v > 100000000000000LL)
			return NUM_BAD; /* too big for us: unparseable */
		v = v * 10 + (c - '0');
	}
	return neg ? -v : v;
}

/* Does the key in sl's blob ("VALUE key ...") equal tb[off, off+len)? */
__noinline int bmc_keyeq(struct slot *sl, struct textbuf *tb, __u32 off,
			 __u32 len)
{
	if (!sl || !tb)
		return 0;
	__u32 j = 0;

	/* Eight bytes at a time, then the rest (unaligned loads are fine). */
#pragma clang loop unroll(disable)
	for (__u32 c = 0; c < BMC_MAX_KEY / 8; c++) {
		if (c * 8 + 8 > len)
			break;
		if (*(__u64 *)&sl->blob[6 + c * 8] !=
		    *(__u64 *)&tb->b[(off + c * 8) & REQ_MASK])
			return 0;
		j = c * 8 + 8;
	}
#pragma clang loop unroll(disable)
	for (__u32 t = 0; t < 8; t++) {
		if (j >= len || j >= BMC_MAX_KEY)
			break;
		if (sl->blob[6 + j] != tb->b[(off + j) & REQ_MASK])
			return 0;
		j++;
	}
	return j == len;
}

static __always_inline __u32 bucket_of(__u64 h)
{
	return (__u32)((h >> 20) & gen_mask);
}

static __always_inline __u32 set_of(__u64 h)
{
	return (__u32)(h & set_mask);
}

/* ---------------------------------------------------------------------- */
/* Invalidation                                                            */

struct conn_ref {
	struct bmc_conn_key key;
	int valid;
	__u32 reqid; /* UDP: 0x10000 | the request's id; TCP: 0 */
};

/* A zeroed connection record (too big for the BPF stack). */
static __always_inline struct bmc_conn *conn_create(struct bmc_conn_key *k)
{
	__u32 zero = 0;
	struct xdp_scratch *sc = bpf_map_lookup_elem(&xdp_scratch, &zero);

	if (!sc)
		return NULL;
	__builtin_memset(sc->fresh, 0, sizeof(sc->fresh));
	bpf_map_update_elem(&conns, k, sc->fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&conns, k);
}

/*
 * Remember a write in flight on the client's connection: either bucket b,
 * or (b == ~0) a global pending unit. Returns 0 when it is remembered.
 */
static __always_inline int pend_add(struct conn_ref *cr, __u32 b)
{
	struct bmc_conn_key key;
	struct bmc_conn *c;
	struct bmc_state *st;
	__u32 zero = 0;

	if (!cr->valid)
		return -1;
	/* On the stack: older verifiers (6.1) refuse a global function's
	 * pointer argument (PTR_TO_MEM) as a map key. */
	key = cr->key;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		/* UDP clients, or TCP connections we never saw open. */
		c = conn_create(&key);
		if (!c)
			return -1;
	}
	if (b != ~0U) {
		struct bmc_bucket *bk = bpf_map_lookup_elem(&buckets, &b);
		int stored = 0;

		if (!bk)
			return -1;
		__sync_fetch_and_add(&bk->pending, 1);
		bk->pend_ts = now_ns();
		bpf_spin_lock(&c->lock);
		if (c->npend < BMC_PEND_MAX) {
			c->pend[c->npend & (BMC_PEND_MAX - 1)] = b;
			c->preq[c->npend & (BMC_PEND_MAX - 1)] = cr->reqid;
			c->npend++;
			stored = 1;
		}
		bpf_spin_unlock(&c->lock);
		if (stored)
			return 0;
		/* List full: give the bucket back, hold a global unit. */
		__sync_fetch_and_add(&bk->pending, -1);
	}
	st = bpf_map_lookup_elem(&state, &zero);
	if (!st)
		return -1;
	__sync_fetch_and_add(&st->pending, 1);
	st->pend_ts = now_ns();
	bpf_spin_lock(&c->lock);
	c->gpend++;
	bpf_spin_unlock(&c->lock);
	return 0;
}

/* A write we could not attribute to keys: flush, pending globally. */
__noinline int bmc_flush_pending(struct conn_ref *cr)
{
	if (cr)
		pend_add(cr, ~0U);
	flush_all();
	return 0;
}

static __always_inline void flush_conservative(struct conn_ref *cr)
{
	bmc_flush_pending(cr);
}

enum exp_kind {
	EXP_SET,   /* set: the new exptime */
	EXP_COND,  /* add/replace/cas: may fail: earlier of old and new */
	EXP_KEEP,  /* append/prepend/incr/decr: unchanged */
	EXP_DEL,   /* delete, meta commands: unknown from now on */
	EXP_TOUCH, /* touch/gat/gats: the new exptime */
};

/* memcached exptime -> CLOCK_MONOTONIC deadline, conservatively early. */
static __always_inline __u64 exptime_deadline(__s64 e, __u64 now)
{
	__s64 rel;

	if (e == 0)
		return NEVER;
	if (e < 0)
		return 0;
	if (e > 9000000000LL)
		return NEVER; /* centuries away */
	if (e <= 60 * 60 * 24 * 30) {
		rel = e * (__s64)NS;
	} else {
		__s64 wall = (__s64)now + realtime_off_ns;

		rel = e * (__s64)NS - wall;
	}
	if (rel <= (__s64)EXP_MARGIN)
		return 0;
	return now + (__u64)rel - EXP_MARGIN;
}

static __always_inline void exp_update(__u64 h, enum exp_kind kind, __s64 e)
{
	struct bmc_exp *old, nv;

	if (kind == EXP_KEEP)
		return;
	if (kind == EXP_DEL) {
		bpf_map_delete_elem(&exps, &h);
		return;
	}
	nv.deadline = exptime_deadline(e, now_ns());
	if (kind == EXP_COND) {
		old = bpf_map_lookup_elem(&exps, &h);
		if (!old) {
			/* The key may predate us with an unknown expiry. */
			bpf_map_delete_elem(&exps, &h);
			return;
		}
		if (old->deadline < nv.deadline)
			nv.deadline = old->deadline;
	}
	bpf_map_update_elem(&exps, &h, &nv, BPF_ANY);
}

/* Invalidate key hash h (see the consistency notes at the top). */
__noinline int bmc_invalidate(struct conn_ref *cr, __u64 h, int kind, __s64 e)
{
	struct bmc_state *st = get_state();
	__u32 b = bucket_of(h), base = set_of(h) * BMC_WAYS;
	struct bmc_bucket *bk;

	if (!st || !cr)
		return 0;
	if (pend_add(cr, b)) {
		/* Cannot remember it: nothing would end it, flush instead. */
		flush_all();
	}
	bk = bpf_map_lookup_elem(&buckets, &b);
	if (bk)
		atomic_max(&bk->gen, next_seq(st));
	else
		flush_all();
	exp_update(h, kind, e);

	for (__u32 w = 0; w < BMC_WAYS; w++) {
		__u32 idx = base + w;
		struct bmc_entry *ent = bpf_map_lookup_elem(&cache, &idx);
		int hit = 0;

		if (!ent || ent->hash != h)
			continue;
		bpf_spin_lock(&ent->lock);
		if (ent->valid && ent->hash == h) {
			ent->valid = 0;
			hit = 1;
		}
		bpf_spin_unlock(&ent->lock);
		if (hit)
			stat_inc(S_INVAL);
	}
	return 0;
}

static __always_inline void invalidate(struct conn_ref *cr, __u64 h,
				       enum exp_kind kind, __s64 e)
{
	bmc_invalidate(cr, h, kind, e);
}

/* ---------------------------------------------------------------------- */
/* Text protocol parsing over a scratch buffer (REQ_BUF-masked indexes)    */

#define C8(a, b, c, d, e, f, g, h)                                            \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 |             \
	 (__u64)(h) << 56)

/* First up to 8 bytes of a token as a little-endian number. */
static __always_inline __u64 tok8(struct textbuf *tb, __u32 off, __u32 len)
{
	__u64 v = 0;

	for (__u32 i = 0; i < 8; i++) {
		if (i >= len)
			break;
		v |= (__u64)tb->b[(off + i) & REQ_MASK] << (8 * i);
	}
	return v;
}

/* Next space-separated token in [*pos, end); returns its length. */
static __always_inline __u32 next_tok(struct textbuf *tb, __u32 *pos, __u32 end,
				      __u32 *start)
{
	__u64 r = bmc_tok(tb, *pos, end);

	*start = (__u32)(r >> 32);
	*pos = *start + (__u32)r;
	return (__u32)r;
}

static __always_inline int parse_num(struct textbuf *tb, __u32 off, __u32 len,
				     __s64 *out)
{
	__s64 v = bmc_num(tb, off, len);

	if (v == NUM_BAD)
		return -1;
	*out = v;
	return 0;
}

enum parse_status {
	P_OK,	    /* ended exactly at a command boundary */
	P_SKIP,	    /* ended inside a value: ctx.skip bytes remain */
	P_LINE,	    /* ended inside a command line starting at sc->pos */
	P_BAD,	    /* cannot tell: caller flushes and loses sync */
	P_SKIPLINE, /* ended inside a long get line */
};

struct parse_ctx {
	__u32 skip;
	__u32 status;
	struct conn_ref cr;
};

static __always_inline void inval_key(struct parse_ctx *pc, struct textbuf *tb,
				      __u32 off, __u32 len, enum exp_kind kind,
				      __s64 e)
{
	if (len == 0 || len > BMC_MAX_KEY) {
		/* memcached refuses it, but do not trust that: flush. */
		flush_conservative(&pc->cr);
		return;
	}
	invalidate(&pc->cr, key_hash(tb, off, len), kind, e);
}

/*
 * One command line of the text protocol; returns 1 to stop. A global
 * function, so parse_stream's loop costs the verifier one pass over it
 * (as bpf_loop's callback did, without needing 5.17).
 */
__noinline int bmc_parse_one(struct parse_ctx *pc)
{
	__u32 zero = 0, pos, len, end, lend, p, ts, tl;
	struct xdp_scratch *sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	struct textbuf *tb;
	const __u8 *buf;
	__u64 cmd;
	__s64 n, e = 0;
	int found = 0;

	if (!pc)
		return 1;
	if (!sc) {
		pc->status = P_BAD;
		return 1;
	}
	tb = &sc->req;
	buf = sc->req.b;
	pos = *(volatile __u32 *)&sc->pos;
	len = *(volatile __u32 *)&sc->len;
	if (pos >= len) {
		pc->status = P_OK;
		return 1;
	}
	/* Binary protocol: 24-byte header, body length at offset 8. */
	if (buf[pos & REQ_MASK] == 0x80) {
		__u8 op;
		__u32 body;

		if (pos + 24 > len) {
			pc->status = P_LINE; /* a cut header: kept for later */
			return 1;
		}
		op = buf[(pos + 1) & REQ_MASK];
		body = (__u32)buf[(pos + 8) & REQ_MASK] << 24 |
		       (__u32)buf[(pos + 9) & REQ_MASK] << 16 |
		       (__u32)buf[(pos + 10) & REQ_MASK] << 8 |
		       buf[(pos + 11) & REQ_MASK];
		/* get, getq, getk, getkq, noop, version, stat: read-only. */
		if (!(op == 0x00 || op == 0x09 || op == 0x0c || op == 0x0d ||
		      op == 0x0a || op == 0x0b || op == 0x10))
			flush_conservative(&pc->cr);
		if (body > 0x7fffffff) {
			pc->status = P_BAD;
			return 1;
		}
		pos += 24 + body;
		if (pos > len) {
			pc->skip = pos - len;
			pc->status = P_SKIP;
			return 1;
		}
		sc->pos = pos;
		return 0;
	}
	/* Find the end of the line. */
	end = bmc_eol(tb, pos, len);
	if (end != EOL_PARTIAL && end != EOL_LONG)
		found = 1;
	if (end == EOL_PARTIAL) {
		/* Cut by the end of the data: the caller keeps [pos, len). */
		pc->status = P_LINE;
		return 1;
	}
	if (!found) {
		__u32 q = pos + LINE_MAX_;

		/* Longer than any write we know: only a long get is fine. */
		p = pos;
		tl = next_tok(tb, &p, len, &ts);
		cmd = tok8(tb, ts, tl);
		if (!((tl == 3 && cmd == C8('g', 'e', 't', 0, 0, 0, 0, 0)) ||
		      (tl == 4 && cmd == C8('g', 'e', 't', 's', 0, 0, 0, 0)))) {
			pc->status = P_BAD;
			return 1;
		}
#pragma clang loop unroll(disable)
		for (int k = 0; k < REQ_BUF / LINE_MAX_ + 1; k++) {
			end = bmc_eol(tb, q, len);
			if (end != EOL_LONG)
				break;
			q += LINE_MAX_;
		}
		if (end == EOL_PARTIAL || end == EOL_LONG) {
			pc->status = P_SKIPLINE;
			return 1;
		}
		sc->pos = end + 1;
		return 0;
	}
	lend = end;
	if (lend > pos && buf[(lend - 1) & REQ_MASK] == '\r')
		lend--;
	sc->pos = end + 1;
	p = pos;
	tl = next_tok(tb, &p, lend, &ts);
	if (tl == 0)
		return 0; /* empty line: memcached says ERROR */
	cmd = tok8(tb, ts, tl);

	if ((tl == 3 && (cmd == C8('s', 'e', 't', 0, 0, 0, 0, 0) ||
			 cmd == C8('a', 'd', 'd', 0, 0, 0, 0, 0) ||
			 cmd == C8('c', 'a', 's', 0, 0, 0, 0, 0))) ||
	    (tl == 7 && (cmd == C8('r', 'e', 'p', 'l', 'a', 'c', 'e', 0) ||
			 cmd == C8('p', 'r', 'e', 'p', 'e', 'n', 'd', 0))) ||
	    (tl == 6 && cmd == C8('a', 'p', 'p', 'e', 'n', 'd', 0, 0))) {
		/* <cmd> <key> <flags> <exptime> <bytes> [cas] [noreply] */
		__u32 ks, kl, fs, fl, es, el, bs, bl;
		enum exp_kind kind = EXP_COND;

		if (cmd == C8('s', 'e', 't', 0, 0, 0, 0, 0))
			kind = EXP_SET;
		else if (tl == 6 ||
			 cmd == C8('p', 'r', 'e', 'p', 'e', 'n', 'd', 0))
			kind = EXP_KEEP;
		kl = next_tok(tb, &p, lend, &ks);
		fl = next_tok(tb, &p, lend, &fs);
		el = next_tok(tb, &p, lend, &es);
		bl = next_tok(tb, &p, lend, &bs);
		if (parse_num(tb, es, el, &e) || parse_num(tb, bs, bl, &n) ||
		    n < 0 || n > 0x7fffff00 || fl == 0) {
			/* memcached answers an error and swallows... or not. */
			inval_key(pc, tb, ks, kl, EXP_DEL, 0);
			pc->status = P_BAD;
			return 1;
		}
		inval_key(pc, tb, ks, kl, kind, e);
		pos = end + 1 + (__u32)n + 2;
		if (pos > len) {
			pc->skip = pos - len;
			pc->status = P_SKIP;
			return 1;
		}
		if (buf[(pos - 2) & REQ_MASK] != '\r' ||
		    buf[(pos - 1) & REQ_MASK] != '\n') {
			pc->status = P_BAD; /* bad data chunk */
			return 1;
		}
		sc->pos = pos;
		return 0;
	}
	if ((tl == 6 && cmd == C8('d', 'e', 'l', 'e', 't', 'e', 0, 0)) ||
	    (tl == 4 && (cmd == C8('i', 'n', 'c', 'r', 0, 0, 0, 0) ||
			 cmd == C8('d', 'e', 'c', 'r', 0, 0, 0, 0)))) {
		__u32 ks, kl = next_tok(tb, &p, lend, &ks);

		inval_key(pc, tb, ks, kl, tl == 6 ? EXP_DEL : EXP_KEEP, 0);
		return 0;
	}
	if (tl == 5 && cmd == C8('t', 'o', 'u', 'c', 'h', 0, 0, 0)) {
		__u32 ks, kl = next_tok(tb, &p, lend, &ks), es, el;

		el = next_tok(tb, &p, lend, &es);
		if (parse_num(tb, es, el, &e))
			inval_key(pc, tb, ks, kl, EXP_DEL, 0);
		else
			inval_key(pc, tb, ks, kl, EXP_TOUCH, e);
		return 0;
	}
	if ((tl == 3 && cmd == C8('g', 'a', 't', 0, 0, 0, 0, 0)) ||
	    (tl == 4 && cmd == C8('g', 'a', 't', 's', 0, 0, 0, 0))) {
		__u32 es, el = next_tok(tb, &p, lend, &es);
		enum exp_kind kind = EXP_TOUCH;

		if (parse_num(tb, es, el, &e))
			kind = EXP_DEL;
#pragma clang loop unroll(disable)
		for (int k = 0; k < MAX_GAT_KEYS; k++) {
			__u32 ks, kl = next_tok(tb, &p, lend, &ks);

			if (kl == 0)
				return 0;
			inval_key(pc, tb, ks, kl, kind, e);
		}
		flush_conservative(&pc->cr);
		return 0;
	}
	if (tl == 9 && cmd == C8('f', 'l', 'u', 's', 'h', '_', 'a', 'l')) {
		__u32 ds, dl = next_tok(tb, &p, lend, &ds);
		__s64 d = 0;

		flush_conservative(&pc->cr);
		if (dl && !parse_num(tb, ds, dl, &d) && d > 0) {
			struct bmc_state *st = get_state();
			__u64 at = exptime_deadline(d, now_ns());

			if (st)
				st->flush_at = at ? at : now_ns();
		}
		return 0;
	}
	/* Meta commands: key is the second token; ms carries data. */
	if (tl == 2 && (cmd == C8('m', 's', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'g', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'd', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'a', 0, 0, 0, 0, 0, 0))) {
		__u32 ks, kl = next_tok(tb, &p, lend, &ks), ds, dl, q, fs, fl;
		int b64 = 0;

		dl = 0;
		ds = 0;
		q = p;
		if (cmd == C8('m', 's', 0, 0, 0, 0, 0, 0))
			dl = next_tok(tb, &q, lend, &ds);
			/* A 'b' flag means a base64 key: we cannot hash it. */
#pragma clang loop unroll(disable)
		for (int k = 0; k < 16; k++) {
			fl = next_tok(tb, &q, lend, &fs);
			if (fl == 0)
				break;
			if (buf[fs & REQ_MASK] == 'b')
				b64 = 1;
		}
		if (b64)
			flush_conservative(&pc->cr);
		else if (cmd != C8('m', 'g', 0, 0, 0, 0, 0, 0) || kl)
			inval_key(pc, tb, ks, kl,
				  cmd == C8('m', 'a', 0, 0, 0, 0, 0, 0)
					  ? EXP_KEEP
					  : EXP_DEL,
				  0);
		if (cmd == C8('m', 's', 0, 0, 0, 0, 0, 0)) {
			if (parse_num(tb, ds, dl, &n) || n < 0 ||
			    n > 0x7fffff00) {
				pc->status = P_BAD;
				return 1;
			}
			pos = end + 1 + (__u32)n + 2;
			if (pos > len) {
				pc->skip = pos - len;
				pc->status = P_SKIP;
				return 1;
			}
			sc->pos = pos;
		}
		return 0;
	}
	/* Read-only commands. */
	if ((tl == 3 && cmd == C8('g', 'e', 't', 0, 0, 0, 0, 0)) ||
	    (tl == 4 && cmd == C8('g', 'e', 't', 's', 0, 0, 0, 0)) ||
	    (tl == 5 && cmd == C8('s', 't', 'a', 't', 's', 0, 0, 0)) ||
	    (tl == 7 && cmd == C8('v', 'e', 'r', 's', 'i', 'o', 'n', 0)) ||
	    (tl == 9 && cmd == C8('v', 'e', 'r', 'b', 'o', 's', 'i', 't')) ||
	    (tl == 4 && cmd == C8('q', 'u', 'i', 't', 0, 0, 0, 0)) ||
	    (tl == 2 && (cmd == C8('m', 'n', 0, 0, 0, 0, 0, 0) ||
			 cmd == C8('m', 'e', 0, 0, 0, 0, 0, 0))))
		return 0;
	/* Unknown: memcached may do anything we do not model. */
	flush_conservative(&pc->cr);
	return 0;
}

/*
 * Parses buf[start, len) of xdp_scratch.req as a command stream and
 * invalidates what it writes. Returns an enum parse_status.
 */
static __always_inline int parse_stream(__u32 start, __u32 len,
					struct conn_ref *cr, __u32 *skip)
{
	struct parse_ctx pc = {
		.status = P_BAD,
	};
	__u32 zero = 0;
	struct xdp_scratch *sc = bpf_map_lookup_elem(&xdp_scratch, &zero);

	if (!sc)
		return P_BAD;
	sc->pos = start;
	sc->len = len;
	pc.cr = *cr;
	pc.status = 0xff;
#pragma clang loop unroll(disable)
	for (int k = 0; k < MAX_CMDS; k++)
		if (bmc_parse_one(&pc))
			break;
	if (pc.status == 0xff)
		pc.status = P_BAD; /* too many commands: give up */
	*skip = pc.skip;
	return (int)pc.status;
}

/* ---------------------------------------------------------------------- */
/* XDP                                                                     */

struct pkt {
	void *data;
	void *data_end;
	__u32 l3;  /* offset of the IP header */
	__u32 l4;  /* offset of the TCP/UDP header */
	__u32 end; /* offset of the end of the IP datagram */
	__u8 v6;
	__u8 proto;
	__u8 simple; /* no IP options or extension headers, no fragment */
	__u8 frag;   /* non-first fragment: no L4 header here */
	__u8 miss;   /* a get miss: counted as such, not as a pass */
};

static __always_inline void conn_key_from(struct bmc_conn_key *k,
					  const __u32 *saddr, int v6,
					  __u16 sport, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->addr[0] = saddr[0];
	if (v6) {
		k->addr[1] = saddr[1];
		k->addr[2] = saddr[2];
		k->addr[3] = saddr[3];
	}
	k->port = sport;
	k->proto = proto;
}

/*
 * Before Linux 5.18 there is no bpf_xdp_load_bytes or bpf_xdp_store_bytes
 * (bmc-attach clears xdp_bytes): the packet is then read and written
 * directly, all of it in the linear buffer (multi-buffer XDP came with the
 * same release). The verifier drops whichever branch xdp_bytes rules out,
 * so neither costs anything at run time where the other is used.
 */
#define PKT_OFF_MAX 0x3fff /* direct access wants a bounded offset */

/* Packet [off, off + len) to tb->b[at, at + len). */
__noinline int bmc_pkt_load(struct xdp_md *ctx, __u32 off, struct textbuf *tb,
			    __u32 at, __u32 len)
{
	__u8 *p, *end;
	__u64 t;

	if (!tb || off > PKT_OFF_MAX || at > REQ_BUF || len > REQ_BUF - 8)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	end = (__u8 *)(long)ctx->data_end;
#pragma clang loop unroll(disable)
	for (__u32 j = 0; j < REQ_BUF - 8; j += 8) {
		if (j + 8 > len)
			break;
		if (p + j + 8 > end)
			return -1;
		*(__u64 *)&tb->b[(at + j) & REQ_MASK] = *(__u64 *)(p + j);
	}
	/*
	 * The last 8 bytes again, ending exactly at len, or byte by byte.
	 * t is tested where it is used (see CHECK_LEN): len < 8 wraps it.
	 */
	t = (__u64)len - 8;
	barrier_var(t);
	if (t <= REQ_BUF - 16) {
		if (p + t + 8 > end)
			return -1;
		*(__u64 *)&tb->b[(at + t) & REQ_MASK] = *(__u64 *)(p + t);
		return 0;
	}
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 8; i++) {
		if (i >= len)
			break;
		if (p + i + 1 > end)
			return -1;
		tb->b[(at + i) & REQ_MASK] = p[i];
	}
	return 0;
}

/* sl->blob[0, len) to the packet at off. */
__noinline int bmc_pkt_store(struct xdp_md *ctx, __u32 off, struct slot *sl,
			     __u32 len)
{
	__u8 *p, *end;
	__u64 t;

	if (!sl || off > PKT_OFF_MAX)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	end = (__u8 *)(long)ctx->data_end;
#pragma clang loop unroll(disable)
	for (__u32 j = 0; j < BMC_BLOB_MAX + 5; j += 8) {
		if (j + 8 > len)
			break;
		if (p + j + 8 > end)
			return -1;
		*(__u64 *)(p + j) = *(__u64 *)&sl->blob[j];
	}
	/*
	 * Only here: tested on entry, 6.1 would walk the loop's exit with
	 * len >= 1288 and <= 1285 and lose track of p.
	 */
	if (len > BMC_BLOB_MAX + 5)
		return -1;
	t = (__u64)len - 8; /* as in bmc_pkt_load */
	barrier_var(t);
	if (t <= BMC_BLOB_MAX + 5 - 8) {
		if (p + t + 8 > end)
			return -1;
		*(__u64 *)(p + t) = *(__u64 *)&sl->blob[t];
		return 0;
	}
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 8; i++) {
		if (i >= len)
			break;
		if (p + i + 1 > end)
			return -1;
		p[i] = sl->blob[i];
	}
	return 0;
}

/* A header of constant size n at off into dst. */
static __always_inline int xdp_load(struct xdp_md *ctx, __u32 off, void *dst,
				    __u32 n)
{
	__u8 *p;

	if (xdp_bytes)
		return bpf_xdp_load_bytes(ctx, off, dst, n);
	barrier_var(off);
	if (off > PKT_OFF_MAX)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	if (p + n > (__u8 *)(long)ctx->data_end)
		return -1;
	__builtin_memcpy(dst, p, n);
	return 0;
}

/* Checksum helpers: sums over memory-order 16-bit words. */
static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Copies the first `len` bytes (rounded up to 64) of a cache blob, 64
 * bytes a step: an entry and a per-CPU slot share BMC_BLOB_MAX. */
static __always_inline void copy_blob(__u8 *dst, const __u8 *src, __u32 len)
{
#pragma clang loop unroll(disable)
	for (__u32 c = 0; c < BMC_BLOB_MAX / 64; c++) {
		__u64 *d = (__u64 *)&dst[c * 64];
		const __u64 *from = (const __u64 *)&src[c * 64];

		if (c * 64 >= len)
			break;
		d[0] = from[0];
		d[1] = from[1];
		d[2] = from[2];
		d[3] = from[3];
		d[4] = from[4];
		d[5] = from[5];
		d[6] = from[6];
		d[7] = from[7];
	}
}

static __always_inline __u16 swab16(__u16 v)
{
	return (__u16)((v << 8) | (v >> 8));
}

/*
 * Looks key tb[ko, ko+kl) up and copies its entry to sl under the entry's
 * lock (no torn values). 1: valid hit, 2: expired, 0: miss.
 */
__noinline int bmc_lookup(struct slot *sl, struct textbuf *tb, __u32 ko,
			  __u32 kl, __u64 now)
{
	struct bmc_state *st = get_state();
	struct bmc_bucket *bk;
	__u32 b, base;
	__u64 h;

	if (!sl || !tb || !st)
		return 0;
	h = sl->hash; /* bmc_key hashed the key while finding it */
	b = bucket_of(h);
	bk = bpf_map_lookup_elem(&buckets, &b);
	if (!bk)
		return 0;
	base = set_of(h) * BMC_WAYS;
#pragma clang loop unroll(disable)
	for (__u32 w = 0; w < BMC_WAYS; w++) {
		__u32 idx = base + w, blen;
		struct bmc_entry *e = bpf_map_lookup_elem(&cache, &idx);
		__u64 stamp = 0, deadline = 0, filled = 0;
		__u32 s1;
		int ok = 0;

		if (!e || e->hash != h)
			continue;
		/*
		 * Seqlock read: fills rewrite an entry under its spin lock
		 * with e->seq odd; a copy taken while seq moved is thrown
		 * away (a miss: memcached answers). The atomic adds on a
		 * per-CPU word are full barriers between the reads.
		 */
		s1 = *(volatile __u32 *)&e->seq;
		__sync_fetch_and_add(&sl->fence, 1);
		if (s1 & 1)
			return 0;
		if (e->valid && e->hash == h && e->key_len == kl) {
			blen = e->blob_len;
			stamp = e->stamp;
			deadline = e->deadline;
			filled = e->filled;
			sl->csum = e->csum;
			if (blen > BMC_BLOB_MAX)
				blen = BMC_BLOB_MAX;
			sl->len = blen;
			copy_blob(sl->blob, e->blob, blen);
			ok = 1;
		}
		__sync_fetch_and_add(&sl->fence, 1);
		if (*(volatile __u32 *)&e->seq != s1)
			return 0; /* torn: a fill ran meanwhile */
		if (!ok)
			continue;
		/* Full key comparison: never serve by hash alone. */
		if (!bmc_keyeq(sl, tb, ko, kl))
			continue;
		if (stamp < bk->gen || stamp < st->flushed)
			return 0; /* invalidated: a miss */
		/* The clock only when something can expire. */
		if ((deadline != NEVER || st->flush_at) && !now)
			now = now_ns();
		if (now >= deadline || (st->flush_at && now >= st->flush_at &&
					filled < st->flush_at))
			return 2;
		return 1;
	}
	return 0;
}

/*
 * GET hit path. The request is in sc->req[0, plen): 8-byte frame header,
 * then "get k1 k2...\r\n" and nothing else. Returns XDP_TX after rewriting
 * the packet, or -1 (miss: nothing touched), or -2 (not a plain get).
 */
static __always_inline int try_hit(struct xdp_md *ctx, struct pkt *pk,
				   struct xdp_scratch *sc, __u32 plen)
{
	__u32 koff[BMC_MAX_KEYS], klen[BMC_MAX_KEYS];
	__u32 nkeys = 0, pos = OPAQUE(sc, 12), total = 0;
	struct bmc_state *st = get_state();
	__u64 now, sum;
	int delta, head = 0;
	__u8 *hb = sc->hb;

	if (!st)
		return -2;
	plen = OPAQUE(sc, plen);
	/* Keys: "get" (SP+ key)+ SP* CR? LF, at the end of the datagram. */
#pragma clang loop unroll(disable)
	for (int k = 0; k < BMC_MAX_KEYS + 1; k++) {
		__u64 r = bmc_key(&sc->req, pos, plen,
				  &sc->slots[k & (BMC_MAX_KEYS - 1)]);
		__u32 s = (__u32)(r >> 32), l = (__u32)r;

		pos = s + l;
		if (l == 0)
			break;
		if (l > BMC_MAX_KEY || k >= BMC_MAX_KEYS)
			return -2; /* memcached's business (error or many) */
		koff[k & (BMC_MAX_KEYS - 1)] = s;
		klen[k & (BMC_MAX_KEYS - 1)] = l;
		nkeys = k + 1;
	}
	if (nkeys == 0)
		return -2;
	if (pos < plen && sc->req.b[pos & REQ_MASK] == '\r')
		pos++;
	if (pos >= plen || sc->req.b[pos & REQ_MASK] != '\n' || pos + 1 != plen)
		return -2;

	now = 0; /* read lazily by bmc_lookup */
		 /* Look every key up; copy hits to per-CPU slots. */
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		__u32 ko, kl;
		int hit;
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];

		if (k >= nkeys)
			break;
		ko = koff[k & (BMC_MAX_KEYS - 1)];
		kl = klen[k & (BMC_MAX_KEYS - 1)];
		hit = bmc_lookup(sl, &sc->req, ko, kl, now);
		if (hit == 2)
			stat_inc(S_EXPIRED);
		hit = hit == 1;
		if (!hit)
			return -1;
		total += sl->len;
	}
	/* memcached would split a longer reply over datagrams. */
	if (total + 8 + 5 > BMC_UDP_MAX)
		return -1;

	/* Resize: headers + 8-byte frame header + blobs + "END\r\n". */
	delta = (int)(pk->l4 + 8 + 8 + total + 5) -
		(int)((long)pk->data_end - (long)pk->data);
	/* Keep the headers: growing at the head moves the packet start. */
	{
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;

		if (pk->v6) {
			if (d + 14 + 40 + 8 > de)
				return -1;
			__builtin_memcpy(hb, d, 14 + 40 + 8);
		} else {
			if (d + 14 + 20 + 8 > de)
				return -1;
			__builtin_memcpy(hb, d, 14 + 20 + 8);
		}
	}
	/*
	 * Grow at the tail if the buffer has room, else at the head (veth
	 * copies frames into buffers sized to fit, with only the XDP
	 * headroom spare), else both. Failed attempts change nothing.
	 */
	if (bpf_xdp_adjust_tail(ctx, delta)) {
		static const int hs[3] = {192, 128, 64};
		int ok = 0;

		if (delta > 0 && !bpf_xdp_adjust_head(ctx, -delta)) {
			head = delta;
			ok = 1;
		}
		for (int i = 0; i < 3 && !ok; i++) {
			if (hs[i] >= delta || bpf_xdp_adjust_head(ctx, -hs[i]))
				continue;
			if (!bpf_xdp_adjust_tail(ctx, delta - hs[i])) {
				head = hs[i];
				ok = 1;
			} else {
				bpf_xdp_adjust_head(ctx, hs[i]); /* undo */
			}
		}
		if (!ok)
			return -3; /* no room: memcached answers */
	}
	if (head > 0) {
		/* Headers saved before the resize go to the new start. */
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;

		if (d + 14 + 40 + 8 > de)
			return XDP_ABORTED;
		if (pk->v6)
			__builtin_memcpy(d, hb, 14 + 40 + 8);
		else
			__builtin_memcpy(d, hb, 14 + 20 + 8);
	}

	{
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct ethhdr *eth = data;
		struct udphdr *udp;
		__u8 mac[6];
		__u32 off, ulen = 8 + 8 + total + 5;
		__u16 tmp, hdr[4];
		__u64 s;

		if ((void *)(eth + 1) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(mac, eth->h_source, 6);
		__builtin_memcpy(eth->h_source, eth->h_dest, 6);
		__builtin_memcpy(eth->h_dest, mac, 6);
		sum = 0;
		if (!pk->v6) {
			struct iphdr *ip = (void *)(eth + 1);
			__u32 a;
			__u16 *w;

			if ((void *)(ip + 1) > data_end)
				return XDP_ABORTED;
			udp = (void *)(ip + 1);
			if ((void *)(udp + 1) > data_end)
				return XDP_ABORTED;
			a = ip->saddr;
			ip->saddr = ip->daddr;
			ip->daddr = a;
			ip->tot_len = bpf_htons(20 + ulen);
			ip->ttl = 64;
			ip->frag_off = 0;
			ip->check = 0;
			w = (__u16 *)ip;
			s = 0;
			for (int j = 0; j < 10; j++)
				s += w[j];
			ip->check = ~csum_fold(s);
			/* pseudo header */
			sum += (ip->saddr & 0xffff) + (ip->saddr >> 16) +
			       (ip->daddr & 0xffff) + (ip->daddr >> 16);
		} else {
			struct ipv6hdr *ip6 = (void *)(eth + 1);
			struct in6_addr a;
			__u16 *w;

			if ((void *)(ip6 + 1) > data_end)
				return XDP_ABORTED;
			udp = (void *)(ip6 + 1);
			if ((void *)(udp + 1) > data_end)
				return XDP_ABORTED;
			a = ip6->saddr;
			ip6->saddr = ip6->daddr;
			ip6->daddr = a;
			ip6->payload_len = bpf_htons(ulen);
			ip6->hop_limit = 64;
			w = (__u16 *)&ip6->saddr;
			for (int j = 0; j < 16; j++)
				sum += w[j];
		}
		tmp = udp->source;
		udp->source = udp->dest;
		udp->dest = tmp;
		udp->len = bpf_htons(ulen);
		udp->check = 0;
		sum += bpf_htons(IPPROTO_UDP_) + udp->len + udp->len +
		       udp->source + udp->dest;
		off = pk->l4 + 8;
		/* Frame header: request id echoed, sequence 0, count 1. */
		hdr[0] = *(__u16 *)&sc->req.b[0];
		hdr[1] = 0;
		hdr[2] = bpf_htons(1);
		hdr[3] = 0;
		sum += hdr[0] + hdr[2];
		{
			__u16 *fh = (void *)(udp + 1);

			if ((void *)(fh + 4) > data_end)
				return XDP_ABORTED;
			fh[0] = hdr[0];
			fh[1] = hdr[1];
			fh[2] = hdr[2];
			fh[3] = hdr[3];
		}
		off += 8;
#pragma clang loop unroll(disable)
		for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
			struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];
			__u32 l = sl->len;
			__u64 n;
			__u16 cs;

			if (k >= nkeys)
				break;
			if (l == 0 || l > BMC_BLOB_MAX)
				return XDP_ABORTED;
			cs = csum_fold(sl->csum);
			sum += ((off - pk->l4) & 1) ? swab16(cs) : cs;
			n = l;
			if (k + 1 == nkeys) {
				/* The last value carries END: one store less.
				 */
				sl->blob[l] = 'E';
				sl->blob[l + 1] = 'N';
				sl->blob[l + 2] = 'D';
				sl->blob[l + 3] = '\r';
				sl->blob[l + 4] = '\n';
				n = l + 5;
			}
			CHECK_LEN(n, BMC_BLOB_MAX + 5, return XDP_ABORTED);
			if (xdp_bytes
				    ? bpf_xdp_store_bytes(ctx, off, sl->blob, n)
				    : bmc_pkt_store(ctx, off, sl, n))
				return XDP_ABORTED;
			off += l;
		}
		/* "END\r\n" as 16-bit words at even or odd offset. */
		{
			__u16 ce = csum_fold((__u64)(__u16)('E' | 'N' << 8) +
					     (__u16)('D' | '\r' << 8) +
					     (__u16)('\n'));
			sum += ((off - pk->l4) & 1) ? swab16(ce) : ce;
		}
		/* Pointers are stale after the stores: find udp again. */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + pk->l4 + 8 > data_end)
			return XDP_ABORTED;
		udp = data + (pk->v6 ? 14 + 40 : 14 + 20);
		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		tmp = ~csum_fold(sum);
		udp->check = tmp ? tmp : 0xffff;
	}
	return XDP_TX;
}

/* Record a missed GET so its reply may fill (keeps the oldest snapshot). */
static __always_inline void record_miss(struct pkt *pk, const __u32 *saddr,
					__u16 sport, __u16 reqid)
{
	struct bmc_state *st = get_state();
	struct bmc_req_key k = {};
	__u64 s;

	if (!st)
		return;
	s = *(volatile __u64 *)&st->seq;
	k.addr[0] = saddr[0];
	if (pk->v6) {
		k.addr[1] = saddr[1];
		k.addr[2] = saddr[2];
		k.addr[3] = saddr[3];
	}
	k.port = sport;
	k.reqid = reqid;
	bpf_map_update_elem(&reqs, &k, &s, BPF_NOEXIST);
}

static __always_inline int
load_payload(struct xdp_md *ctx, struct xdp_scratch *sc, __u32 off, __u32 len)
{
	__u64 n = len;

	if (!xdp_bytes)
		return bmc_pkt_load(ctx, off, &sc->req, 0, len);
	CHECK_LEN(n, REQ_BUF - 8, return -1);
	return bpf_xdp_load_bytes(ctx, off, sc->req.b, n);
}

/* The payload behind a command line kept from the last TCP segment. */
static __always_inline int load_glued(struct xdp_md *ctx,
				      struct xdp_scratch *sc, __u32 off,
				      __u32 at, __u32 len)
{
	__u64 a = at, n = len;

	if (!xdp_bytes)
		return bmc_pkt_load(ctx, off, &sc->req, at, len);
	/* Bounds again where the helper uses them (see CHECK_LEN). */
	barrier_var(a);
	if (a > BMC_STASH)
		return -1;
	CHECK_LEN(n, REQ_BUF - 8 - BMC_STASH, return -1);
	return bpf_xdp_load_bytes(ctx, off, sc->req.b + a, n);
}

static __always_inline int handle_udp(struct xdp_md *ctx, struct pkt *pk,
				      const __u32 *saddr)
{
	struct udphdr uh;
	struct xdp_scratch *sc;
	struct conn_ref cr = {};
	__u32 zero = 0, plen, skip;
	int st, ret;

	if (pk->simple) {
		/* Fixed offsets: read the UDP header in place. */
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;
		struct udphdr *up = d + (pk->v6 ? 14 + 40 : 14 + 20);

		if ((void *)(up + 1) > de)
			return XDP_PASS;
		uh = *up;
	} else if (xdp_load(ctx, pk->l4, &uh, sizeof(uh))) {
		return XDP_PASS;
	}
	if (uh.dest != port_be)
		return XDP_PASS;
	plen = bpf_ntohs(uh.len);
	conn_key_from(&cr.key, saddr, pk->v6, uh.source, IPPROTO_UDP_);
	cr.valid = 1;
	if (plen < 8 || pk->l4 + plen > pk->end) {
		/* First fragment of a bigger datagram: may hold a write. */
		if (pk->frag)
			flush_conservative(&cr);
		return XDP_PASS; /* else malformed: the stack drops it too */
	}
	plen -= 8;
	if (plen < 8)
		return XDP_PASS; /* no memcached frame header: memcached drops
				  */
	sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	if (!sc || load_payload(ctx, sc, pk->l4 + 8, plen)) {
		/* Too long for us: writes would go unseen. */
		flush_conservative(&cr);
		return XDP_PASS;
	}
	/* memcached echoes the request id: its reply ends this write. */
	cr.reqid = 0x10000 | *(__u16 *)&sc->req.b[0];
	if (plen > 12 && sc->req.b[8] == 'g' && sc->req.b[9] == 'e' &&
	    sc->req.b[10] == 't' && sc->req.b[11] == ' ') {
		stat_inc(S_GETS);
		ret = pk->simple ? try_hit(ctx, pk, sc, plen) : -2;
		if (ret == XDP_TX) {
			stat_inc(S_HITS);
			return XDP_TX;
		}
		if (ret == XDP_ABORTED)
			return XDP_ABORTED; /* cannot happen: bounds proven */
		stat_inc(S_MISSES);
		pk->miss = 1;
		if (ret == -1 || ret == -3) {
			record_miss(pk, saddr, uh.source,
				    *(__u16 *)&sc->req.b[0]);
			return XDP_PASS;
		}
		/* -2: not a single plain get line: parse it as a stream. */
	}
	st = parse_stream(8, plen, &cr, &skip);
	if (st != P_OK)
		flush_conservative(&cr);
	return XDP_PASS;
}

static __always_inline int handle_tcp(struct xdp_md *ctx, struct pkt *pk,
				      const __u32 *saddr)
{
	struct tcphdr th;
	struct bmc_conn_key ck;
	struct bmc_conn *c;
	struct conn_ref cr = {};
	struct xdp_scratch *sc;
	__u32 zero = 0, doff, plen, seq, start = 0, skip = 0, sl, total;
	int st;

	if (xdp_load(ctx, pk->l4, &th, sizeof(th)))
		return XDP_PASS;
	if (th.dest != port_be)
		return XDP_PASS;
	conn_key_from(&ck, saddr, pk->v6, th.source, IPPROTO_TCP_);
	cr.key = ck;
	cr.valid = 1;
	doff = th.doff * 4;
	seq = bpf_ntohl(th.seq);
	if (doff < 20 || pk->l4 + doff > pk->end)
		return XDP_PASS;
	plen = pk->end - pk->l4 - doff;
	c = bpf_map_lookup_elem(&conns, &ck);
	if (th.syn) {
		if (!c) {
			c = conn_create(&ck);
		}
		if (c) {
			c->state = BMC_CONN_SYNCED;
			c->next_seq = seq + 1;
			c->skip = 0;
			c->stash_len = 0;
		}
		if (plen == 0)
			return XDP_PASS;
		seq++;
	}
	if (plen == 0)
		return XDP_PASS;
	if (!c) {
		/* A connection from before we attached: position unknown. */
		c = conn_create(&ck);
		if (!c) {
			flush_all();
			return XDP_PASS;
		}
	}
	if (c->state != BMC_CONN_LOST && seq != c->next_seq) {
		/* Entirely old data (a retransmission) was parsed already. */
		if ((__s32)(seq + plen - c->next_seq) <= 0)
			return XDP_PASS;
		c->state = BMC_CONN_LOST;
	}
	if (c->state == BMC_CONN_LOST) {
		flush_conservative(&cr);
		return XDP_PASS;
	}
	/* Skip the rest of a value that began in an earlier segment. */
	if (c->skip) {
		if (c->skip >= plen) {
			c->skip -= plen;
			c->next_seq = seq + plen;
			return XDP_PASS;
		}
		start = c->skip;
	}
	sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	if (!sc)
		return XDP_PASS;
	sl = c->stash_len;
	if (sl > BMC_STASH || (sl && start) || plen > REQ_BUF - 8 - BMC_STASH) {
		c->state = BMC_CONN_LOST;
		flush_conservative(&cr);
		return XDP_PASS;
	}
	if (sl) {
		/* A line cut at the end of the last segment: glue it back. */
		__builtin_memcpy(sc->req.b, c->stash, BMC_STASH);
		if (load_glued(ctx, sc, pk->l4 + doff, sl, plen)) {
			c->state = BMC_CONN_LOST;
			flush_conservative(&cr);
			return XDP_PASS;
		}
	} else if (load_payload(ctx, sc, pk->l4 + doff, plen)) {
		c->state = BMC_CONN_LOST;
		flush_conservative(&cr);
		return XDP_PASS;
	}
	total = sl + plen;
	if (c->state == BMC_CONN_SKIPLINE) {
		__u32 e = EOL_LONG, q = OPAQUE(sc, start);

		total = OPAQUE(sc, total);
#pragma clang loop unroll(disable)
		for (int k = 0; k < REQ_BUF / LINE_MAX_ + 1; k++) {
			e = bmc_eol(&sc->req, q, total);
			if (e != EOL_LONG)
				break;
			q += LINE_MAX_;
		}
		if (e == EOL_PARTIAL || e == EOL_LONG) {
			c->next_seq = seq + plen; /* still inside the line */
			return XDP_PASS;
		}
		start = e + 1;
		c->state = BMC_CONN_SYNCED;
	}
	st = parse_stream(start, total, &cr, &skip);
	c->next_seq = seq + plen;
	c->skip = 0;
	c->stash_len = 0;
	if (st == P_OK) {
		c->state = BMC_CONN_SYNCED;
	} else if (st == P_SKIP) {
		c->state = BMC_CONN_SYNCED;
		c->skip = skip;
	} else if (st == P_LINE) {
		__u32 ps = *(volatile __u32 *)&sc->pos;

		if (ps < total && total - ps <= BMC_STASH && ps <= REQ_MASK) {
			__builtin_memcpy(c->stash, &sc->req.b[ps], BMC_STASH);
			c->stash_len = total - ps;
			c->state = BMC_CONN_SYNCED;
		} else {
			c->state = BMC_CONN_LOST;
			flush_conservative(&cr);
		}
	} else if (st == P_SKIPLINE) {
		c->state = BMC_CONN_SKIPLINE;
	} else {
		c->state = BMC_CONN_LOST;
		flush_conservative(&cr);
	}
	return XDP_PASS;
}

SEC("xdp")
int bmc_rx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct pkt pk = {};
	__u32 saddr[4] = {};
	int ret = XDP_PASS, vlan = 0, unicast;
	__be16 h_proto;

	if ((void *)(eth + 1) > data_end)
		goto pass;
	pk.data = data;
	pk.data_end = data_end;
	pk.l3 = sizeof(*eth);
	h_proto = eth->h_proto;
	/* VLAN tags: writes inside them count too (no hits: not simple). */
	for (int k = 0; k < 2; k++) {
		struct {
			__be16 tci;
			__be16 proto;
		} *vh = data + pk.l3;

		if (h_proto != bpf_htons(0x8100) &&
		    h_proto != bpf_htons(0x88a8))
			break;
		if ((void *)(vh + 1) > data_end)
			goto pass;
		h_proto = vh->proto;
		pk.l3 += 4;
		vlan = 1;
	}
	/* Only unicast requests get answers from the kernel. */
	unicast = !vlan && !(eth->h_dest[0] & 1);
	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + pk.l3;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end)
			goto pass;
		ihl = ip->ihl * 4;
		tot = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || ihl < 20 || tot < ihl ||
		    pk.l3 + tot > (__u32)(data_end - data))
			goto pass;
		pk.l4 = pk.l3 + ihl;
		pk.end = pk.l3 + tot;
		pk.proto = ip->protocol;
		saddr[0] = ip->saddr;
		if (ip->frag_off & bpf_htons(0x1fff))
			goto pass; /* non-first fragment: no ports here */
		pk.frag = !!(ip->frag_off & bpf_htons(0x2000));
		pk.simple = ihl == 20 && !pk.frag && unicast &&
			    (bpf_ntohl(ip->daddr) >> 28) != 0xe &&
			    ip->daddr != 0xffffffff;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + pk.l3;
		__u8 nh;

		if ((void *)(ip6 + 1) > data_end)
			goto pass;
		pk.v6 = 1;
		pk.l4 = pk.l3 + sizeof(*ip6);
		pk.end = pk.l4 + bpf_ntohs(ip6->payload_len);
		if (pk.end > (__u32)(data_end - data))
			goto pass;
		__builtin_memcpy(saddr, &ip6->saddr, 16);
		nh = ip6->nexthdr;
		pk.simple = unicast && ip6->daddr.in6_u.u6_addr8[0] != 0xff;
		/* Walk a few extension headers to find TCP or UDP. */
		for (int k = 0; k < 4; k++) {
			__u8 eh[2];

			if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
				break;
			pk.simple = 0;
			if (xdp_load(ctx, pk.l4, eh, 2))
				goto pass;
			if (nh == 44) {
				__u16 fo;

				if (xdp_load(ctx, pk.l4 + 2, &fo, 2))
					goto pass;
				if (fo & bpf_htons(0xfff8))
					goto pass; /* non-first fragment */
				pk.frag = 1;
				pk.l4 += 8;
			} else {
				pk.l4 += 8 + eh[1] * 8;
			}
			nh = eh[0];
		}
		pk.proto = nh;
	} else {
		goto pass;
	}
	if (pk.proto == IPPROTO_UDP_) {
		ret = handle_udp(ctx, &pk, saddr);
	} else if (pk.proto == IPPROTO_TCP_) {
		ret = handle_tcp(ctx, &pk, saddr);
	} else if (pk.proto == 0 || pk.proto == 43 || pk.proto == 60 ||
		   pk.proto == 44) {
		/* More extension headers than we walk: might be a write. */
		flush_all();
	}
	if (ret == XDP_TX)
		return XDP_TX;
	if (ret == XDP_ABORTED)
		return XDP_ABORTED;
	if (pk.miss)
		return XDP_PASS;
pass:
	stat_inc(S_PASSES);
	return XDP_PASS;
}

/* ---------------------------------------------------------------------- */
/* TC egress: fills, and the end of pending writes                         */

#define PEND_DEC 0x80000000U /* bmc_bump: also end the bucket's pending */

/* Invalidate bucket v (again); PEND_DEC: it is no longer pending. */
__noinline int bmc_bump(__u32 v)
{
	struct bmc_state *st = get_state();
	__u32 b = v & ~PEND_DEC;
	struct bmc_bucket *bk = bpf_map_lookup_elem(&buckets, &b);

	if (!st || !bk)
		return 0;
	atomic_max(&bk->gen, next_seq(st));
	if (v & PEND_DEC)
		__sync_fetch_and_add(&bk->pending, -1);
	return 0;
}

/*
 * memcached answered on this connection: its earlier writes are applied.
 * UDP (match = 0x10000 | id): the write whose request id the reply echoes
 * ends. TCP (match 0): every pending write stops blocking fills and is
 * invalidated once more now, and again at the next reply: this reply may
 * answer an earlier pipelined command than the write, and the write's own
 * reply then still kills anything filled in between. Writes never
 * answered (noreply) stop blocking fills after BMC_PEND_TTL_NS.
 * A global function: bmc_tx checks it once for both of its callers.
 */
__noinline int bmc_conn_reply(struct bmc_conn_key *ckp, __u32 match,
			      int closing)
{
	struct bmc_conn_key ck;
	struct tc_scratch *sc;
	struct bmc_conn *c;
	struct bmc_state *st;
	__u32 out[BMC_PEND_MAX], ans[BMC_PEND_MAX];
	__u32 n, g, na = 0, no = 0, nk = 0, zero = 0;

	if (!ckp)
		return 0;
	ck = *ckp; /* on the stack: see pend_add */
	sc = bpf_map_lookup_elem(&tc_scratch, &zero);
	c = bpf_map_lookup_elem(&conns, &ck);
	if (!c || !sc)
		return 0;
	bpf_spin_lock(&c->lock);
	n = c->npend;
	if (!match) {
		na = c->nans;
		for (__u32 k = 0; k < BMC_PEND_MAX; k++) {
			/* volatile: no memcpy idiom in BPF */
			*(volatile __u32 *)&ans[k] = c->ans[k];
			*(volatile __u32 *)&out[k] = c->pend[k];
			c->ans[k] = c->pend[k];
		}
		no = n;
		c->nans = closing ? 0 : (__u8)n;
	} else {
		for (__u32 k = 0; k < BMC_PEND_MAX; k++) {
			__u32 b, r;

			if (k >= n)
				break;
			b = c->pend[k];
			r = c->preq[k];
			if (r == match) {
				*(volatile __u32 *)&out[no &
							(BMC_PEND_MAX - 1)] = b;
				no++;
			} else {
				c->pend[nk & (BMC_PEND_MAX - 1)] = b;
				c->preq[nk & (BMC_PEND_MAX - 1)] = r;
				nk++;
			}
		}
	}
	c->npend = nk;
	g = c->gpend;
	c->gpend = 0;
	bpf_spin_unlock(&c->lock);
	/*
	 * Counts the verifier no longer knows: what follows is checked once
	 * instead of once for every way the loops above can end.
	 */
	no = OPAQUE(sc, no);
	na = OPAQUE(sc, na);
	nk = OPAQUE(sc, nk);
	st = get_state();
	if (!st)
		return 0;
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_PEND_MAX; k++) {
		if (k >= no)
			break;
		bmc_bump(out[k & (BMC_PEND_MAX - 1)] | PEND_DEC);
	}
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_PEND_MAX; k++) {
		if (k >= na)
			break;
		bmc_bump(ans[k & (BMC_PEND_MAX - 1)]);
	}
	if (g) {
		atomic_max(&st->flushed, next_seq(st));
		__sync_fetch_and_add(&st->pending, -(__s64)g);
	}
	if (closing && nk == 0)
		bpf_map_delete_elem(&conns, &ck);
	return 0;
}

static __always_inline int tcbuf_num(struct textbuf *tb, __u32 off, __u32 len,
				     __u32 *out)
{
	__s64 v;

	if (parse_num(tb, off, len, &v) || v < 0 || v > 0xffffffffLL)
		return -1;
	*out = (__u32)v;
	return 0;
}

/*
 * Install one value; blob = payload[bs, bs + blen), key at ks, kl long
 * (packed in kb: ks | kl << 16 | bs << 32 | blen << 48).
 */
__noinline int bmc_fill(struct __sk_buff *skb, struct tc_scratch *sc,
			__u32 poff, __u64 kb, __u64 snap)
{
	__u32 ks = kb & 0xffff, kl = (kb >> 16) & 0xffff;
	__u32 bs = (kb >> 32) & 0xffff, blen = kb >> 48;
	struct bmc_state *st = get_state();
	struct bmc_bucket *bk;
	struct bmc_exp *ex;
	__u64 h, deadline, now = now_ns(), best_t = NEVER, n64;
	__u32 b, base, victim = 0, csum = 0, len4;
	int found = -1, evict = 0;

	if (!st || !sc || !skb || blen == 0 || blen > BMC_BLOB_MAX)
		return 0;
	h = key_hash(&sc->buf, ks, kl);
	b = bucket_of(h);
	bk = bpf_map_lookup_elem(&buckets, &b);
	if (!bk)
		return 0;
	/* Order matters: pending first, then generations (see the top). */
	if ((*(volatile __s64 *)&bk->pending > 0 &&
	     now - bk->pend_ts < BMC_PEND_TTL_NS) ||
	    (*(volatile __s64 *)&st->pending > 0 &&
	     now - st->pend_ts < BMC_PEND_TTL_NS) ||
	    *(volatile __u64 *)&bk->gen > snap ||
	    *(volatile __u64 *)&st->flushed > snap) {
		stat_inc(S_STALE);
		return 0;
	}
	ex = bpf_map_lookup_elem(&exps, &h);
	if (ex)
		deadline = ex->deadline;
	else if (max_age_ns)
		deadline = now + max_age_ns;
	else
		return 0; /* unknown expiry and no --max-age: do not cache */
	if (deadline <= now)
		return 0;
	n64 = blen;
	CHECK_LEN(n64, BMC_BLOB_MAX, return 0);
	if (bpf_skb_load_bytes(skb, poff + bs, sc->blob, n64))
		return 0;
	/* Zero-pad to 4 bytes for csum_diff (padding adds nothing). */
	sc->blob[blen] = 0;
	sc->blob[blen + 1] = 0;
	sc->blob[blen + 2] = 0;
	len4 = (blen + 3) & ~3U;
#pragma clang loop unroll(disable)
	for (__u32 c = 0; c < 3; c++) {
		__u32 o = c * 512, n;
		__s64 r;

		if (o >= len4)
			break;
		n = len4 - o;
		if (n > 512)
			n = 512;
		if (n > sizeof(sc->blob) - o)
			n = sizeof(sc->blob) - o;
		r = bpf_csum_diff(NULL, 0, (void *)&sc->blob[o], n, csum);
		if (r < 0)
			return 0;
		csum = (__u32)r;
	}
	base = set_of(h) * BMC_WAYS;
	/* Same key first, then a dead or expired way, then the oldest. */
#pragma clang loop unroll(disable)
	for (__u32 w = 0; w < BMC_WAYS; w++) {
		__u32 idx = base + w;
		struct bmc_entry *e = bpf_map_lookup_elem(&cache, &idx);
		__u32 eb;

		if (!e)
			continue;
		if (e->valid && e->hash == h) {
			found = (int)w;
			break;
		}
		eb = bucket_of(e->hash);
		if (!e->valid || now >= e->deadline) {
			if (best_t != 0) {
				victim = w;
				best_t = 0;
			}
			continue;
		}
		{
			struct bmc_bucket *eg =
				bpf_map_lookup_elem(&buckets, &eb);

			if (!eg || e->stamp < eg->gen ||
			    e->stamp < st->flushed) {
				if (best_t != 0) {
					victim = w;
					best_t = 0;
				}
				continue;
			}
		}
		if (e->filled < best_t) {
			best_t = e->filled;
			victim = w;
		}
	}
	if (found < 0) {
		found = (int)victim;
		evict = best_t != 0;
	}
	{
		__u32 idx = base + (__u32)found;
		struct bmc_entry *e = bpf_map_lookup_elem(&cache, &idx);

		if (!e)
			return 0;
		bpf_spin_lock(&e->lock);
		__sync_fetch_and_add(&e->seq, 1); /* odd: readers back off */
		e->valid = 1;
		e->hash = h;
		e->stamp = snap;
		e->deadline = deadline;
		e->filled = now;
		e->key_len = kl;
		e->csum = csum;
		e->blob_len = blen;
		copy_blob(e->blob, sc->blob, blen);
		__sync_fetch_and_add(&e->seq, 1); /* even again: consistent */
		bpf_spin_unlock(&e->lock);
	}
	if (evict)
		stat_inc(S_EVICT);
	stat_inc(S_FILLS);
	return 0;
}

/* One block of a reply datagram: where it starts, its key and its blob. */
struct reply_val {
	__u32 pos; /* in: where the block starts; out: where the next does */
	__u32 len; /* of the datagram */
	__u32 ks, kl, bs, blen;
};

/*
 * Validates the reply datagram completely (whole VALUE blocks, then END or
 * the end of the datagram, nothing else) and collects the values; fills
 * only if the whole datagram is good. A global function: handle_reply's
 * loop costs the verifier one pass over it.
 */
__noinline int bmc_reply_value(struct tc_scratch *sc, struct reply_val *rv)
{
	__u32 pos, len, end, lend, p, ts, tl, fs, fl, ns, nl, n, x;
	__u32 *ks, *kl;

	if (!sc || !rv)
		return -1;
	pos = rv->pos;
	len = rv->len;
	end = pos;
	ks = &rv->ks;
	kl = &rv->kl;

	if (pos == len)
		return 3; /* memcached 1.6: one datagram per value, END last */
	end = bmc_eol(&sc->buf, pos, len);
	if (end == EOL_PARTIAL || end == EOL_LONG || end == pos ||
	    sc->buf.b[(end - 1) & REQ_MASK] != '\r')
		return -1;
	lend = end - 1;
	p = pos;
	tl = next_tok(&sc->buf, &p, lend, &ts);
	if (tl == 3 &&
	    tok8(&sc->buf, ts, 3) == C8('E', 'N', 'D', 0, 0, 0, 0, 0) &&
	    p == lend && end + 1 == len)
		return 1; /* END, and nothing after it */
	if (tl != 5 ||
	    tok8(&sc->buf, ts, 5) != C8('V', 'A', 'L', 'U', 'E', 0, 0, 0) ||
	    ts != pos)
		return -1;
	*kl = next_tok(&sc->buf, &p, lend, ks);
	fl = next_tok(&sc->buf, &p, lend, &fs);
	nl = next_tok(&sc->buf, &p, lend, &ns);
	/* Exactly "VALUE key flags bytes": a cas field means gets. */
	if (p != lend || *kl == 0 || *kl > BMC_MAX_KEY ||
	    tcbuf_num(&sc->buf, fs, fl, &x) || tcbuf_num(&sc->buf, ns, nl, &n))
		return -1;
	if (*ks != pos + 6 || fs != *ks + *kl + 1 || ns != fs + fl + 1)
		return -1; /* single spaces, as memcached writes them */
	if (n > 0x100000 || end + 1 + n + 2 > len)
		return -1;
	if (sc->buf.b[(end + 1 + n) & REQ_MASK] != '\r' ||
	    sc->buf.b[(end + 2 + n) & REQ_MASK] != '\n')
		return -1;
	rv->bs = pos;
	rv->blen = end + 1 + n + 2 - pos;
	rv->pos = end + 1 + n + 2;
	return n <= BMC_MAX_VALUE ? 0 : 2;
}

static __always_inline int load_reply(struct __sk_buff *skb, __u32 poff,
				      struct tc_scratch *sc, __u32 plen)
{
	__u64 n = plen;

	CHECK_LEN(n, REQ_BUF - 8, return -1);
	return bpf_skb_load_bytes(skb, poff, sc->buf.b, n);
}

static __always_inline void handle_reply(struct __sk_buff *skb, __u32 poff,
					 __u32 plen, __u64 snap)
{
	struct tc_scratch *sc;
	__u64 kb[BMC_MAX_KEYS]; /* packed as bmc_fill takes them: less stack */
	__u32 zero = 0, n = 0;
	struct reply_val rv = {};
	int ok = 0;

	if (plen <= 8 || plen > REQ_BUF - 8)
		return;
	sc = bpf_map_lookup_elem(&tc_scratch, &zero);
	if (!sc)
		return;
	if (load_reply(skb, poff, sc, plen))
		return;
	rv.pos = 8;
	rv.len = plen;
	/* Frame header: sequence 0 of 1 datagram. */
	if (sc->buf.b[2] || sc->buf.b[3] || sc->buf.b[4] || sc->buf.b[5] != 1)
		return;
#pragma clang loop unroll(disable)
	for (int k = 0; k < BMC_MAX_KEYS + 1; k++) {
		int r = bmc_reply_value(sc, &rv);

		if (r < 0)
			return;
		if (r == 1 || r == 3) {
			ok = 1;
			break;
		}
		if (r == 2)
			continue; /* too big to cache: skip it */
		if (n >= BMC_MAX_KEYS)
			return;
		kb[n & (BMC_MAX_KEYS - 1)] = (__u64)rv.ks | (__u64)rv.kl << 16 |
					     (__u64)rv.bs << 32 |
					     (__u64)rv.blen << 48;
		n++;
	}
	if (!ok)
		return;
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		if (k >= n)
			break;
		bmc_fill(skb, sc, poff, kb[k & (BMC_MAX_KEYS - 1)], snap);
	}
}

SEC("tc")
int bmc_tx(struct __sk_buff *skb)
{
	struct bmc_conn_key ck;
	__u32 daddr[4] = {}, l4, end, proto;
	__u16 eproto;
	int v6 = 0;

	if (bpf_skb_load_bytes(skb, 12, &eproto, 2))
		return TC_ACT_NEXT;
	if (eproto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 14, &ip, sizeof(ip)))
			return TC_ACT_NEXT;
		if (ip.frag_off & bpf_htons(0x1fff))
			return TC_ACT_NEXT;
		l4 = 14 + ip.ihl * 4;
		end = 14 + bpf_ntohs(ip.tot_len);
		proto = ip.protocol;
		daddr[0] = ip.daddr;
	} else if (eproto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 14, &ip6, sizeof(ip6)))
			return TC_ACT_NEXT;
		l4 = 14 + 40;
		end = l4 + bpf_ntohs(ip6.payload_len);
		proto = ip6.nexthdr;
		__builtin_memcpy(daddr, &ip6.daddr, 16);
		v6 = 1;
	} else {
		return TC_ACT_NEXT;
	}
	if (proto == IPPROTO_UDP_) {
		struct udphdr uh;
		struct bmc_req_key rk = {};
		__u64 *snap, s;
		__u32 plen;

		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)))
			return TC_ACT_NEXT;
		if (uh.source != port_be)
			return TC_ACT_NEXT;
		conn_key_from(&ck, daddr, v6, uh.dest, IPPROTO_UDP_);
		{
			__u16 id;

			/* The write this reply answers (request id echoed). */
			if (!bpf_skb_load_bytes(skb, l4 + 8, &id, 2))
				bmc_conn_reply(&ck, 0x10000 | id, 1);
		}
		plen = bpf_ntohs(uh.len);
		if (plen < 8 + 8 || l4 + plen > end)
			return TC_ACT_NEXT;
		plen -= 8;
		__builtin_memcpy(rk.addr, ck.addr, 16);
		rk.port = uh.dest;
		if (bpf_skb_load_bytes(skb, l4 + 8, &rk.reqid, 2))
			return TC_ACT_NEXT;
		snap = bpf_map_lookup_elem(&reqs, &rk);
		if (!snap)
			return TC_ACT_NEXT;
		s = *snap;
		handle_reply(skb, l4 + 8, plen, s);
		/*
		 * memcached 1.6 sends one datagram per value (each "0 of 1"),
		 * END in the last: the snapshot serves them all, then goes.
		 */
		{
			__u8 tail[5];

			if (plen >= 5 &&
			    !bpf_skb_load_bytes(skb, l4 + 8 + plen - 5, tail,
						5) &&
			    tail[0] == 'E' && tail[1] == 'N' &&
			    tail[2] == 'D' && tail[3] == '\r' &&
			    tail[4] == '\n')
				bpf_map_delete_elem(&reqs, &rk);
		}
	} else if (proto == IPPROTO_TCP_) {
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return TC_ACT_NEXT;
		if (th.source != port_be)
			return TC_ACT_NEXT;
		/* Payload or FIN/RST comes from memcached, not a bare ACK. */
		if (end > l4 + th.doff * 4 || th.fin || th.rst) {
			conn_key_from(&ck, daddr, v6, th.dest, IPPROTO_TCP_);
			bmc_conn_reply(&ck, 0, th.fin || th.rst);
		}
	}
	return TC_ACT_NEXT;
}

/* ---------------------------------------------------------------------- */
/* memcached went away: its values go with it                              */

/*
 * A TCP listener on memcached's port closing (memcached exited, crashed or
 * restarts) or opening (a new memcached) flushes. cgroup/sock_release
 * cannot read ports on this kernel; TCP state changes can.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(bmc_restart, struct sock *sk, int oldstate, int newstate)
{
	if (sk->__sk_common.skc_num != bpf_ntohs(port_be))
		return 0;
	/* Accepted children also leave LISTEN (for SYN_RECV): not those. */
	if ((oldstate == BPF_TCP_LISTEN && newstate == BPF_TCP_CLOSE) ||
	    newstate == BPF_TCP_LISTEN)
		flush_all();
	return 0;
}

/*
 * A UDP-only memcached has no listener: its UDP sockets bound to the port
 * stand for it. cgroup programs on the root cgroup v2 see every socket of
 * every namespace; only post_bind may read the port, so post_bind records
 * the socket cookie and sock_release looks it up. bmc-attach seeds the map
 * with the sockets already bound when it attaches.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* socket cookie */
	__type(value, __u8);
} udp_socks SEC(".maps");

static __always_inline int udp_bound(struct bpf_sock *sk)
{
	__u64 cookie;
	__u8 one = 1;

	if (sk->protocol != IPPROTO_UDP_ || sk->src_port != bpf_ntohs(port_be))
		return 1;
	/* Same port in another network namespace: not our memcached. */
	if (netns_cookie && bpf_get_netns_cookie(sk) != netns_cookie)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	bpf_map_update_elem(&udp_socks, &cookie, &one, BPF_ANY);
	/* A new memcached starts empty. */
	flush_all();
	return 1; /* allow the bind */
}

SEC("cgroup/post_bind4")
int bmc_bind4(struct bpf_sock *sk)
{
	return udp_bound(sk);
}

SEC("cgroup/post_bind6")
int bmc_bind6(struct bpf_sock *sk)
{
	return udp_bound(sk);
}

SEC("cgroup/sock_release")
int bmc_release(struct bpf_sock *sk)
{
	__u64 cookie;

	if (sk->protocol != IPPROTO_UDP_)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	if (bpf_map_delete_elem(&udp_socks, &cookie) == 0)
		flush_all();
	return 1;
}
