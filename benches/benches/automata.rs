//! Aho-Corasick configurations for the prefilter, measured (criterion).
//!
//! The prefilter (`detect_core::prefilter`) needs every atom that occurs in a
//! field, case-insensitively for ASCII: `MatchKind::Standard` with an
//! overlapping search and `ascii_case_insensitive`. This benchmark times the
//! choices left open by that requirement, and one that breaks it for
//! reference, on the real workload: the atoms that the code generator picks
//! for `CommandLine` (the field with most atoms) from the generated rule sets
//! and from the SigmaHQ windows rules (loaded at run time when `../shared` is there),
//! over every `CommandLine` value of the benchmark corpus.
//!
//! * `dfa`, `nfa_contiguous`, `nfa_noncontiguous`: the three automaton kinds,
//!   overlapping, ASCII case folding in the automaton;
//! * `dfa_no_crate_prefilter`: the DFA without the crate's own prefilter
//!   (what `detect_core::prefilter` built before its own DFA);
//! * `prefix_dfa`: `detect_core::prefilter::dfa::PrefixDfa`, what the
//!   prefilter builds now (windows of at most 8 bytes, hits compared in
//!   full, values scanned in lanes). This benchmark runs each value once
//!   after the other, with the automaton hot in the caches: the setting
//!   where the crate's DFA does best;
//! * `dfa_lowercased`: a DFA without case folding, over a lowercased copy of
//!   the text (one reused buffer), which keeps the automaton's alphabet small;
//! * `leftmost_first` (not usable: it skips atoms that overlap an earlier
//!   match, so a prefilter built on it would miss rules): the non-overlapping
//!   search the crate accelerates best, as the bound of what the requirement costs.
//!
//! Build time and heap size of each automaton are printed before the timings.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use detect::__internals::layout::{Layout, is_dispatch_field, map_field};
use detect::Event;
use detect::ir::RuleSet;
use detect_benches::Corpus;

/// The ASCII atoms the code generator gives `CommandLine` (flat layout) for
/// `set` (the others, which only non-ASCII values can hold, are scanned by
/// another automaton, and only in such values).
fn command_line_atoms(set: &RuleSet) -> Vec<String> {
    let mut atoms = std::collections::BTreeSet::new();
    for rule in &set.rules {
        let Ok(variants) = detect::__internals::compile::lower::lower_variants_in_vocabulary(rule)
        else {
            continue;
        };
        for v in variants {
            let found = detect::__internals::compile::atoms::required_atoms_where(&v.body, &|f| {
                !is_dispatch_field(rule.vocabulary, f)
            });
            for a in found.into_iter().flatten() {
                if map_field(rule.vocabulary, Layout::Flat, &a.field) == "CommandLine"
                    && a.text.is_ascii()
                {
                    atoms.insert(a.text);
                }
            }
        }
    }
    atoms.into_iter().collect()
}

fn build(
    atoms: &[String],
    kind: AhoCorasickKind,
    fold: bool,
    match_kind: MatchKind,
    prefilter: bool,
) -> AhoCorasick {
    let start = Instant::now();
    let ac = AhoCorasick::builder()
        .match_kind(match_kind)
        .ascii_case_insensitive(fold)
        .kind(Some(kind))
        .prefilter(prefilter)
        .build(atoms)
        .expect("automaton builds");
    eprintln!(
        "  {kind:?} fold={fold} {match_kind:?} prefilter={prefilter}: built in {:.1} ms, {:.1} KiB heap",
        start.elapsed().as_secs_f64() * 1e3,
        ac.memory_usage() as f64 / 1024.0
    );
    ac
}

fn automata(c: &mut Criterion) {
    let corpus = Corpus::load();
    let mut texts = Vec::new();
    for event in &corpus.events {
        event.lookup("CommandLine", &mut |v| {
            v.with_text(|t| texts.push(t.to_string()));
            false
        });
    }
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    #[allow(unused_mut)] // pushed to with the `large` feature
    let mut sets: Vec<(&str, RuleSet)> = vec![("1000", detect_benches::Gen1000::ir())];
    #[cfg(feature = "large")]
    sets.push(("5000", detect_benches::Gen5000::ir()));
    // The SigmaHQ windows rules, loaded at run time (same atoms as compiled).
    let sigmahq = detect_test_support::shared::shared_data_if_present("sigma/rules/windows");
    if let Some(sigmahq) = sigmahq {
        let (set, _unsupported) =
            detect_sigma::load_dir(&sigmahq, &detect_sigma::LoadOptions::default());
        sets.push(("sigmahq", set));
    } else {
        eprintln!("automata: ../shared/data/sigma/rules/windows absent, SigmaHQ case skipped");
    }
    for (name, set) in sets {
        let atoms = command_line_atoms(&set);
        let lowered: Vec<String> = atoms.iter().map(|a| a.to_ascii_lowercase()).collect();
        eprintln!(
            "automata/{name}: {} CommandLine atoms, {} values, {bytes} bytes",
            atoms.len(),
            texts.len()
        );
        let mut g = c.benchmark_group(format!("automata/{name}"));
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::ElementsAndBytes {
                elements: texts.len() as u64,
                bytes,
            });
        let overlapping = |ac: &AhoCorasick, texts: &[String]| {
            let mut n = 0u64;
            for t in texts {
                for m in ac.find_overlapping_iter(black_box(t.as_str())) {
                    n += m.pattern().as_u64();
                }
            }
            n
        };
        for (label, kind) in [
            ("dfa", AhoCorasickKind::DFA),
            ("nfa_contiguous", AhoCorasickKind::ContiguousNFA),
            ("nfa_noncontiguous", AhoCorasickKind::NoncontiguousNFA),
        ] {
            let ac = build(&atoms, kind, true, MatchKind::Standard, true);
            g.bench_function(label, |b| b.iter(|| overlapping(&ac, &texts)));
        }
        // What the prefilter uses: a DFA without the crate's own prefilter.
        let ac = build(
            &atoms,
            AhoCorasickKind::DFA,
            true,
            MatchKind::Standard,
            false,
        );
        g.bench_function("dfa_no_crate_prefilter", |b| {
            b.iter(|| overlapping(&ac, &texts))
        });
        let start = Instant::now();
        let prefix = detect::__internals::prefilter::dfa::PrefixDfa::build(&atoms)
            .expect("automaton builds");
        eprintln!(
            "  PrefixDfa: built in {:.1} ms, {:.1} KiB heap",
            start.elapsed().as_secs_f64() * 1e3,
            prefix.memory_usage() as f64 / 1024.0
        );
        g.bench_function("prefix_dfa", |b| {
            b.iter(|| {
                let mut n = 0u64;
                for t in &texts {
                    prefix.for_each_hit(black_box(t.as_bytes()), 0, |a| n += u64::from(a));
                }
                n
            })
        });
        let ac = build(
            &lowered,
            AhoCorasickKind::DFA,
            false,
            MatchKind::Standard,
            true,
        );
        let mut buf = String::new();
        g.bench_function("dfa_lowercased", |b| {
            b.iter(|| {
                let mut n = 0u64;
                for t in &texts {
                    buf.clear();
                    buf.push_str(black_box(t));
                    buf.make_ascii_lowercase();
                    for m in ac.find_overlapping_iter(buf.as_str()) {
                        n += m.pattern().as_u64();
                    }
                }
                n
            })
        });
        let ac = build(
            &atoms,
            AhoCorasickKind::DFA,
            true,
            MatchKind::LeftmostFirst,
            true,
        );
        g.bench_function("leftmost_first", |b| {
            b.iter(|| {
                let mut n = 0u64;
                for t in &texts {
                    for m in ac.find_iter(black_box(t.as_str())) {
                        n += m.pattern().as_u64();
                    }
                }
                n
            })
        });
        g.finish();
    }
}

criterion_group!(benches, automata);
criterion_main!(benches);
