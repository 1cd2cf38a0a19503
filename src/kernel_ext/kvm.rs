// SPDX-License-Identifier: GPL-2.0

//! KVM's guest_memfd provider interface, added by `patches/0001-*.patch`.
//!
//! C header: `include/linux/kvm_gmem_provider.h` (from the patch)
//!
//! While a [`ProviderRegistration`] is alive, `KVM_CREATE_GUEST_MEMFD` on a VM makes one of the
//! provider's files, and KVM binds those files to memslots and gets guest pages from them. KVM keeps
//! its per-file state (the VM reference and the memslot bindings) as it does for its own files: in
//! the file's `private_data`, which this module never uses, and on the mapping's `i_private_list`.
//! It gives that state back itself when the file is released ([`release`]), after it has unbound
//! the file from its memslots under its own locks, so KVM's state stays reachable for exactly as
//! long as KVM may use it.
//!
//! Only built when the kernel has the patch (`cfg(rust_gmem_kvm)`, set by Kbuild).

use super::folio::LockedFolio;
use super::mapping::{InvalidateLockHeld, Mapping};
use super::pseudo_fs::file_ops::ReleasedFile;
use super::pseudo_fs::{FileSystemType, Inode, PseudoFsInode};
use crate::backport::fs::File;
use crate::bindings;
use core::marker::PhantomData;
use core::ptr;
use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

/// Zaps KVM's mappings of pages `first..=last` of the file whose invalidate lock `guard` holds, and
/// keeps KVM from mapping them again until the returned value is dropped
/// (`kvm_gmem_invalidate_range_begin/end`). Does nothing for a file no VM has (KVM's list of them
/// is empty).
pub(crate) fn invalidate<'a>(
    first: usize,
    last: usize,
    guard: &'a impl InvalidateLockHeld,
) -> Invalidation<'a> {
    let mapping = guard.mapping();
    let (start, end) = (first, last.saturating_add(1));
    // SAFETY: `guard` proves that the mapping's invalidate lock is held, and it stays held until the
    // returned value, which borrows it, has ended the invalidation.
    unsafe { bindings::kvm_gmem_invalidate_range_begin(mapping.as_ptr(), start, end) };
    Invalidation {
        mapping,
        start,
        end,
        _guard: PhantomData,
    }
}

/// KVM's mappings of a range of a file kept away; dropping it lets KVM map them again.
pub(crate) struct Invalidation<'a> {
    mapping: &'a Mapping,
    start: usize,
    end: usize,
    _guard: PhantomData<&'a ()>,
}

impl Drop for Invalidation<'_> {
    fn drop(&mut self) {
        // SAFETY: Ends the invalidation begun in `invalidate`; the lock borrowed for `'a` is still
        // held.
        unsafe {
            bindings::kvm_gmem_invalidate_range_end(self.mapping.as_ptr(), self.start, self.end)
        };
    }
}

/// Unbinds a file that KVM made from its memslots and gives KVM's state for it back
/// (`kvm_gmem_provider_release()`); nothing for a file that KVM did not make. For the file's
/// `release`, with no lock held: KVM takes its slots lock and the invalidate lock itself.
pub(crate) fn release(file: ReleasedFile<'_>) {
    // SAFETY: The file is being released (`ReleasedFile`), which happens once; KVM's state in it, if
    // any, is given back here and nowhere else.
    unsafe { bindings::kvm_gmem_provider_release(file.as_ptr()) };
}

/// A guest_memfd implementation that KVM can use.
pub(crate) trait Provider: 'static {
    /// The private part of the provider's inodes.
    type Inode: PseudoFsInode;
    /// What `create` needs, owned by the registration.
    type Data: Send + Sync;

    /// The filesystem type of the provider's files: KVM's callbacks only get files of it.
    fn fs_type() -> &'static FileSystemType<Self::Inode>;

    /// Whether the files convert in place and alone say what is private (Linux 7.4's
    /// `gmem_in_place_conversion`); fixed while the provider is registered.
    fn in_place_conversion() -> bool;

    /// The `GUEST_MEMFD_FLAG_*` that the files of a VM with or without private memory accept, as
    /// `KVM_CAP_GUEST_MEMFD_FLAGS` reports them.
    fn supported_flags(private_mem: bool) -> u64;

    /// Makes a new file for `KVM_CREATE_GUEST_MEMFD` on a VM with (`private_mem`) or without private
    /// memory. KVM attaches its state and installs the file in a descriptor.
    fn create(
        data: &Self::Data,
        args: &bindings::kvm_create_guest_memfd,
        private_mem: bool,
    ) -> Result<ARef<File>>;

    /// The order of the file's folios: KVM binds memslots only at file offsets that are a multiple
    /// of that many pages.
    fn folio_order(inode: &Inode<Self::Inode>) -> u32;

    /// The locked folio holding page `index` (allocated if needed) and the largest order KVM may
    /// map it at.
    fn get_folio(inode: &Inode<Self::Inode>, index: usize) -> Result<(LockedFolio, u32)>;

    /// Whether the file serves its memslots for shared accesses too, not only private ones.
    fn gmem_only(inode: &Inode<Self::Inode>) -> bool;

    /// With in-place conversion, whether page `index` is private. Called under KVM's MMU lock:
    /// must not sleep.
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
                    in_place_conversion: P::in_place_conversion(),
                    supported_flags: Some(Self::supported_flags),
                    create: Some(Self::create),
                    owns: Some(Self::owns),
                    folio_order: Some(Self::folio_order),
                    get_folio: Some(Self::get_folio),
                    gmem_only: Some(Self::gmem_only),
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

    /// Returns the inode of a file KVM hands to a callback, if it is one of the provider's files.
    ///
    /// # Safety
    ///
    /// `file` must be valid for `'a` (KVM holds a reference, or the file is being released with
    /// KVM's slots lock keeping it alive).
    unsafe fn inode<'a>(file: *mut bindings::file) -> Option<&'a Inode<P::Inode>> {
        // SAFETY: Valid for `'a` per the contract.
        let file = unsafe { File::from_raw_file(file) };
        P::fs_type().inode_of(file)
    }

    /// `create` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with the registered table and valid `args`.
    unsafe extern "C" fn create(
        provider: *const bindings::kvm_gmem_provider,
        args: *const bindings::kvm_create_guest_memfd,
        private_mem: bool,
    ) -> *mut bindings::file {
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
        match P::create(&this.data, args, private_mem) {
            // KVM takes over the reference.
            Ok(file) => ARef::into_raw(file).as_ptr().cast(),
            Err(e) => e.to_ptr(),
        }
    }

    /// `owns` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file.
    unsafe extern "C" fn owns(file: *mut bindings::file) -> bool {
        // SAFETY: As the callback's contract says.
        unsafe { Self::inode(file) }.is_some()
    }

    /// `folio_order` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file of the provider.
    unsafe extern "C" fn folio_order(file: *mut bindings::file) -> c_uint {
        // SAFETY: As the callback's contract says.
        unsafe { Self::inode(file) }.map_or(0, P::folio_order)
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

    /// `supported_flags` callback.
    extern "C" fn supported_flags(private_mem: bool) -> u64 {
        P::supported_flags(private_mem)
    }

    /// `gmem_only` callback.
    ///
    /// # Safety
    ///
    /// Called by KVM with a referenced file of the provider.
    unsafe extern "C" fn gmem_only(file: *mut bindings::file) -> bool {
        // SAFETY: As the callback's contract says.
        unsafe { Self::inode(file) }.is_some_and(P::gmem_only)
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
