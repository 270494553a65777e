// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-attach attach IFACE: load BMC in front of a memcached and leave it
 * running. XDP ingress answers UDP GET hits and sees every write; TC
 * ingress answers the hits too big for the XDP frame; TC egress fills the
 * cache from memcached's replies; watch.c flushes it when
 * memcached restarts. Everything stays through pins (state.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bmc-attach.h"
#include "bmc-attach.skel.h"

enum {
	OPT_CACHE = 256,
	OPT_MODE,
	OPT_MAX_AGE,
	OPT_NETNS,
	OPT_REPLACE,
	OPT_COLD,
	OPT_MAX_VALUE,
};

const struct attach_opts attach_defaults = {
	.port = BMC_DEFAULT_PORT,
	.cache_size = BMC_DEFAULT_CACHE,
	.mode = FP_XDP_AUTO,
	.max_value = BMC_MAX_VALUE,
};

static const struct argp_option value_options[] = {
	{"port", 'P', "PORT", 0, "memcached's TCP and UDP port (11211)", 0},
	/* -p was the port before one vocabulary made it the PID everywhere;
	 * kept, with a warning, for units and scripts written then. */
	{NULL, 'p', NULL, OPTION_ALIAS | OPTION_HIDDEN, NULL, 0},
	{"cache-size", OPT_CACHE, "SIZE", 0,
	 "Cache memory, K/M/G suffixes (64M)", 0},
	{"mode", OPT_MODE, "MODE", 0,
	 "XDP mode: auto, native or generic (auto)", 0},
	{"max-age", OPT_MAX_AGE, "SECS", 0,
	 "Cache values whose expiry BMC did not see for at most SECS "
	 "(default: do not cache them)",
	 0},
	{"max-value", OPT_MAX_VALUE, "BYTES", 0,
	 "Cache values of at most BYTES, 1..1000 (1000)", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Network namespace of IFACE (/run/netns/NAME)", 0},
	{"cold", OPT_COLD, NULL, 0,
	 "Do not learn the expiry of the keys memcached already holds "
	 "(they are then not served until written again)",
	 0},
	{"replace", OPT_REPLACE, NULL, 0,
	 "Replace BMC already attached to IFACE", 0},
	{},
};

static error_t parse_value(int key, char *arg, struct argp_state *state)
{
	struct attach_opts *o = state->input;

	switch (key) {
	case 'p':
		fp_warn("-p is deprecated for the port: use -P or --port "
			"(-p is a PID in fastpath's other tools)");
		/* fall through */
	case 'P':
		if (fp_parse_port(arg, &o->port))
			argp_error(state, "invalid port '%s': want 1..65535",
				   arg);
		break;
	case OPT_CACHE:
		if (bmc_parse_cache_size(arg, &o->cache_size))
			argp_error(state,
				   "invalid cache size '%s': want 64K..64G, "
				   "e.g. 64M",
				   arg);
		break;
	case OPT_MODE:
		if (fp_xdp_mode_parse(arg, &o->mode))
			argp_error(state,
				   "invalid mode '%s': want auto, native or "
				   "generic",
				   arg);
		break;
	case OPT_MAX_AGE:
		if (bmc_parse_max_age(arg, &o->max_age))
			argp_error(state,
				   "invalid max age '%s': want seconds, "
				   "1..2592000",
				   arg);
		break;
	case OPT_MAX_VALUE:
		if (bmc_parse_max_value(arg, &o->max_value))
			argp_error(state,
				   "invalid max value '%s': want bytes, "
				   "1..1000",
				   arg);
		break;
	case OPT_NETNS:
		o->netns = arg;
		break;
	case OPT_REPLACE:
		o->replace = true;
		break;
	case OPT_COLD:
		o->cold = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp attach_values_argp = {value_options, parse_value, NULL, NULL,
					NULL,	       NULL,	    NULL};

static error_t parse_cmd(int key, char *arg, struct argp_state *state)
{
	struct attach_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = o; /* attach_values_argp */
		return 0;
	case ARGP_KEY_ARG:
		iface_arg(state, &o->iface, arg);
		return 0;
	case ARGP_KEY_END:
		if (!o->iface)
			argp_error(state, "no interface given (e.g. "
					  "bmc-attach attach eth0)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child cmd_children[] = {
	{&attach_values_argp, 0, NULL, 0},
	{&fp_json_argp, 0, NULL, 0},
	{},
};

static const struct argp cmd_argp = {
	.parser = parse_cmd,
	.args_doc = "IFACE",
	.doc = "Attach BMC, an in-kernel cache for memcached, to IFACE."
	       "\v"
	       "EXAMPLES:\n"
	       "    bmc-attach attach eth0                     # for memcached "
	       "on port 11211\n"
	       "    bmc-attach attach eth0 --cache-size 256M   # a bigger "
	       "cache\n"
	       "    bmc-attach attach veth0 --netns mc         # an interface "
	       "in netns mc\n"
	       "    bmc-attach attach eth0 --max-age 60        # also values "
	       "set before attach\n"
	       "    bmc-attach attach eth0 --replace           # reload, e.g. "
	       "after an upgrade\n",
	.children = cmd_children,
};

const struct fp_command attach_cmd = {
	.name = "attach",
	.summary = "load BMC on an interface and pin it there",
	.argp = &cmd_argp,
	.opts_size = sizeof(struct attach_opts),
	.defaults = &attach_defaults,
	.run = attach_run,
};

enum { TC_EGRESS = 1, TC_INGRESS = 2 };

/* What one attach has set up so far, for its cleanup. */
struct attach {
	const struct attach_opts *o;
	struct bmc_attach_bpf *skel;
	struct bmc_config cfg;
	char dir[256];
	unsigned int ifindex;
	bool created;	      /* the pin directory */
	unsigned int tc_done; /* our TC filters: TC_EGRESS | TC_INGRESS */
	int xfd;	      /* the XDP link */
};

/*
 * What an earlier attach left: refused while it runs here or in another
 * live namespace (unless --replace), removed when it is stale.
 */
static int clear_previous(const struct attach *a)
{
	const struct attach_opts *o = a->o;
	struct bmc_config old;
	unsigned long here = fp_netns_inode();
	bool cfg_ok;

	if (!fp_pin_dir_exists(a->dir))
		return 0;
	cfg_ok = bmc_read_config(a->dir, &old) == 0;
	if (cfg_ok && old.netns_ino != here && bmc_netns_alive(old.netns_ino))
		return fp_error("BMC already runs on an interface named "
				"%s in another network namespace "
				"(inode %u); pins are per interface "
				"name, so detach it there first "
				"(bmc-attach --detach %s --netns NAME)",
				o->iface, old.netns_ino, o->iface);
	if (cfg_ok && old.netns_ino == here && !o->replace)
		return fp_error("BMC is already attached to %s (use "
				"--replace to reload it, or --detach "
				"first)",
				o->iface);
	/* --replace, or leftovers of a vanished namespace. */
	if (bmc_remove(a->dir, cfg_ok ? &old : NULL,
		       cfg_ok && old.netns_ino == here))
		return 1;
	if (!cfg_ok || old.netns_ino != here)
		fp_warn("removed stale pins at %s", a->dir);
	return 0;
}

static int64_t realtime_offset(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000LL +
	       (rt.tv_nsec - mono.tv_nsec);
}

/* open -> rodata and map sizes -> load; NULL after printing why. */
static struct bmc_attach_bpf *open_and_load(const struct attach_opts *o,
					    const struct bmc_geometry *g,
					    bool xdp_bytes)
{
	struct bmc_attach_bpf *skel = bmc_attach_bpf__open();
	int err;

	if (!skel) {
		fp_error("cannot open the BPF object: %s", fp_strerror(-errno));
		return NULL;
	}
	skel->rodata->port_be = htons(o->port);
	skel->rodata->set_mask = g->sets - 1;
	skel->rodata->gen_mask = g->gens - 1;
	skel->rodata->max_age_ns = (__u64)o->max_age * 1000000000ULL;
	skel->rodata->realtime_off_ns = realtime_offset();
	skel->rodata->netns_cookie = fp_netns_cookie();
	skel->rodata->xdp_bytes = xdp_bytes;
	skel->rodata->max_value = o->max_value;
	if (!skel->rodata->netns_cookie)
		fp_debug("no network namespace cookie (SO_NETNS_COOKIE): UDP "
			 "sockets on port %u in any namespace flush the cache",
			 o->port);
	bpf_map__set_max_entries(skel->maps.cache, (__u32)g->entries);
	bpf_map__set_max_entries(skel->maps.buckets, (__u32)g->gens);
	bpf_map__set_max_entries(skel->maps.exps, (__u32)g->exps);
	err = bmc_attach_bpf__load(skel);
	if (err) {
		fp_error("cannot load BMC's BPF programs: %s%s",
			 fp_strerror(err),
			 err == -ENOMEM || err == -E2BIG
				 ? " (try a smaller --cache-size)"
				 : " (run with -v for the verifier log)");
		bmc_attach_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int pin_map(struct bpf_map *map, const char *dir, const char *name)
{
	int err = fp_pin_fd(bpf_map__fd(map), dir, name);

	if (err)
		return fp_error("cannot pin %s/%s: %s", dir, name,
				fp_strerror(err));
	return 0;
}

/* The pin directory with the maps bmc-stat reads, and the config. */
static int pin_contract(struct attach *a, const struct bmc_geometry *g)
{
	int err = fp_pin_dir_create(a->dir);

	if (err)
		return fp_error("cannot create %s: %s", a->dir,
				fp_strerror(err));
	a->created = true;
	if (pin_map(a->skel->maps.stats, a->dir, "stats") ||
	    pin_map(a->skel->maps.bmc_config, a->dir, "config"))
		return 1;
	/* Config first: bmc-stat may look as soon as the pins appear. */
	a->cfg.ifindex = a->ifindex;
	a->cfg.port = a->o->port;
	a->cfg.xdp_mode = (__u8)a->o->mode;
	a->cfg.cache_size = a->o->cache_size;
	a->cfg.cache_entries = g->entries;
	a->cfg.max_age = a->o->max_age;
	a->cfg.max_value = a->o->max_value;
	a->cfg.netns_ino = (__u32)fp_netns_inode();
	a->cfg.attached_at = (__u64)time(NULL);
	return 0;
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

/* One of our TC filters: a stale one of ours is replaced, others refused. */
static int attach_tc_hook(struct attach *a, bool egress,
			  const struct bpf_program *prog, const char *pin)
{
	const char *iface = a->o->iface, *hook = egress ? "egress" : "ingress";
	const char *name = bpf_program__name(prog);
	unsigned int id = 0;
	int err;

	if (fp_tc_attached(a->ifindex, egress, BMC_TC_HANDLE, BMC_TC_PRIO,
			   &id)) {
		if (!prog_is_named(id, name))
			return fp_error("cannot attach TC %s to %s: "
					"another filter uses handle 0x%x "
					"priority %u",
					hook, iface, BMC_TC_HANDLE,
					BMC_TC_PRIO);
		fp_warn("removed a stale BMC filter from %s %s", iface, hook);
		fp_tc_detach(a->ifindex, egress, BMC_TC_HANDLE, BMC_TC_PRIO);
	}
	if (fp_tc_attach(a->ifindex, iface, egress, bpf_program__fd(prog),
			 BMC_TC_HANDLE, BMC_TC_PRIO))
		return 1;
	a->tc_done |= egress ? TC_EGRESS : TC_INGRESS;
	err = fp_pin_fd(bpf_program__fd(prog), a->dir, pin);
	if (err)
		return fp_error("cannot pin %s/%s: %s", a->dir, pin,
				fp_strerror(err));
	return 0;
}

/*
 * TC before XDP: fills (egress) must be running when hits start, and
 * ingress must be there for the hits XDP hands it.
 */
static int attach_tc(struct attach *a)
{
	return attach_tc_hook(a, true, a->skel->progs.bmc_tx, "tc_prog") ||
	       attach_tc_hook(a, false, a->skel->progs.bmc_rx_tc,
			      "tc_ingress_prog");
}

/* XDP last: from here on hits are answered. Then the final config. */
static int attach_xdp(struct attach *a)
{
	enum fp_xdp_mode used;
	__u32 zero = 0;
	int err;

	a->xfd = fp_xdp_attach(bpf_program__fd(a->skel->progs.bmc_rx),
			       a->ifindex, a->o->iface, a->o->mode, &used);
	if (a->xfd < 0)
		return 1;
	a->cfg.xdp_mode = (__u8)used;
	if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.bmc_config), &zero,
				&a->cfg, BPF_ANY))
		return fp_error("cannot write the config map: %s",
				fp_strerror(-errno));
	err = fp_pin_fd(a->xfd, a->dir, "xdp_link");
	if (err)
		return fp_error("cannot pin %s/xdp_link: %s", a->dir,
				fp_strerror(err));
	return 0;
}

static void warn_veth_peer(const char *iface, unsigned int ifindex)
{
	char peer[320], name[32];

	if (fp_veth_peer_has_xdp(ifindex, peer, sizeof(peer), name,
				 sizeof(name)) != 0)
		return; /* not a veth, peer has XDP, or cannot tell */
	fp_warn("%s is a veth whose peer %s has no XDP program: BMC's "
		"XDP_TX replies will be dropped there (attach one to %s, e.g. "
		"an XDP_PASS program)",
		iface, peer, name);
}

/*
 * Warm attach, once BMC sees every write (XDP attached): what memcached
 * already holds. A failure is a warning: BMC works, only cold.
 */
static bool learn_expiries(const struct attach *a, const struct bmc_geometry *g,
			   struct bmc_warm_result *r)
{
	if (a->o->cold)
		return false;
	if (bmc_learn_expiries(bpf_map__fd(a->skel->maps.exps),
			       bpf_map__fd(a->skel->maps.buckets), g,
			       a->o->port, r)) {
		fp_warn("keys memcached held before the attach are not served "
			"until written again: %s (lru_crawler metadump all)",
			r->why);
		return false;
	}
	return true;
}

static void print_attached(const char *iface, const char *dir,
			   const struct bmc_config *cfg,
			   const struct bmc_warm_result *warm)
{
	char size[32];

	fp_human_bytes(size, sizeof(size), cfg->cache_size);
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "attached", iface);
		fp_json_kv_u64(&j, "ifindex", cfg->ifindex);
		fp_json_kv_string(&j, "mode", fp_xdp_mode_name(cfg->xdp_mode));
		fp_json_kv_u64(&j, "port", cfg->port);
		fp_json_kv_u64(&j, "cache_size_bytes", cfg->cache_size);
		fp_json_kv_u64(&j, "cache_entries", cfg->cache_entries);
		fp_json_kv_u64(&j, "max_age_s", cfg->max_age);
		fp_json_kv_u64(&j, "max_value_bytes", cfg->max_value);
		fp_json_kv_u64_or_null(&j, "learned_keys", warm,
				       warm ? warm->learned : 0);
		fp_json_kv_double_or_null(&j, "learn_s", warm,
					  warm ? warm->secs : 0, 3);
		fp_json_kv_string(&j, "pins", dir);
		fp_json_object_end(&j);
		fp_json_newline(&j);
		return;
	}
	printf("bmc-attach: BMC attached to %s (%s XDP, port %u, cache %s = "
	       "%llu entries%s), pinned at %s\n",
	       iface, fp_xdp_mode_name(cfg->xdp_mode), cfg->port, size,
	       (unsigned long long)cfg->cache_entries,
	       cfg->max_age ? ", --max-age set" : "", dir);
}

static void print_learned(const struct bmc_warm_result *warm)
{
	if (fp_opts.json || !warm)
		return;
	printf("bmc-attach: learned the expiry of %llu keys from memcached "
	       "in %.3f s (%llu in its dump; %llu expired, %llu written since "
	       "the attach, %llu beyond what the cache holds)\n",
	       (unsigned long long)warm->learned, warm->secs,
	       (unsigned long long)warm->keys,
	       (unsigned long long)warm->expired,
	       (unsigned long long)warm->written,
	       (unsigned long long)warm->beyond);
}

int attach_run(const void *opts)
{
	const struct attach_opts *o = opts;
	struct attach a = {.o = o, .xfd = -1};
	struct bmc_warm_result warm;
	struct bmc_geometry g;
	bool xdp_bytes = true;
	int ret = 1;

	if (bmc_prepare(o->netns))
		return FP_EXIT_FAIL;
	a.ifindex = fp_ifindex(o->iface);
	if (!a.ifindex)
		return 1;
	if (bmc_pin_dir(a.dir, sizeof(a.dir), o->iface))
		return fp_error("interface name too long: %s", o->iface);
	if (clear_previous(&a))
		return 1;
	if (fp_xdp_attached(a.ifindex, NULL))
		return fp_error("cannot attach XDP to %s: another XDP program "
				"is already attached (see 'ip link show %s')",
				o->iface, o->iface);
	bmc_cache_geometry(o->cache_size, &g);
	if (bmc_check_kernel(&xdp_bytes))
		return 1;
	a.skel = open_and_load(o, &g, xdp_bytes);
	if (!a.skel || pin_contract(&a, &g) || attach_tc(&a) ||
	    bmc_watch_restarts(a.skel, a.dir, o->port) || attach_xdp(&a))
		goto cleanup;
	warn_veth_peer(o->iface, a.ifindex);
	/* Text says attached before learning; JSON is one object. */
	if (fp_opts.json) {
		print_attached(o->iface, a.dir, &a.cfg,
			       learn_expiries(&a, &g, &warm) ? &warm : NULL);
	} else {
		print_attached(o->iface, a.dir, &a.cfg, NULL);
		print_learned(learn_expiries(&a, &g, &warm) ? &warm : NULL);
	}
	ret = 0;

cleanup:
	for (int hook = TC_EGRESS; ret && hook <= TC_INGRESS; hook++) {
		unsigned int id = 0;
		bool egress = hook == TC_EGRESS;

		if ((a.tc_done & hook) &&
		    fp_tc_attached(a.ifindex, egress, BMC_TC_HANDLE,
				   BMC_TC_PRIO, &id))
			fp_tc_detach(a.ifindex, egress, BMC_TC_HANDLE,
				     BMC_TC_PRIO);
	}
	if (ret && a.tc_done)
		fp_tc_hook_destroy_if_empty(a.ifindex);
	if (ret && a.created)
		bmc_remove(a.dir, NULL, false);
	if (a.xfd >= 0)
		close(a.xfd);
	bmc_attach_bpf__destroy(a.skel);
	return ret;
}
