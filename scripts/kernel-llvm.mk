# SPDX-License-Identifier: GPL-2.0
#
# Included by the module Makefiles (the top one and bench/kmod.mk) once
# KDIR is set: a clang-built kernel takes modules from the same clang,
# LLVM=-<major> when that versioned clang is installed (Debian's clang-19),
# else LLVM=1; a gcc-built kernel gets no LLVM. Sets KERNEL_CLANG (the
# kernel's clang major version, empty for gcc) and KMAKE.

KERNEL_CLANG := $(shell sed -nE 's/^CONFIG_CC_VERSION_TEXT=".*clang version ([0-9]+)\..*/\1/p' $(KDIR)/.config 2>/dev/null)
ifneq ($(KERNEL_CLANG),)
LLVM ?= $(if $(shell command -v clang-$(KERNEL_CLANG)),-$(KERNEL_CLANG),1)
endif
# A gcc-built kernel (Debian's) names its compiler first in
# CONFIG_CC_VERSION_TEXT (x86_64-linux-gnu-gcc-16): modules take that one
# when it is installed, as the kernel warns if they do not.
KERNEL_GCC := $(if $(KERNEL_CLANG),,$(shell sed -nE 's/^CONFIG_CC_VERSION_TEXT="([^ ]*gcc[^ ]*) .*/\1/p' $(KDIR)/.config 2>/dev/null))
KERNEL_CC := $(if $(KERNEL_GCC),$(if $(shell command -v $(KERNEL_GCC)),$(KERNEL_GCC)))
# The kernel's architecture, from its configuration: a cross-built arm64
# kernel (RNETNS_ARCH=arm64) takes ARCH=arm64; x86_64 is the host's own.
KERNEL_ARCH := $(if $(shell grep -qs '^CONFIG_ARM64=y' $(KDIR)/.config && echo y),arm64)
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(KERNEL_ARCH),ARCH=$(KERNEL_ARCH)) $(if $(LLVM),LLVM=$(LLVM)) $(if $(KERNEL_CC),CC=$(KERNEL_CC))
