// SPDX-License-Identifier: GPL-2.0

//! Virtual memory areas: backport of mainline's `kernel::mm::virt` (6.16).
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//!
//! The subset rust_gmem uses: [`VmaRef`] with its flags, and [`VmaNew`] for `mmap`.

use crate::bindings;
use core::ops::Deref;
use kernel::types::Opaque;

pub(crate) use crate::bindings::vm_flags_t;

/// VMA flags.
pub(crate) mod flags {
    use crate::bindings::{self, vm_flags_t};

    /// Changes are shared with other mappings of the file (`MAP_SHARED`).
    pub(crate) const SHARED: vm_flags_t = bindings::VM_SHARED as vm_flags_t;
    /// The mapping may be shared (`MAP_SHARED`, even if it is read-only now).
    pub(crate) const MAYSHARE: vm_flags_t = bindings::VM_MAYSHARE as vm_flags_t;
}

/// A virtual memory area.
///
/// # Invariants
///
/// The caller holds the mmap read lock, or stronger, and the VMA is valid, for as long as a
/// reference to this object exists.
#[repr(transparent)]
pub(crate) struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// Returns a raw pointer to this VMA.
    pub(crate) fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// Returns the flags associated with the VMA.
    pub(crate) fn flags(&self) -> vm_flags_t {
        // SAFETY: The VMA is valid and the mmap lock is held (type invariant), which keeps
        // `vm_flags` from changing.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.vm_flags }
    }
}

/// A VMA that is being set up by a file's `mmap` operation and not yet visible to anyone else.
///
/// # Invariants
///
/// The VMA is undergoing initial setup (the caller of `mmap` holds the mmap lock for writing).
#[repr(transparent)]
pub(crate) struct VmaNew {
    vma: VmaRef,
}

impl VmaNew {
    /// Access a VMA that is being set up.
    ///
    /// # Safety
    ///
    /// `vma` must be the VMA passed to an `mmap` file operation, for the duration of that call.
    pub(crate) unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // INVARIANT: The caller guarantees that the VMA is being set up.
        // SAFETY: `VmaNew` is transparent over the VMA.
        unsafe { &*vma.cast() }
    }
}

impl Deref for VmaNew {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}
