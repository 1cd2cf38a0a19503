// SPDX-License-Identifier: GPL-2.0
/*
 * Creating guest_memfd files through /dev/guest_memfd (KVM_CREATE_GUEST_MEMFD): valid and invalid
 * arguments, the file that results, and its release. Needs rust_gmem loaded and debugfs mounted.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

static const uint64_t valid_flag_sets[] = {
	0,
	GUEST_MEMFD_FLAG_MMAP,
	GUEST_MEMFD_FLAG_INIT_SHARED,
	GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
};

/* Number of open file descriptors of this process. */
static int count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Checks that a rejected create left nothing behind: no descriptor, no inode. */
#define EXPECT_NOTHING_CREATED(fds, inodes)			\
	do {							\
		EXPECT_EQ(fds, count_fds());			\
		EXPECT_EQ(inodes, gmem_live_inodes());		\
	} while (0)

TEST(device_exists)
{
	struct stat st;

	ASSERT_EQ(0, stat(RUST_GMEM_DEVICE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 0777);
}

TEST(valid_flags)
{
	for (size_t i = 0; i < sizeof(valid_flag_sets) / sizeof(valid_flag_sets[0]); i++) {
		uint64_t flags = valid_flag_sets[i];
		const uint64_t size = 16 * PAGE_SZ;
		char text[4096], want[128];
		struct stat st;
		int fd;

		fd = gmem_create(size, flags);
		ASSERT_LE(0, fd) TH_LOG("flags %#llx: %s", (unsigned long long)flags, strerror(-fd));
		ASSERT_EQ(0, fstat(fd, &st));
		EXPECT_EQ(size, (uint64_t)st.st_size);

		/* One tree entry covers the whole file, in the initial state the flags ask for. */
		ASSERT_LT(0, gmem_debugfs(fd, text, sizeof(text)));
		EXPECT_EQ((long long)flags, debugfs_field(text, "flags"));
		EXPECT_EQ((long long)size, debugfs_field(text, "size"));
		EXPECT_EQ(1, debugfs_field(text, "entries")) TH_LOG("%s", text);
		snprintf(want, sizeof(want), "range: 0x0-0x%llx %s\n", size / PAGE_SZ - 1,
			 flags & GUEST_MEMFD_FLAG_INIT_SHARED ? "shared" : "private");
		EXPECT_NE(NULL, strstr(text, want)) TH_LOG("want '%s' in:\n%s", want, text);
		close(fd);
	}
}

TEST(unknown_flag_bits)
{
	int fds = count_fds();
	long long inodes = gmem_live_inodes();

	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;

		if (flag & RUST_GMEM_VALID_FLAGS)
			continue;
		EXPECT_EQ(-EINVAL, gmem_create(PAGE_SZ, flag)) TH_LOG("bit %d", bit);
		EXPECT_EQ(-EINVAL, gmem_create(PAGE_SZ, flag | GUEST_MEMFD_FLAG_MMAP))
			TH_LOG("bit %d with MMAP", bit);
	}
	EXPECT_NOTHING_CREATED(fds, inodes);
}

TEST(reserved_nonzero)
{
	int fds = count_fds();
	long long inodes = gmem_live_inodes();

	for (int i = 0; i < 6; i++) {
		uint64_t reserved[6] = { 0 };

		reserved[i] = 1;
		EXPECT_EQ(-EINVAL, gmem_create_raw(PAGE_SZ, 0, reserved)) TH_LOG("reserved[%d]", i);
		reserved[i] = ~0ULL;
		EXPECT_EQ(-EINVAL, gmem_create_raw(PAGE_SZ, 0, reserved)) TH_LOG("reserved[%d]", i);
	}
	EXPECT_NOTHING_CREATED(fds, inodes);
}

TEST(invalid_sizes)
{
	static const uint64_t sizes[] = {
		0, 1, PAGE_SZ - 1, PAGE_SZ + 1, 2 * PAGE_SZ - 512,
		/* Absurd: not a positive loff_t. */
		1ULL << 63, (1ULL << 63) + PAGE_SZ, ~0ULL, ~0ULL & ~(PAGE_SZ - 1),
	};
	int fds = count_fds();
	long long inodes = gmem_live_inodes();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EXPECT_EQ(-EINVAL, gmem_create(sizes[i], 0))
			TH_LOG("size %#llx", (unsigned long long)sizes[i]);
	}
	EXPECT_NOTHING_CREATED(fds, inodes);
}

TEST(large_sparse_size)
{
	/* 1 TiB: nothing is allocated at creation, so this costs one tree entry. */
	const uint64_t size = 1ULL << 40;
	char text[4096];
	struct stat st;
	int fd = gmem_create(size, GUEST_MEMFD_FLAG_MMAP);

	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(size, (uint64_t)st.st_size);
	ASSERT_LT(0, gmem_debugfs(fd, text, sizeof(text)));
	EXPECT_EQ(1, debugfs_field(text, "entries"));
	close(fd);
}

TEST(bad_pointer)
{
	int dev = open(RUST_GMEM_DEVICE, O_RDWR);

	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, ioctl(dev, KVM_CREATE_GUEST_MEMFD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(dev, KVM_CREATE_GUEST_MEMFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(dev);
}

TEST(unknown_ioctl)
{
	int dev = open(RUST_GMEM_DEVICE, O_RDWR);
	struct kvm_create_guest_memfd args = { .size = PAGE_SZ };

	ASSERT_LE(0, dev);
	/* Same number, other direction or size: a different request. */
	EXPECT_EQ(-1, ioctl(dev, _IOW(KVMIO, 0xd4, struct kvm_create_guest_memfd), &args));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, _IOWR(KVMIO, 0xd4, __u64[4]), &args));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, KVM_CREATE_VM, 0));
	EXPECT_EQ(ENOTTY, errno);
	close(dev);
}

TEST(two_creates_two_inodes)
{
	struct stat a, b;
	int fa = gmem_create(PAGE_SZ, 0);
	int fb = gmem_create(PAGE_SZ, 0);

	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, fstat(fa, &a));
	ASSERT_EQ(0, fstat(fb, &b));
	EXPECT_NE(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
	close(fa);
	close(fb);
}

TEST(fstat_reports_file)
{
	const uint64_t size = 3 * PAGE_SZ;
	struct stat st;
	int fd = gmem_create(size, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(size, (uint64_t)st.st_size);
	EXPECT_EQ(PAGE_SZ, (uint64_t)st.st_blksize);
	EXPECT_EQ(0, st.st_blocks);
	close(fd);
}

TEST(file_mode)
{
	int fd = gmem_create(PAGE_SZ, 0);
	int fl;

	ASSERT_LE(0, fd);
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	/* glibc defines O_LARGEFILE as 0 on 64-bit; the kernel's flag is 0100000 (asm-generic). */
	EXPECT_TRUE(fl & 0100000);
	/* As mainline, the descriptor is not close-on-exec. */
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(cannot_resize)
{
	const uint64_t size = 4 * PAGE_SZ;
	struct stat st;
	int fd = gmem_create(size, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ftruncate(fd, 2 * size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ftruncate(fd, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(size, (uint64_t)st.st_size);
	close(fd);
}

TEST(close_releases)
{
	long long before = gmem_live_inodes();
	int fds[8];

	ASSERT_LE(0, before);
	for (int i = 0; i < 8; i++) {
		fds[i] = gmem_create(PAGE_SZ * (i + 1), i & 1 ? GUEST_MEMFD_FLAG_MMAP : 0);
		ASSERT_LE(0, fds[i]);
	}
	EXPECT_EQ(before + 8, gmem_live_inodes());
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	EXPECT_EQ(before, gmem_live_inodes());
}

TEST(dup_keeps_file)
{
	long long before = gmem_live_inodes();
	int fd = gmem_create(PAGE_SZ, 0);
	int fd2;

	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	close(fd);
	EXPECT_EQ(before + 1, gmem_live_inodes());
	close(fd2);
	EXPECT_EQ(before, gmem_live_inodes());
}

TEST(many_files)
{
	long long before = gmem_live_inodes();
	static int fds[512];

	for (int i = 0; i < 512; i++) {
		fds[i] = gmem_create(PAGE_SZ, 0);
		ASSERT_LE(0, fds[i]) TH_LOG("file %d: %s", i, strerror(-fds[i]));
	}
	EXPECT_EQ(before + 512, gmem_live_inodes());
	for (int i = 0; i < 512; i++)
		close(fds[i]);
	EXPECT_EQ(before, gmem_live_inodes());
}

TEST(exit_releases)
{
	long long before = gmem_live_inodes();
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Leave the files open; exit must release them. */
		for (int i = 0; i < 16; i++)
			if (gmem_create(PAGE_SZ, 0) < 0)
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(before, gmem_live_inodes());
}

TEST(no_read_write)
{
	char buf[16] = { 0 };
	int fd = gmem_create(PAGE_SZ, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);

	ASSERT_LE(0, fd);
	EXPECT_GT(0, read(fd, buf, sizeof(buf)));
	EXPECT_GT(0, write(fd, buf, sizeof(buf)));
	EXPECT_GT(0, pread(fd, buf, sizeof(buf), 0));
	EXPECT_GT(0, pwrite(fd, buf, sizeof(buf), 0));
	close(fd);
}

TEST_HARNESS_MAIN
