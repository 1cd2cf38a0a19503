// SPDX-License-Identifier: GPL-2.0

//! Kernel file systems: backport of mainline's `kernel::fs` (6.13), files only.

pub(crate) mod file;

pub(crate) use self::file::File;
