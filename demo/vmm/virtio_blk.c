// SPDX-License-Identifier: GPL-2.0
/*
 * Disk (a): a virtio-blk device (virtio 1.2, 5.2) served by this process,
 * in the vCPU thread when the driver notifies the queue.
 *
 * Everything the device touches in the guest goes through libvmmem: the
 * avail ring, the descriptors, the request headers, the status bytes and
 * the used ring with vmmem_read/write; the data itself moves between the
 * image file and guest memory inside the kernel (VMMEM_READ_FROM_FD,
 * VMMEM_WRITE_TO_FD), with no buffer of ours in between.
 *
 * --pread (a') moves the data with pread()/pwrite() into this process's
 * own mapping of guest RAM instead (the memslot's view): the comparison
 * for the throughput benchmark.
 *
 * A request is a chain: a 16-byte header the device reads, data buffers,
 * and a status byte the device writes (the last byte of the chain).
 * Guest-controlled sizes are checked; a bad chain fails its request
 * (VIRTIO_BLK_S_IOERR), never the VMM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "vmm.h"

#define QUEUE_MAX	BLK_QUEUE_MAX
#define SEG_MAX		(QUEUE_MAX - 2)

_Static_assert(BLK_FEATURES == ((1ULL << VIRTIO_BLK_F_SEG_MAX) |
				(1ULL << VIRTIO_BLK_F_FLUSH)),
	       "vmm.h names the features disk (a) offers");
#define SECTOR		512ULL

struct blk {
	int fd;
	uint64_t sectors;
	bool pread_path;
	uint16_t last_avail;	/* next avail entry to serve */
	uint16_t used_idx;
	unsigned long requests, reads, writes, flushes, bad;
	unsigned long fd_calls;		/* VMMEM_READ_FROM_FD/WRITE_TO_FD, or
					 * pread/pwrite with --pread */
	unsigned long ring_calls;	/* vmmem_read/write of the rings */
	uint64_t bytes_read, bytes_written;
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;
};

static int ring_read(struct blk *b, struct vmm *v, uint64_t gpa, void *buf,
		     size_t len)
{
	b->ring_calls++;
	return vmmem_read_exact(v->vm, gpa, buf, len, NULL);
}

static int ring_write(struct blk *b, struct vmm *v, uint64_t gpa,
		      const void *buf, size_t len)
{
	b->ring_calls++;
	return vmmem_write_exact(v->vm, gpa, buf, len, NULL);
}

/*
 * The descriptor chain from @head into @segs (QUEUE_MAX of them), at most
 * the queue size long: a chain that loops or runs longer is an error.
 */
static int read_chain(struct blk *b, struct virtio_mmio *t, uint16_t head,
		      struct seg *segs, unsigned int *nsegs)
{
	struct vring_desc d;
	unsigned int n = 0;
	uint16_t i = head;

	for (;;) {
		if (i >= t->vq.num || n == t->vq.num || n == QUEUE_MAX)
			return -EINVAL;
		if (ring_read(b, t->vmm, t->vq.desc + 16ULL * i, &d, sizeof(d)))
			return -EFAULT;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;		/* not offered */
		segs[n].gpa = d.addr;
		segs[n].len = d.len;
		segs[n].device_writes = d.flags & VRING_DESC_F_WRITE;
		n++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
	}
	*nsegs = n;
	return 0;
}

/* The host address of @len guest bytes at @gpa, for --pread. */
static void *host_addr(struct vmm *v, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < v->nram; i++) {
		struct ram *r = &v->ram[i];

		if (gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return (char *)r->host + (gpa - r->gpa);
	}
	return NULL;
}

/* Move one data buffer between the image at @off and the guest. */
static int transfer(struct blk *b, struct vmm *v, const struct seg *s,
		    uint64_t off, bool to_guest)
{
	void *p;
	ssize_t n;

	b->fd_calls++;
	if (!b->pread_path)
		return to_guest ?
			vmmem_read_exact_volatile_from(v->vm, s->gpa, b->fd,
						       off, s->len, NULL) :
			vmmem_write_all_volatile_to(v->vm, s->gpa, b->fd, off,
						    s->len, NULL);
	p = host_addr(v, s->gpa, s->len);
	if (!p)
		return -ERANGE;
	n = to_guest ? pread(b->fd, p, s->len, off) :
		       pwrite(b->fd, p, s->len, off);
	return n == s->len ? 0 : n < 0 ? -errno : -EIO;
}

/* Serve one request; returns its status, *@written the bytes we wrote. */
static uint8_t serve(struct blk *b, struct vmm *v, struct seg *segs,
		     unsigned int n, uint32_t *written)
{
	struct virtio_blk_outhdr hdr;
	uint64_t off;
	unsigned int i;
	bool in;

	*written = 1;				/* the status byte */
	if (n < 2 || segs[0].len < sizeof(hdr) || segs[0].device_writes ||
	    !segs[n - 1].device_writes || segs[n - 1].len < 1 ||
	    ring_read(b, v, segs[0].gpa, &hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		in = hdr.type == VIRTIO_BLK_T_IN;
		off = hdr.sector * SECTOR;
		for (i = 1; i < n - 1; i++) {
			struct seg *s = &segs[i];

			if (s->device_writes != in || s->len % SECTOR ||
			    hdr.sector > b->sectors ||
			    s->len / SECTOR > b->sectors - off / SECTOR)
				return VIRTIO_BLK_S_IOERR;
			if (transfer(b, v, s, off, in))
				return VIRTIO_BLK_S_IOERR;
			off += s->len;
			if (in) {
				*written += s->len;
				b->bytes_read += s->len;
			} else {
				b->bytes_written += s->len;
			}
		}
		in ? b->reads++ : b->writes++;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		b->flushes++;
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (n != 3 || !segs[1].device_writes ||
		    ring_write(b, v, segs[1].gpa, "vmmem-vmm",
			       segs[1].len < 10 ? segs[1].len : 10))
			return VIRTIO_BLK_S_IOERR;
		*written += segs[1].len < 10 ? segs[1].len : 10;
		return VIRTIO_BLK_S_OK;
	}
	return VIRTIO_BLK_S_UNSUPP;
}

/* The device stops until the driver resets it (virtio 1.2, 2.1.2). */
static void blk_broken(struct virtio_mmio *t, const char *why)
{
	fprintf(stderr, "vmm: virtio-blk: %s: the device needs a reset\n", why);
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	t->active = false;
}

/*
 * QueueNotify: serve the requests the driver has made available, once
 * over what avail->idx says now. More new entries than the queue holds
 * is a broken driver. One pass, not until the index settles: a guest
 * that keeps moving it (even through the status bytes we write) gets a
 * queue's worth per notify, and the vCPU loop stays in control (a stop
 * request ends the pass too).
 */
static void blk_notify(struct virtio_mmio *t)
{
	struct blk *b = t->dev;
	struct vmm *v = t->vmm;
	struct virtq *q = &t->vq;
	struct seg segs[QUEUE_MAX];
	const char *broken = NULL;
	uint16_t avail_idx, head;
	bool any = false;

	if (ring_read(b, v, q->avail + 2, &avail_idx, 2))
		broken = "the avail ring is not in guest memory";
	else if ((uint16_t)(avail_idx - b->last_avail) > q->num)
		broken = "more new requests than the queue holds";
	while (!broken && b->last_avail != avail_idx && !v->stop) {
		struct vring_used_elem used;
		uint32_t written;
		unsigned int n;
		uint8_t status;

		if (ring_read(b, v, q->avail + 4 +
			      2ULL * (b->last_avail % q->num), &head, 2)) {
			broken = "the avail ring is not in guest memory";
			break;
		}
		b->last_avail++;
		b->requests++;
		/* Without a status byte to tell the driver, the device stops. */
		if (read_chain(b, t, head, segs, &n)) {
			broken = "a descriptor chain that loops or is too long";
			break;
		}
		if (!segs[n - 1].device_writes || !segs[n - 1].len) {
			broken = "a request without a status byte";
			break;
		}
		status = serve(b, v, segs, n, &written);
		if (status != VIRTIO_BLK_S_OK)
			b->bad++;
		used.id = head;
		used.len = written;
		if (ring_write(b, v, segs[n - 1].gpa + segs[n - 1].len - 1,
			       &status, 1) ||
		    ring_write(b, v, q->used + 4 +
			       8ULL * (b->used_idx % q->num), &used,
			       sizeof(used))) {
			broken = "a status byte or the used ring not in guest memory";
			break;
		}
		b->used_idx++;
		/* The entry first, then the index that publishes it. */
		if (ring_write(b, v, q->used + 2, &b->used_idx, 2)) {
			broken = "the used ring is not in guest memory";
			break;
		}
		any = true;
	}
	if (broken)
		blk_broken(t, broken);
	if (any)
		virtio_mmio_interrupt(t);
}

static void blk_config_read(struct virtio_mmio *t, uint32_t off, void *buf,
			    uint32_t len)
{
	struct blk *b = t->dev;
	struct virtio_blk_config c = {
		.capacity = b->sectors,
		.seg_max = SEG_MAX,
	};

	memset(buf, 0, len);
	if (off < sizeof(c))
		memcpy(buf, (char *)&c + off,
		       len < sizeof(c) - off ? len : sizeof(c) - off);
}

static int blk_activate(struct virtio_mmio *t)
{
	struct blk *b = t->dev;

	b->last_avail = b->used_idx = 0;
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.queue_max = QUEUE_MAX,
	.config_read = blk_config_read,
	.activate = blk_activate,
	.notify = blk_notify,
};

/* @regular_only: a disk no one named (a restore's FILE.disk). */
int blk_create(struct vmm *v, const char *path, bool pread_path,
	       bool regular_only)
{
	struct blk *b = calloc(1, sizeof(*b));
	struct stat st;
	int ret;

	if (!b)
		return -ENOMEM;
	b->fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st)) {
		ret = -errno;
		fprintf(stderr, "vmm: %s: %s%s\n", path, strerror(-ret),
			regular_only ? "; give the disk with -d" : "");
		return ret;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "vmm: %s: not a regular file; give the disk with -d\n",
			path);
		return -EINVAL;
	}
	b->sectors = st.st_size / SECTOR;
	b->pread_path = pread_path;
	v->blk = b;
	ret = virtio_mmio_init(&v->disk, v, VIRTIO_MMIO_GPA, VIRTIO_GSI,
			       &blk_ops, b, BLK_FEATURES);
	if (ret) {
		fprintf(stderr, "vmm: virtio-mmio: %s\n", strerror(-ret));
		return ret;
	}
	printf("vmm: disk %s: %" PRIu64 " MiB, virtio-blk at 0x%llx, GSI %d, served here (%s)\n",
	       path, (uint64_t)(b->sectors * SECTOR >> 20), VIRTIO_MMIO_GPA, VIRTIO_GSI,
	       pread_path ? "pread/pwrite into our mapping" :
			    "vmmem READ_FROM_FD/WRITE_TO_FD");
	return 0;
}

void blk_report(struct vmm *v)
{
	struct blk *b = v->blk;

	printf("vmm: disk: %lu requests (%lu reads %" PRIu64 " KiB, %lu writes %" PRIu64 " KiB, %lu flushes, %lu failed); %lu notifies, %lu interrupts\n",
	       b->requests, b->reads, b->bytes_read >> 10, b->writes,
	       b->bytes_written >> 10, b->flushes, b->bad, v->disk.notifies,
	       v->disk.interrupts);
	printf("vmm: vmmem: disk %lu ring calls, %lu %s\n", b->ring_calls,
	       b->fd_calls, b->pread_path ? "pread/pwrite calls" :
	       "READ_FROM_FD/WRITE_TO_FD calls");
}

int blk_image_fd(struct vmm *v)
{
	return v->blk->fd;
}

void blk_get_indices(struct vmm *v, uint16_t *last_avail, uint16_t *used_idx)
{
	*last_avail = v->blk->last_avail;
	*used_idx = v->blk->used_idx;
}

void blk_set_indices(struct vmm *v, uint16_t last_avail, uint16_t used_idx)
{
	v->blk->last_avail = last_avail;
	v->blk->used_idx = used_idx;
}

void blk_close(struct vmm *v)
{
	virtio_mmio_close(&v->disk);
	close(v->blk->fd);
	free(v->blk);
	v->blk = NULL;
}
