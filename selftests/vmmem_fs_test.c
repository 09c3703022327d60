// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem and real filesystems: ext4 on a loop device over a tmpfs file, and
 * ramfs.
 *
 *   frozen.*   VMMEM_WRITE_TO_FD into a file of a frozen ext4 waits for the
 *              thaw, as pwrite(2) does: on 6.1 vfs_iter_write() takes no
 *              freeze protection itself, so without the module's the write
 *              went through (with a warning from ext4).
 *   backing.*  a user region may pin private mappings, shmem/memfd and
 *              hugetlbfs only. A shared mapping of a file whose pages a
 *              filesystem writes back (ext4; ramfs, a device, /dev/vmmem)
 *              is -EOPNOTSUPP on every kernel, pinning nothing: a long-term
 *              pin of such pages defeats writeback (6.12's GUP refuses it,
 *              6.1's did not).
 *
 * Skipped where the kernel has no loop device or ext4.
 */
#include <pthread.h>
#include <sys/mount.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include "vmmem_test.h"

#define IMG_SIZE	(16ULL << 20)

struct ext4 {
	char dir[64], img[64], dev[32];
	int loop_fd;
	bool mounted;
};

/* ext4 on a loop device; 0, or -1 and errno. */
static int ext4_mount(struct ext4 *e)
{
	char cmd[160];
	int ctl, n, img;

	memset(e, 0, sizeof(*e));
	e->loop_fd = -1;
	strcpy(e->img, "/tmp/vmmem-ext4.XXXXXX");
	img = mkstemp(e->img);
	if (img < 0 || ftruncate(img, IMG_SIZE))
		return -1;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -1;
	snprintf(e->dev, sizeof(e->dev), "/dev/loop%d", n);
	e->loop_fd = open(e->dev, O_RDWR | O_CLOEXEC);
	if (e->loop_fd < 0 || ioctl(e->loop_fd, LOOP_SET_FD, img))
		return -1;
	close(img);
	snprintf(cmd, sizeof(cmd), "mke2fs -q %s >/dev/null 2>&1", e->dev);
	if (system(cmd))
		return -1;
	strcpy(e->dir, "/tmp/vmmem-mnt.XXXXXX");
	if (!mkdtemp(e->dir) || mount(e->dev, e->dir, "ext4", 0, NULL))
		return -1;
	e->mounted = true;
	return 0;
}

static void ext4_umount(struct ext4 *e)
{
	if (e->mounted)
		umount2(e->dir, MNT_DETACH);
	if (e->dir[0])
		rmdir(e->dir);
	if (e->loop_fd >= 0) {
		ioctl(e->loop_fd, LOOP_CLR_FD);
		close(e->loop_fd);
	}
	if (e->img[0])
		unlink(e->img);
}

/* A file of @len bytes under @dir, open read-write. */
static int file_in(const char *dir, size_t len)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && ftruncate(fd, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --- frozen ---------------------------------------------------------------- */

#define FROZEN_LEN	(64 * 1024)

FIXTURE(frozen) {
	struct ext4 fs;
	int vm, file, dirfd;
	unsigned char data[FROZEN_LEN];
};

FIXTURE_SETUP(frozen)
{
	self->vm = self->file = self->dirfd = -1;
	if (ext4_mount(&self->fs))
		SKIP(return, "no loop device or ext4 here: %s", strerror(errno));
	self->vm = vm_open();
	ASSERT_GE(self->vm, 0);
	self->file = file_in(self->fs.dir, 0);
	ASSERT_GE(self->file, 0);
	self->dirfd = open(self->fs.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(self->dirfd, 0);
	fill_pattern(self->data, FROZEN_LEN, 5);
	ASSERT_EQ(0, vm_add(self->vm, 0, FROZEN_LEN, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(self->vm, 0, self->data, FROZEN_LEN,
			      VMMEM_IO_EXACT, NULL));
}

FIXTURE_TEARDOWN(frozen)
{
	if (self->dirfd >= 0) {
		ioctl(self->dirfd, FITHAW, 0);
		close(self->dirfd);
	}
	if (self->file >= 0)
		close(self->file);
	if (self->vm >= 0)
		close(self->vm);
	ext4_umount(&self->fs);
}

struct fd_write {
	int vm, file, ret, err;
	__u64 done;
	_Atomic bool finished;
};

static void *do_write_to_fd(void *p)
{
	struct fd_write *w = p;
	struct vmmem_fd_io a = {
		.len = FROZEN_LEN, .fd = w->file, .flags = VMMEM_FD_EXACT,
	};

	w->ret = ioctl(w->vm, VMMEM_WRITE_TO_FD, &a);
	w->err = errno;
	w->done = a.done;
	w->finished = true;
	return NULL;
}

TEST_F_TIMEOUT(frozen, write_to_fd_waits_for_the_thaw_like_pwrite, 60)
{
	struct fd_write w = { .vm = self->vm, .file = self->file };
	unsigned char back[FROZEN_LEN];
	pthread_t th;

	ASSERT_EQ(0, ioctl(self->dirfd, FIFREEZE, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, do_write_to_fd, &w));
	usleep(500 * 1000);
	EXPECT_FALSE(w.finished)
		TH_LOG("wrote %llu bytes to a frozen filesystem",
		       (unsigned long long)w.done);
	ASSERT_EQ(0, ioctl(self->dirfd, FITHAW, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(0, w.ret) TH_LOG("errno %d", w.err);
	EXPECT_EQ(FROZEN_LEN, w.done);
	ASSERT_EQ(FROZEN_LEN, pread(self->file, back, FROZEN_LEN, 0));
	EXPECT_EQ(0, memcmp(back, self->data, FROZEN_LEN));
}

/* --- backing ------------------------------------------------------------- */

enum backing { B_EXT4_SHARED, B_RAMFS_SHARED, B_VMMEM_MAPPING,
	       B_EXT4_PRIVATE, B_TMPFS_SHARED, B_SHARED_ANON, B_MEMFD,
	       B_ANON_THEN_EXT4 };

FIXTURE(backing) {
	struct ext4 fs;
	char ramfs[64];
	int vm, other, file;
	void *map;
	size_t len;
	long pins0;
};

FIXTURE_VARIANT(backing) {
	enum backing backing;
	int expect;		/* errno of the add, 0: accepted */
};

FIXTURE_VARIANT_ADD(backing, shared_ext4_file_is_eopnotsupp) {
	B_EXT4_SHARED, EOPNOTSUPP };
FIXTURE_VARIANT_ADD(backing, shared_ramfs_file_is_eopnotsupp) {
	B_RAMFS_SHARED, EOPNOTSUPP };
FIXTURE_VARIANT_ADD(backing, another_vmmem_mapping_is_eopnotsupp) {
	B_VMMEM_MAPPING, EOPNOTSUPP };
FIXTURE_VARIANT_ADD(backing, anon_then_shared_ext4_is_eopnotsupp) {
	B_ANON_THEN_EXT4, EOPNOTSUPP };
FIXTURE_VARIANT_ADD(backing, private_ext4_file_is_accepted) {
	B_EXT4_PRIVATE, 0 };
FIXTURE_VARIANT_ADD(backing, shared_tmpfs_file_is_accepted) {
	B_TMPFS_SHARED, 0 };
FIXTURE_VARIANT_ADD(backing, shared_anonymous_is_accepted) {
	B_SHARED_ANON, 0 };
FIXTURE_VARIANT_ADD(backing, memfd_is_accepted) { B_MEMFD, 0 };

#define BLEN	(8 * PG)

FIXTURE_SETUP(backing)
{
	enum backing b = variant->backing;
	int prot = PROT_READ | PROT_WRITE;
	struct vmmem_region_add a;
	unsigned char *p;

	self->vm = self->other = self->file = -1;
	self->len = BLEN;
	self->vm = vm_open();
	ASSERT_GE(self->vm, 0);
	if (b == B_EXT4_SHARED || b == B_EXT4_PRIVATE ||
	    b == B_ANON_THEN_EXT4) {
		if (ext4_mount(&self->fs))
			SKIP(return, "no loop device or ext4 here: %s",
			     strerror(errno));
		self->file = file_in(self->fs.dir, BLEN);
	}
	switch (b) {
	case B_RAMFS_SHARED:
		strcpy(self->ramfs, "/tmp/vmmem-ramfs.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->ramfs));
		ASSERT_EQ(0, mount("ramfs", self->ramfs, "ramfs", 0, NULL));
		self->file = file_in(self->ramfs, BLEN);
		break;
	case B_TMPFS_SHARED:		/* /tmp is tmpfs in the test VM */
		strcpy(self->ramfs, "/tmp/vmmem-tmpfs.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->ramfs));
		ASSERT_EQ(0, mount("tmpfs", self->ramfs, "tmpfs", 0, NULL));
		self->file = file_in(self->ramfs, BLEN);
		break;
	case B_MEMFD:
		self->file = memfd_create("vmmem-backing", MFD_CLOEXEC);
		ASSERT_EQ(0, ftruncate(self->file, BLEN));
		break;
	case B_VMMEM_MAPPING:
		self->other = vm_open();
		ASSERT_GE(self->other, 0);
		ASSERT_EQ(0, vm_add(self->other, 0, BLEN, 0, 0, &a));
		self->map = mmap(NULL, BLEN, prot, MAP_SHARED, self->other,
				 a.mmap_offset);
		ASSERT_NE(MAP_FAILED, self->map);
		break;
	default:
		break;
	}
	if (b != B_SHARED_ANON && b != B_VMMEM_MAPPING)
		ASSERT_GE(self->file, 0);

	switch (b) {
	case B_SHARED_ANON:
		self->map = mmap(NULL, BLEN, prot, MAP_SHARED | MAP_ANONYMOUS,
				 -1, 0);
		break;
	case B_EXT4_PRIVATE:
		self->map = mmap(NULL, BLEN, prot, MAP_PRIVATE, self->file, 0);
		break;
	case B_ANON_THEN_EXT4:		/* half anonymous, half the file */
		p = mmap(NULL, BLEN, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		memset(p, 1, BLEN / 2);
		ASSERT_NE(MAP_FAILED, mmap(p + BLEN / 2, BLEN / 2, prot,
					   MAP_SHARED | MAP_FIXED, self->file,
					   0));
		self->map = p;
		break;
	case B_VMMEM_MAPPING:
		break;
	default:
		self->map = mmap(NULL, BLEN, prot, MAP_SHARED, self->file, 0);
	}
	ASSERT_NE(MAP_FAILED, self->map);
	memset(self->map, 0x3c, BLEN);
	self->pins0 = pins_outstanding();
}

FIXTURE_TEARDOWN(backing)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, self->len);
	if (self->vm >= 0)
		close(self->vm);
	if (self->other >= 0)
		close(self->other);
	if (self->file >= 0)
		close(self->file);
	if (self->ramfs[0]) {
		umount2(self->ramfs, MNT_DETACH);
		rmdir(self->ramfs);
	}
	ext4_umount(&self->fs);
}

TEST_F(backing, user_region_add)
{
	unsigned char b = 0;
	int ret;

	ret = vm_add(self->vm, 0, BLEN, ptr2u(self->map), 0, NULL);
	if (variant->expect) {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(variant->expect, errno);
		EXPECT_EQ(self->pins0, pins_settle(self->pins0))
			TH_LOG("a refused add left pages pinned");
		EXPECT_EQ(-1, vm_find(self->vm, 0, NULL));
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("errno %d", errno);
	/* It is the caller's memory. */
	ASSERT_EQ(0, vm_read(self->vm, BLEN - 1, &b, 1, 0, NULL));
	EXPECT_EQ(0x3c, b);
	EXPECT_EQ(self->pins0 + BLEN / PG, pins_outstanding());
	ASSERT_EQ(0, vm_remove_addr(self->vm, 0, BLEN));
	EXPECT_EQ(self->pins0, pins_settle(self->pins0));
}

TEST_HARNESS_MAIN
