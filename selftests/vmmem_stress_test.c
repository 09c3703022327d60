// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem concurrency: copies racing with region removal and re-adding,
 * concurrent add/remove, mmap racing with remove, close while copying.
 * Every test is bounded (~2 s) and asserts only consistency, never timing.
 *
 * Threads never use ASSERT_* (the harness longjmps); they count failures
 * in shared counters which the main thread asserts after joining them.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "vmmem_test.h"

#define RUN_SECS	2.0
#define NREADERS	3

/* ---------------------------------------------------------------------------
 * Remove + re-add at the same GPA range while readers copy from it.
 *
 * Generation k of region B holds a known content: user-backed, every 8-byte
 * word is k (filled before the add, so visible from the first access);
 * kernel-backed, fresh zero pages that the writer then fills with byte
 * pattern(k), so a reader may see 0 or pattern(k) bytes.
 * The writer publishes cur_gen = k after adding and removed_gen = k after
 * REMOVE_REGION returns. A reader loads s = removed_gen before its read and
 * e = cur_gen after it. A read that returns data must show one generation k
 * with s < k <= e + 1: REMOVE returning means no read that starts later can
 * reach the removed region, and accesses running at that time have finished.
 * ------------------------------------------------------------------------- */

#define BGPA	0x10000000ULL
#define BSIZE	(16 * PG)

struct gen_ctx {
	int fd;
	bool user_backed;
	atomic_bool stop;
	atomic_ullong cur_gen;
	atomic_ullong removed_gen;
	/* results */
	atomic_ulong reads_ok, reads_enxio, reads_short, unverified;
	atomic_ulong bad_errno, bad_mixed, bad_stale, bad_future, writer_err;
	atomic_ullong generations;
	unsigned long long last_bad[3];	/* k, s, e of the last stale/future read */
};

static unsigned char pattern_of(unsigned long long k)
{
	return (unsigned char)(k % 255) + 1;	/* never 0 */
}

/* Generation seen in a user-backed read: all words equal; 0 if mixed. */
static unsigned long long user_gen_of(const unsigned char *buf, size_t done)
{
	unsigned long long k;
	size_t i;

	if (done < 8)
		return ~0ULL;	/* too short to tell: ignore */
	memcpy(&k, buf, 8);
	for (i = 0; i < done; i++)
		if (buf[i] != ((unsigned char *)&k)[i % 8])
			return 0;
	return k;
}

static void *gen_reader(void *arg)
{
	struct gen_ctx *c = arg;
	unsigned int seed = (unsigned int)(uintptr_t)pthread_self();
	unsigned char *buf = malloc(PG);

	if (!buf) {
		atomic_fetch_add(&c->bad_errno, 1);
		return NULL;
	}
	while (!atomic_load(&c->stop)) {
		/* random 8-aligned GPA in B; reads past B's end come back short */
		__u64 gpa = BGPA + ((__u64)rand_r(&seed) % (BSIZE / 8)) * 8;
		unsigned long long s, e, k;
		__u64 done = 0;
		int ret;

		s = atomic_load(&c->removed_gen);
		ret = vm_read(c->fd, gpa, buf, PG, 0, &done);
		e = atomic_load(&c->cur_gen);
		if (ret) {
			if (errno == ENXIO && done == 0)
				atomic_fetch_add(&c->reads_enxio, 1);
			else
				atomic_fetch_add(&c->bad_errno, 1);
			continue;
		}
		if (done < PG && gpa + done != BGPA + BSIZE)
			atomic_fetch_add(&c->reads_short, 1);
		if (done == 0)
			continue;
		if (c->user_backed) {
			k = user_gen_of(buf, done);
			if (k == ~0ULL) {
				atomic_fetch_add(&c->unverified, 1);
				continue;
			}
			if (k == 0) {
				atomic_fetch_add(&c->bad_mixed, 1);
				continue;
			}
		} else {
			unsigned char p = 0;
			unsigned long long j;
			size_t i;
			bool mixed = false;

			for (i = 0; i < done; i++) {
				if (!buf[i])
					continue;
				if (!p)
					p = buf[i];
				else if (buf[i] != p)
					mixed = true;
			}
			if (mixed) {
				atomic_fetch_add(&c->bad_mixed, 1);
				continue;
			}
			if (!p || e + 1 - s >= 255) {
				/* all zero (not filled yet) or window too wide */
				atomic_fetch_add(&c->unverified, 1);
				continue;
			}
			/* the only generation in (s, e + 1] with pattern p */
			k = 0;
			for (j = s + 1; j <= e + 1; j++)
				if (pattern_of(j) == p)
					k = j;
			if (!k) {
				c->last_bad[0] = p;
				c->last_bad[1] = s;
				c->last_bad[2] = e;
				atomic_fetch_add(&c->bad_stale, 1);
				continue;
			}
		}
		if (k <= s) {
			c->last_bad[0] = k;
			c->last_bad[1] = s;
			c->last_bad[2] = e;
			atomic_fetch_add(&c->bad_stale, 1);
		} else if (k > e + 1) {
			c->last_bad[0] = k;
			c->last_bad[1] = s;
			c->last_bad[2] = e;
			atomic_fetch_add(&c->bad_future, 1);
		} else {
			atomic_fetch_add(&c->reads_ok, 1);
		}
	}
	free(buf);
	return NULL;
}

/* The writer's own check right after add: the whole region is generation k. */
static bool region_is_gen(struct gen_ctx *c, unsigned long long k,
			  unsigned char *scratch)
{
	__u64 done = 0;
	size_t i;

	if (vm_read(c->fd, BGPA, scratch, BSIZE, VMMEM_IO_EXACT, &done) ||
	    done != BSIZE)
		return false;
	for (i = 0; i < BSIZE; i++) {
		unsigned char want = c->user_backed ?
			((unsigned char *)&k)[i % 8] : pattern_of(k);

		if (scratch[i] != want)
			return false;
	}
	return true;
}

static void gen_writer(struct gen_ctx *c)
{
	unsigned long long *bufs[2];
	unsigned char *scratch = malloc(BSIZE), *fill = malloc(BSIZE);
	unsigned long long k;
	double t0 = now_sec();
	size_t i;

	bufs[0] = anon_map(BSIZE);
	bufs[1] = anon_map(BSIZE);
	if (!bufs[0] || !bufs[1] || !scratch || !fill) {
		atomic_fetch_add(&c->writer_err, 1);
		return;
	}
	for (k = 1; now_sec() - t0 < RUN_SECS; k++) {
		struct vmmem_region_add a;

		if (c->user_backed) {
			/* gen k - 2's region, which used this buffer, is gone */
			for (i = 0; i < BSIZE / 8; i++)
				bufs[k % 2][i] = k;
			if (vm_add(c->fd, BGPA, BSIZE, ptr2u(bufs[k % 2]), 0, &a)) {
				atomic_fetch_add(&c->writer_err, 1);
				break;
			}
		} else {
			if (vm_add(c->fd, BGPA, BSIZE, 0, 0, &a)) {
				atomic_fetch_add(&c->writer_err, 1);
				break;
			}
			memset(fill, pattern_of(k), BSIZE);
			if (vm_write(c->fd, BGPA, fill, BSIZE, VMMEM_IO_EXACT, NULL))
				atomic_fetch_add(&c->writer_err, 1);
		}
		atomic_store(&c->cur_gen, k);
		if (!region_is_gen(c, k, scratch))
			atomic_fetch_add(&c->writer_err, 1);
		if (vm_remove_id(c->fd, a.id)) {
			atomic_fetch_add(&c->writer_err, 1);
			break;
		}
		atomic_store(&c->removed_gen, k);
		atomic_fetch_add(&c->generations, 1);
	}
	free(scratch);
	free(fill);
}

FIXTURE(gen) {
	int fd;
	long base;
};

FIXTURE_VARIANT(gen) {
	bool user_backed;
};

FIXTURE_VARIANT_ADD(gen, user_backed) { .user_backed = true };
FIXTURE_VARIANT_ADD(gen, kernel_backed) { .user_backed = false };

FIXTURE_SETUP(gen)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->base = pins_outstanding();
	ASSERT_NE(LONG_MIN, self->base);
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(gen)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(self->base, pins_settle(self->base));
}

TEST_F_TIMEOUT(gen, readers_never_see_a_removed_generation, 60)
{
	static struct gen_ctx c;	/* zero-initialised */
	pthread_t t[NREADERS];
	int i;

	c.fd = self->fd;
	c.user_backed = variant->user_backed;
	/* neighbours on both sides, so B's edges are exercised */
	ASSERT_EQ(0, vm_add(self->fd, BGPA - PG, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, BGPA + BSIZE + PG, PG, 0, 0, NULL));
	for (i = 0; i < NREADERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, gen_reader, &c));
	gen_writer(&c);
	atomic_store(&c.stop, true);
	for (i = 0; i < NREADERS; i++)
		pthread_join(t[i], NULL);

	TH_LOG("%llu generations; reads: %lu ok, %lu ENXIO, %lu short, %lu unverified",
	       (unsigned long long)atomic_load(&c.generations),
	       (unsigned long)atomic_load(&c.reads_ok),
	       (unsigned long)atomic_load(&c.reads_enxio),
	       (unsigned long)atomic_load(&c.reads_short),
	       (unsigned long)atomic_load(&c.unverified));
	ASSERT_EQ(0, atomic_load(&c.writer_err));
	ASSERT_LT(0, atomic_load(&c.generations));
	ASSERT_EQ(0, atomic_load(&c.bad_errno));
	ASSERT_EQ(0, atomic_load(&c.bad_mixed));
	ASSERT_EQ(0, atomic_load(&c.bad_stale))
		TH_LOG("saw %llu with removed_gen %llu, cur_gen %llu",
		       c.last_bad[0], c.last_bad[1], c.last_bad[2]);
	ASSERT_EQ(0, atomic_load(&c.bad_future))
		TH_LOG("saw %llu with removed_gen %llu, cur_gen %llu",
		       c.last_bad[0], c.last_bad[1], c.last_bad[2]);
	/* B is gone; the neighbours are intact */
	ASSERT_EQ(-1, vm_find(self->fd, BGPA, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, vm_find(self->fd, BGPA - PG, NULL));
	ASSERT_EQ(0, vm_find(self->fd, BGPA + BSIZE + PG, NULL));
}

/* ---------------------------------------------------------------------------
 * Threads adding, using and removing their own regions concurrently.
 * ------------------------------------------------------------------------- */

#define NSLOTS	4

struct slot_ctx {
	int fd;
	int idx;
	atomic_ulong *failures;
	unsigned long iters;
	int last_fail;
};

static void *slot_worker(void *arg)
{
	struct slot_ctx *c = arg;
	__u64 gpa = 0x1000000ULL * (c->idx + 1), size = 4 * PG;
	unsigned char *ubuf = anon_map(size), wr[256], rd[256];
	struct vmmem_region_info info;
	double t0 = now_sec();

	if (!ubuf) {
		atomic_fetch_add(c->failures, 1);
		return NULL;
	}
	memset(ubuf, 0, size);
	while (now_sec() - t0 < RUN_SECS) {
		bool user = c->iters & 1;
		struct vmmem_region_add a;
		__u64 done = 0, off = (c->iters * 64) % (size - sizeof(wr));
		int fail = 0;

		fill_pattern(wr, sizeof(wr), c->idx * 1000 + c->iters);
		if (vm_add(c->fd, gpa, size, user ? ptr2u(ubuf) : 0, 0, &a)) {
			c->last_fail = 1;
			atomic_fetch_add(c->failures, 1);
			break;
		}
		if (vm_write(c->fd, gpa + off, wr, sizeof(wr), VMMEM_IO_EXACT, &done) ||
		    done != sizeof(wr))
			fail = 2;
		else if (vm_read(c->fd, gpa + off, rd, sizeof(rd), VMMEM_IO_EXACT, &done) ||
			 memcmp(wr, rd, sizeof(rd)))
			fail = 3;
		else if (user && memcmp(ubuf + off, wr, sizeof(wr)))
			fail = 4;
		else if (vm_find(c->fd, gpa + size - 1, &info) || info.id != a.id ||
			 info.guest_addr != gpa)
			fail = 5;
		/* an overlapping add fails while the region is live */
		else if (vm_add(c->fd, gpa + PG, PG, 0, 0, NULL) != -1 || errno != EEXIST)
			fail = 6;
		if (vm_remove_id(c->fd, a.id))
			fail = 7;
		if (fail) {
			c->last_fail = fail;
			atomic_fetch_add(c->failures, 1);
		}
		c->iters++;
	}
	munmap(ubuf, size);
	return NULL;
}

FIXTURE(conc) {
	int fd;
	long base;
};

FIXTURE_SETUP(conc)
{
	self->base = pins_outstanding();
	ASSERT_NE(LONG_MIN, self->base);
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(conc)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(self->base, pins_settle(self->base));
}

TEST_F_TIMEOUT(conc, concurrent_add_use_remove_of_distinct_regions, 60)
{
	static atomic_ulong failures;
	struct slot_ctx ctx[NSLOTS];
	pthread_t t[NSLOTS];
	struct vmmem_region_info arr[8];
	__u32 count = 99;
	__u64 gen0, gen1;
	unsigned long total = 0;
	int i;

	gen0 = vm_generation(self->fd);
	for (i = 0; i < NSLOTS; i++) {
		memset(&ctx[i], 0, sizeof(ctx[i]));
		ctx[i].fd = self->fd;
		ctx[i].idx = i;
		ctx[i].failures = &failures;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, slot_worker, &ctx[i]));
	}
	for (i = 0; i < NSLOTS; i++) {
		pthread_join(t[i], NULL);
		total += ctx[i].iters;
		if (ctx[i].last_fail)
			TH_LOG("slot %d: last failure at step %d", i, ctx[i].last_fail);
	}
	TH_LOG("%lu add/use/remove cycles", total);
	ASSERT_EQ(0, atomic_load(&failures));
	ASSERT_LT(0, total);
	ASSERT_EQ(0, vm_list(self->fd, arr, 8, &count, &gen1));
	ASSERT_EQ(0, count);
	/* every cycle bumped the generation twice */
	ASSERT_LE(gen0 + 2 * total, gen1);
}

/* ---------------------------------------------------------------------------
 * mmap/munmap racing with remove + re-add of the region being mapped.
 * ------------------------------------------------------------------------- */

struct map_ctx {
	int fd;
	atomic_bool stop;
	atomic_ullong off;	/* mmap_offset of the live region, or ~0 */
	atomic_ulong mapped, refused, bad;
};

struct mapper_arg {
	struct map_ctx *c;
	unsigned int idx;	/* each mapper stores to its own bytes */
};

static void *mapper(void *arg)
{
	struct mapper_arg *ma = arg;
	struct map_ctx *c = ma->c;
	unsigned int b = 8 + ma->idx;
	unsigned long n = 0;

	while (!atomic_load(&c->stop)) {
		__u64 off = atomic_load(&c->off);
		volatile unsigned char *m;
		unsigned int i;

		if (off == ~0ULL)
			continue;
		m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			 c->fd, (off_t)off);
		if (m == MAP_FAILED) {
			/* the region went away meanwhile */
			if (errno == EINVAL)
				atomic_fetch_add(&c->refused, 1);
			else
				atomic_fetch_add(&c->bad, 1);
			continue;
		}
		/* whatever happens to the region, these pages are ours */
		for (i = 0; i < 4; i++)
			m[i * PG + b] = (unsigned char)(n + i);
		for (i = 0; i < 4; i++)
			if (m[i * PG + b] != (unsigned char)(n + i))
				atomic_fetch_add(&c->bad, 1);
		munmap((void *)m, 4 * PG);
		atomic_fetch_add(&c->mapped, 1);
		n++;
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, mmap_racing_with_remove_is_safe, 60)
{
	static struct map_ctx c;
	struct mapper_arg args[2];
	pthread_t t[2];
	double t0 = now_sec();
	unsigned long cycles = 0;
	int i;

	c.fd = self->fd;
	atomic_store(&c.off, ~0ULL);
	for (i = 0; i < 2; i++) {
		args[i].c = &c;
		args[i].idx = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mapper, &args[i]));
	}
	while (now_sec() - t0 < RUN_SECS) {
		struct vmmem_region_add a;

		if (vm_add(self->fd, 0x100000, 4 * PG, 0, 0, &a))
			break;
		atomic_store(&c.off, a.mmap_offset);
		usleep(100);
		if (vm_remove_id(self->fd, a.id))
			break;
		cycles++;
	}
	atomic_store(&c.stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%lu cycles, %lu mapped, %lu refused", cycles,
	       (unsigned long)atomic_load(&c.mapped),
	       (unsigned long)atomic_load(&c.refused));
	ASSERT_LT(0, cycles);
	ASSERT_EQ(0, atomic_load(&c.bad));
	ASSERT_EQ(-1, vm_find(self->fd, 0x100000, NULL));
	ASSERT_EQ(ENXIO, errno);
}

/* ---------------------------------------------------------------------------
 * close() while other threads are copying through the file.
 * ------------------------------------------------------------------------- */

struct close_ctx {
	int fd;
	atomic_ulong copies, bad;
};

static void *closer_reader(void *arg)
{
	struct close_ctx *c = arg;
	static __thread unsigned char buf[2 * PG];

	for (;;) {
		__u64 done = 0;

		/* spans the kernel-backed and the user-backed region */
		if (vm_read(c->fd, 0x100000 + 3 * PG, buf, 2 * PG, 0, &done)) {
			if (errno != EBADF)
				atomic_fetch_add(&c->bad, 1);
			break;
		}
		if (done != 2 * PG || buf[0] != 0x11 || buf[2 * PG - 1] != 0x22)
			atomic_fetch_add(&c->bad, 1);
		atomic_fetch_add(&c->copies, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, close_while_threads_copy_is_safe_and_releases_pins, 60)
{
	static struct close_ctx c;
	unsigned char *ubuf = anon_map(4 * PG), blk[PG];
	pthread_t t[2];
	int i;

	ASSERT_NE(NULL, ubuf);
	memset(ubuf, 0x22, 4 * PG);
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, 4 * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000 + 4 * PG, 4 * PG, ptr2u(ubuf), 0, NULL));
	/* the kernel-backed region's last page reads 0x11, the user's 0x22 */
	memset(blk, 0x11, sizeof(blk));
	ASSERT_EQ(0, vm_write(self->fd, 0x100000 + 3 * PG, blk, PG,
			      VMMEM_IO_EXACT, NULL));
	c.fd = self->fd;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, closer_reader, &c));
	usleep(300000);
	/* no open() until the readers are joined: the fd number must stay free */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%lu copies before close", (unsigned long)atomic_load(&c.copies));
	ASSERT_EQ(0, atomic_load(&c.bad));
	ASSERT_EQ(self->base, pins_settle(self->base));
}

TEST_HARNESS_MAIN
