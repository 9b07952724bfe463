//! Compile-time expansion of Sigma value modifiers.
//!
//! The encoding modifiers (`utf16le`/`wide`, `utf16be`, `utf16`, `base64`,
//! `base64offset`) and `windash` do not need any runtime support: the front
//! ends (Sigma YAML, the `rules!` DSL, EQL) call these functions while
//! lowering a rule, so the IR, and therefore generated code and the
//! interpreter, only ever see the resulting plain literals (for example one
//! `contains` test per `base64offset` variant, joined with `or`).
//!
//! Everything here runs at compile time (or rule load time) and allocates
//! freely.

/// Encodes `s` as UTF-16 little-endian without a byte order mark (Sigma
/// `utf16le` and `wide`).
///
/// ```
/// use detect_core::compile::modifiers::utf16le;
/// assert_eq!(utf16le("cmd"), [0x63, 0x00, 0x6d, 0x00, 0x64, 0x00]);
/// ```
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Encodes `s` as UTF-16 big-endian without a byte order mark (Sigma `utf16be`).
///
/// ```
/// use detect_core::compile::modifiers::utf16be;
/// assert_eq!(utf16be("cmd"), [0x00, 0x63, 0x00, 0x6d, 0x00, 0x64]);
/// ```
pub fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Encodes `s` as UTF-16 little-endian preceded by the byte order mark
/// `FF FE` (Sigma `utf16`).
///
/// ```
/// use detect_core::compile::modifiers::utf16_bom;
/// assert_eq!(utf16_bom("cmd"), [0xff, 0xfe, 0x63, 0x00, 0x6d, 0x00, 0x64, 0x00]);
/// ```
pub fn utf16_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(utf16le(s));
    out
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 alphabet, `=` padding) of `bytes` (Sigma `base64`).
///
/// ```
/// use detect_core::compile::modifiers::base64;
/// assert_eq!(base64(b"foobar"), "Zm9vYmFy");
/// assert_eq!(base64(b"fo"), "Zm8=");
/// assert_eq!(base64(b""), "");
/// ```
pub fn base64(bytes: &[u8]) -> String {
    let sym = |n: u32, shift: u32| char::from(BASE64_ALPHABET[((n >> shift) & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n, 18));
        out.push(sym(n, 12));
        out.push(if chunk.len() > 1 { sym(n, 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n, 0) } else { '=' });
    }
    out
}

/// The three base64 fragments that identify `bytes` inside a longer
/// base64-encoded text, one per byte offset modulo 3 (Sigma `base64offset`,
/// same output as pySigma).
///
/// For offset `i` in `0..3`, `bytes` is encoded after `i` filler bytes and
/// the characters that also depend on the unknown surrounding bytes are cut
/// off: the first 0, 2 or 3 characters, and at the end 0, 3 or 2 characters
/// depending on `(bytes.len() + i) % 3`. Element `i` is therefore a substring
/// of `base64(p + bytes + s)` whenever `p.len() % 3 == i`. For values shorter
/// than three bytes some fragments can be empty (and then match anything),
/// exactly as in pySigma; front ends may want to reject such values.
///
/// ```
/// use detect_core::compile::modifiers::{base64offset, utf16le};
/// assert_eq!(base64offset(b"/bin/bash"), ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
/// assert_eq!(
///     base64offset(&utf16le("Invoke-")),
///     ["SQBuAHYAbwBrAGUALQ", "kAbgB2AG8AawBlAC0A", "JAG4AdgBvAGsAZQAtA"]
/// );
/// ```
pub fn base64offset(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(bytes);
            let encoded = base64(&buf);
            let start = START[i];
            let end = encoded
                .len()
                .saturating_sub(END_TRIM[(bytes.len() + i) % 3]);
            if start < end {
                encoded[start..end].to_string()
            } else {
                String::new()
            }
        })
        .collect()
}

/// The characters the `windash` modifier treats as interchangeable: hyphen,
/// slash, en dash, em dash and horizontal bar.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Expands every `-` or `/` that starts a word (pySigma's `\B[-/]\b`: not
/// preceded by a word character, followed by one) into all five
/// [`WINDASH_CHARS`] (Sigma `windash`). Dashes inside words (`param-name`) and
/// other dash characters in the value are left as written.
///
/// With `n` such positions in `text` the result has `5^n` distinct strings,
/// `text` itself first; at each position the original character comes
/// first, then the others in [`WINDASH_CHARS`] order, and the last position
/// varies fastest. Fails when more than `limit` strings would be produced.
/// Front ends apply this to the literal parts of a wildcard pattern.
///
/// ```
/// use detect_core::compile::modifiers::windash_variants;
/// let v = windash_variants("-enc", 10).unwrap();
/// assert_eq!(v, ["-enc", "/enc", "\u{2013}enc", "\u{2014}enc", "\u{2015}enc"]);
/// assert_eq!(windash_variants("plain", 10).unwrap(), ["plain"]);
/// assert!(windash_variants("-a -b -c", 100).is_err()); // 125 variants
/// ```
pub fn windash_variants(text: &str, limit: usize) -> Result<Vec<String>, String> {
    let chars: Vec<char> = text.chars().collect();
    let positions: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            // pySigma's `\B[-/]\b`: a `-` or `/` that starts a word (not preceded
            // by a word character, followed by one), e.g. the first dash of `-a-b`.
            let word = |c: &char| c.is_alphanumeric() || *c == '_';
            matches!(c, '-' | '/')
                && !(i > 0 && word(&chars[i - 1]))
                && chars.get(i + 1).is_some_and(word)
        })
        .map(|(i, _)| i)
        .collect();
    let n = positions.len();
    let total = u32::try_from(n)
        .ok()
        .and_then(|n| 5usize.checked_pow(n))
        .filter(|&t| t <= limit)
        .ok_or_else(|| {
            format!(
                "windash: `{text}` contains {n} dash characters, which would expand to 5^{n} \
                 variants, more than the limit of {limit}"
            )
        })?;
    // Per position: the original character first, then the other four.
    let choices: Vec<[char; 5]> = positions
        .iter()
        .map(|&p| {
            let orig = chars[p];
            let mut c = [orig; 5];
            for (slot, alt) in c[1..]
                .iter_mut()
                .zip(WINDASH_CHARS.iter().filter(|&&w| w != orig))
            {
                *slot = *alt;
            }
            c
        })
        .collect();
    let mut out = Vec::with_capacity(total);
    let mut buf = chars.clone();
    for k in 0..total {
        let mut rem = k;
        for (j, &p) in positions.iter().enumerate().rev() {
            buf[p] = choices[j][rem % 5];
            rem /= 5;
        }
        out.push(buf.iter().collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use detect_test_support::XorShift64Star as Rng;

    #[test]
    fn utf16_table() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            ("", &[], &[]),
            (
                "cmd",
                &[0x63, 0, 0x6d, 0, 0x64, 0],
                &[0, 0x63, 0, 0x6d, 0, 0x64],
            ),
            ("ä", &[0xE4, 0], &[0, 0xE4]),
            ("€", &[0xAC, 0x20], &[0x20, 0xAC]),
            ("𝄞", &[0x34, 0xD8, 0x1E, 0xDD], &[0xD8, 0x34, 0xDD, 0x1E]),
        ];
        for &(s, le, be) in cases {
            assert_eq!(utf16le(s), le, "utf16le({s:?})");
            assert_eq!(utf16be(s), be, "utf16be({s:?})");
            let mut bom = vec![0xFF, 0xFE];
            bom.extend_from_slice(le);
            assert_eq!(utf16_bom(s), bom, "utf16_bom({s:?})");
        }
    }

    #[test]
    fn base64_table() {
        // RFC 4648 test vectors plus binary and UTF-16 input.
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xFB, 0xFF, 0xBF], "+/+/"),
            (&[0, 0, 0], "AAAA"),
            (b"I\0E\0X\0", "SQBFAFgA"),
        ];
        for &(bytes, want) in cases {
            assert_eq!(base64(bytes), want, "base64({bytes:?})");
        }
    }

    #[test]
    fn base64offset_table() {
        let cases: &[(&[u8], [&str; 3])] = &[
            (b"/bin/bash", ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]),
            (b"foobar", ["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]),
            (b"IEX", ["SUVY", "lFW", "JRV"]),
            (b"Invoke-", ["SW52b2tlL", "ludm9rZS", "JbnZva2Ut"]),
            (
                b"I\0n\0v\0o\0k\0e\0-\0",
                [
                    "SQBuAHYAbwBrAGUALQ",
                    "kAbgB2AG8AawBlAC0A",
                    "JAG4AdgBvAGsAZQAtA",
                ],
            ),
            (b"ab", ["YW", "Fi", "hY"]),
            (b"a", ["Y", "", "h"]),
            (b"", ["", "", ""]),
        ];
        for (bytes, want) in cases {
            assert_eq!(base64offset(bytes), want, "base64offset({bytes:?})");
        }
    }

    #[test]
    fn base64offset_finds_value_at_any_offset() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        for _ in 0..3000 {
            let value = rng.bytes(12);
            let variants = base64offset(&value);
            for _ in 0..4 {
                let p = rng.bytes(7);
                let s = rng.bytes(7);
                let mut whole = p.clone();
                whole.extend_from_slice(&value);
                whole.extend_from_slice(&s);
                let encoded = base64(&whole);
                assert!(
                    variants.iter().any(|v| encoded.contains(v.as_str())),
                    "{value:?} in {p:?}+value+{s:?}"
                );
                // More precisely: the variant for the value's offset modulo 3.
                assert!(
                    encoded.contains(variants[p.len() % 3].as_str()),
                    "variant {} of {value:?} in {p:?}+value+{s:?}",
                    p.len() % 3
                );
            }
        }
    }

    #[test]
    fn windash_table() {
        assert_eq!(windash_variants("", 1).unwrap(), [""]);
        assert_eq!(windash_variants("abc", 1).unwrap(), ["abc"]);
        assert!(windash_variants("abc", 0).is_err());
        assert_eq!(
            windash_variants("/c", 5).unwrap(),
            ["/c", "-c", "\u{2013}c", "\u{2014}c", "\u{2015}c"]
        );
        // Only a `-` or `/` that starts a word is a position (pySigma's `\B[-/]\b`).
        assert_eq!(windash_variants("\u{2014}x", 5).unwrap(), ["\u{2014}x"]);
        assert_eq!(windash_variants("param-name", 5).unwrap(), ["param-name"]);
        assert_eq!(windash_variants("a -", 5).unwrap(), ["a -"]);
        assert_eq!(windash_variants("-param-name", 5).unwrap().len(), 5);
        assert_eq!(
            windash_variants("x /-y", 5).unwrap(),
            [
                "x /-y",
                "x //y",
                "x /\u{2013}y",
                "x /\u{2014}y",
                "x /\u{2015}y"
            ]
        );
        let v = windash_variants(" -a /b ", 25).unwrap();
        assert_eq!(v.len(), 25);
        assert_eq!(v[0], " -a /b ");
        assert_eq!(v[1], " -a -b ");
        assert_eq!(v[5], " /a /b ");
        let mut sorted = v.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 25, "duplicates in {v:?}");
        for s in &v {
            let dashes: Vec<char> = s.chars().filter(|c| WINDASH_CHARS.contains(c)).collect();
            assert_eq!(dashes.len(), 2);
            assert_eq!(s.replace(|c| WINDASH_CHARS.contains(&c), "-"), " -a -b ");
        }
        let err = windash_variants(" -a /b ", 24).unwrap_err();
        assert!(err.contains("limit of 24"), "{err}");
        assert_eq!(windash_variants("-a -b -c", 125).unwrap().len(), 125);
        // Far too many positions must not overflow.
        let many = " -a".repeat(200);
        assert!(windash_variants(&many, usize::MAX).is_err());
    }
}
