// SPDX-License-Identifier: GPL-2.0

//! Where guest_memfd files come from: `/dev/guest_memfd`, and KVM's `KVM_CREATE_GUEST_MEMFD` when the
//! kernel has the provider patch.
//!
//! `/dev/guest_memfd` serves `KVM_CREATE_GUEST_MEMFD` with KVM's number and structure, so tests and
//! VMMs that only need the host side of a guest_memfd can make one without `/dev/kvm`. Files made
//! through KVM belong to that VM: KVM binds them to memslots and takes guest pages from them.

use crate::backport::debugfs;
use crate::backport::fs::file::{File, FileDescriptorReservation};
use crate::backport::miscdevice::{MiscDevice, MiscDeviceRegistration};
use crate::gmem::{self, ConvertDelay, GmemInode, Owner, Stats, RUST_GMEM_MAGIC};
use crate::kernel_ext::infallible;
use crate::kernel_ext::pseudo_fs::{FileSystemType, PseudoFs};
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
#[cfg(rust_gmem_kvm)]
use crate::kernel_ext::{folio::LockedFolio, kvm, params, pseudo_fs::Inode};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::ARef;
use kernel::uaccess::UserSlice;

static GMEM_FS_TYPE: FileSystemType<GmemInode> = FileSystemType::new();

/// What every guest_memfd file is made with: the pseudo-filesystem and the debugfs directory of
/// the files' views, with the module-wide debugfs files.
///
/// Each debugfs file holds a reference to the directory, so the order in which these go does not
/// matter.
#[pin_data]
pub(crate) struct GmemCore {
    #[pin]
    fs: PseudoFs<GmemInode>,
    #[pin]
    _stats: debugfs::File<Stats>,
    #[pin]
    _convert_delay: debugfs::File<ConvertDelay>,
    debugfs: debugfs::Dir,
}

impl GmemCore {
    /// Creates the debugfs directory and sets up the pseudo-filesystem.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let debugfs = debugfs::Dir::new(c_str!("rust_gmem"));
        try_pin_init!(Self {
            fs <- PseudoFs::new(&GMEM_FS_TYPE, c_str!("rust_gmem"), RUST_GMEM_MAGIC),
            _stats <- debugfs.read_only_file(c_str!("stats"), infallible(Stats)),
            _convert_delay <-
                debugfs.read_write_file(c_str!("convert_delay_us"), infallible(ConvertDelay)),
            debugfs,
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
    type Ptr = Arc<GmemCore>;
    type RegistrationData = Arc<GmemCore>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Arc<GmemCore>> {
        Ok(misc.data().clone())
    }

    fn ioctl(core: ArcBorrow<'_, GmemCore>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
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
