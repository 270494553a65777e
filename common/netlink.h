/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Route netlink (rtnetlink) through libmnl: the one file in the toolkit
 * that builds netlink messages and parses their attributes. libbpf covers
 * XDP and TC attachment; these are the questions it has no call for.
 */
#ifndef FASTPATH_NETLINK_H
#define FASTPATH_NETLINK_H

#include <stdbool.h>

/* TC filters under one clsact direction of ifindex, or -errno. */
int fp_nl_tc_filter_count(unsigned int ifindex, bool egress);
/*
 * For a veth: its peer's ifindex (IFLA_LINK) and the id the current
 * namespace gives the peer's namespace (IFLA_LINK_NETNSID; -1 when the
 * peer is in this namespace). 0, -ENOENT when ifindex is not a veth, or
 * another -errno.
 */
int fp_nl_veth_peer(unsigned int ifindex, int *peer, int *nsid);
/* The id the current namespace gives the namespace open at fd, or -1. */
int fp_nl_netns_id(int fd);

#endif
