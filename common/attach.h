/* SPDX-License-Identifier: GPL-2.0 */
/* Attaching XDP and TC programs in a way that can be found and undone. */
#ifndef FASTPATH_ATTACH_H
#define FASTPATH_ATTACH_H

#include <bpf/libbpf.h>
#include <stdbool.h>

enum fp_xdp_mode {
	FP_XDP_AUTO, /* native, else generic (and say so) */
	FP_XDP_NATIVE,
	FP_XDP_GENERIC,
};

/* "auto", "native", "generic" -> mode; -EINVAL otherwise. */
int fp_xdp_mode_parse(const char *s, enum fp_xdp_mode *mode);
const char *fp_xdp_mode_name(enum fp_xdp_mode mode);

/*
 * Attaches `prog_fd` to `ifindex` as a kernel bpf_link and returns the
 * link's fd: pin it (bpf_obj_pin) to keep XDP after the tool exits, close
 * or unlink the pin to detach. (libbpf 1.1 cannot set the XDP mode on the
 * links it makes, hence an fd.) Under FP_XDP_AUTO, falls back to generic
 * mode with a warning; *used says which mode took. Prints one clear line on
 * failure (e.g. "an XDP program is already attached to eth0") and returns
 * a negative errno.
 */
int fp_xdp_attach(int prog_fd, unsigned int ifindex, const char *ifname,
		  enum fp_xdp_mode mode, enum fp_xdp_mode *used);
/* Is any XDP program attached to ifindex? Its id in *prog_id if not NULL. */
bool fp_xdp_attached(unsigned int ifindex, unsigned int *prog_id);

/*
 * TC clsact: creates the clsact qdisc if missing and attaches `prog_fd` as
 * a direct-action filter at `handle`/`priority` on ingress or egress.
 * Returns 0 or prints and returns 1.
 */
int fp_tc_attach(unsigned int ifindex, const char *ifname, bool egress,
		 int prog_fd, unsigned int handle, unsigned int priority);
/* Removes exactly that filter; -ENOENT when it is not there. */
int fp_tc_detach(unsigned int ifindex, bool egress, unsigned int handle,
		 unsigned int priority);
/* Is a filter at handle/priority present? (its prog id in *prog_id) */
bool fp_tc_attached(unsigned int ifindex, bool egress, unsigned int handle,
		    unsigned int priority, unsigned int *prog_id);
/* Removes the clsact qdisc if no filters remain on it (best effort). */
void fp_tc_hook_destroy_if_empty(unsigned int ifindex);

#endif
