// SPDX-License-Identifier: GPL-2.0

//! rnetns: per-network-namespace state, shown in each namespace's
//! `/proc/net/rnetns`.
//!
//! The module registers its own `pernet_operations` with a `net_generic` id,
//! so every network namespace, existing or new, gets its own [`NetState`]:
//! its identity and per-CPU packet and byte counters kept by netfilter hooks
//! at each IPv4 and IPv6 hook point of that namespace.
//! Loading sets up every existing namespace; unloading tears all of them
//! down, `init_net` included.
//!
//! Only [`ext`], the abstraction layer, contains `unsafe` code.

use kernel::prelude::*;

mod counters;
mod ext;
mod lifecycle;
mod netlink;
mod netns;
#[cfg(rnetns_kunit_tests)]
mod unit_tests;

use ext::{
    compat::rnetns_module,
    genetlink,
    param::module_param,
    pernet::{pernet_callbacks, Registration},
    proc::NetProcEntry,
};
use netns::{NetState, HOOKS};

rnetns_module! {
    type: Rnetns,
    name: "rnetns",
    author: "rnetns developers",
    description: "Per-network-namespace state and counters, in /proc/net/rnetns",
    license: "GPL",
}

// The pernet callbacks: C entry points (src/ext/entry.c) that ftrace,
// kprobes and fprobes see, rnetns_net_init, rnetns_net_pre_exit and
// rnetns_net_exit, and the Rust functions they call (rnetns_net_init_rust
// and so on, defined here).
pernet_callbacks! {
    static CALLBACKS: Callbacks<NetState> = rnetns_net;
}

module_param!(
    HOOKS,
    counters::HookSelection,
    "hooks",
    0o444,
    "hook points to count: all (default), none, or a comma-separated list of FAMILY[:HOOK] (FAMILY ipv4, ipv6, all; HOOK prerouting, input, forward, output, postrouting, all)"
);

/// The loaded module: the generic netlink family, which owns the pernet
/// registration (every namespace's state), and the `init_net`-only
/// lifecycle file.
struct Rnetns {
    /// `/proc/net/rnetns_lifecycle`, in `init_net`.
    lifecycle: Option<NetProcEntry>,
    /// The `rnetns` genetlink family and, as its data, the pernet
    /// operations: unregistered before them.
    netlink: Option<genetlink::Registration<netlink::Data>>,
}

impl kernel::Module for Rnetns {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let pernet = Registration::register(&CALLBACKS).inspect_err(|e| {
            pr_err!(
                "failed to set up the existing network namespaces (errno {}); nothing is left registered\n",
                e.to_errno()
            );
        })?;
        let netlink = kernel::sync::Arc::new(pernet, GFP_KERNEL)
            .map_err(Error::from)
            .and_then(|pernet| netlink::FAMILY.register(module, pernet))
            .inspect_err(|e| {
                pr_err!(
                    "cannot register the rnetns generic netlink family (errno {})\n",
                    e.to_errno()
                )
            })?;
        let lifecycle =
            NetProcEntry::create_global(lifecycle::LIFECYCLE_FILE, &lifecycle::LIFECYCLE)
                .inspect_err(|e| {
                    pr_err!(
                        "cannot create /proc/net/rnetns_lifecycle (errno {})\n",
                        e.to_errno()
                    )
                })?;
        pr_info!(
            "loaded; serving {} network namespaces\n",
            lifecycle::LIFECYCLE.live()
        );
        Ok(Self {
            lifecycle: Some(lifecycle),
            netlink: Some(netlink),
        })
    }
}

impl Drop for Rnetns {
    fn drop(&mut self) {
        pr_info!(
            "unloading; tearing down {} network namespaces\n",
            lifecycle::LIFECYCLE.live()
        );
        drop(self.lifecycle.take());
        drop(self.netlink.take());
        let left = lifecycle::LIFECYCLE.live();
        if left == 0 {
            pr_info!("unloaded; no namespace holds rnetns state\n");
        } else {
            pr_err!(
                "unloaded, but {} namespaces still hold rnetns state\n",
                left
            );
        }
    }
}
