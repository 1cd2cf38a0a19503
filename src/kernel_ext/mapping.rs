// SPDX-License-Identifier: GPL-2.0

//! Page-cache mappings (`struct address_space`) and their invalidate lock.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::folio::{self, Folio, LockedFolio, NewFolio};
use super::gfp::Gfp;
use crate::bindings;
use core::marker::PhantomData;
use core::ops::ControlFlow;
use kernel::error::to_result;
use kernel::ffi::c_int;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::types::Opaque;
#[cfg(rust_gmem_hugetlb)]
use kernel::{alloc::KVVec, types::ARef};

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

    /// Takes the invalidate lock shared if that is possible without waiting
    /// (`filemap_invalidate_trylock_shared()`).
    pub(crate) fn try_invalidate_lock_shared(&self) -> Option<InvalidateReadGuard<'_>> {
        // SAFETY: The lock is initialised because the mapping is (type invariant).
        if unsafe { bindings::down_read_trylock(self.invalidate_lock_ptr()) } == 0 {
            return None;
        }
        // INVARIANT: We just took the lock shared.
        Some(InvalidateReadGuard {
            mapping: self,
            _not_send: PhantomData,
        })
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

    /// Makes the mapping one of unmovable guest memory: folios allocated with `gfp`, unevictable and
    /// inaccessible (neither reclaimed nor migrated, and no read/write path reaches them), and
    /// address-space operations for folios that must stay where they are: never written back, never
    /// migrated (an attempt is a bug and says so), and kept in the file after a memory failure
    /// (`MF_DELAYED`, as mainline guest_memfd), with `aops` from [`unmovable_aops`].
    ///
    /// # Safety
    ///
    /// Nobody else may use the mapping yet (its inode is not visible to anyone).
    pub(crate) unsafe fn set_unmovable(
        &self,
        gfp: Gfp,
        aops: &'static bindings::address_space_operations,
    ) {
        // SAFETY: `self.as_ptr()` is valid by the type invariant, and unused (caller); the table is
        // static.
        unsafe {
            bindings::rust_gmem_mapping_set_gfp_mask(self.as_ptr(), gfp);
            bindings::rust_gmem_mapping_set_inaccessible(self.as_ptr());
            (*self.as_ptr()).a_ops = aops;
        }
    }

    /// The number of pages in the page cache.
    pub(crate) fn nr_pages(&self) -> usize {
        // SAFETY: The mapping is valid; the helper reads the counter once.
        unsafe { bindings::rust_gmem_mapping_nrpages(self.as_ptr()) }
    }

    /// Returns the folio at `index`, locked, or `None` if the page cache has none there.
    pub(crate) fn lock_folio(
        &self,
        index: usize,
        _guard: &(impl InvalidateLockHeld + ?Sized),
    ) -> Result<Option<LockedFolio>> {
        // SAFETY: The mapping is valid.
        folio::lookup_result(unsafe {
            bindings::rust_gmem_filemap_lock_folio(self.as_ptr(), index)
        })
    }

    /// Adds `folio` to the page cache at `index` and returns it locked. Fails with `EEXIST` if another
    /// folio got there first.
    pub(crate) fn add_folio(
        &self,
        folio: NewFolio,
        index: usize,
        gfp: Gfp,
        _guard: &(impl InvalidateLockHeld + ?Sized),
    ) -> Result<LockedFolio> {
        // SAFETY: The mapping is valid, and `folio` belongs to no mapping and is not locked
        // (`NewFolio` invariant), as `filemap_add_folio()` requires.
        to_result(unsafe {
            bindings::filemap_add_folio(self.as_ptr(), folio.as_ptr(), index, gfp)
        })?;
        // SAFETY: `filemap_add_folio()` returns the folio locked on success.
        Ok(unsafe { LockedFolio::from_locked(folio.into_folio()) })
    }

    /// Adds `folio` to the page cache at `index` without putting it on the LRU (and without a memcg
    /// charge), as hugetlbfs adds its folios, and returns it locked. On failure (`EEXIST` if a
    /// folio is there, `ENOMEM` if the page cache cannot grow, never with `__GFP_NOFAIL` in `gfp`)
    /// the folio is given back.
    #[cfg(rust_gmem_hugetlb)]
    pub(crate) fn add_folio_nolru(
        &self,
        folio: NewFolio,
        index: usize,
        gfp: Gfp,
        _guard: &(impl InvalidateLockHeld + ?Sized),
    ) -> Result<LockedFolio, (Error, NewFolio)> {
        // SAFETY: The mapping is valid and `folio` belongs to no mapping (`NewFolio` invariant).
        // The helper locks the folio atomically, so a lookup that still holds it is harmless.
        let ret = unsafe {
            bindings::rust_gmem_filemap_add_folio_nolru(self.as_ptr(), folio.as_ptr(), index, gfp)
        };
        if ret != 0 {
            return Err((Error::from_errno(ret), folio));
        }
        // SAFETY: The helper returns the folio locked on success.
        Ok(unsafe { LockedFolio::from_locked(folio.into_folio()) })
    }

    /// Takes a locked folio of this page cache back out of it (lookups that found it meanwhile wait
    /// for the lock, then see that it is gone and retry). A folio of another mapping, or one that
    /// cannot be removed, is given back.
    #[cfg(rust_gmem_hugetlb)]
    pub(crate) fn remove_locked(
        &self,
        folio: LockedFolio,
        _guard: &(impl InvalidateLockHeld + ?Sized),
    ) -> Result<NewFolio, LockedFolio> {
        // SAFETY: The folio is locked (`LockedFolio`), which keeps its `mapping` field stable.
        let in_self = core::ptr::eq(
            unsafe { bindings::rust_gmem_folio_mapping(folio.as_ptr()) },
            self.as_ptr(),
        );
        if !in_self {
            return Err(folio);
        }
        // SAFETY: The folio is locked and in this mapping (checked above), as
        // `generic_error_remove_folio()` requires; it removes it or fails, changing nothing.
        let ret = unsafe { bindings::generic_error_remove_folio(self.as_ptr(), folio.as_ptr()) };
        if ret != 0 {
            return Err(folio);
        }
        let folio_ref: ARef<Folio> = (&*folio).into();
        drop(folio);
        // SAFETY: The folio was just taken out of the page cache, and the lock held meanwhile kept
        // anyone from adding it anywhere else.
        Ok(unsafe { NewFolio::adopt(folio_ref) })
    }

    /// Takes the folios of pages `first..=last` out of the page cache (unmapping them from userspace
    /// first) and returns them, in index order, with the references that keep them alive. The
    /// range must cover whole folios.
    #[cfg(rust_gmem_hugetlb)]
    pub(crate) fn detach_folios(
        &self,
        first: usize,
        last: usize,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result<KVVec<NewFolio>> {
        let mut folios = KVVec::new();
        let full = self.for_each_folio(first, last, guard, |folio| {
            if folio.index() < first || folio.index() + folio.nr_pages() - 1 > last {
                return ControlFlow::Break(EINVAL);
            }
            // SAFETY: The folio is taken out of the page cache below, before this function hands
            // it out; on an early return the references are only dropped.
            let folio = unsafe { NewFolio::adopt(folio.into()) };
            match folios.push(folio, GFP_KERNEL) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(ENOMEM),
            }
        });
        if let Some(e) = full {
            return Err(e);
        }
        // Every folio of the range is whole inside it (checked above), so truncation removes each
        // one; under the invalidate lock held exclusive nobody adds one back.
        self.truncate_pages(first, last, guard);
        Ok(folios)
    }

    /// Removes pages `first..=last` from the page cache, unmapping them from userspace first.
    pub(crate) fn truncate_pages(
        &self,
        first: usize,
        last: usize,
        _guard: &InvalidateWriteGuard<'_>,
    ) {
        // Byte offsets as `loff_t`s; past the largest one, "to the end of the file".
        let bytes = |index: usize| {
            i64::try_from(index)
                .ok()
                .and_then(|i| i.checked_mul(PAGE_SIZE as i64))
        };
        let start = bytes(first).unwrap_or(i64::MAX);
        let end = last
            .checked_add(1)
            .and_then(bytes)
            .map_or(i64::MAX, |e| e - 1);
        // SAFETY: The mapping is valid and its invalidate lock is held exclusive.
        unsafe { bindings::truncate_inode_pages_range(self.as_ptr(), start, end) };
    }

    /// Removes every userspace mapping of pages `first..first + nr`.
    pub(crate) fn unmap_pages(&self, first: usize, nr: usize) {
        // SAFETY: The mapping is valid. COW copies in private mappings are left alone.
        unsafe { bindings::unmap_mapping_pages(self.as_ptr(), first, nr, false) };
    }

    /// Calls `f` on each folio that has a page in `first..=last`, in index order, with a reference
    /// held, until `f` breaks.
    pub(crate) fn for_each_folio<B>(
        &self,
        first: usize,
        last: usize,
        _guard: &(impl InvalidateLockHeld + ?Sized),
        mut f: impl FnMut(&Folio) -> ControlFlow<B>,
    ) -> Option<B> {
        let mut index = first;
        let mut batch = bindings::folio_batch::default();
        loop {
            // SAFETY: `batch` is a valid local.
            unsafe { bindings::rust_gmem_folio_batch_init(&mut batch) };
            // Releasing a batch would first drain this CPU's LRU caches, to free its pages sooner;
            // ours stay in the page cache, and callers that care about those caches drain them
            // themselves.
            batch.percpu_pvec_drained = true;
            // SAFETY: The mapping is valid; the batch gets one reference per folio it returns.
            let n = unsafe {
                bindings::filemap_get_folios(self.as_ptr(), &mut index, last, &mut batch)
            } as usize;
            if n == 0 {
                return None;
            }
            let mut out = None;
            for &raw in &batch.folios[..n] {
                // SAFETY: The batch holds a reference on each folio until it is released below.
                if let ControlFlow::Break(b) = f(unsafe { Folio::from_raw(raw) }) {
                    out = Some(b);
                    break;
                }
            }
            // SAFETY: Drops the batch's references.
            unsafe { bindings::__folio_batch_release(&mut batch) };
            // `index` is past the last folio returned; it wraps to 0 after the last index.
            if out.is_some() || index == 0 || index > last {
                return out;
            }
        }
    }
}

/// `migrate_folio` for mappings whose folios must not move.
///
/// # Safety
///
/// Called by the migration code with valid arguments.
unsafe extern "C" fn refuse_migrate_folio(
    _mapping: *mut bindings::address_space,
    _dst: *mut bindings::folio,
    _src: *mut bindings::folio,
    _mode: bindings::migrate_mode,
) -> c_int {
    // The mapping is inaccessible, so compaction and migration must never get here: report it as
    // the bug it is (the test runner fails on "BUG:").
    kernel::pr_err!("BUG: migration of an unmovable folio refused\n");
    EINVAL.to_errno()
}

/// An `error_remove_folio` callback: it must keep the folio in the file and return `MF_DELAYED`.
pub(crate) type ErrorRemoveFolio =
    unsafe extern "C" fn(*mut bindings::address_space, *mut bindings::folio) -> c_int;

/// The address-space operations of an unmovable mapping (see [`Mapping::set_unmovable`]), with
/// `error_remove_folio` called on a memory failure.
pub(crate) const fn unmovable_aops(
    error_remove_folio: ErrorRemoveFolio,
) -> bindings::address_space_operations {
    bindings::address_space_operations {
        dirty_folio: Some(bindings::noop_dirty_folio),
        migrate_folio: Some(refuse_migrate_folio),
        error_remove_folio: Some(error_remove_folio),
        // SAFETY: All-zero is a valid table (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
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
