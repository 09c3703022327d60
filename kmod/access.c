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

#include "vmmem.h"

/* Pages copied between checks for a fatal signal and rescheduling. */
#define VMMEM_COPY_BATCH	256

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

	if (n <= VMMEM_SHORT_COPY) {
		char *kaddr = r->vaddr ? r->vaddr + off :
			      kmap_local_page(r->pages[off >> PAGE_SHIFT]) + poff;
		bool small = whole && vmmem_is_small(r->gpa + off, n);
		int ret;

		if (small)
			ret = vmmem_copy_small(kaddr, ubuf, n, write);
		else if (write)
			ret = vmmem_copy_short_from_user(kaddr, ubuf, n);
		else
			ret = vmmem_copy_short_to_user(ubuf, kaddr, n);
		if (!r->vaddr)
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

/*
 * Copies @len bytes at @off of region @r; *@done counts the bytes copied,
 * also when a fault or a signal stops the copy early.
 */
static int vmmem_copy_region(struct vmmem_region *r, u64 off,
			     char __user *ubuf, u64 len, bool write, u64 *done)
{
	unsigned long pages = 0;

	*done = 0;
	while (*done < len) {
		size_t poff = offset_in_page(off);
		size_t n, left;

		if (r->vaddr && len - *done > PAGE_SIZE) {
			/* More than a page: one copy through the vmap. */
			n = min_t(u64, len - *done, VMMEM_COPY_BATCH * PAGE_SIZE);
			left = vmmem_copy_mapped(r->vaddr + off, ubuf, n, write);
			pages += VMMEM_COPY_BATCH;
		} else {
			n = min_t(u64, len - *done, PAGE_SIZE - poff);
			left = vmmem_copy_piece(r, off, ubuf, n, write,
						n == len);
			pages++;
		}

		*done += n - left;
		if (left)
			return -EFAULT;
		off += n;
		ubuf += n;
		if (pages >= VMMEM_COPY_BATCH && *done < len) {
			pages = 0;
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/*
 * The last two regions copies of one read-side section touched: a
 * descriptor chain mostly stays in one region, or goes back and forth
 * between two (a ring and its buffers, or across a boundary), and a region
 * found in the section stays valid until its end.
 */
struct vmmem_hint {
	struct vmmem_region *r[2];
};

static struct vmmem_region *vmmem_find_hinted(struct vmmem_space *s, u64 gpa,
					      struct vmmem_hint *h)
{
	struct vmmem_region *r = h->r[0];

	if (r && gpa - r->gpa < r->size)
		return r;
	r = h->r[1];
	if (!r || gpa - r->gpa >= r->size) {
		r = vmmem_find(s, gpa);
		if (!r)
			return NULL;
	}
	h->r[1] = h->r[0];
	h->r[0] = r;
	return r;
}

/* Caller holds srcu_read_lock(&s->srcu) for as long as @hint lives. */
static int vmmem_copy(struct vmmem_space *s, struct vmmem_io *io, bool write,
		      struct vmmem_hint *hint)
{
	char __user *ubuf = u64_to_user_ptr(io->user_addr);
	u64 gpa = io->guest_addr;
	int ret = 0;

	io->done = 0;
	while (io->done < io->len) {
		struct vmmem_region *r = vmmem_find_hinted(s, gpa, hint);
		u64 off, n, copied;

		/* A hole, or the end of memory: no region reaches 2^64. */
		if (!r) {
			ret = -ENXIO;
			break;
		}
		if (write && (r->flags & VMMEM_REGION_READONLY)) {
			ret = -EACCES;
			break;
		}
		off = gpa - r->gpa;
		n = min(io->len - io->done, r->size - off);
		ret = vmmem_copy_region(r, off, ubuf + io->done, n, write,
					&copied);
		io->done += copied;
		if (ret)
			break;
		gpa += n;
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
	struct vmmem_hint hint = { };
	struct vmmem_io io;
	int idx, ret;

	if (copy_from_user(&io, uio, sizeof(io)))
		return -EFAULT;
	if ((io.flags & ~VMMEM_IO_FLAGS) || io.reserved)
		return -EINVAL;
	idx = srcu_read_lock(&s->srcu);
	ret = vmmem_copy(s, &io, write, &hint);
	srcu_read_unlock(&s->srcu, idx);
	if (put_user(io.done, &uio->done))
		return -EFAULT;
	return ret;
}

/* Ops read from the user per copy_from_user() in a batch. */
#define VMMEM_BATCH_CHUNK	8

long vmmem_ioctl_io_batch(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_io_batch __user *ubatch = argp;
	struct vmmem_io ops[VMMEM_BATCH_CHUNK];
	struct vmmem_hint hint = { };
	struct vmmem_io_batch batch;
	struct vmmem_io __user *uops;
	u32 i, n = 0;
	int idx, ret = 0;

	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || batch.reserved || batch.count > VMMEM_IO_BATCH_MAX)
		return -EINVAL;
	uops = u64_to_user_ptr(batch.ops);

	/* One read-side section and no allocation for the whole chain. */
	idx = srcu_read_lock(&s->srcu);
	for (i = 0; i < batch.count; i++) {
		struct vmmem_io *io = &ops[i % VMMEM_BATCH_CHUNK];

		if (i == n) {
			n = min(batch.count, i + VMMEM_BATCH_CHUNK);
			if (copy_from_user(ops, &uops[i],
					   (n - i) * sizeof(*ops))) {
				ret = -EFAULT;
				break;
			}
		}
		if ((io->flags & ~VMMEM_IO_BATCH_OP_FLAGS) || io->reserved) {
			ret = -EINVAL;
			break;
		}
		ret = vmmem_copy(s, io, io->flags & VMMEM_IO_WRITE, &hint);
		if (put_user(io->done, &uops[i].done))
			ret = -EFAULT;
		if (ret)
			break;
	}
	srcu_read_unlock(&s->srcu, idx);

	if (put_user(i, &ubatch->done_ops))
		return -EFAULT;
	return ret;
}

/* Bytes backed from @gpa on, at most @len; *@stop says why it stopped. */
static u64 vmmem_backed(struct vmmem_space *s, u64 gpa, u64 len, bool write,
			int *stop)
{
	u64 done = 0;

	*stop = 0;
	while (done < len) {
		struct vmmem_region *r = vmmem_find(s, gpa + done);

		if (!r) {
			*stop = -ENXIO;
			break;
		}
		if (write && (r->flags & VMMEM_REGION_READONLY)) {
			*stop = -EACCES;
			break;
		}
		done += min(len - done, r->gpa + r->size - (gpa + done));
	}
	return done;
}

/*
 * Moves up to @n bytes ending (@back) or starting at the given offsets;
 * returns the bytes moved: the piece stays within one page on each side.
 */
static u64 vmmem_move_piece(struct vmmem_space *s, u64 src, u64 dst, u64 n,
			    bool back)
{
	struct vmmem_region *sr = vmmem_find(s, src);
	struct vmmem_region *dr = vmmem_find(s, dst);
	u64 soff, doff;
	char *sp, *dp;

	if (!sr || !dr)		/* removed under us */
		return 0;
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
	return n;
}

long vmmem_ioctl_copy(struct vmmem_space *s, void __user *argp)
{
	struct vmmem_copy __user *uarg = argp;
	u64 todo, done = 0, moved, batch = 0;
	struct vmmem_copy c;
	int idx, ret;
	bool back;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if ((c.flags & ~VMMEM_IO_FLAGS) || c.reserved)
		return -EINVAL;

	idx = srcu_read_lock(&s->srcu);
	todo = vmmem_backed(s, c.src_gpa, c.len, false, &ret);
	if (todo)
		todo = vmmem_backed(s, c.dst_gpa, todo, true, &ret);
	/* memmove(): copy from the end when the destination overlaps above. */
	back = c.dst_gpa > c.src_gpa && c.dst_gpa - c.src_gpa < todo;
	while (done < todo) {
		if (back)
			moved = vmmem_move_piece(s, c.src_gpa + todo - done - 1,
						 c.dst_gpa + todo - done - 1,
						 todo - done, true);
		else
			moved = vmmem_move_piece(s, c.src_gpa + done,
						 c.dst_gpa + done,
						 todo - done, false);
		if (!moved) {
			ret = -ENXIO;
			break;
		}
		done += moved;
		if (++batch % VMMEM_COPY_BATCH == 0)
			cond_resched();
	}
	srcu_read_unlock(&s->srcu, idx);

	/* From the end, only a whole copy is a prefix of the range. */
	if (back && done < todo)
		done = 0;
	if (put_user(done, &uarg->done))
		return -EFAULT;
	if (done == c.len)
		return 0;
	if (!done)
		return ret;
	if (!(c.flags & VMMEM_IO_EXACT))
		return 0;
	return ret == -EACCES ? -EACCES : -ERANGE;
}
