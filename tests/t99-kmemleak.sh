#!/bin/bash
# requires: /sys/kernel/debug/kmemleak
# After every other test file: with rnetns unloaded and every named
# namespace deleted, kmemleak (two scans) finds no unreferenced object at all, of
# rnetns's or anyone's. On the debug kernel of the default run this is the
# one kmemleak scan of the test files but t50's (RNETNS_KMEMLEAK_ONCE=1);
# the runner's log scan fails the run on any leak report as well.
source "$(dirname "$0")/lib.sh"

t_quiesce() {
	cleanup_netns
	unload_module
	! loaded || fail "rnetns is still loaded"
}

t_no_leak() {
	local f=/sys/kernel/debug/kmemleak n
	kmemleak_clean || return 1
	n=$(grep -c '^unreferenced object' $f)
	[ "$n" = 0 ] || { head -n 30 $f; fail "$n unreferenced objects"; }
}

ktap_plan 2
run_test "rnetns unloaded, the named namespaces deleted" t_quiesce
run_test "kmemleak, after every test file: no unreferenced object at all" t_no_leak
ktap_finish
