// SPDX-License-Identifier: GPL-2.0
/*
 * rnetns_ctwin: the C twin of rnetns, for the benchmarks in bench/ only.
 *
 * It does per network namespace what rnetns does, written as a C module
 * would be, so that the benchmarks can tell what the Rust version costs:
 *
 *  - a pernet_operations with a net_generic id and size;
 *  - in each namespace, one netfilter hook at each of the five IPv4 and the
 *    five IPv6 hook points, at priority INT_MIN, counting packets and bytes
 *    (skb->len) with this_cpu_add() into the namespace's one alloc_percpu()
 *    block of ten counter pairs; the ten nf_hook_ops are one static array
 *    registered in every namespace, each with its counter index as priv,
 *    and the hook finds the namespace's block through net_generic();
 *  - hooks unregistered in pre_exit, counters freed in exit;
 *  - a read-only /proc/net/rnetns_ctwin per namespace with the same content
 *    as /proc/net/rnetns (rnetns also accepts "reset" writes; the twin has
 *    no write handler).
 */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#define CTWIN_NFAMILIES	2
#define CTWIN_NHOOKS	(CTWIN_NFAMILIES * NF_INET_NUMHOOKS)

/* One CPU's copy of a counter. */
struct ctwin_totals {
	u64 packets;
	u64 bytes;
};

/* The net_generic slot of a namespace; zeroed by the netns core. */
struct ctwin_net {
	struct ctwin_totals __percpu *pcpu;	/* CTWIN_NHOOKS pairs */
	struct proc_dir_entry *pde;
	u64 created_ns;
};

static unsigned int ctwin_net_id __read_mostly;

static const char *const ctwin_family_name[CTWIN_NFAMILIES] = {
	"ipv4", "ipv6",
};

static const char *const ctwin_hook_name[NF_INET_NUMHOOKS] = {
	[NF_INET_PRE_ROUTING]	= "prerouting",
	[NF_INET_LOCAL_IN]	= "input",
	[NF_INET_FORWARD]	= "forward",
	[NF_INET_LOCAL_OUT]	= "output",
	[NF_INET_POST_ROUTING]	= "postrouting",
};

static unsigned int ctwin_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct ctwin_net *cn = net_generic(state->net, ctwin_net_id);
	struct ctwin_totals __percpu *c = cn->pcpu + (unsigned long)priv;

	this_cpu_add(c->packets, 1);
	this_cpu_add(c->bytes, skb->len);
	return NF_ACCEPT;
}

/* The hook of family index fam (0 IPv4, 1 IPv6) at hook point hk. */
#define CTWIN_OPS(fam, hk) {						\
	.hook		= ctwin_hook,					\
	.priv		= (void *)(unsigned long)((fam) * NF_INET_NUMHOOKS + (hk)), \
	.pf		= (fam) ? NFPROTO_IPV6 : NFPROTO_IPV4,		\
	.hooknum	= (hk),						\
	.priority	= INT_MIN,					\
}

/* Registered in every namespace: netfilter keeps per-namespace pointers. */
static const struct nf_hook_ops ctwin_ops[CTWIN_NHOOKS] = {
	CTWIN_OPS(0, NF_INET_PRE_ROUTING), CTWIN_OPS(0, NF_INET_LOCAL_IN),
	CTWIN_OPS(0, NF_INET_FORWARD), CTWIN_OPS(0, NF_INET_LOCAL_OUT),
	CTWIN_OPS(0, NF_INET_POST_ROUTING),
	CTWIN_OPS(1, NF_INET_PRE_ROUTING), CTWIN_OPS(1, NF_INET_LOCAL_IN),
	CTWIN_OPS(1, NF_INET_FORWARD), CTWIN_OPS(1, NF_INET_LOCAL_OUT),
	CTWIN_OPS(1, NF_INET_POST_ROUTING),
};

static struct ctwin_totals ctwin_fold(const struct ctwin_net *cn, int i)
{
	struct ctwin_totals sum = {};
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct ctwin_totals *t = per_cpu_ptr(cn->pcpu + i, cpu);

		sum.packets += READ_ONCE(t->packets);
		sum.bytes += READ_ONCE(t->bytes);
	}
	return sum;
}

static int ctwin_show(struct seq_file *m, void *v)
{
	struct net *net = seq_file_single_net(m);
	struct ctwin_net *cn = net_generic(net, ctwin_net_id);
	u64 age = ktime_get_boottime_ns() - cn->created_ns;
	int i;

	seq_printf(m, "inum %u\n", net->ns.inum);
	seq_printf(m, "cookie %llu\n", net->net_cookie);
	seq_printf(m, "init_net %d\n", net_eq(net, &init_net));
	seq_printf(m, "created_ns %llu\n", cn->created_ns);
	seq_printf(m, "age_ms %llu\n", div_u64(age, NSEC_PER_MSEC));
	seq_puts(m, "family hook packets bytes\n");
	for (i = 0; i < CTWIN_NHOOKS; i++) {
		struct ctwin_totals t = ctwin_fold(cn, i);

		seq_printf(m, "%s %s %llu %llu\n",
			   ctwin_family_name[i / NF_INET_NUMHOOKS],
			   ctwin_hook_name[i % NF_INET_NUMHOOKS],
			   t.packets, t.bytes);
	}
	return 0;
}

static int __net_init ctwin_net_init(struct net *net)
{
	struct ctwin_net *cn = net_generic(net, ctwin_net_id);
	int err;

	cn->pcpu = __alloc_percpu(CTWIN_NHOOKS * sizeof(struct ctwin_totals),
				  __alignof__(struct ctwin_totals));
	if (!cn->pcpu)
		return -ENOMEM;
	cn->created_ns = ktime_get_boottime_ns();

	err = nf_register_net_hooks(net, ctwin_ops, CTWIN_NHOOKS);
	if (err)
		goto err_free;

	cn->pde = proc_create_net_single("rnetns_ctwin", 0444, net->proc_net,
					 ctwin_show, NULL);
	if (!cn->pde) {
		err = -ENOMEM;
		goto err_unhook;
	}
	return 0;

err_unhook:
	nf_unregister_net_hooks(net, ctwin_ops, CTWIN_NHOOKS);
	/* Packets may still be inside the hooks. */
	synchronize_net();
err_free:
	free_percpu(cn->pcpu);
	return err;
}

static void __net_exit ctwin_net_pre_exit(struct net *net)
{
	/* The netns core waits for a grace period before ->exit. */
	nf_unregister_net_hooks(net, ctwin_ops, CTWIN_NHOOKS);
}

static void __net_exit ctwin_net_exit(struct net *net)
{
	struct ctwin_net *cn = net_generic(net, ctwin_net_id);

	proc_remove(cn->pde);
	free_percpu(cn->pcpu);
}

static struct pernet_operations ctwin_net_ops = {
	.init		= ctwin_net_init,
	.pre_exit	= ctwin_net_pre_exit,
	.exit		= ctwin_net_exit,
	.id		= &ctwin_net_id,
	.size		= sizeof(struct ctwin_net),
};

static int __init ctwin_init(void)
{
	return register_pernet_subsys(&ctwin_net_ops);
}

static void __exit ctwin_exit(void)
{
	unregister_pernet_subsys(&ctwin_net_ops);
}

module_init(ctwin_init);
module_exit(ctwin_exit);

MODULE_DESCRIPTION("C twin of rnetns: per-netns netfilter packet counters, for benchmarks");
MODULE_LICENSE("GPL");
