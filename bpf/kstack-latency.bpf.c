// SPDX-License-Identifier: GPL-2.0
/*
 * kstack-latency: where the time of a read goes, layer by layer.
 *
 * Raw syscall tracepoints (tp_btf/sys_enter, sys_exit) time the read
 * syscalls; block tracepoints (block_bio_queue, block_io_start,
 * block_rq_issue, block_rq_complete) time their block I/O. A bio is tied to
 * the read by the task that queues it; a request by the task that allocates
 * it (block_io_start runs in the submitter's context), and from then on by
 * the request pointer, because issue and completion may run elsewhere (plug
 * flush, kworker, interrupt). Requests tied to no traced read are timed
 * issue -> completion as "unattributed".
 *
 * Every system call passes sys_enter and sys_exit, and a traced read makes
 * about ten more runs, so the hot path avoids helpers that take locks: the
 * per-request state lives in a plain array indexed by the request pointer
 * (lookups the verifier inlines, no hash update or delete per request).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "kstack-latency.h"

char LICENSE[] SEC("license") = "GPL";

/* Filters, set by user space before load. */
const volatile __u32 filter_tgid = 0;
const volatile bool filter_comm_on = false;
const volatile char filter_comm[16] = {};
/* Kernel dev_t (major << 20 | minor); 0 = every disk. */
const volatile __u32 filter_dev = 0;
/* filter_dev names a partition: compare the partition, not the disk. */
const volatile bool filter_dev_part = false;

/* Histogram generation being written; flipped by user space. */
__u32 gen = 0;

/* Requests a read keeps track of; more are timed as unattributed. */
#define KSTACK_MAX_RQS 8

struct read_state {
	__u64 enter_ts; /* 0 = no read in progress; identifies the read */
	__u64 bio_ts;	/* first bio queued, 0 = none yet */
	__u32 nr_rqs;
	__u32 pad;
	__u64 rqs[KSTACK_MAX_RQS]; /* its requests (keys of `rqs`) */
};

struct rq_state {
	__u64 rq;	/* the request this slot holds; 0 = free */
	__u64 issue_ts;
	__u64 done_ts;	/* set at completion for requests a read collects */
	__u64 enter_ts; /* owning read's enter_ts */
	__u32 tid;	/* owning read's task; 0 = unattributed */
	__u32 pad;
};

/*
 * The read in progress, per task: task storage is a pointer away and goes
 * away with the task, where a hash keyed by TID costs an update and a delete
 * per read. Completions, which run elsewhere, only touch the request's
 * entry; the read collects its requests when the syscall returns.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct read_state);
} reads SEC(".maps");

/*
 * Requests in flight, in a two-way set-associative table indexed by the
 * request pointer: a request is in one of two slots or in none. A hash map
 * costs a bucket lock and a free-list pop per update and the same again per
 * delete; this costs two inlined array lookups and a compare-and-swap when
 * the request is born, and a store to free the slot. When both slots of a
 * new request are taken, the second way's older request is dropped (its
 * read then counts it lost, as when its pointer is reused).
 */
#define KSTACK_RQ_SLOTS 16384

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KSTACK_RQ_SLOTS);
	__type(key, __u32);
	__type(value, struct rq_state);
} rqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (KSTACK_NR_GENS * KSTACK_NR_LAYERS));
	__type(key, __u32);
	__type(value, struct kstack_hist);
} hists SEC(".maps");

static __always_inline bool is_read_syscall(long nr)
{
	/* One range check and a bit test for the common low numbers. */
#if defined(__TARGET_ARCH_x86)
	/* read, pread64, readv, preadv, preadv2 */
	if ((unsigned long)nr < 20)
		return (1UL << nr) & ((1UL << 0) | (1UL << 17) | (1UL << 19));
	return nr == 295 || nr == 327;
#elif defined(__TARGET_ARCH_arm64)
	if ((unsigned long)nr - 63 < 7)
		return (1UL << (nr - 63)) &
		       ((1UL << 0) | (1UL << 2) | (1UL << 4) | (1UL << 6));
	return nr == 286;
#else
#error "kstack-latency: syscall numbers for this architecture are missing"
#endif
}

static __always_inline long exit_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#endif
}

/* Helpers only when a filter asks for them. */
static __always_inline bool task_selected(void)
{
	if (filter_tgid &&
	    (__u32)(bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return false;
	if (filter_comm_on) {
		char comm[16];
		int i;

		bpf_get_current_comm(comm, sizeof(comm));
		for (i = 0; i < 16; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

static __always_inline __u32 bdev_dev(struct block_device *bdev)
{
	struct gendisk *disk;

	if (filter_dev_part)
		return bdev->bd_dev;
	disk = bdev->bd_disk;
	return ((__u32)disk->major << 20) | (__u32)disk->first_minor;
}

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk;

	if (filter_dev_part)
		return rq->part ? rq->part->bd_dev : 0;
	disk = rq->q->disk;
	return ((__u32)disk->major << 20) | (__u32)disk->first_minor;
}

/* A request from a stored pointer: read it with a probe. */
static __always_inline bool req_in_flight(struct request *rq)
{
	return BPF_CORE_READ(rq, state) == MQ_RQ_IN_FLIGHT;
}

/*
 * The low 32 bits of a request pointer, as a number. The verifier allows
 * no arithmetic on a typed pointer, and the slot index needs some; a 32-bit
 * move of it is allowed (to a privileged program, which this is) and gives
 * a plain number, where reading the pointer back with a helper costs a call.
 */
static __always_inline __u32 rq_lo32(struct request *rq)
{
	__u32 lo;

	asm volatile("%[lo] = %[p]"
		     : [lo] "=w"(lo)
		     : [p] "w"((__u32)(unsigned long)rq));
	return lo;
}

/* The slots a request may occupy (by its pointer's low 32 bits `lo`);
 * requests are cache-line aligned. */
static __always_inline __u32 rq_slot(__u32 lo, int way)
{
	__u32 i = lo >> 6;

	if (way)
		i ^= (lo >> 20) | (KSTACK_RQ_SLOTS / 2);
	return i & (KSTACK_RQ_SLOTS - 1);
}

static __always_inline struct rq_state *rq_find(__u64 key, __u32 lo)
{
	struct rq_state *rs;
	__u32 i;

	i = rq_slot(lo, 0);
	rs = bpf_map_lookup_elem(&rqs, &i);
	if (rs && rs->rq == key)
		return rs;
	i = rq_slot(lo, 1);
	rs = bpf_map_lookup_elem(&rqs, &i);
	if (rs && rs->rq == key)
		return rs;
	return NULL;
}

/* A slot for `key`: its own if it has one, else a free or a taken one. */
static __always_inline struct rq_state *rq_claim(__u64 key, __u32 lo)
{
	struct rq_state *a, *b;
	__u32 i;

	i = rq_slot(lo, 0);
	a = bpf_map_lookup_elem(&rqs, &i);
	i = rq_slot(lo, 1);
	b = bpf_map_lookup_elem(&rqs, &i);
	if (!a || !b)
		return NULL;
	if (a->rq == key)
		return a;
	if (b->rq == key)
		return b;
	if (!a->rq && __sync_val_compare_and_swap(&a->rq, 0, key) == 0)
		return a;
	b->rq = key;
	return b;
}

/* Histogram key base of the generation being written. */
static __always_inline __u32 hist_base(void)
{
	return *(volatile __u32 *)&gen ? KSTACK_NR_LAYERS : 0;
}

static __always_inline void record(__u32 base, __u32 layer, __u64 ns)
{
	__u32 key = base + layer;
	struct kstack_hist *h;
	__u32 slot;

	h = bpf_map_lookup_elem(&hists, &key);
	if (!h)
		return;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	slot = fp_hist_slot(ns);
	if (slot >= FP_HIST_SLOTS)
		slot = FP_HIST_SLOTS - 1;
	h->slots[slot]++;
}

/* Syscall entry of a read: start timing it. */
static __always_inline int read_enter(void)
{
	struct read_state *st;

	if (!task_selected())
		return 0;
	st = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), NULL,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->bio_ts = 0;
	st->nr_rqs = 0;
	st->enter_ts = bpf_ktime_get_ns();
	return 0;
}

/* The raw syscall tracepoint: every syscall on the machine passes here. */
SEC("tp_btf/sys_enter")
int BPF_PROG(kstack_sys_enter, struct pt_regs *regs, long nr)
{
	if (!is_read_syscall(nr))
		return 0;
	return read_enter();
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(kstack_bio_queue, struct bio *bio)
{
	struct read_state *st;

	/* The disk first: a read's bio to another disk (a loop device's
	 * backing disk) then costs three loads, not a task-storage call. */
	if (filter_dev && bdev_dev(bio->bi_bdev) != filter_dev)
		return 0;
	st = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), NULL, 0);
	if (!st || !st->enter_ts || st->bio_ts)
		return 0;
	st->bio_ts = bpf_ktime_get_ns();
	return 0;
}

/* A request is born in the context of the task whose bio it carries. */
SEC("tp_btf/block_io_start")
int BPF_PROG(kstack_io_start, struct request *rq)
{
	__u64 enter_ts = 0, key;
	struct read_state *st;
	struct rq_state *rs;
	__u32 tid = 0, lo, n;

	if (filter_dev && rq_dev(rq) != filter_dev)
		return 0;
	key = (__u64)rq;
	lo = rq_lo32(rq);
	st = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), NULL, 0);
	if (st && st->enter_ts && st->bio_ts &&
	    (n = st->nr_rqs) < KSTACK_MAX_RQS) {
		st->rqs[n] = key;
		st->nr_rqs = n + 1;
		tid = (__u32)bpf_get_current_pid_tgid();
		enter_ts = st->enter_ts;
	} else if (!task_selected()) {
		return 0;
	}
	rs = rq_claim(key, lo);
	if (!rs)
		return 0;
	rs->issue_ts = 0;
	rs->done_ts = 0;
	rs->enter_ts = enter_ts;
	rs->tid = tid;
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(kstack_rq_issue, struct request *rq)
{
	struct rq_state *rs;
	__u64 key;
	__u32 lo;

	/* With -d, other disks' requests cost three loads, not a lookup. */
	if (filter_dev && rq_dev(rq) != filter_dev)
		return 0;
	key = (__u64)rq;
	lo = rq_lo32(rq);
	rs = rq_find(key, lo);
	if (rs) {
		/* A requeued request keeps its first issue time. */
		if (!rs->issue_ts)
			rs->issue_ts = bpf_ktime_get_ns();
		return 0;
	}
	/*
	 * Not seen at birth (flush and passthrough requests, or born before
	 * we attached): its submitter is unknown, so only count it when no
	 * task filter is asking for a particular submitter.
	 */
	if (filter_tgid || filter_comm_on)
		return 0;
	rs = rq_claim(key, lo);
	if (!rs)
		return 0;
	rs->done_ts = 0;
	rs->enter_ts = 0;
	rs->tid = 0;
	rs->issue_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(kstack_rq_complete, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	struct rq_state *rs;
	__u64 key, now;
	__u32 lo;

	if (filter_dev && rq_dev(rq) != filter_dev)
		return 0;
	key = (__u64)rq;
	lo = rq_lo32(rq);
	rs = rq_find(key, lo);
	if (!rs)
		return 0;
	/* Partial completion: the request goes on. */
	if (nr_bytes < rq->__data_len)
		return 0;
	now = bpf_ktime_get_ns();
	if (rs->tid) {
		rs->done_ts = now; /* its read collects it */
		return 0;
	}
	record(hist_base(), KSTACK_UNATTRIBUTED,
	       rs->issue_ts && now > rs->issue_ts ? now - rs->issue_ts : 0);
	rs->rq = 0;
	return 0;
}

/* Syscall exit of a read: collect its requests, record its layers. */
static __always_inline int read_exit(void)
{
	__u64 t0, t1, t2 = 0, t3 = 0, t4, done;
	struct read_state *st;
	struct rq_state *rs;
	__u32 i, n, base;

	st = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), NULL, 0);
	if (!st || !st->enter_ts)
		return 0;
	if (!st->bio_ts)
		goto out; /* served without block I/O (page cache, pipe) */
	t4 = bpf_ktime_get_ns();

	/* First issue and last completion among the read's requests. */
	n = st->nr_rqs;
	for (i = 0; i < KSTACK_MAX_RQS && i < n; i++) {
		__u64 key = st->rqs[i];

		rs = rq_find(key, (__u32)key);
		if (!rs || rs->enter_ts != st->enter_ts)
			continue; /* reused by a later read: lost */
		if (!rs->issue_ts)
			continue; /* never issued: nothing to time */
		done = rs->done_ts;
		if (!done) {
			if (req_in_flight((struct request *)key)) {
				/* Readahead it did not wait for: let the
				 * completion time it as unattributed. */
				rs->tid = 0;
				continue;
			}
			/*
			 * Completed, yet our block_rq_complete program did
			 * not see it. Seen about once in 10^4 reads under
			 * load, with the loop completion running in a
			 * softirq; most likely a nested run the kernel
			 * skipped. The device time then extends to now.
			 */
			done = t4;
		}
		if (!t2 || rs->issue_ts < t2)
			t2 = rs->issue_ts;
		if (done > t3)
			t3 = done;
		rs->rq = 0;
	}
	base = hist_base();
	if (!t3) {
		record(base, KSTACK_INCOMPLETE, 0);
		goto out;
	}
	/* Clamp so the layers are never negative and sum to the total. */
	t0 = st->enter_ts;
	t1 = st->bio_ts > t0 ? st->bio_ts : t0;
	t2 = t2 > t1 ? t2 : t1;
	t3 = t3 > t2 ? t3 : t2;
	t4 = t4 > t3 ? t4 : t3;
	record(base, KSTACK_SYSCALL, t1 - t0);
	record(base, KSTACK_BLOCK, t2 - t1);
	record(base, KSTACK_DEVICE, t3 - t2);
	record(base, KSTACK_COMPLETION, t4 - t3);
	record(base, KSTACK_TOTAL, t4 - t0);
out:
	st->enter_ts = 0;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(kstack_sys_exit, struct pt_regs *regs, long ret)
{
	if (!is_read_syscall(exit_syscall_nr(regs)))
		return 0;
	return read_exit();
}

/*
 * The same through the per-syscall tracepoints (-s, needs tracefs): only
 * the traced syscalls reach BPF, so other syscalls cost nothing, while each
 * traced one takes the heavier perf path.
 */
#define KSTACK_SYSCALL_TP(name)                     \
	SEC("tracepoint/syscalls/sys_enter_" #name) \
	int kstack_enter_##name(void *ctx)          \
	{                                           \
		return read_enter();                \
	}                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)  \
	int kstack_exit_##name(void *ctx)           \
	{                                           \
		return read_exit();                 \
	}

KSTACK_SYSCALL_TP(read)
KSTACK_SYSCALL_TP(pread64)
KSTACK_SYSCALL_TP(readv)
KSTACK_SYSCALL_TP(preadv)
KSTACK_SYSCALL_TP(preadv2)
