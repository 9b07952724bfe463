//! The summary of a run: what was read ([`Stats`], counted by the scanner)
//! and what was reported ([`Tally`], counted as matches are written, after
//! every filter): matches per level, per rule (most severe level first,
//! then most matches), per computer, the first and last matched event's
//! time, and the rate of the scan.
//!
//! With the table it is a block after the rows; with JSON lines and CSV,
//! whose stream carries nothing but matches, it is one line on stderr
//! (naming the [`MAX_RULES_IN_LINE`] first rules).

use std::collections::HashMap;
use std::fmt::Write as _;

use detect::RuleInfo;
use detect::ir::Level;

use crate::pack::Pack;
use crate::record::Record;
use crate::scan::Stats;

/// Computers listed in the summary block; the others are counted in one line.
const MAX_COMPUTERS: usize = 20;

/// Rules named in the one-line summary (most severe first); the others are counted.
const MAX_RULES_IN_LINE: usize = 10;

/// Counts of the reported matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tally {
    /// Matches reported.
    pub(crate) matches: u64,
    /// By [`RuleInfo::index`] of [`Pack::rules`].
    pub(crate) per_rule: Vec<u64>,
    /// By index in [`Pack::sequences`].
    pub(crate) per_sequence: Vec<u64>,
    /// By computer name (`-` when the event names none).
    pub(crate) per_computer: HashMap<String, u64>,
    /// The earliest matched event's time (ms since the epoch) and its text.
    pub(crate) first: Option<(i64, String)>,
    /// The latest matched event's time and its text.
    pub(crate) last: Option<(i64, String)>,
}

impl Tally {
    /// Counts `rec`.
    pub(crate) fn add(&mut self, rec: &Record) {
        self.matches += 1;
        let counts = if rec.is_sequence {
            &mut self.per_sequence
        } else {
            &mut self.per_rule
        };
        let i = rec.rule.index;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
        let computer = if rec.computer.is_empty() {
            "-"
        } else {
            rec.computer.as_str()
        };
        match self.per_computer.get_mut(computer) {
            Some(n) => *n += 1,
            None => {
                self.per_computer.insert(computer.to_string(), 1);
            }
        }
        if let Some(ms) = rec.time_ms {
            if self.first.as_ref().is_none_or(|(f, _)| ms < *f) {
                self.first = Some((ms, rec.timestamp.clone()));
            }
            if self.last.as_ref().is_none_or(|(l, _)| ms > *l) {
                self.last = Some((ms, rec.timestamp.clone()));
            }
        }
    }

    /// Adds the counts of `other`.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.matches += other.matches;
        for (mine, theirs) in [
            (&mut self.per_rule, other.per_rule),
            (&mut self.per_sequence, other.per_sequence),
        ] {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for (computer, n) in other.per_computer {
            *self.per_computer.entry(computer).or_insert(0) += n;
        }
        if let Some(f) = other.first
            && self.first.as_ref().is_none_or(|(mine, _)| f.0 < *mine)
        {
            self.first = Some(f);
        }
        if let Some(l) = other.last
            && self.last.as_ref().is_none_or(|(mine, _)| l.0 > *mine)
        {
            self.last = Some(l);
        }
    }

    /// Rules and sequence rules that matched, most severe level first, then
    /// most matches, then by title.
    pub(crate) fn rule_counts(&self, pack: &Pack) -> Vec<(&'static RuleInfo, u64)> {
        let count = |counts: &[u64], i: usize| counts.get(i).copied().unwrap_or(0);
        let mut hits: Vec<(&'static RuleInfo, u64)> = pack
            .rules()
            .iter()
            .map(|r| (r, count(&self.per_rule, r.index)))
            .chain(
                pack.sequences()
                    .iter()
                    .map(|r| (r, count(&self.per_sequence, r.index))),
            )
            .filter(|(_, n)| *n > 0)
            .collect();
        hits.sort_by(|(a, na), (b, nb)| {
            b.level
                .cmp(&a.level)
                .then(nb.cmp(na))
                .then(a.title.cmp(b.title))
                .then(a.name.cmp(b.name))
        });
        hits
    }

    /// Levels that matched, most severe first, with their counts.
    pub(crate) fn level_counts(&self, pack: &Pack) -> Vec<(Level, u64)> {
        let hits = self.rule_counts(pack);
        Level::ALL
            .iter()
            .rev()
            .map(|&level| {
                let n = hits
                    .iter()
                    .filter(|(r, _)| r.level == level)
                    .map(|(_, n)| n)
                    .sum();
                (level, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Computers, most matches first (then by name).
    pub(crate) fn computer_counts(&self) -> Vec<(&str, u64)> {
        let mut list: Vec<(&str, u64)> = self
            .per_computer
            .iter()
            .map(|(c, n)| (c.as_str(), *n))
            .collect();
        list.sort_by(|(a, na), (b, nb)| nb.cmp(na).then(a.cmp(b)));
        list
    }
}

/// The multi-line summary printed after the table.
pub(crate) fn summary_block(pack: &Pack, stats: &Stats, tally: &Tally) -> String {
    let mut s = String::from("Summary\n");
    let rows = [
        (
            "inputs",
            format!("{} ({})", stats.inputs, size(stats.bytes)),
        ),
        ("events scanned", stats.events.to_string()),
        ("matches", tally.matches.to_string()),
        ("malformed lines", stats.malformed.to_string()),
        ("EVTX errors", stats.evtx_errors.to_string()),
        ("unreadable files", stats.unreadable.to_string()),
        ("elapsed", format!("{} ({})", elapsed(stats), rate(stats))),
    ];
    let evicted = (stats.sequences_evicted > 0).then(|| {
        (
            "sequences evicted",
            format!("{} (raise --sequence-capacity)", stats.sequences_evicted),
        )
    });
    let times = [("first match", &tally.first), ("last match", &tally.last)]
        .into_iter()
        .filter_map(|(label, t)| t.as_ref().map(|(_, text)| (label, text.clone())));
    for (label, value) in rows.into_iter().chain(evicted).chain(times) {
        let _ = writeln!(s, "  {label:<17} {value}");
    }
    let hits = tally.rule_counts(pack);
    if hits.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\n  Matches per level");
    for (level, n) in tally.level_counts(pack) {
        let _ = writeln!(s, "  {:<17} {n}", level.as_str());
    }
    let nw = hits
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(0)
        .max("MATCHES".len());
    let _ = writeln!(
        s,
        "\n  Matches per rule\n  {:<13}  {:>nw$}  RULE",
        "LEVEL", "MATCHES"
    );
    for (rule, n) in &hits {
        let _ = writeln!(
            s,
            "  {:<13}  {n:>nw$}  {} ({})",
            rule.level.as_str(),
            rule.title,
            rule.name
        );
    }
    let computers = tally.computer_counts();
    let _ = writeln!(
        s,
        "\n  Matches per computer\n  {:>nw$}  COMPUTER",
        "MATCHES"
    );
    for (computer, n) in computers.iter().take(MAX_COMPUTERS) {
        let mut shown = String::new();
        crate::fields::push_sanitized(&mut shown, computer);
        let _ = writeln!(s, "  {n:>nw$}  {shown}");
    }
    if computers.len() > MAX_COMPUTERS {
        let rest: u64 = computers[MAX_COMPUTERS..].iter().map(|(_, n)| n).sum();
        let _ = writeln!(
            s,
            "  {rest:>nw$}  ({} more computers)",
            computers.len() - MAX_COMPUTERS
        );
    }
    s
}

/// The summary as one line (for stderr with JSON lines and CSV).
pub(crate) fn summary_line(pack: &Pack, stats: &Stats, tally: &Tally) -> String {
    let mut s = format!(
        "detect: scanned {} events in {} ({}) from {} {} ({}): {} {}",
        stats.events,
        elapsed(stats),
        rate(stats),
        stats.inputs,
        plural(stats.inputs, "input", "inputs"),
        size(stats.bytes),
        tally.matches,
        plural(tally.matches, "match", "matches"),
    );
    push_rule_counts(&mut s, &tally.rule_counts(pack), MAX_RULES_IN_LINE);
    let computers = tally.computer_counts();
    if !computers.is_empty() {
        let _ = write!(
            s,
            " on {} {}",
            computers.len(),
            plural(computers.len() as u64, "computer", "computers")
        );
    }
    if let (Some((_, f)), Some((_, l))) = (&tally.first, &tally.last) {
        let _ = write!(s, " from {f} to {l}");
    }
    let _ = write!(
        s,
        ", {} malformed {}, {} EVTX {}, {} unreadable {}",
        stats.malformed,
        plural(stats.malformed, "line", "lines"),
        stats.evtx_errors,
        plural(stats.evtx_errors, "error", "errors"),
        stats.unreadable,
        plural(stats.unreadable, "file", "files"),
    );
    if stats.sequences_evicted > 0 {
        let _ = write!(
            s,
            ", {} pending {} evicted (raise --sequence-capacity)",
            stats.sequences_evicted,
            plural(stats.sequences_evicted, "sequence", "sequences"),
        );
    }
    s
}

/// Appends ` (name [level]: n, ...)` for the first `max` of `hits`, and how
/// many matches the others had.
fn push_rule_counts(s: &mut String, hits: &[(&'static RuleInfo, u64)], max: usize) {
    for (i, (rule, n)) in hits.iter().take(max).enumerate() {
        s.push_str(if i == 0 { " (" } else { ", " });
        let _ = write!(s, "{} [{}]: {n}", rule.name, rule.level.as_str());
    }
    if hits.len() > max {
        let rest: u64 = hits[max..].iter().map(|(_, n)| n).sum();
        let others = hits.len() - max;
        let _ = write!(
            s,
            ", {others} other {}: {rest}",
            if others == 1 { "rule" } else { "rules" }
        );
    }
    if !hits.is_empty() {
        s.push(')');
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Wall-clock time, in ms below one second.
fn elapsed(stats: &Stats) -> String {
    let secs = stats.elapsed.as_secs_f64();
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

/// A byte count in decimal units (`1.5 MB`).
fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.2} GB", bytes as f64 / 1e9),
    }
}

/// Events per second and MB per second (`-` when no time was measured).
fn rate(stats: &Stats) -> String {
    let secs = stats.elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "- events/s, - MB/s".to_string();
    }
    format!(
        "{:.0} events/s, {:.1} MB/s",
        stats.events as f64 / secs,
        stats.bytes as f64 / 1e6 / secs
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Location;
    use detect_rules::Builtin;
    use std::time::Duration;

    fn stats() -> Stats {
        Stats {
            inputs: 1,
            bytes: 2_500_000,
            events: 10,
            malformed: 1,
            evtx_errors: 3,
            elapsed: Duration::from_millis(5),
            ..Stats::new(&Pack::Builtin)
        }
    }

    fn record(rule: &'static RuleInfo, computer: &str, time: Option<(i64, &str)>) -> Record {
        let mut rec = Record::new(rule);
        rec.position = Location::Line(1);
        rec.computer = computer.to_string();
        if let Some((ms, text)) = time {
            rec.time_ms = Some(ms);
            rec.timestamp = text.to_string();
        }
        rec
    }

    fn rule(name: &str) -> &'static RuleInfo {
        Builtin::RULES.iter().find(|r| r.name == name).unwrap()
    }

    /// Two workers' tallies: msiexec_web_install (medium) twice, the
    /// network rule (low) three times, msi_install_from_web (medium) once.
    fn tally() -> Tally {
        let mut a = Tally::default();
        a.add(&record(
            rule("msiexec_web_install"),
            "pc1",
            Some((2000, "t2000")),
        ));
        a.add(&record(rule("msiexec_http_connection"), "pc2", None));
        a.add(&record(
            rule("msiexec_http_connection"),
            "pc2",
            Some((500, "t500")),
        ));
        let mut b = Tally::default();
        b.add(&record(
            rule("msiexec_web_install"),
            "",
            Some((9000, "t9000")),
        ));
        b.add(&record(rule("msiexec_http_connection"), "pc1", None));
        b.add(&record(
            rule("msi_install_from_web"),
            "pc1",
            Some((1000, "t1000")),
        ));
        a.merge(b);
        a
    }

    #[test]
    fn counts_per_rule_level_and_computer() {
        let t = tally();
        assert_eq!(t.matches, 6);
        let rules: Vec<(&str, u64)> = t
            .rule_counts(&Pack::Builtin)
            .iter()
            .map(|(r, n)| (r.name, *n))
            .collect();
        assert_eq!(rule("msi_install_from_web").level, Level::Medium);
        // Most severe level first, then most matches.
        assert_eq!(
            rules,
            [
                ("msiexec_web_install", 2),
                ("msi_install_from_web", 1),
                ("msiexec_http_connection", 3)
            ]
        );
        assert_eq!(
            t.level_counts(&Pack::Builtin),
            [(Level::Medium, 3), (Level::Low, 3)]
        );
        assert_eq!(t.computer_counts(), [("pc1", 3), ("pc2", 2), ("-", 1)]);
        assert_eq!(t.first, Some((500, "t500".to_string())));
        assert_eq!(t.last, Some((9000, "t9000".to_string())));
    }

    #[test]
    fn block_and_line() {
        let block = summary_block(&Pack::Builtin, &stats(), &tally());
        for row in [
            "  inputs            1 (2.5 MB)\n",
            "  matches           6\n",
            "  EVTX errors       3\n",
            "  elapsed           5.0 ms (2000 events/s, 500.0 MB/s)\n",
            "  first match       t500\n",
            "  last match        t9000\n",
            "  Matches per level\n  medium            3\n  low               3\n",
            "  Matches per computer\n  MATCHES  COMPUTER\n        3  pc1\n        2  pc2\n        1  -\n",
        ] {
            assert!(block.contains(row), "{row:?} in\n{block}");
        }
        let per_rule = block.find("Matches per rule").unwrap();
        let order: Vec<usize> = [
            "(msiexec_web_install)",
            "(msi_install_from_web)",
            "(msiexec_http_connection)",
        ]
        .iter()
        .map(|n| block[per_rule..].find(n).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{block}");

        let line = summary_line(&Pack::Builtin, &stats(), &tally());
        assert!(
            line.starts_with("detect: scanned 10 events in 5.0 ms (2000 events/s, 500.0 MB/s) from 1 input (2.5 MB): 6 matches (msiexec_web_install [medium]: 2, "),
            "{line}"
        );
        assert!(
            line.ends_with(" on 3 computers from t500 to t9000, 1 malformed line, 3 EVTX errors, 0 unreadable files"),
            "{line}"
        );
        // Past the limit, the other rules are counted.
        let hits = tally().rule_counts(&Pack::Builtin);
        let mut s = String::new();
        push_rule_counts(&mut s, &hits, 1);
        assert_eq!(s, " (msiexec_web_install [medium]: 2, 2 other rules: 4)");
        s.clear();
        push_rule_counts(&mut s, &hits, 2);
        assert!(s.ends_with("[medium]: 1, 1 other rule: 3)"), "{s}");
        s.clear();
        push_rule_counts(&mut s, &[], 2);
        assert_eq!(s, "");
        // No match: no per-rule section.
        let empty = summary_block(&Pack::Builtin, &stats(), &Tally::default());
        assert!(!empty.contains("Matches per rule"), "{empty}");
    }

    #[test]
    fn rate_size_and_elapsed_never_divide_by_zero() {
        let s = Stats {
            elapsed: Duration::ZERO,
            ..Stats::default()
        };
        assert_eq!(rate(&s), "- events/s, - MB/s");
        assert_eq!(elapsed(&s), "0.0 ms");
        assert_eq!(
            elapsed(&Stats {
                elapsed: Duration::from_millis(2500),
                ..s
            }),
            "2.50 s"
        );
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1500), "1.5 kB");
        assert_eq!(size(28_000_000), "28.0 MB");
        assert_eq!(size(3_000_000_000), "3.00 GB");
    }
}
