#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test VM (busybox). The kernel log goes to ttyS0; everything this script and the tests
# print goes to ttyS1, framed by "### ..." lines that scripts/tap-report.py reads.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
exec >/dev/ttyS1 2>&1

mode=check
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rust_gmem.mode=*) mode=${arg#rust_gmem.mode=} ;;
	# Settings for the tests, e.g. rust_gmem.env.FUZZ_STEPS=100000.
	rust_gmem.env.*=*) arg=${arg#rust_gmem.env.}; export "${arg%%=*}=${arg#*=}" ;;
	esac
done
KO=/lib/modules/rust_gmem.ko
export RUST_GMEM_KO=$KO KSFT_TAP_LEVEL=1

step() { # name, command...
	name=$1; shift
	"$@"
	echo "### STEP $name rc=$?"
}

run() { # test binary, harness arguments...
	bin=$1; shift
	echo "### BEGIN $bin"
	timeout "${TEST_TIMEOUT:-600}" "/tests/$bin" "$@" </dev/null
	echo "### END $bin rc=$?"
}

# Runs the selected tests of one phase: "unloaded" (module_* tests, which load the module themselves)
# or "loaded". /etc/rust_gmem_tests, written from `make check TESTS=...`, has lines
# "binary [harness arguments]"; without it every test runs.
run_phase() {
	if [ -s /etc/rust_gmem_tests ]; then
		cat /etc/rust_gmem_tests
	else
		for t in /tests/*_test; do basename "$t"; done
	fi | while read -r bin args; do
		case "$bin" in
		module_*) [ "$1" = unloaded ] || continue ;;
		*) [ "$1" = loaded ] || continue ;;
		esac
		# shellcheck disable=SC2086 # harness arguments are split on purpose
		run "$bin" $args
	done
}

echo "### VM $(uname -r) mode=$mode cpus=$(nproc)"
case "$mode" in
demo)
	step "insmod rust_gmem.ko" insmod "$KO"
	dmesg | grep rust_gmem
	/tests/gmem_demo
	echo "### STEP demo rc=$?"
	step "rmmod rust_gmem" rmmod rust_gmem
	;;
bench)
	step "insmod rust_gmem.ko" insmod "$KO"
	/tests/bench
	echo "### STEP bench rc=$?"
	step "rmmod rust_gmem" rmmod rust_gmem
	;;
check)
	# Tests that load the module themselves run first, with it unloaded.
	run_phase unloaded
	step "insmod rust_gmem.ko" insmod "$KO"
	run_phase loaded
	step "rmmod rust_gmem after all tests" rmmod rust_gmem
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# Two scans: an object must look unreferenced in consecutive scans to be reported.
		echo scan > /sys/kernel/debug/kmemleak
		echo scan > /sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak > /tmp/kmemleak
		cat /tmp/kmemleak
		step "kmemleak: no leak reported" test ! -s /tmp/kmemleak
	fi
	;;
esac
echo "### DONE"
sync
reboot -f
