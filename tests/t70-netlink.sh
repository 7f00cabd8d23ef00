#!/bin/bash
# The rnetns generic netlink family, driven by the kernel's own YNL CLI
# (the 7.2 tree's tools/net/ynl/pyynl/cli.py, unmodified, staged by
# qemu/run as $RNETNS_YNL) and its library (tests/nlutil.py): the family and
# its policies as the kernel reports them against the spec, a dump equal to
# every namespace's /proc/net/rnetns (namespaces made by ip netns, unshare
# and clone, under traffic), do get by ns-fd and nsid, set, errors with
# their extended-ack messages that change nothing, who sees what (an
# unprivileged user, a container's root), lifecycle notifications, a dump
# racing namespace creation and destruction, rmmod with a dump in progress
# and a listener subscribed, and a fuzz of malformed requests from an
# unprivileged user.
source "$(dirname "$0")/lib.sh"

NLUTIL="/usr/bin/python3 $RNETNS_TOP/tests/nlutil.py"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
W=/tmp/t70
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf $W
}
fresh_start cleanup
if ! need_ynl >/dev/null; then
	ktap_plan 1
	run_test "the kernel's YNL CLI is staged in the guest" need_ynl
	ktap_finish
fi
load_module || exit 1
# Unprivileged users run here too: a directory everybody may be in.
cd / || exit 1
mkdir -p $W
chmod 1777 $W

# ynl_err ARGS...: the CLI's error line (it exits non-zero on an error).
ynl_err() {
	local out
	out=$(ynl "$@" 2>&1) && { echo "ynl $* succeeded: $out"; return 1; }
	grep -m1 'Netlink error' <<<"$out" || echo "$out"
}

# hold NAME CMD...: run CMD (which writes its namespace's holder PID to
# $W/NAME.pid) in its own session; waits for the PID file.
hold() {
	local name=$1
	shift
	setsid "$@" >$W/$name.log 2>&1 &
	PIDS+=($!)
	wait_until 30 test -s $W/$name.pid || fail "$name: no holder: $(cat $W/$name.log)"
}

# The namespaces of this test: three named (each with its own traffic on
# lo), one made by unshare and one by clone, each held by a sleeping
# process, and six quiet named ones, so that a dump comes in several parts.
NSFILES=(/proc/self/ns/net)
setup_namespaces() {
	local i
	for i in 1 2 3; do
		ip netns add a$i && ip -n a$i link set lo up || return 1
		ip netns exec a$i ping -q -c $((i + 1)) -i 0.2 127.0.0.1 >/dev/null || return 1
		NSFILES+=(/run/netns/a$i)
	done
	for i in 1 2 3 4 5 6; do ip netns add b$i || return 1; done
	# The holders write their PID once their traffic is over.
	hold us unshare -n sh -c 'ip link set lo up; ping -q -c 2 -i 0.2 ::1 >/dev/null; echo $$ >'$W'/us.pid; exec sleep 3600'
	hold cl $NSUTIL clone-exec sh -c 'ip link set lo up; ping -q -c 3 -i 0.2 127.0.0.1 >/dev/null; echo $$ >'$W'/cl.pid; exec sleep 3600'
	NSFILES+=(/proc/"$(cat $W/us.pid)"/ns/net /proc/"$(cat $W/cl.pid)"/ns/net)
	for i in 1 2 3 4 5 6; do NSFILES+=(/run/netns/b$i); done
}

t_family() {
	# nlctrl's view of the registered family against the spec.
	setup_namespaces || return 1
	$NLUTIL policy
}

t_dump_equals_proc() {
	# The CLI's dump, every namespace's file: equal, and nothing else listed.
	local try
	for try in 1 2 3; do
		ynl --dump get >$W/dump.json || return 1
		$NLUTIL compare $W/dump.json "${NSFILES[@]}" >$W/cmp.txt && break
	done
	cat $W/cmp.txt
	[ "$try" -lt 3 ] || $NLUTIL compare $W/dump.json "${NSFILES[@]}" >/dev/null || return 1
	expect_eq "namespaces in the dump / holding rnetns state" \
		"$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' $W/dump.json)" "$(live)"
	# One entry as the CLI prints it.
	/usr/bin/python3 -c 'import json,sys; d=[e for e in json.load(open(sys.argv[1])) if e["inum"] == int(sys.argv[2])][0]
d["counter"] = d["counter"][:2] + ["..."]; print(json.dumps(d))' $W/dump.json "$(inum /run/netns/a1)"
}

t_dump_under_traffic() {
	# Dumps while UDP flows in a2: its counters only grow from dump to
	# dump; once the traffic stops, dump and file agree again.
	local i prev=0 now
	udp_sink a2 127.0.0.1 9 || return 1
	PIDS+=($BG_PID)
	setsid ip netns exec a2 $NSUTIL udp-send 127.0.0.1 9 3000 64 >$W/send.log 2>&1 &
	local sender=$!
	for i in 1 2 3; do
		ynl --dump get >$W/dump.json || return 1
		now=$(/usr/bin/python3 -c 'import json,sys; d=[e for e in json.load(open(sys.argv[1])) if e["inum"] == int(sys.argv[2])][0]
print(sum(c["packets"] for c in d["counter"]))' $W/dump.json "$(inum /run/netns/a2)")
		echo "dump $i: a2 has $now packets"
		[ "$now" -ge "$prev" ] || fail "a2's packets went down: $prev then $now" || return 1
		prev=$now
	done
	wait $sender || fail "udp-send: $(cat $W/send.log)" || return 1
	ynl --dump get >$W/dump.json && $NLUTIL compare $W/dump.json "${NSFILES[@]}"
}

t_do_get() {
	# The caller's own namespace, one by ns-fd, one by nsid.
	local a1 a2 j
	a1=$(inum /run/netns/a1) a2=$(inum /run/netns/a2)
	ip netns set a2 7 || return 1
	j=$(ynl --do get) || return 1
	grep -q "\"inum\": $(inum /proc/self/ns/net)," <<<"$j" && grep -q '"init-net": 1' <<<"$j" ||
		fail "own namespace: $j" || return 1
	j=$(ynl --do get --json '{"ns-fd": 3}' 3</run/netns/a1) || return 1
	grep -q "\"inum\": $a1," <<<"$j" || fail "ns-fd of a1 ($a1): $j" || return 1
	j=$(ynl --do get --json '{"nsid": 7}') || return 1
	grep -q "\"inum\": $a2," <<<"$j" || fail "nsid 7, a2 ($a2): $j" || return 1
	echo "own, ns-fd (a1 $a1) and nsid 7 (a2 $a2) answered"
}

t_set() {
	# reset and a hook selection by ns-fd, both at once by nsid; the proc
	# file shows each.
	ynl --do set --json '{"ns-fd": 3, "reset": true}' 3</run/netns/a1 >/dev/null || return 1
	expect_eq "a1's packets after reset" \
		"$(ip netns exec a1 awk '$1 ~ /^ipv/ { s += $3 } END { print s }' $PROCF)" 0 || return 1
	ynl --do set --json '{"ns-fd": 3, "hooks": ["ipv4-input", "ipv6-output"]}' 3</run/netns/a1 >/dev/null || return 1
	expect_eq "a1's hooks line and rows" \
		"$(ip netns exec a1 sh -c "grep '^hooks' $PROCF; grep -c '^ipv' $PROCF")" "hooks ipv4:input,ipv6:output
2" || return 1
	ynl --do set --json '{"nsid": 7, "reset": true, "hooks": ["ipv4-output"]}' >/dev/null || return 1
	expect_eq "a2 (nsid 7): hooks, packets" \
		"$(ip netns exec a2 sh -c "grep '^hooks' $PROCF; awk '\$1 ~ /^ipv/ { s += \$3 } END { print s }' $PROCF")" "hooks ipv4:output
0" || return 1
	ip netns exec a1 sh -c "echo hooks=all >$PROCF" && ip netns exec a2 sh -c "echo hooks=all >$PROCF"
}

t_errors() {
	# Each bad request: its errno and message, and a1's state unchanged.
	local before after e
	before=$(ip netns exec a1 grep -v '^age_ms' $PROCF)
	e=$(ynl_err --do get --json '{"ns-fd": 3}' 3</dev/null)
	echo "$e"
	grep -q 'ns-fd is not an open network namespace file descriptor: Invalid argument' <<<"$e" || return 1
	e=$(ynl_err --do get --json '{"nsid": 99}')
	echo "$e"
	grep -q 'no namespace has this nsid.*: No such file or directory' <<<"$e" || return 1
	e=$(ynl_err --do set --json '{"ns-fd": 3, "nsid": 7, "reset": true}' 3</run/netns/a1)
	echo "$e"
	grep -q 'ns-fd and nsid both select a namespace: give one: Invalid argument' <<<"$e" || return 1
	e=$(ynl_err --do set --json '{"ns-fd": 3}' 3</run/netns/a1)
	echo "$e"
	grep -q 'nothing to set: give reset and/or hooks: Invalid argument' <<<"$e" || return 1
	e=$(ynl_err --do set --json '{"ns-fd": 3, "hooks": 1024, "reset": true}' 3</run/netns/a1)
	echo "$e"
	grep -q 'reserved bit set: Invalid argument' <<<"$e" || return 1
	e=$(ynl_err --do get --json '{"inum": 5}')
	echo "$e"
	grep -q 'Unsupported attribute: Invalid argument' <<<"$e" || return 1
	$NLUTIL repeated || return 1
	after=$(ip netns exec a1 grep -v '^age_ms' $PROCF)
	[ "$before" = "$after" ] || fail "a1 changed: $before // $after"
}

t_unprivileged() {
	# An unprivileged user: its own namespace only, no set, no listening.
	local j e
	j=$("${NOBODY[@]}" /bin/bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --dump get") || return 1
	expect_eq "inums in nobody's dump" "$(grep -o '"inum": [0-9]*' <<<"$j" | tr -d '"inum: ' | tr '\n' ' ')" \
		"$(inum /proc/self/ns/net) " || return 1
	e=$("${NOBODY[@]}" /bin/bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --do get --json '{\"ns-fd\": 3}' 3</run/netns/a1 2>&1")
	echo "$e" | grep -m1 'Netlink error'
	grep -q "needs CAP_NET_ADMIN over that namespace's user namespace: Operation not permitted" <<<"$e" || return 1
	e=$("${NOBODY[@]}" /bin/bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --do set --json '{\"reset\": true}' 2>&1")
	echo "$e" | grep -m1 'Netlink error'
	grep -q 'Operation not permitted' <<<"$e" || return 1
	e=$("${NOBODY[@]}" /bin/bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 1 2>&1") &&
		fail "nobody joined the lifecycle group: $e" || true
	echo "$e" | tail -n1
	grep -q 'Operation not permitted' <<<"$e"
}

t_container() {
	# A container's root (nobody's user namespace): its namespace and the
	# ones it makes, never the host's or a neighbour container's; it resets
	# its own, not the host's; it may listen, and hears nothing of the host.
	hold nb "${NOBODY[@]}" unshare -Urn sh -c 'echo $$ >'$W'/nb.pid; exec sleep 3600'
	local nb
	nb=$(inum /proc/"$(cat $W/nb.pid)"/ns/net)
	cat >$W/container.sh <<-EOF
		source $RNETNS_TOP/tests/lib.sh
		cd $W
		unshare -n sh -c 'echo \$\$ >$W/child.pid; exec sleep 3600' &
		until [ -s $W/child.pid ]; do sleep 0.1; done
		echo "own \$(stat -L -c %i /proc/self/ns/net) child \$(stat -L -c %i /proc/\$(cat $W/child.pid)/ns/net)"
		ynl --dump get | grep -o '"inum": [0-9]*' | tr -d '"inum: ' | sort -n | tr '\n' ' '; echo
		ip link set lo up && ping -q -c 2 -i 0.2 127.0.0.1 >/dev/null
		ynl --do set --json '{"reset": true}' >/dev/null && echo "reset own: ok"
		awk '\$1 ~ /^ipv/ { s += \$3 } END { print "own packets after reset: " s }' $PROCF
		ynl --do get --json '{"ns-fd": 3}' 3</proc/\$(cat $W/child.pid)/ns/net | grep -o '"inum": [0-9]*'
		ynl --do set --json '{"ns-fd": 3, "reset": true}' 3</run/netns/a1 2>&1 | grep -m1 'Netlink error'
		kill \$(cat $W/child.pid)
	EOF
	rm -f $W/child.pid
	local out own child
	out=$("${NOBODY[@]}" unshare -Urn bash $W/container.sh 2>&1)
	echo "$out"
	read -r _ own _ child <<<"$(head -n1 <<<"$out")"
	expect_eq "the container's dump (sorted inums)" "$(sed -n 2p <<<"$out")" \
		"$(printf '%s\n' "$own" "$child" | sort -n | tr '\n' ' ')" || return 1
	[ "$own" != "$nb" ] || return 1
	grep -q '^reset own: ok$' <<<"$out" && grep -q '^own packets after reset: 0$' <<<"$out" &&
		grep -q "^\"inum\": $child\$" <<<"$out" &&
		grep -q "needs CAP_NET_ADMIN over that namespace's user namespace: Operation not permitted" <<<"$out" ||
		fail "the container's requests did not answer as they should" || return 1
	# The host's root sees both containers.
	ynl --dump get >$W/dump.json || return 1
	grep -q "\"inum\": $nb," $W/dump.json || fail "the host's dump lacks the neighbour container $nb"
}

# listening: a NETLINK_GENERIC socket has joined a multicast group.
listening() { awk '$3 == 16 && $5 != "00000000"' /proc/net/netlink | grep -q .; }

t_notifications() {
	# A listener in the initial namespace hears every creation and
	# teardown: ip netns, unshare, clone, a container; a container's root
	# listening in its own namespace hears none of them. With nobody
	# listening nothing is built (no rnetns_genlmsg_new on creation).
	local built=-1
	if [ -e $T/kprobe_events ]; then
		echo 'p:rnetns_nl/new rnetns_genlmsg_new' >>$T/kprobe_events &&
			echo 1 >$T/events/rnetns_nl/enable && echo >$T/trace && echo 1 >$T/tracing_on || return 1
		ip netns add quiet && ip netns del quiet
		unshare -n true
		echo 0 >$T/tracing_on
		built=$(grep -c 'new: (rnetns_genlmsg_new' $T/trace)
		echo 0 >$T/events/rnetns_nl/enable
		echo >$T/kprobe_events
		expect_eq "messages built for 2 creations with nobody listening" "$built" 0 || return 1
	fi
	setsid bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >$W/ntf.json 2>&1" &
	PIDS+=($!)
	local host=$!
	wait_until 60 listening || fail "the listener did not join: $(cat $W/ntf.json)" || return 1
	setsid "${NOBODY[@]}" unshare -Urn bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >$W/cntf.json 2>&1" &
	PIDS+=($!)
	wait_for 60 '[ "$(awk '"'"'$3 == 16 && $5 != "00000000"'"'"' /proc/net/netlink | wc -l)" -ge 2 ]' ||
		fail "the container's listener did not join: $(cat $W/cntf.json)" || return 1
	local made=()
	ip netns add n1 || return 1
	made+=("$(inum /run/netns/n1)")
	made+=("$(unshare -n stat -L -c %i /proc/self/ns/net)")
	made+=("$($NSUTIL clone-exec stat -L -c %i /proc/self/ns/net)")
	made+=("$("${NOBODY[@]}" unshare -Urn stat -L -c %i /proc/self/ns/net)")
	ip netns del n1
	echo "made and destroyed: ${made[*]}"
	local want
	want=$(printf '%s\n' "${made[@]}" | sort -n | tr '\n' ' ')
	ntf() { /usr/bin/python3 -c 'import json,sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        m = json.loads(line)
        if m["name"] == sys.argv[2]: print(m["msg"]["inum"])' $W/ntf.json "$1" | sort -n | tr '\n' ' '; }
	wait_for $TEARDOWN '[ "$(ntf destroy-ntf)" = "$want" ]' ||
		fail "notifications: create $(ntf create-ntf), destroy $(ntf destroy-ntf), want $want" || return 1
	expect_eq "create-ntf inums" "$(ntf create-ntf)" "$want" || return 1
	grep -m2 '^{' $W/ntf.json
	# Every field there: durations and the lifetime are positive.
	/usr/bin/python3 -c 'import json,sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        m = json.loads(line)["msg"]
        k = ["init-duration-ns"] if "init-duration-ns" in m else ["lifetime-ns", "exit-duration-ns"]
        assert m["cookie"] > 0 and all(m[x] > 0 for x in k), m' $W/ntf.json || return 1
	expect_eq "notifications heard by the container's root" "$(grep -c '^{' $W/cntf.json)" 0 || return 1
	bg_stop "$host"
}

t_dump_race() {
	# Dumps (in parts) while namespaces come and go: none fails, none
	# repeats a namespace, every namespace alive throughout is in each.
	local stable=() f
	for f in "${NSFILES[@]}"; do stable+=("$(inum "$f")"); done
	setsid bash -c 'i=0; while :; do i=$((i + 1)); ip netns add r$i; unshare -n true; ip netns del r$i; done' >/dev/null 2>&1 &
	local churn=$!
	PIDS+=($churn)
	$NLUTIL race 20 "${stable[@]}"
	local rc=$?
	bg_stop "$churn"
	ip -all netns del 2>/dev/null
	setup_again
	return $rc
}

# setup_again: the named namespaces of this test, after ip -all netns del.
setup_again() {
	local i
	for i in 1 2 3; do ip netns add a$i; done
	for i in 1 2 3 4 5 6; do ip netns add b$i; done
}

t_unload() {
	# rmmod waits for no dump: it fails while one is in progress (netlink
	# holds the module), succeeds once the dump ends or its socket closes,
	# and with a listener subscribed. The kernel log is scanned after.
	rm -f $W/go
	setsid $NLUTIL paused-dump $W/go >$W/pd.log 2>&1 &
	local pd=$!
	wait_until 60 grep -q '^paused' $W/pd.log || fail "no paused dump: $(cat $W/pd.log)" || return 1
	cat $W/pd.log
	rmmod rnetns 2>$W/rmmod.err && fail "rmmod succeeded with a dump in progress" && return 1
	cat $W/rmmod.err
	touch $W/go
	wait $pd || fail "paused dump: $(cat $W/pd.log)" || return 1
	tail -n1 $W/pd.log
	grep -q "^done $(live) dup 0\$" $W/pd.log || fail "the resumed dump is not every namespace once" || return 1
	rm -f $W/go
	setsid $NLUTIL paused-dump $W/go close >$W/pd.log 2>&1 &
	pd=$!
	wait_until 60 grep -q '^paused' $W/pd.log || return 1
	touch $W/go
	wait $pd
	setsid bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >$W/ntf2.json 2>&1" &
	PIDS+=($!)
	wait_until 60 listening || return 1
	rmmod rnetns || fail "rmmod after the dump's socket closed, with a listener" || return 1
	echo "rmmod: ok, with a listener subscribed and a dump closed mid-way"
	load_module || return 1
	kmemleak_clean
	[ $? != 1 ]
}

t_fuzz() {
	# Malformed and random requests from an unprivileged user.
	local seed=${RNETNS_FUZZ_SEED:-$(date +%s)}
	echo "seed $seed (RNETNS_FUZZ_SEED)"
	"${NOBODY[@]}" env RNETNS_YNL="$RNETNS_YNL" RNETNS_TOP="$RNETNS_TOP" $NLUTIL fuzz 400 "$seed"
}

ktap_plan 12
run_test "nlctrl: the family's version, ops and flags, group and policies are the spec's" t_family
run_test "ynl --dump get: every namespace (ip netns, unshare, clone), equal to its /proc/net/rnetns" t_dump_equals_proc
run_test "dumps under traffic: counters only grow, and agree with the files after" t_dump_under_traffic
run_test "ynl --do get: own namespace, by ns-fd, by nsid" t_do_get
run_test "ynl --do set: reset, hooks, both; the files show them" t_set
run_test "bad requests: errno and extack message, nothing changed" t_errors
run_test "an unprivileged user: its own namespace, no set, no listening" t_unprivileged
run_test "a container's root: its own namespaces only, resets its own" t_container
run_test "lifecycle: every creation and teardown heard in init_net, none in a container; nothing built unheard" t_notifications
run_test "a dump racing namespace creation and destruction: no error, none twice, none lost" t_dump_race
run_test "rmmod: refused during a dump, fine after it and with a listener; kmemleak" t_unload
run_test "fuzz: malformed requests from an unprivileged user, each answered, errors with messages" t_fuzz
ktap_finish
