//! Command-line syntax of `detect`, declared with clap's derive API.
//!
//! Kept apart from the logic so that `main.rs` reads as "parse, then
//! dispatch", and so that the option types ([`Format`], [`ScanArgs`]) can be
//! handed to the scanner without it knowing about clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Examples shown at the end of `detect --help`.
const EXAMPLES: &str = "\
Examples:
  detect scan examples/events.ndjson
      Scan one NDJSON file and print matches as a table, then a summary.
  detect scan --format jsonl logs/*.ndjson > matches.jsonl
      One JSON object per match on stdout; the summary goes to stderr.
  zcat events.ndjson.gz | detect scan -q -
      Read events from stdin (`-`) and print only the matches.
  detect rules
      List the built-in rules.

Each input line is one JSON object, in any of three layouts, detected per line:
flat Windows fields (`EventID`, `Channel`, `CommandLine`), the evtx crate's nested
rendering (`Event.System`, `Event.EventData`) or ECS (`winlog.*`, `process.*`).

Exit status: 0 when every input was read (malformed lines are reported on stderr
and skipped); 2 when an input could not be read, the output could not be written
or the command line is invalid.";

/// Scan Windows event logs (NDJSON) with detect's built-in detection rules.
#[derive(Debug, Parser)]
#[command(
    name = "detect",
    version,
    after_help = EXAMPLES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands of `detect`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan NDJSON event files with the built-in rules and report the matches.
    #[command(after_help = EXAMPLES)]
    Scan(ScanArgs),
    /// List the built-in rules.
    Rules,
}

/// Options of `detect scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// NDJSON files to scan, one JSON event per line; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// Output format of the matches.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,

    /// Do not print the summary (counts, timing, matches per rule).
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Longest line accepted, in bytes; longer lines are reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub(crate) max_line_bytes: u64,
}

/// How matches are written to stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// An aligned table followed by a summary block.
    Table,
    /// One JSON object per match; the summary is one line on stderr.
    Jsonl,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scan_defaults() {
        let cli = Cli::try_parse_from(["detect", "scan", "a.ndjson", "-"]).unwrap();
        let Command::Scan(args) = cli.command else {
            panic!("expected scan");
        };
        assert_eq!(args.files, [PathBuf::from("a.ndjson"), PathBuf::from("-")]);
        assert_eq!(args.format, Format::Table);
        assert!(!args.quiet);
        assert_eq!(args.max_line_bytes, 64 << 20);
    }

    #[test]
    fn scan_needs_a_file() {
        assert!(Cli::try_parse_from(["detect", "scan"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "-f", "xml", "a"]).is_err());
    }
}
