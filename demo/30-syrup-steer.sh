#!/bin/bash
# demo: syrup-steer: your own scheduling policy for a port's requests
#
# A throw-away sandbox: a network namespace with a UDP server of 4 workers,
# one SO_REUSEPORT socket each (syrup-server replies with the worker that
# got the request). First the kernel's default hashing, then round robin, a
# size/class policy (sita) changed live, and a policy written in C. The
# server is never restarted or changed. Everything is removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../bench/lib.sh"

id=$(printf '%05x' $(((RANDOM << 5 ^ RANDOM ^ $$) & 0xfffff)))
NS=demoSy$id
PORT=$((20000 + RANDOM % 20000))
work=$(mktemp -d /tmp/demo-syrup.XXXXXX)
ROOT=$(cd "$(dirname "$0")/.." && pwd)

cleanup() {
	set +e
	syrup-steer detach --port "$PORT" >/dev/null 2>&1
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

send() { # what the client sees: the worker of each reply, in order
	echo "\$ syrup-client --port $PORT $*"
	ip netns exec "$NS" syrup-client --port "$PORT" "$@" | sed -n 's/^order/  workers:/p'
}

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" syrup-server --port "$PORT" --workers 4 >"$work/server" 2>&1 &
for _ in $(seq 50); do grep -q ready "$work/server" && break; sleep 0.1; done
echo "sandbox: netns $NS, syrup-server on udp/$PORT with 4 worker sockets"
echo

echo "# the kernel hashes each flow to one socket: one client, one worker"
send -c 8
echo
echo "# round robin, without touching the server"
fp_show syrup-steer attach --netns "$NS" --port "$PORT" --policy rr
send -c 8
fp_show syrup-steer stats --port "$PORT"
fp_show syrup-steer detach --port "$PORT"
echo
echo "# sita: SCAN requests (long ones) get their own socket, GETs share the rest"
fp_show syrup-steer attach --netns "$NS" --port "$PORT" --policy sita --param class=SCAN >/dev/null
send -c 8 --payload GET --payload GET --payload SCAN
echo "# ... and two sockets for SCANs, live"
fp_show syrup-steer set --port "$PORT" big=2
send -c 8 --payload GET --payload GET --payload SCAN
fp_show syrup-steer detach --port "$PORT"
echo
echo "# a policy in C: a request starting with digit N goes to worker N"
sed -n '/^__u32 schedule/,/^}/p' "$ROOT/examples/syrup/first-digit.c"
fp_show syrup-steer attach --netns "$NS" --port "$PORT" --policy "$ROOT/examples/syrup/first-digit.c" >/dev/null
send -c 6 --payload 3 --payload 1 --payload 7
echo "# digit 7: no worker 7, so the kernel chose and it was counted as a fallback"
fp_show syrup-steer stats --port "$PORT"
fp_show syrup-steer detach --port "$PORT"
