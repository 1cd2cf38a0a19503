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
use kernel::sync::Arc;

mod device;
mod gmem;
mod kernel_ext;

use device::{GmemCore, GmemDevice};
use kernel_ext::miscdevice::MiscDeviceRegistration;

module! {
    type: RustGmem,
    name: "rust_gmem",
    author: "rust_gmem developers",
    description: "guest_memfd with in-place shared/private conversion, in Rust",
    license: "GPL",
}

struct RustGmem {
    // Dropped first: KVM stops making files before the device goes.
    #[cfg(rust_gmem_kvm)]
    _kvm: Pin<KBox<kernel_ext::kvm::ProviderRegistration<device::KvmProvider>>>,
    _device: Pin<KBox<MiscDeviceRegistration<GmemDevice>>>,
}

impl kernel::Module for RustGmem {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let core = Arc::pin_init(GmemCore::new(), GFP_KERNEL)?;
        let device = KBox::pin_init(
            MiscDeviceRegistration::register(c_str!("guest_memfd"), 0o600, core.clone()),
            GFP_KERNEL,
        )?;
        #[cfg(rust_gmem_kvm)]
        let kvm = KBox::pin_init(
            kernel_ext::kvm::ProviderRegistration::register(core),
            GFP_KERNEL,
        )?;
        #[cfg(rust_gmem_kvm)]
        pr_info!("loaded: /dev/guest_memfd, KVM guest_memfd provider\n");
        #[cfg(not(rust_gmem_kvm))]
        pr_info!("loaded: /dev/guest_memfd (kernel without the KVM provider patch)\n");
        Ok(Self {
            #[cfg(rust_gmem_kvm)]
            _kvm: kvm,
            _device: device,
        })
    }
}
