#!/usr/bin/env bash
# The trace command: boot the test VM, trace rnetns inside setup_net and
# cleanup_net (function_graph + the rnetns events, the README's recipe)
# while a few namespaces are created and destroyed, and save the trace on
# the host under results/.
# Usage: scripts/trace.sh [NAMESPACES]   (default 3)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:normal"
ko=$("$RNETNS_TOP/scripts/build-module.sh" normal)
scratch=$(mktemp -d /tmp/rnetns-trace.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# One vCPU: live patching of kernel text under QEMU's multi-threaded TCG
# can let another vCPU execute a just-removed int3.
"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --smp 1 --scratch "$scratch" -- env RNETNS_KO="$ko" \
	RNETNS_TRACE_NS="${1:-3}" scripts/trace-guest.sh
mkdir -p results
out=results/trace-$(date +%Y%m%d-%H%M%S).txt
cp "$scratch/trace.txt" "$out"
log "trace saved to $out ($(wc -l <"$out") lines; $(grep -c 'rnetns_' "$out") rnetns events)"
