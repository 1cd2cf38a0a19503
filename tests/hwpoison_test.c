// SPDX-License-Identifier: GPL-2.0
/*
 * Memory failure on guest_memfd pages (madvise(MADV_HWPOISON), CONFIG_MEMORY_FAILURE): what a
 * poisoned page does to the file afterwards, for 4 KiB files and for the pages of a split huge
 * block, and memory failure racing host faults and conversions on one file.
 *
 * The semantics (Documentation/uapi.rst): a poisoned page stays in the file until it is punched;
 * host faults on it raise SIGBUS and KVM lookups fail with EHWPOISON; conversions of ranges that
 * cover it succeed (nobody can use the page either way); punching removes it, and the next use of
 * that offset gets a new zeroed page. A huge page with a poisoned page leaves the hugetlb pool when
 * punched or when the file goes (as hugetlbfs does with a poisoned huge page): its healthy pages go
 * back to the page allocator, and the file's reservation stays backed.
 *
 * Each test skips when the kernel has no CONFIG_MEMORY_FAILURE. Every poisoned page is lost to the
 * system for good, so the tests poison few pages.
 */
#include <linux/falloc.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ

/*
 * SIGBUS recovery for several threads at once: the handler is process-wide, the jump buffer
 * per thread.
 */
static __thread sigjmp_buf *thread_jmp;

static void thread_sigbus(int sig)
{
	if (thread_jmp)
		siglongjmp(*thread_jmp, 1);
	abort();
}

static void install_thread_sigbus(void)
{
	struct sigaction sa = { .sa_handler = thread_sigbus, .sa_flags = SA_NODEFER };

	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Poisons the page at p; returns 0, or -errno from madvise. The page is dirty (noop_dirty_folio()
 * sets the flag), so memory_failure() signals the caller at injection: that SIGBUS is expected.
 */
static int poison(void *p)
{
	sigjmp_buf jb;
	int r = 0;

	thread_jmp = &jb;
	if (!sigsetjmp(jb, 1))
		r = madvise(p, PAGE, MADV_HWPOISON) ? -errno : 0;
	thread_jmp = NULL;
	return r;
}

/* Whether touching p raises SIGBUS (thread-safe). */
static bool touch_sigbuses(volatile char *p)
{
	sigjmp_buf jb;
	bool bus = false;

	thread_jmp = &jb;
	if (!sigsetjmp(jb, 1))
		(void)*p;
	else
		bus = true;
	thread_jmp = NULL;
	return bus;
}

static long long meminfo_kb(const char *key)
{
	char text[8192];

	if (read_text("/proc/meminfo", text, sizeof(text)) < 0)
		return -1;
	return debugfs_field(text, key);
}

/* Skips the calling test when the kernel has no memory failure (MADV_HWPOISON is EINVAL). */
#define REQUIRE_MEMORY_FAILURE()							\
	do {										\
		if (meminfo_kb("HardwareCorrupted") < 0)				\
			SKIP(return, "kernel without CONFIG_MEMORY_FAILURE");		\
	} while (0)

/* The 2 MiB cases need huge-page files and two free 2 MiB pages besides memory failure. */
#define REQUIRE_SPLIT_BLOCK_POISON()							\
	do {										\
		REQUIRE_MEMORY_FAILURE();						\
		if (!hugetlb_files_supported())						\
			SKIP(return, "kernel without patches/0003 (no huge-page files)");	\
		if (hugetlb_available(HUGE_2M) < 2)					\
			SKIP(return, "fewer than 2 free 2 MiB huge pages");		\
	} while (0)

/* The 2 MiB pool's counters. */
static void pool_2m(long long *nr, long long *free_pages, long long *resv)
{
	*nr = hugetlb_pool(HUGE_2M, "nr_hugepages");
	*free_pages = hugetlb_pool(HUGE_2M, "free_hugepages");
	*resv = hugetlb_pool(HUGE_2M, "resv_hugepages");
}

/* A poisoned page of a 4 KiB file: conversions go on, a punch replaces it. */
TEST(order0_poisoned_page)
{
	int fd = gmem_create(4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	uint64_t error_offset = 0;
	char *p;

	REQUIRE_MEMORY_FAILURE();
	install_thread_sigbus();
	ASSERT_LE(0, fd);
	p = gmem_map(fd, 4 * PAGE);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x17, 4 * PAGE);
	ASSERT_EQ(0, poison(p + PAGE));
	EXPECT_TRUE(touch_sigbuses(p + PAGE));

	/* Converting a range over the poisoned page succeeds, both ways, and more than once. */
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, gmem_convert(fd, CONV_ATTRIBUTES2, 0, 4 * PAGE, 1, &error_offset))
			TH_LOG("conversion to private over a poisoned page, error_offset %#llx",
			       (unsigned long long)error_offset);
		EXPECT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, 4 * PAGE, 0, NULL));
	}
	/* Still poisoned in the file; the neighbours keep their data. */
	EXPECT_TRUE(touch_sigbuses(p + PAGE));
	EXPECT_EQ(0x17, p[0]);
	EXPECT_EQ(0x17, p[2 * PAGE]);
	/*
	 * A punch removes it; the offset gets a new zeroed page, which converts like any other. (The
	 * old mapping keeps its hwpoison entry for that page, as for any file: map it again.)
	 */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE, PAGE));
	munmap(p, 4 * PAGE);
	p = gmem_map(fd, 4 * PAGE);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_FALSE(touch_sigbuses(p + PAGE));
	EXPECT_EQ(0, p[PAGE]);
	EXPECT_EQ(0x17, p[2 * PAGE]);
	EXPECT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, 4 * PAGE, 1, NULL));
	munmap(p, 4 * PAGE);
	close(fd);
}

/*
 * A poisoned page of a split huge block: the host loses its mapping, conversions go on, and
 * punching the block gives up the huge page (it cannot be merged again) while keeping the file's
 * reservation backed, so the block can be allocated again.
 */
TEST(split_block_poisoned_page)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP | huge_flags(HUGE_2M);
	long long nr, free_pages, resv, corrupted;
	int fd;
	char *p;

	REQUIRE_SPLIT_BLOCK_POISON();
	install_thread_sigbus();
	pool_2m(&nr, &free_pages, &resv);
	corrupted = meminfo_kb("HardwareCorrupted");

	fd = gmem_create(HUGE_2M, flags);
	ASSERT_LE(0, fd);
	/* Page 3 shared: the block is split when it is allocated. */
	ASSERT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 3 * PAGE, PAGE, 0, NULL));
	p = gmem_map(fd, HUGE_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p + 3 * PAGE, 0x33, PAGE);
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	ASSERT_EQ(0, poison(p + 3 * PAGE));
	EXPECT_EQ(corrupted + 4, meminfo_kb("HardwareCorrupted"));

	/* The host's mapping of the poisoned page is gone: touching it faults, and SIGBUSes. */
	EXPECT_TRUE(touch_sigbuses(p + 3 * PAGE));
	/* Conversions over it succeed; the block cannot be merged, so it stays split. */
	EXPECT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 0, HUGE_2M, 1, NULL));
	EXPECT_EQ(1, gmem_field(fd, "split_blocks"));
	EXPECT_EQ(0, gmem_convert(fd, CONV_GMEM_CONVERT, 3 * PAGE, PAGE, 0, NULL));
	EXPECT_TRUE(touch_sigbuses(p + 3 * PAGE));

	/* Punching removes the block: its huge page leaves the pool, the reservation stays. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, HUGE_2M));
	EXPECT_EQ(0, gmem_allocated(fd));
	EXPECT_EQ(nr - 1, hugetlb_pool(HUGE_2M, "nr_hugepages"));
	EXPECT_EQ(resv + 1, hugetlb_pool(HUGE_2M, "resv_hugepages"));
	EXPECT_LE(hugetlb_pool(HUGE_2M, "resv_hugepages"), hugetlb_pool(HUGE_2M, "free_hugepages"));
	/* Only the poisoned 4 KiB page is lost. */
	EXPECT_EQ(corrupted + 4, meminfo_kb("HardwareCorrupted"));

	/* The block is allocated again, zeroed; page 3 is still shared and works (new mapping). */
	munmap(p, HUGE_2M);
	p = gmem_map(fd, HUGE_2M);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_FALSE(touch_sigbuses(p + 3 * PAGE));
	EXPECT_EQ(0, p[3 * PAGE]);
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, HUGE_2M));
	munmap(p, HUGE_2M);
	close(fd);
	EXPECT_EQ(nr - 1, hugetlb_pool(HUGE_2M, "nr_hugepages"));
	EXPECT_EQ(free_pages - 1, hugetlb_pool(HUGE_2M, "free_hugepages"));
	EXPECT_EQ(resv, hugetlb_pool(HUGE_2M, "resv_hugepages"));
}

/* A poisoned page of a split block when the file goes: the pool's accounting stays consistent. */
TEST(split_block_poisoned_at_close)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP | huge_flags(HUGE_2M);
	long long nr, free_pages, resv;
	int fd;
	char *p;

	REQUIRE_SPLIT_BLOCK_POISON();
	install_thread_sigbus();
	pool_2m(&nr, &free_pages, &resv);

	fd = gmem_create(HUGE_2M, flags | GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_LE(0, fd);
	p = gmem_map(fd, HUGE_2M);
	ASSERT_NE(MAP_FAILED, p);
	p[5 * PAGE] = 1;
	ASSERT_EQ(0, poison(p + 5 * PAGE));
	munmap(p, HUGE_2M);
	close(fd);
	EXPECT_EQ(nr - 1, hugetlb_pool(HUGE_2M, "nr_hugepages"));
	EXPECT_EQ(free_pages - 1, hugetlb_pool(HUGE_2M, "free_hugepages"));
	EXPECT_EQ(resv, hugetlb_pool(HUGE_2M, "resv_hugepages"));
}

/*
 * Memory failure racing host faults and conversions on one file. Memory failure holds the folio
 * lock when it tells the file, and a host fault holds the file's invalidate lock while it waits for
 * a folio lock: memory failure must not wait for the invalidate lock behind a conversion that waits
 * for that fault. A poisoner thread poisons pages (and punches them, so that there are always
 * healthy ones), two threads fault the pages in again and again, and a converter converts a range
 * back and forth. The race runs in a child: if it does not finish in time, the parent reports the
 * hang. Afterwards another memory failure, in a new process, must complete too.
 */
#define RACE_PAGES	64
#define RACE_POISONS	96
#define RACE_SECONDS	4
#define RACE_DEADLINE	60

struct race {
	int fd;
	char *mem;
	volatile bool stop;
	unsigned long poisons, faults, conversions, busy;
};

static void *race_poisoner(void *arg)
{
	struct race *r = arg;

	for (unsigned long i = 0; !r->stop && r->poisons < RACE_POISONS; i++) {
		/* Pages in the shared half only: the converter uses the other. */
		uint64_t page = i % (RACE_PAGES / 2);

		if (poison(r->mem + page * PAGE) == 0)
			r->poisons++;
		if (fallocate(r->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, page * PAGE, PAGE))
			abort();
		usleep(1000);
	}
	return NULL;
}

static void *race_faulter(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		madvise(r->mem, RACE_PAGES / 2 * PAGE, MADV_DONTNEED);
		for (uint64_t page = 0; page < RACE_PAGES / 2; page++)
			if (!touch_sigbuses(r->mem + page * PAGE))
				r->faults++;
	}
	return NULL;
}

static void *race_converter(void *arg)
{
	struct race *r = arg;
	uint64_t half = RACE_PAGES / 2 * PAGE;

	while (!r->stop) {
		int ret = gmem_convert(r->fd, CONV_GMEM_CONVERT, half, half, 1, NULL);

		if (ret == -EAGAIN)
			r->busy++;
		else if (ret)
			abort();
		if (gmem_convert(r->fd, CONV_GMEM_CONVERT, half, half, 0, NULL))
			abort();
		r->conversions++;
	}
	return NULL;
}

static int run_race(void)
{
	struct race r = { 0 };
	pthread_t threads[4];
	struct timespec t0, t;

	install_thread_sigbus();
	r.fd = gmem_create(RACE_PAGES * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	if (r.fd < 0)
		return 1;
	r.mem = gmem_map(r.fd, RACE_PAGES * PAGE);
	if (r.mem == MAP_FAILED)
		return 1;
	pthread_create(&threads[0], NULL, race_poisoner, &r);
	pthread_create(&threads[1], NULL, race_faulter, &r);
	pthread_create(&threads[2], NULL, race_faulter, &r);
	pthread_create(&threads[3], NULL, race_converter, &r);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < RACE_SECONDS && r.poisons < RACE_POISONS);
	r.stop = true;
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	printf("# race: %lu poisoned pages, %lu faults, %lu conversions (%lu EAGAIN)\n", r.poisons,
	       r.faults, r.conversions, r.busy);
	return r.poisons && r.faults && r.conversions ? 0 : 1;
}

/* One memory failure on a new file, in a new process. */
static int one_memory_failure(void)
{
	int fd = gmem_create(PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p;

	install_thread_sigbus();
	if (fd < 0)
		return 1;
	p = gmem_map(fd, PAGE);
	if (p == MAP_FAILED)
		return 1;
	p[0] = 1;
	return poison(p) ? 1 : 0;
}

static void write_sysrq_w(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "w", 1) != 1)
			perror("sysrq");
		close(fd);
	}
}

/* Runs fn in a child; returns its exit status, or -1 if it did not finish within `deadline`. */
static int run_with_deadline(int (*fn)(void), int deadline)
{
	pid_t child = fork();
	int status;

	if (child == 0)
		exit(fn());
	for (int i = 0; i < deadline * 10; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(100000);
	}
	/* Hung: the blocked tasks' stacks go to the kernel log. */
	write_sysrq_w();
	return -1;
}

/* 6.12's harness has a timeout only for fixture tests. */
FIXTURE(race) {};
FIXTURE_SETUP(race) {}
FIXTURE_TEARDOWN(race) {}

TEST_F_TIMEOUT(race, memory_failure_vs_faults_and_conversions, 2 * RACE_DEADLINE + 30)
{
	REQUIRE_MEMORY_FAILURE();
	ASSERT_EQ(0, run_with_deadline(run_race, RACE_DEADLINE))
		TH_LOG("memory failure racing faults and conversions: -1 means no progress (hang)");
	ASSERT_EQ(0, run_with_deadline(one_memory_failure, RACE_DEADLINE))
		TH_LOG("a later memory failure: -1 means it hung");
}

TEST_HARNESS_MAIN
