/* SPDX-License-Identifier: GPL-2.0 */
/* xrp-lookup: what the tool and bpf/xrp-lookup.bpf.c share. */
#ifndef FASTPATH_XRP_LOOKUP_H
#define FASTPATH_XRP_LOOKUP_H

/*
 * The stand-in programs that carry a storage function through the verifier
 * on kernels without XRP's program type: a socket filter that takes the XRP
 * context from slot 0 of a per-CPU array (so data and scratch are real,
 * bounded map memory) and calls the function as a BPF-to-BPF subprogram.
 * Their names, one per built-in function:
 */
#define XRP_STANDIN_GET	  "standin_bpfkv_get"
#define XRP_STANDIN_RANGE "standin_bpfkv_range"

/*
 * The source the tool generates to carry a user's function, compiled with
 * clang -target bpf after the user's file is #included.
 */
#define XRP_STANDIN_SOURCE                                                    \
	"struct {\n"                                                          \
	"\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n"                        \
	"\t__uint(max_entries, 1);\n"                                         \
	"\t__type(key, __u32);\n"                                             \
	"\t__type(value, struct bpf_xrp);\n"                                  \
	"} xrp_ctx_map SEC(\".maps\");\n"                                     \
	"SEC(\"socket\") int standin_user(void *skb)\n"                       \
	"{\n"                                                                 \
	"\t__u32 zero = 0;\n"                                                 \
	"\tstruct bpf_xrp *ctx = bpf_map_lookup_elem(&xrp_ctx_map, &zero);\n" \
	"\tif (!ctx)\n"                                                       \
	"\t\treturn 0;\n"                                                     \
	"\treturn xrp_entry(ctx);\n"                                          \
	"}\n"                                                                 \
	"char _xrp_license[] SEC(\"license\") = \"GPL\";\n"

#endif
