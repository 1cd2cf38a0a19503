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

# The KVM tests, with rust_gmem loaded: the 6.12 selftests that use guest_memfd, unchanged (one TAP
# line each, from the exit status), and ours (TAP). "path [arguments]", relative to $kvm_tests.
KVM_TESTS_DEFAULT="upstream/guest_memfd_test
upstream/set_memory_region_test
upstream/x86_64/private_mem_conversions_test
upstream/x86_64/private_mem_conversions_test -n 2 -m 2
upstream/x86_64/private_mem_kvm_exits_test
own/gmem_kvm_test"

# TESTS="create_test module_test:module.load_unload kvm/own/gmem_kvm_test" selects test programs, or
# single tests of them (harness names as printed in the TAP lines, fixture.variant.test), or KVM
# tests (kvm/PATH as in KVM_TESTS_DEFAULT). Without TESTS everything runs.
: > "$out/tests.conf"
: > "$out/kvm-tests.conf"
if [ -z "${TESTS:-}" ] && [ -d "$kvm_tests/own" ]; then echo "$KVM_TESTS_DEFAULT" > "$out/kvm-tests.conf"; fi
for t in ${TESTS:-}; do
	case "$t" in
	kvm/*)
		[ -x "$kvm_tests/${t#kvm/}" ] || die "TESTS: no KVM test $t (kernel without the KVM patch?)"
		echo "${t#kvm/}" >> "$out/kvm-tests.conf"
		continue
		;;
	esac
	bin=${t%%:*}
	[ -x "$TOP/build/tests/$bin" ] || die "TESTS: no test program $bin (see tests/*_test.c)"
	if [ "$t" = "$bin" ]; then echo "$bin"; else echo "$bin -r ${t#*:}"; fi
done >> "$out/tests.conf"
# Only KVM tests selected: no harness tests.
if [ -n "${TESTS:-}" ] && [ ! -s "$out/tests.conf" ]; then echo none > "$out/tests.conf"; fi

# The initramfs is described as a gen_init_cpio list, so no root privileges are needed.
list=$out/initramfs.list
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in bin sbin etc proc sys tmp tests lib lib/modules kvm; do echo "dir /$d 0755 0 0"; done
	echo "file /etc/rust_gmem_tests $out/tests.conf 0644 0 0"
	echo "file /etc/rust_gmem_kvm_tests $out/kvm-tests.conf 0644 0 0"
	if [ -d "$kvm_tests/own" ]; then
		(cd "$kvm_tests" && find upstream own -type d) | while read -r d; do echo "dir /kvm/$d 0755 0 0"; done
		(cd "$kvm_tests" && find upstream own -type f -perm -u+x) |
			while read -r f; do echo "file /kvm/$f $kvm_tests/$f 0755 0 0"; done
	fi
	echo "file /bin/busybox /bin/busybox 0755 0 0"
	echo "file /init $TOP/scripts/guest-init.sh 0755 0 0"
	echo "file /lib/modules/rust_gmem.ko $ko 0644 0 0"
	for t in "$TOP"/build/tests/*; do echo "file /tests/$(basename "$t") $t 0755 0 0"; done
} > "$list"
"$KDIR/usr/gen_init_cpio" "$list" | gzip -1 > "$out/initramfs.cpio.gz"

# Memory: 2 GiB as before, plus the hugetlb pools the huge-page tests use (2 x 1 GiB, 64 x 2 MiB),
# reserved at boot; hugetlb_free_vmemmap=on so that splits and merges restore and re-apply HVO.
vm_mem=${VM_MEM:-4352}
# The debug kernel's boot-time HVO of the 1 GiB pages warns in stock 6.12 (vmemmap_remap_pte, before
# the module loads), so HVO is on for the base kernel only.
hvo=" hugetlb_free_vmemmap=on"
[ "$FLAVOUR" = debug ] && hvo=
hugepages=${VM_HUGEPAGES-hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=64$hvo}
step "vm: booting ($mode, $FLAVOUR kernel; QEMU TCG, -cpu max, 2 vCPUs, $vm_mem MiB)"
timeout_s=${VM_TIMEOUT:-1200}
# Test settings passed through to the VM's environment.
guest_env=
for v in FUZZ_STEPS FUZZ_SEED FUZZ_SEEDS TEST_TIMEOUT; do
	if [ -n "${!v:-}" ]; then guest_env="$guest_env rust_gmem.env.$v=${!v}"; fi
done
rc=0
timeout --foreground "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$vm_mem" \
	-nodefaults -nographic -no-reboot -display none \
	-bios /usr/share/qemu/qboot.rom \
	-serial "file:$out/console.log" -serial "file:$out/tap.log" \
	-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 rust_gmem.mode=$mode$guest_env $hugepages ${VM_APPEND:-}" </dev/null || rc=$?
[ "$rc" = 124 ] && echo "vm: timed out after ${timeout_s}s" >&2
step "vm: exited (rc=$rc)"

case "$mode" in
demo)
	grep -E '^(demo:|### STEP|\[ *[0-9.]+\] rust_gmem)' "$out/tap.log" | sed 's/^### STEP /step: /' || true
	grep -q '^### STEP demo rc=0' "$out/tap.log" && grep -q '^### DONE' "$out/tap.log" ||
		die "demo failed; see $out/tap.log and $out/console.log"
	if python3 "$TOP/scripts/tap-report.py" vm "$out/tap.log" "$out/console.log" | grep '^fail'; then
		die "demo: see $out/console.log"
	fi
	step "demo: ok (logs in $out)"
	;;
bench)
	;;
check)
	python3 "$TOP/scripts/tap-report.py" vm "$out/tap.log" "$out/console.log" |
		sed "s/^\([a-z]*\) /\1 $FLAVOUR: /" >> "$TOP/build/results.txt"
	;;
esac
