#!/usr/bin/env bats
# BMC with values up to 1000 bytes, in native and generic XDP mode: hits
# whose reply does not fit the XDP frame (on 6.18's veth, past about 200
# bytes) are answered at TC ingress from a grown skb. As in bmc-memcached.bats,
# memcached's TCP port is the oracle: what BMC answers over UDP is what
# memcached would answer, byte for byte.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	fp_bmc_bed blg
	fp_memcached_start "$NS_S" "$S4" "$PORT" "$PIDFILE"
	bmc-attach attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S" \
		--mode native
}

teardown_file() {
	bmc-attach detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	fp_memcached_stop "$PIDFILE"
	fp_netns_del "$NS_S" "$NS_C"
	[ -n "${IF_S:-}" ] && rm -rf "/sys/fs/bpf/bmc/$IF_S"
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
	rm -f "${PIDFILE:-}"
}

udp_raw() { ip netns exec "$NS_C" mc-req "$S4" "$PORT" "$@"; }
udp6_raw() { ip netns exec "$NS_C" mc-req "$S6" "$PORT" "$@"; }
tcp_raw() { ip netns exec "$NS_C" mc-req -t "$S4" "$PORT" "$@"; }
bstat() { bmc-stat -I "$IF_S" -j | jq ".$1"; }

# value N: N printable bytes, different every time (no run of one byte
# would hide a copy at the wrong offset).
value() { head -c "$1" /dev/urandom | base64 -w0 | head -c "$1"; }

# store KEY N: a fresh N-byte value under KEY, through memcached.
store() {
	[ "$(tcp_raw "set $1 5 0 $2" "$(value "$2")" | tr -d '\r')" = STORED ]
}

# from_kernel VIA GET-ARGS: GET over UDP (VIA udp_raw or udp6_raw) until
# BMC answers it from the kernel (hits rise; about 5 s at most), then check
# that reply against memcached's over TCP, byte for byte. Where the XDP
# frame has no room for the reply (veth on 6.18, not on 6.1, where veth
# hands XDP a page) the answer comes from TC ingress.
from_kernel() {
	local via=$1 h0 want got
	shift
	want=$(tcp_raw "get $*" | od -An -tx1)
	for _ in $(seq 25); do
		h0=$(bstat hits)
		got=$("$via" "get $*" | od -An -tx1)
		[ "$(bstat hits)" -gt "$h0" ] && break
		sleep 0.2
	done
	[ "$(bstat hits)" -gt "$h0" ] || {
		echo "BMC never answered 'get $*' from the kernel" >&2
		return 1
	}
	[ "$got" = "$want" ] || {
		printf 'get %s: BMC (UDP) and memcached (TCP) differ\n' "$*" >&2
		return 1
	}
}

# xdp_has_room: does this kernel's veth give XDP room for a 1000-byte
# reply? (Then TC ingress never needs to answer.)
xdp_has_room() {
	local t0
	store room1 1000
	from_kernel udp_raw room1
	t0=$(bstat tc_hits)
	udp_raw "get room1" >/dev/null
	[ "$(bstat tc_hits)" -eq "$t0" ]
}

# never_from_kernel GET-ARGS: five GETs, none answered by BMC, all right.
never_from_kernel() {
	local h0 want
	want=$(tcp_raw "get $*" | od -An -tx1)
	h0=$(bstat hits)
	for _ in 1 2 3 4 5; do
		[ "$(udp_raw "get $*" | od -An -tx1)" = "$want" ] || return 1
	done
	[ "$(bstat hits)" -eq "$h0" ]
}

@test "values of 300, 600 and 1000 bytes: answered from the kernel, byte for byte" {
	local n
	for n in 300 600 1000; do
		store "lg$n" "$n"
		from_kernel udp_raw "lg$n"
	done
}

@test "where the XDP frame has no room, TC ingress answers; 64-byte values stay at XDP" {
	local t0
	if xdp_has_room; then
		skip "this kernel's veth gives XDP room for 1000-byte replies: all answered at XDP"
	fi
	store tc1 600
	from_kernel udp_raw tc1
	t0=$(bstat tc_hits)
	from_kernel udp_raw tc1
	[ "$(bstat tc_hits)" -eq $((t0 + 1)) ]
	store small1 64
	from_kernel udp_raw small1
	t0=$(bstat tc_hits)
	from_kernel udp_raw small1
	[ "$(bstat tc_hits)" -eq "$t0" ]
}

@test "a multi-get of large values: from the kernel, whole and in order" {
	store mlg1 400
	store mlg2 300
	store mlg3 250
	from_kernel udp_raw mlg1
	from_kernel udp_raw mlg2
	from_kernel udp_raw mlg3
	from_kernel udp_raw "mlg3 mlg1 mlg2"
}

@test "IPv6: a 1000-byte value from the kernel" {
	store lg6 1000
	from_kernel udp6_raw lg6
}

@test "a write invalidates a large value at once" {
	local want
	store lgw 800
	from_kernel udp_raw lgw
	store lgw 900
	want=$(tcp_raw "get lgw" | od -An -tx1)
	[ "$(udp_raw "get lgw" | od -An -tx1)" = "$want" ]
	from_kernel udp_raw lgw
	local used
	used=$(bstat cache_used_entries)
	tcp_raw "delete lgw" >/dev/null
	[ "$(udp_raw "get lgw" | tr -d '\r')" = END ]
	# the entry is free again
	[ "$(bstat cache_used_entries)" -eq $((used - 1)) ]
}

@test "the UDP checksum is right when the client does not offload it" {
	# With tx offload off the client's requests carry full checksums and
	# the replies arrive CHECKSUM_NONE: the client's kernel verifies them
	# and drops a wrong one (UdpInCsumErrors), so mc-req would time out.
	ip netns exec "$NS_C" ethtool -K "$IF_C" tx off >/dev/null
	ip netns exec "$NS_C" nstat -n
	store lgc 700
	from_kernel udp_raw lgc
	store lgc6 999
	from_kernel udp6_raw lgc6
	run ip netns exec "$NS_C" nstat -a UdpInCsumErrors Udp6InCsumErrors
	ip netns exec "$NS_C" ethtool -K "$IF_C" tx on >/dev/null
	refute_output --regexp 'InCsumErrors +[1-9]'
}

@test "values over 1000 bytes, and over --max-value, are memcached's" {
	store lgh 1200
	never_from_kernel lgh
	bmc-attach attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S" \
		--mode native --max-value 500 --replace --cold
	run bmc-attach status "$IF_S" -j
	run jq -e '.max_value_bytes == 500' <<<"$output"
	assert_success
	store lgm 600
	never_from_kernel lgm
	store lgm5 500
	from_kernel udp_raw lgm5
}

@test "generic XDP: large values from the kernel too" {
	bmc-attach attach "$IF_S" -P "$PORT" --cache-size 16M --netns "$NS_S" \
		--mode generic --replace --cold
	run bmc-attach status "$IF_S"
	assert_output --partial generic
	store glg 1000
	from_kernel udp_raw glg
	store glg2 300
	from_kernel udp_raw "glg2 glg"
}

@test "--max-value outside 1..1000 is a usage error" {
	run bmc-attach attach "$IF_S" --max-value 1001 --netns "$NS_S"
	assert_failure 64
	assert_output --partial "invalid max value '1001'"
	run bmc-attach attach "$IF_S" --max-value 0 --netns "$NS_S"
	assert_failure 64
}

@test "detach removes the TC ingress filter too" {
	run bmc-attach detach "$IF_S" --netns "$NS_S"
	assert_success
	run tc -n "$NS_S" filter show dev "$IF_S" ingress
	refute_output --partial bpf
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	refute_output --partial bpf
	run tc -n "$NS_S" qdisc show dev "$IF_S"
	refute_output --partial clsact
}
