//! What the workspace's tests and benchmarks share.
//!
//! - [`rng`]: small deterministic generators, so that a random case that
//!   fails reproduces on every run;
//! - [`counting_alloc`]: a global allocator that counts allocations, for the
//!   zero-allocation tests and the benchmarks' allocations per event;
//! - [`shared`]: the paths of the real data in `../shared` beside the
//!   workspace.
//!
//! The crate depends on no crate of the workspace, so that every one of them,
//! `detect-core` included, can take it as a dev-dependency without a cycle.
//!
//! # Tests that need `../shared`
//!
//! They are marked `#[ignore = "needs ../shared (run with --ignored)"]`, so
//! that a fresh clone without the data lists them as ignored instead of
//! passing them silently; CI has the data and runs them with `--ignored` (or
//! `--include-ignored`), where a missing file is a failure: the functions of
//! [`shared`] panic with a message naming the path.

pub mod counting_alloc;
pub mod rng;
pub mod shared;

pub use rng::{XorShift64, XorShift64Star};
pub use shared::{
    evtx_files, shared, shared_data, shared_data_str, shared_evtx_files, workspace_root,
};
