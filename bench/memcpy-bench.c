// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: the same accesses as vmmem-bench and vm-memory-bench, done as
 * plain memcpy() between two anonymous mappings, with "guest memory" flat
 * (the boundary has nothing to cross), lookups as a binary search of a
 * sorted array, and set-up as mmap(MAP_POPULATE).
 */
#include "common.h"

struct range {
	uint64_t gpa, size;
};

/* The range holding @gpa, or NULL: the search vm-memory and libvmmem do. */
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

int main(void)
{
	char *mem = xmap(MAIN_SIZE), *bnd = xmap(2 * BND_HALF);
	char *buf = xmap(MiB);
	static const char *const wls[] = { "cold", "hot", "boundary" };
	volatile uint64_t sink = 0;

	print_copy_routine("memcpy");
	for (unsigned int w = 0; w < 3; w++) {
		/* Host address of a GPA is base + gpa, without a branch. */
		char *base = w == 2 ? bnd - BND_BASE : mem;

		for (unsigned int s = 0; s < NR_SIZES; s++) {
			uint64_t sz = sizes[s];
			unsigned int n = batch_ops(sz);
			uint64_t *g = w == 2 ? gen_edge(sz, (REPS + 1) * n) :
				gen_gpas(0, w ? HOT_SIZE : MAIN_SIZE, sz,
					 (REPS + 1) * n);

			RUN("memcpy", "memcpy", wls[w], "read", sz, n, g,
			    memcpy(buf, base + gpa, sz));
			RUN("memcpy", "memcpy", wls[w], "write", sz, n, g,
			    memcpy(base + gpa, buf, sz));
			free(g);
		}
	}

	{
		unsigned int n = MAX_OPS;
		uint64_t *g = gen_gpas(0, HOT_SIZE, 8, (REPS + 1) * n);

		RUN("memcpy", "load-store", "obj", "read", 8, n, g,
		    sink = *(volatile uint64_t *)(mem + gpa));
		RUN("memcpy", "load-store", "obj", "write", 8, n, g,
		    *(volatile uint64_t *)(mem + gpa) = sink);
		free(g);
	}

	for (unsigned int c = 0; c < NR_COUNTS; c++) {
		unsigned int nr = nr_regions[c], n = MAX_OPS;
		struct range *r = malloc(nr * sizeof(*r));
		uint64_t *g = gen_gpas(0, nr * PAGE, 8, (REPS + 1) * n);
		char wl[32];

		for (unsigned int i = 0; i < nr; i++)
			r[i] = (struct range){ i * PAGE, PAGE };
		snprintf(wl, sizeof(wl), "lookup-%u", nr);
		RUN("memcpy", "bsearch", wl, "find", 8, n, g,
		    sink += find(r, nr, gpa)->size);
		free(g);
		free(r);
	}

	{
		uint64_t t[REPS];

		for (unsigned int r = 0; r <= REPS; r++) {
			uint64_t t0 = now_ns();
			void *p = mmap(NULL, SETUP_SIZE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_POPULATE, -1, 0);

			if (r)
				t[r - 1] = now_ns() - t0;
			if (p == MAP_FAILED) {
				perror("mmap");
				return 1;
			}
			munmap(p, SETUP_SIZE);
		}
		emit("memcpy", "mmap-populate", "setup", "setup", SETUP_SIZE,
		     1, median(t, REPS));
	}
	return 0;
}
