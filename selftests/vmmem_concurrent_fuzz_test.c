// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrent random fuzzer: the single-threaded fuzzer's calls
 * (vmmem_fuzz.h) from several threads and a process at once, all on one
 * open file at one descriptor number, mixed with what only concurrency
 * can race:
 *
 *   - mmap() of a region LIST or FIND_REGION names (sometimes MAP_PRIVATE,
 *     PROT_EXEC, PROT_WRITE on a read-only region, or a page too long,
 *     which maps if the next offset is in the offset space),
 *     munmap() of the whole mapping, its head or its tail, mprotect(),
 *     mremap() (grow: must fail, shrink, move to a fresh reservation,
 *     MREMAP_DONTUNMAP: must fail), reads and writes through the mapping,
 *     READ and WRITE with a user buffer in it, and an add of a user
 *     region over it (EOPNOTSUPP). A worker touches only mappings it made
 *     and still holds, with the protection it gave them: a region's pages
 *     stay valid in a mapping after the region is removed or the file is
 *     closed.
 *   - fork(): the child touches the mappings it inherited, makes a few
 *     calls on the file it inherited and exits, maybe releasing that file.
 *   - reopen: a new file, given the regions the fuzzers start from, is
 *     dup2()ed onto the shared descriptor, so that the old file is
 *     released by whichever in-flight ioctl, mapping or child lets go of
 *     it last. The number never names anything else.
 *
 * The workers are the threads and one process forked with
 * clone(CLONE_FILES): it shares the descriptor table, so a reopen swaps
 * the file under it as under the threads. Each worker has its own user
 * memory, in a reservation large enough that a user range running past
 * its arena meets only its own PROT_NONE pages (a hole, as the
 * single-threaded fuzzer has, could be filled by another thread's mmap).
 *
 * Invariants: every call returns 0 or -1 with errno in the documented set
 * of the single-threaded fuzzer; a successful copy reports done <= len;
 * mmap(), mprotect() and mremap() fail exactly as the uapi and the mm say
 * (MAP_PRIVATE: EINVAL, PROT_EXEC: EPERM, a writable mapping of a
 * read-only region alone: EACCES, growing: EFAULT); no worker hangs (a worker
 * still running GRACE s after the end fails the test); no child dies; and
 * once everything is closed, unmapped and reaped, pinned pages, locked_vm,
 * free memory and Slab are back where they started (the last two with
 * the single-threaded fuzzer's slack).
 *
 * Worker 0 is the process, workers 1 to VMMEM_CFUZZ_THREADS the threads.
 * Worker i draws from its own PRNG, seeded from the seed and i, and makes
 * the same draws whatever the kernel answers: a seed reproduces each
 * worker's sequence of operations, though not the values it reads back
 * (region ids, mmap offsets) and not the interleaving, which is the
 * scheduler's.
 *
 *   VMMEM_CFUZZ_SEED      seed (default 0xc5eed)
 *   VMMEM_CFUZZ_SECONDS   run time (default 5, at most 200)
 *   VMMEM_CFUZZ_THREADS   threads besides the process (default 4, 1-16)
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "vmmem_fuzz.h"

#define SHARED_FD	500		/* the descriptor all workers use */
#define MAXTHREADS	16
#define NMAP		8		/* mappings a worker holds at once */
#define MAXPG		8		/* pages of one mapping, at most */
#define CHILD_OPS	8		/* operations of a fork()ed child */
#define GRACE		60		/* s a worker may overrun the end */
#define NLOG		10		/* bad calls logged per worker */
#define MAXSECS		200		/* the harness timeout is 300 s */
/* kB: the single-threaded fuzzer's slack (per-CPU lists, page tables) */
#define SLACK_FREE	16384
#define SLACK_SLAB	8192

/*
 * A worker's memory: arena | edge | hole | none | ro | guard | args, then
 * PROT_NONE: pin.c checks a user range 2 MiB at a time, and must meet no
 * other worker's mapping there (a /dev/vmmem one would be EOPNOTSUPP).
 */
#define WMEM		(ARENA + 5 * PG + ARENA / 2)
#define RESV		(WMEM + 4 * 1024 * 1024)

enum {
	K_MAP = NSTEP, K_UNMAP, K_PROTECT, K_REMAP, K_TOUCH, K_MAPIO,
	K_FORK, K_REOPEN, NKIND,
	K_STEP = NKIND,			/* in wstat.cur: some fuzz_step() */
};

static const char *const extra_names[NKIND - NSTEP + 1] = {
	"map", "munmap", "mprotect", "mremap", "touch", "map_io", "fork",
	"reopen", "ioctl",
};

struct badcall {
	unsigned long op;
	int kind, ret, err;
	bool child;
	__u64 detail;
};

/* Per worker, in shared memory: its children and the process write it. */
struct wstat {
	unsigned long ops, child_ops, forks, reopens, touches, bad;
	unsigned long errs[NKIND][ERRMAX + 1];
	struct badcall log[NLOG];
	_Atomic int cur;		/* kind running, -1 when finished */
	_Atomic unsigned long cur_op;
	bool setup_failed;
};

/* One mapping: always one run of pages from base, whatever was trimmed. */
struct mapping {
	unsigned char *base;		/* NULL: the slot is free */
	unsigned int npages;
	int prot[MAXPG + 1];		/* per page, as mmap/mprotect set it */
	int maywrite;			/* VM_MAYWRITE: 1, 0, -1 unknown */
	bool split;			/* partly mprotect()ed: maybe 2 VMAs */
};

struct worker {
	struct fuzz f;
	unsigned int idx;
	bool child;			/* a fork()ed child: no fork, no reopen */
	unsigned long opno;
	struct wstat *st;
	unsigned char *mem;		/* RESV bytes */
	struct mapping map[NMAP];
};

static struct shared {
	double end;
	atomic_flag lock;		/* serialises reopens */
	_Atomic unsigned int seq;	/* odd while a reopen swaps the file */
	struct wstat st[MAXTHREADS + 1];
} *S;

static __thread struct worker *self;

static const char *kname(int k)
{
	if (k < 0)
		return "finished";
	return k < NSTEP ? cmd_names[k] : extra_names[k - NSTEP];
}

static void note(struct worker *w, int k, int ret, int err, bool ok,
		 __u64 detail)
{
	struct wstat *st = w->st;
	struct badcall *b;

	if (ok) {
		st->errs[k][ret ? (err > ERRMAX ? ERRMAX : err) : 0]++;
		return;
	}
	if (st->bad < NLOG) {
		b = &st->log[st->bad];
		b->op = w->opno;
		b->kind = k;
		b->ret = ret;
		b->err = err;
		b->child = w->child;
		b->detail = detail;
	}
	st->bad++;
}

/* --- mappings ------------------------------------------------------------ */

static void unmap_all(struct worker *w, struct mapping *m)
{
	if (!m->base)
		return;
	if (munmap(m->base, m->npages * PG))
		note(w, K_UNMAP, -1, errno, false, m->npages);
	m->base = NULL;
}

/* Reads or writes @len bytes at @off of page @i, as its protection allows. */
static void touch(struct mapping *m, unsigned int i, unsigned int off,
		  unsigned int len, __u64 v)
{
	unsigned char *p = m->base + i * PG + off;
	int prot = m->prot[i];
	__u64 sum = 0;
	unsigned int j;

	if ((prot & PROT_WRITE) && (!(prot & PROT_READ) || (v & 1))) {
		if (v & 2)
			memset(p, (int)(v >> 8), len);
		else
			*(volatile __u64 *)p = v;
	} else if (prot & PROT_READ) {
		for (j = 0; j + 8 <= len; j += 8)
			sum += *(volatile __u64 *)(p + j);
		(void)sum;
	}
}

/*
 * Whether @r is still in the file that was at SHARED_FD when seq was @s0.
 * Ids are never reused within a file: if it is, it was there all along.
 */
static bool still_there(struct worker *w, const struct vmmem_region_info *r,
			unsigned int s0)
{
	struct vmmem_region_find fi;

	memset(&fi, 0, sizeof(fi));
	fi.guest_addr = r->guest_addr;
	return !ioctl(w->f.fd, VMMEM_FIND_REGION, &fi) &&
	       fi.region.id == r->id && S->seq == s0;
}

/*
 * mmap() of a region that LIST or FIND names. What may come back depends
 * on whether a reopen swapped the file between the two calls (stale): the
 * offset may then name another file's region, or none.
 */
static void op_map(struct worker *w)
{
	static const int prots[8] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_READ, PROT_READ, PROT_WRITE,
		PROT_NONE, PROT_READ | PROT_EXEC,
	};
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f), c = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	bool private = (c >> 8) % 16 == 0, past = (b >> 40) % 16 == 0;
	bool ro, stale, ok;
	struct vmmem_region_info arr[16];
	struct vmmem_region_list l;
	struct vmmem_region_find fi;
	unsigned int s0, pages, first, n, i;
	int prot = prots[c % 8], err;
	off_t off;
	void *p;

	memset(&fi, 0, sizeof(fi));
	memset(&l, 0, sizeof(l));
	fi.guest_addr = SLOT_GPA((a >> 8) % NSLOT) + ((a >> 16) % 8) * PG;
	l.regions = ptr2u(arr);
	l.count = 16;
	s0 = S->seq;
	/* mostly any region (LIST), else one at a slot GPA (FIND) */
	if ((a >> 24) % 4) {
		err = ioctl(f->fd, VMMEM_LIST_REGIONS, &l) ? errno : 0;
		if (!err && l.count)
			fi.region = arr[(a >> 32) % l.count];
		else if (err && err != E2BIG)	/* more than 16: FIND */
			note(w, K_MAP, -1, err, false, 2);
	}
	if (!fi.region.size && ioctl(f->fd, VMMEM_FIND_REGION, &fi)) {
		err = errno;
		note(w, K_MAP, -1, err, err == ENXIO, 1);
		return;
	}
	pages = fi.region.size / PG;
	first = b % pages;
	n = 1 + (b >> 20) % MAXPG;
	if (n > pages - first || past)
		n = pages - first + past;
	if (n > MAXPG + 1) {		/* a large region: this fits */
		n = MAXPG + 1;
		past = false;
	}
	if (fi.region.backing == VMMEM_BACKING_KERNEL)
		off = fi.region.mmap_offset + first * PG;
	else
		off = VMMEM_NO_MMAP & ~(PG - 1);
	if (private)
		prot &= ~PROT_EXEC;
	p = mmap(NULL, n * PG, prot, private ? MAP_PRIVATE : MAP_SHARED,
		 f->fd, off);
	err = errno;
	stale = (s0 & 1) || s0 != S->seq;
	ro = fi.region.flags & VMMEM_REGION_READONLY;

	/* the mm refuses an offset near 2^64 before vmmem_mmap() can */
	if (fi.region.backing != VMMEM_BACKING_KERNEL)
		ok = p == MAP_FAILED && (err == EINVAL || err == EOVERFLOW);
	else if (private)
		ok = p == MAP_FAILED && err == EINVAL;
	else if (prot & PROT_EXEC)
		ok = p == MAP_FAILED && err == EPERM;
	else if (p != MAP_FAILED)	/* past: the next offset may map */
		ok = stale || !(ro && !past && (prot & PROT_WRITE));
	else if (err == EACCES)
		ok = (prot & PROT_WRITE) && (stale || ro);
	else if (err == EINVAL && !past && !stale)
		ok = !still_there(w, &fi.region, s0);	/* removed meanwhile */
	else
		ok = err == EINVAL || err == ENOMEM;
	note(w, K_MAP, p == MAP_FAILED ? -1 : 0, err, ok,
	     (__u64)prot << 32 | private << 16 | past << 8 | stale);
	if (p == MAP_FAILED)
		return;
	/*
	 * Only a mapping within one region of the file we listed has all
	 * its pages for good, with the access we know: one that runs past
	 * the region is faulted in as touched (a removed region's page is
	 * then SIGBUS), and one of another file's may hold anything. Keep
	 * only the first kind.
	 */
	if (past || stale) {
		munmap(p, n * PG);
		return;
	}
	unmap_all(w, m);		/* the slot's old mapping */
	m->base = p;
	m->npages = n;
	for (i = 0; i < n; i++)
		m->prot[i] = prot;
	/* O_RDWR: only a read-only region's mapping lacks VM_MAYWRITE */
	m->maywrite = !ro;
	m->split = false;
}

/* munmap() of the whole mapping, its head or its tail. */
static void op_unmap(struct worker *w)
{
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	unsigned int n, i;
	int ret;

	if (!m->base) {
		note(w, K_UNMAP, 0, 0, true, 0);
		return;
	}
	n = (a >> 8) % 4 < 2 ? m->npages : 1 + b % m->npages;
	if ((a >> 8) % 4 == 2) {	/* head */
		ret = munmap(m->base, n * PG);
		m->base += n * PG;
		for (i = n; i < m->npages; i++)
			m->prot[i - n] = m->prot[i];
	} else {
		ret = munmap(m->base + (m->npages - n) * PG, n * PG);
	}
	note(w, K_UNMAP, ret, errno, !ret, n);
	m->npages -= n;
	if (!m->npages || ret)		/* after a failure: forget it */
		m->base = NULL;
}

/* mprotect() of the mapping or part of it; PROT_EXEC is never allowed. */
static void op_protect(struct worker *w)
{
	static const int prots[7] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_WRITE, PROT_READ | PROT_EXEC,
		PROT_EXEC,
	};
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f), c = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	int prot = prots[c % 7], ret, err;
	unsigned int first = 0, n, i;
	bool ok;

	if (!m->base) {
		note(w, K_PROTECT, 0, 0, true, 0);
		return;
	}
	n = m->npages;
	if ((a >> 8) % 4 == 0) {
		first = b % m->npages;
		n = 1 + (b >> 8) % (m->npages - first);
	}
	ret = mprotect(m->base + first * PG, n * PG, prot);
	err = errno;
	if (prot & PROT_EXEC)		/* VM_MAYEXEC is cleared at mmap() */
		ok = ret && err == EACCES;
	else if (!(prot & PROT_WRITE) || m->maywrite == 1)
		ok = !ret;
	else if (!m->maywrite)
		ok = ret && err == EACCES;
	else
		ok = !ret || err == EACCES;
	note(w, K_PROTECT, ret, err, ok, (__u64)prot << 32 | m->maywrite);
	if (ret) {
		if (!(prot & PROT_EXEC) && err == EACCES)
			m->maywrite = 0;
		return;
	}
	for (i = first; i < first + n; i++)
		m->prot[i] = prot;
	if (prot & PROT_WRITE)
		m->maywrite = 1;
	if (n != m->npages)
		m->split = true;
}

/*
 * mremap(): growing fails (VM_DONTEXPAND: EFAULT), shrinking works,
 * moving works (to a reservation made for it: MREMAP_FIXED unmaps what is
 * at the destination, which must be ours), MREMAP_DONTUNMAP fails (EINVAL).
 */
static void op_remap(struct worker *w)
{
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	unsigned int mode = (a >> 8) % 5, n;
	size_t len;
	void *q, *r;
	int err;

	if (!m->base) {
		note(w, K_REMAP, 0, 0, true, 0);
		return;
	}
	len = m->npages * PG;
	if ((mode == 2 || mode == 3) && m->split)
		mode = 4;	/* it may span two VMAs: cannot move */
	switch (mode) {
	case 0:
		n = m->npages + 1 + b % 4;
		q = mremap(m->base, len, n * PG,
			   (b >> 8) & 1 ? MREMAP_MAYMOVE : 0);
		err = errno;
		note(w, K_REMAP, q == MAP_FAILED ? -1 : 0, err,
		     q == MAP_FAILED && err == EFAULT, mode);
		if (q != MAP_FAILED) {	/* it grew: all of it is ours */
			munmap(q, n * PG);
			m->base = NULL;
		}
		break;
	case 1:
		n = m->npages > 1 ? 1 + b % (m->npages - 1) : 0;
		q = mremap(m->base, len, n * PG, 0);
		err = errno;
		if (!n) {	/* to nothing: EINVAL, and nothing changes */
			note(w, K_REMAP, q == MAP_FAILED ? -1 : 0, err,
			     q == MAP_FAILED && err == EINVAL, mode);
			break;
		}
		note(w, K_REMAP, q == MAP_FAILED ? -1 : 0, err,
		     q == (void *)m->base, mode);
		if (q == (void *)m->base)
			m->npages = n;
		break;
	case 2:
	case 3:
		r = mmap(NULL, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED) {
			err = errno;
			note(w, K_REMAP, -1, err, err == ENOMEM, mode);
			break;
		}
		q = mremap(m->base, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r);
		err = errno;
		note(w, K_REMAP, q == MAP_FAILED ? -1 : 0, err, q == r, mode);
		/* On failure r may be unmapped already: never touch it. */
		if (q == r)
			m->base = r;
		break;
	default:
		q = mremap(m->base, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
		err = errno;
		note(w, K_REMAP, q == MAP_FAILED ? -1 : 0, err,
		     q == MAP_FAILED && err == EINVAL, mode);
		if (q != MAP_FAILED)	/* a copy, and ours */
			munmap(q, len);
		break;
	}
}

static void op_touch(struct worker *w)
{
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f), c = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	unsigned int off = (b % (PG / 8)) * 8;

	if (m->base) {
		touch(m, (a >> 8) % m->npages, off,
		      8 * (1 + (b >> 16) % ((PG - off) / 8)), c);
		w->st->touches++;
	}
	note(w, K_TOUCH, 0, 0, true, 0);
}

/*
 * Guest memory to and from a buffer in a mapping of guest memory, never
 * past its end; or a user region over the mapping, which is refused: a
 * shared mapping of a device, /dev/vmmem included, is EOPNOTSUPP (unless
 * the add fails earlier: EEXIST, ENOSPC, ENOMEM).
 */
static void op_mapio(struct worker *w)
{
	struct fuzz *f = &w->f;
	__u64 a = rnd(f), b = rnd(f), c = rnd(f);
	struct mapping *m = &w->map[a % NMAP];
	struct vmmem_region_add add;
	unsigned int i, off, avail;
	struct vmmem_io io;
	int ret, err, k;
	bool ok;

	if (!m->base) {
		note(w, K_MAPIO, 0, 0, true, 0);
		return;
	}
	i = (a >> 8) % m->npages;
	if (c % 3 == 2) {
		memset(&add, 0, sizeof(add));
		add.guest_addr = SLOT_GPA((c >> 8) % NSLOT) +
				 ((c >> 16) % 16) * PG;
		add.size = (1 + (b >> 20) % (m->npages - i)) * PG;
		add.user_addr = ptr2u(m->base + i * PG);
		ret = ioctl(f->fd, VMMEM_ADD_REGION, &add);
		err = errno;
		ok = ret && (err == EOPNOTSUPP || err == EEXIST ||
			     err == ENOSPC || err == ENOMEM);
		note(w, K_MAPIO, ret, err, ok, 2);
		return;
	}
	off = b % PG;
	avail = (m->npages - i) * PG - off;
	k = c % 3 ? 6 : 5;
	memset(&io, 0, sizeof(io));
	io.guest_addr = SLOT_GPA((c >> 8) % NSLOT) + ((c >> 16) % 8) * PG +
			(c >> 32) % PG;
	io.user_addr = ptr2u(m->base + i * PG + off);
	io.len = 1 + (b >> 20) % avail;
	io.flags = (c >> 24) & VMMEM_IO_EXACT;
	ret = ioctl(f->fd, cmds[k], &io);
	err = errno;
	ok = ret ? errno_allowed(k, err) : io.done <= io.len;
	note(w, K_MAPIO, ret, err, ok, k);
}

/* --- files and processes ------------------------------------------------- */

/*
 * A new file with the regions the fuzzers start from (one user-backed, on
 * @backing) replaces the one at SHARED_FD. Returns 0, or -1 and errno.
 */
static int new_file(unsigned char *backing)
{
	int fd = open(VMMEM_DEV, O_RDWR | O_CLOEXEC), ret = -1, err;

	if (fd < 0)
		return -1;
	if (!vm_add(fd, SLOT_GPA(0), 4 * PG, 0, 0, NULL) &&
	    !vm_add(fd, SLOT_GPA(1), 4 * PG, ptr2u(backing), 0, NULL) &&
	    !vm_add(fd, SLOT_GPA(1) + 4 * PG, 4 * PG, 0,
		    VMMEM_REGION_READONLY, NULL) &&
	    !vm_add(fd, TOP_GPA, PG, 0, 0, NULL)) {
		while (atomic_flag_test_and_set(&S->lock))
			sched_yield();
		S->seq++;
		/* atomic: the number never names anything else */
		ret = dup2(fd, SHARED_FD) == SHARED_FD ? 0 : -1;
		S->seq++;
		atomic_flag_clear(&S->lock);
	}
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

static void op_reopen(struct worker *w)
{
	int ret = new_file(w->f.arena), err = errno;

	w->st->reopens += !ret;
	note(w, K_REOPEN, ret, err, !ret || err == ENOMEM, 0);
}

static void op(struct worker *w);

static void __attribute__((noreturn)) child_main(struct worker *w, __u64 seed)
{
	unsigned int i, j;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	w->child = true;
	fuzz_seed(&w->f, seed, w->idx + 1);
	/* the mappings it inherited: the same pages as its parent's */
	for (i = 0; i < NMAP; i++)
		for (j = 0; w->map[i].base && j < w->map[i].npages; j++)
			touch(&w->map[i], j, 8 * j, 8, seed >> j);
	for (i = 0; i < CHILD_OPS; i++)
		op(w);
	_exit(0);
}

static void op_fork(struct worker *w)
{
	__u64 seed = rnd(&w->f);
	int status = -1, err;
	pid_t pid;

	pid = fork();
	if (!pid)
		child_main(w, seed);
	if (pid < 0) {
		err = errno;
		note(w, K_FORK, -1, err, err == EAGAIN || err == ENOMEM, 0);
		return;
	}
	w->st->forks++;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	note(w, K_FORK, status ? -1 : 0, 0, !status, (unsigned int)status);
}

/* One operation: its kind and its arguments come from w->f's draws only. */
static void op(struct worker *w)
{
	struct fuzz *f = &w->f;
	unsigned int sel = below(f, 1000);
	int k, ret, err;

	w->st->cur_op = w->opno;
	if (w->child && sel < 2)
		sel = 100;		/* a child touches instead */
	if (sel < 1) {
		w->st->cur = K_FORK;
		op_fork(w);
	} else if (sel < 2) {
		w->st->cur = K_REOPEN;
		op_reopen(w);
	} else if (sel < 37) {
		w->st->cur = K_MAP;
		op_map(w);
	} else if (sel < 52) {
		w->st->cur = K_UNMAP;
		op_unmap(w);
	} else if (sel < 72) {
		w->st->cur = K_PROTECT;
		op_protect(w);
	} else if (sel < 92) {
		w->st->cur = K_REMAP;
		op_remap(w);
	} else if (sel < 152) {
		w->st->cur = K_TOUCH;
		op_touch(w);
	} else if (sel < 172) {
		w->st->cur = K_MAPIO;
		op_mapio(w);
	} else {
		w->st->cur = K_STEP;
		k = fuzz_step(f, &ret, &err);
		note(w, k, ret, err,
		     !ret || (ret == -1 && errno_allowed(k, err)), 0);
	}
	w->opno++;
	w->st->ops++;
	w->st->child_ops += w->child;
}

/* --- workers ------------------------------------------------------------- */

static int worker_setup(struct worker *w, unsigned int idx, __u64 seed)
{
	struct fuzz *f = &w->f;
	unsigned char *m;
	int p[2], i;

	w->idx = idx;
	w->st = &S->st[idx];
	f->fd = SHARED_FD;
	f->pipe_r = -1;
	f->pipe_w = -1;
	f->dirfd = -1;
	f->memfd = memfd_create("cfuzz", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, 2 * PG) ||
	    pipe2(p, O_NONBLOCK | O_CLOEXEC))
		return -1;
	f->pipe_r = p[0];
	f->pipe_w = p[1];
	f->dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	m = mmap(NULL, RESV, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->dirfd < 0 || m == MAP_FAILED)
		return -1;
	w->mem = m;
	f->arena = m;
	f->edge = m + ARENA;
	f->hole = f->edge + PG;
	f->none = f->hole + PG;
	f->ro = f->none + PG;
	f->args = f->ro + 2 * PG;
	if (mprotect(f->arena, ARENA + PG, PROT_READ | PROT_WRITE) ||
	    mprotect(f->ro, PG, PROT_READ) ||
	    mprotect(f->args, ARENA / 2, PROT_READ | PROT_WRITE))
		return -1;
	memset(f->arena, 0x5a, ARENA + PG);
	memset(f->args, 0x5a, ARENA / 2);
	/* ids[] full from the start, so that no draw depends on an add */
	for (i = 0; i < NIDS; i++)
		f->ids[i] = i + 1;
	f->nids = NIDS;
	f->id_ring = true;
	fuzz_seed(f, seed, idx + 1);
	return 0;
}

static void worker_teardown(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < NMAP; i++)
		unmap_all(w, &w->map[i]);
	close(w->f.memfd);
	close(w->f.pipe_r);
	close(w->f.pipe_w);
	close(w->f.dirfd);
	if (w->mem)
		munmap(w->mem, RESV);
}

static void run_worker(unsigned int idx, __u64 seed)
{
	struct wstat *st = &S->st[idx];
	struct worker *w;

	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED || worker_setup(w, idx, seed)) {
		st->setup_failed = true;
		st->cur = -1;
		return;
	}
	self = w;
	while (now_sec() < S->end)
		op(w);
	worker_teardown(w);
	self = NULL;
	munmap(w, sizeof(*w));
	st->cur = -1;
}

static __u64 cfuzz_seed;

static void *thread_main(void *arg)
{
	run_worker((uintptr_t)arg + 1, cfuzz_seed);
	return NULL;
}

/* --- a crash says where it happened (async-signal-safe) ------------------ */

static char *put_u64(char *p, __u64 v, unsigned int base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static void crash(int sig, siginfo_t *si, void *uc)
{
	struct worker *w = self;
	char buf[256], *p = buf;

	p = put_str(p, "# cfuzz: signal ");
	p = put_u64(p, sig, 10);
	p = put_str(p, " at 0x");
	p = put_u64(p, (uintptr_t)si->si_addr, 16);
	if (w) {
		p = put_str(p, w->child ? " in a child of worker " : " in worker ");
		p = put_u64(p, w->idx, 10);
		p = put_str(p, ", op ");
		p = put_u64(p, w->opno, 10);
		p = put_str(p, " (");
		p = put_str(p, kname(w->st->cur));
		p = put_str(p, ")");
	}
	p = put_str(p, "\n");
	if (write(2, buf, p - buf) < 0)
		return;
	/* SA_RESETHAND: the access faults again and kills */
}

/* --- the test ------------------------------------------------------------ */

FIXTURE(cfuzz) {
	int unused;
};

FIXTURE_SETUP(cfuzz)
{
}

FIXTURE_TEARDOWN(cfuzz)
{
}

TEST_F_TIMEOUT(cfuzz,
	       concurrent_random_ioctls_mappings_forks_and_reopens_keep_errnos_documented_and_leak_nothing,
	       300)
{
	const char *es = getenv("VMMEM_CFUZZ_SEED");
	const char *et = getenv("VMMEM_CFUZZ_SECONDS");
	const char *en = getenv("VMMEM_CFUZZ_THREADS");
	unsigned int nthreads = en ? atoi(en) : 4, nw, i, j, k, e;
	double secs = et ? atof(et) : 5, t0;
	long pins0, lk0, free0, slab0, pins1, lk1, free1, slab1;
	unsigned long ops = 0, kids = 0, kid_ops = 0, reopens = 0, bad = 0;
	struct sigaction sa = { .sa_sigaction = crash,
				.sa_flags = SA_SIGINFO | SA_RESETHAND };
	pthread_t th[MAXTHREADS];
	unsigned char *backing;
	unsigned long sum[ERRMAX + 1];
	bool stuck = false;
	struct timespec dl;
	pthread_attr_t attr;
	int status = -1, n;
	char hist[1024];
	pid_t helper;

	cfuzz_seed = es ? strtoull(es, NULL, 0) : 0xc5eed;
	if (nthreads < 1 || nthreads > MAXTHREADS)
		nthreads = 4;
	if (secs < 0 || secs > MAXSECS)
		secs = MAXSECS;
	nw = nthreads + 1;

	drop_caches();
	pins0 = pins_outstanding();
	lk0 = locked_kb();
	free0 = free_kb();
	slab0 = proc_key_value("/proc/meminfo", "Slab");
	ASSERT_NE(LONG_MIN, pins0);

	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, S);
	atomic_flag_clear(&S->lock);
	for (i = 0; i < nw; i++)
		S->st[i].cur = K_STEP;
	backing = anon_map(4 * PG);
	ASSERT_NE(NULL, backing);
	ASSERT_EQ(0, new_file(backing)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));

	t0 = now_sec();
	S->end = t0 + secs;
	/*
	 * The process first, while this one is single-threaded: a fork()
	 * that keeps sharing the descriptor table (no glibc wrapper does).
	 * It makes system calls only, no stdio or malloc.
	 */
	helper = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	if (!helper) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		run_worker(0, cfuzz_seed);
		_exit(0);
	}
	ASSERT_LT(0, helper) TH_LOG("clone: %s", strerror(errno));
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, 256 * 1024));
	for (i = 0; i < nthreads; i++)
		ASSERT_EQ(0, pthread_create(&th[i], &attr, thread_main,
					    (void *)(uintptr_t)i));

	/* Everyone ends by S->end + GRACE, or hangs. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)secs + GRACE;
	for (i = 0; i < nthreads; i++) {
		if (!pthread_timedjoin_np(th[i], NULL, &dl))
			continue;
		TH_LOG("worker %u hangs in %s, op %lu", i + 1,
		       kname(S->st[i + 1].cur), S->st[i + 1].cur_op);
		stuck = true;
	}
	while (waitpid(helper, &status, WNOHANG) != helper) {
		if (now_sec() < S->end + GRACE) {
			usleep(10000);
			continue;
		}
		TH_LOG("worker 0 (the process) hangs in %s, op %lu",
		       kname(S->st[0].cur), S->st[0].cur_op);
		stuck = true;
		kill(helper, SIGKILL);
		waitpid(helper, &status, 0);
		break;
	}
	ASSERT_FALSE(stuck);
	EXPECT_EQ(0, status) TH_LOG("the process ended with status %#x", status);

	ksft_print_msg("cfuzz: seed %#llx, %.1f s, %u threads and 1 process\n",
		       (unsigned long long)cfuzz_seed, now_sec() - t0, nthreads);
	for (i = 0; i < nw; i++) {
		struct wstat *st = &S->st[i];

		ksft_print_msg("cfuzz: worker %u (%s): %lu ops, %lu accesses to mappings, %lu reopens, %lu forks making %lu ops\n",
			       i, i ? "thread" : "process", st->ops,
			       st->touches, st->reopens, st->forks,
			       st->child_ops);
		EXPECT_FALSE(st->setup_failed) TH_LOG("worker %u setup", i);
		ops += st->ops;
		kids += st->forks;
		kid_ops += st->child_ops;
		reopens += st->reopens;
		bad += st->bad;
		for (j = 0; j < st->bad && j < NLOG; j++) {
			struct badcall *b = &st->log[j];

			TH_LOG("worker %u%s op %lu: %s returned %d errno %d (%s), detail %#llx",
			       i, b->child ? "'s child" : "", b->op,
			       kname(b->kind), b->ret, b->err,
			       b->err ? strerrorname_np(b->err) : "-",
			       (unsigned long long)b->detail);
		}
	}
	ksft_print_msg("cfuzz: total %lu ops (%lu in %lu fork()ed children), %lu reopens, %lu bad\n",
		       ops, kid_ops, kids, reopens, bad);
	for (k = 0; k < NKIND; k++) {
		memset(sum, 0, sizeof(sum));
		for (i = 0; i < nw; i++)
			for (e = 0; e <= ERRMAX; e++)
				sum[e] += S->st[i].errs[k][e];
		n = snprintf(hist, sizeof(hist), "cfuzz: %-12s", kname(k));
		for (e = 0; e <= ERRMAX; e++)
			if (sum[e] && n < sizeof(hist) - 32)
				n += snprintf(hist + n, sizeof(hist) - n,
					      " %s:%lu",
					      e ? strerrorname_np(e) : "ok",
					      sum[e]);
		ksft_print_msg("%s\n", hist);
	}

	/* Every worker and child is gone: the last file goes with this. */
	close(SHARED_FD);
	munmap(backing, 4 * PG);
	/*
	 * Frees deferred by RCU and parked in KASAN's quarantine lag behind
	 * a long run on the debug kernel: give them a few seconds.
	 */
	for (i = 0; i < 10; i++) {
		drop_caches();
		pins1 = pins_settle(pins0);
		lk1 = locked_kb();
		free1 = free_kb();
		slab1 = proc_key_value("/proc/meminfo", "Slab");
		if (free1 > free0 - SLACK_FREE && slab1 < slab0 + SLACK_SLAB)
			break;
		usleep(500000);
	}
	ksft_print_msg("cfuzz: leaked pins %ld, locked_vm %ld kB, free %+ld kB, Slab %+ld kB\n",
		       pins1 - pins0, lk1 - lk0, free1 - free0, slab1 - slab0);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(pins0, pins1);
	EXPECT_EQ(lk0, lk1);
	EXPECT_GT(free1, free0 - SLACK_FREE);
	EXPECT_LT(slab1, slab0 + SLACK_SLAB);
	munmap(S, sizeof(*S));
}

TEST_HARNESS_MAIN
