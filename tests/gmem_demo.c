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

int main(void)
{
	int err = 0;

	err |= show("private file", 2ULL << 20, 0);
	err |= show("shared, mappable file", 64ULL << 20, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	err |= show("sparse 1 TiB file", 1ULL << 40, GUEST_MEMFD_FLAG_MMAP);
	printf("demo: %s\n", err ? "FAILED" : "done");
	return err;
}
