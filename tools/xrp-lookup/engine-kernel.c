// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup's kernel engine, user-space side (see engine-kernel.h): sets up
 * rings the io_uring BPF ops program can drive, attaches the program to
 * each ring and runs rounds of lookups, one io_uring_enter each. Building
 * and loading the program is engine-kernel-load.c's.
 *
 * Debian 12's toolchain predates the feature, so a few things are done by
 * hand: rings come from the raw system calls (liburing 2.3 knows neither
 * NO_SQARRAY nor SQ_REWIND, and nothing here needs the rings mapped); the
 * struct_ops map is made here, one per ring, because libbpf 1.1 cannot put
 * a ring_fd in the value it writes and knows no BPF_F_LINK; and the uapi
 * numbers newer than the installed headers are defined below.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "xrp-kernel.h"
#include "engine-kernel-priv.h"

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

int xrpk_probe_ring(struct xrpk_config *cfg)
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