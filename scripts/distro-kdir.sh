#!/usr/bin/env bash
# A prepared build directory for a distribution kernel (Debian's): its
# headers and matching source, with rust/ rebuilt by the rustc the kernel was
# built with, so that `make KDIR=<dir>` builds rnetns (or any Rust module)
# for that kernel. Prints the directory; the work is cached (a second call
# with the same headers, rustc and .config prints it at once).
#
# Usage: scripts/distro-kdir.sh [--native | --chroot] [--out DIR] RELEASE
#   RELEASE   a Debian kernel release, e.g. 7.2.13+deb14-amd64
#   --native  on a Debian machine with linux-headers-RELEASE and the matching
#             linux-source-X.Y installed (the default when the headers are
#             installed here), with Debian's rustc, rust-src and bindgen
#   --chroot  in the cached Debian unstable chroot under $RNETNS_CACHE
#             (the default elsewhere, as on bookworm); the directory is then
#             /var/cache/rnetns/distro/RELEASE inside the chroot, and builds
#             against it run in the chroot (scripts/debian-chroot.sh make ...)
#   --out DIR where to prepare (native; default $RNETNS_CACHE/distro/RELEASE)
# Env: RUSTC, BINDGEN  the rustc and bindgen to use (default: from PATH)
#
# Steps: check that the rustc prints exactly the kernel's
# CONFIG_RUSTC_VERSION_TEXT (else refuse), unpack linux-source-X.Y, copy the
# headers' .config and Module.symvers, `make CC=<the kernel's gcc>
# KERNELRELEASE=RELEASE modules_prepare` (rebuilds rust/: about 3 minutes on
# 2 cores), and check that every symbol the rebuilt rust/ exports is in the
# kernel's Module.symvers (else stop and list the missing ones). Nothing goes
# into the repository or /usr/src.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/debian-lib.sh"

mode= out=
while [ $# -gt 0 ]; do
	case $1 in
	--native) mode=native ;;
	--chroot) mode=chroot ;;
	--out) out=$2; shift ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "distro-kdir.sh: unknown option '$1' (see --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || die "usage: scripts/distro-kdir.sh [--native | --chroot] [--out DIR] RELEASE (e.g. $RNETNS_DEB_RELEASE)"
rel=$1
series=$(rnetns_deb_series "$rel")
[ -n "$series" ] || die "'$rel' is not a kernel release (like $RNETNS_DEB_RELEASE)"
headers_pkg=linux-headers-$rel source_pkg=linux-source-$series
if [ -z "$mode" ]; then
	if [ -f "/usr/src/linux-headers-$rel/.config" ]; then mode=native; else mode=chroot; fi
fi

# refuse_rustc GOT WANT: the refusal, naming the rustc needed.
refuse_rustc() {
	local need
	need=$(sed -nE 's/^rustc ([0-9][^ ]*).*/\1/p' <<<"$2")
	die "the rustc to be used prints '$1', but Linux $rel was built with '$2'.
  A Rust module must be built by exactly that rustc (its crates' metadata
  must match the kernel's). Debian's rustc package $need prints it: on
  Debian unstable, 'apt install rustc rust-src' (then RUSTC=/usr/bin/rustc
  if another rustc, such as rustup's, comes first in PATH)."
}

if [ "$mode" = chroot ]; then
	# Debian must serve the headers and the same version of the source.
	rnetns_sid_ensure
	hv=$(rnetns_in_sid apt-cache show --no-all-versions "$headers_pkg" 2>/dev/null | sed -n "s/^Version: //p" | head -n1 || true)
	sv=$(rnetns_in_sid apt-cache show --no-all-versions "$source_pkg" 2>/dev/null | sed -n "s/^Version: //p" | head -n1 || true)
	missing=()
	[ -n "$hv" ] || missing+=("$headers_pkg (the kernel's headers)")
	[ -n "$sv" ] || missing+=("$source_pkg (the kernel's source)")
	[ ${#missing[@]} -eq 0 ] ||
		die "Debian unstable ($RNETNS_DEB_MIRROR) does not serve $(IFS=,; echo "${missing[*]}" | sed "s/,/, /g"); cannot prepare a build directory for $rel"
	[ "$hv" = "$sv" ] ||
		die "Debian unstable serves $headers_pkg $hv but $source_pkg $sv: no source matching the kernel $rel"
	rnetns_sid_ensure "$headers_pkg" "$source_pkg" "linux-modules-$rel"
	# A rustc asked for on this host is checked against the kernel here;
	# the build itself uses the chroot's.
	want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$RNETNS_SID/usr/src/linux-headers-$rel/.config")
	if [ -n "${RUSTC:-}" ]; then
		got=$("$RUSTC" --version 2>&1) || die "RUSTC=$RUSTC does not run: $got"
		[ "$got" = "$want" ] || refuse_rustc "$got" "$want"
	fi
	# The chroot runs this very script natively, from a copy.
	inside=/usr/local/src/rnetns-scripts
	$RNETNS_SUDO mkdir -p "$RNETNS_SID$inside"
	$RNETNS_SUDO rsync -rlpt --delete "$RNETNS_TOP/scripts/" "$RNETNS_SID$inside/scripts/"
	dir=$(rnetns_in_sid env RNETNS_CACHE=/var/cache/rnetns RNETNS_TICK="${RNETNS_TICK:-30}" \
		bash "$inside/scripts/distro-kdir.sh" --native "$rel") || exit 1
	log "prepared (in the chroot): $dir; on this host: $RNETNS_SID$dir"
	echo "$RNETNS_SID$dir"
	exit 0
fi

# Native: Debian's packages installed on this machine.
headers=/usr/src/linux-headers-$rel
if [ ! -f "$headers/.config" ]; then
	if apt-cache show --no-all-versions "$headers_pkg" >/dev/null 2>&1; then
		die "$headers_pkg is not installed: apt install $headers_pkg $source_pkg"
	fi
	die "$headers_pkg is neither installed nor served by this machine's apt sources: no headers for $rel"
fi
hv=$(dpkg-query -W -f '${Version}' "$headers_pkg" 2>/dev/null) || hv=
sv=$(dpkg-query -W -f '${db:Status-Abbrev}${Version}' "$source_pkg" 2>/dev/null | sed -n 's/^ii *//p')
tarball=/usr/src/$source_pkg.tar.xz
if [ -z "$sv" ] || [ ! -f "$tarball" ]; then
	apt-cache show --no-all-versions "$source_pkg" >/dev/null 2>&1 ||
		die "$source_pkg (the source of $rel) is neither installed nor served by this machine's apt sources"
	die "$source_pkg is not installed (the source of $rel): apt install $source_pkg${hv:+=$hv}"
fi
[ -z "$hv" ] || [ "$hv" = "$sv" ] ||
	die "$source_pkg $sv is installed, but the kernel $rel is $hv: install $source_pkg=$hv"

# lib.sh points bindgen at the libclang of this project's own kernel builds
# (LLVM 19): with Debian's bindgen, its own default, unless that exists.
[ -d "${LIBCLANG_PATH:-}" ] || unset LIBCLANG_PATH
config=$headers/.config
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
[ -n "$want" ] && grep -q '^CONFIG_RUST=y' "$config" ||
	die "Linux $rel has no CONFIG_RUST=y: no Rust module can be loaded into it"
RUSTC=${RUSTC:-rustc} BINDGEN=${BINDGEN:-bindgen}
got=$("$RUSTC" --version 2>&1) || die "no rustc ('$RUSTC'): apt install rustc rust-src bindgen"
[ "$got" = "$want" ] || refuse_rustc "$got" "$want"
[ -f "$("$RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
	die "the Rust standard library's source is missing for $RUSTC: apt install rust-src"
command -v "$BINDGEN" >/dev/null || die "no bindgen ('$BINDGEN'): apt install bindgen"
# The kernel's compiler: the first word of its CONFIG_CC_VERSION_TEXT
# (x86_64-linux-gnu-gcc-16 for Debian's 7.2).
cc=$(sed -nE 's/^CONFIG_CC_VERSION_TEXT="([^ ]+) .*/\1/p' "$config")
command -v "$cc" >/dev/null || die "the kernel was built with $cc, which is not installed (apt install $headers_pkg pulls it in)"
[ -f "$headers/Module.symvers" ] || die "$headers has no Module.symvers"

dir=${out:-$RNETNS_CACHE/distro/$rel}
key=$({
	echo "$rel $hv $sv"
	echo "$got"
	"$BINDGEN" --version
	"$cc" --version | head -n1
	cat "$config" "$headers/Module.symvers"
} | sha256sum | cut -c1-16)
if [ "$(cat "$dir/.rnetns-prepared" 2>/dev/null)" = "$key" ]; then
	log "prepared build directory for $rel (cached): $dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$(dirname "$dir")"
logs=$RNETNS_LOGS
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp"
rnetns_stage "unpack $source_pkg $sv" "$logs/distro-$rel-unpack.log" tar -C "$dir.tmp" -xf "$tarball"
mv "$dir.tmp/$source_pkg" "$dir"
rmdir "$dir.tmp"
cp "$config" "$dir/.config"
cp "$headers/Module.symvers" "$dir/Module.symvers"
kmake=(make -C "$dir" -j"$(nproc)" CC="$cc" RUSTC="$RUSTC" BINDGEN="$BINDGEN" KERNELRELEASE="$rel")
rnetns_stage "olddefconfig" "$logs/distro-$rel-config.log" "${kmake[@]}" olddefconfig
# The same compiler and rustc must give the same configuration.
if ! diff -u "$config" "$dir/.config" >"$logs/distro-$rel-config.diff"; then
	die "olddefconfig changed Linux $rel's configuration with $cc and $got (see $logs/distro-$rel-config.diff): not the toolchain the kernel was built with?"
fi
rnetns_stage "modules_prepare (rebuilds rust/)" "$logs/distro-$rel-prepare.log" "${kmake[@]}" modules_prepare
[ "$(cat "$dir/include/config/kernel.release")" = "$rel" ] ||
	die "the prepared tree says it is '$(cat "$dir/include/config/kernel.release")', not $rel"

# Every symbol the rebuilt rust/ exports must be the kernel's: else modules
# built here would reference symbols the running kernel does not have.
sed -nE 's/^EXPORT_SYMBOL_RUST_GPL\(([^)]*)\);?$/\1/p' "$dir"/rust/exports_*_generated.h | sort -u >"$dir/.rnetns-rust-exports"
n=$(wc -l <"$dir/.rnetns-rust-exports")
[ "$n" -gt 0 ] || die "the rebuilt rust/ exports no symbols (see $logs/distro-$rel-prepare.log)"
missing=$(awk 'NR == FNR { have[$2] = 1; next } !($1 in have)' "$headers/Module.symvers" "$dir/.rnetns-rust-exports")
if [ -n "$missing" ]; then
	die "$(grep -c . <<<"$missing") of the $n symbols the rebuilt rust/ exports are not in Linux $rel's Module.symvers, so this rust/ is not the kernel's:
$(head -n 50 <<<"$missing")"
fi
log "rust/ rebuilt with $got: all $n symbols it exports are in the kernel's Module.symvers"
echo "$key" >"$dir/.rnetns-prepared"
log "prepared build directory for $rel: $dir (make KDIR=$dir)"
echo "$dir"
