// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier.h"

/* "12: (79) r1 = ..." is an instruction; everything else is commentary. */
static bool is_insn_line(const char *l)
{
	while (*l >= '0' && *l <= '9')
		l++;
	return l[0] == ':' && l[1] == ' ' && l[2] == '(';
}

static bool is_statistic(const char *l)
{
	return !*l || !strncmp(l, "processed ", 10) ||
	       !strncmp(l, "verification time", 17) ||
	       !strncmp(l, "stack depth", 11) ||
	       !strncmp(l, "-- END PROG LOAD LOG", 20);
}

static const char *line_start(const char *log, const char *p)
{
	while (p > log && p[-1] != '\n')
		p--;
	return p;
}

static size_t line_len(const char *l)
{
	return strcspn(l, "\n");
}

void fp_verifier_explain(char *log, int context, struct fp_verifier_report *r)
{
	const char *insn = NULL, *p, *last;
	char *end;

	memset(r, 0, sizeof(*r));
	r->tail = log;
	for (p = log; (p = strstr(p, "processed ")); p++)
		if (p == log || p[-1] == '\n')
			r->insns_processed = strtoull(p + 10, NULL, 10);

	/* Cut statistics and blank lines off the end. */
	end = log + strlen(log);
	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		if (end == log)
			break;
		char *l = (char *)line_start(log, end);
		if (!is_statistic(l))
			break;
		*l = '\0';
		end = l;
	}
	if (end == log) {
		snprintf(r->reason, sizeof(r->reason),
			 "no reason given (run with -v for libbpf's messages)");
		return;
	}
	last = line_start(log, end);

	/* The complaint is what follows the last instruction. */
	for (p = last;; p = line_start(log, p - 1)) {
		if (is_insn_line(p)) {
			insn = p;
			break;
		}
		if (p == log)
			break;
	}
	p = insn ? insn + line_len(insn) + (insn[line_len(insn)] == '\n')
		 : last;
	for (; p && *p; p += line_len(p) + (p[line_len(p)] == '\n')) {
		size_t off = strlen(r->reason);

		snprintf(r->reason + off, sizeof(r->reason) - off, "%s%.*s",
			 off ? "; " : "", (int)line_len(p), p);
	}
	if (!r->reason[0])
		snprintf(r->reason, sizeof(r->reason), "%.*s",
			 (int)line_len(last), last);

	/* The source of the refused instruction: "; text @ file:line". */
	for (p = insn; p; p = p > log ? line_start(log, p - 1) : NULL) {
		const char *at;
		size_t n = line_len(p);

		at = p[0] == ';' ? memmem(p, n, " @ ", 3) : NULL;
		if (at) {
			snprintf(r->where, sizeof(r->where), "%.*s: %.*s",
				 (int)(p + n - at - 3), at + 3,
				 (int)(at - p - 2), p + 2);
			break;
		}
		if (p == log)
			break;
	}

	/* Context: the last `context` lines, reason included. */
	r->tail = last;
	for (int i = 1; i < context && r->tail > log; i++)
		r->tail = line_start(log, r->tail - 1);
}

void fp_verifier_print_tail(FILE *out, const char *indent,
			    const struct fp_verifier_report *r)
{
	for (const char *p = r->tail; p && *p;) {
		size_t n = line_len(p);

		fprintf(out, "%s%.*s\n", indent, (int)n, p);
		p += n + (p[n] == '\n');
	}
}
