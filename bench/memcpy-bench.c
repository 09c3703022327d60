// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the lookups and the set-up: a binary search of a sorted
 * array, and mmap(MAP_POPULATE). (The copies' floor, plain memcpy(), is
 * timed by vmmem-bench.c beside the others.)
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
	volatile uint64_t sink = 0;

	print_copy_routine("memcpy");
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
