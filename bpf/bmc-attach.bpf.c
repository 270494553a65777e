// SPDX-License-Identifier: GPL-2.0
/*
 * BMC: an in-kernel cache in front of memcached.
 *
 *   bmc_rx       XDP ingress: answers UDP "get" hits with XDP_TX, records
 *                misses, parses every write (UDP and TCP) and invalidates.
 *   bmc_rx_tc    TC ingress: answers the hits too big for the XDP frame
 *                (bpf_skb_change_tail, then bpf_redirect back out).
 *   bmc_tx       TC egress: fills the cache from memcached's single-datagram
 *                GET replies; a reply on a connection ends its pending writes.
 *   bmc_restart  tp_btf/inet_sock_set_state: memcached's TCP listener
 *                closed or opened -> flush.
 *   bmc_bind4/6  cgroup/post_bind4/6: a UDP socket bound to memcached's
 *                port (a new memcached) -> remember it, flush.
 *   bmc_release  cgroup/sock_release: such a UDP socket closed (memcached
 *                went away, even a UDP-only one) -> flush.
 *
 * Consistency (why a GET reply never re-installs a value older than a write)
 * -------------------------------------------------------------------------
 * A global write sequence `seq` grows by one at every invalidation. Each key
 * hash falls in a bucket holding `gen` (the sequence of its last
 * invalidation, kept monotonic) and `pending` (writes seen at ingress whose
 * application by memcached is not yet known to be over).
 *
 *  1. A write to key K at ingress: pending[b]++ (remembered on its client
 *     connection), then gen[b] = ++seq. Entries stamped < gen[b] are dead.
 *  2. A GET that misses at ingress records S = seq under (client, request id);
 *     two outstanding GETs with the same id keep the older S.
 *  3. memcached's reply at egress fills K only if pending[b] == 0,
 *     gen[b] <= S and the last flush <= S; the entry is stamped S and is
 *     served only while gen[b] <= S and flushed <= S (checked at every hit).
 *  4. memcached's answer proves the write was applied: over UDP the reply
 *     echoing the write's request id, over TCP the first reply (or FIN) on
 *     the writer's connection. Then gen[b] = ++seq again, pending[b]--;
 *     over TCP gen[b] is bumped once more at the next reply, in case the
 *     first one answered an earlier pipelined command.
 *     A write never answered (noreply) stops counting as pending after
 *     BMC_PEND_TTL_NS (1 s).
 *
 * GET miss -> write -> old reply: the write's step 1 sets gen[b] > S, so the
 * fill is refused (stale_fills) and any fill that slipped in before step 1
 * is dead at once. A GET that reaches ingress after the write but is
 * processed by memcached before it (another socket, another thread) sees
 * pending[b] > 0 until step 4, and step 4 moves gen[b] past its S. Entries
 * installed between a check and the install are stamped S < the new gen.
 * Several outstanding GETs of one key each carry their own S (keyed by
 * client and request id), so a late old reply is judged by its own GET's
 * S, never by a newer GET's. A write pending past the 1 s TTL no longer
 * blocks fills, but its answer (step 4) still bumps gen[b]: whatever was
 * filled meanwhile dies no later than memcached's reply to the write.
 * Anything we cannot parse with certainty (TCP stream out of sync, binary
 * protocol writes, unknown commands) flushes everything the same way, with
 * a global pending count. Residual: with pipelined TCP, if memcached sends
 * two replies on the connection before it applies the write (the write's
 * own reply being the third or later), a GET processed in between could
 * fill the old value until the write's next invalidation; the README's
 * BMC limits say so too.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bmc.h"
#include "metadata.h"
#include "parse.h"

/* The data path, by concern (each header includes what it builds on). */
#include "bmc/base.h"
#include "bmc/text.h"
#include "bmc/cache.h"
#include "bmc/consistency.h"
#include "bmc/commands.h"
#include "bmc/packet.h"
#include "bmc/hit.h"
#include "bmc/rx.h"
#include "bmc/tx.h"

FASTPATH_METADATA("bmc-attach");

char LICENSE[] SEC("license") = "GPL";

/*
 * IPv6 extension headers behind the fixed header (up to four), to find
 * TCP or UDP: pk->l4 and pk->proto move past them. -1: a later fragment,
 * or cut.
 */
static __always_inline int ipv6_ext(struct xdp_md *ctx, struct pkt *pk)
{
	__u8 nh = pk->proto;

	for (int k = 0; k < 4; k++) {
		__u8 eh[2];

		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			break;
		pk->simple = 0;
		if (xdp_load(ctx, pk->l4, eh, 2))
			return -1;
		if (nh == 44) {
			__u16 fo;

			if (xdp_load(ctx, pk->l4 + 2, &fo, 2))
				return -1;
			if (fo & bpf_htons(0xfff8))
				return -1; /* non-first fragment */
			pk->frag = 1;
			pk->l4 += 8;
		} else {
			pk->l4 += 8 + eh[1] * 8;
		}
		nh = eh[0];
	}
	pk->proto = nh;
	return 0;
}

SEC("xdp")
int bmc_rx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt pk = {};
	struct fp_l2 l2;
	struct fp_l3 l3;
	__u32 saddr[4] = {};
	int ret = XDP_PASS, unicast;

	/* VLAN tags: writes inside them count too (no hits: not simple). */
	if (fp_parse_eth(data, data_end, FP_VLAN_MAX, &l2) ||
	    fp_parse_ip(data, data_end, l2.proto, l2.l3, FP_IP_LENGTHS, &l3))
		goto pass; /* not IP, cut, or a later IPv4 fragment */
	pk.data = data;
	pk.data_end = data_end;
	pk.l3 = l2.l3;
	pk.l4 = l3.l4;
	pk.end = l3.end;
	pk.proto = l3.proto;
	pk.v6 = l3.v6;
	pk.frag = l3.frag;
	/* Only unicast requests get answers from the kernel. */
	unicast = !l2.vlans && !(l2.eth->dst[0] & 1);
	if (!l3.v6) {
		struct fp_iphdr *ip = l3.hdr;

		saddr[0] = ip->saddr;
		pk.simple = !l3.opts && !pk.frag && unicast &&
			    (bpf_ntohl(ip->daddr) >> 28) != 0xe &&
			    ip->daddr != 0xffffffff;
	} else {
		struct fp_ipv6hdr *ip6 = l3.hdr;

		__builtin_memcpy(saddr, ip6->saddr, 16);
		pk.simple = unicast && (bpf_ntohl(ip6->daddr[0]) >> 24) != 0xff;
		if (ipv6_ext(ctx, &pk))
			goto pass;
	}
	if (pk.proto == IPPROTO_UDP_) {
		ret = handle_udp(ctx, &pk, saddr);
	} else if (pk.proto == IPPROTO_TCP_) {
		ret = handle_tcp(ctx, &pk, saddr);
	} else if (pk.proto == 0 || pk.proto == 43 || pk.proto == 60 ||
		   pk.proto == 44) {
		/* More extension headers than we walk: might be a write. */
		flush_all();
	}
	if (ret == XDP_TX)
		return XDP_TX;
	if (ret == XDP_ABORTED)
		return XDP_ABORTED;
	if (pk.miss)
		return XDP_PASS;
pass:
	stat_inc(S_PASSES);
	return XDP_PASS;
}

/*
 * TC ingress: GET hits whose reply did not fit the XDP frame (bmc_rx marks
 * them in the metadata) are answered here, from a grown skb sent back out
 * of the interface. Everything else goes on untouched.
 */
SEC("tc")
int bmc_rx_tc(struct __sk_buff *skb)
{
	__u32 *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 2) > (void *)(long)skb->data || m[0] != BMC_META_TC)
		return TC_ACT_NEXT;
	return tc_answer(skb, m[1] != 0);
}

SEC("tc")
int bmc_tx(struct __sk_buff *skb)
{
	struct bmc_conn_key ck;
	__u32 daddr[4] = {}, l4, end, proto;
	__u16 eproto;
	int v6 = 0;

	if (bpf_skb_load_bytes(skb, 12, &eproto, 2))
		return TC_ACT_NEXT;
	if (eproto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 14, &ip, sizeof(ip)))
			return TC_ACT_NEXT;
		if (ip.frag_off & bpf_htons(0x1fff))
			return TC_ACT_NEXT;
		l4 = 14 + ip.ihl * 4;
		end = 14 + bpf_ntohs(ip.tot_len);
		proto = ip.protocol;
		daddr[0] = ip.daddr;
	} else if (eproto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 14, &ip6, sizeof(ip6)))
			return TC_ACT_NEXT;
		l4 = 14 + 40;
		end = l4 + bpf_ntohs(ip6.payload_len);
		proto = ip6.nexthdr;
		__builtin_memcpy(daddr, &ip6.daddr, 16);
		v6 = 1;
	} else {
		return TC_ACT_NEXT;
	}
	if (proto == IPPROTO_UDP_) {
		struct udphdr uh;
		struct bmc_req_key rk = {};
		__u64 *snap, s;
		__u32 plen;

		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)))
			return TC_ACT_NEXT;
		if (uh.source != port_be)
			return TC_ACT_NEXT;
		conn_key_from(&ck, daddr, v6, uh.dest, IPPROTO_UDP_);
		{
			__u16 id;

			if (bpf_skb_load_bytes(skb, l4 + 8, &id, 2))
				return TC_ACT_NEXT;
			/* Ours, from bmc_rx_tc: memcached has not seen it. */
			if (is_own_reply(daddr, uh.dest, id))
				return TC_ACT_NEXT;
			/* The write this reply answers (request id echoed). */
			bmc_conn_reply(&ck, 0x10000 | id, 1);
		}
		plen = bpf_ntohs(uh.len);
		if (plen < 8 + 8 || l4 + plen > end)
			return TC_ACT_NEXT;
		plen -= 8;
		__builtin_memcpy(rk.addr, ck.addr, 16);
		rk.port = uh.dest;
		if (bpf_skb_load_bytes(skb, l4 + 8, &rk.reqid, 2))
			return TC_ACT_NEXT;
		snap = bpf_map_lookup_elem(&reqs, &rk);
		if (!snap)
			return TC_ACT_NEXT;
		s = *snap;
		handle_reply(skb, l4 + 8, plen, s);
		/*
		 * memcached 1.6 sends one datagram per value (each "0 of 1"),
		 * END in the last: the snapshot serves them all, then goes.
		 */
		{
			__u8 tail[5];

			if (plen >= 5 &&
			    !bpf_skb_load_bytes(skb, l4 + 8 + plen - 5, tail,
						5) &&
			    tail[0] == 'E' && tail[1] == 'N' &&
			    tail[2] == 'D' && tail[3] == '\r' &&
			    tail[4] == '\n')
				bpf_map_delete_elem(&reqs, &rk);
		}
	} else if (proto == IPPROTO_TCP_) {
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return TC_ACT_NEXT;
		if (th.source != port_be)
			return TC_ACT_NEXT;
		/* Payload or FIN/RST comes from memcached, not a bare ACK. */
		if (end > l4 + th.doff * 4 || th.fin || th.rst) {
			conn_key_from(&ck, daddr, v6, th.dest, IPPROTO_TCP_);
			bmc_conn_reply(&ck, 0, th.fin || th.rst);
		}
	}
	return TC_ACT_NEXT;
}

/* ---------------------------------------------------------------------- */
/* memcached went away: its values go with it                              */

/*
 * A TCP listener on memcached's port closing (memcached exited, crashed or
 * restarts) or opening (a new memcached) flushes. cgroup/sock_release
 * cannot read ports on this kernel; TCP state changes can.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(bmc_restart, struct sock *sk, int oldstate, int newstate)
{
	if (sk->__sk_common.skc_num != bpf_ntohs(port_be))
		return 0;
	/* Accepted children also leave LISTEN (for SYN_RECV): not those. */
	if ((oldstate == BPF_TCP_LISTEN && newstate == BPF_TCP_CLOSE) ||
	    newstate == BPF_TCP_LISTEN)
		flush_all();
	return 0;
}

/*
 * A UDP-only memcached has no listener: its UDP sockets bound to the port
 * stand for it. cgroup programs on the root cgroup v2 see every socket of
 * every namespace; only post_bind may read the port, so post_bind records
 * the socket cookie and sock_release looks it up. bmc-attach seeds the map
 * with the sockets already bound when it attaches.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* socket cookie */
	__type(value, __u8);
} udp_socks SEC(".maps");

static __always_inline int udp_bound(struct bpf_sock *sk)
{
	__u64 cookie;
	__u8 one = 1;

	if (sk->protocol != IPPROTO_UDP_ || sk->src_port != bpf_ntohs(port_be))
		return 1;
	/* Same port in another network namespace: not our memcached. */
	if (netns_cookie && bpf_get_netns_cookie(sk) != netns_cookie)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	bpf_map_update_elem(&udp_socks, &cookie, &one, BPF_ANY);
	/* A new memcached starts empty. */
	flush_all();
	return 1; /* allow the bind */
}

SEC("cgroup/post_bind4")
int bmc_bind4(struct bpf_sock *sk)
{
	return udp_bound(sk);
}

SEC("cgroup/post_bind6")
int bmc_bind6(struct bpf_sock *sk)
{
	return udp_bound(sk);
}

SEC("cgroup/sock_release")
int bmc_release(struct bpf_sock *sk)
{
	__u64 cookie;

	if (sk->protocol != IPPROTO_UDP_)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	if (bpf_map_delete_elem(&udp_socks, &cookie) == 0)
		flush_all();
	return 1;
}
