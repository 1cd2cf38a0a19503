// SPDX-License-Identifier: GPL-2.0

//! Yielding the CPU in long loops.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)
//!
//! Mainline's `kernel` crate has no `cond_resched()` either (only `might_sleep()`), so this is not a
//! backport.

use crate::bindings;

/// Yields the CPU if a reschedule is due (`cond_resched()`); for long loops in process context.
pub(crate) fn cond_resched() {
    // SAFETY: `cond_resched()` has no memory-safety requirement; a call from atomic context is a
    // bug that `might_sleep()`'s checks report.
    unsafe { bindings::rust_gmem_cond_resched() };
}
