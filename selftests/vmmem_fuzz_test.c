// SPDX-License-Identifier: GPL-2.0
/*
 * Structured random ioctl fuzzer with a fixed seed.
 *
 * Each call picks an ioctl (or a wrong command number: _IOC with another
 * size, direction or number, which must be -ENOTTY) and fills its struct
 * from valid, near-valid and garbage values: GPAs at region edges and near
 * 2^64, huge lengths, every flag bit, non-zero reserved fields, bad user
 * pointers (NULL, unmapped, PROT_NONE, read-only, kernel addresses,
 * misaligned) and arguments that straddle into an unmapped page. mmap()
 * and lseek() with random arguments are mixed in. The generators are in
 * vmmem_fuzz.h, shared with vmmem_concurrent_fuzz_test.c.
 *
 * Invariants: every call returns 0 or -1 (GET_API_VERSION: the version)
 * with errno in the ioctl's documented set plus EFAULT/EINVAL/ENOMEM/
 * EINTR; a successful copy reports done <= len; and after closing
 * everything, pinned pages, locked_vm, MemFree and Slab are back where
 * they started (the last two with slack).
 *
 *   VMMEM_FUZZ_SEED   seed (default 0x5eed)
 *   VMMEM_FUZZ_CALLS  calls (default 200000, about 10 s under TCG)
 */
#include "vmmem_fuzz.h"

struct fuzz_stats {
	unsigned long calls, errs[NSTEP][ERRMAX + 1], bad;
};

static void setup_fuzz(struct __test_metadata *_metadata, struct fuzz *f)
{
	int p[2];
	unsigned char *m;

	memset(f, 0, sizeof(*f));
	f->fd = vm_open();
	ASSERT_GE(f->fd, 0);
	f->memfd = memfd_create("fuzz", 0);
	ASSERT_GE(f->memfd, 0);
	ASSERT_EQ(0, ftruncate(f->memfd, 2 * PG));
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	f->pipe_r = p[0];
	f->pipe_w = p[1];
	f->dirfd = open("/", O_RDONLY | O_DIRECTORY);
	ASSERT_GE(f->dirfd, 0);
	/* arena (arguments in its upper half) | edge | hole | none | ro */
	m = mmap(NULL, ARENA + 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0x5a, ARENA + 4 * PG);
	f->arena = m;
	f->args = m + ARENA / 2;
	f->edge = m + ARENA;
	f->hole = m + ARENA + PG;
	f->none = m + ARENA + 2 * PG;
	f->ro = m + ARENA + 3 * PG;
	ASSERT_EQ(0, munmap(f->hole, PG));
	ASSERT_EQ(0, mprotect(f->none, PG, PROT_NONE));
	ASSERT_EQ(0, mprotect(f->ro, PG, PROT_READ));
	/* some regions to start from, one at the top of the address space */
	ASSERT_EQ(0, vm_add(f->fd, SLOT_GPA(0), 4 * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(f->fd, SLOT_GPA(1), 4 * PG, ptr2u(f->arena), 0, NULL));
	ASSERT_EQ(0, vm_add(f->fd, SLOT_GPA(1) + 4 * PG, 4 * PG, 0,
			    VMMEM_REGION_READONLY, NULL));
	ASSERT_EQ(0, vm_add(f->fd, TOP_GPA, PG, 0, 0, NULL));
}

FIXTURE(fz) {
	int unused;
};

FIXTURE_SETUP(fz)
{
}

FIXTURE_TEARDOWN(fz)
{
}

TEST_F_TIMEOUT(fz, random_ioctls_keep_errnos_documented_and_leak_nothing, 300)
{
	const char *s = getenv("VMMEM_FUZZ_SEED"), *c = getenv("VMMEM_FUZZ_CALLS");
	unsigned long seed = s ? strtoul(s, NULL, 0) : 0x5eed;
	unsigned long ncalls = c ? strtoul(c, NULL, 0) : 200000, i, n = 0;
	long pins0, lk0, free0, slab0, pins1, lk1, free1, slab1;
	struct fuzz *f = calloc(1, sizeof(*f));
	struct fuzz_stats *st = calloc(1, sizeof(*st));
	char hist[1024];
	double t0;
	int k, e, ret, err;

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, st);
	drop_caches();
	pins0 = pins_outstanding();
	lk0 = locked_kb();
	free0 = free_kb();
	slab0 = proc_key_value("/proc/meminfo", "Slab");
	ASSERT_NE(LONG_MIN, pins0);

	setup_fuzz(_metadata, f);
	fuzz_seed(f, seed, 0);
	t0 = now_sec();
	for (i = 0; i < ncalls; i++) {
		k = fuzz_step(f, &ret, &err);
		st->calls++;
		if (ret == 0) {
			st->errs[k][0]++;
			continue;
		}
		if (ret != -1 || !errno_allowed(k, err)) {
			if (st->bad++ < 10)
				TH_LOG("call %lu: %s returned %d errno %d (%s)", i,
				       cmd_names[k], ret, err, strerror(err));
			continue;
		}
		st->errs[k][err > ERRMAX ? ERRMAX : err]++;
	}
	ksft_print_msg("fuzz: %lu calls, seed %#lx, %.1f s\n", st->calls, seed,
		       now_sec() - t0);
	for (k = 0; k < NSTEP; k++) {
		n = snprintf(hist, sizeof(hist), "fuzz: %-12s", cmd_names[k]);
		for (e = 0; e <= ERRMAX; e++)
			if (st->errs[k][e] && n < sizeof(hist) - 32)
				n += snprintf(hist + n, sizeof(hist) - n, " %s:%lu",
					      e ? strerrorname_np(e) : "ok",
					      st->errs[k][e]);
		ksft_print_msg("%s\n", hist);
	}

	close(f->fd);
	close(f->memfd);
	close(f->pipe_r);
	close(f->pipe_w);
	close(f->dirfd);
	munmap(f->arena, ARENA + 4 * PG);
	drop_caches();
	pins1 = pins_settle(pins0);
	lk1 = locked_kb();
	free1 = free_kb();
	slab1 = proc_key_value("/proc/meminfo", "Slab");
	ksft_print_msg("fuzz: leaked pins %ld, locked_vm %ld kB, free %+ld kB, Slab %+ld kB\n",
		       pins1 - pins0, lk1 - lk0, free1 - free0, slab1 - slab0);
	EXPECT_EQ(0, st->bad);
	EXPECT_EQ(pins0, pins1);
	EXPECT_EQ(lk0, lk1);
	/* slack: per-CPU lists, page tables, caches that keep a few slabs */
	EXPECT_GT(free1, free0 - 16384);
	EXPECT_LT(slab1, slab0 + 8192);
	free(st);
	free(f);
}

TEST_HARNESS_MAIN
