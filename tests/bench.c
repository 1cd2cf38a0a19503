// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`, the host's side: each workload on each implementation, in one run of one VM,
 * repeated; prints one line per measurement ("bench: <workload>|<implementation>|<median>|<unit>|
 * <reps>"), which scripts/bench.py turns into a table of medians and ratios. Under TCG absolute times
 * mean little: only the ratios between implementations measured here are worth reading.
 *
 *   bench kvm-native   with rust_gmem not loaded: KVM's built-in guest_memfd ("kvm_gmem") and 6.12's
 *                      ways of converting: KVM's per-VM memory attributes alone ("kvm_attributes",
 *                      KVM_SET_MEMORY_ATTRIBUTES), and what a 6.12 VMM does with them ("vmm_6.12":
 *                      the attribute, plus punching the guest_memfd copy when going shared and
 *                      discarding the shared copy, anonymous memory, when going private);
 *   bench              with rust_gmem loaded: its files of 4 KiB, 2 MiB and 1 GiB pages
 *                      ("rust_gmem", "rust_gmem_2m", "rust_gmem_1g"), memfd (shmem) and memfd
 *                      MFD_HUGETLB for host faults.
 *
 * Also the memory each way of tracking private/shared takes, counted exactly: the nodes of
 * rust_gmem's maple tree (debugfs) and of KVM's attribute xarray (worked out from the indices it
 * holds, since an xarray's shape follows from them), besides the slab growth measured.
 *
 * BENCH_ONLY groups: host-faults, fallocate, convert, split, ranges.
 */
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>

#include "bench_util.h"
#include "gmem_util.h"

#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)
#define REPS	7
/* Conversions are cheap and noisy under TCG: more runs for their medians. */
#define CONV_REPS	21

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* --- the files ------------------------------------------------------------------------------- */

enum impl { RUST_GMEM, RUST_GMEM_2M, RUST_GMEM_1G, KVM_GMEM, MEMFD, MEMFD_HUGETLB, NR_IMPLS };
static const char *const impl_names[] = {
	"rust_gmem", "rust_gmem_2m", "rust_gmem_1g", "kvm_gmem", "memfd", "memfd_hugetlb",
};

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
	uint64_t mode = GUEST_MEMFD_FLAG_MMAP | (shared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0);
	int fd;

	switch (impl) {
	case RUST_GMEM:
		return gmem_create(size, mode);
	case RUST_GMEM_2M:
		return gmem_create(size, mode | huge_flags(HUGE_2M));
	case RUST_GMEM_1G:
		return gmem_create(size, mode | huge_flags(HUGE_1G));
	case KVM_GMEM: {
		struct statfs sfs;

		if (kvm_sw_vm() < 0)
			return -1;
		fd = ioctl(kvm_sw_vm(), KVM_CREATE_GUEST_MEMFD, &args);
		/* With rust_gmem loaded, KVM's files are rust_gmem's: measured in `kvm-native` only. */
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

/* --- faults, fallocate, punch ------------------------------------------------------------------ */

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
 * First touch and re-touch of `size` bytes, repetitions interleaved across implementations after
 * one untimed warm-up round, so that TCG's warm-up and drift hit all of them alike.
 */
static void fault_in(const enum impl *impls, int nr, size_t size, int reps)
{
	uint64_t first[NR_IMPLS][REPS], again[NR_IMPLS][REPS], ignore;
	long faults[NR_IMPLS] = { 0 }, faults_again[NR_IMPLS] = { 0 }, ignore_faults = 0;
	int n[NR_IMPLS] = { 0 };
	char name[64];

	for (int i = 0; i < nr; i++)
		touch_once(impls[i], size, &ignore, &ignore, &ignore_faults, &ignore_faults);
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < nr; i++)
			if (!touch_once(impls[i], size, &first[i][n[i]], &again[i][n[i]], &faults[i],
					&faults_again[i]))
				n[i]++;
	for (int i = 0; i < nr; i++) {
		if (!n[i])
			continue;
		printf("bench-faults: %s %llu MiB|first touch %.2f|re-touch %.2f per page\n",
		       impl_names[impls[i]], (unsigned long long)(size / MiB),
		       (double)faults[i] / n[i] / (size / PAGE_SZ),
		       (double)faults_again[i] / n[i] / (size / PAGE_SZ));
		snprintf(name, sizeof(name), "host fault-in %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], first[i], n[i], "ns", size / PAGE_SZ);
		snprintf(name, sizeof(name), "host re-touch %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
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

/* fallocate and punch hole of `size` bytes, interleaved after a warm-up round. */
static void allocate_punch(const enum impl *impls, int nr, size_t size, int reps)
{
	uint64_t alloc[NR_IMPLS][REPS], punch[NR_IMPLS][REPS], ignore;
	int n[NR_IMPLS] = { 0 };
	char name[64];

	for (int i = 0; i < nr; i++)
		alloc_once(impls[i], size, &ignore, &ignore);
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < nr; i++)
			if (!alloc_once(impls[i], size, &alloc[i][n[i]], &punch[i][n[i]]))
				n[i]++;
	for (int i = 0; i < nr; i++) {
		if (!n[i])
			continue;
		snprintf(name, sizeof(name), "fallocate %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], alloc[i], n[i], "ns", size / PAGE_SZ);
		snprintf(name, sizeof(name), "punch hole %llu MiB (per 4 KiB)", (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], punch[i], n[i], "ns", size / PAGE_SZ);
	}
}

/* --- conversions ------------------------------------------------------------------------------ */

/* KVM_SET_MEMORY_ATTRIBUTES on the SW-protected VM: 6.12's per-VM private/shared tracking. */
static int kvm_set_attrs(uint64_t gpa, uint64_t size, int private)
{
	struct kvm_memory_attributes a = {
		.address = gpa, .size = size, .attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(kvm_sw_vm(), KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/*
 * 6.12's ways, on `len` bytes: the attribute alone, and what a VMM does with it. The VMM's
 * guest_memfd (the private copy) and anonymous memory (the shared copy) are populated before each
 * conversion, so that the copy it drops is there to drop.
 */
static void convert_kvm(const char *what, size_t len)
{
	uint64_t attr_priv[CONV_REPS], attr_shared[CONV_REPS];
	uint64_t vmm_priv[CONV_REPS], vmm_shared[CONV_REPS];
	int fd = make_file(KVM_GMEM, len, 0), n = 0;
	char *shared, name[96];

	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || shared == MAP_FAILED)
		goto out;
	/* Round -1 is an untimed warm-up: it writes slot 0, which round 0 overwrites. */
	for (int r = -1; r < CONV_REPS; r++) {
		uint64_t t = now_ns();

		n = r < 0 ? 0 : r;

		if (kvm_set_attrs(0, len, 1))
			break;
		attr_priv[n] = now_ns() - t;
		t = now_ns();
		kvm_set_attrs(0, len, 0);
		attr_shared[n] = now_ns() - t;

		/* Shared to private: the guest had used the shared copy. */
		memset(shared, 1, len);
		t = now_ns();
		kvm_set_attrs(0, len, 1);
		madvise(shared, len, MADV_DONTNEED);
		vmm_priv[n] = now_ns() - t;
		/* Private to shared: the guest had used the private copy. */
		fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, len);
		t = now_ns();
		kvm_set_attrs(0, len, 0);
		fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, len);
		vmm_shared[n++] = now_ns() - t;
	}
	if (n) {
		snprintf(name, sizeof(name), "convert %s to private", what);
		report(name, "kvm_attributes", attr_priv, n, "us", 1000);
		report(name, "vmm_6.12", vmm_priv, n, "us", 1000);
		snprintf(name, sizeof(name), "convert %s to shared", what);
		report(name, "kvm_attributes", attr_shared, n, "us", 1000);
		report(name, "vmm_6.12", vmm_shared, n, "us", 1000);
	}
out:
	if (shared != MAP_FAILED)
		munmap(shared, len);
	if (fd >= 0)
		close(fd);
}

/*
 * The reference for rust_gmem's first conversions after an allocation: KVM's attribute store and
 * 6.12's VMM converting the first 4 KiB to private and back right after `fallocate` of a new 64 MiB
 * guest_memfd (under TCG, whatever runs first after touching 64 MiB pays for cold caches). Even
 * rounds time the attribute store, odd ones the VMM's way.
 */
static void convert_kvm_first(size_t size)
{
	uint64_t attr_priv[CONV_REPS], attr_shared[CONV_REPS];
	uint64_t vmm_priv[CONV_REPS], vmm_shared[CONV_REPS];
	char *shared = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int n = 0;

	if (shared == MAP_FAILED)
		return;
	/* Rounds -2 and -1 are an untimed warm-up: they write slot 0, which rounds 0 and 1 overwrite. */
	for (int r = -2; r < 2 * CONV_REPS; r++) {
		int fd = make_file(KVM_GMEM, size, 0), vmm = r & 1;
		uint64_t t, priv;

		if (fd < 0)
			break;
		n = r < 0 ? 0 : r / 2;
		memset(shared, 1, PAGE_SZ);
		if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size)) {
			close(fd);
			break;
		}
		t = now_ns();
		if (kvm_set_attrs(0, PAGE_SZ, 1)) {
			close(fd);
			break;
		}
		if (vmm)
			madvise(shared, PAGE_SZ, MADV_DONTNEED);
		priv = now_ns() - t;
		t = now_ns();
		kvm_set_attrs(0, PAGE_SZ, 0);
		if (vmm)
			fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PAGE_SZ);
		*(vmm ? &vmm_shared[n] : &attr_shared[n]) = now_ns() - t;
		*(vmm ? &vmm_priv[n] : &attr_priv[n]) = priv;
		close(fd);
		if (r >= 0 && vmm)
			n++;
	}
	munmap(shared, PAGE_SZ);
	if (n) {
		const char *to_priv = "convert 4 KiB, first after fallocate to private";
		const char *to_shared = "convert 4 KiB, first after fallocate to shared";

		report(to_priv, "kvm_attributes", attr_priv, n, "us", 1000);
		report(to_priv, "vmm_6.12", vmm_priv, n, "us", 1000);
		report(to_shared, "kvm_attributes", attr_shared, n, "us", 1000);
		report(to_shared, "vmm_6.12", vmm_shared, n, "us", 1000);
	}
}

/*
 * One conversion to private and back of `len` bytes at offset 0 of an allocated file of `size`
 * bytes, each on a new file. With `settle`, an untimed conversion of the file's last page goes first
 * (on a kernel where new folios still pass through the per-CPU LRU batches, the first conversion
 * after an allocation drains them); without, the row shows what the first conversion costs.
 */
static void convert_gmem(enum impl impl, const char *what, size_t size, size_t len,
			 size_t allocated, int settle)
{
	uint64_t to_priv[CONV_REPS], to_shared[CONV_REPS];
	char name[96];
	int n = 0;

	/* Round -1 is an untimed warm-up: it writes slot 0, which round 0 overwrites. */
	for (int r = -1; r < CONV_REPS; r++) {
		int fd = make_file(impl, size, 1);
		uint64_t t;

		n = r < 0 ? 0 : r;
		if (fd < 0)
			return;
		if (allocated && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, allocated)) {
			close(fd);
			return;
		}
		if (settle) {
			gmem_convert(fd, CONV_ATTRIBUTES2, size - PAGE_SZ, PAGE_SZ, 1, NULL);
			gmem_convert(fd, CONV_ATTRIBUTES2, size - PAGE_SZ, PAGE_SZ, 0, NULL);
		}
		t = now_ns();
		if (gmem_convert(fd, CONV_ATTRIBUTES2, 0, len, 1, NULL)) {
			close(fd);
			break;
		}
		to_priv[n] = now_ns() - t;
		t = now_ns();
		gmem_convert(fd, CONV_ATTRIBUTES2, 0, len, 0, NULL);
		to_shared[n++] = now_ns() - t;
		close(fd);
	}
	if (!n)
		return;
	snprintf(name, sizeof(name), "convert %s to private", what);
	report(name, impl_names[impl], to_priv, n, "us", 1000);
	snprintf(name, sizeof(name), "convert %s to shared", what);
	report(name, impl_names[impl], to_shared, n, "us", 1000);
}

/*
 * Huge pages: on an allocated private file, one 4 KiB page of a block made shared (for a huge-page
 * file, a split) and private again (a merge); the same conversion on a 4 KiB file for reference.
 */
static void split_merge(const enum impl *impls, int nr, size_t size)
{
	uint64_t split[NR_IMPLS][REPS], merge[NR_IMPLS][REPS];
	int n[NR_IMPLS] = { 0 };
	char name[96];

	for (int i = 0; i < nr; i++) {
		int fd = make_file(impls[i], size, 0);

		if (fd < 0)
			continue;
		if (!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size)) {
			for (int r = 0; r < REPS; r++) {
				uint64_t t = now_ns();

				if (gmem_convert(fd, CONV_ATTRIBUTES2, PAGE_SZ, PAGE_SZ, 0, NULL))
					break;
				split[i][n[i]] = now_ns() - t;
				t = now_ns();
				gmem_convert(fd, CONV_ATTRIBUTES2, PAGE_SZ, PAGE_SZ, 1, NULL);
				merge[i][n[i]++] = now_ns() - t;
			}
		}
		close(fd);
	}
	for (int i = 0; i < nr; i++) {
		if (!n[i])
			continue;
		snprintf(name, sizeof(name), "one 4 KiB page of a %llu MiB file to shared (splits a block)",
			 (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], split[i], n[i], "us", 1000);
		snprintf(name, sizeof(name), "and back to private, %llu MiB file (merges the block)",
			 (unsigned long long)(size / MiB));
		report(name, impl_names[impls[i]], merge[i], n[i], "us", 1000);
	}
}

/* --- many ranges -------------------------------------------------------------------------------- */

static long long slab_kb(void)
{
	char buf[4096], *p;

	if (read_text("/proc/meminfo", buf, sizeof(buf)) < 0 || !(p = strstr(buf, "Slab:")))
		return -1;
	return strtoll(p + 5, NULL, 10);
}

/*
 * The nodes of an xarray that holds entries at indices 0, stride, 2 * stride, ... (count of them):
 * its shape follows from the indices. A node has 64 slots; level 0 nodes hold entries, each level
 * above has one node per distinct index prefix, up to a single root (none for a lone entry at 0).
 */
static long long xarray_nodes(uint64_t stride, uint64_t count)
{
	uint64_t max = (count - 1) * stride;
	long long nodes = 0;

	if (!max)
		return 0;
	for (int shift = 6;; shift += 6) {
		uint64_t span = 1ULL << shift, distinct = 0, last = UINT64_MAX;

		/* Nodes at this level: distinct index >> shift among the entries. */
		if (stride >= span) {
			distinct = count;
		} else {
			for (uint64_t i = 0; i < count; i++) {
				uint64_t prefix = (i * stride) >> shift;

				if (prefix != last) {
					distinct++;
					last = prefix;
				}
			}
		}
		nodes += distinct;
		if ((max >> shift) == 0)
			break;
	}
	return nodes;
}

/* sizeof(struct xa_node) on 64-bit: what KVM's attribute xarray takes per node. */
#define XA_NODE_BYTES	576

/*
 * `count` alternating 4 KiB conversions spread over a file of `size` bytes, so that the number of
 * ranges (2 * count) does not depend on the size; then one 4 KiB conversion where the ranges are
 * (the cost of a conversion with that many ranges, median of 15), and one conversion of the whole
 * file back. The memory tracking takes: rust_gmem's tree and KVM's xarray exactly, and the slab
 * growth. `kvm` runs 6.12's attributes (in `kvm-native`), else rust_gmem.
 */
static void alternating(size_t size, int count, int kvm)
{
	uint64_t per[1], whole[1], single[15];
	size_t stride = size / count;
	long long before, slab = -1, entries = -1, nodes = -1, bytes = -1;
	char name[96];
	int fd = -1, ok, n = 0;
	uint64_t t;

	if (kvm) {
		ok = kvm_sw_vm() >= 0 && !kvm_set_attrs(0, size, 0);
	} else {
		fd = make_file(RUST_GMEM, size, 1);
		ok = fd >= 0;
	}
	usleep(300000);	/* let earlier RCU-deferred frees settle before reading the slab total */
	before = slab_kb();
	t = now_ns();
	for (int i = 0; ok && i < count; i++)
		ok = kvm ? !kvm_set_attrs(i * stride, PAGE_SZ, 1) :
			   !gmem_convert(fd, CONV_ATTRIBUTES2, i * stride, PAGE_SZ, 1, NULL);
	per[0] = now_ns() - t;
	if (!ok)
		goto out;
	if (kvm) {
		nodes = xarray_nodes(stride / PAGE_SZ, count);
		bytes = nodes * XA_NODE_BYTES;
	} else {
		entries = gmem_entries(fd);
		nodes = gmem_field(fd, "tree_nodes");
		bytes = nodes * 256;	/* sizeof(struct maple_node) */
	}
	/* RCU-deferred frees of replaced nodes first. */
	usleep(300000);
	slab = slab_kb() - before;
	/* One more conversion, between the ranges (the page after a private one), and back. */
	for (; n < 15; n++) {
		uint64_t at = (n * (count / 15) + 0) * stride + PAGE_SZ;

		t = now_ns();
		ok = kvm ? !kvm_set_attrs(at, PAGE_SZ, 1) :
			   !gmem_convert(fd, CONV_ATTRIBUTES2, at, PAGE_SZ, 1, NULL);
		single[n] = now_ns() - t;
		if (!ok || (kvm ? kvm_set_attrs(at, PAGE_SZ, 0) :
				  gmem_convert(fd, CONV_ATTRIBUTES2, at, PAGE_SZ, 0, NULL)))
			goto out;
	}
	t = now_ns();
	ok = kvm ? !kvm_set_attrs(0, size, 0) : !gmem_convert(fd, CONV_ATTRIBUTES2, 0, size, 0, NULL);
	whole[0] = now_ns() - t;
	if (!ok)
		goto out;
	snprintf(name, sizeof(name), "%d alternating 4 KiB conversions, %llu MiB file (per conversion)",
		 count, (unsigned long long)(size / MiB));
	report(name, kvm ? "kvm_attributes" : "rust_gmem", per, 1, "us", 1000.0 * count);
	snprintf(name, sizeof(name), "then one 4 KiB conversion among the %d ranges, %llu MiB file",
		 2 * count, (unsigned long long)(size / MiB));
	report(name, kvm ? "kvm_attributes" : "rust_gmem", single, n, "us", 1000);
	snprintf(name, sizeof(name), "then all %llu MiB back to shared (%d ranges)",
		 (unsigned long long)(size / MiB), 2 * count);
	report(name, kvm ? "kvm_attributes" : "rust_gmem", whole, 1, "us", 1000);
	printf("bench-memory: %s|%llu|%d|%lld|%lld|%lld|%lld|%llu\n", kvm ? "kvm_attributes" : "rust_gmem",
	       (unsigned long long)(size / MiB), count, entries, nodes, bytes, slab,
	       (unsigned long long)(size / PAGE_SZ));
	printf("bench-curve: %s|%llu|%d|%.1f|%.1f\n", kvm ? "kvm_attributes" : "rust_gmem",
	       (unsigned long long)(size / MiB), 2 * count, median(single, n) / 1000.0, whole[0] / 1000.0);
	fflush(stdout);
out:
	if (fd >= 0)
		close(fd);
}

/* The curves: conversion cost against the number of ranges, for three file sizes. */
static void ranges(int kvm)
{
	static const size_t sizes[] = { 64 * MiB, GiB, 16 * GiB };
	static const int counts[] = { 256, 1024, 4096, 16384 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			if (counts[c] <= (int)(sizes[s] / PAGE_SZ / 2))
				alternating(sizes[s], counts[c], kvm);
}

int main(int argc, char **argv)
{
	static const enum impl kvm_gmem[] = { KVM_GMEM };
	static const enum impl host_faults[] = { RUST_GMEM, RUST_GMEM_2M, MEMFD, MEMFD_HUGETLB };
	static const enum impl files_64m[] = { RUST_GMEM, RUST_GMEM_2M, MEMFD };
	static const enum impl files_1g[] = { RUST_GMEM, RUST_GMEM_2M, RUST_GMEM_1G };
	static const enum impl huge[] = { RUST_GMEM, RUST_GMEM_2M, RUST_GMEM_1G };

	/* Before the module is loaded: KVM's own guest_memfd and 6.12's conversions. */
	if (argc > 1 && !strcmp(argv[1], "kvm-native")) {
		if (want("fallocate")) {
			allocate_punch(kvm_gmem, 1, 64 * MiB, REPS);
			allocate_punch(kvm_gmem, 1, GiB, 3);
		}
		if (want("convert")) {
			convert_kvm_first(64 * MiB);
			convert_kvm("4 KiB", PAGE_SZ);
			convert_kvm("2 MiB", 2 * MiB);
		}
		if (want("ranges"))
			ranges(1);
		printf("bench-native-done\n");
		return 0;
	}
	printf("bench-info: reps %d (conversions %d), hugetlb files %s\n", REPS, CONV_REPS,
	       hugetlb_files_supported() ? "yes" : "no");
	if (want("host-faults")) {
		fault_in(host_faults, 4, 64 * MiB, REPS);
		fault_in(files_1g, 3, GiB, 3);
	}
	if (want("fallocate")) {
		allocate_punch(files_64m, 3, 64 * MiB, REPS);
		allocate_punch(files_1g, 3, GiB, 3);
	}
	if (want("convert")) {
		convert_gmem(RUST_GMEM, "4 KiB, first after fallocate", 64 * MiB, PAGE_SZ, 64 * MiB, 0);
		convert_gmem(RUST_GMEM, "4 KiB", 64 * MiB, PAGE_SZ, 64 * MiB, 1);
		convert_gmem(RUST_GMEM, "2 MiB", 64 * MiB, 2 * MiB, 64 * MiB, 1);
		convert_gmem(RUST_GMEM_2M, "2 MiB", 64 * MiB, 2 * MiB, 64 * MiB, 1);
		convert_gmem(RUST_GMEM, "a whole 64 MiB file (allocated)", 64 * MiB, 64 * MiB, 64 * MiB, 1);
		convert_gmem(RUST_GMEM, "a whole 1 GiB file (unallocated)", GiB, GiB, 0, 0);
	}
	if (want("split")) {
		split_merge(huge, 2, 64 * MiB);
		split_merge(huge, 3, GiB);
	}
	if (want("ranges"))
		ranges(0);
	{
		char stats[1024];

		if (read_text(GMEM_DEBUGFS "/stats", stats, sizeof(stats)) > 0)
			printf("bench-stats: %s", stats);
	}
	printf("bench-done\n");
	return 0;
}
