//! One EVTX file on several cores.
//!
//! The chunks of an EVTX file are independent (each holds its own string
//! and template tables), so the decoding of records and the stateless
//! rules, which are most of a scan's time, run on several threads, one
//! chunk at a time each. What depends on order stays on the scanner's
//! thread: it reads the chunks in record order and hands them out, takes
//! the results back *in that order* (holding those that finish early), and
//! for each record reports its stateless matches and steps the sequence
//! rules, exactly as a one-thread scan does. Output, problem reports and
//! sequence completions are therefore the same whatever the number of
//! threads, and sequences see the file's events in order.
//!
//! Memory does not grow with the file: a fixed number of [`ChunkWork`]s
//! (twice the threads) go round, each holding one chunk's bytes and the
//! decoded records of that chunk (one [`EvtxEvent`] per record, reused from
//! chunk to chunk); a chunk is read only when a `ChunkWork` is free.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek};
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread;

use detect_evtx::{EvtxEvent, Records};

use crate::inputs::{EVTX_CHUNK_SIZE, EVTX_HEADER_SIZE};
use crate::pack::Pack;
use crate::scan::{Location, Scanner, Sink, Source};

/// What a chunk gave.
enum Item {
    /// A record, decoded into `events[event]`, on which the stateless
    /// rules `rules[rules]` (indices in [`Pack::rules`]) matched.
    Record {
        event: usize,
        id: u64,
        rules: Range<usize>,
    },
    /// A record or the chunk could not be read: the report, after `FILE: `.
    Problem(String),
}

/// One chunk's work: its bytes in, its records and their matches out.
#[derive(Default)]
struct ChunkWork {
    /// Position of the chunk in reading order.
    seq: usize,
    /// Number of the chunk in the file.
    number: usize,
    data: Vec<u8>,
    events: Vec<EvtxEvent>,
    items: Vec<Item>,
    rules: Vec<u32>,
}

impl ChunkWork {
    /// Decodes the chunk's records and runs the stateless rules on each.
    fn run(&mut self, pack: &Pack) {
        self.items.clear();
        self.rules.clear();
        let n = self.number;
        // There may be empty chunks in a file that was not closed cleanly.
        if self.data.iter().all(|&b| b == 0) {
            return;
        }
        let records = match Records::new(&self.data) {
            Ok(records) => records,
            Err(e) => {
                self.items.push(Item::Problem(format!(
                    "chunk {n}: cannot read the chunk: {e}; its records are skipped, \
                     going on with the next chunk"
                )));
                return;
            }
        };
        let mut k = 0;
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    self.items.push(Item::Problem(format!(
                        "chunk {n}: cannot read the record at offset {:#x}: {}; \
                         going on with the next record",
                        e.offset, e.message
                    )));
                    continue;
                }
            };
            if self.events.len() <= k {
                self.events.push(EvtxEvent::new());
            }
            let event = &mut self.events[k];
            event.start_chunk();
            if let Err(e) = event.decode(&self.data, &record) {
                self.items.push(Item::Problem(format!(
                    "record {}: cannot read the record: {e}; record skipped",
                    record.id
                )));
                continue;
            }
            let start = self.rules.len();
            let rules = &mut self.rules;
            pack.scan(&self.events[k], &mut |rule| rules.push(rule.index as u32));
            self.items.push(Item::Record {
                event: k,
                id: record.id,
                rules: start..self.rules.len(),
            });
            k += 1;
        }
    }
}

impl Scanner {
    /// Scans the chunks `order` (chunk numbers, in record order) of the
    /// EVTX data `data` on `threads` threads besides this one (see the
    /// module docs).
    pub(crate) fn scan_chunks_parallel<T: Read + Seek>(
        &mut self,
        data: &mut T,
        order: &[usize],
        threads: usize,
        name: &str,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let pack = self.pack();
        let in_flight = threads * 2;
        thread::scope(|scope| {
            let (work_tx, work_rx) = sync_channel::<ChunkWork>(in_flight);
            let work_rx = Arc::new(Mutex::new(work_rx));
            let (done_tx, done_rx) = sync_channel::<ChunkWork>(in_flight);
            for _ in 0..threads {
                let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
                scope.spawn(move || {
                    loop {
                        let next = work_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok(mut work)) = next else {
                            return;
                        };
                        let ran = panic::catch_unwind(AssertUnwindSafe(|| work.run(pack)));
                        if let Err(payload) = ran {
                            let why = payload
                                .downcast_ref::<&str>()
                                .copied()
                                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                                .unwrap_or("unknown panic");
                            work.items.clear();
                            work.items.push(Item::Problem(format!(
                                "chunk {}: internal error while reading the chunk ({why}); \
                                 its records are skipped (please report this with the file)",
                                work.number
                            )));
                        }
                        if done_tx.send(work).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);

            let mut free: Vec<ChunkWork> = (0..in_flight).map(|_| ChunkWork::default()).collect();
            let mut to_read = order.iter().copied().enumerate();
            let (mut sent, mut merged) = (0, 0);
            let mut held = BTreeMap::new();
            let mut result = Ok(());
            let mut reading = true;
            loop {
                while reading && let Some(mut work) = free.pop() {
                    let Some((seq, number)) = to_read.next() else {
                        free.push(work);
                        break;
                    };
                    work.seq = seq;
                    work.number = number;
                    work.data.clear();
                    work.data.resize(EVTX_CHUNK_SIZE as usize, 0);
                    let at = EVTX_HEADER_SIZE + number as u64 * EVTX_CHUNK_SIZE;
                    if let Err(e) = crate::scan::read_at(data, at, &mut work.data) {
                        // Reported once the chunks before it are.
                        work.data.clear();
                        work.items.clear();
                        held.insert(seq, (work, Some(e)));
                        sent += 1;
                        reading = false;
                        break;
                    }
                    if work_tx.send(work).is_err() {
                        reading = false;
                        break;
                    }
                    sent += 1;
                }
                while let Some((work, error)) = held.remove(&merged) {
                    merged += 1;
                    if let Some(e) = error {
                        self.unreadable(name, 0, &e, sink);
                    } else if result.is_ok() {
                        result = self.merge(&work, name, sink);
                        if result.is_err() {
                            reading = false;
                        }
                    }
                    free.push(work);
                }
                if merged == sent {
                    if !reading || to_read.len() == 0 {
                        break;
                    }
                    // Every chunk sent is merged: their works are free again.
                    continue;
                }
                match done_rx.recv() {
                    Ok(work) => {
                        held.insert(work.seq, (work, None));
                    }
                    Err(_) => break,
                }
            }
            drop(work_tx);
            result
        })
    }

    /// Reports a scanned chunk's problems and matches, and steps the
    /// sequence rules over its records, in order.
    fn merge(&mut self, work: &ChunkWork, name: &str, sink: &mut dyn Sink) -> io::Result<()> {
        for item in &work.items {
            match item {
                Item::Problem(text) => {
                    self.stats.evtx_errors += 1;
                    sink.report(format_args!("{name}: {text}"));
                }
                Item::Record { event, id, rules } => {
                    let source = Source::Scanned {
                        event: &work.events[*event],
                        rules: &work.rules[rules.clone()],
                    };
                    self.scan_event(source, name, Location::Record(*id), sink)?;
                }
            }
        }
        Ok(())
    }
}
