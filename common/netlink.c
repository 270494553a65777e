// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netlink.h"

/*
 * Replies are read into this much: a link's RTM_NEWLINK carries every
 * statistic and per-family block, and a dump packs many messages into one
 * read, more than libmnl's MNL_SOCKET_BUFFER_SIZE.
 */
#define NL_BUF 32768

/*
 * Sends `req` and hands each reply to `cb`: one read for a plain request,
 * reads until NLMSG_DONE for a dump. 0, or -errno (an NLMSG_ERROR reply's
 * error included).
 */
static int nl_talk(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[NL_BUF];
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	struct mnl_socket *nl;
	unsigned int portid;
	int ret = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	req->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int r;

		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, portid, cb,
			       data);
		if (r < 0) {
			ret = errno ? -errno : -EIO;
			break;
		}
		if (!dump || r == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static int count_filter(const struct nlmsghdr *nh, void *data)
{
	if (nh->nlmsg_type == RTM_NEWTFILTER)
		(*(int *)data)++;
	return MNL_CB_OK;
}

int fp_nl_tc_filter_count(unsigned int ifindex, bool egress)
{
	char buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct tcmsg))] = {0};
	struct nlmsghdr *nh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tc;
	int count = 0, err;

	nh->nlmsg_type = RTM_GETTFILTER;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tc = mnl_nlmsg_put_extra_header(nh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = (int)ifindex;
	tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT,
				   egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	err = nl_talk(nh, count_filter, &count);
	return err ? err : count;
}

struct link_peer {
	int peer, nsid;
	bool veth;
};

static int parse_link(const struct nlmsghdr *nh, void *data)
{
	struct link_peer *lp = data;
	const struct nlattr *a, *i;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nh, sizeof(struct ifinfomsg))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_LINK:
			lp->peer = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINK_NETNSID:
			lp->nsid = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			mnl_attr_for_each_nested(i, a)
			{
				if (mnl_attr_get_type(i) == IFLA_INFO_KIND &&
				    !strncmp(mnl_attr_get_str(i), "veth", 4))
					lp->veth = true;
			}
			break;
		}
	}
	return MNL_CB_OK;
}

int fp_nl_veth_peer(unsigned int ifindex, int *peer, int *nsid)
{
	char buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg))] = {0};
	struct nlmsghdr *nh = mnl_nlmsg_put_header(buf);
	struct link_peer lp = {.nsid = -1};
	struct ifinfomsg *ifi;
	int err;

	nh->nlmsg_type = RTM_GETLINK;
	nh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	err = nl_talk(nh, parse_link, &lp);
	*peer = lp.peer;
	*nsid = lp.nsid;
	if (err)
		return err;
	return lp.veth ? 0 : -ENOENT;
}

static int parse_nsid(const struct nlmsghdr *nh, void *data)
{
	const struct nlattr *a;

	if (nh->nlmsg_type != RTM_NEWNSID)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nh, sizeof(struct rtgenmsg))
	{
		if (mnl_attr_get_type(a) == NETNSA_NSID) {
			*(int *)data = (int)mnl_attr_get_u32(a);
			return MNL_CB_STOP;
		}
	}
	return MNL_CB_OK;
}

int fp_nl_netns_id(int fd)
{
	char buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct rtgenmsg)) +
		 MNL_ALIGN(sizeof(struct nlattr) + sizeof(__u32))] = {0};
	struct nlmsghdr *nh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	int id = -1;

	nh->nlmsg_type = RTM_GETNSID;
	nh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nh, NETNSA_FD, (__u32)fd);
	if (nl_talk(nh, parse_nsid, &id))
		return -1;
	return id;
}
