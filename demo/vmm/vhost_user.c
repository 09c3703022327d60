// SPDX-License-Identifier: GPL-2.0
/*
 * Disk (b): the same virtio-blk device, served by qemu-storage-daemon
 * over vhost-user. This process only runs the transport (virtio_mmio.c)
 * and tells the backend where things are:
 *
 *   - the memory table: each vmmem region with the fd and offset the
 *     backend maps it from (vmmem_share_region(): /dev/vmmem for
 *     module-allocated RAM, our memfd for --memfd), see memory.c;
 *   - at DRIVER_OK, the queue the guest laid out (its GPAs, as our
 *     addresses), the kick eventfd that KVM signals on QueueNotify
 *     (KVM_IOEVENTFD) and the call eventfd that raises the GSI in KVM
 *     (KVM_IRQFD). Requests then go from the guest to the backend and back
 *     without an exit to us.
 *
 * The vhost-user messages are those of the selftests' frontend,
 * selftests/vhost_user.h, which this file includes.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vmm.h"
#include "../../selftests/vhost_user.h"

#define QUEUE_MAX		128
#define VHU_GET_VRING_BASE	11

struct vhost_blk {
	struct vhu_backend be;
	char dir[64];			/* holds the socket */
	char sock[96];
	struct virtio_blk_config config;
	bool started;			/* the backend runs our queue */
	uint64_t sectors;
};

static void vhost_fail(struct vhost_blk *vb, int ret)
{
	fprintf(stderr, "vmm: vhost-user: %s (%s)\n", vb->be.err,
		strerror(-ret));
}

static void vhost_config_read(struct virtio_mmio *t, uint32_t off, void *buf,
			      uint32_t len)
{
	struct vhost_blk *vb = t->dev;

	memset(buf, 0, len);
	if (off < sizeof(vb->config))
		memcpy(buf, (char *)&vb->config + off,
		       len < sizeof(vb->config) - off ? len :
		       sizeof(vb->config) - off);
}

/* Stop the ring: GET_VRING_BASE, whose reply says the backend let go. */
static void vhost_reset(struct virtio_mmio *t)
{
	struct vhost_blk *vb = t->dev;
	struct vhost_vring_state s = { .index = 0 };
	int ret;

	if (!vb->started)
		return;
	vb->started = false;
	ret = vhu_send(&vb->be, VHU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0);
	if (!ret)
		ret = vhu_recv_reply(&vb->be, VHU_GET_VRING_BASE, &s,
				     sizeof(s));
	if (ret)
		vhost_fail(vb, ret);
}

/* DRIVER_OK: hand the guest's queue to the backend. */
static int vhost_activate(struct virtio_mmio *t)
{
	struct vhost_blk *vb = t->dev;
	struct vhu_backend *be = &vb->be;
	struct virtq *q = &t->vq;
	struct vhost_vring_state state = { .index = 0, .num = q->num };
	struct vhost_vring_addr addr = {
		.index = 0,
		.desc_user_addr = vhu_gpa_to_uaddr(be, q->desc),
		.avail_user_addr = vhu_gpa_to_uaddr(be, q->avail),
		.used_user_addr = vhu_gpa_to_uaddr(be, q->used),
	};
	uint64_t features = t->driver_features |
		(be->features & (1ULL << VHU_F_PROTOCOL_FEATURES));
	int ret;

	if (!addr.desc_user_addr || !addr.avail_user_addr ||
	    !addr.used_user_addr) {
		fprintf(stderr, "vmm: vhost-user: the queue is not in guest RAM\n");
		return -EINVAL;
	}
	ret = vhu_set_u64(be, VHU_SET_FEATURES, features, -1);
	if (!ret)
		ret = vhu_request(be, VHU_SET_VRING_NUM, &state, sizeof(state),
				  NULL, 0);
	state.num = 0;
	if (!ret)
		ret = vhu_request(be, VHU_SET_VRING_BASE, &state, sizeof(state),
				  NULL, 0);
	if (!ret)
		ret = vhu_request(be, VHU_SET_VRING_ADDR, &addr, sizeof(addr),
				  NULL, 0);
	if (!ret)
		ret = vhu_set_u64(be, VHU_SET_VRING_CALL, 0, t->call_fd);
	if (!ret)
		ret = vhu_set_u64(be, VHU_SET_VRING_KICK, 0, t->kick_fd);
	if (!ret && (be->features & (1ULL << VHU_F_PROTOCOL_FEATURES))) {
		state.num = 1;
		ret = vhu_request(be, VHU_SET_VRING_ENABLE, &state,
				  sizeof(state), NULL, 0);
	}
	if (ret) {
		vhost_fail(vb, ret);
		return ret;
	}
	vb->started = true;
	return 0;
}

static const struct virtio_dev_ops vhost_blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.queue_max = QUEUE_MAX,
	.config_read = vhost_config_read,
	.activate = vhost_activate,
	.reset = vhost_reset,
};

/* Start the daemon on @path, connect, negotiate, send the memory table. */
static int start_backend(struct vmm *v, struct vhost_blk *vb,
			 const char *path, const char *qsd)
{
	char blockdev[300], export[300];
	char *argv[] = {
		(char *)qsd, "--blockdev", blockdev, "--export", export, NULL
	};
	struct vhu_region table[MAX_RAM];
	unsigned int i;
	int ret;

	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=disk,filename=%s,cache.direct=off",
		 path);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=%s,writable=on",
		 vb->sock);
	for (i = 0; i < v->nram; i++)
		table[i] = (struct vhu_region) {
			.gpa = v->ram[i].gpa,
			.size = v->ram[i].size,
			.uaddr = (uintptr_t)v->ram[i].host,
			.mmap_offset = v->ram[i].fd_offset,
			.fd = v->ram[i].fd,
		};
	ret = vhu_spawn(&vb->be, argv);
	if (!ret)
		ret = vhu_connect(&vb->be, vb->sock);
	if (!ret)
		ret = vhu_negotiate(&vb->be, (1ULL << VIRTIO_BLK_F_SEG_MAX) |
				    (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
				    (1ULL << VIRTIO_BLK_F_FLUSH), 1);
	if (!ret)
		ret = vhu_set_mem_table(&vb->be, table, v->nram);
	if (ret)
		return ret;
	/*
	 * The device's config space is the backend's, if it will say: up to
	 * blk_size, the fields of the features we take. A daemon refuses
	 * more than its own struct, which may be older than our header's.
	 */
	if (vb->be.protocol_features & (1ULL << VHU_PROTOCOL_F_CONFIG))
		return vhu_get_config(&vb->be, 0, &vb->config,
				      offsetof(struct virtio_blk_config,
					       physical_block_exp));
	vb->config.capacity = vb->sectors;
	vb->config.seg_max = QUEUE_MAX - 2;
	return 0;
}

int vhost_blk_create(struct vmm *v, const char *path, const char *qsd)
{
	struct vhost_blk *vb = calloc(1, sizeof(*vb));
	struct stat st;
	int ret;

	if (!vb)
		return -ENOMEM;
	vhu_init(&vb->be);
	v->vhost = vb;
	if (stat(path, &st)) {
		fprintf(stderr, "vmm: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	vb->sectors = st.st_size / 512;
	snprintf(vb->dir, sizeof(vb->dir), "/tmp/vmmem-vmm.XXXXXX");
	if (!mkdtemp(vb->dir)) {
		fprintf(stderr, "vmm: mkdtemp: %s\n", strerror(errno));
		return -errno;
	}
	snprintf(vb->sock, sizeof(vb->sock), "%s/blk.sock", vb->dir);
	ret = start_backend(v, vb, path, qsd);
	if (ret) {
		vhost_fail(vb, ret);
		return ret;
	}
	ret = virtio_mmio_init(&v->disk, v, VIRTIO_MMIO_GPA, VIRTIO_GSI,
			       &vhost_blk_ops, vb, vb->be.features &
			       ~(1ULL << VHU_F_PROTOCOL_FEATURES));
	if (!ret)
		ret = virtio_mmio_ioeventfd(&v->disk);
	if (ret) {
		fprintf(stderr, "vmm: virtio-mmio: %s\n", strerror(-ret));
		return ret;
	}
	v->disk.isr_always = true;
	printf("vmm: disk %s: %" PRIu64 " MiB, virtio-blk at 0x%llx, GSI %d, served by %s (pid %d) over vhost-user, features 0x%" PRIx64 "\n",
	       path, (uint64_t)(vb->config.capacity >> 11), VIRTIO_MMIO_GPA,
	       VIRTIO_GSI, qsd, (int)vb->be.pid, vb->be.features);
	return 0;
}

void vhost_blk_report(struct vmm *v)
{
	printf("vmm: disk (vhost-user): %lu MMIO exits, %lu notifies seen by us (KVM took the rest)\n",
	       v->disk.mmio_exits, v->disk.notifies);
}

void vhost_blk_close(struct vmm *v)
{
	struct vhost_blk *vb = v->vhost;
	int status;

	vhu_stop(&vb->be, &status);
	virtio_mmio_close(&v->disk);
	unlink(vb->sock);
	rmdir(vb->dir);
	free(vb);
	v->vhost = NULL;
}
