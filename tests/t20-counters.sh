#!/bin/bash
# Packet-path counters: per-namespace netfilter hooks, per-CPU counters,
# reset and its permissions, the hooks= module parameter, and switching the
# counted hook points at run time by writing hooks= (checked against
# netfilter's own list of registered hooks, nft list hooks).
source "$(dirname "$0")/lib.sh"

P=100                  # UDP payload bytes
V4=$((20 + 8 + P))     # skb->len of one datagram at an IPv4 hook
V6=$((40 + 8 + P))     # ... at an IPv6 hook
N=25                   # datagrams per check
PIDS=()

cleanup() { kill "${PIDS[@]}" 2>/dev/null; }
fresh_start cleanup
load_module || exit 1

# mkns NAME [ROUTER]: a namespace with no spontaneous IPv6 traffic on the
# interfaces created in it later (no DAD, no router solicitations).
mkns() {
	ip netns add "$1" || return 1
	ip netns exec "$1" sh -c '
		sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.all.router_solicitations=0
		[ -z "$1" ] || sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		ip link set lo up' sh "${2:-}"
}

mac() { ip -n "$1" link show "$2" | awk '/link\/ether/ { print $2 }'; }

# link NS1 IF1 ADDR4/ADDR6 NS2 IF2 ADDR4/ADDR6: a veth pair with addresses
# and permanent neighbours both ways.
link() {
	local a=$1 ia=$2 a4=${3%/*} a6=${3#*/} b=$4 ib=$5 b4=${6%/*} b6=${6#*/}
	ip link add "$ia" netns "$a" type veth peer name "$ib" netns "$b" || return 1
	ip -n "$a" addr add "$a4/24" dev "$ia"
	ip -n "$a" addr add "$a6/64" dev "$ia" nodad
	ip -n "$b" addr add "$b4/24" dev "$ib"
	ip -n "$b" addr add "$b6/64" dev "$ib" nodad
	ip -n "$a" link set "$ia" up
	ip -n "$b" link set "$ib" up
	ip -n "$a" neigh replace "$b4" lladdr "$(mac "$b" "$ib")" dev "$ia" nud permanent
	ip -n "$a" neigh replace "$b6" lladdr "$(mac "$b" "$ib")" dev "$ia" nud permanent
	ip -n "$b" neigh replace "$a4" lladdr "$(mac "$a" "$ia")" dev "$ib" nud permanent
	ip -n "$b" neigh replace "$a6" lladdr "$(mac "$a" "$ia")" dev "$ib" nud permanent
}

# settle NS...: wait until the namespaces' counters stop moving by themselves
# (MLD reports sent when interfaces come up).
settle() {
	local i s1 s2
	for i in $(seq 20); do
		s1=$(for n in "$@"; do ns_table "$n"; done)
		sleep 1
		s2=$(for n in "$@"; do ns_table "$n"; done)
		[ "$s1" = "$s2" ] && return 0
	done
	fail "counters of $* keep moving while idle"
}

# delta BEFORE AFTER: per-row difference, rows that changed only.
delta() {
	awk 'NR == FNR { p[$1" "$2] = $3; b[$1" "$2] = $4; next }
	     { dp = $3 - p[$1" "$2]; db = $4 - b[$1" "$2]; if (dp || db) print $1, $2, dp, db }' \
		<(echo "$1") <(echo "$2")
}

# expect_delta WHAT BEFORE AFTER "row:packets:bytes"...: exactly these rows
# changed, by exactly these amounts.
expect_delta() {
	local what=$1 got want
	got=$(delta "$2" "$3" | sort)
	shift 3
	want=$(for r in "$@"; do IFS=: read -r f h p b <<<"$r"; echo "$f $h $p $b"; done | sort)
	[ "$got" = "$want" ] || fail "$what: counters changed by
$got
want
$want"
}

sink() { # sink NS ADDR PORT: hold a bound UDP socket in NS
	local f=/tmp/sink.$1.$3.${2//:/_}
	ip netns exec "$1" $NSUTIL udp-sink "$2" "$3" >"$f" 2>&1 &
	PIDS+=($!)
	# Python's start under TCG, on a host whose cores other guests share,
	# has taken more than 10 s (the socket was bound by the time the
	# failure was printed): a minute, which only a broken sink waits out.
	wait_until 60 grep -q bound "$f" || fail "sink $*: $(cat "$f")"
}

send() { ip netns exec "$1" $NSUTIL udp-send "$2" "$3" "$4" "$P" >/dev/null; }

mkns A && mkns B && mkns C && link A va 10.10.0.1/fd10::1 B vb 10.10.0.2/fd10::2 ||
	echo "# set-up of A, B, C failed"
sink B 10.10.0.2 9000
sink B fd10::2 9000
settle A B C

t_veth() { # t_veth v4|v6
	local dst=10.10.0.2 fam=ipv4 len=$V4 a0 b0 c0
	[ "$1" = v6 ] && dst=fd10::2 fam=ipv6 len=$V6
	a0=$(ns_table A) b0=$(ns_table B) c0=$(ns_table C)
	send A "$dst" 9000 $N
	expect_delta "A" "$a0" "$(ns_table A)" "$fam:output:$N:$((N * len))" "$fam:postrouting:$N:$((N * len))" &&
		expect_delta "B" "$b0" "$(ns_table B)" "$fam:prerouting:$N:$((N * len))" "$fam:input:$N:$((N * len))" &&
		expect_delta "C, not involved" "$c0" "$(ns_table C)"
}

t_loopback() { # t_loopback v4|v6
	local dst=127.0.0.1 fam=ipv4 len=$V4 l0
	[ "$1" = v6 ] && dst=::1 fam=ipv6 len=$V6
	[ -e /run/netns/L ] || { mkns L && settle L; } || return 1
	sink L "$dst" 9001
	l0=$(ns_table L)
	send L "$dst" 9001 $N
	expect_delta "L" "$l0" "$(ns_table L)" "$fam:output:$N:$((N * len))" "$fam:postrouting:$N:$((N * len))" \
		"$fam:prerouting:$N:$((N * len))" "$fam:input:$N:$((N * len))"
}

t_router() { # t_router v4|v6
	local dst=10.21.0.2 fam=ipv4 len=$V4 r0
	[ "$1" = v6 ] && dst=fd21::2 fam=ipv6 len=$V6
	if [ ! -e /run/netns/R ]; then
		mkns H1 && mkns R router && mkns H2 &&
			link H1 h1 10.20.0.2/fd20::2 R r1 10.20.0.1/fd20::1 &&
			link R r2 10.21.0.1/fd21::1 H2 h2 10.21.0.2/fd21::2 &&
			ip -n H1 route add 10.21.0.0/24 via 10.20.0.1 &&
			ip -n H1 route add fd21::/64 via fd20::1 || return 1
		sink H2 10.21.0.2 9002
		sink H2 fd21::2 9002
		settle H1 R H2 || return 1
	fi
	r0=$(ns_table R)
	send H1 "$dst" 9002 $N
	expect_delta "router R" "$r0" "$(ns_table R)" "$fam:prerouting:$N:$((N * len))" \
		"$fam:forward:$N:$((N * len))" "$fam:postrouting:$N:$((N * len))"
}

nonzero() { ns_table "$1" | awk '$3 > 0 { n++ } END { exit !n }'; }
allzero() { ns_table "$1" | awk '$3 != 0 || $4 != 0 { n++ } END { exit n }'; }

t_reset_root() {
	nonzero A || fail "A has no traffic to reset"
	ip netns exec A sh -c "echo reset > $PROCF" || return 1
	allzero A || fail "after reset: $(ns_table A)"
	send A 10.10.0.2 9000 3
	expect_delta "A after reset" "$(ns_table A | awk '{print $1, $2, 0, 0}')" "$(ns_table A)" \
		"ipv4:output:3:$((3 * V4))" "ipv4:postrouting:3:$((3 * V4))"
}

t_reset_userns_root() {
	# Root of an unprivileged user namespace resets its own namespace.
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur unshare -n sh -c '
		ip link set lo up
		'"$NSUTIL"' udp-send 127.0.0.1 9 3 10 >/dev/null
		awk '\''$1 == "ipv4" && $2 == "output" && $3 >= 3 { ok = 1 } END { exit !ok }'\'' '$PROCF' ||
			{ echo "loopback traffic not counted"; exit 1; }
		echo reset > '$PROCF' || exit 1
		awk '\''($1 == "ipv4" || $1 == "ipv6") && ($3 || $4) { bad = 1 } END { exit bad }'\'' '$PROCF' ||
			{ echo "not zero after reset:"; cat '$PROCF'; exit 1; }'
}

t_reset_denied() {
	local before got
	before=$(ns_table A)
	send A 10.10.0.2 9000 2
	before=$(ns_table A)
	# An unprivileged user cannot open the file for writing (0644)...
	got=$(ip netns exec A setpriv --reuid=65534 --regid=65534 --clear-groups $NSUTIL write $PROCF reset)
	expect_eq "open for writing by nobody" "$got" "open: EACCES" || return 1
	# ...nor write through a descriptor root opened for it,
	got=$(ip netns exec A setpriv --reuid=65534 --regid=65534 --clear-groups $NSUTIL write @3 reset 3>$PROCF)
	expect_eq "write by nobody through root's descriptor" "$got" EPERM || return 1
	# and root without CAP_NET_ADMIN is refused too.
	got=$(ip netns exec A setpriv --inh-caps=-net_admin --bounding-set=-net_admin $NSUTIL write $PROCF reset)
	expect_eq "write by root without CAP_NET_ADMIN" "$got" EPERM || return 1
	expect_eq "counters after refused resets" "$(ns_table A)" "$before"
}

t_reset_userns_vs_init_net() {
	local before got
	before=$(table_init)
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur $NSUTIL write @3 reset 3>$PROCF)
	expect_eq "user-namespace root writing init_net's file" "$got" EPERM || return 1
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur $NSUTIL write $PROCF reset)
	expect_eq "open for writing by a user-namespace root" "$got" "open: EACCES" || return 1
	[ "$(table_init | awk '{s += $3} END {print s + 0}')" -ge "$(echo "$before" | awk '{s += $3} END {print s + 0}')" ] ||
		fail "init_net counters went down"
}
table_init() { awk '$1 == "ipv4" || $1 == "ipv6"' $PROCF; }

t_garbage() {
	local before got
	send A 10.10.0.2 9000 2
	before=$(ns_table A)
	got=$(ip netns exec A $NSUTIL write $PROCF junk "reset now" RESET res et 'reset\n\n' '\x00reset' 'reset\x00' \
		' reset' @1 @4095 @4096 @70000 | tr '\n' ' ')
	expect_eq "results" "$got" "EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL EINVAL " &&
		expect_eq "counters after bad writes" "$(ns_table A)" "$before" &&
		expect_eq "'reset\\n' accepted" "$(ip netns exec A $NSUTIL write $PROCF 'reset\n')" ok
}

t_recreate() {
	mkns Z && ip netns exec Z $NSUTIL udp-send 127.0.0.1 9 5 10 >/dev/null
	nonzero Z || fail "no traffic counted in Z" || return 1
	ip netns del Z
	mkns Z || return 1
	allzero Z || fail "re-created Z does not start at zero: $(ns_table Z)"
}

t_multi_cpu() {
	local k=2000 m0 a b
	[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs"; return 4; }
	mkns M && settle M || return 1
	sink M 127.0.0.1 9003
	m0=$(ns_table M)
	ip netns exec M $NSUTIL udp-send 127.0.0.1 9003 $k 10 0 >/dev/null &
	a=$!
	ip netns exec M $NSUTIL udp-send 127.0.0.1 9003 $k 10 1 >/dev/null &
	b=$!
	wait $a $b
	local len=$((28 + 10)) n=$((2 * k))
	expect_delta "M, two CPUs sending at once" "$m0" "$(ns_table M)" "ipv4:output:$n:$((n * len))" \
		"ipv4:postrouting:$n:$((n * len))" "ipv4:prerouting:$n:$((n * len))" "ipv4:input:$n:$((n * len))"
}

t_ping_after() {
	ip netns exec A ping -c 2 -i 0.2 -W 2 -q 10.10.0.2 >/dev/null &&
		ip netns exec A ping -6 -c 2 -i 0.2 -W 2 -q fd10::2 >/dev/null ||
		fail "ping A -> B fails with rnetns loaded"
}

t_unload() {
	# Unload while packets flow through the hooks on both CPUs (A to B over
	# the veth pair, IPv4 from CPU 0, IPv6 from CPU 1).
	ip netns exec A $NSUTIL udp-send 10.10.0.2 9000 20000 10 0 >/dev/null &
	local s1=$!
	ip netns exec A $NSUTIL udp-send fd10::2 9000 20000 10 1 >/dev/null &
	local s2=$!
	sleep 0.5
	rmmod rnetns || return 1
	kill -0 $s1 $s2 2>/dev/null || echo "(senders had finished before rmmod)"
	wait $s1 $s2 || fail "senders failed"
	[ ! -e $PROCF ] || fail "$PROCF left behind"
	insmod "$RNETNS_KO" && allzero A || fail "counters after reload: $(ns_table A)"
}

t_hooks_param() {
	cleanup_netns
	unload_module
	insmod "$RNETNS_KO" hooks=ipv4:output,ipv6:input || return 1
	expect_eq "parameter" "$(cat /sys/module/rnetns/parameters/hooks)" "ipv4:output,ipv6:input" || return 1
	expect_eq "rows" "$(table_init | awk '{print $1 ":" $2}' | tr '\n' ' ')" "ipv4:output ipv6:input " || return 1
	mkns Q && settle Q && sink Q 127.0.0.1 9004 || return 1
	local q0
	q0=$(ns_table Q)
	send Q 127.0.0.1 9004 4
	expect_delta "Q with hooks=ipv4:output,ipv6:input" "$q0" "$(ns_table Q)" "ipv4:output:4:$((4 * V4))"
}

t_hooks_invalid() {
	cleanup_netns
	unload_module
	local v err
	for v in bogus ipv5 ipv4:inptu 'ipv4:' ',' '' all:all:all 'ipv4,,ipv6'; do
		dmesg -C
		err=$(insmod "$RNETNS_KO" "hooks=$v" 2>&1) && fail "insmod hooks='$v' succeeded" && return 1
		loaded && fail "module loaded with hooks='$v'" && return 1
		dmesg | grep -q "rnetns: hooks=.*invalid item" || fail "no clear message for hooks='$v': $(dmesg)" || return 1
	done
	insmod "$RNETNS_KO" hooks=none && expect_eq "rows with hooks=none" "$(table_init)" "" &&
		rmmod rnetns && insmod "$RNETNS_KO" hooks=all:prerouting,ipv6 &&
		expect_eq "parameter" "$(cat /sys/module/rnetns/parameters/hooks)" \
			"ipv4:prerouting,ipv6:prerouting,ipv6:input,ipv6:forward,ipv6:output,ipv6:postrouting"
}

# rnetns_hooks NS: the hook points where rnetns has a hook registered in NS,
# as netfilter itself lists them (nft list hooks), "family:hook" each.
rnetns_hooks() {
	ip netns exec "$1" nft list hooks 2>/dev/null | awk '
		$1 == "family" { fam = ($2 == "ip") ? "ipv4" : ($2 == "ip6") ? "ipv6" : $2 }
		$1 == "hook" { hook = $2 }
		/\[rnetns\]/ { print fam ":" hook }' | sort | tr '\n' ' '
}

t_switch() {
	cleanup_netns
	unload_module
	load_module || return 1
	mkns S && settle S && sink S 127.0.0.1 9005 && sink S ::1 9005 || return 1
	expect_eq "hooks line by default" "$(ns_hooks S)" all || return 1
	expect_eq "rnetns hooks in S by default (nft list hooks)" "$(rnetns_hooks S | wc -w)" 10 || return 1
	local got s0 s1
	got=$(ip netns exec S $NSUTIL write $PROCF 'hooks=ipv4:input\n')
	expect_eq "write hooks=ipv4:input" "$got" ok || return 1
	expect_eq "hooks line" "$(ns_hooks S)" ipv4:input || return 1
	expect_eq "rows" "$(ns_table S | awk '{print $1 ":" $2}')" ipv4:input || return 1
	expect_eq "rnetns hooks in S (nft list hooks)" "$(rnetns_hooks S)" "ipv4:input " || return 1
	expect_eq "init_net untouched" "$(awk '$1 == "hooks" { print $2 }' $PROCF)" all || return 1
	s0=$(ns_table S)
	send S 127.0.0.1 9005 4
	send S ::1 9005 4
	expect_delta "S counting ipv4 input only" "$s0" "$(ns_table S)" "ipv4:input:4:$((4 * V4))" || return 1
	# Counting off: no rnetns hook left in the namespace, no rows.
	got=$(ip netns exec S $NSUTIL write $PROCF hooks=none)
	expect_eq "write hooks=none" "$got" ok || return 1
	expect_eq "rnetns hooks in S with hooks=none" "$(rnetns_hooks S)" "" || return 1
	expect_eq "rows with hooks=none" "$(ns_table S)" "" || return 1
	# Bad selections and unprivileged writers change nothing.
	for v in hooks=ipv5 hooks= 'hooks=ipv4:inpu' 'hooks=all,' 'hook=all'; do
		got=$(ip netns exec S $NSUTIL write $PROCF "$v")
		expect_eq "write '$v'" "$got" EINVAL || return 1
	done
	got=$(ip netns exec S setpriv --reuid=65534 --regid=65534 --clear-groups $NSUTIL write @3 hooks=all 3>$PROCF)
	expect_eq "hooks=all by nobody through root's descriptor" "$got" EPERM || return 1
	expect_eq "hooks after refused writes" "$(ns_hooks S) $(rnetns_hooks S)" "none " || return 1
	# Back on: every hook point again, ipv4 input continuing from where it was.
	s1=$(ip netns exec S awk '$1 == "ipv4" && $2 == "input" { print $3 }' $PROCF 2>/dev/null)
	got=$(ip netns exec S $NSUTIL write $PROCF hooks=all)
	expect_eq "write hooks=all" "$got" ok || return 1
	expect_eq "rnetns hooks in S after hooks=all" "$(rnetns_hooks S | wc -w)" 10 || return 1
	s0=$(ns_table S)
	send S 127.0.0.1 9005 3
	expect_delta "S counting all again" "$s0" "$(ns_table S)" "ipv4:output:3:$((3 * V4))" "ipv4:postrouting:3:$((3 * V4))" \
		"ipv4:prerouting:3:$((3 * V4))" "ipv4:input:3:$((3 * V4))" || return 1
	expect_eq "ipv4 input kept its count while off" \
		"$(echo "$s0" | awk '$1 == "ipv4" && $2 == "input" { print $3 }')" "$((${s1:-0} + 4))"
}

t_switch_param_default() {
	# The module parameter is the default of new and existing namespaces; a
	# write changes one namespace only.
	cleanup_netns
	unload_module
	mkns E || return 1
	insmod "$RNETNS_KO" hooks=none || return 1
	mkns F || return 1
	expect_eq "existing and new namespace with hooks=none" "$(ns_hooks E) $(ns_hooks F) $(rnetns_hooks E)$(rnetns_hooks F)" \
		"none none " || return 1
	ip netns exec F $NSUTIL write $PROCF hooks=ipv6:output >/dev/null
	expect_eq "F switched, E not" "$(ns_hooks E) $(ns_hooks F) $(rnetns_hooks E)/ $(rnetns_hooks F)" \
		"none ipv6:output / ipv6:output "
}

ktap_plan 19
run_test "veth IPv4: A's output/postrouting, B's prerouting/input grow by exactly N; C unmoved" t_veth v4
run_test "veth IPv6: same, bytes = N x (40+8+payload)" t_veth v6
functional_test "loopback IPv4 counts output, postrouting, prerouting, input" t_loopback v4
functional_test "loopback IPv6 counts output, postrouting, prerouting, input" t_loopback v6
functional_test "router IPv4: forward grows by exactly the forwarded packets" t_router v4
functional_test "router IPv6: forward grows by exactly the forwarded packets" t_router v6
run_test "reset by root zeroes, counting goes on" t_reset_root
functional_test "reset by an unprivileged user-namespace root on its own namespace" t_reset_userns_root
functional_test "reset refused: nobody (EACCES/EPERM), root without CAP_NET_ADMIN (EPERM)" t_reset_denied
functional_test "reset of init_net by a user-namespace root is refused" t_reset_userns_vs_init_net
run_test "bad writes get EINVAL and change nothing" t_garbage
functional_test "a re-created namespace starts at zero" t_recreate
run_test "two CPUs sending at once: exact totals" t_multi_cpu
functional_test "ping A to B works with rnetns loaded (no behaviour change)" t_ping_after
run_test "rmmod while packets flow through the hooks, then reload at zero" t_unload
functional_test "hooks= limits the counted hook points" t_hooks_param
run_test "invalid hooks= values fail insmod with a clear message" t_hooks_invalid
run_test "writing hooks= switches one namespace's hook points at run time; none leaves no hook registered" t_switch
functional_test "the hooks parameter is the default of existing and new namespaces; a write changes one" t_switch_param_default
ktap_finish
