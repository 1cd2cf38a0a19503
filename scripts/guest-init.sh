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

# Runs a command for at most TEST_TIMEOUT seconds (default 600); returns its status, or 124 if it
# had to be stopped. Before stopping it, the stacks of the blocked tasks (SysRq w) go to the kernel
# log, so that a hang leaves a trace; a task stuck in the kernel cannot be killed, so it is left.
bounded() {
	"$@" </dev/null &
	pid=$!
	limit=$((${TEST_TIMEOUT:-600} * 10))
	ticks=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$(ps -o pid,stat | awk -v p="$pid" '$1 == p && $2 !~ /^Z/')" ]; then break; fi
		if [ "$ticks" -ge "$limit" ]; then
			echo "### TIMEOUT after ${TEST_TIMEOUT:-600} s: blocked tasks follow in the kernel log"
			echo w > /proc/sysrq-trigger
			kill -KILL "$pid" 2>/dev/null
			sleep 2
			return 124
		fi
		sleep 0.1
		ticks=$((ticks + 1))
	done
	wait "$pid"
}

run() { # test binary, harness arguments...
	bin=$1; shift
	echo "### BEGIN $bin"
	t0=$(date +%s)
	bounded "/tests/$bin" "$@"
	echo "### END $bin rc=$? seconds=$(($(date +%s) - t0))"
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
		i=0
		while [ "$i" -lt "${TEST_REPEAT:-1}" ]; do
			# shellcheck disable=SC2086 # harness arguments are split on purpose
			run "$bin" $args
			i=$((i + 1))
		done
	done
}

# The KVM tests (/etc/rust_gmem_kvm_tests: "mode path [arguments]", path under /kvm). The module is
# reloaded when the mode changes: "in-place" is its default, "per-vm" in_place_conversion=0; "skip"
# lines carry the reason a test is not run instead of arguments. The kernels' selftests print no
# TAP: each gets one line from its exit status (4 is kselftest's "skip"). Ours print TAP. After
# each mode's tests, a step checks that KVM made its guest_memfd files through rust_gmem.
run_kvm_phase() {
	current=in-place
	made=$(kvm_files)
	while read -r mode path args; do
		[ -n "$path" ] || continue
		if [ "$mode" = skip ]; then
			echo "### BEGIN kvm/$path"
			echo "ok 1 $(basename "$path") # SKIP $args"
			echo "### END kvm/$path rc=0"
			continue
		fi
		if [ "$mode" != "$current" ] && [ -z "${KVM_WITHOUT_MODULE:-}" ]; then
			kvm_files_step "$current" "$made"
			param=; [ "$mode" = per-vm ] && param=in_place_conversion=0
			# shellcheck disable=SC2086 # no parameter is no argument
			step "reload rust_gmem for the $mode tests${param:+ ($param)}" sh -c "rmmod rust_gmem && insmod $KO $param"
			current=$mode
			made=$(kvm_files)
		fi
		i=0
		while [ "$i" -lt "${TEST_REPEAT:-1}" ]; do
			# shellcheck disable=SC2086 # arguments are split on purpose
			run_kvm "$mode" "$path" $args
			i=$((i + 1))
		done
	done < /etc/rust_gmem_kvm_tests
	[ -n "${KVM_WITHOUT_MODULE:-}" ] || kvm_files_step "$current" "$made"
}

# A step: the tests of a mode made guest_memfd files through rust_gmem, not KVM's own.
kvm_files_step() { # mode, kvm_files before
	step "KVM tests ($1) used rust_gmem files ($2 -> $(kvm_files))" test "$(kvm_files)" -gt "$2"
}

# Runs one KVM test: "mode path [arguments]", path under /kvm.
run_kvm() {
	kmode=$1; path=$2; shift 2
	args="$*"
	echo "### BEGIN kvm/$path"
	t0=$(date +%s)
	# shellcheck disable=SC2086 # arguments are split on purpose
	bounded "/kvm/$path" $args
	rc=$?
	case "$path" in
	own/*) ;;
	*)
		name="$(basename "$path")${args:+ $args} ($kmode)"
		if [ "$rc" = 0 ]; then echo "ok 1 $name"; fi
		if [ "$rc" = 4 ]; then echo "ok 1 $name # SKIP the test says why above"; rc=0; fi
		;;
	esac
	echo "### END kvm/$path rc=$rc seconds=$(($(date +%s) - t0))"
}

kvm_files() { sed -n 's/^kvm_files: //p' /sys/kernel/debug/rust_gmem/stats; }

echo "### VM $(uname -r) mode=$mode cpus=$(nproc)"
case "$mode" in
demo)
	step "insmod rust_gmem.ko" insmod "$KO"
	dmesg | grep rust_gmem
	/tests/gmem_demo
	rc=$?
	# A guest whose only memory is a rust_gmem file, converted in place (examples/vmm).
	if [ -x /kvm/examples/rust-gmem-vmm ]; then
		/kvm/examples/rust-gmem-vmm
		rc=$((rc | $?))
	fi
	echo "### STEP demo rc=$rc"
	step "rmmod rust_gmem" rmmod rust_gmem
	;;
bench)
	# KVM's own guest_memfd first: once the module is loaded, KVM's files are rust_gmem's.
	/tests/bench kvm-native
	echo "### STEP bench (KVM's own guest_memfd, module not loaded) rc=$?"
	/kvm/own/gmem_bench native
	echo "### STEP guest bench (KVM's own guest_memfd, module not loaded) rc=$?"
	step "insmod rust_gmem.ko" insmod "$KO"
	/tests/bench
	echo "### STEP bench rc=$?"
	/kvm/own/gmem_bench
	echo "### STEP guest bench rc=$?"
	step "rmmod rust_gmem" rmmod rust_gmem
	;;
check)
	# Tests that load the module themselves run first, with it unloaded.
	run_phase unloaded
	step "insmod rust_gmem.ko" insmod "$KO"
	run_phase loaded
	if [ -s /etc/rust_gmem_kvm_tests ] && [ -n "${KVM_WITHOUT_MODULE:-}" ]; then
		# For telling a rust_gmem bug from a KVM or QEMU one: KVM's own guest_memfd.
		step "rmmod rust_gmem for the KVM tests (KVM_WITHOUT_MODULE)" rmmod rust_gmem
		run_kvm_phase
		step "insmod rust_gmem.ko again" insmod "$KO"
	elif [ -s /etc/rust_gmem_kvm_tests ]; then
		run_kvm_phase
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
