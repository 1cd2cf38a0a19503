#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boots the VM on the base kernel, runs tests/bench.c (the host's side) and
# tests/kvm/gmem_bench.c (the guest's), each first with rust_gmem unloaded (KVM's own guest_memfd and
# 6.12's conversions) and then loaded; prints the table of medians and ratios, writes it to
# build/bench.md and draws the curves into build/bench.png. Under TCG only ratios between
# implementations measured in the same run mean anything.
. "$(dirname "$0")/lib.sh"
export FLAVOUR=base
bash "$TOP/scripts/setup.sh" bench
bash "$TOP/scripts/build-kernel.sh" >/dev/null
bash "$TOP/scripts/build-module.sh"
bash "$TOP/scripts/build-tests.sh"
bash "$TOP/scripts/build-kvm-tests.sh"
# One 1 GiB page and 544 2 MiB pages (a 1 GiB file of 2 MiB pages, and more), and room for 1 GiB
# files of 4 KiB pages besides. HVO (hugetlb_free_vmemmap) stays off, the kernel's default: splits
# and merges then need no vmemmap changes.
VM_MEM=5120 VM_HUGEPAGES="hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=544" \
	bash "$TOP/scripts/run-vm.sh" bench
log=$TOP/build/vm-base-bench/tap.log
# Each program prints its end marker; the guest benchmark runs twice (module unloaded, loaded).
for marker in bench-native-done:1 bench-done:1 bench-guest-done:2; do
	[ "$(grep -c "^${marker%:*}" "$log")" -ge "${marker#*:}" ] ||
		die "the benchmark did not finish (${marker%:*} missing); see $log and build/vm-base-bench/console.log"
done
commit=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
header="# rust_gmem benchmark: commit $commit, $(date -u +%Y-%m-%d), host: $(nproc) x $cpu, \
guest: Linux $(kernel_version) (base flavour) under QEMU TCG -cpu max, 2 vCPUs, 5 GiB"
/usr/bin/python3 "$TOP/scripts/bench.py" "$log" "$header" --plot "$TOP/build/bench.png" |
	tee "$TOP/build/bench.md"
step "bench: table in build/bench.md, curves in build/bench.png"
