/* SPDX-License-Identifier: GPL-2.0 */
/* Differences between the kernels vmmem supports (6.1 and 6.12). */
#ifndef _VMMEM_COMPAT_H
#define _VMMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* vm_flags became read-only behind these helpers in 6.3. */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#endif /* _VMMEM_COMPAT_H */
