// SPDX-License-Identifier: GPL-2.0
/*
 * What BMC needs from the kernel, probed before anything is loaded, so that
 * an old kernel is refused in one line naming what it lacks rather than by
 * the verifier.
 */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bmc-attach.h"

static bool probe_coarse_clock(void)
{
	return fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns);
}

static bool probe_sock_release(void)
{
	return fp_probe_btf_enum_value("BPF_CGROUP_INET_SOCK_RELEASE");
}

static bool probe_xdp_link(void)
{
	return fp_probe_btf_enum_value("BPF_LINK_TYPE_XDP");
}

static bool probe_restart_tp(void)
{
	return fp_probe_btf_type("btf_trace_inet_sock_set_state");
}

/*
 * Newest first: the first one missing names the release to upgrade to.
 * 5.12 also brought global functions that take pointers, which BMC's
 * programs are built from. Not needed: bpf_loop (5.17) and
 * bpf_xdp_load_bytes/bpf_xdp_store_bytes (5.18, see probe_xdp_bytes).
 */
static const struct fp_requirement bmc_needs[] = {
	/* compare-and-exchange came with fetch-and-add, in the same release */
	{"BPF atomic fetch-and-add and compare-and-exchange", "5.12",
	 fp_probe_atomic_fetch},
	{"bpf_ktime_get_coarse_ns", "5.11", probe_coarse_clock},
	{"cgroup sock_release programs", "5.9", probe_sock_release},
	{"XDP links", "5.9", probe_xdp_link},
	{"tp_btf/inet_sock_set_state", "5.5", probe_restart_tp},
};

/* Without them (before 5.18) BMC reads and writes packets directly. */
static bool probe_xdp_bytes(void)
{
	return fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes) &&
	       fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_store_bytes);
}

int bmc_check_kernel(bool *xdp_bytes)
{
	FILE *report = fp_opts.verbose ? stderr : NULL;
	const struct fp_requirement *miss;
	struct utsname u;
	bool btf;

	btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (report) {
		fprintf(report, "%s: kernel features:\n", fp_tool_name);
		fp_probe_print(report, "BTF (/sys/kernel/btf/vmlinux)", btf);
	}
	if (!btf)
		return fp_error("BMC needs a kernel with BTF "
				"(CONFIG_DEBUG_INFO_BTF): "
				"/sys/kernel/btf/vmlinux is missing");
	miss = fp_require_probe(
		bmc_needs, sizeof(bmc_needs) / sizeof(bmc_needs[0]), report);
	*xdp_bytes = probe_xdp_bytes();
	if (report)
		fp_probe_print(report, "bpf_xdp_load/store_bytes (5.18)",
			       *xdp_bytes);
	if (miss) {
		if (uname(&u))
			snprintf(u.release, sizeof(u.release), "unknown");
		return fp_error("BMC needs Linux %s or newer (%s); this kernel "
				"is %s",
				miss->since, miss->feature, u.release);
	}
	if (!*xdp_bytes)
		fp_debug("no bpf_xdp_load_bytes/bpf_xdp_store_bytes (Linux "
			 "5.18): BMC reads and writes packets directly");
	return 0;
}
