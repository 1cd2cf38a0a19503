# SPDX-License-Identifier: GPL-2.0
# rust_gmem: top-level commands. `make run` and `make check` do all set-up on a fresh machine.

.PHONY: help setup kernel module clippy rustfmt run check fuzz bench clean

# The default target only prints this help: installing packages and building a kernel is what
# `make run` and `make check` do, on request.
help:
	@echo "rust_gmem: guest_memfd as a Rust kernel module (see README.md)"
	@echo "  make run      set up, build kernel and module, boot a VM and show it working"
	@echo "  make check    set up, build, and run every test (TAP; ends with N passed, N failed)"
	@echo "  make bench    benchmarks: a table of ratios measured in one VM run, and curves"
	@echo "  make fuzz     the differential fuzzer, longer (FUZZ_STEPS, FUZZ_SEED, FLAVOUR)"
	@echo "  make setup | kernel | module | clippy | rustfmt    single steps"
	@echo "  make clean    remove the module's build products and build/ (not the kernel cache)"

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

# Works before anything was built: removes what Kbuild and the scripts write into the tree.
clean:
	@rm -rf build
	@find . -path ./.git -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '*.mod.o' -o -name '*.cmd' -o -name '*.d' \) -type f -print0 | xargs -0 rm -f
	@rm -f modules.order Module.symvers src/bindings_generated.rs src/bindings_generated.rs.d
