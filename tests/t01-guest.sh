#!/bin/bash
# The guest as qemu/run sets it up, where that decides whether the kernel
# log scan can be trusted.
source "$(dirname "$0")/lib.sh"

# x86_64 guests run 4-level paging (qemu/run passes no5lvl): with LA57 on,
# 7.2's identify_cpu() leaves a window at boot in which an interrupt trips
# KASAN (a "wild-memory-access" in do_raw_spin_lock) before any test runs.
t_four_level_paging() {
	if [ "$(uname -m)" != x86_64 ]; then
		echo "not x86_64: no LA57"
		return 4
	fi
	echo "command line: $(tr ' ' '\n' </proc/cmdline | grep -x no5lvl || echo 'no no5lvl')"
	if grep -qw la57 /proc/cpuinfo; then
		echo "la57 is among the CPU's flags: the kernel runs 5-level paging"
		return 1
	fi
	echo "no la57 in /proc/cpuinfo: 4-level paging"
}

ktap_plan 1
run_test "x86_64 guests run 4-level paging (no5lvl; 7.2's boot window under KASAN)" t_four_level_paging
ktap_finish
