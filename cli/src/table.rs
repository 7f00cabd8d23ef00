//! Plain aligned tables, numbers as people read them.

/// Right-aligns the columns marked `true` in `right`, left-aligns the rest,
/// two spaces apart; no trailing spaces.
pub fn render(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = width[i] - c.chars().count();
            if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// A count with SI prefixes (1000-based): 999, 1.2k, 45.6M.
pub fn si(v: f64) -> String {
    const P: [&str; 5] = ["", "k", "M", "G", "T"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 999.95 && i + 1 < P.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}{}", P[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns() {
        let t = render(
            &["NAME", "PKTS"],
            &[
                vec!["red".into(), "5".into()],
                vec!["-".into(), "12345".into()],
            ],
            &[false, true],
        );
        assert_eq!(t, "NAME   PKTS\nred       5\n-     12345\n");
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(999.0), "999");
        assert_eq!(si(1234.0), "1.2k");
        assert_eq!(si(45_600_000.0), "45.6M");
        assert_eq!(si(999_960.0), "1.0M");
    }
}
