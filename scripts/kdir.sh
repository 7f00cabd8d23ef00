#!/usr/bin/env bash
# Print the build directory of the cached test kernel ($1: normal or debug).
source "$(dirname "$0")/lib.sh"
rnetns_kdir "${1:-normal}"
