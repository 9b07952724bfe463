//! Running `detect scan`: inputs spread over worker threads, output written
//! in input order, summary and exit status.
//!
//! Files are the unit of parallelism: each of `--threads` workers (one per
//! core by default) takes the next input from a shared counter and scans it
//! from start to end with its own [`Scanner`], so the events of one file are
//! always seen in order (sequence rules depend on it). A worker formats
//! its matches and problem reports into buffers and sends them to the main
//! thread in pieces (at the end of each input, or every [`FLUSH_BYTES`]);
//! the main thread writes the pieces of input 0, then of input 1, and so on,
//! holding back those of inputs that finish early. Output is therefore never
//! interleaved and is the same whatever the number of threads; the input
//! being written streams, and only inputs finished ahead of it are held in
//! memory. The channel is bounded, so a slow output slows the workers
//! instead of filling memory.
//!
//! A panic while reading an input (a bug, in detect or in a parser) is caught
//! per input, reported as an unreadable input and the scan goes on.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};
use std::{fmt, thread};

use detect::ir::Level;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Format, ScanArgs};
use crate::inputs::{self, Input};
use crate::output::{self, JsonlRows, Rows, TableLayout, TableRows};
use crate::pack::{self, Pack};
use crate::scan::{Match, RuleFilter, Scanner, Sink, Stats, display_name};

/// A worker sends what it has buffered once it holds this many bytes.
const FLUSH_BYTES: usize = 256 * 1024;

/// What a worker sends to the main thread.
struct Piece {
    /// Index of the input in the run's list.
    input: usize,
    /// Formatted matches.
    out: Vec<u8>,
    /// Problem reports, one line each.
    diag: Vec<u8>,
    /// The input's counts, in its last piece.
    done: Option<Stats>,
}

/// A worker's sink: formats into buffers, sends them in pieces.
struct PieceSink<'a> {
    input: usize,
    rows: &'a mut Rows,
    out: Vec<u8>,
    diag: Vec<u8>,
    tx: &'a SyncSender<Piece>,
    /// The main thread is gone (output failed): stop scanning.
    closed: bool,
}

impl PieceSink<'_> {
    fn send(&mut self, done: Option<Stats>) -> io::Result<()> {
        if self.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let piece = Piece {
            input: self.input,
            out: std::mem::take(&mut self.out),
            diag: std::mem::take(&mut self.diag),
            done,
        };
        self.tx.send(piece).map_err(|_| {
            self.closed = true;
            io::Error::from(io::ErrorKind::BrokenPipe)
        })
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.out.len() + self.diag.len() >= FLUSH_BYTES {
            self.send(None)?;
        }
        Ok(())
    }
}

impl Sink for PieceSink<'_> {
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
        self.rows.write(&mut self.out, m)?;
        self.maybe_flush()
    }

    fn report(&mut self, problem: fmt::Arguments<'_>) {
        let _ = writeln!(self.diag, "detect: {problem}");
        let _ = self.maybe_flush();
    }
}

/// Which rules and sequence rules of `pack` are reported, given `--rule`
/// and `--min-level`; or the one-line error for an unknown rule name.
pub(crate) fn rule_filter(
    pack: &Pack,
    names: &[String],
    min_level: Option<Level>,
) -> Result<RuleFilter, String> {
    for name in names {
        if !pack.all_rules().any(|r| r.name == *name) {
            return Err(format!(
                "unknown rule `{name}` given to --rule; `detect rules` (with the same pack \
                 options) lists the rule names"
            ));
        }
    }
    let wanted = |r: &detect::RuleInfo| {
        (names.is_empty() || names.iter().any(|n| n == r.name))
            && min_level.is_none_or(|min| r.level >= min)
    };
    Ok(RuleFilter {
        rules: pack.rules().iter().map(wanted).collect(),
        sequences: pack.sequences().iter().map(wanted).collect(),
    })
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// A progress bar over `total` bytes on stderr, or a hidden one.
fn progress_bar(show: bool, total: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `detect scan`. Returns 2 if an input could not be read or the output
/// failed, else 1 if `--fail-on-match` and a rule matched, else 0.
pub(crate) fn run(args: &ScanArgs) -> ExitCode {
    let pack = match pack::load(&args.pack) {
        Ok((pack, skipped)) => {
            // Printed whatever --quiet says: like a malformed line, a skipped
            // rule changes what the scan can find.
            for line in pack::skipped_report(&skipped) {
                eprintln!("detect: {line}");
            }
            pack
        }
        Err(e) => {
            eprintln!("detect: {}", e.0.replace('\n', "\ndetect: "));
            return ExitCode::from(2);
        }
    };
    if pack::install(pack).is_err() {
        eprintln!("detect: internal error: a rule pack was already installed");
        return ExitCode::from(2);
    }
    let pack = pack::active();
    let enabled = match rule_filter(pack, &args.rules, args.min_level.map(Level::from)) {
        Ok(enabled) => enabled,
        Err(message) => {
            eprintln!("detect: {message}");
            return ExitCode::from(2);
        }
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match File::create(path) {
            Ok(file) => Box::new(io::BufWriter::with_capacity(64 * 1024, file)),
            Err(e) => {
                eprintln!(
                    "detect: cannot create {}: {e}; check that its directory exists and is writable",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
        // Stdout is line-buffered; on a terminal that keeps matches and stderr
        // reports in order, elsewhere a big buffer is much faster.
        None if io::stdout().is_terminal() => Box::new(io::stdout().lock()),
        None => Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())),
    };

    let start = Instant::now();
    let inputs = inputs::expand(&args.files);
    let names: Vec<String> = inputs.iter().map(display_name).collect();
    let total_bytes = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    let progress = progress_bar(!args.quiet && io::stderr().is_terminal(), total_bytes);
    let layout = TableLayout::new(pack, &names);
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, inputs.len().max(1));

    // Panics are caught and reported per input (see `worker`); the default
    // hook's multi-line message would garble stderr.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    let next = AtomicUsize::new(0);
    let (tx, rx) = sync_channel::<Piece>(threads * 4);
    let mut total = Stats::new(pack);
    let mut failure: Option<io::Error> = None;
    thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (inputs, names, next, enabled) = (&inputs, &names, &next, &enabled);
            let progress = progress.clone();
            let mut rows = match args.format {
                Format::Table => Rows::Table(TableRows::new(layout)),
                Format::Jsonl => Rows::Jsonl(JsonlRows::new(args.include_event)),
            };
            let max_line_bytes = args.max_line_bytes;
            let sequence_capacity = args.sequence_capacity as usize;
            scope.spawn(move || {
                let mut scanner = Scanner::with_pack(pack, max_line_bytes)
                    .with_filter(enabled.clone())
                    .with_sequence_capacity(sequence_capacity)
                    .with_progress(progress);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else {
                        return;
                    };
                    let mut sink = PieceSink {
                        input: i,
                        rows: &mut rows,
                        out: Vec::new(),
                        diag: Vec::new(),
                        tx: &tx,
                        closed: false,
                    };
                    scanner.stats = Stats::new(pack);
                    let name = &names[i];
                    let scanned = panic::catch_unwind(AssertUnwindSafe(|| {
                        scanner.scan_input(input, name, &mut sink)
                    }));
                    if let Err(payload) = scanned {
                        scanner.stats.unreadable += 1;
                        sink.report(format_args!(
                            "{name}: internal error while reading this input ({}); skipping the \
                             rest of it (please report this with the file)",
                            panic_message(payload.as_ref())
                        ));
                    }
                    let stats = std::mem::take(&mut scanner.stats);
                    if sink.send(Some(stats)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);

        // Write the pieces in input order.
        let mut head = 0;
        let mut held: BTreeMap<usize, Vec<Piece>> = BTreeMap::new();
        let mut header_written = false;
        for piece in rx.iter() {
            held.entry(piece.input).or_default().push(piece);
            while let Some(pieces) = held.remove(&head) {
                let mut finished = false;
                for piece in pieces {
                    let written = progress.suspend(|| -> io::Result<()> {
                        if !piece.out.is_empty() {
                            if args.format == Format::Table && !header_written {
                                out.write_all(layout.header().as_bytes())?;
                                header_written = true;
                            }
                            out.write_all(&piece.out)?;
                        }
                        if !piece.diag.is_empty() {
                            // Matches first, so that on a terminal a report
                            // follows the rows before it.
                            out.flush()?;
                            let _ = io::stderr().write_all(&piece.diag);
                        }
                        Ok(())
                    });
                    if let Err(e) = written {
                        failure = Some(e);
                    }
                    if let Some(stats) = piece.done {
                        total.add(&stats);
                        finished = true;
                    }
                }
                if failure.is_some() || !finished {
                    break;
                }
                head += 1;
            }
            if failure.is_some() {
                break;
            }
        }
        // Workers blocked on a full channel see it closed and stop.
        drop(rx);
    });
    panic::set_hook(default_hook);
    progress.finish_and_clear();
    total.elapsed = start.elapsed();

    let finished = failure.map_or_else(
        || match args.format {
            Format::Table if !args.quiet => {
                let mut block = output::summary_block(pack, &total);
                if total.matches > 0 {
                    block.insert(0, '\n');
                }
                out.write_all(block.as_bytes()).and_then(|()| out.flush())
            }
            Format::Jsonl if !args.quiet => {
                let flushed = out.flush();
                // The summary is informational; a closed stderr must not fail the run.
                let _ = writeln!(io::stderr(), "{}", output::summary_line(pack, &total));
                flushed
            }
            _ => out.flush(),
        },
        Err,
    );
    match finished {
        Ok(()) => {}
        // The reader of our output went away (`detect scan ... | head`): not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detect: cannot write the output: {e}; check the disk or the pipe");
            return ExitCode::from(2);
        }
    }
    if total.unreadable > 0 {
        ExitCode::from(2)
    } else if args.fail_on_match && total.matches > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_filter_by_name_and_level() {
        use detect_rules::Builtin;
        let rule_filter = |names: &[String], level| rule_filter(&Pack::Builtin, names, level);
        let all = rule_filter(&[], None).unwrap();
        assert_eq!(all, RuleFilter::all(&Pack::Builtin));
        assert!(all.rules.iter().chain(&all.sequences).all(|&e| e));
        let name = |n: &str| Builtin::rule(n).unwrap().index;
        let one = rule_filter(&["msiexec_web_install".to_string()], None).unwrap();
        assert_eq!(one.rules.iter().filter(|&&e| e).count(), 1);
        assert!(one.rules[name("msiexec_web_install")]);
        assert!(one.sequences.iter().all(|&e| !e));
        let medium = rule_filter(&[], Some(Level::Medium)).unwrap();
        assert!(medium.rules[name("msi_install_from_web")]);
        assert!(!medium.rules[name("msiexec_http_connection")]);
        // The sequence is `low`.
        assert!(medium.sequences.iter().all(|&e| !e));
        // Sequence names are accepted by --rule.
        let seq = rule_filter(&["msiexec_remote_file_execution".to_string()], None).unwrap();
        assert!(seq.rules.iter().all(|&e| !e));
        assert_eq!(seq.sequences, [true]);
        let err = rule_filter(&["nope".to_string()], None).unwrap_err();
        assert!(
            err.contains("unknown rule `nope`") && err.contains("detect rules"),
            "{err}"
        );
    }

    #[test]
    fn panic_messages() {
        let p = panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "boom 1");
        let p = panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "static");
    }
}
