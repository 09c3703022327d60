// SPDX-License-Identifier: GPL-2.0
/*
 * guest-bench: the guest's half of the disk benchmark (demo/vmm/bench.sh).
 * Runs in the guest vmmem-vmm boots, on its virtio-blk disk, with O_DIRECT
 * so that every read reaches the device: sequential 1 MiB reads, then
 * random 4 KiB reads, each for about @secs seconds of the guest's clock
 * (kvm-clock). Prints "GUEST-BENCH <test> <MiB/s> MiB/s <IOPS> IOPS".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/vda";
	double secs = argc > 2 ? atof(argv[2]) : 5;
	unsigned long long size;
	void *buf;
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) ||
	    posix_memalign(&buf, 4096, 1 << 20)) {
		perror(dev);
		return 1;
	}
	run(fd, "seq-1M", 1 << 20, size, false, secs, buf);
	run(fd, "rand-4K", 4096, size, true, secs, buf);
	return 0;
}
