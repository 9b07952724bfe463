//! End-to-end tests of the rule packs of `detect scan` and `detect rules`:
//! Sigma YAML loaded at run time (`--sigma`, the run-time engine),
//! pipelines (`--pipeline`), unsupported and invalid rules, and `--pack`.
//!
//! The run-time path is checked against the same YAML compiled by
//! `sigma_rules!` (`detect_sigmahq::Seeds`): generated code and the rules
//! compiled at run time must report the same (line, rule) pairs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use detect::JsonEvent;
use detect_sigmahq::Seeds;
use detect_test_support::shared_data_str;

const BIN: &str = env!("CARGO_BIN_EXE_detect");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const EXAMPLE: &str = "examples/events.ndjson";
const MALFORMED_EXAMPLE: &str = "examples/malformed.ndjson";
/// The Sigma seed rules (YAML), also compiled into `detect_sigmahq::Seeds`.
const SEED_YAML: &str = "crates/detect-sigmahq/rules";
/// Under `../shared/data`.
const WINDOWS_SAMPLES: &str = "events/windows-samples.ndjson";

fn detect(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(WORKSPACE)
        // The table's width and colours are not the test runner's.
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .output()
        .expect("the detect binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// (line, rule) of every match of a `--format jsonl` run.
fn hits(o: &Output) -> Vec<(u64, String)> {
    stdout(o)
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            (
                v["line"].as_u64().unwrap_or_else(|| panic!("no line: {v}")),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A fresh directory in the temp directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("detect-cli-sigma-{}-{n}-{tag}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `name` in the directory; returns its path as a string.
    fn file(&self, name: &str, contents: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// (line, rule) pairs the compiled seeds report on the NDJSON file `path`.
fn compiled_seed_hits(path: &Path) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut event = JsonEvent::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || event.parse(line.as_bytes()).is_err() {
            continue;
        }
        Seeds::scan(&event, |r| out.push((i as u64 + 1, r.name.to_string())));
    }
    out
}

#[test]
fn sigma_yaml_compiled_at_run_time_agrees_with_the_compiled_rules() {
    let out = detect(&["scan", "--sigma", SEED_YAML, "-f", "jsonl", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = hits(&out);
    let want = compiled_seed_hits(&Path::new(WORKSPACE).join(EXAMPLE));
    assert!(
        !want.is_empty(),
        "the example file exercises the seed rules"
    );
    assert_eq!(got, want);
    // The summary counts per rule.
    let err = stderr(&out);
    assert!(
        err.contains("(net_connection_win_msiexec_http [low]: 5)"),
        "{err}"
    );
    // A malformed line is reported as with the built-in pack.
    let out = detect(&[
        "scan",
        "--sigma",
        SEED_YAML,
        "-f",
        "jsonl",
        MALFORMED_EXAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("detect: examples/malformed.ndjson:2: not a valid JSON object"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn sigma_yaml_on_the_real_events_agrees_with_the_compiled_rules() {
    let samples = shared_data_str(WINDOWS_SAMPLES);
    let out = detect(&["scan", "-q", "--sigma", SEED_YAML, "-f", "jsonl", &samples]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), compiled_seed_hits(Path::new(&samples)));
}

#[test]
fn table_filters_and_rules_listing_work_on_sigma_packs() {
    // Table output with the summary; the rule names are the YAML's.
    let out = detect(&["scan", "--sigma", SEED_YAML, EXAMPLE]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("TIME "), "{text}");
    assert!(text.contains("Matches per rule"), "{text}");
    // Rows show the title, the summary the title and the YAML's name.
    assert!(
        text.contains(" Msiexec.EXE Initiated Network Connectio"),
        "{text}"
    );
    assert!(
        text.contains(" (net_connection_win_msiexec_http)\n"),
        "{text}"
    );

    // --rule takes the pack's names; a built-in name is unknown here.
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--sigma",
        SEED_YAML,
        "--rule",
        "net_connection_win_msiexec_http",
        EXAMPLE,
    ]);
    let rules: Vec<String> = hits(&out).into_iter().map(|(_, r)| r).collect();
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|r| r == "net_connection_win_msiexec_http"));
    let out = detect(&[
        "scan",
        "--sigma",
        SEED_YAML,
        "--rule",
        "msi_install_from_web",
        EXAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--rule `msi_install_from_web` matches no rule name"),
        "{}",
        stderr(&out)
    );
    // --min-level: the network rule is `low`, the only one that fires here.
    for (level, n) in [("low", 5), ("medium", 0)] {
        let out = detect(&[
            "scan",
            "-f",
            "jsonl",
            "--sigma",
            SEED_YAML,
            "--min-level",
            level,
            EXAMPLE,
        ]);
        assert_eq!(hits(&out).len(), n, "{level}");
    }

    // `detect rules --sigma` lists the loaded rules.
    let out = detect(&["rules", "--sigma", SEED_YAML]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("net_connection_win_msiexec_http ")
                && l.contains("8e5e38e4-5350-4c0b-895a-e872ce0dd54f")
                && l.contains("windows/network_connection")),
        "{text}"
    );
}

const GOOD: &str = "title: Curl\nlogsource: {product: windows, category: process_creation}\n\
detection:\n  sel: {Image|endswith: '\\curl.exe'}\n  condition: sel\nlevel: high\n";

const CURL: &str = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\curl.exe"}"#;

#[test]
fn unsupported_rules_are_skipped_and_listed_or_an_error_with_sigma_strict() {
    let dir = TempDir::new("unsupported");
    dir.file("a_good.yml", GOOD);
    dir.file(
        "b_correlation.yml",
        "title: Many\ncorrelation:\n  type: temporal_ordered\n  rules: [x]\n  timespan: 1h\n  \
         condition: {gte: 2}\n",
    );
    dir.file(
        "c_linux.yml",
        "title: L\nlogsource: {product: linux, category: process_creation}\n\
         detection:\n  sel: {Image: a}\n  condition: sel\n",
    );
    let events = dir.file("events.ndjson", &format!("{CURL}\n"));
    let out = detect(&["scan", "-f", "jsonl", "--sigma", dir.path(), &events]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), [(1, "a_good".to_string())]);
    let err = stderr(&out);
    let skipped: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("detect: skipped unsupported Sigma rule "))
        .collect();
    assert_eq!(skipped.len(), 2, "{err}");
    assert!(
        skipped[0].contains("b_correlation.yml") && skipped[0].contains("takes no condition"),
        "{err}"
    );
    assert!(
        skipped[1].contains("c_linux.yml:2:")
            && skipped[1].contains("log source product `linux` is not supported"),
        "{err}"
    );
    assert!(
        err.contains(
            "detect: 2 Sigma rule files skipped as unsupported (--sigma-strict makes this an error)"
        ),
        "{err}"
    );

    let out = detect(&["scan", "--sigma-strict", "--sigma", dir.path(), &events]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.lines().all(|l| l.starts_with("detect: ")), "{err}");
    assert!(err.contains("takes no condition"), "{err}");
}

/// Correlation rules and a meta-filter loaded with `--sigma`: the
/// correlations are reported with their events, group and value; the rules
/// a `generate: false` correlation reads are not reported on their own.
#[test]
fn sigma_correlations_and_filters_run_at_run_time() {
    let dir = TempDir::new("correlation");
    let lines: Vec<String> = [
        ("10:00:00", 4625, "bob"),
        ("10:00:01", 4625, "svc_backup"),
        ("10:01:00", 4625, "bob"),
        ("10:01:01", 4625, "svc_backup"),
        ("10:01:02", 4625, "svc_backup"),
        ("10:02:00", 4625, "bob"),
        ("10:03:00", 4624, "bob"),
    ]
    .iter()
    .map(|(time, id, user)| {
        serde_json::json!({"Channel": "Security", "EventID": id,
            "TimeCreated": format!("2024-05-01T{time}Z"), "TargetUserName": user})
        .to_string()
    })
    .collect();
    let events = dir.file("events.ndjson", &(lines.join("\n") + "\n"));
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--sigma",
        "tests/fixtures/correlation",
        &events,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(String, Option<u64>, serde_json::Value)> = rows
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().to_string(),
                v["line"].as_u64(),
                v["lines"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "repeated_failures".to_string(),
                None,
                serde_json::json!([1, 3, 6])
            ),
            (
                "logon_succeeded".to_string(),
                Some(7),
                serde_json::Value::Null
            ),
            (
                "mr_guessed_password".to_string(),
                None,
                serde_json::json!([6, 7])
            ),
        ]
    );
    assert_eq!(
        rows[2]["correlation"],
        "Password guessed after repeated failures: value 2 over 2 events, group bob"
    );
    assert_eq!(rows[2]["level"], "high");
}

#[test]
fn invalid_rules_and_bad_paths_are_errors() {
    let dir = TempDir::new("invalid");
    dir.file("good.yml", GOOD);
    dir.file(
        "typo.yml",
        "title: T\nlogsource: {product: windows}\ndetection:\n  sel: {Image|endwith: a}\n  condition: sel\n",
    );
    let out = detect(&["scan", "--sigma", dir.path(), EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with("detect: ")
            && err.contains("typo.yml:4:")
            && err.contains("did you mean `endswith`?"),
        "{err}"
    );

    let out = detect(&["scan", "--sigma", "no/such/rules", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/rules: no such file or directory"),
        "{}",
        stderr(&out)
    );

    let empty = TempDir::new("empty");
    let out = detect(&["scan", "--sigma", empty.path(), EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no Sigma rule to run"),
        "{}",
        stderr(&out)
    );

    // Usage errors.
    let out = detect(&["scan", "--pipeline", "p.yml", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--sigma"), "{}", stderr(&out));
    let out = detect(&["scan", "--pack", "builtin", "--sigma", SEED_YAML, EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--sigma and --pack choose the rules in two ways"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pipelines_map_fields_and_log_sources_at_run_time() {
    let dir = TempDir::new("pipeline");
    let rules = dir.file(
        "rule.yml",
        "title: Curl\nlogsource: {product: windows, category: process_creation}\n\
         detection:\n  sel: {Image|endswith: '\\curl.exe', User: bob}\n  condition: sel\n",
    );
    let pipeline = dir.file(
        "acme.yml",
        "name: acme\nfield_mappings: {User: user}\nlogsources:\n  - match: {category: process_creation}\n\
         \x20\x20\x20\x20conditions: {Channel: ACME/Process}\n    field_mappings: {Image: exe}\n",
    );
    let events = dir.file(
        "events.ndjson",
        &[
            // ACME's own events: the pipeline's log source and field names.
            r#"{"Channel": "ACME/Process", "exe": "C:\\bin\\curl.exe", "user": "bob"}"#,
            r#"{"Channel": "ACME/Process", "exe": "C:\\bin\\curl.exe", "user": "eve"}"#,
            r#"{"Channel": "ACME/Other", "exe": "C:\\bin\\curl.exe", "user": "bob"}"#,
            // A Sysmon event no longer matches: the log source was replaced.
            r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\bin\\curl.exe", "User": "bob"}"#,
        ]
        .join("\n"),
    );
    let out = detect(&["scan", "-f", "jsonl", "--sigma", &rules, &events]);
    assert_eq!(
        hits(&out),
        [(4, "rule".to_string())],
        "without the pipeline"
    );
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--sigma",
        &rules,
        "--pipeline",
        &pipeline,
        &events,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), [(1, "rule".to_string())]);

    // A pipeline can give meaning to a log source detect does not know.
    let custom = dir.file(
        "custom.yml",
        "title: C\nlogsource: {product: acme, category: login}\n\
         detection:\n  sel: {user: root}\n  condition: sel\n",
    );
    let login = dir.file(
        "login.yml",
        "logsources:\n  - match: {product: acme, category: login}\n    conditions: {Channel: ACME/Login}\n",
    );
    let events = dir.file(
        "logins.ndjson",
        "{\"Channel\": \"ACME/Login\", \"user\": \"root\"}\n{\"Channel\": \"ACME/Process\", \"user\": \"root\"}\n",
    );
    let out = detect(&["scan", "-f", "jsonl", "--sigma", &custom, &events]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unknown product without the pipeline"
    );
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--sigma",
        &custom,
        "--pipeline",
        &login,
        &events,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), [(1, "custom".to_string())]);

    // A broken pipeline is an error naming its file and line.
    let bad = dir.file("bad.yml", "logsources:\n  - match: {categry: x}\n");
    let out = detect(&["scan", "--sigma", &rules, "--pipeline", &bad, &events]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.yml:2:") && err.contains("did you mean `category`?"),
        "{err}"
    );
    let out = detect(&["scan", "--sigma", &rules, "--pipeline", "nope.yml", &events]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the pipeline nope.yml"));
}

#[cfg(not(feature = "sigmahq"))]
#[test]
fn sigmahq_pack_needs_the_feature() {
    for args in [
        &["scan", "--pack", "sigmahq", EXAMPLE][..],
        &["rules", "--pack", "sigmahq"][..],
    ] {
        let out = detect(args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.starts_with("detect: this detect was built without the SigmaHQ pack; rebuild it with `cargo build --release -p detect-cli --features sigmahq`"),
            "{err}"
        );
    }
    let out = detect(&["scan", "--pack", "builtin", "-f", "jsonl", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0));
}

/// The compiled SigmaHQ pack: `detect scan --pack sigmahq` reports what
/// the generated code of `detect_sigmahq::SigmaHqWindows` finds on every real
/// event, and the same as the YAML run by the interpreter (`--sigma`) on an
/// evenly spaced quarter of them (the interpreter is slow). Needs
/// `--features sigmahq`; CI runs it in release.
#[cfg(feature = "sigmahq")]
#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn sigmahq_pack_agrees_with_generated_code_and_the_interpreter() {
    use detect_sigmahq::SigmaHqWindows;
    // The rules the pack was compiled from.
    let corpus = SigmaHqWindows::ROOTS[0];
    let samples = shared_data_str(WINDOWS_SAMPLES);
    let compiled = detect(&["scan", "-q", "--pack", "sigmahq", "-f", "jsonl", &samples]);
    assert_eq!(compiled.status.code(), Some(0), "{}", stderr(&compiled));
    let compiled = hits(&compiled);
    let text = std::fs::read_to_string(&samples).unwrap();
    let mut want = Vec::new();
    let mut event = JsonEvent::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        event.parse(line.as_bytes()).unwrap();
        SigmaHqWindows::scan(&event, |r| want.push((i as u64 + 1, r.name.to_string())));
    }
    let rules: std::collections::BTreeSet<&str> =
        compiled.iter().map(|(_, r)| r.as_str()).collect();
    println!(
        "--pack sigmahq: {} matches of {} rules on windows-samples",
        compiled.len(),
        rules.len()
    );
    assert!(compiled.len() > 100, "the corpus fires on the real events");
    assert_eq!(compiled, want);

    // Every fourth event (blank lines keep the numbering comparable).
    let dir = TempDir::new("quarter");
    let quarter: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i % 4 == 0 { l } else { "" })
        .collect();
    let quarter = dir.file("quarter.ndjson", &quarter.join("\n"));
    let compiled = detect(&["scan", "-q", "--pack", "sigmahq", "-f", "jsonl", &quarter]);
    let interpreted = detect(&["scan", "-q", "--sigma", corpus, "-f", "jsonl", &quarter]);
    assert_eq!(
        interpreted.status.code(),
        Some(0),
        "{}",
        stderr(&interpreted)
    );
    let (compiled, interpreted) = (hits(&compiled), hits(&interpreted));
    assert!(compiled.len() > 100);
    assert_eq!(compiled, interpreted);

    let out = detect(&["rules", "--pack", "sigmahq"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).lines().count(), SigmaHqWindows::LEN + 1);
}

/// A Sigma rule on Windows Defender's data, written as SigmaHQ writes it
/// (`ThreatName`, `ProcessName`), read at run time and run on the real
/// Defender EVTX log, whose data names have spaces (`Threat Name`, `Process
/// Name`): it fires on the PowerSploit detections (1116) and actions (1117)
/// in powershell.exe, in the evtx layout.
#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn sigma_rules_read_defender_names_with_spaces_in_evtx() {
    let log = shared_data_str(
        "evtx/EVTX-ATTACK-SAMPLES/AutomatedTestingTools/\
         WinDefender_Events_1117_1116_AtomicRedTeam.evtx",
    );
    let dir = TempDir::new("defender");
    let rule = dir.file(
        "powersploit.yml",
        "title: PowerSploit in PowerShell\nlogsource: {product: windows, service: windefend}\n\
         detection:\n  selection:\n    EventID: [1116, 1117]\n    ThreatName|contains: Powersploit\n\
         \x20   ProcessName|endswith: '\\powershell.exe'\n  condition: selection\n",
    );
    let out = detect(&["scan", "-q", "--sigma", &rule, "-f", "jsonl", &log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hits: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(
        hits.iter()
            .all(|h| h["rule"] == "powersploit" && h["layout"] == "evtx"),
        "{hits:?}"
    );
}
