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
rnetns_cargo_arm64 "the rnetns command (cli/)" "$RNETNS_LOGS/cli-build-$arch.log" \
	"$RNETNS_CLI_TARGET" "$RNETNS_TOP/cli/Cargo.toml"
echo "$RNETNS_CLI_TARGET/$triple/release/rnetns"
