// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks and a `/proc/net` file as [`Attachment`]s of
//! per-namespace state: how a module composes [`super`] with
//! [`crate::ext::netfilter`] and [`crate::ext::proc`], which know nothing
//! of each other nor of this.
//!
//! The state is set up first, then its hooks ([`NetHooks`], for a
//! [`WithHooks`] state), then its file ([`StateFile`], for a [`WithFile`]
//! state): `type Attached = (NetHooks<Self>, StateFile<Self>)` counts from
//! before the file can be opened. The teardown goes the other way round:
//! `pre_exit` closes the hooks (the netns core then waits for a grace
//! period, which the packets inside them need), `exit` removes the file
//! (waiting for its readers and writers), then the state goes.
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use kernel::{
//!     c_str,
//!     net::{
//!         namespace::{Net, NetRef},
//!         netfilter::{Family, HookOps, HookPoint, HookSet, NetHooks, Observe, SkBuff},
//!         pernet::{self, Callbacks, Operations, Registration, StateFile, WithFile, WithHooks},
//!     },
//!     proc::{ProcFile, SeqFile},
//!     seq_print,
//! };
//!
//! static ID: pernet::Id = pernet::Id::new();
//! static HOOK_OPS: HookOps<MyNet> = HookOps::new();
//! static CALLBACKS: Callbacks<MyNet> = Callbacks::DIRECT;
//!
//! #[pin_data]
//! struct MyNet {
//!     packets: AtomicU64,
//! }
//!
//! impl Operations for MyNet {
//!     const ID: &'static pernet::Id = &ID;
//!     // The hooks count from before the file can be opened.
//!     type Attached = (NetHooks<Self>, StateFile<Self>);
//!     fn init(_net: &Net) -> impl PinInit<Self, Error> + '_ {
//!         try_pin_init!(Self {
//!             packets: AtomicU64::new(0),
//!         })
//!     }
//! }
//!
//! impl Observe for MyNet {
//!     const HOOK_OPS: &'static HookOps<Self> = &HOOK_OPS;
//!     fn observe(&self, _index: usize, _skb: &SkBuff) {
//!         self.packets.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! impl WithHooks for MyNet {
//!     fn hook_set(&self) -> HookSet {
//!         HookSet::of(Family::Ipv4, HookPoint::LocalIn)
//!     }
//! }
//!
//! impl WithFile for MyNet {
//!     const FILE: ProcFile = ProcFile {
//!         name: c_str!("rust_pernet_doctest"),
//!         mode: 0o444,
//!     };
//!     fn show(&self, _net: &Net, attached: Result<&Self::Attached>, m: &SeqFile) -> Result {
//!         let hooks = attached?.0.status().registered();
//!         seq_print!(m, "{:#x} {}\n", hooks.bits(), self.packets.load(Ordering::Relaxed));
//!         Ok(())
//!     }
//! }
//!
//! let reg = Registration::register(&CALLBACKS)?;
//! let init = NetRef::get(Net::init_net()).ok_or(ENODEV)?;
//! let (_, (hooks, _file)) = reg.attached(&init)?;
//! let input = HookSet::of(Family::Ipv4, HookPoint::LocalIn);
//! assert_eq!(hooks.status().registered(), input);
//! hooks.set(HookSet::ALL)?;
//! assert_eq!(hooks.status().registered(), HookSet::ALL);
//! hooks.set(HookSet::NONE)?;
//! assert_eq!(hooks.status().refused().count(), 0);
//! # Ok::<(), Error>(())
//! ```

use super::{Attachment, Exit, Operations, PreExit, Registration, Slot, ATTACHED, ATTACHING};
use crate::ext::{
    net::Net,
    netfilter::{HookSet, HookStatus, NetData, NetHooks, Observe},
    proc::{NetFile, NetShow, ProcFile, SeqFile, WriteContext},
};
use core::{pin::Pin, sync::atomic::Ordering};
use kernel::prelude::*;

// The state of `T` in `net`'s slot: a `NetHooks<T>` is made only by its
// `Attachment::attach` below (its `new` is unsafe), which keeps the state
// initialised for the hooks as `from_net_rcu`'s contract needs, after
// publishing the `net_generic` layout that `state_rcu` reads inline.
// SAFETY: as above.
unsafe impl<T: Operations> NetData for T {
    /// # Safety
    ///
    /// As [`NetData::from_net_rcu`].
    #[inline(always)]
    unsafe fn from_net_rcu(net: &Net) -> &Self {
        // SAFETY: the hook was registered by the attachment of `net`'s
        // state, after the layout was published, and runs no later than a
        // grace period after `detach` (the caller's contract).
        unsafe { Registration::<T>::state_rcu(net) }
    }
}

/// Per-namespace state that observes its namespace's packets with
/// [`NetHooks`] attached to it.
pub(crate) trait WithHooks: Operations + Observe {
    /// The hook points to register when the state is attached;
    /// [`NetHooks::set`] changes them afterwards.
    fn hook_set(&self) -> HookSet;

    /// Called once when the state is attached if netfilter refused some of
    /// the hook points of [`WithHooks::hook_set`] (`status` says which, and
    /// why): the state is attached all the same, with the others
    /// registered, and [`NetHooks::set`] retries the refused ones. May
    /// sleep; the default does nothing.
    fn refused(&self, _net: &Net, _status: &HookStatus) {}
}

// The hooks find the state through `net_generic` (the `NetData` above) only
// while registered and one grace period after: `detach` closes them (the
// netns core waits for a grace period before the state goes), and the drop
// waits for one itself; `attach` fails only before it registers anything.
// SAFETY: as above.
unsafe impl<T: WithHooks> Attachment<T> for NetHooks<T> {
    /// # Safety
    ///
    /// As [`Attachment::attach`].
    unsafe fn attach(net: &Net, state: Pin<&T>) -> Result<Self> {
        // The hooks find the state through `net_generic`, at the offsets
        // this publishes (or refuses, saying why): before any is registered.
        Net::publish_generic_layout()?;
        // The state stays initialised until the attachment is dropped, and
        // a grace period after `detach` (the caller's contract): it is what
        // `from_net_rcu` returns.
        // SAFETY: `net` outlives its state's attachments; see above.
        let hooks = unsafe { NetHooks::new(net, state.hook_set())? };
        let status = hooks.status();
        if status.first_error().is_some() {
            state.refused(net, &status);
        }
        Ok(hooks)
    }

    fn detach(&self, _net: &Net, _token: &PreExit) {
        self.close();
    }
}

/// Per-namespace state shown by its own file in its namespace's
/// `/proc/net`, a [`StateFile`] attached to it.
pub(crate) trait WithFile: Operations {
    /// Name and mode of the file.
    const FILE: ProcFile;

    /// Shows the state. Runs in process context and may sleep; never before
    /// the file is made (while the state attaches) or after its `exit`
    /// removed it. `attached` is the state's attachments, or the error to
    /// refuse the call with because of the namespace's life cycle: `EAGAIN`
    /// while they are being made (`init` runs: the file may already be open
    /// then, when the registration sets up existing namespaces), `ENODEV`
    /// once the teardown has begun (`pre_exit`), until the file is removed
    /// (afterwards the proc core fails every call with `EIO`).
    fn show(&self, net: &Net, attached: Result<&Self::Attached>, m: &SeqFile) -> Result;

    /// Takes a write: `input` is the whole buffer of one `write(2)` (1 to
    /// `PAGE_SIZE - 1` bytes); the rest as for [`WithFile::show`]. The
    /// default refuses it with `EINVAL`.
    fn write(
        &self,
        _ctx: &WriteContext<'_>,
        _attached: Result<&Self::Attached>,
        _input: &[u8],
    ) -> Result {
        Err(EINVAL)
    }
}

/// The slot of a [`WithFile`] state, as the data of its [`StateFile`].
///
/// # Invariants
///
/// Only reachable as the data of the file of a [`StateFile`] of the state
/// in it, from its `attach` until its `shutdown` or drop (which wait for
/// the calls of the file): never handed out otherwise.
#[repr(transparent)]
struct FileData<T: Operations>(Slot<T>);

// The file's calls, from any task, read the slot only: its `phase` is
// atomic, its state `Sync`, and its attachments (`Sync`) are not written
// while `phase` is `ATTACHED` (slot invariant). It is never moved.
// SAFETY: as above.
unsafe impl<T: Operations> Sync for FileData<T> {}
// SAFETY: as above.
unsafe impl<T: Operations> Send for FileData<T> {}

impl<T: Operations> FileData<T> {
    /// The state and its attachments: `Err(EAGAIN)` while they are being
    /// made (`init` runs), `Err(ENODEV)` from the moment the namespace's
    /// teardown begins (`pre_exit`) on.
    fn attached(&self) -> (&T, Result<&T::Attached>) {
        let slot = &self.0;
        // SAFETY: a file call is in progress (type invariant), so the
        // file exists and the state, which is dropped after it, is
        // initialised.
        let value = unsafe { (*slot.value.get()).assume_init_ref() };
        let attached = match slot.phase.load(Ordering::Acquire) {
            // SAFETY: `attached` is `Some` since `phase` became `ATTACHED`
            // and is not written until the attachments were shut down, which
            // waits for this call (slot invariant, type invariant).
            ATTACHED => unsafe { (*slot.attached.get()).as_ref() }.ok_or(ENODEV),
            ATTACHING => Err(EAGAIN),
            _ => Err(ENODEV),
        };
        (value, attached)
    }
}

impl<T: WithFile> NetShow for FileData<T> {
    fn show(&self, net: &Net, m: &SeqFile) -> Result {
        let (state, attached) = self.attached();
        state.show(net, attached, m)
    }

    fn write(&self, ctx: &WriteContext<'_>, input: &[u8]) -> Result {
        let (state, attached) = self.attached();
        state.write(ctx, attached, input)
    }
}

/// A namespace's `/proc/net` file showing its state: an [`Attachment`] of
/// state that implements [`WithFile`]. Removing it (when the namespace's
/// `exit` shuts the attachments down) waits for `show` and `write` calls in
/// progress.
pub(crate) struct StateFile<T: WithFile>(NetFile<FileData<T>>);

// The file's data is the state's slot, which the pernet registration keeps
// with the state initialised until this attachment is dropped. Only `exit`
// can call `shutdown` (it needs an `Exit`), after the phase left
// `ATTACHED`; the drop removes the file too.
// SAFETY: `shutdown` and the drop remove the file, waiting for the calls in
// progress, which is what keeps `FileData::attached` sound in them.
unsafe impl<T: WithFile> Attachment<T> for StateFile<T> {
    /// # Safety
    ///
    /// As [`Attachment::attach`].
    unsafe fn attach(net: &Net, _state: Pin<&T>) -> Result<Self> {
        let data = Registration::<T>::slot(net).cast::<FileData<T>>();
        // INVARIANT: `data` is handed to the file only.
        // SAFETY: this is `attach` of the state of `net`, so its slot is
        // allocated and the state initialised until the attachment is
        // dropped, which removes the file.
        let file = unsafe { NetFile::new(net, T::FILE, data)? };
        Ok(Self(file))
    }

    fn shutdown(&self, _token: &Exit) {
        // SAFETY: only the `exit` callback has an `Exit`: it is not a call
        // of the file, and it shuts the attachments down once, before it
        // drops them.
        unsafe { self.0.remove() };
    }
}
