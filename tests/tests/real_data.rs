//! The built-in rules and the semantics table's rules over real events from
//! `../shared/data`: generated code (with and without the prefilter and log
//! source routing), the same IR compiled at run time and the interpreter
//! must agree on every event,
//! and the built-in rules must fire exactly on the known real positive.

use std::path::Path;

use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect::{CompiledRuleSet, JsonEvent};
use detect_rules::Builtin;
use detect_test_support::shared_data;
use detect_tests::json_documents;

use detect_tests::semantics_rules::Semantics;

/// Runs `R`, its interpreter and its IR compiled at run time over every line; returns (line number, rule name) matches.
fn differential<R: CompiledRuleSet>(path: &Path) -> (usize, Vec<(usize, &'static str)>) {
    let interp = Interpreter::new(&R::ir()).expect("IR loads");
    let run_time = RuntimeRuleSet::compile(R::ir()).expect("IR compiles at run time");
    let text = std::fs::read_to_string(path).expect("readable");
    let mut event = JsonEvent::new();
    let mut matches = Vec::new();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        event
            .parse(line.as_bytes())
            .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        count += 1;
        let mut generated = Vec::new();
        R::scan(&event, |r| generated.push(r.index));
        let mut unfiltered = Vec::new();
        R::scan_unfiltered(&event, |r| unfiltered.push(r.index));
        assert_eq!(
            generated,
            unfiltered,
            "{}:{}: prefiltered vs unfiltered",
            path.display(),
            i + 1
        );
        let interpreted = interp.matches(&event);
        assert_eq!(
            generated,
            interpreted,
            "{}:{}: generated vs interpreter",
            path.display(),
            i + 1
        );
        let mut run_time_verdicts = Vec::new();
        run_time.scan(&event, |r| run_time_verdicts.push(r));
        assert_eq!(
            generated,
            run_time_verdicts,
            "{}:{}: generated vs run-time rule set",
            path.display(),
            i + 1
        );
        matches.extend(generated.into_iter().map(|r| (i + 1, R::RULES[r].name)));
    }
    (count, matches)
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn builtin_rules_fire_only_on_the_real_msiexec_url_install() {
    let path = shared_data("events/windows-samples.ndjson");
    let (count, matches) = differential::<Builtin>(&path);
    assert_eq!(
        count, 14_646,
        "every event of windows-samples.ndjson is scanned"
    );
    assert_eq!(
        matches.len(),
        1,
        "exactly one real positive, got {matches:?}"
    );
    let (line, rule) = matches[0];
    assert_eq!(rule, "msi_install_from_web");
    let text = std::fs::read_to_string(&path).unwrap();
    let event = text.lines().nth(line - 1).unwrap();
    assert!(
        event.contains("rogue_msi_url_1040_1042.evtx") && event.contains(r#""EventID": 1040"#),
        "{event}"
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn builtin_rules_on_the_msiexec_related_events() {
    let path = shared_data("events/msiexec-related.ndjson");
    let (count, matches) = differential::<Builtin>(&path);
    assert_eq!(count, 670);
    assert_eq!(
        matches.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        ["msi_install_from_web"]
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn semantics_rules_agree_with_the_interpreter_on_real_events() {
    let path = shared_data("events/windows-samples.ndjson");
    let (_, matches) = differential::<Semantics>(&path);
    // Keyword and wildcard rules do fire on real data; the point is agreement.
    assert!(!matches.is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn evtx_nested_regression_samples_agree_and_do_not_fire_the_builtin_rules() {
    let root = shared_data("sigma/regression");
    let interp_builtin = Interpreter::new(&Builtin::ir()).unwrap();
    let interp_sem = Interpreter::new(&Semantics::ir()).unwrap();
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() > 100,
        "regression samples found: {}",
        files.len()
    );
    let mut events = 0;
    let mut event = JsonEvent::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for doc in json_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display())) {
            event.parse(doc.as_bytes()).unwrap();
            assert_eq!(
                event.layout(),
                detect::Layout::EvtxNested,
                "{}",
                file.display()
            );
            events += 1;
            let mut generated = Vec::new();
            Builtin::scan(&event, |r| generated.push(r.index));
            assert_eq!(
                generated,
                interp_builtin.matches(&event),
                "{}",
                file.display()
            );
            assert!(
                generated.is_empty(),
                "{}: built-in rule fired: {generated:?}",
                file.display()
            );
            let mut sem = Vec::new();
            Semantics::scan(&event, |r| sem.push(r.index));
            assert_eq!(sem, interp_sem.matches(&event), "{}", file.display());
        }
    }
    assert!(events >= files.len());
}

use detect::Event as _;
