/* SPDX-License-Identifier: GPL-2.0 */
/* Interfaces and network namespaces, by name, with clear errors. */
#ifndef FASTPATH_NETIF_H
#define FASTPATH_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interface index, or prints "tool: no interface named X" and returns 0. */
/* The kernel's rule (dev_valid_name): 1 to 15 bytes, not "." or "..",
 * no '/', ':' or white space. Tools check it while parsing (exit 64). */
bool fp_ifname_valid(const char *ifname);
unsigned int fp_ifindex(const char *ifname);
/*
 * setns() into /run/netns/NAME (what `ip netns add` creates). Unlike
 * `ip netns exec`, bpffs pins stay visible. Prints and returns 1 on error.
 */
int fp_netns_enter(const char *name);
/* Inode of the current network namespace (/proc/self/ns/net), 0 if unknown. */
unsigned long fp_netns_inode(void);
/*
 * Cookie of the current network namespace (SO_NETNS_COOKIE, Linux 5.14),
 * what bpf_get_netns_cookie() returns in BPF; 0 if unknown.
 */
uint64_t fp_netns_cookie(void);
/*
 * For a veth: is an XDP program attached to its peer? (On veth, XDP_TX
 * frames reach the peer only if it has one.) The peer may live in another
 * namespace: one named under /run/netns, or the one the tool started in
 * before fp_netns_enter(). Returns 1 yes, 0 no, with the peer described in
 * `peer` ("vc0" or "vc0 in namespace cli") and its name in `peer_name`;
 * -1 when ifindex is not a veth or the peer cannot be found.
 */
int fp_veth_peer_has_xdp(unsigned int ifindex, char *peer, size_t len,
			 char *peer_name, size_t name_len);

#endif
