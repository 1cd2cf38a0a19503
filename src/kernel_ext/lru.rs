// SPDX-License-Identifier: GPL-2.0

//! Draining the per-CPU LRU caches, which 6.12 does not export to modules.
//!
//! C header: [`include/linux/swap.h`](srctree/include/linux/swap.h)

use crate::bindings;
use kernel::alloc::KVec;
use kernel::prelude::*;
use kernel::types::Opaque;

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

/// How far [`check_draining`] drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Nothing: the first check was conclusive.
    Nothing,
    /// This CPU's caches.
    ThisCpu,
    /// This CPU's caches, then every CPU's.
    AllCpus,
}

/// Runs `check`, which finds what holds something up and says whether the holder may be a per-CPU
/// batch (see `Folio::held()`). While it may, drains this CPU's caches (cheap, and where a folio this
/// task just allocated is) and checks again, then every CPU's and checks once more. Returns the last
/// finding (`None`: nothing is held) and how far it drained. A holder that is not a batch (a
/// mapping, a pin) never costs a drain.
pub(crate) fn check_draining<T>(
    mut check: impl FnMut() -> Option<(T, bool)>,
) -> Result<(Option<T>, Drained)> {
    let mut found = check();
    let mut drained = Drained::Nothing;
    if found.as_ref().is_some_and(|&(_, batched)| batched) {
        lru_add_drain();
        drained = Drained::ThisCpu;
        found = check();
    }
    if found.as_ref().is_some_and(|&(_, batched)| batched) {
        lru_add_drain_all()?;
        drained = Drained::AllCpus;
        found = check();
    }
    Ok((found.map(|(t, _)| t), drained))
}
