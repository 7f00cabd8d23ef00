// SPDX-License-Identifier: GPL-2.0

//! Per-CPU packet and byte counters (`alloc_percpu`), the way the kernel's
//! SNMP MIBs count: each CPU adds to its own copy with one `this_cpu_add`
//! (no atomics, no locks, no shared cache line), and readers fold the copies
//! of every possible CPU.
//!
//! C header: [`include/linux/percpu.h`](srctree/include/linux/percpu.h)

use super::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// One CPU's copy of a counter: packets and bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Packets counted.
    pub(crate) packets: u64,
    /// Bytes counted.
    pub(crate) bytes: u64,
}

/// A packets + bytes counter with one copy per possible CPU.
///
/// [`PerCpuCounter::add`] may be called from any context (process, softirq,
/// hardirq) and needs no lock; [`PerCpuCounter::fold`] may run concurrently
/// with it and sees each CPU's latest 64-bit values.
///
/// # Invariants
///
/// `ptr` is a per-CPU pointer returned by `__alloc_percpu` for a `Totals`,
/// freed only in `drop`.
pub(crate) struct PerCpuCounter {
    /// The per-CPU pointer (an offset from each CPU's per-CPU base).
    ptr: NonNull<Totals>,
}

// SAFETY: each CPU writes only its own copy, with single instructions that
// are safe against preemption and interrupts; readers use volatile 64-bit
// loads, which are atomic on 64-bit architectures.
unsafe impl Send for PerCpuCounter {}
// SAFETY: as above.
unsafe impl Sync for PerCpuCounter {}

#[cfg(not(CONFIG_64BIT))]
compile_error!("rnetns's per-CPU counters need 64-bit loads and stores");

impl PerCpuCounter {
    /// Allocates a zeroed counter. May sleep.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: plain allocation; the result is checked for NULL.
        let ptr = unsafe {
            bindings::rnetns_alloc_percpu(
                core::mem::size_of::<Totals>(),
                core::mem::align_of::<Totals>(),
            )
        };
        // INVARIANT: allocated just above for a `Totals`.
        Ok(Self {
            ptr: NonNull::new(ptr.cast::<Totals>()).ok_or(ENOMEM)?,
        })
    }

    /// Adds one packet of `bytes` bytes to this CPU's copy.
    #[inline(always)]
    pub(crate) fn add(&self, bytes: u64) {
        let p = self.ptr.as_ptr();
        // SAFETY: `p` is a live per-CPU pointer (type invariant); the field
        // offsets stay inside the per-CPU object.
        unsafe {
            this_cpu_add_u64(core::ptr::addr_of_mut!((*p).packets), 1);
            this_cpu_add_u64(core::ptr::addr_of_mut!((*p).bytes), bytes);
        }
    }

    /// The sum of every possible CPU's copy.
    pub(crate) fn fold(&self) -> Totals {
        let mut sum = Totals::default();
        // SAFETY: no preconditions.
        let nr = unsafe { bindings::rnetns_nr_cpu_ids() };
        // SAFETY: `-1` starts the iteration of the possible mask.
        let mut cpu = unsafe { bindings::rnetns_next_possible_cpu(-1) };
        while cpu < nr {
            // SAFETY: `ptr` is live (type invariant) and `cpu` possible, so
            // this is that CPU's copy; racing its adds, each volatile 64-bit
            // load sees the value before or after an add.
            let copy = unsafe {
                let p = bindings::rnetns_per_cpu_ptr(self.ptr.as_ptr().cast(), cpu as i32)
                    .cast::<Totals>();
                Totals {
                    packets: core::ptr::read_volatile(core::ptr::addr_of!((*p).packets)),
                    bytes: core::ptr::read_volatile(core::ptr::addr_of!((*p).bytes)),
                }
            };
            sum.packets = sum.packets.wrapping_add(copy.packets);
            sum.bytes = sum.bytes.wrapping_add(copy.bytes);
            // SAFETY: as above.
            cpu = unsafe { bindings::rnetns_next_possible_cpu(cpu as i32) };
        }
        sum
    }
}

impl Drop for PerCpuCounter {
    fn drop(&mut self) {
        // SAFETY: allocated by `__alloc_percpu` and not freed yet (type
        // invariant); no one adds to it any more since `self` is going away.
        unsafe { bindings::free_percpu(self.ptr.as_ptr().cast()) };
    }
}

/// `this_cpu_add(*pcp, val)` for a `u64`: one `add` instruction relative to
/// the per-CPU segment, safe against preemption and interrupts.
///
/// # Safety
///
/// `pcp` must be a per-CPU pointer to a live `u64`.
#[inline(always)]
unsafe fn this_cpu_add_u64(pcp: *mut u64, val: u64) {
    #[cfg(CONFIG_X86_64)]
    // SAFETY: on x86_64 a per-CPU pointer is an offset from the %gs base of
    // the current CPU, which is what `this_cpu_add` compiles to; the caller
    // guarantees that `pcp` is live.
    unsafe {
        core::arch::asm!(
            "add qword ptr gs:[{pcp}], {val}",
            pcp = in(reg) pcp,
            val = in(reg) val,
            options(nostack),
        );
    }
    #[cfg(not(CONFIG_X86_64))]
    // SAFETY: the caller guarantees that `pcp` is a live per-CPU pointer.
    unsafe {
        bindings::rnetns_this_cpu_add_u64(pcp, val)
    };
}
