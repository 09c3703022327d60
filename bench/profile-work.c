// SPDX-License-Identifier: GPL-2.0
/*
 * A load for bench/profile.sh to sample: for SECONDS, either 64-op
 * VMMEM_IO_BATCH calls of 64-byte reads at random GPAs of a 256 MiB region
 * ("batch64"), or 1 MiB VMMEM_READs at random MiB boundaries ("bulk").
 *   profile-work batch64|bulk SECONDS
 */
#include <sys/ioctl.h>
#include "vmmem.h"
#include "common.h"

int main(int argc, char **argv)
{
	struct vmmem_io io[BATCH] = { 0 };
	struct vmmem_io_batch b = { .ops = (uintptr_t)io, .count = BATCH };
	uint64_t end, s = SEED, ops = 0;
	char *buf = xmap(MiB);
	struct vmmem *vm;
	bool bulk;
	int fd;

	if (argc != 3 || (strcmp(argv[1], "batch64") && strcmp(argv[1], "bulk"))) {
		fprintf(stderr, "usage: profile-work batch64|bulk SECONDS\n");
		return 2;
	}
	bulk = !strcmp(argv[1], "bulk");
	if (vmmem_open(&vm) || vmmem_add_region(vm, 0, MAIN_SIZE, NULL, 0, NULL)) {
		fprintf(stderr, "profile-work: no /dev/vmmem region\n");
		return 1;
	}
	fd = vmmem_fd(vm);
	end = now_ns() + strtoull(argv[2], NULL, 0) * 1000000000ULL;
	while (now_ns() < end) {
		unsigned int n = bulk ? 1 : BATCH;

		for (unsigned int i = 0; i < n; i++)
			io[i] = (struct vmmem_io){
				.guest_addr = bulk ?
					rng_next(&s) % (MAIN_SIZE / MiB) * MiB :
					rng_next(&s) % (MAIN_SIZE / 64) * 64,
				.user_addr = (uintptr_t)buf,
				.len = bulk ? MiB : 64,
				.flags = VMMEM_IO_EXACT,
			};
		if (bulk ? ioctl(fd, VMMEM_READ, io) :
			   ioctl(fd, VMMEM_IO_BATCH, &b)) {
			perror("profile-work: ioctl");
			return 1;
		}
		ops += n;
	}
	printf("%s: %llu accesses\n", argv[1], (unsigned long long)ops);
	vmmem_close(vm);
	return 0;
}
