// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem as the memory of real KVM guests: KVM memslots over vmmem memory,
 * as a VMM sets them up.
 *
 * Each test runs a tiny guest on one vCPU: no BIOS, flat 32-bit protected
 * mode set with KVM_SET_SREGS (CR0.PE, code and data segments of base 0 and
 * limit 4 GiB, no GDT in memory), a few bytes of hand-assembled code
 * written into guest memory through libvmmem, RIP there. The guest reports
 * with OUT to port GUEST_PORT (KVM_EXIT_IO) and stops with HLT
 * (KVM_EXIT_HLT: there is no in-kernel irqchip). Guest memory is written
 * through libvmmem (the VMMEM_WRITE ioctl), never through the mapping,
 * except where a test is about the mapping.
 *
 * The memslots are:
 *   - a kernel-backed region mmap()ed from /dev/vmmem (variant
 *     kernel_region), or a memfd mapping that is also a user-backed region
 *     at the same GPA (variant memfd_region);
 *   - one mmap() over two adjacent kernel-backed regions (span);
 *   - a VMMEM_REGION_READONLY region under a KVM_MEM_READONLY memslot;
 *   - a memslot with KVM_MEM_LOG_DIRTY_PAGES;
 *   - a region removed while its memslot lives on, and a VMM SIGKILLed
 *     mid-run: afterwards no pin, page or module reference is left.
 *
 * Under nested SVM in QEMU TCG every guest entry costs milliseconds: the
 * guests are a few instructions long and the tests count KVM_RUN exits
 * (at most MAX_EXITS per guest), never time. All GPAs are below 4 GiB.
 * Without /dev/kvm or KVM_CREATE_VM the tests skip, except in the
 * project's test VM (VMMEM_TEST_VM=1), where KVM must work.
 */
#include <dirent.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/kvm.h>
#include <asm/kvm_para.h>

#include "vmmem.h"
#include "vmmem_test.h"
#include "vmmem_kvm.h"

#define MAX_EXITS	64		/* KVM_RUN returns per guest */

#define RAM_GPA		0x100000ULL	/* every test's main memory */
#define RAM_SIZE	(16 * PG)
#define CODE_GPA	RAM_GPA		/* first page of RAM: the program */

/* Regions big enough that a leak of their pages shows in free memory. */
#define LEAK_SIZE	(32ULL << 20)
#define LEAK_SLACK_KB	8192		/* per-CPU lists, page tables, slabs */

#define REFCNT_PATH	"/sys/module/vmmem/refcnt"

/* --- guest memory: a vmmem region and the mapping the memslot uses ------- */

struct gmem {
	uint64_t gpa, size;
	void *hva;		/* what the memslot maps */
	int memfd;		/* the user-backed region's memory, or -1 */
	struct vmmem_region_info info;
};

/*
 * A region of @size bytes at @gpa and a mapping of it: kernel-backed and
 * mmap()ed from /dev/vmmem, or a memfd mapping pinned as a user-backed
 * region (a ROM's @image is loaded into the memfd first, as a VMM loads a
 * firmware file; a kernel-backed read-only region stays zero).
 */
static int gm_add(struct vmmem *vm, struct gmem *m, bool memfd, uint64_t gpa,
		  uint64_t size, uint32_t flags, const void *image,
		  size_t image_len, const char **what)
{
	bool ro = flags & VMMEM_REGION_READONLY;
	int ret;

	memset(m, 0, sizeof(*m));
	m->gpa = gpa;
	m->size = size;
	m->memfd = -1;
	if (!memfd) {
		*what = "vmmem_add_region (kernel-backed)";
		ret = vmmem_add_region(vm, gpa, size, NULL, flags, &m->info);
		if (ret)
			return ret;
		*what = "mmap /dev/vmmem";
		m->hva = mmap(NULL, size, PROT_READ | (ro ? 0 : PROT_WRITE),
			      MAP_SHARED, vmmem_fd(vm), m->info.mmap_offset);
		if (m->hva == MAP_FAILED) {
			m->hva = NULL;
			return -errno;
		}
		return 0;
	}
	*what = "memfd";
	m->memfd = memfd_create("vmmem-kvm", MFD_CLOEXEC);
	if (m->memfd < 0 || ftruncate(m->memfd, size))
		return -errno;
	if (image_len && pwrite(m->memfd, image, image_len, 0) != image_len)
		return -EIO;
	/* Pinned user memory must be mapped writable, even for a ROM. */
	m->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->memfd, 0);
	if (m->hva == MAP_FAILED) {
		m->hva = NULL;
		return -errno;
	}
	*what = "vmmem_add_region (memfd)";
	return vmmem_add_region(vm, gpa, size, m->hva, flags, &m->info);
}

static void gm_free(struct gmem *m)
{
	if (m->hva)
		munmap(m->hva, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->hva = NULL;
	m->memfd = -1;
}

/* --- the VMM of one test ------------------------------------------------- */

#define MAX_MEM		4

struct vmm {
	struct kguest g;
	struct vmmem *vm;
	struct gmem mem[MAX_MEM];
	unsigned int nmem;
	/* before anything was opened */
	long refcnt0, pins0, free0;
	pid_t child;		/* kill.*: the VMM that is killed */
};

/*
 * Free memory in kB, counting the pages on per-CPU free lists, which
 * MemFree leaves out (as vmmem_fuzz.h does).
 */
static long free_kb(void)
{
	char line[256];
	long pcp = 0, n;
	FILE *f = fopen("/proc/zoneinfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &n) == 1)
			pcp += n;
	if (f)
		fclose(f);
	return proc_key_value("/proc/meminfo", "MemFree") + pcp * (PG / 1024);
}

/* Reclaim caches and empty the slabs (and KASAN's quarantine). */
static void drop_caches(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");

	sync();
	write_file_str("/proc/sys/vm/drop_caches", "3\n");
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		write_file_str(path, "1\n");
	}
	if (dir)
		closedir(dir);
}

static bool in_test_vm(void)
{
	const char *s = getenv("VMMEM_TEST_VM");

	return s && !strcmp(s, "1");
}

static void vmm_init(struct vmm *v)
{
	unsigned int i;

	memset(v, 0, sizeof(*v));
	v->g.kvm = v->g.vm = v->g.vcpu = -1;
	for (i = 0; i < MAX_MEM; i++)
		v->mem[i].memfd = -1;
}

/*
 * Closes everything: KVM first, then the vmmem file, then the mappings,
 * which outlive the file (and hold it, and the module, until unmapped).
 */
static void vmm_close(struct vmm *v)
{
	unsigned int i;

	kg_close(&v->g);
	vmmem_close(v->vm);
	v->vm = NULL;
	for (i = 0; i < v->nmem; i++)
		gm_free(&v->mem[i]);
	v->nmem = 0;
}

/*
 * Opens KVM (one VM, one vCPU) and a vmmem address space. Returns false if
 * the test was skipped. @leakcheck: record the baseline first. @probe: only
 * check that KVM works, and close it again (the test's own VMM opens all).
 */
static bool vmm_setup(struct __test_metadata *_metadata, struct vmm *v,
		      bool leakcheck, bool probe)
{
	int ret;

	ASSERT_EQ(PG, (uint64_t)getpagesize());
	vmm_init(v);
	if (leakcheck) {
		drop_caches();
		v->refcnt0 = read_file_long(REFCNT_PATH);
		ASSERT_LE(0, v->refcnt0) TH_LOG("no %s", REFCNT_PATH);
		v->pins0 = pins_outstanding();
		ASSERT_NE(LONG_MIN, v->pins0) TH_LOG("no nr_foll_pin_* in /proc/vmstat");
		v->free0 = free_kb();
	}
	ret = kg_open(&v->g);
	if (ret && v->g.unavailable) {
		/* The project's test VM has KVM: there, no KVM is a failure. */
		ASSERT_FALSE(in_test_vm())
			TH_LOG("KVM must work in the test VM: %s: %s",
			       v->g.what, strerror(-ret));
		kg_close(&v->g);
		SKIP(return false, "no KVM here: %s: %s", v->g.what,
		     strerror(-ret));
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", v->g.what, strerror(-ret));
	if (probe) {
		kg_close(&v->g);
		return true;
	}
	ret = vmmem_open(&v->vm);
	ASSERT_EQ(0, ret) TH_LOG("vmmem_open: %s", strerror(-ret));
	return true;
}

/* A region at @gpa and a memslot over its mapping; returns the region. */
static struct gmem *vmm_mem(struct __test_metadata *_metadata, struct vmm *v,
			    bool memfd, uint64_t gpa, uint64_t size,
			    uint32_t flags, const void *image,
			    size_t image_len, uint32_t slot_flags)
{
	struct gmem *m;
	const char *what;
	int ret;

	ASSERT_GT(MAX_MEM, v->nmem);
	m = &v->mem[v->nmem++];
	ret = gm_add(v->vm, m, memfd, gpa, size, flags, image, image_len,
		     &what);
	ASSERT_EQ(0, ret) TH_LOG("%s at %#llx: %s", what,
				 (unsigned long long)gpa, strerror(-ret));
	ret = kg_slot(&v->g, v->nmem - 1, gpa, size, m->hva, slot_flags);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", v->g.what, strerror(-ret));
	return m;
}

/* Writes the program through vmmem and points the vCPU at it. */
static void vmm_load(struct __test_metadata *_metadata, struct vmm *v,
		     const struct asm32 *a)
{
	int ret;

	ASSERT_GE(sizeof(a->b), a->n);
	ret = vmmem_write_exact(v->vm, CODE_GPA, a->b, a->n, NULL);
	ASSERT_EQ(0, ret) TH_LOG("program: %s", strerror(-ret));
	ret = kg_start(&v->g, CODE_GPA);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", v->g.what, strerror(-ret));
}

/* Runs the guest to its next exit, which must be @reason. */
static void run_expect(struct __test_metadata *_metadata, struct vmm *v,
		       unsigned int reason)
{
	char buf[160];
	int ret = kg_run(&v->g);

	ASSERT_LE(0, ret) TH_LOG("KVM_RUN: %s", strerror(-ret));
	ASSERT_GE(MAX_EXITS, v->g.exits);
	ASSERT_EQ(reason, ret)
		TH_LOG("%s", kg_describe(&v->g, buf, sizeof(buf)));
}

/* Runs the guest to its next OUT; returns the value. */
static uint32_t run_out(struct __test_metadata *_metadata, struct vmm *v)
{
	char buf[160];
	int64_t val;

	run_expect(_metadata, v, KVM_EXIT_IO);
	val = kg_out_value(&v->g);
	ASSERT_LE(0, val) TH_LOG("%s", kg_describe(&v->g, buf, sizeof(buf)));
	return val;
}

static void run_hlt(struct __test_metadata *_metadata, struct vmm *v)
{
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

static uint32_t read32(struct __test_metadata *_metadata, struct vmm *v,
		       uint64_t gpa)
{
	uint32_t val = 0;
	int ret = vmmem_read_obj(v->vm, gpa, &val);

	ASSERT_EQ(0, ret) TH_LOG("vmmem_read_obj %#llx: %s",
				 (unsigned long long)gpa, strerror(-ret));
	return val;
}

static void write32(struct __test_metadata *_metadata, struct vmm *v,
		    uint64_t gpa, uint32_t val)
{
	int ret = vmmem_write_obj(v->vm, gpa, &val);

	ASSERT_EQ(0, ret) TH_LOG("vmmem_write_obj %#llx: %s",
				 (unsigned long long)gpa, strerror(-ret));
}

static long settle_long(const char *path, long want)
{
	long v = read_file_long(path);
	int i;

	for (i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = read_file_long(path);
	}
	return v;
}

/* After everything is closed: pins, module references, pages are back. */
static void expect_nothing_leaked(struct __test_metadata *_metadata,
				  struct vmm *v)
{
	long pins, refcnt, freekb;

	drop_caches();
	pins = pins_settle(v->pins0);
	refcnt = settle_long(REFCNT_PATH, v->refcnt0);
	freekb = free_kb();
	ksft_print_msg("leaked: pins %ld, module refs %ld, free %+ld kB (region %llu kB)\n",
		       pins - v->pins0, refcnt - v->refcnt0, freekb - v->free0,
		       LEAK_SIZE >> 10);
	EXPECT_EQ(v->pins0, pins);
	EXPECT_EQ(v->refcnt0, refcnt);
	EXPECT_GT(freekb, v->free0 - LEAK_SLACK_KB);
}

/* --- fixtures ------------------------------------------------------------ */

/* mem: one VM; its memory kernel-backed (mmap) or a pinned memfd. */
FIXTURE(mem) {
	struct vmm v;
};

FIXTURE_VARIANT(mem) {
	bool memfd;
};

FIXTURE_VARIANT_ADD(mem, kernel_region) { .memfd = false };
FIXTURE_VARIANT_ADD(mem, memfd_region) { .memfd = true };

FIXTURE_SETUP(mem)
{
	vmm_setup(_metadata, &self->v, false, false);
}

FIXTURE_TEARDOWN(mem)
{
	vmm_close(&self->v);
}

/* Cases 1 and 3: guest writes reach VMMEM_READ, VMMEM_WRITEs the guest. */
TEST_F_TIMEOUT(mem, guest_and_vmmem_see_each_others_writes, 120)
{
	/* guest stores, at several pages, the region's last dword included */
	static const struct { uint32_t off, val; } gw[] = {
		{ 1 * PG + 0x000, 0x9e570001 }, { 4 * PG + 0x124, 0x9e570004 },
		{ 9 * PG + 0x800, 0x9e570009 }, { 15 * PG + PG - 4, 0x9e57000f },
	};
	/* vmmem stores the guest reads back */
	static const struct { uint32_t off, val; } hw[] = {
		{ 2 * PG + 0x010, 0x40570002 }, { 7 * PG + PG - 4, 0x40570007 },
		{ 12 * PG + 0x400, 0x4057000c },
	};
	const uint64_t again = RAM_GPA + gw[0].off;
	struct asm32 a = { .n = 0 };
	unsigned int i;

	vmm_mem(_metadata, &self->v, variant->memfd, RAM_GPA, RAM_SIZE, 0,
		NULL, 0, 0);
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		write32(_metadata, &self->v, RAM_GPA + hw[i].off, 0xbad0bad0);
	for (i = 0; i < ARRAY_SIZE(gw); i++)
		g_store(&a, RAM_GPA + gw[i].off, gw[i].val);
	g_load_out(&a, RAM_GPA + hw[0].off);
	g_out(&a, 1);
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		g_load_out(&a, RAM_GPA + hw[i].off);
	g_load_out(&a, again);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	EXPECT_EQ(0xbad0bad0, run_out(_metadata, &self->v));
	/* The guest stopped mid-run: its stores are there already. */
	ASSERT_EQ(1, run_out(_metadata, &self->v));
	for (i = 0; i < ARRAY_SIZE(gw); i++)
		EXPECT_EQ(gw[i].val, read32(_metadata, &self->v,
					    RAM_GPA + gw[i].off));
	/*
	 * Written while the guest runs, over memory it has read or written
	 * already: it reads the new values, not a stale copy.
	 */
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		write32(_metadata, &self->v, RAM_GPA + hw[i].off, hw[i].val);
	write32(_metadata, &self->v, again, 0x0a6a1400);
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		EXPECT_EQ(hw[i].val, run_out(_metadata, &self->v));
	EXPECT_EQ(0x0a6a1400, run_out(_metadata, &self->v));
	run_hlt(_metadata, &self->v);
}

/* Case 4: a write to a read-only region under a read-only memslot is MMIO. */
TEST_F_TIMEOUT(mem, readonly_region_under_readonly_memslot_makes_writes_mmio,
	       120)
{
	const uint64_t rom = 0x200000, rom_size = 4 * PG;
	const uint64_t w0 = rom + 0x10, w1 = rom + rom_size - 4;
	uint32_t *image = calloc(1, rom_size), *back = calloc(1, rom_size);
	struct kvm_run *r;
	struct asm32 a = { .n = 0 };
	uint32_t val;
	unsigned int i;
	int ret;

	ASSERT_NE(NULL, image);
	ASSERT_NE(NULL, back);
	/* A memfd ROM carries an image; a kernel-backed one is zeros. */
	if (variant->memfd)
		for (i = 0; i < rom_size / 4; i++)
			image[i] = 0x524f0000 + i;
	ret = kg_check_extension(&self->v.g, KVM_CAP_READONLY_MEM);
	ASSERT_LT(0, ret) TH_LOG("no KVM_CAP_READONLY_MEM");
	vmm_mem(_metadata, &self->v, false, RAM_GPA, RAM_SIZE, 0, NULL, 0, 0);
	vmm_mem(_metadata, &self->v, variant->memfd, rom, rom_size,
		VMMEM_REGION_READONLY, image, rom_size, KVM_MEM_READONLY);

	g_load_out(&a, w0);
	g_store(&a, w0, 0xdeadbeef);
	g_load_out(&a, w0);
	g_store(&a, w1, 0xfeedf00d);
	g_load_out(&a, w1);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	EXPECT_EQ(image[(w0 - rom) / 4], run_out(_metadata, &self->v));
	run_expect(_metadata, &self->v, KVM_EXIT_MMIO);
	r = self->v.g.run;
	EXPECT_EQ(w0, r->mmio.phys_addr);
	EXPECT_EQ(4, r->mmio.len);
	EXPECT_EQ(1, r->mmio.is_write);
	memcpy(&val, r->mmio.data, 4);
	EXPECT_EQ(0xdeadbeef, val);
	/* The write was dropped (a VMM with no device there ignores it). */
	EXPECT_EQ(image[(w0 - rom) / 4], run_out(_metadata, &self->v));
	run_expect(_metadata, &self->v, KVM_EXIT_MMIO);
	EXPECT_EQ(w1, r->mmio.phys_addr);
	EXPECT_EQ(1, r->mmio.is_write);
	EXPECT_EQ(image[(w1 - rom) / 4], run_out(_metadata, &self->v));
	run_hlt(_metadata, &self->v);

	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, rom, back, rom_size, NULL));
	EXPECT_EQ(0, memcmp(image, back, rom_size));
	/* vmmem refuses the write too. */
	val = 0;
	EXPECT_EQ(-EACCES, vmmem_write_obj(self->v.vm, w0, &val));
	free(image);
	free(back);
}

static uint64_t page_mask(const unsigned int *pages, unsigned int n)
{
	uint64_t m = 0;

	while (n--)
		m |= 1ULL << pages[n];
	return m;
}

/*
 * Case 5: KVM's dirty log over vmmem memory names the pages the guest
 * wrote. A warm-up first faults in the pages the guest only reads (its
 * code, and a page vmmem writes): x86 KVM maps a page writable at a read
 * fault if GUP-fast finds it writable in the host, and logs it dirty then
 * (a memfd page, always; a kernel-backed one depends on the kernel and on
 * how the module maps it). After a GET_DIRTY_LOG that clears that, the
 * log is exact.
 */
TEST_F_TIMEOUT(mem, dirty_log_reports_exactly_the_pages_the_guest_wrote, 120)
{
	/* 64 pages: one 64-bit word of bitmap */
	const uint64_t size = 64 * PG;
	static const unsigned int first[] = { 1, 2, 7, 33, 63 };
	static const unsigned int second[] = { 7, 20 };
	const uint64_t host = RAM_GPA + 40 * PG;	/* only vmmem writes it */
	struct asm32 a = { .n = 0 };
	uint64_t bm;
	unsigned int i;

	vmm_mem(_metadata, &self->v, variant->memfd, RAM_GPA, size, 0, NULL, 0,
		KVM_MEM_LOG_DIRTY_PAGES);
	write32(_metadata, &self->v, host, 0x40570001);
	g_load_out(&a, host);
	for (i = 0; i < ARRAY_SIZE(first); i++)
		g_store(&a, RAM_GPA + first[i] * PG + PG - 4, 0xd1000000 + i);
	g_load_out(&a, host);
	for (i = 0; i < ARRAY_SIZE(second); i++)
		g_store(&a, RAM_GPA + second[i] * PG, 0xd2000000 + i);
	g_out(&a, 2);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	/* Warm-up done: clear whatever the read faults logged. */
	EXPECT_EQ(0x40570001, run_out(_metadata, &self->v));
	bm = 0;
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &bm));
	ksft_print_msg("dirty log after the warm-up (reads only): %#llx\n",
		       (unsigned long long)bm);
	/* KVM does not log the host's writes through vmmem. */
	write32(_metadata, &self->v, host, 0x40570002);

	EXPECT_EQ(0x40570002, run_out(_metadata, &self->v));
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &bm));
	EXPECT_EQ(page_mask(first, ARRAY_SIZE(first)), bm)
		TH_LOG("dirty %#llx", (unsigned long long)bm);
	for (i = 0; i < ARRAY_SIZE(first); i++)
		EXPECT_EQ(0xd1000000 + i,
			  read32(_metadata, &self->v,
				 RAM_GPA + first[i] * PG + PG - 4));

	/* The get cleared the log: now only the second stores show. */
	EXPECT_EQ(2, run_out(_metadata, &self->v));
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &bm));
	EXPECT_EQ(page_mask(second, ARRAY_SIZE(second)), bm)
		TH_LOG("dirty %#llx", (unsigned long long)bm);
	for (i = 0; i < ARRAY_SIZE(second); i++)
		EXPECT_EQ(0xd2000000 + i,
			  read32(_metadata, &self->v, RAM_GPA + second[i] * PG));
	run_hlt(_metadata, &self->v);
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &bm));
	EXPECT_EQ(0, bm);
}

/* vmmem's log of [gpa, gpa + 64 pages), harvested, as a page mask. */
static uint64_t vm_harvest64(struct __test_metadata *_metadata,
			     struct vmm *v, uint64_t gpa)
{
	uint64_t bm = 0;
	int64_t n = vmmem_get_and_reset(v->vm, gpa, 64 * PG, &bm);

	EXPECT_LE(0, n) TH_LOG("vmmem_get_and_reset: %s", strerror(-n));
	return bm;
}

/* What KVM's log says of [RAM_GPA, + 64 pages), marked in vmmem's. */
static void mark_kvm_log(struct __test_metadata *_metadata, struct vmm *v,
			 uint64_t kbm)
{
	unsigned int i;

	for (i = 0; i < 64; i++)
		if (kbm >> i & 1)
			ASSERT_EQ(0, vmmem_mark_dirty(v->vm, RAM_GPA + i * PG,
						      PG));
}

/*
 * Case 6: vmmem's dirty log sees the guest's writes through the memslot:
 * a harvest write-protects the pages in the host (the MMU notifiers make
 * KVM drop its mappings), so the guest's next write to each faults in
 * through page_mkwrite and is logged, at exactly the pages written, round
 * after round, and it covers what KVM's own log reports. A user-backed
 * region's guest writes are the owner's to mark (uapi): KVM's log, marked
 * with vmmem_mark_dirty(), makes one log again.
 */
TEST_F_TIMEOUT(mem, vmmem_log_sees_guest_writes_and_covers_kvm_log, 120)
{
	const uint64_t size = 64 * PG;
	static const unsigned int first[] = { 1, 2, 7, 33, 63 };
	static const unsigned int second[] = { 7, 20 };
	const uint64_t host = RAM_GPA + 40 * PG;
	struct asm32 a = { .n = 0 };
	uint64_t bm, kbm;
	unsigned int i;

	vmm_mem(_metadata, &self->v, variant->memfd, RAM_GPA, size,
		VMMEM_REGION_DIRTY_LOG, NULL, 0, KVM_MEM_LOG_DIRTY_PAGES);
	write32(_metadata, &self->v, host, 0x40570001);
	g_load_out(&a, host);
	for (i = 0; i < ARRAY_SIZE(first); i++)
		g_store(&a, RAM_GPA + first[i] * PG + PG - 4, 0xd1000000 + i);
	g_load_out(&a, host);
	for (i = 0; i < ARRAY_SIZE(second); i++)
		g_store(&a, RAM_GPA + second[i] * PG, 0xd2000000 + i);
	g_out(&a, 2);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	/* vmmem's own writes: the program's page and the host's dword. */
	EXPECT_EQ(page_mask((const unsigned int []){ 0, 40 }, 2),
		  vm_harvest64(_metadata, &self->v, RAM_GPA));
	EXPECT_EQ(0x40570001, run_out(_metadata, &self->v));
	kbm = 0;
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &kbm));
	/* Reads and OUTs dirty nothing. */
	EXPECT_EQ(0, vm_harvest64(_metadata, &self->v, RAM_GPA));
	write32(_metadata, &self->v, host, 0x40570002);

	EXPECT_EQ(0x40570002, run_out(_metadata, &self->v));
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &kbm));
	EXPECT_EQ(page_mask(first, ARRAY_SIZE(first)), kbm);
	bm = vm_harvest64(_metadata, &self->v, RAM_GPA);
	if (variant->memfd) {
		/* Only vmmem's write; the guest's are KVM's to report. */
		EXPECT_EQ(1ULL << 40, bm) TH_LOG("dirty %#llx",
						 (unsigned long long)bm);
		mark_kvm_log(_metadata, &self->v, kbm);
		bm |= vm_harvest64(_metadata, &self->v, RAM_GPA);
	}
	EXPECT_EQ(page_mask(first, ARRAY_SIZE(first)) | 1ULL << 40, bm)
		TH_LOG("dirty %#llx", (unsigned long long)bm);

	/* The harvest write-protected them again: the next round is exact. */
	EXPECT_EQ(2, run_out(_metadata, &self->v));
	run_hlt(_metadata, &self->v);
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, &kbm));
	EXPECT_EQ(page_mask(second, ARRAY_SIZE(second)), kbm);
	bm = vm_harvest64(_metadata, &self->v, RAM_GPA);
	if (variant->memfd) {
		EXPECT_EQ(0, bm);
		mark_kvm_log(_metadata, &self->v, kbm);
		bm = vm_harvest64(_metadata, &self->v, RAM_GPA);
	}
	EXPECT_EQ(page_mask(second, ARRAY_SIZE(second)), bm)
		TH_LOG("dirty %#llx", (unsigned long long)bm);
	for (i = 0; i < ARRAY_SIZE(second); i++)
		EXPECT_EQ(0xd2000000 + i,
			  read32(_metadata, &self->v, RAM_GPA + second[i] * PG));
}

/*
 * Case 7: KVM's own writes to guest memory. The kvmclock page is written
 * by KVM, at a vCPU's entry, through a kernel mapping of the page that it
 * caches (its gfn-to-pfn cache) and keeps across entries: no vCPU store,
 * no page fault of the guest's. It must be logged all the same: a harvest
 * write-protects the page, whose MMU notifier drops KVM's cached mapping,
 * and KVM's next write takes the page writable again, through
 * page_mkwrite. Each round sets the clock (so that every vCPU updates its
 * kvmclock at its next entry), runs the guest once, harvests and copies
 * what was reported; the copy must equal guest memory at the end.
 */
#define KVMCLOCK_GPA	(RAM_GPA + 30 * PG)
#define KVMCLOCK_ROUNDS	8

TEST_F_TIMEOUT(mem, kvm_writes_to_its_kvmclock_page_are_logged, 120)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msrs = { .hdr.nmsrs = 1 };
	unsigned char shadow[PG], now[PG];
	struct kvm_clock_data clock;
	struct asm32 a = { .n = 0 };
	unsigned int round, reported = 0;
	uint32_t version0;
	uint64_t bm;

	if (variant->memfd)
		SKIP(return, "user-backed: KVM's writes are KVM's to log");
	vmm_mem(_metadata, &self->v, false, RAM_GPA, 64 * PG,
		VMMEM_REGION_DIRTY_LOG, NULL, 0, 0);
	for (round = 0; round <= KVMCLOCK_ROUNDS; round++)
		g_out(&a, round);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);
	msrs.e.index = MSR_KVM_SYSTEM_TIME_NEW;
	msrs.e.data = KVMCLOCK_GPA | 1;		/* enabled */
	ASSERT_EQ(1, ioctl(self->v.g.vcpu, KVM_SET_MSRS, &msrs))
		TH_LOG("KVM_SET_MSRS kvmclock: %s", strerror(errno));
	/* the first entry writes the clock: copy it as a save's round 0 does */
	EXPECT_EQ(0, run_out(_metadata, &self->v));
	version0 = read32(_metadata, &self->v, KVMCLOCK_GPA);
	EXPECT_NE(0, version0) TH_LOG("KVM wrote no kvmclock");
	vm_harvest64(_metadata, &self->v, RAM_GPA);
	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, KVMCLOCK_GPA, shadow, PG,
				      NULL));
	for (round = 1; round <= KVMCLOCK_ROUNDS; round++) {
		ASSERT_EQ(0, ioctl(self->v.g.vm, KVM_GET_CLOCK, &clock));
		clock.flags = 0;
		ASSERT_EQ(0, ioctl(self->v.g.vm, KVM_SET_CLOCK, &clock));
		EXPECT_EQ(round, run_out(_metadata, &self->v));
		bm = vm_harvest64(_metadata, &self->v, RAM_GPA);
		if (bm >> 30 & 1) {
			reported++;
			ASSERT_EQ(0, vmmem_read_exact(self->v.vm, KVMCLOCK_GPA,
						      shadow, PG, NULL));
		}
		EXPECT_EQ(0, bm & ~(1ULL << 30))
			TH_LOG("dirty %#llx", (unsigned long long)bm);
	}
	run_hlt(_metadata, &self->v);
	bm = vm_harvest64(_metadata, &self->v, RAM_GPA);
	if (bm >> 30 & 1)
		ASSERT_EQ(0, vmmem_read_exact(self->v.vm, KVMCLOCK_GPA, shadow,
					      PG, NULL));
	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, KVMCLOCK_GPA, now, PG, NULL));
	ksft_print_msg("kvmclock version %u -> %u, reported in %u of %u rounds\n",
		       version0, read32(_metadata, &self->v, KVMCLOCK_GPA),
		       reported, KVMCLOCK_ROUNDS);
	EXPECT_LT(version0, read32(_metadata, &self->v, KVMCLOCK_GPA));
	EXPECT_EQ(KVMCLOCK_ROUNDS, reported);
	EXPECT_EQ(0, memcmp(shadow, now, PG)) TH_LOG("a write of KVM's was lost");
}

/* --- pre-copy with a running guest --------------------------------------- */

#define PC_PAGES	64		/* data pages the guest writes */
#define PC_DATA		(RAM_GPA + PG)	/* after the program's page */
#define PC_STOP		(PC_DATA + PC_PAGES * PG)	/* the host's flag */
#define PC_SIZE		(PC_STOP + PG - RAM_GPA)
#define PC_ROUNDS	12

struct vcpu_thread {
	struct vmm *v;
	int ret;		/* the exit reason, or -errno */
};

static void *vcpu_run(void *arg)
{
	struct vcpu_thread *t = arg;

	t->ret = kg_run(&t->v->g);
	return NULL;
}

/*
 * Copies the pages dirty in [RAM_GPA, RAM_GPA + PC_SIZE) to @shadow; adds
 * them to @seen. Returns the number of pages.
 */
static long pc_round(struct __test_metadata *_metadata, struct vmm *v,
		     unsigned char *shadow, uint64_t *seen)
{
	uint64_t bm[(PC_SIZE / PG + 63) / 64];
	long n = vmmem_get_and_reset(v->vm, RAM_GPA, PC_SIZE, bm), i;

	EXPECT_LE(0, n) TH_LOG("vmmem_get_and_reset: %s", strerror(-n));
	for (i = 0; i < (long)(PC_SIZE / PG); i++) {
		if (!(bm[i / 64] >> (i % 64) & 1))
			continue;
		seen[i / 64] |= 1ULL << (i % 64);
		EXPECT_EQ(0, vmmem_read_exact(v->vm, RAM_GPA + i * PG,
					      shadow + i * PG, PG, NULL));
	}
	return n;
}

/*
 * The pre-copy invariant with a running guest: its vCPU keeps writing
 * (through the memslot) while the VMM copies the dirty pages to a shadow,
 * round after round; after the guest stops and a last round, the shadow
 * equals guest memory, and vmmem's log covered every page KVM's did.
 */
TEST_F_TIMEOUT(mem, precopy_of_a_running_guest_ends_with_an_exact_copy, 120)
{
	uint64_t seen[(PC_SIZE / PG + 63) / 64] = { 0 };
	uint64_t kvm_seen[(PC_SIZE / PG + 63) / 64] = { 0 }, kbm[2];
	unsigned char *shadow = malloc(PC_SIZE), *now = malloc(PC_SIZE);
	struct vcpu_thread t = { .v = &self->v };
	struct asm32 a = { .n = 0 };
	unsigned int round, busy = 0, i;
	pthread_t th;
	long n;

	if (variant->memfd)
		SKIP(return, "user-backed: the guest's writes are KVM's to log");
	ASSERT_NE(NULL, shadow);
	ASSERT_NE(NULL, now);
	vmm_mem(_metadata, &self->v, false, RAM_GPA, PC_SIZE,
		VMMEM_REGION_DIRTY_LOG, NULL, 0, KVM_MEM_LOG_DIRTY_PAGES);
	g_write_loop(&a, PC_DATA, PC_PAGES, PC_STOP);
	vmm_load(_metadata, &self->v, &a);
	/* Round 0: everything, before the guest runs. */
	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, RAM_GPA, shadow, PC_SIZE,
				      NULL));
	vm_harvest64(_metadata, &self->v, RAM_GPA);
	vm_harvest64(_metadata, &self->v, RAM_GPA + 64 * PG);
	ASSERT_EQ(0, pthread_create(&th, NULL, vcpu_run, &t));
	for (round = 0; round < PC_ROUNDS; round++) {
		usleep(20000);
		n = pc_round(_metadata, &self->v, shadow, seen);
		busy += n > 0;
		memset(kbm, 0, sizeof(kbm));
		ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, kbm));
		for (i = 0; i < ARRAY_SIZE(kbm); i++)
			kvm_seen[i] |= kbm[i];
	}
	write32(_metadata, &self->v, PC_STOP, 1);
	pthread_join(th, NULL);
	ASSERT_EQ(KVM_EXIT_HLT, t.ret) TH_LOG("the guest did not stop at hlt");
	pc_round(_metadata, &self->v, shadow, seen);
	memset(kbm, 0, sizeof(kbm));
	ASSERT_EQ(0, kg_dirty_log(&self->v.g, 0, kbm));
	for (i = 0; i < ARRAY_SIZE(kbm); i++)
		kvm_seen[i] |= kbm[i];

	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, RAM_GPA, now, PC_SIZE, NULL));
	ksft_print_msg("%u of %u rounds found dirty pages; guest counter %#x\n",
		       busy, PC_ROUNDS, read32(_metadata, &self->v, PC_DATA));
	EXPECT_LE(2, busy);
	EXPECT_EQ(0, memcmp(shadow, now, PC_SIZE));
	/* every data page was written, and logged */
	EXPECT_EQ(~1ULL, seen[0]);
	for (i = 0; i < ARRAY_SIZE(kvm_seen); i++) {
		unsigned long long k = kvm_seen[i], m = seen[i];

		EXPECT_EQ(k, k & m)
			TH_LOG("KVM logged %#llx, vmmem %#llx (word %u)",
			       k, m, i);
	}
	free(shadow);
	free(now);
}

/* --- 2 MiB pages ---------------------------------------------------------- */

#define HUGE_GPA	0x400000ULL		/* 2 MiB aligned */
#define HUGE_SIZE	(8ULL << 20)

/* KVM's statistic @name of the VM (KVM_GET_STATS_FD), or -1. */
static long kvm_vm_stat(struct kguest *g, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	long val = -1;
	uint64_t v;
	uint32_t i;
	int fd = ioctl(g->vm, KVM_GET_STATS_FD, NULL);

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	dsize = sizeof(*d) + h.name_size;
	d = malloc(dsize);
	for (i = 0; d && i < h.num_desc; i++) {
		if (pread(fd, d, dsize, h.desc_offset + i * dsize) != dsize)
			break;
		if (strcmp(d->name, name))
			continue;
		if (pread(fd, &v, 8, h.data_offset + d->offset) == 8)
			val = v;
		break;
	}
	free(d);
	close(fd);
	return val;
}

/* Writes a dword to each page of [gpa, gpa + pages), then OUT @tag. */
static void g_touch_pages(struct asm32 *a, uint32_t gpa, uint32_t pages,
			  uint32_t tag)
{
	static const uint8_t body[] = {
		0x89, 0xc8,			/* loop: mov eax, ecx */
		0xc1, 0xe0, 0x0c,		/* shl eax, 12 */
		0x89, 0x88,			/* mov [eax + imm32], ecx */
	};
	unsigned int loop;

	emit8(a, 0xb9);				/* mov ecx, 0 */
	emit32(a, 0);
	loop = a->n;
	emit(a, body, sizeof(body));
	emit32(a, gpa);
	emit8(a, 0x41);				/* inc ecx */
	emit8(a, 0x81);				/* cmp ecx, imm32 */
	emit8(a, 0xf9);
	emit32(a, pages);
	emit8(a, 0x75);				/* jne loop */
	emit8(a, (uint8_t)(loop - (a->n + 1)));
	g_out(a, tag);
}

/*
 * KVM maps a guest on vmmem's 2 MiB pages with 2 MiB entries, with 4 KiB
 * ones while vmmem logs the region (and the log sees every page the
 * guest writes), and with 2 MiB again once the VMM maps the memory anew
 * after DIRTY_STOP. With the module's huge_pages off: 4 KiB throughout.
 */
TEST_F_TIMEOUT(mem, a_guest_on_2m_pages_is_mapped_2m_and_4k_while_logged, 120)
{
	const uint32_t pages = HUGE_SIZE / PG;
	static uint64_t bmp[HUGE_SIZE / PG / 64];
	struct asm32 a = { .n = 0 };
	long want2m, p2m, p4k;
	struct gmem *m;
	char param[8] = "";
	int64_t n;
	void *again;
	unsigned int i;

	if (variant->memfd)
		SKIP(return, "user-backed: its pages are the owner's");
	read_file_str("/sys/module/vmmem/parameters/huge_pages", param,
		      sizeof(param));
	/* at least 90 % of what the guest touched, in 2 MiB entries */
	want2m = param[0] == 'Y' ? (HUGE_SIZE / (2 << 20)) * 9 / 10 : 0;
	vmm_mem(_metadata, &self->v, false, RAM_GPA, RAM_SIZE, 0, NULL, 0, 0);
	m = vmm_mem(_metadata, &self->v, false, HUGE_GPA, HUGE_SIZE, 0, NULL,
		    0, 0);
	ASSERT_EQ(param[0] == 'Y' ? HUGE_SIZE >> 21 : 0, m->info.huge_chunks);
	for (i = 1; i <= 3; i++)
		g_touch_pages(&a, HUGE_GPA, pages, i);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	ASSERT_EQ(1, run_out(_metadata, &self->v));
	p2m = kvm_vm_stat(&self->v.g, "pages_2m");
	p4k = kvm_vm_stat(&self->v.g, "pages_4k");
	ksft_print_msg("huge: pages_2m %ld, pages_4k %ld\n", p2m, p4k);
	ASSERT_LE(0, p2m) TH_LOG("no pages_2m in KVM's statistics");
	if (want2m) {
		EXPECT_LE(want2m, p2m);
	} else {
		EXPECT_EQ(0, p2m);
	}

	ASSERT_EQ(1, vmmem_dirty_start(self->v.vm, HUGE_GPA, HUGE_SIZE));
	ASSERT_EQ(2, run_out(_metadata, &self->v));
	p2m = kvm_vm_stat(&self->v.g, "pages_2m");
	p4k = kvm_vm_stat(&self->v.g, "pages_4k");
	ksft_print_msg("logged: pages_2m %ld, pages_4k %ld\n", p2m, p4k);
	EXPECT_EQ(0, p2m);
	EXPECT_LE(pages, p4k);
	n = vmmem_get_and_reset(self->v.vm, HUGE_GPA, HUGE_SIZE, bmp);
	EXPECT_EQ(pages, n);

	/* a new mapping at the memslot's address: huge again */
	ASSERT_EQ(1, vmmem_dirty_stop(self->v.vm, HUGE_GPA, HUGE_SIZE));
	again = mmap(m->hva, HUGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED, vmmem_fd(self->v.vm),
		     m->info.mmap_offset);
	ASSERT_EQ(m->hva, again);
	ASSERT_EQ(3, run_out(_metadata, &self->v));
	p2m = kvm_vm_stat(&self->v.g, "pages_2m");
	p4k = kvm_vm_stat(&self->v.g, "pages_4k");
	ksft_print_msg("after stop: pages_2m %ld, pages_4k %ld\n", p2m, p4k);
	if (want2m) {
		EXPECT_LE(want2m, p2m);
	} else {
		EXPECT_EQ(0, p2m);
	}
	for (i = 0; i < pages; i += 511)
		EXPECT_EQ(i, read32(_metadata, &self->v, HUGE_GPA + i * PG));
	run_hlt(_metadata, &self->v);
}

/* removal: as mem, with the baseline of a leak check taken first. */
FIXTURE(removal) {
	struct vmm v;
};

FIXTURE_VARIANT(removal) {
	bool memfd;
};

FIXTURE_VARIANT_ADD(removal, kernel_region) { .memfd = false };
FIXTURE_VARIANT_ADD(removal, memfd_region) { .memfd = true };

FIXTURE_SETUP(removal)
{
	vmm_setup(_metadata, &self->v, true, false);
}

FIXTURE_TEARDOWN(removal)
{
	vmm_close(&self->v);
}

/*
 * Case 6: VMMEM_REMOVE_REGION while a memslot maps the region. vmmem no
 * longer reaches it, the guest runs on in the old pages (which the mapping
 * keeps), and once all is closed nothing is left behind.
 */
TEST_F_TIMEOUT(removal, under_a_live_memslot_breaks_and_leaks_nothing, 120)
{
	const uint64_t d0 = RAM_GPA + 3 * PG, d1 = RAM_GPA + 4 * PG + 8;
	const uint64_t d2 = RAM_GPA + LEAK_SIZE - 2 * PG;
	struct vmmem_region_info info;
	struct asm32 a = { .n = 0 };
	struct gmem *m;
	uint32_t val;
	int ret;

	m = vmm_mem(_metadata, &self->v, variant->memfd, RAM_GPA, LEAK_SIZE,
		    0, NULL, 0, 0);
	write32(_metadata, &self->v, d1, 0x40570004);
	g_store(&a, d0, 0x9e570003);
	g_out(&a, 1);
	g_load_out(&a, d0);
	g_load_out(&a, d1);
	g_store(&a, d2, 0x9e572000);
	g_load_out(&a, d2);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	ASSERT_EQ(1, run_out(_metadata, &self->v));
	EXPECT_EQ(0x9e570003, read32(_metadata, &self->v, d0));
	ret = vmmem_remove_region(self->v.vm, m->info.id);
	ASSERT_EQ(0, ret) TH_LOG("remove: %s", strerror(-ret));
	EXPECT_EQ(-ENXIO, vmmem_read_obj(self->v.vm, d0, &val));
	EXPECT_EQ(-ENXIO, vmmem_find_region(self->v.vm, d0, &info));

	/* The memslot still maps the old pages: the guest does not notice. */
	EXPECT_EQ(0x9e570003, run_out(_metadata, &self->v));
	EXPECT_EQ(0x40570004, run_out(_metadata, &self->v));
	EXPECT_EQ(0x9e572000, run_out(_metadata, &self->v));
	run_hlt(_metadata, &self->v);
	/* About the mapping: the guest's last store is in it. */
	memcpy(&val, (char *)m->hva + (d2 - RAM_GPA), 4);
	EXPECT_EQ(0x9e572000, val);

	vmm_close(&self->v);
	expect_nothing_leaked(_metadata, &self->v);
}

/* span: one mmap() over two adjacent regions. */
FIXTURE(span) {
	struct vmm v;
};

FIXTURE_SETUP(span)
{
	vmm_setup(_metadata, &self->v, false, false);
}

FIXTURE_TEARDOWN(span)
{
	vmm_close(&self->v);
}

/*
 * Case 2: regions A and B added one after the other get consecutive mmap
 * offsets and contiguous GPAs; one mmap() over both is one memslot, and a
 * guest access across their boundary lands in both. (Needs mmap() to
 * cover any page range of [0, lseek(SEEK_END)): fails with EINVAL before.)
 */
TEST_F_TIMEOUT(span, one_mmap_over_adjacent_regions_is_one_memslot, 120)
{
	const uint64_t a_gpa = RAM_GPA, a_size = 8 * PG;
	const uint64_t b_gpa = a_gpa + a_size, b_size = 8 * PG;
	const uint64_t edge = b_gpa - 2;	/* a dword across A|B */
	static const struct { uint32_t off, val; } gw[] = {
		{ 3 * PG + 0x40, 0x9e57a003 }, { 8 * PG + 0x40, 0x9e57b000 },
		{ 16 * PG - 4, 0x9e57b007 },
	};
	static const struct { uint32_t off, val; } hw[] = {
		{ 5 * PG + 0x80, 0x4057a005 }, { 10 * PG + 0x80, 0x4057b002 },
	};
	struct vmmem_region_info ra, rb;
	struct asm32 a = { .n = 0 };
	uint32_t val;
	void *map;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vmmem_add_region(self->v.vm, a_gpa, a_size, NULL, 0, &ra));
	ASSERT_EQ(0, vmmem_add_region(self->v.vm, b_gpa, b_size, NULL, 0, &rb));
	ASSERT_EQ(ra.mmap_offset + a_size, rb.mmap_offset);
	map = mmap(NULL, a_size + b_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vmmem_fd(self->v.vm), ra.mmap_offset);
	ASSERT_NE(MAP_FAILED, map)
		TH_LOG("mmap of A and B in one: %s (a mapping may not span regions yet)",
		       strerror(errno));
	/* vmm_close() unmaps it */
	self->v.mem[self->v.nmem++] = (struct gmem){
		.gpa = a_gpa, .size = a_size + b_size, .hva = map, .memfd = -1,
	};
	ret = kg_slot(&self->v.g, 0, a_gpa, a_size + b_size, map, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->v.g.what, strerror(-ret));

	for (i = 0; i < ARRAY_SIZE(hw); i++)
		write32(_metadata, &self->v, a_gpa + hw[i].off, hw[i].val);
	for (i = 0; i < ARRAY_SIZE(gw); i++)
		g_store(&a, a_gpa + gw[i].off, gw[i].val);
	g_store(&a, edge, 0x0b0a0d0c);
	g_out(&a, 1);
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		g_load_out(&a, a_gpa + hw[i].off);
	g_load_out(&a, edge);
	g_hlt(&a);
	vmm_load(_metadata, &self->v, &a);

	ASSERT_EQ(1, run_out(_metadata, &self->v));
	for (i = 0; i < ARRAY_SIZE(gw); i++)
		EXPECT_EQ(gw[i].val, read32(_metadata, &self->v,
					    a_gpa + gw[i].off));
	/* half in A, half in B: vmmem reads across the regions */
	val = 0;
	ASSERT_EQ(0, vmmem_read_exact(self->v.vm, edge, &val, 4, NULL));
	EXPECT_EQ(0x0b0a0d0c, val);
	val = 0x1d2c3b4a;
	ASSERT_EQ(0, vmmem_write_exact(self->v.vm, edge, &val, 4, NULL));
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		EXPECT_EQ(hw[i].val, run_out(_metadata, &self->v));
	EXPECT_EQ(0x1d2c3b4a, run_out(_metadata, &self->v));
	run_hlt(_metadata, &self->v);
}

/* kill: a child VMM runs a guest that never stops; it is SIGKILLed. */
FIXTURE(kill) {
	struct vmm v;
};

FIXTURE_VARIANT(kill) {
	bool memfd;
};

FIXTURE_VARIANT_ADD(kill, kernel_region) { .memfd = false };
FIXTURE_VARIANT_ADD(kill, memfd_region) { .memfd = true };

FIXTURE_SETUP(kill)
{
	/* The child opens its own everything: here only check KVM works. */
	vmm_setup(_metadata, &self->v, true, true);
}

FIXTURE_TEARDOWN(kill)
{
	if (self->v.child > 0) {
		kill(self->v.child, SIGKILL);
		waitpid(self->v.child, NULL, 0);
	}
	vmm_close(&self->v);
}

/* Reports of the endless guest: one every 2^22 iterations of its loop. */
#define KILL_REPORT_MASK	0x3fffff
#define KILL_REPORTS		3

/*
 * The endless guest: counts in eax, stores the count at CNT and at a
 * place that walks over 64 KiB of DATA, and OUTs it now and then.
 */
static void kill_program(struct asm32 *a)
{
	const uint32_t cnt = RAM_GPA + PG, data = RAM_GPA + (1 << 20);
	unsigned int loop;

	g_mov_eax(a, 0);
	loop = a->n;
	emit8(a, 0x40);				/* inc eax */
	emit8(a, 0xa3);				/* mov [cnt], eax */
	emit32(a, cnt);
	emit8(a, 0x89);				/* mov ebx, eax */
	emit8(a, 0xc3);
	emit8(a, 0x81);				/* and ebx, 0xfffc */
	emit8(a, 0xe3);
	emit32(a, 0xfffc);
	emit8(a, 0x89);				/* mov [ebx + data], eax */
	emit8(a, 0x83);
	emit32(a, data);
	emit8(a, 0xa9);				/* test eax, mask */
	emit32(a, KILL_REPORT_MASK);
	emit8(a, 0x75);				/* jnz loop */
	emit8(a, (uint8_t)(loop - (a->n + 1)));
	g_out_eax(a);
	emit8(a, 0xeb);				/* jmp loop */
	emit8(a, (uint8_t)(loop - (a->n + 1)));
}

/* The VMM that is killed: reports each OUT on @wfd; exits only on error. */
static void __attribute__((noreturn)) kill_child(bool memfd, int wfd)
{
	struct asm32 a = { .n = 0 };
	struct vmm v;
	const char *what = "kg_open";
	int64_t val;
	int ret;

	vmm_init(&v);
	ret = kg_open(&v.g);
	if (ret)
		goto fail_kvm;
	what = "vmmem_open";
	ret = vmmem_open(&v.vm);
	if (ret)
		goto fail;
	ret = gm_add(v.vm, &v.mem[0], memfd, RAM_GPA, LEAK_SIZE, 0, NULL, 0,
		     &what);
	if (ret)
		goto fail;
	v.nmem = 1;
	ret = kg_slot(&v.g, 0, RAM_GPA, LEAK_SIZE, v.mem[0].hva, 0);
	if (ret)
		goto fail_kvm;
	kill_program(&a);
	what = "program";
	ret = vmmem_write_exact(v.vm, CODE_GPA, a.b, a.n, NULL);
	if (ret)
		goto fail;
	ret = kg_start(&v.g, CODE_GPA);
	if (ret)
		goto fail_kvm;
	for (;;) {
		ret = kg_run(&v.g);
		if (ret < 0)
			goto fail_kvm;
		val = kg_out_value(&v.g);
		if (val < 0) {
			char buf[160];

			fprintf(stderr, "# kill child: %s\n",
				kg_describe(&v.g, buf, sizeof(buf)));
			_exit(3);
		}
		if (write(wfd, &val, 4) != 4)
			_exit(4);
	}
fail_kvm:
	what = v.g.what;
fail:
	fprintf(stderr, "# kill child: %s: %s\n", what, strerror(-ret));
	_exit(2);
}

/* Case 7: SIGKILL of a VMM whose guest runs leaves nothing behind. */
TEST_F_TIMEOUT(kill, sigkill_of_a_running_vmm_leaks_nothing, 120)
{
	struct pollfd pfd;
	uint32_t val, last = 0;
	double t[2] = { 0, 0 }, gap;
	char path[64], sc[128];
	int p[2], status, i;
	ssize_t n;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fflush(stdout);
	fflush(stderr);
	self->v.child = fork();
	ASSERT_LE(0, self->v.child);
	if (!self->v.child) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		kill_child(variant->memfd, p[1]);
	}
	close(p[1]);
	/* Wait until the guest has gone round its loop a few times. */
	for (i = 0; i < KILL_REPORTS; i++) {
		pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
		ASSERT_EQ(1, poll(&pfd, 1, 60000)) TH_LOG("no report from the guest");
		n = read(p[0], &val, 4);
		if (n == 0) {
			waitpid(self->v.child, &status, 0);
			self->v.child = 0;
			ASSERT_NE(0, n) TH_LOG("the VMM exited early: status %#x",
					       status);
		}
		ASSERT_EQ(4, n);
		EXPECT_EQ(0, val & KILL_REPORT_MASK);
		EXPECT_LT(last, val);
		last = val;
		t[0] = t[1];
		t[1] = now_sec();	/* when the report came */
	}
	/*
	 * Half a report interval on, the child is back in KVM_RUN (a report
	 * takes a few ms) and its guest mid-loop: kill it there.
	 */
	gap = t[1] - t[0];
	usleep(gap / 2 * 1e6);
	snprintf(path, sizeof(path), "/proc/%d/syscall", self->v.child);
	if (read_file_str(path, sc, sizeof(sc)))
		snprintf(sc, sizeof(sc), "?");
	ASSERT_EQ(0, kill(self->v.child, SIGKILL));
	ksft_print_msg("guest loop: %u iterations per report, %.3f s apart; "
		       "VMM at the kill: %.16s\n", KILL_REPORT_MASK + 1, gap, sc);
	ASSERT_EQ(self->v.child, waitpid(self->v.child, &status, 0));
	self->v.child = 0;
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("status %#x", status);
	close(p[0]);

	vmm_close(&self->v);
	expect_nothing_leaked(_metadata, &self->v);
}

TEST_HARNESS_MAIN
