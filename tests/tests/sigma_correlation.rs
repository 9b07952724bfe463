//! Correlations and a meta-filter through both doors: `sigma_rules!` at
//! build time (`Logons::correlations`) and the same folder loaded at run
//! time (`detect_sigma::load_dir` with the reference interpreter) report the
//! same matches, and the expected ones.

use detect::JsonEvent;
use detect::correlation::CorrelationEngine;
use detect::interpreter::Interpreter;

detect::sigma_rules! {
    /// Failed and successful logons, a chain of two correlations over them,
    /// and a filter (`tests/fixtures/correlation`).
    pub ruleset Logons = "fixtures/correlation";
}

const EVENTS: [(&str, u32, &str); 8] = [
    ("10:00:00", 4625, "bob"),
    ("10:00:01", 4625, "svc_backup"),
    ("10:01:00", 4625, "bob"),
    ("10:01:01", 4625, "svc_backup"),
    ("10:01:02", 4625, "svc_backup"),
    ("10:02:00", 4625, "bob"),
    ("10:03:00", 4624, "bob"),
    ("10:03:30", 4624, "svc_backup"),
];

fn events() -> Vec<JsonEvent> {
    EVENTS
        .iter()
        .map(|(time, id, user)| {
            let line = serde_json::json!({"Channel": "Security", "EventID": id,
                "TimeCreated": format!("2024-05-01T{time}Z"), "TargetUserName": user});
            JsonEvent::parse_str(&line.to_string()).unwrap()
        })
        .collect()
}

type Report = Vec<String>;

/// What a scanner prints: rules reported on their own, then correlations.
fn scan(
    engine: &mut CorrelationEngine,
    names: &[String],
    rule_names: &[String],
    matched: impl Fn(&JsonEvent) -> Vec<usize>,
) -> Report {
    let mut out = Vec::new();
    for (k, event) in events().iter().enumerate() {
        let pos = k as u64 + 1;
        let hits = matched(event);
        for &r in &hits {
            if engine.reports_rule(r) {
                out.push(format!("{pos}: {}", rule_names[r]));
            }
        }
        engine.step(event, pos, &hits, |m| {
            if m.reported {
                out.push(format!(
                    "{pos}: {} {:?} value {} events {:?}",
                    names[m.correlation], m.group, m.value, m.events
                ));
            }
        });
    }
    out
}

#[test]
fn both_doors_report_the_same_correlations() {
    // Build time.
    let mut engine = Logons::correlations(1000);
    let names: Vec<String> = Logons::CORRELATIONS
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    let rule_names: Vec<String> = Logons::RULES.iter().map(|r| r.name.to_string()).collect();
    let built = scan(&mut engine, &names, &rule_names, |e| {
        let mut v = Vec::new();
        Logons::scan(e, |r| v.push(r.index));
        v
    });
    // Run time.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/correlation");
    let (set, failures) = detect_sigma::load_dir(dir.as_ref(), &Default::default());
    assert!(failures.is_empty(), "{failures:?}");
    let interpreter = Interpreter::new(&set).unwrap();
    let mut engine = CorrelationEngine::new(&set.correlations, set.rules.len(), 1000);
    let names: Vec<String> = set.correlations.iter().map(|c| c.name.clone()).collect();
    let rule_names: Vec<String> = set.rules.iter().map(|r| r.name.clone()).collect();
    let loaded = scan(&mut engine, &names, &rule_names, |e| interpreter.matches(e));
    assert_eq!(built, loaded);
    // The failed logons are read by a generate: false correlation (not
    // reported); svc_ accounts are filtered out (no correlation for them);
    // the outer correlation says generate: true, so its inputs (the inner
    // correlation and the successful logons) are reported too.
    assert_eq!(
        built,
        [
            "6: repeated_failures [\"bob\"] value 3 events [1, 3, 6]",
            "7: logon_succeeded",
            "7: mr_guessed_password [\"bob\"] value 2 events [6, 7]",
            "8: logon_succeeded",
        ]
    );
}
