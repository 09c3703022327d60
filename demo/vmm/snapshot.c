// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshot (pre-copy with vmmem's dirty log) and restore in a new
 * process. The file format is demo/vmm/SNAPSHOT.md; snapshot.h says who
 * calls what.
 *
 * Save, in the saver thread, while the vCPU thread runs the guest:
 *   1. vmmem_dirty_start() on all RAM (every page clean), then all of RAM
 *      to the file with VMMEM_WRITE_TO_FD at its file offset (no bounce);
 *   2. rounds: vmmem_get_and_reset_ranges() and only those runs copied,
 *      until a round is at most --save-budget pages or --save-rounds
 *      rounds were made;
 *   3. pause: kvm_run->immediate_exit and SIGUSR2 kick the vCPU out of
 *      KVM_RUN (a KVM_RUN with immediate_exit first completes a pending
 *      port or MMIO access: api.rst, 5. "kvm_run", KVM_EXIT_IO); the vCPU
 *      thread parks in snapshot_park();
 *   4. the last dirty pages, the vCPU's, the VM's and the devices' state
 *      (disk (a): its queue indices, and a copy of its image), the header
 *      last, fsync, rename over FILE; the guest stops ("saved").
 * --save-rounds 0 is the save without the log: pause, copy everything.
 *
 * Module-allocated RAM needs nothing else: vmmem's log sees the vCPU's
 * writes through the memslot. For --memfd (and --anon) RAM vmmem sees only
 * its own writes, so KVM logs the vCPU's too (KVM_MEM_LOG_DIRTY_PAGES) and
 * each round merges KVM_GET_DIRTY_LOG into vmmem's log with
 * vmmem_mark_dirty() before the harvest: still one log to harvest. Only
 * disk (a): qemu-storage-daemon's queue state is not ours to save.
 *
 * Restore: the same regions and memslots in a fresh /dev/vmmem open, the
 * memory with VMMEM_READ_FROM_FD, then the state in the order KVM needs:
 * CPUID before anything else; the PIC, IOAPIC and PIT; SREGS (with the
 * APIC base) before the LAPIC; the LAPIC before the MSRs (TSC-deadline
 * needs the LAPIC in that mode); events, MP state, debug registers;
 * KVM_SET_CLOCK last, with the clock as saved, so kvm-clock (the guest's
 * uptime) goes on from where it stopped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm.h"
#include "snapfile.h"
#include "snapshot.h"

#define NRUNS		512
#define MAX_ROUNDS_SHOWN 64

struct snapshot {
	struct snapshot_opts o;
	pthread_t saver, vcpu;
	sem_t trigger;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	volatile int pause_req;
	bool parked, release, abandon, running;
	int fd;			/* FILE.tmp, allocated before the trigger */
};

static struct snapshot *the_snap;

/* --- the file ----------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, uint32_t type, const void *data, size_t len)
{
	struct snap_tlv t = { .type = type, .len = len };
	size_t need = sizeof(t) + ((len + 7) & ~7UL);

	if (b->len + need > b->cap) {
		b->cap = (b->len + need) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	memcpy(b->p + b->len, &t, sizeof(t));
	memcpy(b->p + b->len + sizeof(t), data, len);
	memset(b->p + b->len + sizeof(t) + len, 0, need - sizeof(t) - len);
	b->len += need;
}

static void pwrite_all(int fd, const void *p, size_t len, uint64_t off,
		       const char *what)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("snapshot: writing %s: %s", what,
			    n < 0 ? strerror(errno) : "short write");
		p = (const char *)p + n;
		len -= n;
		off += n;
	}
}

static void vcpu_ioctl(struct vmm *v, unsigned long req, void *arg,
		       const char *name)
{
	if (ioctl(v->vcpu_fd, req, arg) < 0)
		die("%s: %s", name, strerror(errno));
}

static void vm_ioctl(struct vmm *v, unsigned long req, void *arg,
		     const char *name)
{
	if (ioctl(v->vm_fd, req, arg) < 0)
		die("%s: %s", name, strerror(errno));
}

/* --- saving the machine's state ------------------------------------------ */

static struct kvm_msr_list *msr_index_list(struct vmm *v)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(v->kvm, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		die("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		die("out of memory");
	l->nmsrs = probe.nmsrs;
	if (ioctl(v->kvm, KVM_GET_MSR_INDEX_LIST, l) < 0)
		die("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	return l;
}

/* Every MSR KVM lists that it will read back for this vCPU. */
static void save_msrs(struct vmm *v, struct buf *b)
{
	struct kvm_msr_list *l = msr_index_list(v);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + l->nmsrs *
				    sizeof(m->entries[0]));
	struct kvm_msrs *out = calloc(1, sizeof(*m) + l->nmsrs *
				      sizeof(m->entries[0]));
	uint32_t i = 0, n = 0;

	if (!m || !out)
		die("out of memory");
	while (i < l->nmsrs) {
		uint32_t j;
		int r;

		m->nmsrs = l->nmsrs - i;
		for (j = 0; j < m->nmsrs; j++)
			m->entries[j] = (struct kvm_msr_entry){
				.index = l->indices[i + j] };
		r = ioctl(v->vcpu_fd, KVM_GET_MSRS, m);
		if (r < 0)
			die("KVM_GET_MSRS: %s", strerror(errno));
		for (j = 0; j < (uint32_t)r; j++)
			out->entries[n++] = m->entries[j];
		i += r + 1;	/* entry r is one this vCPU does not have */
	}
	out->nmsrs = n;
	put(b, S_MSRS, out, sizeof(*out) + n * sizeof(out->entries[0]));
	free(l);
	free(m);
	free(out);
}

static void save_cpuid(struct vmm *v, struct buf *b)
{
	unsigned int nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent *
				      sizeof(c->entries[0]));

	if (!c)
		die("out of memory");
	c->nent = nent;
	vcpu_ioctl(v, KVM_GET_CPUID2, c, "KVM_GET_CPUID2");
	put(b, S_CPUID, c, sizeof(*c) + c->nent * sizeof(c->entries[0]));
	free(c);
}

static void save_vcpu(struct vmm *v, struct buf *b)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_debugregs dr;

	save_cpuid(v, b);
	vcpu_ioctl(v, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	put(b, S_REGS, &regs, sizeof(regs));
	vcpu_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	put(b, S_SREGS, &sregs, sizeof(sregs));
	if (ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		vcpu_ioctl(v, KVM_GET_XSAVE, &xsave, "KVM_GET_XSAVE");
		put(b, S_XSAVE, &xsave, sizeof(xsave));
	} else {
		vcpu_ioctl(v, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
		put(b, S_FPU, &fpu, sizeof(fpu));
	}
	if (ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0) {
		vcpu_ioctl(v, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
		put(b, S_XCRS, &xcrs, sizeof(xcrs));
	}
	save_msrs(v, b);
	vcpu_ioctl(v, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
	put(b, S_LAPIC, &lapic, sizeof(lapic));
	vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
	put(b, S_EVENTS, &ev, sizeof(ev));
	vcpu_ioctl(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
	put(b, S_MP_STATE, &mp, sizeof(mp));
	vcpu_ioctl(v, KVM_GET_DEBUGREGS, &dr, "KVM_GET_DEBUGREGS");
	put(b, S_DEBUGREGS, &dr, sizeof(dr));
}

static void save_vm(struct vmm *v, struct buf *b)
{
	static const uint32_t chip_type[] = { S_PIC_MASTER, S_PIC_SLAVE,
					      S_IOAPIC };
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;	/* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
		vm_ioctl(v, KVM_GET_IRQCHIP, &chip, "KVM_GET_IRQCHIP");
		put(b, chip_type[i], &chip, sizeof(chip));
	}
	vm_ioctl(v, KVM_GET_PIT2, &pit, "KVM_GET_PIT2");
	put(b, S_PIT2, &pit, sizeof(pit));
	vm_ioctl(v, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK");
	put(b, S_CLOCK, &clock, sizeof(clock));
}

static void save_devices(struct vmm *v, struct buf *b)
{
	struct serial *s = &v->serial;
	struct snap_serial ss = {
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr,
		.lsr_read = s->lsr_read, .scr = s->scr, .dll = s->dll,
		.dlm = s->dlm, .fcr = s->fcr, .thr_pending = s->thr_pending,
		.line = s->line, .len = s->len,
	};

	memcpy(ss.buf, s->buf, s->len);
	put(b, S_SERIAL, &ss, sizeof(ss));
	if (v->blk) {
		struct virtio_mmio *t = &v->disk;
		struct snap_virtio_mmio m = {
			.device_features = t->device_features,
			.driver_features = t->driver_features,
			.device_features_sel = t->device_features_sel,
			.driver_features_sel = t->driver_features_sel,
			.status = t->status, .queue_sel = t->queue_sel,
			.isr = t->isr, .active = t->active,
			.vq_ready = t->vq.ready, .vq_num = t->vq.num,
			.vq_desc = t->vq.desc, .vq_avail = t->vq.avail,
			.vq_used = t->vq.used,
		};
		struct snap_blk sb = { 0 };

		blk_get_indices(v, &sb.last_avail, &sb.used_idx);
		put(b, S_VIRTIO_MMIO, &m, sizeof(m));
		put(b, S_BLK, &sb, sizeof(sb));
	}
}

/* --- the saver ------------------------------------------------------------ */

static void on_kick(int sig)
{
	(void)sig;	/* only to make KVM_RUN return EINTR */
}

static void on_usr1(int sig)
{
	(void)sig;
	if (the_snap)
		sem_post(&the_snap->trigger);
}

void snapshot_trigger(struct vmm *v)
{
	if (v->snap)
		sem_post(&v->snap->trigger);
}

/* vCPU thread: KVM_RUN returned EINTR; out of it, wait if asked to. */
void snapshot_park(struct vmm *v)
{
	struct snapshot *s = v->snap;

	if (!s || !s->pause_req)
		return;
	pthread_mutex_lock(&s->lock);
	s->parked = true;
	pthread_cond_broadcast(&s->cond);
	while (!s->release)
		pthread_cond_wait(&s->cond, &s->lock);
	s->parked = false;
	s->release = false;
	s->pause_req = 0;
	v->run->immediate_exit = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Saver: stop the vCPU out of KVM_RUN. False if the guest ended first. */
static bool pause_vcpu(struct vmm *v)
{
	struct snapshot *s = v->snap;
	bool ok;

	s->pause_req = 1;
	v->run->immediate_exit = 1;
	__sync_synchronize();
	pthread_mutex_lock(&s->lock);
	while (!s->parked && v->exit == VMM_RUNNING) {
		struct timespec ts;

		pthread_mutex_unlock(&s->lock);
		pthread_kill(s->vcpu, SIGUSR2);
		pthread_mutex_lock(&s->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	ok = s->parked;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void release_vcpu(struct vmm *v)
{
	struct snapshot *s = v->snap;

	pthread_mutex_lock(&s->lock);
	s->release = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static uint64_t file_offset(const struct snap_header *h, uint64_t gpa,
			    unsigned int i)
{
	return h->ram[i].offset + (gpa - h->ram[i].gpa);
}

static uint64_t copy_all(struct vmm *v, const struct snap_header *h, int fd)
{
	uint64_t bytes = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < v->nram; i++) {
		ret = vmmem_write_all_volatile_to(v->vm, v->ram[i].gpa, fd,
						  h->ram[i].offset,
						  v->ram[i].size, NULL);
		if (ret)
			die("snapshot: VMMEM_WRITE_TO_FD: %s", strerror(-ret));
		bytes += v->ram[i].size;
	}
	return bytes;
}

/*
 * --memfd, --anon RAM: vmmem sees only its own writes to it, so KVM logs the
 * vCPU's (KVM_MEM_LOG_DIRTY_PAGES on the memslots, api.rst 4.35) and each
 * round first hands what KVM_GET_DIRTY_LOG reports (api.rst 4.8; it resets
 * KVM's log) to vmmem's with vmmem_mark_dirty(): one log to harvest.
 */
static void kvm_log(struct vmm *v, bool on)
{
	unsigned int i;

	for (i = 0; i < v->nram; i++) {
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = v->ram[i].gpa,
			.memory_size = v->ram[i].size,
			.userspace_addr = (uintptr_t)v->ram[i].host,
		};

		vm_ioctl(v, KVM_SET_USER_MEMORY_REGION, &slot,
			 "KVM_SET_USER_MEMORY_REGION (dirty log)");
	}
}

static unsigned long kvm_log_merge(struct vmm *v)
{
	static uint64_t *bitmap;
	static size_t words;
	unsigned long marks = 0;
	unsigned int i;

	for (i = 0; i < v->nram; i++) {
		uint64_t pages = v->ram[i].size / PAGE_SIZE, p, start;
		size_t need = (pages + 63) / 64;
		struct kvm_dirty_log log = { .slot = i };

		if (need > words) {
			free(bitmap);
			bitmap = calloc(need, 8);
			if (!bitmap)
				die("out of memory");
			words = need;
		}
		memset(bitmap, 0, need * 8);
		log.dirty_bitmap = bitmap;
		vm_ioctl(v, KVM_GET_DIRTY_LOG, &log, "KVM_GET_DIRTY_LOG");
		for (p = 0; p < pages; p++) {
			if (!(p % 64) && !bitmap[p / 64]) {
				p += 63;
				continue;
			}
			if (!(bitmap[p / 64] >> (p % 64) & 1))
				continue;
			for (start = p; p + 1 < pages &&
			     (bitmap[(p + 1) / 64] >> ((p + 1) % 64) & 1); p++)
				;
			if (vmmem_mark_dirty(v->vm, v->ram[i].gpa + start * PAGE_SIZE,
					     (p + 1 - start) * PAGE_SIZE))
				die("snapshot: vmmem_mark_dirty failed");
			marks++;
		}
	}
	return marks;
}

/* One round: harvest the log, copy what it names. Returns the pages. */
static uint64_t copy_dirty(struct vmm *v, const struct snap_header *h, int fd,
			   unsigned long *runs_out)
{
	static struct vmmem_dirty_range runs[NRUNS];
	uint64_t pages = 0;
	unsigned int i;

	if (v->backing != RAM_KERNEL)
		kvm_log_merge(v);
	for (i = 0; i < v->nram; i++) {
		uint64_t gpa = v->ram[i].gpa, end = gpa + v->ram[i].size;

		while (gpa < end) {
			uint64_t done = 0;
			int n = vmmem_get_and_reset_ranges(v->vm, gpa, end - gpa,
							   runs, NRUNS, &done);
			int j, ret;

			if (n < 0)
				die("snapshot: vmmem_get_and_reset_ranges: %s",
				    strerror(-n));
			for (j = 0; j < n; j++) {
				ret = vmmem_write_all_volatile_to(v->vm,
					runs[j].guest_addr, fd,
					file_offset(h, runs[j].guest_addr, i),
					runs[j].len, NULL);
				if (ret)
					die("snapshot: VMMEM_WRITE_TO_FD: %s",
					    strerror(-ret));
				pages += runs[j].len / PAGE_SIZE;
			}
			*runs_out += n;
			if (!done)
				break;
			gpa += done;
		}
	}
	return pages;
}

/* A copy of disk (a)'s image, as it is while the vCPU is paused. */
static void save_disk(struct vmm *v, const char *path, char *name, size_t len)
{
	int in = blk_image_fd(v), out;
	struct stat st;
	loff_t off_in = 0, off_out = 0;

	snprintf(name, len, "%s.disk", path);
	if (fdatasync(in) || fstat(in, &st))
		die("snapshot: the disk image: %s", strerror(errno));
	out = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		die("%s: %s", name, strerror(errno));
	while (off_in < st.st_size) {
		ssize_t n = copy_file_range(in, &off_in, out, &off_out,
					    st.st_size - off_in, 0);

		if (n <= 0)
			die("snapshot: copying the disk image: %s",
			    n < 0 ? strerror(errno) : "short copy");
	}
	if (fsync(out) || close(out))
		die("%s: %s", name, strerror(errno));
}

static void *saver(void *arg)
{
	struct vmm *v = arg;
	struct snapshot *s = v->snap;
	struct snap_header h = { .version = SNAP_VERSION };
	struct buf st = { 0 };
	char tmp[4096], zero[SNAP_HDR_PAGE];
	uint64_t off = SNAP_HDR_PAGE, full = 0, written = 0, pages = 0;
	uint64_t round_pages[MAX_ROUNDS_SHOWN];
	unsigned long runs = 0;
	unsigned int i, r = 0;
	double t0, tp, t1, tr, to, tm, ts, td;
	struct timespec rt;
	int fd;

	while (sem_wait(&s->trigger) && errno == EINTR)
		;
	if (s->abandon)
		return NULL;
	t0 = now_sec();
	printf("vmm: save: to %s (%s)\n", s->o.path, s->o.rounds ?
	       "pre-copy with vmmem's dirty log" : "no log: pause, copy all");
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.path);
	fd = s->fd;
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.header_size = sizeof(h);
	h.page_size = PAGE_SIZE;
	h.nram = v->nram;
	for (i = 0; i < v->nram; i++) {
		h.ram[i] = (struct snap_ram){ .gpa = v->ram[i].gpa,
			.size = v->ram[i].size, .offset = off };
		off += v->ram[i].size;
		full += v->ram[i].size;
	}
	h.state_offset = off;
	/* A zero header page: a save cut short has no magic. */
	memset(zero, 0, sizeof(zero));
	pwrite_all(fd, zero, SNAP_HDR_PAGE, 0, "the header");

	if (s->o.rounds) {
		if (v->backing != RAM_KERNEL)
			kvm_log(v, true);
		for (i = 0; i < v->nram; i++)
			if (vmmem_dirty_start(v->vm, v->ram[i].gpa,
					      v->ram[i].size) < 0)
				die("snapshot: vmmem_dirty_start failed");
		written += copy_all(v, &h, fd);
		printf("vmm: save: round 0: all %" PRIu64 " MiB in %.3f s\n",
		       full >> 20, now_sec() - t0);
		while (r < s->o.rounds && !s->abandon && v->exit == VMM_RUNNING) {
			unsigned long nr = 0;

			tr = now_sec();
			pages = copy_dirty(v, &h, fd, &nr);
			runs += nr;
			written += pages * PAGE_SIZE;
			if (r < MAX_ROUNDS_SHOWN)
				round_pages[r] = pages;
			r++;
			printf("vmm: save: round %u: %" PRIu64 " dirty pages in %lu runs, %.3f s\n",
			       r, pages, nr, now_sec() - tr);
			if (pages <= s->o.budget)
				break;
		}
	}
	tp = now_sec();
	if (!pause_vcpu(v)) {
		printf("vmm: save: the guest stopped before it could be paused\n");
		return NULL;
	}
	to = now_sec();
	if (s->o.rounds) {
		unsigned long nr = 0;

		pages = copy_dirty(v, &h, fd, &nr);
		written += pages * PAGE_SIZE;
		for (i = 0; i < v->nram; i++)
			vmmem_dirty_stop(v->vm, v->ram[i].gpa, v->ram[i].size);
		ram_remap(v);
		if (v->backing != RAM_KERNEL)
			kvm_log(v, false);
	} else {
		written += copy_all(v, &h, fd);
	}
	tm = now_sec();
	save_vcpu(v, &st);
	save_vm(v, &st);
	save_devices(v, &st);
	put(&st, S_END, NULL, 0);
	pwrite_all(fd, st.p, st.len, h.state_offset, "the state");
	h.state_size = st.len;
	ts = now_sec();
	if (v->blk)
		save_disk(v, s->o.path, h.disk, sizeof(h.disk));
	td = now_sec();
	clock_gettime(CLOCK_REALTIME, &rt);
	h.saved_realtime_ns = rt.tv_sec * 1000000000ULL + rt.tv_nsec;
	if (fsync(fd))
		die("snapshot: fsync: %s", strerror(errno));
	pwrite_all(fd, &h, sizeof(h), 0, "the header");
	if (fsync(fd))
		die("snapshot: fsync: %s", strerror(errno));
	if (rename(tmp, s->o.path))
		die("rename %s: %s", s->o.path, strerror(errno));
	t1 = now_sec();

	if (s->o.rounds) {
		printf("vmm: save: %u rounds after the full copy, pages per round:", r);
		for (i = 0; i < r && i < MAX_ROUNDS_SHOWN; i++)
			printf(" %" PRIu64, round_pages[i]);
		printf("; last (paused) %" PRIu64 " pages\n", pages);
	}
	printf("vmm: save: memory written %.1f MiB = %.3f x one full copy (%" PRIu64 " MiB); state %zu bytes%s%s\n",
	       written / (double)MiB, (double)written / full, full >> 20,
	       st.len, v->blk ? "; disk image " : "", v->blk ? h.disk : "");
	printf("vmm: save: pause (stop-and-copy) %.1f ms: vCPU out %.1f ms, memory %.1f ms, state %.1f ms, disk image %.1f ms, header and fsync %.1f ms; pre-copy %.3f s; total %.3f s\n",
	       (t1 - tp) * 1e3, (to - tp) * 1e3, (tm - to) * 1e3, (ts - tm) * 1e3,
	       (td - ts) * 1e3, (t1 - td) * 1e3, tp - t0, t1 - t0);
	free(st.p);
	vmm_stop(v, VMM_SAVED, "snapshot in %s after %.2f s of pre-copy, paused %.1f ms",
		 s->o.path, tp - t0, (t1 - tp) * 1e3);
	release_vcpu(v);
	return NULL;
}

void snapshot_saver_start(struct vmm *v, const struct snapshot_opts *o)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct sigaction kick = { .sa_handler = on_kick };
	struct sigaction usr1 = { .sa_handler = on_usr1 };
	sigset_t block, old;
	char tmp[4096];
	uint64_t size = SNAP_HDR_PAGE;
	unsigned int i;
	int ret;

	if (!s)
		die("out of memory");
	if (v->vhost)
		die("--save: disk (a) only (qemu-storage-daemon's queue state is not the VMM's)");
	s->o = *o;
	s->vcpu = pthread_self();
	/*
	 * The file's blocks now, before the guest runs: allocating them (on
	 * tmpfs: zeroing pages) is then no part of the pre-copy.
	 */
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->path);
	s->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->fd < 0)
		die("%s: %s", tmp, strerror(errno));
	for (i = 0; i < v->nram; i++)
		size += v->ram[i].size;
	if (fallocate(s->fd, 0, 0, size))
		die("%s: allocating %" PRIu64 " MiB: %s", tmp, size >> 20,
		    strerror(errno));
	sem_init(&s->trigger, 0, 0);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	v->snap = s;
	the_snap = s;
	/* No SA_RESTART: KVM_RUN returns EINTR. */
	sigaction(SIGUSR2, &kick, NULL);
	sigaction(SIGUSR1, &usr1, NULL);
	/* The timeout and the signals that stop the guest go to the vCPU. */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ret = pthread_create(&s->saver, NULL, saver, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		die("pthread_create: %s", strerror(ret));
	s->running = true;
}

/* After the vCPU loop: a saver still waiting for its trigger gives up. */
void snapshot_saver_join(struct vmm *v)
{
	struct snapshot *s = v->snap;

	char tmp[4096];

	if (!s || !s->running)
		return;
	s->abandon = true;
	sem_post(&s->trigger);
	release_vcpu(v);
	pthread_join(s->saver, NULL);
	s->running = false;
	/* Never triggered, or cut short: no file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.path);
	if (!unlink(tmp))
		printf("vmm: save: no snapshot taken: %s removed\n", tmp);
	close(s->fd);
}

/* --- restore ---------------------------------------------------------------- */

/* What a save on this host writes (snapfile.h). */
static void snap_host(struct snap_host *host)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0)
		die("/dev/kvm: %s", strerror(errno));
	host->xsave = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	host->xcrs = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	host->blk_features = BLK_FEATURES;
	host->queue_max = BLK_QUEUE_MAX;
	close(kvm);
}

/* The file, checked whole (snapfile.c), or a message and exit. */
static int snap_open(const char *path, struct snap_file *f)
{
	struct snap_host host;
	char err[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	snap_host(&host);
	if (snapfile_read(fd, path, &host, f, err, sizeof(err)))
		die("%s", err);
	return fd;
}

void snapshot_layout(const char *path, struct snapshot_layout *l)
{
	struct snap_file f;
	unsigned int i;

	close(snap_open(path, &f));
	memset(l, 0, sizeof(*l));
	l->nram = f.h.nram;
	for (i = 0; i < f.h.nram; i++) {
		l->gpa[i] = f.h.ram[i].gpa;
		l->size[i] = f.h.ram[i].size;
	}
	l->has_disk = f.sec[S_VIRTIO_MMIO];
	snapfile_free(&f);
}

/*
 * The MSRs whose saved value differs from the new vCPU's: KVM takes the
 * others as they are (and logs an MSR it ignores, such as DEBUGCTL on AMD
 * without LBR virtualisation, even when it is written its reset value).
 */
static void restore_msrs(struct vmm *v, const struct kvm_msrs *m)
{
	size_t sz = sizeof(*m) + m->nmsrs * sizeof(m->entries[0]);
	struct kvm_msrs *w = malloc(sz), *cur = malloc(sz);
	uint32_t i, n = 0, skipped = 0, same = 0;

	if (!w || !cur)
		die("out of memory");
	for (i = 0; i < m->nmsrs; i++) {
		cur->nmsrs = 1;
		cur->entries[0] = (struct kvm_msr_entry){
			.index = m->entries[i].index };
		if (ioctl(v->vcpu_fd, KVM_GET_MSRS, cur) == 1 &&
		    cur->entries[0].data == m->entries[i].data) {
			same++;
			continue;
		}
		w->entries[n++] = m->entries[i];
	}
	for (i = 0; i < n; i++) {
		cur->nmsrs = 1;
		cur->entries[0] = w->entries[i];
		if (ioctl(v->vcpu_fd, KVM_SET_MSRS, cur) != 1) {
			printf("vmm: restore: MSR 0x%x not taken back\n",
			       w->entries[i].index);
			skipped++;
		}
	}
	printf("vmm: restore: MSRs: %u written, %u as the new vCPU has them%s",
	       n - skipped, same, skipped ? "" : "\n");
	if (skipped)
		printf(", %u refused\n", skipped);
	free(w);
	free(cur);
}

void snapshot_restore(struct vmm *v, const char *path)
{
	const struct snap_virtio_mmio *m;
	const struct snap_serial *ss;
	struct kvm_clock_data clock;
	struct kvm_vcpu_events ev;
	struct snap_file f;
	uint64_t total = 0;
	double t0, t1, t2;
	unsigned int i;
	int fd, ret;

	/* All of the file is checked before any of it is used. */
	fd = snap_open(path, &f);
	if (f.h.nram != v->nram)
		die("%s: %u RAM regions; this machine has %u", path, f.h.nram,
		    v->nram);
	for (i = 0; i < f.h.nram; i++)
		if (f.h.ram[i].gpa != v->ram[i].gpa ||
		    f.h.ram[i].size != v->ram[i].size)
			die("%s: region %u is 0x%" PRIx64 "+0x%" PRIx64 "; here 0x%" PRIx64 "+0x%" PRIx64,
			    path, i, f.h.ram[i].gpa, f.h.ram[i].size,
			    v->ram[i].gpa, v->ram[i].size);
	m = SNAP_SEC(&f, S_VIRTIO_MMIO, struct snap_virtio_mmio);
	if (m && !v->blk)
		die("%s: the snapshot has a disk: give it with -d", path);
	if (!m && v->blk)
		die("%s: the snapshot has no disk; run without -d", path);
	if (v->vhost)
		die("%s: a snapshot has no state of a vhost-user disk", path);
	t0 = now_sec();

	/* The same CPUID first: before the first KVM_RUN KVM takes a new one. */
	vcpu_ioctl(v, KVM_SET_CPUID2, (void *)f.sec[S_CPUID], "KVM_SET_CPUID2");

	/* The VM: interrupt controllers and the PIT. */
#define SET(ioc, req, type)						\
	ioc(v, req, (void *)f.sec[type], #req " " #type)
	SET(vm_ioctl, KVM_SET_IRQCHIP, S_PIC_MASTER);
	SET(vm_ioctl, KVM_SET_IRQCHIP, S_PIC_SLAVE);
	SET(vm_ioctl, KVM_SET_IRQCHIP, S_IOAPIC);
	SET(vm_ioctl, KVM_SET_PIT2, S_PIT2);

	/* The vCPU. */
	SET(vcpu_ioctl, KVM_SET_SREGS, S_SREGS);
	SET(vcpu_ioctl, KVM_SET_REGS, S_REGS);
	if (f.sec[S_XSAVE])
		SET(vcpu_ioctl, KVM_SET_XSAVE, S_XSAVE);
	else
		SET(vcpu_ioctl, KVM_SET_FPU, S_FPU);
	if (f.sec[S_XCRS])
		SET(vcpu_ioctl, KVM_SET_XCRS, S_XCRS);
	SET(vcpu_ioctl, KVM_SET_LAPIC, S_LAPIC);
	restore_msrs(v, f.sec[S_MSRS]);
	ev = *SNAP_SEC(&f, S_EVENTS, struct kvm_vcpu_events);
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
	SET(vcpu_ioctl, KVM_SET_MP_STATE, S_MP_STATE);
	SET(vcpu_ioctl, KVM_SET_DEBUGREGS, S_DEBUGREGS);
#undef SET

	/* Memory: the kernel moves it from the file into the regions. */
	t1 = now_sec();
	for (i = 0; i < f.h.nram; i++) {
		ret = vmmem_read_exact_volatile_from(v->vm, f.h.ram[i].gpa, fd,
						     f.h.ram[i].offset,
						     f.h.ram[i].size, NULL);
		if (ret)
			die("snapshot: VMMEM_READ_FROM_FD: %s", strerror(-ret));
		total += f.h.ram[i].size;
	}
	t2 = now_sec();

	/* kvm-clock as it was: the guest's time goes on from the pause. */
	clock = *SNAP_SEC(&f, S_CLOCK, struct kvm_clock_data);
	clock.flags = 0;
	vm_ioctl(v, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");

	/* The devices, in states their registers can reach (snapfile.c). */
	ss = SNAP_SEC(&f, S_SERIAL, struct snap_serial);
	v->serial.ier = ss->ier;
	v->serial.lcr = ss->lcr;
	v->serial.mcr = ss->mcr;
	v->serial.lsr_read = ss->lsr_read;
	v->serial.scr = ss->scr;
	v->serial.dll = ss->dll;
	v->serial.dlm = ss->dlm;
	v->serial.fcr = ss->fcr;
	v->serial.thr_pending = ss->thr_pending;
	v->serial.line = ss->line;
	v->serial.len = ss->len;
	memcpy(v->serial.buf, ss->buf, ss->len);
	if (m) {
		struct virtio_mmio *t = &v->disk;
		const struct snap_blk *sb = SNAP_SEC(&f, S_BLK, struct snap_blk);

		t->device_features = m->device_features;
		t->driver_features = m->driver_features;
		t->device_features_sel = m->device_features_sel;
		t->driver_features_sel = m->driver_features_sel;
		t->status = m->status;
		t->queue_sel = m->queue_sel;
		t->isr = m->isr;
		t->active = m->active;
		t->vq.ready = m->vq_ready;
		t->vq.num = m->vq_num;
		t->vq.desc = m->vq_desc;
		t->vq.avail = m->vq_avail;
		t->vq.used = m->vq_used;
		blk_set_indices(v, sb->last_avail, sb->used_idx);
	}
	close(fd);
	snapfile_free(&f);
	printf("vmm: restore: %s: memory %" PRIu64 " MiB in %.3f s (%.3f s/GiB), state in %.1f ms\n",
	       path, total >> 20, t2 - t1, (t2 - t1) / ((double)total / GiB),
	       (t1 - t0 + now_sec() - t2) * 1e3);
}
