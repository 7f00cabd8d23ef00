// SPDX-License-Identifier: GPL-2.0

//! The state rnetns keeps for each network namespace, and its
//! `/proc/net/rnetns` view.

#![forbid(unsafe_code)]

use crate::{
    counters::{family_name, hook_name, Counters, HookSelection},
    ext::{
        compat,
        genetlink::Msg,
        net::Net,
        netfilter::{point, HookOps, HookSet, HookStatus, NetHooks, Observe, SkBuff},
        percpu::Totals,
        pernet::{self, Operations, PreExit, StateFile, WithFile, WithHooks},
        proc::{seq_print, ProcFile, SeqFile, WriteContext},
        time, trace,
    },
    lifecycle::{Live, LIFECYCLE},
    netlink,
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{c_str, prelude::*};

/// The `net_generic` id of rnetns's per-namespace state.
static ID: pernet::Id = pernet::Id::new();

/// The `hooks` module parameter: which (family, hook point) pairs each
/// namespace counts.
pub(crate) static HOOKS: HookSelection = HookSelection::all();

/// The netfilter hook ops of every namespace's state.
static HOOK_OPS: HookOps<NetState> = HookOps::new();

/// What rnetns records about one network namespace.
///
/// Created in place in the namespace's `net_generic` slot when the namespace
/// is set up (or when the module is loaded, for namespaces that already
/// exist) and dropped when it is torn down. Its identity is immutable; its
/// counters are updated by the packet path without locks, and reading and
/// resetting them takes the namespace's counter mutex (see [`Counters`]).
#[pin_data]
pub(crate) struct NetState {
    /// Inode number of the namespace (`stat -L /proc/self/ns/net`).
    inum: u32,
    /// The namespace's cookie, unique for the life of the system.
    cookie: u64,
    /// When rnetns set the namespace up, in boot-time nanoseconds.
    created_ns: u64,
    /// When rnetns set the namespace up, on the monotonic clock (ns).
    created_mono_ns: u64,
    /// A counter per (family, hook point).
    #[pin]
    counters: Counters,
    /// Counts the state in the lifecycle totals.
    live: Live,
    /// How long the namespace lived, from rnetns's set-up to its
    /// `pre_exit` (0 before): for the `destroy-ntf` notification.
    lifetime_ns: AtomicU64,
}

impl Operations for NetState {
    const ID: &'static pernet::Id = &ID;

    /// The hooks, then the proc file: counting starts before the file can
    /// be opened.
    type Attached = (NetHooks<Self>, StateFile<Self>);

    fn init(net: &Net) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            inum: net.inum(),
            cookie: net.cookie(),
            created_ns: time::boottime_ns(),
            created_mono_ns: time::mono_ns(),
            counters <- Counters::new(),
            live: Live::new(),
            lifetime_ns: AtomicU64::new(0),
        })
    }

    fn pre_exit(&self, _net: &Net, _token: &PreExit) {
        let lifetime = time::mono_ns().saturating_sub(self.created_mono_ns);
        LIFECYCLE.lifetime_ns.record(lifetime);
        self.lifetime_ns.store(lifetime, Ordering::Relaxed);
        trace::net_pre_exit(self.inum, self.cookie, lifetime);
    }

    /// Announces the teardown to the family's `lifecycle` listeners.
    fn exit(&self, net: &Net, elapsed_ns: u64) {
        netlink::notify_destroyed(net, self.lifetime_ns.load(Ordering::Relaxed), elapsed_ns);
    }

    fn init_done(net: &Net, result: &Result, duration_ns: u64) {
        LIFECYCLE.init_ns.record(duration_ns);
        let errno = match result {
            Ok(()) => {
                netlink::notify_created(net, duration_ns);
                0
            }
            Err(e) => {
                LIFECYCLE.init_failed.fetch_add(1, Ordering::Relaxed);
                e.to_errno()
            }
        };
        trace::net_init(net.inum(), net.cookie(), duration_ns, errno);
    }

    fn exit_done(net: &Net, duration_ns: u64) {
        LIFECYCLE.exit_ns.record(duration_ns);
        trace::net_exit(net.inum(), net.cookie(), duration_ns);
    }
}

impl Observe for NetState {
    const HOOK_OPS: &'static HookOps<Self> = &HOOK_OPS;

    #[inline(always)]
    fn observe(&self, index: usize, skb: &SkBuff) {
        self.counters.count(index, skb);
    }
}

impl WithHooks for NetState {
    /// The `hooks` module parameter (read-only once loaded); a write of
    /// `hooks=` changes what is counted afterwards.
    fn hook_set(&self) -> HookSet {
        HOOKS.get()
    }

    /// Says once, in the kernel log, which hook points of the namespace
    /// netfilter refused, and why: the proc file's `refused` line says it
    /// too, for as long as it holds.
    fn refused(&self, _net: &Net, status: &HookStatus) {
        pr_warn!(
            "namespace {}: netfilter refused the hooks at {}; counting at {}; a write of hooks= to its /proc/net/rnetns tries again\n",
            self.inum,
            Refused(status),
            Hooks(status.registered())
        );
    }
}

impl WithFile for NetState {
    const FILE: ProcFile = ProcFile {
        name: c_str!("rnetns"),
        mode: 0o644,
    };

    /// Fails with `EAGAIN` while the namespace is being set up (the module
    /// is loading) and with `ENODEV` once its teardown has begun.
    fn show(&self, net: &Net, attached: Result<&Self::Attached>, m: &SeqFile) -> Result {
        let status = attached?.0.status();
        let counted = status.registered();
        seq_print!(m, "inum {}\n", self.inum);
        seq_print!(m, "cookie {}\n", self.cookie);
        seq_print!(m, "init_net {}\n", u8::from(net.is_init_net()));
        seq_print!(m, "created_ns {}\n", self.created_ns);
        seq_print!(
            m,
            "age_ms {}\n",
            time::boottime_ns().saturating_sub(self.created_ns) / 1_000_000
        );
        seq_print!(m, "hooks {}\n", Hooks(counted));
        seq_print!(m, "refused {}\n", Refused(&status));
        seq_print!(m, "family hook packets bytes\n");
        self.counters.read(counted, |index, totals| {
            seq_print!(m, "{}\n", Row { index, totals });
        });
        Ok(())
    }

    /// A [`Command`] (with or without a trailing newline): `reset` zeroes
    /// this namespace's counters, `hooks=SELECTION` makes SELECTION the
    /// hook points counted (registering and unregistering hooks, and trying
    /// the refused ones again). Both need `CAP_NET_ADMIN` over the
    /// namespace's owning user namespace, for the opener and the writer
    /// (else `EPERM`). Then, whatever the input, a write fails with
    /// `EAGAIN` while the namespace is being set up (the module is loading)
    /// and with `ENODEV` once its teardown has begun. Anything else fails
    /// with `EINVAL`. A write is all or nothing: when netfilter refuses a
    /// hook point of a `hooks=` (`E2BIG` when its table is full), the write
    /// fails with that error and what is counted stays as it was. Every
    /// write is traced (`rnetns_write`) with its result.
    fn write(
        &self,
        ctx: &WriteContext<'_>,
        attached: Result<&Self::Attached>,
        input: &[u8],
    ) -> Result {
        let result = if !ctx.net_admin_capable() {
            Err(EPERM)
        } else {
            attached.and_then(|attached| {
                Command::parse(input).and_then(|cmd| match cmd {
                    Command::Reset => self.counters.reset(),
                    Command::Hooks(set) => attached.0.set(set),
                })
            })
        };
        trace::write(
            self.inum,
            self.cookie,
            result.as_ref().map_or_else(|e| e.to_errno(), |()| 0),
        );
        result
    }
}

/// A command written to `/proc/net/rnetns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `reset`: zero the namespace's counters.
    Reset,
    /// `hooks=SELECTION`: count at these hook points (the syntax of the
    /// `hooks` module parameter, see [`HookSelection`]).
    Hooks(HookSet),
}

impl Command {
    /// Parses the buffer of one `write(2)`: a command with or without a
    /// trailing newline. Anything else is `EINVAL`.
    pub(crate) fn parse(input: &[u8]) -> Result<Self> {
        let line = input.strip_suffix(b"\n").unwrap_or(input);
        if line == b"reset" {
            return Ok(Command::Reset);
        }
        match line.strip_prefix(b"hooks=") {
            Some(value) => HookSelection::parse(value)
                .map(Command::Hooks)
                .map_err(|_| EINVAL),
            None => Err(EINVAL),
        }
    }
}

/// A hook set in `hooks=` syntax.
struct Hooks(HookSet);

impl compat::Display for Hooks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        HookSelection::format(self.0, f)
    }
}

/// The hook points netfilter refused, for the `refused` line and the log:
/// `none`, or a comma-separated list of `FAMILY:HOOK=ERRNO` (`ERRNO` the
/// error's name, such as `E2BIG`).
struct Refused<'a>(&'a HookStatus);

impl compat::Display for Refused<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut sep = "";
        for (_, family, hook, e) in self.0.refused() {
            write!(f, "{}{}:{}=", sep, family_name(family), hook_name(hook))?;
            compat::Display::fmt(&ErrnoName(e), f)?;
            sep = ",";
        }
        if sep.is_empty() {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The name of an errno, as `errno(3)` and `<errno.h>` spell it, for the
/// errors netfilter returns when it refuses a hook (and a few more), else
/// its negative number. (The kernel's `errname()` needs
/// `CONFIG_SYMBOLIC_ERRNAME`, which kernels may not have.)
pub(crate) struct ErrnoName(pub(crate) Error);

impl compat::Display for ErrnoName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let known = [
            (E2BIG, "E2BIG"),
            (ENOMEM, "ENOMEM"),
            (EBUSY, "EBUSY"),
            (EEXIST, "EEXIST"),
            (EINVAL, "EINVAL"),
            (ENOENT, "ENOENT"),
            (EPERM, "EPERM"),
            (ENODEV, "ENODEV"),
            (ENOSPC, "ENOSPC"),
            (EAGAIN, "EAGAIN"),
        ];
        match known.iter().find(|(e, _)| *e == self.0) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "{}", self.0.to_errno()),
        }
    }
}

/// One line of the counter table: `FAMILY HOOK PACKETS BYTES`.
pub(crate) struct Row {
    /// The (family, hook point) index.
    pub(crate) index: usize,
    /// Its totals since the last reset.
    pub(crate) totals: Totals,
}

impl compat::Display for Row {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (family, hook) = point(self.index);
        write!(
            f,
            "{} {} {} {}",
            family_name(family),
            hook_name(hook),
            self.totals.packets,
            self.totals.bytes
        )
    }
}

impl NetState {
    /// Puts this namespace's `ns` attributes (netlink/rnetns.yaml) in a
    /// `get` reply or dump message: identity, hook points, a `counter` nest
    /// per counted hook point, a `refused` nest per refused one. Sleeps on
    /// the hooks' and the counters' mutexes.
    pub(crate) fn put_ns(
        &self,
        net: &Net,
        attached: &<Self as Operations>::Attached,
        msg: &mut Msg<'_>,
    ) -> Result {
        let status = attached.0.status();
        let counted = status.registered();
        msg.put_u32(netlink::NS_INUM, self.inum)?;
        msg.put_u64(netlink::NS_COOKIE, self.cookie, netlink::NS_PAD)?;
        msg.put_u8(netlink::NS_INIT_NET, u8::from(net.is_init_net()))?;
        msg.put_u64(netlink::NS_CREATED_NS, self.created_ns, netlink::NS_PAD)?;
        msg.put_u32(netlink::NS_HOOKS, counted.bits())?;
        let mut r = Ok(());
        self.counters.read(counted, |index, totals| {
            if r.is_ok() {
                let (family, hook) = point(index);
                r = msg.nest(netlink::NS_COUNTER, |m| {
                    m.put_u32(netlink::COUNTER_FAMILY, family as u32)?;
                    m.put_u32(netlink::COUNTER_HOOK, hook as u32)?;
                    m.put_uint(netlink::COUNTER_PACKETS, totals.packets)?;
                    m.put_uint(netlink::COUNTER_BYTES, totals.bytes)
                });
            }
        });
        r?;
        for (_, family, hook, e) in status.refused() {
            msg.nest(netlink::NS_REFUSED, |m| {
                m.put_u32(netlink::REFUSED_FAMILY, family as u32)?;
                m.put_u32(netlink::REFUSED_HOOK, hook as u32)?;
                m.put_u32(netlink::REFUSED_ERROR, e.to_errno().unsigned_abs())
            })?;
        }
        Ok(())
    }

    /// A netlink `set`: `reset` and/or a new hook selection, all or
    /// nothing (the reset's memory first, then the hooks, then the reset,
    /// which cannot fail then). Traced as a proc write is. Sleeps.
    pub(crate) fn set(
        &self,
        attached: &<Self as Operations>::Attached,
        reset: bool,
        hooks: Option<HookSet>,
    ) -> Result {
        let result = (|| -> Result {
            if reset {
                self.counters.prepare_reset()?;
            }
            if let Some(set) = hooks {
                attached.0.set(set)?;
            }
            if reset {
                self.counters.reset()?;
            }
            Ok(())
        })();
        trace::write(
            self.inum,
            self.cookie,
            result.as_ref().map_or_else(|e| e.to_errno(), |()| 0),
        );
        result
    }
}
