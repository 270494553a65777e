# Shared by the kernel matrix's suites: what tests/vm/support.tsv says a tool
# does on the running kernel. Needs SERIES (e.g. 6.1) from the caller.
# shellcheck shell=bash disable=SC2154 # status, output, lines: set by bats run

# expect TOOL: prints "works" or the refusal this kernel must give.
expect() {
	awk -F'\t' -v tool="$1" -v s="$SERIES" '
		/^# tool/ { for (i = 2; i <= NF; i++) col[$i] = i; next }
		/^#/ { next }
		$1 == tool { print (s in col) ? $col[s] : "works"; exit }' \
		"$BATS_TEST_DIRNAME/support.tsv"
}

# refuses TOOL CMD...: CMD must fail with exit 1 and one line matching the
# table's entry for this kernel.
refuses() {
	local want
	want=$(expect "$1")
	shift
	run "$@"
	[ "$status" -eq 1 ] || fail "exit $status, want 1: $output"
	[ "${#lines[@]}" -eq 1 ] || fail "want one line, got: $output"
	[[ "$output" =~ $want ]] || fail "want /$want/, got: $output"
}

# has_uring_bpf_ops: does this kernel have io_uring BPF ops (xrp-lookup's
# kernel engine)? As xrp-lookup itself probes it, before any database.
has_uring_bpf_ops() {
	local probe
	probe=$(xrp-lookup get -v --engine auto /dev/null 1 2>&1)
	[[ "$probe" =~ io_uring_bpf_ops\ in\ kernel\ BTF\ \.+\ yes ]]
}

# has_sched_ext: can the thread layer run here (sched_ext, nothing loaded)?
has_sched_ext() {
	[ -d /sys/kernel/sched_ext ]
}
