# shellcheck shell=bash
# The benchmark's network namespaces, shared by scripts/bench-guest.sh and
# bench/ebpf/check-guest.sh (inside the VM; source it): A and B joined by
# the veth pair va/vb in 198.18.0.0/24 (the benchmarking range of
# RFC 2544), and L for loopback traffic.

# The namespaces, by their `ip netns` names.
BENCH_NS=(A B L)

# bench_netns_up: make the namespaces and the veth pair. The neighbour
# entries are permanent: no measurement waits on ARP, and none runs the
# neighbour's slow path when an entry has gone stale (an exact instruction
# count would see that, in some rounds and not others).
bench_netns_up() {
	local ns
	for ns in "${BENCH_NS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add va netns A type veth peer name vb netns B
	ip -n A addr add 198.18.0.1/24 dev va
	ip -n B addr add 198.18.0.2/24 dev vb
	ip -n A link set va up
	ip -n B link set vb up
	ip -n A neigh replace 198.18.0.2 dev va nud permanent \
		lladdr "$(ip netns exec B cat /sys/class/net/vb/address)"
	ip -n B neigh replace 198.18.0.1 dev vb nud permanent \
		lladdr "$(ip netns exec A cat /sys/class/net/va/address)"
}
