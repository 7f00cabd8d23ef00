#!/bin/bash
# Runs in the guest booted from Debian's own kernel (scripts/debian-test.sh):
# first the checks that this is that kernel and that the rnetns it loads is
# the one DKMS installed (KTAP, to $RNETNS_SCRATCH/debian-guest.ktap), then
# the KTAP tests (tests/run.sh) with that module.
# The kernel's modules are those of the chroot's /lib/modules/<release>
# (Debian's linux-modules package and what DKMS installed there): the guest
# sees the host's root, whose /lib/modules is not Debian's, so modprobe runs
# with -d <chroot>, for the kernel's request_module() too.
# Env: RNETNS_DEB_RELEASE      the kernel release expected
#      RNETNS_DEB_MODROOT      the chroot (host path)
#      RNETNS_DEB_BUILD_ID     build ID of the module DKMS installed
#      RNETNS_KO               an uncompressed copy of that module
# Usage: scripts/debian-guest.sh [--tests-only] [TEST-FILE...]
top=$(cd "$(dirname "$0")/.." && pwd)
wrapper=$RNETNS_SCRATCH/modprobe
printf '#!/bin/sh\nexec /sbin/modprobe -d "%s" "$@"\n' "$RNETNS_DEB_MODROOT" >"$wrapper"
chmod 755 "$wrapper"
echo "$wrapper" >/proc/sys/kernel/modprobe
if [ "${1:-}" = --tests-only ]; then
	shift
	exec bash "$top/tests/run.sh" "$@"
fi
out=${RNETNS_SCRATCH:-/tmp}/debian-guest.ktap
n=0
check() {
	local desc=$1 o rc
	shift
	n=$((n + 1))
	o=$("$@" 2>&1) && rc=0 || rc=$?
	[ -z "$o" ] || sed 's/^/# /' <<<"$o"
	if [ "$rc" = 0 ]; then echo "ok $n $desc"; else echo "not ok $n $desc"; fi
}
t_uname() {
	echo "uname -r: $(uname -r)"
	echo "/proc/version: $(cat /proc/version)"
	[ "$(uname -r)" = "$RNETNS_DEB_RELEASE" ]
}
# The Debian way: modprobe finds the module DKMS installed
# (updates/dkms/rnetns.ko.xz); its build ID must be that of the file.
t_modprobe() {
	local id
	"$wrapper" -n -v rnetns || return 1
	"$wrapper" rnetns || return 1
	id=$(od -An -tx1 -j16 /sys/module/rnetns/notes/.note.gnu.build-id | tr -d ' \n')
	echo "build ID loaded: $id; of the DKMS module: $RNETNS_DEB_BUILD_ID"
	cat /proc/net/rnetns
	grep -h 'rnetns' /proc/modules
	echo "taint: $(cat /proc/sys/kernel/tainted)"
	rmmod rnetns || return 1
	[ -n "$id" ] && [ "$id" = "$RNETNS_DEB_BUILD_ID" ]
}
t_copy() {
	local id
	insmod "$RNETNS_KO" || return 1
	id=$(od -An -tx1 -j16 /sys/module/rnetns/notes/.note.gnu.build-id | tr -d ' \n')
	rmmod rnetns
	echo "build ID of $RNETNS_KO as loaded: $id"
	[ "$id" = "$RNETNS_DEB_BUILD_ID" ]
}
{
	echo "KTAP version 1"
	echo "1..3"
	check "the guest runs Debian's kernel $RNETNS_DEB_RELEASE" t_uname
	check "modprobe loads the rnetns DKMS installed (same build ID), /proc/net/rnetns works" t_modprobe
	check "the module the tests insmod is that one (same build ID)" t_copy
} | tee "$out"
exec bash "$top/tests/run.sh" "$@"
