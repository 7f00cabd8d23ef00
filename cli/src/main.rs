//! `rnetns`: every network namespace's rnetns counters at a glance, live,
//! and in Prometheus, through the module's generic netlink family.

mod client;
mod hooks;
mod metrics;
mod names;
mod table;
mod top;
mod wire;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use client::{Client, Error};
use hooks::HookSet;
use names::{Directory, NsArg};
use wire::{Lifecycle, NsState};

const LIFECYCLE_FILE: &str = "/proc/net/rnetns_lifecycle";

/// Every network namespace's rnetns counters at a glance, live, and in
/// Prometheus.
///
/// rnetns is a kernel module that counts, in every network namespace, the
/// packets and bytes crossing each netfilter hook point of IPv4 and IPv6.
/// This command reads them for every namespace you may see in one request
/// (the `rnetns` generic netlink family), instead of entering each
/// namespace to read its /proc/net/rnetns.
///
/// Who sees what: with CAP_NET_ADMIN in the initial user namespace (root on
/// the host), every namespace; otherwise your own namespace and those whose
/// owning user namespace you have CAP_NET_ADMIN over (a container's root
/// sees its container's namespaces). Changing a namespace (set, reset)
/// needs CAP_NET_ADMIN over its user namespace; monitor needs it in the
/// initial one.
///
/// NS, where a command takes one, is a name under /run/netns (as `ip netns`
/// makes them), a PID (that process's namespace), an inode number (as
/// `list` and `lsns -t net` show), or a path to a namespace file
/// (/proc/PID/ns/net, a bind mount).
#[derive(Parser)]
#[command(
    name = "rnetns",
    version,
    about,
    long_about,
    after_help = "\
EXAMPLES:
    rnetns list                      every namespace, one line each
    rnetns show red                  the namespace /run/netns/red, in full
    rnetns top                       live packet and byte rates (q quits)
    rnetns set red hooks=ipv4:input  count only IPv4 input in red
    rnetns reset 4026532290          zero that namespace's counters
    rnetns monitor --json            namespaces as they come and go
    rnetns metrics > /var/lib/prometheus/node-exporter/rnetns.prom
    rnetns metrics --listen 127.0.0.1:9817

EXIT STATUS:
    0 on success, 1 on an error (said on standard error), 2 on a usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One line per namespace: name, inode, cookie, processes, hooks, totals.
    ///
    /// NAME is the namespace's name under /run/netns (- for none); PROCESSES
    /// a few of the PIDs in it and the first one's command (only the
    /// processes you may see); HOOKS the hook points counted; PACKETS and
    /// BYTES the totals over them since the last reset.
    List {
        /// Machine-readable output: a JSON array, one object per namespace.
        #[arg(long)]
        json: bool,
        /// Sort order (numbers descending, names ascending).
        #[arg(long, value_enum, default_value_t = SortKey::Inode)]
        sort: SortKey,
    },
    /// One namespace in full: identity, hook points, counters, refusals.
    Show {
        /// The namespace (name, PID, inode number or path).
        ns: String,
        /// Machine-readable output: one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Live per-namespace packet and byte rates, busiest first.
    ///
    /// A full-screen view refreshed every interval; q (or Esc, Ctrl-C)
    /// quits. With --batch, or when standard output is no terminal, plain
    /// tables one after another instead, for logs.
    Top {
        /// Seconds between samples.
        #[arg(short, long, default_value_t = 1.0)]
        interval: f64,
        /// Plain text, no full-screen view.
        #[arg(short, long)]
        batch: bool,
        /// One table of rates (two samples an interval apart), then exit.
        #[arg(long)]
        once: bool,
        /// In batch mode, stop after this many tables.
        #[arg(short = 'n', long)]
        iterations: Option<u64>,
    },
    /// Choose the hook points a namespace counts: hooks=SELECTION.
    ///
    /// SELECTION is what the module's hooks= parameter and a write to the
    /// namespace's /proc/net/rnetns take: none, all, or a comma-separated
    /// list of FAMILY[:HOOK] (FAMILY ipv4, ipv6 or all; HOOK prerouting,
    /// input, forward, output, postrouting or all). All or nothing: if
    /// netfilter refuses one hook point, nothing changes.
    Set {
        /// The namespace (name, PID, inode number or path).
        ns: String,
        /// hooks=SELECTION
        setting: String,
    },
    /// Zero a namespace's counters.
    Reset {
        /// The namespace (name, PID, inode number or path).
        ns: String,
    },
    /// Namespaces as they are created and destroyed, one line each.
    Monitor {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Exit after this many events.
        #[arg(short, long)]
        count: Option<u64>,
    },
    /// The counters in the Prometheus text exposition format.
    ///
    /// To standard output (for node_exporter's textfile collector), or
    /// served at http://ADDR:PORT/metrics with --listen, a fresh dump at
    /// every scrape. The lifecycle metrics (counts and histograms of
    /// set-up, teardown and lifetime) come from /proc/net/rnetns_lifecycle
    /// where it can be read (root, in the initial namespace).
    Metrics {
        /// Serve /metrics on this address, for example 127.0.0.1:9817.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SortKey {
    Inode,
    Name,
    Cookie,
    Packets,
    Bytes,
}

/// A namespace as list and show print it.
#[derive(Serialize)]
struct Entry<'a> {
    name: Option<&'a str>,
    #[serde(flatten)]
    state: &'a NsState,
    packets: u64,
    bytes: u64,
    pids: Vec<u32>,
    command: Option<&'a str>,
}

fn entry<'a>(s: &'a NsState, dir: &'a Directory) -> Entry<'a> {
    let p = dir.procs.get(&s.inum);
    Entry {
        name: dir.name(s.inum),
        state: s,
        packets: s.packets(),
        bytes: s.bytes(),
        pids: p.map(|p| p.pids.clone()).unwrap_or_default(),
        command: p.map(|p| p.command.as_str()),
    }
}

fn sort(states: &mut [NsState], dir: &Directory, key: SortKey) {
    match key {
        SortKey::Inode => states.sort_by_key(|s| s.inum),
        SortKey::Cookie => states.sort_by_key(|s| s.cookie),
        SortKey::Name => states.sort_by(|a, b| {
            (dir.name(a.inum).is_none(), dir.name(a.inum), a.inum).cmp(&(
                dir.name(b.inum).is_none(),
                dir.name(b.inum),
                b.inum,
            ))
        }),
        SortKey::Packets => states.sort_by_key(|s| (std::cmp::Reverse(s.packets()), s.inum)),
        SortKey::Bytes => states.sort_by_key(|s| (std::cmp::Reverse(s.bytes()), s.inum)),
    }
}

fn list_table(states: &[NsState], dir: &Directory) -> String {
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                dir.name(s.inum).unwrap_or("-").to_string(),
                s.inum.to_string(),
                s.cookie.to_string(),
                dir.procs_summary(s.inum, 3),
                s.hooks.to_string(),
                s.packets().to_string(),
                s.bytes().to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            "NAME",
            "INODE",
            "COOKIE",
            "PROCESSES",
            "HOOKS",
            "PACKETS",
            "BYTES",
        ],
        &rows,
        &[false, true, true, false, false, true, true],
    )
}

fn cmd_list(json: bool, key: SortKey) -> Result<(), Error> {
    let client = Client::connect()?;
    let mut states = client.dump()?;
    let dir = Directory::scan();
    sort(&mut states, &dir, key);
    if json {
        let v: Vec<Entry> = states.iter().map(|s| entry(s, &dir)).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        print!("{}", list_table(&states, &dir));
    }
    Ok(())
}

/// Seconds since boot, CLOCK_BOOTTIME as /proc/uptime gives it.
fn boottime_s() -> Option<f64> {
    std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The namespace NS names, from a get by ns-fd where NS names a file, else
/// from a dump.
fn lookup(
    client: &Client,
    arg: &str,
    dir: &Directory,
) -> Result<(NsState, Option<std::fs::File>), Error> {
    let ns = names::parse_ns(arg).map_err(Error::new)?;
    let (file, inum) = names::open_ns(&ns, dir).map_err(Error::new)?;
    if let Some(f) = &file {
        return Ok((client.get(Some(f))?, file));
    }
    let NsArg::Inode(_) = ns else {
        unreachable!("a path opens or fails")
    };
    client
        .dump()?
        .into_iter()
        .find(|s| s.inum == inum)
        .map(|s| (s, None))
        .ok_or_else(|| Error::new(format!("no namespace {inum} that you may see (gone, not a network namespace, or another user's)")))
}

fn cmd_show(arg: &str, json: bool) -> Result<(), Error> {
    let client = Client::connect()?;
    let dir = Directory::scan();
    let (s, _) = lookup(&client, arg, &dir)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entry(&s, &dir)).unwrap()
        );
        return Ok(());
    }
    let name = dir
        .name(s.inum)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    println!("namespace {}{name}", s.inum);
    println!("cookie     {}", s.cookie);
    println!("init_net   {}", if s.init_net { "yes" } else { "no" });
    let created = s.created_ns as f64 / 1e9;
    match boottime_s() {
        Some(now) => println!(
            "created    {created:.3} s after boot, {:.3} s ago",
            (now - created).max(0.0)
        ),
        None => println!("created    {created:.3} s after boot"),
    }
    println!("hooks      {}", s.hooks);
    let refused: Vec<String> = s
        .refused
        .iter()
        .map(|r| {
            format!(
                "{}:{}={}",
                r.family.name(),
                r.hook.name(),
                std::io::Error::from_raw_os_error(r.error as i32)
            )
        })
        .collect();
    println!(
        "refused    {}",
        if refused.is_empty() {
            "none".to_string()
        } else {
            refused.join(", ")
        }
    );
    println!("processes  {}", dir.procs_summary(s.inum, 8));
    println!();
    let rows: Vec<Vec<String>> = s
        .counters
        .iter()
        .map(|c| {
            vec![
                c.family.name().into(),
                c.hook.name().into(),
                c.packets.to_string(),
                c.bytes.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["FAMILY", "HOOK", "PACKETS", "BYTES"],
            &rows,
            &[false, false, true, true]
        )
    );
    Ok(())
}

fn cmd_set(arg: &str, reset: bool, hooks: Option<HookSet>) -> Result<(), Error> {
    let client = Client::connect()?;
    let dir = Directory::scan();
    let ns = names::parse_ns(arg).map_err(Error::new)?;
    let (file, inum) = names::open_ns(&ns, &dir).map_err(Error::new)?;
    let Some(file) = file else {
        return Err(Error::new(format!(
                "namespace {inum} has no name and no process you can see: name it by a path to it (a bind mount or /proc/PID/ns/net)"
            )));
    };
    client.set(Some(&file), reset, hooks)
}

fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

fn cmd_monitor(json: bool, count: Option<u64>) -> Result<(), Error> {
    let mut client = Client::connect()?;
    let mut seen = 0;
    if count == Some(0) {
        return Ok(());
    }
    let out = std::io::stdout();
    client.monitor(|l| {
        let mut o = out.lock();
        let line = if json {
            serde_json::to_string(&l).unwrap()
        } else {
            match l {
                Lifecycle::Created {
                    inum,
                    cookie,
                    init_net,
                    init_duration_ns,
                } => format!(
                    "created   netns {inum} cookie {cookie}{} (rnetns set-up {})",
                    if init_net { " init_net" } else { "" },
                    ms(init_duration_ns)
                ),
                Lifecycle::Destroyed {
                    inum,
                    cookie,
                    lifetime_ns,
                    exit_duration_ns,
                } => format!(
                    "destroyed netns {inum} cookie {cookie} after {:.3} s (rnetns teardown {})",
                    lifetime_ns as f64 / 1e9,
                    ms(exit_duration_ns)
                ),
            }
        };
        // A closed pipe ends the monitor quietly.
        if writeln!(o, "{line}").and_then(|_| o.flush()).is_err() {
            return false;
        }
        seen += 1;
        count.is_none_or(|c| seen < c)
    })
}

fn exposition() -> Result<String, Error> {
    let client = Client::connect()?;
    let states = client.dump()?;
    let dir = Directory::scan();
    let lifecycle = std::fs::read_to_string(LIFECYCLE_FILE)
        .ok()
        .and_then(|t| metrics::parse_lifecycle(&t).ok());
    Ok(metrics::render(&states, &dir, lifecycle.as_ref()))
}

fn serve(addr: &str) -> Result<(), Error> {
    let listener =
        TcpListener::bind(addr).map_err(|e| Error::new(format!("cannot listen on {addr}: {e}")))?;
    eprintln!(
        "rnetns: serving http://{}/metrics",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(addr.into())
    );
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut reader = BufReader::new(match conn.try_clone() {
            Ok(c) => c,
            Err(_) => continue,
        });
        let mut request = String::new();
        if reader.read_line(&mut request).is_err() {
            continue;
        }
        // The rest of the header, up to the blank line.
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
            line.clear();
        }
        let path = request.split_whitespace().nth(1).unwrap_or("");
        let (status, ctype, body) = match (request.split_whitespace().next(), path) {
            (Some("GET"), "/metrics") => match exposition() {
                Ok(b) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", b),
                Err(e) => ("503 Service Unavailable", "text/plain; charset=utf-8", format!("{e}\n")),
            },
            (Some("GET"), "/") => (
                "200 OK",
                "text/html; charset=utf-8",
                "<html><head><title>rnetns</title></head><body><a href=\"/metrics\">/metrics</a></body></html>\n".into(),
            ),
            _ => ("404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n".into()),
        };
        let _ = write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::List { json, sort } => cmd_list(json, sort),
        Command::Show { ns, json } => cmd_show(&ns, json),
        Command::Top {
            interval,
            batch,
            once,
            iterations,
        } => {
            if !(interval.is_finite() && interval >= 0.1) {
                return Err(Error::new(format!(
                    "--interval {interval}: give at least 0.1 seconds"
                )));
            }
            top::run(interval, batch, once, iterations)
        }
        Command::Set { ns, setting } => {
            let Some(sel) = setting.strip_prefix("hooks=") else {
                return Err(Error::new(format!(
                    "'{setting}': the setting is hooks=SELECTION"
                )));
            };
            let hooks = HookSet::parse(sel).map_err(|m| Error::new(format!("hooks={sel}: {m}")))?;
            cmd_set(&ns, false, Some(hooks))
        }
        Command::Reset { ns } => cmd_set(&ns, true, None),
        Command::Monitor { json, count } => cmd_monitor(json, count),
        Command::Metrics { listen: None } => {
            print!("{}", exposition()?);
            Ok(())
        }
        Command::Metrics { listen: Some(addr) } => serve(&addr),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rnetns: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        for cmd in ["list", "show", "top", "set", "reset", "monitor", "metrics"] {
            assert!(help.contains(cmd), "{cmd} missing from --help");
        }
        assert!(Cli::try_parse_from(["rnetns", "set", "red"]).is_err());
        assert!(Cli::try_parse_from(["rnetns", "list", "--sort", "packets"]).is_ok());
    }

    #[test]
    fn list_is_sorted_and_aligned() {
        let b = wire::tests::sample();
        let s = wire::decode_ns(&b.get_attr_handle()).unwrap();
        let mut t = s.clone();
        t.inum = 4026531840;
        t.cookie = 1;
        t.init_net = true;
        t.counters.truncate(1);
        t.counters[0].packets = 99;
        let mut v = vec![s, t];
        let mut dir = Directory::default();
        dir.names.insert(4026532290, vec!["red".into()]);
        sort(&mut v, &dir, SortKey::Inode);
        assert_eq!(v[0].inum, 4026531840);
        sort(&mut v, &dir, SortKey::Name);
        assert_eq!(v[0].inum, 4026532290);
        sort(&mut v, &dir, SortKey::Packets);
        assert_eq!(v[0].inum, 4026531840);
        let out = list_table(&v, &dir);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "NAME       INODE  COOKIE  PROCESSES  HOOKS                   PACKETS       BYTES"
        );
        assert_eq!(
            lines[1],
            "-     4026531840       1  -          ipv4:input,ipv6:output       99  5000000000"
        );
        assert_eq!(
            lines[2],
            "red   4026532290      14  -          ipv4:input,ipv6:output       13  5000000144"
        );
        let json = serde_json::to_value(entry(&v[1], &dir)).unwrap();
        assert_eq!(json["name"], "red");
        assert_eq!(json["packets"], 13);
        assert_eq!(json["counters"][1]["hook"], "output");
        assert_eq!(json["refused"][0]["error"], 7);
        assert_eq!(json["hooks"], "ipv4:input,ipv6:output");
    }
}
