// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state through `struct pernet_operations`.
//!
//! A type implementing [`Operations`] gets one instance per network namespace,
//! stored by the netns core in the namespace's `net_generic` slot (`.id` and
//! `.size` of the operations), plus, if it asks for one, a file in that
//! namespace's `/proc/net` that shows and updates that instance only.
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)
//!
//! # Lifetime of the per-namespace state
//!
//! For each namespace, existing ones when the operations are registered and
//! new ones afterwards, the netns core allocates a zeroed slot and calls
//! `init`, which builds the state with [`Operations::init`], moves it into the
//! slot, attaches the state's packet observers ([`Operations::observers`]) to
//! the namespace's netfilter hooks and then creates the proc file. When the
//! namespace dies (or the operations are unregistered) the core calls
//! `pre_exit` for a batch of namespaces, which detaches the observers; it then
//! waits for one RCU grace period, so no packet is left inside an observer,
//! and calls `exit`, which removes the proc file (waiting for readers and
//! writers in progress), calls [`Operations::exit`] and drops the state; the
//! core then frees the slot. If `init` fails after attaching observers, they
//! are detached and a grace period passes before the state is dropped.
//!
//! # Locking
//!
//! The callbacks of one namespace never run concurrently with each other, but
//! those of different namespaces may run in parallel on several CPUs: shared
//! state needs its own locking. `show` and `write` may run concurrently with
//! each other and with packet processing, never before `init` has finished or
//! after `exit` has started.

use super::{
    bindings,
    net::Net,
    netfilter::{Attach, NetHooks, Observer},
    proc::{NetProcEntry, ProcFile, SeqFile, WriteContext, WriteFn},
    time,
};
use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    mem::MaybeUninit,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{error::to_result, prelude::*, types::Opaque};

/// Proof that the code holding it runs in a `pre_exit` callback: the netns
/// core waits for an RCU grace period before the matching `exit`, so what is
/// unpublished now may be freed in `exit` without a grace period of its own.
pub(crate) struct PreExit(());

/// Per-namespace operations and state.
///
/// The implementing type is the state of one namespace.
pub(crate) trait Operations: Sized + Send + Sync + 'static {
    /// The `/proc/net` file each namespace gets, if any. It shows
    /// [`Operations::show`] and takes writes through [`Operations::write`].
    const PROC_FILE: Option<ProcFile> = None;

    /// The type that observes packets at netfilter hook points.
    type Observer: Observer;

    /// The storage of the `net_generic` id of this type's registration.
    fn id() -> &'static Id;

    /// The packet observers to attach in this namespace: called once, after
    /// `init`, on the state at its final address. They stay attached until
    /// `pre_exit`.
    fn observers(&self) -> &[Attach<Self::Observer>] {
        &[]
    }

    /// Builds the state of a namespace being created (or existing when the
    /// operations are registered). An error makes the namespace creation
    /// (or the registration) fail.
    fn init(net: &Net) -> Result<Self>;

    /// Called first when the namespace is torn down. An RCU grace period
    /// separates it from [`Operations::exit`]: unpublish here what RCU
    /// readers (packet hooks) may still reach.
    fn pre_exit(&self, _net: &Net, _token: &PreExit) {}

    /// Called last, after the proc file is gone and before the state is
    /// dropped.
    fn exit(&self, _net: &Net) {}

    /// Called as the `init` callback of `net` ends, with its result and how
    /// long the whole callback took (state, hooks and proc file), for
    /// tracing and statistics.
    fn init_done(_net: &Net, _result: &Result, _duration_ns: u64) {}

    /// Called as the `exit` callback of `net` ends, once the state is gone,
    /// with how long the callback took.
    fn exit_done(_net: &Net, _duration_ns: u64) {}

    /// Shows the state in the namespace's proc file.
    fn show(&self, _net: &Net, _m: &SeqFile) -> Result {
        Ok(())
    }

    /// Takes a write to the namespace's proc file: `input` is the whole
    /// buffer of one `write(2)` (1 to `PAGE_SIZE - 1` bytes).
    fn write(&self, _ctx: &WriteContext<'_>, _input: &[u8]) -> Result {
        Err(EINVAL)
    }
}

/// The storage of a `net_generic` id, written by the netns core when the
/// operations are registered.
///
/// # Invariants
///
/// `id` is only written by `register_pernet_subsys` while `in_use` is set by
/// the one [`Registration`] using it.
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
    fn get(&self) -> u32 {
        // SAFETY: read only from callbacks of the registration, after the
        // core wrote it (type invariant).
        unsafe { *self.id.get() }
    }
}

/// The content of a namespace's `net_generic` slot.
///
/// # Invariants
///
/// `value` is initialised while `ready` is set; `proc` and `hooks` are only
/// touched by the `init`, `pre_exit` and `exit` callbacks of the slot's
/// namespace, which the netns core serialises. `hooks` observe `value`.
#[repr(C)]
struct Slot<T> {
    /// Whether `value` is initialised.
    ready: AtomicBool,
    /// The namespace's proc file, if `T` has one and it is created.
    proc: UnsafeCell<Option<NetProcEntry>>,
    /// The netfilter hooks of `value`'s observers.
    hooks: UnsafeCell<Option<NetHooks>>,
    /// The namespace's state.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The named `extern "C"` callbacks of one [`Operations`] type, made by
/// [`pernet_callbacks!`] so that they have readable symbol names for kprobes.
pub(crate) struct Callbacks<T> {
    /// Calls [`Registration::init`].
    init: unsafe extern "C" fn(*mut bindings::net) -> i32,
    /// Calls [`Registration::pre_exit`].
    pre_exit: unsafe extern "C" fn(*mut bindings::net),
    /// Calls [`Registration::exit`].
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
    /// function of the same name with its argument.
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
}

/// Defines the `extern "C"` pernet callbacks of an [`Operations`] type under
/// the given symbol names, and a `static` [`Callbacks`] of them.
///
/// ```ignore
/// pernet_callbacks! {
///     static CALLBACKS: Callbacks<MyState> = {
///         init: my_net_init, pre_exit: my_net_pre_exit, exit: my_net_exit,
///     };
/// }
/// ```
macro_rules! pernet_callbacks {
    (static $name:ident: Callbacks<$t:ty> = {
        init: $init:ident, pre_exit: $pre_exit:ident, exit: $exit:ident $(,)?
    };) => {
        /// `pernet_operations.init`: sets up one namespace.
        ///
        /// # Safety
        ///
        /// Only for the netns core, as the `init` of the registered operations.
        #[no_mangle]
        unsafe extern "C" fn $init(net: *mut $crate::ext::bindings::net) -> i32 {
            // SAFETY: called by the netns core as `init` (contract above).
            unsafe { $crate::ext::pernet::Registration::<$t>::init(net) }
        }

        /// `pernet_operations.pre_exit`: first step of a namespace's teardown.
        ///
        /// # Safety
        ///
        /// Only for the netns core, as the `pre_exit` of the registered operations.
        #[no_mangle]
        unsafe extern "C" fn $pre_exit(net: *mut $crate::ext::bindings::net) {
            // SAFETY: called by the netns core as `pre_exit` (contract above).
            unsafe { $crate::ext::pernet::Registration::<$t>::pre_exit(net) }
        }

        /// `pernet_operations.exit`: last step of a namespace's teardown.
        ///
        /// # Safety
        ///
        /// Only for the netns core, as the `exit` of the registered operations.
        #[no_mangle]
        unsafe extern "C" fn $exit(net: *mut $crate::ext::bindings::net) {
            // SAFETY: called by the netns core as `exit` (contract above).
            unsafe { $crate::ext::pernet::Registration::<$t>::exit(net) }
        }

        static $name: $crate::ext::pernet::Callbacks<$t> =
            // SAFETY: the three functions only call the `Registration`
            // function of the same role.
            unsafe { $crate::ext::pernet::Callbacks::new($init, $pre_exit, $exit) };
    };
}
pub(crate) use pernet_callbacks;

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
/// `ops` is registered with the netns core, with `T::id()` as its id, until
/// `drop`.
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
    /// Fails with `EBUSY` if `T::id()` is already in use by a registration.
    /// Must be called from a context that may sleep.
    pub(crate) fn register(callbacks: &'static Callbacks<T>) -> Result<Self> {
        const {
            // kzalloc() aligns slots to ARCH_KMALLOC_MINALIGN (8 on x86_64).
            assert!(core::mem::align_of::<Slot<T>>() <= 8);
        }
        let id = T::id();
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

    /// The slot of `net`: only meaningful from the pernet callbacks of the
    /// registered operations, for which the core allocated it.
    fn slot(net: &Net) -> *const Slot<T> {
        // SAFETY: `net` is alive; `net_generic` only reads the namespace's
        // RCU-protected array of slots under `rcu_read_lock()`.
        unsafe { bindings::rnetns_net_generic(net.as_raw(), T::id().get()).cast() }
    }

    /// The `init` trampoline.
    ///
    /// # Safety
    ///
    /// Only for the netns core, as `pernet_operations.init`, with a
    /// namespace being set up.
    pub(crate) unsafe fn init(net: *mut bindings::net) -> i32 {
        let start = time::mono_ns();
        // SAFETY: the core holds the namespace during `init`.
        let net = unsafe { Net::from_raw(net) };
        let result = Self::init_slot(net);
        T::init_done(net, &result, time::mono_ns().saturating_sub(start));
        match result {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// Builds the state of `net` in its slot and publishes it.
    fn init_slot(net: &Net) -> Result {
        let slot = Self::slot(net).cast_mut();
        // SAFETY: this is `init` of our operations: the core allocated the
        // slot (zeroed, suitably aligned, see `register`) and nothing else
        // uses it until `init` has published it.
        let slot = unsafe {
            slot.write(Slot {
                ready: AtomicBool::new(false),
                proc: UnsafeCell::new(None),
                hooks: UnsafeCell::new(None),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            });
            &*slot
        };
        let value = T::init(net)?;
        // SAFETY: nothing else uses the slot yet (see above).
        let value = unsafe { (*slot.value.get()).write(value) };
        slot.ready.store(true, Ordering::Release);
        if let Err(e) = Self::publish(net, slot, value) {
            // SAFETY: only this namespace's callbacks use `hooks`/`proc`.
            // Dropping the hooks waits for a grace period, the entry for its
            // readers: nothing refers to `value` afterwards.
            unsafe {
                drop((*slot.proc.get()).take());
                drop((*slot.hooks.get()).take());
            }
            slot.ready.store(false, Ordering::Release);
            // SAFETY: `value` is initialised and, as shown above, unshared.
            unsafe { (*slot.value.get()).assume_init_drop() };
            return Err(e);
        }
        Ok(())
    }

    /// Attaches the observers of `value` and creates the proc file.
    fn publish(net: &Net, slot: &Slot<T>, value: &T) -> Result {
        // SAFETY: `value` stays in the slot until `exit` (after `pre_exit`
        // detached the hooks and a grace period) or a failed `init` (after
        // dropping the hooks, which waits); `net` outlives the slot.
        let hooks = unsafe { NetHooks::register(net, value.observers())? };
        // SAFETY: `hooks` is only used by this namespace's callbacks.
        unsafe { *slot.hooks.get() = Some(hooks) };
        if let Some(file) = T::PROC_FILE {
            let data = core::ptr::from_ref(slot).cast_mut().cast::<c_void>();
            let (show, write) = (Self::show, Some(Self::write as WriteFn));
            // SAFETY: `data` is the slot, freed by the core after `exit`,
            // which drops the entry first; `show`/`write` take it as a slot.
            let entry = unsafe { NetProcEntry::create(net, file, show, write, data)? };
            // SAFETY: `proc` is only used by this namespace's callbacks.
            unsafe { *slot.proc.get() = Some(entry) };
        }
        Ok(())
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
        // allocated and initialised.
        let slot = unsafe { &*Self::slot(net) };
        if slot.ready.load(Ordering::Acquire) {
            // SAFETY: `ready` is set, so `value` is initialised.
            let value = unsafe { (*slot.value.get()).assume_init_ref() };
            value.pre_exit(net, &PreExit(()));
        }
        // SAFETY: `hooks` is only used by this namespace's callbacks.
        if let Some(hooks) = unsafe { &mut *slot.hooks.get() } {
            // The core waits for a grace period before `exit` frees `value`.
            hooks.unregister_deferred();
        }
    }

    /// The `exit` trampoline.
    ///
    /// # Safety
    ///
    /// Only for the netns core, as `pernet_operations.exit`, with a namespace
    /// set up by these operations, after its `pre_exit` and a grace period.
    pub(crate) unsafe fn exit(net: *mut bindings::net) {
        let start = time::mono_ns();
        // SAFETY: the core holds the namespace during `exit`.
        let net = unsafe { Net::from_raw(net) };
        // SAFETY: `init` succeeded for this namespace, so the slot is
        // allocated and initialised.
        let slot = unsafe { &*Self::slot(net) };
        // Removing the file waits for `show` and `write` in progress. The
        // hooks were detached in `pre_exit`, a grace period ago.
        // SAFETY: `proc` and `hooks` are only used by this namespace's
        // callbacks.
        unsafe {
            drop((*slot.proc.get()).take());
            drop((*slot.hooks.get()).take());
        }
        if slot.ready.swap(false, Ordering::AcqRel) {
            // SAFETY: `ready` was set, so `value` is initialised; the proc
            // file is gone, so nothing else refers to it.
            unsafe {
                (*slot.value.get()).assume_init_ref().exit(net);
                (*slot.value.get()).assume_init_drop();
            }
        }
        T::exit_done(net, time::mono_ns().saturating_sub(start));
    }

    /// The seq_file `show` trampoline of the proc file.
    ///
    /// # Safety
    ///
    /// Only for the proc core, as `show` of a file made by `init`.
    unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> i32 {
        // SAFETY: the file's data is the slot (see `init`), initialised for
        // as long as the file exists; the single-net seq_file holds a
        // reference on its namespace while open.
        let (value, net, m) = unsafe {
            let slot = &*bindings::rnetns_seq_pde_data(m).cast::<Slot<T>>();
            (
                (*slot.value.get()).assume_init_ref(),
                Net::from_raw(bindings::rnetns_seq_file_single_net(m)),
                SeqFile::from_raw(m),
            )
        };
        match value.show(net, m) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// The `proc_write_t` trampoline of the proc file.
    ///
    /// # Safety
    ///
    /// Only for the proc core, as `write` of a file made by `init`, with a
    /// NUL-terminated kernel copy of `size` bytes written by the user.
    unsafe extern "C" fn write(file: *mut bindings::file, buf: *mut u8, size: usize) -> i32 {
        // SAFETY: as in `show`; `buf` holds `size` bytes (contract above) for
        // the duration of the call.
        let (value, ctx, input) = unsafe {
            let slot = &*bindings::rnetns_file_pde_data(file).cast::<Slot<T>>();
            (
                (*slot.value.get()).assume_init_ref(),
                WriteContext::from_raw(file),
                core::slice::from_raw_parts(buf.cast_const(), size),
            )
        };
        match value.write(&ctx, input) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

impl<T: Operations> Drop for Registration<T> {
    /// Unregisters the operations, tearing down every namespace's state.
    fn drop(&mut self) {
        // SAFETY: registered until now (type invariant).
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
        T::id().in_use.store(false, Ordering::Release);
    }
}
