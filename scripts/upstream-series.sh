#!/usr/bin/env bash
# Write the upstream patch series: rnetns's abstraction layer (src/ext/) as
# patches against Linux 7.2 that add it to the kernel crate, with a sample
# module (upstream/rust_pernet.rs). The code is the module's own, turned
# into the kernel crate's by the mechanical step of scripts/upstream.py;
# the commit messages, the cover letter and the sample are in upstream/.
#
# Usage: scripts/upstream-series.sh [--check | --build] [OUTDIR]
#   OUTDIR   where the patches go (default: $RNETNS_CACHE/upstream/series)
#   --check  also: the series applies with `git am` (to the pristine 7.2
#            files it changes), and scripts/checkpatch.pl --strict of the
#            7.2 tree finds no error, warning or check in any patch.
#            Seconds; the host checks of the test command run it.
#   --build  --check, then in a git copy of the whole pristine 7.2 tree
#            (under $RNETNS_CACHE/upstream/): `make LLVM=1` after each
#            patch (bisectable) with the normal test kernel's configuration
#            plus CONFIG_SAMPLES_RUST, the sample as a module, KUnit and
#            CONFIG_RUST_KERNEL_DOCTESTS; then rustfmtcheck, CLIPPY=1 and
#            rustdoc of the last; then boots that kernel (qemu/run --kdir):
#            the KUnit doctests, and the sample loaded, namespaces made, its
#            file shown, unloaded, kernel log clean. About 20 minutes
#            from nothing on a 2-core machine, 5 once the tree is built
#            (README, "The kernel crate series").
source "$(dirname "$0")/lib.sh"
mode= out=
while [ $# -gt 0 ]; do
	case $1 in
	--check) mode=check ;;
	--build) mode=build ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "upstream-series.sh: unknown option '$1'" ;;
	*) out=$1 ;;
	esac
	shift
done
export RNETNS_KERNEL=7.2
out=${out:-$RNETNS_CACHE/upstream/series}
tree=$(rnetns_src_dir 7.2)
[ -f "$tree/Makefile" ] || die "no Linux 7.2 source at $tree: run scripts/setup.sh first"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$RNETNS_TOP/scripts/upstream.py" series "$RNETNS_TOP" "$tree" "$work/series" "$out" ||
	die "writing the series failed"
patches=("$out"/000[1-9]-*.patch)
log "upstream series: ${#patches[@]} patches and a cover letter in $out"
[ -n "$mode" ] || exit 0

# It applies: `git am` onto the pristine files it changes (the first commit
# of the repository the series was written in).
git -C "$work/series" checkout -q --detach HEAD~${#patches[@]}
git -C "$work/series" -c user.name=check -c user.email=check@localhost am -q "${patches[@]}" ||
	die "the series does not apply with git am to Linux 7.2"
log "upstream series: applies with git am"
# One source: every file the series adds is the mechanical step's output
# (scripts/upstream.py, formatted by rustfmt as the tree's `make rustfmt`
# does) of the module's own file, byte for byte, once applied.
(cd "$work/series/.gen" && find . -type f) | while read -r f; do
	cmp -s "$work/series/.gen/$f" "$work/series/$f" ||
		die "${f#./} in the applied series is not the mechanical step's output of the module's source"
done || exit 1
log "upstream series: its files are the module's abstraction layer, through the mechanical step only"
(cd "$tree" && perl scripts/checkpatch.pl --strict --no-summary --quiet "$out"/0*.patch) >"$work/checkpatch" 2>&1 || true
if [ -s "$work/checkpatch" ]; then
	cat "$work/checkpatch"
	die "checkpatch.pl --strict has remarks on the series"
fi
log "upstream series: checkpatch.pl --strict: no error, warning or check"
[ "$mode" = build ] || exit 0

# The whole tree, as a git repository (once; reset to its first commit
# for every run), the series applied with git am.
base=$RNETNS_CACHE/upstream/linux-7.2
obj=$RNETNS_CACHE/upstream/build
if [ ! -d "$base/.git" ]; then
	rm -rf "$base"
	mkdir -p "$(dirname "$base")"
	cp -a "$tree" "$base.tmp"
	# Debian's linux-source ignores everything at the top level: -f.
	git -C "$base.tmp" init -q
	git -C "$base.tmp" add -f -A .
	git -C "$base.tmp" -c user.name=rnetns -c user.email=rnetns@localhost commit -q -m "Linux 7.2 ($(basename "$tree"))"
	git -C "$base.tmp" tag pristine
	mv "$base.tmp" "$base"
fi
# Kbuild keeps the absolute paths of both trees in its commands: the same
# paths every time, even through a symbolic link, keep a rebuild incremental.
base=$(readlink -f "$base")
git -C "$base" am --abort >/dev/null 2>&1 || true
git -C "$base" checkout -q --detach pristine
git -C "$base" -c user.name=check -c user.email=check@localhost am -q "${patches[@]}" ||
	die "the series does not apply with git am to the whole 7.2 tree"
commits=($(git -C "$base" rev-list --reverse pristine..HEAD))
mkdir -p "$obj"
obj=$(readlink -f "$obj")
cp "$(rnetns_kdir normal)/.config" "$obj/.config" 2>/dev/null ||
	die "no 7.2 normal test kernel to take the configuration from: run scripts/setup.sh 7.2:normal"
kmk() { make -C "$base" O="$obj" LLVM="$RNETNS_LLVM" -j"$(nproc)" "$@"; }
# The options on top of the test kernel's, set again after each patch: the
# sample's exists from its patch on (olddefconfig drops it before).
configure() {
	"$base/scripts/config" --file "$obj/.config" -e SAMPLES -e SAMPLES_RUST \
		-m SAMPLE_RUST_PERNET -e KUNIT -e RUST_KERNEL_DOCTESTS
	kmk -s olddefconfig >/dev/null
}
i=0
for c in "${commits[@]}"; do
	i=$((i + 1))
	git -C "$base" checkout -q --detach "$c"
	configure
	rnetns_stage "in-tree build after patch $i/${#commits[@]}" "$RNETNS_LOGS/upstream-build-$i.log" \
		kmk KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings bzImage modules ||
		die "the tree does not build after patch $i: $(git -C "$base" log -1 --format=%s "$c")"
done
grep -q '^CONFIG_SAMPLE_RUST_PERNET=m' "$obj/.config" || die "the sample is not configured after the last patch"
rnetns_stage "rustfmtcheck" "$RNETNS_LOGS/upstream-rustfmt.log" kmk rustfmtcheck ||
	die "make rustfmtcheck fails on the series"
rnetns_stage "CLIPPY=1" "$RNETNS_LOGS/upstream-clippy.log" kmk CLIPPY=1 KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings bzImage modules ||
	die "clippy warns on the series"
if grep -E '^(warning|error)' "$RNETNS_LOGS/upstream-clippy.log"; then die "clippy warns on the series"; fi
rnetns_stage "rustdoc" "$RNETNS_LOGS/upstream-rustdoc.log" kmk rustdoc ||
	die "make rustdoc fails on the series"
if grep -E '^(warning|error)' "$RNETNS_LOGS/upstream-rustdoc.log"; then die "rustdoc warns on the series"; fi
log "upstream series: every patch builds; rustfmt, clippy and rustdoc clean"

# Boot it: the doctests run as KUnit at boot; then the sample.
ko=$obj/samples/rust/rust_pernet.ko
mkdir -p "$work/scratch"
# The test kernels' configuration runs no KUnit suite at boot (a filter
# that matches none); here the doctests' suite runs.
"$RNETNS_TOP/qemu/run" --kdir "$obj" --scratch "$work/scratch" --timeout 1200 \
	--append "kunit.filter_glob=rust_doctests_kernel" -- \
	env RNETNS_SAMPLE_KO="$ko" bash "$RNETNS_TOP/tests/upstream-sample.sh" | tee "$RNETNS_LOGS/upstream-boot.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || die "the booted series kernel failed (qemu/run exit $rc): $RNETNS_LOGS/upstream-boot.log"
log "upstream series: doctests and the sample pass in the booted kernel, kernel log clean"
