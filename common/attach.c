// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/if_link.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "log.h"
#include "netlink.h"

static const char *const mode_names[] = {
	[FP_XDP_AUTO] = "auto",
	[FP_XDP_NATIVE] = "native",
	[FP_XDP_GENERIC] = "generic",
};

int fp_xdp_mode_parse(const char *s, enum fp_xdp_mode *mode)
{
	for (int m = FP_XDP_AUTO; m <= FP_XDP_GENERIC; m++) {
		if (s && !strcmp(s, mode_names[m])) {
			*mode = m;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fp_xdp_mode_name(enum fp_xdp_mode mode)
{
	return mode <= FP_XDP_GENERIC ? mode_names[mode] : "unknown";
}

static int xdp_link_create(int prog_fd, unsigned int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

static const char *xdp_reason(int err)
{
	switch (-err) {
	case EBUSY:
	case EEXIST:
		return "another XDP program is already attached (see "
		       "'ip link show')";
	case EOPNOTSUPP:
		return "not supported by the driver";
	case ENODEV:
		return "the interface is gone";
	case EPERM:
		return "permission denied (need CAP_NET_ADMIN and CAP_BPF)";
	default:
		return fp_strerror(err);
	}
}

int fp_xdp_attach(int prog_fd, unsigned int ifindex, const char *ifname,
		  enum fp_xdp_mode mode, enum fp_xdp_mode *used)
{
	int fd;

	if (mode != FP_XDP_GENERIC) {
		fd = xdp_link_create(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			*used = FP_XDP_NATIVE;
			return fd;
		}
		if (mode == FP_XDP_NATIVE || fd == -EBUSY || fd == -EEXIST ||
		    fd == -EPERM) {
			fp_error("cannot attach XDP to %s in native mode: %s%s",
				 ifname, xdp_reason(fd),
				 fd == -EOPNOTSUPP || fd == -EINVAL
					 ? " (try --mode generic)"
					 : "");
			return fd;
		}
		fp_warn("native XDP failed on %s (%s); using generic mode, "
			"which is slower",
			ifname, xdp_reason(fd));
	}
	fd = xdp_link_create(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
	if (fd < 0) {
		fp_error("cannot attach XDP to %s in generic mode: %s", ifname,
			 xdp_reason(fd));
		return fd;
	}
	*used = FP_XDP_GENERIC;
	return fd;
}

bool fp_xdp_attached(unsigned int ifindex, unsigned int *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);

	if (bpf_xdp_query((int)ifindex, 0, &opts))
		return false;
	if (prog_id)
		*prog_id = opts.prog_id;
	return opts.attach_mode != XDP_ATTACHED_NONE;
}

static void tc_hook_init(struct bpf_tc_hook *hook, unsigned int ifindex,
			 bool egress)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = (int)ifindex;
	hook->attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

int fp_tc_attach(unsigned int ifindex, const char *ifname, bool egress,
		 int prog_fd, unsigned int handle, unsigned int priority)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority,
		    .prog_fd = prog_fd);
	int err;

	tc_hook_init(&hook, ifindex, egress);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return fp_error("cannot create the clsact qdisc on %s: %s",
				ifname, fp_strerror(err));
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return fp_error("cannot attach TC %s program to %s: %s%s",
				egress ? "egress" : "ingress", ifname,
				fp_strerror(err),
				err == -EEXIST ? " (a filter already uses "
						 "that handle and priority)"
					       : "");
	return 0;
}

int fp_tc_detach(unsigned int ifindex, bool egress, unsigned int handle,
		 unsigned int priority)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	tc_hook_init(&hook, ifindex, egress);
	return bpf_tc_detach(&hook, &opts);
}

bool fp_tc_attached(unsigned int ifindex, bool egress, unsigned int handle,
		    unsigned int priority, unsigned int *prog_id)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	tc_hook_init(&hook, ifindex, egress);
	if (bpf_tc_query(&hook, &opts))
		return false;
	if (prog_id)
		*prog_id = opts.prog_id;
	return true;
}

void fp_tc_hook_destroy_if_empty(unsigned int ifindex)
{
	struct bpf_tc_hook hook;

	/* Another tool's filters may share the qdisc: only remove it bare. */
	if (fp_nl_tc_filter_count(ifindex, false) != 0 ||
	    fp_nl_tc_filter_count(ifindex, true) != 0)
		return;
	tc_hook_init(&hook, ifindex, false);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
}
