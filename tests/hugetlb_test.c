// SPDX-License-Identifier: GPL-2.0
/*
 * GUEST_MEMFD_FLAG_HUGETLB files: creation and its checks, the pool's accounting, host faults, and
 * the split/merge of huge folios by conversions (contents kept). Each test runs for 2 MiB and 1 GiB
 * pages; a size whose pool has too few free pages is skipped, saying so (the test VM boots with
 * hugepagesz=2M hugepages=64 hugepagesz=1G hugepages=2). Needs rust_gmem loaded with
 * patches/0003-*.patch in the kernel, debugfs, and CONFIG_GUP_TEST for the pin cases.
 */
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ

FIXTURE(huge)
{
	uint64_t hsize;
	uint64_t flags;
	long long nr, free, resv;
};

FIXTURE_VARIANT(huge)
{
	uint64_t hsize;
	/* Huge pages the tests of this variant need at most. */
	long long needed;
};

FIXTURE_VARIANT_ADD(huge, h2m)
{
	.hsize = HUGE_2M,
	.needed = 4,
};

FIXTURE_VARIANT_ADD(huge, h1g)
{
	.hsize = HUGE_1G,
	.needed = 2,
};

FIXTURE_SETUP(huge)
{
	long long avail = hugetlb_available(variant->hsize);

	self->hsize = variant->hsize;
	self->flags = huge_flags(variant->hsize);
	if (!hugetlb_files_supported())
		SKIP(return, "kernel without patches/0003 (huge-page files are EOPNOTSUPP)");
	if (avail < variant->needed)
		SKIP(return, "%lld free %llu kB huge pages, %lld needed (VM memory too small?)", avail,
		     (unsigned long long)(variant->hsize >> 10), variant->needed);
	self->nr = hugetlb_pool(self->hsize, "nr_hugepages");
	self->free = hugetlb_pool(self->hsize, "free_hugepages");
	self->resv = hugetlb_pool(self->hsize, "resv_hugepages");
}

FIXTURE_TEARDOWN(huge)
{
	/* Every test gives back everything it took from the pool. */
	if (self->nr > 0) {
		EXPECT_EQ(self->nr, hugetlb_pool(self->hsize, "nr_hugepages"));
		EXPECT_EQ(self->free, hugetlb_pool(self->hsize, "free_hugepages"));
		EXPECT_EQ(self->resv, hugetlb_pool(self->hsize, "resv_hugepages"));
	}
}

#define POOL(name)	hugetlb_pool(self->hsize, name)

/*
 * The bytes the data checks cover: all of a 2 MiB page (every 64th byte), the first 16 MiB of a
 * 1 GiB page (faulting in and checking all of it takes minutes under TCG with KASAN); pages beyond
 * that are checked where a test converts them.
 */
#define DATA_SPAN	(self->hsize > (16ULL << 20) ? (16ULL << 20) : self->hsize)

static char pattern(size_t i)
{
	return (char)(i * 13 + (i >> 12) + 5);
}

TEST_F(huge, create_reserves_and_close_returns)
{
	char text[4096];
	int fd = gmem_create(2 * self->hsize, self->flags | GUEST_MEMFD_FLAG_MMAP);

	ASSERT_LE(0, fd);
	/* Reserved at creation, nothing taken yet. */
	EXPECT_EQ(self->resv + 2, POOL("resv_hugepages"));
	EXPECT_EQ(self->free, POOL("free_hugepages"));
	ASSERT_LT(0, gmem_debugfs(fd, text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, self->hsize == HUGE_2M ? "allocator: hugetlb-2M" :
							       "allocator: hugetlb-1G"));
	EXPECT_EQ((long long)self->hsize, debugfs_field(text, "huge_page_size"));
	close(fd);
	EXPECT_EQ(self->resv, POOL("resv_hugepages"));
}

TEST_F(huge, wrong_sizes_and_flags)
{
	uint64_t log_only = self->flags & ~(uint64_t)GUEST_MEMFD_FLAG_HUGETLB;
	uint64_t bad_log = GUEST_MEMFD_FLAG_HUGETLB | (22ULL << GUESTMEM_HUGETLB_FLAG_SHIFT);
	int fd;

	EXPECT_EQ(-EINVAL, gmem_create(self->hsize + PAGE, self->flags));
	EXPECT_EQ(-EINVAL, gmem_create(self->hsize / 2, self->flags));
	/* A size without the flag, the flag without a size, a size with no pool. */
	EXPECT_EQ(-EINVAL, gmem_create(self->hsize, log_only));
	EXPECT_EQ(-EINVAL, gmem_create(self->hsize, GUEST_MEMFD_FLAG_HUGETLB));
	EXPECT_EQ(-EINVAL, gmem_create(self->hsize, bad_log));
	EXPECT_EQ(self->resv, POOL("resv_hugepages"));

	/* fallocate: whole huge pages only, for allocation and punching. */
	fd = gmem_create(self->hsize, self->flags);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, PAGE, self->hsize - PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, gmem_allocated(fd));
	EXPECT_EQ(self->free, POOL("free_hugepages"));
	close(fd);
}

TEST_F(huge, pool_too_small)
{
	long long avail = hugetlb_available(self->hsize);

	EXPECT_EQ(-ENOMEM, gmem_create((avail + 1) * self->hsize, self->flags));
	/* Nothing reserved by the failed attempt. */
	EXPECT_EQ(self->resv, POOL("resv_hugepages"));
	EXPECT_EQ(self->free, POOL("free_hugepages"));
}

TEST_F(huge, accounting_fallocate_punch_close)
{
	int fd = gmem_create(2 * self->hsize, self->flags);

	ASSERT_LE(0, fd);
	EXPECT_EQ(self->resv + 2, POOL("resv_hugepages"));
	/* Taking a reserved page moves it from free+reserved to in use. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, self->hsize, self->hsize));
	EXPECT_EQ(self->free - 1, POOL("free_hugepages"));
	EXPECT_EQ(self->resv + 1, POOL("resv_hugepages"));
	EXPECT_EQ((long long)(self->hsize / PAGE), gmem_allocated(fd));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	/* Again: already there, nothing more taken. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 * self->hsize));
	EXPECT_EQ(self->free - 2, POOL("free_hugepages"));
	EXPECT_EQ(self->resv, POOL("resv_hugepages"));
	EXPECT_EQ(2, gmem_field(fd, "huge_folios"));
	/* Punching gives the page and its reservation back to the file. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, self->hsize));
	EXPECT_EQ(self->free - 1, POOL("free_hugepages"));
	EXPECT_EQ(self->resv + 1, POOL("resv_hugepages"));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	close(fd);
	/* The teardown checks that closing gave everything back. */
}

TEST_F(huge, shared_fault_splits_at_allocation)
{
	size_t size = self->hsize;
	int fd = gmem_create(size, self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem;

	ASSERT_LE(0, fd);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	/* The host maps only order-0 pages: the block is split as it is allocated. */
	EXPECT_EQ(0, mem[PAGE + 7]);
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	EXPECT_EQ(0, gmem_field(fd, "huge_folios"));
	EXPECT_EQ((long long)(size / PAGE), gmem_allocated(fd));
	EXPECT_EQ(self->free - 1, POOL("free_hugepages"));
	for (size_t i = 0; i < DATA_SPAN; i += PAGE / 2)
		mem[i] = pattern(i);
	for (size_t i = 0; i < DATA_SPAN; i += PAGE / 2) {
		ASSERT_EQ(pattern(i), mem[i]) TH_LOG("offset %zu", i);
	}
	munmap(mem, size);
	close(fd);
}

TEST_F(huge, private_page_sigbus)
{
	int fd = gmem_create(self->hsize, self->flags | GUEST_MEMFD_FLAG_MMAP);
	char *mem;

	ASSERT_LE(0, fd);
	mem = gmem_map(fd, self->hsize);
	ASSERT_NE(MAP_FAILED, mem);
	EXPECT_TRUE(READ_SIGBUSES(mem));
	EXPECT_TRUE(WRITE_SIGBUSES(mem + self->hsize - 1, 1));
	/* Nothing allocated for a refused fault. */
	EXPECT_EQ(0, gmem_allocated(fd));
	munmap(mem, self->hsize);
	close(fd);
}

/*
 * The life of one huge page: written shared (split), made private (merged), one 4 KiB page shared
 * (split, only that page mappable), private again (merged), all shared: every byte is still there.
 * Up to 5 minutes: four splits and merges of a 1 GiB page take 37 s on the debug kernel under TCG.
 */
TEST_F_TIMEOUT(huge, conversions_split_and_merge_keeping_bytes, 300)
{
	size_t size = self->hsize, mid = size / 2;
	int fd = gmem_create(size, self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	long long splits = gmem_stat("hugetlb_splits"), merges = gmem_stat("hugetlb_merges");
	char *mem;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, splits);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	for (size_t i = 0; i < DATA_SPAN; i += 64)
		mem[i] = pattern(i);
	for (size_t i = mid; i < mid + PAGE; i += 64)
		mem[i] = pattern(i);
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));

	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 1, NULL));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	EXPECT_EQ(0, gmem_field(fd, "split_blocks"));
	EXPECT_EQ(merges + 1, gmem_stat("hugetlb_merges"));
	EXPECT_TRUE(READ_SIGBUSES(mem + mid));

	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, mid, PAGE, 0, NULL));
	EXPECT_EQ(0, gmem_field(fd, "huge_folios"));
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	EXPECT_EQ(splits + 2, gmem_stat("hugetlb_splits"));
	EXPECT_EQ(3, gmem_entries(fd));
	/* Only that page is the host's. */
	for (size_t i = mid; i < mid + PAGE; i += 64) {
		ASSERT_EQ(pattern(i), mem[i]) TH_LOG("offset %zu", i);
	}
	EXPECT_TRUE(READ_SIGBUSES(mem + mid - PAGE));
	EXPECT_TRUE(READ_SIGBUSES(mem + mid + PAGE));
	mem[mid + 1] = 0x5a;

	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, mid, PAGE, 1, NULL));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	EXPECT_EQ(0, gmem_field(fd, "split_blocks"));
	EXPECT_EQ(merges + 2, gmem_stat("hugetlb_merges"));

	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 0, NULL));
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	for (size_t i = 0; i < DATA_SPAN; i += 64) {
		ASSERT_EQ(pattern(i), mem[i]) TH_LOG("offset %zu", i);
	}
	for (size_t i = mid; i < mid + PAGE; i += 64) {
		ASSERT_EQ(pattern(i), mem[i]) TH_LOG("offset %zu", i);
	}
	/* Never written: zeroed when the block was first merged. */
	EXPECT_EQ(0, mem[size - 1]);
	EXPECT_EQ(0x5a, mem[mid + 1]);
	munmap(mem, size);
	close(fd);
}

/* Pages never touched inside a block that is merged read as zeroes afterwards. */
TEST_F(huge, merge_zeroes_untouched_pages)
{
	size_t size = self->hsize;
	int fd = gmem_create(size, self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem;

	ASSERT_LE(0, fd);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem + 3 * PAGE, 0x11, PAGE);
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 1, NULL));
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 0, NULL));
	EXPECT_EQ(0x11, mem[3 * PAGE + 100]);
	EXPECT_EQ(0, mem[2 * PAGE + 100]);
	EXPECT_EQ(0, mem[size - 1]);

	/* A block none of whose pages was ever used merges unzeroed, and still reads as zeroes. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size));
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 1, NULL));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 0, NULL));
	for (size_t i = 0; i < DATA_SPAN; i += PAGE) {
		ASSERT_EQ(0, mem[i + 100]) TH_LOG("offset %zu", i + 100);
	}
	EXPECT_EQ(0, mem[size - 1]);
	munmap(mem, size);
	close(fd);
}

/*
 * A split block freed by a punch or a close goes back to the pool without being zeroed (the next
 * user zeroes it on first use): whoever gets it next reads zeroes, not the old contents.
 */
TEST_F(huge, freed_split_block_comes_back_zeroed)
{
	size_t size = self->hsize;
	uint64_t mode = self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	int fd = gmem_create(size, mode);
	char *mem;

	ASSERT_LE(0, fd);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < DATA_SPAN; i += PAGE)
			mem[i + 7] = 0x77;
		mem[size - 1] = 0x77;
		EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
		if (round == 0) {
			/* Freed by a punch, refaulted in the same file. */
			ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
					       size));
			EXPECT_EQ(0, gmem_allocated(fd));
			EXPECT_EQ(self->free, POOL("free_hugepages"));
		} else {
			/* Freed by the last close, faulted by a new file. */
			munmap(mem, size);
			close(fd);
			EXPECT_EQ(self->free, POOL("free_hugepages"));
			fd = gmem_create(size, mode);
			ASSERT_LE(0, fd);
			mem = gmem_map(fd, size);
			ASSERT_NE(MAP_FAILED, mem);
		}
		for (size_t i = 0; i < DATA_SPAN; i += PAGE) {
			ASSERT_EQ(0, mem[i + 7]) TH_LOG("round %d, offset %zu", round, i + 7);
		}
		EXPECT_EQ(0, mem[size - 1]);
	}
	/* And a merge of the refaulted block zeroes what was never touched. */
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 1, NULL));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 0, NULL));
	EXPECT_EQ(0, mem[size - PAGE + 7]);
	EXPECT_EQ(0, mem[PAGE + 7]);
	munmap(mem, size);
	close(fd);
}

/*
 * A page of a split block faulted into a locked mapping on another CPU sits in that CPU's mlock
 * batch, with a reference: a punch must drain every CPU's batches before it calls the page held,
 * and so must the last close, or the huge page could not go back to the pool (the teardown checks
 * the pool).
 */
TEST_F(huge, locked_mapping_on_other_cpu_then_punch_and_close)
{
	uint64_t mode = self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	cpu_set_t all;
	char *locked;
	int fd;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	for (int round = 0; round < 2; round++) {
		fd = gmem_create(self->hsize, mode);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, run_on_cpu(1));
		locked = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
		ASSERT_NE(MAP_FAILED, locked);
		locked[0] = 0x66;
		EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
		ASSERT_EQ(0, run_on_cpu(0));
		if (round == 0) {
			/* The punch unmaps the page and frees the block whole. */
			EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
					       self->hsize));
			EXPECT_EQ(0, gmem_allocated(fd));
		}
		munmap(locked, PAGE);
		close(fd);
		EXPECT_EQ(self->nr, POOL("nr_hugepages")) TH_LOG("round %d", round);
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

TEST_F(huge, conversion_of_unallocated_range)
{
	int fd = gmem_create(2 * self->hsize, self->flags | GUEST_MEMFD_FLAG_MMAP);
	char *mem;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, self->hsize + PAGE, PAGE, 0, NULL));
	EXPECT_EQ(0, gmem_allocated(fd));
	mem = gmem_map(fd, 2 * self->hsize);
	ASSERT_NE(MAP_FAILED, mem);
	/* Allocated split, since one of its pages is shared. */
	mem[self->hsize + PAGE] = 3;
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	EXPECT_TRUE(READ_SIGBUSES(mem + self->hsize));
	/* The other block, allocated private, stays whole. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, self->hsize));
	EXPECT_EQ(1, gmem_field(fd, "huge_folios"));
	munmap(mem, 2 * self->hsize);
	close(fd);
}

TEST_F(huge, punch_split_block_refused_while_pinned)
{
	size_t size = self->hsize;
	int fd = gmem_create(size, self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *mem;
	int pin;

	ASSERT_LE(0, fd);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x42, 4 * PAGE);
	pin = gup_pin(mem + PAGE, PAGE);
	ASSERT_LE(0, pin) TH_LOG("gup_test pin: %s (CONFIG_GUP_TEST?)", strerror(-pin));
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size));
	EXPECT_EQ(EAGAIN, errno);
	/* Nothing freed; the data is still there. */
	EXPECT_EQ((long long)(size / PAGE), gmem_allocated(fd));
	EXPECT_EQ(0x42, mem[3 * PAGE]);
	gup_unpin(pin);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size));
	EXPECT_EQ(0, gmem_allocated(fd));
	EXPECT_EQ(self->free, POOL("free_hugepages"));
	EXPECT_EQ(0, mem[3 * PAGE]);
	munmap(mem, size);
	close(fd);
}

/*
 * A page still pinned when the file goes: its huge page cannot go back to the pool whole, so the
 * pool gives it up (nr_hugepages drops by one) and the pages are freed when unpinned. The test
 * grows the pool back afterwards.
 */
TEST_F(huge, close_with_pinned_page_gives_up_the_huge_page)
{
	size_t size = self->hsize;
	long long forgotten = gmem_stat("hugetlb_forgotten");
	char path[128], num[32];
	int fd, pin, sys;
	char *mem;

	if (self->hsize != HUGE_2M)
		SKIP(return, "the pool of 1 GiB pages cannot be grown back at run time here");
	fd = gmem_create(size, self->flags | GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_LE(0, fd);
	mem = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	pin = gup_pin(mem, PAGE);
	ASSERT_LE(0, pin);
	munmap(mem, size);
	close(fd);
	EXPECT_EQ(forgotten + 1, gmem_stat("hugetlb_forgotten"));
	EXPECT_EQ(self->nr - 1, POOL("nr_hugepages"));
	EXPECT_EQ(self->free - 1, POOL("free_hugepages"));
	EXPECT_EQ(self->resv, POOL("resv_hugepages"));
	gup_unpin(pin);
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
		 (unsigned long long)(size >> 10));
	sys = open(path, O_WRONLY);
	ASSERT_LE(0, sys);
	snprintf(num, sizeof(num), "%lld", self->nr);
	ASSERT_LT(0, write(sys, num, strlen(num)));
	close(sys);
}

TEST_HARNESS_MAIN
