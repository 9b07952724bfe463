//! End-to-end tests of the `detect` binary: the example file's contract
//! (`examples/README.md`), hostile input, stdin, exit statuses and both output
//! formats.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect_rules::Builtin;

const BIN: &str = env!("CARGO_BIN_EXE_detect");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const EXAMPLE: &str = "examples/events.ndjson";
const WINDOWS_SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/events/windows-samples.ndjson"
);

/// A positive for `msiexec_web_install` (flat layout).
const HIT: &str = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x.example/y.msi"}"#;

/// Runs `detect` from the workspace root, feeding `stdin` if given.
fn detect(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(WORKSPACE)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the detect binary runs");
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let output = child.wait_with_output().unwrap();
    if let Some(w) = writer {
        w.join().unwrap();
    }
    output
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The JSON objects of a `--format jsonl` run.
fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// (line, rule) of every match of a `--format jsonl` run.
fn hits(o: &Output) -> Vec<(u64, String)> {
    jsonl(o)
        .iter()
        .map(|v| {
            (
                v["line"].as_u64().unwrap(),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &[u8]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "detect-cli-test-{}-{n}-{tag}.ndjson",
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

/// One row of the table in `examples/README.md`.
#[derive(Debug)]
struct ContractRow {
    line: u64,
    layout: String,
    rule: Option<String>,
}

/// Parses the (line, layout, fires) columns of the table in `examples/README.md`.
fn contract() -> Vec<ContractRow> {
    let readme = std::fs::read_to_string(Path::new(WORKSPACE).join("examples/README.md")).unwrap();
    let mut rows = Vec::new();
    for row in readme.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        let Ok(line) = cells[0].parse::<u64>() else {
            continue;
        };
        let rule = match cells[3] {
            "none" => None,
            fires => Some(fires.trim_matches('`').to_string()),
        };
        rows.push(ContractRow {
            line,
            layout: cells[1].to_string(),
            rule,
        });
    }
    rows
}

#[test]
fn example_file_fires_exactly_what_the_readme_says() {
    let rows = contract();
    let text = std::fs::read_to_string(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    assert_eq!(
        rows.len(),
        text.lines().count(),
        "one README row per line of {EXAMPLE}"
    );
    assert!(
        rows.iter().enumerate().all(|(i, r)| r.line == i as u64 + 1),
        "rows in line order"
    );

    let out = detect(&["scan", "--format", "jsonl", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let expected: BTreeSet<(u64, String)> = rows
        .iter()
        .filter_map(|r| r.rule.clone().map(|rule| (r.line, rule)))
        .collect();
    let actual: Vec<(u64, String)> = hits(&out);
    assert_eq!(
        actual.len(),
        expected.len(),
        "no duplicate matches: {actual:?}"
    );
    assert_eq!(actual.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(expected.len(), 13);

    // Every built-in rule has a positive in every layout.
    for rule in Builtin::RULES {
        for layout in ["flat", "evtx", "ecs"] {
            assert!(
                rows.iter()
                    .any(|r| r.layout == layout && r.rule.as_deref() == Some(rule.name)),
                "{} has no {layout} positive",
                rule.name
            );
        }
    }

    // The objects carry the documented fields, with the layout of their line.
    for v in jsonl(&out) {
        let row = &rows[v["line"].as_u64().unwrap() as usize - 1];
        let rule = Builtin::rule(v["rule"].as_str().unwrap()).unwrap();
        assert_eq!(v["id"], serde_json::json!(rule.id));
        assert_eq!(v["title"], rule.title);
        assert_eq!(v["level"], rule.level.as_str());
        assert_eq!(v["file"], EXAMPLE);
        assert_eq!(v["layout"], row.layout.as_str());
        assert!(
            v["timestamp"]
                .as_str()
                .is_some_and(|t| t.starts_with("2024-05-01T10:00:")),
            "{v}"
        );
        assert_eq!(v.as_object().unwrap().len(), 8, "{v}");
    }

    // The malformed line is reported with file and line; the summary is one stderr line.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("detect: examples/events.ndjson:18: "),
        "{err}"
    );
    assert!(lines[0].contains("unexpected end of input"), "{err}");
    assert!(
        lines[1].starts_with("detect: scanned 29 events in "),
        "{err}"
    );
    assert!(
        lines[1].contains(": 13 matches (")
            && lines[1].contains("1 malformed line, 0 unreadable files"),
        "{err}"
    );
}

#[test]
fn example_file_agrees_with_the_reference_interpreter() {
    let interpreter = Interpreter::new(&Builtin::ir()).unwrap();
    let text = std::fs::read_to_string(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    let mut event = JsonEvent::new();
    for (i, line) in text.lines().enumerate() {
        if event.parse(line.as_bytes()).is_err() {
            continue;
        }
        let mut compiled = Vec::new();
        Builtin::scan(&event, |r| compiled.push(r.index));
        assert_eq!(compiled, interpreter.matches(&event), "line {}", i + 1);
    }
}

#[test]
fn missing_file_is_reported_and_exit_status_is_2() {
    let out = detect(
        &["scan", "-f", "jsonl", "no/such/file.ndjson", EXAMPLE],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("detect: no/such/file.ndjson: cannot open: "),
        "{err}"
    );
    assert!(
        err.lines()
            .next()
            .unwrap()
            .ends_with("; skipping this input"),
        "{err}"
    );
    assert!(err.contains("1 unreadable file"), "{err}");
    // The scan went on with the next input.
    assert_eq!(hits(&out).len(), 13);

    // A directory cannot be read as lines either.
    let out = detect(&["scan", "-q", "crates"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("detect: crates: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_lines_are_reported_and_later_lines_still_scanned() {
    let mut input = Vec::new();
    // 1: a positive.
    input.extend_from_slice(HIT.as_bytes());
    input.push(b'\n');
    // 2: invalid UTF-8.
    input.extend_from_slice(b"{\"CommandLine\": \"cmd /c msiexec http://x\xff\xfe\"}\n");
    // 3: a 20 MB positive.
    input.extend_from_slice(
        br#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x.example/"#,
    );
    input.extend(std::iter::repeat_n(b'a', 20 << 20));
    input.extend_from_slice(b"\"}\n");
    // 4: nested 10,000 levels deep.
    input.extend_from_slice(b"{\"a\": ");
    input.extend(std::iter::repeat_n(b'[', 10_000));
    input.extend(std::iter::repeat_n(b']', 10_000));
    input.extend_from_slice(b"}\n");
    // 5: NUL bytes and garbage.
    input.extend_from_slice(b"\0\0\0{{{\n");
    // 6: a positive, without a final newline, after a CRLF blank line.
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(HIT.as_bytes());
    let file = TempFile::new("hostile", &input);

    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rule = "msiexec_web_install".to_string();
    assert_eq!(
        hits(&out),
        [(1, rule.clone()), (3, rule.clone()), (7, rule.clone())]
    );
    let err = stderr(&out);
    let name = file.path();
    assert!(
        err.contains(&format!("detect: {name}:2: ")) && err.contains("invalid UTF-8"),
        "{err}"
    );
    assert!(err.contains(&format!("detect: {name}:4: ")), "{err}");
    assert!(err.contains(&format!("detect: {name}:5: ")), "{err}");
    assert!(
        err.contains("scanned 3 events") && err.contains("3 malformed lines"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // With a line limit below 20 MB the long line is skipped, not buffered.
    let out = detect(
        &[
            "scan",
            "-f",
            "jsonl",
            "--max-line-bytes",
            "1000000",
            file.path(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), [(1, rule.clone()), (7, rule)]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "detect: {name}:3: line is longer than 1000000 bytes; skipped"
        )),
        "{err}"
    );
}

#[test]
fn reads_stdin() {
    let example = std::fs::read(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    let out = detect(&["scan", "--format", "jsonl", "-"], Some(example));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 13);
    assert!(objects.iter().all(|v| v["file"] == "<stdin>"));
    assert!(
        stderr(&out).starts_with("detect: <stdin>:18: "),
        "{}",
        stderr(&out)
    );

    let out = detect(&["scan", "-q", "-"], Some(format!("{HIT}\n").into_bytes()));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("<stdin>:1"), "{}", stdout(&out));
}

#[test]
fn table_format_has_the_matches_and_a_summary() {
    let out = detect(&["scan", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    for column in ["LEVEL", "RULE", "FILE:LINE", "TIME", "COMPUTER", "DETAILS"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(text.contains("examples/events.ndjson:14 "), "{text}");
    assert!(
        text.contains("http://updates.example.net/agent.msi"),
        "{text}"
    );
    assert!(text.contains("wks-05.corp.example"), "{text}");
    for row in [
        "Summary",
        "  events scanned    29",
        "  matches           13",
        "  malformed lines   1",
        "  unreadable files  0",
        "  elapsed           ",
        "  Matches per rule",
    ] {
        assert!(text.contains(row), "missing {row:?} in\n{text}");
    }
    for rule in Builtin::RULES {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(rule.level.as_str()) && l.contains(rule.name))
        );
    }
    assert!(stderr(&out).starts_with("detect: examples/events.ndjson:18: "));

    // --quiet drops the summary in both formats.
    let out = detect(&["scan", "--quiet", EXAMPLE], None);
    assert!(!stdout(&out).contains("Summary"));
    assert_eq!(stdout(&out).lines().count(), 14);
    let out = detect(&["scan", "-q", "-f", "jsonl", EXAMPLE], None);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn rules_lists_the_built_in_rules() {
    let out = detect(&["rules"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("NAME "), "{text}");
    for name in [
        "msi_install_from_web",
        "msiexec_web_install",
        "msiexec_http_connection",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{text}");
    }
    assert!(text.contains("8e5e38e4-5350-4c0b-895a-e872ce0dd54f"));
    assert!(text.contains("windows/application"));
    assert!(text.contains("attack.t1218.007"));
}

#[test]
fn help_version_and_usage_errors() {
    let out = detect(&["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("Examples:\n  detect scan examples/events.ndjson"));

    let out = detect(&["--version"], None);
    assert_eq!(
        stdout(&out).trim(),
        format!("detect {}", env!("CARGO_PKG_VERSION"))
    );

    let out = detect(&["scan", "--format", "xml", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: table, jsonl"),
        "{}",
        stderr(&out)
    );

    let out = detect(&["scan"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<FILE>"), "{}", stderr(&out));
}

#[test]
fn windows_samples_have_exactly_one_match() {
    if !Path::new(WINDOWS_SAMPLES).exists() {
        println!(
            "skipping: {WINDOWS_SAMPLES} not found (../shared/data is not beside the workspace)"
        );
        return;
    }
    let out = detect(&["scan", "-f", "jsonl", WINDOWS_SAMPLES], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    assert_eq!(objects[0]["rule"], "msi_install_from_web");
    assert_eq!(objects[0]["layout"], "flat");

    // It is the rogue MSI's 1040 event.
    let text = std::fs::read_to_string(WINDOWS_SAMPLES).unwrap();
    let line = objects[0]["line"].as_u64().unwrap() as usize;
    let event: serde_json::Value =
        serde_json::from_str(text.lines().nth(line - 1).unwrap()).unwrap();
    assert!(
        event["_source_file"]
            .as_str()
            .is_some_and(|s| s.ends_with("rogue_msi_url_1040_1042.evtx")),
        "{event}"
    );
    assert_eq!(event["EventID"], 1040);
    assert!(
        stderr(&out).contains("scanned 14646 events"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("0 malformed lines, 0 unreadable files"),
        "{}",
        stderr(&out)
    );
}
