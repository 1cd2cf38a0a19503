// SPDX-License-Identifier: GPL-2.0

//! Files and file descriptors: backport of mainline's `kernel::fs::file` (6.13).
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/file.h`](srctree/include/linux/file.h)
//!
//! The subset rust_gmem uses: [`File`] (without `LocalFile`, `fget()`, credentials and flags, which
//! it does not need: every file it sees comes from the VFS or KVM with a reference),
//! [`FileDescriptorReservation`] and two of the [`flags`].

use crate::bindings;
use core::marker::PhantomData;
use core::ptr;
use kernel::prelude::*;
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// Flags associated with a [`File`].
pub(crate) mod flags {
    use crate::bindings;

    /// File is opened for reading and writing.
    pub(crate) const O_RDWR: u32 = bindings::O_RDWR;
    /// Large file: the size may not fit an `off_t`.
    pub(crate) const O_LARGEFILE: u32 = bindings::O_LARGEFILE;
}

/// A reference-counted `struct file`.
///
/// # Invariants
///
/// The file is referenced (`f_count` > 0) while a reference to this object exists.
#[repr(transparent)]
pub(crate) struct File {
    inner: Opaque<bindings::file>,
}

// SAFETY: `struct file` is reference counted with atomics and may be used and released on any thread.
unsafe impl Send for File {}
// SAFETY: Shared references only read immutable fields or call thread-safe C functions.
unsafe impl Sync for File {}

// SAFETY: `get_file()` and `fput()` keep the file alive while the count is positive.
unsafe impl AlwaysRefCounted for File {
    fn inc_ref(&self) {
        // SAFETY: The file is referenced, so taking another reference is allowed.
        unsafe { bindings::rust_gmem_get_file(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: ptr::NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::fput(obj.cast().as_ptr()) };
    }
}

impl File {
    /// Creates a reference to a [`File`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a file whose reference count stays positive for `'a`.
    pub(crate) unsafe fn from_raw_file<'a>(ptr: *const bindings::file) -> &'a File {
        // INVARIANT: The caller guarantees that the file stays referenced for `'a`.
        // SAFETY: `File` is transparent over `struct file`.
        unsafe { &*ptr.cast() }
    }

    /// Returns a raw pointer to the inner C struct.
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.inner.get()
    }
}

/// A reserved, not yet used file descriptor of the current task.
///
/// # Invariants
///
/// `fd` was returned by `get_unused_fd_flags()` and has not been installed or released.
pub(crate) struct FileDescriptorReservation {
    fd: u32,
    // The reservation belongs to the task's file table: it must not move to another thread.
    _not_send: PhantomData<*mut ()>,
}

impl FileDescriptorReservation {
    /// Reserves an unused file descriptor, with the given `O_*` flags (e.g. `O_CLOEXEC`).
    pub(crate) fn get_unused_fd_flags(flags: u32) -> Result<Self> {
        // SAFETY: Any flags value is accepted by the C function.
        let fd = unsafe { bindings::get_unused_fd_flags(flags) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        // INVARIANT: `fd` is a fresh reservation.
        Ok(Self {
            fd: fd as u32,
            _not_send: PhantomData,
        })
    }

    /// Returns the file descriptor number that was reserved.
    pub(crate) fn reserved_fd(&self) -> u32 {
        self.fd
    }

    /// Commits the reservation: `file` is installed in the descriptor, which takes over the reference.
    pub(crate) fn fd_install(self, file: ARef<File>) {
        let file = ARef::into_raw(file);
        // SAFETY: `self.fd` is reserved (type invariant) and we give up our reference on the file.
        unsafe { bindings::fd_install(self.fd, file.as_ptr().cast()) };
        // The descriptor is used now: do not release it.
        core::mem::forget(self);
    }
}

impl Drop for FileDescriptorReservation {
    fn drop(&mut self) {
        // SAFETY: The descriptor is reserved and unused (type invariant).
        unsafe { bindings::put_unused_fd(self.fd) };
    }
}
