#!/usr/bin/env bash
# The Debian-kernel runs of the test command (scripts/test.sh --kernel
# debian, debian-rt, debian-cloud): rnetns on Debian unstable's own Linux
# 7.2 kernels, unmodified, one run per kernel, one after another (they share
# the chroot).
#   1. the prepared build dir (scripts/distro-kdir.sh, in the cached sid
#      chroot: headers, linux-source, rust/ rebuilt by Debian's rustc),
#   2. the rnetns-dkms package built from this clone (dpkg-buildpackage,
#      dh-dkms) and installed with apt in the chroot: DKMS builds rnetns for
#      the kernel and installs it in /lib/modules/<release>/updates/dkms,
#   3. Debian's vmlinuz (linux-binary-unsigned-<release>, never rebuilt)
#      booted under QEMU with an initramfs that loads Debian's 9p and
#      virtio modules (the cloud flavour has no 9p: its initramfs carries
#      9pnet, 9pnet_virtio and 9p built from the same linux-source against
#      the prepared dir, in the chroot); the guest's /lib/modules is the
#      chroot's (Debian's
#      linux-modules package plus what DKMS installed). The guest modprobes
#      the DKMS module, checks it is that build, then runs the KTAP tests
#      with it; the tracing tests in a guest of their own with one vCPU.
# KTAP documents go to RESULTS-DIR; the last lines of each kernel's run are
# its summary under its own heading (scripts/test.sh counts the documents
# again in its total, from the list in RESULTS-DIR/docs).
# Usage: scripts/debian-test.sh [--setup] [--kernels "NAME..."] RESULTS-DIR [TEST-FILE...]
#   --setup    only the cached set-up (steps 1 and the kernel image)
#   --kernels  the kernels to run, by the test command's names: debian
#              (7.2.13+deb14-amd64), debian-rt (7.2.13+deb14-rt-amd64,
#              PREEMPT_RT), debian-cloud (7.2.13+deb14-cloud-amd64)
#              (default: the one of RNETNS_DEB_RELEASE)
# Env: RNETNS_DEB_RELEASE  the kernel release when --kernels is not given
#                          (default 7.2.13+deb14-amd64)
#      RNETNS_DEB_TIMEOUT  the main guest's time-out in seconds (default 2700)
#      RNETNS_DMESG_KEEP   1 (the default): the kernel-log scan also covers
#                          what the tests' `dmesg -C` cleared; 0: it does not
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/debian-lib.sh"
cd "$RNETNS_TOP"

setup_only=0 kernels=() append_docs=0
while [ $# -gt 0 ]; do
	case $1 in
	--setup) setup_only=1 ;;
	--kernels) read -ra kernels <<<"$2"; shift ;;
	--append-docs) append_docs=1 ;; # (a run of several kernels: each appends)
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "debian-test.sh: unknown option '$1' (see --help)" ;;
	*) break ;;
	esac
	shift
done
for k in "${kernels[@]}"; do
	case " ${RNETNS_DEB_KERNELS[*]} " in
	*" $k "*) ;;
	*) die "debian-test.sh: unknown Debian kernel '$k' (known: ${RNETNS_DEB_KERNELS[*]})" ;;
	esac
done
# Several kernels: each one's run in turn, by this script.
if [ ${#kernels[@]} -gt 1 ]; then
	rc=0
	if [ "$setup_only" = 1 ]; then
		for k in "${kernels[@]}"; do
			RNETNS_DEB_RELEASE=$(rnetns_deb_release "$k") "$0" --setup || rc=1
		done
		exit "$rc"
	fi
	results=${1:?usage: scripts/debian-test.sh [--setup] [--kernels "NAME..."] RESULTS-DIR [TEST-FILE...]}
	shift
	mkdir -p "$results"
	: >"$results/docs"
	for k in "${kernels[@]}"; do
		r=$(rnetns_deb_release "$k")
		RNETNS_DEB_RELEASE=$r "$0" --append-docs "$results" "$@" || rc=1
		# A run that stopped before its summary counts as failed.
		n=$(rnetns_deb_name "$r")
		grep -q "^$n-dkms=" "$results/docs" || echo "$n=$results/$n-none.ktap" >>"$results/docs"
	done
	exit "$rc"
fi
[ ${#kernels[@]} -eq 0 ] || RNETNS_DEB_RELEASE=$(rnetns_deb_release "${kernels[0]}")
rel=$RNETNS_DEB_RELEASE
# The heading and the result labels of this kernel's run (debian, debian-rt).
name=$(rnetns_deb_name "$rel")
# Stage times, in a file: some stages run in a subshell.
times=$(mktemp)
trap 'rm -f "$times" "$times.t0"' EXIT
date +%s >"$times.t0"
lap() {
	echo "$1 $(( $(date +%s) - $(cat "$times.t0") ))s" >>"$times"
	date +%s >"$times.t0"
}

# 1. Chroot (made and reused by distro-kdir.sh) and the prepared build dir.
kdir=$("$RNETNS_TOP/scripts/distro-kdir.sh" --chroot "$rel")
lap "chroot+prepare"

# Debian's kernel image, extracted (never installed) from its package.
kimg=/var/cache/rnetns/kernel/$rel
# (In usr/lib/modules/<release>/vmlinuz.unsigned; boot/vmlinuz-<release>
# in older packages.)
find_vmlinuz() {
	find "$RNETNS_SID$kimg" -type f \( -name "vmlinuz-$rel" -o -name 'vmlinuz*' \) 2>/dev/null | head -n1 || true
}
vmlinuz=$(find_vmlinuz)
if [ -z "$vmlinuz" ]; then
	rnetns_stage "download linux-binary-unsigned-$rel" "$RNETNS_LOGS/$name-kernel-image.log" \
		rnetns_in_sid sh -c 'set -e; mkdir -p /var/cache/rnetns/debs "$2.tmp"; cd /var/cache/rnetns/debs
			rm -f linux-binary-unsigned-"$1"_*.deb
			apt-get -q download linux-binary-unsigned-"$1"
			dpkg-deb -x linux-binary-unsigned-"$1"_*.deb "$2.tmp"
			rm -rf "$2"; mv "$2.tmp" "$2"' sh "$rel" "$kimg"
fi
vmlinuz=$(find_vmlinuz)
[ -n "$vmlinuz" ] || die "no vmlinuz in linux-binary-unsigned-$rel (extracted in $RNETNS_SID$kimg)"
lap "kernel image"

# The guest mounts the host's root over 9p (virtio). Debian's cloud kernel
# has virtio but no 9p (CONFIG_NET_9P, CONFIG_9P_FS unset; virtiofs is
# built in, but would need a virtiofsd and shared guest memory in
# qemu/run): for it, 9pnet, 9pnet_virtio and 9p are built as modules from
# net/9p and fs/9p of the same linux-source, against the prepared dir, by
# the kernel's gcc, in the chroot (seconds; cached with the prepared dir).
# They go into the initramfs only; the kernel stays Debian's.
own9p=/var/cache/rnetns/9p/$rel
own9p_mods=()
if ! modprobe -d "$RNETNS_SID" -S "$rel" --show-depends 9p >/dev/null 2>&1; then
	own9p_mods=(net/9p/9pnet.ko net/9p/9pnet_virtio.ko fs/9p/9p.ko)
	key=$(cat "$kdir/.rnetns-prepared")
	if [ "$(cat "$RNETNS_SID$own9p/.rnetns-built" 2>/dev/null)" != "$key" ]; then
		rnetns_stage "build 9p modules for $rel (it has none)" "$RNETNS_LOGS/$name-9p-build.log" \
			rnetns_in_sid sh -c 'set -e; k=$1 d=$2 rel=$3 key=$4
				cc=$(sed -nE "s/^CONFIG_CC_VERSION_TEXT=\"([^ ]+) .*/\1/p" "$k/.config")
				rm -rf "$d"; mkdir -p "$d/net" "$d/fs"
				cp -a "$k/net/9p" "$d/net/"; cp -a "$k/fs/9p" "$d/fs/"
				echo "obj-m += net/9p/ fs/9p/" >"$d/Kbuild"
				make -C "$k" M="$d" CC="$cc" KERNELRELEASE="$rel" -j"$(nproc)" \
					CONFIG_NET_9P=m CONFIG_NET_9P_VIRTIO=m CONFIG_9P_FS=m modules
				echo "$key" >"$d/.rnetns-built"' sh "${kdir#"$RNETNS_SID"}" "$own9p" "$rel" "$key"
	fi
	for m in "${own9p_mods[@]}"; do
		[ -f "$RNETNS_SID$own9p/$m" ] || die "no $m after building 9p for $rel (log: $RNETNS_LOGS/$name-9p-build.log)"
	done
	lap "9p modules"
fi
[ "$setup_only" = 0 ] || { log "Debian-kernel set-up done ($rel): $(paste -sd, "$times")"; exit 0; }

results=${1:?usage: scripts/debian-test.sh [--setup] [--kernels "NAME..."] RESULTS-DIR [TEST-FILE...]}
shift
mkdir -p "$results"
results=$(cd "$results" && pwd)
[ "$append_docs" = 1 ] || : >"$results/docs"
# This kernel's documents (also appended to RESULTS-DIR/docs at the end).
docs_file=$results/$name.docs
: >"$docs_file"
# apt and dpkg in the chroot wait for a lock another run holds.
apt_lock="-o DPkg::Lock::Timeout=900"

# 2. The rnetns-dkms package, built in the chroot from a copy of this clone,
# and installed there with apt (a reinstall: DKMS builds anew).
pkgsrc=/usr/local/src/rnetns-pkg-$rel
host_pkgsrc=$RNETNS_SID$pkgsrc
$RNETNS_SUDO rm -rf "$host_pkgsrc"
$RNETNS_SUDO mkdir -p "$host_pkgsrc/rnetns"
$RNETNS_SUDO bash -c "$(declare -f rnetns_copy_sources); RNETNS_TOP=\$1; rnetns_copy_sources \"\$2\"" \
	sh "$RNETNS_TOP" "$host_pkgsrc/rnetns"
# The command's crates, vendored for the offline package build (debian/rules).
vendor=$(mktemp -d)
cargo vendor --locked --manifest-path "$RNETNS_TOP/cli/Cargo.toml" "$vendor/vendor" \
	>"$RNETNS_LOGS/$name-cargo-vendor.log" 2>&1 ||
	die "cargo vendor of cli/ failed; see $RNETNS_LOGS/$name-cargo-vendor.log"
$RNETNS_SUDO cp -a "$vendor/vendor" "$host_pkgsrc/rnetns/cli/vendor"
rm -rf "$vendor"
deb_ktap=$results/$name-dkms.ktap
dkms_log=$RNETNS_LOGS/$name-dkms-install.log
ko_dkms=/lib/modules/$rel/updates/dkms/rnetns.ko.xz
{
	echo "KTAP version 1"
	echo "1..4"
	if rnetns_in_sid sh -c "cd $pkgsrc/rnetns && dpkg-buildpackage -b -us -uc" \
		>"$RNETNS_LOGS/$name-dpkg-buildpackage.log" 2>&1; then
		deb=$(cd "$host_pkgsrc" && ls rnetns-dkms_*_all.deb)
		tools=$(cd "$host_pkgsrc" && ls rnetns-tools_*.deb)
		mkdir -p "$RNETNS_DEB_DIR/pkg"
		rm -f "$RNETNS_DEB_DIR/pkg/"*.deb
		cp "$host_pkgsrc/$deb" "$RNETNS_DEB_DIR/pkg/"
		echo "# $deb: $(dpkg-deb -c "$host_pkgsrc/$deb" | grep -c .) files; copy in $RNETNS_DEB_DIR/pkg"
		echo "ok 1 the rnetns-dkms package builds (dpkg-buildpackage, dh-dkms)"
	else
		tail -n 20 "$RNETNS_LOGS/$name-dpkg-buildpackage.log" | sed 's/^/# /'
		echo "not ok 1 the rnetns-dkms package builds (log: $RNETNS_LOGS/$name-dpkg-buildpackage.log)"
		deb= tools=
	fi
	lap "package"
	if [ -n "$deb" ] && rnetns_in_sid sh -c "if dpkg -s rnetns-dkms >/dev/null 2>&1; then apt-get $apt_lock -q -y purge rnetns-dkms; fi && cd $pkgsrc &&
		apt-get $apt_lock -q -y install ./$deb && dkms status rnetns" >"$dkms_log" 2>&1 &&
		grep -q "rnetns/.*, $rel, x86_64: installed" "$dkms_log" && [ -f "$RNETNS_SID$ko_dkms" ]; then
		sed -n '/^Building for/,$p' "$dkms_log" | sed 's/^/# /'
		echo "ok 2 apt install ./$deb: DKMS builds and installs rnetns for $rel"
	else
		tail -n 30 "$dkms_log" 2>/dev/null | sed 's/^/# /'
		echo "not ok 2 apt install ./$deb: DKMS builds and installs rnetns for $rel (log: $dkms_log)"
	fi
	vermagic=$(rnetns_in_sid modinfo -F vermagic "$ko_dkms" 2>/dev/null || true)
	echo "# $ko_dkms: vermagic $vermagic"
	if [ "${vermagic%% *}" = "$rel" ]; then
		echo "ok 3 the installed module's vermagic is $rel's"
	else
		echo "not ok 3 the installed module's vermagic is $rel's"
	fi
	# The command's package, beside it: installs, and its binary runs there.
	if [ -n "$tools" ] && rnetns_in_sid sh -c "cd $pkgsrc && apt-get $apt_lock -q -y install ./$tools && rnetns --version && rnetns --help | head -n 3 && dpkg -L rnetns-tools | grep -x /usr/bin/rnetns" \
		>"$RNETNS_LOGS/$name-tools-install.log" 2>&1; then
		tail -n 5 "$RNETNS_LOGS/$name-tools-install.log" | sed 's/^/# /'
		echo "ok 4 apt install ./$tools: /usr/bin/rnetns runs"
	else
		tail -n 20 "$RNETNS_LOGS/$name-tools-install.log" 2>/dev/null | sed 's/^/# /'
		echo "not ok 4 apt install ./${tools:-rnetns-tools}: /usr/bin/rnetns runs (log: $RNETNS_LOGS/$name-tools-install.log)"
	fi
} | tee "$deb_ktap"
lap "dkms install"
echo "$name-dkms=$deb_ktap" >>"$docs_file"

# 3. Debian's kernel under QEMU. Its netfilter hooks are behind jump labels,
# so registering hooks patches kernel text (int3 first) while the other
# vCPU runs: with a host thread per vCPU, TCG can let it execute a
# just-removed int3 ("Oops: int3" in __ip_local_out, seen in t25), so the
# guest runs with one TCG thread for its two vCPUs. The tests insmod an uncompressed copy of
# the DKMS module (the guest checks that it is the same build).
main="$results/$name"
trace="$results/$name-trace"
mkdir -p "$main" "$trace"
# (In the scratch dir, which the guest sees at the same path.)
ko=$main/rnetns-dkms.ko
xz -dc "$RNETNS_SID$ko_dkms" >"$ko" 2>/dev/null || : >"$ko"
cp "$ko" "$trace/"
build_id=$( (readelf -n "$ko" 2>/dev/null || true) | sed -n "s/.*Build ID: //p")

# The initramfs: busybox, Debian's 9p/virtio modules in load order
# (uncompressed; for the cloud kernel, Debian's virtio and netfs, then the
# 9p modules built above), qemu/debian-init.
initrd=$RNETNS_DEB_DIR/kernel/$rel/initrd.img
work=$(mktemp -d)
mkdir -p "$work/bin" "$work/modules" "$(dirname "$initrd")"
cp /bin/busybox "$work/bin/busybox"
cp "$RNETNS_TOP/qemu/debian-init" "$work/init"
deb_mods=(virtio_pci 9pnet_virtio 9p)
[ ${#own9p_mods[@]} -eq 0 ] || deb_mods=(virtio_pci netfs)
modprobe -d "$RNETNS_SID" -S "$rel" -a --show-depends "${deb_mods[@]}" 2>&1 |
	awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' >"$work/paths"
for m in "${own9p_mods[@]}"; do echo "$RNETNS_SID$own9p/$m" >>"$work/paths"; done
[ -s "$work/paths" ] || die "no 9p/virtio modules found for $rel in $RNETNS_SID/lib/modules/$rel"
while IFS= read -r p; do
	m=$(basename "$p" .xz)
	m=${m%.zst}
	case $p in
	*.xz) xz -dc "$p" >"$work/modules/$m" ;;
	*.zst) zstd -qdc "$p" >"$work/modules/$m" ;;
	*) cp "$p" "$work/modules/$m" ;;
	esac
	echo "$m" >>"$work/modules.list"
done <"$work/paths"
(cd "$work" && rm paths && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
rm -rf "$work"
lap "initramfs"

tests=("$@") trace_tests=()
if [ ${#tests[@]} -eq 0 ]; then
	for t in tests/t*.sh; do
		case $t in
		*-trace.sh) trace_tests+=("$t") ;;
		*) tests+=("$t") ;;
		esac
	done
fi
# The kernel-log scan covers what the tests' `dmesg -C` cleared too
# (RNETNS_DMESG_KEEP, tests/lib.sh), as in every guest.
keep=${RNETNS_DMESG_KEEP:-1}
genv=(env RNETNS_DEB_RELEASE="$rel" RNETNS_DEB_MODROOT="$RNETNS_SID" RNETNS_DEB_BUILD_ID="$build_id" RNETNS_DMESG_KEEP="$keep")
qrun=("$RNETNS_TOP/qemu/run" --kernel 7.2 --variant debian --bzimage "$vmlinuz" --initrd "$initrd")
log "Debian's kernel $rel: booting $vmlinuz (unmodified) with rnetns from DKMS"
rc=0
# shellcheck disable=SC2086
# Every test its features allow, at a lower priority than the debug guest
# beside it (scripts/test.sh), one TCG thread: about 15 minutes alone, more
# than 900 s (qemu/run's default time-out) beside that guest.
"${qrun[@]}" --tcg single --timeout "${RNETNS_DEB_TIMEOUT:-2700}" --scratch "$main" ${RNETNS_QEMU_ARGS:-} -- "${genv[@]}" RNETNS_KO="$ko" scripts/debian-guest.sh "${tests[@]}" || rc=$?
echo "$name-guest=$main/debian-guest.ktap" >>"$docs_file"
echo "$name=$main/results.ktap:$rc" >>"$docs_file"
lap "boot+tests"
if [ ${#trace_tests[@]} -gt 0 ]; then
	log "Debian's kernel $rel: the tracing tests, one vCPU"
	rc=0
	"${qrun[@]}" --smp 1 --scratch "$trace" -- "${genv[@]}" RNETNS_KO="$trace/rnetns-dkms.ko" \
		scripts/debian-guest.sh --tests-only "${trace_tests[@]}" || rc=$?
	echo "$name-trace=$trace/results.ktap:$rc" >>"$docs_file"
	lap "boot+tracing tests"
fi

echo
echo "=== Debian's own kernel: uname -r $(sed -n 's/^# uname -r: //p' "$main/debian-guest.ktap" 2>/dev/null | head -n1) (rnetns from the rnetns-dkms package) ==="
echo "# times: $(paste -sd, "$times" | sed 's/,/, /g')"
cat "$docs_file" >>"$results/docs"
mapfile -t docs <"$docs_file"
python3 "$RNETNS_TOP/scripts/ktap-summary.py" "${docs[@]}"
