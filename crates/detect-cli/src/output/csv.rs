//! CSV for spreadsheets and timeline tools: RFC 4180, written by the `csv`
//! crate (fields holding commas, quotes or line breaks are quoted, quotes
//! doubled), one header row then one row per match.
//!
//! Columns: [`HEADER`]. `Timestamp` is as written in the event; `RecordID`
//! is the event's own record id (`EventRecordID`, else its position);
//! `Tags` are separated by `, `; `Details` is `Field: value ¦ Field: value`
//! with values as read (line breaks kept, quoted); `Position` is the line
//! (NDJSON) or record number (EVTX) in `File`, a sequence's positions
//! separated by spaces.

use std::io::{self, Write};

use crate::record::Record;

/// The header row.
pub(crate) const HEADER: [&str; 13] = [
    "Timestamp",
    "Computer",
    "Channel",
    "EventID",
    "RecordID",
    "Level",
    "RuleTitle",
    "Rule",
    "RuleID",
    "Tags",
    "Details",
    "File",
    "Position",
];

/// Formats records as CSV rows.
pub(crate) struct CsvRows {
    details: String,
    positions: String,
}

impl CsvRows {
    /// A formatter (the header is written by [`header`]).
    pub(crate) fn new() -> Self {
        CsvRows {
            details: String::new(),
            positions: String::new(),
        }
    }

    /// Writes the row of `rec`.
    pub(crate) fn write(&mut self, out: &mut dyn Write, rec: &Record) -> io::Result<()> {
        self.details.clear();
        rec.details.joined(&mut self.details);
        self.positions.clear();
        if rec.positions.is_empty() {
            let (crate::scan::Location::Line(n) | crate::scan::Location::Record(n)) = rec.position;
            self.positions.push_str(&n.to_string());
        } else {
            let list: Vec<String> = rec.positions.iter().map(u64::to_string).collect();
            self.positions.push_str(&list.join(" "));
        }
        let record_id = rec.record_id.to_string();
        let tags = rec.rule.tags.join(", ");
        let row: [&str; 13] = [
            &rec.timestamp,
            &rec.computer,
            &rec.channel,
            &rec.event_id,
            &record_id,
            rec.rule.level.as_str(),
            rec.rule.title,
            rec.rule.name,
            rec.rule.id.unwrap_or(""),
            &tags,
            &self.details,
            &rec.file,
            &self.positions,
        ];
        write_row(out, &row)
    }
}

/// The header row, with its line end.
pub(crate) fn header() -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_row(&mut out, &HEADER);
    out
}

/// One RFC 4180 record (CRLF line end, as the RFC says).
fn write_row(out: &mut dyn Write, fields: &[&str]) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(fields).map_err(io::Error::other)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[&str]) -> String {
        let mut out = Vec::new();
        write_row(&mut out, fields).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Parses CSV text back with the csv crate's reader.
    fn parse(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        let cases: &[(&[&str], &str)] = &[
            (&["a", "b"], "a,b\r\n"),
            (&["cmd /c a,b", "x"], "\"cmd /c a,b\",x\r\n"),
            (
                &[r#"powershell -c "iex""#, ""],
                "\"powershell -c \"\"iex\"\"\",\r\n",
            ),
            (&["line1\nline2", "y"], "\"line1\nline2\",y\r\n"),
            (&["carriage\r\nreturn"], "\"carriage\r\nreturn\"\r\n"),
            (&["é ¦ ü"], "é ¦ ü\r\n"),
        ];
        for (fields, expected) in cases {
            let text = row(fields);
            assert_eq!(&text, expected, "{fields:?}");
            let back = parse(&text);
            assert_eq!(back.len(), 1, "{text:?}");
            assert_eq!(
                back[0],
                fields.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn header_has_every_column() {
        let text = String::from_utf8(header()).unwrap();
        assert_eq!(text, format!("{}\r\n", HEADER.join(",")));
    }
}
