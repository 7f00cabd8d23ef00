#!/usr/bin/env bash
# Print the build directory of the cached test kernel of $RNETNS_KERNEL
# (default: the newest supported) and variant $1 (normal, debug, rt, up or
# bench).
source "$(dirname "$0")/lib.sh"
rnetns_kdir "${1:-normal}"
