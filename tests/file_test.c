// SPDX-License-Identifier: GPL-2.0
/*
 * The guest_memfd file: fallocate (mainline's cases and more), mmap and host faults gated by
 * shareability. Needs rust_gmem loaded and debugfs mounted.
 */
#include <linux/falloc.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* glibc 2.36 lacks it; the kernel has it since 6.1 */
#endif

static const size_t size4 = 4 * PAGE;

/* mainline guest_memfd_test.c test_fallocate(), call by call. */
TEST(fallocate_mainline_sequence)
{
	int fd = gmem_create(size4, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size4));
	EXPECT_EQ(4, gmem_allocated(fd));
	EXPECT_NE(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE - 1, PAGE));
	EXPECT_NE(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, size4, PAGE));
	EXPECT_NE(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, size4 + PAGE, PAGE));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, size4, PAGE));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, size4 + PAGE, PAGE));
	EXPECT_NE(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE, PAGE - 1));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE, PAGE));
	EXPECT_EQ(3, gmem_allocated(fd));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, PAGE, PAGE));
	EXPECT_EQ(4, gmem_allocated(fd));
	close(fd);
}

/* mainline test_invalid_punch_hole(). */
TEST(invalid_punch_hole)
{
	static const struct { uint64_t offset, len; } cases[] = {
		{ 0, 1 }, { 0, PAGE - 1 }, { 0, PAGE + 1 }, { 1, 1 }, { 1, PAGE - 1 },
		{ 1, PAGE }, { 1, PAGE + 1 }, { PAGE, 1 }, { PAGE, PAGE - 1 }, { PAGE, PAGE + 1 },
	};
	int fd = gmem_create(size4, 0);

	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					cases[i].offset, cases[i].len));
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %zu", i);
	}
	close(fd);
}

TEST(unaligned_allocate)
{
	int fd = gmem_create(size4, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 1, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, PAGE - 1, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, gmem_allocated(fd));
	close(fd);
}

TEST(unsupported_modes)
{
	static const int modes[] = {
		0, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE | FALLOC_FL_UNSHARE_RANGE,
	};
	struct stat st;
	int fd = gmem_create(size4, 0);

	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		EXPECT_EQ(-1, fallocate(fd, modes[i], 0, PAGE));
		EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("mode %#x", modes[i]);
	}
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(size4, (size_t)st.st_size);
	EXPECT_EQ(0, gmem_allocated(fd));
	close(fd);
}

TEST(past_eof)
{
	int fd = gmem_create(size4, 0);

	ASSERT_LE(0, fd);
	/* Allocation must stay inside the file, also partly. */
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 3 * PAGE, 2 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 1ULL << 40, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, gmem_allocated(fd));
	/* Punching past the end succeeds, as in mainline, and frees what is inside. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size4));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 2 * PAGE, 1ULL << 40));
	EXPECT_EQ(2, gmem_allocated(fd));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 1ULL << 40, PAGE));
	close(fd);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

TEST(signal_interrupts_allocate)
{
	/* 1 GiB: far longer to allocate than the timer below, in a VM with 2 GiB. */
	const size_t size = 1ULL << 30;
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };
	long long allocated;
	int fd = gmem_create(size, 0), ret, err;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ret = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size);
	err = errno;
	signal(SIGALRM, SIG_DFL);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINTR, err);
	EXPECT_EQ(1, alarms);
	/* What was allocated before the signal stays, as in mainline; punching frees it. */
	allocated = gmem_allocated(fd);
	EXPECT_LT(0, allocated);
	EXPECT_GT((long long)(size / PAGE), allocated);
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size));
	EXPECT_EQ(0, gmem_allocated(fd));
	close(fd);
}

TEST(punch_keeps_shareability)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char text[4096], after[4096];
	char *p;

	ASSERT_LE(0, fd);
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xaa, size4);
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 2 * PAGE, PAGE, 1, NULL));
	ASSERT_LT(0, gmem_debugfs(fd, text, sizeof(text)));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size4));
	EXPECT_EQ(0, gmem_allocated(fd));
	/* The tree is exactly as before the punch. */
	ASSERT_LT(0, gmem_debugfs(fd, after, sizeof(after)));
	EXPECT_STREQ(strstr(text, "entries:"), strstr(after, "entries:"));
	/* Shared pages refault zeroed, the private one still faults. */
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[PAGE + 5]);
	EXPECT_EQ(0, p[3 * PAGE]);
	EXPECT_TRUE(READ_SIGBUSES(p + 2 * PAGE));
	/* And after converting back it is zeroed too: the punch freed it. */
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 2 * PAGE, PAGE, 0, NULL));
	for (size_t i = 0; i < PAGE; i++) {
		ASSERT_EQ(0, p[2 * PAGE + i]) TH_LOG("byte %zu", i);
	}
	munmap(p, size4);
	close(fd);
}

TEST(mmap_needs_flag)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_INIT_SHARED);

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

TEST(mmap_private_refused)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size4, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size4, PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(shared_read_write)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p, *q;

	ASSERT_LE(0, fd);
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	/* First touch is zero-filled. */
	for (size_t i = 0; i < size4; i++) {
		ASSERT_EQ(0, p[i]) TH_LOG("byte %zu", i);
	}
	EXPECT_EQ(4, gmem_allocated(fd));
	memset(p, 0xaa, size4);
	/* A second mapping sees the same pages. */
	q = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, q);
	for (size_t i = 0; i < size4; i++) {
		ASSERT_EQ((char)0xaa, q[i]) TH_LOG("byte %zu", i);
	}
	munmap(p, size4);
	munmap(q, size4);
	/* The data outlives the mappings. */
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ((char)0xaa, p[size4 - 1]);
	munmap(p, size4);
	close(fd);
}

TEST(fallocate_then_fault)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size4));
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	/* Allocated pages are zeroed too. */
	for (size_t i = 0; i < size4; i++) {
		ASSERT_EQ(0, p[i]) TH_LOG("byte %zu", i);
	}
	EXPECT_EQ(4, gmem_allocated(fd));
	munmap(p, size4);
	close(fd);
}

TEST(private_page_sigbus)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP);
	char *p;

	ASSERT_LE(0, fd);
	/* mmap of a private file works; touching it does not. */
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t i = 0; i < 4; i++) {
		EXPECT_TRUE(READ_SIGBUSES(p + i * PAGE));
		EXPECT_TRUE(WRITE_SIGBUSES(p + i * PAGE, 1));
	}
	/* No memory was allocated for the failed faults. */
	EXPECT_EQ(0, gmem_allocated(fd));
	munmap(p, size4);
	close(fd);
}

TEST(fault_past_eof)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p;

	ASSERT_LE(0, fd);
	/* mainline test_fault_overflow(): map 4x the file. */
	p = mmap(NULL, 4 * size4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xaa, size4);
	EXPECT_TRUE(READ_SIGBUSES(p + size4));
	EXPECT_TRUE(WRITE_SIGBUSES(p + 2 * size4 + 7, 1));
	EXPECT_TRUE(READ_SIGBUSES(p + 4 * size4 - 1));
	for (size_t i = 0; i < size4; i++) {
		ASSERT_EQ((char)0xaa, p[i]);
	}
	munmap(p, 4 * size4);
	close(fd);
}

TEST(mmap_offset)
{
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p, *q;

	ASSERT_LE(0, fd);
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	for (int i = 0; i < 4; i++)
		p[i * PAGE] = 'a' + i;
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ('c', q[0]);
	munmap(q, PAGE);
	munmap(p, size4);
	close(fd);
}

/* syzbot 33a04338019ac7e43a44: no huge folio may get into a 4 KiB guest_memfd. */
TEST(madv_collapse_refused)
{
	const size_t pmd = 2ULL << 20;
	int fd = gmem_create(pmd, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *reserve, *p;

	ASSERT_LE(0, fd);
	reserve = mmap(NULL, 2 * pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, reserve);
	p = (char *)(((uintptr_t)reserve + pmd - 1) & ~(pmd - 1));
	ASSERT_EQ(p, mmap(p, pmd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0));
	for (size_t i = 0; i < pmd; i += PAGE)
		(void)*(volatile char *)(p + i);
	EXPECT_EQ(0, madvise(p, pmd, MADV_HUGEPAGE));
	EXPECT_EQ(-1, madvise(p, pmd, MADV_COLLAPSE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, madvise(p, pmd, MADV_DONTNEED));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(512, gmem_allocated(fd));
	munmap(reserve, 2 * pmd);
	close(fd);
}

TEST(close_while_mapped)
{
	long long before = gmem_live_inodes();
	int fd = gmem_create(size4, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p;

	ASSERT_LE(0, fd);
	p = gmem_map(fd, size4);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	/* The mapping keeps the file. */
	memset(p, 0x55, size4);
	EXPECT_EQ(0x55, p[size4 - 1]);
	EXPECT_EQ(before + 1, gmem_live_inodes());
	munmap(p, size4);
	EXPECT_EQ(before, gmem_live_inodes());
}

TEST_HARNESS_MAIN
