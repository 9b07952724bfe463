//! Regular expressions: how every rule's regex is built, so that generated
//! code, rules compiled at run time and the interpreter agree on its limits.

/// Capacity, in bytes, of each regex's lazy DFA cache (per regex and
/// thread; grown only as states are built): four times the regex crate's
/// default. With the default, a counted repetition of a Unicode class
/// (SigmaHQ's `-k\s\w{1,64}(?:\s?(?:-p|-s))?` on svchost command lines)
/// fills the cache within a few bytes, the lazy DFA gives up and the
/// search falls back to the PikeVM, about a hundred times slower than the
/// lazy DFA with a cache large enough (4 MB was; 8 MB leaves a margin).
pub const REGEX_DFA_CACHE: usize = 8 << 20;

/// Compiles `pattern` (flags inline, as [`crate::ir::RegexPattern::full_pattern`]
/// writes them) the way every rule's regex is compiled, generated code and
/// interpreter alike (*compile time*: allocates).
///
/// ```
/// use detect_core::matcher::build_regex;
/// let re = build_regex(r"-k\s\w{1,64}(?:\s?(?:-p|-s))?").unwrap();
/// assert!(re.is_match(r"C:\Windows\system32\svchost.exe -k LocalService -p"));
/// assert!(build_regex("(unclosed").is_err());
/// ```
pub fn build_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
}
