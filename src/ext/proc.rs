// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace proc files (`/proc/net/<name>`) and seq_file output.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use super::{bindings, net::Net};
use core::{ffi::c_void, fmt, ptr::NonNull};
use kernel::{c_str, prelude::*, types::Opaque};

/// Name and mode of a proc file under `/proc/net`.
#[derive(Clone, Copy)]
pub(crate) struct ProcFile {
    /// The file name.
    pub(crate) name: &'static CStr,
    /// The access mode, for example `0o444`.
    pub(crate) mode: u16,
}

/// The output buffer of a seq_file being shown (`struct seq_file`).
///
/// # Invariants
///
/// Only handed out by reference inside a `show` callback, while the seq_file
/// core holds its buffer.
#[repr(transparent)]
pub(crate) struct SeqFile(Opaque<bindings::seq_file>);

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

    /// Appends formatted text. Text that does not fit makes the seq_file core
    /// retry the whole `show` with a larger buffer, as `seq_printf` does.
    pub(crate) fn print(&self, args: fmt::Arguments<'_>) {
        // SAFETY: by the type invariant the seq_file is being shown; `%pA`
        // makes vsprintf format `args` through `rust_fmt_argument`, and `args`
        // outlives the call.
        unsafe {
            bindings::seq_printf(
                self.0.get(),
                c_str!("%pA").as_char_ptr(),
                core::ptr::from_ref(&args).cast::<c_void>(),
            );
        }
    }
}

/// Writes formatted text to a [`SeqFile`], like `seq_printf`.
macro_rules! seq_print {
    ($m:expr, $($arg:tt)+) => {
        $m.print(format_args!($($arg)+))
    };
}
pub(crate) use seq_print;

/// The context of a write to a proc file: the open file and its namespace.
///
/// # Invariants
///
/// `file` is an open file of a per-namespace proc file, valid for `'a`.
pub(crate) struct WriteContext<'a> {
    /// The open file being written.
    file: *mut bindings::file,
    /// The file's network namespace.
    net: &'a Net,
}

impl<'a> WriteContext<'a> {
    /// Creates a write context.
    ///
    /// # Safety
    ///
    /// `file` must be an open file of a proc file made by
    /// `proc_create_net_single_write`, valid for `'a`.
    pub(crate) unsafe fn from_raw(file: *mut bindings::file) -> Self {
        // SAFETY: the caller guarantees `file` is an open single-net proc file
        // whose `private_data` is its seq_file; the seq_file holds a
        // reference to the namespace while the file is open.
        let net = unsafe { Net::from_raw(bindings::rnetns_file_single_net(file)) };
        // INVARIANT: the caller guarantees `file` is valid for `'a`.
        Self { file, net }
    }

    /// Whether both the task that opened the file and the task writing to it
    /// hold `CAP_NET_ADMIN` over the user namespace that owns the file's
    /// network namespace. Checking the opener too stops a privileged program
    /// from being tricked into writing to a file an unprivileged one opened.
    pub(crate) fn net_admin_capable(&self) -> bool {
        let user_ns = self.net.user_ns();
        let cap = bindings::CAP_NET_ADMIN as i32;
        // SAFETY: `self.file` is an open file (type invariant) and `user_ns`
        // is the live owner of a live namespace.
        unsafe {
            bindings::file_ns_capable(self.file, user_ns, cap) && bindings::ns_capable(user_ns, cap)
        }
    }
}

/// Callbacks of a per-namespace proc file; `D` is the data of the entry.
pub(crate) type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> i32;
/// The write callback of a per-namespace proc file (`proc_write_t`).
pub(crate) type WriteFn = unsafe extern "C" fn(*mut bindings::file, *mut u8, usize) -> i32;

/// A file in one namespace's `/proc/net`, removed when dropped.
///
/// # Invariants
///
/// `pde` is a live proc entry made by `proc_create_net_single_write` and not
/// yet removed.
pub(crate) struct NetProcEntry {
    /// The entry, removed in `drop`.
    pde: NonNull<bindings::proc_dir_entry>,
}

// SAFETY: a proc entry may be removed from any task that may sleep.
unsafe impl Send for NetProcEntry {}
// SAFETY: `NetProcEntry` has no `&self` methods.
unsafe impl Sync for NetProcEntry {}

impl NetProcEntry {
    /// Creates `/proc/net/<name>` in `net`, owned by the root user of the
    /// namespace's owning user namespace (as conntrack does) when that user
    /// is mapped, else by global root.
    ///
    /// # Safety
    ///
    /// `data` must stay valid, for what `show` and `write` do with it, until
    /// the returned entry is dropped; `show` and `write` must treat the
    /// `pde_data` of their file as that `data`.
    pub(crate) unsafe fn create(
        net: &Net,
        file: ProcFile,
        show: ShowFn,
        write: Option<WriteFn>,
        data: *mut c_void,
    ) -> Result<Self> {
        // SAFETY: `net` is alive (type invariant of `Net`), so is its
        // `/proc/net`; `file.name` is a NUL-terminated static string; the
        // caller guarantees `data` for `show` and `write`.
        let pde = unsafe {
            bindings::proc_create_net_single_write(
                file.name.as_char_ptr(),
                file.mode,
                net.proc_net(),
                Some(show),
                write,
                data,
            )
        };
        let pde = NonNull::new(pde).ok_or(ENOMEM)?;
        let user_ns = net.user_ns();
        // SAFETY: `user_ns` is the live owner of a live namespace.
        let (uid, gid) = unsafe {
            (
                bindings::make_kuid(user_ns, 0),
                bindings::make_kgid(user_ns, 0),
            )
        };
        if uid.val != u32::MAX && gid.val != u32::MAX {
            // SAFETY: `pde` is the live entry just created.
            unsafe { bindings::proc_set_user(pde.as_ptr(), uid, gid) };
        }
        // INVARIANT: `pde` was just created.
        Ok(Self { pde })
    }
}

impl Drop for NetProcEntry {
    /// Removes the file. Waits for `show` and `write` calls in progress to
    /// return; none start afterwards.
    fn drop(&mut self) {
        // SAFETY: by the type invariant `pde` has not been removed yet.
        unsafe { bindings::proc_remove(self.pde.as_ptr()) };
    }
}

/// Data shown by a proc file that exists once, in `init_net` only.
pub(crate) trait GlobalShow: Sync + 'static {
    /// Shows the data.
    fn show(&self, m: &SeqFile) -> Result;
}

/// The seq_file `show` trampoline of a [`GlobalShow`] file.
///
/// # Safety
///
/// Only for the proc core, as `show` of a file made by
/// [`NetProcEntry::create_global`] with data of type `H`.
unsafe extern "C" fn show_global<H: GlobalShow>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> i32 {
    // SAFETY: the entry's data is a `&'static H` (see `create_global`); the
    // seq_file is being shown.
    let (data, m) = unsafe {
        (
            &*bindings::rnetns_seq_pde_data(m).cast::<H>(),
            SeqFile::from_raw(m),
        )
    };
    match data.show(m) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl NetProcEntry {
    /// Creates a read-only file in `init_net`'s `/proc/net` showing `data`.
    /// It does not appear in any other namespace.
    pub(crate) fn create_global<H: GlobalShow>(file: ProcFile, data: &'static H) -> Result<Self> {
        // SAFETY: `init_net` lives for as long as the system.
        let init_net = unsafe { Net::from_raw(core::ptr::addr_of!(bindings::init_net)) };
        // SAFETY: `data` is `'static`; `show_global::<H>` takes the entry's
        // data as `H`; there is no `write`.
        unsafe {
            Self::create(
                init_net,
                file,
                show_global::<H>,
                None,
                core::ptr::from_ref(data).cast_mut().cast::<c_void>(),
            )
        }
    }
}
