// SPDX-License-Identifier: GPL-2.0
/*
 * rust_gmem through KVM: a KVM_X86_SW_PROTECTED_VM guest shares memory with the host through one
 * rust_gmem file, converted in place. Built against the 6.12 KVM selftest library
 * (scripts/build-kvm-tests.sh) and run in the test VM with rust_gmem loaded.
 *
 * The file is made with KVM_CREATE_GUEST_MEMFD on the VM (GUEST_MEMFD_FLAG_MMAP |
 * GUEST_MEMFD_FLAG_INIT_SHARED) and bound to a memslot whose userspace_addr is the host's mapping of
 * the same file. The VM's memory attributes (KVM_SET_MEMORY_ATTRIBUTES) stand for what the guest
 * asks for, as the C-bit does for a CoCo guest; the file's conversions decide what the memory is. A
 * guest access where the two differ exits with KVM_EXIT_MEMORY_FAULT.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/kvm.h>
#include <linux/rust_gmem.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define TEST_GPA (1ull << 32)
#define TEST_SLOT 10
#define TEST_NPAGES 4
#define TEST_SIZE (TEST_NPAGES * PAGE_SIZE)

#define HOST_BYTE 0xaa
#define GUEST_BYTE 0x55
#define GUEST_BYTE2 0x77

static void guest_check(uint8_t *p, uint8_t byte)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		GUEST_ASSERT_EQ(p[i], byte);
}

static void guest_code(void)
{
	uint8_t *page0 = (uint8_t *)TEST_GPA;
	uint8_t *page1 = page0 + PAGE_SIZE;

	/* 1: page 0 shared: the host's bytes. */
	guest_check(page0, HOST_BYTE);
	GUEST_SYNC(1);
	/* 2: page 0 private now: still the host's bytes (in place); write our own. */
	guest_check(page0, HOST_BYTE);
	memset(page0, GUEST_BYTE, PAGE_SIZE);
	GUEST_SYNC(2);
	/* 3: shared again. */
	guest_check(page0, GUEST_BYTE);
	GUEST_SYNC(3);
	/* 4: first a mismatch exit (view private, memory shared), then private. */
	guest_check(page0, GUEST_BYTE);
	GUEST_SYNC(4);
	/* 5: first a mismatch exit (view shared, memory private), then shared. */
	guest_check(page0, GUEST_BYTE);
	GUEST_SYNC(5);
	/* 6: the host punched page 0: zeroes. */
	guest_check(page0, 0);
	GUEST_SYNC(6);
	/* 7: page 1 private: write it; the host punches it. */
	memset(page1, GUEST_BYTE2, PAGE_SIZE);
	GUEST_SYNC(7);
	/* 8: a new, zeroed private page. */
	guest_check(page1, 0);
	GUEST_DONE();
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Whether reading *p raises SIGBUS. */
static bool host_read_sigbus(volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		bus = true;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

static void gmem_convert(int fd, uint64_t offset, uint64_t size, bool to_private)
{
	struct kvm_gmem_convert args = { .offset = offset, .size = size };
	int r = ioctl(fd, to_private ? KVM_GMEM_CONVERT_PRIVATE : KVM_GMEM_CONVERT_SHARED, &args);

	TEST_ASSERT(!r, "conversion of %#lx+%#lx to %s: %s", offset, size,
		    to_private ? "private" : "shared", strerror(errno));
}

/* Runs the vCPU to the guest's GUEST_SYNC(stage). */
static void run_to_stage(struct kvm_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		TEST_ASSERT(uc.args[1] == stage, "guest at stage %lu, expected %lu", uc.args[1],
			    stage);
		break;
	case UCALL_DONE:
		TEST_ASSERT(stage == 0, "guest done, expected stage %lu", stage);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

/* Runs the vCPU and expects a KVM_EXIT_MEMORY_FAULT for page 0 with `flags`. */
static void run_to_memory_fault(struct kvm_vcpu *vcpu, uint64_t flags)
{
	int r = _vcpu_run(vcpu);

	TEST_ASSERT(r == -1 && errno == EFAULT, "KVM_RUN returned %d (%s), expected EFAULT", r,
		    strerror(errno));
	TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.flags, flags);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.gpa, TEST_GPA);
	TEST_ASSERT_EQ(vcpu->run->memory_fault.size, PAGE_SIZE);
}

static const struct vm_shape protected_vm_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

/* A SW-protected VM running `guest`, whose TEST_GPA..+TEST_SIZE is one in-place rust_gmem file. */
struct gmem_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
	uint8_t *mem;	/* the host's mapping, also the slot's userspace_addr; NULL without */
};

static struct gmem_vm gmem_vm_create(void *guest, bool host_mapping)
{
	struct gmem_vm g = { .mem = NULL };

	g.vm = vm_create_shape_with_one_vcpu(protected_vm_shape, &g.vcpu, guest);
	g.fd = vm_create_guest_memfd(g.vm, TEST_SIZE,
				     GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	if (host_mapping) {
		g.mem = mmap(NULL, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0);
		TEST_ASSERT(g.mem != MAP_FAILED, "mmap of the guest_memfd: %s", strerror(errno));
	}
	vm_set_user_memory_region2(g.vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, TEST_SIZE, g.mem,
				   g.fd, 0);
	virt_map(g.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	return g;
}

static void gmem_vm_free(struct gmem_vm *g)
{
	if (g->mem)
		munmap(g->mem, TEST_SIZE);
	close(g->fd);
	kvm_vm_free(g->vm);
}

static void test_sharing(void)
{
	struct gmem_vm g = gmem_vm_create(guest_code, true);
	struct kvm_vcpu *vcpu = g.vcpu;
	struct kvm_vm *vm = g.vm;
	uint8_t *mem = g.mem;
	int fd = g.fd;

	memset(mem, HOST_BYTE, TEST_SIZE);
	run_to_stage(vcpu, 1);
	ksft_test_result_pass("guest reads what the host wrote to a shared page\n");

	gmem_convert(fd, 0, PAGE_SIZE, true);
	vm_mem_set_private(vm, TEST_GPA, PAGE_SIZE);
	TEST_ASSERT(host_read_sigbus(mem), "host read of a private page did not SIGBUS");
	TEST_ASSERT(!host_read_sigbus(mem + PAGE_SIZE), "host read of a shared page SIGBUSed");
	ksft_test_result_pass("host access to the private page raises SIGBUS, its neighbour works\n");

	run_to_stage(vcpu, 2);
	ksft_test_result_pass("guest reads the host's data in place and writes its own, private\n");

	gmem_convert(fd, 0, PAGE_SIZE, false);
	vm_mem_set_shared(vm, TEST_GPA, PAGE_SIZE);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT(mem[i] == GUEST_BYTE, "host sees %#x at %zu, not the guest's data",
			    mem[i], i);
	run_to_stage(vcpu, 3);
	ksft_test_result_pass("converted back to shared, the host reads the guest's data\n");

	/* The guest asks for private (attribute), the memory is still shared. */
	vm_mem_set_private(vm, TEST_GPA, PAGE_SIZE);
	run_to_memory_fault(vcpu, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	gmem_convert(fd, 0, PAGE_SIZE, true);
	run_to_stage(vcpu, 4);
	ksft_test_result_pass("private access to a shared page exits with KVM_EXIT_MEMORY_FAULT\n");

	/*
	 * The guest asks for shared, the memory is private; the guest has the page mapped from stage
	 * 4, so this also checks that the attribute change dropped KVM's mapping.
	 */
	vm_mem_set_shared(vm, TEST_GPA, PAGE_SIZE);
	run_to_memory_fault(vcpu, 0);
	gmem_convert(fd, 0, PAGE_SIZE, false);
	run_to_stage(vcpu, 5);
	ksft_test_result_pass("shared access to a private page exits with KVM_EXIT_MEMORY_FAULT\n");

	/* The guest has page 0 mapped shared: punching must drop KVM's mapping too. */
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PAGE_SIZE),
		    "punch: %s", strerror(errno));
	TEST_ASSERT(mem[0] == 0, "host sees %#x after the punch", mem[0]);
	run_to_stage(vcpu, 6);
	ksft_test_result_pass("a punched shared page reads zeroes in the guest and the host\n");

	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, true);
	vm_mem_set_private(vm, TEST_GPA + PAGE_SIZE, PAGE_SIZE);
	run_to_stage(vcpu, 7);
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE_SIZE,
			       PAGE_SIZE), "punch: %s", strerror(errno));
	run_to_stage(vcpu, 0);
	TEST_ASSERT(host_read_sigbus(mem + PAGE_SIZE), "punched private page became host-mappable");
	ksft_test_result_pass("a punched private page is a new zeroed private page for the guest\n");
	gmem_vm_free(&g);
}

/*
 * A conversion to private while the guest has the page mapped: KVM holds no page reference for its
 * mappings, so the conversion does not fail with EAGAIN, and it drops the guest's mapping (the next
 * guest access, still asking for shared, exits).
 */
static void guest_touch(void)
{
	uint8_t *page0 = (uint8_t *)TEST_GPA;

	for (;;) {
		(void)READ_ONCE(page0[0]);
		GUEST_SYNC(1);
	}
}

static void test_convert_while_guest_mapped(void)
{
	struct gmem_vm g = gmem_vm_create(guest_touch, false);

	run_to_stage(g.vcpu, 1);
	gmem_convert(g.fd, 0, PAGE_SIZE, true);
	run_to_memory_fault(g.vcpu, 0);
	gmem_convert(g.fd, 0, PAGE_SIZE, false);
	run_to_stage(g.vcpu, 1);
	ksft_test_result_pass("converting a page the guest has mapped succeeds and unmaps it\n");
	gmem_vm_free(&g);
}

/*
 * Memory failure on a page the guest has mapped: KVM's mapping goes, and the guest's next access
 * fails with EHWPOISON (needs CONFIG_MEMORY_FAILURE, in the debug kernel).
 */
static void test_memory_failure(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct gmem_vm g = gmem_vm_create(guest_touch, true);
	int r = 0;

	g.mem[0] = 1;
	run_to_stage(g.vcpu, 1);

	/* The page is dirty, so the kernel may kill the mapping process at injection: catch it. */
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(sigbus_jmp, 1))
		r = madvise(g.mem, PAGE_SIZE, MADV_HWPOISON);
	sigaction(SIGBUS, &old, NULL);
	if (r && errno == EINVAL) {
		ksft_test_result_skip("memory failure: kernel without CONFIG_MEMORY_FAILURE\n");
	} else {
		TEST_ASSERT(!r, "MADV_HWPOISON: %s", strerror(errno));
		r = _vcpu_run(g.vcpu);
		TEST_ASSERT(r == -1 && errno == EHWPOISON,
			    "guest access to a poisoned page: KVM_RUN returned %d (%s)", r,
			    strerror(errno));
		ksft_test_result_pass("a poisoned page leaves the guest's mapping; access gives EHWPOISON\n");
	}
	gmem_vm_free(&g);
}

/*
 * Conversions race with a running guest: a host thread converts random pages back and forth (file
 * and attributes, in random order, so the guest also meets both kinds of mismatch) while the guest
 * writes and reads back every page. The pages stay the same (in place), so this checks the
 * locking and the exits rather than the data: every mismatch must exit and resume cleanly, the
 * guest must keep running, and the kernel log must stay clean (lockdep, KASAN in the debug run).
 */
static void guest_race(void)
{
	for (uint64_t i = 1;; i++) {
		for (int p = 0; p < TEST_NPAGES; p++) {
			volatile uint64_t *q = (uint64_t *)(TEST_GPA + p * PAGE_SIZE);

			*q = i;
			GUEST_ASSERT_EQ(*q, i);
		}
		if (i % 16 == 0)
			GUEST_SYNC(1);
	}
}

struct race {
	struct gmem_vm g;
	volatile bool stop;
	unsigned long conversions;
};

static void *race_converter(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 1;

	while (!r->stop) {
		uint64_t page = rand_r(&seed) % TEST_NPAGES;
		bool private = rand_r(&seed) & 1, file_first = rand_r(&seed) & 1;
		uint64_t gpa = TEST_GPA + page * PAGE_SIZE;

		if (file_first)
			gmem_convert(r->g.fd, page * PAGE_SIZE, PAGE_SIZE, private);
		vm_set_memory_attributes(r->g.vm, gpa, PAGE_SIZE,
					 private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
		if (!file_first)
			gmem_convert(r->g.fd, page * PAGE_SIZE, PAGE_SIZE, private);
		r->conversions++;
	}
	return NULL;
}

static void test_conversion_race(void)
{
	struct race race = { .g = gmem_vm_create(guest_race, false) };
	unsigned long syncs = 0, faults = 0;
	struct kvm_vcpu *vcpu = race.g.vcpu;
	struct timespec t0, t;
	pthread_t thread;
	struct ucall uc;

	pthread_create(&thread, NULL, race_converter, &race);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (_vcpu_run(vcpu)) {
			TEST_ASSERT(errno == EFAULT &&
				    vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT,
				    "KVM_RUN: %s, exit reason %u", strerror(errno),
				    vcpu->run->exit_reason);
			faults++;
		} else {
			switch (get_ucall(vcpu, &uc)) {
			case UCALL_SYNC:
				syncs++;
				break;
			case UCALL_ABORT:
				REPORT_GUEST_ASSERT(uc);
			default:
				TEST_FAIL("unexpected exit %u", vcpu->run->exit_reason);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 3);
	race.stop = true;
	pthread_join(thread, NULL);

	/* Everything shared in both views: the guest goes on. */
	gmem_convert(race.g.fd, 0, TEST_SIZE, false);
	vm_mem_set_shared(race.g.vm, TEST_GPA, TEST_SIZE);
	run_to_stage(vcpu, 1);
	TEST_ASSERT(syncs > 0 && race.conversions > 0, "no progress: %lu syncs, %lu conversions",
		    syncs, race.conversions);
	ksft_print_msg("race: %lu conversions, %lu guest rounds of 16, %lu memory-fault exits\n",
		       race.conversions, syncs, faults);
	ksft_test_result_pass("conversions racing a running guest: it keeps running, exits cleanly\n");
	gmem_vm_free(&race.g);
}

/* Which files KVM takes, and which flags each VM type gets. */
static void test_files_and_flags(void)
{
	struct kvm_vm *vm = vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM);
	struct kvm_vm *plain = vm_create_barebones();
	struct kvm_create_guest_memfd args = { .size = PAGE_SIZE };
	int dev, fd, r;

	/* A VM without private memory takes no flags (6.12's guest_memfd_test checks that). */
	TEST_ASSERT(__vm_create_guest_memfd(plain, PAGE_SIZE, GUEST_MEMFD_FLAG_MMAP) < 0 &&
		    errno == EINVAL, "MMAP accepted on a VM without private memory");
	TEST_ASSERT(__vm_create_guest_memfd(vm, PAGE_SIZE, 1ull << 63) < 0 && errno == EINVAL,
		    "unknown flag accepted");
	fd = __vm_create_guest_memfd(vm, PAGE_SIZE,
				     GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	TEST_ASSERT(fd >= 0, "MMAP | INIT_SHARED refused on a SW-protected VM: %s",
		    strerror(errno));
	close(fd);

	/* A rust_gmem file made without a VM belongs to none: KVM refuses it. */
	dev = open("/dev/guest_memfd", O_RDWR);
	TEST_ASSERT(dev >= 0, "open /dev/guest_memfd: %s", strerror(errno));
	fd = ioctl(dev, KVM_CREATE_GUEST_MEMFD, &args);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_GUEST_MEMFD on /dev/guest_memfd: %s", strerror(errno));
	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, PAGE_SIZE,
					 NULL, fd, 0);
	TEST_ASSERT(r < 0 && errno == EINVAL, "a file of no VM was bound: %d", r);
	/* Nor may the device itself be bound. */
	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, PAGE_SIZE,
					 NULL, dev, 0);
	TEST_ASSERT(r < 0 && errno == EINVAL, "/dev/guest_memfd was bound: %d", r);
	close(fd);
	close(dev);
	ksft_test_result_pass("flags per VM type; files of no VM and the device are refused\n");

	kvm_vm_free(plain);
	kvm_vm_free(vm);
}

/*
 * Huge pages (GUEST_MEMFD_FLAG_HUGETLB, 2 MiB): KVM maps an unsplit private huge folio with one
 * 2 MiB mapping (kvm_gmem_get_pfn()'s max_order), and only 4 KiB pages once part of it is shared.
 */
#define HUGE_GPA	(1ull << 33)
#define HUGE_SLOT	11
#define HUGE_SIZE	(2ul << 20)

static uint64_t huge_target;

static void guest_touch_target(void)
{
	for (;;) {
		(void)READ_ONCE(*(uint8_t *)(HUGE_GPA + READ_ONCE(huge_target)));
		GUEST_SYNC(1);
	}
}

static void huge_touch(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t offset)
{
	huge_target = offset;
	sync_global_to_guest(vm, huge_target);
	run_to_stage(vcpu, 1);
}

static void huge_slot_add(struct kvm_vm *vm, int fd, void *mem)
{
	vm_set_user_memory_region2(vm, HUGE_SLOT, KVM_MEM_GUEST_MEMFD, HUGE_GPA, HUGE_SIZE, mem, fd, 0);
}

static void test_huge_mapping(void)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB | GUESTMEM_HUGETLB_FLAG_2MB;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	void *mem;
	int fd;

	vm = vm_create_shape_with_one_vcpu(protected_vm_shape, &vcpu, guest_touch_target);
	fd = __vm_create_guest_memfd(vm, HUGE_SIZE, flags);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == ENOMEM)) {
		ksft_test_result_skip("huge mapping: no 2 MiB huge-page files (%s)\n", strerror(errno));
		kvm_vm_free(vm);
		return;
	}
	TEST_ASSERT(fd >= 0, "2 MiB huge-page file: %s", strerror(errno));
	mem = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	huge_slot_add(vm, fd, mem);
	virt_map(vm, HUGE_GPA, HUGE_GPA, HUGE_SIZE / PAGE_SIZE);
	vm_set_memory_attributes(vm, HUGE_GPA, HUGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE);

	/* Unsplit: one 2 MiB mapping. */
	huge_touch(vm, vcpu, 5 * PAGE_SIZE);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 1, "unsplit huge folio: pages_2m %lu",
		    vm_get_stat(vm, "pages_2m"));

	/* One page shared: the folio is split, the mapping goes, and private pages map at 4 KiB. */
	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, false);
	vm_set_memory_attributes(vm, HUGE_GPA + PAGE_SIZE, PAGE_SIZE, 0);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 0, "split: pages_2m %lu",
		    vm_get_stat(vm, "pages_2m"));
	huge_touch(vm, vcpu, 5 * PAGE_SIZE);
	huge_touch(vm, vcpu, PAGE_SIZE);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 0 && vm_get_stat(vm, "pages_4k") >= 2,
		    "split: pages_2m %lu pages_4k %lu", vm_get_stat(vm, "pages_2m"),
		    vm_get_stat(vm, "pages_4k"));

	/* Private again: merged; a fresh slot (no old 4 KiB mappings) maps it at 2 MiB again. */
	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, true);
	vm_set_memory_attributes(vm, HUGE_GPA + PAGE_SIZE, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	vm_set_user_memory_region2(vm, HUGE_SLOT, 0, HUGE_GPA, 0, NULL, -1, 0);
	huge_slot_add(vm, fd, mem);
	huge_touch(vm, vcpu, 7 * PAGE_SIZE);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 1, "merged: pages_2m %lu",
		    vm_get_stat(vm, "pages_2m"));
	ksft_test_result_pass("huge mapping: 2 MiB while unsplit, 4 KiB while split, 2 MiB once merged\n");

	munmap(mem, HUGE_SIZE);
	close(fd);
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));

	ksft_print_header();
	ksft_set_plan(13);
	test_files_and_flags();
	test_sharing();
	test_convert_while_guest_mapped();
	test_memory_failure();
	test_conversion_race();
	test_huge_mapping();
	ksft_finished();
}
