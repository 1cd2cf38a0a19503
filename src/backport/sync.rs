// SPDX-License-Identifier: GPL-2.0

//! Synchronisation primitives: backport of mainline's `kernel::sync::SetOnce` (6.19).

mod set_once;

pub(crate) use set_once::SetOnce;
