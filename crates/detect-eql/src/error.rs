//! Parse errors with positions.

/// A byte range in the query text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// What kind of error an [`EqlError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not EQL (or not valid in the chosen dialect).
    Syntax,
    /// Valid EQL that this front end does not implement (the message starts
    /// with `unsupported:`).
    Unsupported,
}

/// Why a query could not be parsed: where (byte offset, 1-based line and
/// column in characters) and why.
///
/// ```
/// use detect_eql::{parse_query, Options};
/// let err = parse_query("process where\n  process.name == ", &Options::elasticsearch()).unwrap_err();
/// assert_eq!((err.line, err.column), (2, 19));
/// assert_eq!(err.offset, 32);
/// assert_eq!(err.to_string(), "2:19: expected a value after `==`, found end of query");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EqlError {
    /// Syntax error or unsupported feature.
    pub kind: ErrorKind,
    /// Byte offset of the offending text.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The offending byte range.
    pub span: Span,
    /// What went wrong and what was expected.
    pub message: String,
}

impl EqlError {
    pub(crate) fn new(text: &str, span: Span, message: impl Into<String>) -> EqlError {
        let offset = span.start.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |n| n + 1)..]
            .chars()
            .count()
            + 1;
        let message = message.into();
        EqlError {
            kind: if message.starts_with("unsupported:") {
                ErrorKind::Unsupported
            } else {
                ErrorKind::Syntax
            },
            offset,
            line,
            column,
            span,
            message,
        }
    }

    /// True when the query is valid EQL that this front end does not implement.
    pub fn is_unsupported(&self) -> bool {
        self.kind == ErrorKind::Unsupported
    }
}

impl std::fmt::Display for EqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for EqlError {}
