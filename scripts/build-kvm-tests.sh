#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds, statically, the KVM selftests that exercise guest_memfd, unchanged: 6.12's from the kernel
# source in $KDIR and 7.3's from Debian's linux-source-7.3 (scripts/fetch-linux-7.3.sh), and the
# project's KVM tests in tests/kvm/, linked with 6.12's selftest library.
# Output: build/kvm-tests-FLAVOUR/{linux-6.12,linux-7.3,own}/.
. "$(dirname "$0")/lib.sh"

[ -f "$KDIR/.rust_gmem_built" ] || die "kernel not built: run scripts/build-kernel.sh (or make kernel)"
# Only with the KVM provider patch do KVM's guest_memfd ioctls reach the module.
[ -f "$KDIR/include/linux/kvm_gmem_provider.h" ] || { step "kvm tests: kernel without the KVM patch, none built"; exit 0; }

# The selftests that use guest_memfd; paths relative to tools/testing/selftests/kvm.
TESTS_612=(guest_memfd_test set_memory_region_test pre_fault_memory_test
	x86_64/private_mem_conversions_test x86_64/private_mem_kvm_exits_test)
TESTS_73=(guest_memfd_test x86/private_mem_conversions_test x86/private_mem_kvm_exits_test)

out=$TOP/build/kvm-tests-$FLAVOUR
# A different kernel tree (another cache key) means a different library: start again.
if [ "$(cat "$out/.kdir" 2>/dev/null)" != "$KDIR" ] || [ ! -d "$out/linux-6.12" ]; then
	rm -rf "$out"
	mkdir -p "$out/linux-6.12" "$out/linux-7.3" "$out/own"
	echo "$KDIR" > "$out/.kdir"
fi

# The selftests' own Makefile, with static linking for the busybox initramfs (no libc there).
build_selftests() { # source tree, output directory, tests...
	local src=$1/tools/testing/selftests/kvm dst=$2 targets=() t
	shift 2
	mkdir -p "$dst"
	for t in "$@"; do targets+=("$dst/$t"); done
	make -s -C "$src" -j"$JOBS" OUTPUT="$dst" USERLDFLAGS=-static "${targets[@]}" \
		>"$dst/build.log" 2>&1 || { cat "$dst/build.log" >&2; die "building the KVM selftests in $src failed"; }
}

build_selftests "$KDIR" "$out/linux-6.12" "${TESTS_612[@]}"

# 7.3's tests are built with 7.3's own headers and library, once per package version.
tree73=$(bash "$TOP/scripts/fetch-linux-7.3.sh")
version73=$(basename "$(dirname "$tree73")")
cache73=$CACHE/linux-7.3/$version73/tests
mkdir -p "$cache73"
build_selftests "$tree73" "$cache73" "${TESTS_73[@]}"
for t in "${TESTS_73[@]}"; do
	mkdir -p "$out/linux-7.3/$(dirname "$t")"
	cp -p "$cache73/$t" "$out/linux-7.3/$t"
done
echo "$version73" > "$out/linux-7.3/VERSION"

# The project's KVM tests: the selftests' flags and library objects (see the Makefile's link rule).
src=$KDIR/tools/testing/selftests/kvm
lib=$out/linux-6.12/lib
CFLAGS=(-D_GNU_SOURCE= -Wall -Werror -Wstrict-prototypes -Wuninitialized -O2 -g -std=gnu99
	-DCONFIG_64BIT -U_FORTIFY_SOURCE -fno-builtin-memcmp -fno-builtin-memcpy -fno-builtin-memset
	-fno-builtin-strnlen -fno-stack-protector -fno-PIE -fno-strict-aliasing -march=x86-64-v2
	-I "$KDIR/tools/include" -I "$KDIR/tools/arch/x86/include" -I "$src/include"
	-I "$src/include/x86_64" -I "$KDIR/tools/testing/selftests" -I "$TOP/include/uapi" -I "$TOP/tests"
	-isystem "$KDIR/usr/include")
objs=("$lib"/*.o "$lib"/x86_64/*.o)
for c in "$TOP"/tests/kvm/*.c; do
	[ -e "$c" ] || continue
	bin=$out/own/$(basename "$c" .c)
	if [ "$bin" -nt "$c" ] && [ "$bin" -nt "$TOP/include/uapi/linux/rust_gmem.h" ]; then continue; fi
	gcc "${CFLAGS[@]}" -static -pthread -no-pie -o "$bin" "$c" "${objs[@]}" -ldl ||
		die "building $(basename "$c") failed"
done

# The example VMM (examples/vmm), on the rust-vmm crates from the crate registry, built static.
mkdir -p "$out/examples"
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=$TOP/build/vmm-target \
	cargo build --quiet --release --locked --target x86_64-unknown-linux-gnu \
	--manifest-path "$TOP/examples/vmm/Cargo.toml" || die "building examples/vmm failed"
cp -p "$TOP/build/vmm-target/x86_64-unknown-linux-gnu/release/rust-gmem-vmm" "$out/examples/"
step "kvm tests: ${#TESTS_612[@]} of 6.12, ${#TESTS_73[@]} of $version73, $(ls "$TOP"/tests/kvm/*.c | wc -l) own and the example VMM in $out"
