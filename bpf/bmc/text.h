/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scanning memcached's text protocol in a scratch buffer (indexes masked
 * by REQ_MASK): key hashes, tokens, line ends, numbers.
 */
#ifndef FASTPATH_BMC_TEXT_H
#define FASTPATH_BMC_TEXT_H

#include "base.h"

static __always_inline __u64 fnv1a_init(void)
{
	return BMC_FNV_OFFSET;
}

#define FNV_PRIME BMC_FNV_PRIME

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

#endif /* FASTPATH_BMC_TEXT_H */
