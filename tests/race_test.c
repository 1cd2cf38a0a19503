// SPDX-License-Identifier: GPL-2.0
/*
 * Races: threads convert, fault, punch, allocate, pin and close over the same file for a bounded
 * time, checking as they go that
 *  - a host access never succeeds on a page that is private for the whole test;
 *  - data written while shared survives any number of conversions;
 *  - nothing hangs (a watchdog) and nothing leaks (the live-inode count after close).
 * The file has three regions of 32 pages:
 *  A (0-31)   toggled between shared and private; one writer thread per 8 pages writes a counter
 *             into each of its pages when shared; the last value written must still be there;
 *  B (32-63)  private from start to end; reader threads must always get SIGBUS;
 *  C (64-95)  shared, punched, reallocated, faulted and pinned concurrently.
 */
#include <linux/falloc.h>
#include <pthread.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE		PAGE_SZ
#define REGION		32
#define NPAGES		(3 * REGION)
#define A		0
#define B		REGION
#define C		(2 * REGION)
#define WRITERS		4
#define RUN_SECONDS	4

struct shared {
	int fd;
	volatile char *mem;
	volatile int stop;
	volatile long violations;	/* private-page accesses that succeeded */
	volatile long conversions, eagain, writes, punches, pins, files;
	uint64_t last[REGION];		/* last value each region-A page got, by its writer */
};

static __thread sigjmp_buf tjmp;

static void thread_sigbus(int sig)
{
	siglongjmp(tjmp, 1);
}

/* 1 if the access raised SIGBUS; per-thread jump buffer, process-wide handler. */
#define TRY(access) ({ int __hit = 0; if (sigsetjmp(tjmp, 1) == 0) { access; } else { __hit = 1; } __hit; })

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 8;
}

static void *converter(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 1;

	while (!s->stop) {
		unsigned int first = A + rnd(&seed) % REGION, n = 1 + rnd(&seed) % (REGION - (first - A));
		int r = gmem_convert(s->fd, rnd(&seed) & 1, first * PAGE, n * PAGE, rnd(&seed) & 1, NULL);

		if (r == -EAGAIN)
			s->eagain++;
		else if (r)
			s->violations += 1000000;	/* no other error is acceptable */
		s->conversions++;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct shared *s = ((void **)arg)[0];
	long w = (long)((void **)arg)[1];
	uint64_t counter = 0;

	while (!s->stop) {
		for (int i = w * (REGION / WRITERS); i < (w + 1) * (REGION / WRITERS); i++) {
			volatile uint64_t *word = (volatile uint64_t *)(s->mem + (A + i) * PAGE);
			uint64_t v = ((uint64_t)i << 48) | ++counter;

			/* An 8-byte store either happens or faults before it happens. */
			if (!TRY(*word = v)) {
				s->last[i] = v;
				s->writes++;
			}
		}
	}
	return NULL;
}

static void *private_reader(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 7;

	while (!s->stop) {
		volatile char *p = s->mem + (B + rnd(&seed) % REGION) * PAGE + rnd(&seed) % PAGE;

		if (!TRY((void)*p))
			s->violations++;
		if (!TRY(*p = 1))
			s->violations++;
	}
	return NULL;
}

static void *puncher(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 3;

	while (!s->stop) {
		unsigned int first = C + rnd(&seed) % REGION, n = 1 + rnd(&seed) % 4;

		if (first + n > C + REGION)
			n = C + REGION - first;
		if (rnd(&seed) & 1)
			fallocate(s->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, first * PAGE, n * PAGE);
		else
			fallocate(s->fd, FALLOC_FL_KEEP_SIZE, first * PAGE, n * PAGE);
		s->punches++;
	}
	return NULL;
}

static void *toucher(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 5;

	while (!s->stop) {
		volatile char *p = s->mem + (C + rnd(&seed) % REGION) * PAGE + rnd(&seed) % PAGE;

		/* Region C is always shared: every access must succeed (zero or 0x5a). */
		if (TRY(*p = 0x5a))
			s->violations++;
	}
	return NULL;
}

static void *pinner(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = 11;

	while (!s->stop) {
		/* Pins in region A (blocks conversions to private) and C (punch of a pinned page). */
		unsigned int page = rnd(&seed) & 1 ? A + rnd(&seed) % REGION : C + rnd(&seed) % REGION;
		int pin = gup_pin((void *)(s->mem + page * PAGE), PAGE);

		if (pin >= 0) {
			s->pins++;
			usleep(200);
			gup_unpin(pin);
		}
	}
	return NULL;
}

static void *closer(void *arg)
{
	struct shared *s = arg;

	/* Other files come and go meanwhile: create, map, write, convert, close while mapped. */
	while (!s->stop) {
		int fd = gmem_create(8 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
		char *p;

		if (fd < 0) {
			s->violations += 1000000;
			break;
		}
		p = gmem_map(fd, 8 * PAGE);
		if (p != MAP_FAILED) {
			p[0] = 1;
			gmem_convert(fd, CONV_ATTRIBUTES2, 0, 4 * PAGE, 1, NULL);
			close(fd);
			munmap(p, 8 * PAGE);
		} else {
			close(fd);
		}
		s->files++;
	}
	return NULL;
}

FIXTURE(race) {};
FIXTURE_SETUP(race) {}
FIXTURE_TEARDOWN(race) {}

/* The harness's timeout is the watchdog: a hang fails the test. */
TEST_F_TIMEOUT(race, all_at_once, 120)
{
	static struct shared s;
	struct sigaction sa = { .sa_handler = thread_sigbus, .sa_flags = SA_NODEFER };
	long long inodes = gmem_live_inodes();
	pthread_t t[16];
	void *wargs[WRITERS][2];
	int n = 0;

	s.fd = gmem_create(NPAGES * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_LE(0, s.fd);
	s.mem = gmem_map(s.fd, NPAGES * PAGE);
	ASSERT_NE(MAP_FAILED, s.mem);
	ASSERT_EQ(0, gmem_convert(s.fd, CONV_GMEM_CONVERT, B * PAGE, REGION * PAGE, 1, NULL));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));

	ASSERT_EQ(0, pthread_create(&t[n++], NULL, converter, &s));
	for (long w = 0; w < WRITERS; w++) {
		wargs[w][0] = &s;
		wargs[w][1] = (void *)w;
		ASSERT_EQ(0, pthread_create(&t[n++], NULL, writer, wargs[w]));
	}
	ASSERT_EQ(0, pthread_create(&t[n++], NULL, private_reader, &s));
	ASSERT_EQ(0, pthread_create(&t[n++], NULL, puncher, &s));
	ASSERT_EQ(0, pthread_create(&t[n++], NULL, toucher, &s));
	ASSERT_EQ(0, pthread_create(&t[n++], NULL, pinner, &s));
	ASSERT_EQ(0, pthread_create(&t[n++], NULL, closer, &s));
	sleep(RUN_SECONDS);
	s.stop = 1;
	for (int i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));

	TH_LOG("conversions %ld (EAGAIN %ld), writes %ld, punches/allocs %ld, pins %ld, files %ld",
	       s.conversions, s.eagain, s.writes, s.punches, s.pins, s.files);
	EXPECT_EQ(0, s.violations);
	/* Every thread made progress. */
	EXPECT_LT(0, s.conversions);
	EXPECT_LT(0, s.writes);
	EXPECT_LT(0, s.punches);
	EXPECT_LT(0, s.pins);
	EXPECT_LT(0, s.files);

	/* Region A: the last value each page got is still there. */
	ASSERT_EQ(0, gmem_convert(s.fd, CONV_GMEM_CONVERT, A * PAGE, REGION * PAGE, 0, NULL));
	for (int i = 0; i < REGION; i++) {
		EXPECT_EQ(s.last[i], *(volatile uint64_t *)(s.mem + (A + i) * PAGE)) TH_LOG("page %d", i);
	}
	/* Region B was never shared. */
	EXPECT_EQ(3, gmem_entries(s.fd));
	munmap((void *)s.mem, NPAGES * PAGE);
	close(s.fd);
	EXPECT_EQ(inodes, gmem_live_inodes());
}

TEST_HARNESS_MAIN
