// SPDX-License-Identifier: GPL-2.0
/*
 * GPA range -> contiguous pieces (vm-memory get_slices), so a backend can
 * build iovecs over its own mappings and readv/writev straight into guest
 * memory.
 */
#include <linux/uaccess.h>

#include "internal.h"

long vmmem_ioctl_translate(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_translate __user *uarg = argp;
	struct vmmem_slice __user *uslices;
	struct vmmem_translate t;
	struct vmmem_slice slice;
	struct vmmem_walk w;
	u32 i = 0;
	u64 done = 0;
	int ret = 0;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	if (t.flags || t.reserved)
		return -EINVAL;
	uslices = u64_to_user_ptr(t.slices);

	vmmem_walk_begin(&w, s);
	while (done < t.len) {
		struct vmmem_region *r = vmmem_walk_find(&w, t.guest_addr + done);
		u64 off;

		/* vm-memory stops for good at the first hole. */
		if (!r) {
			ret = -ENXIO;
			break;
		}
		if (i == t.count) {
			ret = -E2BIG;
			break;
		}
		off = t.guest_addr + done - r->gpa;
		memset(&slice, 0, sizeof(slice));
		slice.guest_addr = t.guest_addr + done;
		slice.len = min(t.len - done, r->size - off);
		slice.region_offset = off;
		slice.mmap_offset = vmmem_region_user(r) ? VMMEM_NO_MMAP :
							   r->mmap_offset + off;
		slice.user_addr = vmmem_region_user(r) ? r->user_addr + off : 0;
		slice.region_id = r->id;
		slice.flags = vmmem_region_flags(r);
		ret = vmmem_walk_copy_to_user(&w, &uslices[i], &slice,
					      sizeof(slice));
		if (ret)
			break;
		i++;
		done += slice.len;
		ret = vmmem_walk_charge(&w, 0);
		if (ret)
			break;
	}
	vmmem_walk_end(&w);

	if (put_user(i, &uarg->count) || put_user(done, &uarg->done))
		return -EFAULT;
	return ret;
}
