/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rust_gmem kselftests: creating guest_memfd files through /dev/guest_memfd and
 * reading the module's debugfs views.
 */
#ifndef RUST_GMEM_UTIL_H
#define RUST_GMEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/rust_gmem.h>

#define GMEM_DEBUGFS	"/sys/kernel/debug/rust_gmem"
#define PAGE_SZ		4096ULL

/* Returns a new guest_memfd, or -errno. */
static inline int gmem_create_raw(uint64_t size, uint64_t flags, const uint64_t reserved[6])
{
	struct kvm_create_guest_memfd args = { .size = size, .flags = flags };
	int dev, fd, err;

	if (reserved)
		memcpy(args.reserved, reserved, sizeof(args.reserved));
	dev = open(RUST_GMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	fd = ioctl(dev, KVM_CREATE_GUEST_MEMFD, &args);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static inline int gmem_create(uint64_t size, uint64_t flags)
{
	return gmem_create_raw(size, flags, NULL);
}

/* Reads a whole (small) file into buf; returns its length or -errno. */
static inline ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* Returns the value after "key: " in a debugfs text, or -1. */
static inline long long debugfs_field(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s: ", key);
	for (p = text; (p = strstr(p, pat)); p++)
		if (p == text || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, 0);
	return -1;
}

/* Live guest_memfd inodes according to the module. */
static inline long long gmem_live_inodes(void)
{
	char buf[256];

	if (read_text(GMEM_DEBUGFS "/stats", buf, sizeof(buf)) < 0)
		return -1;
	return debugfs_field(buf, "inodes");
}

/* Reads the debugfs view of the guest_memfd open as fd. */
static inline ssize_t gmem_debugfs(int fd, char *buf, size_t len)
{
	char path[128];
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	snprintf(path, sizeof(path), GMEM_DEBUGFS "/%llu", (unsigned long long)st.st_ino);
	return read_text(path, buf, len);
}

#endif /* RUST_GMEM_UTIL_H */
