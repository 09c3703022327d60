/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host-only stand-in for the vmmem module (see mock.c). Linking mock.o into
 * a program points VMMEM_DEV at it before main() runs.
 */
#ifndef _VMMEM_MOCK_H
#define _VMMEM_MOCK_H

/* Remove every region: as if the device had been closed and reopened. */
void mock_reset(void);

/* vmmem ioctls seen so far with this _IOC_NR (0 = GET_API_VERSION ...). */
unsigned long mock_ioctl_count(unsigned int nr);

#endif /* _VMMEM_MOCK_H */
