// SPDX-License-Identifier: GPL-2.0
/*
 * Loading Linux with the x86 boot protocol, 32-bit entry
 * (Documentation/arch/x86/boot.rst; Documentation/x86/ before 6.5).
 *
 * No firmware and no real-mode setup code runs: the VMM does what a boot
 * loader does and starts the vCPU at the protected-mode kernel.
 *
 *   1. the setup header, at offset 0x1f1 of the bzImage ("The Real-Mode
 *      Kernel Header"), is checked and copied into a zeroed struct
 *      boot_params, the "zero page" ("32-bit Boot Protocol");
 *   2. the protected-mode kernel, which starts at (setup_sects + 1) * 512 in
 *      the file, goes to 1 MiB ("Loading The Rest of The Kernel"); the
 *      initrd as high in low RAM as initrd_addr_max allows;
 *   3. the boot loader's fields of the header, the e820 map and the RSDP
 *      address are filled in (Documentation/arch/x86/zero-page.rst);
 *   4. the vCPU starts in flat 32-bit protected mode at code32_start with
 *      %esi pointing to the zero page.
 *
 * Every byte goes into guest memory through libvmmem: the kernel and the
 * initrd straight from their files (VMMEM_READ_FROM_FD, no buffer of
 * ours), the rest with VMMEM_WRITE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm.h"

#define SETUP_HEADER_OFF	0x1f1
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG		0xaa55
#define LOADER_UNDEFINED	0xff		/* type_of_loader: not registered */
#define BOOT_CS			0x10		/* __BOOT_CS */
#define BOOT_DS			0x18		/* __BOOT_DS */
#define X86_CR0_PE		0x1
#define X86_CR0_ET		0x10

static int open_file(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	*size = st.st_size;
	return fd;
}

/* @len bytes of file @fd from @off into guest memory, in the kernel. */
static void load_file(struct vmm *v, const char *what, int fd, uint64_t off,
		      uint64_t len, uint64_t gpa)
{
	size_t done = 0;
	int ret;

	ret = vmmem_read_exact_volatile_from(v->vm, gpa, fd, off, len, &done);
	if (ret)
		die("loading %s at 0x%" PRIx64 " (%" PRIu64 " bytes): %s after %zu bytes",
		    what, gpa, len, strerror(-ret), done);
	v->loader_calls++;
	v->loader_bytes += len;
}

static void write_guest(struct vmm *v, uint64_t gpa, const void *buf,
			size_t len)
{
	int ret = vmmem_write_exact(v->vm, gpa, buf, len, NULL);

	if (ret)
		die("writing %zu bytes at 0x%" PRIx64 ": %s", len, gpa,
		    strerror(-ret));
	v->loader_calls++;
	v->loader_bytes += len;
}

/* Step 1: the setup header, checked, in a zeroed zero page. */
static void read_setup_header(int fd, const char *path,
			      struct boot_params *bp)
{
	uint8_t hdr_end;
	size_t len;

	memset(bp, 0, sizeof(*bp));
	if (pread(fd, &hdr_end, 1, 0x201) != 1)
		die("%s: too short for a bzImage", path);
	/* "The end of setup header: 0x0202 + byte value at offset 0x0201" */
	len = 0x202 + hdr_end - SETUP_HEADER_OFF;
	if (len > sizeof(bp->hdr))
		len = sizeof(bp->hdr);
	if (pread(fd, &bp->hdr, len, SETUP_HEADER_OFF) != (ssize_t)len)
		die("%s: cannot read the setup header", path);
	if (bp->hdr.header != HDRS_MAGIC || bp->hdr.boot_flag != BOOT_FLAG)
		die("%s: not a Linux bzImage (no HdrS)", path);
	/* 2.06: cmdline_size; 2.10: init_size, pref_address. */
	if (bp->hdr.version < 0x20a)
		die("%s: boot protocol %#x, need 2.10 or later", path,
		    bp->hdr.version);
	if (!(bp->hdr.loadflags & LOADED_HIGH))
		die("%s: a zImage, not a bzImage", path);
}

/*
 * Where the initrd goes: "as high as possible" below initrd_addr_max and
 * the end of low RAM, and above the memory the kernel needs before it
 * reads its memory map (init_size from the runtime start; "init_size").
 */
static uint64_t initrd_gpa(struct vmm *v, const struct boot_params *bp,
			   uint64_t size)
{
	uint64_t top = ram_low_end(v), start, floor;
	uint64_t align = bp->hdr.kernel_alignment;

	if (top > (uint64_t)bp->hdr.initrd_addr_max + 1)
		top = (uint64_t)bp->hdr.initrd_addr_max + 1;
	start = KERNEL_GPA < bp->hdr.pref_address ? bp->hdr.pref_address :
						    KERNEL_GPA;
	if (bp->hdr.relocatable_kernel && align)
		start = (start + align - 1) & ~(align - 1);
	floor = start + bp->hdr.init_size;
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < floor)
		die("initrd of %" PRIu64 " MiB does not fit in low RAM above the kernel (0x%" PRIx64 "-0x%" PRIx64 ")",
		    size >> 20, floor, top);
	return (top - size) & ~(PAGE_SIZE - 1);
}

/*
 * Step 4, "32-bit Boot Protocol": protected mode, paging off, a GDT with
 * flat 4 GiB segments for __BOOT_CS (execute/read) and __BOOT_DS
 * (read/write) loaded, CS = __BOOT_CS, DS = ES = SS = __BOOT_DS,
 * interrupts off, %esi = the zero page, %ebp = %edi = %ebx = 0.
 * api.rst 4.12 KVM_SET_REGS, 4.14 KVM_SET_SREGS.
 */
static void start_cpu(struct vmm *v, uint32_t entry)
{
	/* base 0, limit 0xfffff pages, present, DPL 0, 32-bit, 4 KiB units */
	static const uint64_t gdt[4] = {
		[BOOT_CS / 8] = 0x00cf9b000000ffffULL,	/* code: execute/read */
		[BOOT_DS / 8] = 0x00cf93000000ffffULL,	/* data: read/write */
	};
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_CS,
		.type = 0xb, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0,
		.g = 1,
	};
	struct kvm_segment ds = cs;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rsi = ZERO_PAGE_GPA,
		.rflags = 0x2,		/* IF clear; bit 1 is always set */
	};

	/* The kernel's startup_32 loads its own GDT, but may reload ours. */
	write_guest(v, BOOT_GDT_GPA, gdt, sizeof(gdt));
	ds.selector = BOOT_DS;
	ds.type = 0x3;
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.gdt.base = BOOT_GDT_GPA;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;	/* caches on, paging off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS: %s", strerror(errno));
}

void boot_linux(struct vmm *v, const char *kernel, const char *initrd,
		const char *cmdline, uint64_t rsdp)
{
	static struct boot_params bp;
	uint64_t ksize, isize = 0, koff, igpa = 0;
	size_t clen = strlen(cmdline) + 1;
	int kfd, ifd = -1;

	kfd = open_file(kernel, &ksize);
	read_setup_header(kfd, kernel, &bp);

	/* Step 2: "setup_sects == 0 means 4". */
	koff = ((bp.hdr.setup_sects ? bp.hdr.setup_sects : 4) + 1) * 512ULL;
	if (koff >= ksize)
		die("%s: no protected-mode kernel after the setup code", kernel);
	load_file(v, kernel, kfd, koff, ksize - koff, KERNEL_GPA);
	close(kfd);
	if (initrd) {
		ifd = open_file(initrd, &isize);
		igpa = initrd_gpa(v, &bp, isize);
		load_file(v, initrd, ifd, 0, isize, igpa);
		close(ifd);
	}

	/* Step 3: what a boot loader fills in ("Details of Header Fields"). */
	if (clen > bp.hdr.cmdline_size + 1ULL)
		die("command line of %zu bytes, the kernel takes %u", clen - 1,
		    bp.hdr.cmdline_size);
	write_guest(v, CMDLINE_GPA, cmdline, clen);
	bp.hdr.type_of_loader = LOADER_UNDEFINED;
	bp.hdr.cmd_line_ptr = CMDLINE_GPA;
	bp.hdr.ramdisk_image = igpa;
	bp.hdr.ramdisk_size = isize;
	bp.hdr.code32_start = KERNEL_GPA;
	bp.e820_entries = ram_e820(v, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	bp.acpi_rsdp_addr = rsdp;	/* 2.14; older kernels scan for it */
	write_guest(v, ZERO_PAGE_GPA, &bp, sizeof(bp));

	printf("vmm: %s: boot protocol %u.%02u, %" PRIu64 " KiB at 0x%" PRIx64 "\n",
	       kernel, bp.hdr.version >> 8, bp.hdr.version & 0xff,
	       (ksize - koff) >> 10, (uint64_t)KERNEL_GPA);
	if (initrd)
		printf("vmm: %s: %" PRIu64 " KiB at 0x%" PRIx64 "\n", initrd,
		       isize >> 10, igpa);
	printf("vmm: command line: %s\n", cmdline);
	start_cpu(v, bp.hdr.code32_start);
}
