//! JSON lines for programs: one object per match.
//!
//! Keys, in this order: `rule` (the rule's name), `id`, `title`, `level`,
//! `file`, then the position in the input (`line` for NDJSON, `position`
//! for the record's number in an EVTX file; a sequence has `lines` or
//! `records` with every event's position and `sequence: true`), `layout`
//! (not for sequences), `timestamp` (as written in the event, or null),
//! `record` (the event's own record id: `EventRecordID` when it has one,
//! else its position), `computer`, `channel`, `event_id` (a number when it
//! is one) each null when absent, `tags`, `details` (an object of the
//! DETAILS fields, by field name) and, with `--include-event`, `event`.
//!
//! `record` meant the EVTX record's position in earlier versions; that is
//! now `position`.

use std::io::{self, Write};

use crate::record::Record;
use crate::scan::Location;

/// Formats records as JSON objects, one per line.
pub(crate) struct JsonlRows {
    include_event: bool,
}

impl JsonlRows {
    /// Objects with the event under `event` when `include_event`.
    pub(crate) fn new(include_event: bool) -> Self {
        JsonlRows { include_event }
    }

    /// Writes the object of `rec`; `raw_event` is the event's JSON text.
    pub(crate) fn write(
        &mut self,
        out: &mut dyn Write,
        rec: &Record,
        raw_event: &str,
    ) -> io::Result<()> {
        let rule = rec.rule;
        let some = |s: &str| (!s.is_empty()).then_some(s.to_string());
        // Written key by key to keep the documented order; serde_json escapes.
        out.write_all(b"{\"rule\":")?;
        serde_json::to_writer(&mut *out, rule.name)?;
        out.write_all(b",\"id\":")?;
        serde_json::to_writer(&mut *out, &rule.id)?;
        out.write_all(b",\"title\":")?;
        serde_json::to_writer(&mut *out, rule.title)?;
        out.write_all(b",\"level\":")?;
        serde_json::to_writer(&mut *out, rule.level.as_str())?;
        out.write_all(b",\"file\":")?;
        serde_json::to_writer(&mut *out, &rec.file)?;
        if rec.is_sequence {
            out.write_all(match rec.position {
                Location::Line(_) => b",\"lines\":",
                Location::Record(_) => b",\"records\":",
            })?;
            serde_json::to_writer(&mut *out, &rec.positions)?;
            out.write_all(b",\"sequence\":true")?;
            if !rec.correlation.is_empty() {
                out.write_all(b",\"correlation\":")?;
                serde_json::to_writer(&mut *out, &rec.correlation)?;
            }
        } else {
            match rec.position {
                Location::Line(n) => write!(out, ",\"line\":{n}")?,
                Location::Record(n) => write!(out, ",\"position\":{n}")?,
            }
            out.write_all(b",\"layout\":")?;
            serde_json::to_writer(&mut *out, rec.layout.as_str())?;
        }
        out.write_all(b",\"timestamp\":")?;
        serde_json::to_writer(&mut *out, &some(&rec.timestamp))?;
        write!(out, ",\"record\":{}", rec.record_id)?;
        out.write_all(b",\"computer\":")?;
        serde_json::to_writer(&mut *out, &some(&rec.computer))?;
        out.write_all(b",\"channel\":")?;
        serde_json::to_writer(&mut *out, &some(&rec.channel))?;
        out.write_all(b",\"event_id\":")?;
        match rec.event_id.trim().parse::<u64>() {
            Ok(n) => write!(out, "{n}")?,
            Err(_) => serde_json::to_writer(&mut *out, &some(&rec.event_id))?,
        }
        out.write_all(b",\"tags\":")?;
        serde_json::to_writer(&mut *out, rule.tags)?;
        out.write_all(b",\"details\":{")?;
        for (i, (label, value)) in rec.details.items.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, label)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, value)?;
        }
        out.write_all(b"}")?;
        if self.include_event && !rec.is_sequence {
            // The event parsed as one JSON object, so its text is valid JSON;
            // it is written as read (NDJSON) or as the evtx crate rendered it.
            out.write_all(b",\"event\":")?;
            out.write_all(raw_event.as_bytes())?;
        }
        out.write_all(b"}\n")
    }
}
