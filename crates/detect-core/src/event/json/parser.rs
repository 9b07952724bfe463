//! The JSON parser: strict RFC 8259 with an object at the top level,
//! written into the tape without recursion (nesting on an explicit stack
//! bounded by a maximum depth), decoding only strings with escapes, and
//! never panicking: every malformed input is a [`JsonError`] with its byte
//! offset.

use core::fmt;

use super::bytes::{has_byte, string_special};
use super::tape::{Kind, Node, key_fingerprint};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::json::JsonEvent;
    use crate::event::json::tests::{
        Rng, all_values, check_every_prefix, exercise, gen_object, gen_ws, get, parse, parse_err,
        shared_data, strs,
    };
    use crate::event::{Event, Value};
    use crate::layout::Layout;

    #[test]
    fn numbers_keep_raw_text() {
        let e = parse(
            r#"{"a": 1, "b": -2.5e3, "c": 0, "d": -0, "e": 1E+2, "f": 0.125, "g": 18446744073709551616123, "h": 1e-7}"#,
        );
        for (path, raw) in [
            ("a", "1"),
            ("b", "-2.5e3"),
            ("c", "0"),
            ("d", "-0"),
            ("e", "1E+2"),
            ("f", "0.125"),
            ("g", "18446744073709551616123"),
            ("h", "1e-7"),
        ] {
            let mut got = Vec::new();
            assert!(e.lookup(path, &mut |v| {
                if let Value::Number(n) = v {
                    got.push(n.to_string());
                }
                false
            }));
            assert_eq!(got, [raw], "{path}");
        }
        let mut n = None;
        e.lookup("b", &mut |v| {
            n = v.as_number();
            true
        });
        assert_eq!(n, Some(crate::ir::Number::Float(-2500.0)));
    }

    #[test]
    fn escapes_and_surrogate_pairs() {
        let e = parse(
            r#"{"s": "a\"b\\c\/d\be\ff\ng\rh\ti", "u": "\u0041\u00e9\u65E5\ud83d\ude00", "raw": "日本 😀 é", "k\u0065y": 1, "path": "C:\\Windows\\System32\\cmd.exe", "mix": "\u0041x\n\"q\"\\"}"#,
        );
        assert_eq!(get(&e, "s"), strs(&["s:a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti"]));
        assert_eq!(get(&e, "u"), strs(&["s:Aé日😀"]));
        assert_eq!(get(&e, "raw"), strs(&["s:日本 😀 é"]));
        assert_eq!(
            get(&e, "key"),
            strs(&["n:1"]),
            "escaped keys compare decoded"
        );
        assert_eq!(get(&e, "path"), strs(&[r"s:C:\Windows\System32\cmd.exe"]));
        assert_eq!(get(&e, "mix"), strs(&["s:Ax\n\"q\"\\"]));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let e = parse(
            r#"{"hi": "a\ud800b", "lo": "a\udc00b", "end": "\uD800", "twice": "\ud800\ud800", "hi_then_bmp": "\ud800\u0041", "pair_after": "\ud800\ud83d\ude00"}"#,
        );
        assert_eq!(get(&e, "hi"), strs(&["s:a\u{fffd}b"]));
        assert_eq!(get(&e, "lo"), strs(&["s:a\u{fffd}b"]));
        assert_eq!(get(&e, "end"), strs(&["s:\u{fffd}"]));
        assert_eq!(get(&e, "twice"), strs(&["s:\u{fffd}\u{fffd}"]));
        assert_eq!(get(&e, "hi_then_bmp"), strs(&["s:\u{fffd}A"]));
        assert_eq!(get(&e, "pair_after"), strs(&["s:\u{fffd}😀"]));
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_offset() {
        let err = parse_err(b"{\"a\": \"ok\xff\"}");
        assert_eq!(err.offset, 9);
        assert_eq!(err.message, "invalid UTF-8");
        let err = parse_err(b"{\"\xe6\x97\": 1}");
        assert_eq!(err.offset, 2);
        assert_eq!(err.to_string(), "at byte 2: invalid UTF-8");
    }

    #[test]
    fn malformed_json_is_rejected_with_offsets() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "expected a JSON object"),
            ("   ", 3, "expected a JSON object"),
            ("[1, 2]", 0, "expected a JSON object"),
            ("\"s\"", 0, "expected a JSON object"),
            ("42", 0, "expected a JSON object"),
            ("null", 0, "expected a JSON object"),
            ("{", 1, "unexpected end of input, expected a string key"),
            (r#"{"a""#, 4, "expected ':' after an object key"),
            (r#"{"a":"#, 5, "unexpected end of input, expected a value"),
            (
                r#"{"a": 1"#,
                7,
                "unexpected end of input, expected ',' or '}'",
            ),
            (
                r#"{"a": [1"#,
                8,
                "unexpected end of input, expected ',' or ']'",
            ),
            (r#"{"a": "xy"#, 6, "unterminated string"),
            (r#"{"a": "x\"#, 8, "unterminated string"),
            (
                r#"{"a": 1,}"#,
                8,
                "expected a key after ',' (trailing comma)",
            ),
            (
                r#"{"a": [1,]}"#,
                9,
                "expected a value after ',' (trailing comma)",
            ),
            (
                r#"{"a": 1} x"#,
                9,
                "trailing characters after the JSON object",
            ),
            (
                r#"{"a": 1}{"b": 2}"#,
                8,
                "trailing characters after the JSON object",
            ),
            (
                r#"{"a": 1}}"#,
                8,
                "trailing characters after the JSON object",
            ),
            (
                r#"{"a": 1 "b": 2}"#,
                8,
                "expected ',' or '}' after an object member",
            ),
            (
                r#"{"a": [1 2]}"#,
                9,
                "expected ',' or ']' after an array element",
            ),
            (
                r#"{"a": [1}"#,
                8,
                "expected ',' or ']' after an array element",
            ),
            (r#"{"a": {]}"#, 7, "expected a string key"),
            (r#"{a: 1}"#, 1, "expected a string key"),
            (r#"{'a': 1}"#, 1, "expected a string key"),
            (r#"{"a" 1}"#, 5, "expected ':' after an object key"),
            (r#"{"a": }"#, 6, "expected a value"),
            (r#"{"a": 'x'}"#, 6, "expected a value"),
            (
                "{\"a\": \"x\ty\"}",
                8,
                "control character in string (must be escaped)",
            ),
            (
                "{\"a\": \"x\ny\"}",
                8,
                "control character in string (must be escaped)",
            ),
            (
                "{\"a\u{1}\": 1}",
                3,
                "control character in string (must be escaped)",
            ),
            (
                "{\"a\": \"x\\\"\u{0}\"}",
                10,
                "control character in string (must be escaped)",
            ),
            (r#"{"a": "\x"}"#, 7, "invalid escape sequence in string"),
            (r#"{"a": "\u12"}"#, 11, "expected four hex digits after \\u"),
            (
                r#"{"a": "\uZZZZ"}"#,
                9,
                "expected four hex digits after \\u",
            ),
            (
                r#"{"a": "\ud800\u12"}"#,
                17,
                "expected four hex digits after \\u",
            ),
            (
                r#"{"a": 01}"#,
                7,
                "leading zeros are not allowed in numbers",
            ),
            (
                r#"{"a": -01}"#,
                8,
                "leading zeros are not allowed in numbers",
            ),
            (
                r#"{"a": 1.}"#,
                8,
                "expected a digit after the decimal point",
            ),
            (r#"{"a": .5}"#, 6, "expected a value"),
            (r#"{"a": -}"#, 7, "expected a digit"),
            (r#"{"a": -x}"#, 7, "expected a digit"),
            (r#"{"a": +1}"#, 6, "expected a value"),
            (r#"{"a": 1e}"#, 8, "expected a digit in the exponent"),
            (r#"{"a": 1e+}"#, 9, "expected a digit in the exponent"),
            (
                r#"{"a": 1.5.2}"#,
                9,
                "expected ',' or '}' after an object member",
            ),
            (
                r#"{"a": 0x10}"#,
                7,
                "expected ',' or '}' after an object member",
            ),
            (r#"{"a": NaN}"#, 6, "expected a value"),
            (r#"{"a": tru}"#, 6, "invalid literal, expected `true`"),
            (r#"{"a": nul"#, 6, "invalid literal, expected `null`"),
            (r#"{"a": False}"#, 6, "expected a value"),
            (
                r#"{"a": falsey}"#,
                11,
                "expected ',' or '}' after an object member",
            ),
            ("\u{feff}{}", 0, "expected a JSON object"),
            ("{\u{a0}}", 1, "expected a string key"),
        ];
        for &(line, offset, message) in cases {
            let err = parse_err(line.as_bytes());
            assert_eq!(
                (err.offset, err.message.as_str()),
                (offset, message),
                "{line:?}"
            );
        }
    }

    #[test]
    fn whitespace_and_raw() {
        let line = " \t{ \"a\" :\r\n [ 1 , { } , [ ] ] , \"b\" : { \"c\" : \"d\" } }\r\n";
        let e = parse(line);
        assert_eq!(e.raw(), line);
        assert_eq!(get(&e, "a"), strs(&["n:1"]));
        assert_eq!(get(&e, "b.c"), strs(&["s:d"]));
        let e = parse("{}");
        assert_eq!(get(&e, "a"), None);
        assert!(!e.any_value(&mut |_| true));
        assert_eq!(e.detected_layout(), Layout::Flat);
    }

    #[test]
    fn error_type() {
        let err = JsonError {
            offset: 3,
            message: "oops".to_string(),
        };
        assert_eq!(err.to_string(), "at byte 3: oops");
        let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
        assert_eq!(boxed.to_string(), "at byte 3: oops");
        assert_eq!(JsonEvent::default().raw(), "");
        assert!(!JsonEvent::default().lookup("a", &mut |_| false));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let n = 10_000;
        let bare = "[".repeat(n);
        assert_eq!(parse_err(bare.as_bytes()).message, "expected a JSON object");

        let arrays = format!("{{\"a\": {}{}}}", "[".repeat(n), "]".repeat(n));
        let err = parse_err(arrays.as_bytes());
        assert_eq!(err.message, "nesting deeper than 128 levels");
        assert_eq!(err.offset, 6 + 127);
        let unclosed = format!("{{\"a\": {}", "[".repeat(n));
        assert_eq!(
            parse_err(unclosed.as_bytes()).message,
            "nesting deeper than 128 levels"
        );
        let objects = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert_eq!(
            parse_err(objects.as_bytes()).message,
            "nesting deeper than 128 levels"
        );

        // Exactly at the limit is fine.
        let ok = format!("{}1{}", "{\"a\":".repeat(128), "}".repeat(128));
        let e = parse(&ok);
        let path = vec!["a"; 128].join(".");
        assert_eq!(get(&e, &path), strs(&["n:1"]));
        let over = format!("{}1{}", "{\"a\":".repeat(129), "}".repeat(129));
        assert!(JsonEvent::parse_str(&over).is_err());

        // The parser itself does not recurse: a raised limit handles it.
        let mut e = JsonEvent::with_max_depth(n + 1);
        e.parse(arrays.as_bytes()).unwrap();
        assert_eq!(get(&e, "a"), strs(&[]));
        assert_eq!(get(&e, "a.b"), None);
        assert!(!e.any_value(&mut |_| true));
        let texts = format!("{{\"a\": {}7{}}}", "{\"#text\":".repeat(n), "}".repeat(n));
        e.parse(texts.as_bytes()).unwrap();
        assert_eq!(get(&e, "a"), strs(&["n:7"]));

        assert!(JsonEvent::with_max_depth(0).parse(b"{}").is_ok());
        assert!(JsonEvent::with_max_depth(1).parse(b"{\"a\":[]}").is_err());
    }

    #[test]
    fn huge_string_field() {
        let big = "x".repeat(50 * 1024 * 1024);
        let line = format!("{{\"before\": 1, \"big\": \"{big}\", \"after\": \"y\"}}");
        let e = parse(&line);
        let mut len = 0;
        assert!(e.lookup("big", &mut |v| {
            if let Value::Str(s) = v {
                len = s.len();
            }
            false
        }));
        assert_eq!(len, big.len());
        assert_eq!(get(&e, "after"), strs(&["s:y"]));
        assert_eq!(get(&e, "before"), strs(&["n:1"]));
    }

    #[test]
    fn random_documents_agree_with_serde_json_and_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut event = JsonEvent::new();
        let (mut accepted, mut rejected) = (0, 0);
        let mut ascii_seen = [0; 2];
        for _ in 0..20_000 {
            let mut text = String::new();
            let mut scalars = Vec::new();
            gen_ws(&mut rng, &mut text);
            gen_object(&mut rng, 1, &mut text, &mut scalars);
            gen_ws(&mut rng, &mut text);

            // Unmutated: parses, and visits exactly the generated scalars.
            event
                .parse(text.as_bytes())
                .unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(event.raw(), text);
            assert_eq!(all_values(&event), scalars, "{text}");
            // The parse's ASCII flag is exactly the bytes' (the line's and
            // the decoded escapes').
            let ascii = event.raw().is_ascii() && event.scratch.is_ascii();
            assert_eq!(event.all_ascii(), ascii, "{text}");
            ascii_seen[usize::from(ascii)] += 1;
            exercise(&event);

            // Mutated: must agree with serde_json on validity.
            let mut bytes = text.into_bytes();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                let byte = rng.pick(b"{}[]\",:0123-.eE+ \\atrunlx\x01\xc3\xff");
                match rng.below(4) {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    1 if at < bytes.len() => bytes[at] = byte,
                    2 => bytes.truncate(at),
                    _ => bytes.insert(at, byte),
                }
            }
            let ours = event.parse(&bytes);
            exercise(&event);
            assert_eq!(
                event.all_ascii(),
                ours.is_ok() && event.raw().is_ascii() && event.scratch.is_ascii()
            );
            match &ours {
                Ok(()) => accepted += 1,
                Err(e) => {
                    rejected += 1;
                    assert!(e.offset <= bytes.len(), "{e}");
                }
            }
            let surrogate_escape = bytes
                .windows(3)
                .any(|w| w[0] == b'\\' && w[1] == b'u' && matches!(w[2], b'd' | b'D'));
            let theirs = serde_json::from_slice::<serde_json::Value>(&bytes);
            if surrogate_escape
                || theirs
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains("out of range"))
            {
                continue;
            }
            let theirs_ok = theirs.is_ok_and(|v| v.is_object());
            assert_eq!(
                ours.is_ok(),
                theirs_ok,
                "{ours:?} on {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        assert!(accepted > 1000 && rejected > 1000, "{accepted} {rejected}");
        assert!(ascii_seen.iter().all(|&n| n > 1000), "{ascii_seen:?}");
    }

    #[test]
    fn every_prefix_of_hand_written_lines_is_handled() {
        check_every_prefix(&[
            r##"{"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688}}, "EventData": {"Data": ["a\u00e9\ud83d\ude00", -2.5e3, true, null, false, {}]}}}"##.to_string(),
            r#"{"process": {"parent.name": "C:\\x\\日本.exe", "args": [[1, 2], []]}, "@timestamp": "t"}"#.to_string(),
        ]);
    }

    #[test]
    #[ignore = "needs ../shared (run with --ignored)"]
    fn every_prefix_of_real_lines_is_handled() {
        let text = std::fs::read_to_string(shared_data("events/windows-samples.ndjson")).unwrap();
        let lines: Vec<String> = text.lines().step_by(1500).map(str::to_string).collect();
        check_every_prefix(&lines);
    }
}
