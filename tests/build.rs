//! Writes `$OUT_DIR/eql_suite_sequences.rs`: the sequence queries of the
//! endgame EQL conformance suite (`../shared/data/eql/test_queries.toml`),
//! as `sequence` items of one `detect::rules!` rule set in the endgame
//! dialect, so that `tests/eql_conformance.rs` replays the suite through
//! generated state machines as well as through the reference matcher.
//!
//! The suite is read where it lies (its licence forbids vendoring it). A
//! query goes in when the EQL front end parses it in the endgame dialect,
//! and without its pipes as a sequence; the test applies the pipes to the
//! results, as it does for the reference matcher. Queries that need
//! `case_sensitive` (a parser option, not a dialect) are left to the
//! reference run. Without the shared data the rule set holds one stand-in
//! sequence and `SUITE_INDEX` is empty; the test that uses them needs the
//! shared data (it is ignored unless asked for, and then fails without it).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let suite = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../shared/data/eql/test_queries.toml");
    println!("cargo:rerun-if-changed={}", suite.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut items = String::new();
    let mut index = String::new();
    if let Ok(text) = std::fs::read_to_string(&suite) {
        let doc: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", suite.display()));
        let queries = doc["queries"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no [[queries]]", suite.display()));
        for (i, q) in queries.iter().enumerate() {
            let Some(query) = q.get("query").and_then(|v| v.as_str()) else {
                continue;
            };
            if q.get("case_sensitive").and_then(|v| v.as_bool()) == Some(true) {
                continue;
            }
            // The whole query must parse (its pipes too, which the test
            // applies), and without its pipes be a sequence.
            if detect_eql::parse_query(query, &detect_eql::Options::endgame()).is_err() {
                continue;
            }
            let body = without_pipes(query);
            let parsed = detect_eql::parse_query(&body, &detect_eql::Options::endgame());
            let Ok(parsed) = parsed else { continue };
            if !matches!(parsed.body, detect_eql::Body::Sequence(_)) || !parsed.pipes.is_empty() {
                continue;
            }
            let hashes = "#".repeat(body.matches('#').count() + 1);
            writeln!(
                items,
                "sequence suite_{i} = eql!(dialect = endgame, r{hashes}\"{body}\"{hashes});"
            )
            .expect("write to a String");
            write!(index, "{i}, ").expect("write to a String");
        }
    }
    if items.is_empty() {
        // A rule set needs an item: without the suite, a stand-in that no
        // event satisfies (the test needs the suite and fails before using it).
        items.push_str(
            "sequence no_suite = eql!(dialect = endgame, \"sequence [any where false] [any where false]\");\n",
        );
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"))
        .join("eql_suite_sequences.rs");
    let code = format!(
        "detect::rules! {{\n    /// The suite's sequence queries (see `build.rs`).\n    pub ruleset SuiteSequences;\n{items}}}\n\n\
         /// The position in the suite of each of `SuiteSequences`' sequences, in order.\n\
         pub const SUITE_INDEX: &[usize] = &[{index}];\n"
    );
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

/// The query up to its first pipe (`|` starting a line, as the suite writes
/// them).
fn without_pipes(query: &str) -> String {
    query
        .lines()
        .take_while(|line| !line.trim_start().starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n")
}
