// SPDX-License-Identifier: GPL-2.0
/*
 * Copies between guest memory and user buffers with vm-memory's Bytes
 * semantics: the copy runs across adjacent regions, stops at the first
 * unbacked byte and reports how far it got.
 */
#include <linux/highmem.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "internal.h"

/* One access of sizeof(type) on the guest side. */
#define VMMEM_COPY_ONCE(type, kaddr, ubuf, write)			\
({									\
	type *__k = (type *)(kaddr);					\
	type __user *__u = (type __user *)(ubuf);			\
	type __v;							\
	int __ret = 0;							\
									\
	if (write) {							\
		__ret = get_user(__v, __u);				\
		if (!__ret)						\
			WRITE_ONCE(*__k, __v);				\
	} else {							\
		__v = READ_ONCE(*__k);					\
		__ret = put_user(__v, __u);				\
	}								\
	__ret;								\
})

/*
 * A naturally aligned 1, 2, 4 or 8 byte copy is one access of that width,
 * so a guest never sees such a value half-written (vm-memory's rule).
 */
static int vmmem_copy_small(void *kaddr, void __user *ubuf, size_t len,
			    bool write)
{
	switch (len) {
	case 1:
		return VMMEM_COPY_ONCE(u8, kaddr, ubuf, write);
	case 2:
		return VMMEM_COPY_ONCE(u16, kaddr, ubuf, write);
	case 4:
		return VMMEM_COPY_ONCE(u32, kaddr, ubuf, write);
	default:
		return VMMEM_COPY_ONCE(u64, kaddr, ubuf, write);
	}
}

/*
 * Copies of up to this many bytes (virtio descriptors, headers, small
 * device registers) take one user-access section: setting up an iov_iter
 * and checking the guest page's struct page (a cache miss on a cold GPA)
 * would cost more than the copy. Larger copies amortise that.
 */
#define VMMEM_SHORT_COPY	64

static int vmmem_copy_short_to_user(void __user *ubuf, const void *kaddr,
				    size_t len)
{
	if (!user_write_access_begin(ubuf, len))
		return -EFAULT;
	unsafe_copy_to_user(ubuf, kaddr, len, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

static int vmmem_copy_short_from_user(char *kaddr, const char __user *ubuf,
				      size_t len)
{
	if (!user_read_access_begin(ubuf, len))
		return -EFAULT;
	while (len) {
		size_t n;

		if (len >= 8) {
			u64 v;

			unsafe_get_user(v, (const u64 __user *)ubuf, efault);
			memcpy(kaddr, &v, sizeof(v));
			n = sizeof(v);
		} else if (len >= 4) {
			u32 v;

			unsafe_get_user(v, (const u32 __user *)ubuf, efault);
			memcpy(kaddr, &v, sizeof(v));
			n = sizeof(v);
		} else {
			u8 v;

			unsafe_get_user(v, (const u8 __user *)ubuf, efault);
			*kaddr = v;
			n = sizeof(v);
		}
		kaddr += n;
		ubuf += n;
		len -= n;
	}
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

static bool vmmem_is_small(u64 gpa, u64 len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) &&
	       IS_ALIGNED(gpa, len);
}

/*
 * Copies @n bytes at @off of @r, within one page; @whole: they are the
 * whole copy. Returns the bytes not copied. Short copies address the page
 * through the region's vmap when it has one, which spares reading the page
 * array (a cold cache line per copy at a random GPA). The general path is
 * an iov_iter, as filesystems copy into the page cache: a fault stops it
 * exactly where it happened and leaves the rest of guest memory alone,
 * where copy_from_user() would zero-fill it. A fault in the short path is
 * redone there to count the same way.
 */
static size_t vmmem_copy_piece(struct vmmem_region *r, u64 off,
			       char __user *ubuf, size_t n, bool write,
			       bool whole)
{
	size_t poff = offset_in_page(off);
	struct iov_iter iter;
	struct page *page;
	u64 avail;

	if (n <= VMMEM_SHORT_COPY) {
		char *vaddr = vmmem_region_vaddr(r, off, &avail);
		char *kaddr = vaddr ? vaddr :
			      kmap_local_page(r->pages[off >> PAGE_SHIFT]) + poff;
		bool small = whole && vmmem_is_small(r->gpa + off, n);
		int ret;

		if (small)
			ret = vmmem_copy_small(kaddr, ubuf, n, write);
		else if (write)
			ret = vmmem_copy_short_from_user(kaddr, ubuf, n);
		else
			ret = vmmem_copy_short_to_user(ubuf, kaddr, n);
		if (!vaddr)
			kunmap_local(kaddr);
		if (!ret)
			return 0;
		if (small)	/* one access: nothing was copied */
			return n;
	}
	page = r->pages[off >> PAGE_SHIFT];
	iov_iter_ubuf(&iter, write ? ITER_SOURCE : ITER_DEST, ubuf, n);
	if (write)
		return n - copy_page_from_iter(page, poff, n, &iter);
	return n - copy_page_to_iter(page, poff, n, &iter);
}

/* @n bytes at @kaddr in the region's vmap; returns the bytes not copied. */
static size_t vmmem_copy_mapped(void *kaddr, char __user *ubuf, size_t n,
				bool write)
{
	struct iov_iter iter;

	iov_iter_ubuf(&iter, write ? ITER_SOURCE : ITER_DEST, ubuf, n);
	if (write)
		return n - copy_from_iter(kaddr, n, &iter);
	return n - copy_to_iter(kaddr, n, &iter);
}

/* Bytes one step of a copy moves through a vmap: a quarter of a budget. */
#define VMMEM_COPY_STEP		(64 * 1024)

/*
 * One step of a copy of @len bytes at @off of @r: sets *@n to the bytes it
 * tried and returns the bytes copied, fewer when the user buffer faulted.
 */
static size_t vmmem_copy_step(struct vmmem_region *r, u64 off,
			      char __user *ubuf, u64 len, bool write,
			      bool whole, size_t *n)
{
	u64 avail;
	void *kaddr = len > PAGE_SIZE ? vmmem_region_vaddr(r, off, &avail) :
					NULL;

	if (kaddr) {
		/* More than a page: one copy through the vmap. */
		*n = min3(len, avail, (u64)VMMEM_COPY_STEP);
		return *n - vmmem_copy_mapped(kaddr, ubuf, *n, write);
	}
	*n = min_t(u64, len, PAGE_SIZE - offset_in_page(off));
	return *n - vmmem_copy_piece(r, off, ubuf, *n, write, whole && *n == len);
}

/*
 * Copies @io within walk @w: across adjacent regions, looking each one up
 * again at every step, so a region removed meanwhile is never reached by
 * a step that starts after its removal returned.
 */
static int vmmem_copy(struct vmmem_walk *w, struct vmmem_io *io, bool write)
{
	char __user *ubuf = u64_to_user_ptr(io->user_addr);
	bool small = vmmem_is_small(io->guest_addr, io->len);
	u64 limit = U64_MAX;	/* bytes known to be faulted in, after a fault */
	unsigned int tries = 0;	/* fault-ins since the last progress */
	ssize_t avail;
	int ret = 0;

	io->done = 0;
	while (io->done < io->len) {
		/* No region reaches 2^64: the sum cannot wrap inside one. */
		u64 gpa = io->guest_addr + io->done;
		struct vmmem_region *r = vmmem_walk_find(w, gpa);
		size_t n, copied;
		u64 off, len;

		/* A hole, or the end of memory. */
		if (!r) {
			ret = -ENXIO;
			break;
		}
		if (write && vmmem_region_ro(r)) {
			ret = -EACCES;
			break;
		}
		off = gpa - r->gpa;
		len = min3(io->len - io->done, r->size - off, limit);
		copied = vmmem_copy_step(r, off, ubuf + io->done, len, write,
					 len == io->len, &n);
		io->done += copied;
		if (copied) {
			tries = 0;
			if (write)
				vmmem_dirty_mark(r, off, copied);
		}
		if (copied == n) {
			limit = U64_MAX;
			ret = vmmem_walk_charge(w, n);
		} else if (++tries > VMMEM_FAULT_TRIES) {
			ret = -EFAULT;
		} else {
			avail = vmmem_walk_fault_in(w, ubuf + io->done,
						    n - copied, !write);
			/* A single access is all or nothing. */
			if (avail >= 0 && small && avail < io->len)
				avail = -EFAULT;
			ret = avail < 0 ? avail : 0;
			limit = avail;
		}
		if (ret)
			break;
	}

	/* Stopped at a boundary: vm-memory's short count or PartialBuffer. */
	if (io->done && (ret == -ENXIO || ret == -EACCES)) {
		if (!(io->flags & VMMEM_IO_EXACT))
			return 0;
		return ret == -ENXIO ? -ERANGE : -EACCES;
	}
	return ret;
}

long vmmem_ioctl_io(struct vmmem_space *s, void __user *argp, bool write)
{
	struct vmmem_io __user *uio = argp;
	struct vmmem_walk w;
	struct vmmem_io io;
	int ret;

	if (copy_from_user(&io, uio, sizeof(io)))
		return -EFAULT;
	if ((io.flags & ~VMMEM_IO_FLAGS) || io.reserved)
		return -EINVAL;
	vmmem_walk_begin(&w, s);
	ret = vmmem_copy(&w, &io, write);
	vmmem_walk_end(&w);
	if (put_user(io.done, &uio->done))
		return -EFAULT;
	return ret;
}

/* Ops read from the user per copy in a batch. */
#define VMMEM_BATCH_CHUNK	8

long vmmem_ioctl_io_batch(struct vmmem_space *s, void __user *argp,
			  fmode_t mode)
{
	struct vmmem_io_batch __user *ubatch = argp;
	struct vmmem_io ops[VMMEM_BATCH_CHUNK];
	struct vmmem_io_batch batch;
	struct vmmem_io __user *uops;
	struct vmmem_walk w;
	u32 i, n = 0;
	int ret = 0;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || batch.reserved || batch.count > VMMEM_IO_BATCH_MAX)
		return -EINVAL;
	uops = u64_to_user_ptr(batch.ops);

	/* One walk and no allocation for the whole chain. */
	vmmem_walk_begin(&w, s);
	for (i = 0; i < batch.count; i++) {
		struct vmmem_io *io = &ops[i % VMMEM_BATCH_CHUNK];
		bool write;

		if (i == n) {
			n = min(batch.count, i + VMMEM_BATCH_CHUNK);
			ret = vmmem_walk_copy_from_user(&w, ops, &uops[i],
							(n - i) * sizeof(*ops));
			if (ret)
				break;
		}
		if ((io->flags & ~VMMEM_IO_BATCH_OP_FLAGS) || io->reserved) {
			ret = -EINVAL;
			break;
		}
		write = io->flags & VMMEM_IO_WRITE;
		if (!(mode & (write ? FMODE_WRITE : FMODE_READ))) {
			ret = -EBADF;
			break;
		}
		ret = vmmem_copy(&w, io, write);
		/* Per op, so that done_ops is exact if the array faults. */
		if (vmmem_walk_copy_to_user(&w, &uops[i].done, &io->done,
					    sizeof(io->done)))
			ret = -EFAULT;
		if (ret)
			break;
	}
	vmmem_walk_end(&w);

	if (put_user(i, &ubatch->done_ops))
		return -EFAULT;
	return ret;
}

/* Bytes backed from @gpa on, at most @len; *@stop says why it stopped. */
static u64 vmmem_backed(struct vmmem_walk *w, u64 gpa, u64 len, bool write,
			int *stop)
{
	u64 done = 0;

	*stop = 0;
	while (done < len) {
		struct vmmem_region *r = vmmem_walk_find(w, gpa + done);

		if (!r) {
			*stop = -ENXIO;
			break;
		}
		if (write && vmmem_region_ro(r)) {
			*stop = -EACCES;
			break;
		}
		done += min(len - done, r->gpa + r->size - (gpa + done));
		*stop = vmmem_walk_charge(w, 0);
		if (*stop)
			break;
	}
	return done;
}

/*
 * Moves up to @n bytes ending (@back) or starting at the given addresses,
 * within one page on each side; returns the bytes moved, or 0 with *@err
 * set when a region went away or the destination became read-only (each
 * piece checks the regions it is about to touch, not those seen before).
 */
static u64 vmmem_move_piece(struct vmmem_walk *w, u64 src, u64 dst, u64 n,
			    bool back, int *err)
{
	struct vmmem_region *sr = vmmem_walk_find(w, src);
	struct vmmem_region *dr = vmmem_walk_find(w, dst);
	u64 soff, doff;
	char *sp, *dp;

	if (!sr || !dr) {
		*err = -ENXIO;
		return 0;
	}
	if (vmmem_region_ro(dr)) {
		*err = -EACCES;
		return 0;
	}
	soff = src - sr->gpa;
	doff = dst - dr->gpa;
	if (back) {
		n = min3(n, (u64)offset_in_page(soff) + 1,
			 (u64)offset_in_page(doff) + 1);
		soff -= n - 1;
		doff -= n - 1;
	} else {
		n = min3(n, (u64)(PAGE_SIZE - offset_in_page(soff)),
			 (u64)(PAGE_SIZE - offset_in_page(doff)));
	}
	sp = kmap_local_page(sr->pages[soff >> PAGE_SHIFT]);
	dp = kmap_local_page(dr->pages[doff >> PAGE_SHIFT]);
	memmove(dp + offset_in_page(doff), sp + offset_in_page(soff), n);
	kunmap_local(dp);
	kunmap_local(sp);
	vmmem_dirty_mark(dr, doff, n);
	return n;
}

long vmmem_ioctl_copy(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_copy __user *uarg = argp;
	u64 todo, dtodo, done = 0, moved;
	int stop, dstop, ret = 0;
	struct vmmem_walk w;
	struct vmmem_copy c;
	bool back;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if ((c.flags & ~VMMEM_IO_FLAGS) || c.reserved)
		return -EINVAL;

	vmmem_walk_begin(&w, s);
	/* The longest prefix backed in both, and why it ends there. */
	todo = vmmem_backed(&w, c.src_gpa, c.len, false, &stop);
	if (todo && stop != -EINTR) {
		dtodo = vmmem_backed(&w, c.dst_gpa, todo, true, &dstop);
		if (dtodo < todo || dstop) {
			todo = dtodo;
			stop = dstop;
		}
	}
	/*
	 * memmove() by guest address: from the end when the destination
	 * overlaps above the source.
	 */
	back = c.dst_gpa > c.src_gpa && c.dst_gpa - c.src_gpa < todo;
	while (!ret && done < todo && stop != -EINTR) {
		if (back)
			moved = vmmem_move_piece(&w, c.src_gpa + todo - done - 1,
						 c.dst_gpa + todo - done - 1,
						 todo - done, true, &ret);
		else
			moved = vmmem_move_piece(&w, c.src_gpa + done,
						 c.dst_gpa + done,
						 todo - done, false, &ret);
		done += moved;
		if (moved)
			ret = vmmem_walk_charge(&w, moved);
	}
	vmmem_walk_end(&w);
	if (!ret)
		ret = stop;

	/* From the end, only a whole copy is a prefix of the range. */
	if (back && done < todo)
		done = 0;
	if (put_user(done, &uarg->done))
		return -EFAULT;
	if (done == c.len)
		return 0;
	if (ret == -EINTR || !done)
		return ret;
	if (!(c.flags & VMMEM_IO_EXACT))
		return 0;
	return ret == -EACCES ? -EACCES : -ERANGE;
}
