// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace proc files (`/proc/net/<name>`) and seq_file output.
//!
//! A [`NetFile`] is a file in one namespace's `/proc/net` that shows and
//! updates data of that namespace only ([`NetShow`]), as the
//! `proc_create_net_single_write()` files of C subsystems do. Whose data it
//! is and how it is kept is not this file's concern (per-namespace state,
//! the `pernet` abstractions, attaches one to each namespace's state).
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)
//!
//! # Examples
//!
//! ```
//! use kernel::{
//!     c_str,
//!     net::namespace::Net,
//!     proc::{NetFile, NetShow, ProcFile, SeqFile},
//!     seq_print,
//! };
//!
//! struct Hello;
//!
//! impl NetShow for Hello {
//!     fn show(&self, net: &Net, m: &SeqFile) -> Result {
//!         seq_print!(m, "hello from namespace {}\n", net.inum());
//!         Ok(())
//!     }
//! }
//!
//! static HELLO: Hello = Hello;
//! const FILE: ProcFile = ProcFile {
//!     name: c_str!("rust_proc_doctest"),
//!     mode: 0o444,
//! };
//!
//! // SAFETY: `HELLO` is static: it outlives the file.
//! let file = unsafe { NetFile::new(Net::init_net(), FILE, &HELLO) }?;
//! // Waits for the readers; so does dropping it.
//! // SAFETY: not a call of the file; nothing else removes it.
//! unsafe { file.remove() };
//! # Ok::<(), Error>(())
//! ```

use super::{
    bindings,
    compat::{self, CStr},
    net::Net,
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::prelude::*;

pub(crate) use compat::{seq_print, SeqFile};

/// Name and mode of a proc file under `/proc/net`.
#[derive(Clone, Copy)]
pub(crate) struct ProcFile {
    /// The file name.
    pub(crate) name: &'static CStr,
    /// The access mode, for example `0o444`.
    pub(crate) mode: u16,
}

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

/// The seq_file `show` callback of a proc file.
type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> i32;
/// The write callback of a per-namespace proc file (`proc_write_t`).
type WriteFn = unsafe extern "C" fn(*mut bindings::file, *mut u8, usize) -> i32;

/// A file in one namespace's `/proc/net`, removed when dropped, or before
/// by [`NetFile::remove`].
///
/// # Invariants
///
/// `pde` is a live proc entry made by `proc_create_net_single_write`, not
/// yet removed while `removed` is clear; it is removed once.
pub(crate) struct NetProcEntry {
    /// The entry.
    pde: NonNull<bindings::proc_dir_entry>,
    /// Whether the entry was removed.
    removed: AtomicBool,
}

// SAFETY: a proc entry may be removed from any task that may sleep.
unsafe impl Send for NetProcEntry {}
// SAFETY: the only `&self` method, `remove`, removes the entry once, from
// whichever caller gets there first.
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
    unsafe fn create(
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
        // NULL when the entry cannot be allocated, and also when the name is
        // taken (the proc core then warns): the exported API does not tell
        // which, so this is ENOMEM, as the C users of the call return.
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
        Ok(Self {
            pde,
            removed: AtomicBool::new(false),
        })
    }

    /// Removes the file, if that was not done yet, and waits for `show`
    /// and `write` calls in progress to return; none start afterwards.
    /// Sleeps.
    ///
    /// # Safety
    ///
    /// Only the first call waits: it must not be a `show` or `write` of the
    /// file itself (which would wait for itself forever), and no other call
    /// may run meanwhile (it would return before the calls in progress do).
    unsafe fn remove(&self) {
        if !self.removed.swap(true, Ordering::AcqRel) {
            // SAFETY: `removed` was clear, so `pde` is live (type
            // invariant); it is removed once, here.
            unsafe { bindings::proc_remove(self.pde.as_ptr()) };
        }
    }
}

impl Drop for NetProcEntry {
    /// Removes the file if `remove` did not.
    fn drop(&mut self) {
        // SAFETY: a file call cannot own the entry, and nothing else can
        // call `remove` during the drop (`&mut self`).
        unsafe { self.remove() };
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
            SeqFile::from_raw(m.cast()),
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

/// What a namespace's `/proc/net` file ([`NetFile`]) shows and takes.
pub(crate) trait NetShow: Sync + Sized + 'static {
    /// Shows the data. Runs in process context and may sleep; never after
    /// the file was removed (afterwards the proc core fails every call with
    /// `EIO`). The error is returned to the reader.
    fn show(&self, net: &Net, m: &SeqFile) -> Result;

    /// Takes a write: `input` is the whole buffer of one `write(2)` (1 to
    /// `PAGE_SIZE - 1` bytes); the rest as for [`NetShow::show`]. The
    /// default refuses it with `EINVAL`.
    fn write(&self, _ctx: &WriteContext<'_>, _input: &[u8]) -> Result {
        Err(EINVAL)
    }
}

/// A file in one namespace's `/proc/net` showing data of type `T`
/// ([`NetShow`]). Removing it ([`NetFile::remove`], or dropping it) waits
/// for the `show` and `write` calls in progress.
///
/// # Invariants
///
/// The entry's data is a `*const T` valid until the entry is removed.
pub(crate) struct NetFile<T: NetShow> {
    /// The file.
    entry: NetProcEntry,
    /// The file shows a `T`.
    _t: PhantomData<T>,
}

impl<T: NetShow> NetFile<T> {
    /// Creates the file `file` in `net`'s `/proc/net`, showing `data`; owned
    /// by the namespace's root user (see [`NetProcEntry`]). Sleeps.
    ///
    /// # Safety
    ///
    /// `data` must stay valid for shared access until the file is removed
    /// ([`NetFile::remove`] or drop).
    pub(crate) unsafe fn new(net: &Net, file: ProcFile, data: *const T) -> Result<Self> {
        let raw = data.cast_mut().cast::<c_void>();
        // SAFETY: `data` stays valid until the entry is removed (caller's
        // contract); the trampolines take the entry's data as a `T`.
        let entry = unsafe { NetProcEntry::create(net, file, show::<T>, Some(write::<T>), raw) };
        let entry = entry.inspect_err(|_| {
            pr_err!(
                "cannot create a /proc/net file in namespace {}: out of memory, or the name is taken (the proc core does not tell which)\n",
                net.inum()
            );
        })?;
        // INVARIANT: made with `data` as its data just above.
        Ok(Self {
            entry,
            _t: PhantomData,
        })
    }

    /// Removes the file, if that was not done yet, waiting for the `show`
    /// and `write` calls in progress; dropping it does the same. Sleeps.
    ///
    /// # Safety
    ///
    /// Not from a `show` or `write` of the file itself (it would wait for
    /// itself forever), and not while another `remove` of the file may run
    /// (only the first call waits).
    pub(crate) unsafe fn remove(&self) {
        // SAFETY: the caller's contract.
        unsafe { self.entry.remove() };
    }
}

/// The seq_file `show` trampoline of a [`NetFile`].
///
/// # Safety
///
/// Only for the proc core, as `show` of a file made by [`NetFile::new`].
unsafe extern "C" fn show<T: NetShow>(m: *mut bindings::seq_file, _v: *mut c_void) -> i32 {
    // SAFETY: the seq_file is being shown; the single-net seq_file holds
    // its namespace while open; the file's data is a `T`, valid until the
    // file is removed, which waits for this call (`NetFile` invariant).
    let (data, net, m) = unsafe {
        (
            &*bindings::rnetns_seq_pde_data(m).cast_const().cast::<T>(),
            Net::from_raw(bindings::rnetns_seq_file_single_net(m)),
            SeqFile::from_raw(m.cast()),
        )
    };
    match data.show(net, m) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `proc_write_t` trampoline of a [`NetFile`].
///
/// # Safety
///
/// Only for the proc core, as `write` of a file made by [`NetFile::new`],
/// with a NUL-terminated kernel copy of `size` bytes written by the user.
unsafe extern "C" fn write<T: NetShow>(
    file: *mut bindings::file,
    buf: *mut u8,
    size: usize,
) -> i32 {
    // SAFETY: `file` is an open file of the proc file (contract above); `buf`
    // holds `size` bytes for the duration of the call; the data as in
    // `show`.
    let (data, ctx, input) = unsafe {
        (
            &*bindings::rnetns_file_pde_data(file)
                .cast_const()
                .cast::<T>(),
            WriteContext::from_raw(file),
            core::slice::from_raw_parts(buf.cast_const(), size),
        )
    };
    match data.write(&ctx, input) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
