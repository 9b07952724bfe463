//! Helpers called by code that the `rules!` macro generates.
//!
//! Not a public API: names and signatures follow the code generator. Each
//! helper walks the value(s) of one field through [`Event::lookup`] and stops
//! at the first value that satisfies the test, without allocating.

use crate::event::{Event, Single, Value};
use crate::ir::{Number, RefKind, RuleSet};

/// True when some value at `path` has text satisfying `f`.
#[inline]
pub fn any_text<E: Event + ?Sized>(e: &E, path: &str, mut f: impl FnMut(&str) -> bool) -> bool {
    match e.single(path) {
        Single::One(v) => return v.with_text(f).unwrap_or(false),
        Single::Absent => return false,
        Single::UseLookup => {}
    }
    let mut hit = false;
    e.lookup(path, &mut |v: Value<'_>| {
        hit = v.with_text(&mut f).unwrap_or(false);
        hit
    });
    hit
}

/// True when some value at `path` is a number satisfying `f`.
#[inline]
pub fn any_number<E: Event + ?Sized>(e: &E, path: &str, mut f: impl FnMut(Number) -> bool) -> bool {
    match e.single(path) {
        Single::One(v) => return v.as_number().is_some_and(f),
        Single::Absent => return false,
        Single::UseLookup => {}
    }
    let mut hit = false;
    e.lookup(path, &mut |v: Value<'_>| {
        hit = v.as_number().is_some_and(&mut f);
        hit
    });
    hit
}

/// True when the field exists (even holding `null` or an empty array).
#[inline]
pub fn exists<E: Event + ?Sized>(e: &E, path: &str) -> bool {
    e.lookup(path, &mut |_| true)
}

/// True when the field is missing or one of its values is `null`.
#[inline]
pub fn is_null<E: Event + ?Sized>(e: &E, path: &str) -> bool {
    let mut null = false;
    let exists = e.lookup(path, &mut |v: Value<'_>| {
        null = v == Value::Null;
        null
    });
    !exists || null
}

/// True when some value anywhere in the event has text satisfying `f`.
#[inline]
pub fn any_value_text<E: Event + ?Sized>(e: &E, mut f: impl FnMut(&str) -> bool) -> bool {
    e.any_value(&mut |v: Value<'_>| v.with_text(&mut f).unwrap_or(false))
}

/// True when some value of `a` relates to some value of `b` by `f(a, b)`.
#[inline]
pub fn field_ref<E: Event + ?Sized>(
    e: &E,
    a: &str,
    b: &str,
    mut f: impl FnMut(&str, &str) -> bool,
) -> bool {
    any_text(e, a, |ta| any_text(e, b, |tb| f(ta, tb)))
}

/// Field-reference comparison where both sides are only known per event.
/// Case-insensitive comparisons fold both sides char by char, without allocating.
#[inline]
pub fn ref_match(a: &str, b: &str, kind: RefKind, case_insensitive: bool) -> bool {
    if !case_insensitive {
        return match kind {
            RefKind::Exact => a == b,
            RefKind::Prefix => a.starts_with(b),
            RefKind::Suffix => a.ends_with(b),
            RefKind::Contains => a.contains(b),
        };
    }
    let fold = crate::matcher::fold_char;
    let starts = |hay: &str, needle: &str| {
        let mut h = hay.chars().map(fold);
        needle.chars().map(fold).all(|c| h.next() == Some(c))
    };
    match kind {
        RefKind::Exact => a.chars().map(fold).eq(b.chars().map(fold)),
        RefKind::Prefix => starts(a, b),
        RefKind::Suffix => {
            let mut h = a.chars().rev().map(fold);
            b.chars().rev().map(fold).all(|c| h.next() == Some(c))
        }
        RefKind::Contains => a.char_indices().any(|(i, _)| starts(&a[i..], b)) || b.is_empty(),
    }
}

/// Rebuilds the IR embedded by the macro (JSON produced at compile time).
pub fn ir_from_json(json: &str) -> RuleSet {
    serde_json::from_str(json).unwrap_or_else(|e| {
        // The string was produced by serde_json from the same types at
        // compile time; failing here means mismatched crate versions.
        panic!("detect: embedded rule IR does not match this detect-core version: {e}")
    })
}

pub use regex::Regex;

/// Compiles a regex that the macro already validated at compile time.
#[cold]
pub fn compile_regex(pattern: &str) -> Regex {
    crate::matcher::build_regex(pattern).unwrap_or_else(|e| {
        panic!("detect: regex {pattern:?} was validated at compile time but fails now: {e}")
    })
}

pub use crate::matcher::{
    GlobTok, cidr_contains, cmp_number, contains, contains_ci, ends_with_ci, eq_ci, glob,
    starts_with_ci, time_part,
};

/// A routing field (channel, event ID) holds several values: the event is
/// evaluated without the dispatch table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultiValued;

/// The one value of the dispatch field at `path`, for log source routing.
///
/// `Ok(None)`: missing, null, or not a single value we can route on without
/// changing the meaning; `Err(MultiValued)`: several values (the caller falls back to
/// evaluating every rule in full).
#[inline]
fn single_text<E: Event + ?Sized, R>(
    e: &E,
    path: &str,
    mut f: impl FnMut(&str) -> Option<R>,
) -> Result<Option<R>, MultiValued> {
    match e.single(path) {
        Single::One(v) => return Ok(v.with_text(f).flatten()),
        Single::Absent => return Ok(None),
        Single::UseLookup => {}
    }
    let mut count = 0usize;
    let mut out = None;
    e.lookup(path, &mut |v: Value<'_>| {
        count += 1;
        if count == 1 {
            out = v.with_text(&mut f).flatten();
        }
        count > 1
    });
    if count > 1 { Err(MultiValued) } else { Ok(out) }
}

/// Index of the event's channel in `channels` (lowercase ASCII names), compared
/// like the `Channel` test of a log source: case-insensitively.
#[inline]
pub fn channel_of<E: Event + ?Sized>(
    e: &E,
    path: &str,
    channels: &[Text],
) -> Result<Option<usize>, MultiValued> {
    // Every event of a mixed stream comes here first: the common case (one
    // string) skips `single_text`'s callbacks.
    match e.single(path) {
        Single::One(Value::Str(text)) => Ok(channel_index(text, channels)),
        Single::Absent => Ok(None),
        _ => single_text(e, path, |text| channel_index(text, channels)),
    }
}

/// Index of `text` in `channels` (lowercase ASCII names), case-insensitively.
#[inline]
fn channel_index(text: &str, channels: &[Text]) -> Option<usize> {
    if text.is_ascii() {
        // ASCII text folds byte for byte: only names of its length can match.
        let t = text.as_bytes();
        channels
            .iter()
            .position(|c| crate::matcher::eq_ascii_ci_folded(t, c.as_bytes()))
    } else {
        channels.iter().position(|c| crate::matcher::eq_ci(text, c))
    }
}

/// The event ID when its text is the canonical decimal form of a `u32` (the
/// log source test compares the exact text, so `"01"` is not event 1).
#[inline]
pub fn event_id_of<E: Event + ?Sized>(e: &E, path: &str) -> Result<Option<u32>, MultiValued> {
    match e.single(path) {
        Single::One(Value::Number(text) | Value::Str(text)) => Ok(event_id_in(text)),
        Single::Absent => Ok(None),
        _ => single_text(e, path, event_id_in),
    }
}

/// [`event_id_of`] for the text of one value.
#[inline]
fn event_id_in(text: &str) -> Option<u32> {
    // Digits only, no leading zero (but "0"), at most u32::MAX: one pass,
    // where `str::parse` would first be told the text is canonical.
    let digits = text.as_bytes();
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut id: u32 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        id = id.checked_mul(10)?.checked_add(u32::from(d))?;
    }
    Some(id)
}

pub use crate::prefilter::memo::prepare_thread;
pub use crate::prefilter::{FieldAtoms, Prefilter, for_each_bit};

/// Text of a compiled rule set: borrowed from a `static` in generated code,
/// owned by rule sets compiled at run time.
pub type Text = std::borrow::Cow<'static, str>;

/// A list of a compiled rule set: borrowed from a `static` in generated
/// code, owned by rule sets compiled at run time.
pub type List<T> = std::borrow::Cow<'static, [T]>;

/// Borrows static text as [`Text`] (for generated code, which cannot name
/// `Cow`'s variants through a re-export as briefly).
#[inline]
pub const fn text(s: &'static str) -> Text {
    std::borrow::Cow::Borrowed(s)
}

/// A string test with its pattern: generated code passes a reference to a
/// constant one instead of a closure, so each leaf of a rule is a call with
/// constant arguments and the matching code exists once rather than once per
/// leaf (which kept large rule sets from compiling in reasonable memory);
/// rules compiled at run time own theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrTest {
    /// Whole value, exact bytes.
    Eq(Text),
    /// Whole value, case-insensitive (pattern folded).
    EqCi(Text),
    /// Prefix, exact bytes.
    Prefix(Text),
    /// Prefix, case-insensitive (pattern folded).
    PrefixCi(Text),
    /// Suffix, exact bytes.
    Suffix(Text),
    /// Suffix, case-insensitive (pattern folded).
    SuffixCi(Text),
    /// Substring, exact bytes.
    Contains(Text),
    /// Substring, case-insensitive (pattern folded).
    ContainsCi(Text),
    /// Wildcard pattern (literals folded when case-insensitive).
    Glob(List<GlobTok<'static>>, bool),
}

impl StrTest {
    /// Whether `t` passes the test.
    #[inline]
    pub fn matches(&self, t: &str) -> bool {
        use crate::matcher;
        match self {
            StrTest::Eq(p) => t == p,
            StrTest::EqCi(p) => matcher::eq_ci(t, p),
            StrTest::Prefix(p) => t.starts_with(&**p),
            StrTest::PrefixCi(p) => matcher::starts_with_ci(t, p),
            StrTest::Suffix(p) => t.ends_with(&**p),
            StrTest::SuffixCi(p) => matcher::ends_with_ci(t, p),
            StrTest::Contains(p) => matcher::contains(t, p),
            StrTest::ContainsCi(p) => matcher::contains_ci(t, p),
            StrTest::Glob(toks, ci) => matcher::glob(t, toks, *ci),
        }
    }
}

/// Some value at `path` passes `test`.
#[inline(never)]
pub fn field_str<E: Event + ?Sized>(e: &E, path: &str, test: &StrTest) -> bool {
    any_text(e, path, |t| test.matches(t))
}

/// Some value at `path` passes one of `tests`: a list of values in a rule
/// (`Image|endswith: [a, b, c]`) with one lookup of the field instead of one
/// per value.
#[inline(never)]
pub fn field_str_any<E: Event + ?Sized>(e: &E, path: &str, tests: &[StrTest]) -> bool {
    any_text(e, path, |t| tests.iter().any(|test| test.matches(t)))
}

/// Every one of `tests` (at most 64) is passed by some value at `path`, not
/// necessarily the same one: an `And` of tests on one field with one lookup.
///
/// ```
/// use detect_core::{JsonEvent, rt::{StrTest, field_str_all}};
/// let e = JsonEvent::parse_str(r#"{"C": ["net user", "x /add"], "D": "net"}"#).unwrap();
/// let tests = [StrTest::ContainsCi("net".into()), StrTest::ContainsCi("/add".into())];
/// assert!(field_str_all(&e, "C", &tests));
/// assert!(!field_str_all(&e, "D", &tests));
/// assert!(!field_str_all(&e, "missing", &tests));
/// ```
#[inline(never)]
pub fn field_str_all<E: Event + ?Sized>(e: &E, path: &str, tests: &[StrTest]) -> bool {
    let tests = &tests[..tests.len().min(64)];
    if tests.is_empty() {
        return true;
    }
    match e.single(path) {
        Single::One(v) => {
            return v
                .with_text(|t| tests.iter().all(|test| test.matches(t)))
                .unwrap_or(false);
        }
        Single::Absent => return false,
        Single::UseLookup => {}
    }
    let all = u64::MAX >> (64 - tests.len());
    // Most fields hold one value: the tests then run in order and stop at
    // the first that fails, as `&&` would. Only a second value switches to
    // remembering which tests some value passed.
    let mut first = true;
    let mut several = false;
    let mut passed = 0u64;
    e.lookup(path, &mut |v: Value<'_>| {
        if !first {
            several = true;
            return true;
        }
        first = false;
        v.with_text(|t| {
            for (i, test) in tests.iter().enumerate() {
                if !test.matches(t) {
                    break;
                }
                passed |= 1 << i;
            }
        });
        passed == all
    });
    if passed == all || !several {
        return passed == all;
    }
    passed = 0;
    e.lookup(path, &mut |v: Value<'_>| {
        v.with_text(|t| {
            for (i, test) in tests.iter().enumerate() {
                if passed & (1 << i) == 0 && test.matches(t) {
                    passed |= 1 << i;
                }
            }
        });
        passed == all
    });
    passed == all
}

/// Lists of at least this many case-insensitive ASCII `contains` needles on
/// one field are searched with one automaton ([`ContainsSet`]) rather than
/// needle by needle.
pub const CONTAINS_SET_MIN: usize = 8;

/// Case-insensitive ASCII substrings of one field, searched in one pass
/// (built on first use) instead of one search per needle: SigmaHQ has
/// `contains` lists of hundreds of PowerShell cmdlets, matched against
/// scripts of several kilobytes. Up to [`crate::prefilter::QUICK_MAX_ATOMS`]
/// needles the pass is the prefilter's SIMD Teddy
/// ([`crate::prefilter::teddy::Teddy`]), beyond it an Aho-Corasick
/// automaton: against the automaton for all, passes over SigmaHQ's
/// PowerShell script blocks, and over the whole corpus, got faster.
///
/// Same answers as a [`StrTest::ContainsCi`] per needle: for ASCII needles,
/// ASCII case folding is exact unless the text holds one of the two
/// characters that fold into ASCII (see [`crate::matcher`]); such a text is
/// searched needle by needle.
///
/// ```
/// use detect_core::rt::{ContainsSet, List, Text};
/// static SET: ContainsSet = ContainsSet::new(List::Borrowed(&[
///     Text::Borrowed("invoke-mimikatz"),
///     Text::Borrowed("get-keystrokes"),
/// ]));
/// assert!(SET.matches("PS> Invoke-Mimikatz -DumpCreds"));
/// assert!(SET.matches("get-\u{212A}eystrokes")); // KELVIN SIGN folds to k
/// assert!(!SET.matches("Get-Process"));
/// ```
#[derive(Debug)]
pub struct ContainsSet {
    needles: List<Text>,
    automaton: std::sync::OnceLock<Option<Searcher>>,
}

/// How a [`ContainsSet`] searches: the prefilter's Teddy (SIMD, ASCII case
/// folded in its tables) for at most [`crate::prefilter::QUICK_MAX_ATOMS`]
/// needles, else an Aho-Corasick automaton.
#[derive(Debug)]
enum Searcher {
    Teddy(crate::prefilter::teddy::Teddy),
    Automaton(aho_corasick::AhoCorasick),
}

impl ContainsSet {
    /// A set of needles, ASCII and lowercase (generated code folds them).
    pub const fn new(needles: List<Text>) -> Self {
        ContainsSet {
            needles,
            automaton: std::sync::OnceLock::new(),
        }
    }

    /// The needles.
    pub fn needles(&self) -> &[Text] {
        &self.needles
    }

    /// Whether `t` contains one of the needles, ASCII case folded.
    #[inline]
    pub fn matches(&self, t: &str) -> bool {
        let one_by_one = || {
            self.needles
                .iter()
                .any(|n| crate::matcher::contains_ci(t, n))
        };
        if crate::matcher::has_nonascii_folding_to_ascii(t.as_bytes()) {
            return one_by_one();
        }
        match self.automaton() {
            Some(Searcher::Teddy(teddy)) => teddy.find(t.as_bytes()).is_some(),
            Some(Searcher::Automaton(ac)) => ac.is_match(t),
            None => one_by_one(),
        }
    }

    /// Builds the automaton now rather than at the first match (see the
    /// generated `warm_up`).
    ///
    /// ```
    /// use detect_core::rt::{ContainsSet, List, Text};
    /// static SET: ContainsSet =
    ///     ContainsSet::new(List::Borrowed(&[Text::Borrowed("mimikatz"), Text::Borrowed("sekurlsa")]));
    /// SET.warm_up();
    /// assert!(SET.matches("run MIMIKATZ now"));
    /// ```
    pub fn warm_up(&self) {
        self.automaton();
    }

    fn automaton(&self) -> &Option<Searcher> {
        self.automaton.get_or_init(|| {
            let needles: Vec<&str> = self.needles.iter().map(|n| &**n).collect();
            if needles.len() <= crate::prefilter::QUICK_MAX_ATOMS
                && let Ok(teddy) = crate::prefilter::teddy::Teddy::new(&needles)
            {
                return Some(Searcher::Teddy(teddy));
            }
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(&needles)
                .ok()
                .map(Searcher::Automaton)
        })
    }
}

/// Lists of at least this many string tests on one field are looked up in
/// a [`StrSet`] rather than tried one by one.
pub const STR_SET_MIN: usize = 16;

/// A long list of string tests on one field (`Image|endswith:` with dozens
/// of names; SigmaHQ's `image_load_side_load_from_non_system_location` has
/// 430 DLL names), indexed on first use: case-insensitive ASCII suffix,
/// prefix and equality tests by the value's last, first eight bytes or
/// first bytes and length, so that a value is compared with the few tests
/// sharing its key rather than with all of them. Other tests (case-
/// sensitive, wildcard, `contains`, non-ASCII patterns, patterns shorter
/// than the key) are tried one by one.
///
/// Same answers as trying every [`StrTest`]: a value holding a character
/// that folds into ASCII (see [`crate::matcher::has_nonascii_folding_to_ascii`])
/// is tried against every test, and otherwise an ASCII pattern can only
/// match ASCII bytes, which the key folds exactly.
///
/// ```
/// use detect_core::rt::{List, StrSet, StrTest, text};
/// static TESTS: &[StrTest] = &[
///     StrTest::SuffixCi(text("\\aclui.dll")),
///     StrTest::SuffixCi(text("\\version.dll")),
///     StrTest::EqCi(text("c:\\tools\\x.exe")),
///     StrTest::PrefixCi(text("c:\\users\\")),
///     StrTest::ContainsCi(text("temp")),
/// ];
/// static SET: StrSet = StrSet::new(List::Borrowed(TESTS));
/// assert!(SET.matches("C:\\Users\\me\\VERSION.DLL"));
/// assert!(SET.matches("C:\\Tools\\X.EXE"));
/// assert!(SET.matches("c:\\USERS\\a.txt"));
/// assert!(SET.matches("d:\\temp\\a.txt"));
/// assert!(!SET.matches("C:\\Windows\\version.dll.bak"));
/// assert!(SET.matches("C:\\x\\\u{212A}ERNEL\\version.dll")); // KELVIN SIGN: tried one by one
/// ```
#[derive(Debug)]
pub struct StrSet {
    tests: List<StrTest>,
    index: std::sync::OnceLock<StrIndex>,
}

/// Bytes of a value that key a [`StrSet`]'s suffix and prefix tests.
const STR_KEY: usize = 8;

#[derive(Debug, Default)]
struct StrIndex {
    /// (key, test index), sorted: suffix tests by their last `STR_KEY`
    /// bytes, prefix tests by their first, equality tests by
    /// [`eq_key`].
    suffixes: Vec<(u64, u32)>,
    prefixes: Vec<(u64, u32)>,
    equals: Vec<(u64, u32)>,
    /// Every other test.
    rest: Vec<u32>,
}

/// `STR_KEY` bytes, ASCII-lowercased, as a number.
#[inline]
fn str_key(b: &[u8]) -> u64 {
    b.iter()
        .fold(0u64, |k, &c| (k << 8) | u64::from(c.to_ascii_lowercase()))
}

/// The key of a whole value for equality tests: its first bytes (at most
/// `STR_KEY`) mixed with its length (values sharing a key are compared in
/// full, so a collision only costs a comparison).
#[inline]
fn eq_key(b: &[u8]) -> u64 {
    str_key(&b[..b.len().min(STR_KEY)]) ^ (b.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl StrSet {
    /// A set of tests (generated code folds the case-insensitive patterns).
    pub const fn new(tests: List<StrTest>) -> Self {
        StrSet {
            tests,
            index: std::sync::OnceLock::new(),
        }
    }

    /// The tests.
    pub fn tests(&self) -> &[StrTest] {
        &self.tests
    }

    /// Whether `t` passes one of the tests.
    #[inline]
    pub fn matches(&self, t: &str) -> bool {
        let b = t.as_bytes();
        if crate::matcher::has_nonascii_folding_to_ascii(b) {
            return self.tests.iter().any(|test| test.matches(t));
        }
        let index = self.index();
        let test = |&(_, i): &(u64, u32)| self.tests[i as usize].matches(t);
        let keyed = |list: &[(u64, u32)], key: u64| {
            let from = list.partition_point(|&(k, _)| k < key);
            list[from..]
                .iter()
                .take_while(|&&(k, _)| k == key)
                .any(test)
        };
        (b.len() >= STR_KEY
            && (keyed(&index.suffixes, str_key(&b[b.len() - STR_KEY..]))
                || keyed(&index.prefixes, str_key(&b[..STR_KEY]))))
            || keyed(&index.equals, eq_key(b))
            || index
                .rest
                .iter()
                .any(|&i| self.tests[i as usize].matches(t))
    }

    /// Builds the index now rather than at the first match (see the
    /// generated `warm_up`).
    pub fn warm_up(&self) {
        self.index();
    }

    fn index(&self) -> &StrIndex {
        self.index.get_or_init(|| {
            let mut index = StrIndex::default();
            for (i, test) in self.tests.iter().enumerate() {
                let i = i as u32;
                match test {
                    StrTest::SuffixCi(p) if p.is_ascii() && p.len() >= STR_KEY => {
                        let p = p.as_bytes();
                        index.suffixes.push((str_key(&p[p.len() - STR_KEY..]), i));
                    }
                    StrTest::PrefixCi(p) if p.is_ascii() && p.len() >= STR_KEY => {
                        index.prefixes.push((str_key(&p.as_bytes()[..STR_KEY]), i));
                    }
                    StrTest::EqCi(p) if p.is_ascii() => {
                        index.equals.push((eq_key(p.as_bytes()), i));
                    }
                    _ => index.rest.push(i),
                }
            }
            index.suffixes.sort_unstable();
            index.prefixes.sort_unstable();
            index.equals.sort_unstable();
            index
        })
    }
}

/// Some value at `path` passes one of `set`'s tests, or contains one of
/// `contains`' needles.
#[inline(never)]
pub fn field_str_set<E: Event + ?Sized>(
    e: &E,
    path: &str,
    set: &StrSet,
    contains: Option<&ContainsSet>,
) -> bool {
    any_text(e, path, |t| {
        contains.is_some_and(|c| c.matches(t)) || set.matches(t)
    })
}

/// Some value at `path` contains one of `set`'s needles or passes one of
/// `tests`.
#[inline(never)]
pub fn field_str_any_set<E: Event + ?Sized>(
    e: &E,
    path: &str,
    tests: &[StrTest],
    set: &ContainsSet,
) -> bool {
    any_text(e, path, |t| {
        set.matches(t) || tests.iter().any(|test| test.matches(t))
    })
}

/// Some value at `path` is an address in one of `nets` (`(v4, addr, prefix)`
/// as for [`field_cidr`]); each value is parsed once for all of them.
#[inline(never)]
pub fn field_cidr_any<E: Event + ?Sized>(e: &E, path: &str, nets: &[(bool, u128, u8)]) -> bool {
    any_text(e, path, |t| {
        crate::matcher::parse_ip(t).is_some_and(|ip| {
            nets.iter()
                .any(|&(v4, addr, prefix)| ip.in_net(v4, addr, prefix))
        })
    })
}

/// Some value anywhere in the event passes `test` (keyword search).
#[inline(never)]
pub fn keyword_str<E: Event + ?Sized>(e: &E, test: &StrTest) -> bool {
    any_value_text(e, |t| test.matches(t))
}

/// A regex of a rule, compiled at its first use (or by
/// [`LazyRegex::warm_up`]): a `static` in generated code, owned by rules
/// compiled at run time.
///
/// ```
/// use detect_core::rt::{LazyRegex, text};
/// static RE: LazyRegex = LazyRegex::new(text("^a+$"));
/// RE.warm_up();
/// assert!(RE.get().is_match("aaa"));
/// ```
#[derive(Debug)]
pub struct LazyRegex {
    pattern: Text,
    cell: std::sync::OnceLock<Regex>,
}

impl LazyRegex {
    /// The regex of `pattern` (flags inline, as
    /// [`crate::ir::RegexPattern::full_pattern`] writes them), not compiled yet.
    pub const fn new(pattern: Text) -> LazyRegex {
        LazyRegex {
            pattern,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The compiled regex.
    #[inline]
    pub fn get(&self) -> &Regex {
        self.cell.get_or_init(|| compile_regex(&self.pattern))
    }

    /// Compiles the regex now rather than at its first use.
    pub fn warm_up(&self) {
        self.get();
    }
}

/// Some value at `path` matches the regex.
#[inline(never)]
pub fn field_regex<E: Event + ?Sized>(e: &E, path: &str, regex: &LazyRegex) -> bool {
    let re = regex.get();
    any_text(e, path, |t| re.is_match(t))
}

/// Some value at `path` is an IP address in the network.
#[inline(never)]
pub fn field_cidr<E: Event + ?Sized>(e: &E, path: &str, v4: bool, addr: u128, prefix: u8) -> bool {
    any_text(e, path, |t| {
        crate::matcher::cidr_contains(t, v4, addr, prefix)
    })
}

/// Some value at `path` is a number comparing to `rhs` by `op`.
#[inline(never)]
pub fn field_num<E: Event + ?Sized>(e: &E, path: &str, op: crate::ir::NumOp, rhs: Number) -> bool {
    any_number(e, path, |n| crate::matcher::cmp_number(n, op, rhs))
}

/// Some value at `path` is a timestamp whose `part` compares to `rhs` by `op`.
#[inline(never)]
pub fn field_time<E: Event + ?Sized>(
    e: &E,
    path: &str,
    part: crate::ir::TimePart,
    op: crate::ir::NumOp,
    rhs: i64,
) -> bool {
    any_text(e, path, |t| {
        crate::matcher::time_part(t, part)
            .is_some_and(|x| crate::matcher::cmp_number(Number::Int(x), op, Number::Int(rhs)))
    })
}

/// A value of `a` relates to a value of `b` (Sigma `fieldref`).
#[inline(never)]
pub fn field_ref_match<E: Event + ?Sized>(
    e: &E,
    a: &str,
    b: &str,
    kind: RefKind,
    case_insensitive: bool,
) -> bool {
    field_ref(e, a, b, |x, y| ref_match(x, y, kind, case_insensitive))
}

/// Lets generated code take any event, sized or not, as `&dyn Event`: rule
/// functions are compiled once, in the rule crate, instead of once per event
/// type in every crate that scans.
#[derive(Debug)]
pub struct AsDyn<'a, E: ?Sized>(pub &'a E);

impl<E: Event + ?Sized> Event for AsDyn<'_, E> {
    #[inline]
    fn layout(&self) -> crate::Layout {
        self.0.layout()
    }
    #[inline]
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        self.0.lookup(path, visit)
    }
    #[inline]
    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        self.0.any_value(visit)
    }
    #[inline]
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.0.value_texts(visit)
    }
    #[inline]
    fn all_ascii(&self) -> bool {
        self.0.all_ascii()
    }
    #[inline]
    fn single(&self, path: &str) -> Single<'_> {
        self.0.single(path)
    }
    #[inline]
    fn prefetch(&self) {
        self.0.prefetch()
    }
    #[inline]
    fn prefetch_dispatch(&self) {
        self.0.prefetch_dispatch()
    }
}

/// The event's time in milliseconds since the Unix epoch, read from the single
/// value at `path`: an RFC 3339-like text (see [`crate::matcher::epoch_millis`])
/// or a number of milliseconds. `None` when missing, repeated or unparsable.
#[inline]
pub fn timestamp_ms(e: &dyn Event, path: &str) -> Option<i64> {
    single_text(e, path, |t| {
        crate::matcher::epoch_millis(t).or_else(|| match crate::number::parse_number(t)? {
            Number::Int(i) => Some(i),
            Number::Float(f) => Some(f as i64),
        })
    })
    .ok()
    .flatten()
}

/// The join key of a sequence stage, from its key fields' values, as
/// `joins` says ([`crate::ir::Joins`]): Elasticsearch, every key field must
/// hold exactly one non-null value (else `None`: the event does not join);
/// endgame, each field's first value lowercased, a missing or null one (or an
/// object) being the null value, which joins another null (always a key).
#[inline]
pub fn join_key(
    e: &dyn Event,
    table: &crate::sequence::SequenceTable,
    paths: &[&str],
    joins: crate::ir::Joins,
) -> Option<crate::sequence::Key> {
    use crate::ir::Joins;
    let mut builder = table.key_builder();
    for path in paths {
        match joins {
            Joins::Elasticsearch => {
                let mut count = 0;
                let mut ok = false;
                e.lookup(path, &mut |v: Value<'_>| {
                    count += 1;
                    ok = count == 1 && v.with_text(|t| builder.push(t)).is_some();
                    count > 1
                });
                if count != 1 || !ok {
                    return None;
                }
            }
            Joins::Endgame => {
                let mut pushed = false;
                e.lookup(path, &mut |v: Value<'_>| {
                    pushed = v.with_text(|t| builder.push_folded(t)).is_some();
                    true
                });
                if !pushed {
                    builder.push_null();
                }
            }
        }
    }
    Some(builder.finish())
}

pub use crate::sequence::{Key, SequenceStats, SequenceTable};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonEvent;

    #[test]
    fn event_ids_are_read_only_in_canonical_decimal() {
        // The log source test compares the exact text: "01" is not event 1.
        let reference = |text: &str| {
            let canonical = !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_digit())
                && (text == "0" || !text.starts_with('0'));
            if canonical {
                text.parse::<u32>().ok()
            } else {
                None
            }
        };
        let texts = [
            "0",
            "1",
            "01",
            "00",
            "10",
            "4688",
            "4294967295",
            "4294967296",
            "42949672950",
            "99999999999",
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "12a",
            "a12",
            "٣",
        ];
        for text in texts {
            // As a string, and written as a JSON number (whose text is
            // then the trimmed one).
            for (json, expected) in [
                (
                    serde_json::json!({ "EventID": text }).to_string(),
                    reference(text),
                ),
                (format!(r#"{{"EventID": {text}}}"#), reference(text.trim())),
            ] {
                let Ok(event) = JsonEvent::parse_str(&json) else {
                    continue;
                };
                assert_eq!(event_id_of(&event, "EventID"), Ok(expected), "{json}");
            }
        }
        let event = JsonEvent::parse_str(r#"{"EventID": [1, 2]}"#).unwrap();
        assert_eq!(event_id_of(&event, "EventID"), Err(MultiValued));
        let event = JsonEvent::parse_str(r#"{"Other": 1}"#).unwrap();
        assert_eq!(event_id_of(&event, "EventID"), Ok(None));
    }

    /// Random lists of suffix, prefix, equality and other tests over a
    /// small alphabet (ASCII of both cases, a KELVIN SIGN, `ß`), random
    /// values: the indexed set answers what trying every test answers.
    #[test]
    fn a_str_set_answers_what_every_test_answers() {
        let alphabet = ["a", "B", "b", "\\", ".", "k", "\u{212A}", "ß", "x"];
        use detect_test_support::XorShift64 as Rng;
        fn word(rng: &mut Rng, alphabet: &[&str], max: usize) -> String {
            (0..rng.below(max))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        }
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..300 {
            let tests: Vec<StrTest> = (0..1 + rng.below(40))
                .map(|_| {
                    let p: Text = crate::matcher::fold(&word(&mut rng, &alphabet, 14)).into();
                    match rng.below(6) {
                        0 => StrTest::PrefixCi(p),
                        1 => StrTest::EqCi(p),
                        2 => StrTest::ContainsCi(p),
                        3 => StrTest::Suffix(p),
                        _ => StrTest::SuffixCi(p),
                    }
                })
                .collect();
            let set = StrSet::new(List::Owned(tests.clone()));
            for _ in 0..40 {
                // Often a pattern in another case, with text around it.
                let mut value = word(&mut rng, &alphabet, 20);
                if rng.below(2) == 0 {
                    let (StrTest::PrefixCi(p)
                    | StrTest::EqCi(p)
                    | StrTest::ContainsCi(p)
                    | StrTest::Suffix(p)
                    | StrTest::SuffixCi(p)) = &tests[rng.below(tests.len())]
                    else {
                        unreachable!()
                    };
                    let p = if rng.below(2) == 0 {
                        p.to_uppercase()
                    } else {
                        p.to_string()
                    };
                    value = match rng.below(3) {
                        0 => p,
                        1 => value + &p,
                        _ => p + &value,
                    };
                }
                assert_eq!(
                    set.matches(&value),
                    tests.iter().any(|t| t.matches(&value)),
                    "{tests:?} {value:?}"
                );
            }
        }
    }
}
