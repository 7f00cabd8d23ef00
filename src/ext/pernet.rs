// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state through `struct pernet_operations`.
//!
//! A type implementing [`Operations`] gets one instance per network
//! namespace, stored by the netns core in the namespace's `net_generic` slot
//! (`.id` and `.size` of the operations), the way C subsystems keep theirs
//! (`net_generic(net, my_net_id)`).
//!
//! What the state hands to other kernel subsystems for the namespace (its
//! netfilter hooks, its `/proc/net` file) is an [`Attachment`], owned by
//! the registration, so that nothing the kernel can still reach outlives
//! the state it points to. [`attach`] makes the hooks of
//! [`super::netfilter`] and the files of [`super::proc`] attachments (those
//! abstractions know nothing of this one).
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)
//!
//! # Lifetime of the per-namespace state
//!
//! For each namespace, existing ones when the operations are registered and
//! new ones afterwards, the netns core allocates a zeroed slot and calls
//! `init`, which initialises the state in place in the slot with
//! [`Operations::init`] (the slot never moves, so the state may be pinned)
//! and then makes its [`Operations::Attached`]. When the namespace dies (or
//! the operations are unregistered) the core calls `pre_exit` for a batch of
//! namespaces, which marks the state as torn down, calls
//! [`Operations::pre_exit`] and detaches the attachments
//! ([`Attachment::detach`]: netfilter hooks are unregistered there); it then
//! waits for one RCU grace period and calls `exit`, which shuts the
//! attachments down ([`Attachment::shutdown`]: a proc file is removed,
//! waiting for its readers and writers), drops them, calls
//! [`Operations::exit`] and drops the state in place; the core then frees
//! the slot. If `init` fails after some attachments were made, they are
//! dropped (each waits for what it needs) before the state.
//!
//! Code that an attachment runs on the state's behalf from process context
//! (a proc file's `show` and `write`) is handed the state and its
//! attachments ([`WithFile`]). The attachments are there from the moment
//! they are all made until the teardown begins: before, such a call gets
//! `EAGAIN` (`init` is still running), and from `pre_exit` on `ENODEV`, so
//! that every call refused because of the namespace's life cycle fails the
//! same way at the same moment; [`Registration::attached`] answers the same
//! for a namespace held by a reference.
//!
//! # Locking
//!
//! The callbacks of one namespace never run concurrently with each other, but
//! those of different namespaces may run in parallel on several CPUs: shared
//! state needs its own locking. Attachments may call into the state
//! concurrently with each other from `init` on (after the state is
//! initialised) until `exit`.
//!
//! # Examples
//!
//! ```
//! use kernel::{
//!     net::{
//!         namespace::{Net, NetRef},
//!         pernet::{self, Callbacks, Operations, Registration},
//!     },
//!     new_mutex,
//!     sync::Mutex,
//! };
//!
//! static ID: pernet::Id = pernet::Id::new();
//! static CALLBACKS: Callbacks<MyNet> = Callbacks::DIRECT;
//!
//! #[pin_data]
//! struct MyNet {
//!     inum: u32,
//!     #[pin]
//!     lock: Mutex<u64>,
//! }
//!
//! impl Operations for MyNet {
//!     const ID: &'static pernet::Id = &ID;
//!     type Attached = ();
//!     fn init(net: &Net) -> impl PinInit<Self, Error> + '_ {
//!         try_pin_init!(Self {
//!             inum: net.inum(),
//!             lock <- new_mutex!(0),
//!         })
//!     }
//! }
//!
//! // Sets up every namespace that exists; dropping it tears them down.
//! let reg = Registration::register(&CALLBACKS)?;
//! let init = NetRef::get(Net::init_net()).ok_or(ENODEV)?;
//! let (state, ()) = reg.attached(&init)?;
//! assert_eq!(state.inum, init.inum());
//! *state.lock.lock() += 1;
//! // The id is taken while registered.
//! assert_eq!(Registration::register(&CALLBACKS).err(), Some(EBUSY));
//! # Ok::<(), Error>(())
//! ```

use super::{
    bindings,
    net::{ListedNet, Net, NetRef},
    time,
};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    mem::MaybeUninit,
    ops::ControlFlow,
    pin::Pin,
    sync::atomic::{AtomicBool, AtomicU8, Ordering},
};
use kernel::{error::to_result, prelude::*, types::Opaque};

#[cfg(all(CONFIG_NETFILTER, CONFIG_PROC_FS))]
pub(crate) mod attach;
#[cfg(all(CONFIG_NETFILTER, CONFIG_PROC_FS))]
pub(crate) use attach::{StateFile, WithFile, WithHooks};

/// Nanoseconds of the monotonic clock, for the durations that
/// [`Operations::init_done`] and [`Operations::exit_done`] are given.
fn mono_ns() -> u64 {
    time::mono_ns()
}

/// Proof that the code holding it runs in a `pre_exit` callback: the netns
/// core waits for an RCU grace period before the matching `exit`, so what is
/// unpublished now may be freed in `exit` without a grace period of its own.
///
/// Only the pernet callbacks make one.
pub(crate) struct PreExit(());

/// Proof that the code holding it runs in an `exit` callback, before the
/// attachments are dropped: what [`Attachment::shutdown`] waits for (proc
/// readers and writers) cannot be the code holding it. A `show` or `write`
/// that shut its own proc file down would wait for itself forever, and the
/// real `exit` would then find the file removed and free the state under
/// it; no safe code can make one of these, so that cannot happen.
///
/// Only [`Registration::exit`] makes one.
pub(crate) struct Exit(());

/// What a namespace's state hands to another kernel subsystem (netfilter
/// hooks, a proc file), made right after the state is initialised and owned
/// by the pernet registration until the namespace's `exit`.
///
/// `()` attaches nothing; a pair attaches both, the first one first.
///
/// # Safety
///
/// Implementors may let the kernel reach `state` (through the namespace's
/// `net_generic` slot or a pointer to it) from `attach` until the attachment
/// is dropped, and no longer: when `drop` returns, nothing may use the state
/// any more, unless [`Attachment::detach`] was called, in which case RCU
/// readers may still use it for one grace period (which the netns core waits
/// for before the drop). When [`Attachment::shutdown`] returns, no call that
/// the attachment makes into the state from process context is in progress
/// or starts any more.
pub(crate) unsafe trait Attachment<T>: Sized + Send + Sync {
    /// Attaches `state`, the initialised state of `net`. May sleep.
    ///
    /// # Safety
    ///
    /// Only for the pernet callbacks: `state` is the state of `net` in the
    /// slot of `T`'s registration; it stays initialised and pinned until
    /// the returned attachment is dropped.
    unsafe fn attach(net: &Net, state: Pin<&T>) -> Result<Self>;

    /// Unpublishes what RCU readers find, in `pre_exit`; the core waits for
    /// a grace period before the attachment is dropped.
    fn detach(&self, _net: &Net, _token: &PreExit) {}

    /// Stops the calls this attachment makes into the state from process
    /// context, and waits for those in progress, in `exit` before any
    /// attachment is dropped: a proc file is removed. Afterwards no such
    /// call holds a reference to the attachments (a [`StateFile`]'s `show`
    /// and `write`). May sleep.
    /// Only `exit` can call it: nothing else has an [`Exit`].
    fn shutdown(&self, _token: &Exit) {}
}

// SAFETY: attaches nothing.
unsafe impl<T> Attachment<T> for () {
    /// # Safety
    ///
    /// As [`Attachment::attach`].
    unsafe fn attach(_net: &Net, _state: Pin<&T>) -> Result<Self> {
        Ok(())
    }
}

// SAFETY: `A` then `B`, each under its own contract; if `B` fails, `A` is
// dropped, which undoes it completely (its contract).
unsafe impl<T, A: Attachment<T>, B: Attachment<T>> Attachment<T> for (A, B) {
    /// # Safety
    ///
    /// As [`Attachment::attach`].
    unsafe fn attach(net: &Net, state: Pin<&T>) -> Result<Self> {
        // SAFETY: the caller's contract, passed on.
        let a = unsafe { A::attach(net, state)? };
        // SAFETY: as above.
        let b = unsafe { B::attach(net, state)? };
        Ok((a, b))
    }

    fn detach(&self, net: &Net, token: &PreExit) {
        self.1.detach(net, token);
        self.0.detach(net, token);
    }

    fn shutdown(&self, token: &Exit) {
        self.1.shutdown(token);
        self.0.shutdown(token);
    }
}

/// Per-namespace operations and state.
///
/// The implementing type is the state of one namespace.
pub(crate) trait Operations: Sized + Send + Sync + 'static {
    /// The storage of the `net_generic` id of this type's registration: a
    /// constant, so every callback and attachment finds the same slot. A
    /// second registration using the same storage fails with `EBUSY`.
    const ID: &'static Id;

    /// What each namespace's state attaches to other subsystems once it is
    /// initialised.
    type Attached: Attachment<Self>;

    /// The initialiser of the state of a namespace being created (or
    /// existing when the operations are registered). The state is
    /// initialised in place in the namespace's slot, which never moves: it
    /// may hold pinned members such as locks. An error makes the namespace
    /// creation (or the registration) fail.
    fn init(net: &Net) -> impl PinInit<Self, Error> + '_;

    /// Called first when the namespace is torn down, before the attachments
    /// are detached. An RCU grace period separates it from
    /// [`Operations::exit`].
    fn pre_exit(&self, _net: &Net, _token: &PreExit) {}

    /// Called last, after the attachments are gone and before the state is
    /// dropped, with how long the `exit` callback has taken so far.
    fn exit(&self, _net: &Net, _elapsed_ns: u64) {}

    /// Called as the `init` callback of `net` ends, with its result and how
    /// long the whole callback took (state and attachments), for tracing
    /// and statistics.
    fn init_done(_net: &Net, _result: &Result, _duration_ns: u64) {}

    /// Called as the `exit` callback of `net` ends, once the state is gone,
    /// with how long the callback took.
    fn exit_done(_net: &Net, _duration_ns: u64) {}
}

/// The static storage of one registration's `net_generic` id.
///
/// # Invariants
///
/// `id` is only written by `register_pernet_subsys` while `in_use` is set by
/// the one [`Registration`] using it, before any callback of it runs.
pub(crate) struct Id {
    /// The id, written by `register_pernet_subsys` (`*ops->id`).
    id: Opaque<u32>,
    /// Whether a [`Registration`] uses this storage.
    in_use: AtomicBool,
}

// SAFETY: `id` is written once by the netns core during registration, before
// any callback that reads it can run (type invariant); `in_use` is atomic.
unsafe impl Sync for Id {}

impl Id {
    /// Creates the storage of an id; put it in a `static`.
    pub(crate) const fn new() -> Self {
        Self {
            id: Opaque::new(0),
            in_use: AtomicBool::new(false),
        }
    }

    /// The id the core assigned.
    #[inline(always)]
    fn get(&self) -> u32 {
        // SAFETY: read only from callbacks of the registration and what it
        // attached, after the core wrote it (type invariant).
        unsafe { *self.id.get() }
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

/// [`Slot::phase`]: the attachments are being made (`init`).
const ATTACHING: u8 = 0;
/// [`Slot::phase`]: the attachments are made; the teardown has not begun.
const ATTACHED: u8 = 1;
/// [`Slot::phase`]: the teardown has begun (`pre_exit`, then `exit`).
const TORN_DOWN: u8 = 2;

/// The content of a namespace's `net_generic` slot.
///
/// # Invariants
///
/// `value` is initialised while `ready` is set, and is pinned: it is dropped
/// in place before the core frees the slot. `attached` is only written by
/// the `init` and `exit` callbacks of the slot's namespace, which the netns
/// core serialises with each other and with `pre_exit`; it is `Some` only
/// while `value` is initialised. `phase` goes from [`ATTACHING`] to
/// [`ATTACHED`] once `attached` is written (`Some`), and to [`TORN_DOWN`]
/// when the teardown begins, never back; `attached` is not written again
/// before the attachments were shut down, which is after `phase` left
/// [`ATTACHED`].
#[repr(C)]
struct Slot<T: Operations> {
    /// Whether `value` is initialised.
    ready: AtomicBool,
    /// Whether the attachments' process-context callbacks may use
    /// `attached` ([`ATTACHED`]), or why not ([`Registration::attached`]).
    phase: AtomicU8,
    /// What the state attached, dropped before the state.
    attached: UnsafeCell<Option<T::Attached>>,
    /// The namespace's state.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The pernet callbacks of one [`Operations`] type, each of which calls into
/// [`Registration`]: [`Callbacks::DIRECT`], or C entry points with an ftrace
/// location of their own that call Rust functions (as a module's
/// `pernet_callbacks!` makes them).
pub(crate) struct Callbacks<T> {
    /// Leads to [`Registration::init`].
    init: unsafe extern "C" fn(*mut bindings::net) -> i32,
    /// Leads to [`Registration::pre_exit`].
    pre_exit: unsafe extern "C" fn(*mut bindings::net),
    /// Leads to [`Registration::exit`].
    exit: unsafe extern "C" fn(*mut bindings::net),
    /// The callbacks are those of `T`.
    _t: PhantomData<T>,
}

impl<T: Operations> Callbacks<T> {
    /// Collects the callbacks.
    ///
    /// # Safety
    ///
    /// Each function must do nothing but call the `Registration::<T>`
    /// function of the same name with its argument, directly or through
    /// functions that do nothing else.
    pub(crate) const unsafe fn new(
        init: unsafe extern "C" fn(*mut bindings::net) -> i32,
        pre_exit: unsafe extern "C" fn(*mut bindings::net),
        exit: unsafe extern "C" fn(*mut bindings::net),
    ) -> Self {
        Self {
            init,
            pre_exit,
            exit,
            _t: PhantomData,
        }
    }

    /// The callbacks as Rust functions that the netns core calls directly
    /// (they have no ftrace location of their own).
    // upstream-drop-begin (the module's callbacks are pernet_callbacks!'s)
    #[allow(dead_code)]
    // upstream-drop-end
    pub(crate) const DIRECT: Self = Self {
        init: init_callback::<T>,
        pre_exit: pre_exit_callback::<T>,
        exit: exit_callback::<T>,
        _t: PhantomData,
    };
}

/// `pernet_operations.init` of [`Callbacks::DIRECT`]: sets up one namespace.
///
/// # Safety
///
/// Only for the netns core, as the `init` of operations registered by a
/// [`Registration<T>`].
unsafe extern "C" fn init_callback<T: Operations>(net: *mut bindings::net) -> i32 {
    // SAFETY: called by the netns core as `init` (contract above).
    unsafe { Registration::<T>::init(net) }
}

/// `pernet_operations.pre_exit` of [`Callbacks::DIRECT`]: first step of a
/// namespace's teardown.
///
/// # Safety
///
/// Only for the netns core, as the `pre_exit` of operations registered by
/// a [`Registration<T>`].
unsafe extern "C" fn pre_exit_callback<T: Operations>(net: *mut bindings::net) {
    // SAFETY: called by the netns core as `pre_exit` (contract above).
    unsafe { Registration::<T>::pre_exit(net) }
}

/// `pernet_operations.exit` of [`Callbacks::DIRECT`]: last step of a
/// namespace's teardown.
///
/// # Safety
///
/// Only for the netns core, as the `exit` of operations registered by a
/// [`Registration<T>`].
unsafe extern "C" fn exit_callback<T: Operations>(net: *mut bindings::net) {
    // SAFETY: called by the netns core as `exit` (contract above).
    unsafe { Registration::<T>::exit(net) }
}

// upstream-drop-begin (C entry points, for the module's ftrace frames)
/// Defines the pernet callbacks of an [`Operations`] type and a `static`
/// [`Callbacks`] of them.
///
/// The netns core calls C entry points (in `src/ext/entry.c`, one-line
/// functions compiled with the kernel's flags, so function_graph, kprobes
/// and fprobes see them: Rust functions have no ftrace location). Given a
/// prefix `P`, the entry point of each role `R` (`init`, `pre_exit`, `exit`)
/// is the C function `P_R`, which calls the `#[no_mangle]` Rust function
/// `P_R_rust` that this macro defines to call [`Registration`]'s function
/// of role `R`. Every name comes from the role, here and in C: `entry.c`
/// defines `P_R` with `RNETNS_PERNET_ENTRY(type, P, R)` (`src/ext/helpers.h`
/// declares both functions of each role with `RNETNS_PERNET_DECLARE`, with
/// the role's return type), so no entry point can call the Rust function of
/// another role, and an entry point of the wrong type is a build error
/// (its bindgen declaration does not fit [`Callbacks::new`]).
///
/// ```ignore
/// // rnetns_net_init, rnetns_net_pre_exit and rnetns_net_exit, in entry.c.
/// pernet_callbacks! {
///     static CALLBACKS: Callbacks<MyState> = rnetns_net;
/// }
/// ```
macro_rules! pernet_callbacks {
    (static $name:ident: Callbacks<$t:ty> = $prefix:ident;) => {
        ::kernel::macros::paste! {
            /// `pernet_operations.init`, through its C entry point: sets up
            /// one namespace.
            ///
            /// # Safety
            ///
            /// Only for the netns core, as the `init` of the registered
            /// operations (through the C entry point).
            #[no_mangle]
            unsafe extern "C" fn [<$prefix _init_rust>](
                net: *mut $crate::ext::bindings::net,
            ) -> i32 {
                // SAFETY: called by the netns core as `init` (contract above).
                unsafe { $crate::ext::pernet::Registration::<$t>::init(net) }
            }

            /// `pernet_operations.pre_exit`, through its C entry point: first
            /// step of a namespace's teardown.
            ///
            /// # Safety
            ///
            /// Only for the netns core, as the `pre_exit` of the registered
            /// operations (through the C entry point).
            #[no_mangle]
            unsafe extern "C" fn [<$prefix _pre_exit_rust>](
                net: *mut $crate::ext::bindings::net,
            ) {
                // SAFETY: called by the netns core as `pre_exit` (contract
                // above).
                unsafe { $crate::ext::pernet::Registration::<$t>::pre_exit(net) }
            }

            /// `pernet_operations.exit`, through its C entry point: last step
            /// of a namespace's teardown.
            ///
            /// # Safety
            ///
            /// Only for the netns core, as the `exit` of the registered
            /// operations (through the C entry point).
            #[no_mangle]
            unsafe extern "C" fn [<$prefix _exit_rust>](
                net: *mut $crate::ext::bindings::net,
            ) {
                // SAFETY: called by the netns core as `exit` (contract above).
                unsafe { $crate::ext::pernet::Registration::<$t>::exit(net) }
            }

            static $name: $crate::ext::pernet::Callbacks<$t> =
                // SAFETY: each C entry point `P_R` only calls `P_R_rust`
                // (both names pasted from `R` in `entry.c`), defined above
                // to only call the `Registration` function of role `R`.
                unsafe {
                    $crate::ext::pernet::Callbacks::new(
                        $crate::ext::bindings::[<$prefix _init>],
                        $crate::ext::bindings::[<$prefix _pre_exit>],
                        $crate::ext::bindings::[<$prefix _exit>],
                    )
                };
        }
    };
}
pub(crate) use pernet_callbacks;
// upstream-drop-end

/// A registration of [`Operations`] with the netns core
/// (`register_pernet_subsys`), unregistered when dropped.
///
/// Registering sets up every existing namespace; unregistering tears every
/// namespace's state down. If `init` fails for one namespace during
/// registration, the core tears down the ones already set up and registration
/// fails with that error.
///
/// # Invariants
///
/// `ops` is registered with the netns core, with `T::ID` as its id storage
/// (reserved through its `in_use` flag), until `drop`.
pub(crate) struct Registration<T: Operations> {
    /// The C operations, linked into the core's list while registered.
    ops: Pin<KBox<Opaque<bindings::pernet_operations>>>,
    /// The operations are those of `T`.
    _t: PhantomData<T>,
}

// SAFETY: the registration has no `&self` methods; unregistering may happen
// on any task that may sleep.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: as above.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers the operations and sets up every existing namespace.
    ///
    /// Fails with `EBUSY` if `T::ID` is already in use by a registration.
    /// Must be called from a context that may sleep.
    pub(crate) fn register(callbacks: &'static Callbacks<T>) -> Result<Self> {
        const {
            // kzalloc() aligns slots to ARCH_KMALLOC_MINALIGN (8 on x86_64).
            assert!(core::mem::align_of::<Slot<T>>() <= 8);
        }
        let id = T::ID;
        if id.in_use.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let ops = bindings::pernet_operations {
            init: Some(callbacks.init),
            pre_exit: Some(callbacks.pre_exit),
            exit: Some(callbacks.exit),
            id: id.id.get(),
            size: core::mem::size_of::<Slot<T>>(),
            ..Default::default()
        };
        let registered = KBox::pin(Opaque::new(ops), GFP_KERNEL)
            .map_err(Error::from)
            .and_then(|ops| {
                // SAFETY: `ops` is pinned and registered until `drop`; its
                // callbacks are `Registration::<T>`'s (`Callbacks::new`) and
                // its id storage is reserved for it above.
                to_result(unsafe { bindings::register_pernet_subsys(ops.get()) })?;
                Ok(ops)
            });
        match registered {
            // INVARIANT: registered just above.
            Ok(ops) => Ok(Self {
                ops,
                _t: PhantomData,
            }),
            Err(e) => {
                id.in_use.store(false, Ordering::Release);
                Err(e)
            }
        }
    }

    /// The state of `net`, for the packet path.
    ///
    /// # Safety
    ///
    /// The caller must be in an RCU read-side critical section, in code
    /// that an [`Attachment`] of `net`'s state made reachable (a netfilter
    /// hook registered in `net` by it) after [`Net::publish_generic_layout`]
    /// succeeded, no later than one grace period after
    /// [`Attachment::detach`].
    #[inline(always)]
    pub(crate) unsafe fn state_rcu(net: &Net) -> &T {
        // An attachment made this code reachable once `init` initialised
        // the state in its slot (caller's contract).
        // SAFETY: the state stays initialised until a grace period after
        // the attachment is detached; the caller holds the RCU read lock and
        // the layout was published (caller's contract).
        unsafe {
            let slot = &*net.generic_rcu(T::ID.get()).cast::<Slot<T>>();
            (*slot.value.get()).assume_init_ref()
        }
    }

    /// The state of a namespace held by a reference, and its attachments:
    /// `EAGAIN` while they are being made. While the registration is
    /// borrowed it cannot be unregistered, and while `net` is referenced
    /// the namespace cannot begin its teardown, so both stay as they are
    /// for the borrows. May be called from any context.
    pub(crate) fn attached<'a>(&'a self, net: &'a NetRef) -> Result<(&'a T, &'a T::Attached)> {
        // SAFETY: registered (type invariant), so every namespace that
        // exists has a slot set up by `init`, or being set up (a reference
        // to a namespace in `setup_net()` can only be the creator's).
        let slot = unsafe { &*Self::slot(net) };
        match slot.phase.load(Ordering::Acquire) {
            // SAFETY: `ATTACHED`: `value` is initialised and `attached` is
            // `Some`, unchanged until the teardown (slot invariant), which
            // cannot begin during `'a` (above).
            ATTACHED => unsafe {
                let value = (*slot.value.get()).assume_init_ref();
                let attached = (*slot.attached.get()).as_ref().ok_or(ENODEV)?;
                Ok((value, attached))
            },
            ATTACHING => Err(EAGAIN),
            _ => Err(ENODEV),
        }
    }

    /// Calls `f` with each namespace whose state is set up, its state and
    /// its attachments, in the order of the netns core's list of namespaces
    /// (the order they finished their set-up), from `*at` on (itself
    /// included; the list's start if `None`), until `f` breaks: then `*at`
    /// is the namespace `f` broke at (holding it on the list) and the
    /// result is `true`; `false` (and `*at` is `None`) once `f` saw every
    /// namespace. Going on from the `*at` of a call that broke, a namespace
    /// alive throughout is seen once; one set up or torn down meanwhile once
    /// or not at all ([`ListedNet::walk`], which walks the netns core's own
    /// list, so that nothing is kept per namespace for this). `f` runs
    /// with a reference to its namespace held (the namespace's teardown
    /// cannot begin meanwhile) and no lock; it may sleep. Must be called
    /// from a context that may sleep (dropping the last reference to a
    /// namespace queues its teardown).
    pub(crate) fn for_each_from(
        &self,
        at: &mut Option<ListedNet>,
        mut f: impl FnMut(&Net, &T, &T::Attached) -> ControlFlow<()>,
    ) -> bool {
        let mut after = at.take();
        if let Some(net) = &after {
            // Not attached: a namespace being set up (only while this
            // registration registers) or whose teardown began.
            if let Ok((value, attached)) = self.attached(net) {
                if f(net, value, attached).is_break() {
                    *at = after;
                    return true;
                }
            }
        }
        loop {
            let live = ListedNet::walk(after.as_ref());
            let more = live.more();
            for net in live {
                if let Ok((value, attached)) = self.attached(&net) {
                    if f(&net, value, attached).is_break() {
                        *at = Some(net);
                        return true;
                    }
                }
                after = Some(net);
            }
            if !more {
                return false;
            }
        }
    }

    /// The slot of `net`: only meaningful from the pernet callbacks of the
    /// registered operations, for which the core allocated it.
    fn slot(net: &Net) -> *const Slot<T> {
        // SAFETY: `net` is alive; `net_generic` only reads the namespace's
        // RCU-protected array of slots under `rcu_read_lock()`.
        unsafe { bindings::rnetns_net_generic(net.as_raw(), T::ID.get()).cast() }
    }

    /// The `init` trampoline.
    ///
    /// # Safety
    ///
    /// Only for the netns core, as `pernet_operations.init`, with a
    /// namespace being set up.
    pub(crate) unsafe fn init(net: *mut bindings::net) -> i32 {
        let start = mono_ns();
        // SAFETY: the core holds the namespace during `init`.
        let net = unsafe { Net::from_raw(net) };
        let result = Self::init_slot(net);
        T::init_done(net, &result, mono_ns().saturating_sub(start));
        match result {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// Builds the state of `net` in its slot and attaches it.
    fn init_slot(net: &Net) -> Result {
        let slot = Self::slot(net).cast_mut();
        // SAFETY: this is `init` of our operations: the core allocated the
        // slot (zeroed, suitably aligned, see `register`) for us alone.
        let slot = unsafe {
            slot.write(Slot {
                ready: AtomicBool::new(false),
                phase: AtomicU8::new(ATTACHING),
                attached: UnsafeCell::new(None),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            });
            &*slot
        };
        // The slot stays at this address until the core frees it, after
        // `exit` or a failed `init` dropped the value in place: the pinning
        // guarantee. On error the initialiser leaves nothing behind.
        // SAFETY: nothing else uses the slot yet (see above); it is pinned.
        unsafe { T::init(net).__pinned_init((*slot.value.get()).as_mut_ptr())? };
        slot.ready.store(true, Ordering::Release);
        // SAFETY: `value` is initialised, never moves, and stays initialised
        // until after the attachment is dropped (in `exit`, or just below).
        let attached = unsafe {
            let state = Pin::new_unchecked((*slot.value.get()).assume_init_ref());
            T::Attached::attach(net, state)
        };
        match attached {
            Ok(a) => {
                // SAFETY: `phase` is `ATTACHING`, so only this namespace's
                // callbacks use `attached`.
                unsafe { *slot.attached.get() = Some(a) };
                // INVARIANT: written just above; read-only until `exit`
                // shuts the attachments down, after `pre_exit` moved on.
                slot.phase.store(ATTACHED, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                // A failed attachment undid itself completely (its contract):
                // nothing refers to `value` any more.
                slot.ready.store(false, Ordering::Release);
                // SAFETY: `value` is initialised and, as shown above, unshared.
                unsafe { (*slot.value.get()).assume_init_drop() };
                Err(e)
            }
        }
    }

    /// The `pre_exit` trampoline.
    ///
    /// # Safety
    ///
    /// Only for the netns core, as `pernet_operations.pre_exit`, with a
    /// namespace set up by these operations.
    pub(crate) unsafe fn pre_exit(net: *mut bindings::net) {
        // SAFETY: the core holds the namespace during `pre_exit`.
        let net = unsafe { Net::from_raw(net) };
        // SAFETY: `init` succeeded for this namespace, so the slot is
        // allocated and written.
        let slot = unsafe { &*Self::slot(net) };
        // INVARIANT: the teardown begins: from now on the attachments'
        // process-context callbacks are refused (`ENODEV`), before anything
        // is detached.
        slot.phase.store(TORN_DOWN, Ordering::Release);
        if !slot.ready.load(Ordering::Acquire) {
            return;
        }
        let token = PreExit(());
        // SAFETY: `ready` is set, so `value` is initialised; only this
        // namespace's callbacks use `attached`.
        unsafe {
            (*slot.value.get()).assume_init_ref().pre_exit(net, &token);
            if let Some(a) = &*slot.attached.get() {
                a.detach(net, &token);
            }
        }
    }

    /// The `exit` trampoline.
    ///
    /// # Safety
    ///
    /// Only for the netns core, as `pernet_operations.exit`, with a namespace
    /// set up by these operations, after its `pre_exit` and a grace period.
    pub(crate) unsafe fn exit(net: *mut bindings::net) {
        let start = mono_ns();
        // SAFETY: the core holds the namespace during `exit`.
        let net = unsafe { Net::from_raw(net) };
        // SAFETY: `init` succeeded for this namespace, so the slot is
        // allocated and written.
        let slot = unsafe { &*Self::slot(net) };
        // Shutting the attachments down waits for the calls that may hold a
        // reference to them (proc readers and writers); `pre_exit` detached
        // them a grace period ago, and refused new calls already (this
        // store changes nothing after it).
        // INVARIANT: the teardown has begun.
        slot.phase.store(TORN_DOWN, Ordering::Release);
        // SAFETY: `attached` is only written by this namespace's `init` and
        // `exit`; readers hold shared references only.
        if let Some(a) = unsafe { &*slot.attached.get() } {
            a.shutdown(&Exit(()));
        }
        // SAFETY: shut down just above: nobody holds a reference any more,
        // and only this namespace's callbacks use `attached`.
        drop(unsafe { (*slot.attached.get()).take() });
        if slot.ready.swap(false, Ordering::AcqRel) {
            // SAFETY: `ready` was set, so `value` is initialised; nothing
            // attached refers to it any more.
            unsafe {
                (*slot.value.get())
                    .assume_init_ref()
                    .exit(net, mono_ns().saturating_sub(start));
                (*slot.value.get()).assume_init_drop();
            }
        }
        T::exit_done(net, mono_ns().saturating_sub(start));
    }
}

impl<T: Operations> Drop for Registration<T> {
    /// Unregisters the operations, tearing down every namespace's state.
    fn drop(&mut self) {
        // SAFETY: registered until now (type invariant).
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
        T::ID.in_use.store(false, Ordering::Release);
    }
}
