// SPDX-License-Identifier: GPL-2.0

//! Misc devices: backport of mainline's `kernel::miscdevice` (6.13).
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)
//!
//! The subset rust_gmem uses: `open`, `release` and `ioctl`. Two differences from mainline, both
//! from later postings to the rust-for-linux list rather than invented here:
//!
//! - the registration carries device-wide data, [`MiscDevice::RegistrationData`], which `open`
//!   reaches through [`MiscDeviceRegistration::data`] ("rust: miscdevice: add additional data to
//!   MiscDeviceRegistration"). Mainline's `open` gets the registration but has no safe way to get
//!   from it to anything else, and `/dev/guest_memfd` needs the module's filesystem;
//! - the file operations' `owner` is this module, so an open device keeps the module loaded
//!   (mainline leaves it `NULL`; a posted fix sets it).

use crate::backport::fs::File;
use crate::bindings;
use core::marker::PhantomData;
use core::ptr::{self, addr_of_mut};
use kernel::build_error;
use kernel::error::{from_result, to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::prelude::*;
use kernel::types::{ForeignOwnable, Opaque};

/// Options for creating a misc device.
#[derive(Copy, Clone)]
pub(crate) struct MiscDeviceOptions {
    /// The name of the misc device: `/dev/<name>`.
    pub(crate) name: &'static CStr,
}

impl MiscDeviceOptions {
    /// Create a raw `struct miscdevice` ready for registration.
    pub(crate) const fn into_raw<T: MiscDevice>(self) -> bindings::miscdevice {
        // SAFETY: All-zero is valid for this C type.
        let mut result: bindings::miscdevice = unsafe { core::mem::zeroed() };
        result.minor = bindings::MISC_DYNAMIC_MINOR as _;
        result.name = self.name.as_char_ptr();
        result.fops = &MiscdeviceVTable::<T>::FOPS;
        result
    }
}

/// A registration of a misc device, with its device-wide data.
///
/// # Invariants
///
/// `inner` is registered with `misc_register()` until the destructor runs, and `data` is
/// initialised before and dropped after that.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscDeviceRegistration<T: MiscDevice> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    #[pin]
    data: T::RegistrationData,
    _t: PhantomData<T>,
}

// SAFETY: The misc core locks its use of the registration; `data` is `Send + Sync`.
unsafe impl<T: MiscDevice> Send for MiscDeviceRegistration<T> {}
// SAFETY: `&self` only gives access to `data`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for MiscDeviceRegistration<T> {}

impl<T: MiscDevice> MiscDeviceRegistration<T> {
    /// Initialises `data`, then registers the misc device.
    pub(crate) fn register(
        opts: MiscDeviceOptions,
        data: impl PinInit<T::RegistrationData, Error>,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid and pinned. The data is initialised first, then the misc device
            // is filled in and registered; on failure the data is dropped again. On success the
            // destructor deregisters the device before the data and memory go away.
            unsafe {
                let data_slot = addr_of_mut!((*slot).data);
                data.__pinned_init(data_slot)?;
                let misc = Opaque::raw_get(addr_of_mut!((*slot).inner));
                misc.write(opts.into_raw::<T>());
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

    /// Returns a raw pointer to the misc device.
    pub(crate) fn as_raw(&self) -> *mut bindings::miscdevice {
        self.inner.get()
    }

    /// The data given to [`MiscDeviceRegistration::register`].
    pub(crate) fn data(&self) -> &T::RegistrationData {
        &self.data
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscDeviceRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The device is registered (type invariant).
        unsafe { bindings::misc_deregister(self.as_raw()) };
    }
}

/// Trait implemented by the private data of an open misc device.
#[vtable]
pub(crate) trait MiscDevice: Sized {
    /// What kind of pointer should `Self` be wrapped in.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Device-wide data kept in the registration.
    type RegistrationData: Send + Sync;

    /// Called when the misc device is opened. The returned pointer will be stored as the private
    /// data of the file.
    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr>;

    /// Called when the misc device is released.
    fn release(device: Self::Ptr, _file: &File) {
        drop(device);
    }

    /// Handler for ioctls. The `cmd` argument is usually manipulated with the `_IOC_*` macros.
    fn ioctl(
        _device: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

struct MiscdeviceVTable<T: MiscDevice>(PhantomData<T>);

impl<T: MiscDevice> MiscdeviceVTable<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // This module's own `struct module`: an open device keeps the module loaded.
        owner: ptr::addr_of!(bindings::__this_module) as *mut _,
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_IOCTL {
            Some(bindings::compat_ptr_ioctl)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `file_operations` (every other callback `None`).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// `open` callback.
    ///
    /// # Safety
    ///
    /// Called by `misc_open()` with a file being opened whose `private_data` is the misc device of a
    /// [`MiscDeviceRegistration<T>`].
    unsafe extern "C" fn open(inode: *mut bindings::inode, raw_file: *mut bindings::file) -> c_int {
        // SAFETY: The pointers are valid, for a file being opened.
        let ret = unsafe { bindings::generic_file_open(inode, raw_file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: `misc_open()` set `private_data` to our misc device, embedded in a registration
        // that outlives the open file (the file holds a module reference, and the registration is
        // dropped only when the module unloads). The file is valid for the call.
        let (misc, file) = unsafe {
            let misc = (*raw_file).private_data.cast::<bindings::miscdevice>();
            let reg = kernel::container_of!(misc, MiscDeviceRegistration<T>, inner);
            (&*reg, File::from_raw_file(raw_file))
        };
        match T::open(file, misc) {
            Ok(ptr) => {
                // SAFETY: The file is being opened; nobody else uses `private_data` yet.
                unsafe { (*raw_file).private_data = ptr.into_foreign().cast_mut() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// `release` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS once, when the last reference to a file that [`Self::open`] opened goes.
    unsafe extern "C" fn release(
        _inode: *mut bindings::inode,
        raw_file: *mut bindings::file,
    ) -> c_int {
        // SAFETY: `open` stored a `T::Ptr` in `private_data`, and this is the last use of the file,
        // so no borrow of it is left. The file is valid for the call.
        let (ptr, file) = unsafe {
            (
                T::Ptr::from_foreign((*raw_file).private_data),
                File::from_raw_file(raw_file),
            )
        };
        T::release(ptr, file);
        0
    }

    /// `ioctl` callback.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a referenced file that [`Self::open`] opened.
    unsafe extern "C" fn ioctl(raw_file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `open` stored a `T::Ptr` in `private_data`, which `release` takes back only
        // after the last file operation. The file is valid for the call.
        let (device, file) = unsafe {
            (
                T::Ptr::borrow((*raw_file).private_data),
                File::from_raw_file(raw_file),
            )
        };
        from_result(|| T::ioctl(device, file, cmd, arg).map(|r| r as c_long))
    }
}
