#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the guest kernel from Debian's linux-source-6.12 into a cache directory outside the repository,
# keyed by source version, toolchain, config fragment(s), patches and this script. Prints the directory.
. "$(dirname "$0")/lib.sh"

if [ -f "$KDIR/.rust_gmem_built" ]; then
	step "kernel: cached build in $KDIR"
	echo "$KDIR"
	exit 0
fi

tarball=$(kernel_tarball)
[ -n "$tarball" ] || die "linux-source-6.12 is not installed (run scripts/setup.sh)"
mkdir -p "$CACHE"
# Keep the newest few kernel builds; each is about 2 GB.
{ ls -dt "$CACHE"/kernel-* 2>/dev/null || true; } | tail -n +"${KEEP_KERNELS:-3}" | xargs -r rm -rf
# Build in place (paths end up in the build's metadata); the stamp file marks a finished build, so an
# interrupted one is started again from scratch.
work=$KDIR
rm -rf "$work"
mkdir -p "$work"

step "kernel: unpacking $(basename "$tarball") ($(kernel_version))"
tar -C "$work" --strip-components=1 -xf "$tarball"

for p in "$TOP"/patches/*.patch; do
	[ -e "$p" ] || continue
	step "kernel: applying patches/$(basename "$p")"
	patch -d "$work" -p1 --quiet --forward < "$p" || die "patch $(basename "$p") does not apply"
done

kmake() { make -s -C "$work" "${KMAKE_FLAGS[@]}" "$@"; }

kmake rustavailable >/dev/null || die "the Rust toolchain is not usable for this kernel (make rustavailable)"

step "kernel: tinyconfig + .config.fragment${FLAVOUR:+ ($FLAVOUR)}"
kmake tinyconfig >/dev/null
frags=("$TOP/.config.fragment")
[ "$FLAVOUR" = base ] || frags+=("$TOP/scripts/flavours/$FLAVOUR.fragment")
(cd "$work" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -Q .config "${frags[@]}" >/dev/null)
kmake olddefconfig >/dev/null

# Kconfig silently drops options whose dependencies fail: check every one.
bad=0
for frag in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$work/.config" || {
				echo "fragment option did not land: $line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$work/.config" || echo unset))" >&2
				bad=1
			}
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -qE "^$opt=" "$work/.config"; then
				echo "fragment option did not land: $line (have: $(grep -E "^$opt=" "$work/.config"))" >&2
				bad=1
			fi
			;;
		esac
	done < "$frag"
done
[ "$bad" = 0 ] || die "kernel config does not match the fragment(s)"

step "kernel: building (make -j$JOBS; a cold build takes a few minutes)"
kmake -j"$JOBS" all
kmake headers >/dev/null

touch "$work/.rust_gmem_built"
step "kernel: built in $KDIR"
echo "$KDIR"
