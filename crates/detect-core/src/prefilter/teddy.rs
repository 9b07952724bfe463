//! The SIMD first pass: where does the leftmost occurrence of any of a few
//! dozen short ASCII patterns start, ASCII case ignored?
//!
//! The algorithm is Teddy (from Intel's Hyperscan): each pattern goes into
//! one of up to [`MAX_GROUPS`] × 8 buckets, and for each of the first `m`
//! bytes of a pattern (its fingerprint, `m` ≤ 4) the bucket's bit is set in
//! two 16-entry tables, one indexed by the low nibble of a text byte and one
//! by its high nibble. A byte shuffle looks 32 text bytes up in a table at
//! once, so a few shuffles and ANDs tell, for 32 positions, which buckets
//! may have a pattern starting there; only those positions are compared
//! with the bucket's patterns.
//!
//! Why our own rather than the aho-corasick crate's packed searcher (which
//! the prefilter used before):
//! * **Case is folded in the tables.** An ASCII letter's two cases differ
//!   only in the high nibble (`A` 0x41, `a` 0x61), so setting the bucket's
//!   bit for both high nibbles makes the tables see either case, and the
//!   comparison ignores case. The crate's searcher is case-sensitive, so the
//!   prefilter first copied each text lowercased into a stack buffer, chunk
//!   by chunk: in a pass over the SigmaHQ corpus that copy was a third of
//!   the first pass's time (`perf`). Now the event's line is searched where
//!   it is.
//! * **Up to 32 buckets in one pass**: SigmaHQ's Application channel has 115
//!   keyword atoms, which took the crate two searchers, each a pass over the
//!   text; here the groups of 8 buckets share the loads and nibbles.
//!
//! With AVX-512 (F and BW) a text of 64 bytes or more is searched 64 bytes
//! a step, else 32 with AVX2: against AVX2 only, a pass over SigmaHQ's
//! Sysmon process creations 3.7% faster, its Application channel (four
//! groups of buckets) 10%, its PowerShell script blocks 1.6%, the other
//! events 2.8% (`sigmahq_hotspots pass 10`, alternating runs); the whole
//! corpus 0.4 to 2.8% (the search mostly waits for the line's memory).
//!
//! The tables say "maybe" for a superset of the positions (nibbles of
//! different patterns of a bucket combine, and both cases of a letter's high
//! nibble also admit a few punctuation bytes); the comparison decides. Without
//! AVX2 (or off x86-64) the same buckets are looked up with exact per-byte
//! tables, a byte at a time.
//!
//! ```
//! use detect_core::prefilter::teddy::Teddy;
//! let teddy = Teddy::new(&["sekurlsa::", "lsadump::"]).unwrap();
//! assert_eq!(teddy.find(b"mimikatz # LSADUMP::sam"), Some(11));
//! assert_eq!(teddy.find(b"nothing to see"), None);
//! ```

/// Most groups of 8 buckets searched in one pass.
pub const MAX_GROUPS: usize = 4;

/// Buckets per group (the bits of a byte).
const BUCKETS: usize = 8;

/// Longest fingerprint (the bytes of a pattern's start looked up by the
/// tables).
const MAX_FINGERPRINT: usize = 4;

/// Patterns per bucket aimed at when choosing the number of groups: more
/// buckets cost a few shuffles per 32 bytes, more patterns per bucket let
/// more positions through to the comparison. Measured (`sigmahq_hotspots
/// pass 10`, alternating): 2, 3, 4 and 8 gave 2,544 / 2,387 / 2,378 /
/// 2,529 ns/event over the SigmaHQ corpus, its Application channel (115
/// keyword atoms) 1,246 with the crate's searcher, then - / 1,098 / 1,055 /
/// 1,506.
const PATTERNS_PER_BUCKET: usize = 4;

/// A Teddy searcher over ASCII patterns, ASCII case ignored (see the module
/// documentation).
#[derive(Debug, Clone)]
pub struct Teddy {
    /// Fingerprint length: the shortest pattern's length, at most 4.
    m: usize,
    /// Groups of 8 buckets.
    groups: usize,
    /// For group `g` and fingerprint byte `j`, at `g * m + j`: the low-nibble
    /// table and the high-nibble table, each 16 entries repeated twice (one
    /// per 128-bit half of an AVX2 register; the AVX-512 search broadcasts
    /// the first 16 to its four).
    nibbles: Vec<[[u8; 32]; 2]>,
    /// For fingerprint byte `j`, at `j * 256 + byte`: the buckets (bit
    /// `g * 8 + b`) with a pattern whose byte `j` is `byte`, either case.
    exact: Vec<u32>,
    /// The patterns of bucket `k` are `patterns[bucket_start[k]..bucket_start[k + 1]]`.
    bucket_start: Vec<u32>,
    /// (offset into `bytes`, length) of each pattern.
    patterns: Vec<(u32, u32)>,
    /// The patterns' bytes, ASCII-lowercased.
    bytes: Vec<u8>,
    /// The CPU has AVX2 (checked once, when built; read only on x86-64).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
    /// The CPU has AVX-512 (F and BW): texts of 64 bytes or more are
    /// searched 64 bytes at a time.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx512: bool,
}

/// Why a [`Teddy`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeddyError {
    /// No patterns, or an empty one (which occurs everywhere).
    Empty,
    /// A pattern holds a non-ASCII byte.
    NotAscii,
}

impl Teddy {
    /// A searcher for `patterns` (ASCII, not empty, any number: beyond
    /// 128, the 32 buckets hold more than four each and
    /// let more positions through).
    ///
    /// ```
    /// use detect_core::prefilter::teddy::{Teddy, TeddyError};
    /// assert!(Teddy::new(&["a"]).is_ok());
    /// assert_eq!(Teddy::new(&[""]).unwrap_err(), TeddyError::Empty);
    /// assert_eq!(Teddy::new(&["é"]).unwrap_err(), TeddyError::NotAscii);
    /// ```
    pub fn new<S: AsRef<[u8]>>(patterns: &[S]) -> Result<Teddy, TeddyError> {
        let mut lower: Vec<Vec<u8>> = patterns
            .iter()
            .map(|p| p.as_ref().to_ascii_lowercase())
            .collect();
        if lower.is_empty() || lower.iter().any(Vec::is_empty) {
            return Err(TeddyError::Empty);
        }
        if !lower.iter().all(|p| p.is_ascii()) {
            return Err(TeddyError::NotAscii);
        }
        // Patterns sharing a start share a bucket: their nibbles then add
        // little to the tables.
        lower.sort_unstable();
        lower.dedup();
        let m = lower
            .iter()
            .map(Vec::len)
            .min()
            .unwrap_or(1)
            .min(MAX_FINGERPRINT);
        let groups = lower
            .len()
            .div_ceil(BUCKETS * PATTERNS_PER_BUCKET)
            .clamp(1, MAX_GROUPS);
        let buckets = groups * BUCKETS;
        let mut nibbles = vec![[[0u8; 32]; 2]; groups * m];
        let mut exact = vec![0u32; m * 256];
        let mut bucket_start = Vec::with_capacity(buckets + 1);
        let mut offsets = Vec::with_capacity(lower.len());
        let mut bytes = Vec::new();
        for k in 0..buckets {
            bucket_start.push(offsets.len() as u32);
            // Contiguous runs of the sorted patterns, as even as can be.
            let run = lower.len() * k / buckets..lower.len() * (k + 1) / buckets;
            let (g, b) = (k / BUCKETS, k % BUCKETS);
            for p in &lower[run] {
                for (j, &c) in p[..m].iter().enumerate() {
                    for c in [c, c.to_ascii_uppercase()] {
                        let t = &mut nibbles[g * m + j];
                        for half in [0, 16] {
                            t[0][half + usize::from(c & 0x0F)] |= 1 << b;
                            t[1][half + usize::from(c >> 4)] |= 1 << b;
                        }
                        exact[j * 256 + usize::from(c)] |= 1 << k;
                    }
                }
                offsets.push((bytes.len() as u32, p.len() as u32));
                bytes.extend_from_slice(p);
            }
        }
        bucket_start.push(offsets.len() as u32);
        Ok(Teddy {
            m,
            groups,
            nibbles,
            exact,
            bucket_start,
            patterns: offsets,
            bytes,
            avx2: has_avx2(),
            avx512: has_avx512(),
        })
    }

    /// The length of the longest pattern.
    pub fn longest(&self) -> usize {
        self.patterns
            .iter()
            .map(|&(_, n)| n as usize)
            .max()
            .unwrap_or(0)
    }

    /// Where the leftmost occurrence of a pattern in `haystack` starts
    /// (ASCII case ignored).
    #[inline]
    pub fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if self.avx512 && haystack.len() >= avx512::STEP + MAX_FINGERPRINT {
            // SAFETY: the CPU has AVX-512 F and BW (checked when built).
            return unsafe { avx512::find(self, haystack) };
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU has AVX2 (checked when built).
            return unsafe { avx2::find(self, haystack) };
        }
        self.find_bytewise(haystack)
    }

    /// [`Teddy::find`] with the exact tables, a byte at a time (the path
    /// without AVX2; public so that tests and fuzzing compare both).
    pub fn find_bytewise(&self, haystack: &[u8]) -> Option<usize> {
        let m = self.m;
        if haystack.len() < m {
            return None;
        }
        for p in 0..=haystack.len() - m {
            let mut buckets = u32::MAX;
            for j in 0..m {
                buckets &= self.exact[j * 256 + usize::from(haystack[p + j])];
            }
            if buckets != 0 && self.verify(haystack, p, buckets) {
                return Some(p);
            }
        }
        None
    }

    /// Whether a pattern of one of `buckets` (bit `g * 8 + b`) starts at
    /// `at` in `haystack`.
    #[inline]
    fn verify(&self, haystack: &[u8], at: usize, mut buckets: u32) -> bool {
        // Positions past the end come from the zero padding of a short text.
        let Some(rest) = haystack.get(at..) else {
            return false;
        };
        while buckets != 0 {
            let k = buckets.trailing_zeros() as usize;
            buckets &= buckets - 1;
            let run = self.bucket_start[k] as usize..self.bucket_start[k + 1] as usize;
            for &(offset, len) in &self.patterns[run] {
                let pattern = &self.bytes[offset as usize..(offset + len) as usize];
                if rest
                    .get(..pattern.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(pattern))
                {
                    return true;
                }
            }
        }
        false
    }
}

/// Whether the CPU has AVX-512 F and BW.
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has AVX2.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Calls `$search::<M, G>` for the fingerprint length and the number of
/// groups of `$teddy` (3 groups run as 4, the fourth with empty tables).
#[cfg(target_arch = "x86_64")]
macro_rules! by_shape {
    ($search:ident, $teddy:expr, $haystack:expr) => {
        match ($teddy.m, $teddy.groups) {
            (1, 1) => $search::<1, 1>($teddy, $haystack),
            (1, 2) => $search::<1, 2>($teddy, $haystack),
            (1, _) => $search::<1, 4>($teddy, $haystack),
            (2, 1) => $search::<2, 1>($teddy, $haystack),
            (2, 2) => $search::<2, 2>($teddy, $haystack),
            (2, _) => $search::<2, 4>($teddy, $haystack),
            (3, 1) => $search::<3, 1>($teddy, $haystack),
            (3, 2) => $search::<3, 2>($teddy, $haystack),
            (3, _) => $search::<3, 4>($teddy, $haystack),
            (_, 1) => $search::<4, 1>($teddy, $haystack),
            (_, 2) => $search::<4, 2>($teddy, $haystack),
            (_, _) => $search::<4, 4>($teddy, $haystack),
        }
    };
}

/// The leftmost position `from + i` (`i` a set bit of `lanes`) where a
/// pattern of a bucket of `buckets[g][i]` (bit `b`: bucket `g * 8 + b`)
/// occurs: the comparison step of both SIMD searches, after they stored
/// their per-group candidate bytes.
#[cfg(target_arch = "x86_64")]
#[inline]
fn first_in_lanes<const N: usize, const G: usize>(
    teddy: &Teddy,
    haystack: &[u8],
    from: usize,
    buckets: &[[u8; N]; G],
    mut lanes: u64,
) -> Option<usize> {
    while lanes != 0 {
        let i = lanes.trailing_zeros() as usize;
        lanes &= lanes - 1;
        let mut of_lane = 0u32;
        for (g, b) in buckets.iter().enumerate() {
            of_lane |= u32::from(b[i]) << (8 * g);
        }
        if teddy.verify(haystack, from + i, of_lane) {
            return Some(from + i);
        }
    }
    None
}

/// Writes a module `$name` with the SIMD search for one register width,
/// `$V` of `$step` bytes, under `#[target_feature(enable = $feature)]`
/// (with `pads_short = true`, texts shorter than a step are searched in a
/// padded copy; else the caller must not pass them): the
/// algorithm once, here, for both widths, with that instruction set's
/// intrinsics (`set1 = …` and so on) and two helpers written per set
/// (`nonzero_lanes`, `load_table`). The intrinsics are called directly, as
/// in a search written by hand for each set.
#[cfg(target_arch = "x86_64")]
macro_rules! simd_search {
    (
        $(#[$doc:meta])*
        mod $name:ident: $V:ty, $step:literal bytes, $feature:literal, pads_short = $pads_short:literal;
        set1 = $set1:ident, and = $and:ident, or = $or:ident, srli_epi16 = $srli:ident,
        shuffle_epi8 = $shuffle:ident, loadu = $loadu:ident, storeu = $storeu:ident;
        $($helpers:item)*
    ) => {
        $(#[$doc])*
        mod $name {
            use super::Teddy;
            use std::arch::x86_64::*;

            /// Bytes of text looked at per step.
            pub(super) const STEP: usize = $step;

            $($helpers)*

            /// [`Teddy::find`] with these instructions.
            ///
            /// # Safety
            /// The CPU must have the module's target features.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn find(teddy: &Teddy, haystack: &[u8]) -> Option<usize> {
                by_shape!(search, teddy, haystack)
            }

            /// The search with a fingerprint of `M` bytes and `G` groups (3
            /// groups run as 4, the fourth with empty tables).
            #[target_feature(enable = $feature)]
            fn search<const M: usize, const G: usize>(
                teddy: &Teddy,
                haystack: &[u8],
            ) -> Option<usize> {
                let zero = [[0u8; 32]; 2];
                let tables: [[[$V; 2]; M]; G] = std::array::from_fn(|g| {
                    std::array::from_fn(|j| {
                        let t = teddy.nibbles.get(g * M + j).filter(|_| g < teddy.groups);
                        let t = t.unwrap_or(&zero);
                        [load_table(&t[0]), load_table(&t[1])]
                    })
                });
                let window = STEP + M - 1;
                if $pads_short && haystack.len() < window {
                    // Too short for one step: a copy padded with zeros (the
                    // comparison reads the haystack itself, so the padding
                    // finds nothing).
                    let mut padded = [0u8; STEP + super::MAX_FINGERPRINT];
                    padded[..haystack.len()].copy_from_slice(haystack);
                    let found = candidates::<M, G>(&tables, &padded[..window]);
                    return first(teddy, haystack, 0, &found);
                }
                assert!(haystack.len() >= window);
                let last = haystack.len() - window;
                let mut at = 0;
                loop {
                    // The last step may go back over positions already
                    // looked at: none of them held a pattern, so the leftmost
                    // is still found.
                    let from = at.min(last);
                    let found = candidates::<M, G>(&tables, &haystack[from..from + window]);
                    if let Some(p) = first(teddy, haystack, from, &found) {
                        return Some(p);
                    }
                    if from == last {
                        return None;
                    }
                    at += STEP;
                }
            }

            /// Per group, the buckets that may have a pattern starting at
            /// each of the first `STEP` positions of `text` (`STEP + M - 1`
            /// bytes).
            #[target_feature(enable = $feature)]
            #[inline]
            fn candidates<const M: usize, const G: usize>(
                tables: &[[[$V; 2]; M]; G],
                text: &[u8],
            ) -> [$V; G] {
                assert!(text.len() >= STEP + M - 1);
                let low = $set1(0x0F);
                let mut found = [$set1(-1); G];
                for j in 0..M {
                    // SAFETY: `text[j..j + STEP]` is in bounds (asserted above).
                    let bytes = unsafe { $loadu(text.as_ptr().add(j).cast()) };
                    let lo = $and(bytes, low);
                    let hi = $and($srli::<4>(bytes), low);
                    for (f, group) in found.iter_mut().zip(tables) {
                        let t = &group[j];
                        let maybe = $and($shuffle(t[0], lo), $shuffle(t[1], hi));
                        *f = $and(*f, maybe);
                    }
                }
                found
            }

            /// The leftmost position `from + i` (i < `STEP`) where a
            /// candidate bucket's pattern occurs.
            #[target_feature(enable = $feature)]
            #[inline]
            fn first<const G: usize>(
                teddy: &Teddy,
                haystack: &[u8],
                from: usize,
                found: &[$V; G],
            ) -> Option<usize> {
                let mut any = found[0];
                for f in &found[1..] {
                    any = $or(any, *f);
                }
                let lanes = nonzero_lanes(any);
                if lanes == 0 {
                    return None;
                }
                let mut bytes = [[0u8; STEP]; G];
                for (out, f) in bytes.iter_mut().zip(found) {
                    // SAFETY: `out` is `STEP` writable bytes.
                    unsafe { $storeu(out.as_mut_ptr().cast(), *f) };
                }
                super::first_in_lanes(teddy, haystack, from, &bytes, lanes)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
simd_search! {
    /// The AVX2 search: 32 bytes a step.
    mod avx2: __m256i, 32 bytes, "avx2", pads_short = true;
    set1 = _mm256_set1_epi8, and = _mm256_and_si256, or = _mm256_or_si256,
    srli_epi16 = _mm256_srli_epi16, shuffle_epi8 = _mm256_shuffle_epi8,
    loadu = _mm256_loadu_si256, storeu = _mm256_storeu_si256;

    /// Bit `i` set where byte `i` is not zero.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn nonzero_lanes(a: __m256i) -> u64 {
        let zero = _mm256_movemask_epi8(_mm256_cmpeq_epi8(a, _mm256_setzero_si256())) as u32;
        u64::from(!zero)
    }

    /// A nibble table: its 16 entries twice, one per 128-bit lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn load_table(t: &[u8; 32]) -> __m256i {
        // SAFETY: 32 readable bytes.
        unsafe { _mm256_loadu_si256(t.as_ptr().cast()) }
    }
}

#[cfg(target_arch = "x86_64")]
simd_search! {
    /// The AVX-512 search (F and BW): 64 bytes a step, for texts of at least
    /// `STEP + 3` bytes (shorter ones take the AVX2 path).
    mod avx512: __m512i, 64 bytes, "avx512f,avx512bw", pads_short = false;
    set1 = _mm512_set1_epi8, and = _mm512_and_si512, or = _mm512_or_si512,
    srli_epi16 = _mm512_srli_epi16, shuffle_epi8 = _mm512_shuffle_epi8,
    loadu = _mm512_loadu_si512, storeu = _mm512_storeu_si512;

    /// Bit `i` set where byte `i` is not zero.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    fn nonzero_lanes(a: __m512i) -> u64 {
        _mm512_test_epi8_mask(a, a)
    }

    /// A nibble table: the first 16 entries of `t` in each 128-bit lane.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    fn load_table(t: &[u8; 32]) -> __m512i {
        // SAFETY: 16 readable bytes.
        let half = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        _mm512_broadcast_i32x4(half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leftmost start of any pattern, by brute force.
    fn brute(patterns: &[Vec<u8>], text: &[u8]) -> Option<usize> {
        (0..text.len()).find(|&p| {
            patterns.iter().any(|pat| {
                text.get(p..p + pat.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(pat))
            })
        })
    }

    use detect_test_support::XorShift64 as Rng;

    #[test]
    fn finds_the_leftmost_occurrence_in_either_case() {
        let t = Teddy::new(&["sekurlsa::", "lsadump::", "kiwi"]).unwrap();
        for text in [
            &b"x LSADUMP:: sekurlsa::"[..],
            b"KiWi lsadump::",
            b"kiw",
            b"",
        ] {
            let want = brute(
                &[
                    b"sekurlsa::".to_vec(),
                    b"lsadump::".to_vec(),
                    b"kiwi".to_vec(),
                ],
                text,
            );
            assert_eq!(t.find(text), want, "{}", String::from_utf8_lossy(text));
            assert_eq!(t.find_bytewise(text), want);
        }
    }

    #[test]
    fn punctuation_next_to_letters_is_not_taken_for_a_letter() {
        // `@` (0x40) and `[` (0x5B) have the high nibbles of `A`-`O` and
        // `P`-`Z`: the tables may let them through, the comparison not.
        let t = Teddy::new(&["a[b", "@z"]).unwrap();
        assert_eq!(t.find(b"A@B `z"), None);
        // NUL bytes look like the padding of a short text.
        let nul = Teddy::new(&["\0\0\0\0\0"]).unwrap();
        assert_eq!(nul.find(b""), None);
        assert_eq!(nul.find(b"x\0\0\0\0\0"), Some(1));
        assert_eq!(t.find(b"xxA[Bxx"), Some(2));
        assert_eq!(t.find(b"@Z"), Some(0));
    }

    /// Random pattern sets of 1 to 300 patterns (so 1 to 4 groups and
    /// fingerprints of 1 to 4 bytes) over a small alphabet with both cases
    /// and punctuation, and texts long and short: the AVX2 path, the
    /// bytewise path and brute force agree.
    #[test]
    fn random_patterns_and_texts_agree_with_brute_force() {
        let alphabet = b"aAbBzZ:@[`{.\\ 09\x00";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..400 {
            let n = 1 + rng.below(if round % 4 == 0 { 300 } else { 40 });
            let shortest = 1 + rng.below(5);
            let patterns: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = shortest + rng.below(6);
                    (0..len)
                        .map(|_| alphabet[rng.below(alphabet.len() - 1)])
                        .collect()
                })
                .collect();
            let teddy = Teddy::new(&patterns).unwrap();
            // The AVX2 path on long texts too, where AVX-512 would take them.
            let avx2 = Teddy {
                avx512: false,
                ..teddy.clone()
            };
            for _ in 0..20 {
                let max = if rng.below(2) == 0 { 40 } else { 300 };
                let len = rng.below(max);
                let text: Vec<u8> = (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect();
                let want = brute(&patterns, &text);
                assert_eq!(teddy.find(&text), want, "{patterns:?} {text:?}");
                assert_eq!(avx2.find(&text), want, "{patterns:?} {text:?}");
                assert_eq!(teddy.find_bytewise(&text), want);
            }
        }
    }

    #[test]
    fn a_pattern_at_every_position_of_long_texts_is_found() {
        let t = Teddy::new(&["needle", "pin"]).unwrap();
        let avx2 = Teddy {
            avx512: false,
            ..t.clone()
        };
        for len in [
            6, 30, 31, 32, 33, 36, 37, 63, 64, 65, 66, 67, 68, 100, 127, 128, 129, 200,
        ] {
            for at in 0..=len - 6 {
                let mut text = vec![b'x'; len];
                text[at..at + 6].copy_from_slice(b"NeEdLe");
                assert_eq!(t.find(&text), Some(at), "len {len} at {at}");
                assert_eq!(avx2.find(&text), Some(at), "len {len} at {at}");
                assert_eq!(t.find_bytewise(&text), Some(at), "len {len} at {at}");
            }
        }
    }

    #[test]
    fn patterns_must_be_ascii_and_not_empty() {
        let none: [&str; 0] = [];
        assert_eq!(Teddy::new(&none).unwrap_err(), TeddyError::Empty);
        assert_eq!(Teddy::new(&["a", ""]).unwrap_err(), TeddyError::Empty);
        assert_eq!(Teddy::new(&["\u{e9}"]).unwrap_err(), TeddyError::NotAscii);
    }
}
