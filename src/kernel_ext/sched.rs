// SPDX-License-Identifier: GPL-2.0

//! Scheduling helpers missing from 6.12's `kernel` crate.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)

use super::bindings;

/// Yields the CPU if a reschedule is due (`cond_resched()`); for long loops in process context.
pub(crate) fn cond_resched() {
    // SAFETY: Called from process context, which is all `cond_resched()` needs.
    unsafe { bindings::rust_gmem_cond_resched() };
}
