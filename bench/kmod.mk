# SPDX-License-Identifier: GPL-2.0
#
# The shared part of the Makefiles of the benchmark modules in bench/*/
# (scripts/bench.sh builds them):
#
#   make                    build the module against $(KDIR)
#   make KDIR=/path/to/O    build against your own kernel build (O= dir)
#   make clean

KDIR ?= $(shell $(CURDIR)/../../scripts/kdir.sh)
# As the top Makefile: the kernel's own clang, if it was built with one.
KERNEL_CLANG := $(shell sed -nE 's/^CONFIG_CC_VERSION_TEXT=".*clang version ([0-9]+)\..*/\1/p' $(KDIR)/.config 2>/dev/null)
ifneq ($(KERNEL_CLANG),)
LLVM ?= $(if $(shell command -v clang-$(KERNEL_CLANG)),-$(KERNEL_CLANG),1)
endif
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(LLVM),LLVM=$(LLVM))

all: modules

modules:
	$(KMAKE) modules

clean:
	$(KMAKE) clean

.PHONY: all modules clean
