//! The Sigma YAML front end at run time on arbitrary text: rules or an error,
//! never a panic or a hang. Rules it accepts load into the reference
//! interpreter and evaluate on a few events.
#![no_main]

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use libfuzzer_sys::fuzz_target;

const EVENTS: &[&str] = &[
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\msiexec.exe", "CommandLine": "msiexec /i http://x/y.msi", "ParentImage": "C:\\Windows\\explorer.exe", "User": "bob"}"#,
    r#"{"Event": {"System": {"EventID": 4688, "Channel": "Security"}, "EventData": {"NewProcessName": "C:\\x.exe", "CommandLine": "x -enc SQBFAFgA"}}}"#,
    r#"{"@timestamp": "2024-01-01T00:00:00Z", "event": {"category": "network"}, "destination": {"ip": "10.1.2.3", "port": 443}, "process": {"executable": "C:\\msiexec.exe"}}"#,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match detect_sigma::parse_rule_file("fuzz.yml", text) {
        Ok(rules) => rules,
        Err(e) => {
            assert!(!e.message.is_empty(), "an error says what is wrong");
            return;
        }
    };
    let set = RuleSet {
        rules,
        sequences: Vec::new(),
        correlations: Vec::new(),
    };
    let Ok(interp) = Interpreter::new(&set) else {
        return;
    };
    for e in EVENTS {
        let event = JsonEvent::parse_str(e).expect("fixed events parse");
        let _ = interp.matches(&event);
    }
});
