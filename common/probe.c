// SPDX-License-Identifier: GPL-2.0
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "setup.h"

bool fp_probe_tracepoint(const char *category, const char *name)
{
	char path[512];

	if (fp_mount_tracefs())
		return false;
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/%s/id",
		 category, name);
	return access(path, R_OK) == 0;
}

bool fp_probe_prog_type(enum bpf_prog_type type)
{
	return libbpf_probe_bpf_prog_type(type, NULL) == 1;
}

bool fp_probe_map_type(enum bpf_map_type type)
{
	return libbpf_probe_bpf_map_type(type, NULL) == 1;
}

bool fp_probe_helper(enum bpf_prog_type type, enum bpf_func_id helper)
{
	return libbpf_probe_bpf_helper(type, helper, NULL) == 1;
}

static struct btf *kernel_btf(void)
{
	static struct btf *btf;

	if (!btf) {
		btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(btf))
			btf = NULL;
	}
	return btf;
}

bool fp_probe_btf_type(const char *name)
{
	struct btf *btf = kernel_btf();

	if (!btf)
		return false;
	for (int kind = BTF_KIND_INT; kind <= BTF_KIND_ENUM64; kind++)
		if (btf__find_by_name_kind(btf, name, kind) > 0)
			return true;
	return false;
}

bool fp_probe_btf_enum_value(const char *name)
{
	struct btf *btf = kernel_btf();
	unsigned int n;

	if (!btf)
		return false;
	n = btf__type_cnt(btf);
	for (unsigned int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (int i = 0; i < btf_vlen(t); i++)
				if (!strcmp(btf__name_by_offset(btf,
								e[i].name_off),
					    name))
					return true;
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (int i = 0; i < btf_vlen(t); i++)
				if (!strcmp(btf__name_by_offset(btf,
								e[i].name_off),
					    name))
					return true;
		}
	}
	return false;
}

void fp_probe_print(FILE *out, const char *what, bool present)
{
	int dots = 40 - (int)strlen(what);

	fprintf(out, "  %s %.*s %s\n", what, dots > 2 ? dots : 2,
		"........................................",
		present ? "yes" : "no");
}
