#!/bin/bash
# requires: /sys/kernel/tracing/events
# The README's tracing recipes, run as written, and what a researcher should
# see: rnetns's own frames (its C entry points) inside setup_net -> ops_init
# with what they call, rnetns events inside the function_graph of
# setup_net/cleanup_net for the namespace the test made, kprobes, kretprobes
# and fprobes on rnetns's callbacks firing once per namespace with the right
# return value, the profile of scripts/trace.sh, and lifecycle histograms
# that add up.
source "$(dirname "$0")/lib.sh"

fresh_start reset_tracing
load_module || exit 1
echo 8192 >$T/buffer_size_kb

t_events() {
	local e
	for e in rnetns_net_init rnetns_net_pre_exit rnetns_net_exit rnetns_write; do
		[ -e $T/events/rnetns/$e/format ] || fail "no event $e" || return 1
	done
	ls $T/events/rnetns
}

# inside FUNC EVENT-PATTERN: the event appears between FUNC's entry and its
# return in the same task of the function_graph trace (funcgraph-proc and
# funcgraph-tail on; a task may move between CPUs inside the graph).
inside() {
	awk -v fn="$1" -v ev="$2" '
		{ split($0, f, "|"); task = f[1]; sub(/^ *[0-9]+\) */, "", task); gsub(/ +$/, "", task) }
		index($0, fn "() {") { open[task] = 1 }
		index($0, "} /* " fn " */") { open[task] = 0 }
		$0 ~ ev && open[task] { found = 1 }
		END { exit !found }' $T/trace
}

# frame FUNC: FUNC's first frame in the function_graph trace (funcgraph-proc
# and funcgraph-tail on): "parents: A>B>FUNC", "duration: D us", "calls: the
# functions it called directly", then the frame's lines at its own and its
# callees' level (deeper lines left out), after its parent's opening line.
frame() {
	awk -v fn="$1" '
		function body(s) { sub(/^[^|]*\|[^|]*\|/, "", s); gsub(/^ +| +$/, "", s); return s }
		{ split($0, f, "|"); task = f[1]; sub(/^ *[0-9]+\) */, "", task); gsub(/ +$/, "", task) }
		/\|.*\|/ {
			b = body($0); n = depth[task] + 0
			if (b ~ /\(\) \{$/) {
				name = b; sub(/\(\) \{$/, "", name); sub(/ \[[a-z_]+\]$/, "", name)
				if (inside && task == ftask && n == fdepth) { calls = calls " " name; lines = lines "\n" $0 }
				stack[task, n + 1] = name; opener[task, n + 1] = $0; depth[task] = n + 1
				if (!done && !inside && name == fn) {
					inside = 1; ftask = task; fdepth = n + 1
					for (i = 1; i <= n + 1; i++) p = p (i > 1 ? ">" : "") stack[task, i]
					lines = (n > 0 ? opener[task, n] "\n" : "") $0
				}
			} else if (b ~ /^\} \/\* /) {
				if (inside && task == ftask && n == fdepth + 1) lines = lines "\n" $0
				if (inside && task == ftask && n == fdepth) {
					d = f[2]; gsub(/[^0-9.]/, "", d); dur = d; inside = 0; done = 1; lines = lines "\n" $0
				}
				if (n > 0) depth[task] = n - 1
			} else if (b ~ /\(\);$/ && inside && task == ftask && n == fdepth) {
				name = b; sub(/\(\);$/, "", name); sub(/ \[[a-z_]+\]$/, "", name); calls = calls " " name
				lines = lines "\n" $0
			}
		}
		END { if (done) { print "parents: " p; print "duration: " dur " us"; print "calls:" calls; print lines } }' $T/trace
}

t_graph_frame() {
	# Recipe: rnetns_net_init as a frame of its own inside ops_init.
	grep -q '^rnetns_net_init \[rnetns\]$' $T/available_filter_functions ||
		fail "rnetns_net_init is not in available_filter_functions" || return 1
	# Four levels, as README's example: setup_net > ops_init >
	# rnetns_net_init > what it calls.
	graph_with_events -d 4 setup_net
	ip netns add frame1 || return 1
	echo 0 >$T/tracing_on
	local f
	f=$(frame rnetns_net_init)
	echo "$f"
	grep -q '^parents: setup_net>ops_init>rnetns_net_init$' <<<"$f" ||
		fail "rnetns_net_init is not a frame under setup_net > ops_init" || return 1
	grep -q '^duration: [0-9][0-9.]* us$' <<<"$f" || fail "no duration for rnetns_net_init" || return 1
	# Its allocations, hook registration and proc file creation, inside it.
	local c
	for c in rnetns_alloc_percpu nf_register_net_hook proc_create_net_single_write rnetns_trace_net_init; do
		grep -q "^calls:.* $c\\b" <<<"$f" || fail "rnetns_net_init does not show $c inside it" || return 1
	done
	ip netns del frame1
}

t_graph_own() {
	# Recipe: set_graph_function=rnetns_net_init on its own.
	reset_tracing
	echo rnetns_net_init >$T/set_graph_function || fail "set_graph_function refuses rnetns_net_init" || return 1
	echo function_graph >$T/current_tracer
	echo 1 >$T/options/funcgraph-tail
	echo 1 >$T/options/funcgraph-proc
	echo 1 >$T/tracing_on
	ip netns add own1 || return 1
	echo 0 >$T/tracing_on
	local f
	f=$(frame rnetns_net_init)
	echo "$f" | tail -n +4 | head -n 6
	grep -q '^parents: rnetns_net_init$' <<<"$f" && grep -q ' nf_register_net_hook' <<<"$f" ||
		fail "graph of rnetns_net_init alone: $f" || return 1
	# Nothing but rnetns_net_init's graph is traced.
	! grep -q 'ops_init() {' $T/trace || fail "ops_init traced outside the graph of rnetns_net_init"
	ip netns del own1
}

t_probes() {
	# Recipe: kprobe, kretprobe (retval: the errno) on the entry points.
	reset_tracing
	echo 'p:rnetns_ep/init rnetns_net_init net=$arg1:x64' >>$T/kprobe_events &&
		echo 'r:rnetns_ep/init_ret rnetns_net_init ret=$retval:s32' >>$T/kprobe_events &&
		echo 'p:rnetns_ep/pre_exit rnetns_net_pre_exit net=$arg1:x64' >>$T/kprobe_events &&
		echo 'p:rnetns_ep/exit rnetns_net_exit net=$arg1:x64' >>$T/kprobe_events ||
		fail "kprobe_events refuses probes on rnetns_net_init/pre_exit/exit" || return 1
	echo 1 >$T/events/rnetns_ep/enable
	echo 1 >$T/tracing_on
	local i k=4
	for i in $(seq $k); do ip netns add ep$i; done
	for i in $(seq $k); do ip netns del ep$i; done
	wait_for $TEARDOWN '[ "$(grep -c " exit: (" $T/trace)" -ge $k ]'
	sleep 0.5
	echo 0 >$T/tracing_on
	grep -m2 -E ' (init|init_ret): \(' $T/trace
	local nets
	nets=$(grep ' init: (rnetns_net_init' $T/trace | sed 's/.*net=//' | sort -u | wc -l)
	expect_eq "init hits on distinct namespaces / init_ret with ret=0 / pre_exit / exit" \
		"$nets $(grep -c ' init_ret: (.* <- rnetns_net_init) ret=0$' $T/trace) $(grep -c ' pre_exit: (rnetns_net_pre_exit' $T/trace) $(grep -c ' exit: (rnetns_net_exit' $T/trace)" \
		"$k $k $k $k" || return 1
	# Each namespace torn down is one that was set up.
	local n
	for n in $(grep ' exit: (rnetns_net_exit' $T/trace | sed 's/.*net=//'); do
		grep -q " init: (rnetns_net_init.*net=$n\$" $T/trace || fail "exit of $n, which was not set up here" || return 1
	done
	echo 0 >$T/events/rnetns_ep/enable
	echo >$T/kprobe_events
}

t_fprobes() {
	# Recipe: fprobe events on the entry point and its return.
	grep -q '^[[:space:]]*f\[' $T/README || { echo "this kernel has no fprobe events (CONFIG_FPROBE_EVENTS)"; return 4; }
	reset_tracing
	echo 'f:rnetns_fp/init rnetns_net_init' >>$T/dynamic_events &&
		echo 'f:rnetns_fp/init_ret rnetns_net_init%return ret=$retval:s32' >>$T/dynamic_events ||
		fail "dynamic_events refuses fprobes on rnetns_net_init" || return 1
	echo 1 >$T/events/rnetns_fp/enable
	echo 1 >$T/tracing_on
	local i k=3
	for i in $(seq $k); do ip netns add fp$i; done
	echo 0 >$T/tracing_on
	grep -m2 -E ' init(_ret)?: \(' $T/trace
	expect_eq "fprobe entry / return with ret=0 hits" \
		"$(grep -c ' init: (rnetns_net_init' $T/trace) $(grep -c ' init_ret: (.*<- rnetns_net_init) ret=0$' $T/trace)" "$k $k" || return 1
	echo 0 >$T/events/rnetns_fp/enable
	echo '-:rnetns_fp/init' >>$T/dynamic_events
	echo '-:rnetns_fp/init_ret' >>$T/dynamic_events
	for i in $(seq $k); do ip netns del fp$i; done
}

t_profile() {
	# The trace command's profile (scripts/trace.sh runs the same script).
	local out=/tmp/rnetns-profile
	RNETNS_TRACE_NS=5 RNETNS_TRACE_CHECK=1 "$RNETNS_TOP/scripts/trace-guest.sh" "$out" ||
		fail "scripts/trace-guest.sh or its profile check failed" || return 1
	grep -q '^setup_net: 5 calls' $out/profile.txt &&
		grep -q '^  init  *rnetns_net_init \[rnetns\] .*<- rnetns$' $out/profile.txt &&
		grep -q '^  exit  *rnetns_net_exit \[rnetns\] .*<- rnetns$' $out/profile.txt ||
		fail "profile table lacks its rows" || return 1
	[ "$(head -c 8 $out/profile.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "no PNG written to $out/profile.png"
}

t_graph_setup_net() {
	# Recipe: function_graph on setup_net with the rnetns events.
	grep -qx setup_net $T/available_filter_functions || fail "setup_net is not traceable" || return 1
	graph_with_events -d 6 setup_net
	ip netns add trace1 || return 1
	echo 0 >$T/tracing_on
	local inum
	inum=$(inum /run/netns/trace1)
	grep -m1 "rnetns_net_init: inum=$inum" $T/trace || fail "no rnetns_net_init for inum $inum" || return 1
	inside setup_net "rnetns_net_init: inum=$inum .* result=0" ||
		fail "rnetns_net_init for $inum is not inside setup_net's graph"
}

t_graph_cleanup_net() {
	local inum
	inum=$(inum /run/netns/trace1)
	graph_with_events -d 6 cleanup_net
	ip netns del trace1
	# cleanup_net runs later, from the netns workqueue.
	wait_until $TEARDOWN grep -q "rnetns_net_exit: inum=$inum" $T/trace || fail "no rnetns_net_exit for $inum" || return 1
	sleep 0.5
	echo 0 >$T/tracing_on
	grep -m2 -E "rnetns_net_(pre_exit|exit): inum=$inum" $T/trace
	inside cleanup_net "rnetns_net_pre_exit: inum=$inum" &&
		inside cleanup_net "rnetns_net_exit: inum=$inum" ||
		fail "pre_exit/exit events for $inum are not inside cleanup_net's graph"
}

t_kprobes() {
	# Recipe: kprobes with typed arguments (the event fields) and a
	# kretprobe on the trace event wrappers rnetns calls once per namespace.
	reset_tracing
	echo 'p:rnetns_kp/init rnetns_trace_net_init inum=$arg1:u32 cookie=$arg2:u64 duration_ns=$arg3:u64 result=$arg4:s32' >>$T/kprobe_events &&
		echo 'r:rnetns_kp/init_ret rnetns_trace_net_init' >>$T/kprobe_events &&
		echo 'p:rnetns_kp/pre_exit rnetns_trace_net_pre_exit inum=$arg1:u32 lifetime_ns=$arg3:u64' >>$T/kprobe_events &&
		echo 'p:rnetns_kp/exit rnetns_trace_net_exit inum=$arg1:u32' >>$T/kprobe_events || return 1
	echo 1 >$T/events/rnetns_kp/enable
	echo 1 >$T/tracing_on
	local i k=5 inums=""
	for i in $(seq $k); do ip netns add kp$i; inums="$inums $(inum /run/netns/kp$i)"; done
	for i in $(seq $k); do ip netns del kp$i; done
	wait_for $TEARDOWN '[ "$(grep -c " exit: (" $T/trace)" -ge $k ]'
	sleep 0.5
	echo 0 >$T/tracing_on
	grep -m3 -E ' (init|init_ret): \(' $T/trace
	local n_init n_ret n_pre n_exit
	n_init=$(grep -c ' init: (.*result=0' $T/trace)
	# Back into rnetns's own code, whichever function the compiler kept the
	# call in (rnetns_net_init_rust, or init_done where it is not inlined).
	n_ret=$(grep -c -E ' init_ret: \([^ ]+ \[rnetns\] <- rnetns_trace_net_init\)' $T/trace)
	n_pre=$(grep -c ' pre_exit: (' $T/trace)
	n_exit=$(grep -c ' exit: (' $T/trace)
	expect_eq "kprobe hits init (result=0)/init_ret (into rnetns)/pre_exit/exit" \
		"$n_init $n_ret $n_pre $n_exit" "$k $k $k $k" || return 1
	for i in $inums; do
		grep -q " init: (.*inum=$i " $T/trace && grep -q " exit: (.*inum=$i\$" $T/trace ||
			fail "no init/exit kprobe hit for inum $i" || return 1
	done
	echo 0 >$T/events/rnetns_kp/enable
	echo >$T/kprobe_events
}

t_trace_cmd() {
	# Recipe: the same with trace-cmd.
	command -v trace-cmd >/dev/null || { echo "trace-cmd is not installed"; return 4; }
	reset_tracing
	trace-cmd record -q -o /tmp/rnetns.dat -p function_graph -g setup_net -e rnetns \
		ip netns add tc1 >/dev/null 2>&1 || return 1
	local inum
	inum=$(inum /run/netns/tc1)
	trace-cmd report -i /tmp/rnetns.dat 2>/dev/null >/tmp/rnetns.report
	grep -m1 "rnetns_net_init:.*inum=$inum" /tmp/rnetns.report ||
		fail "trace-cmd report has no rnetns_net_init for $inum"
}

hist_sum() { awk -v h="$1" '$1 == h { s += $4 } END { print s + 0 }' $LIFEF; }

t_histograms() {
	reset_tracing
	cleanup_netns
	wait_for $TEARDOWN '[ "$(live)" = 1 ]' || fail "live $(live) after removing every namespace" || return 1
	local c0 d0 i0 e0 l0 k=6 i
	c0=$(field created $LIFEF) d0=$(field destroyed $LIFEF)
	i0=$(hist_sum init_ns) e0=$(hist_sum exit_ns) l0=$(hist_sum lifetime_ns)
	for i in $(seq $k); do ip netns add h$i; done
	for i in $(seq $k); do ip netns del h$i; done
	wait_for $TEARDOWN '[ "$(live)" = 1 ]' || fail "live $(live) after deleting" || return 1
	cat $LIFEF
	expect_eq "created, destroyed" "$(field created $LIFEF) $(field destroyed $LIFEF)" "$((c0 + k)) $((d0 + k))" &&
		expect_eq "init_ns, exit_ns, lifetime_ns histogram totals" \
			"$(hist_sum init_ns) $(hist_sum exit_ns) $(hist_sum lifetime_ns)" "$((i0 + k)) $((e0 + k)) $((l0 + k))" &&
		expect_eq "init_ns total = created + init_failed" "$(hist_sum init_ns)" \
			"$(( $(field created $LIFEF) + $(field init_failed $LIFEF) ))"
}

t_write_event() {
	# Every write to the file: reset, hooks= and one refused.
	reset_tracing
	echo 1 >$T/events/rnetns/rnetns_write/enable
	echo 1 >$T/tracing_on
	echo reset >$PROCF
	echo hooks=ipv4 >$PROCF
	echo hooks=all >$PROCF
	echo junk >$PROCF 2>/dev/null
	echo 0 >$T/tracing_on
	local inum
	inum=$(inum /proc/self/ns/net)
	grep rnetns_write $T/trace
	expect_eq "write events with result=0 / result=-22 (EINVAL)" \
		"$(grep -c "rnetns_write: inum=$inum .* result=0$" $T/trace) $(grep -c "rnetns_write: inum=$inum .* result=-22$" $T/trace)" "3 1"
}

t_unheard() {
	# A notification is built only for a listener: with none, creating
	# and destroying namespaces builds no netlink message
	# (rnetns_genlmsg_new, the one allocation of a message); with a
	# listener, one per creation and teardown.
	need_ynl || return
	reset_tracing
	echo 'p:rnetns_nl/new rnetns_genlmsg_new' >>$T/kprobe_events &&
		echo 1 >$T/events/rnetns_nl/enable || fail "no kprobe on rnetns_genlmsg_new" || return 1
	echo 1 >$T/tracing_on
	ip netns add quiet1 && ip netns del quiet1 && unshare -n true
	echo 0 >$T/tracing_on
	expect_eq "messages built with nobody listening, 2 creations" \
		"$(grep -c ' new: (rnetns_genlmsg_new' $T/trace)" 0 || return 1
	setsid bash -c "source $RNETNS_TOP/tests/lib.sh; ynl --subscribe lifecycle --sleep 3600 >/tmp/t60-ntf.json 2>&1" &
	local l=$!
	echo 1 >$T/tracing_on
	local i
	for i in $(seq 60); do
		unshare -n true
		wait_for 5 'grep -q destroy-ntf /tmp/t60-ntf.json' && break
	done
	echo 0 >$T/tracing_on
	kill -TERM -- -$l 2>/dev/null
	wait $l 2>/dev/null
	local built heard
	built=$(grep -c ' new: (rnetns_genlmsg_new' $T/trace) heard=$(grep -c -- '-ntf"' /tmp/t60-ntf.json)
	echo "with a listener: $built messages built, $heard heard"
	[ "$built" -ge "$heard" ] && [ "$heard" -ge 2 ] || fail "no message built for the listener"
	echo 0 >$T/events/rnetns_nl/enable
	echo >$T/kprobe_events
}

ktap_plan 13
run_test "trace events under events/rnetns" t_events
run_test "function_graph: rnetns_net_init is a frame in setup_net > ops_init, with a duration and its work inside" t_graph_frame
run_test "set_graph_function=rnetns_net_init traces rnetns's init alone" t_graph_own
run_test "kprobe/kretprobe on rnetns_net_init, pre_exit, exit: once per namespace, retval 0" t_probes
run_test "fprobe events on rnetns_net_init and its return: once per namespace, retval 0" t_fprobes
run_test "function_graph on setup_net shows rnetns_net_init of the new namespace inside it" t_graph_setup_net
run_test "function_graph on cleanup_net shows its pre_exit and exit events inside it" t_graph_cleanup_net
run_test "kprobes/kretprobe on rnetns_trace_net_* fire once per namespace, with its inode" t_kprobes
run_test "scripts/trace.sh's profile: setup_net/cleanup_net tables with rnetns's rows, and the PNG" t_profile
run_test "trace-cmd record -p function_graph -g setup_net -e rnetns shows the event" t_trace_cmd
run_test "lifecycle histograms add up to the namespaces made and destroyed" t_histograms
run_test "writes (reset, hooks=, refused) are traced with their result" t_write_event
run_test "netlink: no message built when nobody listens (kprobe on rnetns_genlmsg_new), some when one does" t_unheard
ktap_finish
