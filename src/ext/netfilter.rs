// SPDX-License-Identifier: GPL-2.0

//! Per-namespace netfilter hooks that observe packets without changing them.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)

use super::{bindings, net::Net};
use core::ffi::c_void;
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
    fn nfproto(self) -> u8 {
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
    fn hooknum(self) -> u32 {
        match self {
            HookPoint::PreRouting => bindings::nf_inet_hooks_NF_INET_PRE_ROUTING,
            HookPoint::LocalIn => bindings::nf_inet_hooks_NF_INET_LOCAL_IN,
            HookPoint::Forward => bindings::nf_inet_hooks_NF_INET_FORWARD,
            HookPoint::LocalOut => bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
            HookPoint::PostRouting => bindings::nf_inet_hooks_NF_INET_POST_ROUTING,
        }
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

/// Receives the packets of the hooks of a [`HookOps`]: the hooks carry no
/// per-namespace pointer, so the receiver finds its state from the packet's
/// namespace (the way conntrack's hooks do).
///
/// `observe` runs on the packet path, in any context (process with BH
/// enabled or disabled, softirq), under `rcu_read_lock()`: it must not sleep
/// and should be as cheap as possible. It cannot change or drop the packet:
/// the hook always returns `NF_ACCEPT`.
pub(crate) trait Dispatch: 'static {
    /// Looks at one packet crossing hook `index` (the position of its hook
    /// point in the list given to [`HookOps::new`]) in namespace `net`.
    ///
    /// # Safety
    ///
    /// Only called by the hooks of a [`HookOps`] made for `Self`, while they
    /// are registered in `net` or within an RCU grace period after.
    unsafe fn observe(net: &Net, index: usize, skb: &SkBuff);
}

/// The `nf_hookfn` trampoline of a [`Dispatch`] type.
///
/// # Safety
///
/// Only for netfilter, as the hook of ops made by [`HookOps::new::<D>`].
unsafe extern "C" fn dispatch_hook<D: Dispatch>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> u32 {
    // `priv` is the index of the hook (`HookOps::new`).
    // SAFETY: netfilter passes a valid state whose namespace (alive for the
    // call) is the one the hook is registered in, and a packet it owns.
    unsafe {
        D::observe(
            Net::from_raw((*state).net),
            priv_ as usize,
            &*skb.cast::<SkBuff>(),
        )
    };
    bindings::NF_ACCEPT
}

/// One set of netfilter hook ops, shared by every namespace it is
/// registered in (`nf_register_net_hooks` keeps only pointers to the ops,
/// per namespace).
///
/// Each hook runs at priority `NF_IP_PRI_FIRST`, so it sees every packet
/// that reaches the hook point before any other hook can drop it.
///
/// # Invariants
///
/// `ops` never reallocates; op `i` has hook `dispatch_hook::<D>` for the `D`
/// given to [`HookOps::new`] and `priv` `i`.
pub(crate) struct HookOps {
    /// The ops, in the order of the hook points given to [`HookOps::new`].
    ops: KVec<bindings::nf_hook_ops>,
}

// SAFETY: the ops are only read after construction (by netfilter and by
// `register`/`unregister`), from any task.
unsafe impl Send for HookOps {}
// SAFETY: as above.
unsafe impl Sync for HookOps {}

impl HookOps {
    /// Ops with one hook at each of `points` that passes its packets to
    /// `D`, with the position of the hook point in `points` as the index.
    /// May sleep.
    pub(crate) fn new<D: Dispatch>(
        points: impl Iterator<Item = (Family, HookPoint)>,
    ) -> Result<Self> {
        let mut ops = KVec::new();
        for (index, (family, hook)) in points.enumerate() {
            let mut op = bindings::nf_hook_ops {
                hook: Some(dispatch_hook::<D>),
                priv_: index as *mut c_void,
                pf: family.nfproto(),
                hooknum: hook.hooknum(),
                priority: i32::MIN,
                ..Default::default()
            };
            op.set_hook_ops_type(bindings::nf_hook_ops_type_NF_HOOK_OP_UNDEFINED);
            ops.push(op, GFP_KERNEL)?;
        }
        // INVARIANT: built above; the vector is never resized afterwards.
        Ok(Self { ops })
    }

    /// Registers the hooks in `net`; does nothing if there are none. On
    /// error nothing is registered. May sleep.
    ///
    /// # Safety
    ///
    /// `self` must stay alive until the hooks are unregistered from `net`
    /// ([`HookOps::unregister`]), and calling `D::observe` for `net` must be
    /// sound from now until an RCU grace period after that.
    pub(crate) unsafe fn register(&self, net: &Net) -> Result {
        if self.ops.is_empty() {
            return Ok(());
        }
        // SAFETY: `net` is alive; `ops` is a valid array that stays put
        // while registered (caller's contract, type invariant); the hooks
        // may run from now on (caller's contract).
        to_result(unsafe {
            bindings::nf_register_net_hooks(net.as_raw(), self.ops.as_ptr(), self.ops.len() as u32)
        })
    }

    /// Unregisters the hooks from `net`, without waiting for packets still
    /// inside them: wait for an RCU grace period (the netns core's, between
    /// `pre_exit` and `exit`, or `synchronize_rcu()`) before freeing what
    /// they use. May sleep.
    ///
    /// # Safety
    ///
    /// The hooks must be registered in `net` by [`HookOps::register`].
    pub(crate) unsafe fn unregister(&self, net: &Net) {
        if self.ops.is_empty() {
            return;
        }
        // SAFETY: registered in `net` (caller's contract), which is alive.
        unsafe {
            bindings::nf_unregister_net_hooks(
                net.as_raw(),
                self.ops.as_ptr(),
                self.ops.len() as u32,
            )
        };
    }
}

/// Waits for an RCU grace period: afterwards no packet is inside a hook
/// unregistered before the call. May sleep.
pub(crate) fn synchronize_rcu() {
    // SAFETY: no preconditions; the caller may sleep.
    unsafe { bindings::synchronize_rcu() };
}
