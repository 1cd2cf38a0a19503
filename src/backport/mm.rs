// SPDX-License-Identifier: GPL-2.0

//! Memory management: backport of mainline's `kernel::mm` (6.16), VMAs only.

pub(crate) mod virt;
