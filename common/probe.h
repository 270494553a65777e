/* SPDX-License-Identifier: GPL-2.0 */
/* Feature probes: does this kernel have what a tool wants to use? */
#ifndef FASTPATH_PROBE_H
#define FASTPATH_PROBE_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdio.h>

/* Tracepoint "category:name" in tracefs (mounted on demand). */
bool fp_probe_tracepoint(const char *category, const char *name);
bool fp_probe_prog_type(enum bpf_prog_type type);
bool fp_probe_map_type(enum bpf_map_type type);
bool fp_probe_helper(enum bpf_prog_type type, enum bpf_func_id helper);
/* A named type (struct, enum, enumerator value, func) in the kernel's BTF. */
bool fp_probe_btf_type(const char *name);
/* A named enumerator (e.g. "BPF_PROG_TYPE_XRP") in the kernel's BTF. */
bool fp_probe_btf_enum_value(const char *name);

/* "  name ......... yes/no" lines for a readable report. */
void fp_probe_print(FILE *out, const char *what, bool present);

#endif
