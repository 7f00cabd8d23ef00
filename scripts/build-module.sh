#!/usr/bin/env bash
# Build rnetns.ko against a cached test kernel variant ("normal" builds in
# place, as `make` does; "debug" builds a copy of the sources under the
# cache, so both builds can coexist). Prints the path of the .ko.
# Usage: scripts/build-module.sh [normal|debug]
source "$(dirname "$0")/lib.sh"
variant=${1:-normal}
kdir=$(rnetns_kdir "$variant")
if [ "$variant" = normal ]; then
	dir=$RNETNS_TOP
else
	dir=$RNETNS_CACHE/build/$variant
	mkdir -p "$dir"
	rsync -a --delete --exclude '.*.cmd' --exclude '*.o' "$RNETNS_TOP/Kbuild" "$RNETNS_TOP/Makefile" \
		"$RNETNS_TOP/src" "$RNETNS_TOP/scripts" "$dir/"
fi
make -C "$dir" -s KDIR="$kdir" >"$RNETNS_LOGS/module-build-$variant.log" 2>&1 || {
	cat "$RNETNS_LOGS/module-build-$variant.log" >&2
	die "module build against the $variant kernel failed"
}
echo "$dir/rnetns.ko"
