// SPDX-License-Identifier: GPL-2.0

//! guest_memfd files: inodes on the module's pseudo-filesystem with a per-file shareability map.
//!
//! # Locking
//!
//! One lock guards the shareability map: the mapping's `invalidate_lock` (see
//! `Documentation/locking.rst` for why one lock and not a separate tree lock).
//!
//! - shared: host faults and allocation, which read the map (issue #3);
//! - exclusive: creation (initial store), conversion and truncation, which write it or must not race
//!   with a writer, and destruction.
//!
//! The maple tree is created with `MT_FLAGS_LOCK_EXTERN` and the invalidate lock as its external lock,
//! so lockdep checks every access, and the tree wrapper takes a guard of that lock as proof.
//!
//! Lock order, outermost first:
//!
//! 1. `mapping->invalidate_lock` (this file);
//! 2. the folio lock and the page-cache `i_pages` lock (taken inside the filemap calls).
//!
//! A debugfs reader takes the invalidate lock shared; `debugfs_remove()` waits for readers and is
//! never called with the invalidate lock held.

use crate::kernel_ext::debugfs::{self, ShowBuf};
use crate::kernel_ext::file::{File, FileOperations};
use crate::kernel_ext::fs::{Inode, InodeInfo, NewInodeCtx, PseudoFs, PseudoFsInode};
use crate::kernel_ext::maple_tree::MapleTree;
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::c_str;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::types::ARef;

/// Magic number of the pseudo-filesystem ("RGMM").
pub(crate) const RUST_GMEM_MAGIC: u64 = 0x5247_4d4d;

/// Live guest_memfd inodes (not counting the pseudo-filesystem's root); shown in debugfs.
static LIVE_INODES: AtomicUsize = AtomicUsize::new(0);

/// Who may access a page of a guest_memfd file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shareability {
    /// The host may map and access the page; the guest sees it as shared.
    Shared,
    /// Only the guest may access the page; host faults raise SIGBUS.
    Private,
}

impl Shareability {
    /// The value stored in the maple tree: KVM's memory attributes (0 or `PRIVATE`), as in the
    /// successor series to the RFC.
    fn to_attributes(self) -> usize {
        match self {
            Self::Shared => 0,
            Self::Private => uapi::KVM_MEMORY_ATTRIBUTE_PRIVATE as usize,
        }
    }

    fn from_attributes(attributes: usize) -> Self {
        if attributes & uapi::KVM_MEMORY_ATTRIBUTE_PRIVATE as usize != 0 {
            Self::Private
        } else {
            Self::Shared
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Private => "private",
        }
    }
}

/// The private part of a guest_memfd inode.
///
/// Every page index of the file is covered by exactly one range of `shareability`, and adjacent
/// ranges hold different values.
#[pin_data(PinnedDrop)]
pub(crate) struct GmemInode {
    /// Shareability of each page, by page index; see the module documentation for its lock.
    #[pin]
    shareability: MapleTree,
    /// The `GUEST_MEMFD_FLAG_*` the file was created with; written once before the file is visible.
    flags: AtomicU64,
    /// The file size in pages; written once before the file is visible, 0 for the root inode.
    pages: AtomicUsize,
}

impl PseudoFsInode for GmemInode {
    fn new(ctx: NewInodeCtx<'_>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            shareability <- ctx.maple_tree(),
            flags: AtomicU64::new(0),
            pages: AtomicUsize::new(0),
        }? Error)
    }

    fn show(info: InodeInfo<'_>, gmem: &Self, out: &mut ShowBuf) -> fmt::Result {
        let guard = info.mapping.invalidate_lock_shared();
        writeln!(out, "ino: {}", info.ino)?;
        writeln!(out, "size: {}", info.size)?;
        writeln!(out, "flags: {:#x}", gmem.flags.load(Ordering::Relaxed))?;
        let ranges = gmem
            .shareability
            .ranges(0, usize::MAX, &guard)
            .map_err(|_| fmt::Error)?;
        let mut entries = 0usize;
        for entry in ranges {
            entries += 1;
            writeln!(
                out,
                "range: {:#x}-{:#x} {}",
                entry.first,
                entry.last,
                Shareability::from_attributes(entry.value).name()
            )?;
        }
        writeln!(out, "entries: {entries}")
    }
}

#[pinned_drop]
impl PinnedDrop for GmemInode {
    fn drop(self: Pin<&mut Self>) {
        if self.pages.load(Ordering::Relaxed) != 0 {
            LIVE_INODES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The file operations of guest_memfd files.
pub(crate) struct GmemFile;

#[vtable]
impl FileOperations for GmemFile {
    type Inode = GmemInode;
}

/// Module-wide debugfs statistics (`/sys/kernel/debug/rust_gmem/stats`).
pub(crate) struct Stats;

impl debugfs::Show for Stats {
    fn show(out: &mut ShowBuf) -> fmt::Result {
        writeln!(out, "inodes: {}", LIVE_INODES.load(Ordering::Relaxed))
    }
}

/// Checks a create request; returns the size in pages.
fn validate_create(args: &kvm_create_guest_memfd) -> Result<usize> {
    if args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    if args.flags & !uapi::RUST_GMEM_VALID_FLAGS != 0 {
        return Err(EINVAL);
    }
    // As mainline: the size is a positive `loff_t` and a multiple of the page size.
    let size = args.size;
    if size == 0 || size > uapi::MAX_LFS_FILESIZE || size % PAGE_SIZE as u64 != 0 {
        return Err(EINVAL);
    }
    usize::try_from(size / PAGE_SIZE as u64).map_err(|_| EINVAL)
}

/// Creates a guest_memfd file as `KVM_CREATE_GUEST_MEMFD` describes and returns it.
pub(crate) fn create(
    fs: &PseudoFs<GmemInode>,
    dir: &debugfs::Dir,
    args: &kvm_create_guest_memfd,
) -> Result<ARef<File>> {
    let pages = validate_create(args)?;
    let mut new = fs.new_inode()?;
    // `validate_create` bounded the size by `MAX_LFS_FILESIZE`, so it fits an `i64`.
    new.set_size(args.size as i64);
    let inode: &Inode<GmemInode> = new.inode();
    let mapping = inode.mapping();
    mapping.set_gfp_mask(uapi::GFP_HIGHUSER);
    mapping.set_inaccessible();

    let gmem = inode.data();
    gmem.flags.store(args.flags, Ordering::Relaxed);
    gmem.pages.store(pages, Ordering::Relaxed);
    LIVE_INODES.fetch_add(1, Ordering::Relaxed);
    let initial = if args.flags & uapi::GUEST_MEMFD_FLAG_INIT_SHARED != 0 {
        Shareability::Shared
    } else {
        Shareability::Private
    };
    {
        // Nobody else can see the inode yet; the lock is for the tree's lockdep check.
        let guard = mapping.invalidate_lock();
        gmem.shareability
            .store_range(0, pages - 1, initial.to_attributes(), &guard)?;
    }
    new.create_debugfs_file(dir);
    fs.create_file::<GmemFile>(new, c_str!("[rust_gmem]"))
}
