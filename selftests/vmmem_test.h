/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the vmmem kselftests. The tests talk to /dev/vmmem with
 * raw ioctls only (no library), so that they pin down the kernel ABI of
 * uapi/linux/vmmem.h.
 *
 * Every helper that wraps an ioctl returns the ioctl's return value and
 * leaves errno as the ioctl set it, so callers can assert both.
 */
#ifndef VMMEM_TEST_H
#define VMMEM_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/vmmem.h>

#include "kselftest_harness.h"

#define VMMEM_DEV		"/dev/vmmem"
#define MAX_REGIONS_PARAM	"/sys/module/vmmem/parameters/max_regions"

/* The VM runs x86_64; every fixture asserts this page size. */
#define PG			4096ULL

/* The highest possible region: [2^64 - 2 pages, 2^64 - 1 page). */
#define TOP_GPA			0xFFFFFFFFFFFFE000ULL
#define TOP_LAST_BYTE		0xFFFFFFFFFFFFEFFFULL

static inline __u64 ptr2u(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static inline int vm_open(void)
{
	return open(VMMEM_DEV, O_RDWR | O_CLOEXEC);
}

static inline int vm_add(int fd, __u64 gpa, __u64 size, __u64 uaddr,
			 __u32 flags, struct vmmem_region_add *out)
{
	struct vmmem_region_add a;
	int ret, err;

	memset(&a, 0, sizeof(a));
	a.guest_addr = gpa;
	a.size = size;
	a.user_addr = uaddr;
	a.flags = flags;
	ret = ioctl(fd, VMMEM_ADD_REGION, &a);
	err = errno;
	if (out)
		*out = a;
	errno = err;
	return ret;
}

static inline int vm_remove_id(int fd, __u32 id)
{
	struct vmmem_region_remove r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	return ioctl(fd, VMMEM_REMOVE_REGION, &r);
}

static inline int vm_remove_addr(int fd, __u64 gpa, __u64 size)
{
	struct vmmem_region_remove r;

	memset(&r, 0, sizeof(r));
	r.flags = VMMEM_REMOVE_BY_ADDR;
	r.guest_addr = gpa;
	r.size = size;
	return ioctl(fd, VMMEM_REMOVE_REGION, &r);
}

/* VMMEM_READ or VMMEM_WRITE; *done receives the written-back @done. */
static inline int vm_io(int fd, unsigned long cmd, __u64 gpa, void *buf,
			__u64 len, __u32 flags, __u64 *done)
{
	struct vmmem_io io;
	int ret, err;

	memset(&io, 0, sizeof(io));
	io.guest_addr = gpa;
	io.user_addr = ptr2u(buf);
	io.len = len;
	io.flags = flags;
	io.done = 0xdeadbeefULL;	/* must be overwritten */
	ret = ioctl(fd, cmd, &io);
	err = errno;
	if (done)
		*done = io.done;
	errno = err;
	return ret;
}

static inline int vm_read(int fd, __u64 gpa, void *buf, __u64 len,
			  __u32 flags, __u64 *done)
{
	return vm_io(fd, VMMEM_READ, gpa, buf, len, flags, done);
}

static inline int vm_write(int fd, __u64 gpa, const void *buf, __u64 len,
			   __u32 flags, __u64 *done)
{
	return vm_io(fd, VMMEM_WRITE, gpa, (void *)buf, len, flags, done);
}

/* LIST into @arr of capacity @cap; count and gen receive the written-back. */
static inline int vm_list(int fd, struct vmmem_region_info *arr, __u32 cap,
			  __u32 *count, __u64 *gen)
{
	struct vmmem_region_list l;
	int ret, err;

	memset(&l, 0, sizeof(l));
	l.regions = ptr2u(arr);
	l.count = cap;
	l.generation = 0xdeadbeefdeadbeefULL;
	ret = ioctl(fd, VMMEM_LIST_REGIONS, &l);
	err = errno;
	if (count)
		*count = l.count;
	if (gen)
		*gen = l.generation;
	errno = err;
	return ret;
}

/* Current generation, or ~0 if LIST fails. */
static inline __u64 vm_generation(int fd)
{
	struct vmmem_region_info arr[64];
	__u32 count;
	__u64 gen;

	if (vm_list(fd, arr, 64, &count, &gen))
		return ~0ULL;
	return gen;
}

static inline int vm_find(int fd, __u64 gpa, struct vmmem_region_info *out)
{
	struct vmmem_region_find f;
	int ret, err;

	memset(&f, 0, sizeof(f));
	f.guest_addr = gpa;
	ret = ioctl(fd, VMMEM_FIND_REGION, &f);
	err = errno;
	if (out)
		*out = f.region;
	errno = err;
	return ret;
}

/* Anonymous private read-write memory, or NULL. */
static inline void *anon_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* An address range of @len bytes that is certainly not mapped. */
static inline void *unmapped_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

static inline void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 131 + seed * 29 + (i >> 12)) ^ seed);
}

static inline bool all_bytes(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* DIRTY_START, _STOP or _MARK: the regions it covered, or -errno. */
static inline int dirty_track(int fd, __u32 op, __u64 gpa, __u64 len)
{
	struct vmmem_dirty_track t = { .guest_addr = gpa, .len = len,
				       .op = op };

	return ioctl(fd, VMMEM_DIRTY_TRACK, &t) ? -errno : (int)t.regions;
}

/* --- text files in /proc and /sys --------------------------------------- */

static inline int read_file_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static inline int write_file_str(const char *path, const char *s)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static inline long read_file_long(const char *path)
{
	char buf[64];

	if (read_file_str(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

static inline int write_file_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", v);
	return write_file_str(path, buf);
}

/* "Key: <number> ..." line of a /proc file such as /proc/meminfo; -1 if absent. */
static inline long proc_key_value(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* A /proc/vmstat counter, or -1 if absent. */
static inline long vmstat_read(const char *name)
{
	char line[256];
	size_t nlen = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, nlen) && line[nlen] == ' ') {
			v = strtol(line + nlen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Pages pinned with FOLL_PIN system-wide and not yet released:
 * nr_foll_pin_acquired - nr_foll_pin_released, after folding the per-CPU
 * counter deltas (vm.stat_refresh), so the value is exact. The counters are
 * global: compare a before/after pair, never an absolute value.
 * Returns LONG_MIN if the counters are missing.
 */
static inline long pins_outstanding(void)
{
	long acq, rel;

	write_file_str("/proc/sys/vm/stat_refresh", "1\n");
	acq = vmstat_read("nr_foll_pin_acquired");
	rel = vmstat_read("nr_foll_pin_released");
	if (acq < 0 || rel < 0)
		return LONG_MIN;
	return acq - rel;
}

/*
 * Wait (up to ~2 s) for pins_outstanding() to reach @want, tolerating a
 * deferred release and unrelated transient pins elsewhere in the system.
 * Returns the last value seen.
 */
static inline long pins_settle(long want)
{
	long v = pins_outstanding();
	int i;

	for (i = 0; i < 200 && v != want; i++) {
		usleep(10000);
		v = pins_outstanding();
	}
	return v;
}

/* VmLck + VmPin of this process in kB (pinned pages charged to it). */
static inline long locked_kb(void)
{
	long lck = proc_key_value("/proc/self/status", "VmLck");
	long pin = proc_key_value("/proc/self/status", "VmPin");

	if (lck < 0)
		return -1;
	return lck + (pin < 0 ? 0 : pin);
}

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* VMMEM_TEST_H */
