//! Reporting matches: an aligned table for people, JSON lines for programs,
//! and the summary of a run.
//!
//! Rows are formatted on the worker thread that found the match, into that
//! thread's buffer, and written in input order by the driver (see
//! [`crate::driver`]); so memory does not grow with the number of matches
//! beyond what is in flight, and the table uses column widths fixed up front
//! (from the rule set and the input names) rather than measured over all
//! rows. Long TIME and COMPUTER values are cut with `…`; DETAILS is last and
//! cut at [`crate::fields::DETAILS_MAX_CHARS`].
//!
//! In JSON-lines mode the matches' stream carries nothing but one object per
//! match, so the summary goes to stderr as a single line.
//!
//! A completed sequence is one row or object: LOCATION `file:L1,L2,L3` (or
//! `file#R1,R2,R3` for EVTX) and DETAILS `sequence of N events`; its TIME and
//! COMPUTER are its last event's. Its JSON object is `rule`, `id`, `title`,
//! `level`, `file`, `lines` (or `records`), `sequence: true` and `timestamp`
//! (the last event's), without `layout` or `event`.

use std::fmt::Write as _;
use std::io::{self, Write};

use detect::ir::Level;

use crate::fields::{ContextFields, push_sanitized, truncate_chars};
use crate::pack::Pack;
use crate::scan::{Location, Match, Stats};

/// Width of the TIME column (`2019-03-19T13:05:42.0000000Z`, as EVTX writes it).
const TIME_WIDTH: usize = 28;
/// Width of the COMPUTER column.
const COMPUTER_WIDTH: usize = 20;
/// Widest LOCATION column; longer locations push the row to the right.
const MAX_LOCATION_WIDTH: usize = 60;

/// Column widths of the table, fixed before the first row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableLayout {
    level_width: usize,
    rule_width: usize,
    location_width: usize,
}

impl TableLayout {
    /// Widths for the rules of `pack` and inputs shown as `names` (used to
    /// size LOCATION).
    pub(crate) fn new(pack: &Pack, names: &[String]) -> Self {
        let widest = |items: &mut dyn Iterator<Item = usize>, header: &str| {
            items.max().unwrap_or(0).max(header.len())
        };
        let longest_name = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        TableLayout {
            level_width: widest(
                &mut pack.all_rules().map(|r| r.level.as_str().len()),
                "LEVEL",
            ),
            rule_width: widest(&mut pack.all_rules().map(|r| r.name.len()), "RULE"),
            // name, ':' or '#' and room for six-digit line or record numbers.
            location_width: (longest_name + 7).clamp("LOCATION".len(), MAX_LOCATION_WIDTH),
        }
    }

    /// The header line, with its newline.
    pub(crate) fn header(&self) -> String {
        format!(
            "{:<lw$}  {:<rw$}  {:<locw$}  {:<TIME_WIDTH$}  {:<COMPUTER_WIDTH$}  DETAILS\n",
            "LEVEL",
            "RULE",
            "LOCATION",
            "TIME",
            "COMPUTER",
            lw = self.level_width,
            rw = self.rule_width,
            locw = self.location_width,
        )
    }
}

/// Appends `p1,p2,...` to `out`.
fn push_positions(out: &mut String, positions: &[u64]) {
    for (i, p) in positions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{p}");
    }
}

/// Formats matches as table rows (without the header).
pub(crate) struct TableRows {
    layout: TableLayout,
    fields: ContextFields,
    // Reused per match.
    location: String,
    time: String,
    computer: String,
    details: String,
}

impl TableRows {
    /// Rows laid out as `layout` says.
    pub(crate) fn new(layout: TableLayout) -> Self {
        TableRows {
            layout,
            fields: ContextFields::new(),
            location: String::new(),
            time: String::new(),
            computer: String::new(),
            details: String::new(),
        }
    }

    /// Writes the row of `m`.
    pub(crate) fn write(&mut self, out: &mut dyn Write, m: &Match<'_>) -> io::Result<()> {
        self.location.clear();
        push_sanitized(&mut self.location, m.file);
        match m.sequence {
            None => {
                let _ = write!(self.location, "{}", m.at);
            }
            Some(positions) => {
                self.location.push(match m.at {
                    Location::Line(_) => ':',
                    Location::Record(_) => '#',
                });
                push_positions(&mut self.location, positions);
            }
        }
        self.fields.time(m.event, &mut self.time);
        cell(&mut self.time, TIME_WIDTH);
        self.fields.computer(m.event, &mut self.computer);
        cell(&mut self.computer, COMPUTER_WIDTH);
        if let Some(summary) = m.correlation {
            self.details.clear();
            self.details.push_str(summary);
        } else if let Some(positions) = m.sequence {
            self.details.clear();
            let n = positions.len();
            let _ = write!(
                self.details,
                "sequence of {n} {}",
                if n == 1 { "event" } else { "events" }
            );
        } else {
            self.fields.details(m.event, &mut self.details);
        }
        if self.details.is_empty() {
            self.details.push('-');
        }
        let l = &self.layout;
        writeln!(
            out,
            "{:<lw$}  {:<rw$}  {:<locw$}  {:<TIME_WIDTH$}  {:<COMPUTER_WIDTH$}  {}",
            m.rule.level.as_str(),
            m.rule.name,
            self.location,
            self.time,
            self.computer,
            self.details,
            lw = l.level_width,
            rw = l.rule_width,
            locw = l.location_width,
        )
    }
}

/// `s`, or `-` when empty, cut to `width` characters.
fn cell(s: &mut String, width: usize) {
    if s.is_empty() {
        s.push('-');
    }
    truncate_chars(s, width);
}

/// Formats matches as JSON objects, one per line.
pub(crate) struct JsonlRows {
    fields: ContextFields,
    time: String,
    include_event: bool,
}

impl JsonlRows {
    /// Objects with the event under `event` when `include_event`.
    pub(crate) fn new(include_event: bool) -> Self {
        JsonlRows {
            fields: ContextFields::new(),
            time: String::new(),
            include_event,
        }
    }

    /// Writes the object of `m`: `rule`, `id`, `title`, `level`, `file`,
    /// `line` (NDJSON) or `record` (EVTX), `layout`, `timestamp` and, if
    /// asked for, `event`, in that order.
    pub(crate) fn write(&mut self, out: &mut dyn Write, m: &Match<'_>) -> io::Result<()> {
        let timestamp = self
            .fields
            .time(m.event, &mut self.time)
            .then_some(self.time.as_str());
        // Written field by field to keep the documented key order; serde_json
        // does the escaping.
        out.write_all(b"{\"rule\":")?;
        serde_json::to_writer(&mut *out, m.rule.name)?;
        out.write_all(b",\"id\":")?;
        serde_json::to_writer(&mut *out, &m.rule.id)?;
        out.write_all(b",\"title\":")?;
        serde_json::to_writer(&mut *out, m.rule.title)?;
        out.write_all(b",\"level\":")?;
        serde_json::to_writer(&mut *out, m.rule.level.as_str())?;
        out.write_all(b",\"file\":")?;
        serde_json::to_writer(&mut *out, m.file)?;
        if let Some(positions) = m.sequence {
            out.write_all(match m.at {
                Location::Line(_) => b",\"lines\":[",
                Location::Record(_) => b",\"records\":[",
            })?;
            for (i, p) in positions.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{p}")?;
            }
            out.write_all(b"],\"sequence\":true,")?;
            if let Some(summary) = m.correlation {
                out.write_all(b"\"correlation\":")?;
                serde_json::to_writer(&mut *out, summary)?;
                out.write_all(b",")?;
            }
            out.write_all(b"\"timestamp\":")?;
            serde_json::to_writer(&mut *out, &timestamp)?;
            return out.write_all(b"}\n");
        }
        match m.at {
            Location::Line(n) => write!(out, ",\"line\":{n}")?,
            Location::Record(n) => write!(out, ",\"record\":{n}")?,
        }
        out.write_all(b",\"layout\":")?;
        serde_json::to_writer(&mut *out, m.event.detected_layout().as_str())?;
        out.write_all(b",\"timestamp\":")?;
        serde_json::to_writer(&mut *out, &timestamp)?;
        if self.include_event {
            // The event parsed as one JSON object, so its text is valid JSON;
            // it is written as read (NDJSON) or as the evtx crate rendered it.
            out.write_all(b",\"event\":")?;
            out.write_all(m.event.raw().as_bytes())?;
        }
        out.write_all(b"}\n")
    }
}

/// The formatter of the chosen output format.
pub(crate) enum Rows {
    /// Table rows.
    Table(TableRows),
    /// JSON lines.
    Jsonl(JsonlRows),
}

impl Rows {
    /// Writes the row or object of `m`.
    pub(crate) fn write(&mut self, out: &mut dyn Write, m: &Match<'_>) -> io::Result<()> {
        match self {
            Rows::Table(t) => t.write(out, m),
            Rows::Jsonl(j) => j.write(out, m),
        }
    }
}

/// The multi-line summary printed after the table (`stats` counts the rules of `pack`).
pub(crate) fn summary_block(pack: &Pack, stats: &Stats) -> String {
    let mut s = String::from("Summary\n");
    let rows = [
        (
            "inputs",
            format!("{} ({})", stats.inputs, size(stats.bytes)),
        ),
        ("events scanned", stats.events.to_string()),
        ("matches", stats.matches.to_string()),
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
    for (label, value) in rows.into_iter().chain(evicted) {
        let _ = writeln!(s, "  {label:<17} {value}");
    }
    let hits: Vec<_> = rule_counts(pack, stats).collect();
    if !hits.is_empty() {
        let _ = writeln!(s, "\n  Matches per level");
        for (level, n) in level_counts(pack, stats) {
            let _ = writeln!(s, "  {:<17} {n}", level.as_str());
        }
        let rw = hits
            .iter()
            .map(|(r, _)| r.name.len())
            .max()
            .unwrap_or(0)
            .max("RULE".len());
        let lw = hits
            .iter()
            .map(|(r, _)| r.level.as_str().len())
            .max()
            .unwrap_or(0)
            .max("LEVEL".len());
        let _ = writeln!(
            s,
            "\n  Matches per rule\n  {:<lw$}  {:<rw$}  MATCHES",
            "LEVEL", "RULE"
        );
        for (rule, n) in hits {
            let _ = writeln!(s, "  {:<lw$}  {:<rw$}  {n}", rule.level.as_str(), rule.name);
        }
    }
    s
}

/// The summary as one line (for stderr in JSON-lines mode; `stats` counts
/// the rules of `pack`).
pub(crate) fn summary_line(pack: &Pack, stats: &Stats) -> String {
    let mut s = format!(
        "detect: scanned {} events in {} ({}) from {} {} ({}): {} {}",
        stats.events,
        elapsed(stats),
        rate(stats),
        stats.inputs,
        plural(stats.inputs, "input", "inputs"),
        size(stats.bytes),
        stats.matches,
        plural(stats.matches, "match", "matches"),
    );
    let mut first = true;
    for (rule, n) in rule_counts(pack, stats) {
        s.push_str(if first { " (" } else { ", " });
        first = false;
        let _ = write!(s, "{} [{}]: {n}", rule.name, rule.level.as_str());
    }
    if !first {
        s.push(')');
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

/// Rules, then sequence rules, that matched at least once, in rule order,
/// with their counts.
fn rule_counts<'a>(
    pack: &Pack,
    stats: &'a Stats,
) -> impl Iterator<Item = (&'static detect::RuleInfo, u64)> + use<'a> {
    pack.rules()
        .iter()
        .zip(&stats.per_rule)
        .chain(pack.sequences().iter().zip(&stats.per_sequence))
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r, *n))
}

/// Levels that matched at least once, most severe first, with their counts.
fn level_counts(pack: &Pack, stats: &Stats) -> Vec<(Level, u64)> {
    Level::ALL
        .iter()
        .rev()
        .map(|&level| {
            let n = rule_counts(pack, stats)
                .filter(|(r, _)| r.level == level)
                .map(|(_, n)| n)
                .sum();
            (level, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
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
    use detect::JsonEvent;
    use detect_rules::Builtin;
    use std::time::Duration;

    fn stats() -> Stats {
        let mut per_rule = vec![0; Builtin::RULES.len()];
        per_rule[0] = 2;
        Stats {
            per_sequence: vec![0; Builtin::SEQUENCES.len()],
            sequences_evicted: 0,
            inputs: 1,
            bytes: 2_500_000,
            events: 10,
            matches: 2,
            malformed: 1,
            evtx_errors: 3,
            unreadable: 0,
            per_rule,
            elapsed: Duration::from_millis(5),
        }
    }

    fn event() -> JsonEvent {
        JsonEvent::parse_str(
            r#"{"TimeCreated": "2024-05-01T10:00:00Z", "Computer": "a-very-long-computer-name.corp.example",
                "CommandLine": "msiexec /i \"https://x/y.msi\"\r\nrest"}"#,
        )
        .unwrap()
    }

    fn jsonl(m: &Match<'_>, include_event: bool) -> String {
        let mut out = Vec::new();
        JsonlRows::new(include_event).write(&mut out, m).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn jsonl_objects_have_the_documented_keys_in_order() {
        let ev = event();
        let rule = &Builtin::RULES[0];
        let m = Match {
            rule,
            event: &ev,
            file: "a\"b.ndjson",
            at: Location::Line(7),
            sequence: None,
            correlation: None,
        };
        let text = jsonl(&m, false);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["rule"], rule.name);
        assert_eq!(v["id"], serde_json::json!(rule.id));
        assert_eq!(v["file"], "a\"b.ndjson");
        assert_eq!(v["line"], 7);
        assert_eq!(v["layout"], "flat");
        assert_eq!(v["timestamp"], "2024-05-01T10:00:00Z");
        let keys: Vec<usize> = [
            "rule",
            "id",
            "title",
            "level",
            "file",
            "line",
            "layout",
            "timestamp",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");

        // EVTX records are located by record id; the event is included verbatim.
        let m = Match {
            at: Location::Record(42),
            ..m
        };
        let text = jsonl(&m, true);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["record"], 42);
        assert!(v.get("line").is_none());
        assert_eq!(
            v["event"],
            serde_json::from_str::<serde_json::Value>(ev.raw()).unwrap()
        );
        assert!(text.ends_with(&format!(",\"event\":{}}}\n", ev.raw())));
    }

    #[test]
    fn sequences_are_one_row_or_object_with_every_position() {
        let ev = JsonEvent::parse_str("{}").unwrap();
        let rule = &Builtin::SEQUENCES[0];
        let m = Match {
            rule,
            event: &ev,
            file: "f.evtx",
            at: Location::Record(9),
            sequence: Some(&[4, 7, 9]),
            correlation: None,
        };
        let text = jsonl(&m, true);
        assert_eq!(
            text,
            format!(
                "{{\"rule\":\"{}\",\"id\":null,\"title\":{},\"level\":\"low\",\"file\":\"f.evtx\",\
                 \"records\":[4,7,9],\"sequence\":true,\"timestamp\":null}}\n",
                rule.name,
                serde_json::to_string(rule.title).unwrap()
            )
        );
        let layout = TableLayout::new(&Pack::Builtin, &["f.evtx".to_string()]);
        let mut out = Vec::new();
        TableRows::new(layout).write(&mut out, &m).unwrap();
        let row = String::from_utf8(out).unwrap();
        assert!(row.contains(" f.evtx#4,7,9 "), "{row}");
        assert!(row.ends_with("  sequence of 3 events\n"), "{row}");
        assert_eq!(
            layout.header().find("LOCATION"),
            row.find("f.evtx"),
            "{row}"
        );
    }

    #[test]
    fn jsonl_timestamp_is_null_when_missing() {
        let ev = JsonEvent::parse_str("{}").unwrap();
        let text = jsonl(
            &Match {
                rule: &Builtin::RULES[0],
                event: &ev,
                file: "f",
                at: Location::Line(1),
                sequence: None,
                correlation: None,
            },
            false,
        );
        assert!(text.ends_with(",\"timestamp\":null}\n"), "{text}");
    }

    #[test]
    fn summaries_count_everything() {
        let line = summary_line(&Pack::Builtin, &stats());
        assert!(
            line.starts_with("detect: scanned 10 events in 5.0 ms (2000 events/s, 500.0 MB/s) from 1 input (2.5 MB): 2 matches ("),
            "{line}"
        );
        assert!(
            line.ends_with(", 1 malformed line, 3 EVTX errors, 0 unreadable files"),
            "{line}"
        );
        let block = summary_block(&Pack::Builtin, &stats());
        for row in [
            "  inputs            1 (2.5 MB)\n",
            "  EVTX errors       3\n",
            "  Matches per level\n  medium            2\n",
        ] {
            assert!(block.contains(row), "{row:?} in\n{block}");
        }
    }

    #[test]
    fn table_rows_are_aligned_and_single_line() {
        let ev = event();
        let layout = TableLayout::new(&Pack::Builtin, &["events.ndjson".to_string()]);
        let mut rows = TableRows::new(layout);
        let mut text = layout.header();
        for at in [Location::Line(3), Location::Record(12345)] {
            let mut out = Vec::new();
            rows.write(
                &mut out,
                &Match {
                    rule: &Builtin::RULES[0],
                    event: &ev,
                    file: "events.ndjson",
                    at,
                    sequence: None,
                    correlation: None,
                },
            )
            .unwrap();
            text.push_str(&String::from_utf8(out).unwrap());
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("LEVEL "), "{text}");
        assert!(lines[2].contains(" events.ndjson#12345 "), "{text}");
        let details_at = lines[0].find("DETAILS").unwrap();
        for row in &lines[1..3] {
            let prefix: String = row.chars().take(details_at).collect();
            assert!(prefix.ends_with("  "), "misaligned: {row}");
            assert!(row.contains("a-very-long-compute…"), "{row}");
            assert!(
                row.ends_with("msiexec /i \"https://x/y.msi\"  rest"),
                "{row}"
            );
        }
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
