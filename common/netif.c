// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netif.h"

unsigned int fp_ifindex(const char *ifname)
{
	unsigned int idx;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		fp_error("invalid interface name '%s'", ifname ? ifname : "");
		return 0;
	}
	idx = if_nametoindex(ifname);
	if (!idx)
		fp_error("no interface named %s in this network namespace "
			 "(see 'ip link'; use --netns NAME for another one)",
			 ifname);
	return idx;
}

int fp_netns_enter(const char *name)
{
	char path[256];
	int fd;

	if (!name || !*name || strchr(name, '/') || strlen(name) > 200)
		return fp_error("invalid network namespace name '%s'",
				name ? name : "");
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fp_error("no network namespace named %s (%s: %s; see "
				"'ip netns list')",
				name, path, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		int err = errno;

		close(fd);
		return fp_error("cannot enter network namespace %s: %s", name,
				strerror(err));
	}
	close(fd);
	return 0;
}

struct link_info {
	int link;       /* IFLA_LINK, 0 if absent */
	bool other_ns;  /* IFLA_LINK_NETNSID present */
	char kind[32];  /* IFLA_INFO_KIND */
};

static void parse_linkinfo(struct rtattr *info, int len, struct link_info *li)
{
	for (struct rtattr *a = info; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_INFO_KIND)
			snprintf(li->kind, sizeof(li->kind), "%.*s",
				 (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
	}
}

static int get_link(unsigned int ifindex, struct link_info *li)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req;
	char buf[16384];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, len, err = -ENOENT;

	memset(li, 0, sizeof(*li));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	len = (int)recv(fd, buf, sizeof(buf), 0);
	if (len < 0) {
		err = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)len);
	     nh = NLMSG_NEXT(nh, len)) {
		struct ifinfomsg *ifi;
		struct rtattr *a;
		int alen;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWLINK)
			continue;
		ifi = NLMSG_DATA(nh);
		alen = (int)IFLA_PAYLOAD(nh);
		for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			if (a->rta_type == IFLA_LINK)
				li->link = *(int *)RTA_DATA(a);
			else if (a->rta_type == IFLA_LINK_NETNSID)
				li->other_ns = true;
			else if (a->rta_type == IFLA_LINKINFO)
				parse_linkinfo(RTA_DATA(a), (int)RTA_PAYLOAD(a),
					       li);
		}
		err = 0;
		break;
	}
out:
	close(fd);
	return err;
}

int fp_veth_peer_ifindex(unsigned int ifindex)
{
	struct link_info li;

	if (get_link(ifindex, &li) || strcmp(li.kind, "veth"))
		return -1;
	if (li.other_ns)
		return 0;
	return li.link;
}
