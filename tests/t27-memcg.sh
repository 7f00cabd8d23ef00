#!/bin/bash
# requires: /sys/fs/cgroup
# rnetns's per-namespace memory is charged to the memory cgroup of the task
# that makes the namespace, as the namespace's own memory is: a task in a
# child memory cgroup makes N namespaces (unshare -n, each held by a
# sleeper), once without rnetns and once with it, and the cgroup's percpu
# (memory.stat) must grow by at least N per-CPU blocks more with it: each
# block is a packets + bytes pair (16 bytes) per counted hook point, on
# every possible CPU.
source "$(dirname "$0")/lib.sh"
N=${RNETNS_MEMCG_NAMESPACES:-20}
CG=/sys/fs/cgroup
CHILD=$CG/rnetns-t27
HOLDERS=

cleanup() {
	bg_stop $HOLDERS
	rmdir "$CHILD" 2>/dev/null
}
fresh_start cleanup

# percpu: the cgroup's per-CPU bytes, once the statistics stop moving (the
# kernel flushes them at least every 2 s).
percpu() {
	local a b i
	for i in $(seq 30); do
		a=$(awk '$1 == "percpu" { print $2 }' "$CHILD/memory.stat")
		sleep 2.5
		b=$(awk '$1 == "percpu" { print $2 }' "$CHILD/memory.stat")
		[ "$a" = "$b" ] && { echo "$a"; return 0; }
	done
	echo "percpu of $CHILD keeps moving ($a, $b)" >&2
	return 1
}

# possible_cpus: how many CPUs the kernel may ever have (the per-CPU
# allocator makes a copy for each).
possible_cpus() {
	tr ',' '\n' </sys/devices/system/cpu/possible |
		awk -F- '{ n += ($2 == "" ? 1 : $2 - $1 + 1) } END { print n }'
}

# nets: how many network namespaces the child cgroup's tasks are in.
nets() {
	local p
	for p in $(cat "$CHILD/cgroup.procs"); do readlink /proc/$p/ns/net; done | sort -u | wc -l
}

# grow: make N namespaces from a shell moved into a new child cgroup, each
# held by a sleeper; sets GREW to how much the cgroup's percpu grew, then
# ends the sleepers and removes the cgroup.
grow() {
	local p0 p1
	mkdir "$CHILD" || return 1
	p0=$(percpu) || return 1
	bg_start bash -c "echo \$\$ >$CHILD/cgroup.procs && for i in \$(seq $N); do unshare -n sleep 600 & done; wait"
	HOLDERS=$BG_PID
	# Every sleeper in a namespace of its own (the shell is in init_net).
	wait_for 600 '[ "$(nets)" = $((N + 1)) ]' || fail "$(nets) namespaces in $CHILD, want $((N + 1))" || return 1
	p1=$(percpu) || return 1
	GREW=$((p1 - p0))
	echo "percpu of $CHILD: $p0 -> $p1 bytes"
	bg_stop $HOLDERS
	HOLDERS=
	wait_for 300 '[ ! -s $CHILD/cgroup.procs ]' && rmdir "$CHILD" || fail "cannot remove $CHILD"
}

t_setup() {
	mountpoint -q $CG || mount -t cgroup2 cgroup2 $CG || fail "cannot mount cgroup2" || return 1
	grep -qw memory $CG/cgroup.controllers || { echo "no memory controller"; return 4; }
	echo +memory >$CG/cgroup.subtree_control || return 1
	rmdir "$CHILD" 2>/dev/null
	echo "cgroup2 at $CG, memory controller enabled for its children; $(possible_cpus) possible CPUs"
}

t_charged() {
	local without with block rows want
	grow || return 1
	without=$GREW
	load_module || return 1
	rows=$(awk '$1 == "ipv4" || $1 == "ipv6"' $PROCF | wc -l)
	block=$((rows * 16 * $(possible_cpus)))
	grow || return 1
	with=$GREW
	want=$((N * block))
	echo "$N namespaces: percpu +$without bytes without rnetns, +$with with it: $((with - without)) more;" \
		"want at least $N x $block (a $((rows * 16))-byte block on each of $(possible_cpus) possible CPUs) = $want"
	[ $((with - without)) -ge "$want" ] || fail "rnetns's per-CPU blocks are not charged to the namespaces' cgroup"
}

ktap_plan 2
run_test "cgroup2 with the memory controller" t_setup
functional_test "$N namespaces made in a memory cgroup: their rnetns per-CPU blocks are charged to it" t_charged
ktap_finish
