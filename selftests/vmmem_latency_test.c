// SPDX-License-Identifier: GPL-2.0
/*
 * The longest calls a user can make, and what stops them.
 *
 * User regions may pin the same pages many times: NALIAS regions of 1 MiB
 * over one 1 MiB memfd make NALIAS MiB of guest memory out of 1 MiB of RAM,
 * and a user buffer of NALIAS mappings of the same memfd is as large; a
 * copy over them runs for seconds under TCG.
 *
 *   kill.*     the longest call of each kind runs in a child, over and
 *              over; SIGKILL must end the child within KILL_BOUND_MS of
 *              what an idle child takes to die (its exit alone, with 1024
 *              mappings, takes a few ms here and 400 ms under KASAN).
 *              DIRTY_START, and a harvest of dirty pages, write-protect
 *              each region in every mapping of the file: WP_REGIONS
 *              one-page regions under WP_MAPS mappings of them all (the
 *              parent's, not inherited: see MADV_DONTFORK) take either
 *              6 s here, 3 ms a region.
 *   resched.*  a call over a large region runs on the CPU of a SCHED_FIFO
 *              probe thread that wakes every millisecond: the probe's
 *              longest wait is the longest stretch the kernel ran without
 *              a rescheduling point, which must stay below GAP_FLOOR_MS or
 *              a tenth of the call, whichever is more. With preempt=none
 *              (debugfs) for the test: only cond_resched() counts, not
 *              every might_sleep() as in Debian's default, voluntary.
 *
 *   srcu.*     readers of one open file, at the lowest priority and
 *              preempted all the time (preempt=full, switched on through
 *              debugfs for the test), must not hold up another file's
 *              removes: one SRCU domain serves every file, so its readers
 *              run without preemption and briefly.
 *
 * The test VM's soft-lockup (watchdog_thresh 2) and hung-task (10 s)
 * detectors watch all of it: vm/run.sh fails on their reports.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include "vmmem_test.h"

#define MB		(1ULL << 20)
#define NALIAS		1024		/* 1 GiB of guest memory, 1 MiB of RAM */
#define KILL_BOUND_MS	1000
#define GAP_FLOOR_MS	25
#define HIGH_GPA	(1ULL << 40)	/* above the aliased regions */
#define WP_REGIONS	2048		/* DIRTY_START: regions ... */
#define WP_MAPS		1024		/* ... in each of these mappings */
#define RS_MIB		16		/* DIRTY_START: one region ... */
#define RS_MAPS		256		/* ... mapped this many times */

/* NALIAS MiB of address space backed by the one MiB of @mfd, or NULL. */
static unsigned char *alias_map(int mfd)
{
	unsigned char *p = mmap(NULL, NALIAS * MB, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
	unsigned int i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < NALIAS; i++)
		if (mmap(p + i * MB, MB, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, mfd, 0) == MAP_FAILED)
			return NULL;
	return p;
}

static int alias_memfd(void)
{
	int mfd = memfd_create("vmmem-alias", MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, MB))
		return -1;
	return mfd;
}

/* --- kill ---------------------------------------------------------------- */

enum kcall { K_READ, K_WRITE, K_BATCH, K_COPY, K_READ_FROM_FD,
	     K_WRITE_TO_FD, K_ADD_PINNED, K_ADD_ALLOCATED, K_DIRTY_START,
	     K_DIRTY_HARVEST };

FIXTURE(kill) {
	int fd, mfd;
	unsigned char *buf;
};

FIXTURE_VARIANT(kill) {
	enum kcall call;
};

FIXTURE_VARIANT_ADD(kill, read_of_1_gib_over_aliased_regions) { K_READ };
FIXTURE_VARIANT_ADD(kill, write_of_1_gib_over_aliased_regions) { K_WRITE };
FIXTURE_VARIANT_ADD(kill, batch_of_1024_ops_of_1_mib_each) { K_BATCH };
FIXTURE_VARIANT_ADD(kill, guest_copy_of_1023_mib) { K_COPY };
FIXTURE_VARIANT_ADD(kill, read_from_dev_zero_of_1_gib) { K_READ_FROM_FD };
FIXTURE_VARIANT_ADD(kill, write_to_dev_null_of_1_gib) { K_WRITE_TO_FD };
FIXTURE_VARIANT_ADD(kill, add_pinning_1_gib) { K_ADD_PINNED };
FIXTURE_VARIANT_ADD(kill, add_allocating_512_mib) { K_ADD_ALLOCATED };
FIXTURE_VARIANT_ADD(kill, dirty_start_of_2048_regions_in_1024_mappings) {
	K_DIRTY_START
};
FIXTURE_VARIANT_ADD(kill, harvest_of_2048_regions_in_1024_mappings) {
	K_DIRTY_HARVEST
};

FIXTURE_SETUP(kill)
{
	struct vmmem_region_add a;
	unsigned int i;
	__u64 off = 0;

	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	self->mfd = alias_memfd();
	ASSERT_GE(self->mfd, 0);
	self->buf = alias_map(self->mfd);
	ASSERT_NE(NULL, self->buf);
	for (i = 0; i < NALIAS; i++)
		ASSERT_EQ(0, vm_add(self->fd, i * MB, MB, ptr2u(self->buf), 0,
				    NULL));
	if (variant->call != K_DIRTY_START && variant->call != K_DIRTY_HARVEST)
		return;
	/* Adjacent regions, adjacent in the file: one mapping spans all. */
	for (i = 0; i < WP_REGIONS; i++) {
		ASSERT_EQ(0, vm_add(self->fd, HIGH_GPA + i * PG, PG, 0,
				    variant->call == K_DIRTY_HARVEST ?
				    VMMEM_REGION_DIRTY_LOG : 0, &a));
		if (!i)
			off = a.mmap_offset;
		ASSERT_EQ(off + i * PG, a.mmap_offset);
	}
	/* Unmapped by the test's exit. */
	for (i = 0; i < WP_MAPS; i++) {
		void *p = mmap(NULL, WP_REGIONS * PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED, self->fd, off);

		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, madvise(p, WP_REGIONS * PG, MADV_DONTFORK));
	}
}

FIXTURE_TEARDOWN(kill)
{
	close(self->fd);
	munmap(self->buf, NALIAS * MB);
	close(self->mfd);
}

/* The child: the call, again and again. */
static void kill_loop(struct _test_data_kill *self, enum kcall call, int ready)
{
	static struct vmmem_io ops[VMMEM_IO_BATCH_MAX];
	struct vmmem_io_batch b = { .ops = ptr2u(ops), .count = NALIAS };
	/* Overlapping by GPA: memmove from the end, 1 GiB less 1 MiB. */
	struct vmmem_copy c = { .dst_gpa = MB, .len = (NALIAS - 1) * MB };
	struct vmmem_fd_io f = { .len = NALIAS * MB, .offset = -1 };
	struct vmmem_dirty_track t = { .guest_addr = HIGH_GPA,
				       .len = WP_REGIONS * PG };
	static __u64 bmp[WP_REGIONS / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = HIGH_GPA,
					 .len = WP_REGIONS * PG,
					 .buf = ptr2u(bmp) };
	struct vmmem_region_add a;
	unsigned int i;

	for (i = 0; i < NALIAS; i++) {
		ops[i].guest_addr = i * MB;
		ops[i].user_addr = ptr2u(self->buf + i * MB);
		ops[i].len = MB;
	}
	if (call == K_READ_FROM_FD)
		f.fd = open("/dev/zero", O_RDONLY);
	if (call == K_WRITE_TO_FD)
		f.fd = open("/dev/null", O_WRONLY);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	for (;;) {
		switch (call) {
		case K_READ:
			vm_read(self->fd, 0, self->buf, NALIAS * MB, 0, NULL);
			break;
		case K_WRITE:
			vm_write(self->fd, 0, self->buf, NALIAS * MB, 0, NULL);
			break;
		case K_BATCH:
			ioctl(self->fd, VMMEM_IO_BATCH, &b);
			break;
		case K_COPY:
			ioctl(self->fd, VMMEM_COPY, &c);
			break;
		case K_READ_FROM_FD:
			ioctl(self->fd, VMMEM_READ_FROM_FD, &f);
			break;
		case K_WRITE_TO_FD:
			ioctl(self->fd, VMMEM_WRITE_TO_FD, &f);
			break;
		case K_ADD_PINNED:
		case K_ADD_ALLOCATED:
			if (!vm_add(self->fd, HIGH_GPA, call == K_ADD_PINNED ?
				    NALIAS * MB : NALIAS / 2 * MB,
				    call == K_ADD_PINNED ? ptr2u(self->buf) : 0,
				    0, &a))
				vm_remove_id(self->fd, a.id);
			break;
		case K_DIRTY_START:
			t.op = VMMEM_DIRTY_START;
			ioctl(self->fd, VMMEM_DIRTY_TRACK, &t);
			t.op = VMMEM_DIRTY_STOP;
			ioctl(self->fd, VMMEM_DIRTY_TRACK, &t);
			break;
		case K_DIRTY_HARVEST:
			/* all dirty: the harvest protects every page again */
			t.op = VMMEM_DIRTY_MARK;
			ioctl(self->fd, VMMEM_DIRTY_TRACK, &t);
			ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h);
			break;
		}
	}
}

/* Seconds from SIGKILL to the end of @pid. */
static double kill_and_wait(pid_t pid, int *status)
{
	double t0 = now_sec();

	if (kill(pid, SIGKILL))
		return -1;
	/* The child shares our open file: its exit releases no region. */
	while (waitpid(pid, status, WNOHANG) != pid)
		usleep(1000);
	return now_sec() - t0;
}

TEST_F_TIMEOUT(kill, the_longest_call_ends_soon_after_sigkill, 600)
{
	int ready[2], status;
	double idle, dt;
	pid_t pid;
	char x;

	/* What dying costs a child like this one that is in no call. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		for (;;)
			pause();
	usleep(100 * 1000);
	idle = kill_and_wait(pid, &status);

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		kill_loop(self, variant->call, ready[1]);
	ASSERT_EQ(1, read(ready[0], &x, 1));
	usleep(300 * 1000);		/* well into the call */
	dt = kill_and_wait(pid, &status);
	ksft_print_msg("gone %.0f ms after SIGKILL (an idle child: %.0f ms)\n",
		       dt * 1e3, idle * 1e3);
	EXPECT_LT((dt - idle) * 1e3, KILL_BOUND_MS);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(ready[0]);
	close(ready[1]);
}

/* --- resched --------------------------------------------------------------- */

#define PREEMPT_MODE	"/sys/kernel/debug/sched/preempt"

/* Saves the preemption mode in @saved, sets @mode: 0, or -1 if none. */
static int preempt_set(const char *mode, char *saved, size_t size)
{
	saved[0] = 0;
	if (read_file_str(PREEMPT_MODE, saved, size))
		return -1;
	return write_file_str(PREEMPT_MODE, mode);
}

/* "none (voluntary) full": the mode in parentheses was on */
static void preempt_restore(const char *saved)
{
	if (strstr(saved, "(none)"))
		write_file_str(PREEMPT_MODE, "none\n");
	else if (strstr(saved, "(voluntary)"))
		write_file_str(PREEMPT_MODE, "voluntary\n");
	else if (strstr(saved, "(full)"))
		write_file_str(PREEMPT_MODE, "full\n");
}

enum rcall { R_ADD_USER, R_REMOVE_USER, R_CLOSE_USER, R_ADD_KERNEL,
	     R_REMOVE_KERNEL, R_CLOSE_KERNEL, R_MMAP_KERNEL, R_DIRTY_START };

FIXTURE(resched) {
	char preempt[64];
	int fd, mfd;
	unsigned char *buf;
	pthread_t probe;
	_Atomic bool stop;
	_Atomic double max_gap, last;
};

FIXTURE_VARIANT(resched) {
	enum rcall call;
};

FIXTURE_VARIANT_ADD(resched, add_of_a_1_gib_user_region) { R_ADD_USER };
FIXTURE_VARIANT_ADD(resched, remove_of_a_1_gib_user_region) { R_REMOVE_USER };
FIXTURE_VARIANT_ADD(resched, close_with_a_1_gib_user_region) { R_CLOSE_USER };
FIXTURE_VARIANT_ADD(resched, add_of_a_512_mib_kernel_region) { R_ADD_KERNEL };
FIXTURE_VARIANT_ADD(resched, remove_of_a_512_mib_kernel_region) { R_REMOVE_KERNEL };
FIXTURE_VARIANT_ADD(resched, close_with_a_512_mib_kernel_region) { R_CLOSE_KERNEL };
FIXTURE_VARIANT_ADD(resched, mmap_of_a_512_mib_kernel_region) { R_MMAP_KERNEL };
FIXTURE_VARIANT_ADD(resched, dirty_start_of_16_mib_in_256_mappings) {
	R_DIRTY_START
};

/* The probe and the call share this CPU. */
#define PROBE_CPU	1

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *probe(void *arg)
{
	struct sched_param sp = { .sched_priority = 50 };
	struct _test_data_resched *self = arg;

	pin_to_cpu(PROBE_CPU);
	sched_setscheduler(0, SCHED_FIFO, &sp);
	self->last = now_sec();
	while (!self->stop) {
		double t;

		usleep(1000);
		t = now_sec();
		if (t - self->last > self->max_gap)
			self->max_gap = t - self->last;
		self->last = t;
	}
	return NULL;
}

FIXTURE_SETUP(resched)
{
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	self->mfd = alias_memfd();
	ASSERT_GE(self->mfd, 0);
	self->buf = alias_map(self->mfd);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, pin_to_cpu(PROBE_CPU));
	if (preempt_set("none\n", self->preempt, sizeof(self->preempt)))
		ksft_print_msg("no %s: the kernel's own mode\n", PREEMPT_MODE);
	ASSERT_EQ(0, pthread_create(&self->probe, NULL, probe, self));
	usleep(50 * 1000);
}

FIXTURE_TEARDOWN(resched)
{
	self->stop = true;
	pthread_join(self->probe, NULL);
	preempt_restore(self->preempt);
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->buf, NALIAS * MB);
	close(self->mfd);
}

TEST_F_TIMEOUT(resched, the_call_reschedules_throughout, 300)
{
	bool user = variant->call <= R_CLOSE_USER;
	__u64 size = user ? NALIAS * MB : variant->call == R_DIRTY_START ?
		     RS_MIB * MB : NALIAS / 2 * MB;
	struct vmmem_dirty_track t = { .guest_addr = 0, .len = size,
				       .op = VMMEM_DIRTY_START };
	struct vmmem_region_add a;
	unsigned int i;
	double t0, dt, gap;
	void *p = MAP_FAILED;
	int ret = 0;

	if (variant->call != R_ADD_USER && variant->call != R_ADD_KERNEL)
		ASSERT_EQ(0, vm_add(self->fd, 0, size,
				    user ? ptr2u(self->buf) : 0, 0, &a));
	/* Unmapped by the test's exit. */
	for (i = 0; variant->call == R_DIRTY_START && i < RS_MAPS; i++)
		ASSERT_NE(MAP_FAILED, mmap(NULL, size, PROT_READ | PROT_WRITE,
					   MAP_SHARED, self->fd,
					   a.mmap_offset));
	usleep(20 * 1000);
	self->max_gap = 0;
	t0 = now_sec();
	switch (variant->call) {
	case R_ADD_USER:
	case R_ADD_KERNEL:
		ret = vm_add(self->fd, 0, size, user ? ptr2u(self->buf) : 0,
			     0, &a);
		break;
	case R_REMOVE_USER:
	case R_REMOVE_KERNEL:
		ret = vm_remove_id(self->fd, a.id);
		break;
	case R_CLOSE_USER:
	case R_CLOSE_KERNEL:
		ret = close(self->fd);
		self->fd = -1;
		break;
	case R_MMAP_KERNEL:
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, a.mmap_offset);
		ret = p == MAP_FAILED ? -1 : 0;
		break;
	case R_DIRTY_START:
		ret = ioctl(self->fd, VMMEM_DIRTY_TRACK, &t);
		break;
	}
	dt = now_sec() - t0;
	usleep(20 * 1000);		/* the probe's wait that spans the end */
	gap = self->max_gap;
	ksft_print_msg("call %.0f ms, longest stretch without a reschedule %.1f ms\n",
		       dt * 1e3, gap * 1e3);
	EXPECT_EQ(0, ret) TH_LOG("errno %d", errno);
	EXPECT_LT(gap * 1e3, dt * 1e3 / 10 > GAP_FLOOR_MS ? dt * 1e3 / 10 :
						       GAP_FLOOR_MS);
	if (p != MAP_FAILED)
		munmap(p, size);
}

/* --- srcu ------------------------------------------------------------------ */

#define SRCU_SECONDS	2.0
#define REMOVE_BOUND_MS	200

static _Atomic bool srcu_stop;

/* A reader at SCHED_IDLE: preempted by anything that wants its CPU. */
static void *idle_reader(void *arg)
{
	struct sched_param sp = { 0 };
	unsigned char *buf = anon_map(MB);
	int fd = (intptr_t)arg;

	pin_to_cpu(PROBE_CPU);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (buf && !srcu_stop)
		vm_read(fd, 0, buf, MB, 0, NULL);
	return NULL;
}

/* What the reader is preempted by. */
static void *hog(void *arg)
{
	pin_to_cpu(PROBE_CPU);
	while (!srcu_stop)
		;
	return NULL;
}

TEST(srcu_a_preempted_reader_of_another_file_holds_up_no_remove)
{
	int tenant = vm_open(), other = vm_open(), i;
	char mode[64];
	double worst = 0, end, t0, dt;
	unsigned long removes = 0;
	pthread_t th[3];

	ASSERT_GE(tenant, 0);
	ASSERT_GE(other, 0);
	if (preempt_set("full\n", mode, sizeof(mode)))
		SKIP(return, "no %s", PREEMPT_MODE);
	ASSERT_EQ(0, vm_add(tenant, 0, MB, 0, 0, NULL));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, idle_reader,
					    (void *)(intptr_t)tenant));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, hog, NULL));
	pin_to_cpu(0);
	end = now_sec() + SRCU_SECONDS;
	while (now_sec() < end) {
		ASSERT_EQ(0, vm_add(other, 0, PG, 0, 0, NULL));
		t0 = now_sec();
		ASSERT_EQ(0, vm_remove_addr(other, 0, PG));
		dt = now_sec() - t0;
		if (dt > worst)
			worst = dt;
		removes++;
	}
	srcu_stop = true;
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	preempt_restore(mode);
	ksft_print_msg("%lu removes, the longest %.1f ms\n", removes,
		       worst * 1e3);
	EXPECT_LT(worst * 1e3, REMOVE_BOUND_MS);
	close(tenant);
	close(other);
}

TEST_HARNESS_MAIN
