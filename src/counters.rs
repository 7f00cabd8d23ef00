// SPDX-License-Identifier: GPL-2.0

//! Packet-path counters: which hook points are counted (the `hooks` module
//! parameter) and the per-hook counter each namespace keeps.

#![forbid(unsafe_code)]

use crate::ext::{
    netfilter::{Family, HookPoint, SkBuff},
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

/// The bit of a (family, hook point) pair in a [`HookSelection`].
fn bit(f: Family, h: HookPoint) -> u32 {
    let fi = Family::ALL.iter().position(|x| *x == f).unwrap_or(0);
    let hi = HookPoint::ALL.iter().position(|x| *x == h).unwrap_or(0);
    1 << (fi * HookPoint::ALL.len() + hi)
}

/// Every (family, hook point) pair.
const ALL_BITS: u32 = (1 << (Family::ALL.len() * HookPoint::ALL.len())) - 1;

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
        Self(AtomicU32::new(ALL_BITS))
    }

    /// The selected pairs, families first then hook points, in display
    /// order. A pair's position in it is its counter's index.
    pub(crate) fn points(&self) -> impl Iterator<Item = (Family, HookPoint)> {
        let bits = self.0.load(Ordering::Relaxed);
        Family::ALL
            .into_iter()
            .flat_map(|f| HookPoint::ALL.into_iter().map(move |h| (f, h)))
            .filter(move |(f, h)| bits & bit(*f, *h) != 0)
    }

    /// How many pairs are selected.
    pub(crate) fn len(&self) -> usize {
        self.0.load(Ordering::Relaxed).count_ones() as usize
    }

    /// Parses a `hooks=` value into selection bits, or returns the item
    /// that is not understood.
    fn parse(value: &[u8]) -> core::result::Result<u32, &[u8]> {
        if value == b"none" {
            return Ok(0);
        }
        let mut bits = 0;
        for item in value.split(|c| *c == b',') {
            let (fam, hook) = match item.iter().position(|c| *c == b':') {
                Some(i) => (&item[..i], Some(&item[i + 1..])),
                None => (item, None),
            };
            let families = match fam {
                b"ipv4" => bit_row(Family::Ipv4),
                b"ipv6" => bit_row(Family::Ipv6),
                b"all" => ALL_BITS,
                _ => return Err(item),
            };
            let hooks = match hook {
                None | Some(b"all") => ALL_BITS,
                Some(name) => HookPoint::ALL
                    .iter()
                    .find(|h| hook_name(**h).as_bytes() == name)
                    .map(|h| Family::ALL.iter().fold(0, |acc, f| acc | bit(*f, *h)))
                    .ok_or(item)?,
            };
            bits |= families & hooks;
        }
        Ok(bits)
    }
}

/// The bits of every hook point of `f`.
fn bit_row(f: Family) -> u32 {
    HookPoint::ALL.iter().fold(0, |acc, h| acc | bit(f, *h))
}

impl Param for HookSelection {
    fn set(&self, value: &[u8]) -> Result {
        match Self::parse(value) {
            Ok(bits) => {
                self.0.store(bits, Ordering::Relaxed);
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
        let bits = self.0.load(Ordering::Relaxed);
        if bits == ALL_BITS {
            return out.write_str("all");
        }
        if bits == 0 {
            return out.write_str("none");
        }
        let mut sep = "";
        for f in Family::ALL {
            for h in HookPoint::ALL {
                if bits & bit(f, h) != 0 {
                    write!(out, "{}{}:{}", sep, family_name(f), hook_name(h))?;
                    sep = ",";
                }
            }
        }
        Ok(())
    }
}

/// Shows untrusted bytes in a log line: printable ASCII as is, the rest as
/// `\xNN`, at most 64 bytes.
struct Printable<'a>(&'a [u8]);

impl fmt::Display for Printable<'_> {
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

/// The packets and bytes one namespace sees at each counted hook point.
///
/// The packet path adds to one per-CPU block (a packets + bytes pair per
/// hook point) without locks. Readers fold it; a reset never writes the
/// per-CPU copies (that would race with the packet path) but records the
/// folded totals as baselines, which readers subtract.
///
/// # Locking
///
/// The packet path takes no lock. One mutex per namespace serialises resets
/// and reads, so that concurrent resets cannot mix their packet and byte
/// baselines and a reader sees every row either before or after a reset.
#[pin_data]
pub(crate) struct Counters {
    /// How many hook points are counted.
    len: usize,
    /// What the packet path adds to: `len` pairs per CPU.
    pcpu: PerCpuCounters,
    /// The folded totals at the last reset: empty until the first reset,
    /// which allocates them (most namespaces are never reset).
    #[pin]
    baselines: Mutex<KVec<Totals>>,
}

impl Counters {
    /// Zeroed counters for `n` hook points. May sleep.
    pub(crate) fn new(n: usize) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            len: n,
            pcpu: PerCpuCounters::new(n)?,
            baselines <- new_mutex!(KVec::new(), "rnetns_baselines"),
        })
    }

    /// Counts one packet at hook point `index`. Any context, no lock.
    #[inline(always)]
    pub(crate) fn count(&self, index: usize, skb: &SkBuff) {
        self.pcpu.add(index, u64::from(skb.len()));
    }

    /// Calls `f` with each counter's totals since the last reset, in index
    /// order. Sleeps on the mutex.
    pub(crate) fn read(&self, mut f: impl FnMut(Totals)) {
        let base = self.baselines.lock();
        for i in 0..self.len {
            let now = self.pcpu.fold(i);
            let b = base.get(i).copied().unwrap_or_default();
            // Per-CPU counts only grow and `b` was folded earlier, so this
            // does not underflow; saturate all the same.
            f(Totals {
                packets: now.packets.saturating_sub(b.packets),
                bytes: now.bytes.saturating_sub(b.bytes),
            });
        }
    }

    /// Makes every counter start again from zero. Sleeps on the mutex; the
    /// first reset allocates the baselines and fails with `ENOMEM`,
    /// changing nothing, if it cannot.
    pub(crate) fn reset(&self) -> Result {
        let mut base = self.baselines.lock();
        if base.len() < self.len {
            *base = KVec::from_elem(Totals::default(), self.len, GFP_KERNEL)?;
        }
        for (i, b) in base.iter_mut().enumerate() {
            *b = self.pcpu.fold(i);
        }
        Ok(())
    }
}
