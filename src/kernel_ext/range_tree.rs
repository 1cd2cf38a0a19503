// SPDX-License-Identifier: GPL-2.0

//! A maple tree of index ranges holding small integers, locked by a mapping's invalidate lock.
//!
//! C header: [`include/linux/maple_tree.h`](srctree/include/linux/maple_tree.h)
//!
//! Not a backport: mainline's `kernel::maple_tree::RangeTree` (6.18) uses the tree's internal
//! spinlock, deliberately offers no external lock and no lockless loads, and stores owned pointers.
//! guest_memfd needs the opposite on all counts: the tree is protected by an external lock (the
//! mapping's `invalidate_lock`, declared with `MT_FLAGS_LOCK_EXTERN` and `mt_set_external_lock()` so
//! that lockdep checks every access), KVM reads it locklessly under RCU, and the entries are small
//! integers stored as xarray value entries, which own nothing. Every locked access takes a guard of
//! that lock as proof. Hence its own name, [`RangeTree`].

use super::mapping::{InvalidateLockHeld, InvalidateWriteGuard, Mapping};
use crate::bindings;
use core::marker::PhantomData;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The largest value an entry can hold (xarray value entries lose the top bit).
pub(crate) const MAX_VALUE: usize = usize::MAX >> 1;

/// One range of equal value in a [`RangeTree`]: indices `first..=last` hold `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The first index of the range.
    pub(crate) first: usize,
    /// The last index of the range, inclusive.
    pub(crate) last: usize,
    /// The value stored for every index of the range.
    pub(crate) value: usize,
}

/// A maple tree that maps index ranges to small integers, protected by a mapping's invalidate lock.
/// An inode makes one for its private part with `NewInodeCtx::range_tree`.
///
/// # Invariants
///
/// - `tree` was initialised with `MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU` and the invalidate lock of
///   `mapping` as its external lock, and `mapping` outlives the tree.
/// - Every entry of `tree` is an xarray value entry.
#[pin_data(PinnedDrop)]
pub(crate) struct RangeTree {
    #[pin]
    tree: Opaque<bindings::maple_tree>,
    mapping: *const Mapping,
}

// SAFETY: The tree is only reached under the mapping's invalidate lock, which any thread may hold.
unsafe impl Send for RangeTree {}
// SAFETY: Shared references only read or write the tree with a guard of the invalidate lock.
unsafe impl Sync for RangeTree {}

impl RangeTree {
    /// Creates an empty tree whose external lock is `mapping`'s invalidate lock.
    ///
    /// # Safety
    ///
    /// `mapping` must stay valid for as long as the tree exists.
    pub(crate) unsafe fn new(mapping: &Mapping) -> impl PinInit<Self> {
        let mapping_ptr: *const Mapping = mapping;
        let lock = mapping.invalidate_lock_ptr();
        // INVARIANT: The tree gets the external-lock and RCU flags and `mapping`'s invalidate lock; the caller
        // guarantees that the mapping outlives it. The new tree is empty.
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the helper only initialises the tree's fields.
            tree <- Opaque::ffi_init(|slot| unsafe {
                bindings::rust_gmem_mt_init_external(slot, lock)
            }),
            mapping: mapping_ptr,
        })
    }

    fn check_guard(&self, guard: &impl InvalidateLockHeld) -> Result {
        // A guard of another mapping's lock would be a bug in the caller: refuse rather than touch
        // the tree unlocked.
        if core::ptr::eq(guard.mapping(), self.mapping) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    fn ma_state(&self, first: usize, last: usize) -> bindings::ma_state {
        let mut mas = bindings::ma_state::default();
        // SAFETY: `mas` is a valid local, and `self.tree` is an initialised tree (type invariant).
        unsafe { bindings::rust_gmem_mas_init(&mut mas, self.tree.get(), first, last) };
        mas
    }

    /// Returns the range that contains `index`, or `None` where the tree has no entry.
    pub(crate) fn load(&self, index: usize, guard: &impl InvalidateLockHeld) -> Option<Entry> {
        self.check_guard(guard).ok()?;
        let mut mas = self.ma_state(index, index);
        // SAFETY: The external lock is held (`guard`), and `mas` walks `self.tree`.
        let entry = unsafe { bindings::mas_walk(&mut mas) };
        Self::entry(&mas, entry)
    }

    /// Returns the value at `index` without the lock, or `None` where the tree has no entry.
    ///
    /// The tree is in RCU mode, so this sees either the old or the new value of a concurrent store,
    /// never a torn one; callers that need more order it with a sequence count of their own (KVM's
    /// `mmu_invalidate_seq`). Does not sleep.
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn load_lockless(&self, index: usize) -> Option<usize> {
        // SAFETY: The tree is initialised (type invariant) and in RCU mode; `mtree_load()` takes the
        // RCU read lock itself.
        let entry = unsafe { bindings::mtree_load(self.tree.get(), index) };
        if entry.is_null() {
            return None;
        }
        // SAFETY: Value entries are all the tree holds (type invariant).
        Some(unsafe { bindings::rust_gmem_xa_to_value(entry) })
    }

    /// Allocates what storing `value` over `first..=last` needs, without changing the tree; the
    /// returned [`PreparedStore`] then applies it without failing.
    pub(crate) fn prepare_store<'a>(
        &'a self,
        first: usize,
        last: usize,
        value: usize,
        guard: &'a InvalidateWriteGuard<'_>,
    ) -> Result<PreparedStore<'a>> {
        self.check_guard(guard)?;
        if first > last || value > MAX_VALUE {
            return Err(EINVAL);
        }
        let mut mas = self.ma_state(first, last);
        // SAFETY: Any value may be converted to a value entry.
        let entry = unsafe { bindings::rust_gmem_xa_mk_value(value) };
        // SAFETY: The external lock is held exclusive (`guard`) and `mas` walks `self.tree`.
        to_result(unsafe { bindings::mas_preallocate(&mut mas, entry, bindings::GFP_KERNEL) })?;
        Ok(PreparedStore {
            mas,
            entry,
            _guard: PhantomData,
        })
    }

    /// Returns an iterator over the ranges that intersect `first..=last`, in index order.
    pub(crate) fn ranges<'a, G: InvalidateLockHeld>(
        &'a self,
        first: usize,
        last: usize,
        guard: &'a G,
    ) -> Result<Ranges<'a, G>> {
        self.check_guard(guard)?;
        Ok(Ranges {
            mas: self.ma_state(first, first),
            max: last,
            _tree: PhantomData,
        })
    }

    /// The number of nodes of the tree and the memory they take (a node is a `struct maple_node`).
    pub(crate) fn nodes(&self, guard: &impl InvalidateLockHeld) -> Result<(usize, usize)> {
        self.check_guard(guard)?;
        // SAFETY: The tree is initialised (type invariant) and its external lock is held (`guard`),
        // as the walk needs.
        let count = unsafe { bindings::rust_gmem_mt_node_count(self.tree.get()) };
        Ok((count, count * core::mem::size_of::<bindings::maple_node>()))
    }

    fn entry(mas: &bindings::ma_state, entry: *mut kernel::ffi::c_void) -> Option<Entry> {
        if entry.is_null() {
            return None;
        }
        // SAFETY: Any pointer may be tested; value entries are all the tree holds (type invariant).
        let value = unsafe { bindings::rust_gmem_xa_to_value(entry) };
        Some(Entry {
            first: mas.index,
            last: mas.last,
            value,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RangeTree {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The mapping outlives the tree (type invariant).
        let mapping = unsafe { &*self.mapping };
        let _guard = mapping.invalidate_lock();
        // SAFETY: The external lock is held exclusive; the entries own nothing, so destroying the
        // tree only frees its nodes.
        unsafe { bindings::__mt_destroy(self.tree.get()) };
    }
}

/// A store into a [`RangeTree`] whose memory is allocated; dropping it without [`commit`] frees that.
///
/// [`commit`]: PreparedStore::commit
///
/// # Invariants
///
/// `mas` was preallocated for storing `entry` over its range, under the tree's external lock held
/// exclusive for `'a`.
pub(crate) struct PreparedStore<'a> {
    mas: bindings::ma_state,
    entry: *mut kernel::ffi::c_void,
    _guard: PhantomData<&'a ()>,
}

impl PreparedStore<'_> {
    /// Applies the store. Cannot fail.
    pub(crate) fn commit(self) {
        let mut this = core::mem::ManuallyDrop::new(self);
        // SAFETY: The nodes were preallocated for this entry and range, under the lock still held
        // (type invariant). `mas_store_prealloc()` frees what it does not use.
        unsafe { bindings::mas_store_prealloc(&mut this.mas, this.entry) };
    }
}

impl Drop for PreparedStore<'_> {
    fn drop(&mut self) {
        // SAFETY: Frees the preallocated nodes of a store that was not applied.
        unsafe { bindings::mas_destroy(&mut self.mas) };
    }
}

/// An iterator over the ranges of a [`RangeTree`], holding the tree's lock through a borrowed guard.
pub(crate) struct Ranges<'a, G> {
    mas: bindings::ma_state,
    max: usize,
    _tree: PhantomData<(&'a RangeTree, &'a G)>,
}

impl<G: InvalidateLockHeld> Iterator for Ranges<'_, G> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        // SAFETY: `mas` was set up on the tree, whose external lock is held for `'a` by the borrowed
        // guard.
        let entry = unsafe { bindings::mas_find(&mut self.mas, self.max) };
        RangeTree::entry(&self.mas, entry)
    }
}
