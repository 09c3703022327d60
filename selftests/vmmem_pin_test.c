// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem user-backed regions (user_addr != 0): the caller's anonymous,
 * memfd/shmem and hugetlbfs pages are pinned long-term (FOLL_PIN), stay
 * coherent with the caller's mapping, are charged to the user's
 * RLIMIT_MEMLOCK allowance unless the caller has CAP_IPC_LOCK (the charge
 * lives as long as the pins, across exec and exit), and every pin is
 * released on remove/close.
 *
 * Pin leaks are checked with /proc/vmstat nr_foll_pin_acquired -
 * nr_foll_pin_released (global counters: compared before/after).
 */
#include <grp.h>
#include <sys/resource.h>

#include "vmmem_test.h"

#define GPA	0x100000ULL

FIXTURE(pin) {
	int fd;
	long base;	/* pins outstanding before the test */
};

FIXTURE_SETUP(pin)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->base = pins_outstanding();
	ASSERT_NE(LONG_MIN, self->base) TH_LOG("no nr_foll_pin_* in /proc/vmstat");
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(pin)
{
	if (self->fd >= 0)
		close(self->fd);
	/* every pin this test took is released once the file is closed */
	EXPECT_EQ(self->base, pins_settle(self->base));
}

TEST_F(pin, anon_region_reads_the_prefilled_pattern)
{
	size_t len = 16 * PG;
	unsigned char *buf = anon_map(len), *back = anon_map(len);
	__u64 done;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fill_pattern(buf, len, 11);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(buf), 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA, back, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(len, done);
	ASSERT_EQ(0, memcmp(buf, back, len));
}

TEST_F(pin, anon_region_is_coherent_with_the_user_mapping)
{
	size_t len = 4 * PG;
	unsigned char *buf = anon_map(len);
	unsigned char pat[300], back[300];

	ASSERT_NE(NULL, buf);
	memset(buf, 0x10, len);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(buf), 0, NULL));
	fill_pattern(pat, sizeof(pat), 5);
	/* vmmem -> user */
	ASSERT_EQ(0, vm_write(self->fd, GPA + PG - 100, pat, sizeof(pat),
			      VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(buf + PG - 100, pat, sizeof(pat)));
	/* user -> vmmem */
	memset(buf + 3 * PG, 0x7e, 300);
	ASSERT_EQ(0, vm_read(self->fd, GPA + 3 * PG, back, 300, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(back, 300, 0x7e));
}

TEST_F(pin, untouched_anon_memory_is_pinned_writable_and_zero)
{
	size_t len = 8 * PG;
	unsigned char *buf = anon_map(len);	/* never touched: no pages yet */
	unsigned char back[64];
	__u64 v = 0x0102030405060708ULL;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(buf), 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA + 5 * PG, back, 64, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(back, 64, 0));
	/* a write lands in the caller's page, not in a shared zero page */
	ASSERT_EQ(0, vm_write(self->fd, GPA + 5 * PG, &v, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(v, *(volatile __u64 *)(buf + 5 * PG));
	ASSERT_TRUE(all_bytes(buf + 6 * PG, PG, 0));
}

TEST_F(pin, memfd_region_is_coherent_with_mapping_and_pread)
{
	size_t len = 16 * PG;
	int mfd = memfd_create("vmmem-test", MFD_CLOEXEC);
	unsigned char *m, pat[PG], back[PG];

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	fill_pattern(m, len, 21);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(m), 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA + 7 * PG, back, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(back, m + 7 * PG, PG));
	fill_pattern(pat, PG, 99);
	ASSERT_EQ(0, vm_write(self->fd, GPA + 9 * PG, pat, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(m + 9 * PG, pat, PG));
	ASSERT_EQ(PG, pread(mfd, back, PG, 9 * PG));
	ASSERT_EQ(0, memcmp(back, pat, PG));
	/* file writes are seen by vmmem */
	memset(pat, 0x3d, 64);
	ASSERT_EQ(64, pwrite(mfd, pat, 64, 2 * PG));
	ASSERT_EQ(0, vm_read(self->fd, GPA + 2 * PG, back, 64, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(back, 64, 0x3d));
	close(mfd);
}

TEST_F(pin, shared_anonymous_region_is_coherent)
{
	size_t len = 4 * PG;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char v = 0;

	ASSERT_NE(MAP_FAILED, m);
	m[PG] = 0x4f;
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(m), 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA + PG, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0x4f, v);
	v = 0x50;
	ASSERT_EQ(0, vm_write(self->fd, GPA + 2 * PG, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0x50, m[2 * PG]);
}

TEST_F(pin, add_pins_every_page_and_remove_releases_them)
{
	size_t npages = 32;
	unsigned char *buf = anon_map(npages * PG);
	struct vmmem_region_add a;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, npages * PG);
	ASSERT_EQ(0, vm_add(self->fd, GPA, npages * PG, ptr2u(buf), 0, &a));
	ASSERT_EQ(self->base + (long)npages, pins_settle(self->base + npages));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(self->base, pins_settle(self->base));
	/* and by address */
	ASSERT_EQ(0, vm_add(self->fd, GPA, npages * PG, ptr2u(buf), 0, &a));
	ASSERT_EQ(0, vm_remove_addr(self->fd, GPA, npages * PG));
	ASSERT_EQ(self->base, pins_settle(self->base));
}

TEST_F(pin, kernel_backed_regions_take_no_user_pins)
{
	ASSERT_EQ(0, vm_add(self->fd, GPA, 64 * PG, 0, 0, NULL));
	ASSERT_EQ(self->base, pins_settle(self->base));
}

TEST_F(pin, failed_user_adds_leak_no_pins)
{
	unsigned char *buf = anon_map(8 * PG);
	void *ro = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(MAP_FAILED, ro);
	memset(buf, 2, 8 * PG);
	/* hole in the middle: pages before it may get pinned, then dropped */
	ASSERT_EQ(0, munmap(buf + 6 * PG, PG));
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 8 * PG, ptr2u(buf), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 4 * PG, ptr2u(ro), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
	/* overlap with an existing region */
	ASSERT_EQ(0, vm_add(self->fd, GPA, 2 * PG, 0, 0, NULL));
	ASSERT_EQ(-1, vm_add(self->fd, GPA + PG, 4 * PG, ptr2u(buf), 0, NULL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(self->base, pins_settle(self->base));
}

/*
 * A mapping holds the open file, as with any driver: closing the fd while a
 * region is mapped keeps the whole address space, pins included, until the
 * last munmap(); then everything goes.
 */
TEST_F(pin, close_with_live_mapping_releases_pins_at_last_munmap)
{
	unsigned char *u1 = anon_map(8 * PG), *u2 = anon_map(4 * PG);
	struct vmmem_region_add k;
	volatile unsigned char *m;
	unsigned char v = 0x6b;

	ASSERT_NE(NULL, u1);
	ASSERT_NE(NULL, u2);
	memset(u1, 1, 8 * PG);
	memset(u2, 2, 4 * PG);
	ASSERT_EQ(0, vm_add(self->fd, GPA, 8 * PG, ptr2u(u1), 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, 4 * PG, ptr2u(u2), 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x300000, 4 * PG, 0, 0, &k));
	ASSERT_EQ(0, vm_write(self->fd, 0x300000 + PG, &v, 1, 0, NULL));
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)k.mmap_offset);
	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(self->base + 12, pins_settle(self->base + 12));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	/* the mapping still works, and keeps the address space */
	ASSERT_EQ(0x6b, m[PG]);
	m[2 * PG] = 0x6c;
	ASSERT_EQ(0x6c, m[2 * PG]);
	ASSERT_EQ(self->base + 12, pins_settle(self->base + 12));
	ASSERT_EQ(0, munmap((void *)m, 4 * PG));
	ASSERT_EQ(self->base, pins_settle(self->base));
	/* the user memory is the caller's again */
	u1[0] = 9;
	ASSERT_EQ(9, u1[0]);
}

TEST_F(pin, user_munmap_while_pinned_keeps_region_pages)
{
	size_t len = 4 * PG;
	unsigned char *buf = anon_map(len);
	unsigned char ref[PG], back[PG];

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, len, 31);
	memcpy(ref, buf + 2 * PG, PG);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u(buf), 0, NULL));
	ASSERT_EQ(0, munmap(buf, len));
	/* the region still holds the caller's former pages */
	ASSERT_EQ(0, vm_read(self->fd, GPA + 2 * PG, back, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(back, ref, PG));
	ASSERT_EQ(0, vm_write(self->fd, GPA, ref, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(self->base + 4, pins_settle(self->base + 4));
}

TEST_F(pin, fork_after_pin_keeps_the_parent_coherent)
{
	size_t len = 2 * PG;
	volatile unsigned char *buf = anon_map(len);
	unsigned char v = 0;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, (void *)buf);
	memset((void *)buf, 0xAA, len);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, ptr2u((void *)buf), 0, NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the child's private copy */
		buf[0] = 0xCC;
		buf[PG] = 0xCC;
		_exit(buf[0] == 0xCC ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* the child's stores are not in the region */
	ASSERT_EQ(0, vm_read(self->fd, GPA, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0xAA, v);
	/* the parent's stores are */
	buf[1] = 0xDD;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 1, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0xDD, v);
	/* and region writes reach the parent */
	v = 0xEE;
	ASSERT_EQ(0, vm_write(self->fd, GPA + PG + 2, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0xEE, buf[PG + 2]);
}

/* --- hugetlbfs ---------------------------------------------------------------- */

FIXTURE(huge) {
	int fd;
	long base;
	long orig_nr;
	size_t hpsz;
};

FIXTURE_VARIANT(huge) {
	bool memfd;
};

FIXTURE_VARIANT_ADD(huge, anon) { .memfd = false };
FIXTURE_VARIANT_ADD(huge, memfd) { .memfd = true };

FIXTURE_SETUP(huge)
{
	long kb;

	self->base = pins_outstanding();
	ASSERT_NE(LONG_MIN, self->base);
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	self->orig_nr = read_file_long("/proc/sys/vm/nr_hugepages");
	kb = proc_key_value("/proc/meminfo", "Hugepagesize");
	self->hpsz = kb > 0 ? (size_t)kb * 1024 : 0;
	if (self->orig_nr >= 0 && self->orig_nr < 8)
		write_file_long("/proc/sys/vm/nr_hugepages", 8);
}

FIXTURE_TEARDOWN(huge)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(self->base, pins_settle(self->base));
	if (self->orig_nr >= 0 && self->orig_nr < 8)
		write_file_long("/proc/sys/vm/nr_hugepages", self->orig_nr);
}

TEST_F(huge, hugetlb_region_is_pinned_and_coherent)
{
	size_t len;
	unsigned char *m, pat[PG], back[PG];
	struct vmmem_region_add a;
	int mfd = -1;

	if (!self->hpsz || proc_key_value("/proc/meminfo", "HugePages_Free") < 2)
		SKIP(return, "no free huge pages (nr_hugepages=%ld)",
		     read_file_long("/proc/sys/vm/nr_hugepages"));
	len = 2 * self->hpsz;
	if (variant->memfd) {
		mfd = memfd_create("vmmem-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (mfd < 0)
			SKIP(return, "memfd_create(MFD_HUGETLB): %s", strerror(errno));
		ASSERT_EQ(0, ftruncate(mfd, len));
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	} else {
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	}
	if (m == MAP_FAILED)
		SKIP(return, "hugetlb mmap: %s", strerror(errno));
	fill_pattern(m, len, 41);
	/* a 2-huge-page region, at a GPA that is not huge-aligned */
	ASSERT_EQ(0, vm_add(self->fd, 0x40001000, len, ptr2u(m), 0, &a));
	ASSERT_EQ(self->base + (long)(len / PG),
		  pins_settle(self->base + len / PG));
	/* across the huge page boundary */
	ASSERT_EQ(0, vm_read(self->fd, 0x40001000 + self->hpsz - PG / 2, back, PG,
			     VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(back, m + self->hpsz - PG / 2, PG));
	fill_pattern(pat, PG, 43);
	ASSERT_EQ(0, vm_write(self->fd, 0x40001000 + len - PG, pat, PG,
			      VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(m + len - PG, pat, PG));
	if (mfd >= 0) {
		ASSERT_EQ(PG, pread(mfd, back, PG, len - PG));
		ASSERT_EQ(0, memcmp(back, pat, PG));
	}
	/* a sub-range of a huge page, 4 KiB aligned, is fine too */
	ASSERT_EQ(0, vm_add(self->fd, 0x80000000, 3 * PG, ptr2u(m + 5 * PG), 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, 0x80000000, back, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(back, m + 5 * PG, PG));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(self->base + 3, pins_settle(self->base + 3));
	ASSERT_EQ(0, vm_remove_addr(self->fd, 0x80000000, 3 * PG));
	ASSERT_EQ(self->base, pins_settle(self->base));
	munmap(m, len);
	if (mfd >= 0)
		close(mfd);
}

/* --- RLIMIT_MEMLOCK ------------------------------------------------------------- */

#define NOBODY	65534

/*
 * In a forked child: open the device (as root), cap RLIMIT_MEMLOCK at
 * @limit, optionally drop to nobody (which drops CAP_IPC_LOCK), then run
 * @fn. The child's exit status is @fn's result; 0 means pass.
 */
static int run_limited(rlim_t limit, bool drop, int (*fn)(int fd, int fd2))
{
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	int status, fd, fd2;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = vm_open();
		fd2 = vm_open();
		if (fd < 0 || fd2 < 0)
			_exit(100);
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(101);
		if (drop) {
			if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
				_exit(102);
			if (geteuid() != NOBODY)
				_exit(103);
		}
		_exit(fn(fd, fd2));
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status))
		return 200;
	return WEXITSTATUS(status);
}

static int memlock_steps(int fd, int fd2)
{
	unsigned char *big = anon_map(1 << 20), *a = anon_map(32 << 10);
	unsigned char *b = anon_map(64 << 10);
	struct vmmem_region_add ra;

	if (!big || !a || !b)
		return 1;
	/* 1 MiB > 64 KiB */
	if (vm_add(fd, 0x100000, 1 << 20, ptr2u(big), 0, NULL) != -1)
		return 2;
	if (errno != ENOMEM)
		return 3;
	/* 32 KiB fits */
	if (vm_add(fd, 0x400000, 32 << 10, ptr2u(a), 0, &ra))
		return 4;
	/* 32 + 64 KiB > 64 KiB */
	if (vm_add(fd, 0x500000, 64 << 10, ptr2u(b), 0, NULL) != -1)
		return 5;
	if (errno != ENOMEM)
		return 6;
	/* the charge is per caller, not per file */
	if (vm_add(fd2, 0x500000, 64 << 10, ptr2u(b), 0, NULL) != -1)
		return 7;
	if (errno != ENOMEM)
		return 8;
	/* removing the 32 KiB releases exactly its charge: 64 KiB fits */
	if (vm_remove_id(fd, ra.id))
		return 9;
	if (vm_add(fd, 0x500000, 64 << 10, ptr2u(b), 0, NULL))
		return 10;
	/* and now nothing more */
	if (vm_add(fd, 0x400000, PG, ptr2u(a), 0, NULL) != -1 || errno != ENOMEM)
		return 11;
	return 0;
}

TEST_F(pin, unprivileged_user_region_is_limited_by_rlimit_memlock)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, memlock_steps));
}

static int vmlck_steps(int fd, int fd2)
{
	unsigned char *a = anon_map(32 << 10);
	struct vmmem_region_add ra;
	long before = locked_kb(), during, after;

	if (!a || before < 0)
		return 1;
	if (vm_add(fd, 0x400000, 32 << 10, ptr2u(a), 0, &ra))
		return 2;
	during = locked_kb();
	if (vm_remove_id(fd, ra.id))
		return 3;
	after = locked_kb();
	if (during - before != 32)
		return 10 + (int)((during - before) & 0x3f);
	if (after != before)
		return 80;
	return 0;
}

TEST_F(pin, unprivileged_pinned_pages_are_counted_in_vmlck)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, vmlck_steps))
		TH_LOG("10 + n: VmLck+VmPin rose by n kB instead of 32");
}

static int kernel_backed_steps(int fd, int fd2)
{
	/* kernel-backed memory is charged to the memcg, not to MEMLOCK */
	if (vm_add(fd, 0x100000, 1 << 20, 0, 0, NULL))
		return 1;
	return 0;
}

TEST_F(pin, unprivileged_kernel_backed_region_is_not_charged_to_memlock)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, kernel_backed_steps));
}

static int close_steps(int fd, int fd2)
{
	unsigned char *a = anon_map(64 << 10), *b = anon_map(32 << 10);

	if (!a || !b)
		return 1;
	if (vm_add(fd, 0x100000, 64 << 10, ptr2u(a), 0, NULL))
		return 2;
	if (vm_add(fd2, 0x100000, 32 << 10, ptr2u(b), 0, NULL) != -1 ||
	    errno != ENOMEM)
		return 3;
	/* closing a file with a live region releases its charge */
	if (close(fd))
		return 4;
	if (vm_add(fd2, 0x100000, 32 << 10, ptr2u(b), 0, NULL))
		return 5;
	return 0;
}

TEST_F(pin, close_releases_the_memlock_charge)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, close_steps));
}

static int root_steps(int fd, int fd2)
{
	unsigned char *big = anon_map(1 << 20);
	struct vmmem_region_add ra;

	if (!big)
		return 1;
	if (vm_add(fd, 0x100000, 1 << 20, ptr2u(big), 0, &ra))
		return 2;
	if (vm_remove_id(fd, ra.id))
		return 3;
	return 0;
}

/*
 * The pins belong to the open file, which outlives exec(): so must their
 * charge. After exec (the file kept open) nothing more fits under the
 * same limit. Runs in the exec()ed image, before the harness.
 */
#define AFTER_EXEC_ENV	"VMMEM_PIN_AFTER_EXEC_FD"

static void __attribute__((constructor)) after_exec(void)
{
	const char *e = getenv(AFTER_EXEC_ENV);
	unsigned char *b;

	if (!e)
		return;
	b = anon_map(32 << 10);
	if (!b)
		_exit(20);
	if (vm_add(atoi(e), 0x600000, 32 << 10, ptr2u(b), 0, NULL) != -1)
		_exit(21);	/* the charge did not survive exec */
	_exit(errno == ENOMEM ? 0 : 22);
}

static int exec_steps(int fd, int fd2)
{
	unsigned char *a = anon_map(64 << 10);
	char env[64], *argv[] = { "vmmem_pin_test", NULL };
	char *envp[] = { env, NULL };

	if (!a)
		return 1;
	/* the whole limit, on a file that stays open across exec */
	if (vm_add(fd, 0x100000, 64 << 10, ptr2u(a), 0, NULL))
		return 2;
	if (fcntl(fd, F_SETFD, 0) || fcntl(fd2, F_SETFD, 0))
		return 3;
	snprintf(env, sizeof(env), "%s=%d", AFTER_EXEC_ENV, fd2);
	execve("/proc/self/exe", argv, envp);
	return 4;
}

TEST_F(pin, memlock_charge_survives_exec)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, exec_steps))
		TH_LOG("21: after exec the charge was gone");
}

/*
 * Nor does the charge go with the pinning process: after it exits, while
 * another process keeps the file, the same user can pin nothing more.
 */
static int kept_steps(int fd, int fd2)
{
	unsigned char *a = anon_map(64 << 10), *b = anon_map(32 << 10);
	int status;
	pid_t pinner;

	if (!a || !b)
		return 1;
	pinner = fork();
	if (!pinner)		/* pins the whole limit on fd, and exits */
		_exit(vm_add(fd, 0x100000, 64 << 10, ptr2u(a), 0, NULL) ? 1 : 0);
	if (pinner < 0 || waitpid(pinner, &status, 0) != pinner ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		return 2;
	/* we keep fd, and with it the pins */
	if (vm_add(fd2, 0x100000, 32 << 10, ptr2u(b), 0, NULL) != -1)
		return 3;	/* the charge went with the pinner */
	if (errno != ENOMEM)
		return 4;
	/* the last close releases the pins and the charge */
	if (close(fd))
		return 5;
	if (vm_add(fd2, 0x100000, 32 << 10, ptr2u(b), 0, NULL))
		return 6;
	return 0;
}

TEST_F(pin, memlock_charge_stays_after_the_pinning_process_exits)
{
	ASSERT_EQ(0, run_limited(64 << 10, true, kept_steps))
		TH_LOG("3: the charge went with the pinning process");
}

TEST_F(pin, cap_ipc_lock_may_exceed_rlimit_memlock)
{
	ASSERT_EQ(0, getuid()) TH_LOG("the tests run as root");
	ASSERT_EQ(0, run_limited(64 << 10, false, root_steps));
}

TEST_HARNESS_MAIN
