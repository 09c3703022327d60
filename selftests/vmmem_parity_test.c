// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem parity test: libvmmem's vm-memory-style API (atomics, guest copies,
 * translation and iovecs, file descriptor I/O, hot-plug consistency of the
 * mapping cache, endian types) against the module, through the static
 * library. The kernel reports -1/errno; the library returns -errno.
 *
 * Layout of every test's guest (x86_64, 4 KiB pages):
 *
 *   A    [0x100000, 0x110000)  kernel-backed
 *   B    [0x110000, 0x120000)  user-backed (a memfd mapping), adjacent
 *   C    [0x120000, 0x130000)  kernel-backed, adjacent
 *        [0x130000, 0x3f0000)  hole (HOLE and HP_GPA lie in it)
 *   RAM2 [0x3f0000, 0x400000)  kernel-backed, adjacent to ROM
 *   ROM  [0x400000, 0x404000)  kernel-backed, VMMEM_REGION_READONLY
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "vmmem.h"
#include "kselftest_harness.h"

#define PG		4096ULL
#define RSIZE		(16 * PG)
#define GPA_A		0x100000ULL
#define GPA_B		(GPA_A + RSIZE)
#define GPA_C		(GPA_B + RSIZE)
#define GPA_END		(GPA_C + RSIZE)		/* first byte of the hole */
#define HOLE		0x180000ULL
#define HP_GPA		0x200000ULL		/* hot-plug tests' region */
#define GPA_RAM2	0x3f0000ULL
#define GPA_ROM		0x400000ULL
#define ROM_SIZE	(4 * PG)
#define ABC_SIZE	(3 * RSIZE)

FIXTURE(pt) {
	struct vmmem *vm;
	int fd;			/* the raw /dev/vmmem fd, owned by vm */
	int memfd;		/* backs region B */
	unsigned char *ub;	/* B's user memory */
	struct vmmem_region_info a, b, c, ram2, rom;
};

FIXTURE_SETUP(pt)
{
	int ret;

	self->memfd = -1;
	ASSERT_EQ(PG, (uint64_t)getpagesize());
	ret = vmmem_open(&self->vm);
	ASSERT_EQ(0, ret) TH_LOG("vmmem_open: %s", strerror(-ret));
	self->fd = vmmem_fd(self->vm);
	self->memfd = memfd_create("vmmem-parity", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, RSIZE));
	self->ub = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->memfd, 0);
	ASSERT_NE(MAP_FAILED, self->ub);
	ASSERT_EQ(0, vmmem_add_region(self->vm, GPA_A, RSIZE, NULL, 0,
				      &self->a));
	ASSERT_EQ(0, vmmem_add_region(self->vm, GPA_B, RSIZE, self->ub, 0,
				      &self->b));
	ASSERT_EQ(0, vmmem_add_region(self->vm, GPA_C, RSIZE, NULL, 0,
				      &self->c));
	ASSERT_EQ(0, vmmem_add_region(self->vm, GPA_RAM2, RSIZE, NULL, 0,
				      &self->ram2));
	ASSERT_EQ(0, vmmem_add_region(self->vm, GPA_ROM, ROM_SIZE, NULL,
				      VMMEM_REGION_READONLY, &self->rom));
}

FIXTURE_TEARDOWN(pt)
{
	vmmem_close(self->vm);
	if (self->ub && self->ub != MAP_FAILED)
		munmap(self->ub, RSIZE);
	if (self->memfd >= 0)
		close(self->memfd);
}

/* --- helpers ------------------------------------------------------------ */

static void fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 131 + seed * 29 + (i >> 8)) ^ seed);
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A memfd holding @len bytes of pattern @seed, file position 0. */
static int data_file(size_t len, unsigned int seed)
{
	unsigned char *buf = malloc(len);
	int fd = memfd_create("vmmem-parity-data", MFD_CLOEXEC);
	bool ok = fd >= 0 && buf;

	if (ok) {
		fill(buf, len, seed);
		ok = pwrite(fd, buf, len, 0) == (ssize_t)len;
	}
	free(buf);
	if (!ok && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The @size-byte integer at @raw, in host byte order. */
static uint64_t host_value(const unsigned char *raw, unsigned int size)
{
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	switch (size) {
	case 1:
		return raw[0];
	case 2:
		memcpy(&v16, raw, 2);
		return v16;
	case 4:
		memcpy(&v32, raw, 4);
		return v32;
	default:
		memcpy(&v64, raw, 8);
		return v64;
	}
}

/*
 * Fork a child that writes @len bytes of pattern @seed into @wfd, one
 * byte at a time with @delay_us between them, then exits (closing @wfd).
 */
static pid_t slow_writer(int wfd, int rfd, size_t len, unsigned int seed,
			 unsigned int delay_us)
{
	pid_t pid = fork();

	if (pid == 0) {
		unsigned char *buf = malloc(len);
		size_t i;

		close(rfd);
		if (!buf)
			_exit(2);
		fill(buf, len, seed);
		for (i = 0; i < len; i++) {
			if (write(wfd, buf + i, 1) != 1)
				_exit(1);
			usleep(delay_us);
		}
		_exit(0);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* raw ioctls, for changes behind the library's back */
static int raw_add(int fd, uint64_t gpa, uint64_t size, uint32_t *id)
{
	struct vmmem_region_add a;

	memset(&a, 0, sizeof(a));
	a.guest_addr = gpa;
	a.size = size;
	if (ioctl(fd, VMMEM_ADD_REGION, &a))
		return -errno;
	*id = a.id;
	return 0;
}

static int raw_remove(int fd, uint32_t id)
{
	struct vmmem_region_remove r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	return ioctl(fd, VMMEM_REMOVE_REGION, &r) ? -errno : 0;
}

static int raw_write(int fd, uint64_t gpa, const void *buf, uint64_t len)
{
	struct vmmem_io io;

	memset(&io, 0, sizeof(io));
	io.guest_addr = gpa;
	io.user_addr = (uintptr_t)buf;
	io.len = len;
	io.flags = VMMEM_IO_EXACT;
	return ioctl(fd, VMMEM_WRITE, &io) ? -errno : 0;
}

static const unsigned int sizes[] = { 1, 2, 4, 8 };

static uint64_t mask_of(unsigned int size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* --- atomics ------------------------------------------------------------ */

TEST_F(pt, atomic_store_then_load_each_size_and_valid_order)
{
	static const int sorders[] = { VMMEM_ORDER_RELAXED,
				       VMMEM_ORDER_RELEASE,
				       VMMEM_ORDER_SEQ_CST };
	static const int lorders[] = { VMMEM_ORDER_RELAXED,
				       VMMEM_ORDER_ACQUIRE,
				       VMMEM_ORDER_SEQ_CST };
	unsigned int s, o;

	for (s = 0; s < 4; s++) {
		unsigned int size = sizes[s];
		/* One region of each backing: A (kernel), B (user). */
		uint64_t gpas[2] = { GPA_A + 64 * s, GPA_B + 64 * s };
		unsigned int g;

		for (g = 0; g < 2; g++) {
			for (o = 0; o < 3; o++) {
				uint64_t v = (0xf1e2d3c4b5a69788ULL >> o) &
					     mask_of(size), out = ~0ULL;
				unsigned char raw[8];

				ASSERT_EQ(0, vmmem_store(self->vm, gpas[g],
							 size, v, sorders[o]));
				ASSERT_EQ(0, vmmem_load(self->vm, gpas[g],
							size, lorders[o], &out));
				ASSERT_EQ(v, out);
				/* In host byte order, exactly @size bytes. */
				memset(raw, 0, sizeof(raw));
				ASSERT_EQ(size, vmmem_read(self->vm, gpas[g],
							   raw, size));
				ASSERT_EQ(v, host_value(raw, size));
				ASSERT_EQ(8, vmmem_read(self->vm,
							gpas[g] + 8, raw, 8));
				ASSERT_TRUE(all_zero(raw, 8));
			}
		}
	}
}

TEST_F(pt, atomic_release_load_and_acquire_store_are_einval)
{
	uint64_t out = 0x55;
	uint32_t v;
	unsigned int s;

	for (s = 0; s < 4; s++) {
		ASSERT_EQ(-EINVAL, vmmem_load(self->vm, GPA_A, sizes[s],
					      VMMEM_ORDER_RELEASE, &out));
		ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, sizes[s], 1,
					       VMMEM_ORDER_ACQUIRE));
	}
	ASSERT_EQ(0x55, out);
	/* Unknown orders, and a negative one the library must not wrap. */
	ASSERT_EQ(-EINVAL, vmmem_load(self->vm, GPA_A, 4, 4, &out));
	ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, 4, 1, 4));
	ASSERT_EQ(-EINVAL, vmmem_load(self->vm, GPA_A, 4, -1, &out));
	ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, 4, 1, -1));
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A, &v));
	ASSERT_EQ(0, v);
}

TEST_F(pt, atomic_bad_size_is_einval)
{
	static const unsigned int bad[] = { 0, 3, 5, 16 };
	uint64_t out, old;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(-EINVAL, vmmem_load(self->vm, GPA_A, bad[i],
					      VMMEM_ORDER_SEQ_CST, &out));
		ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, bad[i], 0,
					       VMMEM_ORDER_SEQ_CST));
		ASSERT_EQ(-EINVAL, vmmem_fetch_add(self->vm, GPA_A, bad[i], 1,
						   &old));
		ASSERT_EQ(-EINVAL, vmmem_compare_exchange(self->vm, GPA_A,
							  bad[i], 0, 1, &old));
	}
}

TEST_F(pt, atomic_misaligned_is_einval_and_writes_nothing)
{
	unsigned char buf[32];
	uint64_t out, old;
	unsigned int s, off;

	for (s = 1; s < 4; s++) {
		unsigned int size = sizes[s];

		for (off = 1; off < size; off++) {
			uint64_t gpa = GPA_A + 256 + off;

			ASSERT_EQ(-EINVAL, vmmem_load(self->vm, gpa, size,
						      VMMEM_ORDER_SEQ_CST,
						      &out));
			ASSERT_EQ(-EINVAL, vmmem_store(self->vm, gpa, size, 1,
						       VMMEM_ORDER_SEQ_CST));
			ASSERT_EQ(-EINVAL, vmmem_fetch_add(self->vm, gpa,
							   size, 1, &old));
			ASSERT_EQ(-EINVAL, vmmem_compare_exchange(self->vm,
					gpa, size, 0, 1, &old));
		}
	}
	ASSERT_EQ(sizeof(buf), vmmem_read(self->vm, GPA_A + 256, buf,
					  sizeof(buf)));
	ASSERT_TRUE(all_zero(buf, sizeof(buf)));
	/* Straddling the A/B boundary: misaligned, never a torn access. */
	ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_B - 4, 8, 1,
				       VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(8, vmmem_read(self->vm, GPA_B - 4, buf, 8));
	ASSERT_TRUE(all_zero(buf, 8));
}

TEST_F(pt, atomic_unbacked_is_enxio)
{
	static const uint64_t gpas[] = { 0, PG, GPA_END, HOLE,
					 GPA_ROM + ROM_SIZE };
	uint64_t out, old;
	unsigned int i, s;

	for (i = 0; i < 5; i++) {
		for (s = 0; s < 4; s++) {
			ASSERT_EQ(-ENXIO, vmmem_load(self->vm, gpas[i],
					sizes[s], VMMEM_ORDER_ACQUIRE, &out));
			ASSERT_EQ(-ENXIO, vmmem_store(self->vm, gpas[i],
					sizes[s], 1, VMMEM_ORDER_RELEASE));
			ASSERT_EQ(-ENXIO, vmmem_fetch_add(self->vm, gpas[i],
					sizes[s], 1, &old));
			ASSERT_EQ(-ENXIO, vmmem_compare_exchange(self->vm,
					gpas[i], sizes[s], 0, 1, &old));
		}
	}
	ASSERT_FALSE(vmmem_compare_exchange_bool(self->vm, HOLE, 4, 0, 1));
}

TEST_F(pt, atomic_read_only_region_store_cmpxchg_fetch_add_eacces_load_works)
{
	uint64_t out = 0x77, old = 0x77;
	unsigned char buf[16];
	unsigned int s;

	for (s = 0; s < 4; s++) {
		ASSERT_EQ(-EACCES, vmmem_store(self->vm, GPA_ROM + 8, sizes[s],
					       1, VMMEM_ORDER_SEQ_CST));
		ASSERT_EQ(-EACCES, vmmem_compare_exchange(self->vm,
				GPA_ROM + 8, sizes[s], 0, 1, &old));
		ASSERT_EQ(-EACCES, vmmem_fetch_add(self->vm, GPA_ROM + 8,
						   sizes[s], 1, &old));
		ASSERT_EQ(0, vmmem_load(self->vm, GPA_ROM + 8, sizes[s],
					VMMEM_ORDER_ACQUIRE, &out));
		ASSERT_EQ(0, out);
		out = 0x77;
	}
	ASSERT_EQ(0x77, old);
	ASSERT_FALSE(vmmem_compare_exchange_bool(self->vm, GPA_ROM, 8, 0, 1));
	ASSERT_EQ(16, vmmem_read(self->vm, GPA_ROM, buf, 16));
	ASSERT_TRUE(all_zero(buf, 16));
}

TEST_F(pt, atomic_value_wider_than_size_is_einval_and_writes_nothing)
{
	uint64_t old = 0x99, v;
	unsigned int s;

	for (s = 0; s < 3; s++) {
		unsigned int size = sizes[s];
		uint64_t wide = 1ULL << (8 * size);

		ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, size, wide,
					       VMMEM_ORDER_SEQ_CST));
		ASSERT_EQ(-EINVAL, vmmem_store(self->vm, GPA_A, size, ~0ULL,
					       VMMEM_ORDER_RELAXED));
		ASSERT_EQ(-EINVAL, vmmem_fetch_add(self->vm, GPA_A, size,
						   wide, &old));
		/* Too wide, as the expected or as the new value. */
		ASSERT_EQ(-EINVAL, vmmem_compare_exchange(self->vm, GPA_A,
							  size, wide, 1, &old));
		ASSERT_EQ(-EINVAL, vmmem_compare_exchange(self->vm, GPA_A,
							  size, 0, wide, &old));
	}
	ASSERT_EQ(0x99, old);
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A, &v));
	ASSERT_EQ(0, v);
}

TEST_F(pt, atomic_fetch_add_each_size_returns_old_and_wraps)
{
	unsigned int s;

	for (s = 0; s < 4; s++) {
		unsigned int size = sizes[s];
		uint64_t gpa = GPA_C + 64 * s, max = mask_of(size), old, v;
		unsigned char after[8];

		ASSERT_EQ(0, vmmem_fetch_add(self->vm, gpa, size, 5, &old));
		ASSERT_EQ(0, old);
		ASSERT_EQ(0, vmmem_fetch_add(self->vm, gpa, size, 7, &old));
		ASSERT_EQ(5, old);
		ASSERT_EQ(0, vmmem_store(self->vm, gpa, size, max,
					 VMMEM_ORDER_SEQ_CST));
		ASSERT_EQ(0, vmmem_fetch_add(self->vm, gpa, size, 2, &old));
		ASSERT_EQ(max, old);
		ASSERT_EQ(0, vmmem_load(self->vm, gpa, size,
					VMMEM_ORDER_SEQ_CST, &v));
		ASSERT_EQ(1, v);
		/* Subtract 1 by adding 2^bits - 1; old may be NULL. */
		ASSERT_EQ(0, vmmem_fetch_add(self->vm, gpa, size, max, NULL));
		ASSERT_EQ(0, vmmem_load(self->vm, gpa, size,
					VMMEM_ORDER_RELAXED, &v));
		ASSERT_EQ(0, v);
		/* The carry never reaches the next byte. */
		ASSERT_EQ(8, vmmem_read(self->vm, gpa + size, after, 8));
		ASSERT_TRUE(all_zero(after, 8));
	}
}

TEST_F(pt, atomic_compare_exchange_success_and_failure)
{
	unsigned int s;

	for (s = 0; s < 4; s++) {
		unsigned int size = sizes[s];
		uint64_t gpa = GPA_B + 128 + 8 * s, m = mask_of(size), old, v;
		uint64_t v1 = 0x8877665544332211ULL & m;
		uint64_t v2 = 0x0123456789abcdefULL & m;
		uint64_t v3 = 0x5a5a5a5a5a5a5a5aULL & m;

		ASSERT_EQ(0, vmmem_store(self->vm, gpa, size, v1,
					 VMMEM_ORDER_RELEASE));
		/* Success: stores, returns the old value. */
		ASSERT_EQ(0, vmmem_compare_exchange(self->vm, gpa, size, v1,
						    v2, &old));
		ASSERT_EQ(v1, old);
		ASSERT_EQ(0, vmmem_load(self->vm, gpa, size,
					VMMEM_ORDER_ACQUIRE, &v));
		ASSERT_EQ(v2, v);
		/* Failure: still 0, old is the current value, no store. */
		ASSERT_EQ(0, vmmem_compare_exchange(self->vm, gpa, size, v1,
						    v3, &old));
		ASSERT_EQ(v2, old);
		ASSERT_EQ(0, vmmem_load(self->vm, gpa, size,
					VMMEM_ORDER_ACQUIRE, &v));
		ASSERT_EQ(v2, v);
		/* The bool convenience. */
		ASSERT_FALSE(vmmem_compare_exchange_bool(self->vm, gpa, size,
							 v1, v3));
		ASSERT_TRUE(vmmem_compare_exchange_bool(self->vm, gpa, size,
							v2, v3));
		ASSERT_EQ(0, vmmem_load(self->vm, gpa, size,
					VMMEM_ORDER_SEQ_CST, &v));
		ASSERT_EQ(v3, v);
		/* The guest sees the value in host order. */
		ASSERT_EQ(v3 & 0xff, ((unsigned char *)self->ub)[128 + 8 * s +
				(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ?
				 0 : size - 1)]);
	}
}

struct adder {
	struct vmmem *vm;
	int errors;
};

#define RACE_N	20000

static void *adder_thread(void *arg)
{
	struct adder *a = arg;
	unsigned int i;

	for (i = 0; i < RACE_N; i++) {
		if (vmmem_fetch_add(a->vm, GPA_A + 0x100, 4, 1, NULL))
			a->errors++;
		if (vmmem_fetch_add(a->vm, GPA_A + 0x202, 2, 1, NULL))
			a->errors++;
		/* User-backed region too, with a subtraction mixed in. */
		if (vmmem_fetch_add(a->vm, GPA_B + 0x300, 8, 3, NULL) ||
		    vmmem_fetch_add(a->vm, GPA_B + 0x300, 8, ~0ULL, NULL))
			a->errors++;
	}
	return NULL;
}

TEST_F(pt, atomic_fetch_add_two_threads_racing_give_exact_totals)
{
	struct adder a[2] = { { self->vm, 0 }, { self->vm, 0 } };
	pthread_t th[2];
	uint32_t u32;
	uint16_t u16, n16;
	uint64_t u64;

	ASSERT_EQ(0, pthread_create(&th[0], NULL, adder_thread, &a[0]));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, adder_thread, &a[1]));
	ASSERT_EQ(0, pthread_join(th[0], NULL));
	ASSERT_EQ(0, pthread_join(th[1], NULL));
	ASSERT_EQ(0, a[0].errors);
	ASSERT_EQ(0, a[1].errors);
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A + 0x100, &u32));
	ASSERT_EQ(2 * RACE_N, u32);
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A + 0x202, &u16));
	ASSERT_EQ(2 * RACE_N, u16);
	/* The u16's neighbours are untouched. */
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A + 0x200, &n16));
	ASSERT_EQ(0, n16);
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_A + 0x204, &n16));
	ASSERT_EQ(0, n16);
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_B + 0x300, &u64));
	ASSERT_EQ(2ULL * 2 * RACE_N, u64);
}

TEST_F(pt, atomic_obj_macros_are_sized_by_type)
{
	uint8_t b8 = 0xab, r8 = 0;
	uint16_t b16 = 0xbeef, r16 = 0;
	uint32_t b32 = 0xdeadbeef, r32 = 0;
	uint64_t b64 = 0x0123456789abcdefULL, r64 = 0;
	char three[3] = { 0 };

	ASSERT_EQ(0, vmmem_store_obj(self->vm, GPA_A + 1, &b8,
				     VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(0, vmmem_store_obj(self->vm, GPA_A + 2, &b16,
				     VMMEM_ORDER_RELEASE));
	ASSERT_EQ(0, vmmem_store_obj(self->vm, GPA_A + 4, &b32,
				     VMMEM_ORDER_RELAXED));
	ASSERT_EQ(0, vmmem_store_obj(self->vm, GPA_A + 8, &b64,
				     VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 1, &r8,
				    VMMEM_ORDER_ACQUIRE));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 2, &r16,
				    VMMEM_ORDER_ACQUIRE));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 4, &r32,
				    VMMEM_ORDER_RELAXED));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 8, &r64,
				    VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(b8, r8);
	ASSERT_EQ(b16, r16);
	ASSERT_EQ(b32, r32);
	ASSERT_EQ(b64, r64);
	ASSERT_EQ(-EINVAL, vmmem_load_obj(self->vm, GPA_A, &three,
					  VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(-EINVAL, vmmem_store_obj(self->vm, GPA_A, &three,
					   VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(-EINVAL, vmmem_store_obj(self->vm, GPA_A + 2, &b32,
					   VMMEM_ORDER_SEQ_CST));
}

/* --- guest-to-guest copy ------------------------------------------------ */

/* A, B and C hold pattern 1, as does @ref. */
static int fill_abc(struct vmmem *vm, unsigned char *ref)
{
	size_t done;

	fill(ref, ABC_SIZE, 1);
	return vmmem_write_exact(vm, GPA_A, ref, ABC_SIZE, &done);
}

static int abc_matches(struct vmmem *vm, const unsigned char *ref)
{
	unsigned char *now = malloc(ABC_SIZE);
	size_t done;
	int ret;

	if (!now)
		return -ENOMEM;
	ret = vmmem_read_exact(vm, GPA_A, now, ABC_SIZE, &done);
	if (!ret)
		ret = memcmp(now, ref, ABC_SIZE) ? 1 : 0;
	free(now);
	return ret;
}

TEST_F(pt, copy_guest_overlapping_upward_across_boundary_is_memmove)
{
	static unsigned char ref[ABC_SIZE];
	uint64_t src = GPA_B - 10000, dst = src + 3000, len = 20000;

	ASSERT_EQ(0, fill_abc(self->vm, ref));
	ASSERT_EQ(len, vmmem_copy_guest(self->vm, dst, src, len));
	memmove(ref + (dst - GPA_A), ref + (src - GPA_A), len);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
}

TEST_F(pt, copy_guest_overlapping_downward_across_boundary_is_memmove)
{
	static unsigned char ref[ABC_SIZE];
	uint64_t src = GPA_C - 5000, dst = src - 777, len = 12000;
	size_t done = 1;

	ASSERT_EQ(0, fill_abc(self->vm, ref));
	ASSERT_EQ(0, vmmem_copy_guest_exact(self->vm, dst, src, len, &done));
	ASSERT_EQ(len, done);
	memmove(ref + (dst - GPA_A), ref + (src - GPA_A), len);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
}

TEST_F(pt, copy_guest_overlapping_by_one_byte_over_three_regions)
{
	static unsigned char ref[ABC_SIZE];
	uint64_t len = ABC_SIZE - 1;

	ASSERT_EQ(0, fill_abc(self->vm, ref));
	ASSERT_EQ(len, vmmem_copy_guest(self->vm, GPA_A + 1, GPA_A, len));
	memmove(ref + 1, ref, len);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
	ASSERT_EQ(len, vmmem_copy_guest(self->vm, GPA_A, GPA_A + 1, len));
	memmove(ref, ref + 1, len);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
}

TEST_F(pt, copy_guest_into_hole_is_short_erange_or_enxio)
{
	static unsigned char ref[ABC_SIZE];
	unsigned char buf[300];
	size_t done = 12345;

	ASSERT_EQ(0, fill_abc(self->vm, ref));
	/* Destination runs into the hole after 100 bytes. */
	ASSERT_EQ(100, vmmem_copy_guest(self->vm, GPA_END - 100, GPA_A, 300));
	memcpy(ref + ABC_SIZE - 100, ref, 100);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
	ASSERT_EQ(-ERANGE, vmmem_copy_guest_exact(self->vm, GPA_END - 100,
						  GPA_A + 1000, 300, &done));
	ASSERT_EQ(100, done);
	memcpy(ref + ABC_SIZE - 100, ref + 1000, 100);
	ASSERT_EQ(0, abc_matches(self->vm, ref));
	/* Source runs into the hole after 50 bytes. */
	ASSERT_EQ(50, vmmem_copy_guest(self->vm, GPA_A, GPA_END - 50, 200));
	ASSERT_EQ(-ERANGE, vmmem_copy_guest_exact(self->vm, GPA_A,
						  GPA_END - 50, 200, &done));
	ASSERT_EQ(50, done);
	ASSERT_EQ(50, vmmem_read(self->vm, GPA_A, buf, 50));
	ASSERT_EQ(0, memcmp(buf, ref + ABC_SIZE - 50, 50));
	/* First byte in the hole, either side. */
	ASSERT_EQ(-ENXIO, vmmem_copy_guest(self->vm, GPA_END, GPA_A, 10));
	ASSERT_EQ(-ENXIO, vmmem_copy_guest(self->vm, GPA_A, HOLE, 10));
	done = 12345;
	ASSERT_EQ(-ENXIO, vmmem_copy_guest_exact(self->vm, HOLE, GPA_A, 10,
						 &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(-ENXIO, vmmem_copy_guest_exact(self->vm, GPA_A, GPA_END, 10,
						 &done));
	ASSERT_EQ(0, done);
}

TEST_F(pt, copy_guest_into_read_only_is_eacces)
{
	unsigned char pat[300], buf[300];
	size_t done = 12345;

	fill(pat, sizeof(pat), 9);
	ASSERT_EQ(0, vmmem_write_exact(self->vm, GPA_A, pat, sizeof(pat),
				       NULL));
	ASSERT_EQ(-EACCES, vmmem_copy_guest(self->vm, GPA_ROM, GPA_A, 8));
	ASSERT_EQ(-EACCES, vmmem_copy_guest_exact(self->vm, GPA_ROM + 8,
						  GPA_A, 8, &done));
	ASSERT_EQ(0, done);
	/* RAM2 runs into ROM: short, or -EACCES with the prefix done. */
	ASSERT_EQ(100, vmmem_copy_guest(self->vm, GPA_ROM - 100, GPA_A, 300));
	done = 12345;
	ASSERT_EQ(-EACCES, vmmem_copy_guest_exact(self->vm, GPA_ROM - 100,
						  GPA_A, 300, &done));
	ASSERT_EQ(100, done);
	ASSERT_EQ(100, vmmem_read(self->vm, GPA_ROM - 100, buf, 100));
	ASSERT_EQ(0, memcmp(buf, pat, 100));
	ASSERT_EQ(sizeof(buf), vmmem_read(self->vm, GPA_ROM, buf,
					  sizeof(buf)));
	ASSERT_TRUE(all_zero(buf, sizeof(buf)));
	/* Copying out of read-only memory is fine. */
	ASSERT_EQ(300, vmmem_copy_guest(self->vm, GPA_A, GPA_ROM, 300));
	ASSERT_EQ(300, vmmem_read(self->vm, GPA_A, buf, 300));
	ASSERT_TRUE(all_zero(buf, 300));
}

/* --- translation and iovecs --------------------------------------------- */

TEST_F(pt, get_slices_three_adjacent_regions_kernel_user_kernel)
{
	struct vmmem_slice s[8];
	uint64_t done = 0, gpa = GPA_B - 100, len = 100 + RSIZE + 200;

	memset(s, 0xa5, sizeof(s));
	ASSERT_EQ(3, vmmem_get_slices(self->vm, gpa, len, s, 8, &done));
	ASSERT_EQ(len, done);

	ASSERT_EQ(gpa, s[0].guest_addr);
	ASSERT_EQ(100, s[0].len);
	ASSERT_EQ(RSIZE - 100, s[0].region_offset);
	ASSERT_EQ(self->a.mmap_offset + RSIZE - 100, s[0].mmap_offset);
	ASSERT_EQ(0, s[0].user_addr);
	ASSERT_EQ(self->a.id, s[0].region_id);
	ASSERT_EQ(0, s[0].flags);

	ASSERT_EQ(GPA_B, s[1].guest_addr);
	ASSERT_EQ(RSIZE, s[1].len);
	ASSERT_EQ(0, s[1].region_offset);
	ASSERT_EQ(VMMEM_NO_MMAP, s[1].mmap_offset);
	ASSERT_EQ((uintptr_t)self->ub, s[1].user_addr);
	ASSERT_EQ(self->b.id, s[1].region_id);
	ASSERT_EQ(0, s[1].flags);

	ASSERT_EQ(GPA_C, s[2].guest_addr);
	ASSERT_EQ(200, s[2].len);
	ASSERT_EQ(0, s[2].region_offset);
	ASSERT_EQ(self->c.mmap_offset, s[2].mmap_offset);
	ASSERT_EQ(0, s[2].user_addr);
	ASSERT_EQ(self->c.id, s[2].region_id);

	/* Inside one region: one slice; the user address is offset. */
	ASSERT_EQ(1, vmmem_get_slices(self->vm, GPA_B + 5, 10, s, 1, &done));
	ASSERT_EQ(10, done);
	ASSERT_EQ((uintptr_t)self->ub + 5, s[0].user_addr);
	ASSERT_EQ(5, s[0].region_offset);
	/* Read-only flag carried. */
	ASSERT_EQ(1, vmmem_get_slices(self->vm, GPA_ROM, 8, s, 1, NULL));
	ASSERT_EQ(VMMEM_REGION_READONLY, s[0].flags);
	ASSERT_EQ(self->rom.id, s[0].region_id);
}

TEST_F(pt, get_slices_into_hole_is_enxio_with_pieces_before_written)
{
	struct vmmem_slice s[4], pristine;
	uint64_t done = 12345;

	memset(s, 0xa5, sizeof(s));
	memset(&pristine, 0xa5, sizeof(pristine));
	/* B's last 300 bytes, all of C, then the hole. */
	ASSERT_EQ(-ENXIO, vmmem_get_slices(self->vm, GPA_C - 300, RSIZE + 1000,
					   s, 4, &done));
	ASSERT_EQ(300 + RSIZE, done);
	ASSERT_EQ(GPA_C - 300, s[0].guest_addr);
	ASSERT_EQ(300, s[0].len);
	ASSERT_EQ(self->b.id, s[0].region_id);
	ASSERT_EQ(GPA_C, s[1].guest_addr);
	ASSERT_EQ(RSIZE, s[1].len);
	ASSERT_EQ(self->c.id, s[1].region_id);
	ASSERT_EQ(0, memcmp(&s[2], &pristine, sizeof(pristine)));
	done = 12345;
	ASSERT_EQ(-ENXIO, vmmem_get_slices(self->vm, HOLE, 10, s, 4, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(-ENXIO, vmmem_get_slices(self->vm, UINT64_MAX, 1, s, 4,
					   &done));
	ASSERT_EQ(0, done);
}

TEST_F(pt, get_slices_cap_too_small_is_e2big)
{
	struct vmmem_slice s[2];
	uint64_t done = 12345;

	ASSERT_EQ(-E2BIG, vmmem_get_slices(self->vm, GPA_A, ABC_SIZE, s, 2,
					   &done));
	ASSERT_EQ(2 * RSIZE, done);
	ASSERT_EQ(self->a.id, s[0].region_id);
	ASSERT_EQ(self->b.id, s[1].region_id);
	done = 12345;
	ASSERT_EQ(-E2BIG, vmmem_get_slices(self->vm, GPA_A, 1, NULL, 0,
					   &done));
	ASSERT_EQ(0, done);
	/* Exactly enough is fine. */
	ASSERT_EQ(2, vmmem_get_slices(self->vm, GPA_A, 2 * RSIZE, s, 2,
				      &done));
	ASSERT_EQ(2 * RSIZE, done);
}

TEST_F(pt, get_slices_zero_length_gives_no_slices_anywhere)
{
	struct vmmem_slice s[1];
	uint64_t done = 12345;

	ASSERT_EQ(0, vmmem_get_slices(self->vm, GPA_A, 0, s, 1, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(0, vmmem_get_slices(self->vm, HOLE, 0, NULL, 0, &done));
	ASSERT_EQ(0, vmmem_get_slices(self->vm, UINT64_MAX, 0, s, 1, NULL));
}

TEST_F(pt, check_range_uses_translation_across_adjacent_regions)
{
	ASSERT_TRUE(vmmem_check_range(self->vm, GPA_A, ABC_SIZE));
	ASSERT_TRUE(vmmem_check_range(self->vm, GPA_B - 1, 2));
	ASSERT_FALSE(vmmem_check_range(self->vm, GPA_A, ABC_SIZE + 1));
	ASSERT_FALSE(vmmem_check_range(self->vm, GPA_A - 1, 2));
	ASSERT_FALSE(vmmem_check_range(self->vm, UINT64_MAX, 2));
	ASSERT_TRUE(vmmem_check_range(self->vm, HOLE, 0));
	ASSERT_TRUE(vmmem_check_range(self->vm, GPA_RAM2, RSIZE + ROM_SIZE));
}

TEST_F(pt, get_iovecs_readv_writev_land_in_guest_memory)
{
	static unsigned char pat[70000], back[70000];
	uint64_t gpa = GPA_B - 1000;
	struct iovec iov[4];
	void *host;
	int fd, fd2;

	/* A's tail, all of B, C's head. */
	ASSERT_EQ(3, vmmem_get_iovecs(self->vm, gpa, sizeof(pat), iov, 4));
	ASSERT_EQ(1000, iov[0].iov_len);
	ASSERT_EQ(RSIZE, iov[1].iov_len);
	ASSERT_EQ(sizeof(pat) - 1000 - RSIZE, iov[2].iov_len);
	ASSERT_EQ((void *)self->ub, iov[1].iov_base);
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, gpa, &host, NULL));
	ASSERT_EQ(host, iov[0].iov_base);

	/* readv() from a file into guest memory. */
	fd = data_file(sizeof(pat), 4);
	ASSERT_LE(0, fd);
	fill(pat, sizeof(pat), 4);
	ASSERT_EQ(sizeof(pat), readv(fd, iov, 3));
	ASSERT_EQ(0, vmmem_read_exact(self->vm, gpa, back, sizeof(back),
				      NULL));
	ASSERT_EQ(0, memcmp(pat, back, sizeof(pat)));

	/* writev() of guest memory to a file. */
	fill(pat, sizeof(pat), 5);
	ASSERT_EQ(0, vmmem_write_exact(self->vm, gpa, pat, sizeof(pat),
				       NULL));
	fd2 = memfd_create("vmmem-parity-out", MFD_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(sizeof(pat), writev(fd2, iov, 3));
	ASSERT_EQ(sizeof(back), pread(fd2, back, sizeof(back), 0));
	ASSERT_EQ(0, memcmp(pat, back, sizeof(pat)));
	close(fd);
	close(fd2);
}

TEST_F(pt, get_iovecs_errors_and_zero_length)
{
	struct iovec iov[20];

	ASSERT_EQ(-ENXIO, vmmem_get_iovecs(self->vm, GPA_C, RSIZE + 1, iov,
					   20));
	ASSERT_EQ(-ENXIO, vmmem_get_iovecs(self->vm, HOLE, 1, iov, 20));
	ASSERT_EQ(-E2BIG, vmmem_get_iovecs(self->vm, GPA_A, ABC_SIZE, iov, 2));
	ASSERT_EQ(-E2BIG, vmmem_get_iovecs(self->vm, GPA_A, 1, iov, 0));
	ASSERT_EQ(0, vmmem_get_iovecs(self->vm, HOLE, 0, iov, 0));
	ASSERT_EQ(0, vmmem_get_iovecs(self->vm, GPA_A, 0, NULL, 0));
	ASSERT_EQ(3, vmmem_get_iovecs(self->vm, GPA_A, ABC_SIZE, iov, 3));
	/* Read-only region: mapped, readable, zero. */
	ASSERT_EQ(1, vmmem_get_iovecs(self->vm, GPA_ROM, ROM_SIZE, iov, 1));
	ASSERT_EQ(ROM_SIZE, iov[0].iov_len);
	ASSERT_TRUE(all_zero(iov[0].iov_base, ROM_SIZE));
}

TEST_F(pt, get_iovecs_many_regions_past_one_translate_call)
{
	/* 20 one-page regions in a row: more than one 16-slice batch. */
	uint64_t base = 0x1000000ULL, v;
	struct iovec iov[24];
	unsigned int i;

	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, vmmem_add_region(self->vm, base + i * PG, PG,
					      NULL, 0, NULL));
	ASSERT_EQ(20, vmmem_get_iovecs(self->vm, base, 20 * PG, iov, 24));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(PG, iov[i].iov_len);
		*(volatile uint64_t *)iov[i].iov_base = i + 100;
	}
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, vmmem_read_obj(self->vm, base + i * PG, &v));
		ASSERT_EQ(i + 100, v);
	}
	ASSERT_EQ(-E2BIG, vmmem_get_iovecs(self->vm, base, 20 * PG, iov, 17));
	ASSERT_TRUE(vmmem_check_range(self->vm, base, 20 * PG));
	ASSERT_FALSE(vmmem_check_range(self->vm, base, 20 * PG + 1));
}

/* --- file descriptor I/O ------------------------------------------------ */

TEST_F(pt, read_exact_from_slow_pipe_is_contiguous_across_region_boundary)
{
	unsigned char pat[300], got[300];
	uint64_t gpa = GPA_B - 150;
	size_t done = 0;
	int p[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = slow_writer(p[1], p[0], sizeof(pat), 6, 1000);
	ASSERT_LT(0, pid);
	close(p[1]);
	ASSERT_EQ(0, vmmem_read_exact_volatile_from(self->vm, gpa, p[0], -1,
						    sizeof(pat), &done));
	ASSERT_EQ(sizeof(pat), done);
	ASSERT_EQ(0, reap(pid));
	fill(pat, sizeof(pat), 6);
	ASSERT_EQ(0, vmmem_read_exact(self->vm, gpa, got, sizeof(got), NULL));
	ASSERT_EQ(0, memcmp(pat, got, sizeof(pat)));
	ASSERT_EQ(0, memcmp(pat + 150, self->ub, 150));
	close(p[0]);
}

static void on_usr1(int sig)
{
	(void)sig;
}

struct pester {
	pthread_t target;
	volatile bool stop;
	unsigned int sent;
};

static void *pester_thread(void *arg)
{
	struct pester *p = arg;

	while (!p->stop) {
		pthread_kill(p->target, SIGUSR1);
		p->sent++;
		usleep(700);
	}
	return NULL;
}

TEST_F(pt, read_exact_from_continues_after_signals_without_sa_restart)
{
	struct sigaction sa = { .sa_handler = on_usr1 };  /* no SA_RESTART */
	unsigned char pat[200], got[200];
	struct pester pst = { .target = pthread_self() };
	uint64_t gpa = GPA_C - 100;
	size_t done = 0;
	pthread_t th;
	int p[2], ret;
	pid_t pid;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pipe(p));
	pid = slow_writer(p[1], p[0], sizeof(pat), 7, 2000);
	ASSERT_LT(0, pid);
	close(p[1]);
	ASSERT_EQ(0, pthread_create(&th, NULL, pester_thread, &pst));
	ret = vmmem_read_exact_volatile_from(self->vm, gpa, p[0], -1,
					     sizeof(pat), &done);
	pst.stop = true;
	pthread_join(th, NULL);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(sizeof(pat), done);
	ASSERT_LT(10, pst.sent);
	ASSERT_EQ(0, reap(pid));
	fill(pat, sizeof(pat), 7);
	ASSERT_EQ(0, vmmem_read_exact(self->vm, gpa, got, sizeof(got), NULL));
	ASSERT_EQ(0, memcmp(pat, got, sizeof(pat)));
	close(p[0]);
}

TEST_F(pt, read_exact_from_eof_before_count_is_enodata)
{
	unsigned char pat[100], got[100], tail[8];
	size_t done = 0;
	int p[2], fd;

	fill(pat, sizeof(pat), 8);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(sizeof(pat), write(p[1], pat, sizeof(pat)));
	close(p[1]);
	ASSERT_EQ(-ENODATA, vmmem_read_exact_volatile_from(self->vm,
			GPA_B - 40, p[0], -1, 500, &done));
	ASSERT_EQ(sizeof(pat), done);
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_B - 40, got, sizeof(got),
				      NULL));
	ASSERT_EQ(0, memcmp(pat, got, sizeof(pat)));
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_B + 60, tail, 8, NULL));
	ASSERT_TRUE(all_zero(tail, 8));
	close(p[0]);

	/* A regular file, from an offset near its end. */
	fd = data_file(1000, 8);
	ASSERT_LE(0, fd);
	done = 0;
	ASSERT_EQ(-ENODATA, vmmem_read_exact_volatile_from(self->vm, GPA_C,
			fd, 900, 200, &done));
	ASSERT_EQ(100, done);
	/* At end of file the non-exact form returns 0. */
	ASSERT_EQ(0, vmmem_read_volatile_from(self->vm, GPA_C, fd, 1000, 10));
	close(fd);
}

TEST_F(pt, read_volatile_from_returns_short_at_short_pipe_read)
{
	unsigned char pat[100], got[100];
	int p[2];

	fill(pat, sizeof(pat), 10);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(sizeof(pat), write(p[1], pat, sizeof(pat)));
	/* The writer stays open: a blocking loop would hang here. */
	ASSERT_EQ(sizeof(pat), vmmem_read_volatile_from(self->vm, GPA_A,
							p[0], -1, 500));
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_A, got, sizeof(got),
				      NULL));
	ASSERT_EQ(0, memcmp(pat, got, sizeof(pat)));
	/* And out again, to the pipe. */
	ASSERT_EQ(sizeof(pat), vmmem_write_volatile_to(self->vm, GPA_A, p[1],
						       -1, sizeof(pat)));
	memset(got, 0, sizeof(got));
	ASSERT_EQ(sizeof(got), read(p[0], got, sizeof(got)));
	ASSERT_EQ(0, memcmp(pat, got, sizeof(pat)));
	close(p[0]);
	close(p[1]);
}

TEST_F(pt, pread_pwrite_offsets_and_file_position_on_regular_file)
{
	static unsigned char pat[150000], got[80000];
	uint64_t gpa = GPA_B - 5000;
	size_t len = 75000, done = 0;	/* A's tail, B, C's head */
	int fd, out;

	fd = data_file(sizeof(pat), 11);
	ASSERT_LE(0, fd);
	fill(pat, sizeof(pat), 11);
	ASSERT_EQ(0, vmmem_read_exact_volatile_from(self->vm, gpa, fd, 12345,
						    len, &done));
	ASSERT_EQ(len, done);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_CUR));	/* pread: position kept */
	ASSERT_EQ(0, vmmem_read_exact(self->vm, gpa, got, len, NULL));
	ASSERT_EQ(0, memcmp(pat + 12345, got, len));

	/* pwrite the same range at an offset of another file. */
	out = memfd_create("vmmem-parity-out", MFD_CLOEXEC);
	ASSERT_LE(0, out);
	done = 0;
	ASSERT_EQ(0, vmmem_write_all_volatile_to(self->vm, gpa, out, 777, len,
						 &done));
	ASSERT_EQ(len, done);
	ASSERT_EQ(0, lseek(out, 0, SEEK_CUR));
	memset(got, 0, sizeof(got));
	ASSERT_EQ(len, pread(out, got, len, 777));
	ASSERT_EQ(0, memcmp(pat + 12345, got, len));

	/* -1: at the file position, which advances. */
	ASSERT_EQ(1000, lseek(fd, 1000, SEEK_SET));
	ASSERT_EQ(500, vmmem_read_volatile_from(self->vm, GPA_A, fd, -1, 500));
	ASSERT_EQ(1500, lseek(fd, 0, SEEK_CUR));
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_A, got, 500, NULL));
	ASSERT_EQ(0, memcmp(pat + 1000, got, 500));
	ASSERT_EQ(0, vmmem_read_exact_volatile_from(self->vm, GPA_A, fd, -1,
						    500, NULL));
	ASSERT_EQ(2000, lseek(fd, 0, SEEK_CUR));
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_A, got, 500, NULL));
	ASSERT_EQ(0, memcmp(pat + 1500, got, 500));
	ASSERT_EQ(0, lseek(out, 0, SEEK_SET));
	ASSERT_EQ(500, vmmem_write_volatile_to(self->vm, GPA_A, out, -1, 500));
	ASSERT_EQ(500, lseek(out, 0, SEEK_CUR));
	close(fd);
	close(out);
}

TEST_F(pt, fd_io_offset_on_pipe_is_espipe)
{
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(-ESPIPE, vmmem_read_volatile_from(self->vm, GPA_A, p[0], 0,
						    1));
	ASSERT_EQ(-ESPIPE, vmmem_read_exact_volatile_from(self->vm, GPA_A,
							  p[0], 5, 1, NULL));
	ASSERT_EQ(-ESPIPE, vmmem_write_volatile_to(self->vm, GPA_A, p[1], 0,
						   1));
	ASSERT_EQ(-ESPIPE, vmmem_write_all_volatile_to(self->vm, GPA_A, p[1],
						       0, 1, NULL));
	close(p[0]);
	close(p[1]);
}

TEST_F(pt, fd_io_fd_not_open_for_the_direction_is_ebadf)
{
	size_t done = 12345;
	int p[2], fd, ro;
	char path[64];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(-EBADF, vmmem_read_volatile_from(self->vm, GPA_A, p[1], -1,
						   1));
	ASSERT_EQ(-EBADF, vmmem_read_exact_volatile_from(self->vm, GPA_A,
							 p[1], -1, 1, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(-EBADF, vmmem_write_volatile_to(self->vm, GPA_A, p[0], -1,
						  1));
	ASSERT_EQ(-EBADF, vmmem_write_all_volatile_to(self->vm, GPA_A, p[0],
						      -1, 1, NULL));
	ASSERT_EQ(-EBADF, vmmem_read_volatile_from(self->vm, GPA_A, -1, -1,
						   1));
	fd = dup(p[0]);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(-EBADF, vmmem_write_volatile_to(self->vm, GPA_A, fd, -1, 1));
	/* A regular file opened read-only cannot be written to. */
	fd = data_file(100, 3);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(-EBADF, vmmem_write_volatile_to(self->vm, GPA_A, ro, 0, 1));
	ASSERT_EQ(-EBADF, vmmem_write_all_volatile_to(self->vm, GPA_A, ro, -1,
						      1, NULL));
	close(ro);
	close(fd);
	close(p[0]);
	close(p[1]);
}

TEST_F(pt, fd_io_offset_below_minus_one_is_einval)
{
	int fd = data_file(100, 12);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-EINVAL, vmmem_read_volatile_from(self->vm, GPA_A, fd, -2,
						    10));
	ASSERT_EQ(-EINVAL, vmmem_read_exact_volatile_from(self->vm, GPA_A, fd,
							  INT64_MIN, 10,
							  NULL));
	ASSERT_EQ(-EINVAL, vmmem_write_volatile_to(self->vm, GPA_A, fd, -2,
						   10));
	ASSERT_EQ(-EINVAL, vmmem_write_all_volatile_to(self->vm, GPA_A, fd,
						       -100, 10, NULL));
	close(fd);
}

TEST_F(pt, read_from_into_read_only_region_is_eacces)
{
	unsigned char buf[16];
	size_t done = 12345;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(16, write(p[1], "0123456789abcdef", 16));
	ASSERT_EQ(-EACCES, vmmem_read_volatile_from(self->vm, GPA_ROM, p[0],
						    -1, 16));
	ASSERT_EQ(-EACCES, vmmem_read_exact_volatile_from(self->vm, GPA_ROM,
							  p[0], -1, 16,
							  &done));
	ASSERT_EQ(0, done);
	/* Nothing was consumed from the pipe, nothing written. */
	ASSERT_EQ(16, read(p[0], buf, 16));
	ASSERT_EQ(0, memcmp(buf, "0123456789abcdef", 16));
	ASSERT_EQ(16, vmmem_read(self->vm, GPA_ROM, buf, 16));
	ASSERT_TRUE(all_zero(buf, 16));
	/* Read-only memory can be written out. */
	ASSERT_EQ(16, vmmem_write_volatile_to(self->vm, GPA_ROM, p[1], -1,
					      16));
	ASSERT_EQ(16, read(p[0], buf, 16));
	ASSERT_TRUE(all_zero(buf, 16));
	close(p[0]);
	close(p[1]);
}

TEST_F(pt, fd_io_at_a_hole_is_enxio_or_short_or_erange)
{
	unsigned char pat[300], got[100];
	size_t done = 12345;
	int fd = data_file(sizeof(pat), 13);

	ASSERT_LE(0, fd);
	fill(pat, sizeof(pat), 13);
	ASSERT_EQ(-ENXIO, vmmem_read_volatile_from(self->vm, HOLE, fd, 0, 10));
	ASSERT_EQ(-ENXIO, vmmem_write_volatile_to(self->vm, GPA_END, fd, 0,
						  10));
	ASSERT_EQ(100, vmmem_read_volatile_from(self->vm, GPA_END - 100, fd,
						0, 300));
	ASSERT_EQ(-ERANGE, vmmem_read_exact_volatile_from(self->vm,
			GPA_END - 100, fd, 0, 300, &done));
	ASSERT_EQ(100, done);
	ASSERT_EQ(0, vmmem_read_exact(self->vm, GPA_END - 100, got, 100,
				      NULL));
	ASSERT_EQ(0, memcmp(pat, got, 100));
	done = 12345;
	ASSERT_EQ(-ERANGE, vmmem_write_all_volatile_to(self->vm,
			GPA_END - 100, fd, 1000, 300, &done));
	ASSERT_EQ(100, done);
	close(fd);
}

TEST_F(pt, zero_length_succeeds_everywhere)
{
	unsigned char c = 0;
	size_t done = 12345;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, vmmem_read(self->vm, HOLE, &c, 0));
	ASSERT_EQ(0, vmmem_write(self->vm, GPA_ROM, &c, 0));
	ASSERT_EQ(0, vmmem_copy_guest(self->vm, HOLE, HOLE, 0));
	ASSERT_EQ(0, vmmem_copy_guest(self->vm, GPA_ROM, GPA_A, 0));
	ASSERT_EQ(0, vmmem_copy_guest_exact(self->vm, HOLE, GPA_END, 0,
					    &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(0, vmmem_get_slices(self->vm, HOLE, 0, NULL, 0, NULL));
	ASSERT_EQ(0, vmmem_get_iovecs(self->vm, HOLE, 0, NULL, 0));
	ASSERT_TRUE(vmmem_check_range(self->vm, HOLE, 0));
	ASSERT_EQ(0, vmmem_read_volatile_from(self->vm, HOLE, p[0], -1, 0));
	ASSERT_EQ(0, vmmem_read_volatile_from(self->vm, GPA_ROM, p[0], -1, 0));
	done = 12345;
	ASSERT_EQ(0, vmmem_read_exact_volatile_from(self->vm, HOLE, p[0], -1,
						    0, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(0, vmmem_write_volatile_to(self->vm, HOLE, p[1], -1, 0));
	done = 12345;
	ASSERT_EQ(0, vmmem_write_all_volatile_to(self->vm, HOLE, p[1], -1, 0,
						 &done));
	ASSERT_EQ(0, done);
	close(p[0]);
	close(p[1]);
}

/* --- hot-plug consistency of the mapping cache -------------------------- */

struct plugger {
	int fd;
	volatile bool done;
	unsigned int cycles;
	int error;
};

/* Adds, fills and removes a one-page region at HP_GPA, behind the library. */
static void *plugger_thread(void *arg)
{
	struct plugger *pl = arg;
	double end = now() + 3.0;
	uint32_t id = 0;
	uint64_t v;
	int ret;

	while (pl->cycles < 2000 && now() < end) {
		ret = raw_add(pl->fd, HP_GPA, PG, &id);
		if (!ret) {
			v = 0x1000 + pl->cycles;
			ret = raw_write(pl->fd, HP_GPA, &v, 8);
		}
		if (!ret)
			ret = raw_remove(pl->fd, id);
		if (ret) {
			pl->error = ret;
			break;
		}
		pl->cycles++;
	}
	pl->done = true;
	return NULL;
}

TEST_F(pt, hotplug_lookups_racing_raw_add_remove_never_crash)
{
	struct plugger pl = { .fd = self->fd };
	unsigned long hits = 0, misses = 0, iovs = 0, loops = 0;
	struct iovec iov[1];
	int ret = 0, bad = 0;
	pthread_t th;
	size_t contig;
	void *p;

	ASSERT_EQ(0, pthread_create(&th, NULL, plugger_thread, &pl));
	while (!pl.done && !bad) {
		/* -EAGAIN: documented, when regions keep changing. */
		ret = vmmem_get_host_address(self->vm, HP_GPA, &p, &contig);
		if (ret == 0) {
			/* Old pages or new: valid memory either way. */
			volatile uint64_t *q = p;

			*q = *q + 1;
			if (contig != PG)
				bad = 1;
			hits++;
		} else if (ret == -ENXIO || ret == -EAGAIN) {
			misses++;
		} else {
			bad = 2;
			break;
		}
		/* A miss refreshes the cache: stale entries get retired. */
		ret = vmmem_get_host_address(self->vm, HOLE, &p, NULL);
		if (ret != -ENXIO) {
			bad = 3;
			break;
		}
		ret = vmmem_get_iovecs(self->vm, HP_GPA, 8, iov, 1);
		if (ret == 1) {
			*(volatile uint64_t *)iov[0].iov_base += 1;
			iovs++;
		} else if (ret != -ENXIO && ret != -EAGAIN) {
			bad = 4;
			break;
		}
		loops++;
	}
	pl.done = true;
	pthread_join(th, NULL);
	TH_LOG("%u add/remove cycles, %lu loops: %lu hits, %lu misses, %lu iovecs",
	       pl.cycles, loops, hits, misses, iovs);
	ASSERT_EQ(0, pl.error);
	ASSERT_LT(0, pl.cycles);
	/* Left early on an unexpected result. */
	ASSERT_EQ(0, bad) TH_LOG("step %d returned %d", bad, ret);
	/* The handle is still sane. */
	ASSERT_TRUE(vmmem_check_range(self->vm, GPA_A, ABC_SIZE));
}

/*
 * The rule (see vmmem.h): a cache hit is not checked against the kernel,
 * so right after a replacement behind the library's back a lookup may still
 * return the old region's pages, which stay valid memory; the next miss (or
 * vmmem_refresh(), or get_iovecs seeing another region id) refreshes it.
 */
static void replace_region(struct __test_metadata *_metadata, int fd,
			   uint32_t *id, uint64_t value)
{
	ASSERT_EQ(0, raw_remove(fd, *id));
	ASSERT_EQ(0, raw_add(fd, HP_GPA, 2 * PG, id));
	ASSERT_EQ(0, raw_write(fd, HP_GPA, &value, 8));
}

TEST_F(pt, hotplug_replaced_region_is_seen_after_a_miss_refreshes)
{
	uint64_t v = 0x1111;
	size_t contig;
	uint32_t id;
	void *p1, *p2;

	ASSERT_EQ(0, raw_add(self->fd, HP_GPA, PG, &id));
	ASSERT_EQ(0, raw_write(self->fd, HP_GPA, &v, 8));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p1, &contig));
	ASSERT_EQ(PG, contig);
	ASSERT_EQ(0x1111, *(volatile uint64_t *)p1);

	replace_region(_metadata, self->fd, &id, 0x2222);
	/* A hit: still the old, retired-to-be pages. */
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p2, &contig));
	ASSERT_EQ(p1, p2);
	ASSERT_EQ(0x1111, *(volatile uint64_t *)p2);
	/* A miss anywhere re-reads the table. */
	ASSERT_EQ(-ENXIO, vmmem_get_host_address(self->vm, HOLE, &p2, NULL));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p2, &contig));
	ASSERT_EQ(2 * PG, contig);
	ASSERT_EQ(0x2222, *(volatile uint64_t *)p2);
	/* The old mapping was retired, not unmapped. */
	ASSERT_EQ(0x1111, *(volatile uint64_t *)p1);
	*(volatile uint64_t *)p1 = 0x1112;
	/* Writes through the new pointer reach the guest. */
	*(volatile uint64_t *)p2 = 0x3333;
	ASSERT_EQ(0, vmmem_read_obj(self->vm, HP_GPA, &v));
	ASSERT_EQ(0x3333, v);
	/* A miss inside the new, bigger region maps nothing new. */
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA + PG, &p1,
					    &contig));
	ASSERT_EQ((char *)p2 + PG, p1);
	ASSERT_EQ(PG, contig);
}

TEST_F(pt, hotplug_refresh_drops_stale_entry_now)
{
	uint64_t v = 0x4444;
	uint32_t id;
	void *p1, *p2;

	ASSERT_EQ(0, raw_add(self->fd, HP_GPA, PG, &id));
	ASSERT_EQ(0, raw_write(self->fd, HP_GPA, &v, 8));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p1, NULL));
	ASSERT_EQ(0x4444, *(volatile uint64_t *)p1);
	replace_region(_metadata, self->fd, &id, 0x5555);
	ASSERT_EQ(0, vmmem_refresh(self->vm));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p2, NULL));
	ASSERT_NE(p1, p2);
	ASSERT_EQ(0x5555, *(volatile uint64_t *)p2);
	ASSERT_EQ(0x4444, *(volatile uint64_t *)p1);
	/* Removed without a replacement: gone after a refresh. */
	ASSERT_EQ(0, raw_remove(self->fd, id));
	ASSERT_EQ(0, vmmem_refresh(self->vm));
	ASSERT_EQ(-ENXIO, vmmem_get_host_address(self->vm, HP_GPA, &p2, NULL));
	ASSERT_EQ(0x5555, *(volatile uint64_t *)p2);
}

TEST_F(pt, hotplug_get_iovecs_follows_a_replaced_region_at_once)
{
	struct iovec iov[2];
	uint64_t v = 0x6666;
	uint32_t id;
	void *p1;

	ASSERT_EQ(0, raw_add(self->fd, HP_GPA, PG, &id));
	ASSERT_EQ(0, raw_write(self->fd, HP_GPA, &v, 8));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p1, NULL));
	replace_region(_metadata, self->fd, &id, 0x7777);
	/* The translation names the new region: no stale iovec. */
	ASSERT_EQ(1, vmmem_get_iovecs(self->vm, HP_GPA, 16, iov, 2));
	ASSERT_NE(p1, iov[0].iov_base);
	ASSERT_EQ(0x7777, *(volatile uint64_t *)iov[0].iov_base);
	ASSERT_EQ(0x6666, *(volatile uint64_t *)p1);
	/* ... and the cache was refreshed on the way. */
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p1, NULL));
	ASSERT_EQ(iov[0].iov_base, p1);
}

TEST_F(pt, library_remove_region_then_lookup_is_enxio)
{
	struct vmmem_region_info r;
	void *p;

	ASSERT_EQ(0, vmmem_add_region(self->vm, HP_GPA, PG, NULL, 0, &r));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p, NULL));
	ASSERT_EQ(0, vmmem_remove_region(self->vm, r.id));
	ASSERT_EQ(-ENXIO, vmmem_get_host_address(self->vm, HP_GPA, &p, NULL));
	ASSERT_EQ(0, vmmem_add_region(self->vm, HP_GPA, PG, NULL, 0, &r));
	ASSERT_EQ(0, vmmem_get_host_address(self->vm, HP_GPA, &p, NULL));
	ASSERT_EQ(0, vmmem_remove_region_at(self->vm, HP_GPA, PG));
	ASSERT_EQ(-ENXIO, vmmem_get_host_address(self->vm, HP_GPA, &p, NULL));
}

/* --- direct copies through the mappings --------------------------------- */

/* Every byte of every region, through the kernel. */
#define SNAP_SIZE	(ABC_SIZE + RSIZE + ROM_SIZE)

static void snapshot(struct vmmem *vm, unsigned char *out)
{
	if (vmmem_read_exact(vm, GPA_A, out, ABC_SIZE, NULL) ||
	    vmmem_read_exact(vm, GPA_RAM2, out + ABC_SIZE, RSIZE + ROM_SIZE,
			     NULL))
		memset(out, 0xEE, SNAP_SIZE);	/* fails the comparison */
}

static void zero_guest(struct vmmem *vm, const unsigned char *zeros)
{
	vmmem_write_exact(vm, GPA_A, zeros, ABC_SIZE, NULL);
	vmmem_write_exact(vm, GPA_RAM2, zeros, RSIZE, NULL);
}

/* Cases for the direct-vs-ioctl comparison: every way a copy can end. */
static const struct { uint64_t gpa, len; } dcases[] = {
	{ GPA_A + 3, 100 },			/* inside a kernel region */
	{ GPA_A + RSIZE - 50, 2 * RSIZE + 100 },/* kernel, user, kernel, hole */
	{ GPA_B - 4, 8 },			/* kernel | user, 8 bytes */
	{ GPA_C - 3, 7 },			/* user | kernel */
	{ GPA_END - 10, 10 },			/* the last bytes */
	{ GPA_END - 10, 20 },			/* into the hole */
	{ HOLE, 16 },				/* in the hole */
	{ GPA_RAM2 + RSIZE - 8, 16 },		/* RAM | ROM */
	{ GPA_ROM + 8, 8 },			/* ROM */
	{ GPA_A + 8, 8 }, { GPA_A + 4, 4 }, { GPA_A + 2, 2 }, { GPA_A + 1, 1 },
	{ GPA_A + 3, 8 }, { GPA_A + 6, 4 },	/* misaligned */
	{ GPA_B + 8, 8 },			/* aligned, user-backed */
	{ GPA_A + PG - 32, 64 },		/* across a page */
	{ GPA_A, 0 }, { HOLE, 0 },		/* nothing */
};

TEST_F(pt, direct_copies_match_the_ioctls_everywhere)
{
	size_t big = 2 * RSIZE + 200, d1, d2;
	unsigned char *pat = malloc(big), *b1 = malloc(big), *b2 = malloc(big);
	unsigned char *s1 = malloc(SNAP_SIZE), *s2 = malloc(SNAP_SIZE);
	unsigned char *zeros = calloc(1, ABC_SIZE);
	unsigned int i;

	ASSERT_TRUE(pat && b1 && b2 && s1 && s2 && zeros);
	fill(pat, big, 5);
	for (i = 0; i < ARRAY_SIZE(dcases); i++) {
		uint64_t gpa = dcases[i].gpa, len = dcases[i].len;
		ssize_t n1, n2;
		int r1, r2;

		/* Reads, short and exact, of patterned guest memory. */
		ASSERT_EQ(0, vmmem_write_exact(self->vm, GPA_A, pat, ABC_SIZE, NULL));
		memset(b1, 0xAA, big);
		memset(b2, 0xAA, big);
		n1 = vmmem_read(self->vm, gpa, b1, len);
		n2 = vmmem_read_direct(self->vm, gpa, b2, len);
		ASSERT_EQ(n1, n2) TH_LOG("read case %u", i);
		ASSERT_EQ(0, memcmp(b1, b2, big)) TH_LOG("read case %u", i);
		d1 = d2 = 12345;
		r1 = vmmem_read_exact(self->vm, gpa, b1, len, &d1);
		r2 = vmmem_read_direct_exact(self->vm, gpa, b2, len, &d2);
		ASSERT_EQ(r1, r2) TH_LOG("read_exact case %u", i);
		ASSERT_EQ(d1, d2) TH_LOG("read_exact case %u", i);
		ASSERT_EQ(0, memcmp(b1, b2, big)) TH_LOG("read_exact case %u", i);

		/* Writes: the same return and the same guest memory after. */
		zero_guest(self->vm, zeros);
		n1 = vmmem_write(self->vm, gpa, pat, len);
		snapshot(self->vm, s1);
		zero_guest(self->vm, zeros);
		n2 = vmmem_write_direct(self->vm, gpa, pat, len);
		snapshot(self->vm, s2);
		ASSERT_EQ(n1, n2) TH_LOG("write case %u", i);
		ASSERT_EQ(0, memcmp(s1, s2, SNAP_SIZE)) TH_LOG("write case %u", i);
		zero_guest(self->vm, zeros);
		d1 = d2 = 12345;
		r1 = vmmem_write_exact(self->vm, gpa, pat, len, &d1);
		snapshot(self->vm, s1);
		zero_guest(self->vm, zeros);
		r2 = vmmem_write_direct_exact(self->vm, gpa, pat, len, &d2);
		snapshot(self->vm, s2);
		ASSERT_EQ(r1, r2) TH_LOG("write_exact case %u", i);
		ASSERT_EQ(d1, d2) TH_LOG("write_exact case %u", i);
		ASSERT_EQ(0, memcmp(s1, s2, SNAP_SIZE)) TH_LOG("write_exact case %u", i);
	}
	/* The cases reach every documented result at least once. */
	ASSERT_EQ(-ENXIO, vmmem_read_direct(self->vm, HOLE, b1, 1));
	ASSERT_EQ(-EACCES, vmmem_write_direct(self->vm, GPA_ROM, pat, 1));
	ASSERT_EQ(-ERANGE, vmmem_read_direct_exact(self->vm, GPA_END - 1, b1, 2, &d1));
	ASSERT_EQ(1, d1);
	ASSERT_EQ(-EACCES, vmmem_write_direct_exact(self->vm, GPA_ROM - 1, pat, 2, &d1));
	ASSERT_EQ(1, d1);
	ASSERT_EQ(8, vmmem_write_direct(self->vm, GPA_ROM - 8, pat, 16));
	free(pat); free(b1); free(b2); free(s1); free(s2); free(zeros);
}

TEST_F(pt, direct_obj_macros_round_trip_and_follow_hot_plug)
{
	struct vmmem_region_info hp;
	uint64_t v = 0x1122334455667788ULL, back = 0;
	uint16_t h = 0xBEEF, hb = 0;

	ASSERT_EQ(0, vmmem_write_obj_direct(self->vm, GPA_C + 16, &v));
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_C + 16, &back));
	ASSERT_EQ(v, back);
	ASSERT_EQ(0, vmmem_write_obj(self->vm, GPA_B + 2, &h));
	ASSERT_EQ(0, vmmem_read_obj_direct(self->vm, GPA_B + 2, &hb));
	ASSERT_EQ(h, hb);
	/* A region added after the cache was filled is found by a miss... */
	ASSERT_EQ(-ENXIO, vmmem_read_obj_direct(self->vm, HP_GPA, &back));
	ASSERT_EQ(0, vmmem_add_region(self->vm, HP_GPA, PG, NULL, 0, &hp));
	ASSERT_EQ(0, vmmem_write_obj_direct(self->vm, HP_GPA + 8, &v));
	back = 0;
	ASSERT_EQ(0, vmmem_read_obj(self->vm, HP_GPA + 8, &back));
	ASSERT_EQ(v, back);
	/* ...and one removed through the library is gone at once. */
	ASSERT_EQ(0, vmmem_remove_region(self->vm, hp.id));
	ASSERT_EQ(-ENXIO, vmmem_read_obj_direct(self->vm, HP_GPA + 8, &back));
}

struct tear_arg {
	struct vmmem *vm;
	atomic_bool stop;
};

static void *direct_flipper(void *p)
{
	struct tear_arg *t = p;
	uint64_t v[2] = { 0, ~0ULL };
	unsigned int i = 0;

	while (!atomic_load(&t->stop))
		vmmem_write_obj_direct(t->vm, GPA_A + 64, &v[i++ & 1]);
	return NULL;
}

TEST_F(pt, direct_aligned_8_bytes_are_never_torn)
{
	struct tear_arg t = { .vm = self->vm };
	unsigned int i, torn = 0;
	pthread_t th;
	uint64_t v;

	ASSERT_EQ(0, pthread_create(&th, NULL, direct_flipper, &t));
	for (i = 0; i < 200000; i++) {
		ASSERT_EQ(0, vmmem_read_obj_direct(self->vm, GPA_A + 64, &v));
		torn += v != 0 && v != ~0ULL;
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	ASSERT_EQ(0, torn);
}

/* --- endian types ------------------------------------------------------- */

TEST_F(pt, endian_types_round_trip_and_are_stored_in_their_byte_order)
{
	struct ring {
		vmmem_le16 flags;
		vmmem_le16 idx;
		vmmem_le32 len;
		vmmem_le64 addr;
		vmmem_be16 b16;
		uint16_t pad;
		vmmem_be32 b32;
		vmmem_be64 b64;
	} w, r;
	static const unsigned char want[32] = {
		0x34, 0x12,  0xcd, 0xab,  0x78, 0x56, 0x34, 0x12,
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
		0x12, 0x34,  0x00, 0x00,  0x12, 0x34, 0x56, 0x78,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};
	unsigned char raw[32];
	vmmem_le16 l16;
	vmmem_le32 l32;

	ASSERT_EQ(2, sizeof(vmmem_le16));
	ASSERT_EQ(4, sizeof(vmmem_be32));
	ASSERT_EQ(8, sizeof(vmmem_le64));
	ASSERT_EQ(32, sizeof(struct ring));
	memset(&w, 0, sizeof(w));
	w.flags = vmmem_cpu_to_le16(0x1234);
	w.idx = vmmem_cpu_to_le16(0xabcd);
	w.len = vmmem_cpu_to_le32(0x12345678);
	w.addr = vmmem_cpu_to_le64(0x0123456789abcdefULL);
	w.b16 = vmmem_cpu_to_be16(0x1234);
	w.b32 = vmmem_cpu_to_be32(0x12345678);
	w.b64 = vmmem_cpu_to_be64(0x0123456789abcdefULL);
	ASSERT_EQ(0, vmmem_write_obj(self->vm, GPA_B - 16, &w));
	ASSERT_EQ(32, vmmem_read(self->vm, GPA_B - 16, raw, 32));
	ASSERT_EQ(0, memcmp(want, raw, 32));
	ASSERT_EQ(0, vmmem_read_obj(self->vm, GPA_B - 16, &r));
	ASSERT_EQ(0x1234, vmmem_le16_to_cpu(r.flags));
	ASSERT_EQ(0xabcd, vmmem_le16_to_cpu(r.idx));
	ASSERT_EQ(0x12345678, vmmem_le32_to_cpu(r.len));
	ASSERT_EQ(0x0123456789abcdefULL, vmmem_le64_to_cpu(r.addr));
	ASSERT_EQ(0x1234, vmmem_be16_to_cpu(r.b16));
	ASSERT_EQ(0x12345678, vmmem_be32_to_cpu(r.b32));
	ASSERT_EQ(0x0123456789abcdefULL, vmmem_be64_to_cpu(r.b64));

	/* Single fields, with the plain and the atomic accessors. */
	l16 = vmmem_cpu_to_le16(0xbeef);
	ASSERT_EQ(0, vmmem_write_obj(self->vm, GPA_A + 2, &l16));
	ASSERT_EQ(2, vmmem_read(self->vm, GPA_A + 2, raw, 2));
	ASSERT_EQ(0xef, raw[0]);
	ASSERT_EQ(0xbe, raw[1]);
	l32 = vmmem_cpu_to_le32(0xcafef00d);
	ASSERT_EQ(0, vmmem_store_obj(self->vm, GPA_A + 8, &l32,
				     VMMEM_ORDER_RELEASE));
	ASSERT_EQ(4, vmmem_read(self->vm, GPA_A + 8, raw, 4));
	ASSERT_EQ(0x0d, raw[0]);
	ASSERT_EQ(0xca, raw[3]);
	memset(&l32, 0, sizeof(l32));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 8, &l32,
				    VMMEM_ORDER_ACQUIRE));
	ASSERT_EQ(0xcafef00d, vmmem_le32_to_cpu(l32));
	memset(&l16, 0, sizeof(l16));
	ASSERT_EQ(0, vmmem_load_obj(self->vm, GPA_A + 2, &l16,
				    VMMEM_ORDER_SEQ_CST));
	ASSERT_EQ(0xbeef, vmmem_le16_to_cpu(l16));
}

TEST_HARNESS_MAIN
