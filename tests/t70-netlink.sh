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

# -I: no user site or environment (each path probed costs a 9p round trip
# in the guest); -u: unbuffered, so a listener's lines reach its file.
NLUTIL="/usr/bin/python3 -I -u $RNETNS_TOP/tests/nlutil.py"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
W=/tmp/t70
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
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
	wait_until 30 test -s $W/$name.pid ||
		fail "$name: no holder: $(cat $W/$name.log)"
}

# The namespaces of this test: three named (each with its own traffic on
# lo), one made by unshare and one by clone, each held by a sleeping
# process, and twenty quiet named ones, so that a dump comes in four parts
# (about eight namespaces fit in the first).
NSFILES=(/proc/self/ns/net)
setup_namespaces() {
	local i
	for i in 1 2 3; do
		ip netns add a$i && ip -n a$i link set lo up || return 1
		ip netns exec a$i ping -q -c $((i + 1)) -i 0.2 127.0.0.1 >/dev/null || return 1
		NSFILES+=(/run/netns/a$i)
	done
	for i in $(seq 20); do ip netns add b$i || return 1; done
	# The holders write their PID once their traffic is over.
	hold us unshare -n sh -c 'ip link set lo up; ping -q -c 2 -i 0.2 ::1 >/dev/null; echo $$ >'$W'/us.pid; exec sleep 3600'
	hold cl $NSUTIL clone-exec sh -c 'ip link set lo up; ping -q -c 3 -i 0.2 127.0.0.1 >/dev/null; echo $$ >'$W'/cl.pid; exec sleep 3600'
	NSFILES+=(/proc/"$(cat $W/us.pid)"/ns/net /proc/"$(cat $W/cl.pid)"/ns/net)
	for i in $(seq 20); do NSFILES+=(/run/netns/b$i); done
}

t_family() {
	# nlctrl's view of the registered family against the spec.
	setup_namespaces || return 1
	$NLUTIL policy
}

t_dump_equals_proc() {
	# The CLI's dump, every namespace's file: equal, and nothing else listed.
	local try ok=0 n
	for try in 1 2 3; do
		ynl --dump get >$W/dump.json || return 1
		$NLUTIL compare $W/dump.json "${NSFILES[@]}" >$W/cmp.txt
		n=$(awk '/^dump:/ { print $2 }' $W/cmp.txt)
		grep -q ', 0 mismatches$' $W/cmp.txt && [ "$n" = "$(live)" ] && ok=1 && break
		sleep 1
	done
	cat $W/cmp.txt
	echo "$(live) namespaces hold rnetns state"
	[ $ok = 1 ]
}

t_dump_under_traffic() {
	# Dumps while UDP flows in a2: its counters grow from dump to dump;
	# once the traffic stops, dump and file agree again.
	local a2
	a2=$(inum /run/netns/a2)
	udp_sink a2 127.0.0.1 9 || return 1
	PIDS+=($BG_PID)
	setsid ip netns exec a2 $NSUTIL udp-send 127.0.0.1 9 100000000 64 >/dev/null 2>&1 &
	local sender=$!
	PIDS+=($sender)
	# Traffic first (the sender's start takes a while here).
	wait_for 60 '[ "$(ip netns exec a2 awk '"'"'$1 == "ipv4" && $2 == "input" { print $3 }'"'"' $PROCF)" -gt 100 ]' || return 1
	$NLUTIL req "packets $a2" "packets $a2" "packets $a2" >$W/grow.txt
	bg_stop "$sender"
	cat $W/grow.txt
	sed 's/.* -> ok //' $W/grow.txt | sort -n -c -u || fail "a2's packets did not grow from dump to dump" || return 1
	local try
	for try in 1 2 3 4 5; do
		sleep 1
		ynl --dump get >$W/dump.json && $NLUTIL compare $W/dump.json "${NSFILES[@]}" >$W/cmp.txt && break
	done
	cat $W/cmp.txt
	[ "$try" -lt 5 ] || $NLUTIL compare $W/dump.json "${NSFILES[@]}" >/dev/null
}

t_do_get() {
	# The CLI: one namespace by ns-fd, one by nsid (the caller's own: below).
	local a1 a2 j
	a1=$(inum /run/netns/a1) a2=$(inum /run/netns/a2)
	ip netns set a2 7 || return 1
	j=$(ynl --do get --json '{"ns-fd": 3}' 3</run/netns/a1) || return 1
	grep -q "\"inum\": $a1," <<<"$j" || fail "ns-fd of a1 ($a1): $j" || return 1
	j=$(ynl --do get --json '{"nsid": 7}') || return 1
	grep -q "\"inum\": $a2," <<<"$j" || fail "nsid 7, a2 ($a2): $j" || return 1
	j=$($NLUTIL req 'do get {}') || return 1
	grep -q "\"inum\": $(inum /proc/self/ns/net), .*\"init-net\": 1," <<<"$j" || fail "own namespace: $j" || return 1
	echo "own, ns-fd (a1 $a1) and nsid 7 (a2 $a2) answered"
}

t_set() {
	# The CLI: a hook selection by ns-fd, reset and hooks at once by nsid;
	# the proc files show them.
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
	# Each bad request: its errno and extended-ack message (the CLI's
	# words for the first), and a1's state unchanged.
	local before after e
	before=$(ip netns exec a1 grep -v '^age_ms' $PROCF)
	e=$(ynl --do get --json '{"ns-fd": 3}' 3</dev/null 2>&1) && return 1
	grep -m1 'Netlink error' <<<"$e"
	grep -q 'ns-fd is not an open network namespace file descriptor: Invalid argument' <<<"$e" || return 1
	$NLUTIL req 'do get {"nsid": 99}' 'do set {"ns-fd": 3, "nsid": 7, "reset": true}' \
		'do set {"ns-fd": 3}' 'do set {"ns-fd": 3, "hooks": 1024, "reset": true}' \
		'do get {"inum": 5}' 'dump get {"inum": 5}' repeated 3</run/netns/a1 >$W/err.txt
	cat $W/err.txt
	expect_eq "errors" "$(sed 's/.* -> //' $W/err.txt)" \
"ENOENT: no namespace has this nsid in the caller's namespace
EINVAL: ns-fd and nsid both select a namespace: give one
EINVAL: nothing to set: give reset and/or hooks
EINVAL: reserved bit set
EINVAL: Unsupported attribute
EINVAL: takes no attributes
EINVAL: attribute given more than once" || return 1
	after=$(ip netns exec a1 grep -v '^age_ms' $PROCF)
	[ "$before" = "$after" ] || fail "a1 changed: $before // $after"
}

t_unprivileged() {
	# An unprivileged user: its own namespace only, no set, no listening.
	"${NOBODY[@]}" $NLUTIL req 'dump get {}' 'do get {"ns-fd": 3}' 'do set {"reset": true}' \
		'subscribe lifecycle' 3</run/netns/a1 >$W/perm.txt
	cat $W/perm.txt
	expect_eq "nobody's answers" "$(sed 's/.* -> //' $W/perm.txt)" \
"ok $(inum /proc/self/ns/net)
EPERM: needs CAP_NET_ADMIN over that namespace's user namespace
EPERM: -
EPERM: Operation not permitted"
}

t_container() {
	# A container's root (nobody's user namespace): its namespace and the
	# ones it makes, never the host's or a neighbour container's; it resets
	# its own, not the host's.
	hold nb "${NOBODY[@]}" unshare -Urn sh -c 'echo $$ >'$W'/nb.pid; exec sleep 3600'
	local nb
	nb=$(inum /proc/"$(cat $W/nb.pid)"/ns/net)
	cat >$W/container.sh <<-EOF
		unshare -n sh -c 'echo \$\$ >$W/child.pid; exec sleep 3600' &
		until [ -s $W/child.pid ]; do sleep 0.1; done
		echo "own \$(stat -L -c %i /proc/self/ns/net) child \$(stat -L -c %i /proc/\$(cat $W/child.pid)/ns/net)"
		ip link set lo up && ping -q -c 2 -i 0.2 127.0.0.1 >/dev/null
		$NLUTIL req 'dump get {}' 'do set {"reset": true}' 'do get {"ns-fd": 3}' \
			'do set {"ns-fd": 4, "reset": true}' 3</proc/\$(cat $W/child.pid)/ns/net 4</run/netns/a1
		awk '\$1 ~ /^ipv/ { s += \$3 } END { print "own packets after reset: " s }' $PROCF
		kill \$(cat $W/child.pid)
	EOF
	rm -f $W/child.pid
	local out own child
	out=$("${NOBODY[@]}" unshare -Urn bash $W/container.sh 2>&1)
	echo "$out"
	read -r _ own _ child <<<"$(head -n1 <<<"$out")"
	[ -n "$child" ] && [ "$own" != "$nb" ] || return 1
	expect_eq "the container's answers" "$(sed -n 's/.* -> //p' <<<"$out" | sed 's/^\(ok {"inum": [0-9]*\),.*/\1/')" \
"ok $(printf '%s\n' "$own" "$child" | sort -n | tr '\n' ' ' | sed 's/ $//')
ok null
ok {\"inum\": $child
EPERM: needs CAP_NET_ADMIN over that namespace's user namespace" || return 1
	grep -q '^own packets after reset: 0$' <<<"$out" || return 1
	# The host's root sees both containers.
	$NLUTIL req 'dump get {}' | grep -q " $nb\\b" || fail "the host's dump lacks the neighbour container $nb"
}

# listener FILE: start `ynl --subscribe lifecycle` (JSON lines to FILE) in
# the background and wait until it hears: a probe namespace made and
# destroyed until its notifications arrive. Sets BG_PID; the lines after
# the probe's are in FILE from line $(cat FILE.from).
listener() {
	local f=$1 i
	setsid bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >$f 2>&1" &
	BG_PID=$!
	PIDS+=($BG_PID)
	for i in $(seq 60); do
		unshare -n true
		wait_for 5 '[ "$(grep -c destroy-ntf '$f')" -gt 0 ]' && break
	done
	grep -q destroy-ntf "$f" || fail "the listener heard nothing: $(cat "$f")" || return 1
	# Teardown is asynchronous: let the probes' last notifications come.
	sleep 2
	echo $(( $(wc -l <"$f") + 1 )) >"$f.from"
}

# ntf FILE NAME: the inode numbers of FILE's NAME notifications after the
# probe's, sorted, on one line.
ntf() {
	tail -n +"$(cat "$1.from")" "$1" | grep "^{\"name\": \"$2\"" | grep -o '"inum": [0-9]*' |
		awk '{ print $2 }' | sort -n | tr '\n' ' '
}

t_notifications() {
	# A listener in the initial namespace hears every creation and
	# teardown: ip netns, unshare, clone, a container; a container's root
	# listening in its own namespace hears none of them. (That nothing is
	# built when nobody listens is a tracing test: t60, kprobes.)
	# The container's listener first: it is bound (its socket has a port
	# id in its namespace's /proc/net/netlink) well before the host's
	# listener has heard its probes.
	setsid "${NOBODY[@]}" unshare -Urn bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >$W/cntf.json 2>&1" &
	local cpid=$!
	PIDS+=($cpid)
	wait_for 60 '[ "$(awk '"'"'$2 == 16 && $3 != 0'"'"' /proc/'$cpid'/net/netlink | wc -l)" -ge 1 ]' ||
		fail "the container's listener did not bind: $(cat $W/cntf.json)" || return 1
	listener $W/ntf.json || return 1
	local host=$BG_PID
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
	wait_for $TEARDOWN '[ "$(ntf $W/ntf.json destroy-ntf)" = "$want" ]' ||
		fail "notifications: create $(ntf $W/ntf.json create-ntf), destroy $(ntf $W/ntf.json destroy-ntf), want $want" || return 1
	expect_eq "create-ntf inums" "$(ntf $W/ntf.json create-ntf)" "$want" || return 1
	tail -n +"$(cat $W/ntf.json.from)" $W/ntf.json | grep '^{'
	# Every field there: durations and the lifetime are positive.
	/usr/bin/python3 -I -c 'import json,sys
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
	$NLUTIL race 12 "${stable[@]}"
	local rc=$? n
	bg_stop "$churn"
	for n in $(ip netns list | awk '/^r[0-9]/ { print $1 }'); do ip netns del "$n"; done
	return $rc
}

t_unload() {
	# rmmod waits for no dump: it fails while one is in progress (netlink
	# holds the module), succeeds once the dump ends or its socket closes,
	# and with a listener subscribed. The kernel log is scanned after.
	rm -f $W/go
	setsid $NLUTIL paused-dump $W/go >$W/pd.log 2>&1 &
	local pd=$!
	PIDS+=($pd)
	wait_until 60 grep -q '^paused' $W/pd.log || fail "no paused dump: $(cat $W/pd.log)" || return 1
	cat $W/pd.log
	# Reading a part makes the next one: with two parts read or queued, the
	# dump is still in progress.
	if rmmod rnetns 2>$W/rmmod.err; then
		load_module
		fail "rmmod succeeded with a dump in progress"
		return 1
	fi
	cat $W/rmmod.err
	touch $W/go
	wait $pd || fail "paused dump: $(cat $W/pd.log)" || return 1
	tail -n1 $W/pd.log
	local paused total
	paused=$(awk '/^paused/ { print $2 }' $W/pd.log) total=$(awk '/^done/ { print $2 }' $W/pd.log)
	[ "$paused" -gt 0 ] && [ "$total" -gt "$paused" ] && [ "$total" -ge ${#NSFILES[@]} ] &&
		grep -q ' dup 0$' $W/pd.log || fail "the resumed dump is not every namespace once, in parts" || return 1
	rm -f $W/go
	setsid $NLUTIL paused-dump $W/go close >$W/pd.log 2>&1 &
	pd=$!
	PIDS+=($pd)
	wait_until 60 grep -q '^paused' $W/pd.log || return 1
	touch $W/go
	wait $pd
	listener $W/ntf2.json || return 1
	rmmod rnetns || fail "rmmod after the dump's socket closed, with a listener" || return 1
	echo "rmmod: ok, with a listener subscribed and a dump closed mid-way"
	load_module || return 1
	kmemleak_file_check
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
functional_test "dumps under traffic: counters only grow, and agree with the files after" t_dump_under_traffic
functional_test "ynl --do get: own namespace, by ns-fd, by nsid" t_do_get
functional_test "ynl --do set: reset, hooks, both; the files show them" t_set
run_test "bad requests: errno and extack message, nothing changed" t_errors
functional_test "an unprivileged user: its own namespace, no set, no listening" t_unprivileged
functional_test "a container's root: its own namespaces only, resets its own" t_container
functional_test "lifecycle: every creation and teardown heard in init_net, none in a container" t_notifications
run_test "a dump racing namespace creation and destruction: no error, none twice, none lost" t_dump_race
run_test "rmmod: refused during a dump, fine after it and with a listener; kmemleak" t_unload
run_test "fuzz: malformed requests from an unprivileged user, each answered, errors with messages" t_fuzz
ktap_finish
