#!/bin/bash
# A namespace whose IPv4 input hook table is full: 1024 hooks, nftables base
# chains made by the root of an unprivileged user's user namespace in a
# network namespace of its own. Loading rnetns sets up every namespace, that
# one included, where netfilter refuses rnetns's input hook (E2BIG) while UDP
# traffic crosses the hooks registered just before on the other CPU. The
# load must succeed all the same: that namespace counts at its other nine
# hook points, its /proc/net/rnetns says which one was refused and why, the
# kernel log names it once (a warning line, no splat), and every other
# namespace counts as usual. Once the chains are gone, a write of hooks= (by
# that user) registers the refused hook point, which counts from then on.
# At run time a write is all or nothing: a hooks= that needs a hook at the
# full input table registers the others (packets enter them), unregisters
# them again, fails with E2BIG and leaves what is counted as it was.
source "$(dirname "$0")/lib.sh"
ROUNDS=${RNETNS_HOOKFULL_ROUNDS:-4}
N=10             # datagrams per counting check
FILL=/tmp/fill.nft
# What the full namespace counts: every hook point but ipv4 input.
NINE=ipv4:prerouting,ipv4:forward,ipv4:output,ipv4:postrouting,ipv6:prerouting,ipv6:input,ipv6:forward,ipv6:output,ipv6:postrouting

OWNER=           # the user's process holding the full namespace
SENDERS=
cleanup() {
	bg_stop $SENDERS
	[ -z "$OWNER" ] || kill "$OWNER" 2>/dev/null
}
fresh_start cleanup

# at WHERE CMD...: run CMD in namespace WHERE: init (init_net), full (the
# user's, as global root) or a named one.
at() {
	local where=$1
	shift
	case $where in
	init) "$@" ;;
	full) nsenter -t "$OWNER" -n "$@" ;;
	*) ip netns exec "$where" "$@" ;;
	esac
}

# as_owner CMD...: run CMD as the root of the user's user namespace, in the
# full namespace (nsenter -U becomes uid 0 there: nobody outside).
as_owner() { nsenter -t "$OWNER" -U -n "$@"; }

# line WHERE KEY: the value of an identity line of WHERE's file.
line() { at "$1" awk -v k="$2" '$1 == k { print $2 }' $PROCF; }

# row WHERE FAMILY HOOK: that row's packet count (empty: no such row).
row() { at "$1" awk -v f="$2" -v h="$3" '$1 == f && $2 == h { print $3 }' $PROCF; }

# nf_rnetns WHERE: rnetns's hooks as netfilter lists them, "family:hook"
# each (nft list hooks).
nf_rnetns() {
	at "$1" nft list hooks 2>/dev/null | awk '
		$1 == "family" { fam = ($2 == "ip") ? "ipv4" : ($2 == "ip6") ? "ipv6" : $2 }
		$1 == "hook" { hook = $2 }
		/\[rnetns\]/ { print fam ":" hook }' | sort | tr '\n' ' '
}

# summary WHERE: the hooks and refused lines of WHERE's file and its rows'
# family:hook names, from one read.
summary() {
	at "$1" awk '$1 == "hooks" || $1 == "refused" { printf "%s ", $2 }
		$1 == "ipv4" || $1 == "ipv6" { printf "%s:%s ", $1, $2 }' $PROCF
}

# file_as_full WHAT: the full namespace's file says what a full ipv4 input
# table leaves: the nine hook points, ipv4 input refused, no row for it.
file_as_full() {
	expect_eq "$1: hooks, refused, rows" "$(summary full)" \
		"$NINE ipv4:input=E2BIG $(tr ',' ' ' <<<$NINE) "
}

# refused_as_full WHAT: the file says so, and netfilter agrees (its list of
# 1024 and more hooks takes seconds on a debug kernel: once per test).
refused_as_full() {
	local nf
	nf=$(nf_rnetns full)
	file_as_full "$1" &&
		expect_eq "$1: rnetns hooks in netfilter" "$nf" "$(tr ',' '\n' <<<$NINE | sort | tr '\n' ' ')"
}

fill_table() {
	local i
	{
		echo "table ip fill {"
		for i in $(seq 0 1023); do
			echo "  chain c$i { type filter hook input priority 0; }"
		done
		echo "}"
	} >$FILL
	as_owner nft -f $FILL || fail "the user cannot add 1024 input base chains"
}

t_fill() {
	# nobody makes a user namespace, then a network namespace in it (as
	# container runtimes do), and holds it.
	rm -f /tmp/fill.ready
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur unshare -n \
		sh -c 'ip link set lo up && touch /tmp/fill.ready; exec sleep 3600' &
	OWNER=$!
	wait_until 30 test -e /tmp/fill.ready || fail "unprivileged unshare did not start" || return 1
	# setpriv, both unshares and sh exec in turn: $OWNER is the sleeper.
	expect_eq "the namespace's owner, seen from outside" "$(stat -c %u /proc/$OWNER)" 65534 || return 1
	[ "$(inum /proc/$OWNER/ns/net)" != "$(inum /proc/self/ns/net)" ] || fail "no new namespace" || return 1
	fill_table || return 1
	# The table is full: one more base chain at input is refused.
	if as_owner nft add chain ip fill extra '{ type filter hook input priority 0; }' 2>/dev/null; then
		fail "a 1025th input hook was accepted"
		return 1
	fi
	# Namespaces of others: one made before the load (one after, below).
	ip netns add other && ip -n other link set lo up || return 1
	echo "the root of nobody's user namespace filled ipv4 input of namespace $(inum /proc/$OWNER/ns/net) with 1024 nftables base chains"
}

t_traffic() {
	# Two senders on loopback, pinned to CPU 1 (insmod runs on CPU 0).
	local i
	for i in 1 2; do
		bg_start nsenter -t "$OWNER" -n $NSUTIL udp-send 127.0.0.1 9 100000000 64 1
		SENDERS="$SENDERS $BG_PID"
	done
	sleep 2
	for i in $SENDERS; do kill -0 "$i" || fail "a sender died" || return 1; done
}

t_load_succeeds() {
	local r out msgs inum
	inum=$(inum /proc/$OWNER/ns/net)
	for r in $(seq 1 "$ROUNDS"); do
		dmesg -C
		out=$(taskset -c 0 insmod "$RNETNS_KO" 2>&1) || fail "round $r: insmod failed: $out" || return 1
		if [ "$r" = "$ROUNDS" ]; then refused_as_full "round $r"; else file_as_full "round $r"; fi || return 1
		msgs=$(dmesg | grep -F "rnetns: namespace $inum:")
		expect_eq "round $r: kernel log lines naming namespace $inum" "$(grep -c . <<<"$msgs")" 1 || return 1
		grep -q "^.*rnetns: namespace $inum: netfilter refused the hooks at ipv4:input=E2BIG; counting at $NINE; a write of hooks= to its /proc/net/rnetns tries again$" <<<"$msgs" ||
			fail "round $r: log line: $msgs" || return 1
		dmesg | grep -q 'rnetns: loaded; serving' || fail "round $r: no load line" || return 1
		# Unloaded under traffic, but for the last round.
		[ "$r" = "$ROUNDS" ] || rmmod rnetns || return 1
	done
	echo "$ROUNDS loads, each with: $msgs"
	bg_stop $SENDERS
	SENDERS=
}

# counts WHERE: loopback datagrams in WHERE are counted at every hook point
# of ipv4 it has (each row grows by at least N: other traffic may add).
counts() {
	local where=$1 h after
	local -A before
	for h in prerouting input output postrouting; do before[$h]=$(row "$where" ipv4 $h); done
	at "$where" $NSUTIL udp-send 127.0.0.1 9 $N 64 >/dev/null || return 1
	for h in prerouting input output postrouting; do
		[ -n "${before[$h]}" ] || continue
		after=$(row "$where" ipv4 $h)
		[ "$after" -ge $((before[$h] + N)) ] ||
			fail "$where: ipv4 $h went from ${before[$h]} to $after, want +$N at least" || return 1
	done
}

t_others_count() {
	ip netns add later && ip -n later link set lo up || return 1
	local w
	for w in init other later; do
		expect_eq "$w: hooks, refused" "$(line $w hooks) $(line $w refused)" "all none" || return 1
		counts $w || return 1
	done
	# A switch elsewhere is not held up by the full table either.
	expect_eq "hooks=ipv4 in another namespace" "$(at other $NSUTIL write $PROCF hooks=ipv4)" ok &&
		expect_eq "hooks=all in another namespace" "$(at other $NSUTIL write $PROCF hooks=all)" ok || return 1
	# The full namespace counts where it could register.
	counts full || return 1
	echo "init_net, a namespace made before the load and one made after count at every hook point"
}

t_retry_still_full() {
	# The user retries while the table is still full: the other nine stay,
	# ipv4 input is refused again.
	local got
	got=$(as_owner $NSUTIL write $PROCF hooks=all)
	expect_eq "hooks=all by the user into the full table" "$got" E2BIG &&
		refused_as_full "after the retry"
}

t_retry_after_room() {
	as_owner nft delete table ip fill || return 1
	local got before
	got=$(as_owner $NSUTIL write $PROCF hooks=all)
	expect_eq "hooks=all by the user with room" "$got" ok &&
		expect_eq "hooks, refused" "$(line full hooks) $(line full refused)" "all none" &&
		expect_eq "rnetns hooks in netfilter" "$(nf_rnetns full | wc -w)" 10 || return 1
	before=$(row full ipv4 input)
	expect_eq "ipv4 input row once registered" "${before:+yes}" yes || return 1
	counts full || return 1
	echo "ipv4 input went from $before to $(row full ipv4 input)"
}

t_switch_into_full_table() {
	# Counting off, the table filled again: switching counting back on under
	# traffic registers nine hook points, which the datagrams enter, is
	# refused at input (E2BIG) and undoes the nine: the write fails and
	# nothing changes (no hook, no row, nothing refused).
	local r got
	expect_eq "hooks=none" "$(as_owner $NSUTIL write $PROCF hooks=none)" ok && fill_table || return 1
	bg_start nsenter -t "$OWNER" -n $NSUTIL udp-send 127.0.0.1 9 100000000 64 1
	SENDERS=$BG_PID
	for r in $(seq 1 "$ROUNDS"); do
		got=$(taskset -c 0 nsenter -t "$OWNER" -U -n $NSUTIL write $PROCF hooks=all)
		expect_eq "round $r: hooks=all into a full input table" "$got" E2BIG &&
			expect_eq "round $r: hooks, refused, rows" "$(summary full)" "none none " || return 1
	done
	expect_eq "rnetns hooks in netfilter after $ROUNDS refused writes" "$(nf_rnetns full | wc -w)" 0 || return 1
	got=$(as_owner $NSUTIL write $PROCF hooks=ipv4:prerouting,ipv6)
	expect_eq "hooks=ipv4:prerouting,ipv6 (room there)" "$got" ok &&
		expect_eq "hooks, refused" "$(line full hooks) $(line full refused)" \
			"ipv4:prerouting,ipv6:prerouting,ipv6:input,ipv6:forward,ipv6:output,ipv6:postrouting none"
}

t_unload() {
	bg_stop $SENDERS
	SENDERS=
	dmesg -C
	rmmod rnetns || return 1
	dmesg | grep -q 'rnetns: unloaded; no namespace holds rnetns state' ||
		fail "unload: $(dmesg | grep rnetns)"
}

ktap_plan 9
run_test "an unprivileged user's namespace: 1024 nftables base chains fill its ipv4 input hooks" t_fill
run_test "UDP traffic crosses that namespace's prerouting hook on the other CPU" t_traffic
run_test "insmod succeeds $ROUNDS times under traffic; the full namespace says ipv4:input=E2BIG; one log line names it" t_load_succeeds
run_test "every other namespace counts, and switches, as usual; the full one at its nine hook points" t_others_count
run_test "hooks=all into the still full table: E2BIG, the nine stay" t_retry_still_full
run_test "with the chains gone, hooks=all by the user registers ipv4 input, which counts" t_retry_after_room
run_test "hooks=all into a full table again under traffic: E2BIG and nothing changed, $ROUNDS times" t_switch_into_full_table
run_test "rmmod leaves no namespace state" t_unload
run_test "kmemleak finds nothing of rnetns" kmemleak_file_check
ktap_finish
