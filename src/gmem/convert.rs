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
use crate::kernel_ext::mm;
use crate::kernel_ext::uapi;
use core::ops::ControlFlow;
use kernel::alloc::{AllocError, KVVec};
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// Why a conversion failed; it changed nothing either way.
pub(crate) enum ConvertError {
    /// A page in the range has references beyond the page cache's; `error_offset` is the first one.
    Busy {
        /// Byte offset of the first offending page.
        error_offset: u64,
    },
    /// Invalid arguments or no memory.
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
    // A file the host cannot map has no host side to convert to; its private/shared state is the
    // VM's attributes, as in 6.12.
    if params.flags & uapi::GUEST_MEMFD_FLAG_MMAP == 0 {
        return Err(EINVAL.into());
    }
    let page = PAGE_SIZE as u64;
    if offset % page != 0 || size % page != 0 {
        return Err(EINVAL.into());
    }
    let end = offset.checked_add(size).ok_or(EINVAL)?;
    if end > params.pages as u64 * page {
        return Err(EINVAL.into());
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
        // is cheap. Other CPUs' batches are drained only if something still looks busy.
        mm::lru_add_drain();
        if first_busy(mapping, &changes, &guard).is_some() {
            // New folios sit in per-CPU LRU batches, which hold a reference: flush them and look
            // again before blaming a page.
            super::FULL_LRU_DRAINS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            mm::lru_add_drain_all()?;
            if let Some(index) = first_busy(mapping, &changes, &guard) {
                return Err(ConvertError::Busy {
                    error_offset: index as u64 * page,
                });
            }
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

    // KVM's mappings of the range go now, and KVM maps nothing there until the change is complete
    // (its faults retry meanwhile, and a fault that read the old state is refused).
    let _kvm = gmem.kvm.invalidate(range.first, range.last, &guard);

    // 4. Only order-0 folios may become shared.
    let allocator = params.allocator.ops();
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

/// Returns the first page in `changes` whose folio has a reference beyond the page cache's, or is
/// still mapped.
fn first_busy(
    mapping: &Mapping,
    changes: &[Range],
    guard: &InvalidateWriteGuard<'_>,
) -> Option<usize> {
    changes.iter().find_map(|c| {
        mapping.for_each_folio(c.first, c.last, guard, |folio| {
            // The page cache holds one reference per page, `for_each_folio` one more.
            let expected = folio.nr_pages() + 1;
            if folio.is_mapped() || folio.ref_count() > expected {
                ControlFlow::Break(folio.index().max(c.first))
            } else {
                ControlFlow::Continue(())
            }
        })
    })
}
