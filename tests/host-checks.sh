#!/bin/bash
# Checks of the source tree and build, run on the host by scripts/test.sh
# after the module is built against $KDIR. Speaks KTAP like the VM tests.
source "$(dirname "$0")/lib.sh"
cd "$RNETNS_TOP" || exit 1
LOGS=${RNETNS_LOGS:-/tmp}

t_rustfmt() { make -s rustfmtcheck; }

t_clippy() {
	# rustc, clippy and C warnings are errors; every item is documented.
	make -s clippy >"$LOGS/clippy.log" 2>&1 || { tail -n 40 "$LOGS/clippy.log"; return 1; }
	! grep -E '^(warning|error)' "$LOGS/clippy.log" || return 1
}

t_rustdoc() { make -s rustdoc >"$LOGS/rustdoc.log" 2>&1 || { tail -n 30 "$LOGS/rustdoc.log"; return 1; }; }

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

t_c_helpers_are_wrappers() {
	# No logic in C: each function in src/ext/helpers.c is one statement.
	awk '/^{/ { body = 0; next } /^}/ { if (body != 1) { print FILENAME ": a function with " body " statements"; bad = 1 } next }
	     /;/ { body++ } END { exit bad }' src/ext/helpers.c
}

t_install() {
	local root
	root=$(mktemp -d)
	make -s install INSTALL_MOD_PATH="$root" >/dev/null 2>"$LOGS/install.log" || { cat "$LOGS/install.log"; return 1; }
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

ktap_plan 8
run_test "rustfmt: no diff" t_rustfmt
run_test "clippy: no rustc, clippy or C warning; every item documented" t_clippy
run_test "rustdoc renders the module's documentation without warnings" t_rustdoc
run_test "unsafe only in the abstraction layer (src/ext)" t_unsafe_confined
run_test "every unsafe block has // SAFETY:, every unsafe fn # Safety" t_safety_comments
run_test "C helpers are one-line wrappers" t_c_helpers_are_wrappers
run_test "make install puts rnetns.ko in the module tree and runs depmod" t_install
run_test ".gitignore covers every build product" t_gitignore
ktap_finish
