// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks that observe packets without changing them, registered
//! in each network namespace by per-namespace state.
//!
//! One static set of `nf_hook_ops` ([`HookOps`]) serves every namespace, as
//! conntrack's does: netfilter keeps only a pointer to each op per namespace,
//! and the hook finds the namespace's state through `net_generic` (the
//! `net_generic` id of the state's [`pernet::Registration`]). A namespace's
//! state registers the ops it wants with a [`NetHooks`] attachment.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)
//!
//! # Examples
//!
//! ```ignore
//! static HOOK_OPS: HookOps<MyNet> = HookOps::new();
//!
//! impl Observe for MyNet {
//!     const HOOK_OPS: &'static HookOps<Self> = &HOOK_OPS;
//!     fn hook_set(&self) -> HookSet {
//!         HookSet::ALL
//!     }
//!     fn observe(&self, index: usize, skb: &SkBuff) {
//!         self.count(index, skb.len());
//!     }
//! }
//!
//! impl pernet::Operations for MyNet {
//!     type Attached = NetHooks<Self>;
//!     // ...
//! }
//! ```

use super::{
    bindings,
    net::Net,
    pernet::{self, Attachment, PreExit},
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    pin::Pin,
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
};
use kernel::{error::to_result, prelude::*, types::Opaque};

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
    #[inline(always)]
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: the packet is valid for the hook call (type invariant).
        unsafe { (*self.0.get()).len }
    }
}

/// Per-namespace state that observes the packets crossing the hook points
/// it selects in its namespace.
pub(crate) trait Observe: pernet::Operations {
    /// The hook ops of this type. Any `HookOps<Self>` does: they are all
    /// alike.
    const HOOK_OPS: &'static HookOps<Self>;

    /// The hook points to register in the state's namespace, read once when
    /// the state is attached.
    fn hook_set(&self) -> HookSet;

    /// Looks at one packet crossing the hook point of index `index` (see
    /// [`point`]) in this state's namespace.
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
/// registered by a [`NetHooks<T>`].
unsafe extern "C" fn hook<T: Observe>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> u32 {
    // SAFETY: netfilter passes a valid state whose namespace (alive for the
    // call) is the one the hook is registered in, under the RCU read lock,
    // and a packet it owns; a `NetHooks<T>` registered the hook there.
    unsafe {
        let net = Net::from_raw((*state).net);
        pernet::Registration::<T>::state_rcu(net).observe(priv_ as usize, &*skb.cast::<SkBuff>());
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

/// The hooks of a namespace's state, registered in its namespace: an
/// [`Attachment`] of [`pernet`] state that implements [`Observe`].
///
/// Registration happens when the state is attached; `pre_exit` unregisters
/// them (the netns core waits for a grace period before the state goes);
/// dropping hooks still registered unregisters them and waits for a grace
/// period itself.
///
/// # Invariants
///
/// `net` is the namespace whose state owns the attachment, alive while it
/// exists. The ops in `registered` are registered in `net`.
pub(crate) struct NetHooks<T: Observe> {
    /// The namespace.
    net: NonNull<bindings::net>,
    /// The indices of the ops registered in `net`.
    registered: AtomicU32,
    /// The hooks call into `T`.
    _t: PhantomData<T>,
}

// SAFETY: `net` is only used to unregister, which any task that may sleep
// can do; `registered` is atomic.
unsafe impl<T: Observe> Send for NetHooks<T> {}
// SAFETY: as above.
unsafe impl<T: Observe> Sync for NetHooks<T> {}

impl<T: Observe> NetHooks<T> {
    /// Unregisters the ops in `set` from the namespace, without waiting for
    /// packets inside them; returns whether it unregistered any.
    ///
    /// # Safety
    ///
    /// The ops in `set` must be registered in `self.net` (and are no longer
    /// recorded as such).
    unsafe fn unregister(net: NonNull<bindings::net>, set: HookSet) -> bool {
        for (i, _, _) in set.iter() {
            // SAFETY: op `i` of the static ops is registered in `net`, which
            // is alive (caller's contract).
            unsafe { bindings::nf_unregister_net_hook(net.as_ptr(), T::HOOK_OPS.op(i)) };
        }
        set != HookSet::NONE
    }
}

// The hooks reach `T`'s state through `net_generic` only while registered
// (and one grace period after).
// SAFETY: `drop` unregisters what is still registered and waits for a grace
// period; a failed `attach` unregisters what it registered and waits too.
unsafe impl<T: Observe> Attachment<T> for NetHooks<T> {
    /// # Safety
    ///
    /// As [`Attachment::attach`].
    unsafe fn attach(net: &Net, state: Pin<&T>) -> Result<Self> {
        let raw = NonNull::new(net.as_raw()).ok_or(EINVAL)?;
        let mut done = HookSet::NONE;
        for (i, _, _) in state.hook_set().iter() {
            // SAFETY: the ops are static; the state of `net` is initialised
            // and stays so until this attachment is dropped (caller's
            // contract), so the hook may run from now on.
            let r = to_result(unsafe {
                bindings::nf_register_net_hook(raw.as_ptr(), T::HOOK_OPS.op(i))
            });
            if let Err(e) = r {
                // The ops registered so far may have packets inside them on
                // other CPUs: wait for those before the state can go.
                // SAFETY: `done` holds the ops registered just above.
                if unsafe { Self::unregister(raw, done) } {
                    synchronize_rcu();
                }
                return Err(e);
            }
            done = done | HookSet::from_bits(1 << i);
        }
        // INVARIANT: `done` are registered in `net`, the owner's namespace.
        Ok(Self {
            net: raw,
            registered: AtomicU32::new(done.bits()),
            _t: PhantomData,
        })
    }

    fn detach(&self, _net: &Net, _token: &PreExit) {
        let set = HookSet::from_bits(self.registered.swap(0, Ordering::AcqRel));
        // SAFETY: `set` was registered (type invariant) and is no longer
        // recorded; the core waits for a grace period after `pre_exit`.
        unsafe { Self::unregister(self.net, set) };
    }
}

impl<T: Observe> Drop for NetHooks<T> {
    fn drop(&mut self) {
        let set = HookSet::from_bits(self.registered.swap(0, Ordering::AcqRel));
        // SAFETY: as in `detach`; here nobody waits for us, so wait.
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
