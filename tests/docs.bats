#!/usr/bin/env bats
# Help text, man page and completion must agree for every tool, and the
# command line must follow the toolkit's exit-status conventions.

load helpers
bats_require_minimum_version 1.5.0

# Every tool: tools/NAME.c, or a directory tools/NAME/ with a main.c.
tools() {
	local t
	for t in "$FP_ROOT"/tools/*.c "$FP_ROOT"/tools/*/main.c; do
		[ -e "$t" ] || continue
		case $t in
		*/main.c) basename "$(dirname "$t")" ;;
		*) basename "$t" .c ;;
		esac
	done
}

# Long options a tool's --help lists, e.g. --interval.
long_options() {
	"$FP_BUILD/$1" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u |
		grep -vxE -- '--(help|usage|version)'
}

@test "every tool has a man page, a completion and a README section" {
	local t missing=""
	for t in $(tools); do
		[ -f "$FP_ROOT/man/$t.8" ] || missing="$missing $t:man"
		[ -f "$FP_ROOT/completions/$t" ] || missing="$missing $t:completion"
		[ -f "$FP_ROOT/completions/zsh/_$t" ] || missing="$missing $t:zsh-completion"
		# A section of its own, not only a mention in the overview table.
		grep -qx -- "## $t" "$FP_ROOT/README.md" || missing="$missing $t:readme"
	done
	[ -z "$missing" ] || fail "missing:$missing"
}

@test "--help exits 0 and shows usage and examples" {
	local t
	for t in $(tools); do
		run "$FP_BUILD/$t" --help
		[ "$status" -eq 0 ] || fail "$t --help exited $status"
		[[ "$output" == *"Usage:"* ]] || fail "$t --help has no usage line"
		[[ "$output" == *"EXAMPLES"* ]] || fail "$t --help has no examples"
	done
}

@test "-h is an alias of --help; -V prints the version, the commit and libbpf's version" {
	local t
	for t in $(tools); do
		run "$FP_BUILD/$t" -h
		[ "$status" -eq 0 ] && [[ "$output" == *"Usage:"* ]] || fail "$t -h"
		run "$FP_BUILD/$t" -V
		[ "$status" -eq 0 ] && [ "${lines[0]}" = "$t (fastpath) $(cat "$FP_ROOT/VERSION")" ] &&
			[[ "${lines[1]}" == "commit "* ]] && [[ "${lines[2]}" == "libbpf v"* ]] ||
			fail "$t -V printed '$output'"
	done
}

@test "an unknown option exits 64 with a usage hint" {
	local t
	for t in $(tools); do
		run "$FP_BUILD/$t" --no-such-option
		[ "$status" -eq 64 ] || fail "$t exited $status"
		[[ "$output" == *"Usage:"* || "$output" == *"--help"* ]] ||
			fail "$t: no usage hint in '$output'"
	done
}

@test "every long option in --help is in the man page and the completion" {
	local t o man missing=""
	for t in $(tools); do
		# roff writes a literal minus as \-; compare the plain text.
		man=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$FP_ROOT/man/$t.8")
		for o in $(long_options "$t"); do
			grep -qE -- "$o([^a-z0-9-]|\$)" <<<"$man" ||
				missing="$missing $t:man:$o"
			grep -qF -- "$o" "$FP_ROOT/completions/$t" ||
				missing="$missing $t:completion:$o"
			grep -qF -- "$o" "$FP_ROOT/completions/zsh/_$t" ||
				missing="$missing $t:zsh-completion:$o"
		done
	done
	[ -z "$missing" ] || fail "not documented:$missing"
}

@test "man pages have the sections an SRE looks for" {
	local t s missing=""
	for t in $(tools); do
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "EXIT STATUS" FILES OVERHEAD "SEE ALSO"; do
			grep -qE "^\.SH \"?$s\"?\$" "$FP_ROOT/man/$t.8" ||
				missing="$missing $t:$s"
		done
	done
	[ -z "$missing" ] || fail "missing sections:$missing"
}

@test "man pages carry the version the tools print" {
	local t v bad=""
	v=$(cat "$FP_ROOT/VERSION")
	for t in $(tools); do
		grep -q "^\.TH .* \"fastpath $v\" " "$FP_ROOT/man/$t.8" || bad="$bad $t"
	done
	[ -z "$bad" ] || fail "man pages not at fastpath $v:$bad"
}

@test "completions load in bash and register their tool" {
	local t
	for t in $(tools); do
		run bash -c "source /usr/share/bash-completion/bash_completion 2>/dev/null; source '$FP_ROOT/completions/$t' && complete -p '$t'"
		[ "$status" -eq 0 ] || fail "$t: completion does not register: $output"
	done
}

@test "zsh completions parse, and compinit binds each to its tool" {
	local t
	for t in $(tools); do
		run zsh -n "$FP_ROOT/completions/zsh/_$t"
		[ "$status" -eq 0 ] || fail "_$t: $output"
		run zsh -f -c "fpath=('$FP_ROOT/completions/zsh' \$fpath); autoload -Uz compinit; compinit -u -D; print -r -- \${_comps[$t]}"
		[ "$output" = "_$t" ] || fail "$t: compinit binds '$output'"
	done
}

@test "make install honours DESTDIR and PREFIX" {
	local dest
	dest=$(mktemp -d)
	run make -C "$FP_ROOT" --no-print-directory install BUILD="$FP_BUILD" DESTDIR="$dest" PREFIX=/opt/fp
	[ "$status" -eq 0 ] || { rm -rf "$dest"; fail "$output"; }
	local t missing=""
	for t in $(tools); do
		[ -x "$dest/opt/fp/sbin/$t" ] || missing="$missing bin:$t"
		[ -f "$dest/opt/fp/share/man/man8/$t.8" ] || missing="$missing man:$t"
		[ -f "$dest/opt/fp/share/bash-completion/completions/$t" ] || missing="$missing completion:$t"
		[ -f "$dest/opt/fp/share/zsh/vendor-completions/_$t" ] || missing="$missing zsh-completion:$t"
	done
	rm -rf "$dest"
	[ -z "$missing" ] || fail "not installed:$missing"
}

@test "no script or make rule stops, restarts or kills a service" {
	run grep -rnE '(systemctl|service|invoke-rc\.d)[^#]*\b(stop|restart|kill|try-restart|reload-or-restart)\b' \
		"$FP_ROOT/Makefile" "$FP_ROOT/mk" "$FP_ROOT/scripts" "$FP_ROOT/demo" "$FP_ROOT/bench"
	[ "$status" -eq 1 ] || fail "stops a service: $output"
}

@test "make deps installs the build's packages only" {
	run grep -A3 '^BUILD_PACKAGES=' "$FP_ROOT/scripts/deps"
	[ "$status" -eq 0 ] || fail "no build package list"
	local p
	for p in memcached fio bats qemu-system-x86; do
		[[ "$output" != *"$p"* ]] || fail "$p is a build dependency"
	done
}

@test "the README's kernel support table is the one the matrix tests" {
	want=$("$FP_ROOT/tests/vm/support-table")
	got=$(sed -n '/^<!-- support-table/,/^<!-- \/support-table/p' "$FP_ROOT/README.md" | sed '1d;$d')
	[ "$got" = "$want" ] || fail "README table differs from tests/vm/support.tsv:
$got
want:
$want"
}

@test "every BPF object of the tools names its tool and version (bpf_metadata)" {
	local src o missing=""
	for src in "$FP_ROOT"/bpf/*.bpf.c; do
		o="$FP_BUILD/$(basename "${src%.c}").o"
		[ -f "$o" ] || { missing="$missing $o(not built)"; continue; }
		bpftool btf dump file "$o" | grep -q 'bpf_metadata_tool' &&
			bpftool btf dump file "$o" | grep -q 'bpf_metadata_version' ||
			missing="$missing $(basename "$o")"
	done
	[ -z "$missing" ] || fail "no bpf_metadata in:$missing"
}

@test "every source names its licence; the headers users include are LGPL-2.1 OR BSD-2-Clause" {
	local f missing="" wrong=""
	for f in "$FP_ROOT"/tools/*.c "$FP_ROOT"/tools/*/*.[ch] "$FP_ROOT"/common/*.[ch] \
		"$FP_ROOT"/bpf/*.[ch] "$FP_ROOT"/include/*.h; do
		[ -f "$f" ] || continue
		head -2 "$f" | grep -q 'SPDX-License-Identifier:' || missing="$missing ${f#"$FP_ROOT"/}"
	done
	for f in "$FP_ROOT"/include/*.h; do
		head -1 "$f" | grep -qF 'SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)' ||
			wrong="$wrong ${f#"$FP_ROOT"/}"
	done
	[ -z "$missing$wrong" ] || fail "no SPDX line:$missing; not LGPL-2.1 OR BSD-2-Clause:$wrong"
	[ -f "$FP_ROOT/LICENSES/LGPL-2.1" ] && [ -f "$FP_ROOT/LICENSES/BSD-2-Clause" ] && [ -f "$FP_ROOT/LICENSE" ]
}

# TOOL [COMMAND]... every tool, and each command of those that have them.
tool_commands() {
	local t c
	for t in kstack-latency bmc-attach bmc-stat syrup-steer xrp-lookup fastpath-status; do
		echo "$t"
		for c in $("$FP_BUILD/$t" --help 2>/dev/null |
			awk '/^COMMANDS:/ { on = 1; next } on && /^ +[a-z]/ { print $1 } on && /^$/ { on = 0 }'); do
			[ "$c" = help ] || echo "$t $c"
		done
	done
}

@test "one option vocabulary: every tool's and command's --help keeps the README's table" {
	local -A want=([p]=pid [P]=port [I]=interface [c]=comm [d]=disk [i]=interval
		[n]=count [j]=json [T]=timestamp [v]=verbose [V]=version)
	local -A letter=() seen=()
	local k bad="" line short long cmd
	for k in "${!want[@]}"; do letter[${want[$k]}]=$k; done
	while read -r cmd; do
		# shellcheck disable=SC2086 # TOOL and COMMAND, split on purpose
		while read -r line; do
			short="" long=""
			[[ "$line" =~ ^-([A-Za-z]),\ --([a-z-]+) ]] && short=${BASH_REMATCH[1]} long=${BASH_REMATCH[2]}
			[[ -z "$long" && "$line" =~ ^--([a-z-]+) ]] && long=${BASH_REMATCH[1]}
			[ -n "$long" ] || continue
			if [ -n "$short" ] && [ -n "${want[$short]:-}" ] && [ "${want[$short]}" != "$long" ]; then
				bad="$bad
$cmd: -$short is --$long, not --${want[$short]}"
			fi
			# beyond the table: one letter, one meaning, across the tools
			if [ -n "$short" ]; then
				if [ -n "${seen[$short]:-}" ] && [ "${seen[$short]%% *}" != "$long" ]; then
					bad="$bad
$cmd: -$short is --$long, but --${seen[$short]}"
				fi
				[ -n "${seen[$short]:-}" ] || seen[$short]="$long in ${cmd%% *}"
			fi
			if [ -n "${letter[$long]:-}" ] && [ "$short" != "${letter[$long]}" ]; then
				bad="$bad
$cmd: --$long wants -${letter[$long]}"
			fi
		done < <("$FP_BUILD"/$cmd --help 2>&1 | sed -E 's/^ +//' | grep -E '^-')
	done < <(tool_commands)
	[ -z "$bad" ] || fail "options off the vocabulary:$bad"
}

@test "exit codes: an unknown option is 64 in every tool and command, an empty interface 64 too" {
	local cmd bad=""
	while read -r cmd; do
		# shellcheck disable=SC2086 # TOOL and COMMAND, split on purpose
		"$FP_BUILD"/$cmd --no-such-option >/dev/null 2>&1 && bad="$bad
$cmd: exit 0" || {
			local rc=$?
			[ "$rc" -eq 64 ] || bad="$bad
$cmd: exit $rc"
		}
	done < <(tool_commands)
	[ -z "$bad" ] || fail "not 64:$bad"
	run "$FP_BUILD/bmc-attach" attach ""
	[ "$status" -eq 64 ]
	run "$FP_BUILD/bmc-stat" -I ""
	[ "$status" -eq 64 ]
	run "$FP_BUILD/syrup-steer" attach -P 9000 --policy rr --layer xdp -I ""
	[ "$status" -eq 64 ]
}

@test "JSON keys: every number the tools print carries its unit, or is a count or an id" {
	# Keys that are counts, identifiers or dimensionless by nature.
	local -a unitless=(port ifindex count prog_id netns_ino layers key keys index
		cpu queue cache_entries cache_layers unattributed threads sum steered requests
		pid nodes lo hi ios insns_processed inode inflight id fd fallback errors
		dropped closed learned_keys cache_used_entries cgroup_id enqueued ran
		outside switched restored reserved)
	local key bad="" list=" ${unitless[*]} "
	while read -r key; do
		[[ "$key" =~ _(ns|us|s|bytes)$|_per_(lookup|sec)$|_(rate|share)$ ]] && continue
		[[ "$list" == *" $key "* ]] && continue
		bad="$bad $key"
	done < <(grep -rhoE 'fp_json_kv_(u64|i64|double)(_or_null)?\([^"]*"[a-z0-9_]+"' \
		"$FP_ROOT/tools" | grep -oE '"[a-z0-9_]+"' | tr -d '"' | sort -u)
	[ -z "$bad" ] || fail "numbers without a unit in the key:$bad"
}

@test "JSON lines: every object has ts, errors included" {
	local out line bad=""
	out=$(
		"$FP_BUILD/xrp-lookup" verify -j bpfkv-get 2>/dev/null
		"$FP_BUILD/xrp-lookup" get -j /nonexistent/db 1 2>/dev/null
		"$FP_BUILD/bmc-stat" -j -I fpnosuch0 2>/dev/null
		"$FP_BUILD/syrup-steer" stats -j -P 1 2>/dev/null
		"$FP_BUILD/bmc-attach" status -j fpnosuch0 2>/dev/null
		true
	)
	[ -n "$out" ]
	while read -r line; do
		jq -e '.ts | type == "number"' <<<"$line" >/dev/null || bad="$bad
$line"
	done <<<"$out"
	[ -z "$bad" ] || fail "lines without ts:$bad"
}

@test "-T only where reports are timed; those take bcc's [INTERVAL [COUNT]] too" {
	local cmd help bad=""
	while read -r cmd; do
		# shellcheck disable=SC2086 # TOOL and COMMAND, split on purpose
		help=$("$FP_BUILD"/$cmd --help 2>&1)
		if [[ "$help" != *"-i, --interval"* ]]; then
			[[ "$help" != *"-T, --timestamp"* ]] || bad="$bad
$cmd: -T without timed reports"
			continue
		fi
		[[ "$help" == *"[INTERVAL [COUNT]]"* ]] || bad="$bad
$cmd: no [INTERVAL [COUNT]] in its usage"
		# shellcheck disable=SC2086
		"$FP_BUILD"/$cmd 1 2 3 >/dev/null 2>&1 || [ $? -eq 64 ] || bad="$bad
$cmd: three arguments are not a usage error"
		# shellcheck disable=SC2086
		"$FP_BUILD"/$cmd -i 1 2 >/dev/null 2>&1 || [ $? -eq 64 ] || bad="$bad
$cmd: -i with an interval argument is not a usage error"
	done < <(tool_commands)
	[ -z "$bad" ] || fail "$bad"
	run --separate-stderr timeout 20 "$FP_BUILD/kstack-latency" -j 0.2 2
	assert_success
	[ "${#lines[@]}" -eq 2 ]
}
