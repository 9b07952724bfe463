//! `detect`: scans Windows event logs (EVTX, NDJSON, gzip; files, directories
//! or stdin) with the built-in rules of the detect project (see `detect --help`).
//!
//! This file only parses the command line and dispatches; the work is in
//! [`driver`] (threads, ordered output, exit status), [`inputs`] (what to
//! read and how), [`json_array`] (events given as one JSON array), [`scan`]
//! (reading and matching one input), [`chunked`] (one EVTX file's chunks on
//! several threads), [`record`]
//! (what is reported of a match), [`details`] (DETAILS per log source),
//! [`output`] (table, JSON lines, CSV), [`summary`], [`timeline`] (`--sort
//! time`), [`filter`] (rule and time options), [`fields`] (context fields
//! per event layout), [`pack`] (which rules run: built-in, compiled SigmaHQ,
//! or Sigma YAML compiled at start-up) and [`rules`] (`detect rules`).

#![cfg_attr(not(test), forbid(unsafe_code))]

use std::process::ExitCode;

use clap::Parser;

mod chunked;
mod cli;
mod details;
mod driver;
mod fields;
mod filter;
mod inputs;
mod json_array;
mod output;
mod pack;
mod record;
mod rules;
mod scan;
#[cfg(feature = "serve")]
mod serve;
mod summary;
mod timeline;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Scan(args) => driver::run(&args),
        cli::Command::Rules(args) => rules::run(&args),
        #[cfg(feature = "serve")]
        cli::Command::Serve(args) => serve::run(&args),
    }
}
