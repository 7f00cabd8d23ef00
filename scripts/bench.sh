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
#
# Exit status: 0 when the benchmark ran, whatever the numbers; non-zero only
# when the benchmark itself broke (build, VM, a step, missing data, kernel
# log report). Targets that are missed are reported in the table, not here.
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP" || exit 1

mode=full out= variant=bench only=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke ;;
	--only) [ "${2:-}" = netlink ] || die "bench.sh: --only netlink"; only=$2; shift ;;
	--out) out=$2; shift ;;
	--variant) [ $# -ge 2 ] || die "bench.sh: --variant needs a value"; variant=$2; shift ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "bench.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done
case $variant in
normal | debug | rt | up | bench) ;;
*) die "bench.sh: unknown kernel variant '$variant' (bench, normal, debug, rt or up)" ;;
esac

stamp=$(date +%Y%m%d-%H%M%S)
if [ -z "$out" ]; then
	if [ "$mode" = smoke ]; then
		out=$RNETNS_TOP/results/smoke
		rm -rf "$out"
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
if [ "$has_bpf" = 0 ]; then
	[ "$mode" = smoke ] || [ -n "$only" ] ||
		die "bench.sh: the $RNETNS_KERNEL $variant kernel has no BPF or BTF, which the eBPF peer needs: a full run needs --variant bench (or use --smoke)"
	log "the $RNETNS_KERNEL $variant kernel has no BPF or BTF: the guest will skip the eBPF peer (smoke run)"
fi

log "building rnetns.ko, the C twin, the hook timer, the eBPF peer and the guest tool"
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
hookbench=$("$RNETNS_TOP/scripts/build-module.sh" "$variant" hookbench) || die "building the hook timer failed"
tool_dir=$RNETNS_CACHE/bench-tools
build tool env CARGO_TARGET_DIR="$tool_dir/target" \
	cargo build --release --locked --manifest-path bench/tool/Cargo.toml
tool=$tool_dir/target/release/rnetns-bench
build plugin env CARGO_TARGET_DIR="$tool_dir/insncount" \
	cargo build --release --locked --manifest-path bench/insncount/Cargo.toml
plugin=$tool_dir/insncount/release/librnetns_insncount.so
# Built whatever the kernel: it needs no kernel to build (libbpf, clang
# -target bpf), takes seconds, and keeps the peer compiling when the guest
# skips it.
build ebpf make -C bench/ebpf O="$tool_dir/ebpf" CLANG="clang$RNETNS_LLVM"
ebpf_loader=$tool_dir/ebpf/rnetns-ebpf ebpf_obj=$tool_dir/ebpf/rnetns_count.bpf.o

plots=1
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
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
tsc_khz=$("$tool" tsc-khz | sed -n 's/.*"tsc_khz":\([0-9]*\).*/\1/p')
[ -n "$tsc_khz" ] || die "cannot measure the host TSC frequency"

# Host conditions, for the record: the machine may be shared.
host_json=$out/host.json
"$PY" bench/hostinfo.py before "$host_json" "$tsc_khz"

scratch=$(mktemp -d /tmp/rnetns-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
guest_args=()
[ "$mode" = smoke ] && guest_args+=(--smoke)
[ -n "$only" ] && guest_args+=(--only "$only")
vm_timeout=2400
[ "$mode" = smoke ] && vm_timeout=600
log "running the $mode benchmark in the VM ($RNETNS_KERNEL $variant kernel, 2 CPUs, 4 GiB, TSC clock); guest output follows"
vm_rc=0
"$RNETNS_TOP/qemu/run" --kernel "$RNETNS_KERNEL" --variant "$variant" --smp 2 --mem 4G --timeout "$vm_timeout" \
	--append "tsc=reliable tsc_early_khz=$tsc_khz" \
	--scratch "$scratch" -- scripts/bench-guest.sh "${guest_args[@]}" \
	"$tool" "$ko" "$ctwin" "$hookbench" "$ebpf_loader" "$ebpf_obj" 2>&1 | tee "$out/vm.log" || vm_rc=$?
accel=$(sed -n 's/.* with \(KVM\|TCG\), .*/\1/p' "$out/vm.log" | head -n1)
[ -f "$scratch/raw.jsonl" ] && cp "$scratch/raw.jsonl" "$out/raw.jsonl"
[ -f "$scratch/dmesg" ] && cp "$scratch/dmesg" "$out/dmesg.txt"
cp "$scratch"/alloctrace-*.txt "$out/" 2>/dev/null || true

# The instruction-count boot(s). Their output stays apart from the timed
# boot's: insn/bootN/ (the plugin's insn.txt, the guest's raw.jsonl and the
# kernel symbols of each variant).
boots=2
[ "$mode" = smoke ] && boots=1
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

an_args=(--raw "$out/raw.jsonl" --host "$host_json" --out "$out" --accel "${accel:-unknown}"
	--vm-exit "$vm_rc" --wall "$(( $(date +%s) - start ))" "${insn_dirs[@]}")
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
