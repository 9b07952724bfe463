//! Allocation-free matching primitives called by generated code on the hot path.
//!
//! Every function here that is not explicitly marked *compile time* performs no
//! heap allocation: the code generator emits calls to them with `'static`
//! literals, and the event supplies borrowed `&str` values.
//!
//! One file per kind of test: `fold` (case folding and the
//! case-insensitive string tests), `glob` (wildcards), `regex`
//! (how regexes are built), `net` (CIDR), `number` (comparisons) and `time`
//! (timestamps and calendar fields). Their functions are re-exported here,
//! the one path generated code and the rest of the crate call them by.
//!
//! Case-insensitive comparisons use Unicode *simple* lowercase folding; the
//! `_ci` functions and [`glob()`] with `ci = true` expect their needles to be
//! **already folded** (with [`fold()`], at compile time); only the haystack
//! is folded, on the fly. The argument for the byte-level fast paths is in
//! the documentation of the folding module.

mod fold;
mod glob;
mod net;
mod number;
mod regex;
mod time;

pub use fold::{
    contains, contains_ci, ends_with_ci, eq_ascii_ci_folded, eq_ci, fold, fold_char,
    has_nonascii_folding_to_ascii, starts_with_ci,
};
pub use glob::{GlobTok, glob};
pub use net::{ParsedIp, cidr_contains, parse_cidr, parse_ip};
pub use number::cmp_number;
pub use regex::{REGEX_DFA_CACHE, build_regex};
pub use time::{epoch_millis, time_part};

/// Random text over an alphabet rich in case-folding corner cases, for the
/// differential tests of [`fold`](mod@fold) and [`glob`](mod@glob).
#[cfg(test)]
mod test_text {
    use super::fold_char;

    pub(crate) use detect_test_support::XorShift64Star as Rng;

    pub(crate) const ALPHABET: &[char] = &[
        'a', 'A', 'ä', 'Ä', '\u{212A}', 'k', 'K', 'b', 'İ', 'i', 'ß', 'Σ', 'σ', 'ς', '€', '𝄞',
        '\u{23A}', '\u{2C65}',
    ];

    pub(crate) fn random_string(rng: &mut Rng, max_len: usize) -> String {
        let len = rng.below(max_len + 1);
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect()
    }

    pub(crate) fn fold_vec(s: &str, ci: bool) -> Vec<char> {
        s.chars()
            .map(|c| if ci { fold_char(c) } else { c })
            .collect()
    }
}
