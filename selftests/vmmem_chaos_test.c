// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress against a model of what guest memory must hold.
 *
 * Slots at fixed GPAs get regions added and removed at random by four
 * manager threads. Each add is an incarnation: inc odd is user-backed
 * (fresh memory, filled with pattern(slot, inc) before the add), inc even
 * kernel-backed (zeroed, then filled with one VMMEM_WRITE). A region is
 *   pages 0-1  the pattern area: only the manager writes it
 *   page 2     scratch: words 0-255 get 8-byte tagged stores (VMMEM_WRITE,
 *              mmap), bytes 2048-4095 get fd I/O (bytes 0xF0-0xFF)
 *   page 3     atomics: thread t alone adds to word t
 * Meanwhile other threads read (READ, IO_BATCH), write, do atomics,
 * mmap and munmap, do fd I/O with a memfd and a pipe, and one thread keeps
 * replacing (dup2) a second open file that another thread is using.
 *
 * The model: a read of the pattern area fails with ENXIO, or returns bytes
 * of ONE incarnation that was live during the read (removed_before < inc
 * <= latest_after), where a byte of a kernel-backed incarnation may still
 * be 0; it stops short (ERANGE) only if a remove started meanwhile; scratch
 * words are 0 or tagged; an atomic counter never exceeds the adds made to
 * it. Threads count failures, never assert. At the end every
 * pin and every locked_vm page is given back.
 *
 *   VMMEM_STRESS_SECONDS   run time (default 3)
 */
#include <pthread.h>
#include <stdatomic.h>

#include "vmmem_test.h"

#define NSLOT		8
#define RPG		4
#define RSIZE		(RPG * PG)
#define PAT_LEN		(2 * PG)
#define SCRATCH		(2 * PG)
#define FDAREA		(SCRATCH + PG / 2)
#define ATOMS		(3 * PG)
#define SLOT_GPA(i)	(0x1000000ULL + (__u64)(i) * 0x100000ULL)
#define TAG		0xD5ULL
#define SIDE_FD		300
#define NMGR		4		/* manager i owns slots i, i + NMGR */
#define NTH		13

enum kind { K_ADD, K_REMOVE, K_READ, K_BATCH, K_WRITE, K_ATOMIC, K_MMAP,
	    K_FDIO, K_REOPEN, K_SIDE, NKIND };

static const char *const kind_names[NKIND] = {
	"add", "remove", "read", "batch", "write", "atomic", "mmap", "fd_io",
	"reopen", "side_io",
};

struct slot {
	_Atomic unsigned int latest;	/* newest incarnation, set before add */
	_Atomic unsigned int removing;	/* newest whose remove was called */
	_Atomic unsigned int removed;	/* newest whose remove returned */
	bool live;			/* manager-only from here */
	__u32 id;
	unsigned char *umem;
};

static struct chaos {
	int fd;
	double end;
	struct slot slot[NSLOT];
	_Atomic unsigned long ops[NKIND], fails, enxio, erange;
	_Atomic int stop;
} C;

static unsigned char pat(unsigned int s, unsigned int inc, unsigned int i)
{
	unsigned int x = s * 2654435761u ^ inc * 0x9E3779B9u ^ i * 0x85EBCA6Bu;

	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 12;
	return x | 1;			/* never 0: 0 means not written yet */
}

static __u64 xs(__u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

#define FAIL(fmt, ...) do {						\
	if (atomic_fetch_add(&C.fails, 1) < 10)				\
		ksft_print_msg("chaos FAIL: " fmt "\n", ##__VA_ARGS__);	\
} while (0)

static bool running(void)
{
	return !C.stop && now_sec() < C.end;
}

/* Bytes [off, off+n) of slot s's pattern area, read under window (lo, hi]. */
static bool model_ok(unsigned int s, unsigned int off, const unsigned char *b,
		     size_t n, unsigned int lo, unsigned int hi)
{
	unsigned int inc;
	size_t i;

	for (inc = lo + 1; inc <= hi && inc - lo <= 64; inc++) {
		bool zero_ok = !(inc & 1);	/* kernel-backed: filled late */

		for (i = 0; i < n; i++)
			if (b[i] != pat(s, inc, off + i) && !(zero_ok && !b[i]))
				break;
		if (i == n)
			return true;
	}
	return false;
}

static void bad_errno(const char *what, int e)
{
	FAIL("%s: unexpected errno %d (%s)", what, e, strerror(e));
}

/* --- managers: add and remove, one owner per slot ---------------------- */

static void manage(unsigned int s, __u64 *r)
{
	struct slot *sl = &C.slot[s];
	struct vmmem_region_add a;
	unsigned char *buf;
	unsigned int inc, i;
	int ret;

	if (sl->live) {
		atomic_store(&sl->removing, atomic_load(&sl->latest));
		ret = xs(r) & 1 ? vm_remove_id(C.fd, sl->id) :
				  vm_remove_addr(C.fd, SLOT_GPA(s), RSIZE);
		if (ret)
			bad_errno("remove", errno);
		sl->live = false;
		atomic_store(&sl->removed, atomic_load(&sl->latest));
		if (sl->umem)
			munmap(sl->umem, RSIZE);
		sl->umem = NULL;
		C.ops[K_REMOVE]++;
		return;
	}
	inc = atomic_load(&sl->latest) + 1;
	buf = anon_map(RSIZE);
	if (!buf) {
		FAIL("anon_map");
		return;
	}
	for (i = 0; i < PAT_LEN; i++)
		buf[i] = pat(s, inc, i);
	atomic_store(&sl->latest, inc);
	if (inc & 1) {
		sl->umem = buf;
		ret = vm_add(C.fd, SLOT_GPA(s), RSIZE, ptr2u(buf), 0, &a);
	} else {
		ret = vm_add(C.fd, SLOT_GPA(s), RSIZE, 0, 0, &a);
		if (!ret && vm_write(C.fd, SLOT_GPA(s), buf, PAT_LEN,
				     VMMEM_IO_EXACT, NULL))
			bad_errno("fill", errno);
		munmap(buf, RSIZE);
	}
	if (ret) {
		bad_errno("add", errno);
		atomic_store(&sl->removed, inc);
		return;
	}
	sl->live = true;
	sl->id = a.id;
	C.ops[K_ADD]++;
}

static void *manager(void *arg)
{
	unsigned int first = (uintptr_t)arg;
	__u64 r = 0x1234567 + first;

	/* slots are left live or not, at random: close cleans up */
	while (running()) {
		manage(first + NMGR * (xs(&r) % (NSLOT / NMGR)), &r);
		usleep(xs(&r) % 500);
	}
	return NULL;
}

/* --- readers, writers, atomics ----------------------------------------- */

static void *reader(void *arg)
{
	unsigned char buf[PAT_LEN];
	__u64 r = 99 + (uintptr_t)arg;
	struct vmmem_io ops[2];
	struct vmmem_io_batch b;

	while (running()) {
		unsigned int s = xs(&r) % NSLOT, off = xs(&r) % PAT_LEN;
		unsigned int len = 1 + xs(&r) % (PAT_LEN - off), lo, hi;
		bool batch = xs(&r) & 1;
		int ret;

		lo = atomic_load(&C.slot[s].removed);
		if (batch) {	/* two ops: the halves of the range */
			memset(ops, 0, sizeof(ops));
			memset(&b, 0, sizeof(b));
			ops[0].guest_addr = SLOT_GPA(s) + off;
			ops[0].user_addr = ptr2u(buf);
			ops[0].len = len / 2;
			ops[1] = ops[0];
			ops[1].guest_addr += len / 2;
			ops[1].user_addr += len / 2;
			ops[1].len = len - len / 2;
			ops[0].flags = ops[1].flags = VMMEM_IO_EXACT;
			b.ops = ptr2u(ops);
			b.count = 2;
			ret = ioctl(C.fd, VMMEM_IO_BATCH, &b);
			if (!ret) {	/* each op sees one incarnation */
				hi = atomic_load(&C.slot[s].latest);
				if (!model_ok(s, off, buf, len / 2, lo, hi) ||
				    !model_ok(s, off + len / 2, buf + len / 2,
					      len - len / 2, lo, hi))
					FAIL("batch slot %u off %u len %u (%u,%u]",
					     s, off, len, lo, hi);
			}
		} else {
			ret = vm_read(C.fd, SLOT_GPA(s) + off, buf, len,
				      VMMEM_IO_EXACT, NULL);
			hi = atomic_load(&C.slot[s].latest);
			if (!ret && !model_ok(s, off, buf, len, lo, hi))
				FAIL("read slot %u off %u len %u window (%u,%u]",
				     s, off, len, lo, hi);
		}
		if (ret && errno == ENXIO)
			C.enxio++;
		else if (ret && errno == ERANGE &&
			 atomic_load(&C.slot[s].removing) > lo)
			C.erange++;	/* the region went in the middle */
		else if (ret)
			bad_errno(batch ? "batch" : "read", errno);
		C.ops[batch ? K_BATCH : K_READ]++;
	}
	return NULL;
}

static bool tagged(__u64 v)
{
	return !v || v >> 56 == TAG;
}

static void *writer(void *arg)
{
	__u64 r = 7 + (uintptr_t)arg, v, got;

	while (running()) {
		unsigned int s = xs(&r) % NSLOT, w = xs(&r) % (PG / 2 / 8);
		__u64 gpa = SLOT_GPA(s) + SCRATCH + w * 8;

		v = TAG << 56 | (xs(&r) >> 8);
		if (vm_write(C.fd, gpa, &v, 8, VMMEM_IO_EXACT, NULL)) {
			if (errno != ENXIO)
				bad_errno("write", errno);
		} else if (!vm_read(C.fd, gpa, &got, 8, 0, NULL) &&
			   !tagged(got)) {
			FAIL("scratch word %#llx", (unsigned long long)got);
		}
		C.ops[K_WRITE]++;
	}
	return NULL;
}

static void *atomics(void *arg)
{
	unsigned int t = (uintptr_t)arg;
	unsigned long adds = 0;
	__u64 r = 55 + t;
	struct vmmem_atomic a;

	while (running()) {
		unsigned int s = xs(&r) % NSLOT, op = 1 + xs(&r) % 3;

		memset(&a, 0, sizeof(a));
		a.guest_addr = SLOT_GPA(s) + ATOMS + t * 8;
		a.size = 8;
		a.order = VMMEM_ORDER_SEQ_CST;
		/* LOAD, CMPXCHG(guess -> guess + 1) or FETCH_ADD 1 */
		a.op = op == 1 ? VMMEM_ATOMIC_LOAD : op == 2 ?
		       VMMEM_ATOMIC_CMPXCHG : VMMEM_ATOMIC_FETCH_ADD;
		if (op == 2) {
			a.expected = xs(&r) % 4;
			a.value = a.expected + 1;
		} else if (op == 3) {
			a.value = 1;
		}
		if (ioctl(C.fd, VMMEM_ATOMIC, &a)) {
			if (errno != ENXIO)
				bad_errno("atomic", errno);
		} else {
			if (a.result > adds)
				FAIL("counter %llu > %lu adds",
				     (unsigned long long)a.result, adds);
			adds += op == 3 || (op == 2 && a.result == a.expected);
		}
		C.ops[K_ATOMIC]++;
	}
	return NULL;
}

/* --- mmap and fd I/O --------------------------------------------------- */

static void *mapper(void *arg)
{
	__u64 r = 31;
	struct vmmem_region_info info;

	while (running()) {
		unsigned int s = xs(&r) % NSLOT, lo, hi;
		unsigned char *m;

		lo = atomic_load(&C.slot[s].removed);
		C.ops[K_MMAP]++;
		if (vm_find(C.fd, SLOT_GPA(s), &info)) {
			if (errno != ENXIO)
				bad_errno("find", errno);
			continue;
		}
		if (info.backing != VMMEM_BACKING_KERNEL)
			continue;
		m = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 C.fd, info.mmap_offset);
		if (m == MAP_FAILED) {	/* removed since: its offset is gone */
			if (errno != EINVAL)
				bad_errno("mmap", errno);
			continue;
		}
		*(volatile __u64 *)(m + SCRATCH + 8 * (xs(&r) % 256)) =
			TAG << 56 | 0x3a3a;
		hi = atomic_load(&C.slot[s].latest);
		if (!model_ok(s, 0, m, PAT_LEN, lo, hi))
			FAIL("mmap slot %u window (%u,%u]", s, lo, hi);
		munmap(m, RSIZE);
	}
	return NULL;
}

static void *fdio(void *arg)
{
	unsigned char buf[PAT_LEN];
	int mfd = memfd_create("chaos", 0), p[2];
	struct vmmem_fd_io io;
	__u64 r = 77;

	if (mfd < 0 || pipe2(p, O_NONBLOCK) || ftruncate(mfd, PAT_LEN)) {
		FAIL("fdio setup");
		return NULL;
	}
	memset(buf, 0xF5, sizeof(buf));
	if (pwrite(mfd, buf, PG / 2, PAT_LEN) != PG / 2)
		FAIL("memfd");
	while (running()) {
		unsigned int s = xs(&r) % NSLOT, off = xs(&r) % PAT_LEN;
		unsigned int kind = xs(&r) % 3, lo, hi;
		int ret;

		memset(&io, 0, sizeof(io));
		io.guest_addr = SLOT_GPA(s) + off;
		io.len = 1 + xs(&r) % (PAT_LEN - off);
		io.fd = kind == 1 ? p[1] : mfd;
		if (kind == 1 && io.len > PG)
			io.len = PG;
		io.offset = kind == 1 ? -1 : 0;
		if (kind == 2) {	/* file -> scratch fd area */
			io.guest_addr = SLOT_GPA(s) + FDAREA + off % (PG / 2);
			io.len = 1 + xs(&r) % (SCRATCH + PG - (FDAREA +
							      off % (PG / 2)));
			io.offset = PAT_LEN;
		}
		lo = atomic_load(&C.slot[s].removed);
		ret = ioctl(C.fd, kind == 2 ? VMMEM_READ_FROM_FD :
				  VMMEM_WRITE_TO_FD, &io);
		hi = atomic_load(&C.slot[s].latest);
		C.ops[K_FDIO]++;
		if (ret) {
			if (errno != ENXIO)
				bad_errno("fd io", errno);
			continue;
		}
		if (kind == 2)
			continue;
		if (kind == 1 ? read(p[0], buf, io.done) != (ssize_t)io.done :
				pread(mfd, buf, io.done, 0) != (ssize_t)io.done)
			FAIL("fd read back");
		else if (!model_ok(s, off, buf, io.done, lo, hi))
			FAIL("fd io slot %u off %u len %llu (%u,%u]", s, off,
			     (unsigned long long)io.done, lo, hi);
	}
	close(mfd);
	close(p[0]);
	close(p[1]);
	return NULL;
}

/* --- a second open file, replaced under its user ----------------------- */

/*
 * A new file with a kernel-backed and a user-backed region, both filled
 * with g after the add, put at SIDE_FD: dup2() closes the old file while
 * side_user() may be in an ioctl on it.
 */
static int new_side(unsigned int g)
{
	unsigned char fill[2 * RSIZE], *u = anon_map(RSIZE);
	int fd = vm_open(), ret = -1;

	memset(fill, g, sizeof(fill));
	if (fd >= 0 && u && !vm_add(fd, 0, RSIZE, 0, 0, NULL) &&
	    !vm_add(fd, RSIZE, RSIZE, ptr2u(u), 0, NULL) &&
	    !vm_write(fd, 0, fill, 2 * RSIZE, VMMEM_IO_EXACT, NULL) &&
	    dup2(fd, SIDE_FD) == SIDE_FD)
		ret = 0;
	if (fd >= 0)
		close(fd);
	if (u)
		munmap(u, RSIZE);	/* the pins keep the pages */
	return ret;
}

static void *reopener(void *arg)
{
	unsigned int g = 1;

	while (running()) {
		g = g % 250 + 1;
		if (new_side(g))
			bad_errno("reopen", errno);
		C.ops[K_REOPEN]++;
		usleep(1000);
	}
	return NULL;
}

static void *side_user(void *arg)
{
	unsigned char buf[2 * RSIZE];
	__u64 r = 3;
	size_t i;

	while (running()) {
		unsigned int off = xs(&r) % RSIZE;
		unsigned int len = 1 + xs(&r) % RSIZE;

		/* the regions are filled after the add: bytes are 0 or g */
		if (vm_read(SIDE_FD, off, buf, len, VMMEM_IO_EXACT, NULL)) {
			bad_errno("side read", errno);
		} else {
			for (i = 1; i < len; i++)
				if (buf[i] && buf[0] && buf[i] != buf[0])
					break;
			if (i < len)
				FAIL("side file mixes %u and %u", buf[0], buf[i]);
		}
		C.ops[K_SIDE]++;
	}
	return NULL;
}

FIXTURE(chaos) {
	long pins0, lk0;
};

FIXTURE_SETUP(chaos)
{
	memset(&C, 0, sizeof(C));
	self->pins0 = pins_outstanding();
	self->lk0 = locked_kb();
	ASSERT_NE(LONG_MIN, self->pins0);
}

FIXTURE_TEARDOWN(chaos)
{
}

TEST_F_TIMEOUT(chaos, model_holds_under_concurrent_everything, 120)
{
	const char *env = getenv("VMMEM_STRESS_SECONDS");
	double secs = env ? atof(env) : 3, t0;
	void *(*fns[NTH])(void *) = { manager, manager, manager, manager,
		reader, reader, writer, atomics, atomics, mapper, fdio,
		reopener, side_user };
	uintptr_t args[NTH] = { 0, 1, 2, 3, 0, 1, 0, 0, 1 };
	pthread_t th[NTH];
	unsigned int i, k;
	unsigned long total = 0, ops[NKIND], fails;

	C.fd = vm_open();
	ASSERT_GE(C.fd, 0);
	ASSERT_EQ(0, new_side(1));
	t0 = now_sec();
	C.end = t0 + secs;
	for (i = 0; i < NTH; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fns[i],
					    (void *)args[i]));
	for (i = 0; i < NTH; i++)
		pthread_join(th[i], NULL);
	ksft_print_msg("chaos: %.1f s, %d threads, %u slots\n",
		       now_sec() - t0, NTH, NSLOT);
	for (k = 0; k < NKIND; k++) {
		ops[k] = C.ops[k];
		ksft_print_msg("chaos: %-8s %lu ops\n", kind_names[k], ops[k]);
		total += ops[k];
	}
	fails = C.fails;
	ksft_print_msg("chaos: total %lu ops, %lu ENXIO reads, %lu cut short by a remove, %lu failures\n",
		       total, (unsigned long)C.enxio, (unsigned long)C.erange,
		       fails);
	EXPECT_EQ(0, fails);
	for (k = 0; k < NKIND; k++)
		EXPECT_LT(0, ops[k]) TH_LOG("no op of kind %u ran", k);

	close(SIDE_FD);
	close(C.fd);
	for (i = 0; i < NSLOT; i++)
		if (C.slot[i].umem)
			munmap(C.slot[i].umem, RSIZE);
	EXPECT_EQ(self->pins0, pins_settle(self->pins0));
	EXPECT_EQ(self->lk0, locked_kb());
}

/*
 * An add whose argument is read-only succeeds in the table, then cannot
 * write the id back and undoes itself (-EFAULT). Until it has, the region
 * is visible and another thread may remove it (guessing the GPA): the undo
 * must then not remove or free it a second time. Afterwards the table must
 * hold exactly the canary region.
 */
static _Atomic int race_stop;
static _Atomic unsigned long race_removed;

static void *race_remover(void *arg)
{
	int fd = (uintptr_t)arg;

	while (!race_stop)
		if (!vm_remove_addr(fd, SLOT_GPA(0), PG))
			race_removed++;
	return NULL;
}

/* A fixture of its own, registered after chaos: it runs last. */
FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F(race, add_that_cannot_return_its_id_races_safely_with_remove)
{
	struct vmmem_region_info arr[4];
	struct vmmem_region_add *ro = anon_map(PG);
	unsigned long efault = 0, other = 0, i;
	int fd = vm_open();
	double end = now_sec() + 1;
	pthread_t t;
	__u32 count;

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, ro);
	ro->guest_addr = SLOT_GPA(0);
	ro->size = PG;
	ASSERT_EQ(0, mprotect(ro, PG, PROT_READ));
	ASSERT_EQ(0, vm_add(fd, SLOT_GPA(1), PG, 0, 0, NULL));	/* canary */
	ASSERT_EQ(0, pthread_create(&t, NULL, race_remover, (void *)(uintptr_t)fd));
	for (i = 0; i < 100000 && now_sec() < end; i++) {
		if (ioctl(fd, VMMEM_ADD_REGION, ro) == -1 && errno == EFAULT)
			efault++;
		else
			other++;
	}
	race_stop = 1;
	pthread_join(t, NULL);
	ksft_print_msg("chaos: %lu failed adds, %lu raced removes\n", efault,
		       (unsigned long)race_removed);
	EXPECT_EQ(0, other);
	ASSERT_EQ(0, vm_list(fd, arr, 4, &count, NULL)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1, count);
	ASSERT_EQ(SLOT_GPA(1), arr[0].guest_addr);
	close(fd);
}

TEST_HARNESS_MAIN
