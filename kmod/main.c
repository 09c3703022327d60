// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem - guest physical memory for virtual machine monitors.
 *
 * /dev/vmmem: each open file is one guest address space. The ABI is
 * documented in uapi/linux/vmmem.h.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include "internal.h"

/* The ABI is frozen: sizes equal on 32- and 64-bit, no implicit padding. */
static_assert(sizeof(struct vmmem_region_add) == 56);
static_assert(sizeof(struct vmmem_region_info) == 48);
static_assert(sizeof(struct vmmem_region_remove) == 32);
static_assert(sizeof(struct vmmem_region_list) == 32);
static_assert(sizeof(struct vmmem_region_find) == 64);
static_assert(sizeof(struct vmmem_io) == 40);
static_assert(sizeof(struct vmmem_io_batch) == 24);
static_assert(sizeof(struct vmmem_atomic) == 48);
static_assert(sizeof(struct vmmem_copy) == 40);
static_assert(sizeof(struct vmmem_slice) == 48);
static_assert(sizeof(struct vmmem_translate) == 48);
static_assert(sizeof(struct vmmem_fd_io) == 48);
static_assert(sizeof(struct vmmem_dirty_track) == 32);
static_assert(sizeof(struct vmmem_dirty_range) == 16);
static_assert(sizeof(struct vmmem_dirty_harvest) == 56);

/* KVM's slot count; a VMM that fits KVM fits here. */
unsigned int vmmem_max_regions = 32767;
module_param_named(max_regions, vmmem_max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions, "Most regions one open file may hold");

/* Off: regions are made of order-0 pages only (as on a fragmented host). */
bool vmmem_huge_pages = true;
module_param_named(huge_pages, vmmem_huge_pages, bool, 0644);
MODULE_PARM_DESC(huge_pages, "Make regions of 2 MiB pages where possible");

/*
 * Each open file gets an anonymous inode of this pseudo filesystem, whose
 * address_space holds that file's mappings and nobody else's (as DRM does
 * for its files): unmap_mapping_range() and the mm's mapping helpers then
 * act on one guest's mappings.
 */
#define VMMEM_FS_MAGIC	0x766d6d6d	/* "vmmm" */

static int vmmem_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VMMEM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type vmmem_fs_type = {
	.name		 = "vmmem",
	.owner		 = THIS_MODULE,
	.init_fs_context = vmmem_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

static struct vfsmount *vmmem_mnt;
static int vmmem_mnt_count;

static int vmmem_open(struct inode *inode, struct file *file)
{
	struct vmmem_space *s;
	int ret;

	/* All the memory an open file costs before it adds a region. */
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	ret = simple_pin_fs(&vmmem_fs_type, &vmmem_mnt, &vmmem_mnt_count);
	if (ret)
		goto free;
	s->inode = alloc_anon_inode(vmmem_mnt->mnt_sb);
	if (IS_ERR(s->inode)) {
		ret = PTR_ERR(s->inode);
		goto unpin;
	}
	/*
	 * The mm maps a folio with one PMD only below i_size (6.12's
	 * finish_fault()): the size is the whole offset space.
	 */
	i_size_write(s->inode, VMMEM_MMAP_LIMIT);
	vmmem_space_init(s);
	file->f_mapping = s->inode->i_mapping;
	file->private_data = s;
	return 0;

unpin:
	simple_release_fs(&vmmem_mnt, &vmmem_mnt_count);
free:
	kfree(s);
	return ret;
}

static int vmmem_release(struct inode *inode, struct file *file)
{
	struct vmmem_space *s = file->private_data;

	/* No ioctl or mmap can run: each holds a file reference. */
	vmmem_space_destroy(s);
	iput(s->inode);
	simple_release_fs(&vmmem_mnt, &vmmem_mnt_count);
	kfree(s);
	return 0;
}

/*
 * An open file's mode is a capability, as for read(2) and write(2): reading
 * guest memory needs FMODE_READ; changing it or the table, FMODE_WRITE.
 */
static long vmmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmmem_space *s = file->private_data;
	void __user *argp = (void __user *)arg;
	bool rd = file->f_mode & FMODE_READ, wr = file->f_mode & FMODE_WRITE;

	switch (cmd) {
	case VMMEM_GET_API_VERSION:
		return VMMEM_API_VERSION;
	case VMMEM_ADD_REGION:
		return wr ? vmmem_ioctl_add(s, argp) : -EBADF;
	case VMMEM_REMOVE_REGION:
		return wr ? vmmem_ioctl_remove(s, argp) : -EBADF;
	case VMMEM_LIST_REGIONS:
		return vmmem_ioctl_list(s, argp);
	case VMMEM_FIND_REGION:
		return vmmem_ioctl_find(s, argp);
	case VMMEM_READ:
		return rd ? vmmem_ioctl_io(s, argp, false) : -EBADF;
	case VMMEM_WRITE:
		return wr ? vmmem_ioctl_io(s, argp, true) : -EBADF;
	case VMMEM_IO_BATCH:
		return vmmem_ioctl_io_batch(s, argp, file->f_mode);
	case VMMEM_ATOMIC:
		return vmmem_ioctl_atomic(s, argp, file->f_mode);
	case VMMEM_COPY:	/* into a user region: it tells memory too */
		return rd && wr ? vmmem_ioctl_copy(s, argp) : -EBADF;
	case VMMEM_TRANSLATE:
		return vmmem_ioctl_translate(s, argp);
	case VMMEM_READ_FROM_FD:
		return wr ? vmmem_ioctl_fd_io(s, argp, true) : -EBADF;
	case VMMEM_WRITE_TO_FD:
		return rd ? vmmem_ioctl_fd_io(s, argp, false) : -EBADF;
	case VMMEM_DIRTY_TRACK:
		return rd && wr ? vmmem_ioctl_dirty_track(s, argp) : -EBADF;
	case VMMEM_DIRTY_HARVEST:
		return rd && wr ? vmmem_ioctl_dirty_harvest(s, argp) : -EBADF;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vmmem_fops = {
	.owner		= THIS_MODULE,
	.open		= vmmem_open,
	.release	= vmmem_release,
	.unlocked_ioctl	= vmmem_ioctl,
	/* Every argument is a pointer to a fixed-layout struct. */
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vmmem_mmap,
	/* 2 MiB aligned at a 2 MiB aligned offset: huge chunks map huge. */
	.get_unmapped_area = thp_get_unmapped_area,
	.llseek		= vmmem_llseek,
};

static struct miscdevice vmmem_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vmmem",
	.fops	= &vmmem_fops,
	.mode	= 0660,
};

module_misc_device(vmmem_dev);

MODULE_DESCRIPTION("Guest physical memory for virtual machine monitors");
MODULE_AUTHOR("vmmem developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VMMEM_VERSION);
