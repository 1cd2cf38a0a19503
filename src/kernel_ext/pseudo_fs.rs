// SPDX-License-Identifier: GPL-2.0

//! A kernel-internal pseudo-filesystem whose inodes carry a typed private part.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/pseudo_fs.h`](srctree/include/linux/pseudo_fs.h)
//!
//! Mainline has no filesystem abstraction (the VFS series that had one was not merged), so this is
//! rust_gmem's own: [`PseudoFs`] and its inodes here, the files' operations in [`file_ops`], the
//! page faults of their mappings in [`vm_ops`].
//!
//! The filesystem is mounted with `vfs_kern_mount()` (through `simple_pin_fs()`) and never registered,
//! so userspace cannot mount it.
//! Inodes are allocated from a slab cache as an [`InodeBox`]: the VFS inode plus the private part `T`,
//! initialised in `super_operations::alloc_inode` and dropped in `destroy_inode`.
//!
//! # Mount and module lifetime
//!
//! The filesystem type is owned by this module, so every superblock holds a module reference
//! (`get_filesystem()`), released by the VFS only after the superblock is shut down and all its inodes
//! are evicted. The mount is pinned (`simple_pin_fs()`) by each inode made with
//! [`PseudoFs::new_inode`] and unpinned when that inode is destroyed; files hold the mount too. So the
//! filesystem is mounted exactly while guest_memfd inodes or files exist, the module cannot be removed
//! meanwhile, and it can be removed as soon as the last file is closed. `free_inode` runs after an RCU
//! grace period: the destructor waits for it with `rcu_barrier()` before destroying the inode cache.
//!
//! A mount held from load to unload (`kern_mount()` in `init`) would pin the module forever, and a
//! module reference dropped from our own eviction callbacks would let the module go while they still
//! run; hence this scheme, which is the one DRM uses for its anonymous inodes.

pub(crate) mod file_ops;
pub(crate) mod vm_ops;

use super::gfp::Gfp;
use super::mapping::Mapping;
use super::range_tree::RangeTree;
use crate::backport::debugfs;
use crate::backport::fs::File;
use crate::bindings;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{from_err_ptr, to_result};
use kernel::ffi::{c_int, c_void};
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::{ARef, AlwaysRefCounted, Opaque};

/// The private part of the inodes of a [`PseudoFs`].
pub(crate) trait PseudoFsInode: Sized + Send + Sync + 'static {
    /// Initialises the private part of a freshly allocated inode (also the filesystem's root).
    fn new(ctx: NewInodeCtx<'_>) -> impl PinInit<Self, Error>;

    /// Called when memory failure poisons pages `first..=last` of the inode's page cache, with the
    /// folio locked: the folio stays in the page cache either way.
    fn memory_failure(_inode: &Inode<Self>, _first: usize, _last: usize) -> MemoryFailure {
        MemoryFailure::Kept
    }

    /// Called when the inode is evicted (its last reference and file are gone), before its page
    /// cache is truncated.
    fn evict(_inode: &Inode<Self>) {}

    /// Writes the text of the inode's debugfs file (see [`NewInode::create_debugfs_file`]).
    fn show(_info: InodeInfo<'_>, _data: &Self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

/// What an inode did about a memory failure in its page cache.
pub(crate) enum MemoryFailure {
    /// The poisoned folio stays in the file, which refuses it from now on (`MF_DELAYED`).
    Kept,
    /// The file could not take note now; the recovery is given up (`MF_FAILED`).
    Contended,
}

/// What a debugfs reader of an inode is told about it besides its private part.
#[derive(Clone, Copy)]
pub(crate) struct InodeInfo<'a> {
    /// The inode number.
    pub(crate) ino: usize,
    /// The file size in bytes.
    pub(crate) size: i64,
    /// The inode's page-cache mapping.
    pub(crate) mapping: &'a Mapping,
}

/// What [`PseudoFsInode::new`] may use: the inode being initialised.
///
/// # Invariants
///
/// `mapping` is the inode's mapping, and `data` the address range of the inode's private part.
pub(crate) struct NewInodeCtx<'a> {
    mapping: &'a Mapping,
    data: core::ops::Range<usize>,
}

impl NewInodeCtx<'_> {
    /// An empty [`RangeTree`] locked by this inode's invalidate lock, for the inode's private part.
    /// Initialising it anywhere else fails with `EINVAL`.
    pub(crate) fn range_tree(&self) -> impl PinInit<RangeTree, Error> + '_ {
        let init = move |slot: *mut RangeTree| -> Result {
            let start = slot as usize;
            let inside = start
                .checked_add(core::mem::size_of::<RangeTree>())
                .is_some_and(|end| self.data.start <= start && end <= self.data.end);
            if !inside {
                return Err(EINVAL);
            }
            // SAFETY: `slot` lies inside the inode's private part (checked above; type invariant).
            // A `RangeTree` is pinned, so once initialised there it stays there until it is
            // dropped, at the latest when the private part is dropped in `destroy_inode`, before
            // the memory of the inode and of its mapping is freed: the mapping outlives the tree.
            unsafe { RangeTree::new(self.mapping).__pinned_init(slot) };
            Ok(())
        };
        // SAFETY: The closure initialises the tree on success and leaves `slot` alone on failure.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }
}

/// An inode of a [`PseudoFs`] with its private part.
#[repr(C)]
pub(crate) struct InodeBox<T: PseudoFsInode> {
    inode: Opaque<bindings::inode>,
    fs: *const PseudoFs<T>,
    /// Whether the inode holds a pin on the mount (all but the root inode).
    pins_mount: bool,
    /// The inode's debugfs file, if it has one; removed before `data` is dropped.
    debugfs: Option<Pin<KBox<debugfs::File<InodeView<T>>>>>,
    data: T,
}

/// A VFS inode of a [`PseudoFs`] whose private part is `T`.
///
/// # Invariants
///
/// The inode is embedded in an [`InodeBox<T>`] whose `data` is initialised, and it is referenced
/// (`i_count` > 0) while a reference to this object exists.
#[repr(transparent)]
pub(crate) struct Inode<T> {
    inner: Opaque<bindings::inode>,
    _p: PhantomData<T>,
}

// SAFETY: Inodes are used from any thread; `T` is `Send + Sync`.
unsafe impl<T: PseudoFsInode> Send for Inode<T> {}
// SAFETY: Shared access only calls thread-safe C functions and hands out `&T`, and `T` is `Sync`.
unsafe impl<T: PseudoFsInode> Sync for Inode<T> {}

// SAFETY: `ihold()` and `iput()` keep the inode alive while the count is positive.
unsafe impl<T: PseudoFsInode> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: The inode is referenced, so taking another reference is allowed.
        unsafe { bindings::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: ptr::NonNull<Self>) {
        // SAFETY: The caller owns a reference to the inode.
        unsafe { bindings::iput(obj.cast().as_ptr()) };
    }
}

impl<T: PseudoFsInode> Inode<T> {
    /// Creates a reference from a raw inode pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be an inode of a `PseudoFs<T>`, referenced for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode<T>` is transparent over the inode; the caller guarantees the rest.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw inode pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.inner.get()
    }

    fn container(&self) -> *mut InodeBox<T> {
        // SAFETY: The inode is embedded in an `InodeBox<T>` (type invariant).
        unsafe { kernel::container_of!(self.as_ptr(), InodeBox<T>, inode) as *mut InodeBox<T> }
    }

    /// Returns the private part.
    pub(crate) fn data(&self) -> &T {
        // SAFETY: `data` is initialised while the inode is referenced (type invariant), and is only
        // dropped after the last reference is gone.
        unsafe { &(*self.container()).data }
    }

    /// Returns the inode's page-cache mapping.
    pub(crate) fn mapping(&self) -> &Mapping {
        // SAFETY: `i_mapping` points at the inode's own `i_data`, valid while the inode is.
        unsafe { Mapping::from_raw((*self.as_ptr()).i_mapping) }
    }

    /// Returns the inode number.
    pub(crate) fn ino(&self) -> usize {
        // SAFETY: The inode is valid, and `i_ino` does not change after allocation.
        unsafe { (*self.as_ptr()).i_ino }
    }

    /// Takes the inode lock (`inode_lock()`: `i_rwsem`, exclusive).
    pub(crate) fn lock(&self) -> InodeLockGuard<'_, T> {
        // SAFETY: The inode is valid, so its `i_rwsem` is initialised.
        unsafe { bindings::down_write(addr_of_mut!((*self.as_ptr()).i_rwsem)) };
        // INVARIANT: We just took the lock.
        InodeLockGuard { inode: self }
    }

    /// Records a modification of the contents through `file`, a file of this inode
    /// (`file_modified()`: time stamps, and the privileges a write drops), with the inode lock held
    /// as that needs. `EINVAL` for a file of another inode.
    pub(crate) fn file_modified(&self, file: &File, _lock: &InodeLockGuard<'_, T>) -> Result {
        // SAFETY: The file is referenced (`File` invariant), so its `f_inode` is valid and fixed.
        if !ptr::eq(unsafe { (*file.as_ptr()).f_inode }, self.as_ptr()) {
            return Err(EINVAL);
        }
        // SAFETY: The file is valid and its inode, this one, is locked (`_lock` borrows `self`).
        to_result(unsafe { bindings::file_modified(file.as_ptr()) })
    }
}

/// The inode lock of an [`Inode`], held.
///
/// # Invariants
///
/// `inode`'s `i_rwsem` is held exclusive by this thread until the guard is dropped.
pub(crate) struct InodeLockGuard<'a, T: PseudoFsInode> {
    inode: &'a Inode<T>,
}

impl<T: PseudoFsInode> Drop for InodeLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this thread (type invariant).
        unsafe { bindings::up_write(addr_of_mut!((*self.inode.as_ptr()).i_rwsem)) };
    }
}

/// An inode just created by [`PseudoFs::new_inode`], not yet reachable by anyone else.
pub(crate) struct NewInode<T: PseudoFsInode>(ARef<Inode<T>>);

impl<T: PseudoFsInode> NewInode<T> {
    /// Returns the inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        &self.0
    }

    /// Makes the inode's mapping one of unmovable guest memory allocated with `gfp` (see
    /// [`Mapping::set_unmovable`]).
    pub(crate) fn set_unmovable(&mut self, gfp: Gfp) {
        // SAFETY: Nobody else can see the inode, hence its mapping, yet.
        unsafe {
            self.0
                .mapping()
                .set_unmovable(gfp, &AopsTable::<T>::UNMOVABLE)
        };
    }

    /// Sets the file size; only a new inode can change it.
    pub(crate) fn set_size(&mut self, size: i64) {
        // SAFETY: Nobody else can see the inode yet, so `i_size_write()` needs no lock.
        unsafe { bindings::rust_gmem_i_size_write(self.0.as_ptr(), size) };
    }

    /// Creates a read-only file named after the inode number in `dir`, whose text comes from
    /// [`PseudoFsInode::show`]. It is removed when the inode is destroyed. Failure is not an error:
    /// debugfs is optional.
    pub(crate) fn create_debugfs_file(&mut self, dir: &debugfs::Dir) {
        let mut name = [0u8; 24];
        let mut w = NameBuf(&mut name, 0);
        // Cannot fail: a `u64` has at most 20 digits, and the buffer keeps a NUL after them.
        if fmt::write(&mut w, format_args!("{}", self.0.ino())).is_err() {
            return;
        }
        let len = w.1;
        let Ok(name) = CStr::from_bytes_with_nul(&name[..=len]) else {
            return;
        };
        let container = self.0.container();
        // INVARIANT: The view is of our inode, which removes the file in `destroy_inode` before
        // its private part is dropped.
        let view = InodeView { inode: container };
        let file = KBox::pin_init(
            dir.read_only_file(name, super::infallible(view)),
            GFP_KERNEL,
        );
        let Ok(file) = file else {
            return;
        };
        // SAFETY: Nobody else can see the inode yet, so nobody reads the field meanwhile.
        unsafe { (*container).debugfs = Some(file) };
    }

    /// Publishes the inode.
    pub(crate) fn into_inode(self) -> ARef<Inode<T>> {
        self.0
    }
}

struct AopsTable<T>(PhantomData<T>);

impl<T: PseudoFsInode> AopsTable<T> {
    const UNMOVABLE: bindings::address_space_operations =
        super::mapping::unmovable_aops(Self::error_remove_folio);

    /// `error_remove_folio` callback: tells the inode, keeps the folio.
    ///
    /// # Safety
    ///
    /// Called by memory-failure handling with a mapping that uses this table and a folio of it,
    /// locked.
    unsafe extern "C" fn error_remove_folio(
        mapping: *mut bindings::address_space,
        folio: *mut bindings::folio,
    ) -> c_int {
        // SAFETY: The mapping is the page cache of one of our inodes (only `set_unmovable` installs
        // this table), which cannot be evicted while one of its folios is locked in it.
        let (inode, folio) = unsafe {
            (
                Inode::<T>::from_raw((*mapping).host),
                super::folio::Folio::from_raw(folio),
            )
        };
        let first = folio.index();
        match T::memory_failure(inode, first, first + folio.nr_pages() - 1) {
            MemoryFailure::Kept => bindings::mf_result_MF_DELAYED as c_int,
            MemoryFailure::Contended => bindings::mf_result_MF_FAILED as c_int,
        }
    }
}

/// A NUL-terminated name in a fixed buffer.
struct NameBuf<'a>(&'a mut [u8], usize);

impl fmt::Write for NameBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep the last byte for the terminating NUL.
        let end = self.1 + s.len();
        if end >= self.0.len() {
            return Err(fmt::Error);
        }
        self.0[self.1..end].copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}

/// The data of an inode's debugfs file: the inode, shown through [`PseudoFsInode::show`].
///
/// # Invariants
///
/// `inode` is an inode of a `PseudoFs<T>` that outlives this object (the inode removes its debugfs
/// file, which owns this, before it drops its private part).
struct InodeView<T: PseudoFsInode> {
    inode: *const InodeBox<T>,
}

// SAFETY: The view only reads the inode through thread-safe accessors; `T` is `Send + Sync`.
unsafe impl<T: PseudoFsInode> Send for InodeView<T> {}
// SAFETY: As above.
unsafe impl<T: PseudoFsInode> Sync for InodeView<T> {}

impl<T: PseudoFsInode> debugfs::Writer for InodeView<T> {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: The inode and its private part are alive (type invariant).
        let (inode, data) = unsafe {
            (
                Opaque::raw_get(ptr::addr_of!((*self.inode).inode)),
                &(*self.inode).data,
            )
        };
        // SAFETY: As above; the size is read with `i_size_read()` and the mapping is the inode's.
        let info = unsafe {
            InodeInfo {
                ino: (*inode).i_ino,
                size: bindings::rust_gmem_i_size_read(inode),
                mapping: Mapping::from_raw(addr_of_mut!((*inode).i_data)),
            }
        };
        T::show(info, data, f)
    }
}

/// A filesystem type for a [`PseudoFs`]. Must be a `static`: it embeds the lock-class keys of the
/// filesystem's superblocks and inodes, and lockdep only accepts static keys.
///
/// # Invariants
///
/// `fs` is null or points to the one live [`PseudoFs<T>`] that uses this type, which has filled in
/// `fs_type`. So every inode whose superblock has this type is an inode of a `PseudoFs<T>`.
#[repr(C)]
pub(crate) struct FileSystemType<T> {
    fs_type: Opaque<bindings::file_system_type>,
    /// The pseudo-filesystem that uses this type.
    fs: AtomicPtr<c_void>,
    _p: PhantomData<fn() -> T>,
}

// SAFETY: The VFS reads `fs_type` under its own locks; `fs` is atomic.
unsafe impl<T> Sync for FileSystemType<T> {}

impl<T: PseudoFsInode> FileSystemType<T> {
    /// An unused filesystem type, for a `static`.
    pub(crate) const fn new() -> Self {
        // INVARIANT: No filesystem uses it yet.
        Self {
            // SAFETY: All-zero is a valid `file_system_type` (no name, no callbacks).
            fs_type: Opaque::new(unsafe { MaybeUninit::zeroed().assume_init() }),
            fs: AtomicPtr::new(ptr::null_mut()),
            _p: PhantomData,
        }
    }

    /// Returns the inode of `file` if it is an inode of this filesystem type, that is, of a
    /// [`PseudoFs<T>`]; `None` for any other file.
    #[cfg(rust_gmem_kvm)]
    pub(crate) fn inode_of<'a>(&self, file: &'a File) -> Option<&'a Inode<T>> {
        // SAFETY: The file is referenced, so its inode and that inode's superblock are valid.
        let (inode, s_type) = unsafe {
            let inode = (*file.as_ptr()).f_inode;
            (inode, (*(*inode).i_sb).s_type)
        };
        if !ptr::eq(s_type, self.fs_type.get()) {
            return None;
        }
        // SAFETY: Only a `PseudoFs<T>` mounts this type (type invariant), so the inode is one of its
        // inodes; the file keeps it referenced for `'a`.
        Some(unsafe { Inode::from_raw(inode) })
    }
}

/// The mount pin of a [`PseudoFs`], updated by `simple_pin_fs()` under its own lock.
#[repr(C)]
struct MountPin {
    mnt: *mut bindings::vfsmount,
    count: c_int,
}

/// An unregistered pseudo-filesystem whose inodes carry a `T`, mounted while it has inodes.
///
/// # Invariants
///
/// `fs_type` is owned by this object. `cache` is the slab cache of the filesystem's [`InodeBox<T>`]s
/// until the destructor destroys it.
/// `pin` is only accessed through `simple_pin_fs()` and `simple_release_fs()`, and its count is the
/// number of inodes that hold a pin.
#[pin_data(PinnedDrop)]
pub(crate) struct PseudoFs<T: PseudoFsInode> {
    fs_type: &'static FileSystemType<T>,
    #[pin]
    pin: Opaque<MountPin>,
    magic: u64,
    cache: *mut bindings::kmem_cache,
    _p: PhantomData<T>,
}

// SAFETY: The mount and cache are used through thread-safe C functions only.
unsafe impl<T: PseudoFsInode> Send for PseudoFs<T> {}
// SAFETY: As above; `&self` methods only allocate inodes and files.
unsafe impl<T: PseudoFsInode> Sync for PseudoFs<T> {}

impl<T: PseudoFsInode> PseudoFs<T> {
    const SUPER_OPS: bindings::super_operations = bindings::super_operations {
        alloc_inode: Some(Self::alloc_inode),
        destroy_inode: Some(Self::destroy_inode),
        free_inode: Some(Self::free_inode),
        evict_inode: Some(Self::evict_inode),
        statfs: Some(bindings::simple_statfs),
        // SAFETY: All-zero is a valid `super_operations` (every other callback `None`).
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// Inodes of a pseudo-filesystem have a fixed size and attributes (`ftruncate()` is refused).
    const INODE_OPS: bindings::inode_operations = bindings::inode_operations {
        setattr: Some(Self::setattr),
        // SAFETY: All-zero is a valid `inode_operations` (every other callback `None`).
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// Sets up `fs_type` (which must not be in use) and the inode cache. Nothing is mounted until the
    /// first inode.
    pub(crate) fn new(
        fs_type: &'static FileSystemType<T>,
        name: &'static CStr,
        magic: u64,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            // Claim the type; `slot` is pinned, so the pointer stays valid until the destructor.
            if fs_type
                .fs
                .compare_exchange(
                    ptr::null_mut(),
                    slot.cast(),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_err()
            {
                return Err(EBUSY);
            }
            // SAFETY: `slot` is valid for writes and pinned; all fields are initialised below before
            // `Ok` is returned, and nothing is left behind on error. The type is ours now and no
            // superblock of it exists, so it may be (re)written.
            unsafe {
                let raw = fs_type.fs_type.get();
                raw.write(MaybeUninit::zeroed().assume_init());
                (*raw).name = name.as_char_ptr();
                (*raw).owner = ptr::addr_of!(bindings::__this_module) as *mut _;
                (*raw).init_fs_context = Some(Self::init_fs_context);
                (*raw).kill_sb = Some(bindings::kill_anon_super);
                addr_of_mut!((*slot).fs_type).write(fs_type);
                Opaque::raw_get(addr_of_mut!((*slot).pin)).write(MountPin {
                    mnt: ptr::null_mut(),
                    count: 0,
                });
                addr_of_mut!((*slot).magic).write(magic);
                addr_of_mut!((*slot)._p).write(PhantomData);

                let cache = bindings::rust_gmem_kmem_cache_create(
                    name.as_char_ptr(),
                    core::mem::size_of::<InodeBox<T>>() as u32,
                    core::mem::align_of::<InodeBox<T>>() as u32,
                    bindings::SLAB_RECLAIM_ACCOUNT | bindings::SLAB_ACCOUNT,
                    Some(Self::init_once),
                );
                if cache.is_null() {
                    fs_type.fs.store(ptr::null_mut(), Ordering::Release);
                    return Err(ENOMEM);
                }
                addr_of_mut!((*slot).cache).write(cache);
            }
            Ok(())
        };
        // SAFETY: The closure initialises every field on success and cleans up on failure.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }

    /// Allocates a new regular-file inode; the filesystem stays mounted until it is destroyed.
    pub(crate) fn new_inode(&self) -> Result<NewInode<T>> {
        let pin = self.pin.get();
        // SAFETY: `fs_type` is initialised and `pin` is only used by these two functions (type
        // invariant), which serialise on their own lock.
        to_result(unsafe {
            bindings::simple_pin_fs(
                self.fs_type.fs_type.get(),
                ptr::addr_of_mut!((*pin).mnt),
                ptr::addr_of_mut!((*pin).count),
            )
        })?;
        // SAFETY: We hold a pin, so the mount and its superblock are valid.
        let inode = from_err_ptr(unsafe { bindings::alloc_anon_inode((*(*pin).mnt).mnt_sb) });
        let inode = match inode {
            Ok(inode) => inode,
            Err(e) => {
                self.unpin();
                return Err(e);
            }
        };
        // SAFETY: `alloc_anon_inode()` returned a new inode of this filesystem with one reference,
        // which the `ARef` takes over. We are its only user. From here the inode owns the pin and
        // gives it back in `destroy_inode`.
        unsafe {
            (*inode).i_mode |= bindings::S_IFREG as u16;
            (*inode).i_op = &Self::INODE_OPS;
            let container = kernel::container_of!(inode, InodeBox<T>, inode) as *mut InodeBox<T>;
            (*container).pins_mount = true;
            Ok(NewInode(ARef::from_raw(ptr::NonNull::new_unchecked(
                inode.cast(),
            ))))
        }
    }

    /// Returns the mount, which stays valid while `_inode`, an inode of this filesystem, does
    /// (it holds a pin).
    fn mount<'a>(&'a self, _inode: &'a Inode<T>) -> *mut bindings::vfsmount {
        // SAFETY: An inode of this filesystem holds a pin while it exists, so the mount is set
        // and the pointer stable; `simple_pin_fs()` wrote it under its lock before the inode was
        // made.
        unsafe { (*self.pin.get()).mnt }
    }

    fn unpin(&self) {
        let pin = self.pin.get();
        // SAFETY: Gives back a pin taken by `new_inode` (type invariant on `pin`).
        unsafe {
            bindings::simple_release_fs(
                ptr::addr_of_mut!((*pin).mnt),
                ptr::addr_of_mut!((*pin).count),
            )
        };
    }

    /// `init_fs_context` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a valid `fs_context` of this filesystem type.
    unsafe extern "C" fn init_fs_context(fc: *mut kernel::bindings::fs_context) -> c_int {
        // 6.12's `kernel::bindings` has `fs_context` as an opaque type; ours has its fields.
        let fc = fc.cast::<bindings::fs_context>();
        // SAFETY: Called by the VFS with a valid context whose `fs_type` is the one embedded in a
        // `FileSystemType` owned by a `PseudoFs<T>` (only those mount this type), which outlives the
        // mount.
        unsafe {
            let fs_type = kernel::container_of!(
                (*fc).fs_type.cast::<Opaque<bindings::file_system_type>>(),
                FileSystemType<T>,
                fs_type
            );
            let fs = (*fs_type).fs.load(Ordering::Acquire).cast::<Self>();
            let ctx = bindings::init_pseudo(fc, (*fs).magic as _);
            if ctx.is_null() {
                return ENOMEM.to_errno();
            }
            (*ctx).ops = &Self::SUPER_OPS;
            (*fc).s_fs_info = fs as *mut c_void;
        }
        0
    }

    /// `init_once` callback.
    ///
    /// # Safety
    ///
    /// Called by the slab allocator with a new object of the inode cache.
    unsafe extern "C" fn init_once(obj: *mut c_void) {
        let container = obj.cast::<InodeBox<T>>();
        // SAFETY: The slab constructor gets an object of the cache's size, that is an `InodeBox<T>`.
        unsafe { bindings::inode_init_once(Opaque::raw_get(addr_of_mut!((*container).inode))) };
    }

    /// `alloc_inode` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a superblock of this filesystem.
    unsafe extern "C" fn alloc_inode(sb: *mut bindings::super_block) -> *mut bindings::inode {
        // SAFETY: `s_fs_info` was set to our `PseudoFs<T>` in `init_fs_context`, alive while mounted.
        let fs = unsafe { (*sb).s_fs_info.cast::<Self>() };
        // SAFETY: As above.
        let cache = unsafe { (*fs).cache };
        // SAFETY: `sb` is valid, and `cache` holds `InodeBox<T>` objects.
        let container =
            unsafe { bindings::rust_gmem_alloc_inode_sb(sb, cache, bindings::GFP_KERNEL) }
                .cast::<InodeBox<T>>();
        if container.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `container` is a new object of the cache; its inode was set up by `init_once` and
        // the VFS finishes it (`inode_init_always()`) after we return. The mapping's address is
        // final, so the private part may keep pointers to it.
        unsafe {
            let inode = Opaque::raw_get(addr_of_mut!((*container).inode));
            addr_of_mut!((*container).fs).write(fs);
            addr_of_mut!((*container).pins_mount).write(false);
            addr_of_mut!((*container).debugfs).write(None);
            let data = addr_of_mut!((*container).data);
            // INVARIANT: The inode's mapping, and the range of `data`.
            let ctx = NewInodeCtx {
                mapping: Mapping::from_raw(addr_of_mut!((*inode).i_data)),
                data: data as usize..data as usize + core::mem::size_of::<T>(),
            };
            if T::new(ctx).__pinned_init(data).is_err() {
                bindings::kmem_cache_free(cache, container.cast());
                return ptr::null_mut();
            }
            inode
        }
    }

    /// `evict_inode` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with an inode of this filesystem whose last reference is gone.
    unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: The inode is one of ours (this table is only used by our superblock), valid
        // until `destroy_inode`.
        T::evict(unsafe { Inode::<T>::from_raw(inode) });
        // SAFETY: The VFS evicts an inode whose last reference is gone; nothing else uses it.
        unsafe {
            bindings::truncate_inode_pages_final(addr_of_mut!((*inode).i_data));
            bindings::clear_inode(inode);
        }
    }

    /// `destroy_inode` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS once per inode of this filesystem, after eviction.
    unsafe extern "C" fn destroy_inode(inode: *mut bindings::inode) {
        // SAFETY: The inode is one of ours and is being destroyed: remove its debugfs file (which
        // waits for readers), drop the private part that `alloc_inode` initialised, and give back the
        // mount pin. The memory is freed later by `free_inode`. Unpinning may drop the last
        // reference on the mount; the VFS then defers the unmount to task work, so it does not
        // recurse into this superblock from here.
        unsafe {
            let container = kernel::container_of!(inode, InodeBox<T>, inode) as *mut InodeBox<T>;
            (*container).debugfs = None;
            ptr::drop_in_place(addr_of_mut!((*container).data));
            if (*container).pins_mount {
                (*(*container).fs).unpin();
            }
        }
    }

    /// `free_inode` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS once per destroyed inode of this filesystem, after an RCU grace period.
    unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // SAFETY: Called once per inode after an RCU grace period; the private part is already
        // dropped and nobody can reach the inode any more. The `PseudoFs` outlives the callback: its
        // destructor waits for it with `rcu_barrier()`.
        unsafe {
            let container = kernel::container_of!(inode, InodeBox<T>, inode) as *mut InodeBox<T>;
            bindings::kmem_cache_free((*(*container).fs).cache, container.cast());
        }
    }

    /// `setattr` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with valid arguments.
    unsafe extern "C" fn setattr(
        _idmap: *mut bindings::mnt_idmap,
        _dentry: *mut bindings::dentry,
        _attr: *mut bindings::iattr,
    ) -> c_int {
        EINVAL.to_errno()
    }
}

#[pinned_drop]
impl<T: PseudoFsInode> PinnedDrop for PseudoFs<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The cache is valid (type invariant). No superblock is left: each holds a module
        // reference, and the module is being unloaded, so every inode was evicted before that
        // reference went. `rcu_barrier()` waits for their `free_inode` callbacks, so the cache is
        // empty when it is destroyed.
        unsafe {
            bindings::rcu_barrier();
            bindings::kmem_cache_destroy(self.cache);
        }
        self.fs_type.fs.store(ptr::null_mut(), Ordering::Release);
    }
}
