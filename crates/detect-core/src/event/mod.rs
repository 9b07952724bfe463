//! Borrowed, allocation-free access to an event's fields.
//!
//! Rules never see a concrete event type: generated code and the interpreter
//! both go through [`Event`], which a sensor can implement on its own structs
//! (see the example on the trait) and which [`json::JsonEvent`] implements for
//! NDJSON lines. Values are handed out through a callback so that arrays can be
//! walked without collecting them and borrowed strings never outlive the event.

pub mod json;

use core::fmt::Write as _;

pub use crate::layout::Layout;

/// One scalar value of an event field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// JSON `null` (or an explicitly empty value in a sensor struct).
    Null,
    /// A boolean; its text is `true` / `false`.
    Bool(bool),
    /// A signed integer; its text is its decimal form.
    Int(i64),
    /// An unsigned integer; its text is its decimal form.
    UInt(u64),
    /// A floating-point number; its text is Rust's shortest round-trip form.
    Float(f64),
    /// A number kept as the text it was written with (JSON numbers).
    Number(&'a str),
    /// A string.
    Str(&'a str),
}

impl Value<'_> {
    /// Calls `f` with the value's text, formatting numbers into a stack buffer
    /// (no allocation). Returns `None` for [`Value::Null`], which has no text.
    ///
    /// ```
    /// use detect_core::Value;
    /// assert_eq!(Value::Int(443).with_text(|t| t == "443"), Some(true));
    /// assert_eq!(Value::Bool(true).with_text(|t| t.to_string()), Some("true".to_string()));
    /// assert_eq!(Value::Null.with_text(|t| t.len()), None);
    /// ```
    #[inline]
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> Option<R> {
        match *self {
            Value::Null => None,
            Value::Bool(b) => Some(f(if b { "true" } else { "false" })),
            Value::Str(s) | Value::Number(s) => Some(f(s)),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                let mut buf = StackStr::<40>::new();
                Some(f(format_number(self, &mut buf)))
            }
        }
    }

    /// The value as a number, if it is one or is a string holding one.
    ///
    /// ```
    /// use detect_core::{Value, ir::Number};
    /// assert_eq!(Value::Str(" 80").as_number(), None);
    /// assert_eq!(Value::Str("80").as_number(), Some(Number::Int(80)));
    /// assert_eq!(Value::Number("1.5").as_number(), Some(Number::Float(1.5)));
    /// ```
    pub fn as_number(&self) -> Option<crate::ir::Number> {
        use crate::ir::Number;
        match *self {
            Value::Null | Value::Bool(_) => None,
            Value::Int(i) => Some(Number::Int(i)),
            Value::UInt(u) => Some(match i64::try_from(u) {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Float(u as f64),
            }),
            Value::Float(f) => Some(Number::Float(f)),
            Value::Str(s) | Value::Number(s) => crate::number::parse_number(s),
        }
    }
}

/// Whether the event key `key` names the rule field `name` once its spaces
/// are removed: `key` holds at least one ASCII space, and without them it is
/// `name`, byte for byte (case matters, as for any field name).
///
/// Windows writes the data of some providers under names with spaces, where
/// Sigma rules (and SigmaHQ's) write them without: Windows Defender
/// (`Microsoft-Windows-Windows Defender/Operational`: `Threat Name`, `Source
/// Name`, `Process Name`, `Detection User`, `Severity Name`...; rules write
/// `ThreatName`, `SourceName`, `ProcessName`), Windows Firewall With Advanced
/// Security (`Rule Name`, `Application Path`, `Modifying Application`). So
/// when an event has no key for a field at all, the keys this function
/// accepts stand for it, in every layout: the flat `Threat Name`, the evtx
/// crate's `Event.EventData.Threat Name` and ECS `winlog.event_data.Threat
/// Name` are all read by a rule's `ThreatName`. A key written exactly as the
/// rule writes it wins: the keys with spaces are only tried when there is
/// none. Only the last segment of a dotted path is compared this way.
///
/// [`crate::JsonEvent`] applies the rule in its lookups; an [`Event`]
/// implemented by hand over Windows events should do the same.
///
/// ```
/// use detect_core::event::same_name_without_spaces;
/// assert!(same_name_without_spaces(b"Threat Name", b"ThreatName"));
/// assert!(same_name_without_spaces(b" Source  Name ", b"SourceName"));
/// assert!(!same_name_without_spaces(b"ThreatName", b"ThreatName")); // no space: an exact match
/// assert!(!same_name_without_spaces(b"threat name", b"ThreatName"));
/// assert!(!same_name_without_spaces(b"Threat Name", b"Threat"));
/// ```
pub fn same_name_without_spaces(key: &[u8], name: &[u8]) -> bool {
    if key.len() <= name.len() {
        return false;
    }
    let mut rest = name;
    for &b in key {
        if b == b' ' {
            continue;
        }
        match rest.split_first() {
            Some((&first, tail)) if first == b => rest = tail,
            _ => return false,
        }
    }
    rest.is_empty()
}

/// Read access to an event, by field path.
///
/// Paths are the names rules use after layout mapping: a flat name
/// (`CommandLine`) or a dotted path (`process.parent.name`,
/// `Event.EventData.Image`). An implementation calls `visit` once per scalar
/// value found at the path (once per element for arrays) and stops as soon as
/// the visitor returns `true`.
///
/// # Implementing it on a sensor's own struct
///
/// ```
/// use detect_core::{Event, Layout, Value};
///
/// struct ProcessStart { pid: u32, image: String, command_line: String }
///
/// impl Event for ProcessStart {
///     fn layout(&self) -> Layout { Layout::Flat }
///     fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
///         match path {
///             // The log source dispatch of `process_creation` (Sysmon 1) looks at these two:
///             "Channel" => { visit(Value::Str("Microsoft-Windows-Sysmon/Operational")); true }
///             "EventID" => { visit(Value::UInt(1)); true }
///             "ProcessId" => { visit(Value::UInt(self.pid as u64)); true }
///             "Image" => { visit(Value::Str(&self.image)); true }
///             "CommandLine" => { visit(Value::Str(&self.command_line)); true }
///             _ => false,
///         }
///     }
/// }
///
/// let ev = ProcessStart { pid: 4, image: r"C:\Windows\System32\msiexec.exe".into(),
///                         command_line: "msiexec /i http://x/y.msi".into() };
/// let mut seen = Vec::new();
/// assert!(ev.lookup("ProcessId", &mut |v| { seen.push(v.with_text(|t| t.to_string())); false }));
/// assert_eq!(seen, vec![Some("4".to_string())]);
/// assert!(!ev.lookup("ParentImage", &mut |_| false));
/// ```
pub trait Event {
    /// The field layout this event uses; rules' field names are mapped to it.
    fn layout(&self) -> Layout {
        Layout::Flat
    }

    /// Visits the scalar value(s) at `path`. Returns whether the field exists
    /// (a field holding `null` exists; its single value is [`Value::Null`]).
    /// An empty array exists and has no values.
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool;

    /// Visits every scalar value in the event (for keyword search) until the
    /// visitor returns `true`; returns whether it did. The default visits nothing.
    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let _ = visit;
        false
    }

    /// Texts that together hold the text of every value that
    /// [`Event::any_value`] visits (numbers and booleans as their text), each
    /// value's text whole within one of them, possibly among other text
    /// (keys, punctuation). Calls `visit` with each and returns true, or
    /// returns false (the default) when the event has no such texts.
    ///
    /// A literal absent from all of them is in no value, so a search for
    /// literals in any value (the prefilter's keyword atoms) can scan a few
    /// long texts instead of every value. A [`crate::JsonEvent`] gives its
    /// line and the decoded text of its strings that had escapes.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent};
    /// let ev = JsonEvent::parse_str(r#"{"a": "C:\\x", "n": 1.50, "b": [true]}"#).unwrap();
    /// let mut texts = Vec::new();
    /// assert!(ev.value_texts(&mut |t| texts.push(t.to_string())));
    /// for value in [r"C:\x", "1.50", "true"] {
    ///     assert!(texts.iter().any(|t| t.contains(value)), "{value}");
    /// }
    /// ```
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        let _ = visit;
        false
    }

    /// The value at `path` when it is a single scalar that the event can
    /// hand out directly, [`Single::Absent`] when the field is missing, and
    /// [`Single::UseLookup`] otherwise (several values, an array, or an event
    /// that does not say: the default). Callers fall back to
    /// [`Event::lookup`] on `UseLookup`; the answers never disagree with it. Most
    /// fields of most events are single scalars, and this spares them the
    /// visitor callbacks.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent, Single, Value};
    /// let ev = JsonEvent::parse_str(r#"{"Image": "a.exe", "Pids": [1, 2], "n": null}"#).unwrap();
    /// assert_eq!(ev.single("Image"), Single::One(Value::Str("a.exe")));
    /// assert_eq!(ev.single("n"), Single::One(Value::Null));
    /// assert_eq!(ev.single("Missing"), Single::Absent);
    /// assert_eq!(ev.single("Pids"), Single::UseLookup);
    /// ```
    fn single(&self, path: &str) -> Single<'_> {
        let _ = path;
        Single::UseLookup
    }

    /// A hint that rules are about to read the event's fields: an event
    /// whose data is spread over memory that may no longer be in cache can
    /// ask for its first lines at once (the default does nothing).
    /// Generated `scan` calls it once log source dispatch has found rules
    /// that apply (most events of a mixed stream need none); it never
    /// changes what lookups see.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent};
    /// let ev = JsonEvent::parse_str(r#"{"Image": "a.exe"}"#).unwrap();
    /// ev.prefetch();
    /// assert!(ev.lookup("Image", &mut |_| false));
    /// ```
    fn prefetch(&self) {}

    /// A hint that log source dispatch is about to read the event's channel
    /// and event ID (the paths of [`Layout::dispatch_paths`]): an event that
    /// knows where they are can ask for their memory at once (the default
    /// does nothing). Generated `scan` calls it first; it never changes
    /// what lookups see.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent, Single, Value};
    /// let ev = JsonEvent::parse_str(r#"{"Channel": "Security", "EventID": 4688}"#).unwrap();
    /// ev.prefetch_dispatch();
    /// assert_eq!(ev.single("EventID"), Single::One(Value::Number("4688")));
    /// ```
    fn prefetch_dispatch(&self) {}

    /// True when every value's text is known to be ASCII (false, the
    /// default, when unknown). Lets the prefilter skip its per-value check
    /// for the few non-ASCII characters that fold into ASCII letters. A
    /// [`crate::JsonEvent`] finds out while parsing.
    ///
    /// ```
    /// use detect_core::{Event, JsonEvent};
    /// assert!(JsonEvent::parse_str(r#"{"a": "C:\\x", "n": [1, true]}"#).unwrap().all_ascii());
    /// assert!(!JsonEvent::parse_str(r#"{"a": "caf\u00e9"}"#).unwrap().all_ascii());
    /// assert!(!JsonEvent::parse_str(r#"{"a": "café"}"#).unwrap().all_ascii());
    /// ```
    fn all_ascii(&self) -> bool {
        false
    }
}

impl<E: Event + ?Sized> Event for &E {
    fn layout(&self) -> Layout {
        (**self).layout()
    }
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        (**self).lookup(path, visit)
    }
    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        (**self).any_value(visit)
    }
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        (**self).value_texts(visit)
    }
    fn all_ascii(&self) -> bool {
        (**self).all_ascii()
    }
    fn single(&self, path: &str) -> Single<'_> {
        (**self).single(path)
    }
    fn prefetch(&self) {
        (**self).prefetch()
    }
    fn prefetch_dispatch(&self) {
        (**self).prefetch_dispatch()
    }
}

/// What [`Event::single`] found at a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Single<'a> {
    /// The field is missing: [`Event::lookup`] would return false.
    Absent,
    /// The field holds exactly this value.
    One(Value<'a>),
    /// Several values, or the event does not say: ask [`Event::lookup`].
    UseLookup,
}

/// Formats a number variant into `buf`. Kept out of line so that the many
/// instantiations of [`Value::with_text`] in generated code share one copy of
/// the formatting machinery.
#[inline(never)]
fn format_number<'b>(v: &Value<'_>, buf: &'b mut StackStr<40>) -> &'b str {
    let ok = match *v {
        Value::Int(i) => write!(buf, "{i}"),
        Value::UInt(u) => write!(buf, "{u}"),
        Value::Float(x) => write!(buf, "{x}"),
        _ => Ok(()),
    };
    if ok.is_err() { "" } else { buf.as_str() }
}

/// A fixed-capacity string on the stack, for formatting numbers without allocating.
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this cannot fail.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
