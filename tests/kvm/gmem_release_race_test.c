// SPDX-License-Identifier: GPL-2.0
/*
 * The last close of a rust_gmem file bound to memslots, racing KVM_SET_USER_MEMORY_REGION2 deleting
 * those memslots. KVM's memslot deletion may find the file dying (its release has started but not
 * yet taken kvm->slots_lock) and then unbinds the slot through KVM's per-file state, which must still
 * be reachable then: the release gives it back only after KVM itself has let go of it.
 *
 * Each round creates a file on a SW-protected VM, binds it to two memslots, and lets two threads
 * start at once: one closes the file, the other deletes the slots (in random order and with random
 * small delays, so that both orders and the window between them are covered). The rounds run in a
 * child process; a round that does not finish within the deadline is a hang (a task stuck on
 * slots_lock after an oops, or a deadlock), which the parent reports instead of hanging itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/rust_gmem.h>

#include "kvm_util.h"
#include "test_util.h"

#define SLOT0		10
#define SLOT1		11
#define SLOT_GPA	(1ull << 32)
#define SLOT_PAGES	16
#define SLOT_SIZE	(SLOT_PAGES * 4096ull)
#define ROUND_SECONDS	4
#define DEADLINE	60

struct round {
	struct kvm_vm *vm;
	int fd;
	pthread_barrier_t start;
	unsigned int seed;
	int delete_err;
};

static void spin(unsigned int n)
{
	for (volatile unsigned int i = 0; i < n; i++)
		;
}

static void *closer(void *arg)
{
	struct round *r = arg;
	unsigned int delay = rand_r(&r->seed) % 20000;

	pthread_barrier_wait(&r->start);
	spin(delay);
	close(r->fd);
	return NULL;
}

static void *deleter(void *arg)
{
	struct round *r = arg;
	unsigned int delay = rand_r(&r->seed) % 20000;

	pthread_barrier_wait(&r->start);
	spin(delay);
	r->delete_err = __vm_set_user_memory_region2(r->vm, SLOT0, KVM_MEM_GUEST_MEMFD, SLOT_GPA, 0,
						     NULL, 0, 0) ? errno : 0;
	if (!r->delete_err)
		r->delete_err = __vm_set_user_memory_region2(r->vm, SLOT1, KVM_MEM_GUEST_MEMFD,
							     SLOT_GPA + SLOT_SIZE, 0, NULL, 0, 0) ?
					errno : 0;
	return NULL;
}

/* Runs rounds for ROUND_SECONDS; returns the number of rounds. */
static unsigned long race(void)
{
	struct kvm_vm *vm = vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM);
	unsigned long rounds = 0;
	struct timespec t0, t;
	struct round r = { .vm = vm, .seed = 1 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		pthread_t a, b;

		r.fd = __vm_create_guest_memfd(vm, 2 * SLOT_SIZE, 0);
		TEST_ASSERT(r.fd >= 0, "KVM_CREATE_GUEST_MEMFD: %s", strerror(errno));
		vm_set_user_memory_region2(vm, SLOT0, KVM_MEM_GUEST_MEMFD, SLOT_GPA, SLOT_SIZE, NULL,
					   r.fd, 0);
		vm_set_user_memory_region2(vm, SLOT1, KVM_MEM_GUEST_MEMFD, SLOT_GPA + SLOT_SIZE,
					   SLOT_SIZE, NULL, r.fd, SLOT_SIZE);
		pthread_barrier_init(&r.start, NULL, 2);
		pthread_create(&a, NULL, closer, &r);
		pthread_create(&b, NULL, deleter, &r);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		pthread_barrier_destroy(&r.start);
		TEST_ASSERT(!r.delete_err, "memslot deletion: %s", strerror(r.delete_err));
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < ROUND_SECONDS);
	kvm_vm_free(vm);
	return rounds;
}

int main(int argc, char *argv[])
{
	int pipefd[2], status = 0;
	unsigned long rounds = 0;
	pid_t child;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));
	ksft_print_header();
	ksft_set_plan(1);

	TEST_ASSERT(!pipe(pipefd), "pipe: %s", strerror(errno));
	child = fork();
	TEST_ASSERT(child >= 0, "fork: %s", strerror(errno));
	if (!child) {
		rounds = race();
		TEST_ASSERT(write(pipefd[1], &rounds, sizeof(rounds)) == sizeof(rounds), "write");
		exit(0);
	}
	close(pipefd[1]);
	for (int waited = 0; waited < DEADLINE * 10; waited++) {
		if (waitpid(child, &status, WNOHANG) == child)
			break;
		usleep(100000);
	}
	if (waitpid(child, &status, WNOHANG) == 0) {
		/* The child is stuck in the kernel: its stacks go to the kernel log, it stays. */
		int sysrq = open("/proc/sysrq-trigger", O_WRONLY);

		if (sysrq >= 0) {
			TEST_ASSERT(write(sysrq, "w", 1) == 1, "sysrq: %s", strerror(errno));
			close(sysrq);
		}
		ksft_test_result_fail("close vs memslot deletion: no progress after %d s (hang)\n",
				      DEADLINE);
		ksft_exit_fail();
	}
	if (read(pipefd[0], &rounds, sizeof(rounds)) != sizeof(rounds) || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		ksft_test_result_fail("close vs memslot deletion: the racing process died (status %#x)\n",
				      status);
		ksft_exit_fail();
	}
	ksft_print_msg("%lu rounds of close racing memslot deletion\n", rounds);
	ksft_test_result_pass("last close of a bound file racing memslot deletion: no oops, no hang\n");
	ksft_finished();
}
