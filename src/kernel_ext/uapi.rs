// SPDX-License-Identifier: GPL-2.0

//! The uAPI structures of `include/uapi/linux/rust_gmem.h`, readable from userspace memory.

use super::bindings;
use kernel::types::{AsBytes, FromBytes};

pub(crate) use bindings::kvm_create_guest_memfd;
pub(crate) use bindings::{
    GFP_HIGHUSER, GUEST_MEMFD_FLAG_INIT_SHARED, KVM_CREATE_GUEST_MEMFD,
    KVM_MEMORY_ATTRIBUTE_PRIVATE, MAX_LFS_FILESIZE, RUST_GMEM_VALID_FLAGS,
};

// SAFETY: A plain C struct of `__u64`s: every bit pattern is valid and it has no padding.
unsafe impl FromBytes for kvm_create_guest_memfd {}
// SAFETY: As above, no padding and no uninitialised bytes.
unsafe impl AsBytes for kvm_create_guest_memfd {}
