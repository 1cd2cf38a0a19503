# SPDX-License-Identifier: GPL-2.0
# Common settings for the rust_gmem build and VM scripts. Sourced, not run.

set -eEuo pipefail
trap 'echo "error: ${BASH_SOURCE[0]:-$0}:$LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything large lives outside the repository, keyed so that reruns are fast.
CACHE=${RUST_GMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_gmem}
BINDGEN_VERSION=0.70.1
BINDGEN=$CACHE/tools/bin/bindgen
RUSTC=/usr/bin/rustc
CLIPPY_DRIVER=/usr/bin/clippy-driver
# Kernel build flavour: "base" (default) or another *.fragment under scripts/flavours/.
FLAVOUR=${FLAVOUR:-base}
JOBS=${JOBS:-$(($(nproc) + 1))}

KMAKE_FLAGS=(LLVM=1 "RUSTC=$RUSTC" "BINDGEN=$BINDGEN" "CLIPPY_DRIVER=$CLIPPY_DRIVER")

T0=$(date +%s)
step() { printf '==> [%4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Debian linux-source-6.12 version the patches are made for (scripts/setup.sh installs it).
KERNEL_DEB_VERSION=6.12.118-1~deb12u1

kernel_tarball() { ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true; }

# The kernel source version, read from the Debian package (e.g. 6.12.117).
kernel_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown
}

# Version of the recipe in build-kernel.sh: bump it when a change there changes what is built.
KERNEL_RECIPE=1

# Files whose content decides the kernel build; a change in any of them is a new cache entry.
kernel_inputs() {
	local f
	printf '%s\n' "$TOP/.config.fragment"
	if [ "$FLAVOUR" != base ]; then printf '%s\n' "$TOP/scripts/flavours/$FLAVOUR.fragment"; fi
	for f in "$TOP"/patches/*.patch; do if [ -e "$f" ]; then printf '%s\n' "$f"; fi; done
}

kernel_key() {
	{
		kernel_version
		"$RUSTC" --version 2>/dev/null || true
		clang --version 2>/dev/null | head -1 || true
		echo "$FLAVOUR recipe $KERNEL_RECIPE"
		kernel_inputs | while read -r f; do echo "== ${f#"$TOP"/}"; cat "$f"; done
	} | sha256sum | cut -c1-16
}

# RUST_GMEM_KDIR: use this built kernel tree instead (for iterating on a kernel patch in a copy).
KDIR=${RUST_GMEM_KDIR:-$CACHE/kernel-$(kernel_version)-$FLAVOUR-$(kernel_key)}

# The module is built in the repository for the base flavour (so compiler messages point at the real
# files) and in a copy of its sources for other flavours (Kbuild puts objects next to sources).
if [ "$FLAVOUR" = base ]; then MODDIR=$TOP; else MODDIR=$TOP/build/module-$FLAVOUR; fi
KO=$MODDIR/rust_gmem.ko
