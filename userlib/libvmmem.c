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
#include <sys/uio.h>
#include <unistd.h>

#include "vmmem.h"

#define VMMEM_DEFAULT_DEV	"/dev/vmmem"

/* The page the dirty log counts in: the ABI says 4096. */
#define VMMEM_PAGE		4096ULL

/* Attempts of a cache miss that races with region removal. */
#define VMMEM_MISS_TRIES	64

/* Slices per VMMEM_TRANSLATE call where the library walks a range. */
#define VMMEM_WALK_SLICES	16

/* One region of the cached table, and its host view once needed. */
struct vmmem_map {
	uint64_t gpa;
	uint64_t size;
	void *host;		/* our mmap() (lazily), or the region's user_addr */
	uint64_t mmap_offset;	/* with the fields below: the region's identity */
	uint64_t user_addr;
	uint32_t id;
	uint32_t flags;
	bool mapped;		/* host came from mmap(): unmap it on drop */
};

/*
 * A snapshot of the region table. Readers search the current one without
 * a lock; writers (under vm->lock) publish a new one instead of editing it
 * and keep the old one until vmmem_close(), so a reader never sees freed
 * memory. Only an entry's host changes in place: once, from NULL.
 */
struct vmmem_table {
	struct vmmem_table *older;	/* retired snapshots */
	unsigned int n;
	uint64_t *starts;		/* maps[i].gpa, dense for the search */
	struct vmmem_map maps[];	/* every region, sorted by gpa */
};

/* A mapping of a region removed behind the library's back. */
struct vmmem_retired {
	void *host;
	size_t size;
};

struct vmmem {
	int fd;
	/* Serialises cache fills and drops; lookups take no lock. */
	pthread_mutex_t lock;
	struct vmmem_table *table;	/* read with table_of() */
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

static struct vmmem_table *table_new(unsigned int n)
{
	struct vmmem_table *t;

	t = calloc(1, sizeof(*t) + (size_t)n * (sizeof(t->maps[0]) +
						sizeof(t->starts[0])));
	if (!t)
		return NULL;
	t->n = n;
	t->starts = (uint64_t *)&t->maps[n];
	return t;
}

int vmmem_open_path(const char *path, struct vmmem **out)
{
	struct vmmem *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->table = table_new(0);
	if (!vm->table) {
		free(vm);
		return -ENOMEM;
	}
	pthread_mutex_init(&vm->lock, NULL);
	vm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (vm->fd < 0) {
		ret = -errno;
		pthread_mutex_destroy(&vm->lock);
		free(vm->table);
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

static struct vmmem_table *table_of(struct vmmem *vm)
{
	return __atomic_load_n(&vm->table, __ATOMIC_ACQUIRE);
}

static void *host_of(struct vmmem_map *m)
{
	return __atomic_load_n(&m->host, __ATOMIC_ACQUIRE);
}

/* Makes @t current; the old snapshot is kept for readers. Lock held. */
static void table_publish(struct vmmem *vm, struct vmmem_table *t)
{
	struct vmmem_table *old = vm->table;
	unsigned int i;

	for (i = 0; i < t->n; i++)
		t->starts[i] = t->maps[i].gpa;

	__atomic_store_n(&vm->table, t, __ATOMIC_RELEASE);
	old->older = t->older;
	t->older = old;
}

void vmmem_close(struct vmmem *vm)
{
	struct vmmem_table *t, *older;
	unsigned int i;

	if (!vm)
		return;
	/* Old snapshots share the current one's mappings, or retired ones. */
	for (i = 0; i < vm->table->n; i++)
		drop_map(&vm->table->maps[i]);
	for (t = vm->table; t; t = older) {
		older = t->older;
		free(t);
	}
	for (i = 0; i < vm->nr_retired; i++)
		munmap(vm->retired[i].host, vm->retired[i].size);
	free(vm->retired);
	close(vm->fd);
	pthread_mutex_destroy(&vm->lock);
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
	struct vmmem_region_find find = { .guest_addr = gpa };
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
		/* How it was made (huge_chunks): if it is still there. */
		if (!ioctl(vm->fd, VMMEM_FIND_REGION, &find) &&
		    find.region.id == add.id)
			out->huge_chunks = find.region.huge_chunks;
	}
	return 0;
}

static void retire_map(struct vmmem *vm, struct vmmem_map *m);

/*
 * After a removal through the library (@ret its result), drop the cache
 * entries it concerns; write lock held. The removed region's own mapping
 * is unmapped now (the caller must hold no pointer into it); entries found
 * stale on the way (removed behind the library's back) are retired.
 */
static void drop_removed(struct vmmem *vm, int ret,
			 const struct vmmem_region_remove *rm)
{
	bool by_addr = rm->flags & VMMEM_REMOVE_BY_ADDR;
	struct vmmem_table *old = vm->table, *t;
	unsigned int i, j;

	t = table_new(old->n);
	if (!t) {
		/* Cannot shrink the snapshot: make the next lookup re-list. */
		vm->gen_valid = false;
		return;
	}
	for (i = j = 0; i < old->n; i++) {
		struct vmmem_map *m = &old->maps[i];
		bool exact = by_addr ? m->gpa == rm->guest_addr &&
				       m->size == rm->size : m->id == rm->id;
		bool overlap = by_addr && m->gpa - rm->guest_addr < rm->size;

		overlap = overlap || (by_addr &&
				      rm->guest_addr - m->gpa < m->size);
		if (exact && ret == 0)
			drop_map(m);
		else if (exact || overlap)
			retire_map(vm, m);
		else
			t->maps[j++] = *m;
	}
	t->n = j;
	table_publish(vm, t);
}

static int remove_region(struct vmmem *vm, struct vmmem_region_remove *rm)
{
	bool by_addr = rm->flags & VMMEM_REMOVE_BY_ADDR;
	int ret;

	/*
	 * Hold the write lock across the ioctl so that no lookup can map
	 * the region between its removal and the drop of its cache entry.
	 */
	pthread_mutex_lock(&vm->lock);
	ret = xioctl(vm->fd, VMMEM_REMOVE_REGION, rm);
	/* -ENOENT for an id: a cache entry with that id is stale anyway. */
	if (ret == 0 || (ret == -ENOENT && !by_addr))
		drop_removed(vm, ret, rm);
	pthread_mutex_unlock(&vm->lock);
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

/*
 * The entry holding @gpa in the current snapshot, or NULL; no lock. The
 * search halves a window with a conditional move instead of a branch.
 */
static inline struct vmmem_map *lookup_in(struct vmmem_table *t,
					  uint64_t gpa)
{
	const uint64_t *base = t->starts;
	unsigned int len = t->n;
	struct vmmem_map *m;

	if (!len)
		return NULL;
	while (len > 1) {
		unsigned int half = len / 2;

		base = base[half] <= gpa ? base + half : base;
		len -= half;
	}
	if (*base > gpa)
		return NULL;
	m = &t->maps[base - t->starts];
	return gpa - m->gpa < m->size ? m : NULL;
}

static inline struct vmmem_map *lookup(struct vmmem *vm, uint64_t gpa)
{
	return lookup_in(table_of(vm), gpa);
}

/* Whether cached @m is the listed region @r (ids are not reused soon). */
static bool same_region(const struct vmmem_map *m,
			const struct vmmem_region_info *r)
{
	return r && m->gpa == r->guest_addr && m->size == r->size &&
	       m->id == r->id && m->flags == r->flags &&
	       m->mmap_offset == r->mmap_offset &&
	       m->user_addr == r->user_addr;
}

/*
 * Moves a mapping to the retired list: another thread may still hold a
 * pointer into it, and the kernel keeps the pages valid while mapped.
 * Write lock held. If the list cannot grow, the mapping is leaked rather
 * than unmapped.
 */
static void retire_map(struct vmmem *vm, struct vmmem_map *m)
{
	if (!m->mapped)
		return;
	if (vm->nr_retired == vm->cap_retired) {
		unsigned int cap = vm->cap_retired ? 2 * vm->cap_retired : 16;
		struct vmmem_retired *r;

		r = reallocarray(vm->retired, cap, sizeof(*r));
		if (!r)
			return;
		vm->retired = r;
		vm->cap_retired = cap;
	}
	vm->retired[vm->nr_retired].host = m->host;
	vm->retired[vm->nr_retired].size = m->size;
	vm->nr_retired++;
}

/*
 * A malloc()ed listing of all regions and its generation, read in one
 * ioctl (retried while regions are added between the count and the copy).
 */
static int list_all(struct vmmem *vm, struct vmmem_region_info **out,
		    uint64_t *gen)
{
	struct vmmem_region_info *buf = NULL, *nbuf;
	struct vmmem_region_list list;
	unsigned int cap = 16;
	int ret;

	for (;;) {
		nbuf = reallocarray(buf, cap, sizeof(*buf));
		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		memset(&list, 0, sizeof(list));
		list.regions = (uintptr_t)buf;
		list.count = cap;
		ret = xioctl(vm->fd, VMMEM_LIST_REGIONS, &list);
		if (ret == -E2BIG && list.count > cap) {
			cap = list.count + 16;
			continue;
		}
		if (ret < 0) {
			free(buf);
			return ret;
		}
		if (list.count > INT_MAX) {
			free(buf);
			return -EOVERFLOW;
		}
		*out = buf;
		*gen = list.generation;
		return list.count;
	}
}

/* A cache entry for listed region @r, not mapped yet. */
static struct vmmem_map entry_of(const struct vmmem_region_info *r)
{
	struct vmmem_map m = {
		.gpa = r->guest_addr,
		.size = r->size,
		.mmap_offset = r->mmap_offset,
		.user_addr = r->user_addr,
		.id = r->id,
		.flags = r->flags,
	};

	if (r->backing == VMMEM_BACKING_USER)
		m.host = (void *)(uintptr_t)r->user_addr;
	return m;
}

/*
 * Makes the cache the listing of generation @gen: one entry per region, in
 * one merge of two sorted arrays. Entries of regions that still exist keep
 * their mapping; the others are retired. Write lock held.
 */
static int reconcile(struct vmmem *vm, const struct vmmem_region_info *regions,
		     unsigned int n, uint64_t gen)
{
	struct vmmem_table *old = vm->table, *t;
	unsigned int i, j = 0;

	if (vm->gen_valid && vm->gen == gen)
		return 0;
	t = table_new(n);
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct vmmem_region_info *r = &regions[i];

		while (j < old->n && old->maps[j].gpa < r->guest_addr)
			retire_map(vm, &old->maps[j++]);
		if (j < old->n && same_region(&old->maps[j], r)) {
			t->maps[i] = old->maps[j++];
			continue;
		}
		if (j < old->n && old->maps[j].gpa == r->guest_addr)
			retire_map(vm, &old->maps[j++]);
		t->maps[i] = entry_of(r);
	}
	while (j < old->n)
		retire_map(vm, &old->maps[j++]);
	table_publish(vm, t);
	vm->gen = gen;
	vm->gen_valid = true;
	return 0;
}

/* Maps cache entry @m if it has no host view yet; write lock held. */
static int map_entry(struct vmmem *vm, struct vmmem_map *m)
{
	int prot = PROT_READ;
	void *host;

	if (m->host)
		return 0;
	if (m->mmap_offset == VMMEM_NO_MMAP)
		return -ENODEV;
	if (m->mmap_offset > INT64_MAX || m->size > SIZE_MAX)
		return -EOVERFLOW;
	if (!(m->flags & VMMEM_REGION_READONLY))
		prot |= PROT_WRITE;
	host = mmap(NULL, m->size, prot, MAP_SHARED, vm->fd,
		    (off_t)m->mmap_offset);
	if (host == MAP_FAILED)
		return -errno;
	m->mapped = true;
	/* Readers may find the entry now: publish a complete mapping. */
	__atomic_store_n(&m->host, host, __ATOMIC_RELEASE);
	return 0;
}

/* The table's generation, from a listing that copies no region. */
static int table_gen(struct vmmem *vm, uint64_t *gen)
{
	struct vmmem_region_list list = { 0 };
	int ret = xioctl(vm->fd, VMMEM_LIST_REGIONS, &list);

	if (ret < 0 && ret != -E2BIG)
		return ret;
	*gen = list.generation;
	return 0;
}

/*
 * The cache miss path, write lock held: when the table's generation moved,
 * re-read it and refresh the cache; then map the region holding @gpa.
 * An unchanged table costs one ioctl, however many regions it holds.
 */
static int miss(struct vmmem *vm, uint64_t gpa, struct vmmem_map **out)
{
	struct vmmem_region_info *regions;
	uint64_t gen, failed_gen = 0;
	bool failed = false;
	struct vmmem_map *m;
	int n, ret, tries;

	for (tries = 0; tries < VMMEM_MISS_TRIES; tries++) {
		/* A cache never filled needs the listing anyway. */
		ret = vm->gen_valid ? table_gen(vm, &gen) : 0;
		if (ret < 0)
			return ret;
		if (!vm->gen_valid || gen != vm->gen) {
			n = list_all(vm, &regions, &gen);
			if (n < 0)
				return n;
			ret = reconcile(vm, regions, n, gen);
			free(regions);
			if (ret < 0)
				return ret;
		}
		/* mmap() refused a region of an unchanged table: real. */
		if (failed && gen == failed_gen)
			return -EINVAL;
		m = lookup(vm, gpa);
		if (!m)
			return -ENXIO;
		ret = map_entry(vm, m);
		/* -EINVAL from mmap(): removed since the listing? Again. */
		if (ret != -EINVAL) {
			*out = m;
			return ret;
		}
		failed = true;
		failed_gen = gen;
		vm->gen_valid = false;
	}
	return -EAGAIN;
}

/* A miss, or a region not mapped yet: under the lock. */
static __attribute__((noinline)) struct vmmem_map *
host_address_slow(struct vmmem *vm, uint64_t gpa, char **base, int *ret)
{
	struct vmmem_map *m;

	pthread_mutex_lock(&vm->lock);
	m = lookup(vm, gpa);
	*ret = !m || !m->host ? miss(vm, gpa, &m) : 0;
	if (!*ret)
		*base = m->host;
	pthread_mutex_unlock(&vm->lock);
	return m;
}

static int dirty_track(struct vmmem *vm, uint32_t op, uint64_t gpa,
		       uint64_t len)
{
	struct vmmem_dirty_track t = {
		.guest_addr = gpa, .len = len, .op = op,
	};
	int ret = xioctl(vm->fd, VMMEM_DIRTY_TRACK, &t);

	return ret < 0 ? ret : (int)t.regions;
}

int vmmem_dirty_start(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	return dirty_track(vm, VMMEM_DIRTY_START, gpa, len);
}

int vmmem_dirty_stop(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	return dirty_track(vm, VMMEM_DIRTY_STOP, gpa, len);
}

int vmmem_mark_dirty(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	uint64_t first = gpa & ~(uint64_t)(VMMEM_PAGE - 1), end;

	if (!len)
		return 0;
	if (__builtin_add_overflow(gpa, len, &end))
		return -EINVAL;
	/* the pages the bytes touch */
	end = (end + VMMEM_PAGE - 1) & ~(uint64_t)(VMMEM_PAGE - 1);
	if (!end)
		return -EINVAL;
	return dirty_track(vm, VMMEM_DIRTY_MARK, first, end - first) < 0 ?
	       -EINVAL : 0;
}

static int harvest(struct vmmem *vm, uint64_t gpa, uint64_t len, void *buf,
		   uint32_t count, uint32_t flags,
		   struct vmmem_dirty_harvest *h)
{
	*h = (struct vmmem_dirty_harvest){
		.guest_addr = gpa, .len = len, .buf = (uintptr_t)buf,
		.count = count, .flags = flags,
	};
	return xioctl(vm->fd, VMMEM_DIRTY_HARVEST, h);
}

int vmmem_dirty_at(struct vmmem *vm, uint64_t gpa)
{
	struct vmmem_dirty_harvest h;
	uint64_t bit = 0;
	int ret;

	ret = harvest(vm, gpa & ~(uint64_t)(VMMEM_PAGE - 1), VMMEM_PAGE, &bit,
		      0, VMMEM_DIRTY_PEEK, &h);
	return ret < 0 ? ret : (int)(bit & 1);
}

int64_t vmmem_get_and_reset(struct vmmem *vm, uint64_t gpa, uint64_t len,
			    uint64_t *bitmap)
{
	struct vmmem_dirty_harvest h;
	int ret = harvest(vm, gpa, len, bitmap, 0, 0, &h);

	return ret < 0 ? ret : (int64_t)h.pages;
}

int vmmem_get_and_reset_ranges(struct vmmem *vm, uint64_t gpa, uint64_t len,
			       struct vmmem_dirty_range *ranges, unsigned int n,
			       uint64_t *done)
{
	struct vmmem_dirty_harvest h;
	int ret = harvest(vm, gpa, len, ranges, n, VMMEM_DIRTY_RANGES, &h);

	if (ret < 0)
		return ret;
	if (done)
		*done = h.done;
	return (int)h.count;
}

int vmmem_share_region(struct vmmem *vm, uint64_t gpa,
		       struct vmmem_share *out)
{
	struct vmmem_region_info r;
	int ret;

	ret = vmmem_find_region(vm, gpa, &r);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->gpa = r.guest_addr;
	out->size = r.size;
	out->flags = r.flags;
	out->mmap_offset = r.mmap_offset;
	out->fd = r.backing == VMMEM_BACKING_KERNEL ? vm->fd : -1;
	return vmmem_get_host_address(vm, r.guest_addr, &out->host, NULL);
}

int vmmem_get_host_address(struct vmmem *vm, uint64_t gpa, void **host,
			   size_t *contig_len)
{
	/* The hot path is lock-free: one snapshot search, nothing else. */
	struct vmmem_map *m = lookup(vm, gpa);
	char *base = m ? host_of(m) : NULL;
	int ret;

	if (__builtin_expect(!base, 0)) {
		m = host_address_slow(vm, gpa, &base, &ret);
		if (ret)
			return ret;
	}
	*host = base + (gpa - m->gpa);
	if (contig_len)
		*contig_len = m->size - (gpa - m->gpa);
	return 0;
}

/* --- direct copies ------------------------------------------------------- */

/*
 * Copies @n bytes between guest memory at @guest and @buf. A naturally
 * aligned 1, 2, 4 or 8 byte copy is one access of that width on the guest
 * side, so that a guest never sees such a value half-written (vm-memory's
 * rule, and the kernel's in VMMEM_READ/WRITE).
 */
#define COPY_ONCE(type, guest, buf, write) do {				\
	type v_;							\
									\
	if (write) {							\
		memcpy(&v_, (buf), sizeof(v_));				\
		*(volatile type *)(guest) = v_;				\
	} else {							\
		v_ = *(volatile type *)(guest);				\
		memcpy((buf), &v_, sizeof(v_));				\
	}								\
} while (0)

static inline void copy_piece(char *guest, char *buf, size_t n, bool write)
{
	if (!((uintptr_t)guest & (n - 1))) {
		switch (n) {
		case 1:
			COPY_ONCE(uint8_t, guest, buf, write);
			return;
		case 2:
			COPY_ONCE(uint16_t, guest, buf, write);
			return;
		case 4:
			COPY_ONCE(uint32_t, guest, buf, write);
			return;
		case 8:
			COPY_ONCE(uint64_t, guest, buf, write);
			return;
		}
	}
	if (write)
		memcpy(guest, buf, n);
	else
		memcpy(buf, guest, n);
}

/*
 * VMMEM_READ/VMMEM_WRITE without the system call: through the cached
 * mappings, region by region. *@done counts the bytes copied before the
 * first unbacked (-ENXIO) or read-only (-EACCES, writes) byte, or an
 * error of the cache miss path.
 */
static int direct_io(struct vmmem *vm, uint64_t gpa, char *buf, size_t len,
		     bool write, size_t *done)
{
	struct vmmem_table *t = NULL;	/* the snapshot @m is in, if known */
	struct vmmem_map *m = NULL;
	int ret = 0;

	*done = 0;
	while (*done < len) {
		uint64_t off, n;
		char *base;

		/* A copy that runs on mostly runs into the next entry. */
		if (t && m + 1 < t->maps + t->n && m[1].gpa == gpa) {
			m++;
		} else {
			t = table_of(vm);
			m = lookup_in(t, gpa);
		}
		base = m ? host_of(m) : NULL;
		if (__builtin_expect(!base, 0)) {
			m = host_address_slow(vm, gpa, &base, &ret);
			if (ret)
				break;
			t = NULL;
		}
		if (write && (m->flags & VMMEM_REGION_READONLY)) {
			ret = -EACCES;
			break;
		}
		off = gpa - m->gpa;
		n = m->size - off;
		if (n > len - *done)
			n = len - *done;
		copy_piece(base + off, buf + *done, n, write);
		*done += n;
		/* No region reaches 2^64: this cannot wrap. */
		gpa += n;
	}
	return ret;
}

/* vmmem_read()'s result: short at a hole or a read-only region. */
static ssize_t direct_short(struct vmmem *vm, uint64_t gpa, char *buf,
			    size_t len, bool write)
{
	size_t done;
	int ret;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ret = direct_io(vm, gpa, buf, len, write, &done);
	if (done && (ret == -ENXIO || ret == -EACCES))
		return (ssize_t)done;
	return ret < 0 ? ret : (ssize_t)done;
}

/* vmmem_read_exact()'s result: -ERANGE when a hole cut it short. */
static int direct_exact(struct vmmem *vm, uint64_t gpa, char *buf, size_t len,
			bool write, size_t *done)
{
	size_t d;
	int ret = direct_io(vm, gpa, buf, len, write, &d);

	if (done)
		*done = d;
	return d && ret == -ENXIO ? -ERANGE : ret;
}

ssize_t vmmem_read_direct(struct vmmem *vm, uint64_t gpa, void *buf,
			  size_t len)
{
	return direct_short(vm, gpa, buf, len, false);
}

ssize_t vmmem_write_direct(struct vmmem *vm, uint64_t gpa, const void *buf,
			   size_t len)
{
	return direct_short(vm, gpa, (char *)buf, len, true);
}

int vmmem_read_direct_exact(struct vmmem *vm, uint64_t gpa, void *buf,
			    size_t len, size_t *done)
{
	return direct_exact(vm, gpa, buf, len, false, done);
}

int vmmem_write_direct_exact(struct vmmem *vm, uint64_t gpa, const void *buf,
			     size_t len, size_t *done)
{
	return direct_exact(vm, gpa, (char *)buf, len, true, done);
}

int vmmem_refresh(struct vmmem *vm)
{
	struct vmmem_region_info *regions;
	uint64_t gen;
	int n;

	pthread_mutex_lock(&vm->lock);
	n = list_all(vm, &regions, &gen);
	if (n >= 0) {
		n = reconcile(vm, regions, n, gen);
		free(regions);
	}
	pthread_mutex_unlock(&vm->lock);
	return n < 0 ? n : 0;
}

/* --- atomics ------------------------------------------------------------ */

static int atomic_op(struct vmmem *vm, uint32_t op, uint64_t gpa,
		     unsigned int size, uint64_t value, uint64_t expected,
		     int order, uint64_t *result)
{
	struct vmmem_atomic a = {
		.guest_addr = gpa,
		.value = value,
		.expected = expected,
		.op = op,
		.size = size,
		.order = (uint32_t)order,
	};
	int ret;

	/* A negative order would wrap to a valid-looking one: never. */
	if (order < 0)
		return -EINVAL;
	ret = xioctl(vm->fd, VMMEM_ATOMIC, &a);
	if (ret < 0)
		return ret;
	if (result)
		*result = a.result;
	return 0;
}

int vmmem_load(struct vmmem *vm, uint64_t gpa, unsigned int size, int order,
	       uint64_t *out)
{
	return atomic_op(vm, VMMEM_ATOMIC_LOAD, gpa, size, 0, 0, order, out);
}

int vmmem_store(struct vmmem *vm, uint64_t gpa, unsigned int size,
		uint64_t val, int order)
{
	return atomic_op(vm, VMMEM_ATOMIC_STORE, gpa, size, val, 0, order,
			 NULL);
}

int vmmem_compare_exchange(struct vmmem *vm, uint64_t gpa, unsigned int size,
			   uint64_t expected, uint64_t desired, uint64_t *old)
{
	return atomic_op(vm, VMMEM_ATOMIC_CMPXCHG, gpa, size, desired,
			 expected, VMMEM_ORDER_SEQ_CST, old);
}

bool vmmem_compare_exchange_bool(struct vmmem *vm, uint64_t gpa,
				 unsigned int size, uint64_t expected,
				 uint64_t desired)
{
	uint64_t old;

	return vmmem_compare_exchange(vm, gpa, size, expected, desired,
				      &old) == 0 && old == expected;
}

int vmmem_fetch_add(struct vmmem *vm, uint64_t gpa, unsigned int size,
		    uint64_t addend, uint64_t *old)
{
	return atomic_op(vm, VMMEM_ATOMIC_FETCH_ADD, gpa, size, addend, 0,
			 VMMEM_ORDER_SEQ_CST, old);
}

int vmmem_load_sized(struct vmmem *vm, uint64_t gpa, void *ptr, size_t size,
		     int order)
{
	uint64_t v;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	int ret;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	ret = vmmem_load(vm, gpa, size, order, &v);
	if (ret)
		return ret;
	/* Narrow as a value, so that the bytes come out in host order. */
	switch (size) {
	case 1:
		v8 = v;
		memcpy(ptr, &v8, 1);
		break;
	case 2:
		v16 = v;
		memcpy(ptr, &v16, 2);
		break;
	case 4:
		v32 = v;
		memcpy(ptr, &v32, 4);
		break;
	default:
		memcpy(ptr, &v, 8);
	}
	return 0;
}

int vmmem_store_sized(struct vmmem *vm, uint64_t gpa, const void *ptr,
		      size_t size, int order)
{
	uint64_t v;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	switch (size) {
	case 1:
		memcpy(&v8, ptr, 1);
		v = v8;
		break;
	case 2:
		memcpy(&v16, ptr, 2);
		v = v16;
		break;
	case 4:
		memcpy(&v32, ptr, 4);
		v = v32;
		break;
	case 8:
		memcpy(&v, ptr, 8);
		break;
	default:
		return -EINVAL;
	}
	return vmmem_store(vm, gpa, size, v, order);
}

/* --- guest-to-guest copy ------------------------------------------------ */

static int do_copy(struct vmmem *vm, uint64_t dst, uint64_t src, uint64_t len,
		   uint32_t flags, size_t *done)
{
	struct vmmem_copy c = {
		.src_gpa = src,
		.dst_gpa = dst,
		.len = len,
		.flags = flags,
	};
	int ret;

	ret = xioctl(vm->fd, VMMEM_COPY, &c);
	if (done)
		*done = c.done;
	return ret < 0 ? ret : 0;
}

ssize_t vmmem_copy_guest(struct vmmem *vm, uint64_t dst_gpa, uint64_t src_gpa,
			 size_t len)
{
	size_t done;
	int ret;

	ret = do_copy(vm, dst_gpa, src_gpa, len < SSIZE_MAX ? len : SSIZE_MAX,
		      0, &done);
	return ret < 0 ? ret : (ssize_t)done;
}

int vmmem_copy_guest_exact(struct vmmem *vm, uint64_t dst_gpa,
			   uint64_t src_gpa, size_t len, size_t *done)
{
	return do_copy(vm, dst_gpa, src_gpa, len, VMMEM_IO_EXACT, done);
}

/* --- translation -------------------------------------------------------- */

int vmmem_get_slices(struct vmmem *vm, uint64_t gpa, uint64_t len,
		     struct vmmem_slice *slices, unsigned int cap,
		     uint64_t *done)
{
	struct vmmem_translate t = {
		.guest_addr = gpa,
		.len = len,
		.slices = (uintptr_t)slices,
		/* The count is returned as an int. */
		.count = cap < INT_MAX ? cap : INT_MAX,
	};
	int ret;

	ret = xioctl(vm->fd, VMMEM_TRANSLATE, &t);
	if (done)
		*done = t.done;
	return ret < 0 ? ret : (int)t.count;
}

bool vmmem_check_range(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	struct vmmem_slice s[VMMEM_WALK_SLICES];
	uint64_t done;
	int ret;

	if (!len)
		return true;
	/* A last byte past 2^64 - 1 cannot be backed. */
	if (len - 1 > UINT64_MAX - gpa)
		return false;
	/* One ioctl for up to VMMEM_WALK_SLICES regions crossed. */
	for (;;) {
		ret = vmmem_get_slices(vm, gpa, len, s, VMMEM_WALK_SLICES,
				       &done);
		if (ret >= 0)
			return true;
		if (ret != -E2BIG || !done)
			return false;
		gpa += done;
		len -= done;
	}
}

/*
 * Host address of @s through the cache. -EAGAIN if the cache, even
 * refreshed, holds another region there: the slice is out of date.
 */
static int slice_host(struct vmmem *vm, const struct vmmem_slice *s,
		      void **host)
{
	struct vmmem_map *m;
	char *base;
	int ret = 0;

	if (s->mmap_offset == VMMEM_NO_MMAP) {
		/* User-backed: the slice's user_addr is the host address. */
		if (s->user_addr > UINTPTR_MAX)
			return -EOVERFLOW;
		*host = (void *)(uintptr_t)s->user_addr;
		return 0;
	}
	m = lookup(vm, s->guest_addr);
	base = m && m->id == s->region_id ? host_of(m) : NULL;
	if (!base) {
		pthread_mutex_lock(&vm->lock);
		m = lookup(vm, s->guest_addr);
		if (m && m->id != s->region_id) {
			/* Stale: the region was replaced behind our back. */
			vm->gen_valid = false;
			m = NULL;
		}
		if (!m || !m->host)
			ret = miss(vm, s->guest_addr, &m);
		if (!ret && m->id != s->region_id)
			ret = -EAGAIN;
		if (!ret)
			base = m->host;
		pthread_mutex_unlock(&vm->lock);
		if (ret)
			return ret;
	}
	if (s->guest_addr + s->len - m->gpa > m->size)
		return -EAGAIN;
	*host = base + (s->guest_addr - m->gpa);
	return 0;
}

/* One attempt of vmmem_get_iovecs(); -EAGAIN: a region changed. */
static int get_iovecs_once(struct vmmem *vm, uint64_t gpa, uint64_t len,
			   struct iovec *iov, unsigned int cap)
{
	struct vmmem_slice s[VMMEM_WALK_SLICES];
	unsigned int n = 0, chunk;
	uint64_t done;
	int i, k, ret;

	if (cap > INT_MAX)
		cap = INT_MAX;
	while (len) {
		if (n == cap)
			return -E2BIG;
		chunk = cap - n < VMMEM_WALK_SLICES ? cap - n :
						      VMMEM_WALK_SLICES;
		k = vmmem_get_slices(vm, gpa, len, s, chunk, &done);
		if (k < 0 && k != -E2BIG)
			return k;
		if (k == -E2BIG)	/* a full array: count the slices */
			k = chunk;
		for (i = 0; i < k; i++) {
			void *host;

			if (s[i].len > SIZE_MAX)
				return -EOVERFLOW;
			ret = slice_host(vm, &s[i], &host);
			if (ret)
				return ret;
			iov[n].iov_base = host;
			iov[n].iov_len = s[i].len;
			n++;
		}
		gpa += done;
		len -= done;
	}
	return n;
}

int vmmem_get_iovecs(struct vmmem *vm, uint64_t gpa, uint64_t len,
		     struct iovec *iov, unsigned int cap)
{
	int tries, ret = -EAGAIN;

	for (tries = 0; tries < VMMEM_MISS_TRIES && ret == -EAGAIN; tries++)
		ret = get_iovecs_once(vm, gpa, len, iov, cap);
	return ret;
}

/* --- file descriptor I/O ------------------------------------------------ */

static int fd_io(struct vmmem *vm, unsigned long req, uint64_t gpa, int fd,
		 int64_t off, uint64_t len, uint32_t flags, size_t *done)
{
	struct vmmem_fd_io io = {
		.guest_addr = gpa,
		.len = len,
		.offset = off,
		.fd = fd,
		.flags = flags,
	};
	int ret;

	ret = xioctl(vm->fd, req, &io);
	*done = io.done;
	return ret < 0 ? ret : 0;
}

/* The exact forms: continue after a signal, as vm-memory's do. */
static int fd_io_exact(struct vmmem *vm, unsigned long req, uint64_t gpa,
		       int fd, int64_t off, size_t len, size_t *done)
{
	size_t total = 0, d;
	int ret;

	for (;;) {
		ret = fd_io(vm, req, gpa + total, fd,
			    off >= 0 ? off + (int64_t)total : off, len - total,
			    VMMEM_FD_EXACT, &d);
		total += d;
		if (ret != -EINTR || total >= len)
			break;
	}
	if (done)
		*done = total;
	/* Only a signal stops an exact transfer short of success. */
	return ret == -EINTR && total == len ? 0 : ret;
}

ssize_t vmmem_read_volatile_from(struct vmmem *vm, uint64_t gpa, int fd,
				 int64_t off, size_t len)
{
	size_t done;
	int ret;

	ret = fd_io(vm, VMMEM_READ_FROM_FD, gpa, fd, off,
		    len < SSIZE_MAX ? len : SSIZE_MAX, 0, &done);
	return ret < 0 ? ret : (ssize_t)done;
}

int vmmem_read_exact_volatile_from(struct vmmem *vm, uint64_t gpa, int fd,
				   int64_t off, size_t len, size_t *done)
{
	return fd_io_exact(vm, VMMEM_READ_FROM_FD, gpa, fd, off, len, done);
}

ssize_t vmmem_write_volatile_to(struct vmmem *vm, uint64_t gpa, int fd,
				int64_t off, size_t len)
{
	size_t done;
	int ret;

	ret = fd_io(vm, VMMEM_WRITE_TO_FD, gpa, fd, off,
		    len < SSIZE_MAX ? len : SSIZE_MAX, 0, &done);
	return ret < 0 ? ret : (ssize_t)done;
}

int vmmem_write_all_volatile_to(struct vmmem *vm, uint64_t gpa, int fd,
				int64_t off, size_t len, size_t *done)
{
	return fd_io_exact(vm, VMMEM_WRITE_TO_FD, gpa, fd, off, len, done);
}
