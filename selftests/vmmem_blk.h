/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block devices for the tests that read into guest memory with O_DIRECT:
 * a loop device over an image in /tmp (each 4 KiB block filled with its
 * own pattern), and device-mapper devices over it, made through the
 * device-mapper ioctls (no dmsetup in the test VM): "delay" keeps each
 * read in flight for a while, "linear" and "error" make a read that lands
 * in part and fails. And the three ways to read from them into memory
 * that a VMM's disk uses: pread() (in a thread of its own here, so that
 * it can be in flight), Linux AIO and io_uring (raw system calls: the
 * tests are static, with no libaio or liburing).
 */
#ifndef VMMEM_BLK_H
#define VMMEM_BLK_H

#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/aio_abi.h>
#include <linux/dm-ioctl.h>
#include <linux/io_uring.h>
#include <linux/loop.h>

#include "vmmem_test.h"

/* The pattern of the image's block @blk (fill_pattern()'s seed). */
#define BLK_SEED(blk)	(0x5eed0000U + (unsigned int)(blk))

struct blk_loop {
	char img[64], dev[32];
	int fd;				/* the loop device, or -1 */
	dev_t rdev;
};

/* A loop device over a new image of @size bytes; 0, or -1 and errno. */
static inline int blk_loop_attach(struct blk_loop *l, size_t size,
				  bool pattern)
{
	unsigned char buf[PG];
	struct stat st;
	int ctl, n, img;
	size_t off;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	strcpy(l->img, "/tmp/vmmem-img.XXXXXX");
	img = mkstemp(l->img);
	if (img < 0 || ftruncate(img, size))
		goto fail;
	for (off = 0; pattern && off < size; off += PG) {
		fill_pattern(buf, PG, BLK_SEED(off / PG));
		if (pwrite(img, buf, PG, off) != PG)
			goto fail;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		goto fail;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		goto fail;
	snprintf(l->dev, sizeof(l->dev), "/dev/loop%d", n);
	l->fd = open(l->dev, O_RDWR | O_CLOEXEC);
	if (l->fd < 0 || ioctl(l->fd, LOOP_SET_FD, img) ||
	    fstat(l->fd, &st))
		goto fail;
	l->rdev = st.st_rdev;
	close(img);
	return 0;
fail:
	n = errno;
	if (img >= 0)
		close(img);
	errno = n;
	return -1;
}

static inline void blk_loop_detach(struct blk_loop *l)
{
	if (l->fd >= 0) {
		ioctl(l->fd, LOOP_CLR_FD);
		close(l->fd);
		l->fd = -1;
	}
	if (l->img[0])
		unlink(l->img);
	l->img[0] = '\0';
}

/* One target of a device-mapper table, in 512-byte sectors. */
struct blk_target {
	__u64 start, len;
	const char *type, *params;
};

struct blk_dm {
	char name[32], node[64];
	bool created;
};

/* One device-mapper ioctl with @extra bytes of payload after the header. */
static inline int blk_dm_ioctl(unsigned long cmd, const char *name,
			       struct dm_ioctl *io, size_t size)
{
	int ctl, ret, err;

	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = size;
	if (!io->data_start)
		io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	ret = ioctl(ctl, cmd, io);
	err = errno;
	close(ctl);
	errno = err;
	return ret;
}

/*
 * A device-mapper device @name of the @n targets, its node at
 * d->node; 0, or -1 and errno (ENOENT: no device-mapper here).
 */
static inline int blk_dm_create(struct blk_dm *d, const char *name,
				const struct blk_target *t, int n)
{
	union {
		struct dm_ioctl io;
		char buf[4096];
	} u;
	size_t off = sizeof(u.io);
	int i;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	memset(&u, 0, sizeof(u));
	if (blk_dm_ioctl(DM_DEV_CREATE, name, &u.io, sizeof(u.io)))
		return -1;
	d->created = true;
	snprintf(d->node, sizeof(d->node), "/tmp/vmmem-dm-%s", name);
	unlink(d->node);
	if (mknod(d->node, S_IFBLK | 0600, (dev_t)u.io.dev))
		return -1;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < n; i++) {
		struct dm_target_spec *spec = (void *)(u.buf + off);
		size_t plen = strlen(t[i].params) + 1;
		size_t next = (sizeof(*spec) + plen + 7) & ~7UL;

		if (off + next > sizeof(u.buf)) {
			errno = E2BIG;
			return -1;
		}
		spec->sector_start = t[i].start;
		spec->length = t[i].len;
		snprintf(spec->target_type, sizeof(spec->target_type), "%s",
			 t[i].type);
		memcpy(spec + 1, t[i].params, plen);
		spec->next = next;
		off += next;
	}
	u.io.target_count = n;
	if (blk_dm_ioctl(DM_TABLE_LOAD, name, &u.io, off))
		return -1;
	memset(&u, 0, sizeof(u));
	/* A resume makes the loaded table live. */
	return blk_dm_ioctl(DM_DEV_SUSPEND, name, &u.io, sizeof(u.io));
}

static inline void blk_dm_remove(struct blk_dm *d)
{
	struct dm_ioctl io;

	if (d->node[0])
		unlink(d->node);
	d->node[0] = '\0';
	if (!d->created)
		return;
	memset(&io, 0, sizeof(io));
	blk_dm_ioctl(DM_DEV_REMOVE, d->name, &io, sizeof(io));
	d->created = false;
}

/* "MAJ:MIN" of a loop device, for a table's parameters. */
static inline const char *blk_devt(const struct blk_loop *l, char *buf,
				   size_t len)
{
	snprintf(buf, len, "%u:%u", major(l->rdev), minor(l->rdev));
	return buf;
}

/* --- reads in flight -------------------------------------------------- */

enum blk_io { BLK_PREAD, BLK_AIO, BLK_URING };

/* One read at a time: started, then waited for. */
struct blk_reader {
	enum blk_io kind;
	int fd;
	void *buf;
	size_t len;
	off_t off;
	ssize_t ret;
	pthread_t th;			/* BLK_PREAD */
	aio_context_t aio;		/* BLK_AIO */
	struct iocb cb;
	int ring;			/* BLK_URING: the ring's fd */
	void *sq, *cq;
	struct io_uring_sqe *sqes;
	size_t sq_size, cq_size, sqes_size;
	struct io_uring_params p;
};

static inline int blk_uring_init(struct blk_reader *r)
{
	memset(&r->p, 0, sizeof(r->p));
	r->ring = syscall(__NR_io_uring_setup, 2, &r->p);
	if (r->ring < 0)
		return -1;
	r->sq_size = r->p.sq_off.array + r->p.sq_entries * sizeof(__u32);
	r->cq_size = r->p.cq_off.cqes +
		     r->p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_size = r->p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq = mmap(NULL, r->sq_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_POPULATE, r->ring, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->cq_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_POPULATE, r->ring, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->ring, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED ||
	    r->sqes == MAP_FAILED)
		return -1;
	return 0;
}

#define BLK_RING(r, ring, field) \
	((__u32 *)((char *)(r)->ring + (r)->p.ring##_off.field))

static inline int blk_uring_submit(struct blk_reader *r)
{
	__u32 tail = *BLK_RING(r, sq, tail);
	__u32 i = tail & *BLK_RING(r, sq, ring_mask);
	struct io_uring_sqe *sqe = &r->sqes[i];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ;
	sqe->fd = r->fd;
	sqe->addr = ptr2u(r->buf);
	sqe->len = r->len;
	sqe->off = r->off;
	BLK_RING(r, sq, array)[i] = i;
	__atomic_store_n(BLK_RING(r, sq, tail), tail + 1, __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->ring, 1, 0, 0, NULL, 0) == 1 ?
	       0 : -1;
}

static inline ssize_t blk_uring_wait(struct blk_reader *r)
{
	__u32 head;
	struct io_uring_cqe *cqe;

	for (;;) {
		head = *BLK_RING(r, cq, head);
		if (head != __atomic_load_n(BLK_RING(r, cq, tail),
					    __ATOMIC_ACQUIRE))
			break;
		if (syscall(__NR_io_uring_enter, r->ring, 0, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
		    errno != EINTR)
			return -errno;
	}
	cqe = (struct io_uring_cqe *)((char *)r->cq + r->p.cq_off.cqes) +
	      (head & *BLK_RING(r, cq, ring_mask));
	r->ret = cqe->res;
	__atomic_store_n(BLK_RING(r, cq, head), head + 1, __ATOMIC_RELEASE);
	return r->ret;
}

/* A reader of @fd (open O_DIRECT); 0, or -1 and errno. */
static inline int blk_reader_init(struct blk_reader *r, enum blk_io kind,
				  int fd)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->fd = fd;
	r->ring = -1;
	if (kind == BLK_AIO)
		return syscall(__NR_io_setup, 1, &r->aio) ? -1 : 0;
	if (kind == BLK_URING)
		return blk_uring_init(r);
	return 0;
}

static inline void *blk_pread_thread(void *arg)
{
	struct blk_reader *r = arg;

	r->ret = pread(r->fd, r->buf, r->len, r->off);
	if (r->ret < 0)
		r->ret = -errno;
	return NULL;
}

/* Starts a read of @len bytes at @off into @buf; 0, or -1 and errno. */
static inline int blk_read_start(struct blk_reader *r, void *buf, size_t len,
				 off_t off)
{
	struct iocb *cbs[1] = { &r->cb };

	r->buf = buf;
	r->len = len;
	r->off = off;
	switch (r->kind) {
	case BLK_PREAD:
		errno = pthread_create(&r->th, NULL, blk_pread_thread, r);
		return errno ? -1 : 0;
	case BLK_AIO:
		memset(&r->cb, 0, sizeof(r->cb));
		r->cb.aio_lio_opcode = IOCB_CMD_PREAD;
		r->cb.aio_fildes = r->fd;
		r->cb.aio_buf = ptr2u(buf);
		r->cb.aio_nbytes = len;
		r->cb.aio_offset = off;
		return syscall(__NR_io_submit, r->aio, 1, cbs) == 1 ? 0 : -1;
	case BLK_URING:
		return blk_uring_submit(r);
	}
	return -1;
}

/* Waits for the read started last: bytes read, or -errno. */
static inline ssize_t blk_read_wait(struct blk_reader *r)
{
	struct io_event ev;

	switch (r->kind) {
	case BLK_PREAD:
		pthread_join(r->th, NULL);
		return r->ret;
	case BLK_AIO:
		while (syscall(__NR_io_getevents, r->aio, 1, 1, &ev, NULL) != 1)
			if (errno != EINTR)
				return -errno;
		return ev.res;
	case BLK_URING:
		return blk_uring_wait(r);
	}
	return -EINVAL;
}

static inline void blk_reader_fini(struct blk_reader *r)
{
	if (r->kind == BLK_AIO)
		syscall(__NR_io_destroy, r->aio);
	if (r->kind != BLK_URING)
		return;
	if (r->sq && r->sq != MAP_FAILED)
		munmap(r->sq, r->sq_size);
	if (r->cq && r->cq != MAP_FAILED)
		munmap(r->cq, r->cq_size);
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_size);
	if (r->ring >= 0)
		close(r->ring);
}

static inline const char *blk_io_name(enum blk_io kind)
{
	return kind == BLK_PREAD ? "pread" : kind == BLK_AIO ? "aio" :
	       "io_uring";
}

#endif /* VMMEM_BLK_H */
