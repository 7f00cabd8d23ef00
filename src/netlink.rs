// SPDX-License-Identifier: GPL-2.0

//! The `rnetns` generic netlink family: every namespace's state at once,
//! the netdev way. Its spec is `netlink/rnetns.yaml`; the ids and policies
//! here are the spec's (`scripts/check-spec.py`, a host check, compares
//! them).
//!
//! - `get` (do): one namespace, the caller's own or the one selected by
//!   `ns-fd` (an open namespace file descriptor, as rtnetlink's
//!   `IFLA_NET_NS_FD`) or `nsid` (a peer of the caller's namespace); one
//!   rule decides who sees what, for the do and the dump alike: the
//!   caller's own namespace, and those whose owning user namespace it has
//!   `CAP_NET_ADMIN` over (holding a namespace's file, which
//!   `/run/netns/NAME` gives anybody, is not enough).
//! - `get` (dump): every namespace the caller may see: with
//!   `CAP_NET_ADMIN` in the initial user namespace all, otherwise its own
//!   and those whose owning user namespace it has `CAP_NET_ADMIN` over. The
//!   cursor is the next namespace's cookie, in rnetns's index of
//!   namespaces by cookie: a namespace created or destroyed during the
//!   dump is in it or not, none is listed twice, and nothing fails.
//! - `set` (do): `reset` and/or `hooks` for one namespace (selected as in
//!   `get`), all or nothing, with the permission of a write to its
//!   `/proc/net/rnetns`.
//! - `lifecycle` group: `create-ntf` and `destroy-ntf` for every
//!   namespace, to listeners in the initial network namespace with
//!   `CAP_NET_ADMIN` there; nothing is built when nobody listens.

#![forbid(unsafe_code)]

use crate::{
    ext::{
        genetlink::{DoIt, Dump, DumpDone, DumpIt, Family, MulticastGroup, Op, Policy, Request},
        net::{ListedNet, Net, NetRef},
        netfilter::HookSet,
        pernet::Registration,
    },
    netns::NetState,
};
use core::ops::ControlFlow;
use kernel::{c_str, prelude::*};

/// The family's name, as `ynl` and `genl` know it.
pub(crate) const FAMILY_NAME: &[u8] = b"rnetns\0";
/// The family's version.
pub(crate) const FAMILY_VERSION: u32 = 1;

/// Command `get`: one namespace (do) or all (dump).
pub(crate) const CMD_GET: u8 = 1;
/// Command `set`: reset counters, choose hook points.
pub(crate) const CMD_SET: u8 = 2;
/// Notification `create-ntf`.
pub(crate) const CMD_CREATE_NTF: u8 = 3;
/// Notification `destroy-ntf`.
pub(crate) const CMD_DESTROY_NTF: u8 = 4;

/// `counter`: `family` (enum `family`).
pub(crate) const COUNTER_FAMILY: u16 = 1;
/// `counter`: `hook` (enum `hook`).
pub(crate) const COUNTER_HOOK: u16 = 2;
/// `counter`: `packets` (uint).
pub(crate) const COUNTER_PACKETS: u16 = 3;
/// `counter`: `bytes` (uint).
pub(crate) const COUNTER_BYTES: u16 = 4;

/// `refused`: `family`.
pub(crate) const REFUSED_FAMILY: u16 = 1;
/// `refused`: `hook`.
pub(crate) const REFUSED_HOOK: u16 = 2;
/// `refused`: `error` (a positive errno).
pub(crate) const REFUSED_ERROR: u16 = 3;

/// `ns`: `inum` (u32).
pub(crate) const NS_INUM: u16 = 1;
/// `ns`: `cookie` (u64).
pub(crate) const NS_COOKIE: u16 = 2;
/// `ns`: `init-net` (u8, 0 or 1).
pub(crate) const NS_INIT_NET: u16 = 3;
/// `ns`: `created-ns` (u64).
pub(crate) const NS_CREATED_NS: u16 = 4;
/// `ns`: `hooks` (u32, flags `hook-set`).
pub(crate) const NS_HOOKS: u16 = 5;
/// `ns`: `counter` (nest `counter`, multi-attr).
pub(crate) const NS_COUNTER: u16 = 6;
/// `ns`: `refused` (nest `refused`, multi-attr).
pub(crate) const NS_REFUSED: u16 = 7;
/// `ns`: `ns-fd` (u32, requests).
pub(crate) const NS_NS_FD: u16 = 8;
/// `ns`: `nsid` (s32, requests).
pub(crate) const NS_NSID: u16 = 9;
/// `ns`: `reset` (flag, set requests).
pub(crate) const NS_RESET: u16 = 10;
/// `ns`: `init-duration-ns` (u64).
pub(crate) const NS_INIT_DURATION_NS: u16 = 11;
/// `ns`: `exit-duration-ns` (u64).
pub(crate) const NS_EXIT_DURATION_NS: u16 = 12;
/// `ns`: `lifetime-ns` (u64).
pub(crate) const NS_LIFETIME_NS: u16 = 13;
/// `ns`: `pad`.
pub(crate) const NS_PAD: u16 = 14;

/// Multicast group `lifecycle` (its index).
pub(crate) const GROUP_LIFECYCLE: u32 = 0;

/// The `get` do request's policy: `ns-fd`, `nsid`.
static GET_POLICY: [Policy; NS_NSID as usize + 1] = [
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::u32(),
    Policy::s32_min(0),
];

/// The `set` request's policy: `hooks`, `ns-fd`, `nsid`, `reset`.
static SET_POLICY: [Policy; NS_RESET as usize + 1] = [
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::u32_mask(HookSet::ALL.bits()),
    Policy::UNSPEC,
    Policy::UNSPEC,
    Policy::u32(),
    Policy::s32_min(0),
    Policy::flag(),
];

/// What the family's operations use: every namespace's state.
pub(crate) type Data = Registration<NetState>;

/// The family's operations, by command, `doit` before `dumpit`.
static OPS: [Op<Data>; 3] = [
    Op::doit::<Get>(CMD_GET, &GET_POLICY, 0),
    Op::dumpit::<Get>(CMD_GET, 0),
    Op::doit::<Set>(CMD_SET, &SET_POLICY, Op::<Data>::UNS_ADMIN_PERM),
];

/// The family's multicast groups.
static GROUPS: [MulticastGroup; 1] = [MulticastGroup::new(b"lifecycle\0", true)];

/// The family.
pub(crate) static FAMILY: Family<Data> = Family::new(FAMILY_NAME, FAMILY_VERSION, &OPS, &GROUPS);

/// The `get` operation.
struct Get;

/// The `set` operation.
struct Set;

/// Whether the requester may see `net` in a dump or select it (ns-fd, nsid):
/// its own namespace, or one whose owning user namespace it has
/// `CAP_NET_ADMIN` over.
fn visible(own: &Net, net: &Net, net_admin_over: impl FnOnce(&Net) -> bool) -> bool {
    own.cookie() == net.cookie() || net_admin_over(net)
}

/// The namespace a do request selects: its own, `ns-fd`'s or `nsid`'s.
fn select(req: &Request<'_>) -> Result<NetRef> {
    let own = req.net()?;
    match (req.u32(NS_NS_FD), req.s32(NS_NSID)) {
        (Some(_), Some(_)) => {
            req.set_error(
                Some(NS_NSID),
                c_str!("ns-fd and nsid both select a namespace: give one"),
            );
            Err(EINVAL)
        }
        (Some(fd), None) => {
            let net = NetRef::from_fd(fd).inspect_err(|_| {
                req.set_error(
                    Some(NS_NS_FD),
                    c_str!("ns-fd is not an open network namespace file descriptor"),
                )
            })?;
            if !visible(&own, &net, |n| req.net_admin_over(n)) {
                req.set_error(
                    Some(NS_NS_FD),
                    c_str!("needs CAP_NET_ADMIN over that namespace's user namespace"),
                );
                return Err(EPERM);
            }
            Ok(net)
        }
        (None, Some(nsid)) => {
            let Some(net) = NetRef::from_nsid(&own, nsid) else {
                req.set_error(
                    Some(NS_NSID),
                    c_str!("no namespace has this nsid in the caller's namespace"),
                );
                return Err(ENOENT);
            };
            if !visible(&own, &net, |n| req.net_admin_over(n)) {
                req.set_error(
                    Some(NS_NSID),
                    c_str!("needs CAP_NET_ADMIN over that namespace's user namespace"),
                );
                return Err(EPERM);
            }
            Ok(net)
        }
        (None, None) => Ok(own),
    }
}

/// Says why the state of a selected namespace is not there.
fn state_error(req: &Request<'_>, e: Error) -> Error {
    if e == EAGAIN {
        req.set_error(None, c_str!("the namespace is still being set up"));
    } else {
        req.set_error(None, c_str!("the namespace is being torn down"));
    }
    e
}

impl DoIt<Data> for Get {
    fn doit(reg: &Data, req: &Request<'_>) -> Result {
        let net = select(req)?;
        let (state, attached) = reg.attached(&net).map_err(|e| state_error(req, e))?;
        req.reply(CMD_GET, |msg| state.put_ns(&net, attached, msg))
    }
}

impl DumpIt<Data> for Get {
    /// The namespace the next part starts at: the dump holds it (its
    /// teardown waits until the dump goes on or ends), and goes on from
    /// its place in the kernel's list of namespaces.
    type Cursor = Option<ListedNet>;

    fn dumpit(reg: &Data, dump: &mut Dump<'_, Self::Cursor>) -> Result<DumpDone> {
        let mut error = None;
        let mut at = dump.cursor().take();
        let more = reg.for_each_from(&mut at, |net, state, attached| {
            if !visible(dump.net(), net, |n| dump.net_admin_over(n)) {
                return ControlFlow::Continue(());
            }
            match dump.put(CMD_GET, |msg| state.put_ns(net, attached, msg)) {
                Ok(true) => ControlFlow::Continue(()),
                // No room left: this namespace starts the next part.
                Ok(false) => ControlFlow::Break(()),
                Err(e) => {
                    error = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        *dump.cursor() = at;
        if let Some(e) = error {
            return Err(e);
        }
        Ok(if more { DumpDone::More } else { DumpDone::Done })
    }
}

impl DoIt<Data> for Set {
    fn doit(reg: &Data, req: &Request<'_>) -> Result {
        let reset = req.flag(NS_RESET);
        let hooks = req.u32(NS_HOOKS).map(HookSet::from_bits);
        if !reset && hooks.is_none() {
            req.set_error(None, c_str!("nothing to set: give reset and/or hooks"));
            return Err(EINVAL);
        }
        let net = select(req)?;
        if !req.net_admin_over(&net) {
            req.set_error(
                None,
                c_str!("needs CAP_NET_ADMIN over the namespace's user namespace"),
            );
            return Err(EPERM);
        }
        let (state, attached) = reg.attached(&net).map_err(|e| state_error(req, e))?;
        state.set(attached, reset, hooks).inspect_err(|e| {
            if *e == E2BIG {
                req.set_error(
                    Some(NS_HOOKS),
                    c_str!("a hook point's table is full (1024 hooks): nothing changed"),
                );
            } else if *e == ENOMEM {
                req.set_error(None, c_str!("out of memory: nothing changed"));
            }
        })
    }
}

/// Announces that `net`'s state was set up, in `init_duration_ns`, to the
/// `lifecycle` listeners in the initial namespace (if any).
pub(crate) fn notify_created(net: &Net, init_duration_ns: u64) {
    let _ = FAMILY.notify(Net::init_net(), GROUP_LIFECYCLE, CMD_CREATE_NTF, |msg| {
        msg.put_u32(NS_INUM, net.inum())?;
        msg.put_u64(NS_COOKIE, net.cookie(), NS_PAD)?;
        msg.put_u8(NS_INIT_NET, u8::from(net.is_init_net()))?;
        msg.put_u64(NS_INIT_DURATION_NS, init_duration_ns, NS_PAD)
    });
}

/// Announces that `net`'s state was torn down, after `lifetime_ns`, its
/// teardown having taken `exit_duration_ns`.
pub(crate) fn notify_destroyed(net: &Net, lifetime_ns: u64, exit_duration_ns: u64) {
    let _ = FAMILY.notify(Net::init_net(), GROUP_LIFECYCLE, CMD_DESTROY_NTF, |msg| {
        msg.put_u32(NS_INUM, net.inum())?;
        msg.put_u64(NS_COOKIE, net.cookie(), NS_PAD)?;
        msg.put_u64(NS_LIFETIME_NS, lifetime_ns, NS_PAD)?;
        msg.put_u64(NS_EXIT_DURATION_NS, exit_duration_ns, NS_PAD)
    });
}
