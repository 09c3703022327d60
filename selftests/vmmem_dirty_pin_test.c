// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty log and writes that need no fault: a page taken by a pin
 * (process_vm_writev(), O_DIRECT on 6.12) or by a plain reference (6.1's
 * O_DIRECT) while its pte was writable can be written through it later,
 * behind the log's back. Such a page must be reported by every harvest
 * while it is held and once more after, whenever the reference was taken:
 * before DIRTY_START, during a harvest, across STOP and START, through a
 * mapping that is gone. And a page that is only mapped many times is no
 * such page: it is reported once per write.
 *
 * The pins here are process_vm_writev() calls whose source is
 * userfaultfd memory: the target page is pinned, then the copy waits
 * until the test lets it go. The O_DIRECT reads come from a loop device
 * behind a device-mapper delay, so that each stays in flight across a
 * harvest; READ_FROM_FD's partial failure from a table half "error".
 */
#include <pthread.h>
#include <sys/uio.h>

#include "vmmem_test.h"
#include "vmmem_blk.h"
#include "vmmem_stall.h"

#define GPA		0x1000000ULL
#define NP		64

/*
 * Harvests [GPA, GPA + @n pages) and lists the dirty pages in @out
 * ("3 9 10 "); "error: ..." if the harvest fails.
 */
static const char *harvest_list(int fd, unsigned long n, char *out,
				size_t size)
{
	__u64 *bmp = calloc((n + 63) / 64, 8);
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = n * PG,
					 .buf = ptr2u(bmp) };
	size_t len = 0;
	unsigned long i;

	out[0] = '\0';
	if (!bmp || ioctl(fd, VMMEM_DIRTY_HARVEST, &h)) {
		snprintf(out, size, "error: %s", strerror(errno));
		free(bmp);
		return out;
	}
	for (i = 0; i < n && len < size - 16; i++)
		if (bmp[i / 64] >> (i % 64) & 1)
			len += snprintf(out + len, size - len, "%lu ", i);
	free(bmp);
	return out;
}

#define DIRTY(fd, n) harvest_list((fd), (n), list, sizeof(list))

FIXTURE(pin) {
	int fd;
	struct vmmem_region_add a;
	unsigned char *m;
	struct stall_pin p;
};

FIXTURE_SETUP(pin)
{
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vm_add(self->fd, GPA, NP * PG, 0, 0, &self->a));
	self->m = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, self->a.mmap_offset);
	ASSERT_NE(MAP_FAILED, self->m);
	self->p.running = false;
}

FIXTURE_TEARDOWN(pin)
{
	stall_unpin(&self->p);
	if (self->m != MAP_FAILED)
		munmap(self->m, NP * PG);
	close(self->fd);
}

/*
 * Finding 1: a pin taken before DIRTY_START is written through with no
 * fault; START must count it, and every harvest while it is held.
 */
TEST_F(pin, a_pin_taken_before_start_is_reported_while_held_and_once_after)
{
	char list[256];

	ASSERT_EQ(0, stall_pin(&self->p, self->m + 3 * PG, 0x33));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, NP * PG));
	EXPECT_STREQ("3 ", DIRTY(self->fd, NP));
	EXPECT_STREQ("3 ", DIRTY(self->fd, NP));
	ASSERT_EQ(PG, stall_unpin(&self->p));
	EXPECT_EQ(0x33, self->m[3 * PG + PG - 1]);
	/* the round after the pin went: once more, then clean */
	EXPECT_STREQ("3 ", DIRTY(self->fd, NP));
	EXPECT_STREQ("", DIRTY(self->fd, NP));
}

TEST_F(pin, a_pin_held_across_stop_and_start_is_reported)
{
	char list[256];

	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, NP * PG));
	ASSERT_EQ(0, stall_pin(&self->p, self->m + 5 * PG, 0x55));
	EXPECT_STREQ("5 ", DIRTY(self->fd, NP));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_STOP, GPA, NP * PG));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, NP * PG));
	EXPECT_STREQ("5 ", DIRTY(self->fd, NP));
	ASSERT_EQ(PG, stall_unpin(&self->p));
	EXPECT_STREQ("5 ", DIRTY(self->fd, NP));
	EXPECT_STREQ("", DIRTY(self->fd, NP));
}

/* The pin outlives the only mapping: START finds nothing mapped. */
TEST_F(pin, a_pin_that_outlived_its_mapping_is_reported)
{
	char list[256];

	ASSERT_EQ(0, stall_pin(&self->p, self->m + 7 * PG, 0x77));
	ASSERT_EQ(0, munmap(self->m, NP * PG));
	self->m = MAP_FAILED;
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA, NP * PG));
	EXPECT_STREQ("7 ", DIRTY(self->fd, NP));
	ASSERT_EQ(PG, stall_unpin(&self->p));
	EXPECT_STREQ("7 ", DIRTY(self->fd, NP));
	EXPECT_STREQ("", DIRTY(self->fd, NP));
}

/*
 * Finding 3: mappings hold page references too; 1023 of them (with the
 * region's own) made a page look pinned to folio_maybe_dma_pinned(), so
 * every harvest reported it again and a pre-copy never converged.
 */
#define MANY_MAPS	1100

TEST(a_page_with_1100_mappings_is_reported_once_per_write)
{
	unsigned char *maps[MANY_MAPS], v = 1;
	struct vmmem_region_add a;
	char list[256];
	int fd, i;

	fd = vm_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GPA, PG, 0, VMMEM_REGION_DIRTY_LOG, &a));
	for (i = 0; i < MANY_MAPS; i++) {
		maps[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, a.mmap_offset);
		ASSERT_NE(MAP_FAILED, maps[i]) TH_LOG("mapping %d", i);
	}
	maps[MANY_MAPS - 1][0] = 1;
	EXPECT_STREQ("0 ", DIRTY(fd, 1));
	EXPECT_STREQ("", DIRTY(fd, 1));
	EXPECT_STREQ("", DIRTY(fd, 1));
	maps[0][1] = 2;
	maps[7][2] = 3;
	EXPECT_STREQ("0 ", DIRTY(fd, 1));
	EXPECT_STREQ("", DIRTY(fd, 1));
	ASSERT_EQ(0, vm_write(fd, GPA, &v, 1, 0, NULL));
	EXPECT_STREQ("0 ", DIRTY(fd, 1));
	EXPECT_STREQ("", DIRTY(fd, 1));
	/* and START does not take them for a pin either */
	ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_STOP, GPA, PG));
	ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_START, GPA, PG));
	EXPECT_STREQ("", DIRTY(fd, 1));
	for (i = 0; i < MANY_MAPS; i++)
		munmap(maps[i], PG);
	close(fd);
}

/*
 * Finding 2: a pin taken during a harvest, after it took the page's bit
 * and before it write-protected the pte, needs no fault; the harvest must
 * count references after it write-protects. The window is the harvest's
 * walk over a region of 4096 pages under 96 mappings: pages 0 and 4095
 * are dirty, the pin goes to page 4095 while the harvest runs.
 */
#define RACE_PAGES	4096
#define RACE_MAPS	96
#define RACE_ROUNDS	20

struct bg_harvest {
	int fd;
	char list[64];
	pthread_t th;
};

static void *bg_harvest_run(void *arg)
{
	struct bg_harvest *b = arg;
	__u64 *bmp = calloc(RACE_PAGES / 64, 8);
	struct vmmem_dirty_harvest h = { .guest_addr = GPA,
					 .len = RACE_PAGES * PG,
					 .buf = ptr2u(bmp) };

	snprintf(b->list, sizeof(b->list), "%s",
		 bmp && !ioctl(b->fd, VMMEM_DIRTY_HARVEST, &h) ? "ok" :
		 strerror(errno));
	free(bmp);
	return NULL;
}

static bool page_dirty(int fd, unsigned long page, unsigned long n)
{
	__u64 *bmp = calloc((n + 63) / 64, 8);
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = n * PG,
					 .buf = ptr2u(bmp) };
	bool dirty = false;

	if (bmp && !ioctl(fd, VMMEM_DIRTY_HARVEST, &h))
		dirty = bmp[page / 64] >> (page % 64) & 1;
	free(bmp);
	return dirty;
}

FIXTURE(race) {
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, a_pin_taken_during_a_harvest_is_reported, 120)
{
	unsigned char *maps[RACE_MAPS];
	struct vmmem_region_add a;
	struct bg_harvest bg;
	struct stall_pin p;
	int fd, i, round, lost = 0;

	fd = vm_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GPA, RACE_PAGES * PG, 0,
			    VMMEM_REGION_DIRTY_LOG, &a));
	for (i = 0; i < RACE_MAPS; i++) {
		maps[i] = mmap(NULL, RACE_PAGES * PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, a.mmap_offset);
		ASSERT_NE(MAP_FAILED, maps[i]);
	}
	bg.fd = fd;
	for (round = 0; round < RACE_ROUNDS; round++) {
		maps[0][0] = round;
		maps[0][(RACE_PAGES - 1) * PG] = round;
		ASSERT_EQ(0, pthread_create(&bg.th, NULL, bg_harvest_run, &bg));
		usleep(1000 * (round % 4));
		/* through the mapping written: its pte is writable */
		ASSERT_EQ(0, stall_pin(&p, maps[0] + (RACE_PAGES - 1) * PG,
				      0x80 + round));
		pthread_join(bg.th, NULL);
		ASSERT_STREQ("ok", bg.list);
		ASSERT_EQ(PG, stall_unpin(&p));
		ASSERT_EQ(0x80 + round, maps[0][(RACE_PAGES - 1) * PG]);
		/* the write landed after the harvest: this one reports it */
		if (!page_dirty(fd, RACE_PAGES - 1, RACE_PAGES))
			lost++;
		/* and clean up for the next round */
		page_dirty(fd, 0, RACE_PAGES);
	}
	EXPECT_EQ(0, lost) TH_LOG("%d of %d writes through a pin lost", lost,
				  RACE_ROUNDS);
	for (i = 0; i < RACE_MAPS; i++)
		munmap(maps[i], RACE_PAGES * PG);
	close(fd);
}

/* --- O_DIRECT reads in flight ----------------------------------------- */

/* Whether page @page of the region is dirty, cleared or not (PEEK). */
static bool page_peeked(int fd, unsigned long page)
{
	__u64 bmp[NP / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA, .len = NP * PG,
					 .buf = ptr2u(bmp),
					 .flags = VMMEM_DIRTY_PEEK };

	return !ioctl(fd, VMMEM_DIRTY_HARVEST, &h) &&
	       bmp[page / 64] >> (page % 64) & 1;
}

#define IMG_BLOCKS	64
#define DELAY_MS	1000	/* each read's time in flight */
#define DIO_PAGES	4	/* per read */

FIXTURE(dio) {
	int fd, dev;
	struct vmmem_region_add a;
	unsigned char *m;
	struct blk_loop loop;
	struct blk_dm dm;
	bool skip;
};

FIXTURE_VARIANT(dio) {
	enum blk_io io;
};

FIXTURE_VARIANT_ADD(dio, pread) { .io = BLK_PREAD };
FIXTURE_VARIANT_ADD(dio, aio) { .io = BLK_AIO };
FIXTURE_VARIANT_ADD(dio, io_uring) { .io = BLK_URING };

/* In the test VM the block devices are there: their absence is a failure. */
static bool in_test_vm(void)
{
	return getenv("VMMEM_TEST_VM") != NULL;
}

FIXTURE_SETUP(dio)
{
	struct blk_target t;
	char devt[32], params[64];

	self->dev = -1;
	self->m = MAP_FAILED;
	self->dm.created = false;
	self->dm.node[0] = '\0';
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vm_add(self->fd, GPA, NP * PG, 0, VMMEM_REGION_DIRTY_LOG,
			    &self->a));
	self->m = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, self->a.mmap_offset);
	ASSERT_NE(MAP_FAILED, self->m);
	self->skip = blk_loop_attach(&self->loop, IMG_BLOCKS * PG, true) != 0;
	if (self->skip && !in_test_vm())
		return;
	ASSERT_FALSE(self->skip) TH_LOG("loop device: %s", strerror(errno));
	snprintf(params, sizeof(params), "%s 0 %d",
		 blk_devt(&self->loop, devt, sizeof(devt)), DELAY_MS);
	t = (struct blk_target){ 0, IMG_BLOCKS * PG / 512, "delay", params };
	self->skip = blk_dm_create(&self->dm, "vmmem-delay", &t, 1) != 0;
	if (self->skip && !in_test_vm())
		return;
	ASSERT_FALSE(self->skip) TH_LOG("dm delay: %s", strerror(errno));
	self->dev = open(self->dm.node, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(dio)
{
	if (self->dev >= 0)
		close(self->dev);
	blk_dm_remove(&self->dm);
	blk_loop_detach(&self->loop);
	if (self->m != MAP_FAILED)
		munmap(self->m, NP * PG);
	close(self->fd);
}

/*
 * Finding 4: an O_DIRECT read into the mapping, in flight across a
 * harvest. Its pages were marked when the read faulted them writable, the
 * harvest in between reports and write-protects them, and the data lands
 * after: the next harvest must report them again (6.1 takes plain
 * references, 6.12 pins).
 */
TEST_F_TIMEOUT(dio, a_read_in_flight_across_a_harvest_is_reported_after, 60)
{
	unsigned char want[PG];
	struct blk_reader r;
	char list[256];
	int i;

	if (self->skip)
		SKIP(return, "no loop device or device-mapper delay here");
	ASSERT_EQ(0, blk_reader_init(&r, variant->io, self->dev))
		TH_LOG("%s: %s", blk_io_name(variant->io), strerror(errno));
	EXPECT_STREQ("", DIRTY(self->fd, NP));
	/* image blocks 8..11 to pages 20..23 */
	ASSERT_EQ(0, blk_read_start(&r, self->m + 20 * PG, DIO_PAGES * PG,
				    8 * PG));
	/* In flight once its pages are taken (their write faults log them). */
	for (i = 0; i < DELAY_MS / 10 && !page_peeked(self->fd, 23); i++)
		usleep(5000);
	EXPECT_STREQ("20 21 22 23 ", DIRTY(self->fd, NP));
	ASSERT_EQ(DIO_PAGES * PG, blk_read_wait(&r));
	for (i = 0; i < DIO_PAGES; i++) {
		fill_pattern(want, PG, BLK_SEED(8 + i));
		ASSERT_EQ(0, memcmp(want, self->m + (20 + i) * PG, PG));
	}
	/* landed after that harvest: reported now, then clean */
	EXPECT_STREQ("20 21 22 23 ", DIRTY(self->fd, NP));
	EXPECT_STREQ("", DIRTY(self->fd, NP));
	blk_reader_fini(&r);
}

/*
 * Finding 5: READ_FROM_FD from a device whose second block fails. The
 * direct read lands its first block in guest memory and returns -EIO;
 * what landed must be logged.
 */
TEST(a_read_from_fd_that_fails_part_way_logs_what_landed)
{
	struct blk_target t[2];
	unsigned char want[PG], got[PG];
	struct vmmem_region_add a;
	struct vmmem_fd_io f = { .guest_addr = GPA + 2 * PG, .len = 2 * PG,
				 .offset = 0 };
	struct blk_loop loop;
	struct blk_dm dm = { .created = false };
	char devt[32], params[64], list[256];
	int fd, dev;

	fd = vm_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GPA, NP * PG, 0, VMMEM_REGION_DIRTY_LOG, &a));
	if (blk_loop_attach(&loop, IMG_BLOCKS * PG, true)) {
		if (!in_test_vm())
			SKIP(goto out, "no loop device here");
		ASSERT_TRUE(false) TH_LOG("loop device: %s", strerror(errno));
	}
	snprintf(params, sizeof(params), "%s 0",
		 blk_devt(&loop, devt, sizeof(devt)));
	t[0] = (struct blk_target){ 0, 8, "linear", params };
	t[1] = (struct blk_target){ 8, 8, "error", "" };
	if (blk_dm_create(&dm, "vmmem-half", t, 2)) {
		if (!in_test_vm())
			SKIP(goto out, "no device-mapper here");
		ASSERT_TRUE(false) TH_LOG("dm: %s", strerror(errno));
	}
	dev = open(dm.node, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, dev);
	f.fd = dev;
	EXPECT_STREQ("", DIRTY(fd, NP));
	EXPECT_EQ(-1, ioctl(fd, VMMEM_READ_FROM_FD, &f));
	EXPECT_EQ(EIO, errno);
	/* the first block landed, whatever the call said */
	fill_pattern(want, PG, BLK_SEED(0));
	ASSERT_EQ(0, vm_read(fd, GPA + 2 * PG, got, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(want, got, PG));
	EXPECT_STREQ("2 3 ", DIRTY(fd, NP));
	close(dev);
out:
	blk_dm_remove(&dm);
	blk_loop_detach(&loop);
	close(fd);
}

TEST_HARNESS_MAIN
