// SPDX-License-Identifier: GPL-2.0

//! KVM's guest_memfd provider interface, added by `patches/0001-*.patch`.
//!
//! C header: `include/linux/kvm_gmem_provider.h` (from the patch)
//!
//! While a [`ProviderRegistration`] is alive, `KVM_CREATE_GUEST_MEMFD` on a VM makes one of the
//! provider's files, and KVM binds those files to memslots and gets guest pages from them. KVM keeps
//! its per-file state (the VM reference and the memslot bindings) in a `struct kvm_gmem` that the
//! file owns through a [`KvmLink`] until the file is released.
//!
//! Only built when the kernel has the patch (`cfg(rust_gmem_kvm)`, set by Kbuild).

use super::bindings;
use super::file::File;
use super::folio::LockedFolio;
use super::fs::{FileSystemType, Inode, PseudoFsInode};
use super::mapping::{InvalidateLockHeld, Mapping};
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::from_result;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

/// A file's link to the VM it was created for: KVM's `struct kvm_gmem`, or nothing for files made
/// without a VM.
///
/// # Invariants
///
/// `gmem` is null or a `struct kvm_gmem` that KVM handed to [`Provider::create`] for the file whose
/// inode holds this link, not yet given back by [`KvmLink::release`]. It is set before the file is
/// visible, together with `mapping` (that inode's mapping), and cleared only under `mapping`'s
/// invalidate lock held exclusive.
pub(crate) struct KvmLink {
    gmem: AtomicPtr<bindings::kvm_gmem>,
    mapping: AtomicPtr<Mapping>,
}

impl KvmLink {
    /// A link to no VM.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Null.
        Self {
            gmem: AtomicPtr::new(ptr::null_mut()),
            mapping: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether the file belongs to a VM.
    pub(crate) fn is_linked(&self) -> bool {
        !self.gmem.load(Ordering::Acquire).is_null()
    }

    /// Zaps KVM's mappings of pages `first..=last` of the file and keeps KVM from mapping them again
    /// until the returned value is dropped (`kvm_gmem_invalidate_begin/end`). Does nothing
    /// for a file of no VM. `guard` holds the file's invalidate lock across both; a guard of another
    /// mapping is a bug, reported and refused.
    pub(crate) fn invalidate<'a>(
        &'a self,
        first: usize,
        last: usize,
        guard: &'a impl InvalidateLockHeld,
    ) -> Invalidation<'a> {
        let mut gmem = self.gmem.load(Ordering::Acquire);
        let (start, end) = (first, last.saturating_add(1));
        if !gmem.is_null() && !ptr::eq(guard.mapping(), self.mapping.load(Ordering::Acquire)) {
            kernel::pr_err!("BUG: KVM invalidation under another mapping's lock refused\n");
            gmem = ptr::null_mut();
        }
        if !gmem.is_null() {
            // SAFETY: `gmem` is live: it is only given back under `mapping`'s invalidate lock held
            // exclusive (type invariant), which `guard`, a guard of that lock, excludes.
            unsafe { bindings::kvm_gmem_invalidate_begin(gmem, start, end) };
        }
        Invalidation {
            gmem,
            start,
            end,
            _p: PhantomData,
        }
    }

    /// Unbinds the file from its memslots, zaps KVM's mappings of it and gives KVM's state back
    /// (`kvm_gmem_provider_release`). For the file's `release`, with no lock held.
    pub(crate) fn release(&self) {
        let mapping = self.mapping.load(Ordering::Acquire);
        if mapping.is_null() {
            // Never linked to a VM.
            return;
        }
        // SAFETY: `mapping` is the mapping of the inode that holds this link (type invariant), and
        // the caller, that inode's file, keeps it alive.
        let mapping = unsafe { &*mapping };
        let gmem = {
            let _guard = mapping.invalidate_lock();
            // INVARIANT: Cleared under the invalidate lock held exclusive.
            self.gmem.swap(ptr::null_mut(), Ordering::AcqRel)
        };
        if !gmem.is_null() {
            // SAFETY: `gmem` was live and is now unreachable through `self`: we give it back once.
            // KVM takes the invalidate lock itself, so it must not be held here.
            unsafe { bindings::kvm_gmem_provider_release(gmem, mapping.as_ptr()) };
        }
    }

    /// Attaches KVM's state to a file that has none yet.
    ///
    /// # Safety
    ///
    /// `gmem` must be the handle KVM passed to `create` for this file, `mapping` the mapping of the
    /// inode that holds this link, and the file must not be visible to anyone yet. The file's release
    /// must call [`KvmLink::release`].
    unsafe fn attach(&self, gmem: *mut bindings::kvm_gmem, mapping: &Mapping) {
        // INVARIANT: The caller hands over KVM's handle for this file, and its inode's mapping,
        // before the file is visible.
        self.mapping
            .store(ptr::from_ref(mapping).cast_mut(), Ordering::Release);
        self.gmem.store(gmem, Ordering::Release);
    }

    fn raw(&self) -> *mut bindings::kvm_gmem {
        self.gmem.load(Ordering::Acquire)
    }
}

/// KVM's mappings of a range of a file kept away; dropping it lets KVM map them again.
pub(crate) struct Invalidation<'a> {
    gmem: *mut bindings::kvm_gmem,
    start: usize,
    end: usize,
    _p: PhantomData<&'a ()>,
}

impl Drop for Invalidation<'_> {
    fn drop(&mut self) {
        if !self.gmem.is_null() {
            // SAFETY: Ends the invalidation begun in `KvmLink::invalidate`; the lock borrowed for
            // `'a` is still held, so `gmem` is still live.
            unsafe { bindings::kvm_gmem_invalidate_end(self.gmem, self.start, self.end) };
        }
    }
}

/// A guest_memfd implementation that KVM can use.
pub(crate) trait Provider: 'static {
    /// The private part of the provider's inodes.
    type Inode: PseudoFsInode;
    /// What `create` needs, owned by the registration.
    type Data: Send + Sync;

    /// The filesystem type of the provider's files: KVM's callbacks only get files of it.
    fn fs_type() -> &'static FileSystemType<Self::Inode>;

    /// Makes a new file for `KVM_CREATE_GUEST_MEMFD` on a VM with (`private_mem`) or without private
    /// memory. The registration attaches KVM's state and installs the file in a descriptor.
    fn create(
        data: &Self::Data,
        args: &bindings::kvm_create_guest_memfd,
        private_mem: bool,
    ) -> Result<ARef<File>>;

    /// The link of an inode (`None` if it has none, like a filesystem root).
    fn link(inode: &Inode<Self::Inode>) -> Option<&KvmLink>;

    /// The locked folio holding page `index` (allocated if needed) and the largest order KVM may
    /// map it at.
    fn get_folio(inode: &Inode<Self::Inode>, index: usize) -> Result<(LockedFolio, u32)>;

    /// Whether the file converts in place: KVM then serves its memslots from it alone, shared and
    /// private, and asks [`Provider::is_private`].
    fn in_place(inode: &Inode<Self::Inode>) -> bool;

    /// Whether page `index` is private. Called under KVM's MMU lock: must not sleep.
    fn is_private(inode: &Inode<Self::Inode>, index: usize) -> bool;
}

/// The registration of a [`Provider`] with KVM, undone on drop.
///
/// # Invariants
///
/// `ops` is registered with KVM while this object exists.
#[pin_data(PinnedDrop)]
pub(crate) struct ProviderRegistration<P: Provider> {
    #[pin]
    ops: Opaque<bindings::kvm_gmem_provider>,
    data: P::Data,
}

// SAFETY: KVM calls the table from any thread; `P::Data` is `Send + Sync`.
unsafe impl<P: Provider> Send for ProviderRegistration<P> {}
// SAFETY: As above.
unsafe impl<P: Provider> Sync for ProviderRegistration<P> {}

impl<P: Provider> ProviderRegistration<P> {
    /// Registers `P` as KVM's guest_memfd provider (`EBUSY` if there is one already).
    pub(crate) fn register(data: impl PinInit<P::Data, Error>) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid for writes and pinned.
            unsafe {
                data.__pinned_init(ptr::addr_of_mut!((*slot).data))?;
                let ops = Opaque::raw_get(ptr::addr_of_mut!((*slot).ops));
                ops.write(bindings::kvm_gmem_provider {
                    owner: ptr::addr_of!(bindings::__this_module) as *mut _,
                    create: Some(Self::create),
                    gmem: Some(Self::gmem),
                    get_folio: Some(Self::get_folio),
                    in_place: Some(Self::in_place),
                    is_private: Some(Self::is_private),
                });
                let ret = bindings::kvm_gmem_register_provider(ops);
                if ret != 0 {
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).data));
                    return Err(Error::from_errno(ret));
                }
            }
            // INVARIANT: Registered.
            Ok(())
        };
        // SAFETY: The closure initialises both fields on success and drops what it made on failure.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }

    /// Returns the inode of a file KVM hands to a callback.
    ///
    /// # Safety
    ///
    /// `file` must be valid for `'a` (KVM holds a reference, or the file is being released with
    /// KVM's slots lock keeping it alive).
    unsafe fn inode<'a>(file: *mut bindings::file) -> Option<&'a Inode<P::Inode>> {
        // SAFETY: Valid for `'a` per the contract.
        let file = unsafe { File::from_raw(file) };
        P::fs_type().inode_of(file)
    }

    /// `create` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with the registered table, a fresh `gmem` and valid `args`.
    unsafe extern "C" fn create(
        provider: *const bindings::kvm_gmem_provider,
        gmem: *mut bindings::kvm_gmem,
        args: *const bindings::kvm_create_guest_memfd,
        private_mem: bool,
    ) -> c_int {
        // SAFETY: `provider` is the `ops` field of a live registration (it is registered only while
        // the registration exists), and `args` is valid for the call.
        let (this, args) = unsafe {
            let this = kernel::container_of!(
                provider.cast::<Opaque<bindings::kvm_gmem_provider>>(),
                Self,
                ops
            );
            (&*this, &*args)
        };
        from_result(|| {
            // Reserve the descriptor first: once the file exists, only `fput()` may undo it.
            let fd = super::file::FileDescriptorReservation::get_unused_fd_flags(0)?;
            let file = P::create(&this.data, args, private_mem)?;
            let inode = P::fs_type().inode_of(&file).ok_or(EINVAL)?;
            let link = P::link(inode).ok_or(EINVAL)?;
            // Nothing can fail from here on: KVM frees `gmem` itself if we return an error.
            // SAFETY: `gmem` is KVM's handle for this new file, which nobody else can see yet, and
            // the mapping is that of the inode holding the link; the file's release gives it back
            // (`Provider::link` is what `release` uses).
            unsafe { link.attach(gmem, inode.mapping()) };
            let nr = fd.reserved_fd();
            fd.fd_install(file);
            Ok(nr as c_int)
        })
    }

    /// `gmem` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a file it holds (or one being released, kept alive by KVM's slots lock).
    unsafe extern "C" fn gmem(file: *mut bindings::file) -> *mut bindings::kvm_gmem {
        // SAFETY: As the callback's contract says.
        match unsafe { Self::inode(file) }.and_then(P::link) {
            Some(link) => link.raw(),
            None => ptr::null_mut(),
        }
    }

    /// `get_folio` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file of the provider that is bound to a memslot.
    unsafe extern "C" fn get_folio(
        file: *mut bindings::file,
        index: usize,
        max_order: *mut c_int,
    ) -> *mut bindings::folio {
        // SAFETY: As the callback's contract says.
        let Some(inode) = (unsafe { Self::inode(file) }) else {
            return EINVAL.to_ptr();
        };
        match P::get_folio(inode, index) {
            Ok((folio, order)) => {
                // SAFETY: `max_order` is valid for writes for the call.
                unsafe { *max_order = order as c_int };
                // KVM takes over the lock and the reference.
                folio.into_raw_locked()
            }
            Err(e) => e.to_ptr(),
        }
    }

    /// `in_place` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file of the provider.
    unsafe extern "C" fn in_place(file: *mut bindings::file) -> bool {
        // SAFETY: As the callback's contract says.
        unsafe { Self::inode(file) }.is_some_and(P::in_place)
    }

    /// `is_private` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file of the provider; must not sleep.
    unsafe extern "C" fn is_private(file: *mut bindings::file, index: usize) -> bool {
        // SAFETY: As the callback's contract says.
        unsafe { Self::inode(file) }.is_some_and(|inode| P::is_private(inode, index))
    }
}

#[pinned_drop]
impl<P: Provider> PinnedDrop for ProviderRegistration<P> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant); KVM waits for callers that found the table without a
        // module reference. Callers with files hold a module reference, so none is left when the
        // module unloads.
        unsafe { bindings::kvm_gmem_unregister_provider(self.ops.get()) };
    }
}
