/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TC egress: memcached's GET replies, validated whole, fill the cache.
 */
#ifndef FASTPATH_BMC_TX_H
#define FASTPATH_BMC_TX_H

#include "cache.h"
#include "consistency.h"

static __always_inline int tcbuf_num(struct textbuf *tb, __u32 off, __u32 len,
				     __u32 *out)
{
	__s64 v;

	if (parse_num(tb, off, len, &v) || v < 0 || v > 0xffffffffLL)
		return -1;
	*out = (__u32)v;
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
	return n <= max_value ? 0 : 2;
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

#endif /* FASTPATH_BMC_TX_H */
