# SPDX-License-Identifier: GPL-2.0
#
# The shared part of the Makefiles of the benchmark modules in bench/*/
# (scripts/bench.sh builds them):
#
#   make                    build the module against $(KDIR)
#   make KDIR=/path/to/O    build against your own kernel build (O= dir)
#   make clean

KDIR ?= $(shell $(CURDIR)/../../scripts/kdir.sh)
include $(CURDIR)/../../scripts/kernel-llvm.mk

all: modules

modules:
	$(KMAKE) modules

clean:
	$(KMAKE) clean

.PHONY: all modules clean
