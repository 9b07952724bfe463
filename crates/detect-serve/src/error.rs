//! The one error type of the crate: what failed, with its cause, as text.

use std::fmt;

/// A failure of the service: connecting, setting up streams, consuming,
/// publishing, or a bad setting. The message says what was being done.
///
/// ```
/// let e = detect_serve::Error::new("connecting to nats://127.0.0.1:4222: refused");
/// assert!(e.to_string().starts_with("connecting"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }

    /// `doing: cause`.
    pub(crate) fn context(doing: impl fmt::Display, cause: impl fmt::Display) -> Self {
        Error(format!("{doing}: {cause}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
