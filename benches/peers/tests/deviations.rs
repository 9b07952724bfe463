//! Why the peers disagree with detect on some SigmaHQ rules (see
//! `agreement.rs` and the "Peer engines" section of `BENCHMARKS.md`): each
//! deviation pinned on a minimal rule and event, with detect's verdict (the
//! reference interpreter over the same Sigma YAML) beside the peer's. When a
//! peer changes its behaviour, its test here fails and the report must be
//! revised.

#[path = "../harness/mod.rs"]
mod harness;

use std::sync::Arc;

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use harness::{Peer, Rsigma, SigmaRust, Tau};

/// A windows rule with one selection and condition `condition`.
fn rule(detection: &str, condition: &str) -> String {
    format!(
        "title: t\nlogsource:\n    product: windows\ndetection:\n{detection}    condition: {condition}\n"
    )
}

fn detect(yaml: &str, event: &str) -> bool {
    let rules = detect_sigma::parse_rule_file("t.yml", yaml).expect("detect loads the rule");
    let set = RuleSet {
        rules,
        ..Default::default()
    };
    let interpreter = Interpreter::new(&set).expect("interpretable");
    !interpreter
        .matches(&JsonEvent::parse_str(event).expect("valid JSON"))
        .is_empty()
}

fn peer<P: Peer>(yaml: &str, event: &str) -> bool {
    let ir = detect_sigma::parse_rule_file("t.yml", yaml).expect("detect loads the rule");
    let ir: Vec<&detect::ir::Rule> = ir.iter().collect();
    let rules: Vec<(usize, Arc<P::Rule>)> = P::load(yaml, &ir)
        .expect("the peer loads the file")
        .into_iter()
        .map(|r| Arc::new(r.expect("the peer loads the rule")))
        .enumerate()
        .collect();
    let engine = P::engine(&rules);
    let event = P::parse(event).expect("the peer parses the event");
    let mut out = Vec::new();
    P::eval(&engine, &event, &mut out);
    !out.is_empty()
}

/// Array fields (`Data` of the event log records that have unnamed data): in
/// detect (and rsigma) a field holding an array matches when an element does;
/// sigma-rust never matches `contains` (or any string test) on an array.
/// SigmaHQ's `Data|contains` rules (ESENT, MsiInstaller, MSSQL) need it.
#[test]
fn sigma_rust_does_not_look_into_arrays() {
    let yaml = rule("    sel:\n        Data|contains: 'ntds.dit'\n", "sel");
    let event = r#"{"Data": ["NTDS", "C:\\x\\ntds.dit"]}"#;
    assert!(detect(&yaml, event));
    assert!(peer::<Rsigma>(&yaml, event));
    assert!(!peer::<SigmaRust>(&yaml, event));
}

/// Numbers: a Sigma number matches its decimal text (`PreAuthType: 0`
/// matches the string `"0"` the event log renders); sigma-rust compares a
/// YAML integer only with a JSON number.
#[test]
fn sigma_rust_numbers_do_not_match_their_text() {
    let yaml = rule("    sel:\n        PreAuthType: 0\n", "sel");
    let event = r#"{"PreAuthType": "0"}"#;
    assert!(detect(&yaml, event));
    assert!(peer::<Rsigma>(&yaml, event));
    assert!(!peer::<SigmaRust>(&yaml, event));
}

/// `null`: detect (and rsigma) match `Field: null` when the field is absent
/// or null, which SigmaHQ's `filter_*_null` selections rely on; sigma-rust
/// and tau-engine only when the field is present and null, so
/// `not filter_null` keeps events the rule means to drop (sigma-rust), or
/// the rule never fires on them (tau-engine: see the next test).
#[test]
fn null_on_an_absent_field() {
    let yaml = rule("    sel:\n        ParentImage: null\n", "sel");
    let event = r#"{"Image": "C:\\x.exe"}"#;
    assert!(detect(&yaml, event));
    assert!(peer::<Rsigma>(&yaml, event));
    assert!(!peer::<SigmaRust>(&yaml, event));
    assert!(!peer::<Tau>(&yaml, event));
}

/// `not` over a selection whose field is absent: a selection on a missing
/// field is false in Sigma, so `not` of it is true. tau-engine evaluates a
/// test on an absent field to "missing", and `not missing` to false: the
/// rule does not fire.
#[test]
fn tau_not_of_an_absent_field_is_false() {
    let yaml = rule(
        "    sel:\n        Image|endswith: '\\x.exe'\n    filter:\n        ParentCommandLine|contains: 'y'\n",
        "sel and not filter",
    );
    let event = r#"{"Image": "C:\\x.exe"}"#;
    assert!(detect(&yaml, event));
    assert!(peer::<Rsigma>(&yaml, event));
    assert!(peer::<SigmaRust>(&yaml, event));
    assert!(!peer::<Tau>(&yaml, event));
    // With the field present and not matching, tau agrees.
    let event = r#"{"Image": "C:\\x.exe", "ParentCommandLine": "z"}"#;
    assert!(detect(&yaml, event));
    assert!(peer::<Tau>(&yaml, event));
}
