#!/bin/bash
# Checks of the source tree and build, run on the host by scripts/test.sh
# after the module is built (scripts/build-module.sh) against each tree in
# $RNETNS_CHECK_KERNELS: KERNEL:VARIANT words (a bare KERNEL means its
# normal kernel), the first one bootable (the clone-location check boots
# it); a "prep" tree is compiled and linted against, never booted. Speaks
# KTAP like the VM tests.
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
set +eu +o pipefail
cd "$RNETNS_TOP" || exit 1
LOGS=${RNETNS_LOGS:-/tmp}
read -ra KERNELS <<<"${RNETNS_CHECK_KERNELS:-$RNETNS_KERNEL}"
declare -A VARIANT
for i in "${!KERNELS[@]}"; do
	kv=${KERNELS[$i]}
	case $kv in *:*) ;; *) kv=$kv:normal ;; esac
	KERNELS[$i]=${kv%%:*}
	VARIANT[${kv%%:*}]=${kv#*:}
done
# RNETNS_HOST_CHECKS: all (the default), configs (only the Kconfig check of
# every variant, which needs no module build: scripts/test.sh runs it beside
# the guests, where a core is mostly idle), rest (all but that one) or arch
# (the per-tree checks only, against another architecture's trees:
# RNETNS_ARCH=arm64; scripts/test.sh runs them beside the guests too).
PART=${RNETNS_HOST_CHECKS:-all}
case $PART in all | configs | rest | arch) ;; *) die "host-checks.sh: RNETNS_HOST_CHECKS=$PART: all, configs, rest or arch" ;; esac
# Bring each kernel's build copy up to date with the sources.
[ "$PART" = configs ] || for k in "${KERNELS[@]}"; do
	log "built $(RNETNS_KERNEL=$k "$RNETNS_TOP/scripts/build-module.sh" "${VARIANT[$k]}")"
done

# The module's build copy for kernel $1 (made by scripts/build-module.sh).
bdir() { echo "$RNETNS_CACHE/build/$(RNETNS_KERNEL=$1 rnetns_kname "${VARIANT[$1]}")"; }
kmake() {
	local k=$1
	shift
	# shellcheck disable=SC2046
	make -C "$(bdir "$k")" -s KDIR="$(RNETNS_KERNEL=$k rnetns_kdir "${VARIANT[$k]}")" \
		$(rnetns_kmake_args "${VARIANT[$k]}") "$@"
}

t_rustfmt() {
	find src -name '*.rs' ! -name '*_generated.rs' -print0 |
		xargs -0 rustfmt --edition 2021 --config-path .rustfmt.toml --check
}

t_clippy() {
	# rustc, clippy and C warnings are errors; every item is documented.
	local k=$1 logf
	logf=$LOGS/clippy-$(RNETNS_KERNEL=$1 rnetns_kname "${VARIANT[$1]}").log
	kmake "$k" clippy >"$logf" 2>&1 || { tail -n 40 "$logf"; return 1; }
	! grep -E '^(warning|error)' "$logf" || return 1
}

t_bench_tools() {
	# The benchmark's Rust tools (the guest tool and the QEMU plugin):
	# rustfmt-clean, and clippy-clean with warnings as errors; the guest
	# tool for aarch64 too (its marker and cache maintenance are that
	# target's code) where rustup has that target (the arm64 set-up adds
	# it; clippy links nothing, so no arm64 root is needed).
	local c logf
	for c in tool insncount; do
		logf=$LOGS/clippy-bench-$c.log
		(cd "bench/$c" && cargo fmt --check) >"$logf" 2>&1 || { cat "$logf"; return 1; }
		CARGO_TARGET_DIR="$RNETNS_CACHE/bench-tools/clippy-$c" cargo clippy --release --locked \
			--manifest-path "bench/$c/Cargo.toml" -- -D warnings >>"$logf" 2>&1 ||
			{ tail -n 40 "$logf"; return 1; }
	done
	if rustup target list --installed --toolchain "$RNETNS_RUST_VERSION" 2>/dev/null |
		grep -qx aarch64-unknown-linux-gnu; then
		logf=$LOGS/clippy-bench-tool-aarch64.log
		CARGO_TARGET_DIR="$RNETNS_CACHE/bench-tools/clippy-tool" cargo clippy --release --locked \
			--target aarch64-unknown-linux-gnu --manifest-path bench/tool/Cargo.toml \
			-- -D warnings >"$logf" 2>&1 || { tail -n 40 "$logf"; return 1; }
	else
		echo "(guest tool not linted for aarch64: rustup has no aarch64-unknown-linux-gnu target)"
	fi
}

t_cli() {
	# The rnetns command (cli/): rustfmt-clean, clippy-clean with warnings
	# as errors (tests included), and its unit tests (parsing, decoding,
	# formatting, the ids against the spec) pass. In the release profile,
	# whose dependencies scripts/build-cli.sh built already.
	local logf=$LOGS/cli-check.log target
	target=$(scripts/build-cli.sh --print-dir)
	(cd cli && cargo fmt --check) >"$logf" 2>&1 || { cat "$logf"; return 1; }
	CARGO_TARGET_DIR=$target cargo clippy --release --locked --all-targets --manifest-path cli/Cargo.toml \
		-- -D warnings >>"$logf" 2>&1 || { tail -n 40 "$logf"; return 1; }
	CARGO_TARGET_DIR=$target cargo test --release --locked --manifest-path cli/Cargo.toml >>"$logf" 2>&1 ||
		{ tail -n 40 "$logf"; return 1; }
	grep -E '^test result:' "$logf"
}

t_rustdoc() {
	local k=$1 logf
	logf=$LOGS/rustdoc-$(RNETNS_KERNEL=$1 rnetns_kname "${VARIANT[$1]}").log
	kmake "$k" rustdoc >"$logf" 2>&1 || { tail -n 30 "$logf"; return 1; }
}

t_symbols() {
	# Against a prepared tree modpost has no Module.symvers to resolve the
	# module's imports with: check each one is exported somewhere in the
	# kernel's source (EXPORT_SYMBOL*, EXPORT_PER_CPU_SYMBOL*) or by its Rust
	# crates (the rust/exports_*_generated.h of the prepared tree).
	# The source's list is made once per source version, beside the
	# pristine tree (which is never patched): reading the whole tree took
	# minutes with a cold page cache and guests beside.
	local k=$1 kdir src exports srcexports missing=() sym
	kdir=$(RNETNS_KERNEL=$k rnetns_kdir "${VARIANT[$k]}")
	src=$(rnetns_src_dir "$k")
	srcexports=$src.exports
	if [ ! -s "$srcexports" ]; then
		LC_ALL=C grep -rhoE --include='*.c' --include='*.S' --include='*.h' \
			--exclude-dir=Documentation --exclude-dir=tools --exclude-dir=samples \
			'EXPORT_(PER_CPU_)?SYMBOL[A-Z_]*\(\s*[A-Za-z0-9_]+' "$src" |
			sed -E 's/.*\(\s*//' | LC_ALL=C sort -u >"$srcexports.tmp" &&
			mv "$srcexports.tmp" "$srcexports" || return 1
	fi
	exports=$LOGS/exports-$(RNETNS_KERNEL=$k rnetns_kname "${VARIANT[$k]}").txt
	{
		cat "$srcexports"
		sed -nE 's/.*\(([A-Za-z0-9_]+)\).*/\1/p' "$kdir"/rust/exports_*_generated.h
	} | LC_ALL=C sort -u >"$exports"
	while read -r _ sym; do
		grep -qxF "$sym" "$exports" || missing+=("$sym")
	done < <(nm -u "$(bdir "$k")/rnetns.ko")
	[ ${#missing[@]} -eq 0 ] || fail "imported but exported nowhere in $k: ${missing[*]}"
}

t_rust_analyzer() {
	local k=$1 logf=$LOGS/rust-analyzer-$1.log
	kmake "$k" rust-analyzer >"$logf" 2>&1 || { tail -n 30 "$logf"; return 1; }
	python3 - "$(bdir "$k")/rust-project.json" <<'PY' || return 1
import json, sys
p = json.load(open(sys.argv[1]))
names = [c["display_name"] for c in p["crates"]]
assert "rnetns" in names and "kernel" in names, names
mine = next(c for c in p["crates"] if c["display_name"] == "rnetns")
assert mine["root_module"].endswith("/src/rnetns.rs"), mine["root_module"]
PY
}

t_world_writable_param_refused() {
	# module_param! refuses a world-writable mode at build time, as the C
	# module_param() does.
	local k=${KERNELS[0]} dir logf=$LOGS/param-perm.log
	dir=$(mktemp -d)
	rnetns_copy_sources "$dir" -t
	sed -i 's/^    0o444,$/    0o666,/' "$dir/src/rnetns.rs"
	grep -q '0o666' "$dir/src/rnetns.rs" || { rm -rf "$dir"; fail "no 0o444 parameter to change"; return 1; }
	# shellcheck disable=SC2046
	if make -C "$dir" -s KDIR="$(RNETNS_KERNEL=$k rnetns_kdir "${VARIANT[$k]}")" \
		$(rnetns_kmake_args "${VARIANT[$k]}") >"$logf" 2>&1; then
		rm -rf "$dir"
		fail "a world-writable module parameter built"
		return 1
	fi
	rm -rf "$dir"
	grep -q 'writable by others' "$logf" || { tail -n 20 "$logf"; return 1; }
}

t_clone_location() {
	# From a clone in a 0700 directory whose path has a space in it, under
	# /tmp (which the guest mounts a tmpfs over): the module builds and an
	# unprivileged guest user can run the test helpers.
	local base clone out rc=0
	# A prep tree has nothing to boot (--kernel 6.12 alone): skip.
	if [ "${VARIANT[${KERNELS[0]}]}" = prep ]; then
		echo "${KERNELS[0]} has only a prepared tree here: nothing to boot"
		return 4
	fi
	base=$(mktemp -d /tmp/rnetns-clone.XXXXXX)
	clone="$base/home dir/rnetns"
	mkdir -p "$clone"
	chmod 0700 "$base" "$base/home dir"
	rsync -a --filter=':- .gitignore' --exclude results "$RNETNS_TOP/" "$clone/"
	out=$(RNETNS_KERNEL=${KERNELS[0]} "$clone/scripts/build-module.sh" "${VARIANT[${KERNELS[0]}]}") ||
		{ rm -rf "$base"; return 1; }
	(cd "$clone" && qemu/run --kernel "${KERNELS[0]}" --variant "${VARIANT[${KERNELS[0]}]}" -- sh -c '
		set -e
		insmod "$0"
		got=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur unshare -n \
			/usr/bin/python3 "$RNETNS_TOP/tests/nsutil.py" write /proc/net/rnetns bogus reset |
			tr "\n" " ")
		[ "$got" = "EINVAL ok " ] || { echo "unprivileged writes: got \"$got\""; exit 1; }
		rmmod rnetns
		echo "clone location: ok ($RNETNS_TOP)"' "$out") >"$LOGS/clone-location.log" 2>&1 || rc=$?
	rm -rf "$base"
	[ "$rc" = 0 ] || { tail -n 20 "$LOGS/clone-location.log"; return 1; }
}

t_unsafe_confined() {
	# Only the abstraction layer (src/ext) may contain unsafe code; the crate
	# root only expands the abstraction's macros.
	local bad
	bad=$(grep -rn --include='*.rs' -E '\bunsafe\b' src | grep -v '^src/ext/' | grep -vE '^[^:]+:[0-9]+:\s*//')
	[ -z "$bad" ] || fail "unsafe outside src/ext: $bad"
	for f in src/netns.rs src/counters.rs; do
		grep -q '^#!\[forbid(unsafe_code)\]' "$f" || fail "$f lacks #![forbid(unsafe_code)]" || return 1
	done
}

t_safety_comments() {
	# Every unsafe block has a SAFETY comment within the three lines above
	# it; every unsafe fn has a "# Safety" section.
	local miss
	miss=$(find src -name '*.rs' ! -name '*_generated.rs' -print0 | xargs -0 awk '
		{ line[FNR] = $0 }
		/unsafe[[:space:]]*\{/ || /unsafe impl/ {
			ok = 0
			for (i = FNR; i >= FNR - 3 && i > 0; i--) if (line[i] ~ /SAFETY:/) ok = 1
			if (!ok) printf "%s:%d\n", FILENAME, FNR
		}')
	[ -z "$miss" ] || fail "unsafe without // SAFETY: $miss" || return 1
	# Each unsafe fn definition has "# Safety" in its doc comment.
	find src -name '*.rs' -print0 | xargs -0 awk '
		FNR == 1 { doc = "" }
		/^[[:space:]]*\/\/\// { doc = doc $0; next }
		/^[[:space:]]*#\[/ { next }
		/^[[:space:]]*(pub(\([a-z]+\))? )?(const )?unsafe (extern "C" )?fn [a-z_]/ {
			if (doc !~ /# Safety/) { printf "%s:%d: unsafe fn without # Safety\n", FILENAME, FNR; bad = 1 }
		}
		{ doc = "" }
		END { exit bad }'
}

t_spec() {
	# The family's spec against the kernel's genetlink schema, its docs, and
	# the ids src/netlink.rs declares (the policies: tests/t70-netlink.sh).
	local ksrc
	ksrc=$(rnetns_src_dir 7.2)
	[ -f "$ksrc/Documentation/netlink/genetlink.yaml" ] ||
		{ echo "no 7.2 source tree at $ksrc"; return 4; }
	/usr/bin/python3 scripts/check-spec.py "$ksrc/Documentation/netlink/genetlink.yaml" \
		netlink/rnetns.yaml src/netlink.rs
}

t_upstream_series() {
	# The kernel crate series (scripts/upstream-series.sh): written from
	# src/ext by the mechanical step alone, it applies to 7.2 with git am,
	# its files are that step's output of the module's, and checkpatch
	# --strict has nothing to say. (Building it is --build, out of here.)
	local out
	out=$(mktemp -d)
	scripts/upstream-series.sh --check "$out" >"$LOGS/upstream-series.log" 2>&1 ||
		{ tail -n 30 "$LOGS/upstream-series.log"; rm -rf "$out"; return 1; }
	rm -rf "$out"
}

t_kernel_configs() {
	# Every variant's fragments configure each kernel without Kconfig
	# dropping one of their options (what build-kernel.sh checks before a
	# build), the variants this run builds no kernel of too: the bench
	# variant once lost CONFIG_DEFAULT_HUNG_TASK_TIMEOUT that way, and
	# scripts/bench.sh stopped before building anything. The trees of
	# this run were configured and checked so already (prep is normal's
	# config); the rest, one kernel's at a time (about 25 s each, one core).
	local k v d rc=0 pids names i seen=0 built variants
	for k in "${RNETNS_KERNELS[@]}"; do
		[ -f "$(rnetns_src_dir "$k")/.rnetns-extracted" ] || { echo "$k: no source (not set up)"; continue; }
		seen=1 pids=() names=() built=${VARIANT[$k]:-}
		[ "$built" != prep ] || built=normal
		variants=(normal debug up bench)
		! rnetns_has_rt "$k" || variants+=(rt)
		for v in "${variants[@]}"; do
			[ "$v" != "$built" ] || { echo "$k $v: configured for this run's build"; continue; }
			d=$(mktemp -d)
			RNETNS_KERNEL=$k scripts/build-kernel.sh --configure-only "$d" "$v" >"$d/out" 2>&1 &
			pids+=($!) names+=("$k:$v:$d")
		done
		for i in "${!pids[@]}"; do
			IFS=: read -r k v d <<<"${names[$i]}"
			if wait "${pids[$i]}"; then
				echo "$k $v: configured, every fragment option kept"
			else
				echo "$k $v: $(tail -n 3 "$d/out")"
				rc=1
			fi
			rm -rf "$d"
		done
	done
	[ "$seen" = 1 ] || return 4
	return $rc
}

t_c_helpers_are_wrappers() {
	# No logic in C: each function of the wrappers, the traceable entry
	# points and the trace event wrappers is one statement.
	awk '/^{/ { body = 0; next } /^}/ { if (body != 1) { print FILENAME ": a function with " body " statements"; bad = 1 } next }
	     /;/ { body++ } END { exit bad }' src/ext/helpers.c src/ext/entry.c src/trace/trace.c
}

t_install() {
	local root k=${KERNELS[0]}
	root=$(mktemp -d)
	kmake "$k" install INSTALL_MOD_PATH="$root" >/dev/null 2>"$LOGS/install.log" || { cat "$LOGS/install.log"; return 1; }
	local ko
	ko=$(find "$root" -name rnetns.ko)
	[ -n "$ko" ] && grep -q 'rnetns.ko' "$root"/lib/modules/*/modules.dep || fail "not installed: $(find "$root")"
	rm -rf "$root"
}

t_gitignore() {
	# Every build product is ignored: nothing untracked appears that was not
	# there before the build (RNETNS_UNTRACKED_BEFORE from scripts/test.sh).
	local new
	new=$(comm -13 <(printf '%s\n' "${RNETNS_UNTRACKED_BEFORE:-}" | sort) \
		<(git status --porcelain --untracked-files=all | awk '$1 == "??" { print $2 }' | sort))
	[ -z "$new" ] || fail "build products not ignored: $new"
}

t_polled_conditions() {
	# wait_until's arguments are expanded once, when it is called: a
	# condition on "$(...)" there never changes (wait_for re-evaluates).
	local bad
	bad=$(grep -n -E 'wait_until [^ ]+ (test|\[) .*\$\(' tests/*.sh scripts/*.sh)
	[ -z "$bad" ] || fail "conditions expanded once, use wait_for: $bad"
}

configs_test() { run_test "every kernel variant's config fragments survive Kconfig (normal, debug, up, bench; rt on ${RNETNS_RT_KERNELS[*]})" t_kernel_configs; }
if [ "$PART" = configs ]; then
	ktap_plan 1
	configs_test
	ktap_finish
fi
nprep=0
for k in "${KERNELS[@]}"; do [ "${VARIANT[$k]}" != prep ] || nprep=$((nprep + 1)); done
# tree_tests K: the module against kernel K's tree (built above): clippy-
# and rustdoc-clean, rust-analyzer's project (not for another
# architecture's trees), and for a prepared tree the symbols it imports.
tree_tests() {
	local k=$1 on="$1 ${VARIANT[$1]}"
	[ "$RNETNS_ARCH" = x86_64 ] || on+=", $RNETNS_ARCH"
	run_test "clippy ($on): no rustc, clippy or C warning; every item documented" t_clippy "$k"
	run_test "rustdoc ($on) renders the module's documentation without warnings" t_rustdoc "$k"
	[ "$RNETNS_ARCH" != x86_64 ] ||
		run_test "rust-analyzer ($on): rust-project.json has the rnetns and kernel crates" t_rust_analyzer "$k"
	[ "${VARIANT[$k]}" != prep ] ||
		run_test "symbols ($on): every symbol rnetns.ko imports is exported by $k's source or Rust crates" t_symbols "$k"
}
if [ "$PART" = arch ]; then
	# Another architecture's trees: only the per-tree checks.
	ktap_plan $((2 * ${#KERNELS[@]} + nprep))
	for k in "${KERNELS[@]}"; do tree_tests "$k"; done
	ktap_finish
fi
nconfigs=1
[ "$PART" = all ] || nconfigs=0
ktap_plan $((13 + nconfigs + 3 * ${#KERNELS[@]} + nprep))
run_test "rustfmt: no diff" t_rustfmt
run_test "benchmark tools (bench/tool, bench/insncount): rustfmt and clippy -D warnings clean (the tool for aarch64 too)" t_bench_tools
run_test "the rnetns command (cli/): rustfmt, clippy -D warnings and cargo test clean" t_cli
for k in "${KERNELS[@]}"; do tree_tests "$k"; done
run_test "module_param! refuses a world-writable mode at build time" t_world_writable_param_refused
run_test "from a clone in a 0700 directory with a space in its path, under /tmp" t_clone_location
run_test "unsafe only in the abstraction layer (src/ext)" t_unsafe_confined
run_test "every unsafe block has // SAFETY:, every unsafe fn # Safety" t_safety_comments
run_test "netlink/rnetns.yaml: valid against the kernel's genetlink schema, documented, its ids those of src/netlink.rs" t_spec
[ "$PART" = rest ] || configs_test
run_test "C files are one-line wrappers (helpers, entry points, trace events)" t_c_helpers_are_wrappers
run_test "the kernel crate series: the module's layer through the mechanical step only; applies to 7.2; checkpatch --strict clean" t_upstream_series
run_test "make install puts rnetns.ko in the module tree and runs depmod" t_install
run_test "polled test conditions are re-evaluated (wait_for, not wait_until)" t_polled_conditions
run_test ".gitignore covers every build product" t_gitignore
ktap_finish
