//! Reporting matches: an aligned table for people, JSON lines for programs.
//!
//! Both sinks stream: a match is written as soon as it is found, so memory
//! does not grow with the number of matches. The table therefore uses column
//! widths fixed up front (from the rule set and the input names) rather than
//! measured over all rows; long TIME and COMPUTER values are cut with `…`,
//! DETAILS is last and cut at [`crate::fields::DETAILS_MAX_CHARS`].
//!
//! In JSON-lines mode stdout carries nothing but one object per match, so the
//! summary goes to stderr as a single line.

use std::fmt::Write as _;
use std::io::{self, Write};

use detect_rules::Builtin;

use crate::fields::{ContextFields, push_sanitized, truncate_chars};
use crate::scan::{Match, Sink, Stats};

/// Width of the TIME column (`2019-03-19T13:05:42.000000Z`).
const TIME_WIDTH: usize = 27;
/// Width of the COMPUTER column.
const COMPUTER_WIDTH: usize = 20;
/// Widest FILE:LINE column; longer locations push the row to the right.
const MAX_LOCATION_WIDTH: usize = 60;

/// Writes matches as a table, then the summary block, to one writer.
pub(crate) struct TableSink<W: Write> {
    out: W,
    fields: ContextFields,
    level_width: usize,
    rule_width: usize,
    location_width: usize,
    header_written: bool,
    // Reused per match.
    location: String,
    time: String,
    computer: String,
    details: String,
}

impl<W: Write> TableSink<W> {
    /// A table sink for inputs shown as `names` (used to size FILE:LINE).
    pub(crate) fn new(out: W, names: &[String]) -> Self {
        let widest = |items: &mut dyn Iterator<Item = usize>, header: &str| {
            items.max().unwrap_or(0).max(header.len())
        };
        let longest_name = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        TableSink {
            out,
            fields: ContextFields::new(),
            level_width: widest(
                &mut Builtin::RULES.iter().map(|r| r.level.as_str().len()),
                "LEVEL",
            ),
            rule_width: widest(&mut Builtin::RULES.iter().map(|r| r.name.len()), "RULE"),
            // name, ':' and room for five-digit line numbers.
            location_width: (longest_name + 6).clamp("FILE:LINE".len(), MAX_LOCATION_WIDTH),
            header_written: false,
            location: String::new(),
            time: String::new(),
            computer: String::new(),
            details: String::new(),
        }
    }

    fn write_header(&mut self) -> io::Result<()> {
        let header = format!(
            "{:<lw$}  {:<rw$}  {:<locw$}  {:<TIME_WIDTH$}  {:<COMPUTER_WIDTH$}  DETAILS",
            "LEVEL",
            "RULE",
            "FILE:LINE",
            "TIME",
            "COMPUTER",
            lw = self.level_width,
            rw = self.rule_width,
            locw = self.location_width,
        );
        writeln!(self.out, "{header}")
    }
}

/// `s`, or `-` when empty, cut to `width` characters.
fn cell(s: &mut String, width: usize) {
    if s.is_empty() {
        s.push('-');
    }
    truncate_chars(s, width);
}

impl<W: Write> Sink for TableSink<W> {
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
        if !self.header_written {
            self.write_header()?;
            self.header_written = true;
        }
        self.location.clear();
        push_sanitized(&mut self.location, m.file);
        let _ = write!(self.location, ":{}", m.line);
        self.fields.time(m.event, &mut self.time);
        cell(&mut self.time, TIME_WIDTH);
        self.fields.computer(m.event, &mut self.computer);
        cell(&mut self.computer, COMPUTER_WIDTH);
        self.fields.details(m.event, &mut self.details);
        if self.details.is_empty() {
            self.details.push('-');
        }
        writeln!(
            self.out,
            "{:<lw$}  {:<rw$}  {:<locw$}  {:<TIME_WIDTH$}  {:<COMPUTER_WIDTH$}  {}",
            m.rule.level.as_str(),
            m.rule.name,
            self.location,
            self.time,
            self.computer,
            self.details,
            lw = self.level_width,
            rw = self.rule_width,
            locw = self.location_width,
        )
    }

    fn finish(&mut self, stats: &Stats, quiet: bool) -> io::Result<()> {
        if !quiet {
            if self.header_written {
                writeln!(self.out)?;
            }
            self.out.write_all(summary_block(stats).as_bytes())?;
        }
        self.out.flush()
    }
}

/// The multi-line summary printed after the table.
pub(crate) fn summary_block(stats: &Stats) -> String {
    let mut s = String::from("Summary\n");
    let rows = [
        ("events scanned", stats.events.to_string()),
        ("matches", stats.matches.to_string()),
        ("malformed lines", stats.malformed.to_string()),
        ("unreadable files", stats.unreadable.to_string()),
        ("elapsed", format!("{} ({})", elapsed(stats), rate(stats))),
    ];
    for (label, value) in rows {
        let _ = writeln!(s, "  {label:<17} {value}");
    }
    let hits: Vec<_> = rule_counts(stats).collect();
    if !hits.is_empty() {
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

/// The summary as one line (for stderr in JSON-lines mode).
pub(crate) fn summary_line(stats: &Stats) -> String {
    let mut s = format!(
        "detect: scanned {} events in {} ({}): {} {}",
        stats.events,
        elapsed(stats),
        rate(stats),
        stats.matches,
        plural(stats.matches, "match", "matches"),
    );
    let mut first = true;
    for (rule, n) in rule_counts(stats) {
        s.push_str(if first { " (" } else { ", " });
        first = false;
        let _ = write!(s, "{} [{}]: {n}", rule.name, rule.level.as_str());
    }
    if !first {
        s.push(')');
    }
    let _ = write!(
        s,
        ", {} malformed {}, {} unreadable {}",
        stats.malformed,
        plural(stats.malformed, "line", "lines"),
        stats.unreadable,
        plural(stats.unreadable, "file", "files"),
    );
    s
}

/// Rules that matched at least once, in rule order, with their counts.
fn rule_counts(stats: &Stats) -> impl Iterator<Item = (&'static detect::RuleInfo, u64)> + '_ {
    Builtin::RULES
        .iter()
        .zip(&stats.per_rule)
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r, *n))
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

/// Events per second (`-` when no time was measured).
fn rate(stats: &Stats) -> String {
    let secs = stats.elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "- events/s".to_string();
    }
    format!("{:.0} events/s", stats.events as f64 / secs)
}

/// Writes one JSON object per match; the summary goes to a second writer.
pub(crate) struct JsonlSink<W: Write, E: Write> {
    out: W,
    summary_out: E,
    fields: ContextFields,
    time: String,
}

impl<W: Write, E: Write> JsonlSink<W, E> {
    /// Matches go to `out`, the one-line summary to `summary_out`.
    pub(crate) fn new(out: W, summary_out: E) -> Self {
        JsonlSink {
            out,
            summary_out,
            fields: ContextFields::new(),
            time: String::new(),
        }
    }
}

impl<W: Write, E: Write> Sink for JsonlSink<W, E> {
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
        let timestamp = self
            .fields
            .time(m.event, &mut self.time)
            .then_some(self.time.as_str());
        let out = &mut self.out;
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
        write!(out, ",\"line\":{},\"layout\":", m.line)?;
        serde_json::to_writer(&mut *out, m.event.detected_layout().as_str())?;
        out.write_all(b",\"timestamp\":")?;
        serde_json::to_writer(&mut *out, &timestamp)?;
        out.write_all(b"}\n")
    }

    fn finish(&mut self, stats: &Stats, quiet: bool) -> io::Result<()> {
        self.out.flush()?;
        if !quiet {
            // The summary is informational; a closed stderr must not fail the run.
            let _ = writeln!(self.summary_out, "{}", summary_line(stats));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect::JsonEvent;
    use std::time::Duration;

    fn stats() -> Stats {
        let mut per_rule = vec![0; Builtin::RULES.len()];
        per_rule[0] = 2;
        Stats {
            events: 10,
            matches: 2,
            malformed: 1,
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

    #[test]
    fn jsonl_objects_have_the_documented_keys_in_order() {
        let ev = event();
        let mut sink = JsonlSink::new(Vec::new(), Vec::new());
        let rule = &Builtin::RULES[0];
        sink.on_match(&Match {
            rule,
            event: &ev,
            file: "a\"b.ndjson",
            line: 7,
        })
        .unwrap();
        sink.finish(&stats(), false).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
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
        let summary = String::from_utf8(sink.summary_out).unwrap();
        assert_eq!(summary.lines().count(), 1);
        assert!(
            summary.contains("scanned 10 events") && summary.contains("1 malformed line,"),
            "{summary}"
        );
    }

    #[test]
    fn jsonl_timestamp_is_null_when_missing() {
        let ev = JsonEvent::parse_str("{}").unwrap();
        let mut sink = JsonlSink::new(Vec::new(), Vec::new());
        sink.on_match(&Match {
            rule: &Builtin::RULES[0],
            event: &ev,
            file: "f",
            line: 1,
        })
        .unwrap();
        sink.finish(&stats(), true).unwrap();
        assert!(
            String::from_utf8(sink.out)
                .unwrap()
                .ends_with(",\"timestamp\":null}\n")
        );
        assert!(sink.summary_out.is_empty());
    }

    #[test]
    fn table_rows_are_aligned_and_single_line() {
        let ev = event();
        let mut sink = TableSink::new(Vec::new(), &["events.ndjson".to_string()]);
        for line in [3, 12345] {
            sink.on_match(&Match {
                rule: &Builtin::RULES[0],
                event: &ev,
                file: "events.ndjson",
                line,
            })
            .unwrap();
        }
        sink.finish(&stats(), false).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("LEVEL "), "{text}");
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
        assert!(text.contains("Summary\n  events scanned    10\n"), "{text}");
        assert!(text.contains("Matches per rule"), "{text}");
    }

    #[test]
    fn quiet_table_without_matches_prints_nothing() {
        let mut sink = TableSink::new(Vec::new(), &[]);
        sink.finish(&Stats::default(), true).unwrap();
        assert!(sink.out.is_empty());
    }

    #[test]
    fn rate_and_elapsed_never_divide_by_zero() {
        let s = Stats {
            elapsed: Duration::ZERO,
            ..Stats::default()
        };
        assert_eq!(rate(&s), "- events/s");
        assert_eq!(elapsed(&s), "0.0 ms");
        assert_eq!(
            elapsed(&Stats {
                elapsed: Duration::from_millis(2500),
                ..s
            }),
            "2.50 s"
        );
    }
}
