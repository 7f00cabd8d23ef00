//! What user space knows of a namespace and the kernel does not say: its
//! names (`/run/netns` bind mounts, as `ip netns` makes them) and the
//! processes in it (as `lsns -t net` finds them), and how a user names one
//! on the command line.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps its bind mounts.
pub const NETNS_RUN_DIR: &str = "/run/netns";
/// PIDs are below this (the kernel's PID_MAX_LIMIT); namespace inode numbers
/// (from 0xF0000000) are above.
const PID_LIMIT: u64 = 4 * 1024 * 1024;

/// The processes of one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procs {
    /// Their PIDs, ascending.
    pub pids: Vec<u32>,
    /// The command of the lowest PID.
    pub command: String,
}

/// Names and processes of the namespaces on this system, by inode number.
#[derive(Debug, Default)]
pub struct Directory {
    pub names: BTreeMap<u32, Vec<String>>,
    pub procs: BTreeMap<u32, Procs>,
}

fn ns_inode(path: &Path) -> Option<u32> {
    // stat follows the /proc/PID/ns/net magic link and the bind mount alike.
    fs::metadata(path)
        .ok()
        .and_then(|m| u32::try_from(m.ino()).ok())
}

impl Directory {
    /// Reads `/run/netns` and every `/proc/PID/ns/net` the caller may read
    /// (others' processes are left out, as `lsns` leaves them).
    pub fn scan() -> Directory {
        let mut d = Directory::default();
        if let Ok(entries) = fs::read_dir(NETNS_RUN_DIR) {
            for e in entries.flatten() {
                if let (Some(ino), Some(name)) = (ns_inode(&e.path()), e.file_name().to_str()) {
                    d.names.entry(ino).or_default().push(name.to_string());
                }
            }
        }
        for v in d.names.values_mut() {
            v.sort();
        }
        if let Ok(entries) = fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let Some(ino) = ns_inode(&e.path().join("ns/net")) else {
                    continue;
                };
                let p = d.procs.entry(ino).or_default();
                p.pids.push(pid);
            }
        }
        for p in d.procs.values_mut() {
            p.pids.sort_unstable();
            if let Some(first) = p.pids.first() {
                p.command = fs::read_to_string(format!("/proc/{first}/comm"))
                    .map(|s| s.trim_end().to_string())
                    .unwrap_or_default();
            }
        }
        d
    }

    /// The namespace's first name, if it has one.
    pub fn name(&self, inum: u32) -> Option<&str> {
        self.names
            .get(&inum)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// A short description of its processes: up to `max` PIDs, `+N` more,
    /// and the first one's command (`-` for none).
    pub fn procs_summary(&self, inum: u32, max: usize) -> String {
        match self.procs.get(&inum) {
            None => "-".to_string(),
            Some(p) => {
                let mut s: Vec<String> = p.pids.iter().take(max).map(u32::to_string).collect();
                if p.pids.len() > max {
                    s.push(format!("+{}", p.pids.len() - max));
                }
                format!("{} ({})", s.join(","), p.command)
            }
        }
    }
}

/// A namespace as a user names it on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsArg {
    /// A file of it: `/run/netns/NAME`, `/proc/PID/ns/net`, or a path.
    Path(PathBuf),
    /// Only its inode number: found in a dump.
    Inode(u32),
}

/// Reads NS: a name under `/run/netns`, an inode number, a PID, or a path
/// (anything with a `/`).
pub fn parse_ns(arg: &str) -> Result<NsArg, String> {
    if arg.contains('/') {
        return Ok(NsArg::Path(PathBuf::from(arg)));
    }
    if let Ok(n) = arg.parse::<u64>() {
        if n >= PID_LIMIT {
            return u32::try_from(n)
                .map(NsArg::Inode)
                .map_err(|_| format!("{arg}: no namespace inode number (they are 32-bit)"));
        }
        return Ok(NsArg::Path(PathBuf::from(format!("/proc/{n}/ns/net"))));
    }
    if arg.is_empty() || arg == "." || arg == ".." {
        return Err(format!("'{arg}': not a namespace name"));
    }
    Ok(NsArg::Path(Path::new(NETNS_RUN_DIR).join(arg)))
}

/// Resolves NS to an open file of the namespace (for `ns-fd`) where it
/// names one, and its inode number. A bare inode number is looked up in
/// `/run/netns` and the processes' namespaces.
pub fn open_ns(arg: &NsArg, dir: &Directory) -> Result<(Option<File>, u32), String> {
    let path = match arg {
        NsArg::Path(p) => p.clone(),
        NsArg::Inode(i) => {
            if let Some(n) = dir.name(*i) {
                Path::new(NETNS_RUN_DIR).join(n)
            } else if let Some(pid) = dir.procs.get(i).and_then(|p| p.pids.first()) {
                PathBuf::from(format!("/proc/{pid}/ns/net"))
            } else {
                return Ok((None, *i));
            }
        }
    };
    let f = File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{}: no such namespace (no such file)", path.display())
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("{}: not allowed to open it", path.display())
        }
        _ => format!("{}: {e}", path.display()),
    })?;
    let ino = f
        .metadata()
        .ok()
        .and_then(|m| u32::try_from(m.ino()).ok())
        .ok_or_else(|| format!("{}: cannot stat it", path.display()))?;
    Ok((Some(f), ino))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ns_arguments() {
        assert_eq!(
            parse_ns("red").unwrap(),
            NsArg::Path("/run/netns/red".into())
        );
        assert_eq!(parse_ns("1").unwrap(), NsArg::Path("/proc/1/ns/net".into()));
        assert_eq!(parse_ns("4026531840").unwrap(), NsArg::Inode(4026531840));
        assert_eq!(
            parse_ns("/proc/self/ns/net").unwrap(),
            NsArg::Path("/proc/self/ns/net".into())
        );
        assert_eq!(parse_ns("./x").unwrap(), NsArg::Path("./x".into()));
        assert!(parse_ns("99999999999").unwrap_err().contains("32-bit"));
        assert!(parse_ns("").is_err());
        assert!(parse_ns("..").is_err());
    }

    #[test]
    fn finds_its_own_namespace() {
        // This process is in some network namespace: the scan sees it there.
        let me = ns_inode(Path::new("/proc/self/ns/net")).unwrap();
        let d = Directory::scan();
        assert!(d.procs[&me].pids.contains(&std::process::id()));
        let (f, ino) = open_ns(&NsArg::Path("/proc/self/ns/net".into()), &d).unwrap();
        assert!(f.is_some());
        assert_eq!(ino, me);
        let s = d.procs_summary(me, 100);
        assert!(s.contains(&std::process::id().to_string()), "{s}");
        assert_eq!(d.procs_summary(1, 3), "-");
        assert!(open_ns(&NsArg::Path("/run/netns/no such".into()), &d)
            .unwrap_err()
            .contains("no such namespace"));
    }
}
