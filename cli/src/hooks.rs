//! Families, hook points and hook selections, in the words of the proc file
//! and the `hooks=` parameter (`none`, `all`, or `FAMILY[:HOOK],...`), and as
//! the family's `hook-set` bits (bit `family * 5 + hook`).

use serde::{Serialize, Serializer};
use std::fmt;

/// A protocol family (the spec's `family` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// A hook point (the spec's `hook` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Family {
    /// Both, in the enum's order.
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family of the enum value `i`.
    pub fn from_index(i: u64) -> Option<Family> {
        Self::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// Its name, as the proc file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

impl Hook {
    /// All five, in the enum's order.
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    /// The hook point of the enum value `i`.
    pub fn from_index(i: u64) -> Option<Hook> {
        Self::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// Its name, as the proc file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }
}

impl Serialize for Family {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for Hook {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A set of (family, hook point) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HookSet(u32);

/// The message of an invalid selection: the module's own words.
pub const EXPECTED: &str =
    "expected 'none' or a comma-separated list of FAMILY[:HOOK], FAMILY one of ipv4, ipv6, \
all, HOOK one of prerouting, input, forward, output, postrouting, all";

impl HookSet {
    /// Every hook point of both families.
    pub const ALL: HookSet = HookSet((1 << 10) - 1);
    /// No hook point.
    pub const NONE: HookSet = HookSet(0);

    /// The set of these `hook-set` bits, if every bit is known.
    pub fn from_bits(bits: u32) -> Option<HookSet> {
        (bits & !Self::ALL.0 == 0).then_some(HookSet(bits))
    }

    /// Its `hook-set` bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set of one pair.
    pub fn of(f: Family, h: Hook) -> HookSet {
        HookSet(1 << (f as u32 * 5 + h as u32))
    }

    /// Whether the pair is in the set.
    pub fn contains(self, f: Family, h: Hook) -> bool {
        self.0 & Self::of(f, h).0 != 0
    }

    /// Its pairs, in bit order.
    pub fn iter(self) -> impl Iterator<Item = (Family, Hook)> {
        Family::ALL
            .into_iter()
            .flat_map(|f| Hook::ALL.into_iter().map(move |h| (f, h)))
            .filter(move |(f, h)| self.contains(*f, *h))
    }

    /// Parses a selection as `hooks=` takes it; the error names the first
    /// invalid item.
    pub fn parse(value: &str) -> Result<HookSet, String> {
        if value == "none" {
            return Ok(HookSet::NONE);
        }
        let mut set = HookSet::NONE;
        for item in value.split(',') {
            let (fam, hook) = match item.split_once(':') {
                Some((f, h)) => (f, Some(h)),
                None => (item, None),
            };
            let families: &[Family] = match fam {
                "ipv4" => &[Family::Ipv4],
                "ipv6" => &[Family::Ipv6],
                "all" => &Family::ALL,
                _ => return Err(format!("invalid item '{item}'; {EXPECTED}")),
            };
            let hooks: Vec<Hook> = match hook {
                None | Some("all") => Hook::ALL.to_vec(),
                Some(name) => match Hook::ALL.iter().find(|h| h.name() == name) {
                    Some(h) => vec![*h],
                    None => return Err(format!("invalid item '{item}'; {EXPECTED}")),
                },
            };
            for f in families {
                for h in &hooks {
                    set.0 |= Self::of(*f, *h).0;
                }
            }
        }
        Ok(set)
    }
}

impl fmt::Display for HookSet {
    /// `all`, `none`, or the pairs as `family:hook` in bit order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == HookSet::ALL {
            return f.write_str("all");
        }
        if *self == HookSet::NONE {
            return f.write_str("none");
        }
        let mut sep = "";
        for (fam, h) in self.iter() {
            write!(f, "{sep}{}:{}", fam.name(), h.name())?;
            sep = ",";
        }
        Ok(())
    }
}

impl Serialize for HookSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_the_module_does() {
        assert_eq!(HookSet::parse("none").unwrap(), HookSet::NONE);
        assert_eq!(HookSet::parse("all").unwrap(), HookSet::ALL);
        assert_eq!(HookSet::parse("all:all").unwrap(), HookSet::ALL);
        assert_eq!(HookSet::parse("ipv4,ipv6").unwrap(), HookSet::ALL);
        assert_eq!(HookSet::parse("ipv4:input").unwrap().bits(), 1 << 1);
        assert_eq!(HookSet::parse("ipv6:postrouting").unwrap().bits(), 1 << 9);
        assert_eq!(
            HookSet::parse("all:prerouting,ipv6").unwrap().to_string(),
            "ipv4:prerouting,ipv6:prerouting,ipv6:input,ipv6:forward,ipv6:output,ipv6:postrouting"
        );
        assert_eq!(
            HookSet::parse("ipv4:output,ipv4:output")
                .unwrap()
                .to_string(),
            "ipv4:output"
        );
    }

    #[test]
    fn refuses_what_the_module_refuses() {
        for (bad, item) in [
            ("bogus", "bogus"),
            ("ipv5", "ipv5"),
            ("ipv4:inptu", "ipv4:inptu"),
            ("ipv4:", "ipv4:"),
            (",", ""),
            ("", ""),
            ("all:all:all", "all:all:all"),
            ("ipv4,,ipv6", ""),
            ("ipv4,none", "none"),
        ] {
            let e = HookSet::parse(bad).unwrap_err();
            assert_eq!(
                e,
                format!("invalid item '{item}'; {EXPECTED}"),
                "for {bad:?}"
            );
        }
    }

    #[test]
    fn bits_round_trip() {
        assert_eq!(HookSet::from_bits(1 << 10), None);
        let s = HookSet::from_bits(0b10_0000_0010).unwrap();
        assert_eq!(s.to_string(), "ipv4:input,ipv6:postrouting");
        assert_eq!(HookSet::parse(&s.to_string()).unwrap(), s);
        assert_eq!(s.iter().count(), 2);
    }
}
