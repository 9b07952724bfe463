//! The peers behind one interface, and the agreement check. Shared by the
//! tests and the benchmark of this crate (the peers are dev-dependencies, so
//! this code cannot live in the library).

#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use detect_peers::{Events, Pack, Router, Routing, channel_and_id, peer_json};

/// A Sigma engine seen by the harness.
pub trait Peer {
    /// Name in reports.
    const NAME: &'static str;
    /// One loaded rule.
    type Rule;
    /// The engine's own event type.
    type Event;
    /// Rules prepared for evaluation together (one log source arm).
    type Engine;

    /// The rules of one file (`text`; `ir`: what detect compiled it into, if
    /// anything), in document order, each ready to evaluate.
    fn load(
        text: &str,
        ir: &[&detect::ir::Rule],
    ) -> Result<Vec<Result<Self::Rule, String>>, String>;
    /// The engine's event for one JSON object.
    fn event(json: serde_json::Value) -> Result<Self::Event, String>;
    /// The engine's event parsed from an NDJSON line (the parse-included timing).
    fn parse(line: &str) -> Result<Self::Event, String>;
    /// The event's `Channel` and `EventID`, for [`route`].
    fn route_key(event: &Self::Event) -> Option<(Cow<'_, str>, u64)>;
    /// Prepares `rules` (detect rule index, rule) for evaluation together.
    fn engine(rules: &[(usize, Arc<Self::Rule>)]) -> Self::Engine;
    /// Pushes the detect indices of the rules of `engine` that match `event`.
    fn eval(engine: &Self::Engine, event: &Self::Event, out: &mut Vec<usize>);
}

/// rsigma (rsigma-parser + rsigma-eval): its `Engine` per arm, with its own
/// candidate index; events are `serde_json::Value`s seen through
/// `rsigma_eval::JsonEvent::borrow`.
pub struct Rsigma;

/// The rsigma engine of one arm, with the detect index of each rule (the
/// rule's title is replaced by its index at load time).
pub struct RsigmaEngine {
    engine: rsigma_eval::Engine,
}

impl Peer for Rsigma {
    const NAME: &'static str = "rsigma";
    type Rule = rsigma_parser::SigmaRule;
    type Event = serde_json::Value;
    type Engine = RsigmaEngine;

    fn load(
        text: &str,
        _: &[&detect::ir::Rule],
    ) -> Result<Vec<Result<Self::Rule, String>>, String> {
        let collection = rsigma_parser::parse_sigma_yaml(text).map_err(|e| e.to_string())?;
        if !collection.correlations.is_empty() || !collection.filters.is_empty() {
            return Err("correlation or filter documents".into());
        }
        Ok(collection
            .rules
            .into_iter()
            .map(|r| match rsigma_eval::compile_rule(&r) {
                Ok(_) => Ok(r),
                Err(e) => Err(e.to_string()),
            })
            .collect())
    }

    fn event(json: serde_json::Value) -> Result<Self::Event, String> {
        Ok(json)
    }

    fn parse(line: &str) -> Result<Self::Event, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    fn route_key(event: &Self::Event) -> Option<(Cow<'_, str>, u64)> {
        channel_and_id(event).map(|(c, i)| (Cow::Borrowed(c), i))
    }

    fn engine(rules: &[(usize, Arc<Self::Rule>)]) -> Self::Engine {
        let mut engine = rsigma_eval::Engine::new();
        let titled: Vec<rsigma_parser::SigmaRule> = rules
            .iter()
            .map(|(i, r)| {
                let mut r = (**r).clone();
                r.title = i.to_string();
                r
            })
            .collect();
        let errors = engine.add_rules(titled.iter());
        assert!(errors.is_empty(), "rules compiled once already: {errors:?}");
        RsigmaEngine { engine }
    }

    fn eval(engine: &Self::Engine, event: &Self::Event, out: &mut Vec<usize>) {
        let event = rsigma_eval::JsonEvent::borrow(event);
        for m in engine.engine.evaluate(&event) {
            out.push(m.header.rule_title.parse().expect("titles are indices"));
        }
    }
}

/// sigma-rust: no engine type; every rule of the arm in turn
/// (`Rule::is_match`), over its `Event` (a `HashMap` of values).
pub struct SigmaRust;

impl Peer for SigmaRust {
    const NAME: &'static str = "sigma-rust";
    type Rule = sigma_rust::Rule;
    type Event = sigma_rust::Event;
    type Engine = Vec<(usize, Arc<sigma_rust::Rule>)>;

    fn load(
        text: &str,
        _: &[&detect::ir::Rule],
    ) -> Result<Vec<Result<Self::Rule, String>>, String> {
        // One rule per file: a multi-document file is a YAML error here.
        Ok(vec![
            sigma_rust::rule_from_yaml(text).map_err(|e| e.to_string()),
        ])
    }

    fn event(json: serde_json::Value) -> Result<Self::Event, String> {
        sigma_rust::Event::try_from(json).map_err(|e| format!("{e:?}"))
    }

    fn parse(line: &str) -> Result<Self::Event, String> {
        sigma_rust::event_from_json(line).map_err(|e| e.to_string())
    }

    /// sigma-rust's value types are private: their text (`value_to_string`)
    /// is the only way to read them, at the cost of two small allocations.
    fn route_key(event: &Self::Event) -> Option<(Cow<'_, str>, u64)> {
        let channel = event.get("Channel")?.value_to_string();
        let id = event.get("EventID")?.value_to_string().parse().ok()?;
        Some((Cow::Owned(channel), id))
    }

    fn engine(rules: &[(usize, Arc<Self::Rule>)]) -> Self::Engine {
        rules.to_vec()
    }

    fn eval(engine: &Self::Engine, event: &Self::Event, out: &mut Vec<usize>) {
        for (i, rule) in engine {
            if rule.is_match(event) {
                out.push(*i);
            }
        }
    }
}

/// tau-engine (Chainsaw's engine) on rules translated from detect's IR by
/// [`detect_peers::tau`] and optimised with tau's default optimisations, as
/// Chainsaw does; events are `serde_json::Value`s (tau's `json` feature).
/// Like Chainsaw, every rule of the arm in turn (`Rule::matches`).
pub struct Tau;

impl Peer for Tau {
    const NAME: &'static str = "tau-engine";
    type Rule = tau_engine::Rule;
    type Event = serde_json::Value;
    type Engine = Vec<(usize, Arc<tau_engine::Rule>)>;

    fn load(_: &str, ir: &[&detect::ir::Rule]) -> Result<Vec<Result<Self::Rule, String>>, String> {
        if ir.is_empty() {
            return Err("no Sigma front end: tau gets the rules detect compiled".into());
        }
        Ok(ir
            .iter()
            .map(|r| {
                let yaml = detect_peers::tau::rule_yaml(r)?;
                let rule = tau_engine::Rule::from_str(&yaml).map_err(|e| format!("{e}: {yaml}"))?;
                Ok(rule.optimise(tau_engine::Optimisations::default()))
            })
            .collect())
    }

    fn event(json: serde_json::Value) -> Result<Self::Event, String> {
        Ok(json)
    }

    fn parse(line: &str) -> Result<Self::Event, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    fn route_key(event: &Self::Event) -> Option<(Cow<'_, str>, u64)> {
        channel_and_id(event).map(|(c, i)| (Cow::Borrowed(c), i))
    }

    fn engine(rules: &[(usize, Arc<Self::Rule>)]) -> Self::Engine {
        rules.to_vec()
    }

    fn eval(engine: &Self::Engine, event: &Self::Event, out: &mut Vec<usize>) {
        for (i, rule) in engine {
            if rule.matches(event) {
                out.push(*i);
            }
        }
    }
}

/// A peer's rules for one case, by detect rule index.
pub struct Loaded<P: Peer> {
    /// The peer's rule for each detect rule, when it loaded it.
    pub rules: Vec<Option<Arc<P::Rule>>>,
    /// Rules the peer loaded from the case's files (its own count, whether or
    /// not detect compiled the same file).
    pub loaded: usize,
    /// Files (or documents) the peer did not load, with its reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Files both loaded but into different numbers of rules.
    pub mismatched: Vec<(PathBuf, usize, usize)>,
}

impl<P: Peer> Loaded<P> {
    /// Loads every file of `pack` into the peer.
    pub fn new(pack: &Pack) -> Loaded<P> {
        let mut out = Loaded {
            rules: (0..pack.ir.rules.len()).map(|_| None).collect(),
            loaded: 0,
            failed: Vec::new(),
            mismatched: Vec::new(),
        };
        for file in pack.files() {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    out.failed.push((file, e.to_string()));
                    continue;
                }
            };
            let mine = pack.rules_of(&file);
            let ir: Vec<&detect::ir::Rule> = mine.iter().map(|&i| &pack.ir.rules[i]).collect();
            let rules = match P::load(&text, &ir) {
                Ok(r) => r,
                Err(e) => {
                    out.failed.push((file, e));
                    continue;
                }
            };
            let mut ok = Vec::new();
            for r in rules {
                match r {
                    Ok(r) => ok.push(r),
                    Err(e) => out.failed.push((file.clone(), e)),
                }
            }
            out.loaded += ok.len();
            if ok.len() != mine.len() {
                if !ok.is_empty() && !mine.is_empty() {
                    out.mismatched.push((file, mine.len(), ok.len()));
                }
                continue;
            }
            for (i, r) in mine.into_iter().zip(ok) {
                out.rules[i] = Some(Arc::new(r));
            }
        }
        out
    }

    /// Detect rules the peer loaded too.
    pub fn common(&self) -> usize {
        self.rules.iter().filter(|r| r.is_some()).count()
    }

    /// One engine per arm of `routing`, holding the arm's rules that the peer
    /// loaded and `keep` accepts.
    pub fn engines(&self, routing: &Routing, keep: impl Fn(usize) -> bool) -> Vec<P::Engine> {
        routing
            .arms
            .iter()
            .map(|arm| {
                let rules: Vec<(usize, Arc<P::Rule>)> = arm
                    .iter()
                    .filter(|&&i| keep(i))
                    .filter_map(|&i| self.rules[i].clone().map(|r| (i, r)))
                    .collect();
                P::engine(&rules)
            })
            .collect()
    }
}

/// The rules applying to `event` (by its log source), evaluated by the peer:
/// the peer's side of one event, as timed.
#[inline]
pub fn route<P: Peer>(
    router: &Router,
    engines: &[P::Engine],
    event: &P::Event,
    out: &mut Vec<usize>,
) {
    if let Some((channel, id)) = P::route_key(event)
        && let Some(arm) = router.arm(&channel, id)
    {
        P::eval(&engines[arm], event, out);
    }
}

/// The peer's events: each event's JSON with its log source's aliases.
pub fn peer_events<P: Peer>(events: &Events, routing: &Routing) -> Vec<P::Event> {
    events
        .json
        .iter()
        .zip(&routing.aliases)
        .map(|(json, aliases)| P::event(peer_json(json, aliases)).expect("every event converts"))
        .collect()
}

/// detect's verdicts: the rules that fire on each event, sorted.
pub fn detect_verdicts(pack: &Pack, events: &Events) -> Vec<Vec<usize>> {
    events
        .detect
        .iter()
        .map(|e| {
            let mut hits = Vec::new();
            (pack.scan)(e, &mut |i| hits.push(i));
            hits.sort_unstable();
            hits
        })
        .collect()
}

/// A rule on which detect and a peer disagree.
pub struct Disagreement {
    /// detect rule index.
    pub rule: usize,
    /// Events where only detect fires.
    pub only_detect: Vec<usize>,
    /// Events where only the peer fires.
    pub only_peer: Vec<usize>,
}

/// The comparison of one peer with detect on one case.
pub struct Agreement {
    /// Rules compared (loaded by both).
    pub rules: usize,
    /// (rule, event) pairs compared: each rule on the events its log source applies to.
    pub pairs: u64,
    /// Pairs where both fire.
    pub both_fire: u64,
    /// Rules with at least one disagreement.
    pub disagreements: Vec<Disagreement>,
}

impl Agreement {
    /// Whether rule `i` agrees (it was compared and has no disagreement).
    pub fn agrees<P: Peer>(&self, loaded: &Loaded<P>, i: usize) -> bool {
        loaded.rules[i].is_some() && !self.disagreements.iter().any(|d| d.rule == i)
    }
}

/// Compares `peer` with detect rule by rule and event by event, each rule on
/// the events its log source applies to.
pub fn compare<P: Peer>(
    loaded: &Loaded<P>,
    routing: &Routing,
    detect: &[Vec<usize>],
    peer_events: &[P::Event],
) -> Agreement {
    let engines = loaded.engines(routing, |_| true);
    let mut only: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let mut pairs = 0u64;
    let mut both_fire = 0u64;
    let mut hits = Vec::new();
    for (e, event) in peer_events.iter().enumerate() {
        let arm = routing.arm_of_event[e];
        hits.clear();
        P::eval(&engines[arm], event, &mut hits);
        hits.sort_unstable();
        for &r in &routing.arms[arm] {
            if loaded.rules[r].is_none() {
                continue;
            }
            pairs += 1;
            let d = detect[e].binary_search(&r).is_ok();
            let p = hits.binary_search(&r).is_ok();
            match (d, p) {
                (true, true) => both_fire += 1,
                (true, false) => only.entry(r).or_default().0.push(e),
                (false, true) => only.entry(r).or_default().1.push(e),
                (false, false) => {}
            }
        }
    }
    Agreement {
        rules: loaded.common(),
        pairs,
        both_fire,
        disagreements: only
            .into_iter()
            .map(|(rule, (only_detect, only_peer))| Disagreement {
                rule,
                only_detect,
                only_peer,
            })
            .collect(),
    }
}

/// Prints the load counts and the agreement of one peer on one case, every
/// disagreement with the rule's file and the first differing event.
pub fn print_report<P: Peer>(pack: &Pack, events: &Events, loaded: &Loaded<P>, a: &Agreement) {
    println!(
        "[{}] {}: loaded {} rules from {} files ({} files/documents refused, {} files split differently); \
         detect compiled {} rules ({} files skipped); {} rules in common",
        pack.name,
        P::NAME,
        loaded.loaded,
        pack.files().len(),
        loaded.failed.len(),
        loaded.mismatched.len(),
        pack.ir.rules.len(),
        pack.skipped.len(),
        loaded.common()
    );
    println!(
        "[{}] {}: {} (rule, event) pairs compared, {} where both fire; {} rules agree on every event, {} disagree",
        pack.name,
        P::NAME,
        a.pairs,
        a.both_fire,
        a.rules - a.disagreements.len(),
        a.disagreements.len()
    );
    for d in &a.disagreements {
        let first = d.only_detect.first().or(d.only_peer.first()).copied();
        println!(
            "  {} ({}): detect only on {} events, {} only on {}; first: {}",
            pack.ir.rules[d.rule].name,
            pack.sources[d.rule].display(),
            d.only_detect.len(),
            P::NAME,
            d.only_peer.len(),
            first
                .map(|e| events.lines[e].chars().take(300).collect::<String>())
                .unwrap_or_default()
        );
    }
    if std::env::var_os("PEERS_VERBOSE").is_some() {
        for (f, why) in &pack.skipped {
            println!("  detect skipped {}: {why}", f.display());
        }
        for (f, why) in &loaded.failed {
            println!("  refused {}: {why}", f.display());
        }
        for (f, d, p) in &loaded.mismatched {
            println!("  split {}: detect {d} rules, {} {p}", f.display(), P::NAME);
        }
    }
}
