#!/bin/bash
# requires: /sys/module/kunit/parameters/filter_glob
# rnetns's Rust unit tests (src/unit_tests.rs, #[kunit_tests]): with
# kunit.filter_glob matching the suite, loading the module runs it and KUnit
# prints its KTAP results in the kernel log. Every case must pass. (Built on
# kernels whose Rust macros have #[kunit_tests], with CONFIG_KUNIT: 7.2.)
source "$(dirname "$0")/lib.sh"
GLOB=/sys/module/kunit/parameters/filter_glob
OLD_GLOB=$(cat $GLOB)
cleanup() { printf %s "$OLD_GLOB" >$GLOB; }
fresh_start cleanup

t_suite_runs() {
	# printf: a charp parameter keeps a trailing newline in its value.
	printf %s 'rnetns_unit.*' >$GLOB || return 1
	dmesg -C
	load_module || return 1
	unload_module || return 1
	printf %s "$OLD_GLOB" >$GLOB
	dmesg | sed -n 's/^\[ *[0-9.]*\] //p' | sed -n '/# Subtest: rnetns_unit/,/ rnetns_unit$/p' >/tmp/kunit.ktap
	cat /tmp/kunit.ktap
	grep -q '^ok [0-9]* rnetns_unit$' /tmp/kunit.ktap || fail "the rnetns_unit suite did not pass"
}

t_every_case_passed() {
	local cases bad
	cases=$(grep -cE '^ +ok [0-9]+ ' /tmp/kunit.ktap)
	bad=$(grep -E '^ +not ok ' /tmp/kunit.ktap)
	[ -z "$bad" ] || fail "failed cases: $bad" || return 1
	[ "$cases" -ge 7 ] || fail "only $cases cases ran, want 7" || return 1
	echo "$cases cases passed"
}

ktap_plan 2
run_test "loading the module runs its KUnit suite, which passes" t_suite_runs
run_test "every case of the suite passed" t_every_case_passed
ktap_finish
