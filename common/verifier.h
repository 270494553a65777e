/* SPDX-License-Identifier: GPL-2.0 */
/* Turning a verifier log into what a person needs to fix the program. */
#ifndef FASTPATH_VERIFIER_H
#define FASTPATH_VERIFIER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fp_verifier_report {
	/* The complaint: the lines after the last instruction, "; "-joined. */
	char reason[512];
	/* "file.c:6: source text" of the refused instruction, if the
	 * program carries BTF line info; empty otherwise. */
	char where[256];
	/* Start of the last `context` lines (inside the log). */
	const char *tail;
	/* From the "processed N insns" statistic, 0 if absent. */
	uint64_t insns_processed;
};

/*
 * Reads a log from bpf_program__set_log_buf(). Trailing statistics
 * ("processed ...", "stack depth ...") are cut off the log in place so
 * `tail` ends at the reason.
 */
void fp_verifier_explain(char *log, int context,
			 struct fp_verifier_report *report);

/* The report's last lines, each after `indent` (e.g. "  | "). */
void fp_verifier_print_tail(FILE *out, const char *indent,
			    const struct fp_verifier_report *report);

#endif
