#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds, statically, the kernel's own KVM selftests that exercise guest_memfd (from the kernel source
# in $KDIR, unchanged) and the project's KVM tests in tests/kvm/, linked with that selftest library.
# Output: build/kvm-tests-FLAVOUR/{upstream,own}/.
. "$(dirname "$0")/lib.sh"

[ -f "$KDIR/.rust_gmem_built" ] || die "kernel not built: run scripts/build-kernel.sh (or make kernel)"
# Only with the KVM provider patch do KVM's guest_memfd ioctls reach the module.
[ -f "$KDIR/include/linux/kvm_gmem_provider.h" ] || { step "kvm tests: kernel without the KVM patch, none built"; exit 0; }

# The 6.12 selftests that use guest_memfd; paths relative to tools/testing/selftests/kvm.
UPSTREAM=(guest_memfd_test set_memory_region_test x86_64/private_mem_conversions_test
	x86_64/private_mem_kvm_exits_test)

out=$TOP/build/kvm-tests-$FLAVOUR
src=$KDIR/tools/testing/selftests/kvm
# A different kernel tree (another cache key) means a different library: start again.
if [ "$(cat "$out/.kdir" 2>/dev/null)" != "$KDIR" ]; then
	rm -rf "$out"
	mkdir -p "$out/upstream" "$out/own"
	echo "$KDIR" > "$out/.kdir"
fi

targets=()
for t in "${UPSTREAM[@]}"; do targets+=("$out/upstream/$t"); done
# The selftests' own Makefile, with static linking for the busybox initramfs (no libc there).
make -s -C "$src" -j"$JOBS" OUTPUT="$out/upstream" USERLDFLAGS=-static "${targets[@]}" \
	>"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "building the KVM selftests failed"; }

# The project's KVM tests: the selftests' flags and library objects (see the Makefile's link rule).
lib=$out/upstream/lib
CFLAGS=(-D_GNU_SOURCE= -Wall -Werror -Wstrict-prototypes -Wuninitialized -O2 -g -std=gnu99
	-DCONFIG_64BIT -U_FORTIFY_SOURCE -fno-builtin-memcmp -fno-builtin-memcpy -fno-builtin-memset
	-fno-builtin-strnlen -fno-stack-protector -fno-PIE -fno-strict-aliasing -march=x86-64-v2
	-I "$KDIR/tools/include" -I "$KDIR/tools/arch/x86/include" -I "$src/include"
	-I "$src/include/x86_64" -I "$KDIR/tools/testing/selftests" -I "$TOP/include/uapi"
	-isystem "$KDIR/usr/include")
objs=("$lib"/*.o "$lib"/x86_64/*.o)
for c in "$TOP"/tests/kvm/*.c; do
	[ -e "$c" ] || continue
	bin=$out/own/$(basename "$c" .c)
	if [ "$bin" -nt "$c" ] && [ "$bin" -nt "$TOP/include/uapi/linux/rust_gmem.h" ]; then continue; fi
	gcc "${CFLAGS[@]}" -static -pthread -no-pie -o "$bin" "$c" "${objs[@]}" -ldl ||
		die "building $(basename "$c") failed"
done
step "kvm tests: ${#UPSTREAM[@]} upstream selftests and $(ls "$TOP"/tests/kvm/*.c | wc -l) own in $out"
