// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege and isolation.
 *
 * - Who may open /dev/vmmem: the device node's mode and group decide
 *   (0660 root:root in the test VM, the kvm group with udev/60-vmmem.rules).
 * - One open file is one address space: the ids, GPAs and mmap offsets of
 *   file A mean nothing through file B.
 * - The open file is the capability: a process that receives it over
 *   SCM_RIGHTS can do everything with that address space (list, find,
 *   read, write, atomics, translate, add, remove, mmap), but it reaches the
 *   sender's memory only through the sender's regions, never its private
 *   memory, and fd numbers in fd I/O name the caller's own files.
 * - Pins of user-backed regions are charged to the process that pinned
 *   them and released exactly once, by whoever drops the last reference.
 *
 * Children never ASSERT: they exit with a step number, 0 for success.
 */
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "vmmem_test.h"

#define NOBODY		65534
#define GPA_K		0x100000ULL	/* kernel-backed region */
#define GPA_U		0x200000ULL	/* user-backed region */
#define NPG		8
#define SECRET		0x5ec7e75ec7e75ec7ULL
#define SECRET_FD	200

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* One byte of synchronisation or a small value over a socket. */
static int put_long(int sock, long v)
{
	return write(sock, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static long get_long(int sock)
{
	long v;

	return read(sock, &v, sizeof(v)) == sizeof(v) ? v : LONG_MIN;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int drop_to_nobody(const gid_t *groups, int ngroups)
{
	if (setgroups(ngroups, groups) || setgid(NOBODY) || setuid(NOBODY))
		return -1;
	return geteuid() == NOBODY ? 0 : -1;
}

/* --- who may open the device ------------------------------------------- */

TEST(device_node_is_0660_root_root_in_the_test_vm)
{
	struct stat st;

	ASSERT_EQ(0, stat(VMMEM_DEV, &st)) TH_LOG("stat: %s", strerror(errno));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0660, st.st_mode & 07777);
	ASSERT_EQ(0, st.st_uid);
	ASSERT_EQ(0, st.st_gid);
}

TEST(unprivileged_user_outside_the_group_cannot_open)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (drop_to_nobody(NULL, 0))
			_exit(1);
		if (open(VMMEM_DEV, O_RDWR) >= 0)
			_exit(2);
		if (errno != EACCES)
			_exit(3);
		if (open(VMMEM_DEV, O_RDONLY) >= 0 || errno != EACCES)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST(unprivileged_user_in_the_device_group_can_open)
{
	gid_t grp = 0;		/* the node's group in the VM */
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (drop_to_nobody(&grp, 1))
			_exit(1);
		fd = vm_open();
		if (fd < 0)
			_exit(2);
		if (ioctl(fd, VMMEM_GET_API_VERSION) != VMMEM_API_VERSION)
			_exit(3);
		if (vm_add(fd, GPA_K, PG, 0, 0, NULL))
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST(udev_rule_restricts_the_node_to_the_kvm_group)
{
	char buf[512];

	if (read_file_str("../udev/60-vmmem.rules", buf, sizeof(buf)) &&
	    read_file_str("udev/60-vmmem.rules", buf, sizeof(buf)))
		SKIP(return, "udev/60-vmmem.rules is not in the test VM");
	ASSERT_NE(NULL, strstr(buf, "KERNEL==\"vmmem\""));
	ASSERT_NE(NULL, strstr(buf, "GROUP=\"kvm\""));
	ASSERT_NE(NULL, strstr(buf, "MODE=\"0660\""));
}

/* --- the open mode is a capability --------------------------------------- */

/* The ioctl's errno, or 0. */
static int try_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/*
 * What changes guest memory or the table needs FMODE_WRITE (EBADF, as
 * write(2) on an O_RDONLY file); what tells guest memory needs FMODE_READ;
 * queries of the table need neither.
 */
static void check_mode(struct __test_metadata *_metadata, int fd, bool rd,
		       bool wr, __u64 gpa, bool backed)
{
	unsigned char buf[64] = { 0 };
	struct vmmem_region_add add = { .guest_addr = 0x7000000, .size = PG };
	struct vmmem_region_remove rm = { .id = 9999 };
	struct vmmem_region_info info[4];
	struct vmmem_region_list l = { .regions = ptr2u(info), .count = 4 };
	struct vmmem_region_find f = { .guest_addr = gpa };
	struct vmmem_io io = { .guest_addr = gpa, .user_addr = ptr2u(buf),
			       .len = 8 };
	struct vmmem_io op = io;
	struct vmmem_io_batch b = { .ops = ptr2u(&op), .count = 1 };
	struct vmmem_atomic at = { .guest_addr = gpa, .size = 8 };
	struct vmmem_copy cp = { .src_gpa = gpa, .dst_gpa = gpa + 8, .len = 8 };
	struct vmmem_slice sl;
	struct vmmem_translate t = { .guest_addr = gpa, .len = 8,
				     .slices = ptr2u(&sl), .count = 1 };
	struct vmmem_fd_io fio = { .guest_addr = gpa, .len = 8, .offset = 0 };
	int ok = backed ? 0 : ENXIO;
	int r = rd ? ok : EBADF, w = wr ? ok : EBADF, rw = rd && wr ? ok : EBADF;
	int mfd = memfd_create("mode", MFD_CLOEXEC);

	ASSERT_EQ(0, ftruncate(mfd, PG));
	/* the table */
	EXPECT_EQ(wr ? 0 : EBADF, try_ioctl(fd, VMMEM_ADD_REGION, &add));
	EXPECT_EQ(wr ? ENOENT : EBADF, try_ioctl(fd, VMMEM_REMOVE_REGION, &rm));
	EXPECT_EQ(0, try_ioctl(fd, VMMEM_LIST_REGIONS, &l));
	EXPECT_EQ(ok, try_ioctl(fd, VMMEM_FIND_REGION, &f));
	EXPECT_EQ(ok, try_ioctl(fd, VMMEM_TRANSLATE, &t));
	EXPECT_EQ(VMMEM_API_VERSION, ioctl(fd, VMMEM_GET_API_VERSION));
	/* guest memory */
	EXPECT_EQ(r, try_ioctl(fd, VMMEM_READ, &io));
	EXPECT_EQ(w, try_ioctl(fd, VMMEM_WRITE, &io));
	EXPECT_EQ(r, try_ioctl(fd, VMMEM_IO_BATCH, &b));
	op.flags = VMMEM_IO_WRITE;
	EXPECT_EQ(w, try_ioctl(fd, VMMEM_IO_BATCH, &b));
	EXPECT_EQ(!w, b.done_ops);	/* EBADF at op 0 */
	/* into a user region of one's own, a copy tells guest memory */
	EXPECT_EQ(rw, try_ioctl(fd, VMMEM_COPY, &cp));
	at.op = VMMEM_ATOMIC_LOAD;
	EXPECT_EQ(r, try_ioctl(fd, VMMEM_ATOMIC, &at));
	at.op = VMMEM_ATOMIC_STORE;
	EXPECT_EQ(w, try_ioctl(fd, VMMEM_ATOMIC, &at));
	at.op = VMMEM_ATOMIC_FETCH_ADD;
	EXPECT_EQ(rw, try_ioctl(fd, VMMEM_ATOMIC, &at));
	at.op = VMMEM_ATOMIC_CMPXCHG;
	EXPECT_EQ(rw, try_ioctl(fd, VMMEM_ATOMIC, &at));
	fio.fd = mfd;
	EXPECT_EQ(w, try_ioctl(fd, VMMEM_READ_FROM_FD, &fio));
	EXPECT_EQ(r, try_ioctl(fd, VMMEM_WRITE_TO_FD, &fio));
	close(mfd);
}

/*
 * Every open() is a new, empty address space: an O_RDONLY file never gets
 * a region, so what it may do finds no memory.
 */
TEST(read_only_file_reads_but_changes_nothing)
{
	int fd = open(VMMEM_DEV, O_RDONLY | O_CLOEXEC);
	struct vmmem_region_info info;

	ASSERT_GE(fd, 0);
	check_mode(_metadata, fd, true, false, 0x7000000, false);
	ASSERT_EQ(-1, vm_find(fd, 0x7000000, &info))
		TH_LOG("an O_RDONLY file added a region");
	close(fd);
}

TEST(write_only_file_changes_memory_but_does_not_read_it)
{
	int fd = open(VMMEM_DEV, O_WRONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, 0x100000, PG, 0, 0, NULL));
	check_mode(_metadata, fd, false, true, 0x100000, true);
	/* mmap() of a file not open for reading: the kernel's EACCES */
	ASSERT_EQ(MAP_FAILED, mmap(NULL, PG, PROT_WRITE, MAP_SHARED, fd, 0));
	ASSERT_EQ(EACCES, errno);
	close(fd);
}

TEST(read_write_file_may_do_everything)
{
	int fd = vm_open();

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_add(fd, 0x100000, PG, 0, 0, NULL));
	check_mode(_metadata, fd, true, true, 0x100000, true);
	close(fd);
}

/* --- what an open file costs ----------------------------------------------- */

/*
 * An open file allocates its address space, charged to the caller's
 * memory cgroup, and nothing per CPU: 256 opens move Percpu by less than
 * a page per CPU in all.
 */
TEST(an_open_file_costs_no_per_cpu_memory)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF), before, after;
	int fds[256], i;

	before = proc_key_value("/proc/meminfo", "Percpu");
	ASSERT_LE(0, before);
	for (i = 0; i < 256; i++) {
		fds[i] = vm_open();
		ASSERT_GE(fds[i], 0);
	}
	after = proc_key_value("/proc/meminfo", "Percpu");
	for (i = 0; i < 256; i++)
		close(fds[i]);
	ksft_print_msg("256 opens: Percpu %+ld kB on %ld CPUs\n",
		       after - before, cpus);
	EXPECT_LT(after - before, 4 * cpus);
}

/* --- one open file cannot reach another's regions ---------------------- */

TEST(regions_of_one_open_file_are_invisible_through_another)
{
	struct vmmem_region_add ka, ua;
	struct vmmem_region_info arr[4];
	struct vmmem_atomic at;
	struct vmmem_copy cp;
	struct vmmem_translate tr;
	struct vmmem_slice sl[2];
	struct vmmem_fd_io fio;
	unsigned char *ubuf = anon_map(NPG * PG), buf[64];
	int a = vm_open(), b = vm_open(), mfd = memfd_create("iso", 0);
	__u32 count;
	__u64 gen, v = 0x1122334455667788ULL;
	void *m;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_GE(mfd, 0);
	ASSERT_NE(NULL, ubuf);
	ASSERT_EQ(0, vm_add(a, GPA_K, NPG * PG, 0, 0, &ka));
	ASSERT_EQ(0, vm_add(a, GPA_U, NPG * PG, ptr2u(ubuf), 0, &ua));
	ASSERT_EQ(0, vm_write(a, GPA_K, &v, 8, VMMEM_IO_EXACT, NULL));

	ASSERT_EQ(0, vm_list(b, arr, 4, &count, &gen));
	ASSERT_EQ(0, count);
	ASSERT_EQ(0, gen);
	ASSERT_EQ(-1, vm_find(b, GPA_K, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_read(b, GPA_K, buf, 8, 0, NULL));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(-1, vm_write(b, GPA_U, buf, 8, 0, NULL));
	ASSERT_EQ(ENXIO, errno);
	memset(&at, 0, sizeof(at));
	at.guest_addr = GPA_K;
	at.op = VMMEM_ATOMIC_LOAD;
	at.size = 8;
	ASSERT_EQ(-1, ioctl(b, VMMEM_ATOMIC, &at));
	ASSERT_EQ(ENXIO, errno);
	memset(&cp, 0, sizeof(cp));
	cp.src_gpa = GPA_K;
	cp.dst_gpa = GPA_U;
	cp.len = 8;
	ASSERT_EQ(-1, ioctl(b, VMMEM_COPY, &cp));
	ASSERT_EQ(ENXIO, errno);
	memset(&tr, 0, sizeof(tr));
	tr.guest_addr = GPA_U;
	tr.len = PG;
	tr.slices = ptr2u(sl);
	tr.count = 2;
	ASSERT_EQ(-1, ioctl(b, VMMEM_TRANSLATE, &tr));
	ASSERT_EQ(ENXIO, errno);
	ASSERT_EQ(0, tr.count);
	memset(&fio, 0, sizeof(fio));
	fio.guest_addr = GPA_K;
	fio.len = 8;
	fio.offset = 0;
	fio.fd = mfd;
	ASSERT_EQ(-1, ioctl(b, VMMEM_WRITE_TO_FD, &fio));
	ASSERT_EQ(ENXIO, errno);
	/* ids and exact ranges of A are not B's to remove */
	ASSERT_EQ(-1, vm_remove_id(b, ka.id));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_id(b, ua.id));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, vm_remove_addr(b, GPA_K, NPG * PG));
	ASSERT_EQ(ENOENT, errno);
	/* A's mmap offset is not an offset of B */
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, b, ka.mmap_offset);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);

	/* B may use the same GPA for its own, separate memory */
	ASSERT_EQ(0, vm_add(b, GPA_K, NPG * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_read(b, GPA_K, buf, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_TRUE(all_bytes(buf, 8, 0));
	ASSERT_EQ(0, vm_read(a, GPA_K, buf, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0, memcmp(buf, &v, 8));
	/* and A still has both regions */
	ASSERT_EQ(0, vm_list(a, arr, 4, &count, NULL));
	ASSERT_EQ(2, count);
	close(b);
	close(a);
	close(mfd);
	munmap(ubuf, NPG * PG);
}

/* --- pins are charged to the pinner and released once ------------------ */

/*
 * Sender: pins NPG pages of its own memory as a user-backed region, fills
 * it, reports its locked_vm growth, passes the fd to the receiver, closes
 * its own fd and then either exits or stays to report its locked_vm after
 * the receiver closed the last reference.
 */
static int sender(int sock, bool stay)
{
	unsigned char *u = anon_map(NPG * PG);
	long before = locked_kb();
	int fd = vm_open();

	if (!u || fd < 0 || before < 0)
		return 1;
	fill_pattern(u, NPG * PG, 7);
	if (vm_add(fd, GPA_U, NPG * PG, ptr2u(u), 0, NULL))
		return 2;
	if (put_long(sock, locked_kb() - before))
		return 3;
	if (send_fd(sock, fd))
		return 4;
	close(fd);
	if (!stay)
		return 0;
	if (get_long(sock) != 1)	/* receiver has closed */
		return 5;
	if (put_long(sock, locked_kb() - before))
		return 6;
	return 0;
}

static int receiver(int sock, int go)
{
	unsigned char want[256], got[256];
	int fd = recv_fd(sock);

	if (fd < 0)
		return 1;
	if (get_long(go) != 1)		/* sender has closed or exited */
		return 2;
	fill_pattern(want, 256, 7);
	if (vm_read(fd, GPA_U, got, 256, VMMEM_IO_EXACT, NULL))
		return 3;
	if (memcmp(want, got, 256))
		return 4;
	if (get_long(go) != 2)
		return 5;
	close(fd);
	return 0;
}

FIXTURE(pass) {
	int s_sock[2];		/* parent <-> sender */
	int r_sock[2];		/* parent <-> receiver */
	long base;
};

FIXTURE_VARIANT(pass) {
	bool sender_stays;
};

FIXTURE_VARIANT_ADD(pass, sender_exits_first) { .sender_stays = false };
FIXTURE_VARIANT_ADD(pass, sender_closes_and_stays) { .sender_stays = true };

FIXTURE_SETUP(pass)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->s_sock));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->r_sock));
	self->base = pins_outstanding();
	ASSERT_NE(LONG_MIN, self->base);
}

FIXTURE_TEARDOWN(pass)
{
	close(self->s_sock[0]);
	close(self->s_sock[1]);
	close(self->r_sock[0]);
	close(self->r_sock[1]);
}

TEST_F(pass, user_pins_are_released_once_when_another_process_closes_last)
{
	pid_t s, r;
	long charged, after;
	int fd, rc;

	s = fork();
	ASSERT_GE(s, 0);
	if (s == 0)
		_exit(sender(self->s_sock[1], variant->sender_stays));
	charged = get_long(self->s_sock[0]);
	ASSERT_EQ(NPG * PG / 1024, charged) TH_LOG("sender locked_vm grew %ld kB",
						  charged);
	fd = recv_fd(self->s_sock[0]);	/* relay to the receiver */
	ASSERT_GE(fd, 0);
	r = fork();
	ASSERT_GE(r, 0);
	if (r == 0)
		_exit(receiver(self->r_sock[1], self->r_sock[1]));
	ASSERT_EQ(0, send_fd(self->r_sock[0], fd));
	close(fd);			/* the receiver holds the only fd now */
	if (!variant->sender_stays)
		ASSERT_EQ(0, wait_child(s));
	ASSERT_EQ(self->base + NPG, pins_settle(self->base + NPG));
	ASSERT_EQ(0, put_long(self->r_sock[0], 1));	/* read it */
	ASSERT_EQ(0, put_long(self->r_sock[0], 2));	/* close it */
	rc = wait_child(r);
	ASSERT_EQ(0, rc) TH_LOG("receiver failed at step %d", rc);
	ASSERT_EQ(self->base, pins_settle(self->base));
	if (variant->sender_stays) {
		ASSERT_EQ(0, put_long(self->s_sock[0], 1));
		after = get_long(self->s_sock[0]);
		ASSERT_EQ(0, after) TH_LOG("sender still charged %ld kB", after);
		ASSERT_EQ(0, wait_child(s));
	}
}

/* --- the fd is the capability ------------------------------------------ */

/*
 * The receiver runs as nobody: privileges do not matter once it holds the
 * fd. It may do every documented operation; its own user-backed regions
 * are charged to its own RLIMIT_MEMLOCK; it reaches the sender's memory
 * only through the sender's regions.
 */
static int capable_receiver(int sock, __u64 secret_addr, int secret_fd)
{
	struct rlimit rl = { .rlim_cur = 64 << 10, .rlim_max = 64 << 10 };
	struct vmmem_region_info arr[8];
	struct vmmem_region_add ra;
	struct vmmem_atomic at;
	struct vmmem_fd_io fio;
	struct vmmem_translate tr;
	struct vmmem_slice sl[2];
	__u64 v, mine = 0xabcdef;
	unsigned char *own;
	__u32 count;
	long lk;
	void *m;
	int fd;

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || drop_to_nobody(NULL, 0))
		return 1;
	fd = recv_fd(sock);
	if (fd < 0)
		return 2;
	/* list, find, read what the sender put in its user-backed region */
	if (vm_list(fd, arr, 8, &count, NULL) || count != 2)
		return 3;
	if (vm_read(fd, GPA_U, &v, 8, VMMEM_IO_EXACT, NULL) || v != SECRET)
		return 4;
	/* translate tells where the pages are in the SENDER's memory ... */
	memset(&tr, 0, sizeof(tr));
	tr.guest_addr = GPA_U;
	tr.len = 8;
	tr.slices = ptr2u(sl);
	tr.count = 2;
	if (ioctl(fd, VMMEM_TRANSLATE, &tr) || sl[0].user_addr == 0)
		return 5;
	/* ... and that address in our own memory is our own page */
	if (*(volatile __u64 *)(uintptr_t)secret_addr == SECRET)
		return 6;
	/* write, atomics, mmap on the sender's regions */
	v = 0x77;
	if (vm_write(fd, GPA_U + 8, &v, 8, VMMEM_IO_EXACT, NULL))
		return 7;
	memset(&at, 0, sizeof(at));
	at.guest_addr = GPA_K;
	at.op = VMMEM_ATOMIC_FETCH_ADD;
	at.size = 8;
	at.value = 5;
	at.order = VMMEM_ORDER_SEQ_CST;
	if (ioctl(fd, VMMEM_ATOMIC, &at))
		return 8;
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 arr[0].mmap_offset);
	if (m == MAP_FAILED)
		return 9;
	if (*(volatile __u64 *)m != 5)
		return 10;
	munmap(m, PG);
	/* add its own regions: kernel-backed, and user-backed from its memory */
	if (vm_add(fd, 0x800000, PG, 0, 0, &ra))
		return 11;
	own = anon_map(32 << 10);
	lk = locked_kb();
	if (!own || vm_add(fd, 0x900000, 32 << 10, ptr2u(own), 0, NULL))
		return 12;
	if (locked_kb() - lk != 32)	/* charged to the receiver */
		return 13;
	if (vm_add(fd, 0xa00000, 64 << 10, ptr2u(anon_map(64 << 10)), 0,
		   NULL) != -1 || errno != ENOMEM)	/* its own limit */
		return 14;
	if (vm_write(fd, 0x900000, &mine, 8, VMMEM_IO_EXACT, NULL))
		return 15;
	/* fd numbers in fd I/O are the caller's: the sender's memfd is not */
	memset(&fio, 0, sizeof(fio));
	fio.guest_addr = GPA_U;
	fio.len = 8;
	fio.offset = 0;
	fio.fd = secret_fd;
	if (fcntl(secret_fd, F_GETFD) != -1)
		return 16;
	if (ioctl(fd, VMMEM_READ_FROM_FD, &fio) != -1 || errno != EBADF)
		return 17;
	/* nothing outside regions: unmapped GPAs stay unreachable */
	if (vm_read(fd, 0x300000, &v, 8, 0, NULL) != -1 || errno != ENXIO)
		return 18;
	/* remove a region of its own */
	if (vm_remove_id(fd, ra.id))
		return 19;
	if (put_long(sock, 1))
		return 20;
	get_long(sock);		/* hold the fd until the sender looked */
	return 0;
}

TEST(received_fd_grants_every_operation_but_no_private_memory)
{
	int sv[2], fd = vm_open(), mfd, rc;
	unsigned char *u = anon_map(NPG * PG);
	__u64 *private = anon_map(PG), v = SECRET;
	struct vmmem_region_info arr[8];
	__u32 count;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, u);
	ASSERT_NE(NULL, private);
	ASSERT_EQ(-1, fcntl(SECRET_FD, F_GETFD));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	*private = 1;		/* before fork: the child's copy says 1 */
	ASSERT_EQ(0, vm_add(fd, GPA_K, NPG * PG, 0, 0, NULL));
	ASSERT_EQ(0, vm_add(fd, GPA_U, NPG * PG, ptr2u(u), 0, NULL));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);
		_exit(capable_receiver(sv[1], ptr2u(private), SECRET_FD));
	}
	*private = SECRET;	/* after fork: only ours says SECRET */
	/* a file only we have, at a number the receiver will not use */
	mfd = memfd_create("secret", 0);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(SECRET_FD, dup2(mfd, SECRET_FD));
	close(mfd);
	mfd = SECRET_FD;
	ASSERT_EQ(8, pwrite(mfd, &v, 8, 0));
	memcpy(u, &v, 8);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	ASSERT_EQ(1, get_long(sv[0])) {
		rc = wait_child(pid);
		TH_LOG("receiver failed at step %d", rc);
	}
	/* what the receiver did is visible to us, in the same space */
	ASSERT_EQ(0x77, *(volatile __u64 *)(u + 8));
	ASSERT_EQ(0, vm_list(fd, arr, 8, &count, NULL));
	ASSERT_EQ(3, count);
	ASSERT_EQ(0x900000, arr[2].guest_addr);
	ASSERT_EQ(VMMEM_BACKING_USER, arr[2].backing);
	ASSERT_EQ(0, vm_read(fd, 0x900000, &v, 8, VMMEM_IO_EXACT, NULL));
	ASSERT_EQ(0xabcdef, v);
	ASSERT_EQ(0, put_long(sv[0], 2));
	ASSERT_EQ(0, wait_child(pid));
	/* the receiver exited: its pins went with the last reference, ours */
	ASSERT_EQ(0, vm_remove_addr(fd, 0x900000, 32 << 10));
	close(fd);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
}

TEST_HARNESS_MAIN
