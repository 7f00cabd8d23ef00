# SPDX-License-Identifier: GPL-2.0
#
# rnetns: build the module against a Rust-enabled kernel build tree.
#
#   make                    build rnetns.ko against the cached test kernel of
#                           RNETNS_KERNEL (7.2 by default, or 6.12)
#   make KDIR=/path/to/O    build against your own kernel build (O= dir) of
#                           Linux 6.12 or 7.2 with CONFIG_RUST=y
#   make clippy             build with clippy, warnings are errors
#   make KBUILD_MODPOST_WARN=1 KDIR=DIR   compile and lint only, against a
#                           tree prepared with `make modules_prepare`
#   make rustfmt            format the Rust sources
#   make rustfmtcheck       fail on a rustfmt diff
#   make rust-analyzer      write rust-project.json for editors
#   make rustdoc            render the module's documentation to doc/html
#   make install            modules_install for $(KDIR)'s kernel + depmod
#                           (INSTALL_MOD_PATH=DIR to install under DIR)
#   make cli                build the rnetns command (cli/, cargo, release)
#   make install-cli        install it as $(DESTDIR)$(PREFIX)/bin/rnetns
#                           (PREFIX=/usr/local by default)
#   make clean
#
# Kbuild reads the file `Kbuild`; this Makefile only drives it.

# The kernels whose differences src/ext/compat.rs knows.
SUPPORTED_KERNELS := 6.12 7.2

KDIR ?= $(shell $(CURDIR)/scripts/kdir.sh)
KERNELRELEASE_OF_KDIR := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
KERNEL_SERIES := $(shell echo '$(KERNELRELEASE_OF_KDIR)' | sed -nE 's/^([0-9]+\.[0-9]+).*/\1/p')
include $(CURDIR)/scripts/kernel-llvm.mk
# bindgen loads the libclang of the kernel's clang (7.2 wants >= 17), or 19.
# Left unset when there is none (Debian's bindgen finds its own libclang; an
# empty LIBCLANG_PATH makes it fail).
LIBCLANG_PATH ?= $(firstword $(wildcard /usr/lib/llvm-$(or $(KERNEL_CLANG),19)/lib))
ifneq ($(LIBCLANG_PATH),)
export LIBCLANG_PATH
else
unexport LIBCLANG_PATH
endif
export RUSTUP_TOOLCHAIN ?= 1.95.0
# bindgen from scripts/setup.sh, if it is there.
export PATH := $(or $(RNETNS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rnetns)/tools/bindgen-0.71.1/bin:$(PATH)


all: modules

# A tree that only ran `make modules_prepare` has no Module.symvers: with
# KBUILD_MODPOST_WARN=1 the module still compiles and lints against it
# (modpost warns about the symbols it cannot check), for a .ko never loaded.
check-kdir:
	@test -f $(KDIR)/Module.symvers || { [ -n "$(KBUILD_MODPOST_WARN)" ] && \
		test -f $(KDIR)/include/generated/rustc_cfg; } || { \
		echo "rnetns: no built kernel at KDIR=$(KDIR)"; \
		echo "rnetns: run scripts/setup.sh, or pass KDIR=<your kernel build dir>"; exit 1; }
	@case " $(SUPPORTED_KERNELS) " in *" $(KERNEL_SERIES) "*) ;; *) \
		[ -n "$(RNETNS_UNTESTED_KERNEL)" ] || { \
		echo "rnetns: KDIR=$(KDIR) is Linux '$(KERNELRELEASE_OF_KDIR)'; rnetns supports Linux $(SUPPORTED_KERNELS)"; \
		echo "rnetns: (RNETNS_UNTESTED_KERNEL=1 tries anyway: src/ext/compat.rs picks its code by the tree's features)"; \
		exit 1; } ;; esac
	@grep -q '^CONFIG_RUST=y' $(KDIR)/.config || { \
		echo "rnetns: the kernel at $(KDIR) has no CONFIG_RUST=y; see README.md"; exit 1; }

modules: check-kdir
	$(KMAKE) modules

clippy: check-kdir
	$(KMAKE) CLIPPY=1 KCFLAGS=-Werror \
		KRUSTFLAGS="-Dwarnings -Dclippy::missing_docs_in_private_items -Dclippy::missing_safety_doc" modules

rustfmt:
	rustfmt --edition 2021 --config-path $(CURDIR)/.rustfmt.toml $(shell find src -name '*.rs' ! -name '*_generated.rs')

rustfmtcheck:
	rustfmt --edition 2021 --config-path $(CURDIR)/.rustfmt.toml --check $(shell find src -name '*.rs' ! -name '*_generated.rs')

rust-analyzer: check-kdir
	LLVM=$(LLVM) $(CURDIR)/scripts/rust-analyzer.sh $(KDIR)

rustdoc: modules
	$(CURDIR)/scripts/rustdoc.sh $(KDIR)

# INSTALL_MOD_PATH=DIR installs under DIR (as the kernel's own target does).
install: modules
	$(KMAKE) modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(shell cat $(KDIR)/include/config/kernel.release)

# The rnetns command: its own cargo crate, independent of KDIR.
PREFIX ?= /usr/local
CARGO ?= cargo
cli:
	$(CARGO) build --release --locked --manifest-path $(CURDIR)/cli/Cargo.toml

install-cli: cli
	install -D -m 0755 $(CURDIR)/cli/target/release/rnetns $(DESTDIR)$(PREFIX)/bin/rnetns

clean:
	$(KMAKE) clean
	rm -rf doc/html

.PHONY: all check-kdir modules clippy rustfmt rustfmtcheck rust-analyzer rustdoc install cli install-cli clean
