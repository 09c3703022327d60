// SPDX-License-Identifier: GPL-2.0
/*
 * vmmem-vmm: boots a Linux bzImage in a KVM guest whose RAM is vmmem
 * regions. See vmm.h for the files and the guest's memory map, and
 * README.md, "A real VM: vmmem-vmm".
 *
 * Set-up order: /dev/vmmem, the KVM VM (irqchip, PIT), guest RAM as vmmem
 * regions and memslots, the vCPU, the disk, ACPI tables, the kernel. Then
 * one thread runs the vCPU and handles its port and MMIO exits until the
 * guest powers off, resets, triple-faults, or time runs out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#include "vmm.h"
#include "snapshot.h"

#define DEFAULT_CMDLINE	"console=ttyS0 loglevel=4 panic=-1 reboot=k pci=off rdinit=/init"

static struct vmm the_vmm = {
	.kvm = -1, .vm_fd = -1, .vcpu_fd = -1,
};

static const char *const exit_name[] = {
	[VMM_RUNNING] = "running",
	[VMM_POWEROFF] = "power off",
	[VMM_RESET] = "reset",
	[VMM_SHUTDOWN] = "shutdown (triple fault)",
	[VMM_TIMEOUT] = "timeout",
	[VMM_SIGNAL] = "signal",
	[VMM_ERROR] = "error",
	[VMM_SAVED] = "saved",
};

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* The first reason wins; the vCPU loop ends before its next KVM_RUN. */
void vmm_stop(struct vmm *v, enum vmm_exit why, const char *fmt, ...)
{
	va_list ap;

	if (v->exit != VMM_RUNNING)
		return;
	v->exit = why;
	va_start(ap, fmt);
	vsnprintf(v->exit_detail, sizeof(v->exit_detail), fmt, ap);
	va_end(ap);
}

/* KVM_RUN returns EINTR for a signal: the handler only leaves a note. */
static void on_signal(int sig)
{
	the_vmm.stop = sig == SIGALRM ? VMM_TIMEOUT : VMM_SIGNAL;
}

static void set_timeout(unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_signal };
	/* Repeats: a signal that lands outside KVM_RUN is seen next round. */
	struct itimerval it = {
		.it_value = { .tv_sec = secs },
		.it_interval = { .tv_usec = 100000 },
	};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (secs && setitimer(ITIMER_REAL, &it, NULL))
		die("setitimer: %s", strerror(errno));
}

/* Port I/O, one element of @len bytes (api.rst 5. KVM_EXIT_IO). */
static void port_io(struct vmm *v, uint16_t port, bool write, uint8_t *data,
		    unsigned int len)
{
	v->exits_io++;
	if (port >= SERIAL_PORT && port < SERIAL_PORT + 8 && len == 1)
		serial_io(v, port - SERIAL_PORT, write, data);
	else if ((port == 0x70 || port == 0x71) && len == 1)
		cmos_io(v, port, write, data);
	else if ((port == 0x60 || port == 0x64) && len == 1)
		i8042_io(v, port, write, data);
	else if (port >= ACPI_PM1_PORT && port < ACPI_PM1_PORT + 6)
		acpi_pm_io(v, port - ACPI_PM1_PORT, write, data, len);
	else {
		/* Nothing here: reads float high, as on a PC (port 0x80 too). */
		v->io_other++;
		if (!write)
			memset(data, 0xff, len);
	}
}

static void handle_io(struct vmm *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	uint32_t i;

	for (i = 0; i < r->io.count; i++, data += r->io.size)
		port_io(v, r->io.port, r->io.direction == KVM_EXIT_IO_OUT,
			data, r->io.size);
}

static void handle_mmio(struct vmm *v)
{
	struct kvm_run *r = v->run;
	uint64_t a = r->mmio.phys_addr;

	v->exits_mmio++;
	if (v->has_disk && a - VIRTIO_MMIO_GPA < VIRTIO_MMIO_LEN) {
		virtio_mmio_access(&v->disk, a - VIRTIO_MMIO_GPA,
				   r->mmio.is_write, r->mmio.data, r->mmio.len);
		return;
	}
	v->mmio_other++;
	if (!r->mmio.is_write)
		memset(r->mmio.data, 0xff, r->mmio.len);
}

static void run_vcpu(struct vmm *v)
{
	struct kvm_run *r = v->run;

	v->t_start = now_sec();
	while (v->exit == VMM_RUNNING) {
		if (v->stop) {
			vmm_stop(v, v->stop, v->stop == VMM_TIMEOUT ?
				 "the guest ran out of time" :
				 "stopped by a signal");
			break;
		}
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (v->snap)	/* the saver's pause */
					snapshot_park(v);
				continue;
			}
			vmm_stop(v, VMM_ERROR, "KVM_RUN: %s", strerror(errno));
			break;
		}
		v->exits++;
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			vmm_stop(v, VMM_SHUTDOWN, "the guest triple-faulted");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vmm_stop(v, VMM_ERROR, "KVM_EXIT_FAIL_ENTRY, reason 0x%llx",
				 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vmm_stop(v, VMM_ERROR, "KVM_EXIT_INTERNAL_ERROR, suberror %u",
				 r->internal.suberror);
			break;
		default:
			v->exits_other++;
			vmm_stop(v, VMM_ERROR, "unhandled exit reason %u",
				 r->exit_reason);
		}
	}
}

/* "VmPin: N kB" of this process: what vmmem holds pinned for us. */
static long vm_pin_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void report(struct vmm *v)
{
	double t = now_sec() - v->t_start;
	struct serial *s = &v->serial;

	serial_flush(v);
	printf("vmm: exit: %s: %s\n", exit_name[v->exit], v->exit_detail);
	printf("vmm: run time %.2f s", t);
	if (s->mark && s->mark_at)
		printf(", \"%s\" after %.2f s", s->mark, s->mark_at);
	printf("\n");
	printf("vmm: exits to the VMM: %lu (port I/O %lu: serial %lu, cmos %lu, i8042 %lu, acpi %lu, other %lu; mmio %lu: virtio %lu, other %lu)\n",
	       v->exits, v->exits_io, s->exits, v->io_cmos, v->io_i8042,
	       v->io_acpi, v->io_other, v->exits_mmio, v->disk.mmio_exits,
	       v->mmio_other);
	printf("vmm: console %lu bytes; KVM_IRQ_LINE %lu\n", s->bytes,
	       v->irq_lines);
	printf("vmm: vmmem: loader %lu calls, %" PRIu64 " bytes; pinned by this process (VmPin) %ld kB\n",
	       v->loader_calls, v->loader_bytes, vm_pin_kb());
	if (v->blk)
		blk_report(v);
	if (v->vhost)
		vhost_blk_report(v);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vmmem-vmm -k BZIMAGE [options]\n"
"  -k, --kernel FILE      the bzImage to boot\n"
"  -i, --initrd FILE      its initrd\n"
"  -m, --mem MIB          guest RAM in MiB (default 256)\n"
"  -l, --low MIB          at most this much of it below 4 GiB, the rest above\n"
"                         (default and most 3072: the 32-bit hole is above)\n"
"      --memfd            RAM from a pinned memfd (default: module-allocated)\n"
"      --anon             RAM from pinned anonymous memory (a baseline)\n"
"      --prefault         map all of the RAM in this process before the boot\n"
"  -d, --disk FILE        a virtio-blk disk, served by this VMM (vmmem fd I/O)\n"
"      --pread            ... with pread/pwrite into our own mapping instead\n"
"  -u, --vhost-user FILE  a virtio-blk disk, served by qemu-storage-daemon\n"
"      --qsd PATH         the daemon (default /usr/bin/qemu-storage-daemon)\n"
"  -a, --append ARGS      more kernel command line\n"
"  -c, --cmdline ARGS     the whole kernel command line (default:\n"
"                         \"" DEFAULT_CMDLINE "\")\n"
"  -t, --timeout SECS     stop the guest after SECS (default: none)\n"
"      --mark TEXT        report when a console line first contains TEXT\n"
"                         (default \"Run /init\")\n"
"      --save FILE        snapshot the running guest to FILE (SNAPSHOT.md),\n"
"                         when a console line contains --save-at TEXT or on\n"
"                         SIGUSR1; then stop (module-allocated RAM, disk (a))\n"
"      --save-rounds N    at most N pre-copy rounds (default 10; 0: no dirty\n"
"                         log: pause, then copy everything)\n"
"      --save-budget P    end the pre-copy at a round of P pages or fewer\n"
"                         (default 256)\n"
"      --restore FILE     resume the guest saved in FILE (no -k; its disk:\n"
"                         -d, default FILE.disk, the copy its save made)\n");
}

int main(int argc, char **argv)
{
	enum { OPT_MEMFD = 256, OPT_ANON, OPT_PREFAULT, OPT_PREAD, OPT_QSD,
	       OPT_MARK,
	       OPT_SAVE, OPT_SAVE_AT, OPT_SAVE_ROUNDS, OPT_SAVE_BUDGET,
	       OPT_RESTORE };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "mem", required_argument, NULL, 'm' },
		{ "low", required_argument, NULL, 'l' },
		{ "memfd", no_argument, NULL, OPT_MEMFD },
		{ "anon", no_argument, NULL, OPT_ANON },
		{ "prefault", no_argument, NULL, OPT_PREFAULT },
		{ "disk", required_argument, NULL, 'd' },
		{ "pread", no_argument, NULL, OPT_PREAD },
		{ "vhost-user", required_argument, NULL, 'u' },
		{ "qsd", required_argument, NULL, OPT_QSD },
		{ "append", required_argument, NULL, 'a' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "mark", required_argument, NULL, OPT_MARK },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "save-at", required_argument, NULL, OPT_SAVE_AT },
		{ "save-rounds", required_argument, NULL, OPT_SAVE_ROUNDS },
		{ "save-budget", required_argument, NULL, OPT_SAVE_BUDGET },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kernel = NULL, *initrd = NULL, *disk = NULL, *vdisk = NULL;
	const char *qsd = "/usr/bin/qemu-storage-daemon", *append = "";
	const char *cmdline = DEFAULT_CMDLINE;
	static char full_cmdline[2048], implied_disk[4096 + 8];
	struct vmm *v = &the_vmm;
	uint64_t mem_mib = 256, low_mib = LOW_RAM_MAX / MiB, rsdp;
	unsigned int timeout = 0;
	bool pread_path = false;
	struct snapshot_opts save = { .rounds = 10, .budget = 256 };
	struct snapshot_layout layout;
	const char *restore = NULL;
	int c, ret;

	v->serial.prefix = "guest| ";
	v->serial.mark = "Run /init";
	while ((c = getopt_long(argc, argv, "k:i:m:l:d:u:a:c:t:h", opts,
				NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		case 'm': mem_mib = strtoull(optarg, NULL, 0); break;
		case 'l': low_mib = strtoull(optarg, NULL, 0); break;
		case OPT_MEMFD: v->backing = RAM_MEMFD; break;
		case OPT_ANON: v->backing = RAM_ANON; break;
		case OPT_PREFAULT: v->prefault = true; break;
		case 'd': disk = optarg; break;
		case OPT_PREAD: pread_path = true; break;
		case 'u': vdisk = optarg; break;
		case OPT_QSD: qsd = optarg; break;
		case 'a': append = optarg; break;
		case 'c': cmdline = optarg; break;
		case 't': timeout = strtoul(optarg, NULL, 0); break;
		case OPT_MARK: v->serial.mark = optarg; break;
		case OPT_SAVE: save.path = optarg; break;
		case OPT_SAVE_AT: save.at = optarg; break;
		case OPT_SAVE_ROUNDS: save.rounds = strtoul(optarg, NULL, 0); break;
		case OPT_SAVE_BUDGET: save.budget = strtoull(optarg, NULL, 0); break;
		case OPT_RESTORE: restore = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((!kernel && !restore) || optind != argc || (save.path && restore) || (disk && vdisk) || mem_mib < 16 ||
	    low_mib < 16 || low_mib > LOW_RAM_MAX / MiB ||
	    (pread_path && !disk)) {
		usage(stderr);
		return 2;
	}
	if (vdisk && v->backing == RAM_ANON)
		die("--vhost-user needs RAM a backend can map: not --anon");
	snprintf(full_cmdline, sizeof(full_cmdline), "%s%s%s", cmdline,
		 *append ? " " : "", append);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (restore) {
		/* The same RAM layout (checked as -m and -l would be). */
		snapshot_layout(restore, &layout);
		low_mib = layout.size[0] / MiB;
		mem_mib = (layout.size[0] + (layout.nram > 1 ? layout.size[1] : 0)) / MiB;
		/*
		 * Its disk: -d, or the copy its save made beside it, never a
		 * path the file names (a file is no authority on ours).
		 */
		if (layout.has_disk && !disk && !vdisk) {
			snprintf(implied_disk, sizeof(implied_disk), "%s.disk",
				 restore);
			disk = implied_disk;
			printf("vmm: restore: disk %s, the copy saved beside the snapshot (-d names another)\n",
			       disk);
		}
	}
	v->serial.save_at = save.at;

	ret = vmmem_open(&v->vm);
	if (ret)
		die("/dev/vmmem: %s (is vmmem.ko loaded?)", strerror(-ret));
	kvm_create_vm(v);
	ram_setup(v, mem_mib * MiB, low_mib * MiB);
	ram_add_memslots(v);
	ram_print(v);
	kvm_create_vcpu(v);

	v->has_disk = disk || vdisk;
	if (disk && blk_create(v, disk, pread_path, disk == implied_disk))
		die("the disk could not be set up");
	if (vdisk && vhost_blk_create(v, vdisk, qsd))
		die("the vhost-user disk could not be set up");
	if (restore) {
		snapshot_restore(v, restore);
	} else {
		rsdp = acpi_build(v);
		boot_linux(v, kernel, initrd, full_cmdline, rsdp);
	}

	set_timeout(timeout);
	if (save.path)
		snapshot_saver_start(v, &save);
	run_vcpu(v);
	snapshot_saver_join(v);
	report(v);

	/* Devices, then KVM (its memslots' page references), then memory. */
	if (v->blk)
		blk_close(v);
	if (v->vhost)
		vhost_blk_close(v);
	kvm_close(v);
	ram_close(v);
	return v->exit == VMM_POWEROFF || v->exit == VMM_SAVED ? 0 : 1;
}
