#!/usr/bin/env bats
# bmc-attach's command line: attach, status, detach, replace, errors, the
# veth-peer warning, XDP mode fallback, namespaces. No memcached needed.

load helpers

setup_file() {
	fp_mounts
	NS_S=$(fp_name bas) NS_C=$(fp_name bac)
	IF_S=$(fp_name bs) IF_C=$(fp_name bc)
	VA=$(fp_name va) VB=$(fp_name vb) DUM=$(fp_name dm)
	NS_X=$(fp_name bax) NS_Y=$(fp_name bay) SAME=$(fp_name same)
	export NS_S NS_C IF_S IF_C VA VB DUM NS_X NS_Y SAME
	fp_veth_pair "$NS_S" "$NS_C" "$IF_S" "$IF_C" 10.78.0.1 10.78.0.2
	ip link add "$VA" type veth peer name "$VB"
	ip link set "$VA" up
	ip link set "$VB" up
	# bridge may be a module nothing loads on demand (the qemu matrix)
	modprobe -q bridge 2>/dev/null || true
	ip link add "$DUM" type bridge
	ip link set "$DUM" up
	ip netns add "$NS_X"
	ip netns add "$NS_Y"
	ip link add "$SAME" netns "$NS_X" type veth peer name "$SAME" netns "$NS_Y"
}

teardown_file() {
	bmc-attach --detach "$IF_S" --netns "$NS_S" >/dev/null 2>&1 || true
	bmc-attach --detach "$SAME" --netns "$NS_X" >/dev/null 2>&1 || true
	bmc-attach --detach "$VA" >/dev/null 2>&1 || true
	bmc-attach --detach "$DUM" >/dev/null 2>&1 || true
	for i in "$IF_S" "$VA" "$DUM" "$SAME"; do
		rm -rf "/sys/fs/bpf/bmc/$i"
	done
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
	ip link del "$VA" 2>/dev/null || true
	ip link del "$DUM" 2>/dev/null || true
	fp_netns_del "$NS_S" "$NS_C" "$NS_X" "$NS_Y"
}

pins() { echo "/sys/fs/bpf/bmc/$1"; }

@test "usage errors exit 64" {
	run bmc-attach
	assert_failure 64
	assert_output --partial "no interface given"
	run bmc-attach --status "$IF_S"
	assert_failure 64
	run bmc-attach "$IF_S" --mode turbo
	assert_failure 64
	assert_output --partial "invalid mode"
	run bmc-attach "$IF_S" -P 0
	assert_failure 64
	# the old -p: still the port, with a warning (units written before)
	run bmc-attach "$IF_S" -p 0
	assert_failure 64
	assert_output --partial "warning: -p is deprecated for the port: use -P or --port"
	run bmc-attach "$IF_S" --cache-size 12Q
	assert_failure 64
	run bmc-attach "$IF_S" --max-age -3
	assert_failure 64
	run bmc-attach --detach --status
	assert_failure 64
}

@test "unknown interface and namespace fail clearly" {
	run bmc-attach nosuchif0
	assert_failure 1
	assert_output --partial "no interface named nosuchif0"
	run bmc-attach "$IF_S" --netns nosuchns-$$
	assert_failure 1
	assert_output --partial "no network namespace named"
}

# kernel_before X.Y: is the running kernel older than Linux X.Y?
kernel_before() {
	local r=${FP_VM_KERNEL:-$(uname -r)} maj min
	maj=${r%%.*}
	min=${r#*.}
	min=${min%%[!0-9]*}
	[ "$maj" -lt "${1%%.*}" ] || { [ "$maj" -eq "${1%%.*}" ] && [ "$min" -lt "${1#*.}" ]; }
}

@test "kernel features are probed first: -v lists them, an old kernel is refused in one line" {
	if kernel_before 5.12; then
		run bmc-attach "$VA"
		assert_failure 1
		[ "${#lines[@]}" -eq 1 ]
		assert_output --regexp '^bmc-attach: BMC needs Linux 5\.12 or newer \(.+\); this kernel is '
		[ ! -e "$(pins "$VA")" ]
		run bmc-attach -v "$VA"
		assert_output --regexp 'fetch-and-add and compare-and-exchange \(5\.12\) \.+ no'
		return
	fi
	run bmc-attach -v "$VA"
	assert_success
	assert_output --partial "bmc-attach: kernel features:"
	assert_output --regexp 'BTF \(/sys/kernel/btf/vmlinux\) \.+ yes'
	assert_output --regexp 'fetch-and-add and compare-and-exchange \(5\.12\) \.+ yes'
	# bpf_xdp_load/store_bytes (5.18) may be missing: BMC then does without
	refute_output --regexp '\(5\.(5|9|11|12)\) \.+ no'
	if kernel_before 5.18; then
		assert_output --regexp 'bpf_xdp_load/store_bytes \(5\.18\) \.+ no'
		assert_output --partial "BMC reads and writes packets directly"
	else
		assert_output --regexp 'bpf_xdp_load/store_bytes \(5\.18\) \.+ yes'
	fi
	bmc-attach --detach "$VA"
}

@test "attach pins stats/config/links, 0700, XDP and TC egress in place" {
	run bmc-attach "$IF_S" --netns "$NS_S" --cache-size 8M -P 11311
	assert_success
	assert_output --partial "BMC attached to $IF_S (native XDP, port 11311"
	# the peer lives in another namespace: found through its name
	assert_output --partial "peer $IF_C in namespace $NS_C has no XDP program"
	for p in stats config xdp_link tc_prog restart_link udp_bind4_link \
		udp_bind6_link udp_release_link; do
		[ -e "$(pins "$IF_S")/$p" ]
	done
	[ "$(stat -c %a "$(pins "$IF_S")")" = 700 ]
	run ip -n "$NS_S" link show "$IF_S"
	assert_output --partial "xdp"
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	assert_output --partial "bmc_tx"
}

@test "status lists it, in text and JSON" {
	run bmc-attach --status
	assert_success
	assert_output --partial "IFACE"
	assert_output --regexp "$IF_S +native +11311 +8.0MiB"
	run bmc-attach --status -j
	assert_success
	line=$(echo "$output" | grep "\"iface\":\"$IF_S\"")
	[ "$(echo "$line" | jq -r .port)" = 11311 ]
	[ "$(echo "$line" | jq -r .mode)" = native ]
	[ "$(echo "$line" | jq -r .state)" = attached ]
	[ "$(echo "$line" | jq -r .cache_entries)" -gt 0 ]
}

@test "attaching twice fails unless --replace" {
	run bmc-attach "$IF_S" --netns "$NS_S"
	assert_failure 1
	assert_output --partial "already attached to $IF_S"
	assert_output --partial "--replace"
	run bmc-attach "$IF_S" --netns "$NS_S" --replace --cache-size 4M
	assert_success
	run bmc-attach --status -j
	[ "$(echo "$output" | grep "\"iface\":\"$IF_S\"" | jq -r .cache_size_bytes)" = 4194304 ]
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	[ "$(echo "$output" | grep -c bmc_tx)" = 1 ]
}

@test "detach leaves no XDP program, no TC filter, no pin" {
	local xid tid
	xid=$(ip -n "$NS_S" -j -d link show "$IF_S" | jq -r '.[0].xdp.prog.id')
	tid=$(tc -n "$NS_S" -j filter show dev "$IF_S" egress |
		jq -r '[.[] | select(.options.prog.name? == "bmc_tx")][0].options.prog.id')
	[ -n "$xid" ] && [ "$xid" != null ]
	[ -n "$tid" ] && [ "$tid" != null ]
	local cids="" l cid
	for l in udp_bind4_link udp_bind6_link udp_release_link; do
		cid=$(bpftool -j link show pinned "$(pins "$IF_S")/$l" | jq -r .prog_id)
		[ -n "$cid" ] && [ "$cid" != null ]
		cids="$cids $cid"
	done
	run bmc-attach --detach "$IF_S" --netns "$NS_S"
	assert_success
	assert_output --partial "detached from $IF_S"
	[ ! -e "$(pins "$IF_S")" ]
	run ip -n "$NS_S" link show "$IF_S"
	refute_output --partial "xdp"
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	refute_output --partial "bmc"
	# the programs are gone from the kernel, not just unlinked (freeing
	# an unpinned link is deferred by the kernel: allow it a moment)
	fp_wait_for bash -c "! bpftool prog show id $xid" || true
	run bpftool prog show id "$xid"
	assert_failure
	run bpftool prog show id "$tid"
	assert_failure
	# nor the cgroup programs that watch a UDP-only memcached
	for cid in $cids; do
		fp_wait_for bash -c "! bpftool prog show id $cid" || true
		run bpftool prog show id "$cid"
		assert_failure
	done
}

@test "detach when nothing is attached says so, and succeeds (idempotent)" {
	run bmc-attach --detach "$IF_S" --netns "$NS_S"
	assert_success
	assert_output "bmc-attach: BMC is not attached to $IF_S: nothing to detach"
	run bmc-attach --detach "$IF_S" --netns "$NS_S" -j
	assert_success
	assert_output --regexp "^\{\"ts\":[0-9.]+,\"detached\":\"$IF_S\",\"was_attached\":false\}$"
}

@test "veth whose peer has no XDP program: warning" {
	run bmc-attach "$VA"
	assert_success
	assert_output --partial "peer $VB has no XDP program"
	bmc-attach --detach "$VA"
	[ -x "$FP_BUILD/xdp-pass" ] || skip "xdp-pass not built"
	"$FP_BUILD/xdp-pass" "$VB"
	run bmc-attach "$VA"
	assert_success
	refute_output --partial "no XDP program"
	bmc-attach --detach "$VA"
	"$FP_BUILD/xdp-pass" -d "$VB"
}

@test "another XDP program on the interface: clear failure, nothing left" {
	[ -x "$FP_BUILD/xdp-pass" ] || skip "xdp-pass not built"
	"$FP_BUILD/xdp-pass" "$VA"
	run bmc-attach "$VA"
	assert_failure 1
	assert_output --partial "another XDP program is already attached"
	[ ! -e "$(pins "$VA")" ]
	run tc filter show dev "$VA" egress
	refute_output --partial "bmc"
	"$FP_BUILD/xdp-pass" -d "$VA"
}

@test "native mode falls back to generic only under --mode auto" {
	run bmc-attach "$DUM" --mode native
	if [ "$status" -eq 0 ]; then
		bmc-attach --detach "$DUM"
		skip "bridges do native XDP on this kernel"
	fi
	assert_failure 1
	assert_output --partial "native mode"
	[ ! -e "$(pins "$DUM")" ]
	run bmc-attach "$DUM"
	assert_success
	assert_output --partial "using generic mode"
	run bmc-attach --status -j
	[ "$(echo "$output" | grep "\"iface\":\"$DUM\"" | jq -r .mode)" = generic ]
	run bmc-attach --detach "$DUM"
	assert_success
	run ip link show "$DUM"
	refute_output --partial "xdp"
}

@test "--mode generic is honoured" {
	run bmc-attach "$DUM" --mode generic
	assert_success
	assert_output --partial "generic XDP"
	run ip link show "$DUM"
	assert_output --partial "xdpgeneric"
	bmc-attach --detach "$DUM"
}

@test "same interface name in two namespaces: the second is refused" {
	run bmc-attach "$SAME" --netns "$NS_X"
	assert_success
	run bmc-attach "$SAME" --netns "$NS_Y"
	assert_failure 1
	assert_output --partial "another network namespace"
	run bmc-attach "$SAME" --netns "$NS_Y" --replace
	assert_failure 1
	run bmc-attach --detach "$SAME" --netns "$NS_Y"
	assert_failure 1
	assert_output --partial "--netns"
	run bmc-attach --detach "$SAME" --netns "$NS_X" -j
	assert_success
	[ "$(echo "$output" | jq -r .detached)" = "$SAME" ]
	run ip -n "$NS_X" link show "$SAME"
	refute_output --partial "xdp"
}

@test "pins left by a deleted namespace: status says stale, detach cleans" {
	local ns ifn
	ns=$(fp_name baz)
	ifn=$(fp_name gone)
	ip netns add "$ns"
	ip link add "$ifn" netns "$ns" type bridge
	bmc-attach "$ifn" --netns "$ns" --mode generic
	ip netns del "$ns"
	run bmc-attach --status -j
	[ "$(echo "$output" | grep "\"iface\":\"$ifn\"" | jq -r .state)" = stale ]
	run bmc-attach --detach "$ifn"
	assert_success
	assert_output --partial "namespace is gone"
	[ ! -e "$(pins "$ifn")" ]
}

@test "commands: usage errors exit 64; help and --help list the commands" {
	run bmc-attach attach
	assert_failure 64
	assert_output --partial "no interface given (e.g. bmc-attach attach eth0)"
	run bmc-attach detach
	assert_failure 64
	run bmc-attach status "$IF_S" "$VA"
	assert_failure 64
	assert_output --partial "one interface at a time"
	# each command takes its own options, not the others'
	run bmc-attach status --netns "$NS_S"
	assert_failure 64
	run bmc-attach detach "$IF_S" --cache-size 8M
	assert_failure 64
	run bmc-attach attach "$IF_S" --status
	assert_failure 64
	run bmc-attach attach "$IF_S" --mode turbo
	assert_failure 64
	assert_output --partial "invalid mode"
	run bmc-attach help
	assert_success
	assert_output --partial "COMMANDS:"
	assert_output --regexp "attach +load BMC"
	assert_output --regexp "status +list where"
	run bmc-attach --help
	assert_success
	assert_output --partial "COMMANDS:"
	assert_output --partial "--detach"
	run bmc-attach help status
	assert_success
	assert_output --partial "Usage: bmc-attach status [OPTION...] [IFACE]"
	run bmc-attach detach --help
	assert_success
	assert_output --partial "--netns"
	refute_output --partial "--cache-size"
}

@test "commands: attach IFACE, status [IFACE], detach IFACE" {
	run bmc-attach attach "$IF_S" --netns "$NS_S" --cache-size 4M -P 11411
	assert_success
	assert_output --partial "BMC attached to $IF_S (native XDP, port 11411"
	[ -e "$(pins "$IF_S")/xdp_link" ]
	run bmc-attach status
	assert_success
	assert_output --regexp "$IF_S +native +11411 +4.0MiB"
	run bmc-attach status "$IF_S" -j
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .iface <<<"$output")" = "$IF_S" ]
	[ "$(jq -r .state <<<"$output")" = attached ]
	[ "$(jq -r .port <<<"$output")" = 11411 ]
	# -j (and -v) may also come before the command
	run bmc-attach -j status "$IF_S"
	assert_success
	[ "$(jq -r .cache_size_bytes <<<"$output")" = 4194304 ]
	run bmc-attach status "$VA"
	assert_success
	assert_output "bmc-attach: BMC is not attached to $VA"
	run bmc-attach status "$VA" -j
	assert_success
	assert_output ""
	run bmc-attach attach "$IF_S" --netns "$NS_S"
	assert_failure 1
	assert_output --partial "already attached to $IF_S"
	run bmc-attach attach "$IF_S" --netns "$NS_S" --replace --cache-size 8M
	assert_success
	run bmc-attach detach "$IF_S" --netns "$NS_S"
	assert_success
	assert_output "bmc-attach: BMC detached from $IF_S"
	[ ! -e "$(pins "$IF_S")" ]
	run ip -n "$NS_S" link show "$IF_S"
	refute_output --partial "xdp"
	run tc -n "$NS_S" filter show dev "$IF_S" egress
	refute_output --partial "bmc"
	run bmc-attach detach "$IF_S" --netns "$NS_S" -j
	assert_success
	assert_output --regexp "^\{\"ts\":[0-9.]+,\"detached\":\"$IF_S\",\"was_attached\":false\}$"
}

@test "old forms and commands act on the same pins" {
	run bmc-attach "$DUM" --mode generic
	assert_success
	run bmc-attach status "$DUM" -j
	[ "$(jq -r .mode <<<"$output")" = generic ]
	[ "$(jq -r .state <<<"$output")" = attached ]
	run bmc-attach detach "$DUM"
	assert_success
	assert_output "bmc-attach: BMC detached from $DUM"
	run bmc-attach attach "$DUM" --mode generic
	assert_success
	run bmc-attach --status
	assert_output --regexp "$DUM +generic"
	run bmc-attach --detach "$DUM"
	assert_success
	assert_output "bmc-attach: BMC detached from $DUM"
	[ ! -e "$(pins "$DUM")" ]
	run ip link show "$DUM"
	refute_output --partial "xdp"
}
