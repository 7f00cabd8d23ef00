#!/bin/bash
# Switching the counted hook points at run time, under stress: for
# RNETNS_SWITCH_SECONDS (default 30) writers switch hooks= (valid and
# invalid selections) and reset as fast as they can in two namespaces, UDP
# flowing both ways between them, and in namespaces made for a moment (also
# through a file held open while the namespace's name is deleted), while the
# module is unloaded and reloaded (with a random hooks= default), so that
# writes race the teardown (ENODEV). Afterwards what each
# namespace's file says it counts is what netfilter has registered (nft list
# hooks), the last unload leaves no state, and (checked by the runner; KASAN,
# lockdep and kmemleak on the debug kernel) the kernel log is clean.
source "$(dirname "$0")/lib.sh"
SECS=${RNETNS_SWITCH_SECONDS:-30}
STATS=/tmp/switch
WORKERS=()

cleanup() { bg_stop "${WORKERS[@]}"; }
fresh_start cleanup
rm -rf $STATS
mkdir -p $STATS

SELECTIONS="all none ipv4 ipv6 ipv4:input ipv6:output,ipv4:prerouting all:forward ipv4:input,ipv4:output,ipv6 bogus ipv4:inpu ,"

# pick WORDS...: one of the words at random.
pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }

# switcher NS: hooks= (valid and invalid) and reset writes in NS's file for
# the whole run, reopened after each unload.
switcher() {
	local p=() sel
	for sel in $SELECTIONS; do p+=("hooks=$sel"); done
	ip netns exec "$1" $NSUTIL switch-loop "$SECS" $PROCF "${p[@]}" reset >>$STATS/switch.$1
}

# churn: namespaces made, switched at once, and deleted while a writer
# holding the file open keeps switching (the namespace is torn down when
# that writer is done).
churn() {
	local w=$1 i=0 deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		i=$((i + 1))
		local ns=s$w-$i
		ip netns add "$ns" || continue
		ip -n "$ns" link set lo up
		ip netns exec "$ns" $NSUTIL write $PROCF "hooks=$(pick $SELECTIONS)" >>$STATS/results 2>/dev/null
		ip netns exec "$ns" sh -c "exec 3>$PROCF; for s in $SELECTIONS; do $NSUTIL write @3 hooks=\$s; sleep 0.05; done" \
			>>$STATS/results 2>/dev/null &
		ip netns exec "$ns" ping -c 2 -i 0.2 -W 1 -q 127.0.0.1 >/dev/null 2>&1
		ip netns del "$ns"
		echo x >>$STATS/created.$w
	done
	wait
}

# modloop: unload and reload with a random default.
modloop() {
	local deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 1.$((RANDOM % 10))
		rmmod rnetns && echo x >>$STATS/unloads
		insmod "$RNETNS_KO" "hooks=$(pick all none ipv4 ipv6:input)" && echo x >>$STATS/loads
	done
}

lines() { cat "$@" 2>/dev/null | wc -l; }

t_switch_torture() {
	load_module || return 1
	veth_pair 10.61.0 || return 1
	local fn
	for fn in "switcher TA" "switcher TB" "churn 1" "udp_both_ways 10.61.0" modloop; do
		bg_start bash -c "source $RNETNS_TOP/tests/lib.sh; SECS=$SECS STATS=$STATS SELECTIONS='$SELECTIONS';
			$(declare -f pick switcher churn modloop); $fn"
		WORKERS+=($BG_PID)
	done
	local p
	for p in "${WORKERS[@]}"; do wait "$p"; done
	WORKERS=()
	sleep 2
	echo "ran ${SECS}s: $(lines $STATS/created.*) namespaces created and destroyed," \
		"$(awk '{ s += $1 } END { print s + 0 }' $STATS/packets 2>/dev/null) UDP datagrams sent," \
		"$(lines $STATS/loads) loads, $(lines $STATS/unloads) unloads"
	echo "switch writes in TA and TB: $(cat $STATS/switch.* | awk '{ v = $NF; $NF = ""; sub(/ +$/, ""); n[$0] += v } END { for (k in n) printf "%s %d, ", k, n[k] }')"
	echo "churn writes: $(sort $STATS/results 2>/dev/null | uniq -c | sort -rn | head -8 | tr -s ' \n' ' ')"
	[ "$(cat $STATS/switch.* | awk '$1 == "ok" { s += $2 } END { print s + 0 }')" -gt 0 ] &&
		[ "$(lines $STATS/unloads)" -gt 0 ] || fail "the workers did nothing"
	# Writers only ever saw the documented results.
	! cat $STATS/switch.* | awk '{ $NF = ""; print }' | sed 's/ *$//' | cat - $STATS/results 2>/dev/null |
		grep -v -x -E 'ok|EINVAL|ENODEV|EAGAIN|EIO|ENOENT|open: ENOENT|open: ENXIO|ENXIO' ||
		fail "unexpected write results above"
}

# nf_count NS: how many rnetns hooks netfilter has registered in NS.
nf_count() { ip netns exec "$1" nft list hooks 2>/dev/null | grep -c '\[rnetns\]'; }

t_consistent() {
	loaded || load_module || return 1
	local f n sel want got bad=0
	for f in /run/netns/*; do
		n=${f##*/}
		sel=$(ip netns exec "$n" awk '$1 == "hooks" { print $2 }' $PROCF)
		case $sel in
		all) want=10 ;;
		none) want=0 ;;
		*) want=$(echo "$sel" | tr ',' '\n' | wc -l) ;;
		esac
		got=$(nf_count "$n")
		echo "$n: hooks $sel, netfilter has $got rnetns hooks"
		[ "$got" = "$want" ] || bad=1
	done
	[ $bad = 0 ] || fail "a namespace's hooks line and netfilter's hooks disagree"
}

t_nothing_left() {
	cleanup_netns
	loaded || load_module || return 1
	wait_for $TEARDOWN '[ "$(live)" = 1 ]' || fail "live $(live) after removing every namespace" || return 1
	dmesg -C
	rmmod rnetns || return 1
	dmesg | grep -q 'rnetns: unloaded; no namespace holds rnetns state' ||
		fail "unload did not end at zero live states: $(dmesg | grep rnetns)"
}

ktap_plan 4
run_test "hooks= switches and resets under traffic, namespace churn and insmod/rmmod" t_switch_torture
run_test "afterwards each namespace's hooks line matches netfilter's registered hooks" t_consistent
run_test "the last unload ends with no namespace holding state" t_nothing_left
run_test "kmemleak finds nothing of rnetns" kmemleak_file_check
ktap_finish
