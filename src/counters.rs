// SPDX-License-Identifier: GPL-2.0

//! Packet-path counters: which hook points are counted (the `hooks` module
//! parameter) and the per-hook counter each namespace keeps.

#![forbid(unsafe_code)]

use crate::ext::{
    netfilter::{Family, HookPoint, Observer, SkBuff},
    param::Param,
    percpu::{PerCpuCounter, Totals},
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

    /// Whether `(f, h)` is selected.
    pub(crate) fn contains(&self, f: Family, h: HookPoint) -> bool {
        self.0.load(Ordering::Relaxed) & bit(f, h) != 0
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

/// The packets and bytes one namespace sees at one hook point: a per-CPU
/// counter the packet path adds to, without locks. Readers fold it;
/// [`Baselines`] turns the folded totals into totals since the last reset.
pub(crate) struct HookCounter {
    /// What the packet path adds to.
    pcpu: PerCpuCounter,
}

impl HookCounter {
    /// A zeroed counter. May sleep.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            pcpu: PerCpuCounter::new()?,
        })
    }
}

impl Observer for HookCounter {
    #[inline(always)]
    fn observe(&self, skb: &SkBuff) {
        self.pcpu.add(u64::from(skb.len()));
    }
}

/// The folded totals of each of a namespace's counters at its last reset.
///
/// A reset never writes the per-CPU copies (that would race with the packet
/// path): it records the folded totals here, and readers subtract them.
///
/// # Locking
///
/// One mutex per namespace serialises resets and reads, so that concurrent
/// resets cannot mix their packet and byte baselines and a reader sees every
/// row either before or after a reset. The packet path never takes it.
pub(crate) struct Baselines(Pin<KBox<Mutex<KVec<Totals>>>>);

impl Baselines {
    /// Zero baselines for `n` counters. May sleep.
    pub(crate) fn new(n: usize) -> Result<Self> {
        let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            v.push(Totals::default(), GFP_KERNEL)?;
        }
        Ok(Self(KBox::pin_init(
            new_mutex!(v, "rnetns_baselines"),
            GFP_KERNEL,
        )?))
    }

    /// Calls `f` with each counter's totals since the last reset. Sleeps on
    /// the mutex.
    pub(crate) fn read<'a>(
        &self,
        counters: impl Iterator<Item = &'a HookCounter>,
        mut f: impl FnMut(usize, Totals),
    ) {
        let base = self.0.lock();
        for (i, (c, b)) in counters.zip(base.iter()).enumerate() {
            let now = c.pcpu.fold();
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

    /// Makes every counter start again from zero. Sleeps on the mutex.
    pub(crate) fn reset<'a>(&self, counters: impl Iterator<Item = &'a HookCounter>) {
        let mut base = self.0.lock();
        for (c, b) in counters.zip(base.iter_mut()) {
            *b = c.pcpu.fold();
        }
    }
}
