//! End-to-end tests of the `detect` binary: the example file's contract
//! (`examples/README.md`), hostile NDJSON, real and deliberately damaged EVTX
//! files (copies of `../shared/data/evtx` samples), gzip, directories, stdin,
//! filters, exit statuses and both output formats.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect_rules::Builtin;
use detect_test_support::{shared_data, shared_data_str};

const BIN: &str = env!("CARGO_BIN_EXE_detect");
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const EXAMPLE: &str = "examples/events.ndjson";
const MALFORMED_EXAMPLE: &str = "examples/malformed.ndjson";
/// Under `../shared/data`.
const WINDOWS_SAMPLES: &str = "events/windows-samples.ndjson";

/// A positive for `msiexec_web_install` (flat layout).
const HIT: &str = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x.example/y.msi"}"#;

/// The `EventRecordID` of a JSON-lines object's EVTX event.
fn event_record_id(v: &serde_json::Value) -> u64 {
    v["event"]["Event"]["System"]["EventRecordID"]
        .as_u64()
        .unwrap_or_else(|| panic!("no EventRecordID: {v}"))
}

/// Runs `detect` from the workspace root, feeding `stdin` if given.
fn detect(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(WORKSPACE)
        // The table's width and colours are not the test runner's.
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
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

/// (line, rule) of every match of a `--format jsonl` run; a sequence is
/// listed on the line of its last event.
fn hits(o: &Output) -> Vec<(u64, String)> {
    jsonl(o)
        .iter()
        .map(|v| {
            let line = v["line"]
                .as_u64()
                .or_else(|| v["lines"].as_array()?.last()?.as_u64())
                .unwrap_or_else(|| panic!("no line: {v}"));
            (line, v["rule"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The `lines` of every sequence object of a `--format jsonl` run, with its rule.
fn sequences(o: &Output) -> Vec<(String, Vec<u64>)> {
    jsonl(o)
        .iter()
        .filter(|v| v["sequence"] == true)
        .map(|v| {
            let lines = v["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect();
            (v["rule"].as_str().unwrap().to_string(), lines)
        })
        .collect()
}

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

/// A fresh path in the temp directory, ending with `tag.ext`.
fn temp_path(tag: &str, ext: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "detect-cli-test-{}-{n}-{tag}.{ext}",
        std::process::id()
    ))
}

impl TempFile {
    fn new(tag: &str, contents: &[u8]) -> Self {
        Self::with_ext(tag, "ndjson", contents)
    }

    fn with_ext(tag: &str, ext: &str, contents: &[u8]) -> Self {
        let path = temp_path(tag, ext);
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
    assert_eq!(expected.len(), 14);
    // The sequence names all its events.
    assert_eq!(
        sequences(&out),
        [(
            "msiexec_remote_file_execution".to_string(),
            vec![31, 32, 33]
        )]
    );

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
        if v["sequence"] == true {
            let rule = Builtin::SEQUENCES
                .iter()
                .find(|r| r.name == v["rule"])
                .unwrap();
            assert_eq!(v["id"], serde_json::json!(rule.id));
            assert_eq!(v["title"], rule.title);
            assert_eq!(v["level"], rule.level.as_str());
            assert_eq!(v["file"], EXAMPLE);
            assert_eq!(v["timestamp"], "2024-05-01T10:00:50.000Z");
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "rule",
                    "id",
                    "title",
                    "level",
                    "file",
                    "lines",
                    "sequence",
                    "timestamp",
                    "record",
                    "computer",
                    "channel",
                    "event_id",
                    "tags",
                    "details"
                ],
                "{v}"
            );
            continue;
        }
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
        // Flat lines without EventRecordID: the record is the line.
        if v["layout"] == "flat" {
            assert_eq!(v["record"], v["line"], "{v}");
        }
        assert!(
            v["record"]
                .as_u64()
                .is_some_and(|r| r >= v["line"].as_u64().unwrap()),
            "{v}"
        );
        assert!(v["computer"].is_string() && v["channel"].is_string(), "{v}");
        assert!(
            v["details"].as_object().is_some_and(|d| !d.is_empty()),
            "{v}"
        );
        assert_eq!(v.as_object().unwrap().len(), 14, "{v}");
    }

    // No error: the summary is the one stderr line.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("detect: scanned 33 events in "),
        "{err}"
    );
    assert!(
        lines[0].contains(": 14 matches (")
            && lines[0].contains("msiexec_remote_file_execution [low]: 1)")
            && lines[0].contains("0 malformed lines, 0 EVTX errors, 0 unreadable files"),
        "{err}"
    );
}

/// `examples/malformed.ndjson` (see `examples/README.md`): its truncated
/// second line is reported with file and line, counted, and skipped; the
/// lines around it are scanned and the status is 0.
#[test]
fn malformed_example_line_is_reported_and_skipped() {
    let out = detect(&["scan", "--format", "jsonl", MALFORMED_EXAMPLE], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        hits(&out),
        [
            (1, "msiexec_web_install".to_string()),
            (3, "msi_install_from_web".to_string())
        ]
    );
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0]
            .starts_with("detect: examples/malformed.ndjson:2: not a valid JSON object at byte "),
        "{err}"
    );
    assert!(lines[0].contains("unexpected end of input"), "{err}");
    assert!(lines[0].ends_with("; line skipped"), "{err}");
    assert!(
        lines[1].starts_with("detect: scanned 2 events in ")
            && lines[1].contains("1 malformed line, 0 EVTX errors, 0 unreadable files"),
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
    assert_eq!(hits(&out).len(), 14);

    // A directory without event files: nothing scanned, said so, status 2.
    let out = detect(&["scan", "-q", "crates/detect-cli/src"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("detect: crates/detect-cli/src: no event files (.evtx, "),
        "{}",
        stderr(&out)
    );

    // A path through a file: the OS's reason, and the scan goes on.
    let out = detect(&["scan", "-q", "examples/events.ndjson/x", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("detect: examples/events.ndjson/x: cannot open: "),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 15);
}

#[test]
fn hostile_lines_are_reported_and_later_lines_still_scanned() {
    let mut input = Vec::new();
    // 1: a positive.
    input.extend_from_slice(HIT.as_bytes());
    input.push(b'\n');
    // 2: invalid UTF-8.
    input.extend_from_slice(b"{\"CommandLine\": \"cmd /c msiexec http://x\xff\xfe\"}\n");
    // 3: a 100 MB positive.
    input.extend_from_slice(
        br#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x.example/"#,
    );
    input.extend(std::iter::repeat_n(b'a', 100 << 20));
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

    // With a line limit below 100 MB the long line is skipped, not buffered.
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
    assert_eq!(objects.len(), 14);
    assert!(objects.iter().all(|v| v["file"] == "<stdin>"));
    assert_eq!(
        sequences(&out),
        [(
            "msiexec_remote_file_execution".to_string(),
            vec![31, 32, 33]
        )]
    );
    assert!(
        stderr(&out).starts_with("detect: scanned 33 events "),
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
    for column in [
        "TIME", "COMPUTER", "CHANNEL", "EID", "RECORD", "LEVEL", "RULE", "TAGS", "LOCATION",
        "DETAILS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    // Not a terminal, no COLUMNS: 200 characters at most, no colour.
    assert!(text.lines().all(|l| l.chars().count() <= 200), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("examples/events.ndjson:14 "), "{text}");
    assert!(text.contains("Data: http://updates.example.net/"), "{text}");
    assert!(text.contains("wks-05.corp.example"), "{text}");
    for row in [
        "Summary",
        "  events scanned    33",
        "  matches           14",
        "  malformed lines   0",
        "  EVTX errors       0",
        "  unreadable files  0",
        "  elapsed           ",
        " events/s, ",
        " MB/s)",
        "  first match       2024-05-01T10:00:01.000000Z",
        "  last match        2024-05-01T10:00:50.000Z",
        "  Matches per level\n  medium            8\n  low               6\n",
        "  Matches per rule",
        "  Matches per computer",
    ] {
        assert!(text.contains(row), "missing {row:?} in\n{text}");
    }
    for rule in Builtin::RULES.iter().chain(Builtin::SEQUENCES) {
        let name = format!("{} ({})", rule.title, rule.name);
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(rule.level.as_str()) && l.ends_with(&name)),
            "{name} in\n{text}"
        );
    }
    // The sequence: one row, at its last line, with all its lines in DETAILS.
    let row = text
        .lines()
        .find(|l| l.contains(" examples/events.ndjson:33 +2 "))
        .unwrap_or_else(|| panic!("no sequence row in\n{text}"));
    assert!(row.contains(" low "), "{row}");
    assert!(row.contains(" Remote File Execution via MSIEXEC "), "{row}");
    assert!(row.contains("wks-07.corp"), "{row}");
    assert!(
        row.ends_with("  Sequence: 3 events (lines 31, 32, 33)"),
        "{row}"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // --quiet drops the summary in both formats.
    let out = detect(&["scan", "--quiet", EXAMPLE], None);
    assert!(!stdout(&out).contains("Summary"));
    assert_eq!(stdout(&out).lines().count(), 15);
    let out = detect(&["scan", "-q", "-f", "jsonl", EXAMPLE], None);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = detect(&["scan", "-q", "-f", "jsonl", MALFORMED_EXAMPLE], None);
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
    let seq = text
        .lines()
        .find(|l| l.starts_with("msiexec_remote_file_execution "))
        .unwrap_or_else(|| panic!("no sequence row in\n{text}"));
    assert!(seq.contains(" ECS sequence "), "{seq}");
    assert!(seq.contains("Remote File Execution via MSIEXEC"), "{seq}");
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
#[ignore = "needs ../shared (run with --ignored)"]
fn windows_samples_have_exactly_one_match() {
    let samples = shared_data_str(WINDOWS_SAMPLES);
    let out = detect(&["scan", "-f", "jsonl", &samples], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    assert_eq!(objects[0]["rule"], "msi_install_from_web");
    assert_eq!(objects[0]["layout"], "flat");

    // It is the rogue MSI's 1040 event.
    let text = std::fs::read_to_string(&samples).unwrap();
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
        stderr(&out).contains("0 malformed lines, 0 EVTX errors, 0 unreadable files"),
        "{}",
        stderr(&out)
    );
}

/// Under `../shared/data`.
const ROGUE_MSI: &str = "evtx/EVTX-ATTACK-SAMPLES/Execution/rogue_msi_url_1040_1042.evtx";
/// Records of `ROGUE_MSI`: chunk 0 holds 1-140, chunk 1 141-285, chunk 2 286-351.
const ROGUE_MSI_RECORDS: u64 = 351;
const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65536;

/// The bytes of `ROGUE_MSI` (fails without ../shared).
fn rogue_msi() -> Vec<u8> {
    let path = shared_data(ROGUE_MSI);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The number after `scanned ` in the one-line summary.
fn events_scanned(o: &Output) -> u64 {
    let err = stderr(o);
    let at = err
        .find("detect: scanned ")
        .unwrap_or_else(|| panic!("no summary: {err}"));
    err[at + 16..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn rogue_msi_evtx_fires_msi_install_from_web_on_its_1040_event() {
    let rogue_msi = shared_data_str(ROGUE_MSI);
    let out = detect(
        &["scan", "-f", "jsonl", "--include-event", &rogue_msi],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    let hit = &objects[0];
    assert_eq!(hit["rule"], "msi_install_from_web");
    // `record` is the event's EventRecordID; `position` its record number in
    // this (exported) file.
    assert_eq!(hit["record"], 3734);
    assert_eq!(hit["position"], 350);
    assert_eq!(event_record_id(hit), 3734);
    assert_eq!(
        (hit["computer"].as_str(), hit["event_id"].as_u64()),
        (Some("User-PC"), Some(1040))
    );
    assert_eq!(hit["channel"], "Application");
    assert_eq!(
        hit["details"]["Data"],
        "http://officemysuppbox.com/staterepository, 2600"
    );
    assert!(hit.get("line").is_none());
    assert_eq!(hit["layout"], "evtx");
    assert_eq!(hit["timestamp"], "2019-10-31T14:48:42.0000000Z");
    // The event as the evtx crate renders it: `Data` is an element list under `#text`.
    let event = &hit["event"]["Event"];
    assert_eq!(event["System"]["EventID"]["#text"], 1040);
    assert_eq!(
        event["System"]["Provider"]["#attributes"]["Name"],
        "MsiInstaller"
    );
    assert_eq!(
        event["EventData"]["Data"]["#text"][0],
        "http://officemysuppbox.com/staterepository"
    );
    assert_eq!(events_scanned(&out), ROGUE_MSI_RECORDS);
    assert!(
        stderr(&out).contains("0 EVTX errors, 0 unreadable files"),
        "{}",
        stderr(&out)
    );

    // The table names the record and shows the URL.
    let out = detect(&["scan", &rogue_msi], None);
    let text = stdout(&out);
    assert!(text.contains("_1040_1042.evtx#350 "), "{text}");
    assert!(text.contains(" 3734 "), "{text}");
    assert!(
        text.contains("User-PC") && text.contains("Data: http://officemysuppbox.com/"),
        "{text}"
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn evtx_corpus_scans_like_its_ndjson_export() {
    let evtx_dir = shared_data_str("evtx");
    shared_data(WINDOWS_SAMPLES);
    // Every EVTX file of the corpus, in parallel: the same events as the
    // NDJSON export of the same files, the same single match, no error.
    let out = detect(&["scan", "-f", "jsonl", "-j", "2", &evtx_dir], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("scanned 14646 events") && err.contains(" from 312 inputs "),
        "{err}"
    );
    assert!(
        err.contains("0 malformed lines, 0 EVTX errors, 0 unreadable files"),
        "{err}"
    );
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    assert!(
        objects[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("rogue_msi_url_1040_1042.evtx")
    );
    assert_eq!(objects[0]["rule"], "msi_install_from_web");
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn truncated_evtx_is_reported_and_what_remains_is_scanned() {
    let bytes = rogue_msi();
    // Cut in the middle of chunk 2 (records 286-351).
    let cut = EVTX_HEADER + 2 * EVTX_CHUNK + 20_000;
    let file = TempFile::with_ext("truncated", "evtx", &bytes[..cut]);
    let out = detect(&["scan", "-f", "jsonl", file.path(), EXAMPLE], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "detect: {}: chunk 2: the file is truncated: its last chunk has 20000 of 65536 bytes; \
             scanning the records it still holds\n",
            file.path()
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Chunks 0 and 1 whole, part of chunk 2, then the example file.
    let events = events_scanned(&out) - 32;
    assert!((286..ROGUE_MSI_RECORDS).contains(&events), "{err}");
    assert!(err.contains("EVTX error"), "{err}");
    assert_eq!(hits(&out).len(), 14, "the next input is scanned");

    // Cut at a chunk boundary: the file header still lists three chunks.
    let file = TempFile::with_ext("cut", "evtx", &bytes[..EVTX_HEADER + 2 * EVTX_CHUNK]);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(events_scanned(&out), 285);
    assert!(
        stderr(&out).contains("the file header lists 3 chunks but the file holds 2"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(", 1 EVTX error, "),
        "{}",
        stderr(&out)
    );

    // Cut inside the file header: not an EVTX file any more; status 2.
    let file = TempFile::with_ext("header", "evtx", &bytes[..1000]);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "detect: {}: not a readable EVTX file: ",
            file.path()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn corrupted_evtx_chunk_and_record_are_reported_and_skipped() {
    let bytes = rogue_msi();

    // A chunk header whose magic is flipped: chunk 1's 145 records are lost,
    // chunks 0 and 2 are read, the 1040 event (chunk 2) still fires.
    let mut damaged = bytes.clone();
    let chunk1 = EVTX_HEADER + EVTX_CHUNK;
    assert_eq!(&damaged[chunk1..chunk1 + 8], b"ElfChnk\0");
    for b in &mut damaged[chunk1..chunk1 + 4] {
        *b ^= 0xff;
    }
    let file = TempFile::with_ext("chunk", "evtx", &damaged);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "detect: {}: chunk 1: cannot read the chunk: ",
            file.path()
        )),
        "{err}"
    );
    assert!(err.contains("going on with the next chunk"), "{err}");
    assert_eq!(events_scanned(&out), ROGUE_MSI_RECORDS - 145);
    assert_eq!(jsonl(&out).len(), 1);
    assert!(err.contains(", 1 EVTX error, "), "{err}");

    // A record whose header magic is flipped: that record is reported with
    // its chunk and offset, the walk resumes at the next record.
    let mut damaged = bytes.clone();
    let magic = b"\x2a\x2a\x00\x00";
    let chunk0 = &bytes[EVTX_HEADER + 512..EVTX_HEADER + EVTX_CHUNK];
    let third = chunk0
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == magic)
        .nth(2)
        .unwrap()
        .0;
    let at = EVTX_HEADER + 512 + third;
    damaged[at] ^= 0xff;
    let file = TempFile::with_ext("record", "evtx", &damaged);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "detect: {}: chunk 0: cannot read the record at offset {:#x}: ",
            file.path(),
            512 + third
        )),
        "{err}"
    );
    assert!(err.contains("going on with the next record"), "{err}");
    assert_eq!(events_scanned(&out), ROGUE_MSI_RECORDS - 1);
    assert_eq!(jsonl(&out).len(), 1);

    // Garbage over the middle of every chunk: whatever breaks is reported,
    // nothing panics, the scan completes.
    let mut damaged = bytes.clone();
    for chunk in 0..3 {
        let mid = EVTX_HEADER + chunk * EVTX_CHUNK + 3000;
        for (i, b) in damaged[mid..mid + 256].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
    }
    let file = TempFile::with_ext("garbage", "evtx", &damaged);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert!(err.contains("EVTX error"), "{err}");
    assert!(events_scanned(&out) > 200, "{err}");
}

/// `bytes` gzip-compressed.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzip_ndjson_and_evtx_from_stdin() {
    let example = std::fs::read(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    let compressed = gzip(&example);
    let file = TempFile::with_ext("example", "ndjson.gz", &compressed);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected: Vec<(u64, String)> = hits(&detect(&["scan", "-f", "jsonl", EXAMPLE], None));
    assert_eq!(hits(&out), expected);
    assert!(
        stderr(&out).starts_with("detect: scanned 33 events "),
        "{}",
        stderr(&out)
    );

    // Gzip on stdin.
    let out = detect(&["scan", "-f", "jsonl", "-"], Some(compressed.clone()));
    assert_eq!(hits(&out), expected);

    // A truncated gzip file: what was inflated is scanned, then status 2.
    let cut = TempFile::with_ext("cut", "gz", &compressed[..compressed.len() * 2 / 3]);
    let out = detect(&["scan", "-f", "jsonl", cut.path()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("detect: {}: read error after line ", cut.path())));
    assert!(!hits(&out).is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn evtx_from_stdin_and_gzip_compressed() {
    // EVTX on stdin (read into memory), and gzip-compressed EVTX.
    let evtx = rogue_msi();
    let out = detect(&["scan", "-f", "jsonl", "-"], Some(evtx.clone()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(jsonl(&out)[0]["position"], 350);
    assert_eq!(jsonl(&out)[0]["file"], "<stdin>");
    let file = TempFile::with_ext("evtx", "gz", &gzip(&evtx));
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(jsonl(&out)[0]["position"], 350);
    assert_eq!(events_scanned(&out), ROGUE_MSI_RECORDS);
}

/// A directory in the temp directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn directories_are_walked_and_output_is_in_input_order_whatever_the_threads() {
    let dir = TempDir(temp_path("dir", "d"));
    std::fs::create_dir_all(dir.0.join("b/c")).unwrap();
    let example = std::fs::read(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    std::fs::write(dir.0.join("a.jsonl"), &example).unwrap();
    std::fs::write(dir.0.join("b/c/z.json.gz"), gzip(&example)).unwrap();
    std::fs::write(dir.0.join("b/ignored.txt"), &example).unwrap();
    std::fs::write(dir.0.join("b/HIT.NDJSON"), format!("{HIT}\n")).unwrap();
    let d = dir.0.to_str().unwrap();
    let one = detect(&["scan", "-f", "jsonl", "-j", "1", d], None);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let files: Vec<String> = jsonl(&one)
        .iter()
        .map(|v| {
            v["file"]
                .as_str()
                .unwrap()
                .strip_prefix(d)
                .unwrap()
                .to_string()
        })
        .collect();
    let mut expected = vec!["/a.jsonl".to_string(); 14];
    // Byte order of names: `HIT.NDJSON` < `c`.
    expected.push("/b/HIT.NDJSON".into());
    expected.extend(vec!["/b/c/z.json.gz".to_string(); 14]);
    assert_eq!(files, expected);
    for threads in ["2", "3"] {
        let many = detect(&["scan", "-f", "jsonl", "-j", threads, d], None);
        assert_eq!(stdout(&many), stdout(&one), "-j {threads}");
        let reports = |o: &Output| {
            stderr(o)
                .lines()
                .filter(|l| !l.starts_with("detect: scanned"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(reports(&many), reports(&one));
    }
    // The table too, with the header once.
    let table = detect(&["scan", "-q", "-j", "2", d], None);
    assert_eq!(stdout(&table).matches("LEVEL ").count(), 1);
    // Inputs are shown relative to the directory given.
    assert!(
        stdout(&table).contains(" b/c/z.json.gz:1 "),
        "{}",
        stdout(&table)
    );
}

#[test]
fn filters_output_file_and_fail_on_match() {
    // --rule: only that rule, counted alone.
    let out = detect(
        &[
            "scan",
            "-f",
            "jsonl",
            "--rule",
            "msi_install_from_web",
            EXAMPLE,
        ],
        None,
    );
    let rules: BTreeSet<String> = jsonl(&out)
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rules, BTreeSet::from(["msi_install_from_web".to_string()]));
    assert_eq!(hits(&out).len(), 3);
    assert!(stderr(&out).contains(": 3 matches ("), "{}", stderr(&out));

    // --min-level medium drops the low rule's 5 matches; repeatable --rule.
    let out = detect(
        &["scan", "-f", "jsonl", "--min-level", "medium", EXAMPLE],
        None,
    );
    assert_eq!(hits(&out).len(), 8);
    let out = detect(
        &[
            "scan",
            "-f",
            "jsonl",
            "--rule",
            "msiexec_web_install",
            "--rule",
            "msiexec_http_connection",
            EXAMPLE,
        ],
        None,
    );
    assert_eq!(hits(&out).len(), 10);
    let out = detect(&["scan", "--min-level", "critical", EXAMPLE], None);
    assert!(stdout(&out).starts_with("Summary\n"), "{}", stdout(&out));

    // Unknown rule: one line that says what to do, status 2.
    let out = detect(&["scan", "--rule", "nope", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "detect: --rule `nope` matches no rule name; `detect rules` (with the same pack options) \
         lists the rule names\n"
    );

    // --fail-on-match: 1 when something matched, 0 otherwise; 2 wins.
    let out = detect(&["scan", "-q", "--fail-on-match", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(1));
    let out = detect(
        &[
            "scan",
            "-q",
            "--fail-on-match",
            "--min-level",
            "high",
            EXAMPLE,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let out = detect(
        &["scan", "-q", "--fail-on-match", EXAMPLE, "missing.ndjson"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));

    // --output: matches (and the table's summary) go to the file.
    let path = temp_path("out", "jsonl");
    let out = detect(
        &["scan", "-f", "jsonl", "-o", path.to_str().unwrap(), EXAMPLE],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.lines().count(), 14);
    let _ = std::fs::remove_file(&path);
    let out = detect(&["scan", "-o", "/nonexistent/dir/out.txt", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("detect: cannot create /nonexistent/dir/out.txt: "));
    assert_eq!(stderr(&out).lines().count(), 1);
}

/// Seed 003's chain in ECS (Elastic Defend) layout: msiexec started with
/// `/V` as `id`, its `connection_attempted`, then a child it starts, at the
/// given `@timestamp`s (epoch ms).
fn seed_003_chain(id: &str, times: [i64; 3]) -> [String; 3] {
    let [t0, t1, t2] = times;
    let user = "S-1-5-21-1004336348-1177238915-682003330-1001";
    [
        format!(
            r#"{{"@timestamp": {t0}, "host": {{"os": {{"type": "windows"}}}}, "event": {{"category": ["process"], "type": ["start"], "action": "start"}}, "process": {{"name": "msiexec.exe", "entity_id": "{id}", "executable": "C:\\Windows\\System32\\msiexec.exe", "args": ["C:\\Windows\\System32\\msiexec.exe", "/V"]}}}}"#
        ),
        format!(
            r#"{{"@timestamp": {t1}, "host": {{"os": {{"type": "windows"}}}}, "event": {{"category": ["network"], "action": "connection_attempted"}}, "process": {{"name": "msiexec.exe", "entity_id": "{id}"}}, "destination": {{"ip": "203.0.113.7", "port": 443}}}}"#
        ),
        format!(
            r#"{{"@timestamp": {t2}, "host": {{"os": {{"type": "windows"}}}}, "event": {{"category": ["process"], "action": "start"}}, "user": {{"id": "{user}"}}, "process": {{"name": "payload.exe", "entity_id": "child-{id}", "executable": "C:\\Users\\bob\\AppData\\Local\\Temp\\payload.exe", "args": ["C:\\Users\\bob\\AppData\\Local\\Temp\\payload.exe"], "parent": {{"name": "msiexec.exe", "entity_id": "{id}"}}}}}}"#
        ),
    ]
}

/// Scans `lines` (one event each) as a temp NDJSON file with `args` added.
fn scan_lines(lines: &[String], args: &[&str]) -> Output {
    let file = TempFile::new("seq", (lines.join("\n") + "\n").as_bytes());
    let mut all = vec!["scan", "-f", "jsonl"];
    all.extend_from_slice(args);
    all.push(file.path());
    let out = detect(&all, None);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    out
}

const SEQ: &str = "msiexec_remote_file_execution";

#[test]
fn sequence_within_a_minute_is_reported_once_with_its_lines() {
    let out = scan_lines(&seed_003_chain("p1", [0, 1_000, 2_000]), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects = jsonl(&out);
    assert_eq!(objects.len(), 1, "{}", stdout(&out));
    let v = &objects[0];
    assert_eq!(v["rule"], SEQ);
    assert_eq!(v["lines"], serde_json::json!([1, 2, 3]));
    assert_eq!(v["sequence"], true);
    assert_eq!(v["level"], "low");
    // An epoch-millisecond @timestamp is reported as written.
    assert_eq!(v["timestamp"], "2000", "{v}");
    assert!(v.get("line").is_none() && v.get("layout").is_none());
    assert!(
        stderr(&out).contains(": 1 match (msiexec_remote_file_execution [low]: 1)"),
        "{}",
        stderr(&out)
    );
    // Exactly 60 s is still within maxspan.
    let out = scan_lines(&seed_003_chain("p1", [0, 1_000, 60_000]), &[]);
    assert_eq!(sequences(&out), [(SEQ.to_string(), vec![1, 2, 3])]);

    // --fail-on-match counts sequences.
    let out = scan_lines(
        &seed_003_chain("p1", [0, 1_000, 2_000]),
        &["--fail-on-match"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sequence_over_61_seconds_is_not_reported() {
    let out = scan_lines(
        &seed_003_chain("p1", [0, 1_000, 61_000]),
        &["--fail-on-match"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains(": 0 matches,"), "{}", stderr(&out));
}

#[test]
fn interleaved_sequences_are_reported_apart() {
    let a = seed_003_chain("pa", [0, 2_000, 4_000]);
    let b = seed_003_chain("pb", [1_000, 3_000, 5_000]);
    let lines = [&a[0], &b[0], &a[1], &b[1], &a[2], &b[2]].map(String::clone);
    let out = scan_lines(&lines, &[]);
    assert_eq!(
        sequences(&out),
        [
            (SEQ.to_string(), vec![1, 3, 5]),
            (SEQ.to_string(), vec![2, 4, 6])
        ]
    );
    // The table: one row per sequence.
    let file = TempFile::new("seq-table", (lines.join("\n") + "\n").as_bytes());
    let out = detect(&["scan", file.path()], None);
    let text = stdout(&out);
    let title = Builtin::SEQUENCES[0].title;
    let rows: Vec<&str> = text.lines().filter(|l| l.contains(title)).collect();
    assert_eq!(rows.len(), 3, "two rows and the summary's\n{text}");
    // LOCATION: the last event and how many more; DETAILS: every line.
    assert!(rows[0].contains("-seq-table.ndjson:5 +2 "), "{text}");
    assert!(rows[1].contains("-seq-table.ndjson:6 +2 "), "{text}");
    assert!(
        rows[0].contains("  Sequence: 3 events (lines 1, 3"),
        "{text}"
    );
}

#[test]
fn sequences_do_not_join_across_inputs_and_filters_apply() {
    let [s, c, p] = seed_003_chain("p1", [0, 1_000, 2_000]);
    let first = TempFile::new("seq-a", format!("{s}\n{c}\n").as_bytes());
    let second = TempFile::new("seq-b", format!("{p}\n").as_bytes());
    let out = detect(&["scan", "-f", "jsonl", first.path(), second.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));

    let chain = seed_003_chain("p1", [0, 1_000, 2_000]);
    // --rule accepts the sequence's name, alone or with other rules.
    let out = scan_lines(&chain, &["--rule", SEQ]);
    assert_eq!(sequences(&out).len(), 1);
    let out = scan_lines(&chain, &["--rule", "msiexec_web_install"]);
    assert!(stdout(&out).is_empty());
    // --min-level applies: the sequence is `low`.
    let out = scan_lines(&chain, &["--min-level", "medium"]);
    assert!(stdout(&out).is_empty());
    let out = scan_lines(&chain, &["--min-level", "low"]);
    assert_eq!(sequences(&out).len(), 1);
    // A capacity of 1 still holds one chain; two interleaved chains evict one.
    let out = scan_lines(&chain, &["--sequence-capacity", "1"]);
    assert_eq!(sequences(&out).len(), 1);
    let a = seed_003_chain("pa", [0, 2_000, 4_000]);
    let b = seed_003_chain("pb", [1_000, 3_000, 5_000]);
    let lines = [&a[0], &b[0], &a[1], &b[1], &a[2], &b[2]].map(String::clone);
    let out = scan_lines(&lines, &["--sequence-capacity", "1"]);
    assert_eq!(sequences(&out), [(SEQ.to_string(), vec![2, 4, 6])]);
    assert!(
        stderr(&out).contains("1 pending sequence evicted (raise --sequence-capacity)"),
        "{}",
        stderr(&out)
    );
}

/// A file that claims to be EVTX but is damaged is refused with one error and
/// exit status 2, as `--help` says: never read as NDJSON.
#[test]
fn damaged_evtx_files_exit_2_with_one_error() {
    // Named .evtx, without the signature (a damaged header): even when the
    // bytes happen to be valid NDJSON.
    let binary: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    for (tag, contents) in [
        ("garbage", binary.clone()),
        ("ndjson-inside", format!("{HIT}\n").into_bytes()),
        ("empty", Vec::new()),
    ] {
        let file = TempFile::with_ext(tag, "evtx", &contents);
        let out = detect(&["scan", "-f", "jsonl", file.path()], None);
        assert_eq!(out.status.code(), Some(2), "{tag}: {}", stderr(&out));
        assert!(hits(&out).is_empty(), "{tag}");
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{tag}: one error and the summary: {err}");
        assert_eq!(
            lines[0],
            format!(
                "detect: {}: not an EVTX file: it is named .evtx but does not start with the \
                 EVTX signature `ElfFile` (a damaged or foreign file header); skipping this input",
                file.path()
            ),
            "{tag}"
        );
        assert!(lines[1].contains("1 unreadable file"), "{tag}: {err}");
    }
    // The signature, then a damaged header: the evtx crate refuses it, whatever the name.
    let mut header = b"ElfFile\0".to_vec();
    header.extend(&binary);
    for ext in ["evtx", "log"] {
        let file = TempFile::with_ext("bad-header", ext, &header);
        let out = detect(&["scan", "-f", "jsonl", file.path()], None);
        assert_eq!(out.status.code(), Some(2), "{ext}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 2, "{err}");
        assert!(
            err.starts_with(&format!(
                "detect: {}: not an EVTX file: its file header is damaged (header size ",
                file.path()
            )) && err
                .lines()
                .next()
                .unwrap()
                .ends_with("; EVTX has 128, 3 and 4096); skipping this input"),
            "{err}"
        );
    }
    // A gzip-compressed file named .evtx is read by its content.
    let file = TempFile::with_ext("gzipped", "evtx", &gzip(format!("{HIT}\n").as_bytes()));
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out), [(1, "msiexec_web_install".to_string())]);
}

/// A real log whose header checksum no longer matches (a byte the checksum
/// covers changed, the fields still sound): reported, and its chunks read.
#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn evtx_with_a_wrong_header_checksum_is_reported_and_read() {
    let mut bytes = rogue_msi();
    bytes[60] ^= 0xff; // in the unused part of the header, under the checksum
    let file = TempFile::with_ext("stale-header", "evtx", &bytes);
    let out = detect(&["scan", "-f", "jsonl", file.path()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(events_scanned(&out), ROGUE_MSI_RECORDS);
    assert_eq!(jsonl(&out)[0]["position"], 350);
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "detect: {}: the file header's checksum is wrong (",
            file.path()
        )) && err.contains("1 EVTX error"),
        "{err}"
    );
}

/// An input holding one JSON array of events, pretty-printed or on one line,
/// from a file, gzip or stdin: every element is scanned as an event located
/// by the line it starts on, as its lines would be in NDJSON.
#[test]
fn json_array_files_are_read_as_events() {
    let example = std::fs::read_to_string(Path::new(WORKSPACE).join(EXAMPLE)).unwrap();
    let events: Vec<serde_json::Value> = example
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ndjson = detect(&["scan", "-f", "jsonl", EXAMPLE], None);
    let expected_rules: Vec<String> = hits(&ndjson).into_iter().map(|(_, r)| r).collect();
    assert_eq!(expected_rules.len(), 14);

    // One line: every event on line 1.
    let compact = serde_json::to_string(&events).unwrap();
    // Pretty-printed, after a blank line: each event starts on its own line.
    let pretty = format!("\n{}\n", serde_json::to_string_pretty(&events).unwrap());
    for (tag, text) in [("compact", &compact), ("pretty", &pretty)] {
        let file = TempFile::with_ext(tag, "json", text.as_bytes());
        for out in [
            detect(&["scan", "-f", "jsonl", file.path()], None),
            detect(&["scan", "-f", "jsonl", "-"], Some(gzip(text.as_bytes()))),
        ] {
            assert_eq!(out.status.code(), Some(0), "{tag}: {}", stderr(&out));
            let err = stderr(&out);
            assert_eq!(err.lines().count(), 1, "{tag}: only the summary: {err}");
            assert!(
                err.contains("scanned 33 events") && err.contains(" 0 malformed lines"),
                "{tag}: {err}"
            );
            let got = hits(&out);
            assert_eq!(
                got.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
                expected_rules,
                "{tag}"
            );
            if tag == "compact" {
                assert!(got.iter().all(|(line, _)| *line == 1), "{got:?}");
            } else {
                // The line each event's `{` is on, counted in the file.
                let starts: Vec<u64> = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| *l == "  {")
                    .map(|(i, _)| i as u64 + 1)
                    .collect();
                assert_eq!(starts.len(), 33);
                let want: Vec<u64> = hits(&ndjson)
                    .iter()
                    .map(|(line, _)| starts[*line as usize - 1])
                    .collect();
                assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), want);
            }
        }
    }
}

/// Bad JSON arrays: an element that is not an event is skipped with a
/// report, a broken array ends the input with one report; exit status 0, as
/// for malformed lines.
#[test]
fn malformed_json_arrays_are_reported_with_their_line() {
    let text = format!("[\n  {HIT},\n  42,\n  {{\"a\": }},\n  {HIT}\n  {HIT}\n]\n");
    let file = TempFile::with_ext("bad-array", "json", text.as_bytes());
    let out = detect(
        &[
            "scan",
            "-f",
            "jsonl",
            "--max-line-bytes",
            "200",
            file.path(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        hits(&out),
        [
            (2, "msiexec_web_install".to_string()),
            (5, "msiexec_web_install".to_string())
        ]
    );
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    let name = file.path();
    assert!(
        lines[0].starts_with(&format!(
            "detect: {name}:3: array element is not a valid JSON object at byte 0: "
        )) && lines[0].ends_with("; element skipped"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "detect: {name}:4: array element is not a valid JSON object at byte 6: "
        )),
        "{err}"
    );
    assert_eq!(
        lines[2],
        format!(
            "detect: {name}:6: not a well-formed JSON array: expected ',' or ']' after an \
             array element; the rest of this input is skipped"
        )
    );
    assert!(
        lines[3].contains("scanned 2 events") && lines[3].contains("3 malformed lines"),
        "{err}"
    );

    // An element longer than --max-line-bytes is skipped whole.
    let long = format!("[{HIT}, {{\"pad\": \"{}\"}}, {HIT}]", "x".repeat(300));
    let out = detect(
        &["scan", "-f", "jsonl", "--max-line-bytes", "200", "-"],
        Some(long.into_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&out).len(), 2);
    assert!(
        stderr(&out).starts_with(
            "detect: <stdin>:1: array element is longer than 200 bytes; skipped (raise the \
             limit with --max-line-bytes)"
        ),
        "{}",
        stderr(&out)
    );
}
