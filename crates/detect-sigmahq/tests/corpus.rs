//! The SigmaHQ windows corpus compiled by `sigma_rules!` (feature `corpus`):
//! generated code (routed + prefiltered, and unfiltered), the run-time rule
//! set (the macro's IR and the same folder loaded by `detect_sigma::load_dir`,
//! both through `RuntimeRuleSet`) and the reference interpreter agree on
//! every event of `../shared/data/events/windows-samples.ndjson` and of the
//! regression samples, and the regression tests pass.
#![cfg(feature = "corpus")]

use std::collections::BTreeMap;
use std::path::Path;

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect_sigma::LoadOptions;
use detect_sigmahq::SigmaHqWindows;
use detect_test_support::shared_data;
use detect_tests::{SIGMAHQ_REGRESSION_KNOWN, SIGMAHQ_UNSUPPORTED, json_documents};

/// Rules the corpus must compile; raise it when support grows.
const FLOOR: usize = 2393;

/// The engines the generated code is checked against: the reference
/// interpreter, the macro's IR compiled at run time, and the same folder
/// loaded from YAML at run time.
struct Oracles {
    interpreter: Interpreter,
    from_ir: RuntimeRuleSet,
    from_yaml: RuntimeRuleSet,
}

impl Oracles {
    fn new() -> Oracles {
        let ir = SigmaHqWindows::ir();
        let interpreter = Interpreter::new(&ir).expect("IR loads");
        let from_ir = RuntimeRuleSet::compile(ir).expect("IR compiles at run time");
        let dir = shared_data("sigma").join("rules/windows");
        let (set, failures) = detect_sigma::load_dir(&dir, &LoadOptions::default());
        // `load_dir` skips and lists what the macro skips.
        assert_eq!(
            failures.len(),
            SigmaHqWindows::SKIPPED.len(),
            "load_dir of {}: {failures:?}",
            dir.display()
        );
        assert_eq!(set.rules.len(), SigmaHqWindows::LEN);
        let from_yaml = RuntimeRuleSet::compile(set).expect("the YAML compiles at run time");
        from_yaml.warm_up();
        from_ir.warm_up();
        Oracles {
            interpreter,
            from_ir,
            from_yaml,
        }
    }
}

/// Names of what `set` matches in `event`, sorted (`load_dir` may order the
/// rules differently from the macro).
fn run_time_names(set: &RuntimeRuleSet, event: &JsonEvent) -> Vec<String> {
    let mut names = Vec::new();
    set.scan(event, |r| names.push(set.rule(r).name.clone()));
    let mut unfiltered = Vec::new();
    set.scan_unfiltered(event, |r| unfiltered.push(set.rule(r).name.clone()));
    assert_eq!(names, unfiltered, "run-time prefiltered vs unfiltered");
    names.sort_unstable();
    names
}

fn check_event(oracles: &Oracles, event: &JsonEvent, what: &str) -> Vec<usize> {
    let mut generated = Vec::new();
    SigmaHqWindows::scan(event, |r| generated.push(r.index));
    let mut unfiltered = Vec::new();
    SigmaHqWindows::scan_unfiltered(event, |r| unfiltered.push(r.index));
    assert_eq!(generated, unfiltered, "{what}: prefiltered vs unfiltered");
    assert_eq!(
        generated,
        oracles.interpreter.matches(event),
        "{what}: generated vs interpreter"
    );
    let mut from_ir = Vec::new();
    oracles.from_ir.scan(event, |r| from_ir.push(r));
    assert_eq!(
        generated, from_ir,
        "{what}: generated vs run-time (macro IR)"
    );
    let mut names: Vec<String> = generated
        .iter()
        .map(|&r| SigmaHqWindows::RULES[r].name.to_string())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        run_time_names(&oracles.from_ir, event),
        "{what}: generated vs run-time unfiltered (macro IR)"
    );
    assert_eq!(
        names,
        run_time_names(&oracles.from_yaml, event),
        "{what}: generated vs run-time (load_dir)"
    );
    generated
}

#[test]
fn corpus_compiles_and_lists_what_it_skips() {
    println!(
        "SigmaHqWindows: {} rules compiled, {} files skipped",
        SigmaHqWindows::LEN,
        SigmaHqWindows::SKIPPED.len()
    );
    for (path, why) in SigmaHqWindows::SKIPPED {
        println!("  skipped {path}: {why}");
    }
    assert!(
        SigmaHqWindows::LEN >= FLOOR,
        "{} < {FLOOR}",
        SigmaHqWindows::LEN
    );
    assert_eq!(SigmaHqWindows::SOURCES.len(), SigmaHqWindows::LEN);
    // Exactly the documented rules are skipped, for the documented reason.
    assert_eq!(SigmaHqWindows::SKIPPED.len(), SIGMAHQ_UNSUPPORTED.len());
    for (path, why) in SigmaHqWindows::SKIPPED {
        assert!(
            SIGMAHQ_UNSUPPORTED
                .iter()
                .any(|(doc, _)| path.ends_with(&format!("/windows/{doc}"))),
            "{path} is skipped ({why}) but not in detect_tests::SIGMAHQ_UNSUPPORTED"
        );
        assert!(
            why.contains("ETW provider Microsoft-Windows-Kernel-File"),
            "{path}: {why}"
        );
    }
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn corpus_generated_equals_interpreter_on_real_events() {
    let path = shared_data("events/windows-samples.ndjson");
    let oracles = Oracles::new();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut event = JsonEvent::new();
    let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
    let mut events = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        event.parse(line.as_bytes()).unwrap();
        events += 1;
        for r in check_event(&oracles, &event, &format!("{}:{}", path.display(), i + 1)) {
            *per_rule.entry(r).or_default() += 1;
        }
    }
    let mut counts: Vec<(usize, usize)> = per_rule.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    println!("{events} events, {} rules fired", counts.len());
    for (r, n) in &counts {
        println!("  {n:6} {}", SigmaHqWindows::RULES[*r].name);
    }
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn corpus_regression_samples() {
    let sigma = shared_data("sigma");
    let oracles = Oracles::new();
    let index = std::fs::read_to_string(sigma.join("regression-index.jsonl")).unwrap();
    let (mut total, mut passed) = (0, 0);
    let mut failed = Vec::new();
    for line in index.lines().filter(|l| !l.trim().is_empty()) {
        total += 1;
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let rule_path = row["rule_path"].as_str().unwrap();
        let sample = row["sample_path"].as_str().unwrap();
        let rules: Vec<usize> = (0..SigmaHqWindows::LEN)
            .filter(|i| Path::new(SigmaHqWindows::SOURCES[*i]).ends_with(rule_path))
            .collect();
        if rules.is_empty() {
            failed.push((rule_path.to_string(), "not compiled".to_string()));
            continue;
        }
        let json = sigma
            .join("regression")
            .join(sample.strip_suffix(".evtx").unwrap_or(sample).to_string() + ".json");
        let docs = json_documents(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let mut event = JsonEvent::new();
        let mut count = 0;
        for (d, doc) in docs.iter().enumerate() {
            event.parse(doc.as_bytes()).unwrap();
            let hits = check_event(&oracles, &event, &format!("{}#{d}", json.display()));
            count += usize::from(hits.iter().any(|h| rules.contains(h)));
        }
        let ok = match row["expected_match_count"].as_u64() {
            Some(n) => count == n as usize,
            None => count >= 1,
        };
        if ok {
            passed += 1;
        } else {
            failed.push((
                rule_path.to_string(),
                format!("expected {}, got {count}", row["expected_match_count"]),
            ));
        }
    }
    println!("sigma regression (generated code): {passed}/{total} passed");
    for (rule, why) in &failed {
        println!("  {rule}: {why}");
    }
    // Exactly the documented failures (detect_tests::SIGMAHQ_REGRESSION_KNOWN).
    let mut failed: Vec<&str> = failed.iter().map(|(r, _)| r.as_str()).collect();
    failed.sort_unstable();
    let mut known: Vec<&str> = SIGMAHQ_REGRESSION_KNOWN.iter().map(|(r, _)| *r).collect();
    known.sort_unstable();
    assert_eq!(
        failed, known,
        "regression failures differ from the documented ones"
    );
    assert_eq!(passed, total - known.len());
}
