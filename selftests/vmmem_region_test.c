// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem regions: ADD_REGION, REMOVE_REGION, LIST_REGIONS, FIND_REGION and
 * every rejection they document.
 */
#include "vmmem_test.h"

#define GPA	0x10000ULL
#define SIZE	(4 * PG)		/* existing region [0x10000, 0x14000) */

FIXTURE(region) {
	int fd;
};

FIXTURE_SETUP(region)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(region)
{
	close(self->fd);
}

/* Snapshot of the whole list and generation, to prove "nothing changed". */
struct snap {
	struct vmmem_region_info arr[16];
	__u32 count;
	__u64 gen;
};

static int take_snap(int fd, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	return vm_list(fd, s->arr, 16, &s->count, &s->gen);
}

static bool same_snap(const struct snap *a, const struct snap *b)
{
	return a->count == b->count && a->gen == b->gen &&
	       !memcmp(a->arr, b->arr, a->count * sizeof(a->arr[0]));
}

/* --- ADD: success ------------------------------------------------------- */

TEST_F(region, add_kernel_backed_returns_nonzero_id_and_page_aligned_mmap_offset)
{
	struct vmmem_region_add a;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_NE(0, a.id);
	ASSERT_NE(VMMEM_NO_MMAP, a.mmap_offset);
	ASSERT_EQ(0, a.mmap_offset % PG);
	/* inputs are not modified */
	ASSERT_EQ(GPA, a.guest_addr);
	ASSERT_EQ(SIZE, a.size);
	ASSERT_EQ(0, a.user_addr);
}

TEST_F(region, add_ignores_id_and_mmap_offset_on_input)
{
	struct vmmem_region_add a;

	memset(&a, 0, sizeof(a));
	a.guest_addr = GPA;
	a.size = SIZE;
	a.id = 0xdeadbeef;
	a.mmap_offset = 0x123456789000ULL;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ADD_REGION, &a));
	ASSERT_NE(0xdeadbeef, a.id);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, add_returns_distinct_ids_and_disjoint_mmap_offsets)
{
	struct vmmem_region_add a[4];
	int i, j;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, vm_add(self->fd, 0x100000 * (i + 1), (i + 1) * PG,
				    0, 0, &a[i]));
	for (i = 0; i < 4; i++) {
		for (j = i + 1; j < 4; j++) {
			ASSERT_NE(a[i].id, a[j].id);
			/* [off, off + size) ranges must not overlap */
			ASSERT_TRUE(a[i].mmap_offset + a[i].size <= a[j].mmap_offset ||
				    a[j].mmap_offset + a[j].size <= a[i].mmap_offset);
		}
	}
}

TEST_F(region, add_kernel_backed_pages_are_zeroed)
{
	size_t len = 64 * PG;
	unsigned char *buf = malloc(len);
	__u64 done;

	ASSERT_NE(NULL, buf);
	memset(buf, 0xEE, len);
	ASSERT_EQ(0, vm_add(self->fd, GPA, len, 0, 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA, buf, len, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(len, done);
	ASSERT_TRUE(all_bytes(buf, len, 0));
	free(buf);
}

TEST_F(region, readded_region_is_zeroed_not_old_data)
{
	unsigned char buf[PG];
	struct vmmem_region_add a;

	memset(buf, 0x77, sizeof(buf));
	ASSERT_EQ(0, vm_add(self->fd, GPA, PG, 0, 0, &a));
	ASSERT_EQ(0, vm_write(self->fd, GPA, buf, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(0, vm_add(self->fd, GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA, buf, PG, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(buf, PG, 0));
}

TEST_F(region, adjacent_regions_are_allowed)
{
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA + SIZE, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA - PG, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0, GPA - PG, 0, 0, NULL));
}

TEST_F(region, region_at_guest_address_zero_is_allowed)
{
	struct vmmem_region_info info;

	ASSERT_EQ(0, vm_add(self->fd, 0, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_find(self->fd, 0, &info));
	ASSERT_EQ(0, info.guest_addr);
}

TEST_F(region, highest_region_below_2_64_is_allowed_and_last_byte_usable)
{
	struct vmmem_region_info info;
	unsigned char v = 0xC3, back = 0;
	__u64 done;

	ASSERT_EQ(0, vm_add(self->fd, TOP_GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(self->fd, TOP_LAST_BYTE, &v, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(0, vm_read(self->fd, TOP_LAST_BYTE, &back, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(0xC3, back);
	ASSERT_EQ(0, vm_find(self->fd, TOP_LAST_BYTE, &info));
	ASSERT_EQ(TOP_GPA, info.guest_addr);
	ASSERT_EQ(PG, info.size);
	ASSERT_EQ(-1, vm_find(self->fd, TOP_GPA + PG, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, ~0ULL, NULL));
	ASSERT_EQ(ENXIO, errno);
}

/* --- ADD: rejections ----------------------------------------------------- */

TEST_F(region, add_size_zero_is_einval)
{
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 0, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(region, add_unaligned_guest_addr_is_einval)
{
	ASSERT_EQ(-1, vm_add(self->fd, GPA + 1, PG, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA + PG / 2, PG, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, 0xFFF, PG, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(region, add_unaligned_size_is_einval)
{
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 1, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, PG + PG / 2, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 2 * PG - 1, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(region, add_unaligned_user_addr_is_einval)
{
	unsigned char *buf = anon_map(4 * PG);

	ASSERT_NE(NULL, buf);
	memset(buf, 1, 4 * PG);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, PG, ptr2u(buf + 1), 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, PG, ptr2u(buf + PG / 2), 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	/* aligned works: alignment was the reason */
	ASSERT_EQ(0, vm_add(self->fd, GPA, PG, ptr2u(buf + PG), 0, NULL));
}

TEST_F(region, add_ending_exactly_at_2_64_is_eoverflow)
{
	ASSERT_EQ(-1, vm_add(self->fd, 0xFFFFFFFFFFFFF000ULL, PG, 0, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vm_add(self->fd, TOP_GPA, 2 * PG, 0, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
}

TEST_F(region, add_wrapping_guest_range_is_eoverflow)
{
	ASSERT_EQ(-1, vm_add(self->fd, 0xFFFFFFFFFFFF0000ULL, 0x20000, 0, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vm_add(self->fd, 0x2000, 0xFFFFFFFFFFFFF000ULL, 0, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
}

TEST_F(region, add_user_range_past_2_64_is_eoverflow)
{
	ASSERT_EQ(-1, vm_add(self->fd, GPA, PG, 0xFFFFFFFFFFFFF000ULL, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 0x10000, 0xFFFFFFFFFFFFC000ULL, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
}

TEST_F(region, add_user_unmapped_is_efault)
{
	void *hole = unmapped_range(4 * PG);

	ASSERT_NE(NULL, hole);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 4 * PG, ptr2u(hole), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(region, add_user_partly_unmapped_is_efault)
{
	unsigned char *buf = anon_map(4 * PG);

	ASSERT_NE(NULL, buf);
	memset(buf, 1, 4 * PG);
	ASSERT_EQ(0, munmap(buf + 2 * PG, PG));
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 4 * PG, ptr2u(buf), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, vm_find(self->fd, GPA, NULL));
	ASSERT_EQ(ENXIO, errno);
}

TEST_F(region, add_user_read_only_mapping_is_efault)
{
	void *p = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 4 * PG, ptr2u(p), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(region, add_user_read_only_mapping_is_efault_even_for_readonly_region)
{
	/* "user_addr: ... the caller's writable memory", whatever the flags */
	void *p = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 4 * PG, ptr2u(p),
			     VMMEM_REGION_READONLY, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(region, add_user_prot_none_mapping_is_efault)
{
	void *p = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, vm_add(self->fd, GPA, 2 * PG, ptr2u(p), 0, NULL));
	ASSERT_EQ(EFAULT, errno);
}

/* --- ADD: overlaps -------------------------------------------------------- */

FIXTURE(overlap) {
	int fd;
};

FIXTURE_VARIANT(overlap) {
	__u64 gpa;
	__u64 size;
};

/* against the existing region [0x10000, 0x14000) */
FIXTURE_VARIANT_ADD(overlap, identical) { .gpa = 0x10000, .size = 0x4000 };
FIXTURE_VARIANT_ADD(overlap, partial_at_start) { .gpa = 0xE000, .size = 0x3000 };
FIXTURE_VARIANT_ADD(overlap, partial_at_end) { .gpa = 0x13000, .size = 0x3000 };
FIXTURE_VARIANT_ADD(overlap, first_page_only) { .gpa = 0x10000, .size = 0x1000 };
FIXTURE_VARIANT_ADD(overlap, last_page_only) { .gpa = 0x13000, .size = 0x1000 };
FIXTURE_VARIANT_ADD(overlap, contained) { .gpa = 0x11000, .size = 0x2000 };
FIXTURE_VARIANT_ADD(overlap, containing) { .gpa = 0xF000, .size = 0x6000 };
FIXTURE_VARIANT_ADD(overlap, containing_from_zero) { .gpa = 0, .size = 0x100000 };
FIXTURE_VARIANT_ADD(overlap, same_start_longer) { .gpa = 0x10000, .size = 0x8000 };
FIXTURE_VARIANT_ADD(overlap, same_end_earlier_start) { .gpa = 0x8000, .size = 0xC000 };

FIXTURE_SETUP(overlap)
{
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	/* neighbours far away, so a wrong tree walk can't hide */
	ASSERT_EQ(0, vm_add(self->fd, 0x400000, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, PG, 0, 0, NULL));
}

FIXTURE_TEARDOWN(overlap)
{
	close(self->fd);
}

TEST_F(overlap, overlapping_kernel_backed_add_is_eexist_and_changes_nothing)
{
	struct snap before, after;

	ASSERT_EQ(0, take_snap(self->fd, &before));
	ASSERT_EQ(-1, vm_add(self->fd, variant->gpa, variant->size, 0, 0, NULL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(0, take_snap(self->fd, &after));
	ASSERT_TRUE(same_snap(&before, &after));
}

TEST_F(overlap, overlapping_user_backed_add_is_eexist_and_changes_nothing)
{
	struct snap before, after;
	unsigned char *buf = anon_map(variant->size);

	ASSERT_NE(NULL, buf);
	memset(buf, 3, variant->size);
	ASSERT_EQ(0, take_snap(self->fd, &before));
	ASSERT_EQ(-1, vm_add(self->fd, variant->gpa, variant->size, ptr2u(buf),
			     0, NULL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(0, take_snap(self->fd, &after));
	ASSERT_TRUE(same_snap(&before, &after));
}

TEST_F(region, failed_adds_change_nothing)
{
	struct snap before, after;
	void *hole = unmapped_range(PG);

	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, 0, VMMEM_REGION_READONLY, NULL));
	ASSERT_EQ(0, take_snap(self->fd, &before));
	ASSERT_EQ(2, before.count);

	ASSERT_EQ(-1, vm_add(self->fd, 0x200000, 0, 0, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, 0x200000, PG, 0, 1U << 9, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_add(self->fd, GPA + PG, PG, 0, 0, NULL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, vm_add(self->fd, 0xFFFFFFFFFFFFF000ULL, PG, 0, 0, NULL));
	ASSERT_EQ(EOVERFLOW, errno);
	ASSERT_EQ(-1, vm_add(self->fd, 0x200000, PG, ptr2u(hole), 0, NULL));
	ASSERT_EQ(EFAULT, errno);

	ASSERT_EQ(0, take_snap(self->fd, &after));
	ASSERT_TRUE(same_snap(&before, &after));
	/* the range the failed adds asked for is still free */
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, PG, 0, 0, NULL));
}

/* --- ADD: max_regions ----------------------------------------------------- */

FIXTURE(maxreg) {
	int fd;
	long orig;
};

FIXTURE_SETUP(maxreg)
{
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	self->orig = read_file_long(MAX_REGIONS_PARAM);
	ASSERT_LT(0, self->orig) TH_LOG("cannot read %s", MAX_REGIONS_PARAM);
}

FIXTURE_TEARDOWN(maxreg)
{
	close(self->fd);
	EXPECT_EQ(0, write_file_long(MAX_REGIONS_PARAM, self->orig));
}

TEST_F(maxreg, max_regions_default_is_32767)
{
	/* Only meaningful on a freshly loaded module with default params. */
	ASSERT_EQ(32767, self->orig);
}

/*
 * A full table (every slot a one-page region, in a tree many levels deep)
 * is listed in order, its 32768th add is ENOSPC, and close() frees it all:
 * this once oopsed in the maple tree's RCU destroy walk.
 */
/* Slow on a KASAN kernel under TCG: minutes, not the default 30 s. */
TEST_F_TIMEOUT(maxreg, full_table_of_32767_regions_lists_and_closes_cleanly,
	       900)
{
	const __u32 n = 32767;
	struct vmmem_region_info *arr = calloc(n, sizeof(*arr));
	__u32 i, count;

	ASSERT_NE(NULL, arr);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, vm_add(self->fd, (__u64)i * 2 * PG, PG, 0, 0, NULL))
			TH_LOG("region %u", i);
	ASSERT_EQ(-1, vm_add(self->fd, (__u64)n * 2 * PG, PG, 0, 0, NULL));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, vm_list(self->fd, arr, n, &count, NULL));
	ASSERT_EQ(n, count);
	for (i = 0; i < n; i++)
		ASSERT_EQ((__u64)i * 2 * PG, arr[i].guest_addr);
	ASSERT_EQ(0, vm_find(self->fd, (__u64)(n - 1) * 2 * PG, NULL));
	ASSERT_EQ(0, close(self->fd));
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	free(arr);
}

TEST_F(maxreg, add_beyond_max_regions_is_enospc)
{
	struct vmmem_region_add a[4];
	struct snap before, after;
	int i;

	ASSERT_EQ(0, write_file_long(MAX_REGIONS_PARAM, 4));
	ASSERT_EQ(4, read_file_long(MAX_REGIONS_PARAM));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, vm_add(self->fd, 0x100000 * (i + 1), PG, 0, 0, &a[i]))
			TH_LOG("region %d", i);
	ASSERT_EQ(0, take_snap(self->fd, &before));
	ASSERT_EQ(-1, vm_add(self->fd, 0x800000, PG, 0, 0, NULL));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, take_snap(self->fd, &after));
	ASSERT_TRUE(same_snap(&before, &after));
	/* a removal makes room again */
	ASSERT_EQ(0, vm_remove_id(self->fd, a[2].id));
	ASSERT_EQ(0, vm_add(self->fd, 0x800000, PG, 0, 0, NULL));
	ASSERT_EQ(-1, vm_add(self->fd, 0x900000, PG, 0, 0, NULL));
	ASSERT_EQ(ENOSPC, errno);
}

/* --- REMOVE --------------------------------------------------------------- */

TEST_F(region, remove_by_id_removes_the_region)
{
	struct vmmem_region_add a, b;
	struct vmmem_region_info arr[4];
	__u32 count;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, 0, 0, &b));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(0, vm_list(self->fd, arr, 4, &count, NULL));
	ASSERT_EQ(1, count);
	ASSERT_EQ(b.id, arr[0].id);
	ASSERT_EQ(-1, vm_find(self->fd, GPA, NULL));
	ASSERT_EQ(ENXIO, errno);
	/* its range can be reused */
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
}

TEST_F(region, remove_by_addr_exact_match_removes_the_region)
{
	struct vmmem_region_add b;
	struct vmmem_region_info arr[4];
	__u32 count;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA + SIZE, PG, 0, 0, &b));
	ASSERT_EQ(0, vm_remove_addr(self->fd, GPA, SIZE));
	ASSERT_EQ(0, vm_list(self->fd, arr, 4, &count, NULL));
	ASSERT_EQ(1, count);
	ASSERT_EQ(b.id, arr[0].id);
}

TEST_F(region, remove_by_addr_wrong_size_is_enoent)
{
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA, SIZE - PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA, SIZE + PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, remove_by_addr_inside_region_is_enoent)
{
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA + PG, SIZE - PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA + PG, PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA - PG, SIZE + PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, remove_by_addr_in_hole_is_enoent)
{
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA, SIZE));
	ASSERT_EQ(ENOENT, errno);
}

TEST_F(region, remove_unknown_id_is_enoent)
{
	struct vmmem_region_add a;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(-1, vm_remove_id(self->fd, a.id + 1000));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_id(self->fd, ~0U));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, remove_id_of_other_file_is_enoent)
{
	struct vmmem_region_add a;
	int other = vm_open();

	ASSERT_LE(0, other);
	ASSERT_EQ(0, vm_add(other, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(-1, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vm_find(other, GPA, NULL));
	close(other);
}

TEST_F(region, remove_twice_is_enoent)
{
	struct vmmem_region_add a;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(-1, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(0, vm_remove_addr(self->fd, GPA, SIZE));
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA, SIZE));
	ASSERT_EQ(ENOENT, errno);
}

TEST_F(region, remove_by_id_with_nonzero_guest_addr_or_size_is_einval)
{
	struct vmmem_region_remove r;
	struct vmmem_region_add a;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	memset(&r, 0, sizeof(r));
	r.id = a.id;
	r.guest_addr = GPA;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
	ASSERT_EQ(EINVAL, errno);
	memset(&r, 0, sizeof(r));
	r.id = a.id;
	r.size = SIZE;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, remove_by_addr_with_nonzero_id_is_einval)
{
	struct vmmem_region_remove r;
	struct vmmem_region_add a;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	memset(&r, 0, sizeof(r));
	r.id = a.id;
	r.flags = VMMEM_REMOVE_BY_ADDR;
	r.guest_addr = GPA;
	r.size = SIZE;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(region, access_after_remove_is_enxio)
{
	struct vmmem_region_add a;
	unsigned char buf[16] = { 1 };
	__u64 done;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(0, vm_write(self->fd, GPA, buf, 16, 0, NULL));
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	ASSERT_EQ(-1, vm_read(self->fd, GPA, buf, 16, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_write(self->fd, GPA + SIZE - 1, buf, 1, 0, &done));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, done);
	ASSERT_EQ(-1, vm_find(self->fd, GPA + PG, NULL));
	ASSERT_EQ(ENXIO, errno);
}

TEST_F(region, generation_increases_on_each_add_and_remove)
{
	struct vmmem_region_add a;
	__u64 g0, g1, g2, g3;

	g0 = vm_generation(self->fd);
	ASSERT_NE(~0ULL, g0);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	g1 = vm_generation(self->fd);
	ASSERT_LT(g0, g1);
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, 0, 0, NULL));
	g2 = vm_generation(self->fd);
	ASSERT_LT(g1, g2);
	ASSERT_EQ(0, vm_remove_id(self->fd, a.id));
	g3 = vm_generation(self->fd);
	ASSERT_LT(g2, g3);
	ASSERT_EQ(0, vm_remove_addr(self->fd, 0x100000, PG));
	ASSERT_LT(g3, vm_generation(self->fd));
}

TEST_F(region, generation_unchanged_by_io_find_list_and_failed_remove)
{
	unsigned char buf[8] = { 0 };
	__u64 g;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	g = vm_generation(self->fd);
	ASSERT_EQ(0, vm_write(self->fd, GPA, buf, 8, 0, NULL));
	ASSERT_EQ(0, vm_read(self->fd, GPA, buf, 8, 0, NULL));
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
	ASSERT_EQ(-1, vm_remove_addr(self->fd, GPA, PG));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_id(self->fd, 0xFFFFFF));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(g, vm_generation(self->fd));
}

/* --- LIST ----------------------------------------------------------------- */

TEST_F(region, list_empty_with_null_array_and_count_0_returns_0)
{
	__u32 count = 1234;
	__u64 gen = 0;

	ASSERT_EQ(0, vm_list(self->fd, NULL, 0, &count, &gen));
	ASSERT_EQ(0, count);
	ASSERT_NE(0xdeadbeefdeadbeefULL, gen);
}

TEST_F(region, list_empty_with_capacity_returns_count_0)
{
	struct vmmem_region_info arr[2];
	__u32 count = 1234;

	ASSERT_EQ(0, vm_list(self->fd, arr, 2, &count, NULL));
	ASSERT_EQ(0, count);
}

TEST_F(region, list_count_0_with_regions_is_e2big_and_reports_count)
{
	__u32 count = 1234;
	__u64 gen, gen2;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, PG, 0, 0, NULL));
	gen = vm_generation(self->fd);
	ASSERT_EQ(-1, vm_list(self->fd, NULL, 0, &count, &gen2));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(3, count);
	ASSERT_EQ(gen, gen2);
}

TEST_F(region, list_capacity_too_small_is_e2big_and_array_untouched)
{
	struct vmmem_region_info arr[3], ref[3];
	__u32 count = 0;
	__u64 gen, gen2;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, PG, 0, 0, NULL));
	gen = vm_generation(self->fd);
	memset(arr, 0xAB, sizeof(arr));
	memcpy(ref, arr, sizeof(arr));
	ASSERT_EQ(-1, vm_list(self->fd, arr, 2, &count, &gen2));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(3, count);
	ASSERT_EQ(gen, gen2);
	ASSERT_EQ(0, memcmp(arr, ref, sizeof(arr)));
	/* exactly enough works */
	ASSERT_EQ(0, vm_list(self->fd, arr, 3, &count, NULL));
	ASSERT_EQ(3, count);
}

TEST_F(region, list_is_in_ascending_guest_addr_order)
{
	static const __u64 gpas[] = { 0x500000, 0x10000, 0x300000, 0x20000,
				      TOP_GPA, 0, 0x40000000 };
	static const __u64 sizes[] = { 2 * PG, 3 * PG, PG, 2 * PG,
				       PG, 4 * PG, PG };
	struct vmmem_region_info arr[16];
	__u32 count, i;

	for (i = 0; i < ARRAY_SIZE(gpas); i++)
		ASSERT_EQ(0, vm_add(self->fd, gpas[i], sizes[i], 0, 0, NULL))
			TH_LOG("region %u", i);
	ASSERT_EQ(0, vm_list(self->fd, arr, 16, &count, NULL));
	ASSERT_EQ(ARRAY_SIZE(gpas), count);
	ASSERT_EQ(0, arr[0].guest_addr);
	ASSERT_EQ(TOP_GPA, arr[count - 1].guest_addr);
	for (i = 1; i < count; i++)
		ASSERT_LT(arr[i - 1].guest_addr, arr[i].guest_addr);
	/* still sorted after removing one in the middle */
	ASSERT_EQ(0, vm_remove_addr(self->fd, 0x300000, PG * 1));
	ASSERT_EQ(0, vm_list(self->fd, arr, 16, &count, NULL));
	ASSERT_EQ(ARRAY_SIZE(gpas) - 1, count);
	for (i = 1; i < count; i++)
		ASSERT_LT(arr[i - 1].guest_addr, arr[i].guest_addr);
}

TEST_F(region, list_reports_every_field)
{
	struct vmmem_region_add k, ro, u;
	struct vmmem_region_info arr[4];
	unsigned char *buf = anon_map(2 * PG);
	__u32 count;

	ASSERT_NE(NULL, buf);
	memset(buf, 9, 2 * PG);
	/* added out of order: user, read-only, kernel */
	ASSERT_EQ(0, vm_add(self->fd, 0x300000, 2 * PG, ptr2u(buf), 0, &u));
	ASSERT_EQ(0, vm_add(self->fd, 0x200000, PG, 0, VMMEM_REGION_READONLY, &ro));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, 3 * PG, 0, 0, &k));
	ASSERT_EQ(VMMEM_NO_MMAP, u.mmap_offset);
	memset(arr, 0xCD, sizeof(arr));
	ASSERT_EQ(0, vm_list(self->fd, arr, 4, &count, NULL));
	ASSERT_EQ(3, count);

	ASSERT_EQ(0x100000, arr[0].guest_addr);
	ASSERT_EQ(3 * PG, arr[0].size);
	ASSERT_EQ(0, arr[0].user_addr);
	ASSERT_EQ(k.mmap_offset, arr[0].mmap_offset);
	ASSERT_EQ(k.id, arr[0].id);
	ASSERT_EQ(0, arr[0].flags);
	ASSERT_EQ(VMMEM_BACKING_KERNEL, arr[0].backing);
	ASSERT_EQ(0, arr[0].huge_chunks);

	ASSERT_EQ(0x200000, arr[1].guest_addr);
	ASSERT_EQ(PG, arr[1].size);
	ASSERT_EQ(0, arr[1].user_addr);
	ASSERT_EQ(ro.mmap_offset, arr[1].mmap_offset);
	ASSERT_EQ(ro.id, arr[1].id);
	ASSERT_EQ(VMMEM_REGION_READONLY, arr[1].flags);
	ASSERT_EQ(VMMEM_BACKING_KERNEL, arr[1].backing);
	ASSERT_EQ(0, arr[1].huge_chunks);

	ASSERT_EQ(0x300000, arr[2].guest_addr);
	ASSERT_EQ(2 * PG, arr[2].size);
	ASSERT_EQ(ptr2u(buf), arr[2].user_addr);
	ASSERT_EQ(VMMEM_NO_MMAP, arr[2].mmap_offset);
	ASSERT_EQ(u.id, arr[2].id);
	ASSERT_EQ(0, arr[2].flags);
	ASSERT_EQ(VMMEM_BACKING_USER, arr[2].backing);
	ASSERT_EQ(0, arr[2].huge_chunks);
}

TEST_F(region, list_unmapped_array_is_efault)
{
	void *hole = unmapped_range(PG);
	__u32 count;

	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(-1, vm_list(self->fd, hole, 4, &count, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, vm_list(self->fd, NULL, 4, &count, NULL));
	ASSERT_EQ(EFAULT, errno);
}

/* --- FIND ----------------------------------------------------------------- */

TEST_F(region, find_first_and_last_byte_returns_the_region)
{
	struct vmmem_region_add a;
	struct vmmem_region_info info;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, VMMEM_REGION_READONLY, &a));
	memset(&info, 0xEE, sizeof(info));
	ASSERT_EQ(0, vm_find(self->fd, GPA, &info));
	ASSERT_EQ(GPA, info.guest_addr);
	ASSERT_EQ(SIZE, info.size);
	ASSERT_EQ(0, info.user_addr);
	ASSERT_EQ(a.mmap_offset, info.mmap_offset);
	ASSERT_EQ(a.id, info.id);
	ASSERT_EQ(VMMEM_REGION_READONLY, info.flags);
	ASSERT_EQ(VMMEM_BACKING_KERNEL, info.backing);
	ASSERT_EQ(0, info.huge_chunks);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, vm_find(self->fd, GPA + SIZE - 1, &info));
	ASSERT_EQ(a.id, info.id);
	ASSERT_EQ(0, vm_find(self->fd, GPA + PG + 123, &info));
	ASSERT_EQ(a.id, info.id);
}

TEST_F(region, find_between_adjacent_regions_picks_the_right_one)
{
	struct vmmem_region_add a, b;
	struct vmmem_region_info info;

	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &a));
	ASSERT_EQ(0, vm_add(self->fd, GPA + SIZE, PG, 0, 0, &b));
	ASSERT_EQ(0, vm_find(self->fd, GPA + SIZE - 1, &info));
	ASSERT_EQ(a.id, info.id);
	ASSERT_EQ(0, vm_find(self->fd, GPA + SIZE, &info));
	ASSERT_EQ(b.id, info.id);
	ASSERT_EQ(GPA + SIZE, info.guest_addr);
}

TEST_F(region, find_in_hole_or_just_outside_is_enxio)
{
	ASSERT_EQ(-1, vm_find(self->fd, GPA, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, 0x100000, SIZE, 0, 0, NULL));
	ASSERT_EQ(-1, vm_find(self->fd, GPA + SIZE, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, GPA - 1, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, 0, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, 0x80000, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, 0x100000 + SIZE, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_find(self->fd, ~0ULL, NULL));
	ASSERT_EQ(ENXIO, errno);
}

TEST_HARNESS_MAIN
