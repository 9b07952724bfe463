//! Running `detect scan`: inputs spread over worker threads, output written
//! in input order, summary and exit status.
//!
//! Files are the unit of parallelism: each of `--threads` workers (one per
//! core by default) takes the next input from a shared counter and scans it
//! from start to end with its own [`Scanner`], so the events of one file are
//! always seen in order (sequence rules depend on it). With fewer inputs than
//! threads, the threads left over scan the chunks of an EVTX file in
//! parallel (see [`crate::chunked`]), its events still seen in order. A worker formats
//! its matches and problem reports into buffers and sends them to the main
//! thread in pieces (at the end of each input, or every [`FLUSH_BYTES`]);
//! the main thread writes the pieces of input 0, then of input 1, and so on,
//! holding back those of inputs that finish early. Output is therefore never
//! interleaved and is the same whatever the number of threads; the input
//! being written streams, and only inputs finished ahead of it are held in
//! memory. The channel is bounded, so a slow output slows the workers
//! instead of filling memory.
//!
//! With `--sort time` the main thread hands the rows to a [`Timeline`]
//! instead, and writes them, ordered by event time, when every input is
//! done (see [`crate::timeline`] for its memory bound).
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

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Format, ScanArgs, SortOrder};
use crate::details::DetailsTable;
use crate::filter::{RuleSelection, TimeRange};
use crate::inputs::{self, Input};
use crate::output::{self, Reporter, Rows, TableLayout, TableRows, TableSpec, table};
use crate::pack;
use crate::scan::{Match, Scanner, Sink, Stats, display_name};
use crate::summary::{self, Tally};
use crate::timeline::{self, Timeline};

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
    /// What was reported of the input, in its last piece.
    tally: Option<Tally>,
}

/// A worker's sink: formats into buffers, sends them in pieces.
struct PieceSink<'a, 't> {
    input: usize,
    reporter: &'a mut Reporter<'t>,
    out: Vec<u8>,
    diag: Vec<u8>,
    tx: &'a SyncSender<Piece>,
    /// The main thread is gone (output failed): stop scanning.
    closed: bool,
}

impl PieceSink<'_, '_> {
    fn send(&mut self, done: Option<Stats>) -> io::Result<()> {
        if self.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let piece = Piece {
            input: self.input,
            out: std::mem::take(&mut self.out),
            diag: std::mem::take(&mut self.diag),
            tally: done.is_some().then(|| self.reporter.take_tally()),
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

impl Sink for PieceSink<'_, '_> {
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
        self.reporter.report(m, &mut self.out)?;
        self.maybe_flush()
    }

    fn report(&mut self, problem: fmt::Arguments<'_>) {
        let _ = writeln!(self.diag, "detect: {problem}");
        let _ = self.maybe_flush();
    }
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
    let selection = RuleSelection::new(&args.filter).and_then(|s| s.for_pack(pack));
    let range = TimeRange::new(args.from, args.to);
    let (enabled, range) = match (selection, range) {
        (Ok(enabled), Ok(range)) => (enabled, range),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("detect: {message}");
            return ExitCode::from(2);
        }
    };
    let details = DetailsTable::lazy(|| pack::active().ir());
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
    let shown_names = table::shown_names(&args.files, &inputs, &names);
    let reported: Vec<&'static detect::RuleInfo> = pack
        .rules()
        .iter()
        .zip(&enabled.rules)
        .chain(pack.sequences().iter().zip(&enabled.sequences))
        .filter(|(_, on)| **on)
        .map(|(r, _)| r)
        .collect();
    let to_stdout = args.output.is_none();
    let layout = TableLayout::new(&TableSpec {
        width: table::output_width(to_stdout),
        rules: &reported,
        shown_names: &shown_names,
        color: args.color.enabled(
            to_stdout && io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
    });
    let shown: std::collections::HashMap<String, String> =
        names.iter().cloned().zip(shown_names).collect();
    let sorting = args.sort == SortOrder::Time;
    let mut timeline = sorting.then(Timeline::new);
    let mut tally = Tally::default();
    let header = output::header(args.format, &layout);
    let requested = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let threads = requested.clamp(1, inputs.len().max(1));
    // Threads left over when there are fewer inputs than threads scan the
    // chunks of each EVTX file (see `crate::chunked`).
    let chunk_threads = requested / threads;

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
            let rows = Rows::new(
                args.format,
                TableRows::new(layout.clone(), shown.clone()),
                args.include_event,
            );
            let mut reporter = Reporter::new(&details, rows, range, sorting);
            let max_line_bytes = args.max_line_bytes;
            let sequence_capacity = args.sequence_capacity as usize;
            scope.spawn(move || {
                let mut scanner = Scanner::with_pack(pack, max_line_bytes)
                    .with_filter(enabled.clone())
                    .with_sequence_capacity(sequence_capacity)
                    .with_chunk_threads(chunk_threads)
                    .with_progress(progress);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else {
                        return;
                    };
                    let mut sink = PieceSink {
                        input: i,
                        reporter: &mut reporter,
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
        // CSV starts with its header even when nothing matches; the table's
        // comes with its first row.
        let mut header_written = false;
        if args.format == Format::Csv && !sorting {
            if let Err(e) = out.write_all(&header) {
                failure = Some(e);
            }
            header_written = true;
        }
        for piece in rx.iter() {
            if failure.is_some() {
                break;
            }
            held.entry(piece.input).or_default().push(piece);
            while let Some(pieces) = held.remove(&head) {
                let mut finished = false;
                for piece in pieces {
                    let written = progress.suspend(|| -> io::Result<()> {
                        if let Some(timeline) = &mut timeline {
                            for (time, row) in timeline::frames(&piece.out) {
                                timeline.push(time, row)?;
                            }
                        } else if !piece.out.is_empty() {
                            if !header_written {
                                out.write_all(&header)?;
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
                    if let Some(t) = piece.tally {
                        tally.merge(t);
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
    if failure.is_none()
        && let Some(timeline) = timeline
    {
        let header_first = args.format == Format::Csv || !timeline.is_empty();
        let written = (if header_first {
            out.write_all(&header)
        } else {
            Ok(())
        })
        .and_then(|()| timeline.finish(&mut out));
        if let Err(e) = written {
            failure = Some(e);
        }
    }

    let finished = failure.map_or_else(
        || match args.format {
            Format::Table if !args.quiet => {
                let mut block = summary::summary_block(pack, &total, &tally);
                if tally.matches > 0 {
                    block.insert(0, '\n');
                }
                out.write_all(block.as_bytes()).and_then(|()| out.flush())
            }
            Format::Jsonl | Format::Csv if !args.quiet => {
                let flushed = out.flush();
                // The summary is informational; a closed stderr must not fail the run.
                let _ = writeln!(
                    io::stderr(),
                    "{}",
                    summary::summary_line(pack, &total, &tally)
                );
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
    } else if args.fail_on_match && tally.matches > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages() {
        let p = panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "boom 1");
        let p = panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(p.as_ref()), "static");
    }
}
