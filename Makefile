# SPDX-License-Identifier: GPL-2.0
#
# vmmem top-level Makefile.
#
#   make                 module (for KVER/KDIR), userlib, demo, selftests
#   make deps            install build/test dependencies (Debian bookworm)
#   make check           build and run the selftests in QEMU on every kernel
#   make check-debug     the selftests on a KASAN/lockdep/kmemleak 6.12 kernel
#   make demo            boot the 6.12 VM and run vmmem-demo $(DEMO_ARGS)
#   make bench           vmmem vs vm-memory vs memcpy (bench/results/)
#   make profile         perf in the VM: where batch and bulk copies spend time
#   make checkpatch | sparse | install | clean
#
# Variables: KVER, KDIR (kernel for `make`/`make modules`), KVERS (kernels for
# check/sparse, default: newest installed 6.1.* and 6.12.*), DEMO_KVER,
# DEMO_ARGS, VM_TIMEOUT, QEMU_ACCEL (see vm/run.sh), PREFIX, DESTDIR.

# Running kernel if it has headers, else the first installed one.
KVER ?= $(shell r=$$(uname -r); if [ -d /lib/modules/$$r/build ]; then echo $$r; \
	else ls -d /lib/modules/*/build 2>/dev/null | sort -V | head -n 1 | cut -d/ -f4; fi)
KDIR ?= /lib/modules/$(KVER)/build
# Left empty here: vm/kvers.sh is asked at run time, after `make deps`.
KVERS ?=
DEMO_KVER ?=
DEMO_ARGS ?=
PREFIX ?= /usr/local
DESTDIR ?=

KSRC := build/ksrc
KSRC_TAR := /usr/src/linux-source-6.12.tar.xz
KSFT_DIR := $(CURDIR)/$(KSRC)/tools/testing/selftests
TESTS_OUT := $(CURDIR)/build/selftests

# Run a sub-make only where that part of the tree already has a Makefile.
submake = @if [ -f $(1)/Makefile ]; then $(MAKE) -C $(1) $(2); \
	else echo "  SKIP    $(1)/ (no Makefile yet)"; fi

.PHONY: all modules modules_install userlib demo-bin selftests userland vm-tools \
	deps check check-debug bench profile demo checkpatch sparse install clean distclean

all: modules userland

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

userland: userlib demo-bin selftests vm-tools

# Helpers the test VM runs besides the tests (vm/init).
vm-tools: build/vm/kvm-hold

build/vm/kvm-hold: vm/kvm-hold.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -Wall -Wextra -Werror -o $@ $<

userlib:
	$(call submake,userlib)

demo-bin: userlib
	$(call submake,demo)

# The kselftest harness headers come from the linux-source tarball; extract
# them if we can, otherwise (no `make deps` yet) skip the selftests.
selftests: userlib
	@if [ ! -f selftests/Makefile ]; then echo "  SKIP    selftests/ (no Makefile yet)"; \
	elif [ ! -f $(KSRC)/.stamp ] && [ ! -f $(KSRC_TAR) ]; then \
		echo "  SKIP    selftests/ (no kselftest headers: run make deps)"; \
	else vm/deps.sh --ksrc && \
		$(MAKE) -C selftests OUT=$(TESTS_OUT) KSFT_DIR=$(KSFT_DIR); fi

deps:
	@vm/deps.sh

# Sequential on purpose: deps may have to install the compiler first.
check:
	@vm/deps.sh
	@$(MAKE) --no-print-directory userland
	@KVERS="$(KVERS)" vm/check.sh $(TESTS_OUT)

# vmmem vs vm-memory 0.10 vs memcpy, in 6.12 VM boots; bench/README.md.
bench:
	@bench/run.sh

# perf in the 6.12 VM: where a batch's and a bulk copy's time goes.
profile:
	@vm/deps.sh
	@bench/profile.sh

# The same suite on a KASAN/lockdep/kmemleak kernel built from
# linux-source-6.12 (about 20 min the first time, cached after).
check-debug:
	@vm/deps.sh
	@$(MAKE) --no-print-directory userland
	@vm/check-debug.sh $(TESTS_OUT)

demo:
	@vm/deps.sh
	@$(MAKE) --no-print-directory userlib demo-bin
	@test -x demo/vmmem-demo || { echo "demo: demo/vmmem-demo was not built" >&2; exit 1; }
	@rel="$(DEMO_KVER)"; [ -n "$$rel" ] || rel=$$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1); \
	[ -n "$$rel" ] || { echo "demo: no 6.12 kernel installed" >&2; exit 1; }; \
	vm/build-module.sh $$rel && \
	vm/run.sh -k $$rel -b demo/vmmem-demo -c "/bin/vmmem-demo $(DEMO_ARGS)"

checkpatch:
	@vm/deps.sh --ksrc
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree -f \
		$(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) uapi/linux/vmmem.h

sparse:
	@kvers="$(KVERS)"; [ -n "$$kvers" ] || kvers=$$(vm/kvers.sh); \
	for rel in $$kvers; do vm/build-module.sh $$rel C=2 || exit 1; done

install: all
	@if grep -q '^install:' userlib/Makefile 2>/dev/null; then \
		$(MAKE) -C userlib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); fi
	install -D -m 0755 demo/vmmem-demo $(DESTDIR)$(PREFIX)/bin/vmmem-demo
	install -D -m 0644 uapi/linux/vmmem.h $(DESTDIR)$(PREFIX)/include/linux/vmmem.h

clean:
	-@[ ! -d $(KDIR) ] || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(call submake,userlib,clean)
	$(call submake,demo,clean)
	$(call submake,selftests,clean OUT=$(TESTS_OUT))
	find build -mindepth 1 -maxdepth 1 ! -name ksrc -exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf build
