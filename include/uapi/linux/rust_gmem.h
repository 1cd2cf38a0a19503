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
 * Capabilities (KVM_CHECK_EXTENSION), with the numbers of the kernels that define them; a kernel with
 * patches/0001-*.patch reports them while rust_gmem is loaded.
 *
 * KVM_CAP_GUEST_MEMFD_FLAGS (Linux 6.18): the GUEST_MEMFD_FLAG_* a VM's files accept (on a VM fd), or
 * any VM's (on /dev/kvm).
 * KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (Linux 7.4; 250, the number of the series' last posted
 * version): KVM_MEMORY_ATTRIBUTE_PRIVATE when files convert in place with
 * KVM_SET_MEMORY_ATTRIBUTES2 (0 on a VM without private memory, or with in-place conversion off).
 */
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS		244
#endif
#ifndef KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
#define KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES	250
#endif

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
 * rust_gmem's extension, GUEST_MEMFD_FLAG_HUGETLB: memory comes from the hugetlb pool, in pages of
 * the size whose log2 is in bits 58..63 (as MAP_HUGE_*; GUESTMEM_HUGETLB_FLAG_2MB or _1GB). The
 * file's huge pages are reserved at creation (-ENOMEM if the pool is short); its size and fallocate
 * ranges are multiples of the huge page size (-EINVAL), and so is the file offset of a memslot bound
 * to it. Needs a kernel with patches/0003-*.patch (-EOPNOTSUPP without). The size encoding is the
 * "1G page support for guest_memfd" RFC v2's; the flag is bit 57, just below it, because upstream
 * assigns guest_memfd flags from bit 0 up (MMAP 0, INIT_SHARED 1, and in posted series NO_DIRECT_MAP 2
 * and WRITE 3: the RFC's bit 2 is taken). KVM_CAP_GUEST_MEMFD_FLAGS does not report it (a flag the
 * capability reports must work alone, and this one needs a size); see Documentation/uapi.rst.
 */
#define GUEST_MEMFD_FLAG_HUGETLB	(1ULL << 57)
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
