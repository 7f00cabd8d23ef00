#!/bin/bash
# Per-namespace state and /proc/net/rnetns across namespace creation and
# destruction, module load and unload.
source "$(dirname "$0")/lib.sh"

cleanup() { kill "${HOLDER:-}" "${USERNS:-}" 2>/dev/null; }
fresh_start cleanup

# Namespaces that exist before the module is loaded: a named one, and an
# unnamed one held only by a process.
ip netns add pre0
unshare -n sleep 600 &
HOLDER=$!
wait_for 30 '[ "$(inum /proc/$HOLDER/ns/net)" != "$(inum /proc/self/ns/net)" ]'

t_load() {
	dmesg -C
	insmod "$RNETNS_KO" || return 1
	dmesg | grep -E 'rnetns: loaded; serving [0-9]+ network namespaces' ||
		fail "no load line in dmesg: $(dmesg | tail -n 5)"
}

t_init_net_file() {
	[ -f $PROCF ] || fail "$PROCF missing in init_net"
	expect_eq "mode and owner" "$(stat -c '%a %u %g' $PROCF)" "644 0 0" &&
		expect_eq "inum" "$(field inum)" "$(inum /proc/self/ns/net)" &&
		expect_eq "init_net flag" "$(field init_net)" 1 &&
		cat $PROCF
}

t_preexisting_named() {
	expect_eq "inum of pre0" "$(ip netns exec pre0 awk '$1=="inum"{print $2}' $PROCF)" \
		"$(inum /run/netns/pre0)"
}

t_preexisting_unnamed() {
	expect_eq "inum of a process-held namespace" "$(field inum /proc/$HOLDER/net/rnetns)" \
		"$(inum /proc/$HOLDER/ns/net)"
}

t_ip_netns_add() {
	ip netns add post0 || return 1
	expect_eq "inum of post0" "$(ip netns exec post0 awk '$1=="inum"{print $2}' $PROCF)" \
		"$(inum /run/netns/post0)" &&
		expect_eq "init_net flag" "$(ip netns exec post0 awk '$1=="init_net"{print $2}' $PROCF)" 0
}

t_unshare() {
	local got
	got=$(unshare -n sh -c 'echo "$(stat -L -c %i /proc/self/ns/net) $(awk '\''$1=="inum"{print $2}'\'' /proc/net/rnetns)"')
	set -- $got
	[ -n "$1" ] && [ "$1" != "$(inum /proc/self/ns/net)" ] || fail "unshare -n made no new namespace"
	expect_eq "inum under unshare -n" "$2" "$1"
}

t_clone() {
	local got
	got=$($NSUTIL clone-exec sh -c 'echo "$(stat -L -c %i /proc/self/ns/net) $(awk '\''$1=="inum"{print $2}'\'' /proc/net/rnetns)"')
	set -- $got
	[ -n "$1" ] && [ "$1" != "$(inum /proc/self/ns/net)" ] || fail "clone(CLONE_NEWNET) made no new namespace"
	expect_eq "inum in a clone(CLONE_NEWNET) child" "$2" "$1"
}

t_setns() {
	expect_eq "inum after setns into post0" \
		"$($NSUTIL setns-exec /run/netns/post0 awk '$1=="inum"{print $2}' $PROCF)" \
		"$(inum /run/netns/post0)" &&
		expect_eq "inum after nsenter --net into pre0" \
			"$(nsenter --net=/run/netns/pre0 awk '$1=="inum"{print $2}' $PROCF)" \
			"$(inum /run/netns/pre0)"
}

t_isolation() {
	local f c1 c2 c3
	for ns in pre0 post0; do
		f=$(ip netns exec $ns cat $PROCF)
		expect_eq "inum lines in $ns's file" "$(grep -c '^inum ' <<<"$f")" 1 || return 1
	done
	c1=$(field cookie)
	c2=$(ip netns exec pre0 awk '$1=="cookie"{print $2}' $PROCF)
	c3=$(ip netns exec post0 awk '$1=="cookie"{print $2}' $PROCF)
	[ "$c1" != "$c2" ] && [ "$c2" != "$c3" ] && [ "$c1" != "$c3" ] ||
		fail "cookies not distinct: $c1 $c2 $c3"
}

t_userns() {
	# An unprivileged user makes a user namespace, then (once its uid_map
	# is written) a network namespace in it, as container runtimes do.
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur unshare -n \
		sh -c 'stat -c "%u %g %a" /proc/net/rnetns > /tmp/rnetns-userns; exec sleep 600' &
	USERNS=$!
	wait_until 30 test -s /tmp/rnetns-userns || fail "unprivileged unshare did not start"
	# setpriv, both unshares and sh exec in turn: $USERNS is the sleeper.
	local pid=$USERNS
	expect_eq "owner seen inside" "$(cat /tmp/rnetns-userns)" "0 0 644" &&
		expect_eq "owner seen from init_net" "$(stat -c '%u %g' /proc/$pid/net/rnetns)" "65534 65534" &&
		expect_eq "inum" "$(field inum /proc/$pid/net/rnetns)" "$(inum /proc/$pid/ns/net)"
	local rc=$?
	kill $pid
	return $rc
}

t_userns_one_call() {
	# unshare -Urn creates both namespaces in one unshare(2) call, before
	# the uid_map exists: like every /proc/net file (/proc/net/dev here),
	# the file then keeps its default owner, which is unmapped inside.
	local got
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn \
		sh -c 'stat -c "%u %g" /proc/net/rnetns /proc/net/dev; awk '\''$1=="inum"{print $2}'\'' /proc/net/rnetns; stat -L -c %i /proc/self/ns/net')
	echo "$got"
	set -- $got
	expect_eq "owner, as /proc/net/dev's" "$1 $2" "$3 $4" &&
		expect_eq "inum" "$5" "$6"
}

t_lifecycle_file() {
	expect_eq "lifecycle file mode" "$(stat -c '%a %u' $LIFEF)" "400 0" &&
		ip netns exec post0 test ! -e $LIFEF ||
		fail "rnetns_lifecycle visible outside init_net"
	cat $LIFEF
}

t_netns_del() {
	local before
	before=$(live)
	ip netns add gone0 && ip netns del gone0 || return 1
	# Namespaces are torn down asynchronously (cleanup_net workqueue).
	wait_for $TEARDOWN '[ "$(live)" = "$before" ]' ||
		fail "live count $(live), want $before after ip netns del"
	ip netns add gone0 && wait_for 30 '[ "$(live)" = $((before + 1)) ]' ||
		fail "live count $(live), want $((before + 1)) after ip netns add"
	ip netns del gone0
	wait_for $TEARDOWN '[ "$(live)" = "$before" ]' || fail "live count $(live) after second delete"
}

t_rmmod_100() {
	local i
	for i in $(seq 1 100); do echo "netns add many$i"; done | ip -batch - || return 1
	dmesg -C
	rmmod rnetns || return 1
	dmesg | grep -E 'rnetns: unloading; tearing down 1[0-9][0-9] network namespaces' ||
		fail "no unload line: $(dmesg | tail -n 3)"
	[ ! -e $PROCF ] || fail "$PROCF left in init_net"
	[ ! -e $LIFEF ] || fail "$LIFEF left"
	ip netns exec many50 test ! -e $PROCF || fail "$PROCF left in many50"
}

t_reload_serves_all() {
	insmod "$RNETNS_KO" || return 1
	$NSUTIL check-all /run/netns || return 1
	expect_eq "init_net inum" "$(field inum)" "$(inum /proc/self/ns/net)" &&
		[ "$(live)" -ge 103 ] || fail "live $(live) after reload with 103+ namespaces"
}

t_double_insmod() {
	local err
	err=$(insmod "$RNETNS_KO" 2>&1) && fail "second insmod succeeded"
	grep -q 'File exists' <<<"$err" || fail "unexpected error: $err"
}

t_unload_all() {
	cleanup_netns
	rmmod rnetns || return 1
	[ ! -e $PROCF ] && ! loaded
}

ktap_plan 17
run_test "insmod sets up existing namespaces and says so" t_load
functional_test "init_net has /proc/net/rnetns 0644 root, showing its own inode" t_init_net_file
functional_test "named namespace created before load is served" t_preexisting_named
functional_test "process-held namespace created before load is served" t_preexisting_unnamed
functional_test "ip netns add after load is served with its inode" t_ip_netns_add
functional_test "unshare -n namespace is served with its inode" t_unshare
functional_test "clone(CLONE_NEWNET) child's namespace is served" t_clone
functional_test "setns into a named namespace shows that namespace" t_setns
functional_test "each namespace shows only itself; cookies distinct" t_isolation
functional_test "unprivileged userns, then netns: file owned by that userns root" t_userns
functional_test "unprivileged unshare -Urn: served, owned as /proc/net/dev is" t_userns_one_call
functional_test "rnetns_lifecycle is root-only and only in init_net" t_lifecycle_file
run_test "ip netns del tears the namespace's state down" t_netns_del
run_test "rmmod with 100 live namespaces removes every file" t_rmmod_100
run_test "reload serves every namespace again" t_reload_serves_all
run_test "a second insmod fails with EEXIST" t_double_insmod
run_test "rmmod after deleting every namespace leaves nothing" t_unload_all
ktap_finish
