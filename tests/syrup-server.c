// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-server: the test and benchmark server of syrup-steer.
 *
 * Opens N SO_REUSEPORT sockets on one port (UDP, TCP or both), one per
 * worker thread, created in worker order so syrup-steer numbers them 0..N-1
 * (UDP ones first). Each request gets the reply
 *
 *     w=WORKER cpu=SO_INCOMING_CPU|<the request, echoed>
 *
 * so a client sees which socket (and which CPU) took it. Service times can be
 * bimodal for the benchmark: requests starting with --long-prefix sleep
 * --long-us, the others spin --short-us. SIGUSR1 closes worker
 * --close-worker's sockets (a worker going away). SIGINT/SIGTERM end it.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

struct worker {
	int idx;
	int fd;
	bool tcp;
	volatile bool closing;
	pthread_t thread;
};

static struct worker workers[2 * MAX_WORKERS];
static int nr_workers;
static long short_us, long_us = 1000;
static const char *long_prefix;
static int close_worker = -1;
static int first_worker; /* --first-worker: worker i replies w=K+i */
static bool pin;

static void usage(void)
{
	fprintf(stderr, "usage: syrup-server --port PORT [--workers N] "
			"[--proto udp|tcp|both] [--v6]\n"
			"                    [--short-us US] [--long-us US] "
			"[--long-prefix STR] [--close-worker K] [--pin]\n"
			"                    [--first-worker K]\n");
	exit(64);
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void serve_time(const char *req, size_t len)
{
	if (long_prefix && len >= strlen(long_prefix) &&
	    !memcmp(req, long_prefix, strlen(long_prefix))) {
		struct timespec ts = {long_us / 1000000,
				      (long_us % 1000000) * 1000};

		nanosleep(&ts, NULL);
	} else if (short_us) {
		long end = now_ns() + short_us * 1000;

		while (now_ns() < end)
			;
	}
}

static size_t make_reply(const struct worker *w, const char *req, size_t len,
			 char *out, size_t cap)
{
	socklen_t sl = sizeof(int);
	int cpu = -1;
	int n;

	getsockopt(w->fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &sl);
	n = snprintf(out, cap, "w=%d cpu=%d|", w->idx, cpu);
	if (len > cap - (size_t)n)
		len = cap - (size_t)n;
	memcpy(out + n, req, len);
	return (size_t)n + len;
}

static void *udp_worker(void *arg)
{
	struct worker *w = arg;
	char req[2048], reply[2400];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(w->fd, req, sizeof(req), 0,
				     (struct sockaddr *)&from, &fl);
		size_t rl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n == 0 && w->closing))
			break; /* shut down */
		serve_time(req, (size_t)n);
		rl = make_reply(w, req, (size_t)n, reply, sizeof(reply));
		sendto(w->fd, reply, rl, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void *tcp_conn(void *arg)
{
	struct worker conn = *(struct worker *)arg;
	char req[2048], reply[2400];

	free(arg);
	for (;;) {
		ssize_t n = recv(conn.fd, req, sizeof(req), 0);
		size_t rl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		serve_time(req, (size_t)n);
		rl = make_reply(&conn, req, (size_t)n, reply, sizeof(reply));
		if (send(conn.fd, reply, rl, MSG_NOSIGNAL) < 0)
			break;
	}
	close(conn.fd);
	return NULL;
}

static void *tcp_worker(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		struct worker *c;
		pthread_t t;
		int fd = accept(w->fd, NULL, NULL);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->idx = w->idx;
		c->fd = fd;
		c->tcp = true;
		if (pthread_create(&t, NULL, tcp_conn, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static int open_socket(bool tcp, bool v6, int port)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM,
			0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	if (v6) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_port = htons((uint16_t)port),
					 .sin6_addr = IN6ADDR_ANY_INIT};

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_ANY)};

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	}
	if (tcp && listen(fd, 1024))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* What the command line sets besides the workers' service times. */
struct server_opts {
	int port, n;
	bool udp, tcp, v6;
};

static void parse_args(int argc, char **argv, struct server_opts *o)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"workers", required_argument, NULL, 'w'},
		{"proto", required_argument, NULL, 'P'},
		{"v6", no_argument, NULL, '6'},
		{"short-us", required_argument, NULL, 's'},
		{"long-us", required_argument, NULL, 'l'},
		{"long-prefix", required_argument, NULL, 'L'},
		{"close-worker", required_argument, NULL, 'c'},
		{"pin", no_argument, NULL, 'x'},
		{"first-worker", required_argument, NULL, 'f'},
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "p:w:", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'w':
			o->n = atoi(optarg);
			break;
		case 'P':
			o->udp = !strcmp(optarg, "udp") ||
				 !strcmp(optarg, "both");
			o->tcp = !strcmp(optarg, "tcp") ||
				 !strcmp(optarg, "both");
			if (!o->udp && !o->tcp)
				usage();
			break;
		case '6':
			o->v6 = true;
			break;
		case 's':
			short_us = atol(optarg);
			break;
		case 'l':
			long_us = atol(optarg);
			break;
		case 'L':
			long_prefix = optarg;
			break;
		case 'c':
			close_worker = atoi(optarg);
			break;
		case 'f':
			first_worker = atoi(optarg);
			break;
		case 'x':
			pin = true; /* worker i on CPU i % CPUs */
			break;
		default:
			usage();
		}
	}
	if (o->port <= 0 || o->port > 65535 || o->n < 1 || o->n > MAX_WORKERS)
		usage();
}

/* All sockets first, in worker order: fds ascend with the index. */
static int open_sockets(const struct server_opts *o)
{
	for (int p = 0; p < 2; p++) {
		bool is_tcp = p == 1;

		if (is_tcp ? !o->tcp : !o->udp)
			continue;
		for (int i = 0; i < o->n; i++) {
			struct worker *w = &workers[nr_workers];

			w->idx = first_worker + i;
			w->tcp = is_tcp;
			w->fd = open_socket(is_tcp, o->v6, o->port);
			if (w->fd < 0) {
				fprintf(stderr,
					"syrup-server: cannot open %s/%d: %s\n",
					is_tcp ? "tcp" : "udp", o->port,
					strerror(errno));
				return -1;
			}
			nr_workers++;
		}
	}
	return 0;
}

static void start_workers(void)
{
	for (int i = 0; i < nr_workers; i++) {
		pthread_create(&workers[i].thread, NULL,
			       workers[i].tcp ? tcp_worker : udp_worker,
			       &workers[i]);
		if (pin) {
			cpu_set_t cpus;

			CPU_ZERO(&cpus);
			CPU_SET(workers[i].idx % sysconf(_SC_NPROCESSORS_ONLN),
				&cpus);
			pthread_setaffinity_np(workers[i].thread, sizeof(cpus),
					       &cpus);
		}
	}
}

/* SIGUSR1: worker --close-worker goes away. */
static void close_workers(void)
{
	for (int i = 0; i < nr_workers; i++) {
		if (workers[i].idx != close_worker || workers[i].fd < 0)
			continue;
		workers[i].closing = true;
		shutdown(workers[i].fd, SHUT_RDWR);
		pthread_join(workers[i].thread, NULL);
		close(workers[i].fd);
		workers[i].fd = -1;
	}
	printf("closed worker %d\n", close_worker);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct server_opts o = {.n = 4, .udp = true};
	sigset_t set;
	int sig;

	parse_args(argc, argv, &o);
	prctl(PR_SET_TIMERSLACK, 1UL);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (open_sockets(&o))
		return 1;
	start_workers();
	printf("ready port=%d workers=%d pid=%d\n", o.port, o.n, getpid());
	fflush(stdout);

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != SIGUSR1)
			break;
		close_workers();
	}
	return 0;
}
