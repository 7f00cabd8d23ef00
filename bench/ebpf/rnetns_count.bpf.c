// SPDX-License-Identifier: GPL-2.0
/*
 * rnetns_count.bpf.c - the eBPF peer of rnetns, for the benchmarks only.
 *
 * A BPF_PROG_TYPE_NETFILTER program that counts the packets and bytes it
 * sees, per (family, hook point), into a per-CPU array of ten counter pairs
 * indexed as rnetns indexes its own: (pf == NFPROTO_IPV6) * 5 + hooknum.
 * The loader (rnetns-ebpf.c) loads one instance of it per network namespace
 * and attaches it there with ten netfilter bpf_links, so that every
 * namespace has its own map, as every namespace has its own counters in
 * rnetns. The kernel types are declared with only the fields read:
 * libbpf relocates the accesses (CO-RE) against the running kernel's BTF.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NF_ACCEPT		1
#define NFPROTO_IPV6		10
#define NF_INET_NUMHOOKS	5

struct nf_hook_state {
	__u8 hook;
	__u8 pf;
} __attribute__((preserve_access_index));

struct sk_buff {
	unsigned int len;
} __attribute__((preserve_access_index));

struct bpf_nf_ctx {
	const struct nf_hook_state *state;
	struct sk_buff *skb;
} __attribute__((preserve_access_index));

struct totals {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * NF_INET_NUMHOOKS);
	__type(key, __u32);
	__type(value, struct totals);
} counters SEC(".maps");

SEC("netfilter")
int rnetns_count(struct bpf_nf_ctx *ctx)
{
	const struct nf_hook_state *state = ctx->state;
	__u32 index = (state->pf == NFPROTO_IPV6) * NF_INET_NUMHOOKS + state->hook;
	struct totals *t = bpf_map_lookup_elem(&counters, &index);

	/*
	 * This CPU's own slot: plain adds, as usual with per-CPU maps (an
	 * update interrupted by a softirq on the same CPU may lose the
	 * softirq's count; the benchmark only needs the counts to move).
	 */
	if (t) {
		t->packets++;
		t->bytes += ctx->skb->len;
	}
	return NF_ACCEPT;
}

char LICENSE[] SEC("license") = "GPL";
