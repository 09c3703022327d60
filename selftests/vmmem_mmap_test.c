// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem mmap(): kernel-backed regions are mapped MAP_SHARED at their
 * mmap_offset, and a mapping may span any page range of the offset space
 * (holes SIGBUS, read-only regions read-only); the mapping and
 * VMMEM_READ/WRITE see the same pages; the pages of a mapping within one
 * region, and those a mapping across regions touched, outlive region
 * removal and file close.
 */

#include "vmmem_test.h"

#define GPA	0x100000ULL
#define NPG	16ULL
#define SIZE	(NPG * PG)

FIXTURE(mm) {
	int fd;
	struct vmmem_region_add r;	/* kernel-backed, 16 pages */
};

FIXTURE_SETUP(mm)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &self->r));
	ASSERT_NE(VMMEM_NO_MMAP, self->r.mmap_offset);
}

FIXTURE_TEARDOWN(mm)
{
	if (self->fd >= 0)
		close(self->fd);
}

static void *vmap(int fd, __u64 off, __u64 len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)off);
}

static void *vmap_rw(int fd, __u64 off, __u64 len)
{
	return vmap(fd, off, len, PROT_READ | PROT_WRITE, MAP_SHARED);
}

TEST_F(mm, stores_through_mapping_are_seen_by_vmmem_read)
{
	unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	__u64 v = 0, done;

	ASSERT_NE(MAP_FAILED, m);
	*(volatile __u64 *)(m + 5 * PG + 16) = 0x1122334455667788ULL;
	m[SIZE - 1] = 0x99;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 5 * PG + 16, &v, 8, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0x1122334455667788ULL, v);
	v = 0;
	ASSERT_EQ(0, vm_read(self->fd, GPA + SIZE - 1, &v, 1, VMMEM_IO_EXACT, &done));
	ASSERT_EQ(0x99, v);
	ASSERT_EQ(0, munmap(m, SIZE));
}

TEST_F(mm, vmmem_write_is_seen_through_mapping)
{
	unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	unsigned char pat[3 * PG];

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_TRUE(all_bytes(m, SIZE, 0));
	fill_pattern(pat, sizeof(pat), 3);
	ASSERT_EQ(0, vm_write(self->fd, GPA + 2 * PG + 7, pat, sizeof(pat),
			      VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(m + 2 * PG + 7, pat, sizeof(pat)));
	ASSERT_EQ(0, munmap(m, SIZE));
}

TEST_F(mm, read_only_shared_mapping_of_writable_region_works)
{
	unsigned char *m = vmap(self->fd, self->r.mmap_offset, SIZE, PROT_READ,
				MAP_SHARED);
	unsigned char v = 0x42;

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, vm_write(self->fd, GPA + 3, &v, 1, 0, NULL));
	ASSERT_EQ(0x42, ((volatile unsigned char *)m)[3]);
	ASSERT_EQ(0, munmap(m, SIZE));
}

TEST_F(mm, two_mappings_share_the_same_pages)
{
	unsigned char *m1 = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	unsigned char *m2 = vmap_rw(self->fd, self->r.mmap_offset, SIZE);

	ASSERT_NE(MAP_FAILED, m1);
	ASSERT_NE(MAP_FAILED, m2);
	ASSERT_NE(m1, m2);
	m1[PG + 1] = 0xab;
	ASSERT_EQ(0xab, ((volatile unsigned char *)m2)[PG + 1]);
}

TEST_F(mm, map_private_is_einval)
{
	void *m = vmap(self->fd, self->r.mmap_offset, SIZE,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
	m = vmap(self->fd, self->r.mmap_offset, PG, PROT_READ, MAP_PRIVATE);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mm, mapping_past_region_end_is_einval)
{
	void *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE + PG);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
	m = vmap_rw(self->fd, self->r.mmap_offset + PG, SIZE);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
	m = vmap_rw(self->fd, self->r.mmap_offset + SIZE - PG, 2 * PG);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mm, a_mapping_may_run_on_into_the_next_region)
{
	struct vmmem_region_add b;
	unsigned char v = 0x77, *m;

	/* B's offsets follow A's: one mapping covers both. */
	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 4 * PG, 0, 0, &b));
	ASSERT_EQ(self->r.mmap_offset + SIZE, b.mmap_offset);
	m = vmap_rw(self->fd, self->r.mmap_offset, SIZE + PG);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, vm_write(self->fd, 0x800000, &v, 1, 0, NULL));
	ASSERT_EQ(0x77, m[SIZE]);
	m[SIZE + 1] = 0x78;
	ASSERT_EQ(0, vm_read(self->fd, 0x800001, &v, 1, 0, NULL));
	ASSERT_EQ(0x78, v);
	ASSERT_EQ(0, munmap(m, SIZE + PG));
}

/* Whether touching @p (writing if @write) kills a child with SIGBUS. */
static bool sigbus_at(volatile unsigned char *p, bool write)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		if (write)
			*p = 1;
		else
			(void)*p;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

/*
 * A range with no page of any region is refused, so that a client that
 * maps a region it just found learns that it went; a range with some
 * region's pages maps, and the rest of it is SIGBUS.
 */
TEST_F(mm, a_removed_regions_offsets_map_only_next_to_a_region)
{
	struct vmmem_region_add other;
	unsigned char *m;

	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 4 * PG, 0, 0, &other));
	ASSERT_EQ(0, vm_remove_id(self->fd, other.id));
	ASSERT_EQ(MAP_FAILED, vmap_rw(self->fd, other.mmap_offset, 4 * PG));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, vmap_rw(self->fd, other.mmap_offset + PG, PG));
	ASSERT_EQ(EINVAL, errno);
	m = vmap_rw(self->fd, self->r.mmap_offset, SIZE + 4 * PG);
	ASSERT_NE(MAP_FAILED, m);
	m[SIZE - 1] = 1;
	EXPECT_TRUE(sigbus_at(m + SIZE, false));
	EXPECT_TRUE(sigbus_at(m + SIZE + 3 * PG, true));
	ASSERT_EQ(0, munmap(m, SIZE + 4 * PG));
}

/*
 * How libvhost-user and DPDK map a region: from offset 0, mmap_offset +
 * size bytes, adding the offset themselves. Everything from 0 to the end
 * of the offset space may be mapped at once: regions where they are,
 * holes (a removed region) SIGBUS, a read-only region read-only (a write
 * there is SIGBUS).
 */
TEST_F(mm, the_whole_offset_space_maps_at_once)
{
	struct vmmem_region_add gap, ro, d;
	unsigned char v, *m;
	off_t end;

	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 4 * PG, 0, 0, &gap));
	ASSERT_EQ(0, vm_add(self->fd, 0x900000, 4 * PG, 0,
			    VMMEM_REGION_READONLY, &ro));
	ASSERT_EQ(0, vm_add(self->fd, 0xa00000, 4 * PG, 0, 0, &d));
	ASSERT_EQ(0, vm_remove_id(self->fd, gap.id));
	end = lseek(self->fd, 0, SEEK_END);
	ASSERT_EQ(d.mmap_offset + 4 * PG, (__u64)end);
	m = vmap_rw(self->fd, 0, end);
	ASSERT_NE(MAP_FAILED, m);

	/* the fixture's region and d: read and write both ways */
	m[self->r.mmap_offset + 5] = 0x11;
	m[d.mmap_offset + 3 * PG] = 0x22;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 5, &v, 1, 0, NULL));
	ASSERT_EQ(0x11, v);
	ASSERT_EQ(0, vm_read(self->fd, 0xa03000, &v, 1, 0, NULL));
	ASSERT_EQ(0x22, v);
	v = 0x33;
	ASSERT_EQ(0, vm_write(self->fd, 0xa00010, &v, 1, 0, NULL));
	ASSERT_EQ(0x33, m[d.mmap_offset + 0x10]);
	/* the removed region: a hole */
	EXPECT_TRUE(sigbus_at(m + gap.mmap_offset, false));
	EXPECT_TRUE(sigbus_at(m + gap.mmap_offset + PG, true));
	/* the read-only region: readable, never writable */
	ASSERT_EQ(0, m[ro.mmap_offset + PG]);
	EXPECT_TRUE(sigbus_at(m + ro.mmap_offset, true));
	EXPECT_TRUE(sigbus_at(m + ro.mmap_offset + 3 * PG, true));
	ASSERT_EQ(0, vm_read(self->fd, 0x900000, &v, 1, 0, NULL));
	ASSERT_EQ(0, v);
	ASSERT_EQ(0, munmap(m, end));
}

TEST_F(mm, a_mapping_ends_at_the_end_of_the_offset_space)
{
	off_t end = lseek(self->fd, 0, SEEK_END);

	ASSERT_EQ(MAP_FAILED, vmap_rw(self->fd, 0, end + PG));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, vmap_rw(self->fd, end, PG));
	ASSERT_EQ(EINVAL, errno);
}

/*
 * A mapping across regions gets its pages as they are touched: what it
 * touched stays, with the access it had (a read-only region's page stays
 * read-only); a page it never touched is gone with its region.
 */
TEST_F(mm, a_mapping_across_regions_keeps_the_pages_it_touched)
{
	struct vmmem_region_add ro;
	unsigned char *m;
	off_t end;

	ASSERT_EQ(0, vm_add(self->fd, 0x900000, 4 * PG, 0,
			    VMMEM_REGION_READONLY, &ro));
	end = lseek(self->fd, 0, SEEK_END);
	m = vmap_rw(self->fd, 0, end);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, m[ro.mmap_offset]);
	m[self->r.mmap_offset] = 8;
	ASSERT_EQ(0, vm_remove_id(self->fd, ro.id));
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	/* touched: still there, read-only or writable as before */
	EXPECT_EQ(0, m[ro.mmap_offset]);
	EXPECT_TRUE(sigbus_at(m + ro.mmap_offset, true));
	m[self->r.mmap_offset] = 9;
	EXPECT_EQ(9, m[self->r.mmap_offset]);
	/* never touched: gone */
	EXPECT_TRUE(sigbus_at(m + ro.mmap_offset + PG, false));
	EXPECT_TRUE(sigbus_at(m + self->r.mmap_offset + PG, false));
	ASSERT_EQ(0, munmap(m, end));
}

/*
 * A page dropped from a mapping within one region comes back, also after
 * the region is removed: the mapping holds the region's pages.
 */
TEST_F(mm, a_dropped_page_faults_back_in_also_after_its_region_is_removed)
{
	unsigned char v = 0x44, *m = vmap_rw(self->fd, self->r.mmap_offset,
					     SIZE);

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, vm_write(self->fd, GPA + PG, &v, 1, 0, NULL));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_DONTNEED));
	EXPECT_EQ(0x44, m[PG]);
	ASSERT_EQ(0, madvise(m, SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	EXPECT_EQ(0x44, m[PG]);
	m[2 * PG] = 0x45;
	ASSERT_EQ(0, madvise(m, SIZE, MADV_DONTNEED));
	EXPECT_EQ(0x45, m[2 * PG]);
	ASSERT_EQ(0, munmap(m, SIZE));
}

TEST_F(mm, offset_just_past_the_only_region_is_einval)
{
	void *m = vmap_rw(self->fd, self->r.mmap_offset + SIZE, PG);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mm, subrange_mapping_maps_the_right_pages)
{
	unsigned char *m;
	__u64 i;

	for (i = 0; i < NPG; i++) {
		__u64 marker = 0xC0DE000000000000ULL | i;

		ASSERT_EQ(0, vm_write(self->fd, GPA + i * PG, &marker, 8,
				      VMMEM_IO_EXACT, NULL));
	}
	m = vmap_rw(self->fd, self->r.mmap_offset + 3 * PG, 2 * PG);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0xC0DE000000000003ULL, *(__u64 *)m);
	ASSERT_EQ(0xC0DE000000000004ULL, *(__u64 *)(m + PG));
	ASSERT_EQ(0, munmap(m, 2 * PG));
	/* the last page alone */
	m = vmap_rw(self->fd, self->r.mmap_offset + SIZE - PG, PG);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0xC0DE000000000000ULL | (NPG - 1), *(__u64 *)m);
	ASSERT_EQ(0, munmap(m, PG));
}

TEST_F(mm, each_region_maps_its_own_pages)
{
	struct vmmem_region_add b;
	unsigned char *ma, *mb;
	unsigned char v = 0x3c;

	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 2 * PG, 0, 0, &b));
	ASSERT_EQ(0, vm_write(self->fd, 0x800000, &v, 1, 0, NULL));
	ma = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	mb = vmap_rw(self->fd, b.mmap_offset, 2 * PG);
	ASSERT_NE(MAP_FAILED, ma);
	ASSERT_NE(MAP_FAILED, mb);
	ASSERT_EQ(0x3c, mb[0]);
	ASSERT_EQ(0, ma[0]);
}

TEST_F(mm, lseek_end_covers_every_mmap_offset)
{
	struct vmmem_region_add b;
	off_t end;

	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 8 * PG, 0, 0, &b));
	end = lseek(self->fd, 0, SEEK_END);
	ASSERT_NE((off_t)-1, end) TH_LOG("lseek: %s", strerror(errno));
	ASSERT_LE(self->r.mmap_offset + SIZE, (__u64)end);
	ASSERT_LE(b.mmap_offset + 8 * PG, (__u64)end);
}

/* --- read-only regions ----------------------------------------------------- */

FIXTURE(ro) {
	int fd;
	struct vmmem_region_add r;
};

FIXTURE_SETUP(ro)
{
	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vm_add(self->fd, GPA, 4 * PG, 0, VMMEM_REGION_READONLY,
			    &self->r));
}

FIXTURE_TEARDOWN(ro)
{
	close(self->fd);
}

TEST_F(ro, readonly_region_maps_prot_read)
{
	volatile unsigned char *m = vmap(self->fd, self->r.mmap_offset, 4 * PG,
					 PROT_READ, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(0, m[0]);
	ASSERT_EQ(0, m[4 * PG - 1]);
	ASSERT_EQ(0, munmap((void *)m, 4 * PG));
}

TEST_F(ro, readonly_region_prot_write_is_eacces)
{
	void *m = vmap(self->fd, self->r.mmap_offset, 4 * PG,
		       PROT_READ | PROT_WRITE, MAP_SHARED);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EACCES, errno);
	m = vmap(self->fd, self->r.mmap_offset, PG, PROT_WRITE, MAP_SHARED);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EACCES, errno);
}

TEST_F(ro, readonly_mapping_cannot_gain_write_by_mprotect)
{
	void *m = vmap(self->fd, self->r.mmap_offset, 4 * PG, PROT_READ,
		       MAP_SHARED);

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(-1, mprotect(m, 4 * PG, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(-1, mprotect(m, PG, PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0, munmap(m, 4 * PG));
}

/* --- guest memory is never executable ------------------------------------- */

TEST_F(mm, prot_exec_mapping_is_eperm)
{
	void *m = vmap(self->fd, self->r.mmap_offset, SIZE,
		       PROT_READ | PROT_EXEC, MAP_SHARED);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EPERM, errno);
}

TEST_F(mm, mapping_cannot_gain_exec_by_mprotect)
{
	void *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(-1, mprotect(m, SIZE, PROT_READ | PROT_EXEC));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0, munmap(m, SIZE));
}

TEST_F(ro, readonly_region_cannot_be_mapped_or_made_executable)
{
	void *m = vmap(self->fd, self->r.mmap_offset, PG, PROT_EXEC,
		       MAP_SHARED);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EPERM, errno);
	m = vmap(self->fd, self->r.mmap_offset, PG, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(-1, mprotect(m, PG, PROT_READ | PROT_EXEC));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(0, munmap(m, PG));
}

/* --- user-backed regions are not mappable ---------------------------------- */

TEST_F(mm, user_backed_region_has_no_mmap_offset_and_cannot_be_mapped)
{
	unsigned char *buf = anon_map(4 * PG);
	struct vmmem_region_add u;
	struct vmmem_region_info info;
	void *m;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, 4 * PG);
	ASSERT_EQ(0, vm_add(self->fd, 0x800000, 4 * PG, ptr2u(buf), 0, &u));
	ASSERT_EQ(VMMEM_NO_MMAP, u.mmap_offset);
	ASSERT_EQ(0, vm_find(self->fd, 0x800000, &info));
	ASSERT_EQ(VMMEM_NO_MMAP, info.mmap_offset);
	m = vmap_rw(self->fd, VMMEM_NO_MMAP & ~(PG - 1), PG);
	ASSERT_EQ(MAP_FAILED, m);
	TH_LOG("mmap at VMMEM_NO_MMAP & PAGE_MASK: %s", strerror(errno));
}

/* --- mremap ----------------------------------------------------------------- */

TEST_F(mm, mapping_cannot_grow_with_mremap)
{
	void *m = vmap_rw(self->fd, self->r.mmap_offset, 2 * PG);
	void *n;

	ASSERT_NE(MAP_FAILED, m);
	/* VM_DONTEXPAND: the kernel's mremap() says -EFAULT */
	n = mremap(m, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
	ASSERT_EQ(MAP_FAILED, n);
	ASSERT_EQ(EFAULT, errno);
	n = mremap(m, 2 * PG, 3 * PG, 0);
	ASSERT_EQ(MAP_FAILED, n);
	ASSERT_EQ(EFAULT, errno);
	/* still mapped and usable */
	((volatile unsigned char *)m)[PG] = 7;
	ASSERT_EQ(0, munmap(m, 2 * PG));
	/* the whole region can't grow past its end either */
	m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	ASSERT_NE(MAP_FAILED, m);
	n = mremap(m, SIZE, SIZE + PG, MREMAP_MAYMOVE);
	ASSERT_EQ(MAP_FAILED, n);
}

/* --- lifetime orders -------------------------------------------------------- */

TEST_F(mm, lifetime_map_remove_then_mapping_keeps_old_data)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	unsigned char v = 0xd1;

	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(0, vm_write(self->fd, GPA + PG, &v, 1, 0, NULL));
	m[2 * PG] = 0xd2;
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	ASSERT_EQ(-1, vm_read(self->fd, GPA + PG, &v, 1, 0, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0xd1, m[PG]);
	ASSERT_EQ(0xd2, m[2 * PG]);
	m[3 * PG] = 0xd3;		/* still writable */
	ASSERT_EQ(0xd3, m[3 * PG]);
	ASSERT_EQ(0, munmap((void *)m, SIZE));
}

TEST_F(mm, lifetime_map_close_then_mapping_still_works)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	unsigned char v = 0xe1;

	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(0, vm_write(self->fd, GPA + SIZE - 1, &v, 1, 0, NULL));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0xe1, m[SIZE - 1]);
	m[0] = 0xe2;
	ASSERT_EQ(0xe2, m[0]);
	ASSERT_EQ(0, munmap((void *)m, SIZE));
}

TEST_F(mm, lifetime_map_munmap_then_remove)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);

	ASSERT_NE(MAP_FAILED, (void *)m);
	m[0] = 1;
	ASSERT_EQ(0, munmap((void *)m, SIZE));
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	ASSERT_EQ(-1, vm_find(self->fd, GPA, NULL));
	ASSERT_EQ(ENXIO, errno);
}

TEST_F(mm, lifetime_map_remove_close_then_access_and_munmap)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	unsigned int i;

	ASSERT_NE(MAP_FAILED, (void *)m);
	m[5] = 0x55;
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	for (i = 0; i < NPG; i++)
		m[i * PG + 1] = i;
	for (i = 0; i < NPG; i++)
		ASSERT_EQ(i, m[i * PG + 1]);
	ASSERT_EQ(0x55, m[5]);
	ASSERT_EQ(0, munmap((void *)m, SIZE));
}

TEST_F(mm, old_mapping_is_detached_from_new_region_at_same_gpa)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	struct vmmem_region_add n;
	unsigned char v = 0xff;

	ASSERT_NE(MAP_FAILED, (void *)m);
	m[0] = 0x77;
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &n));
	/* the new region is fresh zeroed memory */
	ASSERT_EQ(0, vm_read(self->fd, GPA, &v, 1, 0, NULL));
	ASSERT_EQ(0, v);
	/* stores through the old mapping don't reach it */
	m[1] = 0x88;
	ASSERT_EQ(0, vm_read(self->fd, GPA + 1, &v, 1, 0, NULL));
	ASSERT_EQ(0, v);
	/* and writes to the new region don't reach the old mapping */
	v = 0x99;
	ASSERT_EQ(0, vm_write(self->fd, GPA, &v, 1, 0, NULL));
	ASSERT_EQ(0x77, m[0]);
}

/* --- fork --------------------------------------------------------------------- */

TEST_F(mm, forked_child_shares_the_mapping_and_the_fd)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	int status;
	pid_t pid;
	unsigned char v = 0x31;

	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(0, vm_write(self->fd, GPA + 100, &v, 1, 0, NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char c = 0;

		/* the child sees the parent's data... */
		if (m[100] != 0x31)
			_exit(10);
		/* ...writes through the inherited mapping... */
		m[PG] = 0x41;
		*(volatile __u64 *)(m + 2 * PG) = 0x4142434445464748ULL;
		/* ...and uses the inherited fd */
		if (vm_read(self->fd, GPA + PG, &c, 1, VMMEM_IO_EXACT, NULL))
			_exit(11);
		if (c != 0x41)
			_exit(12);
		c = 0x51;
		if (vm_write(self->fd, GPA + 3 * PG, &c, 1, VMMEM_IO_EXACT, NULL))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	v = 0;
	ASSERT_EQ(0, vm_read(self->fd, GPA + PG, &v, 1, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0x41, v);
	ASSERT_EQ(0x41, m[PG]);
	ASSERT_EQ(0x4142434445464748ULL, *(volatile __u64 *)(m + 2 * PG));
	ASSERT_EQ(0x51, m[3 * PG]);
}

TEST_F(mm, forked_child_mapping_survives_parent_remove_and_close)
{
	volatile unsigned char *m = vmap_rw(self->fd, self->r.mmap_offset, SIZE);
	int pfd[2], status;
	pid_t pid;
	char go;

	ASSERT_NE(MAP_FAILED, (void *)m);
	ASSERT_EQ(0, pipe(pfd));
	m[0] = 0x61;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[1]);
		close(self->fd);
		if (read(pfd[0], &go, 1) != 1)
			_exit(20);
		if (m[0] != 0x62)	/* the parent's last store */
			_exit(21);
		m[1] = 0x63;
		_exit(0);
	}
	close(pfd[0]);
	ASSERT_EQ(0, vm_remove_id(self->fd, self->r.id));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	m[0] = 0x62;
	ASSERT_EQ(1, write(pfd[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0x63, m[1]);
	ASSERT_EQ(0, munmap((void *)m, SIZE));
}

TEST_HARNESS_MAIN
