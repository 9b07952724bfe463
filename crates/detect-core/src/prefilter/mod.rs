//! The prefilter: one automaton pass per field marks the candidate rules.
//!
//! Generated code describes, per event layout, every field that has atoms
//! (see [`crate::compile::atoms`]) and, for each atom, the rule variants it enables.
//! [`Prefilter::mark`] looks each such field up once, runs its automaton over
//! every value's text and sets the bits of the enabled variants in a bitset
//! that lives on the caller's stack. Only marked variants (plus those without
//! atoms) are then evaluated.
//!
//! Choices, and why:
//! * **One automaton per field**, with all atoms of every rule reading that
//!   field, as tau-engine does: the text is scanned once whatever the number of
//!   rules.
//! * **Every occurrence, overlapping**: a prefilter must see every atom that
//!   occurs, and leftmost-first/longest searches skip atoms that overlap an
//!   earlier match (the prefix DFA reports each state's every hit; the
//!   crate's automaton runs `MatchKind::Standard` overlapping searches).
//!   This rules out the SIMD Teddy searcher, which only runs leftmost
//!   searches, except as a first pass (below).
//! * **Our own DFA for the ASCII atoms** ([`dfa::PrefixDfa`]): a dense
//!   table over each atom's least shared window of at most
//!   [`dfa::PREFIX`] bytes, with 16-bit entries and at most
//!   [`dfa::MAX_CLASSES`] byte classes, whose hits are confirmed by comparing
//!   the whole atom, and long values scanned in two or four interleaved
//!   lanes. Why: in a pass over a stream of events the automata are cold
//!   (each event's other work evicts them), and a large general DFA (the
//!   aho-corasick crate's, over SigmaHQ's thousands of ASCII `CommandLine`
//!   atoms) costs several times more per byte cold than hot; the scan is a
//!   chain of dependent loads, which the crate's search API cannot
//!   interleave. The smaller table and the interleaved lanes made passes
//!   over SigmaHQ-shaped and generated rule sets faster, measured by
//!   alternating runs in one binary. Windows of 6, 8 and 12 bytes were
//!   within noise of each other (8 keeps the table smallest without more
//!   comparisons); 32 byte classes (more atoms sharing a row, more
//!   comparisons) were slower, 128 gained nothing. Figures are in
//!   `benches/history/2026-12-06-design-choices.md`.
//! * **The crate's automaton for non-ASCII atoms**: a DFA up to
//!   [`DFA_MAX_ATOMS`] atoms (the `automata` benchmark of `detect-benches`
//!   over `CommandLine` values: about two to three times faster than the
//!   contiguous NFA), beyond which memory grows past what a sensor should
//!   spend on one field and the crate picks (a contiguous NFA).
//! * **ASCII case folding in the automaton**: Sigma matches case-insensitively.
//!   Unicode folding maps only a few non-ASCII characters onto ASCII letters:
//!   the string matchers' simple lowercase mapping
//!   ([`crate::matcher::fold_char`]) takes the KELVIN SIGN (U+212A) to `k` and
//!   LATIN CAPITAL I WITH DOT (U+0130) to `i`, and case-insensitive regexes,
//!   which use Unicode simple case folding, match `k` with the KELVIN SIGN and
//!   `s` with LATIN SMALL LETTER LONG S (U+017F). An atom holds the ASCII
//!   letter, which the automaton cannot see in those characters, so a value
//!   containing any of the three ([`FOLDS_INTO_ASCII`]) marks every variant
//!   of the field instead of trusting the automaton.
//! * **A SIMD first pass for small atom sets**: overlapping search rules out
//!   Teddy, but "does any atom occur, and where is the leftmost one?" is a
//!   leftmost search, which Teddy runs at several bytes per cycle. So a field
//!   with few atoms (the keyword pseudo-field scanned over every value of
//!   every event, fields of small rule sets) first runs our own Teddy
//!   ([`teddy::Teddy`], ASCII case folded in its tables) over the text
//!   where it lies; only a value with an occurrence goes through the
//!   automaton, from the leftmost occurrence on (no atom starts before it).
//!   Most values contain no atom. `sigmahq_census` (`detect-benches`)
//!   showed the keyword atoms of the one SigmaHQ rule that applies to every
//!   event (`win_alert_mimikatz_keywords`) had been a large share of all
//!   scanning time. Keyword atoms get up to [`QUICK_MAX_ATOMS`] (SigmaHQ's
//!   Application channel has over a hundred keyword atoms, which rarely
//!   occur), a field at most [`FIELD_QUICK_MAX_ATOMS`]: most values of a
//!   field with many atoms hold one (most of SigmaHQ's `ParentImage`
//!   values) and the first pass is then wasted, while the prefix DFA over a
//!   short value costs about what the first pass does; among the limits
//!   tried in alternating runs, 16 kept the small rule sets as fast and lost
//!   nothing on SigmaHQ. A value shorter than [`QUICK_MIN_TEXT`] skips the
//!   first pass: one step of the searcher over a padded copy costs more
//!   than the automaton's walk over a few bytes (SigmaHQ's failed logons,
//!   whose short `Status` values such as `0xc000006d` are atoms, were
//!   slower with it). Keyword atoms are looked for by a suffix that starts
//!   at bytes rare in event text (see `fragment`). Our Teddy beat the
//!   aho-corasick crate's (a lowercased copy in a stack buffer, searched a
//!   kilobyte at a time, four searchers of 64 patterns for keyword atoms)
//!   on SigmaHQ and on small generated rule sets.
//! * **ASCII and non-ASCII atoms in two automata**: an atom holding a
//!   non-ASCII character can only occur in a non-ASCII value, so its
//!   automaton runs only on those (and, with [`Event::all_ascii`], never on
//!   an ASCII event). SigmaHQ's `CommandLine` has thousands of such atoms
//!   (emoji and other symbols of one rule) besides its ASCII ones; keeping
//!   them apart made a pass over the corpus faster. Letting the ASCII part
//!   become the crate's DFA was slower: a bigger DFA is a colder one (what
//!   [`dfa::PrefixDfa`] was then built against).
//! * **Characters folding into ASCII are looked for only when needed**: an
//!   event that knows its values are ASCII ([`Event::all_ascii`]; a
//!   `JsonEvent` finds out while parsing) skips the per-value check.
//! * **Values seen again are not scanned again** ([`memo`]): a field's
//!   marks depend on its value alone, and event streams repeat values
//!   (`Image`, `ParentImage`, `Hashes`, `Company`: most of SigmaHQ's sample
//!   values of 16 to 256 bytes were seen recently), whose scans wait on
//!   cold automaton rows. Each thread remembers what recent values marked,
//!   whole values compared; fields whose values do not repeat are left out
//!   by a per-thread score. Passes over SigmaHQ, above all its Sysmon
//!   process creations, got faster; small rule sets stayed as fast.
//! * **Built once**, on first use or by the generated `warm_up` (the
//!   generated code keeps it in a static).

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

pub mod dfa;
pub mod memo;
pub mod teddy;
use dfa::PrefixDfa;
use teddy::Teddy;

use crate::event::{Event, Single, Value};
use crate::rt::{List, Text};

/// The pseudo-field of keyword atoms: they must occur in the text of some
/// value of the event, whatever its field (no real field has this name: it
/// starts with a NUL character).
pub const KEYWORDS: &str = "\u{0}keywords";

/// How selective an atom is likely to be: each byte counts, bytes common in
/// Windows paths and command lines count less, repeated bytes count less.
/// The prefilter's DFA picks each atom's window by it; the compile-time
/// atom extraction ([`crate::compile::atoms::quality`]) ranks atoms by it.
pub(crate) fn quality_bytes(text: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut q = 0;
    for &b in text {
        let b = b.to_ascii_lowercase();
        let base = match b {
            b' ' | b'\\' | b'/' | b'.' | b':' | b'-' | b'"' | b'\'' | 0 => 1,
            b'e' | b'x' | b'a' | b'i' | b'o' | b's' | b't' | b'n' => 2,
            _ => 3,
        };
        q += if seen[b as usize] { 1 } else { base };
        seen[b as usize] = true;
    }
    q
}

/// Largest number of non-ASCII atoms of one field compiled to the
/// aho-corasick crate's DFA (see the module documentation for the
/// measurements behind it).
pub const DFA_MAX_ATOMS: usize = 4_000;

/// Most atoms of a dispatch arm's share of a field for which the code
/// generator gives the arm a table of its own (with a first pass, when it
/// is the keyword pseudo-field or has at most [`FIELD_QUICK_MAX_ATOMS`]),
/// rather than the field's table shared by every arm.
pub const TEDDY_MAX_ATOMS: usize = 64;

/// Largest number of a field's atoms given a SIMD first pass (see the module
/// documentation).
pub const FIELD_QUICK_MAX_ATOMS: usize = 16;

/// Largest number of keyword atoms given a SIMD first pass: 32 buckets of
/// eight (see [`teddy`] and the module documentation).
pub const QUICK_MAX_ATOMS: usize = 4 * TEDDY_MAX_ATOMS;

/// Shortest value given a field's first pass (see the module
/// documentation): a shorter one goes straight through the automaton.
pub const QUICK_MIN_TEXT: usize = 36;

/// The non-ASCII characters that some matcher takes for an ASCII letter
/// (see the module documentation): a value holding one marks every variant
/// of its field.
pub const FOLDS_INTO_ASCII: [char; 3] = ['\u{212A}', '\u{130}', '\u{17F}'];

/// Whether the UTF-8 text `h` holds one of [`FOLDS_INTO_ASCII`]: with
/// `memchr` on their lead bytes, as [`crate::matcher::has_nonascii_folding_to_ascii`]
/// (which leaves out LONG S: the string matchers do not fold it) does, since
/// walking every character of a long value is too slow for every event.
#[inline]
fn folds_into_ascii(h: &[u8]) -> bool {
    // Most values are ASCII: checking that first (a word at a time) is
    // cheaper than a `memchr3` call on a short value.
    if h.is_ascii() {
        return false;
    }
    // U+0130 is C4 B0, U+017F is C5 BF, U+212A is E2 84 AA.
    let mut i = 0;
    while let Some(off) = memchr::memchr3(0xC4, 0xC5, 0xE2, &h[i..]) {
        let p = i + off;
        let hit = match h[p] {
            0xC4 => h.get(p + 1) == Some(&0xB0),
            0xC5 => h.get(p + 1) == Some(&0xBF),
            _ => h.get(p + 1..p + 3) == Some(&[0x84, 0xAA][..]),
        };
        if hit {
            return true;
        }
        i = p + 1;
    }
    false
}

/// Bytes of values streamed at a time for the first pass over every value
/// of an event without `value_texts` (on the stack, once per event).
const QUICK_CHUNK: usize = 1024;

/// The atoms of one field table, as a compiled rule set describes them.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FieldAtoms {
    /// The event path of the field, or [`KEYWORDS`] for the
    /// atoms of keyword rules (every value of the event is scanned).
    pub path: Text,
    /// The atoms (matched ASCII-case-insensitively).
    pub atoms: List<Text>,
    /// For each atom, the ids (rule variants or atom groups) it marks.
    pub targets: List<List<u32>>,
}

impl FieldAtoms {
    /// A field table owning copies of its parts.
    ///
    /// ```
    /// use detect_core::prefilter::{FieldAtoms, Prefilter, for_each_bit};
    /// let pf = Prefilter::new(vec![FieldAtoms::new("Image", &["cmd.exe"], &[&[3]])]);
    /// let event = detect_core::JsonEvent::parse_str(r#"{"Image": "C:\\CMD.EXE"}"#).unwrap();
    /// let mut bits = [0u64; 1];
    /// pf.mark(&event, &mut bits);
    /// assert_eq!(bits[0], 1 << 3);
    /// ```
    pub fn new(path: &str, atoms: &[&str], targets: &[&[u32]]) -> FieldAtoms {
        FieldAtoms {
            path: Text::Owned(path.to_string()),
            atoms: List::Owned(atoms.iter().map(|a| Text::Owned(a.to_string())).collect()),
            targets: List::Owned(targets.iter().map(|t| List::Owned(t.to_vec())).collect()),
        }
    }
}

#[derive(Debug)]
struct FieldScanner {
    path: Text,
    /// The keyword pseudo-field ([`KEYWORDS`]): every value of
    /// the event is scanned.
    every_value: bool,
    /// The ASCII atoms, which any value may hold.
    ascii: Atoms,
    /// The atoms with a non-ASCII character, which only a non-ASCII value
    /// can hold (SigmaHQ: 3,717 of the 8,293 `CommandLine` atoms are emoji
    /// and other symbols of one rule).
    wide: Atoms,
    /// The first pass over the ASCII atoms, if there are few enough.
    quick: Option<Quick>,
    /// For each atom of the field, the rule variants it enables (all of them
    /// are marked when the automata cannot be trusted).
    all_targets: List<List<u32>>,
    /// The scanner's own number (never 0, never reused), by which the
    /// [`memo`] tables tell its values from other fields'.
    id: usize,
}

/// The last [`FieldScanner::id`] given.
static SCANNERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One automaton over some of a field's atoms, with each atom's targets in
/// the automaton's pattern order.
#[derive(Debug, Default)]
struct Atoms {
    automaton: Option<Automaton>,
    targets: Vec<List<u32>>,
}

/// The ASCII atoms of a field go into a [`PrefixDfa`], the others (which
/// only non-ASCII values can hold, rarely scanned) into the aho-corasick
/// crate's automaton.
// A few per field: the DFA stays inline (its class map is read first on
// every scan) rather than behind one more pointer.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Automaton {
    Prefix(PrefixDfa),
    Crate(AhoCorasick),
}

impl Atoms {
    /// Builds the automaton over the atoms `pick` selects (none: no automaton).
    /// `Err` if the automaton cannot be built (far beyond any real rule set).
    fn build(f: &FieldAtoms, pick: impl Fn(&str) -> bool) -> Result<Atoms, ()> {
        let (atoms, targets): (Vec<&str>, Vec<List<u32>>) = f
            .atoms
            .iter()
            .zip(f.targets.iter())
            .filter(|(a, _)| pick(a))
            .map(|(a, t)| (&**a, t.clone()))
            .unzip();
        if atoms.is_empty() {
            return Ok(Atoms::default());
        }
        if atoms.iter().all(|a| a.is_ascii()) {
            let slices: Vec<&[u32]> = targets.iter().map(|t| &**t).collect();
            let dfa = PrefixDfa::build_with_targets(&atoms, &slices).map_err(|_| ())?;
            return Ok(Atoms {
                automaton: Some(Automaton::Prefix(dfa)),
                targets,
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            // The crate's own prefilter (rare or starting bytes of the
            // atoms, looked for with `memchr3` whenever the automaton is
            // back in its start state) finds the bytes it picked every few
            // bytes of event text (paths, command lines), so it is called
            // far more often than it skips: without it, 1,000 generated rules
            // were faster (and ran fewer instructions under callgrind), and
            // other rule set sizes, the built-in pack and the SigmaHQ corpus
            // stayed within noise.
            .prefilter(false)
            .kind(if atoms.len() > DFA_MAX_ATOMS {
                None
            } else {
                Some(AhoCorasickKind::DFA)
            })
            .build(&atoms)
            .map_err(|_| ())?;
        Ok(Atoms {
            automaton: Some(Automaton::Crate(automaton)),
            targets,
        })
    }

    /// Calls `mark` with the variants of each atom found in `text[start..]`.
    #[inline]
    fn mark(&self, text: &str, start: usize, mark: &mut impl FnMut(&[u32])) {
        match &self.automaton {
            Some(Automaton::Prefix(dfa)) => {
                dfa.for_each_hit_with_targets(text.as_bytes(), start, |_, targets| mark(targets))
            }
            Some(Automaton::Crate(ac)) => {
                for m in ac.find_overlapping_iter(Input::new(text).range(start..)) {
                    mark(&self.targets[m.pattern().as_usize()]);
                }
            }
            None => {}
        }
    }
}

/// All automata of one rule set and layout, each field's built at its first
/// use (or by [`Prefilter::warm_up`]): an event stream that never holds a
/// field's log source never pays for its automaton.
#[derive(Debug)]
pub struct Prefilter {
    specs: List<FieldAtoms>,
    fields: Box<[std::sync::OnceLock<FieldScanner>]>,
}

impl Prefilter {
    /// A prefilter over these field tables (nothing is built yet). A field
    /// whose automaton cannot be built (far beyond any real rule set) marks
    /// all its targets on every event.
    pub fn new(specs: impl Into<List<FieldAtoms>>) -> Prefilter {
        let specs = specs.into();
        let fields = specs.iter().map(|_| std::sync::OnceLock::new()).collect();
        Prefilter { specs, fields }
    }

    /// Builds every field's automata now.
    pub fn warm_up(&self) {
        for i in 0..self.fields.len() {
            self.field(i);
        }
    }

    #[inline]
    fn field(&self, i: usize) -> &FieldScanner {
        self.fields[i].get_or_init(|| FieldScanner::new(&self.specs[i]))
    }

    /// Sets, in `candidates`, the bit of every target of an atom found in
    /// `event`. Allocates nothing (once the automata are built).
    #[inline]
    pub fn mark<E: Event + ?Sized>(&self, event: &E, candidates: &mut [u64]) {
        let ascii = event.all_ascii();
        for i in 0..self.fields.len() {
            self.field(i).mark(event, ascii, candidates);
        }
    }

    /// Like [`Prefilter::mark`], scanning only the field tables at these
    /// indices (in the order given to [`Prefilter::new`]): the engine passes
    /// the tables whose atoms matter for the event's log source.
    #[inline]
    pub fn mark_fields<E: Event + ?Sized>(
        &self,
        event: &E,
        fields: &[u32],
        candidates: &mut [u64],
    ) {
        let ascii = event.all_ascii();
        for &i in fields {
            if (i as usize) < self.fields.len() {
                self.field(i as usize).mark(event, ascii, candidates);
            }
        }
    }
}

impl FieldScanner {
    fn new(f: &FieldAtoms) -> FieldScanner {
        let every_value = f.path == KEYWORDS;
        let split = Atoms::build(f, |a| a.is_ascii())
            .and_then(|ascii| Ok((ascii, Atoms::build(f, |a| !a.is_ascii())?)));
        let (ascii, wide, quick) = match split {
            Ok((ascii, wide)) => {
                let ascii_atoms: Vec<&str> = f
                    .atoms
                    .iter()
                    .map(|a| &**a)
                    .filter(|a| a.is_ascii())
                    .collect();
                let max = if every_value {
                    QUICK_MAX_ATOMS
                } else {
                    FIELD_QUICK_MAX_ATOMS
                };
                (ascii, wide, quick_searcher(&ascii_atoms, max, every_value))
            }
            // No automaton: every variant of the field is marked.
            Err(()) => (Atoms::default(), Atoms::default(), None),
        };
        FieldScanner {
            path: f.path.clone(),
            every_value,
            ascii,
            wide,
            quick,
            all_targets: f.targets.clone(),
            id: SCANNERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        }
    }

    /// Whether the automata cannot be trusted (not built).
    fn untrusted(&self) -> bool {
        self.ascii.automaton.is_none() && self.wide.automaton.is_none()
    }

    /// Marks the variants of the atoms in the field's values (`ascii`: the
    /// event's values are known to be ASCII, asked once per event).
    #[inline]
    fn mark<E: Event + ?Sized>(&self, event: &E, ascii: bool, candidates: &mut [u64]) {
        let mut visit = |v: Value<'_>| {
            v.with_text(|text| self.mark_text(text, ascii, candidates));
            false
        };
        if !self.every_value {
            match event.single(&self.path) {
                Single::One(v) => {
                    v.with_text(|text| self.mark_text(text, ascii, candidates));
                }
                Single::Absent => {}
                Single::UseLookup => {
                    event.lookup(&self.path, &mut visit);
                }
            }
            return;
        }
        // The first pass sees the ASCII atoms only: it can rule the event out
        // when the event is ASCII or the field has no other atoms.
        let wide = self.wide.automaton.is_some() && !ascii;
        if let (Some(quick), false) = (&self.quick, wide) {
            // An event with `value_texts` (a `JsonEvent`: its line and
            // decoded escaped strings) has those searched where they are;
            // other events stream their values through a buffer (see
            // `QuickStream`). Only when some atom occurs are the values
            // scanned one by one.
            let mut found = false;
            let texts = event.value_texts(&mut |text| {
                found = found
                    || (!ascii && folds_into_ascii(text.as_bytes()))
                    || quick.teddy.find(text.as_bytes()).is_some();
            });
            if !texts {
                let mut stream = QuickStream::new(quick, ascii);
                event.any_value(&mut |v: Value<'_>| {
                    v.with_text(|text| stream.push_value(text));
                    stream.found
                });
                found = stream.finish();
            }
            if !found {
                return;
            }
        }
        event.any_value(&mut visit);
    }

    /// Marks the variants of the atoms in `text` (`ascii`: the event's
    /// values are known to be ASCII): those this thread's [`memo`] table
    /// remembers for the value, else those a scan finds (then remembered).
    #[inline]
    fn mark_text(&self, text: &str, ascii: bool, candidates: &mut [u64]) {
        let owner = self.id;
        match memo::replay(owner, text.as_bytes(), |ids| set_all(candidates, ids)) {
            memo::Lookup::Replayed => {}
            memo::Lookup::Missed(at) => {
                let mut marks = memo::Marks::new();
                self.scan_text(text, ascii, &mut |ids| {
                    set_all(candidates, ids);
                    marks.note(ids);
                });
                memo::remember(owner, text.as_bytes(), at, &marks);
            }
            memo::Lookup::Skipped => {
                self.scan_text(text, ascii, &mut |ids| set_all(candidates, ids))
            }
        }
    }

    /// Calls `mark` with the variants of each atom in `text` (`ascii`: the
    /// event's values are known to be ASCII).
    #[inline]
    fn scan_text(&self, text: &str, ascii: bool, mark: &mut impl FnMut(&[u32])) {
        let ascii = ascii || text.is_ascii();
        if self.untrusted() || (!ascii && folds_into_ascii(text.as_bytes())) {
            for t in self.all_targets.iter() {
                mark(t);
            }
            return;
        }
        let start = match &self.quick {
            Some(quick) if text.len() >= QUICK_MIN_TEXT => quick.leftmost(text),
            _ => Some(0),
        };
        if let Some(start) = start {
            self.ascii.mark(text, start, mark);
        }
        if !ascii {
            self.wide.mark(text, 0, mark);
        }
    }
}

/// The first pass of one field: a [`Teddy`] searcher over its atoms or
/// their [`fragment`]s.
#[derive(Debug)]
struct Quick {
    teddy: Teddy,
    /// The longest pattern.
    longest: usize,
    /// The largest offset of a pattern in its atom (0 without fragments).
    reach: usize,
}

/// The first pass of a field's atoms, if there are few enough: over their
/// [`fragment`]s if `fragments` (the keyword pseudo-field), else over the
/// whole atoms.
fn quick_searcher(atoms: &[&str], max_atoms: usize, fragments: bool) -> Option<Quick> {
    if atoms.is_empty() || atoms.len() > max_atoms || atoms.iter().any(|a| a.contains('\0')) {
        return None;
    }
    let mut reach = 0;
    let patterns: Vec<&[u8]> = atoms
        .iter()
        .map(|a| {
            let (offset, len) = if fragments {
                fragment(a.as_bytes())
            } else {
                (0, a.len())
            };
            reach = reach.max(offset);
            &a.as_bytes()[offset..offset + len]
        })
        .collect();
    let teddy = Teddy::new(&patterns).ok()?;
    let longest = teddy.longest();
    // Streamed values are searched a chunk at a time, chunks overlapping by
    // `longest - 1` bytes.
    if longest > QUICK_CHUNK / 2 {
        return None;
    }
    Some(Quick {
        teddy,
        longest,
        reach,
    })
}

/// Shortest atom cut down to a fragment by [`fragment`].
const FRAGMENT: usize = 4;

/// The part of an ASCII atom that the keyword first pass looks for:
/// `(offset, length)` of the suffix that starts where three neighbouring
/// bytes look least like ordinary event text. A text holding the atom holds
/// the suffix, so no event holding an atom is ruled out; and the packed
/// searcher tells candidates by their first three bytes, and
/// `sa::` (of `sekurlsa::`) turns up far less in Windows events than `sek`,
/// or `b.dll` than the `\mi` of `\mimilib.dll`, which every `\Microsoft`
/// path holds. A pass over the SigmaHQ corpus, whose
/// `win_alert_mimikatz_keywords` is looked for in every event's line, got
/// faster with it. Two variants were slower: fragments of four bytes (a
/// short pattern lets more lines through to the automaton), and fragments
/// for the first pass of fields too (no better than whole atoms there,
/// where the pass runs over one short value).
fn fragment(atom: &[u8]) -> (usize, usize) {
    /// How common a pair of neighbouring bytes is in event text: letters and
    /// digits among themselves, and anything next to a space or a quote
    /// (JSON's own punctuation), are common; other punctuation is rarer,
    /// two such bytes together rarest (`::`, `.\`), except the escaped
    /// backslash pair of every JSON path.
    fn pair(a: u8, b: u8) -> u32 {
        let plain = |c: u8| c.is_ascii_alphanumeric() || c >= 0x80;
        let spacing = |c: u8| matches!(c, b' ' | b'"' | b',' | b'\t');
        match (a, b) {
            (b'\\', b'\\') => 3,
            _ if spacing(a) || spacing(b) => 3,
            _ if plain(a) && plain(b) => {
                if a.is_ascii_digit() == b.is_ascii_digit() {
                    3
                } else {
                    2
                }
            }
            _ if plain(a) || plain(b) => 1,
            _ => 0,
        }
    }
    if atom.len() <= FRAGMENT {
        return (0, atom.len());
    }
    // The packed searcher tells candidates by their first three bytes: the
    // fragment starts where those look rarest and runs to the atom's end
    // (the longer the pattern, the fewer false candidates it lets through).
    let score = |w: &[u8]| w.windows(2).map(|p| pair(p[0], p[1])).sum::<u32>();
    let best = (0..=atom.len() - FRAGMENT)
        .min_by_key(|&o| score(&atom[o..o + 3]))
        .unwrap_or(0);
    (best, atom.len() - best)
}

impl Quick {
    /// Where the leftmost atom occurrence in `text` starts (ASCII case
    /// folded), or an earlier position.
    #[inline]
    fn leftmost(&self, text: &str) -> Option<usize> {
        // The atom may start up to `reach` bytes before its fragment.
        let start = self.teddy.find(text.as_bytes())?;
        Some(start.saturating_sub(self.reach))
    }
}

/// The first pass over many values: each value's bytes, followed by a NUL
/// byte, stream through a buffer that is searched whenever it fills
/// (keeping its last `longest - 1` bytes, so that no occurrence is cut in
/// two): one search per kilobyte rather than one per value.
struct QuickStream<'a> {
    quick: &'a Quick,
    keep: usize,
    buf: [u8; QUICK_CHUNK],
    len: usize,
    /// Some atom occurs (or a value holds a character that folds into
    /// ASCII, [`FOLDS_INTO_ASCII`], which the byte search cannot see): scan
    /// every value.
    found: bool,
    /// The event's values are known to be ASCII: no such character.
    ascii: bool,
}

impl<'a> QuickStream<'a> {
    fn new(quick: &'a Quick, ascii: bool) -> Self {
        QuickStream {
            ascii,
            quick,
            keep: quick.longest - 1,
            buf: [0; QUICK_CHUNK],
            len: 0,
            found: false,
        }
    }

    #[inline]
    fn push_value(&mut self, text: &str) {
        if !self.ascii && folds_into_ascii(text.as_bytes()) {
            self.found = true;
            return;
        }
        self.push(text.as_bytes());
        self.push(&[0]);
    }

    #[inline]
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.found {
            let n = bytes.len().min(QUICK_CHUNK - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == QUICK_CHUNK {
                if self.quick.teddy.find(&self.buf[..]).is_some() {
                    self.found = true;
                    return;
                }
                self.buf.copy_within(QUICK_CHUNK - self.keep.., 0);
                self.len = self.keep;
            }
        }
    }

    /// Whether some atom occurs in the values pushed.
    fn finish(&mut self) -> bool {
        self.found || self.quick.teddy.find(&self.buf[..self.len]).is_some()
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

    fn fields() -> Vec<FieldAtoms> {
        vec![
            FieldAtoms::new(
                "CommandLine",
                &["msiexec", "siex", "http"],
                &[&[0], &[1], &[2, 65]],
            ),
            FieldAtoms::new("Image", &["cmd.exe"], &[&[3]]),
        ]
    }

    fn marked(json: &str) -> Vec<usize> {
        let pf = Prefilter::new(fields());
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

    /// A value seen again is marked from this thread's memo table: the same
    /// marks as a scan, whatever came between, in every field of its own.
    #[test]
    fn values_seen_again_mark_what_a_scan_marks() {
        let pf = Prefilter::new(fields());
        let events = [
            r#"{"CommandLine": "C:\\Windows\\msiexec.exe /i http://e.example/x.msi"}"#,
            r#"{"CommandLine": "C:\\Windows\\msiexec.exe /i ftp://e.example/x.msi"}"#,
            r#"{"CommandLine": "C:\\Windows\\system32\\cmd.exe /c whoami", "Image": "C:\\Windows\\system32\\cmd.exe"}"#,
            r#"{"Image": "C:\\Windows\\msiexec.exe /i http://e.example/x.msi"}"#,
            r#"{"CommandLine": ["a much longer value holding http:// twice: http://", "C:\\Windows\\system32\\cmd.exe"]}"#,
        ];
        let expected = [vec![0, 1, 2, 65], vec![0, 1], vec![3], vec![], vec![2, 65]];
        for round in 0..4 {
            for (json, want) in events.iter().zip(&expected) {
                let ev = JsonEvent::parse_str(json).unwrap();
                let mut bits = [0u64; 2];
                pf.mark(&ev, &mut bits);
                let mut got = Vec::new();
                for_each_bit(&bits, |i| got.push(i));
                assert_eq!(&got, want, "round {round}: {json}");
            }
        }
    }

    /// Threads sharing one prefilter each keep their own memo table: the
    /// same events in different orders on four threads at once mark what a
    /// scan marks.
    #[test]
    fn threads_sharing_a_prefilter_mark_the_same() {
        static PF: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
        let pf = PF.get_or_init(|| Prefilter::new(fields()));
        let events: Vec<(String, u64)> = (0..64)
            .map(|i| {
                let (cmd, bits) = match i % 4 {
                    0 => ("msiexec.exe /i http://e.example/x.msi", 0b111),
                    1 => ("msiexec.exe /quiet package.msi", 0b011),
                    2 => ("powershell.exe -nop -w hidden", 0),
                    _ => ("C:\\\\Windows\\\\regsvr32.exe /s http://x", 0b100),
                };
                // A few distinct values per kind: some repeat, some not.
                (format!(r#"{{"CommandLine": "{cmd} {}"}}"#, i % 3), bits)
            })
            .collect();
        std::thread::scope(|scope| {
            for t in 0..4usize {
                let events = &events;
                scope.spawn(move || {
                    for round in 0..20 {
                        for k in 0..events.len() {
                            let (json, want) = &events[(k * (2 * t + 1) + round) % events.len()];
                            let ev = JsonEvent::parse_str(json).unwrap();
                            let mut bits = [0u64; 2];
                            pf.mark(&ev, &mut bits);
                            assert_eq!(bits[0] & 0b111, *want, "thread {t}: {json}");
                        }
                    }
                });
            }
        });
    }

    /// Prefilters built one after the other (perhaps where a dropped one
    /// was) do not share memo entries: each scanner has its own number.
    #[test]
    fn a_new_prefilter_never_replays_another_ones_marks() {
        let first: &[FieldAtoms] = &[FieldAtoms::new("Image", &["cmd.exe"], &[&[1]])];
        let second: &[FieldAtoms] = &[FieldAtoms::new("Image", &["powershell"], &[&[2]])];
        let ev = JsonEvent::parse_str(r#"{"Image": "C:\\Windows\\system32\\cmd.exe"}"#).unwrap();
        for _ in 0..3 {
            for (fields, want) in [(first, 0b10u64), (second, 0)] {
                let pf = Prefilter::new(fields.to_vec());
                for _ in 0..2 {
                    let mut bits = [0u64; 1];
                    pf.mark(&ev, &mut bits);
                    assert_eq!(bits[0], want);
                }
            }
        }
    }

    #[test]
    fn keyword_atoms_are_looked_for_in_every_value() {
        let keyword_fields: &[FieldAtoms] = &[FieldAtoms::new(
            KEYWORDS,
            &["mimikatz", "4444"],
            &[&[1], &[2]],
        )];
        let pf = Prefilter::new(keyword_fields.to_vec());
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
    fn the_first_pass_finds_atoms_across_chunk_boundaries() {
        static ATOMS: &[&str] = &["MimiKatz", "katz", "sekurlsa::", "x"];
        let chunked: &[FieldAtoms] = &[FieldAtoms::new("F", ATOMS, &[&[0], &[1], &[2], &[3]])];
        let pf = Prefilter::new(chunked.to_vec());
        assert!(pf.field(0).quick.is_some(), "few atoms get a first pass");
        // Every atom at offsets around the searcher's 32-byte steps (and
        // its last step, which may go back), in texts of several lengths.
        for len in [5usize, 31, 32, 33, 34, 35, 63, 64, 65, 255, 600] {
            for atom in ATOMS {
                for base in [0, 32 - 9, 31, 64 - 9, len.saturating_sub(12)] {
                    for shift in 0..12 {
                        let at = base + shift;
                        if at + atom.len() > len {
                            continue;
                        }
                        let mut text = "-".repeat(len);
                        text.replace_range(at..at + atom.len(), &atom.to_uppercase());
                        let ev = JsonEvent::parse_str(&format!(r#"{{"F": "{text}"}}"#)).unwrap();
                        let mut bits = [0u64; 1];
                        pf.mark(&ev, &mut bits);
                        let lower = text.to_ascii_lowercase();
                        let mut expected = 0u64;
                        for (i, a) in ATOMS.iter().enumerate() {
                            if lower.contains(&a.to_ascii_lowercase()) {
                                expected |= 1 << i;
                            }
                        }
                        assert_eq!(bits[0], expected, "{atom} at {at} in {len} bytes");
                    }
                }
            }
        }
    }

    #[test]
    fn a_first_pass_of_many_atoms_finds_every_atom_and_the_leftmost() {
        // 200 keyword atoms of four bytes (each its own fragment): four
        // groups of buckets (a field of so many atoms gets no first pass,
        // see `Prefilter::new`). Every atom is found alone, at chunk boundaries
        // of the stream; with two atoms of different searchers in one value,
        // the automaton sees both.
        let atoms: &'static [&'static str] = Vec::leak(
            (0..200)
                .map(|i| &*String::leak(format!("{}{i:03}", ["A", "z", "/"][i % 3])))
                .collect(),
        );
        let targets: &'static [&'static [u32]] =
            Vec::leak((0..200u32).map(|i| &*Vec::leak(vec![i])).collect());
        let pf = Prefilter::new(vec![FieldAtoms::new(KEYWORDS, atoms, targets)]);
        let quick = pf
            .field(0)
            .quick
            .as_ref()
            .expect("200 atoms get a first pass");
        assert_eq!(quick.longest, 4);
        let field = Prefilter::new(vec![FieldAtoms::new("F", atoms, targets)]);
        assert!(field.field(0).quick.is_none());
        let bits_of = |text: &str| {
            let ev = JsonEvent::parse_str(&serde_json::json!({ "F": text }).to_string()).unwrap();
            let mut bits = [0u64; 4];
            pf.mark(&ev, &mut bits);
            let mut out = Vec::new();
            for_each_bit(&bits, |i| out.push(i));
            out
        };
        for (i, atom) in atoms.iter().enumerate() {
            for at in [0, QUICK_CHUNK - 20, QUICK_CHUNK - 17, QUICK_CHUNK + 1] {
                let mut text = "-".repeat(QUICK_CHUNK + 20);
                text.replace_range(at..at + atom.len(), &atom.to_uppercase());
                assert_eq!(bits_of(&text), vec![i], "{atom} at {at}");
            }
        }
        assert_eq!(
            bits_of(&format!("x {} y {} z", atoms[199], atoms[0])),
            vec![0, 199]
        );
        assert_eq!(
            bits_of(&format!("{}{}", atoms[64], atoms[130])),
            vec![64, 130]
        );
        assert_eq!(bits_of("A02 z00 /1 A0 00"), Vec::<usize>::new());
    }

    #[test]
    fn the_first_pass_over_every_value_sees_each_value_whole_and_apart() {
        static ATOMS: &[&str] = &["MimiKatz", "katz", "sekurlsa::"];
        let keyword_tables: &[FieldAtoms] =
            &[FieldAtoms::new(KEYWORDS, ATOMS, &[&[0], &[1], &[2]])];
        /// A JSON event without `value_texts`: its values are streamed one by one.
        struct ValuesOnly(JsonEvent);
        impl Event for ValuesOnly {
            fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
                self.0.lookup(path, visit)
            }
            fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
                self.0.any_value(visit)
            }
        }
        let pf = Prefilter::new(keyword_tables.to_vec());
        assert!(pf.field(0).quick.is_some());
        let bits_of = |values: &[String]| {
            let json = serde_json::json!({ "v": values }).to_string();
            let ev = JsonEvent::parse_str(&json).unwrap();
            let mut bits = [0u64; 1];
            pf.mark(&ev, &mut bits);
            let ev = ValuesOnly(ev);
            let mut streamed = [0u64; 1];
            pf.mark(&ev, &mut streamed);
            assert_eq!(bits, streamed, "{json}");
            bits[0]
        };
        // An atom in any of 60 values of 37 bytes, at every offset: the
        // stream buffer fills and rolls over at every possible place.
        for target in [0, 27, 28, 29, 55, 59] {
            for at in 0..30 {
                let mut values = vec!["-".repeat(37); 60];
                values[target].replace_range(at..at + 8, "MIMIKATZ");
                assert_eq!(bits_of(&values), 0b011, "value {target}, offset {at}");
                values[target].replace_range(at..at + 8, "sEkUrLsA");
                assert_eq!(bits_of(&values), 0, "value {target}, offset {at}");
            }
        }
        // Atoms are never found across two values.
        assert_eq!(bits_of(&["x mimi".into(), "katz y".into()]), 0b010);
        assert_eq!(bits_of(&["sekurlsa".into(), "::".into()]), 0);
        assert_eq!(bits_of(&["sekurlsa::".into(), "".into()]), 0b100);
        // A character folding into ASCII marks everything (the byte search
        // cannot see it).
        assert_eq!(bits_of(&["mimi\u{212A}atz".into()]), 0b111);
        assert_eq!(bits_of(&["\u{17F}ekurlsa::".into()]), 0b111);
        // Escaped strings are searched decoded.
        let ev = JsonEvent::parse_str(r#"{"a": "x\u006dimikatz", "b": 1}"#).unwrap();
        let mut bits = [0u64; 1];
        pf.mark(&ev, &mut bits);
        assert_eq!(bits[0], 0b011);
        // So are characters that fold into ASCII.
        let ev = JsonEvent::parse_str(r#"{"a": "\u017fekurlsa::"}"#).unwrap();
        let mut bits = [0u64; 1];
        pf.mark(&ev, &mut bits);
        assert_eq!(bits[0], 0b111);
    }

    #[test]
    fn non_ascii_atoms_are_looked_for_in_non_ascii_values_only() {
        // Two automata: ASCII atoms for every value, the others only for a
        // value with a non-ASCII character; an atom of either kind is found
        // wherever it is, alone or together, in fields and keywords.
        let mixed: &[FieldAtoms] = &[
            FieldAtoms::new(
                "F",
                &["cmd", "\u{1F600}", "é/x", "c"],
                &[&[0], &[1], &[2], &[3]],
            ),
            FieldAtoms::new(KEYWORDS, &["kw", "\u{2192}"], &[&[4], &[5]]),
        ];
        let pf = Prefilter::new(mixed.to_vec());
        assert_eq!(pf.field(0).ascii.targets.len(), 2);
        assert_eq!(pf.field(0).wide.targets.len(), 2);
        let bits_of = |json: serde_json::Value| {
            let ev = JsonEvent::parse_str(&json.to_string()).unwrap();
            let mut bits = [0u64; 1];
            pf.mark(&ev, &mut bits);
            bits[0]
        };
        use serde_json::json;
        assert_eq!(bits_of(json!({"F": "CMD"})), 0b1001);
        assert_eq!(bits_of(json!({"F": "x\u{1F600}y"})), 0b0010);
        assert_eq!(bits_of(json!({"F": "\u{1F600}É/X é/X cmd"})), 0b1111);
        assert_eq!(bits_of(json!({"F": ["é", "/x"]})), 0);
        assert_eq!(bits_of(json!({"F": "plain", "G": "\u{2192}"})), 0b10_0000);
        assert_eq!(bits_of(json!({"G": ["\u{2192}", 1], "F": 2})), 0b10_0000);
        assert_eq!(bits_of(json!({"G": "KW", "H": "é"})), 0b1_0000);
        assert_eq!(bits_of(json!({"G": "kw\u{2192}"})), 0b11_0000);
        assert_eq!(bits_of(json!({"G": "k", "H": "w"})), 0);
    }

    #[test]
    fn fragments_avoid_the_bytes_of_ordinary_text() {
        fn pick(atom: &str) -> &str {
            let (offset, len) = fragment(atom.as_bytes());
            &atom[offset..offset + len]
        }
        assert_eq!(pick("sekurlsa::"), "sa::");
        assert_eq!(pick("kerberos::golden"), "s::golden");
        assert_eq!(pick("\\mimilib.dll"), "b.dll");
        assert_eq!(pick("mimidrv.sys"), "v.sys");
        // Short atoms are their own fragment; among equals, the first wins:
        // the whole atom.
        assert_eq!(pick("abc"), "abc");
        assert_eq!(pick("kiwi legit"), "kiwi legit");
        assert_eq!(pick("c:\\\\windows"), "c:\\\\windows");
    }

    #[test]
    fn arrays_and_numbers_are_scanned() {
        assert_eq!(marked(r#"{"CommandLine": ["a", "http"]}"#), vec![2, 65]);
    }

    #[test]
    fn characters_that_fold_into_ascii_mark_the_whole_field() {
        // KELVIN SIGN folds to `k`, İ to `i`, and a case-insensitive regex
        // matches `s` with LONG S: the automaton cannot see them, so every
        // variant of the field is marked.
        for c in FOLDS_INTO_ASCII {
            let json = serde_json::json!({ "CommandLine": format!("x{c}y") }).to_string();
            assert_eq!(marked(&json), vec![0, 1, 2, 65], "{c:?}");
        }
    }

    #[test]
    fn the_byte_check_finds_exactly_the_characters_that_fold_into_ascii() {
        // Every character whose UTF-8 starts with one of the lead bytes looked
        // for, alone and between others (a truncated sequence never occurs in
        // a `&str`, but a lead byte may end the text).
        for c in ('\u{100}'..='\u{17F}').chain('\u{2100}'..='\u{213F}') {
            let expected = FOLDS_INTO_ASCII.contains(&c);
            for text in [
                c.to_string(),
                format!("ab{c}"),
                format!("é{c}→x"),
                format!("{c}ſ"),
            ] {
                let expected = expected || text.contains('ſ');
                assert_eq!(folds_into_ascii(text.as_bytes()), expected, "{text:?}");
            }
        }
        assert!(!folds_into_ascii(b""));
        assert!(!folds_into_ascii("Ä ÿ → ok ł ś".as_bytes()));
    }
}
