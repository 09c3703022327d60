// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of region set-up: mmap(MAP_POPULATE) of anonymous memory. (The
 * floors of the copies and lookups, memcpy() and a binary search, are timed
 * by vmmem-bench.c beside the others.)
 */
#include "common.h"

int main(void)
{
	uint64_t t[REPS];

	print_copy_routine("memcpy");
	for (unsigned int r = 0; r <= REPS; r++) {
		uint64_t t0 = now_ns();
		void *p = mmap(NULL, SETUP_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (r)
			t[r - 1] = now_ns() - t0;
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		munmap(p, SETUP_SIZE);
	}
	emit("memcpy", "mmap-populate", "setup", "setup", SETUP_SIZE, 1,
	     median(t, REPS));
	return 0;
}
