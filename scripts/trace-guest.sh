#!/bin/bash
# Run inside the VM by scripts/trace.sh (and by tests/t60-trace.sh): the
# README's profile recipe. function_graph on setup_net and cleanup_net,
# four levels deep (the root, ops_init or the teardown helpers, the pernet
# callbacks, what they call), without interrupts, with the rnetns events, while
# $RNETNS_TRACE_NS namespaces (default 10) are created and destroyed; the
# trace is saved as OUTDIR/trace.txt and its profile printed
# (scripts/trace-profile.py), with OUTDIR/profile.png when matplotlib is
# there (RNETNS_TRACE_PROFILE=0: no profile; RNETNS_TRACE_CHECK=1: check its
# shape, trace-profile.py --check). Loads rnetns ($RNETNS_KO) if it is not loaded, and unloads it then.
# Usage: trace-guest.sh OUTDIR
set -eo pipefail
source "$(dirname "$0")/../tests/lib.sh"
out=${1:?usage: trace-guest.sh OUTDIR}
n=${RNETNS_TRACE_NS:-10}
mkdir -p "$out"
loaded_here=
loaded || { insmod "$RNETNS_KO"; loaded_here=1; }

reset_tracing
echo 16384 >$T/buffer_size_kb
echo 'setup_net cleanup_net' >$T/set_graph_function
echo 4 >$T/max_graph_depth
echo function_graph >$T/current_tracer
echo 1 >$T/options/funcgraph-tail
echo 1 >$T/options/funcgraph-proc
echo 0 >$T/options/funcgraph-irqs
echo 1 >$T/events/rnetns/enable
echo 1 >$T/tracing_on
for i in $(seq "$n"); do ip netns add "traced$i"; done
for i in $(seq "$n"); do ip netns del "traced$i"; done
# cleanup_net runs later, from the netns workqueue, for a batch at a time.
wait_for $TEARDOWN '[ "$(grep -c "rnetns_net_exit:" $T/trace)" -ge "$n" ]' ||
	echo "trace-guest: not every namespace was torn down in ${TEARDOWN}s" >&2
sleep 0.5
echo 0 >$T/tracing_on
cp $T/trace "$out/trace.txt"
reset_tracing
[ -z "$loaded_here" ] || rmmod rnetns
PY=/usr/bin/python3   # Debian's, where python3-matplotlib installs
[ "${RNETNS_TRACE_PROFILE:-1}" = 1 ] || exit 0
png=()
"$PY" -c 'import matplotlib' 2>/dev/null && png=(--png "$out/profile.png")
"$PY" "$RNETNS_TOP/scripts/trace-profile.py" "$out/trace.txt" "${png[@]}" ${RNETNS_TRACE_CHECK:+--check "$n"} |
	tee "$out/profile.txt"
