#!/bin/bash
# Bad input, fuzzed and bounded: /proc/net/rnetns writes (random bytes and
# lengths, offsets, split writes, concurrent writers) and hooks= values.
source "$(dirname "$0")/lib.sh"
FUZZ="/usr/bin/python3 $RNETNS_TOP/tests/fuzz.py"
SEED=${RNETNS_SEED:-$(date +%s)}
SECS=${RNETNS_FUZZ_SECONDS:-20}
P=50 LEN=$((20 + 8 + 50))
TRAFFIC=

cleanup() { bg_stop $TRAFFIC; }
fresh_start cleanup
echo "# seed $SEED"

# consistent NS: every counted row has bytes == packets * LEN (all traffic in
# NS is fixed-size UDP over loopback; ICMP errors are avoided by a sink).
consistent() {
	ip netns exec "$1" awk -v len=$LEN '($1 == "ipv4" || $1 == "ipv6") && $4 != $3 * len {
		print "inconsistent row:", $0; bad = 1 } END { exit bad }' $PROCF
}

t_proc_fuzz() {
	load_module || return 1
	ip netns add F && ip -n F link set lo up || return 1
	udp_sink F 127.0.0.1 9 || return 1
	TRAFFIC=$BG_PID
	# Traffic through every hook of F while the writers hammer the file.
	bg_start sh -c "for i in \$(seq 1000); do ip netns exec F $NSUTIL udp-send 127.0.0.1 9 50 $P; done"
	local sender=$BG_PID
	ip netns exec F $FUZZ proc $PROCF "$SECS" "$SEED"
	local rc=$?
	bg_stop $sender
	[ $rc = 0 ] || return 1
	consistent F || return 1
	ip netns exec F awk '$1 == "ipv4" && $2 == "output" && $3 > 0 { ok = 1 } END { exit !ok }' $PROCF ||
		fail "no traffic was counted during the fuzz"
}

t_resets_under_traffic() {
	# Valid resets from 4 writers while traffic flows: afterwards, with the
	# traffic stopped, one more reset and a known burst must read exactly.
	local i pids=()
	bg_start sh -c "for i in \$(seq 100); do ip netns exec F $NSUTIL udp-send 127.0.0.1 9 100 $P; done"
	local sender=$BG_PID
	local resets
	resets=$(printf 'reset %.0s' $(seq 200))
	for i in 1 2 3 4; do
		# shellcheck disable=SC2086
		ip netns exec F $NSUTIL write $PROCF $resets >/tmp/resets.$i &
		pids+=($!)
	done
	local rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$(cat /tmp/resets.[1-4] | grep -cx ok)" = 800 ] || rc=1
	bg_stop $sender
	[ $rc = 0 ] || fail "a valid reset failed" || return 1
	consistent F || return 1
	ip netns exec F sh -c "echo reset > $PROCF"
	ip netns exec F $NSUTIL udp-send 127.0.0.1 9 7 $P >/dev/null
	local got
	got=$(ip netns exec F awk '$1 == "ipv4" && ($2 == "output" || $2 == "input") { print $2, $3, $4 }' $PROCF | tr '\n' ' ')
	expect_eq "after quiescent reset + 7 datagrams" "$got" "input 7 $((7 * LEN)) output 7 $((7 * LEN)) "
}

t_hooks_fuzz() {
	cleanup_netns
	unload_module
	local v want n=0 bad=0 err
	while IFS='|' read -r v want; do
		n=$((n + 1))
		if err=$(insmod "$RNETNS_KO" "hooks=$v" 2>&1); then
			rmmod rnetns
			[ "$want" = 1 ] || { echo "accepted invalid hooks='$v'"; bad=$((bad + 1)); }
		else
			[ "$want" = 0 ] || { echo "refused valid hooks='$v': $err"; bad=$((bad + 1)); }
			loaded && { echo "loaded after refusing hooks='$v'"; bad=$((bad + 1)); rmmod rnetns; }
		fi
	done < <($FUZZ hooks-values "${RNETNS_HOOKS_FUZZ:-40}" "$SEED")
	echo "$n values, $bad wrong"
	[ "$bad" = 0 ] && [ "$n" -gt 0 ]
}

ktap_plan 3
run_test "fuzzed proc writes (random bytes, lengths, offsets, 4 writers) get EINVAL, counters stay consistent" t_proc_fuzz
run_test "concurrent valid resets under traffic: never corrupt, exact afterwards" t_resets_under_traffic
run_test "fuzzed hooks= values: accepted exactly when valid" t_hooks_fuzz
ktap_finish
