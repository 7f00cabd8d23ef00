#!/usr/bin/env bash
# The rnetns test command: set up (idempotent), build the module, boot the
# test kernel under QEMU, run the KTAP tests inside, and print
# "N passed, N failed" as the last line. Exits non-zero if anything failed.
#
# Usage: scripts/test.sh [TEST-FILE...]   (default: every tests/t*.sh)
# Env:   RNETNS_QEMU_ARGS  extra options for qemu/run (for example --smp 4)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"

"$RNETNS_TOP/scripts/setup.sh"
make -s >"$RNETNS_LOGS/module-build.log" 2>&1 || {
	cat "$RNETNS_LOGS/module-build.log" >&2
	die "module build failed"
}
log "built $(ls -1 rnetns.ko)"

scratch=$(mktemp -d /tmp/rnetns-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
vm_rc=0
# shellcheck disable=SC2086
"$RNETNS_TOP/qemu/run" --scratch "$scratch" ${RNETNS_QEMU_ARGS:-} -- tests/run.sh "$@" || vm_rc=$?

python3 "$RNETNS_TOP/scripts/ktap-summary.py" "$scratch/results.ktap" --vm-exit "$vm_rc"
