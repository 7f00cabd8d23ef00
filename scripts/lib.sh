# shellcheck shell=bash
# Shared settings for the rnetns scripts. Source it; do not run it.
#
# Everything built or downloaded lives under $RNETNS_CACHE (default
# ~/.cache/rnetns), never in the repository:
#   tools/bindgen-<ver>/bin/bindgen    bindgen-cli from crates.io
#   debs/, apt-unstable/               Debian unstable packages (linux-source-7.2)
#   src/linux-<kernel>-<debian ver>/   pristine Debian linux-source tree
#   kernel/<kernel>-<variant>-<key>/   O= build directory of a test kernel
#   build/<kernel>-<variant>/          module builds (a copy of the sources)
#   logs/                              full logs of long stages
# The kernel key hashes the source version, the config fragments and the
# compiler versions (pahole's included), so a change to any of them builds a
# new kernel and an unchanged set-up reuses the old one.

set -euo pipefail

RNETNS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RNETNS_CACHE=${RNETNS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rnetns}
RNETNS_RUST_VERSION=1.95.0
RNETNS_BINDGEN_VERSION=0.71.1
# One LLVM for every kernel: 7.2 wants clang/LLVM >= 17 (and bindgen's
# libclang >= 17), 6.12 takes it too. Bookworm packages clang-19.
RNETNS_LLVM_VERSION=19
RNETNS_LLVM=-$RNETNS_LLVM_VERSION
export LIBCLANG_PATH=/usr/lib/llvm-$RNETNS_LLVM_VERSION/lib
# The kernels rnetns supports, newest first; RNETNS_KERNEL picks one
# (default: the newest). Each is Debian's pristine linux-source package:
# 6.12 LTS from bookworm, 7.2 from unstable (fetched into the cache with a
# private apt configuration; the host's apt sources are never changed).
RNETNS_KERNELS=(7.2 6.12)
RNETNS_KERNEL=${RNETNS_KERNEL:-${RNETNS_KERNELS[0]}}
RNETNS_LOGS=$RNETNS_CACHE/logs
RNETNS_BINDGEN_DIR=$RNETNS_CACHE/tools/bindgen-$RNETNS_BINDGEN_VERSION
export RUSTUP_TOOLCHAIN=$RNETNS_RUST_VERSION
export PATH=$RNETNS_BINDGEN_DIR/bin:$HOME/.cargo/bin:$PATH
mkdir -p "$RNETNS_LOGS"

log() { printf '[rnetns %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[rnetns] error: %s\n' "$*" >&2; exit 1; }

# Fails with the list of supported kernels unless $1 is one of them.
rnetns_check_kernel() {
	local k
	for k in "${RNETNS_KERNELS[@]}"; do [ "$1" = "$k" ] && return 0; done
	die "unknown kernel '$1' (RNETNS_KERNEL): supported kernels are ${RNETNS_KERNELS[*]}"
}
rnetns_check_kernel "$RNETNS_KERNEL"

# The architecture of the test kernels and modules: x86_64 (the default,
# booted by qemu-system-x86_64) or arm64 (cross-built with the same LLVM and
# rustc, booted by qemu-system-aarch64 -M virt); RNETNS_ARCH or --arch picks
# one. rnetns_karch prints the kernel's ARCH= name of $RNETNS_ARCH.
RNETNS_ARCHES=(x86_64 arm64)
RNETNS_ARCH=${RNETNS_ARCH:-x86_64}
rnetns_check_arch() {
	local a
	for a in "${RNETNS_ARCHES[@]}"; do [ "$1" = "$a" ] && return 0; done
	die "unknown architecture '$1' (RNETNS_ARCH, --arch): supported are ${RNETNS_ARCHES[*]}"
}
rnetns_check_arch "$RNETNS_ARCH"
rnetns_karch() { case $RNETNS_ARCH in x86_64) echo x86 ;; *) echo "$RNETNS_ARCH" ;; esac; }
# The name of a kernel and variant in cache and build directories:
# KERNEL-VARIANT on x86_64, KERNEL-ARCH-VARIANT elsewhere.
rnetns_kname() {
	local variant=$1 k=${2:-$RNETNS_KERNEL}
	if [ "$RNETNS_ARCH" = x86_64 ]; then echo "$k-$variant"; else echo "$k-$RNETNS_ARCH-$variant"; fi
}

# rnetns_cargo_arm64 WHAT LOG TARGET_DIR MANIFEST: cargo build --release of
# MANIFEST's crate for the arm64 guests (aarch64-unknown-linux-gnu, into
# TARGET_DIR/aarch64-unknown-linux-gnu/release/): rustup's standard library
# for that target (added once), linked by clang and lld against the arm64
# guest root (scripts/arm64-root.sh) as the sysroot. Used by
# scripts/build-cli.sh (the rnetns command) and scripts/bench.sh (the
# guest tool bench/tool).
rnetns_cargo_arm64() {
	local what=$1 logf=$2 target_dir=$3 manifest=$4 triple=aarch64-unknown-linux-gnu sysroot
	sysroot=$("$RNETNS_TOP/scripts/arm64-root.sh" --print)
	[ -f "$sysroot/.rnetns-root" ] || die "no arm64 guest root at $sysroot: run RNETNS_ARCH=arm64 scripts/setup.sh 7.2:normal"
	if ! rustup target list --installed --toolchain "$RNETNS_RUST_VERSION" | grep -qx "$triple"; then
		rnetns_stage "rustup target $triple" "$RNETNS_LOGS/rustup-$triple.log" \
			env RUSTUP_TOOLCHAIN= rustup target add --toolchain "$RNETNS_RUST_VERSION" "$triple"
	fi
	# CARGO_ENCODED_RUSTFLAGS: the sysroot's path may hold spaces.
	rnetns_stage "cargo build of $what, $triple" "$logf" \
		env CARGO_TARGET_DIR="$target_dir" \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="clang$RNETNS_LLVM" \
		CARGO_ENCODED_RUSTFLAGS="$(printf '%s\037' -Clink-arg=--target=aarch64-linux-gnu \
			"-Clink-arg=--sysroot=$sysroot" -Clink-arg=-fuse-ld=lld | sed 's/\x1f$//')" \
		cargo build --release --locked --target "$triple" --manifest-path "$manifest"
}

# Where a kernel's source comes from: "host" (an installed bookworm package,
# tarball in /usr/src) or "unstable" (downloaded into the cache).
rnetns_ksuite() { case $1 in 6.12) echo host ;; *) echo unstable ;; esac; }

# The private apt configuration for Debian unstable (lists and downloads
# under the cache; the host's own sources and packages are untouched).
RNETNS_SID_APT=$RNETNS_CACHE/apt-unstable
rnetns_sid_apt() {
	apt-get -q -o Dir::Etc::SourceList="$RNETNS_SID_APT/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$RNETNS_SID_APT/lists" \
		-o Dir::Cache="$RNETNS_SID_APT/cache" -o Acquire::Check-Valid-Until=false \
		-o APT::Sandbox::User=root "$@"
}

# The Debian version of kernel $1's source package, made path-safe.
rnetns_kpkg_version() {
	local k=${1:-$RNETNS_KERNEL}
	if [ "$(rnetns_ksuite "$k")" = host ]; then
		dpkg-query -W -f '${Version}' "linux-source-$k" 2>/dev/null | tr '~:' '__'
	else
		cat "$RNETNS_CACHE/debs/linux-source-$k.version" 2>/dev/null | tr '~:' '__'
	fi
}

rnetns_src_dir() {
	local k=${1:-$RNETNS_KERNEL}
	echo "$RNETNS_CACHE/src/linux-$k-$(rnetns_kpkg_version "$k")"
}

# The kernels with an rt variant: those where PREEMPT_RT is an option of its
# own beside the preemption model (7.2: rt.config keeps debug.config's full
# preemption, CONFIG_PREEMPT=y, as Debian's rt flavour does). In 6.12
# PREEMPT_RT is still a member of the model choice, which CONFIG_PREEMPT=y
# would take over.
RNETNS_RT_KERNELS=(7.2)
rnetns_has_rt() {
	local k
	for k in "${RNETNS_RT_KERNELS[@]}"; do [ "$1" = "$k" ] && return 0; done
	return 1
}

# Config fragments of a variant, in the order they are applied (a later line
# for the same option wins):
#   normal  tinyconfig + rnetns.config (+ kernel-<version>.config if any)
#   debug   normal + debug.config (KASAN, kmemleak, lockdep, fault injection)
#   rt      debug + rt.config (PREEMPT_RT: the debug variant's checkers on a
#           real-time kernel, where softirqs and hooks are preemptible;
#           the kernels of RNETNS_RT_KERNELS only)
#   up      normal + up.config (CONFIG_SMP=n)
#   bench   normal + bench.config (BPF, BTF: the benchmark's eBPF peer)
#   prep    the normal config, prepared for module builds only
#           (`make modules_prepare`: headers, scripts, rust/; no vmlinux,
#           nothing to boot): what the default test run compiles, lints and
#           documents the module against for a kernel it does not boot
# and, for another architecture than x86_64, arch-<arch>.config last (the
# up variant is x86_64's only: arm64 kernels are always SMP).
rnetns_fragments() {
	local variant=${1:-normal} k=${2:-$RNETNS_KERNEL}
	echo "$RNETNS_TOP/scripts/config/rnetns.config"
	[ ! -f "$RNETNS_TOP/scripts/config/kernel-$k.config" ] ||
		echo "$RNETNS_TOP/scripts/config/kernel-$k.config"
	case $variant in
	normal | prep) ;;
	debug | up | bench) echo "$RNETNS_TOP/scripts/config/$variant.config" ;;
	rt)
		rnetns_has_rt "$k" || die "the rt variant is for Linux ${RNETNS_RT_KERNELS[*]} only (see RNETNS_RT_KERNELS)"
		printf '%s\n' "$RNETNS_TOP/scripts/config/debug.config" "$RNETNS_TOP/scripts/config/rt.config" ;;
	*) die "unknown kernel variant '$variant': normal, debug, rt, up, bench or prep" ;;
	esac
	[ "$variant" != up ] || [ "$RNETNS_ARCH" = x86_64 ] ||
		die "the up variant is x86_64's only ($RNETNS_ARCH kernels are always SMP)"
	# Another architecture's fragment comes last: its lines win.
	[ "$RNETNS_ARCH" = x86_64 ] || echo "$RNETNS_TOP/scripts/config/arch-$RNETNS_ARCH.config"
}

# Extra make arguments for module builds against variant $1: a prepared
# tree has no vmlinux and so no exported symbols to check the module's
# undefined ones against (modpost warns instead of failing; such a module
# is compiled and linted, never loaded).
rnetns_kmake_args() {
	[ "${1:-normal}" != prep ] || echo KBUILD_MODPOST_WARN=1
}

# Build directory of a kernel variant of kernel $2 (default $RNETNS_KERNEL):
# keyed by kernel source version, fragment contents and toolchain versions.
# A prep tree is the normal tree's directory (the same config, so the same
# key) prepared only: scripts/build-kernel.sh builds it on into the normal
# kernel in place (Kbuild's Rust commands name their object tree's absolute
# path, so a prep tree moved elsewhere would be rebuilt from the start).
rnetns_kdir() {
	local variant=${1:-normal} k=${2:-$RNETNS_KERNEL} key frags
	frags=$(rnetns_fragments "$variant" "$k") || exit 1
	key=$({
		echo "$k"
		rnetns_kpkg_version "$k"
		while IFS= read -r f; do cat "$f"; done <<<"$frags"
		rustc --version
		echo "bindgen $RNETNS_BINDGEN_VERSION"
		"clang$RNETNS_LLVM" --version 2>/dev/null | head -n1
		# pahole's version is in the kernel's config (PAHOLE_VERSION, 0
		# without it), and Kbuild warns when a module build finds another
		pahole --version 2>/dev/null || echo "no pahole"
	} | sha256sum | cut -c1-16)
	[ "$variant" != prep ] || variant=normal
	echo "$RNETNS_CACHE/kernel/$(rnetns_kname "$variant" "$k")-$key"
}

# rnetns_kernel_ready VARIANT KDIR: whether KDIR holds what variant VARIANT
# needs: the whole kernel built (.rnetns-built), or for a prep tree at
# least `make modules_prepare` (.rnetns-prepared).
rnetns_kernel_ready() {
	[ -f "$2/.rnetns-built" ] || { [ "$1" = prep ] && [ -f "$2/.rnetns-prepared" ]; }
}

# rnetns_copy_sources DEST [RSYNC-OPTION...]: copy the repository's sources
# (no build products, results or .git) into DEST with `rsync -rlpD` and the
# options given.
rnetns_copy_sources() {
	local dest=$1
	shift
	rsync -rlpD "$@" --filter=':- .gitignore' --exclude .git --exclude results \
		"$RNETNS_TOP/" "$dest/"
}

# Run a long command with its output in a log file, printing a status line
# every $RNETNS_TICK seconds (stage, elapsed time, last line of the log).
# On failure the tail of the log is printed.
rnetns_stage() {
	local name=$1 logf=$2 start pid rc=0
	shift 2
	start=$(date +%s)
	log "$name: started (log: $logf)"
	"$@" >"$logf" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		for _ in $(seq "${RNETNS_TICK:-30}"); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill -0 "$pid" 2>/dev/null || break
		log "$name: $(( $(date +%s) - start ))s elapsed; $(tail -n1 "$logf" | cut -c1-100)"
	done
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$logf" >&2
		die "$name failed (exit $rc) after $(( $(date +%s) - start ))s; full log: $logf"
	fi
	log "$name: done in $(( $(date +%s) - start ))s"
}
