// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup: XRP storage functions on a stock kernel.
 *
 * A storage function (include/xrp.h) walks an on-disk index one block at a
 * time. xrp-lookup runs it over BPF-KV databases with three engines:
 *   pread  one O_DIRECT pread per block, the baseline XRP measured against;
 *   uring  io_uring with many lookups in flight, the function runs on each
 *          completion and the next read is queued at once;
 *   kernel the function runs inside io_uring_enter, as an io_uring BPF ops
 *          program (Linux 7.1+): XRP's resubmission on a mainline kernel
 *          (engine-kernel.c);
 *   xrp    XRP's in-kernel resubmission, where the kernel has it.
 * `verify` puts the same function through the kernel's verifier.
 *
 * This file holds the command table; each command is a file of its own,
 * lookup.h says what the others hold.
 */
#include "lookup.h"

static const char doc[] =
	"Run XRP storage functions over BPF-KV B+-tree databases."
	"\v"
	"FUNC is a built-in (bpfkv-get, bpfkv-range) or a .c file written "
	"against <fastpath/xrp.h>.\n"
	"\n"
	"EXAMPLES:\n"
	"    xrp-lookup create --layers 4 /dev/loop0   # 923,521 keys, 71 MiB\n"
	"    xrp-lookup get /dev/loop0 0 923520 42     # three lookups\n"
	"    xrp-lookup range db.bin 100 120 --sum     # count and sum a "
	"range\n"
	"    xrp-lookup bench -e uring -q 32 db.bin    # 32 lookups in flight\n"
	"    xrp-lookup bench -e pread -t 32 -j db.bin # 32 threads, JSON\n"
	"    xrp-lookup bench -e kernel db.bin         # function in the "
	"kernel (7.1+)\n"
	"    xrp-lookup verify bpfkv-get               # kernel verifier "
	"says?\n"
	"    xrp-lookup get -f my_get.c db.bin 7       # your own function\n";

static const struct fp_command *const commands[] = {
	&create_cmd, &get_cmd, &range_cmd, &bench_cmd, &verify_cmd, NULL,
};

static const struct fp_tool tool = {
	.name = "xrp-lookup",
	.doc = doc,
	.children = json_children,
	.commands = commands,
};

int main(int argc, char **argv)
{
	return fp_tool_main(&tool, argc, argv);
}
