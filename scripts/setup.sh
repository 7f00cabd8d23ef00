#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian bookworm machine for rnetns:
#   1. Debian packages (kernel source, LLVM 19, QEMU, build and test tools),
#   2. the pinned rustc with rust-src (through rustup),
#   3. the pinned bindgen-cli from crates.io,
#   4. the pristine kernel sources of every supported kernel (6.12 from
#      bookworm, 7.2 from Debian unstable, downloaded into the cache),
#   5. the test kernels asked for, built once and cached
#      (scripts/build-kernel.sh), and for a bootable arm64 one the arm64
#      guests' root filesystem (scripts/arm64-root.sh).
#   6. with "debian" (or debian-rt, debian-cloud): the Debian-kernel run's
#      set-up (scripts/debian-test.sh --setup: the cached Debian unstable
#      chroot, the prepared build dir of that Debian 7.2 kernel, its
#      vmlinuz), beside step 5.
# Usage: scripts/setup.sh [--no-kernel] [KERNEL:VARIANT[:ARCH]...] [debian|debian-rt|debian-cloud...]
#   KERNEL:VARIANT  a test kernel to build, e.g. 7.2:normal, 6.12:debug,
#                   or a tree to prepare for module builds only (6.12:prep),
#                   for architecture ARCH (x86_64 or arm64; default
#                   $RNETNS_ARCH), e.g. 7.2:prep:arm64
#                   (default: $RNETNS_KERNEL:normal, unless only debian)
#   debian          set up the Debian-kernel run (debian-rt: of Debian's
#                   PREEMPT_RT flavour; debian-cloud: of its cloud flavour)
#   --no-kernel     stop after the tools and sources
source "$(dirname "$0")/lib.sh"

build_kernel=1 wanted=() want_debian=()
for arg in "$@"; do
	case $arg in
	--no-kernel) build_kernel=0 ;;
	debian | debian-rt | debian-cloud) want_debian+=("$arg") ;;
	*:*:*) rnetns_check_kernel "${arg%%:*}"; rnetns_check_arch "${arg##*:}"; wanted+=("$arg") ;;
	*:*) rnetns_check_kernel "${arg%%:*}"; wanted+=("$arg:$RNETNS_ARCH") ;;
	*) die "setup.sh: unknown option '$arg'" ;;
	esac
done
[ ${#wanted[@]} -gt 0 ] || [ ${#want_debian[@]} -gt 0 ] || wanted=("$RNETNS_KERNEL:normal")

PACKAGES=(
	linux-source-6.12 "clang$RNETNS_LLVM" "llvm$RNETNS_LLVM" "lld$RNETNS_LLVM"
	"libclang$RNETNS_LLVM-dev"
	make gcc libc6-dev flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	qemu-system-x86 busybox-static debootstrap
	iproute2 iputils-ping nftables util-linux procps python3 rsync trace-cmd
	python3-matplotlib
	python3-yaml python3-jsonschema
	dwarves libbpf-dev
)

# An arm64 kernel to boot needs QEMU's arm64 system emulator.
for kv in "${wanted[@]+"${wanted[@]}"}"; do
	case $kv in *:prep:*) ;; *:arm64) PACKAGES+=(qemu-system-arm); break ;; esac
done
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	log "installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q >"$RNETNS_LOGS/apt-update.log" 2>&1 ||
		die "apt-get update failed, see $RNETNS_LOGS/apt-update.log"
	rnetns_stage "apt-get install" "$RNETNS_LOGS/apt-install.log" \
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi

command -v rustup >/dev/null ||
	die "rustup is needed to pin rustc $RNETNS_RUST_VERSION; install it, then rerun"
# Installing over an installed toolchain rewrites its timestamps and makes
# Kbuild rebuild rust/: only install what is missing.
if ! rustup run "$RNETNS_RUST_VERSION" rustc --version >/dev/null 2>&1; then
	rnetns_stage "rustup toolchain $RNETNS_RUST_VERSION" "$RNETNS_LOGS/rustup.log" \
		env RUSTUP_TOOLCHAIN= rustup toolchain install "$RNETNS_RUST_VERSION" \
		--profile minimal --component rust-src,rustfmt,clippy
fi
for c in rust-src rustfmt clippy; do
	if ! rustup component list --toolchain "$RNETNS_RUST_VERSION" --installed | grep -q "^$c"; then
		rnetns_stage "rustup component $c" "$RNETNS_LOGS/rustup-$c.log" \
			env RUSTUP_TOOLCHAIN= rustup component add --toolchain "$RNETNS_RUST_VERSION" "$c"
	fi
done

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $RNETNS_BINDGEN_VERSION" ]; then
	rnetns_stage "cargo install bindgen-cli $RNETNS_BINDGEN_VERSION" "$RNETNS_LOGS/bindgen.log" \
		cargo install --locked --root "$RNETNS_BINDGEN_DIR" bindgen-cli \
		--version "$RNETNS_BINDGEN_VERSION"
fi

# Kernel sources. 7.2 is not in bookworm: download Debian unstable's
# linux-source-7.2 with a private apt configuration (its Release file is past
# its Valid-Until date in the registry's frozen snapshot).
for k in "${RNETNS_KERNELS[@]}"; do
	pkg=linux-source-$k
	if [ "$(rnetns_ksuite "$k")" = unstable ] && [ ! -f "$RNETNS_CACHE/debs/$pkg.version" ]; then
		mkdir -p "$RNETNS_SID_APT/lists/partial" "$RNETNS_SID_APT/cache/archives/partial" \
			"$RNETNS_CACHE/debs"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main" \
			>"$RNETNS_SID_APT/sources.list"
		rnetns_stage "apt-get update (Debian unstable, private lists)" "$RNETNS_LOGS/apt-unstable.log" \
			rnetns_sid_apt update
		rm -f "$RNETNS_CACHE/debs/$pkg"_*.deb
		(cd "$RNETNS_CACHE/debs" && rnetns_sid_apt download "$pkg") >"$RNETNS_LOGS/download-$pkg.log" 2>&1 ||
			die "cannot download $pkg from Debian unstable; see $RNETNS_LOGS/download-$pkg.log"
		deb=$(ls "$RNETNS_CACHE/debs/$pkg"_*.deb)
		rm -rf "$RNETNS_CACHE/debs/$pkg.root"
		dpkg-deb -x "$deb" "$RNETNS_CACHE/debs/$pkg.root"
		dpkg-deb -f "$deb" Version >"$RNETNS_CACHE/debs/$pkg.version"
	fi
	src=$(rnetns_src_dir "$k")
	if [ ! -f "$src/.rnetns-extracted" ]; then
		if [ "$(rnetns_ksuite "$k")" = host ]; then
			tarball=/usr/src/$pkg.tar.xz
		else
			tarball=$RNETNS_CACHE/debs/$pkg.root/usr/src/$pkg.tar.xz
		fi
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		rnetns_stage "extract $pkg" "$RNETNS_LOGS/extract-$k.log" tar -C "$src.tmp" -xf "$tarball"
		mv "$src.tmp/$pkg" "$src"
		rmdir "$src.tmp"
		touch "$src/.rnetns-extracted"
	fi
done

# Prometheus and promtool (Debian's, bookworm) for the tests of the rnetns
# command's metrics: the package unpacked into the cache, never installed
# (it would start a server on the host).
if [ ! -x "$RNETNS_CACHE/debs/prometheus.root/usr/bin/promtool" ]; then
	mkdir -p "$RNETNS_CACHE/debs"
	rm -f "$RNETNS_CACHE/debs"/prometheus_*.deb
	(cd "$RNETNS_CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download prometheus) >"$RNETNS_LOGS/download-prometheus.log" 2>&1 ||
		die "cannot download Debian's prometheus package; see $RNETNS_LOGS/download-prometheus.log"
	rm -rf "$RNETNS_CACHE/debs/prometheus.root"
	dpkg-deb -x "$RNETNS_CACHE/debs"/prometheus_*.deb "$RNETNS_CACHE/debs/prometheus.root"
	log "prometheus $(dpkg-deb -f "$RNETNS_CACHE/debs"/prometheus_*.deb Version) unpacked for the tests"
fi

# The rnetns command (cli/), which the tests drive in the guests.
"$RNETNS_TOP/scripts/build-cli.sh" >/dev/null

# The Debian-kernel set-up is mostly downloads and unpacking (debootstrap,
# Debian's packages): it runs beside the kernel builds, its output in a log
# shown when it ends.
debian_pid=
debian_log=$RNETNS_LOGS/setup-debian.log
if [ ${#want_debian[@]} -gt 0 ]; then
	log "Debian-kernel set-up (${want_debian[*]}) started beside the kernel builds (log: $debian_log)"
	"$RNETNS_TOP/scripts/debian-test.sh" --setup --kernels "${want_debian[*]}" >"$debian_log" 2>&1 &
	debian_pid=$!
fi
if [ "$build_kernel" = 1 ]; then
	for kv in "${wanted[@]+"${wanted[@]}"}"; do
		IFS=: read -r k v a <<<"$kv"
		RNETNS_KERNEL=$k RNETNS_ARCH=$a "$RNETNS_TOP/scripts/build-kernel.sh" "$v" >/dev/null
		if [ "$a" = arm64 ] && [ "$v" != prep ]; then
			"$RNETNS_TOP/scripts/arm64-root.sh" >/dev/null
			"$RNETNS_TOP/scripts/build-cli.sh" --arch arm64 >/dev/null
		fi
	done
fi
if [ -n "$debian_pid" ]; then
	rc=0
	wait "$debian_pid" || rc=$?
	sed 's/^/  (debian) /' "$debian_log" >&2
	[ "$rc" = 0 ] || die "the Debian-kernel set-up failed (exit $rc); log: $debian_log"
fi
log "set-up complete"
