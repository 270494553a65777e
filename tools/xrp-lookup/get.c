// SPDX-License-Identifier: GPL-2.0
/* xrp-lookup get: look keys up, print their values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lookup.h"
#include "engine-kernel.h"

struct get_opts {
	struct lookup_opts lk;
	const char *file;
	uint64_t *keys; /* as many as the command line has words, at most */
	size_t nkeys;
};

static void print_result(const struct result *r)
{
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_u64(&j, "key", r->key);
		fp_json_kv_bool(&j, "found", r->status == 0);
		fp_json_kv_string_or_null(
			&j, "value",
			r->status == 0 ? db_value_text(r->value) : NULL);
		fp_json_kv_string_or_null(&j, "error",
					  r->status == 2 ? r->err : NULL);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else if (r->status == 0) {
		printf("%llu %s\n", (unsigned long long)r->key,
		       db_value_text(r->value));
	} else if (r->status == 1) {
		printf("%llu not found\n", (unsigned long long)r->key);
	}
	if (r->status == 2)
		fprintf(stderr, "%s: lookup of key %llu failed: %s\n",
			fp_tool_name, (unsigned long long)r->key, r->err);
}

/* One thread, the keys in the order given, a result for each. */
static int lookup_keys(const struct get_opts *o, struct run *run,
		       const struct db *db, const struct function *f,
		       enum engine eng)
{
	struct result *res = calloc(o->nkeys, sizeof(*res));
	int ret;

	if (!res)
		return fp_error("out of memory");
	run->db = db;
	run->fn = f->fn;
	run->max_depth = o->lk.max_depth;
	run->engine = eng;
	run->keys = o->keys;
	run->nkeys = o->nkeys;
	for (size_t i = 0; i < o->nkeys; i++) {
		res[i].key = o->keys[i];
		res[i].status = 2;
		snprintf(res[i].err, sizeof(res[i].err), "not run");
	}
	run->results = res;
	run->threads = 1;
	run->inflight = o->lk.inflight;
	run->sqpoll = o->lk.sqpoll;
	ret = run_lookups(run, NULL);
	if (!ret) {
		if (run->first_error[0] && !run->errors)
			fp_warn("%s", run->first_error);
		for (size_t i = 0; i < o->nkeys; i++)
			print_result(&res[i]);
		ret = run->missing || run->errors ? 1 : 0;
	}
	free(res);
	return ret;
}

static int do_get(const void *opts)
{
	const struct get_opts *o = opts;
	struct run run = {};
	struct function f;
	struct db db;
	enum engine eng;
	int ret = 1;

	if (choose_engine(&o->lk, &eng, o->lk.engine_given))
		goto out_keys;
	if (db_open(&db, o->file, o->lk.cache_layers))
		goto out_keys;
	if (function_load(&f, o->lk.function, false))
		goto out;
	if (eng == ENG_KERNEL &&
	    kernel_open(&run.kernel, &db, false, &o->lk, &eng))
		goto out;
	ret = lookup_keys(o, &run, &db, &f, eng);
out:
	xrpk_close(run.kernel);
	db_close(&db);
out_keys:
	free(o->keys);
	return ret;
}

static const char doc[] =
	"Look keys up with a storage function and print each key's value, "
	"or that it is not there. Exits 1 when a key is missing or a lookup "
	"failed."
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup get /dev/loop0 0 923520 42     # three lookups\n"
	"    xrp-lookup get -e uring -q 32 db.bin 1 2  # io_uring\n"
	"    xrp-lookup get -f my_get.c db.bin 7       # your own function\n";

static error_t parse_get(int key, char *arg, struct argp_state *state)
{
	struct get_opts *o = state->input;
	uint64_t k;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->lk;
		o->keys = calloc((size_t)state->argc + 1, sizeof(*o->keys));
		if (!o->keys) {
			fp_error("out of memory");
			return ENOMEM;
		}
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0) {
			o->file = arg;
			return 0;
		}
		if (fp_parse_u64(arg, 0, UINT64_MAX, &k))
			argp_error(state,
				   "invalid key '%s': want an unsigned integer",
				   arg);
		o->keys[o->nkeys++] = k;
		return 0;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "no FILE given");
		if (!o->nkeys)
			argp_error(state, "get needs at least one KEY");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	NULL, parse_get, "FILE KEY...", doc, lookup_children, NULL, NULL,
};

static const struct get_opts defaults = {LOOKUP_DEFAULTS};

const struct fp_command get_cmd = {
	.name = "get",
	.summary = "FILE KEY...          look keys up, print their values",
	.argp = &argp,
	.opts_size = sizeof(struct get_opts),
	.defaults = &defaults,
	.run = do_get,
};
