#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks of the eBPF peer (rnetns-ebpf and rnetns_count.bpf.o), KTAP
# output, inside the test VM only (it loads BPF programs): the bench kernel
# variant, which has BPF and its BTF. From the host:
#
#   make -C bench/ebpf O=~/.cache/rnetns/bench-tools/ebpf
#   qemu/run --variant bench -- bench/ebpf/check-guest.sh \
#       ~/.cache/rnetns/bench-tools/ebpf/rnetns-ebpf \
#       ~/.cache/rnetns/bench-tools/ebpf/rnetns_count.bpf.o
#
# Usage: bench/ebpf/check-guest.sh LOADER OBJ
#
# shellcheck disable=SC2317 # the checks are called through run_test
source "$(dirname "$0")/../../tests/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 LOADER OBJ" >&2; exit 2; }
LOADER=$1 OBJ=$2
DIR=/sys/fs/bpf/rnetns_check
# shellcheck source=../netns.sh
source "$(dirname "$0")/../netns.sh"
ALL_POINTS="ipv4:forward ipv4:input ipv4:output ipv4:postrouting ipv4:prerouting \
ipv6:forward ipv6:input ipv6:output ipv6:postrouting ipv6:prerouting "

# bpf_hooks NS: the hook points where a netfilter BPF program is attached in
# NS at priority INT_MIN + 1, as netfilter lists them (nft list hooks).
bpf_hooks() {
	ip netns exec "$1" nft list hooks 2>/dev/null | awk '
		$1 == "family" { fam = ($2 == "ip") ? "ipv4" : ($2 == "ip6") ? "ipv6" : $2 }
		$1 == "hook" { hook = $2 }
		$1 == "-2147483647" && $2 == "nf_hook_run_bpf" { print fam ":" hook }' |
		sort | tr '\n' ' '
}

# counter NS FAMILY HOOK packets|bytes: one value of "rnetns-ebpf read".
counter() {
	"$LOADER" read "$DIR" "$1" | awk -v f="$2" -v h="$3" -v c="$4" '
		$1 == f && $2 == h { print (c == "packets") ? $3 : $4 }'
}

# no_bpf_anywhere: no BPF hook in any namespace of ours, nothing pinned.
no_bpf_anywhere() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		expect_eq "BPF hooks in $ns" "$(bpf_hooks "$ns")" "" || return 1
	done
	[ ! -e "$DIR" ] || fail "$DIR left behind: $(find "$DIR")"
}

cleanup() {
	"$LOADER" down "$DIR" || true
	ip netns delete X.Y 2>/dev/null || true
	cleanup_netns
}

t_up() {
	"$LOADER" up "$OBJ" "$DIR" "${BENCH_NS[@]}" || fail "up failed"
}

t_hooks() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		expect_eq "BPF hooks in $ns (nft list hooks)" "$(bpf_hooks "$ns")" "$ALL_POINTS" || return 1
	done
	nft list hooks | grep -q nf_hook_run_bpf && fail "a BPF hook in the initial namespace"
	return 0
}

t_pins() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		expect_eq "pins in $DIR/$ns" "$(find "$DIR/$ns" -mindepth 1 | wc -l)" 11 || return 1
	done
}

t_read_shape() {
	local out
	out=$("$LOADER" read "$DIR" A) || fail "read failed"
	echo "$out"
	expect_eq "header" "$(head -n1 <<<"$out")" "family hook packets bytes" || return 1
	expect_eq "rows" "$(tail -n +2 <<<"$out" | awk '{ print $1 ":" $2 }' | sort | tr '\n' ' ')" \
		"$ALL_POINTS" || return 1
	tail -n +2 <<<"$out" | awk 'NF != 4 || $3 !~ /^[0-9]+$/ || $4 !~ /^[0-9]+$/ { exit 1 }' ||
		fail "a row is not FAMILY HOOK PACKETS BYTES"
}

# Ping A -> B over veth, and inside L over loopback (IPv4 and IPv6): the
# counters of each namespace move by what went through it.
t_traffic() {
	local in_b out_a lo4 lo6 bytes_b
	in_b=$(counter B ipv4 input packets) out_a=$(counter A ipv4 output packets)
	lo4=$(counter L ipv4 output packets) lo6=$(counter L ipv6 output packets)
	bytes_b=$(counter B ipv4 input bytes)
	ip netns exec A ping -c 5 -i 0.2 -W 5 198.18.0.2 >/dev/null || fail "ping A -> B fails"
	ip netns exec L ping -c 3 -i 0.2 -W 5 127.0.0.1 >/dev/null || fail "ping 127.0.0.1 in L fails"
	ip netns exec L ping -6 -c 3 -i 0.2 -W 5 ::1 >/dev/null || fail "ping ::1 in L fails"
	"$LOADER" read "$DIR" B
	# 5 echo requests of 84 bytes (IPv4 header + ICMP + 56 bytes) into B.
	[ $(( $(counter B ipv4 input packets) - in_b )) -ge 5 ] || fail "B ipv4 input did not count 5 packets"
	[ $(( $(counter B ipv4 input bytes) - bytes_b )) -ge 420 ] || fail "B ipv4 input did not count 420 bytes"
	[ $(( $(counter A ipv4 output packets) - out_a )) -ge 5 ] || fail "A ipv4 output did not count 5 packets"
	[ $(( $(counter L ipv4 output packets) - lo4 )) -ge 6 ] || fail "L ipv4 output did not count 6 packets"
	[ $(( $(counter L ipv6 output packets) - lo6 )) -ge 6 ] || fail "L ipv6 output did not count 6 packets"
	expect_eq "L saw nothing of the veth traffic (ipv4 forward)" "$(counter L ipv4 forward packets)" 0
}

t_again() {
	local err=/tmp/check-again.err
	"$LOADER" up "$OBJ" "$DIR" L 2>"$err" && fail "a second up of L succeeded"
	cat "$err"
	grep -q "already up" "$err" || fail "no clear message"
	t_hooks && t_pins
}

t_down() {
	"$LOADER" down "$DIR" || fail "down failed"
	no_bpf_anywhere || return 1
	"$LOADER" down "$DIR" || fail "a second down (nothing to do) failed"
}

# expect_fail WHAT PATTERN ARGS...: rnetns-ebpf ARGS fails (exit 1) with a
# message matching PATTERN and leaves nothing behind.
expect_fail() {
	local what=$1 pattern=$2 err=/tmp/check-fail.err rc=0
	shift 2
	"$LOADER" "$@" 2>"$err" || rc=$?
	cat "$err"
	expect_eq "$what: exit status" "$rc" 1 || return 1
	grep -q "$pattern" "$err" || fail "$what: no message matching '$pattern'"
	no_bpf_anywhere
}

t_unknown_ns() {
	expect_fail "unknown namespace" "no network namespace NOPE" up "$OBJ" "$DIR" A B NOPE L
}

# X.Y is a namespace, but bpffs takes no dot in a name: A and B are up
# when the pin directory of X.Y cannot be made, and must be undone.
t_midway() {
	ip netns add X.Y || return 1
	expect_fail "bpffs refuses X.Y" "cannot create $DIR/X.Y" up "$OBJ" "$DIR" A B X.Y L
}

t_bad_obj() {
	expect_fail "no such object" "cannot open BPF object" up /nonexistent.bpf.o "$DIR" A
}

t_read_unknown() {
	local err=/tmp/check-read.err
	"$LOADER" read "$DIR" NOPE 2>"$err" && fail "read of NOPE succeeded"
	cat "$err"
	grep -q "cannot open the map pinned at $DIR/NOPE/counters" "$err" || fail "no clear message"
}

t_usage() {
	local rc=0
	"$LOADER" up "$OBJ" 2>/dev/null || rc=$?
	expect_eq "exit status of a bad command line" "$rc" 2
}

fresh_start cleanup
bench_netns_up

ktap_plan 13
run_test "up in A B L" t_up
run_test "ten BPF hooks at INT_MIN + 1 in each namespace, none in init_net" t_hooks
run_test "the map and ten links pinned per namespace" t_pins
run_test "read prints the rows of /proc/net/rnetns" t_read_shape
run_test "traffic moves each namespace's own counters" t_traffic
run_test "up of a namespace that is up fails and changes nothing" t_again
run_test "down removes every hook and pin" t_down
run_test "up with an unknown namespace fails and leaves nothing" t_unknown_ns
run_test "up failing midway undoes the namespaces done" t_midway
run_test "up with a missing object fails and leaves nothing" t_bad_obj
run_test "read of an unknown namespace fails clearly" t_read_unknown
run_test "a bad command line exits 2" t_usage
run_test "up again after all that" t_up
ktap_finish
