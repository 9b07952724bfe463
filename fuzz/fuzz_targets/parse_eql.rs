//! The EQL parser at run time on arbitrary text, in both dialects: a query or
//! an error, never a panic or a hang. Queries it accepts convert to IR, load
//! into the reference interpreter or sequence matcher, and evaluate.
#![no_main]

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect_eql::reference::ReferenceMatcher;
use detect_eql::{Body, Options, parse_query};
use libfuzzer_sys::fuzz_target;

const EVENTS: &[&str] = &[
    r#"{"@timestamp": 1000, "event": {"category": "process", "action": "start"}, "process": {"name": "msiexec.exe", "args": ["/V"], "entity_id": "p1", "pid": 4}, "event_type": "process", "process_name": "cmd.exe", "serial_event_id": 1}"#,
    r#"{"@timestamp": 2000, "event": {"category": ["network"]}, "process": {"name": "MSIEXEC.EXE", "entity_id": "p1"}, "destination": {"port": 443}, "event_type": "network", "unique_pid": 4}"#,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for options in [Options::elasticsearch(), Options::endgame()] {
        let query = match parse_query(text, &options) {
            Ok(q) => q,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        let events: Vec<JsonEvent> = EVENTS
            .iter()
            .map(|e| JsonEvent::parse_str(e).expect("fixed events parse"))
            .collect();
        match &query.body {
            Body::Event(_) => {
                if let Ok(rule) = query.to_rule("fuzz") {
                    let set = RuleSet {
                        rules: vec![rule],
                        sequences: Vec::new(),
                        correlations: Vec::new(),
                    };
                    if let Ok(interp) = Interpreter::new(&set) {
                        for e in &events {
                            let _ = interp.matches(e);
                        }
                    }
                }
            }
            Body::Sequence(_) => {
                if let Ok(seq) = query.to_sequence("fuzz")
                    && let Ok(mut m) = ReferenceMatcher::new(&seq, options.dialect)
                {
                    for (i, e) in events.iter().enumerate() {
                        let _ = m.step(e, i as i64 * 1000, i as u64);
                    }
                }
            }
        }
    }
});
