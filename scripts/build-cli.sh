#!/bin/bash
# Builds the rnetns command (cli/, a cargo crate: clap, neli, crossterm,
# serde_json from crates.io, versions pinned by cli/Cargo.lock) with the
# project's pinned rustc, in release mode, into the cache; prints the
# binary's path. Up to date: a cargo no-op.
#   scripts/build-cli.sh [--print-dir] [--arch A]
#   --arch arm64  cross-build for the arm64 guests: rustup's standard
#                 library for aarch64-unknown-linux-gnu (added once), linked
#                 by clang and lld against the arm64 guest root
#                 (scripts/arm64-root.sh) as the sysroot
source "$(dirname "$0")/lib.sh"
RNETNS_CLI_TARGET=$RNETNS_CACHE/cli-target
arch=x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--print-dir) echo "$RNETNS_CLI_TARGET"; exit 0 ;;
	--arch) rnetns_check_arch "$2"; arch=$2; shift ;;
	*) die "build-cli.sh: unknown option '$1'" ;;
	esac
	shift
done
if [ "$arch" = x86_64 ]; then
	rnetns_stage "cargo build of the rnetns command (cli/)" "$RNETNS_LOGS/cli-build.log" \
		env CARGO_TARGET_DIR="$RNETNS_CLI_TARGET" cargo build --release --locked \
		--manifest-path "$RNETNS_TOP/cli/Cargo.toml"
	echo "$RNETNS_CLI_TARGET/release/rnetns"
	exit 0
fi
triple=aarch64-unknown-linux-gnu
sysroot=$("$RNETNS_TOP/scripts/arm64-root.sh" --print)
[ -f "$sysroot/.rnetns-root" ] || die "no arm64 guest root at $sysroot: run RNETNS_ARCH=arm64 scripts/setup.sh 7.2:normal"
if ! rustup target list --installed --toolchain "$RNETNS_RUST_VERSION" | grep -qx "$triple"; then
	rnetns_stage "rustup target $triple" "$RNETNS_LOGS/rustup-$triple.log" \
		env RUSTUP_TOOLCHAIN= rustup target add --toolchain "$RNETNS_RUST_VERSION" "$triple"
fi
# CARGO_ENCODED_RUSTFLAGS: the sysroot's path may hold spaces.
rnetns_stage "cargo build of the rnetns command (cli/, $triple)" "$RNETNS_LOGS/cli-build-$arch.log" \
	env CARGO_TARGET_DIR="$RNETNS_CLI_TARGET" \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="clang$RNETNS_LLVM" \
	CARGO_ENCODED_RUSTFLAGS="$(printf '%s\037' -Clink-arg=--target=aarch64-linux-gnu \
		"-Clink-arg=--sysroot=$sysroot" -Clink-arg=-fuse-ld=lld | sed 's/\x1f$//')" \
	cargo build --release --locked --target "$triple" --manifest-path "$RNETNS_TOP/cli/Cargo.toml"
echo "$RNETNS_CLI_TARGET/$triple/release/rnetns"
