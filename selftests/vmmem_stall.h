/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User memory that does not resolve until the test says so, for the tests
 * of calls whose user buffer stalls:
 *
 *   STALL_UFFD     anonymous memory registered with userfaultfd (missing
 *                  pages): the first access of each page waits;
 *   STALL_UFFD_WP  the same memory, populated and write-protected through
 *                  userfaultfd: reads work, the first write waits;
 *   STALL_FUSE     a private mapping of a file on a FUSE filesystem served
 *                  by a thread here: the first access reads the page from
 *                  the server, which does not answer.
 *
 * stall_wait() returns once an access is waiting; stall_release() lets it
 * (and every later one) complete, the memory then reading as the fill
 * byte, or as st->content (a page) if the test set it: for STALL_UFFD_WP
 * set it before stall_init(), which writes it to every page. All three wait killably (FUSE reads are asynchronous, so the
 * faulting task waits on the page lock, not on the request).
 */
#ifndef VMMEM_STALL_H
#define VMMEM_STALL_H

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/fuse.h>
#include <linux/userfaultfd.h>

#include "vmmem_test.h"

enum stall_kind { STALL_UFFD, STALL_UFFD_WP, STALL_FUSE };

#define STALL_FUSE_SIZE		(1ULL << 20)

struct stall {
	enum stall_kind kind;
	unsigned char *buf;
	size_t len;
	unsigned char fill;
	const void *content;		/* a page, repeated; or NULL: fill */
	int uffd;
	/* FUSE */
	int fuse_fd, file_fd, stop_efd, pending_efd;
	char mnt[64];
	pthread_t server;
	bool serving, mounted;
	_Atomic bool released;
	__u64 held[64];			/* unanswered READ requests */
	_Atomic unsigned int nheld;
	pthread_mutex_t lock;
};

/* --- userfaultfd ----------------------------------------------------- */

/* What the memory at @p (page-aligned in the stalled range) reads as. */
static inline void stall_fill(struct stall *st, unsigned char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += PG)
		if (st->content)
			memcpy(p + off, st->content, len - off < PG ? len - off : PG);
		else
			memset(p + off, st->fill, len - off < PG ? len - off : PG);
}

static inline int stall_uffd_init(struct stall *st)
{
	struct uffdio_register reg;
	struct uffdio_api api;

	st->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (st->uffd < 0)
		return -1;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	if (ioctl(st->uffd, UFFDIO_API, &api))
		return -1;
	st->buf = anon_map(st->len);
	if (!st->buf)
		return -1;
	if (st->kind == STALL_UFFD_WP)		/* WP needs present pages */
		stall_fill(st, st->buf, st->len);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = ptr2u(st->buf);
	reg.range.len = st->len;
	reg.mode = st->kind == STALL_UFFD_WP ? UFFDIO_REGISTER_MODE_WP :
					       UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(st->uffd, UFFDIO_REGISTER, &reg))
		return -1;
	if (st->kind == STALL_UFFD_WP) {
		struct uffdio_writeprotect wp = {
			.range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};

		if (ioctl(st->uffd, UFFDIO_WRITEPROTECT, &wp))
			return -1;
	}
	return 0;
}

static inline void stall_uffd_release(struct stall *st)
{
	unsigned char *page = malloc(PG);
	size_t off;

	if (st->kind == STALL_UFFD_WP) {
		struct uffdio_writeprotect wp = {
			.range = { ptr2u(st->buf), st->len },
		};

		ioctl(st->uffd, UFFDIO_WRITEPROTECT, &wp);
		free(page);
		return;
	}
	stall_fill(st, page, PG);
	for (off = 0; off < st->len; off += PG) {
		struct uffdio_copy c = {
			.dst = ptr2u(st->buf + off), .src = ptr2u(page),
			.len = PG,
		};

		ioctl(st->uffd, UFFDIO_COPY, &c);	/* EEXIST: present */
	}
	free(page);
}

/* --- FUSE: one file, "f", of STALL_FUSE_SIZE bytes ------------------- */

#define STALL_FUSE_INO		2

static inline void stall_fuse_attr(struct fuse_attr *a, __u64 ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0666;
	a->nlink = ino == FUSE_ROOT_ID ? 2 : 1;
	a->size = ino == FUSE_ROOT_ID ? 0 : STALL_FUSE_SIZE;
	a->blocks = a->size / 512;
	a->blksize = PG;
}

static inline void stall_fuse_reply(struct stall *st, __u64 unique, int err,
				    const void *data, size_t len)
{
	struct fuse_out_header h = {
		.len = sizeof(h) + (err ? 0 : len), .error = err,
		.unique = unique,
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };

	writev(st->fuse_fd, iov, err ? 1 : 2);
}

static inline void stall_fuse_answer_read(struct stall *st, __u64 unique,
					  __u32 size)
{
	unsigned char *data = malloc((size + PG - 1) / PG * PG);

	stall_fill(st, data, size);
	stall_fuse_reply(st, unique, 0, data, size);
	free(data);
}

static inline void stall_fuse_request(struct stall *st, unsigned char *req)
{
	struct fuse_in_header *in = (void *)req;
	void *arg = req + sizeof(*in);
	union {
		struct fuse_init_out init;
		struct fuse_entry_out entry;
		struct fuse_attr_out attr;
		struct fuse_open_out open;
		struct fuse_statfs_out statfs;
	} out;
	__u64 one = 1;

	memset(&out, 0, sizeof(out));
	switch (in->opcode) {
	case FUSE_INIT: {
		struct fuse_init_in *ii = arg;

		out.init.major = FUSE_KERNEL_VERSION;
		out.init.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
				 ii->minor : FUSE_KERNEL_MINOR_VERSION;
		out.init.max_readahead = ii->max_readahead;
		/* The faulting task then waits on the page, killably. */
		out.init.flags = FUSE_ASYNC_READ;
		out.init.max_write = PG;
		stall_fuse_reply(st, in->unique, 0, &out.init, sizeof(out.init));
		break;
	}
	case FUSE_LOOKUP:
		if (strcmp(arg, "f")) {
			stall_fuse_reply(st, in->unique, -ENOENT, NULL, 0);
			break;
		}
		out.entry.nodeid = STALL_FUSE_INO;
		out.entry.generation = 1;
		out.entry.entry_valid = 3600;
		out.entry.attr_valid = 3600;
		stall_fuse_attr(&out.entry.attr, STALL_FUSE_INO);
		stall_fuse_reply(st, in->unique, 0, &out.entry,
				 sizeof(out.entry));
		break;
	case FUSE_GETATTR:
		out.attr.attr_valid = 3600;
		stall_fuse_attr(&out.attr.attr, in->nodeid);
		stall_fuse_reply(st, in->unique, 0, &out.attr, sizeof(out.attr));
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		out.open.fh = 1;
		stall_fuse_reply(st, in->unique, 0, &out.open, sizeof(out.open));
		break;
	case FUSE_READ: {
		struct fuse_read_in *ri = arg;

		pthread_mutex_lock(&st->lock);
		if (!st->released && st->nheld < 64) {
			/* unique and size: answered at release */
			st->held[st->nheld++] = in->unique << 32 >> 32 |
						(__u64)ri->size << 32;
			pthread_mutex_unlock(&st->lock);
			write(st->pending_efd, &one, sizeof(one));
			break;
		}
		pthread_mutex_unlock(&st->lock);
		stall_fuse_answer_read(st, in->unique, ri->size);
		break;
	}
	case FUSE_STATFS:
		stall_fuse_reply(st, in->unique, 0, &out.statfs,
				 sizeof(out.statfs));
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:	/* the held READ stays held */
		break;
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_ACCESS:
		stall_fuse_reply(st, in->unique, 0, NULL, 0);
		break;
	default:
		stall_fuse_reply(st, in->unique, -ENOSYS, NULL, 0);
	}
}

static inline void *stall_fuse_server(void *arg)
{
	size_t size = FUSE_MIN_READ_BUFFER + (1 << 20);
	struct stall *st = arg;
	unsigned char *req = malloc(size);

	for (;;) {
		struct pollfd p[2] = {
			{ st->fuse_fd, POLLIN, 0 }, { st->stop_efd, POLLIN, 0 },
		};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(st->fuse_fd, req, size) < (ssize_t)sizeof(struct fuse_in_header))
			continue;
		stall_fuse_request(st, req);
	}
	free(req);
	return NULL;
}

/*
 * Unique ids fit in 32 bits here: the kernel counts them from 1 per
 * connection, and a test makes a few hundred requests.
 */
static inline void stall_fuse_release(struct stall *st)
{
	unsigned int i;

	pthread_mutex_lock(&st->lock);
	st->released = true;
	for (i = 0; i < st->nheld; i++)
		stall_fuse_answer_read(st, st->held[i] & 0xffffffffu,
				       st->held[i] >> 32);
	st->nheld = 0;
	pthread_mutex_unlock(&st->lock);
}

static inline int stall_fuse_mount(struct stall *st)
{
	char opts[128], path[96];

	pthread_mutex_init(&st->lock, NULL);
	st->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (st->fuse_fd < 0)
		return -1;
	st->stop_efd = eventfd(0, EFD_CLOEXEC);
	st->pending_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	strcpy(st->mnt, "/tmp/vmmem-fuse.XXXXXX");
	if (!mkdtemp(st->mnt))
		return -1;
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 st->fuse_fd);
	if (mount("vmmem-stall", st->mnt, "fuse.vmmem-stall",
		  MS_NOSUID | MS_NODEV, opts))
		return -1;
	st->mounted = true;
	if (pthread_create(&st->server, NULL, stall_fuse_server, st))
		return -1;
	st->serving = true;
	snprintf(path, sizeof(path), "%s/f", st->mnt);
	st->file_fd = open(path, O_RDWR | O_CLOEXEC);
	return st->file_fd < 0 ? -1 : 0;
}

/* --- the common interface --------------------------------------------- */

/* @len bytes that stall at their first access; 0 or -1 (errno). */
static inline int stall_init(struct stall *st, enum stall_kind kind,
			     size_t len, unsigned char fill)
{
	const void *content = st->content;

	memset(st, 0, sizeof(*st));
	st->content = content;
	st->kind = kind;
	st->len = len;
	st->fill = fill;
	st->uffd = st->fuse_fd = st->file_fd = -1;
	st->stop_efd = st->pending_efd = -1;
	if (kind != STALL_FUSE)
		return stall_uffd_init(st);
	if (len > STALL_FUSE_SIZE || stall_fuse_mount(st))
		return -1;
	st->buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       st->file_fd, 0);
	if (st->buf == MAP_FAILED) {
		st->buf = NULL;
		return -1;
	}
	return 0;
}

/* 0 once an access is waiting (up to @ms), else -1. */
static inline int stall_wait(struct stall *st, int ms)
{
	struct pollfd p = { st->kind == STALL_FUSE ? st->pending_efd : st->uffd,
			    POLLIN, 0 };

	return poll(&p, 1, ms) == 1 ? 0 : -1;
}

static inline void stall_release(struct stall *st)
{
	if (st->kind == STALL_FUSE)
		stall_fuse_release(st);
	else
		stall_uffd_release(st);
}

static inline void stall_fini(struct stall *st)
{
	__u64 one = 1;

	if (st->buf)
		munmap(st->buf, st->len);
	if (st->kind == STALL_FUSE && st->fuse_fd >= 0) {
		if (st->file_fd >= 0)
			close(st->file_fd);
		if (st->serving) {
			write(st->stop_efd, &one, sizeof(one));
			pthread_join(st->server, NULL);
		}
		if (st->mounted)
			umount2(st->mnt, MNT_DETACH);
		rmdir(st->mnt);
		/* The last close aborts whatever request is left. */
		close(st->fuse_fd);
		close(st->stop_efd);
		close(st->pending_efd);
	}
	if (st->uffd >= 0)
		close(st->uffd);
}

/* --- a write through a pin, held ---------------------------------------- */

/*
 * process_vm_writev() of one page from stalled memory to @dst, in a thread
 * of its own: the kernel pins the target page first, then waits on the
 * source. stall_pin() returns once the page is pinned; stall_unpin() lets
 * the write land and the pin go, and returns what the call returned.
 */
struct stall_pin {
	struct stall st;
	void *dst;
	ssize_t ret;
	pthread_t th;
	bool running;
};

static inline void *stall_pin_run(void *arg)
{
	struct stall_pin *p = arg;
	struct iovec l = { p->st.buf, PG }, r = { p->dst, PG };

	p->ret = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	return NULL;
}

/* Pins the page at @dst, to be written with @fill: 0 once pinned, or -1. */
static inline int stall_pin(struct stall_pin *p, void *dst, unsigned char fill)
{
	p->running = false;
	p->st.content = NULL;
	if (stall_init(&p->st, STALL_UFFD, PG, fill))
		return -1;
	p->dst = dst;
	if (pthread_create(&p->th, NULL, stall_pin_run, p)) {
		stall_fini(&p->st);
		return -1;
	}
	p->running = true;
	/* The target is pinned before the source is read. */
	return stall_wait(&p->st, 10000);
}

static inline ssize_t stall_unpin(struct stall_pin *p)
{
	if (!p->running)
		return -1;
	stall_release(&p->st);
	pthread_join(p->th, NULL);
	p->running = false;
	stall_fini(&p->st);
	return p->ret;
}

#endif /* VMMEM_STALL_H */
