// SPDX-License-Identifier: GPL-2.0
/*
 * rust_gmem huge-page files (GUEST_MEMFD_FLAG_HUGETLB, 2 MiB) under KVM: how they may be bound to
 * memslots, and KVM's huge mappings of them while the host converts single pages of a huge block.
 * Built against the KVM selftest library (scripts/build-kvm-tests.sh); needs rust_gmem loaded (in-place
 * conversion, its default) on a kernel with patches/0003 and free 2 MiB pages in the pool. The files
 * are private from creation; conversions are KVM_GMEM_CONVERT_* on the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/rust_gmem.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define HUGE_GPA	(1ull << 33)
#define HUGE_SLOT	11
#define HUGE_SIZE	(2ul << 20)
#define HUGE_PAGES	(HUGE_SIZE / PAGE_SIZE)
#define HUGE_FLAGS	(GUEST_MEMFD_FLAG_HUGETLB | GUESTMEM_HUGETLB_FLAG_2MB)
/* The race runs for this many splits, or this many seconds, whichever comes first. */
#define RACE_SPLITS	150
#define RACE_SECONDS	15

static const struct vm_shape protected_vm_shape = {
	.mode = VM_MODE_DEFAULT,
	.type = KVM_X86_SW_PROTECTED_VM,
};

static volatile bool guest_stop;

/* Writes and reads back every page of the block, until told to stop. */
static void guest_code(void)
{
	for (uint64_t round = 1; !READ_ONCE(guest_stop); round++) {
		for (uint64_t p = 0; p < HUGE_PAGES; p++) {
			volatile uint64_t *q = (uint64_t *)(HUGE_GPA + p * PAGE_SIZE + (round % 64) * 8);

			*q = round ^ p;
			GUEST_ASSERT_EQ(*q, round ^ p);
		}
		GUEST_SYNC(round);
	}
	GUEST_DONE();
}

/* rust_gmem's debugfs knob that widens the window of the race below. */
#define CONVERT_DELAY_KNOB	"/sys/kernel/debug/rust_gmem/convert_delay_us"

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	TEST_ASSERT(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
		    "writing %s: %s", path, strerror(errno));
	close(fd);
}

static unsigned long conversion_retries;

/*
 * Converts, retrying while it fails with EAGAIN: a KVM lookup racing with a split or merge holds
 * a reference to the folio for a moment.
 */
static void gmem_convert(int fd, uint64_t offset, uint64_t size, bool to_private)
{
	for (int tries = 0;; tries++) {
		struct kvm_gmem_convert args = { .offset = offset, .size = size };
		int r = ioctl(fd, to_private ? KVM_GMEM_CONVERT_PRIVATE : KVM_GMEM_CONVERT_SHARED,
			      &args);

		if (!r)
			return;
		TEST_ASSERT(errno == EAGAIN && tries < 1000, "conversion of %#lx+%#lx to %s: %s",
			    offset, size, to_private ? "private" : "shared", strerror(errno));
		conversion_retries++;
		usleep(100);
	}
}

/* A 2 MiB huge-page file of `vm` of `size` bytes, or -1 (test skipped) without huge-page files. */
static int huge_file(struct kvm_vm *vm, uint64_t size, const char *test)
{
	int fd = __vm_create_guest_memfd(vm, size, GUEST_MEMFD_FLAG_MMAP | HUGE_FLAGS);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == ENOMEM)) {
		ksft_test_result_skip("%s: no 2 MiB huge-page files (%s)\n", test, strerror(errno));
		return -1;
	}
	TEST_ASSERT(fd >= 0, "2 MiB huge-page file: %s", strerror(errno));
	return fd;
}

/*
 * A huge folio can only be mapped by KVM if the memslot's file offset is a multiple of its size, and
 * KVM prepares whole folios: a binding at another offset is refused (EINVAL). One at an aligned
 * offset serves the guest.
 */
static void test_unaligned_binding(void)
{
	struct kvm_pre_fault_memory range = { .gpa = HUGE_GPA, .size = PAGE_SIZE };
	const char *name = "huge-page file bound at an offset that is not a multiple of 2 MiB";
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fd, r;

	vm = vm_create_shape_with_one_vcpu(protected_vm_shape, &vcpu, guest_code);
	fd = huge_file(vm, 2 * HUGE_SIZE, name);
	if (fd < 0) {
		kvm_vm_free(vm);
		return;
	}
	r = __vm_set_user_memory_region2(vm, HUGE_SLOT, KVM_MEM_GUEST_MEMFD, HUGE_GPA, HUGE_SIZE,
					 NULL, fd, PAGE_SIZE);
	if (!r) {
		/* Accepted: what a guest access does with it is what the kernel log shows. */
		__vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, &range);
		ksft_test_result_fail("%s: accepted\n", name);
	} else {
		TEST_ASSERT(errno == EINVAL, "unaligned binding: %s, expected EINVAL",
			    strerror(errno));
		/* Aligned, the same file serves the guest. */
		vm_set_user_memory_region2(vm, HUGE_SLOT, KVM_MEM_GUEST_MEMFD, HUGE_GPA, HUGE_SIZE,
					   NULL, fd, HUGE_SIZE);
		vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, &range);
		ksft_test_result_pass("%s: EINVAL; aligned it serves the guest\n", name);
	}
	close(fd);
	kvm_vm_free(vm);
}

struct race {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	/* A second vCPU, never run, whose MMU pre-faults the page converted last. */
	struct kvm_vcpu *prefault_vcpu;
	int fd;
	volatile uint64_t last;
	volatile bool stop;
	uint64_t rounds;
	unsigned long faults, prefaults;
};

static void *prefault(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		struct kvm_pre_fault_memory range = {
			.gpa = HUGE_GPA + r->last,
			.size = PAGE_SIZE,
		};

		/* A page the host has just made shared may fail here; that is fine. */
		if (!__vcpu_ioctl(r->prefault_vcpu, KVM_PRE_FAULT_MEMORY, &range))
			r->prefaults++;

	}
	return NULL;
}

static void *run_guest(void *arg)
{
	struct race *r = arg;
	struct ucall uc;

	for (;;) {
		/*
		 * An access racing with the conversion of its page can exit (KVM checks the access
		 * type against the file again before mapping, as Linux 7.4): run again.
		 */
		if (_vcpu_run(r->vcpu)) {
			TEST_ASSERT(errno == EFAULT &&
				    r->vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT,
				    "KVM_RUN: %s, exit reason %u", strerror(errno),
				    r->vcpu->run->exit_reason);
			r->faults++;
			continue;
		}
		TEST_ASSERT_KVM_EXIT_REASON(r->vcpu, KVM_EXIT_IO);
		switch (get_ucall(r->vcpu, &uc)) {
		case UCALL_SYNC:
			r->rounds = uc.args[1];
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/*
 * The host converts one 4 KiB page of a huge block shared and back, a different page each time,
 * while the guest keeps touching every page and another thread keeps faulting in, through a second
 * vCPU's KVM_PRE_FAULT_MEMORY, the page converted last. Each conversion to shared splits the block
 * and each one back merges it; KVM may map the block at 2 MiB only while it is one huge folio, so
 * its 2 MiB mapping count must be 0 whenever the host has just split it (a fault that looked the
 * huge folio up before the split and mapped it after would leave a stale 2 MiB mapping). The guest
 * checks its data all along.
 */
static void test_split_race(void)
{
	const char *name = "conversions of one page of a huge block racing guest faults";
	struct race r = { 0 };
	unsigned long splits = 0, stale = 0, huge = 0;
	struct timespec t0, t;
	pthread_t thread, prefaulter;
	uint8_t *mem;

	r.vm = vm_create_shape_with_one_vcpu(protected_vm_shape, &r.vcpu, guest_code);
	r.prefault_vcpu = vm_vcpu_add(r.vm, 1, guest_code);
	r.fd = huge_file(r.vm, HUGE_SIZE, name);
	if (r.fd < 0) {
		kvm_vm_free(r.vm);
		return;
	}
	mem = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	vm_set_user_memory_region2(r.vm, HUGE_SLOT, KVM_MEM_GUEST_MEMFD, HUGE_GPA, HUGE_SIZE, mem,
				   r.fd, 0);
	virt_map(r.vm, HUGE_GPA, HUGE_GPA, HUGE_PAGES);

	/* Widen the window between a conversion's invalidation of KVM's mappings and its split. */
	write_text(CONVERT_DELAY_KNOB, "1000");
	pthread_create(&thread, NULL, run_guest, &r);
	pthread_create(&prefaulter, NULL, prefault, &r);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		uint64_t offset = (splits * 37 % HUGE_PAGES) * PAGE_SIZE;

		gmem_convert(r.fd, offset, PAGE_SIZE, false);
		splits++;
		if (vm_get_stat(r.vm, "pages_2m"))
			stale++;
		gmem_convert(r.fd, offset, PAGE_SIZE, true);
		r.last = offset;
		huge += vm_get_stat(r.vm, "pages_2m") != 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (splits < RACE_SPLITS && t.tv_sec - t0.tv_sec < RACE_SECONDS);
	r.stop = true;
	pthread_join(prefaulter, NULL);
	write_text(CONVERT_DELAY_KNOB, "0");
	*(volatile bool *)addr_gva2hva(r.vm, (vm_vaddr_t)&guest_stop) = true;
	pthread_join(thread, NULL);

	ksft_print_msg("%lu splits (%lu EAGAIN retries), %lu guest rounds, %lu memory-fault exits, %lu pre-faults, %lu times mapped at 2 MiB while merged, %lu while split\n",
		       splits, conversion_retries, (unsigned long)r.rounds, r.faults, r.prefaults,
		       huge, stale);
	TEST_ASSERT(r.rounds > 0, "the guest made no progress");
	if (stale)
		ksft_test_result_fail("%s: a 2 MiB mapping survived %lu of %lu splits\n", name, stale,
				      splits);
	else
		ksft_test_result_pass("%s: no 2 MiB mapping while split\n", name);
	munmap(mem, HUGE_SIZE);
	close(r.fd);
	kvm_vm_free(r.vm);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));

	ksft_print_header();
	ksft_set_plan(2);
	test_unaligned_binding();
	test_split_race();
	ksft_finished();
}
