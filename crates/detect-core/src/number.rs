//! Strict parsing of numbers written as text.
//!
//! Event fields often carry numbers as strings (`"443"`), and Sigma compares
//! numbers by value for `gt`/`lt` and by decimal text for equality. This parser
//! accepts only plain decimal notation, so `"inf"`, `"NaN"`, `" 80"` or `"0x50"`
//! are not numbers.

use crate::ir::Number;

/// Parses decimal text (`-12`, `3.5`, `1e3`) into a [`Number`].
///
/// ```
/// use detect_core::{ir::Number, number::parse_number};
/// assert_eq!(parse_number("443"), Some(Number::Int(443)));
/// assert_eq!(parse_number("-2.5e3"), Some(Number::Float(-2500.0)));
/// assert_eq!(parse_number("NaN"), None);
/// assert_eq!(parse_number(" 80"), None);
/// assert_eq!(parse_number(""), None);
/// ```
pub fn parse_number(s: &str) -> Option<Number> {
    let bytes = s.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == 0
        || !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Number::Float)
}
