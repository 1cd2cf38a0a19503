// SPDX-License-Identifier: GPL-2.0

//! Huge pages from the hugetlb pool, for a page cache that is not hugetlbfs.
//!
//! C header: [`include/linux/hugetlb.h`](srctree/include/linux/hugetlb.h); the allocation, split and
//! merge helpers come from `patches/0003-*.patch` (`cfg(rust_gmem_hugetlb)`).
//!
//! A [`Subpool`] reserves a number of huge pages of one size when it is made and hands them out as
//! [`NewFolio`]s; the last `folio_put()` of such a folio gives the page and its reservation back to
//! the subpool, and dropping the subpool gives the reservations back to the pool. [`Subpool::split`]
//! turns a huge folio into order-0 folios in place and [`Subpool::merge`] turns them back; while
//! split, the huge page still counts as in use in the pool, so its pages must end up merged
//! ([`Subpool::merge`]) or forgotten ([`Subpool::forget`]), never freed one by one.

use super::folio::NewFolio;
use crate::bindings;
use core::ptr::NonNull;
use kernel::alloc::KVVec;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::types::ARef;

/// `NUMA_NO_NODE`: no preferred node.
const NUMA_NO_NODE: i32 = -1;

/// A huge page size the kernel has a pool for (`struct hstate`).
///
/// # Invariants
///
/// `ptr` is one of the kernel's hstates, which live as long as the kernel.
#[derive(Clone, Copy)]
pub(crate) struct Hstate {
    ptr: NonNull<bindings::hstate>,
}

// SAFETY: An hstate is a static kernel object; this type only reads its constant order.
unsafe impl Send for Hstate {}
// SAFETY: As above.
unsafe impl Sync for Hstate {}

impl Hstate {
    /// The pool of pages of `1 << log2_size` bytes, if the kernel has one.
    pub(crate) fn of_size_log(log2_size: u32) -> Option<Self> {
        if log2_size >= usize::BITS {
            return None;
        }
        // SAFETY: Any size may be asked for; the result is null or a static hstate.
        let ptr = unsafe { bindings::size_to_hstate(1usize << log2_size) };
        // INVARIANT: A non-null result is one of the kernel's hstates.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }

    /// The number of base pages in one huge page.
    pub(crate) fn pages_per_huge_page(&self) -> usize {
        // SAFETY: The hstate is valid (type invariant); its order is constant.
        1usize << unsafe { bindings::rust_gmem_hstate_order(self.ptr.as_ptr()) }
    }
}

/// A hugetlb subpool that reserved all its pages when it was made.
///
/// # Invariants
///
/// `ptr` is a subpool made with `max_hpages == min_hpages` whose creation reference this object owns.
pub(crate) struct Subpool {
    ptr: NonNull<bindings::hugepage_subpool>,
    hstate: Hstate,
}

// SAFETY: Subpools are used from any thread; the C side locks them.
unsafe impl Send for Subpool {}
// SAFETY: As above.
unsafe impl Sync for Subpool {}

impl Subpool {
    /// Reserves `nr` huge pages of `hstate`'s pool; `ENOMEM` if it has fewer free pages than that
    /// not already reserved.
    pub(crate) fn new(hstate: Hstate, nr: usize) -> Result<Self> {
        let nr = isize::try_from(nr).map_err(|_| ENOMEM)?;
        // SAFETY: `hstate` is valid (type invariant). A subpool with `max == min` reserves all its
        // pages now (`hugetlb_acct_memory()`), or fails.
        let ptr = unsafe { bindings::hugepage_new_subpool(hstate.ptr.as_ptr(), nr, nr) };
        // INVARIANT: `max_hpages == min_hpages`, and the creation reference is ours.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
            hstate,
        })
    }

    /// Takes one of the reserved huge pages; `ENOMEM` once they are all in use. The folio is not up
    /// to date: its contents are whatever the page held before, to be zeroed before use.
    pub(crate) fn alloc(&self) -> Result<NewFolio> {
        // SAFETY: The subpool is valid and fully reserved (type invariant); any node is accepted.
        let folio =
            unsafe { bindings::hugetlb_alloc_folio_from_subpool(self.ptr.as_ptr(), NUMA_NO_NODE) };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // SAFETY: The folio is ours alone. A page from the pool keeps the flags of its last use
        // (hugetlbfs zeroes every folio it allocates regardless); ours must look unused, or the
        // previous contents would be handed out without the zeroing of a first use.
        unsafe { bindings::rust_gmem_folio_clear_uptodate(folio.as_ptr()) };
        // SAFETY: A new folio comes with one reference, which we take over; it is in no mapping.
        Ok(unsafe { NewFolio::from_raw(folio.as_ptr()) })
    }

    /// Turns a huge folio of this subpool into its order-0 folios, in place, keeping the contents and
    /// the up-to-date flag. `EBUSY` if someone else holds a reference, `ENOMEM` if the vmemmap
    /// cannot be restored; the folio is given back unchanged on error.
    pub(crate) fn split(&self, folio: NewFolio) -> Result<KVVec<NewFolio>, (Error, NewFolio)> {
        let nr = folio.nr_pages();
        if nr != self.hstate.pages_per_huge_page() {
            return Err((EINVAL, folio));
        }
        // Allocated first: nothing may fail after the split.
        let mut pages = match KVVec::with_capacity(nr, GFP_KERNEL) {
            Ok(v) => v,
            Err(_) => return Err((ENOMEM, folio)),
        };
        let first = folio.into_folio();
        // SAFETY: `first` is a valid folio; the helper checks that it is a huge folio nobody else
        // references, mapped nowhere and in no page cache, and changes nothing otherwise.
        let ret = unsafe { bindings::hugetlb_folio_split_pages(first.as_ptr()) };
        if ret != 0 {
            // SAFETY: The folio is still the one we owned, in no mapping.
            return Err((Error::from_errno(ret), unsafe { NewFolio::adopt(first) }));
        }
        let raw = ARef::into_raw(first);
        for i in 0..nr {
            // SAFETY: Page `i` of the former huge folio is now an order-0 folio with one reference,
            // which is ours (the helper's contract); the head's is the one `first` held.
            let page = unsafe { bindings::rust_gmem_folio_nth_page(raw.as_ptr().cast(), i as _) };
            // SAFETY: As above; the page is in no mapping.
            let page = unsafe { NewFolio::from_raw(page) };
            // Cannot fail: the capacity was reserved above.
            let _ = pages.push(page, GFP_KERNEL);
        }
        Ok(pages)
    }

    /// Turns the order-0 folios that [`Subpool::split`] made of one of this subpool's huge pages back
    /// into that huge folio, keeping the contents; the new folio is not up to date. `EBUSY` (pages
    /// given back unchanged) if they are not exactly those pages, in order, each referenced only
    /// by us, unmapped and in no page cache.
    pub(crate) fn merge(
        &self,
        pages: KVVec<NewFolio>,
    ) -> Result<NewFolio, (Error, KVVec<NewFolio>)> {
        if !self.are_split_pages(&pages) {
            return Err((EBUSY, pages));
        }
        // SAFETY: The pages are contiguous and start at a huge-page boundary (checked above); the
        // helper checks each one's references and state and changes nothing on failure.
        let folio = unsafe {
            bindings::rust_gmem_hugetlb_merge(
                self.hstate.ptr.as_ptr(),
                pages[0].as_ptr(),
                self.ptr.as_ptr(),
            )
        };
        match from_err_ptr(folio) {
            Ok(folio) => {
                // The references of the pages became the folio's single reference, held by the
                // head page's `NewFolio`: keep that one and forget the tails' (their counts are
                // part of the compound page now).
                let mut pages = pages;
                // SAFETY: The folio is valid with the one reference we own.
                let merged = unsafe { NewFolio::from_raw(folio) };
                // SAFETY: Their references no longer exist; dropping the objects must not put them.
                unsafe { pages.set_len(0) };
                Ok(merged)
            }
            Err(e) => Err((e, pages)),
        }
    }

    /// Gives up a huge page of this subpool that cannot go back to the pool whole: `folios` are
    /// either the pages [`Subpool::split`] made of it, one of which is pinned or poisoned, or the
    /// huge folio itself, poisoned. The huge page leaves the pool; the subpool keeps its
    /// reservation for it only if a free huge page backs it, and shrinks by one page otherwise.
    /// Split pages become ordinary pages, freed when their last reference is dropped (ours are
    /// dropped here); a poisoned huge folio is kept for good (our reference is never dropped).
    pub(crate) fn forget(&self, folios: KVVec<NewFolio>) {
        let huge = folios.len() == 1
            && folios[0].nr_pages() == self.hstate.pages_per_huge_page()
            && folios[0].is_hwpoison();
        if !huge && !self.are_split_pages(&folios) {
            // Not a huge page of ours: nothing to account; the references just go.
            return;
        }
        // SAFETY: The folios are a split huge page or a poisoned huge folio of this subpool
        // (checked above), which no page cache holds any more.
        unsafe {
            bindings::rust_gmem_hugetlb_forget(
                self.hstate.ptr.as_ptr(),
                folios[0].as_ptr(),
                self.ptr.as_ptr(),
            )
        };
        if huge {
            // Memory failure's own reference may be gone: keep ours, so that the poisoned page is
            // never freed to anyone.
            folios.into_iter().for_each(core::mem::forget);
        }
    }

    /// Whether `pages` are the order-0 pages of one huge page of this subpool's size, in order.
    fn are_split_pages(&self, pages: &[NewFolio]) -> bool {
        let nr = self.hstate.pages_per_huge_page();
        if pages.len() != nr {
            return false;
        }
        let first = pages[0].pfn();
        first.checked_rem(nr) == Some(0)
            && pages
                .iter()
                .enumerate()
                .all(|(i, p)| p.nr_pages() == 1 && p.pfn() == first + i)
    }
}

impl Drop for Subpool {
    fn drop(&mut self) {
        // SAFETY: We own the creation reference (type invariant). The subpool itself stays until its
        // last page is freed.
        unsafe { bindings::hugepage_put_subpool(self.ptr.as_ptr()) };
    }
}
