// SPDX-License-Identifier: GPL-2.0

//! Memory mappings: VMAs being set up by `mmap`, page faults, and draining the LRU caches.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/swap.h`](srctree/include/linux/swap.h)
//!
//! Mainline's `kernel::mm::virt` (6.16) has `VmaNew` for `mmap` but no fault-handler abstraction; the
//! fault side here follows the Binder pattern of a static `vm_operations_struct` whose callback turns
//! raw pointers into safe types at once.

use super::bindings;
use super::folio::LockedFolio;
use super::fs::{Inode, PseudoFsInode};
use core::marker::PhantomData;
use kernel::alloc::KVec;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A VMA being set up by a file's `mmap` operation.
///
/// # Invariants
///
/// The VMA is valid and the caller of `mmap` holds the mmap lock for writing.
#[repr(transparent)]
pub(crate) struct VmaNew(Opaque<bindings::vm_area_struct>);

impl VmaNew {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be the VMA passed to an `mmap` file operation, for the duration of that call.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaNew` is transparent; the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    /// Whether the mapping is shared (`MAP_SHARED`): `VM_SHARED` and `VM_MAYSHARE` are both set.
    pub(crate) fn is_shared(&self) -> bool {
        let want = (bindings::VM_SHARED | bindings::VM_MAYSHARE) as usize;
        // SAFETY: The VMA is valid (type invariant); `vm_flags` is stable while the mmap lock is held.
        let flags = unsafe { (*self.0.get()).__bindgen_anon_2.vm_flags };
        flags & want == want
    }

    /// Serves the VMA's page faults with `V`.
    pub(crate) fn set_vm_ops<V: VmOperations>(&self) {
        // SAFETY: The VMA is being set up (type invariant), so it may get its operations; the table
        // is static.
        unsafe { (*self.0.get()).vm_ops = &VmOpsTable::<V>::TABLE };
    }
}

/// Page-fault handling for mappings of files of a `PseudoFs<Self::Inode>`.
pub(crate) trait VmOperations: 'static {
    /// The private part of the mapped files' inodes.
    type Inode: PseudoFsInode;

    /// Returns the locked folio that holds page `pgoff` of the file, to be mapped.
    ///
    /// `ENOMEM` becomes `VM_FAULT_OOM`, `EHWPOISON` `VM_FAULT_HWPOISON`, any other error
    /// `VM_FAULT_SIGBUS`.
    fn fault(inode: &Inode<Self::Inode>, pgoff: usize) -> Result<LockedFolio>;
}

struct VmOpsTable<V>(PhantomData<V>);

impl<V: VmOperations> VmOpsTable<V> {
    const TABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault),
        // SAFETY: All-zero is a valid table (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// `fault` callback.
    ///
    /// # Safety
    ///
    /// Called by the MM with a valid `vm_fault` of a VMA that uses this table, which maps a file of
    /// a `PseudoFs<V::Inode>`.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The VMA holds a reference on its file, and so on the file's inode, for the
        // duration of the fault; the inode belongs to a `PseudoFs<V::Inode>` (only `VmaNew::set_vm_ops`
        // installs this table, from the file's own `mmap`).
        let (inode, pgoff) = unsafe {
            let vma = (*vmf).__bindgen_anon_1.vma;
            let inode = (*(*vma).vm_file).f_inode;
            (
                Inode::<V::Inode>::from_raw(inode),
                (*vmf).__bindgen_anon_1.pgoff,
            )
        };
        match V::fault(inode, pgoff) {
            Ok(folio) => {
                // SAFETY: `vmf` is valid; `VM_FAULT_LOCKED` hands the locked page and its reference
                // to the caller.
                unsafe { (*vmf).page = folio.into_fault_page(pgoff) };
                bindings::vm_fault_reason_VM_FAULT_LOCKED
            }
            Err(e) if e == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM,
            Err(e) if e == super::errno::ehwpoison() => bindings::vm_fault_reason_VM_FAULT_HWPOISON,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
        }
    }
}

/// Drains this CPU's LRU caches (`lru_add_drain()`, which 6.12 does not export either): releasing an
/// empty folio batch does it. Cheap; the caller may be migrated right after, which only makes it
/// less useful, never wrong.
pub(crate) fn lru_add_drain() {
    let mut batch = bindings::folio_batch::default();
    // SAFETY: `batch` is a valid, empty local batch; releasing it only drains this CPU's caches.
    unsafe {
        bindings::rust_gmem_folio_batch_init(&mut batch);
        bindings::__folio_batch_release(&mut batch);
    }
}

/// Drains the per-CPU LRU caches of every online CPU (what `lru_add_drain_all()` does; 6.12 does not
/// export it to modules).
///
/// `filemap_add_folio()` parks new folios in a per-CPU batch that holds a reference until it is
/// moved to the LRU; a caller that checks for unexpected references drains first. Each CPU runs a
/// work item that releases an empty folio batch, which drains that CPU's caches
/// (`__folio_batch_release()` calls `lru_add_drain()`). Slow: use it only on slow paths.
pub(crate) fn lru_add_drain_all() -> Result {
    /// Work function run on each CPU.
    ///
    /// # Safety
    ///
    /// Called by the workqueue code with one of the work items queued below.
    unsafe extern "C" fn drain(_work: *mut bindings::work_struct) {
        lru_add_drain();
    }

    // SAFETY: Keeps the set of online CPUs stable until the matching unlock below.
    unsafe { bindings::cpus_read_lock() };
    let result = (|| {
        let mut cpus = KVec::new();
        let mut cpu = -1;
        loop {
            // SAFETY: Any `prev` is accepted.
            cpu = unsafe { bindings::rust_gmem_next_online_cpu(cpu) };
            // SAFETY: `nr_cpu_ids` is set at boot and read-only afterwards.
            if cpu < 0 || cpu as u32 >= unsafe { bindings::nr_cpu_ids } {
                break;
            }
            cpus.push(cpu, GFP_KERNEL)?;
        }
        let mut works: KVec<Opaque<bindings::work_struct>> =
            KVec::with_capacity(cpus.len(), GFP_KERNEL)?;
        for _ in 0..cpus.len() {
            works.push(Opaque::uninit(), GFP_KERNEL)?;
        }
        // The vector is not resized from here on, so the work items do not move.
        for (work, &cpu) in works.iter().zip(cpus.iter()) {
            // SAFETY: `work` is valid and not queued; `system_wq` is set up at boot.
            unsafe {
                bindings::rust_gmem_init_work(work.get(), Some(drain));
                bindings::queue_work_on(cpu, bindings::system_wq, work.get());
            }
        }
        for work in works.iter() {
            // SAFETY: Waits until the item has run; it is not queued again, so it can then be freed.
            unsafe { bindings::flush_work(work.get()) };
        }
        Ok(())
    })();
    // SAFETY: Pairs with `cpus_read_lock()` above.
    unsafe { bindings::cpus_read_unlock() };
    result
}
