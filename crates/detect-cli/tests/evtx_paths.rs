//! The EVTX path of `detect scan` (records decoded by `detect-evtx`) against
//! the path it replaced (each record rendered to JSON by the evtx crate and
//! parsed by `JsonEvent`): every EVTX file of `../shared/data/evtx` gives
//! the same matches, in the same order, with the built-in rules (and their
//! sequences) and, with the `sigmahq` feature, the compiled SigmaHQ pack.

use detect::{Event, JsonEvent};
use detect_evtx::{CHUNK_SIZE, EvtxEvent, FILE_HEADER_SIZE, Records, chunk_order, first_record_id};
use detect_rules::Builtin;
use detect_test_support::shared_evtx_files;
use evtx::{EvtxParser, ParserSettings};

/// What the rules say about one event: `record id: rule` per stateless
/// match, `record id: sequence [ids]` per completed sequence.
fn verdicts(
    event: &impl Event,
    id: u64,
    state: &mut detect_rules::BuiltinSequences,
    out: &mut Vec<String>,
) {
    Builtin::scan(event, |r| out.push(format!("{id}: {}", r.name)));
    #[cfg(feature = "sigmahq")]
    detect_sigmahq::SigmaHqWindows::scan(event, |r| out.push(format!("{id}: sigmahq {}", r.name)));
    state.step(event, id, |r, ids| {
        out.push(format!("{id}: {} {ids:?}", r.name))
    });
}

/// The verdicts through the evtx crate's JSON rendering.
fn through_json(bytes: &[u8]) -> Vec<String> {
    let mut padded = bytes.to_vec();
    let chunks = padded
        .len()
        .saturating_sub(FILE_HEADER_SIZE)
        .div_ceil(CHUNK_SIZE);
    padded.resize(FILE_HEADER_SIZE + chunks * CHUNK_SIZE, 0);
    let parser = EvtxParser::from_buffer(padded).unwrap();
    let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1).indent(false));
    let mut event = JsonEvent::new();
    let mut state = Builtin::sequences(1024);
    let mut out = Vec::new();
    for record in parser.records_json_bytes() {
        let record = record.unwrap();
        event.parse(&record.data).unwrap();
        verdicts(&event, record.event_record_id, &mut state, &mut out);
    }
    out
}

/// The verdicts through `detect-evtx`.
fn through_binxml(bytes: &[u8]) -> Vec<String> {
    let chunks = bytes
        .len()
        .saturating_sub(FILE_HEADER_SIZE)
        .div_ceil(CHUNK_SIZE);
    let chunk = |n: usize| {
        let start = FILE_HEADER_SIZE + n * CHUNK_SIZE;
        let mut c = bytes[start..bytes.len().min(start + CHUNK_SIZE)].to_vec();
        c.resize(CHUNK_SIZE, 0);
        c
    };
    let mut event = EvtxEvent::new();
    let mut state = Builtin::sequences(1024);
    let mut out = Vec::new();
    for n in chunk_order(chunks, |n| first_record_id(&chunk(n))) {
        let data = chunk(n);
        if data.iter().all(|&b| b == 0) {
            continue;
        }
        event.start_chunk();
        for record in Records::new(&data).unwrap() {
            let record = record.unwrap();
            event.decode(&data, &record).unwrap();
            verdicts(&event, record.id, &mut state, &mut out);
        }
    }
    out
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn every_shared_evtx_file_gives_the_same_matches_through_both_paths() {
    let files = shared_evtx_files();
    let mut matches = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let json = through_json(&bytes);
        let binxml = through_binxml(&bytes);
        assert_eq!(binxml, json, "{}", path.display());
        matches += json.len();
    }
    // Some rules fire on the corpus (so that the comparison says something).
    assert!(matches > 0);
    #[cfg(feature = "sigmahq")]
    assert!(matches > 500, "{matches} matches");
    println!(
        "{} files, {matches} matches, the same through both paths",
        files.len()
    );
}
