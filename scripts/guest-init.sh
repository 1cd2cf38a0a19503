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
	case "$arg" in rust_gmem.mode=*) mode=${arg#rust_gmem.mode=} ;; esac
done
KO=/lib/modules/rust_gmem.ko
export RUST_GMEM_KO=$KO KSFT_TAP_LEVEL=1

step() { # name, command...
	name=$1; shift
	"$@"
	echo "### STEP $name rc=$?"
}

run() { # test binary
	echo "### BEGIN $1"
	timeout "${TEST_TIMEOUT:-600}" "/tests/$1" </dev/null
	echo "### END $1 rc=$?"
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
check)
	# Tests that load the module themselves run first, with it unloaded.
	for t in /tests/module_*test; do run "$(basename "$t")"; done
	step "insmod rust_gmem.ko" insmod "$KO"
	for t in /tests/*_test; do
		case "$t" in /tests/module_*) continue ;; esac
		run "$(basename "$t")"
	done
	step "rmmod rust_gmem after all tests" rmmod rust_gmem
	;;
esac
echo "### DONE"
sync
reboot -f
