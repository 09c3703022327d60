/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmmem - guest physical memory for virtual machine monitors.
 *
 * Each open() of /dev/vmmem is one guest address space. It holds regions:
 * page-backed, pinned ranges placed at guest-physical addresses (GPAs),
 * either allocated by the module or pinned from the caller's memory.
 *
 * ABI rules: every struct has a fixed size and explicit padding; every
 * reserved field and every unknown flag bit must be zero, else -EINVAL.
 * Fields are marked (in) or (out). Pointers are carried as __u64.
 *
 * Errors common to all ioctls:
 *   -EFAULT  the ioctl argument or a user buffer it names is not accessible
 *   -EINVAL  unknown flag, non-zero reserved field, or a malformed request
 *   -ENOTTY  unknown ioctl command
 */
#ifndef _UAPI_LINUX_VMMEM_H
#define _UAPI_LINUX_VMMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VMMEM_API_VERSION	1

/* Not taken in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define VMMEM_IOCTL_MAGIC	0xBA

/* mmap_offset of a region that cannot be mapped through /dev/vmmem. */
#define VMMEM_NO_MMAP		(~0ULL)

/* Region flags. */
#define VMMEM_REGION_READONLY	(1U << 0)	/* writes through vmmem fail */
#define VMMEM_REGION_FLAGS	(VMMEM_REGION_READONLY)

/* Region backing kinds, reported in vmmem_region_info.backing. */
#define VMMEM_BACKING_KERNEL	1	/* pages allocated by the module */
#define VMMEM_BACKING_USER	2	/* caller's pages, pinned */

/**
 * struct vmmem_region_add - argument of VMMEM_ADD_REGION
 * @guest_addr:  (in) guest-physical address of the first byte, page-aligned
 * @size:        (in) length in bytes, page-aligned, non-zero
 * @user_addr:   (in) 0: the module allocates zeroed pages, charged to the
 *               caller's memory cgroup; else a page-aligned address of the
 *               caller's writable memory (anonymous, memfd/shmem, hugetlbfs)
 *               whose pages are pinned long-term and charged to the caller's
 *               RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK
 * @flags:       (in) VMMEM_REGION_* flags
 * @id:          (out) region id, unique within this open file
 * @mmap_offset: (out) offset to mmap() the region at (MAP_SHARED), or
 *               VMMEM_NO_MMAP for user-backed regions
 * @reserved:    must be zero
 *
 * Errors: -EINVAL (size 0, an address or the size not page-aligned, unknown
 * flags, reserved non-zero), -EOVERFLOW (guest_addr + size or
 * user_addr + size past 2^64 - 1: the end must be representable),
 * -EEXIST (overlaps a region), -ENOSPC (max_regions reached, or the mmap
 * offset space is exhausted), -ENOMEM (RLIMIT_MEMLOCK exceeded, or out of
 * memory), -EFAULT (the user range cannot be pinned). A failed add changes
 * nothing.
 */
struct vmmem_region_add {
	__u64 guest_addr;
	__u64 size;
	__u64 user_addr;
	__u32 flags;
	__u32 id;
	__u64 mmap_offset;
	__u64 reserved[2];
};

/**
 * struct vmmem_region_info - one region, as listed or found
 * @guest_addr:  (out) first guest-physical address
 * @size:        (out) length in bytes
 * @user_addr:   (out) the pinned user address, 0 for kernel-backed regions
 * @mmap_offset: (out) mmap() offset or VMMEM_NO_MMAP
 * @id:          (out) region id
 * @flags:       (out) VMMEM_REGION_* flags
 * @backing:     (out) VMMEM_BACKING_*
 * @reserved:    (out) zero
 */
struct vmmem_region_info {
	__u64 guest_addr;
	__u64 size;
	__u64 user_addr;
	__u64 mmap_offset;
	__u32 id;
	__u32 flags;
	__u32 backing;
	__u32 reserved;
};

/* Remove by (guest_addr, size), which must match a region exactly. */
#define VMMEM_REMOVE_BY_ADDR	(1U << 0)
#define VMMEM_REMOVE_FLAGS	(VMMEM_REMOVE_BY_ADDR)

/**
 * struct vmmem_region_remove - argument of VMMEM_REMOVE_REGION
 * @id:         (in) region id, unless VMMEM_REMOVE_BY_ADDR; else must be 0
 * @flags:      (in) VMMEM_REMOVE_* flags
 * @guest_addr: (in) with VMMEM_REMOVE_BY_ADDR, the region's exact start; else 0
 * @size:       (in) with VMMEM_REMOVE_BY_ADDR, the region's exact size; else 0
 * @reserved:   must be zero
 *
 * When the ioctl returns, accesses through this file that were running have
 * finished and no new one can reach the region. Its pages stay valid for
 * existing mmap()s until they are unmapped.
 *
 * Errors: -ENOENT (no such region, or no exact match), -EINVAL.
 */
struct vmmem_region_remove {
	__u32 id;
	__u32 flags;
	__u64 guest_addr;
	__u64 size;
	__u64 reserved;
};

/**
 * struct vmmem_region_list - argument of VMMEM_LIST_REGIONS
 * @regions:    (in) user pointer to an array of struct vmmem_region_info
 * @count:      (in) capacity of that array; (out) number of regions
 * @flags:      (in) must be zero
 * @generation: (out) bumped by every successful add and remove
 * @reserved:   must be zero
 *
 * Regions are listed in ascending guest address order.
 * Errors: -E2BIG (capacity below the number of regions; @count and
 * @generation are still written, the array is not).
 */
struct vmmem_region_list {
	__u64 regions;
	__u32 count;
	__u32 flags;
	__u64 generation;
	__u64 reserved;
};

/**
 * struct vmmem_region_find - argument of VMMEM_FIND_REGION
 * @guest_addr: (in) a guest-physical address
 * @reserved:   must be zero
 * @region:     (out) the region that holds @guest_addr
 *
 * Errors: -ENXIO (no region holds @guest_addr).
 */
struct vmmem_region_find {
	__u64 guest_addr;
	__u64 reserved;
	struct vmmem_region_info region;
};

/* I/O flags. */
#define VMMEM_IO_EXACT		(1U << 0)	/* short is an error */
#define VMMEM_IO_WRITE		(1U << 1)	/* batch ops only: write */
#define VMMEM_IO_FLAGS		(VMMEM_IO_EXACT)
#define VMMEM_IO_BATCH_OP_FLAGS	(VMMEM_IO_EXACT | VMMEM_IO_WRITE)

/**
 * struct vmmem_io - argument of VMMEM_READ and VMMEM_WRITE, one batch op
 * @guest_addr: (in) guest-physical address of the first byte
 * @user_addr:  (in) user buffer of @len bytes
 * @len:        (in) bytes to copy
 * @done:       (out) bytes copied, written even when the ioctl fails
 * @flags:      (in) VMMEM_IO_EXACT; VMMEM_IO_WRITE in a batch only
 * @reserved:   must be zero
 *
 * The semantics of vm-memory's Bytes: the copy runs across adjacent regions
 * and stops at the first byte that is not backed (a hole, or the end of
 * memory: no region ends at 2^64, so gpa + len past 2^64 needs no check).
 * A zero @len succeeds with @done 0 anywhere. Copies of 1, 2, 4 or 8 bytes
 * at a GPA aligned to that size are done as one access of that width.
 * Bytes copied before an error stay copied.
 *
 * Errors:
 *   -ENXIO   the first byte is not backed (@done is 0)
 *   -ERANGE  VMMEM_IO_EXACT and the copy stopped short at a hole or the end
 *            of memory (@done bytes were copied)
 *   -EACCES  a write reached a read-only region: at the first byte, or later
 *            with VMMEM_IO_EXACT (without it the write stops there, as at
 *            a hole, and succeeds short)
 *   -EFAULT  the user buffer faulted after @done bytes
 *   -EINTR   a fatal signal arrived during a long copy
 * Without VMMEM_IO_EXACT, a copy that stops short at a hole succeeds; the
 * ioctl returns 0 and @done says how far it got.
 */
struct vmmem_io {
	__u64 guest_addr;
	__u64 user_addr;
	__u64 len;
	__u64 done;
	__u32 flags;
	__u32 reserved;
};

#define VMMEM_IO_BATCH_MAX	1024

/**
 * struct vmmem_io_batch - argument of VMMEM_IO_BATCH
 * @ops:      (in) user pointer to an array of struct vmmem_io
 * @count:    (in) number of ops, at most VMMEM_IO_BATCH_MAX
 * @flags:    (in) must be zero
 * @done_ops: (out) ops completed without error
 * @reserved: must be zero
 *
 * Runs the ops in order, each with the semantics of VMMEM_READ or
 * VMMEM_WRITE (VMMEM_IO_WRITE selects), writing each op's @done back.
 * Stops at the first op that fails and returns its error; @done_ops is then
 * the index of that op. A descriptor chain maps to one call.
 */
struct vmmem_io_batch {
	__u64 ops;
	__u32 count;
	__u32 flags;
	__u32 done_ops;
	__u32 reserved;
};

/* Returns VMMEM_API_VERSION. */
#define VMMEM_GET_API_VERSION	_IO(VMMEM_IOCTL_MAGIC, 0x00)
#define VMMEM_ADD_REGION	_IOWR(VMMEM_IOCTL_MAGIC, 0x01, struct vmmem_region_add)
#define VMMEM_REMOVE_REGION	_IOW(VMMEM_IOCTL_MAGIC, 0x02, struct vmmem_region_remove)
#define VMMEM_LIST_REGIONS	_IOWR(VMMEM_IOCTL_MAGIC, 0x03, struct vmmem_region_list)
#define VMMEM_FIND_REGION	_IOWR(VMMEM_IOCTL_MAGIC, 0x04, struct vmmem_region_find)
#define VMMEM_READ		_IOWR(VMMEM_IOCTL_MAGIC, 0x05, struct vmmem_io)
#define VMMEM_WRITE		_IOWR(VMMEM_IOCTL_MAGIC, 0x06, struct vmmem_io)
#define VMMEM_IO_BATCH		_IOWR(VMMEM_IOCTL_MAGIC, 0x07, struct vmmem_io_batch)

/*
 * mmap(): kernel-backed regions only, MAP_SHARED, and the range must lie
 * within one region from its mmap_offset on. Errors: -EINVAL (MAP_PRIVATE,
 * an offset that is no region's, a range past the region, a user-backed
 * region), -EACCES (PROT_WRITE on a read-only region; its mappings can
 * never gain write permission). The mapping cannot grow (mremap fails).
 * Pages stay valid for the mapping after the region is removed or the file
 * closed. A fork()ed child shares the mapping: it sees the same pages.
 *
 * lseek(fd, 0, SEEK_END) returns the end of the mmap offset space, so
 * mmap-based clients that check a file's size (vm-memory) accept offsets.
 */

#endif /* _UAPI_LINUX_VMMEM_H */
