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
 *
 * RNETNS_PERNET_ENTRY(TYPE, PREFIX, ROLE) defines PREFIX_ROLE to call
 * PREFIX_ROLE_rust: both names come from ROLE, so an entry point cannot call
 * the implementation of another role, and TYPE must be the one helpers.h
 * declares for both (RNETNS_PERNET_DECLARE), else the build fails.
 */
#include "helpers.h"

/* "return" for a TYPE that returns a value, nothing for void. */
#define RNETNS_RETURN_int return
#define RNETNS_RETURN_void

#define RNETNS_PERNET_ENTRY(type, prefix, role)			\
type prefix##_##role(struct net *net)				\
{								\
	RNETNS_RETURN_##type prefix##_##role##_rust(net);	\
}

RNETNS_PERNET_ENTRY(int, rnetns_net, init)
RNETNS_PERNET_ENTRY(void, rnetns_net, pre_exit)
RNETNS_PERNET_ENTRY(void, rnetns_net, exit)
