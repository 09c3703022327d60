// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty log's oracle: every kind of writer at once, while a migrator
 * harvests back to back and copies what each round reports to a shadow,
 * as a live migration's pre-copy does. When the time is up the writers
 * stop, a last round is copied, and the shadow must equal guest memory
 * byte for byte: a write the log missed shows as a page that differs (its
 * last writer is named).
 *
 * The writers, each a thread (the fork child a process) with its own
 * random sequence drawn from the run's seed:
 *   ioctl    VMMEM_WRITE, batch writes, atomic stores and fetch-adds;
 *   map      stores through the mappings of the file (one, or 1024 of
 *            the same pages: variant many_maps);
 *   child    a fork()ed child's stores through the mappings it inherited;
 *   pvw      process_vm_writev() into the mappings (a pin, at once);
 *   pin      the same from userfaultfd memory: the page stays pinned for
 *            up to 40 ms, across harvests, START and STOP;
 *   pread, aio, io_uring
 *            O_DIRECT reads from a loop device behind a device-mapper delay
 *            (each in flight for DIO_DELAY_MS, across harvests): 6.1 takes
 *            plain page references for them, 6.12 pins;
 *   fdio     VMMEM_READ_FROM_FD, buffered from a memfd and direct from
 *            the delayed device;
 *   copy     VMMEM_COPY within guest memory;
 *   kvm      a KVM guest's stores through a memslot over the mapping;
 *   vhost    virtio-blk reads served by qemu-storage-daemon, a vhost-user
 *            backend that writes guest memory through its own mapping.
 * The migrator starts logging after the writers have started (pins and
 * reads already in flight), alternates bitmap and ranges harvests (the
 * ranges array small, so that harvests resume), and now and then stops
 * and restarts the log (then copies all again, as a VMM must).
 *
 * VMMEM_ORACLE_SEED=N reruns a seed (each writer's choices; the timing is
 * the machine's); VMMEM_ORACLE_SECONDS=S runs longer;
 * VMMEM_ORACLE_WRITERS=map,pin runs only those writers.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/virtio_blk.h>

#include "vmmem.h"
#include "vmmem_test.h"
#include "vmmem_blk.h"
#include "vmmem_kvm.h"
#include "vmmem_stall.h"
#include "vhost_user.h"

#define RAM_GPA		0x100000ULL
#define MAX_PAGES	1024		/* one_map's; many_maps has fewer */
#define CODE_PAGE	0		/* the guest's program */
#define STOP_PAGE	1		/* the guest's flag */
#define RING_PAGE	2		/* the virtqueue: 2 pages */
#define HDR_PAGE	4		/* the virtio-blk request header */
#define GUEST		8		/* the guest's own pages, from here */
#define GUEST_PAGES	64
#define AREA		(GUEST + GUEST_PAGES)	/* every other writer's */
#define QUEUE_SIZE	16

#define SECONDS		8.0
#define RESTART_SECONDS	0.5		/* between a STOP and START */
#define RANGES		8		/* a ranges harvest's array */
#define MANY_MAPS	1024
#define IMG_BLOCKS	1024		/* the loop device's, 4 MiB */
#define DIO_DELAY_MS	25
#define VHOST_IMG	(1U << 20)
#define QSD_PATH	"/usr/bin/qemu-storage-daemon"

enum {
	W_IOCTL, W_MAP, W_PVW, W_PIN, W_PREAD, W_AIO, W_URING, W_FDIO,
	W_COPY, W_KVM, W_VHOST, W_CHILD, NW
};

static const char *const wname[NW] = {
	"ioctl", "map", "pvw", "pin", "pread", "aio", "io_uring", "fdio",
	"copy", "kvm", "vhost", "child",
};

struct oracle;

struct writer {
	struct oracle *o;
	unsigned int id;
	__u64 rng;
	pthread_t th;
	bool running;
	unsigned int burst;		/* writes left without a pause */
	_Atomic unsigned long ops;
	char err[400];
};

/* What the fork child and the parent share. */
struct shared {
	_Atomic bool stop;
	_Atomic unsigned long ops;
};

struct oracle {
	struct vmmem *vm;
	int fd;
	struct vmmem_region_info info;
	unsigned char **maps;
	unsigned int nmaps;
	__u64 seed;
	_Atomic bool stop;
	unsigned int npages;
	__u64 size;
	_Atomic unsigned char last[MAX_PAGES];	/* each page's last writer */
	unsigned char *shadow, *now;
	struct writer w[NW];
	/* O_DIRECT */
	struct blk_loop loop;
	struct blk_dm dm;
	int dio;
	/* fdio */
	int memfd;
	/* kvm */
	struct kguest g;
	bool kvm;
	int vcpu_exit;
	/* vhost */
	struct vhu_backend be;
	struct vhu_vq vq;
	bool vhost;
	char dir[64], img[96], sock[96];
	/* child */
	struct shared *sh;
	pid_t child;
};

/* splitmix64: a writer's sequence from the seed and its number. */
static __u64 rnd(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rnd_fill(__u64 *s, void *buf, size_t len)
{
	unsigned char *b = buf;
	__u64 v;

	while (len) {
		size_t n = len < 8 ? len : 8;

		v = rnd(s);
		memcpy(b, &v, n);
		b += n;
		len -= n;
	}
}

static bool in_test_vm(void)
{
	const char *v = getenv("VMMEM_TEST_VM");

	return v && !strcmp(v, "1");
}

/* An offset into guest memory of @len bytes in the writers' area. */
static __u64 area_off(struct writer *w, __u64 len)
{
	__u64 span = w->o->size - AREA * PG - len + 1;

	return AREA * PG + rnd(&w->rng) % span;
}

/* A page-aligned one, @n pages. */
static __u64 area_pages(struct writer *w, unsigned int n)
{
	return (AREA + rnd(&w->rng) % (w->o->npages - AREA - n + 1)) * PG;
}

static unsigned char *a_map(struct writer *w)
{
	return w->o->maps[rnd(&w->rng) % w->o->nmaps];
}

/* Remembers @w as the last writer of [off, off + len). */
static void note(struct writer *w, __u64 off, __u64 len)
{
	__u64 p;

	for (p = off / PG; p <= (off + len - 1) / PG; p++)
		w->o->last[p] = w->id;
	w->ops++;
}

/*
 * A pause after each write: on average PACE_US, and none for a while now
 * and then (a burst). Writers that rewrote every page every round would
 * hide a lost write under a later one; at this pace most pages are
 * written a few times a run, and the last write of each must be copied.
 */
#define PACE_US		10000
#define BURST		32

static void pace(struct writer *w)
{
	__u64 v = rnd(&w->rng);

	if (w->burst) {
		w->burst--;
		return;
	}
	if (v % 64 == 0)
		w->burst = BURST;
	else
		usleep(v % (2 * PACE_US));
}

static void *failed(struct writer *w, const char *what, int err)
{
	snprintf(w->err, sizeof(w->err), "%s: %s", what, strerror(err));
	return NULL;
}

/* --- the writers --------------------------------------------------------- */

static void *w_ioctl(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	unsigned char buf[2 * PG];

	while (!o->stop) {
		__u64 len = 1 + rnd(&w->rng) % sizeof(buf), off, v = rnd(&w->rng);
		struct vmmem_io ops[2];
		struct vmmem_io_batch b = { .ops = ptr2u(ops), .count = 2 };
		struct vmmem_atomic a = { .size = 8,
					  .order = VMMEM_ORDER_SEQ_CST,
					  .value = v };
		int ret = 0;

		switch (v % 4) {
		case 0:
			off = area_off(w, len);
			rnd_fill(&w->rng, buf, len);
			ret = vm_write(o->fd, RAM_GPA + off, buf, len,
				       VMMEM_IO_EXACT, NULL) ? -errno : 0;
			note(w, off, len);
			break;
		case 1:
			len = len / 2 + 1;
			rnd_fill(&w->rng, buf, 2 * len);
			memset(ops, 0, sizeof(ops));
			ops[0].guest_addr = RAM_GPA + (off = area_off(w, len));
			ops[1].guest_addr = RAM_GPA + area_off(w, len);
			ops[0].user_addr = ptr2u(buf);
			ops[1].user_addr = ptr2u(buf + len);
			ops[0].len = ops[1].len = len;
			ops[0].flags = ops[1].flags = VMMEM_IO_WRITE;
			ret = ioctl(o->fd, VMMEM_IO_BATCH, &b) ? -errno : 0;
			note(w, off, len);
			note(w, ops[1].guest_addr - RAM_GPA, len);
			break;
		default:
			off = area_off(w, 8) & ~7ULL;
			a.guest_addr = RAM_GPA + off;
			a.op = v % 4 == 2 ? VMMEM_ATOMIC_STORE :
					    VMMEM_ATOMIC_FETCH_ADD;
			ret = ioctl(o->fd, VMMEM_ATOMIC, &a) ? -errno : 0;
			note(w, off, 8);
			break;
		}
		if (ret)
			return failed(w, "ioctl write", -ret);
		pace(w);
	}
	return NULL;
}

static void *w_map(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;

	while (!o->stop) {
		unsigned int n = 1 + rnd(&w->rng) % 64, i;
		__u64 off = area_off(w, n * 8) & ~7ULL;
		volatile __u64 *p = (volatile __u64 *)(a_map(w) + off);

		for (i = 0; i < n; i++)
			p[i] = rnd(&w->rng);
		note(w, off, n * 8);
		pace(w);
	}
	return NULL;
}

static void *w_pvw(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	unsigned char buf[2 * PG];

	while (!o->stop) {
		__u64 len = 1 + rnd(&w->rng) % sizeof(buf), off = area_off(w, len);
		struct iovec l = { buf, len }, r = { a_map(w) + off, len };

		rnd_fill(&w->rng, buf, len);
		if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
			return failed(w, "process_vm_writev", errno);
		note(w, off, len);
		pace(w);
	}
	return NULL;
}

static void *w_pin(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	struct stall_pin p;

	while (!o->stop) {
		__u64 off = area_pages(w, 1);
		unsigned char *m = a_map(w);

		/*
		 * A store first, as a guest touches a buffer before its DMA:
		 * the pte is writable, the pin then needs no fault, and a
		 * harvest may be taking the page's bit right then.
		 */
		m[off + rnd(&w->rng) % PG] = rnd(&w->rng);
		if (stall_pin(&p, m + off, rnd(&w->rng)))
			return failed(w, "a pin of process_vm_writev", errno);
		/* held across harvests, and maybe a STOP and START */
		usleep(rnd(&w->rng) % 40000);
		if (stall_unpin(&p) != PG)
			return failed(w, "process_vm_writev from stalled memory",
				      errno);
		note(w, off, PG);
	}
	return NULL;
}

static void *w_dio(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	enum blk_io kind = w->id == W_PREAD ? BLK_PREAD :
			   w->id == W_AIO ? BLK_AIO : BLK_URING;
	struct blk_reader r;
	ssize_t got;

	if (blk_reader_init(&r, kind, o->dio))
		return failed(w, blk_io_name(kind), errno);
	while (!o->stop) {
		unsigned int n = 1 + rnd(&w->rng) % 4;
		__u64 blk = rnd(&w->rng) % (IMG_BLOCKS - n), off = area_pages(w, n);

		if (blk_read_start(&r, a_map(w) + off, n * PG, blk * PG)) {
			failed(w, "starting an O_DIRECT read", errno);
			break;
		}
		got = blk_read_wait(&r);
		if (got != (ssize_t)(n * PG)) {
			failed(w, "an O_DIRECT read", got < 0 ? -got : EIO);
			break;
		}
		note(w, off, n * PG);
	}
	blk_reader_fini(&r);
	return NULL;
}

static void *w_fdio(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	unsigned char buf[2 * PG];

	while (!o->stop) {
		struct vmmem_fd_io f = { .fd = o->memfd };
		__u64 v = rnd(&w->rng);

		if (v % 4 == 0 && o->dio >= 0) {
			/* direct from the delayed device: sectors */
			unsigned int n = 1 + v / 4 % 16;

			f.fd = o->dio;
			f.len = n * 512;
			f.offset = rnd(&w->rng) % (IMG_BLOCKS * 8 - n) * 512;
			f.guest_addr = RAM_GPA + (area_off(w, f.len) & ~511ULL);
		} else {
			f.len = 1 + v % sizeof(buf);
			f.offset = rnd(&w->rng) % (64 * PG - f.len);
			f.guest_addr = RAM_GPA + area_off(w, f.len);
			rnd_fill(&w->rng, buf, f.len);
			if (pwrite(o->memfd, buf, f.len, f.offset) != (ssize_t)f.len)
				return failed(w, "pwrite of the memfd", errno);
		}
		f.flags = VMMEM_FD_EXACT;
		if (ioctl(o->fd, VMMEM_READ_FROM_FD, &f))
			return failed(w, "VMMEM_READ_FROM_FD", errno);
		note(w, f.guest_addr - RAM_GPA, f.len);
		pace(w);
	}
	return NULL;
}

static void *w_copy(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;

	while (!o->stop) {
		struct vmmem_copy c = { .len = 1 + rnd(&w->rng) % (2 * PG) };

		c.src_gpa = RAM_GPA + rnd(&w->rng) % (o->size - c.len + 1);
		c.dst_gpa = RAM_GPA + area_off(w, c.len);
		if (ioctl(o->fd, VMMEM_COPY, &c))
			return failed(w, "VMMEM_COPY", errno);
		note(w, c.dst_gpa - RAM_GPA, c.len);
		pace(w);
	}
	return NULL;
}

/*
 * The vCPU: runs the guest's loop until the host sets its flag. On one
 * CPU: under QEMU TCG, a vCPU thread that moved between CPUs while it ran
 * its guest for seconds, among a dozen busy threads, was seen with the
 * nested guest's state corrupted (its RIP became an address in L1's
 * kvm_amd; an NPF and emulation loop that never ended) in 3 of about 30
 * runs; pinned, in none of 80.
 */
static void *w_kvm(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &one);
	sched_setaffinity(0, sizeof(one), &one);
	o->vcpu_exit = kg_run(&o->g);
	if (o->vcpu_exit != KVM_EXIT_HLT)
		snprintf(w->err, sizeof(w->err), "the guest exited with %d (%s)",
			 o->vcpu_exit, o->g.what ? o->g.what : "not at hlt");
	return NULL;
}

/* One virtio-blk read into guest memory, served by the backend. */
static int vhost_read(struct writer *w, __u64 *off, __u64 *len)
{
	struct oracle *o = w->o;
	unsigned int sectors = 1 + rnd(&w->rng) % 16;
	struct {
		vmmem_le32 type;
		vmmem_le32 ioprio;
		vmmem_le64 sector;
	} h = {
		.type = vmmem_cpu_to_le32(VIRTIO_BLK_T_IN),
		.sector = vmmem_cpu_to_le64(rnd(&w->rng) %
					    (VHOST_IMG / 512 - sectors)),
	};
	__u64 hdr = RAM_GPA + HDR_PAGE * PG;
	uint8_t status = 0xff;
	struct vhu_buf bufs[3] = {
		{ .gpa = hdr, .len = sizeof(h) },
		{ .len = sectors * 512, .device_writes = true },
		{ .gpa = hdr + 0x80, .len = 1, .device_writes = true },
	};
	struct vhu_used used;
	int ret;

	*len = sectors * 512;
	*off = area_off(w, *len);
	bufs[1].gpa = RAM_GPA + *off;
	ret = vmmem_write_obj(o->vm, hdr, &h);
	if (!ret)
		ret = vmmem_write_obj(o->vm, hdr + 0x80, &status);
	if (!ret)
		ret = vhu_vq_add(&o->be, &o->vq, bufs, 3, NULL);
	if (!ret)
		ret = vhu_vq_kick(&o->be, &o->vq);
	if (!ret)
		ret = vhu_vq_wait(&o->be, &o->vq, &used, 1);
	if (!ret)
		ret = vmmem_read_obj(o->vm, hdr + 0x80, &status);
	if (!ret && status != VIRTIO_BLK_S_OK)
		ret = -EIO;
	return ret;
}

static void *w_vhost(void *arg)
{
	struct writer *w = arg;
	struct oracle *o = w->o;
	__u64 off, len;
	int ret;

	while (!o->stop) {
		ret = vhost_read(w, &off, &len);
		if (ret) {
			snprintf(w->err, sizeof(w->err), "virtio-blk read: %s (%s)",
				 strerror(-ret), o->be.err);
			return NULL;
		}
		note(w, off, len);
		pace(w);
	}
	return NULL;
}

/* The fork child: stores through its copies of the mappings. */
static void __attribute__((noreturn)) child_run(struct oracle *o)
{
	struct writer w = { .o = o, .id = W_CHILD, .rng = o->seed + W_CHILD };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!o->sh->stop) {
		unsigned int n = 1 + rnd(&w.rng) % 64, i;
		__u64 off = area_off(&w, n * 8) & ~7ULL;
		volatile __u64 *p = (volatile __u64 *)(a_map(&w) + off);

		for (i = 0; i < n; i++)
			p[i] = rnd(&w.rng);
		/* the parent's table is not ours: the count is shared */
		o->sh->ops++;
		pace(&w);
	}
	_exit(0);
}

/* --- setting up ---------------------------------------------------------- */

/* The delayed block device, open O_DIRECT in o->dio; false: none here. */
static bool dio_setup(struct oracle *o)
{
	struct blk_target t;
	char devt[32], params[64];

	if (blk_loop_attach(&o->loop, IMG_BLOCKS * PG, true))
		return false;
	snprintf(params, sizeof(params), "%s 0 %d",
		 blk_devt(&o->loop, devt, sizeof(devt)), DIO_DELAY_MS);
	t = (struct blk_target){ 0, IMG_BLOCKS * PG / 512, "delay", params };
	if (blk_dm_create(&o->dm, "vmmem-oracle", &t, 1))
		return false;
	o->dio = open(o->dm.node, O_RDONLY | O_DIRECT | O_CLOEXEC);
	return o->dio >= 0;
}

/* A guest that keeps writing its pages, on a memslot over maps[0]. */
static bool kvm_setup(struct __test_metadata *_metadata, struct oracle *o)
{
	struct asm32 a = { .n = 0 };
	int ret;

	ret = kg_open(&o->g);
	if (ret && o->g.unavailable && !in_test_vm())
		return false;
	ASSERT_EQ(0, ret) TH_LOG("KVM: %s: %s", o->g.what, strerror(-ret));
	ASSERT_EQ(0, kg_slot(&o->g, 0, RAM_GPA, o->size, o->maps[0], 0))
		TH_LOG("%s", o->g.what);
	g_write_loop(&a, RAM_GPA + GUEST * PG, GUEST_PAGES,
		     RAM_GPA + STOP_PAGE * PG);
	ASSERT_GE(sizeof(a.b), a.n);
	ASSERT_EQ(0, vmmem_write_exact(o->vm, RAM_GPA + CODE_PAGE * PG, a.b,
				       a.n, NULL));
	ASSERT_EQ(0, kg_start(&o->g, RAM_GPA + CODE_PAGE * PG))
		TH_LOG("%s", o->g.what);
	return true;
}

/* qemu-storage-daemon serving an image of random bytes; false: none here. */
static bool vhost_setup(struct __test_metadata *_metadata, struct oracle *o)
{
	char blockdev[160], export[200];
	char *argv[] = {
		QSD_PATH, "--blockdev", blockdev, "--export", export, NULL
	};
	struct vhu_region table = {
		.gpa = RAM_GPA, .size = o->size, .uaddr = ptr2u(o->maps[0]),
		.mmap_offset = o->info.mmap_offset, .fd = o->fd,
	};
	unsigned char *img;
	__u64 s = o->seed;
	int fd, ret;

	vhu_init(&o->be);
	if (access(QSD_PATH, X_OK)) {
		ASSERT_FALSE(in_test_vm()) TH_LOG("%s is missing", QSD_PATH);
		return false;
	}
	snprintf(o->dir, sizeof(o->dir), "/tmp/vmmem-oracle.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(o->dir));
	snprintf(o->img, sizeof(o->img), "%s/disk.img", o->dir);
	snprintf(o->sock, sizeof(o->sock), "%s/blk.sock", o->dir);
	img = malloc(VHOST_IMG);
	ASSERT_NE(NULL, img);
	rnd_fill(&s, img, VHOST_IMG);
	fd = open(o->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(VHOST_IMG, pwrite(fd, img, VHOST_IMG, 0));
	close(fd);
	free(img);
	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=disk,filename=%s", o->img);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=%s,writable=off",
		 o->sock);
	ret = vhu_spawn(&o->be, argv);
	if (!ret)
		ret = vhu_connect(&o->be, o->sock);
	if (!ret)
		ret = vhu_negotiate(&o->be, 0, 1);
	if (!ret)
		ret = vhu_set_mem_table(&o->be, &table, 1);
	if (!ret)
		ret = vhu_vq_setup(&o->be, &o->vq, o->vm, 0, QUEUE_SIZE,
				   RAM_GPA + RING_PAGE * PG);
	ASSERT_EQ(0, ret) TH_LOG("vhost-user: %s", o->be.err);
	return true;
}

static void oracle_close(struct oracle *o)
{
	unsigned int i;
	int status;

	if (o->child > 0) {
		kill(o->child, SIGKILL);
		waitpid(o->child, &status, 0);
	}
	if (o->vhost) {
		vhu_vq_close(&o->vq);
		vhu_stop(&o->be, &status);
		unlink(o->img);
		unlink(o->sock);
		rmdir(o->dir);
	}
	kg_close(&o->g);
	if (o->dio >= 0)
		close(o->dio);
	blk_dm_remove(&o->dm);
	blk_loop_detach(&o->loop);
	if (o->memfd >= 0)
		close(o->memfd);
	for (i = 0; o->maps && i < o->nmaps; i++)
		if (o->maps[i] && o->maps[i] != MAP_FAILED)
			munmap(o->maps[i], o->size);
	free(o->maps);
	vmmem_close(o->vm);
	if (o->sh)
		munmap(o->sh, PG);
	free(o->shadow);
	free(o->now);
}

/* --- the migrator -------------------------------------------------------- */

/* Copies [off, off + len) of guest memory to the shadow. */
static int copy_out(struct oracle *o, __u64 off, __u64 len)
{
	return vmmem_read_exact(o->vm, RAM_GPA + off, o->shadow + off, len,
				NULL);
}

/* One round: harvest (bitmap or ranges), copy; pages, or -errno. */
static long round_copy(struct oracle *o, bool ranges)
{
	struct vmmem_dirty_range r[RANGES];
	uint64_t bmp[MAX_PAGES / 64], done = 0, pos = 0;
	long pages = 0;
	int n, i, ret;

	if (!ranges) {
		pages = vmmem_get_and_reset(o->vm, RAM_GPA, o->size, bmp);
		if (pages < 0)
			return pages;
		for (i = 0; i < o->npages; i++)
			if (bmp[i / 64] >> (i % 64) & 1) {
				ret = copy_out(o, (__u64)i * PG, PG);
				if (ret)
					return ret;
			}
		return pages;
	}
	/* the array holds RANGES: resume where it filled up */
	while (pos < o->size) {
		n = vmmem_get_and_reset_ranges(o->vm, RAM_GPA + pos,
					       o->size - pos, r, RANGES, &done);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			ret = copy_out(o, r[i].guest_addr - RAM_GPA, r[i].len);
			if (ret)
				return ret;
			pages += r[i].len / PG;
		}
		if (!done)
			return -EPROTO;
		pos += done;
	}
	return pages;
}

/* Whether VMMEM_ORACLE_WRITERS (names, comma-separated) includes @id. */
static bool wanted(unsigned int id)
{
	const char *env = getenv("VMMEM_ORACLE_WRITERS"), *p;
	size_t n = strlen(wname[id]);

	for (p = env; p && *p; p += strcspn(p, ","), p += !!*p)
		if (!strncmp(p, wname[id], n) && (p[n] == ',' || !p[n]))
			return true;
	return !env;
}

static void start_writer(struct __test_metadata *_metadata, struct oracle *o,
			 unsigned int id, void *(*fn)(void *))
{
	struct writer *w = &o->w[id];

	if (!wanted(id))
		return;
	ASSERT_EQ(0, pthread_create(&w->th, NULL, fn, w));
	w->running = true;
}

FIXTURE(oracle) {
	struct oracle o;
};

/*
 * many_maps: each page under MANY_MAPS mappings (and so as many page
 * references), in a smaller guest: a harvest walks every mapping.
 */
FIXTURE_VARIANT(oracle) {
	unsigned int maps, pages;
};

FIXTURE_VARIANT_ADD(oracle, one_map) { .maps = 1, .pages = MAX_PAGES };
FIXTURE_VARIANT_ADD(oracle, many_maps) { .maps = MANY_MAPS, .pages = 128 };

FIXTURE_SETUP(oracle)
{
	struct oracle *o = &self->o;
	const char *env = getenv("VMMEM_ORACLE_SEED");
	unsigned int i;
	int ret;

	memset(o, 0, sizeof(*o));
	o->dio = o->memfd = -1;
	o->g.kvm = o->g.vm = o->g.vcpu = -1;
	o->loop.fd = -1;
	o->seed = env ? strtoull(env, NULL, 0) :
			(__u64)time(NULL) * 1000003 + getpid();
	for (i = 0; i < NW; i++)
		o->w[i] = (struct writer){ .o = o, .id = i,
					   .rng = o->seed + i };
	o->npages = variant->pages;
	o->size = o->npages * PG;
	o->shadow = malloc(o->size);
	o->now = malloc(o->size);
	ASSERT_NE(NULL, o->shadow);
	ASSERT_NE(NULL, o->now);
	ret = vmmem_open(&o->vm);
	ASSERT_EQ(0, ret) TH_LOG("vmmem_open: %s", strerror(-ret));
	o->fd = vmmem_fd(o->vm);
	ret = vmmem_add_region(o->vm, RAM_GPA, o->size, NULL, 0, &o->info);
	ASSERT_EQ(0, ret) TH_LOG("add: %s", strerror(-ret));
	o->nmaps = variant->maps;
	o->maps = calloc(o->nmaps, sizeof(*o->maps));
	ASSERT_NE(NULL, o->maps);
	for (i = 0; i < o->nmaps; i++) {
		o->maps[i] = mmap(NULL, o->size, PROT_READ | PROT_WRITE,
				  MAP_SHARED, o->fd, o->info.mmap_offset);
		ASSERT_NE(MAP_FAILED, o->maps[i]) TH_LOG("mapping %u", i);
	}
	o->memfd = memfd_create("vmmem-oracle", MFD_CLOEXEC);
	ASSERT_LE(0, o->memfd);
	ASSERT_EQ(0, ftruncate(o->memfd, 64 * PG));
	if (!dio_setup(o))
		ASSERT_FALSE(in_test_vm())
			TH_LOG("loop device, device-mapper delay: %s",
			       strerror(errno));
	o->kvm = kvm_setup(_metadata, o);
	o->vhost = vhost_setup(_metadata, o);
	o->sh = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, o->sh);
}

FIXTURE_TEARDOWN(oracle)
{
	unsigned int i;

	self->o.stop = true;
	for (i = 0; i < NW; i++)
		if (self->o.w[i].running)
			pthread_join(self->o.w[i].th, NULL);
	oracle_close(&self->o);
}

TEST_F_TIMEOUT(oracle, the_shadow_equals_guest_memory_after_the_last_round,
	       180)
{
	struct oracle *o = &self->o;
	const char *env = getenv("VMMEM_ORACLE_SECONDS");
	double secs = env ? atof(env) : SECONDS, t0, end;
	unsigned long rounds = 0, restarts = 0, copied = 0, total = 0;
	double restart, slowest;
	struct kvm_regs regs;
	unsigned int i, bad = 0, first = 0;
	__u32 one = 1;
	char line[1024];
	int status, len;
	long n;

	ksft_print_msg("seed %#llx (VMMEM_ORACLE_SEED=%#llx reruns it), %u mapping%s\n",
		       (unsigned long long)o->seed,
		       (unsigned long long)o->seed, o->nmaps,
		       o->nmaps > 1 ? "s" : "");
	if (wanted(W_CHILD)) {
		o->child = fork();
		ASSERT_LE(0, o->child);
		if (!o->child)
			child_run(o);
	}
	/* pins and reads first: some are in flight when logging starts */
	start_writer(_metadata, o, W_PIN, w_pin);
	if (o->dio >= 0) {
		start_writer(_metadata, o, W_PREAD, w_dio);
		start_writer(_metadata, o, W_AIO, w_dio);
		start_writer(_metadata, o, W_URING, w_dio);
	}
	start_writer(_metadata, o, W_IOCTL, w_ioctl);
	start_writer(_metadata, o, W_MAP, w_map);
	start_writer(_metadata, o, W_PVW, w_pvw);
	start_writer(_metadata, o, W_FDIO, w_fdio);
	start_writer(_metadata, o, W_COPY, w_copy);
	if (o->kvm)
		start_writer(_metadata, o, W_KVM, w_kvm);
	if (o->vhost)
		start_writer(_metadata, o, W_VHOST, w_vhost);
	usleep(20000);

	t0 = now_sec();
	end = t0 + secs;
	restart = t0 + RESTART_SECONDS;
	ASSERT_EQ(1, vmmem_dirty_start(o->vm, RAM_GPA, o->size));
	ASSERT_EQ(0, copy_out(o, 0, o->size));
	slowest = now_sec() - t0;
	while (now_sec() < end) {
		double r0 = now_sec();

		if (now_sec() > restart) {
			/* writes between STOP and START: a full copy after */
			ASSERT_EQ(1, vmmem_dirty_stop(o->vm, RAM_GPA, o->size));
			usleep(1000);
			ASSERT_EQ(1, vmmem_dirty_start(o->vm, RAM_GPA, o->size));
			ASSERT_EQ(0, copy_out(o, 0, o->size));
			restarts++;
			restart = now_sec() + RESTART_SECONDS;
		}
		n = round_copy(o, rounds & 1);
		ASSERT_LE(0, n) TH_LOG("round %lu: %s", rounds, strerror(-n));
		copied += n;
		rounds++;
		if (now_sec() - r0 > slowest)
			slowest = now_sec() - r0;
	}

	/* the writers stop; then the last round */
	o->stop = true;
	o->sh->stop = true;
	if (o->kvm)
		ASSERT_EQ(0, vmmem_write_obj(o->vm, RAM_GPA + STOP_PAGE * PG,
					     &one));
	for (i = 0; i < NW; i++)
		if (o->w[i].running) {
			pthread_join(o->w[i].th, NULL);
			o->w[i].running = false;
		}
	if (o->child) {
		ASSERT_EQ(o->child, waitpid(o->child, &status, 0));
		o->child = 0;
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	n = round_copy(o, false);
	ASSERT_LE(0, n);
	copied += n;
	ASSERT_EQ(0, vmmem_read_exact(o->vm, RAM_GPA, o->now, o->size, NULL));
	/* nothing written since, nothing held: a page is reported once */
	EXPECT_EQ(0, round_copy(o, false));

	o->w[W_CHILD].ops = o->sh->ops;
	/* the guest's loop counter, ecx: its stores */
	if (o->kvm && !ioctl(o->g.vcpu, KVM_GET_REGS, &regs))
		o->w[W_KVM].ops = (__u32)regs.rcx;
	len = 0;
	for (i = 0; i < NW; i++) {
		total += o->w[i].ops;
		len += snprintf(line + len, sizeof(line) - len, " %s %lu",
				wname[i], (unsigned long)o->w[i].ops);
		EXPECT_STREQ("", o->w[i].err) TH_LOG("writer %s", wname[i]);
	}
	ksft_print_msg("%.1f s, %lu rounds (%lu restarts, the slowest %.0f ms), %lu pages copied; %lu writes:%s\n",
		       now_sec() - t0, rounds, restarts, slowest * 1e3, copied,
		       total, line);
	for (i = 0; i < o->npages; i++)
		if (memcmp(o->shadow + i * PG, o->now + i * PG, PG)) {
			if (!bad++)
				first = i;
			ksft_print_msg("page %u differs: last written by %s\n",
				       i, wname[o->last[i]]);
		}
	EXPECT_EQ(0, bad) TH_LOG("%u pages lost a write (the first: %u); seed %#llx",
				 bad, first, (unsigned long long)o->seed);
	/* every writer there is wrote */
	for (i = 0; i < NW; i++) {
		bool dio = i == W_PREAD || i == W_AIO || i == W_URING;

		if ((dio && o->dio < 0) || (i == W_KVM && !o->kvm) ||
		    (i == W_VHOST && !o->vhost) || !wanted(i))
			continue;
		EXPECT_LT(0, o->w[i].ops) TH_LOG("writer %u wrote nothing", i);
	}
	EXPECT_LT(1, rounds);
}

TEST_HARNESS_MAIN
