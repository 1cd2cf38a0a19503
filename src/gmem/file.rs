// SPDX-License-Identifier: GPL-2.0

//! The operations of a guest_memfd file: `mmap` and faults, `fallocate`, and the conversion ioctls.

use super::convert::{self, ConvertError};
use super::{GmemInode, Shareability};
use crate::kernel_ext::file::{File, FileOperations, ReleasedFile};
use crate::kernel_ext::folio::LockedFolio;
use crate::kernel_ext::fs::Inode;
use crate::kernel_ext::mm::{VmOperations, VmaNew};
use crate::kernel_ext::uapi::{self, kvm_gmem_convert, kvm_memory_attributes2};
use crate::kernel_ext::{errno, kvm, sched};
use kernel::page::PAGE_SIZE;
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
        if !vma.is_shared() {
            return Err(EINVAL);
        }
        vma.set_vm_ops::<GmemFile>();
        Ok(())
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
        // Whole folios only: pages, or huge pages for a huge-page file.
        let unit = (inode.data().params()?.allocator.ops().pages_per_folio() * PAGE_SIZE) as i64;
        if offset.checked_rem(unit) != Some(0) || len.checked_rem(unit) != Some(0) {
            return Err(EINVAL);
        }
        if mode & punch != 0 {
            punch_hole(inode, offset, len)?;
        } else {
            allocate(inode, offset, len)?;
        }
        file.modified()
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

/// Allocates every page of `offset..offset + len` (bytes, page aligned, inside the file).
fn allocate(inode: &Inode<GmemInode>, offset: i64, len: i64) -> Result {
    let gmem = inode.data();
    let params = gmem.params()?;
    let page = PAGE_SIZE as u64;
    let (offset, len) = (offset as u64, len as u64);
    if offset + len > params.pages as u64 * page {
        return Err(EINVAL);
    }
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock_shared();
    let step = params.allocator.ops().pages_per_folio();
    let first = (offset / page) as usize;
    let end = ((offset + len) / page) as usize;
    // Folios are aligned to `step` pages, so the next one starts at the next multiple of it.
    let mut index = first;
    let mut done = 0usize;
    while index < end {
        // Checked every few folios rather than every one: each is a call into C.
        if done % 16 == 0 {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            sched::cond_resched();
        }
        drop(gmem.get_folio(mapping, index, &guard)?);
        index = (index / step + 1) * step;
        done += 1;
    }
    Ok(())
}

/// Frees the pages of `offset..offset + len` (bytes, aligned to the file's folios; may extend past
/// the end of the file). Their shareability is kept. `EAGAIN` if a split huge page has a page
/// someone still holds.
fn punch_hole(inode: &Inode<GmemInode>, offset: i64, len: i64) -> Result {
    let gmem = inode.data();
    let params = gmem.params()?;
    let page = PAGE_SIZE as u64;
    let first = (offset as u64 / page) as usize;
    // `offset + len` does not overflow (checked by the VFS) and is past `offset`.
    let last = ((offset as u64 + len as u64) / page - 1) as usize;
    // Nothing lives past the end of the file.
    if first >= params.pages {
        return Ok(());
    }
    let last = last.min(params.pages - 1);
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock();
    // KVM must not map the pages while, or after, they go.
    let _kvm = kvm::invalidate(first, last, &guard);
    params
        .allocator
        .ops()
        .free_range(mapping, first, last, &guard)
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
