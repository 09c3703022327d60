// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host-only unit check of libvmmem against test/mock.c: the library's own
 * logic (error convention, listing, range walks, the mapping cache and its
 * invalidation, threads), not the module's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmmem.h"
#include "mock.h"

#define MiB	(1ULL << 20)

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
			__FILE__, __LINE__, #cond);			\
		exit(1);						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",\
			__FILE__, __LINE__, #a, _a, #b, _b);		\
		exit(1);						\
	}								\
} while (0)

static int count_cb(const struct vmmem_region_info *ri, void *arg)
{
	(void)ri;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void *hammer(void *arg)
{
	struct vmmem *vm = arg;
	unsigned int i;

	for (i = 0; i < 2000; i++) {
		uint64_t gpa = (i * 4096ULL) % (2 * MiB), v;
		void *p;

		if (vmmem_get_host_address(vm, gpa, &p, NULL) ||
		    vmmem_read_obj(vm, gpa & ~7ULL, &v))
			return (void *)1;
	}
	return NULL;
}

int main(void)
{
	struct vmmem_share sh;
	unsigned long lists, ios, page = sysconf(_SC_PAGESIZE);
	struct vmmem_region_info ri[8], low, usr, rom;
	struct vmmem_io ops[3];
	char buf[64], big[3 * 4096];
	pthread_t th[8];
	unsigned int i, done_ops;
	struct vmmem *vm, *nul;
	uint64_t last, u64;
	size_t done, len;
	uint32_t u32;
	void *p, *q;
	char *ua;

	CHECK_EQ(vmmem_open_path("/nonexistent/vmmem", &vm), -ENOENT);
	CHECK_EQ(vmmem_open_path("/dev/null", &nul), 0);
	CHECK_EQ(vmmem_api_version(nul), -ENOTTY);
	CHECK_EQ(vmmem_read(nul, 0, buf, 1), -ENOTTY);
	CHECK_EQ(vmmem_last_addr(nul, &last), -ENOTTY);
	CHECK(!vmmem_address_in_range(nul, 0));
	vmmem_close(nul);
	vmmem_close(NULL);

	/* VMMEM_DEV names the mock. */
	CHECK_EQ(vmmem_open(&vm), 0);
	CHECK_EQ(vmmem_api_version(vm), VMMEM_API_VERSION);
	CHECK_EQ(vmmem_regions(vm, NULL, 0), 0);
	CHECK_EQ(vmmem_last_addr(vm, &last), -ENXIO);
	CHECK(vmmem_check_range(vm, 12345, 0));

	/* Kernel RAM [0, 1M), user RAM [1M, 2M) adjacent, ROM at 4M. */
	ua = mmap(NULL, MiB, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ua != MAP_FAILED);
	CHECK_EQ(vmmem_add_region(vm, 0, MiB, NULL, 0, &low), 0);
	CHECK_EQ(vmmem_add_region(vm, MiB, MiB, ua, 0, &usr), 0);
	CHECK_EQ(vmmem_add_region(vm, 4 * MiB, page, NULL,
				  VMMEM_REGION_READONLY, &rom), 0);
	CHECK_EQ(vmmem_add_region(vm, MiB, page, NULL, 0, NULL), -EEXIST);
	CHECK_EQ(vmmem_add_region(vm, 1, page, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(low.backing, VMMEM_BACKING_KERNEL);
	CHECK_EQ(usr.backing, VMMEM_BACKING_USER);
	CHECK_EQ(usr.mmap_offset, VMMEM_NO_MMAP);

	/* Listing, -E2BIG, the count query, early stop of the iterator. */
	CHECK_EQ(vmmem_regions(vm, NULL, 0), 3);
	CHECK_EQ(vmmem_regions(vm, ri, 2), -E2BIG);
	CHECK_EQ(vmmem_regions(vm, ri, 8), 3);
	CHECK(ri[0].guest_addr == 0 && ri[1].id == usr.id &&
	      ri[2].flags == VMMEM_REGION_READONLY);
	i = 0;
	CHECK_EQ(vmmem_for_each_region(vm, count_cb, &i), 42);
	CHECK_EQ(vmmem_find_region(vm, MiB + 5, &ri[0]), 0);
	CHECK_EQ(ri[0].id, usr.id);
	CHECK_EQ(vmmem_find_region(vm, 3 * MiB, &ri[0]), -ENXIO);


	/* Ranges: adjacent regions are one range; overflow is not backed. */
	CHECK(vmmem_check_range(vm, 0, 2 * MiB));
	CHECK(!vmmem_check_range(vm, 0, 2 * MiB + 1));
	CHECK(!vmmem_check_range(vm, UINT64_MAX, 2));
	CHECK(vmmem_address_in_range(vm, 2 * MiB - 1));
	CHECK(!vmmem_address_in_range(vm, 2 * MiB));
	CHECK_EQ(vmmem_last_addr(vm, &last), 0);
	CHECK_EQ(last, 4 * MiB + page - 1);

	/* Copies across the boundary, short reads, exact failures. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	CHECK_EQ(vmmem_write_exact(vm, MiB - 4096, big, sizeof(big), &done), 0);
	CHECK_EQ(done, sizeof(big));
	CHECK_EQ(memcmp(ua, big + 4096, sizeof(big) - 4096), 0);
	CHECK_EQ(vmmem_read(vm, 2 * MiB - 16, buf, 64), 16);
	CHECK_EQ(vmmem_read(vm, 2 * MiB, buf, 64), -ENXIO);
	CHECK_EQ(vmmem_read_exact(vm, 2 * MiB - 16, buf, 64, &done), -ERANGE);
	CHECK_EQ(done, 16);
	CHECK_EQ(vmmem_write(vm, 4 * MiB, buf, 8), -EACCES);
	CHECK_EQ(vmmem_read(vm, 0, buf, 0), 0);
	u64 = 0x1122334455667788ULL;
	CHECK_EQ(vmmem_write_obj(vm, 8, &u64), 0);
	CHECK_EQ(vmmem_read_obj(vm, 12, &u32), 0);
	CHECK_EQ(u32, 0x11223344);

	/* Host addresses: mmap()ed once, cached, contiguous to region end. */
	/* A miss reads the region table once; a hit makes no ioctl. */
	lists = mock_ioctl_count(_IOC_NR(VMMEM_LIST_REGIONS));
	CHECK_EQ(vmmem_get_host_address(vm, 8, &p, &len), 0);
	CHECK_EQ(len, MiB - 8);
	CHECK_EQ(*(uint64_t *)p, 0x1122334455667788ULL);
	CHECK_EQ(vmmem_get_host_address(vm, MiB - 1, &q, &len), 0);
	CHECK(q == (char *)p + MiB - 9 && len == 1);
	CHECK_EQ(mock_ioctl_count(_IOC_NR(VMMEM_LIST_REGIONS)), lists + 1);
	CHECK_EQ(vmmem_get_host_address(vm, MiB + 3, &q, &len), 0);
	CHECK(q == ua + 3 && len == MiB - 3);
	CHECK_EQ(vmmem_get_host_address(vm, 4 * MiB, &q, &len), 0);
	CHECK_EQ(*(char *)q, 0);
	CHECK_EQ(vmmem_get_host_address(vm, 3 * MiB, &q, &len), -ENXIO);

	/* Direct copies: the ioctls' results above, without an ioctl. */
	ios = mock_ioctl_count(_IOC_NR(VMMEM_READ)) +
	      mock_ioctl_count(_IOC_NR(VMMEM_WRITE));
	CHECK_EQ(vmmem_read_direct(vm, 2 * MiB - 16, buf, 64), 16);
	CHECK_EQ(vmmem_read_direct(vm, 2 * MiB, buf, 64), -ENXIO);
	CHECK_EQ(vmmem_read_direct_exact(vm, 2 * MiB - 16, buf, 64, &done), -ERANGE);
	CHECK_EQ(done, 16);
	CHECK_EQ(vmmem_write_direct(vm, 4 * MiB, buf, 8), -EACCES);
	CHECK_EQ(vmmem_write_direct_exact(vm, 4 * MiB, buf, 8, &done), -EACCES);
	CHECK_EQ(done, 0);
	CHECK_EQ(vmmem_read_direct(vm, 3 * MiB, buf, 0), 0);
	u64 = 0x0102030405060708ULL;
	CHECK_EQ(vmmem_write_obj_direct(vm, MiB - 4, &u64), 0);	/* low | usr */
	CHECK_EQ(memcmp(ua, (char *)&u64 + 4, 4), 0);
	CHECK_EQ(vmmem_read_direct_exact(vm, MiB - 4, big, 8, &done), 0);
	CHECK(done == 8 && !memcmp(big, &u64, 8));
	CHECK_EQ(vmmem_read_obj_direct(vm, 8, &u64), 0);
	CHECK_EQ(u64, 0x1122334455667788ULL);
	CHECK_EQ(mock_ioctl_count(_IOC_NR(VMMEM_READ)) +
		 mock_ioctl_count(_IOC_NR(VMMEM_WRITE)), ios);

	/* Threads: concurrent lookups and reads. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, vm), 0);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(pthread_join(th[i], &p), 0);
		CHECK(p == NULL);
	}

	/* Batch: stops at the first failing op. */
	vmmem_io_op(&ops[0], 0, buf, 8, VMMEM_IO_WRITE);
	vmmem_io_op(&ops[1], 16, buf + 8, 8, 0);
	vmmem_io_op(&ops[2], 2 * MiB - 4, buf, 8, VMMEM_IO_EXACT);
	CHECK_EQ(vmmem_io_batch(vm, ops, 3, &done_ops), -ERANGE);
	CHECK_EQ(done_ops, 2);
	CHECK_EQ(ops[2].done, 4);
	CHECK_EQ(vmmem_io_batch(vm, ops, 2, NULL), 0);

	/* Atomics, guest copies, translation, iovecs, fd I/O. */
	CHECK_EQ(vmmem_store(vm, 64, 4, 0xfffffffe, VMMEM_ORDER_RELEASE), 0);
	CHECK_EQ(vmmem_fetch_add(vm, 64, 4, 3, &u64), 0);
	CHECK_EQ(u64, 0xfffffffe);
	CHECK_EQ(vmmem_load(vm, 64, 4, VMMEM_ORDER_ACQUIRE, &u64), 0);
	CHECK_EQ(u64, 1);
	CHECK_EQ(vmmem_load(vm, 64, 4, VMMEM_ORDER_RELEASE, &u64), -EINVAL);
	CHECK_EQ(vmmem_load(vm, 64, 4, -1, &u64), -EINVAL);
	CHECK(vmmem_compare_exchange_bool(vm, 64, 4, 1, 7));
	CHECK(!vmmem_compare_exchange_bool(vm, 64, 4, 1, 8));
	CHECK_EQ(vmmem_store(vm, 4 * MiB, 1, 1, VMMEM_ORDER_SEQ_CST), -EACCES);
	{
		vmmem_le32 le = vmmem_cpu_to_le32(0x11223344), le2;
		unsigned char raw[4];

		CHECK_EQ(vmmem_store_obj(vm, 72, &le, VMMEM_ORDER_SEQ_CST), 0);
		CHECK_EQ(vmmem_read(vm, 72, raw, 4), 4);
		CHECK(raw[0] == 0x44 && raw[3] == 0x11);
		CHECK_EQ(vmmem_load_obj(vm, 72, &le2, VMMEM_ORDER_SEQ_CST), 0);
		CHECK_EQ(vmmem_le32_to_cpu(le2), 0x11223344);
	}
	CHECK_EQ(vmmem_copy_guest(vm, MiB - 100, MiB - 200, 300), 300);
	CHECK_EQ(vmmem_copy_guest(vm, 2 * MiB - 10, 0, 100), 10);
	CHECK_EQ(vmmem_copy_guest_exact(vm, 2 * MiB - 10, 0, 100, &done),
		 -ERANGE);
	CHECK_EQ(done, 10);
	{
		struct vmmem_slice sl[2];
		struct iovec iov[2];
		uint64_t d;
		int fds[2];

		CHECK_EQ(vmmem_get_slices(vm, MiB - 8, 16, sl, 2, &d), 2);
		CHECK(d == 16 && sl[1].user_addr == (uintptr_t)ua &&
		      sl[0].region_id == low.id);
		CHECK_EQ(vmmem_get_slices(vm, 2 * MiB - 8, 16, sl, 2, &d),
			 -ENXIO);
		CHECK_EQ(d, 8);
		CHECK_EQ(vmmem_get_iovecs(vm, MiB - 8, 16, iov, 2), 2);
		CHECK(iov[1].iov_base == ua && iov[0].iov_len == 8);
		CHECK_EQ(vmmem_get_iovecs(vm, MiB - 8, 16, iov, 1), -E2BIG);
		CHECK_EQ(pipe(fds), 0);
		CHECK_EQ(write(fds[1], "abcdefgh", 8), 8);
		CHECK_EQ(vmmem_read_volatile_from(vm, MiB - 4, fds[0], -1, 64),
			 8);
		CHECK_EQ(memcmp(ua, "efgh", 4), 0);
		CHECK_EQ(vmmem_read_volatile_from(vm, 0, fds[0], 0, 1),
			 -ESPIPE);
		CHECK_EQ(vmmem_write_all_volatile_to(vm, MiB - 4, fds[1], -1,
						     8, &done), 0);
		CHECK_EQ(done, 8);
		close(fds[1]);
		CHECK_EQ(vmmem_read_exact_volatile_from(vm, 0, fds[0], -1, 9,
							&done), -ENODATA);
		CHECK_EQ(done, 8);
		close(fds[0]);
	}

	/* Removal drops the cached mapping; a new region is seen anew. */
	CHECK_EQ(vmmem_remove_region_at(vm, 0, 2 * MiB), -ENOENT);
	CHECK_EQ(vmmem_remove_region_at(vm, 0, MiB), 0);
	CHECK_EQ(vmmem_get_host_address(vm, 8, &p, NULL), -ENXIO);
	CHECK_EQ(vmmem_add_region(vm, 0, MiB, NULL, 0, NULL), 0);
	u64 = 0xfeedULL;
	CHECK_EQ(vmmem_write_obj(vm, 8, &u64), 0);
	CHECK_EQ(vmmem_get_host_address(vm, 8, &p, NULL), 0);
	CHECK_EQ(*(uint64_t *)p, 0xfeed);
	CHECK_EQ(vmmem_remove_region(vm, usr.id), 0);
	CHECK_EQ(vmmem_remove_region(vm, usr.id), -ENOENT);
	CHECK(!vmmem_address_in_range(vm, MiB));

	/* Behind the library's back: a stale entry is replaced on overlap. */
	CHECK_EQ(vmmem_get_host_address(vm, 8, &q, NULL), 0);
	mock_reset();
	CHECK_EQ(vmmem_add_region(vm, 0, 2 * MiB, NULL, 0, NULL), 0);
	u64 = 0xbeef;
	CHECK_EQ(vmmem_write_obj(vm, 1536 * 1024, &u64), 0);
	CHECK_EQ(vmmem_get_host_address(vm, 1536 * 1024, &p, &len), 0);
	CHECK_EQ(*(uint64_t *)p, 0xbeef);
	CHECK_EQ(len, MiB / 2);
	/* The stale mapping was retired, not unmapped: still readable. */
	CHECK_EQ(*(uint64_t *)q, 0xfeed);
	CHECK_EQ(vmmem_get_host_address(vm, 8, &q, NULL), 0);
	CHECK_EQ(*(uint64_t *)q, 0);
	CHECK_EQ(vmmem_refresh(vm), 0);

	/* What KVM and a backend get: the fd and offset, or the owner's. */
	CHECK_EQ(vmmem_find_region(vm, 5, &ri[0]), 0);
	CHECK_EQ(vmmem_share_region(vm, 5, &sh), 0);
	CHECK(sh.gpa == 0 && sh.size == 2 * MiB && sh.fd == vmmem_fd(vm) &&
	      sh.mmap_offset == ri[0].mmap_offset && sh.host);
	CHECK_EQ(vmmem_add_region(vm, 4 * MiB, MiB, ua, 0, NULL), 0);
	CHECK_EQ(vmmem_share_region(vm, 4 * MiB + 5, &sh), 0);
	CHECK(sh.fd == -1 && sh.mmap_offset == VMMEM_NO_MMAP &&
	      sh.host == ua && sh.gpa == 4 * MiB && sh.size == MiB);
	CHECK_EQ(vmmem_add_region(vm, 8 * MiB, page, NULL,
				  VMMEM_REGION_READONLY, NULL), 0);
	CHECK_EQ(vmmem_share_region(vm, 8 * MiB, &sh), 0);
	CHECK_EQ(sh.flags, VMMEM_REGION_READONLY);
	CHECK_EQ(vmmem_share_region(vm, 3 * MiB, &sh), -ENXIO);

	vmmem_close(vm);
	munmap(ua, MiB);
	printf("libvmmem unit check: OK\n");
	return 0;
}
