#!/usr/bin/env bash
# The rnetns main job: set up (idempotent), build the module, boot the test
# kernel of $RNETNS_KERNEL (default: the newest supported, 7.2) under QEMU
# and demonstrate rnetns there: load it, create namespaces in several ways,
# show each namespace's /proc/net/rnetns, destroy them and unload.
# Usage: scripts/demo.sh [--variant V]
#   --variant V  the test kernel variant to boot (default debug: the one the
#                test command's default run builds too, so the two commands
#                share one kernel build; normal boots faster once built)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
variant=debug
while [ $# -gt 0 ]; do
	case $1 in
	--variant) variant=$2; shift ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "demo.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done
"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:$variant"
ko=$("$RNETNS_TOP/scripts/build-module.sh" "$variant")
log "built $ko; booting the demo on Linux $RNETNS_KERNEL ($variant kernel)"
exec "$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --variant "$variant" -- env RNETNS_KO="$ko" scripts/demo-guest.sh
