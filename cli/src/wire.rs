//! The `rnetns` generic netlink family as `netlink/rnetns.yaml` specifies it:
//! commands, attribute ids, and the decoding of one namespace's message.
//!
//! neli does the framing (headers, attribute walking, padding, errors with
//! their extended ack); this module only names the spec's ids and turns the
//! attributes of one `ns` message into a [`NsState`].

use neli::{
    attr::Attribute,
    consts::genl::{Cmd as GenlCmd, NlAttrType},
    genl::{GenlAttrHandle, Nlattr},
    neli_enum,
    types::Buffer,
};
use serde::Serialize;

use crate::hooks::{Family, Hook, HookSet};

/// The family's name, as the kernel registers it.
pub const FAMILY_NAME: &str = "rnetns";
/// The family version this command speaks.
pub const FAMILY_VERSION: u32 = 1;
/// The multicast group of creation and teardown notifications.
pub const GROUP_LIFECYCLE: &str = "lifecycle";

/// Commands (the spec's operations, in list order from 1).
#[neli_enum(serialized_type = "u8")]
pub enum Cmd {
    Unspec = 0,
    Get = 1,
    Set = 2,
    CreateNtf = 3,
    DestroyNtf = 4,
}
impl GenlCmd for Cmd {}

/// Attributes of the `ns` set.
#[neli_enum(serialized_type = "u16")]
pub enum NsAttr {
    Unspec = 0,
    Inum = 1,
    Cookie = 2,
    InitNet = 3,
    CreatedNs = 4,
    Hooks = 5,
    Counter = 6,
    Refused = 7,
    NsFd = 8,
    Nsid = 9,
    Reset = 10,
    InitDurationNs = 11,
    ExitDurationNs = 12,
    LifetimeNs = 13,
    Pad = 14,
}
impl NlAttrType for NsAttr {}

/// Attributes of the `counter` set.
#[neli_enum(serialized_type = "u16")]
pub enum CounterAttr {
    Unspec = 0,
    Family = 1,
    Hook = 2,
    Packets = 3,
    Bytes = 4,
}
impl NlAttrType for CounterAttr {}

/// Attributes of the `refused` set.
#[neli_enum(serialized_type = "u16")]
pub enum RefusedAttr {
    Unspec = 0,
    Family = 1,
    Hook = 2,
    Error = 3,
}
impl NlAttrType for RefusedAttr {}

/// One (family, hook point) counter of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub family: Family,
    pub hook: Hook,
    pub packets: u64,
    pub bytes: u64,
}

/// A hook point netfilter refused, with its (positive) errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub family: Family,
    pub hook: Hook,
    pub error: u32,
}

/// One namespace's state, as a get reply or a dump message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsState {
    pub inum: u32,
    pub cookie: u64,
    pub init_net: bool,
    /// CLOCK_BOOTTIME nanoseconds at rnetns's set-up of the namespace.
    pub created_ns: u64,
    pub hooks: HookSet,
    pub counters: Vec<Counter>,
    pub refused: Vec<Refused>,
}

impl NsState {
    /// Packets over every counted hook point.
    pub fn packets(&self) -> u64 {
        self.counters.iter().map(|c| c.packets).sum()
    }

    /// Bytes over every counted hook point.
    pub fn bytes(&self) -> u64 {
        self.counters.iter().map(|c| c.bytes).sum()
    }
}

/// A lifecycle notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Lifecycle {
    /// A namespace was created and rnetns set it up.
    Created {
        inum: u32,
        cookie: u64,
        init_net: bool,
        init_duration_ns: u64,
    },
    /// rnetns tore a namespace's state down.
    Destroyed {
        inum: u32,
        cookie: u64,
        lifetime_ns: u64,
        exit_duration_ns: u64,
    },
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed rnetns message: {}", self.0)
    }
}

/// An unsigned integer attribute of 1, 2, 4 or 8 bytes (the spec's `u8`,
/// `u32`, `u64`, and `uint`, which the kernel sends as 4 or 8 bytes).
fn unsigned(b: &[u8], what: &str) -> Result<u64, DecodeError> {
    Ok(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_ne_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_ne_bytes(b.try_into().unwrap())),
        8 => u64::from_ne_bytes(b.try_into().unwrap()),
        n => return Err(DecodeError(format!("{what}: {n} bytes"))),
    })
}

fn attr_u64<T: NlAttrType>(
    h: &GenlAttrHandle<'_, T>,
    t: T,
    what: &str,
) -> Result<Option<u64>, DecodeError> {
    h.get_attribute(t)
        .map(|a| unsigned(a.payload().as_ref(), what))
        .transpose()
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError(format!("no {what} attribute")))
}

fn u32_of(v: u64, what: &str) -> Result<u32, DecodeError> {
    u32::try_from(v).map_err(|_| DecodeError(format!("{what} {v} out of range")))
}

fn family_hook(f: u64, h: u64) -> Result<(Family, Hook), DecodeError> {
    let family = Family::from_index(f).ok_or_else(|| DecodeError(format!("unknown family {f}")))?;
    let hook = Hook::from_index(h).ok_or_else(|| DecodeError(format!("unknown hook point {h}")))?;
    Ok((family, hook))
}

fn counter(a: &Nlattr<NsAttr, Buffer>) -> Result<Counter, DecodeError> {
    let h = a
        .get_attr_handle::<CounterAttr>()
        .map_err(|e| DecodeError(format!("counter nest: {e}")))?;
    let f = need(
        attr_u64(&h, CounterAttr::Family, "counter family")?,
        "counter family",
    )?;
    let k = need(
        attr_u64(&h, CounterAttr::Hook, "counter hook")?,
        "counter hook",
    )?;
    let (family, hook) = family_hook(f, k)?;
    Ok(Counter {
        family,
        hook,
        packets: need(attr_u64(&h, CounterAttr::Packets, "packets")?, "packets")?,
        bytes: need(attr_u64(&h, CounterAttr::Bytes, "bytes")?, "bytes")?,
    })
}

fn refused(a: &Nlattr<NsAttr, Buffer>) -> Result<Refused, DecodeError> {
    let h = a
        .get_attr_handle::<RefusedAttr>()
        .map_err(|e| DecodeError(format!("refused nest: {e}")))?;
    let f = need(
        attr_u64(&h, RefusedAttr::Family, "refused family")?,
        "refused family",
    )?;
    let k = need(
        attr_u64(&h, RefusedAttr::Hook, "refused hook")?,
        "refused hook",
    )?;
    let (family, hook) = family_hook(f, k)?;
    let error = need(
        attr_u64(&h, RefusedAttr::Error, "refused error")?,
        "refused error",
    )?;
    Ok(Refused {
        family,
        hook,
        error: u32_of(error, "errno")?,
    })
}

/// Decodes a get reply or dump message (the spec's `ns-all` attributes).
pub fn decode_ns(h: &GenlAttrHandle<'_, NsAttr>) -> Result<NsState, DecodeError> {
    let inum = u32_of(need(attr_u64(h, NsAttr::Inum, "inum")?, "inum")?, "inum")?;
    let hooks = u32_of(
        need(attr_u64(h, NsAttr::Hooks, "hooks")?, "hooks")?,
        "hooks",
    )?;
    let mut state = NsState {
        inum,
        cookie: need(attr_u64(h, NsAttr::Cookie, "cookie")?, "cookie")?,
        init_net: need(attr_u64(h, NsAttr::InitNet, "init-net")?, "init-net")? != 0,
        created_ns: need(attr_u64(h, NsAttr::CreatedNs, "created-ns")?, "created-ns")?,
        hooks: HookSet::from_bits(hooks)
            .ok_or_else(|| DecodeError(format!("hooks {hooks:#x}: unknown bits")))?,
        counters: Vec::new(),
        refused: Vec::new(),
    };
    for a in h.get_attrs() {
        if *a.nla_type().nla_type() == NsAttr::Counter {
            state.counters.push(counter(a)?);
        } else if *a.nla_type().nla_type() == NsAttr::Refused {
            state.refused.push(refused(a)?);
        }
    }
    Ok(state)
}

/// Decodes a lifecycle notification (create-ntf or destroy-ntf).
pub fn decode_lifecycle(
    cmd: Cmd,
    h: &GenlAttrHandle<'_, NsAttr>,
) -> Result<Lifecycle, DecodeError> {
    let inum = u32_of(need(attr_u64(h, NsAttr::Inum, "inum")?, "inum")?, "inum")?;
    let cookie = need(attr_u64(h, NsAttr::Cookie, "cookie")?, "cookie")?;
    match cmd {
        Cmd::CreateNtf => Ok(Lifecycle::Created {
            inum,
            cookie,
            init_net: need(attr_u64(h, NsAttr::InitNet, "init-net")?, "init-net")? != 0,
            init_duration_ns: need(
                attr_u64(h, NsAttr::InitDurationNs, "init-duration-ns")?,
                "init-duration-ns",
            )?,
        }),
        Cmd::DestroyNtf => Ok(Lifecycle::Destroyed {
            inum,
            cookie,
            lifetime_ns: need(
                attr_u64(h, NsAttr::LifetimeNs, "lifetime-ns")?,
                "lifetime-ns",
            )?,
            exit_duration_ns: need(
                attr_u64(h, NsAttr::ExitDurationNs, "exit-duration-ns")?,
                "exit-duration-ns",
            )?,
        }),
        other => Err(DecodeError(format!(
            "command {} is no notification",
            u8::from(other)
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use neli::{
        genl::{AttrTypeBuilder, NlattrBuilder},
        types::GenlBuffer,
    };

    pub(crate) fn attr<T: NlAttrType, P: neli::Size + neli::ToBytes>(
        t: T,
        p: P,
    ) -> Nlattr<T, Buffer> {
        NlattrBuilder::default()
            .nla_type(AttrTypeBuilder::default().nla_type(t).build().unwrap())
            .nla_payload(p)
            .build()
            .unwrap()
    }

    fn nest<T: NlAttrType, S: NlAttrType>(
        t: T,
        inner: Vec<Nlattr<S, Buffer>>,
    ) -> Nlattr<T, Buffer> {
        let mut a = attr(t, Vec::<u8>::new());
        for i in &inner {
            a = a.nest(i).unwrap();
        }
        a
    }

    /// The attributes of a namespace with ipv4 input and ipv6 output
    /// counted and ipv4 prerouting refused (E2BIG), packets as `uint` of 4
    /// bytes and bytes of 8, as the kernel sends them.
    pub(crate) fn sample() -> GenlBuffer<NsAttr, Buffer> {
        let mut b = GenlBuffer::new();
        b.push(attr(NsAttr::Inum, 4026532290u32));
        b.push(attr(NsAttr::Cookie, 14u64));
        b.push(attr(NsAttr::InitNet, 0u8));
        b.push(attr(NsAttr::CreatedNs, 5_000_000_000u64));
        b.push(attr(NsAttr::Hooks, (1u32 << 1) | (1 << 8)));
        b.push(nest(
            NsAttr::Counter,
            vec![
                attr(CounterAttr::Family, 0u32),
                attr(CounterAttr::Hook, 1u32),
                attr(CounterAttr::Packets, 10u32),
                attr(CounterAttr::Bytes, 5_000_000_000u64),
            ],
        ));
        b.push(nest(
            NsAttr::Counter,
            vec![
                attr(CounterAttr::Family, 1u32),
                attr(CounterAttr::Hook, 3u32),
                attr(CounterAttr::Packets, 3u32),
                attr(CounterAttr::Bytes, 144u32),
            ],
        ));
        b.push(nest(
            NsAttr::Refused,
            vec![
                attr(RefusedAttr::Family, 0u32),
                attr(RefusedAttr::Hook, 0u32),
                attr(RefusedAttr::Error, 7u32),
            ],
        ));
        b
    }

    #[test]
    fn decodes_a_dump_message() {
        let b = sample();
        let s = decode_ns(&b.get_attr_handle()).unwrap();
        assert_eq!(s.inum, 4026532290);
        assert_eq!(s.cookie, 14);
        assert!(!s.init_net);
        assert_eq!(s.hooks.to_string(), "ipv4:input,ipv6:output");
        assert_eq!(s.counters.len(), 2);
        assert_eq!(s.counters[0].family, Family::Ipv4);
        assert_eq!(s.counters[0].hook, Hook::Input);
        assert_eq!(s.counters[0].bytes, 5_000_000_000);
        assert_eq!(s.counters[1].packets, 3);
        assert_eq!(s.packets(), 13);
        assert_eq!(s.bytes(), 5_000_000_144);
        assert_eq!(
            s.refused,
            vec![Refused {
                family: Family::Ipv4,
                hook: Hook::Prerouting,
                error: 7
            }]
        );
    }

    #[test]
    fn a_missing_or_bad_attribute_is_an_error() {
        let mut b = GenlBuffer::new();
        b.push(attr(NsAttr::Inum, 1u32));
        let e = decode_ns(&b.get_attr_handle()).unwrap_err();
        assert_eq!(e.0, "no hooks attribute");
        let mut b = sample();
        b.push(nest(
            NsAttr::Counter,
            vec![
                attr(CounterAttr::Family, 2u32),
                attr(CounterAttr::Hook, 0u32),
            ],
        ));
        assert_eq!(
            decode_ns(&b.get_attr_handle()).unwrap_err().0,
            "unknown family 2"
        );
        let mut b = GenlBuffer::new();
        b.push(attr(NsAttr::Cookie, [1u8, 2, 3]));
        b.push(attr(NsAttr::Inum, 1u32));
        b.push(attr(NsAttr::Hooks, 0u32));
        assert_eq!(
            decode_ns(&b.get_attr_handle()).unwrap_err().0,
            "cookie: 3 bytes"
        );
    }

    #[test]
    fn decodes_notifications() {
        let mut b = GenlBuffer::new();
        b.push(attr(NsAttr::Inum, 7u32));
        b.push(attr(NsAttr::Cookie, 9u64));
        b.push(attr(NsAttr::LifetimeNs, 2_000_000_000u64));
        b.push(attr(NsAttr::ExitDurationNs, 1500u64));
        let l = decode_lifecycle(Cmd::DestroyNtf, &b.get_attr_handle()).unwrap();
        assert_eq!(
            l,
            Lifecycle::Destroyed {
                inum: 7,
                cookie: 9,
                lifetime_ns: 2_000_000_000,
                exit_duration_ns: 1500
            }
        );
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"event":"destroyed","inum":7,"cookie":9,"lifetime_ns":2000000000,"exit_duration_ns":1500}"#
        );
        assert!(decode_lifecycle(Cmd::CreateNtf, &b.get_attr_handle()).is_err());
    }

    /// The ids here are the spec's: its attribute sets' names in order.
    #[test]
    fn ids_are_the_specs() {
        // The directory cargo runs the test for, read when it runs: one
        // baked in at build time (`env!`) names the clone that built the
        // binary, which a target directory shared between clones keeps.
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        let spec = std::fs::read_to_string(format!("{dir}/../netlink/rnetns.yaml")).unwrap();
        let names = |set: &str| -> Vec<String> {
            let mut out = Vec::new();
            let mut inside = false;
            for line in spec.lines() {
                if let Some(n) = line.strip_prefix("    name: ") {
                    inside = n == set;
                } else if inside {
                    if let Some(n) = line.strip_prefix("        name: ") {
                        out.push(n.to_string());
                    }
                }
            }
            out
        };
        let ns = names("ns");
        let want: Vec<(NsAttr, &str)> = vec![
            (NsAttr::Inum, "inum"),
            (NsAttr::Cookie, "cookie"),
            (NsAttr::InitNet, "init-net"),
            (NsAttr::CreatedNs, "created-ns"),
            (NsAttr::Hooks, "hooks"),
            (NsAttr::Counter, "counter"),
            (NsAttr::Refused, "refused"),
            (NsAttr::NsFd, "ns-fd"),
            (NsAttr::Nsid, "nsid"),
            (NsAttr::Reset, "reset"),
            (NsAttr::InitDurationNs, "init-duration-ns"),
            (NsAttr::ExitDurationNs, "exit-duration-ns"),
            (NsAttr::LifetimeNs, "lifetime-ns"),
            (NsAttr::Pad, "pad"),
        ];
        assert_eq!(ns.len(), want.len(), "ns attributes in the spec: {ns:?}");
        for (a, n) in want {
            assert_eq!(ns[usize::from(u16::from(a)) - 1], n);
        }
        assert_eq!(names("counter"), ["family", "hook", "packets", "bytes"]);
        assert_eq!(names("refused"), ["family", "hook", "error"]);
        // Operations: get, set, create-ntf, destroy-ntf, from 1.
        let ops: Vec<&str> = spec
            .lines()
            .skip_while(|l| *l != "operations:")
            .take_while(|l| *l != "mcast-groups:")
            .filter_map(|l| l.strip_prefix("      name: "))
            .collect();
        assert_eq!(ops, ["get", "set", "create-ntf", "destroy-ntf"]);
        assert_eq!(u8::from(Cmd::DestroyNtf), 4);
    }
}
