// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup's kernel engine, user-space side (see engine-kernel.h): sets up
 * rings the io_uring BPF ops program can drive, loads the program with a
 * built-in or compiled storage function, attaches it to each ring and runs
 * rounds of lookups, one io_uring_enter each.
 *
 * Debian 12's toolchain predates the feature, so a few things are done by
 * hand: rings come from the raw system calls (liburing 2.3 knows neither
 * NO_SQARRAY nor SQ_REWIND, and nothing here needs the rings mapped); the
 * struct_ops map is made here, one per ring, because libbpf 1.1 cannot put
 * a ring_fd in the value it writes and knows no BPF_F_LINK; and the uapi
 * numbers newer than the installed headers are defined below.
 */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "xrp-kernel.h"
#include "xrp-kernel.skel.h"
#include "engine-kernel.h"

#ifndef XRP_MULTIARCH
#define XRP_MULTIARCH "x86_64-linux-gnu"
#endif

/* uapi newer than Debian 12's headers (values from the 7.2 kernel's BTF) */
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif
#ifndef IORING_SETUP_SQ_REWIND
#define IORING_SETUP_SQ_REWIND (1U << 20)
#endif
#define XRPK_REGISTER_MEM_REGION  34
#define XRPK_MEM_REGION_TYPE_USER 1
#ifndef BPF_F_LINK
#define BPF_F_LINK (1U << 13)
#endif
#define XRPK_BPF_STRUCT_OPS 44 /* enum bpf_attach_type */

struct xrpk_region_desc {
	__u64 user_addr;
	__u64 size;
	__u32 flags;
	__u32 id;
	__u64 mmap_offset;
	__u64 resv[4];
};

struct xrpk_mem_region_reg {
	__u64 region_uptr;
	__u64 flags;
	__u64 resv[2];
};

_Static_assert(sizeof(struct xrpk_sqe) == sizeof(struct io_uring_sqe),
	       "SQE layout");
_Static_assert(offsetof(struct xrpk_sqe, buf_index) ==
		       offsetof(struct io_uring_sqe, buf_index),
	       "SQE layout");
_Static_assert(sizeof(struct xrpk_answer) > 0 &&
		       sizeof(((struct xrpk_answer *)0)->head) ==
			       XRPK_HEAD_BYTES,
	       "answer head");
_Static_assert(XRPK_ENGINE_MAX_INFLIGHT == XRPK_MAX_SLOTS &&
		       XRPK_ENGINE_BATCH == XRPK_BATCH,
	       "limits");

/* The program's source, embedded so a user's function can be built in. */
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

/* Where the kernel keeps the fields of a struct_ops value. */
struct ops_layout {
	__u32 vtype_id; /* struct bpf_struct_ops_io_uring_bpf_ops */
	__u32 vsize;
	__u32 loop_step_off, ring_fd_off; /* within the value */
};

struct xrpk {
	struct bpf_object *obj;
	int prog_fd;
	struct ops_layout lay;
	struct xrpk_params p;
	struct xrpk_config cfg;
};

struct xrpk_ring {
	struct xrpk *k;
	int ring_fd, link_fd;
	struct xrpk_region *region;
	size_t region_len;
};

/* ---- what the kernel has ---------------------------------------------- */

bool xrpk_supported(char *why, size_t len)
{
	static const char *const need[] = {
		"io_uring_bpf_ops",	   "bpf_struct_ops_io_uring_bpf_ops",
		"iou_loop_params",	   "bpf_io_uring_submit_sqes",
		"bpf_io_uring_get_region",
	};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!fp_probe_btf_type(need[i])) {
			if (why)
				snprintf(why, len, "no %s in its BTF", need[i]);
			return false;
		}
	}
	return true;
}

bool xrpk_may_load(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	const int cap_bpf = 39, cap_sys_admin = 21;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return (data[cap_bpf / 32].effective & (1U << (cap_bpf % 32))) ||
	       (data[cap_sys_admin / 32].effective &
		(1U << (cap_sys_admin % 32)));
}

static long uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return syscall(__NR_io_uring_setup, entries, p);
}

static long uring_register(int fd, unsigned int op, const void *arg,
			   unsigned int nr)
{
	return syscall(__NR_io_uring_register, fd, op, arg, nr);
}

static long uring_enter(int fd)
{
	return syscall(__NR_io_uring_enter, fd, 0, 0, 0, NULL, 0);
}

/*
 * A ring BPF ops accept: DEFER_TASKRUN (completions run when the loop asks)
 * needs SINGLE_ISSUER; NO_SQARRAY and SQ_REWIND let the program write its
 * SQEs from index 0 without touching the SQ ring's head and tail.
 */
static int ring_create(struct io_uring_params *p)
{
	long fd;

	memset(p, 0, sizeof(*p));
	p->flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		   IORING_SETUP_NO_SQARRAY | IORING_SETUP_SQ_REWIND |
		   IORING_SETUP_CQSIZE;
	p->cq_entries = XRPK_CQ_ENTRIES;
	fd = uring_setup(XRPK_MAX_SLOTS, p);
	if (fd < 0) {
		int e = errno;

		fp_error("engine kernel: cannot set up io_uring: %s%s",
			 strerror(e),
			 e == EINVAL  ? " (this kernel's io_uring lacks "
					"SQ_REWIND or NO_SQARRAY, Linux 7.0+)"
			 : e == EPERM ? " (is io_uring disabled by sysctl "
					"kernel.io_uring_disabled?)"
				      : "");
		return -e;
	}
	if (p->sq_entries != XRPK_MAX_SLOTS ||
	    p->cq_entries < XRPK_CQ_ENTRIES ||
	    (p->cq_entries & (p->cq_entries - 1))) {
		close(fd);
		fp_error("engine kernel: io_uring gave %u/%u entries, "
			 "want %u/%u",
			 p->sq_entries, p->cq_entries, XRPK_MAX_SLOTS,
			 XRPK_CQ_ENTRIES);
		return -EINVAL;
	}
	return (int)fd;
}

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

static int run_cmd(char *const argv[], char *out, size_t outlen)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, outlen - 1 - used);

		if (n <= 0)
			break;
		used += n;
		if (used == outlen - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return fp_error("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f))
		return fp_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

static const char *const tmp_files[] = {
	"xrp.h",      "fastpath/xrp.h",	  "xrp-kernel.h",
	"metadata.h", "xrp-kernel.bpf.c", "carrier.c",
	"carrier.o",
};

static void tmp_remove(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(tmp_files) / sizeof(tmp_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, tmp_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/fastpath", dir);
	rmdir(path);
	rmdir(dir);
}

/* First line of a compiler's output that says "error", for a short reason. */
static const char *error_line(char *out)
{
	char *line = strstr(out, "error");

	if (!line)
		line = out;
	else
		while (line > out && line[-1] != '\n')
			line--;
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/*
 * Builds the program around a user's function (clang -target bpf) in a
 * scratch directory, and opens the object; the directory is gone after.
 */
static struct bpf_object *compile_user(const char *file)
{
	char dir[] = "/tmp/xrp-lookup-kernel.XXXXXX", path[PATH_MAX];
	char abs[PATH_MAX], inc[PATH_MAX + 2], obj[PATH_MAX], src[PATH_MAX];
	char multi[96], version[64], out[4096], *text = NULL;
	struct bpf_object *o = NULL;
	int rc;

	if (!realpath(file, abs)) {
		fp_error("cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	if (!mkdtemp(dir)) {
		fp_error("cannot create a temporary directory: %s",
			 strerror(errno));
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/fastpath", dir);
	if (mkdir(path, 0700) || write_text(dir, "xrp.h", xrpk_src_xrp) ||
	    write_text(dir, "fastpath/xrp.h", xrpk_src_xrp) ||
	    write_text(dir, "xrp-kernel.h", xrpk_src_shared) ||
	    write_text(dir, "metadata.h", xrpk_src_metadata) ||
	    write_text(dir, "xrp-kernel.bpf.c", xrpk_src_bpf))
		goto out;
	if (asprintf(&text,
		     "#include \"xrp.h\"\n#include \"%s\"\n"
		     "#define XRPK_USER_FUNCTION 1\n"
		     "#include \"xrp-kernel.bpf.c\"\n",
		     abs) < 0) {
		text = NULL;
		fp_error("out of memory");
		goto out;
	}
	if (write_text(dir, "carrier.c", text))
		goto out;
	snprintf(inc, sizeof(inc), "-I%s", dir);
	snprintf(multi, sizeof(multi), "-I/usr/include/%s", XRP_MULTIARCH);
	snprintf(version, sizeof(version), "-DFASTPATH_VERSION=\"%s\"",
		 FASTPATH_VERSION);
	snprintf(src, sizeof(src), "%s/carrier.c", dir);
	snprintf(obj, sizeof(obj), "%s/carrier.o", dir);
	{
		char *argv[] = {"clang",    "-O2", "-g",  "-target", "bpf",
				"-mcpu=v3", inc,   multi, version,   "-c",
				src,	    "-o",  obj,	  NULL};

		rc = run_cmd(argv, out, sizeof(out));
	}
	if (rc) {
		fp_debug("%s", out);
		fp_error("cannot compile %s for the kernel engine: %s (-v "
			 "shows the compiler output)",
			 file,
			 rc == 127 ? "clang is not installed"
				   : error_line(out));
		goto out;
	}
	o = bpf_object__open_file(obj, NULL);
	if (libbpf_get_error(o)) {
		fp_error("cannot open the compiled %s: %s", file,
			 fp_strerror(libbpf_get_error(o)));
		o = NULL;
	}
out:
	free(text);
	tmp_remove(dir);
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

static bool is_source(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 2 && !strcmp(s + n - 2, ".c");
}

/* Where the kernel puts the CQ ring's fields, from a throw-away ring. */
static int probe_ring(struct xrpk_config *cfg)
{
	struct io_uring_params p;
	int fd = ring_create(&p);

	if (fd < 0)
		return 1;
	close(fd);
	cfg->cq_head_off = p.cq_off.head;
	cfg->cq_tail_off = p.cq_off.tail;
	cfg->cqes_off = p.cq_off.cqes;
	cfg->cq_mask = p.cq_entries - 1;
	if (p.cq_off.cqes + p.cq_entries * sizeof(struct xrpk_cqe) >
	    XRPK_CQ_BYTES)
		return fp_error("engine kernel: io_uring's CQ ring is larger "
				"than the program reads (%u entries at %u)",
				p.cq_entries, p.cq_off.cqes);
	return 0;
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
	o = is_source(p->function) ? compile_user(p->function) : open_builtin();
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
	if (ops_layout_find(&k->lay) || probe_ring(&k->cfg))
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
	if (probe_ring(&cfg))
		return 1;
	o = load(&p, &cfg, level, log, log_size, err);
	if (!o)
		return 1;
	bpf_object__close(o);
	return 0;
}

/* ---- rings ------------------------------------------------------------ */

/* The struct_ops map for one ring, and the link that attaches it. */
static int attach(struct xrpk_ring *r)
{
	/* The kernel wants the object's BTF with a struct_ops map, as
	 * libbpf would pass it. */
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .btf_fd = bpf_object__btf_fd(r->k->obj),
		    .btf_vmlinux_value_type_id = r->k->lay.vtype_id,
		    .map_flags = BPF_F_LINK);
	const struct ops_layout *l = &r->k->lay;
	int map_fd, err = 0;
	__u32 zero = 0;
	char *value;

	value = calloc(1, l->vsize);
	if (!value)
		return fp_error("out of memory");
	*(__u64 *)(value + l->loop_step_off) = r->k->prog_fd;
	*(__u32 *)(value + l->ring_fd_off) = r->ring_fd;
	map_fd = bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "xrpk_ops",
				sizeof(__u32), l->vsize, 1, &opts);
	if (map_fd < 0) {
		err = fp_error("engine kernel: cannot create the struct_ops "
			       "map: %s",
			       strerror(errno));
		goto out;
	}
	if (bpf_map_update_elem(map_fd, &zero, value, 0)) {
		err = fp_error("engine kernel: cannot fill the struct_ops "
			       "map: %s",
			       strerror(errno));
		goto out;
	}
	r->link_fd = bpf_link_create(
		map_fd, 0, (enum bpf_attach_type)XRPK_BPF_STRUCT_OPS, NULL);
	if (r->link_fd < 0) {
		err = fp_error("engine kernel: cannot attach to the ring: %s%s",
			       strerror(-r->link_fd),
			       r->link_fd == -EOPNOTSUPP
				       ? " (the ring needs DEFER_TASKRUN, "
					 "no SQPOLL or IOPOLL)"
				       : "");
		r->link_fd = -1;
	}
out:
	if (map_fd >= 0)
		close(map_fd); /* the link holds it */
	free(value);
	return err;
}

int xrpk_ring_open(struct xrpk *k, struct xrpk_ring **out)
{
	struct xrpk_mem_region_reg reg = {};
	struct xrpk_region_desc rd = {};
	long page = sysconf(_SC_PAGESIZE);
	struct io_uring_params p;
	struct xrpk_ring *r;
	struct iovec iov;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fp_error("out of memory");
	r->k = k;
	r->ring_fd = r->link_fd = -1;
	r->region_len = (sizeof(struct xrpk_region) + page - 1) / page * page;
	r->region = mmap(NULL, r->region_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r->region == MAP_FAILED) {
		r->region = NULL;
		fp_error("engine kernel: cannot allocate %zu bytes: %s",
			 r->region_len, strerror(errno));
		goto fail;
	}
	r->ring_fd = ring_create(&p);
	if (r->ring_fd < 0)
		goto fail;
	if (p.cq_off.head != k->cfg.cq_head_off ||
	    p.cq_off.tail != k->cfg.cq_tail_off ||
	    p.cq_off.cqes != k->cfg.cqes_off) {
		fp_error("engine kernel: io_uring moved its CQ fields between "
			 "two rings");
		goto fail;
	}
	/* The region BPF reaches through bpf_io_uring_get_region(). */
	rd.user_addr = (__u64)(uintptr_t)r->region;
	rd.size = r->region_len;
	rd.flags = XRPK_MEM_REGION_TYPE_USER;
	reg.region_uptr = (__u64)(uintptr_t)&rd;
	if (uring_register(r->ring_fd, XRPK_REGISTER_MEM_REGION, &reg, 1)) {
		fp_error("engine kernel: cannot register the memory region "
			 "with io_uring: %s",
			 strerror(errno));
		goto fail;
	}
	if (uring_register(r->ring_fd, IORING_REGISTER_FILES, &k->p.db_fd, 1)) {
		fp_error("engine kernel: cannot register the file with "
			 "io_uring: %s",
			 strerror(errno));
		goto fail;
	}
	/* The slots' data[] are the read buffers: one fixed buffer. */
	iov.iov_base = r->region->slots;
	iov.iov_len = sizeof(r->region->slots);
	if (uring_register(r->ring_fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
		fp_error("engine kernel: cannot register buffers with "
			 "io_uring: %s",
			 strerror(errno));
		goto fail;
	}
	r->region->hdr.user_base = (__u64)(uintptr_t)r->region;
	if (attach(r))
		goto fail;
	*out = r;
	return 0;
fail:
	xrpk_ring_close(r);
	return 1;
}

void xrpk_ring_close(struct xrpk_ring *r)
{
	if (!r)
		return;
	if (r->link_fd >= 0)
		close(r->link_fd); /* detaches the program from the ring */
	if (r->ring_fd >= 0)
		close(r->ring_fd);
	if (r->region)
		munmap(r->region, r->region_len);
	free(r);
}

struct bpf_xrp *xrpk_ring_ctx(struct xrpk_ring *r)
{
	return &r->region->slots[0].ctx;
}

void xrpk_ring_stats(const struct xrpk_ring *r, uint64_t *steps, uint64_t *sqes,
		     uint64_t *cqes)
{
	const struct xrpk_hdr *h = &r->region->hdr;

	*steps = h->loop_steps;
	*sqes = h->sqes;
	*cqes = h->cqes;
}

/* The messages of the user-space engines, word for word. */
static void describe(const struct xrpk_ring *r, const struct xrpk_result *res,
		     char *buf, size_t len)
{
	unsigned int depth = r->k->p.max_depth;
	unsigned long long a = res->a, b = res->b;

	switch (res->status) {
	case XRPK_ERR_RET:
		snprintf(buf, len, "the storage function returned %u",
			 (unsigned int)a);
		break;
	case XRPK_ERR_SECOND:
		snprintf(buf, len,
			 "the storage function asked for a second read "
			 "(size[%d]); one read per step is supported",
			 (int)a);
		break;
	case XRPK_ERR_DEPTH:
		snprintf(buf, len, "more than %u reads (--max-depth %u)", depth,
			 depth);
		break;
	case XRPK_ERR_NOTHING:
		snprintf(buf, len,
			 "the storage function asked for nothing (size 0) "
			 "and did not set done");
		break;
	case XRPK_ERR_OVERSIZED:
		snprintf(buf, len,
			 "the storage function asked for an oversized read "
			 "(%llu bytes at %llu, at most %d)",
			 a, b, XRP_DATA_SIZE);
		break;
	case XRPK_ERR_MISALIGNED:
		snprintf(buf, len,
			 "the storage function asked for a misaligned read "
			 "(%llu bytes at %llu; both must be multiples of %d)",
			 a, b, BPFKV_BLOCK_SIZE);
		break;
	case XRPK_ERR_OUTSIDE:
		snprintf(buf, len,
			 "the storage function asked for offset %llu, "
			 "outside the database (%llu bytes)",
			 a, (unsigned long long)r->k->p.db_size);
		break;
	case XRPK_ERR_IO:
	case XRPK_ERR_SHORT:
		snprintf(buf, len, "read of %llu bytes at %llu: %s", b, a,
			 res->status == XRPK_ERR_IO ? strerror((int)res->c)
						    : "short read");
		break;
	default:
		snprintf(buf, len,
			 "the kernel engine lost track of this lookup "
			 "(status %u)",
			 res->status);
	}
}

static void answer(const struct xrpk_ring *r, const struct xrpk_result *res,
		   struct xrpk_answer *a)
{
	a->failed = res->status != XRPK_DONE;
	a->hops = res->hops;
	a->cached = res->cached;
	a->last_addr = res->last_addr;
	a->lat_ns = res->lat_ns;
	memcpy(a->head, res->head, sizeof(a->head));
	a->err[0] = '\0';
	if (a->failed)
		describe(r, res, a->err, sizeof(a->err));
}

/*
 * One round: every slot starts at PH_NEXT (slot 0 at PH_CONTINUE for a
 * range chain), then io_uring_enter until the program has finished every
 * job. Setting the round up here keeps loops, and verifier work, out of
 * the program.
 */
static int round_run(struct xrpk_ring *r, __u32 mode, __u32 njobs, __u32 nslots,
		     uint64_t *enters)
{
	struct xrpk_region *g = r->region;
	struct xrpk_hdr *h = &g->hdr;
	__u32 done_before;

	h->mode = mode;
	h->njobs = njobs;
	h->nslots = nslots;
	h->next_job = mode == XRPK_MODE_CONTINUE ? 1 : 0;
	h->done = 0;
	h->active = 0;
	h->fatal = 0;
	h->npend = nslots;
	for (__u32 i = 0; i < nslots; i++) {
		h->pend[i] = i;
		g->slots[i].st.phase = XRPK_PH_NEXT;
	}
	if (mode == XRPK_MODE_CONTINUE) {
		g->slots[0].st.phase = XRPK_PH_CONTINUE;
		g->slots[0].st.job = 0;
	}
	h->started = 0;
	for (int tries = 0;; tries++) {
		done_before = h->done;
		if (uring_enter(r->ring_fd) < 0 && errno != EINTR)
			return fp_error("engine kernel: io_uring_enter: %s",
					strerror(errno));
		if (enters)
			(*enters)++;
		if (!h->started)
			return fp_error("engine kernel: the loop_step program "
					"did not run (are the ring's regions "
					"the sizes it expects?)");
		if (h->fatal)
			return fp_error("engine kernel: submitting from BPF "
					"failed: %s",
					strerror(-h->fatal));
		if (h->done >= njobs && !h->active)
			return 0;
		/* Interrupted by a signal: the program carries on where it
		 * was. Without progress twice over, something is wrong. */
		if (h->done == done_before && tries > 2)
			return fp_error("engine kernel: the loop stopped with "
					"%u of %u lookups done",
					h->done, njobs);
	}
}

int xrpk_lookup(struct xrpk_ring *r, const uint64_t *keys, size_t n,
		struct xrpk_answer *out, uint64_t *enters)
{
	unsigned int slots = r->k->p.inflight;

	if (n == 0)
		return 0;
	if (n > XRPK_BATCH)
		return fp_error("engine kernel: %zu lookups in one batch, at "
				"most %d",
				n, XRPK_BATCH);
	if (slots > XRPK_MAX_SLOTS)
		slots = XRPK_MAX_SLOTS;
	if (slots > n)
		slots = n;
	if (slots == 0)
		slots = 1;
	memcpy(r->region->keys, keys, n * sizeof(*keys));
	if (round_run(r, XRPK_MODE_LOOKUP, n, slots, enters))
		return 1;
	for (size_t i = 0; i < n; i++) {
		const struct xrpk_result *res = &r->region->results[i];

		if (res->job != i)
			return fp_error("engine kernel: result %zu names job "
					"%u",
					i, res->job);
		answer(r, res, &out[i]);
	}
	return 0;
}

int xrpk_chain(struct xrpk_ring *r, struct xrpk_answer *out)
{
	if (round_run(r, XRPK_MODE_CONTINUE, 1, 1, NULL))
		return 1;
	answer(r, &r->region->results[0], out);
	return 0;
}
