//! `detect`: scans Windows event logs (EVTX, NDJSON, gzip; files, directories
//! or stdin) with the built-in rules of the detect project (see `detect --help`).
//!
//! This file only parses the command line and dispatches; the work is in
//! [`driver`] (threads, ordered output, exit status), [`inputs`] (what to
//! read and how), [`json_array`] (events given as one JSON array), [`scan`]
//! (reading and matching one input), [`chunked`] (one EVTX file's chunks on
//! several threads), [`output`]
//! (table, JSON lines, summary), [`fields`] (context columns per event
//! layout), [`pack`] (which rules run: built-in, compiled SigmaHQ, or Sigma
//! YAML through the interpreter) and [`rules`] (`detect rules`).

use std::process::ExitCode;

use clap::Parser;

mod chunked;
mod cli;
mod driver;
mod fields;
mod inputs;
mod json_array;
mod output;
mod pack;
mod rules;
mod scan;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Scan(args) => driver::run(&args),
        cli::Command::Rules(pack) => rules::run(&pack),
    }
}
