//! Hot reload under load: `SharedRuleSet` swaps whole rule sets while other
//! threads scan, and carries the pending sequences of unchanged sequence
//! rules across a swap.
//!
//! Two rule sets with different verdicts alternate; every scan must report
//! exactly the verdicts of one of them for its event (never a mix of both,
//! never a match lost), with no panic, in a bounded number of loops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect::runtime::{RuntimeRuleSet, SharedRuleSet};
use detect_eql::{Options, parse_query};
use detect_rules::Builtin;
use detect_tests::semantics_rules::Semantics;

/// Set A: the built-in pack and every semantics rule.
fn set_a() -> RuleSet {
    let mut set = Builtin::ir();
    set.rules.extend(Semantics::ir().rules);
    set
}

/// Set B: every other semantics rule, renamed, in reverse order, and no
/// built-in rule: its verdicts differ from A's on most events, and its rule
/// names tell which set reported a match.
fn set_b() -> RuleSet {
    let mut set = Semantics::ir();
    set.rules = set
        .rules
        .into_iter()
        .step_by(2)
        .rev()
        .map(|mut r| {
            r.name = format!("b_{}", r.name);
            r
        })
        .collect();
    set
}

/// Events for both sets: values of `F` that hit different semantics rules,
/// Sysmon events for the built-in pack, events no rule matches.
fn events() -> Vec<JsonEvent> {
    let f_values = [
        r#""abc""#,
        r#""hayNEEDLEstack""#,
        r#""10.1.2.3""#,
        r#""FE80::1""#,
        r#""powershell -enc AAA""#,
        r#""L2Jpbi9iYXNoIC1j""#,
        r#""aBBBc""#,
        r#""a\nb\nc""#,
        "443",
        "-5",
        "true",
        r#"["x", "ABC"]"#,
        r#""C:\\Windows\\System32\\CMD.EXE""#,
        r#""PREfix""#,
        "null",
        r#""nothing matches this""#,
    ];
    let mut lines: Vec<String> = f_values
        .iter()
        .map(|v| format!(r#"{{"F": {v}}}"#))
        .collect();
    lines.extend([
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i https://e/x.msi", "F": "a\nb\nc"}"#.to_string(),
        r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application", "Data": ["http://x/y", "1"]}"#.to_string(),
        r#"{"@timestamp": 1000, "event": {"category": "process", "action": "start"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1", "args": ["msiexec.exe", "/V"]}}"#.to_string(),
        "{}".to_string(),
    ]);
    lines
        .iter()
        .map(|l| JsonEvent::parse_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The rule names `ir` reports for each event, from the reference
/// interpreter (the run-time set must agree with it).
fn expected(ir: &RuleSet, events: &[JsonEvent]) -> Vec<Vec<String>> {
    let interp = Interpreter::new(ir).unwrap();
    let run_time = RuntimeRuleSet::compile(ir.clone()).unwrap();
    events
        .iter()
        .map(|e| {
            let names: Vec<String> = interp
                .matches(e)
                .into_iter()
                .map(|i| ir.rules[i].name.clone())
                .collect();
            let mut rt = Vec::new();
            run_time.scan(e, |i| rt.push(run_time.rule(i).name.clone()));
            assert_eq!(rt, names, "run-time set vs interpreter");
            names
        })
        .collect()
}

#[test]
fn scans_see_exactly_one_whole_rule_set_while_another_thread_swaps() {
    const SCANNERS: usize = 3;
    const MIN_SWAPS: u64 = 40;
    const MIN_ROUNDS: usize = 20;
    const MAX_ROUNDS: usize = 200_000;

    let (a, b) = (set_a(), set_b());
    let events = events();
    let (want_a, want_b) = (expected(&a, &events), expected(&b, &events));
    let differing = want_a.iter().zip(&want_b).filter(|(x, y)| x != y).count();
    assert!(
        differing * 4 >= events.len() * 3,
        "the two sets differ on only {differing} of {} events",
        events.len()
    );

    let shared = SharedRuleSet::new(RuntimeRuleSet::compile(a.clone()).unwrap());
    let done = AtomicBool::new(false);
    let swaps = AtomicU64::new(0);
    let (scanned_a, scanned_b) = (AtomicU64::new(0), AtomicU64::new(0));
    thread::scope(|s| {
        let replacer = s.spawn(|| {
            let mut next_is_b = true;
            while !done.load(Ordering::Acquire) {
                let ir = if next_is_b { b.clone() } else { a.clone() };
                shared.replace(RuntimeRuleSet::compile(ir).unwrap());
                swaps.fetch_add(1, Ordering::Release);
                next_is_b = !next_is_b;
                thread::yield_now();
            }
        });
        let scanners: Vec<_> = (0..SCANNERS)
            .map(|_| {
                s.spawn(|| {
                    let mut rounds = 0;
                    while rounds < MIN_ROUNDS || swaps.load(Ordering::Acquire) < MIN_SWAPS {
                        assert!(
                            rounds < MAX_ROUNDS,
                            "{MAX_ROUNDS} rounds and only {} swaps",
                            swaps.load(Ordering::Relaxed)
                        );
                        for (i, event) in events.iter().enumerate() {
                            // Which set each match came from: one scan must
                            // see one set only.
                            let mut from: Option<*const RuntimeRuleSet> = None;
                            let mut names = Vec::new();
                            shared.scan(event, |set, rule| {
                                let p = set as *const RuntimeRuleSet;
                                assert!(from.is_none_or(|f| f == p), "one scan saw two sets");
                                from = Some(p);
                                names.push(set.rule(rule).name.clone());
                            });
                            if names == want_a[i] {
                                scanned_a.fetch_add(1, Ordering::Relaxed);
                            } else if names == want_b[i] {
                                scanned_b.fetch_add(1, Ordering::Relaxed);
                            } else {
                                panic!(
                                    "event {i}: {names:?} is neither set A's {:?} nor set B's {:?}",
                                    want_a[i], want_b[i]
                                );
                            }
                        }
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        let rounds: Vec<usize> = scanners
            .into_iter()
            .map(|h| h.join().expect("a scanning thread panicked"))
            .collect();
        done.store(true, Ordering::Release);
        replacer.join().expect("the replacing thread panicked");
        assert!(rounds.iter().all(|&r| r >= MIN_ROUNDS), "{rounds:?}");
    });
    let swaps = swaps.load(Ordering::Relaxed);
    assert!(swaps >= MIN_SWAPS, "{swaps} swaps");
    assert_eq!(shared.generation(), swaps);
    // Both sets were seen by the scanners (verdicts that are the same in A
    // and B count for A, so B's count comes from differing events only).
    let (na, nb) = (scanned_a.into_inner(), scanned_b.into_inner());
    assert!(na > 0 && nb > 0, "scans by A {na}, by B {nb}");
}

fn sequence(name: &str, text: &str) -> detect::ir::Sequence {
    parse_query(text, &Options::elasticsearch())
        .unwrap()
        .to_sequence(name)
        .unwrap()
}

fn sequence_set(kept_maxspan: &str, changed_maxspan: &str) -> RuntimeRuleSet {
    let query = |maxspan: &str| {
        format!(
            r#"sequence by host.id with maxspan={maxspan}
              [process where process.name : "first.exe"]
              [process where process.name : "second.exe"]"#
        )
    };
    RuntimeRuleSet::compile(RuleSet {
        sequences: vec![
            sequence("kept", &query(kept_maxspan)),
            sequence("changed", &query(changed_maxspan)),
        ],
        ..Default::default()
    })
    .unwrap()
}

/// Steps `first` then (after `between`) `second` through `shared`; returns
/// the names of the completed sequences.
fn run_across(shared: &SharedRuleSet, between: impl FnOnce(&SharedRuleSet)) -> Vec<String> {
    let event = |name: &str, ts: u64| {
        JsonEvent::parse_str(&format!(
            r#"{{"@timestamp": {ts}, "event": {{"category": "process"}}, "host": {{"id": "h1"}}, "process": {{"name": "{name}"}}}}"#
        ))
        .unwrap()
    };
    let mut state = shared.sequences(16);
    let mut completed = Vec::new();
    let mut sink = |set: &RuntimeRuleSet, i: usize, positions: &[u64]| {
        assert_eq!(positions, [0, 1]);
        completed.push(set.sequence_rules()[i].name.clone());
    };
    shared.step(&mut state, &event("first.exe", 1_000), 0, &mut sink);
    between(shared);
    shared.step(&mut state, &event("second.exe", 2_000), 1, &mut sink);
    completed
}

#[test]
fn a_swap_keeps_pending_sequences_of_unchanged_rules_only() {
    // Without a swap both sequences complete.
    let shared = SharedRuleSet::new(sequence_set("10s", "10s"));
    assert_eq!(run_across(&shared, |_| {}), ["kept", "changed"]);

    // The same definitions reloaded: both keep their pending sequence.
    let shared = SharedRuleSet::new(sequence_set("10s", "10s"));
    let completed = run_across(&shared, |s| {
        s.replace(sequence_set("10s", "10s"));
    });
    assert_eq!(completed, ["kept", "changed"]);

    // `changed`'s maxspan differs: its pending sequence is dropped, `kept`'s
    // survives (and the new `changed` would complete on its own events).
    let shared = SharedRuleSet::new(sequence_set("10s", "10s"));
    let completed = run_across(&shared, |s| {
        s.replace(sequence_set("10s", "20s"));
    });
    assert_eq!(completed, ["kept"]);

    // The rules in another order: pending sequences follow the definition,
    // not the index.
    let shared = SharedRuleSet::new(sequence_set("10s", "10s"));
    let completed = run_across(&shared, |s| {
        let mut reordered = sequence_set("10s", "10s").ir().clone();
        reordered.sequences.reverse();
        s.replace(RuntimeRuleSet::compile(reordered).unwrap());
    });
    assert_eq!(completed, ["changed", "kept"]);

    // Two swaps between the stages (away and back) with no event between:
    // the state follows the set current at its next step, whose definitions
    // are the ones it was built for, so both keep their pending sequence.
    let shared = SharedRuleSet::new(sequence_set("10s", "10s"));
    let completed = run_across(&shared, |s| {
        s.replace(sequence_set("10s", "20s"));
        s.replace(sequence_set("10s", "10s"));
    });
    assert_eq!(completed, ["kept", "changed"]);
}
