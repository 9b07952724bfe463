//! What to scan: the command line's paths expanded into a list of inputs, and
//! the readers that feed them to the scanner.
//!
//! Directories are walked recursively, in name order (so that output is the
//! same from run to run), keeping files whose extension says they hold events
//! ([`EVENT_EXTENSIONS`]); symbolic links to directories are not followed, so
//! a link loop cannot make the walk endless. Files named on the command line
//! are taken whatever their name. In both cases the content decides how a
//! file is read ([`Kind::sniff`]): an EVTX header, a gzip header, or else
//! NDJSON (or one JSON array of events, [`crate::json_array`]); so
//! `logs.json.gz` and an EVTX file saved as `.log` both work. The one
//! exception is a file named `.evtx` without the EVTX header: it is a
//! damaged EVTX file ([`named_evtx`]), refused rather than read as text.
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

/// Size of the part of the EVTX file header that holds its fields; its
/// CRC-32 is stored at [`EVTX_HEADER_CRC_AT`] and covers the first 120 bytes.
pub(crate) const EVTX_HEADER_FIELDS: usize = 128;
const EVTX_HEADER_CRC_AT: usize = 124;

/// What is wrong with an EVTX file header: `Err` when the file cannot be
/// read as EVTX (a field every EVTX file has the same value in is wrong, or
/// the header is cut short: the chunk count, the first and last chunk
/// numbers would be garbage), `Ok(Some(..))` when only its checksum is
/// wrong (its fields may be stale; the chunks, which carry their own
/// checksums, are still worth reading), `Ok(None)` when it is sound.
///
/// The fixed fields (header size 128, major version 3, header block size
/// 4096) and the checksum hold in every one of the 312 real logs of the
/// project's shared data.
pub(crate) fn check_evtx_header(header: &[u8]) -> Result<Option<String>, String> {
    if !header.starts_with(b"ElfFile\0") {
        return Err("it does not start with the EVTX signature `ElfFile`".into());
    }
    let Some(fields) = header.get(..EVTX_HEADER_FIELDS) else {
        return Err(format!(
            "the file is {} bytes long, shorter than an EVTX file header",
            header.len()
        ));
    };
    let u16_at = |at: usize| u16::from_le_bytes([fields[at], fields[at + 1]]);
    let u32_at = |at: usize| {
        u32::from_le_bytes([fields[at], fields[at + 1], fields[at + 2], fields[at + 3]])
    };
    let (size, major, block) = (u32_at(32), u16_at(38), u16_at(40));
    if (size, major, block) != (128, 3, 4096) {
        return Err(format!(
            "its file header is damaged (header size {size}, major version {major}, header \
             block size {block}; EVTX has 128, 3 and 4096)"
        ));
    }
    let stored = u32_at(EVTX_HEADER_CRC_AT);
    let computed = crc32fast::hash(&fields[..120]);
    Ok((stored != computed).then(|| {
        format!(
            "the file header's checksum is wrong ({stored:#010x}, its content gives \
             {computed:#010x}): the header is damaged; reading the chunks it lists anyway"
        )
    }))
}

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

/// Whether the name of `path` says it is an EVTX file (extension `.evtx`,
/// any case). Such a file must hold EVTX: when its content does not start
/// with the EVTX signature it is refused as damaged, never read as NDJSON.
pub(crate) fn named_evtx(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
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
        for (name, evtx) in [
            ("a.evtx", true),
            ("dir/B.EvTx", true),
            ("a.evtx.gz", false),
            ("evtx", false),
            ("a.ndjson", false),
        ] {
            assert_eq!(named_evtx(Path::new(name)), evtx, "{name}");
        }
    }

    /// A sound header: the fields of a real one (version 3.1, 1 chunk).
    fn sound_header() -> Vec<u8> {
        let mut h = vec![0u8; EVTX_HEADER_FIELDS];
        h[..8].copy_from_slice(b"ElfFile\0");
        h[32..36].copy_from_slice(&128u32.to_le_bytes());
        h[36..38].copy_from_slice(&1u16.to_le_bytes());
        h[38..40].copy_from_slice(&3u16.to_le_bytes());
        h[40..42].copy_from_slice(&4096u16.to_le_bytes());
        h[42..44].copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32fast::hash(&h[..120]);
        h[124..128].copy_from_slice(&crc.to_le_bytes());
        h
    }

    #[test]
    fn evtx_headers_are_checked() {
        let sound = sound_header();
        assert_eq!(check_evtx_header(&sound), Ok(None));
        // More bytes after the fields change nothing.
        let mut longer = sound.clone();
        longer.extend([7u8; 100]);
        assert_eq!(check_evtx_header(&longer), Ok(None));
        for (at, value, why) in [
            (0, b'X', "does not start with the EVTX signature"),
            (
                32,
                64,
                "header size 64, major version 3, header block size 4096",
            ),
            (38, 2, "header size 128, major version 2,"),
            (41, 0x20, "header block size 8192;"),
        ] {
            let mut bad = sound.clone();
            bad[at] = value;
            let err = check_evtx_header(&bad).unwrap_err();
            assert!(err.contains(why), "{at}: {err}");
        }
        let err = check_evtx_header(&sound[..100]).unwrap_err();
        assert_eq!(
            err,
            "the file is 100 bytes long, shorter than an EVTX file header"
        );
        // A field the checksum covers changed: damaged, but readable.
        let mut stale = sound.clone();
        stale[42] = 2;
        let warning = check_evtx_header(&stale).unwrap().unwrap();
        assert!(
            warning.starts_with("the file header's checksum is wrong ("),
            "{warning}"
        );
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
