// SPDX-License-Identifier: GPL-2.0

//! `/dev/guest_memfd`: creates guest_memfd files without a VM.
//!
//! It serves `KVM_CREATE_GUEST_MEMFD` with KVM's number and structure, so tests and VMMs that only
//! need the host side of a guest_memfd can make one without `/dev/kvm`.

use crate::gmem::{self, GmemInode, Stats, RUST_GMEM_MAGIC};
use crate::kernel_ext::debugfs;
use crate::kernel_ext::file::{File, FileDescriptorReservation};
use crate::kernel_ext::fs::{FileSystemType, PseudoFs};
use crate::kernel_ext::miscdevice::MiscDevice;
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
use kernel::c_str;
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

/// The type of the pseudo-filesystem that holds guest_memfd inodes.
static GMEM_FS_TYPE: FileSystemType = FileSystemType::new();

/// Everything the device needs: the pseudo-filesystem its files live on, and the debugfs directory.
///
/// Fields drop in order: the filesystem goes before the directory that held its inodes' files.
#[pin_data]
pub(crate) struct GmemDevice {
    #[pin]
    fs: PseudoFs<GmemInode>,
    debugfs: debugfs::Dir,
}

impl GmemDevice {
    /// Creates the debugfs directory and mounts the pseudo-filesystem.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let debugfs = debugfs::Dir::new(c_str!("rust_gmem"));
        debugfs.create_file::<Stats>(c_str!("stats"));
        try_pin_init!(Self {
            debugfs,
            fs <- PseudoFs::new(&GMEM_FS_TYPE, c_str!("rust_gmem"), RUST_GMEM_MAGIC),
        }? Error)
    }

    fn create(&self, arg: usize) -> Result<isize> {
        let mut reader =
            UserSlice::new(arg, core::mem::size_of::<kvm_create_guest_memfd>()).reader();
        let args: kvm_create_guest_memfd = reader.read()?;
        // Reserve the descriptor first: once the file exists, only `fput()` may undo it.
        let fd = FileDescriptorReservation::get_unused_fd_flags(0)?;
        let file = gmem::create(&self.fs, &self.debugfs, &args)?;
        let nr = fd.reserved_fd();
        fd.fd_install(file);
        Ok(nr as isize)
    }
}

#[vtable]
impl MiscDevice for GmemDevice {
    type Data = GmemDevice;

    fn ioctl(data: &GmemDevice, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_CREATE_GUEST_MEMFD => data.create(arg),
            _ => Err(ENOTTY),
        }
    }
}
