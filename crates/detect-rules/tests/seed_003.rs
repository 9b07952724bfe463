//! Seed 003 as a generated state machine: scenarios from the issue, and a
//! randomised differential against the reference sequence matcher
//! (`detect_eql::reference`, unbounded maps, no generated code).

use detect::JsonEvent;
use detect_eql::reference::ReferenceMatcher;
use detect_eql::{Dialect, Options, parse_query};
use detect_rules::Builtin;

mod common;

use common::{EXCLUDED_EXECUTABLES, s, seed_003_query};

fn reference() -> ReferenceMatcher {
    let ir = Builtin::ir();
    let seq = ir
        .sequences
        .iter()
        .find(|s| s.name == "msiexec_remote_file_execution")
        .expect("seed 003 in the pack");
    ReferenceMatcher::new(seq, Dialect::Elasticsearch).unwrap()
}

fn start(ts: i64, id: &str, args: &str) -> String {
    format!(
        r#"{{"@timestamp": {ts}, "event": {{"category": ["process"], "type": ["start"], "action": "start"}},
            "host": {{"os": {{"type": "windows"}}}},
            "process": {{"name": "msiexec.exe", "entity_id": {}, "executable": "C:\\Windows\\System32\\msiexec.exe",
                         "args": ["C:\\Windows\\System32\\msiexec.exe", {}]}}}}"#,
        s(id),
        s(args)
    )
}

fn connection(ts: i64, id: &str) -> String {
    format!(
        r#"{{"@timestamp": {ts}, "event": {{"category": ["network"], "action": "connection_attempted"}},
            "host": {{"os": {{"type": "windows"}}}}, "process": {{"name": "msiexec.exe", "entity_id": {}}},
            "destination": {{"ip": "203.0.113.7", "port": 443}}}}"#,
        s(id)
    )
}

fn child(ts: i64, parent: &str, executable: &str, user: &str, extra: &str) -> String {
    let name = executable.rsplit('\\').next().unwrap_or(executable);
    format!(
        r#"{{"@timestamp": {ts}, "event": {{"category": ["process"], "action": "start"}},
            "host": {{"os": {{"type": "windows"}}}}, "user": {{"id": {}}},
            "process": {{"name": {}, "executable": {}, "args": [{}], "entity_id": "child-{}" {extra},
                         "parent": {{"name": "msiexec.exe", "entity_id": {}}}}}}}"#,
        s(user),
        s(name),
        s(executable),
        s(executable),
        parent,
        s(parent)
    )
}

const USER: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
const PAYLOAD: &str = r"C:\Users\bob\AppData\Local\Temp\payload.exe";

/// Runs the events through the generated state machine and the reference;
/// asserts they agree and returns the completed sequences (event positions).
fn run(events: &[String]) -> Vec<Vec<u64>> {
    let mut generated = Builtin::sequences(1024);
    let mut reference = reference();
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (i, json) in events.iter().enumerate() {
        let ev = JsonEvent::parse_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        generated.step(&ev, i as u64, |rule, positions| {
            assert_eq!(rule.name, "msiexec_remote_file_execution");
            got.push(positions.to_vec());
        });
        let ts =
            detect::__rt::timestamp_ms(&detect::__rt::AsDyn(&ev), "@timestamp").expect("timestamp");
        want.extend(reference.step(&ev, ts, i as u64));
    }
    assert_eq!(got, want, "generated state machine vs reference matcher");
    got
}

#[test]
fn the_full_chain_fires_and_61_seconds_does_not() {
    let chain = |last: i64| {
        vec![
            start(0, "p1", "/V"),
            connection(1_000, "p1"),
            child(last, "p1", PAYLOAD, USER, ""),
        ]
    };
    assert_eq!(run(&chain(2_000)), vec![vec![0, 1, 2]]);
    assert_eq!(run(&chain(60_000)), vec![vec![0, 1, 2]]);
    assert!(run(&chain(61_000)).is_empty());
    // RFC 3339 timestamps work too.
    let rfc = [
        start(0, "p1", "/V").replace(
            "\"@timestamp\": 0",
            "\"@timestamp\": \"2024-05-01T10:00:00.000Z\"",
        ),
        connection(0, "p1").replace(
            "\"@timestamp\": 0",
            "\"@timestamp\": \"2024-05-01T10:00:30Z\"",
        ),
        child(0, "p1", PAYLOAD, USER, "").replace(
            "\"@timestamp\": 0",
            "\"@timestamp\": \"2024-05-01T10:01:00.000Z\"",
        ),
    ];
    assert_eq!(run(&rfc), vec![vec![0, 1, 2]]);
}

#[test]
fn near_misses_do_not_fire() {
    let base = |c: String| vec![start(0, "p1", "/V"), connection(1_000, "p1"), c];
    // Wrong parent key.
    assert!(run(&base(child(2_000, "p2", PAYLOAD, USER, ""))).is_empty());
    // Each excluded executable pattern of the seed.
    for &exe in EXCLUDED_EXECUTABLES {
        assert!(
            run(&base(child(2_000, "p1", exe, USER, ""))).is_empty(),
            "{exe}"
        );
    }
    // A user outside S-1-5-21-* / S-1-5-12-1-*.
    assert!(run(&base(child(2_000, "p1", PAYLOAD, "S-1-5-18", ""))).is_empty());
    assert_eq!(
        run(&base(child(2_000, "p1", PAYLOAD, "S-1-5-12-1-77", ""))).len(),
        1
    );
    // A Citrix-signed, trusted child.
    let citrix = r#", "code_signature": {"subject_name": "Citrix Systems, Inc.", "trusted": true}"#;
    assert!(run(&base(child(2_000, "p1", PAYLOAD, USER, citrix))).is_empty());
    // msiexec without /V never starts a sequence.
    assert!(
        run(&[
            start(0, "p1", "/i"),
            connection(1_000, "p1"),
            child(2_000, "p1", PAYLOAD, USER, "")
        ])
        .is_empty()
    );
}

#[test]
fn order_restarts_and_interleaving() {
    // Out of order: the connection before the start.
    assert!(
        run(&[
            connection(0, "p1"),
            start(1, "p1", "/V"),
            child(2, "p1", PAYLOAD, USER, "")
        ])
        .is_empty()
    );
    // An event older than the sequence's last event does not advance it.
    assert!(
        run(&[
            start(5_000, "p1", "/V"),
            connection(4_000, "p1"),
            child(6_000, "p1", PAYLOAD, USER, "")
        ])
        .is_empty()
    );
    // A restarted first stage: the newer start is the one that completes.
    assert_eq!(
        run(&[
            start(0, "p1", "/V"),
            start(30_000, "p1", "/V"),
            connection(70_000, "p1"),
            child(80_000, "p1", PAYLOAD, USER, "")
        ]),
        vec![vec![1, 2, 3]]
    );
    // Interleaved chains of many keys.
    let mut events = Vec::new();
    for k in 0..50 {
        events.push(start(k, &format!("p{k}"), "/V"));
    }
    for k in 0..50 {
        events.push(connection(100 + k, &format!("p{k}")));
    }
    for k in (0..50).rev() {
        events.push(child(200 + k, &format!("p{k}"), PAYLOAD, USER, ""));
    }
    let done = run(&events);
    assert_eq!(done.len(), 50);
    assert!(done.contains(&vec![0, 50, 149]), "{done:?}");
}

#[test]
fn random_streams_agree_with_the_reference_matcher() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut total = 0;
    for _ in 0..200 {
        let mut ts = 0i64;
        let mut events = Vec::new();
        for _ in 0..40 {
            ts += rnd(25_000) as i64 - 2_000; // mostly forward, sometimes back
            let id = format!("p{}", rnd(4));
            events.push(match rnd(6) {
                0 | 1 => start(ts, &id, if rnd(5) == 0 { "/i" } else { "/V" }),
                2 | 3 => connection(ts, &id),
                4 => child(ts, &id, PAYLOAD, USER, ""),
                _ => child(ts, &id, r"C:\Program Files\x\y.exe", USER, ""),
            });
        }
        total += run(&events).len();
    }
    assert!(
        total > 20,
        "the random streams complete some sequences ({total})"
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn seed_003_text_is_the_seed_verbatim() {
    let path = detect_test_support::shared("seeds/003_93de9c3d8e68f6ef.txt");
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ir = Builtin::ir();
    let seq = &ir.sequences[0];
    assert_eq!(seq.maxspan_ms, Some(60_000));
    assert_eq!(seq.stages.len(), 3);
    let keys: Vec<&str> = seq.stages.iter().map(|s| s.keys[0].as_str()).collect();
    assert_eq!(
        keys,
        [
            "process.entity_id",
            "process.entity_id",
            "process.parent.entity_id"
        ]
    );
    assert!(
        page.contains(seed_003_query()),
        "the rule text is the seed's query verbatim"
    );
    let _ = parse_query(seed_003_query(), &Options::elasticsearch()).unwrap();
}

#[test]
fn reset_forgets_pending_sequences_and_counters() {
    let events: Vec<JsonEvent> = [
        start(0, "p1", "/V"),
        connection(1_000, "p1"),
        child(2_000, "p1", PAYLOAD, USER, ""),
        // The first stage's event without its timestamp: counted as untimed.
        start(0, "p9", "/V").replace("\"@timestamp\": 0,", ""),
    ]
    .iter()
    .map(|j| JsonEvent::parse_str(j).unwrap())
    .collect();
    let mut state = Builtin::sequences(16);
    let mut done = Vec::new();
    // Two stages, then a reset: the third stage finds nothing to complete.
    state.step(&events[0], 0, |_, p| done.push(p.to_vec()));
    state.step(&events[1], 1, |_, p| done.push(p.to_vec()));
    state.step(&events[3], 3, |_, p| done.push(p.to_vec()));
    assert_eq!((state.pending(0), state.untimed()), (1, 1));
    assert_eq!(state.stats(0).started, 1);
    state.reset();
    assert_eq!((state.pending(0), state.untimed()), (0, 0));
    assert_eq!(state.stats(0), detect::__rt::SequenceStats::default());
    state.step(&events[2], 2, |_, p| done.push(p.to_vec()));
    assert!(
        done.is_empty(),
        "a reset state completes nothing pending before"
    );
    // The same state runs the whole chain afterwards.
    for (i, ev) in events[..3].iter().enumerate() {
        state.step(ev, 10 + i as u64, |_, p| done.push(p.to_vec()));
    }
    assert_eq!(done, vec![vec![10, 11, 12]]);
}
