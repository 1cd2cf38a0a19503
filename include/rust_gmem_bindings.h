/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C declarations rust_gmem's module-local bindgen reads (see Kbuild). Items that 6.12's
 * kernel::bindings already has are not regenerated; the generated file starts with
 * `use kernel::bindings::*;` and only the allowlisted items below are emitted.
 */
#include <linux/debugfs.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/maple_tree.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include <uapi/linux/rust_gmem.h>

/* Only in kernels with patches/0001-*.patch (Kbuild sets cfg(rust_gmem_kvm) then). */
#if __has_include(<linux/kvm_gmem_provider.h>)
#include <linux/kvm_gmem_provider.h>
#endif

#include "rust_gmem_helpers.h"

/* Constants bindgen cannot evaluate from macros; the Kbuild sed strips the prefix. */
const unsigned long long RUST_CONST_HELPER_GUEST_MEMFD_FLAG_MMAP = GUEST_MEMFD_FLAG_MMAP;
const unsigned long long RUST_CONST_HELPER_GUEST_MEMFD_FLAG_INIT_SHARED = GUEST_MEMFD_FLAG_INIT_SHARED;
const unsigned long long RUST_CONST_HELPER_GUEST_MEMFD_FLAG_HUGETLB = GUEST_MEMFD_FLAG_HUGETLB;
const unsigned int RUST_CONST_HELPER_GUESTMEM_HUGETLB_FLAG_SHIFT = GUESTMEM_HUGETLB_FLAG_SHIFT;
const unsigned long long RUST_CONST_HELPER_GUESTMEM_HUGETLB_FLAG_MASK = GUESTMEM_HUGETLB_FLAG_MASK;
const gfp_t RUST_CONST_HELPER___GFP_NOFAIL = __GFP_NOFAIL;
const unsigned long long RUST_CONST_HELPER_KVM_MEMORY_ATTRIBUTE_PRIVATE = KVM_MEMORY_ATTRIBUTE_PRIVATE;
const unsigned int RUST_CONST_HELPER_KVM_CREATE_GUEST_MEMFD = KVM_CREATE_GUEST_MEMFD;
const unsigned int RUST_CONST_HELPER_KVM_GMEM_CONVERT_SHARED = KVM_GMEM_CONVERT_SHARED;
const unsigned int RUST_CONST_HELPER_KVM_GMEM_CONVERT_PRIVATE = KVM_GMEM_CONVERT_PRIVATE;
const unsigned int RUST_CONST_HELPER_KVM_SET_MEMORY_ATTRIBUTES2 = KVM_SET_MEMORY_ATTRIBUTES2;
const int RUST_CONST_HELPER_FALLOC_FL_KEEP_SIZE = FALLOC_FL_KEEP_SIZE;
const int RUST_CONST_HELPER_FALLOC_FL_PUNCH_HOLE = FALLOC_FL_PUNCH_HOLE;
const unsigned int RUST_CONST_HELPER_MT_FLAGS_LOCK_EXTERN = MT_FLAGS_LOCK_EXTERN;
const unsigned int RUST_CONST_HELPER_MISC_DYNAMIC_MINOR = MISC_DYNAMIC_MINOR;
const unsigned int RUST_CONST_HELPER_O_RDWR = O_RDWR;
const unsigned int RUST_CONST_HELPER_O_LARGEFILE = O_LARGEFILE;
const unsigned int RUST_CONST_HELPER_S_IFREG = S_IFREG;
const unsigned long long RUST_CONST_HELPER_MAX_LFS_FILESIZE = MAX_LFS_FILESIZE;
const unsigned int RUST_CONST_HELPER_SLAB_RECLAIM_ACCOUNT = (unsigned int)SLAB_RECLAIM_ACCOUNT;
const unsigned int RUST_CONST_HELPER_SLAB_ACCOUNT = (unsigned int)SLAB_ACCOUNT;
const gfp_t RUST_CONST_HELPER_GFP_HIGHUSER = GFP_HIGHUSER;
