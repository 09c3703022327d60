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
 * The open file's mode is a capability, as for read(2) and write(2): what
 * changes guest memory or the region table needs a file open for writing,
 * what tells guest memory needs one open for reading (both for a
 * compare-exchange, a fetch-add or a guest copy, which may copy into a
 * user region of the caller's own); listing, finding and translating need
 * neither. Every open() is a new, empty address space.
 *
 * Calls that loop (over pages, regions or batch ops) reschedule as they go
 * and stop at a fatal signal, whatever their size; a user buffer that must
 * be faulted in (even one that userfaultfd or FUSE never provides) is
 * faulted in with no lock held and without holding up any other caller:
 * a remove never waits for it.
 *
 * Errors common to all ioctls:
 *   -EFAULT  the ioctl argument or a user buffer it names is not accessible
 *   -EINVAL  unknown flag, non-zero reserved field, or a malformed request
 *   -EBADF   the file is not open for reading or writing, as the call needs
 *   -EINTR   a fatal signal arrived (the process is dying)
 *   -ENOTTY  unknown ioctl command
 */
#ifndef _UAPI_LINUX_VMMEM_H
#define _UAPI_LINUX_VMMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VMMEM_API_VERSION	1	/* ioctls are added, never changed */

/* Not taken in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define VMMEM_IOCTL_MAGIC	0xBA

/* mmap_offset of a region that cannot be mapped through /dev/vmmem. */
#define VMMEM_NO_MMAP		(~0ULL)

/* Region flags. */
#define VMMEM_REGION_READONLY	(1U << 0)	/* writes through vmmem fail */
#define VMMEM_REGION_DIRTY_LOG	(1U << 1)	/* writes are logged (below) */
#define VMMEM_REGION_FLAGS	(VMMEM_REGION_READONLY | VMMEM_REGION_DIRTY_LOG)

/* Region backing kinds, reported in vmmem_region_info.backing. */
#define VMMEM_BACKING_KERNEL	1	/* pages allocated by the module */
#define VMMEM_BACKING_USER	2	/* caller's pages, pinned */

/**
 * struct vmmem_region_add - argument of VMMEM_ADD_REGION
 * @guest_addr:  (in) guest-physical address of the first byte, page-aligned
 * @size:        (in) length in bytes, page-aligned, non-zero
 * @user_addr:   (in) 0: the module allocates zeroed pages, charged to the
 *               caller's memory cgroup (an add that does not fit fails with
 *               -ENOMEM: it never calls the OOM killer); else a page-aligned
 *               address of the caller's memory, mapped writable even for a
 *               VMMEM_REGION_READONLY region, whose pages are pinned
 *               long-term. It must be a private mapping (anonymous memory,
 *               or a private file mapping, whose pinned pages are then
 *               anonymous copies), shmem (memfd, MAP_SHARED|MAP_ANONYMOUS,
 *               a tmpfs file) or hugetlbfs; a shared mapping of any other
 *               file (a filesystem that writes its pages back, a device,
 *               /dev/vmmem itself) is refused. Unless the caller has
 *               CAP_IPC_LOCK, the pages are charged to its user, as
 *               io_uring's are: that user's pinned pages may not exceed the
 *               caller's RLIMIT_MEMLOCK, and the charge lasts as long as the
 *               pins (across exec(), and after the pinning process exits
 *               while another holds the file). The pinning process shows
 *               them as VmPin. Regions may pin the same pages more than once.
 *               Pages a userfaultfd has yet to provide are waited for, as a
 *               fault would wait (killably, holding no lock). The range is
 *               checked before anything is allocated for it; the first
 *               part that cannot be pinned, in address order, gives the
 *               error.
 * @flags:       (in) VMMEM_REGION_* flags
 * @id:          (out) region id, unique within this open file and never
 *               reused (ignored on input, as is @mmap_offset; undefined
 *               after an error, and a failed add may use up an id)
 * @mmap_offset: (out) offset to mmap() the region at (MAP_SHARED), or
 *               VMMEM_NO_MMAP for user-backed regions
 * @reserved:    must be zero
 *
 * Errors: -EINVAL (size 0, an address or the size not page-aligned, unknown
 * flags, reserved non-zero), -EOVERFLOW (guest_addr + size or
 * user_addr + size past 2^64 - 1: the end must be representable),
 * -EEXIST (overlaps a region), -ENOSPC (max_regions reached, or the mmap
 * offset space is exhausted), -ENOMEM (RLIMIT_MEMLOCK exceeded, or out of
 * memory), -EFAULT (the user range is not mapped, or not writable, or
 * cannot be pinned, or @id cannot be written back), -EOPNOTSUPP (the user
 * range has a kind of memory that cannot be pinned for long, above),
 * -EBADF (not open for writing), -EINTR. A failed add changes nothing: not
 * the table, not its generation, not the mmap offset space; no access ever
 * reaches a region whose add fails, not even through mmap().
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
 * @huge_chunks: (out) how many 2 MiB chunks of a kernel-backed region are
 *               one 2 MiB page each (0 for user-backed regions). A
 *               kernel-backed region of 2 MiB or more gets a 2 MiB aligned
 *               @mmap_offset, and each whole 2 MiB of it from its start is
 *               made of one 2 MiB page where the host has one free (else,
 *               and for the rest, of 4 KiB pages): a shared mapping at a
 *               2 MiB aligned address (mmap() picks one) maps such a chunk
 *               with one page-table entry, and KVM maps it for its guest
 *               with one 2 MiB entry where the guest address is 2 MiB
 *               aligned too. Not while the region is dirty-logged: see
 *               VMMEM_DIRTY_TRACK. New in vmmem 1.5: an older module
 *               reports 0 (the field was reserved).
 */
struct vmmem_region_info {
	__u64 guest_addr;
	__u64 size;
	__u64 user_addr;
	__u64 mmap_offset;
	__u32 id;
	__u32 flags;
	__u32 backing;
	__u32 huge_chunks;
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
 * finished and no new one can reach the region; an access that was waiting
 * for its user buffer to fault in finds the region gone afterwards. The
 * wait is short: no access holds the region while it waits for user
 * memory. Its pages stay valid for existing mmap()s until they are
 * unmapped.
 *
 * Errors: -ENOENT (no such region, or no exact match), -EINVAL, -EBADF.
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
 * Bytes copied before an error stay copied; guest bytes past @done are
 * left as they were. A copy looks each region up as it gets there: one
 * that runs while a region it spans is removed stops where it finds the
 * region gone, as at a hole (short, or -ERANGE with VMMEM_IO_EXACT).
 *
 * Errors:
 *   -ENXIO   the first byte is not backed (@done is 0)
 *   -ERANGE  VMMEM_IO_EXACT and the copy stopped short at a hole or the end
 *            of memory (@done bytes were copied)
 *   -EACCES  a write reached a read-only region: at the first byte, or later
 *            with VMMEM_IO_EXACT (without it the write stops there, as at
 *            a hole, and succeeds short)
 *   -EFAULT  the user buffer faulted after @done bytes
 *   -EINTR   a fatal signal arrived (@done bytes were copied)
 *   -EBADF   VMMEM_READ on a file not open for reading, VMMEM_WRITE on one
 *            not open for writing
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
 * the index of that op (-EBADF: an op the file's mode does not allow). A
 * descriptor chain maps to one call. Each op sees the table as it is when
 * the op starts: an op that starts after a remove or an add returned never
 * reaches the removed region, and does reach the added one.
 */
struct vmmem_io_batch {
	__u64 ops;
	__u32 count;
	__u32 flags;
	__u32 done_ops;
	__u32 reserved;
};

/* Atomic operations, VMMEM_ATOMIC. */
#define VMMEM_ATOMIC_LOAD	1
#define VMMEM_ATOMIC_STORE	2
#define VMMEM_ATOMIC_CMPXCHG	3
#define VMMEM_ATOMIC_FETCH_ADD	4

/* Memory orderings, as C11's; read-modify-writes are always SEQ_CST. */
#define VMMEM_ORDER_RELAXED	0
#define VMMEM_ORDER_ACQUIRE	1	/* loads and read-modify-writes */
#define VMMEM_ORDER_RELEASE	2	/* stores and read-modify-writes */
#define VMMEM_ORDER_SEQ_CST	3

/**
 * struct vmmem_atomic - argument of VMMEM_ATOMIC
 * @guest_addr: (in) guest-physical address, aligned to @size
 * @value:      (in) STORE: the value; CMPXCHG: the new value;
 *              FETCH_ADD: the addend (wraps at @size bytes)
 * @expected:   (in) CMPXCHG: the value expected; else must be 0
 * @result:     (out) LOAD: the value; CMPXCHG and FETCH_ADD: the old value
 *              (CMPXCHG stored @value iff @result == @expected); STORE: 0
 * @op:         (in) VMMEM_ATOMIC_*
 * @size:       (in) 1, 2, 4 or 8
 * @order:      (in) VMMEM_ORDER_*
 * @reserved:   must be zero
 *
 * The access is one atomic access of @size bytes in guest memory, in host
 * byte order (a fetch-add is a locked xadd: it cannot be made to retry). @value and @expected must fit in @size bytes. LOAD needs a
 * file open for reading, STORE one open for writing, CMPXCHG and FETCH_ADD
 * both.
 * Errors, in this order of precedence (vm-memory's: the region is looked
 * up before the access is checked against it): -EFAULT (the argument),
 * -EINVAL (unknown op, size or order; an ordering the op cannot have, like
 * a RELEASE load; a value wider than @size), -EBADF, -ENXIO (no memory at
 * @guest_addr, whatever its alignment), -EINVAL (@guest_addr not aligned
 * to @size: such an access could tear or cross regions), -EACCES (STORE,
 * CMPXCHG or FETCH_ADD on a read-only region). On error nothing is
 * written to guest memory; @result is probed before the access, so
 * -EFAULT after it needs another thread to unmap the argument meanwhile.
 */
struct vmmem_atomic {
	__u64 guest_addr;
	__u64 value;
	__u64 expected;
	__u64 result;
	__u32 op;
	__u32 size;
	__u32 order;
	__u32 reserved;
};

/**
 * struct vmmem_copy - argument of VMMEM_COPY: guest-to-guest memmove
 * @src_gpa:  (in) first source byte
 * @dst_gpa:  (in) first destination byte
 * @len:      (in) bytes to copy
 * @done:     (out) bytes copied (a prefix of the range)
 * @flags:    (in) VMMEM_IO_EXACT
 * @reserved: must be zero
 *
 * Overlapping ranges are copied as memmove() does, judged by guest address
 * (as memmove() judges by virtual address): from the end when the
 * destination overlaps the source from above, else from the start, a page
 * at a time. Regions that alias the same pages (user regions over one
 * memfd) are not overlap by guest address: between them the copy runs in
 * that order, and may read a byte it wrote through the alias earlier.
 * Both ranges may span adjacent regions; the copy covers the longest
 * prefix that is backed in both (and writable at the destination) and
 * reports it in @done; each piece checks the regions it touches again, so
 * a destination re-added read-only meanwhile stops the copy (-EACCES with
 * VMMEM_IO_EXACT) and is never written. A copy from the end that stops
 * early reports @done 0 and the error that stopped it. Needs a file open
 * for reading and writing.
 * Errors: -ENXIO (first source or destination byte not backed), -EACCES
 * (a read-only destination byte: the first, or a later one with
 * VMMEM_IO_EXACT), -ERANGE (VMMEM_IO_EXACT and short at a hole), -EINTR
 * (@done is the prefix copied; 0 for a copy from the end).
 */
struct vmmem_copy {
	__u64 src_gpa;
	__u64 dst_gpa;
	__u64 len;
	__u64 done;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct vmmem_slice - one contiguous piece of a translated range
 * @guest_addr:    (out) first byte of the piece
 * @len:           (out) bytes in the piece
 * @region_offset: (out) offset of the piece in its region
 * @mmap_offset:   (out) mmap offset of the piece, or VMMEM_NO_MMAP
 * @user_addr:     (out) the pinned user address of the piece, or 0
 * @region_id:     (out) id of its region
 * @flags:         (out) the region's VMMEM_REGION_* flags
 */
struct vmmem_slice {
	__u64 guest_addr;
	__u64 len;
	__u64 region_offset;
	__u64 mmap_offset;
	__u64 user_addr;
	__u32 region_id;
	__u32 flags;
};

/**
 * struct vmmem_translate - argument of VMMEM_TRANSLATE (vm-memory get_slices)
 * @guest_addr: (in) first byte of the range
 * @len:        (in) bytes in the range
 * @slices:     (in) user pointer to an array of struct vmmem_slice
 * @count:      (in) capacity of that array; (out) pieces written
 * @flags:      (in) must be zero
 * @done:       (out) bytes covered by the pieces written
 * @reserved:   must be zero
 *
 * Pieces come in guest address order; one piece per region touched.
 * A zero @len gives no pieces and succeeds anywhere. @count and @done are
 * written back on -ENXIO and -E2BIG too.
 * Errors: -ENXIO (a hole or the end of memory at guest_addr + @done: the
 * pieces before it are written), -E2BIG (the array filled up first).
 */
struct vmmem_translate {
	__u64 guest_addr;
	__u64 len;
	__u64 slices;
	__u32 count;
	__u32 flags;
	__u64 done;
	__u64 reserved;
};

/* Loop until @len is done, or end of file (read_exact / write_all). */
#define VMMEM_FD_EXACT		(1U << 0)
#define VMMEM_FD_FLAGS		(VMMEM_FD_EXACT)

/**
 * struct vmmem_fd_io - argument of VMMEM_READ_FROM_FD and VMMEM_WRITE_TO_FD
 * @guest_addr: (in) first guest byte
 * @len:        (in) bytes to transfer
 * @offset:     (in) file offset (pread/pwrite), or -1 for the file position,
 *              which is then advanced (not serialised against concurrent
 *              read(2)/write(2) on the same open file)
 * @done:       (out) bytes transferred, written even on error
 * @fd:         (in) file descriptor: regular file, block device, pipe, socket
 * @flags:      (in) VMMEM_FD_EXACT
 * @reserved:   must be zero
 *
 * READ_FROM_FD copies from the file into guest memory (vm-memory
 * read_volatile_from), WRITE_TO_FD the other way (write_volatile_to), in the
 * kernel, across adjacent regions. The data lands contiguously: a short
 * transfer ends the call (without VMMEM_FD_EXACT) or is continued at the
 * next guest byte (with it), never leaving a gap.
 * WRITE_TO_FD into a regular file takes the filesystem's freeze protection,
 * as write(2) does: it waits while the filesystem is frozen.
 * Errors: -EBADF (bad fd, or @fd not open for the direction; or the vmmem
 * file not open for writing (READ_FROM_FD) or reading (WRITE_TO_FD)),
 * -ESPIPE (an offset on an unseekable file), -EINVAL (negative offset
 * other than -1),
 * -ENXIO (first guest byte not backed), -ERANGE (EXACT and the guest range
 * is short), -ENODATA (EXACT and end of file first), -EIO (EXACT and the
 * file took no more bytes), -EACCES (READ_FROM_FD into a read-only
 * region), -EINTR (a signal: @done says how far it got), or the file's own
 * error. Without EXACT, an error after some bytes ends the call
 * successfully short.
 *
 * The transfer holds references on the guest pages, not the region table:
 * removing a region never waits for a blocked read, and a transfer in
 * flight may still complete on a removed region's pages.
 */
struct vmmem_fd_io {
	__u64 guest_addr;
	__u64 len;
	__s64 offset;
	__u64 done;
	__s32 fd;
	__u32 flags;
	__u64 reserved;
};

/*
 * The dirty log: one bit per page of each region whose writes are logged,
 * set by every write that reaches the page:
 *  - writes vmmem makes: VMMEM_WRITE, batch writes, atomic stores,
 *    compare-exchanges and fetch-adds, the destination of VMMEM_COPY,
 *    VMMEM_READ_FROM_FD (all it gave the read, even if the read failed:
 *    a direct read may land in part); a read never dirties a page;
 *  - for kernel-backed regions, every write through a mapping of the file,
 *    in any process (the VMM, a fork()ed child, a vhost-user backend that
 *    received the fd) and by KVM through a memslot over such a mapping:
 *    while a region is logged its pages are mapped write-protected, the
 *    first write to a page after a harvest faults, marks it and makes it
 *    writable, and a harvest write-protects again what it reports (which
 *    makes KVM drop its mapping: its next write faults in the same way).
 *  - writes through a reference to a page of a kernel-backed region taken
 *    while it was mapped writable, which need no fault: a pin or a plain
 *    get_user_pages() reference (O_DIRECT, process_vm_writev(), AIO and
 *    io_uring reads into unregistered buffers), a kernel mapping (KVM).
 *    START and every harvest that reports a page count its references
 *    after write-protecting it; one that neither the region nor a mapping
 *    holds keeps the page dirty: it is reported by every harvest while the
 *    reference lasts, and by one more after. Mappings are counted: a page
 *    with many mappings is reported once per write. A write through such a
 *    reference after the last harvest is in no copy: the last round of a
 *    migration comes after the writers stop, I/O in flight included. A
 *    2 MiB page (@huge_chunks) has one count for its 512 pages: a
 *    reference to any keeps dirty those of them reported with it, and
 *    START starts all of them dirty.
 *  - A logged region's 2 MiB pages are mapped with 4 KiB entries: START
 *    unmaps their 2 MiB ones, and mappings keep the 4 KiB page tables
 *    after STOP, until they are made again (mmap(MAP_FIXED) over
 *    themselves): then 2 MiB again.
 *  - For user-backed regions vmmem sees only its own writes: writes
 *    through the owner's mappings of that memory must be marked with
 *    VMMEM_DIRTY_MARK.
 * Logging starts at the add (VMMEM_REGION_DIRTY_LOG) or with
 * VMMEM_DIRTY_START, with every page clean but those held by such a
 * reference (START; a new region has none); struct vmmem_region_info
 * reports the flag while a region is logged. Both ioctls need a file open
 * for reading and writing. New in vmmem 1.4: an older module answers
 * -ENOTTY to both and -EINVAL to the flag.
 */
#define VMMEM_DIRTY_START	1	/* log the regions' writes */
#define VMMEM_DIRTY_STOP	2	/* stop, and forget the log */
#define VMMEM_DIRTY_MARK	3	/* mark the pages dirty */

/**
 * struct vmmem_dirty_track - argument of VMMEM_DIRTY_TRACK
 * @guest_addr: (in) first byte of the range, page-aligned
 * @len:        (in) bytes in the range, page-aligned
 * @op:         (in) VMMEM_DIRTY_START or _STOP: every region that overlaps
 *              the range, whole; VMMEM_DIRTY_MARK: the pages of the range
 *              in logged regions
 * @regions:    (out) regions acted on (MARK: regions the range overlaps)
 * @reserved:   must be zero
 *
 * START on a logged region and STOP on one that is not are no-ops.
 * Errors: -EINVAL (unaligned, wrapping past 2^64, unknown op), -ENOMEM
 * (@regions were acted on), -EINTR (a fatal signal; @regions were acted
 * on), -EFAULT (the argument cannot be read, or @regions cannot be
 * written: checked first, so nothing was done), -EBADF (not open for
 * reading and writing).
 */
struct vmmem_dirty_track {
	__u64 guest_addr;
	__u64 len;
	__u32 op;
	__u32 regions;
	__u64 reserved;
};

/* Harvest flags. */
#define VMMEM_DIRTY_RANGES	(1U << 0)	/* coalesced ranges, not bits */
#define VMMEM_DIRTY_PEEK	(1U << 1)	/* report, clear nothing */
#define VMMEM_DIRTY_FLAGS	(VMMEM_DIRTY_RANGES | VMMEM_DIRTY_PEEK)

/* One run of dirty pages, VMMEM_DIRTY_RANGES. */
struct vmmem_dirty_range {
	__u64 guest_addr;
	__u64 len;
};

/**
 * struct vmmem_dirty_harvest - argument of VMMEM_DIRTY_HARVEST
 * @guest_addr: (in) first byte of the range, page-aligned
 * @len:        (in) bytes in the range, page-aligned
 * @buf:        (in) user pointer: a bitmap of (len / 4096 + 63) / 64 __u64s,
 *              bit i (bit i % 64 of word i / 64) for the page at
 *              @guest_addr + i * 4096, all of it written; or, with
 *              VMMEM_DIRTY_RANGES, an array of @count struct
 *              vmmem_dirty_range, in guest address order
 * @count:      (in) capacity of the ranges array; (out) ranges written
 * @flags:      (in) VMMEM_DIRTY_*
 * @pages:      (out) dirty pages reported
 * @done:       (out) bytes of the range harvested: @len, unless the ranges
 *              array filled up first (harvest again from guest_addr + done)
 * @reserved:   must be zero
 *
 * Reports the pages of the range written since the last harvest (or the
 * start) and clears them, atomically against concurrent writers: a write
 * that races a harvest is reported by this one or the next, never lost.
 * Pages in holes and in regions that are not logged are clean. The cost
 * follows the dirty pages, not the range: a summary bit per 64 pages is
 * looked at first.
 * Errors: -EINVAL (unaligned, wrapping, flags), -EFAULT (@buf: what was
 * harvested is marked dirty again), -ENOMEM, -EINTR (a fatal signal: @done
 * says how far it got), -EBADF (not open for reading and writing).
 */
struct vmmem_dirty_harvest {
	__u64 guest_addr;
	__u64 len;
	__u64 buf;
	__u32 count;
	__u32 flags;
	__u64 pages;
	__u64 done;
	__u64 reserved;
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
#define VMMEM_ATOMIC		_IOWR(VMMEM_IOCTL_MAGIC, 0x08, struct vmmem_atomic)
#define VMMEM_COPY		_IOWR(VMMEM_IOCTL_MAGIC, 0x09, struct vmmem_copy)
#define VMMEM_TRANSLATE		_IOWR(VMMEM_IOCTL_MAGIC, 0x0a, struct vmmem_translate)
#define VMMEM_READ_FROM_FD	_IOWR(VMMEM_IOCTL_MAGIC, 0x0b, struct vmmem_fd_io)
#define VMMEM_WRITE_TO_FD	_IOWR(VMMEM_IOCTL_MAGIC, 0x0c, struct vmmem_fd_io)
#define VMMEM_DIRTY_TRACK	_IOWR(VMMEM_IOCTL_MAGIC, 0x0d, struct vmmem_dirty_track)
#define VMMEM_DIRTY_HARVEST	_IOWR(VMMEM_IOCTL_MAGIC, 0x0e, struct vmmem_dirty_harvest)

/*
 * mmap(), MAP_SHARED only, of the file's offset space: each kernel-backed
 * region has its range of it, [mmap_offset, mmap_offset + size), never
 * reused; lseek(SEEK_END) gives its end.
 *  - A mapping within one region holds the region's pages: they stay
 *    valid for the mapping after the region is removed or the file is
 *    closed, however the remove races the mmap(). They are faulted in as
 *    they are touched.
 *  - A mapping may also cover any page range of [0, end) that holds a page
 *    of some region (libvhost-user and DPDK map [0, mmap_offset + size)):
 *    its pages are faulted in as they are touched and then stay valid as
 *    above. A page of no region (a gap, a removed region, or one removed
 *    before the page was touched) raises SIGBUS.
 *  - A read-only region's pages are mapped read-only in any mapping: a
 *    write to one raises SIGBUS, also after the region is removed. Pages
 *    are mapped read-only until their first write (the mapping is
 *    write-notify).
 *  - Guest memory is never executable in the host.
 * Errors: -EINVAL (MAP_PRIVATE; a range past the end, or with no page of
 * any region, such as the range of a region removed meanwhile, or of a
 * user-backed region), -EACCES (PROT_WRITE on a range within one
 * read-only region, whose mappings can never gain write permission; and,
 * from the kernel, any mapping of a file not open for reading), -EPERM
 * (PROT_EXEC; mprotect() to add it fails with -EACCES). The mapping cannot
 * grow: mremap() fails with -EFAULT (VM_DONTEXPAND). A fork()ed child
 * shares the mapping: it sees the same pages. The mappings of one open
 * file share an address_space of their own (not the device node's).
 *
 * lseek(fd, 0, SEEK_END) returns the end of the mmap offset space, so
 * mmap-based clients that check a file's size (vm-memory) accept offsets.
 */

#endif /* _UAPI_LINUX_VMMEM_H */
