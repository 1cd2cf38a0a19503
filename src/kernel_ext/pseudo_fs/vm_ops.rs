// SPDX-License-Identifier: GPL-2.0

//! Page faults of the mappings of a [`PseudoFs`]'s files.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//!
//! Mainline's `kernel::mm::virt` has `VmaNew` for `mmap` but no fault-handler abstraction; this
//! follows the Binder pattern of a static `vm_operations_struct` whose callback turns raw pointers
//! into safe types at once.
//!
//! [`PseudoFs`]: super::PseudoFs

use super::{Inode, PseudoFsInode};
use crate::backport::mm::virt::VmaNew;
use crate::bindings;
use crate::kernel_ext::errno;
use crate::kernel_ext::folio::LockedFolio;
use core::marker::PhantomData;
use kernel::prelude::*;

/// Serves the page faults of `vma` with `V`. `vma` must be a new mapping of a file of `inode`
/// (`EINVAL` otherwise): the fault handler relies on the VMA mapping an inode of a
/// `PseudoFs<V::Inode>`.
pub(crate) fn set_vm_ops<V: VmOperations>(vma: &VmaNew, inode: &Inode<V::Inode>) -> Result {
    // SAFETY: The VMA is valid while being set up (`VmaNew`); `vm_file` is set before `mmap` is
    // called and does not change afterwards, and the file holds its inode.
    let mapped = unsafe {
        let file = (*vma.as_ptr()).vm_file;
        !file.is_null() && core::ptr::eq((*file).f_inode, inode.as_ptr())
    };
    if !mapped {
        return Err(EINVAL);
    }
    // SAFETY: The VMA is being set up (`VmaNew`), so it may get its operations; the table is
    // static, and the VMA maps a file of `inode`, an inode of a `PseudoFs<V::Inode>` (checked
    // above), as the table's fault handler requires.
    unsafe { (*vma.as_ptr()).vm_ops = &VmOpsTable::<V>::TABLE };
    Ok(())
}

/// Page-fault handling for mappings of files of a `PseudoFs<Self::Inode>`.
pub(crate) trait VmOperations: 'static {
    /// The private part of the mapped files' inodes.
    type Inode: PseudoFsInode;

    /// Returns the locked folio that holds page `pgoff` of the file, to be mapped.
    ///
    /// `ENOMEM` becomes `VM_FAULT_OOM`, `EHWPOISON` `VM_FAULT_HWPOISON`, any other error
    /// `VM_FAULT_SIGBUS`.
    fn fault(inode: &Inode<Self::Inode>, pgoff: usize) -> Result<LockedFolio>;
}

struct VmOpsTable<V>(PhantomData<V>);

impl<V: VmOperations> VmOpsTable<V> {
    const TABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault),
        // SAFETY: All-zero is a valid table (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// `fault` callback.
    ///
    /// # Safety
    ///
    /// Called by the MM with a valid `vm_fault` of a VMA that uses this table, which maps a file of
    /// a `PseudoFs<V::Inode>`.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The VMA holds a reference on its file, and so on the file's inode, for the
        // duration of the fault; the inode belongs to a `PseudoFs<V::Inode>` (only `set_vm_ops`
        // installs this table, from the file's own `mmap`).
        let (inode, pgoff) = unsafe {
            let vma = (*vmf).__bindgen_anon_1.vma;
            let inode = (*(*vma).vm_file).f_inode;
            (
                Inode::<V::Inode>::from_raw(inode),
                (*vmf).__bindgen_anon_1.pgoff,
            )
        };
        match V::fault(inode, pgoff) {
            Ok(folio) => {
                // SAFETY: `vmf` is valid; `VM_FAULT_LOCKED` hands the locked page and its reference
                // to the caller.
                unsafe { (*vmf).page = folio.into_fault_page(pgoff) };
                bindings::vm_fault_reason_VM_FAULT_LOCKED
            }
            Err(e) if e == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
            Err(e) if e == errno::ehwpoison() => bindings::vm_fault_reason_VM_FAULT_HWPOISON,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
        }
    }
}
