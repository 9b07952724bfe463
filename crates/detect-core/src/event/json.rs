//! A hand-written NDJSON event adapter: [`JsonEvent`].
//!
//! Matching a rule against an event reads a handful of fields, so building a
//! `serde_json::Value` tree (one allocation per string, per object, per array)
//! for every line would cost far more than the matching itself. This parser is
//! written by hand instead, for three reasons:
//!
//! * **Zero allocation per event.** A [`JsonEvent`] owns all of its buffers
//!   (the copied line, the tape, an unescape scratch buffer and the parse
//!   stack) and only `clear()`s them between lines, so once it has seen a line
//!   of a given size, parsing more lines of that size allocates nothing.
//! * **Borrowed strings.** Strings without escapes are never copied: the tape
//!   records their byte range in the line buffer, and lookups hand out `&str`s
//!   into it. Only strings with escapes are decoded, into the shared scratch
//!   buffer.
//! * **A tape with skip indices.** The document is flattened, in document
//!   order, into a `Vec` of small nodes; each object or array node records
//!   where its subtree ends. A lookup such as `process.parent.name` therefore
//!   only compares the keys of the objects on its way and jumps over every
//!   other value in O(1).
//! * **Key fingerprints.** Each key node carries a 16-bit fingerprint of
//!   the key (its length and three of its bytes), computed while the key's
//!   bytes are in cache anyway. A lookup walks an object's members in order,
//!   comparing fingerprints, and compares bytes only on a fingerprint hit:
//!   a few instructions per member, over memory read front to back.
//! * **Shortcuts for the lookups every event gets.** While detecting the
//!   layout, the parse indexes the top-level keys by fingerprint (when they
//!   are few and all different) and resolves the two fields log source
//!   dispatch reads before any rule (channel, event ID); lookups remember
//!   the top-level members they found. Each shortcut answers only when the
//!   walk would give the same answer, and falls back to it otherwise.
//!
//! * **Keys with spaces.** Windows writes some event data under names with
//!   spaces (Windows Defender's `Threat Name`, `Source Name`, `Process
//!   Name`; Windows Firewall's `Rule Name`, `Application Path`), where Sigma
//!   rules write the name without them (`ThreatName`). A lookup that finds
//!   no key for a path tries, as a last resort, the keys that equal its last
//!   segment once their spaces are removed (see
//!   [`crate::event::same_name_without_spaces`]). The parse notes whether any
//!   key holds a space, so events without one never pay for it.
//!
//! The parser is strict JSON (RFC 8259) with an object at the top level, does
//! not recurse (nesting is tracked on an explicit stack bounded by a maximum
//! depth), and never panics: every malformed input yields a [`JsonError`]
//! carrying the byte offset of the problem.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::event::{Event, Single, Value};
use crate::layout::Layout;

/// Default maximum nesting depth (the top-level object counts as 1).
const DEFAULT_MAX_DEPTH: usize = 128;

/// Most '.'-separated prefixes of a path that a lookup compares by
/// fingerprint; paths with more dots compare every key's bytes.
const MAX_PATH_CUTS: usize = 8;

/// The 16-bit fingerprint of a key: 6 bits of its length, then 5 bits each
/// of its first byte xor its last and of its middle byte. Keys of equal
/// fingerprints are told apart by their bytes.
#[inline]
fn key_fingerprint(key: &[u8]) -> u16 {
    let n = key.len();
    if n == 0 {
        return 0;
    }
    let ends = u16::from(key[0] ^ key[n - 1].rotate_left(3));
    let mid = u16::from(key[n / 2]);
    ((n as u16 & 0x3F) << 10) | ((ends & 0x1F) << 5) | (mid & 0x1F)
}

/// The first byte at or after `i` that ends a run of plain string bytes: a
/// quote, a backslash or a control character (which JSON strings must
/// escape). Sixteen bytes at a time with SSE2 (part of the x86_64
/// baseline), then eight at a time in a word: strings are mostly short,
/// where a `memchr2` call and a second pass for control characters cost
/// more. Most of a line's bytes are in strings, so this loop is most of
/// the parse.
#[inline]
fn string_special(src: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        while let Some(block) = src.get(i..i + 16) {
            // SAFETY: SSE2 is part of the x86_64 baseline, so its
            // intrinsics are available; the unaligned load reads the 16
            // bytes of `block`.
            let hits = unsafe {
                let x = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                // Per byte: a quote, a backslash, or at most 0x1F (the
                // unsigned minimum with 0x1F is the byte itself).
                let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
                let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            };
            if hits != 0 {
                return Some(i + hits.trailing_zeros() as usize);
            }
            i += 16;
        }
    }
    while i + 8 <= src.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&src[i..i + 8]);
        let w = u64::from_le_bytes(w);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // Per byte, the top bit is set where the byte is zero (quote,
        // backslash) or below 0x20; a borrow can set it above such a byte
        // too, never below, so the lowest set bit is exact.
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let hits = hits & HIGH;
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    src.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| i + k)
}

/// Whether `bytes` are all ASCII: sixteen bytes at a time with SSE2, four
/// blocks per test (`<[u8]>::is_ascii` goes a word at a time, and cost a
/// line more than validating it as UTF-8 had).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
        let mut blocks = bytes.chunks_exact(64);
        for four in &mut blocks {
            // SAFETY: SSE2 is part of the x86_64 baseline, so its
            // intrinsics are available; each unaligned load reads 16 of the
            // 64 bytes of `four`.
            let top_bits = unsafe {
                let p = four.as_ptr().cast::<__m128i>();
                let a = _mm_or_si128(_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)));
                let b = _mm_or_si128(_mm_loadu_si128(p.add(2)), _mm_loadu_si128(p.add(3)));
                _mm_movemask_epi8(_mm_or_si128(a, b))
            };
            if top_bits != 0 {
                return false;
            }
        }
        blocks.remainder().is_ascii()
    }
    #[cfg(not(target_arch = "x86_64"))]
    bytes.is_ascii()
}

/// Prefetches up to `lines` 64-byte lines of the `len` bytes at `p`.
#[inline]
fn prefetch_lines(p: *const u8, len: usize, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for i in 0..len.div_ceil(64).min(lines) {
        // SAFETY: a prefetch never faults and reads nothing the program
        // sees; SSE is part of the x86_64 baseline. The address is within
        // the `len` bytes at `p`.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                p.wrapping_add(i * 64).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len, lines);
}

/// Whether two keys are equal. Keys and paths are short, where a `memcmp`
/// call costs more than the comparison: eight bytes at a time (the last
/// eight overlapping), four and four below eight, bytes below four.
#[inline]
fn key_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if a.len() < 8 {
        return a.first_chunk::<4>() == b.first_chunk::<4>()
            && a.last_chunk::<4>() == b.last_chunk::<4>();
    }
    let (mut x, mut y) = (a, b);
    while let (Some((wx, rx)), Some((wy, ry))) =
        (x.split_first_chunk::<8>(), y.split_first_chunk::<8>())
    {
        if wx != wy {
            return false;
        }
        (x, y) = (rx, ry);
    }
    a.last_chunk::<8>() == b.last_chunk::<8>()
}

/// Whether `p` holds a '.' (see [`has_byte`]).
#[inline]
fn has_dot(p: &[u8]) -> bool {
    has_byte::<b'.'>(p)
}

/// Whether `p` holds the byte `B`: eight bytes at a time (the last eight
/// overlapping), which for a path or key of a few words beats `memchr`'s
/// call and a byte loop alike. `B` must not be 0x01 (the filler below).
#[inline]
fn has_byte<const B: u8>(p: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let dot = |w: u64| {
        let x = w ^ (ONES * u64::from(B));
        (x.wrapping_sub(ONES) & !x & (ONES << 7)) != 0
    };
    if p.len() < 4 {
        let mut dotted = false;
        for &b in p {
            dotted |= b == B;
        }
        return dotted;
    }
    if p.len() < 8 {
        // Four and four (overlapping), the upper half of the word filled
        // with bytes that are not `B`.
        let word = |w: &[u8; 4]| u64::from(u32::from_le_bytes(*w)) | (ONES << 32);
        return p.first_chunk::<4>().is_some_and(|w| dot(word(w)))
            || p.last_chunk::<4>().is_some_and(|w| dot(word(w)));
    }
    let mut rest = p;
    while let Some((w, tail)) = rest.split_first_chunk::<8>() {
        if dot(u64::from_le_bytes(*w)) {
            return true;
        }
        rest = tail;
    }
    p.last_chunk::<8>()
        .is_some_and(|w| dot(u64::from_le_bytes(*w)))
}

/// Kind of a tape node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    /// `a`: index just past the object's subtree; `b`: tape index of the value
    /// of its first `#text` key, or 0 if it has none (0 is the top-level
    /// object, never a member value).
    Object,
    /// `a`: index just past the array's subtree.
    Array,
    /// An object key without escapes: `a..b` in the line buffer.
    KeyRaw,
    /// An object key with escapes, decoded: `a..b` in the scratch buffer.
    KeyEsc,
    /// A string value without escapes: `a..b` in the line buffer.
    StrRaw,
    /// A string value with escapes, decoded: `a..b` in the scratch buffer.
    StrEsc,
    /// A number, as written: `a..b` in the line buffer.
    Number,
    True,
    False,
    #[default]
    Null,
}

/// One tape entry. Objects are followed by their members as (key node, value
/// subtree) pairs; arrays by their element subtrees.
#[derive(Clone, Copy, Debug)]
struct Node {
    kind: Kind,
    /// For key nodes, [`key_fingerprint`] of the key (in the padding after
    /// `kind`: nodes stay 12 bytes).
    fp: u16,
    a: u32,
    b: u32,
}

impl Node {
    #[inline]
    fn new(kind: Kind, a: u32, b: u32) -> Self {
        Node { kind, fp: 0, a, b }
    }
}

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
    fn new(offset: usize, message: impl Into<String>) -> Self {
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

/// One NDJSON event (a JSON object), parsed into a reusable tape.
///
/// Create one `JsonEvent` per thread and call [`parse`](JsonEvent::parse) for
/// each line: the previous event is replaced and, once the buffers have grown
/// to the size of the lines being read, no allocation happens. Fields are read
/// through the [`Event`] trait:
///
/// * `lookup("process.parent.name", ..)` walks nested objects, and also finds
///   keys that themselves contain dots (`{"process.parent.name": ..}` or
///   `{"process": {"parent.name": ..}}`); every matching key is tried, in
///   document order.
/// * An object with a `#text` key (the `evtx` crate's rendering of an XML
///   element with attributes) stands for its `#text` value; `#attributes` and
///   `#text` are otherwise ordinary keys.
/// * An array's values are its elements, nested arrays flattened; a path that
///   continues into an array descends into each element object.
///
/// # Example
///
/// ```
/// use detect_core::{Event, JsonEvent, Value};
///
/// let line = br##"{"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688}},
///                  "EventData": {"CommandLine": "msiexec /i http://x/y.msi"}}}"##;
/// let mut event = JsonEvent::new();
/// event.parse(line).unwrap();
///
/// let mut command_line = String::new();
/// assert!(event.lookup("Event.EventData.CommandLine", &mut |v| {
///     if let Value::Str(s) = v {
///         command_line.push_str(s);
///     }
///     false
/// }));
/// assert_eq!(command_line, "msiexec /i http://x/y.msi");
///
/// // `#text` is unwrapped; numbers keep the text they were written with.
/// let mut id = None;
/// event.lookup("Event.System.EventID", &mut |v| {
///     id = v.with_text(|t| t.to_string());
///     true
/// });
/// assert_eq!(id.as_deref(), Some("4688"));
/// assert_eq!(event.layout(), detect_core::Layout::EvtxNested);
/// assert!(!event.lookup("Event.EventData.ParentImage", &mut |_| false));
/// ```
#[derive(Debug, Clone)]
// The fields log source dispatch reads on every event (the layout, the
// dispatch members, the line) come first, in the event's first cache line
// (`repr(C)` keeps the order, `align(64)` starts every event on a line):
// an event parsed beforehand and no longer in cache then costs one miss for
// them, and one per value read.
#[repr(C, align(64))]
pub struct JsonEvent {
    /// The members named by the detected layout's
    /// [`Layout::dispatch_paths`] (channel, event ID), resolved by the
    /// parse: log source dispatch reads both on every event, before any
    /// rule, so they are found while the event is in cache, and each
    /// holds a copy of its value's tape node, so that routing an event
    /// reads neither the tape nor the member cache.
    dispatch: [Dispatched; 2],
    /// The line, as given (valid UTF-8).
    buf: String,
    detected: Layout,
    layout_override: Option<Layout>,
    /// Whether the line and every decoded string are ASCII
    /// ([`Event::all_ascii`]), found out by the parse: the line's check
    /// replaces its UTF-8 validation, and the decoding of escapes sees the
    /// rest. (Asking at the first question instead had cost a pass over a
    /// line often no longer in cache.)
    ascii: bool,
    /// Whether some key holds a space, found out by the parse: only then
    /// does a lookup that finds nothing try the keys without their spaces
    /// (`lookup_without_spaces`).
    spaced_keys: bool,
    /// The document, in order.
    tape: Vec<Node>,
    /// Decoded strings that contained escapes.
    scratch: String,
    /// Tape indices of the containers open while parsing.
    stack: Vec<u32>,
    max_depth: usize,
    /// The top-level keys by fingerprint, built while detecting the layout
    /// (which walks them anyway) when they are all different and few enough
    /// ([`KEY_INDEX_MAX`]): a path the member cache does not hold is then
    /// found by a probe or two instead of a walk over every member (to rule
    /// out a second one), which on an event not in cache costs a miss per
    /// few members.
    keys: KeyIndex,
    /// Members of the top-level object already found by a dotless path: per
    /// slot, one word holding the low 32 bits of the address of the path
    /// looked up and 1 + the tape index of its value (0: empty). One word
    /// rather than two keeps the cache in four cache lines, which
    /// [`Event::prefetch`] asks for with the event's first lines. A rule set
    /// reads the same few fields many times per event (SigmaHQ:
    /// `CommandLine` about 30 times per process creation),
    /// always through the same `&'static str` of its path table, so a hit
    /// skips the walk over the members. A hit is trusted only after the
    /// member's key bytes are compared with the path (another string may
    /// live at an address later), and only keys found exactly once are
    /// kept. Emptied by every parse. Atomics (relaxed: plain loads and
    /// stores) keep the event `Sync`; a slot is read and written whole. Two
    /// paths whose addresses share their low 32 bits share a tag, which the
    /// key comparison also tells apart.
    members: MemberCache,
}

/// What the parse found at one of the dispatch paths.
#[derive(Clone, Copy, Debug, Default)]
struct Dispatched {
    found: Found,
    /// With [`Found::Once`]: the value's node (its kind and range) and
    /// tape index.
    kind: Kind,
    value: u32,
    a: u32,
    b: u32,
}

/// [`Dispatched`]'s outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Found {
    /// Not resolved: the general lookup decides.
    #[default]
    Unknown,
    /// No member.
    Absent,
    /// Exactly one member.
    Once,
}

/// [`JsonEvent`]'s index of top-level keys: open addressing by
/// [`key_slot`], each slot 1 + the tape index of a key node (0: empty).
/// `usable` says whether it holds every top-level key and they are all
/// different (found out while inserting them: a key equal to one already in
/// the table lies on its probe sequence).
#[derive(Clone, Debug)]
struct KeyIndex {
    slots: [u16; KEY_SLOTS],
    usable: bool,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            slots: [0; KEY_SLOTS],
            usable: false,
        }
    }
}

/// Slots of the top-level key index.
const KEY_SLOTS: usize = 64;

/// Most top-level keys indexed (beyond, lookups walk the members): the
/// table stays at most three-quarters full.
const KEY_INDEX_MAX: usize = KEY_SLOTS * 3 / 4;

/// The first slot of a key fingerprint in the key index.
#[inline]
fn key_slot(fp: u16) -> usize {
    usize::from(fp.wrapping_mul(0x9E37) >> 10) % KEY_SLOTS
}

/// The slots of [`JsonEvent`]'s member cache. A clone starts empty (always
/// correct: the cache only saves walks).
#[derive(Default)]
struct MemberCache([AtomicU64; MEMBER_SLOTS]);

impl Clone for MemberCache {
    fn clone(&self) -> Self {
        MemberCache::default()
    }
}

impl fmt::Debug for MemberCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberCache")
    }
}

/// Slots of [`JsonEvent`]'s member cache.
const MEMBER_SLOTS: usize = 32;

/// The member cache slot of a path at `address`: a multiplicative hash
/// (the addresses of a rule set's paths are 8-aligned and close together,
/// so their low bits alone collide; which paths collided changed with every
/// build's layout, and with it the speed of a pass: 8% on
/// `scan_unfiltered` of 1,000 generated rules).
#[inline]
fn member_slot(address: usize) -> usize {
    const SHIFT: u32 = u64::BITS - MEMBER_SLOTS.trailing_zeros();
    ((address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> SHIFT) as usize
}

impl Default for JsonEvent {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonEvent {
    /// An empty event (lookups find nothing) with the default maximum nesting
    /// depth of 128.
    pub fn new() -> Self {
        Self::with_max_depth(DEFAULT_MAX_DEPTH)
    }

    /// An empty event whose parser rejects documents nested deeper than
    /// `depth` levels (the top-level object is level 1; values below 1 are
    /// treated as 1).
    ///
    /// ```
    /// use detect_core::JsonEvent;
    /// let mut event = JsonEvent::with_max_depth(2);
    /// assert!(event.parse(br#"{"a": {"b": 1}}"#).is_ok());
    /// assert!(event.parse(br#"{"a": {"b": [1]}}"#).is_err());
    /// ```
    pub fn with_max_depth(depth: usize) -> Self {
        JsonEvent {
            buf: String::new(),
            tape: Vec::new(),
            ascii: false,
            spaced_keys: false,
            scratch: String::new(),
            stack: Vec::new(),
            max_depth: depth.max(1),
            detected: Layout::Flat,
            layout_override: None,
            members: Default::default(),
            keys: KeyIndex::default(),
            dispatch: Default::default(),
        }
    }

    /// Parses `line` (one JSON object; surrounding whitespace, including a
    /// trailing newline, is allowed), replacing the previous event.
    ///
    /// On error the event is left empty: lookups find nothing, [`raw`](Self::raw)
    /// is `""` and the detected layout is [`Layout::Flat`].
    pub fn parse(&mut self, line: &[u8]) -> Result<(), JsonError> {
        self.buf.clear();
        self.tape.clear();
        self.scratch.clear();
        self.stack.clear();
        self.detected = Layout::Flat;
        self.keys = KeyIndex::default();
        self.dispatch = Default::default();
        self.ascii = false;
        self.spaced_keys = false;
        for slot in &mut self.members.0 {
            *slot.get_mut() = 0;
        }

        // Most lines are ASCII, which is valid UTF-8: one pass that also
        // answers `all_ascii`, where UTF-8 validation would need a second.
        let ascii = is_ascii(line);
        let text = if ascii {
            // SAFETY: ASCII bytes are valid UTF-8.
            unsafe { core::str::from_utf8_unchecked(line) }
        } else {
            core::str::from_utf8(line)
                .map_err(|e| JsonError::new(e.valid_up_to(), "invalid UTF-8"))?
        };
        if line.len() >= u32::MAX as usize {
            return Err(JsonError::new(0, "line is too long (4 GiB or more)"));
        }
        self.buf.push_str(text);

        let mut parser = Parser {
            text: &self.buf,
            src: self.buf.as_bytes(),
            pos: 0,
            tape: &mut self.tape,
            scratch: &mut self.scratch,
            stack: &mut self.stack,
            max_depth: self.max_depth,
            non_ascii: false,
            spaced_keys: false,
        };
        let result = parser.run();
        let escaped_non_ascii = parser.non_ascii;
        let spaced_keys = parser.spaced_keys;
        if let Err(e) = result {
            self.buf.clear();
            self.tape.clear();
            self.scratch.clear();
            self.stack.clear();
            return Err(e);
        }
        self.ascii = ascii && !escaped_non_ascii;
        self.spaced_keys = spaced_keys;
        (self.detected, self.keys) = self.detect_layout();
        self.dispatch = self.detected.dispatch_paths().map(|path| {
            match self.resolve_member(path.as_bytes()) {
                Member::Once(value) => {
                    let node = self.tape[value];
                    Dispatched {
                        found: Found::Once,
                        kind: node.kind,
                        value: value as u32,
                        a: node.a,
                        b: node.b,
                    }
                }
                // (No dispatch path starts with `Event.EventData.`, whose
                // absence would send the lookup on to `Event.UserData`.)
                Member::Absent => Dispatched {
                    found: Found::Absent,
                    ..Dispatched::default()
                },
                Member::Other => Dispatched::default(),
            }
        });
        Ok(())
    }

    /// Parses one event into a new `JsonEvent` (convenient in tests and
    /// examples; reuse one `JsonEvent` with [`parse`](Self::parse) on hot paths).
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent};
    /// let event = JsonEvent::parse_str(r#"{"EventID": 1}"#).unwrap();
    /// assert!(event.lookup("EventID", &mut |_| false));
    /// assert!(JsonEvent::parse_str("[1, 2]").is_err());
    /// ```
    pub fn parse_str(line: &str) -> Result<JsonEvent, JsonError> {
        let mut event = JsonEvent::new();
        event.parse(line.as_bytes())?;
        Ok(event)
    }

    /// The line of the current event, exactly as given to [`parse`](Self::parse)
    /// (`""` before the first successful parse or after a failed one).
    pub fn raw(&self) -> &str {
        &self.buf
    }

    /// Forces the layout reported by [`Event::layout`] (`Some`) or goes back
    /// to detecting it from each event (`None`). The setting is kept across
    /// calls to [`parse`](Self::parse).
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent, Layout};
    /// let mut event = JsonEvent::parse_str(r#"{"CommandLine": "x"}"#).unwrap();
    /// assert_eq!(event.layout(), Layout::Flat);
    /// event.set_layout_override(Some(Layout::Ecs));
    /// assert_eq!(event.layout(), Layout::Ecs);
    /// assert_eq!(event.detected_layout(), Layout::Flat);
    /// ```
    pub fn set_layout_override(&mut self, layout: Option<Layout>) {
        self.layout_override = layout;
    }

    /// Forgets what lookups cached since the parse (the members found),
    /// leaving the event as its parse left it.
    /// Lookups answer the same either way. A benchmark that scans events
    /// parsed beforehand, pass after pass, calls it before each pass: the
    /// first scan after a parse, which is what a sensor runs, then costs what
    /// it costs in the benchmark too.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent, Single, Value};
    /// let event = JsonEvent::parse_str(r#"{"Channel": "Security"}"#).unwrap();
    /// assert_eq!(event.single("Channel"), Single::One(Value::Str("Security")));
    /// event.forget_lookups();
    /// assert_eq!(event.single("Channel"), Single::One(Value::Str("Security")));
    /// ```
    pub fn forget_lookups(&self) {
        for slot in &self.members.0 {
            slot.store(0, Relaxed);
        }
    }

    /// The layout detected from the current event's top-level keys, ignoring
    /// any override:
    ///
    /// * a key `Event` holding an object with a `System` key:
    ///   [`Layout::EvtxNested`];
    /// * otherwise a key `@timestamp`, `ecs`, `event` or `winlog`, or one
    ///   starting with `ecs.`, `event.` or `winlog.`: [`Layout::Ecs`];
    /// * otherwise [`Layout::Flat`].
    pub fn detected_layout(&self) -> Layout {
        self.detected
    }

    /// The layout (see [`JsonEvent::detected_layout`]) and the index of the
    /// top-level keys.
    fn detect_layout(&self) -> (Layout, KeyIndex) {
        let Some(top) = self.tape.first() else {
            return (Layout::Flat, KeyIndex::default());
        };
        if top.kind != Kind::Object {
            return (Layout::Flat, KeyIndex::default());
        }
        let end = top.a as usize;
        let mut ecs = false;
        let mut index = KeyIndex {
            usable: end <= usize::from(u16::MAX),
            ..KeyIndex::default()
        };
        let mut count = 0;
        let mut i = 1;
        while i < end {
            let key = self.key_bytes(i);
            let value = i + 1;
            if key == b"Event"
                && self.tape[value].kind == Kind::Object
                && self.object_has_key(value, b"System")
            {
                return (Layout::EvtxNested, KeyIndex::default());
            }
            if !ecs {
                ecs = matches!(key, b"@timestamp" | b"ecs" | b"event" | b"winlog")
                    || key.starts_with(b"ecs.")
                    || key.starts_with(b"event.")
                    || key.starts_with(b"winlog.");
            }
            count += 1;
            if index.usable {
                index.usable = count <= KEY_INDEX_MAX && self.index_key(&mut index.slots, i, key);
            }
            i = self.subtree_end(value);
        }
        if !index.usable {
            index = KeyIndex::default();
        }
        (if ecs { Layout::Ecs } else { Layout::Flat }, index)
    }

    /// Puts the key node `i` (key bytes `key`) into the key index `slots`;
    /// false if an equal key is there already. `i + 1` fits in a `u16` (the
    /// caller checks the tape's length).
    fn index_key(&self, slots: &mut [u16; KEY_SLOTS], i: usize, key: &[u8]) -> bool {
        let fp = self.tape[i].fp;
        let mut slot = key_slot(fp);
        while let Some(j) = usize::from(slots[slot]).checked_sub(1) {
            if self.tape[j].fp == fp && key_eq(self.key_bytes(j), key) {
                return false;
            }
            slot = (slot + 1) % KEY_SLOTS;
        }
        slots[slot] = (i + 1) as u16;
        true
    }

    fn object_has_key(&self, object: usize, name: &[u8]) -> bool {
        let end = self.tape[object].a as usize;
        let fp = key_fingerprint(name);
        let mut i = object + 1;
        while i < end {
            if self.tape[i].fp == fp && self.key_bytes(i) == name {
                return true;
            }
            i = self.subtree_end(i + 1);
        }
        false
    }

    /// Index just past the subtree starting at `i`.
    #[inline]
    fn subtree_end(&self, i: usize) -> usize {
        let node = self.tape[i];
        match node.kind {
            Kind::Object | Kind::Array => node.a as usize,
            _ => i + 1,
        }
    }

    /// The bytes of the key node at `i` (empty if it is not a key).
    #[inline]
    fn key_bytes(&self, i: usize) -> &[u8] {
        let node = self.tape[i];
        let range = node.a as usize..node.b as usize;
        match node.kind {
            Kind::KeyRaw => self.buf.as_bytes().get(range).unwrap_or_default(),
            Kind::KeyEsc => self.scratch.as_bytes().get(range).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The scalar value of node `i`, if it is a scalar.
    #[inline]
    fn scalar(&self, i: usize) -> Option<Value<'_>> {
        let node = self.tape[i];
        self.scalar_of(node.kind, node.a, node.b)
    }

    /// The scalar value of a node of `kind` holding `a` and `b`.
    #[inline]
    fn scalar_of(&self, kind: Kind, a: u32, b: u32) -> Option<Value<'_>> {
        let range = a as usize..b as usize;
        Some(match kind {
            Kind::StrRaw => Value::Str(self.buf.get(range).unwrap_or_default()),
            Kind::StrEsc => Value::Str(self.scratch.get(range).unwrap_or_default()),
            Kind::Number => Value::Number(self.buf.get(range).unwrap_or_default()),
            Kind::True => Value::Bool(true),
            Kind::False => Value::Bool(false),
            Kind::Null => Value::Null,
            Kind::Object | Kind::Array | Kind::KeyRaw | Kind::KeyEsc => return None,
        })
    }

    /// Visits the values of the field whose value subtree starts at `i`.
    /// Returns `true` if the visitor asked to stop.
    ///
    /// Recurses only from an array into the `#text` value of an object element
    /// (so at most once per two levels of nesting, which the parser bounds).
    fn emit_values(&self, mut i: usize, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        // An object stands for its `#text` value, if it has one.
        while self.tape[i].kind == Kind::Object {
            match self.tape[i].b {
                0 => return false,
                text => i = text as usize,
            }
        }
        let node = self.tape[i];
        if node.kind != Kind::Array {
            return self.scalar(i).is_some_and(visit);
        }
        let end = node.a as usize;
        let mut j = i + 1;
        while j < end {
            let child = self.tape[j];
            match child.kind {
                // Nested arrays are flattened: walk straight into them.
                Kind::Array => j += 1,
                Kind::Object => {
                    if child.b != 0 && self.emit_values(child.b as usize, visit) {
                        return true;
                    }
                    j = child.a as usize;
                }
                _ => {
                    if self.scalar(j).is_some_and(&mut *visit) {
                        return true;
                    }
                    j += 1;
                }
            }
        }
        false
    }

    /// The member whose value is at `value` has a key equal to the first
    /// `cut` bytes of `path`: emits its values if that is the whole path,
    /// else resolves the rest of the path below it. Returns `true` if the
    /// visitor asked to stop.
    #[inline]
    fn visit_member(
        &self,
        value: usize,
        path: &str,
        cut: usize,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        if cut == path.len() {
            *found = true;
            return self.emit_values(value, visit);
        }
        // `path[cut]` is an ASCII '.', so `cut + 1` is a char boundary.
        let rest = path.get(cut + 1..).unwrap_or_default();
        matches!(self.tape[value].kind, Kind::Object | Kind::Array)
            && self.lookup_at(value, rest, visit, found)
    }

    /// [`lookup_at`](Self::lookup_at) for an object and a path with more dots
    /// than the fingerprint arrays hold: compares every key's bytes.
    fn lookup_members_by_bytes(
        &self,
        object: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        let p = path.as_bytes();
        let end = self.tape[object].a as usize;
        let mut j = object + 1;
        while j < end {
            let key = self.key_bytes(j);
            if p.starts_with(key)
                && (p.len() == key.len() || p[key.len()] == b'.')
                && self.visit_member(j + 1, path, key.len(), visit, found)
            {
                return true;
            }
            j = self.subtree_end(j + 1);
        }
        false
    }

    /// Resolves `path` below the container at `i`. Sets `found` when a key
    /// matches the whole remaining path. Returns `true` if the visitor asked
    /// to stop.
    ///
    /// Recurses once per object on the way, and every step into an object
    /// consumes a key and a dot of `path`, so the depth is bounded by the
    /// path's length.
    fn lookup_at(
        &self,
        i: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        let node = self.tape[i];
        let end = node.a as usize;
        let mut j = i + 1;
        match node.kind {
            Kind::Object => {
                // The keys the path can continue with: each prefix of the
                // path that ends before a '.', and the whole path; their
                // lengths and fingerprints, computed once for all members.
                let p = path.as_bytes();
                let mut lens = [0usize; MAX_PATH_CUTS];
                let mut fps = [0u16; MAX_PATH_CUTS];
                let mut n = 0;
                for (k, &b) in p.iter().enumerate() {
                    if b == b'.' {
                        if n == MAX_PATH_CUTS - 1 {
                            return self.lookup_members_by_bytes(i, path, visit, found);
                        }
                        lens[n] = k;
                        fps[n] = key_fingerprint(&p[..k]);
                        n += 1;
                    }
                }
                lens[n] = p.len();
                fps[n] = key_fingerprint(p);
                n += 1;
                // The member walk is the hot loop of every lookup: a slice
                // ending at the object's end (so `tape[j]` needs no bounds
                // check) and a separate loop for dotless paths.
                let tape = self.tape.get(..end).unwrap_or_default();
                let skip = |value: usize| match tape.get(value) {
                    Some(v) if matches!(v.kind, Kind::Object | Kind::Array) => v.a as usize,
                    _ => value + 1,
                };
                if n == 1 {
                    let fp = fps[0];
                    while j < tape.len() {
                        let value = j + 1;
                        if tape[j].fp == fp
                            && key_eq(self.key_bytes(j), p)
                            && self.visit_member(value, path, p.len(), visit, found)
                        {
                            return true;
                        }
                        j = skip(value);
                    }
                    return false;
                }
                while j < tape.len() {
                    let fp = tape[j].fp;
                    let value = j + 1;
                    if let Some(c) =
                        (0..n).find(|&c| fps[c] == fp && self.key_bytes(j) == &p[..lens[c]])
                        && self.visit_member(value, path, lens[c], visit, found)
                    {
                        return true;
                    }
                    j = skip(value);
                }
                false
            }
            Kind::Array => {
                // Descend into every object element, nested arrays flattened.
                while j < end {
                    match self.tape[j].kind {
                        Kind::Array => j += 1,
                        Kind::Object => {
                            if self.lookup_at(j, path, visit, found) {
                                return true;
                            }
                            j = self.tape[j].a as usize;
                        }
                        _ => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }
}

/// What [`JsonEvent::member`] found: the general lookup's answer when it
/// is simple.
enum Member {
    /// The path names exactly one member, whose value is at this tape
    /// index: the general lookup visits that value's values and no others.
    Once(usize),
    /// The path names no member.
    Absent,
    /// Anything else (a dotted path not resolved beforehand, a repeated
    /// key, an array on the way): the general lookup decides.
    Other,
}

impl JsonEvent {
    /// The member `path` names: a dispatch path's from the parse, else a
    /// dotless path's through the member cache and the key index. A dotless
    /// path can only name a key of the top-level object (no
    /// `Event.EventData` fallback applies to it), so `Absent` and `Once`
    /// are the general lookup's answers too.
    #[inline]
    fn member(&self, path: &str) -> Member {
        if let Some(d) = self.dispatched(path.as_bytes()) {
            match d.found {
                Found::Once => return Member::Once(d.value as usize),
                Found::Absent => return Member::Absent,
                Found::Unknown => {}
            }
        }
        self.member_not_dispatched(path)
    }

    /// [`member`](Self::member) once the dispatch paths are ruled out (or
    /// left to the general lookup).
    #[inline]
    fn member_not_dispatched(&self, path: &str) -> Member {
        let p = path.as_bytes();
        if self.tape[0].kind != Kind::Object {
            return Member::Other;
        }
        let address = p.as_ptr() as usize;
        let slot = &self.members.0[member_slot(address)];
        let word = slot.load(Relaxed);
        let (tag, value) = ((word >> 32) as u32, word as u32);
        if tag == address as u32 && value != 0 {
            // Only dotless paths are cached, so a key equal to `p` means
            // `p` has no dot.
            let value = value as usize - 1;
            if key_eq(self.key_bytes(value - 1), p) {
                return Member::Once(value);
            }
        }
        self.member_uncached(p, slot)
    }

    /// [`member`](Self::member) for a path the member cache does not hold
    /// (out of line: the cached path stays a few instructions); fills the
    /// cache `slot` when the path names one member.
    #[inline(never)]
    fn member_uncached(&self, p: &[u8], slot: &AtomicU64) -> Member {
        if has_dot(p) {
            return Member::Other;
        }
        let found = self.top_level(p);
        if let Member::Once(value) = found {
            let address = p.as_ptr() as usize;
            slot.store((address as u32 as u64) << 32 | (value as u64 + 1), Relaxed);
        }
        found
    }

    /// The member of the top-level object (which must be an object) whose
    /// key is the dotless path `p`: by the key index when it is usable, else
    /// by the member walk of `lookup_at`, counting the matches.
    fn top_level(&self, p: &[u8]) -> Member {
        let fp = key_fingerprint(p);
        if self.keys.usable {
            return match self.probe_key(p, fp) {
                Some(value) => Member::Once(value),
                None => Member::Absent,
            };
        }
        let end = self.tape[0].a as usize;
        let tape = self.tape.get(..end).unwrap_or_default();
        let mut hit = None;
        let mut j = 1;
        while j < tape.len() {
            let value = j + 1;
            if tape[j].fp == fp && key_eq(self.key_bytes(j), p) {
                if hit.is_some() {
                    return Member::Other;
                }
                hit = Some(value);
            }
            j = match tape.get(value) {
                Some(v) if matches!(v.kind, Kind::Object | Kind::Array) => v.a as usize,
                _ => value + 1,
            };
        }
        hit.map_or(Member::Absent, Member::Once)
    }

    /// What the parse found at `p`, if it is one of the dispatch paths.
    #[inline]
    fn dispatched(&self, p: &[u8]) -> Option<&Dispatched> {
        let [channel, event_id] = self.detected.dispatch_paths();
        if key_eq(channel.as_bytes(), p) {
            Some(&self.dispatch[0])
        } else if key_eq(event_id.as_bytes(), p) {
            Some(&self.dispatch[1])
        } else {
            None
        }
    }

    /// The value of the top-level key `p` (fingerprint `fp`) by the key
    /// index, which must be usable (it then holds every top-level key, each
    /// once).
    #[inline]
    fn probe_key(&self, p: &[u8], fp: u16) -> Option<usize> {
        let mut s = key_slot(fp);
        loop {
            let j = usize::from(self.keys.slots[s]).checked_sub(1)?;
            if self.tape.get(j).is_some_and(|k| k.fp == fp) && key_eq(self.key_bytes(j), p) {
                return Some(j + 1);
            }
            s = (s + 1) % KEY_SLOTS;
        }
    }

    /// The member `path` names, worked out in full (for the dispatch paths,
    /// while parsing): by [`top_level`](Self::top_level) when the path has
    /// no dot, else by [`resolve_below`](Self::resolve_below).
    fn resolve_member(&self, path: &[u8]) -> Member {
        match self.tape.first() {
            Some(top) if top.kind == Kind::Object => {}
            _ => return Member::Other,
        }
        if has_dot(path) {
            self.resolve_below(0, path)
        } else {
            self.top_level(path)
        }
    }

    /// The member `path` names below the object at `object`, as
    /// [`lookup_at`](Self::lookup_at) would find it: every key equal to the
    /// path or to a part of it before a '.' counts (the rest is then
    /// resolved below that key's object); `Once` when exactly one member
    /// matches in all, `Other` when the way leads into an array. Recurses
    /// once per dot of `path`.
    fn resolve_below(&self, object: usize, path: &[u8]) -> Member {
        let end = self.tape[object].a as usize;
        let mut found = Member::Absent;
        let mut i = object + 1;
        while i < end {
            let key = self.key_bytes(i);
            let value = i + 1;
            let here = match path.strip_prefix(key) {
                Some([]) => Member::Once(value),
                Some([b'.', rest @ ..]) => match self.tape[value].kind {
                    Kind::Object => self.resolve_below(value, rest),
                    Kind::Array => Member::Other,
                    _ => Member::Absent,
                },
                _ => Member::Absent,
            };
            match (here, &found) {
                (Member::Absent, _) => {}
                (Member::Once(value), Member::Absent) => found = Member::Once(value),
                _ => return Member::Other,
            }
            i = self.subtree_end(value);
        }
        found
    }
}

/// Where the evtx-nested layout puts a Windows event's data fields.
const EVENT_DATA_PREFIX: &str = "Event.EventData.";

impl JsonEvent {
    /// Looks `field` up in every object directly under `Event.UserData`.
    ///
    /// Some channels (WMI-Activity, the Security log's 1102 "log cleared",
    /// TaskScheduler, AppLocker...) write their data as
    /// `<UserData><ElementName>...</ElementName></UserData>` instead of
    /// `<EventData>`; the evtx crate renders it as
    /// `Event.UserData.ElementName.Field`. Sigma rules name the bare field
    /// (`Operation`), which the evtx layout maps to `Event.EventData.Operation`,
    /// so when that is missing the field is looked for one level below
    /// `Event.UserData`, whatever the element's name. (The flat layout of
    /// `shared/data/events` already puts those fields at the top level.)
    fn lookup_user_data(&self, field: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let Some(user_data) = self
            .child(0, b"Event")
            .and_then(|event| self.child(event, b"UserData"))
        else {
            return false;
        };
        let end = self.tape[user_data].a as usize;
        let mut found = false;
        let mut i = user_data + 1;
        while i < end {
            let value = i + 1;
            if self.tape[value].kind == Kind::Object
                && self.lookup_at(value, field, visit, &mut found)
            {
                return true;
            }
            i = self.subtree_end(value);
        }
        found
    }

    /// The value of key `name` in the object at `object`, when it is an object.
    fn child(&self, object: usize, name: &[u8]) -> Option<usize> {
        if self.tape[object].kind != Kind::Object {
            return None;
        }
        let end = self.tape[object].a as usize;
        let mut i = object + 1;
        while i < end {
            let value = i + 1;
            if self.key_bytes(i) == name {
                return (self.tape[value].kind == Kind::Object).then_some(value);
            }
            i = self.subtree_end(value);
        }
        None
    }
}

impl JsonEvent {
    /// [`Event::single`]'s answer for a path that names no key: `Absent`,
    /// unless a key with spaces may stand for it (then the lookup decides).
    #[inline]
    fn absent(&self) -> Single<'static> {
        if self.spaced_keys {
            Single::UseLookup
        } else {
            Single::Absent
        }
    }

    /// The last resort of a lookup that found no key: the keys with spaces
    /// that equal the path's last segment once their spaces are removed
    /// ([`crate::event::same_name_without_spaces`]), wherever the exact
    /// lookup would have looked for that segment (for `Event.EventData.X`,
    /// also in the elements under `Event.UserData`). Visits each such key's
    /// values, in document order; returns whether one was found (or the
    /// visitor asked to stop).
    #[inline(never)]
    fn lookup_without_spaces(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let name = path.rsplit('.').next().unwrap_or_default();
        if name.is_empty() || name.contains(' ') {
            return false;
        }
        let mut found = false;
        if self.lookup_at_without_spaces(0, path, visit, &mut found) {
            return true;
        }
        if !found
            && let Some(field) = path.strip_prefix(EVENT_DATA_PREFIX)
            && let Some(user_data) = self
                .child(0, b"Event")
                .and_then(|event| self.child(event, b"UserData"))
        {
            let end = self.tape[user_data].a as usize;
            let mut i = user_data + 1;
            while i < end {
                let value = i + 1;
                if self.tape[value].kind == Kind::Object
                    && self.lookup_at_without_spaces(value, field, visit, &mut found)
                {
                    return true;
                }
                i = self.subtree_end(value);
            }
        }
        found
    }

    /// [`lookup_at`](Self::lookup_at) with the last segment of `path`
    /// compared by [`crate::event::same_name_without_spaces`]: below the
    /// container at `i`, a key that is `path` up to its last segment plus
    /// that segment with spaces (or, for a dotless path, only the latter)
    /// is visited; a key equal to a part of the path before a '.' is
    /// descended into. Sets `found`; returns `true` if the visitor asked to
    /// stop. Recurses once per dot of `path` and array level.
    fn lookup_at_without_spaces(
        &self,
        i: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        let node = self.tape[i];
        let end = node.a as usize;
        let mut j = i + 1;
        match node.kind {
            Kind::Object => {
                let p = path.as_bytes();
                let (parent, name) = match path.rfind('.') {
                    Some(dot) => (&p[..dot], &p[dot + 1..]),
                    None => (&p[..0], p),
                };
                while j < end {
                    let key = self.key_bytes(j);
                    let value = j + 1;
                    let last = match key.strip_prefix(parent) {
                        Some(last) if parent.is_empty() => Some(last),
                        Some([b'.', last @ ..]) => Some(last),
                        _ => None,
                    };
                    if last.is_some_and(|last| crate::event::same_name_without_spaces(last, name)) {
                        *found = true;
                        if self.emit_values(value, visit) {
                            return true;
                        }
                    } else if let Some([b'.', ..]) = p.strip_prefix(key)
                        && matches!(self.tape[value].kind, Kind::Object | Kind::Array)
                        && self.lookup_at_without_spaces(
                            value,
                            path.get(key.len() + 1..).unwrap_or_default(),
                            visit,
                            found,
                        )
                    {
                        return true;
                    }
                    j = self.subtree_end(value);
                }
                false
            }
            Kind::Array => {
                while j < end {
                    match self.tape[j].kind {
                        Kind::Array => j += 1,
                        Kind::Object => {
                            if self.lookup_at_without_spaces(j, path, visit, found) {
                                return true;
                            }
                            j = self.tape[j].a as usize;
                        }
                        _ => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }
}

impl Event for JsonEvent {
    fn layout(&self) -> Layout {
        self.layout_override.unwrap_or(self.detected)
    }

    /// Resolves `path`; in the evtx-nested layout, a field missing from
    /// `Event.EventData` is looked for in `Event.UserData` (see
    /// `JsonEvent::lookup_user_data`). When no key is found at all, keys
    /// with spaces that equal the path's last segment without them are
    /// (see [`crate::event::same_name_without_spaces`]).
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        if self.tape.is_empty() {
            return false;
        }
        match self.member(path) {
            Member::Once(value) => {
                self.emit_values(value, visit);
                return true;
            }
            Member::Absent => return self.spaced_keys && self.lookup_without_spaces(path, visit),
            Member::Other => {}
        }
        let mut found = false;
        if self.lookup_at(0, path, visit, &mut found) || found {
            return true;
        }
        if let Some(field) = path.strip_prefix(EVENT_DATA_PREFIX)
            && self.lookup_user_data(field, visit)
        {
            return true;
        }
        self.spaced_keys && self.lookup_without_spaces(path, visit)
    }

    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        (0..self.tape.len()).any(|i| self.scalar(i).is_some_and(&mut *visit))
    }

    /// The line (every number, boolean and string without escapes, as
    /// written) and the decoded strings that had escapes.
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        visit(&self.buf);
        visit(&self.scratch);
        true
    }

    /// Asks for the first cache lines of the tape and for the line (up to
    /// 4 KB) together, so that their misses overlap instead of coming one
    /// after the other as the first lookup walks them; the keyword pass
    /// searches the whole line later in the scan, and finds it arrived.
    /// Asking for the line's first 10 lines only, a pass over SigmaHQ
    /// (`sigmahq_hotspots pass 10`, five alternating runs) took 2,311
    /// ns/event against 2,258 with the whole line; the tape's first 24
    /// lines and the decoded strings besides gained nothing more.
    #[inline]
    fn prefetch(&self) {
        prefetch_lines(
            self.tape.as_ptr().cast(),
            self.tape.len() * size_of::<Node>(),
            6,
        );
        prefetch_lines(self.buf.as_ptr(), self.buf.len(), 64);
        prefetch_lines(self.members.0.as_ptr().cast(), size_of::<MemberCache>(), 4);
        prefetch_lines(self.keys.slots.as_ptr().cast(), size_of::<KeyIndex>(), 2);
    }

    /// Asks for the lines of the dispatch members' values (found by the
    /// parse): the channel's and the event ID's texts, read one after the
    /// other by the dispatch, then arrive together.
    #[inline]
    fn prefetch_dispatch(&self) {
        for d in &self.dispatch {
            if d.found == Found::Once {
                let base = if d.kind == Kind::StrEsc {
                    self.scratch.as_bytes()
                } else {
                    self.buf.as_bytes()
                };
                prefetch_lines(base.as_ptr().wrapping_add(d.a as usize), 1, 1);
            }
        }
    }

    /// Whether the line and the decoded escaped strings are ASCII, as the
    /// parse found out.
    fn all_ascii(&self) -> bool {
        self.ascii
    }

    /// A top-level member found by a dotless path (see `member`)
    /// holding a scalar; `UseLookup` for everything else.
    fn single(&self, path: &str) -> Single<'_> {
        if let Some(d) = self.dispatched(path.as_bytes()) {
            match d.found {
                Found::Once => {
                    return self
                        .scalar_of(d.kind, d.a, d.b)
                        .map_or(Single::UseLookup, Single::One);
                }
                Found::Absent => return self.absent(),
                Found::Unknown => {}
            }
        }
        if self.tape.is_empty() {
            return Single::Absent;
        }
        match self.member_not_dispatched(path) {
            Member::Once(value) => self.scalar(value).map_or(Single::UseLookup, Single::One),
            Member::Absent => self.absent(),
            Member::Other => Single::UseLookup,
        }
    }
}

/// The parser's state: the line and the (split-borrowed) buffers it fills.
struct Parser<'a> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    tape: &'a mut Vec<Node>,
    scratch: &'a mut String,
    stack: &'a mut Vec<u32>,
    max_depth: usize,
    /// Some decoded escape is not ASCII.
    non_ascii: bool,
    /// Some key holds a space.
    spaced_keys: bool,
}

impl Parser<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, JsonError> {
        Err(JsonError::new(offset, message))
    }

    #[inline]
    fn push(&mut self, kind: Kind, a: usize, b: usize) {
        self.tape.push(Node::new(kind, a as u32, b as u32));
    }

    fn run(&mut self) -> Result<(), JsonError> {
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
    fn open(&mut self, kind: Kind) -> Result<(), JsonError> {
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
    fn close(&mut self) {
        if let Some(top) = self.stack.pop() {
            let end = self.tape.len() as u32;
            if let Some(node) = self.tape.get_mut(top as usize) {
                node.a = end;
            }
        }
    }

    /// Parses `"key" :` at `pos` inside the innermost (object) container.
    fn parse_key(&mut self) -> Result<(), JsonError> {
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
    fn parse_string(&mut self) -> Result<(bool, usize, usize), JsonError> {
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
    fn escape(&mut self, at: usize) -> Result<usize, JsonError> {
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
    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
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
    fn parse_number(&mut self) -> Result<(), JsonError> {
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
    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), JsonError> {
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

    /// A value as comparable text: `s:..`, `n:..`, `b:..` or `null`.
    fn show(v: Value<'_>) -> String {
        match v {
            Value::Str(s) => format!("s:{s}"),
            Value::Number(n) => format!("n:{n}"),
            Value::Bool(b) => format!("b:{b}"),
            Value::Null => "null".to_string(),
            other => format!("{other:?}"),
        }
    }

    /// The values at `path`, or `None` if the field does not exist.
    fn get(event: &JsonEvent, path: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let found = event.lookup(path, &mut |v| {
            out.push(show(v));
            false
        });
        found.then_some(out)
    }

    fn strs(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|v| v.to_string()).collect())
    }

    fn parse(line: &str) -> JsonEvent {
        JsonEvent::parse_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn parse_err(line: &[u8]) -> JsonError {
        let mut event = JsonEvent::new();
        match event.parse(line) {
            Ok(()) => panic!("accepted: {}", String::from_utf8_lossy(line)),
            Err(e) => {
                assert!(!event.lookup("a", &mut |_| false));
                assert!(!event.any_value(&mut |_| true));
                assert_eq!(event.raw(), "");
                e
            }
        }
    }

    fn all_values(event: &JsonEvent) -> Vec<String> {
        let mut out = Vec::new();
        event.any_value(&mut |v| {
            out.push(show(v));
            false
        });
        out
    }

    #[test]
    fn flat_lookup() {
        let e = parse(
            r#"{"EventID": 4688, "CommandLine": "cmd /c whoami", "Enabled": true, "Off": false, "Binary": null}"#,
        );
        assert_eq!(get(&e, "EventID"), strs(&["n:4688"]));
        assert_eq!(get(&e, "CommandLine"), strs(&["s:cmd /c whoami"]));
        assert_eq!(get(&e, "Enabled"), strs(&["b:true"]));
        assert_eq!(get(&e, "Off"), strs(&["b:false"]));
        assert_eq!(get(&e, "Binary"), strs(&["null"]));
        assert_eq!(get(&e, "Missing"), None);
        assert_eq!(get(&e, "Event"), None, "a key prefix is not a match");
        assert_eq!(get(&e, "EventIDs"), None);
        assert_eq!(get(&e, "EventID.x"), None, "no path below a scalar");
        assert_eq!(get(&e, ""), None);
    }

    #[test]
    fn nested_lookup() {
        let e = parse(
            r#"{"process": {"pid": 42, "parent": {"name": "explorer.exe", "pid": 7}, "name": "cmd.exe"}, "empty": {}}"#,
        );
        assert_eq!(get(&e, "process.pid"), strs(&["n:42"]));
        assert_eq!(get(&e, "process.name"), strs(&["s:cmd.exe"]));
        assert_eq!(get(&e, "process.parent.name"), strs(&["s:explorer.exe"]));
        assert_eq!(get(&e, "process.parent.pid"), strs(&["n:7"]));
        assert_eq!(get(&e, "process.parent.ppid"), None);
        assert_eq!(get(&e, "process.parent.name.x"), None);
        assert_eq!(
            get(&e, "process.parent"),
            strs(&[]),
            "an object exists, no values"
        );
        assert_eq!(get(&e, "empty"), strs(&[]));
        assert_eq!(get(&e, "empty.x"), None);
        assert_eq!(get(&e, "process."), None);
        assert_eq!(get(&e, "pid"), None);
    }

    #[test]
    fn evtx_event_data_falls_back_to_user_data() {
        // Shaped like WMI-Activity 5858 as the evtx crate renders it.
        let e = parse(
            r##"{"Event": {"System": {"EventID": 5858, "Channel": "Microsoft-Windows-WMI-Activity/Operational"},
                "UserData": {"Operation_ClientFailure": {"#attributes": {"xmlns": "x"},
                "Operation": "ExecMethod cleareventlog", "ClientProcessId": 25920}}}}"##,
        );
        assert_eq!(e.layout(), Layout::EvtxNested);
        assert_eq!(
            get(&e, "Event.EventData.Operation"),
            strs(&["s:ExecMethod cleareventlog"])
        );
        assert_eq!(
            get(&e, "Event.EventData.ClientProcessId"),
            strs(&["n:25920"])
        );
        assert_eq!(get(&e, "Event.EventData.Missing"), None);
        // Only one level below UserData, and only for EventData paths.
        assert_eq!(get(&e, "Event.EventData.Operation_ClientFailure"), None);
        assert_eq!(get(&e, "Event.Operation"), None);
        assert_eq!(get(&e, "Event.System.Operation"), None);

        // EventData wins when it has the field; other UserData elements are searched too.
        let e = parse(
            r#"{"Event": {"System": {"EventID": 1}, "EventData": {"A": "data"},
                "UserData": {"X": {"A": "user"}, "Y": 3, "Z": {"B": "z"}}}}"#,
        );
        assert_eq!(get(&e, "Event.EventData.A"), strs(&["s:data"]));
        assert_eq!(get(&e, "Event.EventData.B"), strs(&["s:z"]));
        // The visitor can stop the search.
        let mut seen = 0;
        assert!(e.lookup("Event.EventData.B", &mut |_| {
            seen += 1;
            true
        }));
        assert_eq!(seen, 1);
        // No UserData, or not an object: nothing.
        let e = parse(r#"{"Event": {"System": {"EventID": 1}, "UserData": "x"}}"#);
        assert_eq!(get(&e, "Event.EventData.A"), None);
        let e = parse(r#"{"Event": 3}"#);
        assert_eq!(get(&e, "Event.EventData.A"), None);
    }

    /// Keys with spaces (Windows Defender's data names) are read by the
    /// name without them, in every layout, only when no key has the name
    /// itself; `single` never answers `Absent` for them.
    #[test]
    fn keys_with_spaces_answer_for_their_name_without_spaces() {
        let flat = parse(
            r#"{"Channel": "Microsoft-Windows-Windows Defender/Operational", "EventID": 1116,
                "Threat Name": "Trojan:PowerShell/Powersploit.M", "Source Name": "AMSI",
                "Process Name": "C:\\p.exe", "Path": "file:_C:\\x.ps1", "Tags": ["a", "b"]}"#,
        );
        let evtx = parse(
            r#"{"Event": {"System": {"Channel": "Microsoft-Windows-Windows Defender/Operational", "EventID": 1116},
                "EventData": {"Threat Name": "Trojan:PowerShell/Powersploit.M", "Source Name": "AMSI",
                "Process Name": "C:\\p.exe", "Path": "file:_C:\\x.ps1"}}}"#,
        );
        let ecs_nested = parse(
            r#"{"@timestamp": "t", "winlog": {"channel": "Microsoft-Windows-Windows Defender/Operational",
                "event_data": {"Threat Name": "Trojan:PowerShell/Powersploit.M", "Source Name": "AMSI",
                "Process Name": "C:\\p.exe"}}}"#,
        );
        let ecs_dotted = parse(
            r#"{"@timestamp": "t", "winlog.event_data.Threat Name": "Trojan:PowerShell/Powersploit.M",
                "winlog.event_data": {"Source Name": "AMSI"}}"#,
        );
        let user_data = parse(
            r#"{"Event": {"System": {"EventID": 1}, "UserData": {"Element": {"Source Name": "AMSI"}}}}"#,
        );
        for (event, prefix) in [
            (&flat, ""),
            (&evtx, "Event.EventData."),
            (&ecs_nested, "winlog.event_data."),
        ] {
            let path = |name: &str| format!("{prefix}{name}");
            assert!(event.spaced_keys);
            assert_eq!(
                get(event, &path("ThreatName")),
                strs(&["s:Trojan:PowerShell/Powersploit.M"]),
                "{prefix}"
            );
            assert_eq!(get(event, &path("SourceName")), strs(&["s:AMSI"]));
            assert_eq!(get(event, &path("ProcessName")), strs(&[r"s:C:\p.exe"]));
            // The exact names still work; names that are not there are not found.
            assert_eq!(
                get(event, &path("Threat Name")),
                strs(&["s:Trojan:PowerShell/Powersploit.M"])
            );
            for missing in [
                "Threat",
                "Name",
                "threatname",
                "ThreatNam",
                "ThreatNames",
                "Threat  Name",
            ] {
                assert_eq!(get(event, &path(missing)), None, "{prefix}{missing}");
            }
            // `single` asks the lookup instead of answering `Absent`.
            assert_eq!(event.single(&path("ThreatName")), Single::UseLookup);
            assert_eq!(event.single(&path("Missing")), Single::UseLookup);
        }
        assert_eq!(
            get(&ecs_dotted, "winlog.event_data.ThreatName"),
            strs(&["s:Trojan:PowerShell/Powersploit.M"])
        );
        assert_eq!(
            get(&ecs_dotted, "winlog.event_data.SourceName"),
            strs(&["s:AMSI"])
        );
        // The evtx layout's `Event.UserData` fallback too.
        assert_eq!(
            get(&user_data, "Event.EventData.SourceName"),
            strs(&["s:AMSI"])
        );
        // The visitor can stop early; `any_value` is unchanged.
        assert!(flat.lookup("ThreatName", &mut |_| true));
        // A key written as the rule writes it wins over the spaced one.
        let both =
            parse(r#"{"Source Name": "spaced", "SourceName": "exact", "A B": 1, "A  B": 2}"#);
        assert_eq!(get(&both, "SourceName"), strs(&["s:exact"]));
        // Several spaced keys for one name: all of them, in document order.
        assert_eq!(get(&both, "AB"), strs(&["n:1", "n:2"]));
        // Without any key holding a space, a missing field is `Absent` at once.
        let plain = parse(r#"{"ThreatID": "1", "Nested": {"Source Name": 1}}"#);
        assert!(plain.spaced_keys, "a nested key counts");
        let plain = parse(r#"{"ThreatID": "1", "Value": "a b c"}"#);
        assert!(!plain.spaced_keys, "spaces in values do not count");
        assert_eq!(plain.single("ThreatName"), Single::Absent);
        assert_eq!(get(&plain, "ThreatName"), None);
        // An escaped key is compared decoded.
        let escaped = parse(r#"{"Threat\u0020Name": "x"}"#);
        assert_eq!(get(&escaped, "ThreatName"), strs(&["s:x"]));
        // A key with spaces is never found by a dotted path's inner segments.
        assert_eq!(get(&flat, "Threat.Name"), None);
        // Arrays of objects are walked like the exact lookup walks them.
        let arrays = parse(r#"{"a": [{"Threat Name": "x"}, {"Threat Name": "y"}]}"#);
        assert_eq!(get(&arrays, "a.ThreatName"), strs(&["s:x", "s:y"]));
        assert!(!flat.lookup("", &mut |_| false));
    }

    #[test]
    fn has_byte_agrees_with_a_byte_loop() {
        for len in 0..40 {
            for at in 0..=len {
                let mut key = vec![b'a'; len];
                if at < len {
                    key[at] = b' ';
                }
                assert_eq!(has_byte::<b' '>(&key), at < len, "{len} {at}");
                key.iter_mut().for_each(|b| *b = b' ' + 1);
                assert!(!has_byte::<b' '>(&key));
            }
        }
    }

    #[test]
    fn dotted_and_mixed_keys() {
        let flat = parse(r#"{"process.parent.name": "a.exe", "process.pid": 1}"#);
        assert_eq!(get(&flat, "process.parent.name"), strs(&["s:a.exe"]));
        assert_eq!(get(&flat, "process.pid"), strs(&["n:1"]));
        assert_eq!(get(&flat, "process"), None);
        assert_eq!(get(&flat, "process.parent"), None);

        let mixed = parse(r#"{"process": {"parent.name": "b.exe", "parent": {"pid": 9}}}"#);
        assert_eq!(get(&mixed, "process.parent.name"), strs(&["s:b.exe"]));
        assert_eq!(get(&mixed, "process.parent.pid"), strs(&["n:9"]));

        // Every matching key is tried, in document order.
        let both = parse(
            r#"{"process.parent": {"name": "1"}, "process": {"parent": {"name": "2"}, "parent.name": "3"}, "process.parent.name": "4"}"#,
        );
        assert_eq!(
            get(&both, "process.parent.name"),
            strs(&["s:1", "s:2", "s:3", "s:4"])
        );
        let mut first = None;
        assert!(both.lookup("process.parent.name", &mut |v| {
            first = Some(show(v));
            true
        }));
        assert_eq!(first.as_deref(), Some("s:1"));

        // A dead end through one key does not hide another.
        let e = parse(r#"{"a": 1, "a": {"b": 2}, "a.b": 3}"#);
        assert_eq!(get(&e, "a.b"), strs(&["n:2", "n:3"]));
        assert_eq!(get(&e, "a"), strs(&["n:1"]));

        // Empty keys are keys.
        let e = parse(r#"{"": {"x": 1}, "y": {"": 2}}"#);
        assert_eq!(get(&e, ".x"), strs(&["n:1"]));
        assert_eq!(get(&e, "y."), strs(&["n:2"]));
    }

    #[test]
    fn text_unwrapping() {
        let e = parse(
            r##"{"Event": {"#attributes": {"xmlns": "x"}, "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625}"}}, "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688}, "Channel": "Security", "Execution": {"#attributes": {"ProcessID": 4}}}, "EventData": {"Data": [{"#attributes": {"Name": "a"}, "#text": "one"}, {"#attributes": {"Name": "b"}}, "two", {"#text": ["three", "four"]}]}}}"##,
        );
        assert_eq!(get(&e, "Event.System.EventID"), strs(&["n:4688"]));
        assert_eq!(get(&e, "Event.System.EventID.#text"), strs(&["n:4688"]));
        assert_eq!(
            get(&e, "Event.System.EventID.#attributes.Qualifiers"),
            strs(&["n:0"])
        );
        assert_eq!(
            get(&e, "Event.System.Provider.#attributes.Name"),
            strs(&["s:Microsoft-Windows-Security-Auditing"])
        );
        assert_eq!(get(&e, "Event.System.Provider"), strs(&[]));
        assert_eq!(
            get(&e, "Event.System.Execution.#attributes.ProcessID"),
            strs(&["n:4"])
        );
        assert_eq!(get(&e, "Event.System.Channel"), strs(&["s:Security"]));
        assert_eq!(
            get(&e, "Event.EventData.Data"),
            strs(&["s:one", "s:two", "s:three", "s:four"])
        );
        assert_eq!(
            get(&e, "Event.EventData.Data.#attributes.Name"),
            strs(&["s:a", "s:b"])
        );

        // `#text` nested in `#text`, and the first `#text` wins.
        let e = parse(
            r##"{"a": {"#text": {"#text": 5}}, "b": {"#text": 1, "#text": 2}, "c": {"\u0023text": "esc"}}"##,
        );
        assert_eq!(get(&e, "a"), strs(&["n:5"]));
        assert_eq!(get(&e, "b"), strs(&["n:1"]));
        assert_eq!(get(&e, "c"), strs(&["s:esc"]));
        assert_eq!(get(&e, "c.#text"), strs(&["s:esc"]));
    }

    #[test]
    fn arrays() {
        let e = parse(
            r#"{"Data": ["x", 2, true, null, [3, [4, []], "y"], {"k": "skipped"}], "empty": [], "procs": [{"name": "a", "args": ["-x", "-y"]}, 5, [{"name": "b"}], {"other": 1}, {"name": ["c", "d"]}], "deep": [[[[{"v": 1}]]]]}"#,
        );
        assert_eq!(
            get(&e, "Data"),
            strs(&["s:x", "n:2", "b:true", "null", "n:3", "n:4", "s:y"])
        );
        assert_eq!(get(&e, "empty"), strs(&[]), "an empty array exists");
        assert_eq!(get(&e, "procs"), strs(&["n:5"]));
        assert_eq!(get(&e, "procs.name"), strs(&["s:a", "s:b", "s:c", "s:d"]));
        assert_eq!(get(&e, "procs.args"), strs(&["s:-x", "s:-y"]));
        assert_eq!(get(&e, "procs.other"), strs(&["n:1"]));
        assert_eq!(get(&e, "procs.missing"), None);
        assert_eq!(get(&e, "Data.k"), strs(&["s:skipped"]));
        assert_eq!(get(&e, "deep.v"), strs(&["n:1"]));
        assert_eq!(get(&e, "empty.x"), None);

        let mut seen = Vec::new();
        assert!(e.lookup("Data", &mut |v| {
            seen.push(show(v));
            seen.len() == 2
        }));
        assert_eq!(seen, ["s:x", "n:2"]);
    }

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
    fn layout_detection_and_override() {
        let cases = [
            (
                r#"{"Event": {"System": {"EventID": 1}}}"#,
                Layout::EvtxNested,
            ),
            (
                r#"{"@timestamp": "t", "Event": {"System": {}}}"#,
                Layout::EvtxNested,
            ),
            (r#"{"Event": {"EventData": {}}}"#, Layout::Flat),
            (r#"{"Event": "System"}"#, Layout::Flat),
            (r#"{"x": {"Event": {"System": {}}}}"#, Layout::Flat),
            (r#"{"@timestamp": "2024-01-01T00:00:00Z"}"#, Layout::Ecs),
            (r#"{"ecs": {"version": "8"}}"#, Layout::Ecs),
            (r#"{"event": {"code": "1"}}"#, Layout::Ecs),
            (r#"{"winlog": {"event_id": 1}}"#, Layout::Ecs),
            (r#"{"a": 1, "event.code": "1"}"#, Layout::Ecs),
            (r#"{"winlog.event_id": 1}"#, Layout::Ecs),
            (r#"{"ecs.version": "8"}"#, Layout::Ecs),
            (
                r#"{"winlog": {}, "Event": {"System": 1}}"#,
                Layout::EvtxNested,
            ),
            (r#"{"EventID": 1, "Channel": "Security"}"#, Layout::Flat),
            (
                r#"{"events": 1, "eventx.a": 1, "x": {"winlog": 1}}"#,
                Layout::Flat,
            ),
            (r#"{"Event": {"System": null}}"#, Layout::EvtxNested),
            (r#"{"Event": [{"System": {}}]}"#, Layout::Flat),
        ];
        for (line, layout) in cases {
            let e = parse(line);
            assert_eq!(e.detected_layout(), layout, "{line}");
            assert_eq!(e.layout(), layout, "{line}");
        }

        let mut e = JsonEvent::new();
        e.set_layout_override(Some(Layout::Ecs));
        e.parse(br#"{"Event": {"System": {}}}"#).unwrap();
        assert_eq!(e.detected_layout(), Layout::EvtxNested);
        assert_eq!(e.layout(), Layout::Ecs);
        e.parse(br#"{"CommandLine": "x"}"#).unwrap();
        assert_eq!(e.layout(), Layout::Ecs, "the override survives parses");
        e.set_layout_override(Some(Layout::EvtxNested));
        assert_eq!(e.layout(), Layout::EvtxNested);
        e.set_layout_override(None);
        assert_eq!(e.layout(), Layout::Flat);
        assert!(e.parse(b"{").is_err());
        assert_eq!(e.detected_layout(), Layout::Flat);
    }

    #[test]
    fn any_value_order_and_early_stop() {
        let e = parse(
            r##"{"a": "x", "b": {"c": 1, "d": [true, null, {"e": "esc\n"}]}, "f": {"#text": 2.5}, "g": false, "h": []}"##,
        );
        assert_eq!(
            all_values(&e),
            [
                "s:x", "n:1", "b:true", "null", "s:esc\n", "n:2.5", "b:false"
            ]
        );
        let mut seen = Vec::new();
        assert!(e.any_value(&mut |v| {
            seen.push(show(v));
            v == Value::Bool(true)
        }));
        assert_eq!(seen, ["s:x", "n:1", "b:true"]);
        assert!(
            !e.any_value(&mut |v| v == Value::Str("a")),
            "keys are not values"
        );
    }

    #[test]
    fn the_member_cache_gives_the_walk_s_answers() {
        static IMAGE: &str = "Image";
        let mut e = JsonEvent::new();
        e.parse(br#"{"Image": "a.exe", "CommandLine": "x", "Dup": 1, "Dup": 2}"#)
            .unwrap();
        for _ in 0..3 {
            assert_eq!(get(&e, IMAGE), strs(&["s:a.exe"]));
            assert_eq!(
                get(&e, "Dup"),
                strs(&["n:1", "n:2"]),
                "a repeated key: every value"
            );
            assert_eq!(get(&e, "Missing"), None);
        }
        // The next event puts the key elsewhere, or leaves it out.
        e.parse(br#"{"X": {"Image": "no"}, "Image": ["b.exe", "c.exe"]}"#)
            .unwrap();
        assert_eq!(get(&e, IMAGE), strs(&["s:b.exe", "s:c.exe"]));
        e.parse(br#"{"CommandLine": "y"}"#).unwrap();
        assert_eq!(get(&e, IMAGE), None);
        // Same address and length, other text: the key bytes decide.
        let mut path = String::from("Image");
        e.parse(br#"{"Image": "d.exe", "Other": "o"}"#).unwrap();
        assert_eq!(get(&e, &path), strs(&["s:d.exe"]));
        path.replace_range(.., "Other");
        assert_eq!(get(&e, &path), strs(&["s:o"]));
        // A visitor that stops early, and escaped keys.
        e.parse(br#"{"K\u0065y": [1, 2]}"#).unwrap();
        let mut seen = 0;
        assert!(e.lookup("Key", &mut |_| {
            seen += 1;
            true
        }));
        assert_eq!(seen, 1);
        assert_eq!(get(&e, "Key"), strs(&["n:1", "n:2"]));
    }

    #[test]
    fn the_block_at_a_time_string_scan_agrees_with_a_byte_loop() {
        // Every byte value at every offset of texts of 0 to 20 bytes, after
        // a run of plain bytes, several special bytes in one word, and
        // starting the scan at every position.
        let brute = |src: &[u8], i: usize| {
            (i..src.len()).find(|&k| src[k] == b'"' || src[k] == b'\\' || src[k] < 0x20)
        };
        // Lengths to 40: two sixteen-byte blocks, then a word, then bytes.
        for len in 0..=40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut src = vec![b'a'; len];
                    src[at] = b;
                    if at + 3 < len {
                        src[at + 3] = b'"';
                    }
                    for from in [0, at.saturating_sub(1), at, at.saturating_sub(17)] {
                        assert_eq!(
                            string_special(&src, from),
                            brute(&src, from),
                            "{src:?} from {from}"
                        );
                    }
                }
            }
        }
        // Bytes just above and below the control range next to each other.
        let src = [0x20, 0x21, 0x7F, 0x80, 0xFF, 0x5B, 0x5D, 0x1F, b'"'];
        assert_eq!(string_special(&src, 0), Some(7));
        assert_eq!(string_special(b"", 0), None);
        assert_eq!(string_special(b"abc", 5), None);
    }

    #[test]
    fn repeated_top_level_keys_are_told_apart_from_unique_ones() {
        // Events of 1 to 300 distinct keys (beyond the key index's 48, and
        // enough for fingerprints to share slots), then the same with one
        // key repeated at each place (escaped or not, far apart or
        // adjacent): the index is used exactly when the keys are different
        // and few enough, and `single` agrees with `lookup` for every key,
        // before and after the member cache holds it.
        static PATHS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| (0..300).map(|k| format!("k{k}")).collect());
        for n in [1usize, 2, 3, 40, 300] {
            let keys: Vec<String> = (0..n).map(|k| format!("\"k{k}\"")).collect();
            let mut docs = vec![(None, keys.clone())];
            for dup in (0..n).step_by(n.div_ceil(7)) {
                for at in [0, dup, n - 1] {
                    let mut with = keys.clone();
                    let repeated = if at % 2 == 0 {
                        format!("\"k{dup}\"")
                    } else {
                        format!("\"\\u006b{dup}\"")
                    };
                    with.insert(at + 1, repeated);
                    docs.push((Some(dup), with));
                }
            }
            for (dup, keys) in docs {
                let members: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("{k}: {i}"))
                    .collect();
                let doc = format!("{{{}}}", members.join(", "));
                let e = JsonEvent::parse_str(&doc).unwrap();
                assert_eq!(
                    e.keys.usable,
                    dup.is_none() && keys.len() <= KEY_INDEX_MAX,
                    "{doc}"
                );
                for _ in 0..2 {
                    for (k, path) in PATHS.iter().take(n + 1).enumerate() {
                        let mut values = Vec::new();
                        e.lookup(path, &mut |v| {
                            values.push(format!("{v:?}"));
                            false
                        });
                        let expected = if k == n {
                            0
                        } else if Some(k) == dup {
                            2
                        } else {
                            1
                        };
                        assert_eq!(values.len(), expected, "{path} in {doc}");
                        match e.single(path) {
                            Single::One(v) => assert_eq!(values, [format!("{v:?}")]),
                            Single::Absent => assert!(values.is_empty()),
                            Single::UseLookup => assert!(values.len() > 1, "{path} in {doc}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn single_never_disagrees_with_lookup() {
        let docs = [
            r##"{"Image": "a.exe", "N": 5, "B": true, "Z": null, "A": [1], "E": [], "O": {"x": 1}, "T": {"#text": "t"}}"##,
            r#"{"Dup": 1, "Dup": "two", "d.x": "flat dotted", "d": {"x": "nested"}}"#,
            r#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "b.exe"}}}"#,
            r#"{"K\u0065y": "esc\u0061ped", "": "empty key"}"#,
        ];
        let paths = [
            "Image",
            "N",
            "B",
            "Z",
            "A",
            "E",
            "O",
            "T",
            "Dup",
            "d.x",
            "d",
            "Event",
            "Event.EventData.Image",
            "Key",
            "",
            "Missing",
            "O.x",
        ];
        let mut checked = 0;
        for doc in docs {
            let e = JsonEvent::parse_str(doc).unwrap();
            for path in paths {
                let mut values = Vec::new();
                let found = e.lookup(path, &mut |v| {
                    values.push(format!("{v:?}"));
                    false
                });
                match e.single(path) {
                    Single::One(v) => {
                        assert!(found, "{path} in {doc}");
                        assert_eq!(values, [format!("{v:?}")], "{path} in {doc}");
                        checked += 1;
                    }
                    Single::Absent => assert!(!found, "{path} in {doc}"),
                    Single::UseLookup => {}
                }
            }
        }
        assert!(checked >= 6, "single answers the common case ({checked})");
        assert_eq!(JsonEvent::new().single("x"), Single::Absent);
    }

    #[test]
    fn word_at_a_time_key_comparison_and_dot_test_agree_with_byte_loops() {
        // Every length to 40, a difference (or a dot) at every place.
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(key_eq(&a, &a));
            assert!(!has_dot(&a));
            assert!(!key_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!key_eq(&a, &b), "{n} {at}");
                assert!(!key_eq(&b, &a), "{n} {at}");
                b[at] = b'.';
                assert!(has_dot(&b), "{n} {at}");
                // Bytes one borrow away from '.', which a careless
                // word test would also flag.
                for near in [b'.' - 1, b'.' + 1, b'.' | 0x80] {
                    b[at] = near;
                    assert!(!has_dot(&b), "{n} {at} {near}");
                }
            }
        }
    }

    #[test]
    fn what_dispatch_reads_is_in_the_first_cache_line() {
        use std::mem::offset_of;
        assert_eq!(align_of::<JsonEvent>(), 64);
        let ends = [
            offset_of!(JsonEvent, dispatch) + size_of::<[Dispatched; 2]>(),
            offset_of!(JsonEvent, buf) + size_of::<String>(),
            offset_of!(JsonEvent, detected) + 1,
            offset_of!(JsonEvent, layout_override) + 1,
            offset_of!(JsonEvent, ascii) + 1,
        ];
        assert!(ends.iter().all(|&end| end <= 64), "{ends:?}");
    }

    #[test]
    fn the_block_ascii_test_agrees_with_the_standard_one() {
        for len in 0..200 {
            let plain = vec![b'a'; len];
            assert!(is_ascii(&plain));
            for at in 0..len {
                for high in [0x80, 0xC3, 0xFF] {
                    let mut bytes = plain.clone();
                    bytes[at] = high;
                    assert!(!is_ascii(&bytes), "{len} {at}");
                    // And from every start, as a slice of a longer buffer.
                    assert_eq!(is_ascii(&bytes[at / 2..]), bytes[at / 2..].is_ascii());
                }
            }
        }
    }

    #[test]
    fn dispatch_members_found_by_the_parse_agree_with_the_walk() {
        // Per layout, events whose channel and event ID are where they
        // belong, missing, repeated, reachable twice (a dotted key beside
        // the nested one), inside an array, or objects with `#text`: what
        // the parse recorded must give `lookup` and `single` the answers of
        // the general walk (`lookup_at`), and the plain events must have
        // been resolved (or the dispatch would silently walk again).
        let docs: [(&str, bool); 17] = [
            (r#"{"Channel": "Security", "EventID": 4688, "x": 1}"#, true),
            (r#"{"x": 1}"#, true),
            (r#"{"Channel": "a", "Channel": "b", "EventID": 1}"#, false),
            (r#"{"Channel": ["a", "b"], "EventID": [1]}"#, true),
            (
                r##"{"Ch\u0061nnel": "esc", "EventID": {"#text": 7}}"##,
                true,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S", "EventID": 1}, "EventData": {}}}"#,
                true,
            ),
            (r#"{"Event": {"System": {"Provider": 1}}}"#, true),
            (
                r##"{"Event": {"System": {"EventID": {"#attributes": {"Q": 0}, "#text": 4104}}}}"##,
                true,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S"}, "System.Channel": "T"}}"#,
                false,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S"}}, "Event.System.Channel": "T"}"#,
                false,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S", "Channel": "T"}}}"#,
                false,
            ),
            (r#"{"Event": {"System": [{"Channel": "S"}]}}"#, false),
            (
                r#"{"@timestamp": 1, "winlog": {"channel": "C", "event_id": 3}}"#,
                true,
            ),
            (
                r#"{"@timestamp": 1, "winlog.channel": "C", "winlog.event_id": "3"}"#,
                true,
            ),
            (
                r#"{"@timestamp": 1, "winlog": {"channel": "C"}, "winlog.channel": "D"}"#,
                false,
            ),
            (r#"{"@timestamp": 1, "winlog": [{"channel": "C"}]}"#, false),
            (r#"{"ecs": 1, "winlog": "not an object"}"#, true),
        ];
        let mut one_scalar = 0;
        for (doc, resolved) in docs {
            let e = JsonEvent::parse_str(doc).unwrap();
            let paths = e.detected_layout().dispatch_paths();
            assert_eq!(
                e.dispatch.iter().all(|d| d.found != Found::Unknown),
                resolved,
                "{doc}: {:?}",
                e.dispatch
            );
            for layout in Layout::ALL {
                for path in layout.dispatch_paths() {
                    let mut walked = Vec::new();
                    let mut found = false;
                    e.lookup_at(
                        0,
                        path,
                        &mut |v| {
                            walked.push(format!("{v:?}"));
                            false
                        },
                        &mut found,
                    );
                    let mut values = Vec::new();
                    let exists = e.lookup(path, &mut |v| {
                        values.push(format!("{v:?}"));
                        false
                    });
                    assert_eq!((exists, &values), (found, &walked), "{path} in {doc}");
                    match e.single(path) {
                        Single::One(v) => assert_eq!(values, [format!("{v:?}")], "{path} in {doc}"),
                        Single::Absent => assert!(!exists, "{path} in {doc}"),
                        Single::UseLookup => {}
                    }
                }
            }
            // A resolved path to one scalar is answered by `single`.
            if resolved && paths.iter().all(|p| e.single(p) != Single::UseLookup) {
                one_scalar += 1;
            }
        }
        assert_eq!(one_scalar, 7);
    }

    #[test]
    fn prefetching_is_harmless_at_any_size() {
        let mut e = JsonEvent::new();
        e.prefetch();
        e.prefetch_dispatch();
        for line in [
            r#"{}"#.to_string(),
            format!(r#"{{"a": "{}"}}"#, "x".repeat(5000)),
            format!(r#"{{"EventID": 1, "Channel": "{}\t"}}"#, "x".repeat(5000)),
            r#"{"Channel": "", "EventID": ""}"#.to_string(),
        ] {
            e.parse(line.as_bytes()).unwrap();
            e.prefetch();
            e.prefetch_dispatch();
            assert_eq!(e.raw(), line);
        }
        assert!(e.parse(b"{").is_err());
        e.prefetch();
        e.prefetch_dispatch();
    }

    #[test]
    fn parser_reuse() {
        let a = r#"{"k": "v\u0041", "n": [1, 2], "Event": {"System": {"EventID": 1}}}"#;
        let b = r#"{"other": "w", "@timestamp": "t", "k": {"x": "y"}}"#;
        let mut e = JsonEvent::new();
        for _ in 0..2 {
            e.parse(a.as_bytes()).unwrap();
            assert_eq!(e.raw(), a);
            assert_eq!(get(&e, "k"), strs(&["s:vA"]));
            assert_eq!(get(&e, "n"), strs(&["n:1", "n:2"]));
            assert_eq!(get(&e, "other"), None);
            assert_eq!(e.layout(), Layout::EvtxNested);

            e.parse(b.as_bytes()).unwrap();
            assert_eq!(e.raw(), b);
            assert_eq!(get(&e, "k"), strs(&[]));
            assert_eq!(get(&e, "k.x"), strs(&["s:y"]));
            assert_eq!(get(&e, "other"), strs(&["s:w"]));
            assert_eq!(get(&e, "n"), None);
            assert_eq!(e.layout(), Layout::Ecs);

            assert!(e.parse(br#"{"k": 1,"#).is_err());
            assert_eq!(get(&e, "k"), None);
            assert_eq!(e.raw(), "");
        }
        e.parse(a.as_bytes()).unwrap();
        assert_eq!(all_values(&e), ["s:vA", "n:1", "n:2", "n:1"]);
    }

    #[test]
    fn reparsing_keeps_buffer_capacities() {
        let line = r##"{"Event": {"System": {"EventID": {"#text": 4688}, "Provider": {"#attributes": {"Name": "p"}}}, "EventData": {"CommandLine": "C:\\Windows\\cmd.exe \"x\" \u00e9", "Data": [1, [2, {"a": null}], "three"]}}}"##;
        let mut e = JsonEvent::new();
        e.parse(line.as_bytes()).unwrap();
        let capacities = |e: &JsonEvent| {
            (
                e.buf.capacity(),
                e.tape.capacity(),
                e.scratch.capacity(),
                e.stack.capacity(),
            )
        };
        let first = capacities(&e);
        assert!(first.2 > 0, "the line has escaped strings");
        for _ in 0..1000 {
            e.parse(line.as_bytes()).unwrap();
            assert_eq!(capacities(&e), first);
            assert_eq!(
                get(&e, "Event.EventData.CommandLine"),
                strs(&["s:C:\\Windows\\cmd.exe \"x\" é"])
            );
        }
        // A shorter line fits in the same buffers too.
        e.parse(br#"{"a": "\n"}"#).unwrap();
        assert_eq!(capacities(&e), first);
    }

    use detect_test_support::XorShift64Star as Rng;

    fn gen_ws(rng: &mut Rng, out: &mut String) {
        out.push_str(rng.pick(&["", "", "", " ", "\n", "\t", "\r\n  "]));
    }

    /// Appends a JSON string; returns its decoded value.
    fn gen_string(rng: &mut Rng, out: &mut String) -> String {
        const PIECES: &[(&str, &str)] = &[
            ("a", "a"),
            ("bc", "bc"),
            ("é", "é"),
            ("日本", "日本"),
            ("😀", "😀"),
            (" ", " "),
            ("#text", "#text"),
            (".", "."),
            ("\\n", "\n"),
            ("\\\"", "\""),
            ("\\\\", "\\"),
            ("\\/", "/"),
            ("\\t", "\t"),
            ("\\u0041", "A"),
            ("\\u00e9", "é"),
            ("\\ud83d\\ude00", "😀"),
            ("\u{7f}", "\u{7f}"),
        ];
        let mut decoded = String::new();
        out.push('"');
        for _ in 0..rng.below(4) {
            let (text, value) = rng.pick(PIECES);
            out.push_str(text);
            decoded.push_str(value);
        }
        out.push('"');
        decoded
    }

    /// Appends a random JSON value; records its scalars in document order.
    fn gen_value(rng: &mut Rng, depth: usize, out: &mut String, scalars: &mut Vec<String>) {
        let kinds = if depth >= 6 { 5 } else { 8 };
        match rng.below(kinds) {
            0 | 4 => {
                let s = gen_string(rng, out);
                scalars.push(format!("s:{s}"));
            }
            1 => {
                let n = rng.pick(&["0", "-1", "12", "3.25", "-0.5e3", "1E+2", "7e-1", "-0"]);
                out.push_str(n);
                scalars.push(format!("n:{n}"));
            }
            2 => {
                let b = rng.below(2) == 0;
                out.push_str(if b { "true" } else { "false" });
                scalars.push(format!("b:{b}"));
            }
            3 => {
                out.push_str("null");
                scalars.push("null".to_string());
            }
            5 | 6 => gen_object(rng, depth + 1, out, scalars),
            _ => {
                out.push('[');
                for k in 0..rng.below(4) {
                    if k > 0 {
                        out.push(',');
                    }
                    gen_ws(rng, out);
                    gen_value(rng, depth + 1, out, scalars);
                    gen_ws(rng, out);
                }
                out.push(']');
            }
        }
    }

    fn gen_object(rng: &mut Rng, depth: usize, out: &mut String, scalars: &mut Vec<String>) {
        out.push('{');
        for k in 0..rng.below(4) {
            if k > 0 {
                out.push(',');
            }
            gen_ws(rng, out);
            gen_string(rng, out);
            gen_ws(rng, out);
            out.push(':');
            gen_ws(rng, out);
            gen_value(rng, depth, out, scalars);
            gen_ws(rng, out);
        }
        out.push('}');
    }

    /// Exercises every read path of a parsed (or failed) event.
    fn exercise(e: &JsonEvent) {
        for path in ["a", "bc", "a.bc", "#text", "", ".", "a.a.a", "日本"] {
            e.lookup(path, &mut |_| false);
        }
        e.any_value(&mut |_| false);
        let _ = e.layout();
    }

    /// Every path over the key pieces of `gen_string`, up to three segments.
    fn probe_paths() -> Vec<String> {
        let segs = ["a", "bc", "aa", "#text", "", "a.bc", "é", "日本", "\n", " "];
        let mut paths: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
        for x in segs {
            for y in segs {
                paths.push(format!("{x}.{y}"));
                for z in ["a", "bc", ""] {
                    paths.push(format!("{x}.{y}.{z}"));
                }
            }
        }
        paths
    }

    fn lookup_all(e: &JsonEvent, path: &str) -> (bool, Vec<String>) {
        let mut seen = Vec::new();
        let found = e.lookup(path, &mut |v| {
            seen.push(show(v));
            false
        });
        (found, seen)
    }

    #[test]
    fn fingerprint_and_byte_comparison_agree() {
        // Paths with more dots than the fingerprint arrays hold take the
        // byte-comparing walk; the same paths with fewer dots the
        // fingerprinted one. Both see the same keys.
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let paths = probe_paths();
        let mut checked = 0usize;
        for _ in 0..3_000 {
            let mut text = String::new();
            let mut scalars = Vec::new();
            gen_object(&mut rng, 1, &mut text, &mut scalars);
            let event = JsonEvent::parse_str(&text).unwrap();
            for path in &paths {
                let fast = lookup_all(&event, path);
                let mut slow = (false, Vec::new());
                let stop = event.lookup_members_by_bytes(
                    0,
                    path,
                    &mut |v| {
                        slow.1.push(show(v));
                        false
                    },
                    &mut slow.0,
                );
                assert!(!stop);
                // Found nowhere: keys with spaces may stand for the path.
                if !slow.0 && event.spaced_keys {
                    slow.0 = event.lookup_without_spaces(path, &mut |v| {
                        slow.1.push(show(v));
                        false
                    });
                }
                assert_eq!(fast, slow, "{path:?} in {text}");
                checked += usize::from(fast.0);
            }
        }
        assert!(checked > 1000, "{checked}");
        let deep = parse(
            r#"{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}, "a.b.c.d.e.f.g.h.i": 2}"#,
        );
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h.i"), strs(&["n:1", "n:2"]));
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h"), strs(&[]));
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h.j"), None);
    }

    #[test]
    fn key_nodes_stay_small() {
        assert_eq!(core::mem::size_of::<Node>(), 12);
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

    use detect_test_support::shared_data;

    /// Every strict prefix of each line is an error at an offset within
    /// it, never a panic, and leaves the event usable.
    fn check_every_prefix(lines: &[String]) {
        let mut event = JsonEvent::new();
        for line in lines {
            let bytes = line.as_bytes();
            event.parse(bytes).unwrap_or_else(|e| panic!("{e}: {line}"));
            for end in 0..bytes.len() {
                let err = event
                    .parse(&bytes[..end])
                    .expect_err("a strict prefix is incomplete");
                assert!(err.offset <= end, "{err} for a prefix of length {end}");
                exercise(&event);
                // And the same with a byte of garbage appended.
                let mut garbled = bytes[..end].to_vec();
                garbled.push(b'\xff');
                assert!(event.parse(&garbled).is_err());
            }
        }
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

    #[test]
    #[ignore = "needs ../shared (run with --ignored)"]
    fn windows_samples_parse() {
        let path = shared_data("events/windows-samples.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        let mut event = JsonEvent::new();
        let mut lines = 0;
        let mut rogue_1040 = 0;
        for (number, line) in text.lines().enumerate() {
            event
                .parse(line.as_bytes())
                .unwrap_or_else(|e| panic!("line {}: {e}", number + 1));
            lines += 1;
            assert_eq!(event.layout(), Layout::Flat, "line {}", number + 1);
            assert!(
                event.lookup("EventID", &mut |v| matches!(v, Value::Number(_))),
                "line {}",
                number + 1
            );
            let source = get(&event, "_source_file").unwrap_or_default();
            let id = get(&event, "EventID").unwrap_or_default();
            if source
                .iter()
                .any(|s| s.ends_with("rogue_msi_url_1040_1042.evtx"))
                && id == ["n:1040"]
            {
                let data = get(&event, "Data").unwrap();
                if data.contains(&"s:http://officemysuppbox.com/staterepository".to_string()) {
                    rogue_1040 += 1;
                    assert_eq!(get(&event, "Provider_Name"), strs(&["s:MsiInstaller"]));
                    assert_eq!(data.len(), 7);
                    assert_eq!(
                        get(&event, "Data_0"),
                        strs(&["s:http://officemysuppbox.com/staterepository"])
                    );
                    assert_eq!(get(&event, "Binary"), strs(&["null"]));
                }
            }
        }
        assert_eq!(lines, 14_646);
        assert_eq!(rogue_1040, 1);
    }

    /// Splits a file of pretty-printed JSON objects, one after the other, at
    /// the lines holding a lone top-level `{`.
    fn split_documents(text: &str) -> Vec<&str> {
        let mut starts: Vec<usize> = text.match_indices("\n{").map(|(at, _)| at + 1).collect();
        starts.insert(0, 0);
        starts.push(text.len());
        starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
    }

    #[test]
    #[ignore = "needs ../shared (run with --ignored)"]
    fn sigma_regression_samples_parse() {
        let index = shared_data("sigma/regression-index.jsonl");
        let root = index.with_file_name("regression");
        let index = std::fs::read_to_string(index).unwrap();
        let mut event = JsonEvent::new();
        let mut files = 0;
        let mut events = 0;
        for entry in index.lines() {
            let entry: serde_json::Value = serde_json::from_str(entry).unwrap();
            let sample = entry["sample_path"]
                .as_str()
                .unwrap()
                .replace(".evtx", ".json");
            let Ok(text) = std::fs::read_to_string(root.join(&sample)) else {
                continue;
            };
            files += 1;
            let docs = split_documents(&text);
            if docs.len() > 1 {
                let err = event.parse(text.as_bytes()).unwrap_err();
                assert_eq!(err.message, "trailing characters after the JSON object");
            }
            let expected: Vec<String> = entry["event_ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|v| v.as_str().map(|s| format!("n:{s}")))
                        .collect()
                })
                .unwrap_or_default();
            let mut matched = false;
            for doc in docs {
                event
                    .parse(doc.as_bytes())
                    .unwrap_or_else(|e| panic!("{sample}: {e}"));
                events += 1;
                assert_eq!(event.layout(), Layout::EvtxNested, "{sample}");
                let id = get(&event, "Event.System.EventID").unwrap_or_default();
                assert_eq!(id.len(), 1, "{sample}: {id:?}");
                assert!(id[0].starts_with("n:"), "{sample}: {id:?}");
                matched |= expected.contains(&id[0]);
                let provider =
                    get(&event, "Event.System.Provider.#attributes.Name").unwrap_or_default();
                assert_eq!(provider.len(), 1, "{sample}: {provider:?}");
                assert!(provider[0].len() > 2, "{sample}: {provider:?}");
                assert!(
                    get(&event, "Event.System.Channel").is_some_and(|c| c.len() == 1),
                    "{sample}"
                );
            }
            assert!(expected.is_empty() || matched, "{sample}: {expected:?}");
        }
        assert!(files >= 100, "only {files} regression samples found");
        assert!(events > files);
    }
}
