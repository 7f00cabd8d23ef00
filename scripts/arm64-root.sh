#!/usr/bin/env bash
# The arm64 guests' root filesystem (qemu/run --arch arm64): a Debian
# bookworm arm64 system made from Debian's packages, with the tools the
# tests use, cached in $RNETNS_CACHE/arm64-root (the x86_64 guests see the
# host's own root instead). Prints its directory.
#
# debootstrap's first stage runs here: it only downloads and unpacks the
# packages. Its second stage (the packages' maintainer scripts, arm64
# programs) runs inside an arm64 guest booted from that directory by
# qemu-system-aarch64 (TCG), so the host needs neither binfmt_misc nor
# qemu-user. The root then gets the guests' init (rnetns-init, below).
# About 2 minutes of downloads and 10 to 15 minutes of emulated set-up on
# 2 cores, once; the root is rebuilt when the package list changes.
#
# Usage: scripts/arm64-root.sh [--print] [KDIR]
#   --print  only print the directory (made or not)
#   KDIR     the arm64 kernel build directory to boot for the second stage
#            (default: the cached arm64 normal kernel of $RNETNS_KERNEL)
source "$(dirname "$0")/lib.sh"

root=$RNETNS_CACHE/arm64-root
[ "${1:-}" != --print ] || { echo "$root"; exit 0; }
kdir=${1:-$(RNETNS_ARCH=arm64 rnetns_kdir normal)}

# What the tests run in the guest (the x86_64 guests take these from the
# host, where scripts/setup.sh installs them).
PKGS=(
	bash busybox-static iproute2 iputils-ping nftables util-linux bsdutils
	procps kmod psmisc python3 python3-yaml python3-jsonschema gawk
)
want=$(printf '%s\n' bookworm "${PKGS[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$root/.rnetns-root" 2>/dev/null)" = "$want" ]; then
	echo "$root"
	exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
image=$kdir/arch/arm64/boot/Image
[ -f "$image" ] || die "no arm64 kernel at $image: run RNETNS_ARCH=arm64 scripts/setup.sh $RNETNS_KERNEL:normal"
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing: run RNETNS_ARCH=arm64 scripts/setup.sh"

$SUDO rm -rf "$root" "$root.tmp"
mkdir -p "$(dirname "$root")"
include=$(IFS=,; echo "${PKGS[*]}")
rnetns_stage "debootstrap bookworm arm64, first stage (downloads)" "$RNETNS_LOGS/arm64-root-stage1.log" \
	$SUDO debootstrap --foreign --arch=arm64 --variant=minbase --include="$include" \
	bookworm "$root.tmp" http://deb.debian.org/debian

# The second stage's init: run it, say so on the console, power off (a
# reset: QEMU runs with -no-reboot).
$SUDO tee "$root.tmp/rnetns-second-stage" >/dev/null <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/debootstrap/debootstrap --second-stage >/dev/console 2>&1 && echo "rnetns: second stage done" >/dev/console
sync
/bin/busybox reboot -f
EOF
$SUDO chmod 755 "$root.tmp/rnetns-second-stage"
# QEMU writes the guest's files as the user it runs as: root, so that the
# packages' owners and modes come out as on a real system.
rnetns_stage "debootstrap bookworm arm64, second stage (in an arm64 guest)" "$RNETNS_LOGS/arm64-root-stage2.log" \
	$SUDO timeout 3600 qemu-system-aarch64 -machine virt -accel tcg -cpu max -smp 2 -m 2G \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$image" \
	-append "console=ttyAMA0 panic=-1 root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144 rw init=/rnetns-second-stage" \
	-fsdev local,id=root,path="$root.tmp",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root </dev/null
grep -q "rnetns: second stage done" "$RNETNS_LOGS/arm64-root-stage2.log" ||
	die "debootstrap's second stage failed in the arm64 guest; see $RNETNS_LOGS/arm64-root-stage2.log"
$SUDO rm -f "$root.tmp/rnetns-second-stage"

# The guests' init (qemu/run's init= on arm64): a tmpfs over /tmp (the root
# is read-only), the scratch directory mounted at the host's path, then the
# staged copy's qemu/guest-init, which mounts the rest (and the scratch
# directory again over its own tmpfs).
$SUDO tee "$root.tmp/usr/local/sbin/rnetns-init" >/dev/null <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t tmpfs tmpfs /tmp
scratch=$(sed -n 's/.*rnetns_scratch=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p "$scratch"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rnetns-scratch "$scratch"
umount /proc
exec /bin/bash "$scratch/top/qemu/guest-init"
EOF
$SUDO chmod 755 "$root.tmp/usr/local/sbin/rnetns-init"
# The host's user running qemu/run must be able to read the root it exports.
$SUDO chown "$(id -u):$(id -g)" "$root.tmp"
echo "$want" | $SUDO tee "$root.tmp/.rnetns-root" >/dev/null
$SUDO mv "$root.tmp" "$root"
log "arm64 guest root ready: $root"
echo "$root"
