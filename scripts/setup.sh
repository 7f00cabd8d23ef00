#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian bookworm machine for rnetns:
#   1. Debian packages (kernel source, LLVM, QEMU, build and test tools),
#   2. the pinned rustc with rust-src (through rustup),
#   3. the pinned bindgen-cli from crates.io,
#   4. the test kernel(s), built once and cached (scripts/build-kernel.sh).
# Usage: scripts/setup.sh [--no-kernel] [--debug]
#   --debug      also build the debug kernel variant (KASAN, kmemleak, lockdep)
#   --no-kernel  stop after the tools
source "$(dirname "$0")/lib.sh"

build_kernel=1 variants=(normal)
for arg in "$@"; do
	case $arg in
	--no-kernel) build_kernel=0 ;;
	--debug) variants+=(debug) ;;
	*) die "setup.sh: unknown option '$arg'" ;;
	esac
done

PACKAGES=(
	"$RNETNS_KPKG" clang llvm lld libclang-dev
	make gcc libc6-dev flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	qemu-system-x86 busybox-static
	iproute2 iputils-ping nftables util-linux procps python3 rsync trace-cmd
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	log "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q >"$RNETNS_LOGS/apt-update.log" 2>&1 ||
		die "apt-get update failed, see $RNETNS_LOGS/apt-update.log"
	rnetns_stage "apt-get install" "$RNETNS_LOGS/apt-install.log" \
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi

command -v rustup >/dev/null ||
	die "rustup is needed to pin rustc $RNETNS_RUST_VERSION; install it, then rerun"
# Installing over an installed toolchain rewrites its timestamps and makes
# Kbuild rebuild rust/: only install what is missing.
if ! rustup run "$RNETNS_RUST_VERSION" rustc --version >/dev/null 2>&1; then
	rnetns_stage "rustup toolchain $RNETNS_RUST_VERSION" "$RNETNS_LOGS/rustup.log" \
		env RUSTUP_TOOLCHAIN= rustup toolchain install "$RNETNS_RUST_VERSION" \
		--profile minimal --component rust-src,rustfmt,clippy
fi
for c in rust-src rustfmt clippy; do
	if ! rustup component list --toolchain "$RNETNS_RUST_VERSION" --installed | grep -q "^$c"; then
		rnetns_stage "rustup component $c" "$RNETNS_LOGS/rustup-$c.log" \
			env RUSTUP_TOOLCHAIN= rustup component add --toolchain "$RNETNS_RUST_VERSION" "$c"
	fi
done

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $RNETNS_BINDGEN_VERSION" ]; then
	rnetns_stage "cargo install bindgen-cli $RNETNS_BINDGEN_VERSION" "$RNETNS_LOGS/bindgen.log" \
		cargo install --locked --root "$RNETNS_BINDGEN_DIR" bindgen-cli \
		--version "$RNETNS_BINDGEN_VERSION"
fi

src=$(rnetns_src_dir)
if [ ! -f "$src/.rnetns-extracted" ]; then
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	rnetns_stage "extract $RNETNS_KPKG" "$RNETNS_LOGS/extract.log" \
		tar -C "$src.tmp" -xf "/usr/src/$RNETNS_KPKG.tar.xz"
	mv "$src.tmp/$RNETNS_KPKG" "$src"
	rmdir "$src.tmp"
	touch "$src/.rnetns-extracted"
fi

if [ "$build_kernel" = 1 ]; then
	for v in "${variants[@]}"; do
		"$RNETNS_TOP/scripts/build-kernel.sh" "$v"
	done
fi
log "set-up complete"
