//! Matcher primitives against slow, obviously correct references written in
//! this crate (`detect_fuzz::reference`): case-insensitive equality, prefix,
//! suffix and substring, case-sensitive substring, wildcards, CIDR, numbers,
//! the compile-time expansions base64, base64offset, UTF-16 and windash,
//! and the prefilter's DFA (every atom occurring in a text).
#![no_main]

use std::fmt;
use std::net::IpAddr;

use arbitrary::{Arbitrary, Result, Unstructured};
use detect::__internals::compile::modifiers;
use detect::__internals::matcher::{self, GlobTok};
use detect::ir::{NumOp, Number};
use detect_fuzz::reference::{self as r, Piece};
use libfuzzer_sys::fuzz_target;

/// Text over a small alphabet rich in case-folding traps, so that haystacks
/// and needles meet.
struct Txt(String);

const ALPHABET: &[char] = &[
    'a', 'b', 'A', 'B', 'k', 'K', '\u{212A}', 'i', 'I', 'İ', 'ı', 's', 'S', 'ſ', 'ß', 'ẞ', 'ä',
    'Ä', 'σ', 'Σ', 'ς', '*', '?', '\\', '-', '/', '_', ' ', 'x', '€', '😀', '\u{2013}', '1', '.',
    ':', 'ǅ', 'Ω', '\u{2126}', 'ﬀ',
];

impl<'a> Arbitrary<'a> for Txt {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let n = u.int_in_range(0..=40usize)?;
        let mut s = String::new();
        for _ in 0..n {
            if u.ratio(1u8, 8u8)? {
                s.push(char::from(u.int_in_range(0x20..=0x7eu8)?));
            } else {
                s.push(*u.choose(ALPHABET)?);
            }
        }
        Ok(Txt(s))
    }
}

impl fmt::Debug for Txt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[derive(Arbitrary, Debug)]
enum GlobPiece {
    Lit(Txt),
    One,
    Any,
}

#[derive(Arbitrary, Debug)]
enum Case {
    /// Case-insensitive equality, prefix, suffix, substring; cased substring.
    Text { hay: Txt, needle: Txt },
    /// Whole-string wildcard match.
    Glob {
        hay: Txt,
        pattern: Vec<GlobPiece>,
        ci: bool,
    },
    /// CIDR parsing and membership: an address near a network.
    Cidr {
        net: [u8; 16],
        v4: bool,
        prefix: u8,
        host: [u8; 16],
        mix: u8,
        text: u8,
    },
    /// Number comparisons and parsing.
    Number {
        lhs: i64,
        rhs: i64,
        lhs_float: Option<f64>,
        rhs_float: Option<f64>,
        op: u8,
    },
    /// base64, base64offset, utf16le/be/bom.
    Encode { bytes: Vec<u8>, text: Txt },
    /// windash variants.
    Windash { text: Txt },
    /// The prefilter's DFA (`prefilter::dfa::PrefixDfa`): every atom that
    /// occurs in `text[start..]`, ASCII case folded, against brute force.
    Atoms {
        atoms: Vec<Bytes>,
        text: Bytes,
        /// Copies of the text appended (long texts are scanned in lanes).
        repeat: u8,
        start: u16,
    },
    /// The prefilter's first pass (`prefilter::teddy::Teddy`): the leftmost
    /// occurrence of any ASCII pattern, case folded, by the SIMD path and the
    /// bytewise path, against brute force.
    Teddy {
        patterns: Vec<Bytes>,
        text: Bytes,
        /// Copies of the text appended (texts longer than a 32-byte step).
        repeat: u8,
    },
}

/// Bytes mostly from a small alphabet (so that atoms overlap, share
/// windows and occur in texts), sometimes any byte (more byte classes than
/// a row holds, non-ASCII).
struct Bytes(Vec<u8>);

impl<'a> Arbitrary<'a> for Bytes {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let n = u.int_in_range(0..=24usize)?;
        let mut b = Vec::with_capacity(n);
        for _ in 0..n {
            if u.ratio(1u8, 6u8)? {
                b.push(u.arbitrary()?);
            } else {
                b.push(*u.choose(b"abAB.\\ x")?);
            }
        }
        Ok(Bytes(b))
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

fuzz_target!(|case: Case| run(case));

fn run(case: Case) {
    match case {
        Case::Text { hay, needle } => {
            let (h, n) = (hay.0.as_str(), needle.0.as_str());
            let folded = matcher::fold(n);
            assert_eq!(folded.chars().collect::<Vec<_>>(), r::fold(n), "fold");
            assert_eq!(matcher::eq_ci(h, &folded), r::eq_ci(h, n), "eq_ci");
            assert_eq!(
                matcher::starts_with_ci(h, &folded),
                r::starts_with_ci(h, n),
                "starts_with_ci"
            );
            assert_eq!(
                matcher::ends_with_ci(h, &folded),
                r::ends_with_ci(h, n),
                "ends_with_ci"
            );
            assert_eq!(
                matcher::contains_ci(h, &folded),
                r::contains_ci(h, n),
                "contains_ci"
            );
            assert_eq!(matcher::contains(h, n), r::contains(h, n), "contains");
            // The needle placed inside the haystack is always found.
            let joined = format!("{h}{n}{h}");
            assert!(
                matcher::contains_ci(&joined, &folded),
                "contains_ci of an embedded needle"
            );
            assert!(
                matcher::contains(&joined, n),
                "contains of an embedded needle"
            );
        }
        Case::Glob { hay, pattern, ci } => {
            let pieces: Vec<Piece> = pattern
                .iter()
                .map(|p| match p {
                    GlobPiece::Lit(t) => Piece::Lit(t.0.clone()),
                    GlobPiece::One => Piece::One,
                    GlobPiece::Any => Piece::Any,
                })
                .collect();
            let lits: Vec<String> = pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) if ci => matcher::fold(s),
                    Piece::Lit(s) => s.clone(),
                    _ => String::new(),
                })
                .collect();
            let toks: Vec<GlobTok<'_>> = pieces
                .iter()
                .zip(&lits)
                .map(|(p, l)| match p {
                    Piece::Lit(_) => GlobTok::lit(l),
                    Piece::One => GlobTok::AnyChar,
                    Piece::Any => GlobTok::AnyRun,
                })
                .collect();
            assert_eq!(
                matcher::glob(&hay.0, &toks, ci),
                r::glob(&hay.0, &pieces, ci),
                "glob"
            );
        }
        Case::Cidr {
            net,
            v4,
            prefix,
            host,
            mix,
            text,
        } => {
            let width = if v4 { 32 } else { 128 };
            let prefix = prefix % (width + 1);
            let net_ip: IpAddr = if v4 {
                IpAddr::from([net[0], net[1], net[2], net[3]])
            } else {
                IpAddr::from(net)
            };
            let net_text = format!("{net_ip}/{prefix}");
            let parsed = matcher::parse_cidr(&net_text).expect("a well-formed network parses");
            assert_eq!(parsed.v4, v4);
            assert_eq!(parsed.prefix, prefix);
            // An address sharing the network's first `mix % (width + 1)` bits.
            let share = u32::from(mix) % (u32::from(width) + 1);
            let addr_bytes: Vec<u8> = (0..width / 8)
                .map(|i| {
                    let mut b = 0u8;
                    for bit in 0..8 {
                        let k = u32::from(i) * 8 + bit;
                        let src = if k < share {
                            net[i as usize]
                        } else {
                            host[i as usize]
                        };
                        b |= src & (0x80 >> bit);
                    }
                    b
                })
                .collect();
            let addr: IpAddr = if v4 {
                IpAddr::from([addr_bytes[0], addr_bytes[1], addr_bytes[2], addr_bytes[3]])
            } else {
                let mut a = [0u8; 16];
                a.copy_from_slice(&addr_bytes);
                IpAddr::from(a)
            };
            let hay = match (text % 4, addr) {
                (1, IpAddr::V4(a)) => format!("::ffff:{a}"),
                (2, a) => format!(" {a}"),
                (3, IpAddr::V4(a)) => format!("::{a}"),
                (_, a) => a.to_string(),
            };
            assert_eq!(
                matcher::cidr_contains(&hay, parsed.v4, parsed.addr, parsed.prefix),
                r::cidr_contains(&hay, net_ip, prefix),
                "cidr_contains({hay:?}, {net_text})"
            );
        }
        Case::Number {
            lhs,
            rhs,
            lhs_float,
            rhs_float,
            op,
        } => {
            let ops = [
                NumOp::Eq,
                NumOp::Ne,
                NumOp::Lt,
                NumOp::Le,
                NumOp::Gt,
                NumOp::Ge,
            ];
            let op = ops[usize::from(op) % ops.len()];
            let a = lhs_float.map_or(Number::Int(lhs), Number::Float);
            let b = rhs_float.map_or(Number::Int(rhs), Number::Float);
            // Integers compare exactly (as i128), anything with a float as f64.
            let want = match (a, b) {
                (Number::Int(x), Number::Int(y)) => {
                    cmp(i128::from(x).partial_cmp(&i128::from(y)), op)
                }
                _ => {
                    let f = |n: Number| match n {
                        Number::Int(i) => i as f64,
                        Number::Float(f) => f,
                    };
                    cmp(f(a).partial_cmp(&f(b)), op)
                }
            };
            assert_eq!(
                matcher::cmp_number(a, op, b),
                want,
                "cmp_number({a:?}, {op:?}, {b:?})"
            );
            assert_eq!(
                detect::__internals::number::parse_number(&lhs.to_string()),
                Some(Number::Int(lhs))
            );
            if let Some(f) = lhs_float.filter(|f| f.is_finite()) {
                let text = format!("{f:?}");
                let want = if text.contains(['.', 'e']) {
                    Number::Float(f)
                } else {
                    Number::Int(f as i64)
                };
                assert_eq!(
                    detect::__internals::number::parse_number(&text),
                    Some(want),
                    "parse_number({text})"
                );
            }
        }
        Case::Encode { bytes, text } => {
            assert_eq!(modifiers::base64(&bytes), r::base64(&bytes), "base64");
            let frags = modifiers::base64offset(&bytes);
            assert_eq!(frags.len(), 3);
            for (i, frag) in frags.iter().enumerate() {
                assert_eq!(
                    *frag,
                    r::base64offset_fragment(&bytes, i),
                    "base64offset fragment {i}"
                );
                // The fragment is found in the encoding of the value behind any `i` bytes.
                let mut padded = vec![0xA5u8; i + 3];
                padded.truncate(i);
                padded.extend_from_slice(&bytes);
                padded.push(0x5A);
                assert!(
                    r::base64(&padded).contains(frag.as_str()),
                    "fragment {i} inside"
                );
            }
            let units = r::utf16_units(&text.0);
            let le: Vec<u8> = units
                .iter()
                .flat_map(|u| [(*u & 0xff) as u8, (*u >> 8) as u8])
                .collect();
            let be: Vec<u8> = units
                .iter()
                .flat_map(|u| [(*u >> 8) as u8, (*u & 0xff) as u8])
                .collect();
            assert_eq!(modifiers::utf16le(&text.0), le, "utf16le");
            assert_eq!(modifiers::utf16be(&text.0), be, "utf16be");
            let mut bom = vec![0xFF, 0xFE];
            bom.extend(&le);
            assert_eq!(modifiers::utf16_bom(&text.0), bom, "utf16");
        }
        Case::Atoms {
            atoms,
            text,
            repeat,
            start,
        } => {
            let atoms: Vec<Vec<u8>> = atoms.into_iter().map(|a| a.0).collect();
            let mut hay = Vec::new();
            for _ in 0..=repeat % 32 {
                hay.extend_from_slice(&text.0);
            }
            let start = usize::from(start) % (hay.len() + 1);
            let Ok(dfa) = detect::__internals::prefilter::dfa::PrefixDfa::build(&atoms) else {
                panic!("{} atoms refused", atoms.len());
            };
            let mut got = Vec::new();
            dfa.for_each_hit(&hay, start, |a| got.push(a as usize));
            got.sort_unstable();
            got.dedup();
            let want: Vec<usize> = (0..atoms.len())
                .filter(|&i| {
                    let a = &atoms[i];
                    a.is_empty()
                        || (hay.len() >= a.len()
                            && (start..=hay.len() - a.len())
                                .any(|p| hay[p..p + a.len()].eq_ignore_ascii_case(a)))
                })
                .collect();
            assert_eq!(
                got,
                want,
                "atoms {atoms:?} in {:?} from {start}",
                String::from_utf8_lossy(&hay)
            );
        }
        Case::Teddy {
            patterns,
            text,
            repeat,
        } => {
            let patterns: Vec<Vec<u8>> = patterns.into_iter().map(|a| a.0).collect();
            let mut hay = Vec::new();
            for _ in 0..=repeat % 16 {
                hay.extend_from_slice(&text.0);
            }
            let Ok(teddy) = detect::__internals::prefilter::teddy::Teddy::new(&patterns) else {
                assert!(
                    patterns.is_empty() || patterns.iter().any(|p| p.is_empty() || !p.is_ascii()),
                    "{patterns:?} refused"
                );
                return;
            };
            let want = (0..hay.len()).find(|&p| {
                patterns.iter().any(|pat| {
                    hay.get(p..p + pat.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(pat))
                })
            });
            assert_eq!(
                teddy.find(&hay),
                want,
                "{patterns:?} in {:?}",
                String::from_utf8_lossy(&hay)
            );
            assert_eq!(teddy.find_bytewise(&hay), want, "bytewise");
        }
        Case::Windash { text } => {
            let want = r::windash(&text.0, 625);
            match (modifiers::windash_variants(&text.0, 625), want) {
                (Ok(got), Some(want)) => {
                    assert_eq!(got.first(), Some(&text.0), "the value itself comes first");
                    let mut g = got.clone();
                    g.sort();
                    let mut w = want;
                    w.sort();
                    assert_eq!(g, w, "windash variants of {:?}", text.0);
                }
                (Err(_), None) => {}
                (got, want) => panic!(
                    "windash of {:?}: detect gives {:?} variants, the reference {:?}",
                    text.0,
                    got.map(|v| v.len()),
                    want.map(|v| v.len())
                ),
            }
        }
    }
}

fn cmp(o: Option<std::cmp::Ordering>, op: NumOp) -> bool {
    use std::cmp::Ordering::*;
    match (o, op) {
        (None, NumOp::Ne) => true,
        (None, _) => false,
        (Some(o), NumOp::Eq) => o == Equal,
        (Some(o), NumOp::Ne) => o != Equal,
        (Some(o), NumOp::Lt) => o == Less,
        (Some(o), NumOp::Le) => o != Greater,
        (Some(o), NumOp::Gt) => o == Greater,
        (Some(o), NumOp::Ge) => o != Less,
    }
}
