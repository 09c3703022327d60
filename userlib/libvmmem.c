// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvmmem - userspace access to guest physical memory through /dev/vmmem.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmmem.h"

#define VMMEM_DEFAULT_DEV	"/dev/vmmem"

/* Attempts of a cache miss that races with region removal. */
#define VMMEM_MISS_TRIES	16

/* Slices per VMMEM_TRANSLATE call where the library walks a range. */
#define VMMEM_WALK_SLICES	16

/* One cached host view of a region. */
struct vmmem_map {
	uint64_t gpa;
	uint64_t size;
	void *host;		/* our mmap(), or the region's user_addr */
	uint64_t mmap_offset;	/* with the fields below: the region's identity */
	uint64_t user_addr;
	uint32_t id;
	uint32_t flags;
	bool mapped;		/* host came from mmap(): unmap it on drop */
};

/* A mapping of a region removed behind the library's back. */
struct vmmem_retired {
	void *host;
	size_t size;
};

struct vmmem {
	int fd;
	/* Read-locked for cache lookups; write-locked to fill or drop. */
	pthread_rwlock_t lock;
	struct vmmem_map *maps;	/* sorted by gpa, never overlapping */
	unsigned int nr_maps;
	unsigned int cap_maps;
	/* The table generation the cache agrees with, once gen_valid. */
	uint64_t gen;
	bool gen_valid;
	/* Unmapped at vmmem_close() only: pointers into them may be held. */
	struct vmmem_retired *retired;
	unsigned int nr_retired;
	unsigned int cap_retired;
};

/* The ioctl's return value, or -errno: never -1 with errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

int vmmem_open_path(const char *path, struct vmmem **out)
{
	struct vmmem *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	ret = pthread_rwlock_init(&vm->lock, NULL);
	if (ret) {
		free(vm);
		return -ret;
	}
	vm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (vm->fd < 0) {
		ret = -errno;
		pthread_rwlock_destroy(&vm->lock);
		free(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

int vmmem_open(struct vmmem **out)
{
	/* secure_getenv: a set-user-ID VMM must not open a caller's path. */
	const char *path = secure_getenv("VMMEM_DEV");

	return vmmem_open_path(path && *path ? path : VMMEM_DEFAULT_DEV, out);
}

static void drop_map(struct vmmem_map *m)
{
	if (m->mapped)
		munmap(m->host, m->size);
}

void vmmem_close(struct vmmem *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; i < vm->nr_maps; i++)
		drop_map(&vm->maps[i]);
	free(vm->maps);
	for (i = 0; i < vm->nr_retired; i++)
		munmap(vm->retired[i].host, vm->retired[i].size);
	free(vm->retired);
	close(vm->fd);
	pthread_rwlock_destroy(&vm->lock);
	free(vm);
}

int vmmem_fd(struct vmmem *vm)
{
	return vm->fd;
}

int vmmem_api_version(struct vmmem *vm)
{
	return xioctl(vm->fd, VMMEM_GET_API_VERSION, NULL);
}

int vmmem_add_region(struct vmmem *vm, uint64_t gpa, uint64_t size,
		     void *user_addr, uint32_t flags,
		     struct vmmem_region_info *out)
{
	struct vmmem_region_add add = {
		.guest_addr = gpa,
		.size = size,
		.user_addr = (uintptr_t)user_addr,
		.flags = flags,
	};
	int ret;

	ret = xioctl(vm->fd, VMMEM_ADD_REGION, &add);
	if (ret < 0)
		return ret;
	if (out) {
		memset(out, 0, sizeof(*out));
		out->guest_addr = gpa;
		out->size = size;
		out->user_addr = add.user_addr;
		out->mmap_offset = add.mmap_offset;
		out->id = add.id;
		out->flags = flags;
		out->backing = user_addr ? VMMEM_BACKING_USER :
					   VMMEM_BACKING_KERNEL;
	}
	return 0;
}

/* Drop the cached maps that match; called with the write lock held. */
static void drop_maps(struct vmmem *vm, bool by_id, uint32_t id,
		      uint64_t gpa, uint64_t size)
{
	unsigned int i, j;

	for (i = j = 0; i < vm->nr_maps; i++) {
		struct vmmem_map *m = &vm->maps[i];
		bool hit = by_id ? m->id == id :
			   m->gpa < gpa + size && gpa < m->gpa + m->size;

		if (hit)
			drop_map(m);
		else
			vm->maps[j++] = *m;
	}
	vm->nr_maps = j;
}

static int remove_region(struct vmmem *vm, struct vmmem_region_remove *rm)
{
	bool by_addr = rm->flags & VMMEM_REMOVE_BY_ADDR;
	int ret;

	/*
	 * Hold the write lock across the ioctl so that no lookup can map
	 * the region between its removal and the drop of its cache entry.
	 */
	pthread_rwlock_wrlock(&vm->lock);
	ret = xioctl(vm->fd, VMMEM_REMOVE_REGION, rm);
	/* -ENOENT for an id: a cache entry with that id is stale anyway. */
	if (ret == 0 || (ret == -ENOENT && !by_addr))
		drop_maps(vm, !by_addr, rm->id, rm->guest_addr, rm->size);
	pthread_rwlock_unlock(&vm->lock);
	return ret;
}

int vmmem_remove_region(struct vmmem *vm, uint32_t id)
{
	struct vmmem_region_remove rm = { .id = id };

	return remove_region(vm, &rm);
}

int vmmem_remove_region_at(struct vmmem *vm, uint64_t gpa, uint64_t size)
{
	struct vmmem_region_remove rm = {
		.flags = VMMEM_REMOVE_BY_ADDR,
		.guest_addr = gpa,
		.size = size,
	};

	return remove_region(vm, &rm);
}

int vmmem_regions(struct vmmem *vm, struct vmmem_region_info *buf,
		  unsigned int cap)
{
	struct vmmem_region_info dummy;
	bool query = !buf || !cap;
	struct vmmem_region_list list = {
		/* A valid pointer even when nothing is to be copied. */
		.regions = (uintptr_t)(query ? &dummy : buf),
		.count = query ? 0 : cap,
	};
	int ret;

	ret = xioctl(vm->fd, VMMEM_LIST_REGIONS, &list);
	/* With nothing to copy into, -E2BIG answers "how many". */
	if (ret < 0 && !(ret == -E2BIG && query))
		return ret;
	return list.count;
}

/* A malloc()ed snapshot of all regions in *out, their number returned. */
static int snapshot(struct vmmem *vm, struct vmmem_region_info **out)
{
	struct vmmem_region_info *buf;
	int n, ret;

	for (;;) {
		n = vmmem_regions(vm, NULL, 0);
		if (n <= 0) {
			*out = NULL;
			return n;
		}
		buf = calloc(n, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
		ret = vmmem_regions(vm, buf, n);
		if (ret >= 0) {
			*out = buf;
			return ret;
		}
		free(buf);
		/* A region was added between the calls: count again. */
		if (ret != -E2BIG)
			return ret;
	}
}

int vmmem_for_each_region(struct vmmem *vm, vmmem_region_cb cb, void *arg)
{
	struct vmmem_region_info *regions;
	int i, n, ret = 0;

	n = snapshot(vm, &regions);
	if (n < 0)
		return n;
	for (i = 0; i < n && !ret; i++)
		ret = cb(&regions[i], arg);
	free(regions);
	return ret;
}

int vmmem_find_region(struct vmmem *vm, uint64_t gpa,
		      struct vmmem_region_info *out)
{
	struct vmmem_region_find find = { .guest_addr = gpa };
	int ret;

	ret = xioctl(vm->fd, VMMEM_FIND_REGION, &find);
	if (ret < 0)
		return ret;
	*out = find.region;
	return 0;
}

static int do_io(struct vmmem *vm, unsigned long req, uint64_t gpa,
		 const void *buf, size_t len, uint32_t flags, size_t *done)
{
	struct vmmem_io io = {
		.guest_addr = gpa,
		.user_addr = (uintptr_t)buf,
		.len = len,
		.flags = flags,
	};
	int ret;

	ret = xioctl(vm->fd, req, &io);
	if (done)
		*done = io.done;
	return ret < 0 ? ret : 0;
}

ssize_t vmmem_read(struct vmmem *vm, uint64_t gpa, void *buf, size_t len)
{
	size_t done;
	int ret;

	/* Short reads are allowed, so clamp rather than fail, as read(2). */
	ret = do_io(vm, VMMEM_READ, gpa, buf, len < SSIZE_MAX ? len : SSIZE_MAX,
		    0, &done);
	return ret < 0 ? ret : (ssize_t)done;
}

ssize_t vmmem_write(struct vmmem *vm, uint64_t gpa, const void *buf,
		    size_t len)
{
	size_t done;
	int ret;

	ret = do_io(vm, VMMEM_WRITE, gpa, buf,
		    len < SSIZE_MAX ? len : SSIZE_MAX, 0, &done);
	return ret < 0 ? ret : (ssize_t)done;
}

int vmmem_read_exact(struct vmmem *vm, uint64_t gpa, void *buf, size_t len,
		     size_t *done)
{
	return do_io(vm, VMMEM_READ, gpa, buf, len, VMMEM_IO_EXACT, done);
}

int vmmem_write_exact(struct vmmem *vm, uint64_t gpa, const void *buf,
		      size_t len, size_t *done)
{
	return do_io(vm, VMMEM_WRITE, gpa, buf, len, VMMEM_IO_EXACT, done);
}

int vmmem_io_batch(struct vmmem *vm, struct vmmem_io *ops, unsigned int count,
		   unsigned int *done_ops)
{
	struct vmmem_io_batch batch = {
		.ops = (uintptr_t)ops,
		.count = count,
	};
	int ret;

	ret = xioctl(vm->fd, VMMEM_IO_BATCH, &batch);
	if (done_ops)
		*done_ops = batch.done_ops;
	return ret < 0 ? ret : 0;
}

bool vmmem_check_range(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	struct vmmem_region_info r;
	uint64_t last;

	if (!len)
		return true;
	/* A last byte past 2^64 - 1 cannot be backed. */
	if (len - 1 > UINT64_MAX - gpa)
		return false;
	last = gpa + len - 1;
	/* Walk adjacent regions; region ends are representable. */
	for (;;) {
		if (vmmem_find_region(vm, gpa, &r))
			return false;
		gpa = r.guest_addr + r.size;
		if (last < gpa)
			return true;
	}
}

int vmmem_last_addr(struct vmmem *vm, uint64_t *out)
{
	struct vmmem_region_info *regions;
	int n;

	n = snapshot(vm, &regions);
	if (n < 0)
		return n;
	if (!n)
		return -ENXIO;
	*out = regions[n - 1].guest_addr + regions[n - 1].size - 1;
	free(regions);
	return 0;
}

bool vmmem_address_in_range(struct vmmem *vm, uint64_t gpa)
{
	struct vmmem_region_info r;

	return vmmem_find_region(vm, gpa, &r) == 0;
}

/* Index of the first map with gpa > @gpa; called with the lock held. */
static unsigned int upper_bound(struct vmmem *vm, uint64_t gpa)
{
	unsigned int lo = 0, hi = vm->nr_maps;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (vm->maps[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct vmmem_map *lookup(struct vmmem *vm, uint64_t gpa)
{
	unsigned int i = upper_bound(vm, gpa);
	struct vmmem_map *m;

	if (!i)
		return NULL;
	m = &vm->maps[i - 1];
	return gpa - m->gpa < m->size ? m : NULL;
}

/* Find, map and cache the region that holds @gpa; write lock held. */
static int map_region(struct vmmem *vm, uint64_t gpa, struct vmmem_map **out)
{
	struct vmmem_region_info r;
	struct vmmem_map m = { 0 };
	unsigned int i;
	int ret, prot;

	ret = vmmem_find_region(vm, gpa, &r);
	if (ret)
		return ret;
	if (r.size > SIZE_MAX)
		return -EOVERFLOW;
	m.gpa = r.guest_addr;
	m.size = r.size;
	m.id = r.id;
	if (r.backing == VMMEM_BACKING_USER) {
		if (r.user_addr > UINTPTR_MAX)
			return -EOVERFLOW;
		m.host = (void *)(uintptr_t)r.user_addr;
	} else {
		if (r.mmap_offset == VMMEM_NO_MMAP)
			return -ENODEV;
		if (r.mmap_offset > INT64_MAX)
			return -EOVERFLOW;
		prot = PROT_READ;
		if (!(r.flags & VMMEM_REGION_READONLY))
			prot |= PROT_WRITE;
		m.host = mmap(NULL, r.size, prot, MAP_SHARED, vm->fd,
			      (off_t)r.mmap_offset);
		if (m.host == MAP_FAILED)
			return -errno;
		m.mapped = true;
	}

	/*
	 * Entries overlapping a region the kernel just reported belong to
	 * regions removed behind the library's back: drop them.
	 */
	drop_maps(vm, false, 0, m.gpa, m.size);
	if (vm->nr_maps == vm->cap_maps) {
		unsigned int cap = vm->cap_maps ? 2 * vm->cap_maps : 16;
		struct vmmem_map *maps;

		maps = reallocarray(vm->maps, cap, sizeof(*maps));
		if (!maps) {
			drop_map(&m);
			return -ENOMEM;
		}
		vm->maps = maps;
		vm->cap_maps = cap;
	}
	i = upper_bound(vm, m.gpa);
	memmove(&vm->maps[i + 1], &vm->maps[i],
		(vm->nr_maps - i) * sizeof(*vm->maps));
	vm->maps[i] = m;
	vm->nr_maps++;
	*out = &vm->maps[i];
	return 0;
}

int vmmem_get_host_address(struct vmmem *vm, uint64_t gpa, void **host,
			   size_t *contig_len)
{
	struct vmmem_map *m;
	int ret = 0;

	pthread_rwlock_rdlock(&vm->lock);
	m = lookup(vm, gpa);
	if (!m) {
		/* Upgrade; another thread may have mapped it meanwhile. */
		pthread_rwlock_unlock(&vm->lock);
		pthread_rwlock_wrlock(&vm->lock);
		m = lookup(vm, gpa);
		if (!m)
			ret = map_region(vm, gpa, &m);
	}
	if (!ret) {
		*host = (char *)m->host + (gpa - m->gpa);
		if (contig_len)
			*contig_len = m->size - (gpa - m->gpa);
	}
	pthread_rwlock_unlock(&vm->lock);
	return ret;
}
