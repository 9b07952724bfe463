//! The output record: everything reported about one match, read from the
//! event once and then written by every format (table, JSON lines, CSV),
//! counted by the summary and ordered by the timeline.
//!
//! A [`Record`] is a plain struct of owned values, reused from one match to
//! the next by each worker thread ([`Extractor::fill`] clears and refills
//! it); new kinds of results (correlations, for instance) add fields to it
//! rather than new code paths in each format.

use detect::__internals::layout::map_field;
use detect::ir::Vocabulary;
use detect::{Event, Layout, RuleInfo, Value};

use crate::details::{Details, DetailsTable};
use crate::fields::{ContextFields, first_text};
use crate::scan::{Location, Match};

/// One match, as reported.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The rule that fired.
    pub(crate) rule: &'static RuleInfo,
    /// Whether `rule` is a sequence rule.
    pub(crate) is_sequence: bool,
    /// The input's name as given on the command line or found in a directory.
    pub(crate) file: String,
    /// Where the event is in its input (a sequence's last event).
    pub(crate) position: Location,
    /// A sequence's events' positions, in order (empty for other rules).
    pub(crate) positions: Vec<u64>,
    /// The event's time as written in the event; empty when it has none.
    pub(crate) timestamp: String,
    /// The event's time in milliseconds since the Unix epoch (UTC), when
    /// `timestamp` parses (RFC 3339, a date and time without offset read as
    /// UTC, or a number of milliseconds).
    pub(crate) time_ms: Option<i64>,
    /// Host name; empty when absent.
    pub(crate) computer: String,
    /// Event log channel; empty when absent.
    pub(crate) channel: String,
    /// Event ID as written; empty when absent.
    pub(crate) event_id: String,
    /// The event's own record id: `EventRecordID` (`winlog.record_id` in
    /// ECS) when the event has one, else its line in an NDJSON input (or
    /// its record number in an EVTX file).
    pub(crate) record_id: u64,
    /// The layout the event was read in.
    pub(crate) layout: Layout,
    /// The DETAILS fields.
    pub(crate) details: Details,
    /// A correlation match's summary (its value, group and window); empty
    /// for other rules.
    pub(crate) correlation: String,
}

impl Record {
    /// An empty record for `rule`, to be filled by [`Extractor::fill`].
    pub(crate) fn new(rule: &'static RuleInfo) -> Self {
        Record {
            rule,
            is_sequence: false,
            file: String::new(),
            position: Location::Line(0),
            positions: Vec::new(),
            timestamp: String::new(),
            time_ms: None,
            computer: String::new(),
            channel: String::new(),
            event_id: String::new(),
            record_id: 0,
            layout: Layout::Flat,
            details: Details::default(),
            correlation: String::new(),
        }
    }
}

/// Reads records out of matches; one per worker thread, sharing the
/// [`DetailsTable`] built at start-up.
pub(crate) struct Extractor<'t> {
    fields: ContextFields,
    details: &'t DetailsTable,
    /// `EventRecordID` in each layout, [`Layout::ALL`] order.
    record_id: [String; 3],
}

impl<'t> Extractor<'t> {
    /// An extractor choosing DETAILS with `details`.
    pub(crate) fn new(details: &'t DetailsTable) -> Self {
        Extractor {
            fields: ContextFields::new(),
            details,
            record_id: Layout::ALL
                .map(|layout| map_field(Vocabulary::Windows, layout, "EventRecordID")),
        }
    }

    /// Refills `rec` with what `m` reports.
    pub(crate) fn fill(&self, m: &Match<'_>, rec: &mut Record) {
        let event = m.event;
        let layout = event.layout();
        rec.rule = m.rule;
        rec.is_sequence = m.sequence.is_some();
        rec.file.clear();
        rec.file.push_str(m.file);
        rec.position = m.at;
        rec.positions.clear();
        rec.positions.extend_from_slice(m.sequence.unwrap_or(&[]));
        rec.correlation.clear();
        rec.correlation.push_str(m.correlation.unwrap_or(""));
        self.fields.time(event, &mut rec.timestamp);
        rec.time_ms = event_time_ms(&rec.timestamp);
        self.fields.computer(event, &mut rec.computer);
        let [channel, event_id] = layout.dispatch_paths();
        rec.channel.clear();
        first_text(event, channel, &mut rec.channel);
        rec.event_id.clear();
        first_text(event, event_id, &mut rec.event_id);
        let (Location::Line(pos) | Location::Record(pos)) = m.at;
        rec.record_id = own_record_id(event, &self.record_id[slot(layout)]).unwrap_or(pos);
        rec.layout = m.event.detected_layout();
        if let Some(summary) = m.correlation {
            rec.details.items.clear();
            rec.details
                .items
                .push(("Correlation".to_string(), summary.to_string()));
        } else if rec.is_sequence {
            rec.details.items.clear();
            let n = rec.positions.len();
            let what = match m.at {
                Location::Line(_) => "lines",
                Location::Record(_) => "records",
            };
            let list = rec
                .positions
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            rec.details.items.push((
                "Sequence".to_string(),
                format!(
                    "{n} {} ({what} {list})",
                    if n == 1 { "event" } else { "events" }
                ),
            ));
        } else {
            self.details
                .read(event, Some(m.rule.index), &mut rec.details);
        }
    }
}

fn slot(layout: Layout) -> usize {
    Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0)
}

/// The event's `EventRecordID`, when it has one that is a number.
fn own_record_id<E: Event + ?Sized>(event: &E, path: &str) -> Option<u64> {
    let mut id = None;
    event.lookup(path, &mut |v: Value<'_>| {
        id = v.with_text(|t| t.trim().parse::<u64>().ok()).flatten();
        true
    });
    id
}

/// Milliseconds since the Unix epoch of an event time as written: RFC 3339
/// or a date and time (no offset: UTC), as sequence rules read it, or a
/// number of milliseconds (ECS events may carry `@timestamp` as one).
pub(crate) fn event_time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    detect::__internals::matcher::epoch_millis(text).or_else(|| text.parse::<i64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::EventRef;
    use detect::JsonEvent;
    use detect_rules::Builtin;

    fn fill(line: &str, at: Location, sequence: Option<&[u64]>) -> Record {
        let table = DetailsTable::new(&Builtin::ir());
        let ex = Extractor::new(&table);
        let event = JsonEvent::parse_str(line).unwrap();
        let rule = if sequence.is_some() {
            &Builtin::SEQUENCES[0]
        } else {
            &Builtin::RULES[0]
        };
        let mut rec = Record::new(rule);
        ex.fill(
            &Match {
                rule,
                event: &EventRef::Json(&event),
                file: "f",
                at,
                sequence,
                correlation: None,
            },
            &mut rec,
        );
        rec
    }

    #[test]
    fn record_id_is_the_events_own_else_the_position() {
        let evtx = r##"{"Event": {"System": {"Channel": "Security", "EventID": 4688, "EventRecordID": 9001,
            "Computer": "PC", "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T13:05:42.1234567Z"}}},
            "EventData": {"CommandLine": "x"}}}"##;
        let rec = fill(evtx, Location::Record(3), None);
        assert_eq!(rec.record_id, 9001);
        assert_eq!(rec.position, Location::Record(3));
        assert_eq!(
            (
                rec.channel.as_str(),
                rec.event_id.as_str(),
                rec.computer.as_str()
            ),
            ("Security", "4688", "PC")
        );
        assert_eq!(rec.timestamp, "2019-03-19T13:05:42.1234567Z");
        assert_eq!(rec.time_ms, Some(1_553_000_742_123));
        assert_eq!(rec.layout, Layout::EvtxNested);
        let rec = fill(r#"{"EventID": 1}"#, Location::Line(7), None);
        assert_eq!((rec.record_id, rec.time_ms), (7, None));
        let rec = fill(r#"{"EventRecordID": "12"}"#, Location::Line(7), None);
        assert_eq!(rec.record_id, 12);
    }

    #[test]
    fn sequences_list_their_positions_in_details() {
        let rec = fill(
            r#"{"@timestamp": 1000}"#,
            Location::Line(9),
            Some(&[4, 7, 9]),
        );
        assert!(rec.is_sequence);
        assert_eq!(rec.positions, [4, 7, 9]);
        assert_eq!(rec.time_ms, Some(1000));
        let mut s = String::new();
        rec.details.joined(&mut s);
        assert_eq!(s, "Sequence: 3 events (lines 4, 7, 9)");
    }

    #[test]
    fn event_times() {
        assert_eq!(event_time_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(event_time_ms("1970-01-01 02:00:00+02:00"), Some(0));
        assert_eq!(event_time_ms(" 1500 "), Some(1500));
        assert_eq!(event_time_ms("soon"), None);
        assert_eq!(event_time_ms(""), None);
    }
}
