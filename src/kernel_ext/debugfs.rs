// SPDX-License-Identifier: GPL-2.0

//! Read-only debugfs files whose text is produced on each read.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)
//!
//! Files are created with `debugfs_create_file()` (not `_unsafe`), so the debugfs core keeps a file's
//! data alive across each read and `debugfs_remove()` waits for readers to finish.

use super::bindings;
use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::AtomicU32;
use kernel::alloc::KVec;
use kernel::ffi::c_void;
use kernel::prelude::*;

/// A debugfs directory, removed with everything in it when dropped.
///
/// # Invariants
///
/// `dentry` was returned by `debugfs_create_dir()` (possibly an error pointer, which the debugfs API
/// accepts everywhere and which makes every call a no-op) and has not been removed.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
}

// SAFETY: debugfs entries can be created and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&self` only creates files in the directory, which debugfs locks.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates a directory at the top of debugfs. Failure is not an error: debugfs is optional.
    pub(crate) fn new(name: &'static CStr) -> Self {
        // SAFETY: `name` is a valid C string; a null parent is the debugfs root.
        let dentry =
            unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // INVARIANT: `dentry` comes from `debugfs_create_dir()`.
        Self { dentry }
    }

    /// Creates a read-only file in this directory whose text is produced by `S` on each read.
    ///
    /// The file is removed together with the directory.
    pub(crate) fn create_file<S: Show>(&self, name: &'static CStr) {
        // SAFETY: `self.dentry` is a directory (or an error pointer, which debugfs ignores); the table
        // is static and the file needs no data.
        unsafe {
            self.create_raw(
                name.as_char_ptr(),
                core::ptr::null_mut(),
                &ShowTable::<S>::FOPS,
            )
        };
    }

    /// Creates a file in this directory that reads and writes `value` as a decimal number
    /// (`debugfs_create_u32()`), for root only. The file is removed together with the directory.
    pub(crate) fn read_write_file(&self, name: &'static CStr, value: &'static AtomicU32) {
        // SAFETY: `self.dentry` is a directory (or an error pointer, which debugfs ignores); the
        // value is static, and the C side only reads and writes it with single `u32` accesses.
        unsafe {
            bindings::debugfs_create_u32(name.as_char_ptr(), 0o600, self.dentry, value.as_ptr())
        };
    }

    /// Creates a file with raw data and operations, and returns its dentry.
    ///
    /// # Safety
    ///
    /// `data` must stay valid until the returned dentry is removed with [`remove`], and `fops` must be
    /// able to handle `data`.
    pub(super) unsafe fn create_raw(
        &self,
        name: *const u8,
        data: *mut c_void,
        fops: &'static bindings::file_operations,
    ) -> *mut bindings::dentry {
        // SAFETY: The caller guarantees `data`'s lifetime; `name` is a C string; `fops` is static.
        unsafe { bindings::debugfs_create_file(name, 0o444, self.dentry, data, fops) }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: The directory has not been removed (type invariant).
        unsafe { remove(self.dentry) };
    }
}

/// Removes a debugfs entry (recursively), waiting for readers of its files.
///
/// # Safety
///
/// `dentry` must come from a debugfs create call and not have been removed.
pub(super) unsafe fn remove(dentry: *mut bindings::dentry) {
    // SAFETY: The caller guarantees that the entry exists; error pointers are ignored by debugfs.
    unsafe { bindings::debugfs_remove(dentry) };
}

/// A text buffer for debugfs output, written with `write!`.
pub(crate) struct ShowBuf(KVec<u8>);

impl fmt::Write for ShowBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}

/// Produces the text of a debugfs file that has no data of its own.
pub(crate) trait Show: 'static {
    /// Writes the file's text into `out`.
    fn show(out: &mut ShowBuf) -> fmt::Result;
}

/// Builds the text with `show` and copies the requested part to userspace.
///
/// # Safety
///
/// `buf`, `count` and `ppos` must be the arguments of a `file_operations::read` call.
pub(super) unsafe fn read_with(
    buf: *mut u8,
    count: usize,
    ppos: *mut i64,
    show: impl FnOnce(&mut ShowBuf) -> fmt::Result,
) -> isize {
    let mut out = ShowBuf(KVec::new());
    if show(&mut out).is_err() {
        return ENOMEM.to_errno() as isize;
    }
    // SAFETY: `buf` is a user buffer of `count` bytes and `ppos` the file position (caller); the source
    // is our own buffer of `len` bytes.
    unsafe {
        bindings::simple_read_from_buffer(
            buf.cast(),
            count,
            ppos,
            out.0.as_ptr().cast(),
            out.0.len(),
        )
    }
}

struct ShowTable<S>(PhantomData<S>);

impl<S: Show> ShowTable<S> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`.
        owner: core::ptr::addr_of!(bindings::__this_module) as *mut _,
        read: Some(Self::read),
        // SAFETY: All-zero is a valid `file_operations` (every callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// `read` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with the arguments of a `read` on a file that uses this table.
    unsafe extern "C" fn read(
        _file: *mut bindings::file,
        buf: *mut u8,
        count: usize,
        ppos: *mut i64,
    ) -> isize {
        // SAFETY: These are the arguments of a `read` call.
        unsafe { read_with(buf, count, ppos, S::show) }
    }
}
