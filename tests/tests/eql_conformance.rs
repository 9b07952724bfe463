//! The endgame EQL conformance suite (`../shared/data/eql/test_queries.toml`
//! over `test_data.json`), replayed through the EQL front end in the endgame
//! dialect and the reference interpreter: events in file order, results as
//! `serial_event_id`s in order (for sequences, each completed sequence's
//! events, flattened, in completion order).
//!
//! Every query that uses only supported features must give exactly the
//! expected ids. The others are listed in [`NOT_SUPPORTED`] with the reason;
//! the test fails if one of them parses and passes (remove it from the list)
//! or if a query outside the list fails.

use detect::JsonEvent;
use detect::interpreter::CompiledExpr;
use detect_eql::reference::ReferenceMatcher;
use detect_eql::{Body, Options, Pipe, parse_query};

/// Queries that use features outside the supported subset: (position in the
/// file, 0-based; why; the query's start). Each must be refused by the parser
/// with an `unsupported:` error.
use Reason::*;

const NOT_SUPPORTED: &[(usize, Reason, &str)] = &[
    (
        27,
        StringOrdering,
        "process where process_name >= \"System\" and process_name <= \"System ...",
    ),
    (
        28,
        StringOrdering,
        "process where serial_event_id < 5 and process_name <= parent_proces...",
    ),
    (
        29,
        StringOrdering,
        "process where serial_event_id < 5 and process_name <= parent_proces...",
    ),
    (
        30,
        StringOrdering,
        "process where process_name >= \"System\" and process_name < \"System I...",
    ),
    (
        31,
        StringOrdering,
        "process where process_name > \"System\" and process_name <= \"System I...",
    ),
    (
        32,
        StringOrdering,
        "process where process_name > \"System\" and process_name < \"System Id...",
    ),
    (
        33,
        StringOrdering,
        "process where process_name >= \"Syste\" and process_name <= \"Systez\"",
    ),
    (
        34,
        StringOrdering,
        "process where process_name > \"System\" and process_name < \"Systez\"",
    ),
    (
        35,
        StringOrdering,
        "process where process_name >= \"System Idle Process\" and process_nam...",
    ),
    (
        36,
        StringOrdering,
        "process where process_name >= \"system idle process\" and process_nam...",
    ),
    (
        37,
        StringOrdering,
        "process where process_name >= \"system idle process\" and process_nam...",
    ),
    (
        38,
        StringOrdering,
        "process where process_name >= \"SYSTE\" and process_name < \"systex\"",
    ),
    (
        39,
        StringOrdering,
        "process where process_name >= \"sysT\" and process_name < \"SYsTeZZZ\"",
    ),
    (
        40,
        StringOrdering,
        "process where process_name >= \"SYSTE\" and process_name <= \"systex\"",
    ),
    (
        44,
        AggregatePipe,
        "process where process_name in (\"python.exe\", \"smss.exe\", \"Explorer....",
    ),
    (
        45,
        AggregatePipe,
        "process where process_name in (\"python.exe\", \"smss.exe\", \"explorer....",
    ),
    (
        46,
        AggregatePipe,
        "process where process_name in (\"Python.exe\", \"smss.exe\", \"explorer....",
    ),
    (
        52,
        ArrayIndex,
        "registry where length(bytes_written_string_list) == 2 and bytes_wri...",
    ),
    (
        55,
        Lineage,
        "file where file_name == \"csrss.exe\" and opcode=0 and descendant of ...",
    ),
    (
        56,
        Lineage,
        "process where opcode=1 and process_name == \"csrss.exe\" and descenda...",
    ),
    (
        57,
        Lineage,
        "process where opcode=1 and process_name == \"smss.exe\" and descendan...",
    ),
    (
        91,
        Arithmetic,
        "sequence [process where serial_event_id<3] by unique_pid * 2 [proce...",
    ),
    (
        92,
        Arithmetic,
        "sequence [process where serial_event_id<3] by unique_pid * 2, lengt...",
    ),
    (
        103,
        ArrayIndex,
        "sequence [file where opcode=0] by unique_pid [file where opcode=0] ...",
    ),
    (
        106,
        Join,
        "join [file where opcode=0 and file_name=\"*.exe\"] by unique_pid [fil...",
    ),
    (
        107,
        Join,
        "join by user_name [process where opcode in (1,3) and process_name=\"...",
    ),
    (
        108,
        Join,
        "join by unique_pid [process where opcode=1] [file where opcode=0 an...",
    ),
    (
        109,
        Join,
        "join by string(unique_pid) [process where opcode=1] [file where opc...",
    ),
    (
        110,
        Join,
        "join by unique_pid [process where opcode=1] [file where opcode=0 an...",
    ),
    (
        111,
        Join,
        "join by string(unique_pid), unique_pid, unique_pid * 2 [process whe...",
    ),
    (
        112,
        Join,
        "join [file where opcode=0 and file_name=\"svchost.exe\"] by unique_pi...",
    ),
    (
        113,
        Join,
        "join by unique_pid [process where opcode in (1,3) and process_name=...",
    ),
    (
        114,
        Join,
        "join by user_name [process where opcode in (1,3) and process_name=\"...",
    ),
    (
        115,
        Join,
        "join [process where opcode in (1,3) and process_name=\"python.exe\"] ...",
    ),
    (120, Function, "registry where length(bad_field) > 0"),
    (
        123,
        Lineage,
        "process where opcode=1 and process_name in (\"services.exe\", \"smss.e...",
    ),
    (
        124,
        Lineage,
        "process where process_name in (\"services.exe\", \"smss.exe\", \"lsass.e...",
    ),
    (
        125,
        Lineage,
        "process where opcode=2 and process_name in (\"services.exe\", \"smss.e...",
    ),
    (
        126,
        Lineage,
        "process where process_name=\"svchost.exe\" and child of [file where f...",
    ),
    (
        127,
        Lineage,
        "process where process_name=\"svchost.exe\" and not child of [file whe...",
    ),
    (
        128,
        Lineage,
        "process where process_name=\"lsass.exe\" and child of [ process where...",
    ),
    (
        129,
        Lineage,
        "file where child of [ process where child of [ process where child ...",
    ),
    (
        131,
        Lineage,
        "file where event of [process where process_name = \"python.exe\" ] | ...",
    ),
    (
        133,
        Lineage,
        "process where event of [process where process_name = \"python.exe\" ]",
    ),
    (
        141,
        Join,
        "join by user_name [file where true] by pid,file_path [process where...",
    ),
    (
        142,
        Fork,
        "sequence [process where true] by unique_pid [file where true] fork=...",
    ),
    (
        146,
        AggregatePipe,
        "any where process_name == \"svchost.exe\" | unique_count event_type_f...",
    ),
    (
        147,
        AggregatePipe,
        "any where process_name == \"svchost.exe\" | sort event_type_full seri...",
    ),
    (
        148,
        AggregatePipe,
        "any where process_name == \"svchost.exe\" | unique_count event_type_f...",
    ),
    (
        149,
        AggregatePipe,
        "any where process_name == \"svchost.exe\" | unique_count event_type_f...",
    ),
    (
        152,
        ArrayIndex,
        "registry where length(bytes_written_string_list) > 0 and bytes_writ...",
    ),
    (
        153,
        ArrayIndex,
        "registry where bytes_written_string_list[0] == 'EN-us'",
    ),
    (
        154,
        ArrayIndex,
        "registry where bytes_written_string_list[1] == 'EN'",
    ),
    (
        157,
        ArrayIndex,
        "registry where length(bytes_written_string_list) > 0 and bytes_writ...",
    ),
    (
        158,
        ArrayIndex,
        "registry where bytes_written_string_list[0] == 'en-US'",
    ),
    (
        159,
        ArrayIndex,
        "registry where bytes_written_string_list[1] == 'en'",
    ),
    (
        167,
        Function,
        "process where original_file_name == process_name and length(origina...",
    ),
    (
        174,
        LiteralFirstArgument,
        "file where opcode=0 and startsWith('explorer.exeaaaaaaaa', file_name)",
    ),
    (
        175,
        LiteralFirstArgument,
        "file where opcode=0 and serial_event_id = 88 and startsWith('explor...",
    ),
    (
        176,
        LiteralFirstArgument,
        "file where opcode=0 and stringContains('ABCDEFGHIexplorer.exeJKLMNO...",
    ),
    (
        177,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plore') == 2 and indexO...",
    ),
    (
        178,
        Function,
        "file where opcode=0 and indexOf(file_name, 'explorer.') > 0 and ind...",
    ),
    (
        179,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 0) == 2",
    ),
    (
        180,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 0) == 2",
    ),
    (
        181,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 2) != null",
    ),
    (
        182,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 2) != null",
    ),
    (
        183,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 4) != null",
    ),
    (
        184,
        Function,
        "file where opcode=0 and indexOf(file_name, 'thing that never happen...",
    ),
    (
        185,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 2) == 2",
    ),
    (
        186,
        Function,
        "file where opcode=0 and indexOf(file_name, 'plorer.', 2) == 2",
    ),
    (
        187,
        Function,
        "file where opcode=0 and indexOf(file_name, 'explorer.', 0) == 0",
    ),
    (
        188,
        Function,
        "file where opcode=0 and indexOf(file_name, 'explorer.', 0) == 0",
    ),
    (
        189,
        Function,
        "file where serial_event_id=88 and substring(file_name, 0, 4) == 'expl'",
    ),
    (
        190,
        Function,
        "file where substring(file_name, 1, 3) == 'xp'",
    ),
    (
        191,
        Function,
        "file where substring(file_name, 1, 3) == 'xp'",
    ),
    (
        192,
        Function,
        "file where substring(file_name, -4) == '.exe'",
    ),
    (
        193,
        Function,
        "file where substring(file_name, -4, -1) == '.ex'",
    ),
    (
        194,
        Function,
        "process where add(serial_event_id, 0) == 1 and add(0, 1) == serial_...",
    ),
    (
        195,
        Function,
        "process where subtract(serial_event_id, -5) == 6",
    ),
    (
        196,
        Function,
        "process where multiply(6, serial_event_id) == 30 and divide(30, 4.0...",
    ),
    (
        197,
        Function,
        "process where modulo(11, add(serial_event_id, 1)) == serial_event_id",
    ),
    (
        198,
        Function,
        "process where serial_event_id == number('5')",
    ),
    (
        199,
        Function,
        "process where serial_event_id == number('0x32', 16)",
    ),
    (
        200,
        Function,
        "process where serial_event_id == number('32', 16)",
    ),
    (
        201,
        Function,
        "process where concat(serial_event_id, ':', process_name, opcode) ==...",
    ),
    (
        202,
        Function,
        "process where concat(serial_event_id, ':', process_name, opcode) ==...",
    ),
    (
        203,
        Function,
        "process where process_name != original_file_name and length(origina...",
    ),
    (
        204,
        Function,
        "registry where arraySearch(bytes_written_string_list, a, a == 'en-US')",
    ),
    (
        205,
        Function,
        "registry where arraySearch(bytes_written_string_list, a, a == 'EN-US')",
    ),
    (
        206,
        Function,
        "registry where arraySearch(bytes_written_string_list, a, a == 'en-us')",
    ),
    (
        207,
        Function,
        "registry where arraySearch(bytes_written_string_list, a, endsWith(a...",
    ),
    (
        208,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        209,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        210,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        211,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        212,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        213,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        214,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        215,
        FieldAsCondition,
        "network where mysterious_field and arraySearch(mysterious_field.sub...",
    ),
    (
        216,
        Function,
        "network where safe(divide(process_name, process_name))",
    ),
    (
        218,
        Function,
        "registry where arrayCount(bytes_written_string_list, s, s == '*-us'...",
    ),
    (
        219,
        Function,
        "registry where arrayCount(bytes_written_string_list, s, s == '*en*'...",
    ),
    (221, Arithmetic, "file where serial_event_id - 1 == 81"),
    (222, Arithmetic, "file where serial_event_id + 1 == 83"),
    (223, Arithmetic, "file where serial_event_id * 2 == 164"),
    (224, Arithmetic, "file where serial_event_id / 2 == 41"),
    (225, Arithmetic, "file where serial_event_id / 2.0 == 41"),
    (226, Arithmetic, "file where serial_event_id % 40 == 2"),
    (
        227,
        Function,
        "process where between(process_name, \"s\", \"e\") == \"yst\"",
    ),
    (
        228,
        Function,
        "process where between(process_name, \"s\", \"e\", false) == \"yst\"",
    ),
    (
        229,
        Function,
        "process where between(process_name, \"s\", \"e\", false) == \"t\"",
    ),
    (
        230,
        Function,
        "process where between(process_name, \"S\", \"e\", true) == \"ystem Idle ...",
    ),
    (
        231,
        Function,
        "process where between(process_name, \"s\", \"e\", true) == \"ystem Idle ...",
    ),
    (
        232,
        Function,
        "file where between(file_path, \"dev\", \".json\", false) == \"\\\\TestLogs...",
    ),
    (
        233,
        Function,
        "file where between(file_path, \"dev\", \".json\", true) == \"\\\\TestLogs\\...",
    ),
    (
        238,
        Function,
        "process where length(between(process_name, 'g', 'e')) > 0",
    ),
    (
        239,
        Function,
        "process where length(between(process_name, 'g', 'e')) > 0",
    ),
    (
        240,
        Function,
        "process where length(between(process_name, 'g', 'z')) > 0",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    /// `join`.
    Join,
    /// `descendant of`, `child of`, `event of`.
    Lineage,
    /// `count` and `unique_count` pipes (results carry computed fields), and
    /// `unique` / `sort` on expressions rather than fields.
    AggregatePipe,
    /// Functions other than the string/cidr/regex ones (length, indexOf,
    /// substring, between, concat, number, add..., arraySearch/Count, safe).
    Function,
    /// `a + 1`, `unique_pid * 2`.
    Arithmetic,
    /// `field[0]`, `events[1].x`.
    ArrayIndex,
    /// `<`/`>` between strings or fields.
    StringOrdering,
    /// A bare field used as a boolean (`network where mysterious_field and ...`).
    FieldAsCondition,
    /// `startsWith('literal', field)`: a string function whose first argument is not a field.
    LiteralFirstArgument,
    /// `fork=true` on a stage.
    Fork,
}

/// An event of the suite: parsed, its `serial_event_id`, its time in ms.
type Row = (JsonEvent, i64, i64);

struct Case {
    query: String,
    expected: Vec<i64>,
    case_sensitive: bool,
}

fn load() -> (Vec<Case>, Vec<Row>) {
    let queries = detect_test_support::shared_data("eql/test_queries.toml");
    let data = detect_test_support::shared_data("eql/test_data.json");
    let text = std::fs::read_to_string(queries).expect("read test_queries.toml");
    let doc: toml::Table = text.parse().expect("parse test_queries.toml");
    let cases = doc["queries"]
        .as_array()
        .expect("[[queries]]")
        .iter()
        .map(|q| Case {
            query: q["query"].as_str().expect("query").to_string(),
            expected: q["expected_event_ids"]
                .as_array()
                .expect("expected_event_ids")
                .iter()
                .map(|v| v.as_integer().expect("id"))
                .collect(),
            case_sensitive: q
                .get("case_sensitive")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        })
        .collect();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data).expect("read test_data.json"))
            .expect("parse test_data.json");
    let events = json
        .as_array()
        .expect("array of events")
        .iter()
        .map(|e| {
            let id = e["serial_event_id"].as_i64().expect("serial_event_id");
            // FILETIME: 100 ns ticks -> ms.
            let ts = e["timestamp"].as_i64().expect("timestamp") / 10_000;
            (JsonEvent::parse_str(&e.to_string()).expect("event"), id, ts)
        })
        .collect();
    (cases, events)
}

/// Runs one query; `Err` is a parse error (unsupported feature or otherwise).
fn run(case: &Case, events: &[Row]) -> Result<Vec<i64>, String> {
    let mut options = Options::endgame();
    options.case_sensitive = case.case_sensitive;
    let q = parse_query(&case.query, &options).map_err(|e| e.to_string())?;
    // Each result: indices into `events`.
    let results: Vec<Vec<usize>> = match &q.body {
        Body::Event(expr) => {
            let m = CompiledExpr::new(expr)?;
            (0..events.len())
                .filter(|&i| m.matches(&events[i].0))
                .map(|i| vec![i])
                .collect()
        }
        Body::Sequence(seq) => {
            let mut m = ReferenceMatcher::new(seq, q.dialect)?;
            let mut out = Vec::new();
            for (i, (ev, _, ts)) in events.iter().enumerate() {
                for done in m.step(ev, *ts, i as u64) {
                    out.push(done.into_iter().map(|p| p as usize).collect());
                }
            }
            out
        }
    };
    apply_pipes(&q.pipes, results, events, !case.case_sensitive)
}

/// Applies a query's pipes to its results (each: indices into `events`) and
/// flattens them into `serial_event_id`s; strings group and sort as the
/// query compares them (`fold`: case-insensitively).
fn apply_pipes(
    pipes: &[Pipe],
    mut results: Vec<Vec<usize>>,
    events: &[Row],
    fold: bool,
) -> Result<Vec<i64>, String> {
    for pipe in pipes {
        match pipe {
            Pipe::Head(n) => results.truncate(*n),
            Pipe::Tail(n) => {
                let skip = results.len().saturating_sub(*n);
                results.drain(..skip);
            }
            Pipe::Filter(expr) => {
                let m = CompiledExpr::new(expr)?;
                results.retain(|r| m.matches(&events[r[0]].0));
            }
            Pipe::Unique(fields) => {
                let mut seen = std::collections::HashSet::new();
                results.retain(|r| seen.insert(sort_key(&events[r[0]].0, fields, fold)));
            }
            Pipe::Sort(fields) => {
                results.sort_by_cached_key(|r| sort_key(&events[r[0]].0, fields, fold));
            }
        }
    }
    Ok(results.into_iter().flatten().map(|i| events[i].1).collect())
}

/// A field's values for `unique` and `sort`, ordered as [`Pipe::Sort`] says:
/// missing or null first, then numbers, then strings.
#[derive(Clone, Debug)]
enum SortValue {
    Null,
    Num(f64),
    Str(String),
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            SortValue::Null => 0,
            SortValue::Num(_) => 1,
            SortValue::Str(_) => 2,
        }
    }
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (SortValue::Num(a), SortValue::Num(b)) => a.total_cmp(b),
            (SortValue::Str(a), SortValue::Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SortValue {}

impl std::hash::Hash for SortValue {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            SortValue::Null => 0u8.hash(h),
            SortValue::Num(n) => n.to_bits().hash(h),
            SortValue::Str(s) => s.hash(h),
        }
    }
}

/// The values of `fields` in `event` (each field: its values in order),
/// strings lowercased when `fold`.
fn sort_key(event: &JsonEvent, fields: &[String], fold: bool) -> Vec<Vec<SortValue>> {
    use detect::Event;
    fields
        .iter()
        .map(|f| {
            let mut values = Vec::new();
            event.lookup(f, &mut |v: detect::Value<'_>| {
                values.push(match v {
                    detect::Value::Null => SortValue::Null,
                    detect::Value::Str(s) if fold => SortValue::Str(s.to_lowercase()),
                    detect::Value::Str(s) => SortValue::Str(s.to_string()),
                    v => match v.as_number() {
                        Some(detect::ir::Number::Int(i)) => SortValue::Num(i as f64),
                        Some(detect::ir::Number::Float(x)) => SortValue::Num(x),
                        None => SortValue::Str(v.with_text(str::to_string).unwrap_or_default()),
                    },
                });
                false
            });
            if values.is_empty() {
                values.push(SortValue::Null);
            }
            values
        })
        .collect()
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn endgame_conformance_suite() {
    let (cases, events) = load();
    let mut passed = 0;
    let mut problems = Vec::new();
    let mut listed_report = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let outcome = run(case, &events);
        let listed = NOT_SUPPORTED.iter().find(|(n, _, _)| *n == i);
        let ok = matches!(&outcome, Ok(ids) if *ids == case.expected);
        let refused = matches!(&outcome, Err(e) if e.contains(": unsupported:"));
        match (ok, listed) {
            (true, None) => passed += 1,
            (_, Some((_, reason, _))) if !refused => problems.push(format!(
                "query #{i} is listed as unsupported ({reason:?}) but the parser accepts it \
                 (it {}): remove it from NOT_SUPPORTED\n{}",
                if ok { "passes" } else { "fails" },
                case.query.trim()
            )),
            (_, Some((_, reason, _))) => {
                listed_report.push(format!("#{i} {reason:?}: {}", outcome.unwrap_err()));
            }
            (false, None) => problems.push(format!(
                "query #{i} fails:\n{}\nexpected {:?}\ngot      {:?}",
                case.query.trim(),
                case.expected,
                outcome
            )),
        }
    }
    for (n, _, start) in NOT_SUPPORTED {
        let q = cases
            .get(*n)
            .map(|c| c.query.split_whitespace().collect::<Vec<_>>().join(" "));
        let expected = start.trim_end_matches("...");
        assert!(
            q.as_deref().is_some_and(|q| q.starts_with(expected)),
            "NOT_SUPPORTED #{n} does not match the file's query #{n} (the file changed?): {q:?}"
        );
    }
    println!(
        "EQL conformance: {passed}/{} queries pass, {} listed as unsupported",
        cases.len(),
        NOT_SUPPORTED.len()
    );
    for l in &listed_report {
        println!("  unsupported {l}");
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// The suite's sequence queries compiled by `build.rs` into
/// `suite::SuiteSequences`.
mod suite {
    include!(concat!(env!("OUT_DIR"), "/eql_suite_sequences.rs"));
}

/// The suite's sequence queries again, through the state machines that
/// `rules!` generates (`build.rs` compiles every one the front end parses,
/// pipes aside, into `suite::SuiteSequences`): events in file order with
/// `step_at` (their `timestamp` in ms), each sequence's completions in
/// order, the query's pipes applied as for the reference run. Every one
/// must give exactly the expected ids, and the same IR compiled at run time
/// (`RuntimeRuleSet::step_at`) must complete exactly the same sequences.
#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn endgame_conformance_sequences_generated() {
    use suite::{SUITE_INDEX, SuiteSequences};
    let (cases, events) = load();
    let mut state = SuiteSequences::sequences(1_024);
    let mut results: Vec<Vec<Vec<usize>>> = vec![Vec::new(); SUITE_INDEX.len()];
    for (pos, (event, _, ts)) in events.iter().enumerate() {
        state.step_at(event, *ts, pos as u64, |rule, done| {
            let k = SuiteSequences::SEQUENCES
                .iter()
                .position(|r| r.name == rule.name)
                .expect("a rule of the set");
            results[k].push(done.iter().map(|&p| p as usize).collect());
        });
    }
    // The same IR compiled at run time completes exactly the same sequences.
    let run_time = detect::runtime::RuntimeRuleSet::compile(SuiteSequences::ir())
        .expect("the suite's sequences compile at run time");
    let mut run_time_state = run_time.sequences(1_024);
    let mut run_time_results: Vec<Vec<Vec<usize>>> = vec![Vec::new(); SUITE_INDEX.len()];
    for (pos, (event, _, ts)) in events.iter().enumerate() {
        run_time.step_at(&mut run_time_state, event, *ts, pos as u64, |i, done| {
            let name = &run_time.sequence_rules()[i].name;
            let k = SuiteSequences::SEQUENCES
                .iter()
                .position(|r| r.name == name)
                .expect("a rule of the set");
            run_time_results[k].push(done.iter().map(|&p| p as usize).collect());
        });
    }
    assert_eq!(
        run_time_results, results,
        "run-time rule set vs generated sequences"
    );
    let mut problems = Vec::new();
    for (k, &i) in SUITE_INDEX.iter().enumerate() {
        let case = &cases[i];
        let mut options = Options::endgame();
        options.case_sensitive = case.case_sensitive;
        let q = parse_query(&case.query, &options).expect("build.rs parsed it");
        let got = apply_pipes(&q.pipes, std::mem::take(&mut results[k]), &events, true)
            .expect("pipes apply");
        if got != case.expected {
            problems.push(format!(
                "query #{i} (generated):\n{}\nexpected {:?}\ngot      {:?}",
                case.query.trim(),
                case.expected,
                got
            ));
        }
    }
    println!(
        "endgame conformance suite, generated sequences: {} of {} sequence queries compiled and pass",
        SUITE_INDEX.len() - problems.len(),
        cases
            .iter()
            .filter(|c| c.query.trim_start().starts_with("sequence"))
            .count()
    );
    // The suite has 43 sequence queries; fewer compiled means `build.rs`
    // stopped finding them.
    assert!(
        SUITE_INDEX.len() >= 30,
        "only {} sequence queries compiled",
        SUITE_INDEX.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
