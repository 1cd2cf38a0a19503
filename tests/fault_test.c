// SPDX-License-Identifier: GPL-2.0
/*
 * Failing allocations and memory failure. With failslab and fail_page_alloc (debug kernel), each
 * operation runs many times with at most one of its allocations failing, at a random point (the
 * per-allocation probability varies from run to run so that early and late allocations both get
 * hit): it must fail with ENOMEM (a fault must not break anything and succeed on retry) and leave
 * the file consistent. MADV_HWPOISON must behave as mainline guest_memfd. Skipped where the kernel
 * lacks them.
 *
 * (Not "fail the n-th allocation" with `interval`: its counter is global and never reset, so the
 * n-th failing call is not the n-th of the operation.)
 */
#include <linux/falloc.h>
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ
#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc"
#define RUNS		160	/* per operation and injector */

static int put(const char *dir, const char *attr, const char *value)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -EIO;
}

/*
 * The control files written while injection is armed are opened beforehand: opening a file
 * allocates, and those allocations would be counted (and failed) instead of the operation's.
 */
static int mif_fd = -1, times_fd = -1;

static int pput(int fd, const char *value)
{
	return pwrite(fd, value, strlen(value), 0) == (ssize_t)strlen(value) ? 0 : -1;
}

/*
 * Sets up `dir` to fail at most one allocation of this task (and no other task), each with the given
 * probability in percent. The filter goes first and `times` last: until then nothing may fail, or
 * another task (or this very write) takes the failure.
 */
static int arm(const char *dir, int percent)
{
	char v[16], path[128];

	snprintf(v, sizeof(v), "%d", percent);
	if (put(dir, "times", "0") || put(dir, "task-filter", "Y") || put(dir, "verbose", "0") ||
	    put(dir, "ignore-gfp-wait", "N") || put(dir, "interval", "1") || put(dir, "probability", v))
		return -1;
	if (!strcmp(dir, FAIL_PAGE_ALLOC) && (put(dir, "ignore-gfp-highmem", "N") || put(dir, "min-order", "0")))
		return -1;
	if (mif_fd < 0)
		mif_fd = open("/proc/self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (times_fd >= 0)
		close(times_fd);
	snprintf(path, sizeof(path), "%s/times", dir);
	times_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (mif_fd < 0 || times_fd < 0 || pput(mif_fd, "1"))
		return -1;
	/* debugfs attribute files are not seekable: write(), not pwrite(). */
	return write(times_fd, "1", 1) == 1 ? 0 : -1;
}

/* Stops injecting; returns whether the armed failure happened. */
static int disarm(const char *dir)
{
	char path[128], buf[16];

	pput(mif_fd, "0");
	/* Nothing fails any more, so the file can be opened again to read it. */
	snprintf(path, sizeof(path), "%s/times", dir);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 0) == 0;
}

/* Whether the tree covers pages 0..pages-1 exactly, from the debugfs ranges. */
static int tree_covers(int fd, unsigned long pages)
{
	static char text[1 << 16];
	unsigned long first, last, next = 0;
	char *p;

	if (gmem_debugfs(fd, text, sizeof(text)) < 0)
		return 0;
	for (p = strstr(text, "range: "); p; p = strstr(p + 1, "range: ")) {
		if (sscanf(p, "range: %lx-%lx", &first, &last) != 2 || first != next)
			return 0;
		next = last + 1;
	}
	return next == pages;
}

/*
 * Runs `op` RUNS times with `dir` armed, at probabilities from 50% down to about 1%; `points` counts
 * the runs in which a failure was injected. At least one must have been, unless `optional` (see
 * inject.create).
 */
#define SWEEP_OPT(dir, optional, setup, op, check)					\
	do {										\
		int n, injected, before = points;					\
		for (n = 0; n < RUNS; n++) {						\
			setup;								\
			ASSERT_EQ(0, arm(dir, 50 / (1 + n % 40) + 1));			\
			ret = (op);							\
			injected = disarm(dir);						\
			ASSERT_LE(0, injected);						\
			check;								\
			points += injected;						\
		}									\
		if (optional)								\
			TH_LOG("%s: %d runs with an injected failure", dir, points - before); \
		else									\
			ASSERT_LT(before, points) TH_LOG("%s: no failure was injected", dir); \
	} while (0)
#define SWEEP(dir, setup, op, check) SWEEP_OPT(dir, 0, setup, op, check)

FIXTURE(inject)
{
	int fd;
	char *mem;
	int points;
};

FIXTURE_SETUP(inject)
{
	if (access(FAILSLAB, F_OK) || access(FAIL_PAGE_ALLOC, F_OK))
		SKIP(return, "no failslab/fail_page_alloc (debug kernel only)");
	self->fd = gmem_create(64 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_LE(0, self->fd);
	self->mem = gmem_map(self->fd, 64 * PAGE);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(inject)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, 64 * PAGE);
	if (self->fd > 0)
		close(self->fd);
	if (self->points)
		TH_LOG("%d runs with an injected failure", self->points);
}

TEST_F_TIMEOUT(inject, conversion, 900)
{
	const char *dirs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	int ret, points = 0;

	for (int d = 0; d < 2; d++) {
		/* A fragmented tree, so that the store needs new nodes. */
		SWEEP(dirs[d], ({
			ASSERT_EQ(0, gmem_convert(self->fd, CONV_GMEM_CONVERT, 0, 64 * PAGE, 0, NULL));
			for (int i = 1; i < 64; i += 2)
				ASSERT_EQ(0, gmem_convert(self->fd, CONV_GMEM_CONVERT, i * PAGE, PAGE, 1, NULL));
			memset(self->mem, 0x61, PAGE);
		}),
		gmem_convert(self->fd, CONV_GMEM_CONVERT, 0, 64 * PAGE, 1, NULL),
		({
			ASSERT_TRUE(ret == 0 || ret == -ENOMEM) TH_LOG("n=%d ret=%d", n, ret);
			ASSERT_TRUE(tree_covers(self->fd, 64));
			/* Either nothing changed or everything did. */
			ASSERT_EQ(ret ? 64 : 1, gmem_entries(self->fd)) TH_LOG("n=%d", n);
			ASSERT_EQ(0, gmem_convert(self->fd, CONV_GMEM_CONVERT, 0, PAGE, 0, NULL));
			ASSERT_EQ(0x61, self->mem[7]);
		}));
	}
	self->points = points;
}

TEST_F_TIMEOUT(inject, fallocate, 900)
{
	const char *dirs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	int ret, points = 0;

	for (int d = 0; d < 2; d++) {
		SWEEP(dirs[d],
		      ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 64 * PAGE)),
		      fallocate(self->fd, FALLOC_FL_KEEP_SIZE, 0, 16 * PAGE) ? -errno : 0,
		({
			ASSERT_TRUE(ret == 0 || ret == -ENOMEM) TH_LOG("n=%d ret=%d", n, ret);
			ASSERT_LE(gmem_allocated(self->fd), 16);
			/* The file works afterwards. */
			ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE, 0, 16 * PAGE));
			ASSERT_EQ(16, gmem_allocated(self->fd));
			ASSERT_EQ(0, self->mem[15 * PAGE]);
		}));
	}
	self->points = points;
}

/*
 * Empties the per-CPU and partial slabs of the caches a create allocates from, so that the next
 * create needs fresh pages and fail_page_alloc has something to fail (otherwise it only does when a
 * cache happens to grow, and a whole sweep could inject nothing).
 */
static void shrink_create_slabs(void)
{
	static const char *const caches[] = { "rust_gmem", "maple_node", "filp", "dentry" };
	char path[96];

	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", caches[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				fprintf(stderr, "# %s: %s\n", path, strerror(errno));
			close(fd);
		}
	}
}

TEST_F_TIMEOUT(inject, create, 900)
{
	const char *dirs[] = { FAILSLAB, FAIL_PAGE_ALLOC };
	long long inodes = gmem_live_inodes();
	int ret, points = 0;

	/*
	 * A create allocates only from slab caches: failslab reaches every allocation, while
	 * fail_page_alloc only fails one when a cache has to grow. Emptying the caches first makes that
	 * likely but not certain (a partial slab elsewhere may serve it), so a fail_page_alloc sweep
	 * that happens to inject nothing is not a failure; failslab's must inject.
	 */
	for (int d = 0; d < 2; d++) {
		SWEEP_OPT(dirs[d], !strcmp(dirs[d], FAIL_PAGE_ALLOC), shrink_create_slabs(),
			  gmem_create(4 * PAGE, GUEST_MEMFD_FLAG_INIT_SHARED),
		({
			ASSERT_TRUE(ret >= 0 || ret == -ENOMEM) TH_LOG("n=%d ret=%d", n, ret);
			if (ret >= 0) {
				/* debugfs is best effort: its file may be what failed (-1). */
				long long e = gmem_entries(ret);

				ASSERT_TRUE(e == 1 || e == -1) TH_LOG("n=%d entries=%lld", n, e);
				close(ret);
			}
			ASSERT_EQ(inodes, gmem_live_inodes());
		}));
	}
	self->points = points;
}

TEST_F_TIMEOUT(inject, fault_in, 900)
{
	int ret, points = 0;

	/* A failed allocation in a fault is VM_FAULT_OOM, which the MM retries: the access succeeds. */
	SWEEP(FAIL_PAGE_ALLOC,
	      ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 64 * PAGE)),
	      WRITE_SIGBUSES(self->mem + 3 * PAGE, 0x42),
	      ({
		      ASSERT_EQ(0, ret);
		      ASSERT_EQ(0x42, self->mem[3 * PAGE]);
		      ASSERT_EQ(1, gmem_allocated(self->fd));
	      }));
	self->points = points;
}

static void do_hwpoison(volatile char *p, char v)
{
	if (madvise((void *)p, PAGE, MADV_HWPOISON))
		*(volatile int *)&errno;	/* reported through errno, checked by the caller */
}

/* Memory failure: the page stays in the file, the host gets SIGBUS, a punch replaces it. */
TEST(hwpoison)
{
	int fd = gmem_create(4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	char *p, *q;

	ASSERT_LE(0, fd);
	p = gmem_map(fd, 4 * PAGE);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x17, 4 * PAGE);
	/*
	 * The page is dirty (noop_dirty_folio() still sets the flag), so memory_failure() kills the
	 * processes mapping it at injection already, whatever their kill mode; mainline guest_memfd has
	 * the same address-space operations. Accept the SIGBUS there or at the first access.
	 */
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0));
	errno = 0;
	sigbus_on(do_hwpoison, p + PAGE, 0);
	if (errno) {
		int err = errno;

		munmap(p, 4 * PAGE);
		close(fd);
		if (err == EINVAL)
			SKIP(return, "no CONFIG_MEMORY_FAILURE");
		ASSERT_EQ(0, err);
	}
	EXPECT_TRUE(READ_SIGBUSES(p + PAGE));
	/* Kept in the file (MF_DELAYED), and a new mapping faults on it too. */
	EXPECT_EQ(4, gmem_allocated(fd));
	q = gmem_map(fd, 4 * PAGE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_TRUE(READ_SIGBUSES(q + PAGE));
	/* The neighbours are unaffected. */
	EXPECT_EQ(0x17, q[0]);
	EXPECT_EQ(0x17, q[2 * PAGE]);
	/*
	 * Punching takes the poisoned folio out of the file (memory failure keeps it from being
	 * reused); the next fault gets a fresh one.
	 */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE, PAGE));
	EXPECT_EQ(0, q[PAGE]);
	munmap(p, 4 * PAGE);
	munmap(q, 4 * PAGE);
	close(fd);
}

TEST_HARNESS_MAIN
