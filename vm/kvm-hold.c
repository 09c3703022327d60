// SPDX-License-Identifier: GPL-2.0
/*
 * Keeps one idle KVM VM for the whole test run (started by vm/init).
 *
 * On 6.1 with two vCPUs, creating the first or destroying the last KVM VM
 * flips a static key (KVM's preempt notifiers patch __schedule); under TCG
 * that live patching wedged the test VM three times in a few hundred VM
 * lifecycles. With one VM kept open the key flips once.
 *
 * The VM also has an in-kernel LAPIC on a vCPU that never runs, so that
 * its APIC stays software-disabled: KVM counts such APICs in a static key
 * (apic_sw_disabled), and a guest that enables its APIC (every Linux guest
 * of vmmem-vmm) drops the count to zero a second later, patching
 * kvm_arch_vcpu_ioctl_run() while that guest's vCPU runs in it: under TCG
 * that once ended in an int3 oops there. With this APIC the count never
 * reaches zero. Without an irqchip (no KVM_CAP_IRQCHIP) it holds the VM
 * only.
 *
 * A second VM has a vCPU without an in-kernel LAPIC, for the same reason:
 * KVM counts those in kvm_has_noapic_vcpu, and every test guest (no
 * irqchip) would otherwise flip that key at its creation and at its end.
 *
 * Even these flips, once each, oopsed under TCG (int3 in __schedule, here
 * during KVM_CREATE_IRQCHIP while a test ran on the other CPU): vm/init
 * starts kvm-hold before anything else runs and waits for READY.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define READY	"/run/kvm-hold.ready"

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0 || (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) {
		perror("kvm-hold");
		return 1;
	}
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) || ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		perror("kvm-hold: irqchip and vCPU");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		perror("kvm-hold: a vCPU without a LAPIC");
	/* Every key is flipped: vm/init may go on. */
	close(open(READY, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (;;)
		pause();
}
