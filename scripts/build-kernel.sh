#!/usr/bin/env bash
# Build (once) the test kernel variant given as $1 ("normal", "debug",
# "up", "bench", or "prep": the normal config prepared for module builds
# only, by `make modules_prepare`) of kernel $RNETNS_KERNEL in its cache
# directory and print that directory on stdout. The kernel tree is
# never patched: it is Debian's pristine source plus our config fragments.
source "$(dirname "$0")/lib.sh"

#
# scripts/build-kernel.sh --configure-only DIR VARIANT: only configure the
# variant in DIR (a scratch directory) and check that every option of its
# fragments survived; for the host checks.
configure_only=
if [ "${1:-}" = --configure-only ]; then
	configure_only=$2
	shift 2
fi
variant=${1:-normal}
src=$(rnetns_src_dir)
kdir=$(rnetns_kdir "$variant")
[ -z "$configure_only" ] || kdir=$configure_only
[ -f "$src/.rnetns-extracted" ] || die "no $RNETNS_KERNEL kernel source at $src: run scripts/setup.sh"

# .rnetns-built: the whole kernel is built; .rnetns-prepared: only
# `make modules_prepare` ran (a prep tree; the normal variant's directory).
if [ -z "$configure_only" ] && rnetns_kernel_ready "$variant" "$kdir"; then
	log "kernel ($variant) cached: $kdir"
	echo "$kdir"
	exit 0
fi

[ -n "$configure_only" ] ||
	log "building the $RNETNS_KERNEL $variant test kernel ($RNETNS_ARCH) in $kdir (5 to 14 minutes on 2 cores; prep: 1 to 3)"
# A prep tree is built on in place: its configuration, headers, scripts
# and rust/ are done.
prepared=
[ -n "$configure_only" ] || [ ! -f "$kdir/.rnetns-prepared" ] || prepared=1
mkdir -p "$kdir"
mk() { make -C "$src" O="$kdir" ARCH="$(rnetns_karch)" LLVM="$RNETNS_LLVM" "$@"; }
mapfile -t frags < <(rnetns_fragments "$variant")
name=$(rnetns_kname "$variant")

configure() {
	mk tinyconfig && cat "${frags[@]}" >>"$kdir/.config" && mk olddefconfig
}
if [ -n "$configure_only" ]; then
	configure >"$kdir/configure.log" 2>&1 || die "configure ($name) failed: $(tail -n 5 "$kdir/configure.log")"
elif [ -n "$prepared" ]; then
	log "configure ($name): done when the tree was prepared (the same fragments); building it on"
else
	rnetns_stage "configure ($name)" "$RNETNS_LOGS/kernel-$name-config.log" configure
fi

# Kconfig drops an option silently when a dependency is missing: check that
# the last line of the fragments for each option survived.
bad=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$kdir/.config" || bad+=("$line") ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		grep -q "^$sym=" "$kdir/.config" && bad+=("$line") ;;
	esac
done < <(cat "${frags[@]}" | sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=.*/\1 &/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set/\1 &/p' |
	awk '{ sym = $1; sub(/^[^ ]+ /, ""); last[sym] = $0; order[++n] = sym }
	     END { for (i = 1; i <= n; i++) if (!seen[order[i]]++) print last[order[i]] }')
[ ${#bad[@]} -eq 0 ] || die "config options did not survive olddefconfig: ${bad[*]}"
[ -z "$configure_only" ] || exit 0

mk rustavailable >"$RNETNS_LOGS/rustavailable.log" 2>&1 ||
	die "Rust is not available for the kernel build: $(cat "$RNETNS_LOGS/rustavailable.log")"

# A prep tree stops at modules_prepare: headers, scripts and rust/.
target=()
[ "$variant" != prep ] || target=(modules_prepare)
rnetns_stage "kernel build ($name${target:+, ${target[*]}})" "$RNETNS_LOGS/kernel-$name-build.log" \
	mk -j"$(nproc)" "${target[@]}"
if [ "$variant" = prep ]; then touch "$kdir/.rnetns-prepared"; else touch "$kdir/.rnetns-built"; fi
# Builds of this directory for older fragments or toolchains are superseded.
dirname=${kdir##*/}
# (and prep trees of their own directory, as they were before 2026-12-06).
for old in "$(dirname "$kdir")/${dirname%-*}"-* "$(dirname "$kdir")/$(rnetns_kname prep)"-*; do
	[ "$old" = "$kdir" ] || [ ! -d "$old" ] || { log "removing superseded $old"; rm -rf "$old"; }
done
echo "$kdir"
