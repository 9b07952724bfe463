//! Slow, obviously correct references for the matcher primitives and the
//! compile-time modifier expansions, written here from their documented
//! definitions and sharing no code with detect-core:
//!
//! * case-insensitive tests compare whole strings folded to vectors of
//!   characters (Unicode simple lowercase: the first character of
//!   `char::to_lowercase`);
//! * wildcards are matched by the textbook dynamic programme over characters;
//! * CIDR membership compares address bit vectors;
//! * base64 is computed six bits at a time from a bit vector, and
//!   `base64offset` keeps exactly the characters that depend only on the
//!   value's bytes;
//! * UTF-16 is computed from code points by the surrogate formula;
//! * `windash` variants are enumerated recursively.

use std::net::IpAddr;

/// Simple lowercase of one character.
pub fn fold_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// A string folded to characters.
pub fn fold(s: &str) -> Vec<char> {
    s.chars().map(fold_char).collect()
}

/// Case-insensitive equality.
pub fn eq_ci(hay: &str, needle: &str) -> bool {
    fold(hay) == fold(needle)
}

/// Case-insensitive prefix.
pub fn starts_with_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (fold(hay), fold(needle));
    h.len() >= n.len() && h[..n.len()] == n[..]
}

/// Case-insensitive suffix.
pub fn ends_with_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (fold(hay), fold(needle));
    h.len() >= n.len() && h[h.len() - n.len()..] == n[..]
}

/// Case-insensitive substring.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (fold(hay), fold(needle));
    n.is_empty() || h.windows(n.len()).any(|w| w == &n[..])
}

/// Case-sensitive substring over characters.
pub fn contains(hay: &str, needle: &str) -> bool {
    let (h, n): (Vec<char>, Vec<char>) = (hay.chars().collect(), needle.chars().collect());
    n.is_empty() || h.windows(n.len()).any(|w| w == &n[..])
}

/// One wildcard pattern element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `?`.
    One,
    /// `*`.
    Any,
}

/// Whole-string wildcard match by dynamic programming over characters.
pub fn glob(hay: &str, pattern: &[Piece], ci: bool) -> bool {
    // Expand the pattern into per-character items.
    enum Item {
        Char(char),
        One,
        Any,
    }
    let mut items = Vec::new();
    for p in pattern {
        match p {
            Piece::Lit(s) => items.extend(
                s.chars()
                    .map(|c| Item::Char(if ci { fold_char(c) } else { c })),
            ),
            Piece::One => items.push(Item::One),
            Piece::Any => items.push(Item::Any),
        }
    }
    let h: Vec<char> = if ci { fold(hay) } else { hay.chars().collect() };
    // m[i][j]: the first i items match the first j characters.
    let mut m = vec![vec![false; h.len() + 1]; items.len() + 1];
    m[0][0] = true;
    for i in 1..=items.len() {
        for j in 0..=h.len() {
            m[i][j] = match items[i - 1] {
                Item::Any => m[i - 1][j] || (j > 0 && m[i][j - 1]),
                Item::One => j > 0 && m[i - 1][j - 1],
                Item::Char(c) => j > 0 && m[i - 1][j - 1] && h[j - 1] == c,
            };
        }
    }
    m[items.len()][h.len()]
}

fn bits_of(ip: IpAddr) -> Vec<bool> {
    let bytes: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .collect()
}

/// Whether `hay` is an address in the network `net` (`addr/prefix` text).
/// IPv4-mapped IPv6 addresses count as IPv4; nothing else crosses families.
pub fn cidr_contains(hay: &str, net: IpAddr, prefix: u8) -> bool {
    let Ok(ip) = hay.parse::<IpAddr>() else {
        return false;
    };
    let ip = match (ip, net) {
        (IpAddr::V6(a), IpAddr::V4(_)) => {
            let s = a.segments();
            if s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
                let o = a.octets();
                IpAddr::from([o[12], o[13], o[14], o[15]])
            } else {
                return false;
            }
        }
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
        (ip, _) => ip,
    };
    let (a, b) = (bits_of(ip), bits_of(net));
    a[..prefix as usize] == b[..prefix as usize]
}

const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn byte_bits(bytes: &[u8]) -> Vec<bool> {
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .collect()
}

/// Standard padded base64, six bits at a time.
pub fn base64(bytes: &[u8]) -> String {
    let mut bits = byte_bits(bytes);
    let chars = bits.len().div_ceil(6);
    bits.resize(chars * 6, false);
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    let mut out: String = bits
        .chunks(6)
        .map(|c| alphabet[c.iter().fold(0, |acc, &b| acc * 2 + usize::from(b))])
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// The `base64offset` fragment for `offset` filler bytes: the characters of
/// `base64(filler + bytes)` whose six bits all come from `bytes`.
pub fn base64offset_fragment(bytes: &[u8], offset: usize) -> String {
    let mut buf = vec![0u8; offset];
    buf.extend_from_slice(bytes);
    let encoded: Vec<char> = base64(&buf).chars().collect();
    let lo = offset * 8;
    let hi = (offset + bytes.len()) * 8;
    (0..encoded.len())
        .filter(|&j| 6 * j >= lo && 6 * j + 6 <= hi)
        .map(|j| encoded[j])
        .collect()
}

/// UTF-16 code units by the surrogate formula.
pub fn utf16_units(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for c in s.chars() {
        let cp = c as u32;
        if cp < 0x1_0000 {
            out.push(cp as u16);
        } else {
            let v = cp - 0x1_0000;
            out.push(0xD800 + (v >> 10) as u16);
            out.push(0xDC00 + (v & 0x3FF) as u16);
        }
    }
    out
}

/// The dash characters `windash` interchanges.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every `windash` variant of `text`, by recursion over the characters: a
/// `-` or `/` not preceded by a word character and followed by one takes
/// each of [`DASHES`]; everything else stays. `None` when there would be
/// more than `limit` variants (counted before enumerating, so that a value
/// full of dashes costs nothing).
pub fn windash(text: &str, limit: usize) -> Option<Vec<String>> {
    let chars: Vec<char> = text.chars().collect();
    let starts_word = |i: usize| {
        (chars[i] == '-' || chars[i] == '/')
            && (i == 0 || !word(chars[i - 1]))
            && chars.get(i + 1).is_some_and(|&n| word(n))
    };
    let mut total = 1usize;
    for i in 0..chars.len() {
        if starts_word(i) {
            total = total.saturating_mul(DASHES.len());
            if total > limit {
                return None;
            }
        }
    }
    fn go(
        chars: &[char],
        starts: &dyn Fn(usize) -> bool,
        i: usize,
        cur: &mut Vec<char>,
        out: &mut Vec<String>,
    ) {
        if i == chars.len() {
            out.push(cur.iter().collect());
            return;
        }
        let options: Vec<char> = if starts(i) {
            DASHES.to_vec()
        } else {
            vec![chars[i]]
        };
        for o in options {
            cur.push(o);
            go(chars, starts, i + 1, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(&chars, &starts_word, 0, &mut Vec::new(), &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_on_known_values() {
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64offset_fragment(b"/bin/bash", 1), "9iaW4vYmFza");
        assert_eq!(base64offset_fragment(b"/bin/bash", 2), "vYmluL2Jhc2");
        assert!(glob(
            "C:\\X\\cmd.exe",
            &[
                Piece::Lit("c:\\".into()),
                Piece::Any,
                Piece::Lit(".EXE".into())
            ],
            true
        ));
        assert!(!glob("ab", &[Piece::One], false));
        assert!(cidr_contains(
            "::ffff:10.1.2.3",
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert_eq!(windash("-a", 10).map(|v| v.len()), Some(5));
        assert_eq!(windash("a-b", 10), Some(vec!["a-b".to_string()]));
        assert_eq!(windash("-a -b", 10), None);
        assert_eq!(utf16_units("😀"), [0xD83D, 0xDE00]);
        assert!(eq_ci("\u{212A}", "k"));
    }
}
