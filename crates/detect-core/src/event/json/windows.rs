//! What the adapter knows about how Windows events are written as JSON:
//! the layout a line is in (evtx-nested, ECS or flat), the `UserData`
//! fallback of evtx-nested events whose channel writes no `EventData`, and
//! the names Windows writes with spaces (`Threat Name`) that rules write
//! without them.
//!
//! Apart from the tape because none of this is JSON: it is the knowledge of
//! one family of producers, consulted only when the plain walk has no
//! answer (or, for the layout, once per parse).

use super::JsonEvent;
use super::tape::{KEY_INDEX_MAX, KeyIndex, Kind};
use crate::event::{Single, Value};
use crate::layout::Layout;

impl JsonEvent {
    /// The layout (see [`JsonEvent::detected_layout`]) and the index of the
    /// top-level keys.
    pub(super) fn detect_layout(&self) -> (Layout, KeyIndex) {
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
}

/// Where the evtx-nested layout puts a Windows event's data fields.
pub(super) const EVENT_DATA_PREFIX: &str = "Event.EventData.";

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
    pub(super) fn lookup_user_data(
        &self,
        field: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
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
    pub(super) fn child(&self, object: usize, name: &[u8]) -> Option<usize> {
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
    pub(super) fn absent(&self) -> Single<'static> {
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
    pub(super) fn lookup_without_spaces(
        &self,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
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
    pub(super) fn lookup_at_without_spaces(
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

#[cfg(test)]
mod tests {
    use crate::event::json::JsonEvent;
    use crate::event::json::tests::{get, parse, shared_data, strs};
    use crate::event::{Event, Single, Value};
    use crate::layout::Layout;

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
}
