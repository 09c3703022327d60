// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem's paths on the workloads of common.h:
 *   ioctl   one VMMEM_READ/VMMEM_WRITE per access (struct vmmem_io, EXACT)
 *   batch   VMMEM_IO_BATCH, BATCH accesses per call
 *   direct  vmmem_get_host_address() (libvmmem's cached mmap) + memcpy
 *   mmap    memcpy at a fixed pointer into our own mmap of the region
 * plus VMMEM_FIND_REGION and libvmmem's lookup, region set-up, and file
 * I/O into guest memory: VMMEM_READ_FROM_FD / VMMEM_WRITE_TO_FD (fd-ioctl)
 * against pread(2)/pwrite(2) on the mmapped guest memory (fd-read2).
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

/* Copy across regions as libvmmem's users would: one lookup per region. */
static void direct_copy(struct vmmem *vm, uint64_t gpa, char *buf,
			uint64_t len, int write)
{
	while (len) {
		size_t contig, n;
		void *h;
		int ret = vmmem_get_host_address(vm, gpa, &h, &contig);

		if (ret)
			die("vmmem_get_host_address", -ret);
		n = contig < len ? contig : len;
		if (write)
			memcpy(h, buf, n);
		else
			memcpy(buf, h, n);
		gpa += n;
		buf += n;
		len -= n;
	}
}

static void bench_io(struct vmmem *vm, char *map, char *buf)
{
	static const char *const wls[] = { "cold", "hot", "boundary" };
	static const char *const ops[] = { "read", "write" };
	static const unsigned long req[] = { VMMEM_READ, VMMEM_WRITE };
	struct vmmem_io io[BATCH] = { 0 };
	struct vmmem_io_batch b = { .ops = (uintptr_t)io, .count = BATCH };
	int fd = vmmem_fd(vm);

	for (unsigned int w = 0; w < 3; w++) {
		for (unsigned int s = 0; s < NR_SIZES; s++) {
			uint64_t sz = sizes[s];
			unsigned int n = batch_ops(sz);
			uint64_t *g = w == 2 ? gen_edge(sz, (REPS + 1) * n) :
				gen_gpas(0, w ? HOT_SIZE : MAIN_SIZE, sz,
					 (REPS + 1) * n);

			for (int o = 0; o < 2; o++) {
				uint32_t bflags = VMMEM_IO_EXACT |
						  (o ? VMMEM_IO_WRITE : 0);

				RUN("vmmem", "ioctl", wls[w], ops[o], sz, n, g, {
					io[0] = (struct vmmem_io){
						.guest_addr = gpa,
						.user_addr = (uintptr_t)buf,
						.len = sz,
						.flags = VMMEM_IO_EXACT,
					};
					xioctl(fd, req[o], io, "VMMEM_READ/WRITE");
				});
				RUN("vmmem", "batch", wls[w], ops[o], sz, n, g, {
					io[i % BATCH] = (struct vmmem_io){
						.guest_addr = gpa,
						.user_addr = (uintptr_t)buf,
						.len = sz,
						.flags = bflags,
					};
					if (i % BATCH == BATCH - 1)
						xioctl(fd, VMMEM_IO_BATCH, &b,
						       "VMMEM_IO_BATCH");
				});
				RUN("vmmem", "direct", wls[w], ops[o], sz, n, g,
				    direct_copy(vm, gpa, buf, sz, o));
				/* Our own mapping covers the main region only. */
				if (w == 2)
					continue;
				if (o)
					RUN("vmmem", "mmap", wls[w], "write", sz,
					    n, g, memcpy(map + gpa, buf, sz));
				else
					RUN("vmmem", "mmap", wls[w], "read", sz,
					    n, g, memcpy(buf, map + gpa, sz));
			}
			free(g);
		}
	}
}

static void bench_obj(struct vmmem *vm, char *map)
{
	struct vmmem_io io[BATCH] = { 0 };
	struct vmmem_io_batch b = { .ops = (uintptr_t)io, .count = BATCH };
	unsigned int n = MAX_OPS;
	uint64_t *g = gen_gpas(0, HOT_SIZE, 8, (REPS + 1) * n);
	uint64_t objs[BATCH] = { 0 };
	volatile uint64_t sink = 0;
	int fd = vmmem_fd(vm);

	/* VMMEM_READ/WRITE of 8 aligned bytes is one access in the kernel. */
	for (int o = 0; o < 2; o++) {
		const char *op = o ? "write" : "read";

		RUN("vmmem", "ioctl", "obj", op, 8, n, g, {
			io[0] = (struct vmmem_io){
				.guest_addr = gpa,
				.user_addr = (uintptr_t)objs,
				.len = 8,
				.flags = VMMEM_IO_EXACT,
			};
			xioctl(fd, o ? VMMEM_WRITE : VMMEM_READ, io, "obj");
		});
		RUN("vmmem", "batch", "obj", op, 8, n, g, {
			io[i % BATCH] = (struct vmmem_io){
				.guest_addr = gpa,
				.user_addr = (uintptr_t)&objs[i % BATCH],
				.len = 8,
				.flags = VMMEM_IO_EXACT |
					 (o ? VMMEM_IO_WRITE : 0),
			};
			if (i % BATCH == BATCH - 1)
				xioctl(fd, VMMEM_IO_BATCH, &b, "obj batch");
		});
	}
	RUN("vmmem", "direct", "obj", "read", 8, n, g, {
		void *h;

		if (vmmem_get_host_address(vm, gpa, &h, NULL))
			die("obj lookup", ENXIO);
		sink = *(volatile uint64_t *)h;
	});
	RUN("vmmem", "direct", "obj", "write", 8, n, g, {
		void *h;

		if (vmmem_get_host_address(vm, gpa, &h, NULL))
			die("obj lookup", ENXIO);
		*(volatile uint64_t *)h = sink;
	});
	RUN("vmmem", "mmap", "obj", "read", 8, n, g,
	    sink = *(volatile uint64_t *)(map + gpa));
	RUN("vmmem", "mmap", "obj", "write", 8, n, g,
	    *(volatile uint64_t *)(map + gpa) = sink);
	free(g);
}

static void bench_lookup(void)
{
	for (unsigned int c = 0; c < NR_COUNTS; c++) {
		unsigned int nr = nr_regions[c], n = MAX_OPS;
		uint64_t *g = gen_gpas(0, nr * PAGE, 8, (REPS + 1) * n);
		struct vmmem *vm = xopen();
		int fd = vmmem_fd(vm);
		volatile uint64_t sink = 0;
		uint64_t t0;
		char wl[32];
		void *h;

		snprintf(wl, sizeof(wl), "lookup-%u", nr);
		for (unsigned int i = 0; i < nr; i++)
			xadd(vm, i * PAGE, PAGE, NULL, NULL);
		RUN("vmmem", "ioctl", wl, "find", 8, n, g, {
			struct vmmem_region_find f = { .guest_addr = gpa };

			xioctl(fd, VMMEM_FIND_REGION, &f, "VMMEM_FIND_REGION");
			sink += f.region.size;
		});

		/* Fill libvmmem's cache in address order (cheapest), untimed. */
		t0 = now_ns();
		for (unsigned int i = 0; i < nr; i++)
			if (vmmem_get_host_address(vm, i * PAGE, &h, NULL))
				die("cache fill", ENXIO);
		printf("# vmmem: libvmmem cache fill of %u regions: %.1f ms\n",
		       nr, (now_ns() - t0) / 1e6);
		RUN("vmmem", "direct", wl, "find", 8, n, g, {
			if (vmmem_get_host_address(vm, gpa, &h, NULL))
				die("lookup", ENXIO);
			sink += (uintptr_t)h;
		});
		vmmem_close(vm);
		free(g);
	}
}

/* Set-up of SETUP_SIZE: module-allocated pages, and a pinned memfd. */
static void bench_setup(void)
{
	uint64_t tk[REPS], tu[REPS], tp[REPS], tf[REPS];

	for (unsigned int r = 0; r <= REPS; r++) {
		struct vmmem *vm = xopen();
		int mfd = memfd_create("bench", 0);
		int mfd2 = memfd_create("bench-populated", 0);
		void *p, *q;
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

		vmmem_close(vm);
		munmap(p, SETUP_SIZE);
		munmap(q, SETUP_SIZE);
		close(mfd);
		close(mfd2);
	}
	emit("vmmem", "kernel", "setup", "setup", SETUP_SIZE, 1,
	     median(tk, REPS));
	emit("vmmem", "memfd", "setup", "setup", SETUP_SIZE, 1,
	     median(tu, REPS));
	emit("vmmem", "memfd-populate", "setup", "setup", SETUP_SIZE, 1,
	     median(tp, REPS));
	emit("vmmem", "memfd-prefaulted", "setup", "setup", SETUP_SIZE, 1,
	     median(tf, REPS));
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

int main(void)
{
	struct vmmem_region_info main_info;
	struct vmmem *vm = xopen();
	char *buf = xmap(MiB), *map;

	print_copy_routine("vmmem");
	xadd(vm, 0, MAIN_SIZE, NULL, &main_info);
	xadd(vm, BND_BASE, BND_HALF, NULL, NULL);
	xadd(vm, BND_EDGE, BND_HALF, NULL, NULL);
	/* vmmem's mmap() inserts all pages up front: nothing to pre-fault. */
	map = mmap(NULL, MAIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vmmem_fd(vm), main_info.mmap_offset);
	if (map == MAP_FAILED)
		die("mmap region", errno);

	bench_io(vm, map, buf);
	bench_obj(vm, map);
	bench_fdio(vm, map);
	munmap(map, MAIN_SIZE);
	vmmem_close(vm);
	bench_setup();
	/* Last: closing 32767 regions has oopsed the module (see README). */
	bench_lookup();
	return 0;
}
