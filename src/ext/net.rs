// SPDX-License-Identifier: GPL-2.0

//! Network namespaces (`struct net`).
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)
//!
//! # Examples
//!
//! ```
//! use kernel::net::namespace::{Net, NetRef};
//!
//! let init = Net::init_net();
//! assert!(init.is_init_net());
//! assert_ne!(init.inum(), 0);
//! // A counted reference holds the namespace, and derefs to it.
//! let held = NetRef::get(init).expect("init_net never dies");
//! assert_eq!(held.cookie(), init.cookie());
//! assert!(held.is_init_net());
//! ```

use super::bindings;
use core::{
    ffi::c_void,
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{prelude::*, types::Opaque};

/// The offset of `gen` in `struct net`, from the C compiler that built the
/// kernel (`rnetns_net_gen_offset()`), for [`Net::generic_rcu`]: 0 until
/// [`Net::publish_generic_layout`] stores it.
static NET_GEN_OFFSET: AtomicUsize = AtomicUsize::new(0);

/// A network namespace.
///
/// Wraps the C `struct net`. Code outside the abstraction layer only sees it
/// by reference, handed out by the callbacks of the `pernet`, `netfilter`
/// and `proc` abstractions.
///
/// # Invariants
///
/// A `&Net` refers to a `struct net` that stays allocated for the lifetime of
/// the reference: every callback that hands one out runs while the netns core
/// (or an open proc file) holds the namespace.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// Creates a reference to a `Net` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct net` that stays allocated for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net) -> &'a Self {
        // SAFETY: `Net` is `repr(transparent)` over `Opaque<bindings::net>`,
        // which has the layout of `bindings::net`; the caller guarantees the
        // pointee stays allocated for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer to the C `struct net`.
    pub(crate) fn as_raw(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// The pointer in slot `id` of this namespace's `net_generic` array, as
    /// `net_generic()` returns it, inlined, for the packet path: without the
    /// call, and without taking the RCU read lock, which the caller holds.
    ///
    /// # Safety
    ///
    /// The caller must be in an RCU read-side critical section, `id` must
    /// be the id of pernet operations whose `init` has run for this
    /// namespace (so that its array has slot `id`), and
    /// [`Net::publish_generic_layout`] must have succeeded before the
    /// caller was made reachable (a netfilter hook registered after it).
    #[inline(always)]
    pub(crate) unsafe fn generic_rcu(&self, id: u32) -> *mut c_void {
        // `net->gen` is RCU-protected: loaded once with a volatile load, as
        // `rcu_dereference()` does (without its lockdep check). Its offset is
        // the C compiler's, published before the hook was registered (one
        // load from a static, no call); the offset of `ptr` is bindgen's,
        // checked against the C compiler's by the same publication.
        // The caller holds the RCU read lock, so the array `gen` points to
        // stays allocated, and it has slot `id` (contract).
        // SAFETY: the namespace is allocated (type invariant), `gen` is at
        // that offset in it (published: caller's contract); see above.
        unsafe {
            let net = self.as_raw().cast::<u8>();
            let gen = core::ptr::read_volatile(
                net.add(NET_GEN_OFFSET.load(Ordering::Relaxed))
                    .cast::<*const u8>(),
            );
            *gen.add(bindings::RNETNS_CONST_NET_GENERIC_PTR)
                .cast::<*mut c_void>()
                .add(id as usize)
        }
    }

    /// Publishes, for [`Net::generic_rcu`], the offset of `gen` in `struct
    /// net` that the C compiler which built the kernel gives it (bindgen's
    /// libclang need not lay out `struct net` as gcc does), and checks that
    /// the offset of `ptr` in `struct net_generic` that bindgen computed is
    /// the C compiler's. On a mismatch it says so in the kernel log and
    /// fails with `EINVAL`: nothing may then read a namespace's
    /// `net_generic` array inline. Call it before registering anything
    /// that calls [`Net::generic_rcu`]; calling it again publishes the same
    /// value. May be called from any context.
    pub(crate) fn publish_generic_layout() -> Result {
        // SAFETY: the helpers only return `offsetof()` values.
        let (gen, ptr) = unsafe {
            (
                bindings::rnetns_net_gen_offset(),
                bindings::rnetns_net_generic_ptr_offset(),
            )
        };
        if ptr != bindings::RNETNS_CONST_NET_GENERIC_PTR {
            pr_err!(
                "struct net_generic: bindgen puts ptr at offset {}, the kernel's C compiler at {}; refusing to read it\n",
                bindings::RNETNS_CONST_NET_GENERIC_PTR,
                ptr
            );
            return Err(EINVAL);
        }
        // Ordered before the hooks' loads as the pernet id is: netfilter
        // publishes a hook registered after this with a release store.
        NET_GEN_OFFSET.store(gen, Ordering::Relaxed);
        Ok(())
    }

    /// The namespace's inode number, as `stat -L /proc/<pid>/ns/net` shows.
    ///
    /// Assigned before any module's pernet `init` runs (by the netns core's
    /// own first pernet operations, or when the namespace is allocated) and
    /// never changed while the namespace lives.
    pub(crate) fn inum(&self) -> u32 {
        // SAFETY: by the type invariant the namespace is allocated; `ns.inum`
        // is written before any module's pernet callback can see the
        // namespace and not written again until it is freed.
        unsafe { bindings::rnetns_net_inum(self.as_raw()) }
    }

    /// The namespace's cookie: a number unique for the life of the system
    /// (the one `SO_NETNS_COOKIE` returns).
    ///
    /// Assigned by `setup_net()` before it calls any pernet `init`, or when
    /// the namespace is allocated, and never changed afterwards.
    pub(crate) fn cookie(&self) -> u64 {
        // SAFETY: by the type invariant the namespace is allocated;
        // `net_cookie` is written before any pernet callback can see the
        // namespace and not written again.
        unsafe { bindings::rnetns_net_cookie(self.as_raw()) }
    }

    /// `init_net`, the namespace the system booted in, which never goes.
    pub(crate) fn init_net() -> &'static Net {
        // SAFETY: `init_net` is a static, alive for the life of the system.
        unsafe { Net::from_raw(core::ptr::addr_of!(bindings::init_net)) }
    }

    /// Whether this is `init_net`, the namespace the system booted in.
    pub(crate) fn is_init_net(&self) -> bool {
        core::ptr::eq(self.as_raw(), core::ptr::addr_of!(bindings::init_net))
    }

    /// The user namespace that owns this network namespace.
    pub(crate) fn user_ns(&self) -> *mut bindings::user_namespace {
        // SAFETY: by the type invariant the namespace is allocated; `user_ns`
        // is set at creation and never changed.
        unsafe { bindings::rnetns_net_user_ns(self.as_raw()) }
    }

    /// The namespace's `/proc/net` directory.
    pub(crate) fn proc_net(&self) -> *mut bindings::proc_dir_entry {
        // `proc_net` is made by the proc core's own pernet operations,
        // registered before any module's: set up before, torn down after.
        // SAFETY: by the type invariant the namespace is allocated.
        unsafe { bindings::rnetns_net_proc_net(self.as_raw()) }
    }
}

/// A counted reference to a network namespace (`get_net()` ... `put_net()`):
/// while it exists the namespace is alive and not being torn down (the
/// netns core dismantles a namespace only once its count reaches zero).
///
/// # Invariants
///
/// `ptr` points to a `struct net` on which this value holds one reference.
pub(crate) struct NetRef {
    /// The namespace.
    ptr: NonNull<bindings::net>,
}

// SAFETY: a reference may be dropped (`put_net()`) on any task; `Net` is
// only read through it.
unsafe impl Send for NetRef {}
// SAFETY: as above.
unsafe impl Sync for NetRef {}

impl NetRef {
    /// A new reference to `net`, unless its count already dropped to zero
    /// (it is about to be torn down): `maybe_get_net()`.
    pub(crate) fn get(net: &Net) -> Option<Self> {
        // SAFETY: `net` is allocated (type invariant of `Net`);
        // `maybe_get_net()` takes a reference only if the count is not zero.
        let ptr = unsafe { bindings::rnetns_maybe_get_net(net.as_raw()) };
        // INVARIANT: `maybe_get_net()` took a reference when non-null.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }

    /// The namespace of an open file descriptor of the calling task
    /// (`/run/netns/NAME`, `/proc/PID/ns/net`), as `IFLA_NET_NS_FD` does:
    /// `EBADF` if `fd` is not open, `EINVAL` if it is not a network
    /// namespace. May sleep.
    pub(crate) fn from_fd(fd: u32) -> Result<Self> {
        let fd = i32::try_from(fd).map_err(|_| EBADF)?;
        // SAFETY: no preconditions; the result is a counted reference or an
        // error pointer.
        let ptr = unsafe { bindings::get_net_ns_by_fd(fd) };
        let ptr = kernel::error::from_err_ptr(ptr)?;
        // INVARIANT: `get_net_ns_by_fd()` returned a counted reference.
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or(EINVAL)
    }

    /// The peer namespace that `nsid` names in `net` (`ip netns list-id`),
    /// if any and alive.
    pub(crate) fn from_nsid(net: &Net, nsid: i32) -> Option<Self> {
        // SAFETY: `net` is allocated; `get_net_ns_by_id()` takes its own
        // locks and returns a counted reference or null.
        let ptr = unsafe { bindings::get_net_ns_by_id(net.as_raw(), nsid) };
        // INVARIANT: as above.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }
}

/// How many namespaces one step of a [`ListedNet`] walk references.
pub(crate) const LIVE_BATCH: usize = 32;

/// A counted reference to a namespace taken on the netns core's list of
/// namespaces (`net_namespace_list`): a place in that list from which a
/// walk goes on ([`ListedNet::walk`]).
///
/// # Invariants
///
/// The namespace was on the list when the reference was taken, and stays
/// there while it is held: the core takes a namespace off the list only
/// in its teardown, which begins once the count reaches zero, and a
/// namespace joins the list once (at the end of its set-up) and never
/// rejoins it.
pub(crate) struct ListedNet(NetRef);

/// References to up to [`LIVE_BATCH`] live namespaces, in the list's
/// order, from [`ListedNet::walk`].
pub(crate) struct LiveNets {
    /// The namespaces referenced, in the list's order; the first `len`.
    refs: [Option<ListedNet>; LIVE_BATCH],
    /// Whether the walk stopped with namespaces after the last one.
    more: bool,
}

impl LiveNets {
    /// Whether namespaces follow the last of these on the list (then walk
    /// on from that last one).
    pub(crate) fn more(&self) -> bool {
        self.more
    }
}

impl IntoIterator for LiveNets {
    type Item = ListedNet;
    type IntoIter = core::iter::Flatten<core::array::IntoIter<Option<ListedNet>, LIVE_BATCH>>;

    /// The namespaces, in the list's order.
    fn into_iter(self) -> Self::IntoIter {
        self.refs.into_iter().flatten()
    }
}

impl ListedNet {
    /// References to the next [`LIVE_BATCH`] namespaces on the netns core's
    /// own list (`net_namespace_list`) after `after`, or from the list's
    /// start: one walk under the RCU read lock. A namespace joins that list
    /// once every pernet `init` succeeded for it (at its end: the list is
    /// in the order namespaces finished their set-up) and leaves it as its
    /// teardown begins; one whose count already reached zero is left out
    /// (`maybe_get_net()`).
    ///
    /// Walking in steps, each after the last namespace of the one before,
    /// sees every namespace alive throughout exactly once; one created or
    /// destroyed meanwhile once or not at all. Costs one step per
    /// namespace seen, so a walk of the whole list in steps is linear in
    /// its length; keeps nothing per namespace, so creating and destroying
    /// namespaces costs nothing more for it (a walker holds a reference to
    /// the namespace it stopped at, whose teardown waits for it). Takes no
    /// lock and does not sleep; any context.
    pub(crate) fn walk(after: Option<&ListedNet>) -> LiveNets {
        let mut refs = [const { None }; LIVE_BATCH];
        let mut len = 0;
        // SAFETY: no preconditions; released below, after the last use of a
        // pointer from the list.
        unsafe { bindings::rnetns_rcu_read_lock() };
        let mut p = match after {
            // SAFETY: `after` is on the list while referenced (type
            // invariant); under the RCU read lock.
            Some(net) => unsafe { bindings::rnetns_net_next_rcu(net.0.ptr.as_ptr()) },
            // SAFETY: under the RCU read lock.
            None => unsafe { bindings::rnetns_net_first_rcu() },
        };
        while !p.is_null() && len < LIVE_BATCH {
            // SAFETY: a namespace on the list, under the RCU read lock, stays
            // allocated until the lock is released (the core frees it more
            // than a grace period after taking it off the list).
            if let Some(r) = NetRef::get(unsafe { Net::from_raw(p) }) {
                // INVARIANT: found on the list; the count was not zero, so
                // its teardown (which takes it off) had not begun.
                refs[len] = Some(ListedNet(r));
                len += 1;
            }
            // SAFETY: `p` is on the list (or was, a moment ago: its `next`
            // still leads back to the list), under the RCU read lock.
            p = unsafe { bindings::rnetns_net_next_rcu(p) };
        }
        // SAFETY: taken above.
        unsafe { bindings::rnetns_rcu_read_unlock() };
        LiveNets {
            refs,
            more: !p.is_null(),
        }
    }
}

impl core::ops::Deref for ListedNet {
    type Target = NetRef;

    fn deref(&self) -> &NetRef {
        &self.0
    }
}

impl core::ops::Deref for NetRef {
    type Target = Net;

    fn deref(&self) -> &Net {
        // SAFETY: the reference keeps the namespace allocated (invariant)
        // for as long as `self` lives.
        unsafe { Net::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for NetRef {
    fn drop(&mut self) {
        // SAFETY: the reference is ours (invariant), released once.
        unsafe { bindings::rnetns_put_net(self.ptr.as_ptr()) };
    }
}
