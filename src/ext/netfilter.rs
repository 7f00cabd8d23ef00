// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks that observe packets without changing them, registered
//! per network namespace.
//!
//! One static set of `nf_hook_ops` ([`HookOps`]) serves every namespace, as
//! conntrack's does: netfilter keeps only a pointer to each op per namespace,
//! and the hook finds the data that observes the namespace's packets from
//! the namespace ([`NetData`]), as C hooks find theirs with
//! `net_generic()`. A [`NetHooks`] registers the ops of the hook points
//! wanted in one namespace, changes them at run time, and unregisters them.
//!
//! How the data is kept is not this file's concern: per-namespace state in
//! the namespace's `net_generic` slot (the `pernet` abstractions) implements
//! [`NetData`] and attaches a [`NetHooks`] to each namespace's state.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)
//!
//! # Examples
//!
//! ```
//! use kernel::net::{
//!     namespace::Net,
//!     netfilter::{HookOps, NetData, Observe, SkBuff},
//! };
//! use core::sync::atomic::{AtomicU64, Ordering};
//!
//! struct Counter {
//!     packets: AtomicU64,
//! }
//!
//! static HOOK_OPS: HookOps<Counter> = HookOps::new();
//!
//! impl Observe for Counter {
//!     const HOOK_OPS: &'static HookOps<Self> = &HOOK_OPS;
//!     fn observe(&self, _index: usize, _skb: &SkBuff) {
//!         self.packets.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! // The data of the hooks, found from the namespace: this one has one
//! // counter for all namespaces (per-namespace state implements `NetData`
//! // through `pernet`).
//! static COUNTER: Counter = Counter {
//!     packets: AtomicU64::new(0),
//! };
//!
//! // SAFETY: `COUNTER` is static.
//! unsafe impl NetData for Counter {
//!     unsafe fn from_net_rcu(_net: &Net) -> &Self {
//!         &COUNTER
//!     }
//! }
//! ```

use super::{bindings, net::Net};
use core::{ffi::c_void, marker::PhantomData, ptr::NonNull};
use kernel::{error::to_result, new_mutex, prelude::*, sync::Mutex, types::Opaque};

/// A protocol family with netfilter hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 (`NFPROTO_IPV4`).
    Ipv4,
    /// IPv6 (`NFPROTO_IPV6`).
    Ipv6,
}

impl Family {
    /// Both families, in display order.
    pub(crate) const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The `NFPROTO_*` value of the family.
    const fn nfproto(self) -> u8 {
        match self {
            Family::Ipv4 => bindings::NFPROTO_IPV4 as u8,
            Family::Ipv6 => bindings::NFPROTO_IPV6 as u8,
        }
    }
}

/// A netfilter hook point of the IP stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// `NF_INET_PRE_ROUTING`: every packet received, before routing.
    PreRouting,
    /// `NF_INET_LOCAL_IN`: packets delivered to this host.
    LocalIn,
    /// `NF_INET_FORWARD`: packets routed through this host.
    Forward,
    /// `NF_INET_LOCAL_OUT`: packets sent by this host.
    LocalOut,
    /// `NF_INET_POST_ROUTING`: every packet sent, after routing.
    PostRouting,
}

impl HookPoint {
    /// The five hook points, in the order a forwarded packet meets them.
    pub(crate) const ALL: [HookPoint; 5] = [
        HookPoint::PreRouting,
        HookPoint::LocalIn,
        HookPoint::Forward,
        HookPoint::LocalOut,
        HookPoint::PostRouting,
    ];

    /// The `NF_INET_*` value of the hook point.
    const fn hooknum(self) -> u32 {
        match self {
            HookPoint::PreRouting => bindings::nf_inet_hooks_NF_INET_PRE_ROUTING,
            HookPoint::LocalIn => bindings::nf_inet_hooks_NF_INET_LOCAL_IN,
            HookPoint::Forward => bindings::nf_inet_hooks_NF_INET_FORWARD,
            HookPoint::LocalOut => bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
            HookPoint::PostRouting => bindings::nf_inet_hooks_NF_INET_POST_ROUTING,
        }
    }
}

/// How many (family, hook point) pairs there are: the indices of
/// [`HookSet`] and of the ops of a [`HookOps`] run from 0 to `POINTS - 1`.
pub(crate) const POINTS: usize = Family::ALL.len() * HookPoint::ALL.len();

/// The (family, hook point) pair of index `i` (families first, then hook
/// points in [`HookPoint::ALL`] order).
pub(crate) const fn point(i: usize) -> (Family, HookPoint) {
    (
        Family::ALL[i / HookPoint::ALL.len()],
        HookPoint::ALL[i % HookPoint::ALL.len()],
    )
}

/// A set of (family, hook point) pairs, by index (see [`point`]).
///
/// # Examples
///
/// ```
/// use kernel::net::netfilter::{Family, HookPoint, HookSet};
///
/// let input = HookSet::of(Family::Ipv4, HookPoint::LocalIn)
///     | HookSet::of(Family::Ipv6, HookPoint::LocalIn);
/// assert!(input.contains(HookSet::index(Family::Ipv6, HookPoint::LocalIn)));
/// assert!(!input.contains(HookSet::index(Family::Ipv4, HookPoint::Forward)));
/// assert_eq!(input.iter().count(), 2);
/// assert_eq!(HookSet::ALL.without(input).iter().count(), 8);
/// assert_eq!(HookSet::from_bits(u32::MAX), HookSet::ALL);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HookSet(u32);

impl HookSet {
    /// Every pair.
    pub(crate) const ALL: HookSet = HookSet((1 << POINTS) - 1);
    /// No pair.
    pub(crate) const NONE: HookSet = HookSet(0);

    /// The set whose bit `i` is bit `i` of `bits`; bits past the last index
    /// are ignored.
    pub(crate) const fn from_bits(bits: u32) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// The bits of the set.
    pub(crate) const fn bits(self) -> u32 {
        self.0
    }

    /// The index of a pair.
    pub(crate) fn index(family: Family, hook: HookPoint) -> usize {
        let f = Family::ALL.iter().position(|x| *x == family).unwrap_or(0);
        let h = HookPoint::ALL.iter().position(|x| *x == hook).unwrap_or(0);
        f * HookPoint::ALL.len() + h
    }

    /// The set of one pair.
    pub(crate) fn of(family: Family, hook: HookPoint) -> Self {
        Self(1 << Self::index(family, hook))
    }

    /// Whether the set holds pair `i`.
    pub(crate) const fn contains(self, i: usize) -> bool {
        i < POINTS && self.0 & (1 << i) != 0
    }

    /// The pairs of `self` that are not in `other`.
    pub(crate) const fn without(self, other: HookSet) -> Self {
        Self(self.0 & !other.0)
    }

    /// The pairs of the set with their indices, in index order.
    pub(crate) fn iter(self) -> impl Iterator<Item = (usize, Family, HookPoint)> {
        (0..POINTS).filter(move |i| self.contains(*i)).map(|i| {
            let (f, h) = point(i);
            (i, f, h)
        })
    }
}

impl core::ops::BitOr for HookSet {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl core::ops::BitAnd for HookSet {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// A packet seen by a hook (`struct sk_buff`), read-only.
///
/// # Invariants
///
/// Only handed out by reference for the duration of a hook call, while the
/// stack owns the packet.
#[repr(transparent)]
pub(crate) struct SkBuff(Opaque<bindings::sk_buff>);

impl SkBuff {
    /// The packet's length at this hook (`skb->len`): from the network
    /// header on, headers included.
    // Never empty at a hook (it holds its network header): no `is_empty`.
    #[allow(clippy::len_without_is_empty)]
    #[inline(always)]
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: the packet is valid for the hook call (type invariant).
        unsafe { (*self.0.get()).len }
    }
}

/// Data that the hooks find from the namespace a packet crosses, as C hooks
/// find theirs with `net_generic()`.
///
/// # Safety
///
/// [`NetData::from_net_rcu`] must return the data of `net` whenever its
/// contract holds: the data that whoever made a [`NetHooks<Self>`] in `net`
/// keeps alive for it (the contract of [`NetHooks::new`]).
pub(crate) unsafe trait NetData: Sync + Sized + 'static {
    /// The data of `net`, on the packet path.
    ///
    /// # Safety
    ///
    /// The caller must be in an RCU read-side critical section, in a hook
    /// that a [`NetHooks<Self>`] registered in `net`, no later than one
    /// grace period after it was unregistered.
    unsafe fn from_net_rcu(net: &Net) -> &Self;
}

/// Data that observes the packets crossing the hook points a [`NetHooks`]
/// registers in its namespace.
pub(crate) trait Observe: NetData {
    /// The hook ops of this type. Any `HookOps<Self>` does: they are all
    /// alike.
    const HOOK_OPS: &'static HookOps<Self>;

    /// Looks at one packet crossing the hook point of index `index` (see
    /// [`point`]) in this data's namespace.
    ///
    /// Runs on the packet path, in any context (process with BH enabled or
    /// disabled, softirq), under `rcu_read_lock()`: it must not sleep and
    /// should be as cheap as possible. It cannot change or drop the packet:
    /// the hook always returns `NF_ACCEPT`.
    fn observe(&self, index: usize, skb: &SkBuff);
}

/// The `nf_hookfn` trampoline of an [`Observe`] type.
///
/// # Safety
///
/// Only for netfilter, as the hook of the ops of a [`HookOps<T>`],
/// registered by a [`NetHooks<T>`], whose maker keeps the data of the
/// namespace alive for it.
unsafe extern "C" fn hook<T: Observe>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> u32 {
    // SAFETY: netfilter passes a valid hook state whose namespace (alive
    // for the call) is the one a `NetHooks<T>` registered the hook in,
    // under the RCU read lock, and a packet it owns.
    unsafe {
        let net = Net::from_raw((*state).net);
        T::from_net_rcu(net).observe(priv_ as usize, &*skb.cast::<SkBuff>());
    }
    bindings::NF_ACCEPT
}

/// The netfilter hook ops of an [`Observe`] type: one op per (family, hook
/// point), in index order, each at priority `NF_IP_PRI_FIRST` (so it sees
/// every packet that reaches the hook point before any other hook can drop
/// it) with its index as `priv`. Put one in a `static`; it serves every
/// namespace.
///
/// # Invariants
///
/// Op `i` has hook `hook::<T>`, `priv` `i` and the family and hook point of
/// [`point`]`(i)`; the ops are never written after construction.
pub(crate) struct HookOps<T> {
    /// The ops. Netfilter keeps pointers to them while registered.
    ops: Opaque<[bindings::nf_hook_ops; POINTS]>,
    /// The hooks call into `T`.
    _t: PhantomData<T>,
}

// SAFETY: the ops are never written after construction (type invariant);
// netfilter reads them from any CPU.
unsafe impl<T> Sync for HookOps<T> {}

impl<T: Observe> HookOps<T> {
    /// The ops of `T`.
    pub(crate) const fn new() -> Self {
        // SAFETY: `nf_hook_ops` is a C struct for which all zeroes is valid
        // (null pointers, `None` hook, `NF_HOOK_OP_UNDEFINED`).
        let mut ops: [bindings::nf_hook_ops; POINTS] = unsafe { core::mem::zeroed() };
        let mut i = 0;
        while i < POINTS {
            let (family, hook_point) = point(i);
            ops[i].hook = Some(hook::<T>);
            ops[i].priv_ = i as *mut c_void;
            ops[i].pf = family.nfproto();
            ops[i].hooknum = hook_point.hooknum();
            ops[i].priority = i32::MIN;
            i += 1;
        }
        // INVARIANT: built above, never written again.
        Self {
            ops: Opaque::new(ops),
            _t: PhantomData,
        }
    }

    /// Op `i`.
    fn op(&self, i: usize) -> *const bindings::nf_hook_ops {
        self.ops
            .get()
            .cast::<bindings::nf_hook_ops>()
            .wrapping_add(i)
    }
}

impl<T: Observe> Default for HookOps<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`NetHooks`] has registered, and which of the hook points it was
/// asked for netfilter refused, with netfilter's error for each.
///
/// # Invariants
///
/// `refused[i]` is `Some` only for points `i` not in `registered`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HookStatus {
    /// The ops registered: the hook points observed.
    registered: HookSet,
    /// For each hook point asked for and not registered, netfilter's error.
    refused: [Option<Error>; POINTS],
}

impl HookStatus {
    /// Nothing registered, nothing refused.
    const EMPTY: Self = Self {
        registered: HookSet::NONE,
        refused: [None; POINTS],
    };

    /// The hook points registered, which the hooks observe.
    pub(crate) fn registered(&self) -> HookSet {
        self.registered
    }

    /// The refused hook points with their indices and netfilter's errors,
    /// in index order.
    pub(crate) fn refused(&self) -> impl Iterator<Item = (usize, Family, HookPoint, Error)> + '_ {
        self.refused.iter().enumerate().filter_map(|(i, e)| {
            let (f, h) = point(i);
            e.map(|e| (i, f, h, e))
        })
    }

    /// The first error of [`HookStatus::refused`], if any.
    pub(crate) fn first_error(&self) -> Option<Error> {
        self.refused.iter().find_map(|e| *e)
    }
}

/// The hooks of one namespace: the ops of [`Observe`] data registered in
/// its namespace, for the hook points it selects.
///
/// [`NetHooks::new`] registers the hook points asked for one at a time: a
/// hook point that netfilter refuses (its table in the namespace is full:
/// `E2BIG`; it is out of memory) is left out and recorded as refused
/// ([`NetHooks::status`]), and the others are registered all the same, so
/// that no namespace can make another's set-up fail. [`NetHooks::set`]
/// changes what is registered at run time and tries the refused hook
/// points again; [`NetHooks::close`] unregisters everything without
/// waiting and refuses any later `set` (for a namespace's `pre_exit`, after
/// which the netns core waits for a grace period); dropping hooks still
/// registered unregisters them and waits for a grace period itself.
///
/// # Locking
///
/// One mutex per namespace serialises `set`, `status`, `close` and the
/// drop; it is taken before netfilter's own hook mutex, never under it. The
/// packet path takes no lock: a packet inside a hook being unregistered
/// finishes with the data, which outlives the hook by a grace period (the
/// contract of [`NetHooks::new`]).
///
/// # Invariants
///
/// `net` is the namespace the hooks were made for, alive while they exist.
/// The ops in `registered.status.registered` are registered in `net`, and
/// none other; while `registered.open` is clear, none is.
pub(crate) struct NetHooks<T: Observe> {
    /// The namespace.
    net: NonNull<bindings::net>,
    /// What is registered and refused, and whether more may be registered.
    registered: Pin<KBox<Mutex<Registered>>>,
    /// The hooks call into `T`.
    _t: PhantomData<T>,
}

/// The ops a [`NetHooks`] has registered, under its mutex.
struct Registered {
    /// The ops registered and the hook points refused.
    status: HookStatus,
    /// Whether ops may be registered: from `new` until `close`.
    open: bool,
}

// SAFETY: `net` is only used to register and unregister, which any task
// that may sleep can do; the rest is under the mutex.
unsafe impl<T: Observe> Send for NetHooks<T> {}
// SAFETY: as above.
unsafe impl<T: Observe> Sync for NetHooks<T> {}

impl<T: Observe> NetHooks<T> {
    /// Unregisters the ops in `set` from the namespace, without waiting for
    /// packets inside them; returns whether it unregistered any.
    ///
    /// # Safety
    ///
    /// The ops in `set` must be registered in `net` (and are no longer
    /// recorded as such).
    unsafe fn unregister(net: NonNull<bindings::net>, set: HookSet) -> bool {
        for (i, _, _) in set.iter() {
            // SAFETY: op `i` of the static ops is registered in `net`, which
            // is alive (caller's contract).
            unsafe { bindings::nf_unregister_net_hook(net.as_ptr(), T::HOOK_OPS.op(i)) };
        }
        set != HookSet::NONE
    }

    /// Registers each op of `add` in `net` on its own, in index order: the
    /// status returned has the ops that netfilter registered, which packets
    /// may enter from then on, and for each one it refused, its error. A
    /// refusal registers nothing for that op and leaves the others as they
    /// are, so there is nothing to undo.
    ///
    /// # Safety
    ///
    /// No op of `add` may be registered in `net`; the data of `net` must
    /// stay valid until a grace period after the ops are unregistered.
    unsafe fn register(net: NonNull<bindings::net>, add: HookSet) -> HookStatus {
        let mut status = HookStatus::EMPTY;
        for (i, _, _) in add.iter() {
            // SAFETY: the ops are static; the data outlives them (caller's
            // contract), so the hook may run from now on.
            let r = to_result(unsafe {
                bindings::nf_register_net_hook(net.as_ptr(), T::HOOK_OPS.op(i))
            });
            match r {
                Ok(()) => status.registered = status.registered | HookSet::from_bits(1 << i),
                // INVARIANT: op `i` is not registered.
                Err(e) => status.refused[i] = Some(e),
            }
        }
        status
    }

    /// Registers the ops of `want` in `net`, one hook point at a time; the
    /// hook points netfilter refuses are recorded as such
    /// ([`NetHooks::status`]) and left out. Fails only before it registers
    /// anything (out of memory). Charged to the memory cgroup of the
    /// caller, as a namespace's other memory is. Sleeps.
    ///
    /// # Safety
    ///
    /// `net` must outlive the hooks, and `T::from_net_rcu(net)` must give
    /// data that stays valid from now until one grace period after
    /// [`NetHooks::close`] is called, or until the hooks are dropped.
    pub(crate) unsafe fn new(net: &Net, want: HookSet) -> Result<Self> {
        let raw = NonNull::new(net.as_raw()).ok_or(EINVAL)?;
        let registered = KBox::pin_init(
            new_mutex!(
                Registered {
                    status: HookStatus::EMPTY,
                    open: true,
                },
                "rnetns_hooks"
            ),
            GFP_KERNEL_ACCOUNT,
        )?;
        // SAFETY: nothing is registered yet; the data of `net` outlives the
        // hooks by a grace period (caller's contract).
        let status = unsafe { Self::register(raw, want) };
        // INVARIANT: what `register` registered is recorded at once, in
        // `net`, which outlives the hooks (caller's contract).
        registered.lock().status = status;
        Ok(Self {
            net: raw,
            registered,
            _t: PhantomData,
        })
    }

    /// Makes `want` the hook points observed, all or nothing: registers
    /// each one that is missing (the refused ones included), then
    /// unregisters those no longer wanted. When netfilter refuses one
    /// (it is out of memory, or the namespace's hook table at that point is
    /// full: `E2BIG`), the ones just registered are unregistered again and
    /// its error (the first, in index order) is returned: what is observed
    /// and what is recorded as refused stay as they were. Fails with
    /// `ENODEV`, changing nothing, once the namespace is being torn down.
    /// Sleeps on the mutex and in netfilter.
    pub(crate) fn set(&self, want: HookSet) -> Result {
        let mut reg = self.registered.lock();
        if !reg.open {
            return Err(ENODEV);
        }
        let had = reg.status.registered;
        // The switch is open, so `close` has not run: the data outlives the
        // hooks by the grace period after `close`, or by `drop`'s.
        // SAFETY: `want` minus `had` holds no registered op (type
        // invariant); the data outlives the hooks (above).
        let added = unsafe { Self::register(self.net, want.without(had)) };
        if let Some(e) = added.first_error() {
            // Packets that entered them meanwhile have been observed, as
            // with `nf_register_net_hooks`, which undoes the same way.
            // SAFETY: `register` registered these just now and they were
            // never recorded; the data outlives them as above.
            unsafe { Self::unregister(self.net, added.registered) };
            return Err(e);
        }
        // SAFETY: `had` minus `want` are registered (type invariant), and
        // are no longer recorded once the status is replaced below.
        unsafe { Self::unregister(self.net, had.without(want)) };
        // INVARIANT: registered now: exactly `want`; nothing refused.
        reg.status = HookStatus {
            registered: want,
            refused: [None; POINTS],
        };
        Ok(())
    }

    /// The ops registered now and the hook points refused. Sleeps on the
    /// mutex.
    pub(crate) fn status(&self) -> HookStatus {
        self.registered.lock().status
    }

    /// Unregisters every hook point, without waiting for packets inside
    /// the hooks (the data outlives them by a grace period: the contract of
    /// [`NetHooks::new`]), and refuses any later [`NetHooks::set`] with
    /// `ENODEV`. Sleeps on the mutex and in netfilter.
    pub(crate) fn close(&self) {
        let mut reg = self.registered.lock();
        // SAFETY: the registered ops are (type invariant) and are no longer
        // recorded below.
        unsafe { Self::unregister(self.net, reg.status.registered) };
        // INVARIANT: nothing registered, and nothing may be any more.
        reg.status = HookStatus::EMPTY;
        reg.open = false;
    }
}

impl<T: Observe> Drop for NetHooks<T> {
    fn drop(&mut self) {
        let mut reg = self.registered.lock();
        let set = core::mem::replace(&mut reg.status, HookStatus::EMPTY).registered;
        reg.open = false;
        drop(reg);
        // SAFETY: as in `close`; here nobody waits for us, so wait.
        if unsafe { Self::unregister(self.net, set) } {
            synchronize_rcu();
        }
    }
}

/// Waits for an RCU grace period: afterwards no packet is inside a hook
/// unregistered before the call. May sleep. (Linux 7.2's `kernel::sync::rcu`
/// has the read side, `read_lock()`, but not this.)
pub(crate) fn synchronize_rcu() {
    // SAFETY: no preconditions; the caller may sleep.
    unsafe { bindings::synchronize_rcu() };
}
