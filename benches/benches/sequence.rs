//! Per-event cost of a sequence rule (criterion): seed 003, "Remote File
//! Execution via MSIEXEC" (`detect_rules::BuiltinSequences`), with 0, 1,000
//! and 100,000 pending first-stage sequences in its table. See the
//! "Sequence rules" section of `BENCHMARKS.md` for the results.
//!
//! One iteration steps the state machine over a fixed list of 1,000 ECS
//! events (Elastic Defend shaped, parsed beforehand), `Throughput::Elements`:
//!
//! * 860 events no stage accepts: process starts of other programs (some
//!   with an `msiexec.exe` parent whose executable is excluded), network
//!   events of other programs, file and registry events, msiexec starts
//!   without `/V`;
//! * 40 msiexec `/V` starts (stage 1: a new pending sequence each);
//! * 40 connection attempts of those msiexec processes (stage 2: advance);
//! * 40 children they start (stage 3: 40 completed sequences per pass);
//! * 20 msiexec connection attempts whose process has no pending sequence
//!   (stage 2 accepts the event, the table lookup finds nothing).
//!
//! Before the timing, `N` msiexec `/V` starts with distinct entity ids fill the
//! table with `N` pending first-stage sequences (table capacity 131,072 in
//! every case, so only the occupancy differs). Every event of the timed list
//! lies within a second after them, well inside the rule's one-minute span,
//! and every chain the list starts it also completes, so each pass leaves the
//! table as it found it: `N` pending sequences, no eviction, no expiry. That
//! is checked before measuring, and the completions are counted, so the
//! benchmark cannot silently measure a machine that does nothing.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use detect::JsonEvent;
use detect_rules::{Builtin, BuiltinSequences};

/// Pending-sequence capacity of the table in every case.
const CAPACITY: usize = 131_072;

/// The pre-filled occupancies measured.
const PENDING: [usize; 3] = [0, 1_000, 100_000];

/// Chains (start, connection, child) per pass.
const CHAINS: usize = 40;

/// Events per pass.
const EVENTS: usize = 1_000;

/// Milliseconds since the epoch of the first timed event
/// (2026-11-22T02:00:00Z); pre-filled sequences start 1 ms earlier.
const T0: i64 = 1_795_312_800_000;

/// `T0 + ms` as an ECS `@timestamp` string.
fn ts(ms: i64) -> String {
    let t = T0 + ms;
    let secs = t / 1000;
    format!(
        "2026-11-22T02:{:02}:{:02}.{:03}Z",
        (secs / 60) % 60,
        secs % 60,
        t % 1000
    )
}

/// A JSON string literal of `s` (backslashes and quotes escaped).
fn q(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('"');
    o
}

const HOST: &str =
    r#""host": {"os": {"type": "windows"}, "name": "ws-0042"}, "agent": {"type": "endpoint"}"#;
const USER: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

fn process_start(ms: i64, id: &str, exe: &str, args: &[&str], parent: (&str, &str)) -> String {
    let name = exe.rsplit('\\').next().unwrap_or(exe);
    let args: Vec<String> = std::iter::once(exe)
        .chain(args.iter().copied())
        .map(q)
        .collect();
    format!(
        r#"{{"@timestamp": {}, "event": {{"kind": "event", "category": ["process"], "type": ["start"], "action": "start"}}, {HOST},
            "user": {{"id": {}, "name": "bob"}},
            "process": {{"name": {}, "executable": {}, "args": [{}], "entity_id": {}, "pid": 4242,
                         "code_signature": {{"subject_name": "Microsoft Windows", "trusted": true}},
                         "Ext": {{"token": {{"integrity_level_name": "medium"}}}},
                         "parent": {{"name": {}, "entity_id": {}}}}}}}"#,
        q(&ts(ms)),
        q(USER),
        q(name),
        q(exe),
        args.join(", "),
        q(id),
        q(parent.0),
        q(parent.1),
    )
}

fn connection(ms: i64, id: &str, name: &str) -> String {
    format!(
        r#"{{"@timestamp": {}, "event": {{"kind": "event", "category": ["network"], "type": ["start"], "action": "connection_attempted"}}, {HOST},
            "process": {{"name": {}, "entity_id": {}, "pid": 4242}},
            "source": {{"ip": "10.1.2.3", "port": 49822}}, "destination": {{"ip": "203.0.113.7", "port": 443}}}}"#,
        q(&ts(ms)),
        q(name),
        q(id),
    )
}

fn file_event(ms: i64, id: &str, path: &str) -> String {
    format!(
        r#"{{"@timestamp": {}, "event": {{"kind": "event", "category": ["file"], "type": ["creation"], "action": "creation"}}, {HOST},
            "file": {{"path": {}}}, "process": {{"name": "explorer.exe", "entity_id": {}}}}}"#,
        q(&ts(ms)),
        q(path),
        q(id),
    )
}

fn registry_event(ms: i64, id: &str) -> String {
    format!(
        r#"{{"@timestamp": {}, "event": {{"kind": "event", "category": ["registry"], "type": ["change"], "action": "modification"}}, {HOST},
            "registry": {{"path": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x"}},
            "process": {{"name": "svchost.exe", "entity_id": {}}}}}"#,
        q(&ts(ms)),
        q(id),
    )
}

const MSIEXEC: &str = r"C:\Windows\System32\msiexec.exe";

/// The timed events, in time order (see the module docs for the mix).
fn timed_events() -> Vec<JsonEvent> {
    const OTHER: [&str; 8] = [
        r"C:\Windows\System32\cmd.exe",
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Windows\System32\conhost.exe",
        r"C:\Windows\explorer.exe",
        r"C:\Windows\System32\rundll32.exe",
        r"C:\Users\bob\AppData\Local\Programs\Code\Code.exe",
    ];
    let mut lines = Vec::with_capacity(EVENTS);
    let mut ms = 0i64;
    let mut next = || {
        ms += 1;
        ms
    };
    // Each block of 25 events: one chain (start, connection, child), with
    // 22 (or, every other block, 21 plus a stray msiexec connection)
    // non-matching events between its stages.
    for c in 0..CHAINS {
        let id = format!("{{7a1c-msi-{c:04}}}");
        let filler =
            |lines: &mut Vec<String>, n: usize, k: usize, next: &mut dyn FnMut() -> i64| {
                for j in 0..n {
                    let i = c * 25 + k + j;
                    let other = format!("{{0b5e-{i:05}}}");
                    let line = match i % 10 {
                        0..=3 => process_start(
                            next(),
                            &other,
                            OTHER[i % 8],
                            &["/c", "echo x"],
                            ("explorer.exe", "{0b5e-root}"),
                        ),
                        4 | 5 => connection(next(), &other, ["chrome.exe", "svchost.exe"][i % 2]),
                        6 => file_event(next(), &other, r"C:\Users\bob\Downloads\report.pdf"),
                        7 => registry_event(next(), &other),
                        // msiexec without /V: stage 1 refuses it.
                        8 => process_start(
                            next(),
                            &other,
                            MSIEXEC,
                            &["/i", r"C:\temp\x.msi", "/qn"],
                            ("explorer.exe", "{0b5e-root}"),
                        ),
                        // A child of msiexec that the rule excludes (MSI*.tmp).
                        _ => process_start(
                            next(),
                            &other,
                            r"C:\Windows\Installer\MSI4F2A.tmp",
                            &[],
                            ("msiexec.exe", "{0b5e-msi}"),
                        ),
                    };
                    lines.push(line);
                }
            };
        lines.push(process_start(
            next(),
            &id,
            MSIEXEC,
            &["/V"],
            ("explorer.exe", "{0b5e-root}"),
        ));
        filler(&mut lines, 7, 1, &mut next);
        lines.push(connection(next(), &id, "msiexec.exe"));
        let stray = c % 2 == 0;
        filler(&mut lines, if stray { 6 } else { 7 }, 9, &mut next);
        if stray {
            lines.push(connection(
                next(),
                &format!("{{dead-msi-{c:04}}}"),
                "msiexec.exe",
            ));
        }
        lines.push(process_start(
            next(),
            &format!("{{c41d-{c:04}}}"),
            r"C:\Users\bob\AppData\Local\Temp\payload.exe",
            &[],
            ("msiexec.exe", &id),
        ));
        filler(&mut lines, 8, 17, &mut next);
    }
    assert_eq!(lines.len(), EVENTS);
    lines
        .iter()
        .map(|l| JsonEvent::parse_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A table with `n` pending first-stage sequences (distinct msiexec `/V`
/// starts, all 1 ms before the timed events).
fn prefilled(n: usize) -> BuiltinSequences {
    let mut state = Builtin::sequences(CAPACITY);
    let mut event = JsonEvent::new();
    for i in 0..n {
        let line = process_start(
            -1,
            &format!("{{9f00-pending-{i:06}}}"),
            MSIEXEC,
            &["/V"],
            ("explorer.exe", "{0b5e-root}"),
        );
        event.parse(line.as_bytes()).expect("valid ECS event");
        state.step(&event, i as u64, |_, _| {
            panic!("a first stage alone completes nothing")
        });
    }
    assert_eq!(state.pending(0), n);
    state
}

/// One pass over the timed events; the number of completed sequences.
fn pass(state: &mut BuiltinSequences, events: &[JsonEvent]) -> u64 {
    let mut completed = 0u64;
    for (pos, event) in events.iter().enumerate() {
        state.step(black_box(event), pos as u64, |_, positions| {
            completed += positions.len() as u64 / 3;
        });
    }
    completed
}

fn sequences(c: &mut Criterion) {
    let events = timed_events();
    let mut g = c.benchmark_group("sequence/seed_003");
    g.sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(EVENTS as u64));
    for n in PENDING {
        let mut state = prefilled(n);
        // Two untimed passes: the steady state is reached and is what the
        // module docs say (every chain completes, the occupancy is back to n).
        for _ in 0..2 {
            assert_eq!(pass(&mut state, &events), CHAINS as u64);
            assert_eq!(state.pending(0), n);
        }
        let stats = state.stats(0);
        assert_eq!(
            (stats.evicted, stats.expired, stats.out_of_order),
            (0, 0, 0)
        );
        g.bench_function(format!("pending_{n}"), |b| {
            b.iter(|| pass(&mut state, &events))
        });
        assert_eq!(state.pending(0), n);
    }
    g.finish();
}

criterion_group!(benches, sequences);
criterion_main!(benches);
