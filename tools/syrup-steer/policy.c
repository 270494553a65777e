// SPDX-License-Identifier: GPL-2.0
/*
 * A policy, loaded: a built-in from syrup-steer's own skeleton, a .bpf.o,
 * or a .c compiled with clang against syrup.h; when the verifier refuses
 * it, its reason and the source line it points at.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "steer.h"
#include "syrup-steer.skel.h"

#ifndef SYRUP_PREFIX_INCLUDE
#define SYRUP_PREFIX_INCLUDE "/usr/local/include/fastpath"
#endif

#define LOG_BUF_SIZE (4 << 20)

/* What every policy needs of the kernel, whatever its layer. */
static const struct fp_requirement policy_needs[] = {
	{"BPF atomic fetch-and-add", "5.12", fp_probe_atomic_fetch},
};

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The directory holding syrup.h: $SYRUP_INCLUDE, next to us, or PREFIX. */
static int find_header_dir(char *buf, size_t len)
{
	static const char *const rel[] = {"../include", "../include/fastpath"};
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *envdir = getenv("SYRUP_INCLUDE");
	ssize_t n;

	if (envdir) {
		snprintf(cand, sizeof(cand), "%s/syrup.h", envdir);
		if (readable(cand)) {
			snprintf(buf, len, "%s", envdir);
			return 0;
		}
		return fp_error("SYRUP_INCLUDE=%s holds no syrup.h", envdir);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s/%s/syrup.h", exe,
				 rel[i]);
			if (readable(cand) && strlen(cand) < len) {
				cand[strlen(cand) - strlen("/syrup.h")] = '\0';
				memcpy(buf, cand, strlen(cand) + 1);
				return 0;
			}
		}
	}
	if (readable(SYRUP_PREFIX_INCLUDE "/syrup.h")) {
		snprintf(buf, len, "%s", SYRUP_PREFIX_INCLUDE);
		return 0;
	}
	return fp_error("cannot find syrup.h (install fastpath, or set "
			"SYRUP_INCLUDE to its directory)");
}

/* clang ... SRC -> a .bpf.o in a scratch directory (cc->obj) */
int policy_compile(struct fp_bpfcc *cc, const char *src)
{
	struct fp_bpfcc_opts o = {
		.clang = getenv("CLANG"),
		.cflags = getenv("SYRUP_CFLAGS"),
		.obj_name = "policy.bpf.o",
	};
	const char *clang = o.clang ? o.clang : "clang";
	char hdr[PATH_MAX];
	int err;

	if (!readable(src))
		return fp_error("cannot read policy %s: %s", src,
				fp_strerror(-errno));
	if (find_header_dir(hdr, sizeof(hdr)))
		return 1;
	err = fp_bpfcc_init(cc);
	if (err)
		return fp_error("cannot create a temporary directory: %s",
				fp_strerror(err));
	/* so that #include <fastpath/syrup.h> works from the source tree */
	err = fp_bpfcc_add_header_dir(cc, hdr);
	if (err)
		return fp_error("cannot link %s/fastpath: %s", cc->dir,
				fp_strerror(err));
	err = fp_bpfcc_compile(cc, src, &o);
	if (err < 0)
		return fp_error("cannot run %s: %s (install clang, or set "
				"CLANG)",
				clang, fp_strerror(err));
	if (err)
		return fp_error("cannot compile policy %s: %s failed (see its "
				"messages above)",
				src, clang);
	return 0;
}

/* Opens the object `spec` names; nothing is loaded yet. */
static int open_policy(struct policy *p, const char *spec)
{
	const char *path = spec, *base;

	p->builtin = syrup_builtin_id(spec);
	if (p->builtin > 0) {
		p->skel = syrup_steer_bpf__open();
		if (!p->skel)
			return fp_error("cannot open the built-in policies: %s",
					fp_strerror(-errno));
		p->obj = p->skel->obj;
		snprintf(p->name, sizeof(p->name), "%s", spec);
		return 0;
	}
	p->builtin = SYRUP_USER;
	if (strlen(spec) >= 2 && !strcmp(spec + strlen(spec) - 2, ".c")) {
		if (policy_compile(&p->cc, spec))
			return 1;
		path = p->cc.obj;
	} else if (!readable(spec)) {
		return fp_error("cannot read policy %s: %s", spec,
				fp_strerror(-errno));
	}
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj)
		return fp_error("cannot open policy %s: %s (is it a "
				"BPF object built against syrup.h?)",
				spec, fp_strerror(-errno));
	base = strrchr(spec, '/');
	snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : spec);
	return 0;
}

int policy_load(struct policy *p, const char *spec, enum syrup_layer layer)
{
	const char *entry =
		layer == SYRUP_LAYER_XDP ? "syrup_xdp" : "syrup_sk_reuseport";
	char *log;
	int err;

	if (fp_require(NULL, policy_needs,
		       sizeof(policy_needs) / sizeof(policy_needs[0])))
		return 1;
	if (open_policy(p, spec))
		return 1;
	p->prog = fp_bpfcc_only_program(p->obj, entry);
	if (!p->prog)
		return fp_error("policy %s has no %s entry point (include "
				"<fastpath/syrup.h> and define schedule())",
				spec, entry);
	log = malloc(LOG_BUF_SIZE);
	if (!log)
		return fp_error("out of memory");
	err = fp_bpfcc_load(p->obj, p->prog, log, LOG_BUF_SIZE, 0);
	if (err && log[0]) {
		char what[PATH_MAX + 16];

		snprintf(what, sizeof(what), "policy %s", spec);
		fp_bpfcc_explain(log, what, 12);
	} else if (err) {
		fp_error("cannot load policy %s: %s", spec, fp_strerror(err));
	}
	free(log);
	return err ? 1 : 0;
}

void policy_unload(struct policy *p)
{
	if (p->skel)
		syrup_steer_bpf__destroy(p->skel);
	else if (p->obj)
		bpf_object__close(p->obj);
	p->skel = NULL;
	p->obj = NULL;
	fp_bpfcc_cleanup(&p->cc);
}

int policy_map_fd(const struct policy *p, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->obj, name);

	return m ? bpf_map__fd(m) : -1;
}
