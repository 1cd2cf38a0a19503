// SPDX-License-Identifier: GPL-2.0

//! Page-cache mappings (`struct address_space`) and their invalidate lock.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::bindings;
use core::marker::PhantomData;
use kernel::types::Opaque;

/// A page-cache mapping.
///
/// # Invariants
///
/// The wrapped `address_space` is initialised and stays valid while a reference to this object exists.
#[repr(transparent)]
pub(crate) struct Mapping(Opaque<bindings::address_space>);

// SAFETY: An `address_space` is used from any thread; all accesses made through this type take the
// locks the C side requires.
unsafe impl Send for Mapping {}
// SAFETY: As above, shared references only call thread-safe C functions.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Creates a reference to a mapping from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an initialised `address_space` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::address_space) -> &'a Self {
        // SAFETY: `Mapping` is a transparent wrapper, and the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer to the `address_space`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::address_space {
        self.0.get()
    }

    /// Returns the raw pointer to the mapping's invalidate lock.
    pub(crate) fn invalidate_lock_ptr(&self) -> *mut bindings::rw_semaphore {
        // SAFETY: `self.as_ptr()` is valid by the type invariant; `addr_of_mut!` does not read.
        unsafe { core::ptr::addr_of_mut!((*self.as_ptr()).invalidate_lock) }
    }

    /// Takes the invalidate lock shared (`filemap_invalidate_lock_shared()`).
    pub(crate) fn invalidate_lock_shared(&self) -> InvalidateReadGuard<'_> {
        // SAFETY: The lock is initialised because the mapping is (type invariant).
        unsafe { bindings::down_read(self.invalidate_lock_ptr()) };
        // INVARIANT: We just took the lock shared.
        InvalidateReadGuard {
            mapping: self,
            _not_send: PhantomData,
        }
    }

    /// Takes the invalidate lock exclusive (`filemap_invalidate_lock()`).
    pub(crate) fn invalidate_lock(&self) -> InvalidateWriteGuard<'_> {
        // SAFETY: The lock is initialised because the mapping is (type invariant).
        unsafe { bindings::down_write(self.invalidate_lock_ptr()) };
        // INVARIANT: We just took the lock exclusive.
        InvalidateWriteGuard {
            mapping: self,
            _not_send: PhantomData,
        }
    }

    /// Sets the allocation flags of the mapping's folios.
    pub(crate) fn set_gfp_mask(&self, gfp: bindings::gfp_t) {
        // SAFETY: `self.as_ptr()` is valid by the type invariant.
        unsafe { bindings::rust_gmem_mapping_set_gfp_mask(self.as_ptr(), gfp) };
    }

    /// Marks the mapping unevictable and inaccessible: its folios are neither reclaimed nor migrated,
    /// and no read/write path reaches them.
    pub(crate) fn set_inaccessible(&self) {
        // SAFETY: `self.as_ptr()` is valid by the type invariant.
        unsafe { bindings::rust_gmem_mapping_set_inaccessible(self.as_ptr()) };
    }
}

/// Proof that the invalidate lock of a mapping is held, shared or exclusive.
pub(crate) trait InvalidateLockHeld {
    /// The mapping whose lock is held.
    fn mapping(&self) -> &Mapping;
}

/// The invalidate lock of a mapping, held shared.
///
/// # Invariants
///
/// `mapping`'s invalidate lock is held shared by this thread until the guard is dropped.
pub(crate) struct InvalidateReadGuard<'a> {
    mapping: &'a Mapping,
    _not_send: PhantomData<*mut ()>,
}

impl InvalidateLockHeld for InvalidateReadGuard<'_> {
    fn mapping(&self) -> &Mapping {
        self.mapping
    }
}

impl Drop for InvalidateReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held shared by this thread.
        unsafe { bindings::up_read(self.mapping.invalidate_lock_ptr()) };
    }
}

/// The invalidate lock of a mapping, held exclusive.
///
/// # Invariants
///
/// `mapping`'s invalidate lock is held exclusive by this thread until the guard is dropped.
pub(crate) struct InvalidateWriteGuard<'a> {
    mapping: &'a Mapping,
    _not_send: PhantomData<*mut ()>,
}

impl InvalidateLockHeld for InvalidateWriteGuard<'_> {
    fn mapping(&self) -> &Mapping {
        self.mapping
    }
}

impl Drop for InvalidateWriteGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held exclusive by this thread.
        unsafe { bindings::up_write(self.mapping.invalidate_lock_ptr()) };
    }
}
