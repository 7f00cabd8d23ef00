/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line wrappers for static inline kernel helpers that Rust cannot call,
 * in the manner of the kernel's rust/helpers/. No logic lives here.
 */
#ifndef RNETNS_HELPERS_H
#define RNETNS_HELPERS_H

#include <linux/types.h>

struct file;
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
