# Shared BATS helpers. Each .bats file: `load helpers` at the top.
#
# Tests need root and change the machine. Every object a test file creates
# gets a unique name from fp_name, and the file's teardown_file removes it,
# also after a failure.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# From this file, not the test: tests/vm/*.bats load it too.
FP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FP_BUILD="${FP_BUILD:-$FP_ROOT/build}"
export FP_ROOT FP_BUILD
export PATH="$FP_BUILD:$PATH"

# fp_name PREFIX: a short name unique to this run (interface names must stay
# under 16 bytes): PREFIX + 5 hex digits.
fp_name() {
	printf '%s%05x' "$1" $(((RANDOM << 5 ^ RANDOM ^ $$) & 0xfffff))
}

# Mount bpffs and tracefs when missing, as the tools themselves do.
fp_mounts() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
}

# fp_loop_create FILE SIZE_MB: a loop device with direct I/O over a fresh
# file; prints the device path.
fp_loop_create() {
	local file=$1 size_mb=$2
	truncate -s "${size_mb}M" "$file"
	losetup --find --show --direct-io=on "$file"
}

fp_loop_destroy() {
	[ -n "${1:-}" ] && losetup -d "$1" 2>/dev/null || true
}

# fp_veth_pair NS_A NS_B IF_A IF_B ADDR_A ADDR_B: two namespaces joined by a
# veth, each end up with an IPv4 /24 address. IPv6 addresses fd00::a/b are
# added too (nodad so they are usable at once).
fp_veth_pair() {
	local nsa=$1 nsb=$2 ifa=$3 ifb=$4 addra=$5 addrb=$6
	ip netns add "$nsa"
	ip netns add "$nsb"
	ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb"
	ip -n "$nsa" addr add "$addra/24" dev "$ifa"
	ip -n "$nsb" addr add "$addrb/24" dev "$ifb"
	ip -n "$nsa" -6 addr add fd00::a/64 dev "$ifa" nodad
	ip -n "$nsb" -6 addr add fd00::b/64 dev "$ifb" nodad
	ip -n "$nsa" link set lo up
	ip -n "$nsb" link set lo up
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
}

fp_netns_del() {
	local ns
	for ns in "$@"; do
		[ -n "$ns" ] || continue
		# Kill what still runs inside before the namespace goes.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

# fp_wait_for CMD...: retry CMD for up to 5 s (FP_WAIT_SECS: longer, for a
# server that starts slowly on a loaded machine).
fp_wait_for() {
	for _ in $(seq $((${FP_WAIT_SECS:-5} * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# fp_memcached_start NS ADDR PORT PIDFILE [ARG...]: memcached on every
# address of NS, TCP and UDP on PORT, ARGs appended; returns once it answers
# `version` on ADDR over both (a loaded machine, the matrix's VMs, can take
# seconds).
fp_memcached_start() {
	local ns=$1 addr=$2 port=$3 pidfile=$4
	shift 4
	ip netns exec "$ns" memcached -u nobody -U "$port" -p "$port" -t 1 \
		-m 64 -d -P "$pidfile" "$@"
	FP_WAIT_SECS=20 fp_wait_for ip netns exec "$ns" mc-req -t "$addr" "$port" version &&
		FP_WAIT_SECS=20 fp_wait_for ip netns exec "$ns" mc-req "$addr" "$port" version
}

# fp_bmc_bed PREFIX: the BMC suites' test bed, or skip without bmc-attach or
# memcached: namespaces NS_S (memcached's) and NS_C (the clients'), joined
# by veth IF_S/IF_C with S4/C4 (and fd00::a/b, S6), xdp-pass on the
# client's veth (XDP_TX replies reach it only then), PORT 11211 and a
# PIDFILE name for memcached; all exported. Names start with PREFIX.
fp_bmc_bed() {
	command -v bmc-attach >/dev/null || skip "bmc-attach is not built"
	command -v memcached >/dev/null || skip "memcached is not installed"
	fp_mounts
	NS_S=$(fp_name "${1}s")
	NS_C=$(fp_name "${1}c")
	IF_S=$(fp_name "${1:0:2}s")
	IF_C=$(fp_name "${1:0:2}c")
	local net=10.$((200 + RANDOM % 50)).$((RANDOM % 250))
	S4=$net.1
	C4=$net.2
	S6=fd00::a
	PORT=11211
	PIDFILE=$(mktemp -u "/tmp/fp-$1.XXXXXX")
	export NS_S NS_C IF_S IF_C S4 C4 S6 PORT PIDFILE
	fp_veth_pair "$NS_S" "$NS_C" "$IF_S" "$IF_C" "$S4" "$C4"
	ip netns exec "$NS_C" xdp-pass "$IF_C"
}

# fp_memcached_stop PIDFILE: until it is gone (a new one could not bind the
# port before), then the pid file.
fp_memcached_stop() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$1"
}

# syrup-steer's pin dir of PROTO/PORT attached in netns NS: the host's
# netns has PROTO-PORT, any other PROTO-PORT-nsINODE (bpf/syrup-steer.h).
fp_syrup_dir() { # NS PROTO PORT
	echo "/sys/fs/bpf/syrup/$2-$3-ns$(stat -L -c %i "/run/netns/$1")"
}

# Removes the pin dirs of each PORT, in every netns: teardowns' last word.
fp_syrup_rm() { # PORT...
	local p
	for p; do
		rm -rf /sys/fs/bpf/syrup/{udp,tcp}-"$p" /sys/fs/bpf/syrup/{udp,tcp}-"$p"-ns*
	done
}
