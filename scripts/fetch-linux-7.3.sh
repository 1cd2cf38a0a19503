#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetches Debian's linux-source-7.3 (suite trixie-backports) with `apt-get download` through a
# private apt configuration (its own sources list, state and cache directories: the system's apt
# set-up is not touched), and extracts what `make headers` and the KVM selftests need, into the
# cache, keyed by the package version. Idempotent. Prints the extracted tree.
. "$(dirname "$0")/lib.sh"

PKG=linux-source-7.3
SUITE=trixie-backports
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
work=$CACHE/linux-7.3
apt=$work/apt
mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/etc/apt.conf.d" \
	"$apt/state/lists/partial" "$apt/cache/archives/partial" "$work/debs"
# trixie-backports is signed with the trixie archive key, which bookworm's keyring has.
echo "deb [signed-by=$KEYRING] http://deb.debian.org/debian $SUITE main" > "$apt/etc/sources.list"
APT=(-o Dir::Etc="$apt/etc" -o Dir::Etc::sourcelist="$apt/etc/sources.list"
	-o Dir::Etc::sourceparts="$apt/etc/sources.list.d" -o Dir::Etc::parts="$apt/etc/apt.conf.d"
	-o Dir::Etc::preferences="$apt/etc/preferences" -o Dir::Etc::preferencesparts="$apt/etc/preferences.d"
	-o Dir::State="$apt/state" -o Dir::State::status=/var/lib/dpkg/status -o Dir::Cache="$apt/cache"
	-o Debug::NoLocking=1 -o APT::Architecture=amd64 -o APT::Get::List-Cleanup=0
	-o APT::Sandbox::User=root)

# The newest version in the suite, unless the package lists cannot be fetched and a version is
# cached already.
version=
if apt-get "${APT[@]}" -qq update >&2 2>/dev/null; then
	version=$(apt-cache "${APT[@]}" policy "$PKG" | awk '/Candidate:/ { print $2 }')
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	version=$(ls "$work/debs" 2>/dev/null | sed -n "s/^${PKG}_\(.*\)_all\.deb\$/\1/p" | tail -1)
	[ -n "$version" ] || die "$PKG: not found in $SUITE (network?)"
fi
tree=$work/$version/$PKG
if [ ! -e "$tree/.rust_gmem_extracted" ]; then
	deb=$work/debs/${PKG}_${version}_all.deb
	if [ ! -s "$deb" ]; then
		step "linux-7.3: apt-get download $PKG=$version ($SUITE)"
		(cd "$work/debs" && apt-get "${APT[@]}" -qq download "$PKG=$version" >&2)
		# apt-get names the file with the version's epoch and colons escaped; settle on ours.
		mv "$work/debs/${PKG}_"*"_all.deb" "$deb" 2>/dev/null || true
	fi
	step "linux-7.3: extracting the headers and KVM selftests of $PKG $version"
	rm -rf "$work/$version"
	mkdir -p "$work/$version"
	# Only what `make headers` and tools/testing/selftests/kvm use (7.3 links a VFIO library, with a
	# few driver headers, into every KVM selftest).
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/src/$PKG.tar.xz" |
		tar -x -J -C "$work/$version" --wildcards \
		"$PKG/Makefile" "$PKG/arch/x86/Makefile" "$PKG/arch/x86/entry/syscalls" \
		"$PKG/arch/x86/include/uapi" "$PKG/include/uapi" "$PKG/include/linux/pci_ids.h" \
		"$PKG/scripts/Kbuild.include" "$PKG/scripts/Makefile*" "$PKG/scripts/basic" \
		"$PKG/scripts/include" "$PKG/scripts/headers_install.sh" "$PKG/scripts/subarch.include" \
		"$PKG/scripts/syscall*.sh" "$PKG/scripts/unifdef.c" \
		"$PKG/drivers/dma/idxd/registers.h" "$PKG/drivers/dma/ioat/hw.h" \
		"$PKG/drivers/dma/ioat/registers.h" "$PKG/drivers/net/ethernet/intel/igb/e1000_*.h" \
		"$PKG/tools/arch/x86" "$PKG/tools/build" "$PKG/tools/include" "$PKG/tools/lib" \
		"$PKG/tools/scripts" "$PKG/tools/testing/selftests/Makefile" \
		"$PKG/tools/testing/selftests/lib.mk" "$PKG/tools/testing/selftests/kselftest*" \
		"$PKG/tools/testing/selftests/kvm" "$PKG/tools/testing/selftests/rseq" \
		"$PKG/tools/testing/selftests/cgroup" "$PKG/tools/testing/selftests/clone3" \
		"$PKG/tools/testing/selftests/vfio"
	step "linux-7.3: make headers"
	make -s -C "$tree" headers >/dev/null
	touch "$tree/.rust_gmem_extracted"
	# Older versions' trees are not needed any more; their packages are kept for offline runs.
	for d in "$work"/*/; do
		case "$d" in "$work/$version/" | "$work/debs/" | "$work/apt/") ;; *) rm -rf "$d" ;; esac
	done
fi
echo "$tree"
