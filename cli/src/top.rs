//! `rnetns top`: per-namespace packet and byte rates from two dumps an
//! interval apart, busiest first; a full-screen view (crossterm's alternate
//! screen, raw mode for the keys) or plain tables.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crossterm::{
    cursor, event,
    event::{Event, KeyCode, KeyEvent, KeyModifiers},
    execute, queue, terminal,
};

use crate::client::{Client, Error};
use crate::names::Directory;
use crate::table;
use crate::wire::NsState;

/// One namespace's rates over an interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub inum: u32,
    pub cookie: u64,
    pub pps: f64,
    pub bps: f64,
    pub packets: u64,
    pub bytes: u64,
}

/// Rates between two dumps `secs` apart, busiest (packets per second) first.
/// A namespace is matched by its cookie (an inode number can be reused); one
/// new in the second dump, or reset meanwhile, counts from zero.
pub fn rates(before: &[NsState], after: &[NsState], secs: f64) -> Vec<Rate> {
    let old: HashMap<u64, (u64, u64)> = before
        .iter()
        .map(|s| (s.cookie, (s.packets(), s.bytes())))
        .collect();
    let mut v: Vec<Rate> = after
        .iter()
        .map(|s| {
            let (p, b) = (s.packets(), s.bytes());
            let (p0, b0) = match old.get(&s.cookie) {
                Some(&(p0, b0)) if p0 <= p && b0 <= b => (p0, b0),
                _ => (0, 0),
            };
            Rate {
                inum: s.inum,
                cookie: s.cookie,
                pps: (p - p0) as f64 / secs,
                bps: (b - b0) as f64 / secs,
                packets: p,
                bytes: b,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        b.pps
            .total_cmp(&a.pps)
            .then(b.bps.total_cmp(&a.bps))
            .then(a.inum.cmp(&b.inum))
    });
    v
}

fn render(r: &[Rate], dir: &Directory, limit: usize) -> String {
    let rows: Vec<Vec<String>> = r
        .iter()
        .take(limit)
        .map(|x| {
            vec![
                dir.name(x.inum).unwrap_or("-").to_string(),
                x.inum.to_string(),
                table::si(x.pps),
                table::si(x.bps),
                x.packets.to_string(),
                x.bytes.to_string(),
                dir.procs_summary(x.inum, 2),
            ]
        })
        .collect();
    table::render(
        &[
            "NAME",
            "INODE",
            "PKT/S",
            "BYTE/S",
            "PACKETS",
            "BYTES",
            "PROCESSES",
        ],
        &rows,
        &[false, true, true, true, true, true, false],
    )
}

fn summary(r: &[Rate], secs: f64) -> String {
    let pps: f64 = r.iter().map(|x| x.pps).sum();
    let bps: f64 = r.iter().map(|x| x.bps).sum();
    format!(
        "rnetns top: {} namespaces, {} packets/s, {} bytes/s over {secs:.1} s",
        r.len(),
        table::si(pps),
        table::si(bps)
    )
}

/// Restores the terminal however the view ends.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        terminal::enable_raw_mode()?;
        let s = Screen;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )?;
        Ok(s)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
        let _ = terminal::disable_raw_mode();
    }
}

/// Waits up to `d` for a key; true when it asks to quit.
fn quit_within(d: Duration) -> std::io::Result<bool> {
    let end = Instant::now() + d;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || !event::poll(left)? {
            return Ok(false);
        }
        if let Event::Key(KeyEvent {
            code, modifiers, ..
        }) = event::read()?
        {
            match code {
                KeyCode::Char('q') | KeyCode::Esc => return Ok(true),
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => return Ok(true),
                _ => {}
            }
        }
    }
}

/// Runs top: full screen unless `batch`, `once` or standard output is no
/// terminal.
pub fn run(interval: f64, batch: bool, once: bool, iterations: Option<u64>) -> Result<(), Error> {
    let client = Client::connect()?;
    let step = Duration::from_secs_f64(interval);
    let mut prev = client.dump()?;
    let mut t0 = Instant::now();
    let plain = batch || once || !std::io::stdout().is_terminal();
    let io = |e: std::io::Error| Error::new(format!("terminal: {e}"));
    if plain {
        let n = if once { Some(1) } else { iterations };
        let mut done = 0;
        while n.is_none_or(|n| done < n) {
            std::thread::sleep(step);
            let now = client.dump()?;
            let secs = t0.elapsed().as_secs_f64();
            t0 = Instant::now();
            let r = rates(&prev, &now, secs);
            let dir = Directory::scan();
            let mut o = std::io::stdout().lock();
            if writeln!(o, "{}\n{}", summary(&r, secs), render(&r, &dir, usize::MAX))
                .and_then(|_| o.flush())
                .is_err()
            {
                return Ok(());
            }
            prev = now;
            done += 1;
        }
        return Ok(());
    }
    let _screen = Screen::enter().map_err(io)?;
    loop {
        if quit_within(step).map_err(io)? {
            return Ok(());
        }
        let now = client.dump()?;
        let secs = t0.elapsed().as_secs_f64();
        t0 = Instant::now();
        let r = rates(&prev, &now, secs);
        prev = now;
        let dir = Directory::scan();
        let (_, rows) = terminal::size().map_err(io)?;
        let text = render(&r, &dir, usize::from(rows).saturating_sub(3));
        let mut o = std::io::stdout().lock();
        queue!(
            o,
            cursor::MoveTo(0, 0),
            terminal::Clear(terminal::ClearType::All)
        )
        .map_err(io)?;
        // Raw mode: lines end in \r\n.
        write!(o, "{}   (q quits)\r\n\r\n", summary(&r, secs)).map_err(io)?;
        for line in text.lines() {
            write!(o, "{line}\r\n").map_err(io)?;
        }
        o.flush().map_err(io)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::sample;

    #[test]
    fn rates_by_cookie_busiest_first() {
        let b = sample();
        let a = crate::wire::decode_ns(&b.get_attr_handle()).unwrap();
        let mut a2 = a.clone();
        a2.counters[0].packets += 100;
        a2.counters[0].bytes += 6400;
        let mut other = a.clone();
        other.cookie = 99;
        other.inum = 1;
        let r = rates(std::slice::from_ref(&a), &[other.clone(), a2.clone()], 2.0);
        assert_eq!(r[0].cookie, a.cookie);
        assert_eq!(r[0].pps, 50.0);
        assert_eq!(r[0].bps, 3200.0);
        // New namespace: from zero.
        assert_eq!(r[1].pps, other.packets() as f64 / 2.0);
        // Reset meanwhile (counters went down): from zero, never negative.
        let r = rates(&[a2], std::slice::from_ref(&a), 1.0);
        assert_eq!(r[0].pps, a.packets() as f64);
        let s = summary(&rates(&[], &[a], 1.0), 1.0);
        assert_eq!(
            s,
            "rnetns top: 1 namespaces, 13 packets/s, 5.0G bytes/s over 1.0 s"
        );
    }
}
