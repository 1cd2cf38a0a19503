// SPDX-License-Identifier: GPL-2.0

//! In-place conversion of guest_memfd pages between shared and private.
//!
//! One implementation serves both uAPI forms (`KVM_GMEM_CONVERT_*` and `KVM_SET_MEMORY_ATTRIBUTES2`).
//! Under the invalidate lock held exclusive:
//!
//! 1. work out the sub-ranges whose shareability really changes;
//! 2. to private: unmap them from host userspace, then check that no folio there has a reference
//!    beyond the page cache's (a pin, a mapping, an in-flight fault): otherwise `EAGAIN` with the
//!    first offending offset, and nothing changed;
//! 3. allocate the tree store, which extends the new range over equal neighbours so that the tree
//!    stays minimal (the only step that can fail for lack of memory, and it changes nothing);
//! 4. to shared: have the allocator split huge folios in the changing ranges (all or nothing);
//! 5. commit the store, which cannot fail;
//! 6. to private: have the allocator merge huge folios back where possible.
//!
//! Page contents are never touched: conversion keeps the data (software-protected semantics).

use super::{GmemInode, Shareability};
use crate::kernel_ext::fs::Inode;
use crate::kernel_ext::mapping::{InvalidateWriteGuard, Mapping};
use crate::kernel_ext::{kvm, mm, sched};
use core::ops::ControlFlow;
use kernel::alloc::{AllocError, KVVec};
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// Why a conversion failed; it changed nothing either way.
pub(crate) enum ConvertError {
    /// The range is not page aligned or not inside the file (`EINVAL`).
    Invalid,
    /// A page in the range has references beyond the page cache's; `error_offset` is the first one.
    Busy {
        /// Byte offset of the first offending page.
        error_offset: u64,
    },
    /// The conversion could not be done (no memory).
    Failed(Error),
}

impl From<Error> for ConvertError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<AllocError> for ConvertError {
    fn from(_: AllocError) -> Self {
        Self::Failed(ENOMEM)
    }
}

/// Pages `first..=last`.
#[derive(Clone, Copy)]
struct Range {
    first: usize,
    last: usize,
}

impl Range {
    fn len(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Makes bytes `offset..offset + size` of the file shared or private.
pub(crate) fn convert(
    inode: &Inode<GmemInode>,
    offset: u64,
    size: u64,
    to: Shareability,
) -> Result<(), ConvertError> {
    let gmem = inode.data();
    let params = gmem.params()?;
    let page = PAGE_SIZE as u64;
    if offset % page != 0 || size % page != 0 {
        return Err(ConvertError::Invalid);
    }
    let end = offset.checked_add(size).ok_or(ConvertError::Invalid)?;
    if end > params.pages as u64 * page {
        return Err(ConvertError::Invalid);
    }
    if size == 0 {
        return Ok(());
    }
    let range = Range {
        first: (offset / page) as usize,
        last: (end / page) as usize - 1,
    };
    let target = to.to_attributes();
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock();

    // 1. What changes.
    // One entry per range that changes: vmalloc-backed, as a fragmented file can have millions.
    let mut changes = KVVec::new();
    for entry in gmem.shareability.ranges(range.first, range.last, &guard)? {
        if entry.value != target {
            let change = Range {
                first: entry.first.max(range.first),
                last: entry.last.min(range.last),
            };
            changes.push(change, GFP_KERNEL)?;
        }
    }
    if changes.is_empty() {
        return Ok(());
    }

    // 2. No host access may survive a conversion to private.
    if to == Shareability::Private {
        for c in changes.iter() {
            mapping.unmap_pages(c.first, c.len());
        }
        // Folios allocated on this CPU are most likely still in its LRU batch: drain it first, it
        // is cheap. Other CPUs' batches are drained only if a folio still looks busy and could be
        // in one (not for a pinned or mapped folio, which no drain makes idle).
        mm::lru_add_drain();
        let mut busy = first_busy(mapping, &changes, &guard);
        if busy.as_ref().is_some_and(|b| b.may_be_batched) {
            // New folios sit in per-CPU LRU batches, which hold a reference: flush them and look
            // again before blaming a page.
            super::FULL_LRU_DRAINS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            mm::lru_add_drain_all()?;
            busy = first_busy(mapping, &changes, &guard);
        }
        if let Some(busy) = busy {
            return Err(ConvertError::Busy {
                error_offset: busy.index as u64 * page,
            });
        }
    }

    // 3. The new range, merged with equal neighbours.
    let mut lo = range.first;
    if lo > 0 {
        if let Some(e) = gmem.shareability.load(lo - 1, &guard) {
            if e.value == target {
                lo = e.first;
            }
        }
    }
    let mut hi = range.last;
    if hi + 1 < params.pages {
        if let Some(e) = gmem.shareability.load(hi + 1, &guard) {
            if e.value == target {
                hi = e.last;
            }
        }
    }
    let store = gmem.shareability.prepare_store(lo, hi, target, &guard)?;

    // KVM's mappings go now, and KVM maps nothing there until the change is complete (its faults
    // retry meanwhile, and a fault that read the old state is refused): over the whole huge blocks
    // that steps 4 and 6 may split or merge, since KVM maps an unsplit block with one huge mapping
    // that also covers the pages this conversion does not change.
    let allocator = params.allocator.ops();
    let blocks = whole_blocks(range, allocator.pages_per_folio(), params.pages);
    let _kvm = kvm::invalidate(blocks.first, blocks.last, &guard);
    sched::delay_us(super::CONVERT_DELAY_US.load(core::sync::atomic::Ordering::Relaxed));

    // 4. Only order-0 folios may become shared.
    if to == Shareability::Shared {
        for (done, c) in changes.iter().enumerate() {
            if let Err((e, index)) = allocator.split(mapping, c.first, c.last, &guard) {
                // Roll back: merge what was split (this change's earlier blocks too). The tree is
                // untouched (`store` is dropped), so those blocks are still all private.
                for c in &changes[..=done] {
                    merge_private_blocks(gmem, mapping, *c, &guard);
                }
                // A page someone holds (a lookup racing with the split) is the caller's to retry.
                if e == EBUSY {
                    return Err(ConvertError::Busy {
                        error_offset: index as u64 * page,
                    });
                }
                return Err(e.into());
            }
        }
    }

    // 5. The point of no return.
    store.commit();

    // 6. Huge blocks that are all private again are merged back where possible; one that cannot be
    // (a page is still held) stays split, which is correct, only less efficient.
    if to == Shareability::Private {
        for c in changes.iter() {
            merge_private_blocks(gmem, mapping, *c, &guard);
        }
    }
    Ok(())
}

/// The pages of the blocks of `per_block` pages that overlap `range`, in a file of `pages` pages.
fn whole_blocks(range: Range, per_block: usize, pages: usize) -> Range {
    let first = range.first - range.first.checked_rem(per_block).unwrap_or(0);
    let last = range.last - range.last.checked_rem(per_block).unwrap_or(0) + per_block - 1;
    Range {
        first,
        last: last.min(pages - 1),
    }
}

/// Merges the split blocks overlapping `range` whose pages are all private.
fn merge_private_blocks(
    gmem: &GmemInode,
    mapping: &Mapping,
    range: Range,
    guard: &InvalidateWriteGuard<'_>,
) {
    let Ok(params) = gmem.params() else {
        return;
    };
    let allocator = params.allocator.ops();
    let step = allocator.pages_per_folio();
    if step == 1 {
        return;
    }
    let mut base = range.first - range.first.checked_rem(step).unwrap_or(0);
    while base <= range.last {
        let last = base + step - 1;
        if gmem.all_private(base, last, guard).unwrap_or(false) {
            allocator.merge(mapping, base, last, guard);
        }
        base += step;
    }
}

/// A folio that holds up a conversion to private.
struct Busy {
    /// The first page of the conversion in the folio.
    index: usize,
    /// Whether the reference that holds it up may be a per-CPU LRU batch's (the folio is neither
    /// mapped nor pinned, and not on the LRU yet), which draining the batches drops.
    may_be_batched: bool,
}

/// Returns the first folio in `changes` that has a reference beyond the page cache's, or is still
/// mapped. A poisoned folio holds nothing up: it is never handed out again, and the extra reference
/// it keeps is memory failure's.
fn first_busy(
    mapping: &Mapping,
    changes: &[Range],
    guard: &InvalidateWriteGuard<'_>,
) -> Option<Busy> {
    changes.iter().find_map(|c| {
        mapping.for_each_folio(c.first, c.last, guard, |folio| {
            // The page cache holds one reference per page, `for_each_folio` one more.
            let expected = folio.nr_pages() + 1;
            let index = folio.index().max(c.first);
            if folio.is_hwpoison() {
                ControlFlow::Continue(())
            } else if folio.is_mapped() || folio.maybe_dma_pinned() {
                ControlFlow::Break(Busy {
                    index,
                    may_be_batched: false,
                })
            } else if folio.ref_count() > expected {
                ControlFlow::Break(Busy {
                    index,
                    may_be_batched: !folio.is_lru(),
                })
            } else {
                ControlFlow::Continue(())
            }
        })
    })
}
