// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem-demo - a tiny VMM-shaped user of libvmmem.
 *
 * Guest layout, an x86 VMM's scaled down:
 *   [0, L)               low RAM, allocated by the module
 *   [L, L + M)           RAM from a memfd of ours, pinned, adjacent to low RAM
 *   [L + M, 4G - 256K)   hole (a real VMM puts MMIO there)
 *   [4G - 256K, 4G)      firmware ROM: our memory, pinned read-only
 *   [4G, 4G + H)         high RAM, allocated by the module
 * A payload is loaded across the low RAM/memfd boundary and read back
 * through the ioctls and through host mappings, and then checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmmem.h"

#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define ROM_SIZE	(256ULL << 10)
#define ROM_GPA		(4 * GiB - ROM_SIZE)
#define HIGH_GPA	(4 * GiB)
#define GEN_PAYLOAD	(8 * MiB)

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmmem-demo: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A libvmmem call that must return exactly @want. */
static void expect(long ret, long want, const char *what)
{
	if (ret == want)
		return;
	if (ret < 0)
		fail("%s: %s (expected %ld)", what, strerror(-ret), want);
	fail("%s: returned %ld, expected %ld", what, ret, want);
}

static uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}
#define FNV_INIT	0xcbf29ce484222325ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mibs(size_t len, double secs)
{
	return secs > 0 ? len / (double)MiB / secs : 0;
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %zu bytes: %s", len, strerror(errno));
	return p;
}

static void *load_payload(const char *path, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t off;
	char *buf;
	int fd;

	if (!path) {
		/* xorshift64: incompressible, reproducible. */
		uint64_t x = 0x9e3779b97f4a7c15ULL, *w;

		*len = GEN_PAYLOAD;
		w = map_anon(*len);
		for (off = 0; off < *len / 8; off++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[off] = x;
		}
		return w;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		fail("%s: %s", path, strerror(errno));
	if (st.st_size < 2)
		fail("%s: payload must be at least 2 bytes", path);
	*len = st.st_size;
	buf = map_anon(*len);
	for (off = 0; off < *len; off += n) {
		n = read(fd, buf + off, *len - off);
		if (n <= 0)
			fail("%s: read: %s", path, n ? strerror(errno) : "EOF");
	}
	close(fd);
	return buf;
}

static int print_region(const struct vmmem_region_info *r, void *arg)
{
	char off[24] = "-";

	(void)arg;
	if (r->mmap_offset != VMMEM_NO_MMAP)
		snprintf(off, sizeof(off), "0x%" PRIx64, (uint64_t)r->mmap_offset);
	printf("  %4u  0x%012" PRIx64 "-0x%012" PRIx64 "  %8" PRIu64
	       " KiB  %-6s  %-2s  %4u  %s\n", r->id, (uint64_t)r->guest_addr,
	       (uint64_t)(r->guest_addr + r->size - 1),
	       (uint64_t)r->size >> 10,
	       r->backing == VMMEM_BACKING_USER ? "user" : "kernel",
	       r->flags & VMMEM_REGION_READONLY ? "ro" : "rw",
	       r->huge_chunks, off);
	return 0;
}

static void add_region(struct vmmem *vm, const char *name, uint64_t gpa,
		       uint64_t size, void *ua, uint32_t flags,
		       struct vmmem_region_info *ri)
{
	int ret = vmmem_add_region(vm, gpa, size, ua, flags, ri);

	if (ret == -ENOMEM && ua)
		fail("add %s: %s: pinning needs RLIMIT_MEMLOCK >= %" PRIu64
		     " KiB (ulimit -l) or CAP_IPC_LOCK", name, strerror(-ret),
		     size >> 10);
	if (ret)
		fail("add %s at 0x%" PRIx64 ": %s", name, gpa, strerror(-ret));
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmmem-demo [--low-mib N] [--memfd-mib N] [--high-mib N]\n"
		"                  [--payload FILE] [--dev PATH]\n"
		"Lays out a small x86-like guest in /dev/vmmem (or PATH, or\n"
		"$VMMEM_DEV), loads a payload (default: 8 MiB generated) across\n"
		"the low RAM/memfd boundary and verifies it. Defaults: 64, 16, 64.\n");
}

static uint64_t parse_mib(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > 1ULL << 20)
		fail("%s: bad size '%s'", opt, s);
	return v * MiB;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "low-mib", required_argument, NULL, 'l' },
		{ "memfd-mib", required_argument, NULL, 'm' },
		{ "high-mib", required_argument, NULL, 'H' },
		{ "payload", required_argument, NULL, 'p' },
		{ "dev", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	uint64_t low = 64 * MiB, mfd = 16 * MiB, high = 64 * MiB;
	uint64_t gpa, hole, last, h_in, h_ioctl, h_host, v;
	const char *payload_path = NULL, *dev = NULL;
	struct vmmem_region_info mfd_ri;
	unsigned char *payload, *back, *ram, *rom, tmp[16];
	struct vmmem_io ops[2];
	size_t len, off, n, done;
	unsigned int pieces;
	struct vmmem *vm;
	double t, t_wr, t_rd, t_host;
	int c, ret, memfd;
	void *p;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': low = parse_mib(optarg, "--low-mib"); break;
		case 'm': mfd = parse_mib(optarg, "--memfd-mib"); break;
		case 'H': high = parse_mib(optarg, "--high-mib"); break;
		case 'p': payload_path = optarg; break;
		case 'd': dev = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !low || !mfd) {
		usage(stderr);
		return 2;
	}
	/* Keep a hole below the ROM: the demo reads into it. */
	if (low + mfd >= ROM_GPA)
		fail("low RAM + memfd RAM must stay below 0x%llx", ROM_GPA);

	ret = dev ? vmmem_open_path(dev, &vm) : vmmem_open(&vm);
	if (ret)
		fail("open %s: %s%s", dev ? dev : "vmmem device", strerror(-ret),
		     ret == -ENOENT ? " (is the vmmem module loaded?)" : "");
	ret = vmmem_api_version(vm);
	if (ret < 0)
		fail("API version: %s (not a vmmem device?)", strerror(-ret));
	if (ret != VMMEM_API_VERSION)
		fail("API version %d, this program speaks %d", ret,
		     VMMEM_API_VERSION);

	/* Guest RAM a VMM can share with other processes: a memfd. */
	memfd = memfd_create("vmmem-demo-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, mfd))
		fail("memfd: %s", strerror(errno));
	ram = mmap(NULL, mfd, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		fail("mmap memfd: %s", strerror(errno));

	/* Firmware: 0xff filler and a far jump at the reset vector. */
	rom = map_anon(ROM_SIZE);
	memset(rom, 0xff, ROM_SIZE);
	memcpy(rom + ROM_SIZE - 16, "\xea\x5b\xe0\x00\xf0", 5);

	add_region(vm, "low RAM", 0, low, NULL, 0, NULL);
	add_region(vm, "memfd RAM", low, mfd, ram, 0, &mfd_ri);
	add_region(vm, "ROM", ROM_GPA, ROM_SIZE, rom, VMMEM_REGION_READONLY,
		   NULL);
	if (high)
		add_region(vm, "high RAM", HIGH_GPA, high, NULL, 0, NULL);

	printf("vmmem API %d, regions:\n  %4s  %-29s  %12s  %-6s  %-2s  %4s  %s\n",
	       VMMEM_API_VERSION, "id", "guest range", "size", "back", "",
	       "2M", "mmap offset");
	expect(vmmem_for_each_region(vm, print_region, NULL), 0, "list");
	expect(vmmem_regions(vm, NULL, 0), high ? 4 : 3, "region count");
	expect(vmmem_last_addr(vm, &last), 0, "last_addr");
	if (last != (high ? HIGH_GPA + high : 4 * GiB) - 1)
		fail("last_addr 0x%" PRIx64, last);

	/* Payload across the low RAM/memfd boundary. */
	payload = load_payload(payload_path, &len);
	if (len / 2 > low || len - len / 2 > mfd)
		fail("payload of %zu bytes does not fit half below and half "
		     "above GPA 0x%" PRIx64 " (%" PRIu64 " bytes below, %"
		     PRIu64 " above)", len, low, low, mfd);
	gpa = low - len / 2;
	h_in = fnv1a(FNV_INIT, payload, len);
	back = map_anon(len);
	memset(back, 0, len);	/* fault it in: time the copies only */
	if (!vmmem_check_range(vm, gpa, len))
		fail("payload range not backed");

	t = now();
	expect(vmmem_write_exact(vm, gpa, payload, len, &done), 0,
	       "write payload");
	t_wr = now() - t;
	t = now();
	expect(vmmem_read_exact(vm, gpa, back, len, &done), 0, "read payload");
	t_rd = now() - t;
	h_ioctl = fnv1a(FNV_INIT, back, len);

	/* Host view: one piece per region, copied out like the ioctl. */
	memset(back, 0, len);
	t = now();
	for (off = 0, pieces = 0; off < len; off += n, pieces++) {
		expect(vmmem_get_host_address(vm, gpa + off, &p, &n), 0,
		       "get_host_address");
		if (n > len - off)
			n = len - off;
		memcpy(back + off, p, n);
	}
	t_host = now() - t;
	h_host = fnv1a(FNV_INIT, back, len);

	printf("payload: %zu bytes at GPA 0x%" PRIx64 "-0x%" PRIx64
	       " (%s), fnv1a64 %016" PRIx64 "\n", len, gpa, gpa + len - 1,
	       payload_path ? payload_path : "generated", h_in);
	printf("  write  vmmem_write_exact       %8.1f MiB/s\n",
	       mibs(len, t_wr));
	printf("  read   vmmem_read_exact        %8.1f MiB/s  fnv1a64 %016"
	       PRIx64 "\n", mibs(len, t_rd), h_ioctl);
	printf("  read   host address, %u pieces  %8.1f MiB/s  fnv1a64 %016"
	       PRIx64 "\n", pieces, mibs(len, t_host), h_host);
	if (h_ioctl != h_in)
		fail("payload read through ioctl differs");
	if (h_host != h_in || memcmp(back, payload, len))
		fail("payload read through host mappings differs");
	if (pieces != 2)
		fail("payload spans %u regions, expected 2", pieces);
	/* The pinned pages are our memfd's: the guest's writes show there. */
	if (memcmp(ram, payload + len / 2, len - len / 2))
		fail("memfd does not hold the payload's upper half");

	/* Host writes are guest writes, and the other way round. */
	if (high) {
		expect(vmmem_get_host_address(vm, HIGH_GPA, &p, &n), 0,
		       "get_host_address high");
		*(volatile uint64_t *)p = 0x1122334455667788ULL;
		expect(vmmem_read_obj(vm, HIGH_GPA, &v), 0, "read_obj");
		if (v != 0x1122334455667788ULL)
			fail("host write not seen by ioctl read");
		v = 0xdeadbeefcafef00dULL;
		expect(vmmem_write_obj(vm, HIGH_GPA + 8, &v), 0, "write_obj");
		if (((volatile uint64_t *)p)[1] != v)
			fail("ioctl write not seen through host mapping");
	}

	/* ROM: readable, not writable through vmmem. */
	expect(vmmem_read_exact(vm, 4 * GiB - 16, tmp, 16, NULL), 0,
	       "read ROM");
	if (memcmp(tmp, rom + ROM_SIZE - 16, 16))
		fail("ROM reset vector differs");
	expect(vmmem_write(vm, ROM_GPA, tmp, 1), -EACCES, "write ROM");

	/* A descriptor chain: two pieces, one call. */
	vmmem_io_op(&ops[0], gpa, tmp, 8, VMMEM_IO_EXACT);
	vmmem_io_op(&ops[1], low - 4, tmp + 8, 8, VMMEM_IO_EXACT);
	expect(vmmem_io_batch(vm, ops, 2, NULL), 0, "io_batch");
	if (memcmp(tmp, payload, 8) || memcmp(tmp + 8, payload + len / 2 - 4, 8))
		fail("io_batch data differs");

	/* The hole after the memfd RAM. */
	hole = low + mfd;
	expect(vmmem_read(vm, hole, tmp, 16), -ENXIO, "read in hole");
	expect(vmmem_read(vm, hole - 8, tmp, 16), 8, "read into hole");
	expect(vmmem_read_exact(vm, hole - 8, tmp, 16, &done), -ERANGE,
	       "read_exact into hole");
	expect(done, 8, "read_exact into hole: done");
	expect(vmmem_get_host_address(vm, hole, &p, &n), -ENXIO,
	       "get_host_address in hole");
	if (vmmem_address_in_range(vm, hole) ||
	    vmmem_check_range(vm, hole - 8, 16))
		fail("hole reported as backed");
	printf("hole at 0x%" PRIx64 ": -ENXIO in it, 8 of 16 bytes across "
	       "its edge, -ERANGE exact\n", hole);

	/* Unplug the memfd RAM: the payload is no longer whole. */
	expect(vmmem_remove_region(vm, mfd_ri.id), 0, "remove memfd RAM");
	if (vmmem_check_range(vm, gpa, len) || vmmem_address_in_range(vm, low))
		fail("removed region still backed");
	expect(vmmem_read(vm, gpa, back, len), len / 2, "read after remove");

	vmmem_close(vm);
	printf("vmmem-demo: OK\n");
	return 0;
}
