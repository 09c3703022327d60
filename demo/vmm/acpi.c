// SPDX-License-Identifier: GPL-2.0
/*
 * The machine's description, in ACPI tables at 0xe0000 (ACPI 6.4 spec,
 * chapter 5), and its power-off register.
 *
 *   RSDP  where Linux starts (boot_params.acpi_rsdp_addr, and the BIOS
 *         area it scans) -> XSDT -> FADT, MADT
 *   FADT  PM1a event and control blocks at ACPI_PM1_PORT, SCI on GSI 9,
 *         no i8042, no CMOS RTC, no VGA -> FACS, DSDT
 *   MADT  one LAPIC, the IOAPIC at 0xfec00000 (both in KVM), IRQ 0 on
 *         GSI 2 as KVM wires the PIT: interrupts go through the IOAPIC
 *   DSDT  \_S5 (so the guest can power off) and, with a disk, the
 *         virtio-mmio device: _HID "LNRO0005", its registers and its
 *         interrupt. Debian's kernels lack VIRTIO_MMIO_CMDLINE_DEVICES, so
 *         virtio_mmio.device= on the command line would not work: this is
 *         how the virtio_mmio driver finds the disk (as on Firecracker).
 *
 * The DSDT's AML is written by hand below; it is a few named objects.
 * Power off is an S5 write to PM1a_CNT: SLP_TYP 5 with SLP_EN.
 */
#define _GNU_SOURCE
#include <string.h>

#include "vmm.h"

#define RSDP_GPA	ACPI_GPA
#define TABLES_SIZE	4096
#define OEM_ID		"VMMEM "
#define OEM_TABLE_ID	"VMMEMVMM"

#define PM1_EVT_LEN	4	/* PM1a_STS, PM1a_EN */
#define PM1_CNT_PORT	(ACPI_PM1_PORT + PM1_EVT_LEN)
#define PM1_CNT_LEN	2
#define PM1_SLP_EN	(1U << 13)
#define SLP_TYP_S5	5

struct acpi_buf {
	uint8_t b[TABLES_SIZE];
	size_t len;
};

static void put(uint8_t *p, uint64_t val, int bytes)
{
	while (bytes--) {
		*p++ = val;
		val >>= 8;
	}
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

/* Room for a table of @len bytes, aligned to @align; returns its offset. */
static size_t alloc(struct acpi_buf *t, size_t len, size_t align)
{
	size_t off = (t->len + align - 1) & ~(align - 1);

	if (off + len > sizeof(t->b))
		die("ACPI tables do not fit in %d bytes", TABLES_SIZE);
	t->len = off + len;
	return off;
}

/* The common header (5.2.6), checksummed once the body is in. */
static void header(struct acpi_buf *t, size_t off, const char *sig,
		   uint32_t len, uint8_t rev)
{
	uint8_t *h = t->b + off;

	memcpy(h, sig, 4);
	put(h + 4, len, 4);
	h[8] = rev;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	put(h + 24, 1, 4);		/* OEM revision */
	memcpy(h + 28, "VMMV", 4);	/* creator */
	put(h + 32, 1, 4);
	h[9] = checksum(h, len);
}

/* --- AML (chapter 20) ---------------------------------------------------- */

struct aml {
	uint8_t b[512];
	size_t len;
};

static void aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (a->len + len > sizeof(a->b))
		die("DSDT too big");
	memcpy(a->b + a->len, p, len);
	a->len += len;
}

static void aml_byte(struct aml *a, uint8_t c)
{
	aml_bytes(a, &c, 1);
}

/* @op (1 or 2 bytes), PkgLength, @body: Scope, Device, Package, Buffer. */
static void aml_pkg(struct aml *a, const uint8_t *op, size_t oplen,
		    const struct aml *body)
{
	size_t len = body->len + 1;

	aml_bytes(a, op, oplen);
	if (len <= 63) {
		aml_byte(a, len);
	} else {
		/* Two bytes: bits 7-6 say one more byte, 3-0 the low nibble. */
		len++;
		aml_byte(a, 0x40 | (len & 0xf));
		aml_byte(a, len >> 4);
	}
	aml_bytes(a, body->b, body->len);
}

/* Name(@name, ...): the caller appends the value. */
static void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, 0x08);			/* NameOp */
	aml_bytes(a, name, 4);
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);			/* StringPrefix */
	aml_bytes(a, s, strlen(s) + 1);
}

/* Name(_S5, Package() { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb. */
static void aml_s5(struct aml *a)
{
	static const uint8_t op = 0x12;	/* PackageOp */
	static const uint8_t body[] = {
		4, 0x0a, SLP_TYP_S5, 0x0a, SLP_TYP_S5, 0x00, 0x00,
	};
	struct aml pkg = { .len = 0 };

	aml_bytes(&pkg, body, sizeof(body));
	aml_name(a, "_S5_");
	aml_pkg(a, &op, 1, &pkg);
}

/*
 * Device(VR00) { Name(_HID, "LNRO0005"); Name(_UID, 0);
 *   Name(_CRS, ResourceTemplate() {
 *     Memory32Fixed(ReadWrite, base, len)
 *     Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } }) }
 * The interrupt is an edge: KVM_IRQFD pulses the line.
 */
static void aml_virtio_mmio(struct aml *a, uint64_t base, uint32_t gsi)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	static const uint8_t buffer_op = 0x11;
	uint8_t crs[23] = {
		0x86, 9, 0, 1,		/* Memory32Fixed, read-write */
		[12] = 0x89, 6, 0, 0x03, 1, /* Extended Interrupt: consumer,
					     * edge, high, exclusive; one */
		[21] = 0x79, 0,		/* End Tag */
	};
	struct aml dev = { .len = 0 }, buf = { .len = 0 };

	put(crs + 4, base, 4);
	put(crs + 8, VIRTIO_MMIO_LEN, 4);
	put(crs + 17, gsi, 4);
	aml_byte(&buf, 0x0a);			/* BufferSize: BytePrefix */
	aml_byte(&buf, sizeof(crs));
	aml_bytes(&buf, crs, sizeof(crs));

	aml_bytes(&dev, "VR00", 4);
	aml_name(&dev, "_HID");
	aml_string(&dev, "LNRO0005");
	aml_name(&dev, "_UID");
	aml_byte(&dev, 0x00);			/* ZeroOp */
	aml_name(&dev, "_CRS");
	aml_pkg(&dev, &buffer_op, 1, &buf);
	aml_pkg(a, device_op, 2, &dev);
}

static size_t build_dsdt(struct vmm *v, struct acpi_buf *t)
{
	static const uint8_t scope_op = 0x10;
	struct aml aml = { .len = 0 }, sb = { .len = 0 };
	size_t off;

	aml_s5(&aml);
	if (v->has_disk) {
		aml_bytes(&sb, "\\_SB_", 5);
		aml_virtio_mmio(&sb, VIRTIO_MMIO_GPA, VIRTIO_GSI);
		aml_pkg(&aml, &scope_op, 1, &sb);
	}
	off = alloc(t, 36 + aml.len, 8);
	memcpy(t->b + off + 36, aml.b, aml.len);
	header(t, off, "DSDT", 36 + aml.len, 2);
	return off;
}

/* FACS (5.2.10): required outside hardware-reduced mode; all zero. */
static size_t build_facs(struct acpi_buf *t)
{
	size_t off = alloc(t, 64, 64);

	memcpy(t->b + off, "FACS", 4);
	put(t->b + off + 4, 64, 4);
	t->b[off + 32] = 2;			/* version */
	return off;
}

/* FADT (5.2.9), revision 6: 276 bytes; offsets as in the spec's table. */
static size_t build_fadt(struct acpi_buf *t, size_t dsdt, size_t facs)
{
	size_t off = alloc(t, 276, 8);
	uint8_t *f = t->b + off;

	put(f + 36, ACPI_GPA + facs, 4);	/* FIRMWARE_CTRL */
	put(f + 40, ACPI_GPA + dsdt, 4);	/* DSDT */
	put(f + 46, ACPI_SCI_GSI, 2);		/* SCI_INT */
	/* SMI_CMD 0: already in ACPI mode. */
	put(f + 56, ACPI_PM1_PORT, 4);		/* PM1a_EVT_BLK */
	put(f + 64, PM1_CNT_PORT, 4);		/* PM1a_CNT_BLK */
	f[88] = PM1_EVT_LEN;
	f[89] = PM1_CNT_LEN;
	/* IAPC_BOOT_ARCH: VGA not present (bit 2), no MSI (3), no CMOS RTC
	 * (5); no LEGACY_DEVICES (0) and no 8042 (1). */
	put(f + 109, (1 << 2) | (1 << 3) | (1 << 5), 2);
	/* Flags: WBINVD (0), PROC_C1 (2), PWR_BUTTON (4) and SLP_BUTTON (5)
	 * as control-method (none), RESET_REG_SUP not set. */
	put(f + 112, (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5), 4);
	f[131] = 4;				/* FADT minor version */
	put(f + 132, ACPI_GPA + facs, 8);	/* X_FIRMWARE_CTRL */
	put(f + 140, ACPI_GPA + dsdt, 8);	/* X_DSDT */
	header(t, off, "FACP", 276, 6);
	return off;
}

/* MADT (5.2.12). */
static size_t build_madt(struct acpi_buf *t)
{
	static const uint8_t entries[] = {
		0, 8, 0, 0, 1, 0, 0, 0,		/* LAPIC: uid 0, id 0, enabled */
		1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0,
						/* IOAPIC 0 at 0xfec00000, GSI 0 */
		2, 10, 0, 0, 2, 0, 0, 0, 0, 0,	/* ISA IRQ 0 -> GSI 2 */
		2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0,
						/* SCI: IRQ 9, level, high */
		4, 6, 0xff, 0, 0, 1,		/* LINT1 is the NMI */
	};
	size_t len = 44 + sizeof(entries), off = alloc(t, len, 8);
	uint8_t *m = t->b + off;

	put(m + 36, 0xfee00000, 4);		/* LAPIC address */
	put(m + 40, 1, 4);			/* PCAT_COMPAT: there are 8259s */
	memcpy(m + 44, entries, sizeof(entries));
	header(t, off, "APIC", len, 5);
	return off;
}

static size_t build_xsdt(struct acpi_buf *t, size_t fadt, size_t madt)
{
	size_t off = alloc(t, 36 + 16, 8);

	put(t->b + off + 36, ACPI_GPA + fadt, 8);
	put(t->b + off + 44, ACPI_GPA + madt, 8);
	header(t, off, "XSDT", 52, 1);
	return off;
}

/* RSDP (5.2.5), revision 2: 20 bytes under one checksum, 36 under another. */
static void build_rsdp(struct acpi_buf *t, size_t rsdp, size_t xsdt)
{
	uint8_t *r = t->b + rsdp;

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;
	put(r + 20, 36, 4);
	put(r + 24, ACPI_GPA + xsdt, 8);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
}

/* Writes the tables (through libvmmem) and returns the RSDP's GPA. */
uint64_t acpi_build(struct vmm *v)
{
	static struct acpi_buf t;
	size_t rsdp, dsdt, facs, fadt, madt, xsdt;
	int ret;

	t.len = 0;
	rsdp = alloc(&t, 36, 16);
	dsdt = build_dsdt(v, &t);
	facs = build_facs(&t);
	fadt = build_fadt(&t, dsdt, facs);
	madt = build_madt(&t);
	xsdt = build_xsdt(&t, fadt, madt);
	build_rsdp(&t, rsdp, xsdt);
	ret = vmmem_write_exact(v->vm, ACPI_GPA, t.b, t.len, NULL);
	if (ret)
		die("writing the ACPI tables: %s", strerror(-ret));
	v->loader_calls++;
	v->loader_bytes += t.len;
	return ACPI_GPA + rsdp;
}

/*
 * PM1a: status and enable read back as written (nothing ever raises an
 * event); the control block's SLP_EN with SLP_TYP 5 is the power off.
 */
void acpi_pm_io(struct vmm *v, uint16_t off, bool write, void *data,
		unsigned int len)
{
	uint32_t val = 0;

	v->io_acpi++;
	if (!write) {
		if (off == 2)
			val = v->pm1_enable;
		memcpy(data, &val, len > 4 ? 4 : len);
		return;
	}
	memcpy(&val, data, len > 4 ? 4 : len);
	if (off == 2 && len == 2)
		v->pm1_enable = val;
	if (off == PM1_EVT_LEN && (val & PM1_SLP_EN) &&
	    ((val >> 10) & 7) == SLP_TYP_S5)
		vmm_stop(v, VMM_POWEROFF, "the guest powered off (ACPI S5)");
}
