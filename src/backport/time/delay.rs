// SPDX-License-Identifier: GPL-2.0

//! Delays and sleeping: backport of mainline's `kernel::time::delay` (6.16).
//!
//! C header: [`include/linux/delay.h`](srctree/include/linux/delay.h)

use super::Delta;
use crate::bindings;

/// The longest sleep [`fsleep`] takes, as mainline: `i32::MAX` microseconds.
const MAX_DELTA: Delta = Delta::from_micros(i32::MAX as i64);

/// Sleeps for `delta` with the C `fsleep()`, which picks a busy wait, `usleep_range()` or `msleep()`
/// by length. Negative values sleep 0, values above [`MAX_DELTA`] sleep that long (mainline warns
/// once there as well; nothing here asks for that long). Process context only.
pub(crate) fn fsleep(delta: Delta) {
    let delta = if delta > MAX_DELTA {
        MAX_DELTA
    } else if delta < Delta::from_micros(0) {
        Delta::from_micros(0)
    } else {
        delta
    };
    // SAFETY: `fsleep()` accepts any duration and has no other requirement; a call from atomic
    // context is a bug that `might_sleep()` reports, not memory unsafety (as in mainline).
    unsafe { bindings::rust_gmem_fsleep(delta.as_micros_ceil() as _) };
}
