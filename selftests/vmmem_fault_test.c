// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation an operation makes may fail.
 *
 * With failslab and fail_page_alloc (debugfs) set to inject into sleeping
 * allocations of any order, /proc/thread-self/fail-nth makes the Nth
 * allocation attempt of this thread fail, and nothing else: no other task
 * or thread is affected. For each operation N walks 1, 2, 3, ... until the
 * call runs without reaching its Nth allocation (fail-nth reads back
 * non-zero). Each faulted call must succeed, or fail with a clean errno
 * (ENOMEM; EFAULT where a copy to or from user memory could not fault a
 * page in), and when it fails:
 *   - the region list (check 3) and generation (check 9) are unchanged,
 *   - guest data is unchanged (or, for copies, changed only in the part
 *     that @done reports),
 *   - pinned pages and locked_vm are back to their values before the call.
 * The arguments live in MAP_PRIVATE file pages and the buffers in fresh
 * anonymous memory, so writing back results also allocates (COW).
 *
 * Kernels without CONFIG_FAILSLAB/FAIL_PAGE_ALLOC/FAULT_INJECTION_DEBUG_FS
 * (Debian's) SKIP; vm/check-debug.sh runs these on the debug kernel.
 */
#include "vmmem_test.h"

#define FS		"/sys/kernel/debug/failslab/"
#define FPA		"/sys/kernel/debug/fail_page_alloc/"
#define NTH		"/proc/thread-self/fail-nth"
#define GK		0x100000ULL	/* kernel-backed, 4 pages */
#define GU		0x104000ULL	/* user-backed, 4 pages, right after */
#define GX		0x300000ULL	/* where adds go */
#define RS		(4 * PG)
#define MAXN		3000
#define NOT_WRITTEN	(~0ULL)	/* @done when the kernel could not write it */

enum op { ADD_K, ADD_U, REMOVE, LIST, MMAP, READ, WRITE, BATCH, ATOMIC,
	  TRANSLATE, COPY, READ_FD, WRITE_FD, OPEN, DIRTY_START };

struct snap {
	struct vmmem_region_info arr[8];
	__u32 count;
	__u64 gen;
	unsigned char data[2 * RS];
	long pins, lk;
};

static bool fi_present(void)
{
	return !access(FS "ignore-gfp-wait", W_OK) &&
	       !access(FPA "min-order", W_OK) && !access(NTH, W_OK);
}

/* Inject into this task's sleeping allocations of any order, silently. */
static int fi_setup(bool on)
{
	static const char *const dirs[] = { FS, FPA };
	char p[128];
	int i, r = 0;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%sverbose", dirs[i]);
		r |= write_file_str(p, "0\n");
		snprintf(p, sizeof(p), "%stask-filter", dirs[i]);
		r |= write_file_str(p, on ? "Y\n" : "N\n");
		snprintf(p, sizeof(p), "%signore-gfp-wait", dirs[i]);
		r |= write_file_str(p, on ? "N\n" : "Y\n");
	}
	r |= write_file_str(FPA "ignore-gfp-highmem", on ? "N\n" : "Y\n");
	r |= write_file_str(FPA "min-order", on ? "0\n" : "1\n");
	return r;
}

static int fill_buf_fd(const void *buf, size_t len)
{
	int fd = memfd_create("arg", 0);

	if (fd >= 0 && pwrite(fd, buf, len, 0) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* @arg copied into a private file mapping: writing to it will COW. */
static void *cow_copy(const void *arg, size_t len)
{
	int fd = fill_buf_fd(arg, len);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	(void)*(volatile char *)p;	/* mapped read-only: the page cache */
	return p;
}

static int take(int fd, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	if (vm_list(fd, s->arr, 8, &s->count, &s->gen) ||
	    vm_read(fd, GK, s->data, RS, VMMEM_IO_EXACT, NULL) ||
	    vm_read(fd, GU, s->data + RS, RS, VMMEM_IO_EXACT, NULL))
		return -1;
	s->pins = pins_outstanding();
	s->lk = locked_kb();
	return 0;
}

FIXTURE(fault) {
	int fd, nth, mfd;
	unsigned char *u;
	long pins0, lk0;
};

FIXTURE_VARIANT(fault) {
	enum op op;
};

#define V(name, o) FIXTURE_VARIANT_ADD(fault, name) { .op = o }
V(add_kernel_backed, ADD_K);
V(add_user_backed, ADD_U);
V(remove, REMOVE);
V(list, LIST);
V(mmap, MMAP);
V(read, READ);
V(write, WRITE);
V(io_batch, BATCH);
V(atomic, ATOMIC);
V(translate, TRANSLATE);
V(guest_copy, COPY);
V(read_from_fd, READ_FD);
V(write_to_fd, WRITE_FD);
V(open, OPEN);
V(dirty_start, DIRTY_START);

FIXTURE_SETUP(fault)
{
	unsigned char pat[RS];

	/* no SKIP here: this harness would run the body anyway */
	self->fd = -1;
	self->nth = -1;
	self->pins0 = pins_outstanding();
	self->lk0 = locked_kb();
	if (!fi_present())
		return;
	ASSERT_EQ(0, fi_setup(true));
	self->nth = open(NTH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->nth, 0);
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	self->u = anon_map(RS);
	ASSERT_NE(NULL, self->u);
	ASSERT_EQ(0, vm_add(self->fd, GK, RS, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GU, RS, ptr2u(self->u), 0, NULL));
	fill_pattern(pat, RS, 1);
	ASSERT_EQ(0, vm_write(self->fd, GK, pat, RS, VMMEM_IO_EXACT, NULL));
	fill_pattern(pat, RS, 2);
	ASSERT_EQ(0, vm_write(self->fd, GU, pat, RS, VMMEM_IO_EXACT, NULL));
	fill_pattern(pat, RS, 3);
	self->mfd = fill_buf_fd(pat, RS);
	ASSERT_GE(self->mfd, 0);
}

FIXTURE_TEARDOWN(fault)
{
	if (self->nth < 0)
		return;
	close(self->nth);
	close(self->fd);
	close(self->mfd);
	munmap(self->u, RS);
	fi_setup(false);
	EXPECT_EQ(self->pins0, pins_settle(self->pins0));
	EXPECT_EQ(self->lk0, locked_kb());
}

/* Arms fail-nth at @n; returns whether the fault was injected. */
static bool armed_call(int nth, unsigned int n, int (*fn)(void *), void *ctx,
		       int *ret, int *err)
{
	char buf[16];
	ssize_t r;

	snprintf(buf, sizeof(buf), "%u", n);
	*ret = -1;
	*err = errno;
	if (pwrite(nth, buf, strlen(buf), 0) < 0)
		return false;
	*ret = fn(ctx);
	*err = errno;
	r = pread(nth, buf, sizeof(buf) - 1, 0);
	pwrite(nth, "0", 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	return r > 0 && atoi(buf) == 0;
}

struct call {
	enum op op;
	int fd, mfd, newfd;
	void *arg;		/* argument struct, COW-mapped */
	void *buf;		/* fresh anonymous buffer */
	void *map;
};

static int do_call(void *p)
{
	struct call *c = p;
	unsigned long cmd[] = {
		[ADD_K] = VMMEM_ADD_REGION, [ADD_U] = VMMEM_ADD_REGION,
		[REMOVE] = VMMEM_REMOVE_REGION, [LIST] = VMMEM_LIST_REGIONS,
		[READ] = VMMEM_READ, [WRITE] = VMMEM_WRITE,
		[BATCH] = VMMEM_IO_BATCH, [ATOMIC] = VMMEM_ATOMIC,
		[TRANSLATE] = VMMEM_TRANSLATE, [COPY] = VMMEM_COPY,
		[READ_FD] = VMMEM_READ_FROM_FD, [WRITE_FD] = VMMEM_WRITE_TO_FD,
		[DIRTY_START] = VMMEM_DIRTY_TRACK,
	};

	if (c->op == OPEN) {
		c->newfd = vm_open();
		return c->newfd < 0 ? -1 : 0;
	}
	if (c->op == MMAP) {
		c->map = mmap(NULL, RS, PROT_READ | PROT_WRITE, MAP_SHARED,
			      c->fd, *(__u64 *)c->arg);
		return c->map == MAP_FAILED ? -1 : 0;
	}
	return ioctl(c->fd, cmd[c->op], c->arg);
}

/* Builds the call's argument for operation @op. */
static int prepare(struct call *c, int fd, int mfd, struct snap *s)
{
	union {
		struct vmmem_region_add a;
		struct vmmem_region_remove r;
		struct vmmem_region_list l;
		struct vmmem_io io;
		struct vmmem_io_batch b;
		struct vmmem_atomic at;
		struct vmmem_translate t;
		struct vmmem_copy cp;
		struct vmmem_fd_io f;
		struct vmmem_dirty_track dt;
		__u64 off;
	} u;
	struct vmmem_io *ops;

	memset(&u, 0, sizeof(u));
	c->fd = fd;
	c->mfd = mfd;
	c->buf = anon_map(3 * RS);	/* not faulted in */
	if (!c->buf)
		return -1;
	switch (c->op) {
	case ADD_U:
		u.a.user_addr = ptr2u(c->buf);
		/* fall through */
	case ADD_K:
		u.a.guest_addr = GX;
		u.a.size = RS;
		break;
	case REMOVE:
		if (vm_add(fd, GX, RS, 0, 0, NULL) || take(fd, s))
			return -1;
		u.r.flags = VMMEM_REMOVE_BY_ADDR;
		u.r.guest_addr = GX;
		u.r.size = RS;
		break;
	case LIST:
		u.l.regions = ptr2u(c->buf);
		u.l.count = 8;
		break;
	case MMAP:
		u.off = s->arr[0].mmap_offset;
		break;
	case READ:
	case WRITE:
		u.io.guest_addr = GK;
		u.io.user_addr = ptr2u(c->buf);
		u.io.len = 2 * RS;	/* across both regions */
		break;
	case BATCH:
		ops = (struct vmmem_io *)((char *)c->buf + 2 * RS);
		ops[0].guest_addr = GU;
		ops[0].user_addr = ptr2u(c->buf);
		ops[0].len = RS;
		ops[1].guest_addr = GK;
		ops[1].user_addr = ptr2u(c->buf) + RS;
		ops[1].len = RS;
		ops[1].flags = VMMEM_IO_WRITE;
		u.b.ops = ptr2u(ops);
		u.b.count = 2;
		break;
	case ATOMIC:
		u.at.guest_addr = GK;
		u.at.op = VMMEM_ATOMIC_FETCH_ADD;
		u.at.size = 8;
		u.at.value = 1;
		u.at.order = VMMEM_ORDER_SEQ_CST;
		break;
	case TRANSLATE:
		u.t.guest_addr = GK;
		u.t.len = 2 * RS;
		u.t.slices = ptr2u(c->buf);
		u.t.count = 4;
		break;
	case COPY:
		u.cp.src_gpa = GU;
		u.cp.dst_gpa = GK;
		u.cp.len = RS;
		break;
	case READ_FD:
	case WRITE_FD:
		u.f.guest_addr = c->op == READ_FD ? GK : GU;
		u.f.len = RS;
		u.f.offset = 0;
		u.f.fd = c->op == READ_FD ? mfd : memfd_create("out", 0);
		break;
	case DIRTY_START:	/* the kernel-backed region */
		u.dt.guest_addr = GK;
		u.dt.len = RS;
		u.dt.op = VMMEM_DIRTY_START;
		break;
	case OPEN:
		break;
	}
	/* the same offset in vmmem_io, vmmem_copy and vmmem_fd_io */
	if (c->op == READ || c->op == WRITE || c->op == COPY ||
	    c->op == READ_FD || c->op == WRITE_FD)
		u.io.done = NOT_WRITTEN;
	c->arg = cow_copy(&u, sizeof(u));
	return c->arg ? 0 : -1;
}

/* After a failed call: what may have changed, and did anything else? */
static int check_failed(struct call *c, struct snap *s, int err)
{
	struct snap now;
	__u64 done = 0;

	if (err != ENOMEM && err != EFAULT && err != EAGAIN)
		return 1;
	if (take(c->fd, &now))
		return 2;
	if (now.count != s->count || memcmp(now.arr, s->arr, sizeof(now.arr)))
		return 3;
	if (now.gen != s->gen)
		return 9;
	if (now.pins != s->pins || now.lk != s->lk)
		return 4;
	/* nothing was logged, and @regions says so (or was not written) */
	if (c->op == DIRTY_START &&
	    ((struct vmmem_dirty_track *)c->arg)->regions)
		return 15;
	/*
	 * Copies change a prefix of the destination, no more than @done says;
	 * if @done could not be written back, all of the destination may
	 * have changed.
	 */
	if (c->op == WRITE || c->op == READ_FD || c->op == COPY) {
		done = ((struct vmmem_io *)c->arg)->done;
		if (done == NOT_WRITTEN)
			done = c->op == WRITE ? 2 * RS : RS;
		if (done > RS * (c->op == WRITE ? 2 : 1))
			return 5;
		if (memcmp(now.data + done, s->data + done,
			   sizeof(now.data) - done))
			return 6;
		return 0;
	}
	if (c->op == BATCH) {	/* op 1, the write, ran iff op 0 did */
		return memcmp(now.data + RS, s->data + RS, RS) ? 7 : 0;
	}
	return memcmp(now.data, s->data, sizeof(now.data)) ? 8 : 0;
}

/* After a successful call: put things back as they were. */
static int undo(struct call *c, struct snap *s)
{
	if (c->op == ADD_K || c->op == ADD_U) {
		if (vm_find(c->fd, GX, NULL))
			return 10;	/* said it added, but did not */
		return vm_remove_addr(c->fd, GX, RS) ? 11 : 0;
	}
	if (c->op == REMOVE) {
		struct snap now;

		/* it said it removed: it must be gone from every lookup */
		if (!vm_find(c->fd, GX, NULL) || errno != ENXIO)
			return 12;
		if (take(c->fd, &now) || now.count != 2 || now.gen != s->gen + 1)
			return 13;
	}
	if (c->op == DIRTY_START) {
		struct vmmem_dirty_track *t = c->arg;

		if (t->regions != 1)
			return 16;
		t->op = VMMEM_DIRTY_STOP;
		if (ioctl(c->fd, VMMEM_DIRTY_TRACK, t) || t->regions != 1)
			return 17;
	}
	if (c->op == OPEN)
		close(c->newfd);
	if (c->op == MMAP)
		munmap(c->map, RS);
	/* data ops: restore the guest bytes */
	if (vm_write(c->fd, GK, s->data, RS, VMMEM_IO_EXACT, NULL) ||
	    vm_write(c->fd, GU, s->data + RS, RS, VMMEM_IO_EXACT, NULL))
		return 14;
	return 0;
}

TEST_F_TIMEOUT(fault, each_injected_failure_is_clean_and_changes_nothing, 600)
{
	unsigned int n, injected = 0, failed = 0;
	struct call c;
	struct snap s;
	int ret = 0, err = 0, bad;

	if (!fi_present())
		SKIP(return, "no failslab/fail_page_alloc in debugfs, or no fail-nth");
	for (n = 1; n <= MAXN; n++) {
		bool hit;

		memset(&c, 0, sizeof(c));
		c.op = variant->op;
		ASSERT_EQ(0, take(self->fd, &s));
		ASSERT_EQ(0, prepare(&c, self->fd, self->mfd, &s));
		hit = armed_call(self->nth, n, do_call, &c, &ret, &err);
		injected += hit;
		if (ret) {
			ASSERT_TRUE(hit) TH_LOG("failed without injection: %s",
						strerror(err));
			failed++;
			bad = check_failed(&c, &s, err);
			ASSERT_EQ(0, bad) TH_LOG("n=%u errno %s: check %d", n,
						 strerror(err), bad);
		} else {
			bad = undo(&c, &s);
			ASSERT_EQ(0, bad) TH_LOG("n=%u succeeded: check %d", n, bad);
		}
		if (c.op == READ_FD || c.op == WRITE_FD)
			if (((struct vmmem_fd_io *)c.arg)->fd != self->mfd)
				close(((struct vmmem_fd_io *)c.arg)->fd);
		munmap(c.buf, 3 * RS);
		munmap(c.arg, PG);
		if (!hit)
			break;
	}
	ASSERT_LE(n, MAXN) TH_LOG("still reaching allocations after %u", MAXN);
	ksft_print_msg("faults injected: %u (%u made the call fail), %u allocation points\n",
		       injected, failed, n - 1);
}

TEST_HARNESS_MAIN
