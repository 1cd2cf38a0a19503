// SPDX-License-Identifier: GPL-2.0

//! Backports of abstractions that mainline's `kernel` crate gained after 6.12.
//!
//! Each item here has mainline's name, module path (below `crate::backport` instead of `kernel`)
//! and signatures, so that porting rust_gmem to a kernel that has them means deleting this folder
//! and changing `crate::backport::` into `kernel::` in the `use` lines. They implement only the
//! subset rust_gmem uses; where one must differ from mainline, its documentation says how and why.
//!
//! | here                     | mainline                      | since |
//! |--------------------------|-------------------------------|-------|
//! | [`fs::file`]             | `kernel::fs::file`            | 6.13  |
//! | [`mm::virt`]             | `kernel::mm::virt`            | 6.16  |
//! | [`miscdevice`]           | `kernel::miscdevice`          | 6.13  |
//! | [`debugfs`]              | `kernel::debugfs`             | 6.18  |
//! | [`sync::SetOnce`]        | `kernel::sync::SetOnce`       | 6.19  |
//! | [`time::Delta`], [`time::delay::fsleep`] | `kernel::time` | 6.16 |
//!
//! They use only `kernel` and the raw bindings ([`crate::bindings`], which mainline's
//! `kernel::bindings` would replace), never rust_gmem's own kernel layer ([`crate::kernel_ext`]),
//! which builds on them as it would on mainline's.

pub(crate) mod debugfs;
pub(crate) mod fs;
pub(crate) mod miscdevice;
pub(crate) mod mm;
pub(crate) mod sync;
pub(crate) mod time;
