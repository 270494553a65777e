// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "json.h"
#include "log.h"
#include "options.h"
#include "output.h"

const char *fp_tool_name = "fastpath";

/* libbpf's messages, warnings included, are for -v: a user sees ours. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	(void)level;
	if (!fp_opts.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void fp_init(const char *tool_name)
{
	fp_tool_name = tool_name;
	setlinebuf(stdout);
	libbpf_set_print(libbpf_print);
}

static void vreport(const char *prefix, const char *fmt, va_list args)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, args);
	fprintf(stderr, "%s: %s%s\n", fp_tool_name, prefix, msg);
	if (fp_opts.json && !*prefix) {
		struct fp_json j;

		fflush(stderr);
		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "error", msg);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	}
}

int fp_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vreport("", fmt, args);
	va_end(args);
	return 1;
}

void fp_warn(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vreport("warning: ", fmt, args);
	va_end(args);
}

void fp_debug(const char *fmt, ...)
{
	va_list args;

	if (!fp_opts.verbose)
		return;
	va_start(args, fmt);
	vreport("debug: ", fmt, args);
	va_end(args);
}

const char *fp_strerror(int err)
{
	static __thread char buf[128];

	if (err < 0)
		err = -err;
	/* libbpf's own codes (4000+) have their own texts. */
	if (err >= 4000 && libbpf_strerror(-err, buf, sizeof(buf)) == 0)
		return buf;
	return strerror(err);
}
