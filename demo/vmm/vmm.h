/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmmem-vmm - a small KVM VMM whose guest memory is /dev/vmmem.
 *
 * One file per concern:
 *   main.c        options, set-up order, the vCPU loop, the exit report
 *   memory.c      guest RAM: vmmem regions, KVM memslots, the e820 map
 *   cpu.c         the KVM VM and its vCPU: irqchip, PIT, CPUID, LAPIC
 *   boot.c        the Linux x86 boot protocol: bzImage, initrd, zero page
 *   acpi.c        ACPI tables (the machine's description) and PM1 (power off)
 *   serial.c      the 8250 UART on 0x3f8 (the console)
 *   legacy.c      CMOS clock and i8042 reset stubs
 *   virtio_mmio.c the virtio-mmio transport of the disk
 *   virtio_blk.c  disk (a): virtio-blk served here, through libvmmem
 *   vhost_user.c  disk (b): virtio-blk served by qemu-storage-daemon
 *   snapshot.c    live snapshot (pre-copy with vmmem's dirty log) and
 *                 restore in a new process (snapshot.h, SNAPSHOT.md)
 *
 * The guest-physical map is a PC's, scaled down:
 *
 *   0x00000000   low RAM (vmmem region 1): zero page, command line, GDT,
 *                ACPI tables at 0xe0000, the kernel at 1 MiB, the initrd
 *                at its top
 *   low end      the 32-bit hole: the virtio-mmio disk at 0xd0000000, the
 *                IOAPIC at 0xfec00000 and the LAPIC at 0xfee00000 (both
 *                in KVM)
 *   4 GiB        high RAM (vmmem region 2), if there is more RAM than fits
 *                below the hole
 */
#ifndef VMM_H
#define VMM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <asm/bootparam.h>
#include <linux/kvm.h>

#include "vmmem.h"

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define PAGE_SIZE	4096ULL

/* The guest-physical map. */
#define LOW_RAM_MAX	(3 * GiB)	/* the hole starts here at the latest */
#define HIGH_RAM_GPA	(4 * GiB)
#define BOOT_GDT_GPA	0x1000ULL	/* boot.c */
#define ZERO_PAGE_GPA	0x7000ULL	/* struct boot_params */
#define CMDLINE_GPA	0x20000ULL
#define EBDA_GPA	0x9fc00ULL	/* e820: reserved from here to 1 MiB */
#define ACPI_GPA	0xe0000ULL	/* where Linux scans for the RSDP */
#define KERNEL_GPA	0x100000ULL	/* the protected-mode kernel */
#define VIRTIO_MMIO_GPA	0xd0000000ULL
#define VIRTIO_MMIO_LEN	0x1000ULL
#define KVM_TSS_GPA	0xfffbd000ULL	/* 3 pages KVM may use (Intel) */

/* Interrupts: ISA lines of the in-kernel PIC and IOAPIC. */
#define SERIAL_GSI	4
#define VIRTIO_GSI	5
#define ACPI_SCI_GSI	9

/* Port I/O. */
#define SERIAL_PORT	0x3f8
#define ACPI_PM1_PORT	0x600	/* PM1a_EVT_BLK (4 bytes), PM1a_CNT_BLK */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Why the guest stopped. */
enum vmm_exit {
	VMM_RUNNING,
	VMM_POWEROFF,		/* ACPI S5: PM1a_CNT.SLP_EN */
	VMM_RESET,		/* i8042 pulse of the reset line */
	VMM_SHUTDOWN,		/* KVM_EXIT_SHUTDOWN: a triple fault */
	VMM_TIMEOUT,		/* --timeout */
	VMM_SIGNAL,		/* SIGINT, SIGTERM */
	VMM_ERROR,		/* an exit we cannot handle, or a failed call */
	VMM_SAVED,		/* --save: the snapshot is written (snapshot.c) */
};

enum ram_backing {
	RAM_KERNEL,		/* module-allocated pages */
	RAM_MEMFD,		/* a memfd of ours, pinned */
	RAM_ANON,		/* anonymous memory of ours, pinned */
};

/* One range of guest RAM: a vmmem region and a KVM memslot. */
struct ram {
	uint64_t gpa;
	uint64_t size;
	void *host;		/* this process's view: the memslot's */
	int fd;			/* what another process maps: /dev/vmmem or
				 * our memfd; -1 for anonymous memory */
	uint64_t fd_offset;	/* where the region starts in @fd */
};

#define MAX_RAM		2

/* A split virtqueue as the driver set it up (virtio 1.2, 2.7). */
struct virtq {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;	/* GPAs */
};

struct virtio_mmio;

/* The device behind a virtio-mmio transport. */
struct virtio_dev_ops {
	uint32_t device_id;
	uint16_t queue_max;
	/* Read config space; bytes past the device's config read as 0. */
	void (*config_read)(struct virtio_mmio *t, uint32_t off, void *buf,
			    uint32_t len);
	/* DRIVER_OK: the queue and the features are set. 0 or -errno. */
	int (*activate)(struct virtio_mmio *t);
	/* The driver reset the device (status 0). */
	void (*reset)(struct virtio_mmio *t);
	/* QueueNotify, if no ioeventfd takes it: serve the queue now. */
	void (*notify)(struct virtio_mmio *t);
};

/* virtio_mmio.c */
struct virtio_mmio {
	struct vmm *vmm;
	uint64_t base;
	unsigned int gsi;
	const struct virtio_dev_ops *ops;
	void *dev;			/* the device's own state */
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t status;
	uint32_t queue_sel;
	struct virtq vq;		/* one queue: queue 0 */
	uint32_t isr;			/* InterruptStatus */
	bool isr_always;		/* the backend signals us unseen: see
					 * virtio_mmio.c */
	bool active;			/* DRIVER_OK and not reset since */
	int kick_fd;			/* KVM_IOEVENTFD on QueueNotify, or -1 */
	int call_fd;			/* KVM_IRQFD on @gsi */
	unsigned long mmio_exits, notifies, interrupts;
};

int virtio_mmio_init(struct virtio_mmio *t, struct vmm *v, uint64_t base,
		     unsigned int gsi, const struct virtio_dev_ops *ops,
		     void *dev, uint64_t features);
void virtio_mmio_access(struct virtio_mmio *t, uint64_t off, bool write,
			void *data, unsigned int len);
void virtio_mmio_interrupt(struct virtio_mmio *t);
int virtio_mmio_ioeventfd(struct virtio_mmio *t);
void virtio_mmio_close(struct virtio_mmio *t);

/* serial.c */
struct serial {
	uint8_t ier, lcr, mcr, lsr_read, scr, dll, dlm, fcr;
	bool thr_pending;		/* THRE interrupt raised, not taken */
	int line;			/* the level we last gave KVM */
	char buf[512];			/* the console line being written */
	size_t len;
	const char *prefix;		/* put before every console line */
	const char *mark;		/* note when a line contains this */
	double mark_at;			/* seconds after the first KVM_RUN */
	const char *save_at;		/* --save-at: snapshot_trigger() */
	unsigned long exits, bytes;
};

void serial_io(struct vmm *v, uint16_t off, bool write, uint8_t *val);
void serial_flush(struct vmm *v);

/* virtio_blk.c and vhost_user.c: the disk. */
struct blk;
struct vhost_blk;

/* The whole machine. */
struct vmm {
	struct vmmem *vm;		/* guest memory */
	enum ram_backing backing;
	bool prefault;			/* --prefault: populate RAM at set-up */
	struct ram ram[MAX_RAM];
	unsigned int nram;

	int kvm, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;

	struct serial serial;
	struct virtio_mmio disk;	/* when there is a disk */
	bool has_disk;
	struct blk *blk;		/* disk (a) */
	struct vhost_blk *vhost;	/* disk (b) */
	struct snapshot *snap;		/* --save (snapshot.c) */

	uint8_t cmos_index;
	uint16_t pm1_enable;

	volatile sig_atomic_t stop;	/* an enum vmm_exit from a signal */
	enum vmm_exit exit;
	char exit_detail[160];
	double t_start;			/* first KVM_RUN, CLOCK_MONOTONIC */

	/* Exits to this process, by what the guest touched. */
	unsigned long exits, exits_io, exits_mmio, exits_other;
	unsigned long io_cmos, io_i8042, io_acpi, io_other, mmio_other;
	unsigned long irq_lines;	/* KVM_IRQ_LINE calls */
	unsigned long loader_calls;	/* libvmmem calls of the loader */
	uint64_t loader_bytes;
};

/* main.c */
double now_sec(void);
void vmm_stop(struct vmm *v, enum vmm_exit why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);

/* memory.c */
void ram_setup(struct vmm *v, uint64_t size, uint64_t low_max);
void ram_add_memslots(struct vmm *v);
void ram_print(struct vmm *v);
void ram_remap(struct vmm *v);
unsigned int ram_e820(struct vmm *v, struct boot_e820_entry *e,
		      unsigned int max);
uint64_t ram_low_end(struct vmm *v);
void ram_close(struct vmm *v);

/* cpu.c */
void kvm_create_vm(struct vmm *v);
void kvm_create_vcpu(struct vmm *v);
void kvm_irq_line(struct vmm *v, unsigned int gsi, int level);
void kvm_close(struct vmm *v);

/* boot.c */
void boot_linux(struct vmm *v, const char *kernel, const char *initrd,
		const char *cmdline, uint64_t rsdp);

/* acpi.c */
uint64_t acpi_build(struct vmm *v);
void acpi_pm_io(struct vmm *v, uint16_t off, bool write, void *data,
		unsigned int len);

/* legacy.c */
void cmos_io(struct vmm *v, uint16_t port, bool write, uint8_t *val);
void i8042_io(struct vmm *v, uint16_t port, bool write, uint8_t *val);

/* virtio_blk.c: disk (a), served by this process. */
#define BLK_QUEUE_MAX	128		/* QueueNumMax */
#define BLK_FEATURES	((1ULL << 2) | (1ULL << 9))	/* SEG_MAX, FLUSH */
int blk_create(struct vmm *v, const char *path, bool pread_path,
	       bool regular_only);
void blk_report(struct vmm *v);
void blk_close(struct vmm *v);
/* snapshot.c: the image and the queue's indices of disk (a). */
int blk_image_fd(struct vmm *v);
void blk_get_indices(struct vmm *v, uint16_t *last_avail, uint16_t *used_idx);
void blk_set_indices(struct vmm *v, uint16_t last_avail, uint16_t used_idx);

/* vhost_user.c: disk (b), served by qemu-storage-daemon. */
int vhost_blk_create(struct vmm *v, const char *path, const char *qsd);
void vhost_blk_report(struct vmm *v);
void vhost_blk_close(struct vmm *v);

#endif /* VMM_H */
