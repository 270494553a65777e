// SPDX-License-Identifier: GPL-2.0
/*
 * kstack-latency: where the time of a read goes, layer by layer.
 *
 * Raw syscall tracepoints (tp_btf/sys_enter, sys_exit) time the read
 * syscalls. In the block layer, block_bio_queue runs in the context of the
 * task that submits a bio: it ties the bio to the task's read and stamps
 * the first bio queued. block_rq_complete, which runs wherever the request
 * completes, finds the read by the request's first bio and stamps the
 * completion. Each traced tracepoint costs a program run per event on every
 * disk (about 40 to 60 ns each here, most of it the run itself), and a read
 * of a loop device makes each block event twice, so tracing few of them is
 * what makes a read cheap. block_io_start (6.5+) is not needed: requests
 * are found by their bio, so one binary runs from 5.12 on.
 *
 * The issue time comes from one of two places, chosen by user space:
 *  - the request itself: the kernel stamps rq->io_start_time_ns right after
 *    block_rq_issue fires, on queues that keep I/O statistics (wbt, which
 *    is on by default, keeps them). Exact up to 6.8, and free;
 *  - block_rq_issue (issue_tp): since 6.9 the block layer takes its times
 *    from a cache in the submitter's plug, so a request issued by a plug
 *    flush (a 4 KiB O_DIRECT read of a block device on 6.18, any iomap
 *    direct read) carries the time of its allocation, not of its issue; and
 *    a queue without statistics carries none.
 * Requests tied to no traced read are timed issue -> completion as
 * "unattributed".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "kstack-latency.h"
#include "metadata.h"

FASTPATH_METADATA("kstack-latency");

char LICENSE[] SEC("license") = "GPL";

/* Filters, set by user space before load. */
const volatile __u32 filter_tgid = 0;
const volatile bool filter_comm_on = false;
const volatile char filter_comm[16] = {};
/* Kernel dev_t (major << 20 | minor); 0 = every disk. */
const volatile __u32 filter_dev = 0;
/* filter_dev names a partition: compare the partition, not the disk. */
const volatile bool filter_dev_part = false;
/* Issue times from block_rq_issue (kstack_rq_issue is loaded). */
const volatile bool issue_tp = false;

/* Histogram generation being written; flipped by user space. */
__u32 gen = 0;
/* Reads' requests that completed without an issue time (!issue_tp on a
 * queue without statistics): their block time went to the device. */
__u64 no_issue_time = 0;

/* Bios of a read that are tied to it; more are timed as unattributed. */
#define KSTACK_MAX_BIOS 8

struct read_state {
	__u32 tid; /* the thread whose entry this is */
	__u32 nr_bios;
	__u64 enter_ts; /* 0 = no read in progress; identifies the read */
	__u64 bio_ts;	/* first bio queued, 0 = none yet */
	__u32 rahead;	/* a readahead bio among them: may not be waited for */
	__u32 pad;
	__u64 bios[KSTACK_MAX_BIOS]; /* its bios (keys of `slots`) */
};

/* Block I/O in flight: a bio of a traced read, or an unattributed one. */
struct io_slot {
	__u64 key;	/* bio (or bio-less request) pointer; 0 = free */
	__u64 owner;	/* owning read's enter_ts; 0 = unattributed */
	__u64 issue_ts; /* 0 = unknown */
	__u64 done_ts;	/* set at completion for the read to collect */
};

/*
 * The read in progress, per thread, in an array indexed by thread ID: a
 * lookup the verifier inlines. Task storage costs two helper calls per
 * lookup, about 40 ns here at each of the three steps of a read; a hash
 * keyed by TID costs an update and a delete per read. User space sizes it
 * to pid_max when that is at most 64 Ki (each thread then has its own
 * entry); above, a thread whose entry another thread's read holds takes a
 * second one, found by a hash of its ID. Completions, which run elsewhere,
 * only touch the bio's slot; the read collects its slots when the syscall
 * returns.
 */
const volatile __u32 tid_bits = 15; /* max_entries = 1 << tid_bits */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct read_state);
} reads SEC(".maps");

/*
 * Block I/O in flight, in a four-way set-associative table: a key is in
 * one of the four slots of the bucket its hash picks, or in none. A hash
 * map costs a bucket lock and a free-list pop per update and the same again
 * per delete; this costs one inlined array lookup and plain stores. Small,
 * because its size is what a lookup costs: user space makes it 128 buckets
 * (16 KiB, in the kernel's direct map) on a small machine, 32 per CPU on
 * larger ones; a 512 KiB table cost 40 ns more at each of a read's four
 * steps here, in TLB and cache misses. When all four slots of a new key
 * are taken, one of unattributed I/O is dropped, else one of a read (which
 * then counts it lost, as when its pointer is reused).
 */
#define KSTACK_WAYS 4

struct io_bucket {
	struct io_slot way[KSTACK_WAYS];
};

const volatile __u32 bucket_bits = 7; /* max_entries = 1 << bucket_bits */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct io_bucket);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSTACK_NR_GENS);
	__type(key, __u32);
	__type(value, struct kstack_read_hist);
} read_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSTACK_NR_GENS * 2);
	__type(key, __u32);
	__type(value, struct kstack_hist);
} other_hists SEC(".maps");

/* Kernels before 5.15 reach the disk from the request, later ones from its
 * queue only; CO-RE picks the one that exists. */
struct request___rq_disk {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

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

static __always_inline bool task_filter_on(void)
{
	return filter_tgid || filter_comm_on;
}

/* Helpers only when a filter asks for them. */
static __always_inline bool task_selected_id(__u64 pid_tgid)
{
	if (filter_tgid && (__u32)(pid_tgid >> 32) != filter_tgid)
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

static __always_inline bool task_selected(void)
{
	return task_selected_id(filter_tgid ? bpf_get_current_pid_tgid() : 0);
}

/* The entry of thread `tid`; with `enter`, one for a read it starts. */
static __always_inline struct read_state *read_of(__u32 tid, bool enter)
{
	struct read_state *a, *b;
	__u32 i;

	i = tid & ((1U << tid_bits) - 1);
	a = bpf_map_lookup_elem(&reads, &i);
	if (!a)
		return NULL;
	if (a->tid == tid)
		return a;
	i = (tid * 0x9E3779B1U) >> (32 - tid_bits);
	b = bpf_map_lookup_elem(&reads, &i);
	if (!b)
		return NULL;
	if (b->tid == tid)
		return b;
	if (!enter)
		return NULL;
	/* The first entry unless another thread's read is in it. */
	if (a->enter_ts)
		a = b;
	a->tid = tid;
	return a;
}

static __always_inline __u32 disk_dev(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) |
	       (__u32)BPF_CORE_READ(disk, first_minor);
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
	struct request___rq_disk *old = (void *)rq;
	struct gendisk *disk;

	if (filter_dev_part)
		return rq->part ? rq->part->bd_dev : 0;
	if (bpf_core_field_exists(rq->q->disk)) {
		disk = rq->q->disk;
		return ((__u32)disk->major << 20) | (__u32)disk->first_minor;
	}
	return disk_dev(BPF_CORE_READ(old, rq_disk));
}

/*
 * The low 32 bits of a pointer, as a number. The verifier allows no
 * arithmetic on a typed pointer, and the slot index needs some; a 32-bit
 * move of it is allowed (to a privileged program, which this is) and gives
 * a plain number, where reading the pointer back with a helper costs a call.
 */
static __always_inline __u32 ptr_lo32(const void *p)
{
	__u32 lo;

	asm volatile("%[lo] = %[p]"
		     : [lo] "=w"(lo)
		     : [p] "w"((__u32)(unsigned long)p));
	return lo;
}

/*
 * The bucket of a key, from its low 32 bits `lo`. Multiplicative hashing,
 * because bios often live on a kernel stack, where the low 14 bits are the
 * same for every task and only the higher ones differ.
 */
static __always_inline struct io_bucket *bucket_of(__u32 lo)
{
	__u32 i = (lo * 0x9E3779B1U) >> (32 - bucket_bits);

	return bpf_map_lookup_elem(&slots, &i);
}

static __always_inline struct io_slot *slot_find(__u64 key, __u32 lo)
{
	struct io_bucket *b = bucket_of(lo);
	int w;

	if (!b)
		return NULL;
#pragma unroll
	for (w = 0; w < KSTACK_WAYS; w++)
		if (b->way[w].key == key)
			return &b->way[w];
	return NULL;
}

/*
 * A slot for `key`: its own, else a free one, else one of unattributed
 * I/O, else the one its hash picks. No compare-and-swap: two CPUs taking
 * the same free slot in the same instant would lose one entry, which its
 * read then counts lost, and that is rarer than a reused pointer.
 */
static __always_inline struct io_slot *slot_claim(__u64 key, __u32 lo,
						  __u64 owner)
{
	struct io_slot *s = NULL, *free = NULL, *unattr = NULL;
	struct io_bucket *b = bucket_of(lo);
	int w;

	if (!b)
		return NULL;
#pragma unroll
	for (w = 0; w < KSTACK_WAYS; w++) {
		struct io_slot *e = &b->way[w];

		if (e->key == key) {
			s = e;
			break;
		}
		if (!e->key) {
			if (!free)
				free = e;
		} else if (!e->owner && !unattr) {
			unattr = e;
		}
	}
	if (!s)
		s = free ? free : unattr;
	if (!s)
		s = &b->way[(lo >> 4) & (KSTACK_WAYS - 1)];
	s->owner = owner;
	s->issue_ts = 0;
	s->done_ts = 0;
	s->key = key;
	return s;
}

/* A bio-less request (a flush) is its own key. */
static __always_inline __u64 rq_key(struct request *rq, __u32 *lo)
{
	struct bio *bio = rq->bio;

	if (bio) {
		*lo = ptr_lo32(bio);
		return (__u64)bio;
	}
	*lo = ptr_lo32(rq);
	return (__u64)rq;
}

/* The generation being written. */
static __always_inline __u32 hist_gen(void)
{
	return *(volatile __u32 *)&gen ? 1 : 0;
}

static __always_inline __u32 slot_of(__u64 ns, __u32 nr_slots)
{
	__u32 slot = fp_hist_slot(ns);

	return slot < nr_slots ? slot : nr_slots - 1;
}

/* Unattributed device time, or an incomplete read (ns = 0). */
static __always_inline void record_other(__u32 layer, __u64 ns)
{
	__u32 key = hist_gen() * 2 + (layer - KSTACK_UNATTRIBUTED);
	struct kstack_hist *h;

	h = bpf_map_lookup_elem(&other_hists, &key);
	if (!h)
		return;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->slots[slot_of(ns, FP_HIST_SLOTS)]++;
}

static __always_inline void add_layer(struct kstack_read_hist *h, int l,
				      __u64 ns)
{
	h->sum_ns[l] += ns;
	if (ns > h->max_ns[l])
		h->max_ns[l] = ns;
	h->slots[l][slot_of(ns, KSTACK_READ_SLOTS)]++;
}

/* A timed read: its five layers in one lookup. */
static __always_inline void record_read(__u64 t0, __u64 t1, __u64 t2, __u64 t3,
					__u64 t4)
{
	__u32 key = hist_gen();
	struct kstack_read_hist *h;

	h = bpf_map_lookup_elem(&read_hists, &key);
	if (!h)
		return;
	h->count++;
	add_layer(h, KSTACK_SYSCALL, t1 - t0);
	add_layer(h, KSTACK_BLOCK, t2 - t1);
	add_layer(h, KSTACK_DEVICE, t3 - t2);
	add_layer(h, KSTACK_COMPLETION, t4 - t3);
	add_layer(h, KSTACK_TOTAL, t4 - t0);
}

/* Syscall entry of a read: start timing it. */
static __always_inline int read_enter(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct read_state *st;

	if (!task_selected_id(id))
		return 0;
	st = read_of((__u32)id, true);
	if (!st)
		return 0;
	st->bio_ts = 0;
	st->nr_bios = 0;
	st->rahead = 0;
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

/* The REQ_RAHEAD bit differs between kernels: CO-RE gives this one's. */
static __always_inline bool bio_is_readahead(struct bio *bio)
{
	if (!bpf_core_enum_value_exists(enum req_flag_bits, __REQ_RAHEAD))
		return false;
	return bio->bi_opf &
	       (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD));
}

/*
 * A bio entering the block layer (or a part split off one), in the
 * context of the task that submits it: tie it to the task's read.
 */
static __always_inline int bio_submitted(struct bio *bio)
{
	struct read_state *st;
	__u32 n, lo;
	__u64 key;

	key = (__u64)bio;
	lo = ptr_lo32(bio);
	st = read_of((__u32)bpf_get_current_pid_tgid(), false);
	if (st && st->enter_ts && (n = st->nr_bios) < KSTACK_MAX_BIOS) {
		if (!n)
			st->bio_ts = bpf_ktime_get_ns();
		st->bios[n & (KSTACK_MAX_BIOS - 1)] = key;
		st->nr_bios = n + 1;
		if (bio_is_readahead(bio))
			st->rahead = 1;
		slot_claim(key, lo, st->enter_ts);
		return 0;
	}
	/*
	 * Not a traced read's: its completion counts it unattributed without
	 * a slot, unless a task filter asks whose it is; then the submitter
	 * is only known now.
	 */
	if (task_filter_on() && task_selected())
		slot_claim(key, lo, 0);
	return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(kstack_bio_queue, struct bio *bio)
{
	/* The disk first: a read's bio to another disk (a loop device's
	 * backing disk) then costs three loads, not a lookup. */
	if (filter_dev && bdev_dev(bio->bi_bdev) != filter_dev)
		return 0;
	return bio_submitted(bio);
}

/* The front part of a bio too large for one request: a bio of its own,
 * never seen by block_bio_queue. Rare, so this costs nothing otherwise. */
SEC("tp_btf/block_split")
int BPF_PROG(kstack_bio_split, struct bio *bio, unsigned int new_sector)
{
	if (filter_dev && bdev_dev(bio->bi_bdev) != filter_dev)
		return 0;
	return bio_submitted(bio);
}

/* Loaded only with issue_tp, where requests carry no usable issue time. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(kstack_rq_issue, struct request *rq)
{
	struct io_slot *s;
	__u64 key;
	__u32 lo;

	if (filter_dev && rq_dev(rq) != filter_dev)
		return 0;
	key = rq_key(rq, &lo);
	s = slot_find(key, lo);
	if (s) {
		/* A requeued request keeps its first issue time. */
		if (!s->issue_ts)
			s->issue_ts = bpf_ktime_get_ns();
		return 0;
	}
	/* Not seen at birth (flush and passthrough requests, or born before
	 * we attached): only counted when no task filter asks whose it is. */
	if (task_filter_on())
		return 0;
	s = slot_claim(key, lo, 0);
	if (s)
		s->issue_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(kstack_rq_complete, struct request *rq, blk_status_t error,
	     unsigned int nr_bytes)
{
	__u64 key, now, issue;
	struct io_slot *s;
	__u32 lo;

	/* With -d, other disks' requests cost three loads, not a lookup. */
	if (filter_dev && rq_dev(rq) != filter_dev)
		return 0;
	/* Partial completion: the request goes on. */
	if (nr_bytes < rq->__data_len)
		return 0;
	key = rq_key(rq, &lo);
	s = slot_find(key, lo);
	if (!s && task_filter_on())
		return 0;
	now = bpf_ktime_get_ns();
	if (s && s->owner) {
		/* Its read collects it. */
		if (!issue_tp) {
			s->issue_ts = rq->io_start_time_ns;
			if (!s->issue_ts)
				__sync_fetch_and_add(&no_issue_time, 1);
		}
		s->done_ts = now;
		return 0;
	}
	if (issue_tp)
		issue = s ? s->issue_ts : 0;
	else
		issue = rq->io_start_time_ns;
	record_other(KSTACK_UNATTRIBUTED,
		     issue && now > issue ? now - issue : 0);
	if (s)
		s->key = 0;
	return 0;
}

/* Syscall exit of a read: collect its bios' slots, record its layers. */
static __always_inline int read_exit(void)
{
	__u64 t0, t1, t2 = 0, t3 = 0, t4, issue;
	struct read_state *st;
	struct io_slot *s;
	__u32 i, n;

	st = read_of((__u32)bpf_get_current_pid_tgid(), false);
	if (!st || !st->enter_ts)
		return 0;
	if (!st->bio_ts)
		goto out; /* served without block I/O (page cache, pipe) */
	t4 = bpf_ktime_get_ns();

	/* First issue and last completion among the read's requests. */
	n = st->nr_bios;
	for (i = 0; i < KSTACK_MAX_BIOS && i < n; i++) {
		__u64 key = st->bios[i];

		s = slot_find(key, (__u32)key);
		if (!s || s->owner != st->enter_ts)
			continue; /* taken by a later bio: lost */
		if (!s->done_ts) {
			if (st->rahead) {
				/* Readahead it did not wait for: let the
				 * completion time it as unattributed. */
				s->owner = 0;
				continue;
			}
			/* Merged into a request led by another bio. */
			s->key = 0;
			continue;
		}
		issue = s->issue_ts;
		if (issue && (!t2 || issue < t2))
			t2 = issue;
		if (s->done_ts > t3)
			t3 = s->done_ts;
		s->key = 0;
	}
	if (!t3) {
		if (st->rahead) {
			record_other(KSTACK_INCOMPLETE, 0);
			goto out;
		}
		/*
		 * A read that waited, yet no completion of its bios was seen:
		 * merged into another task's request, or a completion run the
		 * kernel skipped because one of ours was running on that CPU
		 * (seen about once in 10^4 reads under load). The device time
		 * then extends to now.
		 */
		t3 = t4;
	}
	/* Clamp so the layers are never negative and sum to the total. */
	t0 = st->enter_ts;
	t1 = st->bio_ts > t0 ? st->bio_ts : t0;
	t2 = t2 > t1 ? t2 : t1;
	t3 = t3 > t2 ? t3 : t2;
	t4 = t4 > t3 ? t4 : t3;
	record_read(t0, t1, t2, t3, t4);
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
