// SPDX-License-Identifier: GPL-2.0

//! Lifecycle statistics over every namespace rnetns has served since it was
//! loaded: totals and log2 histograms of how long rnetns's init and exit
//! take and how long namespaces live. Shown in `init_net`'s
//! `/proc/net/rnetns_lifecycle` (root only): aggregates only, nothing that
//! identifies a namespace.

#![forbid(unsafe_code)]

use crate::ext::proc::{seq_print, GlobalShow, ProcFile, SeqFile};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{c_str, prelude::*};

/// The `init_net`-only lifecycle file.
pub(crate) const LIFECYCLE_FILE: ProcFile = ProcFile {
    name: c_str!("rnetns_lifecycle"),
    mode: 0o400,
};

/// Number of buckets of a [`Log2Histogram`]: one for 0 and one per bit.
const BUCKETS: usize = 65;

/// A histogram of `u64` values in power-of-two buckets: bucket 0 counts the
/// value 0, bucket `k` the values in `[2^(k-1), 2^k)`. Lock-free; callable
/// from any context.
pub(crate) struct Log2Histogram([AtomicU64; BUCKETS]);

impl Log2Histogram {
    /// An empty histogram.
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; BUCKETS])
    }

    /// Counts `value`.
    pub(crate) fn record(&self, value: u64) {
        let k = (u64::BITS - value.leading_zeros()) as usize;
        self.0[k].fetch_add(1, Ordering::Relaxed);
    }

    /// Shows the non-empty buckets as `NAME LOW HIGH COUNT` lines (values
    /// in `[LOW, HIGH)`).
    fn show(&self, m: &SeqFile, name: &str) {
        for (k, b) in self.0.iter().enumerate() {
            let n = b.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let (low, high) = match k {
                0 => (0, 1),
                64 => (1u64 << 63, u64::MAX),
                _ => (1u64 << (k - 1), 1u64 << k),
            };
            seq_print!(m, "{} {} {} {}\n", name, low, high, n);
        }
    }
}

/// Totals and histograms over the life of the module.
pub(crate) struct Lifecycle {
    /// Namespace states set up so far.
    pub(crate) created: AtomicU64,
    /// Namespace states torn down so far.
    pub(crate) destroyed: AtomicU64,
    /// Inits that failed (the namespace creation or the load failed).
    pub(crate) init_failed: AtomicU64,
    /// How long rnetns's whole pernet init took, in ns.
    pub(crate) init_ns: Log2Histogram,
    /// How long rnetns's whole pernet exit took, in ns.
    pub(crate) exit_ns: Log2Histogram,
    /// How long namespaces lived: from rnetns's init to their pre_exit, ns.
    pub(crate) lifetime_ns: Log2Histogram,
}

/// The module's lifecycle statistics.
pub(crate) static LIFECYCLE: Lifecycle = Lifecycle {
    created: AtomicU64::new(0),
    destroyed: AtomicU64::new(0),
    init_failed: AtomicU64::new(0),
    init_ns: Log2Histogram::new(),
    exit_ns: Log2Histogram::new(),
    lifetime_ns: Log2Histogram::new(),
};

impl Lifecycle {
    /// The number of namespaces holding rnetns state now: zero once the
    /// module's registration is gone.
    pub(crate) fn live(&self) -> u64 {
        // Read `destroyed` first: a concurrent teardown cannot make it exceed
        // the `created` read after it.
        let destroyed = self.destroyed.load(Ordering::Acquire);
        self.created
            .load(Ordering::Acquire)
            .saturating_sub(destroyed)
    }
}

/// Counts one namespace state in [`LIFECYCLE`]: `created` when made,
/// `destroyed` when dropped. A member of the state, so that the two counts
/// stay balanced whatever path the state takes (including a failed init
/// that drops it before it is published).
pub(crate) struct Live(());

impl Live {
    /// Counts a new state.
    pub(crate) fn new() -> Self {
        LIFECYCLE.created.fetch_add(1, Ordering::AcqRel);
        Self(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIFECYCLE.destroyed.fetch_add(1, Ordering::AcqRel);
    }
}

impl GlobalShow for Lifecycle {
    fn show(&self, m: &SeqFile) -> Result {
        let destroyed = self.destroyed.load(Ordering::Acquire);
        let created = self.created.load(Ordering::Acquire);
        seq_print!(m, "live {}\n", created.saturating_sub(destroyed));
        seq_print!(m, "created {}\n", created);
        seq_print!(m, "destroyed {}\n", destroyed);
        seq_print!(
            m,
            "init_failed {}\n",
            self.init_failed.load(Ordering::Relaxed)
        );
        seq_print!(m, "histogram low_ns high_ns count\n");
        self.init_ns.show(m, "init_ns");
        self.exit_ns.show(m, "exit_ns");
        self.lifetime_ns.show(m, "lifetime_ns");
        Ok(())
    }
}
