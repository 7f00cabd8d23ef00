#!/bin/bash
# Run inside the VM by scripts/trace.sh: the README's tracing recipe.
set -e
source "$(dirname "$0")/../tests/lib.sh"
insmod "$RNETNS_KO"
echo 16384 >$T/buffer_size_kb
graph_with_events setup_net cleanup_net
for i in $(seq "${RNETNS_TRACE_NS:-3}"); do
	ip netns add "traced$i"
	echo "traced$i: inode $(stat -L -c %i /run/netns/traced$i)"
done
for i in $(seq "${RNETNS_TRACE_NS:-3}"); do ip netns del "traced$i"; done
# cleanup_net runs asynchronously, from the netns workqueue.
for _ in $(seq 300); do
	[ "$(grep -c 'rnetns_net_exit:' $T/trace)" -ge "${RNETNS_TRACE_NS:-3}" ] && break
	sleep 0.1
done
echo 0 >$T/tracing_on
cp $T/trace "$RNETNS_SCRATCH/trace.txt"
grep 'rnetns_' $T/trace | sed 's/^ *//' | head -n 20
rmmod rnetns
