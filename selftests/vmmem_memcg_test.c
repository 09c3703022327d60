// SPDX-License-Identifier: GPL-2.0
/*
 * Module-allocated pages are charged to the caller's memory cgroup, and
 * an add that does not fit fails with ENOMEM: it must not OOM-kill. The
 * pages are in no process's RSS until mapped, so the OOM killer would
 * pick a bystander, here a process of the same cgroup that holds more
 * memory than the adder.
 *
 * Runs in a cgroup v2 group with memory.max set, created for the test
 * (cgroup2 is mounted on /sys/fs/cgroup if it is not yet).
 */
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "vmmem_test.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_LIMIT	(64ULL << 20)
#define BYSTANDER	(32ULL << 20)

FIXTURE(memcg) {
	char dir[128];
	pid_t bystander;
};

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_file_str(path, val);
}

static long cg_read(const char *dir, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return read_file_long(path);
}

static long cg_event(const char *dir, const char *key)
{
	char path[256], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ')
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

static int cg_join(const char *dir)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d\n", getpid());
	return cg_write(dir, "cgroup.procs", pid);
}

FIXTURE_SETUP(memcg)
{
	char limit[32], path[160];

	self->bystander = -1;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", CG_ROOT);
	if (access(path, F_OK))
		mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL);
	if (access(path, F_OK))
		SKIP(return, "no cgroup v2");
	if (cg_write(CG_ROOT, "cgroup.subtree_control", "+memory\n"))
		SKIP(return, "no memory controller");
	snprintf(self->dir, sizeof(self->dir), "%s/vmmem-%d", CG_ROOT,
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	snprintf(limit, sizeof(limit), "%llu\n", CG_LIMIT);
	ASSERT_EQ(0, cg_write(self->dir, "memory.max", limit));
	cg_write(self->dir, "memory.swap.max", "0\n");
}

FIXTURE_TEARDOWN(memcg)
{
	int status;

	if (self->bystander > 0) {
		kill(self->bystander, SIGKILL);
		waitpid(self->bystander, &status, 0);
	}
	if (self->dir[0])
		rmdir(self->dir);
}

TEST_F(memcg, an_add_beyond_memory_max_is_enomem_and_kills_nobody)
{
	int ready[2], status;
	pid_t adder;
	char x;

	/* The bystander: more RSS than the adder will ever have. */
	ASSERT_EQ(0, pipe(ready));
	self->bystander = fork();
	ASSERT_GE(self->bystander, 0);
	if (!self->bystander) {
		unsigned char *p;

		if (cg_join(self->dir))
			_exit(1);
		p = anon_map(BYSTANDER);
		if (!p)
			_exit(2);
		memset(p, 1, BYSTANDER);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &x, 1));

	adder = fork();
	ASSERT_GE(adder, 0);
	if (!adder) {
		int fd = vm_open();

		if (fd < 0 || cg_join(self->dir))
			_exit(10);
		/* twice what the group may hold */
		if (vm_add(fd, 0, 2 * CG_LIMIT, 0, 0, NULL) != -1)
			_exit(11);
		_exit(errno == ENOMEM ? 0 : 12);
	}
	ASSERT_EQ(adder, waitpid(adder, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the adder was killed");
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, waitpid(self->bystander, &status, WNOHANG))
		TH_LOG("the bystander was killed");
	EXPECT_EQ(0, cg_event(self->dir, "oom_kill"));
	/* the charge was given back: the group holds the bystander only */
	EXPECT_LT(cg_read(self->dir, "memory.current"),
		  (long)(BYSTANDER + (8 << 20)));
}

/*
 * An unprivileged add beyond RLIMIT_MEMLOCK is refused before anything is
 * allocated for it: a huge user region costs its page array (8 bytes a
 * page), which must not be the price of learning the limit.
 */
TEST_F(memcg, an_add_beyond_rlimit_memlock_allocates_nothing)
{
	int status;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (!pid) {
		struct rlimit rl = { 64 << 10, 64 << 10 };
		unsigned char *buf = anon_map(PG);
		int fd = vm_open();

		if (fd < 0 || !buf || cg_join(self->dir) ||
		    setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
		    setgid(65534) || setuid(65534))
			_exit(10);
		/* 64 GiB: a 128 MiB page array, twice the group's limit */
		if (vm_add(fd, 0, 64ULL << 30, ptr2u(buf), 0, NULL) != -1)
			_exit(11);
		_exit(errno == ENOMEM ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* the group never came near its limit */
	EXPECT_EQ(0, cg_event(self->dir, "max"));
	EXPECT_LT(cg_read(self->dir, "memory.peak"), 16L << 20);
}

/*
 * The same without a cgroup limit: an add that the whole machine cannot
 * hold (less than its RAM, more than is free) fails, and the OOM killer
 * stays away. It allocates all of RAM page by page before it fails: 25 s
 * on the debug kernel (3 GiB, KASAN), over the harness's default 30 s
 * timeout on a slower machine; a few seconds on Debian's kernels.
 */
FIXTURE(machine) {};
FIXTURE_SETUP(machine) {}
FIXTURE_TEARDOWN(machine) {}

TEST_F_TIMEOUT(machine, an_add_beyond_free_memory_is_enomem_and_kills_nobody,
	       120)
{
	long total = proc_key_value("/proc/meminfo", "MemTotal");
	int ready[2], status, fd = vm_open();
	pid_t bystander;
	__u64 size;
	char x;

	ASSERT_GE(fd, 0);
	ASSERT_LT(0, total);
	ASSERT_EQ(0, pipe(ready));
	bystander = fork();
	ASSERT_GE(bystander, 0);
	if (!bystander) {
		unsigned char *p = anon_map(BYSTANDER);

		if (!p)
			_exit(2);
		memset(p, 1, BYSTANDER);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &x, 1));
	/* all of RAM but 16 MiB: below the early "more than RAM" check */
	size = ((__u64)total << 10) - (16 << 20);
	size &= ~(PG - 1);
	EXPECT_EQ(-1, vm_add(fd, 0, size, 0, 0, NULL));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(0, waitpid(bystander, &status, WNOHANG))
		TH_LOG("the bystander was killed");
	kill(bystander, SIGKILL);
	waitpid(bystander, &status, 0);
	close(fd);
}

TEST_HARNESS_MAIN
