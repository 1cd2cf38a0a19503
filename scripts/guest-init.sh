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
		none) continue ;;
		module_*) [ "$1" = unloaded ] || continue ;;
		*) [ "$1" = loaded ] || continue ;;
		esac
		# shellcheck disable=SC2086 # harness arguments are split on purpose
		run "$bin" $args
	done
}

# The KVM tests (/etc/rust_gmem_kvm_tests: "path [arguments]" under /kvm). The upstream selftests print
# no TAP: each gets one line from its exit status (4 is kselftest's "skip"). Ours print TAP.
run_kvm_phase() {
	while read -r path args; do
		[ -n "$path" ] || continue
		echo "### BEGIN kvm/$path"
		# shellcheck disable=SC2086 # arguments are split on purpose
		timeout "${TEST_TIMEOUT:-600}" "/kvm/$path" $args </dev/null
		rc=$?
		case "$path" in
		upstream/*)
			name="$(basename "$path")${args:+ $args}"
			if [ "$rc" = 0 ]; then echo "ok 1 $name"; fi
			if [ "$rc" = 4 ]; then echo "ok 1 $name # SKIP the test says why above"; rc=0; fi
			;;
		esac
		echo "### END kvm/$path rc=$rc"
	done < /etc/rust_gmem_kvm_tests
}

kvm_files() { sed -n 's/^kvm_files: //p' /sys/kernel/debug/rust_gmem/stats; }

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
	# KVM's own guest_memfd first: once the module is loaded, KVM's files are rust_gmem's.
	/tests/bench kvm-native
	echo "### STEP bench (KVM's own guest_memfd, module not loaded) rc=$?"
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
	if [ -s /etc/rust_gmem_kvm_tests ]; then
		before=$(kvm_files)
		run_kvm_phase
		# KVM made its guest_memfd files through rust_gmem, not its own.
		step "KVM tests used rust_gmem files ($before -> $(kvm_files))" test "$(kvm_files)" -gt "$before"
	fi
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
