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
//!
//! The adapter's files: `bytes` (SIMD and word-at-a-time scanning),
//! `parser` (JSON into the tape), `tape` (the tape, key fingerprints,
//! the key index and member cache, and the walk of a lookup), `windows`
//! (layout detection, the `UserData` fallback, keys with spaces); the
//! [`Event`] implementation is here.

mod bytes;
mod parser;
mod tape;
mod windows;

use std::sync::atomic::Ordering::Relaxed;

use crate::event::{Event, Single, Value};
use crate::layout::Layout;

use bytes::{is_ascii, prefetch_lines};
pub use parser::JsonError;
use parser::Parser;
use tape::{Dispatched, Found, KeyIndex, Kind, Member, MemberCache, Node};
use windows::EVENT_DATA_PREFIX;

/// Default maximum nesting depth (the top-level object counts as 1).
const DEFAULT_MAX_DEPTH: usize = 128;

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
    /// Asking for only the line's first few cache lines made a pass over
    /// SigmaHQ slower than asking for the whole line; the tape's first 24
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

/// What the adapter's tests (here and in its files) share: reading
/// values as comparable text, parsing, and random documents.
#[cfg(test)]
mod tests {
    use super::*;

    /// A value as comparable text: `s:..`, `n:..`, `b:..` or `null`.
    pub(super) fn show(v: Value<'_>) -> String {
        match v {
            Value::Str(s) => format!("s:{s}"),
            Value::Number(n) => format!("n:{n}"),
            Value::Bool(b) => format!("b:{b}"),
            Value::Null => "null".to_string(),
            other => format!("{other:?}"),
        }
    }

    /// The values at `path`, or `None` if the field does not exist.
    pub(super) fn get(event: &JsonEvent, path: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let found = event.lookup(path, &mut |v| {
            out.push(show(v));
            false
        });
        found.then_some(out)
    }

    pub(super) fn strs(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|v| v.to_string()).collect())
    }

    pub(super) fn parse(line: &str) -> JsonEvent {
        JsonEvent::parse_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    pub(super) fn parse_err(line: &[u8]) -> JsonError {
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

    pub(super) fn all_values(event: &JsonEvent) -> Vec<String> {
        let mut out = Vec::new();
        event.any_value(&mut |v| {
            out.push(show(v));
            false
        });
        out
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

    pub(super) use detect_test_support::XorShift64Star as Rng;

    pub(super) fn gen_ws(rng: &mut Rng, out: &mut String) {
        out.push_str(rng.pick(&["", "", "", " ", "\n", "\t", "\r\n  "]));
    }

    /// Appends a JSON string; returns its decoded value.
    pub(super) fn gen_string(rng: &mut Rng, out: &mut String) -> String {
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
    pub(super) fn gen_value(
        rng: &mut Rng,
        depth: usize,
        out: &mut String,
        scalars: &mut Vec<String>,
    ) {
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

    pub(super) fn gen_object(
        rng: &mut Rng,
        depth: usize,
        out: &mut String,
        scalars: &mut Vec<String>,
    ) {
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
    pub(super) fn exercise(e: &JsonEvent) {
        for path in ["a", "bc", "a.bc", "#text", "", ".", "a.a.a", "日本"] {
            e.lookup(path, &mut |_| false);
        }
        e.any_value(&mut |_| false);
        let _ = e.layout();
    }

    /// Every path over the key pieces of `gen_string`, up to three segments.
    pub(super) fn probe_paths() -> Vec<String> {
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

    pub(super) fn lookup_all(e: &JsonEvent, path: &str) -> (bool, Vec<String>) {
        let mut seen = Vec::new();
        let found = e.lookup(path, &mut |v| {
            seen.push(show(v));
            false
        });
        (found, seen)
    }

    pub(super) use detect_test_support::shared_data;

    /// Every strict prefix of each line is an error at an offset within
    /// it, never a panic, and leaves the event usable.
    pub(super) fn check_every_prefix(lines: &[String]) {
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

    /// Splits a file of pretty-printed JSON objects, one after the other, at
    /// the lines holding a lone top-level `{`.
    pub(super) fn split_documents(text: &str) -> Vec<&str> {
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
