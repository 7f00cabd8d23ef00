#!/usr/bin/env bash
# Build (once) the test kernel variant given as $1 ("normal" or "debug") in
# its cache directory and print that directory on stdout. The kernel tree is
# never patched: it is Debian's pristine source plus our config fragments.
source "$(dirname "$0")/lib.sh"

variant=${1:-normal}
src=$(rnetns_src_dir)
kdir=$(rnetns_kdir "$variant")
[ -f "$src/.rnetns-extracted" ] || die "no kernel source at $src: run scripts/setup.sh"

if [ -f "$kdir/.rnetns-built" ]; then
	log "kernel ($variant) cached: $kdir"
	echo "$kdir"
	exit 0
fi

log "building the $variant test kernel in $kdir (about 15 minutes on 2 cores)"
mkdir -p "$kdir"
mk() { make -C "$src" O="$kdir" LLVM=1 "$@"; }

rnetns_stage "configure ($variant)" "$RNETNS_LOGS/kernel-$variant-config.log" \
	bash -c "$(declare -f mk); src='$src' kdir='$kdir'; mk tinyconfig && \
		cat $(rnetns_fragments "$variant" | tr '\n' ' ') >>'$kdir/.config' && \
		mk olddefconfig"

# Kconfig drops an option silently when a dependency is missing: check that
# each line of the fragments survived.
bad=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$kdir/.config" || bad+=("$line") ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		grep -q "^$sym=" "$kdir/.config" && bad+=("$line") ;;
	esac
done < <(cat $(rnetns_fragments "$variant"))
[ ${#bad[@]} -eq 0 ] || die "config options did not survive olddefconfig: ${bad[*]}"

mk rustavailable >"$RNETNS_LOGS/rustavailable.log" 2>&1 ||
	die "Rust is not available for the kernel build: $(cat "$RNETNS_LOGS/rustavailable.log")"

rnetns_stage "kernel build ($variant)" "$RNETNS_LOGS/kernel-$variant-build.log" \
	make -C "$src" O="$kdir" LLVM=1 -j"$(nproc)"
touch "$kdir/.rnetns-built"
# Builds of this variant for older fragments or toolchains are superseded.
for old in "$(dirname "$kdir")/$variant"-*; do
	[ "$old" = "$kdir" ] || [ ! -d "$old" ] || { log "removing superseded $old"; rm -rf "$old"; }
done
echo "$kdir"
