#!/usr/bin/env bash
# The arm64 guests' root filesystem (qemu/run --arch arm64): a Debian
# bookworm arm64 system made from Debian's packages, with the tools the
# tests use, cached in $RNETNS_CACHE/arm64-root (the x86_64 guests see the
# host's own root instead). Prints its directory.
#
# Made from Debian's packages without running an arm64 program on the
# host: debootstrap's first stage (--foreign: it resolves, downloads and
# unpacks the base system), then every package it fetched unpacked the same
# way (dpkg-deb's data, merged /usr kept), and the few things the packages'
# maintainer scripts would have made that the tests need: the users and
# groups of base-passwd, the awk alternative. Running those scripts
# (debootstrap's second stage) in an emulated arm64 guest on the 9p root
# was measured here at 4 packages configured in 9 minutes, hours for the
# whole: the tests need the programs, not a configured dpkg database. About
# 3 minutes (downloads), once; the root is rebuilt when the package list
# changes.
#
# Usage: scripts/arm64-root.sh [--print]
#   --print  only print the directory (made or not)
source "$(dirname "$0")/lib.sh"

root=$RNETNS_CACHE/arm64-root
[ "${1:-}" != --print ] || { echo "$root"; exit 0; }
# What the tests run in the guest (the x86_64 guests take these from the
# host, where scripts/setup.sh installs them), Debian's prometheus (and curl) for the
# rnetns command's tests, and the C library and GCC run-time files that the
# command's arm64 build links against (scripts/build-cli.sh --arch arm64,
# with this root as its sysroot).
PKGS=(
	bash busybox-static iproute2 iputils-ping nftables util-linux bsdutils
	procps kmod psmisc python3 python3-yaml python3-jsonschema python3-matplotlib gawk
	curl prometheus libc6-dev libgcc-12-dev
)
# The key: the package list and what is made beyond unpacking (the
# alternatives below).
want=$(printf '%s\n' bookworm "${PKGS[@]}" 'alternatives: libblas.so.3 liblapack.so.3' | sha256sum | cut -c1-16)
if [ "$(cat "$root/.rnetns-root" 2>/dev/null)" = "$want" ]; then
	echo "$root"
	exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO rm -rf "$root" "$root.tmp"
mkdir -p "$(dirname "$root")"
include=$(IFS=,; echo "${PKGS[*]}")
rnetns_stage "debootstrap bookworm arm64, first stage (downloads)" "$RNETNS_LOGS/arm64-root-debootstrap.log" \
	$SUDO debootstrap --foreign --arch=arm64 --variant=minbase --include="$include" \
	bookworm "$root.tmp" http://deb.debian.org/debian
unpack() {
	local pkg deb
	while read -r pkg deb; do
		echo "$pkg"
		dpkg-deb --fsys-tarfile "$1$deb" | tar -C "$1" --keep-directory-symlink -xf - || return 1
	done <"$1/debootstrap/debpaths"
}
rnetns_stage "unpack every package" "$RNETNS_LOGS/arm64-root-unpack.log" \
	$SUDO bash -c "$(declare -f unpack); unpack \"\$1\"" sh "$root.tmp"
# What maintainer scripts would have made: users and groups, awk, and the
# BLAS and LAPACK libraries' alternatives (numpy, under python3-matplotlib,
# links against libblas.so.3 and liblapack.so.3).
$SUDO cp "$root.tmp/usr/share/base-passwd/passwd.master" "$root.tmp/etc/passwd"
$SUDO cp "$root.tmp/usr/share/base-passwd/group.master" "$root.tmp/etc/group"
$SUDO ln -sf gawk "$root.tmp/usr/bin/awk"
for lib in blas/libblas.so.3 lapack/liblapack.so.3; do
	[ ! -e "$root.tmp/usr/lib/aarch64-linux-gnu/$lib" ] ||
		$SUDO ln -sf "$lib" "$root.tmp/usr/lib/aarch64-linux-gnu/${lib#*/}"
done
# debootstrap leaves /proc a symbolic link to the host's when it believes
# it runs in a container; the guest mounts its own there.
$SUDO rm -f "$root.tmp/proc"
$SUDO mkdir -p "$root.tmp/usr/local/sbin" "$root.tmp/tmp" "$root.tmp/run" "$root.tmp/var/tmp" \
	"$root.tmp/proc" "$root.tmp/sys" "$root.tmp/dev" "$root.tmp/mnt"
$SUDO rm -rf "$root.tmp/debootstrap" "$root.tmp/var/cache/apt/archives/"*.deb

# The guests' init (qemu/run's init= on arm64): the staged copy's
# qemu/guest-init, which the host's /tmp does not show here, copied out of
# the scratch directory into the devtmpfs (the root is read-only), and
# started from there: it mounts the scratch directory itself, over its
# tmpfs on /tmp (a 9p share mounts once at a time).
$SUDO tee "$root.tmp/usr/local/sbin/rnetns-init" >/dev/null <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rnetns-scratch /mnt
cp /mnt/top/qemu/guest-init /dev/rnetns-guest-init
umount /mnt
exec /bin/bash /dev/rnetns-guest-init
EOF
$SUDO chmod 755 "$root.tmp/usr/local/sbin/rnetns-init"
# The host's user running qemu/run must be able to read the root it exports.
$SUDO chown "$(id -u):$(id -g)" "$root.tmp"
echo "$want" | $SUDO tee "$root.tmp/.rnetns-root" >/dev/null
$SUDO mv "$root.tmp" "$root"
log "arm64 guest root ready: $root"
echo "$root"
