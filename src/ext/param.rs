// SPDX-License-Identifier: GPL-2.0

//! Module parameters (`module_param_cb`) with string values. The `module!`
//! macro of Linux 6.12 has no parameters at all; 7.2's takes `params:` of
//! integer types only (`kernel::module_param::ModuleParam`, parsed from a
//! `&BStr`). [`Param::set`] takes the value's bytes the same way, so that a
//! string parameter type upstream can replace this file.
//!
//! A parameter is a `static` implementing [`Param`], exposed by
//! [`module_param!`] under a name and mode. The kernel calls
//! [`Param::set`] for each `name=value` given to `insmod`/`modprobe`, before
//! the module's `init`; an error makes the load fail. [`Param::get`] formats
//! the value for `/sys/module/<module>/parameters/<name>`.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use super::{bindings, compat};
use core::fmt::{self, Write};
use kernel::prelude::*;

/// The value of a module parameter.
///
/// # Locking
///
/// The kernel serialises `set` and `get` of one module's parameters
/// (`kernel_param_lock`); `set` runs before the module's `init`.
pub(crate) trait Param: Sync + 'static {
    /// Parses and stores `value` (the text after `name=`).
    fn set(&self, value: &[u8]) -> Result;
    /// Writes the current value.
    fn get(&self, out: &mut dyn Write) -> fmt::Result;
}

/// A `struct kernel_param_ops` that may live in a `static`.
#[repr(transparent)]
pub(crate) struct ParamOps(pub(crate) bindings::kernel_param_ops);
// SAFETY: only read by the kernel; holds function pointers.
unsafe impl Sync for ParamOps {}

/// A `struct kernel_param` that may live in a `static` (in section
/// `__param`, where the module loader finds it).
#[repr(transparent)]
pub(crate) struct KernelParam(pub(crate) bindings::kernel_param);
// SAFETY: only read by the kernel; its pointers are to statics.
unsafe impl Sync for KernelParam {}

/// Writes into the 4 KiB buffer the kernel gives `get`.
struct Buf {
    /// The start of the buffer (`PAGE_SIZE` bytes).
    buf: *mut u8,
    /// Bytes written so far.
    len: usize,
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep room for the terminating NUL.
        if self.len + s.len() >= kernel::page::PAGE_SIZE {
            return Err(fmt::Error);
        }
        // SAFETY: `buf` has `PAGE_SIZE` bytes (contract of `get_trampoline`)
        // and the copy stays inside them (checked above).
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), s.len()) };
        self.len += s.len();
        Ok(())
    }
}

/// The `set` callback of a parameter `P`.
///
/// # Safety
///
/// Only for the kernel, as `kernel_param_ops.set` with a NUL-terminated
/// string (or NULL for a bare `name`).
pub(crate) unsafe fn set_trampoline<P: Param>(param: &'static P, val: *const u8) -> i32 {
    let value: &[u8] = if val.is_null() {
        b""
    } else {
        // SAFETY: the kernel passes a NUL-terminated string that lives for
        // the call.
        unsafe { compat::c_str_bytes(val) }
    };
    match param.set(value) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `get` callback of a parameter `P`.
///
/// # Safety
///
/// Only for the kernel, as `kernel_param_ops.get` with a `PAGE_SIZE` buffer.
pub(crate) unsafe fn get_trampoline<P: Param>(param: &'static P, buf: *mut u8) -> i32 {
    let mut out = Buf { buf, len: 0 };
    if param.get(&mut out).is_err() || out.write_str("\n").is_err() {
        return ENOSPC.to_errno();
    }
    // SAFETY: `len < PAGE_SIZE` (see `Buf::write_str`).
    unsafe { *buf.add(out.len) = 0 };
    out.len as i32
}

/// `perm`, if it is a mode the kernel's `module_param()` accepts (its
/// `VERIFY_OCTAL_PERMISSIONS`): at most 0777, readable by the user if by
/// the group, by the group if by others, writable by the user if by the
/// group, and never by others. Anything else fails the build.
pub(crate) const fn verify_perm(perm: u16) -> u16 {
    assert!(perm <= 0o777, "module parameter mode above 0777");
    assert!(
        (perm >> 6) & 4 >= (perm >> 3) & 4 && (perm >> 3) & 4 >= perm & 4,
        "module parameter readable by group or others but not by its user"
    );
    assert!(
        (perm >> 6) & 2 >= (perm >> 3) & 2,
        "module parameter writable by its group but not by its user"
    );
    assert!(
        perm & 2 == 0,
        "module parameter writable by others (module_param() refuses it)"
    );
    perm
}

/// The bytes of `s` as an array, for `.modinfo` entries.
pub(crate) const fn bytes<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = s.as_bytes()[i];
        i += 1;
    }
    out
}

/// Exposes a `static` [`Param`] as a module parameter.
///
/// The mode is checked at build time as the C `module_param()` checks it
/// ([`verify_perm`]): a world-writable parameter does not build.
///
/// ```ignore
/// module_param!(HOOKS, Selection, "hooks", 0o444, "which hook points to count");
/// ```
macro_rules! module_param {
    ($param:ident, $ty:ty, $name:literal, $perm:literal, $desc:literal) => {
        const _: () = {
            use $crate::ext::{bindings, param};

            /// `kernel_param_ops.set` of the parameter.
            ///
            /// # Safety
            ///
            /// Only for the kernel (see [`param::set_trampoline`]).
            unsafe extern "C" fn set(val: *const u8, _kp: *const bindings::kernel_param) -> i32 {
                // SAFETY: called by the kernel as `set` (contract above).
                unsafe { param::set_trampoline::<$ty>(&$param, val) }
            }

            /// `kernel_param_ops.get` of the parameter.
            ///
            /// # Safety
            ///
            /// Only for the kernel (see [`param::get_trampoline`]).
            unsafe extern "C" fn get(buf: *mut u8, _kp: *const bindings::kernel_param) -> i32 {
                // SAFETY: called by the kernel as `get` (contract above).
                unsafe { param::get_trampoline::<$ty>(&$param, buf) }
            }

            static OPS: param::ParamOps = param::ParamOps(bindings::kernel_param_ops {
                flags: 0,
                set: Some(set),
                get: Some(get),
                free: None,
            });

            // Only the address of the module's `struct module` is used.
            #[allow(improper_ctypes)]
            extern "C" {
                static __this_module: kernel::types::Opaque<kernel::bindings::module>;
            }

            // `used(compiler)`, as the kernel's `module!` has it: a plain
            // `#[used]` is `used(linker)`, whose SHF_GNU_RETAIN flag makes
            // GNU ld (a gcc-built kernel's, Debian's) keep these sections
            // apart from the other `__param` and `.modinfo` input sections,
            // and modpost and the module loader then see only one of each.
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: param::KernelParam = param::KernelParam(bindings::kernel_param {
                name: concat!($name, "\0").as_ptr(),
                // SAFETY: `__this_module` is the module's own `struct
                // module`, defined by modpost for every module; only its
                // address is used.
                mod_: unsafe { __this_module.get().cast::<bindings::module>() },
                ops: &OPS.0,
                perm: const { param::verify_perm($perm) },
                level: -1,
                flags: 0,
                __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                    arg: core::ptr::null_mut(),
                },
            });

            // What `modinfo` shows for the parameter: `parm: NAME:DESC
            // (TYPE)`. The type is `string`, as `module_param_string()`
            // and the kernel's parameters with their own ops that take text
            // (fcoe's `create`, `destroy`) say: the value is text, parsed
            // by `Param::set`, not kept as a `char *` that the kernel
            // allocates and frees, which `charp` says.
            const PARM_S: &str = concat!("parm=", $name, ":", $desc, "\0");
            const TYPE_S: &str = concat!("parmtype=", $name, ":string\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM: [u8; PARM_S.len()] = param::bytes(PARM_S);
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE: [u8; TYPE_S.len()] = param::bytes(TYPE_S);
        };
    };
}
pub(crate) use module_param;
