/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmmem - userspace access to guest physical memory through /dev/vmmem.
 *
 * A thin wrapper over the ioctls of <linux/vmmem.h>, named after rust-vmm's
 * vm-memory (GuestMemory, Bytes). One handle is one guest address space
 * (one open file of /dev/vmmem).
 *
 * Conventions: every function returns 0 or a non-negative count on success
 * and a negative errno on failure; errno is not used to report errors.
 * Functions returning bool fold every error into false.
 *
 * Thread safety: all functions may be called concurrently on one handle,
 * except vmmem_close(), which must be the last call on it.
 *
 * Host pointers (vmmem_get_host_address(), vmmem_get_iovecs()) and the
 * direct copies (vmmem_read_direct() and friends) come from a cache of the
 * region table, each region mapped on first use. A hit is a
 * lock-free binary search of an immutable snapshot (a new one is published
 * on change, old ones are freed at vmmem_close()). The rules:
 *
 *  - The cache remembers the generation of the region table
 *    (VMMEM_LIST_REGIONS) it agrees with. On every cache miss (an address
 *    no cached region holds, a hole included, or a region not mapped yet)
 *    the library reads the generation (one ioctl) and, if it moved,
 *    re-reads the table and refreshes the cache: entries of regions that
 *    no longer exist are dropped. vmmem_refresh() does the
 *    same on demand, and vmmem_get_iovecs() does it when a translated
 *    slice names another region than the cached one.
 *  - A hit is not checked against the kernel: after a region is removed
 *    (or replaced) through the raw fd or by another process sharing the
 *    file, a lookup that hits the cache keeps returning pointers into the
 *    old region's pages until a refresh. Those pages stay valid memory.
 *  - Mappings dropped by a refresh are never unmapped before
 *    vmmem_close(): another thread may still hold a pointer into them, and
 *    the kernel keeps a removed region's pages for as long as they are
 *    mapped. So no pointer the library returned ever points into an
 *    unmapped range while the handle is open (but it may point into a
 *    removed region's pages, which the guest no longer sees).
 *  - Removal through the library (vmmem_remove_region*()) unmaps that
 *    region's mapping at once: the caller must hold no pointer into a
 *    region it removes.
 */
#ifndef _VMMEM_H
#define _VMMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/vmmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle: an open /dev/vmmem plus a cache of host mappings. */
struct vmmem;

/**
 * vmmem_open() - open a new, empty guest address space
 * @out: where to store the handle
 *
 * Opens the path in the environment variable VMMEM_DEV if it is set and not
 * empty (ignored in set-user-ID programs), else /dev/vmmem, with
 * O_RDWR | O_CLOEXEC. The API version is not checked: see
 * vmmem_api_version().
 *
 * Return: 0, or -errno from open() or -ENOMEM.
 */
int vmmem_open(struct vmmem **out);

/**
 * vmmem_open_path() - like vmmem_open(), with an explicit device path
 * @path: the device node
 * @out:  where to store the handle
 *
 * Return: 0, or -errno from open() or -ENOMEM.
 */
int vmmem_open_path(const char *path, struct vmmem **out);

/**
 * vmmem_close() - unmap all cached mappings and close the handle
 * @vm: the handle, or NULL (no-op)
 *
 * Closing the file destroys the guest address space, but pages stay valid
 * for mappings made outside the library until they are unmapped. Pointers
 * returned by vmmem_get_host_address() and vmmem_get_iovecs() for
 * kernel-backed regions become invalid, those into retired mappings of
 * removed regions included.
 */
void vmmem_close(struct vmmem *vm);

/**
 * vmmem_fd() - the file descriptor of the handle
 * @vm: the handle
 *
 * For what the library does not cover, such as passing the file to another
 * process. Regions removed through the fd rather than the library leave
 * stale entries in the mapping cache until the next refresh (see the rules
 * at the top of this file and vmmem_refresh()).
 *
 * Return: the file descriptor, owned by the handle.
 */
int vmmem_fd(struct vmmem *vm);

/**
 * vmmem_api_version() - the ABI version the module implements
 * @vm: the handle
 *
 * Return: the version (compare with VMMEM_API_VERSION), or -errno
 * (-ENOTTY: the file is not a vmmem device).
 */
int vmmem_api_version(struct vmmem *vm);

/**
 * vmmem_add_region() - place a region of memory at a guest address
 * @vm:        the handle
 * @gpa:       guest-physical address of its first byte, page-aligned
 * @size:      length in bytes, page-aligned, non-zero
 * @user_addr: NULL: the module allocates zeroed pages; else page-aligned,
 *             writable memory of this process (anonymous or another
 *             private mapping, memfd/shmem, hugetlbfs) that is pinned for
 *             the region's lifetime and charged to the user's
 *             RLIMIT_MEMLOCK allowance unless the caller has CAP_IPC_LOCK
 * @flags:     VMMEM_REGION_* flags
 * @out:       if not NULL, receives the new region's description
 *
 * Return: 0, or -EINVAL (alignment, size 0, unknown flags), -EOVERFLOW (the
 * end is not representable), -EEXIST (overlaps a region), -ENOSPC (too many
 * regions), -ENOMEM (RLIMIT_MEMLOCK, out of memory: never an OOM kill),
 * -EFAULT (@user_addr cannot be pinned), -EOPNOTSUPP (@user_addr is in a
 * shared mapping of a file other than shmem or hugetlbfs), -EINTR (a fatal
 * signal). A failed add changes nothing.
 */
int vmmem_add_region(struct vmmem *vm, uint64_t gpa, uint64_t size,
		     void *user_addr, uint32_t flags,
		     struct vmmem_region_info *out);

/**
 * vmmem_remove_region() - remove a region by id
 * @vm: the handle
 * @id: the region id from vmmem_add_region() or a listing
 *
 * On return, accesses through the handle no longer reach the region, and the
 * library's own mapping of it (vmmem_get_host_address()) has been unmapped:
 * host pointers into it must no longer be in use. Mappings made outside the
 * library stay valid.
 *
 * Return: 0, or -ENOENT (no such region).
 */
int vmmem_remove_region(struct vmmem *vm, uint32_t id);

/**
 * vmmem_remove_region_at() - remove the region that is exactly [gpa, gpa+size)
 * @vm:   the handle
 * @gpa:  the region's first guest address
 * @size: the region's size
 *
 * As vmmem_remove_region(), selecting the region by its range.
 *
 * Return: 0, or -ENOENT (no region matches exactly).
 */
int vmmem_remove_region_at(struct vmmem *vm, uint64_t gpa, uint64_t size);

/**
 * vmmem_regions() - list the regions in ascending guest address order
 * @vm:  the handle
 * @buf: array of @cap entries; may be NULL when @cap is 0
 * @cap: capacity of @buf
 *
 * With @cap 0, copies nothing and returns the number of regions: use it to
 * size @buf. Regions may be added between the two calls; retry on -E2BIG.
 *
 * Return: the number of regions stored in @buf, or -E2BIG (more regions
 * than @cap; call again with @cap 0 for the count), or -errno.
 */
int vmmem_regions(struct vmmem *vm, struct vmmem_region_info *buf,
		  unsigned int cap);

/**
 * typedef vmmem_region_cb - callback of vmmem_for_each_region()
 * @info: one region
 * @arg:  the caller's argument
 *
 * Return: 0 to continue, anything else to stop the iteration.
 */
typedef int (*vmmem_region_cb)(const struct vmmem_region_info *info,
			       void *arg);

/**
 * vmmem_for_each_region() - call @cb for every region, ascending by address
 * @vm:  the handle
 * @cb:  the callback
 * @arg: passed to @cb
 *
 * Iterates over a snapshot taken before the first call, so @cb may add or
 * remove regions.
 *
 * Return: 0 after all regions, the first non-zero value @cb returned, or
 * -errno if the snapshot could not be taken (-ENOMEM).
 */
int vmmem_for_each_region(struct vmmem *vm, vmmem_region_cb cb, void *arg);

/**
 * vmmem_find_region() - the region that holds a guest address
 * @vm:  the handle
 * @gpa: the guest address
 * @out: receives the region
 *
 * Return: 0, or -ENXIO (@gpa is not backed).
 */
int vmmem_find_region(struct vmmem *vm, uint64_t gpa,
		      struct vmmem_region_info *out);

/**
 * vmmem_read() - copy guest memory into @buf, as far as it is backed
 * @vm:  the handle
 * @gpa: guest address of the first byte
 * @buf: destination
 * @len: bytes to copy (clamped to SSIZE_MAX)
 *
 * vm-memory's Bytes::read: runs across adjacent regions and stops at the
 * first byte that is not backed. Copies of 1, 2, 4 or 8 bytes at an address
 * aligned to that size are single accesses.
 *
 * Return: the number of bytes copied (less than @len if a hole or the end
 * of memory was reached), or -ENXIO (the first byte is not backed), -EFAULT,
 * -EINTR. Bytes copied before an error stay copied, but their count is not
 * returned: a one-op vmmem_io_batch() with flags 0 has the same semantics
 * and reports it in the op's done field.
 */
ssize_t vmmem_read(struct vmmem *vm, uint64_t gpa, void *buf, size_t len);

/**
 * vmmem_write() - copy @buf into guest memory, as far as it is backed
 * @vm:  the handle
 * @gpa: guest address of the first byte
 * @buf: source
 * @len: bytes to copy (clamped to SSIZE_MAX)
 *
 * As vmmem_read(); a read-only region stops the write like a hole.
 *
 * Return: the number of bytes copied, or -ENXIO (first byte not backed),
 * -EACCES (first byte read-only), -EFAULT, -EINTR.
 */
ssize_t vmmem_write(struct vmmem *vm, uint64_t gpa, const void *buf,
		    size_t len);

/**
 * vmmem_read_exact() - copy exactly @len bytes of guest memory into @buf
 * @vm:   the handle
 * @gpa:  guest address of the first byte
 * @buf:  destination
 * @len:  bytes to copy
 * @done: if not NULL, receives the bytes copied, also on failure
 *
 * vm-memory's Bytes::read_slice. Bytes copied before a failure stay copied.
 *
 * Return: 0, or -ENXIO (first byte not backed), -ERANGE (stopped short at a
 * hole or the end of memory: vm-memory's PartialBuffer), -EFAULT, -EINTR.
 */
int vmmem_read_exact(struct vmmem *vm, uint64_t gpa, void *buf, size_t len,
		     size_t *done);

/**
 * vmmem_write_exact() - copy exactly @len bytes of @buf into guest memory
 * @vm:   the handle
 * @gpa:  guest address of the first byte
 * @buf:  source
 * @len:  bytes to copy
 * @done: if not NULL, receives the bytes copied, also on failure
 *
 * vm-memory's Bytes::write_slice.
 *
 * Return: 0, or -ENXIO, -ERANGE (short), -EACCES (reached a read-only
 * region), -EFAULT, -EINTR.
 */
int vmmem_write_exact(struct vmmem *vm, uint64_t gpa, const void *buf,
		      size_t len, size_t *done);

/**
 * vmmem_read_obj() - read one object of the type @ptr points to
 * @vm:  the handle
 * @gpa: guest address
 * @ptr: pointer to the object
 *
 * Naturally aligned objects of 1, 2, 4 or 8 bytes are read in one access.
 * Return: as vmmem_read_exact().
 */
#define vmmem_read_obj(vm, gpa, ptr) \
	vmmem_read_exact((vm), (gpa), (ptr), sizeof(*(ptr)), NULL)

/**
 * vmmem_write_obj() - write one object of the type @ptr points to
 * @vm:  the handle
 * @gpa: guest address
 * @ptr: pointer to the object
 *
 * Return: as vmmem_write_exact().
 */
#define vmmem_write_obj(vm, gpa, ptr) \
	vmmem_write_exact((vm), (gpa), (ptr), sizeof(*(ptr)), NULL)

/**
 * vmmem_read_direct() - vmmem_read() without a system call
 * @vm:  the handle
 * @gpa: guest address
 * @buf: destination
 * @len: bytes to read
 *
 * The same copy as vmmem_read(), done by the library through its cached
 * mappings of the regions (see vmmem_get_host_address(): kernel-backed
 * regions are mapped on first use; user-backed ones are read at their
 * user_addr, so only in the process that added them). It runs across
 * adjacent regions, stops at the first unbacked byte, and a naturally
 * aligned 1, 2, 4 or 8 byte copy is one access. A cache hit takes no lock
 * and no system call; this is vm-memory's Bytes::read in userspace.
 *
 * Like a host pointer, a direct copy reads and writes the mapping itself:
 * it must not run in a region that another thread removes through the
 * library at the same time (that unmaps the library's mapping). A region
 * removed behind the library's back stays mapped until vmmem_close(), so
 * there the copy sees the old memory, as vmmem_get_host_address() does.
 *
 * Return: the bytes read (fewer than @len at a hole), or -ENXIO (@gpa not
 * backed), or an error of vmmem_get_host_address().
 */
ssize_t vmmem_read_direct(struct vmmem *vm, uint64_t gpa, void *buf,
			  size_t len);

/**
 * vmmem_write_direct() - vmmem_write() without a system call
 * @vm:  the handle
 * @gpa: guest address
 * @buf: source
 * @len: bytes to write
 *
 * As vmmem_read_direct(); stops short before a read-only region.
 *
 * Return: the bytes written, or -ENXIO, -EACCES (@gpa is read-only), or an
 * error of vmmem_get_host_address().
 */
ssize_t vmmem_write_direct(struct vmmem *vm, uint64_t gpa, const void *buf,
			   size_t len);

/**
 * vmmem_read_direct_exact() - vmmem_read_exact() without a system call
 * @vm:   the handle
 * @gpa:  guest address
 * @buf:  destination
 * @len:  bytes to read
 * @done: if not NULL, receives the bytes read, also on error
 *
 * vm-memory's Bytes::read_slice, through the mappings as vmmem_read_direct().
 *
 * Return: 0, or -ENXIO (nothing backed), -ERANGE (a hole cut it short), or
 * an error of vmmem_get_host_address().
 */
int vmmem_read_direct_exact(struct vmmem *vm, uint64_t gpa, void *buf,
			    size_t len, size_t *done);

/**
 * vmmem_write_direct_exact() - vmmem_write_exact() without a system call
 * @vm:   the handle
 * @gpa:  guest address
 * @buf:  source
 * @len:  bytes to write
 * @done: if not NULL, receives the bytes written, also on error
 *
 * Return: 0, or -ENXIO, -ERANGE, -EACCES (reached a read-only region), or
 * an error of vmmem_get_host_address().
 */
int vmmem_write_direct_exact(struct vmmem *vm, uint64_t gpa, const void *buf,
			     size_t len, size_t *done);

/* vmmem_read_obj()/vmmem_write_obj() through the mappings. */
#define vmmem_read_obj_direct(vm, gpa, ptr) \
	vmmem_read_direct_exact((vm), (gpa), (ptr), sizeof(*(ptr)), NULL)
#define vmmem_write_obj_direct(vm, gpa, ptr) \
	vmmem_write_direct_exact((vm), (gpa), (ptr), sizeof(*(ptr)), NULL)

/**
 * vmmem_io_op() - fill one op of a batch
 * @op:    the op to fill (reserved fields are zeroed)
 * @gpa:   guest address
 * @buf:   user buffer
 * @len:   bytes
 * @flags: VMMEM_IO_EXACT and/or VMMEM_IO_WRITE
 */
static inline void vmmem_io_op(struct vmmem_io *op, uint64_t gpa, void *buf,
			       size_t len, uint32_t flags)
{
	/* Field by field, so that C++ can include this header too. */
	op->guest_addr = gpa;
	op->user_addr = (uintptr_t)buf;
	op->len = len;
	op->done = 0;
	op->flags = flags;
	op->reserved = 0;
}

/**
 * vmmem_io_batch() - run reads and writes in one call, in order
 * @vm:       the handle
 * @ops:      the ops (see vmmem_io_op()); each op's @done is written back
 * @count:    number of ops, at most VMMEM_IO_BATCH_MAX
 * @done_ops: if not NULL, receives the number of ops completed without
 *            error, which is the index of the failed op on failure
 *
 * Stops at the first op that fails. For a descriptor chain, say.
 *
 * Return: 0, or the failed op's -errno (see vmmem_read_exact()), or -EINVAL.
 */
int vmmem_io_batch(struct vmmem *vm, struct vmmem_io *ops, unsigned int count,
		   unsigned int *done_ops);

/**
 * vmmem_check_range() - whether every byte of [gpa, gpa+len) is backed
 * @vm:  the handle
 * @gpa: first guest address
 * @len: length; 0 is always true
 *
 * Adjacent regions count as one range. Built on VMMEM_TRANSLATE: one ioctl
 * for every 16 regions crossed.
 *
 * Return: true if the whole range is backed; false otherwise or on error.
 */
bool vmmem_check_range(struct vmmem *vm, uint64_t gpa, uint64_t len);

/**
 * vmmem_last_addr() - the highest backed guest address
 * @vm:  the handle
 * @out: receives the address of the last byte of the highest region
 *
 * Return: 0, or -ENXIO (no regions), -ENOMEM.
 */
int vmmem_last_addr(struct vmmem *vm, uint64_t *out);

/**
 * vmmem_address_in_range() - whether a guest address is backed
 * @vm:  the handle
 * @gpa: the guest address
 *
 * Return: true if a region holds @gpa; false otherwise or on error.
 */
bool vmmem_address_in_range(struct vmmem *vm, uint64_t gpa);

/**
 * vmmem_get_host_address() - a host pointer to a guest address
 * @vm:         the handle
 * @gpa:        the guest address
 * @host:       receives the pointer
 * @contig_len: if not NULL, receives the bytes from @host to the end of the
 *              region, all valid behind @host
 *
 * Kernel-backed regions are mmap()ed whole, on first use, and the mapping
 * is cached in the handle: PROT_READ | PROT_WRITE, or PROT_READ only for
 * VMMEM_REGION_READONLY regions (a write through the pointer then faults).
 * For user-backed regions the pointer is user_addr plus the offset, valid
 * only in the process that added the region.
 *
 * A cache hit costs no system call and is not checked against the kernel.
 * A miss re-reads the region table and refreshes the cache if the table
 * changed (see the rules at the top of this file): after a region is
 * replaced behind the library's back, a lookup that misses (any address not
 * cached, or vmmem_refresh()) makes later lookups see the new region. The
 * pointer stays valid memory until the handle is closed, unless the region
 * is removed through the library.
 *
 * Return: 0, or -ENXIO (@gpa is not backed), -ENOMEM, -EOVERFLOW (the
 * region does not fit in this process's address space), -EAGAIN (regions
 * were removed between listing and mapping, over and over), or -errno from
 * mmap() or VMMEM_LIST_REGIONS.
 */
int vmmem_get_host_address(struct vmmem *vm, uint64_t gpa, void **host,
			   size_t *contig_len);

/**
 * struct vmmem_share - what to hand a client of a region's memory
 * @gpa:         (out) the region's first guest address
 * @size:        (out) its size in bytes
 * @host:        (out) where this process sees it: a KVM memslot's
 *               userspace_addr, a vhost-user region's userspace_addr
 * @fd:          (out) the descriptor another process maps it from: the
 *               handle's /dev/vmmem fd for a kernel-backed region; -1 for a
 *               user-backed one, whose owner passes its own (the memfd)
 * @mmap_offset: (out) the offset to map @fd at (vhost-user's mmap_offset),
 *               or VMMEM_NO_MMAP for a user-backed region
 * @flags:       (out) VMMEM_REGION_* (READONLY: KVM_MEM_READONLY)
 */
struct vmmem_share {
	uint64_t gpa;
	uint64_t size;
	void *host;
	int fd;
	uint64_t mmap_offset;
	uint32_t flags;
};

/**
 * vmmem_share_region() - a region as KVM and a vhost-user backend take it
 * @vm:  the handle
 * @gpa: any guest address in the region
 * @out: receives the region's description
 *
 * Maps a kernel-backed region (as vmmem_get_host_address() does) and says
 * which fd and offset a backend maps it from. A backend may map either
 * @mmap_offset on its own, or the whole file from 0 as libvhost-user does:
 * /dev/vmmem maps any range of its offset space.
 *
 * Return: 0, or the errors of vmmem_get_host_address().
 */
int vmmem_share_region(struct vmmem *vm, uint64_t gpa,
		       struct vmmem_share *out);

/*
 * The dirty log (uapi VMMEM_DIRTY_*): which pages were written since the
 * last look, by vmmem's writes, through any mapping of the file and by KVM
 * through memslots over such mappings. The names are vm-memory's Bitmap
 * ones where it has one.
 */

/**
 * vmmem_dirty_start() - log the writes of every region overlapping a range
 * @vm:  the handle
 * @gpa: first byte, page-aligned
 * @len: bytes, page-aligned
 *
 * Every page starts clean. A region added with VMMEM_REGION_DIRTY_LOG is
 * logged from the start.
 *
 * Return: the number of regions overlapping the range, or -EINVAL,
 * -ENOMEM.
 */
int vmmem_dirty_start(struct vmmem *vm, uint64_t gpa, uint64_t len);

/**
 * vmmem_dirty_stop() - stop logging, and forget the log
 * @vm:  the handle
 * @gpa: first byte, page-aligned
 * @len: bytes, page-aligned
 *
 * Return: the number of regions overlapping the range, or -EINVAL.
 */
int vmmem_dirty_stop(struct vmmem *vm, uint64_t gpa, uint64_t len);

/**
 * vmmem_mark_dirty() - mark pages dirty (vm-memory Bitmap::mark_dirty)
 * @vm:  the handle
 * @gpa: first byte
 * @len: bytes
 *
 * For writes vmmem cannot see: a user-backed region written through its
 * owner's own mapping. Pages of regions not logged are left alone.
 *
 * Return: 0, or -EINVAL.
 */
int vmmem_mark_dirty(struct vmmem *vm, uint64_t gpa, uint64_t len);

/**
 * vmmem_dirty_at() - whether a page is dirty (vm-memory Bitmap::dirty_at)
 * @vm:  the handle
 * @gpa: an address in the page
 *
 * Looks without clearing. Return: 1 (dirty), 0 (clean), or -errno.
 */
int vmmem_dirty_at(struct vmmem *vm, uint64_t gpa);

/**
 * vmmem_get_and_reset() - harvest a range as a bitmap
 *			   (vm-memory AtomicBitmap::get_and_reset)
 * @vm:     the handle
 * @gpa:    first byte, page-aligned
 * @len:    bytes, page-aligned
 * @bitmap: (len / 4096 + 63) / 64 words; bit i for page @gpa + i * 4096
 *
 * Returns what was written since the last harvest and clears it: a write
 * racing the harvest is reported now or next time, never lost.
 *
 * Return: the number of dirty pages, or -EINVAL, -EFAULT, -ENOMEM.
 */
int64_t vmmem_get_and_reset(struct vmmem *vm, uint64_t gpa, uint64_t len,
			    uint64_t *bitmap);

/**
 * vmmem_get_and_reset_ranges() - harvest a range as runs of dirty pages
 * @vm:     the handle
 * @gpa:    first byte, page-aligned
 * @len:    bytes, page-aligned
 * @ranges: receives up to @n runs, in address order
 * @n:      capacity of @ranges
 * @done:   if not NULL, receives the bytes of the range harvested: less
 *          than @len when @ranges filled up (call again from @gpa + *@done)
 *
 * The cost follows the dirty pages, not @len.
 *
 * Return: the number of runs written, or -EINVAL, -EFAULT, -ENOMEM.
 */
int vmmem_get_and_reset_ranges(struct vmmem *vm, uint64_t gpa, uint64_t len,
			       struct vmmem_dirty_range *ranges, unsigned int n,
			       uint64_t *done);

/**
 * vmmem_refresh() - bring the mapping cache in line with the region table
 * @vm: the handle
 *
 * Re-reads the table; if its generation moved since the cache was last in
 * line with it, drops the entries of regions that no longer exist. Their
 * mappings are retired, not unmapped (see the rules at the top of this
 * file). Call it after regions were removed or replaced through the raw fd
 * or by another process, when stale cache hits must end now.
 *
 * Return: 0, or -ENOMEM, or -errno from VMMEM_LIST_REGIONS.
 */
int vmmem_refresh(struct vmmem *vm);

/* --- atomics (vm-memory Bytes::load / store and friends) --------------- */

/**
 * vmmem_load() - atomic load from guest memory
 * @vm:    the handle
 * @gpa:   guest address, aligned to @size
 * @size:  1, 2, 4 or 8 bytes
 * @order: VMMEM_ORDER_RELAXED, _ACQUIRE or _SEQ_CST
 * @out:   receives the value, in host byte order, zero-extended
 *
 * One single-copy-atomic access of @size bytes (vm-memory Bytes::load).
 *
 * Return: 0, or -EINVAL (size, order such as VMMEM_ORDER_RELEASE, or @gpa
 * not aligned to @size), -ENXIO (not backed, whatever the alignment: as in
 * vm-memory, the region is looked up first). Loads work on read-only
 * regions.
 */
int vmmem_load(struct vmmem *vm, uint64_t gpa, unsigned int size, int order,
	       uint64_t *out);

/**
 * vmmem_store() - atomic store to guest memory
 * @vm:    the handle
 * @gpa:   guest address, aligned to @size
 * @size:  1, 2, 4 or 8 bytes
 * @val:   the value, which must fit in @size bytes
 * @order: VMMEM_ORDER_RELAXED, _RELEASE or _SEQ_CST
 *
 * vm-memory Bytes::store.
 *
 * Return: 0, or -EINVAL (size, order such as VMMEM_ORDER_ACQUIRE, @val
 * wider than @size, misaligned), -ENXIO (not backed), -EACCES (read-only
 * region). On error nothing is written.
 */
int vmmem_store(struct vmmem *vm, uint64_t gpa, unsigned int size,
		uint64_t val, int order);

/**
 * vmmem_compare_exchange() - atomic compare-and-swap in guest memory
 * @vm:       the handle
 * @gpa:      guest address, aligned to @size
 * @size:     1, 2, 4 or 8 bytes
 * @expected: the value expected, fitting in @size bytes
 * @desired:  the value to store if the current value is @expected
 * @old:      if not NULL, receives the value found (host order)
 *
 * Sequentially consistent. It stored @desired iff *@old == @expected.
 *
 * Return: 0 whether or not it stored, or -EINVAL (size, a value wider than
 * @size, misaligned), -ENXIO, -EACCES (read-only region).
 */
int vmmem_compare_exchange(struct vmmem *vm, uint64_t gpa, unsigned int size,
			   uint64_t expected, uint64_t desired, uint64_t *old);

/**
 * vmmem_compare_exchange_bool() - vmmem_compare_exchange(), did it store?
 * @vm:       the handle
 * @gpa:      guest address, aligned to @size
 * @size:     1, 2, 4 or 8 bytes
 * @expected: the value expected
 * @desired:  the value to store
 *
 * Return: true if @desired was stored; false if the value differed or on
 * any error.
 */
bool vmmem_compare_exchange_bool(struct vmmem *vm, uint64_t gpa,
				 unsigned int size, uint64_t expected,
				 uint64_t desired);

/**
 * vmmem_fetch_add() - atomic add in guest memory, returning the old value
 * @vm:     the handle
 * @gpa:    guest address, aligned to @size
 * @size:   1, 2, 4 or 8 bytes
 * @addend: added modulo 2^(8 * @size); must fit in @size bytes (to
 *          subtract x, add 2^(8 * @size) - x)
 * @old:    if not NULL, receives the value before the add
 *
 * Sequentially consistent.
 *
 * Return: 0, or -EINVAL, -ENXIO, -EACCES (read-only region).
 */
int vmmem_fetch_add(struct vmmem *vm, uint64_t gpa, unsigned int size,
		    uint64_t addend, uint64_t *old);

/**
 * vmmem_load_sized() - atomic load into an object of 1, 2, 4 or 8 bytes
 * @vm:    the handle
 * @gpa:   guest address, aligned to @size
 * @ptr:   the object; receives the bytes as guest memory holds them
 * @size:  its size
 * @order: as vmmem_load()
 *
 * The back end of vmmem_load_obj(). Guest memory and *@ptr hold the same
 * bytes, so it works for the vmmem_le* and vmmem_be* types too.
 *
 * Return: as vmmem_load(); -EINVAL for any other @size.
 */
int vmmem_load_sized(struct vmmem *vm, uint64_t gpa, void *ptr, size_t size,
		     int order);

/**
 * vmmem_store_sized() - atomic store of an object of 1, 2, 4 or 8 bytes
 * @vm:    the handle
 * @gpa:   guest address, aligned to @size
 * @ptr:   the object, stored byte for byte
 * @size:  its size
 * @order: as vmmem_store()
 *
 * The back end of vmmem_store_obj().
 *
 * Return: as vmmem_store(); -EINVAL for any other @size.
 */
int vmmem_store_sized(struct vmmem *vm, uint64_t gpa, const void *ptr,
		      size_t size, int order);

/**
 * vmmem_load_obj() - atomic load of the object @ptr points to
 * @vm:    the handle
 * @gpa:   guest address, aligned to sizeof(*@ptr)
 * @ptr:   pointer to an object of 1, 2, 4 or 8 bytes (an integer, or a
 *         vmmem_le16 and the like)
 * @order: VMMEM_ORDER_*
 *
 * Return: as vmmem_load_sized().
 */
#define vmmem_load_obj(vm, gpa, ptr, order) \
	vmmem_load_sized((vm), (gpa), (ptr), sizeof(*(ptr)), (order))

/**
 * vmmem_store_obj() - atomic store of the object @ptr points to
 * @vm:    the handle
 * @gpa:   guest address, aligned to sizeof(*@ptr)
 * @ptr:   pointer to an object of 1, 2, 4 or 8 bytes
 * @order: VMMEM_ORDER_*
 *
 * Return: as vmmem_store_sized().
 */
#define vmmem_store_obj(vm, gpa, ptr, order) \
	vmmem_store_sized((vm), (gpa), (ptr), sizeof(*(ptr)), (order))

/* --- guest-to-guest copy ------------------------------------------------ */

/**
 * vmmem_copy_guest() - memmove() within guest memory, as far as it goes
 * @vm:      the handle
 * @dst_gpa: first destination byte
 * @src_gpa: first source byte
 * @len:     bytes to copy (clamped to SSIZE_MAX)
 *
 * Overlapping ranges are copied as memmove() does; both may span adjacent
 * regions. The copy covers the longest prefix backed in both ranges and
 * writable at the destination.
 *
 * Return: the bytes copied (less than @len at a hole, the end of memory or
 * a read-only destination region), or -ENXIO (the first source or
 * destination byte is not backed), -EACCES (the first destination byte is
 * read-only). Zero @len returns 0 anywhere.
 */
ssize_t vmmem_copy_guest(struct vmmem *vm, uint64_t dst_gpa, uint64_t src_gpa,
			 size_t len);

/**
 * vmmem_copy_guest_exact() - memmove() exactly @len bytes in guest memory
 * @vm:      the handle
 * @dst_gpa: first destination byte
 * @src_gpa: first source byte
 * @len:     bytes to copy
 * @done:    if not NULL, receives the bytes copied, also on failure (a
 *           prefix of the range, which stays copied)
 *
 * Return: 0, or -ENXIO (first byte not backed), -ERANGE (short at a hole
 * or the end of memory), -EACCES (the destination reaches a read-only
 * region).
 */
int vmmem_copy_guest_exact(struct vmmem *vm, uint64_t dst_gpa,
			   uint64_t src_gpa, size_t len, size_t *done);

/* --- translation (vm-memory get_slices) --------------------------------- */

/**
 * vmmem_get_slices() - the contiguous pieces of a guest range
 * @vm:     the handle
 * @gpa:    first byte of the range
 * @len:    bytes in the range
 * @slices: array of @cap pieces, filled in guest address order, one per
 *          region touched
 * @cap:    capacity of @slices (at most INT_MAX is used)
 * @done:   if not NULL, receives the bytes covered by the pieces written,
 *          also on failure
 *
 * One VMMEM_TRANSLATE ioctl. On -ENXIO and -E2BIG the pieces before the
 * hole or the full array are written and cover exactly *@done bytes: their
 * number is how many of them it takes to sum up to *@done (all @cap for
 * -E2BIG). Go on from @gpa + *@done after -E2BIG.
 *
 * Return: the number of pieces (0 for a zero @len, anywhere), or -ENXIO (a
 * hole or the end of memory at @gpa + *@done), -E2BIG (@cap pieces were
 * not enough), -EFAULT.
 */
int vmmem_get_slices(struct vmmem *vm, uint64_t gpa, uint64_t len,
		     struct vmmem_slice *slices, unsigned int cap,
		     uint64_t *done);

/**
 * vmmem_get_iovecs() - host iovecs over a guest range, for readv/writev
 * @vm:  the handle
 * @gpa: first byte of the range
 * @len: bytes in the range
 * @iov: array of @cap iovecs, filled one per region touched
 * @cap: capacity of @iov
 *
 * Translates the range (VMMEM_TRANSLATE, 16 pieces per call) and points
 * each iovec at the host view of its piece: the cached mapping of a
 * kernel-backed region (mapped on first use, see vmmem_get_host_address())
 * or the pinned user memory of a user-backed one. A backend can then
 * readv()/writev() straight into or out of guest memory. A cached entry
 * that names another region than the translation is refreshed first, so
 * the iovecs always reach the regions that held the range at translation
 * time. Read-only kernel-backed regions are mapped read-only: reading a
 * file into them faults (readv() fails with EFAULT); see the slices' flags
 * (vmmem_get_slices()) to tell. The pointers follow the rules at the top
 * of this file.
 *
 * Return: the number of iovecs (0 for a zero @len), or -ENXIO (the range
 * runs into a hole or the end of memory), -E2BIG (more than @cap regions),
 * -EAGAIN (the regions kept changing under it), -ENOMEM, -errno from
 * mmap(). On error the contents of @iov are unspecified.
 */
int vmmem_get_iovecs(struct vmmem *vm, uint64_t gpa, uint64_t len,
		     struct iovec *iov, unsigned int cap);

/* --- file descriptor I/O (vm-memory read_volatile_from & co.) ----------- */

/**
 * vmmem_read_volatile_from() - read from a file into guest memory
 * @vm:  the handle
 * @gpa: first guest byte
 * @fd:  regular file, block device, pipe or socket, open for reading
 * @off: file offset (pread), or -1 to read at and advance the file position
 * @len: bytes to read (clamped to SSIZE_MAX)
 *
 * The transfer runs in the kernel, across adjacent regions, and ends at
 * the first short read of the file (vm-memory read_volatile_from, 0.10's
 * read_from), a hole or a read-only region.
 *
 * Return: the bytes read (0 at end of file or for a zero @len), or -EBADF
 * (bad fd, not open for reading), -ESPIPE (@off on a pipe or socket),
 * -EINVAL (@off below -1), -ENXIO (the first guest byte is not backed),
 * -EACCES (the first guest byte is read-only), -EINTR (a signal before any
 * byte), or the file's own -errno (before any byte).
 */
ssize_t vmmem_read_volatile_from(struct vmmem *vm, uint64_t gpa, int fd,
				 int64_t off, size_t len);

/**
 * vmmem_read_exact_volatile_from() - read exactly @len bytes from a file
 * @vm:   the handle
 * @gpa:  first guest byte
 * @fd:   file, open for reading
 * @off:  file offset, or -1 for the file position
 * @len:  bytes to read
 * @done: if not NULL, receives the bytes read, also on failure
 *
 * Short reads of the file are continued at the next guest byte, so the
 * data lands contiguously (vm-memory read_exact_volatile_from, 0.10's
 * read_exact_from). A signal that interrupts the transfer does not end it:
 * the library goes on from where it stopped (at @gpa + done, and at
 * @off + done for an explicit offset).
 *
 * Return: 0, or -ENODATA (end of file first: *@done bytes were read),
 * -ERANGE (a hole or the end of guest memory first), -EACCES (read-only
 * region), -EBADF, -ESPIPE, -EINVAL, -ENXIO as vmmem_read_volatile_from(),
 * or the file's -errno.
 */
int vmmem_read_exact_volatile_from(struct vmmem *vm, uint64_t gpa, int fd,
				   int64_t off, size_t len, size_t *done);

/**
 * vmmem_write_volatile_to() - write guest memory to a file
 * @vm:  the handle
 * @gpa: first guest byte
 * @fd:  file, open for writing
 * @off: file offset (pwrite), or -1 for the file position
 * @len: bytes to write (clamped to SSIZE_MAX)
 *
 * vm-memory write_volatile_to (0.10's write_to): ends at the first short
 * write of the file or a hole. Read-only regions can be written out.
 *
 * Return: the bytes written, or -EBADF (not open for writing), -ESPIPE,
 * -EINVAL, -ENXIO, -EINTR, or the file's -errno (-EPIPE, ...), as
 * vmmem_read_volatile_from().
 */
ssize_t vmmem_write_volatile_to(struct vmmem *vm, uint64_t gpa, int fd,
				int64_t off, size_t len);

/**
 * vmmem_write_all_volatile_to() - write exactly @len bytes to a file
 * @vm:   the handle
 * @gpa:  first guest byte
 * @fd:   file, open for writing
 * @off:  file offset, or -1 for the file position
 * @len:  bytes to write
 * @done: if not NULL, receives the bytes written, also on failure
 *
 * vm-memory write_all_volatile_to (0.10's write_all_to); continued after
 * signals as vmmem_read_exact_volatile_from().
 *
 * Return: 0, or -EIO (the file took no more bytes), -ERANGE (a hole first),
 * and the errors of vmmem_write_volatile_to().
 */
int vmmem_write_all_volatile_to(struct vmmem *vm, uint64_t gpa, int fd,
				int64_t off, size_t len, size_t *done);

/* --- endian types (vm-memory's Le16, Be32, ...) ------------------------- */

/*
 * Fixed byte-order values for guest structures, such as virtio's
 * little-endian fields. Each is a struct of one member, so that a
 * vmmem_le16 and a uint16_t (or a vmmem_be16) are different types and the
 * compiler catches a missing conversion. They are plain data: read and
 * write them with vmmem_read_obj()/vmmem_write_obj() (or atomically with
 * vmmem_load_obj()/vmmem_store_obj()), and they hold exactly the bytes that
 * guest memory holds.
 */
/*
 * Byte swaps to and from each order (their own inverses). Not <endian.h>'s
 * htole16() & co., which strict -std=c99/c11 modes hide; GCC and Clang
 * builtins instead.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define vmmem_le_swab16(x)	((uint16_t)(x))
#define vmmem_le_swab32(x)	((uint32_t)(x))
#define vmmem_le_swab64(x)	((uint64_t)(x))
#define vmmem_be_swab16(x)	__builtin_bswap16(x)
#define vmmem_be_swab32(x)	__builtin_bswap32(x)
#define vmmem_be_swab64(x)	__builtin_bswap64(x)
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define vmmem_le_swab16(x)	__builtin_bswap16(x)
#define vmmem_le_swab32(x)	__builtin_bswap32(x)
#define vmmem_le_swab64(x)	__builtin_bswap64(x)
#define vmmem_be_swab16(x)	((uint16_t)(x))
#define vmmem_be_swab32(x)	((uint32_t)(x))
#define vmmem_be_swab64(x)	((uint64_t)(x))
#else
#error "libvmmem: unknown byte order"
#endif

/**
 * struct vmmem_le16 - a 16-bit little-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_le16 {
	uint16_t raw;
} vmmem_le16;

/**
 * vmmem_le16_to_cpu() - the value of a vmmem_le16 in host byte order
 * @x: the little-endian value
 *
 * Return: the value.
 */
static inline uint16_t vmmem_le16_to_cpu(vmmem_le16 x)
{
	return vmmem_le_swab16(x.raw);
}

/**
 * vmmem_cpu_to_le16() - a host-order value as a vmmem_le16
 * @v: the value in host byte order
 *
 * Return: the little-endian value.
 */
static inline vmmem_le16 vmmem_cpu_to_le16(uint16_t v)
{
	vmmem_le16 x;

	x.raw = vmmem_le_swab16(v);
	return x;
}

/**
 * struct vmmem_le32 - a 32-bit little-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_le32 {
	uint32_t raw;
} vmmem_le32;

/**
 * vmmem_le32_to_cpu() - the value of a vmmem_le32 in host byte order
 * @x: the little-endian value
 *
 * Return: the value.
 */
static inline uint32_t vmmem_le32_to_cpu(vmmem_le32 x)
{
	return vmmem_le_swab32(x.raw);
}

/**
 * vmmem_cpu_to_le32() - a host-order value as a vmmem_le32
 * @v: the value in host byte order
 *
 * Return: the little-endian value.
 */
static inline vmmem_le32 vmmem_cpu_to_le32(uint32_t v)
{
	vmmem_le32 x;

	x.raw = vmmem_le_swab32(v);
	return x;
}

/**
 * struct vmmem_le64 - a 64-bit little-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_le64 {
	uint64_t raw;
} vmmem_le64;

/**
 * vmmem_le64_to_cpu() - the value of a vmmem_le64 in host byte order
 * @x: the little-endian value
 *
 * Return: the value.
 */
static inline uint64_t vmmem_le64_to_cpu(vmmem_le64 x)
{
	return vmmem_le_swab64(x.raw);
}

/**
 * vmmem_cpu_to_le64() - a host-order value as a vmmem_le64
 * @v: the value in host byte order
 *
 * Return: the little-endian value.
 */
static inline vmmem_le64 vmmem_cpu_to_le64(uint64_t v)
{
	vmmem_le64 x;

	x.raw = vmmem_le_swab64(v);
	return x;
}

/**
 * struct vmmem_be16 - a 16-bit big-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_be16 {
	uint16_t raw;
} vmmem_be16;

/**
 * vmmem_be16_to_cpu() - the value of a vmmem_be16 in host byte order
 * @x: the big-endian value
 *
 * Return: the value.
 */
static inline uint16_t vmmem_be16_to_cpu(vmmem_be16 x)
{
	return vmmem_be_swab16(x.raw);
}

/**
 * vmmem_cpu_to_be16() - a host-order value as a vmmem_be16
 * @v: the value in host byte order
 *
 * Return: the big-endian value.
 */
static inline vmmem_be16 vmmem_cpu_to_be16(uint16_t v)
{
	vmmem_be16 x;

	x.raw = vmmem_be_swab16(v);
	return x;
}

/**
 * struct vmmem_be32 - a 32-bit big-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_be32 {
	uint32_t raw;
} vmmem_be32;

/**
 * vmmem_be32_to_cpu() - the value of a vmmem_be32 in host byte order
 * @x: the big-endian value
 *
 * Return: the value.
 */
static inline uint32_t vmmem_be32_to_cpu(vmmem_be32 x)
{
	return vmmem_be_swab32(x.raw);
}

/**
 * vmmem_cpu_to_be32() - a host-order value as a vmmem_be32
 * @v: the value in host byte order
 *
 * Return: the big-endian value.
 */
static inline vmmem_be32 vmmem_cpu_to_be32(uint32_t v)
{
	vmmem_be32 x;

	x.raw = vmmem_be_swab32(v);
	return x;
}

/**
 * struct vmmem_be64 - a 64-bit big-endian value in guest memory
 * @raw: the bytes as guest memory holds them; use the helpers below
 */
typedef struct vmmem_be64 {
	uint64_t raw;
} vmmem_be64;

/**
 * vmmem_be64_to_cpu() - the value of a vmmem_be64 in host byte order
 * @x: the big-endian value
 *
 * Return: the value.
 */
static inline uint64_t vmmem_be64_to_cpu(vmmem_be64 x)
{
	return vmmem_be_swab64(x.raw);
}

/**
 * vmmem_cpu_to_be64() - a host-order value as a vmmem_be64
 * @v: the value in host byte order
 *
 * Return: the big-endian value.
 */
static inline vmmem_be64 vmmem_cpu_to_be64(uint64_t v)
{
	vmmem_be64 x;

	x.raw = vmmem_be_swab64(v);
	return x;
}

#ifdef __cplusplus
}
#endif

#endif /* _VMMEM_H */
