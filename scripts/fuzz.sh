#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fuzz`: the differential fuzzer (tests/fuzz_test.c) for longer than `make check` runs it.
# FUZZ_STEPS (default 100000) steps for each of FUZZ_SEEDS seeds (default 4), or one FUZZ_SEED;
# FLAVOUR picks the kernel (default debug).
. "$(dirname "$0")/lib.sh"
export FUZZ_STEPS=${FUZZ_STEPS:-100000} TESTS=fuzz_test
export TEST_TIMEOUT=${TEST_TIMEOUT:-86400} VM_TIMEOUT=${VM_TIMEOUT:-86400}
bash "$TOP/scripts/setup.sh"
bash "$TOP/scripts/build-kernel.sh" >/dev/null
bash "$TOP/scripts/build-module.sh"
mkdir -p "$TOP/build"
: > "$TOP/build/results.txt"
bash "$TOP/scripts/run-vm.sh" check
grep -hE 'fuzz steps|difference|reproducer|  step ' "$TOP/build/vm-$FLAVOUR-check/tap.log" | sed 's/^# [^:]*:[0-9]*:differential://' || true
python3 "$TOP/scripts/tap-report.py" summary "$TOP/build/results.txt"
