/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memcached's commands as they reach XDP (UDP datagrams, TCP segments):
 * every write found invalidates its keys; what cannot be parsed with
 * certainty flushes.
 */
#ifndef FASTPATH_BMC_COMMANDS_H
#define FASTPATH_BMC_COMMANDS_H

#include "text.h"
#include "consistency.h"

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

#endif /* FASTPATH_BMC_COMMANDS_H */
