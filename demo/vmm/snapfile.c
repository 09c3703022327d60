// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a snapshot file (snapfile.h, SNAPSHOT.md): all of its structure
 * is checked before anything of it is used, so that a restore either
 * refuses the file with one line saying why, or sets up a machine that a
 * save could have left: the same region table a boot builds, the state
 * sections of this VMM once each at their sizes, and devices in a state
 * their registers can reach (virtio_mmio.c's reg_write() and set_status(),
 * serial.c's serial_write()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/virtio_config.h>

#include "vmm.h"
#include "snapfile.h"

_Static_assert(SNAP_MAX_RAM == MAX_RAM, "the region table is the machine's");
_Static_assert(sizeof(struct snap_header) == 608, "SNAPSHOT.md: 608 bytes");

#define RAM_MIN		(16 * MiB)	/* main.c's smallest -m and -l */

static int fail(char *err, size_t len, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, len, "%s: ", path);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(...)	fail(err, errlen, path, __VA_ARGS__)

static int pread_full(int fd, void *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p = (char *)p + n;
		len -= n;
		off += n;
	}
	return 0;
}

/* [off, off + size) of a file of @fsize bytes, past the header page. */
static bool in_file(uint64_t off, uint64_t size, uint64_t fsize)
{
	return off >= SNAP_HDR_PAGE && off <= fsize && size <= fsize - off;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The header and the region table, as a boot of this VMM lays them out. */
static int check_header(const struct snap_header *h, uint64_t fsize,
			const char *path, char *err, size_t errlen)
{
	const struct snap_ram *r = h->ram;
	unsigned int i, j;

	if (memcmp(h->magic, SNAP_MAGIC, 8))
		return FAIL("not a vmmem-vmm snapshot (no \"%s\" magic; an unfinished save has none)",
			    SNAP_MAGIC);
	if (h->version != SNAP_VERSION)
		return FAIL("snapshot format version %u; this vmmem-vmm reads version %u",
			    h->version, SNAP_VERSION);
	if (h->header_size != sizeof(*h) || h->page_size != PAGE_SIZE)
		return FAIL("header of %u bytes with %u-byte pages; expected %zu and %llu",
			    h->header_size, h->page_size, sizeof(*h), PAGE_SIZE);
	if (!h->nram || h->nram > MAX_RAM)
		return FAIL("%u RAM regions (1 to %d)", h->nram, MAX_RAM);
	if (!memchr(h->disk, 0, sizeof(h->disk)))
		return FAIL("the disk name in the header has no end");
	/* main.c and ram_setup(): low RAM at 0, the rest at 4 GiB, in MiB. */
	if (r[0].gpa || r[0].size < RAM_MIN || r[0].size > LOW_RAM_MAX ||
	    r[0].size % MiB)
		return FAIL("RAM region 0 is 0x%" PRIx64 "+0x%" PRIx64 "; a boot makes [0, 16 MiB to 3 GiB), in MiB",
			    r[0].gpa, r[0].size);
	if (h->nram > 1 && (r[1].gpa != HIGH_RAM_GPA || !r[1].size ||
			    r[1].size % MiB || r[1].size > UINT64_MAX / 2))
		return FAIL("RAM region 1 is 0x%" PRIx64 "+0x%" PRIx64 "; a boot makes [4 GiB, ...), in MiB",
			    r[1].gpa, r[1].size);
	for (i = 0; i < h->nram; i++) {
		if (r[i].offset % PAGE_SIZE ||
		    !in_file(r[i].offset, r[i].size, fsize))
			return FAIL("RAM region %u (0x%" PRIx64 "+0x%" PRIx64 " at file offset 0x%" PRIx64 ") is not in the file after its header",
				    i, r[i].gpa, r[i].size, r[i].offset);
		for (j = 0; j < i; j++)
			if (overlap(r[i].offset, r[i].size, r[j].offset,
				    r[j].size))
				return FAIL("RAM regions %u and %u overlap in the file",
					    j, i);
	}
	if (h->state_size < sizeof(struct snap_tlv) ||
	    h->state_size > SNAP_STATE_MAX ||
	    !in_file(h->state_offset, h->state_size, fsize))
		return FAIL("the state sections (0x%" PRIx64 " bytes at 0x%" PRIx64 ") are not in the file",
			    h->state_size, h->state_offset);
	for (i = 0; i < h->nram; i++)
		if (overlap(h->state_offset, h->state_size, r[i].offset,
			    r[i].size))
			return FAIL("the state sections overlap RAM region %u",
				    i);
	return 0;
}

static const char *const sec_name[S_MAX] = {
	[S_CPUID] = "CPUID", [S_REGS] = "REGS", [S_SREGS] = "SREGS",
	[S_XSAVE] = "XSAVE", [S_FPU] = "FPU", [S_XCRS] = "XCRS",
	[S_MSRS] = "MSRS", [S_LAPIC] = "LAPIC", [S_EVENTS] = "EVENTS",
	[S_MP_STATE] = "MP_STATE", [S_DEBUGREGS] = "DEBUGREGS",
	[S_PIC_MASTER] = "PIC_MASTER", [S_PIC_SLAVE] = "PIC_SLAVE",
	[S_IOAPIC] = "IOAPIC", [S_PIT2] = "PIT2", [S_CLOCK] = "CLOCK",
	[S_SERIAL] = "SERIAL", [S_VIRTIO_MMIO] = "VIRTIO_MMIO",
	[S_BLK] = "BLK",
};

/* The fixed size of each section; 0: variable (CPUID, MSRS). */
static const uint32_t sec_size[S_MAX] = {
	[S_REGS] = sizeof(struct kvm_regs),
	[S_SREGS] = sizeof(struct kvm_sregs),
	[S_XSAVE] = sizeof(struct kvm_xsave),
	[S_FPU] = sizeof(struct kvm_fpu),
	[S_XCRS] = sizeof(struct kvm_xcrs),
	[S_LAPIC] = sizeof(struct kvm_lapic_state),
	[S_EVENTS] = sizeof(struct kvm_vcpu_events),
	[S_MP_STATE] = sizeof(struct kvm_mp_state),
	[S_DEBUGREGS] = sizeof(struct kvm_debugregs),
	[S_PIC_MASTER] = sizeof(struct kvm_irqchip),
	[S_PIC_SLAVE] = sizeof(struct kvm_irqchip),
	[S_IOAPIC] = sizeof(struct kvm_irqchip),
	[S_PIT2] = sizeof(struct kvm_pit_state2),
	[S_CLOCK] = sizeof(struct kvm_clock_data),
	[S_SERIAL] = sizeof(struct snap_serial),
	[S_VIRTIO_MMIO] = sizeof(struct snap_virtio_mmio),
	[S_BLK] = sizeof(struct snap_blk),
};

/* Every section once, known, at its size, up to S_END. */
static int split_sections(struct snap_file *f, const char *path, char *err,
			  size_t errlen)
{
	size_t off = 0, len = f->h.state_size;

	for (;;) {
		struct snap_tlv t;
		size_t room;

		if (len - off < sizeof(t))
			return FAIL("the state sections have no end");
		memcpy(&t, f->state + off, sizeof(t));
		off += sizeof(t);
		if (t.type == S_END)
			return t.len ? FAIL("the end section has %u bytes",
					    t.len) : 0;
		if (t.type >= S_MAX || !sec_name[t.type])
			return FAIL("unknown state section %u", t.type);
		if (f->sec[t.type])
			return FAIL("section %s twice", sec_name[t.type]);
		room = len - off;
		if (t.len > room || ((t.len + 7) & ~7UL) > room)
			return FAIL("section %s (%u bytes) runs past the state",
				    sec_name[t.type], t.len);
		if (sec_size[t.type] && t.len != sec_size[t.type])
			return FAIL("section %s is %u bytes; this vmmem-vmm expects %u",
				    sec_name[t.type], t.len,
				    sec_size[t.type]);
		f->sec[t.type] = f->state + off;
		f->len[t.type] = t.len;
		off += (t.len + 7) & ~7UL;
	}
}

/* The variable sections: a count, then exactly that many entries. */
static int check_vcpu(const struct snap_file *f, const struct snap_host *host,
		      const char *path, char *err, size_t errlen)
{
	const struct kvm_cpuid2 *c = SNAP_SEC(f, S_CPUID, struct kvm_cpuid2);
	const struct kvm_msrs *m = SNAP_SEC(f, S_MSRS, struct kvm_msrs);
	static const int need[] = {
		S_CPUID, S_REGS, S_SREGS, S_MSRS, S_LAPIC, S_EVENTS,
		S_MP_STATE, S_DEBUGREGS, S_PIC_MASTER, S_PIC_SLAVE, S_IOAPIC,
		S_PIT2, S_CLOCK, S_SERIAL,
	};
	const struct kvm_irqchip *chip;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(need); i++)
		if (!f->sec[need[i]])
			return FAIL("no section %s", sec_name[need[i]]);
	if (f->len[S_CPUID] < sizeof(*c) || !c->nent ||
	    c->nent > SNAP_CPUID_MAX ||
	    f->len[S_CPUID] != sizeof(*c) + c->nent * sizeof(c->entries[0]))
		return FAIL("section CPUID: %u bytes for %u entries (1 to %d)",
			    f->len[S_CPUID],
			    f->len[S_CPUID] < sizeof(*c) ? 0 : c->nent,
			    SNAP_CPUID_MAX);
	if (f->len[S_MSRS] < sizeof(*m) || !m->nmsrs ||
	    m->nmsrs > SNAP_MSRS_MAX ||
	    f->len[S_MSRS] != sizeof(*m) + m->nmsrs * sizeof(m->entries[0]))
		return FAIL("section MSRS: %u bytes for %u MSRs (1 to %d)",
			    f->len[S_MSRS],
			    f->len[S_MSRS] < sizeof(*m) ? 0 : m->nmsrs,
			    SNAP_MSRS_MAX);
	/* The FPU as a save on this host writes it. */
	if (!f->sec[S_XSAVE] == !f->sec[S_FPU])
		return FAIL("sections XSAVE and FPU: %s", f->sec[S_XSAVE] ?
			    "both" : "neither");
	if (f->sec[S_XSAVE] && !host->xsave)
		return FAIL("section XSAVE, and this host has no KVM_CAP_XSAVE");
	if (!f->sec[S_XCRS] != !host->xcrs)
		return FAIL(host->xcrs ?
			    "no section XCRS (the guest's XCR0), and this host has KVM_CAP_XCRS" :
			    "section XCRS, and this host has no KVM_CAP_XCRS");
	for (i = 0; i < 3; i++) {
		chip = f->sec[S_PIC_MASTER + i];
		if (chip->chip_id != i)
			return FAIL("section %s is chip %u",
				    sec_name[S_PIC_MASTER + i], chip->chip_id);
	}
	return 0;
}

/* The 8250's registers, as serial_write() leaves them. */
static int check_serial(const struct snap_serial *s, const char *path,
			char *err, size_t errlen)
{
	if (s->ier & ~0x0f || s->fcr & ~0xc9 || s->mcr & ~0x1f ||
	    s->thr_pending > 1 || (s->line != 0 && s->line != 1) ||
	    s->len >= sizeof(s->buf))
		return FAIL("section SERIAL: registers no 8250 write gives (IER 0x%x, FCR 0x%x, MCR 0x%x, THRE %u, line %d, %u bytes)",
			    s->ier, s->fcr, s->mcr, s->thr_pending, s->line,
			    s->len);
	return 0;
}

/*
 * The virtio-mmio transport and disk (a)'s queue, as the guest's register
 * writes can leave them (virtio_mmio.c): a queue size of 0 or a power of
 * two up to QueueNumMax, ready only with a size, active only when ready
 * with DRIVER_OK, DRIVER_OK without activation only with NEEDS_RESET,
 * FEATURES_OK only with VERSION_1, no feature the device does not offer;
 * and no request in flight (served whole in the vCPU thread).
 */
static int check_disk(const struct snap_file *f, const struct snap_host *host,
		      const char *path, char *err, size_t errlen)
{
	const struct snap_virtio_mmio *m =
		SNAP_SEC(f, S_VIRTIO_MMIO, struct snap_virtio_mmio);
	const struct snap_blk *b = SNAP_SEC(f, S_BLK, struct snap_blk);
	const uint32_t known = VIRTIO_CONFIG_S_ACKNOWLEDGE |
		VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET |
		VIRTIO_CONFIG_S_FAILED;
	uint64_t offered = host->blk_features | 1ULL << VIRTIO_F_VERSION_1;

	if (!m != !b)
		return FAIL("section %s without %s", m ? "VIRTIO_MMIO" : "BLK",
			    m ? "BLK" : "VIRTIO_MMIO");
	if (!m)
		return 0;
	if (m->device_features != offered)
		return FAIL("section VIRTIO_MMIO: device features 0x%" PRIx64 "; disk (a) offers 0x%" PRIx64,
			    m->device_features, offered);
	if (m->driver_features & ~offered)
		return FAIL("section VIRTIO_MMIO: driver features 0x%" PRIx64 " beyond the device's 0x%" PRIx64,
			    m->driver_features, offered);
	if (m->status & ~known ||
	    ((m->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	     !(m->driver_features & 1ULL << VIRTIO_F_VERSION_1)))
		return FAIL("section VIRTIO_MMIO: status 0x%x with driver features 0x%" PRIx64,
			    m->status, m->driver_features);
	if (m->isr & ~1U || m->active > 1 || m->vq_ready > 1)
		return FAIL("section VIRTIO_MMIO: interrupt status 0x%x, active %u, queue ready %u",
			    m->isr, m->active, m->vq_ready);
	if ((m->vq_num && (m->vq_num > host->queue_max ||
			   m->vq_num & (m->vq_num - 1))) ||
	    (m->vq_ready && !m->vq_num))
		return FAIL("section VIRTIO_MMIO: queue size %u%s (0, or a power of 2 up to %u)",
			    m->vq_num, m->vq_ready ? ", ready" : "",
			    host->queue_max);
	if (m->active && (!m->vq_ready ||
			  !(m->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
			  (m->status & VIRTIO_CONFIG_S_NEEDS_RESET)))
		return FAIL("section VIRTIO_MMIO: active with status 0x%x, queue ready %u",
			    m->status, m->vq_ready);
	if (!m->active && (m->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(m->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return FAIL("section VIRTIO_MMIO: DRIVER_OK, not active, not NEEDS_RESET");
	if (b->last_avail != b->used_idx)
		return FAIL("section BLK: %u requests taken, %u used: none is in flight at a save",
			    b->last_avail, b->used_idx);
	return 0;
}

int snapfile_read(int fd, const char *path, const struct snap_host *host,
		  struct snap_file *f, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	memset(f, 0, sizeof(*f));
	if (fstat(fd, &st))
		return FAIL("%s", strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < SNAP_HDR_PAGE)
		return FAIL("not a vmmem-vmm snapshot (%s of %lld bytes)",
			    S_ISREG(st.st_mode) ? "a file" : "not a file",
			    (long long)st.st_size);
	ret = pread_full(fd, &f->h, sizeof(f->h), 0);
	if (ret)
		return FAIL("reading the header: %s", strerror(-ret));
	if (check_header(&f->h, st.st_size, path, err, errlen))
		return -1;
	f->state = malloc(f->h.state_size);
	if (!f->state)
		return FAIL("out of memory for %" PRIu64 " bytes of state",
			    f->h.state_size);
	ret = pread_full(fd, f->state, f->h.state_size, f->h.state_offset);
	if (ret)
		ret = FAIL("reading the state: %s", strerror(-ret));
	if (!ret)
		ret = split_sections(f, path, err, errlen);
	if (!ret)
		ret = check_vcpu(f, host, path, err, errlen);
	if (!ret)
		ret = check_serial(f->sec[S_SERIAL], path, err, errlen);
	if (!ret)
		ret = check_disk(f, host, path, err, errlen);
	if (ret)
		snapfile_free(f);
	return ret;
}

void snapfile_free(struct snap_file *f)
{
	free(f->state);
	memset(f, 0, sizeof(*f));
}
