// SPDX-License-Identifier: GPL-2.0

//! The KVM provider interface for kernels without the KVM provider patch (`patches/0001-*.patch`):
//! KVM cannot create rust_gmem files there, so no file belongs to a VM and there is nothing to
//! invalidate or release.

use super::mapping::InvalidateLockHeld;
use super::pseudo_fs::file_ops::ReleasedFile;

/// KVM maps nothing of a file of no VM.
pub(crate) fn invalidate<'a>(
    _first: usize,
    _last: usize,
    _guard: &'a impl InvalidateLockHeld,
) -> Invalidation<'a> {
    Invalidation(core::marker::PhantomData)
}

/// Nothing to give back.
pub(crate) fn release(_file: ReleasedFile<'_>) {}

/// Nothing kept away.
pub(crate) struct Invalidation<'a>(core::marker::PhantomData<&'a ()>);
