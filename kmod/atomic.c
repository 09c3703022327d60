// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic load, store, compare-exchange and fetch-add on guest memory, for
 * device models that share rings with a guest (virtio's used and event
 * indices).
 */
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "internal.h"

/* Plain single-width accesses; vmmem_atomic_op() adds the ordering. */
static u64 vmmem_load(void *p, u32 size)
{
	switch (size) {
	case 1:
		return READ_ONCE(*(u8 *)p);
	case 2:
		return READ_ONCE(*(u16 *)p);
	case 4:
		return READ_ONCE(*(u32 *)p);
	default:
		return READ_ONCE(*(u64 *)p);
	}
}

static void vmmem_store(void *p, u32 size, u64 v)
{
	switch (size) {
	case 1:
		WRITE_ONCE(*(u8 *)p, v);
		break;
	case 2:
		WRITE_ONCE(*(u16 *)p, v);
		break;
	case 4:
		WRITE_ONCE(*(u32 *)p, v);
		break;
	default:
		WRITE_ONCE(*(u64 *)p, v);
	}
}

/* cmpxchg() is fully ordered. */
static u64 vmmem_cmpxchg(void *p, u32 size, u64 old, u64 new)
{
	switch (size) {
	case 1:
		return cmpxchg((u8 *)p, (u8)old, (u8)new);
	case 2:
		return cmpxchg((u16 *)p, (u16)old, (u16)new);
	case 4:
		return cmpxchg((u32 *)p, (u32)old, (u32)new);
	default:
		return cmpxchg((u64 *)p, old, new);
	}
}

/*
 * Fully ordered, and wait-free where the CPU has an instruction for it: a
 * compare-exchange loop could be made to spin by another thread writing
 * the word through a mapping, inside a section that cannot be preempted.
 */
static u64 vmmem_fetch_add(void *p, u32 size, u64 v, u64 mask)
{
#ifdef CONFIG_X86
	switch (size) {
	case 1:
		return xadd((u8 *)p, (u8)v);
	case 2:
		return xadd((u16 *)p, (u16)v);
	case 4:
		return xadd((u32 *)p, (u32)v);
	default:
		return xadd((u64 *)p, v);
	}
#else
	u64 old, cur = vmmem_load(p, size);

	do {
		old = cur;
		cur = vmmem_cmpxchg(p, size, old, (old + v) & mask);
	} while (cur != old);
	return old;
#endif
}

static u64 vmmem_atomic_op(void *p, const struct vmmem_atomic *a)
{
	u64 mask = a->size == 8 ? U64_MAX : BIT_ULL(a->size * 8) - 1;
	u64 old;

	switch (a->op) {
	case VMMEM_ATOMIC_LOAD:
		if (a->order == VMMEM_ORDER_SEQ_CST)
			smp_mb(); /* seq-cst: after all earlier accesses */
		old = vmmem_load(p, a->size);
		if (a->order != VMMEM_ORDER_RELAXED)
			smp_mb(); /* acquire: before all later accesses */
		return old;
	case VMMEM_ATOMIC_STORE:
		if (a->order != VMMEM_ORDER_RELAXED)
			smp_mb(); /* release: after all earlier accesses */
		vmmem_store(p, a->size, a->value);
		if (a->order == VMMEM_ORDER_SEQ_CST)
			smp_mb(); /* seq-cst: before all later accesses */
		return 0;
	case VMMEM_ATOMIC_CMPXCHG:
		return vmmem_cmpxchg(p, a->size, a->expected, a->value);
	default:
		return vmmem_fetch_add(p, a->size, a->value, mask);
	}
}

static int vmmem_atomic_check(const struct vmmem_atomic *a)
{
	u64 mask = a->size == 8 ? U64_MAX : BIT_ULL(a->size * 8) - 1;

	if (a->reserved || a->op < VMMEM_ATOMIC_LOAD ||
	    a->op > VMMEM_ATOMIC_FETCH_ADD || a->order > VMMEM_ORDER_SEQ_CST)
		return -EINVAL;
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
		return -EINVAL;
	/* C11: no release loads, no acquire stores. */
	if ((a->op == VMMEM_ATOMIC_LOAD && a->order == VMMEM_ORDER_RELEASE) ||
	    (a->op == VMMEM_ATOMIC_STORE && a->order == VMMEM_ORDER_ACQUIRE))
		return -EINVAL;
	if ((a->op == VMMEM_ATOMIC_LOAD && a->value) ||
	    (a->op != VMMEM_ATOMIC_CMPXCHG && a->expected))
		return -EINVAL;
	if ((a->value & ~mask) || (a->expected & ~mask))
		return -EINVAL;
	return 0;
}

long vmmem_ioctl_atomic(struct vmmem_space *s, void __user *argp,
			fmode_t mode)
{
	struct vmmem_atomic __user *uarg = argp;
	struct vmmem_region *r;
	struct vmmem_atomic a;
	u64 off, result = 0;
	fmode_t need;
	char *kaddr;
	int idx, ret;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	ret = vmmem_atomic_check(&a);
	if (ret)
		return ret;
	/* A read-modify-write both changes guest memory and tells it. */
	need = (a.op != VMMEM_ATOMIC_STORE ? FMODE_READ : 0) |
	       (a.op != VMMEM_ATOMIC_LOAD ? FMODE_WRITE : 0);
	if ((mode & need) != need)
		return -EBADF;
	/* Fault in @result now: an error after the access would hide it. */
	if (put_user(0, &uarg->result))
		return -EFAULT;

	/*
	 * vm-memory's order: no memory there is -ENXIO, whatever the
	 * alignment; only then is a misaligned access -EINVAL (aligned, it
	 * neither tears nor crosses a page or a region).
	 */
	idx = vmmem_read_lock();
	r = vmmem_find(s, a.guest_addr);
	if (!r) {
		ret = -ENXIO;
	} else if (!IS_ALIGNED(a.guest_addr, a.size)) {
		ret = -EINVAL;
	} else if (a.op != VMMEM_ATOMIC_LOAD && vmmem_region_ro(r)) {
		ret = -EACCES;
	} else {
		off = a.guest_addr - r->gpa;
		kaddr = kmap_local_page(r->pages[off >> PAGE_SHIFT]);
		result = vmmem_atomic_op(kaddr + offset_in_page(off), &a);
		kunmap_local(kaddr);
		/* A compare-exchange that failed wrote nothing. */
		if (a.op != VMMEM_ATOMIC_LOAD &&
		    (a.op != VMMEM_ATOMIC_CMPXCHG || result == a.expected))
			vmmem_dirty_mark(r, off, a.size);
	}
	vmmem_read_unlock(idx);

	if (ret)
		return ret;
	return put_user(result, &uarg->result) ? -EFAULT : 0;
}
