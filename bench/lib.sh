# shellcheck shell=bash
# bench/lib.sh: what the benchmarks (and demo/) share; sourced, not run.

# fp_die MSG...: one line on standard error, named after the script, and
# exit 1.
fp_die() {
	echo "bench/$(basename "$0"): $*" >&2
	exit 1
}

# fp_ratio A B: A / B with two decimals; 0 when B is not positive.
fp_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf("%.2f", (b > 0) ? a / b : 0) }'; }

# fp_show CMD...: print the command as a shell would show it ("$ CMD",
# after a blank line; bold on a terminal), then run it (the demos).
fp_show() {
	if [ -t 1 ]; then
		printf '\n\033[1m$ %s\033[0m\n' "$*"
	else
		printf '\n$ %s\n' "$*"
	fi
	"$@"
}
