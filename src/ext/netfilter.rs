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

/// Something that looks at every packet crossing a hook point. It cannot
/// change or drop the packet: the hook always returns `NF_ACCEPT`.
///
/// `observe` runs on the packet path, in any context (process with BH
/// enabled or disabled, softirq), under `rcu_read_lock()`: it must not sleep
/// and should be as cheap as possible.
pub(crate) trait Observer: Sync {
    /// Looks at one packet.
    fn observe(&self, skb: &SkBuff);
}

/// Where an observer is attached.
pub(crate) struct Attach<O> {
    /// The protocol family.
    pub(crate) family: Family,
    /// The hook point.
    pub(crate) hook: HookPoint,
    /// The observer; it sees packets of this family at this hook point.
    pub(crate) observer: O,
}

/// The `nf_hookfn` trampoline of an [`Observer`].
///
/// # Safety
///
/// Only for netfilter, as the hook of ops whose `priv` is a live `&O`.
unsafe extern "C" fn observe_hook<O: Observer>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    _state: *const bindings::nf_hook_state,
) -> u32 {
    // SAFETY: `priv_` is a live `O` (contract of `NetHooks::register`); the
    // packet is owned by the stack for the duration of the call.
    unsafe { (*priv_.cast::<O>()).observe(&*skb.cast::<SkBuff>()) };
    bindings::NF_ACCEPT
}

/// Netfilter hooks registered in one namespace (`nf_register_net_hooks`).
///
/// # Invariants
///
/// While `registered`, `ops` (which never reallocates) is registered in
/// `net`, which stays alive until `self` is dropped.
pub(crate) struct NetHooks {
    /// The namespace the hooks are registered in.
    net: *mut bindings::net,
    /// The hook ops; netfilter keeps pointers to them while registered.
    ops: KVec<bindings::nf_hook_ops>,
    /// Whether `ops` are registered now.
    registered: bool,
}

// SAFETY: unregistering is allowed from any task that may sleep.
unsafe impl Send for NetHooks {}
// SAFETY: `NetHooks` has no `&self` methods.
unsafe impl Sync for NetHooks {}

impl NetHooks {
    /// Attaches `attach`'s observers in `net`, at priority `NF_IP_PRI_FIRST`
    /// (they see each packet that reaches the hook point before any other
    /// hook can drop it). Registers nothing if `attach` is empty.
    ///
    /// # Safety
    ///
    /// `net` must outlive the returned value, and `attach` must stay at the
    /// same address and alive until the hooks are unregistered and an RCU
    /// grace period has passed (see [`NetHooks::unregister_deferred`] and
    /// `drop`).
    pub(crate) unsafe fn register<O: Observer>(net: &Net, attach: &[Attach<O>]) -> Result<Self> {
        let mut ops = KVec::with_capacity(attach.len(), GFP_KERNEL)?;
        for a in attach {
            let mut op = bindings::nf_hook_ops {
                hook: Some(observe_hook::<O>),
                priv_: core::ptr::from_ref(&a.observer).cast_mut().cast::<c_void>(),
                pf: a.family.nfproto(),
                hooknum: a.hook.hooknum(),
                priority: i32::MIN,
                ..Default::default()
            };
            op.set_hook_ops_type(bindings::nf_hook_ops_type_NF_HOOK_OP_UNDEFINED);
            ops.push(op, GFP_KERNEL)?;
        }
        let mut this = Self {
            net: net.as_raw(),
            ops,
            registered: false,
        };
        if !this.ops.is_empty() {
            // SAFETY: `net` is alive; `ops` is a valid array that stays put
            // until unregistered (the vector is never resized); each `priv`
            // is a live `O` (caller's contract).
            to_result(unsafe {
                bindings::nf_register_net_hooks(this.net, this.ops.as_ptr(), this.ops.len() as u32)
            })?;
            // INVARIANT: registered just above.
            this.registered = true;
        }
        Ok(this)
    }

    /// Unregisters the hooks without waiting for packets still inside them:
    /// for `pre_exit`, after which the netns core waits for an RCU grace
    /// period before `exit` may free what the hooks use.
    pub(crate) fn unregister_deferred(&mut self) {
        if self.registered {
            // SAFETY: registered in `net`, which is alive (type invariant).
            unsafe {
                bindings::nf_unregister_net_hooks(
                    self.net,
                    self.ops.as_ptr(),
                    self.ops.len() as u32,
                )
            };
            self.registered = false;
        }
    }
}

impl Drop for NetHooks {
    /// Unregisters the hooks if still registered and then waits for an RCU
    /// grace period, so no packet is inside an observer once this returns.
    fn drop(&mut self) {
        if self.registered {
            self.unregister_deferred();
            // SAFETY: no preconditions; we may sleep here.
            unsafe { bindings::synchronize_rcu() };
        }
    }
}
