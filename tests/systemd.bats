#!/usr/bin/env bats
# The systemd units: what make install puts where, that systemd accepts
# them, and that their commands attach, replace and detach as the unit's
# start, reload and stop would (no systemd runs here: the commands are
# taken from the unit and run with its environment).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	fp_mounts
	IF_A=$(fp_name sda) IF_B=$(fp_name sdb) DEST=$(mktemp -d)
	export IF_A IF_B DEST
	ip link add "$IF_A" type veth peer name "$IF_B"
	ip link set "$IF_A" up
	ip link set "$IF_B" up
	# The unit as installed, but naming the binaries of this build.
	make -C "$FP_ROOT" --no-print-directory install BUILD="$FP_BUILD" \
		DESTDIR="$DEST" PREFIX=/usr SBINDIR="$FP_BUILD" >/dev/null
}

teardown_file() {
	# a syrup-steer daemon a failed test left running
	[ -f "$DEST/syrup.pid" ] && kill "$(cat "$DEST/syrup.pid")" 2>/dev/null
	bmc-attach --detach "$IF_A" >/dev/null 2>&1 || true
	ip link del "$IF_A" 2>/dev/null || true
	rm -rf "/sys/fs/bpf/bmc/$IF_A"
	rmdir /sys/fs/bpf/bmc 2>/dev/null || true
	rm -rf "${DEST:-}"
}

unit() { echo "$DEST/usr/lib/systemd/system/bmc-attach@.service"; }

# exec_line KEY IFACE: the unit's KEY= command for IFACE, with %i and
# $BMC_ATTACH_OPTS expanded as systemd would.
exec_line() {
	local line
	line=$(sed -n "s/^$1=//p" "$(unit)")
	line=${line//%i/$2}
	echo "${line//\$BMC_ATTACH_OPTS/$BMC_ATTACH_OPTS}"
}

@test "make install puts the unit and its defaults file in place" {
	[ -f "$(unit)" ]
	[ -f "$DEST/etc/default/fastpath-bmc" ]
	run grep -c "^ExecStart=$FP_BUILD/bmc-attach " "$(unit)"
	assert_output 1
}

@test "systemd-analyze verify accepts the unit" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	local d
	d=$(mktemp -d)
	cp "$(unit)" "$d/bmc-attach@$IF_A.service"
	run systemd-analyze verify --man=no "$d/bmc-attach@$IF_A.service"
	rm -rf "$d"
	assert_success
	refute_output
}

@test "start attaches with the defaults file's options, reload replaces, stop detaches" {
	# shellcheck disable=SC1091
	source "$DEST/etc/default/fastpath-bmc"
	BMC_ATTACH_OPTS="--cache-size 8M"
	run $(exec_line ExecStart "$IF_A")
	assert_success
	run bmc-attach --status -j
	assert_output --partial "\"iface\":\"$IF_A\""
	run $(exec_line ExecReload "$IF_A")
	assert_success
	run $(exec_line ExecStop "$IF_A")
	assert_success
	run bmc-attach --status
	refute_output --partial "$IF_A"
	# A stop of a unit whose BMC is already gone (a manual detach, a
	# reboot's empty bpffs) must succeed too.
	run $(exec_line ExecStop "$IF_A")
	assert_success
}

syrup_unit() { echo "$DEST/usr/lib/systemd/system/syrup-steer.service"; }

@test "syrup-steer.service is installed and systemd-analyze verify accepts it" {
	[ -f "$(syrup_unit)" ]
	run grep -c "^ExecStart=$FP_BUILD/syrup-steer daemon$" "$(syrup_unit)"
	assert_output 1
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	run systemd-analyze verify --man=no "$(syrup_unit)"
	assert_success
	refute_output
}

@test "syrup-steer.service's daemon runs in the foreground and ends on SIGTERM, as a stop does" {
	local log=$DEST/syrup.log pid cmd
	# the unit's ExecStart as systemd runs it (Type=simple: foreground)
	read -ra cmd <<<"$(sed -n 's/^ExecStart=//p' "$(syrup_unit)")"
	(
		"${cmd[@]}" >"$log" 2>&1 3>&- &
		echo $! >"$DEST/syrup.pid"
	)
	pid=$(cat "$DEST/syrup.pid")
	fp_wait_for grep -q '^syrup-steer daemon: following' "$log"
	kill -0 "$pid"
	kill -TERM "$pid"
	fp_wait_for bash -c "! kill -0 $pid 2>/dev/null"
	rm -f "$DEST/syrup.pid"
	run cat "$log"
	assert_line "syrup-steer daemon: exiting; the policies stay attached"
}
