// SPDX-License-Identifier: GPL-2.0

//! The operations of a guest_memfd file: `mmap` and faults, `fallocate`, and the conversion ioctls.

use super::convert::{self, ConvertError};
use super::range::Pages;
use super::{GmemInode, Shareability};
use crate::backport::fs::File;
use crate::backport::mm::virt::{flags, VmaNew};
use crate::kernel_ext::folio::LockedFolio;
use crate::kernel_ext::pseudo_fs::file_ops::{FileOperations, ReleasedFile};
use crate::kernel_ext::pseudo_fs::vm_ops::{self, VmOperations};
use crate::kernel_ext::pseudo_fs::Inode;
use crate::kernel_ext::uapi::{self, kvm_gmem_convert, kvm_memory_attributes2};
use crate::kernel_ext::{errno, kvm, sched};
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

/// The file and mapping operations of guest_memfd files.
pub(crate) struct GmemFile;

#[vtable]
impl FileOperations for GmemFile {
    type Inode = GmemInode;

    fn ioctl(inode: &Inode<GmemInode>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::KVM_GMEM_CONVERT_SHARED => convert_ioctl(inode, arg, Shareability::Shared),
            uapi::KVM_GMEM_CONVERT_PRIVATE => convert_ioctl(inode, arg, Shareability::Private),
            uapi::KVM_SET_MEMORY_ATTRIBUTES2 => set_memory_attributes2(inode, arg),
            _ => Err(ENOTTY),
        }
    }

    fn mmap(inode: &Inode<GmemInode>, _file: &File, vma: &VmaNew) -> Result {
        if !inode.data().has_flags(uapi::GUEST_MEMFD_FLAG_MMAP) {
            return Err(ENODEV);
        }
        // Private (copy-on-write) mappings would copy guest memory out of the file.
        let shared = flags::SHARED | flags::MAYSHARE;
        if vma.flags() & shared != shared {
            return Err(EINVAL);
        }
        vm_ops::set_vm_ops::<GmemFile>(vma, inode)
    }

    fn release(_inode: &Inode<GmemInode>, file: ReleasedFile<'_>) {
        // The file is the only one on its inode: KVM's bindings of it end here.
        kvm::release(file);
    }

    fn fallocate(
        inode: &Inode<GmemInode>,
        file: &File,
        mode: i32,
        offset: i64,
        len: i64,
    ) -> Result {
        let keep_size = uapi::FALLOC_FL_KEEP_SIZE;
        let punch = uapi::FALLOC_FL_PUNCH_HOLE;
        // As mainline: only allocation and hole punching, and the size never changes.
        if mode & keep_size == 0 || mode & !(keep_size | punch) != 0 {
            return Err(errno::eopnotsupp());
        }
        // The VFS has checked `offset >= 0`, `len > 0` and that `offset + len` does not overflow.
        let (offset, len) = (offset as u64, len as u64);
        // Whole blocks only: pages, or huge pages for a huge-page file.
        let blocks = inode.data().params()?.allocator.ops().blocks();
        if !blocks.aligned(offset) || !blocks.aligned(len) {
            return Err(EINVAL);
        }
        if mode & punch != 0 {
            punch_hole(inode, offset, len)?;
        } else {
            allocate(inode, offset, len)?;
        }
        let lock = inode.lock();
        inode.file_modified(file, &lock)
    }
}

impl VmOperations for GmemFile {
    type Inode = GmemInode;

    fn fault(inode: &Inode<GmemInode>, pgoff: usize) -> Result<LockedFolio> {
        let gmem = inode.data();
        let mapping = inode.mapping();
        // Held until the folio is locked: a conversion to private cannot start in between, and one
        // that starts afterwards sees the fault's reference (or the mapping) and backs off.
        let guard = mapping.invalidate_lock_shared();
        // Past the end of the file there is no entry: `EINVAL`, before anything is allocated.
        if gmem.shareability(pgoff, &guard)? != Shareability::Shared {
            return Err(EACCES);
        }
        let folio = gmem.get_usable_folio(mapping, pgoff, &guard)?;
        GmemInode::prepare(&folio);
        Ok(folio)
    }
}

/// Allocates every page of bytes `offset..offset + len` (aligned to the file's blocks, inside the
/// file).
fn allocate(inode: &Inode<GmemInode>, offset: u64, len: u64) -> Result {
    let gmem = inode.data();
    let params = gmem.params()?;
    let range = Pages::of_bytes(offset, len, params.nr_pages)?;
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock_shared();
    for (done, base) in params.allocator.ops().blocks().starts(range).enumerate() {
        // Checked every few blocks rather than every one: each is a call into C.
        if done % 16 == 0 {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            sched::cond_resched();
        }
        drop(gmem.get_folio(mapping, base, &guard)?);
    }
    Ok(())
}

/// Frees the pages of bytes `offset..offset + len` (aligned to the file's blocks; may extend past
/// the end of the file). Their shareability is kept. `EAGAIN` if a split huge page has a page
/// someone still holds.
fn punch_hole(inode: &Inode<GmemInode>, offset: u64, len: u64) -> Result {
    let gmem = inode.data();
    let params = gmem.params()?;
    // Nothing lives past the end of the file.
    let Some(range) = Pages::of_bytes_clamped(offset, len, params.nr_pages)? else {
        return Ok(());
    };
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock();
    // KVM must not map the pages while, or after, they go.
    let _kvm = kvm::invalidate(range.first, range.last, &guard);
    params.allocator.ops().free_range(mapping, range, &guard)
}

/// `KVM_GMEM_CONVERT_SHARED`/`PRIVATE`, in the form of the "1G page support" RFC v2: `error_offset`
/// must be 0 and is reported on `EAGAIN`; a size of 0 converts nothing.
fn convert_ioctl(inode: &Inode<GmemInode>, arg: usize, to: Shareability) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(arg, core::mem::size_of::<kvm_gmem_convert>()).reader_writer();
    let args: kvm_gmem_convert = reader.read()?;
    if args.error_offset != 0 || args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    inode.data().check_convertible()?;
    match convert::convert(inode, args.offset, args.size, to) {
        Ok(()) => Ok(0),
        Err(ConvertError::Invalid) => Err(EINVAL),
        Err(ConvertError::Busy { error_offset }) => {
            let mut out = args;
            out.error_offset = error_offset;
            writer.write(&out)?;
            Err(EAGAIN)
        }
        Err(ConvertError::Failed(e)) => Err(e),
    }
}

/// `KVM_SET_MEMORY_ATTRIBUTES2`, as Linux 7.4: the checks in its order with its errnos, and
/// `error_offset` (not checked on input) reported when the conversion itself fails: the offending
/// page on `EAGAIN`, the start of the range otherwise.
fn set_memory_attributes2(inode: &Inode<GmemInode>, arg: usize) -> Result<isize> {
    let gmem = inode.data();
    // Without in-place conversion a VM's file has no such request at all.
    if gmem.check_convertible() == Err(ENOTTY) {
        return Err(ENOTTY);
    }
    let (mut reader, mut writer) =
        UserSlice::new(arg, core::mem::size_of::<kvm_memory_attributes2>()).reader_writer();
    let args: kvm_memory_attributes2 = reader.read()?;
    if args.flags != 0 || args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    gmem.check_convertible()?;
    let to = match args.attributes {
        0 => Shareability::Shared,
        a if a == uapi::KVM_MEMORY_ATTRIBUTE_PRIVATE => Shareability::Private,
        _ => return Err(EINVAL),
    };
    if args.size == 0 {
        return Err(EINVAL);
    }
    let (error, error_offset) = match convert::convert(inode, args.offset, args.size, to) {
        Ok(()) => return Ok(0),
        Err(ConvertError::Invalid) => return Err(EINVAL),
        Err(ConvertError::Busy { error_offset }) => (EAGAIN, error_offset),
        Err(ConvertError::Failed(e)) => (e, args.offset),
    };
    let mut out = args;
    out.error_offset = error_offset;
    writer.write(&out)?;
    Err(error)
}
