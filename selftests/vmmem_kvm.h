/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny KVM guest for the selftests: one VM, one vCPU in flat 32-bit
 * protected mode (no BIOS, no GDT in memory: KVM_SET_SREGS), and a hand
 * assembler for the few bytes of code it runs. The guest reports with OUT
 * to GUEST_PORT and stops with HLT. Shared by vmmem_kvm_test and the dirty
 * log's oracle (vmmem_dirty_oracle_test).
 */
#ifndef VMMEM_KVM_H
#define VMMEM_KVM_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#define GUEST_PORT	0xe9		/* no in-kernel device claims it */

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_NW	(1ULL << 29)
#define X86_CR0_CD	(1ULL << 30)

/* --- a hand assembler for 32-bit code ------------------------------------ */

struct asm32 {
	uint8_t b[512];
	unsigned int n;		/* may exceed sizeof(b): checked on load */
};

static inline void emit(struct asm32 *a, const void *p, unsigned int n)
{
	if (a->n + n <= sizeof(a->b))
		memcpy(a->b + a->n, p, n);
	a->n += n;
}

static inline void emit8(struct asm32 *a, uint8_t v)
{
	emit(a, &v, 1);
}

static inline void emit32(struct asm32 *a, uint32_t v)
{
	emit(a, &v, 4);		/* x86 is little-endian, host and guest */
}

/* mov eax, imm32 */
static inline void g_mov_eax(struct asm32 *a, uint32_t v)
{
	emit8(a, 0xb8);
	emit32(a, v);
}

/* mov eax, imm32; mov [gpa], eax */
static inline void g_store(struct asm32 *a, uint64_t gpa, uint32_t v)
{
	g_mov_eax(a, v);
	emit8(a, 0xa3);
	emit32(a, (uint32_t)gpa);
}

/* out GUEST_PORT, eax */
static inline void g_out_eax(struct asm32 *a)
{
	emit8(a, 0xe7);
	emit8(a, GUEST_PORT);
}

/* mov eax, [gpa]; out GUEST_PORT, eax: the guest reports what it read */
static inline void g_load_out(struct asm32 *a, uint64_t gpa)
{
	emit8(a, 0xa1);
	emit32(a, (uint32_t)gpa);
	g_out_eax(a);
}

/* mov eax, imm32; out GUEST_PORT, eax: a marker the test waits for */
static inline void g_out(struct asm32 *a, uint32_t v)
{
	g_mov_eax(a, v);
	g_out_eax(a);
}

static inline void g_hlt(struct asm32 *a)
{
	emit8(a, 0xf4);
}

/*
 * ecx = 0; loop: [data + (ecx * 7 % pages) * 4096 + (ecx % 1024) * 4] = ecx;
 * ecx++; if [stop] == 0 goto loop; hlt. @pages is a power of two: a guest
 * that keeps writing its pages until the host sets the flag at @stop.
 */
static inline void g_write_loop(struct asm32 *a, uint32_t data,
				uint32_t pages, uint32_t stop)
{
	static const uint8_t mul[] = {
		0x89, 0xc8,			/* loop: mov eax, ecx */
		0x6b, 0xc0, 0x07,		/* imul eax, eax, 7 */
		0x25,				/* and eax, imm32 */
	};
	static const uint8_t off[] = {
		0xc1, 0xe0, 0x0c,		/* shl eax, 12 */
		0x89, 0xca,			/* mov edx, ecx */
		0x81, 0xe2, 0xff, 0x03, 0, 0,	/* and edx, 1023 */
		0x8d, 0x84, 0x90,		/* lea eax, [eax + edx * 4 + imm32] */
	};
	unsigned int loop;

	emit8(a, 0xb9);				/* mov ecx, 0 */
	emit32(a, 0);
	loop = a->n;
	emit(a, mul, sizeof(mul));
	emit32(a, pages - 1);
	emit(a, off, sizeof(off));
	emit32(a, data);
	emit8(a, 0x89);				/* mov [eax], ecx */
	emit8(a, 0x08);
	emit8(a, 0x41);				/* inc ecx */
	emit8(a, 0x83);				/* cmp dword [stop], 0 */
	emit8(a, 0x3d);
	emit32(a, stop);
	emit8(a, 0x00);
	emit8(a, 0x74);				/* je loop */
	emit8(a, (uint8_t)(loop - (a->n + 1)));
	g_hlt(a);
}

/* --- one KVM VM with one vCPU -------------------------------------------- */

struct kguest {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned int exits;	/* KVM_RUN calls that returned */
	const char *what;	/* the step that failed */
	bool unavailable;	/* no /dev/kvm or no KVM_CREATE_VM */
};

static inline int kg_fail(struct kguest *g, const char *what)
{
	g->what = what;
	return errno ? -errno : -EIO;
}

static inline void kg_close(struct kguest *g)
{
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu >= 0)
		close(g->vcpu);
	if (g->vm >= 0)
		close(g->vm);
	if (g->kvm >= 0)
		close(g->kvm);
	g->run = NULL;
	g->vcpu = g->vm = g->kvm = -1;
}

/* CPUID as a real VMM sets it: all that KVM supports. */
static inline int kg_set_cpuid(struct kguest *g)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned int nent = 64;
	int ret;

	for (;;) {
		free(c);
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return kg_fail(g, "calloc");
		c->nent = nent;
		ret = ioctl(g->kvm, KVM_GET_SUPPORTED_CPUID, c);
		if (!ret)
			break;
		if (errno != E2BIG || nent >= 4096) {
			ret = kg_fail(g, "KVM_GET_SUPPORTED_CPUID");
			free(c);
			return ret;
		}
		nent *= 2;
	}
	ret = ioctl(g->vcpu, KVM_SET_CPUID2, c) ? kg_fail(g, "KVM_SET_CPUID2") : 0;
	free(c);
	return ret;
}

static inline int kg_open(struct kguest *g)
{
	int mmap_size;

	memset(g, 0, sizeof(*g));
	g->kvm = g->vm = g->vcpu = -1;
	g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm < 0) {
		g->unavailable = true;
		return kg_fail(g, "open /dev/kvm");
	}
	errno = EPROTO;
	if (ioctl(g->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return kg_fail(g, "KVM_GET_API_VERSION");
	g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0);
	if (g->vm < 0) {
		g->unavailable = true;
		return kg_fail(g, "KVM_CREATE_VM");
	}
	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
	if (g->vcpu < 0)
		return kg_fail(g, "KVM_CREATE_VCPU");
	mmap_size = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(*g->run))
		return kg_fail(g, "KVM_GET_VCPU_MMAP_SIZE");
	g->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      g->vcpu, 0);
	if (g->run == MAP_FAILED) {
		g->run = NULL;
		return kg_fail(g, "mmap kvm_run");
	}
	g->run_size = mmap_size;
	return kg_set_cpuid(g);
}

static inline int kg_check_extension(struct kguest *g, long cap)
{
	return ioctl(g->vm, KVM_CHECK_EXTENSION, cap);
}

static inline int kg_slot(struct kguest *g, uint32_t slot, uint64_t gpa,
		   uint64_t size, void *hva, uint32_t flags)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &m))
		return kg_fail(g, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/* Flat 32-bit protected mode, paging off, RIP at @rip. */
static inline int kg_start(struct kguest *g, uint64_t rip)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08,
		.type = 0xb,			/* execute/read, accessed */
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	data.selector = 0x10;
	data.type = 0x3;			/* read/write, accessed */
	if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs))
		return kg_fail(g, "KVM_GET_SREGS");
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	/* Caches on (reset has CD and NW set), protection on, no paging. */
	sregs.cr0 = (sregs.cr0 | X86_CR0_PE) & ~(X86_CR0_CD | X86_CR0_NW);
	if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs))
		return kg_fail(g, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;			/* bit 1 is always set */
	regs.rip = rip;
	if (ioctl(g->vcpu, KVM_SET_REGS, &regs))
		return kg_fail(g, "KVM_SET_REGS");
	return 0;
}

/* One KVM_RUN: the exit reason, or -errno. */
static inline int kg_run(struct kguest *g)
{
	int ret;

	do {
		ret = ioctl(g->vcpu, KVM_RUN, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return kg_fail(g, "KVM_RUN");
	g->exits++;
	return g->run->exit_reason;
}

/* The value of an OUT of 4 bytes to GUEST_PORT, or -1 for another exit. */
static inline int64_t kg_out_value(struct kguest *g)
{
	struct kvm_run *r = g->run;
	uint32_t v;

	if (r->exit_reason != KVM_EXIT_IO ||
	    r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 4 ||
	    r->io.port != GUEST_PORT || r->io.count != 1)
		return -1;
	memcpy(&v, (char *)r + r->io.data_offset, 4);
	return v;
}

static inline int kg_dirty_log(struct kguest *g, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	if (ioctl(g->vm, KVM_GET_DIRTY_LOG, &log))
		return kg_fail(g, "KVM_GET_DIRTY_LOG");
	return 0;
}

/* What an unexpected exit was, for the log. */
static inline const char *kg_describe(struct kguest *g, char *buf, size_t len)
{
	struct kvm_run *r = g->run;
	struct kvm_regs regs;
	unsigned long long rip = ~0ULL;
	int n;

	if (!ioctl(g->vcpu, KVM_GET_REGS, &regs))
		rip = regs.rip;
	n = snprintf(buf, len, "exit_reason %u at rip %#llx", r->exit_reason,
		     rip);
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf + n, len - n, ": io %s port %#x size %u count %u",
			 r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 r->io.port, r->io.size, r->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf + n, len - n, ": mmio %s %#llx len %u",
			 r->mmio.is_write ? "write" : "read",
			 (unsigned long long)r->mmio.phys_addr, r->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf + n, len - n, ": entry failure %#llx",
			 (unsigned long long)
			 r->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf + n, len - n, ": internal error %u",
			 r->internal.suberror);
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(buf + n, len - n, ": shutdown (triple fault)");
		break;
	}
	return buf;
}

#endif /* VMMEM_KVM_H */
