// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families: operations with `doit` and `dumpit` callbacks
//! over traits, strict attribute policies, messages built with typed
//! attribute puts and nests, and multicast groups.
//!
//! Shaped like Linux 7.3's `kernel::net::netlink` (`Family`,
//! `MulticastGroup`, a `Registration` that unregisters when dropped, a
//! message type that cancels itself unless sent), which covers multicast
//! only; this adds the operations a family answers.
//!
//! A [`Family`] lives in a `static`; [`Family::register`] registers it with
//! the data its operations use (an `Arc<D>`), and dropping the
//! [`Registration`] unregisters it. `doit` callbacks get `&D` while the
//! family is registered (genetlink waits for them before unregistering);
//! each dump holds its own reference to the data from its `start` to its
//! `done`, so a dump that outlives the registration still finds it.
//!
//! C header: [`include/net/genetlink.h`](srctree/include/net/genetlink.h)
//!
//! # Examples
//!
//! ```
//! use kernel::net::{
//!     genetlink::{DoIt, Dump, DumpDone, DumpIt, Family, MulticastGroup, Op, Policy, Request},
//!     namespace::Net,
//! };
//!
//! const CMD_GET: u8 = 1;
//! const ATTR_VALUE: u16 = 1;
//!
//! struct Counter {
//!     value: u32,
//! }
//!
//! struct Get;
//!
//! impl DoIt<Counter> for Get {
//!     fn doit(data: &Counter, req: &Request<'_>) -> Result {
//!         req.reply(CMD_GET, |msg| msg.put_u32(ATTR_VALUE, data.value))
//!     }
//! }
//!
//! impl DumpIt<Counter> for Get {
//!     // Whether the dump's one message was put.
//!     type Cursor = bool;
//!     fn dumpit(data: &Counter, dump: &mut Dump<'_, bool>) -> Result<DumpDone> {
//!         if !*dump.cursor() {
//!             if !dump.put(CMD_GET, |msg| msg.put_u32(ATTR_VALUE, data.value))? {
//!                 return Ok(DumpDone::More);
//!             }
//!             *dump.cursor() = true;
//!         }
//!         Ok(DumpDone::Done)
//!     }
//! }
//!
//! static POLICY: [Policy; 2] = [Policy::UNSPEC, Policy::u32()];
//! static OPS: [Op<Counter>; 2] = [
//!     Op::doit::<Get>(CMD_GET, &POLICY, 0),
//!     Op::dumpit::<Get>(CMD_GET, 0),
//! ];
//! static GROUPS: [MulticastGroup; 1] = [MulticastGroup::new(b"events\0", false)];
//! static FAMILY: Family<Counter> = Family::new(b"counter\0", 1, &OPS, &GROUPS);
//!
//! // A module's `init` registers it; dropping the registration unregisters:
//! // let reg = FAMILY.register(module, Arc::new(Counter { value: 42 }, GFP_KERNEL)?)?;
//! // Not registered, nobody listens.
//! assert!(!FAMILY.has_listeners(Net::init_net(), 0));
//! ```

use super::{bindings, net::Net};
use core::{
    ffi::{c_int, c_void},
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};
use kernel::{c_str, error::to_result, prelude::*, sync::Arc, types::Opaque};

/// The size of the message a `doit` reply or a notification starts with
/// (`GENLMSG_DEFAULT_SIZE`: a page less the headers).
const MSG_SIZE: usize = bindings::RNETNS_CONST_GENLMSG_DEFAULT_SIZE;

/// `EMSGSIZE`: no room in the message (the `kernel` crate of 6.12 lacks
/// it).
fn emsgsize() -> Error {
    Error::from_errno(-(bindings::EMSGSIZE as i32))
}

/// One entry of an attribute policy (`struct nla_policy`): the type and
/// checks of the attribute whose id is its index. Attribute 0 and every id
/// not in the request's attributes are [`Policy::UNSPEC`], which strict
/// validation rejects ("Unsupported attribute").
#[repr(transparent)]
pub(crate) struct Policy(bindings::nla_policy);

// SAFETY: plain data, never written after construction.
unsafe impl Sync for Policy {}

impl Policy {
    /// Not accepted in a request.
    pub(crate) const UNSPEC: Self = Self::of(bindings::NLA_UNSPEC, 0);

    /// Type `ty` (`NLA_*`), validation `validation` (`NLA_VALIDATE_*`) and
    /// the zeroed union.
    const fn of(ty: u32, validation: u32) -> Self {
        // SAFETY: `nla_policy` is plain data; all zeroes is valid.
        let mut p: bindings::nla_policy = unsafe { core::mem::zeroed() };
        p.type_ = ty as u8;
        p.validation_type = validation as u8;
        Self(p)
    }

    /// Refused in a request (`NLA_REJECT`), with `message` (NUL-terminated)
    /// as the extended ack's message. Panics at build time on a message
    /// without its NUL.
    const fn reject(message: &'static [u8]) -> Self {
        assert!(!message.is_empty() && message[message.len() - 1] == 0);
        let mut p = Self::of(
            bindings::NLA_REJECT,
            bindings::nla_policy_validation_NLA_VALIDATE_NONE,
        );
        p.0.__bindgen_anon_1.reject_message = message.as_ptr().cast();
        p
    }

    /// A `u32` (`NLA_U32`).
    pub(crate) const fn u32() -> Self {
        Self::of(
            bindings::NLA_U32,
            bindings::nla_policy_validation_NLA_VALIDATE_NONE,
        )
    }

    /// A flag (`NLA_FLAG`): present or not, no payload.
    pub(crate) const fn flag() -> Self {
        Self::of(
            bindings::NLA_FLAG,
            bindings::nla_policy_validation_NLA_VALIDATE_NONE,
        )
    }

    /// A `u32` of which only the bits of `mask` may be set
    /// (`NLA_POLICY_MASK(NLA_U32, mask)`).
    pub(crate) const fn u32_mask(mask: u32) -> Self {
        let mut p = Self::of(
            bindings::NLA_U32,
            bindings::nla_policy_validation_NLA_VALIDATE_MASK,
        );
        p.0.__bindgen_anon_1.mask = mask;
        p
    }

    /// An `s32` of at least `min` (`NLA_POLICY_MIN(NLA_S32, min)`).
    pub(crate) const fn s32_min(min: i16) -> Self {
        let mut p = Self::of(
            bindings::NLA_S32,
            bindings::nla_policy_validation_NLA_VALIDATE_MIN,
        );
        p.0.__bindgen_anon_1.__bindgen_anon_1.min = min;
        p
    }
}

/// The policy of an op that takes no attributes: two entries, as
/// genetlink's own reject-all policy on 6.12, because a `maxattr` of 0
/// means "no policy" there.
static REJECT_ALL: [Policy; 2] = [
    Policy::reject(b"takes no attributes\0"),
    Policy::reject(b"takes no attributes\0"),
];

/// A multicast group of a [`Family`] (`struct genl_multicast_group`).
#[repr(transparent)]
pub(crate) struct MulticastGroup(bindings::genl_multicast_group);

// SAFETY: plain data, never written after construction.
unsafe impl Sync for MulticastGroup {}

impl MulticastGroup {
    /// A group named `name` (NUL-terminated). With `net_admin`, only
    /// sockets whose namespace's user namespace they have `CAP_NET_ADMIN`
    /// over may join it (`GENL_MCAST_CAP_NET_ADMIN`). Panics at build time
    /// on a name that is too long or not NUL-terminated.
    pub(crate) const fn new(name: &[u8], net_admin: bool) -> Self {
        // SAFETY: plain data; all zeroes is valid.
        let mut g: bindings::genl_multicast_group = unsafe { core::mem::zeroed() };
        assert!(name.len() <= g.name.len() && name[name.len() - 1] == 0);
        let mut i = 0;
        while i < name.len() {
            g.name[i] = kernel::ffi::c_char::from_ne_bytes([name[i]]);
            i += 1;
        }
        if net_admin {
            g.flags = bindings::RNETNS_CONST_GENL_MCAST_CAP_NET_ADMIN;
        }
        Self(g)
    }
}

/// What a `doit` callback answers: a request with its parsed attributes.
pub(crate) trait DoIt<D>: 'static {
    /// Handles one request. The attributes were validated against the
    /// operation's policy. An error is the reply's errno; say what was wrong
    /// with [`Request::set_error`]. May sleep; runs concurrently with other
    /// callbacks (`parallel_ops`).
    fn doit(data: &D, req: &Request<'_>) -> Result;
}

/// What a `dumpit` callback answers: one part of a dump, from its cursor.
pub(crate) trait DumpIt<D>: 'static {
    /// Where a dump is between its parts: [`Default`] at its start, dropped
    /// when it ends (completed, failed, or its socket closed; in any
    /// context). At most 40 bytes (checked at build time).
    type Cursor: Default + Send;

    /// Fills `dump` with messages ([`Dump::put`]) from where its cursor
    /// says, and moves the cursor on. Returns [`DumpDone::More`] if the dump
    /// buffer is full (it is called again with the same cursor once the
    /// caller has read what it got) and [`DumpDone::Done`] when the dump is
    /// complete. May sleep.
    fn dumpit(data: &D, dump: &mut Dump<'_, Self::Cursor>) -> Result<DumpDone>;
}

/// Whether a dump has more to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DumpDone {
    /// The buffer is full; call again.
    More,
    /// Nothing more.
    Done,
}

/// One operation of a [`Family`] (`struct genl_split_ops`): the `doit` or
/// the `dumpit` of a command.
///
/// # Invariants
///
/// The callbacks are the trampolines of this module for the data type `D`
/// of the family the op is part of; `policy` is `'static`.
#[repr(transparent)]
pub(crate) struct Op<D>(bindings::genl_split_ops, PhantomData<D>);

// SAFETY: plain data and function pointers, never written after
// construction; the policy is a `'static` `Sync` table.
unsafe impl<D> Sync for Op<D> {}

impl<D: Send + Sync + 'static> Op<D> {
    /// `GENL_UNS_ADMIN_PERM`: needs `CAP_NET_ADMIN` over the user namespace
    /// that owns the requesting socket's network namespace.
    pub(crate) const UNS_ADMIN_PERM: u8 = bindings::GENL_UNS_ADMIN_PERM as u8;

    /// The `doit` of command `cmd`, answered by `H`, its attributes
    /// validated strictly against `policy` (index = attribute id), with
    /// permission `flags` ([`Op::UNS_ADMIN_PERM`] or 0).
    pub(crate) const fn doit<H: DoIt<D>>(cmd: u8, policy: &'static [Policy], flags: u8) -> Self {
        // SAFETY: plain data and function pointers; all zeroes is valid.
        let mut op: bindings::genl_split_ops = unsafe { core::mem::zeroed() };
        op.__bindgen_anon_1.__bindgen_anon_1.doit = Some(doit_callback::<D, H>);
        op.policy = policy.as_ptr().cast();
        op.maxattr = policy.len() as u32 - 1;
        op.cmd = cmd;
        op.flags = flags | bindings::GENL_CMD_CAP_DO as u8;
        Self(op, PhantomData)
    }

    /// The `dumpit` of command `cmd`, answered by `H`; a dump takes no
    /// attributes: its policy refuses every one ("takes no attributes";
    /// an id above 1: "Unknown attribute type", strict validation). Given here
    /// rather than left to genetlink, whose reject-all policy for split ops
    /// without one came after 6.12 (there, a dump's attributes would not
    /// be parsed at all). With permission `flags` as for [`Op::doit`].
    pub(crate) const fn dumpit<H: DumpIt<D>>(cmd: u8, flags: u8) -> Self {
        // SAFETY: as in `doit`.
        let mut op: bindings::genl_split_ops = unsafe { core::mem::zeroed() };
        op.policy = REJECT_ALL.as_ptr().cast();
        op.maxattr = REJECT_ALL.len() as u32 - 1;
        op.__bindgen_anon_1.__bindgen_anon_2.start = Some(dump_start::<D, H>);
        op.__bindgen_anon_1.__bindgen_anon_2.dumpit = Some(dump_callback::<D, H>);
        op.__bindgen_anon_1.__bindgen_anon_2.done = Some(dump_done::<D, H>);
        op.cmd = cmd;
        op.flags = flags | bindings::GENL_CMD_CAP_DUMP as u8;
        Self(op, PhantomData)
    }
}

/// Whether a socket has ever joined a multicast group of a family of this
/// module: set by [`bind_callback`], never cleared.
///
/// Genetlink calls a family's `bind` callback when a socket joins one of
/// its groups, after the permission check and before the socket is added
/// to the group's listeners; so while this is clear nobody can be
/// listening, and [`Family::has_listeners`] answers with one load instead
/// of asking netlink. Once any group has been joined, the exact check runs
/// for good (a socket leaving cannot clear it: `NETLINK_DROP_MEMBERSHIP`
/// calls `unbind` even for groups the socket never joined, so a count kept
/// from the callbacks could be driven to zero by anybody). One flag for the
/// module's families, not one per family: the callback gets only the
/// group's index.
static SUBSCRIBED: AtomicBool = AtomicBool::new(false);

/// The `bind` callback of every [`Family`]: a socket is joining one of its
/// groups (see [`SUBSCRIBED`]). Never refuses.
extern "C" fn bind_callback(_group: c_int) -> c_int {
    SUBSCRIBED.store(true, Ordering::Release);
    0
}

/// A generic netlink family, for a `static`: its name, version,
/// operations and multicast groups, and while registered the data its
/// operations use.
///
/// # Invariants
///
/// `family` is written only by [`Family::register`], while `registered`
/// is claimed and before `genl_register_family()`. `data` is null or an
/// `Arc<D>`'s pointer, owned by the [`Registration`], and non-null from
/// before the family is registered until after it is unregistered. `live`
/// is set only while the family is registered; it is cleared an RCU grace
/// period before the family is unregistered.
#[repr(C)]
pub(crate) struct Family<D: 'static> {
    /// The C family; first, so that a `genl_family` pointer is one to us.
    family: Opaque<bindings::genl_family>,
    /// Name (NUL-terminated), version, ops, groups.
    name: &'static [u8],
    /// The family's version.
    version: u32,
    /// The ops, sorted by command, `doit` before `dumpit`.
    ops: &'static [Op<D>],
    /// The multicast groups.
    groups: &'static [MulticastGroup],
    /// The data of the registration.
    data: AtomicPtr<D>,
    /// Whether a registration exists (or is being made).
    registered: AtomicBool,
    /// Whether notifications may be sent (see the invariants).
    live: AtomicBool,
}

// SAFETY: the C family is written only while no one else can see it (type
// invariant); `D` is shared with the ops' callbacks on any CPU.
unsafe impl<D: Send + Sync> Sync for Family<D> {}

impl<D: Send + Sync + 'static> Family<D> {
    /// A family named `name` (NUL-terminated, at most `GENL_NAMSIZ` bytes
    /// with the NUL), `version`, operations `ops` (sorted by command, the
    /// `doit` of a command before its `dumpit`) and multicast groups
    /// `groups`. Network-namespace aware (`netnsok`), with parallel
    /// operations.
    pub(crate) const fn new(
        name: &'static [u8],
        version: u32,
        ops: &'static [Op<D>],
        groups: &'static [MulticastGroup],
    ) -> Self {
        assert!(name.len() <= bindings::GENL_NAMSIZ as usize && name[name.len() - 1] == 0);
        assert!(ops.len() < 256 && groups.len() < 256);
        Self {
            // SAFETY: plain data; all zeroes is valid (filled in `register`).
            family: Opaque::new(unsafe { core::mem::zeroed() }),
            name,
            version,
            ops,
            groups,
            data: AtomicPtr::new(core::ptr::null_mut()),
            registered: AtomicBool::new(false),
            live: AtomicBool::new(false),
        }
    }

    /// Registers the family, its operations answering with `data` from
    /// now on, owned by `module`. Fails with `EBUSY` if it is registered
    /// already, or with genetlink's error (`EEXIST`: a family of that name
    /// exists). May sleep.
    pub(crate) fn register(
        &'static self,
        module: &'static ThisModule,
        data: Arc<D>,
    ) -> Result<Registration<D>> {
        if self.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: `registered` was clear, so the C family is not registered
        // and nothing else writes or reads it (invariant).
        let family = unsafe { &mut *self.family.get() };
        // SAFETY: as above; all zeroes is valid.
        *family = unsafe { core::mem::zeroed() };
        for (dst, src) in family.name.iter_mut().zip(self.name) {
            *dst = kernel::ffi::c_char::from_ne_bytes([*src]);
        }
        family.version = self.version;
        family.set_netnsok(1);
        family.set_parallel_ops(1);
        family.split_ops = self.ops.as_ptr().cast();
        family.n_split_ops = self.ops.len() as u8;
        family.bind = Some(bind_callback);
        family.mcgrps = self.groups.as_ptr().cast();
        family.n_mcgrps = self.groups.len() as u8;
        // `resv_start_op` stays 0, as for every new family: each command
        // gets genetlink's header checks (reserved field, flags) and strict
        // attribute validation.
        family.module = module.as_ptr().cast();
        let ptr = Arc::into_raw(data).cast_mut();
        // INVARIANT: non-null before the family is registered.
        self.data.store(ptr, Ordering::Release);
        // SAFETY: the family is filled in and static; its ops' callbacks
        // find `data` from now on.
        let r = to_result(unsafe { bindings::genl_register_family(self.family.get()) });
        if let Err(e) = r {
            self.data.store(core::ptr::null_mut(), Ordering::Release);
            // SAFETY: made by `into_raw` above; no op can have seen it.
            drop(unsafe { Arc::from_raw(ptr) });
            self.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registered just above.
        self.live.store(true, Ordering::Release);
        Ok(Registration { family: self })
    }

    /// The family of a `genl_family` pointer genetlink passes to the ops'
    /// callbacks.
    ///
    /// # Safety
    ///
    /// `ptr` must be the `family` of a `Family<D>` (the ops of this module
    /// are only ever part of one).
    unsafe fn from_raw<'a>(ptr: *const bindings::genl_family) -> &'a Self {
        // SAFETY: `family` is the first field of a `repr(C)` `Family<D>`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Whether anybody in `net` listens to group `group` (an index into the
    /// groups), `genl_has_listeners()`: false while the family is not
    /// registered. Cheap: until a socket first joins a group of this
    /// module's families one load (see `SUBSCRIBED`), then two loads and
    /// one call that tests a bit. As racy as `genl_has_listeners()`: a
    /// socket joining meanwhile may or may not be counted. Out of line, so
    /// that the benchmark counts its instructions by symbol.
    #[inline(never)]
    pub(crate) fn has_listeners(&self, net: &Net, group: u32) -> bool {
        if !SUBSCRIBED.load(Ordering::Acquire)
            || !self.live.load(Ordering::Acquire)
            || group as usize >= self.groups.len()
        {
            return false;
        }
        // SAFETY: the family is static; `genl_has_listeners()` only reads
        // its group offset and the namespace's genetlink socket's listener
        // bitmap (under RCU inside).
        unsafe { bindings::rnetns_genl_has_listeners(self.family.get(), net.as_raw(), group) > 0 }
    }

    /// Sends a message with command `cmd`, filled in by `fill`, to the
    /// listeners of group `group` (an index into the groups) in `net`, if
    /// there are any and the family is registered; does nothing otherwise
    /// (before building anything). May sleep (it allocates with
    /// `GFP_KERNEL`); errors are the allocation's, `fill`'s or delivery's
    /// (`ESRCH`: no listener left).
    pub(crate) fn notify(
        &self,
        net: &Net,
        group: u32,
        cmd: u8,
        fill: impl FnOnce(&mut Msg<'_>) -> Result,
    ) -> Result {
        if !self.has_listeners(net, group) {
            return Ok(());
        }
        let buf = MsgBuf::new(MSG_SIZE)?;
        // SAFETY: the family is static, initialised since `live` was set.
        let hdr = unsafe { bindings::genlmsg_put(buf.skb(), 0, 0, self.family.get(), 0, cmd) };
        let mut msg = Msg::new(buf.skb(), hdr)?;
        fill(&mut msg)?;
        msg.end();
        let skb = buf.into_raw();
        // The family stays registered until this read-side section ends:
        // `Registration::drop` clears `live` and waits for a grace period
        // before unregistering.
        // SAFETY: no preconditions.
        unsafe { bindings::rnetns_rcu_read_lock() };
        let r = if self.live.load(Ordering::Acquire) {
            // SAFETY: registered (above); the message is complete and
            // ownership passes to genetlink, which frees it.
            to_result(unsafe {
                bindings::rnetns_genlmsg_multicast_netns(
                    self.family.get(),
                    net.as_raw(),
                    skb,
                    group,
                )
            })
        } else {
            // SAFETY: ours, never sent.
            unsafe { bindings::rnetns_nlmsg_free(skb) };
            Ok(())
        };
        // SAFETY: the read lock taken above.
        unsafe { bindings::rnetns_rcu_read_unlock() };
        r
    }
}

/// A registration of a [`Family`], unregistered when dropped (after which
/// no `doit` runs; a dump in progress keeps its reference to the data).
///
/// # Invariants
///
/// `family` is registered, and its `data` set, until `drop`.
pub(crate) struct Registration<D: Send + Sync + 'static> {
    /// The family.
    family: &'static Family<D>,
}

impl<D: Send + Sync + 'static> Drop for Registration<D> {
    fn drop(&mut self) {
        let f = self.family;
        // No notification is being sent once the grace period has passed.
        f.live.store(false, Ordering::Release);
        // SAFETY: may sleep; no preconditions.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: registered (invariant). Genetlink waits for the `doit`s
        // in progress (they run under its callback lock, which this takes
        // for writing); dumps hold their own reference to the data.
        unsafe { bindings::genl_unregister_family(f.family.get()) };
        let ptr = f.data.swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: made by `Arc::into_raw` in `register`; no `doit` uses it
        // any more.
        drop(unsafe { Arc::from_raw(ptr) });
        f.registered.store(false, Ordering::Release);
    }
}

/// A message buffer of our own (`genlmsg_new()`), freed unless handed on.
///
/// # Invariants
///
/// `skb` is a socket buffer this value owns.
struct MsgBuf {
    /// The buffer.
    skb: NonNull<bindings::sk_buff>,
}

impl MsgBuf {
    /// A buffer with room for `payload` bytes of attributes. May sleep.
    fn new(payload: usize) -> Result<Self> {
        // SAFETY: no preconditions.
        let skb = unsafe { bindings::rnetns_genlmsg_new(payload) };
        // INVARIANT: a new buffer, ours.
        NonNull::new(skb).map(|skb| Self { skb }).ok_or(ENOMEM)
    }

    /// The buffer's pointer.
    fn skb(&self) -> *mut bindings::sk_buff {
        self.skb.as_ptr()
    }

    /// Gives the buffer up (to a function that consumes it).
    fn into_raw(self) -> *mut bindings::sk_buff {
        let skb = self.skb.as_ptr();
        core::mem::forget(self);
        skb
    }
}

impl Drop for MsgBuf {
    fn drop(&mut self) {
        // SAFETY: ours (invariant), not handed on.
        unsafe { bindings::rnetns_nlmsg_free(self.skb.as_ptr()) };
    }
}

/// A generic netlink message being built in a socket buffer: typed
/// attribute puts and nests. A put that does not fit fails with `EMSGSIZE`
/// and leaves the message as it was; a message that is not ended is
/// cancelled when dropped.
///
/// # Invariants
///
/// `hdr` is the generic netlink header of a message at the end of `skb`,
/// which outlives `'a`; the message is the last thing in the buffer.
pub(crate) struct Msg<'a> {
    /// The buffer.
    skb: *mut bindings::sk_buff,
    /// The message's header.
    hdr: NonNull<c_void>,
    /// Whether [`Msg::end`] closed the message.
    ended: bool,
    /// The buffer outlives the message.
    _skb: PhantomData<&'a ()>,
}

impl<'a> Msg<'a> {
    /// The message whose header `genlmsg_put()` returned (`EMSGSIZE` if it
    /// returned null: no room).
    fn new(skb: *mut bindings::sk_buff, hdr: *mut c_void) -> Result<Self> {
        let hdr = NonNull::new(hdr).ok_or_else(emsgsize)?;
        // INVARIANT: `genlmsg_put()` put the header last in `skb`.
        Ok(Self {
            skb,
            hdr,
            ended: false,
            _skb: PhantomData,
        })
    }

    /// Puts attribute `ty` with payload `bytes`.
    fn put_bytes(&mut self, ty: u16, bytes: &[u8]) -> Result {
        // SAFETY: the buffer is valid (invariant); `bytes` is readable for
        // its length, which fits in an `int` (attribute payloads here are a
        // few bytes).
        to_result(unsafe {
            bindings::nla_put(
                self.skb,
                c_int::from(ty),
                bytes.len() as c_int,
                bytes.as_ptr().cast(),
            )
        })
    }

    /// Puts a `u8` attribute.
    pub(crate) fn put_u8(&mut self, ty: u16, value: u8) -> Result {
        self.put_bytes(ty, &[value])
    }

    /// Puts a `u32` attribute (host byte order).
    pub(crate) fn put_u32(&mut self, ty: u16, value: u32) -> Result {
        self.put_bytes(ty, &value.to_ne_bytes())
    }

    /// Puts a `u64` attribute, aligned to 8 bytes where the architecture
    /// needs it with a pad attribute of type `pad` (`nla_put_64bit()`).
    pub(crate) fn put_u64(&mut self, ty: u16, value: u64, pad: u16) -> Result {
        let bytes = value.to_ne_bytes();
        // SAFETY: as in `put_bytes`.
        to_result(unsafe {
            bindings::nla_put_64bit(
                self.skb,
                c_int::from(ty),
                8,
                bytes.as_ptr().cast(),
                c_int::from(pad),
            )
        })
    }

    /// Puts a variable-width unsigned attribute (`uint` in a spec: 4 bytes
    /// if the value fits, else 8).
    pub(crate) fn put_uint(&mut self, ty: u16, value: u64) -> Result {
        // SAFETY: the buffer is valid (invariant).
        to_result(unsafe { bindings::rnetns_nla_put_uint(self.skb, c_int::from(ty), value) })
    }

    /// Puts a nest of type `ty` whose attributes `fill` puts; if `fill`
    /// fails, the whole nest is taken out again and its error returned.
    pub(crate) fn nest(&mut self, ty: u16, fill: impl FnOnce(&mut Self) -> Result) -> Result {
        // SAFETY: the buffer is valid (invariant).
        let start = unsafe { bindings::rnetns_nla_nest_start(self.skb, c_int::from(ty)) };
        if start.is_null() {
            return Err(emsgsize());
        }
        match fill(self) {
            // SAFETY: `start` opened this nest, the last one open.
            Ok(()) => unsafe { bindings::rnetns_nla_nest_end(self.skb, start) },
            Err(e) => {
                // SAFETY: as above; removes it and what it holds.
                unsafe { bindings::rnetns_nla_nest_cancel(self.skb, start) };
                return Err(e);
            }
        }
        Ok(())
    }

    /// Closes the message (sets its length).
    fn end(&mut self) {
        // SAFETY: `hdr` is this message's header (invariant).
        unsafe { bindings::rnetns_genlmsg_end(self.skb, self.hdr.as_ptr()) };
        self.ended = true;
    }
}

impl Drop for Msg<'_> {
    fn drop(&mut self) {
        if !self.ended {
            // SAFETY: the message is the last thing in the buffer
            // (invariant); cancelling trims the buffer back to before it.
            unsafe { bindings::rnetns_genlmsg_cancel(self.skb, self.hdr.as_ptr()) };
        }
    }
}

/// A request being answered by a `doit` callback.
///
/// # Invariants
///
/// `skb` and `info` are genetlink's for the duration of the callback, and
/// `info.attrs` has `maxattr + 1` entries of attributes validated against
/// the op's policy.
pub(crate) struct Request<'a> {
    /// The request's buffer.
    skb: *mut bindings::sk_buff,
    /// The parsed request.
    info: *mut bindings::genl_info,
    /// The op's largest attribute id.
    maxattr: u16,
    /// Valid for the callback.
    _cb: PhantomData<&'a ()>,
}

impl Request<'_> {
    /// The first attribute type that occurs more than once at the top
    /// level of the request, if any.
    fn repeated(&self) -> Option<u16> {
        let mut seen = 0u64;
        // SAFETY: `info` is genetlink's, with its request's header
        // (invariant).
        let (mut nla, mut rem) = unsafe {
            (
                bindings::rnetns_genl_attrdata(self.info),
                bindings::rnetns_genl_attrlen(self.info),
            )
        };
        // SAFETY: `nla_ok` checks that `nla` and its payload lie within the
        // `rem` bytes left of the request, which `nla_next` keeps up.
        while unsafe { bindings::rnetns_nla_ok(nla, rem) } != 0 {
            // SAFETY: `nla_ok` said `nla` is within the request.
            let ty = unsafe { bindings::rnetns_nla_type(nla) };
            // Strict validation refused types above `maxattr` (< 64).
            if let Ok(ty) = u16::try_from(ty) {
                if ty < 64 {
                    if seen & (1 << ty) != 0 {
                        return Some(ty);
                    }
                    seen |= 1 << ty;
                }
            }
            // SAFETY: as above; `rem` is ours.
            nla = unsafe { bindings::rnetns_nla_next(nla, &mut rem) };
        }
        None
    }

    /// Attribute `ty` if present.
    fn attr(&self, ty: u16) -> Option<NonNull<bindings::nlattr>> {
        if ty > self.maxattr {
            return None;
        }
        // SAFETY: `attrs` has `maxattr + 1` entries (invariant).
        NonNull::new(unsafe { *(*self.info).attrs.add(usize::from(ty)) })
    }

    /// The payload of attribute `ty`, if present, as `N` bytes (the policy
    /// checked the length of typed attributes).
    fn payload<const N: usize>(&self, ty: u16) -> Option<[u8; N]> {
        let a = self.attr(ty)?;
        // SAFETY: validated: an attribute header followed by at least its
        // payload, which for a fixed-size type is `N` bytes.
        unsafe {
            let len = usize::from((*a.as_ptr()).nla_len);
            if len < bindings::RNETNS_CONST_NLA_HDRLEN + N {
                return None;
            }
            Some(
                a.as_ptr()
                    .cast::<u8>()
                    .add(bindings::RNETNS_CONST_NLA_HDRLEN)
                    .cast::<[u8; N]>()
                    .read_unaligned(),
            )
        }
    }

    /// A `u32` attribute, if present.
    pub(crate) fn u32(&self, ty: u16) -> Option<u32> {
        self.payload::<4>(ty).map(u32::from_ne_bytes)
    }

    /// An `s32` attribute, if present.
    pub(crate) fn s32(&self, ty: u16) -> Option<i32> {
        self.payload::<4>(ty).map(i32::from_ne_bytes)
    }

    /// Whether flag attribute `ty` is present.
    pub(crate) fn flag(&self, ty: u16) -> bool {
        self.attr(ty).is_some()
    }

    /// The network namespace of the requesting socket, referenced.
    pub(crate) fn net(&self) -> Result<super::net::NetRef> {
        // SAFETY: `info` is valid (invariant); its namespace is the
        // socket's, which the socket holds.
        let net = unsafe { Net::from_raw(bindings::rnetns_genl_info_net(self.info)) };
        super::net::NetRef::get(net).ok_or(ENODEV)
    }

    /// Whether the requesting socket has `CAP_NET_ADMIN` over the user
    /// namespace that owns `net` (`netlink_ns_capable()`: the opener's
    /// credentials, as genetlink's own permission flags check).
    pub(crate) fn net_admin_over(&self, net: &Net) -> bool {
        // SAFETY: `skb` is valid (invariant), `net` alive.
        unsafe {
            bindings::netlink_ns_capable(self.skb, net.user_ns(), bindings::CAP_NET_ADMIN as c_int)
        }
    }

    /// Says in the reply's extended ack what was wrong (`NL_SET_ERR_MSG`),
    /// naming attribute `ty` if present (`NL_SET_ERR_MSG_ATTR`).
    pub(crate) fn set_error(&self, ty: Option<u16>, msg: &'static kernel::str::CStr) {
        // SAFETY: `info` is valid (invariant); the message is static.
        unsafe {
            let ext = (*self.info).extack;
            if ext.is_null() {
                return;
            }
            (*ext)._msg = msg.as_char_ptr();
            if let Some(a) = ty.and_then(|ty| self.attr(ty)) {
                (*ext).bad_attr = a.as_ptr();
            }
        }
    }

    /// Answers with one message of command `cmd` that `fill` fills in.
    /// May sleep.
    pub(crate) fn reply(&self, cmd: u8, fill: impl FnOnce(&mut Msg<'_>) -> Result) -> Result {
        let buf = MsgBuf::new(MSG_SIZE)?;
        // SAFETY: `info` is valid (invariant); its family is registered.
        let hdr = unsafe {
            bindings::genlmsg_put(
                buf.skb(),
                (*self.info).snd_portid,
                (*self.info).snd_seq,
                (*self.info).family,
                0,
                cmd,
            )
        };
        let mut msg = Msg::new(buf.skb(), hdr)?;
        fill(&mut msg)?;
        msg.end();
        // SAFETY: a complete message; `genlmsg_reply()` consumes the
        // buffer whatever it returns.
        to_result(unsafe { bindings::rnetns_genlmsg_reply(buf.into_raw(), self.info) })
    }
}

/// A part of a dump being filled in: the dump's buffer and its cursor, a
/// `C`.
///
/// # Invariants
///
/// `skb`, `cb` and `info` are netlink's for the duration of the callback;
/// `ctx` is the dump's context, made by `dump_start`.
pub(crate) struct Dump<'a, C> {
    /// The buffer going to the reader.
    skb: *mut bindings::sk_buff,
    /// The dump's state.
    cb: *mut bindings::netlink_callback,
    /// The request.
    info: *const bindings::genl_info,
    /// Where the dump is.
    ctx: &'a mut DumpCtx<C>,
}

/// What a dump keeps between its parts, in `netlink_callback.ctx`.
///
/// # Invariants
///
/// From `dump_start` to `dump_done`, `data` is an `Arc<D>`'s pointer for
/// the family's data type `D` (null once `done` dropped it) and `cursor`
/// is initialised.
#[repr(C)]
struct DumpCtx<C> {
    /// The family's data (`Arc::into_raw`), for as long as the dump lasts.
    data: *const c_void,
    /// The callback's cursor.
    cursor: core::mem::MaybeUninit<C>,
}

impl<C> Dump<'_, C> {
    /// The cursor: [`Default`] at the start of a dump, then what the
    /// callback left there.
    pub(crate) fn cursor(&mut self) -> &mut C {
        // SAFETY: initialised from `start` to `done` (invariant).
        unsafe { self.ctx.cursor.assume_init_mut() }
    }

    /// The network namespace of the dumping socket (not referenced: the
    /// socket holds it for the callback).
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: `cb->skb` is the request, from the dumping socket, which
        // holds its namespace while it dumps (invariant).
        unsafe { Net::from_raw(bindings::rnetns_skb_sock_net((*self.cb).skb)) }
    }

    /// Whether the dumping socket has `CAP_NET_ADMIN` over the user
    /// namespace that owns `net`.
    pub(crate) fn net_admin_over(&self, net: &Net) -> bool {
        // SAFETY: `cb->skb` is valid (invariant), `net` alive.
        unsafe {
            bindings::netlink_ns_capable(
                (*self.cb).skb,
                net.user_ns(),
                bindings::CAP_NET_ADMIN as c_int,
            )
        }
    }

    /// Puts one message of command `cmd` that `fill` fills in. `Ok(false)`
    /// if it does not fit in what is left of the buffer (nothing is put:
    /// stop, and put it in the next part); `EMSGSIZE` if it does not fit in
    /// an empty buffer either; `fill`'s error otherwise.
    pub(crate) fn put(
        &mut self,
        cmd: u8,
        fill: impl FnOnce(&mut Msg<'_>) -> Result,
    ) -> Result<bool> {
        // SAFETY: the buffer and the request are valid (invariant).
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb,
                (*self.info).snd_portid,
                (*self.info).snd_seq,
                (*self.info).family,
                bindings::NLM_F_MULTI as c_int,
                cmd,
            )
        };
        let r = Msg::new(self.skb, hdr).and_then(|mut msg| {
            fill(&mut msg)?;
            msg.end();
            Ok(())
        });
        match r {
            Ok(()) => Ok(true),
            // SAFETY: the buffer is valid (invariant).
            Err(e) if e == emsgsize() && unsafe { bindings::rnetns_skb_len(self.skb) } > 0 => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// The `doit` trampoline of `H`.
///
/// # Safety
///
/// Only for genetlink, as the `doit` of an [`Op::doit`] of a registered
/// `Family<D>`.
unsafe extern "C" fn doit_callback<D: Send + Sync + 'static, H: DoIt<D>>(
    skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> c_int {
    // SAFETY: genetlink passes the op's family, a `Family<D>` (`Op`
    // invariant), and a valid request; the family's data stays set until
    // this call returns (registered; genetlink's callback lock).
    let (data, maxattr) = unsafe {
        let family = Family::<D>::from_raw((*info).family);
        let op = family.ops.iter().find(|op| {
            op.0.cmd == (*(*info).genlhdr).cmd && op.0.flags & bindings::GENL_CMD_CAP_DO as u8 != 0
        });
        (
            &*family.data.load(Ordering::Acquire),
            op.map_or(0, |op| op.0.maxattr as u16),
        )
    };
    // INVARIANT: genetlink's request, parsed with the op's policy.
    let req = Request {
        skb,
        info,
        maxattr,
        _cb: PhantomData,
    };
    // The policy parse keeps the last of repeated attributes; a request
    // that gives one twice is ambiguous, and refused.
    if let Some(ty) = req.repeated() {
        req.set_error(Some(ty), c_str!("attribute given more than once"));
        return EINVAL.to_errno();
    }
    match H::doit(data, &req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The dump's context in `cb`.
///
/// # Safety
///
/// `cb` must be a valid `netlink_callback`, not used elsewhere meanwhile.
unsafe fn dump_ctx<'a, C>(cb: *mut bindings::netlink_callback) -> &'a mut DumpCtx<C> {
    // The union of `ctx` and `args`: 48 bytes, 8-aligned.
    const {
        assert!(
            core::mem::size_of::<DumpCtx<C>>()
                <= core::mem::size_of::<bindings::netlink_callback__bindgen_ty_1>()
                && core::mem::align_of::<DumpCtx<C>>() <= 8
        )
    };
    // SAFETY: `ctx` is 48 bytes, 8-aligned (it is unioned with `long
    // args[6]`), owned by the dump (caller's contract); big and aligned
    // enough (checked above). `MaybeUninit` makes any content valid.
    unsafe { &mut *core::ptr::addr_of_mut!((*cb).__bindgen_anon_1.ctx).cast::<DumpCtx<C>>() }
}

/// The `start` trampoline: the dump takes a reference to the family's data.
///
/// # Safety
///
/// Only for genetlink, as the `start` of an [`Op::dumpit`] of a registered
/// `Family<D>`.
unsafe extern "C" fn dump_start<D: Send + Sync + 'static, H: DumpIt<D>>(
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: genetlink passes a new dump of the op's family, a registered
    // `Family<D>`: its data is set while `start` runs (genetlink's callback
    // lock), an `Arc<D>`'s.
    unsafe {
        let info = bindings::rnetns_genl_info_dump(cb);
        let family = Family::<D>::from_raw((*info).family);
        let data = family.data.load(Ordering::Acquire);
        // A new reference, for the dump: the registration keeps its own.
        let data = Arc::into_raw(Arc::clone(&core::mem::ManuallyDrop::new(Arc::from_raw(
            data,
        ))));
        let ctx = dump_ctx::<H::Cursor>(cb);
        ctx.data = data.cast();
        // INVARIANT: both set.
        ctx.cursor.write(H::Cursor::default());
    }
    0
}

/// The `dumpit` trampoline of `H`.
///
/// # Safety
///
/// Only for netlink, as the `dumpit` of an [`Op::dumpit`] of a
/// `Family<D>`, after its `start` and before its `done`.
unsafe extern "C" fn dump_callback<D: Send + Sync + 'static, H: DumpIt<D>>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: the dump's context, made by `start`, holds a reference to
    // the data until `done`.
    let (ctx, data, info) = unsafe {
        let ctx = dump_ctx::<H::Cursor>(cb);
        let data = &*ctx.data.cast::<D>();
        (ctx, data, bindings::rnetns_genl_info_dump(cb))
    };
    // INVARIANT: netlink's buffer and dump, for this call.
    let mut dump = Dump { skb, cb, info, ctx };
    match H::dumpit(data, &mut dump) {
        Ok(DumpDone::Done) => 0,
        Ok(DumpDone::More) => {
            // SAFETY: the buffer is valid.
            let len = unsafe { bindings::rnetns_skb_len(skb) };
            len as c_int
        }
        Err(e) => e.to_errno(),
    }
}

/// The `done` trampoline: the dump drops its cursor and its reference to
/// the data.
///
/// # Safety
///
/// Only for netlink, as the `done` of an [`Op::dumpit`] of a `Family<D>`
/// answered by `H`; called once, after `start` succeeded (netlink zeroes
/// the context before a dump, so `data` is null if `start` never ran).
unsafe extern "C" fn dump_done<D: Send + Sync + 'static, H: DumpIt<D>>(
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: the dump's context; `data` is non-null only from `start`,
    // which set the cursor too (invariant); both dropped once.
    unsafe {
        let ctx = dump_ctx::<H::Cursor>(cb);
        let data = core::mem::replace(&mut ctx.data, core::ptr::null());
        if !data.is_null() {
            ctx.cursor.assume_init_drop();
            drop(Arc::<D>::from_raw(data.cast()));
        }
    }
    0
}
