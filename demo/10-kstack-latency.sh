#!/bin/bash
# demo: kstack-latency: where the time of a read goes, layer by layer
#
# A throw-away sandbox: a loop device with direct I/O over a 64 MiB file of
# random data. fio reads it with 4 KiB O_DIRECT random reads for a few
# seconds while kstack-latency traces the loop device; on Ctrl-C (here: a
# SIGINT from the script) it prints how each read's time split between the
# syscall, the block layer, the device and the completion path.
# Everything is removed on exit.
set -euo pipefail

work=$(mktemp -d /var/tmp/demo-kstack.XXXXXX)
loop=
tracer=
cleanup() {
	set +e
	[ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$work"
}
trap cleanup EXIT

dd if=/dev/urandom of="$work/disk.img" bs=1M count=64 status=none
loop=$(losetup --find --show --direct-io=on "$work/disk.img")
disk=${loop#/dev/}
echo "sandbox: $loop (direct I/O) over $work/disk.img"

echo "\$ kstack-latency -d $disk &"
kstack-latency -d "$disk" >"$work/table" 2>"$work/msg" &
tracer=$!
for _ in $(seq 200); do
	grep -q 'Hit Ctrl-C' "$work/msg" && break
	kill -0 "$tracer" 2>/dev/null || break
	sleep 0.1
done
cat "$work/msg"
grep -q 'Hit Ctrl-C' "$work/msg" || exit 1

echo "\$ fio --filename=$loop --rw=randread --bs=4k --direct=1 --ioengine=psync --runtime=3 ..."
fio --name=demo --filename="$loop" --rw=randread --bs=4k --direct=1 \
	--ioengine=psync --iodepth=1 --time_based --runtime=3 \
	--output-format=json >"$work/fio.json"
jq -r '.jobs[0].read | "fio: \(.total_ios) reads, \(.iops | floor) IOPS, median completion latency \(.clat_ns.percentile["50.000000"] / 1000) us"' \
	"$work/fio.json"

echo "\$ kill -INT %1   # Ctrl-C: kstack-latency prints its table"
kill -INT "$tracer"
wait "$tracer"
tracer=
cat "$work/table"
echo
echo "syscall: entry until the first bio is queued (syscall and file system);"
echo "block: bio queued until the request is issued to the driver;"
echo "device: issued until completed (here the loop driver and the disk under it);"
echo "completion: completed until the syscall returns."
