//! Tokens of EQL text, with byte spans for error messages.

use crate::error::{EqlError, Span};

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword (`process`, `where`, `and`, `process.name` is
    /// three of them with dots between).
    Ident(String),
    /// A backquoted field name segment (`` `my field` ``).
    Quoted(String),
    /// A string literal, escapes resolved.
    Str(String),
    /// A number literal, as written.
    Num(String),
    /// Punctuation and operators: `( ) [ ] , . | : ~ = == != < <= > >= + - * / %`.
    Punct(&'static str),
    /// End of input.
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Quoted(s) => format!("`` `{s}` ``"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Num(s) => format!("number `{s}`"),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "end of query".into(),
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

const PUNCT: &[&str] = &[
    "==", "!=", "<=", ">=", "(", ")", "[", "]", ",", ".", "|", ":", "~", "=", "<", ">", "+", "-",
    "*", "/", "%",
];

/// Splits `text` into tokens (the last one is [`Tok::Eof`]).
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, EqlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments: `//` to end of line, `/* ... */`.
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if text[i..].starts_with("/*") {
            match text[i + 2..].find("*/") {
                Some(n) => i = i + 2 + n + 2,
                None => {
                    return Err(EqlError::new(
                        text,
                        Span::new(i, i + 2),
                        "unterminated comment: expected `*/`",
                    ));
                }
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'@')
            {
                i += 1;
            }
            // `?"raw"` / `?'raw'` (endgame raw strings) are handled below; an
            // identifier never contains `?`.
            out.push(Token {
                tok: Tok::Ident(text[start..i].to_string()),
                span: Span::new(start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
                let mut j = i + 1;
                if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(Token {
                tok: Tok::Num(text[start..i].to_string()),
                span: Span::new(start, i),
            });
            continue;
        }
        if c == b'`' {
            let Some(n) = text[i + 1..].find('`') else {
                return Err(EqlError::new(
                    text,
                    Span::new(i, bytes.len()),
                    "unterminated backquoted field name: expected a closing `` ` ``",
                ));
            };
            out.push(Token {
                tok: Tok::Quoted(text[i + 1..i + 1 + n].to_string()),
                span: Span::new(i, i + n + 2),
            });
            i += n + 2;
            continue;
        }
        if c == b'?' && matches!(bytes.get(i + 1), Some(b'"' | b'\'')) {
            // Endgame raw string: no escapes, ends at the next matching quote.
            let q = bytes[i + 1] as char;
            let Some(n) = text[i + 2..].find(q) else {
                return Err(EqlError::new(
                    text,
                    Span::new(i, bytes.len()),
                    format!("unterminated raw string: expected a closing {q}"),
                ));
            };
            out.push(Token {
                tok: Tok::Str(text[i + 2..i + 2 + n].to_string()),
                span: Span::new(i, i + n + 3),
            });
            i += n + 3;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let (s, end) = string(text, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(i, end),
            });
            i = end;
            continue;
        }
        match PUNCT.iter().find(|p| text[i..].starts_with(**p)) {
            Some(p) => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    span: Span::new(i, i + p.len()),
                });
                i += p.len();
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(EqlError::new(
                    text,
                    Span::new(i, i + ch.len_utf8()),
                    format!("unexpected character {ch:?}"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(text.len(), text.len()),
    });
    Ok(out)
}

/// A quoted string starting at `start`: `"""raw"""`, or `"..."`/`'...'` with
/// the escapes `\\ \" \' \n \r \t \b \f \0 \u{XXXX}`. Returns the value and
/// the end offset.
fn string(text: &str, start: usize) -> Result<(String, usize), EqlError> {
    if text[start..].starts_with("\"\"\"") {
        let body = start + 3;
        let Some(n) = text[body..].find("\"\"\"") else {
            return Err(EqlError::new(
                text,
                Span::new(start, text.len()),
                "unterminated string: expected a closing `\"\"\"`",
            ));
        };
        return Ok((text[body..body + n].to_string(), body + n + 3));
    }
    let quote = text.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        match c {
            c if c == quote => return Ok((out, at + 1)),
            '\n' | '\r' => {
                return Err(EqlError::new(
                    text,
                    Span::new(start, at),
                    format!(
                        "unterminated string: expected a closing {quote} before the end of the line"
                    ),
                ));
            }
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                let v = match e {
                    '\\' => '\\',
                    '"' => '"',
                    '\'' => '\'',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '0' => '\0',
                    'u' => {
                        let rest = &text[at + 2..];
                        let hex_end = rest.find('}');
                        let code = rest
                            .strip_prefix('{')
                            .zip(hex_end)
                            .and_then(|(_, end)| u32::from_str_radix(&rest[1..end], 16).ok())
                            .and_then(char::from_u32);
                        match (code, hex_end) {
                            (Some(ch), Some(end)) => {
                                // Skip the `{XXXX}` we just read.
                                for _ in 0..rest[..=end].chars().count() {
                                    chars.next();
                                }
                                ch
                            }
                            _ => {
                                return Err(EqlError::new(
                                    text,
                                    Span::new(at, at + 2),
                                    "invalid unicode escape: expected `\\u{XXXX}`",
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(EqlError::new(
                            text,
                            Span::new(at, at + 1 + other.len_utf8()),
                            format!(
                                "unknown escape `\\{other}`: expected one of \\\\ \\\" \\' \\n \\r \\t \\b \\f \\0 \\u{{XXXX}} (write `\\\\` for a backslash)"
                            ),
                        ));
                    }
                };
                out.push(v);
            }
            c => out.push(c),
        }
    }
    Err(EqlError::new(
        text,
        Span::new(start, text.len()),
        format!("unterminated string: expected a closing {quote}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#""?:\\Windows\\*" 'a\'b' ?'\s+' """x\y""""#),
            vec![
                Tok::Str(r"?:\Windows\*".into()),
                Tok::Str("a'b".into()),
                Tok::Str(r"\s+".into()),
                Tok::Str(r"x\y".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks(r#""\u{41}b""#), vec![Tok::Str("Ab".into()), Tok::Eof]);
    }

    #[test]
    fn operators_and_numbers() {
        assert_eq!(
            toks("a<=4.5 != -1 in~"),
            vec![
                Tok::Ident("a".into()),
                Tok::Punct("<="),
                Tok::Num("4.5".into()),
                Tok::Punct("!="),
                Tok::Punct("-"),
                Tok::Num("1".into()),
                Tok::Ident("in".into()),
                Tok::Punct("~"),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = lex("a == \"x\\q\"").unwrap_err();
        assert_eq!((e.line, e.column, e.offset), (1, 8, 7));
        assert!(e.message.contains("unknown escape"), "{e}");
        let e = lex("a == 'x").unwrap_err();
        assert!(e.message.contains("unterminated string"), "{e}");
        let e = lex("a # b").unwrap_err();
        assert_eq!(e.column, 3);
    }
}
