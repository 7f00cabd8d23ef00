// SPDX-License-Identifier: GPL-2.0

//! Per-CPU packet and byte counters (`alloc_percpu`), the way the kernel's
//! SNMP MIBs count: each CPU adds to its own copy with two `this_cpu_add`s,
//! one for the packet and one for its bytes (no atomics, no locks, no shared
//! cache line), and readers fold the copies of every possible CPU.
//!
//! A task may migrate between the two adds (the hooks run under
//! `rcu_read_lock()`, which with `PREEMPT_RCU` does not pin the task to its
//! CPU): the packet is then counted in one CPU's copy and its bytes in
//! another's. Nothing reads a single CPU's copy: the folded totals, the sum
//! over every CPU, still have both. A fold that runs between the two adds
//! (with or without a migration) sees the packet without its bytes, which
//! the next fold has.
//!
//! The block is charged to the memory cgroup of the task that allocates it
//! (`GFP_KERNEL_ACCOUNT`), as the rest of a namespace's memory is.
//!
//! Neither 6.12's nor 7.2's `kernel` crate has per-CPU allocations.
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

/// An array of packets + bytes counters in one per-CPU block: each possible
/// CPU has its own copy of the whole array.
///
/// [`PerCpuCounters::add`] may be called from any context (process, softirq,
/// hardirq) and needs no lock; [`PerCpuCounters::fold`] may run concurrently
/// with it and sees each CPU's latest 64-bit values.
///
/// # Invariants
///
/// `ptr` is a per-CPU pointer returned by `__alloc_percpu` for `last + 1`
/// consecutive `Totals`, freed only in `drop`.
pub(crate) struct PerCpuCounters {
    /// The per-CPU pointer (with SMP an offset from each CPU's per-CPU base,
    /// without it the address of the only copy).
    ptr: NonNull<Totals>,
    /// The index of the last counter in the block.
    last: usize,
}

// Readers use volatile 64-bit loads, atomic on 64-bit architectures.
// SAFETY: each CPU writes only its own copy, with `this_cpu_add`s (single
// instructions on x86_64) that are safe against preemption and interrupts.
unsafe impl Send for PerCpuCounters {}
// SAFETY: as above.
unsafe impl Sync for PerCpuCounters {}

#[cfg(not(CONFIG_64BIT))]
compile_error!("rnetns's per-CPU counters need 64-bit loads and stores");

impl PerCpuCounters {
    /// Allocates `len` zeroed counters (at least one) in one per-CPU block,
    /// charged to the caller's memory cgroup (`GFP_KERNEL_ACCOUNT`). May
    /// sleep.
    pub(crate) fn new(len: usize) -> Result<Self> {
        let len = len.max(1);
        let size = core::mem::size_of::<Totals>()
            .checked_mul(len)
            .ok_or(EINVAL)?;
        // SAFETY: plain allocation; the result is checked for NULL.
        let ptr = unsafe { bindings::rnetns_alloc_percpu(size, core::mem::align_of::<Totals>()) };
        // INVARIANT: allocated just above for `len` (at least 1) `Totals`.
        Ok(Self {
            ptr: NonNull::new(ptr.cast::<Totals>()).ok_or(ENOMEM)?,
            last: len - 1,
        })
    }

    /// Adds one packet of `bytes` bytes to counter `i` in this CPU's copy.
    /// An out-of-range `i` counts into the last counter: the index is
    /// clamped without a branch, which keeps the packet path one straight
    /// run of instructions (callers never pass one).
    #[inline(always)]
    pub(crate) fn add(&self, i: usize, bytes: u64) {
        let i = i.min(self.last);
        // `wrapping_add` keeps this pointer arithmetic on a per-CPU offset,
        // which is not a pointer into this address space.
        // SAFETY: counter `i` of a live per-CPU block of `last + 1`
        // counters (type invariant, `i <= last`).
        unsafe { this_cpu_add_totals(self.ptr.as_ptr().wrapping_add(i), bytes) };
    }

    /// The sum of every possible CPU's copy of counter `i` (zero if `i` is
    /// out of range).
    pub(crate) fn fold(&self, i: usize) -> Totals {
        let mut sum = Totals::default();
        if i > self.last {
            return sum;
        }
        // SAFETY: no preconditions.
        let nr = unsafe { bindings::rnetns_nr_cpu_ids() };
        // SAFETY: `-1` starts the iteration of the possible mask.
        let mut cpu = unsafe { bindings::rnetns_next_possible_cpu(-1) };
        while cpu < nr {
            // Racing the adds, each volatile 64-bit load sees a value from
            // before or after an add.
            // SAFETY: `ptr` is live (type invariant), `cpu` possible and
            // `i <= last`: this is counter `i` of that CPU's copy.
            let copy = unsafe {
                let p = bindings::rnetns_per_cpu_ptr(self.ptr.as_ptr().cast(), cpu as i32)
                    .cast::<Totals>()
                    .add(i);
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

impl Drop for PerCpuCounters {
    fn drop(&mut self) {
        // SAFETY: allocated by `__alloc_percpu` and not freed yet (type
        // invariant); no one adds to it any more since `self` is going away.
        unsafe { bindings::free_percpu(self.ptr.as_ptr().cast()) };
    }
}

/// The segment prefix of a per-CPU access on x86_64: `gs:` with SMP, none
/// without (as `__percpu_prefix` in `arch/x86/include/asm/percpu.h`).
#[cfg(all(rnetns_percpu_x86_asm, CONFIG_SMP))]
macro_rules! percpu_seg {
    () => {
        "gs:"
    };
}
/// The segment prefix of a per-CPU access on x86_64: `gs:` with SMP, none
/// without (as `__percpu_prefix` in `arch/x86/include/asm/percpu.h`).
#[cfg(all(rnetns_percpu_x86_asm, not(CONFIG_SMP)))]
macro_rules! percpu_seg {
    () => {
        ""
    };
}

/// `this_cpu_add(pcp->packets, 1); this_cpu_add(pcp->bytes, bytes);`: two
/// adds, each safe against preemption and interrupts; a migration between
/// them counts the packet and its bytes on different CPUs (see the module
/// documentation).
///
/// The inline `add` instructions are used where `Kbuild` sets
/// `rnetns_percpu_x86_asm`: a native x86_64 kernel (`CONFIG_X86_64`
/// without `CONFIG_UML`), where x86's own per-CPU code is in use: with SMP
/// a per-CPU pointer is an offset from the CPU's `%gs` base, without SMP
/// the address of the only copy. User-mode Linux on x86_64 also has
/// `CONFIG_X86_64` but the generic per-CPU code (in 7.2 with SMP too): its
/// per-CPU pointers are offsets from `__per_cpu_offset[cpu]`, and `%gs` is
/// the host process's, so there (and on every other architecture) the C
/// helper does what `this_cpu_add` does on that kernel.
///
/// # Safety
///
/// `pcp` must be a per-CPU pointer to a live `Totals`.
#[inline(always)]
unsafe fn this_cpu_add_totals(pcp: *mut Totals, bytes: u64) {
    const { assert!(core::mem::offset_of!(Totals, bytes) == 8) };
    // With SMP a per-CPU pointer is an offset from the current CPU's %gs
    // base, which is what `this_cpu_add` compiles to. Without SMP there is
    // one copy and a per-CPU pointer is its address: a plain `add` (the %gs
    // base need not be 0 there).
    #[cfg(rnetns_percpu_x86_asm)]
    // SAFETY: `packets` and `bytes` are at offsets 0 and 8 of the `repr(C)`
    // `Totals`, which the caller guarantees is a live per-CPU object.
    unsafe {
        core::arch::asm!(
            concat!("add qword ptr ", percpu_seg!(), "[{pcp}], 1"),
            concat!("add qword ptr ", percpu_seg!(), "[{pcp} + 8], {bytes}"),
            pcp = in(reg) pcp,
            bytes = in(reg) bytes,
            options(nostack),
        );
    }
    // Elsewhere the C helper; the field addresses are computed by offset,
    // since a per-CPU pointer need not point into this address space.
    #[cfg(not(rnetns_percpu_x86_asm))]
    // SAFETY: the caller guarantees that `pcp` is a live per-CPU `Totals`,
    // whose `bytes` is 8 bytes in.
    unsafe {
        let bytes_pcp = pcp.cast::<u8>().wrapping_add(8).cast::<u64>();
        bindings::rnetns_this_cpu_add_u64(pcp.cast::<u64>(), 1);
        bindings::rnetns_this_cpu_add_u64(bytes_pcp, bytes);
    }
}
