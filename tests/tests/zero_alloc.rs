//! Proof that the per-event path allocates nothing in steady state.
//!
//! A counting global allocator records allocations made by the measuring
//! thread only. After one warm-up pass (buffers reach their high-water mark,
//! regexes compile on first use), a second pass over the same events, parsing
//! each NDJSON line and running every rule set, must not allocate one byte.

use detect::{CompiledRuleSet, JsonEvent};
use detect_rules::Builtin;
use detect_test_support::counting_alloc::{CountingAllocator, measure};
use detect_test_support::shared_data;
use detect_tests::semantics_rules::Semantics;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn pass<R: CompiledRuleSet>(lines: &[&str], event: &mut JsonEvent) -> usize {
    let mut matches = 0;
    for line in lines {
        // Every test line is valid: a parse error would allocate its message.
        event
            .parse(line.as_bytes())
            .expect("test events are valid JSON");
        R::scan(event, |_| matches += 1);
    }
    matches
}

/// The built-in sequence rule's state machine over the same events.
fn sequence_pass(
    lines: &[&str],
    event: &mut JsonEvent,
    state: &mut detect_rules::BuiltinSequences,
) -> usize {
    let mut completed = 0;
    for (i, line) in lines.iter().enumerate() {
        event
            .parse(line.as_bytes())
            .expect("test events are valid JSON");
        state.step(event, i as u64, |_, _| completed += 1);
    }
    completed
}

fn steady_state(lines: &[&str]) -> (usize, usize, usize) {
    let mut event = JsonEvent::new();
    let mut state = Builtin::sequences(1024);
    // Warm-up: buffers grow to the largest event, regexes compile.
    let warm = pass::<Builtin>(lines, &mut event)
        + pass::<Semantics>(lines, &mut event)
        + sequence_pass(lines, &mut event, &mut state);
    let (steady, counted) = measure(|| {
        // Resetting the sequence state (as `detect scan` does between inputs)
        // allocates nothing either.
        state.reset();
        pass::<Builtin>(lines, &mut event)
            + pass::<Semantics>(lines, &mut event)
            + sequence_pass(lines, &mut event, &mut state)
    });
    assert_eq!(warm, steady, "both passes see the same matches");
    (steady, counted.allocations, counted.bytes)
}

#[test]
fn steady_state_scanning_allocates_nothing() {
    // Hand-written events always run, so the test cannot pass vacuously.
    let own = [
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i https://e/x.msi", "F": "a\nb\nc"}"#,
        r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application", "Data": ["http://x/y", "1"]}"#,
        r#"{"F": "YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAOAAuADgALgA4AC4AOAA=", "T": "2021-01-03T10:00:00Z", "User": "root", "G": 1}"#,
        r#"{"F": 12.5, "A": {"B": ["evil", {"C": "mimi-katz"}]}, "process": {"parent": {"name": "x.exe"}}}"#,
        // Seed 003's chain (ECS): the sequence state machine completes once per pass.
        r#"{"@timestamp": 1000, "event": {"category": "process", "action": "start"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1", "args": ["msiexec.exe", "/V"]}}"#,
        r#"{"@timestamp": 2000, "event": {"category": "network", "action": "connection_attempted"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1"}}"#,
        r#"{"@timestamp": 3000, "event": {"category": "process", "action": "start"}, "host": {"os": {"type": "windows"}}, "user": {"id": "S-1-5-21-1"}, "process": {"name": "x.exe", "executable": "C:\\x.exe", "entity_id": "c1", "parent": {"name": "msiexec.exe", "entity_id": "p1"}}}"#,
    ];
    let (matches, allocations, bytes) = steady_state(&own);
    assert!(
        matches >= 4,
        "the hand-written events match rules ({matches})"
    );
    assert_eq!(
        (allocations, bytes),
        (0, 0),
        "allocations in steady state on hand-written events"
    );

    // Allocation probe sanity check: a deliberate allocation is seen.
    let (v, counted) = measure(|| std::hint::black_box(vec![1u8; 16]));
    drop(v);
    assert!(counted.allocations > 0, "the counting allocator works");
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn steady_state_scanning_of_real_events_allocates_nothing() {
    let path = shared_data("events/windows-samples.ndjson");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (matches, allocations, bytes) = steady_state(&lines);
    assert!(matches > 0);
    assert_eq!(
        (allocations, bytes),
        (0, 0),
        "steady-state scan of {} real events allocated",
        lines.len()
    );
}

mod endgame {
    detect::rules! {
        /// An endgame-dialect sequence: its keys are folded and hashed
        /// without allocating (`KeyBuilder::push_folded`).
        pub ruleset EndgameChain;

        sequence spawn_then_write = eql!(dialect = endgame, r#"
            sequence by user_name with maxspan=1m
              [process where opcode == 1] by unique_pid
              [file where opcode == 0] by unique_pid
        "#);
    }
}

#[test]
fn endgame_sequences_allocate_nothing() {
    use endgame::EndgameChain;
    // Keys in both cases, null, in arrays, non-ASCII and longer than the
    // folding buffer (64 bytes).
    let long = "Ünïcödé-ΣΑΣ-".repeat(8);
    // Folded character by character, as endgame joins compare keys.
    let folded: String = long.chars().flat_map(char::to_lowercase).collect();
    let lines = [
        format!(
            r#"{{"event_type": "process", "opcode": 1, "unique_pid": "{long}", "user_name": "ANN"}}"#
        ),
        format!(
            r#"{{"event_type": "file", "opcode": 0, "unique_pid": "{}", "user_name": "ann"}}"#,
            folded
        ),
        r#"{"event_type": "process", "opcode": 1, "unique_pid": null, "user_name": ["Bob", "x"]}"#
            .to_string(),
        r#"{"event_type": "file", "opcode": 0, "user_name": "BOB"}"#.to_string(),
    ];
    let mut event = JsonEvent::new();
    let mut state = EndgameChain::sequences(64);
    let run = |state: &mut endgame::EndgameChainSequences, event: &mut JsonEvent| {
        let mut completed = 0;
        for (i, line) in lines.iter().enumerate() {
            event.parse(line.as_bytes()).expect("valid JSON");
            state.step_at(event, i as i64 * 1_000, i as u64, |_, _| completed += 1);
        }
        completed
    };
    let warm = run(&mut state, &mut event);
    let (steady, counted) = measure(|| {
        state.reset();
        run(&mut state, &mut event)
    });
    assert_eq!(
        (warm, steady),
        (2, 2),
        "both chains complete in both passes"
    );
    assert_eq!(
        (counted.allocations, counted.bytes),
        (0, 0),
        "endgame sequence steps allocated"
    );
}
