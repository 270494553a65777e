// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF-KV database format: a B+-tree of 512-byte nodes with fan-out 31,
 * stored level by level from the root, then a value log of 64-byte values
 * (include/xrp.h has the structs). create writes it; the other commands
 * open it and check it before trusting an offset in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lookup.h"

uint64_t db_keys(unsigned int layers)
{
	uint64_t v = 1;

	while (layers--)
		v *= BPFKV_FANOUT;
	return v;
}

uint64_t db_nodes(unsigned int layers)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < layers; i++)
		total += db_keys(i);
	return total;
}

/*
 * BPF-KV writes the value log in whole blocks, so the last block also
 * holds the values of the keys after the last one, up to a multiple of
 * eight.
 */
uint64_t db_bytes(unsigned int layers)
{
	uint64_t keys = db_keys(layers);

	return db_nodes(layers) * BPFKV_BLOCK_SIZE +
	       (keys + 7) / 8 * BPFKV_BLOCK_SIZE;
}

void db_format_value(char *v, uint64_t k)
{
	int i = BPFKV_VALUE_SIZE - 2;

	memset(v, ' ', BPFKV_VALUE_SIZE - 1);
	v[BPFKV_VALUE_SIZE - 1] = '\0';
	do {
		v[i--] = '0' + k % 10;
		k /= 10;
	} while (k && i >= 0);
}

const char *db_value_text(const char *v)
{
	while (*v == ' ')
		v++;
	return v;
}

int db_dev_size(int fd, const char *path, uint64_t *size, bool *blk)
{
	struct stat st;

	if (fstat(fd, &st))
		return fp_error("cannot stat %s: %s", path, strerror(errno));
	*blk = S_ISBLK(st.st_mode);
	if (*blk) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return fp_error("cannot get the size of %s: %s", path,
					strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else {
		return fp_error("%s is neither a file nor a block device",
				path);
	}
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, const char *path)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fp_error("cannot write %s: %s", path,
					strerror(errno));
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Blocks are gathered in a buffer and written a few MiB at a time. */
struct writer {
	int fd;
	const char *path;
	char *buf;
	size_t used, size;
};

static void *writer_next(struct writer *w, size_t len)
{
	void *p;

	if (w->used + len > w->size) {
		if (write_all(w->fd, w->buf, w->used, w->path))
			return NULL;
		w->used = 0;
	}
	p = w->buf + w->used;
	w->used += len;
	return p;
}

/* Node j of level i, as BPF-KV's loader builds it. */
static void fill_node(struct bpfkv_node *n, unsigned int layers, unsigned int i,
		      uint64_t j, uint64_t g, uint64_t *next_pos)
{
	uint64_t keys = db_keys(layers), nodes = db_nodes(layers);
	uint64_t cap = db_keys(i), extent = keys / cap;
	uint64_t sub = extent / BPFKV_FANOUT, start = j * extent;

	n->type = i == layers - 1 ? BPFKV_LEAF : BPFKV_INTERNAL;
	n->next = j == cap - 1 ? 0 : (g + 1) * BPFKV_BLOCK_SIZE;
	for (int k = 0; k < BPFKV_FANOUT; k++, (*next_pos)++) {
		n->key[k] = start + k * sub;
		n->ptr[k] = bpfkv_encode(
			n->type == BPFKV_INTERNAL
				? *next_pos * BPFKV_BLOCK_SIZE
				: nodes * BPFKV_BLOCK_SIZE +
					  (*next_pos - nodes) *
						  BPFKV_VALUE_SIZE);
	}
}

int db_write(int fd, const char *path, unsigned int layers)
{
	struct writer w = {.fd = fd, .path = path, .size = 4 << 20};
	uint64_t keys = db_keys(layers), g = 0, next_pos = 1;
	int ret = 1;

	w.buf = malloc(w.size);
	if (!w.buf)
		return fp_error("out of memory");
	/* The index, level by level, root first (BPF-KV's load order). */
	for (unsigned int i = 0; i < layers; i++) {
		for (uint64_t j = 0; j < db_keys(i); j++, g++) {
			struct bpfkv_node *n =
				writer_next(&w, BPFKV_BLOCK_SIZE);

			if (!n)
				goto out;
			fill_node(n, layers, i, j, g, &next_pos);
		}
	}
	/* The value log: "%63lu" of each key, eight values per block. */
	for (uint64_t k = 0; k < (keys + 7) / 8 * 8; k++) {
		char *v = writer_next(&w, BPFKV_VALUE_SIZE);

		if (!v)
			goto out;
		db_format_value(v, k);
	}
	if (w.used && write_all(fd, w.buf, w.used, path))
		goto out;
	ret = 0;
out:
	free(w.buf);
	return ret;
}

/* ---- opening ---------------------------------------------------------- */

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* A node of the index's left edge, read at off: does it parse? */
static int check_node(const struct db *db, const struct bpfkv_node *node,
		      uint64_t off)
{
	const char *path = db->path;

	if (node->type != BPFKV_INTERNAL && node->type != BPFKV_LEAF)
		return fp_error("%s is not a BPF-KV database: node at offset "
				"%llu has type %llu (want 0 or 1)",
				path, (unsigned long long)off,
				(unsigned long long)node->type);
	if (node->key[0] != 0)
		return fp_error("%s is not a BPF-KV database: first key of "
				"the node at offset %llu is %llu, not 0",
				path, (unsigned long long)off,
				(unsigned long long)node->key[0]);
	for (int i = 0; i < BPFKV_FANOUT; i++) {
		if ((i && node->key[i] <= node->key[i - 1]) ||
		    !(node->ptr[i] & BPFKV_PTR_FLAG))
			return fp_error("%s is not a BPF-KV database: node at "
					"offset %llu does not parse (slot %d: "
					"key %llu, pointer 0x%llx)",
					path, (unsigned long long)off, i,
					(unsigned long long)node->key[i],
					(unsigned long long)node->ptr[i]);
	}
	return 0;
}

/*
 * Follows the first pointer of each node from the root down to the first
 * leaf, which is left in `node`: its depth is the number of layers.
 */
static int walk_left_edge(struct db *db, struct bpfkv_node *node,
			  uint64_t *leaf_off)
{
	uint64_t level_start = 0, level_nodes = 1, off;
	const char *path = db->path;
	int err;

	for (unsigned int d = 1;; d++) {
		off = level_start * BPFKV_BLOCK_SIZE;
		if (d > MAX_LAYERS + 1)
			return fp_error("%s is not a BPF-KV database: the "
					"index is deeper than %d layers",
					path, MAX_LAYERS + 1);
		if (off + BPFKV_BLOCK_SIZE > db->dev_size)
			return fp_error("%s is not a BPF-KV database: "
					"truncated index (node at offset %llu "
					"is past the end)",
					path, (unsigned long long)off);
		err = read_exact(db->fd, node, BPFKV_BLOCK_SIZE, off);
		if (err)
			return fp_error("cannot read %s at offset %llu: %s",
					path, (unsigned long long)off,
					strerror(-err));
		if (check_node(db, node, off))
			return 1;
		if (node->type == BPFKV_LEAF) {
			db->layers = d;
			*leaf_off = off;
			return 0;
		}
		level_start += level_nodes;
		level_nodes *= BPFKV_FANOUT;
		if (bpfkv_decode(node->ptr[0]) !=
		    level_start * BPFKV_BLOCK_SIZE)
			return fp_error(
				"%s is not a BPF-KV database: pointer out of "
				"range in the node at offset %llu (0x%llx, "
				"want the node at %llu)",
				path, (unsigned long long)off,
				(unsigned long long)node->ptr[0],
				(unsigned long long)(level_start *
						     BPFKV_BLOCK_SIZE));
	}
}

/* The top `layers` layers, read once, as BPF-KV's cache holds them. */
static int load_cache(struct db *db, unsigned int layers)
{
	int err;

	if (layers >= db->layers)
		return fp_error("--cache-layers %u: %s has only %u layers "
				"(the leaves are never cached)",
				layers, db->path, db->layers);
	db->cache_bytes = db_nodes(layers) * BPFKV_BLOCK_SIZE;
	if (posix_memalign((void **)&db->cache, 4096, db->cache_bytes)) {
		db->cache = NULL;
		return fp_error("out of memory");
	}
	err = read_exact(db->fd, db->cache, db->cache_bytes, 0);
	if (err)
		return fp_error("cannot read the top of %s: %s", db->path,
				strerror(-err));
	return 0;
}

/* After the left edge: the leaf points at the value log, the size fits. */
static int check_size(struct db *db, const struct bpfkv_node *leaf,
		      uint64_t leaf_off)
{
	unsigned int d = db->layers;

	db->nodes = db_nodes(d);
	db->keys = db_keys(d);
	db->size = db_bytes(d);
	if (bpfkv_decode(leaf->ptr[0]) != db->nodes * BPFKV_BLOCK_SIZE)
		return fp_error(
			"%s is not a BPF-KV database: pointer out of "
			"range in the leaf at offset %llu (value "
			"0x%llx, the value log starts at %llu)",
			db->path, (unsigned long long)leaf_off,
			(unsigned long long)leaf->ptr[0],
			(unsigned long long)(db->nodes * BPFKV_BLOCK_SIZE));
	if (db->dev_size < db->size)
		return fp_error("%s is truncated: %llu bytes, but a %u-layer "
				"BPF-KV database needs %llu",
				db->path, (unsigned long long)db->dev_size, d,
				(unsigned long long)db->size);
	return 0;
}

static int open_direct(struct db *db, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode))
		return fp_error("%s is neither a file nor a block device",
				path);
	db->fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (db->fd >= 0)
		return 0;
	if (errno == EINVAL)
		return fp_error("cannot open %s with O_DIRECT: the "
				"filesystem does not support direct "
				"I/O (use a block device or ext4/xfs)",
				path);
	return fp_error("cannot open %s: %s", path, strerror(errno));
}

int db_open(struct db *db, const char *path, unsigned int cache_layers)
{
	struct bpfkv_node *node = NULL;
	uint64_t leaf_off = 0;

	memset(db, 0, sizeof(*db));
	db->fd = -1;
	db->path = path;
	if (open_direct(db, path))
		return 1;
	if (db_dev_size(db->fd, path, &db->dev_size, &db->blockdev))
		goto fail;
	if (db->dev_size < db_bytes(1)) {
		fp_error("%s is not a BPF-KV database: too short (%llu bytes, "
			 "a database is at least %llu)",
			 path, (unsigned long long)db->dev_size,
			 (unsigned long long)db_bytes(1));
		goto fail;
	}
	if (posix_memalign((void **)&node, 4096, 4096)) {
		node = NULL;
		fp_error("out of memory");
		goto fail;
	}
	if (walk_left_edge(db, node, &leaf_off) ||
	    check_size(db, node, leaf_off))
		goto fail;
	if (cache_layers && load_cache(db, cache_layers))
		goto fail;
	free(node);
	return 0;
fail:
	free(node);
	db_close(db);
	return 1;
}

void db_close(struct db *db)
{
	free(db->cache);
	db->cache = NULL;
	db->cache_bytes = 0;
	if (db->fd >= 0)
		close(db->fd);
	db->fd = -1;
}
