/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel engine's two halves share: engine-kernel-load.c builds
 * and loads the program, engine-kernel.c makes the rings it runs on.
 */
#ifndef FASTPATH_XRP_ENGINE_KERNEL_PRIV_H
#define FASTPATH_XRP_ENGINE_KERNEL_PRIV_H

#include <stddef.h>

#include <linux/types.h>

#include "xrp-kernel.h"
#include "engine-kernel.h"

struct bpf_object;

/* Where the kernel keeps the fields of a struct_ops value. */
struct ops_layout {
	__u32 vtype_id; /* struct bpf_struct_ops_io_uring_bpf_ops */
	__u32 vsize;
	__u32 loop_step_off, ring_fd_off; /* within the value */
};

struct xrpk {
	struct bpf_object *obj;
	int prog_fd;
	struct ops_layout lay;
	struct xrpk_params p;
	struct xrpk_config cfg;
};

struct xrpk_ring {
	struct xrpk *k;
	int ring_fd, link_fd;
	struct xrpk_region *region;
	size_t region_len;
};

/*
 * Where the kernel puts the CQ ring's fields, from a throw-away ring, into
 * the program's config. Prints why not, 1.
 */
int xrpk_probe_ring(struct xrpk_config *cfg);

#endif
