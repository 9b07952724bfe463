//! What the prefilter marked for recent values, per thread: a value seen
//! again in the same field marks the same rule variants without a scan.
//!
//! Why: a field's marks are a function of its value alone, and event
//! streams repeat values: the same `Image`, `ParentImage`, `Hashes`,
//! `Company`, `Product` and parent command lines come back event after
//! event, while a scan of them waits on cold automaton rows (20 to 50
//! cycles a byte in a pass over SigmaHQ's sample events). Looking a value
//! up costs a hash of its ends and a comparison of its bytes.
//!
//! The table is exact: an entry holds the whole value, compared in full, so
//! a hit marks what the scan would have (tested against scanning here, and
//! in the SigmaHQ corpus tests, generated code against the interpreter).
//! Values shorter than [`MEMO_MIN_TEXT`] (a scan of a few bytes costs what
//! a lookup does) or longer than [`MEMO_MAX_TEXT`] are always scanned, and
//! so is a value whose marks do not fit an entry ([`MEMO_MAX_MARKS`]).
//!
//! A field whose values do not repeat (random workstation names, most
//! command lines) would pay for lookups that miss and evict the entries of
//! fields that do: each field (by its scanner) has a score per thread, up
//! on a hit and down on a miss, and a field whose score falls below
//! [`BYPASS_BELOW`] is scanned without the table, except for one lookup in
//! [`PROBE_EVERY`], which lets its score rise again if its values start
//! repeating.
//!
//! Each thread has its own table (no sharing between the threads of a
//! sensor, about 200 KB each), allocated on its first lookup or by
//! [`prepare_thread`] (which a generated rule set's `warm_up` calls): the
//! steady state allocates nothing.
//!
//! ```
//! use detect_core::JsonEvent;
//! use detect_core::prefilter::{FieldAtoms, Prefilter, for_each_bit};
//! let pf = Prefilter::new(vec![FieldAtoms::new("Image", &["\\msiexec.exe", "\\cmd.exe"], &[&[0], &[1]])]);
//! let ev = JsonEvent::parse_str(r#"{"Image": "C:\\Windows\\System32\\msiexec.exe"}"#).unwrap();
//! detect_core::prefilter::memo::prepare_thread();
//! // Scanned the first time, replayed from this thread's table after.
//! for _ in 0..3 {
//!     let mut bits = [0u64; 1];
//!     pf.mark(&ev, &mut bits);
//!     assert_eq!(bits, [0b01]);
//! }
//! ```

use std::cell::RefCell;

/// Shortest value looked up in the table.
pub const MEMO_MIN_TEXT: usize = 16;

/// Longest value kept in the table.
pub const MEMO_MAX_TEXT: usize = 256;

/// Most variant ids one entry holds.
pub const MEMO_MAX_MARKS: usize = 30;

/// A field's score below which its values skip the table.
pub const BYPASS_BELOW: i32 = -8;

/// A bypassed field still looks up one value in this many.
pub const PROBE_EVERY: u32 = 64;

/// Entries of a thread's table.
const SLOTS: usize = 512;

/// Fields scored per thread (by a hash of the scanner's number; fields
/// sharing a score reset it in turn).
const FIELDS: usize = 256;

/// Bounds of a field's score.
const SCORE_MAX: i32 = 16;
const SCORE_MIN: i32 = -16;

/// One remembered value: its owner (the field scanner's number; 0 for an
/// empty entry), the value's length, and the variant ids it marked.
#[derive(Clone, Copy)]
struct Slot {
    owner: usize,
    len: u32,
    n: u32,
    marks: [u32; MEMO_MAX_MARKS],
}

/// A field's score on this thread.
#[derive(Clone, Copy)]
struct Score {
    owner: usize,
    score: i32,
    bypassed: u32,
}

/// A thread's table: entries, their values' bytes apart (read only once
/// the entry's owner and length agree), and the fields' scores.
struct Table {
    slots: Box<[Slot]>,
    texts: Box<[[u8; MEMO_MAX_TEXT]]>,
    scores: Box<[Score]>,
}

impl Table {
    fn new() -> Table {
        let slot = Slot {
            owner: 0,
            len: 0,
            n: 0,
            marks: [0; MEMO_MAX_MARKS],
        };
        let score = Score {
            owner: 0,
            score: 0,
            bypassed: 0,
        };
        Table {
            slots: vec![slot; SLOTS].into_boxed_slice(),
            texts: vec![[0u8; MEMO_MAX_TEXT]; SLOTS].into_boxed_slice(),
            scores: vec![score; FIELDS].into_boxed_slice(),
        }
    }

    /// The score of `owner` in `scores`, reset if another field had its
    /// place.
    fn score_in(scores: &mut [Score], owner: usize) -> &mut Score {
        let at =
            (owner as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FIELDS.trailing_zeros());
        let s = &mut scores[at as usize];
        if s.owner != owner {
            *s = Score {
                owner,
                score: 0,
                bypassed: 0,
            };
        }
        s
    }
}

thread_local! {
    static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
}

/// Allocates the calling thread's table now rather than on its first
/// lookup (idempotent), so that a sensor's scanning thread allocates
/// nothing once it runs.
///
/// ```
/// detect_core::prefilter::memo::prepare_thread();
/// detect_core::prefilter::memo::prepare_thread(); // idempotent
/// ```
pub fn prepare_thread() {
    let _ = TABLE.try_with(|t| {
        t.borrow_mut().get_or_insert_with(Table::new);
    });
}

/// The variant ids a scan marked, noted as it goes.
pub(crate) struct Marks {
    ids: [u32; MEMO_MAX_MARKS],
    n: usize,
    /// More ids than an entry holds: not remembered.
    overflow: bool,
}

impl Marks {
    pub(crate) fn new() -> Marks {
        Marks {
            ids: [0; MEMO_MAX_MARKS],
            n: 0,
            overflow: false,
        }
    }

    /// Notes `ids` (which the caller marks in the candidates).
    #[inline]
    pub(crate) fn note(&mut self, ids: &[u32]) {
        for &id in ids {
            if self.ids[..self.n].contains(&id) {
                continue;
            }
            if self.n == MEMO_MAX_MARKS {
                self.overflow = true;
                return;
            }
            self.ids[self.n] = id;
            self.n += 1;
        }
    }
}

/// What [`replay`] did.
pub(crate) enum Lookup {
    /// The value's marks were replayed.
    Replayed,
    /// Not in the table: scan, noting the marks, and [`remember`] them in
    /// this entry.
    Missed(usize),
    /// Not looked up: scan.
    Skipped,
}

/// The entry of `text` for `owner`: a mix of the owner, the length and the
/// first and last eight bytes (the comparison of the whole text decides).
#[inline]
fn slot_of(owner: usize, text: &[u8]) -> usize {
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        let n = b.len().min(8);
        w[..n].copy_from_slice(&b[..n]);
        u64::from_le_bytes(w)
    };
    let first = word(text);
    let last = word(&text[text.len().saturating_sub(8)..]);
    let h = (owner as u64 ^ (text.len() as u64).rotate_left(32) ^ first)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ last.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (h.wrapping_mul(0xFF51_AFD7_ED55_8CCD) >> (64 - SLOTS.trailing_zeros())) as usize
}

/// Calls `replay` with the variant ids that `text` marked for `owner`
/// (the field scanner's number: never 0, never reused, so that a scanner
/// built where a dropped one was never sees its entries) if this thread's
/// table remembers them.
#[inline]
pub(crate) fn replay(owner: usize, text: &[u8], replay: impl FnOnce(&[u32])) -> Lookup {
    if !(MEMO_MIN_TEXT..=MEMO_MAX_TEXT).contains(&text.len()) {
        return Lookup::Skipped;
    }
    // `replay` is called with the table borrowed: it only marks bits. A
    // thread whose table is being torn down scans as if there were none.
    TABLE
        .try_with(|t| {
            let mut t = t.borrow_mut();
            let Table {
                slots,
                texts,
                scores,
            } = t.get_or_insert_with(Table::new);
            let score = Table::score_in(scores, owner);
            if score.score < BYPASS_BELOW {
                score.bypassed = score.bypassed.wrapping_add(1);
                if !score.bypassed.is_multiple_of(PROBE_EVERY) {
                    return Lookup::Skipped;
                }
            }
            let at = slot_of(owner, text);
            let slot = &slots[at];
            if slot.owner == owner
                && slot.len as usize == text.len()
                && &texts[at][..text.len()] == text
            {
                score.score = (score.score + 1).min(SCORE_MAX);
                replay(&slot.marks[..slot.n as usize]);
                Lookup::Replayed
            } else {
                score.score = (score.score - 1).max(SCORE_MIN);
                Lookup::Missed(at)
            }
        })
        .unwrap_or(Lookup::Skipped)
}

/// Remembers, in entry `at` (from [`Lookup::Missed`]), that `text` marked
/// `marks` for `owner`, unless they overflowed.
#[inline]
pub(crate) fn remember(owner: usize, text: &[u8], at: usize, marks: &Marks) {
    if marks.overflow {
        return;
    }
    let _ = TABLE.try_with(|t| {
        if let Some(table) = t.borrow_mut().as_mut() {
            table.slots[at] = Slot {
                owner,
                len: text.len() as u32,
                n: marks.n as u32,
                marks: marks.ids,
            };
            table.texts[at][..text.len()].copy_from_slice(text);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the prefilter does with a value: replays its marks, or scans
    /// (marking `ids`) and remembers. Returns the marks, sorted, and
    /// whether it scanned.
    fn lookup(owner: usize, text: &str, ids: &[u32]) -> (Vec<u32>, bool) {
        let mut out = Vec::new();
        let scanned = match replay(owner, text.as_bytes(), |r| out.extend_from_slice(r)) {
            Lookup::Replayed => false,
            Lookup::Missed(at) => {
                let mut marks = Marks::new();
                out.extend_from_slice(ids);
                marks.note(ids);
                remember(owner, text.as_bytes(), at, &marks);
                true
            }
            Lookup::Skipped => {
                out.extend_from_slice(ids);
                true
            }
        };
        out.sort_unstable();
        (out, scanned)
    }

    #[test]
    fn a_value_seen_again_replays_its_marks_without_a_scan() {
        let v = "C:\\Windows\\System32\\cmd.exe";
        assert_eq!(lookup(8, v, &[3, 1, 3]), (vec![1, 3, 3], true));
        assert_eq!(lookup(8, v, &[99]), (vec![1, 3], false));
        // Another owner, another length, another byte: scanned.
        assert_eq!(lookup(16, v, &[5]), (vec![5], true));
        assert_eq!(lookup(8, &v[1..], &[6]), (vec![6], true));
        assert_eq!(lookup(8, &v.replace("cmd", "cme"), &[7]), (vec![7], true));
        // No marks is remembered too.
        assert_eq!(lookup(8, "nothing to see here", &[]), (vec![], true));
        assert_eq!(lookup(8, "nothing to see here", &[1]), (vec![], false));
    }

    #[test]
    fn short_long_and_overflowing_values_are_always_scanned() {
        assert!(lookup(8, "short", &[1]).1);
        assert!(lookup(8, "short", &[1]).1);
        let long = "x".repeat(MEMO_MAX_TEXT + 1);
        assert!(lookup(8, &long, &[1]).1);
        assert!(lookup(8, &long, &[1]).1);
        let many: Vec<u32> = (0..MEMO_MAX_MARKS as u32 + 1).collect();
        let v = "a value with many marks";
        assert_eq!(lookup(8, v, &many), (many.clone(), true));
        assert_eq!(lookup(8, v, &many), (many.clone(), true));
        let most: Vec<u32> = (0..MEMO_MAX_MARKS as u32).collect();
        let w = "a value with the most marks";
        assert_eq!(lookup(8, w, &most), (most.clone(), true));
        assert_eq!(lookup(8, w, &[0]), (most, false));
    }

    /// Values that share their length and their first and last eight bytes
    /// (so their entry) evict each other and are never confused.
    #[test]
    fn values_sharing_an_entry_are_told_apart() {
        let a = "SHA1=0000|middle-a|11111111";
        let b = "SHA1=0000|middle-b|11111111";
        assert_eq!(slot_of(8, a.as_bytes()), slot_of(8, b.as_bytes()));
        assert_eq!(lookup(8, a, &[1]), (vec![1], true));
        assert_eq!(lookup(8, b, &[2]), (vec![2], true));
        assert_eq!(lookup(8, a, &[1]), (vec![1], true));
        assert_eq!(lookup(8, a, &[9]), (vec![1], false));
    }

    /// A field whose values never repeat stops looking them up, except one
    /// in [`PROBE_EVERY`]; once they repeat, the probes' hits bring it back.
    #[test]
    fn a_field_that_misses_is_bypassed_and_probed() {
        let owner = 24;
        let fresh = |i: usize| format!("workstation-{i:08}");
        for i in 0..20 {
            lookup(owner, &fresh(i), &[1]);
        }
        let score = |owner| {
            TABLE.with(|t| {
                Table::score_in(&mut t.borrow_mut().as_mut().unwrap().scores, owner).score
            })
        };
        assert!(score(owner) < BYPASS_BELOW);
        // Bypassed: the same value again is scanned, not replayed, except
        // on a probe.
        let repeated = "one repeated value";
        let scans = (0..PROBE_EVERY * 40)
            .filter(|_| lookup(owner, repeated, &[2]).1)
            .count() as u32;
        assert!(scans < PROBE_EVERY * 40 - 20, "{scans} scans");
        assert!(score(owner) >= BYPASS_BELOW);
        assert_eq!(lookup(owner, repeated, &[3]), (vec![2], false));
        // Another field keeps its own score.
        assert_eq!(score(owner + 8), 0);
    }
}
