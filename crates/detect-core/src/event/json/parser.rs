//! The JSON parser: strict RFC 8259 with an object at the top level,
//! written into the tape without recursion (nesting on an explicit stack
//! bounded by a maximum depth), decoding only strings with escapes, and
//! never panicking: every malformed input is a [`JsonError`] with its byte
//! offset.

use core::fmt;

use super::*;

/// A JSON syntax (or encoding) error, with the byte offset where it was found.
///
/// ```
/// use detect_core::JsonEvent;
/// let err = JsonEvent::parse_str(r#"{"a": 01}"#).unwrap_err();
/// assert_eq!(err.offset, 7);
/// assert_eq!(err.to_string(), "at byte 7: leading zeros are not allowed in numbers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset into the line at which the error was detected.
    pub offset: usize,
    /// What is wrong, in plain words.
    pub message: String,
}

impl JsonError {
    pub(super) fn new(offset: usize, message: impl Into<String>) -> Self {
        JsonError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for JsonError {}

/// The parser's state: the line and the (split-borrowed) buffers it fills.
pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) src: &'a [u8],
    pub(super) pos: usize,
    pub(super) tape: &'a mut Vec<Node>,
    pub(super) scratch: &'a mut String,
    pub(super) stack: &'a mut Vec<u32>,
    pub(super) max_depth: usize,
    /// Some decoded escape is not ASCII.
    pub(super) non_ascii: bool,
    /// Some key holds a space.
    pub(super) spaced_keys: bool,
}

impl Parser<'_> {
    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    pub(super) fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, JsonError> {
        Err(JsonError::new(offset, message))
    }

    #[inline]
    pub(super) fn push(&mut self, kind: Kind, a: usize, b: usize) {
        self.tape.push(Node::new(kind, a as u32, b as u32));
    }

    pub(super) fn run(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return self.err(self.pos, "expected a JSON object");
        }
        'value: loop {
            // Parse one value at `pos`.
            self.skip_ws();
            match self.peek() {
                None => return self.err(self.pos, "unexpected end of input, expected a value"),
                Some(b'{') => {
                    self.open(Kind::Object)?;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.close();
                    } else {
                        self.parse_key()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.open(Kind::Array)?;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.close();
                    } else {
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    let (escaped, a, b) = self.parse_string()?;
                    let kind = if escaped { Kind::StrEsc } else { Kind::StrRaw };
                    self.push(kind, a, b);
                }
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    self.parse_number()?;
                    self.push(Kind::Number, start, self.pos);
                }
                Some(b't') => self.literal(b"true", Kind::True)?,
                Some(b'f') => self.literal(b"false", Kind::False)?,
                Some(b'n') => self.literal(b"null", Kind::Null)?,
                Some(b']') => {
                    return self.err(self.pos, "expected a value after ',' (trailing comma)");
                }
                Some(_) => return self.err(self.pos, "expected a value"),
            }
            // After a value: close containers or move on to the next member.
            loop {
                let Some(&top) = self.stack.last() else {
                    break 'value;
                };
                let in_object = self.tape[top as usize].kind == Kind::Object;
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            self.skip_ws();
                            self.parse_key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.pos += 1;
                        self.close();
                    }
                    Some(b']') if !in_object => {
                        self.pos += 1;
                        self.close();
                    }
                    None if in_object => {
                        return self.err(self.pos, "unexpected end of input, expected ',' or '}'");
                    }
                    None => {
                        return self.err(self.pos, "unexpected end of input, expected ',' or ']'");
                    }
                    Some(_) if in_object => {
                        return self.err(self.pos, "expected ',' or '}' after an object member");
                    }
                    Some(_) => {
                        return self.err(self.pos, "expected ',' or ']' after an array element");
                    }
                }
            }
        }
        self.skip_ws();
        if self.pos != self.src.len() {
            return self.err(self.pos, "trailing characters after the JSON object");
        }
        Ok(())
    }

    /// Pushes a container node at `pos` (which holds `{` or `[`).
    pub(super) fn open(&mut self, kind: Kind) -> Result<(), JsonError> {
        if self.stack.len() >= self.max_depth {
            return self.err(
                self.pos,
                format!("nesting deeper than {} levels", self.max_depth),
            );
        }
        self.stack.push(self.tape.len() as u32);
        self.push(kind, 0, 0);
        self.pos += 1;
        Ok(())
    }

    /// Closes the innermost open container: records where its subtree ends.
    pub(super) fn close(&mut self) {
        if let Some(top) = self.stack.pop() {
            let end = self.tape.len() as u32;
            if let Some(node) = self.tape.get_mut(top as usize) {
                node.a = end;
            }
        }
    }

    /// Parses `"key" :` at `pos` inside the innermost (object) container.
    pub(super) fn parse_key(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => {}
            Some(b'}') => return self.err(self.pos, "expected a key after ',' (trailing comma)"),
            None => return self.err(self.pos, "unexpected end of input, expected a string key"),
            Some(_) => return self.err(self.pos, "expected a string key"),
        }
        let (escaped, a, b) = self.parse_string()?;
        let is_text = if escaped {
            self.scratch.get(a..b) == Some("#text")
        } else {
            self.src.get(a..b) == Some(b"#text".as_slice())
        };
        if is_text {
            // The value will be the node after this key.
            let value = self.tape.len() + 1;
            if let Some(&object) = self.stack.last()
                && let Some(node) = self.tape.get_mut(object as usize)
                && node.b == 0
            {
                node.b = value as u32;
            }
        }
        let kind = if escaped { Kind::KeyEsc } else { Kind::KeyRaw };
        let key = if escaped {
            self.scratch.as_bytes().get(a..b)
        } else {
            self.src.get(a..b)
        };
        let key = key.unwrap_or_default();
        let fp = key_fingerprint(key);
        self.spaced_keys |= has_byte::<b' '>(key);
        self.tape.push(Node {
            kind,
            fp,
            a: a as u32,
            b: b as u32,
        });
        self.skip_ws();
        if self.peek() != Some(b':') {
            return self.err(self.pos, "expected ':' after an object key");
        }
        self.pos += 1;
        Ok(())
    }

    /// Parses a string literal at `pos` (an opening quote). Returns whether it
    /// had escapes and its range: in the line if not, in the scratch buffer if so.
    pub(super) fn parse_string(&mut self) -> Result<(bool, usize, usize), JsonError> {
        let open = self.pos;
        let mut i = open + 1;
        let mut scratch_start = None;
        loop {
            let Some(j) = string_special(self.src, i) else {
                return self.err(open, "unterminated string");
            };
            if self.src[j] < 0x20 {
                return self.err(j, "control character in string (must be escaped)");
            }
            // `"` and `\` are ASCII, so `i..j` lies on char boundaries.
            if scratch_start.is_some() {
                self.scratch
                    .push_str(self.text.get(i..j).unwrap_or_default());
            }
            if self.src[j] == b'"' {
                self.pos = j + 1;
                return Ok(match scratch_start {
                    None => (false, open + 1, j),
                    Some(s) => (true, s, self.scratch.len()),
                });
            }
            if scratch_start.is_none() {
                scratch_start = Some(self.scratch.len());
                self.scratch
                    .push_str(self.text.get(open + 1..j).unwrap_or_default());
            }
            i = self.escape(j)?;
        }
    }

    /// Decodes the escape sequence at `at` (a backslash) into the scratch
    /// buffer; returns the position after it.
    pub(super) fn escape(&mut self, at: usize) -> Result<usize, JsonError> {
        let c = match self.src.get(at + 1) {
            None => return self.err(at, "unterminated string"),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4(at + 2)?;
                let mut next = at + 6;
                let c = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: combine it with a following low one.
                    let low = if self.src.get(next) == Some(&b'\\')
                        && self.src.get(next + 1) == Some(&b'u')
                    {
                        Some(self.hex4(next + 2)?)
                    } else {
                        None
                    };
                    match low {
                        Some(low) if (0xDC00..0xE000).contains(&low) => {
                            next += 6;
                            let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            char::from_u32(cp).unwrap_or('\u{FFFD}')
                        }
                        // Lone: the next escape (if any) is decoded on its own.
                        _ => '\u{FFFD}',
                    }
                } else {
                    // Lone low surrogates become U+FFFD too.
                    char::from_u32(unit).unwrap_or('\u{FFFD}')
                };
                self.non_ascii |= !c.is_ascii();
                self.scratch.push(c);
                return Ok(next);
            }
            Some(_) => return self.err(at, "invalid escape sequence in string"),
        };
        self.scratch.push(c);
        Ok(at + 2)
    }

    /// Reads the four hex digits of a `\u` escape starting at `at`.
    pub(super) fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let mut unit = 0;
        for k in at..at + 4 {
            let digit = match self.src.get(k) {
                Some(&c @ b'0'..=b'9') => c - b'0',
                Some(&c @ b'a'..=b'f') => c - b'a' + 10,
                Some(&c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err(k, "expected four hex digits after \\u"),
            };
            unit = unit * 16 + u32::from(digit);
        }
        Ok(unit)
    }

    /// Validates a number at `pos` and moves past it.
    pub(super) fn parse_number(&mut self) -> Result<(), JsonError> {
        let digit = |p: &Self| matches!(p.peek(), Some(b'0'..=b'9'));
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if digit(self) {
                    return self.err(self.pos, "leading zeros are not allowed in numbers");
                }
            }
            Some(b'1'..=b'9') => {
                while digit(self) {
                    self.pos += 1;
                }
            }
            _ => return self.err(self.pos, "expected a digit"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digit(self) {
                return self.err(self.pos, "expected a digit after the decimal point");
            }
            while digit(self) {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digit(self) {
                return self.err(self.pos, "expected a digit in the exponent");
            }
            while digit(self) {
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// Parses the literal `word` (`true`, `false` or `null`) at `pos`.
    pub(super) fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), JsonError> {
        let rest = self.src.get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word) {
            let shown = core::str::from_utf8(word).unwrap_or_default();
            return self.err(self.pos, format!("invalid literal, expected `{shown}`"));
        }
        self.push(kind, 0, 0);
        self.pos += word.len();
        Ok(())
    }
}
