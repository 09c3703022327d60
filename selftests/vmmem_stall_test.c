// SPDX-License-Identifier: GPL-2.0
/*
 * Calls whose user memory or file does not resolve must hold up no one
 * else. Each variant starts one call whose user buffer (or argument, or
 * file) waits: a userfaultfd page, a write-protected userfaultfd page, a
 * page of a FUSE file whose server does not answer, a full pipe. While it
 * waits, another process sharing the open file removes the very region the
 * call is using, adds, lists and removes another: all of that must finish
 * within STALL_BOUND_MS, never waiting for the stalled call (a remove that
 * waited for it would sleep in D state, deaf to SIGKILL; an add or list
 * that waited for the table lock likewise). Once released, the stalled
 * call finishes as the ABI says: a copy that had not yet reached guest
 * memory finds the region gone (ENXIO), never its old pages. A second test
 * kills a stalled process: it must be gone within STALL_KILL_MS.
 *
 * The batch test pins down the lookup hint: ops of one batch that start
 * after a remove and a re-add at the same GPA returned reach the new
 * region, not the old one (whose writes would be lost).
 */
#include <signal.h>

#include "vmmem_stall.h"

#define GPA_A		0x100000ULL	/* the region the stalled call uses */
#define GPA_B		0x200000ULL	/* added and removed meanwhile */
#define GPA_C		0x300000ULL	/* added by the stalled ADD */
#define RSIZE		(4 * PG)
#define STALL_LEN	(4 * PG)
#define STALL_BOUND_MS	3000
#define STALL_KILL_MS	1000

enum call {
	WRITE_SRC,	/* VMMEM_WRITE from the stalled buffer */
	READ_DST,	/* VMMEM_READ into it */
	BATCH_OPS,	/* the batch's ops array is stalled */
	BATCH_BUF,	/* an op's buffer is */
	TRANSLATE_OUT,	/* the slice array */
	LIST_OUT,	/* the region array */
	ADD_ANSWER,	/* the add's argument, which gets id and offset back */
	ATOMIC_RESULT,	/* the atomic's argument (its result) */
	FIND_ANSWER,	/* the find's argument (the answer) */
	FD_READ_FUSE,	/* READ_FROM_FD from a FUSE file */
	FD_WRITE_PIPE,	/* WRITE_TO_FD into a full pipe */
};

FIXTURE(stall) {
	int fd;
	__u32 id_a;
	struct stall st;
	int pipe_r, pipe_w;
	unsigned char page[PG];		/* what the stalled memory holds */
};

FIXTURE_VARIANT(stall) {
	enum call call;
	enum stall_kind kind;
	int expect;		/* errno of the call once released; 0: success */
};

#define V(name, c, k, e)						\
	FIXTURE_VARIANT_ADD(stall, name) { .call = c, .kind = k, .expect = e }

V(write_src_uffd, WRITE_SRC, STALL_UFFD, ENXIO);
V(write_src_fuse, WRITE_SRC, STALL_FUSE, ENXIO);
V(read_dst_uffd, READ_DST, STALL_UFFD, ENXIO);
V(read_dst_uffd_wp, READ_DST, STALL_UFFD_WP, ENXIO);
V(read_dst_fuse, READ_DST, STALL_FUSE, ENXIO);
V(batch_ops_uffd, BATCH_OPS, STALL_UFFD, ENXIO);
V(batch_ops_fuse, BATCH_OPS, STALL_FUSE, ENXIO);
V(batch_buf_uffd, BATCH_BUF, STALL_UFFD, ENXIO);
V(translate_out_uffd, TRANSLATE_OUT, STALL_UFFD, 0);
V(translate_out_uffd_wp, TRANSLATE_OUT, STALL_UFFD_WP, 0);
V(list_out_uffd, LIST_OUT, STALL_UFFD, 0);
V(list_out_fuse, LIST_OUT, STALL_FUSE, 0);
V(add_answer_uffd_wp, ADD_ANSWER, STALL_UFFD_WP, 0);
V(atomic_result_uffd_wp, ATOMIC_RESULT, STALL_UFFD_WP, ENXIO);
V(find_answer_uffd_wp, FIND_ANSWER, STALL_UFFD_WP, 0);
V(fd_read_fuse_file, FD_READ_FUSE, STALL_FUSE, 0);
V(fd_write_full_pipe, FD_WRITE_PIPE, STALL_UFFD, 0);

/* Argument structs that live in the stalled page, and their answers. */
static void stall_content(struct _test_data_stall *self,
			  const struct _fixture_variant_stall *variant)
{
	struct vmmem_io *op = (void *)self->page;
	struct vmmem_region_add *a = (void *)self->page;
	struct vmmem_atomic *at = (void *)self->page;
	struct vmmem_region_find *f = (void *)self->page;

	memset(self->page, 0x5a, PG);
	switch (variant->call) {
	case BATCH_OPS:
		memset(op, 0, sizeof(*op));
		op->guest_addr = GPA_A;
		op->user_addr = ptr2u(self->page + PG / 2);
		op->len = 64;
		op->flags = VMMEM_IO_WRITE;
		break;
	case ADD_ANSWER:
		memset(a, 0, sizeof(*a));
		a->guest_addr = GPA_C;
		a->size = PG;
		break;
	case ATOMIC_RESULT:
		memset(at, 0, sizeof(*at));
		at->guest_addr = GPA_A;
		at->op = VMMEM_ATOMIC_LOAD;
		at->size = 8;
		break;
	case FIND_ANSWER:
		memset(f, 0, sizeof(*f));
		f->guest_addr = GPA_A;
		break;
	default:
		break;
	}
}

struct call_arg {
	struct _test_data_stall *self;
	const struct _fixture_variant_stall *variant;
	int ret, err;
	_Atomic bool done;
};

static void *do_call(void *p)
{
	struct call_arg *c = p;
	struct _test_data_stall *self = c->self;
	unsigned char *buf = self->st.buf;
	struct vmmem_region_info *info = (void *)buf;
	struct vmmem_region_list l = { .regions = ptr2u(info), .count = 8 };
	struct vmmem_translate t = {
		.guest_addr = GPA_A, .len = 64, .slices = ptr2u(buf), .count = 1,
	};
	struct vmmem_io ops[1] = { {
		.guest_addr = GPA_A, .user_addr = ptr2u(buf), .len = 64,
		.flags = VMMEM_IO_WRITE,
	} };
	struct vmmem_io_batch b = { .ops = ptr2u(ops), .count = 1 };
	struct vmmem_fd_io fio = { .guest_addr = GPA_A, .len = 64 };
	int ret = -1;

	switch (c->variant->call) {
	case WRITE_SRC:
		ret = vm_write(self->fd, GPA_A, buf, 64, 0, NULL);
		break;
	case READ_DST:
		ret = vm_read(self->fd, GPA_A, buf, 64, 0, NULL);
		break;
	case BATCH_OPS:
		b.ops = ptr2u(buf);
		/* fall through */
	case BATCH_BUF:
		ret = ioctl(self->fd, VMMEM_IO_BATCH, &b);
		break;
	case TRANSLATE_OUT:
		ret = ioctl(self->fd, VMMEM_TRANSLATE, &t);
		break;
	case LIST_OUT:
		ret = ioctl(self->fd, VMMEM_LIST_REGIONS, &l);
		break;
	case ADD_ANSWER:
		ret = ioctl(self->fd, VMMEM_ADD_REGION, buf);
		break;
	case ATOMIC_RESULT:
		ret = ioctl(self->fd, VMMEM_ATOMIC, buf);
		break;
	case FIND_ANSWER:
		ret = ioctl(self->fd, VMMEM_FIND_REGION, buf);
		break;
	case FD_READ_FUSE:
		fio.fd = self->st.file_fd;
		fio.offset = 0;
		ret = ioctl(self->fd, VMMEM_READ_FROM_FD, &fio);
		break;
	case FD_WRITE_PIPE:
		fio.fd = self->pipe_w;
		fio.offset = -1;
		ret = ioctl(self->fd, VMMEM_WRITE_TO_FD, &fio);
		break;
	}
	c->err = errno;
	c->ret = ret;
	c->done = true;
	return NULL;
}

FIXTURE_SETUP(stall)
{
	struct vmmem_region_add a;
	int p[2];

	self->pipe_r = self->pipe_w = -1;
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vm_add(self->fd, GPA_A, RSIZE, 0, 0, &a));
	self->id_a = a.id;
	stall_content(self, variant);
	self->st.content = self->page;
	ASSERT_EQ(0, stall_init(&self->st, variant->kind, STALL_LEN, 0x5a))
		TH_LOG("stall_init: %s", strerror(errno));
	if (variant->call == FD_WRITE_PIPE) {
		/* A pipe with no room: the write blocks until it is read. */
		ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
		while (write(p[1], self->page, PG) > 0)
			;
		ASSERT_EQ(0, fcntl(p[1], F_SETFL, 0));
		self->pipe_r = p[0];
		self->pipe_w = p[1];
	}
}

FIXTURE_TEARDOWN(stall)
{
	stall_fini(&self->st);
	if (self->pipe_r >= 0) {
		close(self->pipe_r);
		close(self->pipe_w);
	}
	close(self->fd);
}

/* Waits for the stalled call to be waiting, up to @ms. */
static int wait_stalled(struct _test_data_stall *self,
			const struct _fixture_variant_stall *variant,
			struct call_arg *c, int ms)
{
	if (variant->call == FD_WRITE_PIPE) {	/* nothing to poll: look */
		usleep(300 * 1000);
		return c->done ? -1 : 0;
	}
	return stall_wait(&self->st, ms);
}

static void release(struct _test_data_stall *self,
		    const struct _fixture_variant_stall *variant)
{
	unsigned char buf[PG];

	if (variant->call == FD_WRITE_PIPE) {
		fcntl(self->pipe_r, F_SETFL, O_NONBLOCK);
		while (read(self->pipe_r, buf, sizeof(buf)) > 0)
			;
	} else {
		stall_release(&self->st);
	}
}

/* Child: what others do meanwhile. Exit status 0 if all of it worked. */
static int others(int fd, __u32 id_a)
{
	struct vmmem_region_info info[8];
	struct vmmem_region_add b;
	__u32 n;

	if (vm_remove_id(fd, id_a))
		return 1;
	if (vm_add(fd, GPA_B, RSIZE, 0, 0, &b))
		return 2;
	if (vm_list(fd, info, 8, &n, NULL))
		return 3;
	if (vm_remove_id(fd, b.id))
		return 4;
	return 0;
}

/* waitpid() for up to @ms; -1 if the child is still running. */
static int wait_child(pid_t pid, int ms, int *status)
{
	int i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(10 * 1000);
	}
	return -1;
}

TEST_F_TIMEOUT(stall, others_never_wait_for_a_stalled_call, 60)
{
	struct call_arg c = { .self = self, .variant = variant };
	int status = -1, late;
	double t0, dt;
	pthread_t th;
	pid_t pid;

	ASSERT_EQ(0, pthread_create(&th, NULL, do_call, &c));
	ASSERT_EQ(0, wait_stalled(self, variant, &c, STALL_BOUND_MS))
		TH_LOG("the call did not stall (done=%d ret=%d errno=%d)",
		       c.done, c.ret, c.err);

	/* Another process, the same open file. */
	t0 = now_sec();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(others(self->fd, self->id_a));
	late = wait_child(pid, STALL_BOUND_MS, &status);
	dt = now_sec() - t0;
	EXPECT_FALSE(c.done) TH_LOG("the call did not wait");

	/* Let everything finish before judging, so nothing is left stuck. */
	release(self, variant);
	if (late)
		waitpid(pid, &status, 0);
	pthread_join(th, NULL);

	EXPECT_EQ(0, late)
		TH_LOG("remove/add/list waited %.1f s for the stalled call",
		       now_sec() - t0);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ksft_print_msg("others finished in %.0f ms\n", dt * 1e3);

	/* The stalled call, released, finishes as documented. */
	if (variant->expect) {
		EXPECT_EQ(-1, c.ret);
		EXPECT_EQ(variant->expect, c.err);
	} else {
		EXPECT_EQ(0, c.ret) TH_LOG("errno %d", c.err);
	}
	if (variant->call == ADD_ANSWER)
		EXPECT_EQ(0, vm_find(self->fd, GPA_C, NULL));
}

/* The call in a child; the child is gone soon after SIGKILL. */
TEST_F_TIMEOUT(stall, a_stalled_call_dies_at_sigkill, 60)
{
	int ready[2], status;
	double t0, dt;
	char x;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct call_arg c = { .self = self, .variant = variant };
		pthread_t th;

		/* userfaultfd registrations are not inherited: make ours */
		if (variant->kind != STALL_FUSE && variant->call != FD_WRITE_PIPE) {
			self->st.buf = NULL;
			self->st.uffd = -1;
			if (stall_init(&self->st, variant->kind, STALL_LEN, 0x5a))
				_exit(2);
		}
		pthread_create(&th, NULL, do_call, &c);
		if (variant->kind != STALL_FUSE &&
		    wait_stalled(self, variant, &c, STALL_BOUND_MS))
			_exit(3);
		if (variant->kind != STALL_FUSE)
			write(ready[1], "r", 1);
		pause();
		_exit(4);
	}
	/* FUSE: our own server sees the child's read. */
	if (variant->kind == STALL_FUSE) {
		ASSERT_EQ(0, stall_wait(&self->st, STALL_BOUND_MS));
	} else {
		ASSERT_EQ(1, read(ready[0], &x, 1));
	}
	usleep(100 * 1000);
	t0 = now_sec();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	if (wait_child(pid, 10 * STALL_KILL_MS, &status)) {
		release(self, variant);
		waitpid(pid, &status, 0);
	}
	dt = now_sec() - t0;
	ksft_print_msg("gone %.0f ms after SIGKILL\n", dt * 1e3);
	EXPECT_LT(dt * 1e3, STALL_KILL_MS);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	release(self, variant);
	close(ready[0]);
	close(ready[1]);
}

/* --- pinning memory that userfaultfd provides ---------------------------- */

struct add_arg {
	int fd, ret, err;
	__u64 uaddr;
};

static void *do_add(void *p)
{
	struct add_arg *a = p;

	a->ret = vm_add(a->fd, GPA_C, STALL_LEN, a->uaddr, 0, NULL);
	a->err = errno;
	return NULL;
}

/*
 * A user region over memory that a userfaultfd has yet to provide: the
 * add waits for the pages (killably, holding no lock), as a fault would,
 * instead of failing because a pin under the mmap lock cannot wait.
 */
TEST(add_of_a_userfaultfd_range_waits_for_its_pages)
{
	struct add_arg a = { .fd = vm_open() };
	unsigned char b = 0;
	struct stall st;
	pthread_t th;

	ASSERT_GE(a.fd, 0);
	ASSERT_EQ(0, stall_init(&st, STALL_UFFD, STALL_LEN, 0x3c));
	a.uaddr = ptr2u(st.buf);
	ASSERT_EQ(0, pthread_create(&th, NULL, do_add, &a));
	ASSERT_EQ(0, stall_wait(&st, STALL_BOUND_MS))
		TH_LOG("the add did not wait: ret %d errno %d", a.ret, a.err);
	/* and meanwhile the table is free for others */
	ASSERT_EQ(0, vm_add(a.fd, GPA_A, PG, 0, 0, NULL));
	stall_release(&st);
	pthread_join(th, NULL);
	ASSERT_EQ(0, a.ret) TH_LOG("errno %d", a.err);
	ASSERT_EQ(0, vm_read(a.fd, GPA_C + STALL_LEN - 1, &b, 1, 0, NULL));
	EXPECT_EQ(0x3c, b);
	close(a.fd);
	stall_fini(&st);
}

/* --- the batch's lookup hint -------------------------------------------- */

FIXTURE(hint) {
	int fd;
	struct stall st;
};

FIXTURE_VARIANT(hint) {
	enum stall_kind kind;
};

FIXTURE_VARIANT_ADD(hint, uffd) { .kind = STALL_UFFD };
FIXTURE_VARIANT_ADD(hint, fuse) { .kind = STALL_FUSE };

FIXTURE_SETUP(hint)
{
	self->fd = vm_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, stall_init(&self->st, variant->kind, STALL_LEN, 0x77));
}

FIXTURE_TEARDOWN(hint)
{
	stall_fini(&self->st);
	close(self->fd);
}

struct batch_arg {
	int fd;
	struct vmmem_io ops[4];
	int ret, err;
	__u32 done_ops;
};

static void *do_batch(void *p)
{
	struct batch_arg *b = p;
	struct vmmem_io_batch batch = { .ops = ptr2u(b->ops), .count = 4 };

	b->ret = ioctl(b->fd, VMMEM_IO_BATCH, &batch);
	b->err = errno;
	b->done_ops = batch.done_ops;
	return NULL;
}

struct remove_arg {
	int fd;
	__u32 id;
	int ret;
};

static void *do_remove(void *p)
{
	struct remove_arg *r = p;

	r->ret = vm_remove_id(r->fd, r->id);
	return NULL;
}

TEST_F_TIMEOUT(hint, ops_after_a_remove_and_readd_reach_the_new_region, 60)
{
	static const unsigned char one = 1, two = 2;
	struct batch_arg b = { .fd = self->fd };
	struct remove_arg rm = { .fd = self->fd };
	struct vmmem_region_add a;
	unsigned char got = 0, back = 0;
	pthread_t tb, tr;
	int i;

	/* X: the region to replace; Y: where the batch waits. */
	ASSERT_EQ(0, vm_add(self->fd, GPA_A, RSIZE, 0, 0, &a));
	rm.id = a.id;
	ASSERT_EQ(0, vm_add(self->fd, GPA_B, RSIZE, 0, 0, NULL));
	b.ops[0] = (struct vmmem_io){ .guest_addr = GPA_A, .len = 1,
		.user_addr = ptr2u(&one), .flags = VMMEM_IO_WRITE };
	b.ops[1] = (struct vmmem_io){ .guest_addr = GPA_B, .len = 1,
		.user_addr = ptr2u(self->st.buf), .flags = VMMEM_IO_WRITE };
	b.ops[2] = (struct vmmem_io){ .guest_addr = GPA_A, .len = 1,
		.user_addr = ptr2u(&two), .flags = VMMEM_IO_WRITE };
	b.ops[3] = (struct vmmem_io){ .guest_addr = GPA_A, .len = 1,
		.user_addr = ptr2u(&back) };
	ASSERT_EQ(0, pthread_create(&tb, NULL, do_batch, &b));
	/* op 0 went to the old region; op 1 waits for its buffer */
	ASSERT_EQ(0, stall_wait(&self->st, STALL_BOUND_MS));

	/* Replace X. The remove may wait for the batch (it must not). */
	ASSERT_EQ(0, pthread_create(&tr, NULL, do_remove, &rm));
	for (i = 0; i < 300 && vm_find(self->fd, GPA_A, NULL) == 0; i++)
		usleep(10 * 1000);
	ASSERT_EQ(-1, vm_find(self->fd, GPA_A, NULL));
	ASSERT_EQ(0, vm_add(self->fd, GPA_A, RSIZE, 0, 0, NULL));

	/* Ops 2 and 3 start now, after the add returned. */
	stall_release(&self->st);
	pthread_join(tb, NULL);
	pthread_join(tr, NULL);
	EXPECT_EQ(0, rm.ret);
	ASSERT_EQ(0, b.ret) TH_LOG("batch: errno %d at op %u", b.err, b.done_ops);
	EXPECT_EQ(4, b.done_ops);
	ASSERT_EQ(0, vm_read(self->fd, GPA_A, &got, 1, VMMEM_IO_EXACT, NULL));
	EXPECT_EQ(2, got) TH_LOG("op 2's write went to the removed region");
	EXPECT_EQ(2, back) TH_LOG("op 3 read the removed region");
}

TEST_HARNESS_MAIN
