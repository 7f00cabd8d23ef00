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
//! `init`, which initialises the state in place in the slot with
//! [`Operations::init`] (the slot never moves, so the state may be pinned),
//! registers the registration's netfilter hooks in the namespace (one set of
//! `nf_hook_ops`, [`Operations::hook_points`], shared by every namespace; the
//! hook finds the state through `net_generic` and calls
//! [`Operations::observe`]) and then creates the proc file. When the
//! namespace dies (or the operations are unregistered) the core calls
//! `pre_exit` for a batch of namespaces, which unregisters the hooks; it then
//! waits for one RCU grace period, so no packet is left inside a hook, and
//! calls `exit`, which removes the proc file (waiting for readers and writers
//! in progress), calls [`Operations::exit`] and drops the state in place; the
//! core then frees the slot. If `init` fails after registering the hooks,
//! they are unregistered and a grace period passes before the state is
//! dropped.
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
    netfilter::{self, Dispatch, Family, HookOps, HookPoint, SkBuff},
    proc::{NetProcEntry, ProcFile, SeqFile, WriteContext, WriteFn},
    time,
};
use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    mem::MaybeUninit,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
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

    /// The storage of the `net_generic` id of this type's registration.
    fn id() -> &'static Id;

    /// The netfilter hook points at which every namespace's state observes
    /// packets, through [`Operations::observe`]. Called once, when the
    /// operations are registered; the hooks are registered in a namespace
    /// once its state is initialised and unregistered in `pre_exit`.
    fn hook_points() -> impl Iterator<Item = (Family, HookPoint)> {
        core::iter::empty()
    }

    /// Looks at a packet crossing hook point `index` (its position in
    /// [`Operations::hook_points`]) in this state's namespace.
    ///
    /// Runs on the packet path, in any context, under `rcu_read_lock()`: it
    /// must not sleep and should be as cheap as possible. It cannot change or
    /// drop the packet.
    fn observe(&self, _index: usize, _skb: &SkBuff) {}

    /// The initialiser of the state of a namespace being created (or
    /// existing when the operations are registered). The state is
    /// initialised in place in the namespace's slot, which never moves: it
    /// may hold pinned members such as locks. An error makes the namespace
    /// creation (or the registration) fail.
    fn init(net: &Net) -> impl PinInit<Self, Error> + '_;

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

/// The static storage of one registration: the `net_generic` id the netns
/// core assigns, and where the callbacks find the registration's hook ops.
///
/// # Invariants
///
/// `id` is only written by `register_pernet_subsys` while `in_use` is set by
/// the one [`Registration`] using it. `hooks` points to that registration's
/// [`HookOps`] from before `register_pernet_subsys` until after
/// `unregister_pernet_subsys`.
pub(crate) struct Id {
    /// The id, written by `register_pernet_subsys` (`*ops->id`).
    id: Opaque<u32>,
    /// Whether a [`Registration`] uses this storage.
    in_use: AtomicBool,
    /// The hook ops of the [`Registration`] using this storage.
    hooks: AtomicPtr<HookOps>,
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
            hooks: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The id the core assigned.
    #[inline(always)]
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
/// `value` is initialised while `ready` is set, and is pinned: it is dropped
/// in place before the core frees the slot. `proc` and `hooked` are only
/// touched by the `init`, `pre_exit` and `exit` callbacks of the slot's
/// namespace, which the netns core serialises. The registration's hooks are
/// registered in the namespace only while `hooked` is set, and `value` stays
/// initialised until an RCU grace period after they are unregistered.
#[repr(C)]
struct Slot<T> {
    /// Whether `value` is initialised.
    ready: AtomicBool,
    /// Whether the registration's hooks are registered in the namespace.
    hooked: UnsafeCell<bool>,
    /// The namespace's proc file, if `T` has one and it is created.
    proc: UnsafeCell<Option<NetProcEntry>>,
    /// The namespace's state.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Passes the packets of `T`'s hooks to the state of their namespace.
struct Packets<T>(PhantomData<T>);

impl<T: Operations> Dispatch for Packets<T> {
    /// Calls [`Operations::observe`] on the state of `net`.
    ///
    /// # Safety
    ///
    /// As for [`Dispatch::observe`].
    #[inline(always)]
    unsafe fn observe(net: &Net, index: usize, skb: &SkBuff) {
        // The hooks of `Packets<T>` belong to the one registration of `T`
        // (`Registration::register`), so `T::id()` has a slot in `net`.
        // SAFETY: the caller is such a hook, under the RCU read lock, and the
        // value is initialised while the hooks are registered in `net` and a
        // grace period after (`Slot` invariant; `Dispatch::observe`).
        let value = unsafe {
            let slot = &*net.generic_rcu(T::id().get()).cast::<Slot<T>>();
            (*slot.value.get()).assume_init_ref()
        };
        value.observe(index, skb);
    }
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
/// `drop`; `T::id().hooks` points to `hooks` until then.
pub(crate) struct Registration<T: Operations> {
    /// The C operations, linked into the core's list while registered.
    ops: Pin<KBox<Opaque<bindings::pernet_operations>>>,
    /// The hook ops every namespace registers, in `T::hook_points()` order;
    /// the callbacks reach them through `T::id()`.
    _hooks: KBox<HookOps>,
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
        let hooks = match HookOps::new::<Packets<T>>(T::hook_points())
            .and_then(|h| KBox::new(h, GFP_KERNEL).map_err(Error::from))
        {
            Ok(hooks) => hooks,
            Err(e) => {
                id.in_use.store(false, Ordering::Release);
                return Err(e);
            }
        };
        id.hooks.store(
            core::ptr::from_ref::<HookOps>(&hooks).cast_mut(),
            Ordering::Release,
        );
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
                _hooks: hooks,
                _t: PhantomData,
            }),
            Err(e) => {
                id.hooks.store(core::ptr::null_mut(), Ordering::Release);
                id.in_use.store(false, Ordering::Release);
                Err(e)
            }
        }
    }

    /// The hook ops of the registration: only valid from the pernet
    /// callbacks of the registered operations.
    fn hooks<'a>() -> &'a HookOps {
        // SAFETY: the callbacks run while the operations are registered, and
        // `hooks` points to the registration's ops until they are
        // unregistered (`Id` invariant).
        unsafe { &*T::id().hooks.load(Ordering::Acquire) }
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
                hooked: UnsafeCell::new(false),
                proc: UnsafeCell::new(None),
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
        if let Err(e) = Self::publish(net, slot) {
            // SAFETY: only this namespace's callbacks use `hooked`/`proc`.
            // Removing the entry waits for its readers, unhooking plus a
            // grace period for packets: nothing refers to `value` afterwards.
            unsafe {
                drop((*slot.proc.get()).take());
                if Self::unhook(net, slot) {
                    netfilter::synchronize_rcu();
                }
            }
            slot.ready.store(false, Ordering::Release);
            // SAFETY: `value` is initialised and, as shown above, unshared.
            unsafe { (*slot.value.get()).assume_init_drop() };
            return Err(e);
        }
        Ok(())
    }

    /// Registers the hooks in `net` and creates the proc file, for an
    /// initialised slot.
    fn publish(net: &Net, slot: &Slot<T>) -> Result {
        // `value` stays initialised until `exit` (after `pre_exit` unhooked
        // and a grace period) or a failed `init` (after unhooking and one).
        // SAFETY: the hook ops live until the operations are unregistered,
        // which unhooks every namespace first; `value` is initialised.
        unsafe { Self::hooks().register(net)? };
        // SAFETY: `hooked` is only used by this namespace's callbacks.
        unsafe { *slot.hooked.get() = true };
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

    /// Unregisters the hooks from `net` if they are registered, without
    /// waiting for packets inside them.
    ///
    /// # Safety
    ///
    /// Only from the callbacks of `net`, whose slot `slot` is.
    unsafe fn unhook(net: &Net, slot: &Slot<T>) -> bool {
        // SAFETY: only this namespace's callbacks use `hooked` (caller's
        // contract); set only while registered in `net`.
        unsafe {
            if !*slot.hooked.get() {
                return false;
            }
            Self::hooks().unregister(net);
            *slot.hooked.get() = false;
        }
        true
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
        // SAFETY: called from this namespace's callback. The core waits for
        // a grace period before `exit` frees `value`.
        unsafe { Self::unhook(net, slot) };
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
        // hooks were unregistered in `pre_exit`, a grace period ago; should
        // they still be registered, unregister them and wait here.
        // SAFETY: `proc` is only used by this namespace's callbacks; this is
        // one of them.
        unsafe {
            drop((*slot.proc.get()).take());
            if Self::unhook(net, slot) {
                netfilter::synchronize_rcu();
            }
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
        // No callback runs any more: `self._hooks` may go.
        T::id()
            .hooks
            .store(core::ptr::null_mut(), Ordering::Release);
        T::id().in_use.store(false, Ordering::Release);
    }
}
