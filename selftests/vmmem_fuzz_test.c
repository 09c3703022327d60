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
 * and lseek() with random arguments are mixed in.
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
#include <dirent.h>

#include "vmmem_test.h"

#define NSLOT		12		/* GPAs where regions come and go */
#define SLOT_GPA(i)	(0x100000ULL * ((i) + 1))
#define ARENA		(64 * PG)	/* user buffers, region backing */
#define NCMD		13		/* GET_API_VERSION .. WRITE_TO_FD */
#define ERRMAX		134

static __u64 rng;

static __u64 rnd(void)			/* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static bool chance(int pct)
{
	return below(100) < (__u64)pct;
}

static const unsigned long cmds[NCMD] = {
	VMMEM_GET_API_VERSION, VMMEM_ADD_REGION, VMMEM_REMOVE_REGION,
	VMMEM_LIST_REGIONS, VMMEM_FIND_REGION, VMMEM_READ, VMMEM_WRITE,
	VMMEM_IO_BATCH, VMMEM_ATOMIC, VMMEM_COPY, VMMEM_TRANSLATE,
	VMMEM_READ_FROM_FD, VMMEM_WRITE_TO_FD,
};

static const char *const cmd_names[NCMD + 3] = {
	"version", "add", "remove", "list", "find", "read", "write", "batch",
	"atomic", "copy", "translate", "read_from_fd", "write_to_fd",
	"bad_cmd", "mmap", "lseek",
};

/* Errnos each ioctl may return besides EFAULT, EINVAL, ENOMEM, EINTR. */
static const int allowed[NCMD + 3][10] = {
	[1] = { EOVERFLOW, EEXIST, ENOSPC },
	[2] = { ENOENT },
	[3] = { E2BIG },
	[4] = { ENXIO },
	[5] = { ENXIO, ERANGE },
	[6] = { ENXIO, ERANGE, EACCES },
	[7] = { ENXIO, ERANGE, EACCES },
	[8] = { ENXIO, EACCES },
	[9] = { ENXIO, ERANGE, EACCES },
	[10] = { ENXIO, E2BIG },
	/* fd I/O: its own errors and those of the files we give it */
	[11] = { EBADF, ESPIPE, ENXIO, ERANGE, ENODATA, EIO, EACCES, EAGAIN,
		 EISDIR, EFBIG },
	[12] = { EBADF, ESPIPE, ENXIO, ERANGE, ENODATA, EIO, EACCES, EAGAIN,
		 EFBIG, ENOSPC },
	[13] = { ENOTTY },
	[14] = { EACCES, ENODEV, EOVERFLOW, EPERM },
	[15] = { ENXIO },
};

struct fuzz {
	int fd, memfd, pipe_r, pipe_w, dirfd;
	unsigned char *arena;		/* ARENA bytes, read-write */
	unsigned char *edge;		/* last RW page; unmapped page after */
	unsigned char *none;		/* PROT_NONE page */
	unsigned char *ro;		/* read-only page */
	unsigned char *hole;		/* unmapped */
	__u32 ids[64];			/* ids seen from add */
	unsigned int nids;
	unsigned long calls, errs[NCMD + 3][ERRMAX + 1], bad;
};

static __u64 rand_gpa(struct fuzz *f)
{
	static const __u64 odd[] = { 0, 1, PG - 1, TOP_GPA, TOP_LAST_BYTE,
		TOP_LAST_BYTE + 1, ~0ULL, ~0ULL - 7, 1ULL << 63, 0xffff888000000000ULL };
	__u64 g = SLOT_GPA(below(NSLOT));

	switch (below(6)) {
	case 0:
		return odd[below(sizeof(odd) / sizeof(odd[0]))];
	case 1:
		return rnd();
	case 2:
		return g + below(4) * PG - below(3) * 8;	/* near edges */
	default:
		return g + below(8) * PG + (chance(30) ? below(PG) : 0);
	}
}

static __u64 rand_len(void)
{
	static const __u64 odd[] = { 0, 1, 2, 4, 8, PG, PG + 1, 3 * PG,
		1ULL << 32, 1ULL << 40, 1ULL << 63, ~0ULL, ~0ULL - PG + 1 };

	if (chance(30))
		return odd[below(sizeof(odd) / sizeof(odd[0]))];
	return chance(50) ? below(64) : below(8 * PG);
}

/* A user pointer for a buffer of up to ARENA/2 bytes, or a bad one. */
static __u64 rand_ptr(struct fuzz *f)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return ptr2u(f->hole) + below(PG);
	case 2:
		return ptr2u(f->none);
	case 3:
		return ptr2u(f->ro);
	case 4:
		return 0xffff888000000000ULL + below(4) * PG;
	case 5:
		return ptr2u(f->edge) + PG - below(64);	/* runs off the end */
	case 6:
		return ptr2u(f->arena) + 1 + below(7);	/* misaligned */
	case 7:
		return rnd();
	default:
		return ptr2u(f->arena) + below(ARENA / 2 / PG) * PG;
	}
}

static __u32 rand_flags(void)
{
	switch (below(4)) {
	case 0:
		return 0;
	case 1:
		return 1U << below(32);
	case 2:
		return (__u32)rnd();
	default:
		return below(4);
	}
}

static __u64 rare(__u64 v)			/* usually 0, sometimes v */
{
	return chance(5) ? v : 0;
}

static int rand_fd(struct fuzz *f)
{
	/* never a terminal: a read from it would block */
	const int fds[] = { f->memfd, f->pipe_r, f->pipe_w, f->dirfd, f->fd,
			    -1, 9999 };

	return chance(60) ? f->memfd : fds[below(sizeof(fds) / sizeof(int))];
}

/* Where the argument struct lives: arena, a straddle, or a bad pointer. */
static void *place_arg(struct fuzz *f, void *arg, size_t sz)
{
	void *p;

	switch (below(20)) {
	case 0:
		return NULL;
	case 1:
		return f->hole;
	case 2:
		return (void *)(uintptr_t)0xffff888000000000ULL;
	case 3:		/* read-only: copy_from_user works, writing back fails */
		mprotect(f->ro, PG, PROT_READ | PROT_WRITE);
		memcpy(f->ro + PG - sz, arg, sz);
		mprotect(f->ro, PG, PROT_READ);
		return f->ro + PG - sz;
	case 4:		/* truncated: the struct runs into an unmapped page */
		p = f->edge + PG - sz + 1 + below(sz - 1);
		memcpy(p, arg, f->edge + PG - (unsigned char *)p);
		return p;
	default:
		p = f->arena + ARENA / 2 + below(ARENA / 2 - PG) / 8 * 8;
		memcpy(p, arg, sz);
		return p;
	}
}

static void fill_arg(struct fuzz *f, int k, void *arg)
{
	union {
		struct vmmem_region_add a;
		struct vmmem_region_remove r;
		struct vmmem_region_list l;
		struct vmmem_region_find fi;
		struct vmmem_io io;
		struct vmmem_io_batch b;
		struct vmmem_atomic at;
		struct vmmem_copy c;
		struct vmmem_translate t;
		struct vmmem_fd_io fd;
	} *u = arg;
	static struct vmmem_io ops[16];
	unsigned char op[128];
	unsigned int i;

	memset(u, 0, sizeof(*u));
	switch (k) {
	case 1:
		u->a.guest_addr = rand_gpa(f) & (chance(90) ? ~(PG - 1) : ~0ULL);
		u->a.size = chance(85) ? (1 + below(8)) * PG : rand_len();
		if (chance(40))
			u->a.user_addr = chance(80) ? ptr2u(f->arena) +
				below(32) * PG : rand_ptr(f);
		/*
		 * Huge: kernel-backed beyond RAM is ENOMEM at once; user-backed
		 * at most 512 MiB (a 1 MiB page array): nothing can OOM, and
		 * no huge vmalloc() blurs the MemFree balance.
		 */
		if (chance(30))
			u->a.size = 1ULL << (u->a.user_addr ? 20 + below(10) :
					     33 + below(30));
		u->a.flags = chance(70) ? below(2) : rand_flags();
		u->a.id = rnd();
		u->a.mmap_offset = rnd();
		u->a.reserved[below(2)] = rare(rnd());
		break;
	case 2:
		if (chance(50)) {
			u->r.id = f->nids ? f->ids[below(f->nids)] : 1;
			if (chance(10))
				u->r.id = rnd();
		} else {
			u->r.flags = VMMEM_REMOVE_BY_ADDR;
			u->r.guest_addr = rand_gpa(f) & ~(PG - 1);
			u->r.size = (1 + below(8)) * PG;
		}
		if (chance(10))
			u->r.flags = rand_flags();
		u->r.reserved = rare(rnd());
		break;
	case 3:
		u->l.regions = rand_ptr(f);
		u->l.count = chance(80) ? below(40) : rnd();
		u->l.flags = rare(rand_flags());
		u->l.reserved = rare(rnd());
		break;
	case 4:
		u->fi.guest_addr = rand_gpa(f);
		u->fi.reserved = rare(rnd());
		break;
	case 5: case 6: case 9:
		u->io.guest_addr = rand_gpa(f);
		u->io.user_addr = rand_ptr(f);	/* copy: dst_gpa */
		if (k == 9)
			u->c.dst_gpa = rand_gpa(f);
		u->io.len = rand_len();
		u->io.done = rnd();
		u->io.flags = chance(70) ? below(2) : rand_flags();
		u->io.reserved = rare(rnd());
		break;
	case 7:
		for (i = 0; i < 16; i++) {
			fill_arg(f, 5, op);	/* the union is larger */
			memcpy(&ops[i], op, sizeof(ops[i]));
			ops[i].flags = chance(80) ? below(4) : rand_flags();
		}
		u->b.ops = chance(80) ? ptr2u(ops) : rand_ptr(f);
		u->b.count = chance(80) ? below(17) : rnd();
		u->b.flags = rare(rand_flags());
		u->b.done_ops = rnd();
		u->b.reserved = rare(rnd());
		break;
	case 8:
		u->at.size = chance(85) ? 1U << below(4) : rnd();
		u->at.guest_addr = rand_gpa(f) & ~(__u64)(chance(90) ?
				   u->at.size - 1 : 0);
		u->at.op = chance(90) ? 1 + below(4) : rnd();
		u->at.order = chance(90) ? below(4) : rnd();
		u->at.value = chance(80) ? below(256) : rnd();
		if (u->at.op == VMMEM_ATOMIC_CMPXCHG || chance(5))
			u->at.expected = below(4);
		u->at.reserved = rare(rnd());
		break;
	case 10:
		u->t.guest_addr = rand_gpa(f);
		u->t.len = rand_len();
		u->t.slices = rand_ptr(f);
		u->t.count = chance(80) ? below(20) : rnd();
		u->t.flags = rare(rand_flags());
		u->t.reserved = rare(rnd());
		break;
	case 11: case 12:
		u->fd.guest_addr = rand_gpa(f);
		u->fd.len = rand_len();
		u->fd.offset = chance(40) ? -1 : chance(80) ? (__s64)below(3 * PG)
								: (__s64)rnd();
		u->fd.fd = rand_fd(f);
		u->fd.flags = chance(80) ? below(2) : rand_flags();
		u->fd.reserved = rare(rnd());
		break;
	}
}

static size_t arg_size(int k)
{
	return k ? _IOC_SIZE(cmds[k]) : 0;
}

static bool errno_allowed(int k, int e)
{
	unsigned int i;

	if (k == 13)		/* a wrong command is ENOTTY, nothing else */
		return e == ENOTTY;
	if (e == EFAULT || e == EINVAL || e == ENOMEM || e == EINTR)
		return true;
	for (i = 0; i < 10 && allowed[k][i]; i++)
		if (allowed[k][i] == e)
			return true;
	return false;
}

/* A command number with the vmmem magic that is none of ours. */
static unsigned long bad_cmd(void)
{
	unsigned long c;
	unsigned int i;

	for (;;) {
		c = _IOC(below(4), VMMEM_IOCTL_MAGIC, below(20),
			 chance(50) ? below(128) : below(1 << 14));
		for (i = 0; i < NCMD && cmds[i] != c; i++)
			;
		if (i == NCMD)
			return c;
	}
}

/* One fuzz step: returns the index of what was called. */
static int step(struct fuzz *f, int *ret, int *err)
{
	unsigned char arg[128];
	int k = below(NCMD + 3);
	void *p;


	if (k == 14) {		/* mmap with random arguments */
		static const __u64 offs[] = { 0, PG, 1ULL << 62, ~0ULL & ~(PG - 1) };
		size_t len = chance(80) ? (1 + below(8)) * PG : rand_len();
		off_t off = chance(70) ? below(64) * PG : offs[below(4)];
		int prot = below(8), fl = chance(80) ? MAP_SHARED : MAP_PRIVATE;

		p = mmap(NULL, len, prot, fl, f->fd, off);
		*err = errno;
		*ret = p == MAP_FAILED ? -1 : 0;
		if (p != MAP_FAILED) {
			if (prot & PROT_READ)
				(void)*(volatile unsigned char *)p;
			munmap(p, len);
		}
		return k;
	}
	if (k == 15) {
		*ret = lseek(f->fd, chance(50) ? below(1 << 20) : rnd(),
			     below(5)) < 0 ? -1 : 0;
		*err = errno;
		return k;
	}
	if (k == 0) {
		*ret = ioctl(f->fd, VMMEM_GET_API_VERSION, rnd());
		*err = errno;
		if (*ret == VMMEM_API_VERSION)
			*ret = 0;
		return k;
	}
	if (k == 13) {
		fill_arg(f, 1 + below(NCMD - 1), arg);
		*ret = ioctl(f->fd, bad_cmd(), place_arg(f, arg, 64));
		*err = errno;
		return k;
	}
	fill_arg(f, k, arg);
	p = place_arg(f, arg, arg_size(k));
	*ret = ioctl(f->fd, cmds[k], p);
	*err = errno;
	if (*ret == 0 && k == 1 && p >= (void *)f->arena &&
	    p < (void *)(f->arena + ARENA) && f->nids < 64)
		f->ids[f->nids++] = ((struct vmmem_region_add *)p)->id;
	/* done <= len; a copy has the same layout from len on */
	if (*ret == 0 && (k == 5 || k == 6 || k == 9) &&
	    p >= (void *)f->arena && p < (void *)(f->arena + ARENA) &&
	    ((struct vmmem_io *)p)->done > ((struct vmmem_io *)arg)->len)
		*ret = -2;
	return k;
}

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
	/* arena | edge | hole | none | ro */
	m = mmap(NULL, ARENA + 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0x5a, ARENA + 4 * PG);
	f->arena = m;
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

/*
 * Free memory in kB, counting the pages on per-CPU free lists, which
 * MemFree leaves out: freed pages may sit there for a long while.
 */
static long free_kb(void)
{
	char line[256];
	long pcp = 0, n;
	FILE *f = fopen("/proc/zoneinfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &n) == 1)
			pcp += n;
	if (f)
		fclose(f);
	return proc_key_value("/proc/meminfo", "MemFree") + pcp * (PG / 1024);
}

/*
 * Drop reclaimable caches and shrink every slab cache: this also empties
 * KASAN's quarantine of freed objects, which would look like a leak.
 */
static void drop_caches(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");

	sync();
	write_file_str("/proc/sys/vm/drop_caches", "3\n");
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		write_file_str(path, "1\n");
	}
	if (dir)
		closedir(dir);
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
	char hist[1024];
	double t0;
	int k, e, ret, err;

	ASSERT_NE(NULL, f);
	drop_caches();
	pins0 = pins_outstanding();
	lk0 = locked_kb();
	free0 = free_kb();
	slab0 = proc_key_value("/proc/meminfo", "Slab");
	ASSERT_NE(LONG_MIN, pins0);

	rng = seed * 0x9E3779B97F4A7C15ULL | 1;
	setup_fuzz(_metadata, f);
	t0 = now_sec();
	for (i = 0; i < ncalls; i++) {
		k = step(f, &ret, &err);
		f->calls++;
		if (ret == 0) {
			f->errs[k][0]++;
			continue;
		}
		if (ret != -1 || !errno_allowed(k, err)) {
			if (f->bad++ < 10)
				TH_LOG("call %lu: %s returned %d errno %d (%s)", i,
				       cmd_names[k], ret, err, strerror(err));
			continue;
		}
		f->errs[k][err > ERRMAX ? ERRMAX : err]++;
	}
	ksft_print_msg("fuzz: %lu calls, seed %#lx, %.1f s\n", f->calls, seed,
		       now_sec() - t0);
	for (k = 0; k < NCMD + 3; k++) {
		n = snprintf(hist, sizeof(hist), "fuzz: %-12s", cmd_names[k]);
		for (e = 0; e <= ERRMAX; e++)
			if (f->errs[k][e] && n < sizeof(hist) - 32)
				n += snprintf(hist + n, sizeof(hist) - n, " %s:%lu",
					      e ? strerrorname_np(e) : "ok",
					      f->errs[k][e]);
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
	EXPECT_EQ(0, f->bad);
	EXPECT_EQ(pins0, pins1);
	EXPECT_EQ(lk0, lk1);
	/* slack: per-CPU lists, page tables, caches that keep a few slabs */
	EXPECT_GT(free1, free0 - 16384);
	EXPECT_LT(slab1, slab0 + 8192);
	free(f);
}

TEST_HARNESS_MAIN
