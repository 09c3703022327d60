/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by vmmem-bench.c and memcpy-bench.c; vm-memory-bench/src/main.rs
 * mirrors it (same constants, same random sequence, same CSV), so that all
 * three programs time exactly the same accesses.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>

#define KiB		(1024ULL)
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define PAGE		4096ULL

/* Guest layout: main region at 0, two adjacent regions at 1 GiB. */
#define MAIN_SIZE	(256 * MiB)
#define HOT_SIZE	(2 * MiB)
#define BND_BASE	(1 * GiB)
#define BND_HALF	(2 * MiB)
#define BND_EDGE	(BND_BASE + BND_HALF)	/* the boundary itself */
#define SETUP_SIZE	(256 * MiB)

#define REPS		5	/* timed batches; one untimed warm-up first */
#define BATCH		64	/* ops per VMMEM_IO_BATCH call */
#define MAX_OPS		2048
#define BATCH_BYTES	(8 * MiB)
#define SEED		0x766d6d656dULL

static const uint64_t sizes[] = { 8, 64, 512, 4096, 65536, 1048576 };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))
static const unsigned int nr_regions[] = { 1, 8, 64, 512, 32767 };
#define NR_COUNTS	(sizeof(nr_regions) / sizeof(nr_regions[0]))

/* splitmix64: tiny, and trivially identical in Rust. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Ops per timed batch: about BATCH_BYTES moved, a multiple of BATCH. */
static inline unsigned int batch_ops(uint64_t size)
{
	uint64_t n = BATCH_BYTES / size;

	if (n < BATCH)
		n = BATCH;
	if (n > MAX_OPS)
		n = MAX_OPS;
	return n;
}

/*
 * (REPS + 1) * ops GPAs of accesses of @size: random, aligned to
 * min(size, page), within [base, base + span). Each batch gets fresh ones,
 * so a cold batch does not find the previous batch's lines in the caches.
 */
static inline uint64_t *gen_gpas(uint64_t base, uint64_t span, uint64_t size,
				 unsigned int n)
{
	uint64_t align = size < PAGE ? size : PAGE;
	uint64_t slots = (span - size) / align + 1;
	uint64_t s = SEED ^ size ^ span, *g = malloc(n * sizeof(*g));

	for (unsigned int i = 0; i < n; i++)
		g[i] = base + rng_next(&s) % slots * align;
	return g;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Flush this mm's TLB as far as userspace can: unmapping more pages than
 * tlb_single_page_flush_ceiling (33) makes x86 flush the whole TLB of the
 * mm rather than single entries (QEMU's softmmu TLB follows).
 */
static inline void tlb_flush(void)
{
	size_t len = 64 * PAGE;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, len);
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* One CSV row: impl,path,workload,op,size,ops,ns_op,mb_s */
static inline void emit(const char *impl, const char *path,
			const char *workload, const char *op, uint64_t size,
			unsigned int ops, uint64_t ns)
{
	double ns_op = (double)ns / ops;

	printf("%s,%s,%s,%s,%llu,%u,%.1f,%.1f\n", impl, path, workload, op,
	       (unsigned long long)size, ops, ns_op, size * 1e3 / ns_op);
	fflush(stdout);
}

/*
 * Time one cell: a warm-up batch, then REPS timed batches of @n ops, each
 * on its own slice of @g, the TLB flushed before each; emit the median.
 * A macro rather than a callback so that the loop body is inlined, as it
 * is in the Rust twin.
 */
#define RUN(impl, path, wl, op, size, n, g, ...) do {			\
	uint64_t t_[REPS];						\
	for (unsigned int r_ = 0; r_ <= REPS; r_++) {			\
		const uint64_t *gp_ = (g) + (uint64_t)r_ * (n);		\
		uint64_t t0_;						\
		tlb_flush();						\
		t0_ = now_ns();						\
		for (unsigned int i = 0; i < (n); i++) {		\
			uint64_t gpa = gp_[i];				\
			__VA_ARGS__;					\
		}							\
		if (r_)							\
			t_[r_ - 1] = now_ns() - t0_;			\
	}								\
	emit(impl, path, wl, op, size, n, median(t_, REPS));		\
} while (0)

/* The boundary workload: every access straddles BND_EDGE by half. */
static inline uint64_t *gen_edge(uint64_t size, unsigned int n)
{
	uint64_t *g = malloc(n * sizeof(*g));

	for (unsigned int i = 0; i < n; i++)
		g[i] = BND_EDGE - size / 2;
	return g;
}

/* Page-aligned, pre-faulted scratch buffer. */
static inline void *xmap(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, 0x5a, len);
	return p;
}

/*
 * Which glibc memcpy the IFUNC resolver picked: &memcpy is the resolved
 * variant when loaded through the GOT (PIE code), else the binary's IPLT
 * stub "[endbr64] [bnd] jmp *disp32(%rip)", which we follow. run.sh names
 * the address with nm. Also print the hwcaps glibc chose from.
 */
static inline void print_copy_routine(const char *impl)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)memcpy;
	const void *target = p;

	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4;
	if (p[0] == 0xf2)
		p++;
	if (p[0] == 0xff && p[1] == 0x25) {
		int32_t disp;

		memcpy(&disp, p + 2, sizeof(disp));
		target = *(void *const *)(p + 6 + disp);
	}
	printf("# %s: memcpy=%p AT_HWCAP=%#lx AT_HWCAP2=%#lx\n", impl, target,
	       getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
}

#endif /* BENCH_COMMON_H */
