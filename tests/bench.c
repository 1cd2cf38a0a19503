// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`: each workload on each implementation, in one run of one VM, repeated; prints one
 * line per measurement ("bench: <workload>|<implementation>|<median ns>|<unit>|<reps>"), which
 * scripts/bench.py turns into a table of medians and ratios. Under TCG absolute times mean little:
 * only the ratios between implementations measured here are worth reading.
 *
 * Implementations: rust_gmem (/dev/guest_memfd), KVM's built-in guest_memfd of the same kernel (on a
 * KVM_X86_SW_PROTECTED_VM, while rust_gmem is not KVM's provider), memfd (shmem), memfd MFD_HUGETLB,
 * and KVM's per-VM memory attributes (KVM_SET_MEMORY_ATTRIBUTES, 6.12's way to track private/shared).
 */
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>

#include "gmem_util.h"

#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)
#define REPS	7

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *workload, const char *impl, uint64_t *ns, int n, const char *unit,
		   double per)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("bench: %s|%s|%.1f|%s|%d\n", workload, impl, ns[n / 2] / per, unit, n);
	fflush(stdout);
}

/* --- the files ------------------------------------------------------------------------------- */

enum impl { RUST_GMEM, KVM_GMEM, MEMFD, MEMFD_HUGETLB, NR_IMPLS };
static const char *const impl_names[] = { "rust_gmem", "kvm_gmem", "memfd", "memfd_hugetlb" };

static int kvm_vm = -1;

/* A SW-protected VM of the built-in KVM, for its guest_memfd and memory attributes. */
static int kvm_sw_vm(void)
{
	int kvm;

	if (kvm_vm >= 0)
		return kvm_vm;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	kvm_vm = ioctl(kvm, KVM_CREATE_VM, 1 /* KVM_X86_SW_PROTECTED_VM */);
	close(kvm);
	return kvm_vm;
}

static int make_file(enum impl impl, size_t size, int shared)
{
	struct kvm_create_guest_memfd args = { .size = size };
	int fd;

	switch (impl) {
	case RUST_GMEM:
		return gmem_create(size, GUEST_MEMFD_FLAG_MMAP | (shared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0));
	case KVM_GMEM: {
		struct statfs sfs;

		if (kvm_sw_vm() < 0)
			return -1;
		fd = ioctl(kvm_sw_vm(), KVM_CREATE_GUEST_MEMFD, &args);
		/*
		 * With rust_gmem loaded on the patched kernel, KVM's files are rust_gmem's: KVM's own
		 * are measured in a run before the module is loaded (`bench kvm-native`).
		 */
		if (fd >= 0 && !fstatfs(fd, &sfs) && sfs.f_type == RUST_GMEM_FS_MAGIC) {
			close(fd);
			return -1;
		}
		return fd;
	}
	case MEMFD:
	case MEMFD_HUGETLB:
		fd = syscall(SYS_memfd_create, "bench", impl == MEMFD_HUGETLB ? MFD_HUGETLB : 0);
		if (fd >= 0 && ftruncate(fd, size)) {
			close(fd);
			return -1;
		}
		return fd;
	default:
		return -1;
	}
}

/* --- workloads -------------------------------------------------------------------------------- */

/* One first touch of every page through a shared mapping, then a second pass; 0 on success. */
static int touch_once(enum impl impl, size_t size, uint64_t *first, uint64_t *again, long *faults,
		      long *faults_again)
{
	int fd = make_file(impl, size, 1);
	volatile char *p;
	uint64_t t;

	if (fd < 0)
		return -1;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	*faults -= minflt();
	t = now_ns();
	for (size_t i = 0; i < size; i += PAGE_SZ)
		p[i] = 1;
	*first = now_ns() - t;
	*faults += minflt();
	*faults_again -= minflt();
	t = now_ns();
	for (size_t i = 0; i < size; i += PAGE_SZ)
		p[i] = 2;
	*again = now_ns() - t;
	*faults_again += minflt();
	munmap((void *)p, size);
	close(fd);
	return 0;
}

/*
 * First touch and re-touch, repetitions interleaved across implementations after one untimed
 * warm-up round, so that TCG's warm-up and drift hit all of them alike.
 */
static void fault_in(size_t size)
{
	static const int impls[] = { RUST_GMEM, MEMFD, MEMFD_HUGETLB };
	uint64_t first[3][REPS], again[3][REPS], ignore;
	long faults[3] = { 0 }, faults_again[3] = { 0 }, ignore_faults = 0;
	int n[3] = { 0 };
	char name[64];

	for (int i = 0; i < 3; i++)
		touch_once(impls[i], size, &ignore, &ignore, &ignore_faults, &ignore_faults);
	for (int r = 0; r < REPS; r++)
		for (int i = 0; i < 3; i++)
			if (!touch_once(impls[i], size, &first[i][n[i]], &again[i][n[i]], &faults[i],
					&faults_again[i]))
				n[i]++;
	for (int i = 0; i < 3; i++) {
		if (!n[i])
			continue;
		printf("bench-faults: %s|first touch %.2f|re-touch %.2f per page\n", impl_names[impls[i]],
		       (double)faults[i] / n[i] / (size / PAGE_SZ),
		       (double)faults_again[i] / n[i] / (size / PAGE_SZ));
		snprintf(name, sizeof(name), "fault-in %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], first[i], n[i], "ns", size / PAGE_SZ);
		snprintf(name, sizeof(name), "re-touch %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], again[i], n[i], "ns", size / PAGE_SZ);
	}
}

/* One fallocate of the whole file, then punching it all; 0 on success. */
static int alloc_once(enum impl impl, size_t size, uint64_t *alloc, uint64_t *punch)
{
	int fd = make_file(impl, size, 1);
	uint64_t t;

	if (fd < 0)
		return -1;
	t = now_ns();
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size)) {
		close(fd);
		return -1;
	}
	*alloc = now_ns() - t;
	t = now_ns();
	fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, size);
	*punch = now_ns() - t;
	close(fd);
	return 0;
}

/* fallocate and punch hole, interleaved after a warm-up round; only KVM's with `kvm_only`. */
static void allocate_punch(size_t size, int kvm_only)
{
	static const int all[] = { RUST_GMEM, KVM_GMEM, MEMFD }, kvm[] = { -1, KVM_GMEM, -1 };
	const int *impls = kvm_only ? kvm : all;
	uint64_t alloc[3][REPS], punch[3][REPS], ignore;
	int n[3] = { 0 };
	char name[64];

	for (int i = 0; i < 3; i++)
		alloc_once(impls[i], size, &ignore, &ignore);
	for (int r = 0; r < REPS; r++)
		for (int i = 0; i < 3; i++)
			if (!alloc_once(impls[i], size, &alloc[i][n[i]], &punch[i][n[i]]))
				n[i]++;
	for (int i = 0; i < 3; i++) {
		if (!n[i])
			continue;
		snprintf(name, sizeof(name), "fallocate %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], alloc[i], n[i], "ns", size / PAGE_SZ);
		snprintf(name, sizeof(name), "punch hole %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], punch[i], n[i], "ns", size / PAGE_SZ);
	}
}

/* KVM_SET_MEMORY_ATTRIBUTES on the SW-protected VM: 6.12's per-VM private/shared tracking. */
static int kvm_set_attrs(uint64_t gpa, uint64_t size, int private)
{
	struct kvm_memory_attributes a = {
		.address = gpa, .size = size, .attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(kvm_sw_vm(), KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/*
 * One conversion to private and back of `len` bytes at offset 0 of a file of `size` bytes. With
 * `settle`, an untimed conversion of the file's last page goes first: the first to-private
 * conversion after an allocation also moves the folios still in this CPU's LRU batch (up to 31) to
 * the LRU, work the LRU would otherwise do later.
 */
static void convert_range(const char *what, size_t size, size_t len, size_t allocated, int settle)
{
	uint64_t to_priv[REPS], to_shared[REPS], kvm_priv[REPS], kvm_shared[REPS];
	char name[96];
	int n = 0, k = 0;

	for (int r = 0; r < REPS; r++) {
		int fd = make_file(RUST_GMEM, size, 1);
		uint64_t t;

		if (fd < 0)
			return;
		if (allocated && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, allocated)) {
			close(fd);
			return;
		}
		if (settle) {
			gmem_convert(fd, CONV_GMEM_CONVERT, size - PAGE_SZ, PAGE_SZ, 1, NULL);
			gmem_convert(fd, CONV_GMEM_CONVERT, size - PAGE_SZ, PAGE_SZ, 0, NULL);
		}
		t = now_ns();
		if (gmem_convert(fd, CONV_GMEM_CONVERT, 0, len, 1, NULL))
			break;
		to_priv[n] = now_ns() - t;
		t = now_ns();
		gmem_convert(fd, CONV_GMEM_CONVERT, 0, len, 0, NULL);
		to_shared[n++] = now_ns() - t;
		close(fd);
	}
	for (int r = 0; r < REPS && kvm_sw_vm() >= 0; r++) {
		uint64_t t = now_ns();

		if (kvm_set_attrs(0, len, 1))
			break;
		kvm_priv[k] = now_ns() - t;
		t = now_ns();
		kvm_set_attrs(0, len, 0);
		kvm_shared[k++] = now_ns() - t;
	}
	snprintf(name, sizeof(name), "convert %s to private", what);
	if (n)
		report(name, "rust_gmem", to_priv, n, "us", 1000);
	if (k)
		report(name, "kvm_attributes", kvm_priv, k, "us", 1000);
	snprintf(name, sizeof(name), "convert %s to shared", what);
	if (n)
		report(name, "rust_gmem", to_shared, n, "us", 1000);
	if (k)
		report(name, "kvm_attributes", kvm_shared, k, "us", 1000);
}

static long long slab_kb(void)
{
	char buf[4096], *p;

	if (read_text("/proc/meminfo", buf, sizeof(buf)) < 0 || !(p = strstr(buf, "Slab:")))
		return -1;
	return strtoll(p + 5, NULL, 10);
}

/*
 * `count` alternating 4 KiB conversions spread over a file of `size` bytes, so that the number of
 * ranges (2 * count) does not depend on the size; then one conversion of the whole file back. The
 * same pattern through KVM_SET_MEMORY_ATTRIBUTES for comparison. Also the memory each tracking
 * structure took (slab growth), against one entry per page.
 */
static void alternating(size_t size, int count)
{
	uint64_t per[1], whole[1], kvm_per[1], kvm_whole[1];
	size_t stride = size / count;
	long long before, tree_kb = -1, xa_kb = -1, entries = -1;
	char name[96];
	int fd = make_file(RUST_GMEM, size, 1), ok = fd >= 0;
	uint64_t t;

	usleep(300000);	/* let earlier RCU-deferred frees settle before reading the slab total */
	before = slab_kb();
	t = now_ns();
	for (int i = 0; ok && i < count; i++)
		ok = !gmem_convert(fd, CONV_GMEM_CONVERT, i * stride, PAGE_SZ, 1, NULL);
	per[0] = now_ns() - t;
	if (ok) {
		entries = gmem_entries(fd);
		/* The tree is in RCU mode: replaced nodes are freed after a grace period. */
		usleep(300000);
		tree_kb = slab_kb() - before;
		t = now_ns();
		ok = !gmem_convert(fd, CONV_GMEM_CONVERT, 0, size, 0, NULL);
		whole[0] = now_ns() - t;
	}
	if (fd >= 0)
		close(fd);
	snprintf(name, sizeof(name), "%d alternating 4 KiB conversions, %llu MiB file (per conversion)",
		 count, (unsigned long long)(size / MiB));
	if (ok)
		report(name, "rust_gmem", per, 1, "us", 1000.0 * count);

	ok = kvm_sw_vm() >= 0 && !kvm_set_attrs(0, size, 0);
	usleep(300000);
	before = slab_kb();
	t = now_ns();
	for (int i = 0; ok && i < count; i++)
		ok = !kvm_set_attrs(i * stride, PAGE_SZ, 1);
	kvm_per[0] = now_ns() - t;
	if (ok) {
		xa_kb = slab_kb() - before;
		report(name, "kvm_attributes", kvm_per, 1, "us", 1000.0 * count);
		t = now_ns();
		ok = !kvm_set_attrs(0, size, 0);
		kvm_whole[0] = now_ns() - t;
	}
	snprintf(name, sizeof(name), "then all %llu MiB back to shared (%d ranges)", (unsigned long long)(size / MiB),
		 2 * count);
	if (entries >= 0)
		report(name, "rust_gmem", whole, 1, "us", 1000);
	if (ok)
		report(name, "kvm_attributes", kvm_whole, 1, "us", 1000);
	printf("bench-memory: %llu MiB|%d|%lld|%lld|%lld|%llu\n", (unsigned long long)(size / MiB),
	       count, entries, tree_kb, xa_kb, (unsigned long long)(size / PAGE_SZ));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	/* Before the module is loaded: KVM's own guest_memfd, for the reference column. */
	if (argc > 1 && !strcmp(argv[1], "kvm-native")) {
		allocate_punch(64 * MiB, 1);
		return 0;
	}
	printf("bench-info: reps %d, kvm %s, hugetlb %s\n", REPS, kvm_sw_vm() >= 0 ? "yes" : "no",
	       make_file(MEMFD_HUGETLB, 2 * MiB, 1) >= 0 ? "yes" : "no");
	fault_in(64 * MiB);
	allocate_punch(64 * MiB, 0);
	convert_range("4 KiB, first after fallocate", 64 * MiB, PAGE_SZ, 64 * MiB, 0);
	convert_range("4 KiB", 64 * MiB, PAGE_SZ, 64 * MiB, 1);
	convert_range("2 MiB", 64 * MiB, 2 * MiB, 64 * MiB, 1);
	convert_range("a whole 64 MiB file (allocated)", 64 * MiB, 64 * MiB, 64 * MiB, 1);
	convert_range("a whole 1 GiB file (unallocated)", GiB, GiB, 0, 0);
	/* The same number of ranges over growing files, then more ranges over the same file. */
	alternating(64 * MiB, 4096);
	alternating(GiB, 4096);
	alternating(16 * GiB, 4096);
	alternating(GiB, 1024);
	alternating(GiB, 16384);
	{
		char stats[256];

		if (read_text(GMEM_DEBUGFS "/stats", stats, sizeof(stats)) > 0)
			printf("bench-stats: %s", stats);
	}
	printf("bench-done\n");
	return 0;
}
