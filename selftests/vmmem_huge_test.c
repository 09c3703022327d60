// SPDX-License-Identifier: GPL-2.0
/*
 * Regions in 2 MiB pages: a kernel-backed region of 2 MiB or more gets a
 * 2 MiB aligned mmap offset and is made of 2 MiB pages (huge_chunks); a
 * shared mapping at an aligned address maps them with one PMD entry each
 * (smaps FilePmdMapped), except while the region is dirty-logged, when
 * every page is mapped and logged at 4 KiB; a mapping made again after
 * DIRTY_STOP is huge again. Splitting a huge mapping (partial munmap,
 * mprotect, mremap), fork and GUP (process_vm_readv/writev, a pin) keep
 * the data and leak nothing. Every case runs with 2 MiB pages and with the
 * module's huge_pages parameter off (what a fragmented host gets).
 */
#include <sys/uio.h>
#include <sys/wait.h>

#include "vmmem_test.h"
#include "vmmem_fuzz.h"
#include "vmmem_stall.h"

#define HUGE_PARAM	"/sys/module/vmmem/parameters/huge_pages"
#define HP		(2ULL << 20)
#define GPA		0x40000000ULL
#define NH		4			/* 2 MiB pages in the region */
#define SIZE		(NH * HP)
#define NP		(SIZE / PG)

/* The smaps field @key (kB) of the mapping that holds @addr; -1: none. */
static long smaps_kb(void *addr, const char *key)
{
	unsigned long a = (unsigned long)addr, lo, hi;
	size_t klen = strlen(key);
	bool in = false;
	char line[512];
	long v = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = lo <= a && a < hi;
			continue;
		}
		if (in && !strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long pmd_kb(void *addr)
{
	return smaps_kb(addr, "FilePmdMapped");
}

/* Harvests [GPA, GPA + NP pages): the dirty runs, "3 9-10 ". */
static const char *dirty_pages(int fd, char *out, size_t size)
{
	static __u64 bmp[NP / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = SIZE,
					 .buf = ptr2u(bmp) };
	size_t len = 0;
	unsigned long i, e;

	out[0] = '\0';
	if (ioctl(fd, VMMEM_DIRTY_HARVEST, &h)) {
		snprintf(out, size, "error: %s", strerror(errno));
		return out;
	}
#define BIT(i) ((i) < NP && (bmp[(i) / 64] >> ((i) % 64) & 1))
	for (i = 0; i < NP && len < size - 32; i = e) {
		if (!BIT(i)) {
			e = i + 1;
			continue;
		}
		for (e = i + 1; BIT(e); e++)
			;
		if (e - i == 1)
			len += snprintf(out + len, size - len, "%lu ", i);
		else
			len += snprintf(out + len, size - len, "%lu-%lu ", i,
					e - 1);
	}
#undef BIT
	return out;
}

#define DIRTY(fd) dirty_pages((fd), list, sizeof(list))

/* Touches every page of [m, m + len): reads, or writes @fill. */
static void touch(unsigned char *m, __u64 len, bool write, unsigned char fill)
{
	volatile unsigned char *v = m;
	__u64 i;

	for (i = 0; i < len; i += PG) {
		if (write)
			v[i] = fill;
		else
			(void)v[i];
	}
}

FIXTURE(huge) {
	int fd;
	char param[8];
	struct vmmem_region_add a;
	unsigned char *m;
	long pmd_full;		/* FilePmdMapped of the whole, in kB */
};

FIXTURE_VARIANT(huge) {
	bool huge;
};

FIXTURE_VARIANT_ADD(huge, huge_pages) {
	.huge = true,
};

FIXTURE_VARIANT_ADD(huge, small_pages) {
	.huge = false,
};

FIXTURE_SETUP(huge)
{
	self->m = MAP_FAILED;
	self->fd = -1;
	ASSERT_EQ(0, read_file_str(HUGE_PARAM, self->param,
				   sizeof(self->param)));
	ASSERT_EQ(0, write_file_str(HUGE_PARAM, variant->huge ? "Y" : "N"));
	self->pmd_full = variant->huge ? SIZE / 1024 : 0;
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &self->a));
	ASSERT_EQ(0, self->a.mmap_offset % HP);
	self->m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, self->a.mmap_offset);
	ASSERT_NE(MAP_FAILED, self->m);
}

FIXTURE_TEARDOWN(huge)
{
	if (self->m != MAP_FAILED)
		munmap(self->m, SIZE);
	if (self->fd >= 0)
		close(self->fd);
	write_file_str(HUGE_PARAM, self->param);
}

TEST_F(huge, a_region_counts_its_huge_chunks_and_starts_2m_aligned)
{
	struct vmmem_region_add s1, big, s2, odd;
	struct vmmem_region_info info[8];
	__u32 i, n;
	int fd = vm_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vm_add(fd, 0, 16 * PG, 0, 0, &s1));
	ASSERT_EQ(0, s1.mmap_offset);
	/* 2 MiB and more: the next 2 MiB offset */
	ASSERT_EQ(0, vm_add(fd, HP, 2 * HP + 3 * PG, 0, 0, &big));
	ASSERT_EQ(HP, big.mmap_offset);
	/* smaller ones follow at once, as before */
	ASSERT_EQ(0, vm_add(fd, 16 * HP, 5 * PG, 0, 0, &s2));
	ASSERT_EQ(3 * HP + 3 * PG, s2.mmap_offset);
	/* a guest address that is not 2 MiB aligned: the chunks still are */
	ASSERT_EQ(0, vm_add(fd, 32 * HP + PG, HP, 0, 0, &odd));
	ASSERT_EQ(4 * HP, odd.mmap_offset);
	ASSERT_EQ(0, vm_list(fd, info, 8, &n, NULL));
	ASSERT_EQ(4, n);
	for (i = 0; i < n; i++) {
		unsigned int want = 0;

		if (info[i].guest_addr == HP)
			want = variant->huge ? 2 : 0;
		if (info[i].guest_addr == 32 * HP + PG)
			want = variant->huge ? 1 : 0;
		EXPECT_EQ(want, info[i].huge_chunks)
			TH_LOG("region at 0x%llx", info[i].guest_addr);
	}
	EXPECT_EQ(0, vm_find(fd, HP + 5, &info[0]));
	EXPECT_EQ(variant->huge ? 2 : 0, info[0].huge_chunks);
	close(fd);
}

TEST_F(huge, a_mapping_at_2m_maps_with_pmds_and_sees_the_same_memory)
{
	unsigned char buf[64], *m = self->m;
	__u64 done;

	/* mmap() picked a 2 MiB aligned address */
	ASSERT_EQ(0, (unsigned long)m % HP);
	EXPECT_EQ(0, pmd_kb(m));
	touch(m, SIZE, false, 0);
	EXPECT_EQ(self->pmd_full, pmd_kb(m));
	/* the first write to a read-only 2 MiB entry maps it writable */
	touch(m, SIZE, true, 0x5a);
	EXPECT_EQ(self->pmd_full, pmd_kb(m));
	memset(m + HP - 32, 0xc3, 64);
	ASSERT_EQ(0, vm_read(self->fd, GPA + HP - 32, buf, 64, VMMEM_IO_EXACT,
			     &done));
	EXPECT_TRUE(all_bytes(buf, 64, 0xc3));
	memset(buf, 0x3c, 64);
	ASSERT_EQ(0, vm_write(self->fd, GPA + 3 * HP + 100, buf, 64,
			      VMMEM_IO_EXACT, &done));
	EXPECT_TRUE(all_bytes(m + 3 * HP + 100, 64, 0x3c));
	EXPECT_EQ(0x5a, m[3 * HP]);
}

TEST_F(huge, a_mapping_off_2m_maps_at_4k)
{
	unsigned char *m, *base = unmapped_range(SIZE + 2 * HP);

	/* mmap() keeps address and offset congruent: whole chunks map huge */
	m = mmap(NULL, SIZE - PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, self->a.mmap_offset + PG);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(PG, (unsigned long)m % HP);
	touch(m, SIZE - PG, false, 0);
	EXPECT_EQ(variant->huge ? (SIZE - HP) / 1024 : 0, pmd_kb(m));
	munmap(m, SIZE - PG);

	/* an address 2 MiB aligned for an offset one page in: never huge */
	ASSERT_NE(NULL, base);
	base = (unsigned char *)(((unsigned long)base + HP - 1) & ~(HP - 1));
	m = mmap(base, SIZE - PG, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, self->fd, self->a.mmap_offset + PG);
	ASSERT_EQ(base, m);
	touch(m, SIZE - PG, true, 7);
	EXPECT_EQ(0, pmd_kb(m));
	EXPECT_EQ(7, self->m[PG]);
	EXPECT_EQ(7, self->m[SIZE - PG]);
	munmap(m, SIZE - PG);
}

/*
 * Logging maps every page at 4 KiB and logs each write alone; a mapping
 * made again after STOP is huge again.
 */
TEST_F(huge, logging_maps_and_logs_at_4k_and_a_new_mapping_after_stop_is_huge)
{
	unsigned char *m = self->m;
	char list[256];
	void *again;

	touch(m, SIZE, true, 1);
	EXPECT_EQ(self->pmd_full, pmd_kb(m));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, SIZE));
	/* START took the 2 MiB entries away */
	EXPECT_EQ(0, pmd_kb(m));
	EXPECT_STREQ("", DIRTY(self->fd));
	m[3 * PG] = 2;
	m[700 * PG + 5] = 2;
	m[NP * PG - 1] = 2;
	EXPECT_EQ(0, pmd_kb(m));
	EXPECT_STREQ("3 700 2047 ", DIRTY(self->fd));
	/* read faults too stay at 4 KiB: a later write faults alone */
	touch(m, SIZE, false, 0);
	EXPECT_EQ(0, pmd_kb(m));
	m[1500 * PG] = 3;
	EXPECT_STREQ("1500 ", DIRTY(self->fd));
	touch(m, SIZE, true, 4);
	EXPECT_STREQ("0-2047 ", DIRTY(self->fd));
	EXPECT_EQ(0, pmd_kb(m));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_STOP, GPA, SIZE));
	/* the same mapping keeps its page tables; a new one is huge */
	again = mmap(m, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		     self->fd, self->a.mmap_offset);
	ASSERT_EQ((void *)m, again);
	touch(m, SIZE, false, 0);
	EXPECT_EQ(self->pmd_full, pmd_kb(m));
	EXPECT_EQ(4, m[1500 * PG]);
}

/* A START while other threads write through the mapping misses nothing. */
struct writer {
	unsigned char *m;
	volatile bool stop;
	unsigned long writes;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	unsigned int seed = 1;

	while (!w->stop) {
		w->m[(rand_r(&seed) % NP) * PG + 8]++;
		w->writes++;
	}
	return NULL;
}

TEST_F(huge, start_and_stop_under_writers_lose_no_write)
{
	unsigned char *shadow = malloc(SIZE), *m = self->m;
	static __u64 bmp[NP / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = SIZE,
					 .buf = ptr2u(bmp) };
	struct writer w = { .m = m };
	pthread_t t;
	int round, i;

	ASSERT_NE(NULL, shadow);
	touch(m, SIZE, true, 0);
	for (round = 0; round < 6; round++) {
		/* huge again, then logging starts under the writer */
		ASSERT_EQ(m, mmap(m, SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, self->fd,
				  self->a.mmap_offset));
		w.stop = false;
		ASSERT_EQ(0, pthread_create(&t, NULL, writer_run, &w));
		usleep(20000);
		ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA,
					 SIZE));
		memcpy(shadow, m, SIZE);	/* racy: the log covers it */
		for (i = 0; i < 5; i++) {
			unsigned long p;

			usleep(10000);
			ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
			for (p = 0; p < NP; p++)
				if (bmp[p / 64] >> (p % 64) & 1)
					memcpy(shadow + p * PG, m + p * PG, PG);
		}
		w.stop = true;
		pthread_join(t, NULL);
		ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
		for (i = 0; i < (int)NP; i++)
			if (bmp[i / 64] >> (i % 64) & 1)
				memcpy(shadow + i * PG, m + i * PG, PG);
		/* what the log says is all that changed since the copy */
		ASSERT_EQ(0, memcmp(shadow, m, SIZE)) TH_LOG("round %d", round);
		ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_STOP, GPA,
					 SIZE));
	}
	EXPECT_LT(0, w.writes);
	free(shadow);
}

/*
 * A harvest holds pages it took from a log while STOP and START come and
 * go and fresh mappings write: a 2 MiB entry made while the log was off
 * must be taken away by the harvest, not walked (the kernel's walk warns
 * on a writable one: run.sh fails the run on any warning).
 */
struct racer {
	int fd;
	__u64 off;
	volatile bool stop;
	unsigned long rounds;
};

static void *racer_harvest(void *arg)
{
	struct racer *r = arg;
	static __u64 bmp[NP / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = SIZE,
					 .buf = ptr2u(bmp) };

	while (!r->stop) {
		ioctl(r->fd, VMMEM_DIRTY_HARVEST, &h);
		r->rounds++;
	}
	return NULL;
}

static void *racer_track(void *arg)
{
	struct racer *r = arg;

	while (!r->stop) {
		dirty_track(r->fd, VMMEM_DIRTY_STOP, GPA, SIZE);
		dirty_track(r->fd, VMMEM_DIRTY_START, GPA, SIZE);
	}
	return NULL;
}

static void *racer_map(void *arg)
{
	struct racer *r = arg;
	unsigned int i = 0;

	while (!r->stop) {
		unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
					MAP_SHARED, r->fd, r->off);

		if (m == MAP_FAILED)
			continue;
		touch(m, SIZE, true, i++);
		munmap(m, SIZE);
	}
	return NULL;
}

TEST_F_TIMEOUT(huge, harvests_race_stop_start_and_fresh_mappings, 120)
{
	struct racer r = { .fd = self->fd, .off = self->a.mmap_offset };
	void *(*fn[])(void *) = { racer_harvest, racer_track, racer_map,
				   racer_map };
	pthread_t t[4];
	unsigned int i;

	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, SIZE));
	touch(self->m, SIZE, true, 1);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fn[i], &r));
	/*
	 * The module before this test warned here within 40 s on both
	 * kernels; VMMEM_RACE_SECONDS hunts longer.
	 */
	sleep(getenv("VMMEM_RACE_SECONDS") ?
	      atoi(getenv("VMMEM_RACE_SECONDS")) : variant->huge ? 10 : 2);
	r.stop = true;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("%lu harvests\n", r.rounds);
	EXPECT_LT(10, r.rounds);
}

/* Splitting a huge mapping, fork and GUP keep the data. */
TEST_F(huge, splits_fork_and_gup_see_the_same_memory)
{
	unsigned char *m = self->m, buf[PG], *moved;
	struct iovec local, remote;
	pid_t pid;
	int status;
	__u64 done;

	touch(m, SIZE, true, 9);
	/* a hole in the first 2 MiB, a read-only page in the second */
	ASSERT_EQ(0, munmap(m + 10 * PG, PG));
	ASSERT_EQ(0, mprotect(m + HP + 3 * PG, PG, PROT_READ));
	EXPECT_EQ(9, m[HP + 3 * PG]);
	m[HP + 4 * PG] = 10;
	m[11 * PG] = 11;
	/* the third 2 MiB moves elsewhere whole, the fourth in pieces */
	moved = mremap(m + 2 * HP, HP, HP, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	moved[5] = 12;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 2 * HP + 5, buf, 1,
			     VMMEM_IO_EXACT, &done));
	EXPECT_EQ(12, buf[0]);
	moved = mremap(m + 3 * HP + PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	moved[PG] = 13;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 3 * HP + 2 * PG, buf, 1,
			     VMMEM_IO_EXACT, &done));
	EXPECT_EQ(13, buf[0]);

	/* a fork's child writes and reads the same pages */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		m[HP + 7 * PG] = 14;
		_exit(m[HP + 4 * PG] == 10 && m[11 * PG] == 11 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(14, m[HP + 7 * PG]);

	/* GUP through a 2 MiB entry: process_vm_readv/writev on ourselves */
	touch(m + HP, HP, false, 0);
	memset(buf, 15, PG);
	local.iov_base = buf;
	local.iov_len = PG;
	remote.iov_base = m + HP + 100 * PG;
	remote.iov_len = PG;
	ASSERT_EQ(PG, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_EQ(0, vm_read(self->fd, GPA + HP + 100 * PG, buf, PG,
			     VMMEM_IO_EXACT, &done));
	EXPECT_TRUE(all_bytes(buf, PG, 15));
	m[HP + 101 * PG] = 16;
	remote.iov_base = m + HP + 101 * PG;
	ASSERT_EQ(PG, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(16, buf[0]);
}

/*
 * A pin on a page of a 2 MiB page: the page has one reference count for
 * all its 4 KiB pages, so one held since before START keeps all of them
 * dirty, and one taken while logging keeps the pages of its 2 MiB page
 * that were reported with it; while held, and once more after.
 */
TEST_F(huge, a_pin_on_a_huge_page_is_reported_while_held_and_once_after)
{
	struct stall_pin p = { .running = false };
	unsigned char *m = self->m;
	const char *held;
	char list[256];

	touch(m, SIZE, true, 1);
	ASSERT_EQ(0, stall_pin(&p, m + 3 * PG, 0x33));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, SIZE));
	/* in a 2 MiB page: all of pages 0..511, the pin's page's */
	held = variant->huge ? "0-511 " : "3 ";
	EXPECT_STREQ(held, DIRTY(self->fd));
	EXPECT_STREQ(held, DIRTY(self->fd));
	ASSERT_EQ(PG, stall_unpin(&p));
	EXPECT_EQ(0x33, m[3 * PG + PG - 1]);
	EXPECT_STREQ(held, DIRTY(self->fd));
	EXPECT_STREQ("", DIRTY(self->fd));

	/* taken while logging: its write fault logs it */
	ASSERT_EQ(0, stall_pin(&p, m + 600 * PG, 0x66));
	m[900 * PG] = 2;
	EXPECT_STREQ("600 900 ", DIRTY(self->fd));
	/* in a 2 MiB page: with the pages reported alongside it */
	held = variant->huge ? "600 900 " : "600 ";
	EXPECT_STREQ(held, DIRTY(self->fd));
	ASSERT_EQ(PG, stall_unpin(&p));
	EXPECT_STREQ(held, DIRTY(self->fd));
	EXPECT_STREQ("", DIRTY(self->fd));
}

static long mem_free_kb(void)
{
	drop_caches();
	return free_kb();
}

/*
 * SIGKILL during the longest add a user can make (a quarter of RAM in
 * 2 MiB or 4 KiB pages): the adder dies soon and every page comes back.
 */
TEST_F_TIMEOUT(huge, sigkill_during_a_large_add_frees_everything, 120)
{
	long ram = proc_key_value("/proc/meminfo", "MemTotal"), before, after;
	int status, pfd[2];
	double t0, dt;
	char c;
	pid_t pid;

	ASSERT_LT(0, ram);
	ASSERT_EQ(0, pipe(pfd));
	before = mem_free_kb();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = vm_open();

		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		vm_add(fd, 1ULL << 40, (ram / 4 * 1024) & ~(HP - 1), 0, 0,
		       NULL);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	usleep(50000);
	t0 = now_sec();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	dt = now_sec() - t0;
	ksft_print_msg("gone %.0f ms after SIGKILL\n", dt * 1e3);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_GT(5.0, dt);
	after = mem_free_kb();
	EXPECT_GT(after, before - 64 * 1024) TH_LOG("MemFree %ld -> %ld kB",
						   before, after);
	close(pfd[0]);
	close(pfd[1]);
}

/* A region of 64 MiB, split, forked, logged and closed. */
static void cycle(struct __test_metadata *_metadata)
{
	struct vmmem_region_add a;
	unsigned char *m;
	pid_t pid;
	int fd;

	fd = vm_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vm_add(fd, GPA, 32 * HP, 0, 0, &a));
	m = mmap(NULL, 32 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a.mmap_offset);
	ASSERT_NE(MAP_FAILED, m);
	touch(m, 32 * HP, true, 1);
	pid = fork();
	if (!pid) {
		touch(m, 32 * HP, true, 2);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_START, GPA, 32 * HP));
	touch(m, 32 * HP, true, 3);
	ASSERT_EQ(0, mprotect(m + 5 * PG, HP, PROT_READ));
	ASSERT_EQ(0, munmap(m + 20 * HP + 7 * PG, 3 * HP));
	ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_STOP, GPA, 32 * HP));
	ASSERT_EQ(0, vm_remove_id(fd, a.id));
	munmap(m, 32 * HP);
	close(fd);
}

/* All of it goes back when everything is closed: pages and references. */
TEST_F_TIMEOUT(huge, nothing_leaks_after_splits_fork_and_logging, 180)
{
	long before, after;
	int i;

	munmap(self->m, SIZE);
	self->m = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	cycle(_metadata);
	before = mem_free_kb();
	for (i = 0; i < 4; i++)
		cycle(_metadata);
	after = mem_free_kb();
	/* 256 MiB went in; a reference kept per page or per 2 MiB keeps it */
	EXPECT_GT(after, before - 64 * 1024) TH_LOG("MemFree %ld -> %ld kB",
						   before, after);
}

TEST_HARNESS_MAIN
