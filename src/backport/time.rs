// SPDX-License-Identifier: GPL-2.0

//! Time: backport of mainline's `kernel::time::Delta` and `kernel::time::delay` (6.16).
//!
//! 6.12's `kernel::time` has jiffies and `Ktime` only. The subset rust_gmem uses: a [`Delta`] made
//! from microseconds, and [`delay::fsleep`].

pub(crate) mod delay;

/// A span of time, in nanoseconds; may be negative.
#[derive(Copy, Clone, PartialEq, PartialOrd, Eq, Ord, Debug)]
pub(crate) struct Delta {
    nanos: i64,
}

impl Delta {
    /// A span of `micros` microseconds, saturated to the range of a [`Delta`].
    #[inline]
    pub(crate) const fn from_micros(micros: i64) -> Self {
        Self {
            nanos: micros.saturating_mul(1000),
        }
    }

    /// The span in microseconds, rounded up.
    #[inline]
    pub(crate) const fn as_micros_ceil(self) -> i64 {
        self.nanos.saturating_add(999) / 1000
    }
}
