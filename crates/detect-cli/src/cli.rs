//! Command-line syntax of `detect`, declared with clap's derive API.
//!
//! Kept apart from the logic so that `main.rs` reads as "parse, then
//! dispatch", and so that the option types ([`Format`], [`ScanArgs`]) can be
//! handed to the scanner without it knowing about clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use detect::ir::Level;

use crate::scan::DEFAULT_SEQUENCE_CAPACITY;

/// Examples shown at the end of `detect --help` and `detect scan --help`.
const EXAMPLES: &str = "\
Examples:
  detect scan examples/events.ndjson
      Scan one NDJSON file and print matches as a table, then a summary.
  detect scan C:/Windows/System32/winevt/Logs/ evidence/*.evtx
      Scan directories (recursively: .evtx .ndjson .jsonl .json .gz) and files
      in parallel.
  detect scan --format jsonl --include-event -o matches.jsonl logs/
      One JSON object per match, with the event, written to matches.jsonl.
  detect scan --min-level medium --rule msi_install_from_web --fail-on-match logs/
      Only report some rules; exit with status 1 if any of them matched.
  zcat events.ndjson.gz | detect scan -q -
      Read events from stdin (`-`): NDJSON, gzip or EVTX.
  detect rules
      List the built-in rules.
  detect scan --sigma rules/windows/ --pipeline acme.yml logs/
      Run Sigma YAML loaded at run time, after mapping its fields with a
      processing pipeline.
  detect scan --pack sigmahq logs/
      Scan with the SigmaHQ windows corpus compiled to native code (in binaries
      built with `--features sigmahq`).

Rule packs: the built-in rules (default) and, when built with the cargo
feature `sigmahq`, the whole SigmaHQ windows corpus (`--pack sigmahq`) are
compiled into the binary. `--sigma PATH` instead reads Sigma YAML at start-up
and compiles it into the same engine (log source dispatch table, prefilter, no
allocation per event), for rules that cannot wait for a rebuild. Sigma files it
does not support are skipped and listed on stderr with the reason
(`--sigma-strict` makes them an error); invalid rules are always an error.

Inputs are recognised by content, not name: EVTX files (`ElfFile` header), gzip
(NDJSON inside), or NDJSON with one JSON object per line in any of three
layouts, detected per line: flat Windows fields (`EventID`, `Channel`,
`CommandLine`), the evtx crate's nested rendering (`Event.System`,
`Event.EventData`) or ECS (`winlog.*`, `process.*`).

Sequence rules (log source `ECS sequence` in `detect rules`) match ordered events of
one input: the events of each file are taken to be in time order, and a
sequence never joins events of different files (nor of stdin and a file). A
completed sequence is reported once, with the lines (or EVTX record ids) of its
events: `FILE:L1,L2,L3` in the table, `\"lines\": [...]` (or `\"records\"`) in
JSON lines.

Damaged input never stops a scan: every malformed line, damaged EVTX chunk or
record and unreadable file is reported on stderr with where it happened
(FILE:LINE, FILE: chunk N, FILE: record N), counted in the summary, and
skipped.

Exit status: 0 when the scan completed; 1 with --fail-on-match when a rule
matched; 2 when an input could not be read (missing, not readable, truncated
gzip, not an EVTX file, no event files in a directory), the output could not be
written or the command line is invalid.";

/// Scan Windows event logs (EVTX, NDJSON, gzip) with detect's built-in detection rules, the
/// compiled SigmaHQ corpus or Sigma YAML loaded at run time.
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
    /// Scan event files and directories with a rule pack (the built-in rules by default) and report the matches.
    #[command(after_help = EXAMPLES)]
    Scan(ScanArgs),
    /// List the rules of a pack (the built-in rules by default): name, id, level, log source, title and tags.
    Rules(PackArgs),
}

/// Which rules to run (`detect scan`) or list (`detect rules`).
#[derive(Debug, Args, Default)]
pub(crate) struct PackArgs {
    /// The compiled rule pack: `builtin` (default), or `sigmahq`, the SigmaHQ
    /// windows corpus compiled to native code (only in binaries built with the
    /// cargo feature `sigmahq`).
    #[arg(long, value_enum, value_name = "PACK")]
    pub(crate) pack: Option<PackName>,

    /// Instead of a compiled pack, load Sigma rules from this file or folder
    /// (searched recursively for .yml/.yaml; repeatable), compiled at
    /// start-up. Unsupported rules are skipped and listed on stderr.
    #[arg(long, value_name = "PATH")]
    pub(crate) sigma: Vec<PathBuf>,

    /// Processing pipeline (YAML: field and log source mappings, see the
    /// rustdoc of detect_sigma::pipeline) applied to the --sigma rules, in the
    /// order given (repeatable).
    #[arg(long = "pipeline", value_name = "FILE", requires = "sigma")]
    pub(crate) pipelines: Vec<PathBuf>,

    /// With --sigma, fail (exit status 2) when a rule file is unsupported
    /// instead of skipping it.
    #[arg(long, requires = "sigma")]
    pub(crate) sigma_strict: bool,
}

/// The compiled rule packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PackName {
    /// The built-in rules (the project's seed rules and sequence).
    Builtin,
    /// The SigmaHQ windows corpus compiled to native code (feature `sigmahq`).
    Sigmahq,
}

/// Options of `detect scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files and directories to scan; `-` reads stdin. Directories are walked
    /// recursively for .evtx, .ndjson, .jsonl, .json and .gz files.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// The rules to run.
    #[command(flatten)]
    pub(crate) pack: PackArgs,

    /// Output format of the matches.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,

    /// Write the matches (and, for the table, the summary) to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Report only rules of this level or above.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub(crate) min_level: Option<MinLevel>,

    /// Report only this rule (repeatable; names as listed by `detect rules`
    /// with the same pack options).
    #[arg(long = "rule", value_name = "NAME")]
    pub(crate) rules: Vec<String>,

    /// With --format jsonl, add the matching event (as read, or as rendered from EVTX) under `event`.
    #[arg(long)]
    pub(crate) include_event: bool,

    /// Exit with status 1 when any rule matched (2 still wins when an input was unreadable).
    #[arg(long)]
    pub(crate) fail_on_match: bool,

    /// Do not print the summary nor the progress bar.
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Files scanned at once (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,

    /// Longest line accepted, in bytes; longer lines are reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub(crate) max_line_bytes: u64,

    /// Pending (started, not yet completed) sequences held per sequence rule
    /// and input. This bounds the memory of each sequence rule (allocated
    /// once per input); beyond it the oldest pending sequence is evicted
    /// (counted in the summary) and can no longer complete.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEQUENCE_CAPACITY,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) sequence_capacity: u32,
}

/// How matches are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// An aligned table followed by a summary block.
    Table,
    /// One JSON object per match; the summary is one line on stderr.
    Jsonl,
}

/// The levels accepted by `--min-level` (Sigma's, least severe first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum MinLevel {
    /// Everything.
    Informational,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and critical.
    High,
    /// Critical only.
    Critical,
}

impl From<MinLevel> for Level {
    fn from(level: MinLevel) -> Level {
        match level {
            MinLevel::Informational => Level::Informational,
            MinLevel::Low => Level::Low,
            MinLevel::Medium => Level::Medium,
            MinLevel::High => Level::High,
            MinLevel::Critical => Level::Critical,
        }
    }
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
        assert!(!args.quiet && !args.include_event && !args.fail_on_match);
        assert_eq!(args.max_line_bytes, 256 << 20);
        assert_eq!(args.sequence_capacity, 65536);
        assert_eq!(
            (args.output, args.min_level, args.threads),
            (None, None, None)
        );
        assert!(args.rules.is_empty());
    }

    #[test]
    fn scan_options() {
        let cli = Cli::try_parse_from([
            "detect",
            "scan",
            "--rule",
            "a",
            "--rule",
            "b",
            "--min-level",
            "high",
            "-j",
            "3",
            "-o",
            "out.jsonl",
            "d/",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else {
            panic!("expected scan");
        };
        assert_eq!(args.rules, ["a", "b"]);
        assert_eq!(args.min_level.map(Level::from), Some(Level::High));
        assert_eq!(args.threads, Some(3));
        assert_eq!(args.output, Some(PathBuf::from("out.jsonl")));
    }

    #[test]
    fn pack_options() {
        let cli = Cli::try_parse_from([
            "detect",
            "scan",
            "--sigma",
            "r1",
            "--sigma",
            "r2",
            "--pipeline",
            "p.yml",
            "--sigma-strict",
            "a",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else {
            panic!("expected scan");
        };
        assert_eq!(args.pack.sigma, [PathBuf::from("r1"), PathBuf::from("r2")]);
        assert_eq!(args.pack.pipelines, [PathBuf::from("p.yml")]);
        assert!(args.pack.sigma_strict);
        assert_eq!(args.pack.pack, None);
        let cli = Cli::try_parse_from(["detect", "rules", "--pack", "sigmahq"]).unwrap();
        let Command::Rules(pack) = cli.command else {
            panic!("expected rules");
        };
        assert_eq!(pack.pack, Some(PackName::Sigmahq));
        // --pipeline and --sigma-strict only make sense with --sigma.
        assert!(Cli::try_parse_from(["detect", "scan", "--pipeline", "p.yml", "a"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "--sigma-strict", "a"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "--pack", "nope", "a"]).is_err());
    }

    #[test]
    fn scan_needs_a_file() {
        assert!(Cli::try_parse_from(["detect", "scan"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "-f", "xml", "a"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "-j", "0", "a"]).is_err());
        assert!(Cli::try_parse_from(["detect", "scan", "--sequence-capacity", "0", "a"]).is_err());
        let cli = Cli::try_parse_from(["detect", "scan", "--sequence-capacity", "8", "a"]).unwrap();
        let Command::Scan(args) = cli.command else {
            panic!("expected scan");
        };
        assert_eq!(args.sequence_capacity, 8);
    }
}
