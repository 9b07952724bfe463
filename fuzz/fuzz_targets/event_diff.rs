//! Event differential: structured events built from the rules' own paths and
//! literals through the built-in pack, the semantics table's rules and 1,000
//! generated rules: prefiltered scan == unfiltered scan == reference interpreter.
#![no_main]

use detect_fuzz::event::EventInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: EventInput| {
    detect_fuzz::check_json(&input.json, input.layout_override, input.generated);
});
