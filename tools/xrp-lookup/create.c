// SPDX-License-Identifier: GPL-2.0
/* xrp-lookup create: a BPF-KV database, as BPF-KV's own loader writes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lookup.h"

struct create_opts {
	const char *file;
	uint64_t layers;
};

static void print_created(const char *file, unsigned int layers)
{
	uint64_t keys = db_keys(layers), nodes = db_nodes(layers);
	uint64_t size = db_bytes(layers);
	char hb[32];

	if (fp_opts.json) {
		struct fp_json j;

		fp_json_init(&j, stdout);
		fp_json_object_begin(&j);
		fp_json_kv_ts(&j, fp_wall_time());
		fp_json_kv_string(&j, "file", file);
		fp_json_kv_u64(&j, "layers", layers);
		fp_json_kv_u64(&j, "keys", keys);
		fp_json_kv_u64(&j, "nodes", nodes);
		fp_json_kv_u64(&j, "size_bytes", size);
		fp_json_object_end(&j);
		fp_json_newline(&j);
	} else {
		printf("created %s: %u layers, keys 0..%llu, %llu nodes, %s\n",
		       file, layers, (unsigned long long)(keys - 1),
		       (unsigned long long)nodes,
		       fp_human_bytes(hb, sizeof(hb), size));
	}
}

static int do_create(const void *opts)
{
	const struct create_opts *o = opts;
	unsigned int layers = (unsigned int)o->layers;
	uint64_t size = db_bytes(layers), have;
	char hb[32];
	bool blk;
	int fd, ret = 1;

	fd = open(o->file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fp_error("cannot create %s: %s", o->file,
				strerror(errno));
	if (db_dev_size(fd, o->file, &have, &blk))
		goto out;
	/* A file grows; a device must already hold it all. */
	if (blk && have < size) {
		fp_error("%s is too small: %llu bytes, a %u-layer database "
			 "needs %llu",
			 o->file, (unsigned long long)have, layers,
			 (unsigned long long)size);
		goto out;
	}
	if (layers >= 5)
		fp_warn("a %u-layer database holds %llu keys in %s; writing "
			"it takes a while",
			layers, (unsigned long long)db_keys(layers),
			fp_human_bytes(hb, sizeof(hb), size));
	if (db_write(fd, o->file, layers))
		goto out;
	if (!blk && ftruncate(fd, size)) {
		fp_error("cannot truncate %s: %s", o->file, strerror(errno));
		goto out;
	}
	if (fsync(fd)) {
		fp_error("cannot sync %s: %s", o->file, strerror(errno));
		goto out;
	}
	print_created(o->file, layers);
	ret = 0;
out:
	close(fd);
	return ret;
}

static const char doc[] =
	"Write a BPF-KV database: keys 0..31^L-1, each key's value its "
	"number, into a file or onto a block device."
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup create --layers 4 /dev/loop0   # 923,521 keys, 71 MiB\n"
	"    xrp-lookup create --layers 3 db.bin       # 29,791 keys, 2.3 "
	"MiB\n";

static const struct argp_option options[] = {
	{"layers", 'l', "L", 0, "Layers of the tree, 1-6 (required)", 0},
	{},
};

static error_t parse_create(int key, char *arg, struct argp_state *state)
{
	struct create_opts *o = state->input;

	switch (key) {
	case 'l':
		parse_u64_opt(state, "layer count", arg, 1, MAX_LAYERS,
			      &o->layers);
		return 0;
	case ARGP_KEY_ARG:
		parse_only_arg(state, arg, &o->file);
		return 0;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "no FILE given");
		if (!o->layers)
			argp_error(state, "create needs --layers L");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	options, parse_create, "FILE", doc, json_children, NULL, NULL,
};

const struct fp_command create_cmd = {
	.name = "create",
	.summary = "--layers L FILE      write a BPF-KV database (keys "
		   "0..31^L-1)",
	.argp = &argp,
	.opts_size = sizeof(struct create_opts),
	.run = do_create,
};
