#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what the build and the VM need, and nothing that is already there. `setup.sh bench` also
# installs what `make bench` needs besides.
. "$(dirname "$0")/lib.sh"

# The kernel source is pinned: the patches in patches/ are made against this version, and a newer
# Debian upload may move the code they touch (6.12.118 did). Change it together with the patches.
APT_PKGS=("linux-source-6.12=$KERNEL_DEB_VERSION" rustc-web rust-web-src rust-web-clippy rustfmt-web clang lld llvm libclang-dev
	bc flex bison libelf-dev libssl-dev cpio qemu-system-x86 busybox-static gcc make python3 xz-utils rsync
	uuid-dev debian-archive-keyring)
# `make bench` draws its curves with Debian's matplotlib (run by /usr/bin/python3).
[ "${1:-}" = bench ] && APT_PKGS+=(python3-matplotlib)

missing=()
for p in "${APT_PKGS[@]}"; do
	name=${p%%=*}
	if [ "$name" != "$p" ]; then
		[ "$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null)" = "${p#*=}" ] || missing+=("$p")
	else
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt-get install ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --allow-downgrades "${missing[@]}" >/dev/null ||
		die "apt-get install failed (is linux-source-6.12 $KERNEL_DEB_VERSION still in the archive?)"
fi

if ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	command -v cargo >/dev/null || die "cargo is needed to install bindgen-cli"
	step "cargo install bindgen-cli $BINDGEN_VERSION (into $CACHE/tools)"
	cargo install --quiet --locked --root "$CACHE/tools" bindgen-cli --version "$BINDGEN_VERSION"
fi
[ -x "$RUSTC" ] || die "$RUSTC missing (Debian rustc-web)"
