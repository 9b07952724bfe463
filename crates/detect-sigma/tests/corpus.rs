//! The SigmaHQ windows corpus (`../shared/data/sigma/rules/windows`) loaded at
//! run time: how many rules compile, every failure with its reason, and the
//! interpreter accepts all of them.

use std::collections::BTreeMap;

use detect_core::interpreter::Interpreter;
use detect_sigma::{ErrorKind, LoadOptions, load_dir};
use detect_test_support::shared_data;
use detect_tests::SIGMAHQ_UNSUPPORTED;

/// Rules of the windows corpus that must load; raise it when support grows.
const FLOOR: usize = 2300;

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn windows_corpus_loads() {
    let dir = shared_data("sigma/rules/windows");
    let files = detect_sigma::rule_files(&dir).unwrap();
    let (set, failures) = load_dir(&dir, &LoadOptions::default());
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, e) in &failures {
        let reason = reason_group(&e.message);
        groups
            .entry(format!("{:?}: {reason}", e.kind))
            .or_default()
            .push(format!(
                "{}: {e}",
                path.strip_prefix(&dir).unwrap_or(path).display()
            ));
    }
    println!(
        "windows corpus: {} files, {} rules loaded, {} files failed",
        files.len(),
        set.rules.len(),
        failures.len()
    );
    for (g, list) in &groups {
        println!("  {} x {g}", list.len());
        for l in list {
            println!("      {l}");
        }
    }
    let interp = Interpreter::new(&set).expect("every loaded rule is interpretable");
    assert_eq!(interp.len(), set.rules.len());
    assert!(
        failures
            .iter()
            .all(|(_, e)| e.kind != ErrorKind::Io && e.kind != ErrorKind::Yaml),
        "I/O or YAML errors"
    );
    // Exactly the documented files fail, each as unsupported, for the
    // documented reason.
    let mut failed: Vec<String> = failures
        .iter()
        .map(|(p, _)| {
            p.strip_prefix(&dir)
                .unwrap_or(p)
                .display()
                .to_string()
                .replace('\\', "/")
        })
        .collect();
    failed.sort();
    let mut documented: Vec<String> = SIGMAHQ_UNSUPPORTED
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    documented.sort();
    assert_eq!(
        failed, documented,
        "detect_tests::SIGMAHQ_UNSUPPORTED is out of date"
    );
    for (_, e) in &failures {
        assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
        assert!(
            e.message
                .contains("ETW provider Microsoft-Windows-Kernel-File"),
            "{e}"
        );
    }
    assert!(
        set.rules.len() >= FLOOR,
        "only {} rules load (floor {FLOOR})",
        set.rules.len()
    );
}

/// The failure's reason without rule-specific details, to group failures.
pub fn reason_group(message: &str) -> String {
    let m = message.split_once("`: ").map_or(message, |(_, rest)| rest);
    let cut = m.find([';', '\n']).unwrap_or(m.len()).min(90);
    m[..m.floor_char_boundary(cut)].to_string()
}
