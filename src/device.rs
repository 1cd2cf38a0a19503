// SPDX-License-Identifier: GPL-2.0

//! Where guest_memfd files come from: `/dev/guest_memfd`, and KVM's `KVM_CREATE_GUEST_MEMFD` when the
//! kernel has the provider patch.
//!
//! `/dev/guest_memfd` serves `KVM_CREATE_GUEST_MEMFD` with KVM's number and structure, so tests and
//! VMMs that only need the host side of a guest_memfd can make one without `/dev/kvm`. Files made
//! through KVM belong to that VM: KVM binds them to memslots and takes guest pages from them.

use crate::gmem::{self, GmemInode, Stats, RUST_GMEM_MAGIC};
use crate::kernel_ext::debugfs;
use crate::kernel_ext::file::{File, FileDescriptorReservation};
use crate::kernel_ext::fs::{FileSystemType, PseudoFs};
use crate::kernel_ext::miscdevice::MiscDevice;
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
#[cfg(rust_gmem_kvm)]
use crate::kernel_ext::{folio::LockedFolio, fs::Inode, kvm};
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
        try_pin_init!(Self {
            debugfs,
            fs <- PseudoFs::new(&GMEM_FS_TYPE, c_str!("rust_gmem"), RUST_GMEM_MAGIC),
        }? Error)
    }

    fn create(&self, args: &kvm_create_guest_memfd, valid_flags: u64) -> Result<ARef<File>> {
        gmem::create(&self.fs, &self.debugfs, args, valid_flags)
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
                let file = core.create(&args, uapi::RUST_GMEM_VALID_FLAGS)?;
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

    fn create(
        core: &Arc<GmemCore>,
        args: &kvm_create_guest_memfd,
        private_mem: bool,
    ) -> Result<ARef<File>> {
        // 6.12's KVM takes no flags, and its selftests check that every flag is refused on a VM
        // without private memory; VMs with private memory (KVM_X86_SW_PROTECTED_VM) get in-place
        // conversion.
        let valid_flags = if private_mem {
            uapi::RUST_GMEM_VALID_FLAGS
        } else {
            0
        };
        let file = core.create(args, valid_flags)?;
        gmem::KVM_FILES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(file)
    }

    fn link(inode: &Inode<GmemInode>) -> Option<&kvm::KvmLink> {
        inode.data().kvm_link()
    }

    fn get_folio(inode: &Inode<GmemInode>, index: usize) -> Result<(LockedFolio, u32)> {
        gmem::kvm_get_folio(inode, index)
    }

    fn in_place(inode: &Inode<GmemInode>) -> bool {
        inode.data().converts_in_place()
    }

    fn is_private(inode: &Inode<GmemInode>, index: usize) -> bool {
        inode.data().is_private_lockless(index)
    }
}
