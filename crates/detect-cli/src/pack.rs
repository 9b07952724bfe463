//! The rule pack a run uses: the built-in rules, the compiled SigmaHQ
//! windows corpus (cargo feature `sigmahq`), or Sigma YAML loaded at run time
//! and compiled at start-up into the same engine (`--sigma`).
//!
//! The pack is chosen once, before any input is read, and installed with
//! [`install`]; the scanner, the filters and the output read it through
//! [`active`]. A process runs one pack (the `detect` binary scans once and
//! exits), which is why it is a process-wide value rather than a parameter
//! threaded through every worker.
//!
//! Every pack scans through the same engine (log source dispatch table,
//! prefilter, candidate predicates, no allocation per event): compiled packs
//! with predicates generated as Rust, the Sigma pack with predicates
//! compiled at start-up ([`detect::runtime::RuntimeRuleSet`]). The Sigma
//! pack's rule metadata is built once from the YAML and leaked (one load per
//! process), so that matches carry the same `&'static RuleInfo` as compiled
//! rules do.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use detect::correlation::CorrelationEngine;
use detect::ir::Rule;
use detect::runtime::RuntimeRuleSet;
use detect::{Event, LogSourceInfo, RuleInfo};
use detect_rules::Builtin;
use detect_sigma::{ErrorKind, LoadOptions, ParseOptions, SigmaError, pipeline::Pipeline};

use crate::cli::{PackArgs, PackName};

/// A set of rules `detect` can run.
pub(crate) enum Pack {
    /// [`Builtin`]: the seed rules and the seed sequence, compiled.
    Builtin,
    /// The SigmaHQ windows corpus compiled to native code.
    #[cfg(feature = "sigmahq")]
    SigmaHq,
    /// Sigma YAML loaded and compiled at run time.
    Sigma(Box<SigmaPack>),
}

/// Sigma rules loaded at run time (`--sigma`).
pub(crate) struct SigmaPack {
    /// Metadata of every loaded rule, by index.
    rules: &'static [RuleInfo],
    /// The rules, compiled.
    engine: RuntimeRuleSet,
    /// The correlation rules (their state is each scanner's).
    correlations: Vec<detect::ir::Correlation>,
    /// Metadata of the correlation rules, by index.
    correlation_rules: &'static [RuleInfo],
}

impl Pack {
    /// Metadata of the stateless rules, indexed by [`RuleInfo::index`].
    pub(crate) fn rules(&self) -> &'static [RuleInfo] {
        match self {
            Pack::Builtin => Builtin::RULES,
            #[cfg(feature = "sigmahq")]
            Pack::SigmaHq => <detect_sigmahq::SigmaHqWindows as detect::CompiledRuleSet>::RULES,
            Pack::Sigma(p) => p.rules,
        }
    }

    /// Metadata of the stateful rules: the built-in pack's sequence rules,
    /// or the Sigma pack's correlation rules.
    pub(crate) fn sequences(&self) -> &'static [RuleInfo] {
        match self {
            Pack::Builtin => Builtin::SEQUENCES,
            Pack::Sigma(p) => p.correlation_rules,
            #[cfg(feature = "sigmahq")]
            _ => &[],
        }
    }

    /// The IR of the stateless rules, indexed as [`Pack::rules`] (built
    /// from the compiled pack's IR or kept from loading: start-up only).
    pub(crate) fn ir(&self) -> detect::ir::RuleSet {
        match self {
            Pack::Builtin => Builtin::ir(),
            #[cfg(feature = "sigmahq")]
            Pack::SigmaHq => <detect_sigmahq::SigmaHqWindows as detect::CompiledRuleSet>::ir(),
            Pack::Sigma(p) => p.engine.ir().clone(),
        }
    }

    /// A fresh state for the Sigma pack's correlation rules (indexed as
    /// [`Pack::sequences`]), holding at most `capacity` groups and window
    /// events per correlation; `None` when the pack has none.
    pub(crate) fn correlation_engine(&self, capacity: usize) -> Option<CorrelationEngine> {
        match self {
            Pack::Sigma(p) if !p.correlations.is_empty() => Some(CorrelationEngine::new(
                &p.correlations,
                p.rules.len(),
                capacity,
            )),
            _ => None,
        }
    }

    /// Every rule then every sequence rule.
    pub(crate) fn all_rules(&self) -> impl Iterator<Item = &'static RuleInfo> + use<> {
        self.rules().iter().chain(self.sequences())
    }

    /// Whether the sequence rules run ([`Builtin`]'s generated state machine).
    pub(crate) fn has_sequences(&self) -> bool {
        matches!(self, Pack::Builtin)
    }

    /// Calls `sink` for every stateless rule that matches `event`, in rule order.
    pub(crate) fn scan<E: Event + ?Sized>(
        &self,
        event: &E,
        sink: &mut dyn FnMut(&'static RuleInfo),
    ) {
        match self {
            Pack::Builtin => Builtin::scan(event, sink),
            #[cfg(feature = "sigmahq")]
            Pack::SigmaHq => detect_sigmahq::SigmaHqWindows::scan(event, sink),
            Pack::Sigma(p) => p.engine.scan(event, |i| sink(&p.rules[i])),
        }
    }
}

static ACTIVE: OnceLock<Pack> = OnceLock::new();

/// Makes `pack` the pack of this process. The first call wins; a later call
/// returns its pack back as the error.
pub(crate) fn install(pack: Pack) -> Result<(), Pack> {
    ACTIVE.set(pack)
}

/// The pack installed by [`install`], or the built-in pack if none was.
pub(crate) fn active() -> &'static Pack {
    ACTIVE.get_or_init(|| Pack::Builtin)
}

/// A pack that could not be chosen or loaded: what to print, one problem per line.
#[derive(Debug)]
pub(crate) struct PackError(pub(crate) String);

/// What loading a pack said besides the pack: rules skipped as unsupported.
#[derive(Debug, Default)]
pub(crate) struct Skipped(pub(crate) Vec<SigmaError>);

/// The pack chosen by `args`, and the rules it skipped.
pub(crate) fn load(args: &PackArgs) -> Result<(Pack, Skipped), PackError> {
    if !args.sigma.is_empty() {
        if args.pack.is_some() {
            return Err(PackError(
                "--sigma and --pack choose the rules in two ways; give only one".into(),
            ));
        }
        return load_sigma(&args.sigma, &args.pipelines, args.sigma_strict);
    }
    if !args.pipelines.is_empty() {
        return Err(PackError(
            "--pipeline applies to Sigma rules loaded with --sigma; add --sigma DIR \
             (compiled packs had their pipelines applied when they were built)"
                .into(),
        ));
    }
    match args.pack.unwrap_or(PackName::Builtin) {
        PackName::Builtin => Ok((Pack::Builtin, Skipped::default())),
        PackName::Sigmahq => sigmahq(),
    }
}

#[cfg(feature = "sigmahq")]
fn sigmahq() -> Result<(Pack, Skipped), PackError> {
    Ok((Pack::SigmaHq, Skipped::default()))
}

#[cfg(not(feature = "sigmahq"))]
fn sigmahq() -> Result<(Pack, Skipped), PackError> {
    Err(PackError(
        "this detect was built without the SigmaHQ pack; rebuild it with \
         `cargo build --release -p detect-cli --features sigmahq` with DETECT_SIGMAHQ_DIR set to \
         a checkout of SigmaHQ/sigma (see the README), or load the YAML at run time with \
         --sigma DIR"
            .into(),
    ))
}

/// Reads the pipelines, then every Sigma file under `paths`.
fn load_sigma(
    paths: &[PathBuf],
    pipeline_files: &[PathBuf],
    strict: bool,
) -> Result<(Pack, Skipped), PackError> {
    let mut pipelines = Vec::with_capacity(pipeline_files.len());
    for file in pipeline_files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| PackError(format!("cannot read the pipeline {}: {e}", file.display())))?;
        let pipeline = Pipeline::parse(&file.display().to_string(), &text)
            .map_err(|e| PackError(format!("{e}")))?;
        pipelines.push(pipeline);
    }
    let options = LoadOptions {
        parse: ParseOptions {
            pipelines,
            ..ParseOptions::default()
        },
        skip_unsupported: true,
    };
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    let mut existing = Vec::new();
    for path in paths {
        if !path.exists() {
            errors.push(format!(
                "{}: no such file or directory (give a Sigma rule file or a folder of them)",
                path.display()
            ));
            continue;
        }
        existing.push(path.as_path());
    }
    // One load for every path: correlations and filters may name rules of
    // another path.
    let (set, failures) = detect_sigma::load_dirs(&existing, &options);
    for (_, e) in failures {
        match e.kind {
            ErrorKind::Unsupported if !strict => skipped.push(e),
            _ => errors.push(e.to_string()),
        }
    }
    let mut rules: Vec<Rule> = set.rules;
    let correlations = set.correlations;
    dedup_names(&mut rules);
    if errors.is_empty() && rules.is_empty() {
        errors.push(format!(
            "no Sigma rule to run in {} ({} skipped as unsupported)",
            shown_paths(paths),
            skipped.len()
        ));
    }
    if !errors.is_empty() {
        let mut text = String::new();
        for e in &errors {
            let _ = writeln!(text, "{e}");
        }
        return Err(PackError(text.trim_end().to_string()));
    }
    let set = detect::ir::RuleSet {
        rules,
        ..Default::default()
    };
    let correlation_rules = correlations
        .iter()
        .enumerate()
        .map(|(index, c)| {
            info(
                index,
                &Rule {
                    name: c.name.clone(),
                    meta: c.meta.clone(),
                    logsource: Default::default(),
                    vocabulary: c.vocabulary,
                    detection: detect::ir::Detection {
                        selections: Vec::new(),
                        condition: detect::ir::Condition::And(Vec::new()),
                    },
                },
            )
        })
        .collect::<Vec<_>>()
        .leak();
    let rules = set
        .rules
        .iter()
        .enumerate()
        .map(|(index, r)| info(index, r))
        .collect::<Vec<_>>()
        .leak();
    let engine = RuntimeRuleSet::compile(set).map_err(|e| PackError(e.to_string()))?;
    Ok((
        Pack::Sigma(Box::new(SigmaPack {
            rules,
            engine,
            correlations,
            correlation_rules,
        })),
        Skipped(skipped),
    ))
}

/// `a, b, c` for error messages.
fn shown_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Makes rule names unique (`_2`, `_3`...), as [`detect_sigma::load_dirs`]
/// already does.
fn dedup_names(rules: &mut [Rule]) {
    let mut taken = std::collections::HashSet::new();
    for r in rules {
        let base = r.name.clone();
        let mut k = 1;
        while !taken.insert(r.name.clone()) {
            k += 1;
            r.name = format!("{base}_{k}");
        }
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn leak_all(v: &[String]) -> &'static [&'static str] {
    v.iter().map(|s| leak(s)).collect::<Vec<_>>().leak()
}

/// The metadata of an interpreted rule, leaked (once per rule and run).
fn info(index: usize, rule: &Rule) -> RuleInfo {
    let m = &rule.meta;
    let ls = &rule.logsource;
    RuleInfo {
        index,
        name: leak(&rule.name),
        id: m.id.as_deref().map(leak),
        title: leak(&m.title),
        description: m.description.as_deref().map(leak),
        level: m.level,
        status: m.status,
        tags: leak_all(&m.tags),
        references: leak_all(&m.references),
        falsepositives: leak_all(&m.falsepositives),
        author: m.author.as_deref().map(leak),
        logsource: LogSourceInfo {
            product: ls.product.as_deref().map(leak),
            category: ls.category.as_deref().map(leak),
            service: ls.service.as_deref().map(leak),
        },
    }
}

/// The lines `detect` prints on stderr for the rules a pack skipped.
pub(crate) fn skipped_report(skipped: &Skipped) -> Vec<String> {
    let mut lines: Vec<String> = skipped
        .0
        .iter()
        .map(|e| format!("skipped unsupported Sigma rule {e}"))
        .collect();
    if !lines.is_empty() {
        lines.push(format!(
            "{} Sigma rule {} skipped as unsupported (--sigma-strict makes this an error)",
            skipped.0.len(),
            if skipped.0.len() == 1 {
                "file"
            } else {
                "files"
            }
        ));
    }
    lines
}
