// SPDX-License-Identifier: GPL-2.0
/*
 * In-place conversion of rust_gmem files under a running guest, as Linux 7.4 has it
 * (KVM_SET_MEMORY_ATTRIBUTES2 on the file; the file alone says what is private), on 4 KiB files and
 * on 2 MiB huge-page files: the cases of mainline's guest_memfd_conversions_test (init private and
 * init shared, per-page precision, conversion before allocation, allocated-folio layouts, punching
 * keeps each page's state, a forked process sees the conversion, an elevated refcount gives EAGAIN
 * with the exact error_offset and the conversion succeeds after unpinning), written for this
 * project, plus every KVM_SET_MEMORY_ATTRIBUTES2 argument error.
 *
 * Each case has a KVM_X86_SW_PROTECTED_VM with one vCPU and one file bound at GPA 4 GiB and mapped
 * by the host as the slot's userspace_addr. The guest reads a byte of a page, checks it, and writes
 * another, as the host tells it; the host does the same through its mapping, or checks that the
 * access raises SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/kvm.h>
#include <linux/rust_gmem.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#include "kselftest_harness.h"
#include "gmem_util.h"

#define GMEM_GPA	(1ull << 32)
#define GMEM_SLOT	10
#define PAGE		4096ul

/* What the guest does next: read `expect` at `gpa` and write `write` there. */
static struct {
	uint64_t gpa;
	uint8_t expect;
	uint8_t write;
} guest_cmd;

static void guest_code(void)
{
	for (;;) {
		volatile uint8_t *p = (uint8_t *)READ_ONCE(guest_cmd.gpa);

		GUEST_ASSERT_EQ(*p, READ_ONCE(guest_cmd.expect));
		*p = READ_ONCE(guest_cmd.write);
		GUEST_SYNC(0);
	}
}

FIXTURE(conv)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
	uint8_t *mem;
	uint64_t size;
};

FIXTURE_VARIANT(conv)
{
	/* Huge page size of the file, 0 for 4 KiB pages. */
	uint64_t huge;
	bool init_shared;
};

FIXTURE_VARIANT_ADD(conv, page_private) { .huge = 0, .init_shared = false };
FIXTURE_VARIANT_ADD(conv, page_shared) { .huge = 0, .init_shared = true };
FIXTURE_VARIANT_ADD(conv, huge_2m_private) { .huge = 2ul << 20, .init_shared = false };
FIXTURE_VARIANT_ADD(conv, huge_2m_shared) { .huge = 2ul << 20, .init_shared = true };

static const struct vm_shape protected_vm_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

FIXTURE_SETUP(conv)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP;

	if (!(kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		SKIP(return, "no in-place conversion (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)");
	if (variant->init_shared)
		flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
	self->size = variant->huge ? variant->huge : 8 * PAGE;
	if (variant->huge)
		flags |= GUEST_MEMFD_FLAG_HUGETLB |
			 ((uint64_t)__builtin_ctzll(variant->huge) << GUESTMEM_HUGETLB_FLAG_SHIFT);
	self->vm = vm_create_shape_with_one_vcpu(protected_vm_shape, &self->vcpu, guest_code);
	self->fd = __vm_create_guest_memfd(self->vm, self->size, flags);
	if (self->fd < 0 && variant->huge && (errno == ENOMEM || errno == EOPNOTSUPP)) {
		kvm_vm_free(self->vm);
		self->vm = NULL;
		SKIP(return, "no 2 MiB huge-page file: %s", strerror(errno));
	}
	ASSERT_LE(0, self->fd);
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	vm_set_user_memory_region2(self->vm, GMEM_SLOT, KVM_MEM_GUEST_MEMFD, GMEM_GPA, self->size,
				   self->mem, self->fd, 0);
	virt_map(self->vm, GMEM_GPA, GMEM_GPA, self->size / PAGE);
}

FIXTURE_TEARDOWN(conv)
{
	if (!self->vm)
		return;
	munmap(self->mem, self->size);
	close(self->fd);
	kvm_vm_free(self->vm);
}

/* The guest reads `expect` at the start of page `page` and writes `write`. */
static void guest_rmw(FIXTURE_DATA(conv) *self, uint64_t page, uint8_t expect, uint8_t write)
{
	struct ucall uc;

	guest_cmd.gpa = GMEM_GPA + page * PAGE;
	guest_cmd.expect = expect;
	guest_cmd.write = write;
	sync_global_to_guest(self->vm, guest_cmd);
	vcpu_run(self->vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(self->vcpu, KVM_EXIT_IO);
	switch (get_ucall(self->vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Whether a host read (or write, if `write`) of page `page` raises SIGBUS. */
static bool host_sigbus(FIXTURE_DATA(conv) *self, uint64_t page, bool write)
{
	volatile uint8_t *p = self->mem + page * PAGE;
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		bus = true;
	else if (write)
		*p = 0x5a;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* The host reads `expect` at the start of page `page` and writes `write`. */
#define HOST_RMW(page, expect, write)						\
	do {									\
		ASSERT_EQ((uint8_t)(expect), self->mem[(page) * PAGE]);		\
		self->mem[(page) * PAGE] = (write);				\
	} while (0)

/* KVM_SET_MEMORY_ATTRIBUTES2; returns 0 or -errno and what was written back to error_offset. */
static int set_attributes(FIXTURE_DATA(conv) *self, uint64_t offset, uint64_t size, bool private,
			  uint64_t *error_offset)
{
	struct kvm_memory_attributes2 args = {
		.offset = offset,
		.size = size,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	int r = ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args);

	if (error_offset)
		*error_offset = args.error_offset;
	return r ? -errno : 0;
}

#define TO_PRIVATE(page, n)	ASSERT_EQ(0, set_attributes(self, (page) * PAGE, (n) * PAGE, true, NULL))
#define TO_SHARED(page, n)	ASSERT_EQ(0, set_attributes(self, (page) * PAGE, (n) * PAGE, false, NULL))

/* Private pages: the host cannot touch them, the guest can; shared: both. Data kept across. */
TEST_F(conv, round_trip)
{
	if (variant->init_shared) {
		HOST_RMW(0, 0, 'a');
		guest_rmw(self, 0, 'a', 'b');
		HOST_RMW(0, 'b', 'c');
		TO_PRIVATE(0, 1);
	}
	EXPECT_TRUE(host_sigbus(self, 0, false));
	EXPECT_TRUE(host_sigbus(self, 0, true));
	guest_rmw(self, 0, variant->init_shared ? 'c' : 0, 'd');
	TO_SHARED(0, 1);
	HOST_RMW(0, 'd', 'e');
	guest_rmw(self, 0, 'e', 'f');
	TO_PRIVATE(0, 1);
	EXPECT_TRUE(host_sigbus(self, 0, false));
	guest_rmw(self, 0, 'f', 'g');
}

/* Per-page precision: converting one page changes that page only. */
TEST_F(conv, indexing)
{
	const uint64_t n = 4;

	if (!variant->init_shared)
		TO_SHARED(0, n);
	for (uint64_t i = 0; i < n; i++)
		self->mem[i * PAGE] = 'A' + i;
	for (uint64_t i = 0; i < n; i++) {
		TO_PRIVATE(i, 1);
		for (uint64_t j = 0; j < n; j++) {
			EXPECT_EQ(i == j, host_sigbus(self, j, false)) TH_LOG("page %lu after %lu", j, i);
			/* Pages before i went through the guest already. */
			if (j != i)
				EXPECT_EQ(j < i ? 'a' + j : 'A' + j, self->mem[j * PAGE]);
		}
		guest_rmw(self, i, 'A' + i, 'a' + i);
		TO_SHARED(i, 1);
		EXPECT_EQ('a' + i, self->mem[i * PAGE]);
	}
}

/* Conversions of pages never allocated take effect when they are. */
TEST_F(conv, before_allocation)
{
	EXPECT_EQ(0, gmem_allocated(self->fd));
	/* To shared before allocation: the host's first touch reads zeroes. */
	TO_SHARED(1, 1);
	HOST_RMW(1, 0, 'h');
	/* To private before allocation: the guest's first touch reads zeroes, the host SIGBUSes. */
	TO_PRIVATE(2, 1);
	EXPECT_TRUE(host_sigbus(self, 2, false));
	guest_rmw(self, 2, 0, 'g');
	guest_rmw(self, 1, 'h', 'i');
}

/* Bulk conversions over ranges where some pages are allocated and others not. */
TEST_F(conv, allocated_layouts)
{
	static const uint8_t layouts[] = { 0x00, 0x01, 0x80, 0x81, 0x18, 0x55, 0xaa, 0xff };

	for (size_t l = 0; l < sizeof(layouts); l++) {
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
				       self->size));
		TO_SHARED(0, 8);
		for (uint64_t i = 0; i < 8; i++)
			if (layouts[l] & (1 << i))
				self->mem[i * PAGE] = 'A' + i;
		TO_PRIVATE(0, 8);
		for (uint64_t i = 0; i < 8; i++) {
			uint8_t want = layouts[l] & (1 << i) ? 'A' + i : 0;

			EXPECT_TRUE(host_sigbus(self, i, false));
			guest_rmw(self, i, want, 'a' + i);
		}
		for (uint64_t i = 0; i < 8; i++) {
			TO_SHARED(i, 1);
			EXPECT_EQ('a' + i, self->mem[i * PAGE]) TH_LOG("layout %#x page %lu",
								      layouts[l], i);
		}
	}
}

/* Punching a page keeps its state: a shared page stays shared, a private one private; zeroed. */
TEST_F(conv, punch_keeps_state)
{
	uint64_t unit = variant->huge ? variant->huge / PAGE : 1;

	TO_SHARED(0, 1);
	TO_PRIVATE(1, 1);
	self->mem[0] = 's';
	guest_rmw(self, 1, 0, 'p');
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0,
			       unit * PAGE * (variant->huge ? 1 : 2)));
	EXPECT_EQ(0, self->mem[0]);
	EXPECT_TRUE(host_sigbus(self, 1, false));
	guest_rmw(self, 1, 0, 'q');
	guest_rmw(self, 0, 0, 'r');
	EXPECT_EQ('r', self->mem[0]);
}

/* A conversion to private unmaps the page from every process: a forked child's access SIGBUSes. */
TEST_F(conv, forked_process)
{
	int to_child[2], to_parent[2], status;
	pid_t pid;
	char c;

	TO_SHARED(0, 1);
	self->mem[0] = 'f';
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Mapped and read before the conversion, accessed after it. */
		if (self->mem[0] != 'f' || write(to_parent[1], "r", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(host_sigbus(self, 0, false) ? 0 : 1);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	TO_PRIVATE(0, 1);
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("child status %#x", status);
	guest_rmw(self, 0, 'f', 'g');
}

/*
 * A page pinned by the host (CONFIG_GUP_TEST's long-term pin) cannot become private: EAGAIN with
 * error_offset at that page, for a bulk conversion and for that page alone, and nothing changes;
 * the others convert one by one; after unpinning the bulk conversion succeeds, data kept.
 */
TEST_F(conv, elevated_refcount)
{
	const uint64_t n = 4;

	for (uint64_t pinned = 0; pinned < n; pinned++) {
		uint64_t error_offset = 0;
		int pin;

		TO_SHARED(0, n);
		for (uint64_t i = 0; i < n; i++)
			self->mem[i * PAGE] = 'A' + i;
		pin = gup_pin(self->mem + pinned * PAGE, PAGE);
		if (pin == -ENOENT)
			SKIP(return, "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST)");
		ASSERT_LE(0, pin);
		EXPECT_EQ(-EAGAIN, set_attributes(self, 0, n * PAGE, true, &error_offset));
		EXPECT_EQ(pinned * PAGE, error_offset);
		for (uint64_t i = 0; i < n; i++) {
			EXPECT_FALSE(host_sigbus(self, i, false))
				TH_LOG("pinned %lu, page %lu", pinned, i);
		}
		for (uint64_t i = 0; i < n; i++) {
			error_offset = 0;
			EXPECT_EQ(i == pinned ? -EAGAIN : 0,
				  set_attributes(self, i * PAGE, PAGE, true, &error_offset));
			EXPECT_EQ(i == pinned ? i * PAGE : 0, error_offset);
		}
		gup_unpin(pin);
		EXPECT_EQ(0, set_attributes(self, 0, n * PAGE, true, NULL));
		for (uint64_t i = 0; i < n; i++)
			guest_rmw(self, i, 'A' + i, 'a' + i);
	}
}

/*
 * Every argument error of KVM_SET_MEMORY_ATTRIBUTES2, as Linux 7.4 checks them: EFAULT for the
 * argument, EINVAL for flags, any reserved word, an attribute other than PRIVATE, size 0, an
 * overflowing, unaligned or out-of-file range; nothing changes and nothing is written back.
 * error_offset is not checked on input.
 */
TEST_F(conv, attributes2_errors)
{
	const uint64_t size = self->size;
	static const uint64_t bad_attrs[] = { 1, 1ull << 4, KVM_MEMORY_ATTRIBUTE_PRIVATE | 1,
					      1ull << 63 };
	const struct { uint64_t offset, size; } ranges[] = {
		{ 0, 0 }, { PAGE, 0 }, { 1, PAGE }, { PAGE / 2, PAGE }, { 0, 1 }, { 0, PAGE + 1 },
		{ size, PAGE }, { size - PAGE, 2 * PAGE }, { 0, size + PAGE }, { 1ull << 40, PAGE },
		{ ~0ull & ~(PAGE - 1), 2 * PAGE }, { PAGE, ~0ull & ~(PAGE - 1) },
	};
	struct kvm_memory_attributes2 args;
	char before[4096], after[4096];

	TO_SHARED(0, 1);
	TO_PRIVATE(1, 1);
	ASSERT_LT(0, gmem_debugfs(self->fd, before, sizeof(before)));

	EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, (void *)16));
	EXPECT_EQ(EFAULT, errno);

	memset(&args, 0, sizeof(args));
	args.size = PAGE;
	args.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
	EXPECT_EQ(EINVAL, errno);
	for (int i = 0; i < 11; i++) {
		memset(&args, 0, sizeof(args));
		args.size = PAGE;
		args.reserved[i] = 1;
		EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", i);
	}
	for (size_t i = 0; i < sizeof(bad_attrs) / sizeof(bad_attrs[0]); i++) {
		memset(&args, 0, sizeof(args));
		args.size = PAGE;
		args.attributes = bad_attrs[i];
		EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
		EXPECT_EQ(EINVAL, errno) TH_LOG("attributes %#lx", bad_attrs[i]);
	}
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		for (int private = 0; private < 2; private++) {
			memset(&args, 0, sizeof(args));
			args.offset = ranges[i].offset;
			args.size = ranges[i].size;
			args.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
			args.error_offset = 0x1234;
			EXPECT_EQ(-1, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
			EXPECT_EQ(EINVAL, errno) TH_LOG("range %zu", i);
			EXPECT_EQ(0x1234, args.error_offset) TH_LOG("range %zu", i);
		}
	}
	ASSERT_LT(0, gmem_debugfs(self->fd, after, sizeof(after)));
	EXPECT_STREQ(before, after);

	/* A non-zero error_offset on input is not an error. */
	memset(&args, 0, sizeof(args));
	args.offset = 2 * PAGE;
	args.size = PAGE;
	args.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	args.error_offset = PAGE;
	EXPECT_EQ(0, ioctl(self->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args));
	EXPECT_EQ(PAGE, args.error_offset);
}

TEST_HARNESS_MAIN
