// SPDX-License-Identifier: GPL-2.0

//! The `rnetns` trace events (`/sys/kernel/tracing/events/rnetns/`),
//! declared in `src/trace/rnetns_trace.h`. Linux 7.2's
//! `kernel::tracepoint::declare_trace!` calls a tracepoint from Rust without
//! the C wrapper, but only for tracepoints declared in the kernel's own
//! headers; a module's events still need their C side, as here.
//!
//! Each function costs a call and a static-key test while its event is
//! disabled. Callable from any context.

use super::bindings;

/// `rnetns_net_init`: rnetns's init of a namespace finished, with `result`
/// (0 or a negative errno) after `duration_ns`.
pub(crate) fn net_init(inum: u32, cookie: u64, duration_ns: u64, result: i32) {
    // SAFETY: plain values; the wrapper only emits the event.
    unsafe { bindings::rnetns_trace_net_init(inum, cookie, duration_ns, result) }
}

/// `rnetns_net_pre_exit`: a namespace's teardown began, `lifetime_ns` after
/// rnetns set it up.
pub(crate) fn net_pre_exit(inum: u32, cookie: u64, lifetime_ns: u64) {
    // SAFETY: plain values; the wrapper only emits the event.
    unsafe { bindings::rnetns_trace_net_pre_exit(inum, cookie, lifetime_ns) }
}

/// `rnetns_net_exit`: rnetns's exit of a namespace finished after
/// `duration_ns`.
pub(crate) fn net_exit(inum: u32, cookie: u64, duration_ns: u64) {
    // SAFETY: plain values; the wrapper only emits the event.
    unsafe { bindings::rnetns_trace_net_exit(inum, cookie, duration_ns) }
}

/// `rnetns_write`: a write to a namespace's proc file (`reset`, `hooks=`,
/// or one refused), with `result` (0 or a negative errno).
pub(crate) fn write(inum: u32, cookie: u64, result: i32) {
    // SAFETY: plain values; the wrapper only emits the event.
    unsafe { bindings::rnetns_trace_write(inum, cookie, result) }
}
