//! Where the report's context fields (time, computer) live in each event
//! layout, and how values are turned into one line of text (DETAILS are
//! chosen in [`crate::details`]).
//!
//! Rules find their fields through [`detect::__internals::layout::map_field`] at compile
//! time; the report does the same at start-up, once, so that printing a match
//! only walks precomputed paths. Values are sanitised (control characters
//! become spaces) because they come from untrusted logs and end up on a
//! terminal.

use detect::__internals::layout::map_field;
use detect::ir::Vocabulary;
use detect::{Event, Layout, Value};

/// The event paths of the context fields for one layout.
#[derive(Debug, Clone)]
pub(crate) struct LayoutPaths {
    /// Event time, first present wins.
    time: Vec<String>,
    /// Host name, first present wins (ECS: `host.name`, then `winlog.computer_name`).
    computer: Vec<String>,
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

    fn ctx(line: &str) -> (String, String) {
        let fields = ContextFields::new();
        let event = JsonEvent::parse_str(line).unwrap();
        let (mut t, mut c) = (String::new(), String::new());
        fields.time(&event, &mut t);
        fields.computer(&event, &mut c);
        (t, c)
    }

    #[test]
    fn time_and_computer_in_every_layout() {
        let cases = [
            (
                r#"{"TimeCreated": "2024-01-01T00:00:00Z", "Computer": "PC1"}"#,
                ("2024-01-01T00:00:00Z", "PC1"),
            ),
            (
                r##"{"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}}, "Computer": "PC2"}}}"##,
                ("2024-01-01T00:00:00Z", "PC2"),
            ),
            (
                r#"{"@timestamp": "2024-01-01T00:00:00.000Z", "winlog": {"computer_name": "PC3"}}"#,
                ("2024-01-01T00:00:00.000Z", "PC3"),
            ),
            // ECS: host.name first.
            (
                r#"{"@timestamp": "t", "host": {"name": "pc3.corp"}, "winlog": {"computer_name": "PC3"}}"#,
                ("t", "pc3.corp"),
            ),
            (r#"{"Computer": null}"#, ("", "")),
        ];
        for (line, (t, c)) in cases {
            assert_eq!(ctx(line), (t.to_string(), c.to_string()), "{line}");
        }
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
    }
}
