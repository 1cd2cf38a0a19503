// SPDX-License-Identifier: GPL-2.0

//! guest_memfd files: inodes on the module's pseudo-filesystem with a per-file shareability map.
//!
//! # Locking
//!
//! One lock guards the shareability map and the page cache's contents: the mapping's
//! `invalidate_lock` (`Documentation/locking.rst` says why one lock and not a separate tree lock).
//!
//! - shared: host faults and allocation (`fallocate`), which read the map and add folios;
//! - exclusive: creation (initial store), conversion and hole punching, which write the map or remove
//!   and restructure folios, and destruction.
//!
//! The maple tree is created with `MT_FLAGS_LOCK_EXTERN` and the invalidate lock as its external lock,
//! so lockdep checks every access, and the tree wrapper takes a guard of that lock as proof.
//!
//! The lock order of the whole module, with the reasons for it, is in one place:
//! `Documentation/locking.rst`.

mod allocator;
mod convert;
mod file;
mod range;

use crate::backport::debugfs;
use crate::backport::fs::File;
use crate::backport::sync::SetOnce;
use crate::kernel_ext::folio::{ExclusiveFolio, LockedFolio};
use crate::kernel_ext::gfp::GFP_HIGHUSER;
use crate::kernel_ext::mapping::{InvalidateLockHeld, Mapping};
use crate::kernel_ext::pseudo_fs::{
    Inode, InodeInfo, MemoryFailure, NewInodeCtx, PseudoFs, PseudoFsInode,
};
use crate::kernel_ext::range_tree::RangeTree;
use crate::kernel_ext::uapi::{self, kvm_create_guest_memfd};
use crate::kernel_ext::{errno, kvm, params};
use allocator::FileAllocator;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use kernel::c_str;
use kernel::new_mutex;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::types::ARef;
use kernel::uaccess::UserSliceReader;
use range::Pages;

pub(crate) use file::GmemFile;

/// Magic number of the pseudo-filesystem ("RGMM").
pub(crate) const RUST_GMEM_MAGIC: u64 = 0x5247_4d4d;

/// The debugfs view of a file lists at most this many ranges (it is rebuilt on every read).
const MAX_SHOWN_RANGES: usize = 256;

/// Live guest_memfd inodes (not counting the pseudo-filesystem's root); shown in debugfs.
static LIVE_INODES: AtomicUsize = AtomicUsize::new(0);

/// Files made through KVM (`KVM_CREATE_GUEST_MEMFD` on a VM); shown in debugfs.
pub(crate) static KVM_FILES: AtomicUsize = AtomicUsize::new(0);

/// Microseconds a conversion waits after KVM's invalidation has begun, before it restructures folios
/// (debugfs `convert_delay_us`, 0 by default): widens the window in which KVM faults race with a
/// conversion, so that tests can reproduce such races.
pub(crate) static CONVERT_DELAY_US: AtomicU32 = AtomicU32::new(0);

/// Conversions to private that had to drain this CPU's LRU cache (a new folio still in it held
/// them up), and those that had to drain every CPU's; shown in debugfs.
static LRU_DRAINS: AtomicUsize = AtomicUsize::new(0);
static FULL_LRU_DRAINS: AtomicUsize = AtomicUsize::new(0);

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

/// Who made a guest_memfd file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// `/dev/guest_memfd`: the file belongs to no VM.
    Device,
    /// KVM, for a VM (`KVM_CREATE_GUEST_MEMFD` on a VM), which has private memory or not.
    // Only KVM makes these, through the provider interface of `patches/0001-*`.
    #[cfg_attr(not(rust_gmem_kvm), allow(dead_code))]
    Vm {
        /// The VM has private memory (`KVM_X86_SW_PROTECTED_VM`, SEV-SNP, TDX).
        private_mem: bool,
    },
}

/// What a guest_memfd file is created with; set once, before the file is visible.
struct Params {
    /// The `GUEST_MEMFD_FLAG_*` flags.
    flags: u64,
    /// The file size in pages (never zero).
    nr_pages: usize,
    /// Where the file's memory comes from.
    allocator: FileAllocator,
    /// Who made the file.
    owner: Owner,
    /// Whether the file converts in place: always for `/dev/guest_memfd` files; for files of VMs
    /// as `rust_gmem.in_place_conversion` said when the file was made.
    in_place: bool,
}

/// The `GUEST_MEMFD_FLAG_*` that files of VMs accept, as KVM reports them
/// (`KVM_CAP_GUEST_MEMFD_FLAGS`): with in-place conversion `MMAP` and `INIT_SHARED` on every VM, as
/// Linux 7.4; without, none, as 6.12's own guest_memfd. The huge-page flag is accepted too, but not
/// reported: the capability promises that each flag it reports works alone, and that one needs a
/// page size besides (`Documentation/uapi.rst`).
pub(crate) fn vm_supported_flags(_private_mem: bool) -> u64 {
    if params::in_place_conversion() {
        uapi::GUEST_MEMFD_FLAG_MMAP | uapi::GUEST_MEMFD_FLAG_INIT_SHARED
    } else {
        0
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
    shareability: RangeTree,
    /// Empty only for the pseudo-filesystem's root inode.
    params: SetOnce<Params>,
    /// Serialises the allocation of huge blocks, so that two faults on one block never take two
    /// of the file's reserved huge pages (the second would find the reservation used up).
    #[pin]
    alloc_lock: Mutex<()>,
}

impl GmemInode {
    fn params(&self) -> Result<&Params> {
        // Every guest_memfd file has its parameters: only the filesystem's root inode has none, and
        // no file refers to it.
        self.params.as_ref().ok_or(EINVAL)
    }

    /// Whether the file was created with all of `flags`.
    fn has_flags(&self, flags: u64) -> bool {
        self.params().is_ok_and(|p| p.flags & flags == flags)
    }

    /// The order of the file's folios (0, or that of its huge pages).
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn folio_order(&self) -> u32 {
        self.params()
            .map_or(0, |p| p.allocator.ops().blocks().pages().trailing_zeros())
    }

    /// Whether the file serves its memslots for shared accesses too: with in-place conversion,
    /// every file of a VM (its shareability map says what is private); without, none (shared
    /// accesses go to the memslot's userspace memory, as in 6.12).
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn gmem_only(&self) -> bool {
        self.params().is_ok_and(|p| p.in_place)
    }

    /// Whether the file's pages may be converted: `ENOTTY` for a file of a VM without in-place
    /// conversion (as Linux 7.4 with the mode off), `EINVAL` for one of a VM without private memory
    /// (nothing of it can be private).
    fn check_convertible(&self) -> Result {
        let params = self.params()?;
        if !params.in_place {
            return Err(ENOTTY);
        }
        match params.owner {
            Owner::Vm { private_mem: false } => Err(EINVAL),
            _ => Ok(()),
        }
    }

    /// Whether page `index` is private, read without the lock (KVM asks under its MMU lock). KVM
    /// orders this against conversions with its invalidation sequence, which a conversion bumps
    /// around its change of the map. A page outside the map counts as private.
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn is_private_lockless(&self, index: usize) -> bool {
        self.shareability.load_lockless(index).map_or(true, |v| {
            Shareability::from_attributes(v) == Shareability::Private
        })
    }

    /// The shareability of page `index`; `EINVAL` past the end of the file.
    fn shareability(&self, index: usize, guard: &impl InvalidateLockHeld) -> Result<Shareability> {
        // Every index inside the file is covered, so a miss means past the end (no access).
        let entry = self.shareability.load(index, guard).ok_or(EINVAL)?;
        Ok(Shareability::from_attributes(entry.value))
    }

    /// Whether any page of `range` is shared.
    fn any_shared(&self, range: Pages, guard: &impl InvalidateLockHeld) -> Result<bool> {
        let target = Shareability::Shared.to_attributes();
        Ok(self
            .shareability
            .ranges(range.first, range.last, guard)?
            .any(|e| e.value == target))
    }

    /// Whether every page of `range` is private.
    fn all_private(&self, range: Pages, guard: &impl InvalidateLockHeld) -> Result<bool> {
        Ok(!self.any_shared(range, guard)?)
    }

    /// Returns the locked folio holding page `index`, allocating its block if it is empty. A new
    /// folio is not zeroed yet: see [`Self::prepare`].
    fn get_folio(
        &self,
        mapping: &Mapping,
        index: usize,
        guard: &impl InvalidateLockHeld,
    ) -> Result<LockedFolio> {
        let params = self.params()?;
        let allocator = params.allocator.ops();
        let block = allocator.blocks().block_of(index, params.nr_pages);
        loop {
            if let Some(folio) = mapping.lock_folio(index, guard)? {
                return Ok(folio);
            }
            if block.len() == 1 {
                match allocator.populate(mapping, block.first, index, false, guard) {
                    Ok(folio) => return Ok(folio),
                    // Someone else added one first: use theirs.
                    Err(e) if e == EEXIST => continue,
                    Err(e) => return Err(e),
                }
            }
            let _alloc = self.alloc_lock.lock();
            if let Some(folio) = mapping.lock_folio(index, guard)? {
                return Ok(folio);
            }
            let split = self.any_shared(block, guard)?;
            return allocator.populate(mapping, block.first, index, split, guard);
        }
    }
}

impl GmemInode {
    /// The folio holding page `index` for a host or guest access: locked, allocated if needed, not
    /// poisoned (`EHWPOISON`: a poisoned folio stays in the file, `MF_DELAYED`, but is never handed
    /// out again, as in mainline). `EINVAL` past the end of the file.
    fn get_usable_folio(
        &self,
        mapping: &Mapping,
        index: usize,
        guard: &impl InvalidateLockHeld,
    ) -> Result<LockedFolio> {
        if index >= self.params()?.nr_pages {
            return Err(EINVAL);
        }
        let folio = self.get_folio(mapping, index, guard)?;
        if folio.is_hwpoison() {
            return Err(errno::ehwpoison());
        }
        Ok(folio)
    }

    /// Makes a folio ready for its first use: zeroes it, once. "Up to date" means "zeroed or
    /// written since"; nothing reads a folio that is not.
    fn prepare(folio: &LockedFolio) {
        if !folio.is_uptodate() {
            folio.zero();
            folio.mark_uptodate();
        }
    }
}

impl PseudoFsInode for GmemInode {
    fn new(ctx: NewInodeCtx<'_>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            shareability <- ctx.range_tree(),
            params: SetOnce::new(),
            alloc_lock <- new_mutex!(()),
        }? Error)
    }

    fn memory_failure(inode: &Inode<Self>, first: usize, last: usize) -> MemoryFailure {
        // As mainline: KVM's mappings of the poisoned pages go, and a later guest access finds the
        // folio poisoned (`EHWPOISON`). Memory failure holds the folio lock here, while faults and
        // KVM lookups hold the invalidate lock when they wait for a folio lock: only try the
        // invalidate lock, and give the recovery up if it is contended (as Linux 7.4). See
        // `Documentation/locking.rst`.
        let mapping = inode.mapping();
        let Some(guard) = mapping.try_invalidate_lock_shared() else {
            return MemoryFailure::Contended;
        };
        let _kvm = kvm::invalidate(first, last, &guard);
        MemoryFailure::Kept
    }

    fn evict(inode: &Inode<Self>) {
        let Ok(params) = inode.data().params() else {
            return;
        };
        // Nobody else can reach the inode any more; the lock is the allocator's proof.
        let mapping = inode.mapping();
        let guard = mapping.invalidate_lock();
        params.allocator.ops().release_all(mapping, &guard);
    }

    fn show(info: InodeInfo<'_>, gmem: &Self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = info.mapping.invalidate_lock_shared();
        writeln!(f, "ino: {}", info.ino)?;
        writeln!(f, "size: {}", info.size)?;
        if let Ok(params) = gmem.params() {
            writeln!(f, "flags: {:#x}", params.flags)?;
            writeln!(f, "allocator: {}", params.allocator.ops().name())?;
            params.allocator.ops().show(info.mapping, &guard, f)?;
            let vm = match params.owner {
                Owner::Device => "no",
                Owner::Vm { private_mem: true } => "yes (private memory)",
                Owner::Vm { private_mem: false } => "yes",
            };
            writeln!(f, "vm: {vm}")?;
            writeln!(
                f,
                "in_place: {}",
                if params.in_place { "yes" } else { "no" }
            )?;
        }
        writeln!(f, "allocated_pages: {}", info.mapping.nr_pages())?;
        let entries = gmem
            .shareability
            .ranges(0, usize::MAX, &guard)
            .map_err(|_| fmt::Error)?
            .count();
        writeln!(f, "entries: {entries}")?;
        let (nodes, bytes) = gmem.shareability.nodes(&guard).map_err(|_| fmt::Error)?;
        writeln!(f, "tree_nodes: {nodes} ({bytes} bytes)")?;
        let ranges = gmem
            .shareability
            .ranges(0, usize::MAX, &guard)
            .map_err(|_| fmt::Error)?;
        for entry in ranges.take(MAX_SHOWN_RANGES) {
            writeln!(
                f,
                "range: {:#x}-{:#x} {}",
                entry.first,
                entry.last,
                Shareability::from_attributes(entry.value).name()
            )?;
        }
        if entries > MAX_SHOWN_RANGES {
            writeln!(f, "range: ... ({} more)", entries - MAX_SHOWN_RANGES)?;
        }
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for GmemInode {
    fn drop(self: Pin<&mut Self>) {
        if self.params.as_ref().is_some() {
            LIVE_INODES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Module-wide debugfs statistics (`/sys/kernel/debug/rust_gmem/stats`).
pub(crate) struct Stats;

impl debugfs::Writer for Stats {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "inodes: {}", LIVE_INODES.load(Ordering::Relaxed))?;
        writeln!(f, "kvm_files: {}", KVM_FILES.load(Ordering::Relaxed))?;
        writeln!(f, "lru_drains: {}", LRU_DRAINS.load(Ordering::Relaxed))?;
        writeln!(
            f,
            "full_lru_drains: {}",
            FULL_LRU_DRAINS.load(Ordering::Relaxed)
        )?;
        allocator::show_stats(f)
    }
}

/// The debugfs knob `convert_delay_us` (read-write, decimal): [`CONVERT_DELAY_US`].
pub(crate) struct ConvertDelay;

impl debugfs::Writer for ConvertDelay {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", CONVERT_DELAY_US.load(Ordering::Relaxed))
    }
}

impl debugfs::Reader for ConvertDelay {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        // A decimal number and white space; more is not a valid value.
        let mut buf = [0u8; 16];
        let len = reader.len();
        if len > buf.len() {
            return Err(EINVAL);
        }
        reader.read_slice(&mut buf[..len])?;
        let text = core::str::from_utf8(&buf[..len]).map_err(|_| EINVAL)?;
        let us = text.trim().parse::<u32>().map_err(|_| EINVAL)?;
        CONVERT_DELAY_US.store(us, Ordering::Relaxed);
        Ok(())
    }
}

/// Checks a create request; returns the size in pages.
fn validate_create(args: &kvm_create_guest_memfd, valid_flags: u64) -> Result<usize> {
    if args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    if args.flags & !valid_flags != 0 {
        return Err(EINVAL);
    }
    // As mainline: the size is a positive `loff_t` and a multiple of the page size.
    let size = args.size;
    if size == 0 || size > uapi::MAX_LFS_FILESIZE || size % PAGE_SIZE as u64 != 0 {
        return Err(EINVAL);
    }
    usize::try_from(size / PAGE_SIZE as u64).map_err(|_| EINVAL)
}

/// Creates a guest_memfd file as `KVM_CREATE_GUEST_MEMFD` describes for `owner` and returns it;
/// flags outside those `owner` accepts are `EINVAL`.
pub(crate) fn create(
    fs: &PseudoFs<GmemInode>,
    dir: &debugfs::Dir,
    args: &kvm_create_guest_memfd,
    owner: Owner,
) -> Result<ARef<File>> {
    let huge = uapi::GUEST_MEMFD_FLAG_HUGETLB
        | (uapi::GUESTMEM_HUGETLB_FLAG_MASK << uapi::GUESTMEM_HUGETLB_FLAG_SHIFT);
    let (valid_flags, in_place) = match owner {
        Owner::Device => (uapi::RUST_GMEM_VALID_FLAGS, true),
        Owner::Vm { private_mem } => (
            vm_supported_flags(private_mem) | huge,
            params::in_place_conversion(),
        ),
    };
    let nr_pages = validate_create(args, valid_flags)?;
    let allocator = FileAllocator::new(args.flags, nr_pages)?;
    let mut new = fs.new_inode()?;
    // `validate_create` bounded the size by `MAX_LFS_FILESIZE`, so it fits an `i64`.
    new.set_size(args.size as i64);
    new.set_unmovable(GFP_HIGHUSER);
    let inode: &Inode<GmemInode> = new.inode();
    let mapping = inode.mapping();

    let gmem = inode.data();
    let params = Params {
        flags: args.flags,
        nr_pages,
        allocator,
        owner,
        in_place,
    };
    // A new inode has no parameters yet.
    if !gmem.params.populate(params) {
        return Err(EINVAL);
    }
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
            .prepare_store(0, nr_pages - 1, initial.to_attributes(), &guard)?
            .commit();
    }
    new.create_debugfs_file(dir);
    fs.create_file::<GmemFile>(new, c_str!("[rust_gmem]"))
}

/// KVM's lookup of a guest page: the locked folio holding page `index` of a file bound to a memslot,
/// allocated if needed, and the largest order KVM may map it at. KVM zeroes a folio that is not up to
/// date (our "prepared") before the guest sees it, as the host fault path does.
#[cfg(rust_gmem_kvm)]
pub(crate) fn kvm_get_folio(inode: &Inode<GmemInode>, index: usize) -> Result<(LockedFolio, u32)> {
    let mapping = inode.mapping();
    let guard = mapping.invalidate_lock_shared();
    let folio = inode.data().get_usable_folio(mapping, index, &guard)?;
    // Huge folios are whole-private (a page that becomes shared splits its folio), so KVM may map
    // one at its full order; the slot's alignment is KVM's to check.
    let order = folio.nr_pages().trailing_zeros();
    Ok((folio, order))
}
