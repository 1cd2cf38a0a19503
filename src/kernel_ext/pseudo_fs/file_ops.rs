// SPDX-License-Identifier: GPL-2.0

//! The `file_operations` of the files of a [`PseudoFs`], and making such files.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::{Inode, NewInode, PseudoFs, PseudoFsInode};
use crate::backport::fs::file::{self, File};
use crate::backport::mm::virt::VmaNew;
use crate::bindings;
use core::marker::PhantomData;
use core::ptr;
use kernel::build_error;
use kernel::error::{from_err_ptr, from_result, to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::types::ARef;

/// A file whose last reference is gone, handed to [`FileOperations::release`]: proof that it is
/// being released, once. Consumed by what must happen exactly once then.
pub(crate) struct ReleasedFile<'a>(#[cfg_attr(not(rust_gmem_kvm), allow(dead_code))] &'a File);

impl ReleasedFile<'_> {
    /// Returns the raw pointer (for KVM, whose state in the file goes with the release).
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.0.as_ptr()
    }
}

/// The operations of the files of a [`PseudoFs`] whose inodes carry `Self::Inode`.
#[vtable]
pub(crate) trait FileOperations: 'static {
    /// The private part of the files' inodes.
    type Inode: PseudoFsInode;

    /// Handles `ioctl(2)` on a file; returns the value for userspace.
    fn ioctl(_inode: &Inode<Self::Inode>, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets up a new mapping of the file.
    fn mmap(_inode: &Inode<Self::Inode>, _file: &File, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the last reference to the file is gone (`release`), before the file and its
    /// inode reference are dropped.
    fn release(_inode: &Inode<Self::Inode>, _file: ReleasedFile<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `fallocate(2)`.
    fn fallocate(
        _inode: &Inode<Self::Inode>,
        _file: &File,
        _mode: i32,
        _offset: i64,
        _len: i64,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

struct FileOpsTable<F>(PhantomData<F>);

impl<F: FileOperations> FileOpsTable<F> {
    const TABLE: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`.
        owner: ptr::addr_of!(bindings::__this_module) as *mut _,
        open: Some(bindings::generic_file_open),
        unlocked_ioctl: if F::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        // The ioctls' argument is a pointer (`compat_ptr_ioctl()` exists with `CONFIG_COMPAT`).
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if F::HAS_IOCTL {
            Some(bindings::compat_ptr_ioctl)
        } else {
            None
        },
        mmap: if F::HAS_MMAP { Some(Self::mmap) } else { None },
        fallocate: if F::HAS_FALLOCATE {
            Some(Self::fallocate)
        } else {
            None
        },
        release: if F::HAS_RELEASE {
            Some(Self::release)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `file_operations` (every callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// `ioctl` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a referenced file that uses this table.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: As the callback's contract says; only `create_file` makes files with this table.
        let (file, inode) = unsafe { Self::file_and_inode(file) };
        from_result(|| F::ioctl(inode, file, cmd, arg).map(|r| r as c_long))
    }
}

impl<F: FileOperations> FileOpsTable<F> {
    /// Returns the file and its inode.
    ///
    /// # Safety
    ///
    /// `file` must be a file made by `create_file::<F>`, referenced for `'a`.
    unsafe fn file_and_inode<'a>(file: *mut bindings::file) -> (&'a File, &'a Inode<F::Inode>) {
        // SAFETY: Per the contract, the file is valid and its inode is an `Inode<F::Inode>`, kept
        // alive by the file.
        unsafe {
            let inode = (*file).f_inode;
            (
                File::from_raw_file(file),
                Inode::<F::Inode>::from_raw(inode),
            )
        }
    }

    /// `mmap` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a referenced file that uses this table and the VMA being set up.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: As the callback's contract says.
        let ((file, inode), vma) = unsafe { (Self::file_and_inode(file), VmaNew::from_raw(vma)) };
        from_result(|| F::mmap(inode, file, vma).map(|()| 0))
    }

    /// `release` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS once, when the last reference to a file that uses this table is dropped;
    /// the file and its inode are still valid during the call.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: As the callback's contract says.
        let (file, inode) = unsafe { Self::file_and_inode(file) };
        // The VFS calls `release` once per file.
        F::release(inode, ReleasedFile(file));
        0
    }

    /// `fallocate` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a referenced file that uses this table.
    unsafe extern "C" fn fallocate(
        file: *mut bindings::file,
        mode: c_int,
        offset: i64,
        len: i64,
    ) -> c_long {
        // SAFETY: As the callback's contract says.
        let (file, inode) = unsafe { Self::file_and_inode(file) };
        from_result(|| F::fallocate(inode, file, mode, offset, len).map(|()| 0))
    }
}

impl<T: PseudoFsInode> PseudoFs<T> {
    /// Creates an `O_RDWR | O_LARGEFILE` file on `inode` with the operations of `F`.
    ///
    /// The file counts as a writer of the inode (`i_writecount`), as an `open(O_RDWR)` would; among
    /// other things this keeps khugepaged and `MADV_COLLAPSE` away from its page cache (6.12 would
    /// otherwise treat the file as read-only under `CONFIG_READ_ONLY_THP_FOR_FS`).
    pub(crate) fn create_file<F: FileOperations<Inode = T>>(
        &self,
        inode: NewInode<T>,
        name: &'static CStr,
    ) -> Result<ARef<File>> {
        let inode = inode.into_inode();
        // The file's `f_op->owner` reference, dropped by `fput()`; our caller runs in this module
        // through a file of it, so the module is live.
        // SAFETY: `THIS_MODULE` is this module.
        unsafe { bindings::__module_get(crate::THIS_MODULE.as_ptr()) };
        // SAFETY: `inode` is a referenced inode of this filesystem's mount; `name` is a static C string
        // and the table is static.
        let file = from_err_ptr(unsafe {
            bindings::alloc_file_pseudo(
                inode.as_ptr(),
                self.mount(&inode),
                name.as_char_ptr(),
                (file::flags::O_RDWR | file::flags::O_LARGEFILE) as i32,
                &FileOpsTable::<F>::TABLE,
            )
        });
        match file {
            Ok(file) => {
                // The file took over the inode reference.
                core::mem::forget(inode);
                // SAFETY: `alloc_file_pseudo()` returned a new file with one reference.
                let file: ARef<File> =
                    unsafe { ARef::from_raw(ptr::NonNull::new_unchecked(file.cast())) };
                // SAFETY: The file is new and ours; `__fput()` undoes this through `FMODE_WRITER`.
                to_result(unsafe { bindings::rust_gmem_file_get_write_access(file.as_ptr()) })?;
                Ok(file)
            }
            Err(e) => {
                // SAFETY: Drops the `f_op->owner` reference taken above; the module stays live
                // through the inode's own reference until `inode` is dropped.
                unsafe { bindings::module_put(crate::THIS_MODULE.as_ptr()) };
                Err(e)
            }
        }
    }
}
