#!/usr/bin/env bash
# The trace command: what does namespace creation spend its time on, and
# what does rnetns add? Boots the test VM (one vCPU), creates and destroys N
# namespaces (default 10) under function_graph on setup_net and cleanup_net
# with the rnetns events (scripts/trace-guest.sh, the README's recipe), and
# prints the profile of the pernet operations they ran
# (scripts/trace-profile.py): per ops_init / teardown callee, count, total,
# median and p99 duration and share, rnetns's rows marked. Saves the trace,
# the table and a PNG of it under results/trace-DATE/.
# Usage: scripts/trace.sh [N]       (kernel: $RNETNS_KERNEL, default 7.2)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"
n=${1:-10}
[[ $n =~ ^[1-9][0-9]*$ ]] || die "trace.sh: N must be a positive number of namespaces, not '$n'"
"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:normal"
ko=$("$RNETNS_TOP/scripts/build-module.sh" normal)
scratch=$(mktemp -d /tmp/rnetns-trace.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# One vCPU: live patching of kernel text under QEMU's multi-threaded TCG
# can let another vCPU execute a just-removed int3.
"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --smp 1 --scratch "$scratch" -- env RNETNS_KO="$ko" \
	RNETNS_TRACE_NS="$n" RNETNS_TRACE_PROFILE=0 scripts/trace-guest.sh "$scratch/out" >"$scratch/guest.log" ||
	{ cat "$scratch/guest.log"; die "trace.sh: the traced run failed"; }
out=results/trace-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
cp "$scratch/out/trace.txt" "$out/"
PY=/usr/bin/python3   # Debian's, where python3-matplotlib installs
png=()
"$PY" -c 'import matplotlib' 2>/dev/null && png=(--png "$out/profile.png")
echo "Linux $RNETNS_KERNEL, $n namespaces created and destroyed, one vCPU under TCG" | tee "$out/profile.txt"
"$PY" scripts/trace-profile.py "$out/trace.txt" "${png[@]}" | tee -a "$out/profile.txt"
[ ${#png[@]} -gt 0 ] || log "no plot: python3-matplotlib is not installed (scripts/setup.sh installs it)"
log "trace, profile and plot saved under $out ($(wc -l <"$out/trace.txt") trace lines)"
