//! [`EvtxEvent`]: one decoded record, read by rules through [`Event`].
//!
//! Rules read EVTX records in the "evtx-nested" layout ([`Layout::EvtxNested`]):
//! the paths of the evtx crate's JSON rendering (`Event.System.EventID`,
//! `Event.System.Provider.#attributes.Name`, `Event.EventData.CommandLine`),
//! which is how the CLI read them when it rendered each record to JSON and
//! parsed the text again. Here the record's element tape is turned into the
//! *shape* of that JSON without its text: a tape of objects, arrays, keys
//! and scalar values built by the same rules the evtx crate renders by
//! (`Data` elements named by their `Name` attribute, `#attributes` and
//! `#text` for elements with attributes, `_1`, `_2` for repeated names,
//! arrays for repeated `Data` names and unnamed `Data`), and looked up as
//! [`detect_core::JsonEvent`] looks up JSON (an object with `#text` stands
//! for it, arrays are walked, keys may hold dots, and a field missing from
//! `Event.EventData` is looked for one level below `Event.UserData`).
//! Strings are handed out from the decoder's text: nothing is parsed twice.

use detect_core::{Event, Layout, Single, Value};

use crate::Error;
use crate::binxml::{Decoder, Piece, Span, XNode};
use crate::chunk::RawRecord;

/// Spans of the joined-texts arena have this bit (and not the name bit).
const JOIN_BIT: u32 = 1 << 30;

/// A scalar of the JSON shape.
#[derive(Clone, Copy, Debug)]
enum Scalar {
    Null,
    Str(Span),
    Num(Span),
    Bool(bool),
}

/// One node of the JSON shape, in document order.
#[derive(Clone, Copy, Debug)]
enum JNode {
    /// An object whose members (key, value) follow up to `end`; `text` is
    /// the index of its `#text` value (0: none).
    Obj { end: u32, text: u32 },
    /// An array whose elements follow up to `end`.
    Arr { end: u32 },
    /// A member's key.
    Key(Span),
    /// A scalar value.
    Val(Scalar),
}

/// One EVTX record decoded for the rules. Reuse one per thread: once its
/// buffers have grown to the size of the records, [`EvtxEvent::decode`]
/// allocates nothing.
///
/// ```
/// use detect_evtx::EvtxEvent;
/// use detect_core::{Event, Layout};
/// let event = EvtxEvent::new();
/// assert_eq!(event.layout(), Layout::EvtxNested);
/// assert!(!event.lookup("Event.System.EventID", &mut |_| false));
/// ```
#[derive(Debug, Default)]
pub struct EvtxEvent {
    dec: Decoder,
    tape: Vec<JNode>,
    /// Texts made for the shape: joined content, numbered keys.
    joined: String,
    /// The child elements of the elements being shaped (a stack).
    elems: Vec<usize>,
    /// Names seen in the objects being shaped, with their counts and
    /// hashes (a stack).
    counts: Vec<(Span, u32, u32)>,
    record_id: u64,
    ascii: bool,
    /// Tape indices of the objects `Event.System` and `Event.EventData`
    /// (0: none), when every lookup of a path below them can start there
    /// (see `EvtxEvent::find_shortcuts`).
    system: u32,
    event_data: u32,
    shortcuts: bool,
    /// Whether some key holds a space (see `EvtxEvent::lookup_inner`).
    spaced: bool,
}

impl EvtxEvent {
    /// An empty event (no fields) with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the event that the records to come are from another chunk (the
    /// names it has read belong to the chunk).
    pub fn start_chunk(&mut self) {
        self.dec.new_chunk();
    }

    /// Decodes `record` of `chunk` (found by [`crate::Records`] on the same
    /// chunk, after [`EvtxEvent::start_chunk`]), replacing the previous
    /// event. On error the event is left empty.
    pub fn decode(&mut self, chunk: &[u8], record: &RawRecord) -> Result<(), Error> {
        self.tape.clear();
        self.joined.clear();
        self.record_id = record.id;
        let decoded = self
            .dec
            .decode(chunk, record.binxml_start, record.binxml_end)
            .and_then(|()| self.build());
        if decoded.is_err() {
            self.tape.clear();
        }
        self.find_shortcuts();
        self.ascii =
            self.dec.text.is_ascii() && self.joined.is_ascii() && self.dec.names.is_ascii();
        decoded
    }

    /// The record id of the record decoded last.
    pub fn record_id(&self) -> u64 {
        self.record_id
    }

    /// The event as one JSON object: the evtx crate's rendering of the
    /// record, with the same members in the same order (the text of a few
    /// value types may differ: see the crate docs).
    ///
    /// ```
    /// assert_eq!(detect_evtx::EvtxEvent::new().to_json(), "{}");
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        if self.tape.is_empty() {
            out.push_str("{}");
        } else {
            self.write_json(0, &mut out);
        }
        out
    }

    fn write_json(&self, i: usize, out: &mut String) -> usize {
        match self.tape[i] {
            JNode::Obj { end, .. } | JNode::Arr { end } => {
                let object = matches!(self.tape[i], JNode::Obj { .. });
                out.push(if object { '{' } else { '[' });
                let mut j = i + 1;
                let mut first = true;
                while j < end as usize {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    if let JNode::Key(k) = self.tape[j] {
                        push_json_str(out, self.str(k));
                        out.push(':');
                        j += 1;
                    }
                    j = self.write_json(j, out);
                }
                out.push(if object { '}' } else { ']' });
                end as usize
            }
            JNode::Key(k) => {
                push_json_str(out, self.str(k));
                i + 1
            }
            JNode::Val(v) => {
                match v {
                    Scalar::Null => out.push_str("null"),
                    Scalar::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                    Scalar::Num(s) => out.push_str(self.str(s)),
                    Scalar::Str(s) => push_json_str(out, self.str(s)),
                }
                i + 1
            }
        }
    }

    fn str(&self, span: Span) -> &str {
        if !span.is_name() && span.start & JOIN_BIT != 0 {
            let start = (span.start & !JOIN_BIT) as usize;
            return self
                .joined
                .get(start..start + span.len as usize)
                .unwrap_or_default();
        }
        self.dec.str(span)
    }

    fn scalar_value(&self, s: Scalar) -> Value<'_> {
        match s {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Num(span) => Value::Number(self.str(span)),
            Scalar::Str(span) => Value::Str(self.str(span)),
        }
    }

    fn build(&mut self) -> Result<(), Error> {
        let XNode::Elem { name, .. } = self.dec.xml[0] else {
            return Err(Error::new(0, "record holds no element"));
        };
        let mut b = Builder {
            dec: &self.dec,
            tape: &mut self.tape,
            joined: &mut self.joined,
            elems: &mut self.elems,
            counts: &mut self.counts,
        };
        let obj = b.open_obj();
        b.tape.push(JNode::Key(name));
        b.element_value(0, false);
        b.close(obj);
        if self.tape.len() > u32::MAX as usize / 2 {
            return Err(Error::new(0, "record too large"));
        }
        Ok(())
    }

    // --- lookups, as JsonEvent's over the same shape ---

    fn end_of(&self, i: usize) -> usize {
        match self.tape[i] {
            JNode::Obj { end, .. } | JNode::Arr { end } => end as usize,
            _ => i + 1,
        }
    }

    fn emit<'s>(&'s self, mut i: usize, visit: &mut dyn FnMut(Value<'s>) -> bool) -> bool {
        while let JNode::Obj { text, .. } = self.tape[i] {
            if text == 0 {
                return false;
            }
            i = text as usize;
        }
        match self.tape[i] {
            JNode::Val(v) => visit(self.scalar_value(v)),
            JNode::Arr { end } => {
                let mut j = i + 1;
                while j < end as usize {
                    match self.tape[j] {
                        JNode::Arr { .. } => j += 1,
                        JNode::Obj { end, text } => {
                            if text != 0 && self.emit(text as usize, visit) {
                                return true;
                            }
                            j = end as usize;
                        }
                        JNode::Val(v) => {
                            if visit(self.scalar_value(v)) {
                                return true;
                            }
                            j += 1;
                        }
                        JNode::Key(_) => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn lookup_at<'s>(
        &'s self,
        i: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'s>) -> bool,
        found: &mut bool,
    ) -> bool {
        match self.tape[i] {
            JNode::Obj { end, .. } => {
                let mut j = i + 1;
                while j < end as usize {
                    let JNode::Key(k) = self.tape[j] else {
                        j += 1;
                        continue;
                    };
                    let value = j + 1;
                    let key = self.str(k);
                    if let Some(rest) = path.strip_prefix(key) {
                        if rest.is_empty() {
                            *found = true;
                            if self.emit(value, visit) {
                                return true;
                            }
                        } else if let Some(rest) = rest.strip_prefix('.')
                            && matches!(self.tape[value], JNode::Obj { .. } | JNode::Arr { .. })
                            && self.lookup_at(value, rest, visit, found)
                        {
                            return true;
                        }
                    }
                    j = self.end_of(value);
                }
                false
            }
            JNode::Arr { end } => {
                let mut j = i + 1;
                while j < end as usize {
                    match self.tape[j] {
                        JNode::Arr { .. } => j += 1,
                        JNode::Obj { end, .. } => {
                            if self.lookup_at(j, path, visit, found) {
                                return true;
                            }
                            j = end as usize;
                        }
                        _ => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }

    /// Finds where `Event.System` and `Event.EventData` are, so that
    /// lookups below them start there. Exact only when the top-level and
    /// `Event` objects have no key with a dot and the element `Event` once
    /// (a general lookup could otherwise also match `{"Event.System": ..}`
    /// or a second `Event`): else lookups walk from the top.
    fn find_shortcuts(&mut self) {
        self.shortcuts = false;
        self.system = 0;
        self.event_data = 0;
        self.spaced = self
            .tape
            .iter()
            .any(|n| matches!(*n, JNode::Key(k) if self.str(k).contains(' ')));
        if self.tape.is_empty() {
            return;
        }
        let plain = |object: usize| {
            let JNode::Obj { end, .. } = self.tape[object] else {
                return false;
            };
            let mut j = object + 1;
            let mut events = 0;
            while j < end as usize {
                if let JNode::Key(k) = self.tape[j] {
                    let key = self.str(k);
                    if key.contains('.') {
                        return false;
                    }
                    events += usize::from(key == "Event");
                }
                j = self.end_of(j + 1);
            }
            events <= 1
        };
        let Some(event) = self.child(0, "Event") else {
            return;
        };
        if !plain(0) || !plain(event) {
            return;
        }
        self.system = self.child(event, "System").unwrap_or(0) as u32;
        self.event_data = self.child(event, "EventData").unwrap_or(0) as u32;
        self.shortcuts = true;
    }

    /// The value of key `name` in the object at `object`, when an object.
    fn child(&self, object: usize, name: &str) -> Option<usize> {
        let JNode::Obj { end, .. } = self.tape[object] else {
            return None;
        };
        let mut j = object + 1;
        while j < end as usize {
            if let JNode::Key(k) = self.tape[j]
                && self.str(k) == name
            {
                return matches!(self.tape[j + 1], JNode::Obj { .. }).then_some(j + 1);
            }
            j = self.end_of(j + 1);
        }
        None
    }

    /// The lookup: the exact one, then, when it found no key and some key
    /// holds a space, the keys that equal the path's last segment without
    /// their spaces ([`detect_core::event::same_name_without_spaces`]), as
    /// `JsonEvent` does (Windows Defender's `Threat Name` for `ThreatName`).
    fn lookup_inner<'s>(&'s self, path: &str, visit: &mut dyn FnMut(Value<'s>) -> bool) -> bool {
        if self.lookup_exact(path, visit) {
            return true;
        }
        if !self.spaced {
            return false;
        }
        let name = path.rsplit('.').next().unwrap_or_default();
        if name.is_empty() || name.contains(' ') {
            return false;
        }
        let mut found = false;
        if self.lookup_at_without_spaces(0, path, visit, &mut found) {
            return true;
        }
        if !found
            && let Some(field) = path.strip_prefix("Event.EventData.")
            && let Some(user_data) = self
                .child(0, "Event")
                .and_then(|event| self.child(event, "UserData"))
        {
            let end = self.end_of(user_data);
            let mut j = user_data + 1;
            while j < end {
                let value = j + 1;
                if matches!(self.tape[value], JNode::Obj { .. })
                    && self.lookup_at_without_spaces(value, field, visit, &mut found)
                {
                    return true;
                }
                j = self.end_of(value);
            }
        }
        found
    }

    /// [`EvtxEvent::lookup_at`] with the last segment of `path` compared
    /// without the keys' spaces (a port of `JsonEvent`'s).
    fn lookup_at_without_spaces<'s>(
        &'s self,
        i: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'s>) -> bool,
        found: &mut bool,
    ) -> bool {
        match self.tape[i] {
            JNode::Obj { end, .. } => {
                let p = path.as_bytes();
                let (parent, name) = match path.rfind('.') {
                    Some(dot) => (&p[..dot], &p[dot + 1..]),
                    None => (&p[..0], p),
                };
                let mut j = i + 1;
                while j < end as usize {
                    let JNode::Key(k) = self.tape[j] else {
                        j += 1;
                        continue;
                    };
                    let key = self.str(k).as_bytes();
                    let value = j + 1;
                    let last = match key.strip_prefix(parent) {
                        Some(last) if parent.is_empty() => Some(last),
                        Some([b'.', last @ ..]) => Some(last),
                        _ => None,
                    };
                    if last.is_some_and(|last| {
                        detect_core::event::same_name_without_spaces(last, name)
                    }) {
                        *found = true;
                        if self.emit(value, visit) {
                            return true;
                        }
                    } else if let Some([b'.', ..]) = p.strip_prefix(key)
                        && matches!(self.tape[value], JNode::Obj { .. } | JNode::Arr { .. })
                        && self.lookup_at_without_spaces(
                            value,
                            path.get(key.len() + 1..).unwrap_or_default(),
                            visit,
                            found,
                        )
                    {
                        return true;
                    }
                    j = self.end_of(value);
                }
                false
            }
            JNode::Arr { end } => {
                let mut j = i + 1;
                while j < end as usize {
                    match self.tape[j] {
                        JNode::Arr { .. } => j += 1,
                        JNode::Obj { end, .. } => {
                            if self.lookup_at_without_spaces(j, path, visit, found) {
                                return true;
                            }
                            j = end as usize;
                        }
                        _ => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }

    /// The lookup of `path` as `JsonEvent` resolves it, keys compared whole.
    fn lookup_exact<'s>(&'s self, path: &str, visit: &mut dyn FnMut(Value<'s>) -> bool) -> bool {
        if self.tape.is_empty() {
            return false;
        }
        let mut found = false;
        let start = if !self.shortcuts {
            None
        } else if let Some(rest) = path.strip_prefix("Event.EventData.") {
            Some((self.event_data as usize, rest))
        } else {
            path.strip_prefix("Event.System.")
                .map(|rest| (self.system as usize, rest))
        };
        let stop = match start {
            // No such object (a `System` or `EventData` that is not an
            // object has nothing below it).
            Some((0, _)) => false,
            Some((object, rest)) => self.lookup_at(object, rest, visit, &mut found),
            None => self.lookup_at(0, path, visit, &mut found),
        };
        if stop {
            return true;
        }
        if !found && let Some(field) = path.strip_prefix("Event.EventData.") {
            let Some(user_data) = self
                .child(0, "Event")
                .and_then(|event| self.child(event, "UserData"))
            else {
                return false;
            };
            let end = self.end_of(user_data);
            let mut j = user_data + 1;
            while j < end {
                let value = j + 1;
                if matches!(self.tape[value], JNode::Obj { .. })
                    && self.lookup_at(value, field, visit, &mut found)
                {
                    return true;
                }
                j = self.end_of(value);
            }
        }
        found
    }
}

fn push_json_str(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Event for EvtxEvent {
    fn layout(&self) -> Layout {
        Layout::EvtxNested
    }

    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        self.lookup_inner(path, visit)
    }

    fn single(&self, path: &str) -> Single<'_> {
        let mut first = None;
        let mut n = 0;
        let found = self.lookup_inner(path, &mut |v| {
            n += 1;
            if n == 1 {
                first = Some(v);
            }
            n > 1
        });
        match (found, n, first) {
            (false, _, _) => Single::Absent,
            (true, 1, Some(v)) => Single::One(v),
            _ => Single::UseLookup,
        }
    }

    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        self.tape.iter().any(|n| match *n {
            JNode::Val(v) => visit(self.scalar_value(v)),
            _ => false,
        })
    }

    /// The record's decoded texts (every string and number value), the
    /// texts joined from several pieces, and the booleans' words.
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        visit(&self.dec.text);
        visit(&self.joined);
        // Booleans are written in no text.
        visit("true false");
        true
    }

    fn all_ascii(&self) -> bool {
        self.ascii
    }
}

/// A child of an element on the element tape.
#[derive(Clone, Copy)]
enum Child {
    Elem(usize),
    Piece(Piece),
}

/// Where content pieces come from: an attribute's value (a range of the
/// element tape) or an element's children.
#[derive(Clone, Copy)]
enum Src {
    Attr(usize, usize),
    Children(usize),
}

/// Text of a span of the decoder's arenas or of the joined texts.
fn span_str<'s>(dec: &'s Decoder, joined: &'s str, span: Span) -> &'s str {
    if !span.is_name() && span.start & JOIN_BIT != 0 {
        let start = (span.start & !JOIN_BIT) as usize;
        return joined
            .get(start..start + span.len as usize)
            .unwrap_or_default();
    }
    dec.str(span)
}

/// Element `i`: its name, where its attributes end and where it ends.
fn elem(dec: &Decoder, i: usize) -> (Span, usize, usize) {
    match dec.xml[i] {
        XNode::Elem {
            name,
            attrs_end,
            end,
        } => (name, attrs_end as usize, end as usize),
        _ => (Span::default(), i + 1, i + 1),
    }
}

/// The children of element `e` (content pieces and elements).
fn children(dec: &Decoder, e: usize) -> impl Iterator<Item = Child> + '_ {
    let (_, mut i, end) = elem(dec, e);
    std::iter::from_fn(move || {
        if i >= end {
            return None;
        }
        let here = i;
        match dec.xml[here] {
            XNode::Elem { end: e_end, .. } => {
                i = (e_end as usize).max(here + 1);
                Some(Child::Elem(here))
            }
            XNode::Content(p) => {
                i += 1;
                Some(Child::Piece(p))
            }
            XNode::Attr { end: a_end, .. } => {
                i = (a_end as usize).max(here + 1);
                Some(Child::Piece(Piece::Empty))
            }
        }
    })
}

/// The child elements of element `e`.
fn child_elems(dec: &Decoder, e: usize) -> impl Iterator<Item = usize> + '_ {
    children(dec, e).filter_map(|c| match c {
        Child::Elem(i) => Some(i),
        Child::Piece(_) => None,
    })
}

/// The attributes of element `e`: name and the range of its pieces.
fn attrs(dec: &Decoder, e: usize) -> impl Iterator<Item = (Span, usize, usize)> + '_ {
    let (_, attrs_end, _) = elem(dec, e);
    let mut i = e + 1;
    std::iter::from_fn(move || {
        while i < attrs_end {
            let here = i;
            match dec.xml[here] {
                XNode::Attr { name, end } => {
                    i = (end as usize).max(here + 1);
                    return Some((name, here + 1, (end as usize).min(attrs_end)));
                }
                XNode::Elem { end, .. } => i = (end as usize).max(here + 1),
                XNode::Content(_) => i += 1,
            }
        }
        None
    })
}

/// The content pieces of `src`.
fn pieces(dec: &Decoder, src: Src) -> impl Iterator<Item = Piece> + '_ {
    let (range, kids) = match src {
        Src::Attr(a, b) => (a..b, None),
        Src::Children(e) => (0..0, Some(children(dec, e))),
    };
    let attr = dec.xml[range].iter().filter_map(|n| match n {
        XNode::Content(p) => Some(*p),
        _ => None,
    });
    let kids = kids.into_iter().flatten().filter_map(|c| match c {
        Child::Piece(p) => Some(p),
        Child::Elem(_) => None,
    });
    attr.chain(kids)
}

/// Appends the text of piece `p` (array items joined by commas).
fn push_piece_text(dec: &Decoder, joined: &mut String, p: Piece) {
    match p {
        Piece::Empty => {}
        Piece::Str(s) | Piece::Num(s) => {
            let text = span_str(dec, "", s);
            joined.push_str(text);
        }
        Piece::Bool(b) => joined.push_str(if b { "true" } else { "false" }),
        Piece::Array { first, count } => {
            for k in 0..count {
                if k > 0 {
                    joined.push(',');
                }
                if let Some(&item) = dec.items.get((first + k) as usize) {
                    push_piece_text(dec, joined, item);
                }
            }
        }
    }
}

/// Builds the JSON shape of the decoded record, by the rules the evtx crate
/// renders JSON by (its `JsonCompiler`'s materialized layer): the same
/// decisions, in the same order, written as tape nodes instead of text.
/// Works in the event's reused buffers.
struct Builder<'e> {
    dec: &'e Decoder,
    tape: &'e mut Vec<JNode>,
    joined: &'e mut String,
    elems: &'e mut Vec<usize>,
    counts: &'e mut Vec<(Span, u32, u32)>,
}

impl Builder<'_> {
    fn str(&self, span: Span) -> &str {
        span_str(self.dec, self.joined, span)
    }

    fn open_obj(&mut self) -> usize {
        self.tape.push(JNode::Obj { end: 0, text: 0 });
        self.tape.len() - 1
    }

    fn open_arr(&mut self) -> usize {
        self.tape.push(JNode::Arr { end: 0 });
        self.tape.len() - 1
    }

    fn close(&mut self, at: usize) {
        let len = self.tape.len() as u32;
        if let JNode::Obj { end, .. } | JNode::Arr { end } = &mut self.tape[at] {
            *end = len;
        }
    }

    fn val(&mut self, s: Scalar) {
        self.tape.push(JNode::Val(s));
    }

    fn push_key_str(&mut self, key: &str) {
        let start = self.joined.len();
        self.joined.push_str(key);
        self.tape.push(JNode::Key(Span {
            start: start as u32 | JOIN_BIT,
            len: key.len() as u32,
        }));
    }

    /// The key `name` followed by `_suffix` (when not 0).
    fn push_key_suffixed(&mut self, name: Span, suffix: u32) {
        if suffix == 0 {
            self.tape.push(JNode::Key(name));
            return;
        }
        let start = self.joined.len();
        if name.is_name() || name.start & JOIN_BIT == 0 {
            self.joined.push_str(self.dec.str(name));
        } else {
            // A name joined from several pieces (rare): copied through a
            // temporary string.
            let text = self.str(name).to_owned();
            self.joined.push_str(&text);
        }
        use std::fmt::Write as _;
        let _ = write!(self.joined, "_{suffix}");
        self.tape.push(JNode::Key(Span {
            start: start as u32 | JOIN_BIT,
            len: (self.joined.len() - start) as u32,
        }));
    }

    fn layout_of(&self, e: usize) -> (bool, bool) {
        let (mut text, mut has_elem) = (false, false);
        for c in children(self.dec, e) {
            match c {
                Child::Elem(_) => has_elem = true,
                Child::Piece(p) => text |= p.is_content(),
            }
        }
        (text, has_elem)
    }

    fn attr_text(&self, e: usize) -> bool {
        attrs(self.dec, e).any(|(_, a, b)| pieces(self.dec, Src::Attr(a, b)).any(Piece::is_content))
    }

    /// A lone child piece of `e` as its value (the evtx crate's leaf value).
    fn try_leaf(&mut self, e: usize, empty_as_string: bool) -> bool {
        let mut kids = children(self.dec, e);
        let (Some(Child::Piece(p)), None) = (kids.next(), kids.next()) else {
            return false;
        };
        match p {
            Piece::Num(s) => self.val(Scalar::Num(s)),
            Piece::Bool(b) => self.val(Scalar::Bool(b)),
            p if !p.is_content() => {
                let empty = if empty_as_string {
                    Scalar::Str(Span::default())
                } else {
                    Scalar::Null
                };
                self.val(empty);
            }
            _ => {
                let s = self.join(Src::Children(e));
                self.val(Scalar::Str(s));
            }
        }
        true
    }

    /// A single number or boolean among the pieces (empty ones skipped
    /// when `skip`), which the evtx crate writes bare.
    fn as_number(&self, src: Src, skip: bool) -> Option<Scalar> {
        let mut single = None;
        for p in pieces(self.dec, src) {
            if skip && !p.is_content() {
                continue;
            }
            if single.is_some() {
                return None;
            }
            single = Some(p);
        }
        match single? {
            Piece::Num(s) => Some(Scalar::Num(s)),
            Piece::Bool(b) => Some(Scalar::Bool(b)),
            _ => None,
        }
    }

    /// The text of the pieces, as one span (the piece's own when there is
    /// one, else joined).
    fn join(&mut self, src: Src) -> Span {
        let dec = self.dec;
        let mut content = pieces(dec, src).filter(|p| p.is_content());
        if let (Some(Piece::Str(s)), None) = (content.next(), content.next()) {
            return s;
        }
        let start = self.joined.len();
        for p in pieces(dec, src) {
            push_piece_text(dec, self.joined, p);
        }
        Span {
            start: start as u32 | JOIN_BIT,
            len: (self.joined.len() - start) as u32,
        }
    }

    /// Content as a value: a lone number, or the joined text.
    fn content_value(&mut self, src: Src, skip: bool) {
        if let Some(n) = self.as_number(src, skip) {
            self.val(n);
        } else {
            let s = self.join(src);
            self.val(Scalar::Str(s));
        }
    }

    fn element_value(&mut self, e: usize, container: bool) {
        let has_attrs = attrs(self.dec, e).next().is_some();
        if !has_attrs && self.try_leaf(e, false) {
            return;
        }
        let (has_text, has_elem) = self.layout_of(e);
        let attr_text = self.attr_text(e);
        if !has_elem && !has_text && !attr_text {
            self.val(Scalar::Null);
        } else if !has_elem && !attr_text {
            self.content_value(Src::Children(e), false);
        } else {
            self.body(e, container, false, has_text);
        }
    }

    fn data_value(&mut self, e: usize) {
        if self.try_leaf(e, true) {
            return;
        }
        let (has_text, has_elem) = self.layout_of(e);
        if !has_text && !has_elem {
            self.val(Scalar::Str(Span::default()));
        } else if has_elem {
            self.body(e, false, true, has_text);
        } else {
            self.content_value(Src::Children(e), false);
        }
    }

    fn is_data(&self, e: usize) -> bool {
        self.dec.str(elem(self.dec, e).0) == "Data"
    }

    /// The pieces of the `Name` attribute of element `e`, if it has one.
    fn data_name(&self, e: usize) -> Option<Src> {
        attrs(self.dec, e)
            .find(|&(name, _, _)| self.dec.str(name) == "Name")
            .map(|(_, a, b)| Src::Attr(a, b))
    }

    fn has_named_data(&self, e: usize) -> bool {
        self.is_data(e)
            && self
                .data_name(e)
                .is_some_and(|src| pieces(self.dec, src).any(Piece::is_content))
    }

    /// Whether `Data` element `e` has the name `name` (compared piece by piece).
    fn has_data_name(&self, e: usize, name: Span) -> bool {
        let Some(src) = self.data_name(e) else {
            return false;
        };
        let mut rest = self.str(name);
        for p in pieces(self.dec, src) {
            let ok = match p {
                Piece::Str(s) | Piece::Num(s) => rest.strip_prefix(self.str(s)),
                Piece::Bool(b) => rest.strip_prefix(if b { "true" } else { "false" }),
                Piece::Empty => Some(rest),
                Piece::Array { .. } => None,
            };
            match ok {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// How many times `name` was seen before in the object being shaped
    /// (whose counts are `counts[base..]`), counting this time. `Data`
    /// names are counted apart from element names (the count's high bit
    /// says which).
    fn next_suffix(&mut self, base: usize, name: Span, data: bool) -> u32 {
        const DATA: u32 = 1 << 31;
        let tag = if data { DATA } else { 0 };
        let (dec, joined) = (self.dec, &*self.joined);
        let text = span_str(dec, joined, name);
        // FNV-1a: most names differ in their hash, which spares comparing them.
        let hash = text.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        if let Some((_, n, _)) = self.counts[base..]
            .iter_mut()
            .find(|(k, n, h)| *h == hash && *n & DATA == tag && span_str(dec, joined, *k) == text)
        {
            *n += 1;
            return (*n & !DATA) - 1;
        }
        self.counts.push((name, tag | 1, hash));
        0
    }

    /// An element with child elements or attributes, as an object.
    fn body(&mut self, e: usize, in_data: bool, omit_attrs: bool, has_text: bool) {
        let dec = self.dec;
        let base = self.elems.len();
        self.elems.extend(child_elems(dec, e));
        let end = self.elems.len();
        let flatten = in_data && (base..end).any(|k| self.has_named_data(self.elems[k]));
        let obj = self.open_obj();
        if !omit_attrs && self.attr_text(e) {
            self.push_key_str("#attributes");
            let attrs_obj = self.open_obj();
            for (name, a, b) in attrs(dec, e) {
                if !pieces(dec, Src::Attr(a, b)).any(Piece::is_content) {
                    continue;
                }
                self.tape.push(JNode::Key(name));
                self.content_value(Src::Attr(a, b), false);
            }
            self.close(attrs_obj);
        }
        if has_text {
            self.push_key_str("#text");
            let at = self.tape.len() as u32;
            self.content_value(Src::Children(e), true);
            if let JNode::Obj { text, .. } = &mut self.tape[obj] {
                *text = at;
            }
        }
        let positional = if in_data && !flatten {
            (base..end).filter(|&k| self.is_data(self.elems[k])).count()
        } else {
            0
        };
        let mut positional_done = false;
        let names_base = self.counts.len();
        let mut k = base;
        while k < end {
            let c = self.elems[k];
            k += 1;
            if in_data && self.is_data(c) {
                if flatten {
                    if !self.has_named_data(c) {
                        continue;
                    }
                    let Some(src) = self.data_name(c) else {
                        continue;
                    };
                    let name = self.join(src);
                    let run = 1
                        + (k..end)
                            .take_while(|&f| {
                                self.is_data(self.elems[f])
                                    && self.has_data_name(self.elems[f], name)
                            })
                            .count();
                    let suffix = self.next_suffix(names_base, name, true);
                    self.push_key_suffixed(name, suffix);
                    if run == 1 {
                        self.data_value(c);
                    } else {
                        let arr = self.open_arr();
                        for j in k - 1..k - 1 + run {
                            let d = self.elems[j];
                            self.data_value(d);
                        }
                        self.close(arr);
                        k += run - 1;
                    }
                    continue;
                }
                if positional_done || positional == 0 {
                    continue;
                }
                positional_done = true;
                self.push_key_str("Data");
                let inner = self.open_obj();
                self.push_key_str("#text");
                let at = self.tape.len() as u32;
                if positional == 1 {
                    self.data_value(c);
                } else {
                    let arr = self.open_arr();
                    for j in base..end {
                        let d = self.elems[j];
                        if self.is_data(d) {
                            self.data_value(d);
                        }
                    }
                    self.close(arr);
                }
                if let JNode::Obj { text, .. } = &mut self.tape[inner] {
                    *text = at;
                }
                self.close(inner);
                continue;
            }
            let (name, _, _) = elem(dec, c);
            let suffix = self.next_suffix(names_base, name, false);
            self.push_key_suffixed(name, suffix);
            let container = matches!(dec.str(name), "EventData" | "UserData");
            self.element_value(c, container);
        }
        self.counts.truncate(names_base);
        self.elems.truncate(base);
        self.close(obj);
    }
}
