#!/bin/bash
# Builds the rnetns command (cli/, a cargo crate: clap, neli, crossterm,
# serde_json from crates.io, versions pinned by cli/Cargo.lock) with the
# project's pinned rustc, in release mode, into the cache; prints the
# binary's path. Up to date: a cargo no-op.
#   scripts/build-cli.sh [--print-dir]
source "$(dirname "$0")/lib.sh"
RNETNS_CLI_TARGET=$RNETNS_CACHE/cli-target
case ${1:-} in
--print-dir) echo "$RNETNS_CLI_TARGET"; exit 0 ;;
"") ;;
*) die "build-cli.sh: unknown option '$1'" ;;
esac
rnetns_stage "cargo build of the rnetns command (cli/)" "$RNETNS_LOGS/cli-build.log" \
	env CARGO_TARGET_DIR="$RNETNS_CLI_TARGET" cargo build --release --locked \
	--manifest-path "$RNETNS_TOP/cli/Cargo.toml"
echo "$RNETNS_CLI_TARGET/release/rnetns"
