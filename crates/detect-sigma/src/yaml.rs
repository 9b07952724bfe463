//! YAML documents as a small tree with line numbers and scalars kept as written.
//!
//! `saphyr` parses the text (YAML 1.2) with scalar resolution turned off, so
//! every scalar arrives as its original text plus its style; [`Scalar`] then
//! applies the YAML 1.2 core schema itself. That keeps a number's text
//! (`DestinationPort: 0080` stays `"0080"`, with value 80), and quoted scalars
//! are always strings (`'80'` is the string `80`).

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::{Parser, ScanError};

use detect_core::ir::Number;

/// A node of a YAML document, with the 1-based line and column it starts at.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What the node holds.
    pub kind: Kind,
}

/// The shape of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; keys are the keys' text.
    Map(Vec<(String, Node)>),
}

/// A resolved scalar (YAML 1.2 core schema).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A string (any quoted or block scalar, or plain text that is nothing else).
    Str(String),
    /// An integer or float, with its text as written.
    Num(String, Number),
    /// `true`/`false` (plain, any of the core schema's spellings).
    Bool(bool),
    /// `null`, `~` or nothing.
    Null,
}

impl Node {
    /// The string value of a scalar node (numbers and booleans by their text).
    pub fn as_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Scalar(Scalar::Str(s)) | Kind::Scalar(Scalar::Num(s, _)) => Some(s.clone()),
            Kind::Scalar(Scalar::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The entry `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// True for a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar(Scalar::Null))
    }

    /// A short name of the node's kind for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(Scalar::Null) => "null",
            Kind::Scalar(_) => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// The parser's message.
    pub message: String,
}

/// Parses every document of `text`. Empty documents are returned as null scalars.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    loader.early_parse(false);
    let mut parser = Parser::new_from_str(text);
    let syntax = |e: &ScanError| YamlError {
        line: Some(e.marker().line()),
        col: Some(e.marker().col() + 1),
        message: e.info().to_string(),
    };
    parser.load(&mut loader, true).map_err(|e| syntax(&e))?;
    if let Some(e) = loader.error() {
        return Err(syntax(e));
    }
    loader.into_documents().iter().map(convert).collect()
}

fn convert(node: &MarkedYaml<'_>) -> Result<Node, YamlError> {
    let line = node.span.start.line();
    let col = node.span.start.col() + 1;
    let at = |message: String| YamlError {
        line: Some(line),
        col: Some(col),
        message,
    };
    let kind = match &node.data {
        YamlData::Representation(text, style, tag) => {
            let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
            Kind::Scalar(resolve_scalar(
                text,
                *style == ScalarStyle::Plain && !forced_str,
            ))
        }
        YamlData::Value(v) => Kind::Scalar(match v {
            saphyr::Scalar::Null => Scalar::Null,
            saphyr::Scalar::Boolean(b) => Scalar::Bool(*b),
            saphyr::Scalar::Integer(i) => Scalar::Num(i.to_string(), Number::Int(*i)),
            saphyr::Scalar::FloatingPoint(f) => {
                Scalar::Num(f.to_string(), Number::Float(f.into_inner()))
            }
            saphyr::Scalar::String(s) => Scalar::Str(s.to_string()),
        }),
        YamlData::Sequence(items) => {
            Kind::Seq(items.iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map.iter() {
                let key = convert(k)?;
                let Some(name) = key.as_text().or_else(|| key.is_null().then(String::new)) else {
                    return Err(YamlError {
                        line: Some(key.line),
                        col: Some(key.col),
                        message: format!("mapping keys must be scalars, found {}", key.describe()),
                    });
                };
                entries.push((name, convert(v)?));
            }
            Kind::Map(entries)
        }
        YamlData::Tagged(tag, inner) => {
            let mut inner = convert(inner)?;
            if tag.suffix == "str"
                && let Kind::Scalar(s) = &inner.kind
            {
                let text = match s {
                    Scalar::Str(t) | Scalar::Num(t, _) => t.clone(),
                    Scalar::Bool(b) => b.to_string(),
                    Scalar::Null => String::new(),
                };
                inner.kind = Kind::Scalar(Scalar::Str(text));
            }
            return Ok(inner);
        }
        YamlData::Alias(_) => return Err(at("unresolved YAML alias".into())),
        YamlData::BadValue => return Err(at("invalid YAML value".into())),
    };
    Ok(Node { line, col, kind })
}

/// Resolves a scalar's text by the YAML 1.2 core schema. Only plain scalars
/// (`plain == true`) can be anything but a string; quoted and block scalars,
/// and scalars tagged `!!str`, are strings. `.inf`/`.nan` stay strings (no
/// Sigma rule means infinity), and YAML 1.1's `yes`/`no`/`on`/`off` are strings
/// as in YAML 1.2.
///
/// ```
/// use detect_sigma::yaml::{resolve_scalar, Scalar};
/// use detect_core::ir::Number;
/// assert_eq!(resolve_scalar("80", true), Scalar::Num("80".into(), Number::Int(80)));
/// assert_eq!(resolve_scalar("80", false), Scalar::Str("80".into()));
/// assert_eq!(resolve_scalar("True", true), Scalar::Bool(true));
/// assert_eq!(resolve_scalar("~", true), Scalar::Null);
/// assert_eq!(resolve_scalar("0x1F", true), Scalar::Num("0x1F".into(), Number::Int(31)));
/// assert_eq!(resolve_scalar("2022-01-16", true), Scalar::Str("2022-01-16".into()));
/// ```
pub fn resolve_scalar(text: &str, plain: bool) -> Scalar {
    if !plain {
        return Scalar::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        _ => {}
    }
    if let Some(n) = core_int(text) {
        return Scalar::Num(text.to_string(), n);
    }
    if is_core_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Scalar::Num(text.to_string(), Number::Float(f));
    }
    Scalar::Str(text.to_string())
}

fn core_int(text: &str) -> Option<Number> {
    let (radix, digits) = if let Some(h) = text.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = text.strip_prefix("0o") {
        (8, o)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(match text.parse::<i64>() {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(text.parse::<f64>().ok()?),
        });
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(match i64::from_str_radix(digits, radix) {
        Ok(i) => Number::Int(i),
        Err(_) => Number::Float(u128::from_str_radix(digits, radix).ok()? as f64),
    })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}
