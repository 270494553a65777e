/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FASTPATH_METADATA("tool"): names the tool and version in the object's
 * .rodata, which libbpf binds to every program it loads, so that
 * `bpftool prog show` and fastpath-status can tell whose program it is
 * ("metadata: tool = bmc-attach, version = 0.2.0").
 */
#ifndef FASTPATH_BPF_METADATA_H
#define FASTPATH_BPF_METADATA_H

#ifndef FASTPATH_VERSION
#define FASTPATH_VERSION "unknown"
#endif

#define FASTPATH_METADATA(TOOL)                                        \
	volatile const char bpf_metadata_tool[] SEC(".rodata") = TOOL; \
	volatile const char bpf_metadata_version[] SEC(".rodata") =    \
		FASTPATH_VERSION

#endif
