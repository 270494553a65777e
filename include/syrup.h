/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syrup.h: write a Syrup scheduling policy for syrup-steer(8).
 *
 * A policy is one C function
 *
 *     __u32 schedule(void *pkt_start, void *pkt_end);
 *
 * that returns the index of the executor that gets the packet: a socket of
 * the port's SO_REUSEPORT group (socket layer), or at the XDP layer a CPU
 * or (attach --xsk) an AF_XDP socket of the application.
 * Include this header, write schedule(), and hand the file to syrup-steer:
 *
 *     #include <fastpath/syrup.h>
 *
 *     __u32 schedule(void *pkt_start, void *pkt_end)
 *     {
 *             __u8 *p = pkt_start;
 *
 *             if (p + 1 > (__u8 *)pkt_end)    // the verifier insists
 *                     return SYRUP_DEFAULT;
 *             return p[0] == 'L' ? syrup_nr_executors() - 1 : 0;
 *     }
 *
 *     syrup-steer attach --port 9000 --policy ./policy.c
 *
 * This header supplies the program entry points (SEC("sk_reuseport") and
 * SEC("xdp")) that parse the packet and call schedule(), the maps syrup-steer
 * pins under /sys/fs/bpf/syrup/PROTO-PORT/, and small helpers. The same
 * policy compiles for both layers. It includes parse.h, installed beside it
 * (header layouts and the frame walk). To build a .bpf.o yourself:
 *
 *     clang -g -O2 -target bpf -mcpu=v3 -I/usr/local/include \
 *           -I/usr/include/$(gcc -print-multiarch) -c policy.c -o policy.bpf.o
 *
 * What schedule() sees:
 *  - UDP: pkt_start is the first byte of the datagram's payload (the UDP
 *    header is skipped). pkt_end may end before the payload does when the
 *    packet is not linear; syrup_payload_len() is the full length.
 *  - TCP, socket layer: the policy runs once per connection, on the SYN.
 *    pkt_start is just past the TCP header, so the payload is empty (unless
 *    TCP Fast Open data rides on the SYN); use syrup_flow_hash() and
 *    syrup_payload_len(). The connection stays on the chosen socket.
 *  - TCP, XDP layer: the policy runs on every segment of the port (SYNs,
 *    ACKs, data), pkt_start at the TCP payload.
 *
 * Return values: an executor index (0 .. syrup_nr_executors() - 1), or
 * SYRUP_DEFAULT to let the kernel choose, or SYRUP_DROP to drop the packet.
 * An index with no executor (out of range, or a socket that was closed)
 * falls back to the kernel's choice and is counted as a fallback.
 *
 * The kernel verifier checks every policy: every read of the packet must be
 * preceded by a bounds check against pkt_end, loops must be bounded.
 *
 * The third layer, threads (syrup-steer attach --layer thread, Linux 6.13+
 * with sched_ext), places one cgroup's threads on CPUs with a sched_ext
 * scheduler. Its policies are written against syrup-sched.h, installed
 * beside this header: a schedule_thread() that returns the executor (a CPU
 * of --cpus) of a thread. Its per-thread hints are a pinned map the
 * application writes: /sys/fs/bpf/syrup/thread/hints, thread id (__u32) ->
 * 1 "serves short requests" or 2 "long" (__u32). See syrup-steer(8).
 */
#ifndef FASTPATH_SYRUP_H
#define FASTPATH_SYRUP_H

#ifdef __bpf__
#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>
#endif
#include <bpf/bpf_helpers.h>
#else
#include <linux/types.h>
#endif

#define SYRUP_MAX_EXECUTORS 64
/* Returned by schedule(): let the kernel choose (counted as a fallback). */
#define SYRUP_DEFAULT 0xffffffffU
/* Returned by schedule(): drop the packet (counted as dropped). */
#define SYRUP_DROP	     0xfffffffeU
#define SYRUP_PARAM_NAME_LEN 16

enum syrup_layer {
	SYRUP_LAYER_SOCKET = 0,
	SYRUP_LAYER_XDP = 1,
	SYRUP_LAYER_THREAD = 2, /* sched_ext: threads to CPUs (built-ins) */
};

/* Key of the "params" map: a NUL-padded name of up to 15 bytes. */
struct syrup_param_key {
	char name[SYRUP_PARAM_NAME_LEN];
};

/* The "conf" map's single entry, written by syrup-steer attach. */
struct syrup_conf {
	__u32 nr_executors; /* executor slots, closed ones included */
	__u32 layer;	    /* enum syrup_layer */
	__u16 port;	    /* host order */
	__u8 proto;	    /* IPPROTO_UDP (17) or IPPROTO_TCP (6) */
	__u8 builtin;	    /* built-in policy id, 0 for user policies */
	__u32 xsk; /* XDP layer: executors are AF_XDP sockets (syrup_xsks) */
	/* XDP layer: executor -> CPU, or (xsk) the queue its socket is on */
	__u32 cpus[SYRUP_MAX_EXECUTORS];
};

/*
 * The "stats" map (per-CPU array): entry i counts what schedule() sent to
 * executor i; entry SYRUP_MAX_EXECUTORS counts SYRUP_DEFAULT, SYRUP_DROP
 * and indexes beyond the table.
 */
struct syrup_stat {
	__u64 steered;	/* delivered to the executor the policy chose */
	__u64 fallback; /* no such executor: the kernel chose instead */
	__u64 errors;	/* the kernel refused the choice: default used */
	__u64 dropped;	/* SYRUP_DROP */
};

#ifdef __bpf__

#include "parse.h"

#define SYRUP_IPPROTO_TCP FP_IPPROTO_TCP
#define SYRUP_IPPROTO_UDP FP_IPPROTO_UDP

/*
 * The header layouts and the frame walk are parse.h's (installed beside
 * this file); the old names stay for policies that used them.
 */
#define syrup_eth fp_ethhdr
#define syrup_ip4 fp_iphdr
#define syrup_ip6 fp_ipv6hdr
#define syrup_l4  fp_ports

/* Per-packet facts the entry point hands to helpers (one per CPU). */
struct syrup_meta {
	__u32 hash; /* flow hash */
	__u32 len;  /* full L4 payload length */
};

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, SYRUP_MAX_EXECUTORS);
	__type(key, __u32);
	__type(value, __u64);
} syrup_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, SYRUP_MAX_EXECUTORS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} syrup_cpumap SEC(".maps");

/* XDP layer with AF_XDP executors: executor -> socket (an fd on update) */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SYRUP_MAX_EXECUTORS);
	__type(key, __u32);
	__type(value, __u32);
} syrup_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syrup_conf);
} syrup_conf SEC(".maps");

/* Named parameters: `--param KEY=VALUE` and `syrup-steer set` write here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct syrup_param_key);
	__type(value, __u64);
} syrup_params SEC(".maps");

/* Per-executor load, written by the application (or `set load.N=V`). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYRUP_MAX_EXECUTORS);
	__type(key, __u32);
	__type(value, __u64);
} syrup_load SEC(".maps");

/* Scratch counters a policy may use (syrup_counter_next). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} syrup_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYRUP_MAX_EXECUTORS + 1);
	__type(key, __u32);
	__type(value, struct syrup_stat);
} syrup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syrup_meta);
} syrup_meta SEC(".maps");

static __always_inline struct syrup_conf *syrup_get_conf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&syrup_conf, &zero);
}

/* Number of executor slots (closed sockets keep their slot). */
static __always_inline __u32 syrup_nr_executors(void)
{
	struct syrup_conf *c = syrup_get_conf();

	return c ? c->nr_executors : 0;
}

/* The flow hash: the kernel's reuseport hash, or a 5-tuple hash at XDP. */
static __always_inline __u32 syrup_flow_hash(void)
{
	__u32 zero = 0;
	struct syrup_meta *m = bpf_map_lookup_elem(&syrup_meta, &zero);

	return m ? m->hash : 0;
}

/* Full L4 payload length, even when pkt_end stops short of it. */
static __always_inline __u32 syrup_payload_len(void)
{
	__u32 zero = 0;
	struct syrup_meta *m = bpf_map_lookup_elem(&syrup_meta, &zero);

	return m ? m->len : 0;
}

/*
 * A named parameter, or `def` when it was never set. NAME must be a string
 * literal of at most 15 bytes: syrup_param("threshold", 1000).
 */
#define syrup_param(NAME, DEF)                                           \
	({                                                               \
		struct syrup_param_key __sk = {.name = NAME};            \
		__u64 *__sv = bpf_map_lookup_elem(&syrup_params, &__sk); \
		__sv ? *__sv : (__u64)(DEF);                             \
	})

/* The load the application reported for executor i (0 if unknown). */
static __always_inline __u64 syrup_load_of(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&syrup_load, &i);

	return v ? *v : 0;
}

/* Atomically returns counter `slot` (0..15) and increments it. */
static __always_inline __u64 syrup_counter_next(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&syrup_state, &slot);

	return v ? __sync_fetch_and_add(v, 1) : 0;
}

/* Scales a 32-bit hash to 0..n-1 the way the kernel's reuseport does. */
static __always_inline __u32 syrup_scale(__u32 hash, __u32 n)
{
	return (__u32)(((__u64)hash * n) >> 32);
}

#ifndef SYRUP_NO_ENTRY_POINTS

static __u32 schedule(void *pkt_start, void *pkt_end);

static __always_inline void syrup_set_meta(__u32 hash, __u32 len)
{
	__u32 zero = 0;
	struct syrup_meta *m = bpf_map_lookup_elem(&syrup_meta, &zero);

	if (m) {
		m->hash = hash;
		m->len = len;
	}
}

/* Per-CPU entries: only this CPU writes them, plain increments suffice. */
static __always_inline struct syrup_stat *syrup_stat_of(__u32 idx)
{
	__u32 key = idx < SYRUP_MAX_EXECUTORS ? idx : SYRUP_MAX_EXECUTORS;

	return bpf_map_lookup_elem(&syrup_stats, &key);
}

SEC("sk_reuseport")
int syrup_sk_reuseport(struct sk_reuseport_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct syrup_conf *conf = syrup_get_conf();
	struct syrup_stat *st;
	__u32 hdr = 8, idx;
	long err;

	if (!conf)
		return SK_PASS;
	/* ctx->data is the L4 header: skip it so the policy sees payload. */
	if (ctx->ip_protocol == SYRUP_IPPROTO_TCP) {
		__u8 *doff = data + 12;

		if ((void *)(doff + 1) > end)
			return SK_PASS;
		hdr = (*doff >> 4) * 4;
	}
	/* Past pkt_end when truncated: then every bounds check fails. */
	data += hdr & 0x3f;
	syrup_set_meta(ctx->hash, ctx->len > hdr ? ctx->len - hdr : 0);

	idx = schedule(data, end);
	st = syrup_stat_of(idx);
	if (!st)
		return SK_PASS;
	if (idx == SYRUP_DROP) {
		st->dropped++;
		return SK_DROP;
	}
	if (idx >= conf->nr_executors || idx >= SYRUP_MAX_EXECUTORS) {
		st->fallback++;
		return SK_PASS;
	}
	err = bpf_sk_select_reuseport(ctx, &syrup_socks, &idx, 0);
	if (err == 0)
		st->steered++;
	else if (err == -2 /* ENOENT: the socket was closed */)
		st->fallback++;
	else
		st->errors++;
	/* Without a selection the kernel falls back to its own hash. */
	return SK_PASS;
}

static __always_inline __u32 syrup_mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x9e3779b1U;
	return h ^ (h >> 15);
}

SEC("xdp")
int syrup_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct syrup_conf *conf = syrup_get_conf();
	struct fp_ports *l4;
	struct syrup_stat *st;
	struct fp_l2 l2;
	struct fp_l3 l3;
	__u32 hash = 0, idx, cpu;
	long ret;
	__u32 poff;
	void *pay;

	/* Later IPv4 fragments carry no L4 header: they pass untouched, as
	 * do VLAN-tagged frames and IPv6 extension headers. */
	if (!conf || fp_parse_eth(data, end, 0, &l2) ||
	    fp_parse_ip(data, end, l2.proto, l2.l3, 0, &l3))
		return XDP_PASS;
	if (!l3.v6) {
		struct fp_iphdr *ip = l3.hdr;

		hash = syrup_mix(syrup_mix(0, ip->saddr), ip->daddr);
	} else {
		struct fp_ipv6hdr *ip6 = l3.hdr;

		hash = syrup_mix(syrup_mix(0, ip6->saddr[3]), ip6->daddr[3]);
		hash = syrup_mix(syrup_mix(hash, ip6->saddr[0]), ip6->saddr[1]);
	}
	if (l3.proto != conf->proto)
		return XDP_PASS;
	l4 = fp_parse_ports(data, end, l3.l4);
	if (!l4 || l4->dest != bpf_htons(conf->port))
		return XDP_PASS;
	if (fp_parse_l4_payload(data, end, l3.l4, l3.proto, &poff))
		return XDP_PASS;
	pay = data + poff;
	if (pay > end)
		return XDP_PASS;
	hash = syrup_mix(hash, ((__u32)l4->source << 16) | l4->dest);
	syrup_set_meta(hash, (__u32)(end - pay));

	idx = schedule(pay, end);
	st = syrup_stat_of(idx);
	if (!st)
		return XDP_PASS;
	if (idx == SYRUP_DROP) {
		st->dropped++;
		return XDP_DROP;
	}
	if (idx >= conf->nr_executors || idx >= SYRUP_MAX_EXECUTORS) {
		st->fallback++;
		return XDP_PASS;
	}
	/* an empty slot (a closed socket) passes the frame to the stack */
	if (conf->xsk) {
		/* a socket gets frames of its own queue only: the kernel
		 * would drop this one, so the stack gets it */
		if (ctx->rx_queue_index != conf->cpus[idx]) {
			st->fallback++;
			return XDP_PASS;
		}
		ret = bpf_redirect_map(&syrup_xsks, idx, XDP_PASS);
	} else {
		cpu = conf->cpus[idx];
		ret = bpf_redirect_map(&syrup_cpumap, cpu, XDP_PASS);
	}
	if (ret == XDP_REDIRECT)
		st->steered++;
	else
		st->fallback++;
	return (int)ret;
}

char _syrup_license[] SEC("license") = "GPL";

/* Whose program this is, for bpftool prog show and fastpath-status. */
#ifndef FASTPATH_VERSION
#define FASTPATH_VERSION "unknown"
#endif
volatile const char bpf_metadata_tool[] SEC(".rodata") = "syrup-steer";
volatile const char bpf_metadata_version[] SEC(".rodata") = FASTPATH_VERSION;

#endif /* SYRUP_NO_ENTRY_POINTS */
#endif /* __bpf__ */
#endif /* FASTPATH_SYRUP_H */
