// SPDX-License-Identifier: GPL-2.0

//! The state rnetns keeps for each network namespace, and its
//! `/proc/net/rnetns` view.

#![forbid(unsafe_code)]

use crate::{
    counters::{family_name, hook_name, HookCounter, HookSelection},
    ext::{
        net::Net,
        netfilter::{Attach, Family, HookPoint},
        pernet::{self, Operations, PreExit},
        proc::{seq_print, GlobalShow, ProcFile, SeqFile, WriteContext},
        time,
    },
};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{c_str, prelude::*};

/// The `net_generic` id of rnetns's per-namespace state.
static ID: pernet::Id = pernet::Id::new();

/// The `hooks` module parameter: which (family, hook point) pairs each
/// namespace counts.
pub(crate) static HOOKS: HookSelection = HookSelection::all();

/// Totals over the life of the module, shown in `init_net`'s
/// `/proc/net/rnetns_lifecycle` (root only).
pub(crate) struct Lifecycle {
    /// Namespaces set up so far.
    created: AtomicUsize,
    /// Namespaces torn down so far.
    destroyed: AtomicUsize,
}

/// The module's lifecycle totals.
pub(crate) static LIFECYCLE: Lifecycle = Lifecycle {
    created: AtomicUsize::new(0),
    destroyed: AtomicUsize::new(0),
};

/// The `init_net`-only lifecycle file.
pub(crate) const LIFECYCLE_FILE: ProcFile = ProcFile {
    name: c_str!("rnetns_lifecycle"),
    mode: 0o400,
};

impl Lifecycle {
    /// The number of namespaces holding rnetns state now: zero once the
    /// module's registration is gone.
    pub(crate) fn live(&self) -> usize {
        // Read `destroyed` first: a concurrent teardown cannot make it exceed
        // the `created` read after it.
        let destroyed = self.destroyed.load(Ordering::Acquire);
        self.created
            .load(Ordering::Acquire)
            .saturating_sub(destroyed)
    }
}

impl GlobalShow for Lifecycle {
    fn show(&self, m: &SeqFile) -> Result {
        let destroyed = self.destroyed.load(Ordering::Acquire);
        let created = self.created.load(Ordering::Acquire);
        seq_print!(m, "live {}\n", created.saturating_sub(destroyed));
        seq_print!(m, "created {}\n", created);
        seq_print!(m, "destroyed {}\n", destroyed);
        Ok(())
    }
}

/// What rnetns records about one network namespace.
///
/// Created when the namespace is set up (or when the module is loaded, for
/// namespaces that already exist) and dropped when it is torn down. Its
/// identity is immutable; its counters are updated by the packet path
/// without locks (see [`HookCounter`]).
pub(crate) struct NetState {
    /// Inode number of the namespace (`stat -L /proc/self/ns/net`).
    inum: u32,
    /// The namespace's cookie, unique for the life of the system.
    cookie: u64,
    /// When rnetns set the namespace up, in boot-time nanoseconds.
    created_ns: u64,
    /// One counter per selected (family, hook point), attached to that hook.
    counters: KVec<Attach<HookCounter>>,
}

impl Operations for NetState {
    const PROC_FILE: Option<ProcFile> = Some(ProcFile {
        name: c_str!("rnetns"),
        mode: 0o644,
    });

    type Observer = HookCounter;

    fn id() -> &'static pernet::Id {
        &ID
    }

    fn init(net: &Net) -> Result<Self> {
        let mut counters = KVec::new();
        for family in Family::ALL {
            for hook in HookPoint::ALL {
                if HOOKS.contains(family, hook) {
                    let observer = HookCounter::new()?;
                    counters.push(
                        Attach {
                            family,
                            hook,
                            observer,
                        },
                        GFP_KERNEL,
                    )?;
                }
            }
        }
        LIFECYCLE.created.fetch_add(1, Ordering::AcqRel);
        Ok(Self {
            inum: net.inum(),
            cookie: net.cookie(),
            created_ns: time::boottime_ns(),
            counters,
        })
    }

    fn observers(&self) -> &[Attach<HookCounter>] {
        &self.counters
    }

    fn pre_exit(&self, _net: &Net, _token: &PreExit) {}

    fn show(&self, net: &Net, m: &SeqFile) -> Result {
        seq_print!(m, "inum {}\n", self.inum);
        seq_print!(m, "cookie {}\n", self.cookie);
        seq_print!(m, "init_net {}\n", u8::from(net.is_init_net()));
        seq_print!(m, "created_ns {}\n", self.created_ns);
        seq_print!(
            m,
            "age_ms {}\n",
            time::boottime_ns().saturating_sub(self.created_ns) / 1_000_000
        );
        seq_print!(m, "family hook packets bytes\n");
        for c in self.counters.iter() {
            let t = c.observer.read();
            seq_print!(
                m,
                "{} {} {} {}\n",
                family_name(c.family),
                hook_name(c.hook),
                t.packets,
                t.bytes
            );
        }
        Ok(())
    }

    /// `reset` (with or without a trailing newline) zeroes this namespace's
    /// counters; it needs `CAP_NET_ADMIN` over the namespace's owning user
    /// namespace, for the opener and the writer (else `EPERM`). Anything else
    /// fails with `EINVAL` and changes nothing.
    fn write(&self, ctx: &WriteContext<'_>, input: &[u8]) -> Result {
        if !ctx.net_admin_capable() {
            return Err(EPERM);
        }
        let cmd = input.strip_suffix(b"\n").unwrap_or(input);
        if cmd != b"reset" {
            return Err(EINVAL);
        }
        for c in self.counters.iter() {
            c.observer.reset();
        }
        Ok(())
    }
}

impl Drop for NetState {
    fn drop(&mut self) {
        LIFECYCLE.destroyed.fetch_add(1, Ordering::AcqRel);
    }
}
