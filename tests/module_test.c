// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading rust_gmem.ko. Runs with the module not loaded and leaves it unloaded.
 * The module file is $RUST_GMEM_KO (default /lib/modules/rust_gmem.ko).
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

static const char *ko_path(void)
{
	const char *p = getenv("RUST_GMEM_KO");

	return p ? p : "/lib/modules/rust_gmem.ko";
}

static int load(void)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "rust_gmem", O_NONBLOCK) ? -errno : 0;
}

static int loaded(void)
{
	return access("/sys/module/rust_gmem", F_OK) == 0;
}

/* The module's reference count, from sysfs. */
static long refcnt(void)
{
	char buf[32];

	if (read_text("/sys/module/rust_gmem/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

FIXTURE(module) {};

FIXTURE_SETUP(module)
{
	ASSERT_FALSE(loaded()) TH_LOG("rust_gmem must not be loaded when this test starts");
}

FIXTURE_TEARDOWN(module)
{
	if (loaded())
		unload();
}

TEST_F(module, load_unload)
{
	struct stat st;

	ASSERT_EQ(0, load());
	EXPECT_TRUE(loaded());
	EXPECT_EQ(0, refcnt());
	EXPECT_EQ(0, stat(RUST_GMEM_DEVICE, &st));
	EXPECT_EQ(0, access(GMEM_DEBUGFS "/stats", R_OK));
	EXPECT_EQ(0, gmem_live_inodes());
	ASSERT_EQ(0, unload());
	EXPECT_FALSE(loaded());
	EXPECT_EQ(-1, stat(RUST_GMEM_DEVICE, &st));
	EXPECT_EQ(-1, access(GMEM_DEBUGFS, F_OK));
}

TEST_F(module, load_twice)
{
	ASSERT_EQ(0, load());
	EXPECT_EQ(-EEXIST, load());
	ASSERT_EQ(0, unload());
}

TEST_F(module, cycles_with_files)
{
	for (int i = 0; i < 20; i++) {
		int fd;

		ASSERT_EQ(0, load()) TH_LOG("cycle %d", i);
		fd = gmem_create(PAGE_SZ * (i + 1), i & 1 ? GUEST_MEMFD_FLAG_INIT_SHARED : 0);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: %s", i, strerror(-fd));
		close(fd);
		ASSERT_EQ(0, unload()) TH_LOG("cycle %d: %s", i, strerror(errno));
	}
}

TEST_F(module, busy_while_file_open)
{
	int fd;

	ASSERT_EQ(0, load());
	fd = gmem_create(4 * PAGE_SZ, GUEST_MEMFD_FLAG_MMAP);
	ASSERT_LE(0, fd);
	/* The file and its inode each hold a reference. */
	EXPECT_EQ(2, refcnt());
	EXPECT_EQ(-EWOULDBLOCK, unload());
	EXPECT_TRUE(loaded());
	close(fd);
	EXPECT_EQ(0, refcnt());
	EXPECT_EQ(0, unload());
}

TEST_F(module, busy_while_file_in_child)
{
	int pipefd[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, load());
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = gmem_create(PAGE_SZ, 0);

		close(pipefd[0]);
		if (write(pipefd[1], fd < 0 ? "E" : "k", 1) != 1)
			_exit(2);
		/* Hold the file until the parent closes its end. */
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ('k', c);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(pipefd[0]);
	EXPECT_EQ(0, unload());
}

TEST_F(module, busy_while_device_open)
{
	int dev;

	ASSERT_EQ(0, load());
	dev = open(RUST_GMEM_DEVICE, O_RDWR);
	ASSERT_LE(0, dev);
	EXPECT_EQ(1, refcnt());
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(dev);
	EXPECT_EQ(0, unload());
}

TEST_F(module, file_outlives_device_fd)
{
	int fd;

	ASSERT_EQ(0, load());
	/* gmem_create() closes the device before returning. */
	fd = gmem_create(PAGE_SZ, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(fd);
	EXPECT_EQ(0, unload());
}

/* The filesystem KVM's own guest_memfd files live on. */
#define ANON_INODE_FS_MAGIC	0x09041934
#define SW_PROTECTED_VM		1

/* KVM_CREATE_GUEST_MEMFD on a new VM of `type`; returns the file's filesystem magic, or -errno. */
static long kvm_gmem_fs(int kvm, int type, uint64_t flags, int *vm_out, int *fd_out)
{
	struct kvm_create_guest_memfd args = { .size = PAGE_SZ, .flags = flags };
	struct statfs sfs;
	int vm, fd;

	vm = ioctl(kvm, KVM_CREATE_VM, type);
	if (vm < 0)
		return -errno;
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &args);
	if (fd < 0) {
		long err = -errno;

		close(vm);
		return err;
	}
	if (fstatfs(fd, &sfs)) {
		close(fd);
		close(vm);
		return -EIO;
	}
	*vm_out = vm;
	*fd_out = fd;
	return sfs.f_type;
}

/*
 * KVM's guest_memfd files come from rust_gmem exactly while it is loaded: the module cannot go
 * while KVM holds such a file, and afterwards KVM makes its own files again, as before.
 */
TEST_F(module, kvm_provider)
{
	int kvm = open("/dev/kvm", O_RDWR);
	int vm, fd;
	long fs;

	if (kvm < 0)
		SKIP(return, "no /dev/kvm");
	if (!(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) & (1 << SW_PROTECTED_VM)))
		SKIP(close(kvm); return, "no KVM_X86_SW_PROTECTED_VM");

	/* Before: KVM's own file, which takes no flags. */
	fs = kvm_gmem_fs(kvm, SW_PROTECTED_VM, 0, &vm, &fd);
	ASSERT_EQ(ANON_INODE_FS_MAGIC, fs);
	close(fd);
	close(vm);
	EXPECT_EQ(-EINVAL, kvm_gmem_fs(kvm, SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP, &vm, &fd));

	ASSERT_EQ(0, load());
	fs = kvm_gmem_fs(kvm, SW_PROTECTED_VM, GUEST_MEMFD_FLAG_MMAP, &vm, &fd);
	if (fs == -EINVAL) {
		/* The module loaded but KVM does not ask it: a kernel without patches/. */
		close(kvm);
		SKIP(return, "kernel without the KVM provider patch");
	}
	ASSERT_EQ(RUST_GMEM_FS_MAGIC, fs);
	EXPECT_EQ(2, refcnt());
	EXPECT_EQ(-EWOULDBLOCK, unload());
	/* The file holds the VM, not the other way round. */
	close(vm);
	EXPECT_EQ(-EWOULDBLOCK, unload());
	close(fd);
	EXPECT_EQ(0, refcnt());
	ASSERT_EQ(0, unload());

	/* After: KVM's own file again. */
	fs = kvm_gmem_fs(kvm, SW_PROTECTED_VM, 0, &vm, &fd);
	EXPECT_EQ(ANON_INODE_FS_MAGIC, fs);
	if (fs >= 0) {
		close(fd);
		close(vm);
	}
	close(kvm);
}

TEST_HARNESS_MAIN
