#!/usr/bin/env bash
# The rnetns test command. Sets up (idempotent: packages, toolchain, both
# test kernels), builds the module, runs the host checks (format, lints,
# docs, unsafe confinement, install), then boots QEMU twice: the normal
# kernel, and the debug kernel (KASAN, kmemleak, lockdep, refcount
# trackers, fault injection), running the KTAP tests in each, and last the
# benchmark's smoke run (that it works, not how fast). Prints
# "N passed, N failed" as the last line; exits non-zero if anything failed.
#
# Usage: scripts/test.sh [--quick] [TEST-FILE...]
#   --quick     normal kernel only (no debug-kernel run)
#   TEST-FILE   run only these tests/t*.sh files (default: all)
# Env: RNETNS_QEMU_ARGS  extra options for qemu/run (for example --smp 4)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"

quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
variants=(normal)
[ "$quick" = 1 ] || variants+=(debug)

untracked_before=$(git status --porcelain --untracked-files=all 2>/dev/null | awk '$1 == "??" { print $2 }')
"$RNETNS_TOP/scripts/setup.sh" $([ "$quick" = 1 ] || echo --debug)

results=$(mktemp -d /tmp/rnetns-test.XXXXXX)
trap 'rm -rf "$results"' EXIT
summary=()

ko=$("$RNETNS_TOP/scripts/build-module.sh" normal)
log "built $ko"
RNETNS_UNTRACKED_BEFORE=$untracked_before RNETNS_LOGS=$RNETNS_LOGS \
	bash tests/host-checks.sh | tee "$results/host.ktap"
summary+=("host=$results/host.ktap")

# Tracing tests patch kernel text (ftrace, kprobes) while they run: they get
# a guest of their own with one vCPU, since QEMU's multi-threaded TCG can let
# another vCPU execute a just-removed int3 (an Oops in the guest).
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

for v in "${variants[@]}"; do
	ko=$("$RNETNS_TOP/scripts/build-module.sh" "$v")
	log "running the tests on the $v kernel with $ko"
	mkdir -p "$results/$v"
	rc=0
	# shellcheck disable=SC2086
	# On the debug kernel (KASAN under emulation) each insmod takes
	# seconds: fewer hooks= fuzz values there; the normal kernel runs 40.
	extra=() opts=()
	[ "$v" = debug ] && extra=(RNETNS_HOOKS_FUZZ=12 RNETNS_FUZZ_SECONDS=15) opts=(--debug --timeout 3000)
	"$RNETNS_TOP/qemu/run" "${opts[@]}" --scratch "$results/$v" \
		${RNETNS_QEMU_ARGS:-} -- env RNETNS_KO="$ko" "${extra[@]}" tests/run.sh "${tests[@]}" || rc=$?
	summary+=("$v=$results/$v/results.ktap:$rc")
done

if [ ${#trace_tests[@]} -gt 0 ]; then
	ko=$("$RNETNS_TOP/scripts/build-module.sh" normal)
	log "running the tracing tests on the normal kernel, one vCPU"
	mkdir -p "$results/trace"
	rc=0
	"$RNETNS_TOP/qemu/run" --smp 1 --scratch "$results/trace" -- env RNETNS_KO="$ko" \
		tests/run.sh "${trace_tests[@]}" || rc=$?
	summary+=("trace=$results/trace/results.ktap:$rc")
fi

# The benchmark's smoke run: only that it runs end to end (never timing).
log "benchmark smoke run (log: $RNETNS_LOGS/bench-smoke.log)"
{
	echo "KTAP version 1"
	echo "1..1"
	if "$RNETNS_TOP/scripts/bench.sh" --smoke >"$RNETNS_LOGS/bench-smoke.log" 2>&1; then
		echo "ok 1 benchmark smoke run completes (scripts/bench.sh --smoke)"
	else
		tail -n 20 "$RNETNS_LOGS/bench-smoke.log" | sed 's/^/# /'
		echo "not ok 1 benchmark smoke run (scripts/bench.sh --smoke)"
	fi
} | tee "$results/bench.ktap"
summary+=("bench=$results/bench.ktap")

python3 "$RNETNS_TOP/scripts/ktap-summary.py" "${summary[@]}"
