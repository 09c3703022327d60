/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live snapshot and restore (snapshot.c; the file format is SNAPSHOT.md).
 *
 * Save: a saver thread, started before the vCPU runs, waits for its
 * trigger (a console line containing --save-at TEXT, or SIGUSR1), then
 * copies guest RAM to the file with vmmem's dirty log on, round after
 * round, pauses the vCPU, copies the last dirty pages and the machine's
 * state, and stops the guest (exit "saved").
 *
 * Restore: main() reads the layout first (snapshot_layout()), sets the
 * machine up as for a boot, and calls snapshot_restore() instead of
 * loading a kernel. Both check the whole file first (snapfile.c) and exit
 * with a message if it is not one a save could have written.
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

struct vmm;

struct snapshot_opts {
	const char *path;	/* --save FILE */
	const char *at;		/* --save-at TEXT, or NULL */
	unsigned int rounds;	/* --save-rounds: 0 = no log: pause, copy all */
	uint64_t budget;	/* --save-budget PAGES: a round this small ends
				 * the pre-copy */
};

/* The saver: a thread waiting for its trigger. */
void snapshot_saver_start(struct vmm *v, const struct snapshot_opts *o);
/* serial.c: a console line contained --save-at TEXT. */
void snapshot_trigger(struct vmm *v);
/* main.c, vCPU thread, after KVM_RUN returned EINTR: park if asked to. */
void snapshot_park(struct vmm *v);
/* main.c, after the vCPU loop: a saver never triggered gives up. */
void snapshot_saver_join(struct vmm *v);

/* What a restore needs before it sets the machine up. */
struct snapshot_layout {
	unsigned int nram;
	uint64_t gpa[2], size[2];
	bool has_disk;		/* disk (a)'s state is in it */
};

void snapshot_layout(const char *path, struct snapshot_layout *l);
void snapshot_restore(struct vmm *v, const char *path);

#endif /* VMM_SNAPSHOT_H */
