//! The automaton of a field's ASCII atoms: a dense DFA over a window of
//! at most [`PREFIX`] bytes of each atom, each hit confirmed by comparing the
//! whole atom.
//!
//! Why not the aho-corasick crate's DFA (which the prefilter used before;
//! measurements in [`crate::prefilter`]):
//! * **Cold tables.** In a stream of events, each event's other work evicts
//!   the automata from the caches, and a scan then waits on memory at
//!   nearly every byte. Only each atom's window is states, so the table is
//!   a fraction of a whole-atom automaton's; entries are 16 bits when the
//!   states fit; and a row has at most [`MAX_CLASSES`] entries: every byte
//!   no atom holds is class 0, both cases of a letter share a class, and
//!   when the atoms hold more different bytes the rarest share one class.
//!   A shared class, or a window shorter than its atom, makes the automaton
//!   report a superset of the hits, which the comparison sorts out.
//! * **Lanes.** A scan is a chain of dependent table loads, at the latency
//!   of a load per byte whatever the CPU's width. A value of more than a few
//!   dozen bytes is cut into two or four parts scanned in one loop, chains
//!   that the CPU runs side by side; each part is read from `PREFIX - 1`
//!   bytes before it, where a window ending in it can start. The crate's
//!   search API walks one chain.
//! * **The least shared window.** An atom's window is the one that the
//!   fewest atoms hold, so that a hit has few atoms to compare: cutting
//!   atoms to their first bytes made thousands of `CommandLine` atoms share
//!   `c:\windows\`, each compared at every hit.
//!
//! An atom no longer than its window, whose bytes all have classes of their
//! own (both cases of a letter aside), is not compared: reaching its state
//! is the proof.
//!
//! ```
//! use detect_core::prefilter::dfa::PrefixDfa;
//! let dfa = PrefixDfa::build(&["msiexec", "/i http", "ttp://"]).unwrap();
//! let mut found = Vec::new();
//! dfa.for_each_hit(b"MSIEXEC.exe /I HTTP://x", 0, |atom| found.push(atom));
//! found.sort();
//! found.dedup();
//! assert_eq!(found, [0, 1, 2]);
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Longest window of an atom in the automaton; the rest is compared at a hit.
pub const PREFIX: usize = 8;

/// Shortest text (from where the scan starts) scanned in two lanes, and in
/// four: below them the `PREFIX - 1` bytes each lane re-reads cost more than
/// the lanes save.
const TWO_LANES_MIN: usize = 24;
const FOUR_LANES_MIN: usize = 56;

/// Most byte classes (a row of the table), class 0 included.
pub const MAX_CLASSES: usize = 64;

/// A dense DFA over atom windows (see the module documentation).
#[derive(Debug)]
pub struct PrefixDfa {
    /// `trans[(index << shift) + class]`, for the state of that index and a
    /// byte of that class, is the next state's index shifted left by one,
    /// bit 0 saying whether it has hits.
    trans: Table,
    classes: [u8; 256],
    /// log2 of the row length.
    shift: u32,
    /// The hits of state index `i` (atoms whose window is a suffix of the
    /// text read) are the [`Hit`] records in
    /// `records[hit_start[i]..hit_start[i + 1]]`.
    hit_start: Box<[u32]>,
    records: Box<[u32]>,
    /// The atoms' bytes, ASCII-lowercased, one after the other.
    bytes: Box<[u8]>,
    /// Where the records of the empty atoms (reported for any text; not in
    /// the automaton) start in `records`.
    empty: Box<[u32]>,
    /// Every byte of every window has a class of its own.
    exact_classes: bool,
}

/// Where, in each atom, the window of [`PREFIX`] bytes that goes into the
/// automaton starts (0 for a shorter atom): the window that the fewest atoms
/// hold, so that a hit on it has few atoms to compare. Cutting every atom to
/// its first bytes instead had thousands of `CommandLine` atoms share
/// `c:\windows\`, each compared at every hit.
fn windows(atoms: &[Box<[u8]>]) -> Vec<u32> {
    // A window as a number (PREFIX <= 8), hashed by a multiplication:
    // SigmaHQ has thousands of atoms of ~70 bytes (`Hashes`).
    const _: () = assert!(PREFIX <= 8);
    let key = |w: &[u8]| w.iter().fold(0u64, |k, &b| (k << 8) | u64::from(b));
    let mut holders: HashMap<u64, u32, BuildHasherDefault<WindowHasher>> = HashMap::default();
    let mut seen: Vec<u64> = Vec::new();
    for a in atoms.iter().filter(|a| a.len() > PREFIX) {
        seen.clear();
        seen.extend(a.windows(PREFIX).map(key));
        seen.sort_unstable();
        seen.dedup();
        for &w in &seen {
            *holders.entry(w).or_default() += 1;
        }
    }
    atoms
        .iter()
        .map(|a| {
            if a.len() <= PREFIX {
                return 0;
            }
            // Fewest holders, then the best quality, then the last.
            let mut best = (u32::MAX, 0, 0);
            for o in 0..=a.len() - PREFIX {
                let w = &a[o..o + PREFIX];
                let n = holders[&key(w)];
                if n <= best.0 {
                    let q = super::quality_bytes(w);
                    if n < best.0 || q >= best.1 {
                        best = (n, q, o);
                    }
                }
            }
            best.2 as u32
        })
        .collect()
}

/// The transition table: 16-bit entries (half the cache lines) when the
/// state indices fit in 15 bits.
#[derive(Debug)]
enum Table {
    Narrow(Box<[u16]>),
    Wide(Box<[u32]>),
}

/// An entry of [`Table`].
trait Entry: Copy {
    /// The index shifted left by one, bit 0 the hit flag.
    fn get(self) -> usize;
}

impl Entry for u16 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
}

impl Entry for u32 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
}

/// An atom in a state's hit list: what comparing it needs and the targets
/// it reports, in one record of `u32`s laid out after the previous one (a
/// hit is a cache miss or two in a stream of events, not five):
/// `[atom, at, len, window_end | proven << 31, targets.len(), targets...]`.
#[derive(Clone, Copy, Debug)]
struct Hit<'a> {
    /// The atom's index (what [`PrefixDfa::for_each_hit`] reports).
    atom: u32,
    /// Where the atom's bytes start in [`PrefixDfa::bytes`].
    at: u32,
    len: u32,
    /// Where the atom's window ends in it.
    window_end: u32,
    /// The window is the whole atom and each of its bytes has a class of its
    /// own: reaching the state proves the atom, no comparison needed.
    proven: bool,
    /// What [`PrefixDfa::for_each_hit_with_targets`] reports with the atom.
    targets: &'a [u32],
}

/// Words of a [`Hit`] record before its targets.
const HIT_HEADER: usize = 5;

impl<'a> Hit<'a> {
    fn write(&self, out: &mut Vec<u32>) {
        out.extend_from_slice(&[
            self.atom,
            self.at,
            self.len,
            self.window_end | (u32::from(self.proven) << 31),
            self.targets.len() as u32,
        ]);
        out.extend_from_slice(self.targets);
    }

    /// The record at `records[at..]` and the index of the next one.
    #[inline(always)]
    fn read(records: &'a [u32], at: usize) -> (Hit<'a>, usize) {
        let h = &records[at..at + HIT_HEADER];
        let end = at + HIT_HEADER + h[4] as usize;
        let hit = Hit {
            atom: h[0],
            at: h[1],
            len: h[2],
            window_end: h[3] & !(1 << 31),
            proven: h[3] >> 31 != 0,
            targets: &records[at + HIT_HEADER..end],
        };
        (hit, end)
    }
}

/// The hash of a window packed in a `u64` (the default hasher made
/// choosing windows a third of building SigmaHQ's prefilter).
#[derive(Default)]
struct WindowHasher(u64);

impl Hasher for WindowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The automaton would be too large (far beyond any real rule set).
#[derive(Debug)]
pub struct TooLarge;

impl PrefixDfa {
    /// Builds the automaton of `atoms` (matched ASCII-case-insensitively;
    /// a non-ASCII byte of an atom is matched as itself). Atom `i` is
    /// reported as `i`; an empty atom occurs in every text.
    pub fn build<S: AsRef<[u8]>>(atoms: &[S]) -> Result<PrefixDfa, TooLarge> {
        PrefixDfa::build_with_targets(atoms, &[])
    }

    /// Like [`PrefixDfa::build`], keeping `targets[i]` (empty beyond
    /// `targets`) with atom `i`, for [`PrefixDfa::for_each_hit_with_targets`].
    /// The prefilter keeps there the rule variants an atom enables: they are
    /// then read with the hit rather than looked up after it.
    ///
    /// ```
    /// use detect_core::prefilter::dfa::PrefixDfa;
    /// let dfa = PrefixDfa::build_with_targets(&["msiexec", "http"], &[&[7, 9], &[3]]).unwrap();
    /// let mut found = Vec::new();
    /// dfa.for_each_hit_with_targets(b"msiexec /i http://x", 0, |atom, targets| {
    ///     found.push((atom, targets.to_vec()))
    /// });
    /// found.sort();
    /// assert_eq!(found, [(0, vec![7, 9]), (1, vec![3])]);
    /// ```
    pub fn build_with_targets<S: AsRef<[u8]>>(
        atoms: &[S],
        targets: &[&[u32]],
    ) -> Result<PrefixDfa, TooLarge> {
        let atoms: Box<[Box<[u8]>]> = atoms
            .iter()
            .map(|a| a.as_ref().to_ascii_lowercase().into_boxed_slice())
            .collect();
        let window_at = windows(&atoms);
        let window = |i: usize| &atoms[i][window_at[i] as usize..][..atoms[i].len().min(PREFIX)];
        // Byte classes: the commonest bytes of the windows get their own.
        let mut count = [0u64; 256];
        for i in 0..atoms.len() {
            for &b in window(i) {
                count[b as usize] += 1;
            }
        }
        let mut used: Vec<usize> = (0..256).filter(|&b| count[b] > 0).collect();
        used.sort_by_key(|&b| (std::cmp::Reverse(count[b]), b));
        let own = used.len().min(MAX_CLASSES - 2);
        let exact_classes = used.len() < MAX_CLASSES;
        let mut classes = [0u8; 256];
        for (i, &b) in used.iter().enumerate() {
            let class = if exact_classes || i < own {
                i + 1
            } else {
                own + 1
            };
            classes[b] = class as u8;
        }
        for b in b'A'..=b'Z' {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }
        let n_classes = if exact_classes {
            used.len() + 1
        } else {
            own + 2
        };
        let stride = n_classes.next_power_of_two().max(2);
        let shift = stride.trailing_zeros();

        // The trie, as rows of the final table (NONE: no child yet).
        const NONE: u32 = u32::MAX;
        let states_bound: usize = 1 + (0..atoms.len()).map(|i| window(i).len()).sum::<usize>();
        if states_bound
            .checked_mul(stride)
            .is_none_or(|n| n >= (u32::MAX / 2) as usize)
        {
            return Err(TooLarge);
        }
        let mut delta: Vec<u32> = vec![NONE; stride];
        let mut ends: Vec<Vec<u32>> = vec![Vec::new()];
        for i in (0..atoms.len()).filter(|&i| !atoms[i].is_empty()) {
            let mut s = 0usize;
            for &b in window(i) {
                let c = classes[b as usize] as usize;
                s = match delta[s * stride + c] {
                    NONE => {
                        let t = ends.len();
                        ends.push(Vec::new());
                        delta.extend(std::iter::repeat_n(NONE, stride));
                        delta[s * stride + c] = t as u32;
                        t
                    }
                    t => t as usize,
                };
            }
            ends[s].push(i as u32);
        }
        let n = ends.len();

        // Breadth first: failure links complete every row, and each state's
        // hits are its own plus its failure state's. States are numbered in
        // that order, so that the shallow states a scan mostly visits share
        // the first rows.
        let mut order = Vec::with_capacity(n);
        let mut fail = vec![0u32; n];
        order.push(0usize);
        let mut next = 0;
        while next < order.len() {
            let s = order[next];
            next += 1;
            for c in 0..stride {
                let t = delta[s * stride + c];
                if t == NONE {
                    delta[s * stride + c] = if s == 0 {
                        0
                    } else {
                        delta[fail[s] as usize * stride + c]
                    };
                } else {
                    fail[t as usize] = if s == 0 {
                        0
                    } else {
                        delta[fail[s] as usize * stride + c]
                    };
                    order.push(t as usize);
                }
            }
        }
        let mut index = vec![0u32; n];
        for (i, &s) in order.iter().enumerate() {
            index[s] = i as u32;
        }
        let mut hit_lists: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &s in &order {
            let mut list = std::mem::take(&mut ends[s]);
            if s != 0 {
                list.extend_from_slice(&hit_lists[fail[s] as usize]);
            }
            hit_lists[s] = list;
        }
        let mut entries = Vec::with_capacity(n * stride);
        let mut hit_start = Vec::with_capacity(n + 1);
        let mut records: Vec<u32> = Vec::new();
        let mut at = Vec::with_capacity(atoms.len());
        let mut bytes = Vec::new();
        for a in atoms.iter() {
            at.push(u32::try_from(bytes.len()).map_err(|_| TooLarge)?);
            bytes.extend_from_slice(a);
        }
        u32::try_from(bytes.len()).map_err(|_| TooLarge)?;
        let shared = (!exact_classes).then_some(own as u8 + 1);
        let record = |a: u32| Hit {
            targets: targets.get(a as usize).copied().unwrap_or(&[]),
            atom: a,
            at: at[a as usize],
            len: atoms[a as usize].len() as u32,
            window_end: window_at[a as usize] + window(a as usize).len() as u32,
            proven: atoms[a as usize].len() <= PREFIX
                && window(a as usize)
                    .iter()
                    .all(|&b| Some(classes[b as usize]) != shared),
        };
        for &s in &order {
            for c in 0..stride {
                let t = delta[s * stride + c] as usize;
                entries.push((index[t] << 1) | u32::from(!hit_lists[t].is_empty()));
            }
            hit_start.push(u32::try_from(records.len()).map_err(|_| TooLarge)?);
            for &a in &hit_lists[s] {
                record(a).write(&mut records);
            }
        }
        hit_start.push(u32::try_from(records.len()).map_err(|_| TooLarge)?);
        let mut empty = Vec::new();
        for i in (0..atoms.len() as u32).filter(|&i| atoms[i as usize].is_empty()) {
            empty.push(u32::try_from(records.len()).map_err(|_| TooLarge)?);
            record(i).write(&mut records);
        }
        let trans = if n <= (u16::MAX as usize >> 1) + 1 {
            Table::Narrow(entries.iter().map(|&e| e as u16).collect())
        } else {
            Table::Wide(entries.into_boxed_slice())
        };
        Ok(PrefixDfa {
            trans,
            classes,
            shift,
            hit_start: hit_start.into_boxed_slice(),
            records: records.into_boxed_slice(),
            bytes: bytes.into_boxed_slice(),
            empty: empty.into_boxed_slice(),
            exact_classes,
        })
    }

    /// Whether some bytes share a byte class (the atoms' windows hold more
    /// than [`MAX_CLASSES`]` - 1` different bytes): hits on atoms holding
    /// those bytes are then compared in full.
    pub fn shares_classes(&self) -> bool {
        !self.exact_classes
    }

    /// Heap bytes held.
    pub fn memory_usage(&self) -> usize {
        let table = match &self.trans {
            Table::Narrow(t) => t.len() * 2,
            Table::Wide(t) => t.len() * 4,
        };
        table + self.hit_start.len() * 4 + self.records.len() * 4 + self.bytes.len()
    }

    /// Calls `f` with the index of every atom occurring in `text[start..]`
    /// (ASCII case folded), once or more per occurrence.
    #[inline]
    pub fn for_each_hit(&self, text: &[u8], start: usize, mut f: impl FnMut(u32)) {
        self.for_each_hit_with_targets(text, start, |atom, _| f(atom));
    }

    /// Like [`PrefixDfa::for_each_hit`], with the atom's targets (given to
    /// [`PrefixDfa::build_with_targets`]).
    #[inline]
    pub fn for_each_hit_with_targets(
        &self,
        text: &[u8],
        start: usize,
        mut f: impl FnMut(u32, &[u32]),
    ) {
        for &at in self.empty.iter() {
            let (hit, _) = Hit::read(&self.records, at as usize);
            f(hit.atom, hit.targets);
        }
        match &self.trans {
            Table::Narrow(t) => self.hits_in(t, text, start, &mut f),
            Table::Wide(t) => self.hits_in(t, text, start, &mut f),
        }
    }

    #[inline(always)]
    fn hits_in<E: Entry>(
        &self,
        t: &[E],
        text: &[u8],
        start: usize,
        f: &mut impl FnMut(u32, &[u32]),
    ) {
        let n = text.len().saturating_sub(start);
        if n < TWO_LANES_MIN {
            self.scan(t, text, start, start, text.len(), 0, f);
        } else if n < FOUR_LANES_MIN {
            self.lanes::<E, 2>(t, text, start, f);
        } else {
            self.lanes::<E, 4>(t, text, start, f);
        }
    }

    /// `text[start..]` cut into `N` lanes scanned side by side. Each lane
    /// reads `PREFIX - 1` bytes of the one before (where a window ending in
    /// it can start), and all read the same number of bytes.
    #[inline(always)]
    fn lanes<E: Entry, const N: usize>(
        &self,
        t: &[E],
        text: &[u8],
        start: usize,
        f: &mut impl FnMut(u32, &[u32]),
    ) {
        let back = PREFIX - 1;
        let len = (text.len() - start + (N - 1) * back).div_ceil(N);
        let from: [usize; N] = std::array::from_fn(|k| start + k * (len - back));
        let to: [usize; N] = std::array::from_fn(|k| (from[k] + len).min(text.len()));
        let common = to[N - 1] - from[N - 1];
        let mut state = [0usize; N];
        for j in 0..common {
            for k in 0..N {
                let p = from[k] + j;
                let e = self.step(t, state[k], text[p]);
                state[k] = e >> 1;
                if e & 1 != 0 {
                    self.report(text, start, p + 1, state[k], f);
                }
            }
        }
        for k in 0..N - 1 {
            self.scan(t, text, start, from[k] + common, to[k], state[k], f);
        }
    }

    /// The entry for the state of index `state` and `byte`.
    #[inline(always)]
    fn step<E: Entry>(&self, t: &[E], state: usize, byte: u8) -> usize {
        let class = self.classes[byte as usize] as usize;
        t[(state << self.shift) + class].get()
    }

    /// One chain from the state of index `state` over `text[from..to]`,
    /// reporting atoms that start at `lo` or later.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn scan<E: Entry>(
        &self,
        t: &[E],
        text: &[u8],
        lo: usize,
        from: usize,
        to: usize,
        mut state: usize,
        f: &mut impl FnMut(u32, &[u32]),
    ) {
        for (p, &b) in text[from..to].iter().enumerate() {
            let e = self.step(t, state, b);
            state = e >> 1;
            if e & 1 != 0 {
                self.report(text, lo, from + p + 1, state, f);
            }
        }
    }

    /// The atoms of the state of index `i` that occur, ending their window at `end`.
    #[inline(never)]
    fn report(
        &self,
        text: &[u8],
        lo: usize,
        end: usize,
        i: usize,
        f: &mut impl FnMut(u32, &[u32]),
    ) {
        let (mut at, stop) = (self.hit_start[i] as usize, self.hit_start[i + 1] as usize);
        while at < stop {
            let (hit, next) = Hit::read(&self.records, at);
            at = next;
            let len = hit.len as usize;
            let whole = match end.checked_sub(hit.window_end as usize) {
                Some(start) if start >= lo => {
                    hit.proven
                        || text.get(start..start + len).is_some_and(|t| {
                            let at = hit.at as usize;
                            t.eq_ignore_ascii_case(&self.bytes[at..at + len])
                        })
                }
                _ => false,
            };
            if whole {
                f(hit.atom, hit.targets);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (atom, start) occurrence, by brute force.
    fn brute(atoms: &[String], text: &[u8], start: usize) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, a) in atoms.iter().enumerate() {
            let a = a.as_bytes();
            if text.len() >= a.len()
                && (start..=text.len() - a.len())
                    .any(|p| text[p..p + a.len()].eq_ignore_ascii_case(a))
            {
                out.push(i as u32);
            }
        }
        out
    }

    fn found(dfa: &PrefixDfa, text: &[u8], start: usize) -> Vec<u32> {
        let mut out = Vec::new();
        dfa.for_each_hit(text, start, |a| out.push(a));
        out.sort_unstable();
        out.dedup();
        out
    }

    use detect_test_support::XorShift64 as Rng;

    #[test]
    fn finds_what_brute_force_finds() {
        let atoms: Vec<String> = [
            "msiexec",
            "MSIEXEC /i",
            "exec",
            "http://",
            "https://",
            "\\temp\\",
            "a",
            "aaa",
            "aaaa",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "bcdefghijklm",
            "cdefghijklmno",
            "x.dll",
            "invoke-expression",
            "iex",
            "-enc",
            " -e ",
            "::",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let dfa = PrefixDfa::build(&atoms).unwrap();
        for text in [
            "C:\\Windows\\System32\\msiexec.exe /I https://e.example/x.msi",
            "aaaaabcdefghijklmnopqrstuvwxyz",
            "ABCDEFGHIJKLMNOPQ and Invoke-Expression via IEX",
            "",
            "a",
            "powershell -enc AAAA -e x.dll ::",
        ] {
            assert_eq!(
                found(&dfa, text.as_bytes(), 0),
                brute(&atoms, text.as_bytes(), 0),
                "{text}"
            );
        }
    }

    /// Random atoms over a small alphabet (so that they overlap, share
    /// prefixes and contain each other), more bytes than classes (so that
    /// classes are shared), and random texts long enough for lanes, from
    /// random starts.
    #[test]
    fn random_atoms_and_texts_agree_with_brute_force() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..60 {
            // Rounds alternate a small alphabet and one of more than
            // MAX_CLASSES bytes (shared classes).
            let alphabet: Vec<u8> = if round % 2 == 0 {
                b"abcAB./\\".to_vec()
            } else {
                (0x20u8..0x7f).collect()
            };
            let n_atoms = if round % 2 == 0 {
                1 + rng.below(40)
            } else {
                60 + rng.below(40)
            };
            let atoms: Vec<String> = (0..n_atoms)
                .map(|_| {
                    let len = 1 + rng.below(20);
                    (0..len)
                        .map(|_| alphabet[rng.below(alphabet.len())] as char)
                        .collect()
                })
                .collect();
            let dfa = PrefixDfa::build(&atoms).unwrap();
            assert_eq!(dfa.shares_classes(), round % 2 == 1);
            for _ in 0..20 {
                let len = rng.below(600);
                let mut text: Vec<u8> = (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect();
                // Plant some atoms, in random case.
                for _ in 0..rng.below(4) {
                    let a = atoms[rng.below(atoms.len())].as_bytes();
                    if a.len() <= text.len() {
                        let p = rng.below(text.len() - a.len() + 1);
                        for (i, &b) in a.iter().enumerate() {
                            text[p + i] = if rng.below(2) == 0 {
                                b.to_ascii_uppercase()
                            } else {
                                b
                            };
                        }
                    }
                }
                let start = if text.is_empty() {
                    0
                } else {
                    rng.below(text.len())
                };
                assert_eq!(
                    found(&dfa, &text, start),
                    brute(&atoms, &text, start),
                    "round {round}, atoms {atoms:?}, text {:?}, start {start}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn non_ascii_text_reaches_no_atom() {
        let dfa = PrefixDfa::build(&["ab", "\u{7f}"]).unwrap();
        assert_eq!(
            found(&dfa, "a\u{e9}b \u{1F600}".as_bytes(), 0),
            Vec::<u32>::new()
        );
        assert_eq!(found(&dfa, "xa\u{e9}ab".as_bytes(), 0), vec![0]);
    }

    /// More states than 16-bit entries can name: the table has 32-bit ones.
    #[test]
    fn a_large_automaton_has_wide_entries_and_finds_the_same() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let atoms: Vec<String> = (0..6_000)
            .map(|_| {
                (0..10)
                    .map(|_| (b'a' + rng.below(26) as u8) as char)
                    .collect()
            })
            .collect();
        let dfa = PrefixDfa::build(&atoms).unwrap();
        assert!(matches!(dfa.trans, Table::Wide(_)));
        for _ in 0..20 {
            let mut text: Vec<u8> = (0..300).map(|_| b'a' + rng.below(26) as u8).collect();
            for _ in 0..3 {
                let a = atoms[rng.below(atoms.len())].as_bytes();
                let p = rng.below(text.len() - a.len());
                text[p..p + a.len()].copy_from_slice(a);
            }
            let start = rng.below(50);
            assert_eq!(found(&dfa, &text, start), brute(&atoms, &text, start));
        }
        let small = PrefixDfa::build(&atoms[..100]).unwrap();
        assert!(matches!(small.trans, Table::Narrow(_)));
    }

    #[test]
    fn an_empty_atom_occurs_everywhere() {
        let dfa = PrefixDfa::build(&["", "abc"]).unwrap();
        assert_eq!(found(&dfa, b"", 0), vec![0]);
        assert_eq!(found(&dfa, b"xxabcxx", 0), vec![0, 1]);
    }
}
