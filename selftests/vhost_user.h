/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small vhost-user frontend for the selftests, after the vhost-user
 * specification (docs/interop/vhost-user.rst in QEMU). It starts a backend
 * program, waits for its UNIX socket, negotiates features, hands over the
 * guest memory table (one fd per region, by SCM_RIGHTS) and runs split
 * virtqueues whose descriptor tables and rings live in guest memory.
 *
 * Device emulation goes through vmmem: the frontend reads and writes guest
 * memory (descriptors, rings, request headers, data) only with libvmmem
 * calls, never through a pointer. The addresses it puts in the memory table
 * (userspace_addr) and in SET_VRING_ADDR are those of its own mappings, as
 * the protocol wants, but it never dereferences them.
 *
 * What it leaves out: EVENT_IDX, indirect descriptors, packed rings, the
 * backend channel, inflight tracking, reconnection. Requests complete in
 * any order; a queue holds at most its size in descriptors in flight.
 *
 * Every function returns 0 or a negative errno and, on failure, leaves a
 * sentence in be->err saying which step failed.
 */
#ifndef VHOST_USER_H
#define VHOST_USER_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vmmem.h"

/* Front-end requests (the spec's numbering). */
#define VHU_GET_FEATURES		1
#define VHU_SET_FEATURES		2
#define VHU_SET_OWNER			3
#define VHU_SET_MEM_TABLE		5
#define VHU_SET_VRING_NUM		8
#define VHU_SET_VRING_ADDR		9
#define VHU_SET_VRING_BASE		10
#define VHU_SET_VRING_KICK		12
#define VHU_SET_VRING_CALL		13
#define VHU_GET_PROTOCOL_FEATURES	15
#define VHU_SET_PROTOCOL_FEATURES	16
#define VHU_GET_QUEUE_NUM		17
#define VHU_SET_VRING_ENABLE		18
#define VHU_GET_CONFIG			24

/* Header flags: protocol version 1 in bits 0-1. */
#define VHU_VERSION			0x1
#define VHU_VERSION_MASK		0x3
#define VHU_FLAG_REPLY			(1U << 2)
#define VHU_FLAG_NEED_REPLY		(1U << 3)

/* Feature bits. */
#define VHU_F_PROTOCOL_FEATURES		30
#define VHU_PROTOCOL_F_MQ		0
#define VHU_PROTOCOL_F_REPLY_ACK	3
#define VHU_PROTOCOL_F_CONFIG		9

/* The protocol features this frontend speaks; it takes those offered. */
#define VHU_PROTOCOL_WANTED	((1ULL << VHU_PROTOCOL_F_MQ) | \
				 (1ULL << VHU_PROTOCOL_F_REPLY_ACK) | \
				 (1ULL << VHU_PROTOCOL_F_CONFIG))

/* SET_VRING_KICK/CALL payload: queue index in bits 0-7. */
#define VHU_VRING_IDX_MASK		0xff

/* SET_MEM_TABLE carries at most this many regions (and fds). */
#define VHU_MAX_REGIONS			8

/* Backends run under TCG in the test VM: be patient, but not forever. */
#define VHU_TIMEOUT_MS			20000

struct vhu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* of the payload that follows */
};

struct vhu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;	/* of the region's first byte in the fd */
};

struct vhu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region regions[VHU_MAX_REGIONS];
};

struct vhu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[256];
};

/**
 * struct vhu_region - one entry of the memory table, as the frontend sees it
 * @gpa:         first guest-physical address
 * @size:        bytes
 * @uaddr:       the frontend's own mapping of the region
 * @mmap_offset: offset of the region's first byte in @fd
 * @fd:          /dev/vmmem for kernel-backed regions, the memfd for
 *               user-backed ones (not owned: the caller closes it)
 */
struct vhu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
	int fd;
};

/**
 * struct vhu_backend - a backend process and its vhost-user connection
 * @pid:               the backend, or 0
 * @sock:              the connection, or -1
 * @features:          negotiated virtio/vhost-user features
 * @protocol_features: negotiated protocol features
 * @nregions:          entries in @regions
 * @regions:           the memory table last sent
 * @err:               what failed, for the test's log
 */
struct vhu_backend {
	pid_t pid;
	int sock;
	uint64_t features;
	uint64_t protocol_features;
	unsigned int nregions;
	struct vhu_region regions[VHU_MAX_REGIONS];
	char err[256];
};

/* A split virtqueue descriptor as guest memory holds it (little-endian). */
struct vhu_desc {
	vmmem_le64 addr;
	vmmem_le32 len;
	vmmem_le16 flags;
	vmmem_le16 next;
};

struct vhu_used_elem {
	vmmem_le32 id;
	vmmem_le32 len;
};

/**
 * struct vhu_vq - a split virtqueue in guest memory
 * @vm:        guest memory
 * @index:     queue index
 * @num:       queue size, a power of 2
 * @desc:      GPA of the descriptor table (16 * @num bytes)
 * @avail:     GPA of the available ring
 * @used:      GPA of the used ring
 * @next_desc: next free descriptor
 * @avail_idx: our copy of avail->idx
 * @used_seen: used entries consumed
 * @kick:      eventfd we signal the backend with
 * @call:      eventfd the backend signals us with
 */
struct vhu_vq {
	struct vmmem *vm;
	unsigned int index;
	uint16_t num;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	uint16_t next_desc;
	uint16_t avail_idx;
	uint16_t used_seen;
	int kick;
	int call;
};

/* One buffer of a descriptor chain. */
struct vhu_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;	/* VRING_DESC_F_WRITE */
};

/* A used ring entry, in host order. */
struct vhu_used {
	uint32_t id;		/* head of the chain */
	uint32_t len;		/* bytes the device wrote */
};

/* Record what failed in be->err; returns @err (a negative errno). */
static inline __attribute__((format(printf, 3, 4)))
int vhu_fail(struct vhu_backend *be, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be->err, sizeof(be->err), fmt, ap);
	va_end(ap);
	return err;
}

static inline long vhu_ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static inline void vhu_deadline(struct timespec *deadline, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

static inline void vhu_init(struct vhu_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->sock = -1;
}

/* --- the backend process ------------------------------------------------ */

/**
 * vhu_spawn() - start a backend program
 * @be:   the backend (vhu_init()ed)
 * @argv: its argv, argv[0] the path
 *
 * The child has no terminal (a new session, stdin from /dev/null) and
 * writes both its outputs to our stderr: in the test VM that is the
 * console, so a vu_panic shows in the log, away from the TAP on stdout.
 * It dies with us (PR_SET_PDEATHSIG) should we die before vhu_stop().
 */
static inline int vhu_spawn(struct vhu_backend *be, char *const argv[])
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return vhu_fail(be, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		setsid();
		if (null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0)
			_exit(126);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	be->pid = pid;
	return 0;
}

static inline void vhu_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/**
 * vhu_connect() - connect to the backend's socket once it listens
 * @be:   the backend, started
 * @path: its socket
 *
 * Fails at once if the backend exits first, so that its own message (on
 * stderr) is the last thing before ours.
 */
static inline int vhu_connect(struct vhu_backend *be, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = VHU_TIMEOUT_MS / 1000 };
	struct timespec deadline;
	int status, s, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return vhu_fail(be, -EINVAL, "socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	vhu_deadline(&deadline, VHU_TIMEOUT_MS);
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return vhu_fail(be, -errno, "socket: %s", strerror(errno));
		if (!connect(s, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		err = errno;
		close(s);
		if (err != ENOENT && err != ECONNREFUSED)
			return vhu_fail(be, -err, "connect %s: %s", path,
					strerror(err));
		if (be->pid && waitpid(be->pid, &status, WNOHANG) == be->pid) {
			char how[64];

			be->pid = 0;
			vhu_describe_status(status, how, sizeof(how));
			return vhu_fail(be, -ECHILD, "backend ended (%s) before listening on %s",
					how, path);
		}
		if (vhu_ms_left(&deadline) <= 0)
			return vhu_fail(be, -ETIMEDOUT, "no socket at %s after %d ms", path,
					VHU_TIMEOUT_MS);
		usleep(10000);
	}
	/* A backend that stops answering must not hang the test. */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	be->sock = s;
	return 0;
}

/**
 * vhu_stop() - hang up, end the backend and reap it
 * @be:     the backend
 * @status: if not NULL, receives its wait status (0 if none was started)
 *
 * SIGTERM, then SIGKILL if it is still there after 5 s.
 */
static inline void vhu_stop(struct vhu_backend *be, int *status)
{
	struct timespec deadline;
	int st = 0;
	pid_t r;

	if (be->sock >= 0)
		close(be->sock);
	be->sock = -1;
	if (be->pid) {
		kill(be->pid, SIGTERM);
		vhu_deadline(&deadline, 5000);
		while ((r = waitpid(be->pid, &st, WNOHANG)) == 0 &&
		       vhu_ms_left(&deadline) > 0)
			usleep(10000);
		if (r == 0) {
			kill(be->pid, SIGKILL);
			waitpid(be->pid, &st, 0);
		}
		be->pid = 0;
	}
	if (status)
		*status = st;
}

/* --- messages ----------------------------------------------------------- */

static inline const char *vhu_request_name(uint32_t req)
{
	switch (req) {
	case VHU_GET_FEATURES:		return "GET_FEATURES";
	case VHU_SET_FEATURES:		return "SET_FEATURES";
	case VHU_SET_OWNER:		return "SET_OWNER";
	case VHU_SET_MEM_TABLE:		return "SET_MEM_TABLE";
	case VHU_SET_VRING_NUM:		return "SET_VRING_NUM";
	case VHU_SET_VRING_ADDR:	return "SET_VRING_ADDR";
	case VHU_SET_VRING_BASE:	return "SET_VRING_BASE";
	case VHU_SET_VRING_KICK:	return "SET_VRING_KICK";
	case VHU_SET_VRING_CALL:	return "SET_VRING_CALL";
	case VHU_GET_PROTOCOL_FEATURES:	return "GET_PROTOCOL_FEATURES";
	case VHU_SET_PROTOCOL_FEATURES:	return "SET_PROTOCOL_FEATURES";
	case VHU_GET_QUEUE_NUM:		return "GET_QUEUE_NUM";
	case VHU_SET_VRING_ENABLE:	return "SET_VRING_ENABLE";
	case VHU_GET_CONFIG:		return "GET_CONFIG";
	}
	return "?";
}

static inline int vhu_send(struct vhu_backend *be, uint32_t req,
			   uint32_t flags, const void *payload, uint32_t size,
			   const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct vhu_msg_hdr hdr = {
		.request = req,
		.flags = VHU_VERSION | flags,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds > VHU_MAX_REGIONS)
		return vhu_fail(be, -EINVAL, "%s: %u fds", vhu_request_name(req), nfds);
	if (nfds) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* A backend that hung up must give EPIPE here, not kill us. */
	n = sendmsg(be->sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return vhu_fail(be, -errno, "%s: sendmsg: %s (did the backend hang up?)",
				vhu_request_name(req), strerror(errno));
	if ((size_t)n != sizeof(hdr) + size)
		return vhu_fail(be, -EIO, "%s: short sendmsg", vhu_request_name(req));
	return 0;
}

static inline int vhu_recv_all(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

/* The reply to @req: exactly @size bytes of payload into @payload. */
static inline int vhu_recv_reply(struct vhu_backend *be, uint32_t req,
				 void *payload, uint32_t size)
{
	struct vhu_msg_hdr hdr;
	int ret;

	ret = vhu_recv_all(be->sock, &hdr, sizeof(hdr));
	if (!ret && (hdr.request != req || hdr.size != size ||
		     (hdr.flags & VHU_VERSION_MASK) != VHU_VERSION ||
		     !(hdr.flags & VHU_FLAG_REPLY)))
		return vhu_fail(be, -EPROTO, "%s: bad reply (request %u, flags 0x%x, size %u)",
				vhu_request_name(req), hdr.request, hdr.flags,
				hdr.size);
	if (!ret)
		ret = vhu_recv_all(be->sock, payload, size);
	if (ret == -ECONNRESET)
		return vhu_fail(be, ret, "%s: %s", vhu_request_name(req),
				"the backend hung up instead of replying (see its stderr above)");
	if (ret)
		return vhu_fail(be, ret, "%s: reading the reply: %s",
				vhu_request_name(req), strerror(-ret));
	return 0;
}

/*
 * A request without a reply of its own. With REPLY_ACK negotiated, ask for
 * the ack so that an error surfaces at the request that caused it.
 */
static inline int vhu_request(struct vhu_backend *be, uint32_t req,
			      const void *payload, uint32_t size,
			      const int *fds, unsigned int nfds)
{
	bool ack = be->protocol_features & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	uint64_t status;
	int ret;

	ret = vhu_send(be, req, ack ? VHU_FLAG_NEED_REPLY : 0, payload, size,
		       fds, nfds);
	if (ret || !ack)
		return ret;
	ret = vhu_recv_reply(be, req, &status, sizeof(status));
	if (ret)
		return ret;
	if (status)
		return vhu_fail(be, -EIO, "%s: the backend answered %" PRIu64,
				vhu_request_name(req), status);
	return 0;
}

static inline int vhu_get_u64(struct vhu_backend *be, uint32_t req,
			      uint64_t *val)
{
	int ret = vhu_send(be, req, 0, NULL, 0, NULL, 0);

	return ret ? ret : vhu_recv_reply(be, req, val, sizeof(*val));
}

static inline int vhu_set_u64(struct vhu_backend *be, uint32_t req,
			      uint64_t val, int fd)
{
	return vhu_request(be, req, &val, sizeof(val), &fd, fd >= 0 ? 1 : 0);
}

/**
 * vhu_negotiate() - GET_FEATURES, SET_OWNER, protocol features, SET_FEATURES
 * @be:      the connected backend
 * @want:    device feature bits the caller wants, if offered
 * @nqueues: queues the device will use (checked with GET_QUEUE_NUM if the
 *           backend has MQ)
 *
 * Always VIRTIO_F_VERSION_1 (libvhost-user refuses legacy devices), and
 * VHOST_USER_F_PROTOCOL_FEATURES if offered.
 */
static inline int vhu_negotiate(struct vhu_backend *be, uint64_t want,
				unsigned int nqueues)
{
	uint64_t offered, proto, queues;
	int ret;

	ret = vhu_get_u64(be, VHU_GET_FEATURES, &offered);
	if (ret)
		return ret;
	if (!(offered & (1ULL << VIRTIO_F_VERSION_1)))
		return vhu_fail(be, -EPROTO, "features 0x%" PRIx64 " lack VIRTIO_F_VERSION_1",
				offered);
	ret = vhu_request(be, VHU_SET_OWNER, NULL, 0, NULL, 0);
	if (ret)
		return ret;
	be->features = (offered & want) | (1ULL << VIRTIO_F_VERSION_1);
	if (offered & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		be->features |= 1ULL << VHU_F_PROTOCOL_FEATURES;
		ret = vhu_get_u64(be, VHU_GET_PROTOCOL_FEATURES, &proto);
		if (ret)
			return ret;
		proto &= VHU_PROTOCOL_WANTED;
		/* Sent before it takes effect: no ack asked for this one. */
		ret = vhu_set_u64(be, VHU_SET_PROTOCOL_FEATURES, proto, -1);
		if (ret)
			return ret;
		be->protocol_features = proto;
	}
	if (be->protocol_features & (1ULL << VHU_PROTOCOL_F_MQ)) {
		ret = vhu_get_u64(be, VHU_GET_QUEUE_NUM, &queues);
		if (ret)
			return ret;
		if (queues < nqueues)
			return vhu_fail(be, -EPROTO,
					"the backend has %" PRIu64 " queues, we need %u",
					queues, nqueues);
	}
	return vhu_set_u64(be, VHU_SET_FEATURES, be->features, -1);
}

/**
 * vhu_set_mem_table() - send the guest memory table
 * @be:       the backend
 * @regions:  the regions, each with the fd the backend is to mmap()
 * @nregions: how many (1 to VHU_MAX_REGIONS)
 *
 * libvhost-user maps each region as mmap(mmap_offset + size) at offset 0
 * and acknowledges the table even when that failed (it only marks itself
 * broken and hangs up later): a GET_FEATURES round trip after the table
 * makes such a failure show here, not at the first request.
 */
static inline int vhu_set_mem_table(struct vhu_backend *be,
				    const struct vhu_region *regions,
				    unsigned int nregions)
{
	struct vhu_mem_table t = { .nregions = nregions };
	int fds[VHU_MAX_REGIONS];
	uint64_t features;
	unsigned int i;
	int ret;

	if (!nregions || nregions > VHU_MAX_REGIONS)
		return vhu_fail(be, -EINVAL, "%u regions", nregions);
	for (i = 0; i < nregions; i++) {
		t.regions[i].guest_phys_addr = regions[i].gpa;
		t.regions[i].memory_size = regions[i].size;
		t.regions[i].userspace_addr = regions[i].uaddr;
		t.regions[i].mmap_offset = regions[i].mmap_offset;
		fds[i] = regions[i].fd;
		be->regions[i] = regions[i];
	}
	be->nregions = nregions;
	ret = vhu_request(be, VHU_SET_MEM_TABLE, &t,
			  offsetof(struct vhu_mem_table, regions) +
			  nregions * sizeof(t.regions[0]), fds, nregions);
	if (ret)
		return ret;
	ret = vhu_get_u64(be, VHU_GET_FEATURES, &features);
	if (ret)
		return vhu_fail(be, ret, "%s (%s): %s",
				"the backend did not survive SET_MEM_TABLE",
				"could it not mmap() a region? see its stderr above",
				strerror(-ret));
	return 0;
}

/* The frontend address of @gpa, as SET_VRING_ADDR wants; 0 if none. */
static inline uint64_t vhu_gpa_to_uaddr(const struct vhu_backend *be,
					uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < be->nregions; i++)
		if (gpa - be->regions[i].gpa < be->regions[i].size)
			return be->regions[i].uaddr + (gpa - be->regions[i].gpa);
	return 0;
}

/* GET_CONFIG of @len bytes of device config space at @offset. */
static inline int vhu_get_config(struct vhu_backend *be, uint32_t offset,
				 void *buf, uint32_t len)
{
	struct vhu_config c = { .offset = offset, .size = len };
	uint32_t size = offsetof(struct vhu_config, data) + len;
	int ret;

	if (len > sizeof(c.data))
		return vhu_fail(be, -EINVAL, "GET_CONFIG of %u bytes", len);
	ret = vhu_send(be, VHU_GET_CONFIG, 0, &c, size, NULL, 0);
	if (!ret)
		ret = vhu_recv_reply(be, VHU_GET_CONFIG, &c, size);
	if (ret)
		return ret;
	memcpy(buf, c.data, len);
	return 0;
}

/* --- split virtqueues in guest memory ----------------------------------- */

/*
 * A queue's layout: descriptors, then the avail ring (flags, idx, ring),
 * then, from the next page, the used ring (flags, idx, ring).
 */
static inline uint64_t vhu_vq_used_off(uint16_t num)
{
	return (16ULL * num + 4 + 2ULL * num + 4095) & ~4095ULL;
}

/* Bytes of guest memory vhu_vq_setup() lays a queue of @num entries in. */
static inline uint64_t vhu_vq_bytes(uint16_t num)
{
	return vhu_vq_used_off(num) + ((4 + 8ULL * num + 4095) & ~4095ULL);
}

/**
 * vhu_vq_setup() - lay out a queue in guest memory and give it to the backend
 * @be:    the backend, memory table sent
 * @vq:    the queue to set up
 * @vm:    guest memory
 * @index: queue index
 * @num:   queue size, a power of 2
 * @gpa:   where it goes (vhu_vq_bytes(@num) bytes, page-aligned)
 *
 * Zeroes the rings through vmmem, then SET_VRING_NUM, _BASE (0), _ADDR (our
 * addresses of the same GPAs), _CALL and _KICK (new eventfds) and, with
 * protocol features, SET_VRING_ENABLE: such rings start disabled.
 */
static inline int vhu_vq_setup(struct vhu_backend *be, struct vhu_vq *vq,
			       struct vmmem *vm, unsigned int index,
			       uint16_t num, uint64_t gpa)
{
	static const char zero[4096];
	struct vhost_vring_state state = { .index = index };
	struct vhost_vring_addr addr = { .index = index };
	uint64_t off;
	int ret;

	memset(vq, 0, sizeof(*vq));
	vq->kick = -1;
	vq->call = -1;
	vq->vm = vm;
	vq->index = index;
	vq->num = num;
	vq->desc = gpa;
	vq->avail = gpa + 16ULL * num;
	vq->used = gpa + vhu_vq_used_off(num);
	for (off = 0; off < vhu_vq_bytes(num); off += sizeof(zero)) {
		ret = vmmem_write_exact(vm, gpa + off, zero, sizeof(zero), NULL);
		if (ret)
			return vhu_fail(be, ret, "zeroing queue %u at 0x%" PRIx64 ": %s",
					index, gpa + off, strerror(-ret));
	}
	addr.desc_user_addr = vhu_gpa_to_uaddr(be, vq->desc);
	addr.avail_user_addr = vhu_gpa_to_uaddr(be, vq->avail);
	addr.used_user_addr = vhu_gpa_to_uaddr(be, vq->used);
	if (!addr.desc_user_addr || !addr.avail_user_addr ||
	    !addr.used_user_addr)
		return vhu_fail(be, -ENXIO, "queue %u at 0x%" PRIx64 " is not in the memory table",
				index, gpa);
	vq->kick = eventfd(0, EFD_CLOEXEC);
	vq->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kick < 0 || vq->call < 0)
		return vhu_fail(be, -errno, "eventfd: %s", strerror(errno));

	state.num = num;
	ret = vhu_request(be, VHU_SET_VRING_NUM, &state, sizeof(state), NULL, 0);
	if (ret)
		return ret;
	state.num = 0;
	ret = vhu_request(be, VHU_SET_VRING_BASE, &state, sizeof(state), NULL, 0);
	if (ret)
		return ret;
	ret = vhu_request(be, VHU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (ret)
		return ret;
	ret = vhu_set_u64(be, VHU_SET_VRING_CALL, index, vq->call);
	if (ret)
		return ret;
	ret = vhu_set_u64(be, VHU_SET_VRING_KICK, index, vq->kick);
	if (ret)
		return ret;
	if (be->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		state.num = 1;
		ret = vhu_request(be, VHU_SET_VRING_ENABLE, &state,
				  sizeof(state), NULL, 0);
	}
	return ret;
}

static inline void vhu_vq_close(struct vhu_vq *vq)
{
	if (vq->kick >= 0)
		close(vq->kick);
	if (vq->call >= 0)
		close(vq->call);
	vq->kick = -1;
	vq->call = -1;
}

/**
 * vhu_vq_add() - put a descriptor chain in the queue and publish it
 * @be:   the backend (for the error message)
 * @vq:   the queue
 * @bufs: the chain's buffers, device-readable ones first
 * @n:    how many
 * @head: if not NULL, receives the chain's head (the used entry's id)
 *
 * Descriptors, the avail ring entry and then avail->idx (a release store)
 * are written through vmmem. It does not kick.
 */
static inline int vhu_vq_add(struct vhu_backend *be, struct vhu_vq *vq,
			     const struct vhu_buf *bufs, unsigned int n,
			     uint16_t *head)
{
	uint16_t first = vq->next_desc, d = first;
	vmmem_le16 slot;
	unsigned int i;
	int ret;

	if (!n || n > vq->num)
		return vhu_fail(be, -EINVAL, "a chain of %u buffers", n);
	for (i = 0; i < n; i++) {
		uint16_t next = (d + 1) & (vq->num - 1);
		struct vhu_desc desc = {
			.addr = vmmem_cpu_to_le64(bufs[i].gpa),
			.len = vmmem_cpu_to_le32(bufs[i].len),
			.flags = vmmem_cpu_to_le16((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
						   (bufs[i].device_writes ?
						    VRING_DESC_F_WRITE : 0)),
			.next = vmmem_cpu_to_le16(i + 1 < n ? next : 0),
		};

		ret = vmmem_write_obj(vq->vm, vq->desc + 16ULL * d, &desc);
		if (ret)
			return vhu_fail(be, ret, "writing descriptor %u: %s", d,
					strerror(-ret));
		d = next;
	}
	vq->next_desc = d;
	slot = vmmem_cpu_to_le16(first);
	ret = vmmem_write_obj(vq->vm, vq->avail + 4 +
			      2ULL * (vq->avail_idx & (vq->num - 1)), &slot);
	if (!ret)
		ret = vmmem_store(vq->vm, vq->avail + 2, 2,
				  (uint16_t)(vq->avail_idx + 1),
				  VMMEM_ORDER_RELEASE);
	if (ret)
		return vhu_fail(be, ret, "publishing in the avail ring: %s",
				strerror(-ret));
	vq->avail_idx++;
	if (head)
		*head = first;
	return 0;
}

static inline int vhu_vq_kick(struct vhu_backend *be, struct vhu_vq *vq)
{
	if (eventfd_write(vq->kick, 1))
		return vhu_fail(be, -errno, "kick: %s", strerror(errno));
	return 0;
}

/**
 * vhu_vq_wait() - wait for @n more used entries and consume them
 * @be:   the backend
 * @vq:   the queue
 * @used: receives the @n entries, in used ring order
 * @n:    how many
 *
 * The call eventfd only wakes us up: libvhost-user signals it once when
 * it gets it, and a signal can cover several entries, so the used index
 * (an acquire load through vmmem) decides. A hangup of the backend ends
 * the wait at once.
 */
static inline int vhu_vq_wait(struct vhu_backend *be, struct vhu_vq *vq,
			      struct vhu_used *used, unsigned int n)
{
	struct timespec deadline;
	struct vhu_used_elem e;
	uint64_t idx;
	unsigned int i;
	int ret;

	vhu_deadline(&deadline, VHU_TIMEOUT_MS);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = vq->call, .events = POLLIN },
			{ .fd = be->sock, .events = POLLIN },
		};
		eventfd_t count;
		long left;

		ret = vmmem_load(vq->vm, vq->used + 2, 2, VMMEM_ORDER_ACQUIRE,
				 &idx);
		if (ret)
			return vhu_fail(be, ret, "loading used->idx: %s",
					strerror(-ret));
		if ((uint16_t)(idx - vq->used_seen) > vq->num)
			return vhu_fail(be, -EPROTO, "used->idx %" PRIu64 " is off (seen %u)",
					idx, vq->used_seen);
		if ((uint16_t)(idx - vq->used_seen) >= n)
			break;
		left = vhu_ms_left(&deadline);
		if (left <= 0)
			return vhu_fail(be, -ETIMEDOUT,
					"queue %u: %u of %u requests done after %d ms",
					vq->index, (uint16_t)(idx - vq->used_seen),
					n, VHU_TIMEOUT_MS);
		if (poll(pfd, 2, left) < 0 && errno != EINTR)
			return vhu_fail(be, -errno, "poll: %s", strerror(errno));
		/* The backend never writes to us unasked: this is a hangup. */
		if (pfd[1].revents)
			return vhu_fail(be, -ECONNRESET,
					"queue %u: the backend hung up with %u of %u requests done (see its stderr above)",
					vq->index, (uint16_t)(idx - vq->used_seen),
					n);
		if (pfd[0].revents)
			eventfd_read(vq->call, &count);
	}
	for (i = 0; i < n; i++) {
		uint16_t slot = (vq->used_seen + i) & (vq->num - 1);

		ret = vmmem_read_obj(vq->vm, vq->used + 4 + 8ULL * slot, &e);
		if (ret)
			return vhu_fail(be, ret, "reading used entry %u: %s", slot,
					strerror(-ret));
		used[i].id = vmmem_le32_to_cpu(e.id);
		used[i].len = vmmem_le32_to_cpu(e.len);
	}
	vq->used_seen += n;
	return 0;
}

#endif /* VHOST_USER_H */
