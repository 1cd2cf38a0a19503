// SPDX-License-Identifier: GPL-2.0
/*
 * `make run` demo: creates guest_memfd files through /dev/guest_memfd and prints what they are.
 */
#include "gmem_util.h"

static int show(const char *what, uint64_t size, uint64_t flags)
{
	char text[4096], link[128], path[64];
	struct stat st;
	ssize_t n;
	int fd = gmem_create(size, flags);

	if (fd < 0) {
		printf("demo: %s: create failed: %s\n", what, strerror(-fd));
		return 1;
	}
	fstat(fd, &st);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	printf("demo: %s: KVM_CREATE_GUEST_MEMFD(size=%llu, flags=%#llx) -> fd %d (%s)\n", what,
	       (unsigned long long)size, (unsigned long long)flags, fd, link);
	printf("demo:   fstat: inode %llu, regular file %s, size %lld, blksize %ld\n",
	       (unsigned long long)st.st_ino, S_ISREG(st.st_mode) ? "yes" : "no",
	       (long long)st.st_size, (long)st.st_blksize);
	if (gmem_debugfs(fd, text, sizeof(text)) > 0) {
		printf("demo:   debugfs %s/%llu:\n", GMEM_DEBUGFS, (unsigned long long)st.st_ino);
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
			printf("demo:     %s\n", line);
	}
	close(fd);
	return 0;
}

static void print_ranges(int fd)
{
	char text[4096];

	if (gmem_debugfs(fd, text, sizeof(text)) <= 0)
		return;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "range", 5) || !strncmp(line, "entries", 7) || !strncmp(line, "allocated", 9))
			printf("demo:     %s\n", line);
}

/* Share 4 pages with the host, make the middle two private, and back. */
static int convert_demo(void)
{
	const size_t size = 4 * PAGE_SZ;
	int fd = gmem_create(size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	int err = 0;
	char *p;

	if (fd < 0)
		return 1;
	p = gmem_map(fd, size);
	if (p == MAP_FAILED)
		return 1;
	strcpy(p + PAGE_SZ, "written by the host while shared");
	printf("demo: conversion: 4 shared pages mapped; host wrote \"%s\" to page 1\n", p + PAGE_SZ);
	print_ranges(fd);
	err |= gmem_convert(fd, CONV_GMEM_CONVERT, PAGE_SZ, 2 * PAGE_SZ, 1, NULL);
	printf("demo: conversion: KVM_GMEM_CONVERT_PRIVATE(pages 1-2) -> %d\n", err);
	print_ranges(fd);
	printf("demo:   host read of page 1: %s; of page 0: %s\n",
	       READ_SIGBUSES(p + PAGE_SZ) ? "SIGBUS" : "allowed (wrong!)",
	       READ_SIGBUSES(p) ? "SIGBUS (wrong!)" : "allowed");
	err |= READ_SIGBUSES(p) || !READ_SIGBUSES(p + PAGE_SZ);
	err |= gmem_convert(fd, CONV_ATTRIBUTES2, PAGE_SZ, 2 * PAGE_SZ, 0, NULL);
	printf("demo: conversion: KVM_SET_MEMORY_ATTRIBUTES2(pages 1-2, shared) -> %d\n", err);
	print_ranges(fd);
	printf("demo:   page 1 reads \"%s\"\n", p + PAGE_SZ);
	err |= strcmp(p + PAGE_SZ, "written by the host while shared") != 0;
	munmap(p, size);
	close(fd);
	return err;
}

int main(void)
{
	int err = 0;

	err |= show("private file", 2ULL << 20, 0);
	err |= show("shared, mappable file", 64ULL << 20, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	err |= show("sparse 1 TiB file", 1ULL << 40, GUEST_MEMFD_FLAG_MMAP);
	err |= convert_demo();
	printf("demo: %s\n", err ? "FAILED" : "done");
	return err;
}
