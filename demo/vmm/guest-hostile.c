// SPDX-License-Identifier: GPL-2.0
/*
 * guest-hostile: a guest program that drives vmmem-vmm's devices as no
 * driver would, run as the guest's /hostile by its /init (guest-init,
 * vmm.hostile=MODE on the kernel command line; demo/vmm/hostile-test.sh).
 *
 * It reaches the virtio-mmio registers through /dev/mem (the guest kernel
 * does not load its virtio-mmio driver here, and runs with iomem=relaxed)
 * and builds its rings in pages of its own, whose guest-physical
 * addresses /proc/self/pagemap gives. Each check prints
 *   GUEST-HOSTILE NAME ok          or
 *   GUEST-HOSTILE NAME FAIL why
 * and, at the end, GUEST-HOSTILE-DONE.
 *
 * MODE all: queue sizes the device must refuse; DRIVER_OK out of order;
 * an avail index that runs away; a descriptor chain that loops; buffers
 * outside RAM, past the disk's end, over the rings themselves; a request
 * with no status byte; status bytes written over avail->idx (the device
 * must not serve for ever); odd MMIO accesses; the legacy ports; and at
 * the end a well-formed read, which must still work.
 * MODE spin: status bytes over avail->idx, and QueueNotify for ever: the
 * VMM must still stop at its --timeout and at SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define MMIO_GPA	0xd0000000UL	/* vmm.h: VIRTIO_MMIO_GPA */
#define PG		4096UL
#define QSIZE		4

enum {
	MAGIC = 0x000, DEV_FEAT = 0x010, DEV_FEAT_SEL = 0x014,
	DRV_FEAT = 0x020, DRV_FEAT_SEL = 0x024, QUEUE_SEL = 0x030,
	QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
	QUEUE_NOTIFY = 0x050, STATUS = 0x070, DESC_LO = 0x080,
	DESC_HI = 0x084, AVAIL_LO = 0x090, AVAIL_HI = 0x094, USED_LO = 0x0a0,
	USED_HI = 0x0a4, CONFIG = 0x100,
};

static volatile uint8_t *mmio;
static int failures;

/* A page of ours and its guest-physical address. */
struct page {
	volatile uint8_t *p;
	uint64_t gpa;
};

static struct page desc_pg, avail_pg, used_pg, hdr_pg, data_pg;

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(mmio + off);
}

static void wr(unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(mmio + off) = v;
}

static void result(const char *name, bool ok, const char *why)
{
	printf("GUEST-HOSTILE %s %s%s%s\n", name, ok ? "ok" : "FAIL",
	       ok ? "" : " ", ok ? "" : why);
	fflush(stdout);
	failures += !ok;
}

static void die(const char *what)
{
	printf("GUEST-HOSTILE setup FAIL %s: %s\n", what, strerror(errno));
	printf("GUEST-HOSTILE-DONE\n");
	exit(1);
}

static struct page page_alloc(void)
{
	struct page pg;
	uint64_t ent;
	int fd;

	pg.p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED,
		    -1, 0);
	if (pg.p == MAP_FAILED)
		die("mmap");
	memset((void *)pg.p, 0, PG);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pread(fd, &ent, 8, (uintptr_t)pg.p / PG * 8) != 8 ||
	    !(ent >> 63) || !(ent & ((1ULL << 55) - 1)))
		die("pagemap");
	close(fd);
	pg.gpa = (ent & ((1ULL << 55) - 1)) * PG;
	return pg;
}

static uint32_t status(void)
{
	return rd(STATUS);
}

/* Reset, then the driver's set-up of a queue of @num (0: none). */
static void device_init(uint32_t num)
{
	wr(STATUS, 0);
	memset((void *)desc_pg.p, 0, PG);
	memset((void *)avail_pg.p, 0, PG);
	memset((void *)used_pg.p, 0, PG);
	wr(STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(DRV_FEAT_SEL, 1);
	wr(DRV_FEAT, 1);		/* VIRTIO_F_VERSION_1, bit 32 */
	wr(DRV_FEAT_SEL, 0);
	wr(DRV_FEAT, 0);
	wr(STATUS, status() | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!num)
		return;
	wr(QUEUE_SEL, 0);
	wr(QUEUE_NUM, num);
	wr(DESC_LO, desc_pg.gpa);
	wr(DESC_HI, desc_pg.gpa >> 32);
	wr(AVAIL_LO, avail_pg.gpa);
	wr(AVAIL_HI, avail_pg.gpa >> 32);
	wr(USED_LO, used_pg.gpa);
	wr(USED_HI, used_pg.gpa >> 32);
	wr(QUEUE_READY, 1);
	wr(STATUS, status() | VIRTIO_CONFIG_S_DRIVER_OK);
}

static struct vring_desc *desc(unsigned int i)
{
	return (struct vring_desc *)(desc_pg.p + 16 * i);
}

static volatile uint16_t *avail_idx(void)
{
	return (volatile uint16_t *)(avail_pg.p + 2);
}

static volatile uint16_t *avail_ring(unsigned int i)
{
	return (volatile uint16_t *)(avail_pg.p + 4 + 2 * i);
}

static volatile uint16_t *used_idx(void)
{
	return (volatile uint16_t *)(used_pg.p + 2);
}

/*
 * Descriptors @d, @d + 1, @d + 2: a header (IN or OUT of @sector), @len
 * bytes at @data, and the status byte at @st.
 */
static void chain(unsigned int d, uint32_t type, uint64_t sector,
		  uint64_t data, uint32_t len, uint64_t st)
{
	struct virtio_blk_outhdr *h =
		(struct virtio_blk_outhdr *)(hdr_pg.p + 64 * d);

	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	*desc(d) = (struct vring_desc){ hdr_pg.gpa + 64 * d, sizeof(*h),
					VRING_DESC_F_NEXT, d + 1 };
	*desc(d + 1) = (struct vring_desc){ data, len, VRING_DESC_F_NEXT |
					    (type == VIRTIO_BLK_T_IN ?
					     VRING_DESC_F_WRITE : 0), d + 2 };
	*desc(d + 2) = (struct vring_desc){ st, 1, VRING_DESC_F_WRITE, 0 };
}

/* Offers @head as the next request and notifies. */
static void submit(uint16_t head)
{
	uint16_t i = *avail_idx();

	*avail_ring(i % QSIZE) = head;
	__sync_synchronize();
	*avail_idx() = i + 1;
	__sync_synchronize();
	wr(QUEUE_NOTIFY, 0);
}

static bool needs_reset(void)
{
	return status() & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* --- the checks ---------------------------------------------------------- */

static void queue_sizes(void)
{
	static const uint32_t bad[] = { 0, 3, 129, 256, 0x10000, 0x10004 };
	char why[80];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		device_init(0);
		wr(QUEUE_SEL, 0);
		wr(QUEUE_NUM, bad[i]);
		wr(QUEUE_READY, 1);
		if (rd(QUEUE_READY)) {
			snprintf(why, sizeof(why), "QueueNum %#x made ready",
				 bad[i]);
			result("queue_size_refused", false, why);
			return;
		}
	}
	result("queue_size_refused", rd(QUEUE_NUM_MAX) == 128,
	       "QueueNumMax is not 128");
}

static void driver_ok_out_of_order(void)
{
	wr(STATUS, 0);
	wr(STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	result("driver_ok_without_a_queue_needs_reset", needs_reset(),
	       "no NEEDS_RESET");
}

static void runaway_avail(void)
{
	device_init(QSIZE);
	chain(0, VIRTIO_BLK_T_IN, 0, data_pg.gpa, 512, hdr_pg.gpa + 3000);
	*avail_ring(0) = 0;
	*avail_idx() = 1000;
	wr(QUEUE_NOTIFY, 0);
	result("avail_index_past_the_queue_needs_reset",
	       needs_reset() && *used_idx() == 0,
	       "served, or no NEEDS_RESET");
}

static void looping_chain(void)
{
	device_init(QSIZE);
	*desc(0) = (struct vring_desc){ hdr_pg.gpa, 16, VRING_DESC_F_NEXT, 1 };
	*desc(1) = (struct vring_desc){ data_pg.gpa, 512, VRING_DESC_F_NEXT, 0 };
	submit(0);
	result("looping_chain_needs_reset", needs_reset() && *used_idx() == 0,
	       "served, or no NEEDS_RESET");
}

static void no_status_byte(void)
{
	device_init(QSIZE);
	*desc(0) = (struct vring_desc){ hdr_pg.gpa, 16, 0, 0 };
	submit(0);
	result("request_without_status_byte_needs_reset", needs_reset(),
	       "no NEEDS_RESET");
}

/* One request from @head whose status byte is at hdr_pg + @st_off. */
static int one(uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	volatile uint8_t *st = hdr_pg.p + 3000;

	device_init(QSIZE);
	*st = 0xff;
	chain(0, type, sector, data, len, hdr_pg.gpa + 3000);
	submit(0);
	if (needs_reset() || *used_idx() != 1)
		return -1;
	return *st;
}

static void bad_buffers(void)
{
	int s;

	s = one(VIRTIO_BLK_T_IN, 0, 0x300000000ULL, 512);
	result("buffer_outside_ram_fails_the_request", s == VIRTIO_BLK_S_IOERR,
	       "not IOERR");
	s = one(VIRTIO_BLK_T_OUT, 0, 0x300000000ULL, 512);
	result("write_from_outside_ram_fails_the_request",
	       s == VIRTIO_BLK_S_IOERR, "not IOERR");
	s = one(VIRTIO_BLK_T_IN, 1ULL << 60, data_pg.gpa, 512);
	result("sector_past_the_disk_fails_the_request",
	       s == VIRTIO_BLK_S_IOERR, "not IOERR");
	s = one(VIRTIO_BLK_T_OUT, (8 << 20) / 512 - 1, data_pg.gpa, 4096);
	result("write_across_the_disk_end_fails_the_request",
	       s == VIRTIO_BLK_S_IOERR, "not IOERR");
	s = one(VIRTIO_BLK_T_IN, 0, 0, 0xfffffe00);
	result("huge_buffer_fails_the_request", s == VIRTIO_BLK_S_IOERR,
	       "not IOERR");
	/* The data over our own descriptors: the device must survive it. */
	s = one(VIRTIO_BLK_T_IN, 0, desc_pg.gpa, 512);
	result("read_over_the_descriptors", s == VIRTIO_BLK_S_OK, "not OK");
	s = one(VIRTIO_BLK_T_IN, 0, avail_pg.gpa, 512);
	result("read_over_the_avail_ring", s >= 0 || needs_reset(),
	       "no answer");
}

/*
 * Two chains of two descriptors (all a 4-entry queue holds) whose status
 * bytes land on avail->idx's low byte: one that succeeds (a read of no
 * data: 0), one that fails (a header too short: 1). The index never
 * settles; each notify must come back all the same.
 */
static void status_over_avail_setup(void)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)hdr_pg.p;

	device_init(QSIZE);
	h->type = VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = 0;
	*desc(0) = (struct vring_desc){ hdr_pg.gpa, sizeof(*h),
					VRING_DESC_F_NEXT, 1 };
	*desc(1) = (struct vring_desc){ avail_pg.gpa + 2, 1,
					VRING_DESC_F_WRITE, 0 };
	*desc(2) = (struct vring_desc){ hdr_pg.gpa, 8, VRING_DESC_F_NEXT, 3 };
	*desc(3) = (struct vring_desc){ avail_pg.gpa + 2, 1,
					VRING_DESC_F_WRITE, 0 };
	*avail_ring(0) = 0;
	*avail_ring(1) = 2;
	*avail_ring(2) = 0;
	*avail_ring(3) = 2;
}

static void status_over_avail(void)
{
	int i;

	status_over_avail_setup();
	for (i = 0; i < 50; i++) {
		*avail_idx() = *used_idx() + 2;
		wr(QUEUE_NOTIFY, 0);
	}
	result("status_bytes_over_avail_idx_end_each_notify",
	       rd(MAGIC) == 0x74726976, "the device is gone");
}

static void odd_accesses(void)
{
	volatile uint16_t *w = (volatile uint16_t *)(mmio + 0x38);
	unsigned int off;
	uint8_t b = 0;

	for (off = 0; off < 0x200; off++) {
		b ^= mmio[off];
		mmio[off] = 0xff;		/* one-byte writes: ignored */
	}
	*w = 0xffff;
	b ^= *w;
	for (off = CONFIG; off < 0x1000; off += 4)
		wr(off, 0xffffffff);	/* config space is read-only */
	wr(0x3, 0xffffffff);		/* unaligned */
	(void)b;
	result("odd_mmio_accesses", rd(MAGIC) == 0x74726976 &&
	       rd(CONFIG) != 0xffffffff, "the device changed");
}

static void legacy_ports(void)
{
	static const uint16_t junk[] = {
		0x70, 0x71, 0x60, 0x61, 0x80, 0xe9, 0x3ff, 0x600, 0x601,
		0x602, 0x603, 0x1000, 0x5658, 0xcf8, 0xcfc, 0xfff0,
	};
	unsigned int i, v;

	if (iopl(3)) {
		result("legacy_ports", false, "iopl");
		return;
	}
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		for (v = 0; v < 256; v += 17) {
			outb(v, junk[i]);
			(void)inb(junk[i]);
			outw(v * 257, junk[i]);
			(void)inl(junk[i]);
		}
	/* The i8042's commands but its reset pulse (0xfe). */
	for (v = 0; v < 0xfe; v += 13)
		outb(v, 0x64);
	iopl(0);
	result("legacy_ports", true, "");
}

/* After all that, a request as a driver makes it must still work. */
static void still_works(void)
{
	int s = one(VIRTIO_BLK_T_IN, 0, data_pg.gpa, 512);

	result("a_good_read_after_it_all",
	       s == VIRTIO_BLK_S_OK &&
	       !memcmp((const void *)data_pg.p, "HOSTILE-IMAGE", 13),
	       "no data");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";
	int fd = open("/dev/mem", O_RDWR | O_SYNC);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0)
		die("/dev/mem");
	mmio = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, MMIO_GPA);
	if (mmio == MAP_FAILED)
		die("mmap of the virtio-mmio page");
	if (rd(MAGIC) != 0x74726976)
		die("no virtio-mmio magic");
	desc_pg = page_alloc();
	avail_pg = page_alloc();
	used_pg = page_alloc();
	hdr_pg = page_alloc();
	data_pg = page_alloc();

	if (!strcmp(mode, "spin")) {
		status_over_avail_setup();
		printf("GUEST-HOSTILE spinning\n");
		for (;;) {
			*avail_idx() = *used_idx() + 2;
			wr(QUEUE_NOTIFY, 0);
		}
	}
	queue_sizes();
	driver_ok_out_of_order();
	runaway_avail();
	looping_chain();
	no_status_byte();
	bad_buffers();
	status_over_avail();
	odd_accesses();
	legacy_ports();
	still_works();
	printf("GUEST-HOSTILE-DONE %d failed\n", failures);
	return failures != 0;
}
