#!/usr/bin/env bats
# bmc-stat on its own: it reads only the maps pinned under
# /sys/fs/bpf/bmc/IFACE/, so these tests pin look-alike maps with bpftool
# (no BPF program, no memcached) and check what bmc-stat makes of them.
# bmc-memcached.bats checks it against a real BMC.

load helpers
bats_require_minimum_version 1.5.0

PIN_ROOT=/sys/fs/bpf/bmc

# le64 N: N as 8 little-endian bytes, the way bpftool wants them.
le64() {
	local v=$1 i out=""
	for i in 0 1 2 3 4 5 6 7; do
		out+="$(((v >> (8 * i)) & 0xff)) "
	done
	printf '%s' "$out"
}

# pin_stats IFACE VALUE_SIZE TYPE: an empty stats map pinned for IFACE.
pin_stats() {
	mkdir -p "$PIN_ROOT" "$PIN_ROOT/$1"
	chmod 0700 "$PIN_ROOT" "$PIN_ROOT/$1"
	bpftool map create "$PIN_ROOT/$1/stats" type "${3:-percpu_array}" \
		key 4 value "$2" entries 1 name stats
}

# set_stats IFACE C1 C2 ...: counters in bmc.h order, the same on every CPU.
set_stats() {
	local ifc=$1 bytes="" v size
	shift
	for v in "$@"; do bytes+="$(le64 "$v")"; done
	size=$(bpftool -j map show pinned "$PIN_ROOT/$ifc/stats" | jq .bytes_value)
	while [ $((${#bytes} > 0 ? $(wc -w <<<"$bytes") : 0)) -lt "$size" ]; do
		bytes+="0 "
	done
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN_ROOT/$ifc/stats" key 0 0 0 0 value $bytes
}

setup_file() {
	fp_mounts
	# bmc-stat sums every possible CPU; bpftool writes the value to each.
	NCPU=$(($(sed 's/.*[-,]//' /sys/devices/system/cpu/possible) + 1))
	IF_A=$(fp_name fbsa)
	IF_B=$(fp_name fbsb)
	IF_SMALL=$(fp_name fbss)
	IF_BIG=$(fp_name fbsg)
	IF_TYPE=$(fp_name fbst)
	IF_DET=$(fp_name fbsd) # made and removed by the tests themselves
	IF_REP=$(fp_name fbsr)
	export NCPU IF_A IF_B IF_SMALL IF_BIG IF_TYPE IF_DET IF_REP

	pin_stats "$IF_A" 80
	set_stats "$IF_A" 100 95 5 5 1 2 3 4 5 6
	# A config map as bmc-attach writes it (struct bmc_config, 40 bytes):
	# ifindex 7, port 11211, mode 1, cache 64 MiB, 65536 entries,
	# max_age 0, netns 0, attached at 1700000000.
	bpftool map create "$PIN_ROOT/$IF_A/config" type array key 4 value 40 \
		entries 1 name config
	# shellcheck disable=SC2046
	bpftool map update pinned "$PIN_ROOT/$IF_A/config" key 0 0 0 0 value \
		7 0 0 0 0xcb 0x2b 1 0 $(le64 67108864) $(le64 65536) \
		0 0 0 0 0 0 0 0 $(le64 1700000000)

	pin_stats "$IF_B" 80
	set_stats "$IF_B" 10 0 10 10 0 0 7 0 0 0

	pin_stats "$IF_SMALL" 16
	# A newer bmc-attach with more counters: bmc-stat reads the ones it
	# knows (the 11th is tc_hits, the 12th claims, the 13th is unknown).
	pin_stats "$IF_BIG" 104
	set_stats "$IF_BIG" 50 40 10 10 0 0 0 0 0 0 30 999 77
	pin_stats "$IF_TYPE" 80 array
}

teardown_file() {
	local ifc
	for ifc in "$IF_A" "$IF_B" "$IF_SMALL" "$IF_BIG" "$IF_TYPE" "$IF_DET" \
		"$IF_REP" "$IF_SMALL-z"; do
		[ -n "$ifc" ] && rm -rf "${PIN_ROOT:?}/$ifc"
	done
	rmdir "$PIN_ROOT" 2>/dev/null || true
}

@test "totals since attach: one line, per-CPU copies summed" {
	run bmc-stat -I "$IF_A"
	assert_success
	assert_line --index 0 --regexp '^IFACE +GETS +HITS +TC +MISSES +HIT% +FILLS +INVAL +EVICT +PASSES$'
	assert_line --index 1 --regexp "^$IF_A +$((100 * NCPU)) +$((95 * NCPU)) +0 +$((5 * NCPU)) +95\.0 +$((5 * NCPU)) +$NCPU +$((2 * NCPU)) +$((3 * NCPU))\$"
	[ "${#lines[@]}" -eq 2 ]
}

@test "without -I: one line for every attached interface" {
	# The broken look-alikes are reported and skipped (exit 1), the good
	# ones are still shown.
	run --separate-stderr bmc-stat
	assert_failure 1
	assert_line --regexp "^$IF_A +$((100 * NCPU)) "
	assert_line --regexp "^$IF_B +$((10 * NCPU)) +0 +0 +$((10 * NCPU)) +0\.0 "
	[[ "$stderr" == *"$IF_SMALL/stats holds 16-byte counters"* ]]
	[[ "$stderr" == *"$IF_TYPE/stats is not a BMC stats map"* ]]
}

@test "-j: JSON Lines with every counter, hit rate as a ratio, the window in seconds" {
	run bmc-stat -I "$IF_A" -j
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	run jq -e --arg ifc "$IF_A" --argjson n "$NCPU" '
		.iface == $ifc and (.ts | type) == "number" and
		.gets == 100 * $n and .hits == 95 * $n and .misses == 5 * $n and
		.hit_rate == 0.95 and .fills == 5 * $n and
		(.interval_s | type) == "number" and
		.invalidations == $n and .evictions == 2 * $n and
		.passes == 3 * $n and .flushes == 4 * $n and
		.stale_fills == 5 * $n and .expired == 6 * $n and
		.port == 11211 and .cache_entries == 65536' <<<"$output"
	assert_success
}

@test "TC hits are counted apart; an older attach's shorter counters read as 0" {
	run bmc-stat -I "$IF_BIG"
	assert_success
	assert_line --index 1 --regexp "^$IF_BIG +$((50 * NCPU)) +$((40 * NCPU)) +$((30 * NCPU)) +$((10 * NCPU)) +80\.0 "
	run bmc-stat -I "$IF_BIG" -j
	run jq -e --argjson n "$NCPU" '.hits == 40 * $n and .tc_hits == 30 * $n' <<<"$output"
	assert_success
}

@test "entries in use: claims minus invalidations, in JSON and for Prometheus" {
	set_stats "$IF_BIG" 50 40 10 10 4 0 0 0 0 0 30 9 77
	run bmc-stat -I "$IF_BIG" -j
	run jq -e --argjson n "$NCPU" '.claims == 9 * $n and .cache_used_entries == 5 * $n' <<<"$output"
	assert_success
	run bmc-stat -I "$IF_BIG" --prometheus
	assert_line "bmc_cache_used_entries{iface=\"$IF_BIG\"} $((5 * NCPU))"
	set_stats "$IF_BIG" 50 40 10 10 0 0 0 0 0 0 30 999
	# IF_A's map is the 80-byte layout from before tc_hits
	run bmc-stat -I "$IF_A" -j
	run jq -e '.tc_hits == 0' <<<"$output"
	assert_success
}

@test "-j: no gets gives a null hit rate, not a division by zero" {
	pin_stats "$IF_SMALL-z" 80
	run bmc-stat -I "$IF_SMALL-z" -j
	rm -rf "${PIN_ROOT:?}/$IF_SMALL-z"
	assert_success
	local line=$output
	run jq -e '.gets == 0 and .hit_rate == null and .port == null' <<<"$line"
	assert_success
	# the same keys as a line with everything known: none go missing
	run jq -c 'keys' <<<"$line"
	assert_output "$(bmc-stat -I "$IF_A" -j | jq -c keys)"
}

@test "-i/-n: one line per interval, deltas not totals" {
	run bmc-stat -I "$IF_A" -i 0.2 -n 3
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 1 --regexp "^$IF_A +0 +0 +0 +0 +- +0 +0 +0 +0\$"
	assert_line --index 3 --regexp "^$IF_A +0 +0 +0 +0 +- "
}

@test "-i: counters that grow during the run show up in the deltas" {
	out="$BATS_FILE_TMPDIR/deltas"
	bmc-stat -I "$IF_B" -i 0.5 -n 4 -j >"$out" &
	pid=$!
	sleep 0.7
	set_stats "$IF_B" 30 15 15 10 0 0 7 0 0 0
	wait "$pid"
	run jq -s --argjson n "$NCPU" -e '
		length == 4 and
		(map(.gets) | add) == 20 * $n and (map(.hits) | add) == 15 * $n and
		(map(.misses) | add) == 5 * $n and (map(.fills) | add) == 0 and
		all(.interval_s > 0)' "$out"
	assert_success
}

@test "-i: a detach during the live view ends it with a clear error" {
	ifc=$IF_DET
	pin_stats "$ifc" 80
	bmc-stat -I "$ifc" -i 0.3 -n 20 >"$BATS_FILE_TMPDIR/detach" 2>&1 &
	pid=$!
	sleep 0.8
	rm -rf "${PIN_ROOT:?}/$ifc"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 1
	run cat "$BATS_FILE_TMPDIR/detach"
	assert_line --regexp "^$ifc +0 +0 "
	assert_line "bmc-stat: BMC was detached from $ifc"
}

@test "-i: a re-attach (new maps) during the live view is followed" {
	ifc=$IF_REP
	out=$BATS_FILE_TMPDIR/replace
	pin_stats "$ifc" 80
	set_stats "$ifc" 1000 900 100 100 0 0 0 0 0 0
	bmc-stat -I "$ifc" -i 0.4 -j >"$out" &
	pid=$!
	# Event by event, not by the clock (bpftool takes seconds under qemu):
	# the first report comes from the old maps...
	for _ in $(seq 300); do [ -s "$out" ] && break; sleep 0.1; done
	[ -s "$out" ]
	# ...then what --replace does: new maps pinned in place of the old ones.
	rm -f "$PIN_ROOT/$ifc/stats"
	bpftool map create "$PIN_ROOT/$ifc/stats" type percpu_array key 4 \
		value 80 entries 1 name stats
	set_stats "$ifc" 10 7 3 3 0 0 0 0 0 0
	for _ in $(seq 300); do
		jq -s -e --argjson n "$NCPU" '(map(.gets) | add) >= 10 * $n' "$out" >/dev/null && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	rm -rf "${PIN_ROOT:?}/$ifc"
	# The new counters, counted from zero, show up once; nothing negative.
	run jq -s --argjson n "$NCPU" -e '
		length >= 2 and (map(.gets) | add) == 10 * $n and
		(map(.hits) | add) == 7 * $n and
		([.[] | .gets, .hits | select(. < 0)] | length) == 0' "$out"
	assert_success
}

@test "-T prefixes each line with the time" {
	run bmc-stat -I "$IF_A" -T
	assert_success
	assert_line --index 0 --regexp '^TIME +IFACE +GETS'
	assert_line --index 1 --regexp "^[0-9]{2}:[0-9]{2}:[0-9]{2} +$IF_A +"
}

@test "--prometheus: HELP, TYPE and one sample per interface" {
	run bmc-stat --prometheus -I "$IF_A"
	assert_success
	assert_line '# HELP bmc_hits_total Get requests answered from the kernel cache.'
	assert_line '# TYPE bmc_hits_total counter'
	assert_line "bmc_hits_total{iface=\"$IF_A\"} $((95 * NCPU))"
	assert_line "bmc_gets_total{iface=\"$IF_A\"} $((100 * NCPU))"
	assert_line "bmc_evictions_total{iface=\"$IF_A\"} $((2 * NCPU))"
	assert_line '# TYPE bmc_cache_entries gauge'
	assert_line "bmc_cache_entries{iface=\"$IF_A\"} 65536"
	assert_line 'bmc_up 1'
	assert_line --regexp "^bmc_info\{iface=\"$IF_A\",port=\"[0-9]+\",mode=\"[a-z]+\"\} 1$"
	# Every sample line is "name{labels} value" (bmc_up has no labels).
	run grep -Ev '^(# (HELP|TYPE) bmc_[a-z_]+ .+|bmc_[a-z_]+\{iface="[^"]+"(,[a-z]+="[^"]*")*\} [0-9]+|bmc_up [01])$' <<<"$output"
	assert_failure
}

@test "--prometheus passes promtool check metrics" {
	bmc-stat --prometheus -I "$IF_A" >"$BATS_TEST_TMPDIR/bmc.prom"
	run "$FP_ROOT/tests/promtool" check metrics <"$BATS_TEST_TMPDIR/bmc.prom"
	assert_success
	bmc-stat --prometheus -I "$(fp_name nobmc)" >"$BATS_TEST_TMPDIR/down.prom"
	run "$FP_ROOT/tests/promtool" check metrics <"$BATS_TEST_TMPDIR/down.prom"
	assert_success
}

@test "--prometheus without BMC prints bmc_up 0 and exits 0, so a textfile is never stale" {
	run --separate-stderr bmc-stat --prometheus -I "$(fp_name nobmc)"
	assert_success
	assert_output $'# HELP bmc_up Whether BMC is attached and its counters were read (1) or not (0).\n# TYPE bmc_up gauge\nbmc_up 0'
	[ -z "$stderr" ]
}

@test "--prometheus without -I lists every interface under one HELP" {
	run --separate-stderr bmc-stat --prometheus
	assert_failure 1 # the broken look-alikes
	assert_line "bmc_misses_total{iface=\"$IF_BIG\"} $((10 * NCPU))"
	assert_line "bmc_misses_total{iface=\"$IF_A\"} $((5 * NCPU))"
	[ "$(grep -c '^# HELP bmc_misses_total ' <<<"$output")" -eq 1 ]
}

@test "a newer, larger stats struct is read (forward compatible)" {
	run bmc-stat -I "$IF_BIG" -j
	assert_success
	run jq -e --argjson n "$NCPU" '.gets == 50 * $n and .hits == 40 * $n and .expired == 0' <<<"$output"
	assert_success
}

@test "a stats struct smaller than bmc-stat's is refused clearly" {
	run bmc-stat -I "$IF_SMALL"
	assert_failure 1
	assert_output --partial "holds 16-byte counters, expected at least 80"
	assert_output --partial "re-attach"
}

@test "a map of the wrong type is refused" {
	run bmc-stat -I "$IF_TYPE"
	assert_failure 1
	assert_output --partial "is not a BMC stats map"
}

@test "an interface without BMC: 'BMC is not attached to IFACE', exit 1" {
	run bmc-stat -I "$(fp_name nobmc)"
	assert_failure 1
	assert_output --regexp '^bmc-stat: BMC is not attached to nobmc[0-9a-f]{5} \(attach it with'
}

@test "no BMC anywhere: 'BMC is not attached', exit 1, JSON error with -j" {
	# A private, empty bpffs: what a machine without BMC looks like.
	run unshare -m sh -c "mount -t bpf bpf /sys/fs/bpf && bmc-stat"
	assert_failure 1
	assert_output --partial "bmc-stat: BMC is not attached"
	run unshare -m sh -c "mount -t bpf bpf /sys/fs/bpf && bmc-stat -j 2>/dev/null"
	assert_failure 1
	run jq -e '.error | startswith("BMC is not attached")' <<<"$output"
	assert_success
}

@test "bad options exit 64" {
	local bad
	for bad in "-x" "-i 0" "-i abc" "-n 0" "extra" "-j --prometheus" "-I a/b" "-I"; do
		# shellcheck disable=SC2086
		run bmc-stat $bad
		[ "$status" -eq 64 ] || { echo "'bmc-stat $bad' exited $status"; false; }
	done
}

@test "--help names every option; -V prints the version" {
	run bmc-stat --help
	assert_success
	for o in --interface --interval --count --json --timestamp --prometheus --verbose; do
		assert_output --partial -- "$o"
	done
	run bmc-stat -V
	assert_success
	assert_output --regexp "^bmc-stat .*[0-9]+\\.[0-9]+\\.[0-9]+"
}

@test "SIGTERM ends the live view with one final line" {
	run timeout -s TERM 0.6 bmc-stat -I "$IF_A" -i 5
	assert_equal "$status" 124 # timeout's own status: it had to signal
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --regexp "^$IF_A +0 +0 +0 +0 +- "
}
