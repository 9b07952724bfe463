//! Rules compiled at run time, through the same engine as generated code.
//!
//! [`RuntimeRuleSet::compile`] takes a [`RuleSet`] (from Sigma YAML, EQL or
//! built by hand) through [`crate::compile`]: the same dispatch table,
//! prefilter and sequence tables the macros emit, with each predicate a
//! [`Program`] that calls the same helpers generated code calls. Scanning
//! allocates nothing per event.
//!
//! [`SharedRuleSet`] swaps a whole rule set atomically while other threads
//! scan (hot reload): every event is scanned by exactly one complete rule
//! set, and none is lost (see its docs for pending sequences).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::compile::{CompileError, Compiled, Program, compile, plan};
use crate::engine::{Engine, Predicates, SequenceState, Tables, layout_index};
use crate::event::Event;
use crate::ir::{Rule, RuleSet, Sequence};
use crate::rt::{AsDyn, Text};
use crate::sequence::SequenceStats;

/// The predicates of a run-time rule set.
#[derive(Debug)]
pub struct Programs {
    variants: Vec<Program>,
    sources: Vec<Program>,
    stages: Vec<Program>,
}

impl Predicates for Programs {
    #[inline]
    fn variant(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.variants[index].eval(event, paths)
    }
    #[inline]
    fn source(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.sources[index].eval(event, paths)
    }
    #[inline]
    fn stage(&self, index: usize, event: &dyn Event, paths: &[Text]) -> bool {
        self.stages[index].eval(event, paths)
    }
    fn warm_up(&self) {
        for p in self
            .variants
            .iter()
            .chain(&self.sources)
            .chain(&self.stages)
        {
            p.warm_up();
        }
    }
}

/// Sizes (in `u64` words) of the candidate bitsets a run-time rule set may
/// keep on the stack: the smallest that fits is used (each is zeroed per
/// event, so a set is not given four times what it needs). 1,024 words are
/// 65,536 rule variants or atom groups; larger sets do not compile.
const BITSET_CLASSES: [usize; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// Calls the engine's `$method::<W>(...)` with `W` the rule set's bitset
/// class ([`BITSET_CLASSES`]).
macro_rules! with_class {
    ($set:ident, $method:ident($($arg:expr),*)) => {
        match $set.words {
            1 => $set.engine.$method::<1>($($arg),*),
            2 => $set.engine.$method::<2>($($arg),*),
            4 => $set.engine.$method::<4>($($arg),*),
            8 => $set.engine.$method::<8>($($arg),*),
            16 => $set.engine.$method::<16>($($arg),*),
            32 => $set.engine.$method::<32>($($arg),*),
            64 => $set.engine.$method::<64>($($arg),*),
            128 => $set.engine.$method::<128>($($arg),*),
            256 => $set.engine.$method::<256>($($arg),*),
            512 => $set.engine.$method::<512>($($arg),*),
            _ => $set.engine.$method::<1024>($($arg),*),
        }
    };
}

/// A rule set compiled at run time.
///
/// ```
/// use detect_core::{JsonEvent, ir::*, runtime::RuntimeRuleSet};
/// // One rule, as a front end builds it (`detect_sigma::load_dir` for YAML).
/// let whoami = Expr::Field(FieldTest {
///     field: "Image".into(),
///     test: Test::Str(StrPattern { kind: StrKind::Suffix("\\whoami.exe".into()), case: Case::Insensitive }),
/// });
/// let rule = Rule {
///     name: "whoami".into(),
///     meta: Metadata { title: "Whoami".into(), ..Default::default() },
///     logsource: LogSource { product: Some("windows".into()), category: Some("process_creation".into()), ..Default::default() },
///     vocabulary: Vocabulary::Windows,
///     detection: Detection {
///         selections: vec![Selection { name: "selection".into(), expr: whoami }],
///         condition: Condition::Selection(0),
///     },
/// };
/// let rules = RuntimeRuleSet::compile(RuleSet { rules: vec![rule], ..Default::default() }).unwrap();
/// let event = JsonEvent::parse_str(r#"{"Channel": "Microsoft-Windows-Sysmon/Operational",
///     "EventID": 1, "Image": "C:\\Windows\\System32\\WHOAMI.EXE"}"#).unwrap();
/// let mut hits = Vec::new();
/// rules.scan(&event, |rule| hits.push(rules.rule(rule).name.as_str()));
/// assert_eq!(hits, ["whoami"]);
/// ```
#[derive(Debug)]
pub struct RuntimeRuleSet {
    engine: Engine<Programs>,
    ir: RuleSet,
    words: usize,
}

impl RuntimeRuleSet {
    /// Compiles `set`: tables, prefilter atoms and predicate programs
    /// (automata, regexes and sets are built at first use, or by
    /// [`RuntimeRuleSet::warm_up`]).
    pub fn compile(set: RuleSet) -> Result<RuntimeRuleSet, CompileError> {
        let Compiled {
            tables,
            variants,
            sources,
            stages,
            fields,
        } = compile(&set)?;
        let words = tables.bitset_words();
        let Some(&class) = BITSET_CLASSES.iter().find(|&&c| c >= words) else {
            return Err(CompileError(format!(
                "the rule set has more than {} rule variants or atom groups",
                64 * BITSET_CLASSES[BITSET_CLASSES.len() - 1]
            )));
        };
        let programs = |ps: Vec<crate::compile::Predicate>| -> Vec<Program> {
            ps.into_iter()
                .map(|p| {
                    let vocab = p.vocabulary;
                    Program::new(plan(&p.expr, &|name| fields.lookup(vocab, name)))
                })
                .collect()
        };
        let predicates = Programs {
            variants: programs(variants),
            sources: programs(sources),
            stages: programs(stages),
        };
        Ok(RuntimeRuleSet {
            engine: Engine::new(tables, predicates),
            ir: set,
            words: class,
        })
    }

    /// The rules, by index (as `scan` reports them).
    pub fn rules(&self) -> &[Rule] {
        &self.ir.rules
    }

    /// Rule `index`.
    pub fn rule(&self, index: usize) -> &Rule {
        &self.ir.rules[index]
    }

    /// The sequence rules, by index (as `step` reports them).
    pub fn sequence_rules(&self) -> &[Sequence] {
        &self.ir.sequences
    }

    /// The rule set as compiled.
    pub fn ir(&self) -> &RuleSet {
        &self.ir
    }

    /// The engine's tables.
    pub fn tables(&self) -> &Tables {
        self.engine.tables()
    }

    /// Builds every automaton, regex and set now rather than at first use.
    pub fn warm_up(&self) {
        self.engine.warm_up()
    }

    /// Calls `sink` with the index of every rule that matches `event`, in
    /// rule order. Allocates nothing.
    #[inline]
    pub fn scan<E: Event + ?Sized>(&self, event: &E, mut sink: impl FnMut(usize)) {
        let e = AsDyn(event);
        let sink: &mut dyn FnMut(usize) = &mut sink;
        with_class!(self, scan(&e, sink))
    }

    /// Same verdicts as [`RuntimeRuleSet::scan`], every rule evaluated in
    /// full (for tests).
    pub fn scan_unfiltered<E: Event + ?Sized>(&self, event: &E, mut sink: impl FnMut(usize)) {
        self.engine.scan_unfiltered(&AsDyn(event), &mut sink)
    }

    /// Diagnostics: calls `f(variant, rule, atomless)` for every rule
    /// variant `scan` would evaluate (see [`Engine::candidates_of`]).
    pub fn candidates<E: Event + ?Sized>(
        &self,
        event: &E,
        mut f: impl FnMut(usize, usize, bool),
    ) -> bool {
        let e = AsDyn(event);
        let f: &mut dyn FnMut(usize, usize, bool) = &mut f;
        with_class!(self, candidates_of(&e, f))
    }

    /// Fresh state for the sequence rules, holding at most `capacity`
    /// pending sequences per rule.
    pub fn sequences(&self, capacity: usize) -> SequenceState {
        self.engine.sequences(capacity)
    }

    /// Feeds one event (in time order; `pos` is reported back) to every
    /// sequence rule; `sink` gets the sequence's index and the positions of
    /// the events of each completed sequence. The event's time is its
    /// `@timestamp` (RFC 3339 or epoch milliseconds). Allocates nothing.
    pub fn step<E: Event + ?Sized>(
        &self,
        state: &mut SequenceState,
        event: &E,
        pos: u64,
        sink: impl FnMut(usize, &[u64]),
    ) {
        self.step_inner(state, event, None, pos, sink)
    }

    /// [`RuntimeRuleSet::step`] with the event's time given in milliseconds.
    pub fn step_at<E: Event + ?Sized>(
        &self,
        state: &mut SequenceState,
        event: &E,
        time_ms: i64,
        pos: u64,
        sink: impl FnMut(usize, &[u64]),
    ) {
        self.step_inner(state, event, Some(time_ms), pos, sink)
    }

    fn step_inner<E: Event + ?Sized>(
        &self,
        state: &mut SequenceState,
        event: &E,
        time: Option<i64>,
        pos: u64,
        mut sink: impl FnMut(usize, &[u64]),
    ) {
        let e = AsDyn(event);
        let sink: &mut dyn FnMut(usize, &[u64]) = &mut sink;
        with_class!(self, step(state, &e, time, pos, sink))
    }

    /// Index of the event's layout in the tables (for diagnostics).
    pub fn layout_index<E: Event + ?Sized>(event: &E) -> usize {
        layout_index(event.layout())
    }
}

/// A run-time rule set that can be replaced while other threads scan.
///
/// [`SharedRuleSet::scan`] takes the current rule set for the whole event:
/// every event is scanned by exactly one complete rule set, old or new,
/// and [`SharedRuleSet::replace`] never waits for scans nor makes them
/// wait (an `ArcSwap`: the old set is dropped when its last scan ends).
///
/// Pending sequences across a swap: a [`SharedSequences`] remembers the
/// generation it was built for. At its first step after a swap it is
/// rebuilt for the new rule set, and each sequence rule whose definition
/// is unchanged (same name, stages, keys, maxspan and joins) keeps its
/// pending sequences; those of changed or removed rules are dropped (a
/// changed definition may not join the same events), and the counters of
/// kept rules carry over.
///
/// ```
/// use detect_core::{JsonEvent, ir::RuleSet, runtime::{RuntimeRuleSet, SharedRuleSet}};
/// let shared = SharedRuleSet::new(RuntimeRuleSet::compile(RuleSet::default()).unwrap());
/// let event = JsonEvent::parse_str(r#"{"EventID": 1}"#).unwrap();
/// let mut hits = 0;
/// shared.scan(&event, |_, _| hits += 1);
/// assert_eq!(hits, 0);
/// shared.replace(RuntimeRuleSet::compile(RuleSet::default()).unwrap());
/// assert_eq!(shared.generation(), 1);
/// ```
#[derive(Debug)]
pub struct SharedRuleSet {
    current: ArcSwap<Loaded>,
    swaps: AtomicU64,
}

/// A rule set with its generation number.
#[derive(Debug)]
pub struct Loaded {
    /// How many swaps happened before this set was installed.
    pub generation: u64,
    /// The rule set.
    pub rules: RuntimeRuleSet,
}

impl SharedRuleSet {
    /// A handle holding `rules` (generation 0).
    pub fn new(rules: RuntimeRuleSet) -> SharedRuleSet {
        SharedRuleSet {
            current: ArcSwap::from_pointee(Loaded {
                generation: 0,
                rules,
            }),
            swaps: AtomicU64::new(0),
        }
    }

    /// Installs `rules` for every scan that starts from now on; returns the
    /// set it replaced.
    pub fn replace(&self, rules: RuntimeRuleSet) -> Arc<Loaded> {
        let generation = self.swaps.fetch_add(1, Ordering::Relaxed) + 1;
        self.current.swap(Arc::new(Loaded { generation, rules }))
    }

    /// The current rule set (held as long as the returned `Arc` lives).
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// The generation of the current rule set (each swap gives a new one).
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// Scans `event` with the current rule set; `sink` gets the rule set and
    /// the index of each matching rule.
    #[inline]
    pub fn scan<E: Event + ?Sized>(&self, event: &E, mut sink: impl FnMut(&RuntimeRuleSet, usize)) {
        let loaded = self.current.load();
        loaded.rules.scan(event, |i| sink(&loaded.rules, i));
    }

    /// Pending-sequence state that follows this handle's swaps.
    pub fn sequences(&self, capacity: usize) -> SharedSequences {
        let loaded = self.current.load_full();
        SharedSequences {
            state: loaded.rules.sequences(capacity),
            capacity,
            generation: loaded.generation,
            definitions: loaded.rules.sequence_rules().to_vec(),
        }
    }

    /// Feeds `event` to the sequence rules of the current rule set (see
    /// [`SharedSequences`] for what a swap does to pending sequences).
    pub fn step<E: Event + ?Sized>(
        &self,
        state: &mut SharedSequences,
        event: &E,
        pos: u64,
        mut sink: impl FnMut(&RuntimeRuleSet, usize, &[u64]),
    ) {
        let loaded = self.current.load();
        state.follow(&loaded);
        loaded
            .rules
            .step(&mut state.state, event, pos, |i, events| {
                sink(&loaded.rules, i, events)
            });
    }
}

/// Pending sequences of a [`SharedRuleSet`], carried across swaps.
#[derive(Debug)]
pub struct SharedSequences {
    state: SequenceState,
    capacity: usize,
    generation: u64,
    definitions: Vec<Sequence>,
}

impl SharedSequences {
    /// The state itself.
    pub fn state(&self) -> &SequenceState {
        &self.state
    }

    /// Counters of sequence rule `index` of the generation last stepped.
    pub fn stats(&self, index: usize) -> SequenceStats {
        self.state.stats(index)
    }

    /// Rebuilds the state for `loaded` if it is a newer generation, keeping
    /// the pending sequences of unchanged sequence rules.
    fn follow(&mut self, loaded: &Loaded) {
        if loaded.generation == self.generation {
            return;
        }
        let mut next = loaded.rules.sequences(self.capacity);
        let new_defs = loaded.rules.sequence_rules();
        for (i, def) in new_defs.iter().enumerate() {
            if let Some(old) = self.definitions.iter().position(|d| d == def) {
                next.take_table(i, &mut self.state, old);
            }
        }
        self.state = next;
        self.generation = loaded.generation;
        self.definitions = new_defs.to_vec();
    }
}
