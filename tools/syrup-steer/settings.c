// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in policies, the parameters they read, and KEY=VALUE settings
 * (attach --param, set): parsing apart from writing, so the rules can be
 * unit-tested without a kernel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "steer.h"

static const char *const builtin_names[] = {
	[SYRUP_RR] = "rr",	   [SYRUP_HASH] = "hash",
	[SYRUP_RANDOM] = "random", [SYRUP_LEAST_LOADED] = "least-loaded",
	[SYRUP_SITA] = "sita",
};
#define NR_BUILTINS (sizeof(builtin_names) / sizeof(builtin_names[0]))

/* Parameters the built-ins read; `bytes` ones take a string of <= 8 bytes. */
static const struct param_def {
	int builtin;
	const char *name;
	bool bytes;
	__u64 def;
} param_defs[] = {
	{SYRUP_SITA, "threshold", false, 0},
	{SYRUP_SITA, "class", true, 0},
	{SYRUP_SITA, "big", false, 1},
};
#define NR_PARAM_DEFS (sizeof(param_defs) / sizeof(param_defs[0]))

int syrup_builtin_id(const char *name)
{
	for (size_t i = 1; i < NR_BUILTINS; i++)
		if (builtin_names[i] && !strcmp(builtin_names[i], name))
			return (int)i;
	return -1;
}

const char *syrup_builtin_name(int id)
{
	return id > 0 && (size_t)id < NR_BUILTINS ? builtin_names[id] : "user";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

bool syrup_policy_spec_valid(const char *spec)
{
	return syrup_builtin_id(spec) >= 0 || ends_with(spec, ".c") ||
	       ends_with(spec, ".o");
}

bool syrup_setting_shape_ok(const char *arg)
{
	return strchr(arg, '=') && arg[0] != '=';
}

static const struct param_def *param_def(int builtin, const char *name)
{
	for (size_t i = 0; i < NR_PARAM_DEFS; i++)
		if (param_defs[i].builtin == builtin &&
		    !strcmp(param_defs[i].name, name))
			return &param_defs[i];
	return NULL;
}

/* "threshold, class, big" */
static void param_names(int builtin, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_PARAM_DEFS && off < len; i++) {
		if (param_defs[i].builtin != builtin)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? ", " : "", param_defs[i].name);
	}
}

static int refuse(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A built-in's parameter, checked against what the built-in reads. */
static int parse_param(const char *key, const char *val, int builtin,
		       struct syrup_setting *out, char *why, size_t why_len)
{
	const struct param_def *def = NULL;
	char names[128];
	uint64_t v = 0;

	if (strlen(key) >= SYRUP_PARAM_NAME_LEN || !key[0])
		return refuse(why, why_len,
			      "invalid parameter name '%s': 1 to %d bytes", key,
			      SYRUP_PARAM_NAME_LEN - 1);
	if (builtin != SYRUP_USER) {
		def = param_def(builtin, key);
		param_names(builtin, names, sizeof(names));
		if (!def && !names[0])
			return refuse(why, why_len,
				      "policy %s takes no parameter ('%s' "
				      "given)",
				      syrup_builtin_name(builtin), key);
		if (!def)
			return refuse(why, why_len,
				      "policy %s has no parameter '%s' (it "
				      "has: %s)",
				      syrup_builtin_name(builtin), key, names);
	}
	snprintf(out->name, sizeof(out->name), "%s", key);
	if (def && def->bytes) {
		size_t len = strlen(val);

		if (len > 8)
			return refuse(why, why_len,
				      "invalid %s '%s': at most 8 bytes", key,
				      val);
		/* first payload byte in the lowest byte of the value */
		for (size_t i = 0; i < len; i++)
			v |= (__u64)(unsigned char)val[i] << (8 * i);
		if (strlen(key) + 4 >= SYRUP_PARAM_NAME_LEN)
			return refuse(why, why_len,
				      "parameter name '%s' is too long", key);
		out->bytes = true;
	} else if (fp_parse_u64(val, 0, UINT64_MAX, &v)) {
		return refuse(why, why_len,
			      "invalid value '%s' for %s: want a number", val,
			      key);
	}
	out->value = v;
	return 0;
}

int syrup_setting_parse(const char *s, int builtin, struct syrup_setting *out,
			char *why, size_t why_len)
{
	char key[64], *eq;
	const char *val;
	uint64_t v, idx;

	memset(out, 0, sizeof(*out));
	snprintf(key, sizeof(key), "%s", s);
	eq = strchr(key, '=');
	if (!eq)
		return refuse(why, why_len,
			      "invalid setting '%s': want KEY=VALUE", s);
	*eq = '\0';
	val = strchr(s, '=') + 1;
	out->text = val;
	if (strncmp(key, "load.", 5))
		return parse_param(key, val, builtin, out, why, why_len);
	if (fp_parse_u64(key + 5, 0, SYRUP_MAX_EXECUTORS - 1, &idx))
		return refuse(why, why_len,
			      "invalid executor in '%s': want load.N with N "
			      "below %d",
			      s, SYRUP_MAX_EXECUTORS);
	if (fp_parse_u64(val, 0, UINT64_MAX, &v))
		return refuse(why, why_len, "invalid load '%s': want a number",
			      val);
	out->load = true;
	out->exec = (__u32)idx;
	out->value = v;
	return 0;
}

int syrup_setting_write(const struct syrup_setting *s, int params_fd,
			int load_fd)
{
	struct syrup_param_key pk = {};

	if (s->load) {
		if (bpf_map_update_elem(load_fd, &s->exec, &s->value, BPF_ANY))
			return fp_error("cannot write load.%u: %s", s->exec,
					fp_strerror(-errno));
		return 0;
	}
	if (s->bytes) {
		/* the policy reads NAME_len to know how many bytes count */
		struct syrup_param_key lk = {};
		size_t kl = strlen(s->name);
		__u64 len = strlen(s->text);

		memcpy(lk.name, s->name, kl);
		memcpy(lk.name + kl, "_len", 4);
		if (bpf_map_update_elem(params_fd, &lk, &len, BPF_ANY))
			return fp_error("cannot write %s: %s", lk.name,
					fp_strerror(-errno));
	}
	snprintf(pk.name, sizeof(pk.name), "%s", s->name);
	if (bpf_map_update_elem(params_fd, &pk, &s->value, BPF_ANY))
		return fp_error("cannot write parameter %s: %s", s->name,
				fp_strerror(-errno));
	return 0;
}

void syrup_settings_defaults(int builtin, int params_fd)
{
	for (size_t i = 0; i < NR_PARAM_DEFS; i++) {
		struct syrup_param_key k = {};

		if (param_defs[i].builtin != builtin || param_defs[i].bytes)
			continue;
		snprintf(k.name, sizeof(k.name), "%s", param_defs[i].name);
		bpf_map_update_elem(params_fd, &k, &param_defs[i].def, BPF_ANY);
	}
}
