// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel offers, read from its BTF before anything is loaded: the
 * features the BPF side needs, and how the block layer times requests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "kstack.h"

/* Has enum or struct `type_name` (of BTF kind `kind`) a value or member `name`?
 */
static bool btf_has_name(const struct btf *btf, const char *type_name, int kind,
			 const char *name)
{
	const struct btf_type *t;
	int id;

	id = btf__find_by_name_kind(btf, type_name, kind);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	for (int i = 0; i < btf_vlen(t); i++) {
		__u32 off = kind == BTF_KIND_ENUM ? btf_enum(t)[i].name_off
						  : btf_members(t)[i].name_off;

		if (!strcmp(btf__name_by_offset(btf, off), name))
			return true;
	}
	return false;
}

/* The number of arguments of raw tracepoint `name` (its btf_trace_ type). */
static int btf_tp_nargs(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	char tname[128];
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	t = btf__type_by_id(btf, t->type); /* pointer */
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type); /* function prototype */
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1; /* the first is the tracepoint's data */
}

/*
 * What the BPF side needs of the kernel, oldest first. Each is looked up in
 * the kernel's BTF, so a kernel that lacks one gets a sentence naming it
 * instead of the verifier's errno after a failed load.
 */
struct kernel_need {
	const char *version; /* the first Linux version that has it */
	const char *what;
	/* present if this enumerator is, */
	const char *enum_name, *value;
	/* or this member, */
	const char *struct_name, *member;
	/* or this raw tracepoint takes this many arguments */
	const char *tracepoint;
	int nargs;
};

static const struct kernel_need kernel_needs[] = {
	{"5.5", "BTF-typed raw tracepoints (tp_btf)", "bpf_attach_type",
	 "BPF_TRACE_RAW_TP", NULL, NULL, NULL, 0},
	{"5.11", "block tracepoints that take the bio alone", NULL, NULL, NULL,
	 NULL, "block_bio_queue", 1},
	{"5.12", "bio->bi_bdev", NULL, NULL, "bio", "bi_bdev", NULL, 0},
};

static bool kernel_has(const struct btf *btf, const struct kernel_need *n)
{
	if (n->enum_name)
		return btf_has_name(btf, n->enum_name, BTF_KIND_ENUM, n->value);
	if (n->struct_name)
		return btf_has_name(btf, n->struct_name, BTF_KIND_STRUCT,
				    n->member);
	return btf_tp_nargs(btf, n->tracepoint) == n->nargs;
}

int probe_kernel(struct kernel_caps *caps)
{
	const struct kernel_need *floor = NULL;
	char missing[256] = "";
	struct btf *btf;
	size_t len = 0;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return fp_error("needs a kernel with BTF "
				"(/sys/kernel/btf/vmlinux, "
				"CONFIG_DEBUG_INFO_BTF=y)");
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return fp_error("cannot read the kernel's BTF from "
				"/sys/kernel/btf/vmlinux: %s",
				fp_strerror(-errno));
	for (size_t i = 0; i < sizeof(kernel_needs) / sizeof(kernel_needs[0]);
	     i++) {
		const struct kernel_need *n = &kernel_needs[i];
		bool ok = kernel_has(btf, n);

		fp_debug("kernel: %s (Linux %s): %s", n->what, n->version,
			 ok ? "yes" : "no");
		if (ok)
			continue;
		floor = n; /* the table is in version order */
		if (len < sizeof(missing))
			len += snprintf(missing + len, sizeof(missing) - len,
					"%s%s", len ? ", " : "", n->what);
	}
	caps->plug_time_cached =
		btf_has_name(btf, "blk_plug", BTF_KIND_STRUCT, "cur_ktime");
	btf__free(btf);
	if (floor)
		return fp_error("needs Linux %s or newer (this "
				"kernel lacks %s)",
				floor->version, missing);
	return 0;
}
