#!/bin/bash
# Host-side check that a hung guest is a report, not a silent time-out (see
# qemu/run's header). Boots the test kernel twice with the test-only module
# tests/hang, whose init sleeps in D state, so that insmod never returns:
#   1. with kernel.hung_task_timeout_secs=5 in the guest: the console has
#      the hung-task report with a stack naming rnetns_hang_block, and
#      qemu/run stops the guest at that report (well before its time-out),
#      prints the blocked tasks (sysrq w) and exits 124;
#   2. with the hung-task detector off, so that nothing reports the hang:
#      qemu/run dumps the blocked tasks when the time-out nears and exits
#      124, within the time-out.
# Speaks KTAP like tests/host-checks.sh. Each boot of the debug kernel
# under TCG takes a minute or more (several on a host busy with other
# guests); the check takes twice or three times that.
# Env: RNETNS_HANG_KERNEL   kernel (default 7.2)
#      RNETNS_HANG_VARIANT  kernel variant (default debug)
#      RNETNS_HANG_TIMEOUT  the first guest's time-out (default 600 s; it
#                           is stopped at the report, long before). The
#                           second guest's is twice the first's run time
#                           (at least 90 s), so that it has booted when
#                           its dump starts, a quarter of its time-out
#                           before the end.
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
set +eu +o pipefail
cd "$RNETNS_TOP" || exit 1
K=${RNETNS_HANG_KERNEL:-7.2}
V=${RNETNS_HANG_VARIANT:-debug}
T=${RNETNS_HANG_TIMEOUT:-600}
LOGS=${RNETNS_LOGS:-/tmp}
KO=

t_build() {
	KO=$(RNETNS_KERNEL=$K scripts/build-module.sh "$V" hang) || return 1
	echo "built $KO"
}

# boot N TIMEOUT DETECTOR-TIMEOUT: boot guest N with qemu/run's TIMEOUT, which sets the hung-task timeout
# (0: off), lets the console show KERN_INFO lines (the report's stack prints
# at that level, which "quiet" hides) and loads the module. Sets RC and
# SECS; qemu/run's output is in $LOGS/hang-N.out, the console in .log.
boot() {
	local n=$1 t=$2 t0
	[ -n "$KO" ] || { echo "no module"; return 1; }
	t0=$(date +%s)
	RC=0
	qemu/run --kernel "$K" --variant "$V" --timeout "$t" --log "$LOGS/hang-$n.log" -- sh -c '
		echo "$1" >/proc/sys/kernel/hung_task_timeout_secs
		echo 8 >/proc/sys/kernel/printk
		echo "hang-check: insmod $0 (hung-task timeout $1 s)"
		insmod "$0"
		echo "hang-check: insmod returned $?"' "$KO" "$3" >"$LOGS/hang-$n.out" 2>&1 || RC=$?
	SECS=$(( $(date +%s) - t0 ))
	echo "qemu/run exited $RC after ${SECS}s (time-out ${t}s); output: $LOGS/hang-$n.out"
}

# The console up to the runner's dump, and the blocked tasks qemu/run
# printed (after its "blocked tasks:" line).
before_dump() { sed '/sysrq: Changing Loglevel/,$d' "$1" | tr -d '\r'; }
printed_dump() { sed -n '/guest hung (.*); blocked tasks:/,/guest hung: tasks dumped/p' "$1"; }

t_report() {
	local rep
	rep=$(before_dump "$LOGS/hang-1.log" | sed -n '/INFO: task insmod:[0-9]* blocked for more than/,$p')
	[ -n "$rep" ] || { tail -n 30 "$LOGS/hang-1.log"; fail "no hung-task report for insmod on the console"; return 1; }
	head -n 1 <<<"$rep"
	grep -m1 'rnetns_hang_block.*\[rnetns_hang\]' <<<"$rep" ||
		{ head -n 40 <<<"$rep"; fail "the report's stack does not name rnetns_hang_block"; }
}

t_early_dump() {
	local d
	grep -m1 'guest hung (hang report: INFO: task insmod' "$LOGS/hang-1.out" ||
		{ tail -n 30 "$LOGS/hang-1.out"; fail "qemu/run did not stop the guest at the report"; return 1; }
	d=$(printed_dump "$LOGS/hang-1.out")
	grep -m1 'sysrq: Show Blocked State' <<<"$d" &&
		grep -m1 'task:insmod .*state:D' <<<"$d" && grep -m1 'rnetns_hang_block' <<<"$d" ||
		{ tail -n 40 "$LOGS/hang-1.out"; fail "qemu/run's blocked-task dump does not show insmod in rnetns_hang_block"; return 1; }
	grep -q 'sysrq: Show State' "$LOGS/hang-1.log" || fail "no sysrq t dump in the console log"
}

t_exit() { expect_eq "qemu/run's exit status" "$1" 124; }

t_early() {
	# Stopped at the report: not sitting out the time-out.
	[ "$SECS" -lt "$T" ] || fail "took ${SECS}s, the whole ${T}s time-out"
}

t_timeout_dump() {
	local d
	! grep -m1 'blocked for more than' "$LOGS/hang-2.log" || { fail "a hung-task report with the detector off"; return 1; }
	grep -m1 'guest hung (no result .* time-out)' "$LOGS/hang-2.out" ||
		{ tail -n 30 "$LOGS/hang-2.out"; fail "qemu/run did not dump the tasks at the time-out"; return 1; }
	d=$(printed_dump "$LOGS/hang-2.out")
	grep -m1 'task:insmod .*state:D' <<<"$d" && grep -m1 'rnetns_hang_block' <<<"$d" ||
		{ tail -n 40 "$LOGS/hang-2.out"; fail "qemu/run's blocked-task dump does not show insmod in rnetns_hang_block"; }
}

t_within() {
	# The dump fits in the time-out (plus QEMU's exit).
	[ "$SECS" -le $((T2 + 15)) ] || fail "took ${SECS}s for a ${T2}s time-out"
}

ktap_plan 10
run_test "the hang module builds against the $K $V kernel" t_build
run_test "guest 1 (hung-task timeout 5 s): boots, loads the module, qemu/run ends it" boot 1 "$T" 5
R1=$RC S1=${SECS:-$T}
T2=$((2 * S1 < 90 ? 90 : 2 * S1 > 2 * T ? 2 * T : 2 * S1))
run_test "guest 1: the console has the hung-task report, its stack naming rnetns_hang_block" t_report
run_test "guest 1: qemu/run stopped it at the report and printed its blocked tasks (sysrq w)" t_early_dump
run_test "guest 1: qemu/run failed the run (exit 124)" t_exit "$R1"
run_test "guest 1: stopped at the report in ${S1}s, before the ${T}s time-out" t_early
run_test "guest 2 (hung-task detector off): boots, loads the module, qemu/run ends it" boot 2 "$T2" 0
R2=$RC S2=$SECS
run_test "guest 2: no report; qemu/run printed its blocked tasks at the time-out" t_timeout_dump
run_test "guest 2: qemu/run failed the run (exit 124)" t_exit "$R2"
run_test "guest 2: ended in ${S2}s, within its ${T2}s time-out" t_within
ktap_finish
