//! The NDJSON event reader on arbitrary bytes: an error or an event, never a
//! panic or a hang; an event it accepts is read back consistently (every
//! lookup and keyword visit terminates) and the rule sets agree on it.
#![no_main]

use detect::{Event, JsonEvent, Layout};
use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "EventID",
    "Event.System.EventID",
    "Event.System.Provider.#attributes.Name",
    "Event.EventData.Data",
    "Data",
    "CommandLine",
    "process.command_line",
    "process.args",
    "winlog.event_id",
    "a.b.c",
    "",
    ".",
    "#text",
];

fuzz_target!(|data: &[u8]| {
    let depth = data.first().map_or(128, |b| usize::from(b % 8) + 1);
    for mut event in [JsonEvent::new(), JsonEvent::with_max_depth(depth)] {
        match event.parse(data) {
            Err(e) => {
                assert!(e.offset <= data.len(), "error offset past the input: {e}");
                assert_eq!(event.raw(), "", "a failed parse leaves the event empty");
                for p in PATHS {
                    assert!(
                        !event.lookup(p, &mut |_| false),
                        "lookup after a failed parse"
                    );
                }
            }
            Ok(()) => {
                assert_eq!(event.raw().as_bytes(), data, "raw() is the line as given");
                let mut values = 0usize;
                event.any_value(&mut |v| {
                    values += 1;
                    let _ = v.with_text(|t| t.len());
                    let _ = v.as_number();
                    false
                });
                for p in PATHS {
                    event.lookup(p, &mut |v| v.with_text(|t| t.is_empty()).unwrap_or(false));
                }
                detect_fuzz::check_all(&event, false);
                for layout in Layout::ALL {
                    event.set_layout_override(Some(layout));
                    detect_fuzz::check_all(&event, false);
                }
            }
        }
    }
});
