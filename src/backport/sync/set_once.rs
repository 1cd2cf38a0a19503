// SPDX-License-Identifier: GPL-2.0

//! A container that can be populated at most once: backport of mainline's `kernel::sync::SetOnce`
//! (6.19, `rust/kernel/sync/set_once.rs`).
//!
//! Mainline's uses the kernel's own atomics (6.18), which 6.12 lacks; this one uses
//! `core::sync::atomic`, with the same orderings. `copy()` is left out (unused).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering};

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const SET: u32 = 2;

/// A cell that can be populated once and then read by everyone.
///
/// # Invariants
///
/// `value` is initialised if and only if `state` is `SET`, and is never written after that.
pub(crate) struct SetOnce<T> {
    state: AtomicU32,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: The value is moved in by one thread and dropped with the cell, so `T: Send` suffices.
unsafe impl<T: Send> Send for SetOnce<T> {}
// SAFETY: After population every thread only gets `&T`, which needs `T: Sync`; populating moves a
// `T` in from another thread, which needs `T: Send`.
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}

impl<T> SetOnce<T> {
    /// Creates an empty cell.
    pub(crate) const fn new() -> Self {
        // INVARIANT: Empty, and the value is uninitialised.
        Self {
            state: AtomicU32::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Populates the cell with `value` if it is empty and returns `true`; returns `false`, and
    /// drops `value`, if it was populated before.
    pub(crate) fn populate(&self, value: T) -> bool {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // SAFETY: Only the thread that moved the state from `EMPTY` to `WRITING` gets here, and
        // readers do not look at the value before `SET`.
        unsafe { (*self.value.get()).write(value) };
        // INVARIANT: The value is initialised before the state says so; `Release` publishes it.
        self.state.store(SET, Ordering::Release);
        true
    }

    /// Returns the value, or `None` if the cell has not been populated.
    pub(crate) fn as_ref(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == SET {
            // SAFETY: `SET` means the value is initialised and never written again (type
            // invariant); `Acquire` pairs with the `Release` in `populate`.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == SET {
            // SAFETY: `SET` means the value is initialised (type invariant), and we have `&mut self`.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}
