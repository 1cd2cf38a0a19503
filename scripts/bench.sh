#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boots the VM on the base kernel, runs tests/bench.c once, prints the table of medians
# and ratios and writes it to build/bench.md. Under TCG only ratios between implementations measured
# in the same run mean anything.
. "$(dirname "$0")/lib.sh"
export FLAVOUR=base
bash "$TOP/scripts/setup.sh"
bash "$TOP/scripts/build-kernel.sh" >/dev/null
bash "$TOP/scripts/build-module.sh"
VM_MEM=2048 VM_HUGEPAGES="hugepagesz=2M hugepages=40" bash "$TOP/scripts/run-vm.sh" bench
log=$TOP/build/vm-base-bench/tap.log
grep -q '^bench-done' "$log" || die "the benchmark did not finish; see $log and build/vm-base-bench/console.log"
commit=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
header="# rust_gmem benchmark: commit $commit, $(date -u +%Y-%m-%d), host: $(nproc) x $cpu, \
guest: Linux $(kernel_version) (base flavour) under QEMU TCG -cpu max, 2 vCPUs, 2 GiB"
python3 "$TOP/scripts/bench.py" "$log" "$header" | tee "$TOP/build/bench.md"
step "bench: table in build/bench.md"
