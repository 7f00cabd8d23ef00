/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line wrappers for static inline kernel helpers that Rust cannot call,
 * in the manner of the kernel's rust/helpers/. No logic lives here.
 */
#ifndef RNETNS_HELPERS_H
#define RNETNS_HELPERS_H

#include <linux/types.h>

struct file;
struct genl_family;
struct genl_info;
struct netlink_callback;
struct nlattr;
struct sk_buff;
struct net;
struct proc_dir_entry;
struct user_namespace;
struct seq_file;

void *rnetns_net_generic(const struct net *net, unsigned int id);
unsigned int rnetns_net_inum(const struct net *net);
u64 rnetns_net_cookie(const struct net *net);
struct user_namespace *rnetns_net_user_ns(const struct net *net);
struct proc_dir_entry *rnetns_net_proc_net(const struct net *net);
struct net *rnetns_seq_file_single_net(struct seq_file *seq);
struct net *rnetns_file_single_net(struct file *file);
void *rnetns_seq_pde_data(const struct seq_file *seq);
void *rnetns_file_pde_data(const struct file *file);
u64 rnetns_ktime_get_boot_ns(void);
void *rnetns_alloc_percpu(size_t size, size_t align);
void *rnetns_per_cpu_ptr(void *ptr, int cpu);
unsigned int rnetns_next_possible_cpu(int prev);
unsigned int rnetns_nr_cpu_ids(void);
void rnetns_this_cpu_add_u64(u64 *pcp, u64 val);
u64 rnetns_ktime_get_ns(void);
size_t rnetns_net_gen_offset(void);
size_t rnetns_net_generic_ptr_offset(void);
struct net *rnetns_maybe_get_net(struct net *net);
struct net *rnetns_net_first_rcu(void);
struct net *rnetns_net_next_rcu(struct net *net);
void rnetns_put_net(struct net *net);
struct sk_buff *rnetns_genlmsg_new(size_t payload);
void rnetns_nlmsg_free(struct sk_buff *skb);
void rnetns_genlmsg_end(struct sk_buff *skb, void *hdr);
void rnetns_genlmsg_cancel(struct sk_buff *skb, void *hdr);
int rnetns_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
int rnetns_genlmsg_multicast_netns(const struct genl_family *family,
				   struct net *net, struct sk_buff *skb,
				   unsigned int group);
void rnetns_rcu_read_lock(void);
void rnetns_rcu_read_unlock(void);
int rnetns_genl_has_listeners(const struct genl_family *family,
			      struct net *net, unsigned int group);
int rnetns_nla_put_uint(struct sk_buff *skb, int attrtype, u64 value);
struct nlattr *rnetns_nla_nest_start(struct sk_buff *skb, int attrtype);
void rnetns_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
void rnetns_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start);
const struct genl_info *rnetns_genl_info_dump(struct netlink_callback *cb);
struct net *rnetns_genl_info_net(const struct genl_info *info);
struct nlattr *rnetns_genl_attrdata(const struct genl_info *info);
int rnetns_genl_attrlen(const struct genl_info *info);
int rnetns_nla_ok(const struct nlattr *nla, int remaining);
struct nlattr *rnetns_nla_next(const struct nlattr *nla, int *remaining);
int rnetns_nla_type(const struct nlattr *nla);
struct net *rnetns_skb_sock_net(const struct sk_buff *skb);
unsigned int rnetns_skb_len(const struct sk_buff *skb);

/*
 * Traceable entry points (src/ext/entry.c) and what they call: the entry
 * point of pernet callback ROLE (init, pre_exit, exit) of PREFIX is
 * PREFIX_ROLE, which calls PREFIX_ROLE_rust, defined in Rust by
 * pernet_callbacks! for that role. Both names are pasted from ROLE and get
 * the one return type, here and in RNETNS_PERNET_ENTRY.
 */
#define RNETNS_PERNET_DECLARE(type, prefix, role)	\
	type prefix##_##role(struct net *net);		\
	type prefix##_##role##_rust(struct net *net)

RNETNS_PERNET_DECLARE(int, rnetns_net, init);
RNETNS_PERNET_DECLARE(void, rnetns_net, pre_exit);
RNETNS_PERNET_DECLARE(void, rnetns_net, exit);

/* Trace event wrappers, in src/trace/trace.c. */
void rnetns_trace_net_init(u32 inum, u64 cookie, u64 duration_ns, int result);
void rnetns_trace_net_pre_exit(u32 inum, u64 cookie, u64 lifetime_ns);
void rnetns_trace_net_exit(u32 inum, u64 cookie, u64 duration_ns);
void rnetns_trace_write(u32 inum, u64 cookie, int result);

#endif /* RNETNS_HELPERS_H */
