// SPDX-License-Identifier: GPL-2.0

//! Where guest_memfd files come from: `/dev/guest_memfd`, and KVM's `KVM_CREATE_GUEST_MEMFD` when the
//! kernel has the provider patch.
//!
//! `/dev/guest_memfd` serves `KVM_CREATE_GUEST_MEMFD` with KVM's number and structure, so tests and
//! VMMs that only need the host side of a guest_memfd can make one without `/dev/kvm`. Files made
//! through KVM belong to that VM: KVM binds them to memslots and takes guest pages from them.

use crate::gmem::{self, GmemInode, Owner, Stats, RUST_GMEM_MAGIC};
use crate::kernel_ext::debugfs;
use crate::kernel_ext::file::{File, FileDescriptorReservation};
use crate::kernel_ext::fs::{FileSystemType, PseudoFs};
use crate::kernel_ext::miscdevice::MiscDevice;
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
#[cfg(rust_gmem_kvm)]
use crate::kernel_ext::{folio::LockedFolio, fs::Inode, kvm, params};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::ARef;
use kernel::uaccess::UserSlice;

static GMEM_FS_TYPE: FileSystemType<GmemInode> = FileSystemType::new();

/// What every guest_memfd file is made with: the pseudo-filesystem and the debugfs directory.
///
/// Fields drop in order: the filesystem goes before the directory that held its inodes' files.
#[pin_data]
pub(crate) struct GmemCore {
    #[pin]
    fs: PseudoFs<GmemInode>,
    debugfs: debugfs::Dir,
}

impl GmemCore {
    /// Creates the debugfs directory and sets up the pseudo-filesystem.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let debugfs = debugfs::Dir::new(c_str!("rust_gmem"));
        debugfs.create_file::<Stats>(c_str!("stats"));
        debugfs.read_write_file(c_str!("convert_delay_us"), &gmem::CONVERT_DELAY_US);
        try_pin_init!(Self {
            debugfs,
            fs <- PseudoFs::new(&GMEM_FS_TYPE, c_str!("rust_gmem"), RUST_GMEM_MAGIC),
        }? Error)
    }

    fn create(&self, args: &kvm_create_guest_memfd, owner: Owner) -> Result<ARef<File>> {
        gmem::create(&self.fs, &self.debugfs, args, owner)
    }
}

/// The misc device `/dev/guest_memfd`.
pub(crate) struct GmemDevice;

#[vtable]
impl MiscDevice for GmemDevice {
    type Data = Arc<GmemCore>;

    fn ioctl(core: &Arc<GmemCore>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_CREATE_GUEST_MEMFD => {
                let mut reader =
                    UserSlice::new(arg, core::mem::size_of::<kvm_create_guest_memfd>()).reader();
                let args: kvm_create_guest_memfd = reader.read()?;
                // Reserve the descriptor first: once the file exists, only `fput()` may undo it.
                let fd = FileDescriptorReservation::get_unused_fd_flags(0)?;
                let file = core.create(&args, Owner::Device)?;
                let nr = fd.reserved_fd();
                fd.fd_install(file);
                Ok(nr as isize)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// KVM's guest_memfd provider: `KVM_CREATE_GUEST_MEMFD` on a VM makes a rust_gmem file.
#[cfg(rust_gmem_kvm)]
pub(crate) struct KvmProvider;

#[cfg(rust_gmem_kvm)]
impl kvm::Provider for KvmProvider {
    type Inode = GmemInode;
    type Data = Arc<GmemCore>;

    fn fs_type() -> &'static FileSystemType<GmemInode> {
        &GMEM_FS_TYPE
    }

    fn in_place_conversion() -> bool {
        params::in_place_conversion()
    }

    fn supported_flags(private_mem: bool) -> u64 {
        gmem::vm_supported_flags(private_mem)
    }

    fn create(
        core: &Arc<GmemCore>,
        args: &kvm_create_guest_memfd,
        private_mem: bool,
    ) -> Result<ARef<File>> {
        let file = core.create(args, Owner::Vm { private_mem })?;
        gmem::KVM_FILES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(file)
    }

    fn folio_order(inode: &Inode<GmemInode>) -> u32 {
        inode.data().folio_order()
    }

    fn get_folio(inode: &Inode<GmemInode>, index: usize) -> Result<(LockedFolio, u32)> {
        gmem::kvm_get_folio(inode, index)
    }

    fn gmem_only(inode: &Inode<GmemInode>) -> bool {
        inode.data().gmem_only()
    }

    fn is_private(inode: &Inode<GmemInode>, index: usize) -> bool {
        inode.data().is_private_lockless(index)
    }
}
