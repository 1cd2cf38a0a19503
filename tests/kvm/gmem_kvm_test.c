// SPDX-License-Identifier: GPL-2.0
/*
 * rust_gmem through KVM, in-place conversion as Linux 7.4 (rust_gmem.in_place_conversion=Y, the
 * default): a KVM_X86_SW_PROTECTED_VM guest shares memory with the host through one rust_gmem file,
 * and the file alone says what is private. Built against the 6.12 KVM selftest library
 * (scripts/build-kvm-tests.sh) and run in the test VM with rust_gmem loaded.
 *
 * The file is made with KVM_CREATE_GUEST_MEMFD on the VM (GUEST_MEMFD_FLAG_MMAP |
 * GUEST_MEMFD_FLAG_INIT_SHARED) and bound to a memslot whose userspace_addr is the host's mapping of
 * the same file. Conversions are KVM_SET_MEMORY_ATTRIBUTES2 on the file; the guest's accesses follow
 * them without exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
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

static const struct vm_shape protected_vm_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

static void guest_check(uint8_t *p, uint8_t byte)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		GUEST_ASSERT_EQ(p[i], byte);
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

/* KVM_SET_MEMORY_ATTRIBUTES2 on the file; returns 0 or -errno, *error_offset as written back. */
static int __gmem_set_attributes(int fd, uint64_t offset, uint64_t size, uint64_t attributes,
				 uint64_t *error_offset)
{
	struct kvm_memory_attributes2 args = {
		.offset = offset, .size = size, .attributes = attributes,
	};
	int r = ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, &args);

	if (error_offset)
		*error_offset = args.error_offset;
	return r ? -errno : 0;
}

/*
 * Converts, retrying while it fails with EAGAIN: a KVM fault that races with a conversion to
 * private holds a reference to the page for a moment.
 */
static void gmem_convert(int fd, uint64_t offset, uint64_t size, bool to_private)
{
	uint64_t attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;

	for (int tries = 0;; tries++) {
		int r = __gmem_set_attributes(fd, offset, size, attributes, NULL);

		if (!r)
			return;
		TEST_ASSERT(r == -EAGAIN && tries < 1000, "conversion of %#lx+%#lx to %s: %s",
			    offset, size, to_private ? "private" : "shared", strerror(-r));
		usleep(100);
	}
}

/* Runs the vCPU to the guest's GUEST_SYNC(stage), or its GUEST_DONE() for stage 0. */
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

/* A VM running `guest`, whose TEST_GPA..+TEST_SIZE is one rust_gmem file. */
struct gmem_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
	uint8_t *mem;	/* the host's mapping, also the slot's userspace_addr; NULL without */
};

static struct gmem_vm gmem_vm_create(struct vm_shape shape, void *guest, uint64_t flags,
				     bool host_mapping)
{
	struct gmem_vm g = { .mem = NULL };

	g.vm = vm_create_shape_with_one_vcpu(shape, &g.vcpu, guest);
	g.fd = vm_create_guest_memfd(g.vm, TEST_SIZE, flags);
	if (host_mapping) {
		g.mem = mmap(NULL, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0);
		TEST_ASSERT(g.mem != MAP_FAILED, "mmap of the guest_memfd: %s", strerror(errno));
	}
	vm_set_user_memory_region2(g.vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, TEST_SIZE, g.mem,
				   g.fd, 0);
	virt_map(g.vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	return g;
}

static struct gmem_vm shared_vm_create(void *guest, bool host_mapping)
{
	return gmem_vm_create(protected_vm_shape, guest,
			      GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, host_mapping);
}

static void gmem_vm_free(struct gmem_vm *g)
{
	if (g->mem)
		munmap(g->mem, TEST_SIZE);
	close(g->fd);
	kvm_vm_free(g->vm);
}

/*
 * What KVM reports and accepts with in-place conversion on, as Linux 7.4: guest_memfd flags MMAP and
 * INIT_SHARED on every VM type (each single flag bit reported works, every other fails with EINVAL);
 * KVM_SET_MEMORY_ATTRIBUTES2 on private-memory VMs; the VM-level attributes cannot make memory
 * private.
 */
static void test_capabilities(void)
{
	const uint64_t both = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	struct kvm_vm *vms[2] = { vm_create_barebones(),
				  vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM) };
	struct kvm_memory_attributes attrs = {
		.address = TEST_GPA, .size = PAGE_SIZE, .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	int fd, r;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS), both);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
		       KVM_MEMORY_ATTRIBUTE_PRIVATE);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_MEMORY_ATTRIBUTES), 0);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD), 1);
	for (int i = 0; i < 2; i++) {
		struct kvm_vm *vm = vms[i];
		uint64_t flags = vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);

		TEST_ASSERT_EQ(flags, both);
		TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD), 1);
		TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
			       i ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
		TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
		for (int bit = 0; bit < 64; bit++) {
			fd = __vm_create_guest_memfd(vm, PAGE_SIZE, 1ull << bit);
			if (flags & (1ull << bit)) {
				TEST_ASSERT(fd >= 0, "flag bit %d reported but refused: %s", bit,
					    strerror(errno));
				close(fd);
			} else {
				TEST_ASSERT(fd < 0 && errno == EINVAL, "flag bit %d not reported: %d",
					    bit, fd);
			}
		}
		/* A file of a VM without private memory has no private pages to make. */
		fd = vm_create_guest_memfd(vm, PAGE_SIZE, both);
		r = __gmem_set_attributes(fd, 0, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, NULL);
		TEST_ASSERT(i ? r == 0 : r == -EINVAL, "KVM_SET_MEMORY_ATTRIBUTES2 on a %s VM: %d",
			    i ? "SW-protected" : "default", r);
		close(fd);
	}
	/* The VM's own attributes cannot make memory private; "shared" is accepted (a no-op). */
	r = ioctl(vms[1]->fd, KVM_SET_MEMORY_ATTRIBUTES, &attrs);
	TEST_ASSERT(r && errno == EINVAL, "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE): %d", r);
	attrs.attributes = 0;
	TEST_ASSERT(!ioctl(vms[1]->fd, KVM_SET_MEMORY_ATTRIBUTES, &attrs),
		    "KVM_SET_MEMORY_ATTRIBUTES(0): %s", strerror(errno));
	kvm_vm_free(vms[0]);
	kvm_vm_free(vms[1]);
	ksft_test_result_pass("capabilities and flags as Linux 7.4 with in-place conversion\n");
}

/* Which files KVM takes. */
static void test_files(void)
{
	struct kvm_vm *vm = vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM);
	struct kvm_vm *other = vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM);
	struct kvm_create_guest_memfd args = { .size = PAGE_SIZE };
	int dev, fd, r;

	/* A rust_gmem file made without a VM belongs to none: KVM refuses it. */
	dev = open("/dev/guest_memfd", O_RDWR);
	TEST_ASSERT(dev >= 0, "open /dev/guest_memfd: %s", strerror(errno));
	fd = ioctl(dev, KVM_CREATE_GUEST_MEMFD, &args);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_GUEST_MEMFD on /dev/guest_memfd: %s", strerror(errno));
	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, PAGE_SIZE,
					 NULL, fd, 0);
	TEST_ASSERT(r < 0 && errno == EINVAL, "a file of no VM was bound: %d", r);
	/* Nor may the device itself be bound, nor another VM's file. */
	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, PAGE_SIZE,
					 NULL, dev, 0);
	TEST_ASSERT(r < 0 && errno == EINVAL, "/dev/guest_memfd was bound: %d", r);
	close(fd);
	fd = vm_create_guest_memfd(other, PAGE_SIZE, 0);
	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA, PAGE_SIZE,
					 NULL, fd, 0);
	TEST_ASSERT(r < 0 && errno == EINVAL, "another VM's file was bound: %d", r);
	close(fd);
	close(dev);
	kvm_vm_free(other);
	kvm_vm_free(vm);
	ksft_test_result_pass("files of no VM, of another VM and the device are refused\n");
}

/* A VM without private memory whose only memory besides slot 0 is a MMAP | INIT_SHARED file. */
static void guest_default_vm(void)
{
	uint8_t *p = (uint8_t *)TEST_GPA;

	guest_check(p, HOST_BYTE);
	memset(p, GUEST_BYTE, PAGE_SIZE);
	GUEST_DONE();
}

static void test_default_vm(void)
{
	struct gmem_vm g = gmem_vm_create(VM_SHAPE_DEFAULT, guest_default_vm,
					  GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
					  true);

	memset(g.mem, HOST_BYTE, TEST_SIZE);
	run_to_stage(g.vcpu, 0);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT(g.mem[i] == GUEST_BYTE, "host sees %#x at %zu", g.mem[i], i);
	gmem_vm_free(&g);
	ksft_test_result_pass("a default VM runs on a MMAP | INIT_SHARED file, shared with the host\n");
}

static void guest_sharing(void)
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
	/* 4: the host punched page 0: zeroes. */
	guest_check(page0, 0);
	GUEST_SYNC(4);
	/* 5: page 1 private: write it; the host punches it. */
	memset(page1, GUEST_BYTE2, PAGE_SIZE);
	GUEST_SYNC(5);
	/* 6: a new, zeroed private page. */
	guest_check(page1, 0);
	GUEST_DONE();
}

static void test_sharing(void)
{
	struct gmem_vm g = shared_vm_create(guest_sharing, true);
	struct kvm_vcpu *vcpu = g.vcpu;
	uint8_t *mem = g.mem;
	int fd = g.fd;

	memset(mem, HOST_BYTE, TEST_SIZE);
	run_to_stage(vcpu, 1);
	ksft_test_result_pass("guest reads what the host wrote to a shared page\n");

	gmem_convert(fd, 0, PAGE_SIZE, true);
	TEST_ASSERT(host_read_sigbus(mem), "host read of a private page did not SIGBUS");
	TEST_ASSERT(!host_read_sigbus(mem + PAGE_SIZE), "host read of a shared page SIGBUSed");
	ksft_test_result_pass("host access to the private page raises SIGBUS, its neighbour works\n");

	run_to_stage(vcpu, 2);
	ksft_test_result_pass("guest reads the host's data in place and writes its own, private, without an exit\n");

	gmem_convert(fd, 0, PAGE_SIZE, false);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		TEST_ASSERT(mem[i] == GUEST_BYTE, "host sees %#x at %zu, not the guest's data",
			    mem[i], i);
	run_to_stage(vcpu, 3);
	ksft_test_result_pass("converted back to shared, the host reads the guest's data\n");

	/* The guest has page 0 mapped shared: punching must drop KVM's mapping too. */
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PAGE_SIZE),
		    "punch: %s", strerror(errno));
	TEST_ASSERT(mem[0] == 0, "host sees %#x after the punch", mem[0]);
	run_to_stage(vcpu, 4);
	ksft_test_result_pass("a punched shared page reads zeroes in the guest and the host\n");

	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, true);
	run_to_stage(vcpu, 5);
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PAGE_SIZE,
			       PAGE_SIZE), "punch: %s", strerror(errno));
	run_to_stage(vcpu, 0);
	TEST_ASSERT(host_read_sigbus(mem + PAGE_SIZE), "punched private page became host-mappable");
	ksft_test_result_pass("a punched private page is a new zeroed private page for the guest\n");
	gmem_vm_free(&g);
}

/*
 * The guest asks for conversions itself (KVM_HC_MAP_GPA_RANGE, KVM_CAP_EXIT_HYPERCALL), as a CoCo
 * guest does; the VMM converts the file and lets it go on.
 */
static void guest_map_gpa(uint64_t gpa, uint64_t npages, bool private)
{
	uint64_t attrs = private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED;

	GUEST_ASSERT_EQ(kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs, 0), 0);
}

static void guest_hypercalls(void)
{
	uint8_t *page0 = (uint8_t *)TEST_GPA;
	uint8_t *page2 = page0 + 2 * PAGE_SIZE;

	guest_check(page0, HOST_BYTE);
	guest_map_gpa(TEST_GPA, 1, true);
	/* Private, in place: the host's bytes; now ours. */
	guest_check(page0, HOST_BYTE);
	memset(page0, GUEST_BYTE, PAGE_SIZE);
	GUEST_SYNC(1);
	/* Two pages at once, back to shared. */
	guest_map_gpa(TEST_GPA, 2, false);
	memset(page2, GUEST_BYTE2, PAGE_SIZE);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* Handles the guest's KVM_HC_MAP_GPA_RANGE exits by converting the file; returns at a ucall. */
static uint64_t run_handling_hypercalls(struct gmem_vm *g, unsigned long *hypercalls)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(g->vcpu);
		if (g->vcpu->run->exit_reason == KVM_EXIT_HYPERCALL) {
			struct kvm_run *run = g->vcpu->run;
			uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
			bool private = run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;

			TEST_ASSERT_EQ(run->hypercall.nr, KVM_HC_MAP_GPA_RANGE);
			gmem_convert(g->fd, gpa - TEST_GPA, npages * PAGE_SIZE, private);
			run->hypercall.ret = 0;
			(*hypercalls)++;
			continue;
		}
		TEST_ASSERT_KVM_EXIT_REASON(g->vcpu, KVM_EXIT_IO);
		switch (get_ucall(g->vcpu, &uc)) {
		case UCALL_SYNC:
			return uc.args[1];
		case UCALL_DONE:
			return 0;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

static void test_guest_hypercalls(void)
{
	struct gmem_vm g = shared_vm_create(guest_hypercalls, true);
	unsigned long hypercalls = 0;

	vm_enable_cap(g.vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
	memset(g.mem, HOST_BYTE, TEST_SIZE);
	TEST_ASSERT_EQ(run_handling_hypercalls(&g, &hypercalls), 1);
	TEST_ASSERT(host_read_sigbus(g.mem), "the page the guest made private is host-mappable");
	TEST_ASSERT_EQ(run_handling_hypercalls(&g, &hypercalls), 2);
	TEST_ASSERT(g.mem[0] == GUEST_BYTE && g.mem[2 * PAGE_SIZE] == GUEST_BYTE2,
		    "host sees %#x and %#x", g.mem[0], g.mem[2 * PAGE_SIZE]);
	TEST_ASSERT_EQ(run_handling_hypercalls(&g, &hypercalls), 0);
	TEST_ASSERT_EQ(hypercalls, 2);
	gmem_vm_free(&g);
	ksft_test_result_pass("the guest converts with KVM_HC_MAP_GPA_RANGE, the VMM converts the file in place\n");
}

/*
 * A conversion to private while the guest has the page mapped shared: KVM holds no page reference
 * for its mappings, so the conversion does not fail with EAGAIN; the guest's next access is a
 * private one, without an exit, to the same data.
 */
static void guest_touch(void)
{
	volatile uint64_t *p = (uint64_t *)TEST_GPA;

	for (uint64_t i = 1;; i++) {
		*p = i;
		GUEST_ASSERT_EQ(*p, i);
		GUEST_SYNC(1);
	}
}

static void test_convert_while_guest_mapped(void)
{
	struct gmem_vm g = shared_vm_create(guest_touch, true);

	run_to_stage(g.vcpu, 1);
	gmem_convert(g.fd, 0, PAGE_SIZE, true);
	run_to_stage(g.vcpu, 1);
	gmem_convert(g.fd, 0, PAGE_SIZE, false);
	TEST_ASSERT(*(uint64_t *)g.mem == 2, "host sees %lu", *(uint64_t *)g.mem);
	run_to_stage(g.vcpu, 1);
	ksft_test_result_pass("converting a page the guest has mapped succeeds; the guest goes on\n");
	gmem_vm_free(&g);
}

/*
 * Memory failure on a page the guest has mapped: KVM's mapping goes, and the guest's next access
 * fails with EHWPOISON.
 */
static void test_memory_failure(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct gmem_vm g = shared_vm_create(guest_touch, true);
	int r = 0;

	g.mem[0] = 1;
	run_to_stage(g.vcpu, 1);

	/* The page is dirty, so the kernel signals the mapping process at injection: catch it. */
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
 * Conversions race with a running guest: a host thread converts random pages back and forth
 * while the guest writes and reads back every page. The pages stay the same (in place) and the
 * guest's accesses follow the file; this checks the locking and the invalidation (lockdep and KASAN
 * in the debug run). An access that races with the conversion of its page can exit with
 * KVM_EXIT_MEMORY_FAULT (KVM decides the access type and then checks it against the file again, as
 * Linux 7.4 does): the VMM just runs the guest again.
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
		uint64_t pages = 1 + rand_r(&seed) % (TEST_NPAGES - page);

		gmem_convert(r->g.fd, page * PAGE_SIZE, pages * PAGE_SIZE, rand_r(&seed) & 1);
		r->conversions++;
	}
	return NULL;
}

static void test_conversion_race(void)
{
	struct race race = { .g = shared_vm_create(guest_race, false) };
	struct kvm_vcpu *vcpu = race.g.vcpu;
	unsigned long syncs = 0, faults = 0;
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
			TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
			TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
			syncs++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 3);
	race.stop = true;
	pthread_join(thread, NULL);

	TEST_ASSERT(syncs > 0 && race.conversions > 0, "no progress: %lu syncs, %lu conversions",
		    syncs, race.conversions);
	ksft_print_msg("race: %lu conversions, %lu guest rounds of 16, %lu racing memory-fault exits\n",
		       race.conversions, syncs, faults);
	ksft_test_result_pass("conversions racing a running guest: it keeps running\n");
	gmem_vm_free(&race.g);
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

	/* Unsplit (private from creation): one 2 MiB mapping. */
	huge_touch(vm, vcpu, 5 * PAGE_SIZE);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 1, "unsplit huge folio: pages_2m %lu",
		    vm_get_stat(vm, "pages_2m"));

	/* One page shared: the folio is split, the mapping goes, and private pages map at 4 KiB. */
	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, false);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 0, "split: pages_2m %lu",
		    vm_get_stat(vm, "pages_2m"));
	huge_touch(vm, vcpu, 5 * PAGE_SIZE);
	huge_touch(vm, vcpu, PAGE_SIZE);
	TEST_ASSERT(vm_get_stat(vm, "pages_2m") == 0 && vm_get_stat(vm, "pages_4k") >= 2,
		    "split: pages_2m %lu pages_4k %lu", vm_get_stat(vm, "pages_2m"),
		    vm_get_stat(vm, "pages_4k"));

	/* Private again: merged, and KVM's 4 KiB mappings of the block went with the merge. */
	gmem_convert(fd, PAGE_SIZE, PAGE_SIZE, true);
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
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) &
		     KVM_MEMORY_ATTRIBUTE_PRIVATE);

	ksft_print_header();
	ksft_set_plan(14);
	test_capabilities();
	test_files();
	test_default_vm();
	test_sharing();
	test_guest_hypercalls();
	test_convert_while_guest_mapped();
	test_memory_failure();
	test_conversion_race();
	test_huge_mapping();
	ksft_finished();
}
