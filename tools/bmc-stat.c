// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-stat: hit rate and counters of BMC, the in-kernel memcached cache.
 *
 * Reads only what bmc-attach pinned under /sys/fs/bpf/bmc/IFACE/ (the
 * per-CPU `stats` map and the `config` map, see bpf/bmc.h), sums the
 * per-CPU copies and prints totals since attach, or per-interval deltas
 * with -i. It loads no BPF program of its own.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "fastpath.h"
#include "bmc.h"
#include "prometheus.h"

#define MAX_IFACES 64

/* The counters, in the order bmc.h declares them; index = field / 8. */
static const struct counter {
	const char *name; /* JSON key, Prometheus bmc_NAME_total */
	const char *help; /* Prometheus HELP text */
} counters[] = {
	{"gets", "UDP get requests seen by BMC at XDP."},
	{"hits", "Get requests answered from the kernel cache."},
	{"misses", "Get requests passed on to memcached."},
	{"fills", "Cache entries installed from memcached replies."},
	{"invalidations", "Cache entries removed because of writes."},
	{"evictions", "Cache entries replaced to make room."},
	{"passes", "Packets not for BMC or not parseable, passed on."},
	{"flushes", "Whole-cache flushes (flush_all, memcached restarts)."},
	{"stale_fills", "Fills refused because a write raced them."},
	{"expired", "Lookups that found an expired entry."},
	{"tc_hits", "Of the hits, those answered at TC ingress (replies too "
		    "big for the XDP frame)."},
	{"claims", "Fills into an empty cache entry (entries in use are "
		   "claims minus invalidations)."},
};
#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))
_Static_assert(sizeof(struct bmc_stats) == NR_COUNTERS * sizeof(__u64),
	       "bmc-stat must know every counter in struct bmc_stats");
/* The oldest layouts still read (fields are only appended; later ones 0). */
#define STATS_MIN_SIZE	offsetof(struct bmc_stats, tc_hits)
#define CONFIG_MIN_SIZE offsetof(struct bmc_config, max_value)

struct iface {
	char name[256];
	int stats_fd;
	__u32 map_id;	  /* to notice a re-attach (--replace) */
	__u32 value_size; /* per-CPU value size in the pinned map */
	bool have_config;
	struct bmc_config config;
	__u64 prev[NR_COUNTERS];
	__u64 cur[NR_COUNTERS];
};

static struct env {
	const char *iface;
	bool prometheus;
} env;

static struct iface ifaces[MAX_IFACES];
static int nr_ifaces;
static bool header_printed;
static double last_report_time;

const char argp_program_doc[] =
	"Show the hit rate and counters of BMC, the in-kernel memcached "
	"cache.\n"
	"\v"
	"EXAMPLES:\n"
	"    bmc-stat                  # totals since attach, every interface\n"
	"    bmc-stat -i 1             # hit rate every second, until Ctrl-C\n"
	"    bmc-stat -I veth0 -i 1 -n 5   # five 1-second lines for veth0\n"
	"    bmc-stat -j | jq .hit_rate    # JSON Lines for scripts\n"
	"    bmc-stat --prometheus > /var/lib/node_exporter/bmc.prom.$$ &&\n"
	"        mv /var/lib/node_exporter/bmc.prom.$$ "
	"/var/lib/node_exporter/bmc.prom\n";

enum { OPT_PROMETHEUS = 0x100 };

static const struct argp_option options[] = {
	{"interface", 'I', "IFACE", 0,
	 "Only this interface (default: every interface BMC is attached to)",
	 0},
	{"prometheus", OPT_PROMETHEUS, NULL, 0,
	 "Print totals in the Prometheus text exposition format", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'I':
		if (!fp_ifname_valid(arg))
			argp_error(state, "invalid interface name '%s'", arg);
		env.iface = arg;
		break;
	case OPT_PROMETHEUS:
		env.prometheus = true;
		break;
	case ARGP_KEY_END:
		if (env.prometheus && fp_opts.json)
			argp_error(state, "--prometheus and -j do not mix");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Interfaces with a pin directory under /sys/fs/bpf/bmc/, sorted by name.
 * Returns the number found (0 when there is none), or -errno.
 */
static int list_pinned_ifaces(char names[][256], int max)
{
	char *sorted[MAX_IFACES];
	char tmp[MAX_IFACES][256];
	struct dirent *de;
	DIR *dir;
	int n = 0, i;

	dir = opendir(BMC_PIN_ROOT);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		snprintf(tmp[n], sizeof(tmp[n]), "%s", de->d_name);
		sorted[n] = tmp[n];
		n++;
	}
	closedir(dir);
	qsort(sorted, n, sizeof(sorted[0]), cmp_names);
	for (i = 0; i < n; i++)
		snprintf(names[i], 256, "%s", sorted[i]);
	return n;
}

static int open_config(struct iface *ifc)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	char path[512];
	void *val;
	int fd, err;

	if (fp_pin_path(path, sizeof(path), BMC_PIN_ROOT, ifc->name) ||
	    strlen(path) + sizeof("/config") > sizeof(path))
		return 0;
	strcat(path, "/config");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0; /* optional: stats alone are enough */
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.value_size < CONFIG_MIN_SIZE) {
		fp_debug("ignoring %s: not a BMC config map of this version",
			 path);
		close(fd);
		return 0;
	}
	val = calloc(1, info.value_size > sizeof(ifc->config)
				? info.value_size
				: sizeof(ifc->config));
	if (val && !bpf_map_lookup_elem(fd, &key, val)) {
		memcpy(&ifc->config, val, sizeof(ifc->config));
		ifc->have_config = true;
	}
	free(val);
	close(fd);
	return 0;
}

/* open_iface's answer for an interface without BMC, in --prometheus mode. */
#define NOT_ATTACHED 2

static int open_iface(struct iface *ifc, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char dir[512], path[512];
	int err;

	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->stats_fd = -1;
	if (fp_pin_path(dir, sizeof(dir), BMC_PIN_ROOT, name) ||
	    fp_pin_path(path, sizeof(path), dir, "stats"))
		return 1;
	if (!fp_pin_dir_exists(dir)) {
		if (env.prometheus)
			return NOT_ATTACHED; /* bmc_up 0, not an error */
		return fp_error("BMC is not attached to %s (attach it with "
				"'bmc-attach attach %s')",
				name, name);
	}
	ifc->stats_fd = bpf_obj_get(path);
	if (ifc->stats_fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			return fp_error("BMC on %s has no stats map at %s "
					"(re-attach with 'bmc-attach %s "
					"--replace')",
					name, path, name);
		return fp_error("cannot open %s: %s", path, fp_strerror(err));
	}
	err = bpf_obj_get_info_by_fd(ifc->stats_fd, &info, &len);
	if (err)
		return fp_error("cannot inspect %s: %s", path,
				fp_strerror(-errno));
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.max_entries < 1)
		return fp_error("%s is not a BMC stats map (type %u, expected "
				"a per-CPU array)",
				path, info.type);
	if (info.value_size < STATS_MIN_SIZE)
		return fp_error("%s holds %u-byte counters, expected at least "
				"%zu (bmc-attach and bmc-stat are from "
				"different versions: re-attach with this "
				"version's bmc-attach)",
				path, info.value_size, STATS_MIN_SIZE);
	/* Larger or an older, shorter layout: fields are only appended; we
	 * read the ones we know and there are. */
	ifc->value_size = info.value_size;
	ifc->map_id = info.id;
	return open_config(ifc);
}

/*
 * Between reports of a live view: BMC may have been detached (say so and
 * stop) or re-attached with --replace (follow the new maps; their counters
 * start from zero).
 */
static int recheck_iface(struct iface *ifc)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char dir[512], path[512];
	int fd, err;

	if (fp_pin_path(dir, sizeof(dir), BMC_PIN_ROOT, ifc->name) ||
	    fp_pin_path(path, sizeof(path), dir, "stats"))
		return 1;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return fp_error("BMC was detached from %s", ifc->name);
		return fp_error("cannot open %s: %s", path,
				fp_strerror(-errno));
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err || info.id == ifc->map_id)
		return 0;
	fp_debug("BMC on %s was re-attached: following the new maps",
		 ifc->name);
	snprintf(dir, sizeof(dir), "%s",
		 ifc->name); /* open_iface rewrites it */
	close(ifc->stats_fd);
	if (open_iface(ifc, dir))
		return 1;
	memset(ifc->prev, 0, sizeof(ifc->prev));
	return 0;
}

/* Sums the per-CPU copies of iface's counters into ifc->cur. */
static int read_counters(struct iface *ifc)
{
	__u32 key = 0;
	__u64 *sum;
	int err;

	/* A newer attach's struct may be larger: sum it all, keep ours. */
	sum = calloc(1,
		     ((ifc->value_size + 7) & ~(size_t)7) + sizeof(ifc->cur));
	if (!sum)
		return fp_error("out of memory");
	err = fp_percpu_sum(ifc->stats_fd, &key, sum, ifc->value_size);
	if (!err)
		memcpy(ifc->cur, sum, sizeof(ifc->cur));
	free(sum);
	if (err)
		return fp_error("cannot read the stats of BMC on %s: %s",
				ifc->name, fp_strerror(err));
	return 0;
}

enum {
	C_GETS,
	C_HITS,
	C_MISSES,
	C_FILLS,
	C_INVAL,
	C_EVICT,
	C_PASSES,
	C_TC_HITS = 10,
	C_CLAIMS,
};

/* Entries in use: claimed by a fill, not yet freed by an invalidation. */
static __u64 used_entries(const struct iface *ifc)
{
	const __u64 *v = ifc->cur;

	return v[C_CLAIMS] > v[C_INVAL] ? v[C_CLAIMS] - v[C_INVAL] : 0;
}

static double hit_rate(const __u64 *v)
{
	return v[C_GETS] ? 100.0 * (double)v[C_HITS] / (double)v[C_GETS] : NAN;
}

static void print_text(const struct iface *ifc, const __u64 *v)
{
	/*
	 * 80 columns with -T. Wider values are printed whole. TC: the hits
	 * answered at TC ingress (replies too big for the XDP frame).
	 */
	static const struct fp_column cols[] = {
		{"IFACE", 9, true},   {"GETS", 7, false},   {"HITS", 7, false},
		{"TC", 6, false},     {"MISSES", 6, false}, {"HIT%", 5, false},
		{"FILLS", 6, false},  {"INVAL", 5, false},  {"EVICT", 5, false},
		{"PASSES", 6, false},
	};
	enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
	/* Counter shown in each column after IFACE; -1: the hit rate. */
	static const int shown[NCOLS - 1] = {
		C_GETS,	 C_HITS,  C_TC_HITS, C_MISSES, -1,
		C_FILLS, C_INVAL, C_EVICT,   C_PASSES,
	};
	char buf[NCOLS][32];
	const char *vals[NCOLS];
	double rate = hit_rate(v);
	int i;

	if (!header_printed) {
		if (fp_opts.timestamp)
			printf("%-9s", "TIME");
		fp_table_header(stdout, cols, NCOLS);
		header_printed = true;
	}
	vals[0] = ifc->name;
	for (i = 1; i < NCOLS; i++) {
		int c = shown[i - 1];

		if (c >= 0)
			snprintf(buf[i], sizeof(buf[i]), "%llu",
				 (unsigned long long)v[c]);
		else if (isnan(rate))
			snprintf(buf[i], sizeof(buf[i]), "-");
		else
			snprintf(buf[i], sizeof(buf[i]), "%.1f", rate);
		vals[i] = buf[i];
	}
	if (fp_opts.timestamp)
		fp_print_time(stdout);
	fp_table_row(stdout, cols, NCOLS, vals);
}

/*
 * Every line has every key (null where unknown); interval_s is the window
 * the counters cover: the interval with -i, else the time since attach.
 * hit_rate is a ratio, 0..1, null before the first GET.
 */
static void print_json(const struct iface *ifc, const __u64 *v, double seconds)
{
	double now = fp_wall_time();
	struct fp_json j;
	size_t i;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, now);
	fp_json_kv_string(&j, "iface", ifc->name);
	fp_json_key(&j, "interval_s");
	if (fp_opts.interval > 0)
		fp_json_double(&j, seconds, 3);
	else if (ifc->have_config && ifc->config.attached_at)
		fp_json_double(&j, now - (double)ifc->config.attached_at, 3);
	else
		fp_json_null(&j);
	for (i = 0; i < NR_COUNTERS; i++) {
		fp_json_kv_u64(&j, counters[i].name, v[i]);
		if (i == C_MISSES)
			fp_json_kv_double(&j, "hit_rate", hit_rate(v) / 100.0,
					  4);
	}
	fp_json_key(&j, "port");
	if (ifc->have_config)
		fp_json_u64(&j, ifc->config.port);
	else
		fp_json_null(&j);
	fp_json_key(&j, "cache_entries");
	if (ifc->have_config)
		fp_json_u64(&j, ifc->config.cache_entries);
	else
		fp_json_null(&j);
	/* A gauge: always the totals, also in a -i interval's line. */
	fp_json_kv_u64(&j, "cache_used_entries", used_entries(ifc));
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

/*
 * bmc_up is always printed, so a node_exporter textfile rewritten after a
 * detach says 0 instead of keeping the last attach's numbers.
 */
static void print_prometheus_up(bool up)
{
	fp_prom_header(stdout, "bmc_up", "gauge",
		       "Whether BMC is attached and its counters were read (1) "
		       "or not (0).");
	printf("bmc_up %d\n", up);
}

static void print_prometheus(void)
{
	size_t i;
	int k;

	print_prometheus_up(true);
	fp_prom_header(stdout, "bmc_info", "gauge",
		       "BMC's attachment: interface, memcached port and XDP "
		       "mode.");
	for (k = 0; k < nr_ifaces; k++) {
		if (!ifaces[k].have_config)
			continue;
		printf("bmc_info{iface=\"");
		fp_prom_label_value(stdout, ifaces[k].name);
		printf("\",port=\"%u\",mode=\"%s\"} 1\n", ifaces[k].config.port,
		       fp_xdp_mode_name(ifaces[k].config.xdp_mode));
	}

	for (i = 0; i < NR_COUNTERS; i++) {
		printf("# HELP bmc_%s_total %s\n", counters[i].name,
		       counters[i].help);
		printf("# TYPE bmc_%s_total counter\n", counters[i].name);
		for (k = 0; k < nr_ifaces; k++) {
			printf("bmc_%s_total{iface=\"", counters[i].name);
			fp_prom_label_value(stdout, ifaces[k].name);
			printf("\"} %llu\n",
			       (unsigned long long)ifaces[k].cur[i]);
		}
	}
	fp_prom_header(stdout, "bmc_cache_entries", "gauge",
		       "Entries the BMC cache can hold.");
	for (k = 0; k < nr_ifaces; k++) {
		if (!ifaces[k].have_config)
			continue;
		printf("bmc_cache_entries{iface=\"");
		fp_prom_label_value(stdout, ifaces[k].name);
		printf("\"} %llu\n",
		       (unsigned long long)ifaces[k].config.cache_entries);
	}
	fp_prom_header(
		stdout, "bmc_cache_used_entries", "gauge",
		"Cache entries holding a value (one a write or flush made "
		"stale counts until a fill reuses it).");
	for (k = 0; k < nr_ifaces; k++) {
		printf("bmc_cache_used_entries{iface=\"");
		fp_prom_label_value(stdout, ifaces[k].name);
		printf("\"} %llu\n",
		       (unsigned long long)used_entries(&ifaces[k]));
	}
	fp_prom_header(stdout, "bmc_attached_timestamp_seconds", "gauge",
		       "When BMC was attached, seconds since the epoch.");
	for (k = 0; k < nr_ifaces; k++) {
		if (!ifaces[k].have_config)
			continue;
		printf("bmc_attached_timestamp_seconds{iface=\"");
		fp_prom_label_value(stdout, ifaces[k].name);
		printf("\"} %llu\n",
		       (unsigned long long)ifaces[k].config.attached_at);
	}
	fflush(stdout);
}

static int report(void *ctx, bool final)
{
	double now = fp_wall_time(), seconds = now - last_report_time;
	__u64 delta[NR_COUNTERS];
	size_t i;
	int k, err;

	(void)ctx;
	(void) final;
	for (k = 0; k < nr_ifaces; k++) {
		err = fp_opts.interval > 0 ? recheck_iface(&ifaces[k]) : 0;
		if (!err)
			err = read_counters(&ifaces[k]);
		if (err)
			return err;
	}
	last_report_time = now;
	if (env.prometheus) {
		print_prometheus();
		return 0;
	}
	for (k = 0; k < nr_ifaces; k++) {
		struct iface *ifc = &ifaces[k];
		const __u64 *v = ifc->cur;

		if (fp_opts.interval > 0) {
			/* Counters only grow; a re-attach resets them. */
			for (i = 0; i < NR_COUNTERS; i++)
				delta[i] = ifc->cur[i] >= ifc->prev[i]
						   ? ifc->cur[i] - ifc->prev[i]
						   : ifc->cur[i];
			memcpy(ifc->prev, ifc->cur, sizeof(ifc->prev));
			v = delta;
		}
		if (fp_opts.json)
			print_json(ifc, v, seconds);
		else
			print_text(ifc, v);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{&fp_interval_argp, 0, NULL, 0},
		{&fp_output_argp, 0, NULL, 0},
		{},
	};
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.args_doc = "[INTERVAL [COUNT]]",
		.doc = argp_program_doc,
		.children = children,
	};
	char(*names)[256] = NULL;
	int err, n, k, skipped = 0;

	fp_init("bmc-stat");
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return FP_EXIT_USAGE;
	if (fp_check_privileges(FP_CAP_BPF))
		return FP_EXIT_FAIL;

	n = libbpf_num_possible_cpus();
	if (n <= 0)
		return fp_error("cannot count the possible CPUs: %s",
				fp_strerror(n));

	if (env.iface) {
		err = open_iface(&ifaces[0], env.iface);
		nr_ifaces = 1;
		if (err == NOT_ATTACHED) {
			print_prometheus_up(false);
			err = 0;
			goto cleanup;
		}
		if (err)
			goto cleanup;
	} else {
		names = calloc(MAX_IFACES, sizeof(*names));
		if (!names)
			return fp_error("out of memory");
		n = list_pinned_ifaces(names, MAX_IFACES);
		if (n < 0) {
			err = fp_error("cannot read %s: %s", BMC_PIN_ROOT,
				       fp_strerror(n));
			goto cleanup;
		}
		if (n == 0 && env.prometheus) {
			print_prometheus_up(false);
			goto cleanup;
		}
		if (n == 0) {
			err = fp_error(
				"BMC is not attached (no pins under %s; "
				"attach it with 'bmc-attach attach IFACE')",
				BMC_PIN_ROOT);
			goto cleanup;
		}
		/*
		 * One broken pin directory (a half-done attach, another
		 * version) must not hide the others: say so, skip it, and
		 * exit 1 at the end.
		 */
		for (k = 0; k < n; k++) {
			if (open_iface(&ifaces[nr_ifaces], names[k])) {
				if (ifaces[nr_ifaces].stats_fd >= 0)
					close(ifaces[nr_ifaces].stats_fd);
				skipped++;
				continue;
			}
			nr_ifaces++;
		}
		if (!nr_ifaces) {
			err = 1;
			goto cleanup;
		}
	}

	/* The baseline for the first interval's deltas. */
	for (k = 0; k < nr_ifaces; k++) {
		err = read_counters(&ifaces[k]);
		if (err)
			goto cleanup;
		memcpy(ifaces[k].prev, ifaces[k].cur, sizeof(ifaces[k].prev));
	}
	last_report_time = fp_wall_time();
	err = fp_report_loop(FP_LOOP_ONCE_NOW, report, NULL);
	if (!err && skipped)
		err = 1;

cleanup:
	for (k = 0; k < nr_ifaces; k++)
		if (ifaces[k].stats_fd >= 0)
			close(ifaces[k].stats_fd);
	free(names);
	return err ? FP_EXIT_FAIL : FP_EXIT_OK;
}
