# SPDX-License-Identifier: GPL-2.0
#
# vmmem top-level Makefile.
#
#   make                 module (for KVER/KDIR), userlib, demo, selftests
#   make deps            install build/test dependencies (Debian bookworm)
#   make check           build and run the selftests in QEMU on every kernel
#   make check-debug     the selftests on a KASAN/lockdep/kmemleak 6.12 kernel
#   make demo            boot the 6.12 VM and run vmmem-demo $(DEMO_ARGS), then
#                        boot Linux in it with vmmem-vmm (VMM_ARGS: a|b, options)
#   make bench           vmmem vs vm-memory vs memcpy (bench/results/)
#   make bench-vmm       vmmem-vmm: boot time vs anonymous RAM, guest disk paths
#   make bench-snapshot  vmmem-vmm: live snapshot with vmmem's dirty log vs without
#   make fuzz-restore    vmmem-vmm's snapshot reader against mutated files,
#                        under ASan/UBSan on this host (FUZZ_SECONDS, 300)
#   make profile         perf in the VM: where batch and bulk copies spend time
#   make checkpatch | sparse | install | uninstall | clean
#   make dkms-install    vmmem.ko through DKMS, for every supported kernel
#   make dkms-uninstall  (DKMS_KVERS: kernels to build for, default all)
#   make deb             the Debian packages, in build/deb/ (pkg/build-debs.sh)
#   make check-packages  build, install, test and uninstall the packages
#
# Variables: KVER, KDIR (kernel for `make`/`make modules`), KVERS (kernels for
# check/sparse, default: newest installed 6.1.* and 6.12.*), DEMO_KVER,
# DEMO_ARGS, VMM_ARGS, VM_TIMEOUT, QEMU_ACCEL (see vm/run.sh), PREFIX, DESTDIR.

# Running kernel if it has headers, else the first installed one.
KVER ?= $(shell r=$$(uname -r); if [ -d /lib/modules/$$r/build ]; then echo $$r; \
	else ls -d /lib/modules/*/build 2>/dev/null | sort -V | head -n 1 | cut -d/ -f4; fi)
KDIR ?= /lib/modules/$(KVER)/build
# Left empty here: vm/kvers.sh is asked at run time, after `make deps`.
KVERS ?=
DEMO_KVER ?=
DEMO_ARGS ?=
VMM_ARGS ?=
VMM_BENCH_ROUNDS ?=
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
	deps check check-debug bench bench-vmm bench-snapshot fuzz-restore profile demo checkpatch sparse install uninstall \
	clean distclean install-userland dkms-source dkms-install dkms-uninstall deb check-packages

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

# vmmem-vmm in the 6.12 VM: boot on vmmem vs anonymous RAM, and the guest's
# disk throughput for each disk path (build/vmm/bench.txt).
bench-vmm:
	@vm/deps.sh
	@$(MAKE) --no-print-directory userlib demo-bin
	@demo/vmm/run-bench.sh $(VMM_BENCH_ROUNDS)

# vmmem-vmm's live snapshot in the 6.12 VM: pre-copy rounds, bytes written,
# the pause with the dirty log and without, restore time per GiB
# (build/vmm/snapshot-bench.txt; demo/vmm/SNAPSHOT.md).
bench-snapshot:
	@vm/deps.sh
	@$(MAKE) --no-print-directory userlib demo-bin
	@demo/vmm/run-snapshot-bench.sh

# vmmem-vmm's restore reader against mutated files, longer than the 5 s
# that make check gives it (demo/vmm/snapfuzz.c).
FUZZ_SECONDS ?= 300
fuzz-restore:
	@$(MAKE) --no-print-directory -C demo fuzz-restore FUZZ_SECONDS=$(FUZZ_SECONDS)

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
	@test -x demo/vmm/vmmem-vmm && test -f build/vmm/guest.cpio.gz || \
		{ echo "demo: demo/vmm/vmmem-vmm or its guest (build/vmm/) was not built" >&2; exit 1; }
	@rel="$(DEMO_KVER)"; [ -n "$$rel" ] || rel=$$(vm/kvers.sh | tr ' ' '\n' | grep '^6\.12\.' | tail -n 1); \
	[ -n "$$rel" ] || { echo "demo: no 6.12 kernel installed" >&2; exit 1; }; \
	vm/build-module.sh $$rel && \
	vm/run.sh -k $$rel -b demo/vmmem-demo -c "/bin/vmmem-demo $(DEMO_ARGS) && sh /vmm/demo.sh $(VMM_ARGS)"

checkpatch:
	@vm/deps.sh --ksrc
	perl $(KSRC)/scripts/checkpatch.pl --strict --no-tree -f \
		$(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) uapi/linux/vmmem.h

sparse:
	@kvers="$(KVERS)"; [ -n "$$kvers" ] || kvers=$$(vm/kvers.sh); \
	for rel in $$kvers; do vm/build-module.sh $$rel C=2 || exit 1; done

install: all install-userland

# The library, headers, pkg-config file and programs, not the module: the
# files of the Debian library and program packages (whose programs
# debian/rules links against the shared library; these are static). The
# programs are built by name, not by demo/'s `all`, which also builds
# `make demo`'s guest initramfs from this machine's kernel.
INSTALL_PROGRAMS := vmmem-demo vmm/vmmem-vmm

install-userland: userlib
	$(MAKE) -C demo $(INSTALL_PROGRAMS)
	@if grep -q '^install:' userlib/Makefile 2>/dev/null; then \
		$(MAKE) -C userlib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); fi
	for p in $(INSTALL_PROGRAMS); do \
		install -D -m 0755 demo/$$p $(DESTDIR)$(PREFIX)/bin/$${p##*/} || exit 1; done
	install -D -m 0644 uapi/linux/vmmem.h $(DESTDIR)$(PREFIX)/include/linux/vmmem.h

# What install-userland installed (same PREFIX and DESTDIR), not the module
# (make dkms-uninstall, or remove what modules_install put in /lib/modules).
uninstall:
	@if grep -q '^uninstall:' userlib/Makefile 2>/dev/null; then \
		$(MAKE) -C userlib uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); fi
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(INSTALL_PROGRAMS))) \
		$(DESTDIR)$(PREFIX)/include/linux/vmmem.h

# DKMS: the module's source tree, as dkms.conf describes it, goes to
# /usr/src/<name>-<version>; the version is the tree's one, in VERSION.
VMMEM_VERSION := $(shell cat VERSION)
DKMS_NAME := $(shell sed -n 's/^PACKAGE_NAME="\(.*\)"$$/\1/p' dkms.conf)
DKMS_DIR = /usr/src/$(DKMS_NAME)-$(VMMEM_VERSION)
DKMS_FILES = Kbuild VERSION kmod/Kbuild uapi/linux/vmmem.h \
	$(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h))
DKMS_KVERS ?=

dkms-source:
	@for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DESTDIR)$(DKMS_DIR)/$$f || exit 1; done
	sed 's/#MODULE_VERSION#/$(VMMEM_VERSION)/' dkms.conf >$(DESTDIR)$(DKMS_DIR)/dkms.conf
	@echo "  DKMS    source in $(DESTDIR)$(DKMS_DIR)"

# Builds and installs for each kernel with headers (DKMS_KVERS to choose);
# a kernel outside dkms.conf's BUILD_EXCLUSIVE_KERNEL is skipped.
dkms-install:
	@command -v dkms >/dev/null || { echo "dkms-install: no dkms (apt-get install dkms)" >&2; exit 1; }
	@if dpkg -S $(DKMS_DIR) >/dev/null 2>&1; then \
		echo "dkms-install: $(DKMS_DIR) belongs to a package (vmmem-dkms): remove it first" >&2; exit 1; fi
	@if [ -n "$$(dkms status -m $(DKMS_NAME) -v $(VMMEM_VERSION))" ]; then \
		dkms remove -m $(DKMS_NAME) -v $(VMMEM_VERSION) --all; fi
	rm -rf $(DKMS_DIR)
	@$(MAKE) --no-print-directory dkms-source DESTDIR=
	dkms add -m $(DKMS_NAME) -v $(VMMEM_VERSION)
	@kvers="$(DKMS_KVERS)"; [ -n "$$kvers" ] || kvers=$$(ls /lib/modules); \
	for k in $$kvers; do \
		[ -d /lib/modules/$$k/build ] || { echo "  DKMS    $$k: no headers, skipped"; continue; }; \
		dkms install -m $(DKMS_NAME) -v $(VMMEM_VERSION) -k $$k; rc=$$?; \
		case $$rc in 0) ;; 77) echo "  DKMS    $$k: not a kernel vmmem supports, skipped" ;; \
		*) echo "dkms-install: dkms install for $$k failed (rc=$$rc)" >&2; exit 1 ;; esac; \
	done
	@dkms status -m $(DKMS_NAME)

dkms-uninstall:
	@if dpkg -S $(DKMS_DIR) >/dev/null 2>&1; then \
		echo "dkms-uninstall: $(DKMS_DIR) belongs to a package: apt-get remove vmmem-dkms" >&2; exit 1; fi
	@if [ -n "$$(dkms status -m $(DKMS_NAME) -v $(VMMEM_VERSION) 2>/dev/null)" ]; then \
		echo "dkms remove -m $(DKMS_NAME) -v $(VMMEM_VERSION) --all"; \
		dkms remove -m $(DKMS_NAME) -v $(VMMEM_VERSION) --all || exit 1; fi
	rm -rf $(DKMS_DIR)

# Debian packages (debian/): vmmem-dkms, libvmmem1, libvmmem-dev,
# vmmem-utils, built by dpkg-buildpackage from a clean copy of the tree.
deb:
	@pkg/build-debs.sh

# Builds the packages, installs them here (root), checks the DKMS builds,
# boots the VM with the DKMS-built module and the installed vmmem-demo,
# builds a program with pkg-config, then uninstalls and checks nothing is
# left. Ends with "N passed, N failed, N skipped".
check-packages:
	@vm/deps.sh
	@pkg/check-packages.sh

clean:
	-@[ ! -d $(KDIR) ] || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(call submake,userlib,clean)
	$(call submake,demo,clean)
	$(call submake,selftests,clean OUT=$(TESTS_OUT))
	find build -mindepth 1 -maxdepth 1 ! -name ksrc -exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf build
