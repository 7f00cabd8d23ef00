/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of rnetns (system "rnetns"), declared here and emitted from
 * Rust through the one-line wrappers of src/trace/trace.c, the way Rust
 * Binder does its events. Declarations only: no logic lives here.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rnetns

#if !defined(_RNETNS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _RNETNS_TRACE_H

#include <linux/tracepoint.h>

/* rnetns's pernet init of a namespace finished (result 0 or -errno). */
TRACE_EVENT(rnetns_net_init,
	TP_PROTO(u32 inum, u64 cookie, u64 duration_ns, int result),
	TP_ARGS(inum, cookie, duration_ns, result),
	TP_STRUCT__entry(
		__field(u32, inum)
		__field(u64, cookie)
		__field(u64, duration_ns)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->inum = inum;
		__entry->cookie = cookie;
		__entry->duration_ns = duration_ns;
		__entry->result = result;
	),
	TP_printk("inum=%u cookie=%llu duration_ns=%llu result=%d",
		  __entry->inum, __entry->cookie, __entry->duration_ns,
		  __entry->result)
);

/* A namespace's teardown began: its hooks are detached. */
TRACE_EVENT(rnetns_net_pre_exit,
	TP_PROTO(u32 inum, u64 cookie, u64 lifetime_ns),
	TP_ARGS(inum, cookie, lifetime_ns),
	TP_STRUCT__entry(
		__field(u32, inum)
		__field(u64, cookie)
		__field(u64, lifetime_ns)
	),
	TP_fast_assign(
		__entry->inum = inum;
		__entry->cookie = cookie;
		__entry->lifetime_ns = lifetime_ns;
	),
	TP_printk("inum=%u cookie=%llu lifetime_ns=%llu",
		  __entry->inum, __entry->cookie, __entry->lifetime_ns)
);

/* rnetns's pernet exit of a namespace finished: its state is gone. */
TRACE_EVENT(rnetns_net_exit,
	TP_PROTO(u32 inum, u64 cookie, u64 duration_ns),
	TP_ARGS(inum, cookie, duration_ns),
	TP_STRUCT__entry(
		__field(u32, inum)
		__field(u64, cookie)
		__field(u64, duration_ns)
	),
	TP_fast_assign(
		__entry->inum = inum;
		__entry->cookie = cookie;
		__entry->duration_ns = duration_ns;
	),
	TP_printk("inum=%u cookie=%llu duration_ns=%llu",
		  __entry->inum, __entry->cookie, __entry->duration_ns)
);

/*
 * A write to a namespace's /proc/net/rnetns: reset, hooks= or one refused
 * (result 0 or -errno).
 */
TRACE_EVENT(rnetns_write,
	TP_PROTO(u32 inum, u64 cookie, int result),
	TP_ARGS(inum, cookie, result),
	TP_STRUCT__entry(
		__field(u32, inum)
		__field(u64, cookie)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->inum = inum;
		__entry->cookie = cookie;
		__entry->result = result;
	),
	TP_printk("inum=%u cookie=%llu result=%d",
		  __entry->inum, __entry->cookie, __entry->result)
);

#endif /* _RNETNS_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE rnetns_trace
#include <trace/define_trace.h>
