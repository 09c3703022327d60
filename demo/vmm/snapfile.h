/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The snapshot file (SNAPSHOT.md): its layout, and the one reader that
 * checks all of it before anything of it is used (snapfile.c). The
 * restore (snapshot.c) and the restore fuzzer (snapfuzz.c) share it; a
 * migration stream will too.
 *
 * A file is untrusted input: snapfile_read() accepts only what a save of
 * this VMM on this host could have written — the header, the region table
 * a boot of this VMM builds, every section present once at its size, and
 * device state that the devices' own register writes can produce — and
 * otherwise says, in one line, what is wrong.
 */
#ifndef VMM_SNAPFILE_H
#define VMM_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define SNAP_MAGIC	"VMMEMSNP"
#define SNAP_VERSION	1
#define SNAP_HDR_PAGE	4096ULL		/* memory starts after this */
#define SNAP_MAX_RAM	2
#define SNAP_STATE_MAX	(16ULL << 20)	/* a save writes tens of KiB */
#define SNAP_CPUID_MAX	256		/* KVM_MAX_CPUID_ENTRIES */
#define SNAP_MSRS_MAX	4096

struct snap_ram {
	uint64_t gpa, size, offset;	/* offset: in the file */
};

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;		/* sizeof(struct snap_header) */
	uint32_t page_size;		/* 4096 */
	uint32_t nram;
	uint64_t state_offset, state_size;
	struct snap_ram ram[SNAP_MAX_RAM];
	uint64_t saved_realtime_ns;
	char disk[512];			/* the disk image copy, or "" */
};

/* State sections: a type, a length, the bytes, padded to 8. */
enum snap_section {
	S_END = 0,
	S_CPUID = 1, S_REGS, S_SREGS, S_XSAVE, S_FPU, S_XCRS, S_MSRS,
	S_LAPIC, S_EVENTS, S_MP_STATE, S_DEBUGREGS,
	S_PIC_MASTER = 20, S_PIC_SLAVE, S_IOAPIC, S_PIT2, S_CLOCK,
	S_SERIAL = 40, S_VIRTIO_MMIO, S_BLK,
	S_MAX
};

struct snap_tlv {
	uint32_t type, len;
};

/* The 8250's registers and the console line being written. */
struct snap_serial {
	uint8_t ier, lcr, mcr, lsr_read, scr, dll, dlm, fcr;
	uint8_t thr_pending, pad[3];
	int32_t line;
	uint32_t len;
	char buf[512];
};

/* The virtio-mmio transport and its one queue. */
struct snap_virtio_mmio {
	uint64_t device_features, driver_features;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t status, queue_sel, isr;
	uint8_t active, vq_ready, pad[2];
	uint32_t vq_num;
	uint64_t vq_desc, vq_avail, vq_used;
};

struct snap_blk {
	uint16_t last_avail, used_idx;
	uint32_t pad;
};

/* What a save on this host, by this VMM, writes. */
struct snap_host {
	bool xsave, xcrs;		/* KVM_CAP_XSAVE, KVM_CAP_XCRS */
	uint64_t blk_features;		/* disk (a)'s DeviceFeatures */
	uint16_t queue_max;		/* disk (a)'s QueueNumMax */
};

/* A file that passed every check: the sections point into @state. */
struct snap_file {
	struct snap_header h;
	char *state;
	const void *sec[S_MAX];		/* NULL: absent */
	uint32_t len[S_MAX];
};

/*
 * Reads and checks the snapshot in @fd (@path for the messages). 0, or -1
 * with the reason in @err ("PATH: ..."); @f is then empty.
 */
int snapfile_read(int fd, const char *path, const struct snap_host *host,
		  struct snap_file *f, char *err, size_t errlen);
void snapfile_free(struct snap_file *f);

#define SNAP_SEC(f, type, T)	((const T *)(f)->sec[type])

#endif /* VMM_SNAPFILE_H */
