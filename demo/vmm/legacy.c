// SPDX-License-Identifier: GPL-2.0
/*
 * What is left of a PC's legacy devices: stubs that make Linux's probes
 * end quickly.
 *
 *   CMOS (0x70/0x71)   the RTC reads as all zeroes, never "update in
 *                      progress"; the guest's clock is kvm-clock, and the
 *                      FADT says there is no CMOS RTC
 *   i8042 (0x60/0x64)  no keyboard controller (the FADT says so too), but
 *                      the reboot path writes 0xfe to 0x64 to pulse the
 *                      reset line after polling the status: 0xfd (input
 *                      buffer empty) ends that poll
 */
#define _GNU_SOURCE
#include "vmm.h"

#define CMOS_INDEX	0x70
#define I8042_DATA	0x60
#define I8042_CMD	0x64
#define I8042_STATUS	0xfd	/* as measured: not IBF, so no spin */
#define I8042_RESET	0xfe

void cmos_io(struct vmm *v, uint16_t port, bool write, uint8_t *val)
{
	v->io_cmos++;
	if (port == CMOS_INDEX) {
		if (write)
			v->cmos_index = *val & 0x7f;	/* bit 7: NMI mask */
		else
			*val = v->cmos_index;
		return;
	}
	if (!write)
		*val = 0;
}

void i8042_io(struct vmm *v, uint16_t port, bool write, uint8_t *val)
{
	v->io_i8042++;
	if (!write) {
		*val = port == I8042_CMD ? I8042_STATUS : 0;
		return;
	}
	if (port == I8042_CMD && *val == I8042_RESET)
		vmm_stop(v, VMM_RESET, "the guest reset the machine (i8042)");
}
