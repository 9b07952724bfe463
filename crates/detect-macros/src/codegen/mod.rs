//! IR -> Rust: the rule set's tables as `static` data, one function per
//! predicate, and a thin type whose methods call the engine.
//!
//! The engine itself (dispatch, prefilter, candidate evaluation, sequence
//! stepping) is library code, `detect_core::engine`, shared with rules
//! compiled at run time; so is the compile step that builds the tables and
//! decides how each predicate runs (`detect_core::compile`). What is left
//! here is writing those results as Rust: [`tables`] writes the tables,
//! [`predicates`] the predicates, and [`generate`] the type around them.
//! The output is pinned by snapshot tests (`snapshots_test`, whose
//! snapshots are in `snapshots/`).

mod predicates;
mod tables;

use detect_core::compile::{Compiled, Predicate, compile, plan};
use detect_core::ir::{Rule, RuleSet};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Attribute, Ident, Visibility};

use predicates::SharedStatics;

/// The generated type `name` (with `vis` and the doc attributes in `docs`)
/// for the rule set. Every front end (the `rules!` DSL, Sigma YAML) ends here.
pub fn generate(name: &Ident, vis: &Visibility, docs: &[Attribute], set: &RuleSet) -> TokenStream {
    let docs = docs.iter().filter(|a| a.path().is_ident("doc"));
    let compiled = match compile(set) {
        Ok(c) => c,
        // Front ends validate rules while lowering; this is a safety net.
        Err(e) => {
            let msg = e.to_string();
            return quote!(compile_error!(#msg););
        }
    };
    let statics = SharedStatics::default();
    let functions = |kind: &str, list: &[Predicate], what: &dyn Fn(usize) -> String| {
        let mut names = Vec::new();
        let mut items = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let f = format_ident!("{}_{}", kind, i);
            let doc = what(i);
            let body = predicate_body(&compiled, p, &statics);
            items.push(quote! {
                #[doc = #doc]
                fn #f(e: &dyn ::detect::Event, p: &[rt::Text]) -> bool {
                    #body
                }
            });
            names.push(f);
        }
        (names, items)
    };
    let rule_of = |i: usize| compiled.tables.rules.variant_target[i] as usize;
    let (variant_fns, variant_items) = functions("variant", &compiled.variants, &|i| {
        format!(" Rule `{}` (variant {i}).", set.rules[rule_of(i)].name)
    });
    let (source_fns, source_items) = functions("source", &compiled.sources, &|i| {
        format!(" Log source condition {i}.")
    });
    let unit_names: Vec<String> = set
        .sequences
        .iter()
        .flat_map(|s| {
            let stages = (0..s.stages.len()).map(move |k| format!("`{}` stage {}", s.name, k + 1));
            stages.chain(s.until.iter().map(move |_| format!("`{}` until", s.name)))
        })
        .collect();
    let (stage_fns, stage_items) = functions("stage", &compiled.stages, &|i| {
        let unit = compiled.tables.stages.variant_target[i] as usize;
        format!(" Sequence {} (variant {i}).", unit_names[unit])
    });
    let tables = tables::item(&compiled.tables);
    let words = proc_macro2::Literal::usize_unsuffixed(compiled.tables.bitset_words());
    let shared_decls = statics.decls.take();
    let shared_warm = statics.warm.take();

    let infos = set.rules.iter().enumerate().map(|(i, r)| rule_info(i, r));
    let seq_infos = set.sequences.iter().enumerate().map(|(i, s)| {
        let meta_rule = Rule {
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
    let json = raw_str(&escape_text_direction(
        &serde_json::to_string(set).unwrap_or_default(),
    ));
    let count = proc_macro2::Literal::usize_unsuffixed(set.rules.len());
    let state_name = format_ident!("{}Sequences", name);
    let state_doc = format!(
        " Pending-sequence state of [`{name}`]'s sequence rules: one bounded table per rule, \
         allocated once by [`{name}::sequences`]."
    );

    quote! {
        #(#docs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        #[doc = #state_doc]
        #[derive(Debug)]
        #vis struct #state_name(::detect::__rt::SequenceState);

        const _: () = {
            use ::detect::__rt::{self as rt, List, Text};

            #tables

            /// The predicate functions below, by kind and index.
            static PREDICATES: rt::FnPredicates = rt::FnPredicates {
                variants: &[#(#variant_fns),*],
                sources: &[#(#source_fns),*],
                stages: &[#(#stage_fns),*],
                warm_up,
            };

            /// The engine over those tables, built on first use.
            static ENGINE: ::std::sync::OnceLock<rt::Engine<rt::FnPredicates>> =
                ::std::sync::OnceLock::new();

            /// Words of the engine's candidate bitsets.
            const WORDS: usize = #words;

            #(#shared_decls)*

            #(#variant_items)*
            #(#source_items)*
            #(#stage_items)*

            /// Builds the regexes and sets now rather than at first use.
            fn warm_up() {
                #(#shared_warm)*
            }

            /// The rule set's engine.
            fn engine() -> &'static rt::Engine<rt::FnPredicates> {
                ENGINE.get_or_init(|| rt::Engine::new(tables(), PREDICATES))
            }

            impl #name {
                /// Metadata of every rule, in declaration order.
                pub const RULES: &'static [::detect::RuleInfo] = &[#(#infos),*];
                /// Number of rules in the set.
                pub const LEN: usize = #count;
                /// Metadata of every sequence rule, in declaration order.
                pub const SEQUENCES: &'static [::detect::RuleInfo] = &[#(#seq_infos),*];

                /// Evaluates the rule set against `event` and calls `sink` for each
                /// matching rule, in rule order. Allocates nothing: the event is routed
                /// by log source, one automaton pass per field marks the candidate
                /// rules, and only those are evaluated.
                #[inline]
                pub fn scan<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, mut sink: F) {
                    engine().scan::<WORDS>(&rt::AsDyn(event), &mut |i| sink(&Self::RULES[i]))
                }

                /// Like [`Self::scan`] but without log source routing or prefilter:
                /// every rule is evaluated in full. Same verdicts, slower; for tests
                /// and benchmarks.
                pub fn scan_unfiltered<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, mut sink: F) {
                    engine().scan_unfiltered(&rt::AsDyn(event), &mut |i| sink(&Self::RULES[i]))
                }

                /// Builds now what the rule set otherwise builds on first use: the
                /// prefilter automata, the regexes and sets, and the calling thread's
                /// memo table of the prefilter. A sensor calls it at start-up, from
                /// its scanning thread; without it the first events of each log
                /// source pay for what they use. Idempotent and thread-safe.
                pub fn warm_up() {
                    engine().warm_up()
                }

                /// Fresh state for the sequence rules, holding at most `capacity`
                /// pending sequences per rule (the oldest is evicted beyond that).
                pub fn sequences(capacity: usize) -> #state_name {
                    #state_name(engine().sequences(capacity))
                }

                /// The metadata of the rule called `name`.
                pub fn rule(name: &str) -> ::core::option::Option<&'static ::detect::RuleInfo> {
                    Self::RULES.iter().find(|r| r.name == name)
                }

                /// The IR this code was generated from (for the reference interpreter).
                pub fn ir() -> ::detect::ir::RuleSet {
                    rt::ir_from_json(#json)
                }

                /// Diagnostics of the prefilter: calls `f(variant, rule, atomless)`
                /// for every rule variant [`Self::scan`] would evaluate on `event`.
                #[doc(hidden)]
                pub fn __candidates<E: ::detect::Event + ?Sized>(event: &E, mut f: impl FnMut(usize, usize, bool)) -> bool {
                    engine().candidates_of::<WORDS>(&rt::AsDyn(event), &mut f)
                }

                /// Diagnostics: evaluates rule variant `variant` on `event`, as `scan` does.
                #[doc(hidden)]
                pub fn __eval_variant<E: ::detect::Event + ?Sized>(variant: usize, event: &E) -> bool {
                    engine().eval_variant(variant, &rt::AsDyn(event))
                }
            }

            impl #state_name {
                /// Feeds one event (in time order; `pos` is reported back, e.g. its
                /// line number) to every sequence rule and calls `sink` with the rule
                /// and the positions of the events of each completed sequence. The
                /// event's time is its `@timestamp` (RFC 3339 or epoch milliseconds;
                /// see `step_at` for another). Allocates nothing.
                pub fn step<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo, &[u64])>(&mut self, event: &E, pos: u64, mut sink: F) {
                    let sink = &mut |i: usize, events: &[u64]| sink(&#name::SEQUENCES[i], events);
                    engine().step::<WORDS>(&mut self.0, &rt::AsDyn(event), ::core::option::Option::None, pos, sink)
                }

                /// `step`, with the event's time given by the caller (milliseconds;
                /// any epoch, the same for every event) rather than read from its
                /// `@timestamp`.
                pub fn step_at<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo, &[u64])>(&mut self, event: &E, time_ms: i64, pos: u64, mut sink: F) {
                    let sink = &mut |i: usize, events: &[u64]| sink(&#name::SEQUENCES[i], events);
                    engine().step::<WORDS>(&mut self.0, &rt::AsDyn(event), ::core::option::Option::Some(time_ms), pos, sink)
                }
            }

            impl ::core::ops::Deref for #state_name {
                type Target = rt::SequenceState;
                fn deref(&self) -> &rt::SequenceState {
                    &self.0
                }
            }

            impl ::core::ops::DerefMut for #state_name {
                fn deref_mut(&mut self) -> &mut rt::SequenceState {
                    &mut self.0
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
        };
    }
}

/// The body of a predicate function.
fn predicate_body(compiled: &Compiled, p: &Predicate, statics: &SharedStatics) -> TokenStream {
    let vocab = p.vocabulary;
    let node = plan(&p.expr, &|name| compiled.fields.lookup(vocab, name));
    predicates::body(&node, statics)
}

/// `json` with the Unicode code points that change the visible direction of
/// text written as JSON escapes (`\u202e`): rustc refuses them in a literal
/// (`text_direction_codepoint_in_literal`), and real rules carry them (a
/// right-to-left override is how file names are disguised). serde_json
/// writes them only inside strings, where the escape means the same.
fn escape_text_direction(json: &str) -> std::borrow::Cow<'_, str> {
    let is_direction = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !json.contains(is_direction) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_direction(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `text` as a raw string literal (`r#"..."#`, with as many `#` as it
/// needs), so that JSON reads without escapes.
fn raw_str(text: &str) -> proc_macro2::Literal {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .expect("a raw string literal")
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn rule_info(index: usize, r: &Rule) -> TokenStream {
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
    let index = proc_macro2::Literal::usize_unsuffixed(index);
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

#[cfg(test)]
mod snapshots_test;
