// SPDX-License-Identifier: GPL-2.0
/*
 * mc-req: a tiny memcached text-protocol client for tests.
 *
 *   mc-req [-t] [-n] [-X] [-b BYTES] [-w MS] [-r ID] HOST PORT LINE...
 *
 * Each LINE is sent followed by "\r\n"; all lines go out together.
 * UDP (default): one datagram behind the 8-byte memcached frame header
 * (request id, sequence 0, 1 datagram, reserved 0); the payloads of the
 * reply datagrams are written to stdout as is, once the reply is whole.
 * Every reply datagram must echo the request id. -n: expect no reply (noreply),
 * wait -w MS and exit 0. TCP (-t): all lines in one write (one segment,
 * TCP_NODELAY), or in chunks of -b BYTES with a short pause between them; then
 * the write side is shut and everything memcached sends until it closes goes to
 * stdout. -X: each LINE is hex (e.g. "80 01 00 05", spaces allowed) sent as raw
 * bytes without "\r\n", for binary-protocol requests.
 * HOST may be IPv4 or IPv6. Exit 0 on a reply, 1 on timeout or error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: mc-req [-t] [-n] [-X] [-b BYTES] [-w MS] [-r ID] "
		"HOST PORT LINE...\n");
	exit(64);
}

static int resolve(const char *host, const char *port, int type,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = type,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int err = getaddrinfo(host, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "mc-req: bad address %s port %s: %s\n", host,
			port, gai_strerror(err));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int do_tcp(const struct sockaddr_storage *ss, socklen_t sl,
		  const char *req, size_t len, size_t chunk, int wait_ms)
{
	int fd = socket(ss->ss_family, SOCK_STREAM, 0), one = 1;
	char buf[65536];
	size_t off;
	struct pollfd pfd;

	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, sl)) {
		perror("mc-req: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!chunk)
		chunk = len;
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		if (write_all(fd, req + off, n)) {
			perror("mc-req: write");
			return 1;
		}
		if (off + n < len)
			usleep(20000);
	}
	shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		ssize_t n;
		int r = poll(&pfd, 1, wait_ms);

		if (r == 0) {
			fprintf(stderr, "mc-req: memcached did not close the "
					"connection\n");
			return 1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("mc-req: read");
			return 1;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, n, stdout);
	}
	close(fd);
	return 0;
}

/*
 * Is `buf` one whole text-protocol reply? VALUE blocks are skipped by their
 * byte count (values may hold "END\r\n"), STAT lines continue, any other
 * line ends the reply.
 */
static int reply_complete(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
		size_t line_end;

		if (!eol)
			return 0;
		line_end = eol - buf;
		if (line_end - pos > 6 && !memcmp(buf + pos, "VALUE ", 6)) {
			char line[512];
			unsigned long bytes;
			size_t l = line_end - pos < sizeof(line) - 1
					   ? line_end - pos
					   : sizeof(line) - 1;

			memcpy(line, buf + pos, l);
			line[l] = 0;
			if (sscanf(line, "VALUE %*s %*u %lu", &bytes) != 1)
				return 1; /* not ours to judge: show it */
			pos = line_end + 2 + bytes + 2;
			continue;
		}
		if (line_end - pos > 5 && !memcmp(buf + pos, "STAT ", 5)) {
			pos = line_end + 2;
			continue;
		}
		return line_end + 2 == len;
	}
	return 0;
}

static int do_udp(const struct sockaddr_storage *ss, socklen_t sl,
		  const char *req, size_t len, uint16_t id, int noreply,
		  int wait_ms)
{
	static char reply[1 << 20];
	char pkt[65536], in[65536];
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	size_t rlen = 0;
	struct pollfd pfd;

	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, sl)) {
		perror("mc-req: connect");
		return 1;
	}
	if (len + 8 > sizeof(pkt)) {
		fprintf(stderr, "mc-req: request too long for one datagram\n");
		return 1;
	}
	pkt[0] = id >> 8;
	pkt[1] = id & 0xff;
	pkt[2] = pkt[3] = 0; /* sequence */
	pkt[4] = 0;
	pkt[5] = 1; /* datagrams */
	pkt[6] = pkt[7] = 0;
	memcpy(pkt + 8, req, len);
	if (send(fd, pkt, len + 8, 0) < 0) {
		perror("mc-req: send");
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (noreply) {
		/* Nothing should come back; show it if something does. */
		if (poll(&pfd, 1, wait_ms) > 0) {
			ssize_t n = recv(fd, in, sizeof(in), 0);

			if (n > 8)
				fwrite(in + 8, 1, n - 8, stdout);
		}
		return 0;
	}
	/*
	 * memcached 1.6 sends a multi-key reply as several datagrams, each
	 * marked "0 of 1": collect them in arrival order (a veth keeps it)
	 * until the text protocol says the reply is whole.
	 */
	do {
		ssize_t n;
		unsigned int rid, seq, cnt;

		if (poll(&pfd, 1, wait_ms) <= 0) {
			fwrite(reply, 1, rlen, stdout);
			fprintf(stderr, "mc-req: no%s reply within %d ms\n",
				rlen ? " complete" : "", wait_ms);
			return 1;
		}
		n = recv(fd, in, sizeof(in), 0);
		if (n < 8) {
			fprintf(stderr, "mc-req: short datagram (%zd bytes)\n",
				n);
			return 1;
		}
		rid = (unsigned char)in[0] << 8 | (unsigned char)in[1];
		seq = (unsigned char)in[2] << 8 | (unsigned char)in[3];
		cnt = (unsigned char)in[4] << 8 | (unsigned char)in[5];
		if (rid != id) {
			fprintf(stderr,
				"mc-req: reply has request id %u, expected "
				"%u\n",
				rid, id);
			return 1;
		}
		if (in[6] || in[7] || cnt == 0 || seq >= cnt) {
			fprintf(stderr,
				"mc-req: bad frame header: seq %u of %u, "
				"reserved %02x%02x\n",
				seq, cnt, (unsigned char)in[6],
				(unsigned char)in[7]);
			return 1;
		}
		if (rlen + n - 8 > sizeof(reply)) {
			fprintf(stderr, "mc-req: reply too long\n");
			return 1;
		}
		memcpy(reply + rlen, in + 8, n - 8);
		rlen += n - 8;
	} while (!reply_complete(reply, rlen));
	fwrite(reply, 1, rlen, stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int tcp = 0, noreply = 0, hex = 0, wait_ms = -1, opt, i;
	size_t chunk = 0, len = 0, cap = 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint16_t id;
	char *req = NULL;

	srand(time(NULL) ^ getpid());
	id = rand() & 0xffff;
	while ((opt = getopt(argc, argv, "tnXb:w:r:")) != -1) {
		switch (opt) {
		case 't':
			tcp = 1;
			break;
		case 'n':
			noreply = 1;
			break;
		case 'X':
			hex = 1;
			break;
		case 'b':
			chunk = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'r':
			id = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 3)
		usage();
	if (wait_ms < 0)
		wait_ms = noreply ? 200 : 2000;
	for (i = optind + 2; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (len + l + 2 > cap) {
			cap = (len + l + 2) * 2;
			req = realloc(req, cap);
			if (!req)
				return 1;
		}
		if (hex) {
			const char *p = argv[i];
			unsigned int b;
			int n;

			while (*p) {
				if (*p == ' ') {
					p++;
					continue;
				}
				if (sscanf(p, "%2x%n", &b, &n) != 1 || n != 2)
					usage();
				req[len++] = b;
				p += 2;
			}
			continue;
		}
		memcpy(req + len, argv[i], l);
		memcpy(req + len + l, "\r\n", 2);
		len += l + 2;
	}
	if (resolve(argv[optind], argv[optind + 1],
		    tcp ? SOCK_STREAM : SOCK_DGRAM, &ss, &sl))
		return 1;
	if (tcp)
		return do_tcp(&ss, sl, req, len, chunk, wait_ms);
	return do_udp(&ss, sl, req, len, id, noreply, wait_ms);
}
