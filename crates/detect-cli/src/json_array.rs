//! Events given as one JSON array (`[{...}, {...}]`, pretty-printed or not),
//! as many tools export them, read element by element.
//!
//! [`Elements`] splits the array as it streams in, without parsing the
//! elements: it follows strings (and their escapes) and the nesting of
//! brackets and braces, and hands each top-level element's bytes to the
//! caller, which parses it as one event. So memory stays bounded by the
//! largest element (at most `max_element_bytes`, the scan's
//! `--max-line-bytes`), whatever the file's size. Each element is located by
//! the line it starts on. A structural error (a missing comma, an array that
//! is never closed, data after it) ends the input with one error, since what
//! follows cannot be split reliably.

use std::io::{self, BufRead};

/// What [`Elements::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// An element, in the output buffer, starting on this (1-based) line.
    Element(u64),
    /// An element starting on this line was longer than allowed: it was
    /// skipped (the output buffer holds its first bytes only).
    TooLong(u64),
    /// The array was closed and nothing but whitespace follows.
    End,
    /// The input is not a well-formed array at this line: why. Nothing more
    /// can be read from it.
    Malformed(u64, String),
}

/// Where the splitter is in the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]`.
    First,
    /// After `,`: an element.
    Value,
    /// After an element: `,` or `]`.
    Separator,
    /// After the closing `]`: whitespace only.
    Closed,
    /// After an error or the end.
    Done,
}

/// The elements of a JSON array read from `reader`.
pub(crate) struct Elements<R> {
    reader: R,
    state: State,
    /// The line of the next byte.
    line: u64,
    max_element_bytes: u64,
}

impl<R: BufRead> Elements<R> {
    /// The array in `reader`, whose first byte is on line `first_line`.
    pub(crate) fn new(reader: R, first_line: u64, max_element_bytes: u64) -> Self {
        Elements {
            reader,
            state: State::Start,
            line: first_line,
            max_element_bytes,
        }
    }

    /// Reads the next element into `out` (cleared first). An I/O error is
    /// returned as is; the line it happened after is [`Self::line`].
    pub(crate) fn next(&mut self, out: &mut Vec<u8>) -> io::Result<Next> {
        out.clear();
        loop {
            let Some(byte) = self.skip_whitespace()? else {
                let what = match self.state {
                    State::Closed | State::Done => Next::End,
                    State::Start => self.fail("empty input, expected a JSON array"),
                    _ => self.fail("the input ends inside the JSON array (it is never closed)"),
                };
                self.state = State::Done;
                return Ok(what);
            };
            match (self.state, byte) {
                (State::Start, b'[') => self.consume_one(State::First),
                (State::Start, _) => return Ok(self.fail("expected a JSON array")),
                (State::First, b']') | (State::Separator, b']') => {
                    self.consume_one(State::Closed);
                }
                (State::Separator, b',') => self.consume_one(State::Value),
                (State::Separator, _) => {
                    return Ok(self.fail("expected ',' or ']' after an array element"));
                }
                (State::Value, b']') => {
                    return Ok(self.fail("expected an element after ',' (trailing comma)"));
                }
                (State::First | State::Value, _) => return self.element(out),
                (State::Closed, _) => {
                    return Ok(self.fail(
                        "data after the end of the JSON array (one array of events per input)",
                    ));
                }
                (State::Done, _) => return Ok(Next::End),
            }
        }
    }

    /// The line the splitter has reached.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    fn fail(&mut self, why: &str) -> Next {
        self.state = State::Done;
        Next::Malformed(self.line, why.to_string())
    }

    fn consume_one(&mut self, next: State) {
        self.reader.consume(1);
        self.state = next;
    }

    /// Skips whitespace; the next byte, not consumed, or `None` at the end.
    fn skip_whitespace(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(None);
            }
            let mut n = 0;
            for &b in buf {
                match b {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => {
                        self.reader.consume(n);
                        return Ok(Some(b));
                    }
                }
                n += 1;
            }
            self.reader.consume(n);
        }
    }

    /// Reads one element (a string, a number, a literal, an object or an
    /// array) into `out`, up to `max_element_bytes`.
    fn element(&mut self, out: &mut Vec<u8>) -> io::Result<Next> {
        let start = self.line;
        let mut depth = 0u32;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut len = 0u64;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                self.state = State::Done;
                out.clear();
                return Ok(Next::Malformed(
                    self.line,
                    format!("the input ends inside the array element that starts on line {start}"),
                ));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    // The end of a scalar element (number, literal), or a
                    // stray closing bracket: left for the separator.
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 && started => {
                        if b == b'\n' {
                            self.line -= 1;
                        }
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
                started = true;
            }
            let take = end.unwrap_or(buf.len());
            let room = self.max_element_bytes.saturating_sub(len);
            let kept = take.min(usize::try_from(room).unwrap_or(usize::MAX));
            out.extend_from_slice(&buf[..kept]);
            len += take as u64;
            self.reader.consume(take);
            if end.is_some() {
                self.state = State::Separator;
                return Ok(if len > self.max_element_bytes {
                    Next::TooLong(start)
                } else {
                    Next::Element(start)
                });
            }
        }
    }
}

/// Whether `line` (the first line of an input that holds something) opens a
/// JSON array: its first byte other than whitespace is `[`.
pub(crate) fn opens_array(line: &[u8]) -> bool {
    line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// Every result of splitting `text` (read `chunk` bytes at a time), the
    /// elements as text.
    fn split(text: &str, chunk: usize, max: u64) -> Vec<(Next, String)> {
        let reader = BufReader::with_capacity(chunk, text.as_bytes());
        let mut elements = Elements::new(reader, 1, max);
        let mut out = Vec::new();
        let mut all = Vec::new();
        loop {
            let next = elements.next(&mut out).unwrap();
            let last = matches!(next, Next::End | Next::Malformed(..));
            all.push((next, String::from_utf8_lossy(&out).into_owned()));
            if last {
                return all;
            }
        }
    }

    fn el(line: u64, text: &str) -> (Next, String) {
        (Next::Element(line), text.to_string())
    }

    fn end() -> (Next, String) {
        (Next::End, String::new())
    }

    fn bad(line: u64, why: &str) -> (Next, String) {
        (Next::Malformed(line, why.to_string()), String::new())
    }

    #[test]
    fn elements_whatever_the_layout_and_the_read_size() {
        let pretty = "[\n  {\n    \"a\": \"x]},[\\\"{\",\n    \"b\": [1, {\"c\": 2}]\n  },\n  {\"d\": null}\n]\n";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                split(pretty, chunk, 1 << 20),
                [
                    el(
                        2,
                        "{\n    \"a\": \"x]},[\\\"{\",\n    \"b\": [1, {\"c\": 2}]\n  }"
                    ),
                    el(6, "{\"d\": null}"),
                    end()
                ],
                "chunk {chunk}"
            );
            assert_eq!(
                split(r#"[{"a":1},{"b":"]"}]"#, chunk, 1 << 20),
                [el(1, r#"{"a":1}"#), el(1, r#"{"b":"]"}"#), end()]
            );
            // Scalars are elements too (the caller refuses them as events).
            assert_eq!(
                split("[1, \"s\",true ,\n-2.5e3]", chunk, 1 << 20),
                [
                    el(1, "1"),
                    el(1, "\"s\""),
                    el(1, "true"),
                    el(2, "-2.5e3"),
                    end()
                ]
            );
        }
        assert_eq!(split("  [ ]  \n", 4, 100), [end()]);
        assert_eq!(
            split("[[1,[2]],{}]", 4, 100),
            [el(1, "[1,[2]]"), el(1, "{}"), end()]
        );
    }

    #[test]
    fn malformed_arrays_are_one_error_with_a_line() {
        assert_eq!(
            split("", 8, 100),
            [bad(1, "empty input, expected a JSON array")]
        );
        assert_eq!(split("{}", 8, 100), [bad(1, "expected a JSON array")]);
        assert_eq!(
            split("[{\"a\": 1}\n{\"b\": 2}]", 8, 100),
            [
                el(1, "{\"a\": 1}"),
                bad(2, "expected ',' or ']' after an array element")
            ]
        );
        assert_eq!(
            split("[{\"a\": 1},\n]", 8, 100),
            [
                el(1, "{\"a\": 1}"),
                bad(2, "expected an element after ',' (trailing comma)")
            ]
        );
        assert_eq!(
            split("[{\"a\": 1}", 8, 100),
            [
                el(1, "{\"a\": 1}"),
                bad(
                    1,
                    "the input ends inside the JSON array (it is never closed)"
                )
            ]
        );
        assert_eq!(
            split("[\n{\"a\": \"1}]\n", 8, 100),
            [bad(
                3,
                "the input ends inside the array element that starts on line 2"
            )]
        );
        assert_eq!(
            split("[{}]\n[{}]", 8, 100),
            [
                el(1, "{}"),
                bad(
                    2,
                    "data after the end of the JSON array (one array of events per input)"
                )
            ]
        );
    }

    #[test]
    fn elements_over_the_limit_are_skipped_whole() {
        let text = format!("[{{\"a\": \"{}\"}}, {{\"b\": 1}}]", "x".repeat(100));
        let got = split(&text, 16, 20);
        assert_eq!(got[0].0, Next::TooLong(1));
        assert_eq!(got[0].1.len(), 20, "only the first bytes are kept");
        assert_eq!(got[1..], [el(1, "{\"b\": 1}"), end()]);
        // Exactly the limit is allowed.
        assert_eq!(split("[{\"b\": 1}]", 3, 8), [el(1, "{\"b\": 1}"), end()]);
    }

    #[test]
    fn arrays_are_told_from_objects_by_their_first_byte() {
        assert!(opens_array(b"[{\"a\": 1}]"));
        assert!(opens_array(b"  \t[\n"));
        assert!(!opens_array(b"{\"a\": [1]}"));
        assert!(!opens_array(b"   "));
    }
}
