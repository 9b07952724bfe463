//! What to scan: the command line's paths expanded into a list of inputs, and
//! the readers that feed them to the scanner.
//!
//! Directories are walked recursively, in name order (so that output is the
//! same from run to run), keeping files whose extension says they hold events
//! ([`EVENT_EXTENSIONS`]); symbolic links to directories are not followed, so
//! a link loop cannot make the walk endless. Files named on the command line
//! are taken whatever their name. In both cases the content decides how a
//! file is read ([`Kind::sniff`]): an EVTX header, a gzip header, or else
//! NDJSON; so `logs.json.gz` and an EVTX file saved as `.log` both work.
//!
//! [`Counting`] measures what is read, for the progress bar.

use std::cell::Cell;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

/// File extensions (lowercase) that a directory walk picks up.
pub(crate) const EVENT_EXTENSIONS: [&str; 5] = ["evtx", "ndjson", "jsonl", "json", "gz"];

/// Size of the EVTX file header block (the chunks follow it).
pub(crate) const EVTX_HEADER_SIZE: u64 = 4096;
/// Size of one EVTX chunk.
pub(crate) const EVTX_CHUNK_SIZE: u64 = 65536;

/// One thing to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// The standard input (`-`).
    Stdin,
    /// A file, named on the command line or found in a directory.
    File(PathBuf),
    /// A path that could not be used, with the one-line reason.
    Unreadable(PathBuf, String),
}

/// How an input's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Windows event log file.
    Evtx,
    /// gzip-compressed data (NDJSON or EVTX inside).
    Gzip,
    /// One JSON object per line.
    Ndjson,
}

impl Kind {
    /// The kind of data that starts with `head` (at least 8 bytes unless the
    /// data is shorter).
    pub(crate) fn sniff(head: &[u8]) -> Kind {
        if head.starts_with(b"ElfFile\0") {
            Kind::Evtx
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Kind::Gzip
        } else {
            Kind::Ndjson
        }
    }
}

/// Expands the command line's paths into inputs, in order: `-` is stdin, a
/// directory becomes the event files below it, anything else is a file.
/// Directories that cannot be read, or hold no event file, become
/// [`Input::Unreadable`] entries so that they are reported in order.
pub(crate) fn expand(paths: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = inputs.len();
                walk(path, &mut inputs);
                let found = inputs[before..].iter().any(|i| matches!(i, Input::File(_)));
                if !found {
                    inputs.push(Input::Unreadable(
                        path.clone(),
                        format!(
                            "no event files (.{}) in this directory; nothing scanned there",
                            EVENT_EXTENSIONS.join(", .")
                        ),
                    ));
                }
            }
            // Missing files are reported when opened, with the OS's reason.
            _ => inputs.push(Input::File(path.clone())),
        }
    }
    inputs
}

/// Appends the event files below `dir`, in name order.
fn walk(dir: &Path, inputs: &mut Vec<Input>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            inputs.push(Input::Unreadable(
                dir.to_path_buf(),
                format!("cannot list directory: {e}; check its permissions"),
            ));
            return;
        }
    };
    let mut entries: Vec<fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, inputs);
        } else if has_event_extension(&path) && (kind.is_file() || path.is_file()) {
            // Symbolic links to files are followed; links to directories are not.
            inputs.push(Input::File(path));
        }
    }
}

/// Whether the extension of `path` is one of [`EVENT_EXTENSIONS`] (any case).
pub(crate) fn has_event_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EVENT_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// A reader that counts the bytes read through it and advances a progress bar.
pub(crate) struct Counting<'a, R> {
    inner: R,
    count: &'a Cell<u64>,
    progress: &'a ProgressBar,
}

impl<'a, R> Counting<'a, R> {
    /// Wraps `inner`, adding what is read to `count` and to `progress`.
    pub(crate) fn new(inner: R, count: &'a Cell<u64>, progress: &'a ProgressBar) -> Self {
        Counting {
            inner,
            count,
            progress,
        }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        self.progress.inc(n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The length an EVTX file of `len` bytes is padded to: the header plus a
/// whole number of chunks.
pub(crate) fn evtx_padded_len(len: u64) -> u64 {
    if len <= EVTX_HEADER_SIZE {
        return len;
    }
    let chunks = (len - EVTX_HEADER_SIZE).div_ceil(EVTX_CHUNK_SIZE);
    EVTX_HEADER_SIZE + chunks * EVTX_CHUNK_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(Kind::sniff(b"ElfFile\0\0\0"), Kind::Evtx);
        assert_eq!(Kind::sniff(&[0x1f, 0x8b, 8, 0]), Kind::Gzip);
        assert_eq!(Kind::sniff(b"{\"a\": 1}"), Kind::Ndjson);
        assert_eq!(Kind::sniff(b""), Kind::Ndjson);
        assert_eq!(Kind::sniff(b"ElfFile"), Kind::Ndjson);
    }

    #[test]
    fn extensions() {
        for name in [
            "a.evtx",
            "a.EVTX",
            "b.ndjson",
            "c.jsonl",
            "d.json",
            "e.json.gz",
        ] {
            assert!(has_event_extension(Path::new(name)), "{name}");
        }
        for name in ["a.txt", "evtx", "a.evtx.bak", "README"] {
            assert!(!has_event_extension(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn padded_lengths() {
        assert_eq!(evtx_padded_len(100), 100);
        assert_eq!(evtx_padded_len(4096), 4096);
        assert_eq!(evtx_padded_len(4096 + 65536), 4096 + 65536);
        assert_eq!(evtx_padded_len(4096 + 65537), 4096 + 2 * 65536);
        assert_eq!(evtx_padded_len(4097), 4096 + 65536);
    }

    #[test]
    fn directories_expand_in_name_order_and_report_when_empty() {
        let dir = std::env::temp_dir().join(format!("detect-inputs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::create_dir_all(dir.join("empty")).unwrap();
        for name in ["b.ndjson", "a.evtx", "notes.txt", "sub/c.json.gz"] {
            fs::write(dir.join(name), b"").unwrap();
        }
        let inputs = expand(&[dir.clone(), PathBuf::from("-"), dir.join("empty")]);
        assert_eq!(
            inputs[..4],
            [
                Input::File(dir.join("a.evtx")),
                Input::File(dir.join("b.ndjson")),
                Input::File(dir.join("sub/c.json.gz")),
                Input::Stdin,
            ]
        );
        assert!(
            matches!(&inputs[4], Input::Unreadable(p, why) if *p == dir.join("empty") && why.starts_with("no event files")),
            "{inputs:?}"
        );
        assert_eq!(inputs.len(), 5);
        fs::remove_dir_all(&dir).unwrap();
    }
}
