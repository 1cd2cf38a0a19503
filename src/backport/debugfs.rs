// SPDX-License-Identifier: GPL-2.0

//! debugfs: backport of mainline's `kernel::debugfs` (6.18).
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)
//!
//! The subset rust_gmem uses: directories ([`Dir`]), and files whose data they own ([`File`]),
//! read through [`Writer`] and written through [`Reader`]. As in mainline, every entry holds a
//! reference to its parent directory, so a directory is removed only after its last file, whatever
//! order their owners drop them in; and a file is removed (which waits for its readers, since files
//! are made with `debugfs_create_file()`, not `_unsafe`) before its data is dropped.
//!
//! Differences from mainline: reads build the whole text in a buffer on each call instead of going
//! through `seq_file` (6.12 has no Rust `seq_file`), and there are no scoped or binary files.

use crate::bindings;
use core::fmt;
use core::marker::{PhantomData, PhantomPinned};
use core::ptr::{self, addr_of_mut};
use kernel::alloc::KVec;
use kernel::error::from_result;
use kernel::ffi::c_void;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::{UserSlice, UserSliceReader};

/// A type that can be written into a [`fmt::Formatter`]: the text of a readable debugfs [`File`].
pub(crate) trait Writer {
    /// Formats the value.
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A type that can be updated from a user slice: what a write to a writable debugfs [`File`] does.
pub(crate) trait Reader {
    /// Updates the value from the bytes the user wrote.
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result;
}

/// A debugfs entry, removed when dropped. The entries in a directory hold a reference to the
/// directory's entry, so a directory goes only after everything in it.
///
/// # Invariants
///
/// `entry` was returned by a debugfs create call (possibly an error pointer, which the debugfs API
/// accepts everywhere and which makes every call a no-op) and has not been removed. `_parent`, if
/// any, is the entry of the directory that contains it.
struct Entry {
    entry: *mut bindings::dentry,
    _parent: Option<Arc<Entry>>,
}

// SAFETY: debugfs entries can be created and removed from any thread.
unsafe impl Send for Entry {}
// SAFETY: `&Entry` is only used as the parent of new entries, which debugfs locks.
unsafe impl Sync for Entry {}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: The entry has not been removed (type invariant); removal waits for active readers
        // and writers of a file. Error pointers are ignored.
        unsafe { bindings::debugfs_remove(self.entry) };
    }
}

/// A debugfs directory. Cloning it makes another handle to the same directory; the directory is
/// removed when the last handle and the last entry in it are gone.
///
/// If the directory could not be made, the handle is empty and everything made in it is a no-op
/// (debugfs is optional).
#[derive(Clone)]
pub(crate) struct Dir(Option<Arc<Entry>>);

impl Dir {
    /// Creates a directory at the root of debugfs.
    pub(crate) fn new(name: &CStr) -> Self {
        // SAFETY: `name` is a valid C string; a null parent is the debugfs root.
        let entry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        // INVARIANT: `entry` comes from `debugfs_create_dir()`; it has no parent.
        let entry = Entry {
            entry,
            _parent: None,
        };
        // Without memory for the handle the directory is removed at once (`entry` drops).
        Self(Arc::new(entry, GFP_KERNEL).ok())
    }

    /// Creates a read-only file in this directory whose text is `T`'s [`Writer`] output, read
    /// again on each `read`.
    pub(crate) fn read_only_file<'a, T, E: 'a>(
        &'a self,
        name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: Writer + Send + Sync + 'static,
    {
        self.create_file(name, data, 0o400, &ReadTable::<T>::FOPS)
    }

    /// Creates a file in this directory, for root only, that reads as [`Writer`] and writes
    /// through [`Reader`].
    pub(crate) fn read_write_file<'a, T, E: 'a>(
        &'a self,
        name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: Writer + Reader + Send + Sync + 'static,
    {
        self.create_file(name, data, 0o600, &ReadWriteTable::<T>::FOPS)
    }

    fn create_file<'a, T, E: 'a>(
        &'a self,
        name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
        mode: u16,
        fops: &'static bindings::file_operations,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: Send + Sync + 'static,
    {
        let init = move |slot: *mut File<T>| -> Result<(), E> {
            // SAFETY: `slot` is valid for writes and pinned. The data is initialised first; the
            // debugfs file that exposes it is made afterwards and is removed before the data is
            // dropped (field order of `File`), and the data does not move while pinned. `fops`
            // reads the data as a `T`.
            unsafe {
                let data_slot = addr_of_mut!((*slot).data);
                data.__pinned_init(data_slot)?;
                let entry = match &self.0 {
                    Some(dir) => bindings::debugfs_create_file(
                        name.as_char_ptr(),
                        mode,
                        dir.entry,
                        data_slot.cast(),
                        fops,
                    ),
                    // No directory: no file either (an error pointer, which debugfs ignores).
                    None => ENODEV.to_ptr(),
                };
                // INVARIANT: The entry comes from a debugfs create call, in the directory it holds.
                addr_of_mut!((*slot)._entry).write(Entry {
                    entry,
                    _parent: self.0.clone(),
                });
                addr_of_mut!((*slot)._pin).write(PhantomPinned);
            }
            Ok(())
        };
        // SAFETY: The closure initialises every field on success and leaves nothing on failure (the
        // data's initialiser cleans up after itself).
        unsafe { kernel::init::pin_init_from_closure(init) }
    }
}

/// A debugfs file that owns its data: the file goes when this is dropped, then the data.
#[pin_data]
pub(crate) struct File<T> {
    // Dropped first: removing the file waits for its readers and writers.
    _entry: Entry,
    #[pin]
    data: T,
    #[pin]
    _pin: PhantomPinned,
}

impl<T> core::ops::Deref for File<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// Formats a [`Writer`] with `{}`.
struct Show<'a, T>(&'a T);

impl<T: Writer> fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f)
    }
}

/// A growable text buffer.
struct TextBuf(KVec<u8>);

impl fmt::Write for TextBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}

/// The data of a debugfs file made by [`Dir::create_file`].
///
/// # Safety
///
/// `file` must be an open file of a debugfs entry made by [`Dir::create_file`] with a `T`, during
/// a file operation (which keeps the entry, hence the data, alive).
unsafe fn data<'a, T>(file: *mut bindings::file) -> &'a T {
    // SAFETY: The debugfs inode's `i_private` is the data given to `debugfs_create_file()`, a `T`
    // that lives until the entry is removed, which waits for this operation to end.
    unsafe { &*(*(*file).f_inode).i_private.cast::<T>() }
}

/// `read` callback of files whose data is a `T: Writer`.
///
/// # Safety
///
/// Called by the VFS with the arguments of a `read` on a file made by [`Dir::create_file`] with a
/// `T`.
unsafe extern "C" fn read<T: Writer>(
    file: *mut bindings::file,
    buf: *mut u8,
    count: usize,
    ppos: *mut i64,
) -> isize {
    // SAFETY: As the callback's contract says.
    let data = unsafe { data::<T>(file) };
    let mut text = TextBuf(KVec::new());
    if fmt::write(&mut text, format_args!("{}", Show(data))).is_err() {
        return ENOMEM.to_errno() as isize;
    }
    // SAFETY: `buf` is a user buffer of `count` bytes and `ppos` the file position (callback
    // arguments); the source is our own buffer of `len` bytes.
    unsafe {
        bindings::simple_read_from_buffer(
            buf.cast(),
            count,
            ppos,
            text.0.as_ptr().cast::<c_void>(),
            text.0.len(),
        )
    }
}

/// `write` callback of files whose data is a `T: Reader`.
///
/// # Safety
///
/// Called by the VFS with the arguments of a `write` on a file made by [`Dir::create_file`] with a
/// `T`.
unsafe extern "C" fn write<T: Reader>(
    file: *mut bindings::file,
    buf: *const u8,
    count: usize,
    _ppos: *mut i64,
) -> isize {
    // SAFETY: As the callback's contract says.
    let data = unsafe { data::<T>(file) };
    let mut reader = UserSlice::new(buf as usize, count).reader();
    from_result(|| {
        data.read_from_slice(&mut reader)?;
        Ok(count as isize)
    })
}

struct ReadTable<T>(PhantomData<T>);

impl<T: Writer> ReadTable<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`.
        owner: ptr::addr_of!(bindings::__this_module) as *mut _,
        read: Some(read::<T>),
        // SAFETY: All-zero is a valid `file_operations` (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

struct ReadWriteTable<T>(PhantomData<T>);

impl<T: Writer + Reader> ReadWriteTable<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`.
        owner: ptr::addr_of!(bindings::__this_module) as *mut _,
        read: Some(read::<T>),
        write: Some(write::<T>),
        // SAFETY: All-zero is a valid `file_operations` (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}
