#!/usr/bin/env bats
# make deb: the Debian package installs with dpkg, every tool runs from
# /usr/sbin and says its version, and it goes away without a trace.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	# Never touch an installation that was there before the test.
	if dpkg-query -W -f='${Status}' fastpath 2>/dev/null | grep -q 'ok installed'; then
		export FP_DEB_SKIP="a fastpath package is installed on this machine"
		return 0
	fi
	export FP_DEB_SKIP=""
	make -s -C "$FP_ROOT" deb BUILD="$FP_BUILD" >"$BATS_FILE_TMPDIR/deb.out"
	DEB=$(tail -1 "$BATS_FILE_TMPDIR/deb.out")
	export DEB
}

teardown_file() {
	[ -z "${FP_DEB_SKIP:-}" ] || return 0
	if [ -f "$BATS_FILE_TMPDIR/installed" ]; then
		dpkg --purge fastpath >/dev/null 2>&1 || true
	fi
}

needs_deb() {
	[ -z "$FP_DEB_SKIP" ] || skip "$FP_DEB_SKIP"
}

@test "make deb builds a package with the tools, man pages, headers and unit" {
	needs_deb
	[ "$DEB" = "$FP_BUILD/fastpath_$(cat "$FP_ROOT/VERSION")_$(dpkg --print-architecture).deb" ]
	run dpkg-deb -f "$DEB" Package Version Depends
	assert_line "Package: fastpath"
	assert_line "Version: $(cat "$FP_ROOT/VERSION")"
	assert_line --regexp '^Depends: .*libbpf1'
	run dpkg-deb -c "$DEB"
	local f
	for f in usr/sbin/bmc-attach usr/sbin/bmc-stat usr/sbin/syrup-steer \
		usr/sbin/xrp-lookup usr/sbin/kstack-latency usr/sbin/fastpath-status \
		usr/share/man/man8/bmc-attach.8.gz usr/include/fastpath/syrup.h \
		usr/include/fastpath/xrp.h usr/include/fastpath/syrup-sched.h \
		usr/lib/systemd/system/bmc-attach@.service \
		usr/lib/systemd/system/syrup-steer.service \
		usr/share/bash-completion/completions/syrup-steer \
		usr/share/zsh/vendor-completions/_syrup-steer \
		usr/share/doc/fastpath/copyright etc/default/fastpath-bmc; do
		assert_output --partial "./$f"
	done
	# test helpers are not tools
	refute_output --partial "bmc-xdp-test"
	refute_output --partial "syrup-thread-run"
	refute_output --partial "syrup-thread-bench"
	run dpkg-deb -I "$DEB" conffiles
	assert_output "/etc/default/fastpath-bmc"
}

@test "dpkg -i installs it, every tool prints its version, dpkg --purge removes it all" {
	needs_deb
	dpkg -i "$DEB" >/dev/null
	touch "$BATS_FILE_TMPDIR/installed"
	local t version
	version=$(cat "$FP_ROOT/VERSION")
	for t in bmc-attach bmc-stat syrup-steer xrp-lookup kstack-latency fastpath-status; do
		run /usr/sbin/"$t" -V
		assert_success
		assert_output --partial "$version"
	done
	grep -q '^ExecStart=/usr/sbin/bmc-attach' /usr/lib/systemd/system/bmc-attach@.service
	grep -q '^ExecStart=/usr/sbin/syrup-steer daemon$' /usr/lib/systemd/system/syrup-steer.service
	[ -f /etc/default/fastpath-bmc ]
	# the unit is installed, not enabled or started
	run systemctl is-enabled bmc-attach@lo.service
	assert_failure
	run systemctl is-enabled syrup-steer.service
	assert_failure
	dpkg --purge fastpath >/dev/null
	rm -f "$BATS_FILE_TMPDIR/installed"
	for t in bmc-attach bmc-stat syrup-steer xrp-lookup kstack-latency fastpath-status; do
		[ ! -e /usr/sbin/"$t" ] || fail "/usr/sbin/$t is left"
	done
	[ ! -e /usr/include/fastpath ] && [ ! -e /etc/default/fastpath-bmc ] &&
		[ ! -e /usr/lib/systemd/system/bmc-attach@.service ] &&
		[ ! -e /usr/lib/systemd/system/syrup-steer.service ]
}
