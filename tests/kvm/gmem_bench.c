// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`, the guest's side: what a guest sees of its memory, measured by the VMM around
 * KVM_RUN, in one run of one VM. Prints "bench: <workload>|<implementation>|<value>|<unit>|<reps>"
 * lines as tests/bench.c does; scripts/bench.py makes the table.
 *
 *   gmem_bench native   with rust_gmem not loaded: KVM's built-in guest_memfd ("kvm_gmem"), and its
 *                       conversions done the 6.12 way ("vmm_6.12": KVM_SET_MEMORY_ATTRIBUTES, plus
 *                       punching the guest_memfd copy when going shared and discarding the shared
 *                       copy, anonymous memory at the memslot's userspace_addr, when going private);
 *   gmem_bench          with rust_gmem loaded (in-place conversion, the default): files of 4 KiB
 *                       pages ("rust_gmem"), 2 MiB and 1 GiB pages ("rust_gmem_2m", "rust_gmem_1g"),
 *                       converted in place with KVM_SET_MEMORY_ATTRIBUTES2.
 *
 * Every VM is a KVM_X86_SW_PROTECTED_VM whose memory under test is one guest_memfd at GPA 4 GiB,
 * private at first. The guest runs commands from the VMM: touch one byte of every 4 KiB page (its
 * first touch faults the memory in through KVM), read them again (the cost of the mappings KVM
 * made), or convert a range to shared and back with KVM_HC_MAP_GPA_RANGE, touching it after each
 * conversion, as a CoCo guest that shares a buffer does.
 *
 * BENCH_ONLY groups: guest-faults, round-trips.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
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

#include "bench_util.h"

#define MiB		(1ull << 20)
#define GiB		(1ull << 30)
#define BENCH_GPA	(4 * GiB)
#define BENCH_SLOT	10
#define REPS		5

enum op { OP_TOUCH = 1, OP_READ, OP_ROUND_TRIPS };

/* The command the guest runs next; written by the VMM before each KVM_RUN. */
static struct {
	uint64_t op;
	uint64_t size;		/* bytes from BENCH_GPA */
	uint64_t passes;	/* OP_READ: passes over the memory; OP_ROUND_TRIPS: round trips */
} cmd;


static void guest_map_gpa(uint64_t gpa, uint64_t npages, bool private)
{
	uint64_t attrs = private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED;

	GUEST_ASSERT_EQ(kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs, 0), 0);
}

static void guest_touch(uint64_t size, uint8_t value)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE)
		*(volatile uint8_t *)(BENCH_GPA + off) = value;
}

static void guest_main(void)
{
	for (;;) {
		uint64_t sum = 0;

		switch (READ_ONCE(cmd.op)) {
		case OP_TOUCH:
			guest_touch(cmd.size, 1);
			break;
		case OP_READ:
			for (uint64_t p = 0; p < cmd.passes; p++)
				for (uint64_t off = 0; off < cmd.size; off += PAGE_SIZE)
					sum += *(volatile uint8_t *)(BENCH_GPA + off);
			GUEST_ASSERT_EQ(sum, cmd.passes * (cmd.size / PAGE_SIZE));
			break;
		case OP_ROUND_TRIPS:
			for (uint64_t i = 0; i < cmd.passes; i++) {
				guest_map_gpa(BENCH_GPA, cmd.size / PAGE_SIZE, false);
				guest_touch(cmd.size, 2);
				guest_map_gpa(BENCH_GPA, cmd.size / PAGE_SIZE, true);
				guest_touch(cmd.size, 3);
			}
			break;
		default:
			GUEST_FAIL("unknown command %lu", cmd.op);
		}
		GUEST_SYNC(cmd.op);
	}
}

enum impl { KVM_GMEM, RUST_GMEM, RUST_GMEM_2M, RUST_GMEM_1G };
static const char *const impl_names[] = { "kvm_gmem", "rust_gmem", "rust_gmem_2m", "rust_gmem_1g" };

struct bench_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	enum impl impl;
	int fd;
	uint64_t size;
	void *mem;	/* the memslot's userspace_addr: anonymous (kvm_gmem) or the file's mapping */
	unsigned long conversions;
};

/*
 * A read-write mapping of `size` bytes of `fd` (MAP_SHARED), or of anonymous memory for -1
 * (MAP_PRIVATE), at an address aligned to min(size, 1 GiB).
 */
static void *map_aligned(uint64_t size, int fd)
{
	uint64_t align = size < GiB ? size : GiB;
	char *area, *start, *p;

	area = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(area != MAP_FAILED, "mmap: %s", strerror(errno));
	start = (char *)(((uintptr_t)area + align - 1) & ~(uintptr_t)(align - 1));
	if (fd < 0)
		p = mmap(start, size, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	else
		p = mmap(start, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0);
	TEST_ASSERT(p == start, "mmap: %s", strerror(errno));
	/* The rest of the reservation goes. */
	if (start > area)
		munmap(area, start - area);
	if (area + size + align > start + size)
		munmap(start + size, area + size + align - (start + size));
	return p;
}

/* A VM whose memory under test is one private guest_memfd of `size` bytes; false if unavailable. */
static bool bench_vm_create(struct bench_vm *b, enum impl impl, uint64_t size)
{
	static const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_X86_SW_PROTECTED_VM,
	};
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP;

	memset(b, 0, sizeof(*b));
	b->impl = impl;
	b->size = size;
	b->vm = vm_create_shape_with_one_vcpu(shape, &b->vcpu, guest_main);
	if (impl == KVM_GMEM)
		flags = 0;
	else if (impl == RUST_GMEM_2M)
		flags |= GUEST_MEMFD_FLAG_HUGETLB | GUESTMEM_HUGETLB_FLAG_2MB;
	else if (impl == RUST_GMEM_1G)
		flags |= GUEST_MEMFD_FLAG_HUGETLB | GUESTMEM_HUGETLB_FLAG_1GB;
	b->fd = __vm_create_guest_memfd(b->vm, size, flags);
	if (b->fd < 0) {
		printf("bench-skip: %s, %llu MiB: %s\n", impl_names[impl],
		       (unsigned long long)(size / MiB), strerror(errno));
		kvm_vm_free(b->vm);
		return false;
	}
	/*
	 * KVM maps a range huge only if its GPA and the memslot's userspace_addr agree modulo the
	 * huge page size: align the mapping to the memory's size, up to 1 GiB (BENCH_GPA is).
	 */
	b->mem = map_aligned(size, impl == KVM_GMEM ? -1 : b->fd);
	vm_set_user_memory_region2(b->vm, BENCH_SLOT, KVM_MEM_GUEST_MEMFD, BENCH_GPA, size, b->mem,
				   b->fd, 0);
	/* 6.12: the VM's attributes say what is private; in place, the file does. */
	if (impl == KVM_GMEM)
		vm_set_memory_attributes(b->vm, BENCH_GPA, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	virt_map_level(b->vm, BENCH_GPA, BENCH_GPA, size, PG_LEVEL_2M);
	vm_enable_cap(b->vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
	return true;
}

static void bench_vm_free(struct bench_vm *b)
{
	munmap(b->mem, b->size);
	close(b->fd);
	kvm_vm_free(b->vm);
}

/* Converts what the guest asked for, as the implementation's VMM would. */
static void convert(struct bench_vm *b, uint64_t gpa, uint64_t size, bool private)
{
	uint64_t offset = gpa - BENCH_GPA;

	b->conversions++;
	if (b->impl == KVM_GMEM) {
		/* 6.12: the attribute, and the copy in the other backing goes. */
		vm_set_memory_attributes(b->vm, gpa, size, private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
		if (private)
			TEST_ASSERT(!madvise((char *)b->mem + offset, size, MADV_DONTNEED),
				    "madvise: %s", strerror(errno));
		else
			TEST_ASSERT(!fallocate(b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset,
					       size), "punch: %s", strerror(errno));
		return;
	}
	for (int tries = 0;; tries++) {
		struct kvm_memory_attributes2 args = {
			.offset = offset,
			.size = size,
			.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
		};

		if (!ioctl(b->fd, KVM_SET_MEMORY_ATTRIBUTES2, &args))
			return;
		/* A KVM fault racing with the conversion holds the page for a moment. */
		TEST_ASSERT(errno == EAGAIN && tries < 1000, "conversion: %s", strerror(errno));
		usleep(10);
	}
}

/* Runs one command to its end, handling the guest's conversion requests; returns its time. */
static uint64_t run_cmd(struct bench_vm *b, uint64_t op, uint64_t size, uint64_t passes)
{
	struct ucall uc;
	uint64_t t;

	cmd.op = op;
	cmd.size = size;
	cmd.passes = passes;
	sync_global_to_guest(b->vm, cmd);
	t = now_ns();
	for (;;) {
		struct kvm_run *run = b->vcpu->run;

		vcpu_run(b->vcpu);
		if (run->exit_reason == KVM_EXIT_HYPERCALL) {
			TEST_ASSERT_EQ(run->hypercall.nr, KVM_HC_MAP_GPA_RANGE);
			convert(b, run->hypercall.args[0], run->hypercall.args[1] * PAGE_SIZE,
				run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED);
			run->hypercall.ret = 0;
			continue;
		}
		TEST_ASSERT_KVM_EXIT_REASON(b->vcpu, KVM_EXIT_IO);
		switch (get_ucall(b->vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT_EQ(uc.args[1], op);
			return now_ns() - t;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/*
 * Fault-in (the guest's first touch of every page) and access (16 more passes over the mapped
 * memory) of `size` bytes, for each implementation, repetitions interleaved after an untimed
 * warm-up round; `reps` runs each.
 */
static void fault_in(const enum impl *impls, int nr, uint64_t size, int reps)
{
	uint64_t first[4][REPS], again[4][REPS];
	int n[4] = { 0 };
	char name[96];

	for (int r = -1; r < reps; r++) {
		for (int i = 0; i < nr; i++) {
			struct bench_vm b;
			uint64_t f, a;

			if (!bench_vm_create(&b, impls[i], size))
				continue;
			f = run_cmd(&b, OP_TOUCH, size, 0);
			a = run_cmd(&b, OP_READ, size, 16);
			/* What KVM mapped the memory with, once (the warm-up round). */
			if (r < 0)
				printf("bench-mappings: %s %llu MiB: pages_4k %lu, pages_2m %lu, pages_1g %lu\n",
				       impl_names[impls[i]], (unsigned long long)(size / MiB),
				       vm_get_stat(b.vm, "pages_4k"), vm_get_stat(b.vm, "pages_2m"),
				       vm_get_stat(b.vm, "pages_1g"));
			bench_vm_free(&b);
			if (r < 0)
				continue;
			first[i][n[i]] = f;
			again[i][n[i]++] = a;
		}
	}
	for (int i = 0; i < nr; i++) {
		if (!n[i])
			continue;
		snprintf(name, sizeof(name), "guest fault-in %llu MiB (per 4 KiB)",
			 (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], first[i], n[i], "ns", size / PAGE_SIZE);
		snprintf(name, sizeof(name), "guest access %llu MiB, 16 passes (per 4 KiB and pass)",
			 (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], again[i], n[i], "ns", 16.0 * (size / PAGE_SIZE));
	}
}

/*
 * Round trips of `size` bytes: the guest asks for shared, touches every page, asks for private,
 * touches every page; `trips` of them per run. The value is per conversion.
 */
static void round_trips(const enum impl *impls, int nr, uint64_t size, uint64_t trips)
{
	uint64_t ns[4][REPS];
	int n[4] = { 0 };
	char name[96];

	for (int i = 0; i < nr; i++) {
		struct bench_vm b;

		/* One block of the largest page size: the 2 MiB file's conversions split and merge. */
		if (!bench_vm_create(&b, impls[i], 2 * MiB))
			continue;
		/* Faulted in, and one untimed round trip. */
		run_cmd(&b, OP_TOUCH, 2 * MiB, 0);
		run_cmd(&b, OP_ROUND_TRIPS, size, 1);
		for (int r = 0; r < REPS; r++) {
			b.conversions = 0;
			ns[i][n[i]] = run_cmd(&b, OP_ROUND_TRIPS, size, trips);
			TEST_ASSERT_EQ(b.conversions, 2 * trips);
			n[i]++;
		}
		bench_vm_free(&b);
	}
	for (int i = 0; i < nr; i++) {
		if (!n[i])
			continue;
		snprintf(name, sizeof(name), "guest round trip %s (per conversion)",
			 size == PAGE_SIZE ? "4 KiB" : "2 MiB");
		report(name, i == 0 && impls[0] == KVM_GMEM ? "vmm_6.12" : impl_names[impls[i]], ns[i],
		       n[i], "us", 1000.0 * 2 * trips);
	}
}

int main(int argc, char *argv[])
{
	static const enum impl native[] = { KVM_GMEM };
	static const enum impl small[] = { RUST_GMEM, RUST_GMEM_2M };
	static const enum impl large[] = { RUST_GMEM, RUST_GMEM_2M, RUST_GMEM_1G };

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));
	bool native_run = argc > 1 && !strcmp(argv[1], "native");

	if (want("guest-faults")) {
		fault_in(native_run ? native : small, native_run ? 1 : 2, 64 * MiB, REPS);
		fault_in(native_run ? native : large, native_run ? 1 : 3, GiB, 3);
	}
	if (want("round-trips")) {
		round_trips(native_run ? native : small, 1, PAGE_SIZE, 200);
		round_trips(native_run ? native : small, native_run ? 1 : 2, 2 * MiB, 10);
	}
	printf("bench-guest-done\n");
	return 0;
}
