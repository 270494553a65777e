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

/* The command line bmc_parse_one is at, tokenized up to its command. */
struct cmd_line {
	__u32 end;  /* offset of its LF */
	__u32 lend; /* its end without the CR */
	__u32 p;    /* cursor: just past the command token */
	__u32 len;  /* of the data in sc->req */
	__u32 tl;   /* length of the command token */
	__u64 cmd;  /* its first 8 bytes (tok8) */
};

/* Stop inside a value: pc->skip bytes of it are in later segments. */
static __always_inline int stop_skip(struct parse_ctx *pc, __u32 pos, __u32 len)
{
	pc->skip = pos - len;
	pc->status = P_SKIP;
	return 1;
}

static __always_inline int stop(struct parse_ctx *pc, __u32 status)
{
	pc->status = status;
	return 1;
}

/* Binary protocol: a 24-byte header, the body's length at offset 8. */
static __always_inline int
parse_binary(struct parse_ctx *pc, struct xdp_scratch *sc, __u32 pos, __u32 len)
{
	const __u8 *buf = sc->req.b;
	__u32 body;
	__u8 op;

	if (pos + 24 > len)
		return stop(pc, P_LINE); /* a cut header: kept for later */
	op = buf[(pos + 1) & REQ_MASK];
	body = (__u32)buf[(pos + 8) & REQ_MASK] << 24 |
	       (__u32)buf[(pos + 9) & REQ_MASK] << 16 |
	       (__u32)buf[(pos + 10) & REQ_MASK] << 8 |
	       buf[(pos + 11) & REQ_MASK];
	/* get, getq, getk, getkq, noop, version, stat: read-only. */
	if (!(op == 0x00 || op == 0x09 || op == 0x0c || op == 0x0d ||
	      op == 0x0a || op == 0x0b || op == 0x10))
		flush_conservative(&pc->cr);
	if (body > 0x7fffffff)
		return stop(pc, P_BAD);
	pos += 24 + body;
	if (pos > len)
		return stop_skip(pc, pos, len);
	sc->pos = pos;
	return 0;
}

static __always_inline int is_get(__u64 cmd, __u32 tl)
{
	return (tl == 3 && cmd == C8('g', 'e', 't', 0, 0, 0, 0, 0)) ||
	       (tl == 4 && cmd == C8('g', 'e', 't', 's', 0, 0, 0, 0));
}

/* A line without LF within LINE_MAX_: longer than any write we know. */
static __always_inline int parse_long_line(struct parse_ctx *pc,
					   struct xdp_scratch *sc, __u32 pos,
					   __u32 len)
{
	struct textbuf *tb = &sc->req;
	__u32 q = pos + LINE_MAX_, p = pos, ts, tl, end = EOL_LONG;
	__u64 cmd;

	tl = next_tok(tb, &p, len, &ts);
	cmd = tok8(tb, ts, tl);
	if (!is_get(cmd, tl)) /* only a long get is fine */
		return stop(pc, P_BAD);
#pragma clang loop unroll(disable)
	for (int k = 0; k < REQ_BUF / LINE_MAX_ + 1; k++) {
		end = bmc_eol(tb, q, len);
		if (end != EOL_LONG)
			break;
		q += LINE_MAX_;
	}
	if (end == EOL_PARTIAL || end == EOL_LONG)
		return stop(pc, P_SKIPLINE);
	sc->pos = end + 1;
	return 0;
}

/* set, add, cas, replace, prepend, append: a key, then a data block. */
static __always_inline int is_storage(__u64 cmd, __u32 tl)
{
	return (tl == 3 && (cmd == C8('s', 'e', 't', 0, 0, 0, 0, 0) ||
			    cmd == C8('a', 'd', 'd', 0, 0, 0, 0, 0) ||
			    cmd == C8('c', 'a', 's', 0, 0, 0, 0, 0))) ||
	       (tl == 7 && (cmd == C8('r', 'e', 'p', 'l', 'a', 'c', 'e', 0) ||
			    cmd == C8('p', 'r', 'e', 'p', 'e', 'n', 'd', 0))) ||
	       (tl == 6 && cmd == C8('a', 'p', 'p', 'e', 'n', 'd', 0, 0));
}

/* <cmd> <key> <flags> <exptime> <bytes> [cas] [noreply] */
static __always_inline int
parse_storage(struct parse_ctx *pc, struct xdp_scratch *sc, struct cmd_line *ln)
{
	struct textbuf *tb = &sc->req;
	const __u8 *buf = sc->req.b;
	__u32 ks, kl, fs, fl, es, el, bs, bl, pos;
	enum exp_kind kind = EXP_COND;
	__s64 n, e = 0;

	if (ln->cmd == C8('s', 'e', 't', 0, 0, 0, 0, 0))
		kind = EXP_SET;
	else if (ln->tl == 6 ||
		 ln->cmd == C8('p', 'r', 'e', 'p', 'e', 'n', 'd', 0))
		kind = EXP_KEEP;
	kl = next_tok(tb, &ln->p, ln->lend, &ks);
	fl = next_tok(tb, &ln->p, ln->lend, &fs);
	el = next_tok(tb, &ln->p, ln->lend, &es);
	bl = next_tok(tb, &ln->p, ln->lend, &bs);
	if (parse_num(tb, es, el, &e) || parse_num(tb, bs, bl, &n) || n < 0 ||
	    n > 0x7fffff00 || fl == 0) {
		/* memcached answers an error and swallows... or not. */
		inval_key(pc, tb, ks, kl, EXP_DEL, 0);
		return stop(pc, P_BAD);
	}
	inval_key(pc, tb, ks, kl, kind, e);
	pos = ln->end + 1 + (__u32)n + 2;
	if (pos > ln->len)
		return stop_skip(pc, pos, ln->len);
	if (buf[(pos - 2) & REQ_MASK] != '\r' ||
	    buf[(pos - 1) & REQ_MASK] != '\n')
		return stop(pc, P_BAD); /* bad data chunk */
	sc->pos = pos;
	return 0;
}

/* gat/gats <exptime> <key>*: each key gets the new exptime. */
static __always_inline int parse_gat(struct parse_ctx *pc, struct textbuf *tb,
				     struct cmd_line *ln)
{
	__u32 es, el = next_tok(tb, &ln->p, ln->lend, &es);
	enum exp_kind kind = EXP_TOUCH;
	__s64 e = 0;

	if (parse_num(tb, es, el, &e))
		kind = EXP_DEL;
#pragma clang loop unroll(disable)
	for (int k = 0; k < MAX_GAT_KEYS; k++) {
		__u32 ks, kl = next_tok(tb, &ln->p, ln->lend, &ks);

		if (kl == 0)
			return 0;
		inval_key(pc, tb, ks, kl, kind, e);
	}
	flush_conservative(&pc->cr);
	return 0;
}

/* flush_all [delay]: everything now, and again when the delay is over. */
static __always_inline int
parse_flush_all(struct parse_ctx *pc, struct textbuf *tb, struct cmd_line *ln)
{
	__u32 ds, dl = next_tok(tb, &ln->p, ln->lend, &ds);
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

/* Meta commands (ms mg md ma): the key is the second token; ms has data. */
static __always_inline int
parse_meta(struct parse_ctx *pc, struct xdp_scratch *sc, struct cmd_line *ln)
{
	struct textbuf *tb = &sc->req;
	const __u8 *buf = sc->req.b;
	__u32 ks, kl = next_tok(tb, &ln->p, ln->lend, &ks), ds = 0, dl = 0, q,
		  fs, fl, pos;
	__u64 cmd = ln->cmd;
	int b64 = 0;
	__s64 n;

	q = ln->p;
	if (cmd == C8('m', 's', 0, 0, 0, 0, 0, 0))
		dl = next_tok(tb, &q, ln->lend, &ds);
		/* A 'b' flag means a base64 key: we cannot hash it. */
#pragma clang loop unroll(disable)
	for (int k = 0; k < 16; k++) {
		fl = next_tok(tb, &q, ln->lend, &fs);
		if (fl == 0)
			break;
		if (buf[fs & REQ_MASK] == 'b')
			b64 = 1;
	}
	if (b64)
		flush_conservative(&pc->cr);
	else if (cmd != C8('m', 'g', 0, 0, 0, 0, 0, 0) || kl)
		inval_key(pc, tb, ks, kl,
			  cmd == C8('m', 'a', 0, 0, 0, 0, 0, 0) ? EXP_KEEP
								: EXP_DEL,
			  0);
	if (cmd != C8('m', 's', 0, 0, 0, 0, 0, 0))
		return 0;
	if (parse_num(tb, ds, dl, &n) || n < 0 || n > 0x7fffff00)
		return stop(pc, P_BAD);
	pos = ln->end + 1 + (__u32)n + 2;
	if (pos > ln->len)
		return stop_skip(pc, pos, ln->len);
	sc->pos = pos;
	return 0;
}

/* The other commands of one line: writes invalidate, reads pass. */
static __always_inline int
parse_line(struct parse_ctx *pc, struct xdp_scratch *sc, struct cmd_line *ln)
{
	struct textbuf *tb = &sc->req;
	__u64 cmd = ln->cmd;
	__u32 tl = ln->tl;

	if ((tl == 6 && cmd == C8('d', 'e', 'l', 'e', 't', 'e', 0, 0)) ||
	    (tl == 4 && (cmd == C8('i', 'n', 'c', 'r', 0, 0, 0, 0) ||
			 cmd == C8('d', 'e', 'c', 'r', 0, 0, 0, 0)))) {
		__u32 ks, kl = next_tok(tb, &ln->p, ln->lend, &ks);

		inval_key(pc, tb, ks, kl, tl == 6 ? EXP_DEL : EXP_KEEP, 0);
		return 0;
	}
	if (tl == 5 && cmd == C8('t', 'o', 'u', 'c', 'h', 0, 0, 0)) {
		__u32 ks, kl = next_tok(tb, &ln->p, ln->lend, &ks), es, el;
		__s64 e = 0;

		el = next_tok(tb, &ln->p, ln->lend, &es);
		if (parse_num(tb, es, el, &e))
			inval_key(pc, tb, ks, kl, EXP_DEL, 0);
		else
			inval_key(pc, tb, ks, kl, EXP_TOUCH, e);
		return 0;
	}
	if ((tl == 3 && cmd == C8('g', 'a', 't', 0, 0, 0, 0, 0)) ||
	    (tl == 4 && cmd == C8('g', 'a', 't', 's', 0, 0, 0, 0)))
		return parse_gat(pc, tb, ln);
	if (tl == 9 && cmd == C8('f', 'l', 'u', 's', 'h', '_', 'a', 'l'))
		return parse_flush_all(pc, tb, ln);
	if (tl == 2 && (cmd == C8('m', 's', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'g', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'd', 0, 0, 0, 0, 0, 0) ||
			cmd == C8('m', 'a', 0, 0, 0, 0, 0, 0)))
		return parse_meta(pc, sc, ln);
	/* Read-only commands. */
	if (is_get(cmd, tl) ||
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
 * One command of the stream at sc->pos; returns 1 to stop. A global
 * function, so parse_stream's loop costs the verifier one pass over it
 * (as bpf_loop's callback did, without needing 5.17).
 */
__noinline int bmc_parse_one(struct parse_ctx *pc)
{
	__u32 zero = 0, pos, end, ts;
	struct xdp_scratch *sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	struct cmd_line ln;
	struct textbuf *tb;

	if (!pc)
		return 1;
	if (!sc)
		return stop(pc, P_BAD);
	tb = &sc->req;
	pos = *(volatile __u32 *)&sc->pos;
	ln.len = *(volatile __u32 *)&sc->len;
	if (pos >= ln.len)
		return stop(pc, P_OK);
	if (tb->b[pos & REQ_MASK] == 0x80)
		return parse_binary(pc, sc, pos, ln.len);
	end = bmc_eol(tb, pos, ln.len);
	if (end == EOL_PARTIAL) {
		/* Cut by the end of the data: the caller keeps [pos, len). */
		return stop(pc, P_LINE);
	}
	if (end == EOL_LONG)
		return parse_long_line(pc, sc, pos, ln.len);
	ln.end = end;
	ln.lend = end;
	if (ln.lend > pos && tb->b[(ln.lend - 1) & REQ_MASK] == '\r')
		ln.lend--;
	sc->pos = end + 1;
	ln.p = pos;
	ln.tl = next_tok(tb, &ln.p, ln.lend, &ts);
	if (ln.tl == 0)
		return 0; /* empty line: memcached says ERROR */
	ln.cmd = tok8(tb, ts, ln.tl);
	if (is_storage(ln.cmd, ln.tl))
		return parse_storage(pc, sc, &ln);
	return parse_line(pc, sc, &ln);
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
