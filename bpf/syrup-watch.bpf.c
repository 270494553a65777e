// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer daemon's view of the applications: which sockets join or
 * leave the SO_REUSEPORT group of a port under a policy. Nothing here is
 * on a packet's path; each program runs once per bind, listen or close.
 *
 *   syrup_bind4/6   cgroup/post_bind4/6: a socket bound to a followed port
 *                   -> remember its cookie, report BIND.
 *   syrup_listen    tracepoint sock/inet_sock_set_state: a TCP socket of a
 *                   followed port entered LISTEN (it joins the group only
 *                   now, after its bind) -> report LISTEN.
 *   syrup_release   cgroup/sock_release: a remembered socket closed ->
 *                   report RELEASE. sock_release cannot read the port, so
 *                   it goes by cookie; the daemon also adds the cookies of
 *                   executors bound before it started.
 *
 * On the cgroup v2 root these see every socket of every network namespace:
 * the daemon looks at the port in the namespace of its policy, so a bind in
 * another namespace costs it one look and changes nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "syrup-steer.h"
#include "metadata.h"

FASTPATH_METADATA("syrup-steer");

#define PROTO_TCP_  6
#define TCP_LISTEN_ 10

char LICENSE[] SEC("license") = "GPL";

/* SYRUP_DISPATCH_KEY(proto, port) of each followed port; the daemon fills. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYRUP_WATCH_PORTS);
	__type(key, __u32);
	__type(value, __u8);
} watch_ports SEC(".maps");

/* socket cookie -> the port key it was bound to */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SYRUP_WATCH_SOCKS);
	__type(key, __u64);
	__type(value, __u32);
} watch_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} watch_events SEC(".maps");

static __always_inline void report(__u32 key, __u32 what)
{
	struct syrup_watch_event *e;

	e = bpf_ringbuf_reserve(&watch_events, sizeof(*e), 0);
	if (!e)
		return; /* full: the daemon's next re-scan catches up */
	e->key = key;
	e->what = what;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int bound(struct bpf_sock *sk)
{
	__u32 key = SYRUP_DISPATCH_KEY(sk->protocol, sk->src_port);
	__u64 cookie;

	if (!bpf_map_lookup_elem(&watch_ports, &key))
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	bpf_map_update_elem(&watch_socks, &cookie, &key, BPF_ANY);
	report(key, SYRUP_WATCH_BIND);
	return 1; /* allow the bind */
}

SEC("cgroup/post_bind4")
int syrup_bind4(struct bpf_sock *sk)
{
	return bound(sk);
}

SEC("cgroup/post_bind6")
int syrup_bind6(struct bpf_sock *sk)
{
	return bound(sk);
}

SEC("cgroup/sock_release")
int syrup_release(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u32 *key = bpf_map_lookup_elem(&watch_socks, &cookie);

	if (!key)
		return 1;
	report(*key, SYRUP_WATCH_RELEASE);
	bpf_map_delete_elem(&watch_socks, &cookie);
	return 1;
}

SEC("tracepoint/sock/inet_sock_set_state")
int syrup_listen(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u32 key;

	if (ctx->protocol != PROTO_TCP_ || ctx->newstate != TCP_LISTEN_)
		return 0;
	key = SYRUP_DISPATCH_KEY(PROTO_TCP_, ctx->sport);
	if (bpf_map_lookup_elem(&watch_ports, &key))
		report(key, SYRUP_WATCH_LISTEN);
	return 0;
}
