//! A small JSON document builder for generated events.
//!
//! Events are built from (dotted path, value) pairs: each path segment becomes
//! a nested object, a scalar that meets an object at the same path becomes the
//! object's `#text` member (the evtx crate's rendering of an element with both
//! text and attributes), and with `duplicates` a repeated path is written
//! twice instead of replaced. Strings are escaped in one of several
//! equivalent ways, so that the parser's unescaping is exercised too.

/// A JSON scalar or array of scalars.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written (must be valid JSON number text).
    Number(String),
    /// A string.
    Str(String),
}

/// A value placed at a path.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    /// One scalar.
    One(Scalar),
    /// An array of scalars (possibly empty).
    Array(Vec<Scalar>),
}

#[derive(Clone, Debug)]
enum Node {
    Leaf(Leaf),
    Object(Vec<(String, Node)>),
}

/// How strings are escaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Escapes {
    /// Write every non-ASCII character as `\uXXXX` (surrogate pairs above U+FFFF).
    pub unicode: bool,
    /// Write `/` as `\/`.
    pub solidus: bool,
}

/// A JSON object under construction.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    root: Vec<(String, Node)>,
}

impl Doc {
    /// An empty object.
    pub fn new() -> Doc {
        Doc::default()
    }

    /// Places `leaf` at the dotted `path` (empty segments are kept as empty keys).
    pub fn insert(&mut self, path: &str, leaf: Leaf, duplicate: bool) {
        let segments: Vec<&str> = path.split('.').collect();
        insert(&mut self.root, &segments, leaf, duplicate);
    }

    /// Makes sure an object exists at `path` (creating empty ones on the way).
    pub fn ensure_object(&mut self, path: &str) {
        let mut level = &mut self.root;
        for seg in path.split('.') {
            let pos = match level.iter().position(|(k, _)| k == seg) {
                Some(p) => p,
                None => {
                    level.push((seg.to_string(), Node::Object(Vec::new())));
                    level.len() - 1
                }
            };
            if let Node::Leaf(leaf) = &level[pos].1 {
                let leaf = leaf.clone();
                level[pos].1 = Node::Object(vec![("#text".to_string(), Node::Leaf(leaf))]);
            }
            let Node::Object(next) = &mut level[pos].1 else {
                unreachable!("made an object above")
            };
            level = next;
        }
    }

    /// The document as one line of JSON.
    pub fn render(&self, escapes: Escapes) -> String {
        let mut out = String::new();
        write_object(&mut out, &self.root, escapes);
        out
    }
}

fn insert(level: &mut Vec<(String, Node)>, path: &[&str], leaf: Leaf, duplicate: bool) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let existing = level.iter().position(|(k, _)| k == first);
    if rest.is_empty() {
        match existing {
            Some(p) if !duplicate => match &mut level[p].1 {
                Node::Object(members) => {
                    members.retain(|(k, _)| k != "#text");
                    members.insert(0, ("#text".to_string(), Node::Leaf(leaf)));
                }
                node => *node = Node::Leaf(leaf),
            },
            _ => level.push((first.to_string(), Node::Leaf(leaf))),
        }
        return;
    }
    let pos = match existing {
        Some(p) => p,
        None => {
            level.push((first.to_string(), Node::Object(Vec::new())));
            level.len() - 1
        }
    };
    if let Node::Leaf(old) = &level[pos].1 {
        let old = old.clone();
        level[pos].1 = Node::Object(vec![("#text".to_string(), Node::Leaf(old))]);
    }
    if let Node::Object(members) = &mut level[pos].1 {
        insert(members, rest, leaf, duplicate);
    }
}

fn write_object(out: &mut String, members: &[(String, Node)], escapes: Escapes) {
    out.push('{');
    for (i, (key, node)) in members.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_string(out, key, escapes);
        out.push_str(": ");
        match node {
            Node::Object(m) => write_object(out, m, escapes),
            Node::Leaf(Leaf::One(s)) => write_scalar(out, s, escapes),
            Node::Leaf(Leaf::Array(items)) => {
                out.push('[');
                for (j, s) in items.iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    write_scalar(out, s, escapes);
                }
                out.push(']');
            }
        }
    }
    out.push('}');
}

fn write_scalar(out: &mut String, s: &Scalar, escapes: Escapes) {
    match s {
        Scalar::Null => out.push_str("null"),
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Scalar::Number(n) => out.push_str(n),
        Scalar::Str(s) => write_string(out, s, escapes),
    }
}

/// Writes `s` as a JSON string literal.
pub fn write_string(out: &mut String, s: &str, escapes: Escapes) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '/' if escapes.solidus => out.push_str("\\/"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if !c.is_ascii() && escapes.unicode => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string literal (default escapes).
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    write_string(&mut out, s, Escapes::default());
    out
}

/// A Rust raw string literal holding `s` (for reproducers printed by `Debug`).
pub fn raw_literal(s: &str) -> String {
    let mut hashes = 1;
    while s.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{s}\"{h}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_text_and_escapes() {
        let mut d = Doc::new();
        d.insert("a.b", Leaf::One(Scalar::Number("1".into())), false);
        d.insert(
            "a.b.#attributes.x",
            Leaf::One(Scalar::Str("é/".into())),
            false,
        );
        d.insert(
            "c",
            Leaf::Array(vec![Scalar::Null, Scalar::Bool(true)]),
            false,
        );
        d.insert("c", Leaf::One(Scalar::Str("q\"".into())), true);
        assert_eq!(
            d.render(Escapes {
                unicode: true,
                solidus: true
            }),
            r##"{"a": {"b": {"#text": 1, "#attributes": {"x": "\u00E9\/"}}}, "c": [null, true], "c": "q\""}"##
        );
        assert_eq!(raw_literal("a\"#b"), "r##\"a\"#b\"##");
    }
}
