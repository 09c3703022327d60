// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty log (issue 13, item 7), every implementation timed in turn in
 * this one process, as vmmem-bench does (bench/README.md):
 *
 *  write    VMMEM_WRITE of 8 B and 4 KiB, the same GPA sequence into a
 *           logged region and an unlogged one (every page harvested clean
 *           before each batch, so every timed write sets a bit); stores
 *           through our mmap() of a logged region: the first to a page
 *           after a harvest (a write-protect fault, page_mkwrite) against
 *           one to a page already writable.
 *  harvest  a 1 GiB logged region at 0 %, 1 % (every 100th page) and
 *           100 % dirty pages, set with VMMEM_DIRTY_MARK outside the timed
 *           part: VMMEM_DIRTY_HARVEST as a bitmap and as ranges, against
 *           vm-memory 0.10's AtomicBitmap::get_and_reset over 1 GiB
 *           (pages set with Bitmap::mark_dirty); and in the nested KVM, a
 *           smaller logged region mmap()ed as a KVM_MEM_LOG_DIRTY_PAGES
 *           memslot, dirtied by a guest loop (one store per page), then
 *           VMMEM_DIRTY_HARVEST against KVM_GET_DIRTY_LOG of the same
 *           memory, each timed first after its own guest run.
 *  copy     VMMEM_COPY (vmmem_copy_guest) into a logged region against
 *           vm-memory's read_slice + write_slice through a bounce buffer
 *           (AtomicBitmap marking), 4 KiB, 64 KiB, 1 MiB.
 *
 * Timing: the two paths of a write or copy cell share each of REPS timed
 * batches (after an untimed one): they alternate in chunks (CHUNK ops;
 * copies: a sixteenth of the batch), the TLB flushed before each chunk
 * (tlb_flush()), and each path's figure is the median of its chunks, so
 * that a host busy for a few milliseconds (other VMs share its CPUs) hits
 * a chunk, not a path. Harvests are single calls, rotated among the
 * paths, the pages dirtied before each outside the timed part; the median
 * of H_REPS (K_REPS for KVM at 100 %, where each takes a guest pass).
 *
 * CSV rows as common.h's emit(): impl,path,workload,op,size,ops,ns_op,mb_s
 * (workload "dirty-write", "dirty-harvest", "dirty-copy"; op the dirty
 * share for harvests, "d0", "d1", "d100"; a harvest's ns_op is the whole
 * call); dirty-report.awk makes the table. Options: --no-kvm, --kvm-mib N
 * (the memslot's size, default 64: 1 GiB would take the guest minutes a
 * pass, since every first store to a page is a nested fault under TCG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmmem.h"
#include "common.h"

#define W_SIZE		(64 * MiB)	/* the write cells' regions */
#define W_OFF_GPA	(1 * GiB)	/* the unlogged twin */
#define MAP_PAGES	2048		/* mapped stores per batch */
#define H_SIZE		(1 * GiB)	/* the harvested region */
#define H_PAGES		(H_SIZE / PAGE)
#define ONE_PCT		100		/* 1 %: every 100th page */
#define C_SIZE		(64 * MiB)	/* the copy region, halves src/dst */
#define K_GPA		0x40000000ULL	/* the KVM memslot's region */
#define K_CODE_GPA	0x10000ULL	/* the guest loop, anonymous memory */
#define H_REPS		11		/* timed harvests per cell */
#define K_REPS		3		/* the same in KVM at 100 %: guest runs */
#define CHUNK		64		/* ops of one path before the other's */

static void die(const char *what, int err)
{
	fprintf(stderr, "dirty-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg))
		die(what, errno);
}

static struct vmmem *xopen(void)
{
	struct vmmem *vm;
	int ret = vmmem_open(&vm);

	if (ret)
		die("open /dev/vmmem", -ret);
	return vm;
}

static void xadd(struct vmmem *vm, uint64_t gpa, uint64_t size, uint32_t flags,
		 struct vmmem_region_info *info)
{
	int ret = vmmem_add_region(vm, gpa, size, NULL, flags, info);

	if (ret)
		die("add region", -ret);
}

/* vm-memory 0.10 with AtomicBitmap (vm-memory-bench/src/lib.rs). */
struct bmem;
struct bmem *vmm_bm_new(uint64_t size, bool touch);
void vmm_bm_free(struct bmem *m);
int vmm_bm_write_slice(const struct bmem *m, uint64_t gpa, const void *buf,
		       size_t len);
int vmm_bm_copy_bounce(const struct bmem *m, uint64_t dst, uint64_t src,
		       void *buf, size_t len);
int vmm_bm_mark(const struct bmem *m, uint64_t gpa, size_t len);
int64_t vmm_bm_get_and_reset(const struct bmem *m);
void vmm_bm_reset(const struct bmem *m);

/* Harvests [gpa, gpa + len) as a bitmap into @bm; the dirty pages. */
static int64_t harvest_bm(struct vmmem *vm, uint64_t gpa, uint64_t len,
			  uint64_t *bm)
{
	int64_t n = vmmem_get_and_reset(vm, gpa, len, bm);

	if (n < 0)
		die("vmmem_get_and_reset", (int)-n);
	return n;
}

/* The same as ranges; the dirty pages. */
static int64_t harvest_ranges(struct vmmem *vm, uint64_t gpa, uint64_t len,
			      struct vmmem_dirty_range *r, unsigned int cap)
{
	struct vmmem_dirty_harvest h = {
		.guest_addr = gpa, .len = len, .buf = (uintptr_t)r,
		.count = cap, .flags = VMMEM_DIRTY_RANGES,
	};

	xioctl(vmmem_fd(vm), VMMEM_DIRTY_HARVEST, &h, "VMMEM_DIRTY_HARVEST");
	if (h.done != len)
		die("VMMEM_DIRTY_HARVEST: ranges array too small", ENOSPC);
	return (int64_t)h.pages;
}

static void mark(struct vmmem *vm, uint64_t gpa, uint64_t len)
{
	struct vmmem_dirty_track t = {
		.guest_addr = gpa, .len = len, .op = VMMEM_DIRTY_MARK,
	};

	xioctl(vmmem_fd(vm), VMMEM_DIRTY_TRACK, &t, "VMMEM_DIRTY_MARK");
}

static void check_pages(const char *what, int64_t got, int64_t want)
{
	if (got != want) {
		fprintf(stderr, "dirty-bench: %s: %lld dirty pages, expected %lld\n",
			what, (long long)got, (long long)want);
		exit(1);
	}
}

/* Pages dirty at share @pct of @npages: all, every ONE_PCT-th, none. */
static uint64_t share_pages(unsigned int pct, uint64_t npages)
{
	return pct == 100 ? npages : pct ? (npages + ONE_PCT - 1) / ONE_PCT : 0;
}

static const char *share_name(unsigned int pct)
{
	return pct == 100 ? "d100" : pct ? "d1" : "d0";
}

/* --- 1. the cost of a write with the log on and off --------------------- */

static void bench_writes(void)
{
	static const uint64_t wsizes[] = { 8, 4096 };
	struct vmmem *vm = xopen();
	int fd = vmmem_fd(vm);
	uint64_t *bm = malloc(W_SIZE / PAGE / 8);
	char *buf = xmap(MiB);

	/* No mapping of this file: the harvests write-protect nothing. */
	xadd(vm, 0, W_SIZE, VMMEM_REGION_DIRTY_LOG, NULL);
	xadd(vm, W_OFF_GPA, W_SIZE, 0, NULL);
	for (uint64_t off = 0; off < W_SIZE; off += MiB) {
		if (vmmem_write_exact(vm, off, buf, MiB, NULL) ||
		    vmmem_write_exact(vm, W_OFF_GPA + off, buf, MiB, NULL))
			die("prefill", EIO);
	}
	for (unsigned int s = 0; s < 2; s++) {
		uint64_t sz = wsizes[s], t[2][REPS * (MAX_OPS / CHUNK)];
		unsigned int n = MAX_OPS, nt = 0;
		uint64_t *g = gen_gpas(0, W_SIZE, sz, (REPS + 1) * n);

		for (unsigned int r = 0; r <= REPS; r++) {
			harvest_bm(vm, 0, W_SIZE, bm);
			for (unsigned int c = 0; c < n; c += CHUNK) {
				for (unsigned int k = 0; k < 2; k++) {
					/* alternate which goes first */
					unsigned int on = (c / CHUNK + r + k) % 2;
					uint64_t base = on ? 0 : W_OFF_GPA, t0;

					tlb_flush();
					t0 = now_ns();
					for (unsigned int i = c; i < c + CHUNK; i++) {
						struct vmmem_io io = {
							.guest_addr = base + g[r * n + i],
							.user_addr = (uintptr_t)buf,
							.len = sz,
							.flags = VMMEM_IO_EXACT,
						};
						xioctl(fd, VMMEM_WRITE, &io, "VMMEM_WRITE");
					}
					if (r)
						t[on][nt] = now_ns() - t0;
				}
				nt += !!r;
			}
		}
		emit("vmmem", "ioctl-on", "dirty-write", "w", sz, CHUNK, median(t[1], nt));
		emit("vmmem", "ioctl-off", "dirty-write", "w", sz, CHUNK, median(t[0], nt));
		free(g);
	}
	free(bm);
	munmap(buf, MiB);
	vmmem_close(vm);
}

/* Stores through a mapping of a logged region: first after a harvest. */
static void bench_mapped(void)
{
	struct vmmem *vm = xopen();
	struct vmmem_region_info info;
	uint64_t size = (REPS + 1) * MAP_PAGES * PAGE;
	uint64_t *bm = malloc(size / PAGE / 8 + 8), t[2][REPS * (MAP_PAGES / CHUNK)];
	unsigned int nt = 0;
	volatile uint64_t *p;
	char *map;

	xadd(vm, 0, size, VMMEM_REGION_DIRTY_LOG, &info);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vmmem_fd(vm),
		   info.mmap_offset);
	if (map == MAP_FAILED)
		die("mmap region", errno);
	memset(map, 1, size);
	check_pages("mapped prefill", harvest_bm(vm, 0, size, bm), size / PAGE);
	for (unsigned int r = 0; r <= REPS; r++) {
		char *slice = map + (uint64_t)r * MAP_PAGES * PAGE;

		for (unsigned int c = 0; c < MAP_PAGES; c += CHUNK) {
			for (unsigned int pass = 0; pass < 2; pass++) {
				uint64_t t0;

				tlb_flush();
				t0 = now_ns();
				for (unsigned int i = c; i < c + CHUNK; i++) {
					p = (volatile uint64_t *)(slice + i * PAGE + 64);
					*p = r + pass;
				}
				if (r)
					t[pass][nt] = now_ns() - t0;
			}
			nt += !!r;
		}
		check_pages("mapped stores", harvest_bm(vm, 0, size, bm),
			    MAP_PAGES);
	}
	emit("vmmem", "mmap-first", "dirty-write", "w", 8, CHUNK, median(t[0], nt));
	emit("vmmem", "mmap-writable", "dirty-write", "w", 8, CHUNK, median(t[1], nt));
	/* An idle 4 MiB of this mapped region: the 4 MiB cell, mapped. */
	for (unsigned int r = 0; r <= H_REPS; r++) {
		uint64_t t0;

		tlb_flush();
		t0 = now_ns();
		check_pages("mapped 4 MiB harvest", harvest_bm(vm, 0, 4 * MiB, bm), 0);
		if (r)
			t[0][r - 1] = now_ns() - t0;
	}
	emit("vmmem", "bitmap-mapped", "dirty-harvest", "d0", 4 * MiB, 1, median(t[0], H_REPS));
	munmap(map, size);
	free(bm);
	vmmem_close(vm);
}

/* --- 2. harvests of 1 GiB, vmmem against vm-memory ---------------------- */

static void vmmem_dirty_share(struct vmmem *vm, uint64_t gpa, uint64_t npages,
			      unsigned int pct)
{
	if (pct == 100)
		mark(vm, gpa, npages * PAGE);
	else if (pct)
		for (uint64_t i = 0; i < npages; i += ONE_PCT)
			mark(vm, gpa + i * PAGE, PAGE);
}

static void bmem_dirty_share(struct bmem *m, unsigned int pct)
{
	if (pct == 100)
		vmm_bm_mark(m, 0, H_SIZE);
	else if (pct)
		for (uint64_t i = 0; i < H_PAGES; i += ONE_PCT)
			vmm_bm_mark(m, i * PAGE, PAGE);
}

static void bench_harvest(void)
{
	static const unsigned int shares[] = { 0, 1, 100 };
	struct vmmem *vm = xopen();
	uint64_t *bm = xmap(H_PAGES / 8);
	unsigned int cap = H_PAGES / 2 + 1;
	struct vmmem_dirty_range *rg = xmap(cap * sizeof(*rg));
	struct bmem *m = vmm_bm_new(H_SIZE, false);

	if (!m)
		die("vm-memory guest", ENOMEM);
	/* Not mapped: the harvest's own cost (the KVM cells map theirs). */
	xadd(vm, 0, H_SIZE, VMMEM_REGION_DIRTY_LOG, NULL);
	for (unsigned int s = 0; s < 3; s++) {
		unsigned int pct = shares[s];
		uint64_t want = share_pages(pct, H_PAGES), t[3][H_REPS];

		for (unsigned int r = 0; r <= H_REPS; r++) {
			for (unsigned int k = 0; k < 3; k++) {
				unsigned int which = (r + k) % 3;	/* rotate */
				int64_t got;
				uint64_t t0;

				if (which == 2)
					bmem_dirty_share(m, pct);
				else
					vmmem_dirty_share(vm, 0, H_PAGES, pct);
				tlb_flush();
				t0 = now_ns();
				if (which == 0)
					got = harvest_bm(vm, 0, H_SIZE, bm);
				else if (which == 1)
					got = harvest_ranges(vm, 0, H_SIZE, rg, cap);
				else
					got = vmm_bm_get_and_reset(m);
				if (r)
					t[which][r - 1] = now_ns() - t0;
				check_pages("1 GiB harvest", got, want);
			}
		}
		emit("vmmem", "bitmap", "dirty-harvest", share_name(pct), H_SIZE, 1, median(t[0], H_REPS));
		emit("vmmem", "ranges", "dirty-harvest", share_name(pct), H_SIZE, 1, median(t[1], H_REPS));
		emit("vm-memory", "get_and_reset", "dirty-harvest", share_name(pct), H_SIZE, 1, median(t[2], H_REPS));
	}
	/* The fixed cost: an idle 4 MiB of the same region (one window). */
	{
		uint64_t t[H_REPS];

		for (unsigned int r = 0; r <= H_REPS; r++) {
			uint64_t t0;

			tlb_flush();
			t0 = now_ns();
			check_pages("4 MiB harvest", harvest_bm(vm, 0, 4 * MiB, bm), 0);
			if (r)
				t[r - 1] = now_ns() - t0;
		}
		emit("vmmem", "bitmap", "dirty-harvest", "d0", 4 * MiB, 1, median(t, H_REPS));
	}
	vmm_bm_free(m);
	munmap(bm, H_PAGES / 8);
	munmap(rg, cap * sizeof(*rg));
	vmmem_close(vm);
}

/* --- 2b. in the nested KVM: vmmem's log against KVM's -------------------- */

struct kvm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	struct kvm_sregs sregs;
};

static void kvm_setup(struct kvm *k, void *code, void *data, uint64_t size)
{
	struct kvm_userspace_memory_region slot0 = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = K_GPA, .memory_size = size,
		.userspace_addr = (uintptr_t)data,
	}, slot1 = {
		.slot = 1, .guest_phys_addr = K_CODE_GPA, .memory_size = PAGE,
		.userspace_addr = (uintptr_t)code,
	};
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.present = 1, .db = 1, .s = 1, .g = 1,
	}, ds = cs;
	struct kvm_cpuid2 *c;
	unsigned int nent = 256;
	int sz;

	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		die("open /dev/kvm", errno);
	k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (k->vm < 0)
		die("KVM_CREATE_VM", errno);
	k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
	if (k->vcpu < 0)
		die("KVM_CREATE_VCPU", errno);
	sz = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	k->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu, 0);
	if (k->run == MAP_FAILED)
		die("mmap kvm_run", errno);
	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	c->nent = nent;
	xioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, c, "KVM_GET_SUPPORTED_CPUID");
	xioctl(k->vcpu, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
	free(c);
	xioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &slot0, "memslot 0");
	xioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &slot1, "memslot 1");
	xioctl(k->vcpu, KVM_GET_SREGS, &k->sregs, "KVM_GET_SREGS");
	ds.selector = 0x10;
	ds.type = 0x3;
	k->sregs.cs = cs;
	k->sregs.ds = k->sregs.es = k->sregs.fs = k->sregs.gs = k->sregs.ss = ds;
	k->sregs.cr0 = (k->sregs.cr0 | 1) & ~((1ULL << 29) | (1ULL << 30));
	xioctl(k->vcpu, KVM_SET_SREGS, &k->sregs, "KVM_SET_SREGS");
}

/*
 * The guest stores one dword into each of @count pages, @stride bytes
 * apart from K_GPA, then halts:
 *   loop: mov [edi], ecx; add edi, esi; dec ecx; jnz loop; hlt
 */
static const uint8_t guest_loop[] = {
	0x89, 0x0f, 0x01, 0xf7, 0x49, 0x75, 0xf9, 0xf4,
};

static void kvm_dirty(struct kvm *k, uint64_t count, uint64_t stride)
{
	struct kvm_regs regs = {
		.rflags = 0x2, .rip = K_CODE_GPA,
		.rdi = K_GPA, .rsi = stride, .rcx = count,
	};
	int ret;

	if (!count)
		return;
	xioctl(k->vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
	do {
		ret = ioctl(k->vcpu, KVM_RUN, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		die("KVM_RUN", errno);
	if (k->run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "dirty-bench: guest exit %u, not hlt\n",
			k->run->exit_reason);
		exit(1);
	}
}

static int64_t kvm_log(struct kvm *k, uint64_t *bm, uint64_t words)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bm };
	int64_t n = 0;

	xioctl(k->vm, KVM_GET_DIRTY_LOG, &log, "KVM_GET_DIRTY_LOG");
	for (uint64_t i = 0; i < words; i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

static void bench_kvm(uint64_t size)
{
	static const unsigned int shares[] = { 0, 1, 100 };
	uint64_t npages = size / PAGE, words = (npages + 63) / 64;
	uint64_t *bm = xmap(words * 8), *kbm = xmap(words * 8);
	unsigned int cap = npages / 2 + 1;
	struct vmmem_dirty_range *rg = xmap(cap * sizeof(*rg));
	struct vmmem *vm = xopen();
	struct vmmem_region_info info;
	char *code = xmap(PAGE), *data;
	struct kvm k;

	xadd(vm, K_GPA, size, VMMEM_REGION_DIRTY_LOG, &info);
	data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vmmem_fd(vm), info.mmap_offset);
	if (data == MAP_FAILED)
		die("mmap region", errno);
	memcpy(code, guest_loop, sizeof(guest_loop));
	kvm_setup(&k, code, data, size);
	/* A first pass over every page: KVM's shadow pages exist. */
	kvm_dirty(&k, npages, PAGE);
	kvm_log(&k, kbm, words);
	harvest_bm(vm, K_GPA, size, bm);
	for (unsigned int s = 0; s < 3; s++) {
		unsigned int pct = shares[s];
		uint64_t want = share_pages(pct, npages), t[4][H_REPS];
		uint64_t stride = pct == 100 ? PAGE : ONE_PCT * PAGE;
		unsigned int reps = pct == 100 ? K_REPS : H_REPS;

		for (unsigned int r = 0; r < reps; r++) {
			/* each timed first after its own guest run */
			for (unsigned int which = 0; which < 3; which++) {
				uint64_t t0 = now_ns();
				int64_t got;

				kvm_dirty(&k, want, stride);
				if (pct == 100 && which == 0)
					t[3][r] = now_ns() - t0;
				tlb_flush();
				t0 = now_ns();
				if (which == 0)
					got = harvest_bm(vm, K_GPA, size, bm);
				else if (which == 1)
					got = kvm_log(&k, kbm, words);
				else
					got = harvest_ranges(vm, K_GPA, size, rg, cap);
				t[which][r] = now_ns() - t0;
				check_pages(which == 1 ? "KVM_GET_DIRTY_LOG" :
					    "vmmem harvest (KVM)", got, want);
				/* the other log, untimed */
				if (which == 1)
					got = harvest_bm(vm, K_GPA, size, bm);
				else
					got = kvm_log(&k, kbm, words);
				check_pages(which == 1 ? "vmmem harvest (KVM)" :
					    "KVM_GET_DIRTY_LOG", got, want);
			}
		}
		emit("vmmem", "bitmap-kvm", "dirty-harvest", share_name(pct), size, 1, median(t[0], reps));
		emit("vmmem", "ranges-kvm", "dirty-harvest", share_name(pct), size, 1, median(t[2], reps));
		emit("kvm", "get_dirty_log", "dirty-harvest", share_name(pct), size, 1, median(t[1], reps));
		if (pct == 100)
			emit("kvm", "guest-store", "dirty-write", "w", 4, npages, median(t[3], reps));
	}
	close(k.vcpu);
	close(k.vm);
	close(k.kvm);
	munmap(data, size);
	vmmem_close(vm);
}

/* --- 3. guest-to-guest copies into a logged region ---------------------- */

static void bench_copy(void)
{
	static const uint64_t csizes[] = { 4096, 65536, 1048576 };
	struct vmmem *vm = xopen();
	struct bmem *m = vmm_bm_new(C_SIZE, true);
	uint64_t *bm = malloc(C_SIZE / PAGE / 8);
	char *buf = xmap(MiB);

	if (!m)
		die("vm-memory guest", ENOMEM);
	xadd(vm, 0, C_SIZE, VMMEM_REGION_DIRTY_LOG, NULL);
	for (uint64_t off = 0; off < C_SIZE; off += MiB)
		if (vmmem_write_exact(vm, off, buf, MiB, NULL))
			die("prefill", EIO);
	/* write_slice marks: the bitmap sees it. */
	vmm_bm_write_slice(m, 0, buf, 2 * PAGE);
	check_pages("vm-memory write_slice marking", vmm_bm_get_and_reset(m), 2);
	for (unsigned int s = 0; s < 3; s++) {
		uint64_t sz = csizes[s], t[2][REPS * 16];
		unsigned int n = 8 * MiB / sz, nt = 0, ch;
		uint64_t *g;

		n = n < 16 ? 16 : n > 1024 ? 1024 : n;
		g = gen_gpas(0, C_SIZE / 2, sz, (REPS + 1) * n);
		for (unsigned int r = 0; r <= REPS; r++) {
			ch = n / 16;
			harvest_bm(vm, 0, C_SIZE, bm);
			vmm_bm_reset(m);
			for (unsigned int c = 0; c < n; c += ch) {
				for (unsigned int k = 0; k < 2; k++) {
					unsigned int bounce = (c / ch + r + k) % 2;
					uint64_t t0;

					tlb_flush();
					t0 = now_ns();
					for (unsigned int i = c; i < c + ch; i++) {
						uint64_t src = g[r * n + i];
						uint64_t dst = src + C_SIZE / 2;

						if (bounce ?
						    vmm_bm_copy_bounce(m, dst, src, buf, sz) :
						    vmmem_copy_guest_exact(vm, dst, src, sz, NULL))
							die("copy", EIO);
					}
					if (r)
						t[bounce][nt] = now_ns() - t0;
				}
				nt += !!r;
			}
		}
		emit("vmmem", "copy", "dirty-copy", "w", sz, ch, median(t[0], nt));
		emit("vm-memory", "bounce", "dirty-copy", "w", sz, ch, median(t[1], nt));
		free(g);
	}
	vmm_bm_free(m);
	free(bm);
	munmap(buf, MiB);
	vmmem_close(vm);
}

int main(int argc, char **argv)
{
	uint64_t kvm_size = 64 * MiB;
	bool kvm = true;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-kvm"))
			kvm = false;
		else if (!strcmp(argv[i], "--kvm-mib") && i + 1 < argc)
			kvm_size = strtoull(argv[++i], NULL, 0) * MiB;
		else {
			fprintf(stderr, "usage: dirty-bench [--no-kvm] [--kvm-mib N]\n");
			return 2;
		}
	}
	uint64_t t0 = now_ns();

#define SECTION(what, call) do {					\
		call;							\
		printf("# dirty-bench: %s took %.1f s\n", what,		\
		       (now_ns() - t0) / 1e9);				\
		t0 = now_ns();						\
	} while (0)
	SECTION("writes", bench_writes());
	SECTION("mapped", bench_mapped());
	SECTION("copy", bench_copy());
	SECTION("harvest", bench_harvest());
	if (kvm)
		SECTION("kvm", bench_kvm(kvm_size));
	return 0;
}
