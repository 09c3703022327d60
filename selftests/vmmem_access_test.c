// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem guest memory access: VMMEM_READ, VMMEM_WRITE and VMMEM_IO_BATCH,
 * with the semantics of vm-memory's Bytes (copies run across adjacent
 * regions, stop at holes, @done is always written back).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "vmmem_test.h"

#define A	0x100000ULL	/* kernel-backed, 2 pages */
#define B	0x102000ULL	/* kernel-backed, 3 pages, adjacent to A */
#define HOLE	0x105000ULL	/* nothing at [0x105000, 0x200000) */
#define RO	0x200000ULL	/* read-only, 1 page, after W */
#define W	0x1FF000ULL	/* writable, 1 page, adjacent to RO */
#define U	0x300000ULL	/* kernel-backed 1 page, then user-backed 2 pages */

FIXTURE(io) {
	int fd;
	unsigned char *ubuf;	/* 2 pages backing the user region at U + PG */
	unsigned char *buf;	/* 64 KiB scratch */
	unsigned char *pat;	/* 64 KiB pattern */
};

FIXTURE_SETUP(io)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
	ASSERT_EQ(0, vm_add(self->fd, A, 2 * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, B, 3 * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, W, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, RO, PG, 0, VMMEM_REGION_READONLY, NULL));
	self->ubuf = anon_map(2 * PG);
	ASSERT_NE(NULL, self->ubuf);
	memset(self->ubuf, 0, 2 * PG);
	ASSERT_EQ(0, vm_add(self->fd, U, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, U + PG, 2 * PG, ptr2u(self->ubuf), 0, NULL));
	self->buf = anon_map(0x10000);
	self->pat = anon_map(0x10000);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->pat);
	fill_pattern(self->pat, 0x10000, 7);
}

FIXTURE_TEARDOWN(io)
{
	close(self->fd);
}

/* --- plain copies --------------------------------------------------------- */

TEST_F(io, write_then_read_back_returns_the_data)
{
	__u64 done = 0;

	ASSERT_EQ(0, vm_write(self->fd, A, self->pat, 2 * PG, 0, &done));
	ASSERT_EQ(2 * PG, done);
	ASSERT_EQ(0, vm_read(self->fd, A, self->buf, 2 * PG, 0, &done));
	ASSERT_EQ(2 * PG, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 2 * PG));
}

TEST_F(io, unaligned_copy_across_a_page_boundary)
{
	__u64 done;

	ASSERT_EQ(0, vm_write(self->fd, A + PG - 3, self->pat, 10, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(10, done);
	ASSERT_EQ(0, vm_read(self->fd, A + PG - 4, self->buf, 12, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(12, done);
	ASSERT_EQ(0, self->buf[0]);
	ASSERT_EQ(0, memcmp(self->buf + 1, self->pat, 10));
	ASSERT_EQ(0, self->buf[11]);
}

TEST_F(io, first_and_last_byte_of_a_region)
{
	unsigned char v = 0x11, back = 0;
	__u64 done;

	ASSERT_EQ(0, vm_write(self->fd, A, &v, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	v = 0x22;
	ASSERT_EQ(0, vm_write(self->fd, A + 2 * PG - 1, &v, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(0, vm_read(self->fd, A, &back, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0x11, back);
	ASSERT_EQ(0, vm_read(self->fd, A + 2 * PG - 1, &back, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0x22, back);
	/* the first byte of the adjacent region B was not touched */
	ASSERT_EQ(0, vm_read(self->fd, B, &back, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0, back);
}

TEST_F(io, copy_across_adjacent_kernel_regions_is_one_call)
{
	__u64 gpa = A + PG + 0x800, len = 2 * PG;	/* A's tail, B's head */
	__u64 done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(len, done);
	/* each half lands in its region */
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x800, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x800));
	ASSERT_EQ(0, vm_read(self->fd, B, self->buf, len - 0x800, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(self->buf, self->pat + 0x800, len - 0x800));
	/* and one read spanning both returns it all */
	memset(self->buf, 0, len);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, len, 0, &done));
	ASSERT_EQ(len, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, len));
}

TEST_F(io, copy_of_two_whole_adjacent_regions_is_one_call)
{
	/* A (2 pages) + B (3 pages), all of both */
	__u64 done;

	ASSERT_EQ(0, vm_write(self->fd, A, self->pat, 5 * PG, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(5 * PG, done);
	ASSERT_EQ(0, vm_read(self->fd, A, self->buf, 5 * PG, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(5 * PG, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 5 * PG));
}

TEST_F(io, copy_across_kernel_and_user_backed_regions_is_one_call)
{
	__u64 gpa = U + PG - 100, len = 100 + 2 * PG;	/* to the end of U+PG's */
	__u64 done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(len, done);
	/* the user-backed part is visible in the user's memory */
	ASSERT_EQ(0, memcmp(self->ubuf, self->pat + 100, 2 * PG));
	memset(self->buf, 0, len);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(len, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, len));
	/* and user stores are visible to reads that span both */
	self->ubuf[0] = 0x5c;
	ASSERT_EQ(0, vm_read(self->fd, U + PG - 1, self->buf, 2, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(2, done);
	ASSERT_EQ(self->pat[99], self->buf[0]);
	ASSERT_EQ(0x5c, self->buf[1]);
}

/* --- holes ---------------------------------------------------------------- */

TEST_F(io, write_into_hole_without_exact_succeeds_short)
{
	__u64 gpa = HOLE - 0x100, done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, 0x300, 0, &done));
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x100, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
}

TEST_F(io, read_into_hole_without_exact_succeeds_short)
{
	__u64 gpa = HOLE - 0x100, done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, 0x100, VMMEM_IO_EXACT, NULL));
	memset(self->buf, 0xEE, 0x300);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x300, 0, &done));
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
}

TEST_F(io, write_into_hole_with_exact_is_erange_and_prefix_written)
{
	__u64 gpa = HOLE - 0x100, done = 0;

	ASSERT_EQ(-1, vm_write(self->fd, gpa, self->pat, 0x300, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(ERANGE, errno);
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x100, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
}

TEST_F(io, read_into_hole_with_exact_is_erange_and_prefix_copied)
{
	__u64 gpa = HOLE - 0x100, done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, 0x100, VMMEM_IO_EXACT, NULL));
	memset(self->buf, 0xEE, 0x300);
	ASSERT_EQ(-1, vm_read(self->fd, gpa, self->buf, 0x300, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(ERANGE, errno);
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
}

TEST_F(io, copy_starting_in_hole_is_enxio_with_done_0)
{
	__u64 done;

	ASSERT_EQ(-1, vm_read(self->fd, HOLE, self->buf, 16, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_read(self->fd, HOLE, self->buf, 16, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, HOLE + 5, self->pat, 16, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, HOLE, self->pat, 16, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	/* a hole just before a region: the copy does not skip ahead */
	ASSERT_EQ(-1, vm_read(self->fd, A - 8, self->buf, 16, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_read(self->fd, 0, self->buf, 16, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
}

TEST_F(io, zero_len_succeeds_with_done_0_anywhere)
{
	static const __u64 gpas[] = { HOLE, A, A + 5, RO, 0, ~0ULL, TOP_GPA };
	unsigned int i, f;
	__u64 done;

	for (i = 0; i < ARRAY_SIZE(gpas); i++) {
		for (f = 0; f < 2; f++) {
			__u32 flags = f ? VMMEM_IO_EXACT : 0;

			ASSERT_EQ(0, vm_read(self->fd, gpas[i], self->buf, 0, flags, &done))
				TH_LOG("read gpa 0x%llx flags %u", gpas[i], flags);
			ASSERT_EQ(0, done);
			ASSERT_EQ(0, vm_write(self->fd, gpas[i], self->pat, 0, flags, &done))
				TH_LOG("write gpa 0x%llx flags %u", gpas[i], flags);
			ASSERT_EQ(0, done);
		}
	}
}

/* --- the top of the address space ----------------------------------------- */

TEST_F(io, last_byte_below_2_64_is_readable_and_writable)
{
	unsigned char v = 0x9d, back = 0;
	__u64 val = 0x0123456789abcdefULL, vback = 0, done;

	ASSERT_EQ(0, vm_add(self->fd, TOP_GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, TOP_LAST_BYTE, &v, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(0, vm_read(self->fd, TOP_LAST_BYTE, &back, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(0x9d, back);
	ASSERT_EQ(0, vm_write(self->fd, TOP_LAST_BYTE - 15, &val, 8, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0, vm_read(self->fd, TOP_LAST_BYTE - 15, &vback, 8, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(8, done);
	ASSERT_EQ(val, vback);
}

TEST_F(io, copy_past_2_64_from_top_region_is_short_not_wrapped)
{
	__u64 gpa = TOP_GPA + PG - 0x100, len = 0x2000, done = 0;
	unsigned char zero[0x2000];

	/* gpa + len wraps to 0x1f00: a region at 0 must not be touched */
	ASSERT_EQ(0, vm_add(self->fd, TOP_GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0, 2 * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, len, 0, &done));
	ASSERT_EQ(0x100, done);
	done = 0;
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, len, 0, &done));
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
	ASSERT_EQ(-1, vm_read(self->fd, gpa, self->buf, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(ERANGE, errno);
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, vm_read(self->fd, 0, zero, sizeof(zero), VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(zero, sizeof(zero), 0));
	/* from the very last byte */
	ASSERT_EQ(0, vm_read(self->fd, TOP_LAST_BYTE, self->buf, 0x100, 0, &done));
	ASSERT_EQ(1, done);
}

/* --- read-only regions ---------------------------------------------------- */

TEST_F(io, readonly_region_is_readable)
{
	__u64 done;

	memset(self->buf, 0xEE, PG);
	ASSERT_EQ(0, vm_read(self->fd, RO, self->buf, PG, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(PG, done);
	ASSERT_TRUE(all_bytes(self->buf, PG, 0));
}

TEST_F(io, write_to_readonly_region_is_eacces_with_done_0)
{
	__u64 done;

	ASSERT_EQ(-1, vm_write(self->fd, RO, self->pat, 16, 0, &done));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, RO + PG - 1, self->pat, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(0, vm_read(self->fd, RO, self->buf, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(self->buf, PG, 0));
}

TEST_F(io, write_running_into_readonly_region_without_exact_is_short)
{
	__u64 gpa = RO - 0x100, done = 0;

	ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat, 0x200, 0, &done));
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x200, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0x200, done);
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
	ASSERT_TRUE(all_bytes(self->buf + 0x100, 0x100, 0));
}

TEST_F(io, write_running_into_readonly_region_with_exact_is_eacces)
{
	__u64 gpa = RO - 0x100, done = 0;

	ASSERT_EQ(-1, vm_write(self->fd, gpa, self->pat, 0x200, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0x100, done);
	ASSERT_EQ(0, vm_read(self->fd, gpa, self->buf, 0x200, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0, memcmp(self->buf, self->pat, 0x100));
	ASSERT_TRUE(all_bytes(self->buf + 0x100, 0x100, 0));
}

TEST_F(io, read_across_writable_and_readonly_regions_is_whole)
{
	__u64 done = 0;

	ASSERT_EQ(0, vm_read(self->fd, W, self->buf, 2 * PG, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(2 * PG, done);
}

/* --- bad user buffers ----------------------------------------------------- */

TEST_F(io, null_user_buffer_is_efault)
{
	__u64 done;

	ASSERT_EQ(-1, vm_read(self->fd, A, NULL, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, A, NULL, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
}

TEST_F(io, unmapped_user_buffer_is_efault)
{
	void *hole = unmapped_range(PG);
	__u64 done;

	ASSERT_NE(NULL, hole);
	ASSERT_EQ(-1, vm_read(self->fd, A, hole, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, A, hole, 16, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
}

TEST_F(io, prot_none_user_buffer_is_efault)
{
	void *p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 done;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, vm_read(self->fd, A, p, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, A, p, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
}

TEST_F(io, read_into_read_only_user_buffer_is_efault)
{
	void *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 done;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, vm_read(self->fd, A, p, 16, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, done);
	/* writing from it is fine */
	ASSERT_EQ(0, vm_write(self->fd, A, p, 16, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(16, done);
}

static unsigned char *two_pages_second_prot_none(void)
{
	unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + PG, PG, PROT_NONE))
		return NULL;
	return p;
}

TEST_F(io, write_from_buffer_faulting_midway_is_efault_with_prefix_done)
{
	unsigned char *p = two_pages_second_prot_none();
	__u64 done = ~0ULL;

	ASSERT_NE(NULL, p);
	memcpy(p, self->pat, PG);
	/* B + A = 5 pages of guest memory, the copy is 2 pages */
	ASSERT_EQ(-1, vm_write(self->fd, A, p, 2 * PG, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_GE(PG, done);
	TH_LOG("write: done %llu of %llu", done, 2 * PG);
	ASSERT_EQ(0, vm_read(self->fd, A, self->buf, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(self->buf, self->pat, done));
}

TEST_F(io, read_into_buffer_faulting_midway_is_efault_with_prefix_done)
{
	unsigned char *p = two_pages_second_prot_none();
	__u64 done = ~0ULL;

	ASSERT_NE(NULL, p);
	memset(p, 0xEE, PG);
	ASSERT_EQ(0, vm_write(self->fd, A, self->pat, 2 * PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(-1, vm_read(self->fd, A, p, 2 * PG, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_GE(PG, done);
	TH_LOG("read: done %llu of %llu", done, 2 * PG);
	ASSERT_EQ(0, memcmp(p, self->pat, done));
}

TEST_F(io, efault_midway_into_user_backed_region_reports_prefix)
{
	unsigned char *p = two_pages_second_prot_none();
	__u64 done = ~0ULL;

	ASSERT_NE(NULL, p);
	memcpy(p, self->pat, PG);
	ASSERT_EQ(-1, vm_write(self->fd, U + PG, p, 2 * PG, 0, &done));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_GE(PG, done);
	ASSERT_EQ(0, memcmp(self->ubuf, self->pat, done));
}

/* Up to 64 bytes take the kernel's short path; a fault there counts too. */
TEST_F(io, short_copy_faulting_midway_reports_the_exact_prefix)
{
	unsigned char *p = two_pages_second_prot_none();
	__u64 len, done;

	ASSERT_NE(NULL, p);
	for (len = 25; len <= 72; len++) {
		/* 24 readable bytes, then the PROT_NONE page */
		unsigned char *u = p + PG - 24;

		memcpy(u, self->pat, 24);
		ASSERT_EQ(0, vm_write(self->fd, A + 8, self->pat + 100, len, VMMEM_IO_EXACT, NULL));
		done = ~0ULL;
		ASSERT_EQ(-1, vm_write(self->fd, A + 8, u, len, VMMEM_IO_EXACT, &done));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ(24, done) TH_LOG("write len %llu", len);
		ASSERT_EQ(0, vm_read(self->fd, A + 8, self->buf, len, VMMEM_IO_EXACT, NULL));
		ASSERT_EQ(0, memcmp(self->buf, self->pat, 24));
		/* the rest of the guest range kept its old bytes */
		ASSERT_EQ(0, memcmp(self->buf + 24, self->pat + 124, len - 24));

		memset(u, 0xEE, 24);
		done = ~0ULL;
		ASSERT_EQ(-1, vm_read(self->fd, A + 8, u, len, VMMEM_IO_EXACT, &done));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ(24, done) TH_LOG("read len %llu", len);
		ASSERT_EQ(0, memcmp(u, self->pat, 24));
	}
	munmap(p, 2 * PG);
}

/* Every length around the short-path limit, at every offset mod 8. */
TEST_F(io, short_copies_of_every_length_and_offset_match_the_mapping)
{
	struct vmmem_region_info info;
	unsigned char *map;
	unsigned int len, off;

	ASSERT_EQ(0, vm_find(self->fd, A, &info));
	map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		   info.mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	for (len = 1; len <= 72; len++) {
		for (off = 0; off < 8; off++) {
			__u64 gpa = A + PG - 40 + off;	/* some cross the page */
			unsigned char got[80];

			memset(map, 0x5A, 2 * PG);
			ASSERT_EQ(0, vm_write(self->fd, gpa, self->pat + len, len,
					      VMMEM_IO_EXACT, NULL));
			ASSERT_EQ(0, memcmp(map + (gpa - A), self->pat + len, len))
				TH_LOG("write len %u off %u", len, off);
			ASSERT_EQ(0x5A, map[gpa - A - 1]);
			ASSERT_EQ(0x5A, map[gpa - A + len]);

			memset(got, 0xEE, sizeof(got));
			ASSERT_EQ(0, vm_read(self->fd, gpa - 1, got, len + 2,
					     VMMEM_IO_EXACT, NULL));
			ASSERT_EQ(0x5A, got[0]);
			ASSERT_EQ(0, memcmp(got + 1, self->pat + len, len))
				TH_LOG("read len %u off %u", len, off);
			ASSERT_EQ(0x5A, got[len + 1]);
			ASSERT_EQ(0xEE, got[len + 2]);
		}
	}
	munmap(map, 2 * PG);
}

/* --- access widths -------------------------------------------------------- */

TEST_F(io, aligned_1_2_4_8_byte_accesses_round_trip)
{
	static const unsigned int widths[] = { 1, 2, 4, 8 };
	unsigned char around[32];
	unsigned int i;
	__u64 done;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		unsigned int w = widths[i];
		__u64 gpa = B + PG + 8 + 16 * i;	/* aligned to w */
		__u64 v = 0x8877665544332211ULL >> (8 * (8 - w)), back = 0;

		ASSERT_EQ(0, vm_write(self->fd, gpa, &v, w, VMMEM_IO_EXACT, &done));
		ASSERT_EQ(w, done);
		ASSERT_EQ(0, vm_read(self->fd, gpa, &back, w, VMMEM_IO_EXACT, &done));
		ASSERT_EQ(w, done);
		ASSERT_EQ(v, back) TH_LOG("width %u", w);
		/* neighbours untouched */
		ASSERT_EQ(0, vm_read(self->fd, gpa - 8, around, 8 + w + 8,
				     VMMEM_IO_EXACT, NULL));
		ASSERT_TRUE(all_bytes(around, 8, 0));
		ASSERT_EQ(0, memcmp(around + 8, &v, w));
		ASSERT_TRUE(all_bytes(around + 8 + w, 8, 0));
	}
	/* and the same in the user-backed region, seen in user memory */
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		unsigned int w = widths[i];
		__u64 v = 0xfedcba9876543210ULL >> (8 * (8 - w)), back = 0;

		ASSERT_EQ(0, vm_write(self->fd, U + PG + 64 * i, &v, w, VMMEM_IO_EXACT, NULL));
		ASSERT_EQ(0, memcmp(self->ubuf + 64 * i, &v, w));
		ASSERT_EQ(0, vm_read(self->fd, U + PG + 64 * i, &back, w, VMMEM_IO_EXACT, NULL));
		ASSERT_EQ(v, back);
	}
}

/* --- batch ------------------------------------------------------------------ */

static void op(struct vmmem_io *o, __u64 gpa, void *buf, __u64 len, __u32 flags)
{
	memset(o, 0, sizeof(*o));
	o->guest_addr = gpa;
	o->user_addr = ptr2u(buf);
	o->len = len;
	o->flags = flags;
	o->done = 0xdeadbeef;
}

static int batch(int fd, struct vmmem_io *ops, __u32 count, __u32 *done_ops)
{
	struct vmmem_io_batch b;
	int ret, err;

	memset(&b, 0, sizeof(b));
	b.ops = ptr2u(ops);
	b.count = count;
	b.done_ops = 0xdead;
	ret = ioctl(fd, VMMEM_IO_BATCH, &b);
	err = errno;
	if (done_ops)
		*done_ops = b.done_ops;
	errno = err;
	return ret;
}

TEST_F(io, batch_of_writes_then_reads_runs_in_order)
{
	unsigned char r1[0x300], r2[100], r3[16];
	struct vmmem_io ops[6];
	__u32 done_ops;

	op(&ops[0], A + 0x10, self->pat, 0x300, VMMEM_IO_WRITE | VMMEM_IO_EXACT);
	op(&ops[1], B + 2 * PG - 50, self->pat + 0x1000, 100, VMMEM_IO_WRITE);
	op(&ops[2], U + PG - 8, self->pat + 0x2000, 16, VMMEM_IO_WRITE);
	op(&ops[3], A + 0x10, r1, sizeof(r1), 0);
	op(&ops[4], B + 2 * PG - 50, r2, sizeof(r2), VMMEM_IO_EXACT);
	op(&ops[5], U + PG - 8, r3, sizeof(r3), 0);
	ASSERT_EQ(0, batch(self->fd, ops, 6, &done_ops));
	ASSERT_EQ(6, done_ops);
	ASSERT_EQ(0x300, ops[0].done);
	ASSERT_EQ(100, ops[1].done);
	ASSERT_EQ(16, ops[2].done);
	ASSERT_EQ(0x300, ops[3].done);
	ASSERT_EQ(100, ops[4].done);
	ASSERT_EQ(16, ops[5].done);
	ASSERT_EQ(0, memcmp(r1, self->pat, 0x300));
	ASSERT_EQ(0, memcmp(r2, self->pat + 0x1000, 100));
	ASSERT_EQ(0, memcmp(r3, self->pat + 0x2000, 16));
	ASSERT_EQ(0, memcmp(self->ubuf, self->pat + 0x2000 + 8, 8));
}

/* Ops that go back and forth between regions each land where they say. */
TEST_F(io, batch_alternating_between_regions_lands_every_op)
{
	static const __u64 gpas[] = {
		A + 0x10, W + 0x20, A + 0x30, W + 0x40, B - 4, W + 0x60,
		B + 0x70, A + 0x80, U + PG - 3, A + 0x90, U + PG + 5, W + 0xa0,
	};
	enum { N = sizeof(gpas) / sizeof(gpas[0]) };
	unsigned char back[N][8];
	struct vmmem_io ops[2 * N];
	__u32 done_ops, i;

	for (i = 0; i < N; i++)
		op(&ops[i], gpas[i], self->pat + 8 * i, 8,
		   VMMEM_IO_WRITE | VMMEM_IO_EXACT);
	for (i = 0; i < N; i++)
		op(&ops[N + i], gpas[N - 1 - i], back[N - 1 - i], 8, VMMEM_IO_EXACT);
	memset(back, 0, sizeof(back));
	ASSERT_EQ(0, batch(self->fd, ops, 2 * N, &done_ops));
	ASSERT_EQ(2 * N, done_ops);
	for (i = 0; i < N; i++) {
		unsigned char one[8];

		ASSERT_EQ(0, memcmp(back[i], self->pat + 8 * i, 8)) TH_LOG("op %u", i);
		/* and a single read, with no state from the batch, agrees */
		ASSERT_EQ(0, vm_read(self->fd, gpas[i], one, 8, VMMEM_IO_EXACT, NULL));
		ASSERT_EQ(0, memcmp(one, self->pat + 8 * i, 8)) TH_LOG("op %u", i);
	}
	/* a read-only region met between two others is still refused */
	op(&ops[0], A, back[0], 8, 0);
	op(&ops[1], RO, back[1], 8, 0);
	op(&ops[2], W, back[2], 8, 0);
	op(&ops[3], RO, self->pat, 8, VMMEM_IO_WRITE);
	ASSERT_EQ(-1, batch(self->fd, ops, 4, &done_ops));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(3, done_ops);
}

TEST_F(io, batch_write_then_read_same_address_sees_the_write)
{
	__u64 v1 = 0x1111, v2 = 0x2222, r = 0;
	struct vmmem_io ops[3];
	__u32 done_ops;

	op(&ops[0], A, &v1, 8, VMMEM_IO_WRITE);
	op(&ops[1], A, &v2, 8, VMMEM_IO_WRITE);
	op(&ops[2], A, &r, 8, 0);
	ASSERT_EQ(0, batch(self->fd, ops, 3, &done_ops));
	ASSERT_EQ(3, done_ops);
	ASSERT_EQ(0x2222, r);
}

TEST_F(io, batch_stops_at_failing_op_with_its_errno_and_index)
{
	__u64 v = 0xabcdef, r = 0, v2 = 0x777;
	struct vmmem_io ops[3];
	__u32 done_ops;

	op(&ops[0], A, &v, 8, VMMEM_IO_WRITE);
	op(&ops[1], HOLE, &r, 8, 0);			/* ENXIO */
	op(&ops[2], A + 8, &v2, 8, VMMEM_IO_WRITE);	/* must not run */
	ASSERT_EQ(-1, batch(self->fd, ops, 3, &done_ops));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(1, done_ops);
	ASSERT_EQ(8, ops[0].done);
	ASSERT_EQ(0, ops[1].done);
	ASSERT_EQ(0, vm_read(self->fd, A, &r, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0xabcdef, r);
	ASSERT_EQ(0, vm_read(self->fd, A + 8, &r, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, r);
}

TEST_F(io, batch_exact_op_stopping_short_is_erange_with_done)
{
	struct vmmem_io ops[3];
	__u32 done_ops;

	op(&ops[0], A, self->buf, 8, 0);
	op(&ops[1], B, self->buf + 8, 8, 0);
	op(&ops[2], HOLE - 0x10, self->buf + 16, 0x40, VMMEM_IO_EXACT);
	ASSERT_EQ(-1, batch(self->fd, ops, 3, &done_ops));
	ASSERT_EQ(ERANGE, errno);
	ASSERT_EQ(2, done_ops);
	ASSERT_EQ(0x10, ops[2].done);
	/* without EXACT the same op is a short success */
	op(&ops[2], HOLE - 0x10, self->buf + 16, 0x40, 0);
	ASSERT_EQ(0, batch(self->fd, ops, 3, &done_ops));
	ASSERT_EQ(3, done_ops);
	ASSERT_EQ(0x10, ops[2].done);
}

TEST_F(io, batch_readonly_write_op_is_eacces_at_its_index)
{
	struct vmmem_io ops[2];
	__u32 done_ops;

	op(&ops[0], W, self->pat, 8, VMMEM_IO_WRITE);
	op(&ops[1], RO, self->pat, 8, VMMEM_IO_WRITE);
	ASSERT_EQ(-1, batch(self->fd, ops, 2, &done_ops));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(1, done_ops);
	ASSERT_EQ(0, ops[1].done);
}

TEST_F(io, batch_bad_op_buffer_is_efault_at_its_index)
{
	struct vmmem_io ops[2];
	__u32 done_ops;

	op(&ops[0], A, self->buf, 8, 0);
	op(&ops[1], A, NULL, 8, 0);
	ASSERT_EQ(-1, batch(self->fd, ops, 2, &done_ops));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, done_ops);
	ASSERT_EQ(0, ops[1].done);
}

TEST_F(io, batch_count_0_succeeds_with_done_ops_0)
{
	struct vmmem_io ops[1];
	__u32 done_ops;

	op(&ops[0], A, self->buf, 8, 0);
	ASSERT_EQ(0, batch(self->fd, ops, 0, &done_ops));
	ASSERT_EQ(0, done_ops);
	ASSERT_EQ(0xdeadbeef, ops[0].done);
}

TEST_F(io, batch_of_max_ops_succeeds)
{
	struct vmmem_io *ops = calloc(VMMEM_IO_BATCH_MAX, sizeof(*ops));
	__u64 *vals = calloc(VMMEM_IO_BATCH_MAX, sizeof(*vals));
	__u32 done_ops, i;
	__u64 r;

	ASSERT_NE(NULL, ops);
	ASSERT_NE(NULL, vals);
	for (i = 0; i < VMMEM_IO_BATCH_MAX; i++) {
		vals[i] = 0x1000000 + i;
		/* 1024 * 8 bytes = 8 KiB, A is 2 pages */
		op(&ops[i], A + 8 * i, &vals[i], 8, VMMEM_IO_WRITE | VMMEM_IO_EXACT);
	}
	ASSERT_EQ(0, batch(self->fd, ops, VMMEM_IO_BATCH_MAX, &done_ops));
	ASSERT_EQ(VMMEM_IO_BATCH_MAX, done_ops);
	ASSERT_EQ(8, ops[VMMEM_IO_BATCH_MAX - 1].done);
	ASSERT_EQ(0, vm_read(self->fd, A + 8 * 1023, &r, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0x1000000 + 1023, r);
	free(ops);
	free(vals);
}

TEST_F(io, batch_count_over_max_is_einval)
{
	struct vmmem_io *ops = calloc(VMMEM_IO_BATCH_MAX + 1, sizeof(*ops));
	__u64 v = 0x5555;
	__u32 i, done_ops;
	__u64 r = 0;

	ASSERT_NE(NULL, ops);
	for (i = 0; i <= VMMEM_IO_BATCH_MAX; i++)
		op(&ops[i], A, &v, 8, VMMEM_IO_WRITE);
	ASSERT_EQ(-1, batch(self->fd, ops, VMMEM_IO_BATCH_MAX + 1, &done_ops));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, batch(self->fd, ops, ~0U, &done_ops));
	ASSERT_EQ(EINVAL, errno);
	/* nothing ran */
	ASSERT_EQ(0, vm_read(self->fd, A, &r, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, r);
	free(ops);
}

/* --- aliasing regions ------------------------------------------------------- */

/*
 * User regions may alias the same pages (as KVM memslots may: a VMM maps
 * a firmware ROM twice). VMMEM_COPY judges overlap by guest address, as
 * memmove() judges it by virtual address: between aliasing regions whose
 * guest ranges do not overlap it copies front to back, page by page, so a
 * byte may be read after the same copy wrote it through the alias. Here
 * B is A shifted by one page of the same memfd.
 */
TEST(copy_between_aliasing_user_regions_goes_by_guest_address)
{
	int fd = vm_open(), mfd = memfd_create("alias", MFD_CLOEXEC);
	struct vmmem_copy c;
	unsigned char *m;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(mfd, 3 * PG));
	m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0x11, PG);
	memset(m + PG, 0x22, PG);
	memset(m + 2 * PG, 0x33, PG);
	ASSERT_EQ(0, vm_add(fd, 0x4000000, 2 * PG, ptr2u(m), 0, NULL));
	ASSERT_EQ(0, vm_add(fd, 0x5000000, 2 * PG, ptr2u(m + PG), 0, NULL));

	memset(&c, 0, sizeof(c));
	c.src_gpa = 0x4000000;
	c.dst_gpa = 0x5000000;
	c.len = 2 * PG;
	ASSERT_EQ(0, ioctl(fd, VMMEM_COPY, &c));
	ASSERT_EQ(2 * PG, c.done);
	/* page 0 to page 1, then page 1 (now 0x11) to page 2 */
	EXPECT_TRUE(all_bytes(m, PG, 0x11));
	EXPECT_TRUE(all_bytes(m + PG, PG, 0x11));
	EXPECT_TRUE(all_bytes(m + 2 * PG, PG, 0x11));
	close(fd);
	munmap(m, 3 * PG);
	close(mfd);
}

/* --- non-tearing ------------------------------------------------------------ */

FIXTURE(tear) {
	int fd;
	__u64 gpa;
	unsigned char *ubuf;
};

FIXTURE_VARIANT(tear) {
	unsigned int width;
	bool user_backed;
};

FIXTURE_VARIANT_ADD(tear, kernel_2) { .width = 2 };
FIXTURE_VARIANT_ADD(tear, kernel_4) { .width = 4 };
FIXTURE_VARIANT_ADD(tear, kernel_8) { .width = 8 };
FIXTURE_VARIANT_ADD(tear, user_2) { .width = 2, .user_backed = true };
FIXTURE_VARIANT_ADD(tear, user_4) { .width = 4, .user_backed = true };
FIXTURE_VARIANT_ADD(tear, user_8) { .width = 8, .user_backed = true };

FIXTURE_SETUP(tear)
{
	__u64 uaddr = 0;

	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	if (variant->user_backed) {
		self->ubuf = anon_map(PG);
		ASSERT_NE(NULL, self->ubuf);
		uaddr = ptr2u(self->ubuf);
	}
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, uaddr, 0, NULL));
	/* the last aligned slot of the page */
	self->gpa = 0x100000 + PG - 8;
}

FIXTURE_TEARDOWN(tear)
{
	close(self->fd);
}

struct tear_ctx {
	int fd;
	__u64 gpa;
	unsigned int width;
	atomic_bool stop;
	atomic_ulong writes;
	atomic_ulong errors;
};

static void *tear_writer(void *arg)
{
	struct tear_ctx *c = arg;
	__u64 vals[2] = { 0, ~0ULL };
	unsigned long i = 0;

	while (!atomic_load(&c->stop)) {
		if (vm_write(c->fd, c->gpa, &vals[i & 1], c->width, 0, NULL))
			atomic_fetch_add(&c->errors, 1);
		atomic_fetch_add(&c->writes, 1);
		i++;
	}
	return NULL;
}

TEST_F(tear, aligned_access_is_never_torn)
{
	struct tear_ctx c = { .fd = self->fd, .gpa = self->gpa,
			      .width = variant->width };
	__u64 mask = variant->width == 8 ? ~0ULL : (1ULL << (8 * variant->width)) - 1;
	unsigned long reads = 0, torn = 0, errs = 0;
	__u64 last_bad = 0;
	pthread_t t;
	double t0;

	atomic_init(&c.stop, false);
	atomic_init(&c.writes, 0);
	atomic_init(&c.errors, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, tear_writer, &c));
	/* let the writer get going (bounded wait) */
	t0 = now_sec();
	while (atomic_load(&c.writes) < 1000 && now_sec() - t0 < 2)
		sched_yield();
	t0 = now_sec();
	while (reads < 200000 && now_sec() - t0 < 2) {
		__u64 v = 0x5a5a5a5a5a5a5a5aULL & mask;
		__u64 done = 0;

		if (vm_read(self->fd, self->gpa, &v, variant->width, 0, &done) ||
		    done != variant->width) {
			errs++;
		} else {
			v &= mask;
			if (v != 0 && v != mask) {
				torn++;
				last_bad = v;
			}
		}
		reads++;
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	TH_LOG("width %u: %lu reads, %lu writes", variant->width, reads,
	       (unsigned long)atomic_load(&c.writes));
	ASSERT_EQ(0, errs);
	ASSERT_EQ(0, atomic_load(&c.errors));
	ASSERT_LT(1000, atomic_load(&c.writes));
	ASSERT_EQ(0, torn) TH_LOG("torn value 0x%llx", last_bad);
}

TEST_HARNESS_MAIN
