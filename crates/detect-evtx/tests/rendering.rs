//! Every record of every EVTX file in `../shared/data/evtx` has the same
//! shape through [`EvtxEvent`] as through the evtx crate's JSON rendering
//! (what the CLI scanned before): same members, same order, same values.

use detect_evtx::{CHUNK_SIZE, EvtxEvent, FILE_HEADER_SIZE, Records, chunk_order, first_record_id};
use detect_test_support::shared_evtx_files;
use evtx::{EvtxParser, ParserSettings};

/// The file's records through `EvtxEvent`: (record id, JSON) in read order,
/// and the errors.
fn decoded(bytes: &[u8]) -> (Vec<(u64, String)>, usize) {
    let mut out = Vec::new();
    let mut errors = 0;
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
    for n in chunk_order(chunks, |n| first_record_id(&chunk(n))) {
        let data = chunk(n);
        if data.iter().all(|&b| b == 0) {
            continue;
        }
        let Ok(records) = Records::new(&data) else {
            errors += 1;
            continue;
        };
        event.start_chunk();
        for record in records {
            match record.and_then(|r| event.decode(&data, &r)) {
                Ok(()) => out.push((event.record_id(), event.to_json())),
                Err(_) => errors += 1,
            }
        }
    }
    (out, errors)
}

fn rendered(bytes: &[u8]) -> Vec<(u64, String)> {
    let mut padded = bytes.to_vec();
    if padded.len() > FILE_HEADER_SIZE {
        let chunks = (padded.len() - FILE_HEADER_SIZE).div_ceil(CHUNK_SIZE);
        padded.resize(FILE_HEADER_SIZE + chunks * CHUNK_SIZE, 0);
    }
    let Ok(parser) = EvtxParser::from_buffer(padded) else {
        return Vec::new();
    };
    let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1).indent(false));
    parser
        .records_json_bytes()
        .filter_map(Result::ok)
        .map(|r| (r.event_record_id, String::from_utf8(r.data).unwrap()))
        .collect()
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn every_shared_record_has_the_shape_of_its_json_rendering() {
    let files = shared_evtx_files();
    let (mut records, mut differ, mut missing) = (0, 0, 0);
    let mut report = String::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let (ours, _) = decoded(&bytes);
        let theirs = rendered(&bytes);
        assert_eq!(ours.len(), theirs.len(), "{}: records read", path.display());
        let ours: std::collections::HashMap<u64, &String> =
            ours.iter().map(|(id, j)| (*id, j)).collect();
        for (id, json) in &theirs {
            records += 1;
            let Some(mine) = ours.get(id) else {
                missing += 1;
                if missing < 5 {
                    report.push_str(&format!("{}: record {id} not decoded\n", path.display()));
                }
                continue;
            };
            let a: serde_json::Value = serde_json::from_str(json).unwrap();
            let b: serde_json::Value = match serde_json::from_str(mine) {
                Ok(b) => b,
                Err(e) => panic!("{}#{id}: {e}: {mine}", path.display()),
            };
            if a != b {
                differ += 1;
                if differ < 5 {
                    report.push_str(&format!(
                        "{}#{id}\n theirs {json}\n ours   {mine}\n",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(records > 10_000, "{records} records");
    assert_eq!((differ, missing), (0, 0), "of {records} records\n{report}");
}
