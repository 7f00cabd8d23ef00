# shellcheck shell=bash
# Shared settings for the rnetns scripts. Source it; do not run it.
#
# Everything built or downloaded lives under $RNETNS_CACHE (default
# ~/.cache/rnetns), never in the repository:
#   tools/bindgen-<ver>/bin/bindgen    bindgen-cli from crates.io
#   src/linux-<debian version>/        pristine Debian linux-source tree
#   kernel/<variant>-<key>/            O= build directory of a test kernel
#   logs/                              full logs of long stages
# The kernel key hashes the source version, the config fragments and the
# compiler versions, so a change to any of them builds a new kernel and an
# unchanged set-up reuses the old one.

set -euo pipefail

RNETNS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RNETNS_CACHE=${RNETNS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rnetns}
RNETNS_RUST_VERSION=1.95.0
RNETNS_BINDGEN_VERSION=0.71.1
RNETNS_KPKG=linux-source-6.12
RNETNS_LOGS=$RNETNS_CACHE/logs
RNETNS_BINDGEN_DIR=$RNETNS_CACHE/tools/bindgen-$RNETNS_BINDGEN_VERSION
export RUSTUP_TOOLCHAIN=$RNETNS_RUST_VERSION
export PATH=$RNETNS_BINDGEN_DIR/bin:$HOME/.cargo/bin:$PATH
mkdir -p "$RNETNS_LOGS"

log() { printf '[rnetns %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[rnetns] error: %s\n' "$*" >&2; exit 1; }

# The Debian version of the installed kernel source package, made path-safe.
rnetns_kpkg_version() {
	dpkg-query -W -f '${Version}' "$RNETNS_KPKG" 2>/dev/null | tr '~:' '__'
}

rnetns_src_dir() { echo "$RNETNS_CACHE/src/linux-$(rnetns_kpkg_version)"; }

# Config fragments of a variant, in the order they are applied.
rnetns_fragments() {
	local variant=${1:-normal}
	echo "$RNETNS_TOP/scripts/config/rnetns.config"
	if [ "$variant" = debug ]; then
		echo "$RNETNS_TOP/scripts/config/debug.config"
	fi
}

# Build directory of a kernel variant ("normal" or "debug"): keyed by kernel
# version, fragment contents and toolchain versions.
rnetns_kdir() {
	local variant=${1:-normal} key
	key=$({
		rnetns_kpkg_version
		# shellcheck disable=SC2046
		cat $(rnetns_fragments "$variant")
		rustc --version
		echo "bindgen $RNETNS_BINDGEN_VERSION"
		clang --version | head -n1
	} | sha256sum | cut -c1-16)
	echo "$RNETNS_CACHE/kernel/$variant-$key"
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
