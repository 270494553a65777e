// SPDX-License-Identifier: GPL-2.0
/*
 * xdp-pass: attach (or with -d remove) an XDP program that passes every
 * frame, for test beds. On veth, frames a peer sends back with XDP_TX are
 * only delivered when this end has an XDP program (see PLATFORM.md), so
 * the client side of a BMC test bed runs this one.
 *
 *   xdp-pass [-d] IFACE      (run it inside the namespace: ip netns exec)
 *
 * The program is attached through netlink in native mode and stays until
 * `xdp-pass -d IFACE` or the interface goes away.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

int main(int argc, char **argv)
{
	struct bpf_insn prog[] = {
		/* r0 = XDP_PASS; exit */
		{.code = BPF_ALU64 | BPF_MOV | BPF_K,
		 .dst_reg = BPF_REG_0,
		 .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int detach = 0, fd, err;
	unsigned int ifindex;
	const char *ifname;

	if (argc == 3 && !strcmp(argv[1], "-d"))
		detach = 1;
	else if (argc != 2) {
		fprintf(stderr, "usage: xdp-pass [-d] IFACE\n");
		return 64;
	}
	ifname = argv[argc - 1];
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "xdp-pass: no interface named %s\n", ifname);
		return 1;
	}
	if (detach) {
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (err)
			err = bpf_xdp_detach(ifindex, 0, NULL);
		return err ? 1 : 0;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_pass", "GPL", prog, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "xdp-pass: cannot load: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "xdp-pass: cannot attach to %s: %s\n", ifname,
			strerror(-err));
		return 1;
	}
	close(fd);
	return 0;
}
