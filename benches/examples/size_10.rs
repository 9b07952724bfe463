//! Scans one event with the first 10 generated rules: the baseline for
//! `size_1000` and `size_5000` (same program, fewer rules), so the difference
//! of the stripped release binaries is the code of the extra rules
//! (`BENCHMARKS.md`). Pass an NDJSON line as the first argument to scan that
//! event instead of the built-in one.

use detect_benches::Gen10;

fn main() {
    let line = std::env::args().nth(1).unwrap_or_else(|| {
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami /priv"}"#.to_string()
    });
    let event = detect::JsonEvent::parse_str(&line).expect("one JSON object");
    let mut hits = 0usize;
    Gen10::scan(&event, |rule| {
        hits += 1;
        println!("{} {}", rule.name, rule.title);
    });
    println!("{hits} of {} rules match", Gen10::LEN);
}
