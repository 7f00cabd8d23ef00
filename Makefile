# SPDX-License-Identifier: GPL-2.0
#
# rnetns: build the module against a Rust-enabled kernel build tree.
#
#   make                    build rnetns.ko against $(KDIR)
#   make KDIR=/path/to/O    build against your own kernel build (O= dir)
#   make CLIPPY=1           build with clippy, warnings are errors
#   make rustfmt            format the Rust sources
#   make rustfmtcheck       fail on a rustfmt diff
#   make rust-analyzer      write rust-project.json for editors
#   make rustdoc            render the module's documentation to doc/html
#   make install            modules_install for $(KDIR)'s kernel + depmod
#                           (INSTALL_MOD_PATH=DIR to install under DIR)
#   make clean
#
# Kbuild reads the file `Kbuild`; this Makefile only drives it.

KDIR ?= $(shell $(CURDIR)/scripts/kdir.sh)
LLVM ?= 1
export RUSTUP_TOOLCHAIN ?= 1.95.0
# bindgen from scripts/setup.sh, if it is there.
export PATH := $(or $(RNETNS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rnetns)/tools/bindgen-0.71.1/bin:$(PATH)

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM)

all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { \
		echo "rnetns: no built kernel at KDIR=$(KDIR)"; \
		echo "rnetns: run scripts/setup.sh, or pass KDIR=<your kernel build dir>"; exit 1; }
	@grep -q '^CONFIG_RUST=y' $(KDIR)/.config || { \
		echo "rnetns: the kernel at $(KDIR) has no CONFIG_RUST=y; see README.md"; exit 1; }
	$(KMAKE) modules

clippy:
	$(KMAKE) CLIPPY=1 KCFLAGS=-Werror \
		KRUSTFLAGS="-Dwarnings -Dclippy::missing_docs_in_private_items -Dclippy::missing_safety_doc" modules

rustfmt:
	rustfmt --edition 2021 --config-path $(CURDIR)/.rustfmt.toml $(shell find src -name '*.rs' ! -name '*_generated.rs')

rustfmtcheck:
	rustfmt --edition 2021 --config-path $(CURDIR)/.rustfmt.toml --check $(shell find src -name '*.rs' ! -name '*_generated.rs')

rust-analyzer:
	$(CURDIR)/scripts/rust-analyzer.sh $(KDIR)

rustdoc: modules
	$(CURDIR)/scripts/rustdoc.sh $(KDIR)

# INSTALL_MOD_PATH=DIR installs under DIR (as the kernel's own target does).
install: modules
	$(KMAKE) modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(shell cat $(KDIR)/include/config/kernel.release)

clean:
	$(KMAKE) clean
	rm -rf doc/html

.PHONY: all modules clippy rustfmt rustfmtcheck rust-analyzer rustdoc install clean
