// SPDX-License-Identifier: GPL-2.0
/*
 * How BMC sees memcached restart, so that a new memcached never gets the
 * old one's values answered for it: a tracepoint on TCP state changes
 * (its listener closing or opening), and, for a UDP-only memcached, cgroup
 * programs on the sockets of the port being bound or closed, seeded with
 * the sockets already bound when BMC is attached.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bmc-attach.h"
#include "bmc-attach.skel.h"

/* Pins a program's link in dir; the pin keeps it once our fd is gone. */
static int pin_link(struct bpf_link *link, const char *dir, const char *name)
{
	int err = fp_pin_fd(bpf_link__fd(link), dir, name);

	if (err) {
		bpf_link__destroy(link);
		return fp_error("cannot pin %s/%s: %s", dir, name,
				fp_strerror(err));
	}
	/* The pin holds it; dropping our reference keeps it attached. */
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return 0;
}

static int attach_cgroup_prog(struct bpf_program *prog, int cg_fd,
			      const char *dir, const char *name)
{
	struct bpf_link *link = bpf_program__attach_cgroup(prog, cg_fd);

	if (!link)
		return fp_error("cannot attach %s to the root cgroup: %s",
				bpf_program__name(prog), fp_strerror(-errno));
	return pin_link(link, dir, name);
}

/*
 * Seeds udp_socks with the cookies of the UDP sockets already bound to
 * the port in this namespace, taken from their holders with pidfd_getfd.
 */
static void seed_udp_sockets(int map_fd, uint16_t port)
{
	struct fp_socket_query q = {
		.proto = IPPROTO_UDP, .port = port, .any_state = true};
	struct fp_port_socket *s = NULL;
	uint64_t ino[64];
	int n, found = 0;
	__u8 one = 1;

	n = fp_port_sockets(&q, &s);
	for (int i = 0; i < n; i++) {
		int sfd = fp_take_fd(s[i].pid, s[i].fd);
		__u64 cookie;

		if (sfd < 0)
			continue;
		cookie = fp_socket_cookie(sfd);
		if (cookie &&
		    !bpf_map_update_elem(map_fd, &cookie, &one, BPF_ANY)) {
			found++;
			fp_debug("UDP socket on port %u: pid %d fd %d "
				 "(cookie %llu)",
				 port, (int)s[i].pid, s[i].fd,
				 (unsigned long long)cookie);
		}
		close(sfd);
	}
	free(s);
	if (found)
		return;
	n = fp_port_inodes(&q, ino, 64);
	if (!n)
		fp_debug("no UDP socket is bound to port %u yet: a memcached "
			 "started later is seen when it binds",
			 port);
	else
		fp_debug("%d UDP socket(s) bound to port %u, but no process "
			 "holding one could be found: their closing will not "
			 "flush the cache (a later memcached's will)",
			 n, port);
}

int bmc_watch_restarts(struct bmc_attach_bpf *skel, const char *dir,
		       uint16_t port)
{
	struct bpf_link *rlink;
	int cg_fd, err = 1;

	rlink = bpf_program__attach(skel->progs.bmc_restart);
	if (!rlink)
		return fp_error("cannot attach the tracepoint "
				"inet_sock_set_state: %s",
				fp_strerror(-errno));
	if (pin_link(rlink, dir, "restart_link"))
		return 1;

	/* A UDP-only memcached: its sockets on the port, bound or closed. */
	cg_fd = fp_cgroup2_open();
	if (cg_fd < 0)
		return fp_error("cannot open the cgroup v2 root (needed to see "
				"a UDP-only memcached restart): %s",
				fp_strerror(cg_fd));
	if (attach_cgroup_prog(skel->progs.bmc_release, cg_fd, dir,
			       "udp_release_link") ||
	    attach_cgroup_prog(skel->progs.bmc_bind4, cg_fd, dir,
			       "udp_bind4_link") ||
	    attach_cgroup_prog(skel->progs.bmc_bind6, cg_fd, dir,
			       "udp_bind6_link"))
		goto out;
	seed_udp_sockets(bpf_map__fd(skel->maps.udp_socks), port);
	err = 0;
out:
	close(cg_fd);
	return err;
}
