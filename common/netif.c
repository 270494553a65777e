// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "log.h"
#include "netif.h"
#include "netlink.h"

bool fp_ifname_valid(const char *ifname)
{
	size_t n = ifname ? strlen(ifname) : 0;

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(ifname, ".") ||
	    !strcmp(ifname, ".."))
		return false;
	for (; *ifname; ifname++)
		if (*ifname == '/' || *ifname == ':' ||
		    isspace((unsigned char)*ifname))
			return false;
	return true;
}

unsigned int fp_ifindex(const char *ifname)
{
	unsigned int idx;

	if (!fp_ifname_valid(ifname)) {
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

/* Where the tool started, so a peer there can still be found after setns. */
static int home_netns_fd = -1;

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
	if (home_netns_fd < 0)
		home_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(fd, CLONE_NEWNET)) {
		int err = errno;

		close(fd);
		return fp_error("cannot enter network namespace %s: %s", name,
				strerror(err));
	}
	close(fd);
	return 0;
}

unsigned long fp_netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (unsigned long)st.st_ino;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

uint64_t fp_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

/*
 * Is an XDP program attached to ifindex in the namespace at fd? Enters it
 * and comes back. 1 yes, 0 no (name in *name), -1 cannot tell.
 */
static int xdp_in_netns(int fd, int ifindex, char *name, size_t len)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), r = -1;

	if (self < 0)
		return -1;
	if (!setns(fd, CLONE_NEWNET)) {
		if (!if_indextoname((unsigned int)ifindex, name))
			snprintf(name, len, "ifindex %d", ifindex);
		r = fp_xdp_attached((unsigned int)ifindex, NULL) ? 1 : 0;
		if (setns(self, CLONE_NEWNET))
			r = -1;
	}
	close(self);
	return r;
}

/* Finds the peer's namespace among where we started and /run/netns/. */
static int xdp_on_remote_peer(int peer, int nsid, char *name, size_t len,
			      char *where, size_t wlen)
{
	struct dirent *de;
	DIR *d;
	int r = -1;

	if (home_netns_fd >= 0 && fp_nl_netns_id(home_netns_fd) == nsid) {
		snprintf(where, wlen, "the initial namespace");
		return xdp_in_netns(home_netns_fd, peer, name, len);
	}
	d = opendir("/run/netns");
	if (!d)
		return -1;
	while (r < 0 && (de = readdir(d))) {
		char path[512];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fp_nl_netns_id(fd) == nsid) {
			snprintf(where, wlen, "namespace %s", de->d_name);
			r = xdp_in_netns(fd, peer, name, len);
		}
		close(fd);
	}
	closedir(d);
	return r;
}

int fp_veth_peer_has_xdp(unsigned int ifindex, char *peer, size_t len,
			 char *peer_name, size_t name_len)
{
	char where[300] = "";
	int peer_idx, nsid, r;

	if (fp_nl_veth_peer(ifindex, &peer_idx, &nsid) || peer_idx <= 0)
		return -1;
	if (nsid < 0) {
		r = fp_xdp_attached((unsigned int)peer_idx, NULL) ? 1 : 0;
		if (!if_indextoname((unsigned int)peer_idx, peer_name))
			snprintf(peer_name, name_len, "ifindex %d", peer_idx);
	} else {
		/* Another namespace: only if we can find it by name. */
		r = xdp_on_remote_peer(peer_idx, nsid, peer_name, name_len,
				       where, sizeof(where));
	}
	snprintf(peer, len, "%s%s%s", peer_name, *where ? " in " : "", where);
	return r;
}
