// SPDX-License-Identifier: GPL-2.0
//! `rnetns-insncount`: a QEMU TCG plugin that counts the instructions a
//! guest executes, exactly, in windows that the guest opens and closes
//! itself. `scripts/bench.sh` loads it into the instruction-count boot of
//! the benchmark; `bench/insn.py` reads what it writes.
//!
//! ```text
//! qemu-system-x86_64 -smp 1 ... -plugin PATH/librnetns_insncount.so,out=FILE
//! qemu-system-aarch64 -smp 1 ... -plugin PATH/librnetns_insncount.so,out=FILE
//! ```
//!
//! # Markers
//!
//! A window starts and ends where the guest executes a marker, a no-op
//! instruction that carries a 16-bit label `L`:
//!
//! - x86-64: `nopl 0x524eLLLL(%rax)` (bytes `0f 1f 80 LL LL 4e 52`), a
//!   no-op on every x86-64 CPU;
//! - aarch64: `movk xzr, #L, lsl #48` (the 32-bit word `0xf2e0001f | L << 5`,
//!   little endian), a move into the zero register: it writes nothing, and
//!   no compiler emits it.
//!
//! The guest's architecture is QEMU's target (`qemu_info_t`'s `target_name`:
//! `x86_64` or `aarch64`), read when the plugin is installed; another target
//! is refused. A marker closes the open window, if any, and opens window `L`;
//! label 0 opens none.
//! The guest tool (`rnetns-bench`, `bench/tool`) emits markers around what it
//! measures, so no guest register or memory needs to be read (this QEMU's
//! plugin API, version 1, has no way to read either).
//!
//! # Counting
//!
//! Every translated block gets an inline add, executed by the generated code
//! each time the block starts: user-space blocks add their instruction count
//! to one counter; each kernel block (start address in the upper half) has
//! its own execution counter, keyed by its address and its bytes, so that a
//! module reloaded at the same address with other code gets new counters.
//! A block is counted whole when it starts: an exception in its middle
//! (rare in the kernel, and the same in every run) overcounts the rest of it.
//! Inline adds are not atomic: the guest must have one vCPU.
//!
//! # Output
//!
//! `FILE`, text, one record per line:
//!
//! ```text
//! T ID ADDR LEN,LEN,...   a kernel block: start address (hex), the lengths
//!                         of its instructions; written once, before the
//!                         first window in which it ran
//! W LABEL USER KERNEL     a window: instructions executed in user and in
//!                         kernel mode
//! C ID COUNT              how often kernel block ID started in that window
//! E                       end of the window
//! ```

use qemu_plugin_sys as sys;
use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

/// The plugin API version this plugin is written for (QEMU 7.2's).
#[no_mangle]
pub static qemu_plugin_version: c_int = sys::QEMU_PLUGIN_VERSION as c_int;

/// The x86-64 marker's bytes before its label: `nopl disp32(%rax)`.
const MARKER_OP: [u8; 3] = [0x0f, 0x1f, 0x80];
/// The x86-64 marker's displacement above its label: "RN".
const MARKER_TAG: [u8; 2] = [0x4e, 0x52];
/// First address of the kernel half on x86-64.
const KERNEL_START: u64 = 0xffff_8000_0000_0000;
/// The aarch64 marker with label 0: `movk xzr, #0, lsl #48`.
const A64_MARKER: u32 = 0xf2e0_001f;
/// The bits of the aarch64 marker that hold its label (`imm16`, bits 5-20).
const A64_LABEL_MASK: u32 = 0xffff << 5;
/// First address of the kernel half on aarch64: addresses with bit 63 set
/// translate through `TTBR1_EL1`, the kernel's (the linear map of a 52-bit
/// kernel starts at `0xfff0_0000_0000_0000`, its text and modules higher).
const A64_KERNEL_START: u64 = 1 << 63;

/// The guest architectures whose markers the plugin knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of QEMU's `target_name`, if the plugin knows it.
    fn from_target(name: &str) -> Option<Self> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The label of a marker instruction, or `None` for any other
    /// instruction.
    fn marker_label(self, bytes: &[u8]) -> Option<u16> {
        match self {
            Arch::X86_64 => marker_label(bytes),
            Arch::Aarch64 => a64_marker_label(bytes),
        }
    }

    /// Whether a block at `addr` runs in the kernel.
    fn is_kernel(self, addr: u64) -> bool {
        match self {
            Arch::X86_64 => addr >= KERNEL_START,
            Arch::Aarch64 => addr >= A64_KERNEL_START,
        }
    }
}

/// A counter that the code QEMU generates increments.
///
/// # Invariants
///
/// Boxed by its owner and never moved or freed while the plugin is
/// installed: QEMU holds its address in translated code.
struct Counter(UnsafeCell<u64>);

impl Counter {
    fn new() -> Box<Self> {
        Box::new(Counter(UnsafeCell::new(0)))
    }

    /// The address the inline add targets.
    fn target(&self) -> *mut c_void {
        self.0.get().cast()
    }

    /// Reads the counter and sets it to zero.
    ///
    /// Called only from the vCPU thread between blocks (the guest has one
    /// vCPU), so no generated code runs concurrently.
    fn take(&self) -> u64 {
        // SAFETY: the pointer is valid (type invariant); the only writer is
        // generated code on this same thread, which is not running now.
        unsafe {
            let v = self.0.get().read_volatile();
            self.0.get().write_volatile(0);
            v
        }
    }
}

/// A kernel translation block's identity and execution counter.
struct KernelBlock {
    id: usize,
    addr: u64,
    lens: Vec<u8>,
    count: Box<Counter>,
    written: bool,
}

struct State {
    out: BufWriter<File>,
    user: Box<Counter>,
    blocks: Vec<KernelBlock>,
    by_key: HashMap<(u64, u64), usize>,
    /// The open window's label; 0 when none is open.
    open: u16,
    /// The guest's architecture: which markers to look for.
    arch: Arch,
}

/// The plugin's state, shared by QEMU's callbacks.
struct Shared(Mutex<Option<State>>);

// SAFETY: `State` is only reached through the mutex; the raw counter
// addresses it holds are used by QEMU's generated code, not by other threads
// of this plugin.
unsafe impl Sync for Shared {}

static STATE: Shared = Shared(Mutex::new(None));

fn with_state(f: impl FnOnce(&mut State)) {
    let mut guard = STATE.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(st) = guard.as_mut() {
        f(st);
    }
}

/// The label of an x86-64 marker instruction, or `None` for any other
/// instruction.
fn marker_label(bytes: &[u8]) -> Option<u16> {
    if bytes.len() == 7 && bytes[..3] == MARKER_OP && bytes[5..] == MARKER_TAG {
        Some(u16::from_le_bytes([bytes[3], bytes[4]]))
    } else {
        None
    }
}

/// The label of an aarch64 marker instruction, or `None` for any other
/// instruction.
fn a64_marker_label(bytes: &[u8]) -> Option<u16> {
    let word = u32::from_le_bytes(bytes.try_into().ok()?);
    if word & !A64_LABEL_MASK == A64_MARKER {
        // The mask keeps 16 bits: the cast loses nothing.
        Some(((word & A64_LABEL_MASK) >> 5) as u16)
    } else {
        None
    }
}

/// FNV-1a over a block's instruction lengths and bytes.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl State {
    /// Closes the open window, writing it out, and opens `next`.
    fn switch(&mut self, next: u16) {
        let user = self.user.take();
        let mut kernel = 0u64;
        let mut ran = Vec::new();
        for b in &self.blocks {
            let c = b.count.take();
            if c != 0 {
                kernel += c * b.lens.len() as u64;
                ran.push((b.id, c));
            }
        }
        if self.open != 0 {
            let r = self.write_window(user, kernel, &ran);
            if let Err(e) = r {
                eprintln!("rnetns-insncount: writing the output failed: {e}");
            }
        }
        self.open = next;
    }

    fn write_window(
        &mut self,
        user: u64,
        kernel: u64,
        ran: &[(usize, u64)],
    ) -> std::io::Result<()> {
        for &(id, _) in ran {
            let b = &mut self.blocks[id];
            if !b.written {
                b.written = true;
                let lens: Vec<String> = b.lens.iter().map(|l| l.to_string()).collect();
                writeln!(self.out, "T {} {:x} {}", b.id, b.addr, lens.join(","))?;
            }
        }
        writeln!(self.out, "W {} {} {}", self.open, user, kernel)?;
        for &(id, c) in ran {
            writeln!(self.out, "C {id} {c}")?;
        }
        writeln!(self.out, "E")?;
        self.out.flush()
    }
}

/// Executed with every marker: `udata` carries its label.
unsafe extern "C" fn on_marker(_vcpu: c_uint, udata: *mut c_void) {
    let label = udata as usize as u16;
    with_state(|st| st.switch(label));
}

/// Called for every block QEMU translates: attaches the counting.
unsafe extern "C" fn on_translate(_id: sys::qemu_plugin_id_t, tb: *mut sys::qemu_plugin_tb) {
    // SAFETY: `tb` is the block being translated, valid during this call.
    let (n, addr) = unsafe {
        (
            sys::qemu_plugin_tb_n_insns(tb),
            sys::qemu_plugin_tb_vaddr(tb),
        )
    };
    let mut lens = Vec::with_capacity(n);
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut arch = Arch::X86_64;
    with_state(|st| arch = st.arch);
    for i in 0..n {
        // SAFETY: `i` is below the block's instruction count; the bytes are
        // valid for the instruction's size during this call.
        let bytes = unsafe {
            let insn = sys::qemu_plugin_tb_get_insn(tb, i);
            let size = sys::qemu_plugin_insn_size(insn);
            let data = sys::qemu_plugin_insn_data(insn).cast::<u8>();
            let bytes = std::slice::from_raw_parts(data, size);
            if let Some(label) = arch.marker_label(bytes) {
                sys::qemu_plugin_register_vcpu_insn_exec_cb(
                    insn,
                    Some(on_marker),
                    sys::qemu_plugin_cb_flags::QEMU_PLUGIN_CB_NO_REGS,
                    usize::from(label) as *mut c_void,
                );
            }
            bytes
        };
        lens.push(bytes.len() as u8);
        hash = fnv(fnv(hash, &[bytes.len() as u8]), bytes);
    }
    with_state(|st| {
        let (target, imm) = if st.arch.is_kernel(addr) {
            let next = st.blocks.len();
            let idx = *st.by_key.entry((addr, hash)).or_insert(next);
            if idx == next {
                st.blocks.push(KernelBlock {
                    id: idx,
                    addr,
                    lens,
                    count: Counter::new(),
                    written: false,
                });
            }
            (st.blocks[idx].count.target(), 1)
        } else {
            (st.user.target(), n as u64)
        };
        // SAFETY: `tb` is being translated; `target` stays valid while the
        // plugin is installed (`Counter`'s invariant: boxed, never freed).
        unsafe {
            sys::qemu_plugin_register_vcpu_tb_exec_inline(
                tb,
                sys::qemu_plugin_op::QEMU_PLUGIN_INLINE_ADD_U64,
                target,
                imm,
            );
        }
    });
}

/// Called when QEMU exits: writes out a window still open.
unsafe extern "C" fn on_exit(_id: sys::qemu_plugin_id_t, _udata: *mut c_void) {
    with_state(|st| st.switch(0));
}

/// The plugin's entry point: `out=FILE` is its one argument.
///
/// # Safety
///
/// Called by QEMU with `argv` holding `argc` valid C strings.
#[no_mangle]
pub unsafe extern "C" fn qemu_plugin_install(
    id: sys::qemu_plugin_id_t,
    info: *const sys::qemu_info_t,
    argc: c_int,
    argv: *mut *mut c_char,
) -> c_int {
    // SAFETY: QEMU passes a valid info block.
    if !unsafe { (*info).system_emulation } {
        eprintln!("rnetns-insncount: for system emulation only");
        return -1;
    }
    // SAFETY: as above; `target_name` is a valid C string (or null).
    let target = unsafe { (*info).target_name };
    let target = if target.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null `target_name` is a valid C string.
        unsafe { CStr::from_ptr(target) }
            .to_string_lossy()
            .into_owned()
    };
    let Some(arch) = Arch::from_target(&target) else {
        eprintln!("rnetns-insncount: unknown target '{target}' (x86_64 or aarch64)");
        return -1;
    };
    let mut out = None;
    for i in 0..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: `argv` holds `argc` valid C strings (the caller's contract).
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy();
        match arg.split_once('=') {
            Some(("out", path)) => out = Some(path.to_string()),
            _ => {
                eprintln!("rnetns-insncount: unknown argument '{arg}' (takes out=FILE)");
                return -1;
            }
        }
    }
    let Some(path) = out else {
        eprintln!("rnetns-insncount: no out=FILE given");
        return -1;
    };
    let file = match File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rnetns-insncount: cannot create {path}: {e}");
            return -1;
        }
    };
    *STATE.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
        out: BufWriter::new(file),
        user: Counter::new(),
        blocks: Vec::new(),
        by_key: HashMap::new(),
        open: 0,
        arch,
    });
    // SAFETY: registering callbacks of the right types for this plugin id.
    unsafe {
        sys::qemu_plugin_register_vcpu_tb_trans_cb(id, Some(on_translate));
        sys::qemu_plugin_register_atexit_cb(id, Some(on_exit), std::ptr::null_mut());
    }
    0
}
