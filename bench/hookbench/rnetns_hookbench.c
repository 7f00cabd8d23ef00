// SPDX-License-Identifier: GPL-2.0
/*
 * rnetns_hookbench: times netfilter hook invocations directly, for the
 * benchmarks in bench/ only.
 *
 * Writing a count N to /sys/kernel/debug/rnetns_hookbench runs, in the
 * writer's network namespace, N calls of nf_hook_slow() on the hooks
 * registered there at NF_INET_LOCAL_IN for IPv4, with a synthetic IPv4/UDP
 * packet that never enters the stack. This is what NF_HOOK() does for each
 * packet at that hook point, without the rest of the stack around it: the
 * time per call is the cost of the hooks there. Reading the file gives the
 * result of the last run:
 *
 *   calls N entries E ns T
 *
 * E is the number of hooks at that point (0: nothing was called) and T the
 * total time in nanoseconds. The loop runs in chunks, each with BH disabled
 * and under rcu_read_lock() as on the packet path, rescheduling in between.
 * Any verdict other than NF_ACCEPT stops the run with -EBADMSG.
 */
#include <linux/debugfs.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#define HB_PAYLOAD	64
#define HB_CHUNK	4096
#define HB_MAX_CALLS	100000000UL

static struct dentry *hb_file;
static DEFINE_MUTEX(hb_lock);
static unsigned long hb_calls;
static unsigned int hb_entries;
static u64 hb_ns;

static int hb_okfn(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	return 0;
}

/* An IPv4/UDP packet of HB_PAYLOAD bytes from and to 127.0.0.1. */
static struct sk_buff *hb_build_skb(struct net *net)
{
	unsigned int len = sizeof(struct iphdr) + sizeof(struct udphdr) +
			   HB_PAYLOAD;
	struct sk_buff *skb;
	struct udphdr *uh;
	struct iphdr *iph;

	skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->tot_len = htons(len);
	iph->saddr = htonl(INADDR_LOOPBACK);
	iph->daddr = htonl(INADDR_LOOPBACK);
	ip_send_check(iph);
	skb_set_transport_header(skb, sizeof(*iph));
	uh = skb_put_zero(skb, sizeof(*uh));
	uh->source = htons(9);
	uh->dest = htons(9);
	uh->len = htons(sizeof(*uh) + HB_PAYLOAD);
	skb_put_zero(skb, HB_PAYLOAD);
	skb->protocol = htons(ETH_P_IP);
	skb->dev = net->loopback_dev;
	return skb;
}

static int hb_run(struct net *net, unsigned long calls)
{
	const struct nf_hook_entries *e;
	struct nf_hook_state state;
	unsigned long done = 0, i, n;
	struct sk_buff *skb;
	unsigned int entries = 0;
	u64 total = 0, t0;
	int ret = 1;

	skb = hb_build_skb(net);
	if (!skb)
		return -ENOMEM;
	nf_hook_state_init(&state, NF_INET_LOCAL_IN, NFPROTO_IPV4,
			   net->loopback_dev, NULL, NULL, net, hb_okfn);

	while (done < calls && ret == 1) {
		n = min(calls - done, (unsigned long)HB_CHUNK);
		rcu_read_lock();
		local_bh_disable();
		e = rcu_dereference(net->nf.hooks_ipv4[NF_INET_LOCAL_IN]);
		entries = e ? e->num_hook_entries : 0;
		t0 = ktime_get_ns();
		for (i = 0; e && i < n && ret == 1; i++)
			ret = nf_hook_slow(skb, &state, e, 0);
		total += ktime_get_ns() - t0;
		local_bh_enable();
		rcu_read_unlock();
		done += n;
		cond_resched();
	}

	/* A verdict other than NF_ACCEPT may have freed the packet. */
	if (ret != 1)
		return -EBADMSG;
	consume_skb(skb);
	hb_calls = done;
	hb_entries = entries;
	hb_ns = total;
	return 0;
}

static ssize_t hb_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	unsigned long calls;
	int err;

	err = kstrtoul_from_user(ubuf, count, 10, &calls);
	if (err)
		return err;
	if (!calls || calls > HB_MAX_CALLS)
		return -EINVAL;

	mutex_lock(&hb_lock);
	err = hb_run(current->nsproxy->net_ns, calls);
	mutex_unlock(&hb_lock);
	return err ? err : count;
}

static ssize_t hb_read(struct file *file, char __user *ubuf, size_t count,
		       loff_t *ppos)
{
	char buf[80];
	int len;

	mutex_lock(&hb_lock);
	len = scnprintf(buf, sizeof(buf), "calls %lu entries %u ns %llu\n",
			hb_calls, hb_entries, hb_ns);
	mutex_unlock(&hb_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations hb_fops = {
	.owner	= THIS_MODULE,
	.read	= hb_read,
	.write	= hb_write,
	.llseek	= default_llseek,
};

static int __init hb_init(void)
{
	hb_file = debugfs_create_file("rnetns_hookbench", 0600, NULL, NULL,
				      &hb_fops);
	return PTR_ERR_OR_ZERO(hb_file);
}

static void __exit hb_exit(void)
{
	debugfs_remove(hb_file);
}

module_init(hb_init);
module_exit(hb_exit);

MODULE_DESCRIPTION("Times the netfilter hooks of a namespace, for the rnetns benchmarks");
MODULE_LICENSE("GPL");
