//! EQL event queries written verbatim in `rules!` (`rule name = eql!(...)`),
//! in both dialects, compiled into generated code: every query must give the
//! same verdict through `scan` (dispatch and prefilter), `scan_unfiltered`,
//! the reference interpreter over the set's IR, and the same text parsed at
//! run time by `detect_eql` (so the macro compiles exactly what the front end
//! means). The endgame queries run over the events of the endgame suite
//! (`../shared/data/eql/test_data.json`) and, like the Elasticsearch ones,
//! over hand-written events with expected verdicts that pin the dialect
//! differences (`==` case-insensitive with `*` in endgame, `?` literal).

use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect::{CompiledRuleSet, JsonEvent};
use detect_eql::{Options, parse_query};

/// Declares a rule set of EQL rules in one dialect, and `TEXTS` with each
/// rule's name and query text (the same tokens the macro compiles).
macro_rules! eql_set {
    ($mod:ident, $set:ident, $dialect:ident, { $($rule:ident = $text:tt;)* }) => {
        // Only the rule set is used, not its (empty) sequence state.
        #[allow(dead_code)]
        mod $mod {
            detect::rules! {
                pub ruleset $set;
                $(
                    #[level(high)]
                    rule $rule = eql!(dialect = $dialect, $text);
                )*
            }
            pub const TEXTS: &[(&str, &str)] = &[$((stringify!($rule), $text)),*];
        }
    };
}

eql_set!(endgame, Endgame, endgame, {
    svchost_any_case = r#"process where process_name == "SVCHOST.exe""#;
    star_in_equals = r#"process where process_name == "svc*.EXE" and opcode == 1"#;
    question_mark_is_literal = r#"process where process_name == "svchost.ex?""#;
    in_list = r#"any where process_name in ("CMD.exe", "Python.EXE") and pid > 1000"#;
    colon_wildcards = r#"file where file_name : "*.?f" and process_name == "SVCHOST.EXE""#;
    string_functions = r#"process where startsWith(command_line, "C:\\WINDOWS") or stringContains(process_path, "system32\\SVC")"#;
    null_logic =
        r#"process where not (parent_process_name == "explorer.exe") and user_name != null"#;
    numbers =
        r#"any where serial_event_id >= 50 and serial_event_id < 60 and event_type != "process""#;
});

eql_set!(elastic, Elastic, elasticsearch, {
    msiexec_v = r#"process where process.name : "MSIEXEC.exe" and process.args : ("/V", "/i")"#;
    exact_case = r#"process where process.name == "msiexec.exe" and event.action == "start""#;
    in_tilde = r#"network where process.name in~ ("MsiExec.exe", "rundll32.exe") and destination.port in (80, 443)"#;
    question_wildcard = r#"process where process.executable : "?:\\Windows\\*\\msiexec.exe""#;
});

/// The rule names the generated code fires for `event`, three ways, and the
/// same IR compiled at run time, two ways, which must agree; and the runtime
/// parse of each text must agree with them.
fn verdicts<R: CompiledRuleSet>(
    texts: &[(&str, &str)],
    options: &Options,
    interp: &Interpreter,
    runtime: &[Interpreter],
    event: &JsonEvent,
) -> Vec<&'static str> {
    let mut scanned = Vec::new();
    R::scan(event, |r| scanned.push(r.name));
    let mut unfiltered = Vec::new();
    R::scan_unfiltered(event, |r| unfiltered.push(r.name));
    let interpreted: Vec<&str> = interp
        .matches(event)
        .into_iter()
        .map(|i| R::RULES[i].name)
        .collect();
    let at_runtime: Vec<&str> = texts
        .iter()
        .zip(runtime)
        .filter(|(_, i)| !i.matches(event).is_empty())
        .map(|((name, _), _)| *name)
        .collect();
    assert_eq!(scanned, unfiltered, "scan vs scan_unfiltered");
    assert_eq!(scanned, interpreted, "scan vs interpreter");
    assert_eq!(scanned, at_runtime, "scan vs runtime parse ({options:?})");
    let compiled = RuntimeRuleSet::compile(R::ir()).expect("IR compiles at run time");
    let mut rt = Vec::new();
    compiled.scan(event, |r| rt.push(R::RULES[r].name));
    let mut rt_unfiltered = Vec::new();
    compiled.scan_unfiltered(event, |r| rt_unfiltered.push(R::RULES[r].name));
    assert_eq!(scanned, rt, "scan vs run-time rule set");
    assert_eq!(scanned, rt_unfiltered, "scan vs run-time scan_unfiltered");
    scanned
}

fn runtime_rules(texts: &[(&str, &str)], options: &Options) -> Vec<Interpreter> {
    texts
        .iter()
        .map(|(name, text)| {
            let rule = parse_query(text, options).unwrap().to_rule(name).unwrap();
            Interpreter::new(&detect::ir::RuleSet {
                rules: vec![rule],
                ..Default::default()
            })
            .unwrap()
        })
        .collect()
}

fn parse(json: &str) -> JsonEvent {
    JsonEvent::parse_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn macro_ir_is_the_front_ends() {
    for (ir, texts, options) in [
        (endgame::Endgame::ir(), endgame::TEXTS, Options::endgame()),
        (
            elastic::Elastic::ir(),
            elastic::TEXTS,
            Options::elasticsearch(),
        ),
    ] {
        assert_eq!(ir.rules.len(), texts.len());
        for (rule, (name, text)) in ir.rules.iter().zip(texts) {
            let want = parse_query(text, &options).unwrap().to_rule(name).unwrap();
            assert_eq!(rule.name, *name);
            assert_eq!(rule.detection, want.detection, "{name}");
            assert_eq!(rule.vocabulary, want.vocabulary, "{name}");
            assert_eq!(rule.meta.level, detect::ir::Level::High);
        }
    }
}

#[test]
fn endgame_dialect_hand_written() {
    let options = Options::endgame();
    let interp = Interpreter::new(&endgame::Endgame::ir()).unwrap();
    let runtime = runtime_rules(endgame::TEXTS, &options);
    let run = |json: &str| {
        verdicts::<endgame::Endgame>(endgame::TEXTS, &options, &interp, &runtime, &parse(json))
    };
    // `==` ignores case; `?` is literal, so `svchost.ex?` matches only itself.
    assert_eq!(
        run(r#"{"event_type": "process", "process_name": "svchost.EXE", "opcode": 1}"#),
        ["svchost_any_case", "star_in_equals"]
    );
    assert_eq!(
        run(r#"{"event_type": "process", "process_name": "svchost.ex?", "opcode": 2}"#),
        ["question_mark_is_literal"]
    );
    // The category is exact on `event_type`.
    assert!(run(r#"{"event_type": "Process", "process_name": "svchost.exe"}"#).is_empty());
    assert_eq!(
        run(r#"{"event_type": "network", "process_name": "python.exe", "pid": 4000}"#),
        ["in_list"]
    );
    // Three-valued `not`: a missing parent makes the comparison null, and
    // `not null` is null (false at the top).
    assert!(
        run(r#"{"event_type": "process", "process_name": "a.exe", "user_name": "x"}"#).is_empty()
    );
    assert_eq!(
        run(
            r#"{"event_type": "process", "process_name": "a.exe", "user_name": "x", "parent_process_name": "cmd.exe"}"#
        ),
        ["null_logic"]
    );
}

#[test]
fn elasticsearch_dialect_hand_written() {
    let options = Options::elasticsearch();
    let interp = Interpreter::new(&elastic::Elastic::ir()).unwrap();
    let runtime = runtime_rules(elastic::TEXTS, &options);
    let run = |json: &str| {
        verdicts::<elastic::Elastic>(elastic::TEXTS, &options, &interp, &runtime, &parse(json))
    };
    let start = |name: &str, exe: &str, arg: &str| {
        format!(
            r#"{{"@timestamp": "2024-05-01T10:00:00Z", "event": {{"category": ["process"], "action": "start"}},
                "process": {{"name": "{name}", "executable": "{exe}", "args": ["{exe}", "{arg}"]}}}}"#
        )
    };
    let exe = r"C:\\Windows\\System32\\msiexec.exe";
    assert_eq!(
        run(&start("msiexec.exe", exe, "/v")),
        ["msiexec_v", "exact_case", "question_wildcard"]
    );
    // `==` is case-sensitive in this dialect, `:` is not.
    assert_eq!(run(&start("MsiExec.exe", exe, "/x")), ["question_wildcard"]);
    assert_eq!(
        run(&start("MsiExec.exe", exe, "/I")),
        ["msiexec_v", "question_wildcard"]
    );
    // `?` is one character.
    assert!(run(&start("x.exe", r"CC:\\Windows\\System32\\msiexec.exe", "")).is_empty());
    let net = |name: &str, port: u16| {
        format!(
            r#"{{"event": {{"category": "network"}}, "process": {{"name": "{name}"}}, "destination": {{"port": {port}}}}}"#
        )
    };
    assert_eq!(run(&net("MSIEXEC.EXE", 443)), ["in_tilde"]);
    assert!(run(&net("MSIEXEC.EXE", 8080)).is_empty());
    // The category test applies: a process event with the same fields does not match.
    assert!(run(&net("MSIEXEC.EXE", 443).replace("network", "process")).is_empty());
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn endgame_dialect_over_the_suite_events() {
    let path = detect_test_support::shared_data("eql/test_data.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let options = Options::endgame();
    let interp = Interpreter::new(&endgame::Endgame::ir()).unwrap();
    let runtime = runtime_rules(endgame::TEXTS, &options);
    let mut hits = std::collections::BTreeMap::<&str, usize>::new();
    let events = json.as_array().unwrap();
    for e in events {
        let ev = parse(&e.to_string());
        for name in verdicts::<endgame::Endgame>(endgame::TEXTS, &options, &interp, &runtime, &ev) {
            *hits.entry(name).or_default() += 1;
        }
    }
    eprintln!("endgame rules over {} suite events: {hits:?}", events.len());
    // Every rule but the literal `?` one fires on some events and not all.
    for (name, _) in endgame::TEXTS {
        let n = hits.get(name).copied().unwrap_or(0);
        if *name == "question_mark_is_literal" {
            assert_eq!(n, 0, "{name}");
        } else {
            assert!(n > 0 && n < events.len(), "{name}: {n}");
        }
    }
}

mod chains {
    detect::rules! {
        /// Two sequences written with `eql!`, one with `until`, shared and
        /// per-stage keys, one with `runs`, plus a stateless rule.
        pub ruleset Chains;

        rule cmd = eql!(r#"process where process.name : "cmd.exe""#);

        sequence cmd_connects = eql!(r#"
            sequence by host.id with maxspan=30s
              [process where event.type == "start" and process.name : "cmd.exe"] by process.entity_id
              [network where process.name : "cmd.exe" and destination.port in (80, 443)] by process.entity_id
            until [process where event.type == "end"] by process.entity_id
        "#);

        sequence dll_then_loader = eql!(r#"
            sequence with maxspan=10s
              [file where file.name : "*.dll"] by user.name with runs=2
              [process where process.name : ("rundll32.exe", "regsvr32.exe")] by user.name
        "#);
    }
}

/// A small xorshift generator: the streams are the same on every run.
use detect_test_support::XorShift64 as Rng;

/// What each sequence of a rule set completes, event by event: from the
/// generated state machine (`got`), from the same IR compiled at run time
/// (`run_time_got`) and from the reference matcher with the sequence's own
/// joins (`want`).
struct SideBySide {
    infos: &'static [detect::RuleInfo],
    references: Vec<detect_eql::reference::ReferenceMatcher>,
    run_time: RuntimeRuleSet,
    run_time_state: detect::SequenceState,
    got: Vec<Vec<Vec<u64>>>,
    run_time_got: Vec<Vec<Vec<u64>>>,
    want: Vec<Vec<Vec<u64>>>,
}

impl SideBySide {
    fn new(infos: &'static [detect::RuleInfo], ir: &detect::ir::RuleSet) -> SideBySide {
        let run_time = RuntimeRuleSet::compile(ir.clone()).expect("IR compiles at run time");
        assert_eq!(run_time.sequence_rules().len(), infos.len());
        SideBySide {
            infos,
            references: ir
                .sequences
                .iter()
                .map(|s| detect_eql::reference::ReferenceMatcher::for_sequence(s).unwrap())
                .collect(),
            run_time_state: run_time.sequences(64),
            run_time,
            got: vec![Vec::new(); infos.len()],
            run_time_got: vec![Vec::new(); infos.len()],
            want: vec![Vec::new(); infos.len()],
        }
    }

    /// Feeds `event` (at `ts`, position `pos`) to the reference matchers,
    /// to the run-time rule set (with `step_at` when `at_time`, else with
    /// `step`), and to the generated state through `step`, which passes on
    /// what the state reports.
    fn feed(
        &mut self,
        event: &JsonEvent,
        ts: i64,
        pos: u64,
        at_time: bool,
        step: impl FnOnce(&mut dyn FnMut(&'static detect::RuleInfo, &[u64])),
    ) {
        let (infos, got) = (self.infos, &mut self.got);
        step(&mut |rule, positions| {
            let i = infos.iter().position(|r| r.name == rule.name).unwrap();
            got[i].push(positions.to_vec());
        });
        let (run_time, run_time_got) = (&self.run_time, &mut self.run_time_got);
        let mut sink = |index: usize, positions: &[u64]| {
            let name = &run_time.sequence_rules()[index].name;
            let i = infos.iter().position(|r| r.name == name).unwrap();
            run_time_got[i].push(positions.to_vec());
        };
        if at_time {
            run_time.step_at(&mut self.run_time_state, event, ts, pos, &mut sink);
        } else {
            run_time.step(&mut self.run_time_state, event, pos, &mut sink);
        }
        for (i, r) in self.references.iter_mut().enumerate() {
            self.want[i].extend(r.step(event, ts, pos));
        }
    }

    /// Asserts that both sides completed the same sequences; adds each
    /// sequence's count to `totals`.
    fn check(&self, seed: u64, totals: &mut [usize]) {
        for (i, total) in totals.iter_mut().enumerate() {
            assert_eq!(self.got[i], self.want[i], "seed {seed}, sequence {i}");
            assert_eq!(
                self.run_time_got[i], self.want[i],
                "run-time rule set: seed {seed}, sequence {i}"
            );
            *total += self.got[i].len();
        }
    }
}

#[test]
fn generated_sequences_agree_with_the_reference_matcher() {
    use chains::Chains;

    let ir = Chains::ir();
    assert_eq!(ir.sequences.len(), 2);
    assert!(ir.sequences[0].until.is_some());
    assert_eq!(ir.sequences[1].stages.len(), 3);
    let mut totals = [0usize; 2];
    let mut cancelled = 0;
    for seed in 1..=20u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let mut sides = SideBySide::new(Chains::SEQUENCES, &ir);
        let mut state = Chains::sequences(64);
        let mut ts = 0i64;
        for pos in 0..400u64 {
            ts += rng.below(4_000) as i64;
            let category = rng.pick(&["process", "network", "file", "registry"]);
            let mut fields = vec![
                format!(r#""@timestamp": {ts}"#),
                format!(
                    r#""event": {{"category": ["{category}"], "type": ["{}"]}}"#,
                    rng.pick(&["start", "end", "info"])
                ),
            ];
            if rng.below(10) > 0 {
                fields.push(format!(r#""host": {{"id": "h{}"}}"#, rng.below(2)));
            }
            if rng.below(10) > 0 {
                fields.push(format!(
                    r#""user": {{"name": "{}"}}"#,
                    rng.pick(&["alice", "bob", "ALICE"])
                ));
            }
            fields.push(format!(
                r#""process": {{"name": "{}", "entity_id": "p{}"}}"#,
                rng.pick(&[
                    "cmd.exe",
                    "CMD.EXE",
                    "rundll32.exe",
                    "regsvr32.exe",
                    "explorer.exe"
                ]),
                rng.below(4)
            ));
            fields.push(format!(
                r#""destination": {{"port": {}}}, "file": {{"name": "{}"}}"#,
                rng.pick(&["80", "443", "8080"]),
                rng.pick(&["x.dll", "Y.DLL", "z.txt"])
            ));
            let event = parse(&format!("{{{}}}", fields.join(", ")));
            sides.feed(&event, ts, pos, false, |sink| state.step(&event, pos, sink));
        }
        sides.check(seed, &mut totals);
        cancelled += state.stats(0).cancelled;
    }
    // Both rules complete sequences and `until` cancels some, so the
    // comparison is not vacuous.
    assert!(
        totals.iter().all(|&n| n > 10),
        "completed sequences: {totals:?}"
    );
    assert!(cancelled > 0, "`until` cancelled nothing");
}

mod endgame_chains {
    detect::rules! {
        /// Endgame-dialect sequences: the endgame engine's joins (null keys
        /// join, keys compare lowercased, first value of several, older
        /// events still advance).
        pub ruleset EndgameChains;

        sequence spawn_then_write = eql!(dialect = endgame, r#"
            sequence by user_name with maxspan=30s
              [process where opcode == 1] by unique_pid
              [file where opcode == 0 and file_name == "*.exe"] by unique_pid
            until [process where opcode == 2] by unique_pid
        "#);

        sequence writes_then_run = eql!(dialect = endgame, r#"
            sequence
              [file where opcode == 0] by file_path, unique_pid with runs=2
              [process where true] by process_path, unique_ppid
        "#);
    }
}

/// The endgame joins, one at a time, on hand-written events: what the
/// generated tables, the run-time rule set and the reference matcher must
/// all report.
#[test]
fn endgame_sequences_join_as_the_endgame_engine() {
    use detect_eql::reference::ReferenceMatcher;
    use endgame_chains::EndgameChains;

    let ir = EndgameChains::ir();
    assert!(
        ir.sequences
            .iter()
            .all(|s| s.joins == detect::ir::Joins::Endgame)
    );
    let process = |pid: &str, user: &str| {
        format!(
            r#"{{"event_type": "process", "opcode": 1, "unique_pid": {pid}, "user_name": {user}}}"#
        )
    };
    let file = |pid: &str, user: &str| {
        format!(
            r#"{{"event_type": "file", "opcode": 0, "file_name": "a.EXE", "unique_pid": {pid}, "user_name": {user}}}"#
        )
    };
    // (what, events as (line, time in ms), the completed sequence expected)
    type Case<'a> = (&'a str, Vec<(String, i64)>, Vec<Vec<u64>>);
    let cases: Vec<Case> = vec![
        (
            "keys compare lowercased",
            vec![
                (process(r#""P-1""#, r#""Ann""#), 0),
                (file(r#""p-1""#, r#""ANN""#), 1),
            ],
            vec![vec![0, 1]],
        ),
        (
            "a missing key joins a null one",
            vec![
                (process("null", r#""ann""#), 0),
                (
                    r#"{"event_type": "file", "opcode": 0, "file_name": "a.exe", "user_name": "ann"}"#
                        .to_string(),
                    1,
                ),
            ],
            vec![vec![0, 1]],
        ),
        (
            "an empty array is no value: it joins a null one",
            vec![
                (process("null", r#""ann""#), 0),
                (file(r#"[]"#, r#""ann""#), 1),
            ],
            vec![vec![0, 1]],
        ),
        (
            "a null key does not join a value",
            vec![
                (process("null", r#""ann""#), 0),
                (file(r#""p-1""#, r#""ann""#), 1),
            ],
            vec![],
        ),
        (
            "the first of several values is the key",
            vec![
                (process(r#"["p-1", "p-2"]"#, r#""ann""#), 0),
                (file(r#""p-2""#, r#""ann""#), 1),
                (file(r#"["P-1", "p-3"]"#, r#""ann""#), 2),
            ],
            vec![vec![0, 2]],
        ),
        (
            "an older event still advances",
            vec![
                (process(r#""p-1""#, r#""ann""#), 5_000),
                (file(r#""p-1""#, r#""ann""#), 1_000),
            ],
            vec![vec![0, 1]],
        ),
        (
            "maxspan still holds",
            vec![
                (process(r#""p-1""#, r#""ann""#), 0),
                (file(r#""p-1""#, r#""ann""#), 30_001),
            ],
            vec![],
        ),
    ];
    let run_time = RuntimeRuleSet::compile(ir.clone()).expect("IR compiles at run time");
    for (what, events, expected) in cases {
        let mut state = EndgameChains::sequences(16);
        let mut run_time_state = run_time.sequences(16);
        let mut reference = ReferenceMatcher::for_sequence(&ir.sequences[0]).unwrap();
        let (mut got, mut run_time_got, mut want) = (Vec::new(), Vec::new(), Vec::new());
        for (pos, (line, ts)) in events.iter().enumerate() {
            let event = parse(line);
            state.step_at(&event, *ts, pos as u64, |rule, positions| {
                assert_eq!(rule.name, "spawn_then_write");
                got.push(positions.to_vec());
            });
            run_time.step_at(
                &mut run_time_state,
                &event,
                *ts,
                pos as u64,
                |i, positions| {
                    assert_eq!(run_time.sequence_rules()[i].name, "spawn_then_write");
                    run_time_got.push(positions.to_vec());
                },
            );
            want.extend(reference.step(&event, *ts, pos as u64));
        }
        assert_eq!(got, expected, "generated: {what}");
        assert_eq!(run_time_got, expected, "run-time rule set: {what}");
        assert_eq!(want, expected, "reference: {what}");
    }
}

/// Random streams of endgame events (keys missing, null, in arrays, in
/// either case; times out of order): the generated tables report what the
/// reference matcher does.
#[test]
fn generated_endgame_sequences_agree_with_the_reference_matcher() {
    use endgame_chains::EndgameChains;

    let ir = EndgameChains::ir();
    let mut totals = [0usize; 2];
    let mut late = 0usize;
    for seed in 1..=20u64 {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ seed);
        let mut sides = SideBySide::new(EndgameChains::SEQUENCES, &ir);
        let mut state = EndgameChains::sequences(64);
        let mut ts = 0i64;
        for pos in 0..400u64 {
            // Mostly forward, sometimes back.
            let step = rng.below(6_000) as i64 - 1_000;
            late += usize::from(step < 0);
            ts += step;
            let key = |rng: &mut Rng, names: &[&str]| -> String {
                match rng.below(8) {
                    0 => "null".into(),
                    1 => format!(r#"["{}", "{}"]"#, rng.pick(names), rng.pick(names)),
                    _ => format!(r#""{}""#, rng.pick(names)),
                }
            };
            let mut fields = vec![
                format!(
                    r#""event_type": "{}""#,
                    rng.pick(&["process", "file", "network"])
                ),
                format!(r#""opcode": {}"#, rng.below(3)),
                format!(
                    r#""file_name": "{}""#,
                    rng.pick(&["a.exe", "B.EXE", "c.txt"])
                ),
            ];
            for (field, names) in [
                ("unique_pid", &["p1", "P1", "p2"][..]),
                ("unique_ppid", &["p1", "p2", "P2"][..]),
                ("user_name", &["ann", "ANN", "bob"][..]),
                ("file_path", &[r"C:\A.exe", r"c:\a.exe", r"C:\b.exe"][..]),
                ("process_path", &[r"C:\a.exe", r"C:\B.exe"][..]),
            ] {
                // Sometimes missing altogether.
                if rng.below(10) > 0 {
                    let value = key(&mut rng, names).replace('\\', r"\\");
                    fields.push(format!(r#""{field}": {value}"#));
                }
            }
            let event = parse(&format!("{{{}}}", fields.join(", ")));
            sides.feed(&event, ts, pos, true, |sink| {
                state.step_at(&event, ts, pos, sink)
            });
        }
        sides.check(seed, &mut totals);
    }
    assert!(
        totals.iter().all(|&n| n > 10),
        "completed sequences: {totals:?}"
    );
    assert!(late > 100, "few events out of order: {late}");
}
