// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup verify: a storage function through the kernel's verifier, as
 * a socket-filter stand-in (bpf/xrp-lookup.bpf.c) and, where the kernel
 * has io_uring BPF ops, as the kernel engine's loop_step carries it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "lookup.h"
#include "engine-kernel.h"
#include "xrp-lookup.h"
#include "xrp-lookup.skel.h"

struct verify_opts {
	const char *function;
};

/* The last lines of a verifier's log, indented, after a refusal. */
static void print_log_tail(const struct fp_verifier_report *report)
{
	printf("verifier log, last lines:\n");
	for (const char *p = report->tail; *p;) {
		size_t n = strcspn(p, "\n");

		printf("  %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

#define VLOG_SIZE (1 << 20)

/* One verifier's answer on a function: pass with a count, or the reason. */
struct verify_verdict {
	bool pass;
	unsigned long long insns;
	const struct fp_verifier_report *report; /* the reason when refused */
};

static void verify_verdict_json(struct fp_json *j,
				const struct verify_verdict *v)
{
	bool refused = !v->pass && v->report;

	fp_json_kv_string(j, "verdict", v->pass ? "pass" : "refused");
	fp_json_kv_u64_or_null(j, "insns_processed", v->pass, v->insns);
	fp_json_kv_string_or_null(j, "reason",
				  refused ? v->report->reason : NULL);
	fp_json_kv_string_or_null(j, "log_tail",
				  refused ? v->report->tail : NULL);
}

/*
 * verify -j: the socket-filter stand-in's verdict at the top level, the
 * kernel engine's under "kernel_engine" (null where the kernel lacks it).
 */
static void verify_print_json(const char *name,
			      const struct verify_verdict *stand_in,
			      const struct verify_verdict *kernel)
{
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "function", name);
	verify_verdict_json(&j, stand_in);
	fp_json_key(&j, "kernel_engine");
	if (kernel) {
		fp_json_object_begin(&j);
		verify_verdict_json(&j, kernel);
		fp_json_object_end(&j);
	} else {
		fp_json_null(&j);
	}
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

/*
 * Opens the object (skeleton or user .o), loads only `prog_name` with the
 * given log level. Returns 0 when the verifier accepted it.
 */
static int verify_load(const char *obj_path, const char *prog_name, int level,
		       char *log, int *err_out)
{
	struct xrp_lookup_bpf *skel = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog, *target = NULL;
	int err;

	log[0] = '\0';
	if (obj_path) {
		obj = bpf_object__open_file(obj_path, NULL);
		err = libbpf_get_error(obj);
		if (err) {
			*err_out = err;
			return fp_error("cannot open the compiled function: %s",
					fp_strerror(err));
		}
	} else {
		skel = xrp_lookup_bpf__open();
		if (!skel) {
			*err_out = -errno;
			return fp_error("cannot open the BPF object: %s",
					fp_strerror(-errno));
		}
		obj = skel->obj;
	}
	bpf_object__for_each_program(prog, obj)
	{
		bool me = !strcmp(bpf_program__name(prog), prog_name);

		bpf_program__set_autoload(prog, me);
		if (me)
			target = prog;
	}
	if (!target) {
		err = -ENOENT;
		fp_error("no program %s in the object", prog_name);
		goto out;
	}
	bpf_program__set_log_buf(target, log, VLOG_SIZE);
	bpf_program__set_log_level(target, level);
	err = bpf_object__load(obj);
out:
	*err_out = err;
	if (skel)
		xrp_lookup_bpf__destroy(skel);
	else
		bpf_object__close(obj);
	return err ? 1 : 0;
}

/*
 * Where the kernel has io_uring BPF ops, the function also goes through
 * the verifier as the kernel engine's loop_step program carries it; the
 * stand-in passed it with `standin` instructions processed.
 */
static int verify_kernel(const char *name, uint64_t standin, char *log)
{
	struct fp_verifier_report report;
	bool range = !strcmp(name, "bpfkv-range");
	int err;
	bool pass;

	pass = xrpk_verify(name, range, 4, log, VLOG_SIZE, &err) == 0;
	if (!pass && err != -EACCES && err != -EINVAL && err != -E2BIG) {
		if (err) /* else the reason is printed already */
			fp_error("cannot load %s into the kernel engine: %s",
				 name, fp_strerror(err));
		return 1;
	}
	if (!pass) {
		xrpk_verify(name, range, 1, log, VLOG_SIZE, &err);
		fp_debug("verifier log (kernel engine):\n%s", log);
	}
	fp_verifier_explain(log, 5, &report);
	if (fp_opts.json) {
		struct verify_verdict stand_in = {.pass = true,
						  .insns = standin};
		struct verify_verdict kernel = {.pass = pass,
						.insns = report.insns_processed,
						.report = &report};

		verify_print_json(name, &stand_in, &kernel);
	} else {
		printf("%s: pass (kernel verifier, socket-filter stand-in, "
		       "%llu instructions processed)\n",
		       name, (unsigned long long)standin);
		if (pass) {
			printf("%s: pass (kernel verifier, the kernel engine's "
			       "io_uring loop_step, %llu instructions "
			       "processed)\n",
			       name,
			       (unsigned long long)report.insns_processed);
		} else {
			printf("%s: refused by the verifier for the kernel "
			       "engine\n",
			       name);
			print_log_tail(&report);
		}
	}
	if (!pass)
		fprintf(stderr,
			"%s: %s refused by the verifier (kernel engine): %s\n",
			fp_tool_name, name, report.reason);
	return pass ? 0 : 1;
}

/*
 * The program that carries `name` and the object holding it: the
 * skeleton's stand-ins (obj NULL) or a user's file compiled into objbuf.
 */
static int verify_target(const char *name, const char **prog, const char **obj,
			 char *objbuf, size_t len)
{
	*obj = NULL;
	if (!strcmp(name, "bpfkv-get")) {
		*prog = XRP_STANDIN_GET;
	} else if (!strcmp(name, "bpfkv-range")) {
		*prog = XRP_STANDIN_RANGE;
	} else if (function_is_source(name)) {
		if (function_compile_standin(name, objbuf, len))
			return 1;
		*obj = objbuf;
		*prog = "standin_user";
	} else {
		return fp_error("unknown function '%s': want bpfkv-get, "
				"bpfkv-range or a FILE.c",
				name);
	}
	return 0;
}

/* The stand-in passed with `insns` processed; then the kernel engine's. */
static int verify_passed(const char *name, uint64_t insns, char *log)
{
	if (xrpk_supported(NULL, 0))
		return verify_kernel(name, insns, log);
	if (fp_opts.json) {
		struct verify_verdict stand_in = {.pass = true, .insns = insns};

		verify_print_json(name, &stand_in, NULL);
	} else {
		printf("%s: pass (kernel verifier, socket-filter "
		       "stand-in, %llu instructions processed)\n",
		       name, (unsigned long long)insns);
	}
	return 0;
}

/* Refused: again with the full log; its tail holds the reason. */
static void verify_refused(const char *name, const char *prog, const char *obj,
			   char *log)
{
	struct fp_verifier_report report;
	int err;

	verify_load(obj, prog, 1, log, &err);
	fp_debug("verifier log:\n%s", log);
	fp_verifier_explain(log, 5, &report);
	if (fp_opts.json) {
		struct verify_verdict stand_in = {.report = &report};

		verify_print_json(name, &stand_in, NULL);
	} else {
		printf("%s: refused by the verifier\n", name);
		print_log_tail(&report);
	}
	fprintf(stderr, "%s: %s refused by the verifier: %s\n", fp_tool_name,
		name, report.reason);
}

static int do_verify(const void *opts)
{
	const struct verify_opts *o = opts;
	const char *name = o->function, *prog = NULL, *obj = NULL;
	struct fp_verifier_report report;
	char path[160], *log;
	int err = 0, ret = 1;

	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_bump_memlock();
	if (verify_target(name, &prog, &obj, path, sizeof(path)))
		return 1;
	log = malloc(VLOG_SIZE);
	if (!log)
		return fp_error("out of memory");
	/*
	 * Statistics only first, for the verdict: a full log of a big program
	 * overflows, and then the kernel answers ENOSPC whatever the verdict.
	 */
	if (verify_load(obj, prog, 4, log, &err) == 0) {
		fp_verifier_explain(log, 5, &report);
		ret = verify_passed(name, report.insns_processed, log);
	} else if (err != -EACCES && err != -EINVAL && err != -E2BIG) {
		fp_error("cannot load %s: %s", name, fp_strerror(err));
	} else {
		verify_refused(name, prog, obj, log);
	}
	free(log);
	return ret;
}

static const char doc[] =
	"Load a storage function into the kernel's verifier and say whether "
	"it passes, and if not why. FUNC is a built-in (bpfkv-get, "
	"bpfkv-range) or a .c file written against <fastpath/xrp.h>."
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup verify bpfkv-get               # kernel verifier "
	"says?\n"
	"    xrp-lookup verify -j my_get.c             # your own function, "
	"JSON\n";

static error_t parse_verify(int key, char *arg, struct argp_state *state)
{
	struct verify_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		parse_only_arg(state, arg, &o->function);
		return 0;
	case ARGP_KEY_END:
		if (!o->function)
			argp_error(state, "verify needs a FUNC");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	NULL, parse_verify, "FUNC", doc, json_children, NULL, NULL,
};

const struct fp_command verify_cmd = {
	.name = "verify",
	.summary = "FUNC                 load a storage function into the "
		   "verifier",
	.argp = &argp,
	.opts_size = sizeof(struct verify_opts),
	.run = do_verify,
};
