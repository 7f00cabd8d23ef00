//! The rnetns family spoken through neli: the family and its multicast group
//! resolved through nlctrl (with its version checked), get, dump, set, and
//! the lifecycle notifications; kernel errors turned into words a person can
//! act on.

use std::fs::File;
use std::os::fd::AsRawFd;

use neli::{
    consts::{
        genl::{CtrlAttr, CtrlAttrMcastGrp, CtrlCmd},
        nl::{GenlId, NlmF, Nlmsg, NlmsgerrAttr},
        socket::NlFamily,
    },
    err::RouterError,
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder, NoUserHeader},
    nl::{NlPayload, Nlmsghdr},
    router::synchronous::{NlRouter, NlRouterReceiverHandle},
    types::{Buffer, GenlBuffer},
    utils::Groups,
};

use crate::hooks::HookSet;
use crate::wire::{self, Cmd, Lifecycle, NsAttr, NsState};

/// An error of a command, in words a person can act on.
#[derive(Debug)]
pub struct Error {
    pub msg: String,
}

impl Error {
    /// An error saying `msg`.
    pub fn new(msg: impl Into<String>) -> Error {
        Error { msg: msg.into() }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// What was asked of the kernel, for the words of its errors.
#[derive(Clone, Copy)]
enum Asked {
    Get,
    Set,
}

/// Words for an errno the family returns, with its extended ack message.
fn words(asked: Asked, errno: i32, extack: Option<&str>) -> String {
    let why = extack.map(|m| format!(" ({m})")).unwrap_or_default();
    match (errno, asked) {
        // (The kernel's message for these says the same.)
        (libc::EPERM | libc::EACCES, Asked::Set) => {
            "not allowed: needs CAP_NET_ADMIN over the namespace's user namespace".to_string()
        }
        (libc::EPERM | libc::EACCES, Asked::Get) => {
            "not allowed to see that namespace: needs CAP_NET_ADMIN over its user namespace".to_string()
        }
        (libc::ENOENT | libc::ESRCH, _) => format!("no such namespace: it is gone{why}"),
        (libc::E2BIG, _) => format!(
            "netfilter refused a hook point: its hook table is full (E2BIG); nothing was changed{why}"
        ),
        (libc::EINVAL, _) => format!("the kernel refused the request as invalid{why}"),
        (libc::ENODEV, _) => "rnetns is being unloaded".to_string(),
        _ => format!("{}{why}", std::io::Error::from_raw_os_error(errno)),
    }
}

fn router_error<T: std::fmt::Debug, P: std::fmt::Debug>(
    asked: Asked,
    e: RouterError<T, P>,
) -> Error {
    match e {
        RouterError::Nlmsgerr(e) => {
            let errno = -*e.error();
            let msg = e
                .ext_ack()
                .iter()
                .find(|a| *a.nla_type().nla_type() == NlmsgerrAttr::Msg)
                .map(|a| {
                    String::from_utf8_lossy(a.nla_payload().as_ref())
                        .trim_end_matches('\0')
                        .to_string()
                });
            Error::new(words(asked, errno, msg.as_deref()))
        }
        other => Error::new(format!("netlink: {other}")),
    }
}

/// A connection to the rnetns family.
pub struct Client {
    router: NlRouter,
    family: u16,
    lifecycle: u32,
    multicast: Option<NlRouterReceiverHandle<u16, Genlmsghdr<u8, u16>>>,
}

type Msg = Nlmsghdr<u16, Genlmsghdr<Cmd, NsAttr>>;

fn attr<P: neli::Size + neli::ToBytes>(t: NsAttr, p: P) -> Result<Nlattr<NsAttr, Buffer>, Error> {
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .build()
                .map_err(|e| Error::new(e.to_string()))?,
        )
        .nla_payload(p)
        .build()
        .map_err(|e| Error::new(e.to_string()))
}

impl Client {
    /// Connects and resolves the family, checking its version.
    pub fn connect() -> Result<Client, Error> {
        let (router, multicast) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| Error::new(format!("cannot open a generic netlink socket: {e}")))?;
        // Errors carry the kernel's explanation; malformed requests are refused, not ignored.
        let _ = router.enable_ext_ack(true);
        let _ = router.enable_strict_checking(true);
        let (family, version, lifecycle) = Self::resolve(&router)?;
        if version != wire::FAMILY_VERSION {
            let which = if version > wire::FAMILY_VERSION {
                "newer"
            } else {
                "older"
            };
            return Err(Error::new(format!(
                "the loaded rnetns speaks version {version} of its netlink family, {which} than this command's \
                 version {}: use the rnetns command of the module's release",
                wire::FAMILY_VERSION
            )));
        }
        Ok(Client {
            router,
            family,
            lifecycle,
            multicast: Some(multicast),
        })
    }

    /// The family's id, version and lifecycle group id, from nlctrl.
    fn resolve(router: &NlRouter) -> Result<(u16, u32, u32), Error> {
        let req = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr, NoUserHeader>::default()
            .cmd(CtrlCmd::Getfamily)
            .version(2)
            .attrs(
                std::iter::once(
                    NlattrBuilder::default()
                        .nla_type(
                            AttrTypeBuilder::default()
                                .nla_type(CtrlAttr::FamilyName)
                                .build()
                                .unwrap(),
                        )
                        .nla_payload(wire::FAMILY_NAME)
                        .build()
                        .map_err(|e| Error::new(e.to_string()))?,
                )
                .collect::<GenlBuffer<_, _>>(),
            )
            .build()
            .map_err(|e| Error::new(e.to_string()))?;
        let recv: NlRouterReceiverHandle<GenlId, Genlmsghdr<CtrlCmd, CtrlAttr>> = router
            .send(GenlId::Ctrl, NlmF::ACK, NlPayload::Payload(req))
            .map_err(|e| Error::new(format!("netlink: {e}")))?;
        // The whole reply, its ACK included, is read before returning: an
        // ACK that came after its receiver was dropped would reach neli's
        // router as a message of no request.
        let mut found = None;
        for msg in recv {
            let msg = match msg {
                Ok(m) => m,
                Err(RouterError::Nlmsgerr(e)) if -*e.error() == libc::ENOENT => {
                    return Err(Error::new("rnetns is not loaded: `modprobe rnetns`"))
                }
                Err(e) => return Err(Error::new(format!("netlink: {e}"))),
            };
            if found.is_some() {
                continue;
            }
            let Some(p) = msg.get_payload() else { continue };
            let h = p.attrs().get_attr_handle();
            let id: u16 = h
                .get_attr_payload_as(CtrlAttr::FamilyId)
                .map_err(|e| Error::new(e.to_string()))?;
            let version: u32 = h
                .get_attr_payload_as(CtrlAttr::Version)
                .map_err(|e| Error::new(e.to_string()))?;
            let mut group = None;
            if let Ok(groups) = h.get_nested_attributes::<u16>(CtrlAttr::McastGroups) {
                for g in groups.iter() {
                    let Ok(gh) = g.get_attr_handle::<CtrlAttrMcastGrp>() else {
                        continue;
                    };
                    let name: Result<String, _> =
                        gh.get_attr_payload_as_with_len(CtrlAttrMcastGrp::Name);
                    if name.ok().as_deref() == Some(wire::GROUP_LIFECYCLE) {
                        group = gh.get_attr_payload_as::<u32>(CtrlAttrMcastGrp::Id).ok();
                    }
                }
            }
            let group =
                group.ok_or_else(|| Error::new("the rnetns family has no lifecycle group"))?;
            found = Some((id, version, group));
        }
        found.ok_or_else(|| Error::new("rnetns is not loaded: `modprobe rnetns`"))
    }

    fn request(
        &self,
        cmd: Cmd,
        flags: NlmF,
        attrs: Vec<Nlattr<NsAttr, Buffer>>,
    ) -> Result<NlRouterReceiverHandle<u16, Genlmsghdr<Cmd, NsAttr>>, Error> {
        let hdr = GenlmsghdrBuilder::<Cmd, NsAttr, NoUserHeader>::default()
            .cmd(cmd)
            .version(wire::FAMILY_VERSION as u8)
            .attrs(attrs.into_iter().collect::<GenlBuffer<_, _>>())
            .build()
            .map_err(|e| Error::new(e.to_string()))?;
        self.router
            .send(self.family, flags, NlPayload::Payload(hdr))
            .map_err(|e| Error::new(format!("netlink: {e}")))
    }

    /// Every namespace the caller may see (one dump, resumed across reads
    /// by the kernel's cursor). Where the kernel flags the dump as
    /// interrupted, it is taken again, up to three times.
    pub fn dump(&self) -> Result<Vec<NsState>, Error> {
        for _ in 0..3 {
            let mut out = Vec::new();
            let mut intr = false;
            for msg in self.request(Cmd::Get, NlmF::DUMP, Vec::new())? {
                let msg: Msg = msg.map_err(|e| router_error(Asked::Get, e))?;
                intr |= msg.nl_flags().contains(NlmF::DUMP_INTR);
                if Nlmsg::from(*msg.nl_type()) == Nlmsg::Done {
                    continue;
                }
                if let Some(p) = msg.get_payload() {
                    out.push(
                        wire::decode_ns(&p.attrs().get_attr_handle())
                            .map_err(|e| Error::new(e.to_string()))?,
                    );
                }
            }
            if !intr {
                return Ok(out);
            }
        }
        Err(Error::new(
            "the namespace dump was interrupted three times in a row",
        ))
    }

    /// One namespace: the caller's own (`None`) or the one `ns` is a file of.
    pub fn get(&self, ns: Option<&File>) -> Result<NsState, Error> {
        let mut attrs = Vec::new();
        if let Some(f) = ns {
            attrs.push(attr(NsAttr::NsFd, f.as_raw_fd() as u32)?);
        }
        // Read to the end (the ACK): see resolve().
        let mut state = None;
        for msg in self.request(Cmd::Get, NlmF::ACK, attrs)? {
            let msg: Msg = msg.map_err(|e| router_error(Asked::Get, e))?;
            if let (None, Some(p)) = (&state, msg.get_payload()) {
                let decoded = wire::decode_ns(&p.attrs().get_attr_handle());
                state = Some(decoded.map_err(|e| Error::new(e.to_string()))?);
            }
        }
        state.ok_or_else(|| Error::new("the kernel sent no reply"))
    }

    /// Resets the namespace's counters and/or sets its hook points, all or
    /// nothing.
    pub fn set(&self, ns: Option<&File>, reset: bool, hooks: Option<HookSet>) -> Result<(), Error> {
        let mut attrs = Vec::new();
        if let Some(f) = ns {
            attrs.push(attr(NsAttr::NsFd, f.as_raw_fd() as u32)?);
        }
        if reset {
            attrs.push(attr(NsAttr::Reset, Vec::<u8>::new())?);
        }
        if let Some(h) = hooks {
            attrs.push(attr(NsAttr::Hooks, h.bits())?);
        }
        for msg in self.request(Cmd::Set, NlmF::ACK, attrs)? {
            msg.map_err(|e: RouterError<u16, Genlmsghdr<Cmd, NsAttr>>| {
                router_error(Asked::Set, e)
            })?;
        }
        Ok(())
    }

    /// Joins the lifecycle group and calls `each` for every notification
    /// until it returns false.
    pub fn monitor(&mut self, mut each: impl FnMut(Lifecycle) -> bool) -> Result<(), Error> {
        self.router
            .add_mcast_membership(Groups::new_groups(&[self.lifecycle]))
            .map_err(|e| {
                let errno = match &e {
                    RouterError::Socket(s) => format!("{s}"),
                    other => format!("{other}"),
                };
                if errno.contains("Operation not permitted") || errno.contains("os error 1") {
                    Error::new(
                        "not allowed to listen: needs CAP_NET_ADMIN in the initial user namespace",
                    )
                } else {
                    Error::new(format!("cannot join the lifecycle group: {errno}"))
                }
            })?;
        let Some(mut multicast) = self.multicast.take() else {
            return Err(Error::new("already monitoring"));
        };
        while let Some(msg) = multicast.next_typed::<u16, Genlmsghdr<Cmd, NsAttr>>() {
            let msg: Msg = msg.map_err(|e| Error::new(format!("netlink: {e}")))?;
            let Some(p) = msg.get_payload() else { continue };
            let l = wire::decode_lifecycle(*p.cmd(), &p.attrs().get_attr_handle())
                .map_err(|e| Error::new(e.to_string()))?;
            if !each(l) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_words() {
        assert_eq!(
            words(Asked::Set, libc::EPERM, None),
            "not allowed: needs CAP_NET_ADMIN over the namespace's user namespace"
        );
        assert_eq!(
            words(Asked::Set, libc::EINVAL, Some("reserved bit set")),
            "the kernel refused the request as invalid (reserved bit set)"
        );
        assert!(words(Asked::Set, libc::E2BIG, None).contains("nothing was changed"));
        assert!(words(Asked::Get, libc::EACCES, None).starts_with("not allowed to see"));
        assert_eq!(
            words(Asked::Get, libc::EBADF, None),
            std::io::Error::from_raw_os_error(libc::EBADF).to_string()
        );
    }
}
