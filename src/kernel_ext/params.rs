// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, declared in `src/helpers.c` (6.12's `module!` macro has none).

use crate::bindings;

/// `rust_gmem.in_place_conversion` (read-only, default `Y`): files made through KVM convert in
/// place and alone say what is private (as Linux 7.4 with `kvm.gmem_in_place_conversion=1`); with
/// `N`, KVM's per-VM memory attributes do (as Linux 7.3).
pub(crate) fn in_place_conversion() -> bool {
    // SAFETY: The accessor only reads the parameter, which is fixed after the module is loaded.
    unsafe { bindings::rust_gmem_param_in_place_conversion() }
}
