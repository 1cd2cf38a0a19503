#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what the build and the VM need, and nothing that is already there.
. "$(dirname "$0")/lib.sh"

APT_PKGS=(linux-source-6.12 rustc-web rust-web-src rust-web-clippy rustfmt-web clang lld llvm libclang-dev
	bc flex bison libelf-dev libssl-dev cpio qemu-system-x86 busybox-static gcc make python3 xz-utils rsync)

missing=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt-get install ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	command -v cargo >/dev/null || die "cargo is needed to install bindgen-cli"
	step "cargo install bindgen-cli $BINDGEN_VERSION (into $CACHE/tools)"
	cargo install --quiet --locked --root "$CACHE/tools" bindgen-cli --version "$BINDGEN_VERSION"
fi
[ -x "$RUSTC" ] || die "$RUSTC missing (Debian rustc-web)"
