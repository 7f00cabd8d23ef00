#!/bin/bash
# requires: /sys/kernel/debug/failslab
# Fault injection in every allocation of rnetns's init paths: the Nth
# allocation (slab or page) made with module code on the stack fails, for
# N = 1, 2, ... until the Nth is never reached. Each failure must unwind
# cleanly (no leak, no warning: the runner scans the log, kmemleak is
# checked at the end) and the next attempt without faults must succeed.
source "$(dirname "$0")/lib.sh"
FI=/sys/kernel/debug
MAXN=${RNETNS_FAULT_MAX:-400}

cleanup() {
	for a in failslab fail_page_alloc; do
		echo 0 >$FI/$a/require-start 2>/dev/null
		echo -1 >$FI/$a/require-end 2>/dev/null
	done
}
fresh_start cleanup

# Only allocations with module code on the stack count: the x86_64 module
# area, where rnetns is the only module.
MOD_START=0xffffffffa0000000
MOD_END=0xffffffffff000000
setup_faults() {
	local a
	for a in failslab fail_page_alloc; do
		echo 0 >$FI/$a/probability # fail-nth ignores it
		echo N >$FI/$a/ignore-gfp-wait
		echo 0 >$FI/$a/verbose
		echo $MOD_START >$FI/$a/require-start
		echo $MOD_END >$FI/$a/require-end
		echo 32 >$FI/$a/stacktrace-depth
	done
	echo N >$FI/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$FI/fail_page_alloc/min-order
}

t_setup() {
	setup_faults || return 1
	load_module || return 1
	local text
	text=$(cat /sys/module/rnetns/sections/.text)
	# Same-width lower-case hex strings compare like the numbers.
	[[ ! "$text" < "$MOD_START" && "$text" < "$MOD_END" ]] ||
		fail "rnetns .text at $text is outside the module area"
	echo "rnetns .text at $text"
}

t_netns_faults() {
	local n out injected=0 live0
	live0=$(live)
	for n in $(seq 1 "$MAXN"); do
		out=$($NSUTIL fail-nth-unshare "$n")
		case $out in
		"injected ok") ;; # the failure was handled without failing (e.g. retried)
		injected\ *) injected=$((injected + 1)) ;;
		"not-reached ok") break ;;
		*) fail "N=$n: $out" || return 1 ;;
		esac
		# Nothing half-made is left: the live count is back, and a
		# namespace made without faults works.
		wait_for $TEARDOWN '[ "$(live)" = "$live0" ]' || fail "N=$n: live $(live), want $live0" || return 1
	done
	echo "$((n - 1)) fault sites in namespace creation, $injected failed the creation"
	[ "$n" -gt 1 ] && [ "$n" -lt "$MAXN" ] || fail "enumeration did not end properly (n=$n)" || return 1
	expect_eq "a namespace after the faults" "$(unshare -n awk '$1 == "ipv4" { n++ } END { print n }' $PROCF)" 5
}

# The insmod sites to fail: every one with RNETNS_FAULT_INSMOD=all (the
# long torture run), else a Fibonacci sample (1, 2, 3, 5, 8, ...): each
# failed load unwinds through synchronize_rcu() and rcu_barrier(), which
# takes seconds on the debug kernel under emulation.
insmod_sites() {
	if [ "${RNETNS_FAULT_INSMOD:-sample}" = all ]; then
		seq 1 "$MAXN"
	else
		local a=1 b=2
		while [ $a -le "$MAXN" ]; do echo $a; local c=$((a + b)); a=$b; b=$c; done
	fi
}

t_insmod_faults() {
	local n out injected=0 absorbed=0
	# init_net plus RNETNS_FAULT_NAMESPACES named namespaces (default 1): a
	# failure in the first namespace's init and in a later one's.
	local i
	for i in $(seq "${RNETNS_FAULT_NAMESPACES:-1}"); do ip netns add "f$i" || return 1; done
	unload_module
	local tried=0
	for n in $(insmod_sites); do
		tried=$((tried + 1))
		dmesg -C
		out=$($NSUTIL fail-nth-insmod "$n" "$RNETNS_KO")
		case $out in
		"not-reached ok") break ;;
		"injected ok") absorbed=$((absorbed + 1)); rmmod rnetns; continue ;;
		injected\ *) injected=$((injected + 1)) ;;
		*) fail "N=$n: $out" || return 1 ;;
		esac
		loaded && fail "N=$n: module loaded although the load failed" && return 1
		[ ! -e $PROCF ] && [ ! -e $LIFEF ] || fail "N=$n: proc files left after a failed load" || return 1
		dmesg | grep -qE 'rnetns: (failed to set up the existing network namespaces|cannot create /proc/net/rnetns_lifecycle)' ||
			fail "N=$n: no clear message: $out $(dmesg | grep rnetns)" || return 1
	done
	echo "insmod with $(ls /run/netns | wc -l) named namespaces: $((tried - 1)) of fewer than $n fault sites failed in turn ($injected failed the load cleanly, $absorbed were absorbed)"
	[ "$injected" -gt 0 ] && [ "$n" -lt "$MAXN" ] || fail "enumeration did not end properly (n=$n)" || return 1
	rmmod rnetns
	insmod "$RNETNS_KO" && $NSUTIL check-all /run/netns
}

t_kmemleak() {
	cleanup_netns
	unload_module
	kmemleak_clean
}

ktap_plan 4
run_test "fault injection restricted to allocations under rnetns's code" t_setup
run_test "namespace creation with each allocation of rnetns's init failing: clean error, nothing left" t_netns_faults
run_test "insmod with namespaces present and each allocation failing: load unwinds with a clear message" t_insmod_faults
run_test "kmemleak finds nothing of rnetns after the faults" t_kmemleak
ktap_finish
