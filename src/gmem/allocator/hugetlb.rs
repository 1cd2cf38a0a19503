// SPDX-License-Identifier: GPL-2.0

//! The hugetlb allocator: each block of the file is one huge page (2 MiB or 1 GiB) from the hugetlb
//! pool, reserved for the file when it is created, as the RFC's `guestmem_hugetlb`.
//!
//! Huge folios and the order-0 folios split from them are kept off the LRU (as hugetlbfs keeps its
//! folios), so a page's only expected reference is the page cache's. A split block always has all
//! its pages in the page cache: it is only ever freed whole, merged back first, so the pool gets
//! back the huge page it lent (and its free and reserved counts are as before).
//!
//! Restructuring a block takes its folios out of the page cache (so no lookup can find them),
//! changes them, and puts the result back. Putting back what was there before cannot fail: it uses
//! `__GFP_NOFAIL` for the few page-cache nodes it may need, which is how a failed split or merge is
//! rolled back without losing data.
//!
//! A block with a poisoned page (memory failure) is never merged, and a poisoned huge folio is
//! never split: nobody can use their pages either way. When such a block is freed, its huge page
//! leaves the pool ([`Subpool::forget`]): the healthy pages of a split block go back to the page
//! allocator, a poisoned huge folio is kept for good, and the file's reservation stays backed.

use super::super::range::{Blocks, Pages};
use super::Allocator;
use crate::kernel_ext::folio::{ExclusiveFolio, LockedFolio, NewFolio};
use crate::kernel_ext::gfp::{self, GFP_HIGHUSER};
use crate::kernel_ext::hugetlb::{Hstate, Subpool};
use crate::kernel_ext::lru;
use crate::kernel_ext::mapping::{InvalidateLockHeld, InvalidateWriteGuard, Mapping};
use crate::kernel_ext::sched;
use core::fmt;
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::alloc::KVVec;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// Huge folios split into order-0 folios, module-wide; shown in debugfs.
pub(crate) static SPLITS: AtomicUsize = AtomicUsize::new(0);
/// Split blocks merged back into huge folios, module-wide; shown in debugfs.
pub(crate) static MERGES: AtomicUsize = AtomicUsize::new(0);
/// Split huge pages given up because a page was still held when the file went; shown in debugfs.
pub(crate) static FORGOTTEN: AtomicUsize = AtomicUsize::new(0);

/// How many times a merge that found a page busy is retried before the block stays split: lookups
/// that raced with the restructuring drop their references within a few reschedules.
const MERGE_RETRIES: usize = 8;

/// Loops over the pages of a block reschedule this often (a 1 GiB block has 262144 pages).
const RESCHED_EVERY: usize = 512;

/// What a block of the file holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Nothing.
    Empty,
    /// One huge folio, `poisoned` if memory failure marked it.
    Huge { poisoned: bool },
    /// One order-0 folio per page.
    Split,
}

/// Huge pages of one size, reserved for one file.
pub(crate) struct Hugetlb {
    pool: Subpool,
    /// One block per huge page.
    blocks: Blocks,
    name: &'static str,
}

impl Hugetlb {
    /// Reserves the huge pages of a file of `file_pages` pages, in pages of `1 << log2_size` bytes.
    pub(crate) fn new(log2_size: u32, file_pages: usize) -> Result<Self> {
        let name = match log2_size {
            21 => "hugetlb-2M",
            30 => "hugetlb-1G",
            // The uAPI names these two sizes; x86 has no other.
            _ => return Err(EINVAL),
        };
        let hstate = Hstate::of_size_log(log2_size).ok_or(EINVAL)?;
        let blocks = Blocks::new(hstate.pages_per_huge_page()).ok_or(EINVAL)?;
        // Whole huge pages only.
        let nr = blocks.count(file_pages).ok_or(EINVAL)?;
        Ok(Self {
            pool: Subpool::new(hstate, nr)?,
            blocks,
            name,
        })
    }

    /// The pages of the block that starts at `base`.
    fn block(&self, base: usize) -> Pages {
        Pages {
            first: base,
            last: base + (self.blocks.pages() - 1),
        }
    }

    /// What the block at `base` holds, judged by its first folio.
    fn block_state(&self, mapping: &Mapping, base: usize, guard: &dyn InvalidateLockHeld) -> Block {
        mapping
            .for_each_folio(base, base, guard, |f| {
                ControlFlow::Break(if f.nr_pages() == 1 {
                    Block::Split
                } else {
                    Block::Huge {
                        poisoned: f.is_hwpoison(),
                    }
                })
            })
            .unwrap_or(Block::Empty)
    }

    /// Puts a folio back at `index` after a failed restructuring; cannot fail: only a folio just
    /// taken out goes back, so the slot is free, and `__GFP_NOFAIL` gets the page-cache nodes.
    fn put_back(mapping: &Mapping, folio: NewFolio, index: usize, guard: &dyn InvalidateLockHeld) {
        let gfp = gfp::GFP_KERNEL | gfp::__GFP_NOFAIL;
        // Unlocks at once; an error is impossible (see above) and would only drop our reference.
        drop(mapping.add_folio_nolru(folio, index, gfp, guard));
    }

    /// Puts the pages of a split block starting at `base` back, in order, after a failed merge;
    /// cannot fail (see [`Self::put_back`]).
    fn put_back_pages(
        mapping: &Mapping,
        pages: KVVec<NewFolio>,
        base: usize,
        guard: &dyn InvalidateLockHeld,
    ) {
        for (i, page) in pages.into_iter().enumerate() {
            Self::put_back(mapping, page, base + i, guard);
            if i % RESCHED_EVERY == 0 {
                sched::cond_resched();
            }
        }
    }

    /// Merges `pages` (a split block, taken out of the page cache) to stay in the file. The
    /// contents are kept: if no page was ever used, the merged folio is not up to date either
    /// (zeroed on its first use, as a new one); otherwise the pages never used are zeroed first,
    /// and the merged folio is up to date.
    fn merge_pages(&self, pages: KVVec<NewFolio>) -> Result<NewFolio, KVVec<NewFolio>> {
        let used = pages.iter().any(|p| p.is_uptodate());
        // No zeroing for a block that cannot merge anyway.
        if used && !pages.iter().any(|p| p.is_hwpoison()) {
            for (i, page) in pages.iter().enumerate() {
                if !page.is_uptodate() {
                    page.zero();
                    page.mark_uptodate();
                }
                if i % RESCHED_EVERY == 0 {
                    sched::cond_resched();
                }
            }
        }
        let folio = self.merge_to_free(pages)?;
        if used {
            folio.mark_uptodate();
        }
        Ok(folio)
    }

    /// Merges `pages` (a split block, taken out of the page cache) as they are, retrying while a
    /// lookup that raced with us still holds one; the merged folio is not up to date. Enough for a
    /// huge page going back to the pool, which hands pages out not up to date, to be zeroed on
    /// their first use. A poisoned page can never be part of a huge folio again.
    fn merge_to_free(&self, pages: KVVec<NewFolio>) -> Result<NewFolio, KVVec<NewFolio>> {
        if pages.iter().any(|p| p.is_hwpoison()) {
            return Err(pages);
        }
        let mut pages = pages;
        for _ in 0..MERGE_RETRIES {
            match self.pool.merge(pages) {
                Ok(folio) => {
                    MERGES.fetch_add(1, Ordering::Relaxed);
                    return Ok(folio);
                }
                Err((_, back)) => pages = back,
            }
            sched::cond_resched();
        }
        Err(pages)
    }

    /// Merges `pages` and frees the huge page, or, if a page is still held or poisoned, gives the
    /// huge page up ([`Subpool::forget`]): the pool shrinks by one, and a held page is freed when
    /// let go (a poisoned one never is).
    fn free_pages(&self, pages: KVVec<NewFolio>) {
        match self.merge_to_free(pages) {
            // The last reference: back to the pool.
            Ok(folio) => drop(folio),
            Err(pages) => self.forget(pages),
        }
    }

    /// Gives up the huge page of a block whose folios were taken out of the page cache and cannot
    /// go back to the pool whole: a split block with a held or poisoned page, or a poisoned huge
    /// folio ([`Subpool::forget`]).
    fn forget(&self, folios: KVVec<NewFolio>) {
        FORGOTTEN.fetch_add(1, Ordering::Relaxed);
        self.pool.forget(folios);
    }

    /// Whether a page of the block at `base` is poisoned.
    fn block_poisoned(
        &self,
        mapping: &Mapping,
        base: usize,
        guard: &dyn InvalidateLockHeld,
    ) -> bool {
        let block = self.block(base);
        mapping
            .for_each_folio(block.first, block.last, guard, |f| {
                if f.is_hwpoison() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .is_some()
    }

    /// Adds the pages of a split block at `base`, keeping them locked until all are in (a lookup
    /// that finds one waits until the block is complete or taken back). On failure every page is
    /// taken back out and returned, in order.
    fn insert_split(
        &self,
        mapping: &Mapping,
        base: usize,
        pages: KVVec<NewFolio>,
        guard: &dyn InvalidateLockHeld,
    ) -> Result<KVVec<LockedFolio>, (Error, KVVec<NewFolio>)> {
        let n = pages.len();
        // Both allocated first, so that the rollback cannot fail.
        let (mut locked, mut back) = match (
            KVVec::with_capacity(n, GFP_KERNEL),
            KVVec::with_capacity(n, GFP_KERNEL),
        ) {
            (Ok(l), Ok(b)) => (l, b),
            _ => return Err((ENOMEM, pages)),
        };
        let mut rest = pages.into_iter();
        let mut failed = None;
        for (i, page) in rest.by_ref().enumerate() {
            if i % RESCHED_EVERY == 0 {
                sched::cond_resched();
            }
            match mapping.add_folio_nolru(page, base + i, GFP_HIGHUSER, guard) {
                // Cannot fail: the capacity is reserved.
                Ok(folio) => {
                    let _ = locked.push(folio, GFP_KERNEL);
                }
                Err((e, page)) => {
                    failed = Some((e, page));
                    break;
                }
            }
        }
        let Some((e, page)) = failed else {
            return Ok(locked);
        };
        // None of these pushes can fail: the capacity is reserved.
        for folio in locked.into_iter() {
            match mapping.remove_locked(folio, guard) {
                Ok(page) => {
                    let _ = back.push(page, GFP_KERNEL);
                }
                // We added it and held its lock since: it cannot have gone elsewhere. Should it,
                // it stays in the page cache and the block is given up when freed.
                Err(folio) => {
                    pr_err!("BUG: a page of a block being built left the page cache\n");
                    drop(folio);
                }
            }
        }
        let _ = back.push(page, GFP_KERNEL);
        for page in rest {
            let _ = back.push(page, GFP_KERNEL);
        }
        Err((e, back))
    }

    /// Splits the huge folio `folio`, taken out of the block at `base`, and puts its pages in the
    /// page cache; on failure puts the huge folio (or, if it cannot be merged again, its pages)
    /// back as it was.
    fn split_block(
        &self,
        mapping: &Mapping,
        base: usize,
        folio: NewFolio,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result {
        let pages = match self.pool.split(folio) {
            Ok(pages) => pages,
            Err((e, folio)) => {
                Self::put_back(mapping, folio, base, guard);
                return Err(e);
            }
        };
        SPLITS.fetch_add(1, Ordering::Relaxed);
        match self.insert_split(mapping, base, pages, guard) {
            Ok(locked) => {
                // Unlocks every page.
                drop(locked);
                Ok(())
            }
            Err((e, pages)) => {
                match self.merge_pages(pages) {
                    Ok(folio) => Self::put_back(mapping, folio, base, guard),
                    // Still split, but every page is back with its contents.
                    Err(pages) => {
                        Self::put_back_pages(mapping, pages, base, guard);
                    }
                }
                Err(e)
            }
        }
    }
}

impl Allocator for Hugetlb {
    fn name(&self) -> &'static str {
        self.name
    }

    fn blocks(&self) -> Blocks {
        self.blocks
    }

    fn populate(
        &self,
        mapping: &Mapping,
        base: usize,
        index: usize,
        split: bool,
        guard: &dyn InvalidateLockHeld,
    ) -> Result<LockedFolio> {
        // The file's pages are reserved, so this fails only if the file's accounting is wrong.
        let folio = self.pool.alloc()?;
        if !split {
            // Freed back to the pool on error.
            return mapping
                .add_folio_nolru(folio, base, GFP_HIGHUSER, guard)
                .map_err(|(e, _)| e);
        }
        // A fresh folio has no other reference: only the vmemmap restore can fail.
        let pages = self.pool.split(folio).map_err(|(e, _)| e)?;
        SPLITS.fetch_add(1, Ordering::Relaxed);
        match self.insert_split(mapping, base, pages, guard) {
            Ok(locked) => {
                let mut wanted = None;
                for folio in locked.into_iter() {
                    if folio.index() == index {
                        wanted = Some(folio);
                    }
                    // The others are unlocked here.
                }
                wanted.ok_or(EINVAL)
            }
            Err((e, pages)) => {
                self.free_pages(pages);
                Err(e)
            }
        }
    }

    fn free_range(
        &self,
        mapping: &Mapping,
        range: Pages,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result {
        // Nothing may keep a split page: host mappings go first, then any other reference (a pin)
        // refuses the whole punch before anything is freed. A poisoned page's extra reference is
        // memory failure's, which keeps it for good.
        mapping.unmap_pages(range.first, range.len());
        // The page cache's reference and the walk's; a held page may be in a per-CPU batch.
        let (busy, _) = lru::check_draining(|| {
            mapping.for_each_folio(range.first, range.last, guard, |f| match f.held(2) {
                Some(batched) if f.nr_pages() == 1 && !f.is_hwpoison() => {
                    ControlFlow::Break(((), batched))
                }
                _ => ControlFlow::Continue(()),
            })
        })?;
        if busy.is_some() {
            return Err(EAGAIN);
        }
        for base in self.blocks.starts(range) {
            sched::cond_resched();
            let block = self.block_state(mapping, base, guard);
            if block == Block::Empty || block == (Block::Huge { poisoned: false }) {
                continue;
            }
            let pages = self.block(base);
            let folios = mapping
                .detach_folios(pages.first, pages.last, guard)
                .map_err(|e| if e == EINVAL { EAGAIN } else { e })?;
            if block != Block::Split {
                // A poisoned huge folio: it leaves the pool.
                self.forget(folios);
                continue;
            }
            if folios.iter().any(|p| p.is_hwpoison()) {
                self.forget(folios);
                continue;
            }
            match self.merge_to_free(folios) {
                Ok(folio) => drop(folio),
                Err(pages) => {
                    // Held by someone after all: the block stays as it was.
                    Self::put_back_pages(mapping, pages, base, guard);
                    return Err(EAGAIN);
                }
            }
        }
        // Whole huge folios are left: truncation gives them back to the pool.
        mapping.truncate_pages(range.first, range.last, guard);
        Ok(())
    }

    fn release_all(&self, mapping: &Mapping, guard: &InvalidateWriteGuard<'_>) {
        // Only split blocks and poisoned huge folios need care: whole healthy folios go back to
        // the pool when truncated.
        let mut bases = KVVec::new();
        mapping.for_each_folio(0, usize::MAX, guard, |f| {
            if (f.nr_pages() == 1 && self.blocks.is_start(f.index())) || f.is_hwpoison() {
                if bases.push(f.index(), GFP_KERNEL).is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        // A split page may still be held by a per-CPU batch (LRU add, mlock); its huge page could
        // not go back to the pool. Best effort: without the drain, such a block is given up.
        if !bases.is_empty() {
            let _ = lru::lru_add_drain_all();
        }
        for &base in bases.iter() {
            sched::cond_resched();
            let block = self.block(base);
            let Ok(folios) = mapping.detach_folios(block.first, block.last, guard) else {
                continue;
            };
            if folios.first().is_some_and(|f| f.nr_pages() > 1) {
                self.forget(folios);
            } else {
                self.free_pages(folios);
            }
        }
    }

    fn split(
        &self,
        mapping: &Mapping,
        range: Pages,
        guard: &InvalidateWriteGuard<'_>,
    ) -> Result<(), (Error, usize)> {
        for base in self.blocks.starts(range) {
            match self.block_state(mapping, base, guard) {
                Block::Huge { poisoned: false } => {}
                // Empty (split when allocated) or split already; or poisoned, which nobody can use
                // either way, so it need not be split to become shared.
                _ => continue,
            }
            let block = self.block(base);
            let folios = mapping
                .detach_folios(block.first, block.last, guard)
                .map_err(|e| (e, base))?;
            // A block with a huge folio holds only that folio.
            let Some(folio) = folios.into_iter().next() else {
                continue;
            };
            self.split_block(mapping, base, folio, guard)
                .map_err(|e| (e, base.max(range.first)))?;
        }
        Ok(())
    }

    fn merge(&self, mapping: &Mapping, range: Pages, guard: &InvalidateWriteGuard<'_>) {
        for base in self.blocks.starts(range) {
            sched::cond_resched();
            // A block with a poisoned page stays split for good.
            if self.block_state(mapping, base, guard) != Block::Split
                || self.block_poisoned(mapping, base, guard)
            {
                continue;
            }
            let block = self.block(base);
            let Ok(pages) = mapping.detach_folios(block.first, block.last, guard) else {
                continue;
            };
            if pages.len() != self.blocks.pages() {
                // Not a whole split block (cannot happen): leave it as it was.
                for page in pages.into_iter() {
                    let index = page.index();
                    Self::put_back(mapping, page, index, guard);
                }
                continue;
            }
            match self.merge_pages(pages) {
                Ok(folio) => Self::put_back(mapping, folio, base, guard),
                Err(pages) => {
                    Self::put_back_pages(mapping, pages, base, guard);
                }
            }
        }
    }

    fn show(
        &self,
        mapping: &Mapping,
        guard: &dyn InvalidateLockHeld,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let (mut huge, mut split) = (0usize, 0usize);
        mapping.for_each_folio(0, usize::MAX, guard, |folio| {
            if folio.nr_pages() > 1 {
                huge += 1;
            } else if self.blocks.is_start(folio.index()) {
                split += 1;
            }
            ControlFlow::<()>::Continue(())
        });
        writeln!(f, "huge_page_size: {}", self.blocks.pages() * PAGE_SIZE)?;
        writeln!(f, "huge_folios: {huge}")?;
        writeln!(f, "split_blocks: {split}")
    }
}
