// SPDX-License-Identifier: GPL-2.0
/*
 * The workloads of common.h through every implementation, timed in turn in
 * this one process (see bench/README.md):
 *   memcpy       the floor: memcpy() on anonymous memory ("load-store" for
 *                objects, "bsearch" for lookups)
 *   movsq        the same copies with `rep movsq`, the kernel's copy loop
 *   vm-memory    GuestMemoryMmap 0.10 through vm-memory-bench's libvmm.a
 *   ioctl        one VMMEM_READ/VMMEM_WRITE per access; FIND_REGION
 *   batch        VMMEM_IO_BATCH, BATCH accesses per call
 *   direct       libvmmem's vmmem_{read,write}_direct_exact() on regions
 *                pinned from anonymous memory; vmmem_get_host_address()
 *   direct-kmem  the same on module-allocated regions (libvmmem's mmap)
 *   mmap         memcpy at a fixed pointer into our own mmap of the region
 * then file I/O into guest memory, VMMEM_READ_FROM_FD/VMMEM_WRITE_TO_FD
 * (fd-ioctl) against pread(2)/pwrite(2) on the mapping (fd-read2), and
 * region set-up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmmem.h"
#include "common.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "vmmem-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg))
		die(what, errno);
}

static struct vmmem *xopen(void)
{
	struct vmmem *vm;
	int ret = vmmem_open(&vm);

	if (ret)
		die("open /dev/vmmem", -ret);
	return vm;
}

static void xadd(struct vmmem *vm, uint64_t gpa, uint64_t size, void *uaddr,
		 struct vmmem_region_info *info)
{
	int ret = vmmem_add_region(vm, gpa, size, uaddr, 0, info);

	if (ret)
		die("add region", -ret);
}

/* vm-memory 0.10, from vm-memory-bench's static library (src/lib.rs). */
struct vmm;
struct vmm *vmm_new(uint64_t main_size, uint64_t bnd_base, uint64_t bnd_half);
void vmm_free(struct vmm *m);
int vmm_read_slice(const struct vmm *m, uint64_t gpa, void *buf, size_t len);
int vmm_write_slice(const struct vmm *m, uint64_t gpa, const void *buf,
		    size_t len);
int vmm_read_obj_u64(const struct vmm *m, uint64_t gpa, uint64_t *out);
int vmm_write_obj_u64(const struct vmm *m, uint64_t gpa, uint64_t v);
struct vmm *vmm_new_pages(uint64_t n, uint64_t page);
uint64_t vmm_find_region_len(const struct vmm *m, uint64_t gpa);

/*
 * Every implementation of one access, timed in turn in this process: a
 * batch of one, then one of the next, so that a host busy for a while
 * slows all of them alike.
 */
enum path {
	P_FLOOR, P_VMM, P_IOCTL, P_BATCH, P_DIRECT, P_DIRECT_K, P_MMAP,
	P_MOVSQ, NR_PATHS
};

static const char *const path_impl[NR_PATHS] = {
	"memcpy", "vm-memory", "vmmem", "vmmem", "vmmem", "vmmem", "vmmem",
	"memcpy",
};
static const char *const path_name[NR_PATHS] = {
	"memcpy", "slice", "ioctl", "batch", "direct", "direct-kmem", "mmap",
	"movsq",
};

/* What a cell times: copies, 8-byte objects, or region lookups. */
enum kind { K_COPY, K_OBJ, K_FIND };

#define BIT_OF(p)	(1U << (p))
static const unsigned int kind_paths[] = {
	[K_COPY] = ~0U,
	[K_OBJ] = ~BIT_OF(P_MOVSQ),
	[K_FIND] = BIT_OF(P_FLOOR) | BIT_OF(P_VMM) | BIT_OF(P_IOCTL) |
		   BIT_OF(P_DIRECT),
};

/* The lookups' floor: a binary search of a sorted array of ranges. */
struct range {
	uint64_t gpa, size;
};

static const struct range *find(const struct range *r, unsigned int n,
				uint64_t gpa)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (r[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || gpa - r[lo - 1].gpa >= r[lo - 1].size)
		return NULL;
	return &r[lo - 1];
}

/*
 * The kernel's copy without ERMS/FSRM (rep_movs_alternative), in user
 * space: what the ioctls' bulk copies cost here without the module.
 */
static inline void movsq(void *dst, const void *src, size_t len)
{
	size_t q = len / 8;

	asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
}

struct bench {
	struct vmmem *vm;	/* module-allocated regions */
	struct vmmem *vm_u;	/* the same layout, pinned anonymous memory */
	int fd;
	char *map;		/* our own mmap of the main region */
	char *floor;		/* anonymous "guest" memory for the floor */
	char *floor_bnd;	/* and for the boundary workload */
	char *umem, *umem_bnd;	/* vm_u's memory */
	struct vmm *vmm;
	char *buf;
	volatile uint64_t sink;
	struct vmmem_io io[BATCH];
	struct vmmem_io_batch b;
	/* the lookups' guest: one-page regions, in each implementation */
	struct vmmem *lk_vm;
	struct vmm *lk_vmm;
	struct range *lk_r;
	unsigned int lk_n;
};

static void xcheck(int ret, const char *what)
{
	if (ret)
		die(what, ret < 0 ? -ret : EIO);
}

/* Both directions of one loop body, chosen outside the loop. */
#define LOOP(write, rd, wr) do {					\
	if (write)							\
		for (unsigned int i = 0; i < n; i++) {			\
			uint64_t gpa = g[i];				\
			wr;						\
		}							\
	else								\
		for (unsigned int i = 0; i < n; i++) {			\
			uint64_t gpa = g[i];				\
			rd;						\
		}							\
} while (0)

/* One timed batch of @n accesses of @sz bytes at @g[] on path @p. */
static uint64_t time_copies(struct bench *c, enum path p, int write,
			    uint64_t sz, const uint64_t *g, unsigned int n,
			    bool bnd)
{
	char *buf = c->buf, *fl = bnd ? c->floor_bnd - BND_BASE : c->floor;
	uint32_t bflags = VMMEM_IO_EXACT | (write ? VMMEM_IO_WRITE : 0);
	uint64_t t0;

	tlb_flush();
	t0 = now_ns();
	switch (p) {
	case P_FLOOR:
		LOOP(write, memcpy(buf, fl + gpa, sz), memcpy(fl + gpa, buf, sz));
		break;
	case P_VMM:
		LOOP(write, xcheck(vmm_read_slice(c->vmm, gpa, buf, sz), "read_slice"),
		     xcheck(vmm_write_slice(c->vmm, gpa, buf, sz), "write_slice"));
		break;
	case P_IOCTL:
		for (unsigned int i = 0; i < n; i++) {
			c->io[0] = (struct vmmem_io){
				.guest_addr = g[i],
				.user_addr = (uintptr_t)buf,
				.len = sz,
				.flags = VMMEM_IO_EXACT,
			};
			xioctl(c->fd, write ? VMMEM_WRITE : VMMEM_READ, c->io,
			       "VMMEM_READ/WRITE");
		}
		break;
	case P_BATCH:
		for (unsigned int i = 0; i < n; i++) {
			c->io[i % BATCH] = (struct vmmem_io){
				.guest_addr = g[i],
				.user_addr = (uintptr_t)buf,
				.len = sz,
				.flags = bflags,
			};
			if (i % BATCH == BATCH - 1)
				xioctl(c->fd, VMMEM_IO_BATCH, &c->b,
				       "VMMEM_IO_BATCH");
		}
		break;
	case P_DIRECT:
	case P_DIRECT_K: {
		struct vmmem *vm = p == P_DIRECT ? c->vm_u : c->vm;

		LOOP(write,
		     xcheck(vmmem_read_direct_exact(vm, gpa, buf, sz, NULL),
			    "vmmem_read_direct_exact"),
		     xcheck(vmmem_write_direct_exact(vm, gpa, buf, sz, NULL),
			    "vmmem_write_direct_exact"));
		break;
	}
	case P_MMAP:
		LOOP(write, memcpy(buf, c->map + gpa, sz),
		     memcpy(c->map + gpa, buf, sz));
		break;
	case P_MOVSQ:
		LOOP(write, movsq(buf, fl + gpa, sz), movsq(fl + gpa, buf, sz));
		break;
	default:
		break;
	}
	return now_ns() - t0;
}

/* The same for 8-byte objects: read_obj/write_obj and their peers. */
static uint64_t time_objs(struct bench *c, enum path p, int write,
			  const uint64_t *g, unsigned int n)
{
	uint64_t objs[BATCH] = { 0 }, v = c->sink, t0;

	tlb_flush();
	t0 = now_ns();
	switch (p) {
	case P_FLOOR:
		LOOP(write, c->sink = *(volatile uint64_t *)(c->floor + gpa),
		     *(volatile uint64_t *)(c->floor + gpa) = v);
		break;
	case P_VMM:
		LOOP(write, { xcheck(vmm_read_obj_u64(c->vmm, gpa, &v), "read_obj");
			      c->sink = v; },
		     xcheck(vmm_write_obj_u64(c->vmm, gpa, v), "write_obj"));
		break;
	case P_IOCTL:
		/* VMMEM_READ/WRITE of 8 aligned bytes is one access. */
		for (unsigned int i = 0; i < n; i++) {
			c->io[0] = (struct vmmem_io){
				.guest_addr = g[i],
				.user_addr = (uintptr_t)objs,
				.len = 8,
				.flags = VMMEM_IO_EXACT,
			};
			xioctl(c->fd, write ? VMMEM_WRITE : VMMEM_READ, c->io,
			       "obj");
		}
		break;
	case P_BATCH:
		for (unsigned int i = 0; i < n; i++) {
			c->io[i % BATCH] = (struct vmmem_io){
				.guest_addr = g[i],
				.user_addr = (uintptr_t)&objs[i % BATCH],
				.len = 8,
				.flags = VMMEM_IO_EXACT |
					 (write ? VMMEM_IO_WRITE : 0),
			};
			if (i % BATCH == BATCH - 1)
				xioctl(c->fd, VMMEM_IO_BATCH, &c->b, "obj batch");
		}
		break;
	case P_DIRECT:
	case P_DIRECT_K: {
		struct vmmem *vm = p == P_DIRECT ? c->vm_u : c->vm;

		LOOP(write, { xcheck(vmmem_read_obj_direct(vm, gpa, &v),
				     "vmmem_read_obj_direct");
			      c->sink = v; },
		     xcheck(vmmem_write_obj_direct(vm, gpa, &v),
			    "vmmem_write_obj_direct"));
		break;
	}
	case P_MMAP:
		LOOP(write, c->sink = *(volatile uint64_t *)(c->map + gpa),
		     *(volatile uint64_t *)(c->map + gpa) = v);
		break;
	default:
		break;
	}
	return now_ns() - t0;
}

/* Lookups of the GPAs @g[]: each implementation's find. */
static uint64_t time_finds(struct bench *c, enum path p, const uint64_t *g,
			   unsigned int n)
{
	int fd = vmmem_fd(c->lk_vm);
	uint64_t sink = 0, t0;
	void *h;

	tlb_flush();
	t0 = now_ns();
	switch (p) {
	case P_FLOOR:
		for (unsigned int i = 0; i < n; i++)
			sink += find(c->lk_r, c->lk_n, g[i])->size;
		break;
	case P_VMM:
		for (unsigned int i = 0; i < n; i++)
			sink += vmm_find_region_len(c->lk_vmm, g[i]);
		break;
	case P_IOCTL:
		for (unsigned int i = 0; i < n; i++) {
			struct vmmem_region_find f = { .guest_addr = g[i] };

			xioctl(fd, VMMEM_FIND_REGION, &f, "VMMEM_FIND_REGION");
			sink += f.region.size;
		}
		break;
	case P_DIRECT:
		for (unsigned int i = 0; i < n; i++) {
			if (vmmem_get_host_address(c->lk_vm, g[i], &h, NULL))
				die("lookup", ENXIO);
			sink += (uintptr_t)h;
		}
		break;
	default:
		break;
	}
	t0 = now_ns() - t0;
	c->sink += sink;
	return t0;
}

/*
 * One cell: REPS + 1 rounds (the first untimed), each path of the cell's
 * kind once per round, in an order that rotates. The i-th path times slice
 * (r + i) % (REPS + 1) of @g in round @r: paths on the same memory never
 * touch the same addresses in one round (the host's caches would favour
 * the second), and every path times the same slices but one.
 */
static void run_cell(struct bench *c, const char *wl, enum kind kind,
		     int write, uint64_t sz, const uint64_t *g, unsigned int n,
		     bool bnd)
{
	static const char *const op_name[] = { "read", "write", "find" };
	unsigned int act[NR_PATHS], np = 0, paths = kind_paths[kind];
	uint64_t t[NR_PATHS][REPS];

	if (bnd)
		paths &= ~BIT_OF(P_MMAP);	/* our mapping is the main region's */
	for (unsigned int p = 0; p < NR_PATHS; p++)
		if (paths & BIT_OF(p))
			act[np++] = p;
	for (unsigned int r = 0; r <= REPS; r++) {
		for (unsigned int k = 0; k < np; k++) {
			unsigned int i = (r + k) % np;
			enum path p = act[i];
			const uint64_t *gs = g + (uint64_t)((r + i) % (REPS + 1)) * n;
			uint64_t ns;

			if (kind == K_FIND)
				ns = time_finds(c, p, gs, n);
			else if (kind == K_OBJ)
				ns = time_objs(c, p, write, gs, n);
			else
				ns = time_copies(c, p, write, sz, gs, n, bnd);
			if (r)
				t[p][r - 1] = ns;
		}
	}
	for (unsigned int i = 0; i < np; i++) {
		unsigned int p = act[i];
		const char *name = path_name[p];

		if (kind == K_OBJ && p == P_FLOOR)
			name = "load-store";
		else if (kind == K_FIND && p == P_FLOOR)
			name = "bsearch";
		else if (kind == K_FIND && p == P_VMM)
			name = "find_region";
		emit(path_impl[p], name, wl, op_name[kind == K_FIND ? 2 : write],
		     sz, n, median(t[p], REPS));
	}
}

static void bench_io(struct bench *c)
{
	static const char *const wls[] = { "cold", "hot", "boundary" };

	for (unsigned int w = 0; w < 3; w++) {
		for (unsigned int s = 0; s < NR_SIZES; s++) {
			uint64_t sz = sizes[s];
			unsigned int n = batch_ops(sz);
			uint64_t *g = w == 2 ? gen_edge(sz, (REPS + 1) * n) :
				gen_gpas(0, w ? HOT_SIZE : MAIN_SIZE, sz,
					 (REPS + 1) * n);

			for (int o = 0; o < 2; o++)
				run_cell(c, wls[w], K_COPY, o, sz, g, n, w == 2);
			free(g);
		}
	}
	{
		unsigned int n = MAX_OPS;
		uint64_t *g = gen_gpas(0, HOT_SIZE, 8, (REPS + 1) * n);

		for (int o = 0; o < 2; o++)
			run_cell(c, "obj", K_OBJ, o, 8, g, n, false);
		free(g);
	}
}

/* Lookups among N one-page regions, in every implementation. */
static void bench_lookup(struct bench *c, bool all)
{
	for (unsigned int ci = 0; ci < NR_COUNTS; ci++) {
		unsigned int nr = nr_regions[ci], n = MAX_OPS;
		uint64_t *g = gen_gpas(0, nr * PAGE, 8, (REPS + 1) * n);
		uint64_t t0;
		char wl[32];
		void *h;

		snprintf(wl, sizeof(wl), "lookup-%u", nr);
		c->lk_vm = xopen();
		c->lk_vmm = vmm_new_pages(nr, PAGE);
		c->lk_r = malloc(nr * sizeof(*c->lk_r));
		c->lk_n = nr;
		if (!c->lk_vmm || !c->lk_r)
			die("lookup guests", ENOMEM);
		for (unsigned int i = 0; i < nr; i++) {
			xadd(c->lk_vm, i * PAGE, PAGE, NULL, NULL);
			c->lk_r[i] = (struct range){ i * PAGE, PAGE };
		}
		/* Fill libvmmem's cache in address order (cheapest), untimed. */
		t0 = now_ns();
		for (unsigned int i = 0; i < nr; i++)
			if (vmmem_get_host_address(c->lk_vm, i * PAGE, &h, NULL))
				die("cache fill", ENXIO);
		if (all)
			printf("# vmmem: libvmmem cache fill of %u regions: %.1f ms\n",
			       nr, (now_ns() - t0) / 1e6);
		run_cell(c, wl, K_FIND, 0, 8, g, n, false);
		vmmem_close(c->lk_vm);
		vmm_free(c->lk_vmm);
		free(c->lk_r);
		free(g);
	}
}

#define HUGE_PARAM	"/sys/module/vmmem/parameters/huge_pages"

/* The module's huge_pages parameter ("Y"/"N"); false if it cannot be set. */
static bool set_huge_pages(const char *v)
{
	int fd = open(HUGE_PARAM, O_WRONLY);
	bool ok = fd >= 0 && write(fd, v, 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * Set-up of SETUP_SIZE: module-allocated pages (2 MiB ones, and 4 KiB ones
 * with the module's huge_pages off), pinned memfd and anonymous memory.
 */
static void bench_setup(void)
{
	uint64_t tk[REPS], tk4[REPS], tu[REPS], tp[REPS], tf[REPS], ta[REPS];
	bool k4 = false;

	for (unsigned int r = 0; r <= REPS; r++) {
		struct vmmem *vm = xopen();
		int mfd = memfd_create("bench", 0);
		int mfd2 = memfd_create("bench-populated", 0);
		void *p, *q, *a;
		uint64_t t0;

		if (mfd < 0 || ftruncate(mfd, SETUP_SIZE) ||
		    mfd2 < 0 || ftruncate(mfd2, SETUP_SIZE))
			die("memfd", errno);
		p = mmap(NULL, SETUP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 mfd, 0);
		if (p == MAP_FAILED)
			die("mmap memfd", errno);

		t0 = now_ns();
		xadd(vm, 0, SETUP_SIZE, NULL, NULL);
		if (r)
			tk[r - 1] = now_ns() - t0;
		if (set_huge_pages("N")) {
			t0 = now_ns();
			xadd(vm, 4 * BND_BASE, SETUP_SIZE, NULL, NULL);
			if (r)
				tk4[r - 1] = now_ns() - t0;
			k4 = set_huge_pages("Y");
		}
		/* Pinning faults the memfd's pages in: allocation included. */
		t0 = now_ns();
		xadd(vm, BND_BASE, SETUP_SIZE, p, NULL);
		if (r)
			tu[r - 1] = now_ns() - t0;
		/* Where that goes: populating a memfd, then pinning it. */
		t0 = now_ns();
		q = mmap(NULL, SETUP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, mfd2, 0);
		if (q == MAP_FAILED)
			die("mmap memfd", errno);
		if (r)
			tp[r - 1] = now_ns() - t0;
		t0 = now_ns();
		xadd(vm, 2 * BND_BASE, SETUP_SIZE, q, NULL);
		if (r)
			tf[r - 1] = now_ns() - t0;
		/* Fresh anonymous memory, the kind mmap(MAP_POPULATE) gets. */
		a = mmap(NULL, SETUP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			die("mmap anonymous", errno);
		t0 = now_ns();
		xadd(vm, 3 * BND_BASE, SETUP_SIZE, a, NULL);
		if (r)
			ta[r - 1] = now_ns() - t0;

		vmmem_close(vm);
		munmap(p, SETUP_SIZE);
		munmap(q, SETUP_SIZE);
		munmap(a, SETUP_SIZE);
		close(mfd);
		close(mfd2);
	}
	emit("vmmem", "kernel", "setup", "setup", SETUP_SIZE, 1,
	     median(tk, REPS));
	if (k4)
		emit("vmmem", "kernel-4k", "setup", "setup", SETUP_SIZE, 1,
		     median(tk4, REPS));
	emit("vmmem", "memfd", "setup", "setup", SETUP_SIZE, 1,
	     median(tu, REPS));
	emit("vmmem", "memfd-populate", "setup", "setup", SETUP_SIZE, 1,
	     median(tp, REPS));
	emit("vmmem", "memfd-prefaulted", "setup", "setup", SETUP_SIZE, 1,
	     median(tf, REPS));
	emit("vmmem", "anon", "setup", "setup", SETUP_SIZE, 1,
	     median(ta, REPS));
}

/* A tmpfs file, FD_SIZE bytes, in the page cache: the I/O source/sink. */
#define FD_SIZE	(16 * MiB)

static void bench_fdio(struct vmmem *vm, char *map)
{
	static const uint64_t fsz[] = { 4096, 65536, MiB };
	static const char *const ops[] = { "read", "write" };
	static const unsigned long req[] = { VMMEM_READ_FROM_FD,
					     VMMEM_WRITE_TO_FD };
	int fd = vmmem_fd(vm), file = memfd_create("vmmem-bench", 0);
	char *src = xmap(FD_SIZE);

	if (file < 0 || pwrite(file, src, FD_SIZE, 0) != FD_SIZE)
		die("memfd", errno);
	for (unsigned int s = 0; s < 3; s++) {
		uint64_t sz = fsz[s];
		unsigned int n = batch_ops(sz);
		uint64_t *g = gen_gpas(0, MAIN_SIZE, sz, (REPS + 1) * n);

		for (int o = 0; o < 2; o++) {
			/* The file offset follows the GPA, within the file. */
			RUN("vmmem", "fd-ioctl", "fd", ops[o], sz, n, g, {
				struct vmmem_fd_io f = {
					.guest_addr = gpa,
					.len = sz,
					.offset = (int64_t)(gpa % (FD_SIZE - sz + 1)) & ~4095LL,
					.fd = file,
					.flags = VMMEM_FD_EXACT,
				};
				xioctl(fd, req[o], &f, "VMMEM_READ_FROM_FD/WRITE_TO_FD");
			});
			RUN("vmmem", "fd-read2", "fd", ops[o], sz, n, g, {
				off_t off = (off_t)(gpa % (FD_SIZE - sz + 1)) & ~4095LL;
				ssize_t r = o ? pwrite(file, map + gpa, sz, off) :
						pread(file, map + gpa, sz, off);
				if (r != (ssize_t)sz)
					die("pread/pwrite", errno);
			});
		}
		free(g);
	}
	munmap(src, FD_SIZE);
	close(file);
}

/*
 * vmmem-bench [--no-setup]: everything, or (in the later rounds of a boot)
 * all but the region set-up, which the other programs time once a boot.
 */
int main(int argc, char **argv)
{
	bool all = argc < 2 || strcmp(argv[1], "--no-setup");
	struct vmmem_region_info main_info;
	struct bench c = { .vm = xopen() };

	print_copy_routine("vmmem");
	c.fd = vmmem_fd(c.vm);
	c.b = (struct vmmem_io_batch){ .ops = (uintptr_t)c.io, .count = BATCH };
	c.buf = xmap(MiB);
	c.floor = xmap(MAIN_SIZE);
	c.floor_bnd = xmap(2 * BND_HALF);
	c.vmm = vmm_new(MAIN_SIZE, BND_BASE, BND_HALF);
	if (!c.vmm)
		die("vm-memory guest", ENOMEM);
	xadd(c.vm, 0, MAIN_SIZE, NULL, &main_info);
	xadd(c.vm, BND_BASE, BND_HALF, NULL, NULL);
	xadd(c.vm, BND_EDGE, BND_HALF, NULL, NULL);
	c.map = mmap(NULL, MAIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     c.fd, main_info.mmap_offset);
	if (c.map == MAP_FAILED)
		die("mmap region", errno);
	/*
	 * vmmem's mmap() inserts every page up front, but clean: the first
	 * store to each page would also set its dirty bit. The others'
	 * memory has been written before timing (MAP_POPULATE of a private
	 * mapping, memset); so is ours, through our mapping and libvmmem's.
	 */
	memset(c.map, 0, MAIN_SIZE);
	for (unsigned int i = 0; i < 3; i++) {
		static const uint64_t starts[] = { 0, BND_BASE, BND_EDGE };
		size_t contig;
		void *h;

		if (vmmem_get_host_address(c.vm, starts[i], &h, &contig))
			die("libvmmem mapping", ENXIO);
		memset(h, 0, contig);
	}

	/*
	 * The direct path on memory like vm-memory's: regions pinned from
	 * anonymous mappings (transparent huge pages where the kernel gives
	 * them), which libvmmem reads at their user address.
	 */
	c.vm_u = xopen();
	c.umem = xmap(MAIN_SIZE);
	c.umem_bnd = xmap(2 * BND_HALF);
	xadd(c.vm_u, 0, MAIN_SIZE, c.umem, NULL);
	xadd(c.vm_u, BND_BASE, BND_HALF, c.umem_bnd, NULL);
	xadd(c.vm_u, BND_EDGE, BND_HALF, c.umem_bnd + BND_HALF, NULL);

	bench_io(&c);
	vmm_free(c.vmm);
	vmmem_close(c.vm_u);
	munmap(c.umem, MAIN_SIZE);
	munmap(c.umem_bnd, 2 * BND_HALF);
	munmap(c.floor, MAIN_SIZE);
	bench_fdio(c.vm, c.map);
	munmap(c.map, MAIN_SIZE);
	vmmem_close(c.vm);
	bench_lookup(&c, all);
	if (all)
		bench_setup();
	return 0;
}
