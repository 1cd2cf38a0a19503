// SPDX-License-Identifier: GPL-2.0

//! Misc devices (`/dev/<name>` character devices with a dynamic minor).
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)
//!
//! Shaped like mainline's `kernel::miscdevice` (6.13) without per-open state, which the users here do
//! not need.

use super::bindings;
use super::file::File;
use core::marker::PhantomData;
use core::ptr::{self, addr_of_mut};
use kernel::build_error;
use kernel::error::{from_result, to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_long, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::types::Opaque;

/// The operations of a misc device.
#[vtable]
pub(crate) trait MiscDevice: 'static {
    /// Device-wide data, kept in the registration and lent to every operation.
    type Data: Send + Sync;

    /// Handles `ioctl(2)` on an open device; returns the value for userspace.
    fn ioctl(_data: &Self::Data, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device.
///
/// # Invariants
///
/// `inner` is registered with `misc_register()` until the destructor runs, and `data` is initialised
/// before and dropped after that.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscDeviceRegistration<T: MiscDevice> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    #[pin]
    data: T::Data,
    _t: PhantomData<T>,
}

// SAFETY: The registration is only read by the misc core, which locks it.
unsafe impl<T: MiscDevice> Send for MiscDeviceRegistration<T> {}
// SAFETY: `&self` only gives access to `data`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for MiscDeviceRegistration<T> {}

impl<T: MiscDevice> MiscDeviceRegistration<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`. An open device keeps the module loaded through it.
        owner: ptr::addr_of!(bindings::__this_module) as *mut _,
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        compat_ioctl: if T::HAS_IOCTL {
            super::file::COMPAT_PTR_IOCTL
        } else {
            None
        },
        // SAFETY: All-zero is a valid `file_operations` (every callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// Initialises `data`, then registers `/dev/<name>` with the given permissions.
    pub(crate) fn register(
        name: &'static CStr,
        mode: u16,
        data: impl PinInit<T::Data, Error>,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid and pinned. The data is initialised first, then the misc device
            // is filled in and registered; on failure the data is dropped again. On success the
            // destructor deregisters the device before the data and memory go away.
            unsafe {
                let data_slot = addr_of_mut!((*slot).data);
                data.__pinned_init(data_slot)?;
                let misc = Opaque::raw_get(addr_of_mut!((*slot).inner));
                misc.write(core::mem::MaybeUninit::zeroed().assume_init());
                (*misc).minor = bindings::MISC_DYNAMIC_MINOR as i32;
                (*misc).name = name.as_char_ptr();
                (*misc).fops = &Self::FOPS;
                (*misc).mode = mode;
                addr_of_mut!((*slot)._t).write(PhantomData);
                // INVARIANT: On success the device is registered.
                let ret = to_result(bindings::misc_register(misc));
                if ret.is_err() {
                    ptr::drop_in_place(data_slot);
                }
                ret
            }
        };
        // SAFETY: The closure initialises every field and leaves nothing behind on error.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }

    /// `ioctl` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a referenced file that uses this table.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: The VFS calls us with a file that is referenced for the duration of the call.
        // `misc_open()` set its `private_data` to our `miscdevice`, embedded in a registration that
        // outlives the open file (the file holds a module reference).
        let (file, data) = unsafe {
            let misc = (*file).private_data.cast::<bindings::miscdevice>();
            let reg = kernel::container_of!(misc, Self, inner);
            (File::from_raw(file), &(*reg).data)
        };
        from_result(|| T::ioctl(data, file, cmd, arg).map(|r| r as c_long))
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscDeviceRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::misc_deregister(self.inner.get()) };
    }
}
