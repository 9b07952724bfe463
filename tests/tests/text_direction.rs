//! Rule text holding the code points that change the visible direction of
//! text (a right-to-left override disguises `\u{202e}gpj.exe` as `exe.jpg`)
//! compiles through `sigma_rules!` (rustc refuses such code points written
//! raw in a literal) and matches alike in generated code and the run-time
//! engine.

use detect::JsonEvent;
use detect::runtime::RuntimeRuleSet;

detect::sigma_rules! {
    /// One rule whose value is a right-to-left override.
    pub ruleset Disguised = "fixtures/text_direction";
}

fn process(image: &str) -> JsonEvent {
    let line = serde_json::json!({"Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1, "Image": image});
    JsonEvent::parse_str(&line.to_string()).unwrap()
}

#[test]
fn right_to_left_override_matches_in_both_engines() {
    let runtime = RuntimeRuleSet::compile(Disguised::ir()).unwrap();
    assert!(
        Disguised::ir().rules[0]
            .meta
            .description
            .as_deref()
            .unwrap()
            .contains('\u{202e}')
    );
    for (image, want) in [
        ("C:\\Users\\Public\\invoice\u{202e}gpj.exe", 1),
        ("C:\\Users\\Public\\invoice.jpg.exe", 0),
    ] {
        let event = process(image);
        let mut generated = 0;
        Disguised::scan(&event, |_| generated += 1);
        let mut run_time = 0;
        runtime.scan(&event, |_| run_time += 1);
        assert_eq!((generated, run_time), (want, want), "{image:?}");
    }
}
