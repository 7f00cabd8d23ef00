// SPDX-License-Identifier: GPL-2.0

//! Rust per-network-namespace sample.
//!
//! Each network namespace counts the packets it delivers locally (IPv4 and
//! IPv6) in its own state, and shows the count in its own
//! `/proc/net/rust_pernet`.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    c_str,
    net::{
        namespace::Net,
        netfilter::{Family, HookOps, HookPoint, HookSet, NetHooks, Observe, SkBuff},
        pernet::{self, Callbacks, Operations, Registration, StateFile, WithFile, WithHooks},
    },
    prelude::*,
    proc::{ProcFile, SeqFile},
    seq_print,
};

module! {
    type: RustPernet,
    name: "rust_pernet",
    authors: ["Rust for Linux Contributors"],
    description: "Rust per-network-namespace sample",
    license: "GPL",
}

/// The `net_generic` id of the per-namespace state.
static ID: pernet::Id = pernet::Id::new();

/// The netfilter hook ops of every namespace.
static HOOK_OPS: HookOps<NetCount> = HookOps::new();

/// The pernet callbacks of the state.
static CALLBACKS: Callbacks<NetCount> = Callbacks::DIRECT;

/// The state of one namespace.
#[pin_data]
struct NetCount {
    /// The namespace's inode number.
    inum: u32,
    /// Packets delivered locally.
    packets: AtomicU64,
    /// Their bytes.
    bytes: AtomicU64,
}

impl Operations for NetCount {
    const ID: &'static pernet::Id = &ID;

    /// Count from before the file can be opened.
    type Attached = (NetHooks<Self>, StateFile<Self>);

    fn init(net: &Net) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            inum: net.inum(),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }
}

impl Observe for NetCount {
    const HOOK_OPS: &'static HookOps<Self> = &HOOK_OPS;

    fn observe(&self, _index: usize, skb: &SkBuff) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(skb.len().into(), Ordering::Relaxed);
    }
}

impl WithHooks for NetCount {
    fn hook_set(&self) -> HookSet {
        HookSet::of(Family::Ipv4, HookPoint::LocalIn) | HookSet::of(Family::Ipv6, HookPoint::LocalIn)
    }
}

impl WithFile for NetCount {
    const FILE: ProcFile = ProcFile {
        name: c_str!("rust_pernet"),
        mode: 0o444,
    };

    fn show(&self, _net: &Net, attached: Result<&Self::Attached>, m: &SeqFile) -> Result {
        let hooks = attached?.0.status().registered();
        seq_print!(
            m,
            "inum {}\nhooks {:#x}\npackets {}\nbytes {}\n",
            self.inum,
            hooks.bits(),
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed)
        );
        Ok(())
    }
}

struct RustPernet {
    _registration: Registration<NetCount>,
}

impl kernel::Module for RustPernet {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("Rust per-network-namespace sample (init)\n");
        Ok(Self {
            _registration: Registration::register(&CALLBACKS)?,
        })
    }
}

impl Drop for RustPernet {
    fn drop(&mut self) {
        pr_info!("Rust per-network-namespace sample (exit)\n");
    }
}
