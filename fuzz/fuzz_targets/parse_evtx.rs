//! EVTX on arbitrary bytes, read two ways: the way `detect scan` reads it
//! (padded to whole 64 KiB chunks, chunks in record order, each record
//! decoded from its BinXML by `detect-evtx`), and the way it read it before
//! (the evtx crate, one thread, each record's JSON rendering read by
//! `JsonEvent`). Errors are fine; panics and hangs are not. Records that
//! are read agree between generated code and the interpreter, and go
//! through the sequence state machine.
#![no_main]

use std::io::Cursor;

use detect::JsonEvent;
use detect_evtx::{EvtxEvent, FileHeader, Records, chunk_order, first_record_id};
use detect_rules::Builtin;
use evtx::{EvtxParser, ParserSettings};
use libfuzzer_sys::fuzz_target;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if bytes.len() > HEADER {
        // As the CLI does: a cut-short last chunk is padded with zeros.
        let chunks = (bytes.len() - HEADER).div_ceil(CHUNK);
        bytes.resize(HEADER + chunks * CHUNK, 0);
    }
    scan_binxml(&bytes);
    let Ok(parser) = EvtxParser::from_read_seek(Cursor::new(bytes)) else {
        return;
    };
    let settings = ParserSettings::new().num_threads(1).indent(false);
    let mut parser = parser.with_configuration(settings);
    let mut event = JsonEvent::new();
    let mut sequences = Builtin::sequences(16);
    for (pos, record) in parser.records_json_bytes().enumerate() {
        let Ok(record) = record else { continue };
        if event.parse(&record.data).is_err() {
            continue;
        }
        detect_fuzz::check_all(&event, false);
        sequences.step(&event, pos as u64, |_, _| {});
    }
});

/// The records of `bytes` (padded) through `detect-evtx`.
fn scan_binxml(bytes: &[u8]) {
    if FileHeader::parse(bytes).is_err() {
        return;
    }
    let count = bytes.len().saturating_sub(HEADER) / CHUNK;
    let chunk = |n: usize| &bytes[HEADER + n * CHUNK..HEADER + (n + 1) * CHUNK];
    let mut event = EvtxEvent::new();
    let mut sequences = Builtin::sequences(16);
    for n in chunk_order(count, |n| first_record_id(chunk(n))) {
        let data = chunk(n);
        let Ok(records) = Records::new(data) else {
            continue;
        };
        event.start_chunk();
        for record in records {
            let Ok(record) = record else { continue };
            if event.decode(data, &record).is_err() {
                continue;
            }
            detect_fuzz::check_all(&event, false);
            sequences.step(&event, record.id, |_, _| {});
            let _ = event.to_json();
        }
    }
}
