#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: set-up, build, static checks, then every test in the VM, once per kernel flavour
# (FLAVOURS, default "base debug": the debug kernel adds lockdep, KASAN, kmemleak, DEBUG_VM, ...).
# Prints one TAP line per test and `N passed, N failed, N skipped`; exits non-zero on any failure.
. "$(dirname "$0")/lib.sh"
FLAVOURS=${FLAVOURS:-base debug}

results=$TOP/build/results.txt
mkdir -p "$TOP/build"
: > "$results"
record() { # status name
	echo "$1 $2" >> "$results"
}

finish() {
	step "check: done in $(($(date +%s) - T0)) s; VM logs in build/vm-*-check/"
	python3 "$TOP/scripts/tap-report.py" stats "$results" "$TOP"/build/vm-*-check/tap.log || true
	python3 "$TOP/scripts/tap-report.py" summary "$results"
	exit
}

if ! bash "$TOP/scripts/setup.sh"; then
	record fail "setup: install build dependencies"
	finish
fi
if python3 "$TOP/scripts/tap-report.py" selftest >/dev/null; then record ok "host: test report parser fails failures"
else record fail "host: test report parser fails failures"; fi

for flavour in $FLAVOURS; do
	export FLAVOUR=$flavour
	if ! bash "$TOP/scripts/build-kernel.sh" >/dev/null; then
		record fail "$flavour: build: kernel"
		continue
	fi
	# Clippy and rustfmt (which needs the kernel tree's .rustfmt.toml) once, on the base flavour.
	# Clippy compiles the crate too; the normal build that follows produces the module the VM loads.
	if [ "$flavour" = base ]; then
		if CLIPPY=1 bash "$TOP/scripts/build-module.sh"; then record ok "build: clippy (CLIPPY=1) without warnings"
		else record fail "build: clippy (CLIPPY=1) without warnings"; fi
		if bash "$TOP/scripts/rustfmt.sh"; then record ok "build: rustfmt clean"
		else record fail "build: rustfmt clean"; fi
		if RUST_GMEM_NO_PATCHES=1 CLIPPY=1 bash "$TOP/scripts/build-module.sh"; then
			record ok "build: clippy as for a kernel without patches/ (no KVM, no huge pages)"
		else record fail "build: clippy as for a kernel without patches/ (no KVM, no huge pages)"; fi
	fi
	if ! bash "$TOP/scripts/build-module.sh"; then
		record fail "$flavour: build: rust_gmem.ko without warnings"
		continue
	fi
	record ok "$flavour: build: rust_gmem.ko without warnings"
	if ! bash "$TOP/scripts/build-tests.sh"; then
		record fail "$flavour: build: kselftests"
		continue
	fi
	bash "$TOP/scripts/run-vm.sh" check || record fail "$flavour: vm: run"
done

finish
