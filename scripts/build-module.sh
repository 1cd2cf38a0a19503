#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds rust_gmem.ko against the cached kernel of $FLAVOUR (scripts/build-kernel.sh). With CLIPPY=1,
# under clippy. Fails on any compiler or clippy warning.
. "$(dirname "$0")/lib.sh"

[ -f "$KDIR/.rust_gmem_built" ] || die "kernel not built: run scripts/build-kernel.sh (or make kernel)"
if [ "$MODDIR" != "$TOP" ]; then
	mkdir -p "$MODDIR"
	rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.d' --exclude='*.ko' \
		--exclude='bindings_generated.rs' --exclude='*.mod*' \
		--include='Kbuild' --include='src/***' --include='include/***' --exclude='*' \
		"$TOP/" "$MODDIR/"
fi
extra=()
if [ "${CLIPPY:-0}" = 1 ]; then
	# Clippy runs only on crates it compiles: force the crate to be rebuilt.
	rm -f "$MODDIR/src/rust_gmem_main.o"
	extra+=(CLIPPY=1)
	step "module: clippy ($FLAVOUR)"
else
	step "module: build ($FLAVOUR)"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -C "$KDIR" M="$MODDIR" "${KMAKE_FLAGS[@]}" "${extra[@]}" -j"$JOBS" modules >"$log" 2>&1; then
	cat "$log" >&2
	die "module build failed"
fi
if grep -E -i '(^|[^a-z])(warning|error)(\[|:)' "$log" >&2; then
	die "module build printed warnings"
fi
step "module: $KO"
