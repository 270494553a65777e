#!/bin/bash
# demo: XRP storage functions on a stock kernel (xrp-lookup)
#
# A throw-away sandbox: a 4-layer BPF-KV B+-tree (923,521 keys) on a loop
# device with direct I/O. Lookups and a range scan run the same storage
# function through pread and io_uring; the kernel's verifier passes the
# built-in functions and refuses a function with an out-of-bounds access;
# a short benchmark compares one read per syscall with io_uring batches.
# Everything is removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../bench/lib.sh"

DIR=$(mktemp -d /var/tmp/demo-xrp.XXXXXX)
LOOP=

cleanup() {
	set +e
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT


truncate -s 80M "$DIR/disk.img"
LOOP=$(losetup --find --show --direct-io=on "$DIR/disk.img")
echo "loop device $LOOP over $DIR/disk.img, direct I/O on"

fp_show xrp-lookup create --layers 4 "$LOOP"
fp_show xrp-lookup get --engine pread "$LOOP" 0 42 923520 923521 || true
fp_show xrp-lookup get --engine uring "$LOOP" 0 42 923520 923521 || true
fp_show xrp-lookup range "$LOOP" 29 34
fp_show xrp-lookup range --sum "$LOOP" 100 100000
fp_show xrp-lookup verify bpfkv-get
fp_show xrp-lookup verify bpfkv-range

cat >"$DIR/peek.c" <<'FN'
#include <fastpath/xrp.h>

/* Reads a byte wherever the disk says: the verifier will not have it. */
XRP_FUNCTION(peek)(struct bpf_xrp *ctx)
{
	struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	q->value[0] = ctx->data[node->key[1]];
	ctx->done = 1;
	return 0;
}
FN
fp_show xrp-lookup verify "$DIR/peek.c" || true
fp_show xrp-lookup get --engine xrp "$LOOP" 42 || true
fp_show xrp-lookup bench --engine pread --threads 32 --requests 20000 "$LOOP"
fp_show xrp-lookup bench --engine uring --inflight 32 --requests 20000 "$LOOP"
