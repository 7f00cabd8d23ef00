// SPDX-License-Identifier: GPL-2.0

//! Packet-path counters: which hook points are counted (the `hooks` module
//! parameter) and the per-hook counter each namespace keeps.

#![forbid(unsafe_code)]

use crate::ext::{
    compat,
    netfilter::{Family, HookPoint, HookSet, SkBuff, POINTS},
    param::Param,
    percpu::{PerCpuCounters, Totals},
};
use core::{
    fmt::{self, Write},
    sync::atomic::{AtomicU32, Ordering},
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// Display name of a family, as used in `/proc/net/rnetns` and `hooks=`.
pub(crate) fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

/// Display name of a hook point (nftables' names), as used in
/// `/proc/net/rnetns` and `hooks=`.
pub(crate) fn hook_name(h: HookPoint) -> &'static str {
    match h {
        HookPoint::PreRouting => "prerouting",
        HookPoint::LocalIn => "input",
        HookPoint::Forward => "forward",
        HookPoint::LocalOut => "output",
        HookPoint::PostRouting => "postrouting",
    }
}

/// The (family, hook point) pairs that get counted: the `hooks` module
/// parameter, fixed once the module is loaded.
///
/// Syntax: `all` (the default), `none`, or a comma-separated list of
/// `FAMILY[:HOOK]`, where `FAMILY` is `ipv4`, `ipv6` or `all` and `HOOK` is
/// `prerouting`, `input`, `forward`, `output`, `postrouting` or `all`.
pub(crate) struct HookSelection(AtomicU32);

impl HookSelection {
    /// The selection of every pair.
    pub(crate) const fn all() -> Self {
        Self(AtomicU32::new(HookSet::ALL.bits()))
    }

    /// The selected pairs.
    pub(crate) fn get(&self) -> HookSet {
        HookSet::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Parses a `hooks=` value, or returns the item that is not understood.
    pub(crate) fn parse(value: &[u8]) -> core::result::Result<HookSet, &[u8]> {
        if value == b"none" {
            return Ok(HookSet::NONE);
        }
        let mut set = HookSet::NONE;
        for item in value.split(|c| *c == b',') {
            let (fam, hook) = match item.iter().position(|c| *c == b':') {
                Some(i) => (&item[..i], Some(&item[i + 1..])),
                None => (item, None),
            };
            let families: &[Family] = match fam {
                b"ipv4" => &[Family::Ipv4],
                b"ipv6" => &[Family::Ipv6],
                b"all" => &Family::ALL,
                _ => return Err(item),
            };
            let hooks: &[HookPoint] = match hook {
                None | Some(b"all") => &HookPoint::ALL,
                Some(name) => HookPoint::ALL
                    .iter()
                    .find(|h| hook_name(**h).as_bytes() == name)
                    .map(core::slice::from_ref)
                    .ok_or(item)?,
            };
            for f in families {
                for h in hooks {
                    set = set | HookSet::of(*f, *h);
                }
            }
        }
        Ok(set)
    }

    /// Writes a set in `hooks=` syntax (`all`, `none`, or the list).
    pub(crate) fn format(set: HookSet, out: &mut dyn Write) -> fmt::Result {
        if set == HookSet::ALL {
            return out.write_str("all");
        }
        if set == HookSet::NONE {
            return out.write_str("none");
        }
        let mut sep = "";
        for (_, f, h) in set.iter() {
            write!(out, "{}{}:{}", sep, family_name(f), hook_name(h))?;
            sep = ",";
        }
        Ok(())
    }
}

impl Param for HookSelection {
    fn set(&self, value: &[u8]) -> Result {
        match Self::parse(value) {
            Ok(set) => {
                self.0.store(set.bits(), Ordering::Relaxed);
                Ok(())
            }
            Err(item) => {
                pr_err!(
                    "hooks={}: invalid item '{}'; expected 'none' or a comma-separated list of FAMILY[:HOOK], FAMILY one of ipv4, ipv6, all, HOOK one of prerouting, input, forward, output, postrouting, all\n",
                    Printable(value),
                    Printable(item)
                );
                Err(EINVAL)
            }
        }
    }

    fn get(&self, out: &mut dyn Write) -> fmt::Result {
        Self::format(self.get(), out)
    }
}

/// Shows untrusted bytes in a log line: printable ASCII as is, the rest as
/// `\xNN`, at most 64 bytes.
pub(crate) struct Printable<'a>(pub(crate) &'a [u8]);

impl compat::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in self.0.iter().take(64) {
            if c.is_ascii_graphic() || c == b' ' {
                f.write_char(char::from(c))?;
            } else {
                write!(f, "\\x{:02x}", c)?;
            }
        }
        if self.0.len() > 64 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// The packets and bytes one namespace sees at each hook point.
///
/// The packet path adds to one per-CPU block (a packets + bytes pair per
/// (family, hook point), by [`HookSet`] index) without locks. Readers fold
/// it; a reset never writes the per-CPU copies (that would race with the
/// packet path) but records the folded totals as baselines, which readers
/// subtract.
///
/// # Locking
///
/// The packet path takes no lock. One mutex per namespace serialises resets
/// and reads, so that concurrent resets cannot mix their packet and byte
/// baselines and a reader sees every row either before or after a reset.
#[pin_data]
pub(crate) struct Counters {
    /// What the packet path adds to: [`POINTS`] pairs per CPU.
    pcpu: PerCpuCounters,
    /// The folded totals at the last reset: empty until the first reset,
    /// which allocates them (most namespaces are never reset).
    #[pin]
    baselines: Mutex<KVec<Totals>>,
}

impl Counters {
    /// Zeroed counters. May sleep.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            pcpu: PerCpuCounters::new(POINTS)?,
            baselines <- new_mutex!(KVec::new(), "rnetns_baselines"),
        })
    }

    /// Counts one packet at the hook point of index `index`. Any context,
    /// no lock.
    #[inline(always)]
    pub(crate) fn count(&self, index: usize, skb: &SkBuff) {
        self.pcpu.add(index, u64::from(skb.len()));
    }

    /// Calls `f` with the index and totals since the last reset of each
    /// counter in `set`, in index order. Sleeps on the mutex.
    pub(crate) fn read(&self, set: HookSet, mut f: impl FnMut(usize, Totals)) {
        let base = self.baselines.lock();
        for (i, _, _) in set.iter() {
            let now = self.pcpu.fold(i);
            let b = base.get(i).copied().unwrap_or_default();
            // Per-CPU counts only grow and `b` was folded earlier, so this
            // does not underflow; saturate all the same.
            f(
                i,
                Totals {
                    packets: now.packets.saturating_sub(b.packets),
                    bytes: now.bytes.saturating_sub(b.bytes),
                },
            );
        }
    }

    /// Allocates what a [`Counters::reset`] needs (the baselines, zero
    /// until the first reset), so that a reset that follows cannot fail:
    /// `ENOMEM` if it cannot, changing nothing a reader sees. Sleeps on
    /// the mutex.
    pub(crate) fn prepare_reset(&self) -> Result {
        let mut base = self.baselines.lock();
        if base.len() < POINTS {
            *base = KVec::from_elem(Totals::default(), POINTS, GFP_KERNEL_ACCOUNT)?;
        }
        Ok(())
    }

    /// Makes every counter start again from zero. Sleeps on the mutex; the
    /// first reset allocates the baselines (charged to the writer's memory
    /// cgroup) and fails with `ENOMEM`, changing nothing, if it cannot.
    pub(crate) fn reset(&self) -> Result {
        let mut base = self.baselines.lock();
        if base.len() < POINTS {
            *base = KVec::from_elem(Totals::default(), POINTS, GFP_KERNEL_ACCOUNT)?;
        }
        for (i, b) in base.iter_mut().enumerate() {
            *b = self.pcpu.fold(i);
        }
        Ok(())
    }
}
