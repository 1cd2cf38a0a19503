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

use super::range::Pages;
use super::{GmemInode, Shareability};
use crate::backport::time::{delay::fsleep, Delta};
use crate::kernel_ext::kvm;
use crate::kernel_ext::lru::{self, Drained};
use crate::kernel_ext::mapping::{InvalidateWriteGuard, Mapping};
use crate::kernel_ext::pseudo_fs::Inode;
use core::ops::ControlFlow;
use core::sync::atomic::Ordering;
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

/// Makes bytes `offset..offset + size` of the file shared or private.
pub(crate) fn convert(
    inode: &Inode<GmemInode>,
    offset: u64,
    size: u64,
    to: Shareability,
) -> Result<(), ConvertError> {
    let gmem = inode.data();
    let params = gmem.params()?;
    // A size of 0 converts nothing, if the offset is valid (the RFC's form; the attributes ioctl
    // refuses it before).
    if size == 0 {
        let valid = offset % PAGE_SIZE as u64 == 0 && offset <= Pages::byte_offset(params.nr_pages);
        return if valid {
            Ok(())
        } else {
            Err(ConvertError::Invalid)
        };
    }
    let range =
        Pages::of_bytes(offset, size, params.nr_pages).map_err(|_| ConvertError::Invalid)?;
    let target = to.to_attributes();
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock();

    // 1. What changes.
    let mut changes = Changes::new();
    for entry in gmem.shareability.ranges(range.first, range.last, &guard)? {
        if entry.value != target {
            // Each entry returned overlaps the range.
            if let Some(change) = range.intersect(Pages {
                first: entry.first,
                last: entry.last,
            }) {
                changes.push(change)?;
            }
        }
    }
    let changes = changes.as_slice();
    if changes.is_empty() {
        return Ok(());
    }

    // 2. No host access may survive a conversion to private.
    if to == Shareability::Private {
        for c in changes.iter() {
            mapping.unmap_pages(c.first, c.len());
        }
        // An order-0 folio may sit in a per-CPU batch (LRU add, mlock), which holds a reference:
        // drained only when the check finds a folio that may be held by one.
        let (busy, drained) = lru::check_draining(|| first_busy(mapping, changes, &guard))?;
        if drained != Drained::Nothing {
            super::LRU_DRAINS.fetch_add(1, Ordering::Relaxed);
        }
        if drained == Drained::AllCpus {
            super::FULL_LRU_DRAINS.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(index) = busy {
            return Err(ConvertError::Busy {
                error_offset: Pages::byte_offset(index),
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
    if hi + 1 < params.nr_pages {
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
    let blocks = allocator.blocks().covering(range, params.nr_pages);
    let _kvm = kvm::invalidate(blocks.first, blocks.last, &guard);
    let delay_us = super::CONVERT_DELAY_US.load(Ordering::Relaxed);
    if delay_us > 0 {
        fsleep(Delta::from_micros(delay_us.into()));
    }

    // 4. Only order-0 folios may become shared.
    if to == Shareability::Shared {
        for (done, c) in changes.iter().enumerate() {
            if let Err((e, index)) = allocator.split(mapping, *c, &guard) {
                // Roll back: merge what was split (this change's earlier blocks too). The tree is
                // untouched (`store` is dropped), so those blocks are still all private.
                for c in &changes[..=done] {
                    merge_private_blocks(gmem, mapping, *c, &guard);
                }
                // A page someone holds (a lookup racing with the split) is the caller's to retry.
                if e == EBUSY {
                    return Err(ConvertError::Busy {
                        error_offset: Pages::byte_offset(index),
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

/// The ranges a conversion changes, in order: the first few inline (most conversions change one
/// range), then vmalloc-backed, as a fragmented file can have millions.
struct Changes {
    inline: [Pages; Self::INLINE],
    len: usize,
    spilled: KVVec<Pages>,
}

impl Changes {
    const INLINE: usize = 8;

    fn new() -> Self {
        Self {
            inline: [Pages { first: 0, last: 0 }; Self::INLINE],
            len: 0,
            spilled: KVVec::new(),
        }
    }

    fn push(&mut self, change: Pages) -> Result<(), AllocError> {
        if self.spilled.is_empty() && self.len < Self::INLINE {
            self.inline[self.len] = change;
            self.len += 1;
            return Ok(());
        }
        if self.spilled.is_empty() {
            self.spilled.reserve(2 * Self::INLINE, GFP_KERNEL)?;
            self.spilled.extend_from_slice(&self.inline, GFP_KERNEL)?;
        }
        self.spilled.push(change, GFP_KERNEL)
    }

    fn as_slice(&self) -> &[Pages] {
        if self.spilled.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spilled
        }
    }
}

/// Merges the split blocks overlapping `range` whose pages are all private.
fn merge_private_blocks(
    gmem: &GmemInode,
    mapping: &Mapping,
    range: Pages,
    guard: &InvalidateWriteGuard<'_>,
) {
    let Ok(params) = gmem.params() else {
        return;
    };
    let allocator = params.allocator.ops();
    let blocks = allocator.blocks();
    if blocks.pages() == 1 {
        return;
    }
    for base in blocks.starts(range) {
        let block = blocks.block_of(base, params.nr_pages);
        if gmem.all_private(block, guard).unwrap_or(false) {
            allocator.merge(mapping, block, guard);
        }
    }
}

/// Returns the first page in `changes` whose folio is mapped, pinned or has a reference beyond the
/// page cache's, and whether the holder may be a per-CPU batch (`Folio::held()`). A poisoned folio
/// holds nothing up: it is never handed out again, and the extra reference it keeps is memory
/// failure's.
fn first_busy(
    mapping: &Mapping,
    changes: &[Pages],
    guard: &InvalidateWriteGuard<'_>,
) -> Option<(usize, bool)> {
    changes.iter().find_map(|c| {
        mapping.for_each_folio(c.first, c.last, guard, |folio| {
            // The page cache holds one reference per page, `for_each_folio` one more.
            match folio.held(folio.nr_pages() + 1) {
                Some(batched) if !folio.is_hwpoison() => {
                    ControlFlow::Break((folio.index().max(c.first), batched))
                }
                _ => ControlFlow::Continue(()),
            }
        })
    })
}
