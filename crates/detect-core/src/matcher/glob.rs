//! Wildcard matching: Sigma's `*` and `?` over a value, case-sensitive or
//! with the haystack folded on the fly (the needle's literals are folded at
//! compile time).
//!
//! Apart from [`fold`](super::fold) because a pattern is a sequence of
//! segments with its own search strategy (anchored head and tail, the
//! middle segments found left to right), built on the substring search
//! there.

use super::fold::{HayInfo, char_len_at, find_anchored, find_ci, prefix_len_ci};

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
/// folded with [`fold`](fn@super::fold) and the haystack is folded on the fly. `?` matches
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

#[cfg(test)]
mod tests {
    use super::GlobTok::{AnyChar, AnyRun};
    use super::*;
    use crate::matcher::test_text::{Rng, fold_vec, random_string};
    use crate::matcher::{contains_ci, fold};

    /// A borrowed literal token, short for the tables below.
    #[allow(non_snake_case)]
    const fn Lit(text: &str) -> GlobTok<'_> {
        GlobTok::lit(text)
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
}
