//! Regression tests for what the fuzz targets (`fuzz/`) found, each written
//! from the target's `Debug` reproducer, with the check the target makes.

use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect::{CompiledRuleSet, JsonEvent};
use detect_eql::Dialect;
use detect_eql::reference::ReferenceMatcher;
use detect_rules::Builtin;
use detect_tests::semantics_rules::Semantics;

/// The `event_diff` check (without the 1,000 generated rules, which live in
/// `detect-benches`): prefiltered scan, unfiltered scan, the run-time rule
/// set (both ways) and the reference interpreter agree on `json`, in its detected layout and in `layout`.
fn assert_rule_sets_agree(json: &str, layout: Option<detect::Layout>) {
    fn one<R: CompiledRuleSet>(event: &JsonEvent) {
        let interp = Interpreter::new(&R::ir()).unwrap();
        let mut scanned = Vec::new();
        R::scan(event, |r| scanned.push(r.index));
        let mut unfiltered = Vec::new();
        R::scan_unfiltered(event, |r| unfiltered.push(r.index));
        assert_eq!(scanned, unfiltered, "prefiltered vs unfiltered");
        assert_eq!(
            unfiltered,
            interp.matches(event),
            "generated vs interpreter"
        );
        let run_time = RuntimeRuleSet::compile(R::ir()).unwrap();
        let mut rt = Vec::new();
        run_time.scan(event, |r| rt.push(r));
        let mut rt_unfiltered = Vec::new();
        run_time.scan_unfiltered(event, |r| rt_unfiltered.push(r));
        assert_eq!(rt, unfiltered, "run-time vs generated");
        assert_eq!(
            rt_unfiltered, unfiltered,
            "run-time unfiltered vs generated"
        );
    }
    let mut event = JsonEvent::parse_str(json).unwrap();
    one::<Builtin>(&event);
    one::<Semantics>(&event);
    if layout.is_some() {
        event.set_layout_override(layout);
        one::<Builtin>(&event);
        one::<Semantics>(&event);
    }
}

/// An input of the first campaign (saved when a loaded machine made it slow):
/// repeated keys, empty arrays where the log source routing looks, values
/// from several rules' literals, a forced layout.
#[test]
fn repeated_keys_and_empty_routing_arrays_agree() {
    let json = r#"{"F": ["^b$", "-5", "kkbackup"], "EventID": "1040", "Description": "msbuild Tool", "Some Field": "v", "F": ["10", "k", "^B$\\anydesk.exe"], "Channel": [], "Channel": []}"#;
    assert_rule_sets_agree(json, Some(detect::Layout::Flat));
    assert_rule_sets_agree(json, Some(detect::Layout::EvtxNested));
}

/// The `sequence` check: seed 003's generated state machine and the
/// reference matcher complete the same sequences over `events` (JSON line,
/// timestamp in milliseconds as the reference sees it).
fn assert_sequences_agree(events: &[(&str, Option<i64>)]) -> Vec<Vec<u64>> {
    let ir = Builtin::ir();
    let mut reference = ReferenceMatcher::new(&ir.sequences[0], Dialect::Elasticsearch).unwrap();
    let mut generated = Builtin::sequences(1024);
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for (i, (json, ts)) in events.iter().enumerate() {
        let event = JsonEvent::parse_str(json).unwrap();
        generated.step(&event, i as u64, |_, p| got.push(p.to_vec()));
        if let Some(ts) = ts {
            want.extend(reference.step(&event, *ts, i as u64));
        }
    }
    assert_eq!(got, want, "generated state machine vs reference matcher");
    got
}

/// A join key field holding several values never joins (Elasticsearch
/// rejects multi-valued join keys); the reference matcher took the first
/// value and completed a sequence the state machine did not.
#[test]
fn multi_valued_join_keys_do_not_join() {
    let start = r#"{"@timestamp": 1700000000000, "event": {"category": ["process"], "action": "start"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": ["p1", "p2"], "args": ["C:\\Windows\\System32\\msiexec.exe", "/V"]}}"#;
    let connect = r#"{"@timestamp": 1700000001000, "event": {"category": ["network"], "action": "connection_attempted"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1"}}"#;
    let child = r#"{"@timestamp": 1700000002000, "event": {"category": ["process"], "action": "start"}, "host": {"os": {"type": "windows"}}, "user": {"id": "S-1-5-21-1-2-3"}, "process": {"name": "payload.exe", "executable": "C:\\Users\\bob\\payload.exe", "entity_id": "c1", "parent": {"name": "msiexec.exe", "entity_id": "p1"}}}"#;
    let done = assert_sequences_agree(&[
        (start, Some(1_700_000_000_000)),
        (connect, Some(1_700_000_001_000)),
        (child, Some(1_700_000_002_000)),
    ]);
    assert!(done.is_empty());
    // With a single-valued key (or a one-element array) the chain completes.
    let single = start.replace(r#"["p1", "p2"]"#, r#"["p1"]"#);
    let done = assert_sequences_agree(&[
        (&single, Some(1_700_000_000_000)),
        (connect, Some(1_700_000_001_000)),
        (child, Some(1_700_000_002_000)),
    ]);
    assert_eq!(done, vec![vec![0, 1, 2]]);
}
