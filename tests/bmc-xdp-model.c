// SPDX-License-Identifier: GPL-2.0
/*
 * What was filled (the model) and the check of every XDP_TX reply against
 * it: headers swapped and summed right, then exactly the model's values.
 */
#include "bmc-xdp-test.h"

static struct kv *model_find(const uint8_t *k, uint32_t kl)
{
	for (int i = 0; i < NKV; i++)
		if (model[i].key[0] && strlen(model[i].key) == kl &&
		    !memcmp(model[i].key, k, kl))
			return &model[i];
	return NULL;
}

int pass_unchanged(const struct frame *in, const struct frame *out, int verdict)
{
	return verdict == XDP_PASS_ && out->len == in->len &&
	       !memcmp(in->b, out->b, in->len);
}

/*
 * The Ethernet and IP headers of reply `out` to request `in`: swapped, of
 * the right lengths and checksum. Sets where UDP starts in both and the
 * pseudo-header's address sum.
 */
static const char *check_ip(const struct frame *in, const struct frame *out,
			    uint32_t *il4, uint32_t *ol4, uint64_t *s)
{
	const uint8_t *ib = in->b, *ob = out->b;
	int v6 = ib[12] == 0x86;

	if (memcmp(ob, ib + 6, 6) || memcmp(ob + 6, ib, 6) ||
	    memcmp(ob + 12, ib + 12, 2))
		return "ethernet header not swapped";
	if (!v6) {
		if ((ib[14] & 0xf) != 5 || ob[14] != 0x45)
			return "IPv4 header length";
		*il4 = *ol4 = 34;
		if ((uint32_t)(ob[16] << 8 | ob[17]) != out->len - 14)
			return "IPv4 total length";
		if (csum_fold16(csum_add(0, ob + 14, 20)) != 0xffff)
			return "IPv4 header checksum";
		if (memcmp(ob + 26, ib + 30, 4) || memcmp(ob + 30, ib + 26, 4))
			return "IPv4 addresses not swapped";
		if (ob[23] != 17)
			return "IPv4 protocol";
		*s = csum_add(0, ob + 26, 8);
	} else {
		*il4 = *ol4 = 54;
		if ((uint32_t)(ob[18] << 8 | ob[19]) != out->len - 54)
			return "IPv6 payload length";
		if (memcmp(ob + 22, ib + 38, 16) ||
		    memcmp(ob + 38, ib + 22, 16))
			return "IPv6 addresses not swapped";
		if (ob[20] != 17)
			return "IPv6 next header";
		*s = csum_add(0, ob + 22, 32);
	}
	return NULL;
}

/*
 * The reply's text `rp` (end bytes, after the 8-byte frame header) answers
 * each key of get request `req` with the model's VALUE line and bytes, in
 * order, then END.
 */
static const char *check_values(const uint8_t *req, uint32_t reqlen,
				const uint8_t *rp, uint32_t end)
{
	uint32_t pos = 8, n_in = 0;
	uint32_t q = 3;

	for (;;) {
		uint32_t ks, kl;
		struct kv *m;
		char hdr[600];
		int hl;

		while (q < reqlen && req[q] == ' ')
			q++;
		ks = q;
		while (q < reqlen && req[q] != ' ' && req[q] != '\r' &&
		       req[q] != '\n')
			q++;
		kl = q - ks;
		if (kl == 0)
			break;
		n_in++;
		m = model_find(req + ks, kl);
		if (!m)
			return "answered a key never filled";
		if (!m->cached)
			return "answered a key that must not be cached";
		hl = snprintf(hdr, sizeof(hdr), "VALUE %s %s %u\r\n", m->key,
			      m->flags, m->vlen);
		if (pos + (uint32_t)hl + m->vlen + 2 > end)
			return "reply shorter than its values";
		if (memcmp(rp + pos, hdr, (size_t)hl))
			return "VALUE line differs";
		pos += (uint32_t)hl;
		if (memcmp(rp + pos, m->val, m->vlen) ||
		    memcmp(rp + pos + m->vlen, "\r\n", 2))
			return "value bytes differ";
		pos += m->vlen + 2;
	}
	if (n_in == 0)
		return "no keys";
	if (pos + 5 != end || memcmp(rp + pos, "END\r\n", 5))
		return "END\\r\\n missing or trailing bytes";
	return NULL;
}

/*
 * Is `out` a well-formed memcached reply to request `in`, answering each
 * requested key with exactly the value in the model?
 */
const char *check_reply(const struct frame *in, const struct frame *out)
{
	const uint8_t *ib = in->b, *ob = out->b;
	uint32_t il4, ol4, ulen, reqlen;
	const uint8_t *req, *rp;
	const char *why;
	uint64_t s;

	if (out->len < 14 + 20 + 8 + 8)
		return "reply too short";
	why = check_ip(in, out, &il4, &ol4, &s);
	if (why)
		return why;
	ulen = (uint32_t)(ob[ol4 + 4] << 8 | ob[ol4 + 5]);
	if (ulen != out->len - ol4)
		return "UDP length";
	if (memcmp(ob + ol4, ib + il4 + 2, 2) ||
	    memcmp(ob + ol4 + 2, ib + il4, 2))
		return "UDP ports not swapped";
	if (!ob[ol4 + 6] && !ob[ol4 + 7])
		return "UDP checksum missing";
	s += 17 + ulen;
	s = csum_add(s, ob + ol4, ulen);
	if (csum_fold16(s) != 0xffff)
		return "UDP checksum wrong";
	/* Frame header. */
	rp = ob + ol4 + 8;
	if (memcmp(rp, ib + il4 + 8, 2))
		return "request id not echoed";
	if (rp[2] || rp[3] || rp[4] || rp[5] != 1 || rp[6] || rp[7])
		return "frame header: want seq 0, count 1";
	/* The request's keys, in order. */
	req = ib + il4 + 16;
	reqlen = (uint32_t)(ib[il4 + 4] << 8 | ib[il4 + 5]) - 16;
	if (reqlen < 4 || memcmp(req, "get ", 4))
		return "answered something that is not a get";
	return check_values(req, reqlen, rp, ulen - 8);
}

void set_model(int i, const char *key, const char *flags, const char *val,
	       uint32_t vlen, int cached)
{
	snprintf(model[i].key, sizeof(model[i].key), "%s", key);
	snprintf(model[i].flags, sizeof(model[i].flags), "%s", flags);
	memcpy(model[i].val, val, vlen);
	model[i].vlen = vlen;
	model[i].cached = cached;
}
