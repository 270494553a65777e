#!/usr/bin/env bats
# syrup-steer daemon: policies that follow the application. A socket-layer
# rr policy is attached to a port of syrup-server (tests/syrup-server.c,
# --first-worker tells two servers' replies apart); the application then
# changes under it (more sockets join, the server restarts) and each time rr
# must spread over the new sockets within 1 s, with no command. Each wait
# prints how long it took (the join/restart-to-steer latency).

load helpers
bats_require_minimum_version 1.5.0

srv_start() { # OUTFILE ARGS...: a syrup-server in $NS, once it is ready
	local out=$1
	shift
	ip netns exec "${SNS:-$NS}" "$FP_BUILD/syrup-server" "$@" >"$out" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$out"
}

srv_pid() { sed -n 's/^ready .*pid=\([0-9]*\).*/\1/p' "$1"; }

srv_stop() { # OUTFILE...: end those servers, once they are gone
	local f pid
	for f in "$@"; do
		pid=$(srv_pid "$f")
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		fp_wait_for bash -c "! kill -0 $pid 2>/dev/null"
	done
}

daemon_start() {
	# from a subshell: no job of ours, so no "Killed" when a test kills it
	(
		syrup-steer daemon >"$T/daemon.log" 2>&1 3>&- &
		echo $! >"$T/daemon.pid"
	)
	fp_wait_for grep -q '^syrup-steer daemon: following' "$T/daemon.log"
}

daemon_stop() { # SIGNAL
	local pid
	pid=$(cat "$T/daemon.pid" 2>/dev/null) || return 0
	kill "-${1:-TERM}" "$pid" 2>/dev/null || true
	fp_wait_for bash -c "! kill -0 $pid 2>/dev/null"
	rm -f "$T/daemon.pid"
}

# spread PORT COUNT [ARGS...]: the workers of COUNT requests of one flow,
# sorted ("0 0 1 1" when rr alternates between workers 0 and 1). srv_start
# and spread act in $SNS when it is set, else in $NS.
spread() {
	local port=$1 count=$2
	shift 2
	ip netns exec "${SNS:-$NS}" "$FP_BUILD/syrup-client" --port "$port" -c "$count" \
		--timeout-ms 300 "$@" | sed -n 's/^order //p' | tr ' ' '\n' |
		sort -n | xargs
}

# within_1s START_NS WANT PORT COUNT [ARGS...]: wait until spread says WANT,
# at most 1 s after START_NS (date +%s%N); prints the time it took.
within_1s() {
	local start=$1 want=$2 got ms
	shift 2
	while :; do
		got=$(spread "$@")
		ms=$((($(date +%s%N) - start) / 1000000))
		[ "$got" = "$want" ] && break
		if [ "$ms" -ge 1000 ]; then
			echo "still '$got' after $ms ms, want '$want'"
			return 1
		fi
		sleep 0.02
	done
	echo "# steered in $ms ms" >&3
}

setup_file() {
	fp_mounts
	export NS=$(fp_name syd) NS2=$(fp_name sy2)
	local base=$((20000 + (RANDOM * 7 + $$) % 30000))
	export PU=$base PT=$((base + 1)) PK=$((base + 2)) PN=$((base + 3))
	export T=$BATS_FILE_TMPDIR
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip netns add "$NS2"
	ip -n "$NS2" link set lo up
	daemon_start
}

teardown_file() {
	local p
	daemon_stop TERM
	for p in "$PU" "$PT" "$PK" "$PN"; do
		syrup-steer detach --port "$p" --proto udp >/dev/null 2>&1 || true
		syrup-steer detach --port "$p" --proto tcp >/dev/null 2>&1 || true
		fp_syrup_rm "$p"
	done
	rmdir /sys/fs/bpf/syrup 2>/dev/null || true
	fp_netns_del "$NS" "$NS2"
}

teardown() {
	# each test ends its servers and detaches; this is for failed ones
	local p
	for p in "$PU" "$PT" "$PK"; do
		syrup-steer detach --port "$p" --proto udp >/dev/null 2>&1 || true
		syrup-steer detach --port "$p" --proto tcp >/dev/null 2>&1 || true
	done
	syrup-steer detach --netns "$NS" --port "$PN" >/dev/null 2>&1 || true
	syrup-steer detach --netns "$NS2" --port "$PN" >/dev/null 2>&1 || true
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns pids "$NS2" 2>/dev/null | xargs -r kill 2>/dev/null || true
	[ -f "$T/daemon.pid" ] || daemon_start
}

@test "daemon: usage errors exit 64, and a second daemon is refused" {
	run syrup-steer daemon --rescan 0
	assert_failure 64
	assert_output --partial "invalid --rescan '0'"
	run syrup-steer daemon extra
	assert_failure 64
	run syrup-steer daemon
	assert_failure 1
	assert_output "syrup-steer: another syrup-steer daemon runs (pid $(cat "$T/daemon.pid"))"
}

@test "UDP: two sockets joining a 2-socket group get datagrams within 1 s" {
	srv_start "$T/ua" --port "$PU" --workers 2
	run syrup-steer attach --netns "$NS" --port "$PU" --policy rr
	assert_success
	run spread "$PU" 8
	assert_output "0 0 0 0 1 1 1 1"
	local start
	start=$(date +%s%N)
	srv_start "$T/ub" --port "$PU" --workers 2 --first-worker 2
	within_1s "$start" "0 0 1 1 2 2 3 3" "$PU" 8
	run syrup-steer status
	assert_line --partial "udp/$PU: policy rr, socket layer, netns $NS, 4 executors"
	assert_line "  followed by syrup-steer daemon (pid $(cat "$T/daemon.pid"))"
	# one leaves: the others share its datagrams again
	srv_stop "$T/ub"
	start=$(date +%s%N)
	within_1s "$start" "0 0 0 0 1 1 1 1" "$PU" 8
	srv_stop "$T/ua"
	syrup-steer detach --port "$PU"
}

@test "UDP: after a server restart rr spreads again within 1 s" {
	srv_start "$T/ur" --port "$PU" --workers 2
	run syrup-steer attach --netns "$NS" --port "$PU" --policy rr
	assert_success
	local start
	start=$(date +%s%N)
	srv_stop "$T/ur"
	srv_start "$T/ur2" --port "$PU" --workers 3 --first-worker 4
	within_1s "$start" "4 4 5 5 6 6" "$PU" 6
	run syrup-steer status -j
	run jq -c '[.executors | length, ([.[].open] | all)], .followed, .stale' <<<"$output"
	assert_output $'[3,true]\ntrue\nfalse'
	srv_stop "$T/ur2"
	syrup-steer detach --port "$PU"
}

@test "one port in two netns: each followed on its own, a restart in one leaves the other" {
	srv_start "$T/na" --port "$PN" --workers 2
	SNS=$NS2 srv_start "$T/nb" --port "$PN" --workers 2 --first-worker 2
	run syrup-steer attach --netns "$NS" --port "$PN" --policy rr
	assert_success
	run syrup-steer attach --netns "$NS2" --port "$PN" --policy rr
	assert_success
	fp_wait_for grep -q "^udp/$PN: following (policy rr, netns $NS2)" "$T/daemon.log"
	local start
	start=$(date +%s%N)
	SNS=$NS2 srv_stop "$T/nb"
	SNS=$NS2 srv_start "$T/nc" --port "$PN" --workers 3 --first-worker 4
	SNS=$NS2 within_1s "$start" "4 4 5 5 6 6" "$PN" 6
	run spread "$PN" 4
	assert_output "0 0 1 1"
	syrup-steer detach --netns "$NS2" --port "$PN"
	# the port is still followed in the other netns
	start=$(date +%s%N)
	srv_start "$T/nd" --port "$PN" --workers 2 --first-worker 8
	within_1s "$start" "0 0 1 1 8 8 9 9" "$PN" 8
	srv_stop "$T/na" "$T/nd"
	SNS=$NS2 srv_stop "$T/nc"
	syrup-steer detach --netns "$NS" --port "$PN"
}

@test "TCP: joining sockets and a restarted server are steered within 1 s" {
	srv_start "$T/ta" --port "$PT" --workers 2 --proto tcp
	run syrup-steer attach --netns "$NS" --port "$PT" --proto tcp --policy rr
	assert_success
	local start
	start=$(date +%s%N)
	srv_start "$T/tb" --port "$PT" --workers 2 --proto tcp --first-worker 2
	within_1s "$start" "0 0 1 1 2 2 3 3" "$PT" 8 --proto tcp
	start=$(date +%s%N)
	srv_stop "$T/ta" "$T/tb"
	srv_start "$T/tc" --port "$PT" --workers 3 --proto tcp --first-worker 4
	within_1s "$start" "4 4 5 5 6 6" "$PT" 6 --proto tcp
	srv_stop "$T/tc"
	syrup-steer detach --port "$PT" --proto tcp
}

@test "the daemon killed keeps the policy; without it status says stale; a new daemon follows again" {
	srv_start "$T/ka" --port "$PK" --workers 2
	run syrup-steer attach --netns "$NS" --port "$PK" --policy rr
	assert_success
	daemon_stop KILL
	# the policy stays and steers
	run spread "$PK" 4
	assert_output "0 0 1 1"
	srv_start "$T/kb" --port "$PK" --workers 2 --first-worker 2
	run spread "$PK" 8
	assert_output "0 0 0 0 1 1 1 1"
	run syrup-steer status
	assert_line --partial "udp/$PK: policy rr, socket layer, netns $NS, 2 executors"
	assert_line --partial "stale executors: 2 sockets on the port are not executors"
	run syrup-steer status -j
	run jq -c '[.followed, .stale]' <<<"$output"
	assert_output "[false,true]"
	local start
	start=$(date +%s%N)
	daemon_start
	within_1s "$start" "0 0 1 1 2 2 3 3" "$PK" 8
	# and it follows restarts again
	start=$(date +%s%N)
	srv_stop "$T/ka" "$T/kb"
	srv_start "$T/kc" --port "$PK" --workers 2 --first-worker 6
	within_1s "$start" "6 6 7 7" "$PK" 4
	srv_stop "$T/kc"
	syrup-steer detach --port "$PK"
}

@test "SIGTERM ends the daemon cleanly: its programs go, the policies stay" {
	srv_start "$T/sa" --port "$PK" --workers 2
	run syrup-steer attach --netns "$NS" --port "$PK" --policy rr
	assert_success
	local pid
	pid=$(cat "$T/daemon.pid")
	daemon_stop TERM
	run tail -1 "$T/daemon.log"
	assert_output "syrup-steer daemon: exiting; the policies stay attached"
	if command -v bpftool >/dev/null; then
		run bpftool prog show name syrup_bind4
		refute_output --partial syrup_bind4
	fi
	run syrup-steer status
	assert_line --partial "udp/$PK: policy rr"
	refute_line --partial "followed by"
	run spread "$PK" 4
	assert_output "0 0 1 1"
	srv_stop "$T/sa"
	syrup-steer detach --port "$PK"
	daemon_start
	[ "$(cat "$T/daemon.pid")" != "$pid" ]
}
