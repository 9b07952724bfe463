//! EVTX on arbitrary bytes, read the way `detect scan` reads it: padded to
//! whole 64 KiB chunks, parsed by the evtx crate (one thread), each record's
//! JSON rendering read by `JsonEvent` and scanned. Errors are fine; panics
//! and hangs are not. Records that render agree between generated code and
//! the interpreter, and go through the sequence state machine.
#![no_main]

use std::io::Cursor;

use detect::JsonEvent;
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
