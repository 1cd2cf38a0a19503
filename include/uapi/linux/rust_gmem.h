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

/*
 * GUEST_MEMFD_FLAG_HUGETLB: memory comes from the hugetlb pool, in pages of the size whose log2 is in
 * bits 58..63 (as MAP_HUGE_*; GUESTMEM_HUGETLB_FLAG_2MB or _1GB). The file's huge pages are reserved
 * at creation (-ENOMEM if the pool is short); its size and fallocate ranges are multiples of the huge
 * page size (-EINVAL). Needs a kernel with patches/0003-*.patch (-EOPNOTSUPP without). Encoding as in
 * the "1G page support for guest_memfd" RFC v2.
 */
#ifndef GUEST_MEMFD_FLAG_HUGETLB
#define GUEST_MEMFD_FLAG_HUGETLB	(1ULL << 2)
#endif
#ifndef GUESTMEM_HUGETLB_FLAG_SHIFT
#define GUESTMEM_HUGETLB_FLAG_SHIFT	58
#define GUESTMEM_HUGETLB_FLAG_MASK	0x3fULL
#define GUESTMEM_HUGETLB_FLAG_2MB	(21ULL << GUESTMEM_HUGETLB_FLAG_SHIFT)
#define GUESTMEM_HUGETLB_FLAG_1GB	(30ULL << GUESTMEM_HUGETLB_FLAG_SHIFT)
#endif

/* Every flag this version of the module accepts. */
#define RUST_GMEM_VALID_FLAGS	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED | \
				 GUEST_MEMFD_FLAG_HUGETLB | \
				 (GUESTMEM_HUGETLB_FLAG_MASK << GUESTMEM_HUGETLB_FLAG_SHIFT))

/*
 * In-place conversion, on the guest_memfd file, in the "1G page support for guest_memfd" RFC v2 form.
 * offset and size are bytes, page aligned, inside the file; error_offset must be 0 on input and
 * reports the first offending offset on -EAGAIN; reserved must be 0.
 */
#ifndef KVM_GMEM_CONVERT_SHARED
struct kvm_gmem_convert {
	__u64 offset;
	__u64 size;
	__u64 error_offset;
	__u64 reserved[5];
};

#define KVM_GMEM_IO			0xAF
#define KVM_GMEM_CONVERT_SHARED		_IOWR(KVM_GMEM_IO, 0x41, struct kvm_gmem_convert)
#define KVM_GMEM_CONVERT_PRIVATE	_IOWR(KVM_GMEM_IO, 0x42, struct kvm_gmem_convert)
#endif

/*
 * The same conversion in the successor series' form ("guest_memfd: In-place conversion support"), also
 * on the guest_memfd file: attributes is 0 (shared) or KVM_MEMORY_ATTRIBUTE_PRIVATE; flags and
 * reserved must be 0.
 */
#ifndef KVM_SET_MEMORY_ATTRIBUTES2
struct kvm_memory_attributes2 {
	__u64 offset;
	__u64 size;
	__u64 attributes;
	__u64 flags;
	__u64 error_offset;
	__u64 reserved[11];
};

#define KVM_SET_MEMORY_ATTRIBUTES2	_IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)
#endif

#endif /* _UAPI_LINUX_RUST_GMEM_H */
