// SPDX-License-Identifier: GPL-2.0
/*
 * Time-of-check to time-of-use: regions removed and re-added while calls
 * that checked them are in flight.
 *
 *   readonly.*  one kind of writer (guest copy, write, batch, atomics, fd
 *               read, a mapping) keeps writing to a destination that runs
 *               through a stable region D1 into D2, which flips between a
 *               writable and a read-only incarnation at the same GPA (the
 *               read-only one is added by another thread while the remove
 *               of the writable one still runs): a call checks D2 before
 *               it starts, and reaches it only after its long way through
 *               D1. A read-only incarnation starts zeroed and must read as
 *               zero for as long as it lives: permission is checked on the
 *               region actually written, each time it is looked up.
 *   failed_add  two threads add overlapping regions at once (both pass the
 *               early check; one fails at the insert) while a third maps
 *               the offset the next region will get: a mapping must only
 *               ever show the pages of a region that was added.
 *
 * Kernel reports (KASAN, bad page state) fail the run in vm/run.sh.
 */
#include <pthread.h>

#include "vmmem_test.h"

#define MB		(1ULL << 20)
#define GPA_S		0x1000000ULL	/* source, filled with FILL */
#define GPA_D1		0x2000000ULL	/* stable, writable */
#define D1SIZE		(4 * MB)
#define GPA_D		(GPA_D1 + D1SIZE)	/* D2: flips */
#define DSIZE		(64 * 1024)
#define WSIZE		(D1SIZE + DSIZE)	/* what the writers write */
#define FILL		0xab
#define RUN_SECONDS	1.5

/* --- readonly ----------------------------------------------------------- */

enum writer { W_COPY, W_WRITE, W_BATCH, W_ATOMIC, W_READ_FROM_FD, W_MMAP };

FIXTURE(readonly) {
	int fd, memfd;
	unsigned char *fillbuf;
	_Atomic bool stop;
	_Atomic unsigned long writes, bad_errno, last_errno;
	const struct _fixture_variant_readonly *v;
};

FIXTURE_VARIANT(readonly) {
	enum writer writer;
};

FIXTURE_VARIANT_ADD(readonly, guest_copy) { W_COPY };
FIXTURE_VARIANT_ADD(readonly, write) { W_WRITE };
FIXTURE_VARIANT_ADD(readonly, batch) { W_BATCH };
FIXTURE_VARIANT_ADD(readonly, atomics) { W_ATOMIC };
FIXTURE_VARIANT_ADD(readonly, read_from_fd) { W_READ_FROM_FD };
FIXTURE_VARIANT_ADD(readonly, mapping) { W_MMAP };

FIXTURE_SETUP(readonly)
{
	self->v = variant;
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	self->fillbuf = anon_map(WSIZE);
	ASSERT_NE(NULL, self->fillbuf);
	memset(self->fillbuf, FILL, WSIZE);
	self->memfd = memfd_create("vmmem-toctou", MFD_CLOEXEC);
	ASSERT_EQ(WSIZE, pwrite(self->memfd, self->fillbuf, WSIZE, 0));
	ASSERT_EQ(0, vm_add(self->fd, GPA_S, WSIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, GPA_S, self->fillbuf, WSIZE,
			      VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA_D1, D1SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA_D, DSIZE, 0, 0, NULL));
}

FIXTURE_TEARDOWN(readonly)
{
	close(self->fd);
	close(self->memfd);
	munmap(self->fillbuf, WSIZE);
}

/*
 * What a writer may be told while the destination comes and goes (a
 * mapping: EINVAL when the offset it found is gone).
 */
static void writer_result(struct _test_data_readonly *self, int ret)
{
	self->writes++;
	if (ret && errno != ENXIO && errno != EACCES && errno != ERANGE &&
	    !(self->v->writer == W_MMAP && errno == EINVAL)) {
		self->bad_errno++;
		self->last_errno = errno;
	}
}

static void write_once(struct _test_data_readonly *self, __u64 *rng)
{
	static __thread struct vmmem_io ops[64];
	struct vmmem_io_batch b = { .ops = ptr2u(ops), .count = 64 };
	struct vmmem_copy c = { .src_gpa = GPA_S, .dst_gpa = GPA_D1,
				.len = WSIZE };
	struct vmmem_fd_io f = { .guest_addr = GPA_D1, .len = WSIZE,
				 .fd = self->memfd };
	struct vmmem_atomic a = { .size = 8, .order = VMMEM_ORDER_SEQ_CST };
	struct vmmem_region_info info;
	unsigned int i;
	void *p;

	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	switch (self->v->writer) {
	case W_COPY:
		writer_result(self, ioctl(self->fd, VMMEM_COPY, &c));
		break;
	case W_WRITE:
		writer_result(self, vm_write(self->fd, GPA_D1, self->fillbuf,
					     WSIZE, 0, NULL));
		break;
	case W_BATCH:
		for (i = 0; i < 64; i++) {
			ops[i].guest_addr = GPA_D1 + i * (WSIZE / 64);
			ops[i].user_addr = ptr2u(self->fillbuf);
			ops[i].len = WSIZE / 64;
			ops[i].flags = VMMEM_IO_WRITE;
		}
		writer_result(self, ioctl(self->fd, VMMEM_IO_BATCH, &b));
		break;
	case W_ATOMIC:
		for (i = 0; i < 256; i++) {
			a.guest_addr = GPA_D + (*rng >> 20) % (DSIZE / 8) * 8;
			a.op = i & 1 ? VMMEM_ATOMIC_STORE : VMMEM_ATOMIC_FETCH_ADD;
			a.value = FILL;
			writer_result(self, ioctl(self->fd, VMMEM_ATOMIC, &a));
			*rng = *rng * 6364136223846793005ULL + 1;
		}
		break;
	case W_READ_FROM_FD:
		writer_result(self, ioctl(self->fd, VMMEM_READ_FROM_FD, &f));
		break;
	case W_MMAP:
		/* Map whatever is there; write through it if writable. */
		if (vm_find(self->fd, GPA_D, &info))
			break;
		p = mmap(NULL, DSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, info.mmap_offset);
		if (p == MAP_FAILED) {
			writer_result(self, -1);	/* EACCES: read-only */
			break;
		}
		memset(p, FILL, DSIZE);
		munmap(p, DSIZE);
		writer_result(self, 0);
		break;
	}
}

static void *writer(void *arg)
{
	struct _test_data_readonly *self = arg;
	__u64 rng = 88172645463325252ULL;

	while (!self->stop)
		write_once(self, &rng);
	return NULL;
}

struct remover {
	int fd, ret;
};

static void *remove_d(void *arg)
{
	struct remover *r = arg;

	r->ret = vm_remove_addr(r->fd, GPA_D, DSIZE);
	return NULL;
}

TEST_F_TIMEOUT(readonly, a_readonly_incarnation_is_never_written, 120)
{
	unsigned char *back = anon_map(DSIZE);
	unsigned long flips = 0, dirty = 0;
	struct remover rm = { .fd = self->fd };
	pthread_t th[2], tr;
	double end;
	int i;

	ASSERT_NE(NULL, back);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer, self));
	end = now_sec() + RUN_SECONDS;
	while (now_sec() < end) {
		/* Re-add read-only as soon as the writable one is unpublished. */
		ASSERT_EQ(0, pthread_create(&tr, NULL, remove_d, &rm));
		while (vm_add(self->fd, GPA_D, DSIZE, 0, VMMEM_REGION_READONLY,
			      NULL))
			ASSERT_EQ(EEXIST, errno);
		pthread_join(tr, NULL);
		ASSERT_EQ(0, rm.ret);
		usleep(2000);		/* writers run into it */
		ASSERT_EQ(0, vm_read(self->fd, GPA_D, back, DSIZE,
				     VMMEM_IO_EXACT, NULL));
		if (!all_bytes(back, DSIZE, 0))
			dirty++;
		ASSERT_EQ(0, vm_remove_addr(self->fd, GPA_D, DSIZE));
		ASSERT_EQ(0, vm_add(self->fd, GPA_D, DSIZE, 0, 0, NULL));
		usleep(2000);
		flips++;
	}
	self->stop = true;
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ksft_print_msg("%lu flips, %lu writes, %lu read-only incarnations written\n",
		       flips, (unsigned long)self->writes, dirty);
	EXPECT_EQ(0, dirty);
	EXPECT_EQ(0, self->bad_errno)
		TH_LOG("unexpected errno %lu", (unsigned long)self->last_errno);
	EXPECT_LT(0, flips);
	munmap(back, DSIZE);
}

/* --- failed_add ------------------------------------------------------------ */

#define GPA_X	0x4000000ULL

FIXTURE(failed_add) {
	int fd;
	_Atomic bool stop;
	_Atomic unsigned long adds, eexist, maps, checked, wrong;
};

FIXTURE_SETUP(failed_add)
{
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(failed_add)
{
	close(self->fd);
}

static void *adder(void *arg)
{
	struct _test_data_failed_add *self = arg;
	struct vmmem_region_add a;

	while (!self->stop) {
		/* 16 pages: time between the early check and the insert */
		if (!vm_add(self->fd, GPA_X, 16 * PG, 0, 0, &a)) {
			self->adds++;
			usleep(200);
			vm_remove_id(self->fd, a.id);
		} else if (errno == EEXIST) {
			self->eexist++;
		}
	}
	return NULL;
}

/*
 * Maps the offset the next region will get. Once the region that has that
 * offset is live at X (the mapping may have been made a little earlier, of
 * the pages of an add that then failed and whose offset the next add
 * took), a tag written through the mapping must read back through the
 * ioctl.
 */
static void *mapper(void *arg)
{
	struct _test_data_failed_add *self = arg;
	struct vmmem_region_info before, after;
	unsigned long tag = 0, got;
	int i;

	while (!self->stop) {
		off_t off = lseek(self->fd, 0, SEEK_END);
		unsigned long *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
					MAP_SHARED, self->fd, off);

		if (p == MAP_FAILED)
			continue;
		self->maps++;
		for (i = 0; i < 2000 && !self->stop; i++) {
			if (vm_find(self->fd, GPA_X, &before) ||
			    before.mmap_offset < (__u64)off)
				continue;
			if (before.mmap_offset > (__u64)off)
				break;		/* that region is gone */
			*p = ++tag;
			if (!vm_read(self->fd, GPA_X, &got, sizeof(got), 0,
				     NULL) &&
			    !vm_find(self->fd, GPA_X, &after) &&
			    after.id == before.id) {
				self->checked++;
				if (got != tag)
					self->wrong++;
			}
			break;
		}
		munmap(p, PG);
	}
	return NULL;
}

TEST_F_TIMEOUT(failed_add, a_mapping_never_shows_a_region_whose_add_failed, 60)
{
	pthread_t th[4];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, adder, self));
	ASSERT_EQ(0, pthread_create(&th[3], NULL, mapper, self));
	usleep(2 * 1000 * 1000);
	self->stop = true;
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ksft_print_msg("%lu adds, %lu EEXIST, %lu mappings, %lu checked, %lu wrong\n",
		       (unsigned long)self->adds, (unsigned long)self->eexist,
		       (unsigned long)self->maps, (unsigned long)self->checked,
		       (unsigned long)self->wrong);
	EXPECT_EQ(0, self->wrong);
	EXPECT_LT(0, self->eexist);
	EXPECT_LT(0, self->checked);
}

TEST_HARNESS_MAIN
