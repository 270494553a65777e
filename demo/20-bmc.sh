#!/bin/bash
# demo: BMC: memcached GETs answered from the kernel (bmc-attach, bmc-stat)
#
# A throw-away sandbox: memcached in one network namespace, a client in
# another, joined by a veth pair. BMC goes on memcached's veth, a steady GET
# load starts, and bmc-stat shows the hit rate climb as the cache fills from
# memcached's own replies. Everything is removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../bench/lib.sh"

id=$(printf '%05x' $(((RANDOM << 5 ^ RANDOM ^ $$) & 0xfffff)))
NS_S=demoS$id NS_C=demoC$id IF_S=mcd$id IF_C=cli$id
NET=10.$((200 + RANDOM % 50)).$((RANDOM % 250)) # only inside our namespaces
ADDR=$NET.1 PORT=11211
PIDFILE=$(mktemp -u /tmp/demo-bmc-memcached.XXXXXX)
LOAD_PID=

cleanup() {
	set +e
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
	bmc-attach --detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1
	[ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null
	rm -f "$PIDFILE"
	for ns in "$NS_S" "$NS_C"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "/sys/fs/bpf/bmc/$IF_S"
	rmdir /sys/fs/bpf/bmc 2>/dev/null
}
trap cleanup EXIT


mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
ip -n "$NS_S" addr add "$ADDR/24" dev "$IF_S"
ip -n "$NS_C" addr add "$NET.2/24" dev "$IF_C"
ip -n "$NS_S" link set "$IF_S" up
ip -n "$NS_C" link set "$IF_C" up
# The client's veth needs an XDP program for BMC's XDP_TX replies to arrive.
ip netns exec "$NS_C" xdp-pass "$IF_C"
ip netns exec "$NS_S" memcached -u nobody -U "$PORT" -p "$PORT" -l "$ADDR" \
	-t 1 -m 64 -d -P "$PIDFILE"
for _ in $(seq 50); do
	ip netns exec "$NS_C" mc-req -w 100 "$ADDR" "$PORT" version >/dev/null 2>&1 && break
	sleep 0.1
done
echo "sandbox: memcached -U $PORT on $ADDR ($IF_S in netns $NS_S), client in $NS_C"

fp_show bmc-attach "$IF_S" -P "$PORT" --cache-size 64M --netns "$NS_S"
fp_show bmc-attach -j --status

# BMC caches values whose expiry it saw being set (or, with --max-age, any).
echo
echo "# storing 10000 keys with 64-byte values through BMC..."
ip netns exec "$NS_C" mc-load -m set -k 10000 "$ADDR" "$PORT" >/dev/null

echo "# 8000 GETs/s, random keys: each miss fills the cache from memcached's reply"
ip netns exec "$NS_C" mc-load -d 7 -k 10000 -r 8000 -w 64 "$ADDR" "$PORT" \
	>/dev/null &
LOAD_PID=$!
fp_show bmc-stat -I "$IF_S" -i 1 -n 5
wait "$LOAD_PID" || true
LOAD_PID=

fp_show bmc-stat -I "$IF_S"
printf '\n# memcached itself served only the misses:\n'
ip netns exec "$NS_C" mc-req -t "$ADDR" "$PORT" stats | tr -d '\r' |
	awk '$2 == "cmd_get" || $2 == "get_hits" || $2 == "get_misses"'

fp_show bmc-attach --detach "$IF_S" --netns "$NS_S"
