# shellcheck shell=bash
# The Debian-kernel part of the rnetns scripts (issue 14): Debian's own
# Linux 7.2 kernel, unmodified, as Debian unstable ships it. Source it after
# lib.sh; do not run it.
#
# On this project's bookworm machines everything Debian-unstable happens in a
# cached chroot under the cache (the host's packages are never touched):
#   debian/sid/                 debootstrap --variant=minbase sid chroot
#                               (toolchain: gcc-16, rustc, bindgen, dkms...)
#   debian/sid/var/cache/rnetns/distro/<release>/
#                               the prepared build dir of scripts/distro-kdir.sh
#   debian/kernel/<release>/    Debian's vmlinuz and modules tree (extracted
#                               from linux-binary-unsigned-* and
#                               linux-modules-*) and the test initramfs
#   debian/pkg/                 the rnetns-dkms package last built

# The Debian kernels the test command boots: Debian unstable's current 7.2
# ABI, in three flavours with CONFIG_RUST=y, by the names scripts/test.sh
# --kernel gives them:
#   debian        7.2.13+deb14-amd64        the generic kernel (the default run)
#   debian-rt     7.2.13+deb14-rt-amd64     CONFIG_PREEMPT_RT=y
#   debian-cloud  7.2.13+deb14-cloud-amd64  for virtual machines: no 9p,
#                 so the test initramfs carries 9p modules built from the
#                 same linux-source (scripts/debian-test.sh)
RNETNS_DEB_ABI=${RNETNS_DEB_ABI:-7.2.13+deb14}
RNETNS_DEB_KERNELS=(debian debian-rt debian-cloud)
# rnetns_deb_release NAME: the kernel release of a name above (or a release
# given as such), e.g. debian-rt -> 7.2.13+deb14-rt-amd64.
rnetns_deb_release() {
	case $1 in
	debian) echo "$RNETNS_DEB_ABI-amd64" ;;
	debian-*) echo "$RNETNS_DEB_ABI-${1#debian-}-amd64" ;;
	[0-9]*) echo "$1" ;;
	*) return 1 ;;
	esac
}
# rnetns_deb_name RELEASE: the reverse (7.2.13+deb14-rt-amd64 -> debian-rt):
# the heading and the result labels of that kernel's run.
rnetns_deb_name() {
	local f=${1#*+deb*-}
	f=${f%amd64}
	echo "debian${f:+-${f%-}}"
}
# The Debian kernel booted when none is named (scripts/debian-test.sh,
# scripts/distro-kdir.sh's examples).
RNETNS_DEB_RELEASE=${RNETNS_DEB_RELEASE:-$RNETNS_DEB_ABI-amd64}
RNETNS_DEB_DIR=$RNETNS_CACHE/debian
RNETNS_SID=$RNETNS_DEB_DIR/sid
RNETNS_DEB_MIRROR=${RNETNS_DEB_MIRROR:-http://deb.debian.org/debian}

# Root for the commands that need it (debootstrap, chroot).
RNETNS_SUDO=
[ "$(id -u)" -eq 0 ] || RNETNS_SUDO=sudo

# The kernel series (7.2) of a Debian kernel release (7.2.13+deb14-amd64).
rnetns_deb_series() { sed -nE 's/^([0-9]+\.[0-9]+)\..*/\1/p' <<<"$1"; }

# What the chroot needs: the kernel's build dependencies, Debian's Rust
# toolchain (the one the kernel was built with), DKMS and the packaging
# tools. Kernel packages are added per release (rnetns_sid_kernel_pkgs).
RNETNS_SID_PKGS=(
	make flex bison bc libelf-dev libssl-dev python3 xz-utils zstd kmod cpio rsync
	rustc rust-src bindgen libclang-dev
	dkms dh-dkms debhelper dpkg-dev fakeroot build-essential cargo
)

# rnetns_in_sid CMD...: run CMD as root in the chroot, in a mount namespace
# of its own (so /proc, /dev and /sys mounted for it vanish with it), with a
# clean environment.
rnetns_in_sid() {
	$RNETNS_SUDO unshare --mount --propagation private -- /bin/sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" &&
		mount --rbind /dev "$root/dev" &&
		mount -t sysfs sysfs "$root/sys" &&
		mount -t tmpfs tmpfs "$root/tmp" &&
		exec chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive "$@"' sh "$RNETNS_SID" "$@"
}

# rnetns_sid_ensure: make the chroot (about 1.5 min) and install its
# packages (the list above and the arguments), once; later calls only check
# the stamp, the packages installed so far, and install the ones not in it.
rnetns_sid_ensure() {
	local want stamp=$RNETNS_SID/.rnetns-packages
	if [ ! -f "$RNETNS_SID/.rnetns-debootstrap" ]; then
		command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/setup.sh"
		$RNETNS_SUDO rm -rf "$RNETNS_SID"
		mkdir -p "$RNETNS_DEB_DIR"
		rnetns_stage "debootstrap Debian unstable (chroot $RNETNS_SID)" "$RNETNS_LOGS/debootstrap.log" \
			$RNETNS_SUDO debootstrap --variant=minbase --include=ca-certificates \
			sid "$RNETNS_SID" "$RNETNS_DEB_MIRROR"
		# The registry's unstable is a frozen snapshot whose Release file
		# is past its Valid-Until date. Recommends stay out, as on a
		# minimal system.
		printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'APT::Install-Recommends "false";' |
			$RNETNS_SUDO tee "$RNETNS_SID/etc/apt/apt.conf.d/99rnetns" >/dev/null
		printf '#!/bin/sh\nexit 101\n' | $RNETNS_SUDO tee "$RNETNS_SID/usr/sbin/policy-rc.d" >/dev/null
		$RNETNS_SUDO chmod 755 "$RNETNS_SID/usr/sbin/policy-rc.d"
		$RNETNS_SUDO touch "$RNETNS_SID/.rnetns-debootstrap"
		$RNETNS_SUDO rm -f "$stamp"
	fi
	want=$(printf '%s\n' "${RNETNS_SID_PKGS[@]}" "$@")
	[ ! -f "$stamp" ] || want=$(grep -vxF -f "$stamp" <<<"$want" || true)
	if [ -n "$want" ]; then
		rnetns_stage "apt-get update (chroot)" "$RNETNS_LOGS/sid-apt-update.log" \
			rnetns_in_sid apt-get -q update
		# shellcheck disable=SC2086
		rnetns_stage "apt-get install (chroot): $(echo $want | cut -c1-60)..." "$RNETNS_LOGS/sid-apt-install.log" \
			rnetns_in_sid apt-get -q -y install $want
		printf '%s\n' "$want" | $RNETNS_SUDO tee -a "$stamp" >/dev/null
	fi
}
