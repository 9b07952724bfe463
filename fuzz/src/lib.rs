//! # detect-fuzz
//!
//! Support code of detect's cargo-fuzz targets (`fuzz_targets/`, see
//! `README.md`): structured inputs built with `arbitrary` whose `Debug` output
//! is a Rust reproducer, the rules' vocabulary, slow references for the matcher
//! primitives, and the differential checks the targets run.

pub mod event;
pub mod json;
pub mod reference;
pub mod stream;
pub mod vocab;

use std::sync::OnceLock;

use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect::runtime::RuntimeRuleSet;
use detect::{CompiledRuleSet, Event, JsonEvent};
use detect_benches::Gen1000;
use detect_rules::Builtin;
use detect_tests::semantics_rules::Semantics;

detect::rules! {
    /// Seed 003's shape in the endgame dialect, over the flat renderings of
    /// the `sequence` target's events (`StreamEvent::endgame_json`): the
    /// endgame joins (null keys join, keys folded, first of several values,
    /// older events advance) against the reference matcher.
    pub ruleset EndgameTwin;

    sequence msiexec_chain = eql!(dialect = endgame, r#"
        sequence with maxspan=1m
          [process where event_action == "start" and process_name == "msiexec.exe"] by unique_pid
          [network where event_action == "connection_attempted"] by unique_pid
          [process where event_action == "start"] by unique_ppid
    "#);
}

/// The rules' vocabulary: the built-in pack, the semantics table's rules and
/// the 1,000 generated rules.
pub fn vocab() -> &'static vocab::Vocab {
    static V: OnceLock<vocab::Vocab> = OnceLock::new();
    V.get_or_init(|| vocab::Vocab::of(&[Builtin::ir(), Semantics::ir(), Gen1000::ir()]))
}

/// A compiled rule set's reference interpreter, and the same IR compiled at
/// run time (the third engine the differential compares).
pub struct Oracle {
    interpreter: Interpreter,
    runtime: RuntimeRuleSet,
}

impl Oracle {
    /// The interpreter and the run-time rule set of `ir`.
    pub fn new(ir: &RuleSet) -> Oracle {
        Oracle {
            interpreter: Interpreter::new(ir).expect("the compiled rule set's IR loads"),
            runtime: RuntimeRuleSet::compile(ir.clone())
                .expect("the compiled rule set's IR compiles at run time"),
        }
    }
}

/// The oracles of the three rule sets, built once per process.
pub fn oracles() -> &'static [Oracle; 3] {
    static O: OnceLock<[Oracle; 3]> = OnceLock::new();
    O.get_or_init(|| {
        [
            Oracle::new(&Builtin::ir()),
            Oracle::new(&Semantics::ir()),
            Oracle::new(&Gen1000::ir()),
        ]
    })
}

/// Asserts that `R`'s generated code, prefiltered and unfiltered, the same
/// IR compiled at run time, prefiltered and unfiltered, and the reference
/// interpreter report the same rules for `event`.
pub fn check_set<R: CompiledRuleSet, E: Event + ?Sized>(oracle: &Oracle, event: &E) {
    let mut scanned = Vec::new();
    R::scan(event, |r| scanned.push(r.index));
    let mut unfiltered = Vec::new();
    R::scan_unfiltered(event, |r| unfiltered.push(r.index));
    let interpreted = oracle.interpreter.matches(event);
    let names = |v: &[usize]| v.iter().map(|&i| R::RULES[i].name).collect::<Vec<_>>();
    assert_eq!(
        names(&scanned),
        names(&unfiltered),
        "prefiltered scan vs scan_unfiltered"
    );
    assert_eq!(
        names(&unfiltered),
        names(&interpreted),
        "generated code vs reference interpreter"
    );
    let mut run_time = Vec::new();
    oracle.runtime.scan(event, |i| run_time.push(i));
    assert_eq!(
        names(&run_time),
        names(&interpreted),
        "run-time rule set vs reference interpreter"
    );
    let mut run_time_unfiltered = Vec::new();
    oracle
        .runtime
        .scan_unfiltered(event, |i| run_time_unfiltered.push(i));
    assert_eq!(
        names(&run_time_unfiltered),
        names(&run_time),
        "run-time scan vs run-time scan_unfiltered"
    );
}

/// [`check_set`] for the built-in pack, the semantics rules and, when
/// `generated` is set, the 1,000 generated rules.
pub fn check_all<E: Event + ?Sized>(event: &E, generated: bool) {
    let [builtin, semantics, gen1000] = oracles();
    check_set::<Builtin, E>(builtin, event);
    check_set::<Semantics, E>(semantics, event);
    if generated {
        check_set::<Gen1000, E>(gen1000, event);
    }
}

/// Parses `json` (which the caller generated, so it must parse) and runs
/// [`check_all`] with and without `layout_override`.
pub fn check_json(json: &str, layout_override: Option<detect::Layout>, generated: bool) {
    let mut event = JsonEvent::new();
    if let Err(e) = event.parse(json.as_bytes()) {
        panic!("generated JSON does not parse: {e}: {json}");
    }
    check_all(&event, generated);
    if layout_override.is_some() {
        event.set_layout_override(layout_override);
        check_all(&event, generated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::Unstructured;

    /// The event generator reaches the rules: over pseudo-random inputs, a
    /// good share of events fire some rule of each set (a differential over
    /// events no rule looks at would prove little).
    #[test]
    fn generated_events_fire_rules() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut fired = [0usize; 3];
        let n = 3_000;
        for _ in 0..n {
            let bytes: Vec<u8> = (0..256)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let input = event::event_input(&mut Unstructured::new(&bytes), vocab()).unwrap();
            let event = JsonEvent::parse_str(&input.json).unwrap();
            let mut hit = |i: usize, any: bool| fired[i] += usize::from(any);
            let mut any = false;
            Builtin::scan(&event, |_| any = true);
            hit(0, any);
            any = false;
            Semantics::scan(&event, |_| any = true);
            hit(1, any);
            any = false;
            Gen1000::scan(&event, |_| any = true);
            hit(2, any);
        }
        eprintln!(
            "events firing a rule, of {n}: Builtin {}, Semantics {}, Gen1000 {}",
            fired[0], fired[1], fired[2]
        );
        assert!(
            fired[0] > n / 100,
            "the built-in rules fire on {} events",
            fired[0]
        );
        assert!(
            fired[1] > n / 10,
            "the semantics rules fire on {} events",
            fired[1]
        );
        assert!(
            fired[2] > n / 100,
            "the generated rules fire on {} events",
            fired[2]
        );
    }
}
