// SPDX-License-Identifier: GPL-2.0

//! rust_gmem's own kernel layer: safe wrappers over the raw bindings for what mainline's `kernel`
//! crate has no abstraction for, even in its newest releases.
//!
//! - [`pseudo_fs`]: an internal filesystem whose inodes carry a typed private part, with the
//!   `file_operations` of its files ([`pseudo_fs::file_ops`]) and the faults of their mappings
//!   ([`pseudo_fs::vm_ops`]);
//! - [`mapping`]: page-cache mappings and the guards of their invalidate lock;
//! - [`folio`]: folios, locked and unlocked, and [`gfp`] flags to allocate them;
//! - [`range_tree`]: a maple tree of value ranges under an external lock (not mainline's
//!   `MapleTree`, see there);
//! - [`hugetlb`]: huge pages from the hugetlb pool (with `patches/0003-*`);
//! - [`kvm`]: KVM's guest_memfd provider interface (with `patches/0001-*`);
//! - [`lru`], [`sched`], [`params`], [`uapi`], [`errno`]: small pieces 6.12 does not offer.
//!
//! It builds on mainline-shaped backports ([`crate::backport`]) as it would on mainline; nothing
//! there uses it. Together the two hold every `unsafe` block of the crate: the guest_memfd logic
//! in [`crate::gmem`] and [`crate::device`] is safe Rust.

pub(crate) mod folio;
pub(crate) mod gfp;
#[cfg(rust_gmem_hugetlb)]
pub(crate) mod hugetlb;
#[cfg(rust_gmem_kvm)]
pub(crate) mod kvm;
// A kernel without the KVM provider patch: files belong to no VM.
#[cfg(not(rust_gmem_kvm))]
#[path = "kvm_none.rs"]
pub(crate) mod kvm;
pub(crate) mod lru;
pub(crate) mod mapping;
pub(crate) mod params;
pub(crate) mod pseudo_fs;
pub(crate) mod range_tree;
pub(crate) mod sched;
pub(crate) mod uapi;

/// `value` as an initialiser whose error type is [`kernel::error::Error`] (it cannot fail): for
/// APIs that take any `impl PinInit<T, E>` where the error type cannot be inferred.
pub(crate) fn infallible<T>(value: T) -> impl kernel::init::PinInit<T, kernel::error::Error> {
    value
}

/// Error codes that 6.12's `kernel::error::code` does not declare.
///
/// Mainline declares `EOPNOTSUPP` there (as a constant); 6.12's `Error` cannot be made in a
/// constant outside the `kernel` crate, hence functions. `EHWPOISON` is not in mainline's list.
pub(crate) mod errno {
    use kernel::error::Error;

    /// `EOPNOTSUPP`: operation not supported.
    pub(crate) fn eopnotsupp() -> Error {
        Error::from_errno(-(crate::bindings::EOPNOTSUPP as i32))
    }

    /// `EHWPOISON`: memory page has a hardware error.
    pub(crate) fn ehwpoison() -> Error {
        Error::from_errno(-(crate::bindings::EHWPOISON as i32))
    }
}
