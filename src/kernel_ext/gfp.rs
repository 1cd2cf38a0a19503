// SPDX-License-Identifier: GPL-2.0

//! Page allocation flags (`gfp_t`) for folios and the page cache.
//!
//! C header: [`include/linux/gfp_types.h`](srctree/include/linux/gfp_types.h)
//!
//! Mainline's `kernel::alloc::Flags` cannot be turned into a `gfp_t` outside the `kernel` crate, and
//! has neither `GFP_HIGHUSER` nor `__GFP_NOFAIL`; the folio and page-cache calls take these.

/// A set of allocation flags.
pub(crate) type Gfp = crate::bindings::gfp_t;

/// User pages, from any zone, not movable: what guest memory is allocated with.
pub(crate) const GFP_HIGHUSER: Gfp = crate::bindings::GFP_HIGHUSER;

/// Kernel allocations that may sleep.
#[cfg(rust_gmem_hugetlb)]
pub(crate) const GFP_KERNEL: Gfp = crate::bindings::GFP_KERNEL;

/// The allocation must not fail: retry forever (only for the few pages of a rollback).
#[cfg(rust_gmem_hugetlb)]
pub(crate) const __GFP_NOFAIL: Gfp = crate::bindings::__GFP_NOFAIL;
