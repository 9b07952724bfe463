//! IR -> tables: the body of [`compile()`](super::compile).
//!
//! Lowers each rule into its variants per layout, builds the field table,
//! the per-variant tables, the (channel, event ID) dispatch table and the
//! prefilter's atom tables, and collects the predicates the two doors
//! compile (the macros to Rust functions, the run-time rule set to
//! [`Program`](super::Program)s).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::atoms::{Atom, required_atom_alternatives_where};
use super::logsource::{Dispatch, UnknownLogSource};
use super::lower::{lower_variants_in_vocabulary, simplify};
use crate::engine::sequences::MAX_KEYS;
use crate::engine::tables::{
    ChannelArms, DispatchTable, FieldAtoms, NO_SOURCE, PrefilterTables, SequenceSpec, Tables,
    VariantTables, words_for,
};
use crate::ir::{Expr, RuleSet, StrKind, StrPattern, Test, Vocabulary};
use crate::layout::{Layout, is_dispatch_field, map_field};
use crate::matcher::fold;
use crate::prefilter::KEYWORDS;
use crate::rt::{List, Text};

/// The name under which sequences read the event's time.
pub const TIMESTAMP: &str = "@timestamp";

/// A predicate to compile: an expression over field names of `vocabulary`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The vocabulary of the expression's field names.
    pub vocabulary: Vocabulary,
    /// The expression (a rule variant's body, a log source condition, a stage).
    pub expr: Expr,
}

/// A rule set compiled to tables and predicates.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// What the engine walks.
    pub tables: Tables,
    /// One predicate per rule variant.
    pub variants: Vec<Predicate>,
    /// One predicate per distinct log source condition.
    pub sources: Vec<Predicate>,
    /// One predicate per sequence stage variant.
    pub stages: Vec<Predicate>,
    /// The fields the predicates read ([`Tables::paths`] in the same order).
    pub fields: FieldTable,
}

/// Why a rule set does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

impl From<UnknownLogSource> for CompileError {
    fn from(e: UnknownLogSource) -> Self {
        CompileError(e.to_string())
    }
}

/// The fields a rule set reads, each with its path in every layout.
#[derive(Clone, Debug, Default)]
pub struct FieldTable {
    names: Vec<(Vocabulary, String)>,
    index: HashMap<(Vocabulary, String), u32>,
}

impl FieldTable {
    /// The index of a field, added if new.
    pub fn index(&mut self, vocab: Vocabulary, name: &str) -> u32 {
        if let Some(&i) = self.index.get(&(vocab, name.to_string())) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push((vocab, name.to_string()));
        self.index.insert((vocab, name.to_string()), i);
        i
    }

    /// The index of a field already added (0 if it was not: every name a
    /// predicate reads is added before lookups).
    pub fn lookup(&self, vocab: Vocabulary, name: &str) -> u32 {
        self.index
            .get(&(vocab, name.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no field is read.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The event path of field `i` in `layout`.
    pub fn path(&self, i: usize, layout: Layout) -> String {
        self.names
            .get(i)
            .map(|(v, n)| {
                if n == KEYWORDS {
                    n.clone()
                } else {
                    map_field(*v, layout, n)
                }
            })
            .unwrap_or_default()
    }

    fn add_fields(&mut self, vocab: Vocabulary, expr: &Expr) {
        expr.visit_fields(&mut |f| {
            self.index(vocab, f);
        });
    }
}

/// One variant of a rule (or of a sequence unit): the unit the dispatch
/// table and the prefilter select.
struct Variant {
    /// The rule (or unit) it stands for.
    target: usize,
    /// The log source variant's own dispatch (its `source` condition as
    /// channel/event-ID sets).
    dispatch: Option<Dispatch>,
    /// What the dispatch table routes on: `dispatch`, narrowed for rules to
    /// the event IDs that the body itself requires.
    route: Option<Dispatch>,
}

/// Compiles a rule set. Errors only on log sources that cannot be lowered
/// (front ends check rules before) and on sequences with more join keys
/// than the engine takes.
pub fn compile(set: &RuleSet) -> Result<Compiled, CompileError> {
    let mut fields = FieldTable::default();

    // Rule variants: the predicate is the body, plus the source condition
    // when the dispatch table cannot stand for it.
    let mut variants: Vec<Variant> = Vec::new();
    let mut variant_exprs: Vec<Predicate> = Vec::new();
    let mut source_of: Vec<Option<Predicate>> = Vec::new();
    for (rule, r) in set.rules.iter().enumerate() {
        for v in lower_variants_in_vocabulary(r)? {
            let is_event_id = |f: &str| {
                Layout::ALL
                    .into_iter()
                    .all(|l| map_field(r.vocabulary, l, f) == l.dispatch_paths()[1])
            };
            let route = v.dispatch.clone().map(|mut d| {
                if let Some(ids) = required_event_ids(&v.body, &is_event_id) {
                    let narrowed: Vec<u32> = if d.event_ids.is_empty() {
                        ids.into_iter().collect()
                    } else {
                        d.event_ids
                            .iter()
                            .copied()
                            .filter(|i| ids.contains(i))
                            .collect()
                    };
                    // An empty intersection never matches; keeping the
                    // wider route is merely slower, and "no IDs" would mean "any".
                    if !narrowed.is_empty() {
                        d.event_ids = narrowed;
                    }
                }
                d
            });
            let expr = match v.dispatch {
                Some(_) => v.body.clone(),
                None => simplify(Expr::And(vec![v.source.clone(), v.body.clone()])),
            };
            variant_exprs.push(Predicate {
                vocabulary: r.vocabulary,
                expr,
            });
            source_of.push(v.dispatch.is_some().then(|| Predicate {
                vocabulary: r.vocabulary,
                expr: v.source.clone(),
            }));
            variants.push(Variant {
                target: rule,
                dispatch: v.dispatch,
                route,
            });
        }
    }
    for p in &variant_exprs {
        fields.add_fields(p.vocabulary, &p.expr);
    }
    // One source predicate per distinct log source condition.
    let mut sources: Vec<Predicate> = Vec::new();
    let mut source_dispatch: Vec<&Dispatch> = Vec::new();
    let mut variant_source = Vec::with_capacity(variants.len());
    for (v, src) in variants.iter().zip(&source_of) {
        let (Some(d), Some(src)) = (&v.dispatch, src) else {
            variant_source.push(NO_SOURCE);
            continue;
        };
        let at = source_dispatch
            .iter()
            .position(|x| *x == d)
            .unwrap_or_else(|| {
                source_dispatch.push(d);
                sources.push(src.clone());
                sources.len() - 1
            });
        variant_source.push(at as u32);
    }
    for p in &sources {
        fields.add_fields(p.vocabulary, &p.expr);
    }

    // Sequences: every stage (and `until`) is a unit, lowered like a rule.
    let mut stage_variants: Vec<Variant> = Vec::new();
    let mut stage_exprs: Vec<Predicate> = Vec::new();
    let mut specs: Vec<(Vec<u32>, bool)> = Vec::new();
    let mut units = 0u32;
    for seq in &set.sequences {
        let mut ids = Vec::new();
        for stage in seq.stages.iter().chain(seq.until.iter()) {
            let unit = units;
            units += 1;
            ids.push(unit);
            if stage.keys.len() > MAX_KEYS {
                return Err(CompileError(format!(
                    "sequence `{}`: a stage joins on {} keys, at most {MAX_KEYS} are supported",
                    seq.name,
                    stage.keys.len()
                )));
            }
            let rule = crate::ir::Rule {
                name: seq.name.clone(),
                meta: Default::default(),
                logsource: stage.logsource.clone(),
                vocabulary: seq.vocabulary,
                detection: crate::ir::Detection {
                    selections: vec![crate::ir::Selection {
                        name: "stage".into(),
                        expr: stage.condition.clone(),
                    }],
                    condition: crate::ir::Condition::Selection(0),
                },
            };
            for v in lower_variants_in_vocabulary(&rule)? {
                stage_variants.push(Variant {
                    target: unit as usize,
                    dispatch: v.dispatch.clone(),
                    route: v.dispatch.clone(),
                });
                // The source condition stays in the predicate: the dispatch
                // table only narrows the candidates.
                stage_exprs.push(Predicate {
                    vocabulary: seq.vocabulary,
                    expr: simplify(Expr::And(vec![v.source, v.body])),
                });
            }
        }
        specs.push((ids, seq.until.is_some()));
    }
    for p in &stage_exprs {
        fields.add_fields(p.vocabulary, &p.expr);
    }
    let mut sequences = Vec::new();
    for (seq, (ids, has_until)) in set.sequences.iter().zip(specs) {
        let keys: Vec<List<u32>> = seq
            .stages
            .iter()
            .chain(seq.until.iter())
            .map(|stage| {
                List::Owned(
                    stage
                        .keys
                        .iter()
                        .map(|k| fields.index(seq.vocabulary, k))
                        .collect(),
                )
            })
            .collect();
        sequences.push(SequenceSpec {
            stages: seq.stages.len() as u32,
            maxspan_ms: seq.maxspan_ms,
            joins: seq.joins,
            units: List::Owned(ids),
            keys: List::Owned(keys),
            has_until,
        });
    }
    let timestamp_field = fields.index(Vocabulary::Ecs, TIMESTAMP);
    // The keyword pseudo-field: keyword rules' atoms are entered under it.
    for vocab in [Vocabulary::Windows, Vocabulary::Ecs] {
        fields.index(vocab, KEYWORDS);
    }

    let paths: [List<Text>; 3] = Layout::ALL.map(|layout| {
        List::Owned(
            (0..fields.len())
                .map(|i| Text::Owned(fields.path(i, layout)))
                .collect(),
        )
    });
    let rules = variant_tables(&variants, &variant_exprs, variant_source, &fields);
    let stage_count = stage_variants.len();
    let stages = variant_tables(
        &stage_variants,
        &stage_exprs,
        vec![NO_SOURCE; stage_count],
        &fields,
    );
    Ok(Compiled {
        tables: Tables {
            rule_count: set.rules.len() as u32,
            rules,
            stages,
            paths,
            sequences: List::Owned(sequences),
            timestamp_field,
        },
        variants: variant_exprs,
        sources,
        stages: stage_exprs,
        fields,
    })
}

/// The event IDs a rule body requires: a test `EventID: N` (canonical
/// decimal) requires `N`, an `Or` the union of what each of its children
/// requires (if each requires some), an `And` the intersection of what its
/// children require (those that require any). So `(EventID: 4738 and not
/// filter) or (EventID: 5136 and ...)` requires {4738, 5136}. The dispatch
/// table can then route the variant on those IDs alone: the body's test
/// compares the whole text of a single value, which is true exactly when
/// the routing's canonical event ID is `N` (and a multi-valued `EventID`
/// makes the engine evaluate everything in full). Sigma rules of `service:
/// security` and the like put their event ID in the detection, so without
/// this they would be evaluated on every event of their channel.
fn required_event_ids(body: &Expr, is_event_id: &dyn Fn(&str) -> bool) -> Option<BTreeSet<u32>> {
    match body {
        Expr::Field(ft) if is_event_id(&ft.field) => match &ft.test {
            Test::Str(StrPattern {
                kind: StrKind::Exact(text),
                ..
            }) => {
                let canonical = !text.is_empty()
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && (text == "0" || !text.starts_with('0'));
                let id: u32 = text.parse().ok().filter(|_| canonical)?;
                Some(BTreeSet::from([id]))
            }
            _ => None,
        },
        Expr::Or(children) if !children.is_empty() => {
            let mut all = BTreeSet::new();
            for c in children {
                all.extend(required_event_ids(c, is_event_id)?);
            }
            Some(all)
        }
        Expr::And(children) => children
            .iter()
            .filter_map(|c| required_event_ids(c, is_event_id))
            .reduce(|a, b| a.intersection(&b).copied().collect()),
        _ => None,
    }
}

/// The dispatch, atom groups and prefilters of a list of variants.
fn variant_tables(
    variants: &[Variant],
    exprs: &[Predicate],
    variant_source: Vec<u32>,
    fields: &FieldTable,
) -> VariantTables {
    let n = variants.len();
    let (dispatch, masks) = dispatch_table(variants);

    // Atom groups (see `required_atom_alternatives_where`): a variant is a
    // candidate when every group of one of its alternatives has a hit. A
    // variant with one alternative: its first group has the variant's id,
    // the others ids from `n` on, and `alternatives` lists those others
    // (none: the first group's hit is enough). A variant with several: the
    // first groups of all its alternatives, together, have the variant's id
    // (a hit there makes it worth checking), and each alternative lists its
    // groups, each with an id of its own. Fields the dispatch routes on
    // give no atoms: they hold for every event routed to the variant.
    let mut atomless = Vec::new();
    let mut group_atoms: Vec<Vec<(u32, String)>> = vec![Vec::new(); n];
    let mut group_variant: Vec<usize> = (0..n).collect();
    let mut alternatives: Vec<Vec<Vec<u32>>> = vec![Vec::new(); n];
    for (id, p) in exprs.iter().enumerate() {
        let vocab = p.vocabulary;
        let alts = required_atom_alternatives_where(&p.expr, &|f| !is_dispatch_field(vocab, f));
        let in_vocab = |atoms: Vec<Atom>| -> Vec<(u32, String)> {
            atoms
                .into_iter()
                .map(|a| (fields.lookup(vocab, &a.field), a.text))
                .collect()
        };
        let single = alts.len() == 1;
        if alts.is_empty() {
            atomless.push(id);
        }
        for groups in alts {
            let mut ids = Vec::new();
            for (j, atoms) in groups.into_iter().enumerate() {
                let atoms = in_vocab(atoms);
                if j == 0 {
                    group_atoms[id].extend(atoms.iter().cloned());
                    if single {
                        continue;
                    }
                }
                ids.push(group_atoms.len() as u32);
                group_atoms.push(atoms);
                group_variant.push(id);
            }
            if !ids.is_empty() {
                alternatives[id].push(ids);
            }
        }
        group_atoms[id].sort();
        group_atoms[id].dedup();
    }
    // Layouts whose fields share paths the same way get the same tables
    // (only the paths differ): built once, renamed for the others.
    let mut built: Vec<(Vec<String>, Vec<usize>, PrefilterTables)> = Vec::new();
    let prefilters = Layout::ALL.map(|layout| {
        let paths: Vec<String> = (0..fields.len()).map(|i| fields.path(i, layout)).collect();
        let mut first: HashMap<&str, usize> = HashMap::new();
        let shape: Vec<usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| *first.entry(p.as_str()).or_insert(i))
            .collect();
        if let Some((old_paths, _, tables)) = built.iter().find(|(_, s, _)| *s == shape) {
            let rename: HashMap<&str, &str> = old_paths
                .iter()
                .zip(&paths)
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let mut tables = tables.clone();
            tables.fields = List::Owned(
                tables
                    .fields
                    .iter()
                    .map(|f| FieldAtoms {
                        path: Text::Owned(rename[&*f.path].to_string()),
                        ..f.clone()
                    })
                    .collect(),
            );
            return tables;
        }
        let tables = prefilter_tables(&group_atoms, &group_variant, &paths, &masks);
        built.push((paths, shape, tables.clone()));
        tables
    });
    VariantTables {
        variant_target: List::Owned(variants.iter().map(|v| v.target as u32).collect()),
        variant_source: List::Owned(variant_source),
        atomless: List::Owned(bitset(&atomless, words_for(n))),
        alternatives: List::Owned(
            alternatives
                .into_iter()
                .map(|alts| List::Owned(alts.into_iter().map(List::Owned).collect()))
                .collect(),
        ),
        group_count: group_atoms.len() as u32,
        dispatch,
        prefilters,
    }
}

/// Routing of events by (channel, event ID) to the variants that can
/// apply, and each arm's variants as a list.
fn dispatch_table(variants: &[Variant]) -> (DispatchTable, Vec<Vec<usize>>) {
    let mut channels: Vec<String> = Vec::new();
    let mut ids: BTreeMap<usize, BTreeSet<u32>> = BTreeMap::new();
    for v in variants {
        if let Some(d) = &v.route {
            for c in &d.channels {
                let c = fold(c);
                let ci = channels.iter().position(|x| *x == c).unwrap_or_else(|| {
                    channels.push(c);
                    channels.len() - 1
                });
                ids.entry(ci)
                    .or_default()
                    .extend(d.event_ids.iter().copied());
            }
        }
    }
    // Arms: per channel one per routed event ID then its other events;
    // the last arm is "any other channel".
    let mut arms: Vec<(Option<usize>, Option<u32>)> = Vec::new();
    let mut channel_arms = Vec::new();
    for ci in 0..channels.len() {
        let mut by_event_id = Vec::new();
        for id in ids.get(&ci).into_iter().flatten() {
            by_event_id.push((*id, arms.len() as u32));
            arms.push((Some(ci), Some(*id)));
        }
        channel_arms.push(ChannelArms {
            by_event_id: List::Owned(by_event_id),
            other: arms.len() as u32,
        });
        arms.push((Some(ci), None));
    }
    let other_arm = arms.len() as u32;
    arms.push((None, None));
    // Each variant goes into the arms of its channels (those of its event
    // IDs, or all of the channel's when it names none), or into every arm
    // when it has no route.
    let mut masks: Vec<Vec<usize>> = vec![Vec::new(); arms.len()];
    let channel_index: HashMap<&str, usize> = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for (i, v) in variants.iter().enumerate() {
        let Some(d) = &v.route else {
            masks.iter_mut().for_each(|m| m.push(i));
            continue;
        };
        let mut mine: BTreeSet<usize> = BTreeSet::new();
        for c in &d.channels {
            let ci = channel_index[fold(c).as_str()];
            let arms = &channel_arms[ci];
            if d.event_ids.is_empty() {
                mine.extend(arms.by_event_id.iter().map(|&(_, arm)| arm as usize));
                mine.insert(arms.other as usize);
            } else {
                for id in &d.event_ids {
                    if let Ok(at) = arms.by_event_id.binary_search_by_key(id, |&(e, _)| e) {
                        mine.insert(arms.by_event_id[at].1 as usize);
                    }
                }
            }
        }
        for arm in mine {
            masks[arm].push(i);
        }
    }
    let words = words_for(variants.len());
    let table = DispatchTable {
        channels: List::Owned(channels.into_iter().map(Text::Owned).collect()),
        channel_arms: List::Owned(channel_arms),
        other_arm,
        masks: List::Owned(
            masks
                .iter()
                .map(|m| List::Owned(bitset(m, words)))
                .collect(),
        ),
    };
    (table, masks)
}

/// The prefilter tables of one layout for `atoms_of` (per atom group: field
/// index and atom text; the targets the tables name are group ids), given
/// the variant of each group, each field's event path and the variants of
/// each dispatch arm.
///
/// A field's atoms are shared by every arm in one automaton, except where
/// an arm's own share of them (atoms that can mark one of its variants) is
/// small enough for the prefilter's SIMD first pass
/// ([`crate::prefilter::TEDDY_MAX_ATOMS`]): then the arm gets a table of
/// just those (arms with the same share use the same one). Keyword atoms of
/// every channel's rules add up to more than the first pass takes, while
/// the one keyword rule that applies to every event has a handful.
fn prefilter_tables(
    atoms_of: &[Vec<(u32, String)>],
    group_variant: &[usize],
    paths: &[String],
    masks: &[Vec<usize>],
) -> PrefilterTables {
    type Atoms<'a> = BTreeMap<&'a str, Vec<u32>>;
    let mut by_path: BTreeMap<&str, Atoms> = BTreeMap::new();
    for (id, atoms) in atoms_of.iter().enumerate() {
        for (fi, text) in atoms {
            let targets = by_path
                .entry(&paths[*fi as usize])
                .or_default()
                .entry(text.as_str())
                .or_default();
            if targets.last() != Some(&(id as u32)) {
                targets.push(id as u32);
            }
        }
    }
    // The variants each field's atoms can mark: an arm holding none of
    // them skips the field without looking at its atoms.
    let variants = group_variant.iter().max().map_or(0, |m| m + 1);
    let words = words_for(variants);
    let path_variants: Vec<Vec<u64>> = by_path
        .values()
        .map(|atoms| {
            let mut ids: Vec<usize> = atoms
                .values()
                .flatten()
                .map(|&g| group_variant[g as usize])
                .collect();
            ids.sort_unstable();
            ids.dedup();
            bitset(&ids, words)
        })
        .collect();
    // Tables in order of first use, deduplicated (a field's full table by
    // its path alone, an arm's share by its content).
    let mut tables: Vec<(&str, Atoms)> = Vec::new();
    let mut full: BTreeMap<&str, u32> = BTreeMap::new();
    let mut shares: BTreeMap<(&str, Atoms), u32> = BTreeMap::new();
    let mut arm_fields: Vec<List<u32>> = Vec::new();
    let mut in_arm = vec![false; group_variant.len()];
    for mask in masks {
        let arm_bits = bitset(mask, words);
        let mut filled = false;
        let mut ids: Vec<u32> = Vec::new();
        for ((path, atoms), marks) in by_path.iter().zip(&path_variants) {
            if !arm_bits.iter().zip(marks).any(|(a, m)| a & m != 0) {
                continue;
            }
            if !filled {
                for (g, v) in group_variant.iter().enumerate() {
                    in_arm[g] = arm_bits[v / 64] & (1 << (v % 64)) != 0;
                }
                filled = true;
            }
            let hits = |targets: &Vec<u32>| targets.iter().any(|&g| in_arm[g as usize]);
            let count = atoms.values().filter(|t| hits(t)).count();
            if count == 0 {
                continue;
            }
            let id = if count > crate::prefilter::TEDDY_MAX_ATOMS {
                *full.entry(path).or_insert_with(|| {
                    tables.push((path, atoms.clone()));
                    tables.len() as u32 - 1
                })
            } else {
                let share: Atoms = atoms
                    .iter()
                    .filter_map(|(text, targets)| {
                        let t: Vec<u32> = targets
                            .iter()
                            .copied()
                            .filter(|&g| in_arm[g as usize])
                            .collect();
                        (!t.is_empty()).then_some((*text, t))
                    })
                    .collect();
                *shares.entry((path, share.clone())).or_insert_with(|| {
                    tables.push((path, share));
                    tables.len() as u32 - 1
                })
            };
            ids.push(id);
        }
        arm_fields.push(List::Owned(ids));
    }
    let fields = tables
        .into_iter()
        .map(|(path, atoms)| FieldAtoms {
            path: Text::Owned(path.to_string()),
            atoms: List::Owned(atoms.keys().map(|a| Text::Owned(a.to_string())).collect()),
            targets: List::Owned(atoms.into_values().map(List::Owned).collect()),
        })
        .collect();
    PrefilterTables {
        fields: List::Owned(fields),
        arm_fields: List::Owned(arm_fields),
    }
}

/// A bitset of `words` words with the given bits set.
fn bitset(ids: &[usize], words: usize) -> Vec<u64> {
    let mut w = vec![0u64; words];
    for &i in ids {
        w[i / 64] |= 1 << (i % 64);
    }
    w
}
