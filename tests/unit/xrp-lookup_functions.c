// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in storage functions (bpf/xrp/), natively, over BPF-KV trees
 * held in memory: every key of 1- to 3-layer trees, absent keys, ranges of
 * every shape (batching, leaf crossings, the ends), corrupt nodes, and
 * random blocks (the functions must end or ask for an aligned 512-byte
 * read, never loop in place).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define XRP_ENTRY_NAME entry_get
#include "xrp/bpfkv_get.c"
#undef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME entry_range
#include "xrp/bpfkv_range.c"

struct mem_db {
	unsigned char *bytes;
	uint64_t size, keys, nodes;
};

static uint64_t pow31(unsigned int n)
{
	uint64_t v = 1;

	while (n--)
		v *= BPFKV_FANOUT;
	return v;
}

/* BPF-KV's layout, written independently of xrp-lookup's create. */
static void mem_db_build(struct mem_db *db, unsigned int layers)
{
	uint64_t pos = 1, g = 0;

	db->keys = pow31(layers);
	db->nodes = 0;
	for (unsigned int i = 0; i < layers; i++)
		db->nodes += pow31(i);
	db->size = db->nodes * 512 + (db->keys + 7) / 8 * 512;
	db->bytes = calloc(1, db->size);
	for (unsigned int i = 0; i < layers; i++) {
		uint64_t cap = pow31(i), extent = db->keys / cap;

		for (uint64_t j = 0; j < cap; j++, g++) {
			struct bpfkv_node *n = (void *)(db->bytes + g * 512);

			n->type = i == layers - 1 ? BPFKV_LEAF : BPFKV_INTERNAL;
			n->next = j == cap - 1 ? 0 : (g + 1) * 512;
			for (int k = 0; k < BPFKV_FANOUT; k++, pos++) {
				n->key[k] = j * extent + k * (extent / 31);
				n->ptr[k] = bpfkv_encode(
					n->type == BPFKV_LEAF
						? db->nodes * 512 +
							  (pos - db->nodes) * 64
						: pos * 512);
			}
		}
	}
	for (uint64_t k = 0; k < (db->keys + 7) / 8 * 8; k++)
		snprintf((char *)db->bytes + db->nodes * 512 + k * 64, 64,
			 "%63llu", (unsigned long long)k);
}

/* A tiny engine: 0 done, -1 a bad read was asked for, -2 too many. */
static int run_chain(const struct mem_db *db, xrp_fn_t fn, struct bpf_xrp *ctx)
{
	for (int hops = 0; hops < 64; hops++) {
		uint64_t a = ctx->next_addr[0], s = ctx->size[0];

		if (!s || s > XRP_DATA_SIZE || (a | s) & 511 || a >= db->size ||
		    s > db->size - a)
			return -1;
		memcpy(ctx->data, db->bytes + a, s);
		ctx->size[0] = 0;
		fn(ctx);
		if (ctx->done)
			return 0;
	}
	return -2;
}

static int get(const struct mem_db *db, uint64_t key, struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	memset(ctx, 0, sizeof(*ctx));
	q->key = key;
	ctx->size[0] = 512;
	return run_chain(db, entry_get, ctx);
}

/* count and sum of lo..hi through the range function, batch by batch */
static int range(const struct mem_db *db, uint64_t lo, uint64_t hi,
		 struct bpf_xrp *ctx, uint64_t *count, uint64_t *sum,
		 int *bad_order)
{
	struct xrp_range *r = (struct xrp_range *)ctx->scratch;
	uint64_t expect = lo;
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	r->lo = lo;
	r->hi = hi;
	ctx->size[0] = 512;
	*bad_order = 0;
	for (;;) {
		ret = run_chain(db, entry_range, ctx);
		if (ret || r->error)
			return ret ? ret : -3;
		for (uint64_t i = 0; i < r->n; i++, expect++) {
			char want[64];

			snprintf(want, sizeof(want), "%63llu",
				 (unsigned long long)expect);
			if (r->out[i].key != expect ||
			    memcmp(want, r->out[i].value, 64))
				*bad_order = 1;
		}
		if (!r->more)
			break;
		r->n = 0;
		r->more = 0;
		ctx->done = 0;
	}
	*count = r->count;
	*sum = r->sum;
	return 0;
}

/* get: every key of trees of 1 to 3 layers, and absent keys. */
static void test_get(struct mem_db db[4], struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	for (unsigned int l = 1; l <= 3; l++) {
		uint64_t bad = 0, k;
		char want[64];

		for (k = 0; k < db[l].keys; k++) {
			snprintf(want, sizeof(want), "%63llu",
				 (unsigned long long)k);
			if (get(&db[l], k, ctx) || !q->found || q->error ||
			    memcmp(want, q->value, 64))
				bad++;
		}
		UNIT_CHECK(bad == 0,
			   "get: all %llu keys of a %u-layer tree "
			   "(%llu wrong)",
			   (unsigned long long)db[l].keys, l,
			   (unsigned long long)bad);
		bad = 0;
		for (k = db[l].keys; k < db[l].keys + 100; k++)
			if (get(&db[l], k, ctx) || q->found || q->error)
				bad++;
		if (get(&db[l], UINT64_MAX, ctx) || q->found)
			bad++;
		UNIT_CHECK(bad == 0, "get: absent keys of a %u-layer tree", l);
	}
}

/* range: known ranges over 3 layers, random ones over 2. */
static void test_range(struct mem_db db[4], struct bpf_xrp *ctx)
{
	static const uint64_t cases[][2] = {
		{0, 0},		{0, 30},	{5, 12},	{25, 40},
		{30, 31},	{0, 960},	{31, 62},	{100, 5000},
		{29000, 29790}, {29790, 99999}, {29791, 40000}, {7, 7},
	};
	uint64_t count, sum, bad = 0;
	int order;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t lo = cases[i][0], hi = cases[i][1];
		uint64_t top = hi < db[3].keys ? hi : db[3].keys - 1;
		uint64_t n = lo > top ? 0 : top - lo + 1;
		uint64_t s = n ? (lo + top) * n / 2 : 0;

		if (range(&db[3], lo, hi, ctx, &count, &sum, &order) ||
		    count != n || sum != s || order) {
			bad++;
			printf("# range %llu..%llu: count %llu sum "
			       "%llu order %d\n",
			       (unsigned long long)lo, (unsigned long long)hi,
			       (unsigned long long)count,
			       (unsigned long long)sum, order);
		}
	}
	UNIT_CHECK(bad == 0,
		   "range: count, sum and order of %zu "
		   "ranges over a 3-layer tree",
		   sizeof(cases) / sizeof(cases[0]));
	bad = 0;
	srand(7);
	for (int i = 0; i < 300; i++) {
		uint64_t lo = rand() % 1000, hi = lo + rand() % 200;

		if (range(&db[2], lo, hi, ctx, &count, &sum, &order) || order)
			bad++;
	}
	UNIT_CHECK(bad == 0, "range: 300 random ranges over a 2-layer "
			     "tree, batches in order");
}

/* A leaf with a bad type: lookups through it say "corrupt". */
static void test_corrupt(struct mem_db db[4], struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	struct mem_db c = db[2];
	uint64_t count, sum;
	int order;

	c.bytes = malloc(c.size);
	memcpy(c.bytes, db[2].bytes, c.size);
	((struct bpfkv_node *)(c.bytes + 3 * 512))->type = 7;
	UNIT_CHECK(get(&c, 70, ctx) == 0 && q->error,
		   "get: a leaf of type 7 is reported corrupt");
	UNIT_CHECK(get(&c, 20, ctx) == 0 && q->found && !q->error,
		   "get: other leaves still work");
	UNIT_CHECK(range(&c, 0, 100, ctx, &count, &sum, &order) == -3,
		   "range: the corrupt leaf ends the scan with error");
	/* a pointer without bit 63 */
	((struct bpfkv_node *)(c.bytes + 3 * 512))->type = 1;
	((struct bpfkv_node *)(c.bytes + 3 * 512))->ptr[0] = 12345;
	UNIT_CHECK(get(&c, 62, ctx) == 0 && q->error,
		   "get: a pointer without bit 63 is corrupt");
	free(c.bytes);
}

/* Random blocks: every step ends the lookup or asks for one 512-byte
 * block (the engines check where). */
static void test_random_blocks(struct bpf_xrp *ctx)
{
	uint64_t bad = 0;

	srand(11);
	for (int i = 0; i < 20000; i++) {
		xrp_fn_t fn = i & 1 ? entry_range : entry_get;

		memset(ctx, 0, sizeof(*ctx));
		((uint64_t *)ctx->scratch)[1] = rand() % 3 ? 1000 : 0;
		for (int b = 0; b < 4096; b++)
			ctx->data[b] = rand();
		if (rand() % 2)
			((struct bpfkv_node *)ctx->data)->type = rand() % 2;
		ctx->size[0] = 0;
		fn(ctx);
		if (!ctx->done && ctx->size[0] != 512)
			bad++;
	}
	UNIT_CHECK(bad == 0,
		   "20000 random blocks: every step ends or "
		   "asks for one block (%llu did not)",
		   (unsigned long long)bad);
}

int main(void)
{
	struct bpf_xrp *ctx = aligned_alloc(4096, 12288);
	struct mem_db db[4];

	for (unsigned int l = 1; l <= 3; l++)
		mem_db_build(&db[l], l);
	test_get(db, ctx);
	test_range(db, ctx);
	test_corrupt(db, ctx);
	test_random_blocks(ctx);
	for (unsigned int l = 1; l <= 3; l++)
		free(db[l].bytes);
	free(ctx);
	printf("1..%d\n", unit_number);
	return unit_done();
}
