#!/bin/bash
# Torture, bounded: for RNETNS_TORTURE_SECONDS (default 45), several workers
# at once create namespaces every way (ip netns, unshare -n, clone), move
# veth ends into them, send traffic both ways, read and reset
# /proc/net/rnetns through files held open while namespaces are torn down,
# and destroy them, while another loop insmods and rmmods the module.
# Afterwards: no namespace or module state is left, net_namespace objects
# return to their baseline, kmemleak (when present) finds nothing of
# rnetns, and (checked by the runner) the kernel log is clean.
source "$(dirname "$0")/lib.sh"
SECS=${RNETNS_TORTURE_SECONDS:-45}
STATS=/tmp/torture
WORKERS=()

cleanup() { bg_stop "${WORKERS[@]}"; }
fresh_start cleanup
rm -rf $STATS
mkdir -p $STATS

# net_objects: allocated struct net objects. Shrinking the cache first moves
# free objects out of per-CPU slabs, where slabinfo counts them as active.
net_objects() {
	echo 1 >/sys/kernel/slab/net_namespace/shrink 2>/dev/null
	awk '$1 == "net_namespace" { print $2 }' /proc/slabinfo
}

# net_objects_le N: whether at most N struct net objects stay allocated
# once the namespaces already dismantled are really freed. Since 6.12 the
# last put of a namespace only queues its struct net on defer_free_list,
# which the next cleanup_net() frees after its rcu_barrier(): the
# namespaces of the last teardown batch stay allocated until another
# namespace dies. So a throwaway namespace is made and destroyed first, and
# the count is awaited for a while; the throwaway stays queued itself, so
# every count taken this way (the baseline too) includes it.
objects_le() { [ "$(net_objects)" -le "$1" ]; }
net_objects_le() {
	unshare -n true
	wait_until 20 objects_le "$1"
}

# churn WORKER: namespaces made and destroyed in turn by each method, with a
# veth end moved in, traffic both ways and proc reads and resets.
churn() {
	local w=$1 i=0 deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		i=$((i + 1))
		case $((i % 3)) in
		0)
			local ns=c$w-$i
			ip netns add "$ns" || continue
			ip link add "v$w-$i" type veth peer name "p$w-$i" netns "$ns"
			ip addr add "10.$((50 + w)).$((i % 250)).1/30" dev "v$w-$i"
			ip link set "v$w-$i" up
			ip -n "$ns" addr add "10.$((50 + w)).$((i % 250)).2/30" dev "p$w-$i"
			ip -n "$ns" link set "p$w-$i" up
			ip -n "$ns" link set lo up
			# A reader holds the file open across the namespace's deletion.
			ip netns exec "$ns" $NSUTIL hold-read $PROCF 2 >>$STATS/hold.$w &
			ping -c 2 -i 0.2 -W 1 -q "10.$((50 + w)).$((i % 250)).2" >/dev/null
			ip netns exec "$ns" ping -c 1 -W 1 -q "10.$((50 + w)).$((i % 250)).1" >/dev/null
			ip netns exec "$ns" cat $PROCF >/dev/null
			ip link del "v$w-$i" 2>/dev/null
			ip netns del "$ns"
			;;
		1)
			unshare -n sh -c "ip link set lo up; ping -c 3 -i 0.2 -q 127.0.0.1 >/dev/null;
				cat $PROCF >/dev/null; echo reset > $PROCF" 2>/dev/null
			;;
		2)
			$NSUTIL clone-exec sh -c "ip link set lo up; ping -6 -c 2 -i 0.2 -q ::1 >/dev/null;
				cat $PROCF >/dev/null" 2>/dev/null
			;;
		esac
		echo x >>$STATS/created.$w
	done
}

# readers: every named namespace's file read and reset, racing teardown.
readers() {
	local deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for f in /run/netns/*; do
			nsenter --net="$f" sh -c "cat $PROCF; echo reset > $PROCF" >/dev/null 2>&1
		done
		cat $LIFEF >/dev/null 2>&1
	done
}

# modloop: insmod and rmmod in turn.
modloop() {
	local deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if loaded; then
			rmmod rnetns && echo x >>$STATS/unloads
		else
			insmod "$RNETNS_KO" && echo x >>$STATS/loads
		fi
		sleep 0.$((RANDOM % 8 + 2))
	done
}

lines() { cat "$@" 2>/dev/null | wc -l; }

t_torture() {
	wait_until 60 net_objects_le 1
	NET0=$(net_objects)
	echo "net_namespace objects before: $NET0 (with a throwaway namespace queued for freeing)"
	load_module || return 1
	LIVE0=$(live)
	veth_pair 10.60.0 || return 1
	dmesg -C
	bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS STATS=$STATS; $(declare -f churn); churn 1"
	WORKERS+=($BG_PID)
	bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS STATS=$STATS; $(declare -f churn); churn 2"
	WORKERS+=($BG_PID)
	bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS STATS=$STATS; udp_both_ways 10.60.0"
	WORKERS+=($BG_PID)
	bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS; $(declare -f readers); readers"
	WORKERS+=($BG_PID)
	bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS STATS=$STATS; $(declare -f modloop loaded); modloop"
	WORKERS+=($BG_PID)
	local p
	for p in "${WORKERS[@]}"; do wait "$p"; done
	WORKERS=()
	sleep 3 # readers holding files open finish
	echo "ran ${SECS}s: $(lines $STATS/created.*) namespaces created and destroyed," \
		"$(awk '{ s += $1 } END { print s + 0 }' $STATS/packets 2>/dev/null) UDP datagrams sent," \
		"$(lines $STATS/loads) loads, $(lines $STATS/unloads) unloads"
	echo "held-open readers: $(cat $STATS/hold.* 2>/dev/null | tr ' ' '\n' | sort | uniq -c | sort -rn | head -8 | tr '\n' ' ')"
	[ "$(lines $STATS/created.*)" -gt 0 ] && [ "$(lines $STATS/unloads)" -gt 0 ] || fail "the workers did nothing"
}

t_nothing_left() {
	cleanup_netns
	load_module || return 1
	# Every namespace the workers made has been torn down (exit ran).
	wait_for $TEARDOWN '[ "$(live)" = "$LIVE0" ]' || fail "live $(live), before the torture $LIVE0" || return 1
	dmesg -C
	rmmod rnetns || return 1
	dmesg | grep -q 'rnetns: unloaded; no namespace holds rnetns state' ||
		fail "unload did not end at zero live states: $(dmesg | grep rnetns)"
	dmesg | grep 'still hold' && return 1
	return 0
}

# net_holders: what may still hold a network namespace: the namespaces
# processes are in, nsfs and sysfs mounts (a sysfs mounted by `ip netns
# exec` pins its namespace) and tasks other than the shell's own.
net_holders() {
	echo "namespaces of processes: $(readlink /proc/[0-9]*/ns/net 2>/dev/null | sort | uniq -c | tr '\n' ' ')"
	echo "nsfs mounts: $(grep -h -c ' nsfs ' /proc/[0-9]*/mountinfo 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')," \
		"sysfs mounts: $(grep -h -c ' sysfs ' /proc/[0-9]*/mountinfo 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
	ps -N --ppid 2 -o pid,stat,args | grep -v -E '^ *[0-9]+ +[A-Za-z+<]+ +(ps|grep|bash|sed|tee) ' | head -20
	cat /proc/net/rnetns_lifecycle 2>/dev/null | head -4
}

t_net_objects() {
	# Namespace teardown is asynchronous (cleanup_net): wait for it.
	wait_until $TEARDOWN net_objects_le "$NET0" || {
		echo "net_namespace objects: $(net_objects), before: $NET0"
		net_holders
		return 1
	}
	echo "net_namespace objects after: $(net_objects) (counted as before)"
}

ktap_plan 4
run_test "torture: namespace churn, veth moves, traffic, proc reads/resets and insmod/rmmod at once" t_torture
run_test "afterwards the last unload ends with no namespace holding state" t_nothing_left
run_test "net_namespace objects return to their baseline" t_net_objects
run_test "kmemleak finds nothing of rnetns" kmemleak_file_check
ktap_finish
