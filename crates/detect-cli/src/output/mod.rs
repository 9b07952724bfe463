//! Reporting matches: a table for people ([`table`]), JSON lines
//! ([`jsonl`]) and CSV ([`csv`]) for programs.
//!
//! Each match is read once into a [`Record`] (see [`crate::record`]) on the
//! worker thread that found it, checked against `--from`/`--to`, counted in
//! the worker's [`Tally`] and formatted into that worker's buffer; the
//! driver writes the buffers in input order (see [`crate::driver`]), or hands
//! the rows to a [`crate::timeline::Timeline`] with `--sort time`. So memory
//! does not grow with the number of matches beyond what is in flight (or the
//! timeline's documented bound).

use std::io::{self, Write};

use crate::cli::Format;
use crate::details::DetailsTable;
use crate::filter::TimeRange;
use crate::record::{Extractor, Record};
use crate::scan::Match;
use crate::summary::Tally;
use crate::timeline::{self, NO_TIME};

pub(crate) mod csv;
pub(crate) mod jsonl;
pub(crate) mod table;

pub(crate) use table::{ColorChoice, TableLayout, TableRows, TableSpec};

/// The formatter of the chosen output format.
pub(crate) enum Rows {
    /// Table rows.
    Table(TableRows),
    /// JSON lines.
    Jsonl(jsonl::JsonlRows),
    /// CSV rows.
    Csv(csv::CsvRows),
}

impl Rows {
    /// The formatter for `format` (`table` is only used for the table).
    pub(crate) fn new(format: Format, table: TableRows, include_event: bool) -> Self {
        match format {
            Format::Table => Rows::Table(table),
            Format::Jsonl => Rows::Jsonl(jsonl::JsonlRows::new(include_event)),
            Format::Csv => Rows::Csv(csv::CsvRows::new()),
        }
    }

    /// Writes the row or object of `rec`; `raw_event` is its event's JSON text.
    pub(crate) fn write(
        &mut self,
        out: &mut dyn Write,
        rec: &Record,
        raw_event: &str,
    ) -> io::Result<()> {
        match self {
            Rows::Table(t) => t.write(out, rec),
            Rows::Jsonl(j) => j.write(out, rec, raw_event),
            Rows::Csv(c) => c.write(out, rec),
        }
    }
}

/// What comes before the first row of `format` (the table's header only
/// when there is a row; CSV's header always).
pub(crate) fn header(format: Format, layout: &TableLayout) -> Vec<u8> {
    match format {
        Format::Table => layout.header().into_bytes(),
        Format::Jsonl => Vec::new(),
        Format::Csv => csv::header(),
    }
}

/// A worker's reporting: record, time filter, tally and formatting.
pub(crate) struct Reporter<'t> {
    extractor: Extractor<'t>,
    record: Option<Record>,
    rows: Rows,
    range: TimeRange,
    /// Rows are framed with their time for the timeline (`--sort time`).
    framed: bool,
    row: Vec<u8>,
    /// What this worker reported since the last [`Reporter::take_tally`].
    tally: Tally,
}

impl<'t> Reporter<'t> {
    /// Reports with `rows`, DETAILS from `details`, events in `range`;
    /// `framed` for `--sort time`.
    pub(crate) fn new(
        details: &'t DetailsTable,
        rows: Rows,
        range: TimeRange,
        framed: bool,
    ) -> Self {
        Reporter {
            extractor: Extractor::new(details),
            record: None,
            rows,
            range,
            framed,
            row: Vec::new(),
            tally: Tally::default(),
        }
    }

    /// Reads `m`, and if its event is in the time range counts it and
    /// appends its row to `out`.
    pub(crate) fn report(&mut self, m: &Match<'_>, out: &mut Vec<u8>) -> io::Result<()> {
        let rec = self.record.get_or_insert_with(|| Record::new(m.rule));
        self.extractor.fill(m, rec);
        if !self.range.contains(rec.time_ms) {
            return Ok(());
        }
        self.tally.add(rec);
        if self.framed {
            self.row.clear();
            self.rows.write(&mut self.row, rec, &m.event.raw())?;
            timeline::push_frame(out, rec.time_ms.unwrap_or(NO_TIME), &self.row);
            Ok(())
        } else {
            self.rows.write(out, rec, &m.event.raw())
        }
    }

    /// The counts so far, leaving zero.
    pub(crate) fn take_tally(&mut self) -> Tally {
        std::mem::take(&mut self.tally)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{EventRef, Location};
    use detect::JsonEvent;
    use detect_rules::Builtin;
    use std::collections::HashMap;

    const EVENT: &str = r##"{"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "EventRecordID": 4242, "Computer": "a-very-long-computer-name.corp.example",
        "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00.1234567Z"}}},
        "EventData": {"CommandLine": "msiexec /i \"https://x/y.msi\",a\r\nrest", "ParentImage": "C:\\p.exe"}}}"##;

    fn table() -> DetailsTable {
        DetailsTable::new(&Builtin::ir())
    }

    fn layout(width: usize, color: bool) -> TableLayout {
        let rules: Vec<&'static detect::RuleInfo> =
            Builtin::RULES.iter().chain(Builtin::SEQUENCES).collect();
        TableLayout::new(&TableSpec {
            width,
            rules: &rules,
            shown_names: &["logs/a.evtx".to_string()],
            color,
        })
    }

    fn report(format: Format, width: usize, m: &Match<'_>, range: TimeRange) -> (String, Tally) {
        let details = table();
        let shown = HashMap::from([(
            "/cases/x/logs/a.evtx".to_string(),
            "logs/a.evtx".to_string(),
        )]);
        let rows = Rows::new(format, TableRows::new(layout(width, false), shown), true);
        let mut reporter = Reporter::new(&details, rows, range, false);
        let mut out = Vec::new();
        reporter.report(m, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), reporter.take_tally())
    }

    fn with_match<R>(sequence: Option<&[u64]>, f: impl FnOnce(&Match<'_>) -> R) -> R {
        let ev = JsonEvent::parse_str(EVENT).unwrap();
        let rule = if sequence.is_some() {
            &Builtin::SEQUENCES[0]
        } else {
            Builtin::rule("msiexec_web_install").unwrap()
        };
        f(&Match {
            rule,
            event: &EventRef::Json(&ev),
            file: "/cases/x/logs/a.evtx",
            at: Location::Record(17),
            sequence,
            correlation: None,
        })
    }

    #[test]
    fn jsonl_has_every_field_in_the_documented_order() {
        let (text, tally) = with_match(None, |m| {
            report(Format::Jsonl, 100, m, TimeRange::default())
        });
        assert_eq!(tally.matches, 1);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["record"], 4242);
        assert_eq!(v["position"], 17);
        assert_eq!(v["layout"], "evtx");
        assert_eq!(v["computer"], "a-very-long-computer-name.corp.example");
        assert_eq!(v["channel"], "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(v["event_id"], 1);
        assert_eq!(v["title"], "MsiExec Web Install");
        assert_eq!(
            v["details"]["CommandLine"],
            "msiexec /i \"https://x/y.msi\",a\r\nrest"
        );
        assert_eq!(v["details"]["ParentImage"], "C:\\p.exe");
        assert!(v["tags"].is_array());
        let keys = [
            "rule",
            "id",
            "title",
            "level",
            "file",
            "position",
            "layout",
            "timestamp",
            "record",
            "computer",
            "channel",
            "event_id",
            "tags",
            "details",
            "event",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k}: {text}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.ends_with(&format!(
            ",\"event\":{}}}\n",
            JsonEvent::parse_str(EVENT).unwrap().raw()
        )));
    }

    #[test]
    fn csv_row_quotes_the_command_line() {
        let (text, _) = with_match(None, |m| report(Format::Csv, 100, m, TimeRange::default()));
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let row: Vec<String> = reader
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(row.len(), csv::HEADER.len());
        assert_eq!(row[0], "2024-05-01T10:00:00.1234567Z");
        assert_eq!(row[4], "4242");
        assert_eq!(row[6], "MsiExec Web Install");
        assert_eq!(
            row[10],
            "CommandLine: msiexec /i \"https://x/y.msi\",a\r\nrest ¦ ParentImage: C:\\p.exe"
        );
        assert_eq!(
            (row[11].as_str(), row[12].as_str()),
            ("/cases/x/logs/a.evtx", "17")
        );
    }

    #[test]
    fn table_rows_fit_the_width_and_stay_aligned() {
        // 66 columns is the narrowest table (TIME, LEVEL, RULE, DETAILS).
        for width in [66, 80, 100, 120, 160, 240] {
            let l = layout(width, false);
            let header = l.header();
            let (row, _) = with_match(None, |m| {
                report(Format::Table, width, m, TimeRange::default())
            });
            let (seq, _) = with_match(Some(&[3, 9, 17]), |m| {
                report(Format::Table, width, m, TimeRange::default())
            });
            for line in [header.trim_end(), row.trim_end(), seq.trim_end()] {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
                assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            }
            let details_at = header.find("DETAILS").unwrap();
            for line in [&row, &seq] {
                let prefix: String = line.chars().take(details_at).collect();
                assert!(
                    prefix.ends_with("  "),
                    "misaligned at {width}:\n{header}{line}"
                );
            }
            if width >= 100 {
                assert!(row.contains("MsiExec Web Install"), "{row}");
                assert!(row.starts_with("2024-05-01 10:00:00  "), "{row}");
            }
            if width >= 240 {
                assert!(
                    header.contains("TAGS") && header.contains("LOCATION"),
                    "{header}"
                );
                assert!(row.contains("logs/a.evtx#17 "), "{row}");
                assert!(seq.contains("logs/a.evtx#17 +2 "), "{seq}");
                assert!(
                    seq.contains("Sequence: 3 events (records 3, 9, 17)"),
                    "{seq}"
                );
                // Line breaks become spaces: one row stays one line.
                assert!(
                    row.contains("CommandLine: msiexec /i \"https://x/y.msi\",a  rest ¦ Paren"),
                    "{row}"
                );
            }
        }
        // Narrower, the optional columns are left out and lines are 66 long.
        let narrow = layout(40, false).header();
        assert_eq!(
            narrow,
            format!("{:<21}{:<7}{:<18}DETAILS\n", "TIME", "LEVEL", "RULE")
        );
        let (row, _) = with_match(None, |m| report(Format::Table, 40, m, TimeRange::default()));
        assert_eq!(row.trim_end().chars().count(), 66, "{row}");
    }

    #[test]
    fn colours_only_when_asked() {
        let details = table();
        let ev = JsonEvent::parse_str(EVENT).unwrap();
        let m = Match {
            rule: Builtin::rule("msiexec_web_install").unwrap(),
            event: &EventRef::Json(&ev),
            file: "f",
            at: Location::Line(1),
            sequence: None,
            correlation: None,
        };
        for color in [false, true] {
            let rows = Rows::new(
                Format::Table,
                TableRows::new(layout(120, color), HashMap::new()),
                false,
            );
            let mut reporter = Reporter::new(&details, rows, TimeRange::default(), false);
            let mut out = Vec::new();
            reporter.report(&m, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            // medium: yellow.
            assert_eq!(text.contains("\u{1b}[33mmed\u{1b}[0m"), color, "{text:?}");
            assert_eq!(text.contains('\u{1b}'), color, "{text:?}");
        }
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(!ColorChoice::Auto.enabled(false, None));
        assert!(!ColorChoice::Auto.enabled(true, Some("1".as_ref())));
        assert!(ColorChoice::Auto.enabled(true, Some("".as_ref())));
        assert!(ColorChoice::Always.enabled(false, Some("1".as_ref())));
        assert!(!ColorChoice::Never.enabled(true, None));
    }

    #[test]
    fn time_range_leaves_matches_out_uncounted() {
        let at = crate::record::event_time_ms("2024-05-01T10:00:00.123Z");
        let inside = TimeRange::new(at, at).unwrap();
        let (text, tally) = with_match(None, |m| report(Format::Jsonl, 100, m, inside));
        assert_eq!((text.matches("{\"rule\":").count(), tally.matches), (1, 1));
        let before = TimeRange::new(None, at.map(|t| t - 1)).unwrap();
        let (text, tally) = with_match(None, |m| report(Format::Jsonl, 100, m, before));
        assert_eq!((text.as_str(), tally.matches), ("", 0));
    }

    #[test]
    fn framed_rows_carry_their_time() {
        let details = table();
        let ev = JsonEvent::parse_str(EVENT).unwrap();
        let m = Match {
            rule: Builtin::rule("msiexec_web_install").unwrap(),
            event: &EventRef::Json(&ev),
            file: "f",
            at: Location::Line(1),
            sequence: None,
            correlation: None,
        };
        let rows = Rows::new(
            Format::Jsonl,
            TableRows::new(layout(120, false), HashMap::new()),
            false,
        );
        let mut reporter = Reporter::new(&details, rows, TimeRange::default(), true);
        let mut out = Vec::new();
        reporter.report(&m, &mut out).unwrap();
        let frames: Vec<(i64, &[u8])> = timeline::frames(&out).collect();
        assert_eq!(frames.len(), 1);
        assert_eq!(
            Some(frames[0].0),
            crate::record::event_time_ms("2024-05-01T10:00:00.123Z")
        );
        assert!(
            frames[0]
                .1
                .starts_with(b"{\"rule\":\"msiexec_web_install\"")
        );
    }
}
