// SPDX-License-Identifier: GPL-2.0
/*
 * Keeps one idle KVM VM for the whole test run (started by vm/init).
 *
 * On 6.1 with two vCPUs, creating the first or destroying the last KVM VM
 * flips a static key (KVM's preempt notifiers patch __schedule); under TCG
 * that live patching wedged the test VM three times in a few hundred VM
 * lifecycles. With one VM kept open the key flips once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0 || ioctl(kvm, KVM_CREATE_VM, 0) < 0) {
		perror("kvm-hold");
		return 1;
	}
	for (;;)
		pause();
}
