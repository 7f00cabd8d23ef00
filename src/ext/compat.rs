// SPDX-License-Identifier: GPL-2.0

//! Every difference between the kernels rnetns builds for, in one place.
//!
//! Each item is selected by a feature cfg that `Kbuild` derives from the
//! kernel tree it builds against (a file or a definition that exists or not),
//! never from a version number, so a kernel that backports a feature gets the
//! matching code:
//!
//! | cfg | set when the tree has | what changes |
//! | --- | --- | --- |
//! | `rnetns_kernel_fmt` | `rust/kernel/fmt.rs` (7.2) | `pr_*!` format through `kernel::fmt::Display` |
//! | `rnetns_core_cstr` | `pub use core::ffi::CStr` in `rust/ffi.rs` (7.2) | `CStr` is `core`'s, its methods come from `CStrExt` |
//! | `rnetns_module_authors` | `authors` in `rust/macros/module.rs` (7.2) | `module!` takes `authors: [..]`, not `author:` |
//! | `rnetns_seq_file` | `rust/kernel/seq_file.rs` (7.2) | `SeqFile` and `seq_print!` are the `kernel` crate's |
//! | `rnetns_kunit_tests` | `kunit_tests` in `rust/macros/lib.rs` (7.2) | the KUnit tests (`src/unit_tests.rs`) are built |
//!
//! `Kbuild` also handles two build-side differences: the kernel's bindgen
//! parameters that derive `MaybeZeroable` or add `cfi_encoding` attributes
//! (7.2) are left out of the module's own bindgen run, and a gcc-built
//! kernel's C flags are translated for libclang as `rust/Makefile` does.

#[cfg(not(rnetns_seq_file))]
use {super::bindings, kernel::types::Opaque};

/// A borrowed C string: `core::ffi::CStr` where the kernel uses it, else the
/// `kernel` crate's own type. `c_str!` makes one on every kernel.
#[cfg(rnetns_core_cstr)]
pub(crate) use core::ffi::CStr;
#[cfg(not(rnetns_core_cstr))]
pub(crate) use kernel::str::CStr;

/// The bytes of the NUL-terminated string at `ptr`, without the NUL.
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string that stays unchanged and
/// allocated for `'a`.
pub(crate) unsafe fn c_str_bytes<'a>(ptr: *const u8) -> &'a [u8] {
    #[cfg(rnetns_core_cstr)]
    {
        use kernel::str::CStrExt;
        // SAFETY: the caller's contract.
        unsafe { CStr::from_char_ptr(ptr) }.to_bytes()
    }
    #[cfg(not(rnetns_core_cstr))]
    {
        // SAFETY: the caller's contract.
        unsafe { CStr::from_char_ptr(ptr) }.as_bytes()
    }
}

/// The trait a type implements to be printed with `{}` by `pr_*!`.
#[cfg(not(rnetns_kernel_fmt))]
pub(crate) use core::fmt::Display;
/// The trait a type implements to be printed with `{}` by `pr_*!`.
#[cfg(rnetns_kernel_fmt)]
pub(crate) use kernel::fmt::Display;

/// The `module!` declaration of rnetns, in the syntax the kernel's macro
/// takes: `authors: [..]` or a single `author:`. The values are passed on
/// as plain tokens (`tt`), which is what 6.12's `module!` parser takes.
#[cfg(rnetns_module_authors)]
macro_rules! rnetns_module {
    (type: $t:tt, name: $name:tt, author: $author:tt,
     description: $desc:tt, license: $license:tt $(,)?) => {
        ::kernel::prelude::module! {
            type: $t,
            name: $name,
            authors: [$author],
            description: $desc,
            license: $license,
        }
    };
}
/// The `module!` declaration of rnetns, in the syntax the kernel's macro
/// takes: `authors: [..]` or a single `author:`.
#[cfg(not(rnetns_module_authors))]
macro_rules! rnetns_module {
    (type: $t:tt, name: $name:tt, author: $author:tt,
     description: $desc:tt, license: $license:tt $(,)?) => {
        ::kernel::prelude::module! {
            type: $t,
            name: $name,
            author: $author,
            description: $desc,
            license: $license,
        }
    };
}
pub(crate) use rnetns_module;

/// The output buffer of a seq_file being shown: the `kernel` crate's
/// [`kernel::seq_file::SeqFile`] where it has one.
#[cfg(rnetns_seq_file)]
pub(crate) use kernel::seq_file::{seq_print, SeqFile};

/// The output buffer of a seq_file being shown (`struct seq_file`), shaped
/// as the `kernel` crate's `seq_file::SeqFile` of later kernels, which
/// replaces it there.
///
/// # Invariants
///
/// Only handed out by reference inside a `show` callback, while the seq_file
/// core holds its buffer.
#[cfg(not(rnetns_seq_file))]
#[repr(transparent)]
pub(crate) struct SeqFile(Opaque<bindings::seq_file>);

#[cfg(not(rnetns_seq_file))]
impl SeqFile {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct seq_file` being shown for the whole of
    /// `'a`, and nothing else may use it meanwhile.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::seq_file) -> &'a Self {
        // SAFETY: `SeqFile` is `repr(transparent)` over `Opaque<seq_file>`;
        // the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Appends formatted text (used by [`seq_print!`]). Text that does not
    /// fit makes the seq_file core retry the whole `show` with a larger
    /// buffer, as `seq_printf` does.
    pub(crate) fn call_printf(&self, args: core::fmt::Arguments<'_>) {
        // SAFETY: by the type invariant the seq_file is being shown; `%pA`
        // makes vsprintf format `args` through `rust_fmt_argument`, and `args`
        // outlives the call.
        unsafe {
            bindings::seq_printf(
                self.0.get(),
                kernel::c_str!("%pA").as_char_ptr(),
                core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
            );
        }
    }
}

/// Writes formatted text to a [`SeqFile`], like `seq_printf`.
#[cfg(not(rnetns_seq_file))]
macro_rules! seq_print {
    ($m:expr, $($arg:tt)+) => {
        $m.call_printf(format_args!($($arg)+))
    };
}
#[cfg(not(rnetns_seq_file))]
pub(crate) use seq_print;
