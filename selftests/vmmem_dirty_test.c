// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty log: each writer shows up at exactly the pages it wrote and
 * nowhere else, reads dirty nothing, a harvest clears what it reports and
 * write-protects it again, stop leaves mappings writable and logs nothing.
 * Writers: VMMEM_WRITE, batch writes, atomics, VMMEM_COPY, READ_FROM_FD,
 * the VMM's own mapping (within one region and across regions), a fork()ed
 * child's, a process that received the fd by SCM_RIGHTS. (KVM and a
 * vhost-user backend are in vmmem_kvm_test and vmmem_vhost_user_test.)
 *
 * Regressions: a read-only region's mapping next to (or between) logged
 * ones, a ranges harvest whose array faults, a write through a pin, a
 * harvest that began unmapped, mprotect() racing a harvest, START racing
 * a write fault, errnos of DIRTY_TRACK and of a logged add.
 *
 * precopy.*: writers through the ioctls (one half of the region) and a
 * mapping (the other) keep writing while a harvester copies the dirty
 * pages to a shadow, round after round; after the writers stop and a last
 * harvest, the shadow equals guest memory.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "vmmem_test.h"
#include "vmmem_stall.h"

#define GPA_K		0x1000000ULL	/* kernel-backed, logged */
#define NK		64
#define GPA_K2		(GPA_K + NK * PG)	/* adjacent, logged */
#define NK2		16
#define GPA_U		0x4000000ULL	/* user-backed (memfd), logged */
#define NU		16
#define SPAN		(GPA_K2 + NK2 * PG - GPA_K)

/* Harvest [gpa, gpa + npages) into @bits (one byte a page); dirty count. */
static long harvest(int fd, __u64 gpa, unsigned int npages,
		    unsigned char *bits, __u32 flags)
{
	__u64 bmp[(NK + NK2 + 63) / 64 + 1];
	struct vmmem_dirty_harvest h = {
		.guest_addr = gpa, .len = npages * PG, .buf = ptr2u(bmp),
		.flags = flags,
	};
	unsigned int i;

	memset(bmp, 0xff, sizeof(bmp));
	if (ioctl(fd, VMMEM_DIRTY_HARVEST, &h))
		return -errno;
	for (i = 0; i < npages; i++)
		bits[i] = bmp[i / 64] >> (i % 64) & 1;
	return h.pages;
}

/* A bitmap harvest of [gpa, gpa + len) into @bmp; pages, or -errno. */
static long harvest_bmp(int fd, __u64 gpa, __u64 len, __u64 *bmp,
			__u32 flags)
{
	struct vmmem_dirty_harvest h = { .guest_addr = gpa, .len = len,
					 .buf = ptr2u(bmp), .flags = flags };

	if (ioctl(fd, VMMEM_DIRTY_HARVEST, &h))
		return -errno;
	return h.pages;
}

static int bit(const __u64 *bmp, __u64 i)
{
	return bmp[i / 64] >> (i % 64) & 1;
}

/* A mapping of @npages of the file at @off, or NULL. */
static volatile unsigned char *map_file(int fd, __u64 off, __u64 npages,
					int prot)
{
	void *p = mmap(NULL, npages * PG, prot, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

/* The pages @bits says are dirty, as a string "3 9 10 ...". */
static const char *dirty_list(const unsigned char *bits, unsigned int n,
			      char *out, size_t size)
{
	unsigned int i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len < size - 8; i++)
		if (bits[i])
			len += snprintf(out + len, size - len, "%u ", i);
	return out;
}

FIXTURE(dl) {
	int fd, mfd;
	unsigned char *umem;
	struct vmmem_region_add k, k2, u;
	unsigned char bits[NK + NK2];
	char list[512];
};

FIXTURE_SETUP(dl)
{
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	self->mfd = memfd_create("dirty", MFD_CLOEXEC);
	ASSERT_EQ(0, ftruncate(self->mfd, NU * PG));
	self->umem = mmap(NULL, NU * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->umem);
	ASSERT_EQ(0, vm_add(self->fd, GPA_K, NK * PG, 0, 0, &self->k));
	ASSERT_EQ(0, vm_add(self->fd, GPA_K2, NK2 * PG, 0, 0, &self->k2));
	ASSERT_EQ(0, vm_add(self->fd, GPA_U, NU * PG, ptr2u(self->umem), 0,
			    &self->u));
	ASSERT_EQ(2, dirty_track(self->fd, VMMEM_DIRTY_START, GPA_K, SPAN));
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_START, GPA_U, NU * PG));
}

FIXTURE_TEARDOWN(dl)
{
	close(self->fd);
	munmap(self->umem, NU * PG);
	close(self->mfd);
}

/* The pages of K and K2 dirty since the last harvest, as a list. */
#define DIRTY(self) ({							\
	long __n = harvest((self)->fd, GPA_K, NK + NK2, (self)->bits, 0);	\
	ASSERT_LE(0, __n) TH_LOG("harvest: %s", strerror(-__n));	\
	dirty_list((self)->bits, NK + NK2, (self)->list,		\
		   sizeof((self)->list));				\
})

TEST_F(dl, a_region_starts_clean)
{
	EXPECT_STREQ("", DIRTY(self));
}

TEST_F(dl, a_write_dirties_exactly_its_pages)
{
	unsigned char buf[3 * PG];

	memset(buf, 1, sizeof(buf));
	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 3 * PG + 100, buf, 8, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 9 * PG + 10, buf, 2 * PG + 1,
			      0, NULL));
	/* across the boundary into K2 */
	ASSERT_EQ(0, vm_write(self->fd, GPA_K2 - 8, buf, 16, 0, NULL));
	EXPECT_STREQ("3 9 10 11 63 64 ", DIRTY(self));
	/* cleared by the harvest */
	EXPECT_STREQ("", DIRTY(self));
}

TEST_F(dl, reads_dirty_nothing)
{
	unsigned char buf[PG];
	struct vmmem_atomic a = { .guest_addr = GPA_K, .op = VMMEM_ATOMIC_LOAD,
				  .size = 8 };
	struct vmmem_slice sl;
	struct vmmem_translate t = { .guest_addr = GPA_K, .len = PG,
				     .slices = ptr2u(&sl), .count = 1 };
	struct vmmem_fd_io f = { .guest_addr = GPA_K + PG, .len = PG,
				 .fd = self->mfd };
	struct vmmem_copy c = { .src_gpa = GPA_K + 2 * PG,
				.dst_gpa = GPA_U, .len = 8 };

	ASSERT_EQ(0, vm_read(self->fd, GPA_K, buf, PG, 0, NULL));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_TRANSLATE, &t));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_WRITE_TO_FD, &f));
	/* a copy's source */
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_COPY, &c));
	EXPECT_STREQ("", DIRTY(self));
}

TEST_F(dl, batch_write_ops_dirty_their_pages_and_read_ops_none)
{
	unsigned char buf[64] = { 7 };
	struct vmmem_io ops[3] = {
		{ .guest_addr = GPA_K + 5 * PG, .user_addr = ptr2u(buf),
		  .len = 64, .flags = VMMEM_IO_WRITE },
		{ .guest_addr = GPA_K + 6 * PG, .user_addr = ptr2u(buf),
		  .len = 64 },
		{ .guest_addr = GPA_K + 30 * PG - 8, .user_addr = ptr2u(buf),
		  .len = 16, .flags = VMMEM_IO_WRITE },
	};
	struct vmmem_io_batch b = { .ops = ptr2u(ops), .count = 3 };

	ASSERT_EQ(0, ioctl(self->fd, VMMEM_IO_BATCH, &b));
	EXPECT_STREQ("5 29 30 ", DIRTY(self));
}

TEST_F(dl, atomics_dirty_what_they_store)
{
	struct vmmem_atomic a = { .size = 8, .order = VMMEM_ORDER_SEQ_CST };

	a.op = VMMEM_ATOMIC_STORE;
	a.guest_addr = GPA_K + PG;
	a.value = 5;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
	a.op = VMMEM_ATOMIC_FETCH_ADD;
	a.guest_addr = GPA_K + 2 * PG;
	a.value = 1;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
	a.op = VMMEM_ATOMIC_CMPXCHG;
	a.guest_addr = GPA_K + 3 * PG;	/* 0 == 0: stores */
	a.expected = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
	a.guest_addr = GPA_K + 4 * PG;	/* 0 != 9: stores nothing */
	a.expected = 9;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
	EXPECT_STREQ("1 2 3 ", DIRTY(self));
}

TEST_F(dl, a_guest_copy_dirties_its_destination)
{
	struct vmmem_copy c = { .src_gpa = GPA_K, .dst_gpa = GPA_K + 20 * PG,
				.len = 2 * PG };

	ASSERT_EQ(0, ioctl(self->fd, VMMEM_COPY, &c));
	EXPECT_STREQ("20 21 ", DIRTY(self));
}

TEST_F(dl, read_from_fd_dirties_what_it_filled)
{
	unsigned char buf[5000];
	struct vmmem_fd_io f = { .guest_addr = GPA_K + 30 * PG, .len = 5000,
				 .fd = self->mfd };

	memset(buf, 3, sizeof(buf));
	ASSERT_EQ(5000, pwrite(self->mfd, buf, 5000, 0));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_READ_FROM_FD, &f));
	ASSERT_EQ(5000, f.done);
	EXPECT_STREQ("30 31 ", DIRTY(self));
}

/*
 * A user-backed region: vmmem's writes are logged; its owner's through
 * its own mapping are not (vmmem cannot see them) until marked.
 */
TEST_F(dl, a_user_region_logs_vmmem_writes_and_marks)
{
	unsigned char v = 1, bits[NU];
	char list[128];

	ASSERT_EQ(0, vm_write(self->fd, GPA_U + 2 * PG, &v, 1, 0, NULL));
	self->umem[4 * PG] = 2;
	ASSERT_EQ(1, dirty_track(self->fd, VMMEM_DIRTY_MARK, GPA_U + 5 * PG, PG));
	ASSERT_EQ(2, harvest(self->fd, GPA_U, NU, bits, 0));
	EXPECT_STREQ("2 5 ", dirty_list(bits, NU, list, sizeof(list)));
}

TEST_F(dl, writes_through_the_own_mapping_are_logged_each_round)
{
	unsigned char *m = mmap(NULL, NK * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, self->fd, self->k.mmap_offset);

	ASSERT_NE(MAP_FAILED, m);
	/* reading dirties nothing */
	EXPECT_EQ(0, m[8 * PG]);
	EXPECT_STREQ("", DIRTY(self));
	m[7 * PG] = 1;
	m[7 * PG + 1] = 2;
	EXPECT_STREQ("7 ", DIRTY(self));
	/* write-protected again by the harvest: the next write is seen */
	m[7 * PG + 2] = 3;
	m[40 * PG] = 4;
	EXPECT_STREQ("7 40 ", DIRTY(self));
	EXPECT_STREQ("", DIRTY(self));
	ASSERT_EQ(0, munmap(m, NK * PG));
}

TEST_F(dl, writes_through_a_mapping_across_regions_are_logged)
{
	unsigned char *m = mmap(NULL, (NK + NK2) * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, self->fd, self->k.mmap_offset);

	ASSERT_NE(MAP_FAILED, m);
	m[(NK - 1) * PG] = 1;
	m[NK * PG + 5] = 2;
	EXPECT_STREQ("63 64 ", DIRTY(self));
	m[NK * PG + 6] = 3;
	EXPECT_STREQ("64 ", DIRTY(self));
	ASSERT_EQ(0, munmap(m, (NK + NK2) * PG));
}

TEST_F(dl, a_forked_childs_writes_are_logged)
{
	unsigned char *m = mmap(NULL, NK * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, self->fd, self->k.mmap_offset);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, m);
	m[PG] = 1;
	EXPECT_STREQ("1 ", DIRTY(self));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		m[PG] = 2;	/* re-protected in the child's copy too */
		m[11 * PG] = 3;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_STREQ("1 11 ", DIRTY(self));
	ASSERT_EQ(0, munmap(m, NK * PG));
}

static int send_fd(int sock, int fd)
{
	char c = 0;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A backend: it gets the fd by SCM_RIGHTS and maps it itself. */
TEST_F(dl, writes_of_a_process_that_received_the_fd_are_logged)
{
	int sv[2], status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int fd;
		unsigned char *m;

		close(self->fd);	/* only what it receives */
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(1);
		m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 self->k.mmap_offset + 13 * PG);
		if (m == MAP_FAILED)
			_exit(2);
		m[5] = 1;
		_exit(0);
	}
	ASSERT_EQ(0, send_fd(sv[0], self->fd));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("13 ", DIRTY(self));
	close(sv[0]);
	close(sv[1]);
}

TEST_F(dl, stop_leaves_mappings_writable_and_logs_nothing)
{
	unsigned char v = 1, *m = mmap(NULL, NK * PG, PROT_READ | PROT_WRITE,
				       MAP_SHARED, self->fd,
				       self->k.mmap_offset);
	struct vmmem_region_info info;

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, vm_find(self->fd, GPA_K, &info));
	EXPECT_TRUE(info.flags & VMMEM_REGION_DIRTY_LOG);
	m[2 * PG] = 1;
	ASSERT_EQ(2, dirty_track(self->fd, VMMEM_DIRTY_STOP, GPA_K, SPAN));
	ASSERT_EQ(0, vm_find(self->fd, GPA_K, &info));
	EXPECT_FALSE(info.flags & VMMEM_REGION_DIRTY_LOG);
	m[2 * PG] = 2;
	m[3 * PG] = 3;
	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 4 * PG, &v, 1, 0, NULL));
	EXPECT_STREQ("", DIRTY(self));
	/* and again: every page clean */
	ASSERT_EQ(2, dirty_track(self->fd, VMMEM_DIRTY_START, GPA_K, SPAN));
	EXPECT_STREQ("", DIRTY(self));
	m[3 * PG] = 4;
	EXPECT_STREQ("3 ", DIRTY(self));
	ASSERT_EQ(0, munmap(m, NK * PG));
}

TEST_F(dl, peek_reports_and_clears_nothing)
{
	unsigned char v = 1, bits[NK];

	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 6 * PG, &v, 1, 0, NULL));
	ASSERT_EQ(1, harvest(self->fd, GPA_K, NK, bits, VMMEM_DIRTY_PEEK));
	EXPECT_EQ(1, bits[6]);
	EXPECT_STREQ("6 ", DIRTY(self));
}

TEST_F(dl, ranges_coalesce_and_resume_where_the_array_filled)
{
	static const unsigned int pages[] = { 1, 2, 3, 7, 10, 11, 63, 64 };
	struct vmmem_dirty_range r[4];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA_K,
					 .len = (NK + NK2) * PG,
					 .buf = ptr2u(r), .count = 2,
					 .flags = VMMEM_DIRTY_RANGES };
	unsigned char v = 1;
	unsigned int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, vm_write(self->fd, GPA_K + pages[i] * PG, &v, 1,
				      0, NULL));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(2, h.count);
	EXPECT_EQ(GPA_K + PG, r[0].guest_addr);
	EXPECT_EQ(3 * PG, r[0].len);
	EXPECT_EQ(GPA_K + 7 * PG, r[1].guest_addr);
	EXPECT_EQ(PG, r[1].len);
	EXPECT_EQ(4, h.pages);
	EXPECT_EQ(10 * PG, h.done);
	/* from there on: the rest, across the region boundary in one run */
	h.guest_addr = GPA_K + h.done;
	h.len = (NK + NK2 - 10) * PG;
	h.count = 4;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(2, h.count);
	EXPECT_EQ(GPA_K + 10 * PG, r[0].guest_addr);
	EXPECT_EQ(2 * PG, r[0].len);
	EXPECT_EQ(GPA_K + 63 * PG, r[1].guest_addr);
	EXPECT_EQ(2 * PG, r[1].len);
	EXPECT_EQ(h.len, h.done);
	EXPECT_STREQ("", DIRTY(self));
}

/* Holes cost nothing: all of the address space, in ranges and in bits. */
TEST_F(dl, a_harvest_skips_holes_and_zeroes_their_bits)
{
	__u64 bmp[(GPA_K / PG + NK) / 64];
	struct vmmem_dirty_range r[4];
	struct vmmem_dirty_harvest h = { .guest_addr = 0,
					 .len = ~0ULL & ~(PG - 1),
					 .buf = ptr2u(r), .count = 4,
					 .flags = VMMEM_DIRTY_RANGES };
	unsigned char v = 1;
	unsigned int i;

	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 5 * PG, &v, 1, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, GPA_U + 2 * PG, &v, 1, 0, NULL));
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(2, h.count);
	EXPECT_EQ(GPA_K + 5 * PG, r[0].guest_addr);
	EXPECT_EQ(PG, r[0].len);
	EXPECT_EQ(GPA_U + 2 * PG, r[1].guest_addr);
	EXPECT_EQ(PG, r[1].len);
	EXPECT_EQ(2, h.pages);
	EXPECT_EQ(h.len, h.done);

	/* A bitmap from GPA 0: the hole's words are written, as zeroes. */
	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 5 * PG, &v, 1, 0, NULL));
	memset(bmp, 0xff, sizeof(bmp));
	h = (struct vmmem_dirty_harvest){ .guest_addr = 0,
					  .len = GPA_K + NK * PG,
					  .buf = ptr2u(bmp) };
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	EXPECT_EQ(1, h.pages);
	for (i = 0; i < ARRAY_SIZE(bmp); i++)
		EXPECT_EQ(i == GPA_K / PG / 64 ? 1ULL << 5 : 0, bmp[i]);
}

TEST_F(dl, a_harvest_into_a_bad_buffer_keeps_the_pages_dirty)
{
	struct vmmem_dirty_harvest h = { .guest_addr = GPA_K, .len = NK * PG,
					 .buf = ptr2u(unmapped_range(PG)) };
	unsigned char v = 1;

	ASSERT_EQ(0, vm_write(self->fd, GPA_K + 9 * PG, &v, 1, 0, NULL));
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EFAULT, errno);
	EXPECT_STREQ("9 ", DIRTY(self));
}

TEST_F(dl, bad_arguments_are_einval)
{
	struct vmmem_dirty_harvest h = { .guest_addr = GPA_K + 1, .len = PG };
	struct vmmem_dirty_track t = { .guest_addr = GPA_K, .len = PG,
				       .op = 9 };

	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EINVAL, errno);
	h.guest_addr = GPA_K;
	h.flags = 1U << 7;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EINVAL, errno);
	h.flags = 0;
	h.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EINVAL, errno);
	h.reserved = 0;
	h.guest_addr = ~0ULL & ~(PG - 1);
	h.len = 2 * PG;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_TRACK, &t));
	ASSERT_EQ(EINVAL, errno);
	t.op = VMMEM_DIRTY_START;
	t.len = 3;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_DIRTY_TRACK, &t));
	ASSERT_EQ(EINVAL, errno);
}

TEST(an_add_with_the_flag_is_logged_from_the_start)
{
	int fd = vm_open();
	struct vmmem_region_info info;
	unsigned char v = 1, bits[4];

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GPA_K, 4 * PG, 0, VMMEM_REGION_DIRTY_LOG,
			    NULL));
	ASSERT_EQ(0, vm_find(fd, GPA_K, &info));
	EXPECT_TRUE(info.flags & VMMEM_REGION_DIRTY_LOG);
	ASSERT_EQ(0, vm_write(fd, GPA_K + 2 * PG, &v, 1, 0, NULL));
	ASSERT_EQ(1, harvest(fd, GPA_K, 4, bits, 0));
	EXPECT_EQ(1, bits[2]);
	close(fd);
}

/* --- regressions --------------------------------------------------------- */

/*
 * A read-only region's mapping has no VM_MAYWRITE, and the kernel's
 * walk_page_mapping() stops at the first vma its test_walk rejects. A
 * harvest whose run of mmap offsets starts in a read-only region (its
 * pages marked, as for a first pre-copy round) and goes on into the next,
 * writable region must still write-protect the writable one's mapping.
 */
#define GRO		0x100000ULL	/* read-only, logged: offsets first */
#define NRO		4
#define GRW		0x200000ULL	/* writable, logged: offsets next */
#define NRW		16

TEST(a_read_only_regions_mapping_does_not_stop_the_next_ones_protection)
{
	static __u64 bmp[(GRW / PG + NRW + 63) / 64];
	volatile unsigned char *mr, *mw;
	struct vmmem_region_add r, w;
	int fd = vm_open(), round;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GRO, NRO * PG, 0, VMMEM_REGION_READONLY |
			    VMMEM_REGION_DIRTY_LOG, &r));
	ASSERT_EQ(0, vm_add(fd, GRW, NRW * PG, 0, VMMEM_REGION_DIRTY_LOG, &w));
	mr = map_file(fd, r.mmap_offset, NRO, PROT_READ);
	ASSERT_NE(NULL, mr);
	mw = map_file(fd, w.mmap_offset, NRW, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mw);
	mw[0] = 1;
	ASSERT_LE(0, dirty_track(fd, VMMEM_DIRTY_MARK, 0, 1ULL << 30));
	ASSERT_LE(NRW, harvest_bmp(fd, 0, GRW + NRW * PG, bmp, 0));
	EXPECT_EQ(1, bit(bmp, GRW / PG));
	for (round = 0; round < 2; round++) {
		mw[0] = 2 + round;
		memset(bmp, 0, sizeof(bmp));
		EXPECT_EQ(1, harvest_bmp(fd, GRW, NRW * PG, bmp, 0))
			TH_LOG("round %d: the write was not logged: the mapping was left writable",
			       round);
		EXPECT_EQ(1, bit(bmp, 0));
	}
	close(fd);
}

/*
 * The same with a read-only region (not logged) whose offsets lie between
 * two logged regions' offsets: one harvest over both logged regions must
 * write-protect the second one's mapping too.
 */
#define GW1		0x100000ULL	/* writable, logged: offsets first */
#define GRB		0x800000ULL	/* read-only: offsets in between */
#define GW2		0x200000ULL	/* writable, logged: offsets last */
#define NW		16

TEST(a_read_only_region_between_two_does_not_stop_their_protection)
{
	static __u64 bmp[((GW2 - GW1) / PG + NW + 63) / 64];
	volatile unsigned char *mr, *m1, *m2;
	struct vmmem_region_add w1, r, w2;
	int fd = vm_open(), round;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, GW1, NW * PG, 0, VMMEM_REGION_DIRTY_LOG, &w1));
	ASSERT_EQ(0, vm_add(fd, GRB, 4 * PG, 0, VMMEM_REGION_READONLY, &r));
	ASSERT_EQ(0, vm_add(fd, GW2, NW * PG, 0, VMMEM_REGION_DIRTY_LOG, &w2));
	mr = map_file(fd, r.mmap_offset, 4, PROT_READ);
	ASSERT_NE(NULL, mr);
	EXPECT_EQ(0, mr[0]);
	m1 = map_file(fd, w1.mmap_offset, NW, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m1);
	m2 = map_file(fd, w2.mmap_offset, NW, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m2);
	for (round = 0; round < 3; round++) {
		m1[(NW - 1) * PG] = 1 + round;
		m2[0] = 1 + round;
		memset(bmp, 0, sizeof(bmp));
		EXPECT_EQ(2, harvest_bmp(fd, GW1, GW2 + NW * PG - GW1, bmp, 0))
			TH_LOG("round %d: a write was not logged", round);
		EXPECT_EQ(1, bit(bmp, NW - 1));
		EXPECT_EQ(1, bit(bmp, (GW2 - GW1) / PG));
	}
	close(fd);
}

/*
 * A ranges harvest whose array faults part way: -EFAULT, @count and
 * @pages say what was handed over (the ranges in the array's accessible
 * part), @done ends at or after them and before any dirty page that was
 * not, and every dirty page not handed over is dirty again.
 */
#define RF_GPA		0x100000ULL
#define RF_PAGES	400	/* every other one dirty: 200 ranges */
#define RF_FIT		48	/* ranges before the guard page */

TEST(a_ranges_harvest_that_faults_keeps_what_it_did_not_hand_over)
{
	static __u64 bmp[(RF_PAGES + 63) / 64];
	unsigned char handed[RF_PAGES] = { 0 }, one = 1;
	struct vmmem_dirty_range *rg;
	struct vmmem_dirty_harvest h;
	__u64 pages = 0, end = RF_GPA, p;
	int fd = vm_open(), lost = 0, first_lost = -1, first_kept = -1, i;
	unsigned char *buf;
	unsigned int j;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, RF_GPA, RF_PAGES * PG, 0,
			    VMMEM_REGION_DIRTY_LOG, NULL));
	for (i = 0; i < RF_PAGES; i += 2)
		ASSERT_EQ(0, vm_write(fd, RF_GPA + i * PG, &one, 1, 0, NULL));
	buf = anon_map(2 * PG);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mprotect(buf + PG, PG, PROT_NONE));
	rg = (void *)(buf + PG - RF_FIT * sizeof(*rg));
	h = (struct vmmem_dirty_harvest){ .guest_addr = RF_GPA,
					  .len = RF_PAGES * PG,
					  .buf = ptr2u(rg), .count = 1000,
					  .flags = VMMEM_DIRTY_RANGES };
	ASSERT_EQ(-1, ioctl(fd, VMMEM_DIRTY_HARVEST, &h));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_LE(h.count, RF_FIT);
	for (j = 0; j < h.count; j++) {
		ASSERT_LE(end, rg[j].guest_addr);
		ASSERT_LE(rg[j].guest_addr + rg[j].len, RF_GPA + RF_PAGES * PG);
		for (p = rg[j].guest_addr; p < rg[j].guest_addr + rg[j].len;
		     p += PG)
			handed[(p - RF_GPA) / PG] = 1;
		pages += rg[j].len / PG;
		end = rg[j].guest_addr + rg[j].len;
	}
	EXPECT_EQ(pages, h.pages);
	EXPECT_LE(end - RF_GPA, h.done);
	ASSERT_LE(0, harvest_bmp(fd, RF_GPA, RF_PAGES * PG, bmp, 0));
	for (i = 0; i < RF_PAGES; i++) {
		if (i % 2) {
			EXPECT_EQ(0, bit(bmp, i)) TH_LOG("page %d never written", i);
			continue;
		}
		if (handed[i])
			continue;
		if (first_kept < 0)
			first_kept = i;
		if (!bit(bmp, i) && !lost++)
			first_lost = i;
	}
	EXPECT_EQ(0, lost) TH_LOG("%d dirty pages neither handed over nor dirty again (the first: %d)",
				  lost, first_lost);
	if (first_kept >= 0)
		EXPECT_LE(h.done, first_kept * PG)
			TH_LOG("@done %llu is past page %d, not handed over",
			       (unsigned long long)h.done, first_kept);
	munmap(buf, 2 * PG);
	close(fd);
}

struct pin_write {
	void *src, *dst;
	ssize_t ret;
};

static void *pin_writer(void *arg)
{
	struct pin_write *pw = arg;
	struct iovec l = { pw->src, 1 }, r = { pw->dst, 1 };

	pw->ret = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	return NULL;
}

/*
 * A write through a pin of the mapping (process_vm_writev here; O_DIRECT,
 * io_uring the same) that lands after a harvest: the page was faulted
 * writable before the harvest, the write goes through the kernel's own
 * mapping after it, and a later harvest must report it. The source is
 * userfaultfd memory, so the copy waits with the target pinned.
 */
TEST_F(dl, a_write_through_a_pin_that_lands_after_a_harvest_is_reported)
{
	volatile unsigned char *m = map_file(self->fd, self->k.mmap_offset, NK,
					     PROT_READ | PROT_WRITE);
	struct pin_write pw;
	struct stall st;
	pthread_t t;

	ASSERT_NE(NULL, m);
	EXPECT_STREQ("", DIRTY(self));
	st.content = NULL;
	ASSERT_EQ(0, stall_init(&st, STALL_UFFD, PG, 0x42));
	pw = (struct pin_write){ .src = st.buf, .dst = (void *)(m + 3 * PG) };
	ASSERT_EQ(0, pthread_create(&t, NULL, pin_writer, &pw));
	ASSERT_EQ(0, stall_wait(&st, 10000));
	/* page 3 is pinned; the write lands after this harvest */
	EXPECT_STREQ("3 ", DIRTY(self));
	stall_release(&st);
	pthread_join(t, NULL);
	ASSERT_EQ(1, pw.ret);
	EXPECT_EQ(0x42, m[3 * PG]);
	EXPECT_STREQ("3 ", DIRTY(self));
	stall_fini(&st);
	munmap((void *)m, NK * PG);
}

/*
 * A harvest that begins with nothing of the file mapped, and is held in
 * its bitmap (userfaultfd) while the region is mapped and written: later
 * writes through that mapping must still be logged.
 */
#define NM_GPA		(1ULL << 30)	/* [0, 1 GiB) is a hole */
#define NM_PAGES	64
#define NM_BITS		(NM_GPA / PG + NM_PAGES)
#define NM_BMP		(((NM_BITS + 63) / 64 * 8 + PG - 1) & ~(PG - 1))

struct nomap_harvest {
	int fd;
	__u64 *bmp;
	long ret;
};

static void *nomap_harvester(void *arg)
{
	struct nomap_harvest *nh = arg;

	nh->ret = harvest_bmp(nh->fd, 0, NM_BITS * PG, nh->bmp, 0);
	return NULL;
}

TEST(a_mapping_made_during_a_harvest_that_began_unmapped_is_logged)
{
	struct vmmem_region_add a;
	struct nomap_harvest nh;
	volatile unsigned char *m;
	struct stall st;
	__u64 bmp[1];
	pthread_t t;
	int fd = vm_open(), round;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, NM_GPA, NM_PAGES * PG, 0,
			    VMMEM_REGION_DIRTY_LOG, &a));
	st.content = NULL;
	ASSERT_EQ(0, stall_init(&st, STALL_UFFD, NM_BMP, 0));
	nh = (struct nomap_harvest){ .fd = fd, .bmp = (__u64 *)st.buf };
	ASSERT_EQ(0, pthread_create(&t, NULL, nomap_harvester, &nh));
	ASSERT_EQ(0, stall_wait(&st, 10000));
	/* the harvest is under way, held in the hole's bits */
	m = map_file(fd, a.mmap_offset, NM_PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	m[5 * PG] = 1;
	stall_release(&st);
	pthread_join(t, NULL);
	ASSERT_LE(0, nh.ret);
	for (round = 0; round < 2; round++) {
		m[5 * PG] = 2 + round;
		bmp[0] = 0;
		EXPECT_EQ(1, harvest_bmp(fd, NM_GPA, NM_PAGES * PG, bmp, 0))
			TH_LOG("round %d: the write was not logged", round);
		EXPECT_EQ(1ULL << 5, bmp[0]);
	}
	stall_fini(&st);
	munmap((void *)m, NM_PAGES * PG);
	close(fd);
}

/*
 * A harvest write-protects a reported page and then cleans its pte; an
 * mprotect(PROT_READ) + mprotect(PROT_READ | PROT_WRITE) in between must
 * not leave it writable and clean: the next write is logged. Lazy
 * mappings of the page (never touched) visited before the written one
 * widen the window; the toggle lands at a random point of a harvest.
 * On the unfixed module about 2 in 5 iterations lose the write.
 */
#define MP_GA		0x100000ULL	/* one page, not logged */
#define MP_GB		0x200000ULL	/* logged, next in the offsets */
#define MP_NB		16
#define MP_FILLERS	10000
#define MP_ITERS	24
#define MP_SECONDS	20.0	/* or fewer iterations: not a timeout */

struct mp_toggle {
	volatile unsigned char *vx;
	double delay;
	_Atomic bool go;
};

static void *mp_toggler(void *arg)
{
	struct mp_toggle *mt = arg;
	double t0;

	while (!mt->go)
		;
	t0 = now_sec();
	while (now_sec() - t0 < mt->delay)
		;
	mprotect((void *)mt->vx, PG, PROT_READ);
	mprotect((void *)mt->vx, PG, PROT_READ | PROT_WRITE);
	return NULL;
}

/* A fixture for its timeout: 10000 mappings make each harvest slow under KASAN. */
FIXTURE(mpg) {
	int unused;
};

FIXTURE_SETUP(mpg)
{
}

FIXTURE_TEARDOWN(mpg)
{
}

TEST_F_TIMEOUT(mpg, a_write_after_a_harvest_racing_mprotect_is_logged, 120)
{
	struct vmmem_region_add a, b;
	struct mp_toggle mt = { 0 };
	int fd = vm_open(), it, lost = 0, first = -1;
	unsigned int seed = 1;
	__u64 bmp[1];
	double t0, T;
	pthread_t t;
	long i, n;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, MP_GA, PG, 0, 0, &a));
	ASSERT_EQ(0, vm_add(fd, MP_GB, MP_NB * PG, 0, VMMEM_REGION_DIRTY_LOG,
			    &b));
	/* lazy mappings of page 0 of B, ahead of the written one in i_mmap */
	for (i = 0; i < MP_FILLERS; i++)
		ASSERT_NE(NULL, map_file(fd, b.mmap_offset - PG, 2,
					 PROT_READ | PROT_WRITE));
	mt.vx = map_file(fd, b.mmap_offset, 1, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mt.vx);
	mt.vx[0] = 1;
	t0 = now_sec();
	ASSERT_EQ(1, harvest_bmp(fd, MP_GB, MP_NB * PG, bmp, 0));
	T = now_sec() - t0;
	/* MP_ITERS, or as many as fit in MP_SECONDS (a KASAN kernel): >= 4 */
	for (it = 0; it < MP_ITERS && (it < 4 || now_sec() - t0 < MP_SECONDS);
	     it++) {
		mt.vx[0] = 2;
		mt.delay = T * rand_r(&seed) / RAND_MAX;
		mt.go = false;
		ASSERT_EQ(0, pthread_create(&t, NULL, mp_toggler, &mt));
		mt.go = true;
		n = harvest_bmp(fd, MP_GB, MP_NB * PG, bmp, 0);
		pthread_join(t, NULL);
		EXPECT_EQ(1, n);
		mt.vx[0] = 3;		/* must fault, and be logged */
		bmp[0] = 0;
		ASSERT_LE(0, harvest_bmp(fd, MP_GB, MP_NB * PG, bmp, 0));
		if (!bit(bmp, 0)) {
			if (!lost++)
				first = it;
			/* heal: START write-protects the region again */
			ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_STOP, MP_GB, PG));
			ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_START, MP_GB, PG));
		}
	}
	EXPECT_EQ(0, lost) TH_LOG("%d of %d writes after a harvest not logged (the first in iteration %d)",
				  lost, it, first);
	close(fd);
}

/*
 * DIRTY_START racing a write fault that began while the region was not
 * logged: once START and a harvest have returned, every write is logged.
 * A writer faults its way through the region's mapping from page 0 (each
 * page write-protected again by the last START) while the logging is off;
 * START comes a few microseconds in. The write that raced it is one of
 * those the writer made between START's beginning and its end, which the
 * test makes again after a harvest, with the writer paused. On the unfixed
 * module about 1 START in 2500 leaves that page writable and unlogged
 * (it takes the writer held up between page_mkwrite() and its pte): 6000
 * STARTs (at most 8 s) catch it about 9 times in 10.
 */
#define SR_GPA		0x40000000ULL
#define SR_PAGES	1024
#define SR_ITERS	6000
#define SR_SECONDS	8.0	/* or fewer, on a slow host: not a timeout */

struct start_race {
	volatile unsigned char *m;
	_Atomic unsigned long pos;
	_Atomic bool pause, paused, stop;
};

static void *sr_writer(void *arg)
{
	struct start_race *sr = arg;
	unsigned long i;

	while (!sr->stop) {
		if (sr->pause) {
			sr->paused = true;
			while (sr->pause && !sr->stop)
				sched_yield();
			sr->pos = 0;	/* from the first page again */
			sr->paused = false;
		}
		i = sr->pos;
		sr->m[(i % SR_PAGES) * PG + 8] = (unsigned char)i;
		sr->pos = i + 1;
	}
	return NULL;
}

TEST(writes_after_a_start_that_raced_a_write_fault_are_logged)
{
	static __u64 bmp[SR_PAGES / 64];
	struct vmmem_region_add a;
	struct start_race sr = { 0 };
	int fd = vm_open(), it, lost = 0, first_it = -1;
	unsigned long i0, i2, j, first_page = 0;
	unsigned int seed = 1;
	double spin, end;
	pthread_t t;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, SR_GPA, SR_PAGES * PG, 0, 0, &a));
	sr.m = map_file(fd, a.mmap_offset, SR_PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, sr.m);
	ASSERT_EQ(0, pthread_create(&t, NULL, sr_writer, &sr));
	end = now_sec() + SR_SECONDS;
	for (it = 0; it < SR_ITERS && now_sec() < end; it++) {
		spin = now_sec() + rand_r(&seed) % 30 * 1e-6;
		while (now_sec() < spin)
			;
		i0 = sr.pos;
		ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_START, SR_GPA,
				   SR_PAGES * PG));
		/* the write that raced START is one of [i0 - 1, i2] */
		i2 = sr.pos + 1;
		sr.pause = true;
		while (!sr.paused)
			sched_yield();
		ASSERT_LE(0, harvest_bmp(fd, SR_GPA, SR_PAGES * PG, bmp, 0));
		if (i0)
			i0--;
		if (i2 - i0 >= SR_PAGES)
			i2 = i0 + SR_PAGES - 1;
		for (j = i0; j <= i2; j++)
			sr.m[(j % SR_PAGES) * PG]++;
		memset(bmp, 0, sizeof(bmp));
		ASSERT_LE(0, harvest_bmp(fd, SR_GPA, SR_PAGES * PG, bmp, 0));
		for (j = i0; j <= i2; j++)
			if (!bit(bmp, j % SR_PAGES)) {
				if (!lost++) {
					first_it = it;
					first_page = j % SR_PAGES;
				}
				break;
			}
		ASSERT_EQ(1, dirty_track(fd, VMMEM_DIRTY_STOP, SR_GPA,
				   SR_PAGES * PG));
		sr.pause = false;
		while (sr.paused)
			sched_yield();
	}
	sr.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("%d STARTs, %d left a page unlogged\n", it, lost);
	EXPECT_EQ(0, lost) TH_LOG("%d of %d STARTs left a page unlogged (the first: iteration %d, page %lu)",
				  lost, it, first_it, first_page);
	close(fd);
}

/*
 * DIRTY_TRACK checks its op before anything else, a zero length too; a
 * logged user-backed add over an unmapped range is -EFAULT, its range
 * checked before the log is allocated.
 */
TEST(unknown_track_ops_and_logged_adds_of_nothing_are_errors)
{
	struct vmmem_dirty_track t = { .guest_addr = 0, .len = 0, .op = 99 };
	int fd = vm_open();

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, VMMEM_DIRTY_TRACK, &t));
	EXPECT_EQ(EINVAL, errno);
	t.len = PG;
	EXPECT_EQ(-1, ioctl(fd, VMMEM_DIRTY_TRACK, &t));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vm_add(fd, 1ULL << 32, 1ULL << 46, 0x100000000000ULL,
			     VMMEM_REGION_DIRTY_LOG, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, vm_add(fd, 1ULL << 32, 1ULL << 46, 0x100000000000ULL,
			     0, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, vm_add(fd, 1ULL << 32, 1ULL << 44, 0x100000000000ULL,
			     VMMEM_REGION_DIRTY_LOG, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

/* --- pre-copy ----------------------------------------------------------- */

#define PC_PAGES	256
#define PC_SECONDS	2.0

FIXTURE(precopy) {
	int fd;
	unsigned char *map, *shadow;
	_Atomic bool stop;
	_Atomic unsigned long writes;
};

FIXTURE_SETUP(precopy)
{
	struct vmmem_region_add a;

	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vm_add(self->fd, GPA_K, PC_PAGES * PG, 0,
			    VMMEM_REGION_DIRTY_LOG, &a));
	self->map = mmap(NULL, PC_PAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, a.mmap_offset);
	ASSERT_NE(MAP_FAILED, self->map);
	self->shadow = anon_map(PC_PAGES * PG);
	ASSERT_NE(NULL, self->shadow);
}

FIXTURE_TEARDOWN(precopy)
{
	munmap(self->map, PC_PAGES * PG);
	munmap(self->shadow, PC_PAGES * PG);
	close(self->fd);
}

static __u64 pc_rand(__u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

static void *ioctl_writer(void *arg)
{
	struct _test_data_precopy *self = arg;
	__u64 r = (uintptr_t)&r, v;

	while (!self->stop) {
		/* the first half: the ioctl writers' */
		v = pc_rand(&r);
		vm_write(self->fd, GPA_K + v % (PC_PAGES * PG / 16) * 8, &v, 8,
			 0, NULL);
		self->writes++;
	}
	return NULL;
}

static void *map_writer(void *arg)
{
	struct _test_data_precopy *self = arg;
	__u64 r = 0x9e3779b97f4a7c15ULL, v;

	while (!self->stop) {
		/* the second half: the mapping's alone */
		v = pc_rand(&r);
		((volatile __u64 *)self->map)[PC_PAGES * PG / 16 +
					      v % (PC_PAGES * PG / 16)] = v;
		self->writes++;
	}
	return NULL;
}

/* Copies the pages dirty since the last round to the shadow. */
static long copy_round(struct _test_data_precopy *self)
{
	__u64 bmp[PC_PAGES / 64];
	struct vmmem_dirty_harvest h = { .guest_addr = GPA_K,
					 .len = PC_PAGES * PG,
					 .buf = ptr2u(bmp) };
	unsigned int i;

	if (ioctl(self->fd, VMMEM_DIRTY_HARVEST, &h))
		return -errno;
	for (i = 0; i < PC_PAGES; i++)
		if (bmp[i / 64] >> (i % 64) & 1 &&
		    vm_read(self->fd, GPA_K + i * PG, self->shadow + i * PG,
			    PG, VMMEM_IO_EXACT, NULL))
			return -errno;
	return h.pages;
}

TEST_F_TIMEOUT(precopy, the_shadow_equals_guest_memory_after_the_last_round,
	       60)
{
	unsigned char *now = anon_map(PC_PAGES * PG);
	unsigned long rounds = 0, copied = 0;
	pthread_t th[3];
	double end;
	long n;
	int i;

	ASSERT_NE(NULL, now);
	ASSERT_EQ(0, pthread_create(&th[0], NULL, ioctl_writer, self));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, ioctl_writer, self));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, map_writer, self));
	/* the first copy: everything, as a save does */
	ASSERT_EQ(0, vm_read(self->fd, GPA_K, self->shadow, PC_PAGES * PG,
			     VMMEM_IO_EXACT, NULL));
	end = now_sec() + PC_SECONDS;
	while (now_sec() < end) {
		n = copy_round(self);
		ASSERT_LE(0, n);
		copied += n;
		rounds++;
	}
	self->stop = true;
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ASSERT_LE(0, copy_round(self));
	ASSERT_EQ(0, vm_read(self->fd, GPA_K, now, PC_PAGES * PG,
			     VMMEM_IO_EXACT, NULL));
	ksft_print_msg("%lu writes, %lu rounds, %lu pages copied\n",
		       (unsigned long)self->writes, rounds, copied);
	for (i = 0; i < PC_PAGES; i++)
		if (memcmp(now + i * PG, self->shadow + i * PG, PG))
			break;
	EXPECT_EQ(PC_PAGES, i) TH_LOG("page %d differs: a write was lost", i);
	EXPECT_LT(0, rounds);
	munmap(now, PC_PAGES * PG);
}

TEST_HARNESS_MAIN
