// SPDX-License-Identifier: GPL-2.0
/*
 * Transfers between a file descriptor and guest memory, in the kernel
 * (vm-memory read_volatile_from / write_volatile_to and their exact forms).
 *
 * Each step builds a bio_vec array over the guest pages under SRCU, takes a
 * page reference per entry and leaves the read-side section before the
 * I/O: a read that blocks on a pipe or socket must not hold up a region's
 * removal.
 */
#include <linux/bvec.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "compat.h"
#include "internal.h"

/* Guest pages per I/O call: 128 KiB, and 512 bytes of stack; a u32 mask. */
#define VMMEM_FD_BVECS	32

/*
 * Fills @bv from @gpa for at most @len bytes; *@stop says why it stopped,
 * *@user which entries are pages of user-backed regions.
 */
static unsigned int vmmem_fd_bvecs(struct vmmem_space *s, u64 gpa, u64 len,
				   bool to_guest, struct bio_vec *bv,
				   size_t *bytes, int *stop, u32 *user)
{
	unsigned int nr = 0;
	int idx;

	*bytes = 0;
	*stop = 0;
	*user = 0;
	idx = vmmem_read_lock();
	while (nr < VMMEM_FD_BVECS && *bytes < len) {
		struct vmmem_region *r = vmmem_find(s, gpa + *bytes);
		u64 off;

		if (!r) {
			*stop = -ENXIO;
			break;
		}
		if (to_guest && vmmem_region_ro(r)) {
			*stop = -EACCES;
			break;
		}
		off = gpa + *bytes - r->gpa;
		bv[nr].bv_page = r->pages[off >> PAGE_SHIFT];
		bv[nr].bv_offset = offset_in_page(off);
		bv[nr].bv_len = min_t(u64, len - *bytes,
				      PAGE_SIZE - bv[nr].bv_offset);
		get_page(bv[nr].bv_page);
		if (vmmem_region_user(r))
			*user |= BIT(nr);
		*bytes += bv[nr].bv_len;
		nr++;
	}
	vmmem_read_unlock(idx);
	return nr;
}

/*
 * A user-backed region's pages were written behind their owner's page
 * tables: dirty, as for any pinned page (anonymous and shmem pages must
 * not be dropped clean). The module's own pages belong to no file and are
 * never written back: nothing to mark, and no lock to take.
 */
static void vmmem_fd_put(struct bio_vec *bv, unsigned int nr, bool dirty,
			 u32 user)
{
	while (nr--) {
		if (dirty && user & BIT(nr))
			set_page_dirty_lock(bv[nr].bv_page);
		put_page(bv[nr].bv_page);
	}
}

static int vmmem_fd_loop(struct vmmem_space *s, struct vmmem_fd_io *a,
			 struct file *file, loff_t *ppos, bool to_guest)
{
	bool exact = a->flags & VMMEM_FD_EXACT;
	struct bio_vec bv[VMMEM_FD_BVECS];
	struct iov_iter iter;
	unsigned int nr;
	size_t want;
	ssize_t got;
	u32 user;
	int stop;

	while (a->done < a->len) {
		nr = vmmem_fd_bvecs(s, a->guest_addr + a->done,
				    a->len - a->done, to_guest, bv, &want,
				    &stop, &user);
		if (!nr)
			return stop;
		iov_iter_bvec(&iter, to_guest ? ITER_DEST : ITER_SOURCE, bv,
			      nr, want);
		if (to_guest)
			got = vfs_iter_read(file, &iter, ppos, 0);
		else
			got = vmmem_iter_write(file, &iter, ppos);
		/*
		 * All it was given: a direct read that fails or comes up
		 * short may still have landed in part.
		 */
		if (to_guest)
			vmmem_dirty_mark_gpa(s, a->guest_addr + a->done, want);
		vmmem_fd_put(bv, nr, to_guest && got > 0, user);
		if (got < 0)
			return got;
		a->done += got;
		if (!got)		/* end of file, or a file that is full */
			return exact ? (to_guest ? -ENODATA : -EIO) : 0;
		/* Short: stop here, or go on from the next byte; no gap. */
		if (got < want && !exact)
			return 0;
		if (signal_pending(current) && a->done < a->len)
			return -EINTR;
		cond_resched();
	}
	return 0;
}

long vmmem_ioctl_fd_io(struct vmmem_space *s, void __user *argp,
		       bool to_guest)
{
	struct vmmem_fd_io __user *uarg = argp;
	fmode_t need = to_guest ? FMODE_READ : FMODE_WRITE;
	struct vmmem_fd_io a;
	struct file *file;
	loff_t pos, *ppos;
	int ret;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~VMMEM_FD_FLAGS) || a.reserved || a.offset < -1)
		return -EINVAL;
	a.done = 0;

	file = fget(a.fd);
	if (!file)
		return -EBADF;
	ret = -EBADF;
	if (!(file->f_mode & need))
		goto out;
	if (a.offset >= 0) {
		ret = -ESPIPE;
		if (!(file->f_mode & (to_guest ? FMODE_PREAD : FMODE_PWRITE)))
			goto out;
		pos = a.offset;
		ppos = &pos;
	} else if (file->f_mode & FMODE_STREAM) {
		ppos = NULL;
	} else {
		pos = file->f_pos;
		ppos = &pos;
	}

	ret = vmmem_fd_loop(s, &a, file, ppos, to_guest);
	if (ppos && a.offset < 0)
		file->f_pos = pos;

	if (a.done && ret) {
		/* Done in part: not restartable, and short is success. */
		if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
		    ret == -ERESTARTNOHAND)
			ret = -EINTR;
		if (!(a.flags & VMMEM_FD_EXACT))
			ret = 0;
		else if (ret == -ENXIO)
			ret = -ERANGE;
	}
out:
	fput(file);
	if (put_user(a.done, &uarg->done))
		return -EFAULT;
	return ret;
}
