// SPDX-License-Identifier: GPL-2.0

//! The uAPI structures of `include/uapi/linux/rust_gmem.h`, readable from userspace memory.

use crate::bindings;
use kernel::types::{AsBytes, FromBytes};

pub(crate) use bindings::{kvm_create_guest_memfd, kvm_gmem_convert, kvm_memory_attributes2};
pub(crate) use bindings::{
    FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP,
    KVM_CREATE_GUEST_MEMFD, KVM_GMEM_CONVERT_PRIVATE, KVM_GMEM_CONVERT_SHARED,
    KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2, MAX_LFS_FILESIZE,
};
pub(crate) use bindings::{
    GUESTMEM_HUGETLB_FLAG_MASK, GUESTMEM_HUGETLB_FLAG_SHIFT, GUEST_MEMFD_FLAG_HUGETLB,
};

/// `RUST_GMEM_VALID_FLAGS` of the uAPI header (bindgen cannot evaluate the macro, which has a
/// 64-bit shift).
pub(crate) const RUST_GMEM_VALID_FLAGS: u64 = GUEST_MEMFD_FLAG_MMAP
    | GUEST_MEMFD_FLAG_INIT_SHARED
    | GUEST_MEMFD_FLAG_HUGETLB
    | (GUESTMEM_HUGETLB_FLAG_MASK << GUESTMEM_HUGETLB_FLAG_SHIFT);

// SAFETY: A plain C struct of `__u64`s: every bit pattern is valid and it has no padding.
unsafe impl FromBytes for kvm_create_guest_memfd {}
// SAFETY: As above, no padding and no uninitialised bytes.
unsafe impl AsBytes for kvm_create_guest_memfd {}

// SAFETY: A plain C struct of `__u64`s: every bit pattern is valid and it has no padding.
unsafe impl FromBytes for kvm_gmem_convert {}
// SAFETY: As above, no padding and no uninitialised bytes.
unsafe impl AsBytes for kvm_gmem_convert {}
// SAFETY: A plain C struct of `__u64`s: every bit pattern is valid and it has no padding.
unsafe impl FromBytes for kvm_memory_attributes2 {}
// SAFETY: As above, no padding and no uninitialised bytes.
unsafe impl AsBytes for kvm_memory_attributes2 {}
