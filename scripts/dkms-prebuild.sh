#!/bin/sh
# DKMS pre-build step of rnetns (dkms.conf): the prepared build directory
# for kernel $1 in /var/cache/rnetns/distro/$1 (scripts/distro-kdir.sh,
# cached: only the first build for a kernel rebuilds its rust/).
set -e
[ -n "$1" ] || { echo "usage: $0 KERNELRELEASE" >&2; exit 2; }
RNETNS_CACHE=/var/cache/rnetns exec bash "$(dirname "$0")/distro-kdir.sh" --native "$1" >/dev/null
