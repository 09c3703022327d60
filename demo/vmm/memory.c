// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM: each range of a PC's memory map is one vmmem region, and the
 * same memory is a KVM memslot (see README.md, "vmmem with KVM").
 *
 *   [0, low)                 low RAM, at most LOW_RAM_MAX: above it is
 *                            the 32-bit hole with the devices
 *   [4 GiB, 4 GiB + high)    the rest of the RAM, if any
 *
 * Backing (--memfd, --anon; module-allocated by default):
 *   kernel  the module allocates zeroed pages (no user memory given);
 *           vmmem_share_region() mmap()s them from /dev/vmmem, and that
 *           mapping is what KVM and a vhost-user backend map
 *   memfd   a memfd of ours, mapped shared and pinned as a user region;
 *           the backend maps the memfd
 *   anon    anonymous memory of ours, pinned as a user region: KVM then
 *           maps ordinary anonymous memory (with transparent huge pages
 *           if it can), the baseline for the boot benchmark; no
 *           vhost-user backend can map it
 *
 * Either way every byte the VMM puts in guest memory goes through
 * libvmmem, and KVM sees the guest's writes as vmmem does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

static const char *const backing_name[] = {
	[RAM_KERNEL] = "module-allocated",
	[RAM_MEMFD] = "memfd, pinned",
	[RAM_ANON] = "anonymous, pinned",
};

/* Our own memory for a user region of @size bytes; returns the memfd. */
static void *user_memory(struct vmm *v, uint64_t size, int *fd)
{
	void *p;

	*fd = -1;
	if (v->backing == RAM_ANON) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			die("mmap %" PRIu64 " MiB: %s", size >> 20,
			    strerror(errno));
		/* As QEMU does for guest RAM. */
		madvise(p, size, MADV_HUGEPAGE);
		return p;
	}
	*fd = memfd_create("vmmem-vmm-ram", MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, size))
		die("memfd of %" PRIu64 " MiB: %s", size >> 20,
		    strerror(errno));
	/* Pinned user memory must be mapped writable. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	return p;
}

static void add_ram(struct vmm *v, uint64_t gpa, uint64_t size)
{
	struct ram *r = &v->ram[v->nram++];
	struct vmmem_share sh;
	void *user = NULL;
	int ret, memfd = -1;

	if (v->backing != RAM_KERNEL)
		user = user_memory(v, size, &memfd);
	ret = vmmem_add_region(v->vm, gpa, size, user, 0, NULL);
	if (ret == -ENOMEM && user)
		die("pinning %" PRIu64 " MiB at 0x%" PRIx64 ": %s (RLIMIT_MEMLOCK: ulimit -l, or CAP_IPC_LOCK)",
		    size >> 20, gpa, strerror(-ret));
	if (ret)
		die("vmmem_add_region 0x%" PRIx64 "+%" PRIu64 " MiB: %s", gpa,
		    size >> 20, strerror(-ret));
	/* What KVM and a backend are to map: our view, the fd, its offset. */
	ret = vmmem_share_region(v->vm, gpa, &sh);
	if (ret)
		die("vmmem_share_region 0x%" PRIx64 ": %s", gpa, strerror(-ret));
	/*
	 * --prefault: fill our page tables now, so that KVM's faults find the
	 * pages mapped instead of each going through the module's fault
	 * handler as the guest first touches it.
	 */
	if (v->prefault && madvise(sh.host, size, MADV_POPULATE_WRITE))
		die("MADV_POPULATE_WRITE 0x%" PRIx64 ": %s", gpa, strerror(errno));
	r->gpa = gpa;
	r->size = size;
	r->host = sh.host;
	r->fd = sh.fd >= 0 ? sh.fd : memfd;
	r->fd_offset = sh.fd >= 0 ? sh.mmap_offset : 0;
}

/*
 * After a dirty log: our mappings of module-allocated RAM again, over
 * themselves (KVM's memslots keep their addresses). Logging gave them
 * page tables of 4 KiB entries, which stay until the mapping goes; a new
 * mapping maps the region's 2 MiB pages with 2 MiB entries again, and
 * KVM its guest with them.
 */
void ram_remap(struct vmm *v)
{
	unsigned int i;

	for (i = 0; v->backing == RAM_KERNEL && i < v->nram; i++) {
		struct ram *r = &v->ram[i];

		if (mmap(r->host, r->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, r->fd,
			 (off_t)r->fd_offset) == MAP_FAILED)
			die("mmap RAM at 0x%" PRIx64 " again: %s", r->gpa,
			    strerror(errno));
	}
}

/* Low RAM up to @low_max (page-aligned), the rest at 4 GiB. */
void ram_setup(struct vmm *v, uint64_t size, uint64_t low_max)
{
	uint64_t low = size < low_max ? size : low_max;

	add_ram(v, 0, low);
	if (size > low)
		add_ram(v, HIGH_RAM_GPA, size - low);
}

/*
 * Documentation/virt/kvm/api.rst, 4.35 KVM_SET_USER_MEMORY_REGION: one slot
 * per region, over the same memory vmmem holds.
 */
void ram_add_memslots(struct vmm *v)
{
	unsigned int i;

	for (i = 0; i < v->nram; i++) {
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = v->ram[i].gpa,
			.memory_size = v->ram[i].size,
			.userspace_addr = (uintptr_t)v->ram[i].host,
		};

		if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot))
			die("KVM_SET_USER_MEMORY_REGION %u: %s", i,
			    strerror(errno));
	}
}

static int print_region(const struct vmmem_region_info *r, void *arg)
{
	char off[24] = "-";

	(void)arg;
	if (r->mmap_offset != VMMEM_NO_MMAP)
		snprintf(off, sizeof(off), "0x%" PRIx64,
			 (uint64_t)r->mmap_offset);
	printf("vmm:   %4u  0x%09" PRIx64 "-0x%09" PRIx64 "  %7" PRIu64
	       " MiB  %-6s  %s  %4u  %s\n", r->id, (uint64_t)r->guest_addr,
	       (uint64_t)(r->guest_addr + r->size - 1),
	       (uint64_t)r->size >> 20,
	       r->backing == VMMEM_BACKING_USER ? "user" : "kernel",
	       r->flags & VMMEM_REGION_READONLY ? "ro" : "rw",
	       r->huge_chunks, off);
	return 0;
}

/* The region table as the module has it (VMMEM_LIST_REGIONS). */
void ram_print(struct vmm *v)
{
	printf("vmm: guest RAM (%s), vmmem API %d, regions:\n",
	       backing_name[v->backing], vmmem_api_version(v->vm));
	printf("vmm:     id  guest range                   size  back    rw    2M  mmap offset\n");
	vmmem_for_each_region(v->vm, print_region, NULL);
}

static unsigned int e820_add(struct boot_e820_entry *e, unsigned int n,
			     unsigned int max, uint64_t addr, uint64_t size,
			     uint32_t type)
{
	if (n >= max)
		die("e820: more than %u entries", max);
	e[n].addr = addr;
	e[n].size = size;
	e[n].type = type;
	return n + 1;
}

/*
 * The e820 map of Documentation/arch/x86/zero-page.rst (e820_table at
 * 0x2d0): RAM as the regions say, minus the top of the first MiB, where a
 * PC has its EBDA, VGA window and BIOS, and we have the ACPI tables.
 */
unsigned int ram_e820(struct vmm *v, struct boot_e820_entry *e,
		      unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < v->nram; i++) {
		struct ram *r = &v->ram[i];

		if (r->gpa == 0) {
			n = e820_add(e, n, max, 0, EBDA_GPA, 1 /* RAM */);
			n = e820_add(e, n, max, EBDA_GPA, MiB - EBDA_GPA,
				     2 /* reserved */);
			n = e820_add(e, n, max, MiB, r->size - MiB, 1);
		} else {
			n = e820_add(e, n, max, r->gpa, r->size, 1);
		}
	}
	return n;
}

uint64_t ram_low_end(struct vmm *v)
{
	return v->ram[0].size;
}

/*
 * After KVM is closed: the library's mappings go with the handle, the
 * region's pages with the file; our own memory last.
 */
void ram_close(struct vmm *v)
{
	unsigned int i;
	int memfd[MAX_RAM];

	for (i = 0; i < v->nram; i++)
		memfd[i] = v->backing == RAM_MEMFD ? v->ram[i].fd : -1;
	vmmem_close(v->vm);
	v->vm = NULL;
	for (i = 0; i < v->nram; i++) {
		if (v->backing != RAM_KERNEL)
			munmap(v->ram[i].host, v->ram[i].size);
		if (memfd[i] >= 0)
			close(memfd[i]);
	}
	v->nram = 0;
}
