//! Sigma correlation rules and filters loaded at run time: the
//! specification's examples (`../shared/data/sigma/spec/correlation-examples`)
//! with hand-written rules and events at the boundaries, the errors, the
//! peers' known failures, and meta-filters.

use detect::JsonEvent;
use detect::correlation::CorrelationEngine;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect_sigma::{LoadOptions, SigmaError};
use detect_test_support::shared_data;

/// Writes `files` into a fresh folder and loads it.
fn load(test: &str, files: &[(&str, &str)]) -> (RuleSet, Vec<SigmaError>) {
    load_with(test, files, &LoadOptions::default())
}

/// [`load`] with `options`.
fn load_with(
    test: &str,
    files: &[(&str, &str)],
    options: &LoadOptions,
) -> (RuleSet, Vec<SigmaError>) {
    let dir = std::env::temp_dir().join(format!("detect-corr-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let (set, failures) = detect_sigma::load_dir(&dir, options);
    let _ = std::fs::remove_dir_all(&dir);
    (set, failures.into_iter().map(|(_, e)| e).collect())
}

/// A specification example (`../shared/data/sigma/spec/correlation-examples`);
/// fails without ../shared (the tests that read one are ignored unless asked
/// for).
fn spec_example(name: &str) -> String {
    let path = shared_data(&format!("sigma/spec/correlation-examples/{name}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A flat event at `secs` seconds after 2024-05-10T10:00:00Z (`TimeCreated`).
fn ev(secs: i64, fields: serde_json::Value) -> String {
    let mut v = fields;
    let t = 1_715_335_200i64 + secs;
    let (d, rem) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // 2024-05-10 is day 19853 since the epoch; the tests stay within days of it.
    let day = 10 + d - 19_853;
    v["TimeCreated"] = serde_json::json!(format!(
        "2024-05-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ));
    v.to_string()
}

/// (correlation, group, value, positions) of every reported correlation
/// match, and the rules reported on their own (rule index, position).
#[allow(clippy::type_complexity)]
fn run(
    set: &RuleSet,
    events: &[String],
) -> (Vec<(usize, Vec<String>, f64, Vec<u64>)>, Vec<(usize, u64)>) {
    let interpreter = Interpreter::new(set).expect("interpretable");
    let mut engine = CorrelationEngine::new(&set.correlations, set.rules.len(), 10_000);
    let mut out = Vec::new();
    let mut plain = Vec::new();
    for (k, line) in events.iter().enumerate() {
        let event = JsonEvent::parse_str(line).unwrap();
        let matched = interpreter.matches(&event);
        let pos = k as u64 + 1;
        for &r in &matched {
            if engine.reports_rule(r) {
                plain.push((r, pos));
            }
        }
        engine.step(&event, pos, &matched, |m| {
            if m.reported {
                out.push((m.correlation, m.group.to_vec(), m.value, m.events.to_vec()));
            }
        });
    }
    (out, plain)
}

const FAILED_LOGON_BY_ID: &str = "title: Failed logon
id: 5638f7c0-ac70-491d-8465-2a65075e0d86
logsource: {product: windows}
detection:
    selection: {EventID: 4625}
    condition: selection
";

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn event_count_fires_at_the_threshold_within_the_timespan() {
    let corr = spec_example("event_count.yml");
    let (set, errors) = load(
        "event_count",
        &[("failed.yml", FAILED_LOGON_BY_ID), ("mr.yml", &corr)],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let failed = |secs, host: &str| {
        ev(
            secs,
            serde_json::json!({"EventID": 4625, "ComputerName": host}),
        )
    };
    // 99 events in the hour, another host's events between them: nothing.
    let mut events: Vec<String> = (0..99).map(|i| failed(i * 30, "WS1")).collect();
    events.extend((0..50).map(|i| failed(i, "WS2")));
    assert!(run(&set, &events).0.is_empty());
    // The 100th exactly one hour after the first: fires (both ends included).
    let mut at_edge = events.clone();
    at_edge.push(failed(3600, "WS1"));
    let (fired, plain) = run(&set, &at_edge);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].1.clone(), fired[0].2),
        (vec!["WS1".to_string()], 100.0)
    );
    assert_eq!(fired[0].3.len(), detect::correlation::MAX_REPORTED_EVENTS);
    assert_eq!(fired[0].3[0], 1);
    // generate is false: the failed logons are not reported on their own.
    assert!(plain.is_empty());
    // One millisecond later, the first has left the window: 99.
    let mut past = events.clone();
    past.push(
        serde_json::json!({"EventID": 4625, "ComputerName": "WS1",
            "TimeCreated": "2024-05-10T11:00:00.001Z"})
        .to_string(),
    );
    assert!(run(&set, &past).0.is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn event_count_in_ecs_groups_by_ecs_fields() {
    let corr = spec_example("event_count_ecs.yml");
    let (set, errors) = load(
        "event_count_ecs",
        &[("failed.yml", FAILED_LOGON_BY_ID), ("mr.yml", &corr)],
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.correlations[0].vocabulary, detect::ir::Vocabulary::Ecs);
    let events: Vec<String> = (0..100)
        .map(|i| {
            serde_json::json!({"@timestamp": format!("2024-05-01T10:{:02}:{:02}Z", i / 60, i % 60),
                "winlog": {"event_id": 4625}, "dns": {"question": {"name": "example.org"}}})
            .to_string()
        })
        .collect();
    let (fired, _) = run(&set, &events);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1, vec!["example.org".to_string()]);
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn value_count_counts_distinct_values_in_the_timespan_only() {
    let corr = spec_example("value_count.yml");
    let (set, errors) = load(
        "value_count",
        &[("failed.yml", FAILED_LOGON_BY_ID), ("mr.yml", &corr)],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let logon = |secs, user: String| {
        ev(
            secs,
            serde_json::json!({"EventID": 4625, "ComputerName": "DC1", "WorkstationName": "WS1", "User": user}),
        )
    };
    // 99 distinct users, each twice: 99.
    let mut events: Vec<String> = (0..198)
        .map(|i| logon(i * 60, format!("u{}", i % 99)))
        .collect();
    assert!(run(&set, &events).0.is_empty());
    // A user seen more than a day before the 100th distinct does not count
    // (the window does not run past the timespan).
    let mut late = vec![logon(-90_000, "early".into())];
    late.extend(events.iter().cloned());
    late.push(logon(198 * 60, "u0".into()));
    assert!(run(&set, &late).0.is_empty());
    // The same early user a minute inside the day does count.
    let mut inside = vec![logon(198 * 60 - 86_400 + 60, "early".into())];
    inside.extend(events.iter().cloned());
    assert_eq!(run(&set, &inside).0.len(), 1);
    // The 100th distinct user fires, once.
    events.push(logon(198 * 60, "new".into()));
    events.push(logon(198 * 60 + 1, "other".into()));
    let (fired, _) = run(&set, &events);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1, vec!["DC1".to_string(), "WS1".to_string()]);
    assert_eq!(fired[0].2, 100.0);
}

const RECON: [(&str, &str); 3] = [
    (
        "a.yml",
        "title: Recon A\nname: recon_cmd_a\nlogsource: {product: windows}\ndetection:\n    s: {CommandLine: whoami}\n    condition: s\n",
    ),
    (
        "b.yml",
        "title: Recon B\nname: recon_cmd_b\nlogsource: {product: windows}\ndetection:\n    s: {CommandLine: hostname}\n    condition: s\n",
    ),
    (
        "c.yml",
        "title: Recon C\nname: recon_cmd_c\nlogsource: {product: windows}\ndetection:\n    s: {CommandLine: ipconfig}\n    condition: s\n",
    ),
];

fn cmd(secs: i64, command: &str, user: &str) -> String {
    ev(
        secs,
        serde_json::json!({"CommandLine": command, "ComputerName": "WS1", "User": user}),
    )
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn temporal_needs_every_rule_in_the_timespan_and_the_same_group() {
    let corr = spec_example("temporal.yml");
    let mut files = RECON.to_vec();
    files.push(("mr.yml", &corr));
    let (set, errors) = load("temporal", &files);
    assert!(errors.is_empty(), "{errors:?}");
    // Any order, within 5 minutes (exactly 5 minutes apart included).
    let (fired, _) = run(
        &set,
        &[
            cmd(0, "ipconfig", "bob"),
            cmd(10, "whoami", "bob"),
            cmd(300, "hostname", "bob"),
        ],
    );
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].3, vec![1, 2, 3]);
    // One second more: no.
    assert!(
        run(
            &set,
            &[
                cmd(0, "ipconfig", "bob"),
                cmd(10, "whoami", "bob"),
                cmd(301, "hostname", "bob")
            ]
        )
        .0
        .is_empty()
    );
    // Group-by is enforced (a peer's temporal rules ignored it): three users.
    assert!(
        run(
            &set,
            &[
                cmd(0, "ipconfig", "bob"),
                cmd(1, "whoami", "eve"),
                cmd(2, "hostname", "ann")
            ]
        )
        .0
        .is_empty()
    );
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn temporal_ordered_checks_the_whole_order() {
    let corr = spec_example("temporal_ordered.yml");
    let mut files = RECON.to_vec();
    files.push(("mr.yml", &corr));
    let (set, errors) = load("temporal_ordered", &files);
    assert!(errors.is_empty(), "{errors:?}");
    let seq = |cmds: &[&str]| -> Vec<String> {
        cmds.iter()
            .enumerate()
            .map(|(i, c)| cmd(i as i64 * 10, c, "bob"))
            .collect()
    };
    assert_eq!(
        run(&set, &seq(&["whoami", "hostname", "ipconfig"])).0.len(),
        1
    );
    // A peer checked the order of the first step only: a, c, b must not fire.
    assert!(
        run(&set, &seq(&["whoami", "ipconfig", "hostname"]))
            .0
            .is_empty()
    );
    assert!(
        run(&set, &seq(&["hostname", "whoami", "ipconfig"]))
            .0
            .is_empty()
    );
    // Noise between the steps does not matter; the chain reported is a, b, c.
    let (fired, _) = run(
        &set,
        &seq(&[
            "ipconfig", "whoami", "ipconfig", "hostname", "whoami", "ipconfig",
        ]),
    );
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].3, vec![2, 4, 6]);
}

fn numeric(
    test: &str,
    file: &str,
    rule: &str,
    field: &str,
    values: &[(i64, f64)],
) -> Vec<(usize, Vec<String>, f64, Vec<u64>)> {
    let corr = spec_example(file);
    let rule_file = format!(
        "title: Source\nname: {rule}\nlogsource: {{product: windows}}\ndetection:\n    s: {{EventID: 3}}\n    condition: s\n"
    );
    let (set, errors) = load(test, &[("r.yml", &rule_file), ("mr.yml", &corr)]);
    assert!(errors.is_empty(), "{errors:?}");
    let events: Vec<String> = values
        .iter()
        .map(|&(secs, v)| {
            let mut fields = serde_json::json!({"EventID": 3, "SourceIP": "10.0.0.1", "User": "bob", "ComputerName": "WS1"});
            fields[field] = serde_json::json!(v);
            ev(secs, fields)
        })
        .collect();
    run(&set, &events).0
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn value_sum_adds_the_field_over_the_timespan() {
    let sum = |values: &[(i64, f64)]| {
        numeric(
            "value_sum",
            "value_sum.yml",
            "website_access",
            "bytes_sent",
            values,
        )
    };
    // gt 1000000: equal is not enough, one more byte is.
    assert!(sum(&[(0, 600_000.0), (60, 400_000.0)]).is_empty());
    let fired = sum(&[(0, 600_000.0), (60, 400_001.0)]);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].2, 1_000_001.0);
    // Outside the hour: not added.
    assert!(sum(&[(0, 600_000.0), (3601, 400_001.0)]).is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn value_avg_averages_the_field() {
    let avg = |values: &[(i64, f64)]| {
        numeric(
            "value_avg",
            "value_avg.yml",
            "rule_a_id",
            "BytesOut",
            values,
        )
    };
    assert_eq!(avg(&[(0, 400.0), (1, 600.0)]).len(), 0); // 500, not > 500
    let fired = avg(&[(0, 600.0)]);
    assert_eq!((fired.len(), fired[0].2), (1, 600.0));
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn value_percentile_loads_and_skips_non_numeric_values() {
    let corr = spec_example("value_percentile.yml");
    let rule = "title: Processes\nname: process_creation\nlogsource: {product: windows}\ndetection:\n    s: {EventID: 1}\n    condition: s\n";
    let (set, errors) = load("value_percentile", &[("r.yml", rule), ("mr.yml", &corr)]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.correlations[0].percentile, None); // the median by default
    // Image is a path, not a number: such events are not counted.
    let events = [ev(
        0,
        serde_json::json!({"EventID": 1, "ComputerName": "WS1", "Image": "C:\\x.exe"}),
    )];
    assert!(run(&set, &events).0.is_empty());
    // A number at or below 1 is the median of one value: fires.
    let events = [ev(
        0,
        serde_json::json!({"EventID": 1, "ComputerName": "WS1", "Image": 1}),
    )];
    assert_eq!(run(&set, &events).0.len(), 1);
}

const CHAIN: &str = "title: Many failed logons then a success
id: 6f1d3f0e-1c51-4a39-9d0e-5a2f8a3d9001
correlation:
    type: temporal_ordered
    rules:
        - many_failed
        - logon_ok
    group-by:
        - User
    timespan: 10m
level: high
---
title: Many failed logons
name: many_failed
correlation:
    type: event_count
    rules:
        - logon_failed
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 3
---
title: Logon failed
name: logon_failed
logsource: {product: windows}
detection:
    s: {EventID: 4625}
    condition: s
---
title: Logon succeeded
name: logon_ok
logsource: {product: windows}
detection:
    s: {EventID: 4624}
    condition: s
";

#[test]
fn chained_correlations_feed_each_other() {
    let (set, errors) = load("chain", &[("chain.yml", CHAIN)]);
    assert!(errors.is_empty(), "{errors:?}");
    // The inner correlation comes first.
    assert_eq!(set.correlations[0].meta.title, "Many failed logons");
    let logon =
        |secs, id: u32, user: &str| ev(secs, serde_json::json!({"EventID": id, "User": user}));
    let events = [
        logon(0, 4625, "bob"),
        logon(1, 4624, "bob"), // a success before the failures: no
        logon(2, 4625, "bob"),
        logon(3, 4625, "eve"),
        logon(4, 4625, "bob"),
        logon(5, 4624, "eve"),
        logon(6, 4624, "bob"),
    ];
    let (fired, plain) = run(&set, &events);
    // Only the outer correlation is reported, for bob, with the event that
    // fired the inner one and the success.
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, 1);
    assert_eq!(fired[0].1, vec!["bob".to_string()]);
    assert_eq!(fired[0].3, vec![5, 7]);
    assert!(plain.is_empty(), "{plain:?}");
}

#[test]
fn pipelines_rename_the_fields_correlations_read() {
    // The events name the user `user.name` and the host `host`: the
    // pipeline renames the rule's fields, and so the correlation's group-by,
    // alias and value fields, which are read from the same events.
    let files = [
        (
            "failed.yml",
            "title: Failed logon\nname: failed\nlogsource: {product: windows}\ndetection:\n    s: {EventID: 4625, TargetUserName|startswith: adm}\n    condition: s\n",
        ),
        (
            "mr.yml",
            "title: Many workstations\ncorrelation:\n    type: value_count\n    rules: failed\n    group-by: [TargetUserName]\n    timespan: 1m\n    condition: {field: WorkstationName, gte: 2}\n",
        ),
    ];
    let pipeline = detect_sigma::pipeline::Pipeline::parse(
        "ecs.yml",
        "name: ecs\nfield_mappings: {TargetUserName: user.name, WorkstationName: host}\n",
    )
    .unwrap();
    let mut options = LoadOptions::default();
    options.parse.pipelines.push(pipeline);
    let (set, errors) = load_with("pipelines", &files, &options);
    assert!(errors.is_empty(), "{errors:?}");
    let c = &set.correlations[0];
    assert_eq!(c.inputs[0].group_fields, vec!["user.name".to_string()]);
    assert_eq!(c.fields, vec!["host".to_string()]);
    let failed = |secs, user: &str, host: &str| {
        ev(
            secs,
            serde_json::json!({"EventID": 4625, "user.name": user, "host": host}),
        )
    };
    let (fired, _) = run(
        &set,
        &[
            failed(0, "admin", "WS1"),
            failed(10, "guest", "WS2"),
            failed(20, "admin", "WS2"),
        ],
    );
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].1.clone(), fired[0].2),
        (vec!["admin".to_string()], 2.0)
    );
    // Without the pipeline the same events give nothing: the rule and the
    // correlation read fields these events do not have.
    let (plain_set, _) = load("pipelines_none", &files);
    let (none, _) = run(
        &plain_set,
        &[failed(0, "admin", "WS1"), failed(20, "admin", "WS2")],
    );
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn aliases_join_differently_named_fields() {
    let files = [
        (
            "a.yml",
            "title: Server error\nname: internal_error\nlogsource: {product: windows}\ndetection:\n    s: {status: 500}\n    condition: s\n",
        ),
        (
            "b.yml",
            "title: New connection\nname: new_connection\nlogsource: {product: windows}\ndetection:\n    s: {outcome: success}\n    condition: s\n",
        ),
        (
            "mr.yml",
            "title: Error then connection\ncorrelation:\n    type: temporal\n    rules: [internal_error, new_connection]\n    group-by: [internal_ip]\n    timespan: 10s\n    aliases:\n        internal_ip:\n            internal_error: dst\n            new_connection: src\n",
        ),
    ];
    let (set, errors) = load("aliases", &files);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        set.correlations[0].inputs[0].group_fields,
        vec!["dst".to_string()]
    );
    let events = [
        ev(
            0,
            serde_json::json!({"status": 500, "dst": "10.1.1.1", "src": "10.9.9.9"}),
        ),
        ev(
            5,
            serde_json::json!({"outcome": "success", "src": "10.1.1.1", "dst": "10.2.2.2"}),
        ),
    ];
    let (fired, _) = run(&set, &events);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1, vec!["10.1.1.1".to_string()]);
}

#[test]
fn bad_correlations_are_clear_errors() {
    let rule = (
        "r.yml",
        "title: R\nid: 11111111-1111-4111-8111-111111111111\nname: r\nlogsource: {product: windows}\ndetection:\n    s: {EventID: 1}\n    condition: s\n",
    );
    let twin = (
        "t.yml",
        "title: T\nname: r\nlogsource: {product: windows}\ndetection:\n    s: {EventID: 2}\n    condition: s\n",
    );
    let corr = |body: &str| format!("title: C\ncorrelation:\n{body}");
    let cases = [
        (vec![rule], corr("    type: event_count\n    rules: [nothing]\n    timespan: 1m\n    condition: {gte: 1}\n"), "`nothing` names no loaded rule"),
        (vec![rule, twin], corr("    type: event_count\n    rules: [r]\n    timespan: 1m\n    condition: {gte: 1}\n"), "`r` is ambiguous"),
        (vec![rule], corr("    type: event_count\n    rules: [r]\n    timespan: 1M\n    condition: {gte: 1}\n"), "unknown unit `M`"),
        (vec![rule], corr("    type: event_count\n    rules: [r]\n    timespan: 1m\n"), "needs a `condition`"),
        (vec![rule], corr("    type: event_count\n    rules: [r]\n    timespan: 1m\n    condition: {gte: 1, lt: 5, neq: 3}\n"), "two for a range"),
        (vec![rule], corr("    type: value_sum\n    rules: [r]\n    timespan: 1m\n    condition: {gte: 1}\n"), "needs `field`"),
        (vec![rule], corr("    type: count\n    rules: [r]\n    timespan: 1m\n"), "unknown correlation type `count`"),
        (vec![rule], corr("    type: temporal\n    rules: [r]\n    timespan: 1m\n    group-by: [h]\n    aliases: {h: {other: x}}\n"), "alias `h` gives no field for `r`"),
        (vec![rule], "title: C\nname: c\ncorrelation:\n    type: event_count\n    rules: [c]\n    timespan: 1m\n    condition: {gte: 1}\n".into(), "a cycle"),
    ];
    for (rules, text, expected) in cases {
        let mut files = rules.clone();
        files.push(("mr.yml", &text));
        let (set, errors) = load("errors", &files);
        assert!(
            errors.iter().any(|e| e.message.contains(expected)),
            "{expected}: {errors:?}"
        );
        assert!(set.correlations.is_empty(), "{expected}");
    }
}

#[test]
fn a_filter_removes_matches_from_the_rules_it_names() {
    let rule = "title: Archive
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource: {product: windows, category: process_creation}
detection:
    s: {Image|endswith: '\\rar.exe'}
    condition: s
";
    let other = "title: Other\nlogsource: {product: windows, category: process_creation}\ndetection:\n    s: {Image|endswith: '\\rar.exe'}\n    condition: s\n";
    let filter = "title: Admins
logsource: {product: windows, category: process_creation}
filter:
    rules: [6f3e2987-db24-4c78-a860-b4f4095a7095]
    selection:
        User|startswith: 'adm_'
    condition: selection
";
    let (set, errors) = load(
        "filter",
        &[("r.yml", rule), ("o.yml", other), ("mf.yml", filter)],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let interpreter = Interpreter::new(&set).unwrap();
    let matches = |user: &str| {
        let e = serde_json::json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
            "Image": "C:\\x\\rar.exe", "User": user});
        interpreter.matches(&JsonEvent::parse_str(&e.to_string()).unwrap())
    };
    let archive = set
        .rules
        .iter()
        .position(|r| r.meta.title == "Archive")
        .unwrap();
    let other = 1 - archive;
    assert_eq!(matches("bob"), {
        let mut v = vec![archive, other];
        v.sort();
        v
    });
    // The filtered rule no longer matches admins; the other rule still does.
    assert_eq!(matches("adm_bob"), vec![other]);
    // An unknown reference is an error.
    let (_, errors) = load(
        "filter_unknown",
        &[
            ("r.yml", rule),
            ("mf.yml", &filter.replace("6f3e2987", "00000000")),
        ],
    );
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("names no loaded rule")),
        "{errors:?}"
    );
}
