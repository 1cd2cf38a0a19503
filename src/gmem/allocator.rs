// SPDX-License-Identifier: GPL-2.0

//! The allocator ops table: how a guest_memfd file gets, restructures and returns its memory.
//!
//! Every file has one allocator, chosen at creation from the flags and dropped with the inode (set-up
//! and teardown). The guest_memfd code calls only the [`Allocator`] trait, through
//! [`FileAllocator::ops`], so the huge-page allocator plugs in as another variant without touching
//! the callers, as the RFC's `guestmem_allocator_operations` intended. [`Order0`] hands out one
//! 4 KiB page per folio; [`Hugetlb`] one huge page per block of the file, from the hugetlb pool.
//! (An enum rather than `KBox<dyn Allocator>`: 6.12's `KBox` cannot coerce to a trait object.)
//!
//! # Blocks, splitting and merging
//!
//! The file is cut into [`Allocator::blocks`] (of one page for order 0). A block is empty, or holds
//! one folio (a huge folio, for [`Hugetlb`]), or, split, one order-0 folio per page, never a mix.
//! The rule the conversion code keeps: a block with a shared page is split (only order-0 folios are
//! mapped by the host); a block whose pages are all private is merged back when possible. The
//! allocation of a block that already has a shared page splits it at once.

use super::range::{Blocks, Pages};
use crate::kernel_ext::folio::{Folio, LockedFolio};
use crate::kernel_ext::gfp::GFP_HIGHUSER;
use crate::kernel_ext::mapping::{InvalidateLockHeld, InvalidateWriteGuard, Mapping};
use crate::kernel_ext::uapi;
use core::fmt;
use kernel::prelude::*;

/// The operations of a guest_memfd allocator. Page indices are the file's.
pub(crate) trait Allocator: Send + Sync {
    /// A name for debugfs.
    fn name(&self) -> &'static str;

    /// How the file is cut into blocks, each of which is one unsplit folio.
    fn blocks(&self) -> Blocks;

    /// Fills the empty block that starts at `base` and returns the locked folio holding page
    /// `index`: one new folio, or order-0 folios if `split` (a page of the block is shared). New
    /// folios are not zeroed: the file zeroes a folio before its first use (as mainline and shmem
    /// do, so that `fallocate` does not pay for it). With more than one page per folio the caller
    /// holds the file's allocation lock, so nobody else fills the block meanwhile; otherwise
    /// `EEXIST` says someone did.
    fn populate(
        &self,
        mapping: &Mapping,
        base: usize,
        index: usize,
        split: bool,
        guard: &dyn InvalidateLockHeld,
    ) -> Result<LockedFolio>;

    /// Frees the memory of the whole blocks in `range` (hole punching): unmaps them, removes them
    /// from the page cache and returns them to where they came from. `EAGAIN` if a split huge page
    /// has a page someone still holds (a pin); the blocks before it are freed.
    fn free_range(
        &self,
        mapping: &Mapping,
        range: Pages,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result;

    /// Gives back everything before the inode goes (whatever is left in the page cache afterwards is
    /// truncated as usual). Must not fail: what cannot be given back whole is given up.
    fn release_all(&self, _mapping: &Mapping, _guard: &InvalidateWriteGuard<'_>) {}

    /// Splits every block overlapping `range` that holds a huge folio into order-0 folios,
    /// keeping the contents, before part of it becomes shared. On failure, the index of the block
    /// that failed (earlier blocks stay split; [`Allocator::merge`] undoes them).
    fn split(
        &self,
        mapping: &Mapping,
        range: Pages,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result<(), (Error, usize)>;

    /// Merges each split block in `range` (whole blocks, all of whose pages the caller knows to be
    /// private) back into one huge folio, keeping the contents. A block that cannot be merged (a
    /// page is still held) stays split, which is correct, only slower for the guest.
    fn merge(&self, mapping: &Mapping, range: Pages, guard: &InvalidateWriteGuard<'_>);

    /// Writes allocator-specific lines of the file's debugfs view.
    fn show(
        &self,
        _mapping: &Mapping,
        _guard: &dyn InvalidateLockHeld,
        _f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        Ok(())
    }
}

/// Order-0 pages from the page allocator: the default allocator.
pub(crate) struct Order0;

impl Allocator for Order0 {
    fn name(&self) -> &'static str {
        "order-0"
    }

    fn blocks(&self) -> Blocks {
        Blocks::ORDER0
    }

    fn populate(
        &self,
        mapping: &Mapping,
        base: usize,
        _index: usize,
        _split: bool,
        guard: &dyn InvalidateLockHeld,
    ) -> Result<LockedFolio> {
        // Unmovable: no __GFP_MOVABLE.
        let folio = Folio::alloc(GFP_HIGHUSER, 0)?;
        mapping.add_folio(folio, base, GFP_HIGHUSER, guard)
    }

    fn free_range(
        &self,
        mapping: &Mapping,
        range: Pages,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result {
        mapping.truncate_pages(range.first, range.last, guard);
        Ok(())
    }

    // Order-0 folios are never large: there is nothing to split or merge.
    fn split(
        &self,
        _: &Mapping,
        _: Pages,
        _: &InvalidateWriteGuard<'_>,
    ) -> Result<(), (Error, usize)> {
        Ok(())
    }

    fn merge(&self, _: &Mapping, _: Pages, _: &InvalidateWriteGuard<'_>) {}
}

/// The allocator of one file.
pub(crate) enum FileAllocator {
    /// Order-0 pages.
    Order0(Order0),
    /// Huge pages from the hugetlb pool.
    #[cfg(rust_gmem_hugetlb)]
    Hugetlb(hugetlb::Hugetlb),
}

impl FileAllocator {
    /// Sets up the allocator for a new file of `pages` pages created with `flags` (already checked
    /// against the valid flags). `EINVAL` for a huge page size the kernel has no pool for or a size
    /// that is not a multiple of it, `ENOMEM` if the pool cannot reserve the file's huge pages,
    /// `EOPNOTSUPP` for huge pages on a kernel without `patches/0003-*.patch`.
    pub(crate) fn new(flags: u64, pages: usize) -> Result<Self> {
        let log2_size =
            (flags >> uapi::GUESTMEM_HUGETLB_FLAG_SHIFT) & uapi::GUESTMEM_HUGETLB_FLAG_MASK;
        if flags & uapi::GUEST_MEMFD_FLAG_HUGETLB == 0 {
            // A page size means nothing without the flag.
            if log2_size != 0 {
                return Err(EINVAL);
            }
            return Ok(Self::Order0(Order0));
        }
        #[cfg(rust_gmem_hugetlb)]
        {
            Ok(Self::Hugetlb(hugetlb::Hugetlb::new(
                log2_size as u32,
                pages,
            )?))
        }
        #[cfg(not(rust_gmem_hugetlb))]
        {
            let _ = pages;
            Err(crate::kernel_ext::errno::eopnotsupp())
        }
    }

    /// The operations of the file's allocator.
    pub(crate) fn ops(&self) -> &dyn Allocator {
        match self {
            Self::Order0(a) => a,
            #[cfg(rust_gmem_hugetlb)]
            Self::Hugetlb(a) => a,
        }
    }
}

#[cfg(rust_gmem_hugetlb)]
mod hugetlb;

/// Writes the module-wide allocator counters of debugfs' `stats`.
pub(crate) fn show_stats(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    #[cfg(rust_gmem_hugetlb)]
    {
        use core::sync::atomic::Ordering::Relaxed;
        writeln!(f, "hugetlb_splits: {}", hugetlb::SPLITS.load(Relaxed))?;
        writeln!(f, "hugetlb_merges: {}", hugetlb::MERGES.load(Relaxed))?;
        writeln!(f, "hugetlb_forgotten: {}", hugetlb::FORGOTTEN.load(Relaxed))?;
    }
    #[cfg(not(rust_gmem_hugetlb))]
    let _ = f;
    Ok(())
}
