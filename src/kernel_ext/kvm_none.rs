// SPDX-License-Identifier: GPL-2.0

//! [`KvmLink`] for kernels without the KVM provider patch (`patches/0001-*.patch`): KVM cannot create
//! rust_gmem files there, so no file belongs to a VM and there is nothing to invalidate or release.

use super::mapping::InvalidateLockHeld;

/// A file's link to the VM it was created for: always none without the KVM patch.
pub(crate) struct KvmLink;

impl KvmLink {
    /// A link to no VM.
    pub(crate) const fn new() -> Self {
        Self
    }

    /// Whether the file belongs to a VM: never.
    pub(crate) fn is_linked(&self) -> bool {
        false
    }

    /// KVM maps nothing of a file of no VM.
    pub(crate) fn invalidate<'a>(
        &'a self,
        _first: usize,
        _last: usize,
        _guard: &'a impl InvalidateLockHeld,
    ) -> Invalidation<'a> {
        Invalidation(core::marker::PhantomData)
    }

    /// Nothing to give back.
    pub(crate) fn release(&self) {}
}

/// Nothing kept away.
pub(crate) struct Invalidation<'a>(core::marker::PhantomData<&'a ()>);
