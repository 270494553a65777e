// SPDX-License-Identifier: GPL-2.0
/*
 * The thread layer: one cgroup's threads under a placement policy, as a
 * sched_ext scheduler (bpf/syrup-thread.bpf.c) with SCX_OPS_SWITCH_PARTIAL.
 * Only the tasks switched to SCHED_EXT meet it, and attach switches only the
 * cgroup's (their new threads and children inherit the policy); the BPF side
 * also checks the cgroup, so no other task is placed by it. Its struct_ops
 * link is pinned under SYRUP_THREAD_PIN_DIR: the scheduler runs while the
 * pin exists, and detach removes it. sched_ext's watchdog may unload it
 * first (a thread left runnable too long): status then says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "steer.h"
#include "thread-host.h"
#include "syrup-thread.h"
#include "syrup-thread.skel.h"

#ifndef SCHED_EXT
#define SCHED_EXT 7
#endif
#ifndef BPF_F_LINK
#define BPF_F_LINK (1U << 13)
#endif
/* enum bpf_attach_type's BPF_STRUCT_OPS (6.4); Debian 12's uapi lacks it. */
#define FP_ATTACH_STRUCT_OPS 44

/* ---- attach ------------------------------------------------------------ */

int thread_builtin_id(const char *name)
{
	if (!strcmp(name, "rr"))
		return SYRUP_THREAD_RR;
	if (!strcmp(name, "sita"))
		return SYRUP_THREAD_SITA;
	if (!strcmp(name, "stall"))
		return SYRUP_THREAD_STALL;
	return -1;
}

/* reserved=N (sita's CPUs for short-request threads). */
static int thread_param(const char *s, struct syrup_thread_conf *c)
{
	uint64_t v;

	if (strncmp(s, "reserved=", 9) ||
	    fp_parse_u64(s + 9, 1, SYRUP_THREAD_MAX_EXEC - 1, &v))
		return fp_error("invalid --param '%s' for the thread layer: "
				"want reserved=N (sita: CPUs kept for "
				"short-request threads)",
				s);
	c->reserved = (__u32)v;
	return 0;
}

/* What attach holds; one cleanup path. */
struct thread_attach {
	const struct thread_req *r;
	struct cgroup_sel cg;
	struct executors ex;
	struct syrup_thread_conf conf;
	struct syrup_thread_bpf *skel; /* the built-ins */
	struct bpf_object *obj;	       /* theirs, or a user's policy */
	struct fp_bpfcc cc;	       /* where a .c was compiled */
	int link_fd;
	bool pinned;
};

static int thread_prepare(struct thread_attach *a)
{
	struct scx_sysfs s;
	int builtin;

	if (need_sched_ext())
		return 1;
	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_SYS_ADMIN))
		return 1;
	fp_bump_memlock();
	if (fp_mount_bpffs())
		return fp_error("cannot mount bpffs at %s", FP_BPFFS);
	if (fp_pin_dir_exists(SYRUP_THREAD_PIN_DIR))
		return fp_error("the thread layer is already attached (see "
				"'syrup-steer status'; 'syrup-steer detach "
				"--layer thread' first)");
	scx_read(&s);
	if (strcmp(s.state, "disabled"))
		return fp_error("another sched_ext scheduler is %s (%s): one "
				"runs at a time",
				s.state, s.ops[0] ? s.ops : "unnamed");
	if (cgroup_resolve(a->r->cgroup, a->r->pid, &a->cg))
		return 1;
	if (executors_find_cpus(&a->ex, a->r->cpus))
		return 1;
	builtin = thread_builtin_id(a->r->policy);
	a->conf.builtin = builtin < 0 ? SYRUP_THREAD_USER : (__u32)builtin;
	a->conf.nr_executors = (__u32)a->ex.n;
	a->conf.reserved = 1;
	a->conf.cgroup_id = a->cg.id;
	a->conf.cgroup_level = a->cg.level;
	for (int i = 0; i < a->ex.n && i < SYRUP_THREAD_MAX_EXEC; i++)
		a->conf.cpus[i] = a->ex.e[i].info.cpu;
	for (int i = 0; i < a->r->nr_params; i++)
		if (thread_param(a->r->params[i], &a->conf))
			return 1;
	if (builtin == SYRUP_THREAD_SITA &&
	    a->conf.reserved >= a->conf.nr_executors)
		return fp_error("sita keeps %u CPU%s for short-request threads "
				"and needs at least one more: give --cpus "
				"with %u or more",
				a->conf.reserved,
				a->conf.reserved == 1 ? "" : "s",
				a->conf.reserved + 1);
	return 0;
}

/* Is NAME a function (a kfunc, say) in the running kernel's BTF? */
static bool kernel_has_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool found;

	if (libbpf_get_error(btf))
		return true; /* cannot tell: do not blame the kernel */
	found = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}

/* The map or program a scheduler built on syrup-sched.h must have. */
static struct bpf_map *obj_map(const struct thread_attach *a, const char *name)
{
	return bpf_object__find_map_by_name(a->obj, name);
}

/* The built-ins' skeleton, or the user's .c (compiled) or .o: opened. */
static int thread_open(struct thread_attach *a)
{
	const char *spec = a->r->policy, *path = spec;
	size_t len = strlen(spec);

	if (thread_builtin_id(spec) >= 0) {
		a->skel = syrup_thread_bpf__open();
		if (!a->skel)
			return fp_error("cannot open the thread scheduler: %s",
					fp_strerror(-errno));
		a->obj = a->skel->obj;
		return 0;
	}
	if (len >= 2 && !strcmp(spec + len - 2, ".c")) {
		if (policy_compile(&a->cc, spec))
			return 1;
		path = a->cc.obj;
	} else if (access(spec, R_OK)) {
		return fp_error("cannot read thread policy %s: %s", spec,
				fp_strerror(-errno));
	}
	a->obj = bpf_object__open_file(path, NULL);
	if (!a->obj)
		return fp_error("cannot open thread policy %s: %s (is it a "
				"BPF object built against syrup-sched.h?)",
				spec, fp_strerror(-errno));
	return 0;
}

static int thread_load(struct thread_attach *a)
{
	static const char *const maps[] = {"conf",   "hints",
					   "placed", "stats",
					   "state",  "syrup_thread_ops"};
	struct bpf_program *init, *enq;
	__u32 zero = 0;
	char *log;
	int err;

	if (thread_open(a))
		return 1;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (!obj_map(a, maps[i]))
			return fp_error("thread policy %s has no map %s "
					"(include <fastpath/syrup-sched.h> "
					"and define schedule_thread())",
					a->r->policy, maps[i]);
	init = bpf_object__find_program_by_name(a->obj, "syrup_init");
	enq = bpf_object__find_program_by_name(a->obj, "syrup_enqueue");
	if (!init || !enq)
		return fp_error("thread policy %s has no syrup_init or "
				"syrup_enqueue (include "
				"<fastpath/syrup-sched.h>)",
				a->r->policy);
	/* a struct_ops link can be pinned: the scheduler outlives us */
	bpf_map__set_map_flags(obj_map(a, "syrup_thread_ops"), BPF_F_LINK);
	/* creating a DSQ allocates; libbpf 1.1 has no "struct_ops.s" */
	bpf_program__set_flags(init, BPF_F_SLEEPABLE);
	log = malloc(1 << 20);
	if (!log)
		return fp_error("out of memory");
	log[0] = '\0';
	bpf_program__set_log_buf(enq, log, 1 << 20);
	err = bpf_object__load(a->obj);
	if (err && !kernel_has_func("scx_bpf_dsq_insert")) {
		free(log);
		return fp_error("the thread layer needs Linux 6.13 or newer: "
				"this kernel's sched_ext has no "
				"scx_bpf_dsq_insert (6.12 called it "
				"scx_bpf_dispatch)");
	}
	if (err && log[0] && !a->skel) {
		char what[300];

		snprintf(what, sizeof(what), "thread policy %s", a->r->policy);
		fp_bpfcc_explain(log, what, 12);
	} else if (err) {
		fp_error("cannot load the thread scheduler%s%s: %s (-v shows "
			 "libbpf's and the verifier's messages)",
			 a->skel ? "" : " ", a->skel ? "" : a->r->policy,
			 fp_strerror(err));
	}
	free(log);
	if (err)
		return 1;
	if (bpf_map_update_elem(bpf_map__fd(obj_map(a, "conf")), &zero,
				&a->conf, BPF_ANY))
		return fp_error("cannot write the thread layer's "
				"configuration: %s",
				fp_strerror(-errno));
	return 0;
}

static int thread_pin_maps(struct thread_attach *a)
{
	const struct {
		struct bpf_map *map;
		const char *name;
	} pins[] = {
		{obj_map(a, "conf"), "conf"},
		{obj_map(a, "hints"), "hints"},
		{obj_map(a, "placed"), "placed"},
		{obj_map(a, "stats"), "stats"},
		{obj_map(a, "state"), "state"},
	};
	int err = fp_pin_dir_create(SYRUP_THREAD_PIN_DIR);

	if (err)
		return fp_error("cannot create %s: %s", SYRUP_THREAD_PIN_DIR,
				fp_strerror(err));
	a->pinned = true;
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		err = fp_pin_fd(bpf_map__fd(pins[i].map), SYRUP_THREAD_PIN_DIR,
				pins[i].name);
		if (err)
			return fp_error("cannot pin %s/%s: %s",
					SYRUP_THREAD_PIN_DIR, pins[i].name,
					fp_strerror(err));
	}
	return 0;
}

/* The struct_ops link: from here on the scheduler runs. Pinned. */
static int thread_enable(struct thread_attach *a)
{
	struct bpf_map *ops = obj_map(a, "syrup_thread_ops");
	struct bpf_link *l;
	struct scx_sysfs s;
	int err;

	/* libbpf 1.1 writes the ops into the map (no link: BPF_F_LINK) */
	l = bpf_map__attach_struct_ops(ops);
	if (!l)
		return fp_error("cannot prepare the scheduler: %s",
				fp_strerror(-errno));
	bpf_link__disconnect(l);
	bpf_link__destroy(l);
	a->link_fd = bpf_link_create(bpf_map__fd(ops), 0,
				     (enum bpf_attach_type)FP_ATTACH_STRUCT_OPS,
				     NULL);
	if (a->link_fd < 0) {
		err = -errno;
		scx_read(&s);
		return fp_error("cannot enable the scheduler: %s%s",
				fp_strerror(err),
				err == -EBUSY || err == -EEXIST
					? " (another sched_ext scheduler runs)"
					: " (dmesg may say why)");
	}
	err = fp_pin_fd(a->link_fd, SYRUP_THREAD_PIN_DIR, "link");
	if (err)
		return fp_error("cannot pin %s/link: %s", SYRUP_THREAD_PIN_DIR,
				fp_strerror(err));
	return 0;
}

static int thread_write_info(struct thread_attach *a, int switched)
{
	struct syrup_thread_info in = {0};
	const char *base;
	struct scx_sysfs s;
	__u32 zero = 0;
	int fd, err = 0;

	scx_read(&s);
	base = strrchr(a->r->policy, '/');
	snprintf(in.policy, sizeof(in.policy), "%s",
		 base ? base + 1 : a->r->policy);
	snprintf(in.cgroup, sizeof(in.cgroup), "%s", a->cg.dir);
	in.cgroup_id = a->cg.id;
	in.attached_at = (__u64)time(NULL);
	in.enable_seq = s.enable_seq;
	in.switched = (__u32)switched;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "syrup_thr_info", 4, sizeof(in),
			    1, NULL);
	if (fd < 0)
		return fp_error("cannot create the info map: %s",
				fp_strerror(-errno));
	if (bpf_map_update_elem(fd, &zero, &in, BPF_ANY))
		err = -errno;
	if (!err)
		err = fp_pin_fd(fd, SYRUP_THREAD_PIN_DIR, "info");
	close(fd);
	if (err)
		return fp_error("cannot pin %s/info: %s", SYRUP_THREAD_PIN_DIR,
				fp_strerror(err));
	return 0;
}

int thread_attach(const struct thread_req *r)
{
	struct thread_attach a = {.r = r, .link_fd = -1};
	int err, switched = 0;

	err = thread_prepare(&a) || thread_load(&a) || thread_pin_maps(&a) ||
	      thread_enable(&a);
	if (!err) {
		switched = cgroup_switch_all(a.cg.dir, true);
		err = thread_write_info(&a, switched);
	}
	if (err && switched)
		cgroup_switch_all(a.cg.dir, false);
	if (err && a.pinned)
		fp_pin_dir_remove(SYRUP_THREAD_PIN_DIR, FP_BPFFS);
	if (a.link_fd >= 0)
		close(a.link_fd);
	if (a.skel)
		syrup_thread_bpf__destroy(a.skel);
	else if (a.obj)
		bpf_object__close(a.obj);
	fp_bpfcc_cleanup(&a.cc);
	if (err)
		return 1;
	thread_status(fp_opts.json, true);
	return 0;
}

/* ---- status ------------------------------------------------------------ */

struct thread_view {
	struct syrup_thread_info info;
	struct syrup_thread_conf conf;
	struct syrup_thread_stat st[SYRUP_THREAD_MAX_EXEC + 1];
	struct scx_sysfs scx;
	bool running;
	char reason[128];
};

static int thread_read(struct thread_view *v)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	__u32 zero = 0;
	int err;

	memset(v, 0, sizeof(*v));
	err = fp_pin_lookup(SYRUP_THREAD_PIN_DIR, "info", &zero, &v->info);
	if (!err)
		err = fp_pin_lookup(SYRUP_THREAD_PIN_DIR, "conf", &zero,
				    &v->conf);
	if (err)
		return err;
	v->info.policy[sizeof(v->info.policy) - 1] = '\0';
	v->info.cgroup[sizeof(v->info.cgroup) - 1] = '\0';
	if (v->conf.nr_executors > SYRUP_THREAD_MAX_EXEC)
		v->conf.nr_executors = SYRUP_THREAD_MAX_EXEC;
	fd = fp_pin_open(SYRUP_THREAD_PIN_DIR, "stats");
	if (fd >= 0 && ncpu > 0) {
		struct syrup_thread_stat *pc =
			calloc((size_t)ncpu, sizeof(*pc));

		for (__u32 i = 0; pc && i <= SYRUP_THREAD_MAX_EXEC; i++) {
			if (i < SYRUP_THREAD_MAX_EXEC &&
			    i >= v->conf.nr_executors)
				continue;
			if (bpf_map_lookup_elem(fd, &i, pc))
				continue;
			for (int c = 0; c < ncpu; c++) {
				v->st[i].enqueued += pc[c].enqueued;
				v->st[i].ran += pc[c].ran;
				v->st[i].fallback += pc[c].fallback;
				v->st[i].outside += pc[c].outside;
			}
		}
		free(pc);
	}
	if (fd >= 0)
		close(fd);
	scx_read(&v->scx);
	v->running = !strcmp(v->scx.state, "enabled") &&
		     !strcmp(v->scx.ops, SYRUP_THREAD_OPS_NAME) &&
		     v->scx.enable_seq == v->info.enable_seq;
	if (!v->running)
		unload_reason(v->reason, sizeof(v->reason));
	return 0;
}

static void thread_json(const struct thread_view *v)
{
	const struct syrup_thread_stat *d = &v->st[SYRUP_THREAD_MAX_EXEC];
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "layer", "thread");
	fp_json_kv_string(&j, "policy", v->info.policy);
	fp_json_kv_bool(&j, "builtin", v->conf.builtin != SYRUP_THREAD_USER);
	fp_json_kv_string(&j, "cgroup", v->info.cgroup);
	fp_json_kv_u64(&j, "cgroup_id", v->info.cgroup_id);
	fp_json_kv_string(&j, "pins", SYRUP_THREAD_PIN_DIR);
	fp_json_kv_u64(&j, "attached_at_s", v->info.attached_at);
	fp_json_kv_u64(&j, "switched", v->info.switched);
	fp_json_kv_string(&j, "sched_ext_state", v->scx.state);
	fp_json_kv_bool(&j, "running", v->running);
	fp_json_kv_string_or_null(&j, "unloaded",
				  v->running ? NULL : v->reason);
	if (v->conf.builtin == SYRUP_THREAD_SITA)
		fp_json_kv_u64(&j, "reserved", v->conf.reserved);
	fp_json_kv_u64(&j, "fallback", d->fallback);
	fp_json_kv_u64(&j, "outside", d->outside);
	fp_json_key(&j, "executors");
	fp_json_array_begin(&j);
	for (__u32 i = 0; i < v->conf.nr_executors; i++) {
		fp_json_object_begin(&j);
		fp_json_kv_u64(&j, "index", i);
		fp_json_kv_u64(&j, "cpu", v->conf.cpus[i]);
		fp_json_kv_u64(&j, "enqueued", v->st[i].enqueued);
		fp_json_kv_u64(&j, "ran", v->st[i].ran);
		fp_json_object_end(&j);
	}
	fp_json_array_end(&j);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

static void thread_text(const struct thread_view *v)
{
	const struct syrup_thread_stat *d = &v->st[SYRUP_THREAD_MAX_EXEC];

	printf("thread: policy %s, thread layer on cgroup %s, %u executor%s",
	       v->info.policy, v->info.cgroup, v->conf.nr_executors,
	       v->conf.nr_executors == 1 ? "" : "s");
	if (v->conf.builtin == SYRUP_THREAD_SITA)
		printf(" (%u reserved for short requests)", v->conf.reserved);
	printf("\n");
	if (v->running)
		printf("  sched_ext: %s, %u thread%s switched at attach\n",
		       v->scx.state, v->info.switched,
		       v->info.switched == 1 ? "" : "s");
	else
		printf("  sched_ext: unloaded by the kernel (%s): the threads "
		       "run on the default scheduler; 'syrup-steer detach "
		       "--layer thread' removes the pins\n",
		       v->reason);
	printf("  %4s %4s %12s %12s\n", "EXEC", "CPU", "ENQUEUED", "RAN");
	for (__u32 i = 0; i < v->conf.nr_executors; i++)
		printf("  %4u %4u %12llu %12llu\n", i, v->conf.cpus[i],
		       (unsigned long long)v->st[i].enqueued,
		       (unsigned long long)v->st[i].ran);
	printf("  default queue: %llu fallback, %llu outside the cgroup\n",
	       (unsigned long long)d->fallback, (unsigned long long)d->outside);
}

bool thread_status(bool json, bool first)
{
	struct thread_view v;
	int err;

	if (!fp_pin_dir_exists(SYRUP_THREAD_PIN_DIR))
		return false;
	err = thread_read(&v);
	if (err) {
		fp_warn("%s is incomplete: %s (remove it with 'syrup-steer "
			"detach --layer thread')",
			SYRUP_THREAD_PIN_DIR, fp_strerror(err));
		return false;
	}
	if (json) {
		thread_json(&v);
		return true;
	}
	if (!first)
		printf("\n");
	thread_text(&v);
	return true;
}

/* ---- detach ------------------------------------------------------------ */

int thread_detach(void)
{
	struct syrup_thread_info in;
	struct scx_sysfs s;
	__u32 zero = 0;
	int restored = 0, err;

	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_SYS_ADMIN))
		return 1;
	fp_mount_bpffs();
	if (!fp_pin_dir_exists(SYRUP_THREAD_PIN_DIR))
		return fp_error("the thread layer is not attached (see "
				"'syrup-steer status')");
	memset(&in, 0, sizeof(in));
	if (!fp_pin_lookup(SYRUP_THREAD_PIN_DIR, "info", &zero, &in)) {
		in.cgroup[sizeof(in.cgroup) - 1] = '\0';
		in.policy[sizeof(in.policy) - 1] = '\0';
		restored = cgroup_switch_all(in.cgroup, false);
	}
	/* the last reference to the link: the scheduler unloads */
	err = fp_pin_dir_remove(SYRUP_THREAD_PIN_DIR, FP_BPFFS);
	if (err && err != -ENOENT)
		return fp_error("cannot remove %s: %s", SYRUP_THREAD_PIN_DIR,
				fp_strerror(err));
	for (int i = 0; i < 100; i++) {
		scx_read(&s);
		if (strcmp(s.ops, SYRUP_THREAD_OPS_NAME))
			break;
		usleep(50000);
	}
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "layer", "thread");
		fp_json_kv_string(&j, "cgroup", in.cgroup);
		fp_json_kv_u64(&j, "restored", (__u64)restored);
		fp_json_kv_string(&j, "sched_ext_state", s.state);
		fp_json_kv_bool(&j, "detached", true);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else {
		printf("thread: policy %s detached from %s; %d thread%s back "
		       "on the default scheduler (sched_ext %s)\n",
		       in.policy[0] ? in.policy : "?", in.cgroup, restored,
		       restored == 1 ? "" : "s", s.state);
	}
	return 0;
}

/* ---- set ----------------------------------------------------------- */

/* hint.TID=short|long|none, or reserved=N: one setting, written. */
static int thread_set_one(const char *s)
{
	const char *eq = strchr(s, '=');
	struct syrup_thread_conf c;
	uint64_t tid, v;
	__u32 key, val, zero = 0;
	int fd, err = 0;

	if (!strncmp(s, "reserved=", 9)) {
		if (fp_parse_u64(s + 9, 1, SYRUP_THREAD_MAX_EXEC - 1, &v))
			return fp_error("invalid '%s': want reserved=N", s);
		fd = fp_pin_open(SYRUP_THREAD_PIN_DIR, "conf");
		if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &c))
			err = fp_error("cannot read %s/conf",
				       SYRUP_THREAD_PIN_DIR);
		else if (v >= c.nr_executors)
			err = fp_error("reserved=%llu leaves no CPU of the %u "
				       "for the other threads",
				       (unsigned long long)v, c.nr_executors);
		else {
			c.reserved = (__u32)v;
			if (bpf_map_update_elem(fd, &zero, &c, BPF_ANY))
				err = fp_error("cannot write %s/conf: %s",
					       SYRUP_THREAD_PIN_DIR,
					       fp_strerror(-errno));
		}
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (strncmp(s, "hint.", 5) || !eq)
		return fp_error("unknown setting '%s' for the thread layer: "
				"want hint.TID=short|long|none or reserved=N",
				s);
	{
		char num[32];

		snprintf(num, sizeof(num), "%.*s", (int)(eq - s - 5), s + 5);
		if (fp_parse_u64(num, 1, 0x7fffffff, &tid))
			return fp_error("invalid thread id in '%s'", s);
	}
	if (!strcmp(eq + 1, "short"))
		val = SYRUP_HINT_SHORT;
	else if (!strcmp(eq + 1, "long"))
		val = SYRUP_HINT_LONG;
	else if (!strcmp(eq + 1, "none"))
		val = SYRUP_HINT_NONE;
	else
		return fp_error("invalid hint '%s': want short, long or none",
				eq + 1);
	key = (__u32)tid;
	fd = fp_pin_open(SYRUP_THREAD_PIN_DIR, "hints");
	if (fd < 0)
		return fp_error("cannot open %s/hints: %s",
				SYRUP_THREAD_PIN_DIR, fp_strerror(fd));
	if (val == SYRUP_HINT_NONE)
		err = bpf_map_delete_elem(fd, &key) && errno != ENOENT;
	else
		err = bpf_map_update_elem(fd, &key, &val, BPF_ANY);
	if (err)
		err = fp_error("cannot write %s/hints: %s",
			       SYRUP_THREAD_PIN_DIR, fp_strerror(-errno));
	close(fd);
	return err;
}

int thread_set(const char *const *settings, int n)
{
	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_mount_bpffs();
	if (!fp_pin_dir_exists(SYRUP_THREAD_PIN_DIR))
		return fp_error("the thread layer is not attached (see "
				"'syrup-steer status')");
	/* one at a time, as given: those before a bad one stay written */
	for (int i = 0; i < n; i++) {
		if (thread_set_one(settings[i]))
			return 1;
		if (!fp_opts.json)
			printf("thread: %s\n", settings[i]);
	}
	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "layer", "thread");
		fp_json_key(&j, "set");
		fp_json_array_begin(&j);
		for (int i = 0; i < n; i++)
			fp_json_string(&j, settings[i]);
		fp_json_array_end(&j);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	}
	return 0;
}
