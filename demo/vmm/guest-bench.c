// SPDX-License-Identifier: GPL-2.0
/*
 * guest-bench: the guest's half of the benchmarks (demo/vmm/bench.sh).
 *   bench DEV SECS   the disk: runs in the guest vmmem-vmm boots, on its
 *                    virtio-blk disk, with O_DIRECT so that every read
 *                    reaches the device: sequential 1 MiB reads, then
 *                    random 4 KiB reads, each for about @secs seconds of
 *                    the guest's clock (kvm-clock). Prints
 *                    "GUEST-BENCH <test> <MiB/s> MiB/s <IOPS> IOPS".
 *   bench mem MIB    guest memory: MIB of it written once, then random
 *                    8-byte reads all over it and a sequential pass.
 *                    Prints "GUEST-BENCH mem-rand <ns> ns" and
 *                    "GUEST-BENCH mem-seq <MiB/s> MiB/s".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(int fd, const char *name, size_t bs, unsigned long long size,
		bool rnd, double secs, void *buf)
{
	unsigned long long blocks = size / bs, ops = 0, off = 0;
	double t0 = now(), t;

	srandom(1);
	do {
		if (rnd)
			off = (random() % blocks) * bs;
		if (pread(fd, buf, bs, off) != (ssize_t)bs) {
			perror("pread");
			exit(1);
		}
		ops++;
		off = (off + bs) % (blocks * bs);
	} while ((t = now() - t0) < secs);
	printf("GUEST-BENCH %s %.1f MiB/s %.0f IOPS\n", name,
	       ops * bs / t / (1 << 20), ops / t);
	fflush(stdout);
}

/* Random 8-byte reads over @mib MiB, then one sequential pass. */
static int mem(unsigned long mib)
{
	unsigned long long n = mib << 20, i, reads = 4000000, seed = 1;
	volatile unsigned long long sum = 0;
	unsigned long long *p = malloc(n);
	double t;

	if (!p) {
		perror("malloc");
		return 1;
	}
	for (i = 0; i < n / 8; i += 512)
		p[i] = i;
	t = now();
	for (i = 0; i < reads; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		sum += p[(seed >> 20) % (n / 8)];
	}
	t = now() - t;
	printf("GUEST-BENCH mem-rand %.1f ns\n", t / reads * 1e9);
	t = now();
	for (i = 0; i < n / 8; i++)
		sum += p[i];
	t = now() - t;
	printf("GUEST-BENCH mem-seq %.1f MiB/s\n", mib / t);
	fflush(stdout);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/vda";
	double secs = argc > 2 ? atof(argv[2]) : 5;
	unsigned long long size;
	void *buf;
	int fd;

	if (argc > 2 && !strcmp(dev, "mem"))
		return mem(strtoul(argv[2], NULL, 0));
	fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) ||
	    posix_memalign(&buf, 4096, 1 << 20)) {
		perror(dev);
		return 1;
	}
	run(fd, "seq-1M", 1 << 20, size, false, secs, buf);
	run(fd, "rand-4K", 4096, size, true, secs, buf);
	return 0;
}
