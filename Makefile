# SPDX-License-Identifier: GPL-2.0
# rust_gmem: top-level commands. `make run` and `make check` do all set-up on a fresh machine.

.PHONY: all setup kernel module clippy rustfmt run check fuzz bench clean

all: module

setup:
	@bash scripts/setup.sh

kernel: setup
	@bash scripts/build-kernel.sh >/dev/null

module: kernel
	@bash scripts/build-module.sh

clippy: kernel
	@CLIPPY=1 bash scripts/build-module.sh

rustfmt:
	@bash scripts/rustfmt.sh

run: module
	@bash scripts/run-vm.sh demo

check:
	@bash scripts/check.sh

# The differential fuzzer, longer: FUZZ_STEPS, FUZZ_SEEDS or FUZZ_SEED, FLAVOUR (default debug).
fuzz:
	@FLAVOUR=$${FLAVOUR:-debug} bash scripts/fuzz.sh

# Benchmarks: one table of medians and ratios against shmem, hugetlbfs and KVM's own guest_memfd.
bench:
	@bash scripts/bench.sh

clean:
	@bash scripts/build-module.sh clean
