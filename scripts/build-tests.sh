#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the static test programs under tests/ against the kernel's kselftest harness and uapi headers.
. "$(dirname "$0")/lib.sh"

out=$TOP/build/tests
mkdir -p "$out"
CFLAGS=(-O2 -g -Wall -Werror -static -pthread -D_GNU_SOURCE
	-isystem "$KDIR/usr/include" -I "$TOP/include/uapi" -I "$KDIR/tools/testing/selftests")
built=0
for src in "$TOP"/tests/*.c; do
	bin=$out/$(basename "$src" .c)
	if [ "$bin" -nt "$src" ] && [ "$bin" -nt "$TOP/tests/gmem_util.h" ] &&
		[ "$bin" -nt "$TOP/include/uapi/linux/rust_gmem.h" ]; then
		continue
	fi
	gcc "${CFLAGS[@]}" -o "$bin" "$src" || die "building $(basename "$src") failed"
	built=$((built + 1))
done
[ "$built" = 0 ] || step "tests: built $built program(s) in $out"
