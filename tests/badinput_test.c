// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: every request of the module with bad pointers, wrong sizes and directions, reserved
 * fields set, overflowing ranges, on the wrong kind of file, and other modules' requests on ours.
 * Each must fail with its errno and change nothing (checked through debugfs). Needs rust_gmem.
 */
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ

/* Bad requests made by the test that is running, reported at its end. */
static int tried;
#define BAD(call) (tried++, (call))

/* Every request number the module serves, and variants of each that must not match. */
static const unsigned long gmem_file_cmds[] = {
	KVM_GMEM_CONVERT_SHARED, KVM_GMEM_CONVERT_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2,
};

/* The same number with another size or direction: a different request. */
static unsigned long other_shape(unsigned long cmd, int which)
{
	unsigned long nr = _IOC_NR(cmd), type = _IOC_TYPE(cmd), size = _IOC_SIZE(cmd);

	switch (which) {
	case 0: return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size - 8);	/* short */
	case 1: return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size + 8);	/* oversized */
	case 2: return _IOC(_IOC_WRITE, type, nr, size);			/* write only */
	case 3: return _IOC(_IOC_READ, type, nr, size);				/* read only */
	default: return _IOC(_IOC_NONE, type, nr, 0);
	}
}

FIXTURE(bad)
{
	int fd;
	char *mem;
	char before[8192];
	long long inodes;
};

FIXTURE_SETUP(bad)
{
	self->fd = gmem_create(8 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_LE(0, self->fd);
	self->mem = gmem_map(self->fd, 8 * PAGE);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0x3c, 2 * PAGE);
	ASSERT_EQ(0, gmem_convert(self->fd, CONV_GMEM_CONVERT, 4 * PAGE, 2 * PAGE, 1, NULL));
	ASSERT_LT(0, gmem_debugfs(self->fd, self->before, sizeof(self->before)));
	self->inodes = gmem_live_inodes();
}

FIXTURE_TEARDOWN(bad)
{
	char after[8192];

	/* Nothing changed: the tree, the allocation, the data, the number of files. */
	EXPECT_LT(0, gmem_debugfs(self->fd, after, sizeof(after)));
	EXPECT_STREQ(self->before, after);
	EXPECT_EQ(0x3c, self->mem[PAGE + 5]);
	EXPECT_EQ(self->inodes, gmem_live_inodes());
	munmap(self->mem, 8 * PAGE);
	close(self->fd);
	TH_LOG("bad inputs tried: %d", tried);
}

TEST_F(bad, bad_pointers)
{
	static void *const ptrs[] = { NULL, (void *)1, (void *)4095, (void *)-4096L, (void *)0xffff800000000000UL };

	for (size_t c = 0; c < 3; c++) {
		for (size_t p = 0; p < sizeof(ptrs) / sizeof(ptrs[0]); p++) {
			EXPECT_EQ(-1, BAD(ioctl(self->fd, gmem_file_cmds[c], ptrs[p])));
			EXPECT_EQ(EFAULT, errno) TH_LOG("cmd %#lx ptr %p", gmem_file_cmds[c], ptrs[p]);
		}
	}
}

TEST_F(bad, struct_in_read_only_memory)
{
	/* Readable but not writable: fine until the kernel must write error_offset back. */
	struct kvm_gmem_convert *args = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pin;

	ASSERT_NE(MAP_FAILED, args);
	args->offset = 0;
	args->size = PAGE;
	ASSERT_EQ(0, mprotect(args, PAGE, PROT_READ));
	pin = gup_pin(self->mem, PAGE);
	ASSERT_LE(0, pin);
	EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_GMEM_CONVERT_PRIVATE, args)));
	EXPECT_EQ(EFAULT, errno);
	gup_unpin(pin);
	munmap(args, PAGE);
}

TEST_F(bad, wrong_sizes_and_directions)
{
	char buf[256] = { 0 };

	for (size_t c = 0; c < 3; c++) {
		for (int w = 0; w < 5; w++) {
			EXPECT_EQ(-1, BAD(ioctl(self->fd, other_shape(gmem_file_cmds[c], w), buf)));
			EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx shape %d", gmem_file_cmds[c], w);
		}
	}
	for (int w = 0; w < 5; w++) {
		int dev = open(RUST_GMEM_DEVICE, O_RDWR);

		ASSERT_LE(0, dev);
		EXPECT_EQ(-1, BAD(ioctl(dev, other_shape(KVM_CREATE_GUEST_MEMFD, w), buf)));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("create shape %d", w);
		close(dev);
	}
}

TEST_F(bad, every_reserved_word)
{
	for (int i = 0; i < 5; i++) {
		struct kvm_gmem_convert a = { .size = PAGE };

		a.reserved[i] = ~0ULL;
		EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_GMEM_CONVERT_PRIVATE, &a)));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_GMEM_CONVERT_SHARED, &a)));
		EXPECT_EQ(EINVAL, errno);
	}
	for (int i = 0; i < 11; i++) {
		struct kvm_memory_attributes2 a = { .size = PAGE };

		a.reserved[i] = 1ULL << (i * 5);
		EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a)));
		EXPECT_EQ(EINVAL, errno);
	}
	for (int bit = 0; bit < 64; bit++) {
		struct kvm_memory_attributes2 a = { .size = PAGE, .flags = 1ULL << bit };

		EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags bit %d", bit);
		a.flags = 0;
		a.attributes = 1ULL << bit;
		if (a.attributes == KVM_MEMORY_ATTRIBUTE_PRIVATE)
			continue;
		EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("attributes bit %d", bit);
	}
}

TEST_F(bad, overflowing_ranges)
{
	static const uint64_t offsets[] = { 0, PAGE, 7 * PAGE, 8 * PAGE, 1ULL << 62, ~0ULL & ~(PAGE - 1) };
	static const uint64_t sizes[] = { 9 * PAGE, 1ULL << 62, ~0ULL & ~(PAGE - 1), (1ULL << 63) };

	for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (int form = 0; form < 2; form++) {
				EXPECT_EQ(-EINVAL, BAD(gmem_convert(self->fd, form, offsets[o], sizes[s], 1, NULL)))
					TH_LOG("offset %#llx size %#llx", (unsigned long long)offsets[o],
					       (unsigned long long)sizes[s]);
			}
		}
	}
	/* fallocate: the VFS rejects negative and overflowing values itself. */
	EXPECT_EQ(-1, BAD(fallocate(self->fd, FALLOC_FL_KEEP_SIZE, -PAGE, PAGE)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, BAD(fallocate(self->fd, FALLOC_FL_KEEP_SIZE, PAGE, -PAGE)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, BAD(fallocate(self->fd, FALLOC_FL_KEEP_SIZE, 0x7ffffffffffff000LL, 0x7ffffffffffff000LL)));
	EXPECT_EQ(EFBIG, errno);
}

TEST_F(bad, module_requests_on_other_files)
{
	struct kvm_gmem_convert c = { .size = PAGE };
	struct kvm_create_guest_memfd g = { .size = PAGE };
	int memfd = syscall(SYS_memfd_create, "x", 0);
	int dev = open(RUST_GMEM_DEVICE, O_RDWR);
	int null = open("/dev/null", O_RDWR);

	ASSERT_LE(0, memfd);
	ASSERT_LE(0, dev);
	ASSERT_LE(0, null);
	ASSERT_EQ(0, ftruncate(memfd, PAGE));
	/* Conversion requests on a memfd, /dev/null and the device. */
	for (size_t c2 = 0; c2 < 3; c2++) {
		EXPECT_EQ(-1, BAD(ioctl(memfd, gmem_file_cmds[c2], &c)));
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1, BAD(ioctl(dev, gmem_file_cmds[c2], &c)));
		EXPECT_EQ(ENOTTY, errno);
	}
	/* The create request on a guest_memfd file and on a memfd. */
	EXPECT_EQ(-1, BAD(ioctl(self->fd, KVM_CREATE_GUEST_MEMFD, &g)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, BAD(ioctl(memfd, KVM_CREATE_GUEST_MEMFD, &g)));
	EXPECT_EQ(ENOTTY, errno);
	close(memfd);
	close(dev);
	close(null);
}

TEST_F(bad, other_modules_requests_on_ours)
{
	/* Requests of memfd/shmem, KVM and generic file ioctls on a guest_memfd file. */
	static const unsigned long cmds[] = {
		KVM_CREATE_VM, KVM_GET_API_VERSION, KVM_SET_USER_MEMORY_REGION, KVM_SET_MEMORY_ATTRIBUTES,
		KVM_CREATE_GUEST_MEMFD, _IO('f', 1), 0,
	};
	char buf[256] = { 0 };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-1, BAD(ioctl(self->fd, cmds[i], buf)));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
	}
	/* F_ADD_SEALS is memfd's; a guest_memfd cannot be sealed. */
	EXPECT_EQ(-1, BAD(fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE)));
	EXPECT_EQ(EINVAL, errno);
	/* No llseek, as mainline: the file has no position. */
	EXPECT_EQ(-1, BAD(lseek(self->fd, PAGE, SEEK_SET)));
	EXPECT_EQ(ESPIPE, errno);
}

TEST_F(bad, absurd_creates)
{
	static const uint64_t sizes[] = { 0, 1, PAGE - 1, 1ULL << 63, ~0ULL, ~0ULL << 12, (1ULL << 63) + PAGE };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int bit = -1; bit < 64; bit += 7) {
			uint64_t flags = bit < 0 ? 0 : 1ULL << bit;

			EXPECT_EQ(-EINVAL, BAD(gmem_create(sizes[i], flags)))
				TH_LOG("size %#llx flags %#llx", (unsigned long long)sizes[i], (unsigned long long)flags);
		}
	}
}

TEST_F(bad, bad_mmaps)
{
	/* Offsets past the file are allowed to map (as mainline) but fault with SIGBUS. */
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 64 * PAGE);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(READ_SIGBUSES(p));
	munmap(p, PAGE);
	EXPECT_EQ(MAP_FAILED, BAD(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 1)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, BAD(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, self->fd, 0)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
