/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rust_gmem kselftests: creating guest_memfd files through /dev/guest_memfd and
 * reading the module's debugfs views.
 */
#ifndef RUST_GMEM_UTIL_H
#define RUST_GMEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/rust_gmem.h>

#define GMEM_DEBUGFS	"/sys/kernel/debug/rust_gmem"
/* f_type of rust_gmem files (their pseudo-filesystem's magic, "RGMM"). */
#define RUST_GMEM_FS_MAGIC	0x52474d4d
#define PAGE_SZ		4096ULL

/* Returns a new guest_memfd, or -errno. */
static inline int gmem_create_raw(uint64_t size, uint64_t flags, const uint64_t reserved[6])
{
	struct kvm_create_guest_memfd args = { .size = size, .flags = flags };
	int dev, fd, err;

	if (reserved)
		memcpy(args.reserved, reserved, sizeof(args.reserved));
	dev = open(RUST_GMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	fd = ioctl(dev, KVM_CREATE_GUEST_MEMFD, &args);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static inline int gmem_create(uint64_t size, uint64_t flags)
{
	return gmem_create_raw(size, flags, NULL);
}

/* Reads a whole (small) file into buf; returns its length or -errno. */
static inline ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* Returns the value after "key: " in a debugfs text, or -1. */
static inline long long debugfs_field(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s: ", key);
	for (p = text; (p = strstr(p, pat)); p++)
		if (p == text || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, 0);
	return -1;
}

/* Live guest_memfd inodes according to the module. */
static inline long long gmem_live_inodes(void)
{
	char buf[256];

	if (read_text(GMEM_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return debugfs_field(buf, "inodes");
}

/* Reads the debugfs view of the guest_memfd open as fd. */
static inline ssize_t gmem_debugfs(int fd, char *buf, size_t len)
{
	char path[128];
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	snprintf(path, sizeof(path), GMEM_DEBUGFS "/%llu", (unsigned long long)st.st_ino);
	return read_text(path, buf, len);
}

/* Maps the whole file shared, read-write; MAP_FAILED on error. */
static inline char *gmem_map(int fd, size_t size)
{
	return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

/*
 * SIGBUS probing: access(p) returns 1 if touching p raised SIGBUS, 0 if the access completed. The
 * handler jumps back out of the faulting instruction (the KVM selftests' TEST_EXPECT_SIGBUS pattern).
 */
static sigjmp_buf gmem_sigbus_jmp;

static void gmem_sigbus_handler(int sig)
{
	siglongjmp(gmem_sigbus_jmp, 1);
}

static inline int sigbus_on(void (*access)(volatile char *p, char v), volatile char *p, char v)
{
	struct sigaction sa = { .sa_handler = gmem_sigbus_handler }, old;
	volatile int hit = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(gmem_sigbus_jmp, 1) == 0)
		access(p, v);
	else
		hit = 1;
	sigaction(SIGBUS, &old, NULL);
	return hit;
}

static inline void do_read(volatile char *p, char v)
{
	(void)*p;
}

static inline void do_write(volatile char *p, char v)
{
	*p = v;
}

#define READ_SIGBUSES(p)	sigbus_on(do_read, (volatile char *)(p), 0)
#define WRITE_SIGBUSES(p, v)	sigbus_on(do_write, (volatile char *)(p), (v))

/* The two uAPI forms of a conversion. */
enum conv_form { CONV_GMEM_CONVERT, CONV_ATTRIBUTES2 };

/*
 * Converts [offset, offset + size) of fd; returns 0 or -errno. *error_offset (if given) receives
 * what the kernel wrote back.
 */
static inline int gmem_convert(int fd, enum conv_form form, uint64_t offset, uint64_t size,
			       int to_private, uint64_t *error_offset)
{
	int ret, err;

	if (form == CONV_GMEM_CONVERT) {
		struct kvm_gmem_convert args = { .offset = offset, .size = size };

		ret = ioctl(fd, to_private ? KVM_GMEM_CONVERT_PRIVATE : KVM_GMEM_CONVERT_SHARED, &args);
		err = errno;
		if (error_offset)
			*error_offset = args.error_offset;
	} else {
		struct kvm_memory_attributes2 args = {
			.offset = offset,
			.size = size,
			.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
		};

		ret = ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, &args);
		err = errno;
		if (error_offset)
			*error_offset = args.error_offset;
	}
	return ret ? -err : 0;
}

/* Number of maple-tree entries of the file, from debugfs; -1 on error. */
static inline long long gmem_entries(int fd)
{
	static char text[1 << 16];

	if (gmem_debugfs(fd, text, sizeof(text)) < 0)
		return -1;
	return debugfs_field(text, "entries");
}

/* Moves the calling thread to `cpu` alone; 0 or -1 (errno set). */
static inline int run_on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Nodes of the file's shareability tree (its exact count, from debugfs); -1 on error. */
static inline long long gmem_tree_nodes(int fd)
{
	static char text[1 << 16];

	if (gmem_debugfs(fd, text, sizeof(text)) < 0)
		return -1;
	return debugfs_field(text, "tree_nodes");
}

/* Pages in the file's page cache, from debugfs; -1 on error. */
static inline long long gmem_allocated(int fd)
{
	static char text[1 << 16];

	if (gmem_debugfs(fd, text, sizeof(text)) < 0)
		return -1;
	return debugfs_field(text, "allocated_pages");
}

/*
 * Long-term pins through CONFIG_GUP_TEST (mm/gup_test.h): one pinned range at a time, held until
 * gup_unpin() or until the returned descriptor is closed.
 */
struct gmem_pin_longterm_test {
	__u64 addr;
	__u64 size;
	__u32 flags;
};
#define GMEM_PIN_LONGTERM_TEST_START	_IOW('g', 7, struct gmem_pin_longterm_test)
#define GMEM_PIN_LONGTERM_TEST_STOP	_IO('g', 8)
#define GUP_TEST_PATH			"/sys/kernel/debug/gup_test"

/* Pins [addr, addr + size); returns the gup_test descriptor or -errno. */
static inline int gup_pin(void *addr, size_t size)
{
	struct gmem_pin_longterm_test args = { .addr = (uintptr_t)addr, .size = size };
	int fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, GMEM_PIN_LONGTERM_TEST_START, &args)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static inline void gup_unpin(int fd)
{
	ioctl(fd, GMEM_PIN_LONGTERM_TEST_STOP);
	close(fd);
}

/* Huge page sizes of GUEST_MEMFD_FLAG_HUGETLB files. */
#define HUGE_2M		(2ULL << 20)
#define HUGE_1G		(1ULL << 30)

/* GUEST_MEMFD_FLAG_HUGETLB with the page size encoded (0 for a 4 KiB file). */
static inline uint64_t huge_flags(uint64_t huge_size)
{
	if (huge_size <= PAGE_SZ)
		return 0;
	return GUEST_MEMFD_FLAG_HUGETLB |
	       ((uint64_t)__builtin_ctzll(huge_size) << GUESTMEM_HUGETLB_FLAG_SHIFT);
}

/* A counter of the hugetlb pool of huge_size pages (nr_hugepages, free_hugepages, ...), or -1. */
static inline long long hugetlb_pool(uint64_t huge_size, const char *counter)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
		 (unsigned long long)(huge_size >> 10), counter);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 0);
}

/* Whether the module can make huge-page files (a kernel with patches/0003-*.patch). */
static inline int hugetlb_files_supported(void)
{
	int fd = gmem_create(HUGE_2M, huge_flags(HUGE_2M));

	if (fd >= 0)
		close(fd);
	return fd != -EOPNOTSUPP;
}

/* Huge pages of the pool that a new file can still reserve. */
static inline long long hugetlb_available(uint64_t huge_size)
{
	return hugetlb_pool(huge_size, "free_hugepages") - hugetlb_pool(huge_size, "resv_hugepages");
}

/* A numeric field of the file's debugfs view, or -1. */
static inline long long gmem_field(int fd, const char *key)
{
	static char text[1 << 16];

	if (gmem_debugfs(fd, text, sizeof(text)) < 0)
		return -1;
	return debugfs_field(text, key);
}

/* A module-wide counter from debugfs' stats, or -1. */
static inline long long gmem_stat(const char *key)
{
	char buf[512];

	if (read_text(GMEM_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return debugfs_field(buf, key);
}

#endif /* RUST_GMEM_UTIL_H */
