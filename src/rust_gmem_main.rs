// SPDX-License-Identifier: GPL-2.0

//! rust_gmem: guest_memfd, KVM's guest-memory file, as a Rust-for-Linux module.
//!
//! Each guest_memfd is an inode on the module's pseudo-filesystem; its shareability map is a maple tree
//! guarded by the mapping's invalidate lock. Files are created through `/dev/guest_memfd` with KVM's
//! `KVM_CREATE_GUEST_MEMFD` request. See `Documentation/` for the design and what is not done yet.
//!
//! Layout:
//!
//! - [`kernel_ext`]: the thin unsafe layer over the 6.12 bindings (inode, mapping, maple tree, file,
//!   misc device, debugfs);
//! - [`gmem`]: guest_memfd files, in safe Rust;
//! - [`device`]: the `/dev/guest_memfd` misc device.

use kernel::c_str;
use kernel::prelude::*;

mod device;
mod gmem;
mod kernel_ext;

use device::GmemDevice;
use kernel_ext::miscdevice::MiscDeviceRegistration;

module! {
    type: RustGmem,
    name: "rust_gmem",
    author: "rust_gmem developers",
    description: "guest_memfd with in-place shared/private conversion, in Rust",
    license: "GPL",
}

struct RustGmem {
    _device: Pin<KBox<MiscDeviceRegistration<GmemDevice>>>,
}

impl kernel::Module for RustGmem {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let device = KBox::pin_init(
            MiscDeviceRegistration::register(c_str!("guest_memfd"), 0o600, GmemDevice::new()),
            GFP_KERNEL,
        )?;
        pr_info!("loaded: /dev/guest_memfd\n");
        Ok(Self { _device: device })
    }
}
