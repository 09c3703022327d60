// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A host-only stand-in for the vmmem module, to test the library and the
 * demo where the module cannot be loaded. It interposes ioctl() and keeps
 * one guest address space in this process. Kernel-backed regions live in a
 * memfd that VMMEM_DEV names through /proc/self/fd, so the library's real
 * mmap() of a region works unchanged. It follows <linux/vmmem.h> closely
 * enough to test the library, no further (no mmap() checks, one address
 * space for all opens).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/vmmem.h>
#include "mock.h"

#define MOCK_MAX_REGIONS	64

struct mock_region {
	struct vmmem_region_info info;
	char *host;		/* our view of the memfd, or user_addr */
};

static pthread_mutex_t mock_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mock_region regions[MOCK_MAX_REGIONS];	/* by guest_addr */
static unsigned int nr_regions;
static uint32_t next_id = 1;
static uint64_t next_off;	/* next free mmap offset in the memfd */
static uint64_t generation;
static unsigned long counts[_IOC_NRMASK + 1];
static int memfd = -1;
static struct stat memfd_st;

__attribute__((constructor)) static void mock_init(void)
{
	char path[64];

	memfd = memfd_create("vmmem-mock", MFD_CLOEXEC);
	if (memfd < 0 || fstat(memfd, &memfd_st)) {
		perror("vmmem mock: memfd");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	setenv("VMMEM_DEV", path, 1);
}

static struct mock_region *find(uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < nr_regions; i++)
		if (gpa - regions[i].info.guest_addr < regions[i].info.size)
			return &regions[i];
	return NULL;
}

static void del(unsigned int i)
{
	if (regions[i].info.backing == VMMEM_BACKING_KERNEL)
		munmap(regions[i].host, regions[i].info.size);
	memmove(&regions[i], &regions[i + 1],
		(nr_regions - i - 1) * sizeof(regions[0]));
	nr_regions--;
	generation++;
}

void mock_reset(void)
{
	pthread_mutex_lock(&mock_lock);
	while (nr_regions)
		del(nr_regions - 1);
	pthread_mutex_unlock(&mock_lock);
}

unsigned long mock_ioctl_count(unsigned int nr)
{
	return nr <= _IOC_NRMASK ? counts[nr] : 0;
}

static int add(struct vmmem_region_add *a)
{
	uint64_t page = sysconf(_SC_PAGESIZE);
	struct mock_region m = { 0 };
	unsigned int i;

	if (a->flags & ~VMMEM_REGION_FLAGS || a->reserved[0] || a->reserved[1])
		return -EINVAL;
	if (!a->size || (a->guest_addr | a->size | a->user_addr) & (page - 1))
		return -EINVAL;
	if (a->size > UINT64_MAX - a->guest_addr ||
	    (a->user_addr && a->size > UINT64_MAX - a->user_addr))
		return -EOVERFLOW;
	for (i = 0; i < nr_regions; i++)
		if (regions[i].info.guest_addr < a->guest_addr + a->size &&
		    a->guest_addr < regions[i].info.guest_addr +
				    regions[i].info.size)
			return -EEXIST;
	if (nr_regions == MOCK_MAX_REGIONS)
		return -ENOSPC;

	m.info.guest_addr = a->guest_addr;
	m.info.size = a->size;
	m.info.user_addr = a->user_addr;
	m.info.flags = a->flags;
	if (a->user_addr) {
		m.info.backing = VMMEM_BACKING_USER;
		m.info.mmap_offset = VMMEM_NO_MMAP;
		m.host = (char *)(uintptr_t)a->user_addr;
	} else {
		m.info.backing = VMMEM_BACKING_KERNEL;
		m.info.mmap_offset = next_off;
		if (ftruncate(memfd, next_off + a->size))
			return -ENOMEM;
		m.host = mmap(NULL, a->size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, memfd, next_off);
		if (m.host == MAP_FAILED)
			return -ENOMEM;
		/* Zeroed, as the module's; forked tests share the memfd. */
		memset(m.host, 0, a->size);
		next_off += a->size;
	}
	m.info.id = next_id++;

	for (i = 0; i < nr_regions; i++)
		if (regions[i].info.guest_addr > a->guest_addr)
			break;
	memmove(&regions[i + 1], &regions[i],
		(nr_regions - i) * sizeof(regions[0]));
	regions[i] = m;
	nr_regions++;
	generation++;
	a->id = m.info.id;
	a->mmap_offset = m.info.mmap_offset;
	return 0;
}

static int remove_region(struct vmmem_region_remove *rm)
{
	bool by_addr = rm->flags & VMMEM_REMOVE_BY_ADDR;
	unsigned int i;

	if (rm->flags & ~VMMEM_REMOVE_FLAGS || rm->reserved)
		return -EINVAL;
	if (by_addr ? rm->id != 0 : rm->guest_addr || rm->size)
		return -EINVAL;
	for (i = 0; i < nr_regions; i++) {
		struct vmmem_region_info *r = &regions[i].info;

		if (by_addr ? r->guest_addr == rm->guest_addr &&
			      r->size == rm->size : r->id == rm->id) {
			del(i);
			return 0;
		}
	}
	return -ENOENT;
}

static int list(struct vmmem_region_list *l)
{
	struct vmmem_region_info *out = (void *)(uintptr_t)l->regions;
	unsigned int i;

	if (l->flags || l->reserved)
		return -EINVAL;
	l->generation = generation;
	if (l->count < nr_regions) {
		l->count = nr_regions;
		return -E2BIG;
	}
	for (i = 0; i < nr_regions; i++)
		out[i] = regions[i].info;
	l->count = nr_regions;
	return 0;
}

static int find_region(struct vmmem_region_find *f)
{
	struct mock_region *r;

	if (f->reserved)
		return -EINVAL;
	r = find(f->guest_addr);
	if (!r)
		return -ENXIO;
	f->region = r->info;
	return 0;
}

static int io(struct vmmem_io *io, bool write, uint32_t allowed)
{
	char *buf = (char *)(uintptr_t)io->user_addr;
	bool exact = io->flags & VMMEM_IO_EXACT;
	uint64_t gpa = io->guest_addr, left = io->len;
	struct mock_region *r;

	if (io->flags & ~allowed || io->reserved)
		return -EINVAL;
	io->done = 0;
	while (left && (r = find(gpa))) {
		uint64_t off = gpa - r->info.guest_addr;
		uint64_t n = r->info.size - off < left ? r->info.size - off : left;

		if (write && r->info.flags & VMMEM_REGION_READONLY) {
			if (!io->done || exact)
				return -EACCES;
			return 0;
		}
		if (write)
			memcpy(r->host + off, buf + io->done, n);
		else
			memcpy(buf + io->done, r->host + off, n);
		io->done += n;
		gpa += n;
		left -= n;
	}
	if (left && !io->done)
		return -ENXIO;
	return left && exact ? -ERANGE : 0;
}

static int batch(struct vmmem_io_batch *b)
{
	struct vmmem_io *ops = (void *)(uintptr_t)b->ops;
	unsigned int i;
	int ret;

	if (b->flags || b->reserved || b->count > VMMEM_IO_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < b->count; i++) {
		ret = io(&ops[i], ops[i].flags & VMMEM_IO_WRITE,
			 VMMEM_IO_BATCH_OP_FLAGS);
		if (ret) {
			b->done_ops = i;
			return ret;
		}
	}
	b->done_ops = b->count;
	return 0;
}

/* Bytes backed (and writable if @write) from @gpa, at most @len. */
static uint64_t backed(uint64_t gpa, uint64_t len, bool write, int *stop)
{
	uint64_t done = 0;
	struct mock_region *r;

	*stop = 0;
	while (done < len) {
		r = find(gpa + done);
		if (!r) {
			*stop = -ENXIO;
			break;
		}
		if (write && r->info.flags & VMMEM_REGION_READONLY) {
			*stop = -EACCES;
			break;
		}
		done += r->info.guest_addr + r->info.size - (gpa + done) <
			len - done ?
			r->info.guest_addr + r->info.size - (gpa + done) :
			len - done;
	}
	return done;
}

static char *host_of(uint64_t gpa)
{
	struct mock_region *r = find(gpa);

	return r ? r->host + (gpa - r->info.guest_addr) : NULL;
}

static int atomic(struct vmmem_atomic *a)
{
	uint64_t mask = a->size == 8 ? ~0ULL : (1ULL << (a->size * 8)) - 1;
	struct mock_region *r;
	uint64_t old = 0;
	void *p;

	if (a->reserved || a->op < VMMEM_ATOMIC_LOAD ||
	    a->op > VMMEM_ATOMIC_FETCH_ADD || a->order > VMMEM_ORDER_SEQ_CST)
		return -EINVAL;
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
		return -EINVAL;
	if ((a->op == VMMEM_ATOMIC_LOAD && a->order == VMMEM_ORDER_RELEASE) ||
	    (a->op == VMMEM_ATOMIC_STORE && a->order == VMMEM_ORDER_ACQUIRE))
		return -EINVAL;
	if ((a->op == VMMEM_ATOMIC_LOAD && a->value) ||
	    (a->op != VMMEM_ATOMIC_CMPXCHG && a->expected) ||
	    (a->value & ~mask) || (a->expected & ~mask))
		return -EINVAL;
	/* the module's order: no memory before misalignment */
	r = find(a->guest_addr);
	if (!r)
		return -ENXIO;
	if (a->guest_addr % a->size)
		return -EINVAL;
	if (a->op != VMMEM_ATOMIC_LOAD && r->info.flags & VMMEM_REGION_READONLY)
		return -EACCES;
	p = r->host + (a->guest_addr - r->info.guest_addr);

#define MOCK_ATOMIC(type) do {						\
	type *q = p, e = a->expected;					\
	switch (a->op) {						\
	case VMMEM_ATOMIC_LOAD:						\
		old = __atomic_load_n(q, __ATOMIC_SEQ_CST);		\
		break;							\
	case VMMEM_ATOMIC_STORE:					\
		__atomic_store_n(q, (type)a->value, __ATOMIC_SEQ_CST);	\
		break;							\
	case VMMEM_ATOMIC_CMPXCHG:					\
		__atomic_compare_exchange_n(q, &e, (type)a->value, 0,	\
			__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);		\
		old = e;						\
		break;							\
	default:							\
		old = __atomic_fetch_add(q, (type)a->value,		\
					 __ATOMIC_SEQ_CST);		\
	}								\
} while (0)

	switch (a->size) {
	case 1:
		MOCK_ATOMIC(uint8_t);
		break;
	case 2:
		MOCK_ATOMIC(uint16_t);
		break;
	case 4:
		MOCK_ATOMIC(uint32_t);
		break;
	default:
		MOCK_ATOMIC(uint64_t);
	}
	a->result = old;
	return 0;
}

static int copy(struct vmmem_copy *c)
{
	uint64_t todo, done;
	char *tmp;
	int ret;

	if (c->flags & ~VMMEM_IO_FLAGS || c->reserved)
		return -EINVAL;
	todo = backed(c->src_gpa, c->len, false, &ret);
	if (todo)
		todo = backed(c->dst_gpa, todo, true, &ret);
	/* Through a bounce buffer: memmove() semantics across regions. */
	tmp = malloc(todo ? todo : 1);
	if (!tmp)
		return -ENOMEM;
	for (done = 0; done < todo; done++)
		tmp[done] = *host_of(c->src_gpa + done);
	for (done = 0; done < todo; done++)
		*host_of(c->dst_gpa + done) = tmp[done];
	free(tmp);
	c->done = todo;
	if (todo == c->len)
		return 0;
	if (!todo)
		return ret;
	if (!(c->flags & VMMEM_IO_EXACT))
		return 0;
	return ret == -EACCES ? -EACCES : -ERANGE;
}

static int translate(struct vmmem_translate *t)
{
	struct vmmem_slice *out = (void *)(uintptr_t)t->slices;
	uint64_t done = 0;
	uint32_t i = 0;
	int ret = 0;

	if (t->flags || t->reserved)
		return -EINVAL;
	while (done < t->len) {
		struct mock_region *r = find(t->guest_addr + done);
		struct vmmem_slice s = { 0 };
		uint64_t off;

		if (!r) {
			ret = -ENXIO;
			break;
		}
		if (i == t->count) {
			ret = -E2BIG;
			break;
		}
		off = t->guest_addr + done - r->info.guest_addr;
		s.guest_addr = t->guest_addr + done;
		s.len = r->info.size - off < t->len - done ?
			r->info.size - off : t->len - done;
		s.region_offset = off;
		s.mmap_offset = r->info.backing == VMMEM_BACKING_USER ?
				VMMEM_NO_MMAP : r->info.mmap_offset + off;
		s.user_addr = r->info.backing == VMMEM_BACKING_USER ?
			      r->info.user_addr + off : 0;
		s.region_id = r->info.id;
		s.flags = r->info.flags;
		out[i++] = s;
		done += s.len;
	}
	t->count = i;
	t->done = done;
	return ret;
}

/* Called without mock_lock: a read may block on a pipe. */
static int fd_io(struct vmmem_fd_io *a, bool to_guest)
{
	bool exact = a->flags & VMMEM_FD_EXACT;
	int64_t pos = a->offset;
	uint64_t n, stop_len;
	ssize_t got;
	char *p;
	int stop;

	if (a->flags & ~VMMEM_FD_FLAGS || a->reserved || a->offset < -1)
		return -EINVAL;
	a->done = 0;
	if (fcntl(a->fd, F_GETFL) < 0)
		return -EBADF;
	while (a->done < a->len) {
		pthread_mutex_lock(&mock_lock);
		stop_len = backed(a->guest_addr + a->done, a->len - a->done,
				  to_guest, &stop);
		p = stop_len ? host_of(a->guest_addr + a->done) : NULL;
		if (p) {
			struct mock_region *r = find(a->guest_addr + a->done);
			uint64_t end = r->info.guest_addr + r->info.size;

			n = end - (a->guest_addr + a->done);
			if (n > stop_len)
				n = stop_len;
		}
		pthread_mutex_unlock(&mock_lock);
		if (!p) {
			stop = a->done && exact && stop == -ENXIO ? -ERANGE :
			       stop;
			return a->done && !exact ? 0 : stop;
		}
		if (to_guest)
			got = pos >= 0 ? pread(a->fd, p, n, pos) :
					 read(a->fd, p, n);
		else
			got = pos >= 0 ? pwrite(a->fd, p, n, pos) :
					 write(a->fd, p, n);
		if (got < 0) {
			int err = errno == EBADF ? -EBADF : -errno;

			return a->done && !exact ? 0 : err;
		}
		a->done += got;
		if (pos >= 0)
			pos += got;
		if (!got)
			return exact ? (to_guest ? -ENODATA : -EIO) : 0;
		if ((uint64_t)got < n && !exact)
			return 0;
	}
	return 0;
}

static int mock_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case VMMEM_GET_API_VERSION:
		return VMMEM_API_VERSION;
	case VMMEM_ADD_REGION:
		return add(arg);
	case VMMEM_REMOVE_REGION:
		return remove_region(arg);
	case VMMEM_LIST_REGIONS:
		return list(arg);
	case VMMEM_FIND_REGION:
		return find_region(arg);
	case VMMEM_READ:
		return io(arg, false, VMMEM_IO_FLAGS);
	case VMMEM_WRITE:
		return io(arg, true, VMMEM_IO_FLAGS);
	case VMMEM_IO_BATCH:
		return batch(arg);
	case VMMEM_ATOMIC:
		return atomic(arg);
	case VMMEM_COPY:
		return copy(arg);
	case VMMEM_TRANSLATE:
		return translate(arg);
	}
	return -ENOTTY;
}

/* Interposes libc's ioctl(); everything but the mock device goes through. */
int ioctl(int fd, unsigned long req, ...)
{
	struct stat st;
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(req) != VMMEM_IOCTL_MAGIC || fstat(fd, &st) ||
	    st.st_dev != memfd_st.st_dev || st.st_ino != memfd_st.st_ino)
		return syscall(SYS_ioctl, fd, req, arg);

	pthread_mutex_lock(&mock_lock);
	counts[_IOC_NR(req)]++;
	if (req == VMMEM_READ_FROM_FD || req == VMMEM_WRITE_TO_FD) {
		pthread_mutex_unlock(&mock_lock);
		ret = fd_io(arg, req == VMMEM_READ_FROM_FD);
	} else {
		ret = mock_ioctl(req, arg);
		pthread_mutex_unlock(&mock_lock);
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}
