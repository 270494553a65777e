/* SPDX-License-Identifier: GPL-2.0 */
/* Messages for people: one lowercase line per failure, libbpf behind -v. */
#ifndef FASTPATH_LOG_H
#define FASTPATH_LOG_H

#include <stdbool.h>

extern const char *fp_tool_name;

/*
 * Call first in main(): names the tool in messages, line-buffers stdout so
 * `tool -i 1 | grep` streams, and routes libbpf's log through fp_verbose.
 */
void fp_init(const char *tool_name);

/*
 * "tool: message" on stderr. In JSON mode (fp_opts.json) the same text also
 * goes to stdout as {"error": "..."} so a pipeline sees why it got nothing.
 * Returns 1, the runtime-failure exit status, so `return fp_error(...)` works.
 */
int fp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with -v. */
void fp_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A short reason for a negative errno or libbpf error code. */
const char *fp_strerror(int err);

#endif
