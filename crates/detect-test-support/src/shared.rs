//! The paths of the real data in `../shared` beside the workspace (see the
//! crate's documentation for the policy of the tests that read it).

use std::path::{Path, PathBuf};

/// The workspace's root folder (where its `Cargo.toml` is).
pub fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The path of `rel` under `../shared` (e.g. `seeds/…`).
///
/// # Panics
///
/// When it does not exist: a test that needs the shared data must fail, not
/// pass, without it (such tests are `#[ignore]`d, so this only happens when
/// they are asked for).
pub fn shared(rel: &str) -> PathBuf {
    let path = workspace_root().join("../shared").join(rel);
    assert!(
        path.exists(),
        "{} not found: this test needs ../shared beside the workspace \
         (see the README's Testing section)",
        path.display()
    );
    path
}

/// The path of `rel` under `../shared/data`.
///
/// # Panics
///
/// When it does not exist, as [`shared`].
pub fn shared_data(rel: &str) -> PathBuf {
    shared(&format!("data/{rel}"))
}

/// The path of `rel` under `../shared/data` when it exists: for benchmarks
/// and tools that fall back to synthetic input without it (tests use
/// [`shared_data`], which fails).
pub fn shared_data_if_present(rel: &str) -> Option<PathBuf> {
    let path = workspace_root().join("../shared/data").join(rel);
    path.exists().then_some(path)
}

/// Every `.evtx` file below `dir` (any case of the extension), depth first,
/// in the order of their sorted paths.
///
/// # Panics
///
/// When a folder cannot be read.
pub fn evtx_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// [`shared_data`] as a string, for a command line's arguments.
///
/// # Panics
///
/// When the path does not exist, as [`shared`], or is not UTF-8.
pub fn shared_data_str(rel: &str) -> String {
    let path = shared_data(rel);
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
        .to_owned()
}

/// Every `.evtx` file of `../shared/data/evtx` (see [`evtx_files`]).
///
/// # Panics
///
/// Without the data, or when it holds 200 files or fewer (it has 312: a
/// partial copy would let the tests that read them all pass on less).
pub fn shared_evtx_files() -> Vec<PathBuf> {
    let dir = shared_data("evtx");
    let files = evtx_files(&dir);
    assert!(
        files.len() > 200,
        "{} EVTX files in {}",
        files.len(),
        dir.display()
    );
    files
}
