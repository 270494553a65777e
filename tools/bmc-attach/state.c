// SPDX-License-Identifier: GPL-2.0
/*
 * BMC's pinned state, /sys/fs/bpf/bmc/IFACE/ (bpf/bmc.h lists the two maps
 * bmc-stat reads):
 *   stats, config   the contract with bmc-stat
 *   xdp_link        the XDP bpf_link (unpinning it detaches XDP)
 *   tc_prog         the TC egress program (to recognise our filter)
 *   tc_ingress_prog the TC ingress program (the same, on ingress)
 *   restart_link    the tracepoint link
 *   udp_bind4_link, udp_bind6_link, udp_release_link
 *                   cgroup links (root cgroup v2) that flush when a UDP
 *                   socket on the port is bound or closed, so that a
 *                   UDP-only memcached's restart is seen too
 * and what every command does before it touches them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bmc-attach.h"

int bmc_pin_dir(char *buf, size_t len, const char *iface)
{
	return fp_pin_path(buf, len, BMC_PIN_ROOT, iface);
}

int bmc_read_config(const char *dir, struct bmc_config *cfg)
{
	__u32 zero = 0;

	memset(cfg, 0, sizeof(*cfg));
	return fp_pin_lookup(dir, "config", &zero, cfg);
}

bool bmc_netns_alive(unsigned long ino)
{
	struct dirent *de;
	DIR *d;
	bool alive = false;

	if (ino == fp_netns_inode())
		return true;
	d = opendir("/run/netns");
	if (!d)
		return false;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (!stat(path, &st) && (unsigned long)st.st_ino == ino) {
			alive = true;
			break;
		}
	}
	closedir(d);
	return alive;
}

unsigned int bmc_pinned_prog_id(const char *dir, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = fp_pin_open(dir, name);

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* Links detached explicitly before their pins go (see below). */
static const char *const detach_now[] = {
	"xdp_link",	    "udp_bind4_link", "udp_bind6_link",
	"udp_release_link", "restart_link",
};

/* Our filter on one TC hook, if it still runs the program pinned as pin. */
static int remove_filter(const char *dir, const struct bmc_config *cfg,
			 bool egress, const char *pin)
{
	unsigned int ours = bmc_pinned_prog_id(dir, pin), id = 0;
	int err;

	if (!ours ||
	    !fp_tc_attached(cfg->ifindex, egress, BMC_TC_HANDLE, BMC_TC_PRIO,
			    &id) ||
	    id != ours)
		return 0;
	err = fp_tc_detach(cfg->ifindex, egress, BMC_TC_HANDLE, BMC_TC_PRIO);
	if (err && err != -ENOENT)
		return fp_error("cannot remove the TC %s filter: %s",
				egress ? "egress" : "ingress",
				fp_strerror(err));
	return 0;
}

int bmc_remove(const char *dir, const struct bmc_config *cfg, bool same_ns)
{
	int err;

	if (same_ns && cfg && cfg->ifindex) {
		if (remove_filter(dir, cfg, true, "tc_prog") ||
		    remove_filter(dir, cfg, false, "tc_ingress_prog"))
			return 1;
		fp_tc_hook_destroy_if_empty(cfg->ifindex);
	}
	/*
	 * Detach the links now: dropping their last pin frees them only
	 * later (deferred), and a --replace right after must find XDP and
	 * the cgroup programs gone.
	 */
	for (size_t i = 0; i < sizeof(detach_now) / sizeof(detach_now[0]);
	     i++) {
		int fd = fp_pin_open(dir, detach_now[i]);

		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	err = fp_pin_dir_remove(dir, FP_BPFFS);
	if (err && err != -ENOENT)
		return fp_error("cannot remove %s: %s", dir, fp_strerror(err));
	return 0;
}

int bmc_prepare(const char *netns)
{
	int err;

	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_NET_ADMIN |
				FP_CAP_SYS_ADMIN | FP_CAP_PERFMON))
		return FP_EXIT_FAIL;
	fp_bump_memlock();
	err = fp_mount_bpffs();
	if (err)
		return fp_error("cannot mount bpffs at %s: %s", FP_BPFFS,
				fp_strerror(err));
	if (netns && fp_netns_enter(netns))
		return FP_EXIT_FAIL;
	return 0;
}

void iface_arg(struct argp_state *state, const char **slot, const char *arg)
{
	if (*slot)
		argp_error(state,
			   "unexpected argument '%s': one interface at "
			   "a time",
			   arg);
	if (!fp_ifname_valid(arg))
		argp_error(state, "invalid interface name '%s'", arg);
	*slot = arg;
}
