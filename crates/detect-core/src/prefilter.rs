//! The prefilter: one Aho-Corasick pass per field marks the candidate rules.
//!
//! Generated code describes, per event layout, every field that has atoms
//! (see [`crate::atoms`]) and, for each atom, the rule variants it enables.
//! [`Prefilter::mark`] looks each such field up once, runs its automaton over
//! every value's text and sets the bits of the enabled variants in a bitset
//! that lives on the caller's stack. Only marked variants (plus those without
//! atoms) are then evaluated.
//!
//! Choices, and why:
//! * **One automaton per field**, with all atoms of every rule reading that
//!   field, as tau-engine does: the text is scanned once whatever the number of
//!   rules.
//! * **`MatchKind::Standard` with overlapping search**: a prefilter must see
//!   every atom that occurs, and leftmost-first/longest searches skip atoms that
//!   overlap an earlier match. This rules out the SIMD Teddy searcher, which
//!   only runs leftmost searches.
//! * **A DFA up to [`DFA_MAX_ATOMS`] atoms per field**, measured by
//!   `cargo bench -p detect-benches --bench automata` (all `CommandLine`
//!   values of the benchmark corpus; BENCHMARKS.md): over the 2,181
//!   `CommandLine` atoms of the SigmaHQ windows rules the DFA scans 2.0x
//!   faster than the contiguous NFA and 3.1x faster than the noncontiguous
//!   one, for 13.6 MB of heap (vs 0.7 MB) and 81 ms to build, once; at 78
//!   atoms 2.7x and 4.4x. Folding case in the automaton beat lowercasing a
//!   copy of the text for a case-sensitive DFA (1.04-1.08x), and the
//!   leftmost-first search a prefilter cannot use is only 1.1x faster than
//!   the overlapping one. Beyond the limit, memory grows past what a sensor
//!   should spend on one field, and the crate picks (a contiguous NFA).
//! * **ASCII case folding in the automaton**: Sigma matches case-insensitively.
//!   Unicode folding maps only two non-ASCII characters onto ASCII (KELVIN SIGN
//!   to `k`, LATIN CAPITAL I WITH DOT to `i`); a value containing either marks
//!   every variant of the field instead of trusting the automaton.
//! * **Built once**, on first use (the generated code keeps it in a static).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::event::{Event, Value};

/// Largest number of atoms of one field compiled to a DFA (see the module
/// documentation for the measurements behind it).
pub const DFA_MAX_ATOMS: usize = 4_000;

/// The atoms of one field, as generated code declares them.
#[derive(Debug)]
pub struct FieldAtoms {
    /// The event path of the field, or [`crate::atoms::KEYWORDS`] for the
    /// atoms of keyword rules (every value of the event is scanned).
    pub path: &'static str,
    /// The atoms (matched ASCII-case-insensitively).
    pub atoms: &'static [&'static str],
    /// For each atom, the rule-variant ids it enables.
    pub targets: &'static [&'static [u32]],
}

#[derive(Debug)]
struct FieldScanner {
    path: &'static str,
    /// The keyword pseudo-field ([`crate::atoms::KEYWORDS`]): every value of
    /// the event is scanned.
    every_value: bool,
    automaton: Option<AhoCorasick>,
    targets: &'static [&'static [u32]],
}

/// All automata of one rule set and layout.
#[derive(Debug)]
pub struct Prefilter {
    fields: Vec<FieldScanner>,
}

impl Prefilter {
    /// Builds one automaton per field. A field whose automaton cannot be built
    /// (far beyond any real rule set) marks all its variants on every event.
    pub fn new(fields: &'static [FieldAtoms]) -> Prefilter {
        let fields = fields
            .iter()
            .map(|f| FieldScanner {
                path: f.path,
                every_value: f.path == crate::atoms::KEYWORDS,
                automaton: AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .kind(if f.atoms.len() > DFA_MAX_ATOMS {
                        None
                    } else {
                        Some(AhoCorasickKind::DFA)
                    })
                    .build(f.atoms)
                    .ok(),
                targets: f.targets,
            })
            .collect();
        Prefilter { fields }
    }

    /// Sets, in `candidates`, the bit of every variant enabled by an atom found
    /// in `event`. Allocates nothing.
    #[inline]
    pub fn mark<E: Event + ?Sized>(&self, event: &E, candidates: &mut [u64]) {
        for field in &self.fields {
            field.mark(event, candidates);
        }
    }

    /// Like [`Prefilter::mark`], scanning only the fields at these indices (in
    /// the order of the `FieldAtoms` given to [`Prefilter::new`]): generated
    /// code passes the fields whose atoms matter for the event's log source.
    #[inline]
    pub fn mark_fields<E: Event + ?Sized>(
        &self,
        event: &E,
        fields: &[u32],
        candidates: &mut [u64],
    ) {
        for &i in fields {
            if let Some(field) = self.fields.get(i as usize) {
                field.mark(event, candidates);
            }
        }
    }
}

impl FieldScanner {
    #[inline]
    fn mark<E: Event + ?Sized>(&self, event: &E, candidates: &mut [u64]) {
        let mut visit = |v: Value<'_>| {
            v.with_text(|text| self.mark_text(text, candidates));
            false
        };
        if self.every_value {
            event.any_value(&mut visit);
        } else {
            event.lookup(self.path, &mut visit);
        }
    }

    #[inline]
    fn mark_text(&self, text: &str, candidates: &mut [u64]) {
        let folds_into_ascii = !text.is_ascii() && text.contains(['\u{212A}', '\u{130}']);
        match &self.automaton {
            Some(ac) if !folds_into_ascii => {
                for m in ac.find_overlapping_iter(text) {
                    set_all(candidates, self.targets[m.pattern().as_usize()]);
                }
            }
            _ => {
                for t in self.targets {
                    set_all(candidates, t);
                }
            }
        }
    }
}

#[inline]
fn set_all(bits: &mut [u64], ids: &[u32]) {
    for &id in ids {
        let id = id as usize;
        if let Some(word) = bits.get_mut(id / 64) {
            *word |= 1 << (id % 64);
        }
    }
}

/// Calls `f` with the index of every set bit, in increasing order.
#[inline]
pub fn for_each_bit(bits: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            f(w * 64 + b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonEvent;

    static FIELDS: &[FieldAtoms] = &[
        FieldAtoms {
            path: "CommandLine",
            atoms: &["msiexec", "siex", "http"],
            targets: &[&[0], &[1], &[2, 65]],
        },
        FieldAtoms {
            path: "Image",
            atoms: &["cmd.exe"],
            targets: &[&[3]],
        },
    ];

    fn marked(json: &str) -> Vec<usize> {
        let pf = Prefilter::new(FIELDS);
        let ev = JsonEvent::parse_str(json).unwrap();
        let mut bits = [0u64; 2];
        pf.mark(&ev, &mut bits);
        let mut out = Vec::new();
        for_each_bit(&bits, |i| out.push(i));
        out
    }

    #[test]
    fn overlapping_atoms_are_all_seen_and_case_is_folded() {
        assert_eq!(
            marked(r#"{"CommandLine": "MSIEXEC /i HTTP://x"}"#),
            vec![0, 1, 2, 65]
        );
        assert_eq!(
            marked(r#"{"CommandLine": "nothing", "Image": "C:\\CMD.EXE"}"#),
            vec![3]
        );
        assert_eq!(marked(r#"{"Other": "msiexec"}"#), Vec::<usize>::new());
    }

    #[test]
    fn keyword_atoms_are_looked_for_in_every_value() {
        static KEYWORD_FIELDS: &[FieldAtoms] = &[FieldAtoms {
            path: crate::atoms::KEYWORDS,
            atoms: &["mimikatz", "4444"],
            targets: &[&[1], &[2]],
        }];
        let pf = Prefilter::new(KEYWORD_FIELDS);
        let marked = |json: &str| {
            let ev = JsonEvent::parse_str(json).unwrap();
            let mut bits = [0u64; 1];
            pf.mark(&ev, &mut bits);
            bits[0]
        };
        assert_eq!(marked(r#"{"a": {"b": ["x", "run MimiKatz"]}}"#), 0b010);
        assert_eq!(marked(r#"{"Port": 4444, "Other": "mimikatz.exe"}"#), 0b110);
        assert_eq!(marked(r#"{"mimikatz": "key names are not values"}"#), 0);
        assert_eq!(marked("{\"a\": \"mimi\u{212A}atz\"}"), 0b110);
    }

    #[test]
    fn arrays_and_numbers_are_scanned() {
        assert_eq!(marked(r#"{"CommandLine": ["a", "http"]}"#), vec![2, 65]);
    }

    #[test]
    fn characters_that_fold_into_ascii_mark_the_whole_field() {
        // KELVIN SIGN folds to `k`: the automaton cannot see it, so every variant of the field is marked.
        assert_eq!(marked("{\"CommandLine\": \"\u{212A}\"}"), vec![0, 1, 2, 65]);
    }
}
