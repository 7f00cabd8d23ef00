# shellcheck shell=bash
# KTAP helpers for rnetns tests (see Documentation/dev-tools/ktap.rst).
# A test file calls ktap_plan N, then run_test once per check, then
# ktap_finish. Each check is a shell function: its exit status is the result
# and its output becomes "# " diagnostic lines.

RNETNS_TOP=${RNETNS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RNETNS_KO=${RNETNS_KO:-$RNETNS_TOP/rnetns.ko}
NSUTIL="/usr/bin/python3 $RNETNS_TOP/tests/nsutil.py"
PROCF=/proc/net/rnetns
LIFEF=/proc/net/rnetns_lifecycle
# Namespace teardown is asynchronous (cleanup_net, from a workqueue, with
# RCU grace periods and barriers): waits for it are bounded by this many
# seconds, generous because an emulated guest on a busy host can be slow.
TEARDOWN=${RNETNS_TEARDOWN_WAIT:-300}
KTAP_N=0
KTAP_FAILED=0
KTAP_PLANNED=0

ktap_plan() {
	KTAP_PLANNED=$1
	echo "KTAP version 1"
	echo "1..$1"
}

# run_test DESCRIPTION FUNCTION [ARGS...]
# The check runs in this shell (state it sets, such as PIDS, stays), with its
# output in a file: background processes it starts cannot hold it up.
run_test() {
	local desc=$1 rc out=/tmp/ktap-check.$$ t0=$SECONDS
	shift
	KTAP_N=$((KTAP_N + 1))
	"$@" >"$out" 2>&1 && rc=0 || rc=$?
	sed 's/^/# /' "$out"
	# Where a test file's time goes (the default run's budget).
	echo "# test $KTAP_N: $((SECONDS - t0))s"
	rm -f "$out"
	if [ "$rc" = 0 ]; then
		echo "ok $KTAP_N $desc"
	elif [ "$rc" = 4 ]; then
		echo "ok $KTAP_N $desc # SKIP"
	else
		echo "not ok $KTAP_N $desc"
		KTAP_FAILED=$((KTAP_FAILED + 1))
	fi
}

# functional_test DESCRIPTION FUNCTION [ARGS...]: run_test for a test whose
# worth is what user space sees (exact counts, permissions, messages), not
# what the kernel's checkers see. With RNETNS_CHECKERS_ONLY=1 (scripts/test.sh
# sets it on the debug kernels, whose emulated run is the default run's
# longest) it is skipped there: it runs on the run's other kernels (in the
# default run, Debian's), and on every kernel in --all. Tests that drive the
# code paths the checkers watch (traffic through the hooks, teardown, unload,
# switching, parsing, dumps in parts, fuzz) stay run_test.
functional_test() {
	if [ "${RNETNS_CHECKERS_ONLY:-0}" = 1 ]; then
		run_test "$1" checked_elsewhere
	else
		run_test "$@"
	fi
}
checked_elsewhere() {
	echo "what user space sees is tested on the run's other kernels (RNETNS_CHECKERS_ONLY=1 here)"
	return 4
}

ktap_finish() {
	if [ "$KTAP_N" != "$KTAP_PLANNED" ]; then
		echo "# planned $KTAP_PLANNED tests, ran $KTAP_N"
		exit 1
	fi
	[ "$KTAP_FAILED" = 0 ]
	exit
}

fail() { echo "$*"; return 1; }

# dmesg: the system's, except that what `dmesg -C` clears (tests clear the
# log to read their own lines) is first kept in
# $RNETNS_SCRATCH/dmesg-cleared, which qemu/guest-init puts before the
# final log: the runner's kernel-log scan then covers the whole run, not
# only what followed the last clear. RNETNS_DMESG_KEEP=0 turns that off.
dmesg() {
	if [ "${1:-}" = -C ] && [ "${RNETNS_DMESG_KEEP:-1}" = 1 ] && [ -n "${RNETNS_SCRATCH:-}" ]; then
		command dmesg >>"$RNETNS_SCRATCH/dmesg-cleared"
	fi
	command dmesg "$@"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds. CMD's
# words are expanded once, by the caller: a condition on a value that
# changes ("$(live)") goes through wait_for.
wait_until() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_for SECONDS 'CONDITION': poll a shell condition, re-evaluated (with
# its command substitutions) every time; single-quote it.
wait_for() { wait_until "$1" eval "$2"; }

# field KEY [FILE]: value of "KEY value" in an rnetns file.
field() { awk -v k="$1" '$1 == k { print $2; exit }' "${2:-$PROCF}"; }

# ns_table NS: the counter rows ("family hook packets bytes") of NS's file.
ns_table() { ip netns exec "$1" awk '$1 == "ipv4" || $1 == "ipv6"' $PROCF; }

# ns_hooks NS: the hook selection NS's file shows.
ns_hooks() { ip netns exec "$1" awk '$1 == "hooks" { print $2 }' $PROCF; }

# inum PATH: inode number of a namespace file (stat -L).
inum() { stat -L -c %i "$1"; }

loaded() { grep -q '^rnetns ' /proc/modules; }

load_module() {
	loaded || insmod "$RNETNS_KO" "$@"
}

unload_module() {
	! loaded || rmmod rnetns
}

# Remove every named namespace and wait for their teardown to finish.
cleanup_netns() {
	ip -all netns delete 2>/dev/null || true
}

# fresh_start [CLEANUP]: start from no module and no named namespace, and
# on exit run the test's own CLEANUP function (if given), delete the named
# namespaces and unload the module.
fresh_start() {
	TEST_CLEANUP=${1:-}
	trap '[ -z "$TEST_CLEANUP" ] || "$TEST_CLEANUP"; cleanup_netns; unload_module' EXIT
	unload_module
	cleanup_netns
}

# kmemleak_clean: scan twice (objects freed by RCU callbacks or work items
# since the first scan stop being suspects) and fail, showing the first
# report, if a suspected leak has rnetns in its backtrace. Returns 4 (skip)
# on a kernel without kmemleak.
kmemleak_clean() {
	local f=/sys/kernel/debug/kmemleak mine
	[ -e $f ] || { echo "no kmemleak in this kernel"; return 4; }
	echo scan >$f
	sleep 5
	echo scan >$f
	mine=$(awk '/^unreferenced object/ { r = $0 } /rnetns/ { print r }' $f | sort -u)
	echo "kmemleak: $(grep -c '^unreferenced object' $f) suspected leaks in all, $(grep -c . <<<"$mine") with rnetns in their backtrace"
	[ -z "$mine" ] || { grep -A25 -F "$(head -n1 <<<"$mine")" $f; return 1; }
}

# kmemleak_file_check: a test file's closing kmemleak check. With
# RNETNS_KMEMLEAK_ONCE=1 (scripts/test.sh sets it on the debug kernel: two
# scans take about 30 s there, in each of five files) it is deferred to
# t99-kmemleak.sh, which scans once after every file: kmemleak keeps what it
# found, the runner's log scan fails the run on its "new suspected memory
# leaks" line, and each leak's backtrace says where it was allocated.
kmemleak_file_check() {
	if [ "${RNETNS_KMEMLEAK_ONCE:-0}" = 1 ]; then
		echo "kmemleak scans once, after every test file (t99-kmemleak.sh; RNETNS_KMEMLEAK_ONCE=1)"
		return 4
	fi
	kmemleak_clean
}

# Tracing (tracefs): the README's recipes.
T=/sys/kernel/tracing

# reset_tracing: tracing off, no events, no tracer, no graph filter, no
# kprobes, empty buffer.
reset_tracing() {
	echo 0 >$T/tracing_on
	echo 0 >$T/events/enable
	echo nop >$T/current_tracer
	echo >$T/set_graph_function
	echo 0 >$T/max_graph_depth
	echo 1 >$T/options/funcgraph-irqs
	echo >$T/kprobe_events 2>/dev/null
	echo >$T/trace
}

# graph_with_events [-d DEPTH] FUNCS: start a function_graph trace of FUNCS
# (with the task and the function name at each closing brace) and the
# rnetns events, DEPTH levels deep (default: all). On the debug kernel the
# whole graph of one setup_net is some 660,000 entries (slab debugging
# unwinds the stack at every allocation): more than the ring buffer holds,
# and the oldest part, rnetns's among it, is overwritten.
graph_with_events() {
	local depth=0
	[ "$1" != -d ] || { depth=$2; shift 2; }
	reset_tracing
	echo "$depth" >$T/max_graph_depth
	echo "$*" >$T/set_graph_function
	echo function_graph >$T/current_tracer
	echo 1 >$T/options/funcgraph-tail
	echo 1 >$T/options/funcgraph-proc
	echo 1 >$T/events/rnetns/enable
	echo 1 >$T/tracing_on
}

# live: namespaces holding rnetns state now.
live() { field live "$LIFEF"; }

# bg_start CMD...: run CMD in the background in its own session, so that
# bg_stop can end it with everything it started. Sets BG_PID.
bg_start() {
	setsid "$@" >/dev/null 2>&1 &
	BG_PID=$!
}

# bg_stop PID...: end background sessions started by bg_start and wait.
bg_stop() {
	local p
	for p in "$@"; do
		kill -TERM -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

# udp_sink NS ADDR PORT: hold a bound UDP socket in NS (never read), so that
# datagrams to it cause no ICMP errors; waits until it is bound. Sets BG_PID.
udp_sink() {
	local f=/tmp/sink.$1.$3.${2//:/_}
	setsid ip netns exec "$1" $NSUTIL udp-sink "$2" "$3" >"$f" 2>&1 &
	BG_PID=$!
	wait_until 20 grep -q bound "$f" || fail "udp sink $*: $(cat "$f")"
}

# veth_pair NET: namespaces TA and TB joined by veth (ta, tb), addresses
# NET.1 and NET.2 (/24), for the torture tests' steady traffic.
veth_pair() {
	ip netns add TA && ip netns add TB &&
		ip link add ta netns TA type veth peer name tb netns TB &&
		ip -n TA addr add "$1.1/24" dev ta && ip -n TB addr add "$1.2/24" dev tb &&
		ip -n TA link set ta up && ip -n TB link set tb up
}

# udp_both_ways NET: UDP both ways between the veth_pair NET until $SECS
# seconds pass, adding the datagrams sent to $STATS/packets.
udp_both_ways() {
	local deadline=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		ip netns exec TA $NSUTIL udp-send "$1.2" 9 200 64 >/dev/null 2>&1
		ip netns exec TB $NSUTIL udp-send "$1.1" 9 200 64 >/dev/null 2>&1
		echo 400 >>$STATS/packets
	done
}

# ynl ARGS...: the kernel's YNL CLI (the 7.2 tree's, staged by qemu/run as
# $RNETNS_YNL) on the rnetns family's spec, replies as JSON, unbuffered (a
# subscriber's lines reach its file as they come). The spec's schema is
# checked on the host (tests/host-checks.sh), not at every call.
ynl() {
	# -I: no user site or environment (every path Python probes costs a 9p
	# round trip in the guest: 13 s a call become 8 on the debug kernel);
	# -u: unbuffered.
	/usr/bin/python3 -I -u "$RNETNS_YNL" --spec "$RNETNS_TOP/netlink/rnetns.yaml" \
		--no-schema --output-json "$@"
}

# need_ynl: skip (4) where the YNL CLI was not staged.
need_ynl() {
	[ -n "${RNETNS_YNL:-}" ] && [ -f "$RNETNS_YNL" ] || { echo "no YNL CLI (RNETNS_YNL) in this guest"; return 4; }
}
