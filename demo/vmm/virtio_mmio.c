// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2), of one device
 * with one queue, at VIRTIO_MMIO_GPA. The guest finds it in the DSDT
 * (acpi.c). Registers not listed below read as 0 and ignore writes.
 *
 * Interrupts go through KVM_IRQFD: a write to @call_fd pulses the GSI,
 * whoever writes it. A vhost-user backend writes it directly, so this
 * process never learns that the used ring moved: for such a device
 * (@isr_always) InterruptStatus always reads "used buffer" (bit 0), and
 * the driver looks at its ring. A spurious look is harmless; a lost one
 * would hang the disk.
 *
 * QueueNotify either exits to us (ops->notify, served in the vCPU thread)
 * or, with virtio_mmio_ioeventfd(), goes straight to @kick_fd in KVM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/virtio_config.h>

#include "vmm.h"

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_VENDOR		0x4d4d5656	/* "VVMM" */
#define ISR_VRING		1

enum {
	MMIO_MAGIC = 0x000, MMIO_VERSION = 0x004, MMIO_DEVICE_ID = 0x008,
	MMIO_VENDOR_ID = 0x00c, MMIO_DEVICE_FEATURES = 0x010,
	MMIO_DEVICE_FEATURES_SEL = 0x014, MMIO_DRIVER_FEATURES = 0x020,
	MMIO_DRIVER_FEATURES_SEL = 0x024, MMIO_QUEUE_SEL = 0x030,
	MMIO_QUEUE_NUM_MAX = 0x034, MMIO_QUEUE_NUM = 0x038,
	MMIO_QUEUE_READY = 0x044, MMIO_QUEUE_NOTIFY = 0x050,
	MMIO_INTERRUPT_STATUS = 0x060, MMIO_INTERRUPT_ACK = 0x064,
	MMIO_STATUS = 0x070,
	MMIO_QUEUE_DESC_LOW = 0x080, MMIO_QUEUE_DESC_HIGH = 0x084,
	MMIO_QUEUE_DRIVER_LOW = 0x090, MMIO_QUEUE_DRIVER_HIGH = 0x094,
	MMIO_QUEUE_DEVICE_LOW = 0x0a0, MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
	MMIO_CONFIG_GENERATION = 0x0fc, MMIO_CONFIG = 0x100,
};

int virtio_mmio_init(struct virtio_mmio *t, struct vmm *v, uint64_t base,
		     unsigned int gsi, const struct virtio_dev_ops *ops,
		     void *dev, uint64_t features)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	memset(t, 0, sizeof(*t));
	t->vmm = v;
	t->base = base;
	t->gsi = gsi;
	t->ops = ops;
	t->dev = dev;
	t->device_features = features | (1ULL << VIRTIO_F_VERSION_1);
	t->kick_fd = -1;
	t->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->call_fd < 0)
		return -errno;
	/* api.rst 4.75 KVM_IRQFD: a write to the eventfd is an edge on @gsi. */
	irqfd.fd = t->call_fd;
	if (ioctl(v->vm_fd, KVM_IRQFD, &irqfd))
		return -errno;
	return 0;
}

/* api.rst 4.59 KVM_IOEVENTFD: QueueNotify writes signal @kick_fd in KVM. */
int virtio_mmio_ioeventfd(struct virtio_mmio *t)
{
	struct kvm_ioeventfd io = {
		.addr = t->base + MMIO_QUEUE_NOTIFY,
		.len = 4,
	};

	t->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->kick_fd < 0)
		return -errno;
	io.fd = t->kick_fd;
	if (ioctl(t->vmm->vm_fd, KVM_IOEVENTFD, &io))
		return -errno;
	return 0;
}

/* The device used buffers: tell the driver. */
void virtio_mmio_interrupt(struct virtio_mmio *t)
{
	uint64_t one = 1;

	t->isr |= ISR_VRING;
	t->interrupts++;
	if (write(t->call_fd, &one, sizeof(one)) != sizeof(one))
		die("virtio-mmio: signalling the interrupt: %s", strerror(errno));
}

static void reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t);
	t->status = 0;
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->queue_sel = 0;
	memset(&t->vq, 0, sizeof(t->vq));
	t->isr = 0;
	t->active = false;
}

static void set_status(struct virtio_mmio *t, uint32_t val)
{
	if (!val) {
		reset(t);
		return;
	}
	/* A device without VERSION_1 is legacy: we only speak 1.x. */
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !t->active) {
		if (!t->vq.ready || t->ops->activate(t)) {
			val |= VIRTIO_CONFIG_S_NEEDS_RESET;
		} else {
			t->active = true;
		}
	}
	t->status = val;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	bool q0 = t->queue_sel == 0;

	switch (off) {
	case MMIO_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case MMIO_VERSION:
		return 2;
	case MMIO_DEVICE_ID:
		return t->ops->device_id;
	case MMIO_VENDOR_ID:
		return VIRTIO_VENDOR;
	case MMIO_DEVICE_FEATURES:
		return t->device_features_sel > 1 ? 0 :
		       t->device_features >> (32 * t->device_features_sel);
	case MMIO_QUEUE_NUM_MAX:
		return q0 ? t->ops->queue_max : 0;
	case MMIO_QUEUE_READY:
		return q0 && t->vq.ready;
	case MMIO_INTERRUPT_STATUS:
		return t->isr | (t->isr_always && t->active ? ISR_VRING : 0);
	case MMIO_STATUS:
		return t->status;
	case MMIO_CONFIG_GENERATION:
		return 0;
	}
	return 0;
}

static void set_half(uint64_t *gpa, bool high, uint32_t val)
{
	if (high)
		*gpa = (*gpa & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*gpa = (*gpa & ~0xffffffffULL) | val;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtq *q = &t->vq;
	bool q0 = t->queue_sel == 0;

	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		return;
	case MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel < 2 &&
		    !(t->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			set_half(&t->driver_features, t->driver_features_sel,
				 val);
			t->driver_features &= t->device_features;
		}
		return;
	case MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		return;
	case MMIO_QUEUE_SEL:
		t->queue_sel = val;
		return;
	case MMIO_QUEUE_NOTIFY:
		t->notifies++;
		if (val == 0 && t->active && t->ops->notify)
			t->ops->notify(t);
		return;
	case MMIO_INTERRUPT_ACK:
		t->isr &= ~val;
		return;
	case MMIO_STATUS:
		set_status(t, val);
		return;
	}
	/* The queue's registers, while it is not live. */
	if (!q0 || q->ready)
		return;
	switch (off) {
	case MMIO_QUEUE_NUM:
		if (val && val <= t->ops->queue_max && !(val & (val - 1)))
			q->num = val;
		return;
	case MMIO_QUEUE_READY:
		q->ready = val == 1 && q->num;
		return;
	case MMIO_QUEUE_DESC_LOW:
	case MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == MMIO_QUEUE_DESC_HIGH, val);
		return;
	case MMIO_QUEUE_DRIVER_LOW:
	case MMIO_QUEUE_DRIVER_HIGH:
		set_half(&q->avail, off == MMIO_QUEUE_DRIVER_HIGH, val);
		return;
	case MMIO_QUEUE_DEVICE_LOW:
	case MMIO_QUEUE_DEVICE_HIGH:
		set_half(&q->used, off == MMIO_QUEUE_DEVICE_HIGH, val);
		return;
	}
}

/* One MMIO exit in the device's page (little-endian, as x86). */
void virtio_mmio_access(struct virtio_mmio *t, uint64_t off, bool write,
			void *data, unsigned int len)
{
	uint32_t val = 0;

	t->mmio_exits++;
	if (off >= MMIO_CONFIG) {
		if (!write)
			t->ops->config_read(t, off - MMIO_CONFIG, data, len);
		return;		/* virtio-blk's config is read-only to us */
	}
	if (len != 4 || off & 3) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	if (write) {
		memcpy(&val, data, 4);
		reg_write(t, off, val);
	} else {
		val = reg_read(t, off);
		memcpy(data, &val, 4);
	}
}

void virtio_mmio_close(struct virtio_mmio *t)
{
	if (t->kick_fd >= 0)
		close(t->kick_fd);
	if (t->call_fd >= 0)
		close(t->call_fd);
	t->kick_fd = t->call_fd = -1;
}
