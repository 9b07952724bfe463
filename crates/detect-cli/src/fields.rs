//! Where the report's context fields (time, computer, details) live in each
//! event layout, and how their values are turned into one line of text.
//!
//! Rules find their fields through [`detect::layout::map_field`] at compile
//! time; the report does the same at start-up, once, so that printing a match
//! only walks precomputed paths. Values are sanitised (control characters
//! become spaces) because they come from untrusted logs and end up on a
//! terminal.

use detect::ir::Vocabulary;
use detect::layout::map_field;
use detect::{Event, Layout, Value};

/// Longest DETAILS text, in characters, before it is cut with `…`.
pub(crate) const DETAILS_MAX_CHARS: usize = 100;

/// The event paths of the context fields for one layout.
#[derive(Debug, Clone)]
pub(crate) struct LayoutPaths {
    /// Event time, first present wins.
    time: Vec<String>,
    /// Host name, first present wins (ECS: `host.name`, then `winlog.computer_name`).
    computer: Vec<String>,
    /// Command line of the process.
    command_line: String,
    /// Image of the process; `NewProcessName` is what Security 4688 calls it
    /// (the rename the `process_creation` log source applies).
    image: [String; 2],
    /// Unnamed event data (MsiInstaller and other classic providers).
    data: String,
    /// Destination address and port of a connection.
    destination: (String, String),
}

impl LayoutPaths {
    fn new(layout: Layout) -> Self {
        let map = |field: &str| map_field(Vocabulary::Windows, layout, field);
        let mut computer = Vec::new();
        if layout == Layout::Ecs {
            computer.push("host.name".to_string());
        }
        computer.push(map("Computer"));
        LayoutPaths {
            time: vec![map("TimeCreated")],
            computer,
            command_line: map("CommandLine"),
            image: [map("Image"), map("NewProcessName")],
            data: map("Data"),
            destination: (map("DestinationIp"), map("DestinationPort")),
        }
    }
}

/// The context-field paths of every layout, computed once per run.
#[derive(Debug, Clone)]
pub(crate) struct ContextFields {
    by_layout: [LayoutPaths; 3],
}

impl ContextFields {
    /// Maps the context fields onto all three layouts.
    pub(crate) fn new() -> Self {
        ContextFields {
            by_layout: [Layout::Flat, Layout::EvtxNested, Layout::Ecs].map(LayoutPaths::new),
        }
    }

    fn paths(&self, layout: Layout) -> &LayoutPaths {
        let i = match layout {
            Layout::Flat => 0,
            Layout::EvtxNested => 1,
            Layout::Ecs => 2,
        };
        &self.by_layout[i]
    }

    /// Replaces `out` with the event's time, as written in the event.
    /// Returns `false` (and leaves `out` empty) if the event has none.
    pub(crate) fn time(&self, event: &impl Event, out: &mut String) -> bool {
        out.clear();
        self.paths(event.layout())
            .time
            .iter()
            .any(|p| first_text(event, p, out))
    }

    /// Replaces `out` with the name of the computer the event comes from.
    pub(crate) fn computer(&self, event: &impl Event, out: &mut String) -> bool {
        out.clear();
        self.paths(event.layout())
            .computer
            .iter()
            .any(|p| first_text(event, p, out))
    }

    /// Replaces `out` with the first present of the command line, the image,
    /// the unnamed data (values joined with `, `) and `address:port` of the
    /// destination, cut to [`DETAILS_MAX_CHARS`] characters.
    pub(crate) fn details(&self, event: &impl Event, out: &mut String) -> bool {
        out.clear();
        let p = self.paths(event.layout());
        let found = first_text(event, &p.command_line, out)
            || p.image.iter().any(|path| first_text(event, path, out))
            || all_texts(event, &p.data, ", ", out)
            || destination(event, &p.destination.0, &p.destination.1, out);
        truncate_chars(out, DETAILS_MAX_CHARS);
        found
    }
}

/// Appends the text of the first non-null, non-empty value at `path` to
/// `out`, sanitised. Returns whether there was one.
pub(crate) fn first_text(event: &impl Event, path: &str, out: &mut String) -> bool {
    let mut found = false;
    event.lookup(path, &mut |v: Value<'_>| {
        found = v
            .with_text(|t| {
                if t.is_empty() {
                    return false;
                }
                push_sanitized(out, t);
                true
            })
            .unwrap_or(false);
        found
    });
    found
}

/// Appends every non-empty value at `path`, separated by `sep`, stopping once
/// `out` is longer than the details limit. Returns whether there was one.
fn all_texts(event: &impl Event, path: &str, sep: &str, out: &mut String) -> bool {
    let mut any = false;
    event.lookup(path, &mut |v: Value<'_>| {
        v.with_text(|t| {
            if !t.is_empty() {
                if any {
                    out.push_str(sep);
                }
                push_sanitized(out, t);
                any = true;
            }
        });
        // Enough for the column; stop walking the array.
        out.len() > DETAILS_MAX_CHARS * 4
    });
    any
}

/// `address:port`, or just the address when the port is missing.
fn destination(event: &impl Event, ip: &str, port: &str, out: &mut String) -> bool {
    if !first_text(event, ip, out) {
        return false;
    }
    let len = out.len();
    out.push(':');
    if !first_text(event, port, out) {
        out.truncate(len);
    }
    true
}

/// Appends `text` with every control character (newlines, tabs, escape
/// sequences) replaced by a space, so one value stays on one line and cannot
/// drive the terminal.
pub(crate) fn push_sanitized(out: &mut String, text: &str) {
    if !text.chars().any(char::is_control) {
        out.push_str(text);
        return;
    }
    out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

/// Cuts `s` to at most `max` characters, ending it with `…` when cut.
pub(crate) fn truncate_chars(s: &mut String, max: usize) {
    if max == 0 {
        s.clear();
        return;
    }
    if let Some((at, _)) = s.char_indices().nth(max) {
        let keep = s[..at]
            .char_indices()
            .next_back()
            .map_or(0, |(last, _)| last);
        s.truncate(keep);
        s.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect::JsonEvent;

    fn ctx(line: &str) -> (String, String, String) {
        let fields = ContextFields::new();
        let event = JsonEvent::parse_str(line).unwrap();
        let (mut t, mut c, mut d) = (String::new(), String::new(), String::new());
        fields.time(&event, &mut t);
        fields.computer(&event, &mut c);
        fields.details(&event, &mut d);
        (t, c, d)
    }

    #[test]
    fn flat_fields() {
        let (t, c, d) = ctx(
            r#"{"TimeCreated": "2024-01-01T00:00:00Z", "Computer": "PC1", "Image": "C:\\x.exe", "CommandLine": "x /y"}"#,
        );
        assert_eq!(
            (t.as_str(), c.as_str(), d.as_str()),
            ("2024-01-01T00:00:00Z", "PC1", "x /y")
        );
    }

    #[test]
    fn evtx_fields() {
        let (t, c, d) = ctx(
            r##"{"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}}, "Computer": "PC2"},
                "EventData": {"Data": {"#text": ["http://a/b", "", "2600"]}}}}"##,
        );
        assert_eq!(
            (t.as_str(), c.as_str(), d.as_str()),
            ("2024-01-01T00:00:00Z", "PC2", "http://a/b, 2600")
        );
    }

    #[test]
    fn ecs_fields_and_fallbacks() {
        let (t, c, d) = ctx(
            r#"{"@timestamp": "2024-01-01T00:00:00.000Z", "winlog": {"computer_name": "PC3"},
                "destination": {"ip": "10.0.0.1", "port": 443}}"#,
        );
        assert_eq!(
            (t.as_str(), c.as_str(), d.as_str()),
            ("2024-01-01T00:00:00.000Z", "PC3", "10.0.0.1:443")
        );
        let (_, c, d) = ctx(
            r#"{"@timestamp": "t", "host": {"name": "pc3.corp"}, "winlog": {"computer_name": "PC3"},
                "destination": {"ip": "10.0.0.1"}}"#,
        );
        assert_eq!((c.as_str(), d.as_str()), ("pc3.corp", "10.0.0.1"));
    }

    #[test]
    fn security_4688_image_and_missing_fields() {
        let (t, c, d) = ctx(r#"{"NewProcessName": "C:\\m.exe", "Computer": null}"#);
        assert_eq!((t.as_str(), c.as_str(), d.as_str()), ("", "", "C:\\m.exe"));
    }

    #[test]
    fn sanitising_and_truncation() {
        let mut s = String::new();
        push_sanitized(&mut s, "a\nb\x1b[31mc\t");
        assert_eq!(s, "a b [31mc ");

        let mut long = "é".repeat(150);
        truncate_chars(&mut long, 100);
        assert_eq!(long.chars().count(), 100);
        assert!(long.ends_with("é…"));
        let mut short = "abc".to_string();
        truncate_chars(&mut short, 3);
        assert_eq!(short, "abc");
        truncate_chars(&mut short, 0);
        assert_eq!(short, "");

        let (_, _, d) = ctx(&format!(r#"{{"CommandLine": "{}"}}"#, "x".repeat(500)));
        assert_eq!(d.chars().count(), DETAILS_MAX_CHARS);
    }
}
