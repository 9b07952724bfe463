//! Scans one event with all 5,000 generated rules (feature `large`); built
//! with `--release` and stripped, its size minus `size_10`'s is the code of
//! 4,990 rules (`BENCHMARKS.md`). Pass an NDJSON line as the first argument to
//! scan that event instead of the built-in one.

use detect_benches::Gen5000;

fn main() {
    let line = std::env::args().nth(1).unwrap_or_else(|| {
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami /priv"}"#.to_string()
    });
    let event = detect::JsonEvent::parse_str(&line).expect("one JSON object");
    let mut hits = 0usize;
    Gen5000::scan(&event, |rule| {
        hits += 1;
        println!("{} {}", rule.name, rule.title);
    });
    println!("{hits} of {} rules match", Gen5000::LEN);
}
