// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP layer's dispatcher (bpf/syrup-dispatch.bpf.c): an interface has
 * one XDP program, so one dispatcher per interface hands each port's
 * packets to that port's policy through a slot of a PROG_ARRAY. Pinned
 * under /sys/fs/bpf/syrup/xdp-IFINDEX-NETNS/; the last port out removes it.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "steer.h"
#include "syrup-dispatch.skel.h"

void dispatcher_dir(char *buf, size_t len, unsigned int ifindex, __u64 ns)
{
	snprintf(buf, len, "%s/xdp-%u-%llu", SYRUP_PIN_ROOT, ifindex,
		 (unsigned long long)ns);
}

static enum fp_xdp_mode xdp_mode_of(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);

	if (bpf_xdp_query((int)ifindex, 0, &opts))
		return FP_XDP_AUTO;
	return opts.attach_mode == XDP_ATTACHED_SKB ? FP_XDP_GENERIC
						    : FP_XDP_NATIVE;
}

/* Loads a dispatcher, attaches it and pins it under d->dir. */
static int dispatcher_create(struct dispatcher *d, unsigned int ifindex,
			     const char *iface, enum fp_xdp_mode mode,
			     enum fp_xdp_mode *used)
{
	struct syrup_dispatch_bpf *skel;
	int link_fd, err;

	if (fp_xdp_attached(ifindex, NULL))
		return fp_error("another XDP program is already attached to %s "
				"(see 'ip link show %s')",
				iface, iface);
	skel = syrup_dispatch_bpf__open_and_load();
	if (!skel)
		return fp_error("cannot load the XDP dispatcher: %s",
				fp_strerror(-errno));
	link_fd = fp_xdp_attach(bpf_program__fd(skel->progs.syrup_dispatch),
				ifindex, iface, mode, used);
	if (link_fd < 0) {
		syrup_dispatch_bpf__destroy(skel);
		return 1;
	}
	err = fp_pin_dir_create(d->dir);
	if (!err)
		err = fp_pin_fd(link_fd, d->dir, "link");
	if (!err)
		err = fp_pin_fd(bpf_map__fd(skel->maps.syrup_progs), d->dir,
				"progs");
	if (!err)
		err = fp_pin_fd(bpf_map__fd(skel->maps.syrup_ports), d->dir,
				"ports");
	/* the pinned link keeps XDP attached once these close */
	close(link_fd);
	syrup_dispatch_bpf__destroy(skel);
	if (err) {
		fp_pin_dir_remove(d->dir, FP_BPFFS);
		return fp_error("cannot pin the XDP dispatcher under %s: %s",
				d->dir, fp_strerror(err));
	}
	return 0;
}

int dispatcher_open(struct dispatcher *d, unsigned int ifindex,
		    const char *iface, enum fp_xdp_mode mode,
		    enum fp_xdp_mode *used)
{
	d->progs_fd = d->ports_fd = -1;
	dispatcher_dir(d->dir, sizeof(d->dir), ifindex,
		       (__u64)fp_netns_inode());
	if (!fp_pin_dir_exists(d->dir)) {
		if (dispatcher_create(d, ifindex, iface, mode, used))
			return 1;
	} else {
		*used = xdp_mode_of(ifindex);
		if (mode != FP_XDP_AUTO && mode != *used)
			fp_warn("%s already runs syrup's XDP dispatcher in %s "
				"mode: --mode %s ignored",
				iface, fp_xdp_mode_name(*used),
				fp_xdp_mode_name(mode));
	}
	d->progs_fd = fp_pin_open(d->dir, "progs");
	d->ports_fd = fp_pin_open(d->dir, "ports");
	if (d->progs_fd < 0 || d->ports_fd < 0)
		return fp_error("cannot open the XDP dispatcher under %s: %s",
				d->dir, fp_strerror(-errno));
	return 0;
}

void dispatcher_close(struct dispatcher *d)
{
	if (d->progs_fd >= 0)
		close(d->progs_fd);
	if (d->ports_fd >= 0)
		close(d->ports_fd);
	d->progs_fd = d->ports_fd = -1;
}

int dispatcher_insert(struct dispatcher *d, int prog_fd, __u8 proto, __u16 port,
		      const char *iface)
{
	bool used[SYRUP_DISPATCH_SLOTS] = {false};
	__u32 key, next, slot, *prev = NULL;

	while (!bpf_map_get_next_key(d->ports_fd, prev, &next)) {
		if (!bpf_map_lookup_elem(d->ports_fd, &next, &slot) &&
		    slot < SYRUP_DISPATCH_SLOTS)
			used[slot] = true;
		key = next;
		prev = &key;
	}
	for (slot = 0; slot < SYRUP_DISPATCH_SLOTS && used[slot]; slot++)
		;
	if (slot == SYRUP_DISPATCH_SLOTS)
		return fp_error("%s already has %d XDP-layer ports", iface,
				SYRUP_DISPATCH_SLOTS);
	if (bpf_map_update_elem(d->progs_fd, &slot, &prog_fd, BPF_ANY))
		return fp_error("cannot add the policy to the XDP dispatcher "
				"of %s: %s",
				iface, fp_strerror(-errno));
	key = SYRUP_DISPATCH_KEY(proto, port);
	if (bpf_map_update_elem(d->ports_fd, &key, &slot, BPF_NOEXIST))
		return fp_error("cannot add %s/%u to the XDP dispatcher of %s: "
				"%s",
				proto_name(proto), port, iface,
				fp_strerror(-errno));
	return 0;
}

void dispatcher_remove(const char *dir, __u8 proto, __u16 port)
{
	int progs_fd = fp_pin_open(dir, "progs"),
	    ports_fd = fp_pin_open(dir, "ports");
	__u32 key = SYRUP_DISPATCH_KEY(proto, port), slot, next;
	bool empty = true;

	if (ports_fd >= 0 && !bpf_map_lookup_elem(ports_fd, &key, &slot)) {
		bpf_map_delete_elem(ports_fd, &key);
		if (progs_fd >= 0)
			bpf_map_delete_elem(progs_fd, &slot);
	}
	if (ports_fd >= 0)
		empty = bpf_map_get_next_key(ports_fd, NULL, &next) != 0;
	if (progs_fd >= 0)
		close(progs_fd);
	if (ports_fd >= 0)
		close(ports_fd);
	/* unpinning the link detaches the dispatcher */
	if (empty)
		fp_pin_dir_remove(dir, FP_BPFFS);
}
