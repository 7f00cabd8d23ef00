#!/usr/bin/env bash
# In-guest half of scripts/bench.sh: runs every rnetns benchmark in one boot
# and appends one JSON object per measurement to $RNETNS_SCRATCH/raw.jsonl.
# bench/analyze.py turns that into the table, bench.json and the plots.
#
# Usage (inside the test VM only: it loads modules):
#   scripts/bench-guest.sh [--smoke] [--insn] [--no-ebpf] [--insn-rounds N] \
#       TOOL RNETNS_KO CTWIN_KO HOOKBENCH_KO EBPF_LOADER EBPF_OBJ
#
# --insn: the instruction-count boot (one vCPU, the bench/insncount plugin
# loaded into QEMU): only the packet path and /proc reads, each between
# window markers, with the kernel's symbols saved for each variant.
# --no-ebpf: the eBPF peer is not part of this run (the arm64 run: its
# kernel has no BPF): skipped as on a kernel without BPF, but no error in a
# full run; EBPF_LOADER and EBPF_OBJ may be placeholders then.
# --insn-rounds N: N rounds of the instruction windows (default 5, 2 with
# --smoke). The guest runs on x86_64 and arm64 alike (the arm64 Debian
# root has what it uses: bash, ip, nft, unshare, timeout, awk).
#
# Variants: none (nothing loaded), rnetns (rnetns.ko, all hooks), ctwin (the
# C twin, bench/ctwin), nft (an inet table with a counter rule at each of the
# five hook points, in each namespace that carries the traffic), ebpf (the
# eBPF peer, bench/ebpf: a netfilter BPF program at the ten hook points of
# each namespace that carries the traffic; packet path only). Variants are
# measured round-robin, the order rotated every round. The eBPF peer needs
# the bpf() system call with netfilter bpf_links and the kernel's BTF (the
# bench kernel variant has them, the test kernels not): on a kernel without
# them it is skipped in both boots, said in the output and recorded in
# raw.jsonl (a "skip" record, and "ebpf":false in "env"); that is fine for
# --smoke, and an error (non-zero exit) in a full run. Traffic stays inside
# the guest: between two namespaces over a veth pair in 198.18.0.0/24 (the
# benchmarking range of RFC 2544) and over loopback in a third one.
set -euo pipefail

mode=full insn=0 only= no_ebpf=0 insn_rounds=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke ;;
	--insn) insn=1 ;;
	--no-ebpf) no_ebpf=1 ;;
	--insn-rounds) insn_rounds=$2; shift ;;
	--only) only=$2; shift ;;
	*) break ;;
	esac
	shift
done
case $only in
'' | netlink) ;;
*) echo "$0: --only netlink, or nothing" >&2; exit 2 ;;
esac
[ $# -eq 6 ] || { echo "usage: $0 [--smoke] [--insn] [--only netlink] [--no-ebpf] [--insn-rounds N] TOOL RNETNS_KO CTWIN_KO HOOKBENCH_KO EBPF_LOADER EBPF_OBJ" >&2; exit 2; }
TOOL=$1 RNETNS_KO=$2 CTWIN_KO=$3 HOOKBENCH_KO=$4 EBPF_LOADER=$5 EBPF_OBJ=$6
OUT=${RNETNS_SCRATCH:?not in the rnetns VM}
RAW=$OUT/raw.jsonl
ERRF=/tmp/bench-step.err
: >"$RAW"

if [ "$mode" = full ]; then
	INSN_ROUNDS=5 INSN_PACKETS=5000 INSN_READS=1000
	PPS_ROUNDS=10 PPS_SECS=1.5 PPS_WARMUP=0.3 PROC_READS=3000 HB_CALLS=400000
	CHURN_ROUNDS=5 CHURN_SECS=3 CHURN_BACKLOG=8
	LOAD_ROUNDS=11 BIG_LOAD_ROUNDS=5 MID=1000 BIG=10000 SETTLE=1
	SMALL=100 NSALL_ROUNDS=5 NSALL_INSN_LIVE=100 NSALL_CREATES=20
else
	INSN_ROUNDS=2 INSN_PACKETS=200 INSN_READS=20
	PPS_ROUNDS=1 PPS_SECS=0.2 PPS_WARMUP=0.05 PROC_READS=50 HB_CALLS=2000
	CHURN_ROUNDS=1 CHURN_SECS=0.1 CHURN_BACKLOG=8
	LOAD_ROUNDS=1 BIG_LOAD_ROUNDS=1 MID=20 BIG=50 SETTLE=0.2
	SMALL=10 NSALL_ROUNDS=1 NSALL_INSN_LIVE=10 NSALL_CREATES=3
fi
[ -z "$insn_rounds" ] || INSN_ROUNDS=$insn_rounds
# Named namespaces of the "every namespace at once" stage, besides the
# benchmark's own: `ip netns exec` needs names; it runs on these and the
# benchmark's (NSALL_NAMED in all), each run timed.
NSALL_EXTRA=(n1 n2 n3 n4 n5 n6 n7)
PPS_SIZE=64 PPS_BATCH=32 PPS_CPU=0
NFT_TABLE=rnetns_bench
EBPF_DIR=/sys/fs/bpf/rnetns_bench
# Namespaces of the benchmark (BENCH_NS): A and B joined by veth, L for
# loopback.
# shellcheck source=../bench/netns.sh
source "$(dirname "$0")/../bench/netns.sh"
BASE_LIVE=${#BENCH_NS[@]}
ERRORS=0
HOLD_PID='' HOLD_N=0
EBPF_SKIP=''   # why the eBPF peer cannot run on this kernel, if it cannot

# jfield KEY JSON: the number KEY of a flat JSON object.
jfield() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }

say() { printf '[bench %4ds] %s\n' "$SECONDS" "$*" >&2; }

json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\037')"
}

# fail_step META MESSAGE: record that a step broke.
fail_step() {
	ERRORS=$((ERRORS + 1))
	say "ERROR ($1): $2"
	printf '{"stage":"error","where":%s,"msg":%s}\n' "$(json_str "$1")" "$(json_str "$2")" >>"$RAW"
}

# rec META LIMIT ARGS...: run the tool with ARGS under a time limit, record
# its JSON output under META (JSON members). Sets LAST to the output, or to
# nothing when the step failed (recorded as an error).
rec() {
	local meta=$1 limit=$2 out rc=0
	shift 2
	LAST=
	out=$(timeout -k 5 "$limit" "$TOOL" "$@" 2>"$ERRF") || rc=$?
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		fail_step "$meta" "rnetns-bench $1 exited $rc: $(head -c 300 "$ERRF")"
		return 0
	fi
	printf '{%s,"data":%s}\n' "$meta" "$out" >>"$RAW"
	LAST=$out
}

# quiet WHERE LIMIT ARGS...: run the tool with ARGS, output discarded.
quiet() {
	local where=$1 limit=$2 rc=0
	shift 2
	timeout -k 5 "$limit" "$TOOL" "$@" >/dev/null 2>"$ERRF" || rc=$?
	[ "$rc" = 0 ] || fail_step "$where" "rnetns-bench $1 exited $rc: $(head -c 300 "$ERRF")"
	return "$rc"
}

# note META JSON: record a JSON value.
note() { printf '{%s,"data":%s}\n' "$1" "$2" >>"$RAW"; }

# rotate N ITEMS...: the items, starting at index N modulo their count.
rotate() {
	local n=$1 i
	shift
	for ((i = 0; i < $#; i++)); do
		local j=$(( (n + i) % $# + 1 ))
		printf '%s ' "${!j}"
	done
}

module_of() {
	case $1 in
	rnetns | rnetns-off) echo rnetns ;;
	ctwin) echo rnetns_ctwin ;;
	esac
}
ko_of() {
	case $1 in
	rnetns | rnetns-off) echo "$RNETNS_KO" ;;
	ctwin) echo "$CTWIN_KO" ;;
	esac
}
loaded() { grep -q "^$1 " /proc/modules; }

nft_up() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		ip netns exec "$ns" nft -f - <<-EOF
		table inet $NFT_TABLE {
			chain c_prerouting { type filter hook prerouting priority -300; counter; }
			chain c_input { type filter hook input priority -300; counter; }
			chain c_forward { type filter hook forward priority -300; counter; }
			chain c_output { type filter hook output priority -300; counter; }
			chain c_postrouting { type filter hook postrouting priority -300; counter; }
		}
		EOF
	done
}

nft_down() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		ip netns exec "$ns" nft delete table inet "$NFT_TABLE" 2>/dev/null || true
	done
}

# up VARIANT [META]: put a variant in place; with META, time the load.
# Returns non-zero (after recording an error) if it could not.
up() {
	local v=$1 meta=${2:-}
	case $v in
	none) ;;
	nft) nft_up || { fail_step "up nft" "nft -f failed"; return 1; } ;;
	ebpf) "$EBPF_LOADER" up "$EBPF_OBJ" "$EBPF_DIR" "${BENCH_NS[@]}" 2>"$ERRF" ||
		{ fail_step "up ebpf" "rnetns-ebpf up failed: $(head -c 300 "$ERRF")"; return 1; } ;;
	rnetns | rnetns-off | ctwin)
		if [ -n "$meta" ]; then
			rec "$meta" 600 modload "$(ko_of "$v")"
		else
			quiet "load $v" 600 modload "$(ko_of "$v")" || return 1
		fi
		loaded "$(module_of "$v")" || return 1
		[ "$v" = rnetns-off ] || return 0
		# Counting switched off in the benchmark's namespaces, through
		# their /proc/net/rnetns: no rnetns hook is left there.
		local ns
		for ns in "${BENCH_NS[@]}"; do
			ip netns exec "$ns" sh -c 'echo hooks=none >/proc/net/rnetns' ||
				{ fail_step "up rnetns-off" "hooks=none refused in $ns"; return 1; }
		done ;;
	esac
}

down() {
	local v=$1 meta=${2:-} m
	case $v in
	none) ;;
	nft) nft_down ;;
	ebpf) ebpf_down ;;
	rnetns | rnetns-off | ctwin)
		m=$(module_of "$v")
		loaded "$m" || return 0
		if [ -n "$meta" ]; then
			rec "$meta" 600 modunload "$m"
		else
			quiet "unload $v" 600 modunload "$m" || true
		fi ;;
	esac
}

ebpf_down() {
	"$EBPF_LOADER" down "$EBPF_DIR" 2>"$ERRF" ||
		fail_step "down ebpf" "rnetns-ebpf down failed: $(head -c 300 "$ERRF")"
}

# Nothing of ours loaded, no nft table, no BPF program: the "none" state.
clean_state() {
	local m
	for m in rnetns rnetns_ctwin rnetns_hookbench; do
		loaded "$m" && { rmmod "$m" || fail_step "clean" "rmmod $m failed"; }
	done
	nft_down
	[ -n "$EBPF_SKIP" ] || ebpf_down
}

# hold N: keep N more namespaces alive (one holder process).
hold_start() {
	local n=$1 i
	mkfifo /tmp/bench-hold.fifo
	"$TOOL" hold --count "$n" </tmp/bench-hold.fifo >/tmp/bench-hold.out 2>"$ERRF" &
	HOLD_PID=$!
	exec 7>/tmp/bench-hold.fifo
	for ((i = 0; i < 12000; i++)); do
		[ -s /tmp/bench-hold.out ] && break
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s /tmp/bench-hold.out ]; then
		fail_step "hold $n" "holder failed: $(head -c 300 "$ERRF")"
		hold_stop
		return 1
	fi
	HOLD_N=$n
	note "\"stage\":\"hold\",\"live\":$n" "$(cat /tmp/bench-hold.out)"
	say "holding $n namespaces (made in $(jfield secs "$(cat /tmp/bench-hold.out)")s)"
}

hold_stop() {
	[ -n "$HOLD_PID" ] || return 0
	exec 7>&-
	wait "$HOLD_PID" || true
	HOLD_PID=
	rm -f /tmp/bench-hold.fifo /tmp/bench-hold.out
	local n=$HOLD_N
	HOLD_N=0
	rec "\"stage\":\"drain\",\"live\":$n" 900 netns-wait --expect "$BASE_LIVE" --timeout 880
	[ -z "$LAST" ] || say "released $n namespaces; all freed after $(jfield wait_secs "$LAST")s"
}

cleanup() {
	hold_stop
	clean_state
}
trap cleanup EXIT

# ---------------------------------------------------------------- set-up

say "mode $mode: $(nproc) CPUs, kernel $(uname -r) (${RNETNS_VARIANT:-?} variant), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

# Can the eBPF peer run? It needs the kernel's BTF (its program reads
# skb->len through CO-RE, and the verifier types a netfilter program's
# context from it) and the bpf() system call (the kernel then makes
# /sys/fs/bpf, bpffs's mount point) with netfilter bpf_links
# (bpf_nf_link_attach(); __x64_sys_bpf would not tell, as without
# CONFIG_BPF_SYSCALL it is the -ENOSYS stub). /proc/kallsyms is read last,
# only if the rest is there: on a debug kernel under TCG one read takes
# seconds.
[ "$no_ebpf" = 0 ] || EBPF_SKIP="not part of this run (--no-ebpf)"
[ -r /sys/kernel/btf/vmlinux ] || EBPF_SKIP="${EBPF_SKIP:+$EBPF_SKIP, }no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)"
[ -d /sys/fs/bpf ] || EBPF_SKIP="${EBPF_SKIP:+$EBPF_SKIP, }no /sys/fs/bpf (CONFIG_BPF_SYSCALL)"
if [ -z "$EBPF_SKIP" ] && ! grep -q ' bpf_nf_link_attach$' /proc/kallsyms; then
	EBPF_SKIP="no bpf_nf_link_attach in /proc/kallsyms (CONFIG_NETFILTER_BPF_LINK)"
fi
VARIANTS=(none rnetns ctwin nft ebpf)
INSN_VARIANTS=(none rnetns rnetns-off ctwin nft ebpf)
if [ -n "$EBPF_SKIP" ]; then
	VARIANTS=(none rnetns ctwin nft)
	INSN_VARIANTS=(none rnetns rnetns-off ctwin nft)
	printf '{"stage":"skip","variant":"ebpf","data":{"reason":%s}}\n' \
		"$(json_str "$EBPF_SKIP")" >>"$RAW"
	if [ "$mode" = smoke ] || [ -n "$only" ] || [ "$no_ebpf" = 1 ]; then
		say "eBPF peer: SKIPPED, kernel without BPF ($EBPF_SKIP); every other variant and step runs"
	else
		fail_step "ebpf" "kernel without BPF ($EBPF_SKIP): a full run needs the eBPF peer (the bench kernel variant)"
	fi
fi
# The per-user namespace limit scales with guest memory; the largest stage
# needs more than a 2 GiB guest gets by default.
echo 1000000 >/proc/sys/user/max_net_namespaces
clean_state

bench_netns_up

rec '"stage":"netns_count"' 60 netns-count
[ "$LAST" = '{"live":3}' ] || fail_step "netns-count" "expected 3 namespaces from unshare, got '$LAST'"

{
	printf '{"stage":"env","data":{"kernel":%s,"cpus":%s,"possible_cpus":%s,' \
		"$(json_str "$(uname -r)")" "$(nproc)" "$(json_str "$(cat /sys/devices/system/cpu/possible)")"
	printf '"mem_total_kb":%s,"clocksource":%s,"cmdline":%s,"cpu_model":%s,' \
		"$(awk '/^MemTotal/ {print $2}' /proc/meminfo)" \
		"$(json_str "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)")" \
		"$(json_str "$(cat /proc/cmdline)")" \
		"$(json_str "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)")"
	printf '"kvm":%s,"slabinfo":%s,"mode":"%s","pps_rounds":%s,"pps_secs":%s,' \
		"$(grep -qs 'Hypervisor detected: KVM' <(dmesg) && echo true || echo false)" \
		"$([ -r /proc/slabinfo ] && echo true || echo false)" "$mode" "$PPS_ROUNDS" "$PPS_SECS"
	printf '"pps_size":%s,"pps_batch":%s,"pps_cpu":%s,"churn_rounds":%s,"churn_secs":%s,"churn_backlog":%s,' \
		"$PPS_SIZE" "$PPS_BATCH" "$PPS_CPU" "$CHURN_ROUNDS" "$CHURN_SECS" "$CHURN_BACKLOG"
	printf '"load_rounds":%s,"big_load_rounds":%s,"mid":%s,"big":%s,"proc_reads":%s,' \
		"$LOAD_ROUNDS" "$BIG_LOAD_ROUNDS" "$MID" "$BIG" "$PROC_READS"
	printf '"small":%s,"nsall_rounds":%s,"nsall_insn_live":%s,"nsall_creates":%s,' \
		"$SMALL" "$NSALL_ROUNDS" "$NSALL_INSN_LIVE" "$NSALL_CREATES"
	printf '"insn":%s,"insn_rounds":%s,"insn_packets":%s,"insn_reads":%s,' \
		"$([ "$insn" = 1 ] && echo true || echo false)" "$INSN_ROUNDS" "$INSN_PACKETS" "$INSN_READS"
	printf '"hookbench_calls":%s,"kernel_variant":%s,"ebpf":%s,"machine":%s}}\n' "$HB_CALLS" \
		"$(json_str "${RNETNS_VARIANT:-}")" "$([ -z "$EBPF_SKIP" ] && echo true || echo false)" \
		"$(json_str "$(uname -m)")"
} >>"$RAW"

# ---------------------------------------------------------------- every namespace at once

# Reading every namespace's counters three ways, with rnetns loaded: one
# netlink dump of the rnetns family (rnetns-bench nl-dump), one process that
# enters each namespace in turn and reads its file (setns-read), and
# `ip netns exec NAME cat /proc/net/rnetns` for each named one (what a user
# does without the family; it needs names, so it runs on the named ones
# and is reported per namespace).

# nsall_list FILE: every live namespace's file, one per line: init_net, the
# named ones, and the holder's descriptors.
nsall_list() {
	{
		echo /proc/1/ns/net
		for n in /run/netns/*; do echo "$n"; done
		[ -z "$HOLD_PID" ] || find "/proc/$HOLD_PID/fd" -lname 'net:*'
	} >"$1"
}

nsall_named_up() {
	local n
	for n in "${NSALL_EXTRA[@]}"; do ip netns add "$n" || return 1; done
}
nsall_named_down() {
	local n
	for n in "${NSALL_EXTRA[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

# ipexec_loop: `ip netns exec NAME cat /proc/net/rnetns` for every named
# namespace; prints how many.
ipexec_loop() {
	local n k=0
	for n in $(ip netns list | awk '{ print $1 }'); do
		ip netns exec "$n" cat /proc/net/rnetns >/dev/null || return 1
		k=$((k + 1))
	done
	echo "$k"
}

# cli_run META CMD...: the rnetns command (staged as $RNETNS_CLI), its output
# discarded; records its wall time and CPU time (user + system, from the
# shell's children times) and the namespaces it covered.
cli_run() {
	local meta=$1 t0 t1 c0 c1 k
	shift
	[ -n "${RNETNS_CLI:-}" ] || { fail_step "$meta" "no rnetns command staged"; return 0; }
	k=$(wc -l </tmp/bench-nsall.list)
	# times in this shell (a command substitution's subshell has no children).
	times >/tmp/bench-times.0
	t0=$(date +%s.%N)
	"$RNETNS_CLI" "$@" >/dev/null 2>"$ERRF" || { fail_step "$meta" "rnetns $* failed: $(head -c 300 "$ERRF")"; return 0; }
	t1=$(date +%s.%N)
	times >/tmp/bench-times.1
	c0=$(awk 'NR == 2 { print $1, $2 }' /tmp/bench-times.0)
	c1=$(awk 'NR == 2 { print $1, $2 }' /tmp/bench-times.1)
	note "$meta" "$(awk -v a="$t0" -v b="$t1" -v k="$k" -v c0="$c0" -v c1="$c1" '
		function secs(s,  m) { m = s; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", s); sub(/s$/, "", s); return m * 60 + s }
		BEGIN { split(c0, x, " "); split(c1, y, " ")
			cpu = secs(y[1]) + secs(y[2]) - secs(x[1]) - secs(x[2])
			printf "{\"namespaces\":%d,\"secs\":%.9f,\"per_ns_secs\":%.9f,\"cpu_secs\":%.6f}", k, b - a, (b - a) / k, cpu }')"
}

# nsall LIVE: the timed comparison with LIVE namespaces held (besides the
# benchmark's and the named ones), NSALL_ROUNDS rounds, the three ways in
# rotated order.
nsall() {
	local live=$1 r w m t0 t1 k dumps
	up rnetns || { clean_state; return 0; }
	nsall_named_up || { fail_step "nsall $live" "ip netns add failed"; nsall_named_down; down rnetns; return 0; }
	nsall_list /tmp/bench-nsall.list
	# About 2 s of dumps per measurement under emulation.
	dumps=$((2000 / (live + 10) + 1))
	say "every namespace at once with $live held ($(wc -l </tmp/bench-nsall.list) in all): $NSALL_ROUNDS rounds of dump ($dumps per measurement), setns+read, ip netns exec"
	for ((r = 0; r < NSALL_ROUNDS; r++)); do
		for w in $(rotate "$r" dump setns ipexec cli-list cli-metrics); do
			m="\"stage\":\"nsall\",\"live\":$live,\"way\":\"$w\",\"round\":$r"
			case $w in
			dump) rec "$m" 900 nl-dump --count "$dumps" ;;
			setns) rec "$m" 1800 setns-read --list /tmp/bench-nsall.list --count 1 ;;
			cli-list) cli_run "$m" list ;;
			cli-metrics) cli_run "$m" metrics ;;
			ipexec)
				t0=$(date +%s.%N)
				if k=$(ipexec_loop); then
					t1=$(date +%s.%N)
					note "$m" "$(awk -v a="$t0" -v b="$t1" -v k="$k" 'BEGIN { printf "{\"namespaces\":%d,\"secs\":%.9f,\"per_ns_secs\":%.9f}", k, b - a, (b - a) / k }')"
				else
					fail_step "nsall ipexec $live" "ip netns exec failed"
				fi ;;
			esac
		done
	done
	nsall_named_down
	down rnetns
}

# nsall_insn: the instruction-count side, with NSALL_INSN_LIVE namespaces
# held: the three ways per namespace, and the cost of a namespace's
# creation and teardown with rnetns (its family registered, nobody
# listening) and without it.
nsall_insn() {
	local r v m k i syms=kallsyms-nsall.txt
	up rnetns || { clean_state; return 0; }
	nsall_named_up || { fail_step "nsall insn" "ip netns add failed"; nsall_named_down; down rnetns; return 0; }
	hold_start "$NSALL_INSN_LIVE" || { nsall_named_down; down rnetns; return 0; }
	nsall_list /tmp/bench-nsall.list
	grep '\[' /proc/kallsyms >"$OUT/$syms" || true
	say "instructions: every namespace at once, $(wc -l </tmp/bench-nsall.list) namespaces; $NSALL_CREATES creations per variant"
	for ((r = 0; r < 2; r++)); do
		m="\"stage\":\"insn\",\"variant\":\"rnetns\",\"round\":$r,\"syms\":\"$syms\""
		window "$m,\"path\":\"nl-dump\"" nl-dump --count 1
		window "$m,\"path\":\"setns-read\"" setns-read --list /tmp/bench-nsall.list --count 1
		# One namespace's file, read as in the proc-open windows, in this boot
		# whatever ran before (--only netlink runs no other window).
		window "$m,\"path\":\"proc-open-held\"" proc-read --path /proc/net/rnetns --count "$INSN_READS" --mode open
		# A window around a shell loop: the markers come from the tool.
		sleep 0.5
		label=$((label + 1))
		"$TOOL" mark --label "$label"
		k=$(ipexec_loop) || k=0
		"$TOOL" mark --label 0
		note "$m,\"path\":\"ip-exec\",\"label\":$label" "{\"count\":$k}"
	done
	nsall_named_down
	hold_stop
	down rnetns
	# Creation and teardown (unshare -n true: the namespace goes once its
	# only process exits; the window waits for its teardown), without and
	# with rnetns loaded.
	for ((r = 0; r < 2; r++)); do
		for v in $(rotate "$r" none rnetns); do
			up "$v" || { clean_state; continue; }
			syms=kallsyms-nsall-$r-$v.txt
			grep '\[' /proc/kallsyms >"$OUT/$syms" || true
			# Nothing of what came before is still being torn down.
			"$TOOL" netns-wait --expect "$BASE_LIVE" --timeout 60 >/dev/null 2>&1 || true
			sleep 0.5
			label=$((label + 1))
			"$TOOL" mark --label "$label"
			for ((i = 0; i < NSALL_CREATES; i++)); do unshare -n true; done
			"$TOOL" netns-wait --expect "$BASE_LIVE" --timeout 60 >/dev/null 2>&1 || true
			"$TOOL" mark --label 0
			note "\"stage\":\"insn\",\"variant\":\"$v\",\"round\":$r,\"syms\":\"$syms\",\"path\":\"create\",\"label\":$label" \
				"{\"count\":$NSALL_CREATES}"
			down "$v"
		done
	done
}

# ---------------------------------------------------------------- instructions

# The instruction-count boot: each measurement runs between window markers
# (labels 1, 2, ...); the plugin counts what the guest executes in each, and
# the kernel's symbols are saved for every variant (modules and BPF programs
# move), so that bench/insn.py can attribute every instruction.
insn_stage() {
	local label=0 r v m f syms
	grep -v '\[' /proc/kallsyms >"$OUT/kallsyms-vmlinux.txt"
	say "instructions: $INSN_ROUNDS rounds of ${INSN_VARIANTS[*]}; $INSN_PACKETS datagrams per path, $INSN_READS reads of the proc file"
	window() { # META ARGS...: the tool step ARGS in the next window
		# Let RCU callbacks and deferred frees of what came before run
		# first (idle time costs nothing here: virtual time skips it).
		sleep 0.5
		label=$((label + 1))
		rec "$1,\"label\":$label" 600 "${@:2}" --label "$label"
	}
	local rounds=$INSN_ROUNDS
	[ -z "$only" ] || rounds=0
	for ((r = 0; r < rounds; r++)); do
		for v in $(rotate "$r" "${INSN_VARIANTS[@]}"); do
			up "$v" || { clean_state; continue; }
			syms=kallsyms-$r-$v.txt
			grep '\[' /proc/kallsyms >"$OUT/$syms" || true
			m="\"stage\":\"insn\",\"variant\":\"$v\",\"round\":$r,\"syms\":\"$syms\""
			window "$m,\"path\":\"veth\"" udp-count --tx-ns /run/netns/A --rx-ns /run/netns/B \
				--dst 198.18.0.2 --size "$PPS_SIZE" --batch "$PPS_BATCH" --cpu 0 --count "$INSN_PACKETS"
			window "$m,\"path\":\"lo\"" udp-count --tx-ns /run/netns/L --rx-ns /run/netns/L \
				--dst 127.0.0.1 --size "$PPS_SIZE" --batch "$PPS_BATCH" --cpu 0 --count "$INSN_PACKETS"
			case $v in
			rnetns) f=/proc/net/rnetns ;;
			ctwin) f=/proc/net/rnetns_ctwin ;;
			*) f= ;;
			esac
			if [ -n "$f" ]; then
				window "$m,\"path\":\"proc-open\"" proc-read --path "$f" --count "$INSN_READS" --mode open
				window "$m,\"path\":\"proc-pread\"" proc-read --path "$f" --count "$INSN_READS" --mode pread
			fi
			down "$v"
		done
		say "instructions: round $((r + 1))/$INSN_ROUNDS done"
	done
	clean_state
	nsall_insn
	clean_state
}

if [ "$insn" = 1 ]; then
	insn_stage
	note '"stage":"end"' "{\"errors\":$ERRORS,\"secs\":$SECONDS}"
	say "done in ${SECONDS}s with $ERRORS errors"
	[ "$ERRORS" = 0 ]
	exit
fi

# --only netlink: the "every namespace at once" stage alone.
if [ "$only" = netlink ]; then
	for size in "$SMALL" "$MID" "$BIG"; do
		hold_start "$size" || continue
		nsall "$size"
		hold_stop
	done
	note '"stage":"end"' "{\"errors\":$ERRORS,\"secs\":$SECONDS}"
	say "done in ${SECONDS}s with $ERRORS errors"
	[ "$ERRORS" = 0 ]
	exit
fi

# ---------------------------------------------------------------- packet path

pps() { # META TXNS RXNS DST
	rec "$1" $((20 + ${PPS_SECS%.*} * 2)) udp-pps --tx-ns "/run/netns/$2" --rx-ns "/run/netns/$3" \
		--dst "$4" --size "$PPS_SIZE" --batch "$PPS_BATCH" --cpu "$PPS_CPU" \
		--secs "$PPS_SECS" --warmup "$PPS_WARMUP"
}

# The IPv4 input-hook packet count that the variant shows in B: proves its
# hooks saw the traffic.
hook_packets() {
	# shellcheck disable=SC2016 # awk's own fields
	case $1 in
	none) echo 0 ;;
	rnetns) ip netns exec B awk '$1 == "ipv4" && $2 == "input" { print $3 }' /proc/net/rnetns ;;
	ctwin) ip netns exec B awk '$1 == "ipv4" && $2 == "input" { print $3 }' /proc/net/rnetns_ctwin ;;
	nft) ip netns exec B nft list chain inet "$NFT_TABLE" c_input |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p' ;;
	ebpf) "$EBPF_LOADER" read "$EBPF_DIR" B | awk '$1 == "ipv4" && $2 == "input" { print $3 }' ;;
	esac
}

say "packet path: $PPS_ROUNDS rounds of ${VARIANTS[*]}; ${PPS_SECS}s per measurement"
for ((r = 0; r < PPS_ROUNDS; r++)); do
	for v in $(rotate "$r" "${VARIANTS[@]}"); do
		m="\"variant\":\"$v\",\"round\":$r"
		up "$v" || { clean_state; continue; }
		pps "\"stage\":\"pps\",\"path\":\"veth\",$m" A B 198.18.0.2
		veth=$LAST
		hp=$(hook_packets "$v" 2>/dev/null || true)
		note "\"stage\":\"hookcheck\",$m" "{\"ipv4_input_packets_in_B\":${hp:-null}}"
		pps "\"stage\":\"pps\",\"path\":\"lo\",$m" L L 127.0.0.1
		lo=$LAST
		case $v in
		rnetns) f=/proc/net/rnetns ;;
		ctwin) f=/proc/net/rnetns_ctwin ;;
		*) f= ;;
		esac
		if [ -n "$f" ]; then
			rec "\"stage\":\"procread\",\"mode\":\"open\",$m" 300 proc-read --path "$f" --count "$PROC_READS" --mode open
			rec "\"stage\":\"procread\",\"mode\":\"pread\",$m" 300 proc-read --path "$f" --count "$PROC_READS" --mode pread
		fi
		# Direct timing of the IPv4 input hooks in B (bench/hookbench).
		hb=
		if quiet "load hookbench" 120 modload "$HOOKBENCH_KO"; then
			rec "\"stage\":\"hookbench\",$m" 300 hookbench --ns /run/netns/B --count "$HB_CALLS"
			hb=$LAST
			quiet "unload hookbench" 120 modunload rnetns_hookbench || true
		fi
		down "$v"
		say "round $((r + 1))/$PPS_ROUNDS $v: veth $(jfield rx_pps "$veth") pps, lo $(jfield rx_pps "$lo") pps, $(jfield ns_per_call "$hb") ns per hook call (TCG)"
	done
done
clean_state

# ---------------------------------------------------------------- churn

# alloc_trace VARIANT: the slab and per-CPU allocations the module's load
# makes and keeps, from the kmem and percpu trace events of the loading
# process with their stacks, with the benchmark's namespaces and init_net
# alive; analyze.py keeps those made under ops_init(), the pernet init path.
alloc_trace() {
	local v=$1 t=/sys/kernel/tracing e ev size
	ev=(kmem/kmalloc kmem/kmem_cache_alloc kmem/kfree kmem/kmem_cache_free
		percpu/percpu_alloc_percpu percpu/percpu_free_percpu)
	for e in "${ev[@]}"; do
		[ -d "$t/events/$e" ] || { fail_step "alloc trace $v" "no trace event $e"; return 0; }
	done
	size=$(cat "$t/buffer_size_kb")
	echo 16384 >"$t/buffer_size_kb"
	: >"$t/trace"
	for e in kmem percpu; do echo 'comm == "rnetns-bench"' >"$t/events/$e/filter"; done
	echo 1 >"$t/options/stacktrace"
	for e in "${ev[@]}"; do echo 1 >"$t/events/$e/enable"; done
	up "$v" || true
	echo 0 >"$t/events/enable"
	echo 0 >"$t/options/stacktrace"
	cp "$t/trace" "$OUT/alloctrace-$v.txt"
	: >"$t/trace"
	for e in kmem percpu; do echo 0 >"$t/events/$e/filter"; done
	echo "${size%% *}" >"$t/buffer_size_kb"
	down "$v"
	note "\"stage\":\"alloctrace\",\"variant\":\"$v\"" \
		"{\"file\":\"alloctrace-$v.txt\",\"namespaces\":$((BASE_LIVE + 1))}"
}

# churn LIVE: create+destroy rates, serial and with 2 workers, with LIVE
# namespaces held alive besides the benchmark's own. At most CHURN_BACKLOG
# namespaces may wait to be freed (a closed loop: without a bound, creation
# runs ahead and the rate depends on how the netns workqueue batches).
churn() {
	local live=$1 r v m w
	say "churn with $live namespaces alive: $CHURN_ROUNDS rounds of none, rnetns, ctwin; ${CHURN_SECS}s of unshare() per run, 1 and 2 workers, backlog $CHURN_BACKLOG"
	for ((r = 0; r < CHURN_ROUNDS; r++)); do
		for v in $(rotate "$r" none rnetns ctwin); do
			m="\"stage\":\"churn\",\"live\":$live,\"variant\":\"$v\",\"round\":$r"
			up "$v" || { clean_state; continue; }
			for w in 1 2; do
				rec "$m,\"workers\":$w" 900 churn --workers "$w" --secs "$CHURN_SECS" \
					--backlog "$CHURN_BACKLOG" --expect $((BASE_LIVE + live)) --timeout 600
			done
			down "$v"
		done
		say "churn round $((r + 1))/$CHURN_ROUNDS done"
	done
}

# ---------------------------------------------------------------- load, unload, memory

# loads LIVE ROUNDS: insmod and rmmod times of rnetns and the C twin, with
# memory snapshots before each load and after it.
loads() {
	local live=$1 rounds=$2 r v m
	say "load/unload with $live namespaces alive: $rounds rounds of rnetns, ctwin"
	for ((r = 0; r < rounds; r++)); do
		for v in $(rotate "$r" rnetns ctwin); do
			m="\"live\":$live,\"variant\":\"$v\",\"round\":$r"
			sleep "$SETTLE"
			rec "\"stage\":\"mem\",\"when\":\"before\",$m" 60 memsnap
			up "$v" "\"stage\":\"load\",$m" || { clean_state; continue; }
			sleep "$SETTLE"
			rec "\"stage\":\"mem\",\"when\":\"loaded\",$m" 60 memsnap
			down "$v" "\"stage\":\"unload\",$m"
		done
	done
	say "load/unload with $live alive: done"
}

alloc_trace rnetns
alloc_trace ctwin
churn 0
loads 0 "$LOAD_ROUNDS"

if hold_start "$SMALL"; then
	nsall "$SMALL"
	hold_stop
fi

for size in "$MID" "$BIG"; do
	sleep "$SETTLE"
	rec "\"stage\":\"mem\",\"when\":\"prehold\",\"live\":$size" 60 memsnap
	hold_start "$size" || continue
	sleep "$SETTLE"
	rec "\"stage\":\"mem\",\"when\":\"held\",\"live\":$size" 60 memsnap
	nsall "$size"
	if [ "$size" = "$MID" ]; then
		loads "$size" "$LOAD_ROUNDS"
		churn "$size"
	else
		loads "$size" "$BIG_LOAD_ROUNDS"
	fi
	hold_stop
done

note '"stage":"end"' "{\"errors\":$ERRORS,\"secs\":$SECONDS}"
say "done in ${SECONDS}s with $ERRORS errors"
[ "$ERRORS" = 0 ]
