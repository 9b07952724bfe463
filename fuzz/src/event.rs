//! Structured events for the event differential: JSON documents whose paths
//! and values come from the rules' own vocabulary ([`crate::vocab`]), with the
//! edge cases rules are sensitive to (case and Unicode variants, wildcard
//! instantiations, addresses around networks, numbers around bounds, arrays,
//! nulls, `#text` elements, escaped strings).

use std::fmt;

use arbitrary::{Arbitrary, Result, Unstructured};
use detect::Layout;
use detect::ir::{Cidr, Expr, GlobToken, Number, StrKind, Test, TimePart};

use crate::json::{Doc, Escapes, Leaf, Scalar, raw_literal};
use crate::vocab::{Lit, Vocab};

/// Characters that stress case folding, wildcards, escapes and windash.
pub const SPECIAL_CHARS: &[char] = &[
    '*', '?', '\\', ' ', '\u{212A}', 'İ', 'ı', 'ſ', 'ß', 'ẞ', 'Ä', 'ä', 'Σ', 'σ', 'ς', '€', '\0',
    '😀', '-', '/', '\u{2013}', '\u{2014}', '\u{2015}', '.', ':', '%', 'K', 'k', 'I', 'i', 'S',
    '\u{0301}', '"', '\n',
];

/// Short strings picked as prefixes, suffixes and wildcard fillers.
const FILLERS: &[&str] = &[
    "",
    " ",
    "x",
    "\\",
    "://",
    "C:\\Windows\\",
    ".exe",
    "msiexec",
    " /i ",
    "http://",
    "*",
    "?",
];

/// An event as JSON text, with an optional forced layout.
pub struct EventInput {
    /// One NDJSON line.
    pub json: String,
    /// `Some`: the layout forced with `JsonEvent::set_layout_override`.
    pub layout_override: Option<Layout>,
    /// Also run the 1,000 generated rules (slow: every other input).
    pub generated: bool,
}

impl fmt::Debug for EventInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "EventInput (reproducer; rule sets: Builtin, Semantics{}):",
            if self.generated { ", Gen1000" } else { "" }
        )?;
        writeln!(
            f,
            "let mut event = detect::JsonEvent::parse_str({}).unwrap();",
            raw_literal(&self.json)
        )?;
        if let Some(l) = self.layout_override {
            writeln!(f, "event.set_layout_override(Some(detect::Layout::{l:?}));")?;
        }
        Ok(())
    }
}

impl<'a> Arbitrary<'a> for EventInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        event_input(u, crate::vocab())
    }
}

/// Builds one event from `u` with the paths and literals of `vocab`.
pub fn event_input(u: &mut Unstructured<'_>, vocab: &Vocab) -> Result<EventInput> {
    let layout_index = u.int_in_range(0..=2u8)? as usize;
    let layout = Layout::ALL[layout_index];
    let mut doc = Doc::new();
    match layout {
        Layout::Flat => {}
        Layout::EvtxNested => doc.ensure_object("Event.System"),
        Layout::Ecs => doc.insert(
            "ecs.version",
            Leaf::One(Scalar::Str("8.11.0".into())),
            false,
        ),
    }
    // Most events are built to satisfy one rule (then mutated by the choices
    // below and by extra fields); the others are free combinations of fields.
    let sets: Vec<&Vec<Expr>> = vocab.rules[layout_index]
        .iter()
        .filter(|r| !r.is_empty())
        .collect();
    let directed = !sets.is_empty() && u.ratio(3u8, 4u8)?;
    if directed {
        let set = *u.choose(&sets)?;
        let rule = u.choose(set)?;
        let mut placed = Vec::new();
        satisfy(u, vocab, rule, layout, &mut placed, 0)?;
        for (path, leaf) in placed {
            let duplicate = u.ratio(1u8, 30u8)?;
            doc.insert(&path, leaf, duplicate);
        }
    }
    let fields = &vocab.fields[layout_index];
    let count = u.int_in_range(0..=if directed { 3u8 } else { 10 })?;
    for _ in 0..count {
        let choice = u.int_in_range(0..=99u8)?;
        let (path, own): (String, &[usize]) = if choice < 85 && !fields.is_empty() {
            let f = u.choose(fields)?;
            (f.path.clone(), &f.lits)
        } else if choice < 95 {
            let name = *u.choose(&["Data", "Message", "x", "Details", "payload"])?;
            let p = match layout {
                Layout::EvtxNested => format!("Event.EventData.{name}"),
                _ => name.to_string(),
            };
            (p, &vocab.keywords)
        } else {
            (short_string(u, 12)?, &[])
        };
        let leaf = if u.ratio(1u8, 7u8)? {
            let n = u.int_in_range(0..=4u8)?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(value(u, vocab, own)?);
            }
            Leaf::Array(items)
        } else {
            Leaf::One(value(u, vocab, own)?)
        };
        let duplicate = u.ratio(1u8, 20u8)?;
        doc.insert(&path, leaf, duplicate);
    }
    let escapes = Escapes {
        unicode: u.ratio(1u8, 6u8)?,
        solidus: u.ratio(1u8, 6u8)?,
    };
    let layout_override = if u.ratio(1u8, 10u8)? {
        Some(*u.choose(&Layout::ALL)?)
    } else {
        None
    };
    Ok(EventInput {
        json: doc.render(escapes),
        layout_override,
        generated: u.arbitrary()?,
    })
}

/// Adds to `placed` the fields and values that (mostly) make `expr` hold:
/// every child of `And`, one child of `Or`, rarely the operand of `Not`
/// (a near miss), and for each test a value built from its own literal.
fn satisfy(
    u: &mut Unstructured<'_>,
    vocab: &Vocab,
    expr: &Expr,
    layout: Layout,
    placed: &mut Vec<(String, Leaf)>,
    depth: usize,
) -> Result<()> {
    if depth > 32 {
        return Ok(());
    }
    match expr {
        Expr::And(v) => {
            for e in v {
                satisfy(u, vocab, e, layout, placed, depth + 1)?;
            }
        }
        Expr::Or(v) => {
            if !v.is_empty() {
                let e = u.choose(v)?;
                satisfy(u, vocab, e, layout, placed, depth + 1)?;
            }
        }
        Expr::Not(e) => {
            if u.ratio(1u8, 5u8)? {
                satisfy(u, vocab, e, layout, placed, depth + 1)?;
            }
        }
        Expr::Keyword(p) => {
            let text = match &p.kind {
                StrKind::Glob(toks) => glob_instance(u, vocab, toks)?,
                StrKind::Exact(s)
                | StrKind::Prefix(s)
                | StrKind::Suffix(s)
                | StrKind::Contains(s) => text_variant(u, s)?,
            };
            let path = match layout {
                Layout::EvtxNested => "Event.EventData.Data",
                _ => "Data",
            };
            placed.push((
                path.to_string(),
                Leaf::One(Scalar::Str(wrap(u, vocab, &text)?)),
            ));
        }
        Expr::Field(t) => {
            let value = match &t.test {
                Test::Str(p) => {
                    let text = match &p.kind {
                        StrKind::Exact(s) => text_variant(u, s)?,
                        StrKind::Prefix(s) => {
                            format!("{}{}", text_variant(u, s)?, filler(u, vocab)?)
                        }
                        StrKind::Suffix(s) => {
                            format!("{}{}", filler(u, vocab)?, text_variant(u, s)?)
                        }
                        StrKind::Contains(s) => {
                            let v = text_variant(u, s)?;
                            wrap(u, vocab, &v)?
                        }
                        StrKind::Glob(toks) => glob_instance(u, vocab, toks)?,
                    };
                    Some(Scalar::Str(text))
                }
                Test::Regex(r) => Some(Scalar::Str(r.pattern.clone())),
                Test::Cidr(c) => Some(Scalar::Str(address_near(u, c)?)),
                Test::Num { value, .. } => Some(number_near(u, *value)?),
                Test::Time { part, value, .. } => Some(Scalar::Str(time_with(u, *part, *value)?)),
                Test::Exists(true) => Some(raw_scalar(u)?),
                Test::Exists(false) => None,
                Test::Null => u.ratio(1u8, 2u8)?.then_some(Scalar::Null),
                Test::FieldRef { other, .. } => {
                    let v = Scalar::Str(short_string(u, 6)?);
                    placed.push((other.clone(), Leaf::One(v.clone())));
                    Some(v)
                }
            };
            if let Some(v) = value {
                let leaf = if u.ratio(1u8, 8u8)? {
                    Leaf::Array(vec![raw_scalar(u)?, v])
                } else {
                    Leaf::One(v)
                };
                placed.push((t.field.clone(), leaf));
            }
        }
    }
    Ok(())
}

/// A value for a field whose own literals are `own`.
fn value(u: &mut Unstructured<'_>, vocab: &Vocab, own: &[usize]) -> Result<Scalar> {
    let choice = u.int_in_range(0..=99u8)?;
    if choice < 65 && !own.is_empty() {
        let lit = &vocab.lits[*u.choose(own)?];
        return lit_value(u, vocab, lit);
    }
    if choice < 80 && !vocab.lits.is_empty() {
        let lit = u.choose(&vocab.lits)?;
        return lit_value(u, vocab, lit);
    }
    raw_scalar(u)
}

/// An arbitrary scalar.
pub fn raw_scalar(u: &mut Unstructured<'_>) -> Result<Scalar> {
    Ok(match u.int_in_range(0..=6u8)? {
        0 => Scalar::Null,
        1 => Scalar::Bool(u.arbitrary()?),
        2 => Scalar::Number(i64::arbitrary(u)?.to_string()),
        3 => {
            let f = f64::arbitrary(u)?;
            if f.is_finite() {
                Scalar::Number(float_text(f))
            } else {
                Scalar::Number("0.5".into())
            }
        }
        4 => Scalar::Number(u64::arbitrary(u)?.to_string()),
        _ => Scalar::Str(short_string(u, 24)?),
    })
}

/// JSON text of a finite float (`{:?}` keeps a `.0` or an exponent).
fn float_text(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// A short arbitrary string, mixing special characters in.
pub fn short_string(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let n = u.int_in_range(0..=max)?;
    let mut s = String::new();
    for _ in 0..n {
        let c = if u.ratio(1u8, 4u8)? {
            *u.choose(SPECIAL_CHARS)?
        } else {
            char::from(u.int_in_range(0x20..=0x7eu8)?)
        };
        s.push(c);
    }
    Ok(s)
}

/// A value derived from `lit`: a match, a near miss, or a variant.
fn lit_value(u: &mut Unstructured<'_>, vocab: &Vocab, lit: &Lit) -> Result<Scalar> {
    Ok(match lit {
        Lit::Text(t) => {
            let v = text_variant(u, t)?;
            Scalar::Str(wrap(u, vocab, &v)?)
        }
        Lit::Glob(toks) => {
            let v = glob_instance(u, vocab, toks)?;
            Scalar::Str(wrap(u, vocab, &v)?)
        }
        Lit::Cidr(c) => Scalar::Str(address_near(u, c)?),
        Lit::Num(n) => number_near(u, *n)?,
        Lit::Time(part, v) => Scalar::Str(time_with(u, *part, *v)?),
    })
}

/// Case, Unicode and edit variants of `t` (often `t` itself).
pub fn text_variant(u: &mut Unstructured<'_>, t: &str) -> Result<String> {
    let chars: Vec<char> = t.chars().collect();
    Ok(match u.int_in_range(0..=11u8)? {
        0..=3 => t.to_string(),
        4 => t.to_uppercase(),
        5 => {
            let mut bits = u64::arbitrary(u)?;
            chars
                .iter()
                .map(|c| {
                    bits = bits.rotate_right(1);
                    if bits & 1 == 1 {
                        c.to_uppercase().next().unwrap_or(*c)
                    } else {
                        c.to_lowercase().next().unwrap_or(*c)
                    }
                })
                .collect()
        }
        6 => {
            let mut bits = u64::arbitrary(u)?;
            chars
                .iter()
                .map(|&c| {
                    bits = bits.rotate_right(1);
                    if bits & 1 == 0 {
                        return c;
                    }
                    match c {
                        'k' | 'K' => '\u{212A}',
                        'i' => 'İ',
                        'I' => 'ı',
                        's' | 'S' => 'ſ',
                        'a' => 'ä',
                        'A' => 'Ä',
                        'o' | 'O' => 'ö',
                        '-' => '\u{2013}',
                        '/' => '\u{2015}',
                        c => c,
                    }
                })
                .collect()
        }
        7 if !chars.is_empty() => {
            let cut = u.int_in_range(0..=chars.len() - 1)?;
            chars[..cut].iter().collect()
        }
        8 if !chars.is_empty() => {
            let at = u.int_in_range(0..=chars.len() - 1)?;
            chars
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != at)
                .map(|(_, c)| c)
                .collect()
        }
        9 => {
            let at = u.int_in_range(0..=chars.len())?;
            let mut v = chars.clone();
            v.insert(at, *u.choose(SPECIAL_CHARS)?);
            v.into_iter().collect()
        }
        10 => format!("{t}{t}"),
        _ => t.to_lowercase(),
    })
}

/// Adds a prefix and/or a suffix, sometimes.
fn wrap(u: &mut Unstructured<'_>, vocab: &Vocab, s: &str) -> Result<String> {
    if u.ratio(2u8, 3u8)? {
        return Ok(s.to_string());
    }
    let pre = filler(u, vocab)?;
    let post = filler(u, vocab)?;
    Ok(format!("{pre}{s}{post}"))
}

fn filler(u: &mut Unstructured<'_>, vocab: &Vocab) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => String::new(),
        1 => u.choose(FILLERS)?.to_string(),
        2 => match u.choose(&vocab.lits)? {
            Lit::Text(t) => t.clone(),
            _ => String::new(),
        },
        _ => short_string(u, 6)?,
    })
}

/// Text for a wildcard pattern: usually a match, sometimes a near miss.
fn glob_instance(u: &mut Unstructured<'_>, vocab: &Vocab, toks: &[GlobToken]) -> Result<String> {
    let mut out = String::new();
    for t in toks {
        match t {
            GlobToken::Lit(s) => {
                if u.ratio(1u8, 5u8)? {
                    out.push_str(&text_variant(u, s)?);
                } else {
                    out.push_str(s);
                }
            }
            GlobToken::AnyChar => match u.int_in_range(0..=5u8)? {
                0 => {}
                1 => {
                    out.push(*u.choose(SPECIAL_CHARS)?);
                    out.push('x');
                }
                2 | 3 => out.push(*u.choose(SPECIAL_CHARS)?),
                _ => out.push(char::from(u.int_in_range(b'a'..=b'z')?)),
            },
            GlobToken::AnyRun => match u.int_in_range(0..=3u8)? {
                0 => {}
                1 => out.push_str(&short_string(u, 8)?),
                2 => out.push_str(&filler(u, vocab)?),
                _ => out.push(*u.choose(SPECIAL_CHARS)?),
            },
        }
    }
    Ok(out)
}

/// An address inside, at the edge of, or outside `net`, in several notations.
fn address_near(u: &mut Unstructured<'_>, net: &Cidr) -> Result<String> {
    let width: u32 = if net.v4 { 32 } else { 128 };
    let host_bits = width - u32::from(net.prefix);
    let host_mask: u128 = if host_bits == 0 {
        0
    } else if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let r = u128::arbitrary(u)?;
    let mut bits = match u.int_in_range(0..=3u8)? {
        0 | 1 => net.addr | (r & host_mask),
        2 if net.prefix > 0 => (net.addr | (r & host_mask)) ^ (1u128 << host_bits),
        _ => r,
    };
    if net.v4 {
        bits &= u128::from(u32::MAX);
        let a = std::net::Ipv4Addr::from(bits as u32);
        Ok(match u.int_in_range(0..=5u8)? {
            0..=2 => a.to_string(),
            3 => format!("::ffff:{a}"),
            4 => format!("{a} "),
            _ => {
                let o = a.octets();
                format!("{}.{}.{}.{:03}", o[0], o[1], o[2], o[3])
            }
        })
    } else {
        let a = std::net::Ipv6Addr::from(bits);
        Ok(match u.int_in_range(0..=4u8)? {
            0..=2 => a.to_string(),
            3 => format!("[{a}]"),
            _ => format!("{a}%eth0"),
        })
    }
}

/// `n` or a neighbour, as a JSON number or as text.
fn number_near(u: &mut Unstructured<'_>, n: Number) -> Result<Scalar> {
    let text = match n {
        Number::Int(i) => {
            let v = i.saturating_add(i64::from(u.int_in_range(-1..=1i8)?));
            match u.int_in_range(0..=5u8)? {
                0..=2 => v.to_string(),
                3 => format!("{v}.0"),
                4 => format!("{v}e0"),
                _ => format!("{}", v as f64 + 0.5),
            }
        }
        Number::Float(f) => {
            let v = f + f64::from(u.int_in_range(-1..=1i8)?) * 0.25;
            float_text(v)
        }
    };
    Ok(if u.ratio(1u8, 3u8)? {
        Scalar::Str(text)
    } else {
        Scalar::Number(text)
    })
}

/// A timestamp whose `part` is near `v`, in one of several notations.
fn time_with(u: &mut Unstructured<'_>, part: TimePart, v: i64) -> Result<String> {
    let mut year = u.int_in_range(1999..=2030i64)?;
    let mut month = u.int_in_range(1..=12i64)?;
    let mut day = u.int_in_range(1..=28i64)?;
    let mut hour = u.int_in_range(0..=23i64)?;
    let mut minute = u.int_in_range(0..=59i64)?;
    let near = v + i64::from(u.int_in_range(-1..=1i8)?);
    match part {
        TimePart::Minute => minute = near.clamp(0, 59),
        TimePart::Hour => hour = near.clamp(0, 23),
        TimePart::Day => day = near.clamp(1, 31),
        TimePart::Month => month = near.clamp(1, 12),
        TimePart::Year => year = near.clamp(0, 9999),
        TimePart::Week => day = (near * 7).clamp(1, 28),
    }
    Ok(match u.int_in_range(0..=4u8)? {
        0 | 1 => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:00.000Z"),
        2 => format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:00"),
        3 => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:30+02:00"),
        _ => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}"),
    })
}
