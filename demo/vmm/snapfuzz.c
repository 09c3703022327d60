// SPDX-License-Identifier: GPL-2.0
/*
 * snapfuzz: the restore path's reader (snapfile.c) against hostile files.
 *
 *   snapfuzz fuzz [--seconds S] [--runs N] [--seed X]
 *       Builds a valid snapshot (a sparse file: header, RAM holes, state
 *       sections as a save on this host writes them), then mutates copies
 *       of it — header fields, section headers and lengths, device
 *       registers, bytes anywhere in the state, truncations, dropped and
 *       repeated sections — and reads each with snapfile_read(). Each must
 *       be refused with a message naming the file, or accepted with device
 *       state the devices can hold; never a crash (build it with ASan and
 *       UBSan: make -C demo fuzz-restore), never a hang (an alarm per
 *       input). Prints the inputs tried, accepted and refused.
 *
 *   snapfuzz edit IN OUT EDIT...
 *       A copy of snapshot IN with its state sections rewritten: OUT has
 *       IN's header and state, its RAM as holes (a sparse file of IN's
 *       size), so that vmmem-vmm's refusals can be tested on files as
 *       crafted as an attacker's (demo/vmm/snapshot-test.sh). EDITs:
 *         hdr.FIELD=N       nram, state_offset, state_size, ram0.offset,
 *                           ram1.offset, ram0.size, ram1.size
 *         hdr.disk=PATH     the disk name in the header
 *         mmio.FIELD=N      vq_num, vq_ready, active, status, isr,
 *                           driver_features
 *         blk.FIELD=N       last_avail, used_idx
 *         cpuid.nent=0      the CPUID section with no entries
 *         drop=SECTION      leave a section out (CPUID, XCRS, ...)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/virtio_config.h>

#include "vmm.h"
#include "snapfile.h"

/* vmm.h's, for the linker: snapfile.c calls neither. */
void die(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static void fatal(const char *what)
{
	fprintf(stderr, "snapfuzz: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* --- state sections ------------------------------------------------------ */

struct state {
	char *p;
	size_t len, cap;
};

static void put(struct state *st, uint32_t type, const void *data, size_t len)
{
	struct snap_tlv t = { .type = type, .len = len };
	size_t need = sizeof(t) + ((len + 7) & ~7UL);

	if (st->len + need > st->cap) {
		st->cap = (st->len + need) * 2;
		st->p = realloc(st->p, st->cap);
		if (!st->p)
			fatal("realloc");
	}
	memcpy(st->p + st->len, &t, sizeof(t));
	if (len)
		memcpy(st->p + st->len + sizeof(t), data, len);
	memset(st->p + st->len + sizeof(t) + len, 0, need - sizeof(t) - len);
	st->len += need;
}

static const struct snap_host host = {
	.xsave = true, .xcrs = true,
	.blk_features = BLK_FEATURES, .queue_max = BLK_QUEUE_MAX,
};

/* What a save writes: every section, at its size, device state valid. */
static void valid_state(struct state *st)
{
	static char zero[8192];
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[2];
	} cpuid = { .c.nent = 2 };
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[3];
	} msrs = { .m.nmsrs = 3 };
	struct kvm_irqchip chip = { 0 };
	struct snap_serial ser = { .ier = 2, .lcr = 3, .mcr = 0xb,
				   .len = 5, .buf = "hello" };
	struct snap_virtio_mmio mmio = {
		.device_features = BLK_FEATURES | 1ULL << VIRTIO_F_VERSION_1,
		.driver_features = BLK_FEATURES | 1ULL << VIRTIO_F_VERSION_1,
		.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
		.active = 1, .vq_ready = 1, .vq_num = 128,
		.vq_desc = 0x10000, .vq_avail = 0x10800, .vq_used = 0x11000,
	};
	struct snap_blk blk = { .last_avail = 7, .used_idx = 7 };
	unsigned int i;

	st->len = 0;
	put(st, S_CPUID, &cpuid, sizeof(cpuid));
	put(st, S_REGS, zero, sizeof(struct kvm_regs));
	put(st, S_SREGS, zero, sizeof(struct kvm_sregs));
	put(st, S_XSAVE, zero, sizeof(struct kvm_xsave));
	put(st, S_XCRS, zero, sizeof(struct kvm_xcrs));
	put(st, S_MSRS, &msrs, sizeof(msrs));
	put(st, S_LAPIC, zero, sizeof(struct kvm_lapic_state));
	put(st, S_EVENTS, zero, sizeof(struct kvm_vcpu_events));
	put(st, S_MP_STATE, zero, sizeof(struct kvm_mp_state));
	put(st, S_DEBUGREGS, zero, sizeof(struct kvm_debugregs));
	for (i = 0; i < 3; i++) {
		chip.chip_id = i;
		put(st, S_PIC_MASTER + i, &chip, sizeof(chip));
	}
	put(st, S_PIT2, zero, sizeof(struct kvm_pit_state2));
	put(st, S_CLOCK, zero, sizeof(struct kvm_clock_data));
	put(st, S_SERIAL, &ser, sizeof(ser));
	put(st, S_VIRTIO_MMIO, &mmio, sizeof(mmio));
	put(st, S_BLK, &blk, sizeof(blk));
	put(st, S_END, NULL, 0);
}

/* The header of a 16 MiB + 1 MiB machine, the state after its RAM. */
#define STATE_OFFSET	(SNAP_HDR_PAGE + 17 * MiB)

static void valid_header(struct snap_header *h, size_t state_len)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SNAP_MAGIC, 8);
	h->version = SNAP_VERSION;
	h->header_size = sizeof(*h);
	h->page_size = PAGE_SIZE;
	h->nram = 2;
	h->ram[0] = (struct snap_ram){ 0, 16 * MiB, SNAP_HDR_PAGE };
	h->ram[1] = (struct snap_ram){ HIGH_RAM_GPA, MiB,
				       SNAP_HDR_PAGE + 16 * MiB };
	h->state_offset = STATE_OFFSET;
	h->state_size = state_len;
	snprintf(h->disk, sizeof(h->disk), "/tmp/g.snap.disk");
}

/* The file: header, holes, state; @size 0 is the natural size. */
static void write_file(int fd, const struct snap_header *h, const char *st,
		       size_t st_len, uint64_t st_off, uint64_t size)
{
	if (ftruncate(fd, 0) || pwrite(fd, h, sizeof(*h), 0) != sizeof(*h) ||
	    (st_len && pwrite(fd, st, st_len, st_off) != (ssize_t)st_len))
		fatal("writing the file");
	if (size && ftruncate(fd, size))
		fatal("truncating the file");
}

/* --- the fuzzer ---------------------------------------------------------- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value a parser may not expect, of @width bytes. */
static uint64_t interesting(unsigned int width)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 127, 128, 129, 255, 256, 0x7fff,
		0x8000, 0xffff, 0x10000, 4095, 4096, 4097, 0x7fffffff,
		0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 4095, 16 << 20,
		3ULL << 30, 4ULL << 30, 0xd0000000,
	};
	uint64_t x = rnd() % 4 ? v[rnd() % ARRAY_SIZE(v)] : rnd();

	if (rnd() % 8 == 0)
		x += (int)(rnd() % 17) - 8;
	return width == 8 ? x : x & ((1ULL << (8 * width)) - 1);
}

static void poke(void *base, size_t size, size_t off)
{
	static const unsigned int widths[] = { 1, 2, 4, 8 };
	unsigned int w = widths[rnd() % 4];
	uint64_t x = interesting(w);

	if (off + w <= size)
		memcpy((char *)base + off, &x, w);
}

/* Offsets of the sections' headers in @st (the valid state's). */
static unsigned int tlv_offsets(const char *st, size_t len, size_t *off,
				unsigned int max)
{
	unsigned int n = 0;
	size_t o = 0;

	while (n < max && o + sizeof(struct snap_tlv) <= len) {
		struct snap_tlv t;

		memcpy(&t, st + o, sizeof(t));
		off[n++] = o;
		if (t.type == S_END)
			break;
		o += sizeof(t) + ((t.len + 7) & ~7UL);
	}
	return n;
}

/*
 * One section of the valid state @st (@*len bytes, room for twice as
 * much) dropped or repeated; @tlv: its sections' offsets.
 */
static void restructure(struct snap_header *h, char *st, size_t *len,
			const size_t *tlv, unsigned int ntlv)
{
	unsigned int n = rnd() % (ntlv - 1);
	size_t sec = tlv[n + 1] - tlv[n];

	if (rnd() % 2) {
		memmove(st + tlv[n], st + tlv[n + 1], *len - tlv[n + 1]);
		*len -= sec;
	} else {
		memmove(st + tlv[n + 1], st + tlv[n], *len - tlv[n]);
		*len += sec;
	}
	h->state_size = *len;
}

/* One mutation of @h and @st; @tlv: where the valid state's sections are. */
static void mutate(struct snap_header *h, char *st, size_t *len,
		   uint64_t *size, const size_t *tlv, unsigned int ntlv)
{
	size_t o;

	switch (rnd() % 7) {
	case 0: case 1:		/* a header field */
		poke(h, sizeof(*h), rnd() % sizeof(*h));
		break;
	case 2:			/* a header field the layout depends on */
		poke(h, sizeof(*h), 20 + 4 * (rnd() % 17));
		break;
	case 3:			/* a section's type or length */
		o = tlv[rnd() % ntlv] + 4 * (rnd() % 2);
		poke(st, *len, o);
		break;
	case 4: case 5:		/* bytes of a section, the devices' most */
		o = rnd() % 2 ? tlv[ntlv - 2 - rnd() % 3] + 8 + rnd() % 80 :
				rnd() % *len;
		poke(st, *len, o);
		break;
	case 6:			/* the file cut short */
		*size = 1 + rnd() % (STATE_OFFSET + *len);
		break;
	}
}

/* What the devices rely on, checked again apart from snapfile.c. */
static const char *accepted_but_wrong(const struct snap_file *f)
{
	const struct snap_virtio_mmio *m =
		SNAP_SEC(f, S_VIRTIO_MMIO, struct snap_virtio_mmio);
	const struct snap_serial *s = SNAP_SEC(f, S_SERIAL, struct snap_serial);
	const struct kvm_cpuid2 *c = SNAP_SEC(f, S_CPUID, struct kvm_cpuid2);

	if (!s || s->len >= sizeof(s->buf))
		return "console line";
	if (!c || !c->nent)
		return "CPUID";
	if (m && (m->vq_num > BLK_QUEUE_MAX || (m->vq_ready && !m->vq_num) ||
		  (m->active && !m->vq_ready) || m->vq_num & (m->vq_num - 1)))
		return "queue";
	if (f->h.ram[0].gpa || f->h.ram[0].size > LOW_RAM_MAX ||
	    f->h.ram[0].offset < SNAP_HDR_PAGE)
		return "region table";
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "snapfuzz: an input took over 2 s: a hang\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(1);
}

static int fuzz(double seconds, unsigned long runs, uint64_t seed)
{
	struct state valid = { 0 };
	struct snap_header h0, h;
	struct snap_file f;
	unsigned long n = 0, ok = 0, refused = 0;
	size_t tlv[S_MAX + 1], len;
	unsigned int ntlv, k;
	char err[512], *st;
	uint64_t size;
	struct timespec t0, t;
	double el = 0;
	int rc = 0, fd = memfd_create("snapfuzz", MFD_CLOEXEC);

	if (fd < 0)
		fatal("memfd_create");
	signal(SIGALRM, on_alarm);
	valid_state(&valid);
	valid_header(&h0, valid.len);
	ntlv = tlv_offsets(valid.p, valid.len, tlv, ARRAY_SIZE(tlv));
	st = malloc(2 * valid.len);
	if (!st)
		fatal("malloc");
	/* The pristine file first: it must be read. */
	write_file(fd, &h0, valid.p, valid.len, h0.state_offset, 0);
	if (snapfile_read(fd, "valid.snap", &host, &f, err, sizeof(err))) {
		fprintf(stderr, "snapfuzz: the valid file is refused: %s\n", err);
		rc = 1;
		goto out;
	}
	snapfile_free(&f);
	rng = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n < runs && el < seconds) {
		h = h0;
		len = valid.len;
		memcpy(st, valid.p, len);
		size = 0;
		if (rnd() % 4 == 0)
			restructure(&h, st, &len, tlv, ntlv);
		for (k = 1 + rnd() % 4; k; k--)
			mutate(&h, st, &len, &size, tlv, ntlv);
		write_file(fd, &h, st, len, h0.state_offset, size);
		alarm(2);
		if (snapfile_read(fd, "fuzz.snap", &host, &f, err,
				  sizeof(err))) {
			if (strncmp(err, "fuzz.snap: ", 11) || !err[11]) {
				fprintf(stderr, "snapfuzz: input %lu (seed %#" PRIx64 "): a refusal without a message: \"%s\"\n",
					n, seed, err);
				rc = 1;
				break;
			}
			refused++;
		} else {
			const char *wrong = accepted_but_wrong(&f);

			snapfile_free(&f);
			if (wrong) {
				fprintf(stderr, "snapfuzz: input %lu (seed %#" PRIx64 "): accepted with a wrong %s\n",
					n, seed, wrong);
				rc = 1;
				break;
			}
			ok++;
		}
		alarm(0);
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
	}
	if (!rc)
		printf("snapfuzz: %lu inputs in %.1f s (seed %#" PRIx64 "): %lu refused with a message, %lu accepted (mutations a save could write)\n",
		       n, el, seed, refused, ok);
out:
	free(st);
	free(valid.p);
	close(fd);
	return rc;
}

/* --- the editor ---------------------------------------------------------- */

static const char *const names[S_MAX] = {
	[S_CPUID] = "CPUID", [S_REGS] = "REGS", [S_SREGS] = "SREGS",
	[S_XSAVE] = "XSAVE", [S_FPU] = "FPU", [S_XCRS] = "XCRS",
	[S_MSRS] = "MSRS", [S_LAPIC] = "LAPIC", [S_EVENTS] = "EVENTS",
	[S_MP_STATE] = "MP_STATE", [S_DEBUGREGS] = "DEBUGREGS",
	[S_PIC_MASTER] = "PIC_MASTER", [S_PIC_SLAVE] = "PIC_SLAVE",
	[S_IOAPIC] = "IOAPIC", [S_PIT2] = "PIT2", [S_CLOCK] = "CLOCK",
	[S_SERIAL] = "SERIAL", [S_VIRTIO_MMIO] = "VIRTIO_MMIO",
	[S_BLK] = "BLK",
};

static int edit(const char *in, const char *out, int nedits, char **edits)
{
	struct snap_header h;
	struct state st = { 0 };
	struct stat sb;
	char *old;
	size_t o = 0;
	bool drop[S_MAX] = { false }, nocpuid = false, state_size_set = false;
	size_t old_len;
	uint64_t old_off;
	int i, fi, fo;

	fi = open(in, O_RDONLY | O_CLOEXEC);
	if (fi < 0 || fstat(fi, &sb) ||
	    pread(fi, &h, sizeof(h), 0) != sizeof(h))
		fatal(in);
	if (h.state_size > SNAP_STATE_MAX)
		fatal("the state of IN");
	old_len = h.state_size;
	old_off = h.state_offset;
	old = malloc(old_len);
	if (!old || pread(fi, old, old_len, old_off) != (ssize_t)old_len)
		fatal(in);
	for (i = 0; i < nedits; i++) {
		char *e = edits[i], *v = strchr(e, '=');
		uint64_t x;
		int s;

		if (!v) {
			fprintf(stderr, "snapfuzz: edit %s: no '='\n", e);
			return 2;
		}
		*v++ = 0;
		x = strtoull(v, NULL, 0);
		if (!strcmp(e, "drop")) {
			for (s = 0; s < S_MAX; s++)
				if (names[s] && !strcmp(names[s], v))
					drop[s] = true;
		} else if (!strcmp(e, "cpuid.nent")) {
			nocpuid = true;
		} else if (!strcmp(e, "hdr.disk")) {
			snprintf(h.disk, sizeof(h.disk), "%s", v);
		} else if (!strcmp(e, "hdr.nram")) {
			h.nram = x;
		} else if (!strcmp(e, "hdr.state_offset")) {
			h.state_offset = x;
		} else if (!strcmp(e, "hdr.state_size")) {
			h.state_size = x;
			state_size_set = true;
		} else if (!strncmp(e, "hdr.ram", 7) && (e[7] == '0' || e[7] == '1')) {
			struct snap_ram *r = &h.ram[e[7] - '0'];

			if (!strcmp(e + 8, ".offset"))
				r->offset = x;
			else if (!strcmp(e + 8, ".size"))
				r->size = x;
			else
				goto unknown;
		} else if (strncmp(e, "mmio.", 5) && strncmp(e, "blk.", 4)) {
			goto unknown;
		}
		continue;
unknown:
		fprintf(stderr, "snapfuzz: edit %s: unknown\n", e);
		return 2;
	}
	/* The sections again, edited. */
	while (o + sizeof(struct snap_tlv) <= old_len) {
		struct snap_tlv t;
		char *p;

		memcpy(&t, old + o, sizeof(t));
		p = old + o + sizeof(t);
		if (t.type == S_END || t.len > old_len - o - sizeof(t))
			break;
		for (i = 0; t.type == S_VIRTIO_MMIO && i < nedits; i++) {
			struct snap_virtio_mmio *m = (void *)p;
			const char *e = edits[i];
			uint64_t x = strtoull(e + strlen(e) + 1, NULL, 0);

			if (!strcmp(e, "mmio.vq_num"))
				m->vq_num = x;
			else if (!strcmp(e, "mmio.vq_ready"))
				m->vq_ready = x;
			else if (!strcmp(e, "mmio.active"))
				m->active = x;
			else if (!strcmp(e, "mmio.status"))
				m->status = x;
			else if (!strcmp(e, "mmio.isr"))
				m->isr = x;
			else if (!strcmp(e, "mmio.driver_features"))
				m->driver_features = x;
		}
		for (i = 0; t.type == S_BLK && i < nedits; i++) {
			struct snap_blk *b = (void *)p;
			const char *e = edits[i];
			uint64_t x = strtoull(e + strlen(e) + 1, NULL, 0);

			if (!strcmp(e, "blk.last_avail"))
				b->last_avail = x;
			else if (!strcmp(e, "blk.used_idx"))
				b->used_idx = x;
		}
		if (t.type == S_CPUID && nocpuid) {
			struct kvm_cpuid2 c = { .nent = 0 };

			put(&st, S_CPUID, &c, sizeof(c));
		} else if (t.type >= S_MAX || !drop[t.type]) {
			put(&st, t.type, p, t.len);
		}
		o += sizeof(t) + ((t.len + 7) & ~7UL);
	}
	put(&st, S_END, NULL, 0);
	if (!state_size_set)
		h.state_size = st.len;
	fo = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fo < 0)
		fatal(out);
	/* Where IN had it, whatever the header now says. */
	write_file(fo, &h, st.p, st.len, old_off, sb.st_size);
	close(fo);
	close(fi);
	free(old);
	free(st.p);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	unsigned long runs = ~0UL;
	uint64_t seed = (uint64_t)time(NULL) * 1000003 + getpid();
	int i;

	if (argc >= 4 && !strcmp(argv[1], "edit"))
		return edit(argv[2], argv[3], argc - 4, argv + 4);
	if (argc < 2 || strcmp(argv[1], "fuzz"))
		goto usage;
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--runs"))
			runs = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else
			goto usage;
	}
	if (i != argc)
		goto usage;
	return fuzz(seconds, runs, seed);
usage:
	fprintf(stderr, "usage: snapfuzz fuzz [--seconds S] [--runs N] [--seed X]\n"
		"       snapfuzz edit IN OUT EDIT...\n");
	return 2;
}
