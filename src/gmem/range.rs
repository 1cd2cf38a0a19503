// SPDX-License-Identifier: GPL-2.0

//! Page ranges and blocks of a guest_memfd file: all the offset and alignment arithmetic.

use core::num::NonZeroUsize;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

/// Pages `first..=last` of a file; never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pages {
    /// The first page index.
    pub(crate) first: usize,
    /// The last page index, inclusive.
    pub(crate) last: usize,
}

impl Pages {
    /// Pages `first..=last`; `None` if that is empty.
    pub(crate) fn new(first: usize, last: usize) -> Option<Self> {
        (first <= last).then_some(Self { first, last })
    }

    /// The pages of bytes `offset..offset + len` of a file of `file_pages` pages. `EINVAL` unless
    /// `offset` and `len` are multiples of the page size, `len` is not 0, and the range ends
    /// inside the file.
    pub(crate) fn of_bytes(offset: u64, len: u64, file_pages: usize) -> Result<Self> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > Self::byte_offset(file_pages) {
            return Err(EINVAL);
        }
        Self::of_bytes_clamped(offset, len, file_pages)?.ok_or(EINVAL)
    }

    /// The pages of bytes `offset..offset + len` that lie inside a file of `file_pages` pages: the
    /// range may run past the end, and `None` means it holds no page of the file. `EINVAL` unless
    /// `offset` and `len` are multiples of the page size and `len` is not 0.
    pub(crate) fn of_bytes_clamped(
        offset: u64,
        len: u64,
        file_pages: usize,
    ) -> Result<Option<Self>> {
        let page = PAGE_SIZE as u64;
        if offset % page != 0 || len % page != 0 || len == 0 {
            return Err(EINVAL);
        }
        let first = offset / page;
        let last = (offset / page).saturating_add(len / page - 1);
        let first = usize::try_from(first).unwrap_or(usize::MAX);
        let last = usize::try_from(last).unwrap_or(usize::MAX);
        // Empty (`None`) if the range starts at or past the end of the file.
        Ok(Self::new(first, last.min(file_pages.saturating_sub(1))))
    }

    /// The number of pages.
    pub(crate) fn len(&self) -> usize {
        self.last - self.first + 1
    }

    /// The byte offset of page `index`.
    pub(crate) fn byte_offset(index: usize) -> u64 {
        index as u64 * PAGE_SIZE as u64
    }

    /// The pages of both this range and `other`, if any.
    pub(crate) fn intersect(&self, other: Pages) -> Option<Pages> {
        Self::new(self.first.max(other.first), self.last.min(other.last))
    }
}

/// How a file is cut into blocks: runs of `pages` pages, aligned to that many pages, each of which
/// holds one folio, or, for a split huge page, one order-0 folio per page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocks {
    pages: NonZeroUsize,
}

impl Blocks {
    /// Blocks of one page: order-0 folios.
    pub(crate) const ORDER0: Self = Self {
        pages: NonZeroUsize::MIN,
    };

    /// Blocks of `pages` pages; `None` for 0.
    // Only huge-page files have blocks of more than one page (`patches/0003-*`).
    #[cfg_attr(not(rust_gmem_hugetlb), allow(dead_code))]
    pub(crate) fn new(pages: usize) -> Option<Self> {
        NonZeroUsize::new(pages).map(|pages| Self { pages })
    }

    /// The number of pages in a block.
    pub(crate) fn pages(&self) -> usize {
        self.pages.get()
    }

    /// The first page of the block that holds page `index`.
    pub(crate) fn start_of(&self, index: usize) -> usize {
        index - index % self.pages
    }

    /// How many blocks `pages` pages make, if they make whole blocks.
    // Only huge-page files have blocks of more than one page (`patches/0003-*`).
    #[cfg_attr(not(rust_gmem_hugetlb), allow(dead_code))]
    pub(crate) fn count(&self, pages: usize) -> Option<usize> {
        (pages % self.pages == 0).then(|| pages / self.pages)
    }

    /// Whether page `index` is the first of its block.
    // Only huge-page files have blocks of more than one page (`patches/0003-*`).
    #[cfg_attr(not(rust_gmem_hugetlb), allow(dead_code))]
    pub(crate) fn is_start(&self, index: usize) -> bool {
        index % self.pages == 0
    }

    /// The pages of the block that holds page `index`, within a file of `file_pages` pages.
    pub(crate) fn block_of(&self, index: usize, file_pages: usize) -> Pages {
        let first = self.start_of(index);
        let last = first
            .saturating_add(self.pages() - 1)
            .min(file_pages.saturating_sub(1))
            .max(first);
        Pages { first, last }
    }

    /// The pages of the whole blocks that overlap `range`, within a file of `file_pages` pages.
    pub(crate) fn covering(&self, range: Pages, file_pages: usize) -> Pages {
        Pages {
            first: self.start_of(range.first),
            last: self.block_of(range.last, file_pages).last,
        }
    }

    /// The first page of each block that overlaps `range`, in order.
    pub(crate) fn starts(&self, range: Pages) -> impl Iterator<Item = usize> {
        let pages = self.pages;
        // No overflow: each start is at most `range.last`.
        (range.first / pages..=range.last / pages).map(move |block| block * pages.get())
    }

    /// Whether a byte offset or length is a multiple of the block size.
    pub(crate) fn aligned(&self, bytes: u64) -> bool {
        bytes % (self.pages() as u64 * PAGE_SIZE as u64) == 0
    }
}
