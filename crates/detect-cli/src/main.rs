//! `detect`: scans NDJSON Windows event logs with the built-in rules of the
//! detect project (see `detect --help`).
//!
//! This file only parses the command line and dispatches; the work is in
//! [`scan`] (reading and matching), [`output`] (table and JSON lines),
//! [`fields`] (context columns per event layout) and [`rules`] (`detect rules`).

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod fields;
mod output;
mod rules;
mod scan;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Scan(args) => scan::run(&args),
        cli::Command::Rules => rules::run(),
    }
}
