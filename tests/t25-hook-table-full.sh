#!/bin/bash
# A namespace whose IPv4 input hook table is full: 1024 hooks, here nftables
# base chains (an unprivileged user can make them in a namespace of their
# own). Loading rnetns registers its hooks in that namespace in order:
# prerouting is registered, then input is refused (E2BIG), so the
# registration fails part-way while UDP traffic crosses prerouting on the
# other CPU. The failed load must unwind without touching freed memory
# (KASAN watches on the debug kernel: the hook that was live must be waited
# for before the namespace's state is freed), leave nothing behind, and say
# why in the kernel log; with one chain fewer the load succeeds and counts.
# The same at run time: a write of hooks= that needs a hook at the full
# input table fails with E2BIG and changes nothing.
source "$(dirname "$0")/lib.sh"
ROUNDS=${RNETNS_HOOKFULL_ROUNDS:-4}
NS=full

SENDERS=
cleanup() { bg_stop $SENDERS; }
fresh_start cleanup

t_fill() {
	ip netns add $NS && ip -n $NS link set lo up || return 1
	local f=/tmp/fill.nft i
	{
		echo "table ip fill {"
		for i in $(seq 0 1023); do
			echo "  chain c$i { type filter hook input priority 0; }"
		done
		echo "}"
	} >$f
	ip netns exec $NS nft -f $f || fail "cannot add 1024 input base chains" || return 1
	# The table is full: one more base chain at input is refused.
	if ip netns exec $NS nft add chain ip fill extra '{ type filter hook input priority 0; }' 2>/dev/null; then
		fail "a 1025th input hook was accepted"
		return 1
	fi
	echo "1024 nftables base chains at ipv4 input in namespace $NS"
}

t_traffic() {
	# Two senders on loopback, pinned to CPU 1 (insmod runs on CPU 0).
	local i
	for i in 1 2; do
		bg_start ip netns exec $NS $NSUTIL udp-send 127.0.0.1 9 100000000 64 1
		SENDERS="$SENDERS $BG_PID"
	done
	sleep 2
	for i in $SENDERS; do kill -0 "$i" || fail "a sender died" || return 1; done
}

t_load_fails_cleanly() {
	local r out msg
	for r in $(seq 1 "$ROUNDS"); do
		dmesg -C
		if out=$(taskset -c 0 insmod "$RNETNS_KO" 2>&1); then
			fail "round $r: insmod succeeded with a full hook table"
			return 1
		fi
		case $out in
		*"Argument list too long"*) ;;
		*) fail "round $r: insmod said '$out', want E2BIG" || return 1 ;;
		esac
		msg=$(dmesg | grep 'rnetns: failed to set up the existing network namespaces (errno -7)')
		[ -n "$msg" ] || fail "round $r: no dmesg line; dmesg: $(dmesg | tail -n 5)" || return 1
		! loaded || fail "round $r: the module stayed loaded" || return 1
		[ ! -e $PROCF ] || fail "round $r: $PROCF exists" || return 1
	done
	echo "$ROUNDS failed loads, each with: $msg"
}

t_load_after_room() {
	bg_stop $SENDERS
	SENDERS=
	ip netns exec $NS nft delete chain ip fill c0 || return 1
	load_module || return 1
	ip netns exec $NS $NSUTIL udp-send 127.0.0.1 9 10 64 >/dev/null || return 1
	local pre
	pre=$(ip netns exec $NS awk '$1 == "ipv4" && $2 == "prerouting" { print $3 }' $PROCF)
	[ "${pre:-0}" -ge 10 ] || fail "ipv4 prerouting counted '$pre' packets, want at least 10"
}

t_switch_into_full_table() {
	# Counting off, the table filled again: switching counting back on
	# registers prerouting, is refused at input (E2BIG) and must undo
	# prerouting, under traffic, leaving the namespace as it was.
	local r got
	ip netns exec $NS $NSUTIL write $PROCF hooks=none >/dev/null &&
		ip netns exec $NS nft add chain ip fill c0 '{ type filter hook input priority 0; }' || return 1
	bg_start ip netns exec $NS $NSUTIL udp-send 127.0.0.1 9 100000000 64 1
	SENDERS="$SENDERS $BG_PID"
	for r in $(seq 1 "$ROUNDS"); do
		got=$(taskset -c 0 ip netns exec $NS $NSUTIL write $PROCF hooks=all)
		expect_eq "round $r: hooks=all into a full input table" "$got" E2BIG || return 1
		expect_eq "round $r: hooks line" "$(ip netns exec $NS awk '$1 == "hooks" { print $2 }' $PROCF)" none || return 1
		ip netns exec $NS nft list hooks | grep -q rnetns && fail "round $r: an rnetns hook stayed registered" && return 1
	done
	got=$(ip netns exec $NS $NSUTIL write $PROCF hooks=ipv4:prerouting,ipv6)
	expect_eq "hooks=ipv4:prerouting,ipv6 (room there)" "$got" ok
}

ktap_plan 5
run_test "1024 nftables base chains fill a namespace's ipv4 input hooks" t_fill
run_test "UDP traffic crosses the namespace's prerouting hook on the other CPU" t_traffic
run_test "insmod fails with E2BIG part-way, cleanly, $ROUNDS times under traffic" t_load_fails_cleanly
run_test "with room for one more hook the load succeeds and counts" t_load_after_room
run_test "switching counting on into the full table fails with E2BIG part-way, cleanly, $ROUNDS times" t_switch_into_full_table
ktap_finish
