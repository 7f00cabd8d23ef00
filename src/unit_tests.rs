// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of rnetns's pure logic: the `hooks=` parser and its printed
//! form, the `/proc/net/rnetns` write parser, the counter table's lines and
//! the escaping of untrusted bytes in log lines.
//!
//! Built where the kernel's `macros` crate has `#[kunit_tests]` (7.2) and
//! the kernel has `CONFIG_KUNIT`; the suite runs when the module is loaded
//! with `kunit.filter_glob` matching `rnetns*` (tests/t05-kunit.sh), its
//! KTAP results in the kernel log.

use kernel::prelude::*;

/// The `rnetns_unit` suite.
#[kunit_tests(rnetns_unit)]
mod tests {
    use crate::{
        counters::{HookSelection, Printable},
        ext::{
            netfilter::{Family, HookPoint, HookSet},
            percpu::Totals,
        },
        netns::{Command, ErrnoName, Row},
    };
    use core::fmt::Write;
    use kernel::prelude::*;

    /// A fixed buffer that formatted text goes into.
    struct Buf {
        /// The bytes.
        bytes: [u8; 256],
        /// How many are used.
        len: usize,
    }

    impl Buf {
        /// An empty buffer.
        fn new() -> Self {
            Self {
                bytes: [0; 256],
                len: 0,
            }
        }

        /// What was written.
        fn get(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }

    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len + s.len();
            if end > self.bytes.len() {
                return Err(core::fmt::Error);
            }
            self.bytes[self.len..end].copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    /// `set` in `hooks=` syntax.
    fn formatted(set: HookSet) -> Buf {
        let mut b = Buf::new();
        assert!(HookSelection::format(set, &mut b).is_ok());
        b
    }

    /// `all`, `none` and `all:all` select every pair or none.
    #[test]
    fn hooks_all_and_none() {
        assert_eq!(HookSelection::parse(b"all"), Ok(HookSet::ALL));
        assert_eq!(HookSelection::parse(b"none"), Ok(HookSet::NONE));
        assert_eq!(HookSelection::parse(b"all:all"), Ok(HookSet::ALL));
    }

    /// Lists select exactly the pairs they name.
    #[test]
    fn hooks_lists() {
        let v4_input = HookSet::of(Family::Ipv4, HookPoint::LocalIn);
        let v6_output = HookSet::of(Family::Ipv6, HookPoint::LocalOut);
        assert_eq!(HookSelection::parse(b"ipv4:input"), Ok(v4_input));
        assert_eq!(
            HookSelection::parse(b"ipv4:input,ipv6:output"),
            Ok(v4_input | v6_output)
        );
        let both_fwd = HookSet::of(Family::Ipv4, HookPoint::Forward)
            | HookSet::of(Family::Ipv6, HookPoint::Forward);
        assert_eq!(HookSelection::parse(b"all:forward"), Ok(both_fwd));
        let v6 = HookSelection::parse(b"ipv6");
        assert_eq!(v6.map(|s| s.iter().count()), Ok(5));
    }

    /// A bad value is refused, naming the item that is not understood.
    #[test]
    fn hooks_bad_items_are_named() {
        assert_eq!(HookSelection::parse(b""), Err(&b""[..]));
        assert_eq!(HookSelection::parse(b"ipv5"), Err(&b"ipv5"[..]));
        assert_eq!(HookSelection::parse(b"ipv4:in"), Err(&b"ipv4:in"[..]));
        assert_eq!(HookSelection::parse(b"ipv4:input,"), Err(&b""[..]));
        assert_eq!(HookSelection::parse(b"none,ipv4"), Err(&b"none"[..]));
    }

    /// A selection prints in `hooks=` syntax, which parses back to it.
    #[test]
    fn hooks_print_as_parsed() {
        assert_eq!(formatted(HookSet::ALL).get(), b"all");
        assert_eq!(formatted(HookSet::NONE).get(), b"none");
        let set = HookSelection::parse(b"ipv6:output,ipv4:prerouting");
        assert!(set.is_ok());
        let set = set.unwrap_or(HookSet::NONE);
        assert_eq!(formatted(set).get(), b"ipv4:prerouting,ipv6:output");
        assert_eq!(HookSelection::parse(formatted(set).get()), Ok(set));
    }

    /// `reset` and `hooks=SELECTION` with or without one newline; anything
    /// else is `EINVAL`.
    #[test]
    fn write_commands() {
        assert_eq!(Command::parse(b"reset"), Ok(Command::Reset));
        assert_eq!(Command::parse(b"reset\n"), Ok(Command::Reset));
        assert_eq!(
            Command::parse(b"hooks=none\n"),
            Ok(Command::Hooks(HookSet::NONE))
        );
        assert_eq!(
            Command::parse(b"hooks=ipv4:input,ipv6"),
            HookSelection::parse(b"ipv4:input,ipv6")
                .map(Command::Hooks)
                .map_err(|_| EINVAL)
        );
        assert_eq!(
            Command::parse(b"hooks=all"),
            Ok(Command::Hooks(HookSet::ALL))
        );
        for bad in [
            &b"reset\n\n"[..],
            b"Reset",
            b" reset",
            b"reset ",
            b"",
            b"\n",
            b"hooks=",
            b"hooks",
            b"hooks=ipv5",
            b"hooks=ipv4:inpu",
            b"hooks =all",
            b"hooks=all\n\n",
        ] {
            assert_eq!(Command::parse(bad).map_err(|e| e.to_errno()), Err(-22));
        }
    }

    /// A counter table line is `FAMILY HOOK PACKETS BYTES`.
    #[test]
    fn table_rows() {
        let mut b = Buf::new();
        let totals = Totals {
            packets: 3,
            bytes: 252,
        };
        let row = Row { index: 1, totals };
        assert!(b.write_fmt(fmt!("{}", row)).is_ok());
        assert_eq!(b.get(), b"ipv4 input 3 252");
        let mut b = Buf::new();
        let row = Row {
            index: 9,
            totals: Totals {
                packets: u64::MAX,
                bytes: 0,
            },
        };
        assert!(b.write_fmt(fmt!("{}", row)).is_ok());
        assert_eq!(b.get(), b"ipv6 postrouting 18446744073709551615 0");
    }

    /// The errors netfilter refuses hooks with have their names; others
    /// show as their number.
    #[test]
    fn errno_names() {
        for (e, name) in [
            (E2BIG, &b"E2BIG"[..]),
            (ENOMEM, b"ENOMEM"),
            (EBUSY, b"EBUSY"),
        ] {
            let mut b = Buf::new();
            assert!(b.write_fmt(fmt!("{}", ErrnoName(e))).is_ok());
            assert_eq!(b.get(), name);
        }
        let mut b = Buf::new();
        assert!(b
            .write_fmt(fmt!("{}", ErrnoName(Error::from_errno(-95))))
            .is_ok());
        assert_eq!(b.get(), b"-95");
    }

    /// Log lines show untrusted bytes escaped and cut at 64.
    #[test]
    fn untrusted_bytes_are_escaped() {
        let mut b = Buf::new();
        assert!(b.write_fmt(fmt!("{}", Printable(b"ip\x01v4\n"))).is_ok());
        assert_eq!(b.get(), b"ip\\x01v4\\x0a");
        let mut b = Buf::new();
        assert!(b.write_fmt(fmt!("{}", Printable(&[b'a'; 70]))).is_ok());
        assert_eq!(b.len, 67);
        assert!(b.get().ends_with(b"a..."));
    }
}
