// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-xsk-server: the AF_XDP test server of syrup-steer --xsk.
 *
 * One UMEM and N AF_XDP sockets bound to one queue of an interface in copy
 * mode: the first owns the UMEM's fill and completion rings, the others
 * share them (XDP_SHARED_UMEM, same device and queue) with an RX ring each,
 * so an XDP program's XSKMAP decides which socket gets a frame. Plain
 * syscalls, no libxdp. Prints "ready pid=PID" once bound, then on SIGUSR1
 * and at the end (SIGINT, SIGTERM) one line per socket:
 *
 *     xsk I fd=FD frames=N dropped=D
 *
 * (D: the kernel's rx_dropped + rx_ring_full for it). Frames are counted
 * and handed back to the fill ring; nothing goes to the stack.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define MAX_SOCKETS 64
#define FRAME_SIZE  2048
#define NR_FRAMES   4096
#define RING_SIZE   4096 /* fill ring: every frame fits */
#define RX_SIZE	    1024

/* A mapped ring: producer, consumer, and the descriptors. */
struct ring {
	volatile __u32 *producer, *consumer;
	void *descs;
	__u32 mask;
};

struct xsk {
	int fd;
	struct ring rx;
	unsigned long long frames;
};

static struct xsk xsks[MAX_SOCKETS];
static int nr_xsks;
static struct ring fill;
static volatile sig_atomic_t report, stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "syrup-xsk-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void map_ring(int fd, const struct xdp_ring_offset *off, __u64 pgoff,
		     size_t desc_size, __u32 size, struct ring *r)
{
	size_t len = off->desc + size * desc_size;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, (off_t)pgoff);

	if (m == MAP_FAILED)
		die("mmap of a ring");
	r->producer = (volatile __u32 *)(m + off->producer);
	r->consumer = (volatile __u32 *)(m + off->consumer);
	r->descs = m + off->desc;
	r->mask = size - 1;
}

static void setopt(int fd, int name, const void *v, socklen_t len,
		   const char *what)
{
	if (setsockopt(fd, SOL_XDP, name, v, len))
		die(what);
}

/* Socket i: the first registers the UMEM and its rings. */
static void open_xsk(int i, void *umem, unsigned int ifindex, __u32 queue)
{
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sa = {.sxdp_family = AF_XDP,
				  .sxdp_ifindex = ifindex,
				  .sxdp_queue_id = queue};
	socklen_t len = sizeof(off);
	__u32 rx = RX_SIZE, ring = RING_SIZE;
	struct xsk *x = &xsks[i];

	x->fd = socket(AF_XDP, SOCK_RAW, 0);
	if (x->fd < 0)
		die("socket(AF_XDP)");
	if (i == 0) {
		struct xdp_umem_reg reg = {
			.addr = (__u64)(unsigned long)umem,
			.len = (__u64)NR_FRAMES * FRAME_SIZE,
			.chunk_size = FRAME_SIZE,
		};

		setopt(x->fd, XDP_UMEM_REG, &reg, sizeof(reg), "XDP_UMEM_REG");
		setopt(x->fd, XDP_UMEM_FILL_RING, &ring, sizeof(ring),
		       "XDP_UMEM_FILL_RING");
		setopt(x->fd, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring),
		       "XDP_UMEM_COMPLETION_RING");
	}
	setopt(x->fd, XDP_RX_RING, &rx, sizeof(rx), "XDP_RX_RING");
	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len))
		die("XDP_MMAP_OFFSETS");
	map_ring(x->fd, &off.rx, XDP_PGOFF_RX_RING, sizeof(struct xdp_desc),
		 RX_SIZE, &x->rx);
	if (i == 0) {
		map_ring(x->fd, &off.fr, XDP_UMEM_PGOFF_FILL_RING,
			 sizeof(__u64), RING_SIZE, &fill);
		/* every frame to the kernel, for the copies to land in */
		for (__u32 f = 0; f < NR_FRAMES; f++)
			((__u64 *)fill.descs)[f & fill.mask] =
				(__u64)f * FRAME_SIZE;
		__atomic_store_n(fill.producer, NR_FRAMES, __ATOMIC_RELEASE);
		/* copy mode: the kernel copies, a veth cannot zero-copy */
		sa.sxdp_flags = XDP_COPY;
	} else {
		/* same device and queue: the first one's fill ring */
		sa.sxdp_flags = XDP_SHARED_UMEM;
		sa.sxdp_shared_umem_fd = (__u32)xsks[0].fd;
	}
	if (bind(x->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (i > 0 && errno == EINVAL)
			fprintf(stderr, "syrup-xsk-server: a second AF_XDP "
					"socket on one queue (XDP_SHARED_UMEM) "
					"was refused\n");
		die("bind");
	}
}

/* Counts socket x's new frames and gives them back to the fill ring. */
static void drain(struct xsk *x)
{
	__u32 prod = __atomic_load_n(x->rx.producer, __ATOMIC_ACQUIRE);
	__u32 cons = *x->rx.consumer;
	__u32 fprod = *fill.producer;

	for (; cons != prod; cons++) {
		const struct xdp_desc *d =
			(struct xdp_desc *)x->rx.descs + (cons & x->rx.mask);

		((__u64 *)fill.descs)[fprod++ & fill.mask] =
			d->addr - d->addr % FRAME_SIZE;
		x->frames++;
	}
	__atomic_store_n(x->rx.consumer, cons, __ATOMIC_RELEASE);
	__atomic_store_n(fill.producer, fprod, __ATOMIC_RELEASE);
}

static void print_counts(void)
{
	for (int i = 0; i < nr_xsks; i++) {
		struct xdp_statistics st = {0};
		socklen_t len = sizeof(st);

		getsockopt(xsks[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len);
		printf("xsk %d fd=%d frames=%llu dropped=%llu\n", i, xsks[i].fd,
		       xsks[i].frames,
		       (unsigned long long)(st.rx_dropped + st.rx_ring_full));
	}
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: syrup-xsk-server --interface IFACE "
			"[--queue Q] [--sockets N]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"interface", required_argument, NULL, 'I'},
		{"queue", required_argument, NULL, 'q'},
		{"sockets", required_argument, NULL, 'n'},
		{},
	};
	struct pollfd pfd[MAX_SOCKETS];
	unsigned int ifindex = 0;
	__u32 queue = 0;
	void *umem;
	int c;

	nr_xsks = 2;
	while ((c = getopt_long(argc, argv, "I:q:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			ifindex = if_nametoindex(optarg);
			if (!ifindex)
				die(optarg);
			break;
		case 'q':
			queue = (__u32)atoi(optarg);
			break;
		case 'n':
			nr_xsks = atoi(optarg);
			if (nr_xsks < 1 || nr_xsks > MAX_SOCKETS)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!ifindex)
		usage();
	signal(SIGUSR1, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	umem = mmap(NULL, (size_t)NR_FRAMES * FRAME_SIZE,
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem == MAP_FAILED)
		die("mmap of the UMEM");
	for (int i = 0; i < nr_xsks; i++) {
		open_xsk(i, umem, ifindex, queue);
		pfd[i] = (struct pollfd){.fd = xsks[i].fd, .events = POLLIN};
	}
	printf("ready pid=%d sockets=%d\n", getpid(), nr_xsks);
	fflush(stdout);
	while (!stop) {
		if (poll(pfd, (nfds_t)nr_xsks, 100) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < nr_xsks; i++)
			drain(&xsks[i]);
		if (report) {
			report = 0;
			print_counts();
		}
	}
	print_counts();
	return 0;
}
