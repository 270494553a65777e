/* SPDX-License-Identifier: GPL-2.0 */
/* Interfaces and network namespaces, by name, with clear errors. */
#ifndef FASTPATH_NETIF_H
#define FASTPATH_NETIF_H

/* Interface index, or prints "tool: no interface named X" and returns 0. */
unsigned int fp_ifindex(const char *ifname);
/*
 * setns() into /run/netns/NAME (what `ip netns add` creates). Unlike
 * `ip netns exec`, bpffs pins stay visible. Prints and returns 1 on error.
 */
int fp_netns_enter(const char *name);
/*
 * For veth: the peer's ifindex in the current namespace, 0 when the peer
 * lives in another namespace, -1 when `ifindex` is not a veth.
 */
int fp_veth_peer_ifindex(unsigned int ifindex);

#endif
