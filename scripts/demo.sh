#!/usr/bin/env bash
# The rnetns main job: set up (idempotent), build the module, boot the test
# kernel of $RNETNS_KERNEL (default: the newest supported, 7.2) under QEMU and demonstrate rnetns there: load it, create namespaces
# in several ways, show each namespace's /proc/net/rnetns, destroy them and
# unload.
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:normal"
ko=$("$RNETNS_TOP/scripts/build-module.sh" normal)
log "built $ko; booting the demo on Linux $RNETNS_KERNEL"
exec "$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" -- env RNETNS_KO="$ko" scripts/demo-guest.sh
