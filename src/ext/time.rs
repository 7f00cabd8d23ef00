// SPDX-License-Identifier: GPL-2.0

//! Kernel clocks. Linux 7.2's `kernel::time` has the same two clocks as
//! `Instant::<Monotonic>::now()` and `Instant::<BootTime>::now()`; these
//! functions are their nanosecond values, for 6.12 as well.

use super::bindings;

/// Nanoseconds since boot, including time spent in suspend
/// (`ktime_get_boottime_ns()`). Callable from any context.
pub(crate) fn boottime_ns() -> u64 {
    // SAFETY: `ktime_get_boottime_ns` has no preconditions.
    unsafe { bindings::rnetns_ktime_get_boot_ns() }
}

/// Nanoseconds of the monotonic clock (`ktime_get_ns()`), for durations.
/// Callable from any context.
pub(crate) fn mono_ns() -> u64 {
    // SAFETY: `ktime_get_ns` has no preconditions.
    unsafe { bindings::rnetns_ktime_get_ns() }
}
