// SPDX-License-Identifier: GPL-2.0

//! The unsafe layer: small safe wrappers over the raw 6.12 bindings.
//!
//! 6.12's `kernel` crate has no abstractions for files, inodes, mappings, folios, maple trees, misc
//! devices or debugfs. This module provides the few the guest_memfd logic needs, shaped like the newer
//! mainline ones (`rust/kernel/fs/file.rs`, `miscdevice.rs`, `maple_tree.rs`) so that the code above can
//! move to those when the target kernel has them. Every `unsafe` block of the crate lives below this
//! module; the guest_memfd logic in [`crate::gmem`] is safe Rust.

pub(crate) mod bindings;
pub(crate) mod debugfs;
pub(crate) mod file;
pub(crate) mod folio;
pub(crate) mod fs;
#[cfg(rust_gmem_hugetlb)]
pub(crate) mod hugetlb;
#[cfg(rust_gmem_kvm)]
pub(crate) mod kvm;
// A kernel without the KVM provider patch: files belong to no VM.
#[cfg(not(rust_gmem_kvm))]
#[path = "kvm_none.rs"]
pub(crate) mod kvm;
pub(crate) mod maple_tree;
pub(crate) mod mapping;
pub(crate) mod miscdevice;
pub(crate) mod mm;
pub(crate) mod params;
pub(crate) mod sched;
pub(crate) mod set_once;
pub(crate) mod uapi;

/// Error codes that 6.12's `kernel::error::code` does not declare.
pub(crate) mod errno {
    use kernel::error::Error;

    /// `EOPNOTSUPP`: operation not supported.
    pub(crate) fn eopnotsupp() -> Error {
        Error::from_errno(-(super::bindings::EOPNOTSUPP as i32))
    }

    /// `EHWPOISON`: memory page has a hardware error.
    pub(crate) fn ehwpoison() -> Error {
        Error::from_errno(-(super::bindings::EHWPOISON as i32))
    }
}
