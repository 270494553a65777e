// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup's BPF side:
 *  - stand-in programs carrying the built-in storage functions through the
 *    kernel's verifier (`xrp-lookup verify bpfkv-get`): XRP's program type
 *    is not in stock kernels, so a socket filter hands the function an XRP
 *    context that lives in a per-CPU array value;
 *  - a sys_enter counter for `bench`, so "system calls per lookup" is what
 *    the kernel saw this process do, not what the tool thinks it did.
 */
#include "xrp.h"
#include "xrp-lookup.h"
#include "metadata.h"

FASTPATH_METADATA("xrp-lookup");

#undef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME xrp_entry_get
#include "xrp/bpfkv_get.c"
#undef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME xrp_entry_range
#include "xrp/bpfkv_range.c"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_xrp);
} xrp_ctx_map SEC(".maps");

static __attribute__((always_inline)) struct bpf_xrp *xrp_ctx(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xrp_ctx_map, &zero);
}

SEC("socket")
int standin_bpfkv_get(void *skb)
{
	struct bpf_xrp *ctx = xrp_ctx();

	if (!ctx)
		return 0;
	return xrp_entry_get(ctx);
}

SEC("socket")
int standin_bpfkv_range(void *skb)
{
	struct bpf_xrp *ctx = xrp_ctx();

	if (!ctx)
		return 0;
	return xrp_entry_range(ctx);
}

/* System calls made by process `target_tgid`, all threads. */
const volatile __u32 target_tgid = 0;
__u64 syscalls = 0;

SEC("raw_tp/sys_enter")
int count_syscalls(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	__sync_fetch_and_add(&syscalls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
