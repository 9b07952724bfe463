//! IR -> Rust.
//!
//! For every rule and every event layout the rule is lowered (log source
//! conditions added, fields mapped: `detect_core::lower`) and compiled into a
//! plain boolean expression of calls to `detect::__rt` helpers with constant
//! arguments. Everything that can be decided at compile time is: patterns are
//! case-folded here, wildcard shapes are reduced to prefix/suffix/contains
//! where possible, modifier expansions are already literals in the IR, and a
//! regex is compiled once per process on first use.
//!
//! The unit of evaluation is a *rule variant*: a rule under one of its log
//! source variants (process_creation = Sysmon 1 or Security 4688). `scan`
//! matches on the event's layout, routes the event by (channel, event ID)
//! through a table built here (the rule variants whose log source can apply,
//! as a bitmask), marks rule variants whose required atoms occur with one
//! Aho-Corasick pass per field (`detect_core::prefilter`), and evaluates only
//! variants that are both routed and marked (or have no atom), in rule order.
//! `scan_unfiltered` evaluates every rule in full: same verdicts, for tests.
//!
//! Sequence rules get the same treatment per stage: each stage (and `until`)
//! of each sequence is lowered into *stage variants*, which have their own
//! dispatch table and prefilter (built the same way, over the same field
//! table), so a sequence step evaluates only the stage predicates whose
//! log source applies and whose atoms occur. Only when some stage holds does
//! the step read the event's timestamp and join keys and touch the tables.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use detect_core::atoms::{required_atom_alternatives_where, required_atoms_where};
use detect_core::ir::{
    Case, Expr, FieldTest, GlobToken, Joins, NumOp, Number, RefKind, RuleSet, StrKind, StrPattern,
    Test, TimePart, Vocabulary,
};
use detect_core::layout::{Layout, is_dispatch_field, map_field};
use detect_core::logsource::Dispatch;
use detect_core::lower::{LoweredVariant, lower_variants_in_vocabulary, simplify};
use detect_core::matcher::fold;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use syn::{Attribute, Ident, Visibility};

/// One rule variant (a rule under one of its log source variants): the unit
/// the dispatch table and the prefilter select.
struct RuleVariant {
    rule: usize,
    /// The log source variant's own dispatch (its `source` condition as
    /// channel/event-ID sets): identifies the source expression that
    /// `scan_unfiltered` evaluates.
    dispatch: Option<Dispatch>,
    /// What the dispatch table routes on: `dispatch`, narrowed to the event
    /// IDs that the rule's body itself requires (see [`required_event_ids`]).
    route: Option<Dispatch>,
}

/// The event IDs a rule body requires: a test `EventID: N` (canonical
/// decimal) requires `N`, an `Or` the union of what each of its children
/// requires (if each requires some), an `And` the intersection of what its
/// children require (those that require any). So `(EventID: 4738 and not
/// filter) or (EventID: 5136 and ...)` requires {4738, 5136}. The dispatch table can then route the variant on
/// those IDs alone: the body's test compares the whole text of a single
/// value, which is true exactly when the routing's canonical event ID is `N`
/// (and a multi-valued `EventID` makes the generated code evaluate everything
/// in full). Sigma rules of `service: security` and the like put their event
/// ID in the detection, so without this they would be evaluated on every
/// event of their channel.
fn required_event_ids(body: &Expr, is_event_id: &dyn Fn(&str) -> bool) -> Option<BTreeSet<u32>> {
    fn ids(e: &Expr, is_event_id: &dyn Fn(&str) -> bool) -> Option<BTreeSet<u32>> {
        match e {
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
                    all.extend(ids(c, is_event_id)?);
                }
                Some(all)
            }
            Expr::And(children) => children
                .iter()
                .filter_map(|c| ids(c, is_event_id))
                .reduce(|a, b| a.intersection(&b).copied().collect()),
            _ => None,
        }
    }
    ids(body, is_event_id)
}

/// The generated type `name` (with `vis` and the doc attributes in `docs`)
/// for the rule set. Every front end (the `rules!` DSL, Sigma YAML) ends here.
pub fn generate(name: &Ident, vis: &Visibility, docs: &[Attribute], set: &RuleSet) -> TokenStream {
    let docs = docs.iter().filter(|a| a.path().is_ident("doc"));
    let name_ident = name;
    let lazy = Lazies::default();
    let infos = set.rules.iter().enumerate().map(|(i, r)| rule_info(i, r));
    let json = serde_json::to_string(set).unwrap_or_default();
    let count = set.rules.len();

    // Every rule variant, with fields still in its rule's vocabulary: one
    // function per variant serves all layouts through a path table.
    let mut variants: Vec<RuleVariant> = Vec::new();
    let mut lowered: Vec<(Vocabulary, LoweredVariant)> = Vec::new();
    for (rule, r) in set.rules.iter().enumerate() {
        match lower_variants_in_vocabulary(r) {
            Ok(vs) => {
                for v in vs {
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
                    variants.push(RuleVariant {
                        rule,
                        dispatch: v.dispatch.clone(),
                        route,
                    });
                    lowered.push((r.vocabulary, v));
                }
            }
            // Validated while lowering the front end; unreachable in practice.
            Err(e) => {
                let msg = e.to_string();
                return quote!(compile_error!(#msg););
            }
        }
    }
    let nrv = variants.len();
    let words = nrv.div_ceil(64).max(1);
    let table = DispatchTable::new(&variants);

    // The code of a rule variant: its body, plus its source condition when the
    // dispatch table cannot stand for it.
    let exprs: Vec<Expr> = lowered
        .iter()
        .map(|(_, v)| match v.dispatch {
            Some(_) => v.body.clone(),
            None => simplify(Expr::And(vec![v.source.clone(), v.body.clone()])),
        })
        .collect();

    // Field table: every (vocabulary, name) read, and its path in each layout.
    let mut fields = FieldTable::default();
    for (i, e) in exprs.iter().enumerate() {
        let vocab = lowered[i].0;
        e.visit_fields(&mut |f| {
            fields.index(vocab, f);
        });
    }
    for spec in &table.specs {
        let (vocab, v) = &lowered[*spec];
        v.source.visit_fields(&mut |f| {
            fields.index(*vocab, f);
        });
    }
    // Sequence rules: every stage (and `until`) is a *stage unit*; each unit
    // is lowered into variants like a rule (its log source, if any, gives a
    // dispatch), and the variants go through a dispatch table and a
    // prefilter of their own, built exactly as the rules' are.
    const TIMESTAMP: &str = "@timestamp";
    let mut unit_of: Vec<Vec<usize>> = Vec::new(); // per sequence: stage units, then until's
    let mut stage_variants: Vec<RuleVariant> = Vec::new();
    let mut stage_exprs: Vec<(Vocabulary, Expr)> = Vec::new();
    let mut units = 0usize;
    for seq in &set.sequences {
        let mut ids = Vec::new();
        for stage in seq.stages.iter().chain(seq.until.iter()) {
            let unit = units;
            units += 1;
            ids.push(unit);
            let rule = detect_core::ir::Rule {
                name: seq.name.clone(),
                meta: Default::default(),
                logsource: stage.logsource.clone(),
                vocabulary: seq.vocabulary,
                detection: detect_core::ir::Detection {
                    selections: vec![detect_core::ir::Selection {
                        name: "stage".into(),
                        expr: stage.condition.clone(),
                    }],
                    condition: detect_core::ir::Condition::Selection(0),
                },
            };
            match lower_variants_in_vocabulary(&rule) {
                Ok(vs) => {
                    for v in vs {
                        stage_variants.push(RuleVariant {
                            rule: unit,
                            dispatch: v.dispatch.clone(),
                            route: v.dispatch.clone(),
                        });
                        // The source condition stays in the predicate: the
                        // dispatch table only narrows the candidates.
                        stage_exprs
                            .push((seq.vocabulary, simplify(Expr::And(vec![v.source, v.body]))));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    return quote!(compile_error!(#msg););
                }
            }
        }
        unit_of.push(ids);
    }
    for (vocab, e) in &stage_exprs {
        e.visit_fields(&mut |f| {
            fields.index(*vocab, f);
        });
    }
    for seq in &set.sequences {
        for stage in seq.stages.iter().chain(seq.until.iter()) {
            for k in &stage.keys {
                fields.index(seq.vocabulary, k);
            }
        }
        fields.index(Vocabulary::Ecs, TIMESTAMP);
    }
    // The keyword pseudo-field: keyword rules' atoms are entered under it (the
    // prefilter scans every value of the event for them).
    for vocab in [Vocabulary::Windows, Vocabulary::Ecs] {
        fields.index(vocab, detect_core::atoms::KEYWORDS);
    }
    let nf = fields.names.len().max(1);

    // Sequence rules: stage predicates and the per-event step.
    let seq_infos = set.sequences.iter().enumerate().map(|(i, s)| {
        let meta_rule = detect_core::ir::Rule {
            name: s.name.clone(),
            meta: s.meta.clone(),
            logsource: Default::default(),
            vocabulary: s.vocabulary,
            detection: detect_core::ir::Detection {
                selections: vec![],
                condition: detect_core::ir::Condition::And(vec![]),
            },
        };
        rule_info(i, &meta_rule)
    });
    let nsv = stage_variants.len();
    let swords = nsv.div_ceil(64).max(1);
    let stage_table = DispatchTable::new(&stage_variants);
    let mut seq_steps = Vec::new();
    let mut seq_tables = Vec::new();
    for (i, seq) in set.sequences.iter().enumerate() {
        let v = seq.vocabulary;
        let joins = match seq.joins {
            Joins::Elasticsearch => quote!(::detect::ir::Joins::Elasticsearch),
            Joins::Endgame => quote!(::detect::ir::Joins::Endgame),
        };
        let stage_key = |stage: &detect_core::ir::SequenceStage, unit: usize| {
            let idx = stage.keys.iter().map(|k| fields.lookup(v, k));
            quote! {
                if hits[#unit] {
                    ::detect::__rt::join_key(e, table, &[#(p[#idx]),*], #joins)
                } else {
                    ::core::option::Option::None
                }
            }
        };
        let keys = seq
            .stages
            .iter()
            .zip(&unit_of[i])
            .map(|(stage, unit)| stage_key(stage, *unit));
        let until = match &seq.until {
            Some(stage) => stage_key(stage, unit_of[i][seq.stages.len()]),
            None => quote!(::core::option::Option::None),
        };
        let stages = seq.stages.len();
        let maxspan = match seq.maxspan_ms {
            Some(m) => quote!(::core::option::Option::Some(#m)),
            None => quote!(::core::option::Option::None),
        };
        seq_tables.push(quote!(
            ::detect::__rt::SequenceTable::new(#stages, capacity, #maxspan)
                .with_joins(#joins)
        ));
        seq_steps.push(quote! {
            {
                let table = &mut state.tables[#i];
                let keys: [::core::option::Option<::detect::__rt::Key>; #stages] = {
                    let table = &*table;
                    [#(#keys),*]
                };
                let until = {
                    let table = &*table;
                    #until
                };
                table.step(ts, pos, &keys, until, |events| sink(&#name_ident::SEQUENCES[#i], events));
            }
        });
    }
    let seq_fns = stage_exprs
        .iter()
        .enumerate()
        .map(|(k, (vocab, e))| {
            let f = format_ident!("__sv_{}", k);
            let body = expr_tokens(e, &|n| fields.lookup(*vocab, n), &lazy);
            quote! {
                #[inline(never)]
                #[allow(clippy::all, unused_variables)]
                fn #f(e: &dyn ::detect::Event, p: &[&'static str; #nf]) -> bool { #body }
            }
        })
        .collect::<Vec<_>>();
    let sv_eval_arms = (0..nsv).map(|k| {
        let f = format_ident!("__sv_{}", k);
        quote! { #k => Self::#f(e, p), }
    });
    // Stage variants without a usable atom: always evaluated.
    let mut sv_atomless = Vec::new();
    let mut sv_atoms: Vec<Vec<(usize, String)>> = Vec::new();
    // As for rules, the fields the dispatch routes on give no atoms.
    for (k, (vocab, e)) in stage_exprs.iter().enumerate() {
        match required_atoms_where(e, &|f| !is_dispatch_field(*vocab, f)) {
            Some(atoms) => sv_atoms.push(
                atoms
                    .into_iter()
                    .map(|a| (fields.lookup(*vocab, &a.field), a.text))
                    .collect(),
            ),
            None => {
                sv_atomless.push(k);
                sv_atoms.push(Vec::new());
            }
        }
    }
    let sv_atomless_bits = bitset(&sv_atomless, swords);
    let sv_unit = stage_variants.iter().map(|v| v.rule as u32);
    let stage_channels = &stage_table.channels;
    let stage_arm_masks = stage_table.masks.iter().map(|m| bitset(m, swords));
    let stage_arm_count = stage_table.masks.len();
    let all_sv: Vec<usize> = (0..nsv).collect();
    let all_sv_bits = bitset(&all_sv, swords);
    let mut stage_scan_fns = Vec::new();
    let mut stage_scan_arms = Vec::new();
    for (li, layout) in Layout::ALL.into_iter().enumerate() {
        let tag = layout.as_str();
        let paths: Vec<String> = (0..nf).map(|i| fields.path(i, layout)).collect();
        let sv_group_variant: Vec<usize> = (0..nsv).collect();
        let (field_atoms, arm_fields) =
            prefilter_tables(&sv_atoms, &sv_group_variant, &paths, &stage_table.masks);
        let [channel_path, event_id_path] = layout.dispatch_paths();
        let routing = if stage_table.channels.is_empty() {
            quote! { let arm: usize = 0; }
        } else {
            let arm_expr = stage_table.arm_expr();
            quote! {
                let (Ok(ch), Ok(eid)) = (
                    ::detect::__rt::channel_of(e, #channel_path, STAGE_CHANNELS),
                    ::detect::__rt::event_id_of(e, #event_id_path),
                ) else {
                    // A multi-valued channel or event ID: every stage in full.
                    ::detect::__rt::for_each_bit(&ALL_SV, |sv| {
                        let unit = SV_UNIT[sv] as usize;
                        if !hits[unit] && Self::__sv_eval(sv, e, p) {
                            hits[unit] = true;
                        }
                    });
                    return;
                };
                let arm: usize = #arm_expr;
            }
        };
        let f = format_ident!("__stages_{}", tag);
        let prefilter = lazy.prefilter(&format!("STAGES_{tag}"), &field_atoms);
        stage_scan_fns.push(quote! {
            #[allow(clippy::all, unused_variables)]
            fn #f(e: &dyn ::detect::Event, p: &[&'static str; #nf], hits: &mut [bool; #units]) {
                static ARM_FIELDS: [&[u32]; #stage_arm_count] = [#(#arm_fields),*];
                #routing
                let mask = &STAGE_ARMS[arm];
                let mut candidates = [0u64; #swords];
                #prefilter
                    .mark_fields(e, ARM_FIELDS[arm], &mut candidates);
                for w in 0..#swords {
                    candidates[w] = (candidates[w] | SV_ATOMLESS[w]) & mask[w];
                }
                ::detect::__rt::for_each_bit(&candidates, |sv| {
                    let unit = SV_UNIT[sv] as usize;
                    if !hits[unit] && Self::__sv_eval(sv, e, p) {
                        hits[unit] = true;
                    }
                });
            }
        });
        stage_scan_arms.push(quote! { #li => Self::#f(e, p, &mut hits), });
    }
    let ts_index = fields.lookup(Vocabulary::Ecs, TIMESTAMP);
    let seq_count = set.sequences.len();
    let state_name = format_ident!("{}Sequences", name);

    let rv_fns = exprs
        .iter()
        .enumerate()
        .map(|(id, e)| {
            let f = format_ident!("__rv_{}", id);
            let body = expr_tokens(e, &|n| fields.lookup(lowered[id].0, n), &lazy);
            quote! {
                #[inline(never)]
                #[allow(clippy::all, unused_variables)]
                fn #f(e: &dyn ::detect::Event, p: &[&'static str; #nf]) -> bool { #body }
            }
        })
        .collect::<Vec<_>>();
    let eval_arms = (0..nrv).map(|id| {
        let f = format_ident!("__rv_{}", id);
        quote! { #id => Self::#f(e, p), }
    });
    let src_arms = table
        .specs
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            let (vocab, v) = &lowered[*spec];
            let src = expr_tokens(&v.source, &|n| fields.lookup(*vocab, n), &lazy);
            quote! { #k => #src, }
        })
        .collect::<Vec<_>>();

    // Atoms (computed once, in the vocabulary) and the variants without any.
    // Fields the dispatch routes on give no atoms: they hold for every event
    // routed to the rule.
    // Atom groups (see `required_atom_alternatives_where`): a variant is a
    // candidate when every group of one of its alternatives has a hit. A
    // variant with one alternative: its first group has the variant's id,
    // the others ids from `nrv` on, and `ALTERNATIVES` lists those others
    // (none: the first group's hit is enough). A variant with several: the
    // first groups of all its alternatives, together, have the variant's id
    // (a hit there makes it worth checking), and each alternative lists its
    // groups, each with an id of its own.
    let mut atomless = Vec::new();
    let mut group_atoms: Vec<Vec<(usize, String)>> = vec![Vec::new(); nrv];
    let mut group_variant: Vec<usize> = (0..nrv).collect();
    let mut alternatives: Vec<Vec<Vec<u32>>> = vec![Vec::new(); nrv];
    for (id, e) in exprs.iter().enumerate() {
        let vocab = lowered[id].0;
        let alts = required_atom_alternatives_where(e, &|f| !is_dispatch_field(vocab, f));
        let in_vocab = |atoms: Vec<detect_core::atoms::Atom>| -> Vec<(usize, String)> {
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
    let gwords = group_atoms.len().div_ceil(64).max(1);
    let atomless_bits = bitset(&atomless, words);

    let mut layout_items = Vec::new();
    let mut scan_arms = Vec::new();
    let mut unfiltered_arms = Vec::new();
    let mut candidates_arms = Vec::new();
    let mut path_rows = Vec::new();
    for (li, layout) in Layout::ALL.into_iter().enumerate() {
        let tag = layout.as_str();
        let paths: Vec<String> = (0..nf).map(|i| fields.path(i, layout)).collect();
        path_rows.push(quote!([#(#paths),*]));
        // Prefilter fields of this layout: atoms grouped by event path.
        let (field_atoms, arm_fields) =
            prefilter_tables(&group_atoms, &group_variant, &paths, &table.masks);
        let scan_fn = format_ident!("__scan_{}", tag);
        let prefilter = lazy.prefilter(&format!("RULES_{tag}"), &field_atoms);
        let candidates_fn = format_ident!("__candidates_{}", tag);
        let [channel_path, event_id_path] = layout.dispatch_paths();
        let arm_expr = table.arm_expr();
        let arm_count = table.masks.len();
        let routing = if table.channels.is_empty() {
            quote! { let arm: usize = 0; }
        } else {
            // The event ID is looked up only for channels with per-ID arms:
            // elsewhere the channel alone picks the arm (and most events of
            // a mixed stream come from channels no rule routes on).
            quote! {
                let Ok(ch) = ::detect::__rt::channel_of(e, #channel_path, CHANNELS) else {
                    return false;
                };
                let eid = match ch {
                    ::core::option::Option::Some(c) if CHANNEL_HAS_IDS[c] => {
                        match ::detect::__rt::event_id_of(e, #event_id_path) {
                            Ok(eid) => eid,
                            Err(_) => return false,
                        }
                    }
                    _ => ::core::option::Option::None,
                };
                let arm: usize = #arm_expr;
            }
        };
        layout_items.push(quote! {
            /// Sets in `candidates` the rule variants to evaluate on `e`: those
            /// its dispatch arm holds that have a hit atom or none. False when
            /// the channel or event ID has several values: then every rule is
            /// evaluated in full.
            #[allow(clippy::all, unused_variables)]
            #[inline]
            fn #candidates_fn(e: &dyn ::detect::Event, candidates: &mut [u64; #words]) -> bool {
                static ARM_FIELDS: [&[u32]; #arm_count] = [#(#arm_fields),*];
                #routing
                let mask = &ARMS[arm];
                if mask.iter().all(|w| *w == 0) {
                    return true;
                }
                // Rules apply: they are about to read the event's fields.
                e.prefetch();
                let mut marked = [0u64; #gwords];
                #prefilter
                    .mark_fields(e, ARM_FIELDS[arm], &mut marked);
                for w in 0..#words {
                    candidates[w] = (marked[w] | ATOMLESS[w]) & mask[w];
                }
                // Variants with several atom groups need a hit in each group
                // of one of their alternatives.
                let mut keep = *candidates;
                let hit = |g: u32| marked[g as usize / 64] & (1 << (g % 64)) != 0;
                ::detect::__rt::for_each_bit(&candidates[..], |rv| {
                    let alts = ALTERNATIVES[rv];
                    if !alts.is_empty() && !alts.iter().any(|alt| alt.iter().all(|&g| hit(g))) {
                        keep[rv / 64] &= !(1 << (rv % 64));
                    }
                });
                *candidates = keep;
                true
            }

            #[allow(clippy::all, unused_variables)]
            fn #scan_fn(e: &dyn ::detect::Event, sink: &mut dyn FnMut(&'static ::detect::RuleInfo)) {
                let p = &PATHS[#li];
                let mut candidates = [0u64; #words];
                if !Self::#candidates_fn(e, &mut candidates) {
                    // A multi-valued channel or event ID: evaluate everything in full.
                    return Self::__scan_unfiltered(e, p, sink);
                }
                let mut last = usize::MAX;
                ::detect::__rt::for_each_bit(&candidates, |rv| {
                    let rule = RV_RULE[rv] as usize;
                    if rule != last && Self::__eval(rv, e, p) {
                        last = rule;
                        sink(&Self::RULES[rule]);
                    }
                });
            }
        });
        let variant = format_ident!("{}", format!("{layout:?}"));
        scan_arms.push(quote! { ::detect::Layout::#variant => Self::#scan_fn(e, &mut sink), });
        candidates_arms.push(
            quote! { ::detect::Layout::#variant => Self::#candidates_fn(e, &mut candidates), },
        );
        unfiltered_arms.push(
            quote! { ::detect::Layout::#variant => Self::__scan_unfiltered_at(#li, e, &mut sink), },
        );
    }
    let alternative_lists = alternatives.iter().map(|alts| {
        let alts = alts.iter().map(|g| quote!(&[#(#g),*]));
        quote!(&[#(#alts),*])
    });
    let rv_rule = variants.iter().map(|v| v.rule as u32);
    let rv_src = table
        .rv_spec
        .iter()
        .map(|s| s.map_or(u32::MAX, |k| k as u32));
    let channels = &table.channels;
    let channel_has_ids = (0..channels.len()).map(|c| {
        table
            .arms
            .iter()
            .any(|(ch, id)| *ch == Some(c) && id.is_some())
    });
    let arm_masks = table.masks.iter().map(|m| bitset(m, words));
    let arm_count = table.masks.len();
    let lazy_decls = lazy.decls.take();
    let lazy_warm = lazy.warm.take();
    quote! {
        #(#docs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        const _: () = {
            /// Lowercase channel names the dispatch table routes on.
            static CHANNELS: &[&str] = &[#(#channels),*];
            /// For each of `CHANNELS`, whether some arm routes on its event IDs.
            static CHANNEL_HAS_IDS: &[bool] = &[#(#channel_has_ids),*];
            /// For each dispatch arm, the rule variants that can apply.
            static ARMS: [[u64; #words]; #arm_count] = [#(#arm_masks),*];
            /// The rule of each rule variant.
            static RV_RULE: [u32; #nrv] = [#(#rv_rule),*];
            /// The log source condition of each rule variant (an index into
            /// `__src`; `u32::MAX`: none, or part of the variant's body).
            static RV_SRC: [u32; #nrv] = [#(#rv_src),*];
            /// Rule variants without a usable atom: always evaluated.
            static ATOMLESS: [u64; #words] = #atomless_bits;
            /// For each rule variant, its alternatives of atom groups (see
            /// the code generator): a candidate needs a hit in every group
            /// of one of them. None: the hit of the variant's id is enough.
            static ALTERNATIVES: [&[&[u32]]; #nrv] = [#(#alternative_lists),*];
            /// Lowercase channel names the stage dispatch table routes on.
            static STAGE_CHANNELS: &[&str] = &[#(#stage_channels),*];
            /// For each stage dispatch arm, the stage variants that can apply.
            static STAGE_ARMS: [[u64; #swords]; #stage_arm_count] = [#(#stage_arm_masks),*];
            /// The stage unit (a sequence's stage or `until`) of each stage variant.
            static SV_UNIT: [u32; #nsv] = [#(#sv_unit),*];
            /// Stage variants without a usable atom: always evaluated.
            static SV_ATOMLESS: [u64; #swords] = #sv_atomless_bits;
            /// Every stage variant.
            static ALL_SV: [u64; #swords] = #all_sv_bits;
            /// Event path of every field, per layout (flat, evtx, ECS).
            static PATHS: [[&str; #nf]; 3] = [#(#path_rows),*];
            // Built on first use, or by `warm_up`: prefilters, regexes, `contains` sets.
            #(#lazy_decls)*

            impl #name {
                #(#rv_fns)*

                #[allow(clippy::all)]
                fn __eval(rv: usize, e: &dyn ::detect::Event, p: &[&'static str; #nf]) -> bool {
                    match rv {
                        #(#eval_arms)*
                        _ => false,
                    }
                }

                #[allow(clippy::all, unused_variables)]
                fn __src(k: usize, e: &dyn ::detect::Event, p: &[&'static str; #nf]) -> bool {
                    match k {
                        #(#src_arms)*
                        _ => false,
                    }
                }

                #[allow(clippy::all, unused_variables)]
                fn __scan_unfiltered(
                    e: &dyn ::detect::Event,
                    p: &[&'static str; #nf],
                    sink: &mut dyn FnMut(&'static ::detect::RuleInfo),
                ) {
                    let mut last = usize::MAX;
                    for rv in 0..#nrv {
                        let rule = RV_RULE[rv] as usize;
                        if rule == last {
                            continue;
                        }
                        let src = RV_SRC[rv];
                        if (src == u32::MAX || Self::__src(src as usize, e, p)) && Self::__eval(rv, e, p) {
                            last = rule;
                            sink(&Self::RULES[rule]);
                        }
                    }
                }

                fn __scan_unfiltered_at(
                    layout: usize,
                    e: &dyn ::detect::Event,
                    sink: &mut dyn FnMut(&'static ::detect::RuleInfo),
                ) {
                    Self::__scan_unfiltered(e, &PATHS[layout], sink)
                }

                #(#layout_items)*

                fn __eval_variant_dyn(rv: usize, e: &dyn ::detect::Event) -> bool {
                    let layout = match e.layout() {
                        ::detect::Layout::Flat => 0,
                        ::detect::Layout::EvtxNested => 1,
                        ::detect::Layout::Ecs => 2,
                    };
                    Self::__eval(rv, e, &PATHS[layout])
                }

                fn __candidates_dyn(e: &dyn ::detect::Event, f: &mut dyn FnMut(usize, usize, bool)) -> bool {
                    let mut candidates = [0u64; #words];
                    let routed = match e.layout() {
                        #(#candidates_arms)*
                    };
                    if routed {
                        ::detect::__rt::for_each_bit(&candidates, |rv| {
                            f(rv, RV_RULE[rv] as usize, ATOMLESS[rv / 64] & (1 << (rv % 64)) != 0)
                        });
                    }
                    routed
                }

                #(#seq_fns)*

                #[allow(clippy::all)]
                fn __sv_eval(sv: usize, e: &dyn ::detect::Event, p: &[&'static str; #nf]) -> bool {
                    match sv {
                        #(#sv_eval_arms)*
                        _ => false,
                    }
                }

                #(#stage_scan_fns)*

                fn __warm_up() {
                    #(#lazy_warm)*
                    ::detect::__rt::prepare_thread();
                }

                #[allow(clippy::all, unused_variables, unused_mut)]
                fn __sequences_step(
                    state: &mut #state_name,
                    e: &dyn ::detect::Event,
                    time: ::core::option::Option<i64>,
                    pos: u64,
                    sink: &mut dyn FnMut(&'static ::detect::RuleInfo, &[u64]),
                ) {
                    if #seq_count == 0 {
                        return;
                    }
                    let layout = match e.layout() {
                        ::detect::Layout::Flat => 0,
                        ::detect::Layout::EvtxNested => 1,
                        ::detect::Layout::Ecs => 2,
                    };
                    let p = &PATHS[layout];
                    // Which stage units the event satisfies: dispatch,
                    // prefilter, then only the candidate predicates.
                    let mut hits = [false; #units];
                    match layout {
                        #(#stage_scan_arms)*
                        _ => {}
                    }
                    if !hits.iter().any(|h| *h) {
                        return;
                    }
                    let ::core::option::Option::Some(ts) = time.or_else(|| ::detect::__rt::timestamp_ms(e, p[#ts_index])) else {
                        state.untimed += 1;
                        return;
                    };
                    #(#seq_steps)*
                }
            }
        };

        /// Pending-sequence state of the rule set's sequence rules: one bounded
        /// table per rule, allocated once by `sequences(capacity)`.
        #[derive(Debug)]
        #vis struct #state_name {
            tables: ::std::vec::Vec<::detect::__rt::SequenceTable>,
            untimed: u64,
        }

        impl #state_name {
            /// Feeds one event (in time order; `pos` is reported back, e.g. its
            /// line number) to every sequence rule and calls `sink` with the rule
            /// and the positions of the events of each completed sequence. The
            /// event's time is its `@timestamp` (RFC 3339 or epoch milliseconds;
            /// see `step_at` for another). Allocates nothing.
            pub fn step<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo, &[u64])>(
                &mut self,
                event: &E,
                pos: u64,
                mut sink: F,
            ) {
                let e = ::detect::__rt::AsDyn(event);
                #name::__sequences_step(self, &e, ::core::option::Option::None, pos, &mut sink)
            }

            /// `step`, with the event's time given by the caller (milliseconds;
            /// any epoch, the same for every event) rather than read from its
            /// `@timestamp`: for events that carry their time elsewhere, such
            /// as the endgame engine's `timestamp` in 100 ns ticks.
            pub fn step_at<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo, &[u64])>(
                &mut self,
                event: &E,
                time_ms: i64,
                pos: u64,
                mut sink: F,
            ) {
                let e = ::detect::__rt::AsDyn(event);
                #name::__sequences_step(self, &e, ::core::option::Option::Some(time_ms), pos, &mut sink)
            }

            /// Drops every pending sequence and zeroes the counters, keeping
            /// the memory: the state is then as `sequences(capacity)` made it,
            /// without allocating (for instance between inputs whose events must
            /// not join). Costs in proportion to the sequences pending.
            pub fn reset(&mut self) {
                for table in &mut self.tables {
                    table.clear();
                }
                self.untimed = 0;
            }

            /// Counters of sequence rule `index` (see `SEQUENCES`).
            pub fn stats(&self, index: usize) -> ::detect::__rt::SequenceStats {
                self.tables[index].stats()
            }

            /// Pending sequences of rule `index`.
            pub fn pending(&self, index: usize) -> usize {
                self.tables[index].len()
            }

            /// Events that satisfied a stage (or `until`) but carried no usable
            /// timestamp, and so took no part.
            pub fn untimed(&self) -> u64 {
                self.untimed
            }
        }

        impl #name {
            /// Metadata of every rule, in declaration order.
            pub const RULES: &'static [::detect::RuleInfo] = &[#(#infos),*];
            /// Number of rules in the set.
            pub const LEN: usize = #count;

            /// Builds now what the rule set otherwise builds on first use: the
            /// prefilter automata of every event layout, the regexes and the
            /// `contains` sets, and the calling thread's memo table of the
            /// prefilter (another thread allocates its own at its first scan).
            /// Without it, the first events of each layout pay for it (for the
            /// whole SigmaHQ corpus, most of a second); a sensor calls it at
            /// start-up, from its scanning thread. Idempotent and thread-safe.
            pub fn warm_up() {
                Self::__warm_up()
            }

            /// Evaluates the rule set against `event` and calls `sink` for each
            /// matching rule, in rule order. Allocates nothing: the event is routed
            /// by log source, one Aho-Corasick pass per field marks the candidate
            /// rules, and only those are evaluated.
            #[inline]
            pub fn scan<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, mut sink: F) {
                event.prefetch_dispatch();
                let e = ::detect::__rt::AsDyn(event);
                let e: &dyn ::detect::Event = &e;
                match e.layout() {
                    #(#scan_arms)*
                }
            }

            /// Like [`Self::scan`] but without log source routing or prefilter:
            /// every rule is evaluated in full. Same verdicts, slower; for tests
            /// and benchmarks.
            pub fn scan_unfiltered<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, mut sink: F) {
                let e = ::detect::__rt::AsDyn(event);
                let e: &dyn ::detect::Event = &e;
                match e.layout() {
                    #(#unfiltered_arms)*
                }
            }

            /// Diagnostics of the prefilter: calls `f(variant, rule, atomless)`
            /// for every rule variant [`Self::scan`] would evaluate on `event`:
            /// the variant's id, its rule's index, and whether it is evaluated
            /// because it has no usable atom (rather than because one of its
            /// atoms occurs). Returns false, without calling `f`, when the
            /// event's channel or event ID has several values (then `scan`
            /// evaluates every rule in full).
            #[doc(hidden)]
            pub fn __candidates<E: ::detect::Event + ?Sized>(event: &E, mut f: impl FnMut(usize, usize, bool)) -> bool {
                let e = ::detect::__rt::AsDyn(event);
                Self::__candidates_dyn(&e, &mut f)
            }

            /// Diagnostics: evaluates the body of rule variant `variant` (an
            /// id given by [`Self::__candidates`]) on `event`, as `scan` does.
            #[doc(hidden)]
            pub fn __eval_variant<E: ::detect::Event + ?Sized>(variant: usize, event: &E) -> bool {
                let e = ::detect::__rt::AsDyn(event);
                Self::__eval_variant_dyn(variant, &e)
            }

            /// Metadata of every sequence rule, in declaration order.
            pub const SEQUENCES: &'static [::detect::RuleInfo] = &[#(#seq_infos),*];

            /// Fresh state for the sequence rules, holding at most `capacity`
            /// pending sequences per rule (the oldest is evicted beyond that).
            pub fn sequences(capacity: usize) -> #state_name {
                let _ = #seq_count;
                #state_name {
                    tables: ::std::vec![#(#seq_tables),*],
                    untimed: 0,
                }
            }

            /// The metadata of the rule called `name`.
            pub fn rule(name: &str) -> ::core::option::Option<&'static ::detect::RuleInfo> {
                Self::RULES.iter().find(|r| r.name == name)
            }

            /// The IR this code was generated from (for the reference interpreter).
            pub fn ir() -> ::detect::ir::RuleSet {
                ::detect::__rt::ir_from_json(#json)
            }
        }

        impl ::detect::CompiledRuleSet for #name {
            const RULES: &'static [::detect::RuleInfo] = #name::RULES;
            #[inline]
            fn scan<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, sink: F) {
                #name::scan(event, sink)
            }
            fn scan_unfiltered<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, sink: F) {
                #name::scan_unfiltered(event, sink)
            }
            fn ir() -> ::detect::ir::RuleSet {
                #name::ir()
            }
            fn warm_up() {
                #name::warm_up()
            }
        }
    }
}

/// The fields a rule set reads, each with its path in every layout.
#[derive(Default)]
struct FieldTable {
    names: Vec<(Vocabulary, String)>,
}

impl FieldTable {
    fn index(&mut self, vocab: Vocabulary, name: &str) -> usize {
        self.names
            .iter()
            .position(|(v, n)| *v == vocab && n == name)
            .unwrap_or_else(|| {
                self.names.push((vocab, name.to_string()));
                self.names.len() - 1
            })
    }

    fn lookup(&self, vocab: Vocabulary, name: &str) -> usize {
        // Every name that generated code reads is indexed before lookups (the
        // timestamp of a rule set without sequences is looked up, never read).
        self.names
            .iter()
            .position(|(v, n)| *v == vocab && n == name)
            .unwrap_or(0)
    }

    fn path(&self, i: usize, layout: Layout) -> String {
        self.names
            .get(i)
            .map(|(v, n)| {
                if n == detect_core::atoms::KEYWORDS {
                    n.clone()
                } else {
                    map_field(*v, layout, n)
                }
            })
            .unwrap_or_default()
    }
}

/// Routing of events by (channel, event ID) to the rule variants that can apply.
struct DispatchTable {
    /// Lowercase channel names.
    channels: Vec<String>,
    /// Arms: (channel index, event ID); `None` event ID = any other ID of that
    /// channel; the last arm is "any other channel".
    arms: Vec<(Option<usize>, Option<u32>)>,
    /// For each arm, the rule variants that can apply.
    masks: Vec<Vec<usize>>,
    /// One rule variant for each distinct log source condition (its source
    /// expression stands for all variants with that condition).
    specs: Vec<usize>,
    /// For each rule variant, the index of its condition in `specs`.
    rv_spec: Vec<Option<usize>>,
}

impl DispatchTable {
    fn new(variants: &[RuleVariant]) -> DispatchTable {
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
        let mut arms = Vec::new();
        for ci in 0..channels.len() {
            for id in ids.get(&ci).into_iter().flatten() {
                arms.push((Some(ci), Some(*id)));
            }
            arms.push((Some(ci), None));
        }
        arms.push((None, None));
        let masks = arms
            .iter()
            .map(|(ch, eid)| {
                variants
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| match (&v.route, ch) {
                        (None, _) => true,
                        (Some(_), None) => false,
                        (Some(d), Some(ci)) => {
                            d.channels.iter().any(|c| fold(c) == channels[*ci])
                                && (d.event_ids.is_empty()
                                    || eid.is_some_and(|e| d.event_ids.contains(&e)))
                        }
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let mut specs: Vec<usize> = Vec::new();
        let rv_spec = variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let d = v.dispatch.as_ref()?;
                Some(
                    specs
                        .iter()
                        .position(|s| variants[*s].dispatch.as_ref() == Some(d))
                        .unwrap_or_else(|| {
                            specs.push(i);
                            specs.len() - 1
                        }),
                )
            })
            .collect();
        DispatchTable {
            channels,
            arms,
            masks,
            specs,
            rv_spec,
        }
    }

    /// `match (ch, eid) { ... }` giving the arm index.
    fn arm_expr(&self) -> TokenStream {
        let last = self.arms.len() - 1;
        let cases = self.arms.iter().enumerate().filter_map(|(i, (ch, eid))| {
            let ch = (*ch)?;
            Some(match eid {
                Some(id) => quote!((::core::option::Option::Some(#ch), ::core::option::Option::Some(#id)) => #i,),
                None => quote!((::core::option::Option::Some(#ch), _) => #i,),
            })
        });
        quote!(match (ch, eid) { #(#cases)* _ => #last })
    }
}

/// The prefilter tables of one layout for `atoms_of` (per atom group: field
/// index and atom text; the targets the tables name are group ids), given
/// the variant of each group, each field's event path and the variants of
/// each dispatch arm: the `FieldAtoms` literals and, per arm, the indices of
/// those it scans.
///
/// A field's atoms are shared by every arm in one automaton, except where an
/// arm's own share of them (atoms that can mark one of its variants) is
/// small enough for the prefilter's SIMD first pass
/// ([`detect_core::prefilter::TEDDY_MAX_ATOMS`]): then the arm gets a table
/// of just those (arms with the same share use the same one). Keyword atoms
/// of every channel's rules add up to more than the first pass takes, while
/// the one keyword rule that applies to every event has a handful.
fn prefilter_tables(
    atoms_of: &[Vec<(usize, String)>],
    group_variant: &[usize],
    paths: &[String],
    masks: &[Vec<usize>],
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    type Atoms<'a> = BTreeMap<&'a str, Vec<u32>>;
    let mut by_path: BTreeMap<&str, Atoms> = BTreeMap::new();
    for (id, atoms) in atoms_of.iter().enumerate() {
        for (fi, text) in atoms {
            let targets = by_path
                .entry(&paths[*fi])
                .or_default()
                .entry(text.as_str())
                .or_default();
            if targets.last() != Some(&(id as u32)) {
                targets.push(id as u32);
            }
        }
    }
    // Tables in order of first use; `index` dedups them.
    let mut tables: Vec<(&str, Atoms)> = Vec::new();
    let mut index: BTreeMap<(&str, Atoms), u32> = BTreeMap::new();
    let mut arm_fields: Vec<TokenStream> = Vec::new();
    for mask in masks {
        let in_arm = |g: &u32| mask.binary_search(&group_variant[*g as usize]).is_ok();
        let mut ids: Vec<u32> = Vec::new();
        for (path, atoms) in &by_path {
            let share: Atoms = atoms
                .iter()
                .filter_map(|(text, targets)| {
                    let t: Vec<u32> = targets.iter().copied().filter(in_arm).collect();
                    (!t.is_empty()).then_some((*text, t))
                })
                .collect();
            if share.is_empty() {
                continue;
            }
            let table = if share.len() <= detect_core::prefilter::TEDDY_MAX_ATOMS {
                share
            } else {
                atoms.clone()
            };
            let id = *index.entry((path, table.clone())).or_insert_with(|| {
                tables.push((path, table));
                tables.len() as u32 - 1
            });
            ids.push(id);
        }
        arm_fields.push(quote!(&[#(#ids),*]));
    }
    let field_atoms = tables
        .iter()
        .map(|(path, atoms)| {
            let texts = atoms.keys();
            let targets = atoms.values().map(|t| quote!(&[#(#t),*]));
            quote! { ::detect::__rt::FieldAtoms { path: #path, atoms: &[#(#texts),*], targets: &[#(#targets),*] } }
        })
        .collect();
    (field_atoms, arm_fields)
}

/// A `[u64; words]` literal with the given bits set.
fn bitset(ids: &[usize], words: usize) -> TokenStream {
    let mut w = vec![0u64; words];
    for &i in ids {
        w[i / 64] |= 1 << (i % 64);
    }
    quote!([#(#w),*])
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn rule_info(index: usize, r: &detect_core::ir::Rule) -> TokenStream {
    let name = &r.name;
    let id = opt_str(&r.meta.id);
    let title = &r.meta.title;
    let description = opt_str(&r.meta.description);
    let level = format_ident!("{}", format!("{:?}", r.meta.level));
    let status = match r.meta.status {
        Some(s) => {
            let s = format_ident!("{}", format!("{s:?}"));
            quote!(::core::option::Option::Some(::detect::ir::Status::#s))
        }
        None => quote!(::core::option::Option::None),
    };
    let tags = &r.meta.tags;
    let references = &r.meta.references;
    let falsepositives = &r.meta.falsepositives;
    let author = opt_str(&r.meta.author);
    let product = opt_str(&r.logsource.product);
    let category = opt_str(&r.logsource.category);
    let service = opt_str(&r.logsource.service);
    quote! {
        ::detect::RuleInfo {
            index: #index,
            name: #name,
            id: #id,
            title: #title,
            description: #description,
            level: ::detect::ir::Level::#level,
            status: #status,
            tags: &[#(#tags),*],
            references: &[#(#references),*],
            falsepositives: &[#(#falsepositives),*],
            author: #author,
            logsource: ::detect::LogSourceInfo { product: #product, category: #category, service: #service },
        }
    }
}

/// What generated code builds on first use (prefilters, regexes, `contains`
/// sets): statics of the rule set's module, so that `warm_up` can build them
/// all ahead of the first event. Equal regexes and sets (the same test in
/// several rules or log source variants) share one static.
#[derive(Default)]
struct Lazies {
    /// The statics' declarations.
    decls: RefCell<Vec<TokenStream>>,
    /// One statement per static that builds it.
    warm: RefCell<Vec<TokenStream>>,
    /// The static already declared for a regex pattern or a needle list.
    shared: RefCell<BTreeMap<String, Ident>>,
}

impl Lazies {
    /// The static named `prefix` and a fresh number for `key`, declared by
    /// `decl` and built by `warm` the first time `key` is asked for.
    fn shared(
        &self,
        key: String,
        prefix: &str,
        decl: impl FnOnce(&Ident) -> TokenStream,
        warm: impl FnOnce(&Ident) -> TokenStream,
    ) -> Ident {
        if let Some(name) = self.shared.borrow().get(&key) {
            return name.clone();
        }
        let name = format_ident!("{}_{}", prefix, self.decls.borrow().len());
        self.decls.borrow_mut().push(decl(&name));
        self.warm.borrow_mut().push(warm(&name));
        self.shared.borrow_mut().insert(key, name.clone());
        name
    }

    /// A static for the regex, compiled by `warm_up` or at first use.
    fn regex(&self, pattern: &str) -> Ident {
        self.shared(
            format!("re {pattern}"),
            "__RE",
            |name| quote! {
                static #name: ::std::sync::OnceLock<::detect::__rt::Regex> = ::std::sync::OnceLock::new();
            },
            |name| quote!(::detect::__rt::warm_regex(&#name, #pattern);),
        )
    }

    /// Statics for the prefilter of these fields (built by `warm_up` or at
    /// first use), and an expression giving it.
    fn prefilter(&self, what: &str, fields: &[TokenStream]) -> TokenStream {
        let table = format_ident!("__FIELDS_{}", what);
        let cell = format_ident!("__PREFILTER_{}", what);
        self.decls.borrow_mut().push(quote! {
            static #table: &[::detect::__rt::FieldAtoms] = &[#(#fields),*];
            static #cell: ::std::sync::OnceLock<::detect::__rt::Prefilter> = ::std::sync::OnceLock::new();
        });
        let get = quote!(#cell.get_or_init(|| ::detect::__rt::Prefilter::new(#table)));
        self.warm.borrow_mut().push(quote!(#get;));
        get
    }

    /// A static `StrSet` of the tests.
    fn str_set(&self, tests: &[TokenStream]) -> Ident {
        let key: Vec<String> = tests.iter().map(ToString::to_string).collect();
        self.shared(
            format!("strs {key:?}"),
            "__STRS",
            |name| quote! {
                static #name: ::detect::__rt::StrSet = ::detect::__rt::StrSet::new(&[#(#tests),*]);
            },
            |name| quote!(#name.warm_up();),
        )
    }

    /// A static `ContainsSet` of the (folded) needles.
    fn contains_set(&self, needles: Vec<String>) -> Ident {
        self.shared(
            format!("set {needles:?}"),
            "__SET",
            |name| quote! {
                static #name: ::detect::__rt::ContainsSet = ::detect::__rt::ContainsSet::new(&[#(#needles),*]);
            },
            |name| quote!(#name.warm_up();),
        )
    }
}

fn expr_tokens(expr: &Expr, field: &dyn Fn(&str) -> usize, lazy: &Lazies) -> TokenStream {
    match expr {
        Expr::And(parts) if parts.is_empty() => quote!(true),
        Expr::Or(parts) if parts.is_empty() => quote!(false),
        Expr::And(parts) => {
            // String tests of one field (`CommandLine|contains|all`, or
            // selections that each test it) are merged into one call: one
            // lookup, each test passed by some value. Each group stands where
            // its first test stood (`And` has no side effects).
            fn str_field(x: &Expr) -> Option<&str> {
                match x {
                    Expr::Field(ft) if matches!(ft.test, Test::Str(_)) => Some(ft.field.as_str()),
                    _ => None,
                }
            }
            let mut done = vec![false; parts.len()];
            let mut p = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if done[i] {
                    continue;
                }
                let group: Vec<usize> = match str_field(part) {
                    Some(f) => (i..parts.len())
                        .filter(|&j| str_field(&parts[j]) == Some(f))
                        .take(64)
                        .collect(),
                    None => vec![i],
                };
                if group.len() < 2 {
                    done[i] = true;
                    p.push(expr_tokens(part, field, lazy));
                    continue;
                }
                let tests = group.iter().map(|&j| {
                    done[j] = true;
                    match &parts[j] {
                        Expr::Field(FieldTest {
                            test: Test::Str(sp),
                            ..
                        }) => str_test(sp),
                        _ => unreachable!("grouped by str_field"),
                    }
                });
                let tests: Vec<TokenStream> = tests.collect();
                let index = field(str_field(part).unwrap_or_default());
                p.push(quote!({
                    static TESTS: &[::detect::__rt::StrTest] = &[#(#tests),*];
                    ::detect::__rt::field_str_all(e, p[#index], TESTS)
                }));
            }
            quote!((#(#p)&&*))
        }
        Expr::Or(parts) => {
            // String tests (and CIDR tests) of one field are merged into one
            // call over a static list: one lookup of the field for a whole
            // list of values. `Or` has no side effects, so the order of its
            // terms is free.
            let mut strs: Vec<(&str, Vec<TokenStream>)> = Vec::new();
            let mut nets: Vec<(&str, Vec<TokenStream>)> = Vec::new();
            // Case-insensitive ASCII `contains` needles per field: a long list
            // becomes one Aho-Corasick search (`ContainsSet`).
            let mut needles: Vec<(&str, Vec<(String, TokenStream)>)> = Vec::new();
            let mut rest = Vec::new();
            for part in parts {
                let (list, item) = match part {
                    Expr::Field(ft) => match &ft.test {
                        Test::Str(
                            p @ StrPattern {
                                kind: StrKind::Contains(s),
                                case: Case::Insensitive,
                            },
                        ) if s.is_ascii() && !s.is_empty() => {
                            let item = (s.to_ascii_lowercase(), str_test(p));
                            match needles.iter_mut().find(|(f, _)| *f == ft.field) {
                                Some((_, items)) => items.push(item),
                                None => needles.push((ft.field.as_str(), vec![item])),
                            }
                            continue;
                        }
                        Test::Str(p) => (&mut strs, (ft.field.as_str(), str_test(p))),
                        Test::Cidr(c) => {
                            let (v4, addr, prefix) = (c.v4, c.addr, c.prefix);
                            (
                                &mut nets,
                                (ft.field.as_str(), quote!((#v4, #addr, #prefix))),
                            )
                        }
                        _ => {
                            rest.push(expr_tokens(part, field, lazy));
                            continue;
                        }
                    },
                    _ => {
                        rest.push(expr_tokens(part, field, lazy));
                        continue;
                    }
                };
                match list.iter_mut().find(|(f, _)| *f == item.0) {
                    Some((_, items)) => items.push(item.1),
                    None => list.push((item.0, vec![item.1])),
                }
            }
            let mut sets: Vec<(&str, Vec<String>)> = Vec::new();
            for (f, items) in needles {
                if items.len() >= detect_core::rt::CONTAINS_SET_MIN {
                    sets.push((f, items.into_iter().map(|(n, _)| n).collect()));
                    continue;
                }
                let tests = items.into_iter().map(|(_, t)| t);
                match strs.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, list)) => list.extend(tests),
                    None => strs.push((f, tests.collect())),
                }
            }
            let mut p = Vec::new();
            for (f, tests) in strs {
                let index = field(f);
                let set = sets
                    .iter()
                    .position(|(g, _)| *g == f)
                    .map(|i| sets.remove(i).1);
                p.push(match set {
                    // A long list: indexed by `StrSet` (with the `contains`
                    // needles' automaton, if any).
                    set if tests.len() >= detect_core::rt::STR_SET_MIN => {
                        let strs = lazy.str_set(&tests);
                        let contains = match set {
                            Some(set) => {
                                let set = lazy.contains_set(set);
                                quote!(::core::option::Option::Some(&#set))
                            }
                            None => quote!(::core::option::Option::None),
                        };
                        quote!(::detect::__rt::field_str_set(e, p[#index], &#strs, #contains))
                    }
                    Some(set) => {
                        let set = lazy.contains_set(set);
                        quote!({
                            static TESTS: &[::detect::__rt::StrTest] = &[#(#tests),*];
                            ::detect::__rt::field_str_any_set(e, p[#index], TESTS, &#set)
                        })
                    }
                    None if tests.len() == 1 => {
                        quote!(::detect::__rt::field_str(e, p[#index], &#(#tests)*))
                    }
                    None => quote!({
                        static TESTS: &[::detect::__rt::StrTest] = &[#(#tests),*];
                        ::detect::__rt::field_str_any(e, p[#index], TESTS)
                    }),
                });
            }
            for (f, set) in sets {
                let index = field(f);
                let set = lazy.contains_set(set);
                p.push(quote!(::detect::__rt::field_str_any_set(e, p[#index], &[], &#set)));
            }
            for (f, list) in nets {
                let index = field(f);
                p.push(quote!({
                    static NETS: &[(bool, u128, u8)] = &[#(#list),*];
                    ::detect::__rt::field_cidr_any(e, p[#index], NETS)
                }));
            }
            p.extend(rest);
            quote!((#(#p)||*))
        }
        Expr::Not(inner) => {
            let i = expr_tokens(inner, field, lazy);
            quote!((!#i))
        }
        Expr::Keyword(p) => {
            let t = str_test(p);
            quote!(::detect::__rt::keyword_str(e, &#t))
        }
        Expr::Field(ft) => {
            let index = field(&ft.field);
            let path = quote!(p[#index]);
            match &ft.test {
                Test::Str(p) => {
                    let t = str_test(p);
                    quote!(::detect::__rt::field_str(e, #path, &#t))
                }
                Test::Regex(re) => {
                    let pattern = re.full_pattern();
                    let cell = lazy.regex(&pattern);
                    quote!(::detect::__rt::field_regex(e, #path, &#cell, #pattern))
                }
                Test::Cidr(c) => {
                    let (v4, addr, prefix) = (c.v4, c.addr, c.prefix);
                    quote!(::detect::__rt::field_cidr(e, #path, #v4, #addr, #prefix))
                }
                Test::Num { op, value } => {
                    let op = num_op(*op);
                    let value = number(*value);
                    quote!(::detect::__rt::field_num(e, #path, #op, #value))
                }
                Test::Time { part, op, value } => {
                    let part = time_part(*part);
                    let op = num_op(*op);
                    quote!(::detect::__rt::field_time(e, #path, #part, #op, #value))
                }
                Test::Exists(true) => quote!(::detect::__rt::exists(e, #path)),
                Test::Exists(false) => quote!((!::detect::__rt::exists(e, #path))),
                Test::Null => quote!(::detect::__rt::is_null(e, #path)),
                Test::FieldRef { other, kind, case } => {
                    let kind = match kind {
                        RefKind::Exact => quote!(::detect::ir::RefKind::Exact),
                        RefKind::Prefix => quote!(::detect::ir::RefKind::Prefix),
                        RefKind::Suffix => quote!(::detect::ir::RefKind::Suffix),
                        RefKind::Contains => quote!(::detect::ir::RefKind::Contains),
                    };
                    let ci = *case == Case::Insensitive;
                    let other = field(other);
                    quote!(::detect::__rt::field_ref_match(e, #path, p[#other], #kind, #ci))
                }
            }
        }
    }
}

/// True when case folding cannot change whether `s` matches: no character of
/// `s` is the lowercase of anything (only letters have case mappings).
fn case_neutral(s: &str) -> bool {
    !s.chars().any(char::is_alphabetic)
}

/// The `StrTest` constant for a pattern, decided at compile time: the cheapest
/// shape, case folding only where it can matter, patterns pre-folded.
fn str_test(p: &StrPattern) -> TokenStream {
    let ci = p.case == Case::Insensitive;
    let t = quote!(::detect::__rt::StrTest);
    match &p.kind {
        StrKind::Exact(s) if !ci || case_neutral(s) => quote!(#t::Eq(#s)),
        StrKind::Prefix(s) if !ci || case_neutral(s) => quote!(#t::Prefix(#s)),
        StrKind::Suffix(s) if !ci || case_neutral(s) => quote!(#t::Suffix(#s)),
        StrKind::Contains(s) if !ci || case_neutral(s) => quote!(#t::Contains(#s)),
        StrKind::Exact(s) => {
            let f = fold(s);
            quote!(#t::EqCi(#f))
        }
        StrKind::Prefix(s) => {
            let f = fold(s);
            quote!(#t::PrefixCi(#f))
        }
        StrKind::Suffix(s) => {
            let f = fold(s);
            quote!(#t::SuffixCi(#f))
        }
        StrKind::Contains(s) => {
            let f = fold(s);
            quote!(#t::ContainsCi(#f))
        }
        StrKind::Glob(tokens) => {
            let toks = tokens.iter().map(|tok| match tok {
                GlobToken::Lit(s) => {
                    let s = if ci { fold(s) } else { s.clone() };
                    quote!(::detect::__rt::GlobTok::Lit(#s))
                }
                GlobToken::AnyChar => quote!(::detect::__rt::GlobTok::AnyChar),
                GlobToken::AnyRun => quote!(::detect::__rt::GlobTok::AnyRun),
            });
            quote!(#t::Glob(&[#(#toks),*], #ci))
        }
    }
}

fn num_op(op: NumOp) -> TokenStream {
    let v = format_ident!("{}", format!("{op:?}"));
    quote!(::detect::ir::NumOp::#v)
}

fn number(n: Number) -> TokenStream {
    match n {
        Number::Int(i) => quote!(::detect::ir::Number::Int(#i)),
        Number::Float(f) => quote!(::detect::ir::Number::Float(#f)),
    }
}

fn time_part(p: TimePart) -> TokenStream {
    let v = format_ident!("{}", format!("{p:?}"));
    quote!(::detect::ir::TimePart::#v)
}
