//! Helpers for the workspace-level test suites in `tests/tests/`.
//!
//! The suites read real data from `../shared/data` next to the workspace (see
//! its README). When it is absent (a user's fresh clone) they print why they
//! skip and pass; CI always has it.

pub mod semantics_rules;

use std::path::PathBuf;

/// The path of `rel` under `../shared/data`, or `None` (after printing a skip
/// notice naming `test`) when the shared data is not there.
pub fn shared_data(test: &str, rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping {test}: {} not found (../shared/data is absent)",
            path.display()
        );
        None
    }
}

/// Splits a file holding one or more concatenated JSON documents (the
/// regression samples' `.json` renderings) into one compact line per document.
pub fn json_documents(text: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .map(|doc| doc.map(|v| v.to_string()))
        .collect()
}
