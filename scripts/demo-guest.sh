#!/bin/bash
# The demo, run inside the test VM by scripts/demo.sh.
set -e
KO=$RNETNS_KO
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A namespace that exists before rnetns is loaded"
run ip netns add before

say "Load rnetns: every existing namespace is set up"
run insmod "$KO"
dmesg | grep rnetns: | tail -n 1

say "init_net's view"
run cat /proc/net/rnetns
run stat -L -c 'netns inode %i' /proc/self/ns/net

say "Namespaces made after loading, each sees only itself"
run ip netns add red
run ip netns add blue
for ns in before red blue; do
	run ip netns exec $ns cat /proc/net/rnetns
	run stat -L -c "inode of $ns: %i" /run/netns/$ns
done
run unshare -n cat /proc/net/rnetns

say "Two namespaces joined by veth: traffic shows in each one's counters"
run ip link add veth-red netns red type veth peer name veth-blue netns blue
run ip -n red addr add 10.99.0.1/24 dev veth-red
run ip -n blue addr add 10.99.0.2/24 dev veth-blue
run ip -n red link set veth-red up
run ip -n blue link set veth-blue up
run ip netns exec red sh -c 'echo reset > /proc/net/rnetns'
run ip netns exec red sh -c "grep -E '^(family|ipv4)' /proc/net/rnetns"
run ip netns exec red ping -c 3 -i 0.2 -q 10.99.0.2 || true
run ip netns exec red sh -c "grep -E '^(family|ipv4)' /proc/net/rnetns"
run ip netns exec blue sh -c "grep -E '^(family|ipv4)' /proc/net/rnetns"

say "Resetting needs CAP_NET_ADMIN over the namespace; garbage is refused"
run ip netns exec red sh -c 'echo reset > /proc/net/rnetns && echo "reset: ok"'
# dd (coreutils) prints the errno of a failed write; a shell's own message
# for it varies (dash says "I/O error" whatever the errno).
run ip netns exec red sh -c 'echo bogus | dd of=/proc/net/rnetns status=none' || true
run ip netns exec red setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo reset | dd of=/proc/net/rnetns status=none' || true

say "Counting only where asked: hooks= per namespace, at run time"
run ip netns exec red sh -c 'echo hooks=ipv4:input,ipv6 > /proc/net/rnetns'
run ip netns exec red sh -c "grep -E '^(hooks|family|ipv4)' /proc/net/rnetns"
run ip netns exec red sh -c 'nft list hooks | grep -c rnetns'
run ip netns exec red sh -c 'echo hooks=none > /proc/net/rnetns'
run ip netns exec red sh -c 'nft list hooks | grep -c rnetns' || true
run ip netns exec red sh -c 'echo hooks=ipv5 | dd of=/proc/net/rnetns status=none' || true
run ip netns exec red sh -c 'echo hooks=all > /proc/net/rnetns'

say "Lifecycle totals (init_net only, root only)"
run cat /proc/net/rnetns_lifecycle
run ip netns del red
run ip netns del blue
sleep 1
run cat /proc/net/rnetns_lifecycle

say "Unload: every namespace is torn down"
run rmmod rnetns
dmesg | grep rnetns: | tail -n 2
run ip netns del before
