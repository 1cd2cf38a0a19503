/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rust_gmem: guest_memfd as a loadable Rust module.
 *
 * The ABI follows mainline KVM (include/uapi/linux/kvm.h) wherever mainline has the item, so a VMM that
 * speaks to KVM's guest_memfd speaks to this module unchanged. See Documentation/uapi.rst.
 */
#ifndef _UAPI_LINUX_RUST_GMEM_H
#define _UAPI_LINUX_RUST_GMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/kvm.h>	/* KVMIO, struct kvm_create_guest_memfd, KVM_CREATE_GUEST_MEMFD */

/* The misc device that creates guest_memfd files without a VM. */
#define RUST_GMEM_DEVICE	"/dev/guest_memfd"

/*
 * Flags of struct kvm_create_guest_memfd. Values as in mainline KVM; any other bit is -EINVAL.
 *
 * GUEST_MEMFD_FLAG_MMAP:        the host may mmap() the file (MAP_SHARED only).
 * GUEST_MEMFD_FLAG_INIT_SHARED: the whole file starts shared with the host (default: private).
 */
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP		(1ULL << 0)
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)
#endif

/* Every flag this version of the module accepts. */
#define RUST_GMEM_VALID_FLAGS	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

#endif /* _UAPI_LINUX_RUST_GMEM_H */
