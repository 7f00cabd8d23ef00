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
//! On arm64 each add is an atomic read-modify-write (LSE `ldadd`, or an
//! exclusive load/store loop) on the copy of the CPU whose per-CPU offset
//! was read: a task that migrates in between adds to the CPU it left, which
//! another task there may be adding to at the same moment. The atomics make
//! both adds land, and the folded totals are what is read.
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
// SAFETY: writers only add, with `this_cpu_add`s (single instructions on
// x86_64, atomic read-modify-writes on arm64, the architecture's own
// `this_cpu_add` elsewhere) that are safe against preemption and interrupts.
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

/// `ALTERNATIVE(old, new, cap)` of `arch/arm64/include/asm/alternative-macros.h`
/// for `asm!`: the `old` instructions, and an `.altinstructions` entry that
/// makes the kernel patch in the `new` ones (of the same length) when the
/// CPUs have capability `cap` (an `asm!` operand name). The module loader
/// applies a module's `.altinstructions` before its init runs
/// (`module_finalize()` in `arch/arm64/kernel/module.c`).
#[cfg(rnetns_percpu_arm64_asm)]
macro_rules! arm64_alternative {
    ($old:expr, $new:expr, $cap:literal) => {
        concat!(
            "661:\n",
            $old,
            "\n662:\n",
            ".pushsection .altinstructions, \"a\"\n",
            ".word 661b - .\n",
            ".word 663f - .\n",
            ".hword {",
            $cap,
            "}\n",
            ".byte 662b - 661b\n",
            ".byte 664f - 663f\n",
            ".popsection\n",
            ".subsection 1\n",
            "663:\n",
            $new,
            "\n664:\n",
            ".org . - (664b - 663b) + (662b - 661b)\n",
            ".org . - (662b - 661b) + (664b - 663b)\n",
            ".previous\n",
        )
    };
}

/// The exclusive load/store loop that adds operand `val` to the 64-bit
/// `[{addr}]` atomically on every arm64 CPU (`__percpu_add_case_64`'s LL/SC
/// half in `arch/arm64/include/asm/percpu.h`). Clobbers `{tmp}` and
/// `{fail}`.
#[cfg(rnetns_percpu_arm64_asm)]
macro_rules! arm64_llsc_add {
    ($val:literal) => {
        concat!(
            "1: ldxr {tmp}, [{addr}]\nadd {tmp}, {tmp}, {",
            $val,
            "}\nstxr {fail:w}, {tmp}, [{addr}]\ncbnz {fail:w}, 1b"
        )
    };
}

/// A 64-bit atomic add of operand `val` to `[{addr}]` on arm64, as
/// `__percpu_add_case_64`: the exclusive load/store loop, patched to one
/// LSE `ldadd` (and three `nop`s, the same length) on CPUs with LSE atomics.
/// Clobbers `{tmp}` and `{fail}`.
#[cfg(all(rnetns_percpu_arm64_asm, rnetns_arm64_lse))]
macro_rules! arm64_atomic_add {
    ($val:literal) => {
        arm64_alternative!(
            arm64_llsc_add!($val),
            concat!(
                ".arch_extension lse\nldadd {",
                $val,
                "}, {tmp}, [{addr}]\nnop\nnop\nnop"
            ),
            "lse"
        )
    };
}
/// A 64-bit atomic add of operand `val` to `[{addr}]` on arm64 without LSE
/// support in the kernel (`CONFIG_ARM64_LSE_ATOMICS=n`, 6.12): the exclusive
/// load/store loop only. Clobbers `{tmp}` and `{fail}`.
#[cfg(all(rnetns_percpu_arm64_asm, not(rnetns_arm64_lse)))]
macro_rules! arm64_atomic_add {
    ($val:literal) => {
        concat!(
            arm64_llsc_add!($val),
            "\n// no LSE atomics in this kernel (cpucap {lse} unused)"
        )
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
/// the host process's, so there (and on every architecture but x86_64 and
/// arm64) the C helper does what `this_cpu_add` does on that kernel.
///
/// On arm64 (`rnetns_percpu_arm64_asm`), as `this_cpu_add` there: the
/// CPU's per-CPU offset from `TPIDR_EL1` (`TPIDR_EL2` in a kernel running
/// at EL2 with VHE, patched in as for `__kern_my_cpu_offset()`), then two
/// atomic adds at that offset. Unlike `this_cpu_add`, no
/// `preempt_disable()` around them: it would only keep a migration between
/// the offset read and the adds from adding to the copy of the CPU the task
/// left, and that is harmless here (the adds are atomic, so they land
/// beside that CPU's own, and only sums over every CPU are read). So there
/// is no function call and no preemption count change per packet.
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
    // `pcp` plus the per-CPU offset of the CPU the register was read on is
    // that CPU's copy, live whatever CPU the task runs on by the atomic adds;
    // the alternatives swap in instructions of the same length and effect.
    #[cfg(rnetns_percpu_arm64_asm)]
    // SAFETY: `packets` and `bytes` are at offsets 0 and 8 of the `repr(C)`
    // `Totals`, which the caller guarantees is a live per-CPU object.
    unsafe {
        core::arch::asm!(
            arm64_alternative!("mrs {off}, tpidr_el1", "mrs {off}, tpidr_el2", "vhe"),
            "add {addr}, {pcp}, {off}",
            arm64_atomic_add!("one"),
            "add {addr}, {addr}, #8",
            arm64_atomic_add!("bytes"),
            pcp = in(reg) pcp,
            bytes = in(reg) bytes,
            one = in(reg) 1u64,
            off = out(reg) _,
            addr = out(reg) _,
            tmp = out(reg) _,
            fail = out(reg) _,
            vhe = const bindings::ARM64_HAS_VIRT_HOST_EXTN,
            lse = const bindings::ARM64_HAS_LSE_ATOMICS,
            options(nostack),
        );
    }
    // Elsewhere the C helper; the field addresses are computed by offset,
    // since a per-CPU pointer need not point into this address space.
    #[cfg(not(any(rnetns_percpu_x86_asm, rnetns_percpu_arm64_asm)))]
    // SAFETY: the caller guarantees that `pcp` is a live per-CPU `Totals`,
    // whose `bytes` is 8 bytes in.
    unsafe {
        let bytes_pcp = pcp.cast::<u8>().wrapping_add(8).cast::<u64>();
        bindings::rnetns_this_cpu_add_u64(pcp.cast::<u64>(), 1);
        bindings::rnetns_this_cpu_add_u64(bytes_pcp, bytes);
    }
}
