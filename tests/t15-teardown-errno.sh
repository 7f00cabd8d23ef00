#!/bin/bash
# The errnos of /proc/net/rnetns while rnetns tears a namespace's state
# down. An open file holds its namespace, so a held-open file meets that
# teardown when the module is unloaded: pre_exit of every namespace, an RCU
# grace period, then exit of each, which removes the file. For
# RNETNS_TEARDOWN_ROUNDS rounds (default 3), RNETNS_TEARDOWN_NAMESPACES
# namespaces (default 8; half of them deleted by name, so held only by the
# open file) each get their file opened and hammered from a thread of its
# own (read, reset, hooks=all) while rmmod runs. Every result must be ok,
# then ENODEV once the teardown has begun, then EIO once the file is gone:
# never EAGAIN (which is only for a namespace still being set up), never ok
# after ENODEV (a read or reset served after pre_exit) and never back. Each
# of the three operations must meet ENODEV at least once, so the window
# between pre_exit and the file's removal was hit.
source "$(dirname "$0")/lib.sh"
ROUNDS=${RNETNS_TEARDOWN_ROUNDS:-3}
NNS=${RNETNS_TEARDOWN_NAMESPACES:-8}
OUT=/tmp/teardown
HAMMER=

cleanup() { [ -z "$HAMMER" ] || bg_stop "$HAMMER"; }
fresh_start cleanup
rm -rf $OUT
mkdir -p $OUT

# round R: namespaces dR-1..dR-NNS, their files hammered across an rmmod.
round() {
	local r=$1 i f=$OUT/round.$1 files=()
	load_module || return 1
	for i in $(seq 1 "$NNS"); do
		ip netns add "d$r-$i" || return 1
		files+=("/run/netns/d$r-$i")
	done
	setsid $NSUTIL hold-hammer 300 "${files[@]}" >"$f" 2>&1 &
	HAMMER=$!
	wait_until 120 grep -q '^ready' "$f" || fail "round $r: the hammer did not start: $(cat "$f")" || return 1
	# Half the namespaces lose their name: only the open files hold them.
	for i in $(seq 1 2 "$NNS"); do ip netns del "d$r-$i" || return 1; done
	sleep 1
	rmmod rnetns || return 1
	wait "$HAMMER"
	HAMMER=
	echo "round $r: $(grep -v '^ready' "$f" | grep -v '^bad:' | tr '\n' ' ')"
	grep '^bad:' "$f" | head -n 20
	! grep -q '^bad:' "$f"
}

t_rounds() {
	local r rc=0
	dmesg -C # the runner scans the log from here (boot lines name kmemleak)
	for r in $(seq 1 "$ROUNDS"); do round "$r" || rc=1; done
	return $rc
}

# enodev_seen OP: whether OP met ENODEV in some round.
enodev_seen() {
	cat $OUT/round.* | awk -v k="$1:ENODEV" '$1 == k { n += $2 } END { print n + 0; exit !n }'
}

t_window_hit() {
	local op n bad=0
	for op in read reset hooks; do
		n=$(enodev_seen $op) || bad=1
		echo "$op: ENODEV $n times"
	done
	[ $bad = 0 ] || fail "an operation never met ENODEV: the window between pre_exit and the file's removal was missed, or that operation is served there"
}

t_namespaces_gone() {
	# The namespaces deleted by name died with their last file; the others
	# go now. Every namespace is torn down (no state: the module is out).
	cleanup_netns
	load_module || return 1
	wait_for $TEARDOWN '[ "$(live)" = 1 ]' || fail "live $(live), want 1 (init_net)"
}

ktap_plan 4
run_test "held-open files across rmmod: only ok, then ENODEV, then EIO (never EAGAIN, never back)" t_rounds
run_test "reads, resets and hooks= writes each met ENODEV during the teardown" t_window_hit
run_test "afterwards every namespace is gone and a reload serves only init_net" t_namespaces_gone
run_test "kmemleak finds nothing of rnetns" kmemleak_file_check
ktap_finish
