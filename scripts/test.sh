#!/usr/bin/env bash
# The rnetns test command. Sets up (idempotent: packages, toolchains, kernel
# sources, every test kernel the run needs), runs the host checks (format,
# lints and docs against each kernel, unsafe confinement, install, clone
# location), then boots QEMU once per kernel of the matrix and runs the KTAP
# tests in each, the tracing tests in guests of their own, and last the
# benchmark's smoke run (that it works, not how fast). Prints
# "N passed, N failed" as the last line; exits non-zero if anything failed.
#
# The default matrix (fits CI's 90 minutes from nothing on 2 cores):
#   7.2 normal, 6.12 normal     every test
#   7.2 debug                   every test (KASAN, kmemleak, lockdep, fault
#                               injection)
#   6.12 up (CONFIG_SMP=n)      the namespace and counter tests (6.12's UP
#                               %gs base is not 0: the per-CPU code's case)
#   tracing tests               7.2 and 6.12, one vCPU each
#   debian                      Debian's own 7.2 kernel, unmodified, with
#                               rnetns from the rnetns-dkms package: every
#                               test its features allow, tracing included
#                               (scripts/debian-test.sh; own heading)
#   benchmark smoke run         7.2 bench kernel (the normal one plus BPF
#                               and BTF): timed and instruction-count boots
# --all adds the 6.12 debug and 7.2 up kernels.
#
# Usage: scripts/test.sh [--quick | --all] [--kernel K] [TEST-FILE...]
#   --quick     normal kernels only (no debug, no up, no debian run)
#   --all       the full matrix
#   --kernel K  only kernel K (6.12 or 7.2), or only the debian run
#   TEST-FILE   run only these tests/t*.sh files (default: all)
# Env: RNETNS_QEMU_ARGS  extra options for qemu/run (for example --smp 4)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"

mode=default only=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick ;;
	--all) mode=all ;;
	--kernel) [ "$2" = debian ] || rnetns_check_kernel "$2"; only=$2; shift ;;
	-*) die "test.sh: unknown option '$1' (see the header of scripts/test.sh)" ;;
	*) break ;;
	esac
	shift
done

# The runs: KERNEL:VARIANT:TESTS, TESTS "all" or a list of test files.
runs=(7.2:normal:all 6.12:normal:all)
case $mode in
default) runs+=(7.2:debug:all 6.12:up:t10-pernet.sh,t20-counters.sh) ;;
all) runs+=(7.2:debug:all 6.12:debug:all 7.2:up:t05-kunit.sh,t10-pernet.sh,t20-counters.sh
	6.12:up:t10-pernet.sh,t20-counters.sh) ;;
esac
if [ -n "$only" ]; then
	keep=()
	for r in "${runs[@]}"; do [ "${r%%:*}" = "$only" ] && keep+=("$r"); done
	runs=("${keep[@]}")
fi
# Debian's own kernel: in the default and full runs, and alone with
# --kernel debian.
debian=0
[ "$mode" = quick ] || [ -n "$only" ] || debian=1
[ "$only" != debian ] || debian=1
kernels=()
for r in "${runs[@]}"; do
	case " ${kernels[*]} " in *" ${r%%:*} "*) ;; *) kernels+=("${r%%:*}") ;; esac
done

untracked_before=$(git status --porcelain --untracked-files=all 2>/dev/null | awk '$1 == "??" { print $2 }')
wanted=()
for r in "${runs[@]}"; do wanted+=("${r%:*}"); done
[ "$debian" = 0 ] || wanted+=(debian)
# The benchmark's smoke run boots the benchmark kernel (BPF, BTF).
[ $# -ne 0 ] || [ ${#kernels[@]} -eq 0 ] || wanted+=("${kernels[0]}:bench")
"$RNETNS_TOP/scripts/setup.sh" "${wanted[@]}"

results=$(mktemp -d /tmp/rnetns-test.XXXXXX)
trap 'rm -rf "$results"' EXIT
summary=()

# The host checks build the module against each kernel first.
if [ ${#kernels[@]} -gt 0 ]; then
	RNETNS_UNTRACKED_BEFORE=$untracked_before RNETNS_LOGS=$RNETNS_LOGS RNETNS_CHECK_KERNELS="${kernels[*]}" \
		bash tests/host-checks.sh | tee "$results/host.ktap" || true # counted below
	summary+=("host=$results/host.ktap")
fi

# Tracing tests patch kernel text (ftrace, kprobes) while they run: they get
# a guest of their own with one vCPU, since QEMU's multi-threaded TCG can let
# another vCPU execute a just-removed int3.
tests=("$@")
trace_tests=()
if [ ${#tests[@]} -eq 0 ]; then
	for t in tests/t*.sh; do
		case $t in
		*-trace.sh) trace_tests+=("$t") ;;
		*) tests+=("$t") ;;
		esac
	done
fi

for r in "${runs[@]}"; do
	IFS=: read -r k v which <<<"$r"
	run_tests=("${tests[@]}")
	if [ "$which" != all ] && [ $# -eq 0 ]; then
		IFS=, read -ra run_tests <<<"$which"
		run_tests=("${run_tests[@]/#/tests/}")
	fi
	ko=$(RNETNS_KERNEL=$k "$RNETNS_TOP/scripts/build-module.sh" "$v")
	log "running the tests on the $k $v kernel with $ko"
	mkdir -p "$results/$k-$v"
	rc=0
	# On the debug kernel (KASAN under emulation) each insmod takes
	# seconds: fewer hooks= fuzz values there; the normal kernel runs 40.
	extra=() opts=()
	[ "$v" = debug ] && extra=(RNETNS_HOOKS_FUZZ=12 RNETNS_FUZZ_SECONDS=15 RNETNS_HOOKFULL_ROUNDS=10) opts=(--timeout 3000)
	# shellcheck disable=SC2086
	"$RNETNS_TOP/qemu/run" --kernel "$k" --variant "$v" "${opts[@]}" --scratch "$results/$k-$v" \
		${RNETNS_QEMU_ARGS:-} -- env RNETNS_KO="$ko" "${extra[@]}" tests/run.sh "${run_tests[@]}" || rc=$?
	summary+=("$k-$v=$results/$k-$v/results.ktap:$rc")
done

if [ ${#trace_tests[@]} -gt 0 ]; then
	for k in "${kernels[@]}"; do
		ko=$(RNETNS_KERNEL=$k "$RNETNS_TOP/scripts/build-module.sh" normal)
		log "running the tracing tests on the $k normal kernel, one vCPU"
		mkdir -p "$results/$k-trace"
		rc=0
		"$RNETNS_TOP/qemu/run" --kernel "$k" --smp 1 --scratch "$results/$k-trace" -- \
			env RNETNS_KO="$ko" tests/run.sh "${trace_tests[@]}" || rc=$?
		summary+=("$k-trace=$results/$k-trace/results.ktap:$rc")
	done
fi

# Debian's own kernel, under its own heading (its documents count in the
# total below).
if [ "$debian" = 1 ]; then
	"$RNETNS_TOP/scripts/debian-test.sh" "$results/debian" "$@" || true
	if [ -f "$results/debian/docs" ]; then
		while IFS= read -r d; do summary+=("$d"); done <"$results/debian/docs"
	else
		summary+=("debian=$results/debian/none.ktap")
	fi
fi

# The benchmark's smoke run: only that it runs end to end (never timing).
if [ $# -eq 0 ] && [ ${#kernels[@]} -gt 0 ]; then
	log "benchmark smoke run on ${kernels[0]} (log: $RNETNS_LOGS/bench-smoke.log)"
	{
		echo "KTAP version 1"
		echo "1..1"
		if RNETNS_KERNEL=${kernels[0]} "$RNETNS_TOP/scripts/bench.sh" --smoke >"$RNETNS_LOGS/bench-smoke.log" 2>&1; then
			echo "ok 1 benchmark smoke run completes (scripts/bench.sh --smoke)"
		else
			tail -n 20 "$RNETNS_LOGS/bench-smoke.log" | sed 's/^/# /'
			echo "not ok 1 benchmark smoke run (scripts/bench.sh --smoke)"
		fi
	} | tee "$results/bench.ktap"
	summary+=("bench=$results/bench.ktap")
fi

python3 "$RNETNS_TOP/scripts/ktap-summary.py" "${summary[@]}"
