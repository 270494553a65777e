// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-client: talks to syrup-server and tallies which worker (socket) and
 * which CPU took each request.
 *
 * Request mode (default), for tests: COUNT requests, one at a time, over
 * FLOWS UDP sockets (request i on flow i % FLOWS) or one TCP connection per
 * request; payloads cycle through --payload. Prints
 *     order W W W ...     the worker of each reply in order ('-' = lost)
 *     cpus C C C ...      the receiving CPU of each reply
 *     wN COUNT            per-worker tally
 *     lost COUNT
 *
 * Open-loop mode (--rate), for bench/syrup: UDP requests at a fixed rate
 * over FLOWS sockets for --duration seconds; every --long-every-th request
 * starts with --long-prefix. Prints latency percentiles of short and long
 * requests in microseconds, from just before the send to the kernel's
 * receive timestamp of the reply (SO_TIMESTAMPNS).
 *
 * Closed-loop mode (--closed): FLOWS sockets, one request outstanding on
 * each, for --duration seconds. Prints requests per second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS    256
#define MAX_PAYLOADS 16
#define MAX_WORKERS  64

static struct sockaddr_storage server;
static socklen_t server_len;
static bool tcp;
static int flows = 1, count = 1, timeout_ms = 1000;
static const char *payloads[MAX_PAYLOADS];
static int nr_payloads;
static double rate, duration = 2;
static int long_every;
static const char *long_prefix = "L";
static bool closed_loop;
static int fds[MAX_FLOWS];

static void usage(void)
{
	fprintf(stderr,
		"usage: syrup-client --port PORT [--host ADDR] [--proto "
		"udp|tcp]"
		" [-c COUNT] [--flows N]\n"
		"                    [--payload STR]... [--timeout-ms MS]\n"
		"       syrup-client --port PORT --rate RPS --duration SECS "
		"[--flows N] [--long-every K] [--long-prefix STR]\n"
		"       syrup-client --port PORT --closed --duration SECS "
		"[--flows N]\n");
	exit(64);
}

/* CLOCK_REALTIME, the clock of SO_TIMESTAMPNS */
static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int open_flow(void)
{
	int fd = socket(server.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&server, server_len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens every flow's socket and watches it on epoll instance `ep`. */
static int open_flows(int ep)
{
	struct epoll_event ev = {.events = EPOLLIN};

	for (int f = 0; f < flows; f++) {
		fds[f] = open_flow();
		if (fds[f] < 0) {
			perror("syrup-client: socket");
			return 1;
		}
		ev.data.fd = fds[f];
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[f], &ev);
	}
	return 0;
}

/* "w=3 cpu=1|..." -> worker 3, cpu 1 */
static bool parse_reply(const char *buf, ssize_t n, int *w, int *cpu,
			const char **body)
{
	const char *bar;

	if (n < 4 || sscanf(buf, "w=%d cpu=%d", w, cpu) != 2)
		return false;
	bar = memchr(buf, '|', (size_t)n);
	if (body)
		*body = bar ? bar + 1 : buf + n;
	return true;
}

static int request_mode(void)
{
	int tally[MAX_WORKERS] = {0}, lost = 0;
	int *order = calloc((size_t)count, sizeof(int));
	int *cpus = calloc((size_t)count, sizeof(int));
	char buf[4096];

	if (!order || !cpus)
		return 1;
	if (!tcp) {
		for (int f = 0; f < flows; f++) {
			fds[f] = open_flow();
			if (fds[f] < 0) {
				perror("syrup-client: socket");
				return 1;
			}
		}
	}
	for (int i = 0; i < count; i++) {
		const char *p = payloads[i % nr_payloads];
		int fd = tcp ? open_flow() : fds[i % flows], w, cpu;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n = -1;

		order[i] = cpus[i] = -1;
		if (fd < 0) {
			lost++;
			continue;
		}
		if (send(fd, p, strlen(p), 0) >= 0 &&
		    poll(&pfd, 1, timeout_ms) == 1)
			n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0 && parse_reply(buf, n, &w, &cpu, NULL) && w >= 0 &&
		    w < MAX_WORKERS) {
			order[i] = w;
			cpus[i] = cpu;
			tally[w]++;
		} else {
			lost++;
		}
		if (tcp)
			close(fd);
	}
	printf("order");
	for (int i = 0; i < count; i++)
		order[i] < 0 ? printf(" -") : printf(" %d", order[i]);
	printf("\ncpus");
	for (int i = 0; i < count; i++)
		cpus[i] < 0 ? printf(" -") : printf(" %d", cpus[i]);
	printf("\n");
	for (int w = 0; w < MAX_WORKERS; w++)
		if (tally[w])
			printf("w%d %d\n", w, tally[w]);
	printf("lost %d\n", lost);
	return 0;
}

/* --- open loop ----------------------------------------------------------- */

static uint64_t *sent_at;
static uint64_t *lat_short, *lat_long;
static size_t nr_short, nr_long, total;
static volatile bool sending_done;
static int worker_tally[MAX_WORKERS];

static void *receiver(void *arg)
{
	int ep = *(int *)arg;
	uint64_t stop_at = 0;
	char buf[4096];

	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(ep, ev, 64, 20);

		if (sending_done) {
			if (!stop_at)
				stop_at = now_ns() + 300000000ULL;
			else if (now_ns() > stop_at)
				break;
		}
		for (int i = 0; i < n; i++) {
			for (;;) {
				char ctrl[CMSG_SPACE(sizeof(struct timespec))];
				struct iovec iov = {buf, sizeof(buf) - 1};
				struct msghdr mh = {
					.msg_iov = &iov,
					.msg_iovlen = 1,
					.msg_control = ctrl,
					.msg_controllen = sizeof(ctrl),
				};
				ssize_t r = recvmsg(ev[i].data.fd, &mh,
						    MSG_DONTWAIT);
				const char *body;
				unsigned long seq;
				int w, cpu;
				uint64_t now = wall_ns();
				struct cmsghdr *cm;

				if (r <= 0)
					break;
				/*
				 * The kernel's receive time of the reply: our
				 * own wakeup delay is not the server's latency.
				 */
				for (cm = CMSG_FIRSTHDR(&mh); cm;
				     cm = CMSG_NXTHDR(&mh, cm)) {
					struct timespec ts;

					if (cm->cmsg_level != SOL_SOCKET ||
					    cm->cmsg_type != SCM_TIMESTAMPNS)
						continue;
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					now = (uint64_t)ts.tv_sec *
						      1000000000ULL +
					      (uint64_t)ts.tv_nsec;
				}
				buf[r] = '\0';
				if (!parse_reply(buf, r, &w, &cpu, &body))
					continue;
				if (sscanf(body + strcspn(body, " "), " %lu",
					   &seq) != 1 ||
				    seq >= total || !sent_at[seq])
					continue;
				if (w >= 0 && w < MAX_WORKERS)
					worker_tally[w]++;
				if (long_every && seq % (size_t)long_every == 0)
					lat_long[nr_long++] =
						now - sent_at[seq];
				else
					lat_short[nr_short++] =
						now - sent_at[seq];
			}
		}
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return NAN;
	i = (size_t)ceil(p / 100.0 * (double)n);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

static int open_loop_mode(void)
{
	uint64_t start, interval = (uint64_t)(1e9 / rate);
	pthread_t rx;
	int ep = epoll_create1(0);
	size_t sent = 0;
	char req[128];
	int one = 1;

	total = (size_t)(rate * duration) + 1;
	sent_at = calloc(total, sizeof(*sent_at));
	lat_short = calloc(total, sizeof(*lat_short));
	lat_long = calloc(total, sizeof(*lat_long));
	if (!sent_at || !lat_short || !lat_long || ep < 0)
		return 1;
	if (open_flows(ep))
		return 1;
	for (int f = 0; f < flows; f++) {
		setsockopt(fds[f], SOL_SOCKET, SO_TIMESTAMPNS, &one,
			   sizeof(one));
	}
	pthread_create(&rx, NULL, receiver, &ep);
	start = now_ns();
	for (size_t i = 0; i < total; i++) {
		uint64_t due = start + i * interval;
		struct timespec ts = {(time_t)(due / 1000000000ULL),
				      (long)(due % 1000000000ULL)};
		bool is_long = long_every && i % (size_t)long_every == 0;
		int len;

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		len = snprintf(req, sizeof(req), "%s %zu",
			       is_long ? long_prefix : "S", i);
		sent_at[i] = wall_ns();
		/* a pseudo-random flow, the same sequence every run */
		if (send(fds[(i * 2654435761U >> 7) % (size_t)flows], req,
			 (size_t)len, 0) > 0)
			sent++;
	}
	sending_done = true;
	pthread_join(rx, NULL);
	qsort(lat_short, nr_short, sizeof(uint64_t), cmp_u64);
	qsort(lat_long, nr_long, sizeof(uint64_t), cmp_u64);
	printf("sent %zu received %zu lost %zu\n", sent, nr_short + nr_long,
	       sent - nr_short - nr_long);
	printf("short_p50_us %.1f short_p99_us %.1f short_p999_us %.1f\n",
	       pct(lat_short, nr_short, 50), pct(lat_short, nr_short, 99),
	       pct(lat_short, nr_short, 99.9));
	printf("long_p50_us %.1f long_p99_us %.1f\n",
	       pct(lat_long, nr_long, 50), pct(lat_long, nr_long, 99));
	printf("workers");
	for (int w = 0; w < MAX_WORKERS; w++)
		if (worker_tally[w])
			printf(" w%d=%d", w, worker_tally[w]);
	printf("\n");
	return 0;
}

/* --- closed loop --------------------------------------------------------- */

static int closed_loop_mode(void)
{
	int ep = epoll_create1(0);
	uint64_t done = 0, start, end;
	char buf[4096];
	const char *req = "ping";

	if (ep < 0)
		return 1;
	if (open_flows(ep))
		return 1;
	for (int f = 0; f < flows; f++) {
		send(fds[f], req, strlen(req), 0);
	}
	start = now_ns();
	end = start + (uint64_t)(duration * 1e9);
	while (now_ns() < end) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 100);

		if (n == 0) {
			/* a lost datagram: prime every flow again */
			for (int f = 0; f < flows; f++)
				send(fds[f], req, strlen(req), 0);
			continue;
		}
		for (int i = 0; i < n; i++) {
			while (recv(evs[i].data.fd, buf, sizeof(buf),
				    MSG_DONTWAIT) > 0) {
				done++;
				send(evs[i].data.fd, req, strlen(req), 0);
			}
		}
	}
	printf("requests %llu rps %.0f\n", (unsigned long long)done,
	       (double)done / ((double)(now_ns() - start) / 1e9));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"proto", required_argument, NULL, 'P'},
		{"count", required_argument, NULL, 'c'},
		{"flows", required_argument, NULL, 'f'},
		{"payload", required_argument, NULL, 'd'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'D'},
		{"long-every", required_argument, NULL, 'k'},
		{"long-prefix", required_argument, NULL, 'L'},
		{"closed", no_argument, NULL, 'C'},
		{},
	};
	const char *host = "127.0.0.1";
	int port = 0, opt;

	while ((opt = getopt_long(argc, argv, "c:p:", opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			if (strcmp(optarg, "udp") && strcmp(optarg, "tcp"))
				usage();
			tcp = !strcmp(optarg, "tcp");
			break;
		case 'c':
			count = atoi(optarg);
			break;
		case 'f':
			flows = atoi(optarg);
			break;
		case 'd':
			if (nr_payloads < MAX_PAYLOADS)
				payloads[nr_payloads++] = optarg;
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'D':
			duration = atof(optarg);
			break;
		case 'k':
			long_every = atoi(optarg);
			break;
		case 'L':
			long_prefix = optarg;
			break;
		case 'C':
			closed_loop = true;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || count < 1 || flows < 1 ||
	    flows > MAX_FLOWS)
		usage();
	if (!nr_payloads)
		payloads[nr_payloads++] = "hello";
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&server;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			usage();
		server_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&server;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			usage();
		server_len = sizeof(*a);
	}
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (rate > 0)
		return open_loop_mode();
	if (closed_loop)
		return closed_loop_mode();
	return request_mode();
}
