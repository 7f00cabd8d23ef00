#!/usr/bin/env bash
# The rnetns benchmarks: rnetns against no module, its C twin (bench/ctwin),
# an nftables counter rule and an eBPF peer (bench/ebpf), variants
# interleaved round-robin in each boot of the benchmark kernel (by default,
# see --variant: the test kernel plus BPF and BTF, the "bench" variant,
# scripts/config/bench.config). Builds what it needs (rnetns.ko, the C twin,
# the hook timer bench/hookbench, the eBPF peer, the guest tool bench/tool,
# the QEMU plugin bench/insncount), then boots:
#   1. the timed boot: 2 vCPUs, every measurement (scripts/bench-guest.sh);
#   2. the instruction-count boot(s): 1 vCPU, QEMU's clock driven by the
#      guest's instructions (-icount), the plugin loaded: exact instructions
#      per packet and per /proc read (bench-guest.sh --insn); two boots in a
#      full run, for the run-to-run spread;
# then prints the table and writes bench.json, table.md and PNG plots
# (bench/analyze.py, bench/insn.py).
#
# Usage: scripts/bench.sh [--smoke] [--only netlink] [--variant V] [--out DIR]
#                         [--arch arm64 [--insn-rounds N] [--boots N]]
#   --smoke      a tiny run (small counts, every step, every variant the
#                kernel can run) that only checks that the benchmark works
#                end to end (its figures are not judged); results/smoke/
#   --variant V  the kernel variant of $RNETNS_KERNEL to build the modules
#                against and boot: bench (default; the only one with BPF
#                and BTF, which the eBPF peer needs), or normal, debug, up.
#                On a kernel without BPF the guest skips the eBPF peer, and
#                says so: fine for --smoke (for example
#                RNETNS_KERNEL=7.2 scripts/bench.sh --smoke --variant debug,
#                on the kernel the default test run boots; the test
#                command's own smoke run, in --all, uses bench), refused
#                for a full run, whose figures need the peer
#   --only netlink  only the "every namespace at once" stage (one netlink
#                dump against setns + read and ip netns exec per namespace,
#                with 100, 1,000 and 10,000 namespaces; its instructions and
#                what the family adds to a namespace's creation), in both
#                boots: about 25 minutes; needs no BPF
#   --out DIR    where to write (default results/bench-YYYYmmdd-HHMMSS/, and
#                results/latest points to it)
#   --arch A     the guest's architecture (default $RNETNS_ARCH, x86_64).
#                arm64: the instruction-count boot(s) only, of the 7.2 arm64
#                normal kernel (the only arm64 variant with a kernel to
#                boot; --variant normal is the default there and the only
#                one taken) under qemu-system-aarch64: rnetns.ko and the C
#                twin cross-built against its tree, the guest tool for
#                aarch64-unknown-linux-gnu (the plugin is the same: it reads
#                QEMU's target and knows aarch64's marker). Skipped there,
#                and said in the output: the timed boot (its hook timer
#                bench/hookbench and TSC clock are x86's) and the eBPF peer
#                (that kernel has no BPF), and so the plots. Results under
#                results/bench-arm64-YYYYmmdd-HHMMSS/ (results/latest stays
#                the x86_64 run's; --smoke: results/smoke-arm64/); the
#                table has the instruction rows and their targets only.
#                About 5 minutes on 2 cores (each boot under 2).
#   --insn-rounds N  rounds per instruction-count boot (default 5; 2 with
#                --smoke): fewer for a shorter run, said in the table
#   --boots N    instruction-count boots (default 2; 1 with --smoke)
#
# Exit status: 0 when the benchmark ran, whatever the numbers; non-zero only
# when the benchmark itself broke (build, VM, a step, missing data, kernel
# log report). Targets that are missed are reported in the table, not here.
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP" || exit 1

mode=full out= variant= only= insn_rounds= boots=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke ;;
	--arch) [ $# -ge 2 ] || die "bench.sh: --arch needs a value"; rnetns_check_arch "$2"; RNETNS_ARCH=$2; shift ;;
	--insn-rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "bench.sh: --insn-rounds N (N >= 1)"; insn_rounds=$2; shift ;;
	--boots) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "bench.sh: --boots N (N >= 1)"; boots=$2; shift ;;
	--only) [ "${2:-}" = netlink ] || die "bench.sh: --only netlink"; only=$2; shift ;;
	--out) out=$2; shift ;;
	--variant) [ $# -ge 2 ] || die "bench.sh: --variant needs a value"; variant=$2; shift ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "bench.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done
# The modules, the build scripts and qemu/run read the architecture too.
export RNETNS_ARCH
arm64=0
[ "$RNETNS_ARCH" = x86_64 ] || arm64=1
if [ "$arm64" = 1 ]; then
	: "${variant:=normal}"
	[ "$variant" = normal ] || die "bench.sh: on $RNETNS_ARCH only the normal kernel variant is benchmarked (--variant normal)"
	[ -z "$only" ] || die "bench.sh: --only netlink is x86_64's (on $RNETNS_ARCH the instruction-count boots run their netlink part)"
fi
: "${variant:=bench}"
case $variant in
normal | debug | rt | up | bench) ;;
*) die "bench.sh: unknown kernel variant '$variant' (bench, normal, debug, rt or up)" ;;
esac

stamp=$(date +%Y%m%d-%H%M%S)
if [ -z "$out" ]; then
	if [ "$mode" = smoke ]; then
		out=$RNETNS_TOP/results/smoke
		[ "$arm64" = 0 ] || out=$RNETNS_TOP/results/smoke-$RNETNS_ARCH
		rm -rf "$out"
	elif [ "$arm64" = 1 ]; then
		out=$RNETNS_TOP/results/bench-$RNETNS_ARCH-$stamp
	else
		out=$RNETNS_TOP/results/bench-$stamp
	fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
PY=/usr/bin/python3   # Debian's, where python3-matplotlib installs
start=$(date +%s)

"$RNETNS_TOP/scripts/setup.sh" "$RNETNS_KERNEL:$variant"
# The eBPF peer needs the bpf() system call, netfilter bpf_links and vmlinux
# BTF (the guest checks again, and skips the peer without them): a full run
# without it would spend its boots on figures that are incomplete.
kconfig=$(rnetns_kdir "$variant")/.config
has_bpf=1
for c in BPF_SYSCALL NETFILTER_BPF_LINK DEBUG_INFO_BTF; do
	grep -qx "CONFIG_$c=y" "$kconfig" || has_bpf=0
done
if [ "$arm64" = 1 ]; then
	log "arm64: the instruction-count boot(s) only (no timed boot, no hook timer, no eBPF peer: the $RNETNS_KERNEL arm64 $variant kernel has no BPF)"
elif [ "$has_bpf" = 0 ]; then
	[ "$mode" = smoke ] || [ -n "$only" ] ||
		die "bench.sh: the $RNETNS_KERNEL $variant kernel has no BPF or BTF, which the eBPF peer needs: a full run needs --variant bench (or use --smoke)"
	log "the $RNETNS_KERNEL $variant kernel has no BPF or BTF: the guest will skip the eBPF peer (smoke run)"
fi

if [ "$arm64" = 1 ]; then
	log "building rnetns.ko and the C twin ($RNETNS_ARCH), the guest tool (aarch64) and the plugin"
else
	log "building rnetns.ko, the C twin, the hook timer, the eBPF peer and the guest tool"
fi
build() {
	local what=$1 logf=$RNETNS_LOGS/bench-build-$1.log
	shift
	"$@" >"$logf" 2>&1 || {
		tail -n 40 "$logf" >&2
		die "building $what failed; full log: $logf"
	}
}
ko=$("$RNETNS_TOP/scripts/build-module.sh" "$variant" rnetns) || die "building rnetns failed"
ctwin=$("$RNETNS_TOP/scripts/build-module.sh" "$variant" ctwin) || die "building the C twin failed"
tool_dir=$RNETNS_CACHE/bench-tools
# Cargo's builds (the guest tool, the plugin): one directory per source tree.
# Cargo takes a build as up to date by time stamps, not contents, so a
# clone or worktree whose sources are older than another tree's build in a
# shared directory would run that build (another branch's plugin, which
# may not know aarch64's marker), whatever its own sources say.
cargo_dir=$tool_dir/tree-$(printf '%s' "$RNETNS_TOP" | sha256sum | cut -c1-12)
build plugin env CARGO_TARGET_DIR="$cargo_dir/insncount" \
	cargo build --release --locked --manifest-path bench/insncount/Cargo.toml
plugin=$cargo_dir/insncount/release/librnetns_insncount.so
if [ "$arm64" = 1 ]; then
	# The guest tool for the arm64 root (as scripts/build-cli.sh builds the
	# rnetns command); no hook timer or eBPF peer: their arguments to the
	# guest are placeholders it never uses (it skips the peer, --no-ebpf).
	rnetns_cargo_arm64 "the guest tool (bench/tool)" "$RNETNS_LOGS/bench-build-tool-$RNETNS_ARCH.log" \
		"$cargo_dir/target" "$RNETNS_TOP/bench/tool/Cargo.toml"
	tool=$cargo_dir/target/aarch64-unknown-linux-gnu/release/rnetns-bench
	hookbench=none ebpf_loader=none ebpf_obj=none
else
	hookbench=$("$RNETNS_TOP/scripts/build-module.sh" "$variant" hookbench) || die "building the hook timer failed"
	build tool env CARGO_TARGET_DIR="$cargo_dir/target" \
		cargo build --release --locked --manifest-path bench/tool/Cargo.toml
	tool=$cargo_dir/target/release/rnetns-bench
	# Built whatever the kernel: it needs no kernel to build (libbpf, clang
	# -target bpf), takes seconds, and keeps the peer compiling when the guest
	# skips it.
	build ebpf make -C bench/ebpf O="$tool_dir/ebpf" CLANG="clang$RNETNS_LLVM"
	ebpf_loader=$tool_dir/ebpf/rnetns-ebpf ebpf_obj=$tool_dir/ebpf/rnetns_count.bpf.o
fi

plots=1
if [ "$arm64" = 1 ]; then
	plots=0   # the plots are the timed boot's and the x86 table's
elif ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	log "installing python3-matplotlib for the plots"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	if ! { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends python3-matplotlib; } \
		>"$RNETNS_LOGS/bench-apt.log" 2>&1; then
		log "warning: python3-matplotlib could not be installed (see $RNETNS_LOGS/bench-apt.log): no plots"
		plots=0
	fi
fi

# A TCG guest's TSC runs at the host's rate; a busy host can make the guest's
# own calibration fail and leave it on a 4 ms jiffies clock, so tell it.
# (The arm64 guests have no TSC, and run no timed boot: 0 stands for none.)
tsc_khz=0
if [ "$arm64" = 0 ]; then
	tsc_khz=$("$tool" tsc-khz | sed -n 's/.*"tsc_khz":\([0-9]*\).*/\1/p')
	[ -n "$tsc_khz" ] || die "cannot measure the host TSC frequency"
fi

# Host conditions, for the record: the machine may be shared.
host_json=$out/host.json
"$PY" bench/hostinfo.py before "$host_json" "$tsc_khz" "$RNETNS_ARCH"

scratch=$(mktemp -d /tmp/rnetns-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
guest_args=()
[ "$mode" = smoke ] && guest_args+=(--smoke)
[ -n "$only" ] && guest_args+=(--only "$only")
[ "$arm64" = 0 ] || guest_args+=(--no-ebpf)
[ -z "$insn_rounds" ] || guest_args+=(--insn-rounds "$insn_rounds")
vm_timeout=2400
[ "$mode" = smoke ] && vm_timeout=600
vm_rc=0
accel=
if [ "$arm64" = 1 ]; then
	log "arm64: no timed boot (instruction counts only)"
	# The instruction-count boot emulates another architecture: slower.
	vm_timeout=$((vm_timeout * 2))
else
	log "running the $mode benchmark in the VM ($RNETNS_KERNEL $variant kernel, 2 CPUs, 4 GiB, TSC clock); guest output follows"
	"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --variant "$variant" --smp 2 --mem 4G --timeout "$vm_timeout" \
		--append "tsc=reliable tsc_early_khz=$tsc_khz" \
		--scratch "$scratch" -- scripts/bench-guest.sh "${guest_args[@]}" \
		"$tool" "$ko" "$ctwin" "$hookbench" "$ebpf_loader" "$ebpf_obj" 2>&1 | tee "$out/vm.log" || vm_rc=$?
	accel=$(sed -n 's/.* with \(KVM\|TCG\), .*/\1/p' "$out/vm.log" | head -n1)
	[ -f "$scratch/raw.jsonl" ] && cp "$scratch/raw.jsonl" "$out/raw.jsonl"
	[ -f "$scratch/dmesg" ] && cp "$scratch/dmesg" "$out/dmesg.txt"
	cp "$scratch"/alloctrace-*.txt "$out/" 2>/dev/null || true
fi

# The instruction-count boot(s). Their output stays apart from the timed
# boot's: insn/bootN/ (the plugin's insn.txt, the guest's raw.jsonl and the
# kernel symbols of each variant).
if [ -z "$boots" ]; then
	boots=2
	[ "$mode" = smoke ] && boots=1
fi
insn_dirs=()
for ((b = 0; b < boots; b++)); do
	dir=$out/insn/boot$b
	iscratch=$(mktemp -d /tmp/rnetns-insn.XXXXXX)
	log "instruction-count boot $((b + 1))/$boots (1 vCPU, -icount, plugin bench/insncount); guest output follows"
	rc=0
	"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --variant "$variant" --smp 1 --mem 2G --icount \
		--timeout "$vm_timeout" --plugin "$plugin,out=$iscratch/insn.txt" \
		--scratch "$iscratch" -- scripts/bench-guest.sh --insn "${guest_args[@]}" \
		"$tool" "$ko" "$ctwin" "$hookbench" "$ebpf_loader" "$ebpf_obj" 2>&1 | tee "$out/vm-insn$b.log" || rc=$?
	[ "$vm_rc" != 0 ] || vm_rc=$rc
	mkdir -p "$dir"
	cp "$iscratch"/insn.txt "$iscratch"/raw.jsonl "$iscratch"/kallsyms-*.txt "$dir/" 2>/dev/null || true
	rm -rf "$iscratch"
	insn_dirs+=(--insn "$dir")
done
"$PY" bench/hostinfo.py after "$host_json"

raw=$out/raw.jsonl
if [ "$arm64" = 1 ]; then
	# No timed boot: the conditions come from the first instruction-count
	# boot's records.
	raw=$out/insn/boot0/raw.jsonl
	accel=$(sed -n 's/.* with \(KVM\|TCG\), .*/\1/p' "$out/vm-insn0.log" | head -n1)
fi
an_args=(--raw "$raw" --host "$host_json" --out "$out" --accel "${accel:-unknown}"
	--vm-exit "$vm_rc" --wall "$(( $(date +%s) - start ))" "${insn_dirs[@]}")
[ "$arm64" = 0 ] || an_args+=(--insn-only)
[ "$mode" = smoke ] && an_args+=(--smoke)
[ -n "$only" ] && an_args+=(--only "$only")
[ "$plots" = 1 ] || an_args+=(--no-plots)
an_rc=0
"$PY" "$RNETNS_TOP/bench/analyze.py" "${an_args[@]}" || an_rc=$?

if [ "$mode" = full ] && [ "$out" = "$RNETNS_TOP/results/bench-$stamp" ]; then
	ln -sfn "bench-$stamp" "$RNETNS_TOP/results/latest"
fi
log "$mode benchmark: $(( $(date +%s) - start ))s; results in $out"
[ "$vm_rc" = 0 ] || die "the benchmark VM failed (exit $vm_rc); see $out/vm.log"
[ "$an_rc" = 0 ] || die "the benchmark results are incomplete (see above)"
