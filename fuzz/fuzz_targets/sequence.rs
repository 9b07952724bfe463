//! Sequences: arbitrary event streams (keys from a small set, timestamps
//! mostly forward, sometimes back, in several notations or missing) through
//! seed 003's generated state machine and the reference sequence matcher
//! (unbounded maps, interpreter conditions, no generated code).
//!
//! * with a table that cannot fill up, both complete the same sequences;
//! * with a small table, the table never holds more than its capacity, it
//!   completes a subsequence of the reference's completions, and exactly the
//!   same ones while the reference never held more pending sequences than
//!   that capacity;
//! * the endgame twin (`detect_fuzz::EndgameTwin`, the events' flat
//!   renderings, their times given with `step_at`) completes exactly what the
//!   reference matcher with the endgame joins completes.
#![no_main]

use std::sync::OnceLock;

use detect::JsonEvent;
use detect::interpreter::CompiledExpr;
use detect::ir::Sequence;
use detect_eql::Dialect;
use detect_eql::reference::ReferenceMatcher;
use detect_fuzz::EndgameTwin;
use detect_fuzz::stream::StreamInput;
use detect_rules::Builtin;
use libfuzzer_sys::fuzz_target;

/// Seed 003's IR, deserialised once.
fn seed_003() -> &'static Sequence {
    static SEQ: OnceLock<Sequence> = OnceLock::new();
    SEQ.get_or_init(|| Builtin::ir().sequences.remove(0))
}

/// Seed 003's stage (and `until`) conditions in the interpreter.
fn stage_conditions() -> &'static [CompiledExpr] {
    static C: OnceLock<Vec<CompiledExpr>> = OnceLock::new();
    C.get_or_init(|| {
        let seq = seed_003();
        seq.stages
            .iter()
            .chain(seq.until.as_ref())
            .map(|s| CompiledExpr::new(&s.condition).expect("seed 003's stages load"))
            .collect()
    })
}

fuzz_target!(|input: StreamInput| {
    let mut reference =
        ReferenceMatcher::new(seed_003(), Dialect::Elasticsearch).expect("seed 003 loads");
    let mut large = Builtin::sequences(4 * input.events.len() + 4);
    let mut small = Builtin::sequences(input.capacity);
    let (mut want, mut got_large, mut got_small) = (Vec::new(), Vec::new(), Vec::new());
    let mut reference_fits = true;
    let mut event = JsonEvent::new();
    for (i, e) in input.events.iter().enumerate() {
        event
            .parse(e.json.as_bytes())
            .expect("generated JSON parses");
        let pos = i as u64;
        large.step(&event, pos, |_, p| got_large.push(p.to_vec()));
        small.step(&event, pos, |_, p| got_small.push(p.to_vec()));
        if let Some(ts) = e.ts {
            want.extend(reference.step(&event, ts, pos));
        }
        reference_fits &= reference.pending() <= input.capacity;
        assert!(
            small.pending(0) <= input.capacity,
            "table holds {} pending sequences, capacity {}",
            small.pending(0),
            input.capacity
        );
        assert_eq!(
            got_large, want,
            "generated state machine vs reference, after event {i}"
        );
    }
    // `untimed` counts the events that satisfied a stage (or `until`) but
    // carried no usable timestamp.
    let untimed = input
        .events
        .iter()
        .filter(|e| {
            e.ts.is_none() && {
                let event = JsonEvent::parse_str(&e.json).expect("generated JSON parses");
                stage_conditions().iter().any(|c| c.matches(&event))
            }
        })
        .count() as u64;
    assert_eq!(
        large.untimed(),
        untimed,
        "events satisfying a stage without a usable timestamp"
    );
    // The small table's completions are a subsequence of the reference's.
    let mut rest = want.iter();
    for done in &got_small {
        assert!(
            rest.any(|w| w == done),
            "the small table completed {done:?}, which the reference did not (in that order)"
        );
    }
    if reference_fits {
        assert_eq!(
            got_small, want,
            "small table while capacity was never exceeded"
        );
    }
    let stats = small.stats(0);
    assert_eq!(stats.completed as usize, got_small.len());

    // The endgame twin, over the events that have a time.
    let twin = EndgameTwin::ir().sequences.remove(0);
    let mut reference = ReferenceMatcher::for_sequence(&twin).expect("the twin loads");
    let mut state = EndgameTwin::sequences(4 * input.events.len() + 4);
    let (mut want, mut got) = (Vec::new(), Vec::new());
    for (i, e) in input.events.iter().enumerate() {
        let Some(ts) = e.ts else { continue };
        event
            .parse(e.endgame_json.as_bytes())
            .expect("generated JSON parses");
        let pos = i as u64;
        state.step_at(&event, ts, pos, |_, p| got.push(p.to_vec()));
        want.extend(reference.step(&event, ts, pos));
        assert_eq!(
            got, want,
            "endgame twin: generated state machine vs reference, after event {i}"
        );
    }
});
