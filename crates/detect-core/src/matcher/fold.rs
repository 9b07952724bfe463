//! Case folding and case-insensitive search: the string tests of rules
//! (equality, prefix, suffix, substring) and the folding of their needles.
//!
//! It exists apart from the other primitives because every string test and
//! the wildcard matcher build on it, and because its fast paths need the
//! argument below.
//!
//! Case-insensitive comparisons use Unicode *simple* lowercase folding, one
//! character at a time (see [`fold_char`]): `Ä` matches `ä`, the KELVIN SIGN
//! `K` matches `k`, `İ` matches `i`, but `ß` only matches `ß` (full case
//! folding to `ss` is not applied). The `_ci` functions and [`glob`] with
//! `ci = true` expect their needles to be **already folded** (with [`fold`],
//! at compile time); only the haystack is folded, on the fly.
//!
//! Because folding can change the UTF-8 length of a character (U+212A is
//! three bytes, `k` one), matching is defined on character sequences, never
//! on byte lengths. The fast paths work on bytes only where that is provably
//! equivalent:
//!
//! * an ASCII character folds to an ASCII character, and the only non-ASCII
//!   characters that fold to ASCII are U+0130 (`İ` → `i`) and U+212A (KELVIN
//!   SIGN → `k`). So for an ASCII needle and a haystack without those two
//!   characters, an ASCII case-insensitive byte search (accelerated with
//!   `memchr`) gives exactly the character-level answer;
//! * comparisons at a fixed position (equality, prefix, suffix) compare bytes
//!   in lockstep while both sides are ASCII and switch to a per-character walk
//!   at the first non-ASCII byte.
use memchr::{memchr, memchr2};

/// Folds one character to its Unicode simple lowercase mapping.
///
/// ASCII characters take a fast path; other characters map to the first
/// character of [`char::to_lowercase`], which is the simple lowercase mapping
/// (for `İ` U+0130, whose full mapping is `i` + U+0307, this is `i`).
///
/// ```
/// use detect_core::matcher::fold_char;
/// assert_eq!(fold_char('A'), 'a');
/// assert_eq!(fold_char('Ä'), 'ä');
/// assert_eq!(fold_char('\u{212A}'), 'k'); // KELVIN SIGN
/// assert_eq!(fold_char('İ'), 'i');
/// assert_eq!(fold_char('ß'), 'ß');
/// ```
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Folds a whole pattern with [`fold_char`] (compile time: allocates).
///
/// The code generator applies this to the needles of case-insensitive tests.
///
/// ```
/// use detect_core::matcher::fold;
/// assert_eq!(fold("C:\\Windows\\ÄÖÜ\u{212A}"), "c:\\windows\\äöük");
/// ```
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// True when the UTF-8 text `h` contains U+0130 or U+212A, the only non-ASCII
/// characters whose simple lowercase mapping is ASCII: an ASCII
/// case-insensitive byte search (Aho-Corasick's, for one) is exact on any
/// other text. Found with `memchr` on their lead bytes, so it costs little
/// on long texts.
///
/// ```
/// use detect_core::matcher::has_nonascii_folding_to_ascii;
/// assert!(has_nonascii_folding_to_ascii("\u{212A}ey".as_bytes()));
/// assert!(has_nonascii_folding_to_ascii("İ".as_bytes()));
/// assert!(!has_nonascii_folding_to_ascii("Ä ÿ → ok".as_bytes()));
/// ```
#[inline]
pub fn has_nonascii_folding_to_ascii(h: &[u8]) -> bool {
    // Most values are ASCII: checking that first (a word at a time) costs
    // less than a `memchr2` call on the short values rules mostly test.
    if h.is_ascii() {
        return false;
    }
    // U+0130 is C4 B0, U+212A is E2 84 AA.
    let mut i = 0;
    while let Some(off) = memchr2(0xC4, 0xE2, &h[i..]) {
        let p = i + off;
        let hit = if h[p] == 0xC4 {
            h.get(p + 1) == Some(&0xB0)
        } else {
            h.get(p + 1) == Some(&0x84) && h.get(p + 2) == Some(&0xAA)
        };
        if hit {
            return true;
        }
        i = p + 1;
    }
    false
}

/// Length in bytes of the character starting at byte `i` of `s` (1 at the end).
#[inline]
pub(super) fn char_len_at(s: &str, i: usize) -> usize {
    s[i..].chars().next().map_or(1, char::len_utf8)
}

/// If `hay` starts with `needle` (folded) case-insensitively, the byte length
/// of the matching prefix of `hay`.
#[inline]
pub(super) fn prefix_len_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    // Eight ASCII bytes at a time, then byte by byte.
    let mut i = 0;
    while i + 8 <= n.len() && i + 8 <= h.len() {
        let (a, b) = (word_at(h, i), word_at(n, i));
        if (a | b) & HIGH_BITS != 0 {
            break;
        }
        if ascii_lower_word(a) != b {
            return None;
        }
        i += 8;
    }
    // Lockstep over ASCII bytes: both prefixes are whole characters.
    while i < n.len() {
        let b = n[i];
        let a = *h.get(i)?;
        if a >= 0x80 || b >= 0x80 {
            break;
        }
        if a.to_ascii_lowercase() != b {
            return None;
        }
        i += 1;
    }
    if i == n.len() {
        return Some(i);
    }
    // Bytes before `i` were ASCII on both sides, so `i` is a char boundary.
    let mut pos = i;
    for nc in needle[i..].chars() {
        let hc = hay[pos..].chars().next()?;
        if fold_char(hc) != nc {
            return None;
        }
        pos += hc.len_utf8();
    }
    Some(pos)
}

/// The top bit of every byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The 8 bytes of `b` at `i` as a little-endian word (`i + 8 <= b.len()`).
#[inline]
fn word_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Every ASCII upper-case letter of the word's bytes lowered, every other
/// byte as it is (eight `to_ascii_lowercase` at once).
#[inline]
fn ascii_lower_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (0x7F * ONES);
    // Per byte, the top bit says: low 7 bits >= 'A', and > 'Z'.
    let ge_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let gt_z = low7 + (0x7F - u64::from(b'Z')) * ONES;
    let upper = (ge_a ^ gt_z) & !x & HIGH_BITS;
    x | (upper >> 2)
}

/// Whether `h` equals `folded` ignoring ASCII case, where every ASCII
/// letter of `folded` is lower case (a needle folded with [`fold`], a
/// lowercase name): `eq_ignore_ascii_case` eight bytes at a time.
///
/// ```
/// use detect_core::matcher::eq_ascii_ci_folded;
/// assert!(eq_ascii_ci_folded(b"Microsoft-Windows-Sysmon/Operational", b"microsoft-windows-sysmon/operational"));
/// assert!(!eq_ascii_ci_folded(b"Security", b"securitx"));
/// assert!(!eq_ascii_ci_folded(b"Security", b"security "));
/// ```
#[inline]
pub fn eq_ascii_ci_folded(h: &[u8], folded: &[u8]) -> bool {
    if h.len() != folded.len() {
        return false;
    }
    let mut i = 0;
    while i + 8 <= h.len() {
        if ascii_lower_word(word_at(h, i)) != word_at(folded, i) {
            return false;
        }
        i += 8;
    }
    h[i..]
        .iter()
        .zip(&folded[i..])
        .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// ASCII case-insensitive byte search of a non-empty, folded ASCII needle.
///
/// `h` may contain non-ASCII bytes; they never match an ASCII needle byte.
#[inline]
fn ascii_find_ci(h: &[u8], n: &[u8]) -> Option<usize> {
    debug_assert!(!n.is_empty());
    find_anchored(h, n, n.iter().any(u8::is_ascii_alphabetic))
}

/// Leftmost byte search of a non-empty needle, ASCII-case-insensitive when
/// `ci` (the needle then folded), anchored on the needle's rarest byte.
///
/// Search for the needle's rarest byte (by a rough frequency rank for
/// command lines and paths) rather than its first: `-encodedcommand`
/// anchored on `-` stops at every option of a command line, on `y` hardly
/// ever. Anchor positions come in order, so the first verified window is the
/// leftmost match. Unlike `memchr::memmem::find`, nothing is built per call:
/// rules test short needles against short values, where building a searcher
/// for every test cost more than the search (seen in the peer benchmark's
/// profile of the SigmaHQ corpus).
#[inline]
pub(super) fn find_anchored(h: &[u8], n: &[u8], ci: bool) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    if h.len() < n.len() {
        return None;
    }
    let k = (0..n.len()).min_by_key(|&i| byte_rank(n[i])).unwrap_or(0);
    let a = n[k];
    let end = h.len() - n.len() + k;
    let mut pos = k;
    while pos <= end {
        let window = &h[pos..=end];
        let off = if ci && a.is_ascii_alphabetic() {
            memchr2(a, a.to_ascii_uppercase(), window)?
        } else {
            memchr(a, window)?
        };
        let s = pos + off - k;
        let candidate = &h[s..s + n.len()];
        if (ci && eq_ascii_ci_folded(candidate, n)) || (!ci && candidate == n) {
            return Some(s);
        }
        pos += off + 1;
    }
    None
}

/// How common a byte is in command lines, paths and scripts (ASCII letters
/// case-insensitively): higher is more common; bytes not listed count as
/// rare (0).
#[inline]
fn byte_rank(b: u8) -> u8 {
    static RANK: [u8; 256] = {
        const COMMON: &[u8] = b"kvjwybgf\"0987654321x:/-.\\mpuhdclrsnioate ";
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < COMMON.len() {
            let c = COMMON[i];
            table[c as usize] = i as u8 + 1;
            table[c.to_ascii_uppercase() as usize] = i as u8 + 1;
            i += 1;
        }
        table
    };
    RANK[b as usize]
}

/// Character-walking case-insensitive search: the byte range of the leftmost match.
fn slow_find_ci(hay: &str, needle: &str) -> Option<(usize, usize)> {
    let first = needle.chars().next()?;
    for (i, c) in hay.char_indices() {
        if fold_char(c) == first
            && let Some(len) = prefix_len_ci(&hay[i..], needle)
        {
            return Some((i, i + len));
        }
    }
    None
}

/// What is known about a haystack, computed once per call of [`glob`](fn@super::glob).
#[derive(Clone, Copy)]
pub(super) struct HayInfo {
    /// The haystack is all ASCII.
    pub(super) ascii: bool,
    /// ASCII case-insensitive byte search is exact for ASCII needles.
    pub(super) ascii_exact: bool,
}

impl HayInfo {
    #[inline]
    pub(super) fn new(hay: &str) -> HayInfo {
        let ascii = hay.is_ascii();
        HayInfo {
            ascii,
            ascii_exact: ascii || !has_nonascii_folding_to_ascii(hay.as_bytes()),
        }
    }
}

/// Case-insensitive search of a folded, non-empty needle: byte range of the leftmost match.
#[inline]
pub(super) fn find_ci(hay: &str, needle: &str, info: HayInfo) -> Option<(usize, usize)> {
    if needle.is_ascii() {
        if info.ascii_exact {
            return ascii_find_ci(hay.as_bytes(), needle.as_bytes()).map(|s| (s, s + needle.len()));
        }
    } else if info.ascii {
        // ASCII characters fold to ASCII: a non-ASCII needle cannot match.
        return None;
    }
    slow_find_ci(hay, needle)
}

/// Case-insensitive equality; `needle_folded` must already be folded with [`fold`].
///
/// ```
/// use detect_core::matcher::eq_ci;
/// assert!(eq_ci("CMD.EXE", "cmd.exe"));
/// assert!(eq_ci("ÄRGER", "ärger"));
/// assert!(!eq_ci("cmd.exe ", "cmd.exe"));
/// ```
#[inline]
pub fn eq_ci(hay: &str, needle_folded: &str) -> bool {
    prefix_len_ci(hay, needle_folded) == Some(hay.len())
}

/// Case-insensitive prefix test; `needle_folded` must already be folded with [`fold`].
///
/// ```
/// use detect_core::matcher::starts_with_ci;
/// assert!(starts_with_ci("C:\\Windows\\System32", "c:\\windows\\"));
/// assert!(starts_with_ci("anything", ""));
/// assert!(!starts_with_ci("C:", "c:\\"));
/// ```
#[inline]
pub fn starts_with_ci(hay: &str, needle_folded: &str) -> bool {
    prefix_len_ci(hay, needle_folded).is_some()
}

/// Case-insensitive suffix test; `needle_folded` must already be folded with [`fold`].
///
/// ```
/// use detect_core::matcher::ends_with_ci;
/// assert!(ends_with_ci("C:\\Windows\\System32\\CMD.EXE", "\\cmd.exe"));
/// assert!(ends_with_ci("STRAẞE", "straße")); // ẞ U+1E9E folds to ß
/// assert!(!ends_with_ci("cmd.exe", "\\cmd.exe"));
/// ```
#[inline]
pub fn ends_with_ci(hay: &str, needle_folded: &str) -> bool {
    let h = hay.as_bytes();
    let n = needle_folded.as_bytes();
    let mut k = 0;
    // Lockstep from the end over ASCII bytes.
    loop {
        if k == n.len() {
            return true;
        }
        if k == h.len() {
            return false;
        }
        let a = h[h.len() - 1 - k];
        let b = n[n.len() - 1 - k];
        if a >= 0x80 || b >= 0x80 {
            break;
        }
        if a.to_ascii_lowercase() != b {
            return false;
        }
        k += 1;
    }
    // The last `k` bytes of both were ASCII, so these are char boundaries.
    let mut hc = hay[..h.len() - k].chars().rev();
    for nc in needle_folded[..n.len() - k].chars().rev() {
        match hc.next() {
            Some(c) if fold_char(c) == nc => {}
            _ => return false,
        }
    }
    true
}

/// Case-insensitive substring test; `needle_folded` must already be folded with [`fold`].
///
/// ASCII needles use a `memchr`-accelerated byte search unless the haystack
/// contains one of the two non-ASCII characters that fold to ASCII.
///
/// ```
/// use detect_core::matcher::contains_ci;
/// assert!(contains_ci("powershell.exe -EncodedCommand", "-encodedcommand"));
/// assert!(contains_ci("Grüße aus MÜNCHEN", "münchen"));
/// assert!(contains_ci("\u{212A}ernel", "kern")); // KELVIN SIGN
/// assert!(!contains_ci("cmd", "cmd.exe"));
/// ```
#[inline]
pub fn contains_ci(hay: &str, needle_folded: &str) -> bool {
    if needle_folded.is_empty() {
        return true;
    }
    if needle_folded.is_ascii() {
        if !has_nonascii_folding_to_ascii(hay.as_bytes()) {
            return ascii_find_ci(hay.as_bytes(), needle_folded.as_bytes()).is_some();
        }
    } else if hay.is_ascii() {
        return false;
    }
    slow_find_ci(hay, needle_folded).is_some()
}

/// Case-sensitive substring test (a rare-byte anchored search, no per-call setup).
///
/// For case-sensitive equality, prefix and suffix tests generated code uses
/// `==`, [`str::starts_with`] and [`str::ends_with`] directly.
///
/// ```
/// use detect_core::matcher::contains;
/// assert!(contains("rundll32.exe javascript:", "javascript:"));
/// assert!(!contains("rundll32.exe JAVASCRIPT:", "javascript:"));
/// assert!(contains("abc", ""));
/// ```
#[inline]
pub fn contains(hay: &str, needle: &str) -> bool {
    find_anchored(hay.as_bytes(), needle.as_bytes(), false).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::GlobTok::{self, AnyRun};
    use crate::matcher::glob;
    use crate::matcher::test_text::{Rng, fold_vec, random_string};

    /// A borrowed literal token, short for the glob cross-checks below.
    #[allow(non_snake_case)]
    const fn Lit(text: &str) -> GlobTok<'_> {
        GlobTok::lit(text)
    }

    #[test]
    fn word_at_a_time_ascii_folding_agrees_with_bytewise() {
        // Every byte value through the word lowering, at every lane.
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut w = [b'x'; 8];
                w[lane] = b;
                let mut expected = w;
                expected[lane] = b.to_ascii_lowercase();
                assert_eq!(
                    ascii_lower_word(u64::from_le_bytes(w)),
                    u64::from_le_bytes(expected),
                    "byte {b:#04x} in lane {lane}"
                );
            }
        }
        // Equality, prefix, suffix and search against byte-wise versions,
        // over strings of every length up to 40 that differ in case, in
        // one byte, or by a non-ASCII character, at every position.
        let base = r"C:\Windows\System32\WindowsPowerShell\v1.0\";
        for len in 0..=40 {
            let hay: String = base.chars().take(len).collect();
            let folded = fold(&hay);
            assert!(eq_ascii_ci_folded(hay.as_bytes(), folded.as_bytes()));
            assert!(eq_ci(&hay, &folded) && starts_with_ci(&hay, &folded));
            for at in 0..len {
                for replacement in ["X", "é", "\u{212A}"] {
                    let mut other = folded.clone().into_bytes();
                    other.truncate(at);
                    let mut other = String::from_utf8(other).unwrap();
                    other.push_str(&fold(replacement));
                    other.push_str(&folded[at + 1..]);
                    let naive = hay.as_bytes().eq_ignore_ascii_case(other.as_bytes());
                    if other.is_ascii() {
                        assert_eq!(
                            eq_ascii_ci_folded(hay.as_bytes(), other.as_bytes()),
                            naive,
                            "{hay:?} {other:?}"
                        );
                    }
                    let by_chars = hay.chars().map(fold_char).eq(other.chars());
                    assert_eq!(eq_ci(&hay, &other), by_chars, "{hay:?} {other:?}");
                    let prefix = hay
                        .chars()
                        .map(fold_char)
                        .collect::<String>()
                        .starts_with(&other);
                    assert_eq!(starts_with_ci(&hay, &other), prefix, "{hay:?} {other:?}");
                    let found = hay.to_ascii_lowercase().contains(&other);
                    if other.is_ascii() && !other.is_empty() {
                        assert_eq!(contains_ci(&hay, &other), found, "{hay:?} {other:?}");
                    }
                }
            }
        }
    }

    fn ref_find(hay: &str, needle: &str) -> Option<usize> {
        let h = fold_vec(hay, true);
        let n: Vec<char> = needle.chars().collect();
        (0..=h.len()).find(|&i| h.len() - i >= n.len() && h[i..i + n.len()] == n[..])
    }

    // ---- folding -----------------------------------------------------------

    #[test]
    fn fold_char_table() {
        let cases = [
            ('A', 'a'),
            ('z', 'z'),
            ('1', '1'),
            ('Ä', 'ä'),
            ('ä', 'ä'),
            ('ß', 'ß'),
            ('ẞ', 'ß'),
            ('İ', 'i'),
            ('I', 'i'),
            ('ı', 'ı'),
            ('\u{212A}', 'k'),
            ('\u{212B}', 'å'),
            ('Σ', 'σ'),
            ('ς', 'ς'),
            ('Ω', 'ω'),
            ('Ж', 'ж'),
            ('\u{23A}', '\u{2C65}'),
            ('€', '€'),
        ];
        for (c, f) in cases {
            assert_eq!(fold_char(c), f, "fold_char({c:?})");
        }
        assert_eq!(
            fold("ÄÖÜ straße İSTANBUL \u{212A}"),
            "äöü straße istanbul k"
        );
    }

    #[test]
    fn only_two_non_ascii_chars_fold_to_ascii() {
        let mut found = Vec::new();
        for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            if fold_char(c).is_ascii() {
                found.push(c);
            }
        }
        assert_eq!(found, vec!['\u{130}', '\u{212A}']);
        assert!(has_nonascii_folding_to_ascii("x\u{130}".as_bytes()));
        assert!(has_nonascii_folding_to_ascii("\u{212A}".as_bytes()));
        assert!(!has_nonascii_folding_to_ascii(
            "\u{2013}Ä\u{2129}ĳ".as_bytes()
        ));
        assert!(!has_nonascii_folding_to_ascii(b""));
    }

    // ---- fixed-position and substring tests --------------------------------

    #[test]
    fn ci_table() {
        // (hay, folded needle, eq, starts, ends, contains)
        let cases: &[(&str, &str, bool, bool, bool, bool)] = &[
            ("", "", true, true, true, true),
            ("abc", "", false, true, true, true),
            ("", "a", false, false, false, false),
            ("ABC", "abc", true, true, true, true),
            ("xABCx", "abc", false, false, false, true),
            ("ABCx", "abc", false, true, false, true),
            ("xABC", "abc", false, false, true, true),
            ("ab", "abc", false, false, false, false),
            ("ÄRGER", "ärger", true, true, true, true),
            ("ärger", "Ärger", false, false, false, false), // needle not folded: no match
            ("STRASSE", "straße", false, false, false, false),
            ("STRAẞE", "straße", true, true, true, true),
            ("İSTANBUL", "istanbul", true, true, true, true),
            ("\u{212A}ELVIN", "kelvin", true, true, true, true),
            ("\u{212A}", "k", true, true, true, true),
            ("k", "\u{212A}", false, false, false, false),
            ("ΣΊΣΥΦΟΣ", "σίσυφοσ", true, true, true, true),
            ("σίσυφος", "σίσυφοσ", false, false, false, false), // final sigma stays
            ("€abc€", "abc", false, false, false, true),
            ("€ABC", "€abc", true, true, true, true),
            ("x€ABC€y", "€abc€", false, false, false, true),
            ("ääBÄä", "bää", false, false, true, true),
            ("ÄBä", "äb", false, true, false, true),
            ("\u{23A}x", "\u{2C65}x", true, true, true, true),
            ("a\u{23A}", "\u{2C65}", false, false, true, true),
            ("aaab", "aab", false, false, true, true),
            ("aaa", "aab", false, false, false, false),
            ("𝄞A𝄞", "a", false, false, false, true),
            (
                "C:\\WINDOWS\\SYSTEM32\\CMD.EXE",
                "\\cmd.exe",
                false,
                false,
                true,
                true,
            ),
            ("12-34", "-3", false, false, false, true),
            ("12\u{2013}34", "\u{2013}3", false, false, false, true),
            ("Ab\u{130}", "abi", true, true, true, true),
            ("xx\u{130}Ab", "iab", false, false, true, true),
            ("i\u{307}", "i", false, true, false, true),
        ];
        for &(hay, needle, eq, sw, ew, co) in cases {
            assert_eq!(eq_ci(hay, needle), eq, "eq_ci({hay:?}, {needle:?})");
            assert_eq!(
                starts_with_ci(hay, needle),
                sw,
                "starts_with_ci({hay:?}, {needle:?})"
            );
            assert_eq!(
                ends_with_ci(hay, needle),
                ew,
                "ends_with_ci({hay:?}, {needle:?})"
            );
            assert_eq!(
                contains_ci(hay, needle),
                co,
                "contains_ci({hay:?}, {needle:?})"
            );
        }
    }

    #[test]
    fn contains_case_sensitive() {
        let cases = [
            ("", "", true),
            ("abc", "", true),
            ("", "a", false),
            ("abc", "bc", true),
            ("abc", "BC", false),
            ("Grüße", "üß", true),
            ("aaab", "aab", true),
        ];
        for (hay, needle, want) in cases {
            assert_eq!(contains(hay, needle), want, "contains({hay:?}, {needle:?})");
        }
    }

    #[test]
    fn ci_differential() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut positives = [0usize; 4];
        for round in 0..4000 {
            let hay = random_string(&mut rng, 10);
            // Half the needles are folded substrings of the haystack.
            let needle = if round % 2 == 0 {
                fold(&random_string(&mut rng, 3))
            } else {
                let chars: Vec<char> = hay.chars().collect();
                let a = rng.below(chars.len() + 1);
                let b = a + rng.below(chars.len() - a + 1);
                fold(&chars[a..b].iter().collect::<String>())
            };
            let h = fold_vec(&hay, true);
            let n: Vec<char> = needle.chars().collect();
            let want_eq = h == n;
            let want_sw = h.starts_with(&n);
            let want_ew = h.ends_with(&n);
            let want_co = ref_find(&hay, &needle).is_some();
            for (count, hit) in positives
                .iter_mut()
                .zip([want_eq, want_sw, want_ew, want_co])
            {
                *count += usize::from(hit);
            }
            assert_eq!(eq_ci(&hay, &needle), want_eq, "eq_ci({hay:?}, {needle:?})");
            assert_eq!(
                starts_with_ci(&hay, &needle),
                want_sw,
                "starts_with_ci({hay:?}, {needle:?})"
            );
            assert_eq!(
                ends_with_ci(&hay, &needle),
                want_ew,
                "ends_with_ci({hay:?}, {needle:?})"
            );
            assert_eq!(
                contains_ci(&hay, &needle),
                want_co,
                "contains_ci({hay:?}, {needle:?})"
            );
            // The glob forms of the same tests agree too.
            assert_eq!(glob(&hay, &[Lit(&needle)], true), want_eq);
            assert_eq!(glob(&hay, &[Lit(&needle), AnyRun], true), want_sw);
            assert_eq!(glob(&hay, &[AnyRun, Lit(&needle)], true), want_ew);
            assert_eq!(glob(&hay, &[AnyRun, Lit(&needle), AnyRun], true), want_co);
            assert_eq!(contains(&hay, &needle), hay.contains(needle.as_str()));
        }
        assert!(positives.iter().all(|&c| c >= 200), "{positives:?}");
    }
}
