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
 */
#ifndef _VMMEM_H
#define _VMMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
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
 * returned by vmmem_get_host_address() for kernel-backed regions become
 * invalid.
 */
void vmmem_close(struct vmmem *vm);

/**
 * vmmem_fd() - the file descriptor of the handle
 * @vm: the handle
 *
 * For what the library does not cover, such as passing the file to another
 * process. Regions removed through the fd rather than the library leave
 * stale entries in the mapping cache (see vmmem_get_host_address()).
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
 *             writable memory of this process (anonymous, memfd/shmem,
 *             hugetlbfs) that is pinned for the region's lifetime and
 *             charged to RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK
 * @flags:     VMMEM_REGION_* flags
 * @out:       if not NULL, receives the new region's description
 *
 * Return: 0, or -EINVAL (alignment, size 0, unknown flags), -EOVERFLOW (the
 * end is not representable), -EEXIST (overlaps a region), -ENOSPC (too many
 * regions), -ENOMEM (RLIMIT_MEMLOCK, out of memory), -EFAULT (@user_addr
 * cannot be pinned). A failed add changes nothing.
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
 * Adjacent regions count as one range. Takes one ioctl per region crossed.
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
 * The pointer stays valid until the region is removed through the library
 * or the handle is closed. A region removed through the raw fd or by
 * another process sharing the file is not noticed while its mapping is
 * cached: the pointer then still reaches the old region's pages.
 *
 * Return: 0, or -ENXIO (@gpa is not backed), -ENOMEM, -EOVERFLOW (the
 * region does not fit in this process's address space), or -errno from
 * mmap().
 */
int vmmem_get_host_address(struct vmmem *vm, uint64_t gpa, void **host,
			   size_t *contig_len);

#ifdef __cplusplus
}
#endif

#endif /* _VMMEM_H */
