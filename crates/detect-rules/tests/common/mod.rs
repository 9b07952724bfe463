//! What the tests of the built-in rules share (each test binary uses a
//! part of it).
#![allow(dead_code)]

/// Seed 003's query as the pack writes it in `src/lib.rs` (the one copy of
/// the text; the seed's page on ../shared has it verbatim).
pub fn seed_003_query() -> &'static str {
    let lib = include_str!("../../src/lib.rs");
    let start = lib
        .find("r#\"sequence with")
        .expect("seed 003 in src/lib.rs")
        + 3;
    let end = start + lib[start..].find("\"#;").expect("end of seed 003");
    &lib[start..end]
}

/// `x` as a JSON string.
pub fn s(x: &str) -> String {
    let mut o = String::from("\"");
    for c in x.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
