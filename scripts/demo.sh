#!/usr/bin/env bash
# The rnetns main job: set up (idempotent), build the module, boot the test
# kernel under QEMU and demonstrate rnetns there: load it, create namespaces
# in several ways, show each namespace's /proc/net/rnetns, destroy them and
# unload.
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
"$RNETNS_TOP/scripts/setup.sh"
make -s >"$RNETNS_LOGS/module-build.log" 2>&1 || {
	cat "$RNETNS_LOGS/module-build.log" >&2
	die "module build failed"
}
log "built rnetns.ko; booting the demo"
exec "$RNETNS_TOP/qemu/run" -- scripts/demo-guest.sh
