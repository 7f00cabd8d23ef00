// SPDX-License-Identifier: GPL-2.0
//! `rnetns-bench`: the guest-side half of the rnetns benchmarks.
//!
//! Each subcommand does one measurement and prints one JSON object on one
//! line to stdout; `scripts/bench-guest.sh` collects them. Every loop is
//! bounded by a count or a deadline. Traffic only goes to addresses inside
//! the namespaces the benchmark made.
//!
//! ```text
//! rnetns-bench udp-pps --tx-ns PATH --rx-ns PATH --dst ADDR [--port N]
//!                      [--size N] [--secs S] [--warmup S] [--batch N] [--cpu N]
//! rnetns-bench udp-count --tx-ns PATH --rx-ns PATH --dst ADDR --count N --label L
//!                      [--port N] [--size N] [--warmup N] [--batch N] [--cpu N]
//! rnetns-bench churn --workers N --secs S --expect N [--backlog K] [--count MAX] [--timeout S]
//! rnetns-bench hold --count N          (then holds them until stdin closes)
//! rnetns-bench netns-wait --expect N [--timeout S]
//! rnetns-bench netns-count [--max N]
//! rnetns-bench modload PATH [PARAMS]
//! rnetns-bench modunload NAME
//! rnetns-bench proc-read --path P [--count N] [--mode open|pread] [--label L]
//! rnetns-bench memsnap
//! rnetns-bench hookbench --ns PATH [--count N]
//! rnetns-bench tsc-khz                 (on the host: for tsc_early_khz=)
//! rnetns-bench nl-dump [--count N] [--label L]
//! rnetns-bench setns-read --list FILE [--count N] [--label L]
//! rnetns-bench mark --label L          (opens window L; 0 closes it)
//! ```
//!
//! Counting live network namespaces: the kernel frees a namespace
//! asynchronously (netns workqueue) and exports no count of them, but it
//! enforces `/proc/sys/user/max_net_namespaces` against an exact per-user
//! count (ucounts) that drops only when a namespace is finally freed
//! (`cleanup_net()`, just before `net_free()`). `netns-wait` lowers that
//! limit to the expected count + 1 and probes with `unshare(CLONE_NEWNET)`
//! until the kernel accepts one: then at most the expected number of
//! namespaces created through `unshare`/`clone` are alive. The limit is
//! restored on every path. `init_net` is not in that count.
//!
//! Instruction counts: `udp-count` and `proc-read --label L` put what they
//! measure between two window markers of the instruction-count plugin
//! (`bench/insncount`): the no-op `nopl 0x524eLLLL(%rax)` with label `L`
//! opens window `L`, label 0 closes it. Without the plugin the markers are
//! plain no-ops.

use std::ffi::CString;
use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

// ---------------------------------------------------------------- helpers

/// The last OS error, as text, prefixed with what failed.
fn oserr(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A JSON object written field by field (numbers and plain strings only).
struct Json(String);

impl Json {
    fn new() -> Self {
        Json(String::from("{"))
    }
    fn sep(&mut self) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
    }
    fn s(mut self, k: &str, v: &str) -> Self {
        self.sep();
        let _ = write!(self.0, "\"{k}\":\"{}\"", escape(v));
        self
    }
    fn f(mut self, k: &str, v: f64) -> Self {
        self.sep();
        if v.is_finite() {
            let _ = write!(self.0, "\"{k}\":{v:.9}");
        } else {
            let _ = write!(self.0, "\"{k}\":null");
        }
        self
    }
    fn u(mut self, k: &str, v: u64) -> Self {
        self.sep();
        let _ = write!(self.0, "\"{k}\":{v}");
        self
    }
    fn raw(mut self, k: &str, v: &str) -> Self {
        self.sep();
        let _ = write!(self.0, "\"{k}\":{v}");
        self
    }
    fn print(mut self) {
        self.0.push('}');
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.0);
        let _ = out.flush();
    }
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// `--name value` options after the subcommand.
struct Opts {
    pairs: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Res<Self> {
        let mut pairs = Vec::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < args.len() {
            if let Some(name) = args[i].strip_prefix("--") {
                let v = args.get(i + 1).ok_or(format!("--{name} needs a value"))?;
                pairs.push((name.to_string(), v.clone()));
                i += 2;
            } else {
                positional.push(args[i].clone());
                i += 1;
            }
        }
        Ok(Opts { pairs, positional })
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn req(&self, k: &str) -> Res<&str> {
        self.get(k).ok_or(format!("missing --{k}"))
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> Res<T> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{k}: bad number '{v}'")),
        }
    }
}

fn open_ro(path: &str) -> Res<OwnedFd> {
    let c = CString::new(path).map_err(|_| format!("bad path {path}"))?;
    // SAFETY: `c` is a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(oserr(&format!("open {path}")));
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The calling thread's network namespace.
fn current_netns() -> Res<OwnedFd> {
    open_ro("/proc/thread-self/ns/net")
}

/// Moves the calling thread into the network namespace of `fd`.
fn setns(fd: RawFd) -> Res<()> {
    // SAFETY: plain system call on a descriptor we own.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(oserr("setns"));
    }
    Ok(())
}

/// Moves the calling thread into the namespace at `path` ("self": stay).
fn enter(path: &str) -> Res<()> {
    if path == "self" {
        return Ok(());
    }
    let fd = open_ro(path)?;
    setns(fd.as_raw_fd())
}

/// Gives the calling thread a new network namespace; returns the errno.
fn unshare_net() -> Result<(), i32> {
    // SAFETY: plain system call.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(errno());
    }
    Ok(())
}

fn pin(cpu: Option<usize>) -> Res<()> {
    let Some(cpu) = cpu else { return Ok(()) };
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET stays inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(oserr(&format!("sched_setaffinity cpu {cpu}")));
        }
    }
    Ok(())
}

fn raise_nofile(n: u64) -> Res<()> {
    let r = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: `r` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        return Err(oserr("setrlimit(RLIMIT_NOFILE)"));
    }
    Ok(())
}

fn read_file(path: &str) -> Res<String> {
    std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))
}

fn write_file(path: &str, v: &str) -> Res<()> {
    std::fs::write(path, v).map_err(|e| format!("write {path}: {e}"))
}

// ---------------------------------------------------------------- udp-pps

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(ss).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(ss).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn udp_socket(addr: SocketAddr) -> Res<OwnedFd> {
    let fam = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(fam, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(oserr("socket"));
    }
    // SAFETY: just created, owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, v: i32) -> Res<()> {
    // SAFETY: `v` is a live int of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::addr_of!(v).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if r != 0 {
        return Err(oserr("setsockopt"));
    }
    Ok(())
}

fn mmsgs(iovs: &mut [libc::iovec]) -> Vec<libc::mmsghdr> {
    iovs.iter_mut()
        .map(|iov| {
            // SAFETY: all-zero is a valid mmsghdr.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect()
}

/// A UDP socket bound to `addr` in the namespace at `ns`.
fn udp_receiver(ns: &str, home: RawFd, addr: SocketAddr) -> Res<OwnedFd> {
    enter(ns)?;
    let s = udp_socket(addr);
    setns(home)?;
    let s = s?;
    setsockopt_int(
        s.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        4 << 20,
    )?;
    let (ss, len) = sockaddr(addr);
    // SAFETY: `ss` holds a sockaddr of `len` bytes.
    if unsafe { libc::bind(s.as_raw_fd(), std::ptr::addr_of!(ss).cast(), len) } != 0 {
        return Err(oserr(&format!("bind {addr}")));
    }
    Ok(s)
}

/// A UDP socket in the namespace at `ns`, connected to `addr`.
fn udp_sender(ns: &str, home: RawFd, addr: SocketAddr) -> Res<OwnedFd> {
    enter(ns)?;
    let s = udp_socket(addr);
    setns(home)?;
    let s = s?;
    let (ss, len) = sockaddr(addr);
    // SAFETY: `ss` holds a sockaddr of `len` bytes.
    if unsafe { libc::connect(s.as_raw_fd(), std::ptr::addr_of!(ss).cast(), len) } != 0 {
        return Err(oserr(&format!("connect {addr}")));
    }
    Ok(s)
}

/// A UDP path between two namespaces, as `udp-pps` and `udp-count` take it
/// from their options (`--tx-ns`, `--rx-ns`, `--dst`, `--port`, `--size`,
/// `--batch`, `--cpu`): the two sockets, `batch` messages of `size` bytes
/// to send and `batch` to receive into, the thread pinned to `--cpu`.
struct UdpPath {
    addr: SocketAddr,
    size: usize,
    batch: usize,
    tx: OwnedFd,
    rx: OwnedFd,
    tx_msgs: Vec<libc::mmsghdr>,
    rx_msgs: Vec<libc::mmsghdr>,
    // What the messages point into: heap blocks, which do not move with
    // the struct.
    _payload: Vec<u8>,
    _tx_iov: Vec<libc::iovec>,
    _bufs: Vec<[u8; 2048]>,
    _rx_iov: Vec<libc::iovec>,
}

impl UdpPath {
    fn from_opts(o: &Opts) -> Res<Self> {
        let tx_ns = o.req("tx-ns")?;
        let rx_ns = o.req("rx-ns")?;
        let ip: IpAddr = o.req("dst")?.parse().map_err(|_| "bad --dst".to_string())?;
        let addr = SocketAddr::new(ip, o.num("port", 9000u16)?);
        let size: usize = o.num("size", 64)?;
        let batch: usize = o.num("batch", 32)?;
        let cpu: Option<usize> = o
            .get("cpu")
            .map(|v| v.parse())
            .transpose()
            .map_err(|_| "bad --cpu")?;
        if !(1..=1024).contains(&batch) || !(1..=1400).contains(&size) {
            return Err("--batch 1..1024, --size 1..1400".into());
        }
        let home = current_netns()?;
        let rx = udp_receiver(rx_ns, home.as_raw_fd(), addr)?;
        let tx = udp_sender(tx_ns, home.as_raw_fd(), addr)?;
        pin(cpu)?;
        let mut payload = vec![0x5au8; size];
        let mut tx_iov = vec![
            libc::iovec {
                iov_base: payload.as_mut_ptr().cast(),
                iov_len: size,
            };
            batch
        ];
        let tx_msgs = mmsgs(&mut tx_iov);
        let mut bufs = vec![[0u8; 2048]; batch];
        let mut rx_iov: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        let rx_msgs = mmsgs(&mut rx_iov);
        Ok(UdpPath {
            addr,
            size,
            batch,
            tx,
            rx,
            tx_msgs,
            rx_msgs,
            _payload: payload,
            _tx_iov: tx_iov,
            _bufs: bufs,
            _rx_iov: rx_iov,
        })
    }
}

/// Datagrams per second through the stack, measured in one thread: send a
/// batch from the sender's namespace with `sendmmsg()`, then read whatever
/// has arrived on the receiver's socket with `recvmmsg(MSG_DONTWAIT)`, and
/// again. A datagram's whole path, transmit and receive (the receive side
/// runs in the softirq raised by the transmit), is on the one CPU the thread
/// is pinned to: no cross-CPU wake-ups, no sleeping, nothing that the
/// scheduler of an emulated 2-CPU guest can distort.
fn cmd_udp_pps(o: &Opts) -> Res<()> {
    let secs: f64 = o.num("secs", 2.0)?;
    let warmup: f64 = o.num("warmup", 0.5)?;
    if !(0.0..=600.0).contains(&secs) {
        return Err("--secs 0..600".into());
    }
    let mut path = UdpPath::from_opts(o)?;
    let (addr, size, batch) = (path.addr, path.size, path.batch);
    let (tx, rx) = (path.tx.as_raw_fd(), path.rx.as_raw_fd());
    let (tx_msgs, rx_msgs) = (&mut path.tx_msgs, &mut path.rx_msgs);

    let (mut sent, mut got, mut tx_errors) = (0u64, 0u64, 0u64);
    let t_start = Instant::now();
    let t_measure = t_start + Duration::from_secs_f64(warmup);
    let t_end = t_measure + Duration::from_secs_f64(secs);
    let mut base: Option<(Instant, u64, u64)> = None;
    loop {
        let now = Instant::now();
        if base.is_none() && now >= t_measure {
            base = Some((now, sent, got));
        }
        if now >= t_end {
            break;
        }
        // SAFETY: `tx_msgs` describes `batch` messages of one live buffer.
        let n = unsafe { libc::sendmmsg(tx, tx_msgs.as_mut_ptr(), batch as u32, 0) };
        if n > 0 {
            sent += n as u64;
        } else if n < 0 {
            match errno() {
                libc::ECONNREFUSED | libc::ENOBUFS | libc::EAGAIN | libc::EINTR => tx_errors += 1,
                _ => return Err(oserr("sendmmsg")),
            }
        }
        loop {
            // SAFETY: `rx_msgs` describes `batch` live buffers.
            let n = unsafe {
                libc::recvmmsg(
                    rx,
                    rx_msgs.as_mut_ptr(),
                    batch as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n > 0 {
                got += n as u64;
                if (n as usize) < batch {
                    break;
                }
            } else if n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR) {
                break;
            } else if n < 0 {
                return Err(oserr("recvmmsg"));
            } else {
                break;
            }
        }
    }
    let (t0, sent0, got0) = base.unwrap_or((t_end, sent, got));
    let el = t0.elapsed().as_secs_f64().max(1e-9);
    Json::new()
        .s("dst", &addr.to_string())
        .u("size", size as u64)
        .u("batch", batch as u64)
        .f("secs", el)
        .u("rx", got - got0)
        .u("tx", sent - sent0)
        .f("rx_pps", (got - got0) as f64 / el)
        .f("tx_pps", (sent - sent0) as f64 / el)
        .u("tx_errors", tx_errors)
        .print();
    Ok(())
}

// ---------------------------------------------------------------- instruction windows

/// The window marker of the instruction-count plugin with `label`, then
/// `ret`: on x86-64 `nopl 0x524eLLLL(%rax)`, on aarch64 `movk xzr, #L, lsl
/// #48` (a write to the zero register; `bench/insncount` explains both).
#[cfg(target_arch = "x86_64")]
fn marker_code(label: u16) -> Vec<u8> {
    let [lo, hi] = label.to_le_bytes();
    vec![0x0f, 0x1f, 0x80, lo, hi, 0x4e, 0x52, 0xc3]
}

#[cfg(target_arch = "aarch64")]
fn marker_code(label: u16) -> Vec<u8> {
    let movk = 0xf2e0_001f_u32 | u32::from(label) << 5;
    let ret = 0xd65f_03c0_u32;
    [movk.to_le_bytes(), ret.to_le_bytes()].concat()
}

/// Makes code just written at `start` (`len` bytes) visible to instruction
/// fetch: nothing to do on x86-64, whose instruction cache is coherent.
#[cfg(target_arch = "x86_64")]
fn sync_icache(_start: *mut u8, _len: usize) {}

/// Makes code just written at `start` (`len` bytes) visible to instruction
/// fetch, as the C library's `__clear_cache` does on aarch64: each data
/// cache line cleaned to the point of unification, each instruction cache
/// line invalidated, then a barrier and a context synchronisation (the line
/// sizes from `CTR_EL0`, which Linux lets user space read).
#[cfg(target_arch = "aarch64")]
fn sync_icache(start: *mut u8, len: usize) {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects; Linux allows (or
    // emulates) it at EL0.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let (begin, end) = (start as usize, start as usize + len);
    let mut a = begin & !(dline - 1);
    while a < end {
        // SAFETY: `a` lies in the caller's mapping; cleaning a cache line
        // changes no memory contents.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
        a += dline;
    }
    // SAFETY: a barrier.
    unsafe { core::arch::asm!("dsb ish", options(nostack)) };
    let mut a = begin & !(iline - 1);
    while a < end {
        // SAFETY: `a` lies in the caller's mapping; invalidating an
        // instruction cache line changes no memory contents.
        unsafe { core::arch::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
        a += iline;
    }
    // SAFETY: barriers.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
}

/// Executes the window marker of the instruction-count plugin with `label`
/// (`marker_code`) from a fresh executable page (the label is in the
/// instruction's bytes, so they are written at run time).
fn mark(label: u16) -> Res<()> {
    let code = marker_code(label);
    // SAFETY: a private anonymous mapping; no existing memory is affected.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(oserr("mmap for the window marker"));
    }
    // SAFETY: `page` is a fresh writable, executable 4 KiB mapping; the code
    // is a no-op followed by `ret`, a valid `extern "C" fn()` body, made
    // visible to instruction fetch before it runs.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), page.cast::<u8>(), code.len());
        sync_icache(page.cast::<u8>(), code.len());
        let f: extern "C" fn() = std::mem::transmute(page);
        f();
        libc::munmap(page, 4096);
    }
    Ok(())
}

/// The window label of `--label`, 1..=65535.
fn label(o: &Opts) -> Res<Option<u16>> {
    match o.get("label") {
        None => Ok(None),
        Some(v) => match v.parse::<u16>() {
            Ok(l) if l != 0 => Ok(Some(l)),
            _ => Err("--label 1..65535".into()),
        },
    }
}

/// Sends `count` datagrams from `tx` and reads what arrives on `rx`, as
/// `udp-pps` does; returns (sent, received, send errors).
fn udp_exchange(
    tx: RawFd,
    rx: RawFd,
    tx_msgs: &mut [libc::mmsghdr],
    rx_msgs: &mut [libc::mmsghdr],
    count: u64,
) -> Res<(u64, u64, u64)> {
    let batch = tx_msgs.len() as u64;
    let (mut sent, mut got, mut errors) = (0u64, 0u64, 0u64);
    let drain = |got: &mut u64, rx_msgs: &mut [libc::mmsghdr]| -> Res<()> {
        loop {
            // SAFETY: `rx_msgs` describes live buffers.
            let n = unsafe {
                libc::recvmmsg(
                    rx,
                    rx_msgs.as_mut_ptr(),
                    rx_msgs.len() as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n > 0 {
                *got += n as u64;
                if (n as usize) < rx_msgs.len() {
                    return Ok(());
                }
            } else if n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR) || n == 0 {
                return Ok(());
            } else {
                return Err(oserr("recvmmsg"));
            }
        }
    };
    while sent < count && errors < 1000 {
        let want = (count - sent).min(batch) as u32;
        // SAFETY: `tx_msgs` describes at least `want` messages of live buffers.
        let n = unsafe { libc::sendmmsg(tx, tx_msgs.as_mut_ptr(), want, 0) };
        if n > 0 {
            sent += n as u64;
        } else if n < 0 {
            match errno() {
                libc::ECONNREFUSED | libc::ENOBUFS | libc::EAGAIN | libc::EINTR => errors += 1,
                _ => return Err(oserr("sendmmsg")),
            }
        }
        drain(&mut got, rx_msgs)?;
    }
    // The receive side runs in the softirq the transmit raised, on this CPU:
    // what was sent has normally arrived. Give stragglers a few more reads.
    for _ in 0..100 {
        if got >= sent {
            break;
        }
        drain(&mut got, rx_msgs)?;
    }
    Ok((sent, got, errors))
}

/// Exactly `--count` datagrams through the stack between two window markers
/// (`--label`), after `--warmup` datagrams outside the window: the
/// instruction-count plugin then gives instructions per datagram.
fn cmd_udp_count(o: &Opts) -> Res<()> {
    let count: u64 = o.num("count", 1000)?;
    let warmup: u64 = o.num("warmup", 256)?;
    let label = label(o)?.ok_or("--label is required")?;
    if !(1..=10_000_000).contains(&count) {
        return Err("--count 1..10000000".into());
    }
    let mut path = UdpPath::from_opts(o)?;
    let (addr, size, batch) = (path.addr, path.size, path.batch);
    let (txfd, rxfd) = (path.tx.as_raw_fd(), path.rx.as_raw_fd());
    let (tx_msgs, rx_msgs) = (&mut path.tx_msgs, &mut path.rx_msgs);
    udp_exchange(txfd, rxfd, tx_msgs, rx_msgs, warmup)?;
    mark(label)?;
    let r = udp_exchange(txfd, rxfd, tx_msgs, rx_msgs, count);
    mark(0)?;
    let (sent, got, errors) = r?;
    Json::new()
        .s("dst", &addr.to_string())
        .u("label", u64::from(label))
        .u("size", size as u64)
        .u("batch", batch as u64)
        .u("count", count)
        .u("tx", sent)
        .u("rx", got)
        .u("tx_errors", errors)
        .print();
    Ok(())
}

// ---------------------------------------------------------------- namespaces

const MAX_NETNS: &str = "/proc/sys/user/max_net_namespaces";

/// Restores `max_net_namespaces` when dropped.
struct LimitGuard(String);

impl Drop for LimitGuard {
    fn drop(&mut self) {
        if let Err(e) = write_file(MAX_NETNS, &self.0) {
            eprintln!("rnetns-bench: cannot restore {MAX_NETNS}: {e}");
        }
    }
}

/// Probes once whether fewer than `limit` namespaces are alive (see the
/// crate doc). A successful probe leaves one more namespace to be freed.
fn probe_below(limit: u64, home: RawFd) -> Res<bool> {
    write_file(MAX_NETNS, &limit.to_string())?;
    match unshare_net() {
        Ok(()) => {
            setns(home)?;
            Ok(true)
        }
        Err(libc::ENOSPC) => Ok(false),
        Err(e) => Err(format!(
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::from_raw_os_error(e)
        )),
    }
}

/// Waits until at most `expect` namespaces are alive; the wait in seconds,
/// or `None` after `timeout`.
fn netns_wait(expect: u64, timeout: f64) -> Res<Option<f64>> {
    let home = current_netns()?;
    let _restore = LimitGuard(read_file(MAX_NETNS)?.trim().to_string());
    let t0 = Instant::now();
    loop {
        if probe_below(expect + 1, home.as_raw_fd())? {
            return Ok(Some(t0.elapsed().as_secs_f64()));
        }
        if t0.elapsed().as_secs_f64() > timeout {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn cmd_netns_wait(o: &Opts) -> Res<()> {
    let expect: u64 = o.num("expect", 0)?;
    let timeout: f64 = o.num("timeout", 120.0)?;
    let r = netns_wait(expect, timeout)?;
    Json::new()
        .u("expect", expect)
        .f("wait_secs", r.unwrap_or(f64::NAN))
        .u("timed_out", r.is_none() as u64)
        .print();
    if r.is_none() {
        return Err(format!(
            "more than {expect} namespaces still alive after {timeout}s"
        ));
    }
    Ok(())
}

/// The number of live namespaces made by `unshare`/`clone`, when it is at
/// most `max` (linear probe: each failed probe creates nothing).
fn cmd_netns_count(o: &Opts) -> Res<()> {
    let max: u64 = o.num("max", 64)?;
    let home = current_netns()?;
    let _restore = LimitGuard(read_file(MAX_NETNS)?.trim().to_string());
    for k in 0..=max {
        if probe_below(k + 1, home.as_raw_fd())? {
            Json::new().u("live", k).print();
            return Ok(());
        }
    }
    Err(format!("more than {max} namespaces alive"))
}

/// Create+destroy pairs per second: `--workers` threads each call
/// `unshare(CLONE_NEWNET)` in a loop for `--secs` (or `--count` times in
/// all, whichever comes first), each call dropping the namespace the thread
/// was in; the clock stops when every namespace made has been freed.
fn cmd_churn(o: &Opts) -> Res<()> {
    let workers: usize = o.num("workers", 1)?;
    let secs: f64 = o.num("secs", 3.0)?;
    let max: u64 = o.num("count", 1_000_000)?;
    let expect: u64 = o.num("expect", 0)?;
    let timeout: f64 = o.num("timeout", 120.0)?;
    let backlog: u64 = o.num("backlog", 0)?;
    if !(1..=64).contains(&workers) || !(0.0..=600.0).contains(&secs) || max == 0 {
        return Err("--workers 1..64, --secs 0..600, --count > 0".into());
    }
    // Settle first: namespaces still being freed would be charged to us.
    netns_wait(expect, timeout)?.ok_or("namespaces from before did not drain")?;
    std::thread::sleep(Duration::from_millis(200));
    // With --backlog K, at most K namespaces wait to be freed: unshare()
    // fails with ENOSPC beyond that, and the worker retries 1 ms later.
    let _restore = LimitGuard(read_file(MAX_NETNS)?.trim().to_string());
    if backlog > 0 {
        write_file(MAX_NETNS, &(expect + workers as u64 + backlog).to_string())?;
    }

    let home = Arc::new(current_netns()?);
    let made = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(workers + 1));
    let mut threads = Vec::new();
    for _ in 0..workers {
        let (home, start, made) = (home.clone(), start.clone(), made.clone());
        threads.push(std::thread::spawn(move || -> Res<u64> {
            start.wait();
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut n = 0;
            // `made` reserves one of the `max` namespaces before each call.
            while Instant::now() < end && made.fetch_add(1, Ordering::Relaxed) < max {
                match unshare_net() {
                    Ok(()) => n += 1,
                    Err(libc::ENOSPC) if backlog > 0 => {
                        made.fetch_sub(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => {
                        let _ = setns(home.as_raw_fd());
                        return Err(format!(
                            "unshare(CLONE_NEWNET): {}",
                            std::io::Error::from_raw_os_error(e)
                        ));
                    }
                }
            }
            setns(home.as_raw_fd())?;
            Ok(n)
        }));
    }
    start.wait();
    let t0 = Instant::now();
    let mut count = 0;
    let mut failure = None;
    for t in threads {
        match t
            .join()
            .map_err(|_| "worker panicked".to_string())
            .and_then(|r| r)
        {
            Ok(n) => count += n,
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let created = t0.elapsed().as_secs_f64();
    let drained = netns_wait(expect, timeout)?;
    let total = t0.elapsed().as_secs_f64();
    Json::new()
        .u("workers", workers as u64)
        .u("count", count)
        .f("create_secs", created)
        .f("total_secs", total)
        .f("pairs_per_sec", count as f64 / total)
        .f("creates_per_sec", count as f64 / created)
        .u("backlog", backlog)
        .u("timed_out", drained.is_none() as u64)
        .print();
    Ok(())
}

/// Creates `count` namespaces and holds them (one descriptor each) until
/// stdin reaches EOF; then lets them go.
fn cmd_hold(o: &Opts) -> Res<()> {
    let count: u64 = o.num("count", 1000)?;
    if count > 200_000 {
        return Err("--count at most 200000".into());
    }
    raise_nofile(count + 256)?;
    let home = current_netns()?;
    let mut held = Vec::with_capacity(count as usize);
    let t0 = Instant::now();
    for _ in 0..count {
        unshare_net().map_err(|e| {
            format!(
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::from_raw_os_error(e)
            )
        })?;
        held.push(current_netns()?);
    }
    setns(home.as_raw_fd())?;
    let el = t0.elapsed().as_secs_f64();
    Json::new()
        .u("count", count)
        .f("secs", el)
        .f(
            "per_ns_secs",
            if count > 0 { el / count as f64 } else { 0.0 },
        )
        .print();
    let mut sink = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut sink);
    drop(held);
    Ok(())
}

// ---------------------------------------------------------------- modules

fn cmd_modload(o: &Opts) -> Res<()> {
    let path = o.positional.first().ok_or("modload PATH [PARAMS]")?;
    let params = CString::new(o.positional.get(1).map(String::as_str).unwrap_or(""))
        .map_err(|_| "bad params")?;
    let f = open_ro(path)?;
    let t0 = Instant::now();
    // SAFETY: plain system call; `params` is NUL-terminated.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), params.as_ptr(), 0) };
    let el = t0.elapsed().as_secs_f64();
    if r != 0 {
        return Err(oserr(&format!("finit_module {path}")));
    }
    Json::new().s("op", "load").f("secs", el).print();
    Ok(())
}

fn cmd_modunload(o: &Opts) -> Res<()> {
    let name = o.positional.first().ok_or("modunload NAME")?;
    let c = CString::new(name.as_str()).map_err(|_| "bad name")?;
    let t0 = Instant::now();
    // SAFETY: plain system call; `c` is NUL-terminated.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, c.as_ptr(), libc::O_NONBLOCK) };
    let el = t0.elapsed().as_secs_f64();
    if r != 0 {
        return Err(oserr(&format!("delete_module {name}")));
    }
    Json::new().s("op", "unload").f("secs", el).print();
    Ok(())
}

// ---------------------------------------------------------------- proc, memory

fn cmd_proc_read(o: &Opts) -> Res<()> {
    let path = o.req("path")?;
    let count: u64 = o.num("count", 1000)?;
    let mode = o.get("mode").unwrap_or("open");
    if count == 0 || count > 10_000_000 {
        return Err("--count 1..10000000".into());
    }
    let label = label(o)?;
    let mut buf = vec![0u8; 65536];
    let mut bytes = 0u64;
    let t0;
    match mode {
        "open" => {
            if let Some(l) = label {
                mark(l)?;
            }
            t0 = Instant::now();
            for _ in 0..count {
                let mut f = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
                loop {
                    let n = f.read(&mut buf).map_err(|e| format!("read {path}: {e}"))?;
                    if n == 0 {
                        break;
                    }
                    bytes += n as u64;
                }
            }
        }
        "pread" => {
            let f = open_ro(path)?;
            if let Some(l) = label {
                mark(l)?;
            }
            t0 = Instant::now();
            for _ in 0..count {
                // SAFETY: `buf` is live and as long as passed.
                let n =
                    unsafe { libc::pread(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    return Err(oserr("pread"));
                }
                bytes += n as u64;
            }
        }
        _ => return Err("--mode open|pread".into()),
    }
    let el = t0.elapsed().as_secs_f64();
    if label.is_some() {
        mark(0)?;
    }
    Json::new()
        .s("path", path)
        .s("mode", mode)
        .u("count", count)
        .f("secs", el)
        .f("per_read_secs", el / count as f64)
        .u("bytes_per_read", bytes / count)
        .print();
    Ok(())
}

/// /proc/meminfo (kB) and /proc/slabinfo (active objects, total objects,
/// object size per cache), plus the slab bytes in use summed over caches.
fn cmd_memsnap(_o: &Opts) -> Res<()> {
    let mut mi = String::from("{");
    for line in read_file("/proc/meminfo")?.lines() {
        let mut it = line.split_whitespace();
        if let (Some(k), Some(v)) = (it.next(), it.next()) {
            if mi.len() > 1 {
                mi.push(',');
            }
            let _ = write!(
                mi,
                "\"{}\":{}",
                escape(k.trim_end_matches(':')),
                v.parse::<u64>().unwrap_or(0)
            );
        }
    }
    mi.push('}');
    let mut slab = String::from("{");
    let mut active_bytes = 0u64;
    if let Ok(f) = std::fs::File::open("/proc/slabinfo") {
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| format!("read /proc/slabinfo: {e}"))?;
            if line.starts_with("slabinfo") || line.starts_with('#') {
                continue;
            }
            let v: Vec<&str> = line.split_whitespace().collect();
            if v.len() < 4 {
                continue;
            }
            let n = |i: usize| v[i].parse::<u64>().unwrap_or(0);
            active_bytes += n(1) * n(3);
            if slab.len() > 1 {
                slab.push(',');
            }
            let _ = write!(slab, "\"{}\":[{},{},{}]", escape(v[0]), n(1), n(2), n(3));
        }
    }
    slab.push('}');
    Json::new()
        .raw("meminfo", &mi)
        .raw("slabinfo", &slab)
        .u("slab_active_bytes", active_bytes)
        .print();
    Ok(())
}

// ---------------------------------------------------------------- hookbench

const HOOKBENCH: &str = "/sys/kernel/debug/rnetns_hookbench";

/// Runs bench/hookbench's timed loop of `nf_hook_slow()` calls in the
/// namespace at `--ns` (the module times the writer's namespace).
fn cmd_hookbench(o: &Opts) -> Res<()> {
    let ns = o.req("ns")?;
    let count: u64 = o.num("count", 100_000)?;
    enter(ns)?;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(HOOKBENCH)
        .map_err(|e| format!("open {HOOKBENCH}: {e}"))?;
    f.write_all(count.to_string().as_bytes())
        .map_err(|e| format!("write {HOOKBENCH}: {e}"))?;
    let mut out = String::new();
    let mut f = std::fs::File::open(HOOKBENCH).map_err(|e| format!("open {HOOKBENCH}: {e}"))?;
    f.read_to_string(&mut out)
        .map_err(|e| format!("read {HOOKBENCH}: {e}"))?;
    // "calls N entries E ns T"
    let v: Vec<&str> = out.split_whitespace().collect();
    let field = |k: &str| -> Res<u64> {
        let i = v
            .iter()
            .position(|x| *x == k)
            .ok_or(format!("no '{k}' in '{}'", out.trim()))?;
        v.get(i + 1)
            .and_then(|x| x.parse().ok())
            .ok_or(format!("bad '{k}' in '{}'", out.trim()))
    };
    let (calls, entries, ns_total) = (field("calls")?, field("entries")?, field("ns")?);
    Json::new()
        .u("calls", calls)
        .u("entries", entries)
        .u("ns_total", ns_total)
        .f(
            "ns_per_call",
            if calls > 0 {
                ns_total as f64 / calls as f64
            } else {
                0.0
            },
        )
        .print();
    Ok(())
}

// ---------------------------------------------------------------- tsc

/// The TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW over
/// 200 ms (median of 3). A TCG guest's TSC runs at the host's rate, and a
/// busy host can make the guest's own PIT calibration fail, leaving it on a
/// jiffies clock: scripts/bench.sh passes this as `tsc_early_khz=`.
fn cmd_tsc_khz(_o: &Opts) -> Res<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let raw = || {
            // SAFETY: all-zero is a valid timespec.
            let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
            // SAFETY: `ts` is a live timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_RAW, &mut ts) };
            ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
        };
        let mut khz = Vec::new();
        for _ in 0..3 {
            // SAFETY: rdtsc has no preconditions on x86_64.
            let (c0, t0) = (unsafe { core::arch::x86_64::_rdtsc() }, raw());
            std::thread::sleep(Duration::from_millis(200));
            // SAFETY: as above.
            let (c1, t1) = (unsafe { core::arch::x86_64::_rdtsc() }, raw());
            khz.push((c1 - c0) as f64 / (t1 - t0) / 1e3);
        }
        khz.sort_by(|a, b| a.total_cmp(b));
        Json::new().u("tsc_khz", khz[1].round() as u64).print();
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err("tsc-khz is for x86_64".into())
}

// ---------------------------------------------------------------- every namespace at once

/// Generic netlink's controller and the rnetns family (netlink/rnetns.yaml).
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const RNETNS_CMD_GET: u8 = 1;
const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

/// A generic netlink socket with its receive buffer.
struct Genl {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Genl {
    fn open() -> Res<Self> {
        // SAFETY: plain system call.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        };
        if fd < 0 {
            return Err(oserr("socket(AF_NETLINK, NETLINK_GENERIC)"));
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // What a dump client (ynl) offers: the kernel sizes each part of a
        // dump to the reader's buffer, up to 32 KiB.
        Ok(Genl {
            fd,
            seq: 0,
            buf: vec![0u8; 32768],
        })
    }

    /// Sends one request: `nlmsg_type`, `flags` (NLM_F_REQUEST added),
    /// generic netlink `cmd` version 1, then `attrs` (already encoded).
    fn send(&mut self, ty: u16, flags: u16, cmd: u8, attrs: &[u8]) -> Res<()> {
        self.seq += 1;
        let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.len();
        let mut m = Vec::with_capacity(len);
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
        m.extend_from_slice(&self.seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&[cmd, 1, 0, 0]);
        m.extend_from_slice(attrs);
        // SAFETY: `m` is live and as long as passed; the kernel is the peer
        // (a netlink socket sends to port 0 without a bound address).
        let n = unsafe { libc::send(self.fd.as_raw_fd(), m.as_ptr().cast(), m.len(), 0) };
        if n != m.len() as isize {
            return Err(oserr("send to netlink"));
        }
        Ok(())
    }

    /// Receives one datagram into the buffer; returns its length.
    fn recv(&mut self) -> Res<usize> {
        // SAFETY: `buf` is live and as long as passed.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(oserr("recv from netlink"));
        }
        Ok(n as usize)
    }

    /// The messages of the last datagram of length `n`: (type, payload
    /// after the netlink header). Stops at the first malformed header.
    fn messages(&self, n: usize) -> Vec<(u16, &[u8])> {
        let mut out = Vec::new();
        let mut off = 0;
        while off + NLMSG_HDRLEN <= n {
            let b = &self.buf[off..n];
            let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
            if len < NLMSG_HDRLEN || len > b.len() {
                break;
            }
            out.push((u16::from_ne_bytes([b[4], b[5]]), &b[NLMSG_HDRLEN..len]));
            off += (len + 3) & !3;
        }
        out
    }
}

/// One netlink attribute, padded to 4 bytes.
fn nla(ty: u16, v: &[u8]) -> Vec<u8> {
    let len = 4 + v.len();
    let mut a = Vec::with_capacity((len + 3) & !3);
    a.extend_from_slice(&(len as u16).to_ne_bytes());
    a.extend_from_slice(&ty.to_ne_bytes());
    a.extend_from_slice(v);
    a.resize((len + 3) & !3, 0);
    a
}

/// The errno of an NLMSG_ERROR payload (0: an acknowledgement).
fn nl_errno(p: &[u8]) -> i32 {
    if p.len() < 4 {
        return -libc::EPROTO;
    }
    i32::from_ne_bytes([p[0], p[1], p[2], p[3]])
}

/// The family id of `rnetns`, from the generic netlink controller.
fn family_id(g: &mut Genl) -> Res<u16> {
    g.send(
        GENL_ID_CTRL,
        0,
        CTRL_CMD_GETFAMILY,
        &nla(CTRL_ATTR_FAMILY_NAME, b"rnetns\0"),
    )?;
    let n = g.recv()?;
    for (ty, p) in g.messages(n) {
        if ty == libc::NLMSG_ERROR as u16 {
            let e = nl_errno(p);
            return Err(format!(
                "family rnetns: {}",
                std::io::Error::from_raw_os_error(-e)
            ));
        }
        let mut a = p.get(GENL_HDRLEN..).unwrap_or(&[]);
        while a.len() >= 4 {
            let len = u16::from_ne_bytes([a[0], a[1]]) as usize;
            let aty = u16::from_ne_bytes([a[2], a[3]]) & 0x3fff;
            if len < 4 || len > a.len() {
                break;
            }
            if aty == CTRL_ATTR_FAMILY_ID && len >= 6 {
                return Ok(u16::from_ne_bytes([a[4], a[5]]));
            }
            a = &a[((len + 3) & !3).min(a.len())..];
        }
    }
    Err("family rnetns: no id in the controller's answer".into())
}

/// One whole `get` dump: (namespaces, bytes received, datagrams).
fn dump_once(g: &mut Genl, fam: u16) -> Res<(u64, u64, u64)> {
    g.send(fam, libc::NLM_F_DUMP as u16, RNETNS_CMD_GET, &[])?;
    let (mut ns, mut bytes, mut parts) = (0u64, 0u64, 0u64);
    loop {
        let n = g.recv()?;
        parts += 1;
        bytes += n as u64;
        for (ty, p) in g.messages(n) {
            if ty == fam {
                ns += 1;
            } else if ty == libc::NLMSG_DONE as u16 {
                let e = nl_errno(p);
                if e != 0 {
                    return Err(format!(
                        "dump ended with {}",
                        std::io::Error::from_raw_os_error(-e)
                    ));
                }
                return Ok((ns, bytes, parts));
            } else if ty == libc::NLMSG_ERROR as u16 {
                return Err(format!(
                    "dump: {}",
                    std::io::Error::from_raw_os_error(-nl_errno(p))
                ));
            }
        }
    }
}

/// `count` whole dumps of every namespace's counters through the rnetns
/// family, on one socket (the family id resolved before the window).
fn cmd_nl_dump(o: &Opts) -> Res<()> {
    let count: u64 = o.num("count", 10)?;
    if count == 0 || count > 1_000_000 {
        return Err("--count 1..1000000".into());
    }
    let label = label(o)?;
    let mut g = Genl::open()?;
    let fam = family_id(&mut g)?;
    let (mut ns, mut bytes, mut parts) = (0u64, 0u64, 0u64);
    if let Some(l) = label {
        mark(l)?;
    }
    let t0 = Instant::now();
    for _ in 0..count {
        let (n, b, p) = dump_once(&mut g, fam)?;
        ns += n;
        bytes += b;
        parts += p;
    }
    let el = t0.elapsed().as_secs_f64();
    if label.is_some() {
        mark(0)?;
    }
    Json::new()
        .u("count", count)
        .f("secs", el)
        .f("per_dump_secs", el / count as f64)
        .u("namespaces_per_dump", ns / count)
        .u("bytes_per_dump", bytes / count)
        .u("parts_per_dump", parts / count)
        .print();
    Ok(())
}

/// `count` rounds of: for each namespace file in `--list` (one path per
/// line: /run/netns/NAME, /proc/PID/ns/net, /proc/PID/fd/N), `setns` into
/// it and read its /proc/net/rnetns whole; then back home. What an exporter
/// that enters each namespace in turn does, with the namespace descriptors
/// opened before the window (the cheapest case for it).
fn cmd_setns_read(o: &Opts) -> Res<()> {
    let list = read_file(o.req("list")?)?;
    let count: u64 = o.num("count", 1)?;
    if count == 0 || count > 100_000 {
        return Err("--count 1..100000".into());
    }
    let label = label(o)?;
    let paths: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    raise_nofile(paths.len() as u64 + 256)?;
    let fds = paths.iter().map(|p| open_ro(p)).collect::<Res<Vec<_>>>()?;
    let home = current_netns()?;
    let mut buf = vec![0u8; 65536];
    let mut bytes = 0u64;
    if let Some(l) = label {
        mark(l)?;
    }
    let t0 = Instant::now();
    for _ in 0..count {
        for fd in &fds {
            setns(fd.as_raw_fd())?;
            let mut f = std::fs::File::open("/proc/thread-self/net/rnetns")
                .map_err(|e| format!("open /proc/thread-self/net/rnetns: {e}"))?;
            loop {
                let n = f.read(&mut buf).map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
            }
        }
        setns(home.as_raw_fd())?;
    }
    let el = t0.elapsed().as_secs_f64();
    if label.is_some() {
        mark(0)?;
    }
    let reads = count * fds.len() as u64;
    Json::new()
        .u("count", count)
        .u("namespaces", fds.len() as u64)
        .f("secs", el)
        .f("per_round_secs", el / count as f64)
        .f("per_ns_secs", el / reads.max(1) as f64)
        .u("bytes_per_round", bytes / count)
        .print();
    Ok(())
}

/// Opens instruction window `--label L` (0 closes the open one): for
/// windows around work of other processes (a shell loop).
fn cmd_mark(o: &Opts) -> Res<()> {
    let l: u16 = o.num("label", 0)?;
    mark(l)
}

// ---------------------------------------------------------------- main

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(cmd) = args.get(1) else {
        eprintln!("usage: rnetns-bench udp-pps|udp-count|churn|hold|netns-wait|netns-count|modload|modunload|proc-read|memsnap|hookbench|tsc-khz|nl-dump|setns-read|mark ...");
        std::process::exit(2);
    };
    let r = Opts::parse(&args[2..]).and_then(|o| match cmd.as_str() {
        "udp-pps" => cmd_udp_pps(&o),
        "udp-count" => cmd_udp_count(&o),
        "churn" => cmd_churn(&o),
        "hold" => cmd_hold(&o),
        "netns-wait" => cmd_netns_wait(&o),
        "netns-count" => cmd_netns_count(&o),
        "modload" => cmd_modload(&o),
        "modunload" => cmd_modunload(&o),
        "proc-read" => cmd_proc_read(&o),
        "memsnap" => cmd_memsnap(&o),
        "hookbench" => cmd_hookbench(&o),
        "tsc-khz" => cmd_tsc_khz(&o),
        "nl-dump" => cmd_nl_dump(&o),
        "setns-read" => cmd_setns_read(&o),
        "mark" => cmd_mark(&o),
        _ => Err(format!("unknown subcommand '{cmd}'")),
    });
    if let Err(e) = r {
        eprintln!("rnetns-bench {cmd}: {e}");
        std::process::exit(1);
    }
}
