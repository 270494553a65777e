// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer attach --xsk: which interface and queue each AF_XDP socket of
 * one process is bound to. A task_file iterator prints, per AF_XDP socket,
 * "FD INODE IFINDEX QUEUE" (IFINDEX 0: not bound); kernels without
 * CONFIG_XDP_SOCKETS_DIAG (sock_diag's XDP_DIAG) have no other way to say.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "metadata.h"

FASTPATH_METADATA("syrup-steer");

#define AF_XDP 44

const volatile int target_tgid;

SEC("iter/task_file")
int syrup_xsk_bindings(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct xdp_sock *xs;
	struct socket *sock;
	struct sock *sk;
	__u32 ifindex = 0;

	if (!task || !file || task->tgid != target_tgid)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_XDP)
		return 0;
	xs = (struct xdp_sock *)sk;
	if (BPF_CORE_READ(xs, dev))
		ifindex = (__u32)BPF_CORE_READ(xs, dev, ifindex);
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u %lu %u %u\n", ctx->fd,
		       BPF_CORE_READ(file, f_inode, i_ino), ifindex,
		       (__u32)BPF_CORE_READ(xs, queue_id));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
