// SPDX-License-Identifier: GPL-2.0
/*
 * Warm attach: the expiry of the keys memcached held before BMC came.
 *
 * BMC caches a value only when it knows when the key expires, and it
 * learns that from the writes it sees. Keys written before the attach
 * would never be served, so after the attach bmc-attach asks memcached
 * (`lru_crawler metadump all`: every key with its absolute expiry) and
 * writes each key's deadline into the exps map. What BMC learns from a
 * write it sees must win over this older dump, whatever the order:
 *  - entries go in with BPF_NOEXIST: a write seen first keeps its own;
 *  - a delete or a cas leaves an entry too (BMC_EXP_UNKNOWN), never a hole
 *    for the dump to fill;
 *  - a write seen later overwrites ours;
 *  - and, should the LRU have evicted what a write left, the key's write
 *    bucket has a generation above 0 (every write seen takes one, and the
 *    maps are new at attach): then ours is deleted again. The write bumps
 *    the generation before it touches exps, so checking after inserting
 *    cannot miss it.
 * Writes that memcached received before the attach are in the dump, once
 * it has processed them: the dump starts after a short pause for that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bmc-attach.h"

/* Writes queued in memcached when XDP came get this long to be applied. */
#define WARM_SETTLE_MS 200
/* memcached answers BUSY while another crawl runs: retry this long. */
#define WARM_BUSY_MS 5000
/* No line from memcached for this long: give up (the attach stays). */
#define WARM_READ_TIMEOUT_S 10

struct learned {
	uint64_t hash;
	uint64_t deadline;
	uint64_t last_access; /* fetched keys first: see rank() */
};

uint64_t bmc_key_hash(const char *key, size_t len)
{
	uint64_t h = BMC_FNV_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= BMC_FNV_PRIME;
	}
	return h ? h : 1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* memcached escapes keys in metadump as URIs (%XX). */
static int uri_decode(const char *s, size_t n, char *out, size_t cap,
		      size_t *len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o >= cap)
			return -E2BIG;
		out[o++] = c;
	}
	*len = o;
	return 0;
}

/* The value of " NAME=" in line, and its length. */
static const char *field(const char *line, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = line;

	while ((p = strstr(p, name))) {
		if ((p == line || p[-1] == ' ') && p[nl] == '=') {
			p += nl + 1;
			*len = strcspn(p, " \r\n");
			return p;
		}
		p += nl;
	}
	return NULL;
}

int bmc_warm_parse_line(const char *line, int64_t wall_s, uint64_t mono_ns,
			uint64_t *hash, uint64_t *deadline,
			uint64_t *last_access)
{
	char key[BMC_MAX_KEY];
	const char *v;
	size_t n, klen;
	long long exp;
	char *end;

	v = field(line, "key", &n);
	if (!v || !n || uri_decode(v, n, key, sizeof(key), &klen))
		return -EINVAL;
	*hash = bmc_key_hash(key, klen);
	v = field(line, "exp", &n);
	if (!v)
		return -EINVAL;
	exp = strtoll(v, &end, 10);
	if (end != v + n)
		return -EINVAL;
	v = field(line, "la", &n);
	*last_access = v ? strtoull(v, NULL, 10) : 0;
	/*
	 * memcached moves `la` at most once a minute, so a key read since it
	 * was stored ("fetch=yes") ranks above every key never read.
	 */
	v = field(line, "fetch", &n);
	if (v && n == 3 && !strncmp(v, "yes", 3))
		*last_access |= BMC_WARM_FETCHED;
	if (exp == -1) {
		*deadline = BMC_EXP_NEVER;
		return 0;
	}
	/* Absolute seconds; BMC's margin for memcached's coarse clock. */
	if ((exp - wall_s) * 1000000000LL <= (long long)BMC_EXP_MARGIN_NS) {
		*deadline = 0;
		return 0;
	}
	*deadline = mono_ns + (uint64_t)(exp - wall_s) * 1000000000ULL -
		    BMC_EXP_MARGIN_NS;
	return 0;
}

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
	struct timeval tv = {.tv_sec = WARM_READ_TIMEOUT_S};
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, sa, len) == 0)
		return fd;
	close(fd);
	return -1;
}

/*
 * memcached's TCP port in this namespace: loopback first, then every
 * address of the namespace's interfaces (memcached -l ADDR).
 */
static int connect_memcached(uint16_t port)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct ifaddrs *ifs, *i;
	int fd;

	fd = connect_to((struct sockaddr *)&v4, sizeof(v4));
	if (fd < 0)
		fd = connect_to((struct sockaddr *)&v6, sizeof(v6));
	if (fd >= 0 || getifaddrs(&ifs))
		return fd;
	for (i = ifs; i && fd < 0; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			v4.sin_addr =
				((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			fd = connect_to((struct sockaddr *)&v4, sizeof(v4));
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			v6.sin6_addr =
				((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			v6.sin6_scope_id = ((struct sockaddr_in6 *)i->ifa_addr)
						   ->sin6_scope_id;
			fd = connect_to((struct sockaddr *)&v6, sizeof(v6));
		}
	}
	freeifaddrs(ifs);
	return fd;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct dump {
	struct learned *keys;
	size_t n, cap;
	uint64_t expired, bad;
};

static int dump_add(struct dump *d, const struct learned *l)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;
		struct learned *k = realloc(d->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		d->keys = k;
		d->cap = cap;
	}
	d->keys[d->n++] = *l;
	return 0;
}

/* One line of memcached's answer: 1 at END, 0 to go on, <0 an error. */
static int dump_line(struct dump *d, const char *line, int64_t wall_s,
		     uint64_t now, char *why, size_t why_len)
{
	struct learned l;

	if (!strncmp(line, "END", 3))
		return 1;
	if (strncmp(line, "key=", 4)) {
		snprintf(why, why_len, "memcached answered '%.*s'",
			 (int)strcspn(line, "\r\n"), line);
		return !strncmp(line, "BUSY", 4) ? -EBUSY : -EPROTO;
	}
	if (bmc_warm_parse_line(line, wall_s, now, &l.hash, &l.deadline,
				&l.last_access)) {
		d->bad++;
		return 0;
	}
	if (!l.deadline) {
		d->expired++;
		return 0;
	}
	return dump_add(d, &l);
}

/* Reads the whole metadump; 0, -EBUSY (crawler busy) or another error. */
static int read_dump(int fd, struct dump *d, char *why, size_t why_len)
{
	static const char req[] = "lru_crawler metadump all\r\n";
	int64_t wall_s = (int64_t)time(NULL);
	uint64_t now = mono_ns();
	size_t cap = 1 << 16, have = 0;
	char *buf = malloc(cap + 1);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		snprintf(why, why_len, "cannot send to memcached: %s",
			 strerror(errno));
		free(buf);
		return -EIO;
	}
	while (!ret) {
		ssize_t r = read(fd, buf + have, cap - have);
		char *line = buf, *nl;

		if (r <= 0) {
			snprintf(why, why_len, "memcached %s",
				 r ? strerror(errno) : "closed the connection");
			ret = -EIO;
			break;
		}
		have += (size_t)r;
		buf[have] = '\0';
		while (!ret && (nl = memchr(line, '\n', have - (line - buf)))) {
			*nl = '\0';
			ret = dump_line(d, line, wall_s, now, why, why_len);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == cap) {
			snprintf(why, why_len,
				 "a line of the dump is too long");
			ret = -EPROTO;
		}
	}
	free(buf);
	return ret < 0 ? ret : 0;
}

static int by_last_access_desc(const void *a, const void *b)
{
	const struct learned *x = a, *y = b;

	return x->last_access < y->last_access	 ? 1
	       : x->last_access > y->last_access ? -1
						 : 0;
}

/*
 * Into exps, the most recently used first, until `limit` are learned;
 * returns how many of the dump's keys it went through.
 */
static size_t learn(const struct dump *d, int exps_fd, int buckets_fd,
		    const struct bmc_geometry *g, uint64_t limit,
		    struct bmc_warm_result *r)
{
	size_t i;

	for (i = 0; i < d->n && r->learned < limit; i++) {
		const struct learned *l = &d->keys[i];
		struct bmc_exp e = {.deadline = l->deadline};
		__u32 b = (__u32)((l->hash >> 20) & (g->gens - 1));
		struct bmc_bucket bk;

		if (bpf_map_update_elem(exps_fd, &l->hash, &e, BPF_NOEXIST)) {
			r->written++; /* a write BMC saw got there first */
			continue;
		}
		if (!bpf_map_lookup_elem(buckets_fd, &b, &bk) && bk.gen) {
			bpf_map_delete_elem(exps_fd, &l->hash);
			r->written++;
			continue;
		}
		r->learned++;
	}
	return i;
}

int bmc_learn_expiries(int exps_fd, int buckets_fd,
		       const struct bmc_geometry *g, uint16_t port,
		       struct bmc_warm_result *r)
{
	uint64_t t0 = mono_ns();
	struct dump d = {0};
	int fd, err = 0;

	memset(r, 0, sizeof(*r));
	usleep(WARM_SETTLE_MS * 1000);
	fd = connect_memcached(port);
	if (fd < 0) {
		snprintf(r->why, sizeof(r->why),
			 "cannot reach memcached on TCP port %u", port);
		return -ECONNREFUSED;
	}
	for (int waited = 0;; waited += 100) {
		err = read_dump(fd, &d, r->why, sizeof(r->why));
		if (err != -EBUSY || waited >= WARM_BUSY_MS)
			break;
		usleep(100 * 1000);
	}
	close(fd);
	if (!err) {
		qsort(d.keys, d.n, sizeof(*d.keys), by_last_access_desc);
		r->keys = d.n + d.expired;
		r->expired = d.expired;
		r->unparsed = d.bad;
		/* More than the cache holds would only push each other out:
		 * the keys read since stored first, then the most recent. */
		r->beyond =
			d.n - learn(&d, exps_fd, buckets_fd, g, g->entries, r);
	}
	free(d.keys);
	r->secs = (double)(mono_ns() - t0) / 1e9;
	return err;
}
