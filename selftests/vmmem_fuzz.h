/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The random ioctl fuzzers' argument generators, shared by
 * vmmem_fuzz_test.c (one thread) and vmmem_concurrent_fuzz_test.c.
 *
 * All randomness comes from the xorshift64* state in struct fuzz, one per
 * thread or process, so that a seed reproduces each one's sequence of
 * calls. fuzz_step() makes the same number of draws whatever the kernel
 * answers, as long as f->nids does not change (the concurrent fuzzer keeps
 * ids[] full for that reason).
 *
 * Expressions that draw more than once (rand_gpa(), bad_cmd(), ...) leave
 * the order of their draws to the compiler, as they always have: keep
 * their shape, or a seed stops reproducing what it did before.
 */
#ifndef VMMEM_FUZZ_H
#define VMMEM_FUZZ_H

#include <dirent.h>

#include "vmmem_test.h"

#define NSLOT		12		/* GPAs where regions come and go */
#define SLOT_GPA(i)	(0x100000ULL * ((i) + 1))
#define ARENA		(64 * PG)	/* user buffers, region backing */
#define NCMD		15		/* GET_API_VERSION .. DIRTY_HARVEST */
#define K_BADCMD	NCMD		/* steps past the ioctls: */
#define K_MMAP		(NCMD + 1)
#define K_LSEEK		(NCMD + 2)
#define NSTEP		(NCMD + 3)
#define ERRMAX		134
#define NIDS		64
#define NOPS		16		/* ops in a batch */

struct fuzz {
	__u64 rng;			/* xorshift64* state */
	int fd, memfd, pipe_r, pipe_w, dirfd;
	unsigned char *arena;		/* ARENA bytes, read-write */
	unsigned char *args;		/* ARENA / 2 bytes: argument structs */
	unsigned char *edge;		/* last RW page; inaccessible after */
	unsigned char *none;		/* PROT_NONE page */
	unsigned char *ro;		/* read-only page */
	unsigned char *hole;		/* inaccessible */
	__u32 ids[NIDS];		/* ids seen from add */
	unsigned int nids;
	bool id_ring;			/* ids[] full: replace the oldest */
	unsigned int id_next;
	struct vmmem_io ops[NOPS];	/* batch ops */
};

/*
 * Stream 0 is the single-threaded fuzzer's seeding; others go through
 * splitmix64's finalizer, so that nearby streams are unrelated.
 */
static inline void fuzz_seed(struct fuzz *f, __u64 seed, unsigned int stream)
{
	__u64 x = seed * 0x9E3779B97F4A7C15ULL;

	if (stream) {
		x += stream * 0xBF58476D1CE4E5B9ULL;
		x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
		x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
		x ^= x >> 31;
	}
	f->rng = x | 1;
}

static inline __u64 rnd(struct fuzz *f)		/* xorshift64* */
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1DULL;
}

static inline __u64 below(struct fuzz *f, __u64 n)
{
	return n ? rnd(f) % n : 0;
}

static inline bool chance(struct fuzz *f, int pct)
{
	return below(f, 100) < (__u64)pct;
}

static const unsigned long cmds[NCMD] = {
	VMMEM_GET_API_VERSION, VMMEM_ADD_REGION, VMMEM_REMOVE_REGION,
	VMMEM_LIST_REGIONS, VMMEM_FIND_REGION, VMMEM_READ, VMMEM_WRITE,
	VMMEM_IO_BATCH, VMMEM_ATOMIC, VMMEM_COPY, VMMEM_TRANSLATE,
	VMMEM_READ_FROM_FD, VMMEM_WRITE_TO_FD, VMMEM_DIRTY_TRACK,
	VMMEM_DIRTY_HARVEST,
};

static const char *const cmd_names[NSTEP] = {
	"version", "add", "remove", "list", "find", "read", "write", "batch",
	"atomic", "copy", "translate", "read_from_fd", "write_to_fd",
	"dirty_track", "harvest", "bad_cmd", "mmap", "lseek",
};

/* Errnos each ioctl may return besides EFAULT, EINVAL, ENOMEM, EINTR. */
static const int allowed[NSTEP][10] = {
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
	[13] = { EBADF },
	[14] = { EBADF },
	[K_BADCMD] = { ENOTTY },
	[K_MMAP] = { EACCES, ENODEV, EOVERFLOW, EPERM },
	[K_LSEEK] = { ENXIO },
};

static inline __u64 rand_gpa(struct fuzz *f)
{
	static const __u64 odd[] = { 0, 1, PG - 1, TOP_GPA, TOP_LAST_BYTE,
		TOP_LAST_BYTE + 1, ~0ULL, ~0ULL - 7, 1ULL << 63, 0xffff888000000000ULL };
	__u64 g = SLOT_GPA(below(f, NSLOT));

	switch (below(f, 6)) {
	case 0:
		return odd[below(f, sizeof(odd) / sizeof(odd[0]))];
	case 1:
		return rnd(f);
	case 2:
		return g + below(f, 4) * PG - below(f, 3) * 8;	/* near edges */
	default:
		return g + below(f, 8) * PG + (chance(f, 30) ? below(f, PG) : 0);
	}
}

static inline __u64 rand_len(struct fuzz *f)
{
	static const __u64 odd[] = { 0, 1, 2, 4, 8, PG, PG + 1, 3 * PG,
		1ULL << 32, 1ULL << 40, 1ULL << 63, ~0ULL, ~0ULL - PG + 1 };

	if (chance(f, 30))
		return odd[below(f, sizeof(odd) / sizeof(odd[0]))];
	return chance(f, 50) ? below(f, 64) : below(f, 8 * PG);
}

/* A user pointer for a buffer of up to ARENA/2 bytes, or a bad one. */
static inline __u64 rand_ptr(struct fuzz *f)
{
	switch (below(f, 12)) {
	case 0:
		return 0;
	case 1:
		return ptr2u(f->hole) + below(f, PG);
	case 2:
		return ptr2u(f->none);
	case 3:
		return ptr2u(f->ro);
	case 4:
		return 0xffff888000000000ULL + below(f, 4) * PG;
	case 5:
		return ptr2u(f->edge) + PG - below(f, 64);	/* runs off the end */
	case 6:
		return ptr2u(f->arena) + 1 + below(f, 7);	/* misaligned */
	case 7:
		return rnd(f);
	default:
		return ptr2u(f->arena) + below(f, ARENA / 2 / PG) * PG;
	}
}

static inline __u32 rand_flags(struct fuzz *f)
{
	switch (below(f, 4)) {
	case 0:
		return 0;
	case 1:
		return 1U << below(f, 32);
	case 2:
		return (__u32)rnd(f);
	default:
		return below(f, 4);
	}
}

static inline __u64 rare(struct fuzz *f, __u64 v)	/* usually 0, sometimes v */
{
	return chance(f, 5) ? v : 0;
}

static inline int rand_fd(struct fuzz *f)
{
	/* never a terminal: a read from it would block */
	const int fds[] = { f->memfd, f->pipe_r, f->pipe_w, f->dirfd, f->fd,
			    -1, 9999 };

	return chance(f, 60) ? f->memfd : fds[below(f, sizeof(fds) / sizeof(int))];
}

/* Where the argument struct lives: f->args, a straddle, or a bad pointer. */
static inline void *place_arg(struct fuzz *f, void *arg, size_t sz)
{
	void *p;

	switch (below(f, 20)) {
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
	case 4:		/* truncated: the struct runs into an inaccessible page */
		p = f->edge + PG - sz + 1 + below(f, sz - 1);
		memcpy(p, arg, f->edge + PG - (unsigned char *)p);
		return p;
	default:
		p = f->args + below(f, ARENA / 2 - PG) / 8 * 8;
		memcpy(p, arg, sz);
		return p;
	}
}

static inline bool in_args(const struct fuzz *f, const void *p)
{
	return p >= (void *)f->args && p < (void *)(f->args + ARENA / 2);
}

static inline void fill_arg(struct fuzz *f, int k, void *arg)
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
		struct vmmem_dirty_track dt;
		struct vmmem_dirty_harvest dh;
	} *u = arg;
	unsigned char op[128];
	unsigned int i;

	memset(u, 0, sizeof(*u));
	switch (k) {
	case 1:
		u->a.guest_addr = rand_gpa(f) & (chance(f, 90) ? ~(PG - 1) : ~0ULL);
		u->a.size = chance(f, 85) ? (1 + below(f, 8)) * PG : rand_len(f);
		if (chance(f, 40))
			u->a.user_addr = chance(f, 80) ? ptr2u(f->arena) +
				below(f, 32) * PG : rand_ptr(f);
		/*
		 * Huge: kernel-backed beyond RAM is ENOMEM at once; user-backed
		 * at most 512 MiB (a 1 MiB page array): nothing can OOM, and
		 * no huge vmalloc() blurs the MemFree balance.
		 */
		if (chance(f, 30))
			u->a.size = 1ULL << (u->a.user_addr ? 20 + below(f, 10) :
					     33 + below(f, 30));
		u->a.flags = chance(f, 70) ? below(f, 2) : rand_flags(f);
		u->a.id = rnd(f);
		u->a.mmap_offset = rnd(f);
		u->a.reserved[below(f, 2)] = rare(f, rnd(f));
		break;
	case 2:
		if (chance(f, 50)) {
			u->r.id = f->nids ? f->ids[below(f, f->nids)] : 1;
			if (chance(f, 10))
				u->r.id = rnd(f);
		} else {
			u->r.flags = VMMEM_REMOVE_BY_ADDR;
			u->r.guest_addr = rand_gpa(f) & ~(PG - 1);
			u->r.size = (1 + below(f, 8)) * PG;
		}
		if (chance(f, 10))
			u->r.flags = rand_flags(f);
		u->r.reserved = rare(f, rnd(f));
		break;
	case 3:
		u->l.regions = rand_ptr(f);
		u->l.count = chance(f, 80) ? below(f, 40) : rnd(f);
		u->l.flags = rare(f, rand_flags(f));
		u->l.reserved = rare(f, rnd(f));
		break;
	case 4:
		u->fi.guest_addr = rand_gpa(f);
		u->fi.reserved = rare(f, rnd(f));
		break;
	case 5: case 6: case 9:
		u->io.guest_addr = rand_gpa(f);
		u->io.user_addr = rand_ptr(f);	/* copy: dst_gpa */
		if (k == 9)
			u->c.dst_gpa = rand_gpa(f);
		u->io.len = rand_len(f);
		u->io.done = rnd(f);
		u->io.flags = chance(f, 70) ? below(f, 2) : rand_flags(f);
		u->io.reserved = rare(f, rnd(f));
		break;
	case 7:
		for (i = 0; i < NOPS; i++) {
			fill_arg(f, 5, op);	/* the union is larger */
			memcpy(&f->ops[i], op, sizeof(f->ops[i]));
			f->ops[i].flags = chance(f, 80) ? below(f, 4) : rand_flags(f);
		}
		u->b.ops = chance(f, 80) ? ptr2u(f->ops) : rand_ptr(f);
		u->b.count = chance(f, 80) ? below(f, NOPS + 1) : rnd(f);
		u->b.flags = rare(f, rand_flags(f));
		u->b.done_ops = rnd(f);
		u->b.reserved = rare(f, rnd(f));
		break;
	case 8:
		u->at.size = chance(f, 85) ? 1U << below(f, 4) : rnd(f);
		u->at.guest_addr = rand_gpa(f) & ~(__u64)(chance(f, 90) ?
				   u->at.size - 1 : 0);
		u->at.op = chance(f, 90) ? 1 + below(f, 4) : rnd(f);
		u->at.order = chance(f, 90) ? below(f, 4) : rnd(f);
		u->at.value = chance(f, 80) ? below(f, 256) : rnd(f);
		if (u->at.op == VMMEM_ATOMIC_CMPXCHG || chance(f, 5))
			u->at.expected = below(f, 4);
		u->at.reserved = rare(f, rnd(f));
		break;
	case 10:
		u->t.guest_addr = rand_gpa(f);
		u->t.len = rand_len(f);
		u->t.slices = rand_ptr(f);
		u->t.count = chance(f, 80) ? below(f, 20) : rnd(f);
		u->t.flags = rare(f, rand_flags(f));
		u->t.reserved = rare(f, rnd(f));
		break;
	case 11: case 12:
		u->fd.guest_addr = rand_gpa(f);
		u->fd.len = rand_len(f);
		u->fd.offset = chance(f, 40) ? -1 : chance(f, 80) ?
			       (__s64)below(f, 3 * PG) : (__s64)rnd(f);
		u->fd.fd = rand_fd(f);
		u->fd.flags = chance(f, 80) ? below(f, 2) : rand_flags(f);
		u->fd.reserved = rare(f, rnd(f));
		break;
	case 13:
		u->dt.guest_addr = rand_gpa(f) & (chance(f, 90) ? ~(PG - 1) : ~0ULL);
		u->dt.len = chance(f, 80) ? (1 + below(f, 64)) * PG : rand_len(f);
		u->dt.op = chance(f, 90) ? 1 + below(f, 3) : rnd(f);
		u->dt.regions = rnd(f);
		u->dt.reserved = rare(f, rnd(f));
		break;
	case 14:
		u->dh.guest_addr = rand_gpa(f) & (chance(f, 90) ? ~(PG - 1) : ~0ULL);
		u->dh.len = chance(f, 80) ? (1 + below(f, 64)) * PG : rand_len(f);
		u->dh.buf = rand_ptr(f);
		u->dh.count = chance(f, 80) ? below(f, 16) : rnd(f);
		u->dh.flags = chance(f, 80) ? below(f, 4) : rand_flags(f);
		u->dh.reserved = rare(f, rnd(f));
		break;
	}
}

static inline size_t arg_size(int k)
{
	return k ? _IOC_SIZE(cmds[k]) : 0;
}

static inline bool errno_allowed(int k, int e)
{
	unsigned int i;

	if (k == K_BADCMD)	/* a wrong command is ENOTTY, nothing else */
		return e == ENOTTY;
	if (e == EFAULT || e == EINVAL || e == ENOMEM || e == EINTR)
		return true;
	for (i = 0; i < 10 && allowed[k][i]; i++)
		if (allowed[k][i] == e)
			return true;
	return false;
}

/* A command number with the vmmem magic that is none of ours. */
static inline unsigned long bad_cmd(struct fuzz *f)
{
	unsigned long c;
	unsigned int i;

	for (;;) {
		c = _IOC(below(f, 4), VMMEM_IOCTL_MAGIC, below(f, 20),
			 chance(f, 50) ? below(f, 128) : below(f, 1 << 14));
		for (i = 0; i < NCMD && cmds[i] != c; i++)
			;
		if (i == NCMD)
			return c;
	}
}

/*
 * Whether a mapping of @len bytes at mmap offset @off, made just before,
 * has all its pages: it does if it lies within one region listed now.
 * That region was there at mmap() time (offsets are never reused; later
 * regions get later ones), and a mapping within one region holds all
 * its pages from then on. Other mappings are faulted in as touched: a page whose
 * region went is SIGBUS, as documented.
 */
static inline bool fuzz_offset_mapped(struct fuzz *f, __u64 off, __u64 len)
{
	struct vmmem_region_info arr[64];
	struct vmmem_region_list l;
	__u32 i;

	memset(&l, 0, sizeof(l));
	l.regions = ptr2u(arr);
	l.count = 64;
	if (ioctl(f->fd, VMMEM_LIST_REGIONS, &l))
		return false;
	for (i = 0; i < l.count; i++)
		if (arr[i].mmap_offset != VMMEM_NO_MMAP &&
		    off - arr[i].mmap_offset < arr[i].size &&
		    len <= arr[i].size - (off - arr[i].mmap_offset))
			return true;
	return false;
}

/*
 * One fuzz step on f->fd: returns the index of what was called, *ret its
 * result (0, -1, or -2 for a copy that reports done > len) and *err errno.
 * A mapping it makes it unmaps before returning.
 */
static inline int fuzz_step(struct fuzz *f, int *ret, int *err)
{
	unsigned char arg[128];
	int k = below(f, NSTEP);
	void *p;

	if (k == K_MMAP) {	/* mmap with random arguments */
		static const __u64 offs[] = { 0, PG, 1ULL << 62, ~0ULL & ~(PG - 1) };
		size_t len = chance(f, 80) ? (1 + below(f, 8)) * PG : rand_len(f);
		off_t off = chance(f, 70) ? below(f, 64) * PG : offs[below(f, 4)];
		int prot = below(f, 8), fl = chance(f, 80) ? MAP_SHARED : MAP_PRIVATE;

		p = mmap(NULL, len, prot, fl, f->fd, off);
		*err = errno;
		*ret = p == MAP_FAILED ? -1 : 0;
		if (p != MAP_FAILED) {
			if ((prot & PROT_READ) && fuzz_offset_mapped(f, off, len))
				(void)*(volatile unsigned char *)p;
			munmap(p, len);
		}
		return k;
	}
	if (k == K_LSEEK) {
		*ret = lseek(f->fd, chance(f, 50) ? below(f, 1 << 20) : rnd(f),
			     below(f, 5)) < 0 ? -1 : 0;
		*err = errno;
		return k;
	}
	if (k == 0) {
		*ret = ioctl(f->fd, VMMEM_GET_API_VERSION, rnd(f));
		*err = errno;
		if (*ret == VMMEM_API_VERSION)
			*ret = 0;
		return k;
	}
	if (k == K_BADCMD) {
		fill_arg(f, 1 + below(f, NCMD - 1), arg);
		*ret = ioctl(f->fd, bad_cmd(f), place_arg(f, arg, 64));
		*err = errno;
		return k;
	}
	fill_arg(f, k, arg);
	p = place_arg(f, arg, arg_size(k));
	*ret = ioctl(f->fd, cmds[k], p);
	*err = errno;
	if (*ret == 0 && k == 1 && in_args(f, p)) {
		if (f->nids < NIDS)
			f->ids[f->nids++] = ((struct vmmem_region_add *)p)->id;
		else if (f->id_ring)
			f->ids[f->id_next++ % NIDS] =
				((struct vmmem_region_add *)p)->id;
	}
	/* done <= len; a copy has the same layout from len on */
	if (*ret == 0 && (k == 5 || k == 6 || k == 9) && in_args(f, p) &&
	    ((struct vmmem_io *)p)->done > ((struct vmmem_io *)arg)->len)
		*ret = -2;
	return k;
}

/*
 * Free memory in kB, counting the pages on per-CPU free lists, which
 * MemFree leaves out: freed pages may sit there for a long while.
 */
static inline long free_kb(void)
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
static inline void drop_caches(void)
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

#endif /* VMMEM_FUZZ_H */
