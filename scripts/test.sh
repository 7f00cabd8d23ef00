#!/usr/bin/env bash
# The rnetns test command. Sets up (idempotent: packages, toolchains, kernel
# sources, every test kernel the run needs and nothing else), runs the host
# checks (format, lints and docs against each kernel, unsafe confinement,
# install, clone location), checks that a deliberate hang is reported, then
# boots QEMU once per kernel of the matrix and runs the KTAP tests in each,
# the tracing tests in guests of their own, and in --all last the
# benchmark's smoke run (that it works, not how fast). Prints "N passed, N failed" as the
# last line; exits non-zero if anything failed.
#
# The default run fits CI's 90 minutes from nothing on a slow machine (one
# whose 7.2 tinyconfig kernel build takes 650 s; README, "The test
# command"): it builds one test kernel, prepares two trees and boots two
# kernels.
#   7.2 debug       every test (KASAN, kmemleak, lockdep, hang detection,
#                   fault injection, KUnit) and the hang report check
#   debian          Debian's own 7.2 kernel, unmodified (no kernel build),
#                   with rnetns from the rnetns-dkms package: every test its
#                   features allow, tracing included (scripts/debian-test.sh)
#   6.12 prep       host checks: the module compiles, lints and documents
#                   against 6.12 (a `make modules_prepare` tree)
#   7.2 arm64 prep  the same for arm64 (a cross-built `make modules_prepare`
#                   tree, ARCH=arm64 LLVM=1), beside the guests
# --all adds the 7.2 and 6.12 normal kernels (every test; the tracing tests
# on each), 6.12 debug, 7.2 and 6.12 up, the 7.2 rt kernel (the debug
# kernel with PREEMPT_RT: t10, t20, t40, t45 and t99 under lockdep,
# DEBUG_ATOMIC_SLEEP and KASAN; its build took 26 min and its guest 16 min
# on a loaded 2-core machine, last result 23 passed, 0 failed, 24 skipped,
# kernel log clean), Debian's other two 7.2 flavours
# (debian-rt: PREEMPT_RT; debian-cloud), the 7.2 arm64 normal kernel under
# qemu-system-aarch64 (every test, the tracing ones included, with its host
# checks), and the benchmark's smoke run on
# the bench kernel with the eBPF peer (12 minutes on the debug kernel, out
# of the default run; `RNETNS_KERNEL=7.2 scripts/bench.sh --smoke --variant
# debug` runs it there); its host checks use the normal kernels.
#
# Usage: scripts/test.sh [--quick | --all] [--kernel K] [--variant V] [--arch A] [--boot-6.12] [TEST-FILE...]
#   --quick     the normal kernels only (7.2, 6.12: every test and the
#               tracing tests; no debug, up, debian, hang check or benchmark)
#   --all       the full matrix
#   --kernel K  only kernel K (6.12 or 7.2) of the chosen matrix, or only
#               a Debian-kernel run: debian (7.2.13+deb14-amd64), debian-rt
#               (7.2.13+deb14-rt-amd64, PREEMPT_RT) or debian-cloud
#               (7.2.13+deb14-cloud-amd64), whatever the matrix
#   --variant V only the guest runs of kernel variant V of the chosen matrix
#               (no host checks, hang check, tracing, Debian lane or
#               benchmark): `--all --variant rt` is the rt kernel's run
#   --arch A    x86_64 (the default) or arm64: with arm64, the 7.2 arm64
#               normal kernel under qemu-system-aarch64 (TCG) with an arm64
#               Debian root (scripts/arm64-root.sh), every test (the
#               tracing ones in a guest of their own, one vCPU), and the
#               host checks against that tree
#   --boot-6.12 the default run plus the 6.12 normal kernel, booted for
#               t70 and t75 (the netlink family and the rnetns command):
#               its tree is the prep tree of the host checks built on in
#               place, beside the guests at a lower priority. Out of the
#               default run: it adds about 10 minutes on a slow machine
#               (README, "The test command")
#   TEST-FILE   run only these tests/t*.sh files (default: all; no hang
#               check and no benchmark then)
# Env: RNETNS_QEMU_ARGS  extra options for qemu/run (for example --smp 4)
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP"

mode=default only= arch=$RNETNS_ARCH variant_only= boot612=
# The runs name their architecture (a run's fourth field, the arm64 tree's
# own variable): everything else is x86_64's.
export RNETNS_ARCH=x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick ;;
	--all) mode=all ;;
	--arch) rnetns_check_arch "$2"; arch=$2; shift ;;
	--kernel) case $2 in debian | debian-rt | debian-cloud) ;; *) rnetns_check_kernel "$2" ;; esac; only=$2; shift ;;
	--variant) variant_only=$2; shift ;;
	--boot-6.12) boot612=1 ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "test.sh: unknown option '$1' (see the header of scripts/test.sh)" ;;
	*) break ;;
	esac
	shift
done

# The VM runs (KERNEL:VARIANT:TESTS[:ARCH], TESTS "all" or a list of test
# files, ARCH x86_64 unless given), the trees the host checks build against
# (KERNEL:VARIANT, the first one bootable), the kernels of the own-kernel
# tracing guests, the benchmark smoke run's kernel and the hang check's
# (KERNEL:VARIANT, or nothing), and the arm64 tree whose host checks (build,
# clippy, rustdoc, symbols) run beside the guests (KERNEL:VARIANT, or
# nothing), and the run built and booted beside the guests
# (KERNEL:VARIANT:TESTS, or nothing).
beside=
case $mode in
default)
	runs=(7.2:debug:all)
	checks=(7.2:debug 6.12:prep)
	trace_kernels=()
	smoke= hang=7.2:debug debian=debian arm64=7.2:prep
	[ -z "$boot612" ] || beside=6.12:normal:t70-netlink.sh,t75-cli.sh ;;
quick)
	runs=(7.2:normal:all 6.12:normal:all)
	checks=(7.2:normal 6.12:normal)
	trace_kernels=(7.2 6.12)
	smoke= hang= debian= arm64= ;;
all)
	runs=(7.2:normal:all 6.12:normal:all 7.2:debug:all 6.12:debug:all
		7.2:up:t05-kunit.sh,t10-pernet.sh,t20-counters.sh 6.12:up:t10-pernet.sh,t20-counters.sh
		7.2:rt:t10-pernet.sh,t20-counters.sh,t40-torture.sh,t45-switch-torture.sh,t99-kmemleak.sh
		7.2:normal:all:arm64)
	checks=(7.2:normal 6.12:normal)
	trace_kernels=(7.2 6.12 7.2:arm64)
	smoke=7.2:bench hang=7.2:debug debian="debian debian-rt debian-cloud" arm64=7.2:normal ;;
esac
if [ "$arch" = arm64 ]; then
	# The arm64 matrix: its normal kernel booted, its host checks beside.
	runs=(7.2:normal:all:arm64)
	checks=() trace_kernels=(7.2:arm64)
	smoke= hang= debian= arm64=7.2:normal beside=
fi
if [ -n "$only" ]; then
	keep_runs=() keep_checks=() keep_trace=()
	for r in "${runs[@]}"; do [ "${r%%:*}" = "$only" ] && keep_runs+=("$r"); done
	[ "${arm64%%:*}" = "$only" ] || arm64=
	[ "${beside%%:*}" = "$only" ] || beside=
	for c in "${checks[@]}"; do [ "${c%%:*}" = "$only" ] && keep_checks+=("$c"); done
	for k in "${trace_kernels[@]}"; do [ "${k%%:*}" = "$only" ] && keep_trace+=("$k"); done
	runs=("${keep_runs[@]}") checks=("${keep_checks[@]}") trace_kernels=("${keep_trace[@]}")
	[ "${smoke%%:*}" = "$only" ] || smoke=
	[ "${hang%%:*}" = "$only" ] || hang=
	case $only in debian*) debian=$only ;; *) debian= ;; esac
fi
if [ -n "$variant_only" ]; then
	keep_runs=()
	for r in "${runs[@]}"; do
		IFS=: read -r _ v _ <<<"$r"
		[ "$v" = "$variant_only" ] && keep_runs+=("$r")
	done
	runs=("${keep_runs[@]}") checks=() trace_kernels=()
	smoke= hang= debian= arm64= beside=
fi
# Only named test files: no hang check and no benchmark; the run beside
# the guests only for those of its files that are named.
[ $# -eq 0 ] || { smoke= hang=; }
beside_tests=()
if [ -n "$beside" ]; then
	IFS=, read -ra beside_tests <<<"${beside##*:}"
	beside_tests=("${beside_tests[@]/#/tests/}")
	if [ $# -gt 0 ]; then
		named=()
		for t in "$@"; do
			case " ${beside_tests[*]} " in *" tests/${t##*/} "*) named+=("tests/${t##*/}") ;; esac
		done
		beside_tests=("${named[@]}")
		[ ${#named[@]} -gt 0 ] || beside=
	fi
fi

untracked_before=$(git status --porcelain --untracked-files=all 2>/dev/null | awk '$1 == "??" { print $2 }')
# Every kernel the run needs, each once.
wanted=()
want() {
	local kva=$1
	case $kva in *:*:*) ;; *:*) kva=$kva:x86_64 ;; esac
	case " ${wanted[*]} " in *" $kva "*) ;; *) wanted+=("$kva") ;; esac
}
for r in "${runs[@]}"; do
	IFS=: read -r k v _ a <<<"$r"
	want "$k:$v:${a:-x86_64}"
done
for c in "${checks[@]}"; do want "$c"; done
for k in "${trace_kernels[@]}"; do
	case $k in *:*) want "${k%%:*}:normal:${k#*:}" ;; *) want "$k:normal" ;; esac
done
[ -z "$smoke" ] || want "$smoke"
[ -z "$hang" ] || want "$hang"
for d in $debian; do want "$d"; done
[ ${#wanted[@]} -gt 0 ] || die "test.sh: nothing to run for${only:+ --kernel $only}${variant_only:+ --variant $variant_only} in this matrix"
"$RNETNS_TOP/scripts/setup.sh" "${wanted[@]}"

results=$(mktemp -d /tmp/rnetns-test.XXXXXX)
trap 'rm -rf "$results"' EXIT
summary=()

# What runs beside the rest: work that mostly waits, or whose guest has one
# TCG thread, while our own guests leave a core idle much of the time (a
# test runs one process at a time). Each one's output goes to a log, shown
# when it ends.
#  - the hang check: a deliberate in-kernel hang must end as a report with
#    stacks and a failed guest run, not as a silent time-out
#    (tests/hang-check.sh; its guest waits for the hung-task detector);
#  - Debian's own kernel, under its own heading (its documents count in the
#    total below; its main guest has one TCG thread).
# The host checks first (they build and lint; their result is wanted
# early), with the hang check beside them (its two guests mostly wait);
# then the guests. Beside the run's guests, which leave a core mostly idle
# under TCG, and at a lower priority than they: the Kconfig check of every
# variant (one core) and the Debian-kernel run.
hang_pid= configs_pid= debian_pid=
if [ -n "$hang" ]; then
	log "hang report check on the ${hang%%:*} ${hang#*:} kernel, beside the host checks (log: $results/hang.log)"
	RNETNS_HANG_KERNEL=${hang%%:*} RNETNS_HANG_VARIANT=${hang#*:} \
		bash tests/hang-check.sh >"$results/hang.ktap" 2>"$results/hang.log" &
	hang_pid=$!
	summary+=("hang=$results/hang.ktap")
fi
if [ ${#checks[@]} -gt 0 ]; then
	RNETNS_HOST_CHECKS=rest RNETNS_UNTRACKED_BEFORE=$untracked_before RNETNS_LOGS=$RNETNS_LOGS \
		RNETNS_CHECK_KERNELS="${checks[*]}" bash tests/host-checks.sh | tee "$results/host.ktap" || true # counted below
	summary+=("host=$results/host.ktap")
fi
if [ -n "$hang_pid" ]; then
	wait "$hang_pid" || true # counted below
	cat "$results/hang.log" >&2
	cat "$results/hang.ktap"
fi
# The arm64 tree's host checks, beside the guests at a lower priority: a
# cross-built `make modules_prepare` costs minutes (once; cached), not a
# kernel build. Set up here, not before the host checks, so that its build
# overlaps the guests.
arm64_pid=
if [ -n "$arm64" ]; then
	log "arm64 host checks (${arm64%%:*} ${arm64#*:}) started beside the guests (log: $results/arm64.log)"
	(
		RNETNS_ARCH=arm64 nice -n 10 "$RNETNS_TOP/scripts/setup.sh" "$arm64:arm64" &&
			RNETNS_ARCH=arm64 RNETNS_HOST_CHECKS=arch RNETNS_LOGS=$RNETNS_LOGS RNETNS_CHECK_KERNELS=$arm64 \
				nice -n 10 bash tests/host-checks.sh
	) >"$results/arm64.ktap" 2>"$results/arm64.log" &
	arm64_pid=$!
	summary+=("arm64=$results/arm64.ktap")
fi
if [ ${#checks[@]} -gt 0 ]; then
	log "Kconfig check of every variant started beside the guests (log: $results/configs.log)"
	RNETNS_HOST_CHECKS=configs RNETNS_LOGS=$RNETNS_LOGS RNETNS_CHECK_KERNELS="${checks[*]}" \
		nice -n 10 bash tests/host-checks.sh >"$results/configs.ktap" 2>"$results/configs.log" &
	configs_pid=$!
	summary+=("configs=$results/configs.ktap")
fi
# The kernel built and booted beside the guests: its build (the prep tree
# of the host checks built on, at the arm64 job's priority) overlaps the
# guests, and its guest runs at the Debian lane's.
beside_pid=
if [ -n "$beside" ]; then
	IFS=: read -r bk bv _ <<<"$beside"
	bname=$(RNETNS_KERNEL=$bk rnetns_kname "$bv")
	mkdir -p "$results/$bname"
	log "the $bk $bv kernel: built and booted beside the guests (${beside_tests[*]##*/}; log: $results/beside.log)"
	(
		nice -n 10 "$RNETNS_TOP/scripts/setup.sh" "$bk:$bv" || exit 1
		ko=$(RNETNS_KERNEL=$bk nice -n 10 "$RNETNS_TOP/scripts/build-module.sh" "$bv") || exit 1
		rc=0
		# shellcheck disable=SC2086
		nice -n 5 "$RNETNS_TOP/qemu/run" --kernel "$bk" --variant "$bv" --scratch "$results/$bname" \
			${RNETNS_QEMU_ARGS:-} -- env RNETNS_KO="$ko" tests/run.sh "${beside_tests[@]}" || rc=$?
		echo "$rc" >"$results/$bname/rc"
	) >"$results/beside.log" 2>&1 &
	beside_pid=$!
fi
if [ -n "$debian" ]; then
	log "Debian-kernel run ($debian) started beside the other guests (log: $results/debian.log)"
	nice -n 5 "$RNETNS_TOP/scripts/debian-test.sh" --kernels "$debian" "$results/debian" "$@" >"$results/debian.log" 2>&1 &
	debian_pid=$!
fi

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
	IFS=: read -r k v which a <<<"$r"
	a=${a:-x86_64}
	run_tests=("${tests[@]}")
	if [ "$which" != all ] && [ $# -eq 0 ]; then
		IFS=, read -ra run_tests <<<"$which"
		run_tests=("${run_tests[@]/#/tests/}")
	fi
	ko=$(RNETNS_KERNEL=$k RNETNS_ARCH=$a "$RNETNS_TOP/scripts/build-module.sh" "$v")
	name=$(RNETNS_KERNEL=$k RNETNS_ARCH=$a rnetns_kname "$v")
	mkdir -p "$results/$name"
	log "running the tests on the $k $v kernel ($a) with $ko"
	rc=0
	# On the debug kernel (KASAN under emulation) each insmod takes
	# seconds: fewer hooks= fuzz values there (the normal kernel runs 40),
	# two teardown rounds, only the tests whose code paths the checkers
	# watch (RNETNS_CHECKERS_ONLY: the rest runs on the others), and one
	# kmemleak scan after every file instead of one per file (t99; t50
	# keeps its own, after the fault injection). The rt kernel is the
	# debug kernel with PREEMPT_RT: the same.
	extra=() opts=()
	case $v in
	debug | rt) extra=(RNETNS_HOOKS_FUZZ=12 RNETNS_FUZZ_SECONDS=15 RNETNS_KMEMLEAK_ONCE=1 RNETNS_TEARDOWN_ROUNDS=2 RNETNS_CHECKERS_ONLY=1) opts=(--timeout 3000) ;;
	esac
	# shellcheck disable=SC2086
	# arm64 under TCG: emulated on emulated, slower than x86_64's guests.
	[ "$a" = x86_64 ] || opts=(--timeout 5400)
	"$RNETNS_TOP/qemu/run" --kernel "$k" --arch "$a" --variant "$v" "${opts[@]}" --scratch "$results/$name" \
		${RNETNS_QEMU_ARGS:-} -- env RNETNS_KO="$ko" "${extra[@]}" tests/run.sh "${run_tests[@]}" || rc=$?
	summary+=("$name=$results/$name/results.ktap:$rc")
done

if [ ${#trace_tests[@]} -gt 0 ]; then
	for kt in "${trace_kernels[@]}"; do
		# KERNEL or KERNEL:ARCH (x86_64 unless given).
		k=${kt%%:*} a=x86_64
		[ "$kt" = "$k" ] || a=${kt#*:}
		ko=$(RNETNS_KERNEL=$k RNETNS_ARCH=$a "$RNETNS_TOP/scripts/build-module.sh" normal)
		name=$(RNETNS_KERNEL=$k RNETNS_ARCH=$a rnetns_kname trace)
		log "running the tracing tests on the $k normal kernel ($a), one vCPU"
		mkdir -p "$results/$name"
		rc=0 opts=()
		[ "$a" = x86_64 ] || opts=(--timeout 3000)
		"$RNETNS_TOP/qemu/run" --kernel "$k" --arch "$a" --smp 1 "${opts[@]}" --scratch "$results/$name" -- \
			env RNETNS_KO="$ko" tests/run.sh "${trace_tests[@]}" || rc=$?
		summary+=("$name=$results/$name/results.ktap:$rc")
	done
fi

if [ -n "$configs_pid" ]; then
	wait "$configs_pid" || true # counted below
	cat "$results/configs.ktap"
fi
if [ -n "$arm64_pid" ]; then
	wait "$arm64_pid" || true # counted below
	cat "$results/arm64.log" >&2
	cat "$results/arm64.ktap"
fi
if [ -n "$beside_pid" ]; then
	wait "$beside_pid" || true # counted below
	cat "$results/beside.log" >&2
	if [ -f "$results/$bname/rc" ]; then
		summary+=("$bname=$results/$bname/results.ktap:$(cat "$results/$bname/rc")")
	else
		{
			echo "KTAP version 1"
			echo "1..1"
			echo "not ok 1 the $bk $bv kernel built and booted (see the log above)"
		} >"$results/$bname/setup.ktap"
		summary+=("$bname=$results/$bname/setup.ktap")
	fi
fi
if [ -n "$debian_pid" ]; then
	wait "$debian_pid" || true # counted below
	cat "$results/debian.log"
	if [ -f "$results/debian/docs" ]; then
		while IFS= read -r d; do summary+=("$d"); done <"$results/debian/docs"
	else
		summary+=("debian=$results/debian/none.ktap")
	fi
fi

# The benchmark's smoke run: only that it runs end to end (never timing),
# on a kernel the run has anyway (the eBPF peer needs the bench kernel's BPF).
if [ -n "$smoke" ]; then
	log "benchmark smoke run on the ${smoke%%:*} ${smoke#*:} kernel (log: $RNETNS_LOGS/bench-smoke.log)"
	{
		echo "KTAP version 1"
		echo "1..1"
		if RNETNS_KERNEL=${smoke%%:*} "$RNETNS_TOP/scripts/bench.sh" --smoke --variant "${smoke#*:}" \
			>"$RNETNS_LOGS/bench-smoke.log" 2>&1; then
			echo "ok 1 benchmark smoke run completes on the $smoke kernel (scripts/bench.sh --smoke)"
		else
			tail -n 20 "$RNETNS_LOGS/bench-smoke.log" | sed 's/^/# /'
			echo "not ok 1 benchmark smoke run on the $smoke kernel (scripts/bench.sh --smoke)"
		fi
	} | tee "$results/bench.ktap"
	summary+=("bench=$results/bench.ktap")
fi

python3 "$RNETNS_TOP/scripts/ktap-summary.py" "${summary[@]}"
