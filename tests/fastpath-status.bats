#!/usr/bin/env bats
# fastpath-status: BMC and syrup-steer policies attached in two network
# namespaces ($NS_A, $NS_B joined by a veth), a socket-layer policy in
# each kind of place, an XDP-layer one with its dispatcher, stale ones
# (a deleted namespace, a dead process), a nameless namespace, a broken
# pin directory, and --detach-all.
#
# Everything runs against a private bpffs in a mount namespace of its own
# ($MNTNS, through `fpx`): --detach-all removes everything fastpath pinned,
# and must never see, let alone remove, what other test runs on this host
# have attached. Unmounting it in teardown_file drops whatever is left.

load helpers

fpx() { nsenter --mount="$MNTNS" "$@"; }

status_() { fpx "$FP_BUILD/fastpath-status" "$@"; }

srv_start() { # NS OUTFILE ARGS...: a syrup-server, once it is ready
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$FP_BUILD/syrup-server" "$@" >"$out" 2>&1 3>&- &
	fp_wait_for grep -q '^ready' "$out"
}

srv_pid() { sed -n 's/^ready .*pid=\([0-9]*\).*/\1/p' "$1"; }

# The JSON object of one entry: json KIND NAME
json() {
	status_ -j | jq -c --arg k "$1" --arg n "$2" 'select(.kind == $k and .name == $n)'
}

setup_file() {
	fp_mounts
	export T=$BATS_FILE_TMPDIR
	NS_A=$(fp_name fsa) NS_B=$(fp_name fsb) NS_G=$(fp_name fsg)
	NS_U=$(fp_name fsu)
	IF_A=$(fp_name fva) IF_B=$(fp_name fvb) BR_B=$(fp_name fbb)
	BR_G=$(fp_name fbg) BR_U=$(fp_name fbu) BR_A=$(fp_name fba)
	export NS_A NS_B NS_G NS_U IF_A IF_B BR_B BR_G BR_U BR_A
	local base=$((20000 + (RANDOM * 7 + $$) % 30000))
	export PA=$base PB=$((base + 1)) PG=$((base + 2)) PD=$((base + 3))

	# a mount namespace with its own bpffs (see the top of this file);
	# slave propagation lets /run/netns changes reach it
	mkdir -p "$T/mnt"
	mount --bind "$T/mnt" "$T/mnt"
	mount --make-private "$T/mnt"
	touch "$T/mnt/ns"
	export MNTNS=$T/mnt/ns
	unshare --mount="$MNTNS" --propagation slave \
		mount -t bpf bpf /sys/fs/bpf

	fp_veth_pair "$NS_A" "$NS_B" "$IF_A" "$IF_B" 10.81.0.1 10.81.0.2
	ip -n "$NS_B" link add "$BR_B" type bridge
	ip -n "$NS_B" link set "$BR_B" up
	ip netns add "$NS_G"
	ip -n "$NS_G" link set lo up
	ip -n "$NS_G" link add "$BR_G" type bridge
	ip -n "$NS_G" link set "$BR_G" up
	ip netns add "$NS_U"
	ip -n "$NS_U" link add "$BR_U" type bridge
	ip -n "$NS_U" link set "$BR_U" up

	srv_start "$NS_A" "$T/sa" --port "$PA" --workers 2
	srv_start "$NS_A" "$T/sd" --port "$PD" --workers 2
	srv_start "$NS_G" "$T/sg" --port "$PG" --workers 2

	# BMC in both namespaces (native on the veth, generic on a bridge)
	fpx bmc-attach "$IF_A" --netns "$NS_A" --cache-size 1M
	fpx bmc-attach "$BR_B" --netns "$NS_B" --mode generic --cache-size 1M
	# syrup: sockets in $NS_A, CPUs on $IF_B in $NS_B (a dispatcher)
	fpx syrup-steer attach --netns "$NS_A" --port "$PA" --policy rr
	fpx syrup-steer attach --netns "$NS_B" --port "$PB" --proto tcp \
		--layer xdp --interface "$IF_B" --cpus 0 --policy hash

	# a BPF object that names its tool and version (bpf_metadata)
	cat >"$T/meta.bpf.c" <<-'EOF'
		#include <linux/bpf.h>
		#include <bpf/bpf_helpers.h>
		volatile const char bpf_metadata_tool[] SEC(".rodata") = "fp-meta-test";
		volatile const char bpf_metadata_version[] SEC(".rodata") = "9.8.7";
		SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
		char LICENSE[] SEC("license") = "GPL";
	EOF
	"${CLANG:-clang}" -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" \
		-c "$T/meta.bpf.c" -o "$T/meta.bpf.o"
}

teardown_file() {
	local f
	for f in "$T"/s?; do
		[ -f "$f" ] && kill "$(srv_pid "$f")" 2>/dev/null
	done
	[ -f "$T/sleeper" ] && kill "$(cat "$T/sleeper")" 2>/dev/null
	# dropping the private bpffs releases every pin (links detach)
	umount "$MNTNS" 2>/dev/null
	umount "$T/mnt" 2>/dev/null
	fp_netns_del "$NS_A" "$NS_B" "$NS_G" "$NS_U"
	true
}

xdp_prog_id() { # NS IFACE
	ip -n "$1" -j -d link show "$2" | jq -r '.[0].xdp.prog.id // empty'
}

@test "usage errors exit 64" {
	run status_ extra
	assert_failure 64
	assert_output --partial "unexpected argument 'extra'"
	run status_ --pins --detach-all
	assert_failure 64
	run status_ --pins -j
	assert_failure 64
	run status_ --interval 1
	assert_failure 64
}

@test "lists BMC and syrup in both namespaces, by name, with program IDs" {
	run status_
	assert_success
	assert_line --index 0 --regexp '^KIND +NAME +NETNS +PROG +TOOL +VERSION +STATE$'
	local a b d
	a=$(xdp_prog_id "$NS_A" "$IF_A")
	b=$(xdp_prog_id "$NS_B" "$BR_B")
	d=$(xdp_prog_id "$NS_B" "$IF_B")
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$d" ]
	assert_line --regexp "^bmc +$IF_A +$NS_A +$a +[^ ]+ +[^ ]+ +attached$"
	assert_line --regexp "^bmc +$BR_B +$NS_B +$b +[^ ]+ +[^ ]+ +attached$"
	assert_line --regexp "^syrup +udp/$PA +$NS_A +[0-9]+ +[^ ]+ +[^ ]+ +attached$"
	assert_line --regexp "^syrup +tcp/$PB +$NS_B +[0-9]+ +[^ ]+ +[^ ]+ +attached$"
	assert_line --regexp "^dispatcher +$IF_B +$NS_B +$d +[^ ]+ +[^ ]+ +attached$"
	# the policy's program is the one the pin holds
	local p
	p=$(fpx bpftool -j prog show pinned "$(fp_syrup_dir "$NS_A" udp "$PA")/prog" | jq -r .id)
	assert_line --regexp "^syrup +udp/$PA +$NS_A +$p "
	# a row fits 80 columns
	local l
	for l in "${lines[@]}"; do
		[ "${#l}" -le 80 ] || fail "too wide: '$l'"
	done
}

@test "-j: one object per attachment, every object with the same keys and ts" {
	run status_ -j
	assert_success
	[ "${#lines[@]}" -eq 5 ] || fail "want 5 objects: $output"
	# the same key set on every line
	run fpx bash -c "$FP_BUILD/fastpath-status -j | jq -c 'keys' | sort -u | wc -l"
	assert_output 1
	run fpx bash -c "$FP_BUILD/fastpath-status -j | jq -e 'select((.ts | type) != \"number\")'"
	assert_output ""
	local o
	o=$(json bmc "$IF_A")
	[ "$(jq -r .netns <<<"$o")" = "$NS_A" ]
	[ "$(jq -r .netns_ino <<<"$o")" = "$(stat -L -c %i "/run/netns/$NS_A")" ]
	[ "$(jq -r .prog_id <<<"$o")" = "$(xdp_prog_id "$NS_A" "$IF_A")" ]
	[ "$(jq -r .xdp_mode <<<"$o")" = native ]
	[ "$(jq -r .port <<<"$o")" = 11211 ]
	[ "$(jq -r '.prog_ids | length' <<<"$o")" -ge 5 ] # XDP, TC, tracepoint, cgroup
	[ "$(jq -r .pins <<<"$o")" = "/sys/fs/bpf/bmc/$IF_A" ]
	[ "$(jq -r .reason <<<"$o")" = null ]
	o=$(json bmc "$BR_B")
	[ "$(jq -r .xdp_mode <<<"$o")" = generic ]
	[ "$(jq -r .netns <<<"$o")" = "$NS_B" ]
	o=$(json syrup "udp/$PA")
	[ "$(jq -r '[.policy, .layer, .proto, .port, .netns] | join(" ")' <<<"$o")" = "rr socket udp $PA $NS_A" ]
	o=$(json syrup "tcp/$PB")
	[ "$(jq -r '[.policy, .layer, .iface, .netns] | join(" ")' <<<"$o")" = "hash xdp $IF_B $NS_B" ]
	o=$(json dispatcher "$IF_B")
	[ "$(jq -r '.ports | join(",")' <<<"$o")" = "tcp/$PB" ]
	[ "$(jq -r .netns <<<"$o")" = "$NS_B" ]
}

@test "--pins lists every pinned object, with the IDs bpftool sees" {
	run status_ --pins
	assert_success
	local dir=/sys/fs/bpf/bmc/$IF_A id
	assert_line "  $dir/"
	id=$(fpx bpftool -j map show pinned "$dir/config" | jq -r .id)
	assert_line --regexp "^    config +map +$id bmc_config array$"
	id=$(fpx bpftool -j prog show pinned "$dir/tc_prog" | jq -r .id)
	assert_line --regexp "^    tc_prog +prog +$id bmc_tx sched_cls$"
	id=$(fpx bpftool -j link show pinned "$dir/xdp_link" | jq -r .id)
	assert_line --regexp "^    xdp_link +link +$id xdp, prog $(xdp_prog_id "$NS_A" "$IF_A")$"
	# every file under the pin directories is listed
	local n
	n=$(fpx find /sys/fs/bpf/bmc /sys/fs/bpf/syrup -mindepth 2 | wc -l)
	[ "$(grep -c '^    ' <<<"$output")" -eq "$n" ]
}

@test "tool and version come from the program's bpf_metadata, else '-'" {
	local dir=/sys/fs/bpf/bmc/fpmeta$$
	fpx mkdir -p "$dir"
	fpx bpftool prog load "$T/meta.bpf.o" "$dir/tc_prog"
	run json bmc "fpmeta$$"
	assert_success
	[ "$(jq -r '[.tool, .version] | join(" ")' <<<"$output")" = "fp-meta-test 9.8.7" ]
	# no config map: a broken directory, said so
	[ "$(jq -r .state <<<"$output")" = broken ]
	[[ "$(jq -r .reason <<<"$output")" == "cannot read its config map"* ]]
	run status_
	assert_line --regexp "^bmc +fpmeta$$ +- +[0-9]+ +fp-meta-test +9.8.7 +broken$"
	assert_line "  cannot read its config map: No such file or directory"
	fpx rm -rf "$dir"
	# fastpath's own objects: their metadata, or '-' before they carry it
	run json bmc "$IF_A"
	local tool
	tool=$(jq -r .tool <<<"$output")
	[ "$tool" = null ] || [ "$tool" = bmc-attach ] || fail "tool '$tool'"
	[ "$tool" = null ] || [ "$(jq -r .version <<<"$output")" = "$(cat "$FP_ROOT/VERSION")" ]
}

@test "stale: a namespace deleted under BMC and a policy, a dead process" {
	fpx bmc-attach "$BR_G" --netns "$NS_G" --mode generic --cache-size 1M
	fpx syrup-steer attach --netns "$NS_G" --port "$PG" --policy rr
	fpx syrup-steer attach --netns "$NS_A" --port "$PD" --policy hash
	local ino pid
	ino=$(stat -L -c %i "/run/netns/$NS_G")
	run json bmc "$BR_G"
	[ "$(jq -r .state <<<"$output")" = attached ]
	# the namespace goes, and everything in it
	kill "$(srv_pid "$T/sg")"
	fp_netns_del "$NS_G"
	run json bmc "$BR_G"
	[ "$(jq -r '[.state, .reason, .netns, .netns_ino] | join("|")' <<<"$output")" = "stale|network namespace $ino is gone||$ino" ]
	run json syrup "udp/$PG"
	[ "$(jq -r '[.state, .reason] | join("|")' <<<"$output")" = "stale|network namespace $ino is gone" ]
	# the server goes, its namespace stays
	pid=$(srv_pid "$T/sd")
	kill "$pid"
	fp_wait_for bash -c "! kill -0 $pid"
	run json syrup "udp/$PD"
	[ "$(jq -r '[.state, .reason] | join("|")' <<<"$output")" = "stale|all 2 sockets are closed (process $pid is gone)" ]
	run status_
	assert_line --regexp "^bmc +$BR_G +$ino +[0-9]+ .* stale$"
	assert_line "  network namespace $ino is gone"
	assert_line --regexp "^syrup +udp/$PD +$NS_A .* stale$"
	# the others are untouched
	assert_line --regexp "^bmc +$IF_A +$NS_A .* attached$"
}

@test "stale: the interface under BMC is gone, its namespace stays" {
	ip -n "$NS_A" link add "$BR_A" type bridge
	ip -n "$NS_A" link set "$BR_A" up
	fpx bmc-attach "$BR_A" --netns "$NS_A" --mode generic --cache-size 1M
	local idx
	idx=$(ip -n "$NS_A" -j link show "$BR_A" | jq -r '.[0].ifindex')
	ip -n "$NS_A" link del "$BR_A"
	run json bmc "$BR_A"
	[ "$(jq -r '[.state, .reason, .netns] | join("|")' <<<"$output")" = "stale|interface $BR_A (ifindex $idx) is gone|$NS_A" ]
}

@test "a namespace with no name any more is shown by inode and still alive" {
	fpx bmc-attach "$BR_U" --netns "$NS_U" --mode generic --cache-size 1M
	local ino
	ino=$(stat -L -c %i "/run/netns/$NS_U")
	# a process keeps it alive after its name is gone
	ip netns exec "$NS_U" sleep 600 3>&- &
	echo $! >"$T/sleeper"
	fp_wait_for bash -c "[ \"\$(stat -L -c %i /proc/$!/ns/net)\" = $ino ]"
	ip netns del "$NS_U"
	run json bmc "$BR_U"
	[ "$(jq -r '[.state, .netns, .netns_ino] | join("|")' <<<"$output")" = "attached||$ino" ]
	run status_
	assert_line --regexp "^bmc +$BR_U +$ino +[0-9]+ .* attached$"
}

@test "without privileges: one line saying what is missing, exit 1" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$FP_BUILD/fastpath-status"
	assert_failure 1
	assert_output --partial "fastpath-status: need root or CAP_BPF"
}

@test "a detach that fails is reported, the rest still goes, exit 1" {
	# a copy with no bmc-attach or syrup-steer beside it
	mkdir -p "$T/alone"
	cp "$FP_BUILD/fastpath-status" "$T/alone/"
	fpx bmc-attach "$BR_B" --netns "$NS_B" --mode generic --cache-size 1M --replace
	fpx mkdir -p /sys/fs/bpf/bmc/fpstray
	run fpx "$T/alone/fastpath-status" --detach-all -j
	assert_failure 1
	local o
	o=$(grep "\"name\":\"$BR_B\"" <<<"$output" | jq -c 'select(.kind == "bmc")')
	[ "$(jq -r .removed <<<"$o")" = false ]
	[[ "$(jq -r .error <<<"$o")" == "cannot run $T/alone/bmc-attach: No such file or directory" ]]
	# pins nobody's tool owns are removed all the same
	o=$(grep '"name":"fpstray"' <<<"$output")
	[ "$(jq -r '[.removed, .how] | join(" ")' <<<"$o")" = "true unpinned /sys/fs/bpf/bmc/fpstray" ]
	run json bmc "$BR_B"
	[ "$(jq -r .state <<<"$output")" = attached ]
	run fpx "$T/alone/fastpath-status" --detach-all
	assert_failure 1
	assert_output --partial "fastpath-status: cannot remove bmc $BR_B (netns $NS_B): cannot run"
}

@test "--detach-all removes everything, one line per object, and leaves nothing behind" {
	# a broken directory and a stray file, as a crashed attach leaves them
	fpx mkdir -p /sys/fs/bpf/syrup/udp-9 /sys/fs/bpf/bmc/fpbroken
	fpx bpftool map create /sys/fs/bpf/bmc/fpbroken/stats type array key 4 value 8 entries 1 name stats
	local want ids x
	want=$(status_ -j | jq -r '"\(.kind) \(.name)"' | sort)
	ids=$(status_ -j | jq -r '.prog_ids[]')
	[ "$(wc -l <<<"$want")" -ge 10 ] || fail "expected at least 10 objects: $want"
	local tc_a
	tc_a=$(tc -n "$NS_A" filter show dev "$IF_A" egress)
	[[ "$tc_a" == *bmc_tx* ]]

	run status_ --detach-all -j
	assert_success
	# one object per entry, all with the same keys, all removed
	[ "$(jq -r '"\(.kind) \(.name)"' <<<"$output" | sort)" = "$want" ]
	[ "$(jq -c keys <<<"$output" | sort -u | wc -l)" -eq 1 ]
	[ "$(jq -r 'select(.removed != true or .error != null)' <<<"$output")" = "" ]
	[ "$(jq -r 'select(.kind == "bmc" and .name == env.IF_A) | .how' <<<"$output")" = "bmc-attach --detach $IF_A --netns $NS_A" ]
	[ "$(jq -r 'select(.kind == "syrup" and .name == "udp/\(env.PA)") | .how' <<<"$output")" = "syrup-steer detach --port $PA --proto udp --netns $NS_A" ]
	[[ "$(jq -r 'select(.kind == "bmc" and .name == env.BR_U) | .how' <<<"$output")" == *"(inside netns "* ]]

	# nothing left: pins, XDP, TC, programs
	run fpx find /sys/fs/bpf -mindepth 1 -not -name '*.debug'
	assert_output ""
	[ -z "$(xdp_prog_id "$NS_A" "$IF_A")" ]
	[ -z "$(xdp_prog_id "$NS_B" "$IF_B")" ]
	[ -z "$(xdp_prog_id "$NS_B" "$BR_B")" ]
	run tc -n "$NS_A" filter show dev "$IF_A" egress
	refute_output --partial bmc
	for x in $ids; do
		fp_wait_for bash -c "! bpftool prog show id $x" || fail "program $x is still loaded"
	done

	run status_
	assert_success
	assert_output --partial "fastpath has nothing attached on this host"
	run status_ -j
	assert_success
	assert_output ""
	run status_ --detach-all
	assert_success
	assert_output "nothing to remove: fastpath has nothing attached on this host"
}

@test "--detach-all in text: what went, and how" {
	fpx bmc-attach "$IF_A" --netns "$NS_A" --cache-size 1M
	run status_ --detach-all
	assert_success
	assert_output "removed bmc $IF_A (netns $NS_A, attached): bmc-attach --detach $IF_A --netns $NS_A"
	[ -z "$(xdp_prog_id "$NS_A" "$IF_A")" ]
}
