#!/bin/bash
# In the guest of `scripts/upstream-series.sh --build`: the kernel built
# from Linux 7.2 with the upstream series applied. Checks that the KUnit
# doctests of the kernel crate passed at boot, and that the sample module
# (samples/rust/rust_pernet.rs, $RNETNS_SAMPLE_KO) loads, gives every
# namespace its own /proc/net/rust_pernet that counts that namespace's
# packets only, and unloads leaving no file behind. KTAP output.
ko=${RNETNS_SAMPLE_KO:?}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

echo "KTAP version 1"
echo "1..8"

# KUnit prints each suite's result at boot; the doctests of the kernel
# crate are the suite rust_doctests_kernel.
log=$(dmesg)
doctests=$(grep -E '^\[ *[0-9.]+\] +(not )?ok [0-9]+ rust_doctests_kernel' <<<"$log")
echo "# ${doctests:-no rust_doctests_kernel result in the kernel log}"
grep -E '# rust_doctests_kernel: pass:' <<<"$log" | sed 's/^\[[^]]*\] */# /'
check "the kernel crate's doctests (KUnit, at boot) passed" grep -qE ' ok [0-9]+ rust_doctests_kernel' <<<"$doctests"
# The series' own: rust_doctest_kernel_net_namespace_rs_0 and the like.
ours='rust_doctest_kernel_(net_(genetlink|namespace|netfilter|pernet)|proc)_'
passed=$(grep -cE "^\[[^]]*\] +ok [0-9]+ $ours" <<<"$log")
failed_ours=$(grep -cE "not ok [0-9]+ $ours" <<<"$log")
grep -E "^\[[^]]*\] +ok [0-9]+ $ours" <<<"$log" | sed 's/^\[[^]]*\] */# /'
check "the series' doctests ran and passed ($passed passed, $failed_ours failed)" \
	test "$passed" -gt 0 -a "$failed_ours" = 0

ip netns add before
check "insmod rust_pernet.ko" insmod "$ko"
check "init_net and a namespace made before the load have the file" \
	test -r /proc/net/rust_pernet -a "$(ip netns exec before cat /proc/net/rust_pernet | field /dev/stdin inum)" != ""
ip netns add after
ip -n after link set lo up
ip netns exec after ping -c 5 -i 0.2 -q 127.0.0.1 >/dev/null
ip netns exec after cat /proc/net/rust_pernet >/tmp/after
ip netns exec before cat /proc/net/rust_pernet >/tmp/before
sed 's/^/# after: /' /tmp/after
sed 's/^/# before: /' /tmp/before
want=$(stat -L -c %i /run/netns/after)
check "a namespace made after the load shows its own inode number" test "$(field /tmp/after inum)" = "$want"
check "its pings are counted there (10 packets: 5 requests, 5 replies) and not elsewhere" \
	test "$(field /tmp/after packets)" = 10 -a "$(field /tmp/before packets)" = 0
ip netns del after
ip netns del before
check "rmmod" rmmod rust_pernet
check "no /proc/net/rust_pernet after the unload" test ! -e /proc/net/rust_pernet
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
