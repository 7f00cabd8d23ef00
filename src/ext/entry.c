// SPDX-License-Identifier: GPL-2.0
/*
 * Traceable entry points: the netns core calls rnetns's pernet callbacks
 * through these C functions. Compiled with the kernel's flags, they have an
 * ftrace location (__fentry__), which the Rust functions they call have not:
 * so function_graph shows an rnetns_net_init() frame inside ops_init(),
 * set_graph_function and set_ftrace_filter accept them, and kprobe,
 * kretprobe and fprobe events can be put on them (a kretprobe's retval is
 * the errno of rnetns_net_init). Each one only calls its Rust
 * implementation, made by pernet_callbacks! in src/ext/pernet.rs; the call
 * is a tail call. No logic lives here.
 */
#include "helpers.h"

int rnetns_net_init(struct net *net)
{
	return rnetns_net_init_rust(net);
}

void rnetns_net_pre_exit(struct net *net)
{
	rnetns_net_pre_exit_rust(net);
}

void rnetns_net_exit(struct net *net)
{
	rnetns_net_exit_rust(net);
}
