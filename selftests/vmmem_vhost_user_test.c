// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem vhost-user test: real vhost-user backends as clients of vmmem
 * memory. A small frontend (vhost_user.h) starts QEMU's
 * qemu-storage-daemon (a vhost-user-blk export of an image file) and
 * virtiofsd (a shared directory), hands them a guest memory table made of
 * vmmem regions, and runs virtio-blk and virtio-fs (FUSE) requests whose
 * descriptors, rings, headers and data all live in guest memory. The
 * frontend touches guest memory only through libvmmem; the backends
 * through their own mmap() of the fds in the table, as with QEMU.
 *
 * Guest memory, variant four_regions (the real configuration): one open
 * of /dev/vmmem with three kernel-backed regions, plus a memfd:
 *
 *   RING [0x000000, 0x010000)  kernel-backed, mmap offset 0: virtqueues
 *   HDR  [0x100000, 0x110000)  kernel-backed, mmap offset 64 KiB: request
 *                              headers, status bytes, FUSE headers
 *   DATA [0x200000, 0x220000)  kernel-backed, mmap offset 128 KiB
 *   USER [0x220000, 0x240000)  user-backed, pinned: bytes [64 KiB, 192 KiB)
 *                              of a memfd, passed as the memfd itself with
 *                              mmap_offset 64 KiB; adjacent to DATA
 *
 * Data buffers: BUF0 in DATA, BUF1 across the DATA/USER boundary (a
 * descriptor the backend must split between two of its mappings), BUF2 in
 * USER. Variant ring_region_only has RING (headers in its second half) and
 * USER only, with every buffer in USER: no region at a non-zero mmap
 * offset.
 *
 * libvhost-user (in both backends) maps a region as
 * mmap(NULL, mmap_offset + size, ..., MAP_SHARED, fd, 0) and adds the
 * offset itself, so vmmem must take an mmap() from offset 0 across
 * regions. A module that takes only an mmap() within one region makes the
 * backends log "region mmap error: Invalid argument" and hang up at
 * SET_MEM_TABLE in four_regions; ring_region_only needs no such mapping,
 * and so tells that failure apart from one of the frontend or backends.
 *
 * Cases, in each variant, each with its own backend:
 *   blk.read   VIRTIO_BLK_T_IN of 8 sectors into BUF0, checked through
 *              VMMEM_READ against the image (pread)
 *   blk.write  VIRTIO_BLK_T_OUT of 8 sectors from BUF2, checked in the image
 *   blk.batch  a read into BUF1, a write from BUF2 and a read into BUF0
 *              under one kick, completed in any order
 *   fs.lookup_open_read
 *              FUSE_INIT (in setup), LOOKUP of a missing and of a created
 *              file, OPEN, READ into BUF0 and into BUF1, FORGET on the
 *              hiprio queue
 *
 * The backends must be in the test VM (VMMEM_TEST_VM=1): there a missing
 * one fails the test; elsewhere it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/fuse.h>
#include <linux/virtio_blk.h>

#include "vmmem.h"
#include "vhost_user.h"
#include "kselftest_harness.h"

#define QSD_PATH	"/usr/bin/qemu-storage-daemon"
#define VIRTIOFSD_PATH	"/usr/lib/qemu/virtiofsd"

#define PG		4096ULL
#define RING_GPA	0x000000ULL
#define RING_SIZE	0x10000ULL
#define HDR_GPA		0x100000ULL
#define HDR_SIZE	0x10000ULL
#define DATA_GPA	0x200000ULL
#define DATA_SIZE	0x20000ULL
#define USER_GPA	(DATA_GPA + DATA_SIZE)
#define USER_SIZE	0x20000ULL
#define MEMFD_OFF	0x10000ULL	/* USER starts here in the memfd */
#define BUF_MAX		0x8000U		/* each buffer's room */

#define QUEUE_SIZE	64
#define QUEUE_STRIDE	0x4000ULL	/* queue i at RING_GPA + i * this */

#define IMG_SIZE	(1U << 20)
#define SECTOR		512U
#define FILE_NAME	"hello.bin"
#define FILE_SIZE	40000U		/* not a page multiple */
#define POISON		0xa5

/* Where a variant puts headers and data buffers. */
struct layout {
	bool separate;		/* HDR and DATA exist as their own regions */
	uint64_t hdr;
	uint64_t buf[3];
};

static const struct layout four_regions = {
	.separate = true,
	.hdr = HDR_GPA,
	.buf = { DATA_GPA + PG, USER_GPA - 0x4000, USER_GPA + 0x8000 },
};

static const struct layout ring_region_only = {
	.separate = false,
	.hdr = RING_GPA + RING_SIZE / 2,
	.buf = { USER_GPA + PG, USER_GPA + 0xa000, USER_GPA + 0x14000 },
};

/* Guest memory and the memory table that describes it to a backend. */
struct guest {
	struct vmmem *vm;
	int memfd;
	unsigned char *memfd_map;
	struct vhu_region table[4];
	unsigned int n;
};

static void fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + (i >> 9) * 13 + seed * 101 + 1);
}

static bool in_test_vm(void)
{
	const char *v = getenv("VMMEM_TEST_VM");

	return v && !strcmp(v, "1");
}

static void add_kernel_region(struct __test_metadata *_metadata,
			      struct guest *g, uint64_t gpa, uint64_t size)
{
	struct vmmem_region_info info;
	size_t len = 0;
	void *host;
	int ret;

	ret = vmmem_add_region(g->vm, gpa, size, NULL, 0, &info);
	ASSERT_EQ(0, ret) TH_LOG("add 0x%" PRIx64 ": %s", gpa, strerror(-ret));
	/* The frontend's own mapping: userspace_addr in the table. */
	ret = vmmem_get_host_address(g->vm, gpa, &host, &len);
	ASSERT_EQ(0, ret) TH_LOG("map 0x%" PRIx64 ": %s", gpa, strerror(-ret));
	ASSERT_EQ(size, len);
	g->table[g->n++] = (struct vhu_region) {
		.gpa = gpa,
		.size = size,
		.uaddr = (uintptr_t)host,
		.mmap_offset = info.mmap_offset,
		.fd = vmmem_fd(g->vm),
	};
}

static void guest_setup(struct __test_metadata *_metadata, struct guest *g,
			const struct layout *l)
{
	struct vmmem_region_info info;
	unsigned int i;
	int ret;

	g->memfd = -1;
	g->memfd_map = MAP_FAILED;
	ASSERT_EQ(PG, (uint64_t)getpagesize());
	ret = vmmem_open(&g->vm);
	ASSERT_EQ(0, ret) TH_LOG("vmmem_open: %s", strerror(-ret));
	add_kernel_region(_metadata, g, RING_GPA, RING_SIZE);
	if (l->separate) {
		add_kernel_region(_metadata, g, HDR_GPA, HDR_SIZE);
		add_kernel_region(_metadata, g, DATA_GPA, DATA_SIZE);
	}
	/* The mmap offsets the test is about: 0 first, then others. */
	ASSERT_EQ(0, g->table[0].mmap_offset);
	for (i = 1; i < g->n; i++)
		ASSERT_NE(0, g->table[i].mmap_offset);

	/* USER: the memfd past its first 64 KiB, which are no guest memory. */
	g->memfd = memfd_create("vmmem-vhost-user", MFD_CLOEXEC);
	ASSERT_LE(0, g->memfd);
	ASSERT_EQ(0, ftruncate(g->memfd, MEMFD_OFF + USER_SIZE));
	g->memfd_map = mmap(NULL, MEMFD_OFF + USER_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED, g->memfd, 0);
	ASSERT_NE(MAP_FAILED, g->memfd_map);
	ret = vmmem_add_region(g->vm, USER_GPA, USER_SIZE,
			       g->memfd_map + MEMFD_OFF, 0, &info);
	ASSERT_EQ(0, ret) TH_LOG("add the memfd region: %s", strerror(-ret));
	ASSERT_EQ(VMMEM_BACKING_USER, info.backing);
	g->table[g->n++] = (struct vhu_region) {
		.gpa = USER_GPA,
		.size = USER_SIZE,
		.uaddr = (uintptr_t)(g->memfd_map + MEMFD_OFF),
		.mmap_offset = MEMFD_OFF,
		.fd = g->memfd,
	};
}

static void guest_teardown(struct guest *g)
{
	vmmem_close(g->vm);
	if (g->memfd_map != MAP_FAILED)
		munmap(g->memfd_map, MEMFD_OFF + USER_SIZE);
	if (g->memfd >= 0)
		close(g->memfd);
}

/* The memory table, for the log of a backend that did not take it. */
static void log_table(struct __test_metadata *_metadata, const struct guest *g)
{
	unsigned int i;

	for (i = 0; i < g->n; i++) {
		const struct vhu_region *r = &g->table[i];

		TH_LOG("table: GPA 0x%06" PRIx64 "+0x%" PRIx64 " in %s at offset 0x%" PRIx64
		       ": libvhost-user maps [0, 0x%" PRIx64 ") of it",
		       r->gpa, r->size, r->fd == g->memfd ? "the memfd" : "/dev/vmmem",
		       r->mmap_offset, r->mmap_offset + r->size);
	}
}

/* Fill a guest buffer with POISON, so that a device that writes nothing shows. */
static int poison(struct guest *g, uint64_t gpa, size_t len)
{
	unsigned char buf[BUF_MAX];

	if (len > sizeof(buf))
		return -EINVAL;
	memset(buf, POISON, len);
	return vmmem_write_exact(g->vm, gpa, buf, len, NULL);
}

static bool all_poison(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++ != POISON)
			return false;
	return true;
}

/* Only a crash or a backend deaf to SIGTERM is wrong at teardown. */
static bool backend_ended_well(int status)
{
	return (WIFEXITED(status) && !WEXITSTATUS(status)) ||
	       (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/* --- vhost-user-blk: qemu-storage-daemon ----------------------------------- */

FIXTURE(blk) {
	struct guest g;
	struct vhu_backend be;
	struct vhu_vq vq;
	const struct layout *l;
	char dir[64];
	char img[96];
	char sock[96];
	int img_fd;
};

FIXTURE_VARIANT(blk) {
	const struct layout *l;
};

FIXTURE_VARIANT_ADD(blk, four_regions) { .l = &four_regions };
FIXTURE_VARIANT_ADD(blk, ring_region_only) { .l = &ring_region_only };

/* Start the daemon, connect, negotiate, hand over memory and queue 0. */
static int blk_start(FIXTURE_DATA(blk) *self)
{
	char blockdev[160], export[200];
	char *argv[] = {
		QSD_PATH, "--blockdev", blockdev, "--export", export, NULL
	};
	uint64_t capacity;
	int ret;

	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=disk,filename=%s", self->img);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=%s,writable=on",
		 self->sock);
	ret = vhu_spawn(&self->be, argv);
	if (!ret)
		ret = vhu_connect(&self->be, self->sock);
	if (!ret)
		ret = vhu_negotiate(&self->be, 0, 1);
	if (!ret)
		ret = vhu_set_mem_table(&self->be, self->g.table, self->g.n);
	if (ret)
		return ret;
	if (self->be.protocol_features & (1ULL << VHU_PROTOCOL_F_CONFIG)) {
		/* virtio_blk_config starts with the capacity in sectors. */
		ret = vhu_get_config(&self->be, 0, &capacity, sizeof(capacity));
		if (ret)
			return ret;
		if (capacity != IMG_SIZE / SECTOR)
			return vhu_fail(&self->be, -EPROTO,
					"capacity %" PRIu64 " sectors, want %u",
					capacity, IMG_SIZE / SECTOR);
	}
	return vhu_vq_setup(&self->be, &self->vq, self->g.vm, 0, QUEUE_SIZE,
			    RING_GPA);
}

/* Stop the backend, then free guest memory and the files. */
static void blk_cleanup(FIXTURE_DATA(blk) *self, int *status)
{
	vhu_vq_close(&self->vq);
	vhu_stop(&self->be, status);
	guest_teardown(&self->g);
	if (self->img_fd >= 0)
		close(self->img_fd);
	unlink(self->img);
	unlink(self->sock);
	rmdir(self->dir);
}

FIXTURE_SETUP(blk)
{
	unsigned char *img;
	int ret;

	self->img_fd = -1;
	self->vq.kick = -1;
	self->vq.call = -1;
	vhu_init(&self->be);
	if (access(QSD_PATH, X_OK)) {
		ASSERT_FALSE(in_test_vm())
			TH_LOG("%s is missing from the test VM", QSD_PATH);
		SKIP(return, "%s: %s", QSD_PATH, strerror(errno));
	}
	self->l = variant->l;
	guest_setup(_metadata, &self->g, self->l);

	snprintf(self->dir, sizeof(self->dir), "/tmp/vmmem-vhu.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->img, sizeof(self->img), "%s/disk.img", self->dir);
	snprintf(self->sock, sizeof(self->sock), "%s/blk.sock", self->dir);
	self->img_fd = open(self->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			    0600);
	ASSERT_LE(0, self->img_fd);
	img = malloc(IMG_SIZE);
	ASSERT_NE(NULL, img);
	fill(img, IMG_SIZE, 1);
	ASSERT_EQ(IMG_SIZE, pwrite(self->img_fd, img, IMG_SIZE, 0));
	free(img);

	ret = blk_start(self);
	if (ret) {
		log_table(_metadata, &self->g);
		/* No teardown follows a failed setup. */
		blk_cleanup(self, NULL);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
}

FIXTURE_TEARDOWN(blk)
{
	int status;

	blk_cleanup(self, &status);
	EXPECT_TRUE(backend_ended_well(status))
		TH_LOG("qemu-storage-daemon ended with wait status 0x%x",
		       status);
}

/*
 * Queue one virtio-blk request in header slot @slot: its header and
 * status byte in the header area, @len bytes of data at @buf.
 */
static int blk_queue(FIXTURE_DATA(blk) *self, unsigned int slot,
		     uint32_t type, uint64_t sector, uint64_t buf,
		     uint32_t len, uint16_t *head)
{
	struct {
		vmmem_le32 type;
		vmmem_le32 ioprio;
		vmmem_le64 sector;
	} h = {
		.type = vmmem_cpu_to_le32(type),
		.sector = vmmem_cpu_to_le64(sector),
	};
	uint64_t hdr = self->l->hdr + slot * 0x100ULL;
	uint8_t status = 0xff;		/* no VIRTIO_BLK_S_* value */
	struct vhu_buf bufs[3] = {
		{ .gpa = hdr, .len = sizeof(h) },
		{ .gpa = buf, .len = len, .device_writes = type == VIRTIO_BLK_T_IN },
		{ .gpa = hdr + 0x80, .len = 1, .device_writes = true },
	};
	int ret;

	ret = vmmem_write_obj(self->g.vm, hdr, &h);
	if (!ret)
		ret = vmmem_write_obj(self->g.vm, hdr + 0x80, &status);
	if (ret)
		return vhu_fail(&self->be, ret, "writing a request header: %s",
				strerror(-ret));
	return vhu_vq_add(&self->be, &self->vq, bufs, 3, head);
}

static int blk_status(FIXTURE_DATA(blk) *self, unsigned int slot)
{
	uint8_t status;
	int ret;

	ret = vmmem_read_obj(self->g.vm, self->l->hdr + slot * 0x100ULL + 0x80,
			     &status);
	return ret ? ret : status;
}

/* The used entry whose id is @head, or NULL. */
static const struct vhu_used *find_used(const struct vhu_used *used,
					unsigned int n, uint16_t head)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (used[i].id == head)
			return &used[i];
	return NULL;
}

/* Guest bytes at @gpa, read through VMMEM_READ, against the image's. */
static void check_read(struct __test_metadata *_metadata,
		       FIXTURE_DATA(blk) *self, uint64_t gpa, uint64_t sector,
		       uint32_t len)
{
	static unsigned char got[BUF_MAX], want[BUF_MAX];
	int ret;

	ret = vmmem_read_exact(self->g.vm, gpa, got, len, NULL);
	ASSERT_EQ(0, ret) TH_LOG("VMMEM_READ: %s", strerror(-ret));
	ASSERT_EQ(len, pread(self->img_fd, want, len, sector * SECTOR));
	ASSERT_EQ(0, memcmp(got, want, len))
		TH_LOG("data at GPA 0x%" PRIx64 " is not the image's from sector %" PRIu64,
		       gpa, sector);
}

/* The image's bytes from @sector against those the guest has at @gpa. */
static void check_written(struct __test_metadata *_metadata,
			  FIXTURE_DATA(blk) *self, uint64_t gpa,
			  uint64_t sector, uint32_t len)
{
	static unsigned char got[BUF_MAX], want[BUF_MAX];
	int ret;

	ret = vmmem_read_exact(self->g.vm, gpa, want, len, NULL);
	ASSERT_EQ(0, ret) TH_LOG("VMMEM_READ: %s", strerror(-ret));
	ASSERT_EQ(len, pread(self->img_fd, got, len, sector * SECTOR));
	ASSERT_EQ(0, memcmp(got, want, len))
		TH_LOG("the image from sector %" PRIu64 " is not the data at GPA 0x%" PRIx64,
		       sector, gpa);
}

/* VIRTIO_BLK_T_IN of 8 sectors into a kernel-backed region at an offset. */
TEST_F_TIMEOUT(blk, read, 60)
{
	const uint32_t len = 8 * SECTOR;
	uint64_t buf = self->l->buf[0];
	struct vhu_used used;
	uint16_t head;

	ASSERT_EQ(0, poison(&self->g, buf, len));
	ASSERT_EQ(0, blk_queue(self, 0, VIRTIO_BLK_T_IN, 5, buf, len, &head))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, vhu_vq_kick(&self->be, &self->vq));
	ASSERT_EQ(0, vhu_vq_wait(&self->be, &self->vq, &used, 1))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(head, used.id);
	/* The device wrote the data and the status byte. */
	EXPECT_EQ(len + 1, used.len);
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 0));
	check_read(_metadata, self, buf, 5, len);
}

/* The pages of the kernel-backed region at @gpa (@n pages) now dirty. */
static uint64_t harvest_mask(struct __test_metadata *_metadata,
			     FIXTURE_DATA(blk) *self, uint64_t gpa,
			     unsigned int n)
{
	uint64_t bm = 0;
	int64_t ret;

	ret = vmmem_get_and_reset(self->g.vm, gpa, n * PG, &bm);
	EXPECT_LE(0, ret) TH_LOG("vmmem_get_and_reset: %s", strerror(-ret));
	return bm;
}

/*
 * The backend's writes into guest memory, through its own mapping, are in
 * vmmem's dirty log at exactly the pages it wrote: the data of a read
 * (two pages of DATA), the status byte (HDR's first page).
 */
TEST_F_TIMEOUT(blk, read_dirties_exactly_the_pages_it_fills, 60)
{
	const uint32_t len = 16 * SECTOR;
	uint64_t buf = self->l->buf[0];
	struct vhu_used used;
	uint16_t head;

	if (!self->l->separate)
		SKIP(return, "buffers in a user-backed region: the backend's writes are not vmmem's to see");
	ASSERT_EQ(3, vmmem_dirty_start(self->g.vm, 0, USER_GPA));
	ASSERT_EQ(0, poison(&self->g, buf, len));
	ASSERT_EQ(0, blk_queue(self, 0, VIRTIO_BLK_T_IN, 9, buf, len, &head))
		TH_LOG("%s", self->be.err);
	/* What the frontend wrote, through vmmem, is harvested first. */
	EXPECT_EQ(3ULL << 1, harvest_mask(_metadata, self, DATA_GPA, 8));
	EXPECT_EQ(1, harvest_mask(_metadata, self, HDR_GPA, 8));
	harvest_mask(_metadata, self, RING_GPA, RING_SIZE / PG);

	ASSERT_EQ(0, vhu_vq_kick(&self->be, &self->vq));
	ASSERT_EQ(0, vhu_vq_wait(&self->be, &self->vq, &used, 1))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(head, used.id);
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 0));
	check_read(_metadata, self, buf, 9, len);
	/* buf is DATA's page 1: pages 1 and 2, and only they */
	EXPECT_EQ(3ULL << 1, harvest_mask(_metadata, self, DATA_GPA, 8));
	EXPECT_EQ(1, harvest_mask(_metadata, self, HDR_GPA, 8));
	/* the used ring: written by the backend, one page of queue 0 */
	EXPECT_EQ(1, __builtin_popcountll(harvest_mask(_metadata, self,
						       RING_GPA,
						       RING_SIZE / PG)));
	/* reading it all back dirtied nothing */
	EXPECT_EQ(0, harvest_mask(_metadata, self, DATA_GPA, 8));
	EXPECT_EQ(0, harvest_mask(_metadata, self, HDR_GPA, 8));
}

/* VIRTIO_BLK_T_OUT of 8 sectors from the memfd region. */
TEST_F_TIMEOUT(blk, write, 60)
{
	static unsigned char data[8 * SECTOR];
	uint64_t buf = self->l->buf[2];
	struct vhu_used used;
	uint16_t head;

	fill(data, sizeof(data), 2);
	ASSERT_EQ(0, vmmem_write_exact(self->g.vm, buf, data, sizeof(data),
				       NULL));
	ASSERT_EQ(0, blk_queue(self, 0, VIRTIO_BLK_T_OUT, 77, buf,
			       sizeof(data), &head))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, vhu_vq_kick(&self->be, &self->vq));
	ASSERT_EQ(0, vhu_vq_wait(&self->be, &self->vq, &used, 1))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(head, used.id);
	EXPECT_EQ(1, used.len);
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 0));
	check_written(_metadata, self, buf, 77, sizeof(data));
}

/*
 * Three requests under one kick, completed in any order: a read of 32
 * sectors into BUF1 (across DATA and USER in four_regions), a write of 16
 * sectors from BUF2 and a read of one sector into BUF0.
 */
TEST_F_TIMEOUT(blk, batch, 60)
{
	static unsigned char data[16 * SECTOR];
	const uint32_t len1 = 32 * SECTOR, len0 = SECTOR;
	const struct layout *l = self->l;
	struct vhu_used used[3];
	const struct vhu_used *u;
	uint16_t head[3];

	ASSERT_EQ(0, poison(&self->g, l->buf[1], len1));
	ASSERT_EQ(0, poison(&self->g, l->buf[0], len0));
	fill(data, sizeof(data), 3);
	ASSERT_EQ(0, vmmem_write_exact(self->g.vm, l->buf[2], data,
				       sizeof(data), NULL));
	ASSERT_EQ(0, blk_queue(self, 0, VIRTIO_BLK_T_IN, 200, l->buf[1], len1,
			       &head[0]))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, blk_queue(self, 1, VIRTIO_BLK_T_OUT, 400, l->buf[2],
			       sizeof(data), &head[1]))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, blk_queue(self, 2, VIRTIO_BLK_T_IN, 0, l->buf[0], len0,
			       &head[2]))
		TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, vhu_vq_kick(&self->be, &self->vq));
	ASSERT_EQ(0, vhu_vq_wait(&self->be, &self->vq, used, 3))
		TH_LOG("%s", self->be.err);

	u = find_used(used, 3, head[0]);
	ASSERT_NE(NULL, u);
	EXPECT_EQ(len1 + 1, u->len);
	u = find_used(used, 3, head[1]);
	ASSERT_NE(NULL, u);
	EXPECT_EQ(1, u->len);
	u = find_used(used, 3, head[2]);
	ASSERT_NE(NULL, u);
	EXPECT_EQ(len0 + 1, u->len);
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 0));
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 1));
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_status(self, 2));
	check_read(_metadata, self, l->buf[1], 200, len1);
	check_written(_metadata, self, l->buf[2], 400, sizeof(data));
	check_read(_metadata, self, l->buf[0], 0, len0);
}

/* --- virtio-fs: virtiofsd -------------------------------------------------- */

#define FS_HIPRIO	0
#define FS_REQUEST	1
#define FS_REPLY_OFF	0x800ULL	/* reply after the request, in HDR */

FIXTURE(fs) {
	struct guest g;
	struct vhu_backend be;
	struct vhu_vq vq[2];	/* hiprio, request */
	const struct layout *l;
	uint64_t unique;
	char dir[64];
	char share[96];
	char file[128];
	char sock[96];
	unsigned char data[FILE_SIZE];
};

FIXTURE_VARIANT(fs) {
	const struct layout *l;
};

FIXTURE_VARIANT_ADD(fs, four_regions) { .l = &four_regions };
FIXTURE_VARIANT_ADD(fs, ring_region_only) { .l = &ring_region_only };

/*
 * One FUSE request on queue @q for inode @nodeid: the fuse_in_header and
 * @arg in one device-readable buffer; the fuse_out_header and @outlen
 * bytes of reply in one device-writable buffer; then, if @datalen, a
 * second one at @data (FUSE_READ's data). *@error receives the reply's
 * error, *@replied its length. Without @error (FUSE_FORGET), no reply
 * buffer at all.
 */
static int fs_call(FIXTURE_DATA(fs) *self, unsigned int q, uint64_t nodeid,
		   uint32_t opcode, const void *arg, uint32_t arglen,
		   void *out, uint32_t outlen, uint64_t data, uint32_t datalen,
		   int32_t *error, uint32_t *replied)
{
	unsigned char req[sizeof(struct fuse_in_header) + 256];
	struct fuse_in_header in = {
		.len = sizeof(in) + arglen,
		.opcode = opcode,
		.unique = ++self->unique,
		.nodeid = nodeid,
		.pid = getpid(),
	};
	uint64_t rq = self->l->hdr, rp = rq + FS_REPLY_OFF;
	bool noreply = !error;
	struct vhu_buf bufs[3] = {
		{ .gpa = rq, .len = in.len },
		{ .gpa = rp, .len = sizeof(struct fuse_out_header) + outlen,
		  .device_writes = true },
		{ .gpa = data, .len = datalen, .device_writes = true },
	};
	struct vhu_backend *be = &self->be;
	struct fuse_out_header oh;
	struct vhu_used used;
	uint16_t head = 0;
	int ret;

	if (arglen > sizeof(req) - sizeof(in) || outlen > 256)
		return vhu_fail(be, -EINVAL, "FUSE request too big");
	memcpy(req, &in, sizeof(in));
	memcpy(req + sizeof(in), arg, arglen);
	ret = vmmem_write_exact(self->g.vm, rq, req, in.len, NULL);
	if (!ret && !noreply)
		ret = poison(&self->g, rp, bufs[1].len);
	if (ret)
		return vhu_fail(be, ret, "writing a FUSE request: %s",
				strerror(-ret));
	ret = vhu_vq_add(be, &self->vq[q], bufs,
			 noreply ? 1 : datalen ? 3 : 2, &head);
	if (!ret)
		ret = vhu_vq_kick(be, &self->vq[q]);
	if (!ret)
		ret = vhu_vq_wait(be, &self->vq[q], &used, 1);
	if (ret)
		return ret;
	if (used.id != head)
		return vhu_fail(be, -EPROTO, "used id %u, want %u", used.id,
				head);
	if (noreply) {
		if (used.len)
			return vhu_fail(be, -EPROTO, "opcode %u: %u bytes of reply",
					opcode, used.len);
		return 0;
	}
	ret = vmmem_read_obj(self->g.vm, rp, &oh);
	if (!ret && outlen)
		ret = vmmem_read_exact(self->g.vm, rp + sizeof(oh), out, outlen,
				       NULL);
	if (ret)
		return vhu_fail(be, ret, "reading a FUSE reply: %s",
				strerror(-ret));
	if (oh.unique != in.unique || oh.len != used.len ||
	    oh.len > bufs[1].len + datalen)
		return vhu_fail(be, -EPROTO,
				"opcode %u: reply unique %" PRIu64 " len %u, used len %u",
				opcode, (uint64_t)oh.unique, oh.len, used.len);
	*error = oh.error;
	*replied = oh.len;
	return 0;
}

static int fs_start(FIXTURE_DATA(fs) *self)
{
	char socket_path[128], source[128];
	char *argv[] = {
		VIRTIOFSD_PATH, socket_path, "-o", source, "-o", "sandbox=chroot",
		"-o", "log_level=warn", NULL
	};
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION,
		.minor = 31,	/* the oldest virtiofsd takes */
		.max_readahead = BUF_MAX,
	};
	struct fuse_init_out init_out;
	uint32_t replied;
	int32_t error;
	unsigned int q;
	int ret;

	snprintf(socket_path, sizeof(socket_path), "--socket-path=%s",
		 self->sock);
	snprintf(source, sizeof(source), "source=%s", self->share);
	ret = vhu_spawn(&self->be, argv);
	if (!ret)
		ret = vhu_connect(&self->be, self->sock);
	if (!ret)
		ret = vhu_negotiate(&self->be, 0, 2);
	if (!ret)
		ret = vhu_set_mem_table(&self->be, self->g.table, self->g.n);
	/* virtio-fs: the hiprio queue 0, then one request queue. */
	for (q = 0; !ret && q < 2; q++)
		ret = vhu_vq_setup(&self->be, &self->vq[q], self->g.vm, q,
				   QUEUE_SIZE, RING_GPA + q * QUEUE_STRIDE);
	if (ret)
		return ret;
	/* A 7.31 fuse_init_in ends at flags: send no more. */
	ret = fs_call(self, FS_REQUEST, 0, FUSE_INIT, &init,
		      offsetof(struct fuse_init_in, flags) + sizeof(init.flags),
		      &init_out, sizeof(init_out), 0, 0, &error, &replied);
	if (ret)
		return ret;
	if (error || init_out.major != FUSE_KERNEL_VERSION)
		return vhu_fail(&self->be, -EPROTO, "FUSE_INIT: error %d, version %u.%u",
				error, init_out.major, init_out.minor);
	return 0;
}

static void fs_cleanup(FIXTURE_DATA(fs) *self, int *status)
{
	vhu_vq_close(&self->vq[0]);
	vhu_vq_close(&self->vq[1]);
	vhu_stop(&self->be, status);
	guest_teardown(&self->g);
	unlink(self->file);
	rmdir(self->share);
	unlink(self->sock);
	rmdir(self->dir);
}

FIXTURE_SETUP(fs)
{
	unsigned int q;
	int fd, ret;

	for (q = 0; q < 2; q++) {
		self->vq[q].kick = -1;
		self->vq[q].call = -1;
	}
	vhu_init(&self->be);
	if (access(VIRTIOFSD_PATH, X_OK)) {
		ASSERT_FALSE(in_test_vm())
			TH_LOG("%s is missing from the test VM", VIRTIOFSD_PATH);
		SKIP(return, "%s: %s", VIRTIOFSD_PATH, strerror(errno));
	}
	if (geteuid() && !in_test_vm())
		SKIP(return, "virtiofsd needs root");
	self->l = variant->l;
	guest_setup(_metadata, &self->g, self->l);

	snprintf(self->dir, sizeof(self->dir), "/tmp/vmmem-vhu.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->share, sizeof(self->share), "%s/share", self->dir);
	snprintf(self->file, sizeof(self->file), "%s/" FILE_NAME, self->share);
	snprintf(self->sock, sizeof(self->sock), "%s/fs.sock", self->dir);
	ASSERT_EQ(0, mkdir(self->share, 0700));
	fd = open(self->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	fill(self->data, FILE_SIZE, 4);
	ASSERT_EQ(FILE_SIZE, write(fd, self->data, FILE_SIZE));
	close(fd);

	ret = fs_start(self);
	if (ret) {
		log_table(_metadata, &self->g);
		fs_cleanup(self, NULL);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
}

FIXTURE_TEARDOWN(fs)
{
	int status;

	fs_cleanup(self, &status);
	EXPECT_TRUE(backend_ended_well(status))
		TH_LOG("virtiofsd ended with wait status 0x%x", status);
}

/* FUSE_READ of @size bytes at @off into @buf; checks them against the file. */
static void fs_read(struct __test_metadata *_metadata, FIXTURE_DATA(fs) *self,
		    uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t buf)
{
	static unsigned char got[BUF_MAX];
	struct fuse_read_in rd = {
		.fh = fh,
		.offset = off,
		.size = BUF_MAX,
	};
	uint32_t want = FILE_SIZE - off < BUF_MAX ? FILE_SIZE - off : BUF_MAX;
	uint32_t replied;
	int32_t error;
	int ret;

	ASSERT_EQ(0, poison(&self->g, buf, BUF_MAX));
	ret = fs_call(self, FS_REQUEST, nodeid, FUSE_READ, &rd, sizeof(rd),
		      NULL, 0, buf, BUF_MAX, &error, &replied);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, error);
	ASSERT_EQ(sizeof(struct fuse_out_header) + want, replied);
	ret = vmmem_read_exact(self->g.vm, buf, got, BUF_MAX, NULL);
	ASSERT_EQ(0, ret) TH_LOG("VMMEM_READ: %s", strerror(-ret));
	ASSERT_EQ(0, memcmp(got, self->data + off, want))
		TH_LOG("data at GPA 0x%" PRIx64 " is not the file's from %" PRIu64,
		       buf, off);
	/* Nothing past the end of the file was written. */
	ASSERT_TRUE(all_poison(got + want, BUF_MAX - want));
}

/*
 * LOOKUP of a missing and of an existing file, OPEN, two READs (the
 * second from 8 KiB to the end of the file, into BUF1: across DATA and
 * USER in four_regions), and a FORGET on the hiprio queue.
 */
TEST_F_TIMEOUT(fs, lookup_open_read, 60)
{
	struct fuse_open_in open_in = { .flags = O_RDONLY };
	struct fuse_forget_in forget = { .nlookup = 1 };
	struct fuse_entry_out entry;
	struct fuse_open_out open_out;
	uint32_t replied;
	int32_t error;
	int ret;

	ret = fs_call(self, FS_REQUEST, FUSE_ROOT_ID, FUSE_LOOKUP, "nothere",
		      sizeof("nothere"), &entry, sizeof(entry), 0, 0, &error,
		      &replied);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
	ASSERT_EQ(-ENOENT, error);

	ret = fs_call(self, FS_REQUEST, FUSE_ROOT_ID, FUSE_LOOKUP, FILE_NAME,
		      sizeof(FILE_NAME), &entry, sizeof(entry), 0, 0, &error,
		      &replied);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, error);
	ASSERT_EQ(sizeof(struct fuse_out_header) + sizeof(entry), replied);
	ASSERT_NE(0, entry.nodeid);
	ASSERT_EQ(FILE_SIZE, entry.attr.size);

	ret = fs_call(self, FS_REQUEST, entry.nodeid, FUSE_OPEN, &open_in,
		      sizeof(open_in), &open_out, sizeof(open_out), 0, 0,
		      &error, &replied);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
	ASSERT_EQ(0, error);

	fs_read(_metadata, self, entry.nodeid, open_out.fh, 0, self->l->buf[0]);
	fs_read(_metadata, self, entry.nodeid, open_out.fh, 8192,
		self->l->buf[1]);

	/* FORGET has no reply: the hiprio queue just returns the buffer. */
	ret = fs_call(self, FS_HIPRIO, entry.nodeid, FUSE_FORGET, &forget,
		      sizeof(forget), NULL, 0, 0, 0, NULL, NULL);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->be.err);
}

TEST_HARNESS_MAIN
