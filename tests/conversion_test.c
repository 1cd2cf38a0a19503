// SPDX-License-Identifier: GPL-2.0
/*
 * In-place conversion between shared and private, through both uAPI forms (KVM_GMEM_CONVERT_* and
 * KVM_SET_MEMORY_ATTRIBUTES2): each TEST_F runs once per form on 4 KiB files, and again on
 * GUEST_MEMFD_FLAG_HUGETLB files of 2 MiB pages (both forms) and 1 GiB pages (one form), whose
 * sizes are rounded up to whole huge pages; the tests use the first NPAGES pages. Long-term pins
 * come from CONFIG_GUP_TEST. Needs rust_gmem loaded and debugfs mounted.
 */
#include <linux/falloc.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ
#define NPAGES	16

FIXTURE(conv)
{
	int fd;
	char *mem;
	/* The file's size, and the part of it the tests use (NPAGES pages). */
	size_t size, span;
	/* Pages per folio block: 1, or the pages of a huge page. */
	size_t block;
};

FIXTURE_VARIANT(conv)
{
	enum conv_form form;
	/* Huge page size, or 0 for 4 KiB pages. */
	uint64_t hsize;
};

FIXTURE_VARIANT_ADD(conv, gmem_convert)
{
	.form = CONV_GMEM_CONVERT,
};

FIXTURE_VARIANT_ADD(conv, attributes2)
{
	.form = CONV_ATTRIBUTES2,
};

FIXTURE_VARIANT_ADD(conv, gmem_convert_2m)
{
	.form = CONV_GMEM_CONVERT,
	.hsize = HUGE_2M,
};

FIXTURE_VARIANT_ADD(conv, attributes2_2m)
{
	.form = CONV_ATTRIBUTES2,
	.hsize = HUGE_2M,
};

FIXTURE_VARIANT_ADD(conv, gmem_convert_1g)
{
	.form = CONV_GMEM_CONVERT,
	.hsize = HUGE_1G,
};

/* The size of a file of at least `want` bytes for this variant, and its flags. */
#define FILE_SIZE(want)	(variant->hsize ? ((want) + variant->hsize - 1) / variant->hsize * variant->hsize \
				       : (want))
#define FLAGS(f)	((f) | huge_flags(variant->hsize))

FIXTURE_SETUP(conv)
{
	if (variant->hsize && !hugetlb_files_supported())
		SKIP(return, "kernel without patches/0003 (huge-page files are EOPNOTSUPP)");
	/* Two huge pages at most at a time (the fixture's file and one more). */
	if (variant->hsize && hugetlb_available(variant->hsize) < 2)
		SKIP(return, "fewer than 2 free %llu kB huge pages (VM memory too small?)",
		     (unsigned long long)(variant->hsize >> 10));
	self->span = NPAGES * PAGE;
	self->size = FILE_SIZE(self->span);
	self->block = variant->hsize ? variant->hsize / PAGE : 1;
	self->fd = gmem_create(self->size, FLAGS(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED));
	ASSERT_LE(0, self->fd);
	self->mem = gmem_map(self->fd, self->size);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(conv)
{
	if (self->size) {
		munmap(self->mem, self->size);
		close(self->fd);
	}
}

/* Pages in the page cache once `n` pages of the span are allocated (whole blocks). */
#define ALLOCATED(n)	((long long)(((n) + self->block - 1) / self->block * self->block))

#define TO_PRIVATE(off, len) gmem_convert(self->fd, variant->form, (off), (len), 1, NULL)
#define TO_SHARED(off, len) gmem_convert(self->fd, variant->form, (off), (len), 0, NULL)

static char pattern(size_t i)
{
	return (char)(i * 7 + 3);
}

/* Whether page i can be read and written from the host. */
static int host_can_access(char *mem, size_t i)
{
	return !READ_SIGBUSES(mem + i * PAGE) && !WRITE_SIGBUSES(mem + i * PAGE + 1, mem[i * PAGE + 1]);
}

TEST_F(conv, round_trip_keeps_data)
{
	for (size_t i = 0; i < self->span; i++)
		self->mem[i] = pattern(i);
	ASSERT_EQ(0, TO_PRIVATE(0, self->size));
	for (size_t i = 0; i < NPAGES; i++) {
		EXPECT_TRUE(READ_SIGBUSES(self->mem + i * PAGE + 17));
		EXPECT_TRUE(WRITE_SIGBUSES(self->mem + i * PAGE, 1));
	}
	EXPECT_EQ(ALLOCATED(NPAGES), gmem_allocated(self->fd));
	ASSERT_EQ(0, TO_SHARED(0, self->size));
	for (size_t i = 0; i < self->span; i++) {
		ASSERT_EQ(pattern(i), self->mem[i]) TH_LOG("byte %zu", i);
	}
	EXPECT_EQ(1, gmem_entries(self->fd));
}

TEST_F(conv, neighbours_untouched)
{
	memset(self->mem, 0x11, self->span);
	ASSERT_EQ(0, TO_PRIVATE(2 * PAGE, PAGE));
	for (size_t i = 0; i < NPAGES; i++) {
		EXPECT_EQ(i != 2, host_can_access(self->mem, i)) TH_LOG("page %zu", i);
	}
	EXPECT_EQ(3, gmem_entries(self->fd));
	ASSERT_EQ(0, TO_SHARED(2 * PAGE, PAGE));
	EXPECT_EQ(1, gmem_entries(self->fd));
	EXPECT_EQ(0x11, self->mem[2 * PAGE + 100]);
}

/* Each page in turn, from the highest index, to catch "always page 0" bugs. */
TEST_F(conv, indexing)
{
	for (int p = NPAGES - 1; p >= 0; p--) {
		ASSERT_EQ(0, TO_PRIVATE(p * PAGE, PAGE));
		for (size_t i = 0; i < NPAGES; i++) {
			ASSERT_EQ(i != (size_t)p, host_can_access(self->mem, i)) TH_LOG("page %d: %zu", p, i);
		}
		ASSERT_EQ(0, TO_SHARED(p * PAGE, PAGE));
	}
	EXPECT_EQ(1, gmem_entries(self->fd));
}

TEST_F(conv, before_allocation)
{
	EXPECT_EQ(0, gmem_allocated(self->fd));
	ASSERT_EQ(0, TO_PRIVATE(0, self->size));
	ASSERT_EQ(0, TO_SHARED(5 * PAGE, 2 * PAGE));
	EXPECT_EQ(0, gmem_allocated(self->fd));
	EXPECT_EQ(3, gmem_entries(self->fd));
	for (size_t i = 0; i < NPAGES; i++) {
		EXPECT_EQ(i == 5 || i == 6, host_can_access(self->mem, i)) TH_LOG("page %zu", i);
	}
	/* Only the shared pages were faulted in (their block, for huge pages), zeroed. */
	EXPECT_EQ(ALLOCATED(2), gmem_allocated(self->fd));
	EXPECT_EQ(0, self->mem[5 * PAGE + 3]);
}

/*
 * Up to 5 minutes: on the debug kernel (KASAN, DEBUG_VM) under TCG each split or merge of a 1 GiB
 * page checks 262144 struct pages, and this case does several (71 s measured); the harness's 30 s
 * default is for ordinary cases.
 */
TEST_F_TIMEOUT(conv, partial_allocation, 300)
{
	/* Each round reallocates a huge page: a few rounds for 1 GiB, which cost seconds each. */
	for (size_t first = 0; first < NPAGES; first += variant->hsize == HUGE_1G ? 5 : 1) {
		/* Touch page `first` and page 8 only. */
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, self->size));
		self->mem[first * PAGE] = 'A';
		self->mem[8 * PAGE] = 'B';
		ASSERT_EQ(0, TO_PRIVATE(0, self->size));
		for (size_t i = 0; i < NPAGES; i++) {
			ASSERT_TRUE(READ_SIGBUSES(self->mem + i * PAGE)) TH_LOG("%zu/%zu", first, i);
		}
		ASSERT_EQ(0, TO_SHARED(0, self->size));
		EXPECT_EQ(first == 8 ? 'B' : 'A', self->mem[first * PAGE]);
		EXPECT_EQ('B', self->mem[8 * PAGE]);
		EXPECT_EQ(0, self->mem[((first + 1) % NPAGES == 8 ? 9 : (first + 1) % NPAGES) * PAGE]);
	}
}

TEST_F(conv, idempotent_and_partly_done)
{
	ASSERT_EQ(0, TO_PRIVATE(4 * PAGE, 4 * PAGE));
	/* Converting what already has the target state is a no-op. */
	ASSERT_EQ(0, TO_PRIVATE(4 * PAGE, 4 * PAGE));
	ASSERT_EQ(0, TO_SHARED(0, 2 * PAGE));
	EXPECT_EQ(3, gmem_entries(self->fd));
	/* A range that is partly private already. */
	ASSERT_EQ(0, TO_PRIVATE(2 * PAGE, 4 * PAGE));
	EXPECT_EQ(3, gmem_entries(self->fd));
	for (size_t i = 0; i < NPAGES; i++) {
		EXPECT_EQ(i < 2 || i >= 8, host_can_access(self->mem, i)) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, TO_SHARED(0, self->size));
	EXPECT_EQ(1, gmem_entries(self->fd));
}

/* Size 0: the RFC form converts nothing; KVM_SET_MEMORY_ATTRIBUTES2 refuses it, as Linux 7.4. */
TEST_F(conv, size_zero)
{
	int want = variant->form == CONV_GMEM_CONVERT ? 0 : -EINVAL;

	ASSERT_EQ(want, TO_PRIVATE(0, 0));
	ASSERT_EQ(want, TO_PRIVATE(3 * PAGE, 0));
	EXPECT_EQ(1, gmem_entries(self->fd));
	EXPECT_TRUE(host_can_access(self->mem, 0));
}

/* Every validation error: EINVAL and nothing changed. */
TEST_F(conv, invalid_arguments)
{
	const uint64_t size = self->size;
	const struct { uint64_t offset, size; } cases[] = {
		{ 1, PAGE }, { PAGE / 2, PAGE }, { 0, 1 }, { 0, PAGE + 1 }, { PAGE, PAGE - 1 },
		{ size, PAGE }, { size - PAGE, 2 * PAGE }, { 0, size + PAGE },
		{ 1ULL << 40, PAGE },
		/* offset + size overflows */
		{ ~0ULL & ~(PAGE - 1), 2 * PAGE }, { PAGE, ~0ULL & ~(PAGE - 1) },
	};
	char before[4096], after[4096];

	ASSERT_EQ(0, TO_PRIVATE(PAGE, PAGE));
	ASSERT_LT(0, gmem_debugfs(self->fd, before, sizeof(before)));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(-EINVAL, TO_PRIVATE(cases[i].offset, cases[i].size)) TH_LOG("case %zu", i);
		EXPECT_EQ(-EINVAL, TO_SHARED(cases[i].offset, cases[i].size)) TH_LOG("case %zu", i);
	}
	ASSERT_LT(0, gmem_debugfs(self->fd, after, sizeof(after)));
	EXPECT_STREQ(before, after);
}

/*
 * error_offset on input: the RFC form wants 0 (EINVAL, nothing changed); KVM_SET_MEMORY_ATTRIBUTES2
 * does not look at it, as Linux 7.4, and leaves it alone on success.
 */
TEST_F(conv, error_offset_on_input)
{
	if (variant->form == CONV_GMEM_CONVERT) {
		struct kvm_gmem_convert args = { .offset = 0, .size = PAGE, .error_offset = 1 };

		EXPECT_EQ(-1, ioctl(self->fd, KVM_GMEM_CONVERT_PRIVATE, &args));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_TRUE(host_can_access(self->mem, 0));
		EXPECT_EQ(0, TO_PRIVATE(0, PAGE));
	} else {
		struct kvm_memory_attributes2 args = {
			.size = PAGE, .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE, .error_offset = PAGE,
		};

		EXPECT_EQ(0, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
		EXPECT_EQ(PAGE, args.error_offset);
		EXPECT_FALSE(host_can_access(self->mem, 0));
	}
}

TEST_F(conv, reserved_and_flags_must_be_zero)
{
	if (variant->form == CONV_GMEM_CONVERT) {
		for (int i = 0; i < 5; i++) {
			struct kvm_gmem_convert args = { .size = PAGE };

			args.reserved[i] = 1;
			EXPECT_EQ(-1, ioctl(self->fd, KVM_GMEM_CONVERT_PRIVATE, &args));
			EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", i);
		}
	} else {
		static const uint64_t bad_attrs[] = {
			1, 1ULL << 4, KVM_MEMORY_ATTRIBUTE_PRIVATE | 1, 1ULL << 63,
		};
		struct kvm_memory_attributes2 args = { .size = PAGE, .flags = 1 };

		EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
		EXPECT_EQ(EINVAL, errno);
		for (int i = 0; i < 11; i++) {
			struct kvm_memory_attributes2 a = { .size = PAGE };

			a.reserved[i] = 1;
			EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a));
			EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", i);
		}
		for (size_t i = 0; i < sizeof(bad_attrs) / sizeof(bad_attrs[0]); i++) {
			struct kvm_memory_attributes2 a = { .size = PAGE, .attributes = bad_attrs[i] };

			EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &a));
			EXPECT_EQ(EINVAL, errno) TH_LOG("attributes %#llx", (unsigned long long)bad_attrs[i]);
		}
	}
	EXPECT_EQ(1, gmem_entries(self->fd));
	EXPECT_TRUE(host_can_access(self->mem, 0));
}

TEST_F(conv, bad_pointer_and_unknown_ioctl)
{
	EXPECT_EQ(-1, ioctl(self->fd, variant->form == CONV_GMEM_CONVERT ? KVM_GMEM_CONVERT_PRIVATE
									  : KVM_SET_MEMORY_ATTRIBUTES2,
			    (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(KVM_GMEM_IO, 0x43, struct kvm_gmem_convert), NULL));
	EXPECT_EQ(ENOTTY, errno);
	/* KVM's VM-level request (a different size and direction) is not ours. */
	EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES, NULL));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(1, gmem_entries(self->fd));
}

/* A file the host cannot map converts all the same (as Linux 7.4's files). */
TEST_F(conv, without_mmap_flag)
{
	int fd = gmem_create(FILE_SIZE(PAGE * 4), FLAGS(0));

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, gmem_convert(fd, variant->form, 0, PAGE, 0, NULL));
	EXPECT_EQ(2, gmem_entries(fd));
	EXPECT_EQ(0, gmem_convert(fd, variant->form, 0, PAGE, 1, NULL));
	EXPECT_EQ(1, gmem_entries(fd));
	close(fd);
}

/* RFC v2's test_conversions_should_fail_if_memory_has_elevated_refcount, for every position. */
TEST_F(conv, pinned_page_blocks_to_private)
{
	for (size_t p = 0; p < 4; p++) {
		uint64_t error_offset = 0;
		int pin;

		memset(self->mem, (int)('a' + p), 4 * PAGE);
		pin = gup_pin(self->mem + p * PAGE, PAGE);
		ASSERT_LE(0, pin) TH_LOG("gup_test pin: %s (CONFIG_GUP_TEST?)", strerror(-pin));
		EXPECT_EQ(-EAGAIN, gmem_convert(self->fd, variant->form, 0, 4 * PAGE, 1, &error_offset));
		EXPECT_EQ(p * PAGE, error_offset);
		/* Nothing changed: every page is still shared and mapped with its data. */
		EXPECT_EQ(1, gmem_entries(self->fd));
		for (size_t i = 0; i < 4; i++) {
			EXPECT_TRUE(host_can_access(self->mem, i)) TH_LOG("pin %zu page %zu", p, i);
		}
		gup_unpin(pin);
		ASSERT_EQ(0, gmem_convert(self->fd, variant->form, 0, 4 * PAGE, 1, &error_offset));
		EXPECT_EQ(0, error_offset);
		ASSERT_EQ(0, TO_SHARED(0, 4 * PAGE));
		EXPECT_EQ((char)('a' + p), self->mem[3 * PAGE + 9]);
	}
}

/*
 * Folios sit in the per-CPU LRU batch of the CPU that faulted them in, with a reference; converting
 * from another CPU must not mistake that for a pin.
 */
TEST_F(conv, fault_on_other_cpu_then_convert)
{
	cpu_set_t all;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, run_on_cpu(1));
	memset(self->mem, 0x77, self->span);
	ASSERT_EQ(0, run_on_cpu(0));
	EXPECT_EQ(0, TO_PRIVATE(0, self->size));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, TO_SHARED(0, self->size));
	EXPECT_EQ(0x77, self->mem[self->span - 1]);
}

/*
 * A page already on the LRU that another CPU faults into a locked mapping sits in that CPU's mlock
 * batch, with a reference, while it stays on the LRU: a conversion to private must drain every
 * CPU's batches for it too, not only for pages new to the LRU. Likewise a page of a split block.
 */
TEST_F(conv, mlocked_fault_on_other_cpu_then_convert)
{
	cpu_set_t all;
	char *locked;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, run_on_cpu(1));
	/*
	 * Faulted in on CPU 1; converting it drains CPU 1's batch, so a 4 KiB file's folio is on the
	 * LRU (a split huge page never is; its order-0 pages sit in mlock batches all the same).
	 */
	self->mem[0] = 0x55;
	ASSERT_EQ(0, TO_PRIVATE(0, PAGE));
	ASSERT_EQ(0, TO_SHARED(0, PAGE));
	/* A locked mapping faults it in again, on CPU 1: into CPU 1's mlock batch. */
	locked = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE,
		      self->fd, 0);
	ASSERT_NE(MAP_FAILED, locked);
	EXPECT_EQ(0x55, locked[0]);
	ASSERT_EQ(0, run_on_cpu(0));
	EXPECT_EQ(0, TO_PRIVATE(0, PAGE));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, TO_SHARED(0, PAGE));
	EXPECT_EQ(0x55, locked[0]);
	munmap(locked, PAGE);
}

TEST_F(conv, pinned_page_does_not_block_to_shared)
{
	int pin;

	ASSERT_EQ(0, TO_PRIVATE(PAGE, PAGE));
	self->mem[0] = 1;
	pin = gup_pin(self->mem, PAGE);
	ASSERT_LE(0, pin);
	/* Only pages that change are checked, and to-shared checks nothing. */
	EXPECT_EQ(0, TO_PRIVATE(2 * PAGE, PAGE));
	EXPECT_EQ(0, TO_SHARED(PAGE, 2 * PAGE));
	EXPECT_EQ(1, gmem_entries(self->fd));
	gup_unpin(pin);
}

/* Alternating 4 KiB conversions fragment the tree; converting it all back leaves one entry. */
TEST_F(conv, alternating_conversions_merge_back)
{
	/* 4096 pages are converted; a 1 GiB file has a shared rest after them (one more range). */
	const size_t span = 16ULL << 20, pages = span / PAGE, size = FILE_SIZE(span);
	const long long rest = size > span;
	int fd = gmem_create(size, FLAGS(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED));

	ASSERT_LE(0, fd);
	for (size_t i = 1; i < pages; i += 2) {
		ASSERT_EQ(0, gmem_convert(fd, variant->form, i * PAGE, PAGE, 1, NULL)) TH_LOG("page %zu", i);
	}
	EXPECT_EQ((long long)pages + rest, gmem_entries(fd));
	/*
	 * The tree's nodes, counted exactly: a leaf holds at most 16 ranges, and a split leaves them
	 * at least about half full; one more level of internal nodes above them.
	 */
	EXPECT_LE((long long)pages / 16, gmem_tree_nodes(fd));
	EXPECT_GE((long long)pages / 4, gmem_tree_nodes(fd));
	/* Filling the holes one by one merges neighbours as it goes. */
	for (size_t i = 0; i < pages; i += 2) {
		ASSERT_EQ(0, gmem_convert(fd, variant->form, i * PAGE, PAGE, 1, NULL)) TH_LOG("page %zu", i);
	}
	EXPECT_EQ(1 + rest, gmem_entries(fd));
	for (size_t i = 0; i < pages; i += 2) {
		ASSERT_EQ(0, gmem_convert(fd, variant->form, i * PAGE, PAGE, 0, NULL)) TH_LOG("page %zu", i);
	}
	EXPECT_EQ((long long)pages + rest, gmem_entries(fd));
	ASSERT_EQ(0, gmem_convert(fd, variant->form, 0, size, 0, NULL));
	EXPECT_EQ(1, gmem_entries(fd));
	/* One range: a single node, or none (an entry kept in the root). */
	EXPECT_GE(1, gmem_tree_nodes(fd));
	EXPECT_LE(0, gmem_tree_nodes(fd));
	close(fd);
}

TEST_F(conv, close_with_pinned_page)
{
	long long before = gmem_live_inodes();
	size_t size = FILE_SIZE(4 * PAGE);
	int fd;
	char *p;
	int pin;

	/* A huge page pinned at close leaves the pool (hugetlb_test checks that for 2 MiB). */
	if (variant->hsize)
		SKIP(return, "would give up a huge page of the pool; hugetlb_test covers it");
	fd = gmem_create(size, FLAGS(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED));
	ASSERT_LE(0, fd);
	p = gmem_map(fd, size);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, 4 * PAGE);
	pin = gup_pin(p + PAGE, 2 * PAGE);
	ASSERT_LE(0, pin);
	munmap(p, size);
	close(fd);
	/* The file is gone; the pinned pages live until unpinned. */
	EXPECT_EQ(before, gmem_live_inodes());
	gup_unpin(pin);
}

TEST_HARNESS_MAIN
