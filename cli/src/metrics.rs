//! The counters in the Prometheus text exposition format (version 0.0.4),
//! named as Prometheus' naming guide asks: `rnetns_` prefix, base units,
//! `_total` for counters, one label set per (namespace, family, hook point).

use std::fmt::Write;

use crate::names::Directory;
use crate::wire::NsState;

/// The lifecycle statistics of `/proc/net/rnetns_lifecycle`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LifecycleStats {
    pub live: u64,
    pub created: u64,
    pub destroyed: u64,
    pub init_failed: u64,
    /// (histogram, low_ns, high_ns, count), log2 buckets, empty ones left out.
    pub buckets: Vec<(String, u64, u64, u64)>,
}

/// Parses the lifecycle file; unknown lines are left alone.
pub fn parse_lifecycle(text: &str) -> Result<LifecycleStats, String> {
    let mut s = LifecycleStats::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Result<u64, String> {
            f.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("lifecycle file: bad line '{line}'"))
        };
        match f.first().copied() {
            Some("live") => s.live = num(1)?,
            Some("created") => s.created = num(1)?,
            Some("destroyed") => s.destroyed = num(1)?,
            Some("init_failed") => s.init_failed = num(1)?,
            Some(h @ ("init_ns" | "exit_ns" | "lifetime_ns")) => {
                s.buckets.push((h.to_string(), num(1)?, num(2)?, num(3)?))
            }
            _ => {}
        }
    }
    Ok(s)
}

/// A label value, escaped as the exposition format asks.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn ns_labels(s: &NsState, dir: &Directory) -> String {
    let mut l = format!("netns_inode=\"{}\",netns_cookie=\"{}\"", s.inum, s.cookie);
    if let Some(n) = dir.name(s.inum) {
        let _ = write!(l, ",netns_name=\"{}\"", esc(n));
    }
    l
}

fn seconds(ns: u64) -> String {
    // Exact for bucket bounds (powers of two nanoseconds): no rounding.
    format!("{}", ns as f64 / 1e9)
}

/// The whole exposition: per-namespace counters and info, and, where the
/// lifecycle file could be read, its counts and histograms.
pub fn render(states: &[NsState], dir: &Directory, lifecycle: Option<&LifecycleStats>) -> String {
    let mut o = String::new();
    o.push_str("# HELP rnetns_packets_total Packets seen at a netfilter hook point of a network namespace since its last reset.\n");
    o.push_str("# TYPE rnetns_packets_total counter\n");
    for s in states {
        let l = ns_labels(s, dir);
        for c in &s.counters {
            let _ = writeln!(
                o,
                "rnetns_packets_total{{{l},family=\"{}\",hook=\"{}\"}} {}",
                c.family.name(),
                c.hook.name(),
                c.packets
            );
        }
    }
    o.push_str("# HELP rnetns_bytes_total Bytes of the packets seen at a netfilter hook point of a network namespace since its last reset.\n");
    o.push_str("# TYPE rnetns_bytes_total counter\n");
    for s in states {
        let l = ns_labels(s, dir);
        for c in &s.counters {
            let _ = writeln!(
                o,
                "rnetns_bytes_total{{{l},family=\"{}\",hook=\"{}\"}} {}",
                c.family.name(),
                c.hook.name(),
                c.bytes
            );
        }
    }
    o.push_str("# HELP rnetns_netns_info A network namespace rnetns serves: its identity and counted hook points.\n");
    o.push_str("# TYPE rnetns_netns_info gauge\n");
    for s in states {
        let _ = writeln!(
            o,
            "rnetns_netns_info{{{},init_net=\"{}\",hooks=\"{}\"}} 1",
            ns_labels(s, dir),
            u8::from(s.init_net),
            s.hooks
        );
    }
    o.push_str("# HELP rnetns_netns_refused_hooks Hook points netfilter refused to register in a network namespace.\n");
    o.push_str("# TYPE rnetns_netns_refused_hooks gauge\n");
    for s in states {
        let _ = writeln!(
            o,
            "rnetns_netns_refused_hooks{{{}}} {}",
            ns_labels(s, dir),
            s.refused.len()
        );
    }
    o.push_str("# HELP rnetns_netns_created_seconds When rnetns set the network namespace up, in seconds of CLOCK_BOOTTIME.\n");
    o.push_str("# TYPE rnetns_netns_created_seconds gauge\n");
    for s in states {
        let _ = writeln!(
            o,
            "rnetns_netns_created_seconds{{{}}} {}",
            ns_labels(s, dir),
            seconds(s.created_ns)
        );
    }
    if let Some(lc) = lifecycle {
        o.push_str("# HELP rnetns_netns_live Network namespaces holding rnetns state.\n# TYPE rnetns_netns_live gauge\n");
        let _ = writeln!(o, "rnetns_netns_live {}", lc.live);
        for (name, help, v) in [
            (
                "created",
                "Network namespaces rnetns set up since it was loaded.",
                lc.created,
            ),
            (
                "destroyed",
                "Network namespaces rnetns tore down since it was loaded.",
                lc.destroyed,
            ),
            (
                "init_failed",
                "Network namespace set-ups by rnetns that failed since it was loaded.",
                lc.init_failed,
            ),
        ] {
            let _ = writeln!(o, "# HELP rnetns_netns_{name}_total {help}\n# TYPE rnetns_netns_{name}_total counter\nrnetns_netns_{name}_total {v}");
        }
        for (file, metric, help) in [
            (
                "init_ns",
                "rnetns_netns_init_duration_seconds",
                "How long rnetns's set-up of a network namespace took.",
            ),
            (
                "exit_ns",
                "rnetns_netns_exit_duration_seconds",
                "How long rnetns's teardown of a network namespace took.",
            ),
            (
                "lifetime_ns",
                "rnetns_netns_lifetime_seconds",
                "How long network namespaces lived, from rnetns's set-up to their teardown.",
            ),
        ] {
            let _ = writeln!(o, "# HELP {metric} {help}\n# TYPE {metric} histogram");
            let mut cum = 0;
            for (_, _, high, count) in lc.buckets.iter().filter(|b| b.0 == file) {
                cum += count;
                let _ = writeln!(o, "{metric}_bucket{{le=\"{}\"}} {cum}", seconds(*high));
            }
            let _ = writeln!(
                o,
                "{metric}_bucket{{le=\"+Inf\"}} {cum}\n{metric}_count {cum}"
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::sample;

    const LIFECYCLE: &str = "live 3\ncreated 12\ndestroyed 9\ninit_failed 0\nhistogram low_ns high_ns count\n\
init_ns 262144 524288 7\ninit_ns 524288 1048576 5\nexit_ns 65536 131072 9\nlifetime_ns 268435456 536870912 9\n";

    #[test]
    fn parses_the_lifecycle_file() {
        let l = parse_lifecycle(LIFECYCLE).unwrap();
        assert_eq!(
            (l.live, l.created, l.destroyed, l.init_failed),
            (3, 12, 9, 0)
        );
        assert_eq!(l.buckets.len(), 4);
        assert_eq!(l.buckets[1], ("init_ns".to_string(), 524288, 1048576, 5));
        assert!(parse_lifecycle("live x\n").is_err());
    }

    #[test]
    fn renders_counters_and_histograms() {
        let b = sample();
        let s = crate::wire::decode_ns(&b.get_attr_handle()).unwrap();
        let mut dir = Directory::default();
        dir.names.insert(s.inum, vec!["red \"1\"".to_string()]);
        let l = parse_lifecycle(LIFECYCLE).unwrap();
        let out = render(&[s], &dir, Some(&l));
        assert!(out.contains(
            "rnetns_packets_total{netns_inode=\"4026532290\",netns_cookie=\"14\",netns_name=\"red \\\"1\\\"\",family=\"ipv4\",hook=\"input\"} 10\n"
        ), "{out}");
        assert!(out.contains("family=\"ipv6\",hook=\"output\"} 144\n"));
        assert!(out.contains(",init_net=\"0\",hooks=\"ipv4:input,ipv6:output\"} 1\n"));
        assert!(out.contains("rnetns_netns_refused_hooks{netns_inode=\"4026532290\",netns_cookie=\"14\",netns_name=\"red \\\"1\\\"\"} 1\n"));
        assert!(out.contains("rnetns_netns_created_seconds{") && out.contains("} 5\n"));
        // Cumulative buckets with le in seconds, +Inf equal to the count.
        assert!(
            out.contains("rnetns_netns_init_duration_seconds_bucket{le=\"0.000524288\"} 7\n"),
            "{out}"
        );
        assert!(out.contains("rnetns_netns_init_duration_seconds_bucket{le=\"0.001048576\"} 12\n"));
        assert!(out.contains("rnetns_netns_init_duration_seconds_bucket{le=\"+Inf\"} 12\nrnetns_netns_init_duration_seconds_count 12\n"));
        assert!(out.contains("rnetns_netns_created_total 12\n"));
        // Every sample's metric has HELP and TYPE lines before it.
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let base = name.trim_end_matches("_bucket").trim_end_matches("_count");
            assert!(
                out.contains(&format!("# TYPE {base} ")),
                "no TYPE for {name}"
            );
            assert!(
                out.contains(&format!("# HELP {base} ")),
                "no HELP for {name}"
            );
        }
    }
}
