#!/usr/bin/env bash
# Build a module against a cached test kernel of $RNETNS_KERNEL and print the
# path of its .ko. The build runs in a copy of the sources under the cache
# (build/<kernel>-<variant>/), so builds for several kernels coexist and the
# clone's own path (which may hold spaces, which Kbuild cannot take) never
# reaches Kbuild.
# Usage: scripts/build-module.sh [VARIANT [MODULE]]
#   VARIANT  normal (default), debug, rt, up, bench or prep (compile only)
#   MODULE   rnetns (default), a benchmark module (ctwin, hookbench) or the
#            test-only hang (tests/hang, for tests/hang-check.sh)
source "$(dirname "$0")/lib.sh"
variant=${1:-normal} module=${2:-rnetns}
case $module in
rnetns) sub=. ko=rnetns.ko ;;
ctwin | hookbench) sub=bench/$module ko=rnetns_$module.ko ;;
hang) sub=tests/hang ko=rnetns_hang.ko ;;
*) die "build-module.sh: unknown module '$module' (rnetns, ctwin, hookbench or hang)" ;;
esac
kdir=$(rnetns_kdir "$variant")
rnetns_kernel_ready "$variant" "$kdir" || die "no $RNETNS_KERNEL $variant kernel at $kdir: run scripts/setup.sh $RNETNS_KERNEL:$variant"
dir=$RNETNS_CACHE/build/$(rnetns_kname "$variant")
mkdir -p "$dir"
# Build products stay (they are excluded by .gitignore, so rsync neither
# copies nor deletes them): a rebuild is incremental. Files are compared by
# content and a changed one gets a new time stamp (no -t), so that make sees
# it as newer than the objects even if the clone's copy is older.
rnetns_copy_sources "$dir" --checksum --delete --exclude /doc
logf=$RNETNS_LOGS/module-build-$(rnetns_kname "$variant")-$module.log
# shellcheck disable=SC2046
make -C "$dir/$sub" -s KDIR="$kdir" $(rnetns_kmake_args "$variant") >"$logf" 2>&1 || {
	cat "$logf" >&2
	die "building $module against the $RNETNS_KERNEL $variant kernel failed"
}
echo "$dir/$sub/$ko"
