// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel engine's program: the built-in object, or the program's own
 * source compiled around a user's storage function (clang -target bpf),
 * configured for one database and loaded; and `verify` for this engine.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "engine-kernel-priv.h"
#include "xrp-kernel.skel.h"
#include "lookup.h"

#ifndef XRP_MULTIARCH
#define XRP_MULTIARCH "x86_64-linux-gnu"
#endif

__asm__(".section .rodata\n"
	".global xrpk_src_bpf\n"
	"xrpk_src_bpf:\n"
	".incbin \"bpf/xrp-kernel.bpf.c\"\n"
	".byte 0\n"
	".global xrpk_src_shared\n"
	"xrpk_src_shared:\n"
	".incbin \"bpf/xrp-kernel.h\"\n"
	".byte 0\n"
	".global xrpk_src_metadata\n"
	"xrpk_src_metadata:\n"
	".incbin \"bpf/metadata.h\"\n"
	".byte 0\n"
	".global xrpk_src_xrp\n"
	"xrpk_src_xrp:\n"
	".incbin \"include/xrp.h\"\n"
	".byte 0\n"
	".previous\n");
extern const char xrpk_src_bpf[], xrpk_src_shared[], xrpk_src_metadata[],
	xrpk_src_xrp[];

/* ---- the program ------------------------------------------------------ */

static int ops_layout_find(struct ops_layout *l)
{
	const struct btf_type *t, *ops = NULL;
	const struct btf_member *m;
	__u32 data_off = 0;
	struct btf *btf;
	int id, i, err = 0;

	memset(l, 0, sizeof(*l));
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return fp_error("engine kernel: cannot read the kernel's BTF: "
				"%s",
				fp_strerror(-errno));
	id = btf__find_by_name_kind(btf, "bpf_struct_ops_io_uring_bpf_ops",
				    BTF_KIND_STRUCT);
	if (id <= 0) {
		err = fp_error("engine kernel: %s (no io_uring_bpf_ops in "
			       "this kernel's BTF)",
			       XRPK_NEEDS);
		goto out;
	}
	t = btf__type_by_id(btf, id);
	l->vtype_id = id;
	l->vsize = t->size;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), "data"))
			continue;
		data_off = btf_member_bit_offset(t, i) / 8;
		ops = btf__type_by_id(btf, m->type);
	}
	if (!ops || !btf_is_struct(ops)) {
		err = fp_error("engine kernel: unexpected layout of %s",
			       "bpf_struct_ops_io_uring_bpf_ops");
		goto out;
	}
	m = btf_members(ops);
	for (i = 0; i < btf_vlen(ops); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);

		if (!strcmp(name, "loop_step"))
			l->loop_step_off =
				data_off + btf_member_bit_offset(ops, i) / 8;
		else if (!strcmp(name, "ring_fd"))
			l->ring_fd_off =
				data_off + btf_member_bit_offset(ops, i) / 8;
	}
	if (!l->ring_fd_off || l->ring_fd_off + 4 > l->vsize ||
	    l->loop_step_off + 8 > l->vsize)
		err = fp_error("engine kernel: io_uring_bpf_ops has no "
			       "loop_step or ring_fd");
out:
	btf__free(btf);
	return err;
}

/*
 * Writes the config into the object's .rodata, at the offset its BTF gives
 * xrpk_cfg (the object's other constants, bpf_metadata for one, share it).
 */
static int obj_set_config(struct bpf_object *obj, const struct xrpk_config *cfg)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map, *rodata = NULL;
	const void *data = NULL;
	size_t size = 0;
	char *copy;
	int id, i, err;

	if (!btf)
		return -ENOENT;
	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);

		if (n >= 7 && !strcmp(name + n - 7, ".rodata")) {
			rodata = map;
			data = bpf_map__initial_value(map, &size);
		}
	}
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id <= 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off),
			   "xrpk_cfg") ||
		    vs->offset + sizeof(*cfg) > size)
			continue;
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, size);
		memcpy(copy + vs->offset, cfg, sizeof(*cfg));
		err = bpf_map__set_initial_value(rodata, copy, size);
		free(copy);
		return err;
	}
	return -ENOENT;
}

/* The program's own sources, beside the header, in the scratch directory. */
static int write_sources(struct fp_bpfcc *cc)
{
	static const struct {
		const char *name, *text;
	} files[] = {
		{"xrp-kernel.h", xrpk_src_shared},
		{"metadata.h", xrpk_src_metadata},
		{"xrp-kernel.bpf.c", xrpk_src_bpf},
	};
	char path[PATH_MAX];
	int err;

	err = fp_bpfcc_add_header(cc, "xrp.h", xrpk_src_xrp);
	if (err)
		return fp_error("cannot write xrp.h into %s: %s", cc->dir,
				fp_strerror(err));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		err = fp_bpfcc_write(cc, files[i].name, files[i].text, path,
				     sizeof(path));
		if (err)
			return fp_error("cannot write %s: %s", path,
					fp_strerror(err));
	}
	return 0;
}

/*
 * Builds the program around a user's function (clang -target bpf) in a
 * scratch directory, and opens the object; the directory is gone after.
 */
static struct bpf_object *compile_user(const char *file)
{
	struct bpf_object *o = NULL;
	struct fp_bpfcc cc;
	int err;

	err = fp_bpfcc_init(&cc);
	if (err) {
		fp_error("cannot create a temporary directory: %s",
			 fp_strerror(err));
		return NULL;
	}
	if (write_sources(&cc) ||
	    function_compile_bpf(&cc, file, "carrier",
				 "#define XRPK_USER_FUNCTION 1\n"
				 "#include \"xrp-kernel.bpf.c\"\n",
				 "-DFASTPATH_VERSION=\"" FASTPATH_VERSION "\"",
				 "for the kernel engine"))
		goto out;
	o = bpf_object__open_file(cc.obj, NULL);
	if (libbpf_get_error(o)) {
		fp_error("cannot open the compiled %s: %s", file,
			 fp_strerror(libbpf_get_error(o)));
		o = NULL;
	}
out:
	fp_bpfcc_cleanup(&cc);
	return o;
}

static struct bpf_object *open_builtin(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "xrp_kernel");
	struct bpf_object *o;
	const void *elf;
	size_t sz;

	elf = xrp_kernel_bpf__elf_bytes(&sz);
	o = bpf_object__open_mem(elf, sz, &opts);
	if (libbpf_get_error(o)) {
		fp_error("engine kernel: cannot open the BPF object: %s",
			 fp_strerror(libbpf_get_error(o)));
		return NULL;
	}
	return o;
}

/*
 * Opens and loads the object for `p`, with the verifier's log at `level`
 * into log (when given). Returns the object, or NULL with *err set (0 for
 * failures already printed that are not the verifier's).
 */
static struct bpf_object *load(const struct xrpk_params *p,
			       const struct xrpk_config *cfg, int level,
			       char *log, size_t log_size, int *err)
{
	struct bpf_program *prog;
	struct bpf_object *o;
	struct bpf_map *map;
	__u32 nodes = p->cache_bytes / BPFKV_BLOCK_SIZE;

	*err = 0;
	o = function_is_source(p->function) ? compile_user(p->function)
					    : open_builtin();
	if (!o)
		return NULL;
	prog = bpf_object__find_program_by_name(o, "xrpk_loop_step");
	if (!prog || obj_set_config(o, cfg)) {
		fp_error("engine kernel: the BPF object lacks xrpk_loop_step "
			 "or its config");
		goto fail;
	}
	/* libbpf 1.1 knows no "struct_ops.s/": sleepable by flag, so the
	 * program may call bpf_io_uring_submit_sqes. */
	bpf_program__set_flags(prog,
			       bpf_program__flags(prog) | BPF_F_SLEEPABLE);
	if (log) {
		log[0] = '\0';
		bpf_program__set_log_buf(prog, log, log_size);
		bpf_program__set_log_level(prog, level);
	}
	/* One struct_ops map per ring, made in xrpk_ring_open(). */
	map = bpf_object__find_map_by_name(o, "xrpk_ops");
	if (map)
		bpf_map__set_autocreate(map, false);
	map = bpf_object__find_map_by_name(o, "xrpk_cache");
	if (map && nodes)
		bpf_map__set_max_entries(map, nodes);
	fp_bump_memlock();
	*err = bpf_object__load(o);
	if (*err)
		goto fail;
	return o;
fail:
	bpf_object__close(o);
	return NULL;
}

static void config_for(struct xrpk_config *cfg, const struct xrpk_params *p)
{
	const char *f = p->function;

	cfg->db_size = p->db_size;
	cfg->cache_bytes = p->cache_bytes;
	cfg->max_depth = p->max_depth;
	cfg->fn = (f && !strcmp(f, "bpfkv-range")) || (!f && p->range)
			  ? XRPK_FN_RANGE
			  : XRPK_FN_GET;
}

#define VLOG_SIZE (1 << 20)

int xrpk_open(struct xrpk **out, const struct xrpk_params *p, char *refusal,
	      size_t len)
{
	struct fp_verifier_report report;
	struct bpf_map *cache;
	struct xrpk *k;
	char *log;
	int err;

	*out = NULL;
	if (refusal && len)
		refusal[0] = '\0';
	k = calloc(1, sizeof(*k));
	if (!k)
		return fp_error("out of memory");
	k->p = *p;
	k->prog_fd = -1;
	config_for(&k->cfg, p);
	if (ops_layout_find(&k->lay) || xrpk_probe_ring(&k->cfg))
		goto fail;
	k->obj = load(p, &k->cfg, 0, NULL, 0, &err);
	if (!k->obj && err) {
		/* Again with the log, for the verifier's reason. */
		log = malloc(VLOG_SIZE);
		if (!log) {
			fp_error("out of memory");
			goto fail;
		}
		k->obj = load(p, &k->cfg, 1, log, VLOG_SIZE, &err);
		if (k->obj) { /* passed the second time: odd, but fine */
			free(log);
			goto loaded;
		}
		fp_debug("verifier log:\n%s", log);
		fp_verifier_explain(log, 5, &report);
		if (refusal && len)
			snprintf(refusal, len, "%s",
				 report.reason[0] ? report.reason
						  : fp_strerror(err));
		else
			fp_error("engine kernel: %s refused by the verifier: "
				 "%s",
				 p->function ? p->function
				 : p->range  ? "bpfkv-range"
					     : "bpfkv-get",
				 report.reason[0] ? report.reason
						  : fp_strerror(err));
		free(log);
		goto fail;
	}
	if (!k->obj)
		goto fail;
loaded:
	k->prog_fd = bpf_program__fd(
		bpf_object__find_program_by_name(k->obj, "xrpk_loop_step"));
	cache = bpf_object__find_map_by_name(k->obj, "xrpk_cache");
	for (__u32 i = 0; cache && i < p->cache_bytes / BPFKV_BLOCK_SIZE; i++) {
		if (bpf_map_update_elem(bpf_map__fd(cache), &i,
					p->cache + (size_t)i * BPFKV_BLOCK_SIZE,
					BPF_ANY)) {
			fp_error("engine kernel: cannot fill the cache: %s",
				 strerror(errno));
			goto fail;
		}
	}
	*out = k;
	return 0;
fail:
	xrpk_close(k);
	return 1;
}

void xrpk_close(struct xrpk *k)
{
	if (!k)
		return;
	bpf_object__close(k->obj);
	free(k);
}

int xrpk_verify(const char *function, bool range, int level, char *log,
		size_t log_size, int *err)
{
	struct xrpk_params p = {
		.function = function,
		.range = range,
		.db_fd = -1,
		.db_size = 1ULL << 40,
		.max_depth = 64,
		.inflight = 1,
	};
	struct xrpk_config cfg = {};
	struct bpf_object *o;

	*err = 0;
	config_for(&cfg, &p);
	if (xrpk_probe_ring(&cfg))
		return 1;
	o = load(&p, &cfg, level, log, log_size, err);
	if (!o)
		return 1;
	bpf_object__close(o);
	return 0;
}
