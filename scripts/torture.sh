#!/usr/bin/env bash
# The long torture run: boots the debug kernel (KASAN, kmemleak, lockdep,
# refcount trackers) and runs tests/t40-torture.sh for SECONDS (default 600)
# instead of the test command's short version, then the fault-injection
# tests with three namespaces present and a 60 s fuzz. Ends with
# "N passed, N failed" like the test command.
# Usage: scripts/torture.sh [SECONDS]
# Env: RNETNS_FAULT_INSMOD=all  fail every insmod allocation site in turn
#      instead of a sample (each failed load takes tens of seconds on the
#      debug kernel under emulation: hours in all)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
secs=${1:-600}
"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:debug"
ko=$("$RNETNS_TOP/scripts/build-module.sh" debug)
scratch=$(mktemp -d /tmp/rnetns-torture.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
rc=0
"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --debug --timeout $((secs + 7200)) --scratch "$scratch" -- \
	env RNETNS_KO="$ko" RNETNS_TORTURE_SECONDS="$secs" RNETNS_FUZZ_SECONDS=60 RNETNS_FAULT_NAMESPACES=3 RNETNS_FAULT_INSMOD="${RNETNS_FAULT_INSMOD:-sample}" \
	tests/run.sh t40-torture.sh t50-faults.sh t30-fuzz.sh || rc=$?
python3 "$RNETNS_TOP/scripts/ktap-summary.py" "debug=$scratch/results.ktap:$rc"
