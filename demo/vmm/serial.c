// SPDX-License-Identifier: GPL-2.0
/*
 * The 8250/16550A UART on 0x3f8, IRQ 4: enough of it for Linux's serial
 * console and for userspace writing to /dev/console.
 *
 * Register semantics are those of QEMU's hw/char/serial.c, which Linux's
 * autoconfig detects as a 16550A (16-byte FIFO: one THRE interrupt per 16
 * bytes). Output goes to our stdout at once, so the transmitter is always
 * empty; there is no input.
 *
 * The transmit interrupt matters: the kernel's console writes poll LSR, but
 * the tty layer (userspace output) writes a FIFO's worth and waits for THRE;
 * without the interrupt /init's output never drains. The line is an ISA
 * edge: we pulse it for each new THRE.
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "vmm.h"
#include "snapshot.h"

enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define LCR_DLAB	0x80
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_FIFO	0xc0	/* FIFOs enabled: what says 16550A */
#define FCR_FIFO_EN	0x01
#define LSR_THRE_TEMT	0x60
#define MCR_LOOP	0x10

/* Is an interrupt pending, and raise the line on a new one. */
static void serial_update(struct vmm *v)
{
	struct serial *s = &v->serial;
	int level = (s->ier & IER_THRI) && s->thr_pending;

	if (level && !s->line) {
		kvm_irq_line(v, SERIAL_GSI, 1);
		kvm_irq_line(v, SERIAL_GSI, 0);
	}
	s->line = level;
}

static double since_start(struct vmm *v)
{
	return v->t_start ? now_sec() - v->t_start : 0;
}

/* One console line, with our prefix, so our output and the guest's differ. */
void serial_flush(struct vmm *v)
{
	struct serial *s = &v->serial;

	if (!s->len)
		return;
	s->buf[s->len] = 0;
	if (s->mark && !s->mark_at && strstr(s->buf, s->mark))
		s->mark_at = since_start(v);
	if (s->save_at && strstr(s->buf, s->save_at)) {
		s->save_at = NULL;
		snapshot_trigger(v);
	}
	printf("%s%s\n", s->prefix, s->buf);
	fflush(stdout);
	s->len = 0;
}

static void serial_putc(struct vmm *v, uint8_t c)
{
	struct serial *s = &v->serial;

	s->bytes++;
	if (c == '\r')
		return;
	if (c == '\n' || s->len == sizeof(s->buf) - 1) {
		serial_flush(v);
		if (c == '\n')
			return;
	}
	s->buf[s->len++] = c;
}

static uint8_t serial_read(struct vmm *v, uint16_t off)
{
	struct serial *s = &v->serial;
	uint8_t fifo = s->fcr & FCR_FIFO_EN ? IIR_FIFO : 0, msr;

	switch (off) {
	case UART_RBR_THR:
		return s->lcr & LCR_DLAB ? s->dll : 0;
	case UART_IER:
		return s->lcr & LCR_DLAB ? s->dlm : s->ier;
	case UART_IIR_FCR:
		if ((s->ier & IER_THRI) && s->thr_pending) {
			/* Reading the THRE reason acknowledges it. */
			s->thr_pending = false;
			serial_update(v);
			return fifo | IIR_THRI;
		}
		return fifo | IIR_NO_INT;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE_TEMT;
	case UART_MSR:
		if (s->mcr & MCR_LOOP) {
			/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			msr = (s->mcr & 0x0c) << 4;
			msr |= (s->mcr & 0x02) << 3;
			msr |= (s->mcr & 0x01) << 5;
			return msr;
		}
		return 0xb0;	/* DCD, DSR, CTS */
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_write(struct vmm *v, uint16_t off, uint8_t val)
{
	struct serial *s = &v->serial;

	switch (off) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = val;
			return;
		}
		if (!(s->mcr & MCR_LOOP))
			serial_putc(v, val);
		/* Sent at once: the transmitter is empty again. */
		s->thr_pending = true;
		s->line = 0;
		serial_update(v);
		return;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = val;
			return;
		}
		/* Enabling THRI with an empty transmitter interrupts at once. */
		if ((val & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_pending = true;
		s->ier = val & 0x0f;
		serial_update(v);
		return;
	case UART_IIR_FCR:
		s->fcr = val & 0xc9;
		return;
	case UART_LCR:
		s->lcr = val;
		return;
	case UART_MCR:
		s->mcr = val & 0x1f;
		return;
	case UART_SCR:
		s->scr = val;
		return;
	}
}

void serial_io(struct vmm *v, uint16_t off, bool write, uint8_t *val)
{
	v->serial.exits++;
	if (write)
		serial_write(v, off, *val);
	else
		*val = serial_read(v, off);
}
