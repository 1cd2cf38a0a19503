// SPDX-License-Identifier: GPL-2.0

//! Scheduling helpers missing from 6.12's `kernel` crate.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)

use super::bindings;

/// Sleeps for about `us` microseconds (`usleep_range()`); returns at once for 0. Process context.
pub(crate) fn delay_us(us: u32) {
    if us > 0 {
        let us = us as usize;
        // SAFETY: Called from process context, which is all `usleep_range()` needs.
        unsafe {
            bindings::usleep_range_state(us, us + us / 4 + 1, bindings::TASK_UNINTERRUPTIBLE)
        };
    }
}

/// Yields the CPU if a reschedule is due (`cond_resched()`); for long loops in process context.
pub(crate) fn cond_resched() {
    // SAFETY: Called from process context, which is all `cond_resched()` needs.
    unsafe { bindings::rust_gmem_cond_resched() };
}
