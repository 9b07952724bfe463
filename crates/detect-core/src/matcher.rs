//! Allocation-free matching primitives called by generated code on the hot path.
//!
//! Every function here that is not explicitly marked *compile time* performs no
//! heap allocation: the code generator emits calls to them with `'static`
//! literals, and the event supplies borrowed `&str` values.
//!
//! # Case-insensitive matching
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

use std::net::IpAddr;

use memchr::{memchr, memchr2};

use crate::ir::{Cidr, NumOp, Number, TimePart};

// ---------------------------------------------------------------------------
// Case folding
// ---------------------------------------------------------------------------

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
fn char_len_at(s: &str, i: usize) -> usize {
    s[i..].chars().next().map_or(1, char::len_utf8)
}

/// If `hay` starts with `needle` (folded) case-insensitively, the byte length
/// of the matching prefix of `hay`.
#[inline]
fn prefix_len_ci(hay: &str, needle: &str) -> Option<usize> {
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
fn find_anchored(h: &[u8], n: &[u8], ci: bool) -> Option<usize> {
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

/// What is known about a haystack, computed once per call of [`glob`].
#[derive(Clone, Copy)]
struct HayInfo {
    /// The haystack is all ASCII.
    ascii: bool,
    /// ASCII case-insensitive byte search is exact for ASCII needles.
    ascii_exact: bool,
}

impl HayInfo {
    #[inline]
    fn new(hay: &str) -> HayInfo {
        let ascii = hay.is_ascii();
        HayInfo {
            ascii,
            ascii_exact: ascii || !has_nonascii_folding_to_ascii(hay.as_bytes()),
        }
    }
}

/// Case-insensitive search of a folded, non-empty needle: byte range of the leftmost match.
#[inline]
fn find_ci(hay: &str, needle: &str, info: HayInfo) -> Option<(usize, usize)> {
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

// ---------------------------------------------------------------------------
// Wildcards
// ---------------------------------------------------------------------------

/// One token of a wildcard pattern. The literal is a `Cow` so that generated
/// code can keep patterns in `static` arrays (borrowed) and rules compiled at
/// run time can own theirs.
///
/// ```
/// use detect_core::matcher::GlobTok;
/// static PAT: &[GlobTok<'static>] = &[GlobTok::lit("c:\\"), GlobTok::AnyRun, GlobTok::lit(".exe")];
/// assert_eq!(PAT.len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobTok<'a> {
    /// Literal text (already folded when the pattern is case-insensitive).
    Lit(std::borrow::Cow<'a, str>),
    /// `?`: exactly one character (Unicode scalar value).
    AnyChar,
    /// `*`: any run of characters, possibly empty.
    AnyRun,
}

impl<'a> GlobTok<'a> {
    /// A borrowed literal token (usable in `static` arrays).
    pub const fn lit(text: &'a str) -> GlobTok<'a> {
        GlobTok::Lit(std::borrow::Cow::Borrowed(text))
    }
}

/// If `lit` matches at the start of `hay`, the byte length of the match.
#[inline]
fn lit_prefix_len(hay: &str, lit: &str, ci: bool) -> Option<usize> {
    if ci {
        prefix_len_ci(hay, lit)
    } else if hay.starts_with(lit) {
        Some(lit.len())
    } else {
        None
    }
}

/// Matches a `*`-free segment at byte `pos`; returns the end of the match.
#[inline]
fn match_segment_at(hay: &str, pos: usize, seg: &[GlobTok<'_>], ci: bool) -> Option<usize> {
    let mut p = pos;
    for tok in seg {
        match tok {
            GlobTok::Lit(l) => p += lit_prefix_len(&hay[p..], l, ci)?,
            GlobTok::AnyChar => p += hay[p..].chars().next()?.len_utf8(),
            // Segments are split on `AnyRun`, so this cannot occur.
            GlobTok::AnyRun => {}
        }
    }
    Some(p)
}

/// Number of characters a `*`-free segment matches (folding preserves it).
#[inline]
fn segment_chars(seg: &[GlobTok<'_>]) -> usize {
    seg.iter()
        .map(|t| match t {
            GlobTok::Lit(l) => l.chars().count(),
            GlobTok::AnyChar => 1,
            GlobTok::AnyRun => 0,
        })
        .sum()
}

/// Byte offset of the start of the last `n` characters of `s`.
#[inline]
fn start_of_last_chars(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        Some(s.len())
    } else {
        s.char_indices().rev().nth(n - 1).map(|(i, _)| i)
    }
}

/// Leftmost match of a non-empty `*`-free segment in `hay` starting at or
/// after byte `from`; returns the end of the match.
fn find_segment(
    hay: &str,
    from: usize,
    seg: &[GlobTok<'_>],
    ci: bool,
    info: HayInfo,
) -> Option<usize> {
    if let Some(GlobTok::Lit(lit)) = seg.first()
        && !lit.is_empty()
    {
        // Jump between occurrences of the leading literal.
        let mut p = from;
        while p < hay.len() {
            let rest = &hay[p..];
            let (s, e) = if ci {
                find_ci(rest, lit, info)?
            } else {
                let s = find_anchored(rest.as_bytes(), lit.as_bytes(), false)?;
                (s, s + lit.len())
            };
            let (s, e) = (p + s, p + e);
            if let Some(end) = match_segment_at(hay, e, &seg[1..], ci) {
                return Some(end);
            }
            p = s + char_len_at(hay, s);
        }
        None
    } else {
        // Starts with `?` (or an empty literal): try every position.
        let mut p = from;
        loop {
            if let Some(end) = match_segment_at(hay, p, seg, ci) {
                return Some(end);
            }
            if p >= hay.len() {
                return None;
            }
            p += char_len_at(hay, p);
        }
    }
}

/// Whole-string wildcard match.
///
/// `toks` is the parsed pattern; with `ci` the literals must already be
/// folded with [`fold`] and the haystack is folded on the fly. `?` matches
/// exactly one character (Unicode scalar value), `*` any run of characters.
///
/// The pattern is split at `*` into segments of fixed character length: the
/// first is anchored at the start, the last at the end, and the middle ones
/// are placed leftmost-first, which is optimal for such segments. The worst
/// case is O(|hay| · |pattern|) with no backtracking between segments and no
/// allocation.
///
/// ```
/// use detect_core::matcher::{glob, GlobTok, GlobTok::*};
/// let pat = [GlobTok::lit("c:\\"), AnyRun, GlobTok::lit("\\cmd.ex"), AnyChar];
/// assert!(glob("C:\\Windows\\System32\\CMD.EXE", &pat, true));
/// assert!(!glob("C:\\Windows\\System32\\CMD.EXE", &pat, false));
/// assert!(glob("ä", &[AnyChar], false));
/// ```
pub fn glob(hay: &str, toks: &[GlobTok<'_>], ci: bool) -> bool {
    let mut segs = toks.split(|t| matches!(t, GlobTok::AnyRun));
    // `split` always yields at least one (possibly empty) slice.
    let first = segs.next().unwrap_or(&[]);
    let Some(last) = segs.next_back() else {
        // No `*`: the single segment must cover the whole haystack.
        return match_segment_at(hay, 0, first, ci) == Some(hay.len());
    };
    let Some(head_end) = match_segment_at(hay, 0, first, ci) else {
        return false;
    };
    let Some(tail_start) = start_of_last_chars(hay, segment_chars(last)) else {
        return false;
    };
    if tail_start < head_end || match_segment_at(hay, tail_start, last, ci) != Some(hay.len()) {
        return false;
    }
    let mut middle = segs.filter(|s| !s.is_empty()).peekable();
    if middle.peek().is_none() {
        return true;
    }
    let window = &hay[..tail_start];
    let info = if ci {
        HayInfo::new(window)
    } else {
        HayInfo {
            ascii: false,
            ascii_exact: false,
        }
    };
    let mut pos = head_end;
    for seg in middle {
        match find_segment(window, pos, seg, ci, info) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------
// Regular expressions
// ---------------------------------------------------------------------------

/// Capacity, in bytes, of each regex's lazy DFA cache (per regex and
/// thread; grown only as states are built): four times the regex crate's
/// default. With the default, a counted repetition of a Unicode class
/// (SigmaHQ's `-k\s\w{1,64}(?:\s?(?:-p|-s))?` on svchost command lines)
/// fills the cache within a few bytes, the lazy DFA gives up and the
/// search falls back to the PikeVM: 2.6-5.3 µs per command line, against
/// 22 ns with a cache large enough (4 MB was; 8 MB leaves a margin).
pub const REGEX_DFA_CACHE: usize = 8 << 20;

/// Compiles `pattern` (flags inline, as [`crate::ir::RegexPattern::full_pattern`]
/// writes them) the way every rule's regex is compiled, generated code and
/// interpreter alike (*compile time*: allocates).
///
/// ```
/// use detect_core::matcher::build_regex;
/// let re = build_regex(r"-k\s\w{1,64}(?:\s?(?:-p|-s))?").unwrap();
/// assert!(re.is_match(r"C:\Windows\system32\svchost.exe -k LocalService -p"));
/// assert!(build_regex("(unclosed").is_err());
/// ```
pub fn build_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
}

// ---------------------------------------------------------------------------
// CIDR
// ---------------------------------------------------------------------------

/// Network mask of `prefix` leading one bits, right-aligned in a 32- or 128-bit field.
#[inline]
fn net_mask(v4: bool, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else if v4 {
        u128::from(u32::MAX << (32 - u32::from(prefix.min(32))))
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    }
}

/// Parses a network in CIDR notation (compile time: allocates on error).
///
/// Accepts `a.b.c.d/len` and `ipv6/len`; a bare address means a single host
/// (`/32` or `/128`). Host bits are cleared. No surrounding whitespace is
/// accepted.
///
/// ```
/// use detect_core::matcher::parse_cidr;
/// let net = parse_cidr("10.1.2.3/8").unwrap();
/// assert!(net.v4);
/// assert_eq!(net.addr, 0x0A00_0000);
/// assert_eq!(net.prefix, 8);
/// assert_eq!(parse_cidr("::1").unwrap().prefix, 128);
/// assert!(parse_cidr("10.0.0.0/33").is_err());
/// ```
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let (addr_text, prefix_text) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr_text.parse().map_err(|_| {
        format!("invalid CIDR network `{s}`: `{addr_text}` is not an IPv4 or IPv6 address")
    })?;
    let (v4, bits, width) = match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32u8),
        IpAddr::V6(a) => (false, u128::from(a), 128u8),
    };
    let prefix = match prefix_text {
        None => width,
        Some(p) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "invalid CIDR network `{s}`: prefix length `{p}` is not a decimal number"
                ));
            }
            let n: u16 = p.parse().map_err(|_| {
                format!("invalid CIDR network `{s}`: prefix length `{p}` is not a decimal number")
            })?;
            if n > u16::from(width) {
                return Err(format!(
                    "invalid CIDR network `{s}`: prefix length {n} is larger than {width} for an IPv{} address",
                    if v4 { 4 } else { 6 }
                ));
            }
            n as u8
        }
    };
    Ok(Cidr {
        v4,
        addr: bits & net_mask(v4, prefix),
        prefix,
    })
}

/// True when `hay` parses as an IP address inside the network `addr/prefix`
/// (as produced by [`parse_cidr`]).
///
/// The text is not trimmed; bracketed IPv6 (`[::1]`) and zone suffixes
/// (`fe80::1%eth0`) do not parse and give `false`. An IPv4-mapped IPv6
/// address (`::ffff:10.1.2.3`) matches IPv4 networks; an IPv4 address never
/// matches an IPv6 network.
///
/// ```
/// use detect_core::matcher::cidr_contains;
/// assert!(cidr_contains("10.20.30.40", true, 0x0A00_0000, 8));
/// assert!(cidr_contains("::ffff:10.20.30.40", true, 0x0A00_0000, 8));
/// assert!(!cidr_contains("11.0.0.1", true, 0x0A00_0000, 8));
/// assert!(!cidr_contains("not an ip", true, 0, 0));
/// ```
#[inline]
pub fn cidr_contains(hay: &str, v4: bool, addr: u128, prefix: u8) -> bool {
    parse_ip(hay).is_some_and(|ip| ip.in_net(v4, addr, prefix))
}

/// An address parsed for CIDR tests: its IPv4 view (an IPv4 address, or the
/// IPv4 address an IPv4-mapped IPv6 address stands for) and its IPv6 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedIp {
    v4: Option<u32>,
    v6: Option<u128>,
}

impl ParsedIp {
    /// Whether the address is in the network `addr/prefix` (IPv4 when `v4`).
    #[inline]
    pub fn in_net(&self, v4: bool, addr: u128, prefix: u8) -> bool {
        let bits = if v4 { self.v4.map(u128::from) } else { self.v6 };
        bits.is_some_and(|b| (b ^ addr) & net_mask(v4, prefix) == 0)
    }
}

/// Parses `hay` as an IP address the way [`cidr_contains`] reads it (the
/// whole text, no brackets, zones or surrounding spaces). Canonical dotted
/// quads, bare or IPv4-mapped (`::ffff:10.1.2.3`, how Windows logs many
/// addresses), skip the general parser.
///
/// ```
/// use detect_core::matcher::parse_ip;
/// assert!(parse_ip("::ffff:10.1.2.3").unwrap().in_net(true, 0x0A00_0000, 8));
/// assert!(parse_ip("10.1.2.3").unwrap().in_net(true, 0x0A00_0000, 8));
/// assert!(!parse_ip("10.1.2.3").unwrap().in_net(false, 0, 0));
/// assert!(parse_ip("-").is_none());
/// ```
#[inline]
pub fn parse_ip(hay: &str) -> Option<ParsedIp> {
    let b = hay.as_bytes();
    if let Some(a) = canonical_ipv4(b) {
        return Some(ParsedIp {
            v4: Some(a),
            v6: None,
        });
    }
    if b.len() > 7
        && b[..7].eq_ignore_ascii_case(b"::ffff:")
        && let Some(a) = canonical_ipv4(&b[7..])
    {
        return Some(ParsedIp {
            v4: Some(a),
            v6: Some((0xffff_u128 << 32) | u128::from(a)),
        });
    }
    match hay.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(ParsedIp {
            v4: Some(u32::from(a)),
            v6: None,
        }),
        IpAddr::V6(a) => Some(ParsedIp {
            v4: a.to_ipv4_mapped().map(u32::from),
            v6: Some(u128::from(a)),
        }),
    }
}

/// A dotted-quad IPv4 address in canonical form (four decimal octets without
/// leading zeros, at most 255): the common case of event fields, parsed
/// without the general parser. Anything else is `None` and goes to
/// `IpAddr::from_str`, which accepts every canonical address the same way.
#[inline]
fn canonical_ipv4(s: &[u8]) -> Option<u32> {
    let mut out = 0u32;
    let mut octets = 0;
    let mut i = 0;
    while octets < 4 {
        let start = i;
        let mut v = 0u32;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || v > 255 || (len > 1 && s[start] == b'0') {
            return None;
        }
        out = (out << 8) | v;
        octets += 1;
        if octets < 4 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(out)
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// Compares two numbers: integers exactly, anything involving a float as `f64`.
///
/// Comparisons with NaN are false, except `Ne` which is true.
///
/// ```
/// use detect_core::ir::{NumOp, Number};
/// use detect_core::matcher::cmp_number;
/// assert!(cmp_number(Number::Int(4688), NumOp::Eq, Number::Int(4688)));
/// assert!(cmp_number(Number::Int(3), NumOp::Lt, Number::Float(3.5)));
/// assert!(cmp_number(Number::Float(f64::NAN), NumOp::Ne, Number::Int(1)));
/// assert!(!cmp_number(Number::Float(f64::NAN), NumOp::Eq, Number::Float(f64::NAN)));
/// ```
#[inline]
pub fn cmp_number(lhs: Number, op: NumOp, rhs: Number) -> bool {
    match (lhs, rhs) {
        (Number::Int(a), Number::Int(b)) => match op {
            NumOp::Eq => a == b,
            NumOp::Ne => a != b,
            NumOp::Lt => a < b,
            NumOp::Le => a <= b,
            NumOp::Gt => a > b,
            NumOp::Ge => a >= b,
        },
        _ => {
            let a = as_f64(lhs);
            let b = as_f64(rhs);
            match op {
                NumOp::Eq => a == b,
                NumOp::Ne => a != b,
                NumOp::Lt => a < b,
                NumOp::Le => a <= b,
                NumOp::Gt => a > b,
                NumOp::Ge => a >= b,
            }
        }
    }
}

#[inline]
fn as_f64(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// The calendar fields of a parsed timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timestamp {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
}

#[inline]
fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

#[inline]
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar.
#[inline]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO weekday: Monday = 1 ... Sunday = 7.
#[inline]
fn weekday(y: i64, m: i64, d: i64) -> i64 {
    (days_from_civil(y, m, d) + 3).rem_euclid(7) + 1
}

/// Number of ISO weeks (52 or 53) in ISO year `y`.
#[inline]
fn iso_weeks_in_year(y: i64) -> i64 {
    let jan1 = weekday(y, 1, 1);
    if jan1 == 4 || (jan1 == 3 && is_leap(y)) {
        53
    } else {
        52
    }
}

/// ISO 8601 week number of a valid date.
#[inline]
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    let ordinal = days_from_civil(y, m, d) - days_from_civil(y, 1, 1) + 1;
    let week = (ordinal - weekday(y, m, d) + 10) / 7;
    if week < 1 {
        iso_weeks_in_year(y - 1)
    } else if week > iso_weeks_in_year(y) {
        1
    } else {
        week
    }
}

/// Parses a fixed-width run of ASCII digits.
#[inline]
fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Parses `HH:MM` or `HHMM` or `HH` (a UTC offset) and checks it ends the text.
#[inline]
fn valid_offset(b: &[u8]) -> bool {
    let (h, m) = match b.len() {
        2 => (&b[0..2], &b"00"[..]),
        4 => (&b[0..2], &b[2..4]),
        5 if b[2] == b':' => (&b[0..2], &b[3..5]),
        _ => return false,
    };
    matches!((digits(h), digits(m)), (Some(h), Some(m)) if h <= 23 && m <= 59)
}

/// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[(.|,)fraction]][Z|±HH[:MM]]]`.
fn parse_timestamp(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ts = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
    };
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(ts);
    }
    if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    ts.hour = digits(&rest[1..3])?;
    ts.minute = digits(&rest[4..6])?;
    if ts.hour > 23 || ts.minute > 59 {
        return None;
    }
    let mut r = &rest[6..];
    if r.first() == Some(&b':') {
        let sec = digits(r.get(1..3)?)?;
        if sec > 60 {
            return None;
        }
        r = &r[3..];
        if matches!(r.first(), Some(b'.' | b',')) {
            let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            r = &r[1 + n..];
        }
    }
    let ok = match r.first() {
        None => true,
        Some(b'Z' | b'z') => r.len() == 1,
        Some(b'+' | b'-') => valid_offset(&r[1..]),
        _ => false,
    };
    ok.then_some(ts)
}

/// Milliseconds since the Unix epoch of a timestamp in the forms
/// [`time_part`] accepts, with its UTC offset applied (no offset means UTC).
/// Used for sequence time spans.
///
/// ```
/// use detect_core::matcher::epoch_millis;
/// assert_eq!(epoch_millis("1970-01-01T00:00:01.5Z"), Some(1_500));
/// assert_eq!(epoch_millis("2019-10-31T14:48:42.000000Z"), Some(1_572_533_322_000));
/// assert_eq!(epoch_millis("2019-10-31T16:48:42+02:00"), Some(1_572_533_322_000));
/// assert_eq!(epoch_millis("2019-10-31 14:48:42.123"), Some(1_572_533_322_123));
/// assert_eq!(epoch_millis("yesterday"), None);
/// ```
pub fn epoch_millis(hay: &str) -> Option<i64> {
    let b = hay.as_bytes();
    let t = parse_timestamp(b)?;
    let mut ms =
        (days_from_civil(t.year, t.month, t.day) * 86_400 + t.hour * 3_600 + t.minute * 60) * 1_000;
    // parse_timestamp validated the shape; read seconds, fraction and offset.
    let rest = b.get(16..).unwrap_or(&[]);
    let mut r = rest;
    if r.first() == Some(&b':') {
        ms += digits(r.get(1..3)?)? * 1_000;
        r = &r[3..];
        if matches!(r.first(), Some(b'.' | b',')) {
            let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mut scale = 100;
            for &c in r[1..1 + n].iter().take(3) {
                ms += i64::from(c - b'0') * scale;
                scale /= 10;
            }
            r = &r[1 + n..];
        }
    }
    if let Some(&sign @ (b'+' | b'-')) = r.first() {
        let o = &r[1..];
        let (h, m) = match o.len() {
            2 => (digits(&o[0..2])?, 0),
            4 => (digits(&o[0..2])?, digits(&o[2..4])?),
            _ => (digits(&o[0..2])?, digits(o.get(3..5)?)?),
        };
        let offset = (h * 60 + m) * 60_000;
        ms += if sign == b'+' { -offset } else { offset };
    }
    Some(ms)
}

/// Extracts one calendar component of a timestamp (Sigma time modifiers).
///
/// Accepts `YYYY-MM-DD`, optionally followed by `T` (or `t`, or a space) and
/// `HH:MM`, optional `:SS`, optional `.fraction` (or `,fraction`), and an
/// optional `Z` or `±HH:MM` / `±HHMM` / `±HH` offset. The fields are taken as
/// written, without time zone conversion. A date without a time has hour and
/// minute 0. `Week` is the ISO 8601 week number (which may belong to the
/// previous or next year near January 1). Invalid dates and times give `None`.
///
/// ```
/// use detect_core::ir::TimePart;
/// use detect_core::matcher::time_part;
/// let t = "2019-10-31T14:48:42.000000Z";
/// assert_eq!(time_part(t, TimePart::Hour), Some(14));
/// assert_eq!(time_part(t, TimePart::Minute), Some(48));
/// assert_eq!(time_part(t, TimePart::Week), Some(44));
/// assert_eq!(time_part("2021-01-03", TimePart::Week), Some(53));
/// assert_eq!(time_part("2019-02-30", TimePart::Day), None);
/// ```
#[inline]
pub fn time_part(hay: &str, part: TimePart) -> Option<i64> {
    let t = parse_timestamp(hay.as_bytes())?;
    Some(match part {
        TimePart::Minute => t.minute,
        TimePart::Hour => t.hour,
        TimePart::Day => t.day,
        TimePart::Week => iso_week(t.year, t.month, t.day),
        TimePart::Month => t.month,
        TimePart::Year => t.year,
    })
}

#[cfg(test)]
mod tests {
    use super::GlobTok::{AnyChar, AnyRun};
    use super::*;

    /// A borrowed literal token, short for the tables below.
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

    // ---- helpers -----------------------------------------------------------

    use detect_test_support::XorShift64Star as Rng;

    const ALPHABET: &[char] = &[
        'a', 'A', 'ä', 'Ä', '\u{212A}', 'k', 'K', 'b', 'İ', 'i', 'ß', 'Σ', 'σ', 'ς', '€', '𝄞',
        '\u{23A}', '\u{2C65}',
    ];

    fn random_string(rng: &mut Rng, max_len: usize) -> String {
        let len = rng.below(max_len + 1);
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect()
    }

    fn fold_vec(s: &str, ci: bool) -> Vec<char> {
        s.chars()
            .map(|c| if ci { fold_char(c) } else { c })
            .collect()
    }

    /// Reference glob: DP over folded character vectors.
    fn ref_glob(hay: &str, toks: &[GlobTok<'_>], ci: bool) -> bool {
        #[derive(Clone, Copy)]
        enum P {
            C(char),
            Q,
            S,
        }
        let h = fold_vec(hay, ci);
        let mut p = Vec::new();
        for t in toks {
            match t {
                GlobTok::Lit(l) => p.extend(l.chars().map(P::C)),
                AnyChar => p.push(P::Q),
                AnyRun => p.push(P::S),
            }
        }
        // dp[i][j]: h[i..] matches p[j..]
        let (n, m) = (h.len(), p.len());
        let mut dp = vec![vec![false; m + 1]; n + 1];
        dp[n][m] = true;
        for i in (0..=n).rev() {
            for j in (0..m).rev() {
                dp[i][j] = match p[j] {
                    P::S => dp[i][j + 1] || (i < n && dp[i + 1][j]),
                    P::Q => i < n && dp[i + 1][j + 1],
                    P::C(c) => i < n && h[i] == c && dp[i + 1][j + 1],
                };
            }
        }
        dp[0][0]
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

    // ---- glob --------------------------------------------------------------

    #[test]
    fn glob_table() {
        // (hay, pattern, ci, expected)
        let cases: &[(&str, &[GlobTok<'_>], bool, bool)] = &[
            ("", &[], false, true),
            ("a", &[], false, false),
            ("", &[AnyRun], false, true),
            ("anything", &[AnyRun], false, true),
            ("anything", &[AnyRun, AnyRun], false, true),
            ("", &[AnyRun, AnyRun], false, true),
            ("", &[AnyChar], false, false),
            ("ä", &[AnyChar], false, true),
            ("𝄞", &[AnyChar], false, true),
            ("𝄞𝄞", &[AnyChar], false, false),
            ("ab", &[AnyChar, AnyChar], false, true),
            ("abc", &[AnyChar, AnyChar], false, false),
            ("a", &[AnyChar, AnyChar], false, false),
            ("€ä𝄞", &[AnyChar, AnyChar, AnyChar], false, true),
            (
                "abc",
                &[Lit("a"), AnyRun, Lit("b"), AnyRun, Lit("c")],
                false,
                true,
            ),
            (
                "aXbYc",
                &[Lit("a"), AnyRun, Lit("b"), AnyRun, Lit("c")],
                false,
                true,
            ),
            (
                "aXbYcZ",
                &[Lit("a"), AnyRun, Lit("b"), AnyRun, Lit("c")],
                false,
                false,
            ),
            (
                "acb",
                &[Lit("a"), AnyRun, Lit("b"), AnyRun, Lit("c")],
                false,
                false,
            ),
            ("ab", &[Lit("abc"), AnyRun], false, false),
            ("ab", &[AnyRun, Lit("abc")], false, false),
            (
                "ab",
                &[Lit("a"), AnyRun, Lit("b"), AnyRun, Lit("b")],
                false,
                false,
            ),
            ("abc", &[Lit("ab"), AnyRun], false, true),
            ("ab", &[Lit("ab"), AnyRun], false, true),
            ("aaab", &[AnyRun, Lit("aab")], false, true),
            ("aaab", &[AnyRun, Lit("aab"), AnyRun], false, true),
            (
                "aaabx",
                &[AnyRun, Lit("aab"), AnyRun, Lit("x")],
                false,
                true,
            ),
            ("aabaab", &[Lit("a"), AnyRun, Lit("aab")], false, true),
            ("aab", &[Lit("aa"), AnyRun, Lit("ab")], false, false), // head and tail would overlap
            ("aaab", &[Lit("aa"), AnyRun, Lit("ab")], false, true),
            (
                "xaYb",
                &[AnyRun, Lit("a"), AnyChar, Lit("b"), AnyRun],
                false,
                true,
            ),
            (
                "xaab",
                &[AnyRun, Lit("a"), AnyChar, Lit("b"), AnyRun],
                false,
                true,
            ),
            (
                "xab",
                &[AnyRun, Lit("a"), AnyChar, Lit("b"), AnyRun],
                false,
                false,
            ),
            ("xäYb", &[AnyRun, AnyChar, Lit("Y"), AnyRun], false, true),
            (
                "ab",
                &[AnyRun, AnyChar, AnyChar, AnyChar, AnyRun],
                false,
                false,
            ),
            (
                "abc",
                &[AnyRun, AnyChar, AnyChar, AnyChar, AnyRun],
                false,
                true,
            ),
            (
                "C:\\Windows\\CMD.EXE",
                &[Lit("c:\\"), AnyRun, Lit(".exe")],
                true,
                true,
            ),
            (
                "C:\\Windows\\CMD.EXE",
                &[Lit("c:\\"), AnyRun, Lit(".exe")],
                false,
                false,
            ),
            ("ÄRGER", &[Lit("ä"), AnyRun, Lit("r")], true, true),
            ("ÄRGER", &[AnyChar, Lit("rger")], true, true),
            ("\u{212A}EY", &[Lit("k"), AnyChar, Lit("y")], true, true),
            ("x\u{212A}EYx", &[AnyRun, Lit("key"), AnyRun], true, true),
            (
                "x\u{212A}EYx",
                &[AnyRun, Lit("k"), AnyChar, Lit("y"), AnyRun],
                true,
                true,
            ),
            ("xİx", &[AnyRun, Lit("i"), AnyRun], true, true),
            ("xİx", &[AnyRun, Lit("i"), AnyRun], false, false),
            (
                "x\u{23A}yz",
                &[AnyRun, Lit("\u{2C65}y"), AnyRun],
                true,
                true,
            ),
            ("STRASSE", &[AnyRun, Lit("ß"), AnyRun], true, false),
            ("a*b", &[Lit("a*b")], false, true),
            ("a?b", &[Lit("a"), AnyChar, Lit("b")], false, true),
        ];
        for &(hay, pat, ci, want) in cases {
            assert_eq!(glob(hay, pat, ci), want, "glob({hay:?}, {pat:?}, ci={ci})");
            assert_eq!(
                ref_glob(hay, pat, ci),
                want,
                "ref_glob({hay:?}, {pat:?}, ci={ci})"
            );
        }
    }

    #[test]
    fn glob_differential() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut positives = 0;
        for round in 0..6000 {
            let ci = round % 2 == 0;
            let hay = random_string(&mut rng, 9);
            let ntok = rng.below(6);
            let mut lits = Vec::new();
            let mut kinds = Vec::new();
            for _ in 0..ntok {
                let k = rng.below(4);
                kinds.push(k);
                if k >= 2 {
                    let mut l = random_string(&mut rng, 2);
                    if l.is_empty() {
                        l.push('a');
                    }
                    // Sometimes take the literal from the haystack to get more matches.
                    if rng.below(2) == 0 {
                        let chars: Vec<char> = hay.chars().collect();
                        if !chars.is_empty() {
                            let a = rng.below(chars.len());
                            let b = (a + 1 + rng.below(2)).min(chars.len());
                            l = chars[a..b].iter().collect();
                        }
                    }
                    lits.push(if ci { fold(&l) } else { l });
                }
            }
            let mut toks = Vec::new();
            let mut li = 0;
            for k in kinds {
                match k {
                    0 => toks.push(AnyChar),
                    1 => toks.push(AnyRun),
                    _ => {
                        toks.push(Lit(&lits[li]));
                        li += 1;
                    }
                }
            }
            let want = ref_glob(&hay, &toks, ci);
            positives += usize::from(want);
            assert_eq!(
                glob(&hay, &toks, ci),
                want,
                "glob({hay:?}, {toks:?}, ci={ci})"
            );
        }
        // Make sure both outcomes are well represented.
        assert!((500..5500).contains(&positives), "{positives} matches");
    }

    #[test]
    fn glob_worst_cases_are_fast() {
        use std::time::Instant;
        let ascii = "a".repeat(10_000);
        let umlaut = "ä".repeat(10_000);
        let start = Instant::now();
        let pat = [
            AnyRun,
            Lit("a"),
            AnyRun,
            Lit("a"),
            AnyRun,
            Lit("a"),
            AnyRun,
            Lit("a"),
            AnyRun,
            Lit("a"),
            AnyRun,
            Lit("b"),
        ];
        assert!(!glob(&ascii, &pat, false));
        assert!(!glob(&ascii, &pat, true));
        let pat2 = [AnyRun, Lit("a"), AnyRun, Lit("a"), AnyRun, Lit("b"), AnyRun];
        assert!(!glob(&ascii, &pat2, false));
        assert!(!glob(&ascii, &pat2, true));
        let pat3 = [AnyRun, Lit("aaaa"), AnyChar, Lit("aaab"), AnyRun];
        assert!(!glob(&ascii, &pat3, false));
        assert!(!glob(&ascii, &pat3, true));
        let pat4 = [AnyRun, AnyChar, AnyChar, Lit("ab"), AnyRun, Lit("a")];
        assert!(!glob(&ascii, &pat4, true));
        let pat5 = [
            AnyRun,
            Lit("ä"),
            AnyRun,
            Lit("ää"),
            AnyChar,
            Lit("äb"),
            AnyRun,
        ];
        assert!(!glob(&umlaut, &pat5, true));
        assert!(!glob(&umlaut, &pat5, false));
        assert!(!contains_ci(&umlaut, "äääääääääb"));
        assert!(!contains_ci(&ascii, "aaaaaaaaab"));
        assert!(glob(
            &ascii,
            &[AnyRun, Lit("aa"), AnyChar, Lit("a"), AnyRun, Lit("a")],
            true
        ));
        assert!(
            start.elapsed().as_secs() < 2,
            "worst cases took {:?}",
            start.elapsed()
        );
    }

    // ---- CIDR --------------------------------------------------------------

    #[test]
    fn parse_cidr_table() {
        let ok = [
            ("10.0.0.0/8", true, 0x0A00_0000u128, 8u8),
            ("10.1.2.3/8", true, 0x0A00_0000, 8),
            ("192.168.1.1", true, 0xC0A8_0101, 32),
            ("0.0.0.0/0", true, 0, 0),
            ("255.255.255.255/32", true, 0xFFFF_FFFF, 32),
            ("fe80::/10", false, 0xFE80u128 << 112, 10),
            ("fe80::1234/10", false, 0xFE80u128 << 112, 10),
            ("::1", false, 1, 128),
            ("::/0", false, 0, 0),
        ];
        for (s, v4, addr, prefix) in ok {
            assert_eq!(
                parse_cidr(s),
                Ok(Cidr { v4, addr, prefix }),
                "parse_cidr({s:?})"
            );
        }
        let bad = [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "256.0.0.0/8",
            "garbage",
            " 10.0.0.0/8",
            "[::1]/128",
            "10.0.0.0/1000",
        ];
        for s in bad {
            let err = parse_cidr(s).expect_err(s);
            assert!(err.contains("invalid CIDR"), "{err}");
        }
        assert!(
            parse_cidr("10.0.0.0/33")
                .unwrap_err()
                .contains("larger than 32")
        );
    }

    #[test]
    fn cidr_contains_table() {
        let net = |s: &str| parse_cidr(s).unwrap();
        let cases = [
            ("10.0.0.0/8", "10.0.0.0", true),
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("10.0.0.0/8", "9.255.255.255", false),
            ("192.168.1.1", "192.168.1.1", true),
            ("192.168.1.1", "192.168.1.2", false),
            ("0.0.0.0/0", "1.2.3.4", true),
            ("0.0.0.0/0", "::1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "::ffff:11.1.2.3", false),
            ("10.0.0.0/8", "::10.1.2.3", false), // IPv4-compatible is not mapped
            ("10.0.0.0/8", " 10.1.2.3", false),
            ("10.0.0.0/8", "10.1.2.3 ", false),
            ("10.0.0.0/8", "10.1.2", false),
            ("10.0.0.0/8", "", false),
            ("fe80::/10", "fe80::1", true),
            ("fe80::/10", "FEBF::1", true),
            ("fe80::/10", "fec0::1", false),
            ("fe80::/10", "fe80::1%eth0", false),
            ("fe80::/10", "[fe80::1]", false),
            ("::1", "::1", true),
            ("::1", "::2", false),
            ("::/0", "2001:db8::1", true),
            ("::/0", "10.0.0.1", false),
            ("::ffff:0:0/96", "::ffff:10.0.0.1", true),
        ];
        for (n, hay, want) in cases {
            let c = net(n);
            assert_eq!(
                cidr_contains(hay, c.v4, c.addr, c.prefix),
                want,
                "{hay:?} in {n}"
            );
        }
    }

    #[test]
    fn canonical_ipv4_agrees_with_std() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.02.3.4",
            "1.2.3.004",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "1234.1.1.1",
            "+1.2.3.4",
            "1.2.3.4 ",
            "١.2.3.4",
            "0.0.0.00",
            "10.0.0.1",
            "192.168.001.1",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every string over a small alphabet up to length 7, plus random quads.
        let alphabet = ["0", "1", "2", "5", "9", ".", "25", "255", "256", "00"];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for a in alphabet {
                    next.push(format!("{p}{a}"));
                }
            }
            cases.extend(next.iter().cloned());
            frontier = next;
        }
        for a in [0u32, 1, 9, 10, 99, 100, 199, 200, 255, 256, 300, 999] {
            for b in [0u32, 7, 255, 256] {
                cases.push(format!("{a}.{b}.{a}.{b}"));
                cases.push(format!("{b}.{a}.{b}.0{a}"));
            }
        }
        for c in &cases {
            // The mapped fast path agrees with the general parser.
            let mapped = format!("::FFFF:{c}");
            let general = mapped.parse::<IpAddr>().ok().map(|ip| match ip {
                IpAddr::V6(a) => (a.to_ipv4_mapped().map(u32::from), Some(u128::from(a))),
                IpAddr::V4(a) => (Some(u32::from(a)), None),
            });
            assert_eq!(
                parse_ip(&mapped).map(|p| (p.v4, p.v6)),
                general,
                "{mapped:?}"
            );
            let std = c.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
            let fast = canonical_ipv4(c.as_bytes());
            if let Some(f) = fast {
                assert_eq!(Some(f), std, "{c:?}");
            }
            // The fast path may decline (then std decides), but it declines
            // only non-canonical forms.
            if fast.is_none() && std.is_some() {
                assert!(
                    c.split('.').any(|o| o.len() > 1 && o.starts_with('0')),
                    "{c:?}"
                );
            }
        }
    }

    // ---- numbers -----------------------------------------------------------

    #[test]
    fn cmp_number_table() {
        use NumOp::*;
        use Number::{Float as F, Int as I};
        let big = i64::MAX;
        let cases = [
            (I(1), Eq, I(1), true),
            (I(1), Ne, I(1), false),
            (I(1), Lt, I(2), true),
            (I(2), Le, I(2), true),
            (I(3), Gt, I(2), true),
            (I(2), Ge, I(3), false),
            (I(big), Eq, I(big - 1), false), // exact, not via f64
            (I(big - 1), Lt, I(big), true),
            (I(-5), Lt, I(0), true),
            (I(2), Eq, F(2.0), true),
            (F(2.5), Gt, I(2), true),
            (F(2.5), Le, F(2.5), true),
            (F(-0.0), Eq, F(0.0), true),
            (F(f64::NAN), Eq, F(f64::NAN), false),
            (F(f64::NAN), Ne, F(f64::NAN), true),
            (F(f64::NAN), Lt, I(1), false),
            (F(f64::NAN), Ge, I(1), false),
            (I(1), Ne, F(f64::NAN), true),
            (F(f64::INFINITY), Gt, I(big), true),
        ];
        for (a, op, b, want) in cases {
            assert_eq!(cmp_number(a, op, b), want, "{a:?} {op:?} {b:?}");
        }
    }

    // ---- time --------------------------------------------------------------

    #[test]
    fn time_parts_table() {
        use TimePart::*;
        // (text, [minute, hour, day, week, month, year])
        let ok: &[(&str, [i64; 6])] = &[
            ("2019-10-31T14:48:42.000000Z", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31 14:48:42.123", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T14:48:42+02:00", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T23:59:59-0800", [59, 23, 31, 44, 10, 2019]),
            ("2019-10-31T14:48:42,5+02", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T14:48", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31t14:48:42z", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31", [0, 0, 31, 44, 10, 2019]),
            ("2021-01-03", [0, 0, 3, 53, 1, 2021]),
            ("2021-01-04", [0, 0, 4, 1, 1, 2021]),
            ("2024-12-30", [0, 0, 30, 1, 12, 2024]),
            ("2024-12-29", [0, 0, 29, 52, 12, 2024]),
            ("2020-12-31", [0, 0, 31, 53, 12, 2020]),
            ("2026-01-01", [0, 0, 1, 1, 1, 2026]),
            ("2027-01-01", [0, 0, 1, 53, 1, 2027]),
            ("2005-01-01", [0, 0, 1, 53, 1, 2005]),
            ("2008-12-29", [0, 0, 29, 1, 12, 2008]),
            ("2010-01-03", [0, 0, 3, 53, 1, 2010]),
            ("2024-02-29T00:00:60Z", [0, 0, 29, 9, 2, 2024]),
            ("2000-02-29", [0, 0, 29, 9, 2, 2000]),
        ];
        for &(text, want) in ok {
            let got = [Minute, Hour, Day, Week, Month, Year].map(|p| time_part(text, p));
            assert_eq!(got, want.map(Some), "time_part({text:?})");
        }
        let bad = [
            "",
            "2019",
            "2019-13-01",
            "2019-00-01",
            "2019-12-32",
            "2019-12-00",
            "2019-02-29",
            "1900-02-29",
            "2019-02-30",
            "2019-04-31",
            "2019-10-31T24:00:00Z",
            "2019-10-31T14:60:00Z",
            "2019-10-31T14:48:61Z",
            "2019-10-31T14",
            "2019-10-31T14:48:42.",
            "2019-10-31T14:48:42Zjunk",
            "2019-10-31T14:48:42+25:00",
            "2019-10-31T14:48:42+02:0",
            "2019-10-31X14:48:42",
            "2019/10/31",
            "19-10-31",
            " 2019-10-31",
            "2019-10-31 ",
            "2019-1a-31",
        ];
        for text in bad {
            assert_eq!(time_part(text, Year), None, "time_part({text:?})");
        }
    }

    #[test]
    fn iso_week_matches_brute_force() {
        // Brute force: the ISO year's week 1 contains its first Thursday.
        for y in 1999..=2031 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    let day = days_from_civil(y, m, d);
                    let thursday = day - (weekday(y, m, d) - 1) + 3;
                    // The ISO year is the calendar year of that Thursday.
                    let iso_year = if thursday < days_from_civil(y, 1, 1) {
                        y - 1
                    } else if thursday >= days_from_civil(y + 1, 1, 1) {
                        y + 1
                    } else {
                        y
                    };
                    let want = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
                    assert_eq!(iso_week(y, m, d), want, "{y}-{m}-{d}");
                }
            }
        }
    }
}
