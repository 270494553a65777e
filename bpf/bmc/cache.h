/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cache itself: set-associative entries under a seqlock. bmc_lookup
 * copies a hit out (XDP), bmc_fill installs a value from a reply (TC).
 */
#ifndef FASTPATH_BMC_CACHE_H
#define FASTPATH_BMC_CACHE_H

#include "text.h"

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
 * The way of set `base` a fill of key hash h takes: the same key's, else a
 * dead or expired one, else the oldest (*evict: a live entry goes).
 */
static __always_inline int choose_way(struct bmc_state *st, __u64 h, __u64 now,
				      __u32 base, int *evict)
{
	__u64 best_t = NEVER;
	__u32 victim = 0;
	int found = -1;

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
	if (found >= 0)
		return found;
	*evict = best_t != 0;
	return (int)victim;
}

/* The one's complement sum of sc->blob[0, blen) (csum_diff: 512 B a call). */
static __always_inline int blob_csum(struct tc_scratch *sc, __u32 blen,
				     __u32 *csum)
{
	__u32 len4;

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
		r = bpf_csum_diff(NULL, 0, (void *)&sc->blob[o], n, *csum);
		if (r < 0)
			return -1;
		*csum = (__u32)r;
	}
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
	__u64 h, deadline, now = now_ns(), n64;
	__u32 b, base, csum = 0;
	int found, evict = 0, claimed = 0;

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
	if (ex && ex->deadline != BMC_EXP_UNKNOWN)
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
	if (blob_csum(sc, blen, &csum))
		return 0;
	base = set_of(h) * BMC_WAYS;
	found = choose_way(st, h, now, base, &evict);
	{
		__u32 idx = base + (__u32)found;
		struct bmc_entry *e = bpf_map_lookup_elem(&cache, &idx);

		if (!e)
			return 0;
		bpf_spin_lock(&e->lock);
		__sync_fetch_and_add(&e->seq, 1); /* odd: readers back off */
		claimed = !e->valid;
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
	if (claimed)
		stat_inc(S_CLAIMS);
	stat_inc(S_FILLS);
	return 0;
}

#endif /* FASTPATH_BMC_CACHE_H */
