// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem ABI basics: API version, unknown commands, bad argument pointers,
 * and "every reserved field and every unknown flag bit must be zero, else
 * -EINVAL" for every ioctl.
 */
#include "vmmem_test.h"

#define GPA	0x100000ULL
#define SIZE	(4 * PG)

FIXTURE(api) {
	int fd;
	struct vmmem_region_add r;	/* a valid kernel-backed region */
	unsigned char buf[64];
};

FIXTURE_SETUP(api)
{
	ASSERT_EQ(PG, (__u64)getpagesize());
	self->fd = vm_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VMMEM_DEV, strerror(errno));
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, &self->r));
	memset(self->buf, 0, sizeof(self->buf));
}

FIXTURE_TEARDOWN(api)
{
	close(self->fd);
}

TEST_F(api, get_api_version_returns_vmmem_api_version)
{
	ASSERT_EQ(1, VMMEM_API_VERSION);
	ASSERT_EQ(VMMEM_API_VERSION, ioctl(self->fd, VMMEM_GET_API_VERSION, 0));
}

TEST_F(api, unknown_command_with_vmmem_magic_is_enotty)
{
	ASSERT_EQ(-1, ioctl(self->fd, _IO(VMMEM_IOCTL_MAGIC, 0x3f), 0));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IO(VMMEM_IOCTL_MAGIC, 0xff), 0));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR(VMMEM_IOCTL_MAGIC, 0x20,
					    struct vmmem_io), self->buf));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(api, known_number_with_wrong_size_or_direction_is_enotty)
{
	/* The size and direction are part of the command: these are unknown. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR(VMMEM_IOCTL_MAGIC, 0x01, __u64),
			    self->buf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IO(VMMEM_IOCTL_MAGIC, 0x05), 0));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR(VMMEM_IOCTL_MAGIC, 0x00, __u32),
			    self->buf));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(api, foreign_magic_is_enotty)
{
	struct vmmem_region_add a;

	memset(&a, 0, sizeof(a));
	a.guest_addr = 0x800000;
	a.size = PG;
	/* VMMEM_ADD_REGION's number and size, another magic. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOWR(0xBB, 0x01, struct vmmem_region_add),
			    &a));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IO('K', 0x00), 0));
	ASSERT_EQ(ENOTTY, errno);
	/* ...and nothing was added. */
	ASSERT_EQ(-1, vm_find(self->fd, 0x800000, NULL));
	ASSERT_EQ(ENXIO, errno);
}

/* --- -EFAULT for a bad argument pointer, for every command with one ---- */

FIXTURE(efault) {
	int fd;
	void *hole;		/* an unmapped page */
	unsigned char *edge;	/* a mapped page followed by an unmapped one */
};

FIXTURE_VARIANT(efault) {
	unsigned long cmd;
	size_t argsz;
};

FIXTURE_VARIANT_ADD(efault, add_region) {
	.cmd = VMMEM_ADD_REGION, .argsz = sizeof(struct vmmem_region_add) };
FIXTURE_VARIANT_ADD(efault, remove_region) {
	.cmd = VMMEM_REMOVE_REGION, .argsz = sizeof(struct vmmem_region_remove) };
FIXTURE_VARIANT_ADD(efault, list_regions) {
	.cmd = VMMEM_LIST_REGIONS, .argsz = sizeof(struct vmmem_region_list) };
FIXTURE_VARIANT_ADD(efault, find_region) {
	.cmd = VMMEM_FIND_REGION, .argsz = sizeof(struct vmmem_region_find) };
FIXTURE_VARIANT_ADD(efault, read) {
	.cmd = VMMEM_READ, .argsz = sizeof(struct vmmem_io) };
FIXTURE_VARIANT_ADD(efault, write) {
	.cmd = VMMEM_WRITE, .argsz = sizeof(struct vmmem_io) };
FIXTURE_VARIANT_ADD(efault, io_batch) {
	.cmd = VMMEM_IO_BATCH, .argsz = sizeof(struct vmmem_io_batch) };
FIXTURE_VARIANT_ADD(efault, atomic) {
	.cmd = VMMEM_ATOMIC, .argsz = sizeof(struct vmmem_atomic) };
FIXTURE_VARIANT_ADD(efault, copy) {
	.cmd = VMMEM_COPY, .argsz = sizeof(struct vmmem_copy) };
FIXTURE_VARIANT_ADD(efault, translate) {
	.cmd = VMMEM_TRANSLATE, .argsz = sizeof(struct vmmem_translate) };
FIXTURE_VARIANT_ADD(efault, read_from_fd) {
	.cmd = VMMEM_READ_FROM_FD, .argsz = sizeof(struct vmmem_fd_io) };
FIXTURE_VARIANT_ADD(efault, write_to_fd) {
	.cmd = VMMEM_WRITE_TO_FD, .argsz = sizeof(struct vmmem_fd_io) };

FIXTURE_SETUP(efault)
{
	unsigned char *p;

	self->fd = vm_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vm_add(self->fd, GPA, SIZE, 0, 0, NULL));
	self->hole = unmapped_range(PG);
	ASSERT_NE(NULL, self->hole);
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + PG, PG));
	memset(p, 0, PG);
	self->edge = p;
}

FIXTURE_TEARDOWN(efault)
{
	close(self->fd);
}

TEST_F(efault, null_argument_is_efault)
{
	ASSERT_EQ(-1, ioctl(self->fd, variant->cmd, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(efault, unmapped_argument_is_efault)
{
	ASSERT_EQ(-1, ioctl(self->fd, variant->cmd, self->hole));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(efault, argument_straddling_into_unmapped_page_is_efault)
{
	/* All but the last 8 bytes of the struct are readable. */
	void *arg = self->edge + PG - variant->argsz + 8;

	ASSERT_EQ(-1, ioctl(self->fd, variant->cmd, arg));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(efault, failed_call_changed_nothing)
{
	__u64 gen = vm_generation(self->fd);

	ASSERT_EQ(-1, ioctl(self->fd, variant->cmd, self->hole));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(gen, vm_generation(self->fd));
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

/* --- ADD_REGION: flags and reserved -------------------------------------- */

static int add_raw(int fd, struct vmmem_region_add *a)
{
	return ioctl(fd, VMMEM_ADD_REGION, a);
}

static void add_init(struct vmmem_region_add *a)
{
	memset(a, 0, sizeof(*a));
	a->guest_addr = 0x800000;
	a->size = PG;
}

TEST_F(api, add_unknown_flag_is_einval)
{
	struct vmmem_region_add a;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		if (VMMEM_REGION_FLAGS & (1U << bit))
			continue;
		add_init(&a);
		a.flags = 1U << bit;
		ASSERT_EQ(-1, add_raw(self->fd, &a)) TH_LOG("flag bit %u", bit);
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
	}
	add_init(&a);
	a.flags = VMMEM_REGION_READONLY | (1U << 5);
	ASSERT_EQ(-1, add_raw(self->fd, &a));
	ASSERT_EQ(EINVAL, errno);
	/* The same add with valid flags works: the bit was the reason. */
	add_init(&a);
	a.flags = VMMEM_REGION_READONLY;
	ASSERT_EQ(0, add_raw(self->fd, &a));
}

TEST_F(api, add_reserved0_nonzero_is_einval)
{
	struct vmmem_region_add a;

	add_init(&a);
	a.reserved[0] = 1;
	ASSERT_EQ(-1, add_raw(self->fd, &a));
	ASSERT_EQ(EINVAL, errno);
	add_init(&a);
	a.reserved[0] = 1ULL << 63;
	ASSERT_EQ(-1, add_raw(self->fd, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_find(self->fd, 0x800000, NULL));
	ASSERT_EQ(ENXIO, errno);
}

TEST_F(api, add_reserved1_nonzero_is_einval)
{
	struct vmmem_region_add a;

	add_init(&a);
	a.reserved[1] = 1;
	ASSERT_EQ(-1, add_raw(self->fd, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, vm_find(self->fd, 0x800000, NULL));
	ASSERT_EQ(ENXIO, errno);
}

/* --- REMOVE_REGION ------------------------------------------------------- */

TEST_F(api, remove_unknown_flag_is_einval)
{
	struct vmmem_region_remove r;
	unsigned int bit;

	for (bit = 1; bit < 32; bit++) {
		memset(&r, 0, sizeof(r));
		r.id = self->r.id;
		r.flags = 1U << bit;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
		/* with BY_ADDR and a valid exact range, too */
		memset(&r, 0, sizeof(r));
		r.flags = VMMEM_REMOVE_BY_ADDR | (1U << bit);
		r.guest_addr = GPA;
		r.size = SIZE;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
	}
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

TEST_F(api, remove_reserved_nonzero_is_einval)
{
	struct vmmem_region_remove r;

	memset(&r, 0, sizeof(r));
	r.id = self->r.id;
	r.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
	ASSERT_EQ(EINVAL, errno);
	memset(&r, 0, sizeof(r));
	r.flags = VMMEM_REMOVE_BY_ADDR;
	r.guest_addr = GPA;
	r.size = SIZE;
	r.reserved = 1ULL << 40;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_REMOVE_REGION, &r));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vm_find(self->fd, GPA, NULL));
}

/* --- LIST_REGIONS -------------------------------------------------------- */

TEST_F(api, list_flags_nonzero_is_einval)
{
	struct vmmem_region_info arr[4];
	struct vmmem_region_list l;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		memset(&l, 0, sizeof(l));
		l.regions = ptr2u(arr);
		l.count = 4;
		l.flags = 1U << bit;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_LIST_REGIONS, &l));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
	}
}

TEST_F(api, list_reserved_nonzero_is_einval)
{
	struct vmmem_region_info arr[4];
	struct vmmem_region_list l;

	memset(&l, 0, sizeof(l));
	l.regions = ptr2u(arr);
	l.count = 4;
	l.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_LIST_REGIONS, &l));
	ASSERT_EQ(EINVAL, errno);
	l.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_LIST_REGIONS, &l));
	ASSERT_EQ(1, l.count);
}

/* --- FIND_REGION --------------------------------------------------------- */

TEST_F(api, find_reserved_nonzero_is_einval)
{
	struct vmmem_region_find f;

	memset(&f, 0, sizeof(f));
	f.guest_addr = GPA;
	f.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_FIND_REGION, &f));
	ASSERT_EQ(EINVAL, errno);
	f.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_FIND_REGION, &f));
	ASSERT_EQ(self->r.id, f.region.id);
}

/* --- READ / WRITE -------------------------------------------------------- */

static void io_init(struct vmmem_io *io, void *buf)
{
	memset(io, 0, sizeof(*io));
	io->guest_addr = GPA;
	io->user_addr = ptr2u(buf);
	io->len = 16;
}

TEST_F(api, read_write_unknown_flag_is_einval)
{
	static const unsigned long cmds[] = { VMMEM_READ, VMMEM_WRITE };
	struct vmmem_io io;
	unsigned int bit, c;

	for (c = 0; c < 2; c++) {
		for (bit = 1; bit < 32; bit++) {
			io_init(&io, self->buf);
			io.flags = 1U << bit;
			ASSERT_EQ(-1, ioctl(self->fd, cmds[c], &io));
			ASSERT_EQ(EINVAL, errno) TH_LOG("cmd %u bit %u", c, bit);
		}
		io_init(&io, self->buf);
		io.flags = VMMEM_IO_EXACT;
		ASSERT_EQ(0, ioctl(self->fd, cmds[c], &io));
		ASSERT_EQ(16, io.done);
	}
}

TEST_F(api, read_write_with_io_write_flag_is_einval)
{
	struct vmmem_io io;

	/* VMMEM_IO_WRITE is for batch ops only. */
	io_init(&io, self->buf);
	io.flags = VMMEM_IO_WRITE;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_READ, &io));
	ASSERT_EQ(EINVAL, errno);
	io_init(&io, self->buf);
	io.flags = VMMEM_IO_WRITE;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE, &io));
	ASSERT_EQ(EINVAL, errno);
	io_init(&io, self->buf);
	io.flags = VMMEM_IO_WRITE | VMMEM_IO_EXACT;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE, &io));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(api, read_write_reserved_nonzero_is_einval)
{
	struct vmmem_io io;

	io_init(&io, self->buf);
	io.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_READ, &io));
	ASSERT_EQ(EINVAL, errno);
	io_init(&io, self->buf);
	io.reserved = 0x80000000U;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE, &io));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(api, rejected_write_did_not_write)
{
	unsigned char pat[16], back[16];
	struct vmmem_io io;

	memset(pat, 0xA5, sizeof(pat));
	io_init(&io, pat);
	io.reserved = 7;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE, &io));
	ASSERT_EQ(EINVAL, errno);
	io_init(&io, pat);
	io.flags = 1U << 7;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE, &io));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vm_read(self->fd, GPA, back, 16, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(back, 16, 0));
}

/* --- IO_BATCH ------------------------------------------------------------ */

TEST_F(api, batch_flags_nonzero_is_einval)
{
	struct vmmem_io op;
	struct vmmem_io_batch b;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		io_init(&op, self->buf);
		memset(&b, 0, sizeof(b));
		b.ops = ptr2u(&op);
		b.count = 1;
		b.flags = 1U << bit;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_IO_BATCH, &b));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
	}
}

TEST_F(api, batch_reserved_nonzero_is_einval)
{
	struct vmmem_io op;
	struct vmmem_io_batch b;

	io_init(&op, self->buf);
	memset(&b, 0, sizeof(b));
	b.ops = ptr2u(&op);
	b.count = 1;
	b.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_IO_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	b.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_IO_BATCH, &b));
	ASSERT_EQ(1, b.done_ops);
}

TEST_F(api, batch_op_unknown_flag_is_einval_at_its_index)
{
	struct vmmem_io ops[3];
	struct vmmem_io_batch b;
	unsigned int bit;

	for (bit = 2; bit < 32; bit++) {
		io_init(&ops[0], self->buf);
		io_init(&ops[1], self->buf);
		io_init(&ops[2], self->buf);
		ops[1].flags = 1U << bit;
		memset(&b, 0, sizeof(b));
		b.ops = ptr2u(ops);
		b.count = 3;
		b.done_ops = 99;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_IO_BATCH, &b));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
		ASSERT_EQ(1, b.done_ops);
		ASSERT_EQ(16, ops[0].done);
	}
}

TEST_F(api, batch_op_reserved_nonzero_is_einval_at_its_index)
{
	struct vmmem_io ops[2];
	struct vmmem_io_batch b;

	io_init(&ops[0], self->buf);
	io_init(&ops[1], self->buf);
	ops[1].reserved = 1;
	memset(&b, 0, sizeof(b));
	b.ops = ptr2u(ops);
	b.count = 2;
	b.done_ops = 99;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_IO_BATCH, &b));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(1, b.done_ops);
}

TEST_F(api, batch_ops_pointer_unmapped_is_efault)
{
	struct vmmem_io_batch b;
	void *hole = unmapped_range(PG);

	ASSERT_NE(NULL, hole);
	memset(&b, 0, sizeof(b));
	b.ops = ptr2u(hole);
	b.count = 2;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_IO_BATCH, &b));
	ASSERT_EQ(EFAULT, errno);
}

/* --- the file itself ----------------------------------------------------- */

TEST(each_open_is_its_own_address_space)
{
	int a = vm_open(), b = vm_open();
	struct vmmem_region_info arr[4];
	unsigned char v = 0x5a, back = 0;
	__u32 count = 99;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, vm_add(a, GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_write(a, GPA, &v, 1, 0, NULL));
	ASSERT_EQ(0, vm_list(b, arr, 4, &count, NULL));
	ASSERT_EQ(0, count);
	ASSERT_EQ(-1, vm_read(b, GPA, &back, 1, 0, NULL));
	ASSERT_EQ(ENXIO, errno);
	/* the same GPA range is free in b */
	ASSERT_EQ(0, vm_add(b, GPA, PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_read(b, GPA, &back, 1, 0, NULL));
	ASSERT_EQ(0, back);
	ASSERT_EQ(0, vm_read(a, GPA, &back, 1, 0, NULL));
	ASSERT_EQ(0x5a, back);
	close(a);
	close(b);
}

/* --- ATOMIC --------------------------------------------------------------- */

static void atomic_init(struct vmmem_atomic *a, __u32 op)
{
	memset(a, 0, sizeof(*a));
	a->guest_addr = GPA;
	a->op = op;
	a->size = 8;
	a->order = VMMEM_ORDER_SEQ_CST;
}

TEST_F(api, atomic_reserved_nonzero_is_einval)
{
	struct vmmem_atomic a;

	atomic_init(&a, VMMEM_ATOMIC_LOAD);
	a.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
	a.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_ATOMIC, &a));
}

TEST_F(api, atomic_unknown_op_size_or_order_is_einval)
{
	static const __u32 bad_ops[] = { 0, 5, 0xffffffff };
	static const __u32 bad_sizes[] = { 0, 3, 5, 6, 7, 16 };
	struct vmmem_atomic a;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_ops); i++) {
		atomic_init(&a, bad_ops[i]);
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
		ASSERT_EQ(EINVAL, errno) TH_LOG("op %u", bad_ops[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		atomic_init(&a, VMMEM_ATOMIC_LOAD);
		a.size = bad_sizes[i];
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
		ASSERT_EQ(EINVAL, errno) TH_LOG("size %u", bad_sizes[i]);
	}
	atomic_init(&a, VMMEM_ATOMIC_LOAD);
	a.order = 4;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(api, atomic_unused_operand_nonzero_is_einval)
{
	struct vmmem_atomic a;

	atomic_init(&a, VMMEM_ATOMIC_LOAD);
	a.value = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
	atomic_init(&a, VMMEM_ATOMIC_STORE);
	a.expected = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
	atomic_init(&a, VMMEM_ATOMIC_FETCH_ADD);
	a.expected = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(api, atomic_rejected_store_wrote_nothing)
{
	struct vmmem_atomic a;
	__u64 back = 1;

	atomic_init(&a, VMMEM_ATOMIC_STORE);
	a.value = 0x1234;
	a.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vm_read(self->fd, GPA, &back, 8, 0, NULL));
	ASSERT_EQ(0, back);
}

/*
 * vm-memory's order: the region is looked up first, so no memory at the
 * address is ENXIO whatever the alignment; only inside memory is a
 * misaligned access EINVAL, and that before a read-only region's EACCES.
 */
TEST_F(api, atomic_misaligned_in_a_hole_is_enxio)
{
	static const __u32 ops[] = { VMMEM_ATOMIC_LOAD, VMMEM_ATOMIC_STORE,
				     VMMEM_ATOMIC_CMPXCHG, VMMEM_ATOMIC_FETCH_ADD };
	struct vmmem_atomic a;
	unsigned int i, size;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		for (size = 2; size <= 8; size *= 2) {
			atomic_init(&a, ops[i]);
			a.size = size;
			a.guest_addr = 0x7000001;	/* a hole */
			ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
			ASSERT_EQ(ENXIO, errno) TH_LOG("op %u size %u", ops[i], size);
			a.guest_addr = GPA + 1;		/* memory */
			ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
			ASSERT_EQ(EINVAL, errno) TH_LOG("op %u size %u", ops[i], size);
		}
	}
}

TEST_F(api, atomic_misaligned_on_a_readonly_region_is_einval)
{
	struct vmmem_atomic a;

	ASSERT_EQ(0, vm_add(self->fd, 0x7000000, PG, 0, VMMEM_REGION_READONLY,
			    NULL));
	atomic_init(&a, VMMEM_ATOMIC_STORE);
	a.guest_addr = 0x7000004;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EINVAL, errno);
	a.guest_addr = 0x7000008;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_ATOMIC, &a));
	ASSERT_EQ(EACCES, errno);
}

/* --- COPY, TRANSLATE, READ_FROM_FD / WRITE_TO_FD --------------------------- */

TEST_F(api, copy_unknown_flag_or_reserved_is_einval)
{
	struct vmmem_copy c;
	unsigned int bit;

	for (bit = 1; bit < 32; bit++) {
		memset(&c, 0, sizeof(c));
		c.src_gpa = GPA;
		c.dst_gpa = GPA + PG;
		c.len = 16;
		c.flags = 1U << bit;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_COPY, &c));
		ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %u", bit);
	}
	c.flags = 0;
	c.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_COPY, &c));
	ASSERT_EQ(EINVAL, errno);
	c.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_COPY, &c));
	ASSERT_EQ(16, c.done);
}

TEST_F(api, translate_flags_or_reserved_nonzero_is_einval)
{
	struct vmmem_slice sl[2];
	struct vmmem_translate t;
	unsigned int bit;

	for (bit = 0; bit < 33; bit++) {
		memset(&t, 0, sizeof(t));
		t.guest_addr = GPA;
		t.len = 16;
		t.slices = ptr2u(sl);
		t.count = 2;
		if (bit < 32)
			t.flags = 1U << bit;
		else
			t.reserved = 1;
		ASSERT_EQ(-1, ioctl(self->fd, VMMEM_TRANSLATE, &t));
		ASSERT_EQ(EINVAL, errno) TH_LOG("bit %u", bit);
	}
	t.reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, VMMEM_TRANSLATE, &t));
	ASSERT_EQ(1, t.count);
}

TEST_F(api, translate_unmapped_slice_array_is_efault)
{
	struct vmmem_translate t;

	memset(&t, 0, sizeof(t));
	t.guest_addr = GPA;
	t.len = 16;
	t.slices = ptr2u(unmapped_range(PG));
	t.count = 2;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_TRANSLATE, &t));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(api, fd_io_unknown_flag_reserved_or_bad_offset_is_einval)
{
	static const unsigned long cmds[] = { VMMEM_READ_FROM_FD,
					      VMMEM_WRITE_TO_FD };
	struct vmmem_fd_io f;
	unsigned int bit, c;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	for (c = 0; c < 2; c++) {
		for (bit = 0; bit < 34; bit++) {
			memset(&f, 0, sizeof(f));
			f.guest_addr = GPA;
			f.len = 1;
			f.offset = -1;
			f.fd = p[c];
			if (bit == 0)
				continue;	/* VMMEM_FD_EXACT is valid */
			if (bit < 32)
				f.flags = 1U << bit;
			else if (bit == 32)
				f.reserved = 1;
			else
				f.offset = -2;
			ASSERT_EQ(-1, ioctl(self->fd, cmds[c], &f));
			ASSERT_EQ(EINVAL, errno) TH_LOG("cmd %u bit %u", c, bit);
			ASSERT_EQ(0, f.done);
		}
	}
	close(p[0]);
	close(p[1]);
}

TEST_F(api, fd_io_bad_fd_or_wrong_direction_is_ebadf)
{
	struct vmmem_fd_io f;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	memset(&f, 0, sizeof(f));
	f.guest_addr = GPA;
	f.len = 1;
	f.offset = -1;
	f.fd = -1;
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_READ_FROM_FD, &f));
	ASSERT_EQ(EBADF, errno);
	f.fd = p[1];		/* write end: cannot be read from */
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_READ_FROM_FD, &f));
	ASSERT_EQ(EBADF, errno);
	f.fd = p[0];		/* read end: cannot be written to */
	ASSERT_EQ(-1, ioctl(self->fd, VMMEM_WRITE_TO_FD, &f));
	ASSERT_EQ(EBADF, errno);
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
