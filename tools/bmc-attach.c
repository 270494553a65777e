// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-attach: load BMC, the in-kernel memcached cache, in front of a
 * memcached and leave it running.
 *
 * XDP ingress answers UDP GET hits and sees every write; TC egress fills
 * the cache from memcached's replies; a tracepoint flushes when memcached's
 * listener closes or opens. Everything stays through pins under
 * /sys/fs/bpf/bmc/IFACE/ (bpf/bmc.h lists the two maps bmc-stat reads):
 *   stats, config   the contract with bmc-stat
 *   xdp_link        the XDP bpf_link (unpinning it detaches XDP)
 *   tc_prog         the TC egress program (to recognise our filter)
 *   restart_link    the tracepoint link
 *   udp_bind4_link, udp_bind6_link, udp_release_link
 *                   cgroup links (root cgroup v2) that flush when a UDP
 *                   socket on the port is bound or closed, so that a
 *                   UDP-only memcached's restart is seen too
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "fastpath.h"
#include "bmc.h"
#include "bmc-attach.skel.h"

#define BMC_PIN_ROOT  FP_BPFFS "/bmc"
#define DEFAULT_CACHE (64ULL << 20)
#define MIN_CACHE     (64ULL << 10)
#define MAX_CACHE     (64ULL << 30)

enum { ACT_ATTACH, ACT_DETACH, ACT_STATUS };

enum {
	OPT_CACHE = 256,
	OPT_MODE,
	OPT_MAX_AGE,
	OPT_NETNS,
	OPT_REPLACE,
	OPT_DETACH,
	OPT_STATUS,
};

static struct env {
	int action;
	const char *iface;
	uint16_t port;
	uint64_t cache_size;
	enum fp_xdp_mode mode;
	uint32_t max_age;
	const char *netns;
	bool replace;
} env = {
	.action = ACT_ATTACH,
	.port = 11211,
	.cache_size = DEFAULT_CACHE,
	.mode = FP_XDP_AUTO,
};

const char argp_program_doc[] =
	"Attach BMC, an in-kernel cache for memcached, to an interface.\n"
	"\v"
	"EXAMPLES:\n"
	"    bmc-attach eth0                    # cache for memcached on "
	"port 11211\n"
	"    bmc-attach eth0 --cache-size 256M  # a bigger cache\n"
	"    bmc-attach veth0 --netns mc        # an interface in netns mc\n"
	"    bmc-attach eth0 --max-age 60       # also cache values set "
	"before attach\n"
	"    bmc-attach eth0 --replace          # reload, e.g. after an "
	"upgrade\n"
	"    bmc-attach --status                # where BMC runs\n"
	"    bmc-attach --detach eth0           # remove it again\n";

static const struct argp_option options[] = {
	{"port", 'p', "PORT", 0, "memcached's TCP and UDP port (11211)", 0},
	{"cache-size", OPT_CACHE, "SIZE", 0,
	 "Cache memory, K/M/G suffixes (64M)", 0},
	{"mode", OPT_MODE, "MODE", 0,
	 "XDP mode: auto, native or generic (auto)", 0},
	{"max-age", OPT_MAX_AGE, "SECS", 0,
	 "Cache values whose expiry BMC did not see for at most SECS "
	 "(default: do not cache them)",
	 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Network namespace of IFACE (/run/netns/NAME)", 0},
	{"replace", OPT_REPLACE, NULL, 0,
	 "Replace BMC already attached to IFACE", 0},
	{"detach", OPT_DETACH, NULL, 0, "Detach BMC from IFACE", 0},
	{"status", OPT_STATUS, NULL, 0, "List where BMC is attached", 0},
	{"json", 'j', NULL, 0, "JSON Lines output (one object per line)", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	uint64_t v;

	switch (key) {
	case 'p':
		if (fp_parse_port(arg, &env.port))
			argp_error(state, "invalid port '%s': want 1..65535",
				   arg);
		break;
	case OPT_CACHE:
		if (fp_parse_size(arg, &env.cache_size) ||
		    env.cache_size < MIN_CACHE || env.cache_size > MAX_CACHE)
			argp_error(state,
				   "invalid cache size '%s': want 64K..64G, "
				   "e.g. 64M",
				   arg);
		break;
	case OPT_MODE:
		if (fp_xdp_mode_parse(arg, &env.mode))
			argp_error(state,
				   "invalid mode '%s': want auto, native or "
				   "generic",
				   arg);
		break;
	case OPT_MAX_AGE:
		if (fp_parse_u64(arg, 1, 30 * 86400, &v))
			argp_error(state,
				   "invalid max age '%s': want seconds, "
				   "1..2592000",
				   arg);
		env.max_age = (uint32_t)v;
		break;
	case OPT_NETNS:
		env.netns = arg;
		break;
	case 'j':
		fp_opts.json = true;
		break;
	case OPT_REPLACE:
		env.replace = true;
		break;
	case OPT_DETACH:
		if (env.action == ACT_STATUS)
			argp_error(state, "--detach and --status exclude each "
					  "other");
		env.action = ACT_DETACH;
		break;
	case OPT_STATUS:
		if (env.action == ACT_DETACH)
			argp_error(state, "--detach and --status exclude each "
					  "other");
		env.action = ACT_STATUS;
		break;
	case ARGP_KEY_ARG:
		if (env.iface)
			argp_error(state,
				   "unexpected argument '%s': one "
				   "interface at a time",
				   arg);
		env.iface = arg;
		break;
	case ARGP_KEY_END:
		if (env.action == ACT_STATUS && env.iface)
			argp_error(state, "--status takes no interface");
		if (env.action != ACT_STATUS && !env.iface)
			argp_error(state, "no interface given (e.g. "
					  "bmc-attach eth0)");
		if (env.action == ACT_STATUS && env.netns)
			argp_error(state, "--status lists every namespace: "
					  "no --netns");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Is a network namespace with this inode still around (ours or named)? */
static bool netns_alive(unsigned long ino)
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

static int pin_dir(char *buf, size_t len, const char *iface)
{
	int n = snprintf(buf, len, "%s/%s", BMC_PIN_ROOT, iface);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The pinned config of one attachment, 0 or -errno. */
static int read_config(const char *dir, struct bmc_config *cfg)
{
	char path[512];
	__u32 zero = 0;
	int fd, err = 0;

	if (fp_pin_path(path, sizeof(path), dir, "config"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(cfg, 0, sizeof(*cfg));
	if (bpf_map_lookup_elem(fd, &zero, cfg))
		err = -errno;
	close(fd);
	return err;
}

static unsigned int pinned_prog_id(const char *dir, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	if (fp_pin_path(path, sizeof(path), dir, name))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

static bool prog_is_named(unsigned int id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool same = false;

	if (fd < 0)
		return false;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		same = !strcmp(info.name, name);
	close(fd);
	return same;
}

static bool pin_exists(const char *dir, const char *name)
{
	char path[512];

	if (fp_pin_path(path, sizeof(path), dir, name))
		return false;
	return access(path, F_OK) == 0;
}

/* Links detached explicitly before their pins go (see below). */
static const char *const detach_now[] = {
	"xdp_link",	    "udp_bind4_link", "udp_bind6_link",
	"udp_release_link", "restart_link",
};

/*
 * Removes our TC filter (only if it still runs our pinned program) and
 * every pin; unpinning the links detaches XDP and the tracepoint.
 */
static int remove_attachment(const char *dir, const struct bmc_config *cfg,
			     bool same_ns)
{
	unsigned int ours = pinned_prog_id(dir, "tc_prog"), id = 0;
	char path[512];
	int err;

	if (same_ns && cfg && cfg->ifindex && ours &&
	    fp_tc_attached(cfg->ifindex, true, BMC_TC_HANDLE, BMC_TC_PRIO,
			   &id) &&
	    id == ours) {
		err = fp_tc_detach(cfg->ifindex, true, BMC_TC_HANDLE,
				   BMC_TC_PRIO);
		if (err && err != -ENOENT)
			return fp_error("cannot remove the TC egress filter: "
					"%s",
					fp_strerror(err));
		fp_tc_hook_destroy_if_empty(cfg->ifindex);
	}
	/*
	 * Detach the links now: dropping their last pin frees them only
	 * later (deferred), and a --replace right after must find XDP and
	 * the cgroup programs gone.
	 */
	for (size_t i = 0; i < sizeof(detach_now) / sizeof(detach_now[0]);
	     i++) {
		int fd;

		if (fp_pin_path(path, sizeof(path), dir, detach_now[i]))
			continue;
		fd = bpf_obj_get(path);
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

static uint64_t pow2_floor(uint64_t v)
{
	uint64_t p = 1;

	while (p * 2 <= v)
		p *= 2;
	return p;
}

static int64_t realtime_offset(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000LL +
	       (rt.tv_nsec - mono.tv_nsec);
}

static int pin_map(struct bpf_map *map, const char *dir, const char *name)
{
	char path[512];
	int err;

	if (fp_pin_path(path, sizeof(path), dir, name))
		return fp_error("pin path too long: %s/%s", dir, name);
	err = bpf_map__pin(map, path);
	if (err)
		return fp_error("cannot pin %s: %s", path, fp_strerror(err));
	return 0;
}

static void print_attached(const char *dir, const struct bmc_config *cfg)
{
	char size[32];

	fp_human_bytes(size, sizeof(size), cfg->cache_size);
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_string(&j, "attached", env.iface);
		fp_json_kv_u64(&j, "ifindex", cfg->ifindex);
		fp_json_kv_string(&j, "mode", fp_xdp_mode_name(cfg->xdp_mode));
		fp_json_kv_u64(&j, "port", cfg->port);
		fp_json_kv_u64(&j, "cache_size", cfg->cache_size);
		fp_json_kv_u64(&j, "cache_entries", cfg->cache_entries);
		fp_json_kv_u64(&j, "max_age", cfg->max_age);
		fp_json_kv_string(&j, "pins", dir);
		fp_json_object_end(&j);
		fp_json_newline(&j);
		return;
	}
	printf("bmc-attach: BMC attached to %s (%s XDP, port %u, cache %s = "
	       "%llu entries%s), pinned at %s\n",
	       env.iface, fp_xdp_mode_name(cfg->xdp_mode), cfg->port, size,
	       (unsigned long long)cfg->cache_entries,
	       cfg->max_age ? ", --max-age set" : "", dir);
}

/* The namespace bmc-attach started in (before --netns), -1 if none. */
static void warn_veth_peer(unsigned int ifindex)
{
	char peer[320], name[32];

	if (fp_veth_peer_has_xdp(ifindex, peer, sizeof(peer), name,
				 sizeof(name)) != 0)
		return; /* not a veth, peer has XDP, or cannot tell */
	fp_warn("%s is a veth whose peer %s has no XDP program: BMC's "
		"XDP_TX replies will be dropped there (attach one to %s, e.g. "
		"an XDP_PASS program)",
		env.iface, peer, name);
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#define CGROUP2_FALLBACK "/sys/fs/cgroup/unified"

/* The cookie of the current network namespace, 0 if unknown. */
static __u64 current_netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

/* An open fd of the root cgroup v2 (mounted if nowhere), or -errno. */
static int open_cgroup2_root(void)
{
	char line[4096], mnt[1024] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd;

	while (f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char m[1024], root[1024];

		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		/* id parent maj:min root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, m) != 2 ||
		    strcmp(root, "/"))
			continue;
		snprintf(mnt, sizeof(mnt), "%s", m);
		break;
	}
	if (f)
		fclose(f);
	if (!mnt[0]) {
		mkdir(CGROUP2_FALLBACK, 0755);
		if (mount("cgroup2", CGROUP2_FALLBACK, "cgroup2", 0, NULL))
			return -errno;
		fp_debug("mounted cgroup2 at %s", CGROUP2_FALLBACK);
		snprintf(mnt, sizeof(mnt), "%s", CGROUP2_FALLBACK);
	}
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fp_debug("cgroup v2 root: %s", mnt);
	return fd;
}

/* Inodes of UDP sockets bound to port in /proc/net/FILE (this netns). */
static int udp_inodes(const char *file, uint16_t port, unsigned long *ino,
		      int n, int max)
{
	char line[512];
	FILE *f = fopen(file, "re");

	if (!f)
		return n;
	while (n < max && fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned int lport;
		unsigned long inode;
		char *colon;

		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %63s %*s %*s %*s %*s %*s %*s %*s %lu",
			   local, &inode) != 2)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &lport) != 1 ||
		    lport != port || !inode)
			continue;
		ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/*
 * Seeds udp_socks with the cookies of the UDP sockets already bound to
 * the port in this namespace: found through /proc/net/udp{,6} inodes and a
 * /proc/PID/fd scan, taken with pidfd_getfd, asked for SO_COOKIE.
 */
static void seed_udp_sockets(int map_fd)
{
	unsigned long ino[64];
	int n = 0, found = 0;
	struct dirent *pe;
	DIR *proc;
	__u8 one = 1;

	n = udp_inodes("/proc/net/udp", env.port, ino, n, 64);
	n = udp_inodes("/proc/net/udp6", env.port, ino, n, 64);
	if (!n) {
		fp_debug("no UDP socket is bound to port %u yet: a memcached "
			 "started later is seen when it binds",
			 env.port);
		return;
	}
	proc = opendir("/proc");
	while (proc && (pe = readdir(proc))) {
		char fddir[64], lpath[320], target[64];
		struct dirent *fe;
		int pid, pidfd = -1;
		DIR *fds;

		pid = atoi(pe->d_name);
		if (pid <= 0)
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%d/fd", pid);
		fds = opendir(fddir);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			unsigned long i;
			__u64 cookie = 0;
			socklen_t len = sizeof(cookie);
			ssize_t l;
			int k, sfd;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(lpath, sizeof(lpath), "%s/%s", fddir,
				 fe->d_name);
			l = readlink(lpath, target, sizeof(target) - 1);
			if (l <= 0)
				continue;
			target[l] = 0;
			if (sscanf(target, "socket:[%lu]", &i) != 1)
				continue;
			for (k = 0; k < n && ino[k] != i; k++)
				;
			if (k == n)
				continue;
			if (pidfd < 0)
				pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
			if (pidfd < 0)
				break;
			sfd = (int)syscall(SYS_pidfd_getfd, pidfd,
					   atoi(fe->d_name), 0);
			if (sfd < 0)
				continue;
			if (!getsockopt(sfd, SOL_SOCKET, SO_COOKIE, &cookie,
					&len) &&
			    !bpf_map_update_elem(map_fd, &cookie, &one,
						 BPF_ANY)) {
				found++;
				fp_debug("UDP socket on port %u: pid %d fd %s "
					 "(cookie %llu)",
					 env.port, pid, fe->d_name,
					 (unsigned long long)cookie);
			}
			close(sfd);
		}
		closedir(fds);
		if (pidfd >= 0)
			close(pidfd);
	}
	if (proc)
		closedir(proc);
	if (!found)
		fp_debug("%d UDP socket(s) bound to port %u, but no process "
			 "holding one could be found: their closing will not "
			 "flush the cache (a later memcached's will)",
			 n, env.port);
}

static int attach_cgroup_prog(struct bpf_program *prog, int cg_fd,
			      const char *dir, const char *name)
{
	struct bpf_link *link = bpf_program__attach_cgroup(prog, cg_fd);
	char path[512];
	int err;

	if (!link)
		return fp_error("cannot attach %s to the root cgroup: %s",
				bpf_program__name(prog), fp_strerror(-errno));
	if (fp_pin_path(path, sizeof(path), dir, name))
		err = -ENAMETOOLONG;
	else
		err = bpf_link__pin(link, path);
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

static bool probe_coarse_clock(void)
{
	return fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns);
}

static bool probe_sock_release(void)
{
	return fp_probe_btf_enum_value("BPF_CGROUP_INET_SOCK_RELEASE");
}

static bool probe_xdp_link(void)
{
	return fp_probe_btf_enum_value("BPF_LINK_TYPE_XDP");
}

static bool probe_restart_tp(void)
{
	return fp_probe_btf_type("btf_trace_inet_sock_set_state");
}

/*
 * What BMC needs from the kernel, newest first: the first one missing names
 * the release to upgrade to. 5.12 also brought global functions that take
 * pointers, which BMC's programs are built from. Not needed: bpf_loop
 * (5.17) and bpf_xdp_load_bytes/bpf_xdp_store_bytes (5.18, see
 * probe_xdp_bytes).
 */
static const struct bmc_need {
	const char *what;
	const char *since;
	bool (*present)(void);
} bmc_needs[] = {
	/* compare-and-exchange came with fetch-and-add, in the same release */
	{"BPF atomic fetch-and-add and compare-and-exchange", "5.12",
	 fp_probe_atomic_fetch},
	{"bpf_ktime_get_coarse_ns", "5.11", probe_coarse_clock},
	{"cgroup sock_release programs", "5.9", probe_sock_release},
	{"XDP links", "5.9", probe_xdp_link},
	{"tp_btf/inet_sock_set_state", "5.5", probe_restart_tp},
};

/* Without them (before 5.18) BMC reads and writes packets directly. */
static bool probe_xdp_bytes(void)
{
	return fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes) &&
	       fp_probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_store_bytes);
}

/*
 * Refuses, in one line naming what is missing, a kernel BMC cannot load
 * on, before the verifier gets to say something obscure about it.
 */
static int check_kernel(bool *xdp_bytes)
{
	const struct bmc_need *miss = NULL;
	struct utsname u;
	bool btf;

	btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (fp_opts.verbose) {
		fprintf(stderr, "%s: kernel features:\n", fp_tool_name);
		fp_probe_print(stderr, "BTF (/sys/kernel/btf/vmlinux)", btf);
	}
	if (!btf)
		return fp_error("BMC needs a kernel with BTF "
				"(CONFIG_DEBUG_INFO_BTF): "
				"/sys/kernel/btf/vmlinux is missing");
	for (size_t i = 0; i < sizeof(bmc_needs) / sizeof(bmc_needs[0]); i++) {
		bool ok = bmc_needs[i].present();

		if (fp_opts.verbose) {
			char what[128];

			snprintf(what, sizeof(what), "%s (%s)",
				 bmc_needs[i].what, bmc_needs[i].since);
			fp_probe_print(stderr, what, ok);
		}
		if (!ok && !miss)
			miss = &bmc_needs[i];
	}
	*xdp_bytes = probe_xdp_bytes();
	if (fp_opts.verbose)
		fp_probe_print(stderr, "bpf_xdp_load/store_bytes (5.18)",
			       *xdp_bytes);
	if (miss) {
		if (uname(&u))
			snprintf(u.release, sizeof(u.release), "unknown");
		return fp_error("BMC needs Linux %s or newer (%s); this kernel "
				"is %s",
				miss->since, miss->what, u.release);
	}
	if (!*xdp_bytes)
		fp_debug("no bpf_xdp_load_bytes/bpf_xdp_store_bytes (Linux "
			 "5.18): BMC reads and writes packets directly");
	return 0;
}

static int do_attach(void)
{
	struct bmc_attach_bpf *skel = NULL;
	struct bpf_link *rlink = NULL;
	struct bmc_config cfg = {}, old;
	char dir[256], path[512];
	uint64_t entries, sets, ngen, nexps;
	unsigned int ifindex;
	enum fp_xdp_mode used;
	bool created = false, tc_done = false, xdp_bytes = true;
	int err, xfd = -1, cg_fd = -1, ret = 1;
	__u32 zero = 0;

	ifindex = fp_ifindex(env.iface);
	if (!ifindex)
		return 1;
	if (pin_dir(dir, sizeof(dir), env.iface))
		return fp_error("interface name too long: %s", env.iface);

	if (fp_pin_dir_exists(dir)) {
		bool cfg_ok = read_config(dir, &old) == 0;

		if (cfg_ok && old.netns_ino != fp_netns_inode() &&
		    netns_alive(old.netns_ino))
			return fp_error(
				"BMC already runs on an interface named "
				"%s in another network namespace "
				"(inode %u); pins are per interface "
				"name, so detach it there first "
				"(bmc-attach --detach %s --netns NAME)",
				env.iface, old.netns_ino, env.iface);
		if (cfg_ok && old.netns_ino == fp_netns_inode() && !env.replace)
			return fp_error("BMC is already attached to %s (use "
					"--replace to reload it, or --detach "
					"first)",
					env.iface);
		/* --replace, or leftovers of a vanished namespace. */
		if (remove_attachment(dir, cfg_ok ? &old : NULL,
				      cfg_ok && old.netns_ino ==
							fp_netns_inode()))
			return 1;
		if (!cfg_ok || old.netns_ino != fp_netns_inode())
			fp_warn("removed stale pins at %s", dir);
	}
	if (fp_xdp_attached(ifindex, NULL))
		return fp_error("cannot attach XDP to %s: another XDP program "
				"is already attached (see 'ip link show %s')",
				env.iface, env.iface);

	/* Size the cache: a power-of-two number of sets of BMC_WAYS. */
	entries = env.cache_size / sizeof(struct bmc_entry);
	sets = pow2_floor(entries / BMC_WAYS ? entries / BMC_WAYS : 1);
	if (sets < 8)
		sets = 8;
	entries = sets * BMC_WAYS;
	ngen = pow2_floor(entries);
	if (ngen < entries)
		ngen *= 2;
	if (ngen < 1024)
		ngen = 1024;
	nexps = entries * 2 < 4096 ? 4096 : entries * 2;

	if (check_kernel(&xdp_bytes))
		return 1;
	skel = bmc_attach_bpf__open();
	if (!skel) {
		fp_error("cannot open the BPF object: %s", fp_strerror(-errno));
		goto cleanup;
	}
	skel->rodata->port_be = htons(env.port);
	skel->rodata->set_mask = sets - 1;
	skel->rodata->gen_mask = ngen - 1;
	skel->rodata->max_age_ns = (__u64)env.max_age * 1000000000ULL;
	skel->rodata->realtime_off_ns = realtime_offset();
	skel->rodata->netns_cookie = current_netns_cookie();
	skel->rodata->xdp_bytes = xdp_bytes;
	if (!skel->rodata->netns_cookie)
		fp_debug("no network namespace cookie (SO_NETNS_COOKIE): UDP "
			 "sockets on port %u in any namespace flush the cache",
			 env.port);
	bpf_map__set_max_entries(skel->maps.cache, (__u32)entries);
	bpf_map__set_max_entries(skel->maps.buckets, (__u32)ngen);
	bpf_map__set_max_entries(skel->maps.exps, (__u32)nexps);
	err = bmc_attach_bpf__load(skel);
	if (err) {
		fp_error("cannot load BMC's BPF programs: %s%s",
			 fp_strerror(err),
			 err == -ENOMEM || err == -E2BIG
				 ? " (try a smaller --cache-size)"
				 : " (run with -v for the verifier log)");
		goto cleanup;
	}

	err = fp_pin_dir_create(dir);
	if (err) {
		fp_error("cannot create %s: %s", dir, fp_strerror(err));
		goto cleanup;
	}
	created = true;
	if (pin_map(skel->maps.stats, dir, "stats") ||
	    pin_map(skel->maps.bmc_config, dir, "config"))
		goto cleanup;

	/* Config first: bmc-stat may look as soon as the pins appear. */
	cfg.ifindex = ifindex;
	cfg.port = env.port;
	cfg.xdp_mode = (__u8)env.mode;
	cfg.cache_size = env.cache_size;
	cfg.cache_entries = entries;
	cfg.max_age = env.max_age;
	cfg.netns_ino = (__u32)fp_netns_inode();
	cfg.attached_at = (__u64)time(NULL);

	/* A filter of ours left by an attach that died half-way: remove. */
	{
		unsigned int id = 0;

		if (fp_tc_attached(ifindex, true, BMC_TC_HANDLE, BMC_TC_PRIO,
				   &id)) {
			if (!prog_is_named(id, "bmc_tx")) {
				fp_error("cannot attach TC egress to %s: "
					 "another "
					 "filter uses handle 0x%x priority %u",
					 env.iface, BMC_TC_HANDLE, BMC_TC_PRIO);
				goto cleanup;
			}
			fp_warn("removed a stale BMC filter from %s",
				env.iface);
			fp_tc_detach(ifindex, true, BMC_TC_HANDLE, BMC_TC_PRIO);
		}
	}
	/* TC egress before XDP: fills must be running when hits start. */
	if (fp_tc_attach(ifindex, env.iface, true,
			 bpf_program__fd(skel->progs.bmc_tx), BMC_TC_HANDLE,
			 BMC_TC_PRIO))
		goto cleanup;
	tc_done = true;
	if (fp_pin_path(path, sizeof(path), dir, "tc_prog") ||
	    (err = bpf_program__pin(skel->progs.bmc_tx, path))) {
		fp_error("cannot pin %s: %s", path, fp_strerror(err));
		goto cleanup;
	}

	rlink = bpf_program__attach(skel->progs.bmc_restart);
	if (!rlink) {
		fp_error("cannot attach the tracepoint inet_sock_set_state: "
			 "%s",
			 fp_strerror(-errno));
		goto cleanup;
	}
	if (fp_pin_path(path, sizeof(path), dir, "restart_link") ||
	    (err = bpf_link__pin(rlink, path))) {
		fp_error("cannot pin %s: %s", path, fp_strerror(err));
		goto cleanup;
	}

	/* A UDP-only memcached: its sockets on the port, bound or closed. */
	cg_fd = open_cgroup2_root();
	if (cg_fd < 0) {
		fp_error("cannot open the cgroup v2 root (needed to see a "
			 "UDP-only memcached restart): %s",
			 fp_strerror(cg_fd));
		goto cleanup;
	}
	if (attach_cgroup_prog(skel->progs.bmc_release, cg_fd, dir,
			       "udp_release_link") ||
	    attach_cgroup_prog(skel->progs.bmc_bind4, cg_fd, dir,
			       "udp_bind4_link") ||
	    attach_cgroup_prog(skel->progs.bmc_bind6, cg_fd, dir,
			       "udp_bind6_link"))
		goto cleanup;
	seed_udp_sockets(bpf_map__fd(skel->maps.udp_socks));

	xfd = fp_xdp_attach(bpf_program__fd(skel->progs.bmc_rx), ifindex,
			    env.iface, env.mode, &used);
	if (xfd < 0)
		goto cleanup;
	cfg.xdp_mode = (__u8)used;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bmc_config), &zero, &cfg,
				BPF_ANY)) {
		fp_error("cannot write the config map: %s",
			 fp_strerror(-errno));
		goto cleanup;
	}
	if (fp_pin_path(path, sizeof(path), dir, "xdp_link") ||
	    bpf_obj_pin(xfd, path)) {
		fp_error("cannot pin %s: %s", path, fp_strerror(-errno));
		goto cleanup;
	}
	warn_veth_peer(ifindex);
	print_attached(dir, &cfg);
	ret = 0;

cleanup:
	if (ret && tc_done) {
		unsigned int id = 0;

		if (fp_tc_attached(ifindex, true, BMC_TC_HANDLE, BMC_TC_PRIO,
				   &id))
			fp_tc_detach(ifindex, true, BMC_TC_HANDLE, BMC_TC_PRIO);
		fp_tc_hook_destroy_if_empty(ifindex);
	}
	if (ret && created)
		remove_attachment(dir, NULL, false);
	if (cg_fd >= 0)
		close(cg_fd);
	if (xfd >= 0)
		close(xfd);
	bpf_link__destroy(rlink);
	bmc_attach_bpf__destroy(skel);
	return ret;
}

static void print_detached(bool was_attached)
{
	struct fp_json j;

	if (!fp_opts.json) {
		if (was_attached)
			printf("bmc-attach: BMC detached from %s\n", env.iface);
		else
			printf("bmc-attach: BMC is not attached to %s: nothing "
			       "to detach\n",
			       env.iface);
		return;
	}
	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_string(&j, "detached", env.iface);
	fp_json_kv_bool(&j, "was_attached", was_attached);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

static int do_detach(void)
{
	struct bmc_config cfg;
	char dir[256];
	bool same_ns, cfg_ok;

	if (pin_dir(dir, sizeof(dir), env.iface))
		return fp_error("interface name too long: %s", env.iface);
	/*
	 * Nothing to detach is success: ExecStop= and configuration
	 * management run detach without knowing whether BMC is still there.
	 */
	if (!fp_pin_dir_exists(dir)) {
		print_detached(false);
		return 0;
	}
	cfg_ok = read_config(dir, &cfg) == 0;
	same_ns = cfg_ok && cfg.netns_ino == fp_netns_inode();
	if (cfg_ok && !same_ns && netns_alive(cfg.netns_ino))
		return fp_error("BMC on %s was attached in another network "
				"namespace (inode %u): add --netns NAME",
				env.iface, cfg.netns_ino);
	if (remove_attachment(dir, cfg_ok ? &cfg : NULL, same_ns))
		return 1;
	if (!fp_opts.json && !same_ns)
		printf("bmc-attach: BMC detached from %s (its network "
		       "namespace is gone)\n",
		       env.iface);
	else
		print_detached(true);
	return 0;
}

static int do_status(void)
{
	static const struct fp_column cols[] = {
		{"IFACE", 12, true},   {"MODE", 7, true},
		{"PORT", 5, false},    {"CACHE", 9, false},
		{"ENTRIES", 8, false}, {"MAX-AGE", 7, false},
		{"NETNS", 10, false},  {"STATE", 8, true},
	};
	struct dirent *de;
	struct fp_json j;
	DIR *d;
	int n = 0;

	d = opendir(BMC_PIN_ROOT);
	if (!d) {
		if (!fp_opts.json)
			printf("bmc-attach: BMC is not attached anywhere\n");
		return 0;
	}
	fp_json_init(&j, stdout);
	while ((de = readdir(d))) {
		struct bmc_config cfg;
		char dir[512], size[32], port[16], ent[24], age[16], ns[16];
		const char *state;
		const char *vals[8];

		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", BMC_PIN_ROOT, de->d_name);
		if (read_config(dir, &cfg))
			continue;
		state = pin_exists(dir, "xdp_link") ? "attached" : "broken";
		if (!netns_alive(cfg.netns_ino))
			state = "stale";
		if (fp_opts.json) {
			fp_json_object_begin(&j);
			fp_json_kv_string(&j, "iface", de->d_name);
			fp_json_kv_u64(&j, "ifindex", cfg.ifindex);
			fp_json_kv_string(&j, "mode",
					  fp_xdp_mode_name(cfg.xdp_mode));
			fp_json_kv_u64(&j, "port", cfg.port);
			fp_json_kv_u64(&j, "cache_size", cfg.cache_size);
			fp_json_kv_u64(&j, "cache_entries", cfg.cache_entries);
			fp_json_kv_u64(&j, "max_age", cfg.max_age);
			fp_json_kv_u64(&j, "netns_ino", cfg.netns_ino);
			fp_json_kv_u64(&j, "attached_at", cfg.attached_at);
			fp_json_kv_string(&j, "state", state);
			fp_json_object_end(&j);
			fp_json_newline(&j);
			n++;
			continue;
		}
		if (n++ == 0)
			fp_table_header(stdout, cols, 8);
		fp_human_bytes(size, sizeof(size), cfg.cache_size);
		snprintf(port, sizeof(port), "%u", cfg.port);
		snprintf(ent, sizeof(ent), "%llu",
			 (unsigned long long)cfg.cache_entries);
		if (cfg.max_age)
			snprintf(age, sizeof(age), "%us", cfg.max_age);
		else
			snprintf(age, sizeof(age), "-");
		snprintf(ns, sizeof(ns), "%u", cfg.netns_ino);
		vals[0] = de->d_name;
		vals[1] = fp_xdp_mode_name(cfg.xdp_mode);
		vals[2] = port;
		vals[3] = size;
		vals[4] = ent;
		vals[5] = age;
		vals[6] = ns;
		vals[7] = state;
		fp_table_row(stdout, cols, 8, vals);
	}
	closedir(d);
	if (n == 0 && !fp_opts.json)
		printf("bmc-attach: BMC is not attached anywhere\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{&fp_verbose_argp, 0, NULL, 0},
		{},
	};
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.args_doc = "IFACE\n--detach IFACE\n--status",
		.doc = argp_program_doc,
		.children = children,
	};
	int err;

	fp_init("bmc-attach");
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return FP_EXIT_USAGE;
	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_NET_ADMIN |
				FP_CAP_SYS_ADMIN | FP_CAP_PERFMON))
		return FP_EXIT_FAIL;
	fp_bump_memlock();
	err = fp_mount_bpffs();
	if (err)
		return fp_error("cannot mount bpffs at %s: %s", FP_BPFFS,
				fp_strerror(err));
	if (env.action == ACT_STATUS)
		return do_status();
	if (env.netns && fp_netns_enter(env.netns))
		return FP_EXIT_FAIL;
	if (env.action == ACT_DETACH)
		return do_detach();
	return do_attach();
}
