//! End-to-end tests of what `detect scan` reports: snapshots of the table,
//! CSV and JSON lines on a real EVTX sample, one test per rule and time
//! filter, the timeline order of `--sort time`, CSV quoting of hostile
//! command lines, the table's width and colours, and `detect rules` with
//! filters and formats.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_detect");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const EXAMPLE: &str = "examples/events.ndjson";

/// A Metasploit psexec run as the target's System log saw it: a log
/// clearing (104) and a service installed with a command line (7045).
const SERVICE_EVTX: &str =
    "../shared/data/evtx/DeepBlueCLI/metasploit-psexec-native-target-system.evtx";
/// The SigmaHQ rules for the System log.
const SYSTEM_RULES: &str = "../shared/data/sigma/rules/windows/builtin/system";

/// Runs `detect` from the workspace root with `env` set (and COLUMNS and
/// NO_COLOR unset unless given).
fn detect_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(WORKSPACE)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the detect binary runs")
}

fn detect(args: &[&str]) -> Output {
    detect_env(args, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The rule names of a `--format jsonl` run, in output order.
fn rules_of(o: &Output) -> Vec<String> {
    jsonl(o)
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect()
}

/// The distinct rule names of a `--format jsonl` run, sorted.
fn distinct_rules(o: &Output) -> Vec<String> {
    let mut r = rules_of(o);
    r.sort();
    r.dedup();
    r
}

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "detect-cli-output-{}-{n}-{tag}.ndjson",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Fails the test without ../shared (the tests that read it are ignored
/// unless asked for; CI runs them with `--include-ignored`).
fn needs_shared() {
    detect_test_support::shared(SERVICE_EVTX.trim_start_matches("../shared/"));
}

// Snapshots of the three formats on a real EVTX file.

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn snapshot_table_on_real_evtx() {
    needs_shared();
    let out = detect_env(
        &["scan", "-q", "--sigma", SYSTEM_RULES, SERVICE_EVTX],
        &[("COLUMNS", "200")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("table_metasploit_psexec_system", stdout(&out));
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn snapshot_csv_on_real_evtx() {
    needs_shared();
    let out = detect(&[
        "scan",
        "-q",
        "-f",
        "csv",
        "--sigma",
        SYSTEM_RULES,
        SERVICE_EVTX,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // Every row parses back with as many fields as the header.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let width = reader.headers().unwrap().len();
    assert!(reader.records().all(|r| r.unwrap().len() == width));
    insta::assert_snapshot!("csv_metasploit_psexec_system", text);
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn snapshot_jsonl_on_real_evtx() {
    needs_shared();
    let out = detect(&[
        "scan",
        "-q",
        "-f",
        "jsonl",
        "--sigma",
        SYSTEM_RULES,
        SERVICE_EVTX,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("jsonl_metasploit_psexec_system", stdout(&out));
    // The service install's details are its name and image path, and its
    // record is the EventRecordID, not its position in the file.
    let install = jsonl(&out)
        .into_iter()
        .find(|v| v["event_id"] == 7045)
        .expect("a 7045 match");
    assert!(install["details"]["ServiceName"].is_string(), "{install}");
    assert!(install["details"]["ImagePath"].is_string(), "{install}");
    assert_ne!(install["record"], install["position"], "{install}");
}

// One test per rule filter, on the example events and the built-in rules.

#[test]
fn filter_by_tag() {
    let out = detect(&["scan", "-f", "jsonl", "--tag", "ATTACK.T1218.007", EXAMPLE]);
    assert_eq!(distinct_rules(&out), ["msiexec_http_connection"]);
    // A glob; several tags are any of them.
    let out = detect(&["scan", "-f", "jsonl", "--tag", "attack.t1218*", EXAMPLE]);
    assert_eq!(
        distinct_rules(&out),
        ["msi_install_from_web", "msiexec_http_connection"]
    );
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--tag",
        "attack.ta0005",
        "--tag",
        "Tactic: Initial Access",
        EXAMPLE,
    ]);
    assert_eq!(
        distinct_rules(&out),
        ["msi_install_from_web", "msiexec_remote_file_execution"]
    );
}

#[test]
fn filter_by_status() {
    let out = detect(&["scan", "-f", "jsonl", "--status", "experimental", EXAMPLE]);
    assert_eq!(distinct_rules(&out), ["msiexec_web_install"]);
    let out = detect(&["scan", "-f", "jsonl", "--status", "stable", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains(": 0 matches,"), "{}", stderr(&out));
}

#[test]
fn filter_by_id() {
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--id",
        "8e5e38e4-5350-4c0b-895a-e872ce0dd54f",
        EXAMPLE,
    ]);
    assert_eq!(distinct_rules(&out), ["msiexec_http_connection"]);
    let out = detect(&["scan", "--id", "no-such-id", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--id `no-such-id` is the id of no rule"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn filter_by_rule_glob() {
    let out = detect(&["scan", "-f", "jsonl", "--rule", "msiexec_*", EXAMPLE]);
    assert_eq!(
        distinct_rules(&out),
        [
            "msiexec_http_connection",
            "msiexec_remote_file_execution",
            "msiexec_web_install"
        ]
    );
    let out = detect(&["scan", "--rule", "nothing_*", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--rule `nothing_*` matches no rule name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn filter_by_exclude_rule() {
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--exclude-rule",
        "msiexec_*",
        EXAMPLE,
    ]);
    assert_eq!(distinct_rules(&out), ["msi_install_from_web"]);
    // With --rule: included, then excluded.
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--rule",
        "msiexec_*",
        "--exclude-rule",
        "*_install",
        "--exclude-rule",
        "*_execution",
        EXAMPLE,
    ]);
    assert_eq!(distinct_rules(&out), ["msiexec_http_connection"]);
}

/// Milliseconds since the epoch of a JSON-lines object's timestamp.
fn time_of(v: &serde_json::Value) -> i64 {
    detect::__internals::matcher::epoch_millis(v["timestamp"].as_str().unwrap()).unwrap()
}

#[test]
fn filter_by_event_time() {
    let all = jsonl(&detect(&["scan", "-f", "jsonl", EXAMPLE]));
    let from = detect::__internals::matcher::epoch_millis("2024-05-01T10:00:10Z").unwrap();
    let to = detect::__internals::matcher::epoch_millis("2024-05-01T10:00:21Z").unwrap();
    let expected: Vec<&serde_json::Value> = all
        .iter()
        .filter(|v| (from..=to).contains(&time_of(v)))
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < all.len(),
        "the window must cut: {}",
        expected.len()
    );
    let out = detect(&[
        "scan",
        "-f",
        "jsonl",
        "--from",
        "2024-05-01T10:00:10Z",
        "--to",
        "2024-05-01T12:00:21+02:00",
        EXAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = jsonl(&out);
    assert_eq!(got.iter().collect::<Vec<_>>(), expected);
    // The summary counts what was reported.
    assert!(
        stderr(&out).contains(&format!(": {} matches (", expected.len())),
        "{}",
        stderr(&out)
    );
    // Dates: the whole day, or nothing.
    let out = detect(&["scan", "-f", "jsonl", "--to", "2024-05-01", EXAMPLE]);
    assert_eq!(jsonl(&out).len(), all.len());
    let out = detect(&["scan", "-f", "jsonl", "--from", "2024-05-02", EXAMPLE]);
    assert!(jsonl(&out).is_empty());
    // An empty window is a usage error.
    let out = detect(&[
        "scan",
        "--from",
        "2024-05-02",
        "--to",
        "2024-05-01",
        EXAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--from is later than --to"));
    let out = detect(&["scan", "--from", "last tuesday", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a time"), "{}", stderr(&out));
}

#[test]
fn rules_subcommand_takes_the_filters_and_formats() {
    let out = detect(&["rules", "-f", "jsonl", "--tag", "attack.t1218.007"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rules = jsonl(&out);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["name"], "msiexec_http_connection");
    assert_eq!(rules[0]["status"], "test");

    let out = detect(&["rules", "-f", "csv", "--exclude-rule", "msiexec_*"]);
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "Name");
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(names, ["msi_install_from_web"]);

    let out = detect(&["rules", "--status", "test", "--min-level", "low"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("msiexec_http_connection ")
    );

    let out = detect(&["rules", "--rule", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

// The timeline.

/// A flat Sysmon network event that `msiexec_http_connection` matches, at `time`.
fn network_event(time: &str, host: &str) -> String {
    format!(
        r#"{{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "TimeCreated": "{time}", "Computer": "{host}", "Initiated": "true", "Image": "C:\\Windows\\System32\\msiexec.exe", "DestinationIp": "203.0.113.9", "DestinationPort": 443}}"#
    )
}

#[test]
fn sort_time_orders_matches_across_files() {
    let a = TempFile::new(
        "a",
        &[
            network_event("2024-05-01T10:00:03Z", "a"),
            network_event("2024-05-01T10:00:01Z", "a"),
            network_event("", "a"),
        ]
        .join("\n"),
    );
    let b = TempFile::new(
        "b",
        &[
            network_event("2024-05-01T12:00:02+02:00", "b"),
            network_event("2024-05-01T10:00:04.5Z", "b"),
        ]
        .join("\n"),
    );
    let order = |extra: &[&str]| -> Vec<(String, u64)> {
        let mut args = vec!["scan", "-f", "jsonl"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[a.path(), b.path()]);
        let out = detect(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        jsonl(&out)
            .iter()
            .map(|v| {
                (
                    v["computer"].as_str().unwrap().to_string(),
                    v["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let s = |h: &str, l: u64| (h.to_string(), l);
    // Default: input order.
    assert_eq!(
        order(&[]),
        [s("a", 1), s("a", 2), s("a", 3), s("b", 1), s("b", 2)]
    );
    // By time across files (offsets applied); no time last.
    assert_eq!(
        order(&["--sort", "time"]),
        [s("a", 2), s("b", 1), s("a", 1), s("b", 2), s("a", 3)]
    );
    // The table too: header first, summary after the rows.
    let out = detect_env(
        &["scan", "--sort", "time", a.path(), b.path()],
        &[("COLUMNS", "200")],
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME "), "{text}");
    assert!(lines[1].starts_with("2024-05-01 10:00:01 "), "{text}");
    assert!(lines[4].starts_with("2024-05-01 10:00:04 "), "{text}");
    assert!(lines[5].starts_with("-  "), "{text}");
    assert_eq!(lines[7], "Summary", "{text}");
    // CSV: the header once, first.
    let out = detect(&["scan", "-f", "csv", "--sort", "time", a.path(), b.path()]);
    let text = stdout(&out);
    assert!(text.starts_with("Timestamp,"), "{text}");
    assert_eq!(text.matches("Timestamp,").count(), 1);
}

#[test]
fn csv_quotes_hostile_command_lines() {
    let command_line = "cmd /c msiexec /i \"https://x.example/a,b.msi\"\r\n& echo \"done\", ok";
    let event = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Computer": "pc,1",
        "TimeCreated": "2024-05-01T10:00:00Z",
        "CommandLine": command_line,
    });
    let file = TempFile::new("csv", &event.to_string());
    let out = detect(&["scan", "-q", "-f", "csv", file.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{text}");
    let field = |name: &str| rows[0][header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(field("Computer"), "pc,1");
    assert_eq!(field("Rule"), "msiexec_web_install");
    assert_eq!(field("Details"), format!("CommandLine: {command_line}"));
    assert_eq!(field("Position"), "1");
    // The line break inside the quoted field is kept as is.
    assert!(text.contains("\r\n& echo \"\"done\"\", ok"), "{text:?}");
}

#[test]
fn table_fits_the_width_and_colours_on_request() {
    for columns in ["80", "100", "132"] {
        let out = detect_env(&["scan", "-q", EXAMPLE], &[("COLUMNS", columns)]);
        let width: usize = columns.parse().unwrap();
        for line in stdout(&out).lines() {
            assert!(line.chars().count() <= width, "{columns}: {line}");
        }
    }
    let coloured = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["scan", "-q"];
        all.extend_from_slice(args);
        all.push(EXAMPLE);
        stdout(&detect_env(&all, env)).contains("\u{1b}[")
    };
    // Not a terminal: no colour unless asked; `always` wins over NO_COLOR.
    assert!(!coloured(&[], &[]));
    assert!(coloured(&["--color", "always"], &[]));
    assert!(coloured(&["--color", "always"], &[("NO_COLOR", "1")]));
    assert!(!coloured(&["--color", "never"], &[]));
    // Only the table is coloured.
    assert!(!coloured(&["--color", "always", "-f", "jsonl"], &[]));
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn details_name_what_happened_on_real_logs() {
    needs_shared();
    let out = detect(&[
        "scan",
        "-q",
        "-f",
        "jsonl",
        "--sigma",
        "../shared/data/sigma/rules/windows/builtin",
        "../shared/data/evtx/DeepBlueCLI",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let matches = jsonl(&out);
    assert!(matches.len() > 50, "{} matches", matches.len());
    let has =
        |v: &serde_json::Value, keys: &[&str]| keys.iter().all(|k| v["details"][k].is_string());
    let mut checked = 0;
    for v in &matches {
        assert!(
            v["details"].as_object().is_some_and(|d| !d.is_empty()),
            "no DETAILS: {v}"
        );
        let source = (
            v["channel"].as_str().unwrap(),
            v["event_id"].as_u64().unwrap(),
        );
        let expected: &[&str] = match source {
            ("System", 7045) => &["ServiceName", "ImagePath"],
            ("Security", 4624 | 4625) => &["TargetUserName", "LogonType"],
            ("Security", 4720 | 4726) => &["TargetUserName", "SubjectUserName"],
            ("Security", 1102) => &["SubjectUserName"],
            _ => continue,
        };
        assert!(has(v, expected), "{source:?} without {expected:?}: {v}");
        checked += 1;
    }
    assert!(checked > 10, "{checked} matches of listed sources");
}
