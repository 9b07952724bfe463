//! `--sort time`: the matches of every input as one timeline, ordered by
//! event time, in bounded memory.
//!
//! Rows are formatted as usual, then handed to a [`Timeline`] with their
//! event time (milliseconds since the epoch, UTC). Rows are held in memory
//! up to [`MEMORY_LIMIT`] bytes (rows plus a fixed overhead per row); past
//! it, the rows held are sorted and written to an anonymous temporary file
//! (in the system's temporary directory, `TMPDIR`; removed by the system
//! when closed, even if the run fails) as one sorted run, and memory starts
//! afresh. At the end the runs and what is left in memory are merged
//! ([`MAX_FAN_IN`] runs at a time, each read through a
//! [`RUN_READ_BUFFER`]-byte buffer; more runs are first merged into longer
//! ones). So memory stays under about `MEMORY_LIMIT + MAX_FAN_IN *
//! RUN_READ_BUFFER` (72 MiB) whatever the number of matches; disk holds
//! every row once (twice while runs are merged into longer ones).
//!
//! The order is by time, then by the order the rows arrived in (inputs in
//! command-line order, then their order in the input): equal times keep
//! that order. Rows whose event has no time, or one that does not parse,
//! come last, in arrival order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Bytes of rows held in memory before a sorted run is spilled to disk.
pub(crate) const MEMORY_LIMIT: usize = 64 << 20;

/// Runs merged at once.
pub(crate) const MAX_FAN_IN: usize = 64;

/// Read buffer of each run while merging.
pub(crate) const RUN_READ_BUFFER: usize = 64 << 10;

/// Bookkeeping counted per row besides its bytes (key, order, vector).
const ROW_OVERHEAD: usize = 48;

/// The sort key of rows without a time: after every time.
pub(crate) const NO_TIME: i64 = i64::MAX;

/// One row and its place in the order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    time: i64,
    order: u64,
    row: Vec<u8>,
}

/// Rows ordered by time, spilled to sorted runs on disk past a memory limit.
pub(crate) struct Timeline {
    held: Vec<Entry>,
    held_bytes: usize,
    limit: usize,
    runs: Vec<File>,
    next_order: u64,
}

impl Timeline {
    /// A timeline holding at most [`MEMORY_LIMIT`] bytes of rows in memory.
    pub(crate) fn new() -> Self {
        Self::with_limit(MEMORY_LIMIT)
    }

    /// A timeline holding at most `limit` bytes of rows in memory.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Timeline {
            held: Vec::new(),
            held_bytes: 0,
            limit,
            runs: Vec::new(),
            next_order: 0,
        }
    }

    /// Adds `row`, at event time `time` ([`NO_TIME`] when it has none).
    pub(crate) fn push(&mut self, time: i64, row: &[u8]) -> io::Result<()> {
        self.held.push(Entry {
            time,
            order: self.next_order,
            row: row.to_vec(),
        });
        self.next_order += 1;
        self.held_bytes += row.len() + ROW_OVERHEAD;
        if self.held_bytes >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorted runs written to disk so far.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Whether no row was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.next_order == 0
    }

    /// Sorts the rows held and writes them to a new run.
    fn spill(&mut self) -> io::Result<()> {
        self.held.sort_unstable();
        let file = tempfile::tempfile().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "--sort time: cannot create a temporary file to hold sorted matches \
                     (set TMPDIR to a writable directory): {e}"
                ),
            )
        })?;
        let mut w = BufWriter::new(file);
        for e in self.held.drain(..) {
            write_entry(&mut w, e.time, e.order, &e.row)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push(file);
        self.held_bytes = 0;
        Ok(())
    }

    /// Writes every row, in time order, to `out`.
    pub(crate) fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.runs.is_empty() {
            self.held.sort_unstable();
            for e in &self.held {
                out.write_all(&e.row)?;
            }
            return Ok(());
        }
        if !self.held.is_empty() {
            self.spill()?;
        }
        while self.runs.len() > MAX_FAN_IN {
            let group: Vec<File> = self.runs.drain(..MAX_FAN_IN).collect();
            let file = tempfile::tempfile()?;
            let mut w = BufWriter::new(file);
            merge(group, &mut |time, order, row| {
                write_entry(&mut w, time, order, row)
            })?;
            let mut file = w.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            self.runs.push(file);
        }
        merge(std::mem::take(&mut self.runs), &mut |_, _, row| {
            out.write_all(row)
        })
    }
}

fn write_entry(w: &mut impl Write, time: i64, order: u64, row: &[u8]) -> io::Result<()> {
    let len = u32::try_from(row.len())
        .map_err(|_| io::Error::other("a match's row is longer than 4 GiB"))?;
    w.write_all(&time.to_le_bytes())?;
    w.write_all(&order.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(row)
}

/// Receives merged entries: time, arrival order, row.
type Emit<'a> = dyn FnMut(i64, u64, &[u8]) -> io::Result<()> + 'a;

/// A run being merged: its reader and its next entry.
struct RunReader {
    reader: BufReader<File>,
    row: Vec<u8>,
}

impl RunReader {
    /// Reads the next entry's key into the return value and its row into
    /// `self.row`; `None` at the end of the run.
    fn next(&mut self) -> io::Result<Option<(i64, u64)>> {
        let mut head = [0u8; 20];
        match self.reader.read_exact(&mut head[..1]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        self.reader.read_exact(&mut head[1..])?;
        let time = i64::from_le_bytes(head[0..8].try_into().expect("8 bytes"));
        let order = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
        self.row.resize(len, 0);
        self.reader.read_exact(&mut self.row)?;
        Ok(Some((time, order)))
    }
}

/// Merges sorted runs, calling `emit` with each entry in order.
fn merge(runs: Vec<File>, emit: &mut Emit<'_>) -> io::Result<()> {
    let mut readers: Vec<RunReader> = runs
        .into_iter()
        .map(|f| RunReader {
            reader: BufReader::with_capacity(RUN_READ_BUFFER, f),
            row: Vec::new(),
        })
        .collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((time, order)) = r.next()? {
            heap.push(Reverse((time, order, i)));
        }
    }
    while let Some(Reverse((time, order, i))) = heap.pop() {
        emit(time, order, &readers[i].row)?;
        if let Some((time, order)) = readers[i].next()? {
            heap.push(Reverse((time, order, i)));
        }
    }
    Ok(())
}

/// Appends a row framed with its time, as workers send rows to be sorted.
pub(crate) fn push_frame(out: &mut Vec<u8>, time: i64, row: &[u8]) {
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(&(row.len() as u64).to_le_bytes());
    out.extend_from_slice(row);
}

/// The frames of `bytes` (written by [`push_frame`]), in order.
pub(crate) fn frames(mut bytes: &[u8]) -> impl Iterator<Item = (i64, &[u8])> {
    std::iter::from_fn(move || {
        let (time, rest) = bytes.split_first_chunk::<8>()?;
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        let (row, rest) = rest.split_at_checked(len)?;
        bytes = rest;
        Some((i64::from_le_bytes(*time), row))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows `t=<time> n=<arrival>`, with a deterministic shuffle of times.
    fn rows(n: u64) -> Vec<(i64, String)> {
        (0..n)
            .map(|i| {
                let time = if i % 17 == 0 {
                    NO_TIME
                } else {
                    ((i * 7919) % 101) as i64 - 50
                };
                (time, format!("t={time} n={i}\n"))
            })
            .collect()
    }

    fn expected(rows: &[(i64, String)]) -> String {
        let mut sorted: Vec<(usize, &(i64, String))> = rows.iter().enumerate().collect();
        sorted.sort_by_key(|(i, (t, _))| (*t, *i));
        sorted.iter().map(|(_, (_, r))| r.as_str()).collect()
    }

    fn run(limit: usize, rows: &[(i64, String)]) -> (String, usize) {
        let mut t = Timeline::with_limit(limit);
        for (time, row) in rows {
            t.push(*time, row.as_bytes()).unwrap();
        }
        let runs = t.runs();
        let mut out = Vec::new();
        t.finish(&mut out).unwrap();
        (String::from_utf8(out).unwrap(), runs)
    }

    #[test]
    fn sorts_in_memory_stably_with_timeless_rows_last() {
        let rows = rows(500);
        let (out, runs) = run(MEMORY_LIMIT, &rows);
        assert_eq!(runs, 0);
        assert_eq!(out, expected(&rows));
        assert!(out.ends_with(&format!("t={NO_TIME} n=493\n")), "{out}");
    }

    #[test]
    fn spills_and_merges_runs_within_the_limit() {
        let rows = rows(5000);
        // About 3 rows per run: well over MAX_FAN_IN runs, merged in two rounds.
        let (out, runs) = run(200, &rows);
        assert!(runs > MAX_FAN_IN, "{runs} runs");
        assert_eq!(out, expected(&rows));
        // A few runs: one merge.
        let (out, runs) = run(20_000, &rows);
        assert!((2..MAX_FAN_IN).contains(&runs), "{runs} runs");
        assert_eq!(out, expected(&rows));
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        push_frame(&mut buf, -5, b"a\n");
        push_frame(&mut buf, NO_TIME, b"");
        push_frame(&mut buf, 7, b"bc\n");
        let got: Vec<(i64, &[u8])> = frames(&buf).collect();
        assert_eq!(got, [(-5, &b"a\n"[..]), (NO_TIME, b""), (7, b"bc\n")]);
    }
}
