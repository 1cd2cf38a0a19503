#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test VM (QEMU, TCG, -cpu max) on the $FLAVOUR kernel with rust_gmem.ko and the test
# programs in a busybox initramfs. Usage: run-vm.sh demo|check. Writes build/vm-FLAVOUR-MODE/
# {console,tap}.log; in check mode appends result records, named "FLAVOUR: ...", to build/results.txt
# (see scripts/tap-report.py).
. "$(dirname "$0")/lib.sh"

mode=${1:-check}
out=$TOP/build/vm-$FLAVOUR-$mode
rm -rf "$out"
mkdir -p "$out"
ko=$KO
[ -f "$ko" ] || die "$ko missing: build the module first"
bash "$TOP/scripts/build-tests.sh"
bash "$TOP/scripts/build-kvm-tests.sh"
kvm_tests=$TOP/build/kvm-tests-$FLAVOUR

# The KVM tests, with rust_gmem loaded: ours (TAP) and the selftests of 6.12 and 7.3 that use
# guest_memfd, unchanged (one TAP line each, from the exit status). "mode path [arguments]", path
# relative to $kvm_tests. Mode "in-place" runs with the module's default (in-place conversion, as
# Linux 7.4), "per-vm" with rust_gmem.in_place_conversion=0 (the VM's memory attributes say what is
# private, as 6.12 and 7.3), "skip" prints the reason that follows instead of running the test. A
# mode ending in "@single" runs the test in the single-threaded boot (see below), as the kernels'
# selftests (linux-*) always do.
KVM_TESTS_DEFAULT="in-place examples/rust-gmem-vmm
in-place own/gmem_kvm_test
in-place own/gmem_conversions_test
in-place@single own/gmem_kvm_huge_test
in-place own/gmem_release_race_test
in-place linux-7.3/guest_memfd_test
per-vm linux-6.12/guest_memfd_test
per-vm linux-6.12/set_memory_region_test
per-vm linux-6.12/pre_fault_memory_test
per-vm linux-6.12/x86_64/private_mem_conversions_test
per-vm linux-6.12/x86_64/private_mem_conversions_test -n 2 -m 2
per-vm linux-6.12/x86_64/private_mem_kvm_exits_test
per-vm linux-7.3/guest_memfd_test
per-vm linux-7.3/x86/private_mem_conversions_test
per-vm linux-7.3/x86/private_mem_conversions_test -n 2 -m 2
per-vm linux-7.3/x86/private_mem_kvm_exits_test
skip linux-7.3/pre_fault_memory_test 7.3's test deletes a memslot while it pre-faults it; 6.12's KVM retries that fault forever, holding SRCU, while the deletion waits in synchronize_srcu (fixed by 3ccbf6f47098, not in 6.12.118): it hangs with or without rust_gmem
skip linux-7.3/set_memory_region_test 7.3's test points the guest's IDT at MMIO; 6.12's SVM emulates the vectoring MMIO access forever instead of reporting an internal error (fixed by 7bd7ff99110a in 6.14): it hangs with or without rust_gmem, before any guest_memfd exists"

# TESTS="create_test module_test:module.load_unload kvm/own/gmem_kvm_test" selects test programs, or
# single tests of them (harness names as printed in the TAP lines, fixture.variant.test), or KVM
# tests (kvm/PATH as in KVM_TESTS_DEFAULT, with arguments after a colon, separated by commas:
# kvm/linux-6.12/x86_64/private_mem_conversions_test:-n,2,-m,2), in the mode KVM_TESTS_DEFAULT
# gives them (in-place if it has none). Without TESTS everything runs.
# TEST_REPEAT=N runs each selected test N times (to chase a timing-dependent failure).
: > "$out/tests.conf"
: > "$out/kvm-tests.conf"
if [ -z "${TESTS:-}" ] && [ -d "$kvm_tests/own" ]; then echo "$KVM_TESTS_DEFAULT" > "$out/kvm-tests.conf"; fi
for t in ${TESTS:-}; do
	case "$t" in
	kvm/*)
		path=${t%%:*}
		args=; [ "$path" = "$t" ] || args=" $(echo "${t#*:}" | tr , ' ')"
		[ -x "$kvm_tests/${path#kvm/}" ] || die "TESTS: no KVM test $path (kernel without the KVM patch?)"
		kvm_mode=$(echo "$KVM_TESTS_DEFAULT" | awk -v p="${path#kvm/}" '$2 == p { print $1; exit }')
		echo "${kvm_mode:-in-place} ${path#kvm/}$args" >> "$out/kvm-tests.conf"
		continue
		;;
	esac
	bin=${t%%:*}
	[ -x "$TOP/build/tests/$bin" ] || die "TESTS: no test program $bin (see tests/*_test.c)"
	if [ "$t" = "$bin" ]; then echo "$bin"; else echo "$bin -r ${t#*:}"; fi
done >> "$out/tests.conf"
# Only KVM tests selected: no harness tests.
if [ -n "${TESTS:-}" ] && [ ! -s "$out/tests.conf" ]; then echo none > "$out/tests.conf"; fi

# The kernels' own selftests, and our tests that run two vCPUs of one nested guest while KVM changes
# its mappings, run in a second boot of the VM, with single-threaded TCG: multi-threaded TCG now and
# then wrecks such a guest (a triple fault, KVM_EXIT_SHUTDOWN), with or without rust_gmem (6.12's
# private_mem_conversions_test -n 2 -m 2: 3 of 300 runs under load, 2 of them with KVM's own
# guest_memfd; gmem_kvm_huge_test on the debug kernel: 1 of 15; single-threaded: 0 of 150 and 0 of
# 30). Our other tests keep the parallel vCPUs their races need. Documentation/testing.rst has more.
if [ "$mode" = check ]; then
	single='^[a-z-]+@single |^[a-z-]+ linux-'
	grep -E "$single" "$out/kvm-tests.conf" | sed 's/@single / /' > "$out/kvm-single.conf" || true
	grep -vE "$single" "$out/kvm-tests.conf" > "$out/kvm-own.conf" || true
	mv "$out/kvm-own.conf" "$out/kvm-tests.conf"
fi

# Memory: 2 GiB as before, plus the hugetlb pools the huge-page tests use (2 x 1 GiB, 64 x 2 MiB),
# reserved at boot; hugetlb_free_vmemmap=on so that splits and merges restore and re-apply HVO. One
# GiB more than that: below 4 GiB the debug kernel's own early allocations leave aligned room for one
# 1 GiB page only, and the extra GiB gives the second one room above 4 GiB.
vm_mem=${VM_MEM:-5376}
# The debug kernel's boot-time HVO of the 1 GiB pages warns in stock 6.12 (vmemmap_remap_pte, before
# the module loads), so HVO is on for the base kernel only.
hvo=" hugetlb_free_vmemmap=on"
[ "$FLAVOUR" = debug ] && hvo=
hugepages=${VM_HUGEPAGES-hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=64$hvo}
timeout_s=${VM_TIMEOUT:-1200}
# Test settings passed through to the VM's environment.
guest_env=
for v in FUZZ_STEPS FUZZ_SEED FUZZ_SEEDS TEST_TIMEOUT TEST_REPEAT KVM_WITHOUT_MODULE BENCH_ONLY; do
	if [ -n "${!v:-}" ]; then guest_env="$guest_env rust_gmem.env.$v=${!v}"; fi
done

# Boots the VM once: boot DIR TESTS_CONF KVM_TESTS_CONF TCG_THREAD LABEL; logs in DIR, result records
# named "LABEL: ...".
boot() {
	local dir=$1 tests=$2 kvm=$3 thread=$4 label=$5 list rc=0
	mkdir -p "$dir"
	# The initramfs is described as a gen_init_cpio list, so no root privileges are needed.
	list=$dir/initramfs.list
	{
		echo "dir /dev 0755 0 0"
		echo "nod /dev/console 0600 0 0 c 5 1"
		for d in bin sbin etc proc sys tmp tests lib lib/modules kvm; do echo "dir /$d 0755 0 0"; done
		echo "file /etc/rust_gmem_tests $tests 0644 0 0"
		echo "file /etc/rust_gmem_kvm_tests $kvm 0644 0 0"
		if [ -d "$kvm_tests/own" ]; then
			(cd "$kvm_tests" && find linux-6.12 linux-7.3 own examples -type d -not -name lib -not -path '*/lib/*') |
				while read -r d; do echo "dir /kvm/$d 0755 0 0"; done
			(cd "$kvm_tests" && find linux-6.12 linux-7.3 own examples -type f -perm -u+x -not -path '*/lib/*') |
				while read -r f; do echo "file /kvm/$f $kvm_tests/$f 0755 0 0"; done
		fi
		echo "file /bin/busybox /bin/busybox 0755 0 0"
		echo "file /init $TOP/scripts/guest-init.sh 0755 0 0"
		echo "file /lib/modules/rust_gmem.ko $ko 0644 0 0"
		for t in "$TOP"/build/tests/*; do echo "file /tests/$(basename "$t") $t 0755 0 0"; done
	} > "$list"
	"$KDIR/usr/gen_init_cpio" "$list" | gzip -1 > "$dir/initramfs.cpio.gz"
	step "vm: booting ($mode, $FLAVOUR kernel; QEMU TCG ($thread-threaded), -cpu max, 2 vCPUs, $vm_mem MiB)"
	timeout --foreground "$timeout_s" qemu-system-x86_64 -accel "tcg,thread=$thread" -cpu max -smp 2 \
		-m "$vm_mem" -nodefaults -nographic -no-reboot -display none \
		-bios /usr/share/qemu/qboot.rom \
		-serial "file:$dir/console.log" -serial "file:$dir/tap.log" \
		-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 rust_gmem.mode=$mode$guest_env $hugepages ${VM_APPEND:-}" \
		</dev/null || rc=$?
	[ "$rc" = 124 ] && echo "vm: timed out after ${timeout_s}s" >&2
	step "vm: exited (rc=$rc)"
	if [ "$mode" = check ]; then
		python3 "$TOP/scripts/tap-report.py" vm "$dir/tap.log" "$dir/console.log" |
			sed "s/^\([a-z]*\) /\1 $label: /" >> "$TOP/build/results.txt"
	fi
}

case "$mode" in
demo)
	boot "$out" "$out/tests.conf" "$out/kvm-tests.conf" "${VM_TCG_THREAD:-multi}" "$FLAVOUR"
	grep -E '^(demo:|vmm:|### STEP|\[ *[0-9.]+\] rust_gmem)' "$out/tap.log" | sed 's/^### STEP /step: /' || true
	grep -q '^### STEP demo rc=0' "$out/tap.log" && grep -q '^### DONE' "$out/tap.log" ||
		die "demo failed; see $out/tap.log and $out/console.log"
	if python3 "$TOP/scripts/tap-report.py" vm "$out/tap.log" "$out/console.log" | grep '^fail'; then
		die "demo: see $out/console.log"
	fi
	step "demo: ok (logs in $out)"
	;;
bench)
	boot "$out" "$out/tests.conf" "$out/kvm-tests.conf" "${VM_TCG_THREAD:-multi}" "$FLAVOUR"
	;;
check)
	if [ "$(cat "$out/tests.conf")" != none ] || [ -s "$out/kvm-tests.conf" ]; then
		boot "$out" "$out/tests.conf" "$out/kvm-tests.conf" "${VM_TCG_THREAD:-multi}" "$FLAVOUR"
	fi
	if [ -s "$out/kvm-single.conf" ]; then
		echo none > "$out/single-tests.conf"
		boot "$out/single" "$out/single-tests.conf" "$out/kvm-single.conf" \
			"${VM_TCG_THREAD:-single}" "$FLAVOUR single-threaded TCG"
	fi
	;;
esac
