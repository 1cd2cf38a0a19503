#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks (or with --fix, applies) rustfmt with the kernel's .rustfmt.toml. `make rustfmt` in the
# kernel tree ignores M=, hence this script. Generated bindings are not checked.
. "$(dirname "$0")/lib.sh"

mode=(--check)
[ "${1:-}" = --fix ] && mode=()
cfg=$KDIR/.rustfmt.toml
[ -f "$cfg" ] || die "kernel not built: $cfg missing"
mapfile -t files < <(cd "$TOP" && git ls-files --cached --others --exclude-standard 'src/*.rs' | grep -v bindings_generated)
cd "$TOP"
if ! /usr/bin/rustfmt --edition 2021 --config-path "$cfg" "${mode[@]}" "${files[@]}"; then
	die "rustfmt: run scripts/rustfmt.sh --fix"
fi
step "rustfmt: clean (${#files[@]} files)"
