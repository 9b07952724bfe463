//! # detect-sigma
//!
//! The Sigma YAML front end of detect: Sigma rule files and folders into the
//! rule IR ([`detect_core::ir::RuleSet`]), for both back ends:
//!
//! * at **build time**, `detect_macros::sigma_rules!` compiles a file or a
//!   folder into a generated type, like the `rules!` DSL (native code, no
//!   interpretation, no allocation per event);
//! * at **run time**, [`load_dir`] feeds [`detect_core::interpreter::Interpreter`],
//!   the slower path for rules that arrive after the build.
//!
//! ```
//! use detect_core::{interpreter::Interpreter, JsonEvent};
//!
//! let yaml = r#"
//! title: Msiexec.EXE Initiated Network Connection Over HTTP
//! id: 8e5e38e4-5350-4c0b-895a-e872ce0dd54f
//! logsource:
//!     category: network_connection
//!     product: windows
//! detection:
//!     selection:
//!         Initiated: 'true'
//!         Image|endswith: '\msiexec.exe'
//!         DestinationPort:
//!             - 80
//!             - 443
//!     condition: selection
//! level: low
//! "#;
//! let rules = detect_sigma::parse_rule_file("net_connection_win_msiexec_http.yml", yaml)?;
//! assert_eq!(rules[0].name, "net_connection_win_msiexec_http");
//! let set = detect_core::ir::RuleSet { rules, ..Default::default() };
//! let interpreter = Interpreter::new(&set)?;
//! let event = JsonEvent::parse_str(r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
//!     "Initiated": "true", "Image": "C:\\Windows\\System32\\msiexec.exe", "DestinationPort": 443}"#)?;
//! assert_eq!(interpreter.matches(&event), vec![0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is supported
//!
//! * single and multi-document files; Sigma 1 rule collections
//!   (`action: global` merged into every following document, `reset`,
//!   `repeat`): each non-global document is one rule;
//! * `detection` selections as maps (AND), lists of maps (OR), keyword lists,
//!   single keywords, keyword entries (`'|all': [...]`), every modifier of the
//!   specification's appendix ([`detect_core::compile::sigma::detection_item`] gives
//!   them their meaning: the same code as the `rules!` DSL);
//! * `condition` as a string or a list (OR of its elements), with `and`,
//!   `or`, `not`, parentheses, `1 of pattern`, `all of pattern`, `them`
//!   ([`condition`]);
//! * metadata: id, title, description, level, status, tags, references,
//!   falsepositives, author (a list is joined with `, `), date, modified,
//!   logsource;
//! * your own field names and log sources through processing pipelines
//!   ([`pipeline`], [`ParseOptions::pipelines`]).
//!
//! Scalars follow the YAML 1.2 core schema with their text kept as written
//! ([`yaml::resolve_scalar`]): `DestinationPort: 80` is the number 80 written
//! `80`, `'80'` is a string; both match the text `80`.
//!
//! # What is not, and how it is reported
//!
//! Correlation rules and filters (meta-filters) are read by the loaders
//! ([`load_path`], [`load_paths`], [`load_dir`], [`load_dirs`]), which
//! resolve their references across every file loaded: a filter is added to
//! the rules it names (`and not`), a correlation lands in
//! [`RuleSet::correlations`] for [`detect_core::correlation::CorrelationEngine`].
//! [`meta_rules`] says what is accepted (timespan units,
//! conditions, aliases, chains). [`parse_rule_file`] reads a file alone and
//! refuses them (as unsupported: their references could not resolve).
//!
//! Every failure is a [`SigmaError`] naming the file, the line and column when
//! known, and the reason. [`ErrorKind::Unsupported`] marks valid Sigma that
//! detect does not run: a `temporal_ordered` with a condition, Sigma 1
//! aggregations (`| count()`) and `near`, regexes using look-around or
//! backreferences (the `regex` crate has neither), `expand` placeholders with
//! no values in [`ParseOptions::placeholders`], and **log sources that
//! [`detect_core::compile::logsource::resolve`] does not know** (an unknown service or
//! category is not silently widened to "every event": the rule is refused
//! with `unsupported log source: ...`). Everything else that fails is
//! [`ErrorKind::Invalid`] (a mistake in the rule), [`ErrorKind::Yaml`] or
//! [`ErrorKind::Io`].
//!
//! # Rule names
//!
//! IR rule names are derived from the file stem by [`rule_name_from_stem`]
//! (`proc_creation_win_msiexec_web.yml` → `proc_creation_win_msiexec_web`); a
//! file holding several rules numbers them (`_1`, `_2`...), and [`load_dir`]
//! appends `_2`, `_3`... to a name already taken. The Sigma `id` stays in the
//! metadata.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod condition;
pub mod meta_rules;
pub mod pipeline;
mod rule;
pub mod yaml;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use detect_core::ir::{Rule, RuleSet};

pub use meta_rules::timespan_ms;
pub use rule::rule_name_from_stem;

/// Why a Sigma file could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigmaError {
    /// The file, as given by the caller.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// The class of failure.
    pub kind: ErrorKind,
    /// What is wrong, and how to fix it when that is known.
    pub message: String,
}

/// The class of a [`SigmaError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The file is not valid YAML.
    Yaml,
    /// The rule breaks the Sigma specification (unknown modifier, unknown
    /// selection in the condition, missing title...).
    Invalid,
    /// Valid Sigma that detect does not support (log source, correlation,
    /// aggregation, regex feature...). `skip_unsupported` skips these.
    Unsupported,
}

impl SigmaError {
    /// True for [`ErrorKind::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        self.kind == ErrorKind::Unsupported
    }

    /// The file `path` is not valid YAML.
    pub(crate) fn yaml(path: &str, e: yaml::YamlError) -> SigmaError {
        SigmaError {
            path: path.to_string(),
            line: e.line,
            col: e.col,
            kind: ErrorKind::Yaml,
            message: format!("invalid YAML: {}", e.message),
        }
    }
}

impl std::fmt::Display for SigmaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SigmaError {}

/// Options for translating one file.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Values of `%name%` placeholders for the `expand` modifier (pySigma's
    /// placeholder pipelines), by name without the `%`.
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Processing pipelines applied to every rule, in order: field and log
    /// source mappings ([`pipeline`]).
    pub pipelines: Vec<pipeline::Pipeline>,
}

/// Options for loading a folder.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Options applied to every file.
    pub parse: ParseOptions,
    /// Skip (and list) rules that are valid Sigma but unsupported instead of
    /// failing ([`load_path`]; [`load_dir`] always skips and lists).
    pub skip_unsupported: bool,
}

/// Translates the Sigma file `text` into IR rules (several for a multi-document
/// rule collection). `path_for_errors` names the file in errors and gives the
/// rule names.
///
/// ```
/// let err = detect_sigma::parse_rule_file("rules/bad.yml", "title: x\nlogsource: {product: windows}\n\
///     detection:\n  sel:\n    Image|endwith: a\n  condition: sel\n").unwrap_err();
/// assert_eq!(err.to_string(), "rules/bad.yml:5:20: `Image|endwith`: unknown modifier `endwith`; \
///     did you mean `endswith`? known modifiers: contains, startswith, endswith, all, re, i, m, s, \
///     cidr, base64, base64offset, wide, utf16le, utf16be, utf16, windash, exists, fieldref, gt, \
///     gte, lt, lte, neq, cased, expand, minute, hour, day, week, month, year");
/// ```
pub fn parse_rule_file(path_for_errors: &str, text: &str) -> Result<Vec<Rule>, SigmaError> {
    rule::parse_file(path_for_errors, text, &ParseOptions::default())
}

/// [`parse_rule_file`] with options.
pub fn parse_rule_file_with(
    path_for_errors: &str,
    text: &str,
    options: &ParseOptions,
) -> Result<Vec<Rule>, SigmaError> {
    rule::parse_file(path_for_errors, text, options)
}

/// The result of [`load_path`].
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The rules, in path order, with unique names.
    pub rules: RuleSet,
    /// The file each rule comes from (parallel to `rules.rules`).
    pub sources: Vec<PathBuf>,
    /// Every file read (to make a build depend on them).
    pub files: Vec<PathBuf>,
    /// Rules skipped as unsupported (only with `skip_unsupported`).
    pub skipped: Vec<(PathBuf, SigmaError)>,
}

/// Every `.yml`/`.yaml` file under `path` (or `path` itself when it is a file),
/// sorted, hidden entries skipped.
pub fn rule_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads and parses every file, on as many threads as the machine has
/// cores (a rule folder is thousands of small independent files: the YAML
/// parse is most of a load), the results in the order of `files`.
fn parse_in_parallel(
    files: &[PathBuf],
    options: &ParseOptions,
) -> Vec<Result<rule::ParsedFile, SigmaError>> {
    let parse = |file: &PathBuf| {
        let shown = file.display().to_string();
        std::fs::read_to_string(file)
            .map_err(|e| SigmaError {
                path: shown.clone(),
                line: None,
                col: None,
                kind: ErrorKind::Io,
                message: format!("cannot read: {e}"),
            })
            .and_then(|text| rule::parse_file_all(&shown, &text, options))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || files.len() < 64 {
        return files.iter().map(parse).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(parse).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

fn load_files(paths: &[&Path], options: &LoadOptions) -> (Loaded, Vec<(PathBuf, SigmaError)>) {
    let mut loaded = Loaded::default();
    let mut failures = Vec::new();
    let mut files = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        match rule_files(path) {
            Ok(found) => {
                for f in found {
                    if seen.insert(f.clone()) {
                        files.push(f);
                    }
                }
            }
            Err(e) => {
                let err = SigmaError {
                    path: path.display().to_string(),
                    line: None,
                    col: None,
                    kind: ErrorKind::Io,
                    message: format!("cannot read: {e}"),
                };
                failures.push((path.to_path_buf(), err));
            }
        }
    }
    if !failures.is_empty() {
        return (loaded, failures);
    }
    let mut taken: HashSet<String> = HashSet::new();
    let mut sigma_names = Vec::new();
    let mut correlations = Vec::new();
    let mut filters = Vec::new();
    let results = parse_in_parallel(&files, &options.parse);
    for (file, result) in files.into_iter().zip(results) {
        loaded.files.push(file.clone());
        match result {
            Ok(parsed) => {
                sigma_names.extend(parsed.sigma_names);
                correlations.extend(parsed.correlations.into_iter().map(|c| (file.clone(), c)));
                filters.extend(parsed.filters);
                for mut r in parsed.rules {
                    let base = r.name.clone();
                    let mut k = 1;
                    while !taken.insert(r.name.clone()) {
                        k += 1;
                        r.name = format!("{base}_{k}");
                    }
                    loaded.rules.rules.push(r);
                    loaded.sources.push(file.clone());
                }
            }
            Err(e) if e.is_unsupported() && options.skip_unsupported => {
                loaded.skipped.push((file, e))
            }
            Err(e) => failures.push((file, e)),
        }
    }
    // Correlations and filters name rules of any file: resolved now.
    let mut taken: HashSet<String> = HashSet::new();
    let pending = correlations
        .into_iter()
        .map(|(_, mut c)| {
            let base = c.correlation.name.clone();
            let mut k = 1;
            while !taken.insert(c.correlation.name.clone()) {
                k += 1;
                c.correlation.name = format!("{base}_{k}");
            }
            c
        })
        .collect();
    let (resolved, errors) = meta_rules::resolve(
        &mut loaded.rules.rules,
        &sigma_names,
        filters,
        pending,
        &options.parse.pipelines,
    );
    loaded.rules.correlations = resolved;
    for e in errors {
        failures.push((PathBuf::from(&e.path), e));
    }
    (loaded, failures)
}

/// Loads every rule under `dir` (a folder, searched recursively, or one file),
/// the run-time path: the rules that compile, and every file that does not
/// with its error (unsupported ones included, whatever `skip_unsupported`
/// says). Feed the rule set to [`detect_core::interpreter::Interpreter`].
///
/// ```no_run
/// use detect_core::interpreter::Interpreter;
/// let (set, failures) = detect_sigma::load_dir("sigma/rules/windows".as_ref(), &Default::default());
/// for (_, e) in &failures {
///     eprintln!("skipped {e}");
/// }
/// let interpreter = Interpreter::new(&set).expect("every loaded rule is interpretable");
/// ```
pub fn load_dir(dir: &Path, options: &LoadOptions) -> (RuleSet, Vec<(PathBuf, SigmaError)>) {
    let (loaded, mut failures) = load_files(&[dir], options);
    failures.extend(loaded.skipped);
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    (loaded.rules, failures)
}

/// [`load_dir`] over several files or folders, read as one set: the
/// correlations and filters of one may name the rules of another.
pub fn load_dirs(paths: &[&Path], options: &LoadOptions) -> (RuleSet, Vec<(PathBuf, SigmaError)>) {
    let (loaded, mut failures) = load_files(paths, options);
    failures.extend(loaded.skipped);
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    (loaded.rules, failures)
}

/// What a strict load that failed still produced, and every failure.
pub type LoadFailure = (Loaded, Vec<(PathBuf, SigmaError)>);

/// Loads `path` (a file or a folder) strictly, the compile-time path: every
/// error fails the load, except unsupported rules when
/// [`LoadOptions::skip_unsupported`] is set (they are listed in
/// [`Loaded::skipped`]).
pub fn load_path(path: &Path, options: &LoadOptions) -> Result<Loaded, Box<LoadFailure>> {
    load_paths(&[path], options)
}

/// [`load_path`] over several files or folders, in the order given (each
/// folder's files sorted; a file reached twice is read once). Rule names are
/// made unique across all of them.
///
/// ```no_run
/// use std::path::Path;
/// let loaded = detect_sigma::load_paths(
///     &[Path::new("rules/a.yml"), Path::new("rules/more")],
///     &Default::default(),
/// ).map_err(|failed| failed.1)?;
/// println!("{} rules from {} files", loaded.rules.rules.len(), loaded.files.len());
/// # Ok::<(), Vec<(std::path::PathBuf, detect_sigma::SigmaError)>>(())
/// ```
pub fn load_paths(paths: &[&Path], options: &LoadOptions) -> Result<Loaded, Box<LoadFailure>> {
    let (loaded, failures) = load_files(paths, options);
    if failures.is_empty() {
        Ok(loaded)
    } else {
        Err(Box::new((loaded, failures)))
    }
}
