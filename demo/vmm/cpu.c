// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM VM and its one vCPU (Documentation/virt/kvm/api.rst).
 *
 * The interrupt controllers and the timer are KVM's own (KVM_CREATE_IRQCHIP:
 * a dual 8259 PIC, an IOAPIC at 0xfec00000 and a LAPIC per vCPU; and
 * KVM_CREATE_PIT2): the guest programs them without exits to us, and the
 * VMM only raises lines (KVM_IRQ_LINE, KVM_IRQFD).
 *
 * CPUID is what KVM supports, with the changes a guest under nested
 * virtualisation (QEMU TCG with SVM, running KVM) needs, measured there:
 *   - the hypervisor bit (leaf 1 ECX bit 31): without it Linux does not
 *     look for KVM's leaves, uses no kvm-clock, calibrates the TSC against
 *     the PIT, and can hang in calibrate_delay_converge();
 *   - TSC-deadline (leaf 1 ECX bit 24; KVM_CAP_TSC_DEADLINE_TIMER says the
 *     in-kernel LAPIC has it, KVM_GET_SUPPORTED_CPUID does not): the LAPIC
 *     timer then needs no calibration either;
 *   - no XSAVE, OSXSAVE, AVX and leaf 0xD: the nested XSETBV does not
 *     reach the L1 KVM, and the guest warns "XSAVE consistency problem";
 *     the AVX family (AVX2, FMA, F16C, AVX-512) goes with AVX.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

#define CPUID_1_ECX_FMA			(1U << 12)
#define CPUID_1_ECX_TSC_DEADLINE	(1U << 24)
#define CPUID_1_ECX_XSAVE		(1U << 26)
#define CPUID_1_ECX_OSXSAVE		(1U << 27)
#define CPUID_1_ECX_AVX			(1U << 28)
#define CPUID_1_ECX_F16C		(1U << 29)
#define CPUID_1_ECX_HYPERVISOR		(1U << 31)
#define CPUID_7_EBX_AVX2		(1U << 5)
#define CPUID_7_EBX_AVX512		0xdc230000U	/* F DQ IFMA PF ER CD BW VL */

/* The LAPIC's local vector table (Intel SDM vol. 3, 11.5.1). */
#define APIC_LVT0			0x350
#define APIC_LVT1			0x360
#define APIC_MODE_NMI			0x400
#define APIC_MODE_EXTINT		0x700

static void check_cap(struct vmm *v, long cap, const char *name)
{
	if (ioctl(v->kvm, KVM_CHECK_EXTENSION, cap) <= 0)
		die("KVM lacks %s", name);
}

/*
 * api.rst 4.2 KVM_CREATE_VM; 4.24 KVM_CREATE_IRQCHIP (PIC, IOAPIC, LAPICs,
 * and the default GSI routing: GSI 0-15 to the PIC and to the IOAPIC, where
 * GSI 0, the PIT, is pin 2); 4.71 KVM_CREATE_PIT2, after the irqchip.
 */
void kvm_create_vm(struct vmm *v)
{
	struct kvm_pit_config pit = { .flags = 0 };

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		die("/dev/kvm: %s", strerror(errno));
	if (ioctl(v->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("KVM API version is not %d", KVM_API_VERSION);
	check_cap(v, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP");
	check_cap(v, KVM_CAP_PIT2, "KVM_CAP_PIT2");
	check_cap(v, KVM_CAP_IRQFD, "KVM_CAP_IRQFD");
	check_cap(v, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD");
	v->vm_fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	/* api.rst 4.36: needed on Intel hosts, in no memslot. */
	if (ioctl(v->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA))
		die("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(v->vm_fd, KVM_CREATE_PIT2, &pit))
		die("KVM_CREATE_PIT2: %s", strerror(errno));
}

/* api.rst 4.25 KVM_IRQ_LINE: the level of a GSI (an edge is 0 then 1). */
void kvm_irq_line(struct vmm *v, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	v->irq_lines++;
	if (ioctl(v->vm_fd, KVM_IRQ_LINE, &irq))
		die("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

/* api.rst 4.46 KVM_GET_SUPPORTED_CPUID; KVM_SET_CPUID2 is in 4.20. */
static void set_cpuid(struct vmm *v)
{
	struct kvm_cpuid2 *c = NULL;
	unsigned int nent = 64, i, n;
	bool deadline = ioctl(v->kvm, KVM_CHECK_EXTENSION,
			      KVM_CAP_TSC_DEADLINE_TIMER) > 0;

	for (;;) {
		c = realloc(c, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			die("out of memory");
		c->nent = nent;
		if (!ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, c))
			break;
		if (errno != E2BIG || nent >= 4096)
			die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		nent *= 2;
	}
	for (i = n = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			e->ecx &= ~(CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE |
				    CPUID_1_ECX_AVX | CPUID_1_ECX_FMA |
				    CPUID_1_ECX_F16C);
			break;
		case 7:
			if (e->index == 0)
				e->ebx &= ~(CPUID_7_EBX_AVX2 |
					    CPUID_7_EBX_AVX512);
			break;
		case 0xd:
			continue;	/* no XSAVE: no XSAVE state leaf */
		}
		c->entries[n++] = *e;
	}
	c->nent = n;
	if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, c))
		die("KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
}

/*
 * What firmware leaves in the LAPIC of a PC (virtual wire mode): LINT0
 * takes the PIC's interrupts (ExtINT), LINT1 is the NMI. KVM resets them
 * masked. api.rst 4.57 KVM_GET_LAPIC, 4.58 KVM_SET_LAPIC.
 */
static void set_lapic(struct vmm *v)
{
	struct kvm_lapic_state l;
	uint32_t lvt0 = APIC_MODE_EXTINT, lvt1 = APIC_MODE_NMI;

	if (ioctl(v->vcpu_fd, KVM_GET_LAPIC, &l))
		die("KVM_GET_LAPIC: %s", strerror(errno));
	memcpy(&l.regs[APIC_LVT0], &lvt0, 4);
	memcpy(&l.regs[APIC_LVT1], &lvt1, 4);
	if (ioctl(v->vcpu_fd, KVM_SET_LAPIC, &l))
		die("KVM_SET_LAPIC: %s", strerror(errno));
}

/* api.rst 4.7 KVM_CREATE_VCPU; 4.5 and 5.: struct kvm_run is mmap()ed. */
void kvm_create_vcpu(struct vmm *v)
{
	int size;

	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		die("KVM_CREATE_VCPU: %s", strerror(errno));
	size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu_fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run: %s", strerror(errno));
	v->run_size = size;
	set_cpuid(v);
	set_lapic(v);
}

/* Closing the VM drops its memslots, and with them KVM's page references. */
void kvm_close(struct vmm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	v->run = NULL;
	if (v->vcpu_fd >= 0)
		close(v->vcpu_fd);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->kvm >= 0)
		close(v->kvm);
	v->vcpu_fd = v->vm_fd = v->kvm = -1;
}
