/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Consistency (see bmc-attach.bpf.c's notes): writes pending per bucket
 * and per client connection, the write sequence, invalidation, expiry
 * times, and the end of pending writes when memcached answers.
 */
#ifndef FASTPATH_BMC_CONSISTENCY_H
#define FASTPATH_BMC_CONSISTENCY_H

#include "base.h"

/* At ingress: a write is seen, its key invalidated and remembered. */

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
	nv.deadline = exptime_deadline(e, now_ns());
	if (kind == EXP_DEL) {
		nv.deadline = BMC_EXP_UNKNOWN;
	} else if (kind == EXP_COND) {
		old = bpf_map_lookup_elem(&exps, &h);
		if (!old || old->deadline == BMC_EXP_UNKNOWN) {
			/* The key may predate us with an unknown expiry. */
			nv.deadline = BMC_EXP_UNKNOWN;
		} else if (old->deadline < nv.deadline) {
			nv.deadline = old->deadline;
		}
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

/* At egress: memcached answered, so the writes it answered are over. */

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

#endif /* FASTPATH_BMC_CONSISTENCY_H */
