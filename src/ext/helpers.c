// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for static inline kernel helpers that Rust cannot call,
 * in the manner of the kernel's rust/helpers/, and the offsets of the
 * fields that the packet path reads inline, as the compiler that built the
 * kernel lays them out. No logic lives here.
 */
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <net/netns/generic.h>

#include "helpers.h"

void *rnetns_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

unsigned int rnetns_net_inum(const struct net *net)
{
	return net->ns.inum;
}

u64 rnetns_net_cookie(const struct net *net)
{
	return net->net_cookie;
}

struct user_namespace *rnetns_net_user_ns(const struct net *net)
{
	return net->user_ns;
}

struct proc_dir_entry *rnetns_net_proc_net(const struct net *net)
{
	return net->proc_net;
}

struct net *rnetns_seq_file_single_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}

struct net *rnetns_file_single_net(struct file *file)
{
	return seq_file_single_net(file->private_data);
}

void *rnetns_seq_pde_data(const struct seq_file *seq)
{
	return pde_data(file_inode(seq->file));
}

void *rnetns_file_pde_data(const struct file *file)
{
	return pde_data(file_inode(file));
}

u64 rnetns_ktime_get_boot_ns(void)
{
	return ktime_get_boottime_ns();
}

/* Charged to the memory cgroup of the caller, as the namespace's own. */
void *rnetns_alloc_percpu(size_t size, size_t align)
{
	return (void *)(__force unsigned long)__alloc_percpu_gfp(size, align,
								 GFP_KERNEL_ACCOUNT);
}

void *rnetns_per_cpu_ptr(void *ptr, int cpu)
{
	return per_cpu_ptr((void __percpu *)(__force unsigned long)ptr, cpu);
}

unsigned int rnetns_next_possible_cpu(int prev)
{
	return cpumask_next(prev, cpu_possible_mask);
}

unsigned int rnetns_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

void rnetns_this_cpu_add_u64(u64 *pcp, u64 val)
{
	this_cpu_add(*(u64 __percpu *)(__force unsigned long)pcp, val);
}

u64 rnetns_ktime_get_ns(void)
{
	return ktime_get_ns();
}

size_t rnetns_net_gen_offset(void)
{
	return offsetof(struct net, gen);
}

size_t rnetns_net_generic_ptr_offset(void)
{
	return offsetof(struct net_generic, ptr);
}

struct net *rnetns_maybe_get_net(struct net *net)
{
	return maybe_get_net(net);
}

void rnetns_put_net(struct net *net)
{
	put_net(net);
}

/* The namespaces set up and not yet dying, under rcu_read_lock(). */
struct net *rnetns_net_first_rcu(void)
{
	return list_first_or_null_rcu(&net_namespace_list, struct net, list);
}

struct net *rnetns_net_next_rcu(struct net *net)
{
	return list_next_or_null_rcu(&net_namespace_list, &net->list, struct net, list);
}

struct sk_buff *rnetns_genlmsg_new(size_t payload)
{
	return genlmsg_new(payload, GFP_KERNEL);
}

void rnetns_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

void rnetns_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void rnetns_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

int rnetns_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

/* Called under rcu_read_lock(), hence GFP_ATOMIC. */
int rnetns_genlmsg_multicast_netns(const struct genl_family *family,
				   struct net *net, struct sk_buff *skb,
				   unsigned int group)
{
	return genlmsg_multicast_netns(family, net, skb, 0, group, GFP_ATOMIC);
}

void rnetns_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rnetns_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

int rnetns_genl_has_listeners(const struct genl_family *family,
			      struct net *net, unsigned int group)
{
	return genl_has_listeners(family, net, group);
}

int rnetns_nla_put_uint(struct sk_buff *skb, int attrtype, u64 value)
{
	return nla_put_uint(skb, attrtype, value);
}

struct nlattr *rnetns_nla_nest_start(struct sk_buff *skb, int attrtype)
{
	return nla_nest_start(skb, attrtype);
}

void rnetns_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_end(skb, start);
}

void rnetns_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}

const struct genl_info *rnetns_genl_info_dump(struct netlink_callback *cb)
{
	return genl_info_dump(cb);
}

struct net *rnetns_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct nlattr *rnetns_genl_attrdata(const struct genl_info *info)
{
	return nlmsg_attrdata(info->nlhdr, GENL_HDRLEN);
}

int rnetns_genl_attrlen(const struct genl_info *info)
{
	return nlmsg_attrlen(info->nlhdr, GENL_HDRLEN);
}

int rnetns_nla_ok(const struct nlattr *nla, int remaining)
{
	return nla_ok(nla, remaining);
}

struct nlattr *rnetns_nla_next(const struct nlattr *nla, int *remaining)
{
	return nla_next(nla, remaining);
}

int rnetns_nla_type(const struct nlattr *nla)
{
	return nla_type(nla);
}

struct net *rnetns_skb_sock_net(const struct sk_buff *skb)
{
	return sock_net(skb->sk);
}

unsigned int rnetns_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}
