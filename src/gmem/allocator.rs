// SPDX-License-Identifier: GPL-2.0

//! The allocator ops table: how a guest_memfd file gets, restructures and returns its memory.
//!
//! Every file has one allocator, chosen at creation from the flags and dropped with the inode (set-up
//! and teardown). The guest_memfd code calls only the [`Allocator`] trait, through
//! [`FileAllocator::ops`], so a huge-page allocator plugs in as another variant without touching the
//! callers, as the RFC's `guestmem_allocator_operations` intended. The default is [`Order0`]: one
//! 4 KiB page per folio. (An enum rather than `KBox<dyn Allocator>`: 6.12's `KBox` cannot
//! coerce to a trait object.)

use crate::kernel_ext::folio::{Folio, NewFolio};
use crate::kernel_ext::mapping::{InvalidateWriteGuard, Mapping};
use crate::kernel_ext::uapi;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// The operations of a guest_memfd allocator. Page indices are the file's.
pub(crate) trait Allocator: Send + Sync {
    /// A name for debugfs.
    fn name(&self) -> &'static str;

    /// The number of pages in each folio this allocator hands out.
    fn pages_per_folio(&self) -> usize;

    /// Allocates a folio for the pages starting at `index` (a multiple of
    /// [`pages_per_folio`](Allocator::pages_per_folio)). The folio is not yet in the page cache, and
    /// not zeroed: the file zeroes a folio before its first use (as mainline and shmem do, so that
    /// `fallocate` does not pay for it).
    fn alloc_folio(&self, index: usize) -> Result<NewFolio>;

    /// Frees the memory of pages `first..=last` (whole folios): unmaps and removes them from the page
    /// cache and returns them to where they came from.
    fn free_range(
        &self,
        mapping: &Mapping,
        first: usize,
        last: usize,
        guard: &InvalidateWriteGuard<'_>,
    );

    /// Splits every folio overlapping `first..=last` into order-0 folios, keeping the contents, before
    /// part of it becomes shared. All or nothing: on failure nothing is split.
    fn split(
        &self,
        mapping: &Mapping,
        first: usize,
        last: usize,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result;

    /// Merges the order-0 folios of each huge folio overlapping `first..=last` back into one, keeping
    /// the contents, once all of it is private again.
    fn merge(
        &self,
        mapping: &Mapping,
        first: usize,
        last: usize,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result;
}

/// Order-0 pages from the page allocator: the default allocator.
pub(crate) struct Order0;

impl Allocator for Order0 {
    fn name(&self) -> &'static str {
        "order-0"
    }

    fn pages_per_folio(&self) -> usize {
        1
    }

    fn alloc_folio(&self, _index: usize) -> Result<NewFolio> {
        // Unmovable: no __GFP_MOVABLE.
        Folio::alloc(uapi::GFP_HIGHUSER, 0)
    }

    fn free_range(
        &self,
        mapping: &Mapping,
        first: usize,
        last: usize,
        guard: &InvalidateWriteGuard<'_>,
    ) {
        let start = (first * PAGE_SIZE) as i64;
        let end = ((last + 1) * PAGE_SIZE) as i64 - 1;
        mapping.truncate_range(start, end, guard);
    }

    // Order-0 folios are never large: there is nothing to split or merge.
    fn split(&self, _: &Mapping, _: usize, _: usize, _: &InvalidateWriteGuard<'_>) -> Result {
        Ok(())
    }

    fn merge(&self, _: &Mapping, _: usize, _: usize, _: &InvalidateWriteGuard<'_>) -> Result {
        Ok(())
    }
}

/// The allocator of one file.
pub(crate) enum FileAllocator {
    /// Order-0 pages.
    Order0(Order0),
}

impl FileAllocator {
    /// Sets up the allocator for a new file created with `flags`.
    pub(crate) fn new(_flags: u64) -> Result<Self> {
        Ok(Self::Order0(Order0))
    }

    /// The operations of the file's allocator.
    pub(crate) fn ops(&self) -> &dyn Allocator {
        match self {
            Self::Order0(a) => a,
        }
    }
}
