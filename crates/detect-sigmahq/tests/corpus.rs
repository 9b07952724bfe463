//! The SigmaHQ windows corpus compiled by `sigma_rules!` (feature `corpus`):
//! generated code (routed + prefiltered, and unfiltered) and the reference
//! interpreter agree on every event of `../shared/data/events/windows-samples.ndjson`
//! and of the regression samples, and the regression tests pass.
#![cfg(feature = "corpus")]

use std::collections::BTreeMap;
use std::path::Path;

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect_sigmahq::SigmaHqWindows;
use detect_tests::{SIGMAHQ_REGRESSION_KNOWN, SIGMAHQ_UNSUPPORTED, json_documents, shared_data};

/// Rules the corpus must compile; raise it when support grows.
const FLOOR: usize = 2393;

fn check_event(interp: &Interpreter, event: &JsonEvent, what: &str) -> Vec<usize> {
    let mut generated = Vec::new();
    SigmaHqWindows::scan(event, |r| generated.push(r.index));
    let mut unfiltered = Vec::new();
    SigmaHqWindows::scan_unfiltered(event, |r| unfiltered.push(r.index));
    assert_eq!(generated, unfiltered, "{what}: prefiltered vs unfiltered");
    assert_eq!(
        generated,
        interp.matches(event),
        "{what}: generated vs interpreter"
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
    let interp = Interpreter::new(&SigmaHqWindows::ir()).expect("IR loads");
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
        for r in check_event(&interp, &event, &format!("{}:{}", path.display(), i + 1)) {
            *per_rule.entry(r).or_default() += 1;
        }
    }
    let mut counts: Vec<(usize, usize)> = per_rule.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1));
    println!("{events} events, {} rules fired", counts.len());
    for (r, n) in &counts {
        println!("  {n:6} {}", SigmaHqWindows::RULES[*r].name);
    }
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn corpus_regression_samples() {
    let sigma = shared_data("sigma");
    let interp = Interpreter::new(&SigmaHqWindows::ir()).expect("IR loads");
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
            let hits = check_event(&interp, &event, &format!("{}#{d}", json.display()));
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
