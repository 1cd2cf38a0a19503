#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: set-up, build, static checks, then every test in the VM. Prints one TAP line per test
# and `N passed, N failed, N skipped`; exits non-zero on any failure.
. "$(dirname "$0")/lib.sh"

results=$TOP/build/results.txt
mkdir -p "$TOP/build"
: > "$results"
record() { # status name
	echo "$1 $2" >> "$results"
}

finish() {
	step "check: done in $(($(date +%s) - T0)) s; VM logs in build/vm-check/"
	python3 "$TOP/scripts/tap-report.py" summary "$results"
	exit
}

if ! bash "$TOP/scripts/setup.sh"; then
	record fail "setup: install build dependencies"
	finish
fi
if ! bash "$TOP/scripts/build-kernel.sh" >/dev/null; then
	record fail "build: kernel"
	finish
fi

if python3 "$TOP/scripts/tap-report.py" selftest >/dev/null; then record ok "host: test report parser fails failures"
else record fail "host: test report parser fails failures"; fi

# Static checks, each a test line. Clippy first: it compiles the crate too, then the normal build
# produces the module the VM loads.
if CLIPPY=1 bash "$TOP/scripts/build-module.sh"; then record ok "build: clippy (CLIPPY=1) without warnings"
else record fail "build: clippy (CLIPPY=1) without warnings"; fi
if bash "$TOP/scripts/rustfmt.sh"; then record ok "build: rustfmt clean"
else record fail "build: rustfmt clean"; fi
if bash "$TOP/scripts/build-module.sh"; then
	record ok "build: rust_gmem.ko without warnings"
	if bash "$TOP/scripts/build-tests.sh"; then
		record ok "build: kselftests"
		bash "$TOP/scripts/run-vm.sh" check || record fail "vm: run"
	else
		record fail "build: kselftests"
	fi
else
	record fail "build: rust_gmem.ko without warnings"
fi

finish
