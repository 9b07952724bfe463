//! Proof that rules compiled at run time (`RuntimeRuleSet`) scan and step
//! without allocating per event, as generated code does.
//!
//! A counting global allocator records allocations made by the measuring
//! thread only. After `warm_up` and one warm pass (buffers reach their
//! high-water mark), a second pass over the same events, parsing each NDJSON
//! line, scanning every rule set and stepping the sequence rules, must not
//! allocate one byte.

use detect::JsonEvent;
use detect::ir::RuleSet;
use detect::runtime::RuntimeRuleSet;
use detect_rules::Builtin;
use detect_test_support::counting_alloc::{CountingAllocator, measure};
use detect_tests::semantics_rules::Semantics;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Sigma rules that exercise the run-time plan's costlier nodes: regexes,
/// long value lists (sets), keywords, CIDR networks, field references,
/// base64 offsets and windash variants.
const SIGMA: &str = r#"
title: Regexes and sets
id: 8d2ab2b8-1f24-4f1c-9a4d-01a1c3b5a001
logsource: {product: windows, category: process_creation}
detection:
  re:
    CommandLine|re: '(?i)invoke-(mimikatz|expression)\s'
  set:
    Image|endswith: ['\cmd.exe', '\powershell.exe', '\pwsh.exe', '\wscript.exe', '\cscript.exe', '\mshta.exe', '\rundll32.exe', '\regsvr32.exe', '\certutil.exe', '\bitsadmin.exe']
  contains_set:
    CommandLine|contains: ['downloadstring', 'frombase64string', 'iex', 'bypass', 'hidden', 'encodedcommand', '-nop', 'webclient', 'net.webclient', 'start-bitstransfer']
  condition: re or (set and contains_set)
---
title: Keywords
id: 8d2ab2b8-1f24-4f1c-9a4d-01a1c3b5a002
logsource: {product: windows}
detection:
  keywords:
    - 'mimikatz'
    - 'sekurlsa'
    - 'lsadump::*'
  condition: keywords
---
title: Networks
id: 8d2ab2b8-1f24-4f1c-9a4d-01a1c3b5a003
logsource: {product: windows, category: network_connection}
detection:
  net:
    DestinationIp|cidr: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fe80::/10']
  filter:
    DestinationPort: [53, 123]
  condition: net and not filter
---
title: Field reference
id: 8d2ab2b8-1f24-4f1c-9a4d-01a1c3b5a004
logsource: {product: windows, category: process_creation}
detection:
  same:
    ParentImage|fieldref: Image
  condition: same
---
title: Encodings
id: 8d2ab2b8-1f24-4f1c-9a4d-01a1c3b5a005
logsource: {product: windows, category: process_creation}
detection:
  b64:
    CommandLine|base64offset|contains: '/bin/bash -c'
  dash:
    CommandLine|windash|contains: ' -enc '
  condition: b64 or dash
"#;

fn sigma_set() -> RuleSet {
    let rules = detect_sigma::parse_rule_file("zero_alloc_runtime.yml", SIGMA)
        .expect("the test's Sigma rules parse");
    assert_eq!(rules.len(), 5);
    RuleSet {
        rules,
        ..Default::default()
    }
}

/// Events that reach every rule above, the built-in pack and its sequence.
const EVENTS: &[&str] = &[
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ParentImage": "C:\\Windows\\explorer.exe", "CommandLine": "powershell -nop -w hidden Invoke-Expression (New-Object Net.WebClient).DownloadString('x')"}"#,
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\x\\same.exe", "ParentImage": "C:\\x\\same.exe", "CommandLine": "same.exe /c L2Jpbi9iYXNoIC1j and mimikatz sekurlsa::logonpasswords"}"#,
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "ParentImage": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c powershell /enc AAAA msiexec /i https://e/x.msi"}"#,
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Image": "C:\\x.exe", "DestinationIp": "10.1.2.3", "DestinationPort": 445}"#,
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Image": "C:\\x.exe", "DestinationIp": "::ffff:192.168.1.9", "DestinationPort": 53}"#,
    r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "DestinationIp": ["fe80::1", "not an ip"], "DestinationPort": "8080"}"#,
    r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application", "Data": ["http://x/y", "1"]}"#,
    r#"{"F": "YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAOAAuADgALgA4AC4AOAA=", "T": "2021-01-03T10:00:00Z", "User": "root", "G": 1}"#,
    r#"{"F": "a\nb\nc", "A": {"B": ["evil", {"C": "mimi-katz"}]}, "process": {"parent": {"name": "x.exe"}}}"#,
    r#"{"@timestamp": 1000, "event": {"category": "process", "action": "start"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1", "args": ["msiexec.exe", "/V"]}}"#,
    r#"{"@timestamp": 2000, "event": {"category": "network", "action": "connection_attempted"}, "host": {"os": {"type": "windows"}}, "process": {"name": "msiexec.exe", "entity_id": "p1"}}"#,
    r#"{"@timestamp": 3000, "event": {"category": "process", "action": "start"}, "host": {"os": {"type": "windows"}}, "user": {"id": "S-1-5-21-1"}, "process": {"name": "x.exe", "executable": "C:\\x.exe", "entity_id": "c1", "parent": {"name": "msiexec.exe", "entity_id": "p1"}}}"#,
];

/// One pass: every line parsed, scanned by every set and stepped through
/// each set's sequences; returns (matches per set, completed sequences).
fn pass(
    sets: &[RuntimeRuleSet],
    states: &mut [detect::SequenceState],
    event: &mut JsonEvent,
    matches: &mut [usize],
) -> usize {
    let mut completed = 0;
    for (pos, line) in EVENTS.iter().enumerate() {
        // Every test line is valid: a parse error would allocate its message.
        event.parse(line.as_bytes()).expect("valid JSON");
        for ((set, state), hits) in sets.iter().zip(states.iter_mut()).zip(matches.iter_mut()) {
            set.scan(event, |_| *hits += 1);
            set.step(state, event, pos as u64, |_, _| completed += 1);
            set.step_at(state, event, pos as i64 * 1_000, pos as u64, |_, _| {
                completed += 1
            });
        }
    }
    completed
}

#[test]
fn run_time_scan_and_step_allocate_nothing_in_steady_state() {
    let sets: Vec<RuntimeRuleSet> = [Builtin::ir(), Semantics::ir(), sigma_set()]
        .into_iter()
        .map(|ir| RuntimeRuleSet::compile(ir).expect("compiles at run time"))
        .collect();
    for set in &sets {
        set.warm_up();
    }
    let mut states: Vec<_> = sets.iter().map(|s| s.sequences(1024)).collect();
    let mut event = JsonEvent::new();
    let mut warm = [0usize; 3];
    let warm_completed = pass(&sets, &mut states, &mut event, &mut warm);
    let mut steady = [0usize; 3];
    let (steady_completed, counted) = measure(|| {
        for state in states.iter_mut() {
            state.reset();
        }
        pass(&sets, &mut states, &mut event, &mut steady)
    });
    assert_eq!(warm, steady, "both passes see the same matches");
    assert_eq!(warm_completed, steady_completed);
    // Not vacuous: every set matches, the Sigma set on each of its rules'
    // events, and the built-in sequence completes.
    assert!(warm.iter().all(|&n| n > 0), "matches per set: {warm:?}");
    assert!(warm[2] >= 6, "the Sigma set matches ({})", warm[2]);
    assert!(warm_completed > 0, "no sequence completed");
    assert_eq!(
        (counted.allocations, counted.bytes),
        (0, 0),
        "run-time scan and step allocated in steady state"
    );
}

#[test]
fn each_sigma_rule_fires_on_its_events() {
    // Guards the zero-allocation test above against rules that silently
    // never reach their costly nodes.
    let set = RuntimeRuleSet::compile(sigma_set()).unwrap();
    let mut fired = vec![0usize; set.rules().len()];
    for line in EVENTS {
        let event = JsonEvent::parse_str(line).unwrap();
        set.scan(&event, |i| fired[i] += 1);
    }
    for (rule, n) in set.rules().iter().zip(&fired) {
        assert!(*n > 0, "rule {:?} never fires", rule.meta.title);
    }
}
