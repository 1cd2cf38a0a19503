// SPDX-License-Identifier: GPL-2.0

//! Folios: the page-cache unit of memory.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h)
//!
//! Mainline has no folio abstraction yet; this follows the unmerged VFS work (`Folio` with
//! `AlwaysRefCounted`, and a guard type for a locked folio).

use super::gfp::Gfp;
use crate::bindings;
use core::ops::Deref;
use core::ptr::NonNull;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// A reference-counted folio.
///
/// # Invariants
///
/// The folio is referenced (its refcount is positive) while a reference to this object exists.
#[repr(transparent)]
pub(crate) struct Folio(Opaque<bindings::folio>);

// SAFETY: Folios are reference counted with atomics and may be used and freed on any thread.
unsafe impl Send for Folio {}
// SAFETY: Shared references only read folio state through thread-safe C functions.
unsafe impl Sync for Folio {}

// SAFETY: `folio_get()` and `folio_put()` keep the folio alive while the count is positive.
unsafe impl AlwaysRefCounted for Folio {
    fn inc_ref(&self) {
        // SAFETY: The folio is referenced, so taking another reference is allowed.
        unsafe { bindings::rust_gmem_folio_get(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::rust_gmem_folio_put(obj.cast().as_ptr()) };
    }
}

impl Folio {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a folio that stays referenced for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::folio) -> &'a Self {
        // SAFETY: `Folio` is transparent; the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Allocates a folio of `2^order` pages.
    pub(crate) fn alloc(gfp: Gfp, order: u32) -> Result<NewFolio> {
        // SAFETY: Any flags and order are accepted; a null result means no memory.
        let folio = unsafe { bindings::rust_gmem_folio_alloc(gfp, order) };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // SAFETY: A new folio comes with one reference, which the `ARef` takes over.
        // INVARIANT: It belongs to no mapping and nobody has locked it.
        Ok(NewFolio(unsafe { ARef::from_raw(folio.cast()) }))
    }

    /// Returns the raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::folio {
        self.0.get()
    }

    /// The page-cache index of the folio's first page.
    pub(crate) fn index(&self) -> usize {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_index(self.as_ptr()) }
    }

    /// The number of pages in the folio.
    pub(crate) fn nr_pages(&self) -> usize {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_nr_pages(self.as_ptr()) as usize }
    }

    /// The folio's reference count.
    pub(crate) fn ref_count(&self) -> usize {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_ref_count(self.as_ptr()) as usize }
    }

    /// Whether the folio's contents are valid ("up to date").
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_test_uptodate(self.as_ptr()) }
    }

    /// Whether the folio has a hardware memory error (`memory_failure()` marked it).
    pub(crate) fn is_hwpoison(&self) -> bool {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_test_hwpoison(self.as_ptr()) }
    }

    /// Whether the folio may be pinned for DMA (`folio_maybe_dma_pinned()`): a pin is held for a
    /// long time, so waiting or draining caches does not make it go.
    pub(crate) fn maybe_dma_pinned(&self) -> bool {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_maybe_dma_pinned(self.as_ptr()) }
    }

    /// Whether the folio is mapped, pinned, or held beyond `expected` references: `None` if not,
    /// else whether the holder may be a per-CPU batch that draining lets go of (see
    /// [`lru::check_draining`]): an order-0 folio neither mapped nor pinned for DMA may sit in the
    /// LRU-add batch (new) or the mlock batch (faulted into a locked mapping, even on the LRU);
    /// large folios never wait in one.
    ///
    /// [`lru::check_draining`]: super::lru::check_draining
    pub(crate) fn held(&self, expected: usize) -> Option<bool> {
        if self.is_mapped() || self.maybe_dma_pinned() {
            Some(false)
        } else if self.ref_count() > expected {
            Some(self.nr_pages() == 1)
        } else {
            None
        }
    }

    /// The page frame number of the folio's first page.
    #[cfg(rust_gmem_hugetlb)]
    pub(crate) fn pfn(&self) -> usize {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_pfn(self.as_ptr()) }
    }

    /// Whether any page of the folio is mapped into a page table.
    pub(crate) fn is_mapped(&self) -> bool {
        // SAFETY: The folio is valid (type invariant).
        unsafe { bindings::rust_gmem_folio_mapped(self.as_ptr()) }
    }
}

/// A folio in no mapping: just allocated, or taken back out of a page cache. Adding it to a page
/// cache consumes it. (A lockless page-cache lookup that found it before it was taken out may still
/// hold a reference or its lock for a moment, until it notices.)
///
/// # Invariants
///
/// The folio belongs to no mapping.
pub(crate) struct NewFolio(ARef<Folio>);

impl NewFolio {
    /// Takes over a folio that belongs to no mapping.
    ///
    /// # Safety
    ///
    /// `ptr` must be a folio in no mapping whose one reference the caller gives up.
    #[cfg(rust_gmem_hugetlb)]
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::folio) -> Self {
        // SAFETY: The caller hands over a reference to a valid, hence non-null, folio.
        // INVARIANT: The caller guarantees it belongs to no mapping.
        Self(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) })
    }

    #[cfg(rust_gmem_hugetlb)]
    /// Takes back a folio given up with [`NewFolio::into_folio`].
    ///
    /// # Safety
    ///
    /// The folio must belong to no mapping.
    pub(crate) unsafe fn adopt(folio: ARef<Folio>) -> Self {
        // INVARIANT: The caller guarantees it belongs to no mapping.
        Self(folio)
    }

    /// Gives up the guarantee and returns the reference.
    pub(crate) fn into_folio(self) -> ARef<Folio> {
        self.0
    }
}

impl Deref for NewFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        &self.0
    }
}

/// A folio locked by this thread, unlocked when dropped.
///
/// # Invariants
///
/// `folio` is locked by the owner of this object.
pub(crate) struct LockedFolio {
    folio: ARef<Folio>,
}

impl LockedFolio {
    /// Takes over a locked folio and a reference to it.
    ///
    /// # Safety
    ///
    /// `ptr` must be a locked folio whose lock and one reference the caller gives up.
    pub(crate) unsafe fn from_raw_locked(ptr: *mut bindings::folio) -> Self {
        // SAFETY: The caller hands over a reference to a valid, hence non-null, folio.
        let folio = unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) };
        // INVARIANT: The caller hands over the lock.
        Self { folio }
    }

    /// Wraps a folio that the caller has locked.
    ///
    /// # Safety
    ///
    /// `folio` must be locked, and the caller gives up the lock.
    pub(crate) unsafe fn from_locked(folio: ARef<Folio>) -> Self {
        // INVARIANT: The caller hands over the lock.
        Self { folio }
    }

    /// Gives up the lock and the reference and returns the raw folio, for C code that takes over
    /// both.
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn into_raw_locked(self) -> *mut bindings::folio {
        let this = core::mem::ManuallyDrop::new(self);
        this.as_ptr()
    }

    /// Gives up the lock and the reference and returns the page for `index`, for a fault handler
    /// that returns `VM_FAULT_LOCKED` (the core unlocks the folio and drops the reference).
    pub(crate) fn into_fault_page(self, index: usize) -> *mut bindings::page {
        // Neither unlock nor put: both now belong to the fault handler's caller.
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: The folio is valid; `folio_file_page()` masks `index` into the folio.
        unsafe { bindings::rust_gmem_folio_file_page(this.as_ptr(), index) }
    }
}

impl Deref for LockedFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        &self.folio
    }
}

impl Drop for LockedFolio {
    fn drop(&mut self) {
        // SAFETY: The folio is locked by us (type invariant).
        unsafe { bindings::folio_unlock(self.folio.as_ptr()) };
    }
}

/// A folio whose contents and up-to-date flag nobody else uses meanwhile: locked by us
/// ([`LockedFolio`]), or in no mapping ([`NewFolio`]).
///
/// # Safety
///
/// Implementors guarantee that, while an object of theirs exists, nobody else reads or writes the
/// folio's contents or changes its up-to-date flag.
pub(crate) unsafe trait ExclusiveFolio: Deref<Target = Folio> {
    /// Fills the whole folio with zeroes.
    fn zero(&self) {
        // SAFETY: The folio is valid, and nobody else uses its contents meanwhile (trait contract).
        unsafe { bindings::rust_gmem_folio_zero(self.as_ptr()) };
    }

    /// Marks the folio's contents valid.
    fn mark_uptodate(&self) {
        // SAFETY: The folio is valid and nobody else changes the flag meanwhile (trait contract);
        // for a folio in a page cache, that is its lock, which `folio_mark_uptodate()` requires.
        unsafe { bindings::rust_gmem_folio_mark_uptodate(self.as_ptr()) };
    }
}

// SAFETY: A folio in no mapping can be found by nobody but a lockless lookup that raced with its
// removal, which only takes and drops a reference (and the lock) once it notices.
unsafe impl ExclusiveFolio for NewFolio {}

// SAFETY: The folio is locked by us, and page-cache users take the lock before they use its
// contents or flag.
unsafe impl ExclusiveFolio for LockedFolio {}

/// Turns an error pointer from a folio lookup into `Ok(None)` for "not present".
pub(crate) fn lookup_result(ptr: *mut bindings::folio) -> Result<Option<LockedFolio>> {
    match from_err_ptr(ptr) {
        // SAFETY: A successful locked lookup returns a locked folio with a reference for us.
        Ok(folio) => Ok(Some(unsafe { LockedFolio::from_raw_locked(folio) })),
        Err(e) if e == ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}
