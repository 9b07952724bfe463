//! The generated rule sets against the reference interpreter on the real
//! events of `../shared/data/events/windows-samples.ndjson`: keeps the
//! generator (and the macro on its output) honest. Only the 10- and 100-rule
//! sets: larger ones are slow to build and to interpret in debug mode.

use std::sync::OnceLock;

use detect::CompiledRuleSet;
use detect::interpreter::Interpreter;
use detect_benches::{Corpus, Gen10, Gen100};

/// The real events, parsed once for all tests. Panics when `../shared/data`
/// is absent: the tests that call it are ignored unless asked for.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        detect_test_support::shared_data("events/windows-samples.ndjson");
        Corpus::load()
    })
}

/// Checks `scan`, `scan_unfiltered` and the interpreter agree on every event;
/// returns (events with a match, total matches).
fn agree<R: CompiledRuleSet>(corpus: &Corpus) -> (usize, usize) {
    let interpreter = Interpreter::new(&R::ir()).expect("generated IR loads");
    let (mut events, mut total) = (0, 0);
    for (i, event) in corpus.events.iter().enumerate() {
        let mut generated = Vec::new();
        R::scan(event, |r| generated.push(r.index));
        let mut unfiltered = Vec::new();
        R::scan_unfiltered(event, |r| unfiltered.push(r.index));
        let interpreted = interpreter.matches(event);
        assert_eq!(
            generated,
            interpreted,
            "{}:{}: scan vs interpreter",
            corpus.source,
            i + 1
        );
        assert_eq!(
            unfiltered,
            interpreted,
            "{}:{}: scan_unfiltered vs interpreter",
            corpus.source,
            i + 1
        );
        events += usize::from(!generated.is_empty());
        total += generated.len();
    }
    (events, total)
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn gen10_agrees_with_the_interpreter_on_real_events() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 14_646);
    agree::<Gen10>(corpus);
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn gen100_agrees_with_the_interpreter_on_real_events() {
    let corpus = corpus();
    let (events, matches) = agree::<Gen100>(corpus);
    // The generator's intent: rules rarely fire on real data, but some do.
    eprintln!(
        "Gen100: {matches} matches on {events} of {} events",
        corpus.len()
    );
    assert!(events > 0, "no generated rule fires on real data");
    assert!(
        events * 20 < corpus.len(),
        "generated rules fire on {events} of {} events (more than 5%)",
        corpus.len()
    );
}

#[test]
fn each_set_starts_with_the_rules_of_the_smaller_one() {
    let (small, large) = (Gen10::ir(), Gen100::ir());
    assert_eq!(small.rules.len(), 10);
    assert_eq!(large.rules.len(), 100);
    assert_eq!(small.rules[..], large.rules[..10]);
}

#[test]
fn the_synthetic_fallback_parses_and_agrees() {
    let corpus = Corpus::synthetic();
    assert_eq!(corpus.len(), 1000);
    assert!(!corpus.real);
    agree::<Gen100>(&corpus);
}
