// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates the rnetns trace events and gives Rust one-line wrappers to
 * emit them. No logic lives here.
 */
#define CREATE_TRACE_POINTS
#include "rnetns_trace.h"

#include "../ext/helpers.h"

void rnetns_trace_net_init(u32 inum, u64 cookie, u64 duration_ns, int result)
{
	trace_rnetns_net_init(inum, cookie, duration_ns, result);
}

void rnetns_trace_net_pre_exit(u32 inum, u64 cookie, u64 lifetime_ns)
{
	trace_rnetns_net_pre_exit(inum, cookie, lifetime_ns);
}

void rnetns_trace_net_exit(u32 inum, u64 cookie, u64 duration_ns)
{
	trace_rnetns_net_exit(inum, cookie, duration_ns);
}

void rnetns_trace_write(u32 inum, u64 cookie, int result)
{
	trace_rnetns_write(inum, cookie, result);
}
