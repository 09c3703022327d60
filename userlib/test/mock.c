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
	ret = mock_ioctl(req, arg);
	pthread_mutex_unlock(&mock_lock);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}
